/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TCP sockets of the daemons (net.c): a listener in the event loop that
 * rides out the descriptor limit, accept and non-blocking connect. Not
 * RSPRO's own: the REST side and vpcd use them too.
 */
#ifndef REMSIM_NET_H
#define REMSIM_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "remsim/evloop.h"

/* Listening TCP socket (non-blocking, SO_REUSEADDR); host NULL = any. */
int net_listen(const char *host, uint16_t port, int backlog);
/* The port a socket is bound to (for port 0 in tests). */
int net_local_port(int fd);
/* Accepts one connection, non-blocking with TCP_NODELAY; -EAGAIN if none. */
int net_accept(int lfd);

/*
 * A listening socket in the loop that rides out the descriptor limit. When
 * accept() fails for want of descriptors or memory (EMFILE, ENFILE,
 * ENOBUFS, ENOMEM), the connection stays queued and the socket readable:
 * a level-triggered loop would call accept() again at once, for ever. The
 * listener instead stops watching the socket for NET_ACCEPT_REST_MS, logs
 * "connection limit reached" at most once a second, and the connections
 * already open carry on meanwhile.
 */
#define NET_ACCEPT_REST_MS	250

struct net_listener {
	struct ev_loop *loop;
	int fd;				/* the caller's: not closed here */
	unsigned int batch;		/* accepts per wakeup, for fairness */
	void (*accepted)(struct net_listener *l, int fd);
	void *data;
	struct ev_io io;
	struct ev_timer rest;		/* the pause after hitting the limit */
	uint64_t logged_ns;		/* when the limit was last logged */
	unsigned long unlogged;		/* limit hits since that line */
	unsigned long limit_hits;	/* all of them */
};

/* Watches @fd (from net_listen()); @accepted owns each new fd. */
int net_listener_start(struct net_listener *l, struct ev_loop *loop, int fd,
			 unsigned int batch,
			 void (*accepted)(struct net_listener *l, int fd), void *data);
/* Stops watching (and resting); safe on a zeroed, never started one. */
void net_listener_stop(struct net_listener *l);
/*
 * Starts a non-blocking connect to host:port (numeric or a name); returns
 * the fd, to be watched for EPOLLOUT, or -errno. net_connect_result()
 * then says 0 (connected) or -errno.
 */
int net_connect_start(const char *host, uint16_t port);
int net_connect_result(int fd);

#endif
