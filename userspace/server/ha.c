// SPDX-License-Identifier: GPL-2.0
/*
 * Several servers on one PostgreSQL database, one of them active: the one
 * whose database session holds the leadership lock (store_lead()). The
 * active server listens for RSPRO and changes maps; a standby does not
 * listen for RSPRO (peers move on to the next address at once), answers
 * REST reads from the database and refuses changes, naming the active
 * server. Every HA_POLL_MS each one polls the lock: a standby takes it
 * when the active server's session ends (its process died, its host or
 * network went), loads the maps and serves them as after a restart. On
 * SQLite the one server is always active and nothing polls.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "remsim/log.h"
#include "server.h"

#define HA_POLL_MS	500
/*
 * How long an active server whose database session is gone keeps its
 * peers while it tries to take the lock again: a PostgreSQL restart is
 * over within it; a server cut off from the database for longer goes
 * standby, so peers move to the one that can reach it.
 */
#define HA_GRACE_MS	5000

static uint64_t now_ms(void)
{
	return ev_now_ns() / 1000000;
}

/* Where the others and REST callers reach this server, for the database. */
static void addresses(struct server *srv, char *rest, size_t rlen, char *rspro, size_t plen)
{
	char host[256] = "localhost";
	const char *h = srv->cfg.advertise;

	if (!h[0]) {
		gethostname(host, sizeof(host) - 1);
		h = host;
	}
	snprintf(rest, rlen, "%s://%s:%u", srv->cfg.rest.tls ? "https" : "http", h,
		 srv->cfg.rest.port);
	snprintf(rspro, plen, "%s:%u", h, srv->cfg.rspro_port);
}

static void maps_free(struct server *srv)
{
	struct slotmap *m;

	while ((m = srv->maps)) {
		srv->maps = m->next;
		free(m);
	}
}

/* The maps of the database in place of those in memory. */
static int maps_reload(struct server *srv, char *err, size_t errlen)
{
	int ret;

	maps_free(srv);
	ret = store_load(srv->store, server_load_map, srv, err, errlen);
	/* the leases of those maps, to keep expiring them */
	return ret ? ret : racks_reload(srv, err, errlen);
}

static unsigned int maps_count(struct server *srv)
{
	struct slotmap *m;
	unsigned int n = 0;

	for (m = srv->maps; m; m = m->next)
		n++;
	return n;
}

/*
 * Took the lock, the maps just read from the database: RSPRO listens,
 * and the maps go to the bankds as after a restart.
 */
static int become_active(struct server *srv, char *err, size_t errlen)
{
	char why[256];
	int ret;

	ret = server_rspro_listen(srv, err, errlen);
	if (ret)
		return ret;
	srv->active = true;
	srv->lost_ms = 0;
	addresses(srv, srv->active_rest, sizeof(srv->active_rest), why, sizeof(why));
	srv->lead_restarts = store_restart_counter(srv->store);
	if (srv->ha_polling)
		LOGP(DMAIN, LOG_NOTICE, NULL,
		     "active now (took the leadership lock of %s): %u slot maps, start number %llu",
		     srv->db_name, maps_count(srv), (unsigned long long)srv->lead_restarts);
	return 0;
}

/*
 * Holding the lock in a poll: active now. Maps that cannot be read now
 * (the session failed right after the lock was taken) leave it standby
 * until a poll that can, said once. A server that cannot listen for
 * RSPRO exits, which ends its session and lock: another one takes over.
 */
static void take_over(struct server *srv)
{
	char err[512], why[256];

	if (maps_reload(srv, why, sizeof(why))) {
		if (!srv->takeover_failed)
			LOGP(DMAIN, LOG_ERROR, NULL,
			     "took the leadership lock, but cannot read the maps of %s: %s; trying again every %u ms",
			     srv->db_name, why, HA_POLL_MS);
		srv->takeover_failed = true;
		return;
	}
	srv->takeover_failed = false;
	if (become_active(srv, err, sizeof(err))) {
		LOGP(DMAIN, LOG_FATAL, NULL, "%s: exiting, so that another server takes over",
		     err);
		exit(1);
	}
}

/* Lost the lock: no RSPRO, no peers; the maps are the database's from now on. */
static void become_standby(struct server *srv, const char *why)
{
	LOGP(DMAIN, LOG_NOTICE, NULL,
	     "standby now: %s; RSPRO closed, its peers go to the active server", why);
	srv->active = false;
	srv->lost_ms = 0;
	server_rspro_unlisten(srv);
	maps_free(srv);
}

/* A standby's view: the maps and the active server, for REST reads. */
static void standby_refresh(struct server *srv)
{
	char why[256];

	if (maps_reload(srv, why, sizeof(why)) ||
	    store_active(srv->store, srv->active_rest, sizeof(srv->active_rest), why,
			 sizeof(why)))
		LOGP(DMAIN, LOG_DEBUG, NULL, "standby: %s", why);
}

/*
 * The lock again after a lost session (a poll may find the session gone
 * and take the lock again at once): the same maps, unless another server
 * was active meanwhile.
 */
static void reacquired(struct server *srv)
{
	LOGP(DMAIN, LOG_NOTICE, NULL, "leadership lock of %s taken again after its session ended",
	     srv->db_name);
	srv->lost_ms = 0;
	/* each taking counts once: more means another server was active meanwhile */
	if (store_restart_counter(srv->store) == srv->lead_restarts + 1) {
		srv->lead_restarts++;
		return;
	}
	become_standby(srv, "another server was active meanwhile");
	take_over(srv);
}

/* The active server without its lock: wait for it, or give way. */
static void active_lost(struct server *srv, int ret, const char *why)
{
	if (!ret) {
		become_standby(srv, "another server holds the leadership lock");
		return;
	}
	if (!srv->lost_ms) {
		srv->lost_ms = now_ms();
		LOGP(DMAIN, LOG_ERROR, NULL,
		     "database session lost (%s): peers kept, map changes refused for up to %u ms",
		     why, HA_GRACE_MS);
		return;
	}
	if (now_ms() - srv->lost_ms >= HA_GRACE_MS)
		become_standby(srv, "the database is unreachable");
}

static void ha_poll(struct server *srv)
{
	char rest[300], rspro[300], why[256];
	bool leader;
	int ret;

	addresses(srv, rest, sizeof(rest), rspro, sizeof(rspro));
	ret = store_lead(srv->store, rest, rspro, &leader, why, sizeof(why));
	if (ret && !srv->db_down) {
		srv->db_down = true;
		if (!srv->active)
			LOGP(DMAIN, LOG_ERROR, NULL, "standby: database unreachable: %s", why);
	} else if (!ret && srv->db_down) {
		srv->db_down = false;
		LOGP(DMAIN, LOG_NOTICE, NULL, "database %s reachable again", srv->db_name);
	}
	if (leader && !srv->active)
		take_over(srv);
	else if (leader && store_restart_counter(srv->store) != srv->lead_restarts)
		reacquired(srv);
	else if (!leader && srv->active)
		active_lost(srv, ret, why);
	else if (!leader && !ret)
		standby_refresh(srv);
}

static void ha_timer(struct ev_timer *t)
{
	struct server *srv = t->data;

	ha_poll(srv);
	ev_timer_start(srv->loop, &srv->ha_timer, HA_POLL_MS);
}

int server_ha_start(struct server *srv, char *err, size_t errlen)
{
	char rest[300], rspro[300], why[256];
	bool leader;
	int ret;

	addresses(srv, rest, sizeof(rest), rspro, sizeof(rspro));
	ret = store_lead(srv->store, rest, rspro, &leader, why, sizeof(why));
	if (ret) {
		snprintf(err, errlen, "database %s: %s", srv->db_name, why);
		return ret;
	}
	if (leader) {
		ret = maps_reload(srv, why, sizeof(why));
		if (ret) {
			snprintf(err, errlen, "database %s: %s", srv->db_name, why);
			return ret;
		}
		ret = become_active(srv, err, errlen);
		if (ret)
			return ret;
	} else {
		standby_refresh(srv);
		LOGP(DMAIN, LOG_NOTICE, NULL,
		     "standby: another server is active on %s (%s); this one takes over when it goes",
		     srv->db_name, srv->active_rest[0] ? srv->active_rest : "address unknown");
	}
	LOGP(DMAIN, LOG_INFO, NULL, "database %s: %u slot maps, start number %llu%s",
	     srv->db_name, maps_count(srv),
	     (unsigned long long)store_restart_counter(srv->store),
	     leader ? "" : " (the active server's)");
	if (!store_postgres(srv->store))
		return 0;
	srv->ha_polling = true;
	ev_timer_init(&srv->ha_timer, ha_timer, srv);
	ret = ev_timer_start(srv->loop, &srv->ha_timer, HA_POLL_MS);
	if (ret)
		snprintf(err, errlen, "event loop: %s", strerror(-ret));
	return ret;
}

void server_ha_stop(struct server *srv)
{
	if (srv->ha_polling)
		ev_timer_stop(&srv->ha_timer);
	srv->ha_polling = false;
}

bool server_standby(struct server *srv, char *active, size_t len)
{
	if (srv->active)
		return false;
	snprintf(active, len, "%s", srv->active_rest);
	return true;
}
