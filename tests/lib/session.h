/* SPDX-License-Identifier: GPL-2.0 */
/*
 * session.h - a scripted phone session over a struct modem: what a phone
 * does with its SIM after power-up, measured. The demo, the benchmarks and
 * the end-to-end tests run it on every slot.
 *
 *  1. power on, read the ATR, PPS to its TA1 when asked
 *  2. UICC: SELECT MF, EF.ICCID, READ BINARY -> ICCID; EF.DIR -> the USIM's
 *     AID; SELECT ADF.USIM; PIN1 status (VERIFY when needed)
 *  3. SELECT EF.IMSI, READ BINARY -> IMSI
 *  4. USIM AUTHENTICATE (3G context) with an AUTN the session computes
 *     from the subscriber key it is given, as the network would; RES, CK,
 *     IK checked; a resynchronisation handled like a network does
 *  5. GSM: SELECT DF.GSM and EF.IMSI with CLA A0, READ BINARY, RUN GSM
 *     ALGORITHM, SRES and Kc checked
 *  6. STATUS polls
 */
#ifndef _SESSION_H
#define _SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "milenage.h"

struct modem;

struct session_opts {
	bool		pps;		/* negotiate the ATR's TA1 */
	const char	*pin1;		/* VERIFY with it when PIN1 is on */
	bool		have_keys;	/* check authentication results */
	uint8_t		ki[16];
	uint8_t		opc[16];
	uint64_t	sqn;		/* the network's next SQN (SEQ << 5 | IND) */
	unsigned int	status_polls;
};

#define SESSION_LAT_MAX	64

struct session_result {
	uint8_t		atr[33];
	size_t		atr_len;
	char		iccid[21];
	char		imsi[16];
	char		imsi_gsm[16];	/* as DF.GSM has it */
	uint8_t		res[8], ck[16], ik[16];
	uint8_t		sres[4], kc[8];
	bool		resynced;	/* the card asked for a new SQN */
	uint64_t	sqn_used;	/* the SQN that authenticated */
	unsigned int	commands;	/* command APDUs, GET RESPONSE included */
	unsigned int	nlat;
	uint64_t	lat_ns[SESSION_LAT_MAX];	/* per command, header to SW */
	char		error[160];	/* what went wrong, when it did */
};

/* 0, or -1 with r->error saying which step failed and how. */
int session_run(struct modem *m, const struct session_opts *o, struct session_result *r);

/* The median and 99th percentile of the recorded latencies. */
uint64_t session_percentile(const struct session_result *r, unsigned int pct);

/*
 * The network side of USIM AUTHENTICATE (3G context) on its own, for any
 * way to the card (the phone's T=0 above, PC/SC through remsim-ifd): the
 * command with a fresh RAND and the AUTN MILENAGE gives for an SQN, and
 * the check of the card's answer against what the network computes.
 */
struct session_auth {
	struct milenage	mil;
	uint64_t	sqn;		/* the SQN in cmd's AUTN */
	uint8_t		rand[16];
	uint8_t		cmd[40];	/* 00 88 00 81 22 | 10 RAND | 10 AUTN | Le 00 */
};

void session_auth_init(struct session_auth *a, const uint8_t ki[16], const uint8_t opc[16],
		       uint64_t sqn);
/*
 * The card's answer (its data, no SW): 0 when RES, CK and IK are the
 * network's (copied to @res, @ck, @ik); -EAGAIN for a synchronisation
 * failure (AUTS), a->cmd then carries a fresh RAND and an SQN past the
 * card's; -EBADMSG for anything else, a MAC-S that is not the card's too.
 */
int session_auth_check(struct session_auth *a, const uint8_t *resp, size_t len,
		       uint8_t res[8], uint8_t ck[16], uint8_t ik[16]);

#endif /* _SESSION_H */
