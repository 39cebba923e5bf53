// SPDX-License-Identifier: GPL-2.0
/*
 * usb_ops.c - what the slot core asks of a SIMtrace2-family board (struct
 * remsim_backend_ops): send what is queued for the modem, resubmit the IN
 * URBs once the owner made room, and the control requests (ATR, card
 * insert, modem reset, SIM select), each sent and waited for through
 * usb_io.c.
 */
#include "usb_int.h"

static void st2_tx_ready(struct remsim_slot *slot)
{
	st2_pump(remsim_slot_priv(slot));
}

static void st2_up_room(struct remsim_slot *slot)
{
	st2_unpark(remsim_slot_priv(slot));
}

/*
 * What the owner sets is also kept here: a board that rebooted (reset,
 * suspend) gets it again. Kept once the board took it, as the slot core
 * keeps it once the op succeeded.
 */
static int st2_set_atr(struct remsim_slot *slot, const u8 *atr, unsigned int len)
{
	struct st2 *st2 = remsim_slot_priv(slot);
	u8 buf[ST2_HDR_LEN + 1 + REMSIM_ATR_MAX];
	int ret;

	mutex_lock(&st2->io_mutex);
	ret = st2_send_ctrl(st2, buf, st2_msg_set_atr(buf, atr, len), -1);
	if (!ret) {
		memcpy(st2->atr, atr, len);
		st2->atr_len = len;
	}
	mutex_unlock(&st2->io_mutex);
	return ret;
}

static int st2_card_insert(struct remsim_slot *slot, bool inserted)
{
	struct st2 *st2 = remsim_slot_priv(slot);
	u8 buf[ST2_HDR_LEN + 1];
	int ret;

	mutex_lock(&st2->io_mutex);
	ret = st2_send_ctrl(st2, buf, st2_msg_card_insert(buf, inserted), inserted);
	if (!ret)
		st2->card_inserted = inserted;
	mutex_unlock(&st2->io_mutex);
	return ret;
}

static int st2_modem_reset(struct remsim_slot *slot, u32 action, u32 pulse_ms)
{
	struct st2 *st2 = remsim_slot_priv(slot);
	u8 buf[ST2_HDR_LEN + 3];
	size_t n = st2_msg_modem_reset(buf, action, pulse_ms);
	int ret;

	mutex_lock(&st2->io_mutex);
	ret = st2_send_ctrl(st2, buf, n, -1);
	mutex_unlock(&st2->io_mutex);
	return ret;
}

static int st2_sim_select(struct remsim_slot *slot, bool remote)
{
	struct st2 *st2 = remsim_slot_priv(slot);
	u8 buf[ST2_HDR_LEN + 1];
	int ret;

	mutex_lock(&st2->io_mutex);
	ret = st2_send_ctrl(st2, buf, st2_msg_sim_select(buf, remote), -1);
	if (!ret)
		st2->sim_remote = remote;
	mutex_unlock(&st2->io_mutex);
	return ret;
}

const struct remsim_backend_ops st2_ops = {
	.tx_ready	= st2_tx_ready,
	.up_room	= st2_up_room,
	.set_atr	= st2_set_atr,
	.card_insert	= st2_card_insert,
	.modem_reset	= st2_modem_reset,
	.sim_select	= st2_sim_select,
};
