// SPDX-License-Identifier: GPL-2.0
/*
 * An RSPRO connection: reads frames off the transport, answers CCM, runs the
 * keep-alive and queues what we send. Whatever goes wrong closes this
 * connection only, with a sentence saying why.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "remsim/rspro_conn.h"
#include "remsim/rspro_tls.h"

/* reads per wakeup before other connections get their turn */
#define READS_PER_WAKEUP	8

struct rspro_conn {
	struct ev_loop *loop;
	struct rspro_transport *t;
	struct rspro_conn_cfg cfg;
	const struct rspro_conn_ops *ops;
	void *data;
	struct ev_io io;
	struct ev_timer ka_timer;	/* next PING, or the PONG deadline */
	struct ev_timer close_timer;	/* a close decided inside send() */
	struct ev_timer hs_timer;	/* the transport's handshake deadline */
	/* bytes the transport holds past READS_PER_WAKEUP: read them next */
	struct ev_timer more_timer;
	bool hs_done;			/* no handshake, or it ended */
	bool detached;			/* in no loop: rspro_conn_detach() */
	/* the timers that ran when detached, started again by attach */
	bool ka_was, close_was, hs_was, more_was;
	bool awaiting_pong;
	struct ipa_rx rx;
	uint8_t *tx;
	size_t tx_off, tx_len, tx_cap;
	int busy;			/* callbacks of ours on the stack */
	bool dead;
	int close_err;
	char close_why[240];
	char peer[64];
	struct rspro_conn_stats stats;
	struct rspro_pdu pdu;		/* the PDU being delivered */
};

void rspro_conn_cfg_default(struct rspro_conn_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->ka_interval_ms = 30000;
	cfg->ka_timeout_ms = 10000;
	cfg->max_payload = IPA_PAYLOAD_DEFAULT_MAX;
	cfg->tx_max = 1 << 20;
}

static void stop_watchers(struct rspro_conn *c)
{
	ev_io_stop(&c->io);
	ev_timer_stop(&c->ka_timer);
	ev_timer_stop(&c->close_timer);
	ev_timer_stop(&c->hs_timer);
	ev_timer_stop(&c->more_timer);
}

static void conn_free(struct rspro_conn *c)
{
	stop_watchers(c);
	c->t->ops->destroy(c->t);
	ipa_rx_free(&c->rx);
	free(c->tx);
	free(c);
}

/* Ends a callback of ours; frees the connection if it died meanwhile. */
static void put(struct rspro_conn *c)
{
	if (--c->busy == 0 && c->dead)
		conn_free(c);
}

static void fail(struct rspro_conn *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(struct rspro_conn *c, int err, const char *fmt, ...)
{
	char why[200];
	va_list ap;

	if (c->dead)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	c->dead = true;
	stop_watchers(c);
	c->busy++;
	if (c->ops->closed)
		c->ops->closed(c, err, why);
	put(c);
}

void rspro_conn_close(struct rspro_conn *c)
{
	if (!c || c->dead)
		return;
	c->dead = true;
	stop_watchers(c);
	if (!c->busy)
		conn_free(c);
}

static void update_events(struct rspro_conn *c)
{
	uint32_t ev = EPOLLIN;

	/* a handshake polls for what it waits for only, or it would spin */
	if (!c->hs_done) {
		ev_io_set_events(&c->io, c->t->want ? c->t->want : EPOLLIN);
		return;
	}
	if (c->tx_len > c->tx_off)
		ev |= EPOLLOUT;
	ev |= c->t->want;
	ev_io_set_events(&c->io, ev);
}

/*
 * Writes what the transport takes now; the rest waits for EPOLLOUT.
 * Returns 0 or the transport's error (the caller decides how to close).
 */
static int flush(struct rspro_conn *c)
{
	/* what is queued before the handshake ends leaves after it */
	while (c->hs_done && c->tx_off < c->tx_len) {
		ssize_t n = c->t->ops->write(c->t, c->tx + c->tx_off,
					     c->tx_len - c->tx_off);

		if (n == -EAGAIN)
			break;
		if (n < 0)
			return n;
		c->tx_off += n;
	}
	if (c->tx_off == c->tx_len)
		c->tx_off = c->tx_len = 0;
	update_events(c);
	return 0;
}

static void deferred_close(struct ev_timer *t)
{
	struct rspro_conn *c = t->data;

	c->busy++;
	fail(c, c->close_err, "%s", c->close_why);
	put(c);
}

/* Closes from the loop, so that no caller of send() sees its own close. */
static void close_later(struct rspro_conn *c, int err, const char *why)
{
	if (ev_timer_pending(&c->close_timer) || c->close_was)
		return;
	c->close_err = err;
	snprintf(c->close_why, sizeof(c->close_why), "%s", why);
	if (c->detached)
		c->close_was = true;	/* attach starts it in the new loop */
	else
		ev_timer_start(c->loop, &c->close_timer, 0);
}

int rspro_conn_send_raw(struct rspro_conn *c, const void *buf, size_t len)
{
	char why[240];
	int ret;

	if (c->dead || ev_timer_pending(&c->close_timer) || c->close_was)
		return -EPIPE;
	if (c->tx_len - c->tx_off + len > c->cfg.tx_max) {
		snprintf(why, sizeof(why),
			 "peer does not read: more than %zu bytes queued",
			 c->cfg.tx_max);
		close_later(c, -ENOBUFS, why);
		return -ENOBUFS;
	}
	if (c->tx_off && c->tx_len + len > c->tx_cap) {
		memmove(c->tx, c->tx + c->tx_off, c->tx_len - c->tx_off);
		c->tx_len -= c->tx_off;
		c->tx_off = 0;
	}
	if (c->tx_len + len > c->tx_cap) {
		size_t cap = c->tx_cap ? c->tx_cap : 4096;
		uint8_t *tx;

		while (cap < c->tx_len + len)
			cap *= 2;
		tx = realloc(c->tx, cap);
		if (!tx)
			return -ENOMEM;
		c->tx = tx;
		c->tx_cap = cap;
	}
	memcpy(c->tx + c->tx_len, buf, len);
	c->tx_len += len;
	/* the fast path: most PDUs leave without waiting for EPOLLOUT */
	ret = flush(c);
	if (ret) {
		snprintf(why, sizeof(why), "send: %s",
			 c->t->err[0] ? c->t->err : strerror(-ret));
		close_later(c, ret, why);
		return ret;
	}
	return 0;
}

int rspro_conn_send(struct rspro_conn *c, const struct rspro_pdu *pdu,
		    struct rspro_error *err)
{
	uint8_t buf[IPA_RSPRO_HDR_LEN + RSPRO_PDU_MAX];
	int len, ret;

	len = rspro_encode(pdu, buf + IPA_RSPRO_HDR_LEN, RSPRO_PDU_MAX, err);
	if (len < 0)
		return len;
	ipa_rspro_header(buf, len);
	ret = rspro_conn_send_raw(c, buf, IPA_RSPRO_HDR_LEN + len);
	if (!ret)
		c->stats.tx_pdus++;
	return ret;
}

static void send_ccm(struct rspro_conn *c, enum ipa_ccm type)
{
	uint8_t frame[4];

	ipa_ccm_frame(frame, type);
	rspro_conn_send_raw(c, frame, sizeof(frame));
}

int rspro_conn_ping(struct rspro_conn *c)
{
	uint8_t frame[4];
	int ret;

	ipa_ccm_frame(frame, IPA_CCM_PING);
	ret = rspro_conn_send_raw(c, frame, sizeof(frame));
	if (!ret)
		c->stats.pings_sent++;
	return ret;
}

/* A PING, and the PONG deadline. A failed send closes later, never here. */
static void send_ping(struct rspro_conn *c)
{
	send_ccm(c, IPA_CCM_PING);
	c->stats.pings_sent++;
	c->awaiting_pong = true;
	if (!c->dead)
		ev_timer_start(c->loop, &c->ka_timer, c->cfg.ka_timeout_ms);
}

static void ka_timer_cb(struct ev_timer *t)
{
	struct rspro_conn *c = t->data;

	c->busy++;
	if (c->awaiting_pong)
		fail(c, -ETIMEDOUT, "keep-alive: no PONG within %u ms",
		     c->cfg.ka_timeout_ms);
	else
		send_ping(c);
	put(c);
}

/* An all-zero unit answering ID_GET, as osmo-remsim's clients do. */
static void send_id_resp(struct rspro_conn *c)
{
	static const uint8_t unit[] = "0/0/0";
	uint8_t frame[IPA_HDR_LEN + 1 + 3 + sizeof(unit)];
	size_t n = 0;

	frame[n++] = 0;
	frame[n++] = sizeof(frame) - IPA_HDR_LEN;
	frame[n++] = IPA_PROTO_CCM;
	frame[n++] = IPA_CCM_ID_RESP;
	frame[n++] = 0;
	frame[n++] = sizeof(unit) + 1;
	frame[n++] = 0x08;	/* unit id */
	memcpy(frame + n, unit, sizeof(unit));
	rspro_conn_send_raw(c, frame, sizeof(frame));
	send_ccm(c, IPA_CCM_ID_ACK);
}

static void handle_ccm(struct rspro_conn *c, const struct ipa_frame *f)
{
	switch (f->data[0]) {
	case IPA_CCM_PING:
		send_ccm(c, IPA_CCM_PONG);
		return;
	case IPA_CCM_PONG:
		c->stats.pongs_received++;
		if (c->awaiting_pong) {
			c->awaiting_pong = false;
			ev_timer_start(c->loop, &c->ka_timer,
				       c->cfg.ka_interval_ms);
		}
		if (c->ops->pong)
			c->ops->pong(c);
		return;
	case IPA_CCM_ID_GET:
		if (!c->cfg.server) {
			send_id_resp(c);
			return;
		}
		break;
	case IPA_CCM_ID_ACK:
		if (c->cfg.server)
			send_ccm(c, IPA_CCM_ID_ACK);
		return;
	case IPA_CCM_ID_RESP:
		return;
	default:
		if (!c->cfg.server)
			return;	/* osmo-remsim's clients ignore these */
		break;
	}
	fail(c, -EPROTO, "unexpected IPA CCM message 0x%02x", f->data[0]);
}

static void handle_frame(struct rspro_conn *c, const struct ipa_frame *f)
{
	struct rspro_error err;
	int ret;

	if (f->proto == IPA_PROTO_CCM) {
		handle_ccm(c, f);
		return;
	}
	if (f->proto != IPA_PROTO_OSMO) {
		fail(c, -EPROTO, "IPA protocol 0x%02x is neither RSPRO nor CCM",
		     f->proto);
		return;
	}
	if (f->data[0] != IPA_EXT_RSPRO) {
		fail(c, -EPROTO, "IPA extension 0x%02x is not RSPRO", f->data[0]);
		return;
	}
	ret = rspro_decode(f->data + 1, f->len - 1, &c->pdu, &err);
	if (ret == -ENOMSG) {
		c->stats.rx_unknown++;
		return;
	}
	if (ret) {
		fail(c, ret, "bad RSPRO PDU: %s", err.msg);
		return;
	}
	c->stats.rx_pdus++;
	c->ops->pdu(c, &c->pdu);
}

/* Every whole frame in the buffer: 0, or -1 when the connection died. */
static int deliver(struct rspro_conn *c)
{
	struct ipa_frame f;
	int ret;

	while (!c->dead && !c->detached && (ret = ipa_rx_next(&c->rx, &f)) != 0) {
		if (ret == -EMSGSIZE) {
			fail(c, ret, "IPA frame of more than %zu bytes", c->cfg.max_payload);
			return -1;
		}
		if (ret < 0) {
			fail(c, ret, "IPA frame of length 0");
			return -1;
		}
		handle_frame(c, &f);
	}
	return c->dead ? -1 : 0;
}

static void do_read(struct rspro_conn *c)
{
	int i;

	/* frames left when a previous owner detached us come first */
	if (deliver(c))
		return;
	for (i = 0; i < READS_PER_WAKEUP && !c->dead && !c->detached; i++) {
		size_t room;
		uint8_t *p = ipa_rx_space(&c->rx, &room);
		ssize_t n = c->t->ops->read(c->t, p, room);

		if (n == -EAGAIN)
			break;
		if (n == 0) {
			if (ipa_rx_pending(&c->rx))
				fail(c, -EPIPE,
				     "peer closed the connection inside a frame (%zu bytes held)",
				     ipa_rx_pending(&c->rx));
			else
				fail(c, 0, "peer closed the connection");
			return;
		}
		if (n < 0) {
			fail(c, n, "receive: %s",
			     c->t->err[0] ? c->t->err : strerror(-n));
			return;
		}
		ipa_rx_commit(&c->rx, n);
		if (deliver(c))
			return;
		/*
		 * Less than the room: the socket was empty (for TLS, the
		 * record ended). The watch is level-triggered, so what comes
		 * later wakes us again: no recv() that can only say EAGAIN,
		 * one system call fewer per PDU.
		 */
		if ((size_t)n < room)
			break;
	}
	/*
	 * A TLS record larger than the room read holds the rest inside the
	 * transport, where no readiness of the fd announces it.
	 */
	if (!c->dead && !c->detached && c->t->ops->pending && c->t->ops->pending(c->t) &&
	    !ev_timer_pending(&c->more_timer))
		ev_timer_start(c->loop, &c->more_timer, 0);
}

static void more_cb(struct ev_timer *t)
{
	struct rspro_conn *c = t->data;

	c->busy++;
	do_read(c);
	if (!c->dead && !c->detached)
		update_events(c);
	put(c);
}

/*
 * One step of the transport's handshake: 0 when it ended now (what was
 * queued leaves), -EAGAIN while it goes on, or the error.
 */
static int handshake_step(struct rspro_conn *c)
{
	int ret = c->t->ops->handshake(c->t);

	if (ret == -EAGAIN) {
		update_events(c);
		return ret;
	}
	if (ret)
		return ret;
	c->hs_done = true;
	c->t->want = 0;
	ev_timer_stop(&c->hs_timer);
	return flush(c);
}

static void hs_timer_cb(struct ev_timer *t)
{
	struct rspro_conn *c = t->data;

	c->busy++;
	fail(c, -ETIMEDOUT, "TLS handshake not complete within %u ms",
	     c->t->handshake_ms);
	put(c);
}

static void io_cb(struct ev_io *io, uint32_t revents)
{
	struct rspro_conn *c = io->data;

	c->busy++;
	if (!c->hs_done) {
		int ret = handshake_step(c);

		if (ret == -EAGAIN)
			goto out;
		if (ret) {
			fail(c, ret, "TLS handshake: %s",
			     c->t->err[0] ? c->t->err : strerror(-ret));
			goto out;
		}
		/* records may have come with the handshake's last flight */
		revents |= EPOLLIN;
	}
	if (revents & (EPOLLIN | EPOLLERR | EPOLLHUP))
		do_read(c);
	if (!c->dead && !c->detached && (revents & EPOLLOUT)) {
		int ret = flush(c);

		if (ret)
			fail(c, ret, "send: %s", strerror(-ret));
	}
	/* TLS may wait for the other direction than it did */
	if (!c->dead && !c->detached)
		update_events(c);
out:
	put(c);
}

struct rspro_conn *rspro_conn_new(struct ev_loop *loop,
				  struct rspro_transport *t,
				  const struct rspro_conn_cfg *cfg,
				  const struct rspro_conn_ops *ops, void *data)
{
	struct rspro_conn *c = calloc(1, sizeof(*c));
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct rspro_ip_port ipp = { 0 };

	if (!c)
		goto fail_t;
	c->loop = loop;
	c->t = t;
	c->cfg = *cfg;
	c->ops = ops;
	c->data = data;
	ev_timer_init(&c->ka_timer, ka_timer_cb, c);
	ev_timer_init(&c->close_timer, deferred_close, c);
	ev_timer_init(&c->hs_timer, hs_timer_cb, c);
	ev_timer_init(&c->more_timer, more_cb, c);
	c->hs_done = !t->ops->handshake;
	if (ipa_rx_init(&c->rx, cfg->max_payload))
		goto fail_c;
	strcpy(c->peer, "?");
	if (!getpeername(t->fd, (struct sockaddr *)&ss, &sl)) {
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

			ipp.family = AF_INET;
			memcpy(ipp.addr, &sin->sin_addr, 4);
			ipp.port = ntohs(sin->sin_port);
			rspro_ip_port_format(&ipp, c->peer, sizeof(c->peer));
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

			ipp.family = AF_INET6;
			memcpy(ipp.addr, &sin6->sin6_addr, 16);
			ipp.port = ntohs(sin6->sin6_port);
			rspro_ip_port_format(&ipp, c->peer, sizeof(c->peer));
		} else {
			strcpy(c->peer, "local");
		}
	}
	if (ev_io_start(loop, &c->io, t->fd, EPOLLIN, io_cb, c))
		goto fail_rx;
	if (!c->hs_done) {
		int ret;

		ev_timer_start(loop, &c->hs_timer, t->handshake_ms);
		/* the connecting side speaks first; a failure closes from the loop */
		ret = handshake_step(c);
		if (ret && ret != -EAGAIN) {
			char why[240];

			snprintf(why, sizeof(why), "TLS handshake: %s",
				 t->err[0] ? t->err : strerror(-ret));
			close_later(c, ret, why);
		}
	}
	/*
	 * osmo-remsim's keep-alive pings as soon as it starts, before the
	 * link sends its Connect*Req: the PING leaves first, here and now.
	 */
	if (cfg->ka_interval_ms)
		send_ping(c);
	return c;

fail_rx:
	ipa_rx_free(&c->rx);
fail_c:
	free(c);
fail_t:
	t->ops->destroy(t);
	return NULL;
}

/* Stops @t, remembering that it ran; its deadline stays in it. */
static bool timer_park(struct ev_timer *t)
{
	bool was = ev_timer_pending(t);

	ev_timer_stop(t);
	return was;
}

void rspro_conn_detach(struct rspro_conn *c)
{
	if (c->detached || c->dead)
		return;
	c->detached = true;
	ev_io_stop(&c->io);
	c->ka_was = timer_park(&c->ka_timer);
	c->close_was = timer_park(&c->close_timer);
	c->hs_was = timer_park(&c->hs_timer);
	c->more_was = timer_park(&c->more_timer);
	c->loop = NULL;
}

/* @t again in @loop, due when it was (or at once if that passed). */
static void timer_unpark(struct ev_loop *loop, struct ev_timer *t, bool was)
{
	uint64_t now = ev_now_ns(), due = t->deadline_ns;

	if (was)
		ev_timer_start(loop, t, due > now ? (due - now + 999999) / 1000000 : 0);
}

int rspro_conn_attach(struct rspro_conn *c, struct ev_loop *loop,
		      const struct rspro_conn_ops *ops, void *data)
{
	int ret;

	if (!c->detached || c->dead)
		return -EINVAL;
	ret = ev_io_start(loop, &c->io, c->t->fd, EPOLLIN, io_cb, c);
	if (ret)
		return ret;
	c->loop = loop;
	c->ops = ops;
	c->data = data;
	c->detached = false;
	timer_unpark(loop, &c->ka_timer, c->ka_was);
	timer_unpark(loop, &c->close_timer, c->close_was);
	timer_unpark(loop, &c->hs_timer, c->hs_was);
	c->ka_was = c->close_was = c->hs_was = false;
	/*
	 * Frames that came with the one that made the owner detach us wait
	 * in the buffer, where no readiness of the fd announces them.
	 */
	if (c->more_was || ipa_rx_pending(&c->rx) ||
	    (c->t->ops->pending && c->t->ops->pending(c->t)))
		ev_timer_start(loop, &c->more_timer, 0);
	c->more_was = false;
	update_events(c);
	return 0;
}

void *rspro_conn_data(const struct rspro_conn *c)
{
	return c->data;
}

const char *rspro_conn_peer(const struct rspro_conn *c)
{
	return c->peer;
}

const struct rspro_conn_stats *rspro_conn_stats(const struct rspro_conn *c)
{
	return &c->stats;
}

const struct rspro_tls_peer *rspro_conn_tls_peer(const struct rspro_conn *c)
{
	if (!c->hs_done || !c->t->ops->peer)
		return NULL;
	return c->t->ops->peer(c->t);
}
