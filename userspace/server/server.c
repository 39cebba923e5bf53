// SPDX-License-Identifier: GPL-2.0
/*
 * The RSPRO side of remsim-server: bankds and clients register, slot maps
 * go to their bankd (CreateMappingReq / RemoveMappingReq) and to their
 * client (ConfigClientBankReq). osmo-remsim's flows, with its known holes
 * closed: results are checked, a map deleted while unacknowledged is still
 * removed, a deleted map whose bankd is away is removed when it returns,
 * and clients learn the port their bankd really listens on.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "remsim/log.h"
#include "dashboard.h"
#include "server.h"

void server_cfg_default(struct server_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	strcpy(cfg->rspro_bind, "0.0.0.0");
	cfg->rspro_port = 9998;
	strcpy(cfg->rest.bind, "0.0.0.0");
	cfg->rest.port = 9997;
	strcpy(cfg->db_path, SERVER_DEFAULT_DB);
	cfg->bankd_port = 9999;
	cfg->ka_interval_ms = 30000;
	cfg->ka_timeout_ms = 10000;
	cfg->connect_timeout_ms = 10000;
	rspro_tls_cfg_default(&cfg->tls);
	cfg->rest.body_max = 16384;
	cfg->rest.deadline_ms = 10000;
	cfg->rest.conn_max = 1000;
	cfg->rest.conn_per_addr = 8;
	dashboard_default_dir(cfg->rest.dashboard, sizeof(cfg->rest.dashboard));
	cfg->audit_max = 100000;
}

/* --- lookups --- */

struct peer *bank_peer(struct server *srv, uint16_t bank_id)
{
	struct peer *p;

	for (p = srv->peers; p; p = p->next)
		if (p->state == PEER_BANKD && p->bank_id == bank_id)
			return p;
	return NULL;
}

struct peer *client_peer(struct server *srv, struct rspro_client_slot c)
{
	struct peer *p;

	for (p = srv->peers; p; p = p->next)
		if (p->state == PEER_CLIENT && p->client.client_id == c.client_id &&
		    p->client.slot_nr == c.slot_nr)
			return p;
	return NULL;
}

const struct peer *server_peer_next_info(struct server *srv, enum server_peer_kind kind,
					 const struct peer *prev,
					 struct server_peer_info *info)
{
	enum peer_state want = kind == SERVER_PEER_BANKD ? PEER_BANKD : PEER_CLIENT;
	const struct peer *p = prev ? prev->next : srv->peers;

	while (p && p->state != want)
		p = p->next;
	if (!p)
		return NULL;
	info->name = p->name;
	info->state = peer_state_name(p->state);
	info->identity = &p->identity;
	info->id = want == PEER_BANKD ? p->bank_id : p->client.client_id;
	info->num_slots = want == PEER_BANKD ? p->num_slots : 0;
	return p;
}

struct rest_cfg *server_rest_cfg(struct server *srv)
{
	return &srv->cfg.rest;
}

struct ev_loop *server_loop(struct server *srv)
{
	return srv->loop;
}

uint64_t server_restart_counter(struct server *srv)
{
	return store_restart_counter(srv->store);
}

/* --- sending --- */

void peer_send(struct peer *p, const struct rspro_pdu *pdu)
{
	struct rspro_error err;
	int ret = rspro_conn_send(p->conn, pdu, &err);

	if (ret == -EINVAL)
		LOGP(DRSPRO, LOG_ERROR, p->name, "cannot encode %s: %s",
		     rspro_msg_name(pdu->msg), err.msg);
	else if (ret)
		LOGP(DRSPRO, LOG_ERROR, p->name, "cannot send %s: %s",
		     rspro_msg_name(pdu->msg), strerror(-ret));
	else
		LOGP(DRSPRO, LOG_DEBUG, p->name, "sent %s",
		     rspro_msg_name(pdu->msg));
}

/* --- connections --- */

static void peer_close(struct peer *p);

static void peer_rename(struct peer *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void peer_rename(struct peer *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->name, sizeof(p->name), fmt, ap);
	va_end(ap);
}

/*
 * ConnectBankRes, with our identity saying that we understand remsim's
 * ConnectBankReq addition: remsim-bankd sends its address only then, and
 * never to osmo-remsim-server (Documentation/rspro.rst).
 */
static void bank_res(struct peer *p, int32_t result)
{
	struct rspro_identity id = p->srv->identity;
	struct rspro_pdu res;

	rspro_identity_set_exts(&id, RSPRO_EXT_BANKD_ADDR "," RSPRO_EXT_CARDS);
	rspro_connect_bank_res(&res, &id, result);
	peer_send(p, &res);
}

/* A connect*Req we cannot take: closed, and counted against its address. */
static void refuse_close(struct peer *p)
{
	rspro_peer_limit_refused(&p->srv->limit, rspro_conn_peer(p->conn));
	peer_close(p);
}

/* A Connect*Res saying @result, then the close a second later. */
static void reject_with(struct peer *p, const struct rspro_pdu *req, int32_t result)
{
	struct rspro_pdu res;

	if (req->msg == RSPRO_CONNECT_CLIENT_REQ) {
		rspro_connect_client_res(&res, &p->srv->identity, result);
		peer_send(p, &res);
	} else {
		bank_res(p, result);
	}
	p->state = PEER_REJECTED;
	p->srv->connects[CONNECT_REJECTED]++;
	rspro_peer_limit_refused(&p->srv->limit, rspro_conn_peer(p->conn));
	/* a second for the response to leave, as osmo-remsim */
	ev_timer_start(p->srv->loop, &p->timer, 1000);
}

static void reject(struct peer *p, const struct rspro_pdu *req)
{
	LOGP(DRSPRO, LOG_ERROR, p->name,
	     "identity already connected from elsewhere: identityInUse, the new connection closes");
	reject_with(p, req, RSPRO_IDENTITY_IN_USE);
}

/*
 * Whether the peer's TLS certificate (or PSK identity) allows the identity
 * its Connect*Req claims; plaintext binds nothing. Refused, the peer gets
 * illegalClientId / illegalBankId, which osmo-remsim's peers understand
 * as they do identityInUse: no bankd takes over another's bank, no client
 * squats another's slot.
 */
static bool cert_allows(struct peer *p, const struct rspro_pdu *req, enum rspro_component type,
			unsigned int id)
{
	const struct rspro_tls_peer *tp = rspro_conn_tls_peer(p->conn);
	int32_t result = type == RSPRO_COMP_BANKD ? RSPRO_ILLEGAL_BANK_ID :
						    RSPRO_ILLEGAL_CLIENT_ID;
	char ids[160];

	if (!tp || rspro_tls_peer_allows(tp, type, id))
		return true;
	rspro_tls_peer_ids(tp, ids, sizeof(ids));
	LOGP(DRSPRO, LOG_ERROR, p->name,
	     "peer %s with %s (it allows %s) asked to be %s %u: refused with %s, the connection closes",
	     rspro_conn_peer(p->conn), tp->subject, ids,
	     type == RSPRO_COMP_BANKD ? "bankd" : "client", id, rspro_result_name(result));
	reject_with(p, req, result);
	return false;
}

/*
 * ConnectClientRes, with our identity saying that we keep the modem path
 * (remsim's ConnectClientReq addition): remsim-client sends it only then.
 */
static void client_res(struct peer *p, int32_t result)
{
	struct rspro_identity id = p->srv->identity;
	struct rspro_pdu res;

	rspro_identity_set_exts(&id, RSPRO_EXT_PATH);
	rspro_connect_client_res(&res, &id, result);
	peer_send(p, &res);
}

/* Keeps the client's modem path, if it told one. */
static void client_modem_path(struct peer *p, const struct rspro_pdu *pdu)
{
	const char *path = pdu->connect_client_req.modem_path;

	if (!path[0] || !strcmp(path, p->modem_path))
		return;
	snprintf(p->modem_path, sizeof(p->modem_path), "%s", path);
	LOGP(DRSPRO, LOG_INFO, p->name, "client serves modem slot %s", path);
}

/*
 * A ConnectClientReq on a registered client's connection: remsim-client
 * sends its modem path so, once our ConnectClientRes said we keep it. It
 * updates this registration; another identity is refused, and the
 * registration stays.
 */
static void connect_client_update(struct peer *p, const struct rspro_pdu *pdu)
{
	const struct rspro_client_slot *cs = &pdu->connect_client_req.slot;

	if (pdu->connect_client_req.identity.type != RSPRO_COMP_CLIENT ||
	    !pdu->connect_client_req.has_slot || cs->client_id != p->client.client_id ||
	    cs->slot_nr != p->client.slot_nr) {
		LOGP(DRSPRO, LOG_ERROR, p->name,
		     "connectClientReq again, as another client: illegalClientId, the registration stays");
		client_res(p, RSPRO_ILLEGAL_CLIENT_ID);
		return;
	}
	client_modem_path(p, pdu);
	client_res(p, RSPRO_OK);
}

static void connect_client_req(struct peer *p, const struct rspro_pdu *pdu)
{
	struct server *srv = p->srv;

	if (pdu->connect_client_req.identity.type != RSPRO_COMP_CLIENT) {
		LOGP(DRSPRO, LOG_ERROR, p->name,
		     "connectClientReq from a %s: closing",
		     rspro_component_name(pdu->connect_client_req.identity.type));
		refuse_close(p);
		return;
	}
	if (!pdu->connect_client_req.has_slot) {
		LOGP(DRSPRO, LOG_ERROR, p->name,
		     "connectClientReq without a client slot: closing (ids are not assigned by the server)");
		refuse_close(p);
		return;
	}
	peer_rename(p, "C%u:%u", pdu->connect_client_req.slot.client_id,
		    pdu->connect_client_req.slot.slot_nr);
	if (!cert_allows(p, pdu, RSPRO_COMP_CLIENT, pdu->connect_client_req.slot.client_id))
		return;
	if (client_peer(srv, pdu->connect_client_req.slot)) {
		reject(p, pdu);
		return;
	}
	ev_timer_stop(&p->timer);
	p->state = PEER_CLIENT;
	srv->connects[CONNECT_CLIENT]++;
	p->client = pdu->connect_client_req.slot;
	p->identity = pdu->connect_client_req.identity;
	LOGP(DRSPRO, LOG_INFO, p->name, "client connected from %s (%s %s)",
	     rspro_conn_peer(p->conn), p->identity.software, p->identity.sw_version);
	/* a peer that knows the server may send it at once */
	client_modem_path(p, pdu);
	client_res(p, RSPRO_OK);
	update_client(srv, p->client);
}

/*
 * Where clients reach this bankd: what it says, or its address and 9999.
 * Returns whether it connected over loopback.
 */
static bool bankd_address(struct peer *p, const struct rspro_pdu *pdu)
{
	struct rspro_ip_port seen = { 0 };
	static const uint8_t zero[16];
	const char *text = rspro_conn_peer(p->conn);

	if (rspro_ip_port_parse(&seen, text))
		seen.family = AF_INET;
	seen.port = p->srv->cfg.bankd_port;
	p->bankd_addr = seen;
	if (pdu->connect_bank_req.has_bankd_addr) {
		const struct rspro_ip_port *adv = &pdu->connect_bank_req.bankd_addr;
		size_t alen = adv->family == AF_INET ? 4 : 16;

		if (memcmp(adv->addr, zero, alen))
			p->bankd_addr = *adv;
		p->bankd_addr.port = adv->port;
	}
	return seen.family == AF_INET && seen.addr[0] == 127;
}

/*
 * A ConnectBankReq on a registered bankd's connection: remsim-bankd sends
 * its address so, once our ConnectBankRes said we understand it. It
 * updates this registration; it is no second identity. It comes before
 * the bankd's first CreateMappingRes, so no client was told 9999 before.
 */
static void connect_bank_update(struct peer *p, const struct rspro_pdu *pdu)
{
	struct server *srv = p->srv;
	struct rspro_ip_port old = p->bankd_addr;
	int32_t result = RSPRO_OK;
	struct slotmap *m;
	char addr[64];

	if (pdu->connect_bank_req.identity.type != RSPRO_COMP_BANKD ||
	    pdu->connect_bank_req.bank_id != p->bank_id)
		result = RSPRO_ILLEGAL_BANK_ID;
	else if (pdu->connect_bank_req.num_slots != p->num_slots)
		result = RSPRO_ILLEGAL_SLOT_ID;
	if (result != RSPRO_OK) {
		LOGP(DRSPRO, LOG_ERROR, p->name,
		     "connectBankReq again, as bank %u with %u slots: %s, the registration stays",
		     pdu->connect_bank_req.bank_id, pdu->connect_bank_req.num_slots,
		     rspro_result_name(result));
		bank_res(p, result);
		return;
	}
	if (pdu->connect_bank_req.has_card_info) {
		result = server_card_update(srv, p, &pdu->connect_bank_req.card_info);
		/* an inventory update alone leaves the address as it is */
		if (!pdu->connect_bank_req.has_bankd_addr) {
			bank_res(p, result);
			return;
		}
	}
	bankd_address(p, pdu);
	rspro_ip_port_format(&p->bankd_addr, addr, sizeof(addr));
	LOGP(DRSPRO, LOG_INFO, p->name, "bankd updated its registration: clients reach it at %s",
	     addr);
	bank_res(p, result);
	if (!memcmp(&old, &p->bankd_addr, sizeof(old)))
		return;
	for (m = srv->maps; m; m = m->next)
		if (m->bank.bank_id == p->bank_id)
			update_client(srv, m->client);
}

/*
 * Marks @c's client to be told its bankd again when its map is active. Only
 * a client that announced RSPRO_EXT_RETELL: an osmo-remsim client drops a
 * live bankd session on every ConfigClientBankReq (the bankd may have lost
 * only its server link), so it keeps osmo-remsim-server's behaviour.
 */
static void retell_client(struct server *srv, struct rspro_client_slot c)
{
	struct peer *cp = client_peer(srv, c);

	if (cp && rspro_identity_has_ext(&cp->identity, RSPRO_EXT_RETELL))
		cp->retell = true;
}

static void connect_bank_req(struct peer *p, const struct rspro_pdu *pdu)
{
	struct server *srv = p->srv;
	struct slotmap *m;
	char addr[64];

	if (pdu->connect_bank_req.identity.type != RSPRO_COMP_BANKD) {
		LOGP(DRSPRO, LOG_ERROR, p->name, "connectBankReq from a %s: closing",
		     rspro_component_name(pdu->connect_bank_req.identity.type));
		refuse_close(p);
		return;
	}
	peer_rename(p, "B%u", pdu->connect_bank_req.bank_id);
	if (!cert_allows(p, pdu, RSPRO_COMP_BANKD, pdu->connect_bank_req.bank_id))
		return;
	if (bank_peer(srv, pdu->connect_bank_req.bank_id)) {
		reject(p, pdu);
		return;
	}
	ev_timer_stop(&p->timer);
	p->state = PEER_BANKD;
	srv->connects[CONNECT_BANKD]++;
	p->bank_id = pdu->connect_bank_req.bank_id;
	p->num_slots = pdu->connect_bank_req.num_slots;
	p->identity = pdu->connect_bank_req.identity;
	if (bankd_address(p, pdu))
		LOGP(DRSPRO, LOG_NOTICE, p->name,
		     "bankd connected over loopback: only clients on this host can reach it at that address");
	rspro_ip_port_format(&p->bankd_addr, addr, sizeof(addr));
	LOGP(DRSPRO, LOG_INFO, p->name,
	     "bankd connected from %s with %u slots, clients reach it at %s",
	     rspro_conn_peer(p->conn), p->num_slots, addr);
	bank_res(p, RSPRO_OK);
	/*
	 * whatever this bank had is new to this connection; its clients that
	 * can take it hear of it once the map is active again, so that one
	 * waiting out its back-off toward this bankd connects at once
	 */
	for (m = srv->maps; m; m = m->next)
		if (m->bank.bank_id == p->bank_id && !m->deleted) {
			m->state = MAP_NEW;
			m->refused = false;
			retell_client(srv, m->client);
		}
	push(srv, p);
}

static void peer_pdu(struct rspro_conn *c, const struct rspro_pdu *pdu)
{
	struct peer *p = rspro_conn_data(c);

	LOGP(DRSPRO, LOG_DEBUG, p->name, "received %s", rspro_msg_name(pdu->msg));
	switch (p->state) {
	case PEER_ESTABLISHED:
		if (pdu->msg == RSPRO_CONNECT_CLIENT_REQ)
			connect_client_req(p, pdu);
		else if (pdu->msg == RSPRO_CONNECT_BANK_REQ)
			connect_bank_req(p, pdu);
		else
			LOGP(DRSPRO, LOG_ERROR, p->name,
			     "%s before connect*Req: ignored", rspro_msg_name(pdu->msg));
		return;
	case PEER_CLIENT:
		if (pdu->msg == RSPRO_CONNECT_CLIENT_REQ) {
			connect_client_update(p, pdu);
			return;
		}
		if (pdu->msg == RSPRO_CONFIG_CLIENT_BANK_RES ||
		    pdu->msg == RSPRO_CONFIG_CLIENT_ID_RES) {
			if (pdu->result != RSPRO_OK)
				LOGP(DRSPRO, LOG_ERROR, p->name, "%s: result %d",
				     rspro_msg_name(pdu->msg), pdu->result);
			return;
		}
		break;
	case PEER_BANKD:
		if (pdu->msg == RSPRO_CONNECT_BANK_REQ) {
			connect_bank_update(p, pdu);
			return;
		}
		if (pdu->msg == RSPRO_CREATE_MAPPING_RES) {
			create_mapping_res(p->srv, p, pdu->result);
			return;
		}
		if (pdu->msg == RSPRO_REMOVE_MAPPING_RES) {
			remove_mapping_res(p->srv, p, pdu->result);
			return;
		}
		if (pdu->msg == RSPRO_RESET_STATE_RES)
			return;
		break;
	default:
		return;
	}
	LOGP(DRSPRO, LOG_NOTICE, p->name, "unexpected %s: ignored",
	     rspro_msg_name(pdu->msg));
}

/* After the connection is gone: forget the peer, put its maps back. */
static void peer_gone(struct peer *p, const char *why)
{
	struct server *srv = p->srv;
	struct peer **pp;
	struct slotmap *m;

	LOGP(DRSPRO, p->state == PEER_REJECTED ? LOG_INFO : LOG_NOTICE, p->name,
	     "connection closed: %s", why);
	ev_timer_stop(&p->timer);
	for (pp = &srv->peers; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	if (p->state == PEER_BANKD) {
		server_cards_offline(srv, p->bank_id);
		/* the bankd keeps its maps; they are pushed again on return */
		for (m = srv->maps; m; m = m->next) {
			if (m->bank.bank_id != p->bank_id)
				continue;
			if (m->deleted)
				m->state = MAP_DELETE_REQ;
			else
				m->state = MAP_NEW;
		}
	}
	free(p);
}

static void peer_closed(struct rspro_conn *c, int err, const char *why)
{
	struct peer *p = rspro_conn_data(c);

	/* failed handshakes count toward the address's reconnect storm */
	if (p->srv->tls && !rspro_conn_tls_peer(c))
		rspro_peer_limit_refused(&p->srv->limit, rspro_conn_peer(c));
	peer_gone(p, why);
}

static void peer_close(struct peer *p)
{
	rspro_conn_close(p->conn);
	peer_gone(p, "closed by the server");
}

static void peer_timer(struct ev_timer *t)
{
	struct peer *p = t->data;

	if (p->state == PEER_ESTABLISHED)
		LOGP(DRSPRO, LOG_ERROR, p->name,
		     "no connectClientReq or connectBankReq within %u ms",
		     p->srv->cfg.connect_timeout_ms);
	peer_close(p);
}

static const struct rspro_conn_ops peer_ops = {
	.pdu = peer_pdu,
	.closed = peer_closed,
};

static void rspro_accepted(struct net_listener *l, int fd)
{
	struct server *srv = l->data;
	struct rspro_conn_cfg cfg;
	struct rspro_transport *t;
	struct peer *p;

	if (rspro_peer_limit_drop(&srv->limit, fd)) {
		close(fd);
		return;
	}
	rspro_conn_cfg_default(&cfg);
	cfg.server = true;
	cfg.ka_interval_ms = srv->cfg.ka_interval_ms;
	cfg.ka_timeout_ms = srv->cfg.ka_timeout_ms;
	p = calloc(1, sizeof(*p));
	if (!p) {
		close(fd);
		LOGP(DRSPRO, LOG_ERROR, NULL, "out of memory for a connection");
		return;
	}
	/* (the TLS transport closes @fd when it fails) */
	t = srv->tls ? rspro_transport_tls(fd, srv->tls, true, NULL, NULL) :
		       rspro_transport_tcp(fd);
	if (!t) {
		free(p);
		if (!srv->tls)
			close(fd);
		LOGP(DRSPRO, LOG_ERROR, NULL, "out of memory for a connection");
		return;
	}
	p->srv = srv;
	ev_timer_init(&p->timer, peer_timer, p);
	p->conn = rspro_conn_new(srv->loop, t, &cfg, &peer_ops, p);
	if (!p->conn) {
		free(p);
		return;
	}
	snprintf(p->name, sizeof(p->name), "%s", rspro_conn_peer(p->conn));
	p->next = srv->peers;
	srv->peers = p;
	ev_timer_start(srv->loop, &p->timer, srv->cfg.connect_timeout_ms);
	LOGP(DRSPRO, LOG_DEBUG, p->name, "accepted");
}


/* What opening the database did to it: said once, at start. */
static void log_schema(struct server *srv)
{
	bool created;
	int found, ours = store_schema_version(srv->store, &found, &created);

	if (store_made_dir(srv->store))
		LOGP(DMAIN, LOG_NOTICE, NULL, "created the database's directory for %s",
		     srv->db_name);
	if (created)
		LOGP(DMAIN, LOG_NOTICE, NULL, "database %s: created, schema version %d",
		     srv->db_name, ours);
	else if (found != ours)
		LOGP(DMAIN, LOG_NOTICE, NULL, "database %s: schema version %d upgraded to %d",
		     srv->db_name, found, ours);
}

int server_rspro_listen(struct server *srv, char *err, size_t errlen)
{
	int ret;

	srv->rspro_fd = net_listen(srv->cfg.rspro_bind, srv->cfg.rspro_port, 1024);
	if (srv->rspro_fd < 0) {
		snprintf(err, errlen, "RSPRO on %s port %u: %s", srv->cfg.rspro_bind,
			 srv->cfg.rspro_port, strerror(-srv->rspro_fd));
		return srv->rspro_fd;
	}
	/* 64 accepts per wakeup; out of descriptors, the listener rests */
	ret = net_listener_start(&srv->rspro_listener, srv->loop, srv->rspro_fd, 64,
				 rspro_accepted, srv);
	if (ret) {
		close(srv->rspro_fd);
		srv->rspro_fd = -1;
		snprintf(err, errlen, "event loop: %s", strerror(-ret));
		return ret;
	}
	return 0;
}

void server_rspro_unlisten(struct server *srv)
{
	while (srv->peers)
		peer_close(srv->peers);
	if (srv->rspro_fd > 0) {
		net_listener_stop(&srv->rspro_listener);
		close(srv->rspro_fd);
	}
	srv->rspro_fd = -1;
}

int server_start(struct server *srv, char *err, size_t errlen)
{
	char why[256];
	int ret;

	srv->limit.who = "rspro";
	srv->rspro_fd = -1;
	store_display_name(srv->cfg.db_path, srv->db_name, sizeof(srv->db_name));
	ret = store_open(&srv->store, srv->cfg.db_path, why, sizeof(why));
	if (ret) {
		snprintf(err, errlen, "database %s: %s", srv->db_name, why);
		return ret;
	}
	log_schema(srv);
	ret = racks_start(srv, err, errlen);
	return ret ? ret : server_ha_start(srv, err, errlen);
}

void server_stop(struct server *srv)
{
	struct slotmap *m;

	server_ha_stop(srv);
	racks_stop(srv);
	server_rspro_unlisten(srv);
	while ((m = srv->maps)) {
		srv->maps = m->next;
		free(m);
	}
	store_close(srv->store);
	server_cards_free(srv);
	rspro_tls_free(srv->tls);
	srv->tls = NULL;
}
