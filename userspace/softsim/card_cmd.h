/* SPDX-License-Identifier: GPL-2.0 */
/*
 * card_cmd.h - one command of the software card as its handlers see it
 * (card.c: selection, files, dispatch; card_auth.c: PIN1 and
 * authentication), with the status words and the helpers that answer.
 */
#ifndef _SOFTSIM_CARD_CMD_H
#define _SOFTSIM_CARD_CMD_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "card_int.h"

/* Status words, by meaning. */
#define SW_OK			0x9000
#define SW_GSM_RESPONSE		0x9f00	/* | length */
#define SW_UICC_RESPONSE	0x6100	/* | length */
#define SW_WRONG_LE		0x6c00	/* | the right one */
#define SW_WRONG_LENGTH		0x6700
#define SW_NOT_FOUND		0x6a82
#define SW_GSM_NOT_FOUND	0x9404
#define SW_WRONG_P1P2		0x6a86
#define SW_GSM_OUT_OF_RANGE	0x9402
#define SW_OFFSET		0x6b00
#define SW_NO_EF		0x6986
#define SW_GSM_NO_EF		0x9400
#define SW_SECURITY		0x6982
#define SW_GSM_SECURITY		0x9804
#define SW_PIN_WRONG		0x63c0	/* | tries left */
#define SW_PIN_BLOCKED		0x6983
#define SW_GSM_PIN_BLOCKED	0x9840
#define SW_CONDITIONS		0x6985
#define SW_GSM_CONDITIONS	0x9808
#define SW_INS			0x6d00
#define SW_CLA			0x6e00
#define SW_MAC_FAILURE		0x9862
#define SW_NO_CHANNEL		0x6881
#define SW_RECORD		0x6a83
#define SW_GSM_RECORD		0x9402

struct cmd {
	uint8_t		cla, ins, p1, p2, p3;
	const uint8_t	*data;		/* p3 bytes when the command carries data */
	size_t		len;		/* bytes of data that came */
	bool		gsm;		/* CLA A0 */
	uint8_t		*resp;
	size_t		resp_len;
};

static inline void sw(struct cmd *cmd, uint16_t sw)
{
	cmd->resp[cmd->resp_len++] = sw >> 8;
	cmd->resp[cmd->resp_len++] = sw;
}

static inline uint16_t pick(const struct cmd *cmd, uint16_t gsm, uint16_t uicc)
{
	return cmd->gsm ? gsm : uicc;
}

/* Response data for a command whose P3 was Le: exactly Le, or 6Cxx/67xx. */
static inline void reply(struct cmd *cmd, const uint8_t *data, size_t len)
{
	size_t le = cmd->p3 ? cmd->p3 : 256;

	if (le != len) {
		sw(cmd, cmd->gsm ? SW_WRONG_LENGTH | (len & 0xff) : SW_WRONG_LE | (len & 0xff));
		return;
	}
	memcpy(cmd->resp, data, len);
	cmd->resp_len = len;
	sw(cmd, SW_OK);
}

/* Data a case-4 command produced: kept for GET RESPONSE. */
static inline void stash(struct card *c, struct cmd *cmd, const uint8_t *data, size_t len)
{
	memcpy(c->pending, data, len);
	c->pending_len = len;
	sw(cmd, (cmd->gsm ? SW_GSM_RESPONSE : SW_UICC_RESPONSE) | (len & 0xff));
}

static inline bool pin_needed(const struct card *c, uint8_t ac)
{
	if (ac == AC_ALW)
		return false;
	if (ac == AC_PIN1)
		return c->profile.pin1_enabled && !c->pin1_verified;
	return true;		/* ADM and NEV: not for phones */
}

/* card_auth.c */
void card_cmd_verify(struct card *c, struct cmd *cmd);
void card_cmd_change_pin(struct card *c, struct cmd *cmd);
void card_cmd_enable_pin(struct card *c, struct cmd *cmd, bool enable);
void card_cmd_unblock(struct card *c, struct cmd *cmd);
void card_cmd_run_gsm(struct card *c, struct cmd *cmd);
void card_cmd_authenticate(struct card *c, struct cmd *cmd);

#endif
