// SPDX-License-Identifier: GPL-2.0
/*
 * remsim-bankd's clients: a client connects, names its client slot, gets
 * the card of the bank slot mapped to it (connectClientRes, then setAtrReq
 * with the card's ATR), and from then on each tpduModemToCard becomes one
 * SCardTransmit in the slot's worker and one tpduCardToModem back. A TPDU
 * that does not fit (size, slots, state) is refused with an errorInd that
 * says why, and the connection closes, as osmo-remsim-bankd closes it.
 *
 * A client whose card is not there (no map yet, no card in the reader)
 * hears cardNotPresent and keeps its connection, as osmo-remsim-bankd keeps
 * it: the map or the card that comes later reaches it there as setAtrReq.
 * Closing it at once made osmo clients reconnect in a storm. A card lost
 * under a command is the same: an errorInd for the command, the connection
 * stays, and a TPDU without a card gets an errorInd, not a close.
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

#define TPDU_MIN	5
#define TPDU_MAX	261	/* CLA INS P1 P2 Lc, 255 bytes, Le */
#define QUEUE_MAX	8

static struct client *find_client(struct bankd *bd, uint64_t id)
{
	struct client *c;

	for (c = bd->clients; c; c = c->next)
		if (c->id == id)
			return c;
	return NULL;
}

static void claim(struct client *c);

/* Counts a failed command on @c's bank slot, if it has one. */
static void slot_error(struct client *c, enum slot_error why)
{
	c->errors++;
	if (c->bank_slot >= 0)
		c->bd->workers[c->bank_slot].stats.errors[why]++;
}
static void client_close(struct client *c, const char *why);

static void client_send(struct client *c, const struct rspro_pdu *pdu)
{
	struct rspro_error err;
	int ret = rspro_conn_send(c->conn, pdu, &err);

	if (ret)
		LOGP(DBANKDW, LOG_ERROR, c->name, "cannot send %s: %s",
		     rspro_msg_name(pdu->msg), ret == -EINVAL ? err.msg : strerror(-ret));
}

/* Forgets the client; its card is powered down behind whatever ran. */
static void client_gone(struct client *c, const char *why)
{
	struct bankd *bd = c->bd;
	struct client *newcomer = c->contender;
	struct client **pp;
	struct job *j;

	LOGP(DBANKDW, LOG_INFO, c->name, "client gone (%lu TPDUs, %lu errors): %s",
	     c->tpdus, c->errors, why);
	ev_timer_stop(&c->timer);
	ev_timer_stop(&c->retry);
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
	while ((j = c->queue)) {
		c->queue = j->next;
		free(j);
	}
	if (c->identified && c->bank_slot >= 0) {
		j = job_new(JOB_CLOSE, c->id);
		if (j)
			worker_submit(&bd->workers[c->bank_slot], j);
	}
	free(c);
	/* behind our JOB_CLOSE: whatever we had in flight ends before its OPEN */
	if (newcomer) {
		if (bd->stopping)
			client_close(newcomer, "bankd shutting down");
		else
			claim(newcomer);
	}
}

static void client_close(struct client *c, const char *why)
{
	rspro_conn_close(c->conn);
	client_gone(c, why);
}

/*
 * An errorInd that says @why. remsim-client drops the command it waits for
 * on it; an osmo-remsim client logs it and goes on.
 */
static void error_ind(struct client *c, const char *why)
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
	LOGP(DBANKDW, LOG_ERROR, c->name, "refused: %s", why);
	if (c->bank_slot >= 0)
		c->bd->workers[c->bank_slot].stats.errors[SERR_REFUSED]++;
	error_ind(c, why);
	rspro_peer_limit_refused(&c->bd->limit, rspro_conn_peer(c->conn));
	client_close(c, why);
}

static void connect_res(struct client *c, int32_t result)
{
	struct rspro_pdu pdu;

	rspro_connect_client_res(&pdu, &c->bd->identity, result);
	client_send(c, &pdu);
	c->answered = true;
}

/* Hands the next queued job to the worker when none is out. */
static void pump(struct client *c)
{
	struct job *j = c->queue;
	struct worker *w;

	if (!j || c->bank_slot < 0)
		return;
	w = &c->bd->workers[c->bank_slot];
	if (w->busy)
		return;
	c->queue = j->next;
	if (!c->queue)
		c->queue_tail = &c->queue;
	w->busy = true;
	worker_submit(w, j);
}

static void enqueue(struct client *c, struct job *j)
{
	size_t n = 0;
	struct job *q;

	for (q = c->queue; q; q = q->next)
		n++;
	if (n >= QUEUE_MAX) {
		free(j);
		client_refuse(c, "more than %d commands outstanding: one at a time", QUEUE_MAX);
		return;
	}
	j->next = NULL;
	*c->queue_tail = j;
	c->queue_tail = &j->next;
	pump(c);
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
	connect_res(c, RSPRO_IDENTITY_IN_USE);
	rspro_peer_limit_refused(&c->bd->limit, rspro_conn_peer(c->conn));
	client_close(c, "identityInUse");
}

/* The incumbent @old answered: whoever waits for its slot is refused. */
static void proven_alive(struct client *old)
{
	if (old->contender)
		refuse_in_use(old->contender, "it answered a PING");
}

/* Asks @old whether it is alive for @c; the answer or the probe timer decides. */
static void probe(struct client *old, struct client *c)
{
	old->contender = c;
	c->incumbent = old;
	LOGP(DBANKDW, LOG_NOTICE, c->name,
	     "a second connection for this client slot: PING to the first, %d ms to answer",
	     TAKEOVER_PROBE_MS);
	if (rspro_conn_ping(old->conn)) {
		/* it cannot even take a PING: as good as silent */
		ev_timer_start(c->bd->loop, &c->timer, 0);
		return;
	}
	ev_timer_start(c->bd->loop, &c->timer, TAKEOVER_PROBE_MS);
}

/* Asks the worker to open the card of @c's bank slot. */
static void open_card(struct client *c)
{
	struct job *j = job_new(JOB_OPEN, c->id);

	if (!j) {
		client_close(c, "out of memory");
		return;
	}
	enqueue(c, j);
}

static void take(struct client *c, int slot)
{
	c->bank_slot = slot;
	c->bd->workers[slot].stats.connects++;
	LOGP(DBANKDW, LOG_INFO, c->name, "mapped to B%u:%u, opening the card",
	     c->bd->cfg.bank_id, slot);
	open_card(c);
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
		connect_res(c, RSPRO_CARD_NOT_PRESENT);
		return;
	}
	take(c, slot);
}

static void retry_timer(struct ev_timer *t)
{
	struct client *c = t->data;

	if (!c->card_ready && c->bank_slot >= 0)
		open_card(c);
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
	connect_res(c, RSPRO_ILLEGAL_CLIENT_ID);
	rspro_peer_limit_refused(&c->bd->limit, rspro_conn_peer(c->conn));
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
		connect_res(c, RSPRO_ILLEGAL_CLIENT_ID);
		rspro_peer_limit_refused(&c->bd->limit, rspro_conn_peer(c->conn));
		client_close(c, "illegal client id");
		return;
	}
	ev_timer_stop(&c->timer);
	c->slot = pdu->connect_client_req.slot;
	snprintf(c->name, sizeof(c->name), "C%u:%u", c->slot.client_id, c->slot.slot_nr);
	claim(c);
}

static void tpdu(struct client *c, const struct rspro_pdu *pdu)
{
	const struct rspro_tpdu *t = &pdu->tpdu;
	struct job *j;

	if (!c->card_ready) {
		/*
		 * The card is not there (yet, or any more): the command is lost,
		 * the connection stays for the card's return. Closing it made
		 * osmo clients reconnect in a storm.
		 */
		slot_error(c, SERR_NO_CARD);
		LOGP(DBANKDW, LOG_DEBUG, c->name, "tpduModemToCard without a card: errorInd");
		error_ind(c, "tpduModemToCard while the card is not present: not sent to any card");
		return;
	}
	if (t->bank.bank_id != c->bd->cfg.bank_id || t->bank.slot_nr != c->bank_slot) {
		client_refuse(c, "tpduModemToCard for B%u:%u, this client is mapped to B%u:%d",
			      t->bank.bank_id, t->bank.slot_nr, c->bd->cfg.bank_id, c->bank_slot);
		return;
	}
	if (t->client.client_id != c->slot.client_id || t->client.slot_nr != c->slot.slot_nr) {
		client_refuse(c, "tpduModemToCard from C%u:%u on the connection of C%u:%u",
			      t->client.client_id, t->client.slot_nr, c->slot.client_id,
			      c->slot.slot_nr);
		return;
	}
	if (t->len < TPDU_MIN || t->len > TPDU_MAX) {
		client_refuse(c, "a TPDU of %u bytes: it must be %d..%d", t->len, TPDU_MIN,
			      TPDU_MAX);
		return;
	}
	j = job_new(JOB_TRANSMIT, c->id);
	if (!j) {
		client_close(c, "out of memory");
		return;
	}
	memcpy(j->data, t->data, t->len);
	j->len = t->len;
	enqueue(c, j);
}

/* Modem line edges: VCC off is a cold reset, RST asserted a warm one. */
static void slot_status(struct client *c, const struct rspro_pdu *pdu)
{
	const struct rspro_slot_phys *p = &pdu->slot_status.phys;
	struct job *j = NULL;

	if (!c->card_ready)
		return;
	if ((p->vcc_present == 0 && c->last_vcc) || (p->reset_active == 1 && !c->last_rst)) {
		j = job_new(JOB_RESET, c->id);
		if (j)
			j->cold = p->vcc_present == 0 && c->last_vcc;
	}
	if (p->vcc_present != RSPRO_UNKNOWN)
		c->last_vcc = p->vcc_present;
	c->last_rst = p->reset_active;
	if (j) {
		LOGP(DBANKDW, LOG_INFO, c->name, "%s reset of the card", j->cold ? "cold" : "warm");
		enqueue(c, j);
	}
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
	switch (pdu->msg) {
	case RSPRO_TPDU_MODEM_TO_CARD:
		tpdu(c, pdu);
		return;
	case RSPRO_CLIENT_SLOT_STATUS_IND:
		slot_status(c, pdu);
		return;
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
		rspro_peer_limit_refused(&c->bd->limit, rspro_conn_peer(conn));
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

	if (rspro_peer_limit_drop(&bd->limit, fd)) {
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
	c->queue_tail = &c->queue;
	c->last_vcc = true;
	ev_timer_init(&c->timer, client_timer, c);
	ev_timer_init(&c->retry, retry_timer, c);
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

/*
 * No card: cardNotPresent once, on the same connection the next attempt in
 * CARD_RETRY_MS. One line says so until the card of the slot opens again.
 */
static void card_missing(struct client *c, struct job *j)
{
	struct bank_map *m = &c->bd->maps[c->bank_slot];

	if (!m->card_missing_logged)
		LOGP(DBANKDW, LOG_ERROR, c->name,
		     "card not opened: %s: cardNotPresent, trying again every %d ms",
		     j->why, CARD_RETRY_MS);
	else
		LOGP(DBANKDW, LOG_DEBUG, c->name, "still no card: %s", j->why);
	m->card_missing_logged = true;
	if (!c->answered)
		connect_res(c, RSPRO_CARD_NOT_PRESENT);
	ev_timer_start(c->bd->loop, &c->retry, CARD_RETRY_MS);
}

/*
 * The card failed under a command (pulled out, reader gone, pcscd dead):
 * the worker dropped it. The client keeps its connection, as one whose
 * card was never there, and gets setAtrReq there when it opens again.
 * osmo-remsim-bankd closes; its clients then reconnect in a storm.
 */
static void card_lost(struct client *c)
{
	c->card_ready = false;
	c->bd->maps[c->bank_slot].card_missing_logged = true;
	ev_timer_start(c->bd->loop, &c->retry, CARD_RETRY_MS);
}

static void open_done(struct client *c, struct job *j)
{
	struct bank_map *m = &c->bd->maps[c->bank_slot];
	struct rspro_pdu pdu;

	if (j->rv != SCARD_S_SUCCESS) {
		card_missing(c, j);
		return;
	}
	c->card_ready = true;
	LOGP(DBANKDW, LOG_INFO, c->name, "card open%s, sending its ATR",
	     m->card_missing_logged ? " at last" : "");
	m->card_missing_logged = false;
	/* after cardNotPresent, osmo-remsim-bankd sends only the ATR */
	if (!c->answered)
		connect_res(c, RSPRO_OK);
	rspro_set_atr_req(&pdu, c->slot, j->atr, j->atr_len);
	if (j->atr_len)
		client_send(c, &pdu);
	gsmtap_send(c->bd, c->bank_slot, true, j->atr, j->atr_len, NULL, 0);
}

static void transmit_done(struct client *c, struct job *j)
{
	struct rspro_bank_slot bank = { c->bd->cfg.bank_id, c->bank_slot };
	struct slot_stats *st = &c->bd->workers[c->bank_slot].stats;
	struct rspro_pdu pdu;

	if (j->rv != SCARD_S_SUCCESS) {
		char why[RSPRO_ERRSTR_MAX + 1];

		slot_error(c, SERR_CARD);
		/* whether the card saw it is unknown: the client must not resend */
		snprintf(why, sizeof(why), "card transmission error (%.200s)", j->why);
		LOGP(DBANKDW, LOG_ERROR, c->name, "%s: the card is lost, waiting for it", why);
		error_ind(c, why);
		card_lost(c);
		return;
	}
	c->tpdus++;
	st->apdus++;
	metrics_hist_observe(&st->card, j->card_ns);
	if (j->resp[j->resp_len - 2] == 0x6f && j->resp[j->resp_len - 1] == 0x00)
		st->sw_6f00++;
	rspro_tpdu(&pdu, RSPRO_TPDU_CARD_TO_MODEM, c->slot, bank, j->resp, j->resp_len);
	client_send(c, &pdu);
	gsmtap_send(c->bd, c->bank_slot, false, j->data, j->len, j->resp, j->resp_len);
}

void clients_job_done(struct bankd *bd, struct worker *w, struct job *j)
{
	struct client *c = find_client(bd, j->owner);

	if (j->type != JOB_CLOSE)
		w->busy = false;
	if (!c || c->bank_slot != w->slot) {
		free(j);	/* its client left meanwhile */
		for (c = bd->clients; c; c = c->next)
			if (c->bank_slot == w->slot)
				pump(c);
		return;
	}
	switch (j->type) {
	case JOB_OPEN:
		open_done(c, j);
		break;
	case JOB_TRANSMIT:
		transmit_done(c, j);
		break;
	case JOB_RESET:
		if (j->rv != SCARD_S_SUCCESS) {
			slot_error(c, SERR_RESET);
			LOGP(DBANKDW, LOG_ERROR, c->name, "%s", j->why);
		}
		break;
	case JOB_CLOSE:
	case JOB_INVENTORY:	/* bankd.c gives those to inventory_done() */
		break;
	}
	free(j);
	/* the client may be gone now (a refused TPDU): look again */
	for (c = bd->clients; c; c = c->next)
		if (c->bank_slot == w->slot)
			pump(c);
}

void clients_unmap(struct bankd *bd, uint16_t bank_slot, const char *why)
{
	struct client *c;

	for (c = bd->clients; c; c = c->next)
		if (c->bank_slot == bank_slot) {
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

	/*
	 * Only a pending retry: no open is out then (the timer starts when
	 * one failed), so no card is opened twice.
	 */
	for (c = bd->clients; c; c = c->next)
		if (!c->card_ready && c->bank_slot >= 0 && ev_timer_pending(&c->retry)) {
			ev_timer_stop(&c->retry);
			open_card(c);
		}
}

void clients_close_all(struct bankd *bd)
{
	bd->stopping = true;
	while (bd->clients)
		client_close(bd->clients, "bankd shutting down");
}
