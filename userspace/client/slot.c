// SPDX-License-Identifier: GPL-2.0
/*
 * A client slot: the server tells it which bankd holds its card
 * (ConfigClientBankReq); it connects there (ConnectClientReq), takes the
 * card's ATR (SetAtrReq) and moves command TPDUs to the card and responses
 * back, one at a time.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remsim/log.h"
#include "script.h"
#include "slot.h"

struct rc_slot {
	struct rc_slot *next;		/* all_slots */
	struct ev_loop *loop;
	struct rc_cfg cfg;
	const struct rc_frontend_ops *ops;
	void *data;
	char name[16];			/* "C23:0" */
	enum rc_state state;
	struct rspro_link *server;
	struct rspro_link *bankd;
	struct rspro_bank_slot bank;
	struct rspro_ip_port bankd_addr;
	bool outstanding;		/* a command waits for its answer */
	/*
	 * The bankd link broke while OPERATIONAL: for cfg.apdu_timeout_ms the
	 * frontend still has the card, and the modem's command waits here.
	 */
	bool grace;
	struct ev_timer grace_timer;
	bool has_held;
	uint8_t held[261];
	size_t held_len;
	uint64_t held_ns;		/* its arrival */
	uint64_t sent_ns;		/* when it was sent */
	struct rspro_slot_phys last_phys;
	struct rc_stats stats;
};

/* Every live slot of the process, for the metrics: one thread, no lock. */
static struct rc_slot *all_slots;

static const char *const state_names[] = {
	[RC_INIT] = "INIT", [RC_UNCONFIGURED] = "UNCONFIGURED",
	[RC_WAIT_BANKD] = "WAIT_BANKD", [RC_OPERATIONAL] = "OPERATIONAL",
};

const char *rc_state_name(enum rc_state state)
{
	return state_names[state];
}

void rc_cfg_default(struct rc_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	strcpy(cfg->server_host, "127.0.0.1");
	cfg->server_port = 9998;
	cfg->atr[0] = 0x3b;	/* osmo-remsim-client's default: 3B 00 */
	cfg->atr_len = 2;
	cfg->usb_interface = -1;
	cfg->ka_interval_ms = 30000;
	cfg->ka_timeout_ms = 10000;
	cfg->apdu_timeout_ms = RC_APDU_TIMEOUT_DEFAULT_MS;
}

int rc_cfg_tls(struct rc_cfg *cfg, const struct rspro_tls_cfg *tcfg, struct rspro_tls **tls,
	       char *err, size_t errlen)
{
	*tls = NULL;
	cfg->tls_server = cfg->tls_bankd = NULL;
	if (!rspro_tls_any(tcfg))
		return 0;
	*tls = rspro_tls_new(tcfg, true, err, errlen);
	if (!*tls)
		return -EINVAL;
	if (rspro_tls_server_link(tcfg))
		cfg->tls_server = *tls;
	if (rspro_tls_bankd_link(tcfg))
		cfg->tls_bankd = *tls;
	return 0;
}

/* The event script's view of this slot (REMSIM_* variables). */
static void run_script(struct rc_slot *s, const char *cause)
{
	struct script_env env;
	char bankd[80];

	if (!s->cfg.event_script[0])
		return;
	memset(&env, 0, sizeof(env));
	/* of several servers (-i a,b), the one the link is at */
	rspro_link_address(s->server, env.server_addr, sizeof(env.server_addr));
	snprintf(env.server_state, sizeof(env.server_state), "%s",
		 rspro_link_state_name(rspro_link_state(s->server)));
	if (s->bankd_addr.port)
		rspro_ip_port_format(&s->bankd_addr, bankd, sizeof(bankd));
	else
		strcpy(bankd, "(null):0");
	snprintf(env.bankd_addr, sizeof(env.bankd_addr), "%s", bankd);
	snprintf(env.bankd_state, sizeof(env.bankd_state), "%s",
		 s->bankd ? rspro_link_state_name(rspro_link_state(s->bankd)) : "INIT");
	snprintf(env.client_slot, sizeof(env.client_slot), "%u:%u", s->cfg.slot.client_id,
		 s->cfg.slot.slot_nr);
	snprintf(env.bankd_slot, sizeof(env.bankd_slot), "%u:%u", s->bank.bank_id,
		 s->bank.slot_nr);
	env.vcc = s->last_phys.vcc_present;
	env.rst = s->last_phys.reset_active;
	env.clk = s->last_phys.clk_active;
	snprintf(env.usb_path, sizeof(env.usb_path), "%s", s->cfg.usb_path);
	env.usb_interface = s->cfg.usb_interface;
	script_run(s->cfg.event_script, cause, &env, s->name);
}

static void send_held(struct rc_slot *s);
static void drop_held(struct rc_slot *s, const char *why);

static void set_state(struct rc_slot *s, enum rc_state to)
{
	enum rc_state from = s->state;
	bool had_card = from == RC_OPERATIONAL || s->grace;

	if (from == to)
		return;
	s->state = to;
	LOGP(DMAIN, LOG_INFO, s->name, "%s -> %s", rc_state_name(from), rc_state_name(to));
	if (s->grace) {
		s->grace = false;
		ev_timer_stop(&s->grace_timer);
		if (to == RC_OPERATIONAL) {
			/* the modem never saw the card go: no reset, the command goes */
			LOGP(DMAIN, LOG_NOTICE, s->name, "bankd back: the card stayed with the modem");
			send_held(s);
			return;
		}
		drop_held(s, "the card went elsewhere");
	}
	if (to == RC_OPERATIONAL) {
		/* remote SIM, local ATR, card in, modem reset: as osmo-remsim */
		run_script(s, "request-sim-remote");
		if (s->ops->set_atr)
			s->ops->set_atr(s, s->cfg.atr, s->cfg.atr_len);
		run_script(s, "request-card-insert");
		run_script(s, "request-modem-reset");
		if (s->ops->operational)
			s->ops->operational(s, true);
	} else if (had_card) {
		run_script(s, "request-card-remove");
		run_script(s, "request-sim-local");
		run_script(s, "request-modem-reset");
		if (s->ops->operational)
			s->ops->operational(s, false);
	}
}

/* The command out will not be answered: say so once, never resend it. */
static void lose_outstanding(struct rc_slot *s, const char *why)
{
	if (!s->outstanding)
		return;
	s->outstanding = false;
	s->stats.lost++;
	LOGP(DMAIN, LOG_ERROR, s->name, "command lost, not resent: %s", why);
	if (s->ops->tpdu_lost)
		s->ops->tpdu_lost(s, why);
}

/* The command held over the outage will not be sent: 6F00 to the modem. */
static void drop_held(struct rc_slot *s, const char *why)
{
	if (!s->has_held)
		return;
	s->has_held = false;
	s->stats.lost++;
	LOGP(DMAIN, LOG_ERROR, s->name, "command held for the bankd dropped: %s", why);
	if (s->ops->tpdu_lost)
		s->ops->tpdu_lost(s, why);
}

static int send_tpdu(struct rc_slot *s, const uint8_t *data, size_t len, uint64_t since)
{
	struct rspro_pdu pdu;
	int ret;

	rspro_tpdu(&pdu, RSPRO_TPDU_MODEM_TO_CARD, s->cfg.slot, s->bank, data, len);
	ret = rspro_link_send(s->bankd, &pdu, NULL);
	if (ret) {
		s->stats.not_sent++;
		return ret;
	}
	s->sent_ns = since;
	s->outstanding = true;
	s->stats.tpdus++;
	return 0;
}

/* The link is back: the command held never reached a card, so it goes now. */
static void send_held(struct rc_slot *s)
{
	int ret;

	if (!s->has_held)
		return;
	s->has_held = false;
	ret = send_tpdu(s, s->held, s->held_len, s->held_ns);
	if (ret) {
		s->has_held = true;
		drop_held(s, strerror(-ret));
	}
}

/*
 * The card kept over the outage goes after all: the command held is lost
 * and the frontend hears that the card left, as if the link had broken
 * just now without the grace.
 */
static void end_grace(struct rc_slot *s, const char *why)
{
	enum rc_state state = s->state;

	LOGP(DMAIN, LOG_NOTICE, s->name, "%s: the card is removed", why);
	drop_held(s, why);
	ev_timer_stop(&s->grace_timer);
	s->grace = false;
	s->state = RC_OPERATIONAL;
	set_state(s, s->bankd ? state : RC_UNCONFIGURED);
}

/* The bankd stayed away for apdu_timeout: the modem hears what it used to. */
static void grace_over(struct ev_timer *t)
{
	struct rc_slot *s = t->data;
	char why[80];

	snprintf(why, sizeof(why), "the bankd not back within apdu_timeout (%u ms)",
		 s->cfg.apdu_timeout_ms);
	end_grace(s, why);
}

static void bankd_pdu(struct rspro_link *l, const struct rspro_pdu *pdu)
{
	struct rc_slot *s = rspro_link_data(l);
	struct rspro_pdu res;

	switch (pdu->msg) {
	case RSPRO_TPDU_CARD_TO_MODEM:
		if (!s->outstanding) {
			LOGP(DMAIN, LOG_ERROR, s->name, "a response without a command: dropped");
			return;
		}
		s->outstanding = false;
		s->stats.responses++;
		metrics_hist_observe(&s->stats.apdu, ev_now_ns() - s->sent_ns);
		if (pdu->tpdu.len >= 2 && pdu->tpdu.data[pdu->tpdu.len - 2] == 0x6f &&
		    pdu->tpdu.data[pdu->tpdu.len - 1] == 0x00)
			s->stats.sw_6f00++;
		if (s->ops->card2modem)
			s->ops->card2modem(s, pdu->tpdu.data, pdu->tpdu.len);
		return;
	case RSPRO_SET_ATR_REQ:
		if (!s->cfg.atr_ignore && s->ops->set_atr)
			s->ops->set_atr(s, pdu->set_atr.atr, pdu->set_atr.len);
		rspro_result_res(&res, RSPRO_SET_ATR_RES, RSPRO_OK);
		rspro_link_send(l, &res, NULL);
		return;
	case RSPRO_ERROR_IND:
		LOGP(DMAIN, LOG_ERROR, s->name, "bankd: %s", pdu->error_ind.text);
		/* the command out failed; remsim-bankd keeps the connection */
		lose_outstanding(s, pdu->error_ind.text);
		return;
	case RSPRO_BANK_SLOT_STATUS_IND:
		LOGP(DMAIN, LOG_DEBUG, s->name, "bankSlotStatusInd ignored");
		return;
	default:
		LOGP(DMAIN, LOG_NOTICE, s->name, "unexpected %s from bankd",
		     rspro_msg_name(pdu->msg));
	}
}

static void bankd_up(struct rspro_link *l)
{
	struct rc_slot *s = rspro_link_data(l);

	s->stats.bankd_connects++;
	run_script(s, "event-bankd-connect");
	set_state(s, RC_OPERATIONAL);
}

static void bankd_down(struct rspro_link *l, const char *why)
{
	struct rc_slot *s = rspro_link_data(l);

	lose_outstanding(s, why);
	if (s->state != RC_OPERATIONAL)
		return;
	if (!s->cfg.apdu_timeout_ms) {
		set_state(s, RC_WAIT_BANKD);
		return;
	}
	/* the card stays with the modem for apdu_timeout: the bankd may be back */
	LOGP(DMAIN, LOG_INFO, s->name, "%s -> %s: the card kept for %u ms", rc_state_name(s->state),
	     rc_state_name(RC_WAIT_BANKD), s->cfg.apdu_timeout_ms);
	s->state = RC_WAIT_BANKD;
	s->grace = true;
	ev_timer_start(s->loop, &s->grace_timer, s->cfg.apdu_timeout_ms);
}

static void link_state(struct rspro_link *l, enum rspro_link_state from,
		       enum rspro_link_state to, const char *why)
{
	struct rc_slot *s = rspro_link_data(l);

	LOGP(DRSPRO, to == RSPRO_LINK_REESTABLISH_DELAY ? LOG_NOTICE : LOG_DEBUG, s->name,
	     "%s link %s -> %s: %s", l == s->server ? "server" : "bankd",
	     rspro_link_state_name(from), rspro_link_state_name(to), why);
}

static const struct rspro_link_ops bankd_ops = {
	.up = bankd_up,
	.down = bankd_down,
	.pdu = bankd_pdu,
	.state = link_state,
};

static void drop_bankd(struct rc_slot *s)
{
	if (!s->bankd)
		return;
	rspro_link_stop(s->bankd);	/* calls bankd_down while it matters */
	rspro_link_free(s->bankd);
	s->bankd = NULL;
}

/* A bankd (port 0: none) for this slot, from the server or the kernel's map. */
static void apply_bank(struct rc_slot *s, struct rspro_bank_slot bank,
		       const struct rspro_ip_port *addr)
{
	struct rspro_link_cfg lcfg;
	char text[80];
	bool same_card = s->bank.bank_id == bank.bank_id && s->bank.slot_nr == bank.slot_nr;
	bool same = s->bankd && !memcmp(addr, &s->bankd_addr, sizeof(*addr)) && same_card;
	/* before drop_bankd(), which starts a grace if the link was up */
	bool outage = s->grace;

	rspro_ip_port_format(addr, text, sizeof(text));
	LOGP(DMAIN, LOG_INFO, s->name, "card is B%u:%u at %s", bank.bank_id, bank.slot_nr, text);
	s->bank = bank;
	s->bankd_addr = *addr;
	if (!addr->port) {
		drop_bankd(s);
		/*
		 * The server saw the bankd go as well (we saw it first): the
		 * card stays for the rest of apdu_timeout, and the server names
		 * the bankd again when it is back. With our link still up it is
		 * the map that went: the card goes at once.
		 */
		if (s->grace && !(outage && same_card))
			end_grace(s, "the map went");
		else if (!s->grace)
			set_state(s, RC_UNCONFIGURED);
		return;
	}
	if (same) {
		/*
		 * The server tells us again when our bankd registered again
		 * (RSPRO_EXT_RETELL): a link waiting out its back-off, or a
		 * connect whose SYN may have gone while the bankd was down,
		 * starts over now; a live session or one being opened stays.
		 */
		enum rspro_link_state ls = rspro_link_state(s->bankd);

		if (ls == RSPRO_LINK_REESTABLISH_DELAY || ls == RSPRO_LINK_REESTABLISH) {
			LOGP(DMAIN, LOG_INFO, s->name, "bankd is back: connecting now");
			rspro_link_start(s->bankd);
		}
		return;
	}
	/*
	 * A new bankd or bank slot. The same one again (the server came
	 * back) keeps a working link: osmo-remsim reconnects and resets the
	 * modem there, for nothing. The same card at a bankd that came back
	 * is the one the modem kept over the outage.
	 */
	drop_bankd(s);
	if (s->grace && !same_card)
		end_grace(s, "another card mapped");
	rspro_link_cfg_default(&lcfg);
	if (rspro_ip_port_host(addr, lcfg.host, sizeof(lcfg.host)))
		snprintf(lcfg.host, sizeof(lcfg.host), "0.0.0.0");
	lcfg.port = addr->port;
	lcfg.identity = s->cfg.identity;
	lcfg.client_slot = s->cfg.slot;
	lcfg.peer_type = RSPRO_COMP_BANKD;
	lcfg.conn.ka_interval_ms = s->cfg.ka_interval_ms;
	lcfg.conn.ka_timeout_ms = s->cfg.ka_timeout_ms;
	/* the bankd must hold the certificate of the bank the map names */
	lcfg.tls = s->cfg.tls_bankd;
	lcfg.tls_expect = (struct rspro_tls_id){ RSPRO_COMP_BANKD, bank.bank_id, bank.bank_id };
	s->bankd = rspro_link_new(s->loop, &lcfg, &bankd_ops, s);
	if (s->bankd)
		rspro_link_start(s->bankd);
	set_state(s, RC_WAIT_BANKD);
}

static void config_bank(struct rc_slot *s, const struct rspro_pdu *pdu)
{
	struct rspro_pdu res;

	apply_bank(s, pdu->config_client_bank.bank, &pdu->config_client_bank.bankd);
	rspro_result_res(&res, RSPRO_CONFIG_CLIENT_BANK_RES, RSPRO_OK);
	rspro_link_send(s->server, &res, NULL);
	run_script(s, "event-config-bankd");
}

static void server_pdu(struct rspro_link *l, const struct rspro_pdu *pdu)
{
	struct rc_slot *s = rspro_link_data(l);
	struct rspro_pdu res;

	switch (pdu->msg) {
	case RSPRO_CONFIG_CLIENT_BANK_REQ:
		config_bank(s, pdu);
		return;
	case RSPRO_CONNECT_CLIENT_RES:
		/* the answer to the modem path's update */
		if (pdu->connect_res.result != RSPRO_OK)
			LOGP(DMAIN, LOG_ERROR, s->name, "the server refused the modem path: %s",
			     rspro_result_name(pdu->connect_res.result) ?: "unknown result");
		return;
	case RSPRO_CONFIG_CLIENT_ID_REQ:
		LOGP(DMAIN, LOG_NOTICE, s->name, "server assigns client slot C%u:%u",
		     pdu->config_client_id.client_id, pdu->config_client_id.slot_nr);
		s->cfg.slot = pdu->config_client_id;
		rspro_result_res(&res, RSPRO_CONFIG_CLIENT_ID_RES, RSPRO_OK);
		rspro_link_send(l, &res, NULL);
		return;
	default:
		LOGP(DMAIN, LOG_NOTICE, s->name, "unexpected %s from the server",
		     rspro_msg_name(pdu->msg));
	}
}

/*
 * The modem slot's by-path name, in a ConnectClientReq that updates our
 * registration, to a server that announced it keeps it ("path"): never to
 * osmo-remsim-server, whose module does not define it.
 */
static void send_modem_path(struct rc_slot *s)
{
	struct rspro_error err = { "" };
	struct rspro_pdu pdu;
	int ret;

	if (!s->cfg.modem_path[0] ||
	    !rspro_identity_has_ext(rspro_link_peer_identity(s->server), RSPRO_EXT_PATH))
		return;
	rspro_connect_client_req(&pdu, &s->cfg.identity, &s->cfg.slot);
	snprintf(pdu.connect_client_req.modem_path, sizeof(pdu.connect_client_req.modem_path),
		 "%s", s->cfg.modem_path);
	ret = rspro_link_send(s->server, &pdu, &err);
	if (ret)
		LOGP(DMAIN, LOG_ERROR, s->name, "cannot send the modem path: %s",
		     ret == -EINVAL ? err.msg : strerror(-ret));
}

static void server_up(struct rspro_link *l)
{
	struct rc_slot *s = rspro_link_data(l);

	s->stats.server_connects++;
	send_modem_path(s);
	if (s->state == RC_INIT) {
		set_state(s, RC_UNCONFIGURED);
		run_script(s, "event-server-connect");
	}
}

static void server_down(struct rspro_link *l, const char *why)
{
	/* the bankd link carries on: the card stays with the modem */
}

static const struct rspro_link_ops server_ops = {
	.up = server_up,
	.down = server_down,
	.pdu = server_pdu,
	.state = link_state,
};

struct rc_slot *rc_slot_new(struct ev_loop *loop, const struct rc_cfg *cfg,
			    const struct rc_frontend_ops *ops, void *data)
{
	struct rc_slot *s = calloc(1, sizeof(*s));
	struct rspro_link_cfg lcfg;

	if (!s)
		return NULL;
	s->loop = loop;
	s->cfg = *cfg;
	s->ops = ops;
	s->data = data;
	s->last_phys = (struct rspro_slot_phys){ 0, RSPRO_UNKNOWN, RSPRO_UNKNOWN, RSPRO_UNKNOWN };
	ev_timer_init(&s->grace_timer, grace_over, s);
	snprintf(s->name, sizeof(s->name), "C%u:%u", cfg->slot.client_id, cfg->slot.slot_nr);
	rspro_link_cfg_default(&lcfg);
	snprintf(lcfg.host, sizeof(lcfg.host), "%s", cfg->server_host);
	lcfg.port = cfg->server_port;
	lcfg.identity = cfg->identity;
	/* the server may tell us our bankd again: apply_bank() copes */
	rspro_identity_set_exts(&lcfg.identity, RSPRO_EXT_RETELL);
	lcfg.client_slot = cfg->slot;
	lcfg.peer_type = RSPRO_COMP_SERVER;
	lcfg.conn.ka_interval_ms = cfg->ka_interval_ms;
	lcfg.conn.ka_timeout_ms = cfg->ka_timeout_ms;
	lcfg.tls = cfg->tls_server;
	lcfg.tls_expect = (struct rspro_tls_id){ RSPRO_COMP_SERVER, 0, 0 };
	s->server = rspro_link_new(loop, &lcfg, &server_ops, s);
	if (!s->server) {
		free(s);
		return NULL;
	}
	s->next = all_slots;
	all_slots = s;
	return s;
}

void rc_slot_start(struct rc_slot *s)
{
	rspro_link_start(s->server);
}

void rc_slot_static_bank(struct rc_slot *s, struct rspro_bank_slot bank,
			 const struct rspro_ip_port *bankd)
{
	s->state = RC_UNCONFIGURED;
	apply_bank(s, bank, bankd);
}

void rc_slot_free(struct rc_slot *s)
{
	struct rc_slot **pp;

	if (!s)
		return;
	for (pp = &all_slots; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	/* a slot let go keeps no card for the modem: it goes now, as it did */
	s->cfg.apdu_timeout_ms = 0;
	if (s->grace)
		end_grace(s, "the slot is let go");
	drop_bankd(s);
	rspro_link_free(s->server);
	free(s);
}

int rc_slot_tpdu(struct rc_slot *s, const uint8_t *data, size_t len)
{
	uint64_t now = ev_now_ns();	/* the command's arrival: the timing starts */

	if (len < 5 || len > 261) {
		s->stats.refused++;
		return -EINVAL;
	}
	if (s->grace) {
		/* a second one means the modem gave up on the first: it replaces it */
		if (!s->has_held)
			s->stats.held++;
		memcpy(s->held, data, len);
		s->held_len = len;
		s->held_ns = now;
		s->has_held = true;
		LOGP(DMAIN, LOG_INFO, s->name, "command held until the bankd is back");
		return 0;
	}
	if (s->state != RC_OPERATIONAL || s->outstanding) {
		s->stats.not_sent++;
		return s->outstanding ? -EBUSY : -ENOTCONN;
	}
	return send_tpdu(s, data, len, now);
}

void rc_slot_abort_held(struct rc_slot *s)
{
	if (!s->has_held)
		return;
	s->has_held = false;
	LOGP(DMAIN, LOG_INFO, s->name, "the modem gave up on the command held: not sent");
}

void rc_slot_modem_status(struct rc_slot *s, const struct rspro_slot_phys *phys)
{
	struct rspro_pdu pdu;

	s->last_phys = *phys;
	if (s->state != RC_OPERATIONAL)
		return;
	rspro_slot_status_ind(&pdu, RSPRO_CLIENT_SLOT_STATUS_IND, s->cfg.slot, s->bank, phys);
	rspro_link_send(s->bankd, &pdu, NULL);
	run_script(s, "event-modem-status");
}

enum rc_state rc_slot_state(const struct rc_slot *s)
{
	return s->state;
}

bool rc_slot_busy(const struct rc_slot *s)
{
	return s->outstanding;
}

const struct rc_stats *rc_slot_stats(const struct rc_slot *s)
{
	return &s->stats;
}

void *rc_slot_data(const struct rc_slot *s)
{
	return s->data;
}

const char *rc_slot_name(const struct rc_slot *s)
{
	return s->name;
}

void rc_slot_note_6f00(struct rc_slot *s)
{
	s->stats.sw_6f00++;
}

void rc_slot_latency_text(const struct rc_slot *s, char *buf, size_t size)
{
	const struct metrics_hist *h = &s->stats.apdu;

	if (!h->count)
		snprintf(buf, size, "no APDU timed");
	else
		snprintf(buf, size, "p50 %.3f ms, p99 %.3f ms",
			 metrics_hist_quantile(h, 0.5) * 1e3, metrics_hist_quantile(h, 0.99) * 1e3);
}

/* --- GET /metrics: every slot, labelled client="23:0",slot="remsim3" --- */

static void slot_labels(const struct rc_slot *s, char *buf, size_t size, const char *key,
			const char *value)
{
	char client[16];

	snprintf(client, sizeof(client), "%u:%u", s->cfg.slot.client_id, s->cfg.slot.slot_nr);
	metrics_labels(buf, size, "client", client, "slot", s->cfg.label, key, value, NULL);
}

static const struct {
	const char *name, *help;
	size_t off;
} counters[] = {
	{ "remsim_client_apdus_total", "APDUs sent to the card",
	  offsetof(struct rc_stats, tpdus) },
	{ "remsim_client_sw_6f00_total",
	  "6F00 answers to the modem: the card's, or ours for a command lost or not sent",
	  offsetof(struct rc_stats, sw_6f00) },
};

static const struct {
	const char *cause;
	size_t off;
} errors[] = {
	{ "lost", offsetof(struct rc_stats, lost) },
	{ "refused", offsetof(struct rc_stats, refused) },
	{ "not_sent", offsetof(struct rc_stats, not_sent) },
};

static unsigned long stat_at(const struct rc_slot *s, size_t off)
{
	return *(const unsigned long *)((const char *)&s->stats + off);
}

static void link_series(struct metrics_out *o)
{
	char labels[160];
	struct rc_slot *s;

	metrics_family(o, "remsim_link_up", "gauge", "1 while the RSPRO link is CONNECTED");
	for (s = all_slots; s; s = s->next) {
		slot_labels(s, labels, sizeof(labels), "peer", "server");
		metrics_sample(o, "remsim_link_up", labels,
			       rspro_link_state(s->server) == RSPRO_LINK_CONNECTED);
		slot_labels(s, labels, sizeof(labels), "peer", "bankd");
		metrics_sample(o, "remsim_link_up", labels,
			       s->bankd && rspro_link_state(s->bankd) == RSPRO_LINK_CONNECTED);
	}
	metrics_family(o, "remsim_link_connects_total", "counter",
		       "times the RSPRO link came up: 1 plus its reconnects");
	for (s = all_slots; s; s = s->next) {
		slot_labels(s, labels, sizeof(labels), "peer", "server");
		metrics_sample(o, "remsim_link_connects_total", labels, s->stats.server_connects);
		slot_labels(s, labels, sizeof(labels), "peer", "bankd");
		metrics_sample(o, "remsim_link_connects_total", labels, s->stats.bankd_connects);
	}
	metrics_family(o, "remsim_client_operational", "gauge",
		       "1 while the slot has its card (OPERATIONAL)");
	for (s = all_slots; s; s = s->next) {
		slot_labels(s, labels, sizeof(labels), NULL, NULL);
		metrics_sample(o, "remsim_client_operational", labels,
			       s->state == RC_OPERATIONAL);
	}
}

void rc_slots_metrics(struct metrics_out *o)
{
	char labels[160];
	struct rc_slot *s;
	size_t i;

	link_series(o);
	for (i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
		metrics_family(o, counters[i].name, "counter", counters[i].help);
		for (s = all_slots; s; s = s->next) {
			slot_labels(s, labels, sizeof(labels), NULL, NULL);
			metrics_sample(o, counters[i].name, labels, stat_at(s, counters[i].off));
		}
	}
	metrics_family(o, "remsim_client_errors_total", "counter",
		       "commands lost (the bankd link broke, errorInd), refused (bad size) or not sent");
	for (s = all_slots; s; s = s->next)
		for (i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
			slot_labels(s, labels, sizeof(labels), "cause", errors[i].cause);
			metrics_sample(o, "remsim_client_errors_total", labels,
				       stat_at(s, errors[i].off));
		}
	metrics_family(o, "remsim_client_apdu_seconds", "histogram",
		       "from a command's arrival from the modem side to the card's answer");
	for (s = all_slots; s; s = s->next) {
		slot_labels(s, labels, sizeof(labels), NULL, NULL);
		metrics_histogram(o, "remsim_client_apdu_seconds", labels, &s->stats.apdu);
	}
}
