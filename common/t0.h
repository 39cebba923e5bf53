/* SPDX-License-Identifier: GPL-2.0 */
/*
 * t0.h - the host side of ISO 7816-3 T=0 for one slot: from TPDU headers and
 * data the modem sends, whole command APDUs for the slot's owner; from the
 * owner's responses, the procedure bytes, data and status words the modem
 * gets. Plain C (plain.h): the module, the unit tests and the fuzzer compile
 * the same code.
 *
 * The board (SIMtrace2 firmware, or the simulated slot) does the byte level:
 * ATR, PPS, NULL procedure bytes while the host thinks. What crosses between
 * board and host are messages, and the engine speaks in those: a header, a
 * block of command data; towards the modem a "transmission" (struct t0_tx):
 * bytes, plus whether the board then receives data from the modem
 * (T0_TX_PB_AND_RX) or, after the bytes, the TPDU is over (T0_TX_FINAL).
 *
 * The engine never waits and never allocates; every call says in its
 * struct t0_result what the caller must do.
 */
#ifndef _REMSIM_T0_H
#define _REMSIM_T0_H

#include "plain.h"

#define T0_HDR_LEN	5
#define T0_LC_MAX	255
#define T0_LE_MAX	256
/* The longest transmission: procedure byte, 256 data bytes, SW1 SW2. */
#define T0_TX_MAX	(1 + T0_LE_MAX + 2)

/* enum t0_state: the values of REMSIM_T0_* in remsim_dev.h */
enum t0_state {
	T0_IDLE = 0,		/* waiting for a header */
	T0_RX_DATA = 1,		/* the modem sends command data */
	T0_WAIT_OWNER = 2,	/* a whole APDU waits for its response */
};

/* Flags of a transmission; the values of the SIMtrace2 CEMU_DATA_F_*. */
#define T0_TX_FINAL		0x02	/* the TPDU ends after these bytes */
#define T0_TX_PB_AND_TX		0x04	/* a procedure byte, then more to send */
#define T0_TX_PB_AND_RX		0x08	/* a procedure byte, then receive Lc bytes */

struct t0_tx {
	u8 flags;
	u16 len;
	u8 data[T0_TX_MAX];
};

/* A complete command APDU, as the owner reads it. */
struct t0_apdu {
	u8 apdu_case;		/* 1..4 */
	u16 lc;			/* command data bytes after the header */
	u16 le;			/* expected response bytes (case 2), else 0 */
	u8 tpdu[T0_HDR_LEN + T0_LC_MAX];
};

struct t0 {
	enum t0_state state;
	struct t0_apdu cur;
	u16 rx_len;		/* command data received so far */
	/* A reset came in the data phase; see t0_reset(). */
	bool reset_in_data;
	/*
	 * The last command that got an answer, for the 6Cxx rule: a command
	 * the card answered with 6Cxx comes again with a new P3 and keeps its
	 * case (GET DATA's case is otherwise guessed from P3).
	 */
	bool prev_valid;
	u8 prev_hdr[4];
	u8 prev_case;
	u8 prev_sw1;
};

/* What a call asks of the caller, in this order. */
#define T0_DO_ABORT	0x01	/* the APDU that was waiting is dead (not answered) */
#define T0_DO_TX	0x02	/* transmit res->tx to the modem */
#define T0_DO_DELIVER	0x04	/* queue t->cur to the owner */

struct t0_result {
	unsigned int actions;
	u32 error;		/* enum remsim_error_code, or 0 */
	u16 sw;			/* the status word sent instead, with error */
	struct t0_tx tx;
};

u8 t0_apdu_case(const u8 hdr[T0_HDR_LEN]);

void t0_init(struct t0 *t);
/* The modem asserted reset or cut power: whatever was going on is over. */
void t0_reset(struct t0 *t, struct t0_result *res);
/*
 * The reset rule: whether the modem's lines going from before to after
 * (REMSIM_SIG_* of remsim_dev.h) end the exchange, so that t0_reset() is
 * due. Edges only: reset asserted, or power gone. A reset that stays
 * asserted in repeated reports is the same reset (banks that reset their
 * card for each report would never answer), and reset released or power
 * coming back start nothing the next header does not.
 */
bool t0_lines_reset(u32 before, u32 after);
void t0_header(struct t0 *t, const u8 hdr[T0_HDR_LEN], struct t0_result *res);
void t0_data(struct t0 *t, const u8 *data, size_t len, struct t0_result *res);
/*
 * The owner's response to the waiting APDU: data then SW1 SW2.
 * 0: done (res says what to send); -ESTALE: no APDU is waiting;
 * -EINVAL: not a response (fewer than two bytes, or an impossible SW1);
 * nothing changes on an error.
 */
int t0_response(struct t0 *t, const u8 *resp, size_t len, struct t0_result *res);
/*
 * The waiting APDU will never be answered (error is REMSIM_ERR_ABANDONED
 * or REMSIM_ERR_TIMEOUT): the modem gets 6F00 so that it retries.
 */
void t0_give_up(struct t0 *t, u32 error, struct t0_result *res);

#endif /* _REMSIM_T0_H */
