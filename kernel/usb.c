// SPDX-License-Identifier: GPL-2.0
/*
 * usb.c - SIMtrace2-family card-emulation boards (vendor 0x1d50, cardem
 * firmware): one remsim slot per card-emulation interface (class ff/02/00).
 *
 * The board does the byte level of ISO 7816-3 towards the modem; this driver
 * moves its messages (common/st2_proto.h) between the interface's endpoints
 * and the slot core: TPDU headers, command data, status changes and PPS in;
 * procedure bytes, data and status words, ATR, card insert, SIM select and
 * modem reset out.
 *
 * The firmware keeps at most three messages per IN endpoint and drops the
 * oldest, so several bulk IN URBs and the interrupt URB stay submitted; when
 * the slot's owner lets its queue fill, the driver parks the bulk ones
 * (back-pressure) and resubmits when the owner reads. Line changes always
 * come in at once (see st2_in_complete). The board reboots when
 * its USB state drops below CONFIGURED: the driver never resets it, never
 * changes its configuration or alternate setting, and keeps it from
 * autosuspending while bound. A reset or suspend others cause keeps the
 * slot: the traffic stops, and the rebooted board is set up again.
 *
 * Line changes come on the interrupt endpoint, TPDU data on bulk IN; USB
 * keeps no order between two endpoints, so a status message can arrive
 * after data the phone sent later. On a real line the ATR alone takes
 * milliseconds, long enough for the host to see the reset first; the driver
 * takes both as they come. Every message is logged with dynamic debug
 * ("module remsim +p").
 *
 * Unplug, at any moment: the slot goes first (its node, then its owner's
 * calls fail with ENODEV, then no more slot ops), then the URBs are poisoned
 * and the work cancelled, then the last reference frees; completions that
 * race with it only ever touch the slot through a reference of our own.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/kref.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/usb.h>
#include <linux/workqueue.h>

#include "remsim.h"
#include "st2_proto.h"

#define ST2_IN_URBS	4	/* bulk IN kept submitted; the firmware queues 3 */
#define ST2_OUT_URBS	8	/* OUT transfers in flight */
#define ST2_IN_BUF	512	/* a message (280 at most), a high-speed packet */
#define ST2_OUT_QUEUE	64	/* messages waiting for an OUT URB */
#define ST2_ERR_BURST	16	/* transfer errors in a row before an URB gives up */
#define ST2_RETRY_MS	100	/* after a link error: unplug, or try again */
#define ST2_CTRL_MS	2000	/* a control message's transfer, at most */

static const u8 st2_default_atr[ST2_DEFAULT_ATR_LEN] = ST2_DEFAULT_ATR;

struct st2_board {
	u16		pid;
	const char	*name;
	u64		features;	/* beyond those every board has */
};

static const struct st2_board st2_boards[] = {
	{ ST2_PID_SIMTRACE2, "SIMtrace2", 0 },
	{ ST2_PID_QMOD, "sysmoQMOD", REMSIM_FEAT_MODEM_RESET | REMSIM_FEAT_VOLTAGE },
	{ ST2_PID_OWHW, "OWHW", 0 },
	{ ST2_PID_OCTSIMTEST, "sysmoOCTSIM-Tester", REMSIM_FEAT_VOLTAGE },
	{ ST2_PID_NGFF, "ngff-cardem", REMSIM_FEAT_MODEM_RESET | REMSIM_FEAT_VOLTAGE },
};

#define ST2_FEATURES	(REMSIM_FEAT_RAW_MODE | REMSIM_FEAT_CARD_INSERT | REMSIM_FEAT_SIM_SELECT)

/* The sniffer firmware has subclass 1 on the same ids: it does not match. */
#define ST2_DEVICE(pid) \
	{ USB_DEVICE_AND_INTERFACE_INFO(ST2_VENDOR, pid, ST2_CLASS, ST2_SUBCLASS_CARDEM, 0) }

static const struct usb_device_id st2_ids[] = {
	ST2_DEVICE(ST2_PID_SIMTRACE2),
	ST2_DEVICE(ST2_PID_QMOD),
	ST2_DEVICE(ST2_PID_OWHW),
	ST2_DEVICE(ST2_PID_OCTSIMTEST),
	ST2_DEVICE(ST2_PID_NGFF),
	{ }
};
MODULE_DEVICE_TABLE(usb, st2_ids);

struct st2_out {
	struct list_head	node;
	u16			len;
	s8			card_ack;	/* -1, or what to acknowledge */
	u32			ctrl_seq;	/* a control message's number, or 0 */
	u8			buf[ST2_MSG_MAX];
};

struct st2;

/* An IN URB's context: which of them it is, for parking. */
struct st2_in {
	struct st2		*st2;
	unsigned int		index;
};

struct st2 {
	struct kref		kref;
	struct usb_device	*udev;
	struct usb_interface	*intf;
	struct remsim_slot	*slot;		/* we hold a device reference */
	u8			ep_in, ep_out, ep_int;

	/*
	 * Taking a transmission off the slot's queue and queueing it for the
	 * board is one step under pump_lock: process context and the IN
	 * completions all pump, and two pumpers must not swap transmissions
	 * (the modem would see a T=0 protocol error). Protects pump_tx.
	 * The lock order (pump_lock before lock) is in remsim.h.
	 */
	spinlock_t		pump_lock;
	struct t0_tx		pump_tx;	/* off the stack of a completion */

	/*
	 * The board's traffic stops across a reset (pre_reset to post_reset,
	 * held all along as usb-skeleton holds its io_mutex) and a suspend;
	 * the slot ops take it too, so none sends while the board is away,
	 * and it protects what the owner set and a rebooted board must be
	 * told again. It comes after the slot's mutex (see remsim.h).
	 */
	struct mutex		io_mutex;
	u8			atr[REMSIM_ATR_MAX];
	unsigned int		atr_len;
	bool			card_inserted;
	bool			sim_remote;

	/*
	 * lock (irqsave): everything from dead to ctrl_status but errors. dead is
	 * also peeked at without it as a hint, and always tested again under it.
	 */
	spinlock_t		lock;
	bool			dead;
	bool			stopped;	/* reset or suspend: no submission */
	unsigned long		parked;		/* IN URBs waiting for room */
	unsigned long		out_busy;	/* OUT URBs in flight */
	struct st2_out		*out_msg[ST2_OUT_URBS];
	struct list_head	out_queue;
	unsigned int		out_len;
	/* In a row, per IN URB: only that URB's completion uses its count. */
	unsigned int		errors[ST2_IN_URBS + 1];
	unsigned long		halted;		/* endpoints to clear: 0 in, 1 out, 2 int */
	unsigned int		link_errors;	/* not counted yet: maybe an unplug */
	/*
	 * The control message a slot op waits for (the slot core runs one op
	 * at a time): by number, never by pointer, since the message is freed
	 * once it is sent or has failed.
	 */
	u32			ctrl_seq;	/* the last number given */
	u32			ctrl_wait;	/* the one waited for; 0: none */
	int			ctrl_status;	/* its result: 0 or -errno */

	/* Synchronised by themselves, or set at probe and fixed after. */
	struct completion	ctrl_done;
	struct st2_in		in_ctx[ST2_IN_URBS + 1];
	struct urb		*in_urbs[ST2_IN_URBS + 1];	/* the last: interrupt */
	struct urb		*out_urbs[ST2_OUT_URBS];
	struct work_struct	halt_work;
	struct delayed_work	retry_work;	/* after link errors */
};

#define ST2_INT_URB	ST2_IN_URBS

static void st2_free(struct kref *kref)
{
	struct st2 *st2 = container_of(kref, struct st2, kref);
	struct st2_out *m, *tmp;
	unsigned int i;

	for (i = 0; i <= ST2_IN_URBS; i++) {
		if (st2->in_urbs[i])
			kfree(st2->in_urbs[i]->transfer_buffer);
		usb_free_urb(st2->in_urbs[i]);
	}
	for (i = 0; i < ST2_OUT_URBS; i++) {
		if (st2->out_urbs[i])
			kfree(st2->out_urbs[i]->transfer_buffer);
		usb_free_urb(st2->out_urbs[i]);
		kfree(st2->out_msg[i]);
	}
	list_for_each_entry_safe(m, tmp, &st2->out_queue, node)
		kfree(m);
	if (st2->slot)
		put_device(remsim_slot_device(st2->slot));
	usb_put_intf(st2->intf);
	usb_put_dev(st2->udev);
	kfree(st2);
}

/* --- out ------------------------------------------------------------------------- */

/* A control message is done (sent, failed, not sent): its waiter wakes. */
static void st2_ctrl_done(struct st2 *st2, const struct st2_out *m, int status)
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

static int st2_send(struct st2 *st2, const u8 *buf, size_t len, int card_ack)
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
static int st2_send_ctrl(struct st2 *st2, const u8 *buf, size_t len, int card_ack)
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
static void st2_pump(struct st2 *st2)
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

static void st2_out_complete(struct urb *urb)
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

static void st2_in_resubmit(struct st2 *st2, unsigned int i, gfp_t gfp)
{
	int ret = usb_submit_urb(st2->in_urbs[i], gfp);

	/* EPERM: poisoned, the interface is going away. */
	if (ret) {
		if (ret != -ENODEV && ret != -EPERM)
			dev_err_ratelimited(&st2->intf->dev, "IN submit: %d\n", ret);
	}
}

static void st2_in_complete(struct urb *urb)
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
static void st2_unpark(struct st2 *st2)
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
static void st2_retry_work(struct work_struct *work)
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

static void st2_halt_work(struct work_struct *work)
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

/* --- what the slot core asks ------------------------------------------------------ */

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

static const struct remsim_backend_ops st2_ops = {
	.tx_ready	= st2_tx_ready,
	.up_room	= st2_up_room,
	.set_atr	= st2_set_atr,
	.card_insert	= st2_card_insert,
	.modem_reset	= st2_modem_reset,
	.sim_select	= st2_sim_select,
};

/* --- probe and disconnect --------------------------------------------------------- */

static int st2_alloc_urbs(struct st2 *st2, u16 int_size, u8 int_interval)
{
	unsigned int i;

	for (i = 0; i <= ST2_IN_URBS; i++) {
		bool is_int = i == ST2_INT_URB;
		size_t size = is_int ? max_t(size_t, int_size, 64) : ST2_IN_BUF;
		void *buf = kmalloc(size, GFP_KERNEL);
		struct urb *urb = usb_alloc_urb(0, GFP_KERNEL);

		if (!buf || !urb) {
			kfree(buf);
			usb_free_urb(urb);
			return -ENOMEM;
		}
		st2->in_ctx[i].st2 = st2;
		st2->in_ctx[i].index = i;
		if (is_int)
			usb_fill_int_urb(urb, st2->udev, usb_rcvintpipe(st2->udev, st2->ep_int),
					 buf, size, st2_in_complete, &st2->in_ctx[i], int_interval);
		else
			usb_fill_bulk_urb(urb, st2->udev, usb_rcvbulkpipe(st2->udev, st2->ep_in),
					  buf, size, st2_in_complete, &st2->in_ctx[i]);
		st2->in_urbs[i] = urb;
	}
	for (i = 0; i < ST2_OUT_URBS; i++) {
		void *buf = kmalloc(ST2_MSG_MAX, GFP_KERNEL);
		struct urb *urb = usb_alloc_urb(0, GFP_KERNEL);

		if (!buf || !urb) {
			kfree(buf);
			usb_free_urb(urb);
			return -ENOMEM;
		}
		usb_fill_bulk_urb(urb, st2->udev, usb_sndbulkpipe(st2->udev, st2->ep_out),
				  buf, 0, st2_out_complete, st2);
		/* A transfer of a multiple of 64 bytes would leave the firmware waiting. */
		urb->transfer_flags |= URB_ZERO_PACKET;
		st2->out_urbs[i] = urb;
	}
	return 0;
}

static const struct st2_board *st2_board(u16 pid)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(st2_boards); i++)
		if (st2_boards[i].pid == pid)
			return &st2_boards[i];
	return &st2_boards[0];
}

/*
 * What the firmware needs before it emulates anything, and has forgotten
 * when it rebooted: status changes on the interrupt endpoint, and the SIM
 * the owner selected (the emulated one at first). After a reboot (restore)
 * also the owner's ATR and card-present line, before the SIM select that
 * lets the modem see the card. No waiting: in probe and the PM callbacks.
 */
static void st2_configure(struct st2 *st2, bool restore)
{
	u8 buf[ST2_HDR_LEN + 1 + REMSIM_ATR_MAX];
	size_t n;
	int ret;

	lockdep_assert_held(&st2->io_mutex);
	n = st2_msg_config(buf, ST2_FEAT_STATUS_IRQ, 0);
	ret = st2_send(st2, buf, n, -1);
	if (!ret && restore)
		ret = st2_send(st2, buf, st2_msg_set_atr(buf, st2->atr, st2->atr_len), -1);
	/* The firmware boots with the line released. */
	if (!ret && restore && st2->card_inserted)
		ret = st2_send(st2, buf, st2_msg_card_insert(buf, true), -1);
	if (!ret)
		ret = st2_send(st2, buf, st2_msg_sim_select(buf, st2->sim_remote), -1);
	if (ret)
		dev_warn(&st2->intf->dev, "cannot configure the board: %d\n", ret);
}

/*
 * Reset and suspend: no URB runs or starts until st2_io_restart(). In
 * order: stopped first, so that no completion resubmits and nothing is
 * submitted from the OUT queue; then the IN URBs, whose completions feed
 * the engine and pump; then the OUT ones; then the work that would touch
 * the endpoints. Poisoned, not killed: a resubmission racing with this
 * (st2_unpark of a reader) fails instead of running across the reset.
 */
static void st2_io_stop(struct st2 *st2)
{
	unsigned int i;

	lockdep_assert_held(&st2->io_mutex);
	spin_lock_irq(&st2->lock);
	st2->stopped = true;
	spin_unlock_irq(&st2->lock);
	for (i = 0; i <= ST2_IN_URBS; i++)
		usb_poison_urb(st2->in_urbs[i]);
	for (i = 0; i < ST2_OUT_URBS; i++)
		usb_poison_urb(st2->out_urbs[i]);
	cancel_work_sync(&st2->halt_work);
	cancel_delayed_work_sync(&st2->retry_work);
}

/*
 * The board is back with its firmware rebooted: what was queued for the
 * board before is void (its TPDU is gone), the slot core hears of the loss
 * before any new message can come, then the IN URBs go again and the board
 * is set up as the owner had it.
 */
static void st2_io_restart(struct st2 *st2)
{
	struct st2_out *m, *tmp;
	unsigned int i;
	LIST_HEAD(stale);

	lockdep_assert_held(&st2->io_mutex);
	spin_lock_irq(&st2->lock);
	list_splice_init(&st2->out_queue, &stale);
	st2->out_len = 0;
	list_for_each_entry(m, &stale, node)
		st2_ctrl_done(st2, m, -EIO);
	st2->parked = 0;
	st2->halted = 0;
	st2->link_errors = 0;
	memset(st2->errors, 0, sizeof(st2->errors));
	st2->stopped = false;
	spin_unlock_irq(&st2->lock);
	list_for_each_entry_safe(m, tmp, &stale, node)
		kfree(m);

	remsim_slot_board_reset(st2->slot);
	for (i = 0; i < ST2_OUT_URBS; i++)
		usb_unpoison_urb(st2->out_urbs[i]);
	for (i = 0; i <= ST2_IN_URBS; i++) {
		usb_unpoison_urb(st2->in_urbs[i]);
		st2_in_resubmit(st2, i, GFP_KERNEL);
	}
	st2_configure(st2, true);
}

/*
 * The slot goes first (node, owner, ops), then every URB and work item;
 * for disconnect, and for a probe that fails once the URBs run.
 */
static void st2_stop(struct st2 *st2)
{
	unsigned long flags;
	unsigned int i;

	remsim_slot_remove(st2->slot);

	spin_lock_irqsave(&st2->lock, flags);
	st2->dead = true;
	spin_unlock_irqrestore(&st2->lock, flags);
	/*
	 * Every URB, in flight or parked: poisoning waits for a completion in
	 * progress and refuses any later submission, so none runs after this.
	 */
	for (i = 0; i <= ST2_IN_URBS; i++)
		usb_poison_urb(st2->in_urbs[i]);
	for (i = 0; i < ST2_OUT_URBS; i++)
		usb_poison_urb(st2->out_urbs[i]);
	cancel_work_sync(&st2->halt_work);
	cancel_delayed_work_sync(&st2->retry_work);
}

static int st2_probe(struct usb_interface *intf, const struct usb_device_id *id)
{
	struct usb_endpoint_descriptor *in, *out, *irq;
	struct usb_device *udev = interface_to_usbdev(intf);
	const struct st2_board *board = st2_board(le16_to_cpu(udev->descriptor.idProduct));
	struct remsim_slot_desc desc = {
		.backend	= REMSIM_BACKEND_USB,
		.features	= ST2_FEATURES | board->features,
		.board		= board->name,
		.bus_path	= dev_name(&intf->dev),
		.interface	= intf->cur_altsetting->desc.bInterfaceNumber,
		.parent		= &intf->dev,
		.ops		= &st2_ops,
		.atr		= st2_default_atr,
		.atr_len	= sizeof(st2_default_atr),
	};
	struct remsim_slot *slot;
	struct st2 *st2;
	unsigned int i;
	int ret;

	ret = usb_find_common_endpoints(intf->cur_altsetting, &in, &out, &irq, NULL);
	if (ret) {
		dev_err(&intf->dev, "no bulk IN, bulk OUT and interrupt IN endpoints\n");
		return ret;
	}

	st2 = kzalloc(sizeof(*st2), GFP_KERNEL);
	if (!st2)
		return -ENOMEM;
	kref_init(&st2->kref);
	mutex_init(&st2->io_mutex);
	memcpy(st2->atr, st2_default_atr, sizeof(st2_default_atr));
	st2->atr_len = sizeof(st2_default_atr);
	st2->sim_remote = true;
	spin_lock_init(&st2->pump_lock);
	spin_lock_init(&st2->lock);
	INIT_LIST_HEAD(&st2->out_queue);
	INIT_WORK(&st2->halt_work, st2_halt_work);
	INIT_DELAYED_WORK(&st2->retry_work, st2_retry_work);
	init_completion(&st2->ctrl_done);
	st2->udev = usb_get_dev(udev);
	st2->intf = usb_get_intf(intf);
	st2->ep_in = in->bEndpointAddress;
	st2->ep_out = out->bEndpointAddress;
	st2->ep_int = irq->bEndpointAddress;

	ret = st2_alloc_urbs(st2, usb_endpoint_maxp(irq), irq->bInterval);
	if (ret)
		goto err_put;

	desc.priv = st2;
	slot = remsim_slot_create(&desc);
	if (IS_ERR(slot)) {
		ret = PTR_ERR(slot);
		goto err_put;
	}
	st2->slot = slot;
	get_device(remsim_slot_device(slot));
	usb_set_intfdata(intf, st2);

	for (i = 0; i <= ST2_IN_URBS; i++)
		st2_in_resubmit(st2, i, GFP_KERNEL);

	mutex_lock(&st2->io_mutex);
	st2_configure(st2, false);
	mutex_unlock(&st2->io_mutex);

	/* Last: from here on the owner and netlink may call into the slot. */
	ret = remsim_slot_publish(slot);
	if (ret) {
		st2_stop(st2);
		usb_set_intfdata(intf, NULL);
		goto err_put;
	}
	dev_info(&intf->dev, "%s card emulation: %s\n", board->name,
		 dev_name(remsim_slot_device(slot)));
	return 0;

err_put:
	kref_put(&st2->kref, st2_free);
	return ret;
}

static void st2_disconnect(struct usb_interface *intf)
{
	struct st2 *st2 = usb_get_intfdata(intf);

	st2_stop(st2);
	usb_set_intfdata(intf, NULL);
	dev_info(&intf->dev, "card emulation gone\n");
	kref_put(&st2->kref, st2_free);
}

/* --- reset and power management --------------------------------------------------- */

/*
 * A reset (usbfs USBDEVFS_RESET, another driver of the device, error
 * recovery) keeps the interface bound: the slot, its /dev/remsimN, its map
 * and its owner's file stay. The board's traffic stops from pre_reset to
 * post_reset with io_mutex held, so no slot op sends meanwhile; the
 * firmware reboots on the reset, so post_reset sets it up again.
 */
static int st2_pre_reset(struct usb_interface *intf)
{
	struct st2 *st2 = usb_get_intfdata(intf);

	mutex_lock(&st2->io_mutex);
	st2_io_stop(st2);
	return 0;
}

static int st2_post_reset(struct usb_interface *intf)
{
	struct st2 *st2 = usb_get_intfdata(intf);

	dev_info(&intf->dev, "reset: the board starts over\n");
	st2_io_restart(st2);
	mutex_unlock(&st2->io_mutex);
	return 0;
}

/*
 * Never a runtime suspend (supports_autosuspend is 0): a system suspend.
 * The firmware reboots when the bus suspends, so a resume finds it as a
 * reset would, and a reset-resume (the hub reset the port) the same.
 */
static int st2_suspend(struct usb_interface *intf, pm_message_t message)
{
	struct st2 *st2 = usb_get_intfdata(intf);

	mutex_lock(&st2->io_mutex);
	st2_io_stop(st2);
	mutex_unlock(&st2->io_mutex);
	return 0;
}

static int st2_resume(struct usb_interface *intf)
{
	struct st2 *st2 = usb_get_intfdata(intf);

	dev_info(&intf->dev, "resume: the board starts over\n");
	mutex_lock(&st2->io_mutex);
	st2_io_restart(st2);
	mutex_unlock(&st2->io_mutex);
	return 0;
}

/*
 * No autosuspend while a slot is bound: the firmware reboots when the bus
 * suspends. The USB core keeps a bound interface of a driver without
 * supports_autosuspend active, which holds its device up; unlike
 * usb_disable_autosuspend(), that leaves the device's power/control as
 * the administrator set it, also once the driver is gone.
 */
static struct usb_driver st2_driver = {
	.name		= "remsim",
	.probe		= st2_probe,
	.disconnect	= st2_disconnect,
	.pre_reset	= st2_pre_reset,
	.post_reset	= st2_post_reset,
	.suspend	= st2_suspend,
	.resume		= st2_resume,
	.reset_resume	= st2_resume,
	.id_table	= st2_ids,
	.supports_autosuspend = 0,
	.soft_unbind	= 0,
	.disable_hub_initiated_lpm = 1,
};

int remsim_usb_init(void)
{
	return usb_register(&st2_driver);
}

void remsim_usb_exit(void)
{
	usb_deregister(&st2_driver);
}
