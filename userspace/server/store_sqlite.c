// SPDX-License-Identifier: GPL-2.0
/*
 * Slot maps, the restart counter, REST's bearer tokens (their SHA-256 only)
 * and the audit trail in SQLite (WAL, synchronous=FULL); the schema's
 * version and its migrations; the lock that keeps a second server off the
 * same database.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdbool.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_int.h"

/*
 * The event loop waits while SQLite waits for a lock, and REST and RSPRO
 * wait with it: at run time a write that cannot get the lock within this
 * fails with -EBUSY (503 over REST) instead. Opening may wait longer, as
 * nothing is served yet.
 */
#define STORE_BUSY_MS		100
#define STORE_OPEN_BUSY_MS	5000

struct sqlite_store {
	sqlite3 *db;
	uint64_t restarts;
	int found_version;	/* the schema's version before the migrations */
	bool created;		/* no table was there: a new database */
	bool made_dir;		/* its directory was created */
	int lock_fd;		/* the server's PATH-lock, -1: none */
	char path[PATH_MAX];
};

/*
 * Version 0 is every file from before versions: new, from before REST
 * auth (meta and slotmaps only) or with tokens and audit. Its migration
 * is the whole schema, each statement IF NOT EXISTS, which brings all
 * three to version 1. A later change adds its own step below and bumps
 * STORE_SCHEMA_VERSION; a file from before it runs every step from its
 * version on, in one transaction.
 */
static const char schema_v1[] =
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
	"  (client_id, client_slot) WHERE deleting = 0;"
	/* added with REST auth: IF NOT EXISTS brings older files up to date */
	"CREATE TABLE IF NOT EXISTS tokens ("
	"  name TEXT PRIMARY KEY,"
	"  scope TEXT NOT NULL CHECK (scope IN ('read', 'admin')),"
	"  hash BLOB NOT NULL UNIQUE CHECK (length(hash) = 32),"
	"  created INTEGER NOT NULL,"
	"  last_used INTEGER);"
	/* AUTOINCREMENT: an id is never reused once the oldest are trimmed */
	"CREATE TABLE IF NOT EXISTS audit ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  time_us INTEGER NOT NULL,"
	"  time TEXT NOT NULL,"
	"  caller TEXT NOT NULL,"
	"  action TEXT NOT NULL,"
	"  before TEXT,"
	"  after TEXT);"
	"CREATE INDEX IF NOT EXISTS audit_time ON audit (time_us);";

/*
 * Version 2, the racks: card tags, pools and leases as JSON records
 * (racks.c reads and writes them whole), and the history of cards and
 * modem slots.
 */
static const char schema_v2[] =
	"CREATE TABLE IF NOT EXISTS records ("
	"  kind TEXT NOT NULL,"
	"  key TEXT NOT NULL,"
	"  value TEXT NOT NULL,"
	"  PRIMARY KEY (kind, key));"
	"CREATE TABLE IF NOT EXISTS history ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  time_us INTEGER NOT NULL,"
	"  time TEXT NOT NULL,"
	"  iccid TEXT NOT NULL,"
	"  client TEXT NOT NULL,"
	"  bank TEXT NOT NULL,"
	"  event TEXT NOT NULL,"
	"  who TEXT NOT NULL);"
	"CREATE INDEX IF NOT EXISTS history_iccid ON history (iccid, id);"
	"CREATE INDEX IF NOT EXISTS history_client ON history (client, id);";

/* migrations[v] takes a file from version v to v + 1 */
static const char *const migrations[STORE_SCHEMA_VERSION] = {
	schema_v1,
	schema_v2,
};

/*
 * SQLite's own reason, its extended code and the system error behind it,
 * and the file: "unable to open database file" alone does not say that
 * the file system is read-only. -EBUSY when another connection holds the
 * lock, -EIO otherwise.
 */
static int fail(struct sqlite_store *st, char *err, size_t errlen, const char *what)
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

static int exec(struct sqlite_store *st, const char *sql, char *err, size_t errlen)
{
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return fail(st, err, errlen, sql);
	return 0;
}

static int check_integrity(struct sqlite_store *st, char *err, size_t errlen)
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

/* PRAGMA user_version: the schema's version, or -1 (@err set). */
static int read_version(struct sqlite_store *st, char *err, size_t errlen)
{
	sqlite3_stmt *q;
	int v = -1;

	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &q, NULL) != SQLITE_OK) {
		fail(st, err, errlen, "schema version");
		return -1;
	}
	if (sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int(q, 0);
	else
		fail(st, err, errlen, "schema version");
	sqlite3_finalize(q);
	return v;
}

/*
 * A file written by a newer server may hold what this one would misread
 * or drop: refused before anything is written to it.
 */
static int check_version(struct sqlite_store *st, char *err, size_t errlen)
{
	int v = read_version(st, err, errlen);

	if (v < 0)
		return -EIO;
	if (v > STORE_SCHEMA_VERSION) {
		snprintf(err, errlen,
			 "schema version %d is newer than this remsim-server's (%d): a newer remsim-server wrote it; run that one, or restore a backup made before the upgrade (%s left as it is)",
			 v, STORE_SCHEMA_VERSION, st->path);
		return -EPROTO;
	}
	return 0;
}

static bool has_tables(struct sqlite_store *st)
{
	sqlite3_stmt *q;
	bool any = false;

	if (sqlite3_prepare_v2(st->db, "SELECT 1 FROM sqlite_master WHERE type = 'table'",
			       -1, &q, NULL) != SQLITE_OK)
		return true;
	any = sqlite3_step(q) == SQLITE_ROW;
	sqlite3_finalize(q);
	return any;
}

/*
 * Every step from the file's version to ours and the new version, in one
 * transaction: a step that fails leaves the file as it was. The version is
 * read again under the write lock, so a `remsim-server token` racing the
 * server does not run a step twice.
 */
static int migrate(struct sqlite_store *st, char *err, size_t errlen)
{
	int v, ret;
	char sql[64];

	ret = exec(st, "BEGIN IMMEDIATE", err, errlen);
	if (ret)
		return ret;
	v = read_version(st, err, errlen);
	if (v < 0) {
		ret = -EIO;
		goto rollback;
	}
	st->found_version = v;
	st->created = !has_tables(st);
	if (v == STORE_SCHEMA_VERSION)
		return exec(st, "COMMIT", err, errlen);
	if (v > STORE_SCHEMA_VERSION) {
		ret = check_version(st, err, errlen);
		goto rollback;
	}
	for (; v < STORE_SCHEMA_VERSION && !ret; v++)
		ret = exec(st, migrations[v], err, errlen);
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", STORE_SCHEMA_VERSION);
	if (!ret)
		ret = exec(st, sql, err, errlen);
	if (!ret)
		ret = exec(st, "COMMIT", err, errlen);
	if (!ret)
		return 0;
rollback:
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return ret;
}

static int count_restart(struct sqlite_store *st, char *err, size_t errlen)
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

/*
 * The directory of the database, made if it is missing and its parent is
 * there (a server started by hand, without the unit's StateDirectory=);
 * otherwise exactly what to do. One level only: a mistyped path is not
 * made into a tree of directories.
 */
static int make_dir(struct sqlite_store *st, char *err, size_t errlen)
{
	char dir[PATH_MAX], parent[PATH_MAX], tmp[PATH_MAX];
	struct stat sb;
	int e;

	/* dirname() may change its argument or return a static string */
	snprintf(tmp, sizeof(tmp), "%s", st->path);
	snprintf(dir, sizeof(dir), "%s", dirname(tmp));
	snprintf(tmp, sizeof(tmp), "%s", dir);
	snprintf(parent, sizeof(parent), "%s", dirname(tmp));
	if (!stat(dir, &sb))
		return 0;	/* not a directory: SQLite says so */
	e = errno;
	if (e == ENOENT && stat(parent, &sb)) {
		snprintf(err, errlen,
			 "directory %s does not exist, nor does %s: create it (install -d -m 0750 %s, as the user that runs remsim-server) or give another -D PATH",
			 dir, parent, dir);
		return -ENOENT;
	}
	if (e == ENOENT && !mkdir(dir, 0750)) {
		st->made_dir = true;
		return 0;
	}
	if (e == ENOENT)
		e = errno;
	snprintf(err, errlen,
		 "cannot create directory %s: %s; as root: install -d -m 0750 -o USER %s (USER: the user that runs remsim-server), or give -D PATH in a directory you may write (e.g. -D ./slotmaps.db)",
		 dir, strerror(e), dir);
	return -e;
}

/*
 * The name of the lock file: beside the file that @path is, whatever the
 * symlinks on the way, so two paths to one database share one lock.
 */
static int lock_name(const char *path, char *out, size_t len)
{
	char real[PATH_MAX], dir[PATH_MAX], base[PATH_MAX], tmp[PATH_MAX];

	if (realpath(path, real))
		return snprintf(out, len, "%s-lock", real) < (int)len ? 0 : -ENAMETOOLONG;
	snprintf(tmp, sizeof(tmp), "%s", path);
	snprintf(dir, sizeof(dir), "%s", dirname(tmp));
	snprintf(tmp, sizeof(tmp), "%s", path);
	snprintf(base, sizeof(base), "%s", basename(tmp));
	if (!realpath(dir, real))
		snprintf(real, sizeof(real), "%s", dir);
	return snprintf(out, len, "%s/%s-lock", real, base) < (int)len ? 0 : -ENAMETOOLONG;
}

/*
 * One server per database: two would each push their own idea of the maps
 * and count restarts twice. SQLite's locks last a transaction, so PATH-lock
 * holds a POSIX write lock for the server's life; the kernel drops it when
 * the process ends however it ends, so a stale file never blocks a start
 * (it is never removed: removing a lock file races with the next taker).
 * F_GETLK names the holder; the file holds its pid for humans too.
 * `remsim-server token` and `backup` do not take it: they work beside the
 * server.
 */
static int take_lock(struct sqlite_store *st, char *err, size_t errlen)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	char lock[2 * PATH_MAX + 8], pid[24];
	int fd, n;

	if (lock_name(st->path, lock, sizeof(lock))) {
		snprintf(err, errlen, "the lock file's path is too long (%s)", st->path);
		return -ENAMETOOLONG;
	}
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open the lock file %s: %s", lock, strerror(errno));
		return -errno;
	}
	if (fcntl(fd, F_SETLK, &fl)) {
		if (errno != EACCES && errno != EAGAIN) {
			snprintf(err, errlen, "cannot lock %s: %s", lock, strerror(errno));
			close(fd);
			return -EIO;
		}
		fl = (struct flock){ .l_type = F_WRLCK, .l_whence = SEEK_SET };
		if (fcntl(fd, F_GETLK, &fl) || fl.l_type == F_UNLCK || fl.l_pid <= 0)
			snprintf(pid, sizeof(pid), "?");
		else
			snprintf(pid, sizeof(pid), "%d", (int)fl.l_pid);
		snprintf(err, errlen,
			 "in use by another remsim-server (pid %s holds %s): one server per database; stop that one, or give this one another -D PATH",
			 pid, lock);
		close(fd);
		return -EBUSY;
	}
	n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) || pwrite(fd, pid, n, 0) != n) {
		/* the lock holds without it: the pid is for humans */
	}
	st->lock_fd = fd;
	return 0;
}

/* @server: the daemon (counts a restart), not `remsim-server token`. */
static int open_db(struct sqlite_store **out, const char *path, bool server, char *err,
		   size_t errlen)
{
	struct sqlite_store *st = calloc(1, sizeof(*st));
	int ret;

	if (!st)
		return -ENOMEM;
	st->lock_fd = -1;
	snprintf(st->path, sizeof(st->path), "%s", path);
	if (server) {
		ret = make_dir(st, err, errlen);
		if (ret)
			goto fail;
	}
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
	/* locked before the first write: a second server changes nothing */
	if (server) {
		ret = take_lock(st, err, errlen);
		if (ret)
			goto fail;
	}
	sqlite3_busy_timeout(st->db, STORE_OPEN_BUSY_MS);
	ret = check_integrity(st, err, errlen);
	/* before journal_mode: a newer server's file is not written to */
	if (!ret)
		ret = check_version(st, err, errlen);
	if (!ret)
		ret = exec(st, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;",
			   err, errlen);
	if (!ret)
		ret = migrate(st, err, errlen);
	if (!ret && server)
		ret = count_restart(st, err, errlen);
	if (ret)
		goto fail;
	/* a command may wait for the server's lock; the server may not */
	if (server)
		sqlite3_busy_timeout(st->db, STORE_BUSY_MS);
	*out = st;
	return 0;
fail:
	sqlite3_close(st->db);
	if (st->lock_fd >= 0)
		close(st->lock_fd);
	free(st);
	return ret;
}

int sqlite_store_open(struct sqlite_store **out, const char *path, char *err, size_t errlen)
{
	return open_db(out, path, true, err, errlen);
}

int sqlite_store_open_command(struct sqlite_store **out, const char *path, char *err, size_t errlen)
{
	return open_db(out, path, false, err, errlen);
}

void sqlite_store_close(struct sqlite_store *st)
{
	if (!st)
		return;
	sqlite3_close(st->db);
	/* the lock goes with the descriptor; the file stays (see take_lock()) */
	if (st->lock_fd >= 0)
		close(st->lock_fd);
	free(st);
}

int sqlite_store_schema_version(const struct sqlite_store *st, int *found, bool *created)
{
	*found = st->found_version;
	*created = st->created;
	return STORE_SCHEMA_VERSION;
}

bool sqlite_store_made_dir(const struct sqlite_store *st)
{
	return st->made_dir;
}

uint64_t sqlite_store_restart_counter(const struct sqlite_store *st)
{
	return st->restarts;
}

int sqlite_store_load(struct sqlite_store *st, void (*fn)(const struct stored_map *, void *),
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
static int change(struct sqlite_store *st, const char *sql, const int *v, int nv,
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

int sqlite_store_add(struct sqlite_store *st, const struct stored_map *m, char *err,
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

int sqlite_store_mark_deleting(struct sqlite_store *st, struct rspro_bank_slot bank,
			char *err, size_t errlen)
{
	const int v[2] = { bank.bank_id, bank.slot_nr };

	return change(st, "UPDATE slotmaps SET deleting = 1 WHERE bank_id = ?1"
		      " AND bank_slot = ?2", v, 2, err, errlen);
}

int sqlite_store_remove(struct sqlite_store *st, struct rspro_bank_slot bank, char *err,
		 size_t errlen)
{
	const int v[2] = { bank.bank_id, bank.slot_nr };

	/* only a deleted map: a live one may have replaced it meanwhile */
	return change(st, "DELETE FROM slotmaps WHERE bank_id = ?1 AND bank_slot = ?2"
		      " AND deleting = 1", v, 2, err, errlen);
}

/* --- REST's bearer tokens --- */

/* Whether @a and @b are equal, in a time that does not depend on where they differ. */
static bool same_hash(const unsigned char *a, const unsigned char *b)
{
	unsigned char diff = 0;
	int i;

	for (i = 0; i < STORE_HASH_LEN; i++)
		diff |= a[i] ^ b[i];
	return !diff;
}

int sqlite_store_token_add(struct sqlite_store *st, const struct stored_token *t, char *err, size_t errlen)
{
	sqlite3_stmt *q;
	int rc, ret = 0;

	if (sqlite3_prepare_v2(st->db, "INSERT INTO tokens (name, scope, hash, created)"
			       " VALUES (?1, ?2, ?3, ?4)", -1, &q, NULL) != SQLITE_OK)
		return fail(st, err, errlen, "token");
	sqlite3_bind_text(q, 1, t->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, t->scope, -1, SQLITE_STATIC);
	sqlite3_bind_blob(q, 3, t->hash, STORE_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, t->created);
	rc = sqlite3_step(q);
	if (sqlite3_extended_errcode(st->db) == SQLITE_CONSTRAINT_PRIMARYKEY)
		ret = -EEXIST;
	else if (rc != SQLITE_DONE)
		ret = fail(st, err, errlen, "adding a token");
	sqlite3_finalize(q);
	return ret;
}

int sqlite_store_token_revoke(struct sqlite_store *st, const char *name, char *err, size_t errlen)
{
	sqlite3_stmt *q;
	int ret = 0;

	if (sqlite3_prepare_v2(st->db, "DELETE FROM tokens WHERE name = ?1", -1, &q,
			       NULL) != SQLITE_OK)
		return fail(st, err, errlen, "token");
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_DONE)
		ret = fail(st, err, errlen, "revoking a token");
	else if (!sqlite3_changes(st->db))
		ret = -ENOENT;
	sqlite3_finalize(q);
	return ret;
}

static void token_row(sqlite3_stmt *q, struct stored_token *t)
{
	const void *hash = sqlite3_column_blob(q, 2);

	snprintf(t->name, sizeof(t->name), "%s", (const char *)sqlite3_column_text(q, 0));
	snprintf(t->scope, sizeof(t->scope), "%s", (const char *)sqlite3_column_text(q, 1));
	memset(t->hash, 0, sizeof(t->hash));
	if (hash && sqlite3_column_bytes(q, 2) == STORE_HASH_LEN)
		memcpy(t->hash, hash, STORE_HASH_LEN);
	t->created = sqlite3_column_int64(q, 3);
	t->last_used = sqlite3_column_int64(q, 4);	/* NULL reads as 0 */
}

int sqlite_store_token_list(struct sqlite_store *st, void (*fn)(const struct stored_token *, void *),
		     void *arg, char *err, size_t errlen)
{
	struct stored_token t;
	sqlite3_stmt *q;
	int rc;

	if (sqlite3_prepare_v2(st->db, "SELECT name, scope, hash, created, last_used"
			       " FROM tokens ORDER BY name", -1, &q, NULL) != SQLITE_OK)
		return fail(st, err, errlen, "reading tokens");
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		token_row(q, &t);
		fn(&t, arg);
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return fail(st, err, errlen, "reading tokens");
	return 0;
}

/*
 * Read at every request, so a token revoked by `remsim-server token` is
 * refused at once. Every row is compared, all the way, whichever matches:
 * neither an index lookup nor memcmp() then tells by its time how close a
 * guess came.
 */
int sqlite_store_token_find(struct sqlite_store *st, const unsigned char *hash, struct stored_token *out,
		     char *err, size_t errlen)
{
	struct stored_token t;
	sqlite3_stmt *q;
	bool found = false;
	int rc;

	if (sqlite3_prepare_v2(st->db, "SELECT name, scope, hash, created, last_used"
			       " FROM tokens", -1, &q, NULL) != SQLITE_OK)
		return fail(st, err, errlen, "reading tokens");
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		token_row(q, &t);
		if (same_hash(t.hash, hash) & !found) {
			*out = t;
			found = true;
		}
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return fail(st, err, errlen, "reading tokens");
	return found ? 0 : -ENOENT;
}

int sqlite_store_token_used(struct sqlite_store *st, const char *name, int64_t now, char *err,
		     size_t errlen)
{
	sqlite3_stmt *q;
	int ret = 0;

	/* once a minute at most: not a synchronous write for every GET */
	if (sqlite3_prepare_v2(st->db, "UPDATE tokens SET last_used = ?2 WHERE name = ?1"
			       " AND (last_used IS NULL OR last_used < ?2 - 60)", -1, &q,
			       NULL) != SQLITE_OK)
		return fail(st, err, errlen, "token");
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, now);
	if (sqlite3_step(q) != SQLITE_DONE)
		ret = fail(st, err, errlen, "token use");
	sqlite3_finalize(q);
	return ret;
}

/* --- the audit trail --- */

static int audit_insert(struct sqlite_store *st, const struct stored_audit *a, char *err,
			size_t errlen)
{
	sqlite3_stmt *q;
	int ret = 0;

	if (sqlite3_prepare_v2(st->db, "INSERT INTO audit (time_us, time, caller, action,"
			       " before, after) VALUES (?1, ?2, ?3, ?4, ?5, ?6)", -1, &q,
			       NULL) != SQLITE_OK)
		return fail(st, err, errlen, "audit");
	sqlite3_bind_int64(q, 1, a->time_us);
	sqlite3_bind_text(q, 2, a->time, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, a->caller, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, a->action, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 5, a->before, -1, SQLITE_STATIC);	/* NULL: SQL NULL */
	sqlite3_bind_text(q, 6, a->after, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_DONE)
		ret = fail(st, err, errlen, "audit write");
	sqlite3_finalize(q);
	return ret;
}

int sqlite_store_audit_add(struct sqlite_store *st, const struct stored_audit *a, unsigned int n,
		    unsigned int keep, char *err, size_t errlen)
{
	const int v[1] = { keep };
	unsigned int i;
	int ret = 0;

	if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return fail(st, err, errlen, "audit");
	for (i = 0; i < n && !ret; i++)
		ret = audit_insert(st, &a[i], err, errlen);
	/* the newest @keep stay: ids only grow */
	if (!ret)
		ret = change(st, "DELETE FROM audit WHERE id <= (SELECT max(id) FROM audit) - ?1",
			     v, 1, err, errlen);
	if (!ret && sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		ret = fail(st, err, errlen, "audit commit");
	if (ret)
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return ret;
}

static const char *column_or_null(sqlite3_stmt *q, int col)
{
	return sqlite3_column_type(q, col) == SQLITE_NULL ? NULL :
	       (const char *)sqlite3_column_text(q, col);
}

int sqlite_store_audit_query(struct sqlite_store *st, int64_t since_us, int64_t after_id,
		      unsigned int limit, void (*fn)(const struct stored_audit *, void *),
		      void *arg, char *err, size_t errlen)
{
	struct stored_audit a;
	sqlite3_stmt *q;
	int rc;

	if (sqlite3_prepare_v2(st->db, "SELECT id, time_us, time, caller, action, before,"
			       " after FROM audit WHERE time_us >= ?1 AND id > ?2"
			       " ORDER BY id LIMIT ?3", -1, &q, NULL) != SQLITE_OK)
		return fail(st, err, errlen, "reading the audit trail");
	sqlite3_bind_int64(q, 1, since_us);
	sqlite3_bind_int64(q, 2, after_id);
	sqlite3_bind_int(q, 3, limit);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		a.id = sqlite3_column_int64(q, 0);
		a.time_us = sqlite3_column_int64(q, 1);
		a.time = (const char *)sqlite3_column_text(q, 2);
		a.caller = (const char *)sqlite3_column_text(q, 3);
		a.action = (const char *)sqlite3_column_text(q, 4);
		a.before = column_or_null(q, 5);
		a.after = column_or_null(q, 6);
		fn(&a, arg);
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return fail(st, err, errlen, "reading the audit trail");
	return 0;
}

/* --- the racks: tags, pools, leases as records; the history --- */

int sqlite_store_record_put(struct sqlite_store *st, const char *kind, const char *key,
			    const char *value, char *err, size_t errlen)
{
	sqlite3_stmt *q;
	int ret = 0;

	if (sqlite3_prepare_v2(st->db, "INSERT OR REPLACE INTO records (kind, key, value)"
			       " VALUES (?1, ?2, ?3)", -1, &q, NULL) != SQLITE_OK)
		return fail(st, err, errlen, "record");
	sqlite3_bind_text(q, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, value, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_DONE)
		ret = fail(st, err, errlen, "record write");
	sqlite3_finalize(q);
	return ret;
}

int sqlite_store_record_delete(struct sqlite_store *st, const char *kind, const char *key,
			       char *err, size_t errlen)
{
	sqlite3_stmt *q;
	int ret = 0;

	if (sqlite3_prepare_v2(st->db, "DELETE FROM records WHERE kind = ?1 AND key = ?2",
			       -1, &q, NULL) != SQLITE_OK)
		return fail(st, err, errlen, "record");
	sqlite3_bind_text(q, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, key, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_DONE)
		ret = fail(st, err, errlen, "record delete");
	else if (!sqlite3_changes(st->db))
		ret = -ENOENT;
	sqlite3_finalize(q);
	return ret;
}

int sqlite_store_record_load(struct sqlite_store *st, const char *kind,
			     void (*fn)(const char *, const char *, void *), void *arg,
			     char *err, size_t errlen)
{
	sqlite3_stmt *q;
	int rc;

	if (sqlite3_prepare_v2(st->db, "SELECT key, value FROM records WHERE kind = ?1"
			       " ORDER BY key", -1, &q, NULL) != SQLITE_OK)
		return fail(st, err, errlen, "reading records");
	sqlite3_bind_text(q, 1, kind, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW)
		fn((const char *)sqlite3_column_text(q, 0),
		   (const char *)sqlite3_column_text(q, 1), arg);
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return fail(st, err, errlen, "reading records");
	return 0;
}

static int history_insert(struct sqlite_store *st, const struct stored_history *h, char *err,
			  size_t errlen)
{
	sqlite3_stmt *q;
	int ret = 0;

	if (sqlite3_prepare_v2(st->db, "INSERT INTO history (time_us, time, iccid, client,"
			       " bank, event, who) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", -1,
			       &q, NULL) != SQLITE_OK)
		return fail(st, err, errlen, "history");
	sqlite3_bind_int64(q, 1, h->time_us);
	sqlite3_bind_text(q, 2, h->time, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, h->iccid, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, h->client, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 5, h->bank, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 6, h->event, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 7, h->who, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_DONE)
		ret = fail(st, err, errlen, "history write");
	sqlite3_finalize(q);
	return ret;
}

int sqlite_store_history_add(struct sqlite_store *st, const struct stored_history *h,
			     unsigned int n, unsigned int keep, char *err, size_t errlen)
{
	const int v[1] = { keep };
	unsigned int i;
	int ret = 0;

	if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return fail(st, err, errlen, "history");
	for (i = 0; i < n && !ret; i++)
		ret = history_insert(st, &h[i], err, errlen);
	/* the newest @keep stay: ids only grow */
	if (!ret)
		ret = change(st, "DELETE FROM history WHERE id <= (SELECT max(id) FROM history)"
			     " - ?1", v, 1, err, errlen);
	if (!ret && sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		ret = fail(st, err, errlen, "history commit");
	if (ret)
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return ret;
}

int sqlite_store_history_query(struct sqlite_store *st, const char *iccid, const char *client,
			       int64_t since_us, unsigned int limit,
			       void (*fn)(const struct stored_history *, void *), void *arg,
			       char *err, size_t errlen)
{
	struct stored_history h;
	sqlite3_stmt *q;
	int rc;

	if (sqlite3_prepare_v2(st->db, "SELECT id, time_us, time, iccid, client, bank, event,"
			       " who FROM history WHERE (?1 IS NULL OR iccid = ?1)"
			       " AND (?2 IS NULL OR client = ?2) AND time_us >= ?3"
			       " ORDER BY id LIMIT ?4", -1, &q, NULL) != SQLITE_OK)
		return fail(st, err, errlen, "reading the history");
	sqlite3_bind_text(q, 1, iccid, -1, SQLITE_STATIC);	/* NULL: SQL NULL */
	sqlite3_bind_text(q, 2, client, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, since_us);
	sqlite3_bind_int(q, 4, limit);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		h.id = sqlite3_column_int64(q, 0);
		h.time_us = sqlite3_column_int64(q, 1);
		h.time = (const char *)sqlite3_column_text(q, 2);
		h.iccid = (const char *)sqlite3_column_text(q, 3);
		h.client = (const char *)sqlite3_column_text(q, 4);
		h.bank = (const char *)sqlite3_column_text(q, 5);
		h.event = (const char *)sqlite3_column_text(q, 6);
		h.who = (const char *)sqlite3_column_text(q, 7);
		fn(&h, arg);
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return fail(st, err, errlen, "reading the history");
	return 0;
}
