// SPDX-License-Identifier: GPL-2.0
/*
 * nl.c - the remsim generic netlink client, see remsim/nl.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "remsim/nl.h"

struct rsnl {
	struct mnl_socket	*sock;
	uint32_t		portid;
	uint32_t		seq;
	uint16_t		family;
	uint32_t		events_group;
	uint32_t		slots_group;
	char			errmsg[256];
	uint16_t		err_attr;
	const struct nlmsghdr	*request;	/* for the extack offset */
	char			buf[32768];	/* a whole dump part */
};

int rsnl_fd(const struct rsnl *nl)
{
	return mnl_socket_get_fd(nl->sock);
}

const char *rsnl_errmsg(const struct rsnl *nl)
{
	return nl->errmsg;
}

uint16_t rsnl_err_attr(const struct rsnl *nl)
{
	return nl->err_attr;
}

uint16_t rsnl_family(const struct rsnl *nl)
{
	return nl->family;
}

/* --- the transaction loop -------------------------------------------------- */

/* The error of an NLMSG_ERROR or NLMSG_DONE, with its extended ACK. */
static int parse_error(struct rsnl *nl, const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e;
	const struct nlattr *attr;
	unsigned int offset;
	int error;

	if (nlh->nlmsg_type == NLMSG_DONE) {
		if (mnl_nlmsg_get_payload_len(nlh) < sizeof(int))
			return 0;
		error = *(const int *)mnl_nlmsg_get_payload(nlh);
		offset = sizeof(int);
	} else {
		if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e))
			return -EBADMSG;
		e = mnl_nlmsg_get_payload(nlh);
		error = e->error;
		offset = sizeof(*e);
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
			offset += e->msg.nlmsg_len - sizeof(e->msg);
	}
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return error;
	mnl_attr_for_each(attr, nlh, offset) {
		switch (mnl_attr_get_type(attr)) {
		case NLMSGERR_ATTR_MSG:
			snprintf(nl->errmsg, sizeof(nl->errmsg), "%s", mnl_attr_get_str(attr));
			break;
		case NLMSGERR_ATTR_MISS_TYPE:
			nl->err_attr = mnl_attr_get_u32(attr);
			break;
		case NLMSGERR_ATTR_OFFS: {
			uint32_t offs = mnl_attr_get_u32(attr);

			if (nl->request && offs + sizeof(struct nlattr) <= nl->request->nlmsg_len) {
				const struct nlattr *bad = (const void *)((const char *)nl->request + offs);

				nl->err_attr = bad->nla_type & NLA_TYPE_MASK;
			}
			break;
		}
		}
	}
	return error;
}

struct nlmsghdr *rsnl_msg(struct rsnl *nl, void *buf, uint8_t cmd, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *g;

	nlh->nlmsg_type = nl->family;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = REMSIM_GENL_VERSION;
	return nlh;
}

int rsnl_transact(struct rsnl *nl, struct nlmsghdr *nlh,
		  int (*fn)(const struct nlmsghdr *nlh, void *arg), void *arg)
{
	bool dump = nlh->nlmsg_flags & NLM_F_DUMP;
	int ret = 0, fn_ret = 0;

	nl->errmsg[0] = 0;
	nl->err_attr = 0;
	nl->request = nlh;
	nlh->nlmsg_seq = ++nl->seq;
	if (!dump)
		nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;

	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl->sock, nl->buf, sizeof(nl->buf));
		const struct nlmsghdr *m;
		int len;

		if (n < 0) {
			ret = -errno;
			break;
		}
		len = n;
		for (m = (const struct nlmsghdr *)nl->buf; mnl_nlmsg_ok(m, len);
		     m = mnl_nlmsg_next(m, &len)) {
			if (m->nlmsg_seq != nl->seq || m->nlmsg_pid != nl->portid)
				continue;
			if (m->nlmsg_type == NLMSG_ERROR || m->nlmsg_type == NLMSG_DONE) {
				ret = parse_error(nl, m);
				goto out;
			}
			if (m->nlmsg_flags & NLM_F_DUMP_INTR)
				fn_ret = fn_ret ? fn_ret : -EINTR;
			if (fn && !fn_ret)
				fn_ret = fn(m, arg);
		}
	}
out:
	nl->request = NULL;
	return ret ? ret : fn_ret;
}

/* --- parsing a slot ---------------------------------------------------------- */

struct tb {
	const struct nlattr **attrs;
	unsigned int max;
};

static int attr_cb(const struct nlattr *attr, void *data)
{
	struct tb *tb = data;
	unsigned int type = mnl_attr_get_type(attr);

	if (type <= tb->max)
		tb->attrs[type] = attr;
	return MNL_CB_OK;
}

static void copy_str(char *dst, size_t size, const struct nlattr *attr)
{
	if (attr)
		snprintf(dst, size, "%.*s", (int)mnl_attr_get_payload_len(attr),
			 mnl_attr_get_str(attr));
}

static uint32_t get_u32(const struct nlattr *attr)
{
	return attr && mnl_attr_get_payload_len(attr) >= 4 ? mnl_attr_get_u32(attr) : 0;
}

static void parse_map(const struct nlattr *nest, struct rsnl_map *map)
{
	const struct nlattr *a[REMSIM_MAP_A_MAX + 1] = {};
	struct tb tb = { a, REMSIM_MAP_A_MAX };

	memset(map, 0, sizeof(*map));
	if (!nest)
		return;
	mnl_attr_parse_nested(nest, attr_cb, &tb);
	map->mapped = true;
	map->client_id = get_u32(a[REMSIM_MAP_A_CLIENT_ID]);
	map->client_slot = get_u32(a[REMSIM_MAP_A_CLIENT_SLOT]);
}

static void parse_stats(const struct nlattr *nest, struct remsim_stats *s)
{
	const struct nlattr *a[REMSIM_STATS_A_MAX + 1] = {};
	struct tb tb = { a, REMSIM_STATS_A_MAX };
	__u64 *fields[REMSIM_STATS_A_MAX + 1] = {
		[REMSIM_STATS_A_APDUS] = &s->apdus,
		[REMSIM_STATS_A_RESPONSES] = &s->responses,
		[REMSIM_STATS_A_BYTES_UP] = &s->bytes_up,
		[REMSIM_STATS_A_BYTES_DOWN] = &s->bytes_down,
		[REMSIM_STATS_A_RESETS] = &s->resets,
		[REMSIM_STATS_A_POWER_CYCLES] = &s->power_cycles,
		[REMSIM_STATS_A_PPS] = &s->pps,
		[REMSIM_STATS_A_ERRORS] = &s->errors,
		[REMSIM_STATS_A_PROTOCOL_ERRORS] = &s->protocol_errors,
		[REMSIM_STATS_A_RESPONSE_ERRORS] = &s->response_errors,
		[REMSIM_STATS_A_ABORTED] = &s->aborted,
		[REMSIM_STATS_A_ABANDONED] = &s->abandoned,
		[REMSIM_STATS_A_TIMEOUTS] = &s->timeouts,
		[REMSIM_STATS_A_STALE_RESPONSES] = &s->stale_responses,
		[REMSIM_STATS_A_BOARD_ERRORS] = &s->board_errors,
		[REMSIM_STATS_A_UP_PEAK] = &s->up_peak,
		[REMSIM_STATS_A_DOWN_PEAK] = &s->down_peak,
		[REMSIM_STATS_A_UP_BACKPRESSURE] = &s->up_backpressure,
		[REMSIM_STATS_A_DOWN_BACKPRESSURE] = &s->down_backpressure,
		[REMSIM_STATS_A_SIGNALS_MERGED] = &s->signals_merged,
	};

	memset(s, 0, sizeof(*s));
	if (!nest)
		return;
	mnl_attr_parse_nested(nest, attr_cb, &tb);
	for (unsigned int i = 0; i <= REMSIM_STATS_A_MAX; i++)
		if (fields[i] && a[i] && mnl_attr_get_payload_len(a[i]) == 8)
			*fields[i] = mnl_attr_get_u64(a[i]);
}

static uint64_t get_u64(const struct nlattr *attr)
{
	return attr && mnl_attr_get_payload_len(attr) == 8 ? mnl_attr_get_u64(attr) : 0;
}

static void parse_lat_bucket(const struct nlattr *nest, struct rsnl_latency *lat)
{
	const struct nlattr *a[REMSIM_LAT_BUCKET_A_MAX + 1] = {};
	struct tb tb = { a, REMSIM_LAT_BUCKET_A_MAX };
	unsigned int i = lat->n;

	mnl_attr_parse_nested(nest, attr_cb, &tb);
	if (i == RSNL_LAT_BUCKETS_MAX) {
		/* more than we keep: the last one grows and loses its bound */
		i--;
		lat->le_ns[i] = UINT64_MAX;
	} else {
		lat->le_ns[i] = a[REMSIM_LAT_BUCKET_A_LE_NS] ?
				get_u64(a[REMSIM_LAT_BUCKET_A_LE_NS]) : UINT64_MAX;
		lat->n++;
	}
	lat->buckets[i] += get_u64(a[REMSIM_LAT_BUCKET_A_COUNT]);
}

static void parse_latency(const struct nlattr *nest, struct rsnl_latency *lat)
{
	const struct nlattr *attr;

	memset(lat, 0, sizeof(*lat));
	if (!nest)
		return;
	lat->present = true;
	mnl_attr_for_each_nested(attr, nest) {
		switch (mnl_attr_get_type(attr)) {
		case REMSIM_LAT_A_COUNT:
			lat->count = get_u64(attr);
			break;
		case REMSIM_LAT_A_SUM_NS:
			lat->sum_ns = get_u64(attr);
			break;
		case REMSIM_LAT_A_BUCKET:
			parse_lat_bucket(attr, lat);
			break;
		}
	}
}

uint64_t rsnl_latency_quantile(const struct rsnl_latency *lat, unsigned int permille)
{
	uint64_t total = 0, rank, seen = 0;
	unsigned int i;

	for (i = 0; i < lat->n; i++)
		total += lat->buckets[i];
	if (!total)
		return 0;
	/* the smallest rank that has @permille of the latencies at or below it */
	if (total > UINT64_MAX / 1000)
		rank = total / 1000 * permille;	/* 10^16 APDUs: the rounding is moot */
	else
		rank = (total * permille + 999) / 1000;
	if (!rank)
		rank = 1;
	for (i = 0; i < lat->n; i++) {
		seen += lat->buckets[i];
		if (seen >= rank)
			return lat->le_ns[i];
	}
	return UINT64_MAX;
}

static void parse_attrs(const struct nlattr **a, struct rsnl_slot *slot)
{
	memset(slot, 0, sizeof(*slot));
	slot->index = get_u32(a[REMSIM_A_SLOT_INDEX]);
	copy_str(slot->name, sizeof(slot->name), a[REMSIM_A_SLOT_NAME]);
	slot->backend = get_u32(a[REMSIM_A_SLOT_BACKEND]);
	copy_str(slot->board, sizeof(slot->board), a[REMSIM_A_SLOT_BOARD]);
	copy_str(slot->bus_path, sizeof(slot->bus_path), a[REMSIM_A_SLOT_BUS_PATH]);
	slot->interface = get_u32(a[REMSIM_A_SLOT_INTERFACE]);
	slot->owned = a[REMSIM_A_SLOT_OWNER_PID];
	slot->owner_pid = get_u32(a[REMSIM_A_SLOT_OWNER_PID]);
	slot->limited = a[REMSIM_A_SLOT_LIMITED];
	slot->t0_state = get_u32(a[REMSIM_A_SLOT_T0_STATE]);
	slot->signals = get_u32(a[REMSIM_A_SLOT_SIGNALS]);
	if (a[REMSIM_A_SLOT_ATR]) {
		slot->atr_len = mnl_attr_get_payload_len(a[REMSIM_A_SLOT_ATR]);
		if (slot->atr_len > sizeof(slot->atr))
			slot->atr_len = sizeof(slot->atr);
		memcpy(slot->atr, mnl_attr_get_payload(a[REMSIM_A_SLOT_ATR]), slot->atr_len);
	}
	parse_map(a[REMSIM_A_SLOT_MAP], &slot->map);
	parse_stats(a[REMSIM_A_SLOT_STATS], &slot->stats);
	parse_latency(a[REMSIM_A_SLOT_LATENCY], &slot->latency);
}

int rsnl_parse_slot(const struct nlmsghdr *nlh, struct rsnl_slot *slot)
{
	const struct nlattr *a[REMSIM_A_MAX + 1] = {};
	struct tb tb = { a, REMSIM_A_MAX };

	if (mnl_attr_parse(nlh, sizeof(struct genlmsghdr), attr_cb, &tb) < 0)
		return -EBADMSG;
	if (!a[REMSIM_A_SLOT_INDEX])
		return -EBADMSG;
	parse_attrs(a, slot);
	return 0;
}

static int slot_cb(const struct nlmsghdr *nlh, void *arg)
{
	return rsnl_parse_slot(nlh, arg);
}

/* --- requests ----------------------------------------------------------------- */

int rsnl_slot_get(struct rsnl *nl, uint32_t index, struct rsnl_slot *slot)
{
	char buf[RSNL_MSG_SIZE];
	struct nlmsghdr *nlh = rsnl_msg(nl, buf, REMSIM_CMD_SLOT_GET, 0);

	mnl_attr_put_u32(nlh, REMSIM_A_SLOT_INDEX, index);
	return rsnl_transact(nl, nlh, slot_cb, slot);
}

struct dump_arg {
	int (*fn)(const struct rsnl_slot *slot, void *arg);
	void *arg;
};

static int dump_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct dump_arg *d = arg;
	struct rsnl_slot slot;
	int ret = rsnl_parse_slot(nlh, &slot);

	return ret ? ret : d->fn(&slot, d->arg);
}

int rsnl_slot_dump(struct rsnl *nl, int (*fn)(const struct rsnl_slot *slot, void *arg),
		   void *arg, bool *interrupted)
{
	char buf[RSNL_MSG_SIZE];
	struct dump_arg d = { fn, arg };
	int ret;

	if (interrupted)
		*interrupted = false;
	ret = rsnl_transact(nl, rsnl_msg(nl, buf, REMSIM_CMD_SLOT_GET, NLM_F_DUMP), dump_cb, &d);
	if (ret == -EINTR && interrupted) {
		*interrupted = true;
		ret = 0;
	}
	return ret;
}

int rsnl_slot_set(struct rsnl *nl, uint32_t index, const struct rsnl_map *map)
{
	char buf[RSNL_MSG_SIZE];
	struct nlmsghdr *nlh = rsnl_msg(nl, buf, REMSIM_CMD_SLOT_SET, 0);
	struct nlattr *nest;

	mnl_attr_put_u32(nlh, REMSIM_A_SLOT_INDEX, index);
	nest = mnl_attr_nest_start(nlh, REMSIM_A_SLOT_MAP);
	mnl_attr_put_u32(nlh, REMSIM_MAP_A_CLIENT_ID, map->client_id);
	mnl_attr_put_u32(nlh, REMSIM_MAP_A_CLIENT_SLOT, map->client_slot);
	mnl_attr_nest_end(nlh, nest);
	return rsnl_transact(nl, nlh, NULL, NULL);
}

int rsnl_slot_unset(struct rsnl *nl, uint32_t index)
{
	char buf[RSNL_MSG_SIZE];
	struct nlmsghdr *nlh = rsnl_msg(nl, buf, REMSIM_CMD_SLOT_UNSET, 0);

	mnl_attr_put_u32(nlh, REMSIM_A_SLOT_INDEX, index);
	return rsnl_transact(nl, nlh, NULL, NULL);
}

int rsnl_sim_new(struct rsnl *nl, bool destroy_on_close, struct rsnl_slot *slot)
{
	char buf[RSNL_MSG_SIZE];
	struct nlmsghdr *nlh = rsnl_msg(nl, buf, REMSIM_CMD_SIM_NEW, 0);
	struct rsnl_slot ignored;

	if (destroy_on_close)
		mnl_attr_put(nlh, REMSIM_A_SIM_DESTROY_ON_CLOSE, 0, NULL);
	return rsnl_transact(nl, nlh, slot_cb, slot ? slot : &ignored);
}

int rsnl_sim_del(struct rsnl *nl, uint32_t index)
{
	char buf[RSNL_MSG_SIZE];
	struct nlmsghdr *nlh = rsnl_msg(nl, buf, REMSIM_CMD_SIM_DEL, 0);

	mnl_attr_put_u32(nlh, REMSIM_A_SLOT_INDEX, index);
	return rsnl_transact(nl, nlh, NULL, NULL);
}

/* --- events ------------------------------------------------------------------ */

static int join(struct rsnl *nl, int group)
{
	if (!group)
		return -ENOENT;
	if (mnl_socket_setsockopt(nl->sock, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)))
		return -errno;
	return 0;
}

int rsnl_subscribe(struct rsnl *nl)
{
	return join(nl, nl->events_group);
}

int rsnl_subscribe_slots(struct rsnl *nl)
{
	return join(nl, nl->slots_group);
}

int rsnl_event_recv(struct rsnl *nl, struct rsnl_event *ev)
{
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl->sock, nl->buf, sizeof(nl->buf));
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)nl->buf;
		const struct nlattr *a[REMSIM_A_MAX + 1] = {};
		struct tb tb = { a, REMSIM_A_MAX };
		const struct genlmsghdr *g;

		if (n < 0)
			return -errno;
		if (!mnl_nlmsg_ok(nlh, n) || nlh->nlmsg_type != nl->family ||
		    mnl_nlmsg_get_payload_len(nlh) < sizeof(*g))
			continue;
		g = mnl_nlmsg_get_payload(nlh);
		if (mnl_attr_parse(nlh, sizeof(*g), attr_cb, &tb) < 0)
			continue;
		memset(ev, 0, sizeof(*ev));
		ev->cmd = g->cmd;
		parse_attrs(a, &ev->slot);
		ev->signals_changed = get_u32(a[REMSIM_A_SLOT_SIGNALS_CHANGED]);
		ev->error = get_u32(a[REMSIM_A_SLOT_ERROR]);
		return 0;
	}
}

/* --- opening: resolving the family -------------------------------------------- */

static int family_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct rsnl *nl = arg;
	const struct nlattr *a[CTRL_ATTR_MAX + 1] = {};
	struct tb tb = { a, CTRL_ATTR_MAX };
	const struct nlattr *grp;

	mnl_attr_parse(nlh, sizeof(struct genlmsghdr), attr_cb, &tb);
	if (!a[CTRL_ATTR_FAMILY_ID])
		return -EBADMSG;
	nl->family = mnl_attr_get_u16(a[CTRL_ATTR_FAMILY_ID]);
	if (!a[CTRL_ATTR_MCAST_GROUPS])
		return 0;
	mnl_attr_for_each_nested(grp, a[CTRL_ATTR_MCAST_GROUPS]) {
		const struct nlattr *g[CTRL_ATTR_MCAST_GRP_MAX + 1] = {};
		struct tb gtb = { g, CTRL_ATTR_MCAST_GRP_MAX };
		const char *name;
		uint32_t id;

		mnl_attr_parse_nested(grp, attr_cb, &gtb);
		if (!g[CTRL_ATTR_MCAST_GRP_NAME] || !g[CTRL_ATTR_MCAST_GRP_ID])
			continue;
		name = mnl_attr_get_str(g[CTRL_ATTR_MCAST_GRP_NAME]);
		id = mnl_attr_get_u32(g[CTRL_ATTR_MCAST_GRP_ID]);
		if (!strcmp(name, REMSIM_GENL_MCGRP_EVENTS))
			nl->events_group = id;
		else if (!strcmp(name, REMSIM_GENL_MCGRP_SLOTS))
			nl->slots_group = id;
	}
	return 0;
}

int rsnl_open(struct rsnl **out)
{
	char buf[RSNL_MSG_SIZE];
	struct genlmsghdr *g;
	struct nlmsghdr *nlh;
	struct rsnl *nl;
	int one = 1, ret;

	nl = calloc(1, sizeof(*nl));
	if (!nl)
		return -ENOMEM;
	nl->sock = mnl_socket_open2(NETLINK_GENERIC, SOCK_CLOEXEC);
	if (!nl->sock) {
		ret = -errno;
		free(nl);
		return ret;
	}
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto err;
	}
	nl->portid = mnl_socket_get_portid(nl->sock);
	mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one, sizeof(one));

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = GENL_ID_CTRL;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = CTRL_CMD_GETFAMILY;
	g->version = 1;
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, REMSIM_GENL_NAME);
	ret = rsnl_transact(nl, nlh, family_cb, nl);
	if (ret)
		goto err;
	*out = nl;
	return 0;
err:
	mnl_socket_close(nl->sock);
	free(nl);
	return ret;
}

void rsnl_close(struct rsnl *nl)
{
	if (!nl)
		return;
	mnl_socket_close(nl->sock);
	free(nl);
}
