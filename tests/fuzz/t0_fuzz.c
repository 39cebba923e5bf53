// SPDX-License-Identifier: GPL-2.0
/*
 * t0_fuzz - libFuzzer target for the T=0 engine and the card emulator
 * together, as a simulated slot wires them: the input plays a modem (line
 * changes, bytes) and a slot owner (responses of any length and content)
 * in any order. ASan and UBSan watch the plain-C code the module runs;
 * the asserts check what the kernel relies on.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "cardem.h"
#include "t0.h"

static struct cardem ce;
static struct t0 t;

static void host_apply(const struct t0_result *res)
{
	assert(res->tx.len <= T0_TX_MAX);
	if (res->actions & T0_DO_DELIVER) {
		assert(t.cur.apdu_case >= 1 && t.cur.apdu_case <= 4);
		assert(t.cur.lc <= T0_LC_MAX && t.cur.le <= T0_LE_MAX);
		assert(t.state == T0_WAIT_OWNER);
	}
	if ((res->actions & T0_DO_TX) && cardem_tx_now(&ce))
		cardem_host_tx(&ce, &res->tx);
}

static void to_modem(void *ctx, const uint8_t *b, size_t n)
{
	assert(n <= T0_TX_MAX);	/* an ATR is shorter */
}

static void rx_header(void *ctx, const uint8_t hdr[5])
{
	struct t0_result res;

	t0_header(&t, hdr, &res);
	host_apply(&res);
}

static void rx_data(void *ctx, const uint8_t *data, size_t n)
{
	struct t0_result res;

	assert(n <= T0_LC_MAX);
	t0_data(&t, data, n, &res);
	host_apply(&res);
}

static void pts(void *ctx, const uint8_t *pps, uint8_t len, uint8_t fi, uint8_t di)
{
	assert(len >= 3 && len <= 6);
}

static void status(void *ctx, uint32_t s)
{
	struct t0_result res;

	if (s & CARDEM_STATUS_RST || !(s & CARDEM_STATUS_VCC)) {
		t0_reset(&t, &res);
		/* Idle, or still expecting the data of a header (t0_reset()). */
		assert(t.state == T0_IDLE || (t.state == T0_RX_DATA && t.reset_in_data));
		assert(!(res.actions & T0_DO_TX));
	}
}

static const struct cardem_ops ops = { to_modem, rx_header, rx_data, pts, status };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t i = 0;

	cardem_init(&ce, &ops, NULL);
	ce.enabled = true;
	t0_init(&t);
	while (i < size) {
		uint8_t op = data[i++];
		size_t n = i < size ? data[i] : 0;
		struct t0_result res;
		int ret;

		switch (op & 7) {
		case 0:
			if (i < size)
				cardem_lines(&ce, data[i] & 1, data[i] & 2, data[i] & 4);
			i++;
			break;
		case 1:
			n %= 16;
			i++;
			if (n > size - i)
				n = size - i;
			cardem_modem_bytes(&ce, data + i, n);
			i += n;
			break;
		case 2:
			n %= 262;
			i++;
			if (n > size - i)
				n = size - i;
			ret = t0_response(&t, data + i, n, &res);
			assert(ret == 0 || ret == -EINVAL || ret == -ESTALE);
			if (!ret)
				host_apply(&res);
			i += n;
			break;
		case 3:
			t0_reset(&t, &res);
			break;
		case 4:
			t0_give_up(&t, 6, &res);
			host_apply(&res);
			break;
		case 5:
			if (size - i >= 5) {
				t0_header(&t, data + i, &res);
				host_apply(&res);
				i += 5;
			} else {
				i = size;
			}
			break;
		case 6:
			n %= 300;
			i++;
			if (n > size - i)
				n = size - i;
			t0_data(&t, data + i, n, &res);
			host_apply(&res);
			i += n;
			break;
		case 7:
			cardem_null(&ce);
			break;
		}
		assert(ce.rx_len <= T0_LC_MAX && ce.pps_len <= 6);
	}
	return 0;
}
