// SPDX-License-Identifier: GPL-2.0
/* TCP sockets for RSPRO and the plain-TCP transport. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "remsim/log.h"
#include "remsim/rspro_conn.h"

/* At most one "connection limit reached" line in this many ns. */
#define LIMIT_LOG_NS	1000000000ull

static ssize_t tcp_read(struct rspro_transport *t, void *buf, size_t len)
{
	ssize_t n = recv(t->fd, buf, len, 0);

	if (n >= 0)
		return n;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return -EAGAIN;
	return -errno;
}

static ssize_t tcp_write(struct rspro_transport *t, const void *buf, size_t len)
{
	ssize_t n = send(t->fd, buf, len, MSG_NOSIGNAL);

	if (n >= 0)
		return n;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return -EAGAIN;
	return -errno;
}

static void tcp_destroy(struct rspro_transport *t)
{
	close(t->fd);
	free(t);
}

static const struct rspro_transport_ops tcp_ops = {
	.read = tcp_read,
	.write = tcp_write,
	.destroy = tcp_destroy,
};

struct rspro_transport *rspro_transport_tcp(int fd)
{
	struct rspro_transport *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->ops = &tcp_ops;
	t->fd = fd;
	return t;
}

static void set_nodelay(int fd)
{
	int one = 1;

	/* one APDU per PDU: Nagle would only add latency */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static int resolve(const char *host, uint16_t port, int flags,
		   struct addrinfo **res)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = flags | AI_NUMERICSERV,
	};
	char serv[8];
	int ret;

	snprintf(serv, sizeof(serv), "%u", port);
	ret = getaddrinfo(host, serv, &hints, res);
	if (ret == EAI_SYSTEM)
		return -errno;
	return ret ? -EHOSTUNREACH : 0;
}

int rspro_listen(const char *host, uint16_t port, int backlog)
{
	struct addrinfo *res, *ai;
	int fd = -1, one = 1, ret;

	ret = resolve(host, port, AI_PASSIVE, &res);
	if (ret)
		return ret;
	ret = -EADDRNOTAVAIL;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			ret = -errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (!bind(fd, ai->ai_addr, ai->ai_addrlen) && !listen(fd, backlog))
			break;
		ret = -errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd >= 0 ? fd : ret;
}

int rspro_local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &sl))
		return -errno;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

int rspro_accept(int lfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	set_nodelay(fd);
	return fd;
}

static void listener_cb(struct ev_io *io, uint32_t revents);

static void listener_resume(struct ev_timer *t)
{
	struct rspro_listener *l = t->data;

	if (ev_io_start(l->loop, &l->io, l->fd, EPOLLIN, listener_cb, l))
		ev_timer_start(l->loop, &l->rest, RSPRO_ACCEPT_REST_MS);
}

/*
 * Out of descriptors or memory: accept() would fail again at once, so the
 * socket rests a while; the failure is logged once a second at most.
 */
static void listener_limit(struct rspro_listener *l, int err)
{
	uint64_t now = ev_now_ns();

	l->limit_hits++;
	l->unlogged++;
	if (!l->logged_ns || now - l->logged_ns >= LIMIT_LOG_NS) {
		LOGP(DRSPRO, LOG_ERROR, NULL,
		     "connection limit reached: accept on port %d: %s; pausing new connections for %u ms (%lu times since the last line)",
		     rspro_local_port(l->fd), strerror(-err), RSPRO_ACCEPT_REST_MS, l->unlogged);
		l->logged_ns = now;
		l->unlogged = 0;
	}
	ev_io_stop(&l->io);
	ev_timer_start(l->loop, &l->rest, RSPRO_ACCEPT_REST_MS);
}

static void listener_cb(struct ev_io *io, uint32_t revents)
{
	struct rspro_listener *l = io->data;
	unsigned int i;

	for (i = 0; i < l->batch; i++) {
		int fd = rspro_accept(l->fd);

		switch (fd) {
		case -EAGAIN:
			return;
		case -EINTR:
		case -ECONNABORTED:
		case -EPROTO:
		case -EPERM:
		case -ENETDOWN:
		case -ENOPROTOOPT:
		case -EHOSTDOWN:
		case -ENONET:
		case -EHOSTUNREACH:
		case -EOPNOTSUPP:
		case -ENETUNREACH:
			/* that one connection failed (accept(2)): the next may not */
			continue;
		default:
			if (fd < 0) {
				listener_limit(l, fd);
				return;
			}
			l->accepted(l, fd);
		}
	}
}

int rspro_listener_start(struct rspro_listener *l, struct ev_loop *loop, int fd,
			 unsigned int batch,
			 void (*accepted)(struct rspro_listener *l, int fd), void *data)
{
	memset(l, 0, sizeof(*l));
	l->loop = loop;
	l->fd = fd;
	l->batch = batch ? batch : 1;
	l->accepted = accepted;
	l->data = data;
	ev_timer_init(&l->rest, listener_resume, l);
	return ev_io_start(loop, &l->io, fd, EPOLLIN, listener_cb, l);
}

void rspro_listener_stop(struct rspro_listener *l)
{
	ev_io_stop(&l->io);
	ev_timer_stop(&l->rest);
}

int rspro_connect_start(const char *host, uint16_t port)
{
	struct addrinfo *res;
	int fd, ret;

	ret = resolve(host, port, 0, &res);
	if (ret)
		return ret;
	/* the first address: the back-off retries, not this loop */
	fd = socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	set_nodelay(fd);
	if (connect(fd, res->ai_addr, res->ai_addrlen) && errno != EINPROGRESS) {
		ret = -errno;
		close(fd);
		goto out;
	}
	ret = fd;
out:
	freeaddrinfo(res);
	return ret;
}

int rspro_connect_result(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
		return -errno;
	return -err;
}
