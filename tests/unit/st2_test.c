// SPDX-License-Identifier: GPL-2.0
/*
 * st2_test - the SIMtrace2 cardem wire format (common/st2_proto.c) as the
 * kernel driver, the libusb backend and the software board share it: the
 * builders byte for byte, the checks, and the dispatch of the board's
 * messages, good and malformed.
 */
#include <linux/remsim_dev.h>

#include "atr.h"
#include "cardem.h"
#include "ktap.h"
#include "st2_proto.h"

/* What the dispatch handed to the ops, in order. */
struct rec {
	char calls[16];			/* 'h'eader 'd'ata 's'tatus 'p'ts 'i'nvalid */
	unsigned int n;
	uint8_t hdr[T0_HDR_LEN];
	uint8_t data[300];
	size_t data_len;
	struct remsim_signals sig;
	struct remsim_pps pps;
	const uint8_t *rest;
	size_t rest_len;
};

static void call(struct rec *r, char c)
{
	if (r->n < sizeof(r->calls) - 1)
		r->calls[r->n++] = c;
}

static void on_header(void *ctx, const uint8_t *hdr)
{
	struct rec *r = ctx;

	call(r, 'h');
	memcpy(r->hdr, hdr, T0_HDR_LEN);
}

static void on_data(void *ctx, const uint8_t *data, size_t len)
{
	struct rec *r = ctx;

	call(r, 'd');
	r->data_len = len;
	memcpy(r->data, data, len < sizeof(r->data) ? len : sizeof(r->data));
}

static void on_status(void *ctx, const struct remsim_signals *sig)
{
	struct rec *r = ctx;

	call(r, 's');
	r->sig = *sig;
}

static void on_pts(void *ctx, const struct remsim_pps *pps)
{
	struct rec *r = ctx;

	call(r, 'p');
	r->pps = *pps;
}

static void on_invalid(void *ctx, const uint8_t *rest, size_t len)
{
	struct rec *r = ctx;

	call(r, 'i');
	r->rest = rest;
	r->rest_len = len;
}

static const struct st2_device_ops ops = {
	.rx_header = on_header,
	.rx_data = on_data,
	.status = on_status,
	.pts = on_pts,
	.invalid = on_invalid,
};

static int dispatch(struct rec *r, const uint8_t *buf, size_t len)
{
	memset(r, 0, sizeof(*r));
	return st2_dispatch(buf, len, &ops, r);
}

/* --- builders ------------------------------------------------------------------ */

TEST(tx_and_rx_data_byte_for_byte)
{
	static const uint8_t want_tx[] = {
		1, 1, 0, 0, 0, 0, 17, 0,	/* CARDEM TX_DATA, 8 + 6 + 3 */
		0x0a, 0, 0, 0, 3, 0,		/* FINAL | PB_AND_RX, 3 bytes */
		0xa4, 0x90, 0x00,
	};
	static const uint8_t want_rx[] = {
		1, 6, 0, 0, 0, 0, 19, 0,	/* CARDEM RX_DATA, 8 + 6 + 5 */
		1, 0, 0, 0, 5, 0,		/* TPDU_HDR */
		0xa0, 0xa4, 0, 0, 2,
	};
	uint8_t buf[ST2_MSG_MAX];

	ASSERT_EQ(sizeof(want_tx), st2_msg_tx_data(buf, ST2_DATA_F_FINAL | ST2_DATA_F_PB_AND_RX,
						   (uint8_t[]){ 0xa4, 0x90, 0x00 }, 3));
	EXPECT_MEMEQ(want_tx, buf, sizeof(want_tx));
	ASSERT_EQ(sizeof(want_rx), st2_msg_rx_data(buf, ST2_DATA_F_TPDU_HDR,
						   (uint8_t[]){ 0xa0, 0xa4, 0, 0, 2 }, 5));
	EXPECT_MEMEQ(want_rx, buf, sizeof(want_rx));
}

TEST(data_limits)
{
	uint8_t buf[ST2_MSG_MAX], data[ST2_DATA_MAX + 1] = { 0 };
	struct st2_msg m;

	/* the longest transmission fits one message; one byte more than fits, not */
	EXPECT_EQ(ST2_HDR_LEN + ST2_DATA_HDR_LEN + T0_TX_MAX,
		  st2_msg_tx_data(buf, ST2_DATA_F_FINAL, data, T0_TX_MAX));
	EXPECT_EQ(ST2_MSG_MAX, st2_msg_tx_data(buf, 0, data, ST2_DATA_MAX));
	EXPECT_EQ(ST2_MSG_MAX, st2_parse_host_msg(buf, ST2_MSG_MAX, &m));
	EXPECT_EQ(0, st2_msg_tx_data(buf, 0, data, ST2_DATA_MAX + 1));
	EXPECT_EQ(0, st2_msg_rx_data(buf, 0, data, ST2_DATA_MAX + 1));
}

TEST(control_messages_byte_for_byte)
{
	static const uint8_t atr[] = ST2_DEFAULT_ATR;
	uint8_t buf[ST2_MSG_MAX], big[ST2_ATR_MAX + 1] = { 0 };
	struct st2_msg m;

	ASSERT_EQ(8 + 1 + sizeof(atr), st2_msg_set_atr(buf, atr, sizeof(atr)));
	EXPECT_MEMEQ(((uint8_t[]){ 1, 2, 0, 0, 0, 0, 16, 0, 7 }), buf, 9);
	EXPECT_MEMEQ(atr, buf + 9, sizeof(atr));
	EXPECT_EQ(8 + 1 + ST2_ATR_MAX, st2_msg_set_atr(buf, big, ST2_ATR_MAX));
	EXPECT_EQ(0, st2_msg_set_atr(buf, big, ST2_ATR_MAX + 1));

	ASSERT_EQ(9, st2_msg_card_insert(buf, true));
	EXPECT_MEMEQ(((uint8_t[]){ 1, 5, 0, 0, 0, 0, 9, 0, 1 }), buf, 9);
	ASSERT_EQ(9, st2_msg_sim_select(buf, false));
	EXPECT_MEMEQ(((uint8_t[]){ 2, 2, 0, 0, 0, 0, 9, 0, 0 }), buf, 9);
	ASSERT_EQ(11, st2_msg_modem_reset(buf, REMSIM_MODEM_RESET_PULSE, 300));
	EXPECT_MEMEQ(((uint8_t[]){ 2, 1, 0, 0, 0, 0, 11, 0, 2, 0x2c, 0x01 }), buf, 11);
	memset(buf, 0xee, sizeof(buf));
	ASSERT_EQ(14, st2_msg_config(buf, ST2_FEAT_STATUS_IRQ,
				     ST2_PRES_POL_HIGH | ST2_PRES_POL_VALID));
	EXPECT_MEMEQ(((uint8_t[]){ 1, 8, 0, 0, 0, 0, 14, 0, 1, 0, 0, 0, 0, 3 }), buf, 14);
	/* every one of them is a message the board takes */
	EXPECT_EQ(14, st2_parse_host_msg(buf, 14, &m));
}

/* The board's STATUS and PTS come back as the host's dispatch reads them. */
TEST(status_and_pts_round_trip)
{
	struct remsim_signals sig = {
		.state = REMSIM_SIG_VCC | REMSIM_SIG_RST, .voltage_mv = 3300,
		.fi = 9, .di = 6, .wi = 10, .waiting_time = 9600,
	};
	uint8_t pps[] = { 0xff, 0x10, 0x96, 0x79 };
	uint8_t buf[ST2_MSG_MAX];
	struct rec r;
	size_t n;

	n = st2_msg_status(buf, &sig);
	ASSERT_EQ(ST2_HDR_LEN + ST2_STATUS_LEN, n);
	/* RST is bit 4 on the wire, bit 1 in remsim_dev.h */
	EXPECT_EQ(ST2_STATUS_F_VCC | ST2_STATUS_F_RESET, st2_get32(buf + 8));
	ASSERT_EQ(1, dispatch(&r, buf, n));
	EXPECT_EQ(0, strcmp(r.calls, "s"));
	EXPECT_EQ(REMSIM_SIG_VCC | REMSIM_SIG_RST, r.sig.state);
	EXPECT_EQ(0, r.sig.changed);
	EXPECT_EQ(3300, r.sig.voltage_mv);
	EXPECT_EQ(9, r.sig.fi);
	EXPECT_EQ(6, r.sig.di);
	EXPECT_EQ(10, r.sig.wi);
	EXPECT_EQ(9600, r.sig.waiting_time);

	n = st2_msg_pts(buf, pps, pps, sizeof(pps));
	ASSERT_EQ(ST2_HDR_LEN + ST2_PTS_LEN, n);
	ASSERT_EQ(1, dispatch(&r, buf, n));
	EXPECT_EQ(0, strcmp(r.calls, "p"));
	EXPECT_EQ(4, r.pps.len);
	EXPECT_MEMEQ(pps, r.pps.req, 4);
	EXPECT_MEMEQ(pps, r.pps.resp, 4);
	EXPECT_EQ(9, r.pps.fi);		/* PPS1 0x96 */
	EXPECT_EQ(6, r.pps.di);
	EXPECT_EQ(0, st2_msg_pts(buf, pps, pps, 7));
}

TEST(pts_without_pps1_keeps_the_default_f_and_d)
{
	uint8_t req[] = { 0xff, 0x00, 0xff }, resp[] = { 0xff, 0x00, 0xff };
	uint8_t buf[ST2_MSG_MAX];
	struct rec r;

	/* a PPS1-like byte in the request alone changes nothing */
	req[1] = 0x10;
	ASSERT_EQ(1, dispatch(&r, buf, st2_msg_pts(buf, req, resp, 3)));
	EXPECT_EQ(1, r.pps.fi);
	EXPECT_EQ(1, r.pps.di);
}

/* --- the host's dispatch ---------------------------------------------------------- */

TEST(dispatch_header_and_data_in_one_transfer)
{
	uint8_t buf[2 * ST2_MSG_MAX], data[256];
	struct rec r;
	size_t n;

	for (unsigned int i = 0; i < sizeof(data); i++)
		data[i] = i;
	n = st2_msg_rx_data(buf, ST2_DATA_F_TPDU_HDR, (uint8_t[]){ 0xa0, 0xd6, 0, 0, 9 }, 5);
	n += st2_msg_rx_data(buf + n, ST2_DATA_F_FINAL, data, 256);
	ASSERT_EQ(2, dispatch(&r, buf, n));
	EXPECT_EQ(0, strcmp(r.calls, "hd"));
	EXPECT_MEMEQ(((uint8_t[]){ 0xa0, 0xd6, 0, 0, 9 }), r.hdr, 5);
	/* 256 goes through: the engine's own limit is the caller's to apply */
	EXPECT_EQ(256, r.data_len);
	EXPECT_MEMEQ(data, r.data, 256);

	/* empty command data is a message too */
	ASSERT_EQ(1, dispatch(&r, buf, st2_msg_rx_data(buf, 0, NULL, 0)));
	EXPECT_EQ(0, strcmp(r.calls, "d"));
	EXPECT_EQ(0, r.data_len);
}

TEST(dispatch_skips_what_the_host_has_no_use_for)
{
	uint8_t buf[64];
	struct rec r;
	size_t n;

	n = st2_hdr(buf, ST2_CLASS_MODEM, ST2_MODEM_STATUS, 2);
	n += st2_hdr(buf + n, ST2_CLASS_GENERIC, ST2_GENERIC_BOARD_INFO, 0);
	n += st2_hdr(buf + n, ST2_CLASS_CARDEM, ST2_CEMU_STATS, 4);
	n += st2_msg_config(buf + n, ST2_FEAT_STATUS_IRQ, 3);
	ASSERT_LE(n, sizeof(buf));
	EXPECT_EQ(4, dispatch(&r, buf, n));
	EXPECT_EQ(0, r.n);
}

/* One bad message: invalid() with where it starts, the rest dropped. */
static void expect_invalid(const uint8_t *bad, size_t bad_len, const char *what)
{
	uint8_t buf[2 * ST2_MSG_MAX];
	struct rec r;
	size_t n = st2_msg_card_insert(buf, true);	/* not a device message */

	TH_LOG("%s\n", what);
	/* alone */
	memcpy(buf, bad, bad_len);
	EXPECT_LT(dispatch(&r, buf, bad_len), 0);
	EXPECT_EQ(0, strcmp(r.calls, "i"));
	EXPECT_TRUE(r.rest == buf);
	EXPECT_EQ(bad_len, r.rest_len);
	/* after a good one, before another good one */
	n = st2_msg_rx_data(buf, ST2_DATA_F_TPDU_HDR, (uint8_t[]){ 0xa0, 0xf2, 0, 0, 22 }, 5);
	memcpy(buf + n, bad, bad_len);
	n += bad_len;
	n += st2_msg_rx_data(buf + n, 0, (uint8_t[]){ 1 }, 1);
	EXPECT_LT(dispatch(&r, buf, n), 0);
	EXPECT_EQ(0, strcmp(r.calls, "hi"));
	EXPECT_TRUE(r.rest == buf + 19);
	EXPECT_EQ(n - 19, r.rest_len);
}

TEST(dispatch_stops_at_malformed_messages)
{
	uint8_t m[ST2_MSG_MAX];
	size_t n;

	expect_invalid((uint8_t[]){ 1, 6, 0, 0, 0 }, 5, "short header");
	n = st2_hdr(m, ST2_CLASS_CARDEM, ST2_CEMU_STATUS, ST2_STATUS_LEN);
	memset(m + 8, 0, ST2_STATUS_LEN);
	st2_put16(m + 6, 0);
	expect_invalid(m, n, "msg_len 0");
	st2_put16(m + 6, 7);
	expect_invalid(m, n, "msg_len shorter than its header");
	st2_put16(m + 6, ST2_MSG_MAX + 1);
	expect_invalid(m, n, "msg_len past the transfer and the limit");
	expect_invalid(m, st2_hdr(m, 0x7f, 0x33, 0), "unknown class");
	expect_invalid(m, st2_hdr(m, ST2_CLASS_CARDEM, ST2_CEMU_TX_DATA, 0), "host-only type");
	n = st2_msg_rx_data(m, 0, (uint8_t[]){ 1, 2, 3 }, 3);
	st2_put16(m + 12, 4);
	expect_invalid(m, n, "data_len says 4, carries 3");
	n = st2_msg_rx_data(m, ST2_DATA_F_TPDU_HDR, (uint8_t[]){ 1, 2, 3, 4 }, 4);
	expect_invalid(m, n, "a TPDU header of 4 bytes");
	n = st2_msg_rx_data(m, 0, (uint8_t[257]){ 0 }, 257);
	expect_invalid(m, n, "257 bytes of command data");
	n = st2_hdr(m, ST2_CLASS_CARDEM, ST2_CEMU_RX_DATA, 5);
	expect_invalid(m, n, "RX_DATA without its data header");
	n = st2_hdr(m, ST2_CLASS_CARDEM, ST2_CEMU_STATUS, ST2_STATUS_LEN - 1);
	expect_invalid(m, n, "short STATUS");
	n = st2_hdr(m, ST2_CLASS_CARDEM, ST2_CEMU_PTS, ST2_PTS_LEN);
	memset(m + 8, 0, ST2_PTS_LEN);
	m[8] = 2;
	expect_invalid(m, n, "PTS of 2 bytes");
	m[8] = 7;
	expect_invalid(m, n, "PTS of 7 bytes");
}

TEST(dispatch_without_ops_ignores_everything)
{
	static const struct st2_device_ops none = { 0 };
	uint8_t buf[ST2_MSG_MAX];
	size_t n = st2_msg_rx_data(buf, ST2_DATA_F_TPDU_HDR, (uint8_t[]){ 1, 2, 3, 4, 5 }, 5);

	EXPECT_EQ(1, st2_dispatch(buf, n, &none, NULL));
	EXPECT_EQ(0, st2_dispatch(buf, 0, &none, NULL));
	EXPECT_LT(st2_dispatch(buf, 3, &none, NULL), 0);
}

/* --- the firmware's default ATR --------------------------------------------------- */

TEST(default_atr_is_a_valid_atr_and_the_card_emulators)
{
	uint8_t atr[] = ST2_DEFAULT_ATR;
	struct cardem c;

	ASSERT_EQ(ST2_DEFAULT_ATR_LEN, sizeof(atr));
	EXPECT_EQ(0, atr_check(atr, sizeof(atr), false));
	cardem_init(&c, NULL, NULL);
	EXPECT_EQ(sizeof(atr), c.atr_len);
	EXPECT_MEMEQ(atr, c.atr, sizeof(atr));
}

KTAP_MAIN
