// SPDX-License-Identifier: GPL-2.0
/*
 * The RSPRO client link state machine (osmo-remsim's "RSPRO_CLIENT"), on the
 * event loop: INIT -> REESTABLISH_DELAY -> REESTABLISH -> ESTABLISHED ->
 * CONNECTED, and back to REESTABLISH_DELAY on every loss.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "remsim/rspro_link.h"

struct rspro_link {
	struct ev_loop *loop;
	struct rspro_link_cfg cfg;
	const struct rspro_link_ops *ops;
	void *data;
	enum rspro_link_state state;
	struct ev_timer timer;		/* T1, T2 or the back-off delay */
	struct ev_io connecting;	/* the socket while TCP connects */
	int connect_fd;
	struct rspro_conn *conn;
	struct rspro_identity peer;	/* from the last ok Connect*Res */
	struct rspro_tls_resume resume;	/* the TLS session ticket, if any */
	unsigned int attempts;
	uint64_t last_attempt_ns;	/* 0: none yet */
	uint64_t away_ns;		/* since when the peer is missed */
	uint64_t up_ns;			/* since when CONNECTED */
	uint32_t rnd;			/* the back-off's jitter, xorshift32 */
	/* the entry of cfg.host tried now (see next_address()) */
	unsigned int addr_idx;
	char host[256];
	uint16_t port;
};

static const char *const state_names[] = {
	[RSPRO_LINK_INIT]		= "INIT",
	[RSPRO_LINK_ESTABLISHED]	= "ESTABLISHED",
	[RSPRO_LINK_CONNECTED]		= "CONNECTED",
	[RSPRO_LINK_REESTABLISH_DELAY]	= "REESTABLISH_DELAY",
	[RSPRO_LINK_REESTABLISH]	= "REESTABLISH",
};

const char *rspro_link_state_name(enum rspro_link_state state)
{
	return state_names[state];
}

void rspro_link_cfg_default(struct rspro_link_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->port = 9998;
	cfg->peer_type = RSPRO_COMP_SERVER;
	cfg->t1_ms = 10000;
	cfg->t2_ms = 10000;
	rspro_conn_cfg_default(&cfg->conn);
}

/* Drops the socket or connection of the current attempt, quietly. */
static void drop_transport(struct rspro_link *l)
{
	ev_timer_stop(&l->timer);
	memset(&l->peer, 0, sizeof(l->peer));
	if (l->connect_fd >= 0) {
		ev_io_stop(&l->connecting);
		close(l->connect_fd);
		l->connect_fd = -1;
	}
	if (l->conn) {
		rspro_conn_close(l->conn);
		l->conn = NULL;
	}
}

static void set_state(struct rspro_link *l, enum rspro_link_state to,
		      const char *why)
{
	enum rspro_link_state from = l->state;

	l->state = to;
	if (l->ops->state)
		l->ops->state(l, from, to, why);
	if (from == RSPRO_LINK_CONNECTED && to != RSPRO_LINK_CONNECTED &&
	    l->ops->down)
		l->ops->down(l, why);
}

/* How many addresses cfg.host lists: "a,b,c" is three. */
static unsigned int address_count(const char *list)
{
	unsigned int n = 1;

	while ((list = strchr(list, ',')))
		n++, list++;
	return n;
}

/*
 * Entry @idx of cfg.host in l->host and l->port (cfg.port when it names
 * none). An entry that does not parse is tried as a host name as it is:
 * the resolver says what is wrong with it.
 */
static void pick_address(struct rspro_link *l, unsigned int idx)
{
	const char *e = l->cfg.host, *end;
	size_t len;

	while (idx-- && strchr(e, ','))
		e = strchr(e, ',') + 1;
	end = strchr(e, ',');
	len = end ? (size_t)(end - e) : strlen(e);
	if (rspro_host_port_split(e, len, l->cfg.port, l->host, sizeof(l->host), &l->port)) {
		snprintf(l->host, sizeof(l->host), "%.*s", (int)len, e);
		l->port = l->cfg.port;
	}
}

/*
 * Several servers in cfg.host ("a,b": remsim-server's high availability,
 * one active at a time): after a failure or a loss the next one is tried
 * at once; only the end of the list counts as an attempt of the back-off.
 * Returns whether the list starts over (always, for one address).
 */
static bool next_address(struct rspro_link *l)
{
	unsigned int n = address_count(l->cfg.host);

	l->addr_idx = (l->addr_idx + 1) % n;
	pick_address(l, l->addr_idx);
	return l->addr_idx == 0;
}

static uint32_t jitter(struct rspro_link *l)
{
	l->rnd ^= l->rnd << 13;
	l->rnd ^= l->rnd >> 17;
	l->rnd ^= l->rnd << 5;
	return l->rnd;
}

/*
 * REESTABLISH_DELAY: wait out the back-off, counted from the last attempt.
 * A link that was up a while misses its peer from now on and retries at
 * once, then fast; a short connection leaves the clock running.
 */
static void backoff(struct rspro_link *l, const char *why)
{
	uint64_t now = ev_now_ns(), delay_ns = 0, since = 0;

	drop_transport(l);
	if (l->state == RSPRO_LINK_CONNECTED &&
	    now - l->up_ns >= RSPRO_BACKOFF_STABLE_MS * 1000000ull) {
		l->away_ns = now;
		l->attempts = 0;
	}
	if (!next_address(l)) {
		set_state(l, RSPRO_LINK_REESTABLISH_DELAY, why);
		ev_timer_start(l->loop, &l->timer, 0);
		return;
	}
	if (l->last_attempt_ns)
		since = now - l->last_attempt_ns;
	if (l->attempts++)
		delay_ns = rspro_backoff_ms((now - l->away_ns) / 1000000,
					    jitter(l)) * 1000000ull;
	delay_ns = delay_ns > since ? delay_ns - since : 1000000;
	set_state(l, RSPRO_LINK_REESTABLISH_DELAY, why);
	ev_timer_start(l->loop, &l->timer, delay_ns / 1000000);
}

static void conn_pdu(struct rspro_conn *c, const struct rspro_pdu *pdu);
static void conn_closed(struct rspro_conn *c, int err, const char *why);

static const struct rspro_conn_ops link_conn_ops = {
	.pdu = conn_pdu,
	.closed = conn_closed,
};

static void send_connect_req(struct rspro_link *l)
{
	struct rspro_pdu pdu;
	struct rspro_error err;

	if (l->cfg.identity.type == RSPRO_COMP_CLIENT) {
		rspro_connect_client_req(&pdu, &l->cfg.identity,
					 &l->cfg.client_slot);
	} else {
		rspro_connect_bank_req(&pdu, &l->cfg.identity, l->cfg.bank_id,
				       l->cfg.num_slots);
		pdu.connect_bank_req.has_bankd_addr = l->cfg.has_bankd_addr;
		pdu.connect_bank_req.bankd_addr = l->cfg.bankd_addr;
	}
	if (rspro_conn_send(l->conn, &pdu, &err) == -EINVAL)
		fprintf(stderr, "rspro link: cannot encode %s: %s\n",
			rspro_msg_name(pdu.msg), err.msg);
}

static void connect_done(struct ev_io *io, uint32_t revents)
{
	struct rspro_link *l = io->data;
	struct rspro_transport *t;
	char why[384];
	int ret, fd = l->connect_fd;

	ret = net_connect_result(fd);
	ev_io_stop(&l->connecting);
	l->connect_fd = -1;
	if (ret) {
		close(fd);
		snprintf(why, sizeof(why), "connect to %s:%u: %s", l->host, l->port,
			 strerror(-ret));
		backoff(l, why);
		return;
	}
	ev_timer_stop(&l->timer);
	if (l->cfg.tls)
		t = rspro_transport_tls(fd, l->cfg.tls, false, &l->cfg.tls_expect, &l->resume);
	else
		t = rspro_transport_tcp(fd);
	if (t)
		l->conn = rspro_conn_new(l->loop, t, &l->cfg.conn,
					 &link_conn_ops, l);
	else if (!l->cfg.tls)
		close(fd);	/* (the TLS transport closed it) */
	if (!l->conn) {
		backoff(l, "out of memory");
		return;
	}
	set_state(l, RSPRO_LINK_ESTABLISHED, "TCP connected");
	send_connect_req(l);
	ev_timer_start(l->loop, &l->timer, l->cfg.t1_ms);
}

/* REESTABLISH: a non-blocking connect, bounded by T2. */
static void reestablish(struct rspro_link *l)
{
	char why[384];
	int fd;

	l->last_attempt_ns = ev_now_ns();
	fd = net_connect_start(l->host, l->port);
	if (fd < 0) {
		/* osmo-remsim exits here; retrying serves an operator better */
		snprintf(why, sizeof(why), "connect to %s:%u: %s", l->host, l->port,
			 strerror(-fd));
		backoff(l, why);
		return;
	}
	l->connect_fd = fd;
	if (ev_io_start(l->loop, &l->connecting, fd, EPOLLOUT, connect_done, l)) {
		close(fd);
		l->connect_fd = -1;
		backoff(l, "cannot watch the socket");
		return;
	}
	set_state(l, RSPRO_LINK_REESTABLISH, "connecting");
	ev_timer_start(l->loop, &l->timer, l->cfg.t2_ms);
}

static void timer_cb(struct ev_timer *t)
{
	struct rspro_link *l = t->data;
	char why[64];

	switch (l->state) {
	case RSPRO_LINK_REESTABLISH_DELAY:
		reestablish(l);
		break;
	case RSPRO_LINK_REESTABLISH:
		snprintf(why, sizeof(why), "TCP connect took over %u ms (T2)",
			 l->cfg.t2_ms);
		backoff(l, why);
		break;
	case RSPRO_LINK_ESTABLISHED:
		snprintf(why, sizeof(why), "no Connect response within %u ms (T1)",
			 l->cfg.t1_ms);
		backoff(l, why);
		break;
	default:
		break;
	}
}

static void connect_res(struct rspro_link *l, const struct rspro_pdu *pdu)
{
	char why[128];

	if (pdu->connect_res.identity.type != l->cfg.peer_type) {
		snprintf(why, sizeof(why),
			 "peer is a %s, not a %s: check your IP/port configuration",
			 rspro_component_name(pdu->connect_res.identity.type),
			 rspro_component_name(l->cfg.peer_type));
		drop_transport(l);
		set_state(l, RSPRO_LINK_INIT, why);
		return;
	}
	if (pdu->connect_res.result != RSPRO_OK) {
		const char *name = rspro_result_name(pdu->connect_res.result);
		char num[16];

		snprintf(num, sizeof(num), "%d", pdu->connect_res.result);
		snprintf(why, sizeof(why), "%s(result=%s), closing",
			 rspro_msg_name(pdu->msg), name ? name : num);
		backoff(l, why);
		return;
	}
	ev_timer_stop(&l->timer);
	l->peer = pdu->connect_res.identity;
	l->up_ns = ev_now_ns();
	set_state(l, RSPRO_LINK_CONNECTED, "connected");
	if (l->ops->up)
		l->ops->up(l);
}

static void conn_pdu(struct rspro_conn *c, const struct rspro_pdu *pdu)
{
	struct rspro_link *l = rspro_conn_data(c);
	enum rspro_msg expect = l->cfg.identity.type == RSPRO_COMP_CLIENT ?
				RSPRO_CONNECT_CLIENT_RES : RSPRO_CONNECT_BANK_RES;

	if (l->state == RSPRO_LINK_ESTABLISHED) {
		if (pdu->msg == expect)
			connect_res(l, pdu);
		return;		/* nothing else counts before the response */
	}
	if (l->state == RSPRO_LINK_CONNECTED && l->ops->pdu)
		l->ops->pdu(l, pdu);
}

static void conn_closed(struct rspro_conn *c, int err, const char *why)
{
	struct rspro_link *l = rspro_conn_data(c);

	l->conn = NULL;		/* freed by the caller */
	backoff(l, why);
}

struct rspro_link *rspro_link_new(struct ev_loop *loop,
				  const struct rspro_link_cfg *cfg,
				  const struct rspro_link_ops *ops, void *data)
{
	struct rspro_link *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->loop = loop;
	l->cfg = *cfg;
	l->ops = ops;
	l->data = data;
	l->connect_fd = -1;
	/* the first back-off moves to the first address */
	l->addr_idx = address_count(cfg->host) - 1;
	ev_timer_init(&l->timer, timer_cb, l);
	/* links started together must not draw the same delays */
	if (getrandom(&l->rnd, sizeof(l->rnd), GRND_NONBLOCK) != sizeof(l->rnd))
		l->rnd = (uint32_t)(ev_now_ns() ^ (uintptr_t)l);
	if (!l->rnd)
		l->rnd = 1;	/* xorshift's one fixed point */
	return l;
}

void rspro_link_free(struct rspro_link *l)
{
	if (!l)
		return;
	drop_transport(l);
	rspro_tls_resume_clear(&l->resume);
	free(l);
}

void rspro_link_start(struct rspro_link *l)
{
	l->attempts = 0;
	l->last_attempt_ns = 0;
	l->away_ns = ev_now_ns();
	l->addr_idx = address_count(l->cfg.host) - 1;
	backoff(l, "establish");
}

void rspro_link_stop(struct rspro_link *l)
{
	drop_transport(l);
	if (l->state != RSPRO_LINK_INIT)
		set_state(l, RSPRO_LINK_INIT, "disconnect");
}

int rspro_link_send(struct rspro_link *l, const struct rspro_pdu *pdu,
		    struct rspro_error *err)
{
	if (l->state != RSPRO_LINK_CONNECTED)
		return -ENOTCONN;
	return rspro_conn_send(l->conn, pdu, err);
}

enum rspro_link_state rspro_link_state(const struct rspro_link *l)
{
	return l->state;
}

const struct rspro_identity *rspro_link_peer_identity(const struct rspro_link *l)
{
	return &l->peer;
}

void *rspro_link_data(const struct rspro_link *l)
{
	return l->data;
}

unsigned int rspro_link_attempts(const struct rspro_link *l)
{
	return l->attempts;
}

unsigned long rspro_link_tls_resumed(const struct rspro_link *l)
{
	return l->resume.resumed;
}

void rspro_link_address(const struct rspro_link *l, char *out, size_t len)
{
	if (l->host[0])
		snprintf(out, len, "%s:%u", l->host, l->port);
	else
		snprintf(out, len, "%s:%u", l->cfg.host, l->cfg.port);
}
