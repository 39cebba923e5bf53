/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cardem.h - the card side of ISO 7816-3 T=0 as a SIMtrace2-family board's
 * cardem firmware plays it towards the modem: it follows VCC, CLK and RST,
 * sends the ATR, answers PPS by echoing it, collects TPDU headers and
 * command data for the host, and sends the modem what the host transmits
 * (struct t0_tx, with the TX_DATA flags). NULL procedure bytes (0x60) while
 * the host thinks are the caller's timer: cardem_null() when
 * cardem_waiting_host() has been true for half the waiting time.
 *
 * Plain C (plain.h): remsim_sim.ko runs it behind each simulated slot, the
 * software SIMtrace2 board of the tests runs it in user space. It never
 * blocks and never allocates; what it produces goes out through the ops.
 */
#ifndef _REMSIM_CARDEM_H
#define _REMSIM_CARDEM_H

#include "plain.h"
#include "t0.h"

/* The flags of the SIMtrace2 STATUS message. */
#define CARDEM_STATUS_VCC	0x01
#define CARDEM_STATUS_CLK	0x02
#define CARDEM_STATUS_RST	0x10

enum cardem_state {
	CARDEM_WAIT_POWER,
	CARDEM_WAIT_CLK,
	CARDEM_WAIT_RST,
	CARDEM_WAIT_ATR,
	CARDEM_IN_ATR,
	CARDEM_IN_PTS,
	CARDEM_WAIT_TPDU,
	CARDEM_IN_TPDU,
};

enum cardem_tpdu {
	CARDEM_T_WAIT_CLA,
	CARDEM_T_WAIT_INS,
	CARDEM_T_WAIT_P1,
	CARDEM_T_WAIT_P2,
	CARDEM_T_WAIT_P3,
	CARDEM_T_WAIT_PB,	/* header complete, the host decides */
	CARDEM_T_WAIT_RX,	/* command data from the modem */
	CARDEM_T_WAIT_TX,	/* the host sends data or the status word */
};

struct cardem_ops {
	/* Bytes on the I/O line, card to modem. */
	void (*to_modem)(void *ctx, const u8 *bytes, size_t len);
	/* To the host: a TPDU header, command data, a PPS, line changes. */
	void (*rx_header)(void *ctx, const u8 hdr[T0_HDR_LEN]);
	void (*rx_data)(void *ctx, const u8 *data, size_t len);
	void (*pts)(void *ctx, const u8 *pps, u8 len, u8 fi, u8 di);
	void (*status)(void *ctx, u32 status);
};

struct cardem {
	const struct cardem_ops	*ops;
	void			*ctx;

	bool			enabled;	/* SIM select remote */
	bool			vcc, clk, rst;	/* as the modem drives them */
	bool			eff_vcc, eff_clk, eff_rst;	/* through the gate */
	enum cardem_state	state;
	enum cardem_tpdu	sub;

	u8			atr[33];
	u8			atr_len;
	u8			fi, di, wi;
	u32			wt;		/* waiting time, ETU */

	u8			hdr[T0_HDR_LEN];
	u8			rx[T0_LC_MAX];
	u16			rx_len, rx_want;
	u8			pps[6];
	u8			pps_len, pps_want;
	bool			pb_and_rx;	/* the transmission asks for data */

	/* Counters for tests and debugging. */
	u32			tx_dropped;	/* host data outside a TPDU */
	u32			bytes_ignored;	/* modem bytes nobody expected */
	u32			pps_bad;	/* PPS with a wrong PCK */
};

void cardem_init(struct cardem *c, const struct cardem_ops *ops, void *ctx);
/* The ATR for the next reset; the caller checked it (atr.h). */
void cardem_set_atr(struct cardem *c, const u8 *atr, size_t len);
/* SIM select: disabled, the card pretends VCC is off and ignores the modem. */
void cardem_enable(struct cardem *c, bool enabled);
/* The modem drives its SIM lines. */
void cardem_lines(struct cardem *c, bool vcc, bool clk, bool rst);
/* The modem sends bytes. */
void cardem_modem_bytes(struct cardem *c, const u8 *bytes, size_t len);
/* The current status, CARDEM_STATUS_* */
u32 cardem_status(const struct cardem *c);

/*
 * Host transmissions. cardem_tx_now(): one may go out now (the card waits
 * for a procedure byte, data or status word). cardem_tx_void(): one would be
 * dropped now (no TPDU under way: the firmware drops TX_DATA outside the
 * PPS and TPDU states). Otherwise it waits in the host's queue.
 */
bool cardem_tx_now(const struct cardem *c);
bool cardem_tx_void(const struct cardem *c);
/* Sends tx when cardem_tx_now(), else drops (and counts) it. */
void cardem_host_tx(struct cardem *c, const struct t0_tx *tx);

/* NULL procedure bytes: when, and one now. */
bool cardem_waiting_host(const struct cardem *c);
void cardem_null(struct cardem *c);

/* ISO 7816-3 tables: F and D for an index, 0 for a reserved one. */
u32 cardem_f(u8 fi);
u32 cardem_d(u8 di);

#endif /* _REMSIM_CARDEM_H */
