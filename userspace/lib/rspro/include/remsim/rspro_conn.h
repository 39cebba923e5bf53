/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One RSPRO connection in the event loop: IPA framing, PDU decoding,
 * PING/PONG, keep-alive and a bounded send queue, over a transport that
 * hides whether the bytes travel over plain TCP or TLS (remsim/rspro_tls.h).
 */
#ifndef REMSIM_RSPRO_CONN_H
#define REMSIM_RSPRO_CONN_H

#include <sys/types.h>

#include "remsim/evloop.h"
#include "remsim/net.h"
#include "remsim/ipa.h"
#include "remsim/rspro.h"

/*
 * The byte stream. read and write return the count, 0 for end of stream
 * (read), or -errno; -EAGAIN means "poll the fd for @want and call again"
 * (TLS may want EPOLLOUT to read, or EPOLLIN to write).
 */
struct rspro_transport;
struct rspro_tls_peer;

struct rspro_transport_ops {
	ssize_t (*read)(struct rspro_transport *t, void *buf, size_t len);
	ssize_t (*write)(struct rspro_transport *t, const void *buf, size_t len);
	/* closes the fd and frees @t */
	void (*destroy)(struct rspro_transport *t);
	/*
	 * Optional (TLS): one step of the handshake, driven by readiness
	 * before any read or write: 0 once done, -EAGAIN (poll for @want),
	 * or -errno with the reason in @err. It must end within
	 * @handshake_ms or the connection closes.
	 */
	int (*handshake)(struct rspro_transport *t);
	/* optional: bytes already read off the fd but not returned yet */
	size_t (*pending)(struct rspro_transport *t);
	/* optional: who the peer is, once the handshake is done */
	const struct rspro_tls_peer *(*peer)(const struct rspro_transport *t);
};

struct rspro_transport {
	const struct rspro_transport_ops *ops;
	int fd;
	uint32_t want;		/* events the last -EAGAIN waits for */
	unsigned int handshake_ms;	/* with ops->handshake */
	char err[200];		/* the reason of the last error, if set */
};

/* Plain TCP on a connected, non-blocking socket; takes ownership of @fd. */
struct rspro_transport *rspro_transport_tcp(int fd);

struct rspro_conn_cfg {
	/* PING every ka_interval_ms once the last PONG came; 0: no PINGs */
	unsigned int ka_interval_ms;
	/* close when no PONG came within ka_timeout_ms of a PING */
	unsigned int ka_timeout_ms;
	size_t max_payload;		/* IPA payload limit */
	size_t tx_max;			/* bytes queued before the peer counts as stuck */
	bool server;			/* the accepting side's CCM rules */
};

/* osmo-remsim's values: 30 s, 10 s; 4096-byte frames; 1 MiB queued. */
void rspro_conn_cfg_default(struct rspro_conn_cfg *cfg);

struct rspro_conn;

struct rspro_conn_ops {
	/* a decoded PDU */
	void (*pdu)(struct rspro_conn *c, const struct rspro_pdu *pdu);
	/*
	 * The connection is gone (peer closed, error, keep-alive timeout, a
	 * protocol violation): @why says which. @c is freed after this
	 * returns. Not called for rspro_conn_close().
	 */
	void (*closed)(struct rspro_conn *c, int err, const char *why);
	/* optional: a PONG came, the peer reads what we send */
	void (*pong)(struct rspro_conn *c);
};

struct rspro_conn_stats {
	uint64_t rx_pdus;
	uint64_t tx_pdus;
	uint64_t rx_unknown;		/* PDUs of a choice we do not know */
	uint64_t pings_sent;
	uint64_t pongs_received;
};

/* Starts the connection; keep-alive (if configured) sends a PING at once. */
struct rspro_conn *rspro_conn_new(struct ev_loop *loop,
				  struct rspro_transport *t,
				  const struct rspro_conn_cfg *cfg,
				  const struct rspro_conn_ops *ops, void *data);
/* Closes now, without the closed callback; safe inside any callback. */
void rspro_conn_close(struct rspro_conn *c);

/* Encodes and queues @pdu: 0, -EINVAL (with the reason) or -ENOBUFS. */
int rspro_conn_send(struct rspro_conn *c, const struct rspro_pdu *pdu,
		    struct rspro_error *err);
/*
 * Sends a PING now, outside the keep-alive's rhythm, to learn whether the
 * peer still reads: its PONG counts in rspro_conn_stats() and calls
 * ops->pong.
 */
int rspro_conn_ping(struct rspro_conn *c);
/* Queues raw bytes as they are (tests, CCM). */
int rspro_conn_send_raw(struct rspro_conn *c, const void *buf, size_t len);

/*
 * Moving a connection to another thread's loop: detach takes it out of its
 * loop (safe inside its own callbacks: no further PDU of the current read
 * is delivered, they wait in its buffer); attach, called in the thread of
 * @loop once no callback of the old owner runs any more, puts it there
 * with new callbacks and data, the timers due when they were. In between,
 * send and close work; nothing is read.
 */
void rspro_conn_detach(struct rspro_conn *c);
int rspro_conn_attach(struct rspro_conn *c, struct ev_loop *loop,
		      const struct rspro_conn_ops *ops, void *data);

void *rspro_conn_data(const struct rspro_conn *c);
/* "192.0.2.1:40000", the peer's address */
const char *rspro_conn_peer(const struct rspro_conn *c);
const struct rspro_conn_stats *rspro_conn_stats(const struct rspro_conn *c);

/*
 * Reconnect storms per peer address (peer_limit.c): an address refused
 * RSPRO_PEER_LIMIT_MAX times within RSPRO_PEER_LIMIT_WINDOW_MS has its new
 * connections closed at once for the next window. RSPRO_PEER_LIMIT_ADDRS
 * addresses are tracked; one line per address per RSPRO_PEER_LIMIT_LOG_MS.
 */
#define RSPRO_PEER_LIMIT_ADDRS		256
#define RSPRO_PEER_LIMIT_MAX		20
#define RSPRO_PEER_LIMIT_WINDOW_MS	1000
#define RSPRO_PEER_LIMIT_LOG_MS		10000

struct rspro_peer_limit_entry {
	struct rspro_ip_port addr;	/* port 0 */
	uint64_t used_ns;		/* last refusal; 0: free */
	uint64_t window_ns;		/* start of the counting window */
	unsigned int count;		/* refusals in it */
	uint64_t until_ns;		/* new connections closed until then */
	uint64_t logged_ns;		/* the last line about it */
	unsigned long episodes, dropped;	/* since that line */
};

struct rspro_peer_limit {
	const char *who;		/* the log lines' prefix */
	struct rspro_peer_limit_entry e[RSPRO_PEER_LIMIT_ADDRS];
	uint64_t full_logged_ns;
	unsigned long dropped;		/* connections closed at once, in all */
};

/* A connection from @peer ("ADDR:PORT", as rspro_conn_peer()) was refused. */
void rspro_peer_limit_refused(struct rspro_peer_limit *pl, const char *peer);
/* Whether accepted socket @fd comes from a throttled address: close it. */
bool rspro_peer_limit_drop(struct rspro_peer_limit *pl, int fd);

#endif
