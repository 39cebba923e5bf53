/* SPDX-License-Identifier: GPL-2.0 */
/*
 * remsim.h - what the parts of remsim.ko share.
 */
#ifndef _REMSIM_H
#define _REMSIM_H

#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/remsim.h>
#include <linux/remsim_dev.h>

#include "remsim_backend.h"
#include "t0.h"

/* Module parameters, see main.c. */
extern unsigned int remsim_queue_depth;
extern unsigned int remsim_apdu_timeout_ms;

/*
 * A message in one of a slot's two queues. Up (to the owner): hdr and
 * payload as read() returns them. Down (to the modem): a transmission.
 */
struct remsim_msg {
	struct list_head	node;
	bool			oob;		/* counts for EPOLLPRI */
	struct remsim_msg_hdr	hdr;
	union {
		u8		payload[REMSIM_MSG_MAX_PAYLOAD];
		struct t0_tx	tx;
	};
};

struct remsim_msg *remsim_msg_alloc(gfp_t gfp);
void remsim_msg_free(struct remsim_msg *msg);
int remsim_msg_cache_init(void);
void remsim_msg_cache_exit(void);
/* Messages alive, for the leak check of the selftests (debugfs). */
long remsim_msg_live(void);

/*
 * A slot's identity label: the RSPRO client id and slot it registers as.
 * Where that identity's card is (a bankd's host and port) is user-space
 * configuration and stays out of the kernel (Documentation/slot-api.rst).
 */
struct remsim_map {
	bool		mapped;
	u32		client_id;
	u32		client_slot;
};

/*
 * A slot's APDU latency histogram (uapi remsim.h, REMSIM_A_SLOT_LATENCY):
 * fixed log2 buckets, so that timing an APDU allocates nothing and costs a
 * few instructions under the slot's lock.
 */
struct remsim_latency {
	u64		count;
	u64		sum_ns;
	u64		buckets[REMSIM_LAT_BUCKETS];
};

struct remsim_slot {
	struct device		dev;		/* refcount: the last put frees */
	struct cdev		cdev;		/* an open file pins dev */
	u32			index;		/* N of /dev/remsimN, the minor */

	/* What the backend gave; fixed for the slot's life. */
	u32			backend;
	u64			features;
	char			board[32];
	char			bus_path[64];
	u32			interface;
	const struct remsim_backend_ops *ops;
	void			*priv;
	bool			published;	/* node and table: by the backend */

	/*
	 * Locks, outermost first (the only place the order is written):
	 *
	 *   read_mutex -> mutex -> [a backend's locks] -> lock
	 *   slots_lock (slot.c, the table) -> lock
	 *
	 * A backend's locks are sim->lock (sim/sim.c), and st2->io_mutex, then
	 * st2->pump_lock, then st2->lock (usb_int.h): they come after mutex (ops
	 * run under it) and before lock (their callbacks call into exchange.c
	 * with them held).
	 * slots_lock and mutex are never held together: an op may hold mutex
	 * for as long as a board takes (2 s for a USB control message), and
	 * whatever holds the table or the genl lock must not wait for that.
	 * Fields written under both mutex and lock may be read under either.
	 *
	 * mutex: process-context state and the calls of ops, serialised with
	 * removal (no op starts once dead is set).
	 */
	struct mutex		mutex;
	/* One reader at a time: read() sleeps for a message under it. */
	struct mutex		read_mutex;
	bool			owned;		/* mutex and lock */
	/*
	 * The opener's thread group, pinned rather than numbered: netlink
	 * reports it in each reader's own PID namespace. mutex and lock.
	 */
	struct pid		*owner;
	u8			atr[REMSIM_ATR_MAX];	/* mutex and lock */
	unsigned int		atr_len;		/* mutex and lock */
	bool			card_inserted;	/* mutex */

	/*
	 * lock: exchange state, shared with the backend's callbacks in any
	 * context (interrupts off), and whatever netlink reads, which never
	 * waits behind an op. Everything from here to stats is under it.
	 */
	spinlock_t		lock;
	bool			dead;		/* written under mutex and lock */
	/*
	 * REMSIM_MODE_*: lock. The SET_MODE ioctl also holds mutex, but the
	 * owner's close returns to APDU mode without it.
	 */
	u32			mode;
	struct remsim_map	map;		/* no op uses it: lock alone */
	struct list_head	up;		/* to the owner */
	unsigned int		up_len;
	unsigned int		up_oob;		/* out-of-band ones among them */
	bool			up_full_seen;	/* a producer found it full */
	struct list_head	down;		/* to the modem */
	unsigned int		down_len;
	u64			seq;		/* of the last up message */
	struct t0		t0;
	bool			raw_busy;	/* raw: a TPDU awaits its status */
	struct remsim_msg	*apdu_msg;	/* queued, not yet read */
	u64			apdu_seq;	/* the APDU waiting for an answer */
	unsigned long		apdu_since;	/* jiffies it was queued */
	u64			apdu_queued_ns;	/* ktime_get_ns() of the same */
	struct remsim_signals	signals;
	struct remsim_stats	stats;
	struct remsim_latency	latency;	/* reset with stats */

	/* Synchronised by themselves. */
	wait_queue_head_t	read_wait;	/* owner: read, poll */
	wait_queue_head_t	write_wait;	/* owner: write room */
	struct delayed_work	timeout_work;	/* apdu_timeout */
};

static inline struct remsim_slot *to_remsim_slot(struct device *dev)
{
	return container_of(dev, struct remsim_slot, dev);
}

/* slot.c */
int remsim_slot_core_init(void);
void remsim_slot_core_exit(void);
/* Finds a live slot and takes a reference (put_device); NULL if none. */
struct remsim_slot *remsim_slot_get(u32 index);
/*
 * Calls fn for every live slot from index on, in order, under the slot
 * table lock, until fn returns non-zero; returns that, or 0. *generation
 * tells a dump whether the table changed. fn may take the slot's spinlock,
 * never its mutex.
 */
int remsim_slot_for_each(u32 from, int (*fn)(struct remsim_slot *slot, void *arg),
			 void *arg, unsigned long *generation);
/* The table changed in a way a dump must notice (mapping, ATR). */
void remsim_slot_table_changed(void);

/* exchange.c: the T=0 engine between the backend and the queues */
void remsim_xchg_init(struct remsim_slot *slot);
/*
 * The owner's read takes msg off the up queue (under lock); true when the
 * backend is to hear of the room (ops->up_room).
 */
bool remsim_xchg_read_locked(struct remsim_slot *slot, struct remsim_msg *msg);
/* The copy to the owner failed: msg goes back to the head, unread (under lock). */
void remsim_xchg_unread_locked(struct remsim_slot *slot, struct remsim_msg *msg);
/* One message from the owner; the length its write() returns, or -errno. */
ssize_t remsim_xchg_write(struct remsim_slot *slot, const struct remsim_msg_hdr *hdr,
			  const u8 *payload, size_t len, bool nonblock);
/* The owner closes: an APDU it read and did not answer is abandoned. */
void remsim_xchg_release(struct remsim_slot *slot);
int remsim_xchg_set_mode(struct remsim_slot *slot, u32 mode);
/* The slot is dead: empty both queues. */
void remsim_xchg_flush(struct remsim_slot *slot);
void remsim_xchg_timeout(struct work_struct *work);

/* chardev.c */
extern const struct file_operations remsim_fops;

/* usb.c: the SIMtrace2-family USB driver (usb_int.h) */
int remsim_usb_init(void);
void remsim_usb_exit(void);

/* netlink.c */
int remsim_netlink_init(void);
void remsim_netlink_exit(void);
void remsim_nl_slot_event(struct remsim_slot *slot, u8 cmd, gfp_t gfp);
void remsim_nl_signal_event(struct remsim_slot *slot, u32 state, u32 changed);
void remsim_nl_error_event(struct remsim_slot *slot, u32 code);

/* atr.c (plain C) */
#include "atr.h"

#endif /* _REMSIM_H */
