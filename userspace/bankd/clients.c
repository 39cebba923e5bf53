// SPDX-License-Identifier: GPL-2.0
/*
 * remsim-bankd's clients in the main loop: a client connects and names its
 * client slot; once a map gives it a bank slot, its connection goes to the
 * slot's worker, which opens the card and serves its TPDUs (session.c),
 * and comes back here when the session ends (JOB_GONE).
 *
 * A client with no map yet hears cardNotPresent and keeps its connection,
 * as osmo-remsim-bankd keeps it: the map that comes later reaches it there
 * (its session then sends setAtrReq). Closing it at once made osmo clients
 * reconnect in a storm.
 *
 * A client slot has one connection at a time, card or not. A second one
 * for the same slot does not take the card from a working first one: the
 * first gets a PING, and if it answers within TAKEOVER_PROBE_MS the
 * newcomer is refused with identityInUse, as remsim-server refuses
 * duplicate peers. Only a first connection that stays silent (its client
 * restarted behind a half-open TCP connection) is closed and replaced. One
 * that closed cleanly is gone already: its successor is served at once.
 */
#include <errno.h>
#include <PCSC/winscard.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bankd.h"
#include "remsim/log.h"

static struct client *find_client(struct bankd *bd, uint64_t id)
{
	struct client *c;

	for (c = bd->clients; c; c = c->next)
		if (c->id == id)
			return c;
	return NULL;
}

static void claim(struct client *c);
static void client_close(struct client *c, const char *why);

void client_send(struct client *c, const struct rspro_pdu *pdu)
{
	struct rspro_error err;
	int ret = rspro_conn_send(c->conn, pdu, &err);

	if (ret)
		LOGP(DBANKDW, LOG_ERROR, c->name, "cannot send %s: %s",
		     rspro_msg_name(pdu->msg), ret == -EINVAL ? err.msg : strerror(-ret));
}

void client_peer_refused(struct client *c)
{
	struct bankd *bd = c->bd;

	pthread_mutex_lock(&bd->limit_lock);
	rspro_peer_limit_refused(&bd->limit, rspro_conn_peer(c->conn));
	pthread_mutex_unlock(&bd->limit_lock);
}

/*
 * Forgets the client, ours again (never handed over, or back with
 * JOB_GONE: its card powered down by then).
 */
static void client_gone(struct client *c, const char *why)
{
	struct bankd *bd = c->bd;
	struct client *newcomer = c->contender;
	struct client **pp;

	LOGP(DBANKDW, LOG_INFO, c->name, "client gone (%lu TPDUs, %lu errors): %s",
	     c->tpdus, c->errors, why);
	if (c->conn)
		rspro_conn_close(c->conn);
	ev_timer_stop(&c->timer);
	ev_timer_stop(&c->retry);
	ev_timer_stop(&c->handover);
	for (pp = &bd->clients; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	if (c->incumbent)
		c->incumbent->contender = NULL;
	if (newcomer) {
		newcomer->incumbent = NULL;
		ev_timer_stop(&newcomer->timer);
	}
	free(c->gone);
	free(c);
	/* the slot's worker ended our session: the newcomer's comes after it */
	if (newcomer) {
		if (bd->stopping)
			client_close(newcomer, "bankd shutting down");
		else
			claim(newcomer);
	}
}

/*
 * Closes @c's connection; one its worker serves is told to end, and comes
 * back with JOB_GONE.
 */
static void client_close(struct client *c, const char *why)
{
	struct job *j;

	if (c->where != CLIENT_WORKER) {
		client_gone(c, why);
		return;
	}
	if (c->ending)
		return;
	j = job_new(JOB_END, c->id);
	if (!j) {
		LOGP(DBANKDW, LOG_ERROR, c->name, "out of memory: cannot end the session (%s)",
		     why);
		return;
	}
	snprintf(j->why, sizeof(j->why), "%s", why);
	c->ending = true;
	worker_submit(&c->bd->workers[c->bank_slot], j);
}

/*
 * An errorInd that says @why. remsim-client drops the command it waits for
 * on it; an osmo-remsim client logs it and goes on.
 */
void client_error_ind(struct client *c, const char *why)
{
	struct rspro_pdu pdu;

	rspro_error_ind(&pdu, RSPRO_COMP_BANKD, RSPRO_SEV_MAJOR,
			RSPRO_ERR_UNEXPECTED_DISCONNECT, why);
	if (c->bank_slot >= 0) {
		pdu.error_ind.has_bank_slot = true;
		pdu.error_ind.bank.bank_id = c->bd->cfg.bank_id;
		pdu.error_ind.bank.slot_nr = c->bank_slot;
	}
	if (c->identified) {
		pdu.error_ind.has_client_slot = true;
		pdu.error_ind.client = c->slot;
	}
	client_send(c, &pdu);
}

/* Tells the client why, then closes: an errorInd carries the sentence. */
static void client_refuse(struct client *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void client_refuse(struct client *c, const char *fmt, ...)
{
	char why[RSPRO_ERRSTR_MAX + 1];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	client_refused(c, why);
	client_close(c, why);
}

void client_refused(struct client *c, const char *why)
{
	LOGP(DBANKDW, LOG_ERROR, c->name, "refused: %s", why);
	client_error_ind(c, why);
	client_peer_refused(c);
}

void client_connect_res(struct client *c, int32_t result)
{
	struct rspro_pdu pdu;

	rspro_connect_client_res(&pdu, &c->bd->identity, result);
	client_send(c, &pdu);
	c->answered = true;
}

/* The bank slot mapped to client slot @cs, or -1. */
static int map_of(struct bankd *bd, struct rspro_client_slot cs)
{
	int slot;

	for (slot = 0; slot < bd->cfg.num_slots; slot++)
		if (bd->maps[slot].used && bd->maps[slot].client.client_id == cs.client_id &&
		    bd->maps[slot].client.slot_nr == cs.slot_nr)
			return slot;
	return -1;
}

/* The connection of client slot @cs, with or without its card, if any. */
static struct client *connection_of(struct bankd *bd, struct rspro_client_slot cs)
{
	struct client *c;

	for (c = bd->clients; c; c = c->next)
		if (c->identified && c->slot.client_id == cs.client_id &&
		    c->slot.slot_nr == cs.slot_nr)
			return c;
	return NULL;
}

/* The newcomer @c loses: its client slot has a live connection. */
static void refuse_in_use(struct client *c, const char *why)
{
	if (c->incumbent) {
		c->incumbent->contender = NULL;
		c->incumbent = NULL;
	}
	LOGP(DBANKDW, LOG_ERROR, c->name,
	     "client slot already connected (%s): identityInUse, the new connection closes", why);
	client_connect_res(c, RSPRO_IDENTITY_IN_USE);
	client_peer_refused(c);
	client_close(c, "identityInUse");
}

/* The incumbent @old answered: whoever waits for its slot is refused. */
static void proven_alive(struct client *old)
{
	if (old->contender)
		refuse_in_use(old->contender, "it answered a PING");
}

static void probe_post(struct client *old)
{
	struct job *j = job_new(JOB_PROBE, old->id);

	if (j)
		worker_submit(&old->bd->workers[old->bank_slot], j);
}

/* Asks @old whether it is alive for @c; the answer or the probe timer decides. */
static void probe(struct client *old, struct client *c)
{
	old->contender = c;
	c->incumbent = old;
	LOGP(DBANKDW, LOG_NOTICE, c->name,
	     "a second connection for this client slot: PING to the first, %d ms to answer",
	     TAKEOVER_PROBE_MS);
	if (old->where != CLIENT_MAIN) {
		/*
		 * Its worker PINGs it (the PONG goes there); no JOB_ALIVE in
		 * time and it is closed. On its way there, right behind its
		 * session.
		 */
		if (old->where == CLIENT_WORKER)
			probe_post(old);
		else
			old->probe_after_handover = true;
		ev_timer_start(c->bd->loop, &c->timer, TAKEOVER_PROBE_MS);
		return;
	}
	if (rspro_conn_ping(old->conn)) {
		/* it cannot even take a PING: as good as silent */
		ev_timer_start(c->bd->loop, &c->timer, 0);
		return;
	}
	ev_timer_start(c->bd->loop, &c->timer, TAKEOVER_PROBE_MS);
}

/* From the loop, outside every callback of the connection: to the worker. */
static void handover_timer(struct ev_timer *t)
{
	struct client *c = t->data;
	struct job *j = job_new(JOB_SESSION, c->id);

	if (!j) {
		client_close(c, "out of memory");
		return;
	}
	j->client = c;
	c->where = CLIENT_WORKER;
	worker_submit(&c->bd->workers[c->bank_slot], j);
	if (c->probe_after_handover)
		probe_post(c);
}

/*
 * @c has bank slot @slot now: its connection goes to the slot's worker.
 * Taken out of our loop at once (no PDU of ours after this one), posted
 * from the loop: we may be inside its callback, which must return before
 * another thread runs the connection.
 */
static void take(struct client *c, int slot)
{
	struct worker *w = &c->bd->workers[slot];

	c->gone = job_new(JOB_GONE, c->id);
	if (!c->gone) {
		client_close(c, "out of memory");
		return;
	}
	c->bank_slot = slot;
	pthread_mutex_lock(&w->stats_lock);
	w->stats.connects++;
	pthread_mutex_unlock(&w->stats_lock);
	LOGP(DBANKDW, LOG_INFO, c->name, "mapped to B%u:%u, opening the card",
	     c->bd->cfg.bank_id, slot);
	rspro_conn_detach(c->conn);
	c->where = CLIENT_HANDING;
	ev_timer_start(c->bd->loop, &c->handover, 0);
}

/*
 * @c named its client slot: it waits for the probe of the slot's current
 * connection, is refused, or is the slot's connection now: it gets the
 * card, or cardNotPresent and waits for its map.
 */
static void claim(struct client *c)
{
	struct client *old = connection_of(c->bd, c->slot);
	int slot;

	if (old) {
		if (old->contender)
			refuse_in_use(c, "another new connection is already asking for it");
		else
			probe(old, c);
		return;
	}
	c->identified = true;
	slot = map_of(c->bd, c->slot);
	if (slot < 0) {
		LOGP(DBANKDW, LOG_NOTICE, c->name,
		     "no map for this client: cardNotPresent, waiting for one");
		client_connect_res(c, RSPRO_CARD_NOT_PRESENT);
		return;
	}
	take(c, slot);
}

/*
 * Whether the client's TLS certificate (or PSK identity) allows the client
 * id it claims: a client may not take another's card. Plaintext binds
 * nothing. Refused: illegalClientId, as for a request osmo-remsim's client
 * gets wrong.
 */
static bool cert_allows(struct client *c, const struct rspro_pdu *pdu)
{
	const struct rspro_tls_peer *tp = rspro_conn_tls_peer(c->conn);
	unsigned int id = pdu->connect_client_req.slot.client_id;
	char ids[160];

	if (!tp || rspro_tls_peer_allows(tp, RSPRO_COMP_CLIENT, id))
		return true;
	rspro_tls_peer_ids(tp, ids, sizeof(ids));
	LOGP(DBANKDW, LOG_ERROR, c->name,
	     "peer %s with %s (it allows %s) asked to be client %u: refused with illegalClientId, the connection closes",
	     rspro_conn_peer(c->conn), tp->subject, ids, id);
	client_connect_res(c, RSPRO_ILLEGAL_CLIENT_ID);
	client_peer_refused(c);
	client_close(c, "client id not allowed by its certificate");
	return false;
}

static void connect_client_req(struct client *c, const struct rspro_pdu *pdu)
{
	if (pdu->connect_client_req.has_slot && !cert_allows(c, pdu))
		return;
	if (c->identified || c->incumbent || !pdu->connect_client_req.has_slot) {
		LOGP(DBANKDW, LOG_ERROR, c->name, "connectClientReq %s: illegalClientId",
		     pdu->connect_client_req.has_slot ? "twice" : "without a client slot");
		client_connect_res(c, RSPRO_ILLEGAL_CLIENT_ID);
		client_peer_refused(c);
		client_close(c, "illegal client id");
		return;
	}
	ev_timer_stop(&c->timer);
	c->slot = pdu->connect_client_req.slot;
	snprintf(c->name, sizeof(c->name), "C%u:%u", c->slot.client_id, c->slot.slot_nr);
	claim(c);
}

static void client_pdu(struct rspro_conn *conn, const struct rspro_pdu *pdu)
{
	struct client *c = rspro_conn_data(conn);

	if (!c->identified) {
		if (pdu->msg == RSPRO_CONNECT_CLIENT_REQ)
			connect_client_req(c, pdu);
		else
			client_refuse(c, "%s before connectClient%s", rspro_msg_name(pdu->msg),
				      c->incumbent ? "Res" : "Req");
		return;
	}
	/* named, no map yet (a mapped one is its worker's) */
	switch (pdu->msg) {
	case RSPRO_TPDU_MODEM_TO_CARD:
		/*
		 * No card: the command is lost, the connection stays for
		 * the map. Closing it made osmo clients reconnect in a storm.
		 */
		LOGP(DBANKDW, LOG_DEBUG, c->name, "tpduModemToCard without a card: errorInd");
		client_error_ind(c, "tpduModemToCard while the card is not present: not sent to any card");
		return;
	case RSPRO_CLIENT_SLOT_STATUS_IND:
	case RSPRO_SET_ATR_RES:
		return;
	case RSPRO_CONNECT_CLIENT_REQ:
		connect_client_req(c, pdu);
		return;
	default:
		client_refuse(c, "unexpected %s", rspro_msg_name(pdu->msg));
	}
}

static void client_closed(struct rspro_conn *conn, int err, const char *why)
{
	struct client *c = rspro_conn_data(conn);

	/* failed handshakes count toward the address's reconnect storm */
	if (rspro_tls_bankd_link(&c->bd->cfg.tls) && !rspro_conn_tls_peer(conn))
		client_peer_refused(c);
	/* the connection frees itself after this returns */
	c->conn = NULL;
	client_gone(c, why);
}

static void client_pong(struct rspro_conn *conn)
{
	proven_alive(rspro_conn_data(conn));
}

static const struct rspro_conn_ops client_ops = {
	.pdu = client_pdu,
	.closed = client_closed,
	.pong = client_pong,
};

static void client_timer(struct ev_timer *t)
{
	struct client *c = t->data;
	char why[120];

	if (c->incumbent) {
		snprintf(why, sizeof(why),
			 "no answer to a PING within %d ms: replaced by a new connection of %s",
			 TAKEOVER_PROBE_MS, c->name);
		/* closing it hands its slot to us (client_gone) */
		client_close(c->incumbent, why);
		return;
	}
	LOGP(DBANKDW, LOG_NOTICE, c->name, "no connectClientReq within %u ms: closing",
	     c->bd->cfg.identify_timeout_ms);
	client_close(c, "identify timeout");
}

void clients_accept(struct net_listener *l, int fd)
{
	struct bankd *bd = l->data;
	struct rspro_conn_cfg cfg;
	struct rspro_transport *t;
	struct client *c;

	bool drop;

	pthread_mutex_lock(&bd->limit_lock);
	drop = rspro_peer_limit_drop(&bd->limit, fd);
	pthread_mutex_unlock(&bd->limit_lock);
	if (drop) {
		close(fd);
		return;
	}
	rspro_conn_cfg_default(&cfg);
	cfg.server = true;
	cfg.ka_interval_ms = bd->cfg.ka_interval_ms;
	cfg.ka_timeout_ms = bd->cfg.ka_timeout_ms;
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	/* (the TLS transport closes @fd when it fails) */
	t = rspro_tls_bankd_link(&bd->cfg.tls) ?
	    rspro_transport_tls(fd, bd->tls, true, NULL, NULL) : rspro_transport_tcp(fd);
	if (!t) {
		free(c);
		if (!rspro_tls_bankd_link(&bd->cfg.tls))
			close(fd);
		return;
	}
	c->bd = bd;
	c->id = ++bd->next_client_id;
	c->bank_slot = -1;
	c->last_vcc = true;
	ev_timer_init(&c->timer, client_timer, c);
	ev_timer_init(&c->retry, NULL, c);	/* the worker's (session.c) */
	ev_timer_init(&c->handover, handover_timer, c);
	c->conn = rspro_conn_new(bd->loop, t, &cfg, &client_ops, c);
	if (!c->conn) {
		free(c);
		return;
	}
	snprintf(c->name, sizeof(c->name), "%s", rspro_conn_peer(c->conn));
	c->next = bd->clients;
	bd->clients = c;
	ev_timer_start(bd->loop, &c->timer, bd->cfg.identify_timeout_ms);
	LOGP(DBANKDW, LOG_DEBUG, c->name, "connected");
}

void clients_job_done(struct bankd *bd, struct job *j)
{
	struct client *c;

	if (j->type == JOB_GONE) {
		/* the worker took its hands off: ours to close and forget */
		c = j->client;
		c->gone = NULL;
		c->where = CLIENT_MAIN;
		client_gone(c, j->why);
	} else if (j->type == JOB_ALIVE) {
		c = find_client(bd, j->owner);
		if (c)
			proven_alive(c);
	}
	free(j);
}

void clients_unmap(struct bankd *bd, uint16_t bank_slot, const char *why)
{
	struct client *c;

	/* one that is ending already is not this map's client any more */
	for (c = bd->clients; c; c = c->next)
		if (c->bank_slot == bank_slot && !c->ending) {
			client_close(c, why);
			return;
		}
}

void clients_mapped(struct bankd *bd, uint16_t bank_slot)
{
	struct client *c = connection_of(bd, bd->maps[bank_slot].client);

	/* a client waiting for its map; one with a bank slot was unmapped first */
	if (c && c->bank_slot < 0)
		take(c, bank_slot);
}

void clients_cards_changed(struct bankd *bd)
{
	struct client *c;

	/* each session without its card tries at once (session_job()) */
	for (c = bd->clients; c; c = c->next) {
		struct job *j;

		if (c->where != CLIENT_WORKER || c->ending)
			continue;
		j = job_new(JOB_CARDS, c->id);
		if (j)
			worker_submit(&bd->workers[c->bank_slot], j);
	}
}

/* After the workers stopped and gave their clients back: the rest. */
void clients_close_all(struct bankd *bd)
{
	bd->stopping = true;
	while (bd->clients) {
		if (bd->clients->where == CLIENT_WORKER) {
			/* cannot happen: a stopped worker ends its session */
			LOGP(DBANKDW, LOG_ERROR, bd->clients->name, "still with its worker");
			bd->clients = bd->clients->next;
			continue;
		}
		client_close(bd->clients, "bankd shutting down");
	}
}
