/* SPDX-License-Identifier: GPL-2.0 */
/*
 * card.h - a SIM/USIM card in software, at the level a T=0 card works:
 * it gets command TPDUs (CLA INS P1 P2 P3 and, for commands that carry
 * them, P3 bytes of data) and answers with response data and SW1 SW2,
 * 61xx/9Fxx/6Cxx included, as a real card does through a PC/SC reader.
 *
 * Both faces of a modern card: the GSM SIM (CLA A0, GSM 11.11: MF, DF.GSM,
 * DF.TELECOM, 9Fxx, RUN GSM ALGORITHM) and the UICC with ADF.USIM (CLA 00/80,
 * TS 102 221 and TS 31.102: FCP, 61xx, AUTHENTICATE with MILENAGE, SQN
 * checks and resynchronisation). GSM authentication uses MILENAGE with the
 * c2/c3 conversions of TS 33.102 (no COMP128).
 */
#ifndef _SOFTSIM_CARD_H
#define _SOFTSIM_CARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CARD_RESP_MAX	258	/* 256 bytes and SW1 SW2 */

struct card_profile {
	char		iccid[21];	/* 18..20 digits */
	char		imsi[16];	/* 6..15 digits */
	uint8_t		ki[16];
	uint8_t		opc[16];
	char		msisdn[21];	/* digits, may be empty */
	char		spn[17];	/* service provider name, may be empty */
	uint8_t		mnc_len;	/* 2 or 3 */
	char		pin1[9];	/* 4..8 digits */
	char		puk1[9];	/* 8 digits */
	char		adm1[9];	/* the operator's key for protected files */
	bool		pin1_enabled;
};

struct card;

/* Default test values: MCC 001 MNC 01, the TS 35.208 test set 1 key. */
void card_profile_default(struct card_profile *p, unsigned int n);

struct card *card_new(const struct card_profile *p);
void card_free(struct card *c);

/* A cold or warm reset: no file selected, no PIN verified. */
void card_reset(struct card *c);
/* The ATR this card answers with. */
const uint8_t *card_atr(size_t *len);

/* One command; returns the length of resp (data then SW1 SW2). */
size_t card_command(struct card *c, const uint8_t *tpdu, size_t len, uint8_t *resp);

/*
 * What a card keeps across power-downs and restarts of its daemon - PIN1
 * and its counters, the SQN history, the files the phone may update - as
 * an opaque blob; loading refuses (-EINVAL) one made for another card.
 */
size_t card_state_size(const struct card *c);
void card_state_save(const struct card *c, uint8_t *blob);
int card_state_load(struct card *c, const uint8_t *blob, size_t len);

/* For tests and the operator: what the card has seen. */
struct card_counters {
	unsigned int	commands;
	unsigned int	authentications;	/* successful ones, 2G and 3G */
	unsigned int	sync_failures;
	unsigned int	mac_failures;
	uint64_t	sqn_highest;
};
void card_counters(const struct card *c, struct card_counters *out);

#endif /* _SOFTSIM_CARD_H */
