/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The server's durable state in SQLite (store_sqlite.c) or PostgreSQL
 * (store_pg.c): slot maps (and maps deleted but not yet confirmed removed
 * by their bankd), the restart counter, REST's bearer tokens, the audit
 * trail, and (version 2) the racks' card tags, pools, leases and history. Every change is committed before the caller acknowledges it.
 */
#ifndef REMSIM_SERVER_STORE_H
#define REMSIM_SERVER_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "remsim/rspro.h"

struct store;

/*
 * The version of the schema this server writes: SQLite's PRAGMA
 * user_version, PostgreSQL's table schema_version.
 */
#define STORE_SCHEMA_VERSION	2

/* SHA-256, the only form in which a token is stored */
#define STORE_HASH_LEN		32
#define STORE_TOKEN_NAME_MAX	64

struct stored_token {
	char name[STORE_TOKEN_NAME_MAX + 1];
	char scope[8];			/* "read" or "admin" */
	unsigned char hash[STORE_HASH_LEN];
	int64_t created, last_used;	/* Unix seconds; last_used 0: never */
};

/* One audit line; before and after may be NULL. */
struct stored_audit {
	int64_t id;			/* set when read back */
	int64_t time_us;		/* Unix time */
	const char *time;		/* the same, ISO 8601 with its offset */
	const char *caller, *action, *before, *after;
};

struct stored_map {
	struct rspro_bank_slot bank;
	struct rspro_client_slot client;
	bool deleting;		/* deleted over REST, bankd not yet told */
};

/*
 * Whether --database @db names PostgreSQL: a postgresql:// or postgres://
 * URI or a libpq "keyword=value" connection string. Anything else is a
 * SQLite file.
 */
bool store_is_postgres(const char *db);
/* @db for a log line: a password in it is replaced by "***". */
void store_display_name(const char *db, char *out, size_t len);

/*
 * Opens (creating if needed) the database at @path, checks it, brings its
 * schema to STORE_SCHEMA_VERSION, and counts this start. On failure returns
 * -errno and a sentence in @err (SQLite's reason, the system error and the
 * path; -EROFS for a read-only file, -EPROTO for a schema newer than ours,
 * left untouched). It also makes the database's directory if only that is
 * missing, and holds PATH-lock until store_close(): -EBUSY, with the other
 * server's pid, when another server holds it.
 *
 * Every change below returns -EBUSY (with @err) when another process holds
 * the database's write lock for more than 100 ms: the caller answers
 * "retry later" instead of stalling the event loop.
 */
int store_open(struct store **st, const char *path, char *err, size_t errlen);
/*
 * On PostgreSQL (@path a connection string, see store_is_postgres()), the
 * same with these differences: the start is counted by store_lead(), when
 * this server becomes the active one; the schema is made and migrated under a
 * transaction-scoped advisory lock, so servers starting together do not
 * run a step twice; there is no lock file and no directory; -EBUSY is a
 * row lock held for more than 100 ms (lock_timeout); a lost connection is
 * made again at the next call, and that call fails with -EIO if it cannot.
 */
/*
 * The same for `remsim-server token` beside a running server: no restart
 * counted, and a write waits up to 5 s for the server's lock.
 */
int store_open_command(struct store **st, const char *path, char *err, size_t errlen);
void store_close(struct store *st);
/* Whether @st is PostgreSQL. */
bool store_postgres(const struct store *st);
/* Ours; in @found the file's version before, @created: it had no table. */
int store_schema_version(const struct store *st, int *found, bool *created);
/* Whether store_open() created the database's directory. */
bool store_made_dir(const struct store *st);
/*
 * `remsim-server backup`: copies the database @path, consistent as of one
 * moment, into @dest while a server may be writing it (SQLite's online
 * backup, in one read transaction: WAL lets the server write meanwhile).
 * Written to @dest.partial, checked and renamed, so @dest is a complete
 * copy or untouched. 0, or -errno and a sentence in @err; @info gets a line
 * on what was copied.
 */
int store_backup(const char *path, const char *dest, char *info, size_t infolen,
		 char *err, size_t errlen);

uint64_t store_restart_counter(const struct store *st);

/* Calls @fn for every stored map; returns 0 or -EIO. */
int store_load(struct store *st, void (*fn)(const struct stored_map *, void *),
	       void *arg, char *err, size_t errlen);

/*
 * Adds a live map, replacing a deleted one on the same bank slot. -EEXIST
 * if the bank or client slot is in a live map, -EIO (message in @err) if
 * the database refused.
 */
int store_add(struct store *st, const struct stored_map *m, char *err,
	      size_t errlen);
int store_mark_deleting(struct store *st, struct rspro_bank_slot bank,
			char *err, size_t errlen);
/* Forgets a deleted map once its bankd confirmed the removal. */
int store_remove(struct store *st, struct rspro_bank_slot bank, char *err,
		 size_t errlen);

/* A token: -EEXIST if its name is taken. */
int store_token_add(struct store *st, const struct stored_token *t, char *err,
		    size_t errlen);
/* -ENOENT if there is no token of that name. */
int store_token_revoke(struct store *st, const char *name, char *err, size_t errlen);
/* Calls @fn for every token, by name. */
int store_token_list(struct store *st, void (*fn)(const struct stored_token *, void *),
		     void *arg, char *err, size_t errlen);
/* The token whose hash is @hash (compared in constant time), or -ENOENT. */
int store_token_find(struct store *st, const unsigned char *hash, struct stored_token *out,
		     char *err, size_t errlen);
/* Notes a use at @now (Unix seconds), written at most once a minute. */
int store_token_used(struct store *st, const char *name, int64_t now, char *err,
		     size_t errlen);

/* Adds @n audit lines in one transaction and keeps only the newest @keep. */
int store_audit_add(struct store *st, const struct stored_audit *a, unsigned int n,
		    unsigned int keep, char *err, size_t errlen);
/*
 * Calls @fn for up to @limit audit lines at or after @since_us with an id
 * above @after_id, oldest first. Its strings live only during the call.
 */
int store_audit_query(struct store *st, int64_t since_us, int64_t after_id,
		      unsigned int limit, void (*fn)(const struct stored_audit *, void *),
		      void *arg, char *err, size_t errlen);

/*
 * Card tags, pools and leases (racks.c): small records, each a JSON text
 * under a @kind ("tags", "pool", "lease") and a @key (an ICCID, a pool's
 * name, a lease's id). racks.c keeps them in memory and writes each change
 * through; the database is read at start and at a takeover. A put replaces
 * the record of the same kind and key; a delete of none is -ENOENT.
 */
int store_record_put(struct store *st, const char *kind, const char *key, const char *value,
		     char *err, size_t errlen);
int store_record_delete(struct store *st, const char *kind, const char *key, char *err,
			size_t errlen);
/* Calls @fn for every record of @kind, by key. */
int store_record_load(struct store *st, const char *kind,
		      void (*fn)(const char *key, const char *value, void *), void *arg,
		      char *err, size_t errlen);

/* One history event of a card and a modem slot; @iccid, @client may be "". */
struct stored_history {
	int64_t id;			/* set when read back */
	int64_t time_us;
	const char *time;		/* ISO 8601, as the audit trail has it */
	const char *iccid;		/* the card's */
	const char *client;		/* the modem slot, "ID:SLOT" */
	const char *bank;		/* the bank slot, "ID:SLOT" */
	const char *event;		/* "map", "unmap", "lease acquire", ... */
	const char *who;		/* the owner or caller, "server" */
};

/* Adds @n events in one transaction and keeps only the newest @keep. */
int store_history_add(struct store *st, const struct stored_history *h, unsigned int n,
		      unsigned int keep, char *err, size_t errlen);
/*
 * Up to @limit events of card @iccid or modem slot @client (either NULL:
 * any) at or after @since_us, oldest first.
 */
int store_history_query(struct store *st, const char *iccid, const char *client,
			int64_t since_us, unsigned int limit,
			void (*fn)(const struct stored_history *, void *), void *arg,
			char *err, size_t errlen);

/*
 * Leadership, for several servers on one PostgreSQL database: called at
 * start and every HA poll. *@leader: this server's session holds the
 * database's leadership lock (pg_try_advisory_lock()), taken now if it
 * was free; on taking it, the active_server row gets @rest and @rspro
 * (where this server is reached) and the restart counter counts this
 * start. The lock ends with the session: a session lost (a PostgreSQL
 * restart, a network cut) loses it, and the next call tries to take it
 * again. From the first call on, store_add(), store_mark_deleting() and
 * store_remove() return -EAGAIN without the lock. 0, or -EBUSY when the
 * database cannot be reached (*@leader false). SQLite: always the leader
 * (its lock file keeps other servers out).
 */
int store_lead(struct store *st, const char *rest, const char *rspro, bool *leader,
	       char *err, size_t errlen);
/*
 * The active server's REST address, as it wrote it ("" if none did); a
 * standby's store_restart_counter() becomes the database's.
 */
int store_active(struct store *st, char *rest, size_t len, char *err, size_t errlen);

#endif
