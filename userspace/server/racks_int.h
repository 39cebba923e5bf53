/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Between the files of rack management: racks.c (start, stop, loading, the
 * shared helpers), racks_tags.c (card tags and pools), racks_history.c and
 * racks_leases.c. server_api.h is their interface to REST and commands.
 */
#ifndef REMSIM_SERVER_RACKS_INT_H
#define REMSIM_SERVER_RACKS_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "server.h"

/* How often expiries are looked for: a lease ends within this of its time. */
#define RACKS_TICK_MS	1000
/*
 * History events wait in memory up to HISTORY_FLUSH_MS (or until a GET
 * /history) and go to the database in one transaction, as audit lines do:
 * a commit of its own would double the fsyncs of every map change. While
 * the database refuses them they are tried again every HISTORY_RETRY_MS,
 * up to HISTORY_PENDING_MAX; more are only in the log, said once a minute.
 */
#define HISTORY_FLUSH_MS	100
#define HISTORY_RETRY_MS	1000
#define HISTORY_PENDING_MAX	1000
#define HISTORY_LOG_NS		(60 * 1000000000ull)

struct pending_event {
	int64_t time_us;
	char time[48];
	char iccid[RSPRO_ICCID_MAX + 1];
	char client[16], bank[16];
	char event[24];
	char who[160];
};

struct card_tags {
	struct card_tags *next;
	char iccid[RSPRO_ICCID_MAX + 1];
	unsigned int n;
	char tags[SERVER_TAGS_MAX][SERVER_TAG_LEN + 1];
};

struct server_pool {
	struct server_pool *next;
	char name[SERVER_TAG_LEN + 1];
	unsigned int n;
	char tags[SERVER_TAGS_MAX][SERVER_TAG_LEN + 1];
	const char *ptrs[SERVER_TAGS_MAX];
};

struct server_lease {
	struct server_lease *next;
	uint64_t id;
	char iccid[RSPRO_ICCID_MAX + 1];
	char owner[SERVER_TOKEN_NAME_MAX + 64];
	struct rspro_bank_slot bank;
	struct rspro_client_slot client;
	int64_t since_us, expires_us;
	bool expiry_failed;		/* its unmap failed: said once */
};

struct racks {
	struct card_tags *tags;
	unsigned int num_tagged;
	struct server_pool *pools;
	unsigned int num_pools;
	struct server_lease *leases;
	unsigned int num_leases;
	uint64_t last_id;		/* of leases: ids are never reused */
	struct ev_timer tick;
	bool full_logged;		/* a limit was reached: said once */
	/* history events not stored yet, and their flush */
	struct pending_event *pending;
	struct stored_history *batch;
	unsigned int num_pending;
	struct ev_timer flush;
	unsigned long dropped, failed;	/* only in the log */
	uint64_t said_ns;		/* when that was last said */
};


/* racks.c */
int64_t racks_now_us(void);
bool racks_same_client(struct rspro_client_slot a, struct rspro_client_slot b);
bool racks_same_bank(struct rspro_bank_slot a, struct rspro_bank_slot b);
void racks_utc_text(int64_t us, char *buf, size_t size);
/* Whether @max is reached, said once per server: a refusal follows. */
bool racks_limit_reached(struct racks *r, const char *what, unsigned int max);

/* racks_tags.c */
struct card_tags *racks_tags_of(struct racks *r, const char *iccid);
char *racks_tags_json(const char *const *tags, unsigned int n);
unsigned int racks_tags_parse(json_t *o, char tags[][SERVER_TAG_LEN + 1], const char *whose);
void racks_pool_set(struct server_pool *p, const char *const *tags, unsigned int n);
void racks_pool_link(struct racks *r, struct server_pool *p);

/* racks_history.c */
int racks_history_flush(struct server *srv);
void racks_history_timer(struct ev_timer *t);

/* racks_leases.c */
struct server_lease *racks_lease_of_iccid(struct racks *r, const char *iccid);
void racks_tick(struct ev_timer *t);

#endif
