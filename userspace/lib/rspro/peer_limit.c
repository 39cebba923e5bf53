// SPDX-License-Identifier: GPL-2.0
/*
 * Reconnect storms, per peer address. An osmo-remsim client that is
 * refused (a duplicate identity) or closed reconnects at once, hundreds or
 * thousands of times a second, and each attempt costs a connection, its
 * PDUs and a log line. An address refused RSPRO_PEER_LIMIT_MAX times within
 * RSPRO_PEER_LIMIT_WINDOW_MS has its new connections closed at once, before
 * any work, for the next window; the daemon says so at most once every
 * RSPRO_PEER_LIMIT_LOG_MS per address, with what it dropped meanwhile.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "remsim/evloop.h"
#include "remsim/log.h"
#include "remsim/rspro_conn.h"

#define MS	1000000ull

/* The peer's address (port 0) of connected socket @fd. */
static bool fd_addr(int fd, struct rspro_ip_port *a)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	memset(a, 0, sizeof(*a));
	if (getpeername(fd, (struct sockaddr *)&ss, &sl))
		return false;
	a->family = ss.ss_family;
	if (ss.ss_family == AF_INET)
		memcpy(a->addr, &((struct sockaddr_in *)&ss)->sin_addr, 4);
	else if (ss.ss_family == AF_INET6)
		memcpy(a->addr, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
	else
		return false;
	return true;
}

static bool same_addr(const struct rspro_ip_port *a, const struct rspro_ip_port *b)
{
	return a->family == b->family && !memcmp(a->addr, b->addr, sizeof(a->addr));
}

static struct rspro_peer_limit_entry *find(struct rspro_peer_limit *pl,
					   const struct rspro_ip_port *a)
{
	for (unsigned int i = 0; i < RSPRO_PEER_LIMIT_ADDRS; i++)
		if (pl->e[i].used_ns && same_addr(&pl->e[i].addr, a))
			return &pl->e[i];
	return NULL;
}

/*
 * A slot for @a: a free one or the least recently refused. An entry that
 * throttles now is never taken: with all of them busy, @a goes untracked,
 * said once a window.
 */
static struct rspro_peer_limit_entry *take(struct rspro_peer_limit *pl,
					   const struct rspro_ip_port *a, uint64_t now)
{
	struct rspro_peer_limit_entry *e, *best = NULL;

	for (unsigned int i = 0; i < RSPRO_PEER_LIMIT_ADDRS; i++) {
		e = &pl->e[i];
		if (e->until_ns > now)
			continue;
		if (!best || e->used_ns < best->used_ns)
			best = e;
	}
	if (!best) {
		if (!pl->full_logged_ns || now - pl->full_logged_ns >= RSPRO_PEER_LIMIT_LOG_MS * MS) {
			LOGP(DRSPRO, LOG_ERROR, pl->who,
			     "%d addresses reconnecting in storms: a further one is not limited",
			     RSPRO_PEER_LIMIT_ADDRS);
			pl->full_logged_ns = now;
		}
		return NULL;
	}
	memset(best, 0, sizeof(*best));
	best->addr = *a;
	return best;
}

void rspro_peer_limit_refused(struct rspro_peer_limit *pl, const char *peer)
{
	struct rspro_peer_limit_entry *e;
	struct rspro_ip_port a;
	uint64_t now = ev_now_ns();
	char text[64];

	if (rspro_ip_port_parse(&a, peer))
		return;
	a.port = 0;
	e = find(pl, &a);
	if (!e)
		e = take(pl, &a, now);
	if (!e)
		return;
	e->used_ns = now;
	if (now - e->window_ns >= RSPRO_PEER_LIMIT_WINDOW_MS * MS) {
		e->window_ns = now;
		e->count = 0;
	}
	if (++e->count < RSPRO_PEER_LIMIT_MAX || e->until_ns > now)
		return;
	e->until_ns = now + RSPRO_PEER_LIMIT_WINDOW_MS * MS;
	e->episodes++;
	if (e->logged_ns && now - e->logged_ns < RSPRO_PEER_LIMIT_LOG_MS * MS)
		return;
	if (!inet_ntop(a.family, a.addr, text, sizeof(text)))
		snprintf(text, sizeof(text), "?");
	LOGP(DRSPRO, LOG_NOTICE, pl->who,
	     "%s: %d connections refused within %d ms: its new ones are closed at once for %d ms (%lu times, %lu connections closed so since the last line)",
	     text, RSPRO_PEER_LIMIT_MAX, RSPRO_PEER_LIMIT_WINDOW_MS, RSPRO_PEER_LIMIT_WINDOW_MS,
	     e->episodes, e->dropped);
	e->logged_ns = now;
	e->episodes = 0;
	e->dropped = 0;
}

bool rspro_peer_limit_drop(struct rspro_peer_limit *pl, int fd)
{
	struct rspro_peer_limit_entry *e;
	struct rspro_ip_port a;

	if (!fd_addr(fd, &a))
		return false;
	e = find(pl, &a);
	if (!e || e->until_ns <= ev_now_ns())
		return false;
	e->dropped++;
	pl->dropped++;
	return true;
}
