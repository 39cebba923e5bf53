// SPDX-License-Identifier: GPL-2.0
/*
 * remsim-bankd's core: the link to the server (ConnectBankReq, and the
 * address clients reach us at for a server that understands it), the slot
 * maps the server sends, the listening socket for clients and the workers'
 * completions.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "bankd.h"
#include "remsim/log.h"

void bankd_cfg_default(struct bankd_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->server_port = 9998;
	cfg->bank_id = 1;
	cfg->num_slots = 8;
	strcpy(cfg->bind_ip, "0.0.0.0");
	cfg->bind_port = 9999;
	cfg->gsmtap_slot = -1;
	strcpy(cfg->csv_path, "bankd_pcsc_slots.csv");
	cfg->ka_interval_ms = 30000;
	cfg->inventory_ms = INVENTORY_MS_DEFAULT;
	cfg->ka_timeout_ms = 10000;
	cfg->identify_timeout_ms = 10000;
	rspro_tls_cfg_default(&cfg->tls);
}

static void send_result(struct bankd *bd, enum rspro_msg msg, int32_t result)
{
	struct rspro_pdu pdu;
	struct rspro_error err;

	rspro_result_res(&pdu, msg, result);
	if (rspro_link_send(bd->link, &pdu, &err))
		LOGP(DRSPRO, LOG_ERROR, "server", "cannot send %s", rspro_msg_name(msg));
}

static const char *slot_name(struct bankd *bd, unsigned int slot)
{
	static char buf[24];

	snprintf(buf, sizeof(buf), "B%u:%u", bd->cfg.bank_id, slot);
	return buf;
}

static void unmap(struct bankd *bd, unsigned int slot, const char *why)
{
	bd->maps[slot].used = false;
	clients_unmap(bd, slot, why);
}

static void create_mapping(struct bankd *bd, const struct rspro_pdu *pdu)
{
	struct rspro_bank_slot b = pdu->mapping.bank;
	struct rspro_client_slot c = pdu->mapping.client;
	unsigned int i;

	if (b.bank_id != bd->cfg.bank_id) {
		LOGP(DSLOTMAP, LOG_ERROR, "server", "createMappingReq for bank %u, we are %u",
		     b.bank_id, bd->cfg.bank_id);
		send_result(bd, RSPRO_CREATE_MAPPING_RES, RSPRO_ILLEGAL_BANK_ID);
		return;
	}
	if (b.slot_nr >= bd->cfg.num_slots) {
		LOGP(DSLOTMAP, LOG_ERROR, "server", "createMappingReq for slot %u of %u",
		     b.slot_nr, bd->cfg.num_slots);
		send_result(bd, RSPRO_CREATE_MAPPING_RES, RSPRO_ILLEGAL_SLOT_ID);
		return;
	}
	/* the server sends its maps again (its restart, our reconnect): no change */
	if (bd->maps[b.slot_nr].used && bd->maps[b.slot_nr].client.client_id == c.client_id &&
	    bd->maps[b.slot_nr].client.slot_nr == c.slot_nr) {
		LOGP(DSLOTMAP, LOG_DEBUG, slot_name(bd, b.slot_nr),
		     "mapped to C%u:%u already: its client keeps its session", c.client_id,
		     c.slot_nr);
		send_result(bd, RSPRO_CREATE_MAPPING_RES, RSPRO_OK);
		return;
	}
	/* a new map replaces one on the same bank slot or for the same client */
	if (bd->maps[b.slot_nr].used)
		unmap(bd, b.slot_nr, "its bank slot was mapped to another client");
	for (i = 0; i < bd->cfg.num_slots; i++)
		if (bd->maps[i].used && bd->maps[i].client.client_id == c.client_id &&
		    bd->maps[i].client.slot_nr == c.slot_nr)
			unmap(bd, i, "the client was mapped to another bank slot");
	bd->maps[b.slot_nr] = (struct bank_map){ .used = true, .client = c };
	LOGP(DSLOTMAP, LOG_INFO, slot_name(bd, b.slot_nr), "mapped to C%u:%u", c.client_id,
	     c.slot_nr);
	send_result(bd, RSPRO_CREATE_MAPPING_RES, RSPRO_OK);
	clients_mapped(bd, b.slot_nr);
}

static void remove_mapping(struct bankd *bd, const struct rspro_pdu *pdu)
{
	struct rspro_bank_slot b = pdu->mapping.bank;
	struct rspro_client_slot c = pdu->mapping.client;
	int32_t result = RSPRO_OK;

	if (b.bank_id != bd->cfg.bank_id)
		result = RSPRO_ILLEGAL_BANK_ID;
	else if (b.slot_nr >= bd->cfg.num_slots)
		result = RSPRO_ILLEGAL_SLOT_ID;
	else if (!bd->maps[b.slot_nr].used || bd->maps[b.slot_nr].client.client_id != c.client_id ||
		 bd->maps[b.slot_nr].client.slot_nr != c.slot_nr)
		result = RSPRO_UNKNOWN_SLOTMAP;
	if (result == RSPRO_OK) {
		LOGP(DSLOTMAP, LOG_INFO, slot_name(bd, b.slot_nr), "map to C%u:%u removed",
		     c.client_id, c.slot_nr);
		unmap(bd, b.slot_nr, "its map was removed");
	} else {
		LOGP(DSLOTMAP, LOG_NOTICE, "server", "removeMappingReq B%u:%u C%u:%u: %s",
		     b.bank_id, b.slot_nr, c.client_id, c.slot_nr, rspro_result_name(result));
	}
	send_result(bd, RSPRO_REMOVE_MAPPING_RES, result);
}

/*
 * The answer to the ConnectBankReq that carried our address: the link
 * passes it on as it is CONNECTED by then.
 */
static void address_res(struct bankd *bd, const struct rspro_pdu *pdu)
{
	if (pdu->connect_res.result == RSPRO_OK)
		LOGP(DRSPRO, LOG_DEBUG, "server", "the server took our update (address, cards)");
	else
		LOGP(DRSPRO, LOG_ERROR, "server",
		     "the server refused our registration update (%s): address or card inventory not taken",
		     rspro_result_name(pdu->connect_res.result) ?: "?");
}

/*
 * Our address goes in a second ConnectBankReq on the same connection, to
 * a server whose ConnectBankRes said it understands the addition. It
 * leaves before any CreateMappingRes, so the server knows it before it
 * tells any client where we are.
 */
static void announce_address(struct bankd *bd)
{
	bool understood = rspro_identity_has_ext(rspro_link_peer_identity(bd->link),
						 RSPRO_EXT_BANKD_ADDR);
	struct rspro_pdu pdu;
	struct rspro_error err;

	/*
	 * osmo-remsim-server tells every client port 9999 whatever we say:
	 * on another port, no client of it ever reaches us. Said once.
	 */
	if (bd->addr.port != BANKD_OSMO_PORT && !bd->port_warned &&
	    (bd->cfg.announce == ANNOUNCE_NO || (bd->cfg.announce == ANNOUNCE_AUTO && !understood))) {
		LOGP(DRSPRO, LOG_ERROR, "server",
		     "the server does not take our address (osmo-remsim-server?): it tells clients port %u, we listen on %u: clients cannot reach us; use -P %u behind it",
		     BANKD_OSMO_PORT, bd->addr.port, BANKD_OSMO_PORT);
		bd->port_warned = true;
	}
	if (bd->cfg.announce != ANNOUNCE_AUTO || !understood)
		return;
	rspro_connect_bank_req(&pdu, &bd->identity, bd->cfg.bank_id, bd->cfg.num_slots);
	if (bd->cfg.name[0])
		snprintf(pdu.connect_bank_req.identity.name,
			 sizeof(pdu.connect_bank_req.identity.name), "%s", bd->cfg.name);
	pdu.connect_bank_req.has_bankd_addr = true;
	pdu.connect_bank_req.bankd_addr = bd->addr;
	if (rspro_link_send(bd->link, &pdu, &err))
		LOGP(DRSPRO, LOG_ERROR, "server", "cannot send our address");
}

static void server_pdu(struct rspro_link *l, const struct rspro_pdu *pdu)
{
	struct bankd *bd = rspro_link_data(l);
	unsigned int i;

	switch (pdu->msg) {
	case RSPRO_CREATE_MAPPING_REQ:
		create_mapping(bd, pdu);
		break;
	case RSPRO_REMOVE_MAPPING_REQ:
		remove_mapping(bd, pdu);
		break;
	case RSPRO_CONNECT_BANK_RES:
		address_res(bd, pdu);
		break;
	case RSPRO_RESET_STATE_REQ:
		LOGP(DSLOTMAP, LOG_NOTICE, "server", "reset state: every map removed");
		for (i = 0; i < bd->cfg.num_slots; i++)
			if (bd->maps[i].used)
				unmap(bd, i, "the server reset the state");
		send_result(bd, RSPRO_RESET_STATE_RES, RSPRO_OK);
		break;
	default:
		LOGP(DRSPRO, LOG_NOTICE, "server", "unexpected %s: ignored",
		     rspro_msg_name(pdu->msg));
	}
}

static void server_up(struct rspro_link *l)
{
	struct bankd *bd = rspro_link_data(l);

	bd->server_connects++;
	LOGP(DRSPRO, LOG_INFO, "server", "registered as bank %u with %u slots",
	     bd->cfg.bank_id, bd->cfg.num_slots);
	announce_address(bd);
	inventory_server_up(bd);
}

static void server_down(struct rspro_link *l, const char *why)
{
	/* the maps stay: clients keep their cards while the server is away */
	LOGP(DRSPRO, LOG_NOTICE, "server", "link lost (%s); maps kept", why);
}

static void server_state(struct rspro_link *l, enum rspro_link_state from,
			 enum rspro_link_state to, const char *why)
{
	LOGP(DRSPRO, to == RSPRO_LINK_REESTABLISH_DELAY ? LOG_NOTICE : LOG_DEBUG, "server",
	     "%s -> %s: %s", rspro_link_state_name(from), rspro_link_state_name(to), why);
}

static const struct rspro_link_ops server_ops = {
	.up = server_up,
	.down = server_down,
	.pdu = server_pdu,
	.state = server_state,
};

/*
 * The eventfd is edge-triggered and read only every DONE_READ_EVERY
 * wake-ups: one read() per TPDU saved. Workers write it only when
 * done_told was clear, so it grows by at most one per wake-up and the
 * occasional read keeps it far from its limit (2^64 - 2).
 *
 * The read comes before done_told is cleared: a write between a clear and
 * a read would be eaten by the read, its edge with it, while its worker's
 * done_told stayed set for nobody to clear: every later result unsignalled,
 * bankd deaf to its workers (seen once in ~30 reads under 16 busy slots).
 * Read first, then clear, then look: a result that found done_told set is
 * seen by the look that follows; one that wrote after the read wakes us.
 */
#define DONE_READ_EVERY	4096

/* What the workers sent back; inventory results only while we run. */
static void take_done(struct bankd *bd)
{
	unsigned int i;
	struct job *j;

	for (i = 0; i < bd->cfg.num_slots; i++)
		while ((j = worker_take_done(&bd->workers[i])))
			if (j->type != JOB_INVENTORY)
				clients_job_done(bd, j);
			else if (!bd->stopping)
				inventory_done(bd, &bd->workers[i], j);
			else
				free(j);
}

static void done_cb(struct ev_io *io, uint32_t revents)
{
	struct bankd *bd = io->data;
	uint64_t n;

	if (++bd->done_unread >= DONE_READ_EVERY) {
		bd->done_unread = 0;
		if (read(bd->done_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
			LOGP(DMAIN, LOG_ERROR, NULL, "eventfd: %s", strerror(errno));
	}
	atomic_store(&bd->done_told, false);
	take_done(bd);
}

/* The reader watch saw a change: the clients waiting for a card try now. */
static void watch_cb(struct ev_io *io, uint32_t revents)
{
	struct bankd *bd = io->data;
	uint64_t n;

	if (read(bd->watch_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		LOGP(DMAIN, LOG_ERROR, NULL, "eventfd: %s", strerror(errno));
	clients_cards_changed(bd);
}

static int watch_start(struct bankd *bd, char *err, size_t errlen)
{
	int ret;

	bd->watch_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (bd->watch_fd < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		return -errno;
	}
	ev_io_start(bd->loop, &bd->watch_io, bd->watch_fd, EPOLLIN, watch_cb, bd);
	ret = pcsc_watch_start(&bd->watch, bd->watch_fd);
	if (ret)
		snprintf(err, errlen, "reader watch thread: %s", strerror(-ret));
	return ret;
}

struct check_ctx {
	const struct bankd *bd;
	const char *prefix;
};

static void slots_problem(const char *msg, void *arg)
{
	const struct check_ctx *c = arg;

	LOGP(DMAIN, c->bd->cfg.strict ? LOG_ERROR : LOG_NOTICE, NULL, "%s%s", c->prefix, msg);
}

/*
 * Rows bankd ignores and slots no client can get a card in are mistakes
 * an operator wants to hear of, but osmo-remsim-bankd starts with them
 * and so do we, unless told --strict: then every one is listed and the
 * map refused.
 */
int bankd_check_slots(const struct bankd *bd, const struct slot_table *t, const char *path,
		      const char *ctx, char *err, size_t errlen)
{
	struct check_ctx c = { .bd = bd, .prefix = ctx };
	unsigned int n;

	n = slot_table_check_slots(t, bd->cfg.bank_id, bd->cfg.num_slots, path, slots_problem,
				   &c);
	if (!n || !bd->cfg.strict)
		return 0;
	snprintf(err, errlen, "%s: %u problem%s with bank %u and %u slots (-b, -n): refused (--strict)",
		 path, n, n == 1 ? "" : "s", bd->cfg.bank_id, bd->cfg.num_slots);
	return -EINVAL;
}

int bankd_start(struct bankd *bd, char *err, size_t errlen)
{
	struct rspro_link_cfg lcfg;
	unsigned int i;
	int ret;

	bd->gsmtap_fd = -1;
	bd->watch_fd = -1;
	/*
	 * A map with no row for our bank (empty, or another bank's) is refused
	 * like a bad one: that bankd would run serving nothing, every client
	 * answered cardNotPresent.
	 */
	ret = slot_table_load(&bd->slots, bd->cfg.csv_path, err, errlen);
	if (!ret)
		ret = slot_table_check_bank(&bd->slots, bd->cfg.bank_id, bd->cfg.csv_path, err,
					    errlen);
	if (!ret)
		ret = bankd_check_slots(bd, &bd->slots, bd->cfg.csv_path, "", err, errlen);
	if (ret) {
		bd->bad_config = true;
		return ret;
	}
	if (bd->cfg.gsmtap_host[0]) {
		bd->gsmtap_fd = gsmtap_open(bd->cfg.gsmtap_host);
		if (bd->gsmtap_fd < 0) {
			snprintf(err, errlen, "GSMTAP to %s: cannot resolve or connect",
				 bd->cfg.gsmtap_host);
			return -EINVAL;
		}
	}
	bd->maps = calloc(bd->cfg.num_slots, sizeof(*bd->maps));
	bd->workers = calloc(bd->cfg.num_slots, sizeof(*bd->workers));
	bd->done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!bd->maps || !bd->workers || bd->done_fd < 0) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	atomic_init(&bd->done_told, false);
	ev_io_start(bd->loop, &bd->done_io, bd->done_fd, EPOLLIN | EPOLLET, done_cb, bd);
	pthread_rwlock_init(&bd->slots_lock, NULL);
	pthread_mutex_init(&bd->limit_lock, NULL);
	bd->locks = true;
	for (i = 0; i < bd->cfg.num_slots; i++) {
		ret = worker_start(&bd->workers[i], bd, i);
		if (ret) {
			snprintf(err, errlen, "worker thread: %s", strerror(-ret));
			return ret;
		}
	}
	ret = watch_start(bd, err, errlen);
	if (ret)
		return ret;
	bd->limit.who = "clients";
	bd->listen_fd = net_listen(bd->cfg.bind_ip, bd->cfg.bind_port, 64);
	if (bd->listen_fd < 0) {
		snprintf(err, errlen, "listening on %s port %u: %s", bd->cfg.bind_ip,
			 bd->cfg.bind_port, strerror(-bd->listen_fd));
		return bd->listen_fd;
	}
	bd->cfg.bind_port = net_local_port(bd->listen_fd);
	/* 16 accepts per wakeup; out of descriptors, the listener rests */
	ret = net_listener_start(&bd->listener, bd->loop, bd->listen_fd, 16, clients_accept, bd);
	if (ret) {
		snprintf(err, errlen, "event loop: %s", strerror(-ret));
		return ret;
	}

	rspro_link_cfg_default(&lcfg);
	snprintf(lcfg.host, sizeof(lcfg.host), "%s", bd->cfg.server_host);
	lcfg.port = bd->cfg.server_port;
	lcfg.identity = bd->identity;
	if (bd->cfg.name[0])
		snprintf(lcfg.identity.name, sizeof(lcfg.identity.name), "%s", bd->cfg.name);
	lcfg.bank_id = bd->cfg.bank_id;
	lcfg.num_slots = bd->cfg.num_slots;
	lcfg.peer_type = RSPRO_COMP_SERVER;
	/* where clients reach us; 0.0.0.0 means "where you see me" */
	rspro_ip_port_parse(&bd->addr, "0.0.0.0:0");
	if (strcmp(bd->cfg.bind_ip, "0.0.0.0") && strcmp(bd->cfg.bind_ip, "::")) {
		char text[80];

		snprintf(text, sizeof(text), strchr(bd->cfg.bind_ip, ':') ? "[%s]:0" : "%s:0",
			 bd->cfg.bind_ip);
		if (rspro_ip_port_parse(&bd->addr, text))
			rspro_ip_port_parse(&bd->addr, "0.0.0.0:0");
	}
	bd->addr.port = bd->cfg.bind_port;
	/* osmo's module lacks the addition: in the first request only on "yes" */
	lcfg.has_bankd_addr = bd->cfg.announce == ANNOUNCE_YES;
	lcfg.bankd_addr = bd->addr;
	lcfg.conn.ka_interval_ms = bd->cfg.ka_interval_ms;
	lcfg.conn.ka_timeout_ms = bd->cfg.ka_timeout_ms;
	if (rspro_tls_server_link(&bd->cfg.tls)) {
		lcfg.tls = bd->tls;
		lcfg.tls_expect = (struct rspro_tls_id){ RSPRO_COMP_SERVER, 0, 0 };
	}
	bd->link = rspro_link_new(bd->loop, &lcfg, &server_ops, bd);
	if (!bd->link) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rspro_link_start(bd->link);
	inventory_start(bd);
	LOGP(DMAIN, LOG_INFO, NULL, "bank %u: %u slots, clients on %s port %u (%s), server %s:%u (%s)",
	     bd->cfg.bank_id, bd->cfg.num_slots, bd->cfg.bind_ip, bd->cfg.bind_port,
	     rspro_tls_bankd_link(&bd->cfg.tls) ? "TLS" : "plaintext",
	     bd->cfg.server_host, bd->cfg.server_port,
	     rspro_tls_server_link(&bd->cfg.tls) ? "TLS" : "plaintext");
	return 0;
}

void bankd_stop(struct bankd *bd)
{
	unsigned int i;

	bd->stopping = true;
	if (bd->workers) {
		inventory_stop(bd);
		/* each ends its session and gives the client back: closed here */
		for (i = 0; i < bd->cfg.num_slots; i++)
			worker_stop(&bd->workers[i]);
		take_done(bd);
	}
	clients_close_all(bd);
	rspro_link_free(bd->link);
	if (bd->listen_fd > 0) {
		net_listener_stop(&bd->listener);
		close(bd->listen_fd);
	}
	if (bd->workers)
		for (i = 0; i < bd->cfg.num_slots; i++)
			worker_free(&bd->workers[i]);
	pcsc_watch_stop(&bd->watch);
	if (bd->watch_fd >= 0) {
		ev_io_stop(&bd->watch_io);
		close(bd->watch_fd);
		bd->watch_fd = -1;
	}
	if (bd->done_fd > 0) {
		ev_io_stop(&bd->done_io);
		close(bd->done_fd);
	}
	if (bd->gsmtap_fd >= 0)
		close(bd->gsmtap_fd);
	free(bd->workers);
	free(bd->maps);
	if (bd->locks) {
		pthread_rwlock_destroy(&bd->slots_lock);
		pthread_mutex_destroy(&bd->limit_lock);
	}
	slot_table_free(&bd->slots);
	rspro_tls_free(bd->tls);
	bd->tls = NULL;
}
