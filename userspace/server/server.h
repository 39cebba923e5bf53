/* SPDX-License-Identifier: GPL-2.0 */
/*
 * remsim-server's core: the RSPRO side (bankd and client connections, slot
 * maps pushed to both), on one event loop. main.c and the core's files
 * include this; the REST side sees only server_api.h.
 */
#ifndef REMSIM_SERVER_H
#define REMSIM_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "remsim/evloop.h"
#include "remsim/metrics.h"
#include "remsim/rspro_conn.h"
#include "remsim/rspro_tls.h"
#include "server_api.h"
#include "store.h"

/*
 * The database when neither -D nor the config file names one: in the
 * systemd unit's StateDirectory=, so the unit needs no -D (which would
 * override the config file's "database") and a server started by hand uses
 * the same file.
 */
#define SERVER_DEFAULT_DB	"/var/lib/remsim-server/slotmaps.db"

struct server_cfg {
	char rspro_bind[64];
	uint16_t rspro_port;
	char db_path[1024];		/* a SQLite file or a PostgreSQL conninfo */
	uint16_t bankd_port;		/* told to clients of bankds that do not say */
	unsigned int ka_interval_ms;
	unsigned int ka_timeout_ms;
	unsigned int connect_timeout_ms;	/* Connect*Req wait (T1) */
	unsigned int audit_max;		/* audit lines kept in the database */
	char advertise[256];		/* host others reach us at ("": hostname) */
	struct rspro_tls_cfg tls;		/* the RSPRO listener's */
	struct metrics_cfg metrics;	/* --metrics */
	struct rest_cfg rest;
};

/* The osmo-remsim names: they appear in REST output. */
enum map_state {
	MAP_NEW,
	MAP_UNACKNOWLEDGED,
	MAP_ACTIVE,
	MAP_DELETE_REQ,
	MAP_DELETING,
};

/* What happened to slot maps, for remsim_server_map_operations_total. */
enum map_op {
	MAP_OP_CREATE,		/* REST created a map */
	MAP_OP_DELETE,		/* REST deleted one */
	MAP_OP_CREATE_REQ,	/* CreateMappingReq sent to a bankd */
	MAP_OP_REMOVE_REQ,	/* RemoveMappingReq sent */
	MAP_OP_CREATE_OK,	/* CreateMappingRes ok */
	MAP_OP_CREATE_REFUSED,	/* CreateMappingRes not ok */
	MAP_OP_REMOVE_RES,	/* RemoveMappingRes, whatever its result */
	MAP_OP_COUNT
};

/* Registrations over RSPRO, for remsim_server_connects_total. */
enum connect_kind { CONNECT_BANKD, CONNECT_CLIENT, CONNECT_REJECTED, CONNECT_COUNT };

struct peer;

struct slotmap {
	struct slotmap *next;
	struct rspro_bank_slot bank;
	struct rspro_client_slot client;
	enum map_state state;
	bool deleted;		/* gone from REST, removal at bankd pending */
	bool refused;		/* the bankd said no: again when it reconnects */
	uint64_t queued_seq;	/* FIFO order of requests to the bankd */
};

enum peer_state {
	PEER_ESTABLISHED,	/* waiting for Connect*Req */
	PEER_CLIENT,		/* CONNECTED_CLIENT */
	PEER_BANKD,		/* CONNECTED_BANKD */
	PEER_REJECTED,		/* identityInUse sent, closing */
};

struct peer {
	struct peer *next;
	struct server *srv;
	struct rspro_conn *conn;
	enum peer_state state;
	struct ev_timer timer;		/* T1 or the REJECTED linger */
	char name[24];			/* "C23:0", "B1" or the address */
	struct rspro_identity identity;
	struct rspro_client_slot client;	/* PEER_CLIENT */
	/* the client's modem slot by udev's ID_PATH ("": not told) */
	char modem_path[RSPRO_MODEM_PATH_MAX + 1];
	uint16_t bank_id, num_slots;		/* PEER_BANKD */
	struct rspro_ip_port bankd_addr;	/* where clients reach it */
	/* what this client was last told (all zero: nothing) */
	struct rspro_bank_slot told_bank;
	struct rspro_ip_port told_addr;
	/*
	 * its bankd registered again: tell it again even unchanged, as it
	 * announced RSPRO_EXT_RETELL (a live session stays)
	 */
	bool retell;
};

struct server {
	struct server_cfg cfg;
	struct ev_loop *loop;
	struct store *store;
	char db_name[1024];		/* db_path for logs: no password */
	struct rspro_identity identity;
	int rspro_fd;
	struct net_listener rspro_listener;
	struct rspro_tls *tls;		/* NULL: RSPRO in plaintext */
	struct rspro_peer_limit limit;	/* reconnect storms per address */
	struct peer *peers;
	struct slotmap *maps;
	uint64_t seq;
	struct audit *audit;		/* audit.c's; NULL: log lines only */
	uint64_t map_ops[MAP_OP_COUNT];
	uint64_t connects[CONNECT_COUNT];
	struct server_card *cards;	/* cards.c's, by bank and slot */
	unsigned int num_cards;
	bool cards_full_logged;
	/* ha.c: one active server per PostgreSQL database */
	bool active;			/* RSPRO listens, maps change */
	bool ha_polling;		/* PostgreSQL: ha_timer polls the lock */
	bool db_down;			/* the last poll could not reach it */
	bool takeover_failed;		/* the lock, but the maps could not be read */
	struct ev_timer ha_timer;
	uint64_t lost_ms;		/* active, its session lost since (0: not) */
	uint64_t lead_restarts;		/* the restart counter when it took the lock */
	char active_rest[300];		/* standby: the active server's REST address */
	struct racks *racks;		/* racks.c: tags, pools, leases */
};

void server_cfg_default(struct server_cfg *cfg);
/* RSPRO's listening socket, opened when the server becomes active. */
int server_rspro_listen(struct server *srv, char *err, size_t errlen);
/* Closes it and every RSPRO connection. */
void server_rspro_unlisten(struct server *srv);
/* ha.c: becomes active or standby (PostgreSQL) and polls the lock. */
int server_ha_start(struct server *srv, char *err, size_t errlen);
void server_ha_stop(struct server *srv);
int server_start(struct server *srv, char *err, size_t errlen);
void server_stop(struct server *srv);

/* --- between server.c (connections) and maps.c (slot maps) --- */

struct peer *bank_peer(struct server *srv, uint16_t bank_id);
struct peer *client_peer(struct server *srv, struct rspro_client_slot c);
void peer_send(struct peer *p, const struct rspro_pdu *pdu);
/* Tells client @c the bankd of its map, or that it has none now. */
void update_client(struct server *srv, struct rspro_client_slot c);
/* Sends bankd @bp the next request of each of its bank slots. */
void push(struct server *srv, struct peer *bp);
void create_mapping_res(struct server *srv, struct peer *bp, int32_t result);
void remove_mapping_res(struct server *srv, struct peer *bp, int32_t result);
/* A map read from the database at start (store_load()'s callback). */
void server_load_map(const struct stored_map *sm, void *arg);

/* Live maps (not deleted) in creation order; NULL ends. */
struct slotmap *server_map_first(struct server *srv);
struct slotmap *server_map_next(struct slotmap *m);
const char *map_state_name(enum map_state state);
const char *peer_state_name(enum peer_state state);

/* cards.c: the card inventory the bankds report */

/* Bank slots kept; what comes beyond is logged once and dropped. */
#define SERVER_CARDS_MAX	16384

/* A bankd's cardInfo: an RSPRO result for its ConnectBankRes. */
int server_card_update(struct server *srv, struct peer *bp, const struct rspro_card_info *ci);
/* The bankd is gone: what its readers hold is unknown from now on. */
void server_cards_offline(struct server *srv, uint16_t bank_id);
void server_cards_free(struct server *srv);

/* racks.c: its state, made before the maps are loaded */
int racks_start(struct server *srv, char *err, size_t errlen);
void racks_stop(struct server *srv);
/* Tags, pools and leases of the database in place of those in memory. */
int racks_reload(struct server *srv, char *err, size_t errlen);
/*
 * A card put in (@event "card inserted") or taken out ("card removed") of
 * bank slot @bank, in the history of the card and of the modem slot it
 * is mapped to.
 */
void server_history_card(struct server *srv, const char *iccid, struct rspro_bank_slot bank,
			 const char *event, const char *who);
/* The ICCID of the card in bank slot @bank, "" when none is known. */
const char *server_card_iccid(struct server *srv, struct rspro_bank_slot bank);

/* server_metrics.c: the series of GET /metrics */
void server_metrics(struct server *srv, struct metrics_out *o);

#endif
