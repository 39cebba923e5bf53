// SPDX-License-Identifier: GPL-2.0
/*
 * t0_test - the T=0 engine (common/t0.c, common/t0_case.c) as user space
 * compiles it: every entry of the case tables, and the engine's answers to
 * every input, good and bad.
 */
#include <linux/remsim_dev.h>

#include "ktap.h"
#include "t0.h"

struct case_entry {
	uint8_t cla, ins, p1, p2, p3;
	uint8_t want;
	const char *what;
};

/* Every instruction each rule set knows, and the ones it must not. */
static const struct case_entry cases[] = {
	/* GSM 11.11, CLA A0 */
	{ 0xa0, 0xa4, 0, 0, 2, 4, "SELECT" },
	{ 0xa0, 0xf2, 0, 0, 0x16, 2, "STATUS" },
	{ 0xa0, 0xb0, 0, 0, 9, 2, "READ BINARY" },
	{ 0xa0, 0xd6, 0, 0, 9, 3, "UPDATE BINARY" },
	{ 0xa0, 0xb2, 1, 4, 0x1a, 2, "READ RECORD" },
	{ 0xa0, 0xdc, 1, 4, 0x1a, 3, "UPDATE RECORD" },
	{ 0xa0, 0xa2, 0, 0, 2, 4, "SEEK" },
	{ 0xa0, 0x32, 0, 0, 3, 4, "INCREASE" },
	{ 0xa0, 0x20, 0, 1, 8, 3, "VERIFY CHV" },
	{ 0xa0, 0x24, 0, 1, 16, 3, "CHANGE CHV" },
	{ 0xa0, 0x26, 0, 1, 8, 3, "DISABLE CHV" },
	{ 0xa0, 0x28, 0, 1, 8, 3, "ENABLE CHV" },
	{ 0xa0, 0x2c, 0, 0, 16, 3, "UNBLOCK CHV" },
	{ 0xa0, 0x04, 0, 0, 0, 1, "INVALIDATE" },
	{ 0xa0, 0x44, 0, 0, 0, 1, "REHABILITATE" },
	{ 0xa0, 0x88, 0, 0, 16, 4, "RUN GSM ALGORITHM" },
	{ 0xa0, 0xfa, 0, 0, 0, 1, "SLEEP" },
	{ 0xa0, 0xc0, 0, 0, 0x0c, 2, "GET RESPONSE" },
	{ 0xa0, 0x10, 0, 0, 20, 3, "TERMINAL PROFILE" },
	{ 0xa0, 0xc2, 0, 0, 30, 4, "ENVELOPE" },
	{ 0xa0, 0x12, 0, 0, 20, 2, "FETCH" },
	{ 0xa0, 0x14, 0, 0, 12, 3, "TERMINAL RESPONSE" },
	{ 0xa0, 0xca, 0, 0, 0, 0, "not GSM" },
	{ 0xa1, 0xa4, 0, 0, 2, 0, "CLA A1 is nobody's" },
	/* TS 102 221, CLA 80 */
	{ 0x80, 0x10, 0, 0, 20, 3, "TERMINAL PROFILE" },
	{ 0x80, 0xc2, 0, 0, 30, 4, "ENVELOPE" },
	{ 0x80, 0x12, 0, 0, 20, 2, "FETCH" },
	{ 0x80, 0x14, 0, 0, 12, 3, "TERMINAL RESPONSE" },
	{ 0x80, 0x76, 0, 0, 10, 4, "SUSPEND UICC" },
	{ 0x80, 0x7a, 0, 0, 10, 4, "EXCHANGE CAPABILITIES" },
	{ 0x81, 0x10, 0, 0, 20, 0, "TERMINAL PROFILE is CLA 80 only" },
	/* TS 102 221, CLA 0x, 4x, 6x */
	{ 0x00, 0xa4, 0, 4, 2, 4, "SELECT" },
	{ 0x00, 0xb0, 0, 0, 9, 2, "READ BINARY" },
	{ 0x00, 0xd6, 0, 0, 9, 3, "UPDATE BINARY" },
	{ 0x00, 0xb2, 1, 4, 9, 2, "READ RECORD" },
	{ 0x00, 0xdc, 1, 4, 9, 3, "UPDATE RECORD" },
	{ 0x00, 0xa2, 1, 4, 9, 4, "SEARCH RECORD" },
	{ 0x00, 0x20, 0, 1, 8, 3, "VERIFY PIN" },
	{ 0x00, 0x24, 0, 1, 16, 3, "CHANGE PIN" },
	{ 0x00, 0x26, 0, 1, 8, 3, "DISABLE PIN" },
	{ 0x00, 0x28, 0, 1, 8, 3, "ENABLE PIN" },
	{ 0x00, 0x2c, 0, 1, 16, 3, "UNBLOCK PIN" },
	{ 0x00, 0x04, 0, 0, 0, 1, "DEACTIVATE FILE" },
	{ 0x00, 0x44, 0, 0, 0, 1, "ACTIVATE FILE" },
	{ 0x00, 0x88, 0, 0x81, 0x22, 4, "AUTHENTICATE" },
	{ 0x00, 0x89, 0, 0x81, 0x22, 4, "AUTHENTICATE, odd INS" },
	{ 0x00, 0x84, 0, 0, 8, 2, "GET CHALLENGE" },
	{ 0x00, 0x70, 0, 0, 1, 2, "MANAGE CHANNEL" },
	{ 0x00, 0xc0, 0, 0, 0x20, 2, "GET RESPONSE" },
	{ 0x01, 0xb0, 0, 0, 9, 2, "channel 1" },
	{ 0x43, 0xa4, 0, 4, 2, 4, "extended channel class 4x" },
	{ 0x6f, 0xb2, 1, 4, 9, 2, "extended channel class 6x" },
	{ 0x00, 0x73, 0x00, 0x00, 0, 2, "MANAGE SECURE CHANNEL: endpoints" },
	{ 0x00, 0x73, 0x01, 0x80, 10, 3, "MANAGE SECURE CHANNEL: master SA, data" },
	{ 0x00, 0x73, 0x02, 0x00, 10, 3, "MANAGE SECURE CHANNEL: connection SA, cmd 0" },
	{ 0x00, 0x73, 0x03, 0x20, 0, 2, "MANAGE SECURE CHANNEL: start SA, cmd 1" },
	{ 0x00, 0x73, 0x01, 0xa0, 0, 2, "MANAGE SECURE CHANNEL: cmd 5" },
	{ 0x00, 0x73, 0x01, 0x40, 0, 0, "MANAGE SECURE CHANNEL: cmd 2 unknown" },
	{ 0x00, 0x73, 0x04, 0x00, 10, 3, "MANAGE SECURE CHANNEL: terminate" },
	{ 0x00, 0x73, 0x05, 0x00, 10, 0, "MANAGE SECURE CHANNEL: P1 5" },
	{ 0x00, 0x75, 0x04, 0x00, 10, 3, "TRANSACT DATA: to the card" },
	{ 0x00, 0x75, 0x00, 0x00, 10, 2, "TRANSACT DATA: from the card" },
	{ 0x20, 0xa4, 0, 4, 2, 0, "CLA 2x is none of these" },
	/* GlobalPlatform and TS 102 221, CLA 8x, Cx, Ex */
	{ 0x80, 0xe4, 0, 0, 10, 4, "DELETE" },
	{ 0x80, 0xe6, 2, 0, 10, 4, "INSTALL" },
	{ 0x80, 0xe8, 0, 0, 10, 4, "LOAD" },
	{ 0x80, 0xd8, 0, 1, 10, 4, "PUT KEY" },
	{ 0x80, 0xf0, 0x40, 7, 0, 3, "SET STATUS" },
	{ 0x80, 0xc0, 0, 0, 10, 2, "GET RESPONSE" },
	{ 0x80, 0xe2, 0x80, 0, 10, 3, "STORE DATA" },
	{ 0x80, 0xe2, 0x81, 0, 10, 4, "STORE DATA, response wanted" },
	{ 0x80, 0xca, 0x9f, 0x7f, 0, 2, "GET DATA, P3 0" },
	{ 0x80, 0xca, 0x9f, 0x7f, 2, 4, "GET DATA, P3 2" },
	{ 0x80, 0xcb, 0x00, 0x00, 0, 2, "GET DATA odd, P3 0" },
	{ 0x80, 0xf2, 0x40, 0x00, 2, 4, "GP GET STATUS" },
	{ 0x80, 0xf2, 0x00, 0x0c, 0, 2, "ETSI STATUS" },
	{ 0x80, 0x32, 0, 0, 3, 4, "INCREASE" },
	{ 0x80, 0xdb, 0, 0, 3, 3, "SET DATA" },
	{ 0x80, 0xaa, 0, 0, 3, 3, "TERMINAL CAPABILITY" },
	{ 0x80, 0x78, 0, 0, 3, 4, "GET IDENTITY" },
	{ 0x84, 0xe6, 2, 0, 10, 4, "secure messaging class" },
	{ 0xc0, 0xf2, 0, 0, 0, 2, "CLA Cx: ETSI STATUS" },
	{ 0xc0, 0xcb, 0, 0, 3, 4, "CLA Cx: RETRIEVE DATA" },
	{ 0xc0, 0xe4, 0, 0, 10, 4, "CLA Cx: DELETE" },
	{ 0xe1, 0xf2, 0x80, 0, 0, 2, "CLA Ex: the UICC table goes before GP" },
	{ 0xe1, 0xca, 0, 0, 0, 2, "CLA Ex: GET DATA" },
	{ 0x90, 0xa4, 0, 0, 2, 0, "CLA 9x is none of these" },
	/* The PC/SC discovery commands, CLA 00 */
	{ 0x00, 0xca, 0x01, 0x00, 0, 2, "GET DATA" },
	{ 0x01, 0xca, 0x01, 0x00, 0, 0, "GET DATA is CLA 00 only" },
	{ 0x00, 0x77, 0, 0, 0, 0, "unknown" },
};

TEST(case_tables)
{
	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct case_entry *c = &cases[i];
		uint8_t hdr[5] = { c->cla, c->ins, c->p1, c->p2, c->p3 };
		uint8_t got = t0_apdu_case(hdr);

		if (got != c->want)
			TH_LOG("%02x %02x %02x %02x %02x (%s): case %u, want %u", c->cla, c->ins,
			       c->p1, c->p2, c->p3, c->what, got, c->want);
		EXPECT_EQ(c->want, got);
	}
}

static struct t0 t;
static struct t0_result res;

static void header(uint8_t cla, uint8_t ins, uint8_t p3)
{
	uint8_t hdr[5] = { cla, ins, 0, 0, p3 };

	t0_header(&t, hdr, &res);
}

TEST(case1_delivers_at_once)
{
	t0_init(&t);
	header(0xa0, 0x04, 0);
	EXPECT_EQ(T0_DO_DELIVER, res.actions);
	EXPECT_EQ(T0_WAIT_OWNER, t.state);
	EXPECT_EQ(1, t.cur.apdu_case);
	ASSERT_EQ(0, t0_response(&t, (uint8_t[]){ 0x90, 0x00 }, 2, &res));
	EXPECT_EQ(T0_DO_TX, res.actions);
	EXPECT_EQ(T0_TX_FINAL, res.tx.flags);
	EXPECT_EQ(2, res.tx.len);
	EXPECT_EQ(T0_IDLE, t.state);
}

TEST(case2_sends_ins_data_and_sw_in_one)
{
	uint8_t resp[258];

	t0_init(&t);
	header(0x00, 0xb0, 0);
	EXPECT_EQ(T0_DO_DELIVER, res.actions);
	EXPECT_EQ(256, t.cur.le);
	for (int i = 0; i < 256; i++)
		resp[i] = i;
	resp[256] = 0x90;
	resp[257] = 0x00;
	ASSERT_EQ(0, t0_response(&t, resp, 258, &res));
	EXPECT_EQ(T0_TX_PB_AND_TX | T0_TX_FINAL, res.tx.flags);
	ASSERT_EQ(259, res.tx.len);
	EXPECT_EQ(0xb0, res.tx.data[0]);
	EXPECT_MEMEQ(resp, res.tx.data + 1, 258);
}

TEST(case2_status_word_alone_is_fine)
{
	t0_init(&t);
	header(0xa0, 0xb0, 10);
	ASSERT_EQ(0, t0_response(&t, (uint8_t[]){ 0x94, 0x04 }, 2, &res));
	EXPECT_EQ(0, res.error);
	EXPECT_EQ(T0_TX_FINAL, res.tx.flags);
	EXPECT_EQ(0x94, res.tx.data[0]);
}

TEST(case3_asks_for_data_then_delivers)
{
	t0_init(&t);
	header(0xa0, 0xd6, 3);
	EXPECT_EQ(T0_DO_TX, res.actions);
	EXPECT_EQ(T0_TX_PB_AND_RX, res.tx.flags);
	EXPECT_EQ(1, res.tx.len);
	EXPECT_EQ(0xd6, res.tx.data[0]);
	EXPECT_EQ(T0_RX_DATA, t.state);
	/* Data may come in pieces. */
	t0_data(&t, (uint8_t[]){ 1, 2 }, 2, &res);
	EXPECT_EQ(0, res.actions);
	t0_data(&t, (uint8_t[]){ 3 }, 1, &res);
	EXPECT_EQ(T0_DO_DELIVER, res.actions);
	EXPECT_EQ(3, t.cur.lc);
	EXPECT_MEMEQ(((uint8_t[]){ 1, 2, 3 }), t.cur.tpdu + 5, 3);
}

TEST(too_much_data_gets_6700)
{
	t0_init(&t);
	header(0xa0, 0xd6, 2);
	t0_data(&t, (uint8_t[]){ 1, 2, 3 }, 3, &res);
	EXPECT_EQ(REMSIM_ERR_PROTOCOL, res.error);
	EXPECT_EQ(0x6700, res.sw);
	EXPECT_EQ(T0_TX_FINAL, res.tx.flags);
	EXPECT_EQ(T0_IDLE, t.state);
}

TEST(data_nobody_asked_for)
{
	t0_init(&t);
	t0_data(&t, (uint8_t[]){ 1 }, 1, &res);
	EXPECT_EQ(REMSIM_ERR_PROTOCOL, res.error);
	EXPECT_EQ(0, res.actions);
}

TEST(unknown_instruction)
{
	t0_init(&t);
	header(0xa0, 0x77, 5);
	EXPECT_EQ(REMSIM_ERR_UNKNOWN_INS, res.error);
	EXPECT_EQ(0x6d00, res.sw);
	EXPECT_EQ(T0_DO_TX, res.actions);
	EXPECT_EQ(T0_IDLE, t.state);
}

TEST(header_while_waiting_aborts)
{
	t0_init(&t);
	header(0xa0, 0xf2, 0x16);
	header(0xa0, 0xf2, 0x16);
	EXPECT_EQ(T0_DO_ABORT | T0_DO_DELIVER, res.actions);
	EXPECT_EQ(REMSIM_ERR_PROTOCOL, res.error);
}

TEST(reset_aborts_only_a_waiting_apdu)
{
	t0_init(&t);
	t0_reset(&t, &res);
	EXPECT_EQ(0, res.actions);
	header(0xa0, 0xd6, 2);
	t0_reset(&t, &res);
	EXPECT_EQ(0, res.actions);		/* never delivered */
	header(0xa0, 0xf2, 2);
	t0_reset(&t, &res);
	EXPECT_EQ(T0_DO_ABORT, res.actions);
	EXPECT_EQ(-ESTALE, t0_response(&t, (uint8_t[]){ 0x90, 0 }, 2, &res));
}

/* The reset reported after the header the modem sent once it was over. */
TEST(reset_in_the_data_phase_keeps_the_data_expected)
{
	t0_init(&t);
	header(0xa0, 0xd6, 2);
	t0_reset(&t, &res);
	EXPECT_EQ(0, res.actions);
	t0_data(&t, (uint8_t[]){ 1, 2 }, 2, &res);
	EXPECT_EQ(T0_DO_DELIVER, res.actions);
	EXPECT_EQ(0, res.error);
	/* It really came last: the next header starts over, no error. */
	EXPECT_EQ(0, t0_response(&t, (uint8_t[]){ 0x90, 0 }, 2, &res));
	header(0xa0, 0xd6, 2);
	t0_reset(&t, &res);
	header(0xa0, 0xb0, 2);
	EXPECT_EQ(T0_DO_DELIVER, res.actions);
	EXPECT_EQ(0, res.error);
	/* Without a reset in between, a header in the data phase is an error. */
	t0_response(&t, (uint8_t[]){ 0x90, 0 }, 2, &res);
	header(0xa0, 0xd6, 2);
	header(0xa0, 0xd6, 2);
	EXPECT_EQ(REMSIM_ERR_PROTOCOL, res.error);
}

TEST(response_checks)
{
	t0_init(&t);
	EXPECT_EQ(-ESTALE, t0_response(&t, (uint8_t[]){ 0x90, 0x00 }, 2, &res));
	header(0xa0, 0xf2, 2);
	EXPECT_EQ(-EINVAL, t0_response(&t, (uint8_t[]){ 0x90 }, 1, &res));
	EXPECT_EQ(-EINVAL, t0_response(&t, (uint8_t[]){ 0x60, 0x00 }, 2, &res));
	EXPECT_EQ(-EINVAL, t0_response(&t, (uint8_t[]){ 0x50, 0x00 }, 2, &res));
	EXPECT_EQ(-EINVAL, t0_response(&t, (uint8_t[]){ 1, 2, 0xa0, 0x00 }, 4, &res));
	EXPECT_EQ(T0_WAIT_OWNER, t.state);
	/* Every valid SW1. */
	for (unsigned int sw1 = 0; sw1 < 256; sw1++) {
		int want = ((sw1 & 0xf0) == 0x60 && sw1 != 0x60) || (sw1 & 0xf0) == 0x90 ? 0 : -EINVAL;

		EXPECT_EQ(want, t0_response(&t, (uint8_t[]){ sw1, 0 }, 2, &res));
		if (!want)
			header(0xa0, 0xf2, 2);
	}
}

TEST(wrong_length_responses)
{
	t0_init(&t);
	header(0xa0, 0xb0, 4);
	ASSERT_EQ(0, t0_response(&t, (uint8_t[]){ 1, 2, 0x90, 0 }, 4, &res));
	EXPECT_EQ(REMSIM_ERR_RESPONSE_LENGTH, res.error);
	EXPECT_EQ(0x6c02, res.sw);
	header(0xa0, 0xb0, 0);		/* 256 wanted */
	ASSERT_EQ(0, t0_response(&t, (uint8_t[]){ 1, 0x90, 0 }, 3, &res));
	EXPECT_EQ(0x6c01, res.sw);
	header(0xa0, 0xd6, 0);		/* case 3, P3 0: delivered at once */
	EXPECT_EQ(T0_DO_DELIVER, res.actions);
	ASSERT_EQ(0, t0_response(&t, (uint8_t[]){ 1, 0x90, 0 }, 3, &res));
	EXPECT_EQ(REMSIM_ERR_RESPONSE_DATA, res.error);
	EXPECT_EQ(0x6f00, res.sw);
}

TEST(repeat_after_6c_keeps_its_case)
{
	t0_init(&t);
	header(0x80, 0xca, 0);		/* GET DATA, P3 0: case 2 */
	EXPECT_EQ(2, t.cur.apdu_case);
	ASSERT_EQ(0, t0_response(&t, (uint8_t[]){ 0x6c, 0x05 }, 2, &res));
	header(0x80, 0xca, 5);		/* alone it would be case 4 */
	EXPECT_EQ(2, t.cur.apdu_case);
	EXPECT_EQ(5, t.cur.le);
	ASSERT_EQ(0, t0_response(&t, (uint8_t[]){ 1, 2, 3, 4, 5, 0x90, 0 }, 7, &res));
	header(0x80, 0xca, 5);		/* after 9000 the tables decide again */
	EXPECT_EQ(4, t.cur.apdu_case);
}

TEST(give_up_answers_6f00_once)
{
	t0_init(&t);
	t0_give_up(&t, REMSIM_ERR_ABANDONED, &res);
	EXPECT_EQ(0, res.actions);
	header(0xa0, 0xf2, 2);
	t0_give_up(&t, REMSIM_ERR_TIMEOUT, &res);
	EXPECT_EQ(T0_DO_TX, res.actions);
	EXPECT_EQ(0x6f00, res.sw);
	EXPECT_EQ(REMSIM_ERR_TIMEOUT, res.error);
	EXPECT_EQ(-ESTALE, t0_response(&t, (uint8_t[]){ 0x90, 0 }, 2, &res));
}

/* The reset rule both backends apply to line changes (t0_lines_reset()). */
#define VCC	REMSIM_SIG_VCC
#define RST	REMSIM_SIG_RST
#define CLK	REMSIM_SIG_CLK
#define CARD	REMSIM_SIG_CARD

TEST(reset_rule_edges_that_end_the_exchange)
{
	/* reset asserted, with or without the rest changing */
	EXPECT_TRUE(t0_lines_reset(VCC | CLK, VCC | CLK | RST));
	EXPECT_TRUE(t0_lines_reset(0, VCC | CLK | RST));
	/* power gone, with reset held, released or asserted at once */
	EXPECT_TRUE(t0_lines_reset(VCC | CLK, CLK));
	EXPECT_TRUE(t0_lines_reset(VCC | CLK | RST, RST));
	EXPECT_TRUE(t0_lines_reset(VCC | RST, 0));
	EXPECT_TRUE(t0_lines_reset(VCC, RST));
}

TEST(reset_rule_levels_and_other_edges_do_not)
{
	/* a reset that stays asserted in repeated reports is one reset */
	EXPECT_FALSE(t0_lines_reset(VCC | RST, VCC | RST));
	EXPECT_FALSE(t0_lines_reset(VCC | RST, VCC | CLK | RST));
	/* power that stays off is one power-off */
	EXPECT_FALSE(t0_lines_reset(0, 0));
	EXPECT_FALSE(t0_lines_reset(RST, RST | CLK));
	/* reset released, power or clock coming, the card line */
	EXPECT_FALSE(t0_lines_reset(VCC | CLK | RST, VCC | CLK));
	EXPECT_FALSE(t0_lines_reset(0, VCC));
	EXPECT_FALSE(t0_lines_reset(VCC, VCC | CLK));
	EXPECT_FALSE(t0_lines_reset(VCC | CLK, VCC));
	EXPECT_FALSE(t0_lines_reset(VCC | CLK, VCC | CLK | CARD));
	EXPECT_FALSE(t0_lines_reset(VCC | CLK | CARD, VCC | CLK));
}

KTAP_MAIN
