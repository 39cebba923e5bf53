// SPDX-License-Identifier: GPL-2.0
/* Slot maps and the restart counter in SQLite (WAL, synchronous=FULL). */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"

/*
 * The event loop waits while SQLite waits for a lock, and REST and RSPRO
 * wait with it: at run time a write that cannot get the lock within this
 * fails with -EBUSY (503 over REST) instead. Opening may wait longer, as
 * nothing is served yet.
 */
#define STORE_BUSY_MS		100
#define STORE_OPEN_BUSY_MS	5000

struct store {
	sqlite3 *db;
	uint64_t restarts;
	char path[PATH_MAX];
};

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS meta ("
	"  key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS slotmaps ("
	"  bank_id INTEGER NOT NULL CHECK (bank_id BETWEEN 0 AND 1023),"
	"  bank_slot INTEGER NOT NULL CHECK (bank_slot BETWEEN 0 AND 1023),"
	"  client_id INTEGER NOT NULL CHECK (client_id BETWEEN 0 AND 1023),"
	"  client_slot INTEGER NOT NULL CHECK (client_slot BETWEEN 0 AND 1023),"
	"  deleting INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (bank_id, bank_slot));"
	"CREATE UNIQUE INDEX IF NOT EXISTS live_client ON slotmaps"
	"  (client_id, client_slot) WHERE deleting = 0;";

/*
 * SQLite's own reason, its extended code and the system error behind it,
 * and the file: "unable to open database file" alone does not say that
 * the file system is read-only. -EBUSY when another connection holds the
 * lock, -EIO otherwise.
 */
static int fail(struct store *st, char *err, size_t errlen, const char *what)
{
	int code, sys;

	if (!st->db) {
		snprintf(err, errlen, "%s: out of memory (%s)", what, st->path);
		return -EIO;
	}
	code = sqlite3_extended_errcode(st->db);
	sys = sqlite3_system_errno(st->db);
	if ((code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED) {
		snprintf(err, errlen,
			 "database is locked by another process (%s), gave up after %d ms",
			 st->path, STORE_BUSY_MS);
		return -EBUSY;
	}
	snprintf(err, errlen, "%s: %s (SQLite error %d%s%s) in %s", what,
		 sqlite3_errmsg(st->db), code, sys ? ", " : "",
		 sys ? strerror(sys) : "", st->path);
	return -EIO;
}

/*
 * SQLite reports the errno of its last attempt (a read-only retry: "No
 * such file"), not why it could not create the file: say what is wrong
 * with the directory, where the file and its -wal and -shm files go.
 */
static void explain_dir(const char *path, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	size_t len = strlen(err);

	snprintf(dir, sizeof(dir), "%s", path);
	if (access(dirname(dir), W_OK) && len < errlen)
		snprintf(err + len, errlen - len, "; directory %s: %s", dir,
			 strerror(errno));
}

static int exec(struct store *st, const char *sql, char *err, size_t errlen)
{
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return fail(st, err, errlen, sql);
	return 0;
}

static int check_integrity(struct store *st, char *err, size_t errlen)
{
	sqlite3_stmt *q;
	int ret = 0;

	if (sqlite3_prepare_v2(st->db, "PRAGMA quick_check", -1, &q, NULL) != SQLITE_OK)
		return fail(st, err, errlen, "integrity check");
	if (sqlite3_step(q) != SQLITE_ROW) {
		ret = fail(st, err, errlen, "integrity check");
	} else {
		const char *r = (const char *)sqlite3_column_text(q, 0);

		if (!r || strcmp(r, "ok")) {
			snprintf(err, errlen, "the database is damaged: %s", r ? r : "?");
			ret = -EIO;
		}
	}
	sqlite3_finalize(q);
	return ret;
}

static int count_restart(struct store *st, char *err, size_t errlen)
{
	sqlite3_stmt *q;
	int ret;

	ret = exec(st, "BEGIN IMMEDIATE;"
		   "INSERT INTO meta (key, value) VALUES ('restart_counter', 1)"
		   "  ON CONFLICT(key) DO UPDATE SET value = value + 1;", err, errlen);
	if (ret)
		goto rollback;
	if (sqlite3_prepare_v2(st->db,
			       "SELECT value FROM meta WHERE key = 'restart_counter'",
			       -1, &q, NULL) != SQLITE_OK) {
		ret = fail(st, err, errlen, "restart counter");
		goto rollback;
	}
	if (sqlite3_step(q) == SQLITE_ROW)
		st->restarts = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	ret = exec(st, "COMMIT", err, errlen);
	if (!ret)
		return 0;
rollback:
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return ret;
}

int store_open(struct store **out, const char *path, char *err, size_t errlen)
{
	struct store *st = calloc(1, sizeof(*st));
	int ret;

	if (!st)
		return -ENOMEM;
	snprintf(st->path, sizeof(st->path), "%s", path);
	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
			    NULL) != SQLITE_OK) {
		ret = fail(st, err, errlen, "cannot open the database");
		explain_dir(path, err, errlen);
		goto fail;
	}
	sqlite3_extended_result_codes(st->db, 1);
	/* SQLite falls back to read-only silently; every map would then fail */
	if (sqlite3_db_readonly(st->db, "main") == 1) {
		snprintf(err, errlen,
			 "attempt to write a readonly database: the file or its file system is read-only (%s)",
			 path);
		ret = -EROFS;
		goto fail;
	}
	sqlite3_busy_timeout(st->db, STORE_OPEN_BUSY_MS);
	ret = check_integrity(st, err, errlen);
	if (!ret)
		ret = exec(st, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;",
			   err, errlen);
	if (!ret)
		ret = exec(st, schema, err, errlen);
	if (!ret)
		ret = count_restart(st, err, errlen);
	if (ret)
		goto fail;
	sqlite3_busy_timeout(st->db, STORE_BUSY_MS);
	*out = st;
	return 0;
fail:
	sqlite3_close(st->db);
	free(st);
	return ret;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	sqlite3_close(st->db);
	free(st);
}

uint64_t store_restart_counter(const struct store *st)
{
	return st->restarts;
}

int store_load(struct store *st, void (*fn)(const struct stored_map *, void *),
	       void *arg, char *err, size_t errlen)
{
	sqlite3_stmt *q;
	int rc;

	if (sqlite3_prepare_v2(st->db,
			       "SELECT bank_id, bank_slot, client_id, client_slot, deleting"
			       " FROM slotmaps ORDER BY rowid",	/* creation order */
			       -1, &q, NULL) != SQLITE_OK)
		return fail(st, err, errlen, "reading slot maps");
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct stored_map m = {
			.bank = { sqlite3_column_int(q, 0), sqlite3_column_int(q, 1) },
			.client = { sqlite3_column_int(q, 2), sqlite3_column_int(q, 3) },
			.deleting = sqlite3_column_int(q, 4) != 0,
		};

		fn(&m, arg);
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return fail(st, err, errlen, "reading slot maps");
	return 0;
}

/* Runs one statement with up to four integer parameters in a transaction. */
static int change(struct store *st, const char *sql, const int *v, int nv,
		  char *err, size_t errlen)
{
	sqlite3_stmt *q;
	int rc, i, ret = 0;

	if (sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) != SQLITE_OK)
		return fail(st, err, errlen, "database");
	for (i = 0; i < nv; i++)
		sqlite3_bind_int(q, i + 1, v[i]);
	rc = sqlite3_step(q);
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		ret = -EEXIST;
	else if (rc != SQLITE_DONE)
		ret = fail(st, err, errlen, "database write");
	sqlite3_finalize(q);
	return ret;
}

int store_add(struct store *st, const struct stored_map *m, char *err,
	      size_t errlen)
{
	const int del[2] = { m->bank.bank_id, m->bank.slot_nr };
	const int ins[4] = { m->bank.bank_id, m->bank.slot_nr,
			     m->client.client_id, m->client.slot_nr };
	int ret;

	if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return fail(st, err, errlen, "database");
	/* a deleted map on this bank slot is superseded: bankd replaces it */
	ret = change(st, "DELETE FROM slotmaps WHERE bank_id = ?1 AND bank_slot = ?2"
		     " AND deleting = 1", del, 2, err, errlen);
	if (!ret)
		ret = change(st, "INSERT INTO slotmaps (bank_id, bank_slot, client_id,"
			     " client_slot) VALUES (?1, ?2, ?3, ?4)", ins, 4, err, errlen);
	if (!ret && sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		ret = fail(st, err, errlen, "database commit");
	if (ret)
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return ret;
}

int store_mark_deleting(struct store *st, struct rspro_bank_slot bank,
			char *err, size_t errlen)
{
	const int v[2] = { bank.bank_id, bank.slot_nr };

	return change(st, "UPDATE slotmaps SET deleting = 1 WHERE bank_id = ?1"
		      " AND bank_slot = ?2", v, 2, err, errlen);
}

int store_remove(struct store *st, struct rspro_bank_slot bank, char *err,
		 size_t errlen)
{
	const int v[2] = { bank.bank_id, bank.slot_nr };

	/* only a deleted map: a live one may have replaced it meanwhile */
	return change(st, "DELETE FROM slotmaps WHERE bank_id = ?1 AND bank_slot = ?2"
		      " AND deleting = 1", v, 2, err, errlen);
}
