/* SPDX-License-Identifier: GPL-2.0 */
/*
 * remsim/nl.h - a client of the "remsim" generic netlink family, on libmnl:
 * list and map slots, create and delete simulated slots, receive events.
 *
 * Calls return 0 or a negative errno. When the kernel refused a request,
 * rsnl_errmsg() is its extended ACK message ("" if none) and
 * rsnl_err_attr() the attribute type it blamed (0 if none).
 */
#ifndef _REMSIM_NL_H
#define _REMSIM_NL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/remsim.h>
#include <linux/remsim_dev.h>

struct nlmsghdr;
struct rsnl;

#define RSNL_MSG_SIZE	8192

/*
 * A slot's identity label. Its static bank target, if any, is in the
 * targets file (remsim/targets.h), not in the kernel.
 */
struct rsnl_map {
	bool		mapped;
	uint32_t	client_id;
	uint32_t	client_slot;
};

/*
 * A slot's APDU latency histogram as the kernel sent it (uapi remsim.h,
 * REMSIM_A_SLOT_LATENCY): each bucket with its upper bound, in order.
 * Buckets beyond RSNL_LAT_BUCKETS_MAX (a newer kernel) add to the last.
 */
#define RSNL_LAT_BUCKETS_MAX	32

struct rsnl_latency {
	bool		present;	/* absent: an older kernel, the public view */
	uint64_t	count;
	uint64_t	sum_ns;
	unsigned int	n;		/* buckets */
	uint64_t	le_ns[RSNL_LAT_BUCKETS_MAX];	/* UINT64_MAX: no bound */
	uint64_t	buckets[RSNL_LAT_BUCKETS_MAX];
};

/*
 * The upper bound in ns of the bucket that holds the latency at @permille
 * (500: the median, 990: p99); 0 when nothing was timed, UINT64_MAX when it
 * is in the last, unbounded bucket.
 */
uint64_t rsnl_latency_quantile(const struct rsnl_latency *lat, unsigned int permille);

struct rsnl_slot {
	uint32_t		index;
	char			name[32];
	uint32_t		backend;
	char			board[32];
	char			bus_path[64];
	uint32_t		interface;
	bool			owned;
	uint32_t		owner_pid;	/* 0: not visible to us */
	bool			limited;	/* the public view: no ATR, map, stats */
	uint32_t		t0_state;
	uint32_t		signals;
	uint8_t			atr[REMSIM_ATR_MAX];
	unsigned int		atr_len;
	struct rsnl_map		map;
	struct remsim_stats	stats;
	struct rsnl_latency	latency;
};

/* A notification of the "events" or the "slots" group. */
struct rsnl_event {
	uint8_t			cmd;		/* REMSIM_CMD_*_NTF */
	struct rsnl_slot	slot;		/* what the notification carries */
	uint32_t		signals_changed;
	uint32_t		error;		/* enum remsim_error_code */
};

/* Opens a socket and resolves the family; -ENOENT: remsim.ko is not loaded. */
int rsnl_open(struct rsnl **out);
void rsnl_close(struct rsnl *nl);
int rsnl_fd(const struct rsnl *nl);
const char *rsnl_errmsg(const struct rsnl *nl);
uint16_t rsnl_err_attr(const struct rsnl *nl);
uint16_t rsnl_family(const struct rsnl *nl);

int rsnl_slot_get(struct rsnl *nl, uint32_t index, struct rsnl_slot *slot);
/*
 * Calls fn for every slot; a non-zero return of fn stops and is returned.
 * *interrupted tells whether the table changed during the dump (NULL: retry
 * internally until a consistent one).
 */
int rsnl_slot_dump(struct rsnl *nl, int (*fn)(const struct rsnl_slot *slot, void *arg),
		   void *arg, bool *interrupted);
int rsnl_slot_set(struct rsnl *nl, uint32_t index, const struct rsnl_map *map);
int rsnl_slot_unset(struct rsnl *nl, uint32_t index);
int rsnl_sim_new(struct rsnl *nl, bool destroy_on_close, struct rsnl_slot *slot);
int rsnl_sim_del(struct rsnl *nl, uint32_t index);

/*
 * Joins the "events" group (-EPERM without CAP_NET_ADMIN); rsnl_event_recv()
 * then reads one notification.
 */
int rsnl_subscribe(struct rsnl *nl);
/*
 * Joins the "slots" group, open to anybody: slots added, removed and
 * changed, in the public view (ev->slot.limited); ask rsnl_slot_get() for
 * the rest.
 */
int rsnl_subscribe_slots(struct rsnl *nl);
/* Blocks unless the socket is non-blocking (-EAGAIN). */
int rsnl_event_recv(struct rsnl *nl, struct rsnl_event *ev);

/*
 * For tests and tools that build their own requests: a message with the
 * family's header in buf (RSNL_MSG_SIZE bytes), then
 * rsnl_transact() sends it and runs fn (may be NULL) on each reply.
 */
struct nlmsghdr *rsnl_msg(struct rsnl *nl, void *buf, uint8_t cmd, uint16_t flags);
int rsnl_transact(struct rsnl *nl, struct nlmsghdr *nlh,
		  int (*fn)(const struct nlmsghdr *nlh, void *arg), void *arg);
/* Parses a slot message (the GET layout). */
int rsnl_parse_slot(const struct nlmsghdr *nlh, struct rsnl_slot *slot);

#endif /* _REMSIM_NL_H */
