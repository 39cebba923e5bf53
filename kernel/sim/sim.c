// SPDX-License-Identifier: GPL-2.0
/*
 * remsim_sim - simulated remsim slots, for tests and demos (mac80211_hwsim
 * and netdevsim are the models). Production systems never load it.
 *
 * Each simulated slot is a real remsim slot (the same /dev/remsimN, slot
 * core and T=0 engine as a USB board's) whose board is simulated here: the
 * card side of T=0 as the SIMtrace2 cardem firmware plays it (cardem.c),
 * with a modem side in debugfs that a test or demo program drives as the
 * phone (sim_modem.h).
 *
 * Slots come from the netlink command sim-new (remsimctl sim add), optionally
 * destroyed when the asking socket closes, or from the slots= parameter.
 *
 * Locking (the order is in remsim.h): sim->lock, a BH lock because the
 * NULL-byte timer takes it, covers the card emulator and the records for
 * the modem (see struct sim), and the calls into the slot core are made
 * under it. The slot core calls our ops with its mutex held. sims_lock
 * covers the list of sims.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/timer.h>
#include <linux/uaccess.h>

#include "cardem.h"
#include "remsim_backend.h"
#include "sim_modem.h"

static unsigned int slots;
module_param(slots, uint, 0444);
MODULE_PARM_DESC(slots, "simulated slots to create at load (default 0)");

static unsigned int clock_khz = 3571;
module_param(clock_khz, uint, 0644);
MODULE_PARM_DESC(clock_khz,
		 "the simulated SIM clock in kHz; sets how often NULL bytes come (default 3571)");

/* Bytes for the modem nobody reads (NULL bytes pile up) stop here. */
#define OUT_MAX		(64 * 1024)

struct sim_rec {
	struct list_head	node;
	u8			type;
	u16			len;
	u8			data[SIM_MODEM_MAX_BYTES];
};

struct sim {
	struct list_head	node;		/* sims, under sims_lock */
	struct kref		ref;		/* list + open modem file */

	/* Set before the sim is on the list or published; fixed after. */
	struct remsim_slot	*slot;		/* we hold a device reference */
	u32			index;
	int			number;		/* the simulated slot's own number */
	const struct net	*owner_net;	/* destroy when (net, portid) closes */
	u32			owner_portid;
	struct dentry		*dir;

	/*
	 * lock (spin_lock_bh): everything from here to out_dropped. Sleepers
	 * test dead with READ_ONCE() in their wait conditions only.
	 */
	spinlock_t		lock;
	bool			dead;
	bool			modem_open;
	struct cardem		ce;
	struct list_head	out;		/* records for the modem */
	size_t			out_bytes;
	u32			out_dropped;

	/* Synchronised by themselves; the timer runs its work under lock. */
	wait_queue_head_t	read_wait;	/* modem: records */
	wait_queue_head_t	write_wait;	/* modem: room in the owner's queue */
	struct timer_list	null_timer;
};

static LIST_HEAD(sims);
static DEFINE_MUTEX(sims_lock);
static DEFINE_IDA(sim_numbers);
static struct dentry *sim_debugfs;

/* --- records for the modem, under sim->lock ------------------------------- */

static void out_add(struct sim *sim, u8 type, const u8 *data, size_t len)
{
	struct sim_rec *rec = list_empty(&sim->out) ? NULL :
			      list_last_entry(&sim->out, struct sim_rec, node);

	lockdep_assert_held(&sim->lock);
	while (len) {
		size_t n;

		if (sim->out_bytes >= OUT_MAX) {
			sim->out_dropped += len;
			break;
		}
		/* Bytes join the last bytes record while it has room. */
		if (!rec || type != SIM_MODEM_BYTES || rec->type != SIM_MODEM_BYTES ||
		    rec->len == SIM_MODEM_MAX_BYTES) {
			rec = kmalloc(sizeof(*rec), GFP_ATOMIC);
			if (!rec) {
				sim->out_dropped += len;
				break;
			}
			rec->type = type;
			rec->len = 0;
			list_add_tail(&rec->node, &sim->out);
		}
		n = min_t(size_t, len, SIM_MODEM_MAX_BYTES - rec->len);
		memcpy(rec->data + rec->len, data, n);
		rec->len += n;
		sim->out_bytes += n;
		data += n;
		len -= n;
	}
	wake_up_interruptible(&sim->read_wait);
}

/* With the last reference: nobody else can see the records any more. */
static void out_flush(struct sim *sim)
{
	struct sim_rec *rec, *tmp;

	list_for_each_entry_safe(rec, tmp, &sim->out, node) {
		list_del(&rec->node);
		kfree(rec);
	}
	sim->out_bytes = 0;
}

/* --- the card emulator's outputs, under sim->lock ---------------------------- */

static void sim_to_modem(void *ctx, const u8 *bytes, size_t len)
{
	out_add(ctx, SIM_MODEM_BYTES, bytes, len);
}

static void sim_rx_header(void *ctx, const u8 hdr[T0_HDR_LEN])
{
	struct sim *sim = ctx;

	remsim_slot_rx_header(sim->slot, hdr);
}

static void sim_rx_data(void *ctx, const u8 *data, size_t len)
{
	struct sim *sim = ctx;

	remsim_slot_rx_data(sim->slot, data, len);
}

static void sim_pts(void *ctx, const u8 *pps, u8 len, u8 fi, u8 di)
{
	struct sim *sim = ctx;
	struct remsim_pps p = { .len = len, .fi = fi, .di = di };

	memcpy(p.req, pps, len);
	memcpy(p.resp, pps, len);
	remsim_slot_pps(sim->slot, &p);
}

static void sim_status(void *ctx, u32 status)
{
	struct sim *sim = ctx;
	struct remsim_signals sig = {
		.fi = sim->ce.fi,
		.di = sim->ce.di,
		.wi = sim->ce.wi,
		.waiting_time = sim->ce.wt,
	};

	if (status & CARDEM_STATUS_VCC)
		sig.state |= REMSIM_SIG_VCC;
	if (status & CARDEM_STATUS_CLK)
		sig.state |= REMSIM_SIG_CLK;
	if (status & CARDEM_STATUS_RST)
		sig.state |= REMSIM_SIG_RST;
	remsim_slot_signals(sim->slot, &sig);
}

static const struct cardem_ops sim_cardem_ops = {
	.to_modem	= sim_to_modem,
	.rx_header	= sim_rx_header,
	.rx_data	= sim_rx_data,
	.pts		= sim_pts,
	.status		= sim_status,
};

/* Half the waiting time, the NULL-byte period, in jiffies. */
static unsigned long null_period(const struct sim *sim)
{
	u64 clocks = (u64)(sim->ce.wt / 2) * cardem_f(sim->ce.fi) / max(cardem_d(sim->ce.di), 1U);
	unsigned long ms = div_u64(clocks, max(clock_khz, 1U));

	return max(msecs_to_jiffies(ms), 1UL);
}

/*
 * Moves what the slot core has for the modem into the card emulator, as far
 * as the emulator takes it; under sim->lock.
 */
static void sim_pump(struct sim *sim)
{
	struct t0_tx tx;

	lockdep_assert_held(&sim->lock);
	while (!sim->dead) {
		if (cardem_tx_void(&sim->ce)) {
			/* No TPDU under way: the firmware drops host data. */
			while (!remsim_slot_tx_pop(sim->slot, &tx))
				sim->ce.tx_dropped++;
			break;
		}
		if (!cardem_tx_now(&sim->ce) || remsim_slot_tx_pop(sim->slot, &tx))
			break;
		cardem_host_tx(&sim->ce, &tx);
	}
	if (!sim->dead && cardem_waiting_host(&sim->ce)) {
		if (!timer_pending(&sim->null_timer))
			mod_timer(&sim->null_timer, jiffies + null_period(sim));
	} else {
		del_timer(&sim->null_timer);
	}
}

static void sim_null_timer(struct timer_list *t)
{
	struct sim *sim = from_timer(sim, t, null_timer);

	spin_lock_bh(&sim->lock);
	if (!sim->dead && cardem_waiting_host(&sim->ce)) {
		cardem_null(&sim->ce);
		mod_timer(&sim->null_timer, jiffies + null_period(sim));
	}
	spin_unlock_bh(&sim->lock);
}

/* --- what the slot core asks (its mutex held) ------------------------------ */

static void sim_tx_ready(struct remsim_slot *slot)
{
	struct sim *sim = remsim_slot_priv(slot);

	spin_lock_bh(&sim->lock);
	sim_pump(sim);
	spin_unlock_bh(&sim->lock);
}

static void sim_up_room(struct remsim_slot *slot)
{
	struct sim *sim = remsim_slot_priv(slot);

	wake_up_interruptible(&sim->write_wait);
}

static int sim_set_atr(struct remsim_slot *slot, const u8 *atr, unsigned int len)
{
	struct sim *sim = remsim_slot_priv(slot);

	spin_lock_bh(&sim->lock);
	cardem_set_atr(&sim->ce, atr, len);
	spin_unlock_bh(&sim->lock);
	return 0;
}

static int sim_card_insert(struct remsim_slot *slot, bool inserted)
{
	struct sim *sim = remsim_slot_priv(slot);
	u8 present = inserted;

	spin_lock_bh(&sim->lock);
	out_add(sim, SIM_MODEM_CARD, &present, 1);
	spin_unlock_bh(&sim->lock);
	remsim_slot_card_ack(slot, inserted);
	return 0;
}

static int sim_modem_reset(struct remsim_slot *slot, u32 action, u32 pulse_ms)
{
	struct sim *sim = remsim_slot_priv(slot);
	u8 rec[3] = { action, pulse_ms & 0xff, pulse_ms >> 8 };

	spin_lock_bh(&sim->lock);
	out_add(sim, SIM_MODEM_RESET, rec, sizeof(rec));
	spin_unlock_bh(&sim->lock);
	return 0;
}

static int sim_sim_select(struct remsim_slot *slot, bool remote)
{
	struct sim *sim = remsim_slot_priv(slot);
	u8 r = remote;

	spin_lock_bh(&sim->lock);
	cardem_enable(&sim->ce, remote);
	out_add(sim, SIM_MODEM_SIM_SELECT, &r, 1);
	sim_pump(sim);
	spin_unlock_bh(&sim->lock);
	return 0;
}

static const struct remsim_backend_ops sim_backend_ops = {
	.tx_ready	= sim_tx_ready,
	.up_room	= sim_up_room,
	.set_atr	= sim_set_atr,
	.card_insert	= sim_card_insert,
	.modem_reset	= sim_modem_reset,
	.sim_select	= sim_sim_select,
};

/* --- the modem side: /sys/kernel/debug/remsim_sim/remsimN/modem --------------- */

static void sim_free(struct kref *ref)
{
	struct sim *sim = container_of(ref, struct sim, ref);

	out_flush(sim);
	put_device(remsim_slot_device(sim->slot));
	ida_free(&sim_numbers, sim->number);
	kfree(sim);
}

static int modem_open(struct inode *inode, struct file *file)
{
	struct sim *sim = inode->i_private;
	int ret = 0;

	spin_lock_bh(&sim->lock);
	if (sim->dead)
		ret = -ENODEV;
	else if (sim->modem_open)
		ret = -EBUSY;
	else
		sim->modem_open = true;
	spin_unlock_bh(&sim->lock);
	if (ret)
		return ret;
	kref_get(&sim->ref);
	file->private_data = sim;
	/*
	 * A stream: no file position, so no position lock, which would let a
	 * blocked read() on a shared file stop the write() that wakes it.
	 */
	return stream_open(inode, file);
}

static int modem_release(struct inode *inode, struct file *file)
{
	struct sim *sim = file->private_data;

	spin_lock_bh(&sim->lock);
	sim->modem_open = false;
	spin_unlock_bh(&sim->lock);
	kref_put(&sim->ref, sim_free);
	return 0;
}

static ssize_t modem_read(struct file *file, char __user *buf, size_t count, loff_t *ppos)
{
	struct sim *sim = file->private_data;
	u8 hdr[SIM_MODEM_HDR];
	struct sim_rec *rec;
	size_t size;
	ssize_t ret;

	for (;;) {
		spin_lock_bh(&sim->lock);
		rec = list_first_entry_or_null(&sim->out, struct sim_rec, node);
		if (rec || sim->dead)
			break;
		spin_unlock_bh(&sim->lock);
		if (file->f_flags & O_NONBLOCK)
			return -EAGAIN;
		ret = wait_event_interruptible(sim->read_wait,
					       !list_empty_careful(&sim->out) ||
					       READ_ONCE(sim->dead));
		if (ret)
			return ret;
	}
	if (!rec) {
		spin_unlock_bh(&sim->lock);
		return -ENODEV;
	}
	size = SIM_MODEM_HDR + rec->len;
	if (count < size) {
		spin_unlock_bh(&sim->lock);
		return -EMSGSIZE;
	}
	/* Ours now: copied out straight from the record, not via the stack. */
	list_del(&rec->node);
	sim->out_bytes -= rec->len;
	spin_unlock_bh(&sim->lock);

	hdr[0] = rec->type;
	hdr[1] = rec->len & 0xff;
	hdr[2] = rec->len >> 8;
	ret = size;
	if (copy_to_user(buf, hdr, sizeof(hdr)) ||
	    copy_to_user(buf + sizeof(hdr), rec->data, rec->len))
		ret = -EFAULT;
	kfree(rec);
	return ret;
}

static ssize_t modem_write(struct file *file, const char __user *buf, size_t count,
			   loff_t *ppos)
{
	struct sim *sim = file->private_data;
	size_t len;
	ssize_t ret;
	u8 *rec;

	if (count < SIM_MODEM_HDR + 1 || count > SIM_MODEM_MAX_RECORD)
		return -EINVAL;
	/* Up to 515 bytes: from the heap, not the stack. */
	rec = memdup_user(buf, count);
	if (IS_ERR(rec))
		return PTR_ERR(rec);
	ret = -EINVAL;
	len = rec[1] | (rec[2] << 8);
	if (len != count - SIM_MODEM_HDR)
		goto out;
	if (rec[0] == SIM_MODEM_LINES) {
		if (len != 1 || (rec[3] & ~(SIM_MODEM_VCC | SIM_MODEM_CLK | SIM_MODEM_RST)))
			goto out;
	} else if (rec[0] != SIM_MODEM_BYTES) {
		goto out;
	}

	/* A full queue at the owner holds the modem back. */
	while (!remsim_slot_up_room(sim->slot)) {
		ret = -ENODEV;
		if (READ_ONCE(sim->dead))
			goto out;
		ret = -EAGAIN;
		if (file->f_flags & O_NONBLOCK)
			goto out;
		ret = wait_event_interruptible(sim->write_wait,
					       remsim_slot_up_room(sim->slot) ||
					       READ_ONCE(sim->dead));
		if (ret)
			goto out;
	}

	spin_lock_bh(&sim->lock);
	if (sim->dead) {
		spin_unlock_bh(&sim->lock);
		ret = -ENODEV;
		goto out;
	}
	if (rec[0] == SIM_MODEM_LINES)
		cardem_lines(&sim->ce, rec[3] & SIM_MODEM_VCC, rec[3] & SIM_MODEM_CLK,
			     rec[3] & SIM_MODEM_RST);
	else
		cardem_modem_bytes(&sim->ce, rec + SIM_MODEM_HDR, len);
	sim_pump(sim);
	spin_unlock_bh(&sim->lock);
	ret = count;
out:
	kfree(rec);
	return ret;
}

static __poll_t modem_poll(struct file *file, poll_table *wait)
{
	struct sim *sim = file->private_data;
	__poll_t mask = 0;

	poll_wait(file, &sim->read_wait, wait);
	poll_wait(file, &sim->write_wait, wait);
	spin_lock_bh(&sim->lock);
	if (sim->dead)
		mask = EPOLLHUP | EPOLLERR;
	else if (!list_empty(&sim->out))
		mask = EPOLLIN | EPOLLRDNORM;
	spin_unlock_bh(&sim->lock);
	if (!(mask & EPOLLHUP) && remsim_slot_up_room(sim->slot))
		mask |= EPOLLOUT | EPOLLWRNORM;
	return mask;
}

static const struct file_operations modem_fops = {
	.owner		= THIS_MODULE,
	.open		= modem_open,
	.release	= modem_release,
	.read		= modem_read,
	.write		= modem_write,
	.poll		= modem_poll,
	.llseek		= no_llseek,
};

/* --- creating and destroying ------------------------------------------------ */

/* Unlinked from sims already, or never linked. */
static void sim_destroy(struct sim *sim)
{
	/* No op is called after this; our device reference keeps slot valid. */
	remsim_slot_remove(sim->slot);

	spin_lock_bh(&sim->lock);
	sim->dead = true;
	spin_unlock_bh(&sim->lock);
	wake_up_interruptible_all(&sim->read_wait);
	wake_up_interruptible_all(&sim->write_wait);
	del_timer_sync(&sim->null_timer);
	/* Waits for modem file calls in progress; they see dead and leave. */
	debugfs_remove_recursive(sim->dir);
	kref_put(&sim->ref, sim_free);
}

static struct sim *sim_create(const struct net *net, u32 portid)
{
	struct remsim_slot_desc desc = {
		.backend	= REMSIM_BACKEND_SIM,
		.features	= REMSIM_FEAT_RAW_MODE | REMSIM_FEAT_CARD_INSERT |
				  REMSIM_FEAT_MODEM_RESET | REMSIM_FEAT_SIM_SELECT,
		.board		= "remsim_sim",
		.bus_path	= "sim",
		.ops		= &sim_backend_ops,
	};
	struct remsim_slot *slot;
	struct sim *sim;
	int ret;

	sim = kzalloc(sizeof(*sim), GFP_KERNEL);
	if (!sim)
		return ERR_PTR(-ENOMEM);
	ret = ida_alloc(&sim_numbers, GFP_KERNEL);
	if (ret < 0) {
		kfree(sim);
		return ERR_PTR(ret);
	}
	sim->number = ret;
	kref_init(&sim->ref);
	spin_lock_init(&sim->lock);
	INIT_LIST_HEAD(&sim->out);
	init_waitqueue_head(&sim->read_wait);
	init_waitqueue_head(&sim->write_wait);
	timer_setup(&sim->null_timer, sim_null_timer, 0);
	sim->owner_net = net;
	sim->owner_portid = portid;
	cardem_init(&sim->ce, &sim_cardem_ops, sim);
	/* Like the USB driver does at probe: the emulated SIM is selected. */
	sim->ce.enabled = true;

	desc.interface = sim->number;
	desc.priv = sim;
	desc.atr = sim->ce.atr;
	desc.atr_len = sim->ce.atr_len;
	slot = remsim_slot_create(&desc);
	if (IS_ERR(slot)) {
		ida_free(&sim_numbers, sim->number);
		kfree(sim);
		return ERR_CAST(slot);
	}
	sim->slot = slot;
	sim->index = remsim_slot_index(slot);
	get_device(remsim_slot_device(slot));

	sim->dir = debugfs_create_dir(dev_name(remsim_slot_device(slot)), sim_debugfs);
	debugfs_create_file("modem", 0600, sim->dir, sim, &modem_fops);

	/* Last: from here on the owner may call our ops, which use sim->slot. */
	ret = remsim_slot_publish(slot);
	if (ret) {
		sim_destroy(sim);
		return ERR_PTR(ret);
	}
	mutex_lock(&sims_lock);
	list_add_tail(&sim->node, &sims);
	mutex_unlock(&sims_lock);
	return sim;
}

static struct remsim_slot *sim_ops_create(const struct net *net, u32 portid)
{
	struct sim *sim = sim_create(net, portid);

	if (IS_ERR(sim))
		return ERR_CAST(sim);
	/* The caller's reference. */
	get_device(remsim_slot_device(sim->slot));
	return sim->slot;
}

static int sim_ops_destroy(u32 index)
{
	struct sim *sim, *found = NULL;

	mutex_lock(&sims_lock);
	list_for_each_entry(sim, &sims, node) {
		if (sim->index == index) {
			list_del(&sim->node);
			found = sim;
			break;
		}
	}
	mutex_unlock(&sims_lock);
	if (!found)
		return -ENOENT;
	sim_destroy(found);
	return 0;
}

static void sim_ops_release_portid(const struct net *net, u32 portid)
{
	struct sim *sim, *tmp;
	LIST_HEAD(gone);

	mutex_lock(&sims_lock);
	list_for_each_entry_safe(sim, tmp, &sims, node) {
		if (sim->owner_net == net && sim->owner_portid == portid)
			list_move_tail(&sim->node, &gone);
	}
	mutex_unlock(&sims_lock);
	list_for_each_entry_safe(sim, tmp, &gone, node) {
		list_del(&sim->node);
		sim_destroy(sim);
	}
}

static const struct remsim_sim_ops sim_ops = {
	.owner		= THIS_MODULE,
	.create		= sim_ops_create,
	.destroy	= sim_ops_destroy,
	.release_portid	= sim_ops_release_portid,
};

static void sim_destroy_all(void)
{
	struct sim *sim, *tmp;
	LIST_HEAD(gone);

	mutex_lock(&sims_lock);
	list_splice_init(&sims, &gone);
	mutex_unlock(&sims_lock);
	list_for_each_entry_safe(sim, tmp, &gone, node) {
		list_del(&sim->node);
		sim_destroy(sim);
	}
}

static int __init remsim_sim_init(void)
{
	unsigned int i;
	int ret;

	sim_debugfs = debugfs_create_dir("remsim_sim", NULL);
	for (i = 0; i < slots; i++) {
		struct sim *sim = sim_create(NULL, 0);

		if (IS_ERR(sim)) {
			ret = PTR_ERR(sim);
			goto err_destroy;
		}
	}
	ret = remsim_sim_ops_register(&sim_ops);
	if (ret)
		goto err_destroy;
	return 0;

err_destroy:
	sim_destroy_all();
	debugfs_remove_recursive(sim_debugfs);
	return ret;
}

static void __exit remsim_sim_exit(void)
{
	remsim_sim_ops_unregister(&sim_ops);
	sim_destroy_all();
	debugfs_remove_recursive(sim_debugfs);
	ida_destroy(&sim_numbers);
}

module_init(remsim_sim_init);
module_exit(remsim_sim_exit);

MODULE_DESCRIPTION("Simulated remsim slots for tests and demos");
MODULE_AUTHOR("The remsim developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(REMSIM_VERSION);
