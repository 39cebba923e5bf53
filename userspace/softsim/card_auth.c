// SPDX-License-Identifier: GPL-2.0
/*
 * card_auth.c - the software card's security commands: PIN1 (VERIFY,
 * CHANGE, ENABLE/DISABLE, UNBLOCK with its counters) and authentication
 * (RUN GSM ALGORITHM, AUTHENTICATE with MILENAGE and the SQN check of TS
 * 33.102 annex C). card.c dispatches to them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "card_cmd.h"

/* How far ahead of the highest SQN seen a new one may be (Delta, TS 33.102 annex C). */
#define SEQ_DELTA		(1ULL << 28)

/* --- PIN1 ------------------------------------------------------------------------- */

/* 8 bytes of ASCII digits padded with FF, as phones send a PIN. */
static bool pin_matches(const char *pin, const uint8_t *given)
{
	uint8_t want[8];
	size_t n = strlen(pin);

	memset(want, 0xff, sizeof(want));
	memcpy(want, pin, n);
	return !memcmp(want, given, 8);
}

static uint16_t wrong_pin(const struct cmd *cmd, uint8_t left)
{
	if (!left)
		return pick(cmd, SW_GSM_PIN_BLOCKED, SW_PIN_BLOCKED);
	return cmd->gsm ? SW_GSM_SECURITY : SW_PIN_WRONG | left;
}

/* Checks PIN1 against data[0..8); counts a failure. */
static bool check_pin1(struct card *c, struct cmd *cmd, const uint8_t *given)
{
	if (!c->pin1_tries) {
		sw(cmd, pick(cmd, SW_GSM_PIN_BLOCKED, SW_PIN_BLOCKED));
		return false;
	}
	if (!pin_matches(c->profile.pin1, given)) {
		c->pin1_tries--;
		sw(cmd, wrong_pin(cmd, c->pin1_tries));
		return false;
	}
	c->pin1_tries = PIN_TRIES;
	c->pin1_verified = true;
	return true;
}

static bool pin_ref_ok(const struct cmd *cmd)
{
	/* CHV1 / PIN1: key reference 1 (GSM UNBLOCK CHV1 says 0). */
	return cmd->p2 == 0x01 || (cmd->gsm && cmd->ins == 0x2c && cmd->p2 == 0x00);
}

void card_cmd_verify(struct card *c, struct cmd *cmd)
{
	if (!pin_ref_ok(cmd) || cmd->p1) {
		sw(cmd, pick(cmd, SW_GSM_NOT_FOUND, SW_WRONG_P1P2));
		return;
	}
	if (!cmd->gsm && !cmd->p3) {
		/* How many tries are left, or that none is needed. */
		if (!c->profile.pin1_enabled || c->pin1_verified)
			sw(cmd, SW_OK);
		else
			sw(cmd, c->pin1_tries ? SW_PIN_WRONG | c->pin1_tries : SW_PIN_BLOCKED);
		return;
	}
	if (cmd->len != 8) {
		sw(cmd, SW_WRONG_LENGTH);
		return;
	}
	if (check_pin1(c, cmd, cmd->data))
		sw(cmd, SW_OK);
}

void card_cmd_change_pin(struct card *c, struct cmd *cmd)
{
	if (!pin_ref_ok(cmd) || cmd->p1) {
		sw(cmd, pick(cmd, SW_GSM_NOT_FOUND, SW_WRONG_P1P2));
		return;
	}
	if (cmd->len != 16) {
		sw(cmd, SW_WRONG_LENGTH);
		return;
	}
	if (!c->profile.pin1_enabled) {
		sw(cmd, pick(cmd, SW_GSM_CONDITIONS, SW_CONDITIONS));
		return;
	}
	if (!check_pin1(c, cmd, cmd->data))
		return;
	memset(c->profile.pin1, 0, sizeof(c->profile.pin1));
	for (unsigned int i = 0; i < 8 && cmd->data[8 + i] != 0xff; i++)
		c->profile.pin1[i] = cmd->data[8 + i];
	sw(cmd, SW_OK);
}

void card_cmd_enable_pin(struct card *c, struct cmd *cmd, bool enable)
{
	if (!pin_ref_ok(cmd) || cmd->p1) {
		sw(cmd, pick(cmd, SW_GSM_NOT_FOUND, SW_WRONG_P1P2));
		return;
	}
	if (cmd->len != 8) {
		sw(cmd, SW_WRONG_LENGTH);
		return;
	}
	if (c->profile.pin1_enabled == enable) {
		sw(cmd, pick(cmd, SW_GSM_CONDITIONS, SW_CONDITIONS));
		return;
	}
	if (!check_pin1(c, cmd, cmd->data))
		return;
	c->profile.pin1_enabled = enable;
	sw(cmd, SW_OK);
}

void card_cmd_unblock(struct card *c, struct cmd *cmd)
{
	if (!pin_ref_ok(cmd) || cmd->p1) {
		sw(cmd, pick(cmd, SW_GSM_NOT_FOUND, SW_WRONG_P1P2));
		return;
	}
	if (!cmd->gsm && !cmd->p3) {
		sw(cmd, c->puk1_tries ? SW_PIN_WRONG | c->puk1_tries : SW_PIN_BLOCKED);
		return;
	}
	if (cmd->len != 16) {
		sw(cmd, SW_WRONG_LENGTH);
		return;
	}
	if (!c->puk1_tries) {
		sw(cmd, pick(cmd, SW_GSM_PIN_BLOCKED, SW_PIN_BLOCKED));
		return;
	}
	if (!pin_matches(c->profile.puk1, cmd->data)) {
		c->puk1_tries--;
		sw(cmd, wrong_pin(cmd, c->puk1_tries));
		return;
	}
	c->puk1_tries = PUK_TRIES;
	c->pin1_tries = PIN_TRIES;
	c->pin1_verified = true;
	memset(c->profile.pin1, 0, sizeof(c->profile.pin1));
	for (unsigned int i = 0; i < 8 && cmd->data[8 + i] != 0xff; i++)
		c->profile.pin1[i] = cmd->data[8 + i];
	sw(cmd, SW_OK);
}

/* --- authentication -------------------------------------------------------- */

static uint64_t be48(const uint8_t *b)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < 6; i++)
		v = v << 8 | b[i];
	return v;
}

static void put_be48(uint64_t v, uint8_t *b)
{
	for (int i = 5; i >= 0; i--) {
		b[i] = v;
		v >>= 8;
	}
}

void card_cmd_run_gsm(struct card *c, struct cmd *cmd)
{
	uint8_t out[12];

	if (cmd->len != 16) {
		sw(cmd, SW_WRONG_LENGTH);
		return;
	}
	if (pin_needed(c, AC_PIN1)) {
		sw(cmd, SW_GSM_SECURITY);
		return;
	}
	milenage_gsm(&c->mil, cmd->data, out, out + 4);
	c->counters.authentications++;
	stash(c, cmd, out, sizeof(out));
}

/*
 * USIM AUTHENTICATE, 3G context: RAND and AUTN = SQN^AK | AMF | MAC-A. The
 * card checks MAC-A, then that SQN is fresh (annex C: SEQ above the last
 * one seen with the same IND, and not too far ahead); a stale SQN gets a
 * resynchronisation token AUTS = SQNms^AK* | MAC-S.
 */
static void auth_3g(struct card *c, struct cmd *cmd, const uint8_t *rand, const uint8_t *autn)
{
	uint8_t ak[6], sqn_b[6], xmac[8], res[8], ck[16], ik[16], out[64];
	uint64_t sqn, seq, highest_seq = c->sqn_highest >> SEQ_IND_BITS;
	unsigned int ind;
	size_t n = 0;

	milenage_f2345(&c->mil, rand, res, ck, ik, ak);
	for (unsigned int i = 0; i < 6; i++)
		sqn_b[i] = autn[i] ^ ak[i];
	milenage_f1(&c->mil, rand, sqn_b, autn + 6, xmac, NULL);
	if (memcmp(xmac, autn + 8, 8)) {
		c->counters.mac_failures++;
		sw(cmd, SW_MAC_FAILURE);
		return;
	}
	sqn = be48(sqn_b);
	seq = sqn >> SEQ_IND_BITS;
	ind = sqn & (SEQ_INDS - 1);
	if (seq <= c->seq_ms[ind] || seq > highest_seq + SEQ_DELTA) {
		uint8_t aks[6], sqn_ms[6], mac_s[8];
		static const uint8_t amf_resync[2] = { 0, 0 };

		c->counters.sync_failures++;
		put_be48(c->sqn_highest, sqn_ms);
		milenage_f5star(&c->mil, rand, aks);
		milenage_f1(&c->mil, rand, sqn_ms, amf_resync, NULL, mac_s);
		out[n++] = 0xdc;
		out[n++] = 14;
		for (unsigned int i = 0; i < 6; i++)
			out[n++] = sqn_ms[i] ^ aks[i];
		memcpy(out + n, mac_s, 8);
		n += 8;
		stash(c, cmd, out, n);
		return;
	}
	c->seq_ms[ind] = seq;
	if (sqn > c->sqn_highest)
		c->sqn_highest = sqn;
	c->counters.sqn_highest = c->sqn_highest;
	c->counters.authentications++;

	out[n++] = 0xdb;
	out[n++] = 8;
	memcpy(out + n, res, 8);
	n += 8;
	out[n++] = 16;
	memcpy(out + n, ck, 16);
	n += 16;
	out[n++] = 16;
	memcpy(out + n, ik, 16);
	n += 16;
	/* Kc too, for GSM access (service 27). */
	out[n++] = 8;
	for (unsigned int i = 0; i < 8; i++)
		out[n + i] = ck[i] ^ ck[i + 8] ^ ik[i] ^ ik[i + 8];
	n += 8;
	stash(c, cmd, out, n);
}

void card_cmd_authenticate(struct card *c, struct cmd *cmd)
{
	const uint8_t *d = cmd->data;
	uint8_t out[14];

	if (c->cur_adf < 0) {
		sw(cmd, SW_CONDITIONS);
		return;
	}
	if (pin_needed(c, AC_PIN1)) {
		sw(cmd, SW_SECURITY);
		return;
	}
	switch (cmd->p2) {
	case 0x81:	/* 3G context: 10 RAND 10 AUTN */
		if (cmd->len != 34 || d[0] != 16 || d[17] != 16) {
			sw(cmd, SW_WRONG_LENGTH);
			return;
		}
		auth_3g(c, cmd, d + 1, d + 18);
		return;
	case 0x80:	/* GSM context: 10 RAND */
		if (cmd->len != 17 || d[0] != 16) {
			sw(cmd, SW_WRONG_LENGTH);
			return;
		}
		out[0] = 4;
		out[5] = 8;
		milenage_gsm(&c->mil, d + 1, out + 1, out + 6);
		c->counters.authentications++;
		stash(c, cmd, out, sizeof(out));
		return;
	}
	sw(cmd, SW_WRONG_P1P2);
}
