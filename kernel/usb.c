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
 * come in at once (see st2_in_complete, usb_io.c). The board reboots when
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
 *
 * This file binds the board: its ids, probe, disconnect, reset and power
 * management. usb_io.c moves its messages (the URBs), usb_ops.c answers the
 * slot core; usb_int.h holds the board's state and limits they share.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/slab.h>

#include "usb_int.h"

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
