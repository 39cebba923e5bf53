/* SPDX-License-Identifier: GPL-2.0 */
/*
 * usb_int.h - what the three files of the SIMtrace2-family driver share: the
 * board's state, its limits and the calls between the files. usb.c binds
 * the board (probe, disconnect, reset, power management), usb_io.c moves
 * its messages (the URBs, the OUT queue, the IN completions), usb_ops.c
 * answers the slot core. Nothing outside the driver includes it.
 */
#ifndef _REMSIM_USB_INT_H
#define _REMSIM_USB_INT_H

#include <linux/completion.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
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

/* usb_io.c: the OUT queue and its URBs */
/* A control message is done (sent, failed, not sent); under st2->lock. */
void st2_ctrl_done(struct st2 *st2, const struct st2_out *m, int status);
/* Queues one message for the board; any context. */
int st2_send(struct st2 *st2, const u8 *buf, size_t len, int card_ack);
/* The same, and waits until the board took it (a slot op). */
int st2_send_ctrl(struct st2 *st2, const u8 *buf, size_t len, int card_ack);
/* What the slot core has for the modem goes out; any context. */
void st2_pump(struct st2 *st2);
void st2_out_complete(struct urb *urb);

/* usb_io.c: the IN URBs and the work after transfer errors */
void st2_in_resubmit(struct st2 *st2, unsigned int i, gfp_t gfp);
void st2_in_complete(struct urb *urb);
/* Resubmits what waited for room or for a cleared halt; process context. */
void st2_unpark(struct st2 *st2);
void st2_retry_work(struct work_struct *work);
void st2_halt_work(struct work_struct *work);

/* usb_ops.c: what the slot core asks */
extern const struct remsim_backend_ops st2_ops;

#endif /* _REMSIM_USB_INT_H */
