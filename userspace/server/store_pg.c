// SPDX-License-Identifier: GPL-2.0
/*
 * The server's durable state in PostgreSQL, for several servers on one
 * database (Documentation/server.rst, "High availability"): the tables of
 * store_sqlite.c, a schema_version table and its migrations, prepared
 * statements on one connection. Each change is one statement or one
 * transaction, committed (synchronous_commit as the database has it)
 * before the call returns, so before the caller acknowledges it.
 */
#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_int.h"

/*
 * The event loop waits while a statement runs, as with SQLite: a row lock
 * held by another session fails a change after this (-EBUSY, 503), and
 * no statement takes longer than STORE_PG_STATEMENT_MS. Commands beside a
 * running server may wait longer for its locks.
 */
#define STORE_PG_LOCK_MS	100
#define STORE_PG_COMMAND_LOCK_MS 5000
#define STORE_PG_STATEMENT_MS	2000
/*
 * How long the server waits for any answer: a database that stopped
 * answering (its host frozen, its processes stopped) would otherwise hold
 * the event loop for good, as the kernel still acknowledges what is sent.
 * Past it the session is dropped (and the leadership lock with it).
 */
#define STORE_PG_ANSWER_MS	3000
/* seconds to reach the database, unless the connection string says */
#define STORE_PG_CONNECT_S	"2"
/*
 * A connection attempt that failed slowly (a database host that drops
 * packets: connect_timeout) held the event loop that long; the next one
 * waits this much, and calls meanwhile fail at once with its reason.
 */
#define STORE_PG_SLOW_FAIL_MS	1000
#define STORE_PG_RETRY_MS	5000
/* pg_advisory_xact_lock() key of the migrations: "remsim" in ASCII */
#define STORE_PG_MIGRATE_KEY	"114101109115105109"
/* pg_try_advisory_lock() key of the leadership: the same, plus one */
#define STORE_PG_LEADER_KEY	"114101109115105110"

struct pg_store {
	PGconn *db;
	char *conninfo;
	char name[256];		/* for messages, without a password */
	bool server;
	uint64_t restarts;
	int found_version;
	bool created;
	bool migrated;		/* the tables are there: statements can be prepared */
	/*
	 * This session holds the leadership lock. The maps are changed on
	 * this same session: a server whose session died (and its lock with
	 * it) cannot commit a change after another server took over.
	 */
	bool leader;
	bool ha;		/* store_lead() was called: changes need the lock */
	bool timed_out;		/* the last call had no answer in time */
	struct timespec retry_at;	/* no connection attempt before (0: any time) */
	char last_err[256];		/* why the last attempt failed */
};

/* Version 0 is an empty database; migrations[v] takes v to v + 1. */
static const char schema_v1[] =
	"CREATE TABLE IF NOT EXISTS meta ("
	"  key TEXT PRIMARY KEY, value BIGINT NOT NULL);"
	/* seq: creation order, as SQLite's rowid */
	"CREATE TABLE IF NOT EXISTS slotmaps ("
	"  bank_id INTEGER NOT NULL CHECK (bank_id BETWEEN 0 AND 1023),"
	"  bank_slot INTEGER NOT NULL CHECK (bank_slot BETWEEN 0 AND 1023),"
	"  client_id INTEGER NOT NULL CHECK (client_id BETWEEN 0 AND 1023),"
	"  client_slot INTEGER NOT NULL CHECK (client_slot BETWEEN 0 AND 1023),"
	"  deleting INTEGER NOT NULL DEFAULT 0,"
	"  seq BIGSERIAL NOT NULL,"
	"  PRIMARY KEY (bank_id, bank_slot));"
	"CREATE UNIQUE INDEX IF NOT EXISTS live_client ON slotmaps"
	"  (client_id, client_slot) WHERE deleting = 0;"
	"CREATE TABLE IF NOT EXISTS tokens ("
	"  name TEXT PRIMARY KEY,"
	"  scope TEXT NOT NULL CHECK (scope IN ('read', 'admin')),"
	"  hash BYTEA NOT NULL UNIQUE CHECK (length(hash) = 32),"
	"  created BIGINT NOT NULL,"
	"  last_used BIGINT);"
	"CREATE TABLE IF NOT EXISTS audit ("
	"  id BIGSERIAL PRIMARY KEY,"
	"  time_us BIGINT NOT NULL,"
	"  time TEXT NOT NULL,"
	"  caller TEXT NOT NULL,"
	"  action TEXT NOT NULL,"
	"  before TEXT,"
	"  after TEXT);"
	"CREATE INDEX IF NOT EXISTS audit_time ON audit (time_us);"
	/* the server holding the leadership lock says here where it is */
	"CREATE TABLE IF NOT EXISTS active_server ("
	"  one INTEGER PRIMARY KEY CHECK (one = 1),"
	"  rest TEXT NOT NULL,"
	"  rspro TEXT NOT NULL,"
	"  since_us BIGINT NOT NULL);";

/* Version 2, the racks: as store_sqlite.c's */
static const char schema_v2[] =
	"CREATE TABLE IF NOT EXISTS records ("
	"  kind TEXT NOT NULL,"
	"  key TEXT NOT NULL,"
	"  value TEXT NOT NULL,"
	"  PRIMARY KEY (kind, key));"
	"CREATE TABLE IF NOT EXISTS history ("
	"  id BIGSERIAL PRIMARY KEY,"
	"  time_us BIGINT NOT NULL,"
	"  time TEXT NOT NULL,"
	"  iccid TEXT NOT NULL,"
	"  client TEXT NOT NULL,"
	"  bank TEXT NOT NULL,"
	"  event TEXT NOT NULL,"
	"  who TEXT NOT NULL);"
	"CREATE INDEX IF NOT EXISTS history_iccid ON history (iccid, id);"
	"CREATE INDEX IF NOT EXISTS history_client ON history (client, id);";

static const char *const migrations[STORE_SCHEMA_VERSION] = {
	schema_v1,
	schema_v2,
};

enum pg_stmt {
	Q_LOAD,
	Q_ADD,
	Q_MARK_DELETING,
	Q_REMOVE,
	Q_TOKEN_ADD,
	Q_TOKEN_REVOKE,
	Q_TOKEN_LIST,
	Q_TOKEN_ALL,
	Q_TOKEN_USED,
	Q_AUDIT_INSERT,
	Q_AUDIT_TRIM,
	Q_AUDIT_QUERY,
	Q_RECORD_PUT,
	Q_RECORD_DELETE,
	Q_RECORD_LOAD,
	Q_HISTORY_INSERT,
	Q_HISTORY_TRIM,
	Q_HISTORY_QUERY,
	Q_COUNT
};

#define TOKEN_COLUMNS "SELECT name, scope, encode(hash, 'hex'), created," \
		      " coalesce(last_used, 0) FROM tokens"

/* Prepared on every connection, the first and each one made again. */
static const char *const statements[Q_COUNT] = {
	[Q_LOAD] = "SELECT bank_id, bank_slot, client_id, client_slot, deleting"
		   " FROM slotmaps ORDER BY seq",
	/*
	 * One statement: a deleted map on this bank slot is superseded (its
	 * bankd replaces it), a live one is not (no row: -EEXIST).
	 */
	[Q_ADD] = "INSERT INTO slotmaps (bank_id, bank_slot, client_id, client_slot)"
		  " VALUES ($1, $2, $3, $4) ON CONFLICT (bank_id, bank_slot) DO UPDATE"
		  " SET client_id = $3, client_slot = $4, deleting = 0, seq = DEFAULT"
		  " WHERE slotmaps.deleting = 1",
	[Q_MARK_DELETING] = "UPDATE slotmaps SET deleting = 1 WHERE bank_id = $1"
			    " AND bank_slot = $2",
	/* only a deleted map: a live one may have replaced it meanwhile */
	[Q_REMOVE] = "DELETE FROM slotmaps WHERE bank_id = $1 AND bank_slot = $2"
		     " AND deleting = 1",
	[Q_TOKEN_ADD] = "INSERT INTO tokens (name, scope, hash, created)"
			" VALUES ($1, $2, decode($3, 'hex'), $4)",
	[Q_TOKEN_REVOKE] = "DELETE FROM tokens WHERE name = $1",
	[Q_TOKEN_LIST] = TOKEN_COLUMNS " ORDER BY name COLLATE \"C\"",
	[Q_TOKEN_ALL] = TOKEN_COLUMNS,
	/* once a minute at most: not a synchronous write for every GET */
	[Q_TOKEN_USED] = "UPDATE tokens SET last_used = $2 WHERE name = $1"
			 " AND (last_used IS NULL OR last_used < $2::bigint - 60)",
	[Q_AUDIT_INSERT] = "INSERT INTO audit (time_us, time, caller, action, before, after)"
			   " VALUES ($1, $2, $3, $4, $5, $6)",
	/* the newest $1 stay: ids only grow */
	[Q_AUDIT_TRIM] = "DELETE FROM audit WHERE id <= (SELECT max(id) FROM audit) - $1",
	[Q_AUDIT_QUERY] = "SELECT id, time_us, time, caller, action, before, after"
			  " FROM audit WHERE time_us >= $1 AND id > $2 ORDER BY id LIMIT $3",
	[Q_RECORD_PUT] = "INSERT INTO records (kind, key, value) VALUES ($1, $2, $3)"
			 " ON CONFLICT (kind, key) DO UPDATE SET value = $3",
	[Q_RECORD_DELETE] = "DELETE FROM records WHERE kind = $1 AND key = $2",
	[Q_RECORD_LOAD] = "SELECT key, value FROM records WHERE kind = $1"
			  " ORDER BY key COLLATE \"C\"",
	[Q_HISTORY_INSERT] = "INSERT INTO history (time_us, time, iccid, client, bank, event,"
			     " who) VALUES ($1, $2, $3, $4, $5, $6, $7)",
	[Q_HISTORY_TRIM] = "DELETE FROM history WHERE id <= (SELECT max(id) FROM history)"
			   " - $1",
	[Q_HISTORY_QUERY] = "SELECT id, time_us, time, iccid, client, bank, event, who"
			    " FROM history WHERE ($1::text IS NULL OR iccid = $1)"
			    " AND ($2::text IS NULL OR client = $2) AND time_us >= $3"
			    " ORDER BY id LIMIT $4",
};

static const char *stmt_name(enum pg_stmt q)
{
	static char names[Q_COUNT][8];

	if (!names[q][0])
		snprintf(names[q], sizeof(names[q]), "q%d", (int)q);
	return names[q];
}

/* libpq's messages span lines and end in a newline; a log line does not. */
static void trimmed(char *err, size_t errlen, const char *what, const char *msg,
		    const char *where)
{
	size_t n, i, o;

	snprintf(err, errlen, "%s: %s", what, msg && *msg ? msg : "unknown error");
	for (i = o = 0; err[i]; i++) {
		char c = err[i] == '\n' || err[i] == '\t' ? ' ' : err[i];

		if (c != ' ' || (o && err[o - 1] != ' '))
			err[o++] = c;
	}
	err[o] = 0;
	n = o;
	while (n && err[n - 1] == ' ')
		err[--n] = 0;
	if (n + 1 < errlen)
		snprintf(err + n, errlen - n, " (%s)", where);
}

/*
 * PostgreSQL's reason and SQLSTATE for @r: -EEXIST for a constraint
 * (class 23, as SQLite's CONSTRAINT), -EBUSY for a lock not had within
 * lock_timeout, -EIO for the rest, a lost connection too.
 */
static int fail(struct pg_store *st, PGresult *r, const char *what, char *err,
		size_t errlen)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	/* its first line: the detail and position make a log line of five */
	const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	if (state && !strncmp(state, "23", 2))
		return -EEXIST;
	if (state && (!strcmp(state, "55P03") || !strcmp(state, "40P01") ||
		      !strcmp(state, "40001"))) {
		snprintf(err, errlen,
			 "a row is locked by another session of %s, gave up after %d ms",
			 st->name, st->server ? STORE_PG_LOCK_MS : STORE_PG_COMMAND_LOCK_MS);
		return -EBUSY;
	}
	if (st->timed_out || !st->db) {
		snprintf(err, errlen,
			 "%s: no answer from PostgreSQL within %d ms, its session dropped (%s)",
			 what, STORE_PG_ANSWER_MS, st->name);
		return -EBUSY;
	}
	if (!msg || !*msg)
		msg = PQerrorMessage(st->db);
	/* nothing changed: the same request works once it is back */
	if (PQstatus(st->db) != CONNECTION_OK) {
		trimmed(err, errlen, "PostgreSQL connection lost", msg, st->name);
		return -EBUSY;
	}
	trimmed(err, errlen, what, msg, st->name);
	if (state && strlen(err) + 20 < errlen)
		snprintf(err + strlen(err), errlen - strlen(err), ", SQLSTATE %s", state);
	return -EIO;
}

static long long ms_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t->tv_sec) * 1000LL + (now.tv_nsec - t->tv_nsec) / 1000000;
}

/*
 * No answer in time: the session goes, its lock too. The calls of the next
 * STORE_PG_SLOW_FAIL_MS fail at once, then one reconnects: two writes due
 * together (the audit trail's and the history's flushes) would otherwise
 * hold the event loop for the answer time and then a connect timeout.
 */
static void drop_session(struct pg_store *st)
{
	PQfinish(st->db);
	st->db = NULL;
	st->leader = false;
	st->timed_out = true;
	snprintf(st->last_err, sizeof(st->last_err),
		 "no answer from PostgreSQL within %d ms, its session dropped (%.128s)",
		 STORE_PG_ANSWER_MS, st->name);
	clock_gettime(CLOCK_MONOTONIC, &st->retry_at);
	st->retry_at.tv_sec += STORE_PG_SLOW_FAIL_MS / 1000;
}

/*
 * The answer to what was just sent, within STORE_PG_ANSWER_MS: the first
 * error of a multi-statement query, or else its last result, as PQexec()
 * gives; NULL when the connection failed or the time ran out.
 */
static PGresult *answer(struct pg_store *st)
{
	struct pollfd pfd = { .fd = PQsocket(st->db) };
	PGresult *r, *keep = NULL;
	struct timespec start;
	long long left;
	int flush;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		flush = PQflush(st->db);
		if (flush < 0)
			break;
		if (!flush && !PQisBusy(st->db)) {
			r = PQgetResult(st->db);
			if (!r)
				return keep;
			if (keep && PQresultStatus(keep) == PGRES_FATAL_ERROR) {
				PQclear(r);
			} else {
				PQclear(keep);
				keep = r;
			}
			continue;
		}
		left = STORE_PG_ANSWER_MS - ms_since(&start);
		pfd.events = POLLIN | (flush ? POLLOUT : 0);
		if (left <= 0 || poll(&pfd, 1, left) == 0) {
			PQclear(keep);
			drop_session(st);
			return NULL;
		}
		if ((pfd.revents & (POLLIN | POLLERR | POLLHUP)) && !PQconsumeInput(st->db))
			break;
	}
	PQclear(keep);
	return NULL;
}

/* PQexec() and its kin, bounded in time (see answer()). */
static PGresult *db_exec(struct pg_store *st, const char *sql)
{
	st->timed_out = false;
	if (!st->db || !PQsendQuery(st->db, sql))
		return NULL;
	return answer(st);
}

static PGresult *db_prepared(struct pg_store *st, const char *name, int n,
			     const char *const *params)
{
	st->timed_out = false;
	if (!st->db || !PQsendQueryPrepared(st->db, name, n, params, NULL, NULL, 0))
		return NULL;
	return answer(st);
}

static PGresult *db_params(struct pg_store *st, const char *sql, int n,
			   const char *const *params)
{
	st->timed_out = false;
	if (!st->db || !PQsendQueryParams(st->db, sql, n, NULL, params, NULL, NULL, 0))
		return NULL;
	return answer(st);
}

static PGresult *db_prepare(struct pg_store *st, const char *name, const char *sql)
{
	st->timed_out = false;
	if (!st->db || !PQsendPrepare(st->db, name, sql, 0, NULL))
		return NULL;
	return answer(st);
}

/* Runs @sql (no parameters) expecting no rows. */
static int exec(struct pg_store *st, const char *sql, char *err, size_t errlen)
{
	PGresult *r = db_exec(st, sql);
	int ret = 0;

	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		ret = fail(st, r, "database", err, errlen);
	PQclear(r);
	return ret;
}

static int prepare(struct pg_store *st, char *err, size_t errlen)
{
	PGresult *r;
	int q, ret = 0;

	for (q = 0; q < Q_COUNT && !ret; q++) {
		r = db_prepare(st, stmt_name(q), statements[q]);
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			ret = fail(st, r, "preparing a statement", err, errlen);
		PQclear(r);
	}
	return ret;
}

/*
 * What a session needs: its time limits and, once the schema is there
 * (pg_store_open() migrates first), the prepared statements.
 */
static int session_setup(struct pg_store *st, char *err, size_t errlen)
{
	char sql[160];
	int ret;

	snprintf(sql, sizeof(sql),
		 "SET lock_timeout = %d; SET statement_timeout = %d;"
		 " SET client_min_messages = warning",
		 st->server ? STORE_PG_LOCK_MS : STORE_PG_COMMAND_LOCK_MS,
		 STORE_PG_STATEMENT_MS);
	ret = exec(st, sql, err, errlen);
	if (!ret && st->migrated)
		ret = prepare(st, err, errlen);
	return ret;
}

/*
 * libpq connects to @conninfo with our defaults before it, so what the
 * string says wins: a bounded connect, keepalives that notice a dead
 * peer in seconds, and a name in pg_stat_activity.
 */
static int connect_db(struct pg_store *st, char *err, size_t errlen)
{
	const char *const keys[] = { "connect_timeout", "application_name", "keepalives_idle",
				     "keepalives_interval", "keepalives_count", "dbname",
				     NULL };
	const char *const values[] = { STORE_PG_CONNECT_S, "remsim-server", "5", "2", "3",
				       st->conninfo, NULL };

	PQfinish(st->db);
	/* a session-level lock ends with its session */
	st->leader = false;
	st->db = PQconnectdbParams(keys, values, 1);
	if (!st->db) {
		snprintf(err, errlen, "out of memory connecting to %s", st->name);
		return -ENOMEM;
	}
	if (PQstatus(st->db) != CONNECTION_OK) {
		trimmed(err, errlen, "cannot connect to PostgreSQL", PQerrorMessage(st->db),
			st->name);
		return st->migrated ? -EBUSY : -EIO;
	}
	return session_setup(st, err, errlen);
}

/*
 * Before each call: a connection lost (a PostgreSQL restart, a failover
 * of the database) is made again here, so the call after an outage works.
 */
static int ready(struct pg_store *st, char *err, size_t errlen)
{
	struct timespec start;
	int ret;

	if (st->db && PQstatus(st->db) == CONNECTION_OK &&
	    PQtransactionStatus(st->db) == PQTRANS_IDLE)
		return 0;
	if (st->retry_at.tv_sec && ms_since(&st->retry_at) < 0) {
		snprintf(err, errlen, "%s; next attempt in %lld ms", st->last_err,
			 -ms_since(&st->retry_at));
		return -EBUSY;
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	ret = connect_db(st, err, errlen);
	st->retry_at.tv_sec = 0;
	if (ret && ms_since(&start) >= STORE_PG_SLOW_FAIL_MS) {
		snprintf(st->last_err, sizeof(st->last_err), "%s", err);
		st->retry_at = start;
		st->retry_at.tv_sec += (ms_since(&start) + STORE_PG_RETRY_MS) / 1000;
	}
	return ret;
}

/* Runs prepared statement @q; NULL (and @err) when it could not be sent. */
static PGresult *run(struct pg_store *st, enum pg_stmt q, const char *const *params, int n,
		     char *err, size_t errlen, int *ret)
{
	*ret = ready(st, err, errlen);
	if (*ret)
		return NULL;
	return db_prepared(st, stmt_name(q), n, params);
}

/*
 * A change: 0, -EEXIST, -EBUSY or -EIO; @changed gets the rows changed.
 * A server that does not hold the leadership lock changes no map: it
 * would race the one that does.
 */
static int change(struct pg_store *st, enum pg_stmt q, const char *const *params, int n,
		  int *changed, char *err, size_t errlen)
{
	PGresult *r;
	int ret;

	if (st->ha && (q == Q_ADD || q == Q_MARK_DELETING || q == Q_REMOVE ||
		       q == Q_RECORD_PUT || q == Q_RECORD_DELETE)) {
		ret = ready(st, err, errlen);
		if (ret)
			return ret;
		if (!st->leader) {
			snprintf(err, errlen,
				 "this server is not the active one: it lost the leadership lock of %s",
				 st->name);
			return -EAGAIN;
		}
	}
	r = run(st, q, params, n, err, errlen, &ret);
	if (!r)
		return ret ? ret : fail(st, NULL, "database write", err, errlen);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		ret = fail(st, r, "database write", err, errlen);
	else if (changed)
		*changed = atoi(PQcmdTuples(r));
	PQclear(r);
	return ret;
}

/* A query: its rows in *@out (PQclear() them), or -EIO. */
static int query(struct pg_store *st, enum pg_stmt q, const char *const *params, int n,
		 PGresult **out, const char *what, char *err, size_t errlen)
{
	PGresult *r;
	int ret;

	r = run(st, q, params, n, err, errlen, &ret);
	if (!r)
		return ret ? ret : fail(st, NULL, what, err, errlen);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		ret = fail(st, r, what, err, errlen);
		PQclear(r);
		return ret;
	}
	*out = r;
	return 0;
}

/* The version of the schema in the database, 0 if it has none; or -1. */
static int read_version(struct pg_store *st, char *err, size_t errlen)
{
	PGresult *r = db_exec(st, "SELECT version FROM schema_version");
	int v = -1;

	if (PQresultStatus(r) == PGRES_TUPLES_OK)
		v = PQntuples(r) ? atoi(PQgetvalue(r, 0, 0)) : 0;
	else
		fail(st, r, "schema version", err, errlen);
	PQclear(r);
	return v;
}

static bool has_tables(struct pg_store *st)
{
	PGresult *r = db_exec(st, "SELECT to_regclass('slotmaps') IS NOT NULL");
	bool any = true;

	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r))
		any = PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	return any;
}

/*
 * Every step from the database's version to ours and the new version, in
 * one transaction under an advisory lock: two servers starting at once
 * wait for each other, and the second finds nothing left to do. A newer
 * database is refused before anything is written to it.
 */
static int migrate(struct pg_store *st, char *err, size_t errlen)
{
	char sql[128];
	int v, ret;

	/* a server migrating may take longer than lock_timeout allows a change */
	ret = exec(st, "BEGIN; SET LOCAL lock_timeout = 30000;"
		   "SELECT pg_advisory_xact_lock(" STORE_PG_MIGRATE_KEY ");"
		   "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
		   err, errlen);
	if (ret)
		goto rollback;
	v = read_version(st, err, errlen);
	if (v < 0) {
		ret = -EIO;
		goto rollback;
	}
	st->found_version = v;
	st->created = !has_tables(st);
	if (v > STORE_SCHEMA_VERSION) {
		snprintf(err, errlen,
			 "schema version %d is newer than this remsim-server's (%d): a newer remsim-server wrote it; run that one, or restore a backup made before the upgrade (%s left as it is)",
			 v, STORE_SCHEMA_VERSION, st->name);
		ret = -EPROTO;
		goto rollback;
	}
	for (; v < STORE_SCHEMA_VERSION && !ret; v++)
		ret = exec(st, migrations[v], err, errlen);
	snprintf(sql, sizeof(sql),
		 "DELETE FROM schema_version; INSERT INTO schema_version VALUES (%d)",
		 STORE_SCHEMA_VERSION);
	if (!ret)
		ret = exec(st, sql, err, errlen);
	if (!ret)
		ret = exec(st, "COMMIT", err, errlen);
	if (!ret)
		return 0;
rollback:
	PQclear(db_exec(st, "ROLLBACK"));
	return ret;
}

static int count_restart(struct pg_store *st, char *err, size_t errlen)
{
	PGresult *r = db_exec(st,
			     "INSERT INTO meta (key, value) VALUES ('restart_counter', 1)"
			     " ON CONFLICT (key) DO UPDATE SET value = meta.value + 1"
			     " RETURNING value");
	int ret = 0;

	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r))
		st->restarts = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
	else
		ret = fail(st, r, "restart counter", err, errlen);
	PQclear(r);
	return ret;
}

int pg_store_open(struct pg_store **out, const char *conninfo, bool server, char *err,
		  size_t errlen)
{
	struct pg_store *st = calloc(1, sizeof(*st));
	int ret;

	if (!st)
		return -ENOMEM;
	st->server = server;
	store_display_name(conninfo, st->name, sizeof(st->name));
	st->conninfo = strdup(conninfo);
	ret = st->conninfo ? connect_db(st, err, errlen) : -ENOMEM;
	if (!ret)
		ret = migrate(st, err, errlen);
	st->migrated = !ret;
	if (!ret)
		ret = prepare(st, err, errlen);
	if (ret) {
		pg_store_close(st);
		return ret;
	}
	*out = st;
	return 0;
}

void pg_store_close(struct pg_store *st)
{
	if (!st)
		return;
	PQfinish(st->db);
	free(st->conninfo);
	free(st);
}

int pg_store_schema_version(const struct pg_store *st, int *found, bool *created)
{
	*found = st->found_version;
	*created = st->created;
	return STORE_SCHEMA_VERSION;
}

uint64_t pg_store_restart_counter(const struct pg_store *st)
{
	return st->restarts;
}

int pg_store_load(struct pg_store *st, void (*fn)(const struct stored_map *, void *),
		  void *arg, char *err, size_t errlen)
{
	PGresult *r;
	int i, ret;

	ret = query(st, Q_LOAD, NULL, 0, &r, "reading slot maps", err, errlen);
	if (ret)
		return ret;
	for (i = 0; i < PQntuples(r); i++) {
		struct stored_map m = {
			.bank = { atoi(PQgetvalue(r, i, 0)), atoi(PQgetvalue(r, i, 1)) },
			.client = { atoi(PQgetvalue(r, i, 2)), atoi(PQgetvalue(r, i, 3)) },
			.deleting = atoi(PQgetvalue(r, i, 4)) != 0,
		};

		fn(&m, arg);
	}
	PQclear(r);
	return 0;
}

/* Decimal text of up to four small integers, for a statement's parameters. */
struct ints {
	char text[4][24];
	const char *p[4];
};

static const char *const *ints(struct ints *v, int n, const long long *x)
{
	int i;

	for (i = 0; i < n; i++) {
		snprintf(v->text[i], sizeof(v->text[i]), "%lld", x[i]);
		v->p[i] = v->text[i];
	}
	return v->p;
}

int pg_store_add(struct pg_store *st, const struct stored_map *m, char *err, size_t errlen)
{
	const long long x[4] = { m->bank.bank_id, m->bank.slot_nr, m->client.client_id,
				 m->client.slot_nr };
	struct ints v;
	int n = 0, ret;

	ret = change(st, Q_ADD, ints(&v, 4, x), 4, &n, err, errlen);
	/* the bank slot is in a live map: nothing inserted, nothing updated */
	if (!ret && !n)
		ret = -EEXIST;
	return ret;
}

int pg_store_mark_deleting(struct pg_store *st, struct rspro_bank_slot bank, char *err,
			   size_t errlen)
{
	const long long x[2] = { bank.bank_id, bank.slot_nr };
	struct ints v;

	return change(st, Q_MARK_DELETING, ints(&v, 2, x), 2, NULL, err, errlen);
}

int pg_store_remove(struct pg_store *st, struct rspro_bank_slot bank, char *err,
		    size_t errlen)
{
	const long long x[2] = { bank.bank_id, bank.slot_nr };
	struct ints v;

	return change(st, Q_REMOVE, ints(&v, 2, x), 2, NULL, err, errlen);
}

/* --- REST's bearer tokens --- */

static bool same_hash(const unsigned char *a, const unsigned char *b)
{
	unsigned char diff = 0;
	int i;

	for (i = 0; i < STORE_HASH_LEN; i++)
		diff |= a[i] ^ b[i];
	return !diff;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static void token_row(PGresult *r, int i, struct stored_token *t)
{
	const char *hex = PQgetvalue(r, i, 2);
	int k, hi, lo;

	snprintf(t->name, sizeof(t->name), "%s", PQgetvalue(r, i, 0));
	snprintf(t->scope, sizeof(t->scope), "%s", PQgetvalue(r, i, 1));
	memset(t->hash, 0, sizeof(t->hash));
	if (strlen(hex) == 2 * STORE_HASH_LEN)
		for (k = 0; k < STORE_HASH_LEN; k++) {
			hi = hexval(hex[2 * k]);
			lo = hexval(hex[2 * k + 1]);
			t->hash[k] = hi < 0 || lo < 0 ? 0 : hi << 4 | lo;
		}
	t->created = strtoll(PQgetvalue(r, i, 3), NULL, 10);
	t->last_used = strtoll(PQgetvalue(r, i, 4), NULL, 10);
}

int pg_store_token_add(struct pg_store *st, const struct stored_token *t, char *err,
		       size_t errlen)
{
	char hex[2 * STORE_HASH_LEN + 1], created[24];
	const char *p[4] = { t->name, t->scope, hex, created };
	int i;

	for (i = 0; i < STORE_HASH_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", t->hash[i]);
	snprintf(created, sizeof(created), "%lld", (long long)t->created);
	return change(st, Q_TOKEN_ADD, p, 4, NULL, err, errlen);
}

int pg_store_token_revoke(struct pg_store *st, const char *name, char *err, size_t errlen)
{
	const char *p[1] = { name };
	int n = 0, ret;

	ret = change(st, Q_TOKEN_REVOKE, p, 1, &n, err, errlen);
	if (!ret && !n)
		ret = -ENOENT;
	return ret;
}

int pg_store_token_list(struct pg_store *st, void (*fn)(const struct stored_token *, void *),
			void *arg, char *err, size_t errlen)
{
	struct stored_token t;
	PGresult *r;
	int i, ret;

	ret = query(st, Q_TOKEN_LIST, NULL, 0, &r, "reading tokens", err, errlen);
	if (ret)
		return ret;
	for (i = 0; i < PQntuples(r); i++) {
		token_row(r, i, &t);
		fn(&t, arg);
	}
	PQclear(r);
	return 0;
}

/* Every row compared all the way, as store_sqlite.c does, for the same reason. */
int pg_store_token_find(struct pg_store *st, const unsigned char *hash,
			struct stored_token *out, char *err, size_t errlen)
{
	struct stored_token t;
	bool found = false;
	PGresult *r;
	int i, ret;

	ret = query(st, Q_TOKEN_ALL, NULL, 0, &r, "reading tokens", err, errlen);
	if (ret)
		return ret;
	for (i = 0; i < PQntuples(r); i++) {
		token_row(r, i, &t);
		if (same_hash(t.hash, hash) & !found) {
			*out = t;
			found = true;
		}
	}
	PQclear(r);
	return found ? 0 : -ENOENT;
}

int pg_store_token_used(struct pg_store *st, const char *name, int64_t now, char *err,
			size_t errlen)
{
	char when[24];
	const char *p[2] = { name, when };

	snprintf(when, sizeof(when), "%lld", (long long)now);
	return change(st, Q_TOKEN_USED, p, 2, NULL, err, errlen);
}

/* --- the audit trail --- */

static int audit_insert(struct pg_store *st, const struct stored_audit *a, char *err,
			size_t errlen)
{
	char us[24];
	const char *p[6] = { us, a->time, a->caller, a->action, a->before, a->after };
	PGresult *r;
	int ret = 0;

	snprintf(us, sizeof(us), "%lld", (long long)a->time_us);
	/* inside audit_add()'s transaction: no reconnect between its parts */
	r = db_prepared(st, stmt_name(Q_AUDIT_INSERT), 6, p);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		ret = fail(st, r, "audit write", err, errlen);
	PQclear(r);
	return ret;
}

int pg_store_audit_add(struct pg_store *st, const struct stored_audit *a, unsigned int n,
		       unsigned int keep, char *err, size_t errlen)
{
	char k[24];
	const char *p[1] = { k };
	unsigned int i;
	PGresult *r;
	int ret;

	ret = ready(st, err, errlen);
	if (!ret)
		ret = exec(st, "BEGIN", err, errlen);
	if (ret)
		return ret;
	for (i = 0; i < n && !ret; i++)
		ret = audit_insert(st, &a[i], err, errlen);
	snprintf(k, sizeof(k), "%u", keep);
	if (!ret) {
		r = db_prepared(st, stmt_name(Q_AUDIT_TRIM), 1, p);
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			ret = fail(st, r, "audit trim", err, errlen);
		PQclear(r);
	}
	if (!ret)
		ret = exec(st, "COMMIT", err, errlen);
	if (ret)
		PQclear(db_exec(st, "ROLLBACK"));
	return ret;
}

static const char *value_or_null(PGresult *r, int i, int col)
{
	return PQgetisnull(r, i, col) ? NULL : PQgetvalue(r, i, col);
}

int pg_store_audit_query(struct pg_store *st, int64_t since_us, int64_t after_id,
			 unsigned int limit, void (*fn)(const struct stored_audit *, void *),
			 void *arg, char *err, size_t errlen)
{
	const long long x[3] = { since_us, after_id, limit };
	struct stored_audit a;
	struct ints v;
	PGresult *r;
	int i, ret;

	ret = query(st, Q_AUDIT_QUERY, ints(&v, 3, x), 3, &r, "reading the audit trail", err,
		    errlen);
	if (ret)
		return ret;
	for (i = 0; i < PQntuples(r); i++) {
		a.id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		a.time_us = strtoll(PQgetvalue(r, i, 1), NULL, 10);
		a.time = PQgetvalue(r, i, 2);
		a.caller = PQgetvalue(r, i, 3);
		a.action = PQgetvalue(r, i, 4);
		a.before = value_or_null(r, i, 5);
		a.after = value_or_null(r, i, 6);
		fn(&a, arg);
	}
	PQclear(r);
	return 0;
}

/* --- the racks: tags, pools, leases as records; the history --- */

int pg_store_record_put(struct pg_store *st, const char *kind, const char *key,
			const char *value, char *err, size_t errlen)
{
	const char *p[3] = { kind, key, value };

	return change(st, Q_RECORD_PUT, p, 3, NULL, err, errlen);
}

int pg_store_record_delete(struct pg_store *st, const char *kind, const char *key,
			   char *err, size_t errlen)
{
	const char *p[2] = { kind, key };
	int n = 0, ret;

	ret = change(st, Q_RECORD_DELETE, p, 2, &n, err, errlen);
	if (!ret && !n)
		ret = -ENOENT;
	return ret;
}

int pg_store_record_load(struct pg_store *st, const char *kind,
			 void (*fn)(const char *, const char *, void *), void *arg,
			 char *err, size_t errlen)
{
	const char *p[1] = { kind };
	PGresult *r;
	int i, ret;

	ret = query(st, Q_RECORD_LOAD, p, 1, &r, "reading records", err, errlen);
	if (ret)
		return ret;
	for (i = 0; i < PQntuples(r); i++)
		fn(PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), arg);
	PQclear(r);
	return 0;
}

/* One statement of pg_store_history_add()'s transaction. */
static int history_step(struct pg_store *st, enum pg_stmt q, const char *const *p, int n,
			char *err, size_t errlen)
{
	PGresult *r = db_prepared(st, stmt_name(q), n, p);
	int ret = 0;

	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		ret = fail(st, r, "history write", err, errlen);
	PQclear(r);
	return ret;
}

int pg_store_history_add(struct pg_store *st, const struct stored_history *h, unsigned int n,
			 unsigned int keep, char *err, size_t errlen)
{
	char us[24], k[24];
	const char *t[1] = { k };
	unsigned int i;
	int ret;

	snprintf(k, sizeof(k), "%u", keep);
	ret = ready(st, err, errlen);
	if (!ret)
		ret = exec(st, "BEGIN", err, errlen);
	if (ret)
		return ret;
	for (i = 0; i < n && !ret; i++) {
		const char *p[7] = { us, h[i].time, h[i].iccid, h[i].client, h[i].bank,
				     h[i].event, h[i].who };

		snprintf(us, sizeof(us), "%lld", (long long)h[i].time_us);
		ret = history_step(st, Q_HISTORY_INSERT, p, 7, err, errlen);
	}
	if (!ret)
		ret = history_step(st, Q_HISTORY_TRIM, t, 1, err, errlen);
	if (!ret)
		ret = exec(st, "COMMIT", err, errlen);
	if (ret)
		PQclear(db_exec(st, "ROLLBACK"));
	return ret == -EEXIST ? -EIO : ret;
}

int pg_store_history_query(struct pg_store *st, const char *iccid, const char *client,
			   int64_t since_us, unsigned int limit,
			   void (*fn)(const struct stored_history *, void *), void *arg,
			   char *err, size_t errlen)
{
	char since[24], lim[24];
	const char *p[4] = { iccid, client, since, lim };
	struct stored_history h;
	PGresult *r;
	int i, ret;

	snprintf(since, sizeof(since), "%lld", (long long)since_us);
	snprintf(lim, sizeof(lim), "%u", limit);
	ret = query(st, Q_HISTORY_QUERY, p, 4, &r, "reading the history", err, errlen);
	if (ret)
		return ret;
	for (i = 0; i < PQntuples(r); i++) {
		h.id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		h.time_us = strtoll(PQgetvalue(r, i, 1), NULL, 10);
		h.time = PQgetvalue(r, i, 2);
		h.iccid = PQgetvalue(r, i, 3);
		h.client = PQgetvalue(r, i, 4);
		h.bank = PQgetvalue(r, i, 5);
		h.event = PQgetvalue(r, i, 6);
		h.who = PQgetvalue(r, i, 7);
		fn(&h, arg);
	}
	PQclear(r);
	return 0;
}

/* --- leadership: one active server per database --- */

/* Whether this session still answers. */
static bool alive(struct pg_store *st)
{
	PGresult *r = db_exec(st, "SELECT 1");
	bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;

	PQclear(r);
	return ok;
}

/* Says where the new active server is and counts its start. */
static int took_lead(struct pg_store *st, const char *rest, const char *rspro, char *err,
		     size_t errlen)
{
	const char *p[2] = { rest, rspro };
	PGresult *r;
	int ret;

	r = db_params(st, "INSERT INTO active_server VALUES (1, $1, $2,"
		      " (extract(epoch FROM clock_timestamp()) * 1000000)::bigint)"
		      " ON CONFLICT (one) DO UPDATE SET rest = $1, rspro = $2,"
		      " since_us = excluded.since_us", 2, p);
	ret = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 :
	      fail(st, r, "noting the active server", err, errlen);
	PQclear(r);
	return ret ? ret : count_restart(st, err, errlen);
}

int pg_store_lead(struct pg_store *st, const char *rest, const char *rspro, bool *leader,
		  char *err, size_t errlen)
{
	PGresult *r;
	bool got;
	int ret;

	st->ha = true;
	if (st->leader && alive(st)) {
		*leader = true;
		return 0;
	}
	*leader = false;
	ret = ready(st, err, errlen);
	if (ret)
		return ret;
	r = db_exec(st, "SELECT pg_try_advisory_lock(" STORE_PG_LEADER_KEY ")");
	if (PQresultStatus(r) != PGRES_TUPLES_OK || !PQntuples(r)) {
		ret = fail(st, r, "leadership lock", err, errlen);
		PQclear(r);
		return ret == -EEXIST ? -EIO : ret;
	}
	got = PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	if (!got)
		return 0;
	ret = took_lead(st, rest, rspro, err, errlen);
	if (ret) {
		/* not active without its row: the next call tries again */
		PQclear(db_exec(st, "SELECT pg_advisory_unlock(" STORE_PG_LEADER_KEY ")"));
		return ret == -EEXIST ? -EIO : ret;
	}
	st->leader = true;
	*leader = true;
	return 0;
}

int pg_store_active(struct pg_store *st, char *rest, size_t len, char *err, size_t errlen)
{
	PGresult *r;
	int ret;

	rest[0] = 0;
	ret = ready(st, err, errlen);
	if (ret)
		return ret;
	/* the restart counter too: a standby's GET /restart-counter is the active one's */
	r = db_exec(st, "SELECT rest, (SELECT value FROM meta WHERE key = 'restart_counter')"
		    " FROM active_server");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		ret = fail(st, r, "reading the active server", err, errlen);
	} else if (PQntuples(r)) {
		snprintf(rest, len, "%s", PQgetvalue(r, 0, 0));
		if (!st->leader && !PQgetisnull(r, 0, 1))
			st->restarts = strtoull(PQgetvalue(r, 0, 1), NULL, 10);
	}
	PQclear(r);
	return ret == -EEXIST ? -EIO : ret;
}
