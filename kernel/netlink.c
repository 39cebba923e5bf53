// SPDX-License-Identifier: GPL-2.0
/*
 * netlink.c - the generic netlink family "remsim" (include/uapi/linux/remsim.h,
 * Documentation/netlink/specs/remsim.yaml): list slots, map them, create and
 * delete simulated slots, and the "events" multicast group.
 *
 * Every command has its own policy, so that an attribute it does not take
 * is refused like an unknown one; ranges and lengths are in the policies,
 * what they cannot say is checked in the handlers with an extended ACK that
 * names the attribute.
 *
 * Permissions (Documentation/rack.rst, "Permissions"): commands that change
 * anything need CAP_NET_ADMIN over the initial user namespace, because
 * slots are machine-wide. Anybody may list the slots, but a caller sees a
 * slot's ATR, map and counters only as an admin or when it may open the
 * slot's node for reading and writing (the remsim group, for
 * remsim-client); everybody else gets the public view, marked
 * REMSIM_A_SLOT_LIMITED. The "events" group carries the full view and is
 * for admins; the "slots" group carries the public view of additions,
 * removals and changes to anybody, who then asks with slot-get.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kmod.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/mutex.h>
#include <linux/namei.h>
#include <linux/netlink.h>
#include <linux/pid.h>
#include <linux/rcupdate.h>
#include <linux/user_namespace.h>
#include <net/genetlink.h>
#include <net/netlink.h>

#include "remsim.h"

#define SLOT_INDEX_MAX	1023

static struct genl_family remsim_family;

/* Binding needs the flag's check, which 6.1 got in its stable updates. */
#ifndef GENL_MCAST_CAP_NET_ADMIN
#error "remsim needs GENL_MCAST_CAP_NET_ADMIN (Linux 6.7, or a 6.1/6.6 stable update with it)"
#endif

enum remsim_mcgrp {
	REMSIM_MCGRP_EVENTS,
	REMSIM_MCGRP_SLOTS,
};

static const struct genl_multicast_group remsim_mcgrps[] = {
	[REMSIM_MCGRP_EVENTS] = { .name = REMSIM_GENL_MCGRP_EVENTS,
				  .flags = GENL_MCAST_CAP_NET_ADMIN },
	[REMSIM_MCGRP_SLOTS] = { .name = REMSIM_GENL_MCGRP_SLOTS },
};

/* --- policies ------------------------------------------------------------ */

/*
 * The static bank target (bank id and slot, bankd host and port) was kept
 * here once only to be handed back to remsim-client: it is daemon
 * configuration, which remsimctl now keeps in user space. Its attribute
 * numbers stay reserved and are refused with a message that says so.
 */
#define STATIC_TARGET_GONE(attr) \
	attr ": the static bank target is user-space configuration, " \
	"kept by remsimctl in /run/remsim/targets, not in the kernel"

static const struct nla_policy map_policy[REMSIM_MAP_A_MAX + 1] = {
	[REMSIM_MAP_A_CLIENT_ID]	= NLA_POLICY_MAX(NLA_U32, REMSIM_MAP_ID_MAX),
	[REMSIM_MAP_A_CLIENT_SLOT]	= NLA_POLICY_MAX(NLA_U32, REMSIM_MAP_ID_MAX),
	[REMSIM_MAP_A_BANK_ID]		= { .type = NLA_REJECT,
					    .reject_message = STATIC_TARGET_GONE("bank-id") },
	[REMSIM_MAP_A_BANK_SLOT]	= { .type = NLA_REJECT,
					    .reject_message = STATIC_TARGET_GONE("bank-slot") },
	[REMSIM_MAP_A_BANKD_HOST]	= { .type = NLA_REJECT,
					    .reject_message = STATIC_TARGET_GONE("bankd-host") },
	[REMSIM_MAP_A_BANKD_PORT]	= { .type = NLA_REJECT,
					    .reject_message = STATIC_TARGET_GONE("bankd-port") },
};

static const struct nla_policy slot_get_policy[REMSIM_A_MAX + 1] = {
	[REMSIM_A_SLOT_INDEX]	= NLA_POLICY_MAX(NLA_U32, SLOT_INDEX_MAX),
};

static const struct nla_policy slot_set_policy[REMSIM_A_MAX + 1] = {
	[REMSIM_A_SLOT_INDEX]	= NLA_POLICY_MAX(NLA_U32, SLOT_INDEX_MAX),
	[REMSIM_A_SLOT_MAP]	= NLA_POLICY_NESTED(map_policy),
};

static const struct nla_policy slot_unset_policy[REMSIM_A_MAX + 1] = {
	[REMSIM_A_SLOT_INDEX]	= NLA_POLICY_MAX(NLA_U32, SLOT_INDEX_MAX),
};

static const struct nla_policy sim_new_policy[REMSIM_A_MAX + 1] = {
	[REMSIM_A_SIM_DESTROY_ON_CLOSE]	= { .type = NLA_FLAG },
};

static const struct nla_policy sim_del_policy[REMSIM_A_MAX + 1] = {
	[REMSIM_A_SLOT_INDEX]	= NLA_POLICY_MAX(NLA_U32, SLOT_INDEX_MAX),
};

/* --- who sees what ---------------------------------------------------------- */

/*
 * Who a message is for: the caller of a request (in whose PID namespace
 * an owner is reported), or the members of a multicast group, whom no
 * single PID namespace fits (owner PIDs read 0 there).
 */
struct reader {
	bool	caller;
	bool	admin;	/* CAP_NET_ADMIN over the initial user namespace */
};

/*
 * Whether the caller could open /dev/remsimN for reading and writing, as
 * udev set its owner, group, mode and ACL, under its device cgroup. Only
 * this slot's own node counts, and only on a mount that honours device
 * nodes: a node faked on a mount of a user namespace (FUSE, tmpfs) grants
 * nothing. Sleeps.
 */
static bool may_use_node(struct remsim_slot *slot)
{
	struct inode *inode;
	struct path path;
	char name[32];
	bool ok;

	snprintf(name, sizeof(name), "/dev/%s", dev_name(&slot->dev));
	if (kern_path(name, LOOKUP_FOLLOW, &path))
		return false;
	inode = d_backing_inode(path.dentry);
	ok = S_ISCHR(inode->i_mode) && inode->i_rdev == slot->dev.devt &&
	     !(path.mnt->mnt_flags & MNT_NODEV) &&
	     !(path.mnt->mnt_sb->s_iflags & SB_I_NODEV) &&
	     !path_permission(&path, MAY_READ | MAY_WRITE);
	path_put(&path);
	return ok;
}

static bool full_view(struct remsim_slot *slot, const struct reader *r)
{
	return r->admin || (r->caller && may_use_node(slot));
}

/*
 * The owner's PID as the reader may see it: in the caller's PID namespace,
 * 0 outside it, in the public view and in notifications; slot->lock held.
 */
static pid_t owner_pid(struct remsim_slot *slot, const struct reader *r, bool full)
{
	lockdep_assert_held(&slot->lock);
	if (!slot->owner || !r->caller || !full)
		return 0;
	return pid_vnr(slot->owner);
}

/* --- filling a slot's attributes ------------------------------------------- */

struct slot_view {
	bool			full;	/* else the public view */
	bool			owned;
	pid_t			owner_pid;
	u8			atr[REMSIM_ATR_MAX];
	unsigned int		atr_len;
	struct remsim_map	map;
	u32			signals;
	u32			t0_state;
	struct remsim_stats	stats;
	struct remsim_latency	latency;
};

/*
 * What a slot looks like now, as @r may see it, under its spinlock alone
 * (see remsim.h): a get or a dump never waits for an op, which may wait
 * 2 s for a board.
 */
static void slot_view(struct remsim_slot *slot, struct slot_view *v, const struct reader *r)
{
	spin_lock_irq(&slot->lock);
	v->owned = slot->owned;
	v->owner_pid = owner_pid(slot, r, v->full);
	memcpy(v->atr, slot->atr, slot->atr_len);
	v->atr_len = slot->atr_len;
	v->map = slot->map;
	v->signals = slot->signals.state;
	v->t0_state = slot->mode == REMSIM_MODE_RAW ? REMSIM_T0_RAW : slot->t0.state;
	v->stats = slot->stats;
	v->latency = slot->latency;
	spin_unlock_irq(&slot->lock);
}

static int put_map(struct sk_buff *skb, const struct remsim_map *map)
{
	struct nlattr *nest;

	if (!map->mapped)
		return 0;
	nest = nla_nest_start(skb, REMSIM_A_SLOT_MAP);
	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u32(skb, REMSIM_MAP_A_CLIENT_ID, map->client_id) ||
	    nla_put_u32(skb, REMSIM_MAP_A_CLIENT_SLOT, map->client_slot)) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

static int put_stats(struct sk_buff *skb, const struct remsim_stats *s)
{
	const struct {
		int attr;
		u64 value;
	} counters[] = {
		{ REMSIM_STATS_A_APDUS, s->apdus },
		{ REMSIM_STATS_A_RESPONSES, s->responses },
		{ REMSIM_STATS_A_BYTES_UP, s->bytes_up },
		{ REMSIM_STATS_A_BYTES_DOWN, s->bytes_down },
		{ REMSIM_STATS_A_RESETS, s->resets },
		{ REMSIM_STATS_A_POWER_CYCLES, s->power_cycles },
		{ REMSIM_STATS_A_PPS, s->pps },
		{ REMSIM_STATS_A_ERRORS, s->errors },
		{ REMSIM_STATS_A_PROTOCOL_ERRORS, s->protocol_errors },
		{ REMSIM_STATS_A_RESPONSE_ERRORS, s->response_errors },
		{ REMSIM_STATS_A_ABORTED, s->aborted },
		{ REMSIM_STATS_A_ABANDONED, s->abandoned },
		{ REMSIM_STATS_A_TIMEOUTS, s->timeouts },
		{ REMSIM_STATS_A_STALE_RESPONSES, s->stale_responses },
		{ REMSIM_STATS_A_BOARD_ERRORS, s->board_errors },
		{ REMSIM_STATS_A_UP_PEAK, s->up_peak },
		{ REMSIM_STATS_A_DOWN_PEAK, s->down_peak },
		{ REMSIM_STATS_A_UP_BACKPRESSURE, s->up_backpressure },
		{ REMSIM_STATS_A_DOWN_BACKPRESSURE, s->down_backpressure },
		{ REMSIM_STATS_A_SIGNALS_MERGED, s->signals_merged },
	};
	struct nlattr *nest;
	unsigned int i;

	nest = nla_nest_start(skb, REMSIM_A_SLOT_STATS);
	if (!nest)
		return -EMSGSIZE;
	for (i = 0; i < ARRAY_SIZE(counters); i++) {
		if (nla_put_u64_64bit(skb, counters[i].attr, counters[i].value,
				      REMSIM_STATS_A_PAD)) {
			nla_nest_cancel(skb, nest);
			return -EMSGSIZE;
		}
	}
	nla_nest_end(skb, nest);
	return 0;
}

static int put_lat_bucket(struct sk_buff *skb, u64 le_ns, u64 count)
{
	struct nlattr *nest = nla_nest_start(skb, REMSIM_LAT_A_BUCKET);

	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u64_64bit(skb, REMSIM_LAT_BUCKET_A_LE_NS, le_ns, REMSIM_LAT_BUCKET_A_PAD) ||
	    nla_put_u64_64bit(skb, REMSIM_LAT_BUCKET_A_COUNT, count, REMSIM_LAT_BUCKET_A_PAD)) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

/*
 * Every bucket with its bound, empty ones too: a reader needs no table of
 * bounds of its own, and a later change of the buckets breaks nobody.
 */
static int put_latency(struct sk_buff *skb, const struct remsim_latency *lat)
{
	struct nlattr *nest;
	unsigned int i;

	nest = nla_nest_start(skb, REMSIM_A_SLOT_LATENCY);
	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u64_64bit(skb, REMSIM_LAT_A_COUNT, lat->count, REMSIM_LAT_A_PAD) ||
	    nla_put_u64_64bit(skb, REMSIM_LAT_A_SUM_NS, lat->sum_ns, REMSIM_LAT_A_PAD))
		goto cancel;
	for (i = 0; i < REMSIM_LAT_BUCKETS; i++) {
		u64 le = i == REMSIM_LAT_BUCKETS - 1 ? U64_MAX :
			 1ULL << (REMSIM_LAT_MIN_SHIFT + i);

		if (put_lat_bucket(skb, le, lat->buckets[i]))
			goto cancel;
	}
	nla_nest_end(skb, nest);
	return 0;
cancel:
	nla_nest_cancel(skb, nest);
	return -EMSGSIZE;
}

/* The attributes every message about a slot starts with. */
static int put_identity(struct sk_buff *skb, struct remsim_slot *slot)
{
	return nla_put_u32(skb, REMSIM_A_SLOT_INDEX, slot->index) ||
	       nla_put_string(skb, REMSIM_A_SLOT_NAME, dev_name(&slot->dev)) ||
	       nla_put_u32(skb, REMSIM_A_SLOT_BACKEND, slot->backend) ? -EMSGSIZE : 0;
}

static int fill_slot(struct sk_buff *skb, struct remsim_slot *slot, const struct slot_view *v)
{
	if (put_identity(skb, slot) ||
	    nla_put_string(skb, REMSIM_A_SLOT_BOARD, slot->board) ||
	    nla_put_string(skb, REMSIM_A_SLOT_BUS_PATH, slot->bus_path) ||
	    nla_put_u32(skb, REMSIM_A_SLOT_INTERFACE, slot->interface) ||
	    (v->owned && nla_put_u32(skb, REMSIM_A_SLOT_OWNER_PID, v->owner_pid)) ||
	    nla_put_u32(skb, REMSIM_A_SLOT_T0_STATE, v->t0_state) ||
	    nla_put_u32(skb, REMSIM_A_SLOT_SIGNALS, v->signals))
		return -EMSGSIZE;
	if (!v->full)
		return nla_put_flag(skb, REMSIM_A_SLOT_LIMITED) ? -EMSGSIZE : 0;
	if (nla_put(skb, REMSIM_A_SLOT_ATR, v->atr_len, v->atr) ||
	    put_map(skb, &v->map) || put_stats(skb, &v->stats) ||
	    put_latency(skb, &v->latency))
		return -EMSGSIZE;
	return 0;
}

/* A whole slot message as @r may see it. */
static int slot_msg(struct sk_buff *skb, struct remsim_slot *slot, u32 portid, u32 seq,
		    int flags, u8 cmd, struct netlink_callback *cb, const struct reader *r)
{
	struct slot_view *v;
	void *hdr;
	int ret;

	v = kmalloc(sizeof(*v), GFP_KERNEL);
	if (!v)
		return -ENOMEM;
	/* may sleep (a path lookup): before the spinlock */
	v->full = full_view(slot, r);
	slot_view(slot, v, r);

	ret = -EMSGSIZE;
	hdr = genlmsg_put(skb, portid, seq, &remsim_family, flags, cmd);
	if (!hdr)
		goto out;
	if (cb)
		genl_dump_check_consistent(cb, hdr);
	if (fill_slot(skb, slot, v)) {
		genlmsg_cancel(skb, hdr);
		goto out;
	}
	genlmsg_end(skb, hdr);
	ret = 0;
out:
	kfree(v);
	return ret;
}

/* --- events ----------------------------------------------------------------- */

/*
 * The full view, to the "events" group. Joining it takes CAP_NET_ADMIN
 * over the namespace's owner, which a container's root has; so the events
 * go only to namespaces that the initial user namespace owns, whose admins
 * are the ones that may change slots. Allocates with GFP_ATOMIC, so any
 * context will do.
 */
static void multicast_events(struct sk_buff *skb)
{
	struct net *net, *prev = NULL;
	struct sk_buff *copy;

	rcu_read_lock();
	for_each_net_rcu(net) {
		if (net->user_ns != &init_user_ns)
			continue;
		if (prev) {
			copy = skb_clone(skb, GFP_ATOMIC);
			if (copy)
				genlmsg_multicast_netns(&remsim_family, prev, copy, 0,
							REMSIM_MCGRP_EVENTS, GFP_ATOMIC);
		}
		prev = net;
	}
	if (prev)
		genlmsg_multicast_netns(&remsim_family, prev, skb, 0, REMSIM_MCGRP_EVENTS,
					GFP_ATOMIC);
	else
		nlmsg_free(skb);
	rcu_read_unlock();
}

/* The public view, to the "slots" group of every namespace. */
static void multicast_slots(struct sk_buff *skb)
{
	/* It walks the namespaces under RCU but leaves the lock to us (6.1). */
	rcu_read_lock();
	genlmsg_multicast_allns(&remsim_family, skb, 0, REMSIM_MCGRP_SLOTS);
	rcu_read_unlock();
}

static struct sk_buff *slot_event_msg(struct remsim_slot *slot, u8 cmd, gfp_t gfp,
				      const struct reader *r)
{
	struct sk_buff *skb = genlmsg_new(NLMSG_GOODSIZE, gfp);

	if (skb && slot_msg(skb, slot, 0, 0, 0, cmd, NULL, r)) {
		nlmsg_free(skb);
		return NULL;
	}
	return skb;
}

void remsim_nl_slot_event(struct remsim_slot *slot, u8 cmd, gfp_t gfp)
{
	static const struct reader events = { .admin = true }, slots = {};
	struct sk_buff *skb;

	skb = slot_event_msg(slot, cmd, gfp, &events);
	if (skb)
		multicast_events(skb);
	skb = slot_event_msg(slot, cmd, gfp, &slots);
	if (skb)
		multicast_slots(skb);
}

/*
 * Signal and error events come from any context: the slot's identity,
 * where it is and its map (so that a consumer need not ask, racing a
 * remap), and the news. The events group is for admins: the map may go.
 */
static void small_event(struct remsim_slot *slot, u8 cmd, int attr1, u32 val1,
			int attr2, u32 val2)
{
	struct sk_buff *skb = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_ATOMIC);
	struct remsim_map map;
	unsigned long flags;
	void *hdr;

	if (!skb)
		return;
	spin_lock_irqsave(&slot->lock, flags);
	map = slot->map;
	spin_unlock_irqrestore(&slot->lock, flags);
	hdr = genlmsg_put(skb, 0, 0, &remsim_family, 0, cmd);
	if (!hdr || put_identity(skb, slot) ||
	    nla_put_string(skb, REMSIM_A_SLOT_BOARD, slot->board) ||
	    nla_put_string(skb, REMSIM_A_SLOT_BUS_PATH, slot->bus_path) ||
	    nla_put_u32(skb, REMSIM_A_SLOT_INTERFACE, slot->interface) ||
	    put_map(skb, &map) || nla_put_u32(skb, attr1, val1) ||
	    (attr2 && nla_put_u32(skb, attr2, val2))) {
		nlmsg_free(skb);
		return;
	}
	genlmsg_end(skb, hdr);
	multicast_events(skb);
}

void remsim_nl_signal_event(struct remsim_slot *slot, u32 state, u32 changed)
{
	small_event(slot, REMSIM_CMD_SLOT_SIGNAL_NTF, REMSIM_A_SLOT_SIGNALS, state,
		    REMSIM_A_SLOT_SIGNALS_CHANGED, changed);
}

void remsim_nl_error_event(struct remsim_slot *slot, u32 code)
{
	small_event(slot, REMSIM_CMD_SLOT_ERROR_NTF, REMSIM_A_SLOT_ERROR, code, 0, 0);
}

/* --- commands ------------------------------------------------------------ */

/* The slot REMSIM_A_SLOT_INDEX names, with a reference; NULL and extack if none. */
static struct remsim_slot *slot_from_info(struct genl_info *info)
{
	struct nlattr *attr = info->attrs[REMSIM_A_SLOT_INDEX];
	struct remsim_slot *slot;

	if (GENL_REQ_ATTR_CHECK(info, REMSIM_A_SLOT_INDEX))
		return ERR_PTR(-EINVAL);
	slot = remsim_slot_get(nla_get_u32(attr));
	if (!slot) {
		NL_SET_ERR_MSG_ATTR(info->extack, attr, "no such slot");
		return ERR_PTR(-ENODEV);
	}
	return slot;
}

static int reply_slot(struct remsim_slot *slot, struct sk_buff *req, struct genl_info *info)
{
	struct sk_buff *skb = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	struct reader r = { .caller = true,
			    .admin = netlink_capable(req, CAP_NET_ADMIN) };
	int ret;

	if (!skb)
		return -ENOMEM;
	ret = slot_msg(skb, slot, info->snd_portid, info->snd_seq, 0,
		       REMSIM_CMD_SLOT_GET, NULL, &r);
	if (ret) {
		nlmsg_free(skb);
		return ret;
	}
	return genlmsg_reply(skb, info);
}

static int remsim_nl_slot_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct remsim_slot *slot = slot_from_info(info);
	int ret;

	if (IS_ERR(slot))
		return PTR_ERR(slot);
	ret = reply_slot(slot, skb, info);
	put_device(&slot->dev);
	return ret;
}

struct dump_arg {
	struct sk_buff		*skb;
	struct netlink_callback	*cb;
	struct reader		reader;
	u32			next;	/* the first index not dumped yet */
	unsigned long		generation;
};

static int dump_one(struct remsim_slot *slot, void *arg)
{
	struct dump_arg *d = arg;
	int ret;

	/* A change since the dump began shows as NLM_F_DUMP_INTR. */
	d->cb->seq = d->generation;
	ret = slot_msg(d->skb, slot, NETLINK_CB(d->cb->skb).portid, d->cb->nlh->nlmsg_seq,
		       NLM_F_MULTI, REMSIM_CMD_SLOT_GET, d->cb, &d->reader);
	if (ret)
		return ret;
	d->next = slot->index + 1;
	return 0;
}

static int remsim_nl_slot_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	const struct genl_dumpit_info *info = genl_dumpit_info(cb);
	struct dump_arg d = {
		.skb = skb, .cb = cb, .next = cb->args[0],
		.reader = { .caller = true, .admin = netlink_capable(cb->skb, CAP_NET_ADMIN) },
	};
	int ret;

	if (info->attrs[REMSIM_A_SLOT_INDEX]) {
		NL_SET_ERR_MSG_ATTR(cb->extack, info->attrs[REMSIM_A_SLOT_INDEX],
				    "a dump lists every slot; ask for one without NLM_F_DUMP");
		return -EINVAL;
	}
	ret = remsim_slot_for_each(d.next, dump_one, &d, &d.generation);
	cb->args[0] = d.next;
	if (ret == -EMSGSIZE && skb->len)
		return skb->len;	/* full: continue in the next part */
	if (ret && ret != -EMSGSIZE)
		return ret;
	return skb->len;
}

static int parse_map(struct genl_info *info, struct remsim_map *map)
{
	struct nlattr *nest = info->attrs[REMSIM_A_SLOT_MAP];
	struct nlattr *tb[REMSIM_MAP_A_MAX + 1];
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, REMSIM_A_SLOT_MAP))
		return -EINVAL;
	ret = nla_parse_nested(tb, REMSIM_MAP_A_MAX, nest, map_policy, info->extack);
	if (ret)
		return ret;
	if (NL_REQ_ATTR_CHECK(info->extack, nest, tb, REMSIM_MAP_A_CLIENT_ID) ||
	    NL_REQ_ATTR_CHECK(info->extack, nest, tb, REMSIM_MAP_A_CLIENT_SLOT))
		return -EINVAL;

	memset(map, 0, sizeof(*map));
	map->mapped = true;
	map->client_id = nla_get_u32(tb[REMSIM_MAP_A_CLIENT_ID]);
	map->client_slot = nla_get_u32(tb[REMSIM_MAP_A_CLIENT_SLOT]);
	return 0;
}

/* No op uses the map: the spinlock alone (see remsim.h), no waiting for a board. */
static int set_map(struct remsim_slot *slot, const struct remsim_map *map)
{
	int ret = 0;

	spin_lock_irq(&slot->lock);
	if (slot->dead)
		ret = -ENODEV;
	else
		slot->map = *map;
	spin_unlock_irq(&slot->lock);
	if (ret)
		return ret;
	remsim_slot_table_changed();
	remsim_nl_slot_event(slot, REMSIM_CMD_SLOT_CHANGE_NTF, GFP_KERNEL);
	return 0;
}

struct identity_owner {
	const struct remsim_slot *self;
	const struct remsim_map *map;
};

/* Under the table lock (remsim_slot_for_each): -EEXIST if another slot has the identity. */
static int identity_taken(struct remsim_slot *slot, void *arg)
{
	const struct identity_owner *o = arg;
	bool same;

	if (slot == o->self)
		return 0;
	spin_lock_irq(&slot->lock);
	same = !slot->dead && slot->map.mapped &&
	       slot->map.client_id == o->map->client_id &&
	       slot->map.client_slot == o->map->client_slot;
	spin_unlock_irq(&slot->lock);
	return same ? -EEXIST : 0;
}

/*
 * One identity, one slot: remsim-client serves an RSPRO client slot from
 * the one kernel slot that has its identity, and two would hand one bank
 * card's session to two modems. remsimctl checks it too, but any
 * CAP_NET_ADMIN caller may speak netlink directly. The check and the set
 * cannot race another slot-set: the family's ops are serialised by the
 * genetlink mutex (no parallel_ops).
 */
static int remsim_nl_slot_set_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct identity_owner owner;
	unsigned long generation;
	struct remsim_slot *slot;
	struct remsim_map map;
	int ret;

	ret = parse_map(info, &map);
	if (ret)
		return ret;
	slot = slot_from_info(info);
	if (IS_ERR(slot))
		return PTR_ERR(slot);
	owner.self = slot;
	owner.map = &map;
	ret = remsim_slot_for_each(0, identity_taken, &owner, &generation);
	if (ret == -EEXIST)
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[REMSIM_A_SLOT_MAP],
				    "another slot has this client identity (one identity, one slot)");
	else if (!ret)
		ret = set_map(slot, &map);
	put_device(&slot->dev);
	return ret;
}

static int remsim_nl_slot_unset_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct remsim_slot *slot = slot_from_info(info);
	struct remsim_map none = {};
	bool mapped;
	int ret;

	if (IS_ERR(slot))
		return PTR_ERR(slot);
	spin_lock_irq(&slot->lock);
	mapped = slot->map.mapped;
	spin_unlock_irq(&slot->lock);
	if (!mapped) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[REMSIM_A_SLOT_INDEX],
				    "the slot is not mapped");
		ret = -ENOENT;
	} else {
		ret = set_map(slot, &none);
	}
	put_device(&slot->dev);
	return ret;
}

/* --- simulated slots ------------------------------------------------------- */

/*
 * sim_ops_lock: sim_ops, and taking a module reference on it before use;
 * a leaf lock, never held while calling an op.
 */
static DEFINE_MUTEX(sim_ops_lock);
static const struct remsim_sim_ops *sim_ops;

int remsim_sim_ops_register(const struct remsim_sim_ops *ops)
{
	int ret = 0;

	mutex_lock(&sim_ops_lock);
	if (sim_ops)
		ret = -EBUSY;
	else
		sim_ops = ops;
	mutex_unlock(&sim_ops_lock);
	return ret;
}
EXPORT_SYMBOL_GPL(remsim_sim_ops_register);

void remsim_sim_ops_unregister(const struct remsim_sim_ops *ops)
{
	mutex_lock(&sim_ops_lock);
	if (sim_ops == ops)
		sim_ops = NULL;
	mutex_unlock(&sim_ops_lock);
}
EXPORT_SYMBOL_GPL(remsim_sim_ops_unregister);

/* The simulation's ops with a reference on their module, loading it if need be. */
static const struct remsim_sim_ops *sim_ops_get(struct genl_info *info)
{
	const struct remsim_sim_ops *ops;

	mutex_lock(&sim_ops_lock);
	ops = sim_ops;
	if (ops && !try_module_get(ops->owner))
		ops = NULL;
	mutex_unlock(&sim_ops_lock);
	if (ops)
		return ops;

	request_module("remsim_sim");
	mutex_lock(&sim_ops_lock);
	ops = sim_ops;
	if (ops && !try_module_get(ops->owner))
		ops = NULL;
	mutex_unlock(&sim_ops_lock);
	if (!ops)
		GENL_SET_ERR_MSG(info, "simulated slots need the remsim_sim module");
	return ops;
}

static int remsim_nl_sim_new_doit(struct sk_buff *skb, struct genl_info *info)
{
	const struct remsim_sim_ops *ops = sim_ops_get(info);
	bool on_close = nla_get_flag(info->attrs[REMSIM_A_SIM_DESTROY_ON_CLOSE]);
	struct remsim_slot *slot;
	int ret;

	if (!ops)
		return -EOPNOTSUPP;
	slot = ops->create(on_close ? genl_info_net(info) : NULL, info->snd_portid);
	if (IS_ERR(slot)) {
		ret = PTR_ERR(slot);
		if (ret == -ENOSPC)
			GENL_SET_ERR_MSG(info, "no free slot index");
		else
			GENL_SET_ERR_MSG(info, "cannot create the simulated slot");
		goto out;
	}
	ret = reply_slot(slot, skb, info);
	put_device(&slot->dev);
out:
	module_put(ops->owner);
	return ret;
}

static int remsim_nl_sim_del_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *attr = info->attrs[REMSIM_A_SLOT_INDEX];
	const struct remsim_sim_ops *ops;
	struct remsim_slot *slot;
	u32 backend;
	int ret;

	slot = slot_from_info(info);
	if (IS_ERR(slot))
		return PTR_ERR(slot);
	backend = slot->backend;
	put_device(&slot->dev);
	if (backend != REMSIM_BACKEND_SIM) {
		NL_SET_ERR_MSG_ATTR(info->extack, attr, "not a simulated slot");
		return -EOPNOTSUPP;
	}
	ops = sim_ops_get(info);
	if (!ops)
		return -EOPNOTSUPP;
	ret = ops->destroy(nla_get_u32(attr));
	if (ret == -ENOENT)
		NL_SET_ERR_MSG_ATTR(info->extack, attr, "no such simulated slot");
	module_put(ops->owner);
	return ret;
}

/* A socket that asked for destroy-on-close slots went away. */
static int remsim_nl_notify(struct notifier_block *nb, unsigned long state, void *data)
{
	struct netlink_notify *n = data;

	if (state != NETLINK_URELEASE || n->protocol != NETLINK_GENERIC)
		return NOTIFY_DONE;
	mutex_lock(&sim_ops_lock);
	if (sim_ops && try_module_get(sim_ops->owner)) {
		const struct remsim_sim_ops *ops = sim_ops;

		mutex_unlock(&sim_ops_lock);
		ops->release_portid(n->net, n->portid);
		module_put(ops->owner);
		return NOTIFY_DONE;
	}
	mutex_unlock(&sim_ops_lock);
	return NOTIFY_DONE;
}

static struct notifier_block remsim_nl_notifier = {
	.notifier_call = remsim_nl_notify,
};

/* --- the family ------------------------------------------------------------ */

static const struct genl_ops remsim_ops[] = {
	{
		.cmd		= REMSIM_CMD_SLOT_GET,
		.doit		= remsim_nl_slot_get_doit,
		.dumpit		= remsim_nl_slot_get_dumpit,
		.policy		= slot_get_policy,
		.maxattr	= REMSIM_A_MAX,
	}, {
		.cmd		= REMSIM_CMD_SLOT_SET,
		.doit		= remsim_nl_slot_set_doit,
		.policy		= slot_set_policy,
		.maxattr	= REMSIM_A_MAX,
		.flags		= GENL_ADMIN_PERM,
	}, {
		.cmd		= REMSIM_CMD_SLOT_UNSET,
		.doit		= remsim_nl_slot_unset_doit,
		.policy		= slot_unset_policy,
		.maxattr	= REMSIM_A_MAX,
		.flags		= GENL_ADMIN_PERM,
	}, {
		.cmd		= REMSIM_CMD_SIM_NEW,
		.doit		= remsim_nl_sim_new_doit,
		.policy		= sim_new_policy,
		.maxattr	= REMSIM_A_MAX,
		.flags		= GENL_ADMIN_PERM,
	}, {
		.cmd		= REMSIM_CMD_SIM_DEL,
		.doit		= remsim_nl_sim_del_doit,
		.policy		= sim_del_policy,
		.maxattr	= REMSIM_A_MAX,
		.flags		= GENL_ADMIN_PERM,
	},
};

static struct genl_family remsim_family __ro_after_init = {
	.name		= REMSIM_GENL_NAME,
	.version	= REMSIM_GENL_VERSION,
	.maxattr	= REMSIM_A_MAX,
	.netnsok	= true,
	.module		= THIS_MODULE,
	.ops		= remsim_ops,
	.n_ops		= ARRAY_SIZE(remsim_ops),
	.resv_start_op	= REMSIM_CMD_SLOT_GET,
	.mcgrps		= remsim_mcgrps,
	.n_mcgrps	= ARRAY_SIZE(remsim_mcgrps),
};

int remsim_netlink_init(void)
{
	int ret;

	ret = genl_register_family(&remsim_family);
	if (ret)
		return ret;
	ret = netlink_register_notifier(&remsim_nl_notifier);
	if (ret)
		genl_unregister_family(&remsim_family);
	return ret;
}

void remsim_netlink_exit(void)
{
	netlink_unregister_notifier(&remsim_nl_notifier);
	genl_unregister_family(&remsim_family);
}
