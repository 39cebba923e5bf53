// SPDX-License-Identifier: GPL-2.0
/*
 * st2_fuzz - libFuzzer target for the SIMtrace2 wire format: the input is
 * one transfer, taken as the board's (the host's dispatch, as the kernel
 * driver and the libusb backend run it) and as the host's (the software
 * board's parser). ASan and UBSan watch the plain C the module runs; the
 * asserts check what the ops' users rely on.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "st2_proto.h"

static const uint8_t *in_buf;
static size_t in_len;

static void rx_header(void *ctx, const uint8_t *hdr)
{
	assert(hdr >= in_buf && hdr + T0_HDR_LEN <= in_buf + in_len);
}

static void rx_data(void *ctx, const uint8_t *data, size_t len)
{
	assert(len <= T0_LE_MAX);
	assert(data >= in_buf && data + len <= in_buf + in_len);
}

static void status(void *ctx, const struct remsim_signals *sig)
{
	assert(!(sig->state & ~(REMSIM_SIG_VCC | REMSIM_SIG_CLK | REMSIM_SIG_RST)));
}

static void pts(void *ctx, const struct remsim_pps *pps)
{
	assert(pps->len >= 3 && pps->len <= 6);
}

static void invalid(void *ctx, const uint8_t *rest, size_t len)
{
	assert(rest >= in_buf && rest + len == in_buf + in_len);
}

static const struct st2_device_ops ops = { rx_header, rx_data, status, pts, invalid };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct st2_msg m;
	size_t off = 0;

	in_buf = data;
	in_len = size;
	st2_dispatch(data, size, &ops, NULL);
	while (off < size) {
		int n = st2_parse_host_msg(data + off, size - off, &m);

		if (n < 0)
			break;
		assert(n >= ST2_HDR_LEN && (size_t)n <= size - off && n <= ST2_MSG_MAX);
		assert(m.payload + m.len == data + off + n);
		off += n;
	}
	return 0;
}
