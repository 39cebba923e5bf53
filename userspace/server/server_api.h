/* SPDX-License-Identifier: GPL-2.0 */
/*
 * All the REST side (rest*.c) sees of remsim-server's core (server.c,
 * maps.c): the slot maps to list, create and delete, the bankds and
 * clients connected, the restart counter and REST's own settings. The
 * core's structures stay in server.h, which REST does not include; the
 * core does not know REST at all (main.c starts both).
 */
#ifndef REMSIM_SERVER_API_H
#define REMSIM_SERVER_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "remsim/evloop.h"
#include "remsim/rspro.h"

struct server;
struct slotmap;
struct peer;

/* REST's settings (--rest-*); SIGHUP changes body_max and deadline_ms in place. */
struct rest_cfg {
	char bind[64];
	uint16_t port;			/* once listening: the port taken */
	size_t body_max;		/* largest request body */
	/* against slow and greedy clients (Documentation/server.rst) */
	unsigned int deadline_ms;	/* a request's whole time */
	unsigned int conn_max;		/* connections in all */
	unsigned int conn_per_addr;	/* connections per client address */
	/* HTTPS (--rest-tls) with this certificate and key, PEM files */
	bool tls;
	char tls_cert[256];
	char tls_key[256];
	/* bearer tokens required (--rest-auth) */
	bool auth;
	/* the dashboard's files (--dashboard), "" when it is off */
	char dashboard[256];
};

struct rest_cfg *server_rest_cfg(struct server *srv);
struct ev_loop *server_loop(struct server *srv);
/* How often the database has been opened: osmo-remsim's restart counter. */
uint64_t server_restart_counter(struct server *srv);
/*
 * Whether this server is a standby (PostgreSQL, another server holds the
 * leadership lock); the active one's REST address in @active ("": not
 * known yet).
 */
bool server_standby(struct server *srv, char *active, size_t len);

/* --- slot maps --- */

struct server_map_info {
	struct rspro_bank_slot bank;
	struct rspro_client_slot client;
	const char *state;		/* osmo-remsim's name of its state */
};

/*
 * The live maps (not deleted) in creation order: the one after @prev (NULL:
 * the first) into @info, or NULL after the last.
 */
const struct slotmap *server_map_next_info(struct server *srv, const struct slotmap *prev,
					   struct server_map_info *info);
/*
 * Creates a map: -EEXIST if its bank or client slot is in use, -EIO (with
 * @err) if it could not be stored. Pushed to its bankd at once. @by, who
 * asked ("127.0.0.1:40000 token=ops"), is named in the log line.
 */
int server_map_create(struct server *srv, struct rspro_bank_slot bank,
		      struct rspro_client_slot client, const char *by, char *err, size_t errlen);
/* Deletes the map on @bank: -ENOENT, or -EIO if it could not be stored. */
int server_map_delete(struct server *srv, struct rspro_bank_slot bank, const char *by,
		      char *err, size_t errlen);

/* --- the bankds and clients connected --- */

enum server_peer_kind {
	SERVER_PEER_BANKD,
	SERVER_PEER_CLIENT,
};

struct server_peer_info {
	const char *name;		/* "B1", "C23:0" */
	const char *state;		/* osmo-remsim's name of its state */
	const struct rspro_identity *identity;
	uint16_t id;			/* bank id or client id */
	uint16_t num_slots;		/* a bankd's */
};

/*
 * The identified bankds or clients, the newest connection first: the one
 * after @prev (NULL: the first) into @info, or NULL after the last.
 */
const struct peer *server_peer_next_info(struct server *srv, enum server_peer_kind kind,
					 const struct peer *prev,
					 struct server_peer_info *info);

/* --- the card inventory (cards.c) --- */

struct server_card;

struct server_card_info {
	struct rspro_bank_slot bank;
	const struct rspro_card_info *card;	/* reader, ICCID, IMSI, APDUs */
	const char *state;		/* "present", "absent", "offline" (bankd gone) */
	int64_t since_us;		/* Unix time in µs of the last change of state */
	bool mapped;
	struct rspro_client_slot client;	/* the map's, if mapped */
	const char *map_state;
	const struct rspro_identity *client_identity;	/* if that client is connected */
	const char *modem_path;		/* its modem slot's ID_PATH, NULL: unknown */
};

/* The bank slots a bankd reported, by bank and slot: as server_map_next_info(). */
const struct server_card *server_card_next_info(struct server *srv,
						const struct server_card *prev,
						struct server_card_info *info);

/* --- card tags, pools, leases and history (racks*.c) --- */

/* Free tags of one card, a pool's tags, and their length and characters. */
#define SERVER_TAGS_MAX		16
#define SERVER_TAG_LEN		64
#define SERVER_POOLS_MAX	256
#define SERVER_LEASES_MAX	4096
/* Cards with free tags: as many as bank slots are kept (SERVER_CARDS_MAX). */
#define SERVER_TAGGED_MAX	16384
/* A lease's duration, in seconds: 1 minute to 7 days. */
#define SERVER_LEASE_MIN_S	60
#define SERVER_LEASE_MAX_S	(7 * 24 * 3600)
/* History events kept in the database, the newest. */
#define SERVER_HISTORY_KEEP	100000

/* Whether @tag is 1..SERVER_TAG_LEN of [A-Za-z0-9._:-]; pool names: no ':'. */
bool server_tag_valid(const char *tag);
bool server_pool_name_valid(const char *name);
/*
 * The automatic tag of an IMSI: "mccmnc:" and its MCC and MNC, whose
 * length (2 or 3 digits) comes from a table of the MCCs with 3-digit MNCs;
 * false when the IMSI is too short or not digits.
 */
bool server_mccmnc_tag(const char *imsi, char *out, size_t len);
/*
 * Calls @fn for every tag of the card @iccid (its IMSI @imsi, NULL: not
 * known): the automatic one, then the free ones.
 */
void server_card_tags(struct server *srv, const char *iccid, const char *imsi,
		      void (*fn)(const char *tag, void *), void *arg);
/* Replaces the free tags of card @iccid (n = 0: none). */
int server_tags_set(struct server *srv, const char *iccid, const char *const *tags,
		    unsigned int n, char *err, size_t errlen);

struct server_pool_info {
	const char *name;
	const char *const *tags;
	unsigned int n;
};

struct server_pool;
/* The pools by name, as server_map_next_info(). */
const struct server_pool *server_pool_next_info(struct server *srv,
						const struct server_pool *prev,
						struct server_pool_info *info);
const struct server_pool *server_pool_find(struct server *srv, const char *name);
/* Whether the card @ci is in @pool: it has all the pool's tags. */
bool server_pool_has(struct server *srv, const struct server_pool *pool,
		     const struct server_card_info *ci);
/* Whether @ci is free: present, with an ICCID, not mapped, not leased. */
bool server_card_free(struct server *srv, const struct server_card_info *ci);
/* Creates or replaces a pool: -ENOSPC beyond SERVER_POOLS_MAX. */
int server_pool_put(struct server *srv, const char *name, const char *const *tags,
		    unsigned int n, char *err, size_t errlen);
int server_pool_delete(struct server *srv, const char *name, char *err, size_t errlen);

struct server_lease_info {
	uint64_t id;
	const char *iccid;
	const char *owner;
	struct rspro_bank_slot bank;
	struct rspro_client_slot client;
	int64_t since_us, expires_us;	/* Unix time */
};

struct server_lease;
const struct server_lease *server_lease_next_info(struct server *srv,
						  const struct server_lease *prev,
						  struct server_lease_info *info);
/*
 * Whether a lease of another owner than @owner holds bank slot @bank or
 * modem slot @client (either NULL: not asked): -EPERM with "... leased by
 * OWNER until TIME" in @err and its id in *@id, else 0.
 */
int server_lease_guard(struct server *srv, const struct rspro_bank_slot *bank,
		       const struct rspro_client_slot *client, const char *owner,
		       uint64_t *id, char *err, size_t errlen);
/*
 * Ends lease @id without touching its map, as an admin's forced change
 * does to it; @by for the history.
 */
void server_lease_break(struct server *srv, uint64_t id, const char *by);
/*
 * A free card of @pool (or the card @iccid) mapped to @client for
 * @seconds by @owner, through server_map_create(): -ENOENT (no such pool
 * or card), -ENOSPC (no free card, or SERVER_LEASES_MAX), -EPERM (held by
 * another owner, see server_lease_guard()), -EEXIST (the modem slot or
 * card is mapped), or a store error; @err says which.
 */
int server_lease_acquire(struct server *srv, struct rspro_client_slot client,
			 const char *pool, const char *iccid, int64_t seconds,
			 const char *owner, const char *by, bool force,
			 struct server_lease_info *out, char *err, size_t errlen);
/* -ENOENT, -EPERM (another owner's, without @force), or a store error. */
int server_lease_renew(struct server *srv, uint64_t id, int64_t seconds, const char *owner,
		       bool force, struct server_lease_info *out, char *err, size_t errlen);
/* Release: unmaps and forgets it; errors as server_lease_renew(). */
int server_lease_release(struct server *srv, uint64_t id, const char *owner, bool force,
			 const char *by, char *err, size_t errlen);

/* One event of the history of a card (@iccid) and a modem slot (@client). */
void server_history(struct server *srv, const char *iccid, struct rspro_client_slot client,
		    struct rspro_bank_slot bank, const char *event, const char *who);

struct server_history_line {
	int64_t id;
	const char *time, *iccid, *client, *bank, *event, *who;
};

int server_history_query(struct server *srv, const char *iccid, const char *client,
			 int64_t since_us, unsigned int limit,
			 void (*fn)(const struct server_history_line *, void *), void *arg,
			 char *err, size_t errlen);

/* --- bearer tokens (auth.c) --- */

enum server_scope {
	SERVER_SCOPE_READ,		/* GETs */
	SERVER_SCOPE_ADMIN,		/* everything */
};

#define SERVER_TOKEN_NAME_MAX	64

/*
 * The token @secret (as sent after "Bearer "), looked up in the database at
 * every call so that a revocation counts at once: 0 with its name and scope,
 * -EACCES if it is no token of ours, -EBUSY or -EIO (with @err) if the
 * database did not answer.
 */
int server_token_check(struct server *srv, const char *secret,
		       char name[SERVER_TOKEN_NAME_MAX + 1], enum server_scope *scope,
		       char *err, size_t errlen);

/* --- the audit trail (audit.c) --- */

/*
 * One audit line: @caller ("127.0.0.1:40000 token=ops", "server"), @action
 * ("slotmap create"), and what changed: @before and @after, either NULL
 * where it does not apply. Logged at once, stored in the database soon.
 */
void server_audit(struct server *srv, const char *caller, const char *action,
		  const char *before, const char *after);

struct server_audit_line {
	int64_t id;
	const char *time, *caller, *action, *before, *after;
};

/*
 * Up to @limit stored lines from @since_us (Unix time in µs) on with an id
 * above @after_id, oldest first, to @fn; 0, or -EBUSY / -EIO with @err.
 */
int server_audit_query(struct server *srv, int64_t since_us, int64_t after_id,
		       unsigned int limit,
		       void (*fn)(const struct server_audit_line *, void *), void *arg,
		       char *err, size_t errlen);

#endif
