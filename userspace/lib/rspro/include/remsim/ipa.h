/* SPDX-License-Identifier: GPL-2.0 */
/*
 * IPA multiplex framing, as RSPRO uses it over TCP: a 3-byte header (16-bit
 * big-endian length of what follows, protocol byte), then the payload. RSPRO
 * rides in protocol 0xEE with extension byte 0x07 first; 0xFE carries the
 * CCM messages (PING, PONG, identity).
 */
#ifndef REMSIM_IPA_H
#define REMSIM_IPA_H

#include <stddef.h>
#include <stdint.h>

#define IPA_HDR_LEN		3
#define IPA_PROTO_OSMO		0xee
#define IPA_PROTO_CCM		0xfe
#define IPA_EXT_RSPRO		0x07
/* Header plus extension byte in front of each RSPRO PDU. */
#define IPA_RSPRO_HDR_LEN	4
/* The largest payload the 16-bit length can describe. */
#define IPA_PAYLOAD_LIMIT	65535
/* What a connection accepts by default: any PDU remsim or osmo-remsim sends. */
#define IPA_PAYLOAD_DEFAULT_MAX	4096

enum ipa_ccm {
	IPA_CCM_PING	= 0x00,
	IPA_CCM_PONG	= 0x01,
	IPA_CCM_ID_GET	= 0x04,
	IPA_CCM_ID_RESP	= 0x05,
	IPA_CCM_ID_ACK	= 0x06,
};

/* One received frame; data points into the reassembly buffer. */
struct ipa_frame {
	uint8_t proto;
	const uint8_t *data;	/* the payload after the 3-byte header */
	size_t len;
};

/*
 * Stream reassembly with a bounded buffer: bytes go in as TCP delivers them
 * (one at a time is fine), whole frames come out.
 */
struct ipa_rx {
	uint8_t *buf;
	size_t cap;
	size_t start;		/* first byte not yet returned as a frame */
	size_t end;		/* one past the last byte received */
	size_t max_payload;
};

int ipa_rx_init(struct ipa_rx *rx, size_t max_payload);
void ipa_rx_free(struct ipa_rx *rx);

/*
 * Where the next received bytes go and how many fit; never 0 while no frame
 * is pending. Frames returned before are invalid after this call.
 */
uint8_t *ipa_rx_space(struct ipa_rx *rx, size_t *room);
void ipa_rx_commit(struct ipa_rx *rx, size_t n);
/* Copies in what fits of @data; returns how many bytes were taken. */
size_t ipa_rx_feed(struct ipa_rx *rx, const uint8_t *data, size_t len);

/*
 * Returns 1 and the next frame, 0 if more bytes are needed, -EMSGSIZE for a
 * frame over the limit or -EPROTO for a zero-length one (the stream cannot
 * be resynchronised after either).
 */
int ipa_rx_next(struct ipa_rx *rx, struct ipa_frame *frame);
/* Bytes of an incomplete frame held. */
size_t ipa_rx_pending(const struct ipa_rx *rx);

/* Writes the 4-byte RSPRO header for a PDU of @pdu_len bytes. */
void ipa_rspro_header(uint8_t hdr[IPA_RSPRO_HDR_LEN], size_t pdu_len);
/* Writes a whole 4-byte CCM frame. */
void ipa_ccm_frame(uint8_t frame[4], enum ipa_ccm type);

#endif
