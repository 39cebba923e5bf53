/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The outgoing RSPRO link of a client (to the server and to a bankd) or of
 * a bankd (to the server), with osmo-remsim's state machine: connect, send
 * Connect*Req, wait for an ok Connect*Res, and on any loss reconnect after
 * the back-off delay (fast for a peer just lost, slower for one that stays
 * away).
 */
#ifndef REMSIM_RSPRO_LINK_H
#define REMSIM_RSPRO_LINK_H

#include "remsim/rspro_conn.h"
#include "remsim/rspro_tls.h"

enum rspro_link_state {
	RSPRO_LINK_INIT,		/* idle until rspro_link_start() */
	RSPRO_LINK_ESTABLISHED,		/* TCP up, Connect*Req sent (after TLS's
					 * handshake), T1 runs */
	RSPRO_LINK_CONNECTED,		/* Connect*Res ok */
	RSPRO_LINK_REESTABLISH_DELAY,	/* waiting out the back-off */
	RSPRO_LINK_REESTABLISH,		/* TCP connect in progress, T2 runs */
};

struct rspro_link_cfg {
	/*
	 * One address, or several "a,b,c" (each HOST, HOST:PORT or
	 * [V6]:PORT, @port where none is given): a failed attempt or a lost
	 * link tries the next at once, the back-off counts whole rounds.
	 */
	char host[256];
	uint16_t port;
	struct rspro_identity identity;	/* ours: its type picks the request */
	struct rspro_client_slot client_slot;	/* for connectClientReq */
	uint16_t bank_id;			/* for connectBankReq */
	uint16_t num_slots;
	/*
	 * a bankd's: where its clients reach it, in the ConnectBankReq
	 * addition that osmo-remsim's module lacks; only for a server known
	 * to understand it (see Documentation/rspro.rst)
	 */
	bool has_bankd_addr;
	struct rspro_ip_port bankd_addr;
	enum rspro_component peer_type;	/* what Connect*Res must come from */
	unsigned int t1_ms;		/* Connect*Res wait, 10 s */
	unsigned int t2_ms;		/* TCP connect wait, 10 s */
	struct rspro_conn_cfg conn;
	/*
	 * TLS on this link (NULL: plaintext), its peer's certificate allowing
	 * @tls_expect (the server, or the bankd the server's map named); the
	 * link keeps the session ticket for its next connection.
	 */
	struct rspro_tls *tls;
	struct rspro_tls_id tls_expect;
};

void rspro_link_cfg_default(struct rspro_link_cfg *cfg);

struct rspro_link;

struct rspro_link_ops {
	/* the link reached CONNECTED */
	void (*up)(struct rspro_link *l);
	/* the link left CONNECTED; it reconnects by itself */
	void (*down)(struct rspro_link *l, const char *why);
	/* any PDU other than the Connect*Res, in CONNECTED */
	void (*pdu)(struct rspro_link *l, const struct rspro_pdu *pdu);
	/* optional: each state change with the reason, for logs */
	void (*state)(struct rspro_link *l, enum rspro_link_state from,
		      enum rspro_link_state to, const char *why);
};

struct rspro_link *rspro_link_new(struct ev_loop *loop,
				  const struct rspro_link_cfg *cfg,
				  const struct rspro_link_ops *ops, void *data);
/* Not from inside the link's own callbacks: stop it there, free it later. */
void rspro_link_free(struct rspro_link *l);

/* ESTABLISH: reset the back-off and connect (again). */
void rspro_link_start(struct rspro_link *l);
/* DISCONNECT: close and stay in INIT. */
void rspro_link_stop(struct rspro_link *l);
/* Only in CONNECTED (-ENOTCONN otherwise), as osmo-remsim. */
int rspro_link_send(struct rspro_link *l, const struct rspro_pdu *pdu,
		    struct rspro_error *err);

enum rspro_link_state rspro_link_state(const struct rspro_link *l);
/*
 * The peer's identity from its last ok Connect*Res (zeroed before one), so
 * that a link can see which of remsim's extensions the peer understands.
 */
const struct rspro_identity *rspro_link_peer_identity(const struct rspro_link *l);
const char *rspro_link_state_name(enum rspro_link_state state);
void *rspro_link_data(const struct rspro_link *l);
/* Connection attempts since the peer was last seen (or the start). */
unsigned int rspro_link_attempts(const struct rspro_link *l);
/* TLS connections of this link that resumed their session (0: plaintext). */
unsigned long rspro_link_tls_resumed(const struct rspro_link *l);
/*
 * "HOST:PORT" of the address this link tries or uses now (one entry of a
 * list in cfg.host), in @out; cfg.host and cfg.port before the first try.
 */
void rspro_link_address(const struct rspro_link *l, char *out, size_t len);

/*
 * The reconnect back-off (Documentation/rspro.rst): the delay before the
 * next attempt to a peer away for @away_ms, @rnd a random number for the
 * jitter. Away less than RSPRO_BACKOFF_FAST_MS: 100..250 ms. Then
 * osmo-remsim's steps by time: 1 s until 30 s, 2 s until 90 s, 4 s until
 * 210 s, 8 s until 450 s, then RSPRO_BACKOFF_MAX_MS; each delay in [3/4, 1]
 * of its step. Each change of step comes at a random point of the new
 * step's length before its time (the fast retries end between 4 and 5 s),
 * so that links lost together do not change step together. The first
 * attempt after a drop or a start goes at once.
 */
unsigned int rspro_backoff_ms(unsigned int away_ms, uint32_t rnd);
#define RSPRO_BACKOFF_FAST_MS		5000
#define RSPRO_BACKOFF_FAST_MIN_MS	100
#define RSPRO_BACKOFF_FAST_MAX_MS	250
#define RSPRO_BACKOFF_MAX_MS		16000
/*
 * A link that was CONNECTED at least this long counts its peer away from
 * the drop; a shorter connection does not count, so a peer that accepts
 * and drops at once never gets the fast retries for good.
 */
#define RSPRO_BACKOFF_STABLE_MS		1000

#endif
