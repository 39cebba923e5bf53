// SPDX-License-Identifier: GPL-2.0
/*
 * card_test - the software card's commands one by one: selection, reading
 * and updating, PIN1 with its counters, authentication failures, the state
 * that survives a restart.
 */
#include <stdarg.h>
#include <stdlib.h>

#include "card.h"
#include "ktap.h"
#include "milenage.h"

static struct card *card;
static struct card_profile prof;
static uint8_t resp[CARD_RESP_MAX];
static size_t resp_len;

static void setup(void)
{
	card_profile_default(&prof, 1);
	card = card_new(&prof);
	ASSERT_NE(NULL, card);
}

/* Sends the bytes given; returns the status word. */
static uint16_t cmd(size_t n, ...)
{
	uint8_t tpdu[300];
	va_list ap;

	va_start(ap, n);
	for (size_t i = 0; i < n; i++)
		tpdu[i] = va_arg(ap, int);
	va_end(ap);
	resp_len = card_command(card, tpdu, n, resp);
	return resp[resp_len - 2] << 8 | resp[resp_len - 1];
}

static uint16_t cmd_buf(const uint8_t *tpdu, size_t n)
{
	resp_len = card_command(card, tpdu, n, resp);
	return resp[resp_len - 2] << 8 | resp[resp_len - 1];
}

/* SELECT by DF name, part of the AID being enough. */
static void select_usim(void)
{
	ASSERT_EQ(0x9000, cmd(12, 0x00, 0xa4, 0x04, 0x0c, 0x07, 0xa0, 0x00, 0x00, 0x00, 0x87,
			      0x10, 0x02));
}

TEST(uicc_select_and_get_response)
{
	uint16_t sw;

	setup();
	sw = cmd(7, 0x00, 0xa4, 0x00, 0x04, 0x02, 0x3f, 0x00);
	EXPECT_EQ(0x61, sw >> 8);
	EXPECT_EQ(0x9000, cmd(5, 0x00, 0xc0, 0x00, 0x00, sw & 0xff));
	EXPECT_EQ(0x62, resp[0]);			/* an FCP template */
	EXPECT_EQ((sw & 0xff) - 2, resp[1]);
	EXPECT_EQ(0x9000, cmd(7, 0x00, 0xa4, 0x00, 0x0c, 0x02, 0x2f, 0xe2));
	EXPECT_EQ(0x6a82, cmd(7, 0x00, 0xa4, 0x00, 0x04, 0x02, 0x6f, 0x07));	/* not here */
	EXPECT_EQ(0x6a86, cmd(7, 0x00, 0xa4, 0x05, 0x04, 0x02, 0x3f, 0x00));
	/* 7FFF is the application: none yet, then the USIM's. */
	EXPECT_EQ(0x6a82, cmd(9, 0x00, 0xa4, 0x08, 0x04, 0x04, 0x7f, 0xff, 0x6f, 0x07));
	select_usim();
	EXPECT_EQ(0x61, cmd(9, 0x00, 0xa4, 0x08, 0x04, 0x04, 0x7f, 0xff, 0x6f, 0x07) >> 8);
}

TEST(get_response_with_the_wrong_le)
{
	uint16_t sw;

	setup();
	sw = cmd(7, 0x00, 0xa4, 0x00, 0x04, 0x02, 0x3f, 0x00);
	ASSERT_EQ(0x61, sw >> 8);
	EXPECT_EQ(0x6c00 | (sw & 0xff), cmd(5, 0x00, 0xc0, 0x00, 0x00, (sw & 0xff) + 1));
	/* The data stay until asked for right; then in pieces. */
	EXPECT_EQ(0x6100 | ((sw & 0xff) - 4), cmd(5, 0x00, 0xc0, 0x00, 0x00, 4));
	EXPECT_EQ(0x9000, cmd(5, 0x00, 0xc0, 0x00, 0x00, (sw & 0xff) - 4));
	EXPECT_EQ(0x6985, cmd(5, 0x00, 0xc0, 0x00, 0x00, 1));
}

TEST(gsm_select_read_and_update)
{
	setup();
	EXPECT_EQ(0x9f16, cmd(7, 0xa0, 0xa4, 0x00, 0x00, 0x02, 0x7f, 0x20));
	EXPECT_EQ(0x9f0f, cmd(7, 0xa0, 0xa4, 0x00, 0x00, 0x02, 0x6f, 0x20));	/* EF.Kc */
	EXPECT_EQ(0x9000, cmd(5, 0xa0, 0xb0, 0x00, 0x00, 0x09));
	EXPECT_EQ(0x07, resp[8]);
	EXPECT_EQ(0x9000, cmd(14, 0xa0, 0xd6, 0x00, 0x00, 0x09, 1, 2, 3, 4, 5, 6, 7, 8, 0x01));
	EXPECT_EQ(0x9000, cmd(5, 0xa0, 0xb0, 0x00, 0x02, 0x02));
	EXPECT_EQ(3, resp[0]);
	EXPECT_EQ(0x9402, cmd(5, 0xa0, 0xb0, 0x00, 0x09, 0x01));	/* past the end */
	EXPECT_EQ(0x6709, cmd(5, 0xa0, 0xb0, 0x00, 0x00, 0x0a));	/* too long: 9 there */
	EXPECT_EQ(0x9404, cmd(7, 0xa0, 0xa4, 0x00, 0x00, 0x02, 0x7f, 0xf0));	/* no ADF here */
	/* The ICCID is in the MF: not visible from DF.GSM. */
	EXPECT_EQ(0x9404, cmd(7, 0xa0, 0xa4, 0x00, 0x00, 0x02, 0x2f, 0xe2));
	/* It may be read, never written. */
	EXPECT_EQ(0x9f16, cmd(7, 0xa0, 0xa4, 0x00, 0x00, 0x02, 0x3f, 0x00));
	EXPECT_EQ(0x9f0f, cmd(7, 0xa0, 0xa4, 0x00, 0x00, 0x02, 0x2f, 0xe2));
	EXPECT_EQ(0x9804, cmd(6, 0xa0, 0xd6, 0x00, 0x00, 0x01, 0x00));
}

TEST(records)
{
	setup();
	EXPECT_EQ(0x9000, cmd(7, 0x00, 0xa4, 0x00, 0x0c, 0x02, 0x2f, 0x00));
	EXPECT_EQ(0x6c20, cmd(5, 0x00, 0xb2, 0x01, 0x04, 0x00));
	EXPECT_EQ(0x9000, cmd(5, 0x00, 0xb2, 0x01, 0x04, 0x20));
	EXPECT_EQ(0x61, resp[0]);
	EXPECT_EQ(0x6a83, cmd(5, 0x00, 0xb2, 0x02, 0x04, 0x20));
	/* Not a transparent file. */
	EXPECT_EQ(0x6985, cmd(5, 0x00, 0xb0, 0x00, 0x00, 0x01));
}

static void verify(const char *pin, uint16_t want)
{
	uint8_t v[13] = { 0x00, 0x20, 0x00, 0x01, 0x08 };

	memset(v + 5, 0xff, 8);
	memcpy(v + 5, pin, strlen(pin));
	EXPECT_EQ(want, cmd_buf(v, 13));
}

TEST(pin1_counts_blocks_and_unblocks)
{
	uint8_t unblock[21] = { 0x00, 0x2c, 0x00, 0x01, 0x10 };

	card_profile_default(&prof, 1);
	prof.pin1_enabled = true;
	card = card_new(&prof);
	ASSERT_NE(NULL, card);
	EXPECT_EQ(0x63c3, cmd(5, 0x00, 0x20, 0x00, 0x01, 0x00));
	verify("0000", 0x63c2);
	verify("0000", 0x63c1);
	verify("0000", 0x6983);
	verify("1234", 0x6983);			/* blocked: even the right one */
	memset(unblock + 5, 0xff, 16);
	memcpy(unblock + 5, "00000000", 8);
	memcpy(unblock + 13, "4321", 4);
	EXPECT_EQ(0x63c9, cmd_buf(unblock, 21));
	memcpy(unblock + 5, "12345678", 8);
	EXPECT_EQ(0x9000, cmd_buf(unblock, 21));
	EXPECT_EQ(0x9000, cmd(5, 0x00, 0x20, 0x00, 0x01, 0x00));	/* verified */
	card_reset(card);
	verify("1234", 0x63c2);			/* the PIN is new */
	verify("4321", 0x9000);
}

TEST(imsi_needs_pin1_when_enabled)
{
	card_profile_default(&prof, 1);
	prof.pin1_enabled = true;
	card = card_new(&prof);
	ASSERT_NE(NULL, card);
	EXPECT_EQ(0x9f16, cmd(7, 0xa0, 0xa4, 0x00, 0x00, 0x02, 0x7f, 0x20));
	EXPECT_EQ(0x9f0f, cmd(7, 0xa0, 0xa4, 0x00, 0x00, 0x02, 0x6f, 0x07));
	EXPECT_EQ(0x9804, cmd(5, 0xa0, 0xb0, 0x00, 0x00, 0x09));
	EXPECT_EQ(0x9804, cmd(21, 0xa0, 0x88, 0x00, 0x00, 0x10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
			      11, 12, 13, 14, 15, 16));
}

TEST(authenticate_with_a_bad_mac)
{
	uint8_t a[5 + 34] = { 0x00, 0x88, 0x00, 0x81, 34, 16 };
	struct card_counters cnt;

	setup();
	select_usim();
	a[22] = 16;
	EXPECT_EQ(0x9862, cmd_buf(a, sizeof(a)));
	card_counters(card, &cnt);
	EXPECT_EQ(1, cnt.mac_failures);
	EXPECT_EQ(0, cnt.authentications);
	EXPECT_EQ(0x6700, cmd_buf(a, sizeof(a) - 1));
	/* Without the application selected, there is nothing to authenticate. */
	card_reset(card);
	EXPECT_EQ(0x6985, cmd_buf(a, sizeof(a)));
}

TEST(malformed_commands)
{
	setup();
	EXPECT_EQ(0x6700, cmd(4, 0x00, 0xa4, 0x00, 0x04));
	EXPECT_EQ(0x6700, cmd(6, 0x00, 0xa4, 0x00, 0x04, 0x02, 0x3f));	/* Lc says 2 */
	EXPECT_EQ(0x6700, cmd(6, 0x00, 0xb0, 0x00, 0x00, 0x01, 0x00));	/* Le with data */
	EXPECT_EQ(0x6e00, cmd(5, 0xa4, 0xb0, 0x00, 0x00, 0x01));
	EXPECT_EQ(0x6d00, cmd(5, 0x00, 0x77, 0x00, 0x00, 0x00));
	EXPECT_EQ(0x6881, cmd(5, 0x01, 0xb0, 0x00, 0x00, 0x01));
}

TEST(state_survives_a_restart)
{
	uint8_t a[5 + 34] = { 0x00, 0x88, 0x00, 0x81, 34, 16 };
	struct card_counters cnt;
	struct milenage mil;
	uint8_t sqn[6] = { 0, 0, 0, 0, 0x04, 0x01 }, ak[6], *blob;
	static const uint8_t amf[2] = { 0x80, 0 };
	struct card *other;
	size_t n;

	setup();
	/* An accepted SQN and an updated EF.LOCI... */
	select_usim();
	milenage_init(&mil, prof.ki, prof.opc);
	milenage_f2345(&mil, a + 6, NULL, NULL, NULL, ak);
	a[22] = 16;
	for (int i = 0; i < 6; i++)
		a[23 + i] = sqn[i] ^ ak[i];
	memcpy(a + 29, amf, 2);
	milenage_f1(&mil, a + 6, sqn, amf, a + 31, NULL);
	ASSERT_EQ(0x6135, cmd_buf(a, sizeof(a)));
	ASSERT_EQ(0x9000, cmd(7, 0x00, 0xa4, 0x00, 0x0c, 0x02, 0x6f, 0x7e));
	ASSERT_EQ(0x9000, cmd(16, 0x00, 0xd6, 0x00, 0x00, 0x0b, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11));
	n = card_state_size(card);
	blob = malloc(n);
	card_state_save(card, blob);
	card_free(card);

	/* ...are there after a restart: the same SQN is now stale. */
	card = card_new(&prof);
	ASSERT_EQ(0, card_state_load(card, blob, n));
	select_usim();
	EXPECT_EQ(0x6110, cmd_buf(a, sizeof(a)));	/* AUTS */
	card_counters(card, &cnt);
	EXPECT_EQ(1, cnt.sync_failures);
	ASSERT_EQ(0x9000, cmd(7, 0x00, 0xa4, 0x00, 0x0c, 0x02, 0x6f, 0x7e));
	ASSERT_EQ(0x9000, cmd(5, 0x00, 0xb0, 0x00, 0x00, 0x0b));
	EXPECT_EQ(11, resp[10]);

	/* Another card's state is refused, and so is a damaged one. */
	card_profile_default(&prof, 2);
	other = card_new(&prof);
	EXPECT_EQ(-EINVAL, card_state_load(other, blob, n));
	EXPECT_EQ(-EINVAL, card_state_load(card, blob, n - 1));
	blob[0] ^= 1;
	EXPECT_EQ(-EINVAL, card_state_load(card, blob, n));
	card_free(other);
	free(blob);
}

KTAP_MAIN
