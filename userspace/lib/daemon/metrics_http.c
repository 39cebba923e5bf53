// SPDX-License-Identifier: GPL-2.0
/*
 * The metrics endpoint: a minimal HTTP/1.1 responder in the daemon's event
 * loop. It reads one request head, answers GET /metrics with the program's
 * series (404 for any other path, 405 for any other method) and closes.
 *
 * Why not libmicrohttpd, which remsim-server's REST uses: bankd and the
 * client do not link it (the client runs sandboxed on modem hosts), one
 * GET needs none of its parsing, and in our own loop the series are read
 * on the thread that writes them, so counters need neither locks nor
 * atomics. Every limit is ours and explicit: METRICS_CONN_MAX connections,
 * METRICS_REQUEST_MAX bytes of request head, METRICS_CONN_MS for the whole
 * exchange (a slowloris is cut however it trickles), METRICS_BODY_MAX of
 * answer. A connection over the limit is accepted and closed at once, so
 * the listen backlog cannot fill; each refusal is counted and logged at
 * most once a minute.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "remsim/log.h"
#include "remsim/metrics.h"
#include "remsim/net.h"

/* One line a minute at most about refused connections. */
#define REFUSED_LOG_NS	(60 * 1000000000ull)

enum refusal { REF_CONNS, REF_TOO_LARGE, REF_TIMEOUT, REF_BAD, REF_COUNT };

static const char *const refusal_names[REF_COUNT] = {
	[REF_CONNS] = "connections", [REF_TOO_LARGE] = "too_large",
	[REF_TIMEOUT] = "timeout", [REF_BAD] = "bad_request",
};

struct mconn {
	struct mconn *next;
	struct metrics_server *m;
	int fd;
	struct ev_io io;
	struct ev_timer deadline;
	size_t in;			/* bytes of the request head so far */
	char *out;			/* the answer, headers and body */
	size_t out_len, out_off;
	char req[METRICS_REQUEST_MAX + 1];
};

struct metrics_server {
	struct ev_loop *loop;
	int fd;
	struct net_listener listener;
	metrics_collect_fn *collect;
	void *data;
	struct mconn *conns;
	unsigned int nconns;
	uint64_t scrapes;
	uint64_t refused[REF_COUNT];
	uint64_t refused_logged_ns;
	unsigned long refused_unlogged;
};

static void conn_free(struct mconn *c)
{
	struct metrics_server *m = c->m;
	struct mconn **pp;

	for (pp = &m->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	m->nconns--;
	ev_io_stop(&c->io);
	ev_timer_stop(&c->deadline);
	close(c->fd);
	free(c->out);
	free(c);
}

static void note_refused(struct metrics_server *m, enum refusal why)
{
	uint64_t now = ev_now_ns();

	m->refused[why]++;
	if (why != REF_CONNS)
		return;
	m->refused_unlogged++;
	if (m->refused_logged_ns && now - m->refused_logged_ns < REFUSED_LOG_NS)
		return;
	LOGP(DMAIN, LOG_ERROR, NULL,
	     "metrics: connection limit (%d) reached: %lu connections refused since the last line",
	     METRICS_CONN_MAX, m->refused_unlogged);
	m->refused_logged_ns = now;
	m->refused_unlogged = 0;
}

/* Sends what is left of the answer; closes when it is all out. */
static void conn_write(struct mconn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);

		if (n < 0 && errno == EAGAIN) {
			ev_io_set_events(&c->io, EPOLLOUT);
			return;
		}
		if (n <= 0)
			break;
		c->out_off += n;
	}
	shutdown(c->fd, SHUT_WR);
	conn_free(c);
}

static void answer(struct mconn *c, int status, const char *reason, const char *body,
		   size_t body_len, const char *extra)
{
	char head[256];
	int n;

	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
		     "Connection: close\r\n\r\n", status, reason,
		     status == 200 ? "text/plain; version=0.0.4; charset=utf-8" :
		     "text/plain; charset=utf-8", body_len, extra ? extra : "");
	c->out = malloc(n + body_len);
	if (!c->out) {
		conn_free(c);
		return;
	}
	memcpy(c->out, head, n);
	memcpy(c->out + n, body, body_len);
	c->out_len = n + body_len;
	c->out_off = 0;
	conn_write(c);
}

static void answer_text(struct mconn *c, int status, const char *reason, const char *extra)
{
	char body[64];
	int n = snprintf(body, sizeof(body), "%d %s\n", status, reason);

	answer(c, status, reason, body, n, extra);
}

/* The program's series and our own, as one page. */
static void scrape(struct mconn *c)
{
	struct metrics_server *m = c->m;
	struct metrics_out o = { 0 };
	char labels[64];
	int i;

	m->scrapes++;
	metrics_family(&o, "remsim_metrics_scrapes_total", "counter",
		       "GET /metrics answered, this one included");
	metrics_sample(&o, "remsim_metrics_scrapes_total", "", m->scrapes);
	metrics_family(&o, "remsim_metrics_refused_total", "counter",
		       "metrics connections refused or cut, by reason");
	for (i = 0; i < REF_COUNT; i++) {
		metrics_labels(labels, sizeof(labels), "reason", refusal_names[i], NULL);
		metrics_sample(&o, "remsim_metrics_refused_total", labels, m->refused[i]);
	}
	m->collect(&o, m->data);
	if (o.failed) {
		LOGP(DMAIN, LOG_ERROR, NULL,
		     "metrics: the page is over %u bytes or memory ran out: 500",
		     METRICS_BODY_MAX);
		answer_text(c, 500, "Internal Server Error", NULL);
	} else {
		answer(c, 200, "OK", o.buf, o.len, NULL);
	}
	free(o.buf);
}

/* The request head is in: only its request line matters. */
static void request(struct mconn *c)
{
	char *sp1 = strchr(c->req, ' '), *sp2, *eol = strpbrk(c->req, "\r\n");
	size_t plen;

	if (!sp1 || sp1 > eol || !(sp2 = memchr(sp1 + 1, ' ', eol - sp1 - 1)) ||
	    strncmp(sp2 + 1, "HTTP/1.", 7)) {
		note_refused(c->m, REF_BAD);
		answer_text(c, 400, "Bad Request", NULL);
		return;
	}
	plen = sp2 - sp1 - 1;
	if (plen < 8 || memcmp(sp1 + 1, "/metrics", 8) ||
	    (plen > 8 && sp1[9] != '?')) {
		answer_text(c, 404, "Not Found", NULL);
		return;
	}
	if (sp1 - c->req != 3 || memcmp(c->req, "GET", 3)) {
		answer_text(c, 405, "Method Not Allowed", "Allow: GET\r\n");
		return;
	}
	scrape(c);
}

static void conn_read(struct mconn *c)
{
	ssize_t n;

	for (;;) {
		/* the end of the head may straddle reads: look from 3 bytes back */
		size_t from = c->in > 3 ? c->in - 3 : 0;

		n = read(c->fd, c->req + c->in, METRICS_REQUEST_MAX - c->in);
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			conn_free(c);
			return;
		}
		if (memchr(c->req + c->in, '\0', n)) {
			note_refused(c->m, REF_BAD);
			answer_text(c, 400, "Bad Request", NULL);
			return;
		}
		c->in += n;
		c->req[c->in] = '\0';
		if (strstr(c->req + from, "\r\n\r\n") || strstr(c->req + from, "\n\n")) {
			request(c);
			return;
		}
		if (c->in == METRICS_REQUEST_MAX) {
			note_refused(c->m, REF_TOO_LARGE);
			answer_text(c, 431, "Request Header Fields Too Large", NULL);
			return;
		}
	}
}

static void conn_cb(struct ev_io *io, uint32_t revents)
{
	struct mconn *c = io->data;

	if (c->out)
		conn_write(c);
	else
		conn_read(c);
}

static void conn_deadline(struct ev_timer *t)
{
	struct mconn *c = t->data;

	note_refused(c->m, REF_TIMEOUT);
	LOGP(DMAIN, LOG_DEBUG, NULL, "metrics: a connection took over %d ms: cut",
	     METRICS_CONN_MS);
	conn_free(c);
}

static void accepted(struct net_listener *l, int fd)
{
	struct metrics_server *m = l->data;
	struct mconn *c;

	if (m->nconns >= METRICS_CONN_MAX) {
		note_refused(m, REF_CONNS);
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->m = m;
	c->fd = fd;
	ev_timer_init(&c->deadline, conn_deadline, c);
	if (ev_io_start(m->loop, &c->io, fd, EPOLLIN, conn_cb, c) ||
	    ev_timer_start(m->loop, &c->deadline, METRICS_CONN_MS)) {
		ev_io_stop(&c->io);
		close(fd);
		free(c);
		return;
	}
	c->next = m->conns;
	m->conns = c;
	m->nconns++;
}

struct metrics_server *metrics_start(struct ev_loop *loop, const struct metrics_cfg *cfg,
				     metrics_collect_fn *collect, void *data,
				     char *err, size_t errlen)
{
	struct metrics_server *m = calloc(1, sizeof(*m));
	char addr[80];
	int ret;

	metrics_format(cfg, addr, sizeof(addr));
	if (!m) {
		snprintf(err, errlen, "metrics on %s: out of memory", addr);
		return NULL;
	}
	m->loop = loop;
	m->collect = collect;
	m->data = data;
	m->fd = net_listen(cfg->host, cfg->port, 64);
	if (m->fd < 0) {
		snprintf(err, errlen, "metrics on %s: %s", addr, strerror(-m->fd));
		free(m);
		return NULL;
	}
	ret = net_listener_start(&m->listener, loop, m->fd, METRICS_CONN_MAX, accepted, m);
	if (ret) {
		snprintf(err, errlen, "metrics on %s: %s", addr, strerror(-ret));
		close(m->fd);
		free(m);
		return NULL;
	}
	LOGP(DMAIN, LOG_INFO, NULL, "metrics on %s port %d: GET /metrics", cfg->host,
	     net_local_port(m->fd));
	return m;
}

void metrics_stop(struct metrics_server *m)
{
	if (!m)
		return;
	while (m->conns)
		conn_free(m->conns);
	net_listener_stop(&m->listener);
	close(m->fd);
	free(m);
}

int metrics_port(const struct metrics_server *m)
{
	return net_local_port(m->fd);
}
