// SPDX-License-Identifier: GPL-2.0
/*
 * The audit trail: every change made over REST and every map the server
 * pushes to a bankd or client, with its time, its caller and what changed.
 * Each line is logged at once (DAUDIT, info) and stored in the database's
 * audit table, which keeps the newest --audit-max lines.
 *
 * Storing is batched: a bankd that registers gets one CreateMappingReq per
 * map, and a script creates maps one POST after another; a synchronous
 * commit for each line would double the fsyncs of every change and stall
 * the event loop for a rack's worth of pushes. Lines wait in memory for
 * up to AUDIT_FLUSH_MS (or until AUDIT_BATCH of them are waiting, or
 * until GET /audit asks), then go in one transaction. While the database refuses them (another process holds its
 * lock), they are tried again every second, up to AUDIT_PENDING_MAX lines;
 * what does not fit is only in the log, and that is said once a minute.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "remsim/log.h"
#include "audit.h"
#include "server.h"

#define AUDIT_FLUSH_MS		100
#define AUDIT_BATCH		1000
#define AUDIT_PENDING_MAX	10000
#define AUDIT_RETRY_MS		1000
#define AUDIT_LOG_NS		(60 * 1000000000ull)

struct audit {
	struct server *srv;
	struct ev_timer flush;
	struct stored_audit *pending;	/* AUDIT_PENDING_MAX of them */
	unsigned int n;
	bool retrying;			/* the last flush failed: on the timer */
	/* lines only in the log: not stored, and when that was last said */
	unsigned long dropped, failed;
	uint64_t said_ns;
};

void audit_time(char *buf, size_t size, int64_t *us)
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	*us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, size - n, ".%06ld+00:00", ts.tv_nsec / 1000);
}

static void entry_free(struct stored_audit *a)
{
	free((char *)a->time);
	free((char *)a->caller);
	free((char *)a->action);
	free((char *)a->before);
	free((char *)a->after);
}

/* Once a minute at most: how many lines are in the log only, and why. */
static void say_lost(struct audit *au, const char *why)
{
	uint64_t now = ev_now_ns();

	if (au->said_ns && now - au->said_ns < AUDIT_LOG_NS)
		return;
	au->said_ns = now;
	LOGP(DAUDIT, LOG_ERROR, "audit",
	     "audit lines not stored in the database (they are in this log): %lu dropped with %u waiting (the most), %lu flushes failed; last reason: %s",
	     au->dropped, AUDIT_PENDING_MAX, au->failed, why);
}

static void flush(struct audit *au)
{
	char err[300];
	unsigned int i;
	int ret;

	if (!au->n)
		return;
	ret = store_audit_add(au->srv->store, au->pending, au->n,
			      au->srv->cfg.audit_max, err, sizeof(err));
	if (ret) {
		au->failed++;
		au->retrying = true;
		say_lost(au, err);
		ev_timer_start(au->srv->loop, &au->flush, AUDIT_RETRY_MS);
		return;
	}
	for (i = 0; i < au->n; i++)
		entry_free(&au->pending[i]);
	au->n = 0;
	au->retrying = false;
	ev_timer_stop(&au->flush);
}

static void flush_timer(struct ev_timer *t)
{
	flush(t->data);
}

int audit_start(struct server *srv, char *err, size_t errlen)
{
	struct audit *au = calloc(1, sizeof(*au));

	if (au)
		au->pending = calloc(AUDIT_PENDING_MAX, sizeof(*au->pending));
	if (!au || !au->pending) {
		free(au);
		snprintf(err, errlen, "audit: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	au->srv = srv;
	ev_timer_init(&au->flush, flush_timer, au);
	srv->audit = au;
	return 0;
}

void audit_stop(struct server *srv)
{
	struct audit *au = srv->audit;
	unsigned int i;

	if (!au)
		return;
	flush(au);
	ev_timer_stop(&au->flush);
	for (i = 0; i < au->n; i++)
		entry_free(&au->pending[i]);
	if (au->n)
		LOGP(DAUDIT, LOG_ERROR, "audit",
		     "%u audit lines not stored at shutdown (they are in this log)", au->n);
	free(au->pending);
	free(au);
	srv->audit = NULL;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void queue(struct audit *au, const char *time, int64_t us, const char *caller,
		  const char *action, const char *before, const char *after)
{
	struct stored_audit *a;

	if (au->n == AUDIT_PENDING_MAX) {
		au->dropped++;
		say_lost(au, "too many lines waiting for the database");
		return;
	}
	a = &au->pending[au->n];
	a->time_us = us;
	a->time = strdup(time);
	a->caller = strdup(caller);
	a->action = strdup(action);
	a->before = dup_or_null(before);
	a->after = dup_or_null(after);
	if (!a->time || !a->caller || !a->action || (before && !a->before) ||
	    (after && !a->after)) {
		entry_free(a);
		au->dropped++;
		say_lost(au, strerror(ENOMEM));
		return;
	}
	au->n++;
	if (au->n >= AUDIT_BATCH && !au->retrying)
		flush(au);
	else if (!ev_timer_pending(&au->flush))
		ev_timer_start(au->srv->loop, &au->flush, AUDIT_FLUSH_MS);
}

void server_audit(struct server *srv, const char *caller, const char *action,
		  const char *before, const char *after)
{
	char time[48];
	int64_t us;

	audit_time(time, sizeof(time), &us);
	LOGP(DAUDIT, LOG_INFO, caller, "%s %s%s%s%s%s", time, action,
	     before ? " before=" : "", before ?: "", after ? " after=" : "", after ?: "");
	if (srv->audit)
		queue(srv->audit, time, us, caller, action, before, after);
}

struct query_ctx {
	void (*fn)(const struct server_audit_line *, void *);
	void *arg;
};

static void query_row(const struct stored_audit *a, void *arg)
{
	struct query_ctx *q = arg;
	struct server_audit_line l = {
		.id = a->id, .time = a->time, .caller = a->caller,
		.action = a->action, .before = a->before, .after = a->after,
	};

	q->fn(&l, q->arg);
}

int server_audit_query(struct server *srv, int64_t since_us, int64_t after_id,
		       unsigned int limit,
		       void (*fn)(const struct server_audit_line *, void *), void *arg,
		       char *err, size_t errlen)
{
	struct query_ctx q = { fn, arg };

	/* what is waiting first: a caller sees its own change */
	if (srv->audit)
		flush(srv->audit);
	return store_audit_query(srv->store, since_us, after_id, limit, query_row, &q,
				 err, errlen);
}
