// SPDX-License-Identifier: GPL-2.0
/*
 * The card inventory: what each bankd says is in its bank slots' readers
 * (ConnectBankReq.cardInfo, remsim's extension "cards"), with since when,
 * for GET /api/backend/v1/cards. It is kept in memory only: a bankd tells
 * it all again each time it connects, and a bankd that is gone has its
 * cards shown "offline" from then on, as nobody can tell what its readers
 * hold.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "remsim/log.h"
#include "server.h"

struct server_card {
	struct server_card *next;
	uint16_t bank_id;
	struct rspro_card_info info;
	bool offline;			/* its bankd is not connected */
	int64_t since_us;		/* Unix time of the last change of state */
};

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static struct server_card **find(struct server *srv, uint16_t bank_id, uint16_t slot)
{
	struct server_card **pc;

	/* in bank and slot order: GET /cards lists them so */
	for (pc = &srv->cards; *pc; pc = &(*pc)->next)
		if ((*pc)->bank_id > bank_id ||
		    ((*pc)->bank_id == bank_id && (*pc)->info.slot_nr >= slot))
			break;
	return pc;
}

static bool same_state(const struct rspro_card_info *a, const struct rspro_card_info *b)
{
	return a->present == b->present && !strcmp(a->iccid, b->iccid) &&
	       !strcmp(a->imsi, b->imsi) && !strcmp(a->reader, b->reader);
}

/*
 * A card taken out or put in while its bankd was connected, for the
 * history: not a bankd's first report, nor its report after a reconnect,
 * which tell what was there all along.
 */
static void card_changed(struct server *srv, struct peer *bp, const struct rspro_card_info *old,
			 const struct rspro_card_info *ci)
{
	struct rspro_bank_slot bank = { bp->bank_id, ci->slot_nr };
	bool was = old->present && old->iccid[0], is = ci->present && ci->iccid[0];

	if (was && (!is || strcmp(old->iccid, ci->iccid)))
		server_history_card(srv, old->iccid, bank, "card removed", bp->name);
	if (is && (!was || strcmp(old->iccid, ci->iccid)))
		server_history_card(srv, ci->iccid, bank, "card inserted", bp->name);
}

int server_card_update(struct server *srv, struct peer *bp, const struct rspro_card_info *ci)
{
	struct server_card **pc, *c;

	if (ci->slot_nr >= bp->num_slots) {
		LOGP(DRSPRO, LOG_ERROR, bp->name, "card inventory of slot %u, beyond its %u slots",
		     ci->slot_nr, bp->num_slots);
		return RSPRO_ILLEGAL_SLOT_ID;
	}
	pc = find(srv, bp->bank_id, ci->slot_nr);
	c = *pc;
	if (!c || c->bank_id != bp->bank_id || c->info.slot_nr != ci->slot_nr) {
		if (srv->num_cards >= SERVER_CARDS_MAX) {
			if (!srv->cards_full_logged)
				LOGP(DRSPRO, LOG_ERROR, bp->name,
				     "card inventory full (%u bank slots): slot %u not kept",
				     SERVER_CARDS_MAX, ci->slot_nr);
			srv->cards_full_logged = true;
			return RSPRO_OK;
		}
		c = calloc(1, sizeof(*c));
		if (!c)
			return RSPRO_OK;
		c->bank_id = bp->bank_id;
		c->next = *pc;
		*pc = c;
		srv->num_cards++;
	} else if (same_state(&c->info, ci) && !c->offline) {
		c->info.apdus = ci->apdus;
		c->info.has_apdus = ci->has_apdus;
		c->info.has_card_time = ci->has_card_time;
		c->info.card_time_p50_us = ci->card_time_p50_us;
		c->info.card_time_p99_us = ci->card_time_p99_us;
		return RSPRO_OK;
	}
	if (c->since_us && !c->offline)
		card_changed(srv, bp, &c->info, ci);
	c->info = *ci;
	c->offline = false;
	c->since_us = now_us();
	LOGP(DRSPRO, LOG_INFO, bp->name, "slot %u: %s%s%s", ci->slot_nr,
	     ci->present ? "card" : "no card", ci->iccid[0] ? ", ICCID " : "", ci->iccid);
	return RSPRO_OK;
}

void server_cards_offline(struct server *srv, uint16_t bank_id)
{
	struct server_card *c;
	int64_t now = now_us();

	for (c = srv->cards; c; c = c->next)
		if (c->bank_id == bank_id && !c->offline) {
			c->offline = true;
			c->since_us = now;
		}
}

void server_cards_free(struct server *srv)
{
	struct server_card *c, *next;

	for (c = srv->cards; c; c = next) {
		next = c->next;
		free(c);
	}
	srv->cards = NULL;
	srv->num_cards = 0;
}

const struct server_card *server_card_next_info(struct server *srv,
						const struct server_card *prev,
						struct server_card_info *info)
{
	const struct server_card *c = prev ? prev->next : srv->cards;
	const struct slotmap *m;

	if (!c)
		return NULL;
	memset(info, 0, sizeof(*info));
	info->bank.bank_id = c->bank_id;
	info->bank.slot_nr = c->info.slot_nr;
	info->card = &c->info;
	info->state = c->offline ? "offline" : c->info.present ? "present" : "absent";
	info->since_us = c->since_us;
	for (m = srv->maps; m; m = m->next) {
		if (m->deleted || m->bank.bank_id != c->bank_id ||
		    m->bank.slot_nr != c->info.slot_nr)
			continue;
		info->mapped = true;
		info->client = m->client;
		info->map_state = map_state_name(m->state);
		info->client_identity = NULL;
		info->modem_path = NULL;
		{
			struct peer *cp = client_peer(srv, m->client);

			if (cp) {
				info->client_identity = &cp->identity;
				info->modem_path = cp->modem_path[0] ? cp->modem_path : NULL;
			}
		}
	}
	return c;
}
