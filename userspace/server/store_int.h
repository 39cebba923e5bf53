/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Between store.c, which picks the database a --database value names, and
 * its two backends: store_sqlite.c (a file, the embedded default) and
 * store_pg.c (PostgreSQL, for servers sharing one database). Both keep the
 * contract of store.h; each function below is its store_*() namesake.
 */
#ifndef REMSIM_SERVER_STORE_INT_H
#define REMSIM_SERVER_STORE_INT_H

#include "store.h"

struct sqlite_store;
struct pg_store;

int sqlite_store_open(struct sqlite_store **st, const char *path, char *err, size_t errlen);
int sqlite_store_open_command(struct sqlite_store **st, const char *path, char *err,
			      size_t errlen);
void sqlite_store_close(struct sqlite_store *st);
int sqlite_store_schema_version(const struct sqlite_store *st, int *found, bool *created);
bool sqlite_store_made_dir(const struct sqlite_store *st);
uint64_t sqlite_store_restart_counter(const struct sqlite_store *st);
int sqlite_store_load(struct sqlite_store *st, void (*fn)(const struct stored_map *, void *),
		      void *arg, char *err, size_t errlen);
int sqlite_store_add(struct sqlite_store *st, const struct stored_map *m, char *err,
		     size_t errlen);
int sqlite_store_mark_deleting(struct sqlite_store *st, struct rspro_bank_slot bank,
			       char *err, size_t errlen);
int sqlite_store_remove(struct sqlite_store *st, struct rspro_bank_slot bank, char *err,
			size_t errlen);
int sqlite_store_token_add(struct sqlite_store *st, const struct stored_token *t, char *err,
			   size_t errlen);
int sqlite_store_token_revoke(struct sqlite_store *st, const char *name, char *err,
			      size_t errlen);
int sqlite_store_token_list(struct sqlite_store *st,
			    void (*fn)(const struct stored_token *, void *), void *arg,
			    char *err, size_t errlen);
int sqlite_store_token_find(struct sqlite_store *st, const unsigned char *hash,
			    struct stored_token *out, char *err, size_t errlen);
int sqlite_store_token_used(struct sqlite_store *st, const char *name, int64_t now, char *err,
			    size_t errlen);
int sqlite_store_audit_add(struct sqlite_store *st, const struct stored_audit *a,
			   unsigned int n, unsigned int keep, char *err, size_t errlen);
int sqlite_store_audit_query(struct sqlite_store *st, int64_t since_us, int64_t after_id,
			     unsigned int limit, void (*fn)(const struct stored_audit *, void *),
			     void *arg, char *err, size_t errlen);
int sqlite_store_record_put(struct sqlite_store *st, const char *kind, const char *key,
			  const char *value, char *err, size_t errlen);
int sqlite_store_record_delete(struct sqlite_store *st, const char *kind, const char *key,
			     char *err, size_t errlen);
int sqlite_store_record_load(struct sqlite_store *st, const char *kind,
			   void (*fn)(const char *, const char *, void *), void *arg,
			   char *err, size_t errlen);
int sqlite_store_history_add(struct sqlite_store *st, const struct stored_history *h,
			     unsigned int n, unsigned int keep, char *err, size_t errlen);
int sqlite_store_history_query(struct sqlite_store *st, const char *iccid, const char *client,
			     int64_t since_us, unsigned int limit,
			     void (*fn)(const struct stored_history *, void *), void *arg,
			     char *err, size_t errlen);

int pg_store_open(struct pg_store **st, const char *conninfo, bool server, char *err,
		  size_t errlen);
void pg_store_close(struct pg_store *st);
int pg_store_schema_version(const struct pg_store *st, int *found, bool *created);
uint64_t pg_store_restart_counter(const struct pg_store *st);
int pg_store_load(struct pg_store *st, void (*fn)(const struct stored_map *, void *),
		  void *arg, char *err, size_t errlen);
int pg_store_add(struct pg_store *st, const struct stored_map *m, char *err, size_t errlen);
int pg_store_mark_deleting(struct pg_store *st, struct rspro_bank_slot bank, char *err,
			   size_t errlen);
int pg_store_remove(struct pg_store *st, struct rspro_bank_slot bank, char *err,
		    size_t errlen);
int pg_store_token_add(struct pg_store *st, const struct stored_token *t, char *err,
		       size_t errlen);
int pg_store_token_revoke(struct pg_store *st, const char *name, char *err, size_t errlen);
int pg_store_token_list(struct pg_store *st, void (*fn)(const struct stored_token *, void *),
			void *arg, char *err, size_t errlen);
int pg_store_token_find(struct pg_store *st, const unsigned char *hash,
			struct stored_token *out, char *err, size_t errlen);
int pg_store_token_used(struct pg_store *st, const char *name, int64_t now, char *err,
			size_t errlen);
int pg_store_audit_add(struct pg_store *st, const struct stored_audit *a, unsigned int n,
		       unsigned int keep, char *err, size_t errlen);
int pg_store_audit_query(struct pg_store *st, int64_t since_us, int64_t after_id,
			 unsigned int limit, void (*fn)(const struct stored_audit *, void *),
			 void *arg, char *err, size_t errlen);
int pg_store_record_put(struct pg_store *st, const char *kind, const char *key,
			  const char *value, char *err, size_t errlen);
int pg_store_record_delete(struct pg_store *st, const char *kind, const char *key,
			     char *err, size_t errlen);
int pg_store_record_load(struct pg_store *st, const char *kind,
			   void (*fn)(const char *, const char *, void *), void *arg,
			   char *err, size_t errlen);
int pg_store_history_add(struct pg_store *st, const struct stored_history *h, unsigned int n,
			   unsigned int keep, char *err, size_t errlen);
int pg_store_history_query(struct pg_store *st, const char *iccid, const char *client,
			     int64_t since_us, unsigned int limit,
			     void (*fn)(const struct stored_history *, void *), void *arg,
			     char *err, size_t errlen);
int pg_store_lead(struct pg_store *st, const char *rest, const char *rspro, bool *leader,
		  char *err, size_t errlen);
int pg_store_active(struct pg_store *st, char *rest, size_t len, char *err, size_t errlen);

#endif
