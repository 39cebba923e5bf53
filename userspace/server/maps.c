// SPDX-License-Identifier: GPL-2.0
/*
 * remsim-server's slot maps: their states, the order in which they go to
 * their bankd (CreateMappingReq / RemoveMappingReq, one request per bank
 * slot at a time) and to their client (ConfigClientBankReq), the bankd's
 * answers, and the creations and deletions REST asks for, stored first.
 * The connections that carry them are server.c's.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remsim/log.h"
#include "server.h"

static const char *const map_state_names[] = {
	[MAP_NEW]		= "NEW",
	[MAP_UNACKNOWLEDGED]	= "UNACKNOWLEDGED",
	[MAP_ACTIVE]		= "ACTIVE",
	[MAP_DELETE_REQ]	= "DELETE_REQ",
	[MAP_DELETING]		= "DELETING",
};

const char *map_state_name(enum map_state state)
{
	return map_state_names[state];
}

const char *peer_state_name(enum peer_state state)
{
	switch (state) {
	case PEER_ESTABLISHED:	return "ESTABLISHED";
	case PEER_CLIENT:	return "CONNECTED_CLIENT";
	case PEER_BANKD:	return "CONNECTED_BANKD";
	default:		return "REJECTED";
	}
}

/* "B1:5 <-> C23:0" for log lines */
static const char *map_name(const struct slotmap *m)
{
	static char buf[48];

	snprintf(buf, sizeof(buf), "B%u:%u<->C%u:%u", m->bank.bank_id,
		 m->bank.slot_nr, m->client.client_id, m->client.slot_nr);
	return buf;
}

static bool same_client(struct rspro_client_slot a, struct rspro_client_slot b)
{
	return a.client_id == b.client_id && a.slot_nr == b.slot_nr;
}

static bool same_bank(struct rspro_bank_slot a, struct rspro_bank_slot b)
{
	return a.bank_id == b.bank_id && a.slot_nr == b.slot_nr;
}

static struct slotmap *live_map_of_client(struct server *srv,
					  struct rspro_client_slot c)
{
	struct slotmap *m;

	for (m = srv->maps; m; m = m->next)
		if (!m->deleted && same_client(m->client, c))
			return m;
	return NULL;
}

struct slotmap *server_map_next(struct slotmap *m)
{
	for (m = m->next; m && m->deleted; m = m->next)
		;
	return m;
}

struct slotmap *server_map_first(struct server *srv)
{
	struct slotmap head = { .next = srv->maps };

	return server_map_next(&head);
}

const struct slotmap *server_map_next_info(struct server *srv, const struct slotmap *prev,
					   struct server_map_info *info)
{
	struct slotmap *m = prev ? server_map_next((struct slotmap *)prev) :
			    server_map_first(srv);

	if (m) {
		info->bank = m->bank;
		info->client = m->client;
		info->state = map_state_name(m->state);
	}
	return m;
}

/*
 * Keeps the list in creation order: GET /slotmaps lists it so, as
 * osmo-remsim-server does, and push() sends the oldest request first.
 */
static void map_link(struct server *srv, struct slotmap *m)
{
	struct slotmap **pp = &srv->maps;

	while (*pp)
		pp = &(*pp)->next;
	m->next = NULL;
	*pp = m;
}

static void map_free(struct server *srv, struct slotmap *m)
{
	struct slotmap **pp;

	for (pp = &srv->maps; *pp; pp = &(*pp)->next)
		if (*pp == m) {
			*pp = m->next;
			break;
		}
	free(m);
}

/*
 * The audit line of a ConfigClientBankReq: what the client was told before
 * (as far as this connection knows) and what it is told now.
 */
static void audit_client_push(struct server *srv, const struct peer *p,
			      struct rspro_bank_slot bank, const char *addr)
{
	char action[64], before[80] = "", after[80], told[64];

	snprintf(action, sizeof(action), "push ConfigClientBankReq to %s", p->name);
	if (p->told_addr.port) {
		rspro_ip_port_format(&p->told_addr, told, sizeof(told));
		snprintf(before, sizeof(before), "B%u:%u at %s", p->told_bank.bank_id,
			 p->told_bank.slot_nr, told);
	}
	snprintf(after, sizeof(after), "B%u:%u at %s", bank.bank_id, bank.slot_nr, addr);
	server_audit(srv, "server", action, before[0] ? before : NULL, after);
}

/*
 * Tells a client where its card is: the bankd of its ACTIVE map, or
 * 0.0.0.0:0 ("no bankd") when it has none, but only when that differs
 * from what this connection was told last, or when its bankd registered
 * again and the client said it wants to hear that (see server.h). "No
 * bankd" carries the bank slot the client was told before, as
 * osmo-remsim-server sends the slot of the map being deleted.
 */
void update_client(struct server *srv, struct rspro_client_slot c)
{
	struct peer *p = client_peer(srv, c), *bp;
	struct slotmap *m = live_map_of_client(srv, c);
	struct rspro_ip_port addr = { .family = AF_INET };
	struct rspro_bank_slot bank;
	struct rspro_pdu pdu;
	char text[64];

	if (!p)
		return;
	if (m && m->state == MAP_ACTIVE && (bp = bank_peer(srv, m->bank.bank_id))) {
		bank = m->bank;
		addr = bp->bankd_addr;
	} else if (!p->told_addr.port) {
		return;		/* nothing before, nothing now */
	} else {
		bank = p->told_bank;
	}
	if (same_bank(bank, p->told_bank) && !memcmp(&addr, &p->told_addr, sizeof(addr)) &&
	    !(p->retell && addr.port))
		return;
	p->retell = false;
	rspro_config_client_bank_req(&pdu, bank, &addr);
	rspro_ip_port_format(&addr, text, sizeof(text));
	LOGP(DSLOTMAP, LOG_INFO, p->name, "bankd for this client: B%u:%u at %s",
	     bank.bank_id, bank.slot_nr, text);
	audit_client_push(srv, p, bank, text);
	peer_send(p, &pdu);
	p->told_bank = bank;
	p->told_addr = addr;
}

/* Whether another request on @m's bank slot still waits for the bankd. */
static bool slot_busy(struct server *srv, const struct slotmap *m)
{
	const struct slotmap *o;

	for (o = srv->maps; o; o = o->next)
		if (o != m && same_bank(o->bank, m->bank) &&
		    (o->state == MAP_UNACKNOWLEDGED || o->state == MAP_DELETING))
			return true;
	return false;
}

/* The audit line of a CreateMappingReq or RemoveMappingReq just queued. */
static void audit_bank_push(struct server *srv, const struct peer *bp,
			    const struct slotmap *m)
{
	bool create = m->state == MAP_UNACKNOWLEDGED;
	char action[64];

	snprintf(action, sizeof(action), "push %s to %s",
		 create ? "CreateMappingReq" : "RemoveMappingReq", bp->name);
	server_audit(srv, "server", action, create ? NULL : map_name(m),
		     create ? map_name(m) : NULL);
}

/*
 * Sends what a bankd is due: new maps and removals, oldest first, but one
 * request per bank slot at a time. The bankd acts on a bank slot whatever
 * the client slot, so a create that overtook an earlier map's removal
 * would be undone by it: a later request waits for the bankd's answer to
 * the earlier one (or for the link to drop), and the maps of one bank slot
 * stay in creation order in the list.
 */
void push(struct server *srv, struct peer *bp)
{
	struct slotmap *m;
	struct rspro_pdu pdu;

	for (m = srv->maps; m; m = m->next) {
		if (m->bank.bank_id != bp->bank_id)
			continue;
		if ((m->state == MAP_NEW || m->state == MAP_DELETE_REQ) && slot_busy(srv, m))
			continue;
		if (m->state == MAP_NEW && !m->deleted && !m->refused) {
			if (m->bank.slot_nr >= bp->num_slots) {
				LOGP(DSLOTMAP, LOG_ERROR, bp->name,
				     "map %s: the bankd has only %u slots, not sent",
				     map_name(m), bp->num_slots);
				continue;
			}
			rspro_create_mapping_req(&pdu, m->client, m->bank);
			m->state = MAP_UNACKNOWLEDGED;
			srv->map_ops[MAP_OP_CREATE_REQ]++;
		} else if (m->state == MAP_DELETE_REQ) {
			rspro_remove_mapping_req(&pdu, m->client, m->bank);
			m->state = MAP_DELETING;
			srv->map_ops[MAP_OP_REMOVE_REQ]++;
		} else {
			continue;
		}
		m->queued_seq = ++srv->seq;
		LOGP(DSLOTMAP, LOG_INFO, bp->name, "map %s: %s", map_name(m),
		     map_state_name(m->state));
		audit_bank_push(srv, bp, m);
		peer_send(bp, &pdu);
	}
}

/* The oldest map of @bank_id in @state: responses come in request order. */
static struct slotmap *oldest(struct server *srv, uint16_t bank_id,
			      enum map_state state)
{
	struct slotmap *m, *best = NULL;

	for (m = srv->maps; m; m = m->next)
		if (m->bank.bank_id == bank_id && m->state == state &&
		    (!best || m->queued_seq < best->queued_seq))
			best = m;
	return best;
}

/* --- slot maps from REST --- */

int server_map_create(struct server *srv, struct rspro_bank_slot bank,
		      struct rspro_client_slot client, const char *by, char *err, size_t errlen)
{
	struct stored_map sm = { .bank = bank, .client = client };
	struct slotmap *m, *next, *nm;
	struct peer *bp;
	int ret;

	for (m = srv->maps; m; m = m->next)
		if (!m->deleted && (same_bank(m->bank, bank) ||
				    same_client(m->client, client)))
			return -EEXIST;
	nm = calloc(1, sizeof(*nm));
	if (!nm)
		return -ENOMEM;
	ret = store_add(srv->store, &sm, err, errlen);
	if (ret) {
		free(nm);
		return ret;
	}
	/*
	 * A deleted map on this bank slot that its bankd was not yet told
	 * about needs no removal: CreateMappingReq replaces it there. One
	 * already asked to be removed stays until its response comes.
	 */
	for (m = srv->maps; m; m = next) {
		next = m->next;
		if (m->deleted && m->state == MAP_DELETE_REQ && same_bank(m->bank, bank))
			map_free(srv, m);
	}
	nm->bank = bank;
	nm->client = client;
	nm->state = MAP_NEW;
	map_link(srv, nm);
	srv->map_ops[MAP_OP_CREATE]++;
	LOGP(DSLOTMAP, LOG_INFO, "rest", "map %s created by %s", map_name(nm), by);
	server_history(srv, server_card_iccid(srv, bank), client, bank, "map", by);
	bp = bank_peer(srv, bank.bank_id);
	if (bp)
		push(srv, bp);
	return 0;
}

/* The deletion of one map once it is stored; see the states above. */
static void map_deleted(struct server *srv, struct slotmap *m, const char *by)
{
	struct peer *bp = bank_peer(srv, m->bank.bank_id);

	m->deleted = true;
	LOGP(DSLOTMAP, LOG_INFO, "rest", "map %s deleted in state %s by %s",
	     map_name(m), map_state_name(m->state), by);
	switch (m->state) {
	case MAP_NEW:
	case MAP_ACTIVE:
		/* the bankd may hold it (from before a restart, say) */
		m->state = MAP_DELETE_REQ;
		if (bp)
			push(srv, bp);
		break;
	case MAP_UNACKNOWLEDGED:
		/* removed when its CreateMappingRes arrives */
		break;
	default:
		break;
	}
	update_client(srv, m->client);
}

int server_map_delete(struct server *srv, struct rspro_bank_slot bank, const char *by,
		      char *err, size_t errlen)
{
	struct slotmap *m;
	int ret;

	for (m = srv->maps; m; m = m->next)
		if (!m->deleted && same_bank(m->bank, bank))
			break;
	if (!m)
		return -ENOENT;
	ret = store_mark_deleting(srv->store, bank, err, errlen);
	if (ret)
		return ret;
	srv->map_ops[MAP_OP_DELETE]++;
	server_history(srv, server_card_iccid(srv, bank), m->client, bank, "unmap", by);
	map_deleted(srv, m, by);
	return 0;
}

/* --- bankd responses --- */

void create_mapping_res(struct server *srv, struct peer *bp, int32_t result)
{
	struct slotmap *m = oldest(srv, bp->bank_id, MAP_UNACKNOWLEDGED);
	const char *rname = rspro_result_name(result);
	char err[160];

	if (!m) {
		LOGP(DSLOTMAP, LOG_ERROR, bp->name,
		     "createMappingRes without a request outstanding");
		return;
	}
	srv->map_ops[result == RSPRO_OK ? MAP_OP_CREATE_OK : MAP_OP_CREATE_REFUSED]++;
	if (result != RSPRO_OK) {
		LOGP(DSLOTMAP, LOG_ERROR, bp->name, "map %s refused by bankd: %s (%d)",
		     map_name(m), rname ? rname : "unknown", result);
		if (m->deleted) {
			if (store_remove(srv->store, m->bank, err, sizeof(err)))
				LOGP(DSLOTMAP, LOG_ERROR, bp->name, "%s", err);
			map_free(srv, m);
		} else {
			/* again when the bankd returns, not in a loop */
			m->state = MAP_NEW;
			m->refused = true;
		}
		push(srv, bp);	/* the next request on that bank slot */
		return;
	}
	if (m->deleted) {
		m->state = MAP_DELETE_REQ;
		push(srv, bp);
		return;
	}
	m->state = MAP_ACTIVE;
	LOGP(DSLOTMAP, LOG_INFO, bp->name, "map %s: ACTIVE", map_name(m));
	update_client(srv, m->client);
	push(srv, bp);
}

void remove_mapping_res(struct server *srv, struct peer *bp, int32_t result)
{
	struct slotmap *m = oldest(srv, bp->bank_id, MAP_DELETING);
	char err[160];

	if (!m) {
		LOGP(DSLOTMAP, LOG_ERROR, bp->name,
		     "removeMappingRes without a request outstanding");
		return;
	}
	srv->map_ops[MAP_OP_REMOVE_RES]++;
	/* unknownSlotmap is fine: the bankd does not hold it either way */
	LOGP(DSLOTMAP, LOG_INFO, bp->name, "map %s removed (%s)", map_name(m),
	     rspro_result_name(result) ? rspro_result_name(result) : "?");
	if (store_remove(srv->store, m->bank, err, sizeof(err)))
		LOGP(DSLOTMAP, LOG_ERROR, bp->name, "%s", err);
	map_free(srv, m);
	push(srv, bp);	/* the next request on that bank slot */
}


void server_load_map(const struct stored_map *sm, void *arg)
{
	struct server *srv = arg;
	struct slotmap *m = calloc(1, sizeof(*m));

	if (!m) {
		LOGP(DSLOTMAP, LOG_FATAL, NULL, "out of memory loading maps");
		exit(1);
	}
	m->bank = sm->bank;
	m->client = sm->client;
	m->deleted = sm->deleting;
	m->state = sm->deleting ? MAP_DELETE_REQ : MAP_NEW;
	map_link(srv, m);
}
