/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The server's durable state in SQLite: slot maps (and maps deleted but not
 * yet confirmed removed by their bankd) and the restart counter. Every
 * change is committed before the caller acknowledges it.
 */
#ifndef REMSIM_SERVER_STORE_H
#define REMSIM_SERVER_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "remsim/rspro.h"

struct store;

struct stored_map {
	struct rspro_bank_slot bank;
	struct rspro_client_slot client;
	bool deleting;		/* deleted over REST, bankd not yet told */
};

/*
 * Opens (creating if needed) the database at @path, checks it, and counts
 * this start. On failure returns -errno and a sentence in @err (SQLite's
 * reason, the system error and the path; -EROFS for a read-only file).
 *
 * Every change below returns -EBUSY (with @err) when another process holds
 * the database's write lock for more than 100 ms: the caller answers
 * "retry later" instead of stalling the event loop.
 */
int store_open(struct store **st, const char *path, char *err, size_t errlen);
void store_close(struct store *st);

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

#endif
