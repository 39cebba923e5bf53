// SPDX-License-Identifier: GPL-2.0
/*
 * Leases: a card of a pool (or named) mapped to a test job's modem slot
 * for one owner until it expires; renewal, release, expiry and the guard
 * that keeps others from changing a leased card's or slot's map.
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
		if (!(bank && racks_same_bank(l->bank, *bank)) &&
		    !(client && racks_same_client(l->client, *client)))
			continue;
		racks_utc_text(l->expires_us, until, sizeof(until));
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
	struct server_lease *l = racks_lease_of_iccid(srv->racks, ci->card->iccid);
	char until[32];

	if (l) {
		racks_utc_text(l->expires_us, until, sizeof(until));
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

	if (r->num_leases >= SERVER_LEASES_MAX && racks_limit_reached(r, "leases", SERVER_LEASES_MAX)) {
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
	l->since_us = racks_now_us();
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
		racks_utc_text(l->expires_us, until, sizeof(until));
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
	l->expires_us = racks_now_us() + seconds * 1000000;
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
		if (racks_same_bank(mi.bank, l->bank))
			break;
	if (m && racks_same_client(mi.client, l->client)) {
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
void racks_tick(struct ev_timer *t)
{
	struct server *srv = t->data;
	struct server_lease *l, *next;
	int64_t now = racks_now_us();
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
