// SPDX-License-Identifier: GPL-2.0
/*
 * Which database a --database value names, and the calls of store.h
 * passed to its backend: a PostgreSQL connection string or URI goes to
 * store_pg.c, anything else is a SQLite file for store_sqlite.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

struct store {
	struct sqlite_store *sq;
	struct pg_store *pg;	/* non-NULL: PostgreSQL */
};

/*
 * libpq's two forms: a URI, or "keyword=value ..." starting with a
 * keyword. A file path has no '=' before its first '/', so "./a=b.db"
 * and "/x/host=y" stay files.
 */
bool store_is_postgres(const char *db)
{
	const char *eq = strchr(db, '=');
	size_t i;

	if (!strncmp(db, "postgresql://", 13) || !strncmp(db, "postgres://", 11))
		return true;
	if (!eq || eq == db)
		return false;
	for (i = 0; db + i < eq; i++)
		if (!(db[i] >= 'a' && db[i] <= 'z') && db[i] != '_')
			return false;
	return true;
}

/* Copies @from up to @end, or all of it, into @out[*n..]. */
static void put(char *out, size_t len, size_t *n, const char *from, const char *end)
{
	while (*from && from != end && *n + 1 < len)
		out[(*n)++] = *from++;
	out[*n] = 0;
}

/*
 * What logs say for @db: a password in a URI ("user:secret@") or in a
 * "password=" keyword (of a connection string or a URI's query) is
 * written as "***", so a log never holds it.
 */
void store_display_name(const char *db, char *out, size_t len)
{
	const char *at, *colon, *pw, *p = db, *start;
	size_t n = 0;

	out[0] = 0;
	if (!len)
		return;
	if (!store_is_postgres(db)) {
		put(out, len, &n, db, NULL);
		return;
	}
	start = strstr(db, "://");
	if (start) {
		start += 3;
		at = strchr(start, '@');
		colon = strchr(start, ':');
		if (at && colon && colon < at && !memchr(start, '/', at - start)) {
			put(out, len, &n, db, colon + 1);
			put(out, len, &n, "***", NULL);
			p = at;
		}
	}
	while ((pw = strstr(p, "password=")) != NULL) {
		pw += 9;
		put(out, len, &n, p, pw);
		put(out, len, &n, "***", NULL);
		p = pw + strcspn(pw, " &");
	}
	put(out, len, &n, p, NULL);
}

static int open_any(struct store **out, const char *db, bool server, char *err,
		    size_t errlen)
{
	struct store *st = calloc(1, sizeof(*st));
	int ret;

	if (!st)
		return -ENOMEM;
	if (store_is_postgres(db))
		ret = pg_store_open(&st->pg, db, server, err, errlen);
	else if (server)
		ret = sqlite_store_open(&st->sq, db, err, errlen);
	else
		ret = sqlite_store_open_command(&st->sq, db, err, errlen);
	if (ret) {
		free(st);
		return ret;
	}
	*out = st;
	return 0;
}

int store_open(struct store **st, const char *path, char *err, size_t errlen)
{
	return open_any(st, path, true, err, errlen);
}

int store_open_command(struct store **st, const char *path, char *err, size_t errlen)
{
	return open_any(st, path, false, err, errlen);
}

void store_close(struct store *st)
{
	if (!st)
		return;
	if (st->pg)
		pg_store_close(st->pg);
	else
		sqlite_store_close(st->sq);
	free(st);
}

bool store_postgres(const struct store *st)
{
	return st->pg != NULL;
}

/* The same call on whichever backend @st has. */
#define BACKEND(st, fn, ...) \
	((st)->pg ? pg_store_##fn((st)->pg, __VA_ARGS__) : \
		    sqlite_store_##fn((st)->sq, __VA_ARGS__))

int store_schema_version(const struct store *st, int *found, bool *created)
{
	return BACKEND(st, schema_version, found, created);
}

bool store_made_dir(const struct store *st)
{
	return !st->pg && sqlite_store_made_dir(st->sq);
}

uint64_t store_restart_counter(const struct store *st)
{
	return st->pg ? pg_store_restart_counter(st->pg) :
			sqlite_store_restart_counter(st->sq);
}

int store_load(struct store *st, void (*fn)(const struct stored_map *, void *),
	       void *arg, char *err, size_t errlen)
{
	return BACKEND(st, load, fn, arg, err, errlen);
}

int store_add(struct store *st, const struct stored_map *m, char *err, size_t errlen)
{
	return BACKEND(st, add, m, err, errlen);
}

int store_mark_deleting(struct store *st, struct rspro_bank_slot bank, char *err,
			size_t errlen)
{
	return BACKEND(st, mark_deleting, bank, err, errlen);
}

int store_remove(struct store *st, struct rspro_bank_slot bank, char *err, size_t errlen)
{
	return BACKEND(st, remove, bank, err, errlen);
}

int store_token_add(struct store *st, const struct stored_token *t, char *err,
		    size_t errlen)
{
	return BACKEND(st, token_add, t, err, errlen);
}

int store_token_revoke(struct store *st, const char *name, char *err, size_t errlen)
{
	return BACKEND(st, token_revoke, name, err, errlen);
}

int store_token_list(struct store *st, void (*fn)(const struct stored_token *, void *),
		     void *arg, char *err, size_t errlen)
{
	return BACKEND(st, token_list, fn, arg, err, errlen);
}

int store_token_find(struct store *st, const unsigned char *hash, struct stored_token *out,
		     char *err, size_t errlen)
{
	return BACKEND(st, token_find, hash, out, err, errlen);
}

int store_token_used(struct store *st, const char *name, int64_t now, char *err,
		     size_t errlen)
{
	return BACKEND(st, token_used, name, now, err, errlen);
}

int store_audit_add(struct store *st, const struct stored_audit *a, unsigned int n,
		    unsigned int keep, char *err, size_t errlen)
{
	return BACKEND(st, audit_add, a, n, keep, err, errlen);
}

int store_audit_query(struct store *st, int64_t since_us, int64_t after_id,
		      unsigned int limit, void (*fn)(const struct stored_audit *, void *),
		      void *arg, char *err, size_t errlen)
{
	return BACKEND(st, audit_query, since_us, after_id, limit, fn, arg, err, errlen);
}

int store_record_put(struct store *st, const char *kind, const char *key, const char *value,
		     char *err, size_t errlen)
{
	return BACKEND(st, record_put, kind, key, value, err, errlen);
}

int store_record_delete(struct store *st, const char *kind, const char *key, char *err,
			size_t errlen)
{
	return BACKEND(st, record_delete, kind, key, err, errlen);
}

int store_record_load(struct store *st, const char *kind,
		      void (*fn)(const char *key, const char *value, void *), void *arg,
		      char *err, size_t errlen)
{
	return BACKEND(st, record_load, kind, fn, arg, err, errlen);
}

int store_history_add(struct store *st, const struct stored_history *h, unsigned int n,
		      unsigned int keep, char *err, size_t errlen)
{
	return BACKEND(st, history_add, h, n, keep, err, errlen);
}

int store_history_query(struct store *st, const char *iccid, const char *client,
			int64_t since_us, unsigned int limit,
			void (*fn)(const struct stored_history *, void *), void *arg,
			char *err, size_t errlen)
{
	return BACKEND(st, history_query, iccid, client, since_us, limit, fn, arg, err,
		       errlen);
}

int store_lead(struct store *st, const char *rest, const char *rspro, bool *leader,
	       char *err, size_t errlen)
{
	if (st->pg)
		return pg_store_lead(st->pg, rest, rspro, leader, err, errlen);
	*leader = true;
	return 0;
}

int store_active(struct store *st, char *rest, size_t len, char *err, size_t errlen)
{
	if (st->pg)
		return pg_store_active(st->pg, rest, len, err, errlen);
	rest[0] = 0;
	return 0;
}
