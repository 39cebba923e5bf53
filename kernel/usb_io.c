// SPDX-License-Identifier: GPL-2.0
/*
 * usb_io.c - the URB data path of the SIMtrace2-family driver (usb.c says
 * how the board works): the OUT queue and its URBs, control messages a
 * slot op waits for, the pump of what the slot core has for the modem, the
 * IN completions that feed the slot core, the parking of bulk IN URBs
 * (back-pressure), and the work after a stall or link errors.
 */
#include <linux/slab.h>

#include "usb_int.h"

/* --- out ------------------------------------------------------------------------- */

/* A control message is done (sent, failed, not sent): its waiter wakes. */
void st2_ctrl_done(struct st2 *st2, const struct st2_out *m, int status)
{
	lockdep_assert_held(&st2->lock);
	if (!m->ctrl_seq || m->ctrl_seq != st2->ctrl_wait)
		return;
	st2->ctrl_wait = 0;
	st2->ctrl_status = status;
	complete(&st2->ctrl_done);
}

/*
 * Starts what waits for an OUT URB; under st2->lock. A message that cannot
 * be submitted is dropped, its waiter gets the error, and the next one is
 * tried: the queue never waits for a completion that cannot come.
 */
static void st2_out_kick(struct st2 *st2)
{
	lockdep_assert_held(&st2->lock);
	while (!st2->dead && !st2->stopped && !list_empty(&st2->out_queue)) {
		unsigned int i = find_first_zero_bit(&st2->out_busy, ST2_OUT_URBS);
		struct st2_out *m;
		struct urb *urb;
		int ret;

		if (i >= ST2_OUT_URBS)
			return;
		m = list_first_entry(&st2->out_queue, struct st2_out, node);
		list_del(&m->node);
		st2->out_len--;
		urb = st2->out_urbs[i];
		memcpy(urb->transfer_buffer, m->buf, m->len);
		urb->transfer_buffer_length = m->len;
		st2->out_msg[i] = m;
		set_bit(i, &st2->out_busy);
		ret = usb_submit_urb(urb, GFP_ATOMIC);
		if (ret) {
			clear_bit(i, &st2->out_busy);
			st2->out_msg[i] = NULL;
			st2_ctrl_done(st2, m, ret);
			kfree(m);
			/* EPERM: poisoned; ENODEV: the board is going. */
			if (ret != -ENODEV && ret != -EPERM)
				dev_err_ratelimited(&st2->intf->dev, "OUT submit: %d\n", ret);
		}
	}
}

static struct st2_out *st2_out_new(int card_ack)
{
	struct st2_out *m = kmalloc(sizeof(*m), GFP_ATOMIC);

	if (m) {
		m->card_ack = card_ack;
		m->ctrl_seq = 0;
	}
	return m;
}

/*
 * Queues m for the board and takes it, whatever the result; any context.
 * With seq, m is a control message that the caller waits for: *seq gets
 * its number.
 */
static int st2_out_queue(struct st2 *st2, struct st2_out *m, u32 *seq)
{
	unsigned long flags;
	int ret = 0;

	if (WARN_ON(m->len < ST2_HDR_LEN || m->len > ST2_MSG_MAX)) {
		kfree(m);
		return -EINVAL;
	}
	spin_lock_irqsave(&st2->lock, flags);
	if (st2->dead) {
		ret = -ENODEV;
	} else if (st2->out_len >= ST2_OUT_QUEUE) {
		/* Only a board that takes nothing gets here. */
		ret = -ENOBUFS;
	} else {
		if (seq) {
			/* 0 means none: skip it when the counter wraps. */
			m->ctrl_seq = ++st2->ctrl_seq ?: ++st2->ctrl_seq;
			*seq = m->ctrl_seq;
			reinit_completion(&st2->ctrl_done);
			st2->ctrl_wait = m->ctrl_seq;
		}
		list_add_tail(&m->node, &st2->out_queue);
		st2->out_len++;
		st2_out_kick(st2);
		m = NULL;
	}
	spin_unlock_irqrestore(&st2->lock, flags);
	kfree(m);
	return ret;
}

/* Queues one message for the board; any context. */
static int st2_queue(struct st2 *st2, const u8 *buf, size_t len, int card_ack, u32 *seq)
{
	struct st2_out *m;

	if (WARN_ON(len > ST2_MSG_MAX))
		return -EINVAL;
	m = st2_out_new(card_ack);
	if (!m)
		return -ENOMEM;
	memcpy(m->buf, buf, len);
	m->len = len;
	return st2_out_queue(st2, m, seq);
}

int st2_send(struct st2 *st2, const u8 *buf, size_t len, int card_ack)
{
	return st2_queue(st2, buf, len, card_ack, NULL);
}

/*
 * A control message from a slot op (the slot core serialises them): it
 * returns once the board has taken it, so that what the owner does next
 * (reset the phone, say) comes after it. A message that cannot be
 * submitted fails at once with the submission's error (ENODEV while the
 * board goes), a failed transfer with EIO.
 */
int st2_send_ctrl(struct st2 *st2, const u8 *buf, size_t len, int card_ack)
{
	unsigned long flags;
	u32 seq;
	int ret = st2_queue(st2, buf, len, card_ack, &seq);

	if (ret)
		return ret;
	wait_for_completion_timeout(&st2->ctrl_done, msecs_to_jiffies(ST2_CTRL_MS));
	spin_lock_irqsave(&st2->lock, flags);
	if (st2->ctrl_wait == seq) {
		/* It may still go; nobody will be waiting for it. */
		st2->ctrl_wait = 0;
		ret = -ETIMEDOUT;
	} else {
		ret = st2->ctrl_status;
	}
	spin_unlock_irqrestore(&st2->lock, flags);
	return ret;
}

/*
 * What the slot core has for the modem goes out as TX_DATA messages, in
 * order: see pump_lock. Any context.
 */
void st2_pump(struct st2 *st2)
{
	struct t0_tx *tx = &st2->pump_tx;
	unsigned long flags;

	spin_lock_irqsave(&st2->pump_lock, flags);
	while (!remsim_slot_tx_pop(st2->slot, tx)) {
		struct st2_out *m = st2_out_new(-1);

		if (!m) {
			remsim_slot_board_error(st2->slot);
			continue;
		}
		m->len = st2_msg_tx_data(m->buf, tx->flags, tx->data, tx->len);
		if (st2_out_queue(st2, m, NULL))
			remsim_slot_board_error(st2->slot);
	}
	spin_unlock_irqrestore(&st2->pump_lock, flags);
}

void st2_out_complete(struct urb *urb)
{
	struct st2 *st2 = urb->context;
	struct st2_out *m = NULL;
	unsigned long flags;
	unsigned int i;
	int card_ack = -1;

	spin_lock_irqsave(&st2->lock, flags);
	for (i = 0; i < ST2_OUT_URBS; i++) {
		if (st2->out_urbs[i] == urb) {
			m = st2->out_msg[i];
			st2->out_msg[i] = NULL;
			clear_bit(i, &st2->out_busy);
			break;
		}
	}
	if (m)
		dev_dbg(&st2->intf->dev, "OUT: status %d, %u bytes %*ph\n", urb->status,
			m->len, (int)min_t(u32, m->len, 16), m->buf);
	if (m && !urb->status)
		card_ack = m->card_ack;
	if (m)
		st2_ctrl_done(st2, m, urb->status ? -EIO : 0);
	if (urb->status == -EPIPE)
		set_bit(1, &st2->halted);
	st2_out_kick(st2);
	spin_unlock_irqrestore(&st2->lock, flags);
	kfree(m);

	switch (urb->status) {
	case 0:
	case -ENOENT:
	case -ECONNRESET:
	case -ESHUTDOWN:
	case -ENODEV:
		break;
	case -EPIPE:
		schedule_work(&st2->halt_work);
		break;
	case -EPROTO:
	case -EILSEQ:
	case -ETIME:
		/* The board may be leaving: count it if it is still there later. */
		spin_lock_irqsave(&st2->lock, flags);
		st2->link_errors++;
		spin_unlock_irqrestore(&st2->lock, flags);
		schedule_delayed_work(&st2->retry_work, msecs_to_jiffies(ST2_RETRY_MS));
		break;
	default:
		dev_err_ratelimited(&st2->intf->dev, "OUT transfer: %d\n", urb->status);
		remsim_slot_board_error(st2->slot);
	}
	/* The board took the card-present change. */
	if (card_ack >= 0)
		remsim_slot_card_ack(st2->slot, card_ack);
}

/* --- in ---------------------------------------------------------------------------- */

/* What the board sends goes to the slot core as it is (common/st2_proto.c). */
static void st2_on_header(void *ctx, const u8 *hdr)
{
	struct st2 *st2 = ctx;

	remsim_slot_rx_header(st2->slot, hdr);
}

static void st2_on_data(void *ctx, const u8 *data, size_t len)
{
	struct st2 *st2 = ctx;

	remsim_slot_rx_data(st2->slot, data, len);
}

static void st2_on_status(void *ctx, const struct remsim_signals *sig)
{
	struct st2 *st2 = ctx;

	remsim_slot_signals(st2->slot, sig);
}

static void st2_on_pts(void *ctx, const struct remsim_pps *pps)
{
	struct st2 *st2 = ctx;

	remsim_slot_pps(st2->slot, pps);
}

/* Garbage: the rest of the transfer is lost; one unread report at a time. */
static void st2_on_invalid(void *ctx, const u8 *rest, size_t len)
{
	struct st2 *st2 = ctx;

	dev_warn_ratelimited(&st2->intf->dev,
			     "invalid message from the board (%zu bytes: %*ph)\n",
			     len, (int)min_t(size_t, len, 16), rest);
	remsim_slot_board_error(st2->slot);
}

static const struct st2_device_ops st2_device_ops = {
	.rx_header	= st2_on_header,
	.rx_data	= st2_on_data,
	.status		= st2_on_status,
	.pts		= st2_on_pts,
	.invalid	= st2_on_invalid,
};

void st2_in_resubmit(struct st2 *st2, unsigned int i, gfp_t gfp)
{
	int ret = usb_submit_urb(st2->in_urbs[i], gfp);

	/* EPERM: poisoned, the interface is going away. */
	if (ret) {
		if (ret != -ENODEV && ret != -EPERM)
			dev_err_ratelimited(&st2->intf->dev, "IN submit: %d\n", ret);
	}
}

void st2_in_complete(struct urb *urb)
{
	struct st2_in *ctx = urb->context;
	struct st2 *st2 = ctx->st2;
	unsigned int i = ctx->index;
	unsigned long flags;
	bool resubmit;

	dev_dbg(&st2->intf->dev, "IN %u: status %d, %u bytes %*ph\n", i, urb->status,
		urb->actual_length, (int)min_t(u32, urb->actual_length, 16), urb->transfer_buffer);
	switch (urb->status) {
	case 0:
		st2->errors[i] = 0;
		st2_dispatch(urb->transfer_buffer, urb->actual_length, &st2_device_ops, st2);
		/* The engine may have answered (a procedure byte): send it. */
		st2_pump(st2);
		break;
	case -ENOENT:
	case -ECONNRESET:
	case -ESHUTDOWN:
	case -ENODEV:
		return;			/* killed, or the board is gone */
	case -EPIPE:
		spin_lock_irqsave(&st2->lock, flags);
		set_bit(i == ST2_INT_URB ? 2 : 0, &st2->halted);
		set_bit(i, &st2->parked);
		spin_unlock_irqrestore(&st2->lock, flags);
		schedule_work(&st2->halt_work);
		return;
	case -EPROTO:
	case -EILSEQ:
	case -ETIME:
		/*
		 * What an unplug looks like before the disconnect comes, and a
		 * bad link too: wait a little, then count it and go on.
		 */
		spin_lock_irqsave(&st2->lock, flags);
		st2->link_errors++;
		set_bit(i, &st2->parked);
		spin_unlock_irqrestore(&st2->lock, flags);
		schedule_delayed_work(&st2->retry_work, msecs_to_jiffies(ST2_RETRY_MS));
		return;
	default:
		dev_err_ratelimited(&st2->intf->dev, "IN transfer: %d\n", urb->status);
		remsim_slot_board_error(st2->slot);
		if (++st2->errors[i] >= ST2_ERR_BURST)
			return;		/* a board this broken gets no more of our time */
	}

	/*
	 * Back-pressure: with the owner's queue full, a bulk URB waits. The
	 * interrupt URB never does: a line change that waited behind it
	 * would reach the engine after the command the modem sent once the
	 * reset was over, and abort that one; the slot core merges changes
	 * the owner has not read, so they cost nothing.
	 */
	resubmit = i == ST2_INT_URB || remsim_slot_up_room(st2->slot);
	spin_lock_irqsave(&st2->lock, flags);
	if (st2->dead || st2->stopped)
		resubmit = false;
	else if (!resubmit)
		set_bit(i, &st2->parked);
	spin_unlock_irqrestore(&st2->lock, flags);
	if (!resubmit)
		dev_dbg(&st2->intf->dev, "IN %u parked: the owner's queue is full\n", i);
	/*
	 * The owner may have made room between the check and the parking:
	 * its one wake-up (st2_unpark) then found nothing parked, and none
	 * comes again until the queue fills, which it cannot with every URB
	 * parked - the board would be deaf for good. Look once more; the
	 * parked bit says which of the two resubmits.
	 */
	if (!resubmit && !st2->dead && remsim_slot_up_room(st2->slot)) {
		spin_lock_irqsave(&st2->lock, flags);
		resubmit = !st2->dead && !st2->stopped && test_and_clear_bit(i, &st2->parked);
		spin_unlock_irqrestore(&st2->lock, flags);
	}
	if (resubmit)
		st2_in_resubmit(st2, i, GFP_ATOMIC);
}

/* Resubmits what waited for room or for a cleared halt; process context. */
void st2_unpark(struct st2 *st2)
{
	unsigned long parked, flags;
	unsigned int i;

	spin_lock_irqsave(&st2->lock, flags);
	/* Stopped: the restart submits every IN URB. */
	parked = st2->dead || st2->stopped ? 0 : st2->parked;
	st2->parked = 0;
	spin_unlock_irqrestore(&st2->lock, flags);
	for_each_set_bit(i, &parked, ST2_IN_URBS + 1)
		st2_in_resubmit(st2, i, GFP_KERNEL);
}

/* Link errors and the board still here: they were real. */
void st2_retry_work(struct work_struct *work)
{
	struct st2 *st2 = container_of(to_delayed_work(work), struct st2, retry_work);
	unsigned long flags;
	unsigned int errors;

	spin_lock_irqsave(&st2->lock, flags);
	errors = st2->dead || st2->stopped ? 0 : st2->link_errors;
	st2->link_errors = 0;
	spin_unlock_irqrestore(&st2->lock, flags);
	if (!errors)
		return;
	dev_warn_ratelimited(&st2->intf->dev, "%u transfer errors on the link\n", errors);
	while (errors--)
		remsim_slot_board_error(st2->slot);
	if (remsim_slot_up_room(st2->slot))
		st2_unpark(st2);
}

void st2_halt_work(struct work_struct *work)
{
	struct st2 *st2 = container_of(work, struct st2, halt_work);
	unsigned long halted, flags;

	spin_lock_irqsave(&st2->lock, flags);
	halted = st2->dead || st2->stopped ? 0 : st2->halted;
	st2->halted = 0;
	spin_unlock_irqrestore(&st2->lock, flags);
	if (!halted)
		return;
	dev_warn_ratelimited(&st2->intf->dev, "the board stalled; clearing\n");
	if (test_bit(0, &halted))
		usb_clear_halt(st2->udev, usb_rcvbulkpipe(st2->udev, st2->ep_in));
	if (test_bit(1, &halted))
		usb_clear_halt(st2->udev, usb_sndbulkpipe(st2->udev, st2->ep_out));
	if (test_bit(2, &halted))
		usb_clear_halt(st2->udev, usb_rcvintpipe(st2->udev, st2->ep_int));
	remsim_slot_board_error(st2->slot);
	if (remsim_slot_up_room(st2->slot))
		st2_unpark(st2);
}
