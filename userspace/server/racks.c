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
#include "server.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

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

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static bool same_client(struct rspro_client_slot a, struct rspro_client_slot b)
{
	return a.client_id == b.client_id && a.slot_nr == b.slot_nr;
}

static bool same_bank(struct rspro_bank_slot a, struct rspro_bank_slot b)
{
	return a.bank_id == b.bank_id && a.slot_nr == b.slot_nr;
}

static void utc_text(int64_t us, char *buf, size_t size)
{
	time_t t = us / 1000000;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static bool limit_reached(struct racks *r, const char *what, unsigned int max)
{
	if (!r->full_logged)
		LOGP(DMAIN, LOG_ERROR, "racks", "%s: the most this server keeps is %u", what,
		     max);
	r->full_logged = true;
	return true;
}

/* --- tags --- */

static bool name_valid(const char *s, bool colon)
{
	size_t n = strlen(s), i;

	if (!n || n > SERVER_TAG_LEN)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
		      (colon && c == ':')))
			return false;
	}
	return true;
}

bool server_tag_valid(const char *tag)
{
	return name_valid(tag, true);
}

bool server_pool_name_valid(const char *name)
{
	return name_valid(name, false);
}

/*
 * The MNC's length is not in the IMSI (the card's EF_AD says it): these
 * MCCs (North America and the Caribbean, Argentina, Colombia, ...) assign
 * 3-digit MNCs, the others 2, as ITU-T E.212's list has them.
 */
static const unsigned short mnc3_mccs[] = {
	302, 310, 311, 312, 313, 314, 315, 316, 334, 338, 342, 344, 346, 348,
	354, 356, 358, 360, 365, 366, 376, 708, 722, 732, 750,
};

bool server_mccmnc_tag(const char *imsi, char *out, size_t len)
{
	unsigned int mcc, i, digits = 5;

	if (!imsi || strlen(imsi) < 6 || strspn(imsi, "0123456789") < 6)
		return false;
	mcc = (imsi[0] - '0') * 100 + (imsi[1] - '0') * 10 + (imsi[2] - '0');
	for (i = 0; i < ARRAY_SIZE(mnc3_mccs); i++)
		if (mnc3_mccs[i] == mcc)
			digits = 6;
	snprintf(out, len, "mccmnc:%.*s", (int)digits, imsi);
	return true;
}

static struct card_tags *tags_of(struct racks *r, const char *iccid)
{
	struct card_tags *t;

	for (t = r->tags; t; t = t->next)
		if (!strcmp(t->iccid, iccid))
			return t;
	return NULL;
}

void server_card_tags(struct server *srv, const char *iccid, const char *imsi,
		      void (*fn)(const char *tag, void *), void *arg)
{
	struct card_tags *t = iccid ? tags_of(srv->racks, iccid) : NULL;
	char auto_tag[32];
	unsigned int i;

	if (server_mccmnc_tag(imsi, auto_tag, sizeof(auto_tag)))
		fn(auto_tag, arg);
	for (i = 0; t && i < t->n; i++)
		fn(t->tags[i], arg);
}

/* A record's JSON value: {"tags": [...]}; NULL when out of memory. */
static char *tags_json(const char *const *tags, unsigned int n)
{
	json_t *a = json_array(), *o;
	unsigned int i;
	char *text;

	for (i = 0; a && i < n; i++)
		json_array_append_new(a, json_string(tags[i]));
	o = json_pack("{s:o}", "tags", a);
	text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return text;
}

/* Tags from a record, checked: a bad one is dropped (and said). */
static unsigned int tags_parse(json_t *o, char tags[][SERVER_TAG_LEN + 1], const char *whose)
{
	json_t *a = json_object_get(o, "tags"), *v;
	unsigned int n = 0;
	size_t i;

	json_array_foreach(a, i, v) {
		const char *s = json_string_value(v);

		if (!s || !server_tag_valid(s) || n >= SERVER_TAGS_MAX) {
			LOGP(DMAIN, LOG_ERROR, "racks", "%s: a stored tag is not valid, dropped",
			     whose);
			continue;
		}
		snprintf(tags[n++], SERVER_TAG_LEN + 1, "%s", s);
	}
	return n;
}

int server_tags_set(struct server *srv, const char *iccid, const char *const *tags,
		    unsigned int n, char *err, size_t errlen)
{
	struct racks *r = srv->racks;
	struct card_tags *t = tags_of(r, iccid), **pp;
	unsigned int i;
	char *text;
	int ret;

	if (!t && n && r->num_tagged >= SERVER_TAGGED_MAX &&
	    limit_reached(r, "cards with tags", SERVER_TAGGED_MAX)) {
		snprintf(err, errlen, "%u cards have tags already, the most kept",
			 SERVER_TAGGED_MAX);
		return -ENOSPC;
	}
	if (!n) {
		ret = store_record_delete(srv->store, "tags", iccid, err, errlen);
		if (ret && ret != -ENOENT)
			return ret;
		for (pp = &r->tags; *pp; pp = &(*pp)->next)
			if (*pp == t) {
				*pp = t->next;
				free(t);
				r->num_tagged--;
				break;
			}
		return 0;
	}
	text = tags_json(tags, n);
	if (!text)
		return -ENOMEM;
	if (!t) {
		t = calloc(1, sizeof(*t));
		if (!t) {
			free(text);
			return -ENOMEM;
		}
		snprintf(t->iccid, sizeof(t->iccid), "%s", iccid);
		t->next = r->tags;
		r->tags = t;
		r->num_tagged++;
	}
	ret = store_record_put(srv->store, "tags", iccid, text, err, errlen);
	free(text);
	if (ret && !t->n) {
		/* a card that had none keeps none */
		for (pp = &r->tags; *pp; pp = &(*pp)->next)
			if (*pp == t) {
				*pp = t->next;
				free(t);
				r->num_tagged--;
				break;
			}
	}
	if (ret)
		return ret;
	t->n = n;
	for (i = 0; i < n; i++)
		snprintf(t->tags[i], sizeof(t->tags[i]), "%s", tags[i]);
	return 0;
}

/* --- pools --- */

const struct server_pool *server_pool_find(struct server *srv, const char *name)
{
	struct server_pool *p;

	for (p = srv->racks->pools; p; p = p->next)
		if (!strcmp(p->name, name))
			return p;
	return NULL;
}

const struct server_pool *server_pool_next_info(struct server *srv,
						const struct server_pool *prev,
						struct server_pool_info *info)
{
	const struct server_pool *p = prev ? prev->next : srv->racks->pools;

	if (p) {
		info->name = p->name;
		info->tags = p->ptrs;
		info->n = p->n;
	}
	return p;
}

/* Whether the card @ci has @tag, its automatic one included. */
static bool card_has(struct server *srv, const struct server_card_info *ci, const char *tag)
{
	struct card_tags *t = tags_of(srv->racks, ci->card->iccid);
	char auto_tag[32];
	unsigned int i;

	if (server_mccmnc_tag(ci->card->imsi, auto_tag, sizeof(auto_tag)) &&
	    !strcmp(auto_tag, tag))
		return true;
	for (i = 0; t && i < t->n; i++)
		if (!strcmp(t->tags[i], tag))
			return true;
	return false;
}

bool server_pool_has(struct server *srv, const struct server_pool *pool,
		     const struct server_card_info *ci)
{
	unsigned int i;

	if (!ci->card->iccid[0])
		return false;
	for (i = 0; i < pool->n; i++)
		if (!card_has(srv, ci, pool->tags[i]))
			return false;
	return true;
}

static struct server_lease *lease_of_iccid(struct racks *r, const char *iccid)
{
	struct server_lease *l;

	for (l = r->leases; l; l = l->next)
		if (!strcmp(l->iccid, iccid))
			return l;
	return NULL;
}

bool server_card_free(struct server *srv, const struct server_card_info *ci)
{
	return !strcmp(ci->state, "present") && ci->card->iccid[0] && !ci->mapped &&
	       !lease_of_iccid(srv->racks, ci->card->iccid);
}

static void pool_set(struct server_pool *p, const char *const *tags, unsigned int n)
{
	unsigned int i;

	p->n = n;
	for (i = 0; i < n; i++) {
		snprintf(p->tags[i], sizeof(p->tags[i]), "%s", tags[i]);
		p->ptrs[i] = p->tags[i];
	}
}

/* Links @p by name: GET /pools lists them so. */
static void pool_link(struct racks *r, struct server_pool *p)
{
	struct server_pool **pp = &r->pools;

	while (*pp && strcmp((*pp)->name, p->name) < 0)
		pp = &(*pp)->next;
	p->next = *pp;
	*pp = p;
	r->num_pools++;
}

int server_pool_put(struct server *srv, const char *name, const char *const *tags,
		    unsigned int n, char *err, size_t errlen)
{
	struct racks *r = srv->racks;
	struct server_pool *p = (struct server_pool *)server_pool_find(srv, name);
	char *text;
	int ret;

	if (!p && r->num_pools >= SERVER_POOLS_MAX &&
	    limit_reached(r, "pools", SERVER_POOLS_MAX)) {
		snprintf(err, errlen, "there are %u pools already, the most kept",
			 SERVER_POOLS_MAX);
		return -ENOSPC;
	}
	text = tags_json(tags, n);
	if (!text)
		return -ENOMEM;
	ret = store_record_put(srv->store, "pool", name, text, err, errlen);
	free(text);
	if (ret)
		return ret;
	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p)
			return -ENOMEM;	/* stored: read at the next start */
		snprintf(p->name, sizeof(p->name), "%s", name);
		pool_link(r, p);
	}
	pool_set(p, tags, n);
	return 0;
}

int server_pool_delete(struct server *srv, const char *name, char *err, size_t errlen)
{
	struct racks *r = srv->racks;
	struct server_pool **pp, *p;
	int ret;

	for (pp = &r->pools; *pp; pp = &(*pp)->next)
		if (!strcmp((*pp)->name, name))
			break;
	if (!*pp)
		return -ENOENT;
	ret = store_record_delete(srv->store, "pool", name, err, errlen);
	if (ret && ret != -ENOENT)
		return ret;
	p = *pp;
	*pp = p->next;
	free(p);
	r->num_pools--;
	return 0;
}

/* --- history --- */

/* Once a minute at most: how many events are in the log only, and why. */
static void history_lost(struct racks *r, const char *why)
{
	uint64_t now = ev_now_ns();

	if (r->said_ns && now - r->said_ns < HISTORY_LOG_NS)
		return;
	r->said_ns = now;
	LOGP(DMAIN, LOG_ERROR, "history",
	     "history events not stored (they are in this log): %lu dropped with %u waiting (the most), %lu flushes failed; last reason: %s",
	     r->dropped, HISTORY_PENDING_MAX, r->failed, why);
}

/* The waiting events in one transaction; 0, or the store's error (tried again). */
static int history_flush(struct server *srv)
{
	struct racks *r = srv->racks;
	struct pending_event *p;
	char err[256];
	unsigned int i;
	int ret;

	if (!r->num_pending)
		return 0;
	for (i = 0; i < r->num_pending; i++) {
		p = &r->pending[i];
		r->batch[i] = (struct stored_history){
			.time_us = p->time_us, .time = p->time, .iccid = p->iccid,
			.client = p->client, .bank = p->bank, .event = p->event, .who = p->who,
		};
	}
	ret = store_history_add(srv->store, r->batch, r->num_pending, SERVER_HISTORY_KEEP, err,
				sizeof(err));
	if (ret) {
		r->failed++;
		history_lost(r, err);
		if (!ev_timer_pending(&r->flush))
			ev_timer_start(srv->loop, &r->flush, HISTORY_RETRY_MS);
		return ret;
	}
	r->num_pending = 0;
	return 0;
}

static void flush_timer(struct ev_timer *t)
{
	history_flush(t->data);
}

/* One event; @client "" when no modem slot is concerned. */
static void history_add(struct server *srv, const char *iccid, const char *client,
			struct rspro_bank_slot bank, const char *event, const char *who)
{
	struct racks *r = srv->racks;
	struct pending_event *p;

	LOGP(DMAIN, LOG_INFO, "history", "%s card %s modem %s bank %u:%u by %s", event,
	     iccid && iccid[0] ? iccid : "?", client[0] ? client : "-", bank.bank_id,
	     bank.slot_nr, who);
	if (r->num_pending >= HISTORY_PENDING_MAX) {
		r->dropped++;
		history_lost(r, "too many waiting");
		return;
	}
	p = &r->pending[r->num_pending++];
	audit_time(p->time, sizeof(p->time), &p->time_us);
	snprintf(p->iccid, sizeof(p->iccid), "%s", iccid ? iccid : "");
	snprintf(p->client, sizeof(p->client), "%s", client);
	snprintf(p->bank, sizeof(p->bank), "%u:%u", bank.bank_id, bank.slot_nr);
	snprintf(p->event, sizeof(p->event), "%s", event);
	snprintf(p->who, sizeof(p->who), "%s", who);
	if (!ev_timer_pending(&r->flush))
		ev_timer_start(srv->loop, &r->flush, HISTORY_FLUSH_MS);
}

void server_history(struct server *srv, const char *iccid, struct rspro_client_slot client,
		    struct rspro_bank_slot bank, const char *event, const char *who)
{
	char cs[16];

	snprintf(cs, sizeof(cs), "%u:%u", client.client_id, client.slot_nr);
	history_add(srv, iccid, cs, bank, event, who);
}

void server_history_card(struct server *srv, const char *iccid, struct rspro_bank_slot bank,
			 const char *event, const char *who)
{
	const struct slotmap *m = NULL;
	struct server_map_info mi;

	/* the modem slot it serves sees the card go or come too */
	while ((m = server_map_next_info(srv, m, &mi)))
		if (same_bank(mi.bank, bank)) {
			server_history(srv, iccid, mi.client, bank, event, who);
			return;
		}
	history_add(srv, iccid, "", bank, event, who);
}

struct history_arg {
	void (*fn)(const struct server_history_line *, void *);
	void *arg;
};

static void history_row(const struct stored_history *h, void *arg)
{
	struct history_arg *ha = arg;
	struct server_history_line l = {
		.id = h->id, .time = h->time, .iccid = h->iccid, .client = h->client,
		.bank = h->bank, .event = h->event, .who = h->who,
	};

	ha->fn(&l, ha->arg);
}

int server_history_query(struct server *srv, const char *iccid, const char *client,
			 int64_t since_us, unsigned int limit,
			 void (*fn)(const struct server_history_line *, void *), void *arg,
			 char *err, size_t errlen)
{
	struct history_arg ha = { fn, arg };

	/* what waits is part of the answer; if it cannot be stored, neither can this read */
	history_flush(srv);
	return store_history_query(srv->store, iccid, client, since_us, limit, history_row,
				   &ha, err, errlen);
}

/* --- leases --- */

static void lease_info(const struct server_lease *l, struct server_lease_info *info)
{
	info->id = l->id;
	info->iccid = l->iccid;
	info->owner = l->owner;
	info->bank = l->bank;
	info->client = l->client;
	info->since_us = l->since_us;
	info->expires_us = l->expires_us;
}

const struct server_lease *server_lease_next_info(struct server *srv,
						  const struct server_lease *prev,
						  struct server_lease_info *info)
{
	const struct server_lease *l = prev ? prev->next : srv->racks->leases;

	if (l)
		lease_info(l, info);
	return l;
}

static struct server_lease *lease_find(struct racks *r, uint64_t id)
{
	struct server_lease *l;

	for (l = r->leases; l; l = l->next)
		if (l->id == id)
			return l;
	return NULL;
}

static int lease_store(struct server *srv, const struct server_lease *l, char *err,
		       size_t errlen)
{
	char key[24], *text;
	json_t *o;
	int ret;

	o = json_pack("{s:s,s:s,s:i,s:i,s:i,s:i,s:I,s:I}", "iccid", l->iccid,
		      "owner", l->owner, "bankId", l->bank.bank_id, "bankSlot",
		      l->bank.slot_nr, "clientId", l->client.client_id, "clientSlot",
		      l->client.slot_nr, "since", (json_int_t)l->since_us,
		      "expires", (json_int_t)l->expires_us);
	text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!text)
		return -ENOMEM;
	snprintf(key, sizeof(key), "%020" PRIu64, l->id);
	ret = store_record_put(srv->store, "lease", key, text, err, errlen);
	free(text);
	return ret;
}

static int lease_unstore(struct server *srv, uint64_t id, char *err, size_t errlen)
{
	char key[24];
	int ret;

	snprintf(key, sizeof(key), "%020" PRIu64, id);
	ret = store_record_delete(srv->store, "lease", key, err, errlen);
	return ret == -ENOENT ? 0 : ret;
}

static void lease_unlink(struct racks *r, struct server_lease *l)
{
	struct server_lease **pp;

	for (pp = &r->leases; *pp; pp = &(*pp)->next)
		if (*pp == l) {
			*pp = l->next;
			free(l);
			r->num_leases--;
			return;
		}
}

int server_lease_guard(struct server *srv, const struct rspro_bank_slot *bank,
		       const struct rspro_client_slot *client, const char *owner,
		       uint64_t *id, char *err, size_t errlen)
{
	struct server_lease *l;
	char until[32];

	for (l = srv->racks->leases; l; l = l->next) {
		if (!strcmp(l->owner, owner))
			continue;
		if (!(bank && same_bank(l->bank, *bank)) &&
		    !(client && same_client(l->client, *client)))
			continue;
		utc_text(l->expires_us, until, sizeof(until));
		snprintf(err, errlen,
			 "card %s (bank slot %u:%u) and modem slot %u:%u are leased by %s until %s (lease %" PRIu64 ")",
			 l->iccid, l->bank.bank_id, l->bank.slot_nr, l->client.client_id,
			 l->client.slot_nr, l->owner, until, l->id);
		if (id)
			*id = l->id;
		return -EPERM;
	}
	return 0;
}

void server_lease_break(struct server *srv, uint64_t id, const char *by)
{
	struct server_lease *l = lease_find(srv->racks, id);
	char err[256];

	if (!l)
		return;
	if (lease_unstore(srv, id, err, sizeof(err)))
		LOGP(DMAIN, LOG_ERROR, "lease", "lease %" PRIu64 ": %s", id, err);
	LOGP(DMAIN, LOG_NOTICE, "lease", "lease %" PRIu64 " of %s ended by a forced change of %s",
	     id, l->owner, by);
	server_history(srv, l->iccid, l->client, l->bank, "lease broken", by);
	lease_unlink(srv->racks, l);
}

static int lease_end(struct server *srv, struct server_lease *l, const char *event,
		     const char *by, char *err, size_t errlen);

/* The free card of @pool with the lowest bank slot, or the card @iccid. */
static int pick_card(struct server *srv, const char *pool, const char *iccid,
		     struct server_card_info *out, char *err, size_t errlen)
{
	const struct server_pool *p = pool ? server_pool_find(srv, pool) : NULL;
	const struct server_card *sc = NULL;
	struct server_card_info ci;

	if (pool && !p) {
		snprintf(err, errlen, "no pool \"%s\"", pool);
		return -ENOENT;
	}
	while ((sc = server_card_next_info(srv, sc, &ci))) {
		if (iccid && !strcmp(ci.card->iccid, iccid)) {
			*out = ci;
			return 0;
		}
		if (p && server_pool_has(srv, p, &ci) && server_card_free(srv, &ci)) {
			*out = ci;
			return 0;
		}
	}
	if (iccid) {
		snprintf(err, errlen, "no card with ICCID %s is known", iccid);
		return -ENOENT;
	}
	snprintf(err, errlen, "no free card in pool \"%s\"", pool);
	return -ENOSPC;
}

static int check_card(struct server *srv, const struct server_card_info *ci,
		      const char *owner, char *err, size_t errlen)
{
	struct server_lease *l = lease_of_iccid(srv->racks, ci->card->iccid);
	char until[32];

	if (l) {
		utc_text(l->expires_us, until, sizeof(until));
		snprintf(err, errlen, "card %s is leased by %s until %s (lease %" PRIu64 ")",
			 l->iccid, l->owner, until, l->id);
		return strcmp(l->owner, owner) ? -EPERM : -EEXIST;
	}
	if (strcmp(ci->state, "present")) {
		snprintf(err, errlen, "card %s is %s", ci->card->iccid, ci->state);
		return -ENOSPC;
	}
	if (ci->mapped) {
		snprintf(err, errlen, "card %s (bank slot %u:%u) is mapped to %u:%u",
			 ci->card->iccid, ci->bank.bank_id, ci->bank.slot_nr,
			 ci->client.client_id, ci->client.slot_nr);
		return -EEXIST;
	}
	return 0;
}

int server_lease_acquire(struct server *srv, struct rspro_client_slot client,
			 const char *pool, const char *iccid, int64_t seconds,
			 const char *owner, const char *by, bool force,
			 struct server_lease_info *out, char *err, size_t errlen)
{
	struct racks *r = srv->racks;
	struct server_card_info ci;
	struct server_lease *l;
	char seq[256];
	uint64_t held;
	int ret;

	if (r->num_leases >= SERVER_LEASES_MAX && limit_reached(r, "leases", SERVER_LEASES_MAX)) {
		snprintf(err, errlen, "%u leases are held, the most kept", SERVER_LEASES_MAX);
		return -ENOSPC;
	}
	ret = server_lease_guard(srv, NULL, &client, owner, &held, err, errlen);
	if (ret && !force)
		return ret;
	/* forced: the modem slot's lease ends with its map, to make room */
	if (ret) {
		LOGP(DMAIN, LOG_NOTICE, "lease", "lease %" PRIu64 " ended by a forced lease of %s",
		     held, by);
		ret = lease_end(srv, lease_find(r, held), "lease broken", by, err, errlen);
		if (ret)
			return ret;
	}
	ret = pick_card(srv, pool, iccid, &ci, err, errlen);
	if (!ret)
		ret = check_card(srv, &ci, owner, err, errlen);
	if (ret)
		return ret;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->id = r->last_id + 1;
	snprintf(l->iccid, sizeof(l->iccid), "%s", ci.card->iccid);
	snprintf(l->owner, sizeof(l->owner), "%s", owner);
	l->bank = ci.bank;
	l->client = client;
	l->since_us = now_us();
	l->expires_us = l->since_us + seconds * 1000000;
	/*
	 * The id counted and the lease stored first: a lease whose map is
	 * made survives a crash right after, and an id is never used twice.
	 */
	snprintf(seq, sizeof(seq), "%" PRIu64, l->id);
	ret = store_record_put(srv->store, "seq", "lease", seq, err, errlen);
	if (!ret)
		ret = lease_store(srv, l, err, errlen);
	if (ret) {
		free(l);
		return ret;
	}
	ret = server_map_create(srv, l->bank, client, by, err, errlen);
	if (ret) {
		if (ret == -EEXIST)
			snprintf(err, errlen, "modem slot %u:%u or bank slot %u:%u is mapped",
				 client.client_id, client.slot_nr, l->bank.bank_id,
				 l->bank.slot_nr);
		if (lease_unstore(srv, l->id, seq, sizeof(seq)))
			LOGP(DMAIN, LOG_ERROR, "lease", "lease %" PRIu64 " not forgotten: %s",
			     l->id, seq);
		r->last_id = l->id;
		free(l);
		return ret;
	}
	r->last_id = l->id;
	l->next = r->leases;
	r->leases = l;
	r->num_leases++;
	server_history(srv, l->iccid, l->client, l->bank, "lease acquire", owner);
	LOGP(DMAIN, LOG_NOTICE, "lease", "lease %" PRIu64 ": card %s to %u:%u for %s, %lld s",
	     l->id, l->iccid, client.client_id, client.slot_nr, owner, (long long)seconds);
	lease_info(l, out);
	return 0;
}

static int owned(struct server *srv, uint64_t id, const char *owner, bool force,
		 struct server_lease **out, char *err, size_t errlen)
{
	struct server_lease *l = lease_find(srv->racks, id);
	char until[32];

	if (!l) {
		snprintf(err, errlen, "no lease %" PRIu64, id);
		return -ENOENT;
	}
	if (strcmp(l->owner, owner) && !force) {
		utc_text(l->expires_us, until, sizeof(until));
		snprintf(err, errlen, "lease %" PRIu64 " is leased by %s until %s", id, l->owner,
			 until);
		return -EPERM;
	}
	*out = l;
	return 0;
}

int server_lease_renew(struct server *srv, uint64_t id, int64_t seconds, const char *owner,
		       bool force, struct server_lease_info *out, char *err, size_t errlen)
{
	struct server_lease *l;
	int64_t before;
	int ret;

	ret = owned(srv, id, owner, force, &l, err, errlen);
	if (ret)
		return ret;
	before = l->expires_us;
	l->expires_us = now_us() + seconds * 1000000;
	ret = lease_store(srv, l, err, errlen);
	if (ret) {
		l->expires_us = before;
		return ret;
	}
	server_history(srv, l->iccid, l->client, l->bank, "lease renew", owner);
	lease_info(l, out);
	return 0;
}

/*
 * Unmaps @l's bank slot if it is still mapped to @l's modem slot, then
 * forgets @l. The maps, not the cards: a server that just took over has
 * no card inventory until the bankds register with it.
 */
static int lease_end(struct server *srv, struct server_lease *l, const char *event,
		     const char *by, char *err, size_t errlen)
{
	const struct slotmap *m = NULL;
	struct server_map_info mi;
	int ret;

	while ((m = server_map_next_info(srv, m, &mi)))
		if (same_bank(mi.bank, l->bank))
			break;
	if (m && same_client(mi.client, l->client)) {
		ret = server_map_delete(srv, l->bank, by, err, errlen);
		if (ret && ret != -ENOENT)
			return ret;
	}
	ret = lease_unstore(srv, l->id, err, errlen);
	if (ret)
		return ret;
	server_history(srv, l->iccid, l->client, l->bank, event, by);
	lease_unlink(srv->racks, l);
	return 0;
}

int server_lease_release(struct server *srv, uint64_t id, const char *owner, bool force,
			 const char *by, char *err, size_t errlen)
{
	struct server_lease *l;
	int ret;

	ret = owned(srv, id, owner, force, &l, err, errlen);
	if (ret)
		return ret;
	LOGP(DMAIN, LOG_NOTICE, "lease", "lease %" PRIu64 " of %s released by %s", id, l->owner,
	     by);
	return lease_end(srv, l, "lease release", owner, err, errlen);
}

/* Every RACKS_TICK_MS: expired leases unmapped, one log line each. */
static void tick(struct ev_timer *t)
{
	struct server *srv = t->data;
	struct server_lease *l, *next;
	int64_t now = now_us();
	char err[256], who[96];
	int ret;

	for (l = srv->active ? srv->racks->leases : NULL; l; l = next) {
		next = l->next;
		if (l->expires_us > now)
			continue;
		snprintf(who, sizeof(who), "lease %" PRIu64 " expiry", l->id);
		LOGP(DMAIN, LOG_NOTICE, "lease",
		     "lease %" PRIu64 " of %s expired: card %s unmapped from %u:%u", l->id,
		     l->owner, l->iccid, l->client.client_id, l->client.slot_nr);
		ret = lease_end(srv, l, "lease expire", who, err, sizeof(err));
		if (ret && !l->expiry_failed) {
			LOGP(DMAIN, LOG_ERROR, "lease",
			     "lease %" PRIu64 ": unmapping failed (%s), tried again every %u ms",
			     l->id, err, RACKS_TICK_MS);
			l->expiry_failed = true;
		}
	}
	ev_timer_start(srv->loop, &srv->racks->tick, RACKS_TICK_MS);
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
	t->n = tags_parse(o, t->tags, key);
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
	n = tags_parse(o, tags, key);
	for (i = 0; i < n; i++)
		ptrs[i] = tags[i];
	snprintf(p->name, sizeof(p->name), "%s", key);
	pool_set(p, ptrs, n);
	pool_link(r, p);
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
	ev_timer_init(&r->flush, flush_timer, srv);
	ev_timer_init(&srv->racks->tick, tick, srv);
	ret = ev_timer_start(srv->loop, &srv->racks->tick, RACKS_TICK_MS);
	if (ret)
		snprintf(err, errlen, "event loop: %s", strerror(-ret));
	return ret;
}

void racks_stop(struct server *srv)
{
	if (!srv->racks)
		return;
	if (srv->racks->pending && history_flush(srv))
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
		if (same_bank(ci.bank, bank))
			return ci.card->iccid;
	return "";
}
