// SPDX-License-Identifier: GPL-2.0
/*
 * TCP sockets of the daemons: listening (and riding out the descriptor
 * limit), accepting, connecting. RSPRO and REST both use them.
 */
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
#include "remsim/net.h"

/* At most one "connection limit reached" line in this many ns. */
#define LIMIT_LOG_NS	1000000000ull

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

int net_listen(const char *host, uint16_t port, int backlog)
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

int net_local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &sl))
		return -errno;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

int net_accept(int lfd)
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
	struct net_listener *l = t->data;

	if (ev_io_start(l->loop, &l->io, l->fd, EPOLLIN, listener_cb, l))
		ev_timer_start(l->loop, &l->rest, NET_ACCEPT_REST_MS);
}

/*
 * Out of descriptors or memory: accept() would fail again at once, so the
 * socket rests a while; the failure is logged once a second at most.
 */
static void listener_limit(struct net_listener *l, int err)
{
	uint64_t now = ev_now_ns();

	l->limit_hits++;
	l->unlogged++;
	if (!l->logged_ns || now - l->logged_ns >= LIMIT_LOG_NS) {
		LOGP(DRSPRO, LOG_ERROR, NULL,
		     "connection limit reached: accept on port %d: %s; pausing new connections for %u ms (%lu times since the last line)",
		     net_local_port(l->fd), strerror(-err), NET_ACCEPT_REST_MS, l->unlogged);
		l->logged_ns = now;
		l->unlogged = 0;
	}
	ev_io_stop(&l->io);
	ev_timer_start(l->loop, &l->rest, NET_ACCEPT_REST_MS);
}

static void listener_cb(struct ev_io *io, uint32_t revents)
{
	struct net_listener *l = io->data;
	unsigned int i;

	for (i = 0; i < l->batch; i++) {
		int fd = net_accept(l->fd);

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

int net_listener_start(struct net_listener *l, struct ev_loop *loop, int fd,
			 unsigned int batch,
			 void (*accepted)(struct net_listener *l, int fd), void *data)
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

void net_listener_stop(struct net_listener *l)
{
	ev_io_stop(&l->io);
	ev_timer_stop(&l->rest);
}

int net_connect_start(const char *host, uint16_t port)
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

int net_connect_result(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
		return -errno;
	return -err;
}
