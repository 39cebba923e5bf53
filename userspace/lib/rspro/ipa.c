// SPDX-License-Identifier: GPL-2.0
/* IPA frame reassembly and headers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "remsim/ipa.h"

int ipa_rx_init(struct ipa_rx *rx, size_t max_payload)
{
	memset(rx, 0, sizeof(*rx));
	if (!max_payload || max_payload > IPA_PAYLOAD_LIMIT)
		return -EINVAL;
	rx->max_payload = max_payload;
	rx->cap = IPA_HDR_LEN + max_payload;
	rx->buf = malloc(rx->cap);
	return rx->buf ? 0 : -ENOMEM;
}

void ipa_rx_free(struct ipa_rx *rx)
{
	free(rx->buf);
	rx->buf = NULL;
}

uint8_t *ipa_rx_space(struct ipa_rx *rx, size_t *room)
{
	/* the buffer holds one whole frame: move a partial one to the front */
	if (rx->start) {
		memmove(rx->buf, rx->buf + rx->start, rx->end - rx->start);
		rx->end -= rx->start;
		rx->start = 0;
	}
	*room = rx->cap - rx->end;
	return rx->buf + rx->end;
}

void ipa_rx_commit(struct ipa_rx *rx, size_t n)
{
	rx->end += n;
}

size_t ipa_rx_feed(struct ipa_rx *rx, const uint8_t *data, size_t len)
{
	size_t room;
	uint8_t *p = ipa_rx_space(rx, &room);

	if (len > room)
		len = room;
	memcpy(p, data, len);
	ipa_rx_commit(rx, len);
	return len;
}

int ipa_rx_next(struct ipa_rx *rx, struct ipa_frame *frame)
{
	const uint8_t *p = rx->buf + rx->start;
	size_t have = rx->end - rx->start;
	size_t len;

	if (have < IPA_HDR_LEN)
		return 0;
	len = (size_t)p[0] << 8 | p[1];
	if (!len)
		return -EPROTO;
	if (len > rx->max_payload)
		return -EMSGSIZE;
	if (have < IPA_HDR_LEN + len)
		return 0;
	frame->proto = p[2];
	frame->data = p + IPA_HDR_LEN;
	frame->len = len;
	rx->start += IPA_HDR_LEN + len;
	return 1;
}

size_t ipa_rx_pending(const struct ipa_rx *rx)
{
	return rx->end - rx->start;
}

void ipa_rspro_header(uint8_t hdr[IPA_RSPRO_HDR_LEN], size_t pdu_len)
{
	size_t len = pdu_len + 1;

	hdr[0] = len >> 8;
	hdr[1] = len & 0xff;
	hdr[2] = IPA_PROTO_OSMO;
	hdr[3] = IPA_EXT_RSPRO;
}

void ipa_ccm_frame(uint8_t frame[4], enum ipa_ccm type)
{
	frame[0] = 0;
	frame[1] = 1;
	frame[2] = IPA_PROTO_CCM;
	frame[3] = type;
}
