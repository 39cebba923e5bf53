// SPDX-License-Identifier: GPL-2.0
/*
 * A client's session in its bank slot's worker (bankd.h: struct worker):
 * the card is opened, connectClientRes and setAtrReq go out, and each
 * tpduModemToCard read off the socket becomes one SCardTransmit and one
 * tpduCardToModem, all in this thread. The main loop named the client and
 * handed its connection over (clients.c); JOB_GONE hands it back when the
 * session ends, whichever side ended it.
 *
 * A card that is not there (not in the reader, no reader, pcscd away) gets
 * cardNotPresent and the connection stays, as with osmo-remsim-bankd: the
 * card is tried again every CARD_RETRY_MS and when pcscd's readers change,
 * and setAtrReq goes out once it opens. A card lost under a command is the
 * same: an errorInd for the command, and the connection stays. A TPDU that
 * breaks the rules (size, slots) is refused with an errorInd that says why
 * and the connection closes, as osmo-remsim-bankd closes it.
 */
#include <PCSC/winscard.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bankd.h"
#include "remsim/log.h"

#define TPDU_MIN	5
#define TPDU_MAX	261	/* CLA INS P1 P2 Lc, 255 bytes, Le */

/* Counts a failed command of the session. */
static void count_error(struct worker *w, enum slot_error why)
{
	pthread_mutex_lock(&w->stats_lock);
	w->session->errors++;
	w->stats.errors[why]++;
	pthread_mutex_unlock(&w->stats_lock);
}

/*
 * The session ends: the card powered down, the connection closed if it is
 * still open, the client back to the main loop with @why.
 */
static void session_end(struct worker *w, const char *why)
{
	struct client *c = w->session;
	struct job *gone = c->gone;

	if (c->conn)
		rspro_conn_close(c->conn);
	c->conn = NULL;
	ev_timer_stop(&c->retry);
	worker_drop_card(w);
	atomic_store(&w->card_up, false);
	w->session = NULL;
	gone->client = c;
	snprintf(gone->why, sizeof(gone->why), "%s", why);
	worker_send_back(w, gone);
}

void session_stop(struct worker *w, const char *why)
{
	if (w->session)
		session_end(w, why);
}

/* Tells the client why, then closes: an errorInd carries the sentence. */
static void refuse(struct worker *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void refuse(struct worker *w, const char *fmt, ...)
{
	char why[RSPRO_ERRSTR_MAX + 1];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&w->stats_lock);
	w->stats.errors[SERR_REFUSED]++;
	pthread_mutex_unlock(&w->stats_lock);
	client_refused(w->session, why);
	session_end(w, why);
}

/*
 * No card: cardNotPresent once, on the same connection the next attempt in
 * CARD_RETRY_MS. One line says so until the card of the slot opens again.
 */
static void card_missing(struct worker *w, const struct job *j)
{
	struct client *c = w->session;

	if (!w->card_missing_logged)
		LOGP(DBANKDW, LOG_ERROR, c->name,
		     "card not opened: %s: cardNotPresent, trying again every %d ms",
		     j->why, CARD_RETRY_MS);
	else
		LOGP(DBANKDW, LOG_DEBUG, c->name, "still no card: %s", j->why);
	w->card_missing_logged = true;
	if (!c->answered)
		client_connect_res(c, RSPRO_CARD_NOT_PRESENT);
	ev_timer_start(w->loop, &c->retry, CARD_RETRY_MS);
}

/* Opens the card; its ATR to the client, or cardNotPresent and a retry. */
static void open_card(struct worker *w)
{
	struct client *c = w->session;
	struct job *j = &w->op;
	struct rspro_pdu pdu;

	worker_open(w, j);
	if (j->rv != SCARD_S_SUCCESS) {
		card_missing(w, j);
		return;
	}
	c->card_ready = true;
	atomic_store(&w->card_up, true);
	LOGP(DBANKDW, LOG_INFO, c->name, "card open%s, sending its ATR",
	     w->card_missing_logged ? " at last" : "");
	w->card_missing_logged = false;
	/* after cardNotPresent, osmo-remsim-bankd sends only the ATR */
	if (!c->answered)
		client_connect_res(c, RSPRO_OK);
	rspro_set_atr_req(&pdu, c->slot, j->atr, j->atr_len);
	if (j->atr_len)
		client_send(c, &pdu);
	gsmtap_send(c->bd, w->slot, true, j->atr, j->atr_len, NULL, 0);
}

static void retry_timer(struct ev_timer *t)
{
	struct worker *w = t->data;

	if (w->session && !w->session->card_ready)
		open_card(w);
}

/*
 * The card failed under a command (pulled out, reader gone, pcscd dead):
 * the worker dropped it. The client keeps its connection, as one whose
 * card was never there, and gets setAtrReq there when it opens again.
 * osmo-remsim-bankd closes; its clients then reconnect in a storm.
 */
static void card_lost(struct worker *w)
{
	w->session->card_ready = false;
	atomic_store(&w->card_up, false);
	w->card_missing_logged = true;
	ev_timer_start(w->loop, &w->session->retry, CARD_RETRY_MS);
}

static void answered(struct worker *w, const struct job *j)
{
	struct client *c = w->session;
	struct rspro_bank_slot bank = { c->bd->cfg.bank_id, w->slot };
	struct rspro_pdu pdu;

	pthread_mutex_lock(&w->stats_lock);
	c->tpdus++;
	w->stats.apdus++;
	metrics_hist_observe(&w->stats.card, j->card_ns);
	if (j->resp[j->resp_len - 2] == 0x6f && j->resp[j->resp_len - 1] == 0x00)
		w->stats.sw_6f00++;
	pthread_mutex_unlock(&w->stats_lock);
	rspro_tpdu(&pdu, RSPRO_TPDU_CARD_TO_MODEM, c->slot, bank, j->resp, j->resp_len);
	client_send(c, &pdu);
	gsmtap_send(c->bd, w->slot, false, j->data, j->len, j->resp, j->resp_len);
}

static void tpdu(struct worker *w, const struct rspro_pdu *pdu)
{
	const struct rspro_tpdu *t = &pdu->tpdu;
	struct client *c = w->session;
	struct job *j = &w->op;
	char why[RSPRO_ERRSTR_MAX + 1];

	if (!c->card_ready) {
		/*
		 * The card is not there (yet, or any more): the command is lost,
		 * the connection stays for the card's return. Closing it made
		 * osmo clients reconnect in a storm.
		 */
		count_error(w, SERR_NO_CARD);
		LOGP(DBANKDW, LOG_DEBUG, c->name, "tpduModemToCard without a card: errorInd");
		client_error_ind(c, "tpduModemToCard while the card is not present: not sent to any card");
		return;
	}
	if (t->bank.bank_id != c->bd->cfg.bank_id || t->bank.slot_nr != w->slot) {
		refuse(w, "tpduModemToCard for B%u:%u, this client is mapped to B%u:%u",
		       t->bank.bank_id, t->bank.slot_nr, c->bd->cfg.bank_id, w->slot);
		return;
	}
	if (t->client.client_id != c->slot.client_id || t->client.slot_nr != c->slot.slot_nr) {
		refuse(w, "tpduModemToCard from C%u:%u on the connection of C%u:%u",
		       t->client.client_id, t->client.slot_nr, c->slot.client_id, c->slot.slot_nr);
		return;
	}
	if (t->len < TPDU_MIN || t->len > TPDU_MAX) {
		refuse(w, "a TPDU of %u bytes: it must be %d..%d", t->len, TPDU_MIN, TPDU_MAX);
		return;
	}
	memcpy(j->data, t->data, t->len);
	j->len = t->len;
	worker_transmit(w, j);
	if (j->rv == SCARD_S_SUCCESS) {
		answered(w, j);
		return;
	}
	count_error(w, SERR_CARD);
	/* whether the card saw it is unknown: the client must not resend */
	snprintf(why, sizeof(why), "card transmission error (%.200s)", j->why);
	LOGP(DBANKDW, LOG_ERROR, c->name, "%s: the card is lost, waiting for it", why);
	client_error_ind(c, why);
	card_lost(w);
}

/* Modem line edges: VCC off is a cold reset, RST asserted a warm one. */
static void slot_status(struct worker *w, const struct rspro_pdu *pdu)
{
	const struct rspro_slot_phys *p = &pdu->slot_status.phys;
	struct client *c = w->session;
	bool reset, cold;

	if (!c->card_ready)
		return;
	cold = p->vcc_present == 0 && c->last_vcc;
	reset = cold || (p->reset_active == 1 && !c->last_rst);
	if (p->vcc_present != RSPRO_UNKNOWN)
		c->last_vcc = p->vcc_present;
	c->last_rst = p->reset_active;
	if (!reset)
		return;
	LOGP(DBANKDW, LOG_INFO, c->name, "%s reset of the card", cold ? "cold" : "warm");
	w->op.cold = cold;
	worker_reset(w, &w->op);
	if (w->op.rv != SCARD_S_SUCCESS) {
		count_error(w, SERR_RESET);
		LOGP(DBANKDW, LOG_ERROR, c->name, "%s", w->op.why);
	}
}

static void session_pdu(struct rspro_conn *conn, const struct rspro_pdu *pdu)
{
	struct worker *w = rspro_conn_data(conn);
	struct client *c = w->session;

	switch (pdu->msg) {
	case RSPRO_TPDU_MODEM_TO_CARD:
		tpdu(w, pdu);
		return;
	case RSPRO_CLIENT_SLOT_STATUS_IND:
		slot_status(w, pdu);
		return;
	case RSPRO_SET_ATR_RES:
		return;
	case RSPRO_CONNECT_CLIENT_REQ:
		LOGP(DBANKDW, LOG_ERROR, c->name, "connectClientReq twice: illegalClientId");
		client_connect_res(c, RSPRO_ILLEGAL_CLIENT_ID);
		client_peer_refused(c);
		session_end(w, "illegal client id");
		return;
	default:
		refuse(w, "unexpected %s", rspro_msg_name(pdu->msg));
	}
}

static void session_closed(struct rspro_conn *conn, int err, const char *why)
{
	struct worker *w = rspro_conn_data(conn);

	/* the connection frees itself after this returns */
	w->session->conn = NULL;
	session_end(w, why);
}

/*
 * A PONG after a probe's PING (JOB_PROBE): the main loop decides. One that
 * came before the probe proves nothing about now (its client may have
 * closed since, the reason of the probe), and the main loop must not see it
 * late as the answer.
 */
static void session_pong(struct rspro_conn *conn)
{
	struct worker *w = rspro_conn_data(conn);
	struct job *j;

	if (!w->probing)
		return;
	w->probing = false;
	j = job_new(JOB_ALIVE, w->session->id);
	if (j)
		worker_send_back(w, j);
}

static const struct rspro_conn_ops session_ops = {
	.pdu = session_pdu,
	.closed = session_closed,
	.pong = session_pong,
};

void session_start(struct worker *w, struct client *c)
{
	/* the main loop ends a session before it hands over the next */
	session_stop(w, "replaced by another session of the slot");
	w->session = c;
	w->probing = false;
	c->retry.data = w;
	c->retry.cb = retry_timer;
	if (rspro_conn_attach(c->conn, w->loop, &session_ops, w)) {
		session_end(w, "cannot watch the connection");
		return;
	}
	open_card(w);
}

void session_job(struct worker *w, struct job *j)
{
	struct client *c = w->session;

	if (!c || c->id != j->owner)
		return;	/* that session ended meanwhile */
	switch (j->type) {
	case JOB_END:
		session_end(w, j->why);
		break;
	case JOB_PROBE:
		/* no answer (it cannot take a PING either): the probe's timer decides */
		w->probing = !rspro_conn_ping(c->conn);
		break;
	case JOB_CARDS:
		if (!c->card_ready && ev_timer_pending(&c->retry)) {
			ev_timer_stop(&c->retry);
			open_card(w);
		}
		break;
	default:
		break;
	}
}
