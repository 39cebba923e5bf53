// SPDX-License-Identifier: GPL-2.0
/*
 * Rack management on the card inventory (cards.c): tags of cards (by ICCID,
 * which stays when a card moves between bank slots), pools (saved queries:
 * the cards with all of a pool's tags), leases (a card of a pool mapped to a
 * test job's modem slot until it expires, by one owner) and the history of
 * cards and modem slots. Tags, pools and leases are kept in memory and each
 * change is written through to the database first (store_record_*()); they
 * are read back at start and when a standby takes over, so leases survive
 * both and the new active server keeps expiring them.
 *
 * This file: start, stop, loading what the database holds, and the helpers
 * the other racks_*.c files share.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "remsim/log.h"
#include "audit.h"
#include "racks_int.h"

int64_t racks_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

bool racks_same_client(struct rspro_client_slot a, struct rspro_client_slot b)
{
	return a.client_id == b.client_id && a.slot_nr == b.slot_nr;
}

bool racks_same_bank(struct rspro_bank_slot a, struct rspro_bank_slot b)
{
	return a.bank_id == b.bank_id && a.slot_nr == b.slot_nr;
}

void racks_utc_text(int64_t us, char *buf, size_t size)
{
	time_t t = us / 1000000;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

bool racks_limit_reached(struct racks *r, const char *what, unsigned int max)
{
	if (!r->full_logged)
		LOGP(DMAIN, LOG_ERROR, "racks", "%s: the most this server keeps is %u", what,
		     max);
	r->full_logged = true;
	return true;
}


/* --- loading --- */

static void free_all(struct racks *r)
{
	void *p;

	while ((p = r->tags)) {
		r->tags = r->tags->next;
		free(p);
	}
	while ((p = r->pools)) {
		r->pools = r->pools->next;
		free(p);
	}
	while ((p = r->leases)) {
		r->leases = r->leases->next;
		free(p);
	}
	r->num_tagged = r->num_pools = r->num_leases = 0;
}

static void load_tags(const char *key, const char *value, void *arg)
{
	struct racks *r = arg;
	json_t *o = json_loads(value, 0, NULL);
	struct card_tags *t;

	t = o && strlen(key) <= RSPRO_ICCID_MAX && r->num_tagged < SERVER_TAGGED_MAX ?
	    calloc(1, sizeof(*t)) : NULL;
	if (!t) {
		LOGP(DMAIN, LOG_ERROR, "racks", "tags of card %.24s not loaded", key);
		json_decref(o);
		return;
	}
	snprintf(t->iccid, sizeof(t->iccid), "%s", key);
	t->n = racks_tags_parse(o, t->tags, key);
	t->next = r->tags;
	r->tags = t;
	r->num_tagged++;
	json_decref(o);
}

static void load_pool(const char *key, const char *value, void *arg)
{
	char tags[SERVER_TAGS_MAX][SERVER_TAG_LEN + 1];
	const char *ptrs[SERVER_TAGS_MAX];
	json_t *o = json_loads(value, 0, NULL);
	struct racks *r = arg;
	struct server_pool *p;
	unsigned int n, i;

	p = o && server_pool_name_valid(key) && r->num_pools < SERVER_POOLS_MAX ?
	    calloc(1, sizeof(*p)) : NULL;
	if (!p) {
		LOGP(DMAIN, LOG_ERROR, "racks", "pool %.64s not loaded", key);
		json_decref(o);
		return;
	}
	n = racks_tags_parse(o, tags, key);
	for (i = 0; i < n; i++)
		ptrs[i] = tags[i];
	snprintf(p->name, sizeof(p->name), "%s", key);
	racks_pool_set(p, ptrs, n);
	racks_pool_link(r, p);
	json_decref(o);
}

static void load_lease(const char *key, const char *value, void *arg)
{
	json_t *o = json_loads(value, 0, NULL);
	struct racks *r = arg;
	struct server_lease *l;
	const char *iccid, *owner;
	json_int_t bi, bs, ci, cs, since, exp;

	bool ok = o && !json_unpack(o, "{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I}", "iccid", &iccid,
				    "owner", &owner, "bankId", &bi, "bankSlot", &bs,
				    "clientId", &ci, "clientSlot", &cs, "since", &since,
				    "expires", &exp);

	/* a row edited by hand is checked as a request would be */
	ok = ok && strlen(iccid) <= RSPRO_ICCID_MAX && strlen(owner) < sizeof(l->owner) &&
	     bi >= 0 && bi <= RSPRO_ID_MAX && bs >= 0 && bs <= RSPRO_ID_MAX &&
	     ci >= 0 && ci <= RSPRO_ID_MAX && cs >= 0 && cs <= RSPRO_ID_MAX &&
	     r->num_leases < SERVER_LEASES_MAX;
	l = ok ? calloc(1, sizeof(*l)) : NULL;
	if (!l) {
		LOGP(DMAIN, LOG_ERROR, "racks", "lease %.24s not loaded", key);
		json_decref(o);
		return;
	}
	l->id = strtoull(key, NULL, 10);
	snprintf(l->iccid, sizeof(l->iccid), "%s", iccid);
	snprintf(l->owner, sizeof(l->owner), "%s", owner);
	l->bank = (struct rspro_bank_slot){ bi, bs };
	l->client = (struct rspro_client_slot){ ci, cs };
	l->since_us = since;
	l->expires_us = exp;
	l->next = r->leases;
	r->leases = l;
	r->num_leases++;
	if (l->id > r->last_id)
		r->last_id = l->id;
	json_decref(o);
}

static void load_seq(const char *key, const char *value, void *arg)
{
	struct racks *r = arg;
	uint64_t v = strtoull(value, NULL, 10);

	if (!strcmp(key, "lease") && v > r->last_id)
		r->last_id = v;
}

int racks_reload(struct server *srv, char *err, size_t errlen)
{
	struct racks *r = srv->racks;
	int ret;

	free_all(r);
	ret = store_record_load(srv->store, "tags", load_tags, r, err, errlen);
	if (!ret)
		ret = store_record_load(srv->store, "pool", load_pool, r, err, errlen);
	if (!ret)
		ret = store_record_load(srv->store, "lease", load_lease, r, err, errlen);
	if (!ret)
		ret = store_record_load(srv->store, "seq", load_seq, r, err, errlen);
	return ret;
}

int racks_start(struct server *srv, char *err, size_t errlen)
{
	struct racks *r = calloc(1, sizeof(*r));
	int ret;

	srv->racks = r;
	if (r) {
		r->pending = calloc(HISTORY_PENDING_MAX, sizeof(*r->pending));
		r->batch = calloc(HISTORY_PENDING_MAX, sizeof(*r->batch));
	}
	if (!r || !r->pending || !r->batch) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ev_timer_init(&r->flush, racks_history_timer, srv);
	ev_timer_init(&srv->racks->tick, racks_tick, srv);
	ret = ev_timer_start(srv->loop, &srv->racks->tick, RACKS_TICK_MS);
	if (ret)
		snprintf(err, errlen, "event loop: %s", strerror(-ret));
	return ret;
}

void racks_stop(struct server *srv)
{
	if (!srv->racks)
		return;
	if (srv->racks->pending && racks_history_flush(srv))
		LOGP(DMAIN, LOG_ERROR, "history", "%u history events not stored at exit",
		     srv->racks->num_pending);
	ev_timer_stop(&srv->racks->flush);
	ev_timer_stop(&srv->racks->tick);
	free_all(srv->racks);
	free(srv->racks->pending);
	free(srv->racks->batch);
	free(srv->racks);
	srv->racks = NULL;
}

const char *server_card_iccid(struct server *srv, struct rspro_bank_slot bank)
{
	const struct server_card *sc = NULL;
	struct server_card_info ci;

	while ((sc = server_card_next_info(srv, sc, &ci)))
		if (racks_same_bank(ci.bank, bank))
			return ci.card->iccid;
	return "";
}
