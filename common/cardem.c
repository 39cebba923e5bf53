// SPDX-License-Identifier: GPL-2.0
/*
 * cardem.c - the card side of T=0, see cardem.h. The behaviour follows the
 * SIMtrace2 cardem firmware, as Documentation/simulation.rst sums it up.
 */
#include "atr.h"
#include "cardem.h"
#include "st2_proto.h"

#define WI_DEFAULT	10
#define PPSS		0xff
#define NULL_BYTE	0x60

/* ISO 7816-3 table 7 (F) and table 8 (D); D index 10 and up are the old ones. */
static const u16 f_table[16] = {
	372, 372, 558, 744, 1116, 1488, 1860, 0, 0, 512, 768, 1024, 1536, 2048, 0, 0,
};
static const u8 d_table[16] = {
	0, 1, 2, 4, 8, 16, 32, 64, 12, 20, 2, 4, 8, 16, 32, 64,
};

u32 cardem_f(u8 fi)
{
	return fi < 16 ? f_table[fi] : 0;
}

u32 cardem_d(u8 di)
{
	return di < 16 ? d_table[di] : 0;
}

/* WT = WI x 960 x D, D of the table for index 1..9, else 1. */
static void update_wt(struct cardem *c)
{
	u32 d = (c->di >= 1 && c->di <= 9) ? d_table[c->di] : 1;

	c->wt = (u32)c->wi * 960 * d;
}

static void set_timing_defaults(struct cardem *c)
{
	c->fi = 1;
	c->di = 1;
	c->wi = WI_DEFAULT;
	update_wt(c);
}

void cardem_init(struct cardem *c, const struct cardem_ops *ops, void *ctx)
{
	static const u8 default_atr[ST2_DEFAULT_ATR_LEN] = ST2_DEFAULT_ATR;

	memset(c, 0, sizeof(*c));
	c->ops = ops;
	c->ctx = ctx;
	c->state = CARDEM_WAIT_POWER;
	memcpy(c->atr, default_atr, sizeof(default_atr));
	c->atr_len = sizeof(default_atr);
	set_timing_defaults(c);
}

void cardem_set_atr(struct cardem *c, const u8 *atr, size_t len)
{
	if (len > sizeof(c->atr))
		return;			/* the firmware ignores it too */
	memcpy(c->atr, atr, len);
	c->atr_len = len;
}

u32 cardem_status(const struct cardem *c)
{
	return (c->eff_vcc ? CARDEM_STATUS_VCC : 0) |
	       (c->eff_clk ? CARDEM_STATUS_CLK : 0) |
	       (c->eff_rst ? CARDEM_STATUS_RST : 0);
}

static void flush(struct cardem *c)
{
	c->rx_len = 0;
	c->rx_want = 0;
	c->pps_len = 0;
	c->pb_and_rx = false;
}

static void send_atr(struct cardem *c)
{
	c->state = CARDEM_IN_ATR;
	set_timing_defaults(c);
	c->ops->to_modem(c->ctx, c->atr, c->atr_len);
	/* After the last byte: WI from TC2, the TPDU layer waits. */
	c->wi = atr_wi(c->atr, c->atr_len);
	update_wt(c);
	c->state = CARDEM_WAIT_TPDU;
	c->sub = CARDEM_T_WAIT_CLA;
}

/* The lines as the card sees them: a disabled slot sees no power, no reset. */
static void apply_lines(struct cardem *c)
{
	bool vcc = c->enabled && c->vcc;
	bool clk = c->enabled && c->vcc && c->clk;
	bool rst = c->enabled && c->rst;
	bool changed = vcc != c->eff_vcc || clk != c->eff_clk || rst != c->eff_rst;

	if (!vcc && c->eff_vcc) {
		flush(c);
		c->state = CARDEM_WAIT_POWER;
	} else if (vcc && !c->eff_vcc) {
		c->state = CARDEM_WAIT_CLK;
	}
	if (clk && c->state == CARDEM_WAIT_CLK)
		c->state = CARDEM_WAIT_RST;
	if (rst && !c->eff_rst) {
		flush(c);
		if (c->state > CARDEM_WAIT_RST)
			c->state = CARDEM_WAIT_RST;
	}
	c->eff_vcc = vcc;
	c->eff_clk = clk;
	c->eff_rst = rst;
	if (changed)
		c->ops->status(c->ctx, cardem_status(c));

	/* Power, clock, reset released: answer to reset (any WAIT_* order). */
	if (vcc && clk && !rst && c->state <= CARDEM_WAIT_RST) {
		c->state = CARDEM_WAIT_ATR;
		send_atr(c);
	}
}

void cardem_enable(struct cardem *c, bool enabled)
{
	c->enabled = enabled;
	apply_lines(c);
}

void cardem_lines(struct cardem *c, bool vcc, bool clk, bool rst)
{
	c->vcc = vcc;
	c->clk = clk;
	c->rst = rst;
	apply_lines(c);
}

static void pps_byte(struct cardem *c, u8 b)
{
	u8 pck = 0, fi, di;
	unsigned int i;

	c->pps[c->pps_len++] = b;
	if (c->pps_len == 2) {
		/* PPS0 announces PPS1..3 in bits 4..6; PCK closes. */
		c->pps_want = 2 + !!(b & 0x10) + !!(b & 0x20) + !!(b & 0x40) + 1;
		return;
	}
	if (c->pps_len < 2 || c->pps_len < c->pps_want)
		return;

	for (i = 0; i < c->pps_len; i++)
		pck ^= c->pps[i];
	c->state = CARDEM_WAIT_TPDU;
	c->sub = CARDEM_T_WAIT_CLA;
	if (pck) {
		/* A broken request gets no answer, the modem times out. */
		c->pps_bad++;
		c->pps_len = 0;
		return;
	}
	fi = c->fi;
	di = c->di;
	if (c->pps[1] & 0x10) {
		fi = c->pps[2] >> 4;
		di = c->pps[2] & 0x0f;
	}
	/* The host hears of it before the modem gets the echo. */
	c->ops->pts(c->ctx, c->pps, c->pps_len, fi, di);
	c->ops->to_modem(c->ctx, c->pps, c->pps_len);
	if (cardem_f(fi) && cardem_d(di)) {
		c->fi = fi;
		c->di = di;
		update_wt(c);
	}
	c->pps_len = 0;
}

static void tpdu_byte(struct cardem *c, u8 b)
{
	switch (c->sub) {
	case CARDEM_T_WAIT_CLA:
	case CARDEM_T_WAIT_INS:
	case CARDEM_T_WAIT_P1:
	case CARDEM_T_WAIT_P2:
		c->hdr[c->sub - CARDEM_T_WAIT_CLA] = b;
		c->sub++;
		break;
	case CARDEM_T_WAIT_P3:
		c->hdr[4] = b;
		c->sub = CARDEM_T_WAIT_PB;
		c->ops->rx_header(c->ctx, c->hdr);
		break;
	case CARDEM_T_WAIT_RX:
		c->rx[c->rx_len++] = b;
		if (c->rx_len == c->rx_want) {
			c->sub = CARDEM_T_WAIT_TX;
			c->ops->rx_data(c->ctx, c->rx, c->rx_len);
			c->rx_len = 0;
		}
		break;
	case CARDEM_T_WAIT_PB:
	case CARDEM_T_WAIT_TX:
		/* The card has the turn; a modem talking now is lost. */
		c->bytes_ignored++;
		break;
	}
}

void cardem_modem_bytes(struct cardem *c, const u8 *bytes, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		u8 b = bytes[i];

		switch (c->state) {
		case CARDEM_WAIT_TPDU:
			if (b == PPSS) {
				c->state = CARDEM_IN_PTS;
				c->pps_len = 0;
				c->pps_want = 0;
				pps_byte(c, b);
			} else {
				c->state = CARDEM_IN_TPDU;
				c->sub = CARDEM_T_WAIT_CLA;
				tpdu_byte(c, b);
			}
			break;
		case CARDEM_IN_PTS:
			pps_byte(c, b);
			break;
		case CARDEM_IN_TPDU:
			tpdu_byte(c, b);
			break;
		default:
			c->bytes_ignored++;
			break;
		}
	}
}

bool cardem_tx_now(const struct cardem *c)
{
	return c->state == CARDEM_IN_TPDU &&
	       (c->sub == CARDEM_T_WAIT_PB || c->sub == CARDEM_T_WAIT_TX);
}

bool cardem_tx_void(const struct cardem *c)
{
	return c->state != CARDEM_IN_PTS && c->state != CARDEM_WAIT_TPDU &&
	       c->state != CARDEM_IN_TPDU;
}

void cardem_host_tx(struct cardem *c, const struct t0_tx *tx)
{
	if (!cardem_tx_now(c) || !tx->len) {
		c->tx_dropped++;
		return;
	}
	if (c->sub == CARDEM_T_WAIT_PB) {
		/* The first byte is the procedure byte: it decides what follows. */
		if (tx->flags & T0_TX_PB_AND_RX)
			c->sub = CARDEM_T_WAIT_RX;
		else if (tx->flags & T0_TX_PB_AND_TX)
			c->sub = CARDEM_T_WAIT_TX;
	}
	c->ops->to_modem(c->ctx, tx->data, tx->len);

	if (tx->flags & T0_TX_PB_AND_RX) {
		/* Then P3 command bytes, P3 taken as it is. */
		c->sub = CARDEM_T_WAIT_RX;
		c->rx_len = 0;
		c->rx_want = c->hdr[4];
		if (!c->rx_want) {
			c->sub = CARDEM_T_WAIT_TX;
			c->ops->rx_data(c->ctx, c->rx, 0);
		}
	} else if (tx->flags & T0_TX_FINAL) {
		c->state = CARDEM_WAIT_TPDU;
		c->sub = CARDEM_T_WAIT_CLA;
	}
}

bool cardem_waiting_host(const struct cardem *c)
{
	return cardem_tx_now(c);
}

void cardem_null(struct cardem *c)
{
	static const u8 null_byte = NULL_BYTE;

	if (cardem_waiting_host(c))
		c->ops->to_modem(c->ctx, &null_byte, 1);
}
