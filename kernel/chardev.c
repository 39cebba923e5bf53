// SPDX-License-Identifier: GPL-2.0
/*
 * chardev.c - /dev/remsimN: open, read, write, poll and the ioctls, the
 * same for every backend. The ABI is include/uapi/linux/remsim_dev.h.
 *
 * An open file pins its slot (the cdev holds the slot's device), so
 * file->private_data stays valid until release even after the slot is
 * removed; every call then fails with ENODEV.
 */
#include <linux/fs.h>
#include <linux/pid.h>
#include <linux/poll.h>
#include <linux/sched.h>
#include <linux/uaccess.h>

#include "remsim.h"

/* What the compat layer and 32-bit callers rely on. */
static_assert(sizeof(struct remsim_msg_hdr) == 24);
static_assert(sizeof(struct remsim_apdu) == 8);
static_assert(sizeof(struct remsim_signals) == 24);
static_assert(sizeof(struct remsim_pps) == 16);
static_assert(sizeof(struct remsim_card) == 8);
static_assert(sizeof(struct remsim_error) == 16);
static_assert(sizeof(struct remsim_info) == 152);
static_assert(sizeof(struct remsim_atr) == 48);
static_assert(sizeof(struct remsim_status) == 40);
static_assert(sizeof(struct remsim_stats) == 192);
static_assert(sizeof(struct remsim_mode) == 8);
static_assert(sizeof(struct remsim_modem_reset) == 8);
static_assert(sizeof(struct remsim_sim_select) == 8);
static_assert(REMSIM_MSG_MAX_PAYLOAD >= sizeof(struct remsim_apdu) + T0_HDR_LEN + T0_LC_MAX);
static_assert(REMSIM_MSG_MAX_PAYLOAD >= T0_LE_MAX + 2);
/* read() copies hdr and payload out of a message in one go. */
static_assert(offsetof(struct remsim_msg, payload) ==
	      offsetof(struct remsim_msg, hdr) + sizeof(struct remsim_msg_hdr));

static int remsim_open(struct inode *inode, struct file *file)
{
	struct remsim_slot *slot = container_of(inode->i_cdev, struct remsim_slot, cdev);
	int ret = 0;

	mutex_lock(&slot->mutex);
	if (slot->dead)
		ret = -ENODEV;
	else if (slot->owned)
		ret = -EBUSY;
	else {
		spin_lock_irq(&slot->lock);
		slot->owned = true;
		slot->owner = get_pid(task_tgid(current));
		spin_unlock_irq(&slot->lock);
		file->private_data = slot;
	}
	mutex_unlock(&slot->mutex);
	if (ret)
		return ret;
	return stream_open(inode, file);
}

static int remsim_release(struct inode *inode, struct file *file)
{
	struct remsim_slot *slot = file->private_data;
	struct pid *owner;

	remsim_xchg_release(slot);
	mutex_lock(&slot->mutex);
	spin_lock_irq(&slot->lock);
	slot->owned = false;
	owner = slot->owner;
	slot->owner = NULL;
	spin_unlock_irq(&slot->lock);
	put_pid(owner);
	mutex_unlock(&slot->mutex);
	return 0;
}

/* The owner's read took msg: the backend hears of room if it waits for it. */
static void read_room(struct remsim_slot *slot)
{
	mutex_lock(&slot->mutex);
	if (!slot->dead && slot->ops->up_room)
		slot->ops->up_room(slot);
	mutex_unlock(&slot->mutex);
}

/*
 * A fault on the user's buffer must not cost the message: it goes back to
 * the head of the queue, unread again - an APDU too, unless a reset or a
 * time-out ended it meanwhile (it counted as read then, and the owner was
 * told), so it cannot be withdrawn behind the owner's back.
 */
static void read_unget(struct remsim_slot *slot, struct remsim_msg *msg)
{
	spin_lock_irq(&slot->lock);
	if (slot->dead) {
		spin_unlock_irq(&slot->lock);
		remsim_msg_free(msg);
		return;
	}
	remsim_xchg_unread_locked(slot, msg);
	spin_unlock_irq(&slot->lock);
}

/*
 * The message leaves the queue before it is copied out, in one step under
 * the lock: a withdrawal (reset, time-out) either comes first and the
 * message is never returned, or comes after and finds it read.
 */
static ssize_t read_one(struct remsim_slot *slot, struct file *file, char __user *buf,
			size_t count)
{
	struct remsim_msg *msg;
	ssize_t ret;
	size_t size;
	bool room;

	for (;;) {
		spin_lock_irq(&slot->lock);
		if (slot->dead) {
			spin_unlock_irq(&slot->lock);
			return -ENODEV;
		}
		msg = list_first_entry_or_null(&slot->up, struct remsim_msg, node);
		if (msg)
			break;
		spin_unlock_irq(&slot->lock);
		if (file->f_flags & O_NONBLOCK)
			return -EAGAIN;
		ret = wait_event_interruptible(slot->read_wait, READ_ONCE(slot->up_len) ||
					       READ_ONCE(slot->dead));
		if (ret)
			return ret;
	}
	size = sizeof(msg->hdr) + msg->hdr.len;
	if (count < size) {
		spin_unlock_irq(&slot->lock);
		return -EMSGSIZE;
	}
	room = remsim_xchg_read_locked(slot, msg);
	spin_unlock_irq(&slot->lock);

	if (copy_to_user(buf, &msg->hdr, size)) {
		read_unget(slot, msg);
		ret = -EFAULT;
	} else {
		remsim_msg_free(msg);
		ret = size;
	}
	/*
	 * Even after a fault: a backend that waits for room looks again and
	 * waits again, rather than miss the one wake-up.
	 */
	if (room)
		read_room(slot);
	return ret;
}

static ssize_t remsim_read(struct file *file, char __user *buf, size_t count, loff_t *ppos)
{
	struct remsim_slot *slot = file->private_data;
	ssize_t ret;

	/* Threads of the owner read one at a time: each message once. */
	ret = mutex_lock_interruptible(&slot->read_mutex);
	if (ret)
		return ret;
	ret = read_one(slot, file, buf, count);
	mutex_unlock(&slot->read_mutex);
	return ret;
}

static ssize_t remsim_write(struct file *file, const char __user *buf, size_t count,
			    loff_t *ppos)
{
	struct remsim_slot *slot = file->private_data;
	union {
		struct remsim_msg_hdr hdr;
		u8 bytes[REMSIM_MSG_MAX];
	} copy;
	ssize_t ret;

	if (READ_ONCE(slot->dead))
		return -ENODEV;
	if (count < sizeof(copy.hdr) || count > sizeof(copy))
		return -EINVAL;
	if (copy_from_user(copy.bytes, buf, count))
		return -EFAULT;
	if (copy.hdr.len != count - sizeof(copy.hdr))
		return -EINVAL;
	ret = remsim_xchg_write(slot, &copy.hdr, copy.bytes + sizeof(copy.hdr), copy.hdr.len,
				file->f_flags & O_NONBLOCK);
	return ret < 0 ? ret : count;
}

static __poll_t remsim_poll(struct file *file, poll_table *wait)
{
	struct remsim_slot *slot = file->private_data;
	__poll_t mask = 0;

	poll_wait(file, &slot->read_wait, wait);
	poll_wait(file, &slot->write_wait, wait);

	spin_lock_irq(&slot->lock);
	if (slot->dead) {
		mask = EPOLLHUP | EPOLLERR;
	} else {
		if (slot->up_len)
			mask |= EPOLLIN | EPOLLRDNORM;
		if (slot->up_oob)
			mask |= EPOLLPRI;
		if (slot->down_len < remsim_queue_depth)
			mask |= EPOLLOUT | EPOLLWRNORM;
	}
	spin_unlock_irq(&slot->lock);
	return mask;
}

/* --- ioctls, one helper each; slot->mutex held, slot alive ---------------- */

static bool all_zero(const void *p, size_t len)
{
	return !memchr_inv(p, 0, len);
}

static long ioc_get_info(struct remsim_slot *slot, void __user *arg)
{
	struct remsim_info info;

	memset(&info, 0, sizeof(info));
	info.api_version = REMSIM_API_VERSION;
	info.backend = slot->backend;
	info.features = slot->features;
	info.index = slot->index;
	info.interface = slot->interface;
	strscpy(info.board, slot->board, sizeof(info.board));
	strscpy(info.bus_path, slot->bus_path, sizeof(info.bus_path));
	return copy_to_user(arg, &info, sizeof(info)) ? -EFAULT : 0;
}

static long ioc_set_atr(struct remsim_slot *slot, void __user *arg, bool *changed)
{
	struct remsim_atr atr;
	int ret;

	if (copy_from_user(&atr, arg, sizeof(atr)))
		return -EFAULT;
	if ((atr.flags & ~__REMSIM_ATR_F_ALL) || !all_zero(atr.reserved, sizeof(atr.reserved)))
		return -EINVAL;
	if (atr.len < 2 || atr.len > REMSIM_ATR_MAX)
		return -EINVAL;
	if (atr_check(atr.atr, atr.len, atr.flags & REMSIM_ATR_F_FIX_TCK))
		return -EINVAL;
	ret = slot->ops->set_atr(slot, atr.atr, atr.len);
	if (ret)
		return ret;
	spin_lock_irq(&slot->lock);
	memcpy(slot->atr, atr.atr, atr.len);
	slot->atr_len = atr.len;
	spin_unlock_irq(&slot->lock);
	*changed = true;
	return 0;
}

static long ioc_get_atr(struct remsim_slot *slot, void __user *arg)
{
	struct remsim_atr atr;

	memset(&atr, 0, sizeof(atr));
	atr.len = slot->atr_len;
	memcpy(atr.atr, slot->atr, slot->atr_len);
	return copy_to_user(arg, &atr, sizeof(atr)) ? -EFAULT : 0;
}

static long ioc_card_insert(struct remsim_slot *slot, void __user *arg)
{
	struct remsim_card card;
	int ret;

	if (copy_from_user(&card, arg, sizeof(card)))
		return -EFAULT;
	if (card.flags || card.inserted > 1)
		return -EINVAL;
	if (!(slot->features & REMSIM_FEAT_CARD_INSERT))
		return -EOPNOTSUPP;
	ret = slot->ops->card_insert(slot, card.inserted);
	if (!ret)
		slot->card_inserted = card.inserted;
	return ret;
}

static long ioc_get_status(struct remsim_slot *slot, void __user *arg)
{
	struct remsim_status st;

	memset(&st, 0, sizeof(st));
	spin_lock_irq(&slot->lock);
	st.signals = slot->signals.state;
	st.voltage_mv = slot->signals.voltage_mv;
	st.fi = slot->signals.fi;
	st.di = slot->signals.di;
	st.wi = slot->signals.wi;
	st.waiting_time = slot->signals.waiting_time;
	st.t0_state = slot->mode == REMSIM_MODE_RAW ? REMSIM_T0_RAW : slot->t0.state;
	st.mode = slot->mode;
	st.up_queued = slot->up_len;
	st.down_queued = slot->down_len;
	spin_unlock_irq(&slot->lock);
	st.card_inserted = slot->card_inserted;
	return copy_to_user(arg, &st, sizeof(st)) ? -EFAULT : 0;
}

static long ioc_get_stats(struct remsim_slot *slot, void __user *arg)
{
	struct remsim_stats stats;

	spin_lock_irq(&slot->lock);
	stats = slot->stats;
	spin_unlock_irq(&slot->lock);
	return copy_to_user(arg, &stats, sizeof(stats)) ? -EFAULT : 0;
}

static long ioc_reset_stats(struct remsim_slot *slot)
{
	spin_lock_irq(&slot->lock);
	memset(&slot->stats, 0, sizeof(slot->stats));
	memset(&slot->latency, 0, sizeof(slot->latency));
	spin_unlock_irq(&slot->lock);
	return 0;
}

static long ioc_set_mode(struct remsim_slot *slot, void __user *arg)
{
	struct remsim_mode mode;

	if (copy_from_user(&mode, arg, sizeof(mode)))
		return -EFAULT;
	if (mode.flags || mode.mode > REMSIM_MODE_RAW)
		return -EINVAL;
	if (mode.mode == REMSIM_MODE_RAW && !(slot->features & REMSIM_FEAT_RAW_MODE))
		return -EOPNOTSUPP;
	return remsim_xchg_set_mode(slot, mode.mode);
}

static long ioc_modem_reset(struct remsim_slot *slot, void __user *arg)
{
	struct remsim_modem_reset mr;

	if (copy_from_user(&mr, arg, sizeof(mr)))
		return -EFAULT;
	if (mr.action > REMSIM_MODEM_RESET_PULSE)
		return -EINVAL;
	if (mr.action == REMSIM_MODEM_RESET_PULSE ?
	    (mr.pulse_ms < 1 || mr.pulse_ms > 65535) : mr.pulse_ms)
		return -EINVAL;
	if (!slot->ops->modem_reset || !(slot->features & REMSIM_FEAT_MODEM_RESET))
		return -EOPNOTSUPP;
	return slot->ops->modem_reset(slot, mr.action, mr.pulse_ms);
}

static long ioc_sim_select(struct remsim_slot *slot, void __user *arg)
{
	struct remsim_sim_select sel;

	if (copy_from_user(&sel, arg, sizeof(sel)))
		return -EFAULT;
	if (sel.flags || sel.remote > 1)
		return -EINVAL;
	if (!slot->ops->sim_select || !(slot->features & REMSIM_FEAT_SIM_SELECT))
		return -EOPNOTSUPP;
	return slot->ops->sim_select(slot, sel.remote);
}

static long remsim_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct remsim_slot *slot = file->private_data;
	void __user *uarg = (void __user *)arg;
	bool changed = false;
	long ret;

	if (_IOC_TYPE(cmd) != REMSIM_IOC_MAGIC)
		return -ENOTTY;
	ret = mutex_lock_interruptible(&slot->mutex);
	if (ret)
		return ret;
	if (slot->dead) {
		ret = -ENODEV;
		goto out;
	}
	switch (cmd) {
	case REMSIM_IOC_GET_INFO:
		ret = ioc_get_info(slot, uarg);
		break;
	case REMSIM_IOC_SET_ATR:
		ret = ioc_set_atr(slot, uarg, &changed);
		break;
	case REMSIM_IOC_GET_ATR:
		ret = ioc_get_atr(slot, uarg);
		break;
	case REMSIM_IOC_CARD_INSERT:
		ret = ioc_card_insert(slot, uarg);
		break;
	case REMSIM_IOC_GET_STATUS:
		ret = ioc_get_status(slot, uarg);
		break;
	case REMSIM_IOC_GET_STATS:
		ret = ioc_get_stats(slot, uarg);
		break;
	case REMSIM_IOC_RESET_STATS:
		ret = ioc_reset_stats(slot);
		break;
	case REMSIM_IOC_SET_MODE:
		ret = ioc_set_mode(slot, uarg);
		break;
	case REMSIM_IOC_MODEM_RESET:
		ret = ioc_modem_reset(slot, uarg);
		break;
	case REMSIM_IOC_SIM_SELECT:
		ret = ioc_sim_select(slot, uarg);
		break;
	default:
		ret = -ENOTTY;
	}
out:
	mutex_unlock(&slot->mutex);
	if (changed) {
		/* Not under the mutex: the notification takes the slot's lock. */
		remsim_slot_table_changed();
		remsim_nl_slot_event(slot, REMSIM_CMD_SLOT_CHANGE_NTF, GFP_KERNEL);
	}
	return ret;
}

const struct file_operations remsim_fops = {
	.owner		= THIS_MODULE,
	.open		= remsim_open,
	.release	= remsim_release,
	.read		= remsim_read,
	.write		= remsim_write,
	.poll		= remsim_poll,
	.unlocked_ioctl	= remsim_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= no_llseek,
};
