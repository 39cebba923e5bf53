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
