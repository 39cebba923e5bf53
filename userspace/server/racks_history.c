// SPDX-License-Identifier: GPL-2.0
/*
 * The history of cards and modem slots: events kept in memory briefly and
 * stored in batches, and the queries over them.
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
int racks_history_flush(struct server *srv)
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

void racks_history_timer(struct ev_timer *t)
{
	racks_history_flush(t->data);
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
		if (racks_same_bank(mi.bank, bank)) {
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
	racks_history_flush(srv);
	return store_history_query(srv->store, iccid, client, since_us, limit, history_row,
				   &ha, err, errlen);
}
