// SPDX-License-Identifier: GPL-2.0
/*
 * ipa_fuzz - libFuzzer target for IPA stream reassembly: the first byte
 * picks the frame limit and the cut points, the rest is the stream. However
 * the stream is cut, the frames that come out are the ones a one-shot parse
 * of the whole stream finds, each within the limit, and the first error is
 * the same.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "remsim/ipa.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Walks the stream at once: the frame boundaries and the final verdict. */
static int reference(const uint8_t *s, size_t len, size_t max,
		     size_t *offs, size_t *nframes)
{
	size_t off = 0, n = 0;

	while (len - off >= IPA_HDR_LEN) {
		size_t flen = (size_t)s[off] << 8 | s[off + 1];

		if (!flen)
			break;
		if (flen > max)
			break;
		if (len - off < IPA_HDR_LEN + flen)
			break;
		offs[n++] = off;
		off += IPA_HDR_LEN + flen;
	}
	*nframes = n;
	if (len - off >= IPA_HDR_LEN) {
		size_t flen = (size_t)s[off] << 8 | s[off + 1];

		if (!flen)
			return -EPROTO;
		if (flen > max)
			return -EMSGSIZE;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static size_t offs[65536];
	const uint8_t *s;
	struct ipa_rx rx;
	struct ipa_frame f;
	size_t len, max, nframes, got = 0, off = 0, step_seed;
	int want, ret = 0;

	if (size < 2)
		return 0;
	max = 1 + data[0] * 4;		/* 1..1021 */
	step_seed = data[1];
	s = data + 2;
	len = size - 2;
	want = reference(s, len, max, offs, &nframes);
	assert(ipa_rx_init(&rx, max) == 0);
	while (off < len && ret >= 0) {
		size_t step = 1 + (step_seed = step_seed * 1103515245 + 12345) % 37;

		if (step > len - off)
			step = len - off;
		off += ipa_rx_feed(&rx, s + off, step);
		while ((ret = ipa_rx_next(&rx, &f)) == 1) {
			assert(got < nframes);
			assert(f.len <= max);
			assert(f.data == f.data && f.proto == s[offs[got] + 2]);
			assert(!memcmp(f.data, s + offs[got] + IPA_HDR_LEN, f.len));
			got++;
		}
	}
	if (ret < 0)
		assert(ret == want && got == nframes);
	else
		assert(got == nframes && want == 0);
	ipa_rx_free(&rx);
	return 0;
}
