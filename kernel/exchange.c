// SPDX-License-Identifier: GPL-2.0
/*
 * exchange.c - a slot's exchange with the modem: what the backend reports
 * goes through the T=0 engine (t0.c) into the owner's queue, what the owner
 * writes goes through it into the queue towards the modem.
 *
 * Everything here that touches the queues, the engine or the counters runs
 * under slot->lock, which backends take from any context. What must not
 * happen under it - netlink notifications, calling the backend - is
 * collected in a struct xchg_after and done once the lock is dropped.
 *
 * The rules that keep an APDU from being lost or delivered twice:
 * - an APDU the owner has not read yet is removed when it can no longer be
 *   answered (modem reset, time-out): the card never saw it;
 * - an APDU the owner has read is answered exactly once: by the owner, or
 *   with 6F00 when the owner closes without answering, or at the time-out;
 *   a later response fails with ESTALE and reaches nobody;
 * - everything else that goes wrong gets a counted REMSIM_MSG_ERROR.
 */
#include <linux/jiffies.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>

#include "remsim.h"

/* Work for after the slot lock. */
struct xchg_after {
	u32	nl_error;		/* enum remsim_error_code to notify */
	bool	nl_signal;
	u32	sig_state;
	u32	sig_changed;
	bool	room;			/* the owner made room: ops->up_room */
};

static void after(struct remsim_slot *slot, const struct xchg_after *a)
{
	if (a->nl_signal)
		remsim_nl_signal_event(slot, a->sig_state, a->sig_changed);
	if (a->nl_error)
		remsim_nl_error_event(slot, a->nl_error);
}

/* --- the queue to the owner ------------------------------------------------ */

static struct remsim_msg *up_new(u16 type, u32 len, bool oob)
{
	struct remsim_msg *msg = remsim_msg_alloc(GFP_ATOMIC);

	if (!msg)
		return NULL;
	msg->hdr.type = type;
	msg->hdr.len = len;
	msg->hdr.timestamp_ns = ktime_get_ns();
	msg->oob = oob;
	return msg;
}

static void up_queue(struct remsim_slot *slot, struct remsim_msg *msg)
{
	lockdep_assert_held(&slot->lock);
	msg->hdr.seq = ++slot->seq;
	list_add_tail(&msg->node, &slot->up);
	slot->up_len++;
	if (msg->oob)
		slot->up_oob++;
	if (slot->up_len > slot->stats.up_peak)
		slot->stats.up_peak = slot->up_len;
	slot->stats.bytes_up += msg->hdr.len;
	wake_up_interruptible(&slot->read_wait);
}

static void up_unlink(struct remsim_slot *slot, struct remsim_msg *msg)
{
	lockdep_assert_held(&slot->lock);
	list_del_init(&msg->node);
	slot->up_len--;
	if (msg->oob)
		slot->up_oob--;
}

/* Queues a message with a fixed payload; a failed allocation is counted. */
static void up_queue_copy(struct remsim_slot *slot, u16 type, const void *payload,
			  u32 len, bool oob)
{
	struct remsim_msg *msg = up_new(type, len, oob);

	lockdep_assert_held(&slot->lock);
	if (!msg) {
		slot->stats.errors++;
		dev_err_ratelimited(&slot->dev, "out of memory, message %u lost\n", type);
		return;
	}
	memcpy(msg->payload, payload, len);
	up_queue(slot, msg);
}

static void up_error(struct remsim_slot *slot, struct xchg_after *a, u32 code,
		     u16 sw, u64 ref_seq)
{
	struct remsim_error err = {
		.code = code,
		.sw = sw,
		.ref_seq = ref_seq,
	};

	lockdep_assert_held(&slot->lock);
	slot->stats.errors++;
	switch (code) {
	case REMSIM_ERR_PROTOCOL:
	case REMSIM_ERR_UNKNOWN_INS:
		slot->stats.protocol_errors++;
		break;
	case REMSIM_ERR_RESPONSE_LENGTH:
	case REMSIM_ERR_RESPONSE_DATA:
		slot->stats.response_errors++;
		break;
	}
	up_queue_copy(slot, REMSIM_MSG_ERROR, &err, sizeof(err), true);
	a->nl_error = code;
}

/*
 * Line changes are never held back: the backend reports them at once (the
 * USB driver never parks its interrupt URB), because the engine must see a
 * reset before the command the modem sends after it. So that an owner who
 * does not read cannot make them cost memory, a change that finds the queue
 * full and the newest unread message a SIGNALS one is merged into it: the
 * state becomes the new one and @changed collects every line that moved. A
 * line in @changed whose state is back where it was pulsed.
 */
static void up_queue_signals(struct remsim_slot *slot, const struct remsim_signals *sig)
{
	struct remsim_msg *tail = list_empty(&slot->up) ? NULL :
				  list_last_entry(&slot->up, struct remsim_msg, node);

	lockdep_assert_held(&slot->lock);
	if (slot->up_len >= remsim_queue_depth && tail &&
	    tail->hdr.type == REMSIM_MSG_SIGNALS) {
		struct remsim_signals *old = (struct remsim_signals *)tail->payload;
		u32 changed = old->changed | sig->changed;

		*old = *sig;
		old->changed = changed;
		slot->stats.signals_merged++;
		return;
	}
	up_queue_copy(slot, REMSIM_MSG_SIGNALS, sig, sizeof(*sig), true);
}

/* --- the queue to the modem -------------------------------------------------- */

static void down_queue(struct remsim_slot *slot, const struct t0_tx *tx)
{
	struct remsim_msg *msg = remsim_msg_alloc(GFP_ATOMIC);

	lockdep_assert_held(&slot->lock);
	if (!msg) {
		slot->stats.errors++;
		dev_err_ratelimited(&slot->dev, "out of memory, transmission lost\n");
		return;
	}
	msg->tx.flags = tx->flags;
	msg->tx.len = tx->len;
	memcpy(msg->tx.data, tx->data, tx->len);
	list_add_tail(&msg->node, &slot->down);
	slot->down_len++;
	if (slot->down_len > slot->stats.down_peak)
		slot->stats.down_peak = slot->down_len;
}

static void down_flush(struct remsim_slot *slot)
{
	struct remsim_msg *msg, *tmp;

	lockdep_assert_held(&slot->lock);
	list_for_each_entry_safe(msg, tmp, &slot->down, node) {
		list_del(&msg->node);
		remsim_msg_free(msg);
	}
	slot->down_len = 0;
	wake_up_interruptible(&slot->write_wait);
}

int remsim_slot_tx_pop(struct remsim_slot *slot, struct t0_tx *tx)
{
	struct remsim_msg *msg;
	unsigned long flags;

	spin_lock_irqsave(&slot->lock, flags);
	msg = list_first_entry_or_null(&slot->down, struct remsim_msg, node);
	if (slot->dead || !msg) {
		spin_unlock_irqrestore(&slot->lock, flags);
		return -EAGAIN;
	}
	list_del(&msg->node);
	slot->down_len--;
	wake_up_interruptible(&slot->write_wait);
	spin_unlock_irqrestore(&slot->lock, flags);

	tx->flags = msg->tx.flags;
	tx->len = msg->tx.len;
	memcpy(tx->data, msg->tx.data, msg->tx.len);
	remsim_msg_free(msg);
	return 0;
}
EXPORT_SYMBOL_GPL(remsim_slot_tx_pop);

/* --- the T=0 engine's results ---------------------------------------------- */

/*
 * The APDU waiting for an answer will get none: unread, it goes (the card
 * never saw it); read, the owner learns that its answer would be refused.
 */
static void abort_apdu(struct remsim_slot *slot, struct xchg_after *a)
{
	lockdep_assert_held(&slot->lock);
	if (!slot->apdu_seq)
		return;
	slot->stats.aborted++;
	if (slot->apdu_msg) {
		up_unlink(slot, slot->apdu_msg);
		remsim_msg_free(slot->apdu_msg);
		slot->apdu_msg = NULL;
	} else {
		up_error(slot, a, REMSIM_ERR_ABORTED, 0, slot->apdu_seq);
	}
	slot->apdu_seq = 0;
}

static void deliver_apdu(struct remsim_slot *slot)
{
	const struct t0_apdu *cur = &slot->t0.cur;
	u32 tpdu_len = T0_HDR_LEN + cur->lc;
	struct remsim_apdu *apdu;
	struct remsim_msg *msg;

	lockdep_assert_held(&slot->lock);
	msg = up_new(REMSIM_MSG_APDU, sizeof(*apdu) + tpdu_len, false);
	if (!msg) {
		/*
		 * The modem waits for an answer that cannot come: tell it as
		 * the owner would have been told, so that it retries.
		 */
		struct t0_result res;

		dev_err_ratelimited(&slot->dev, "out of memory, APDU refused\n");
		slot->stats.errors++;
		t0_give_up(&slot->t0, REMSIM_ERR_TIMEOUT, &res);
		if (res.actions & T0_DO_TX)
			down_queue(slot, &res.tx);
		return;
	}
	apdu = (struct remsim_apdu *)msg->payload;
	memset(apdu, 0, sizeof(*apdu));
	apdu->apdu_case = cur->apdu_case;
	apdu->lc = cur->lc;
	apdu->le = cur->le;
	memcpy(apdu->tpdu, cur->tpdu, tpdu_len);
	up_queue(slot, msg);
	slot->apdu_msg = msg;
	slot->apdu_seq = msg->hdr.seq;
	slot->apdu_since = jiffies;
	slot->apdu_queued_ns = msg->hdr.timestamp_ns;
	slot->stats.apdus++;
	if (remsim_apdu_timeout_ms)
		mod_delayed_work(system_wq, &slot->timeout_work,
				 msecs_to_jiffies(remsim_apdu_timeout_ms));
}

static void apply(struct remsim_slot *slot, const struct t0_result *res,
		  struct xchg_after *a)
{
	u64 waiting = slot->apdu_seq;

	lockdep_assert_held(&slot->lock);
	if (res->actions & T0_DO_ABORT)
		abort_apdu(slot, a);
	if (res->error) {
		/* Errors about an answer name the APDU answered. */
		bool about_answer = res->error != REMSIM_ERR_PROTOCOL &&
				    res->error != REMSIM_ERR_UNKNOWN_INS;

		up_error(slot, a, res->error, res->sw, about_answer ? waiting : 0);
	}
	if (res->actions & T0_DO_TX)
		down_queue(slot, &res->tx);
	if (res->actions & T0_DO_DELIVER)
		deliver_apdu(slot);
}

/*
 * Counts one latency in its log2 bucket: bucket i holds (2^(S+i-1),
 * 2^(S+i)] ns for S = REMSIM_LAT_MIN_SHIFT, the last everything above.
 */
static void latency_add(struct remsim_latency *lat, u64 ns)
{
	unsigned int i = ns ? fls64((ns - 1) >> REMSIM_LAT_MIN_SHIFT) : 0;

	if (i >= REMSIM_LAT_BUCKETS)
		i = REMSIM_LAT_BUCKETS - 1;
	lat->buckets[i]++;
	lat->count++;
	lat->sum_ns += ns;
}

/* The engine answered the waiting APDU (the owner, a give-up). */
static void answered(struct remsim_slot *slot)
{
	lockdep_assert_held(&slot->lock);
	if (slot->apdu_msg) {
		/* Only a give-up answers an unread APDU: it goes unseen. */
		up_unlink(slot, slot->apdu_msg);
		remsim_msg_free(slot->apdu_msg);
		slot->apdu_msg = NULL;
	}
	slot->apdu_seq = 0;
}

/* --- what the backend reports ------------------------------------------------- */

bool remsim_slot_up_room(struct remsim_slot *slot)
{
	unsigned long flags;
	bool room;

	spin_lock_irqsave(&slot->lock, flags);
	room = !slot->dead && slot->up_len < remsim_queue_depth;
	if (!room && !slot->dead && !slot->up_full_seen) {
		slot->up_full_seen = true;
		slot->stats.up_backpressure++;
	}
	spin_unlock_irqrestore(&slot->lock, flags);
	return room;
}
EXPORT_SYMBOL_GPL(remsim_slot_up_room);

void remsim_slot_rx_header(struct remsim_slot *slot, const u8 hdr[T0_HDR_LEN])
{
	struct xchg_after a = {};
	struct t0_result res;
	unsigned long flags;

	spin_lock_irqsave(&slot->lock, flags);
	if (slot->dead)
		goto out;
	if (slot->mode == REMSIM_MODE_RAW) {
		up_queue_copy(slot, REMSIM_MSG_TPDU_HEADER, hdr, T0_HDR_LEN, false);
		slot->stats.apdus++;
		slot->raw_busy = true;
		goto out;
	}
	t0_header(&slot->t0, hdr, &res);
	apply(slot, &res, &a);
out:
	spin_unlock_irqrestore(&slot->lock, flags);
	after(slot, &a);
}
EXPORT_SYMBOL_GPL(remsim_slot_rx_header);

void remsim_slot_rx_data(struct remsim_slot *slot, const u8 *data, size_t len)
{
	struct xchg_after a = {};
	struct t0_result res;
	unsigned long flags;

	spin_lock_irqsave(&slot->lock, flags);
	if (slot->dead)
		goto out;
	if (len > T0_LC_MAX) {
		slot->stats.board_errors++;
		up_error(slot, &a, REMSIM_ERR_BOARD, 0, 0);
		goto out;
	}
	if (slot->mode == REMSIM_MODE_RAW) {
		up_queue_copy(slot, REMSIM_MSG_TPDU_DATA, data, len, false);
		goto out;
	}
	t0_data(&slot->t0, data, len, &res);
	apply(slot, &res, &a);
out:
	spin_unlock_irqrestore(&slot->lock, flags);
	after(slot, &a);
}
EXPORT_SYMBOL_GPL(remsim_slot_rx_data);

void remsim_slot_signals(struct remsim_slot *slot, const struct remsim_signals *sig)
{
	struct remsim_signals *cur = &slot->signals;
	struct xchg_after a = {};
	struct t0_result res;
	unsigned long flags;
	u32 state = sig->state & __REMSIM_SIG_ALL;
	u32 changed, before;

	spin_lock_irqsave(&slot->lock, flags);
	if (slot->dead)
		goto out;
	before = cur->state;
	changed = before ^ state;
	cur->state = state;
	cur->changed = changed;
	cur->voltage_mv = sig->voltage_mv;
	cur->fi = sig->fi;
	cur->di = sig->di;
	cur->wi = sig->wi;
	cur->waiting_time = sig->waiting_time;
	if (!changed)
		goto out;

	/*
	 * Reset asserted or power gone: the exchange in progress is over,
	 * and what waited for the modem is void (the board flushes too).
	 */
	if (t0_lines_reset(before, state)) {
		if (state & REMSIM_SIG_RST)
			slot->stats.resets++;
		if ((changed & REMSIM_SIG_VCC) && !(state & REMSIM_SIG_VCC))
			slot->stats.power_cycles++;
		t0_reset(&slot->t0, &res);
		apply(slot, &res, &a);
		down_flush(slot);
		slot->raw_busy = false;
	}
	up_queue_signals(slot, cur);
	a.nl_signal = true;
	a.sig_state = state;
	a.sig_changed = changed;
out:
	spin_unlock_irqrestore(&slot->lock, flags);
	after(slot, &a);
}
EXPORT_SYMBOL_GPL(remsim_slot_signals);

void remsim_slot_pps(struct remsim_slot *slot, const struct remsim_pps *pps)
{
	unsigned long flags;

	spin_lock_irqsave(&slot->lock, flags);
	if (!slot->dead) {
		slot->stats.pps++;
		slot->signals.fi = pps->fi;
		slot->signals.di = pps->di;
		up_queue_copy(slot, REMSIM_MSG_PPS, pps, sizeof(*pps), true);
	}
	spin_unlock_irqrestore(&slot->lock, flags);
}
EXPORT_SYMBOL_GPL(remsim_slot_pps);

void remsim_slot_card_ack(struct remsim_slot *slot, bool inserted)
{
	struct remsim_card card = { .inserted = inserted };
	unsigned long flags;

	spin_lock_irqsave(&slot->lock, flags);
	if (!slot->dead)
		up_queue_copy(slot, REMSIM_MSG_CARD_INSERT, &card, sizeof(card), true);
	spin_unlock_irqrestore(&slot->lock, flags);
}
EXPORT_SYMBOL_GPL(remsim_slot_card_ack);

/* Counts a board error and reports it, unless a report is still unread. */
static void board_error_locked(struct remsim_slot *slot, struct xchg_after *a)
{
	struct remsim_msg *msg;

	slot->stats.board_errors++;
	/* A board spewing garbage gets one unread report, not a flood. */
	list_for_each_entry(msg, &slot->up, node) {
		if (msg->hdr.type == REMSIM_MSG_ERROR &&
		    ((struct remsim_error *)msg->payload)->code == REMSIM_ERR_BOARD)
			return;
	}
	up_error(slot, a, REMSIM_ERR_BOARD, 0, 0);
}

void remsim_slot_board_error(struct remsim_slot *slot)
{
	struct xchg_after a = {};
	unsigned long flags;

	spin_lock_irqsave(&slot->lock, flags);
	if (!slot->dead)
		board_error_locked(slot, &a);
	spin_unlock_irqrestore(&slot->lock, flags);
	after(slot, &a);
}
EXPORT_SYMBOL_GPL(remsim_slot_board_error);

/*
 * The board forgot everything (its firmware rebooted): whatever it held for
 * either side is gone. The exchange ends as with a modem reset - an unread
 * APDU is withdrawn, a read one reported aborted, so none can be answered
 * or delivered twice - and nothing that waited for the modem still goes.
 * The engine starts from scratch: no command data from before can come.
 */
void remsim_slot_board_reset(struct remsim_slot *slot)
{
	struct xchg_after a = {};
	struct t0_result res;
	unsigned long flags;

	spin_lock_irqsave(&slot->lock, flags);
	if (slot->dead)
		goto out;
	t0_reset(&slot->t0, &res);
	apply(slot, &res, &a);
	t0_init(&slot->t0);
	down_flush(slot);
	slot->raw_busy = false;
	board_error_locked(slot, &a);
out:
	spin_unlock_irqrestore(&slot->lock, flags);
	after(slot, &a);
}
EXPORT_SYMBOL_GPL(remsim_slot_board_reset);

/* --- what the owner does -------------------------------------------------- */

void remsim_xchg_init(struct remsim_slot *slot)
{
	t0_init(&slot->t0);
	/* What the board starts with: F and D index 1, WI 10, WT 9600 ETU. */
	slot->signals.fi = 1;
	slot->signals.di = 1;
	slot->signals.wi = 10;
	slot->signals.waiting_time = 9600;
}

bool remsim_xchg_read_locked(struct remsim_slot *slot, struct remsim_msg *msg)
{
	lockdep_assert_held(&slot->lock);
	up_unlink(slot, msg);
	if (msg == slot->apdu_msg)
		slot->apdu_msg = NULL;		/* delivered: must be answered */
	if (slot->up_full_seen && slot->up_len < remsim_queue_depth) {
		slot->up_full_seen = false;
		return true;
	}
	return false;
}

void remsim_xchg_unread_locked(struct remsim_slot *slot, struct remsim_msg *msg)
{
	lockdep_assert_held(&slot->lock);
	list_add(&msg->node, &slot->up);
	slot->up_len++;
	if (msg->oob)
		slot->up_oob++;
	/* Still waiting for its answer: unread again, withdrawable again. */
	if (msg->hdr.type == REMSIM_MSG_APDU && msg->hdr.seq == slot->apdu_seq)
		slot->apdu_msg = msg;
	wake_up_interruptible(&slot->read_wait);
}

/* Calls the backend to send what is queued, unless the slot is gone. */
static void kick_backend_locked(struct remsim_slot *slot)
{
	lockdep_assert_held(&slot->mutex);
	if (!slot->dead && slot->ops->tx_ready)
		slot->ops->tx_ready(slot);
}

static void kick_backend(struct remsim_slot *slot)
{
	mutex_lock(&slot->mutex);
	kick_backend_locked(slot);
	mutex_unlock(&slot->mutex);
}

static ssize_t write_response(struct remsim_slot *slot, const struct remsim_msg_hdr *hdr,
			      const u8 *payload, size_t len)
{
	struct xchg_after a = {};
	struct t0_result res;
	int ret;

	spin_lock_irq(&slot->lock);
	if (slot->dead) {
		ret = -ENODEV;
		goto out;
	}
	if (slot->mode != REMSIM_MODE_APDU) {
		ret = -EINVAL;
		goto out;
	}
	/* Only the APDU the owner read and nobody answered yet. */
	if (!hdr->seq || hdr->seq != slot->apdu_seq || slot->apdu_msg) {
		slot->stats.stale_responses++;
		ret = -ESTALE;
		goto out;
	}
	ret = t0_response(&slot->t0, payload, len, &res);
	if (ret) {
		if (ret == -ESTALE)
			slot->stats.stale_responses++;
		goto out;
	}
	apply(slot, &res, &a);
	answered(slot);
	/* The response is on its way to the board: the owner's time ends. */
	latency_add(&slot->latency, ktime_get_ns() - slot->apdu_queued_ns);
	slot->stats.responses++;
	slot->stats.bytes_down += len;
out:
	spin_unlock_irq(&slot->lock);
	after(slot, &a);
	if (ret)
		return ret;
	cancel_delayed_work(&slot->timeout_work);
	kick_backend(slot);
	return 0;
}

/* Raw mode: the owner's procedure byte, data or status word as they are. */
static ssize_t write_raw(struct remsim_slot *slot, const struct remsim_msg_hdr *hdr,
			 const u8 *payload, size_t len, bool nonblock)
{
	struct t0_tx tx = {};
	int ret;

	switch (hdr->type) {
	case REMSIM_MSG_TPDU_PROC:
		if (len != 1)
			return -EINVAL;
		tx.flags = T0_TX_PB_AND_RX;
		break;
	case REMSIM_MSG_TPDU_SEND:
		if (len < 1 || len > 1 + T0_LE_MAX)
			return -EINVAL;
		tx.flags = T0_TX_PB_AND_TX;
		break;
	case REMSIM_MSG_TPDU_STATUS:
		if (len != 2)
			return -EINVAL;
		tx.flags = T0_TX_FINAL;
		break;
	}
	tx.len = len;
	memcpy(tx.data, payload, len);

	for (;;) {
		spin_lock_irq(&slot->lock);
		if (slot->dead) {
			ret = -ENODEV;
			break;
		}
		if (slot->mode != REMSIM_MODE_RAW) {
			ret = -EINVAL;
			break;
		}
		if (slot->down_len < remsim_queue_depth) {
			down_queue(slot, &tx);
			if (tx.flags == T0_TX_FINAL) {
				slot->raw_busy = false;
				slot->stats.responses++;
			}
			slot->stats.bytes_down += len;
			ret = 0;
			break;
		}
		slot->stats.down_backpressure++;
		spin_unlock_irq(&slot->lock);
		if (nonblock)
			return -EAGAIN;
		ret = wait_event_interruptible(slot->write_wait,
					       READ_ONCE(slot->down_len) < remsim_queue_depth ||
					       READ_ONCE(slot->dead));
		if (ret)
			return ret;
	}
	spin_unlock_irq(&slot->lock);
	if (!ret)
		kick_backend(slot);
	return ret;
}

ssize_t remsim_xchg_write(struct remsim_slot *slot, const struct remsim_msg_hdr *hdr,
			  const u8 *payload, size_t len, bool nonblock)
{
	if (hdr->flags || hdr->timestamp_ns)
		return -EINVAL;
	switch (hdr->type) {
	case REMSIM_MSG_RESPONSE:
		return write_response(slot, hdr, payload, len);
	case REMSIM_MSG_TPDU_PROC:
	case REMSIM_MSG_TPDU_SEND:
	case REMSIM_MSG_TPDU_STATUS:
		if (hdr->seq)
			return -EINVAL;
		return write_raw(slot, hdr, payload, len, nonblock);
	}
	return -EINVAL;
}

/*
 * Raw mode's owner leaves in the middle of a TPDU: the modem waits for a
 * procedure byte or a status word that will not come, and gets 6F00.
 */
static void raw_give_up(struct remsim_slot *slot)
{
	struct t0_tx tx = {
		.flags = T0_TX_FINAL,
		.len = 2,
		.data = { 0x6f, 0x00 },
	};

	lockdep_assert_held(&slot->lock);
	if (!slot->raw_busy)
		return;
	down_queue(slot, &tx);
	slot->raw_busy = false;
	slot->stats.abandoned++;
}

void remsim_xchg_release(struct remsim_slot *slot)
{
	struct xchg_after a = {};
	struct t0_result res;
	bool kick = false;

	spin_lock_irq(&slot->lock);
	if (!slot->dead && slot->apdu_seq && !slot->apdu_msg) {
		/*
		 * Read, sent who knows where, never answered: sending it again
		 * to a card could run it twice. The modem gets 6F00 instead.
		 */
		t0_give_up(&slot->t0, REMSIM_ERR_ABANDONED, &res);
		apply(slot, &res, &a);
		answered(slot);
		slot->stats.abandoned++;
		kick = true;
	}
	/* The next owner starts in APDU mode. */
	if (!slot->dead && slot->mode != REMSIM_MODE_APDU) {
		kick = slot->raw_busy;
		raw_give_up(slot);
		slot->mode = REMSIM_MODE_APDU;
		t0_init(&slot->t0);
	}
	spin_unlock_irq(&slot->lock);
	after(slot, &a);
	if (kick)
		kick_backend(slot);
}

/* With slot->mutex held (the ioctl). */
int remsim_xchg_set_mode(struct remsim_slot *slot, u32 mode)
{
	struct xchg_after a = {};
	struct t0_result res;
	bool kick = false;

	lockdep_assert_held(&slot->mutex);
	spin_lock_irq(&slot->lock);
	if (slot->mode != mode) {
		/*
		 * Whatever was going on cannot continue in the other mode:
		 * the modem gets 6F00 for it and starts over.
		 */
		if (slot->apdu_seq) {
			t0_give_up(&slot->t0, REMSIM_ERR_ABANDONED, &res);
			apply(slot, &res, &a);
			answered(slot);
			slot->stats.abandoned++;
			kick = true;
		}
		kick |= slot->raw_busy;
		raw_give_up(slot);
		t0_init(&slot->t0);
		slot->mode = mode;
	}
	spin_unlock_irq(&slot->lock);
	after(slot, &a);
	if (kick)
		kick_backend_locked(slot);
	return 0;
}

void remsim_xchg_timeout(struct work_struct *work)
{
	struct remsim_slot *slot = container_of(to_delayed_work(work),
						struct remsim_slot, timeout_work);
	unsigned long deadline;
	struct xchg_after a = {};
	struct t0_result res;
	bool kick = false;

	spin_lock_irq(&slot->lock);
	if (slot->dead || !slot->apdu_seq || !remsim_apdu_timeout_ms)
		goto out;
	deadline = slot->apdu_since + msecs_to_jiffies(remsim_apdu_timeout_ms);
	if (time_before(jiffies, deadline)) {
		/* A newer APDU: its own deadline. */
		mod_delayed_work(system_wq, &slot->timeout_work, deadline - jiffies);
		goto out;
	}
	t0_give_up(&slot->t0, REMSIM_ERR_TIMEOUT, &res);
	apply(slot, &res, &a);
	answered(slot);
	slot->stats.timeouts++;
	kick = true;
out:
	spin_unlock_irq(&slot->lock);
	after(slot, &a);
	if (kick)
		kick_backend(slot);
}

void remsim_xchg_flush(struct remsim_slot *slot)
{
	struct remsim_msg *msg, *tmp;

	spin_lock_irq(&slot->lock);
	list_for_each_entry_safe(msg, tmp, &slot->up, node) {
		list_del(&msg->node);
		remsim_msg_free(msg);
	}
	slot->up_len = 0;
	slot->up_oob = 0;
	slot->apdu_msg = NULL;
	slot->apdu_seq = 0;
	down_flush(slot);
	spin_unlock_irq(&slot->lock);
}
