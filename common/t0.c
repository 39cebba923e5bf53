// SPDX-License-Identifier: GPL-2.0
/*
 * t0.c - the host side of T=0, see t0.h.
 */
#include <linux/remsim_dev.h>

#include "t0.h"

#define SW_WRONG_LENGTH		0x6700
#define SW_WRONG_LE		0x6c00	/* low byte: the length there is */
#define SW_INS_UNKNOWN		0x6d00
#define SW_TECHNICAL_PROBLEM	0x6f00

void t0_init(struct t0 *t)
{
	memset(t, 0, sizeof(*t));
}

static void res_clear(struct t0_result *res)
{
	res->actions = 0;
	res->error = 0;
	res->sw = 0;
	res->tx.flags = 0;
	res->tx.len = 0;
}

static void tx_sw(struct t0_result *res, u16 sw)
{
	res->actions |= T0_DO_TX;
	res->tx.flags = T0_TX_FINAL;
	res->tx.data[0] = sw >> 8;
	res->tx.data[1] = sw & 0xff;
	res->tx.len = 2;
}

/* The current command ends with a status word of ours, not the card's. */
static void fail_with_sw(struct t0 *t, struct t0_result *res, u32 error, u16 sw)
{
	res->error = error;
	res->sw = sw;
	tx_sw(res, sw);
	t->state = T0_IDLE;
	t->prev_valid = false;
}

void t0_reset(struct t0 *t, struct t0_result *res)
{
	res_clear(res);
	if (t->state == T0_WAIT_OWNER)
		res->actions |= T0_DO_ABORT;
	/*
	 * Command data still to come stay expected. A board reports line
	 * changes on another endpoint than TPDU data, with no order between
	 * the two, so the reset may be reported after the header the modem
	 * sent once it was over; forgetting that header would leave the board
	 * waiting for our answer to its data forever. If the reset did come
	 * last, the modem's next word is a header, which starts over.
	 */
	if (t->state == T0_RX_DATA)
		t->reset_in_data = true;
	else
		t->state = T0_IDLE;
	t->prev_valid = false;
}

bool t0_lines_reset(u32 before, u32 after)
{
	u32 changed = before ^ after;

	return ((changed & REMSIM_SIG_RST) && (after & REMSIM_SIG_RST)) ||
	       ((changed & REMSIM_SIG_VCC) && !(after & REMSIM_SIG_VCC));
}

static u8 case_of(const struct t0 *t, const u8 hdr[T0_HDR_LEN])
{
	if (t->prev_valid && t->prev_sw1 == 0x6c && t->prev_case >= 1 &&
	    t->prev_case <= 3 && !memcmp(t->prev_hdr, hdr, 4))
		return t->prev_case;
	return t0_apdu_case(hdr);
}

static void deliver(struct t0 *t, struct t0_result *res)
{
	t->state = T0_WAIT_OWNER;
	res->actions |= T0_DO_DELIVER;
}

void t0_header(struct t0 *t, const u8 hdr[T0_HDR_LEN], struct t0_result *res)
{
	struct t0_apdu *a = &t->cur;
	u8 p3 = hdr[4];

	res_clear(res);
	if (t->state != T0_IDLE) {
		/*
		 * The modem starts over: it missed our answer, or we missed
		 * its reset. What was going on is dead. After a reset in the
		 * data phase that is what we expect.
		 */
		if (t->state == T0_WAIT_OWNER)
			res->actions |= T0_DO_ABORT;
		if (!(t->state == T0_RX_DATA && t->reset_in_data))
			res->error = REMSIM_ERR_PROTOCOL;
		t->state = T0_IDLE;
	}
	t->reset_in_data = false;

	memcpy(a->tpdu, hdr, T0_HDR_LEN);
	a->apdu_case = case_of(t, hdr);
	a->lc = 0;
	a->le = 0;
	t->rx_len = 0;

	switch (a->apdu_case) {
	case 1:
		deliver(t, res);
		break;
	case 2:
		a->le = p3 ? p3 : T0_LE_MAX;
		deliver(t, res);
		break;
	case 3:
	case 4:
		a->lc = p3;
		if (!p3) {
			deliver(t, res);
			break;
		}
		/* Ask for the data: the procedure byte is INS. */
		t->state = T0_RX_DATA;
		res->actions |= T0_DO_TX;
		res->tx.flags = T0_TX_PB_AND_RX;
		res->tx.data[0] = hdr[1];
		res->tx.len = 1;
		break;
	default:
		/*
		 * We cannot tell whether the modem would send data or wait
		 * for them; guessing wrong hangs it. A card that does not know
		 * an instruction answers 6D00, and so do we.
		 */
		fail_with_sw(t, res, REMSIM_ERR_UNKNOWN_INS, SW_INS_UNKNOWN);
		break;
	}
}

void t0_data(struct t0 *t, const u8 *data, size_t len, struct t0_result *res)
{
	struct t0_apdu *a = &t->cur;

	res_clear(res);
	if (t->state != T0_RX_DATA) {
		/* Data nobody asked for: the board is out of step. */
		res->error = REMSIM_ERR_PROTOCOL;
		return;
	}
	if (len > (size_t)(a->lc - t->rx_len)) {
		fail_with_sw(t, res, REMSIM_ERR_PROTOCOL, SW_WRONG_LENGTH);
		return;
	}
	memcpy(a->tpdu + T0_HDR_LEN + t->rx_len, data, len);
	t->rx_len += len;
	if (t->rx_len == a->lc)
		deliver(t, res);
}

/* SW1 values ISO 7816-3 allows: 6X but 60 (the NULL byte), and 9X. */
static bool sw1_valid(u8 sw1)
{
	return ((sw1 & 0xf0) == 0x60 && sw1 != 0x60) || (sw1 & 0xf0) == 0x90;
}

static void remember(struct t0 *t, u8 sw1)
{
	memcpy(t->prev_hdr, t->cur.tpdu, 4);
	t->prev_case = t->cur.apdu_case;
	t->prev_sw1 = sw1;
	t->prev_valid = true;
}

int t0_response(struct t0 *t, const u8 *resp, size_t len, struct t0_result *res)
{
	struct t0_apdu *a = &t->cur;
	size_t ndata;
	u8 sw1;

	if (t->state != T0_WAIT_OWNER)
		return -ESTALE;
	if (len < 2 || len > T0_LE_MAX + 2 || !sw1_valid(resp[len - 2]))
		return -EINVAL;

	res_clear(res);
	ndata = len - 2;
	sw1 = resp[len - 2];
	t->state = T0_IDLE;

	if (!ndata) {
		/* A status word alone is a valid answer in every case. */
		tx_sw(res, (resp[0] << 8) | resp[1]);
		remember(t, sw1);
		return 0;
	}
	if (a->apdu_case != 2) {
		/* T=0 has no way to send data here (case 4 uses 61xx). */
		fail_with_sw(t, res, REMSIM_ERR_RESPONSE_DATA, SW_TECHNICAL_PROBLEM);
		return 0;
	}
	if (ndata != a->le) {
		/* What a T=0 card says when Le is wrong: 6C and the length. */
		fail_with_sw(t, res, REMSIM_ERR_RESPONSE_LENGTH, SW_WRONG_LE | (ndata & 0xff));
		/* The modem will repeat the command with P3 = that length. */
		memcpy(t->prev_hdr, a->tpdu, 4);
		t->prev_case = a->apdu_case;
		t->prev_sw1 = 0x6c;
		t->prev_valid = true;
		return 0;
	}
	/* INS acknowledges, then the data and the status word at once. */
	res->actions |= T0_DO_TX;
	res->tx.flags = T0_TX_PB_AND_TX | T0_TX_FINAL;
	res->tx.data[0] = a->tpdu[1];
	memcpy(res->tx.data + 1, resp, len);
	res->tx.len = 1 + len;
	remember(t, sw1);
	return 0;
}

void t0_give_up(struct t0 *t, u32 error, struct t0_result *res)
{
	res_clear(res);
	if (t->state != T0_WAIT_OWNER)
		return;
	fail_with_sw(t, res, error, SW_TECHNICAL_PROBLEM);
}
