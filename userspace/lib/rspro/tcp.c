// SPDX-License-Identifier: GPL-2.0
/*
 * The plain-TCP transport of an RSPRO connection: recv/send on a connected,
 * non-blocking socket (from net_accept() or net_connect_start()).
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "remsim/rspro_conn.h"

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
