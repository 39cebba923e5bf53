/* SPDX-License-Identifier: GPL-2.0 */
/*
 * remsim-bankd: the main event loop has the server link, accepts clients
 * and names them; each bank slot has a thread with an event loop of its
 * own, which serves the connection of the client mapped to it and calls
 * PC/SC for it directly. A command from the socket to SCardTransmit and its
 * answer back wake one thread, the slot's; one wedged reader stalls only
 * its slot.
 */
#ifndef REMSIM_BANKD_H
#define REMSIM_BANKD_H

#include <pthread.h>
#include <PCSC/winscard.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "csv.h"
#include "remsim/metrics.h"
#include "remsim/rspro_conn.h"
#include "remsim/rspro_link.h"
#include "remsim/rspro_tls.h"

/*
 * Whether ConnectBankReq tells the server where clients reach us, in the
 * addition osmo-remsim's module does not define: AUTO only to a server
 * whose ConnectBankRes says it understands it (remsim-server), in a second
 * ConnectBankReq; YES in the first one, to any server; NO never.
 */
enum bankd_announce { ANNOUNCE_AUTO, ANNOUNCE_YES, ANNOUNCE_NO };

/* The port osmo-remsim-server tells every client, whatever the bankd's. */
#define BANKD_OSMO_PORT		9999

struct bankd_cfg {
	char server_host[256];
	uint16_t server_port;
	uint16_t bank_id;
	uint16_t num_slots;
	char name[RSPRO_NAME_MAX + 1];
	char bind_ip[64];
	uint16_t bind_port;
	bool shared;			/* SCARD_SHARE_SHARED */
	char gsmtap_host[256];
	int gsmtap_slot;		/* -1: all */
	char csv_path[256];
	unsigned int ka_interval_ms, ka_timeout_ms;
	/* a new connection has this long to send its connectClientReq */
	unsigned int identify_timeout_ms;
	enum bankd_announce announce;	/* --announce-address */
	/* tls-server: the link to the server; tls-bankd: our clients' */
	struct rspro_tls_cfg tls;
	struct metrics_cfg metrics;	/* --metrics */
	bool strict;			/* --strict: the reader map's warnings refuse it */
	unsigned int inventory_ms;	/* --inventory-interval; 0: no inventory */
};

/*
 * How long an incumbent connection of a client slot has to answer a PING
 * when a new connection asks for the same slot: answered, the newcomer is
 * refused (identityInUse); silent, the incumbent counts as dead (a client
 * restarted behind a half-open TCP connection) and the newcomer takes over.
 */
#define TAKEOVER_PROBE_MS	2000

/*
 * A client whose card cannot be opened (no card in the reader, no reader)
 * has its answer, cardNotPresent, and keeps its connection, as with
 * osmo-remsim-bankd (which tries every 10 s); bankd tries to open the card
 * again this often and sends setAtrReq on that connection once it opens.
 */
#define CARD_RETRY_MS		1000

/*
 * The reader watch (pcscwatch.c): each SCardGetStatusChange waits at most
 * WATCH_WAIT_MS (bankd stops within that); while pcscd is away, a context
 * is asked for every WATCH_RETRY_MS, so that its return is seen at once.
 * Readers beyond WATCH_READERS_MAX are found by the clients' retries.
 */
#define WATCH_WAIT_MS		500
#define WATCH_RETRY_MS		50
#define WATCH_READERS_MAX	128

/*
 * How often an idle slot's reader is looked at for the card inventory
 * (--inventory-interval): one SCardListReaders and one zero-timeout
 * SCardGetStatusChange per slot; the card is read only when it changed.
 */
#define INVENTORY_MS_DEFAULT	2000
#define INVENTORY_MS_MIN	100
#define INVENTORY_MS_MAX	3600000
/*
 * A slot in a session reports its APDU count and card time every this many
 * inventory rounds at most, and only when the count moved (10 s at the
 * default interval): the server sees a long session progress without a
 * report on every round of a busy bank.
 */
#define INVENTORY_BUSY_ROUNDS	5

/*
 * What the main loop and a slot's worker tell each other. To the worker:
 * JOB_SESSION (serve @client from now on), JOB_END (end @owner's session,
 * @why), JOB_PROBE (PING @owner: a second connection wants its slot),
 * JOB_CARDS (pcscd's readers changed: a missing card, try now),
 * JOB_INVENTORY (read the slot's reader, filled in and sent back). Back:
 * JOB_GONE (@client's session ended, @why: the main loop owns it again),
 * JOB_ALIVE (@owner answered the probe's PING). The worker's own PC/SC
 * calls for a session carry their command and results in one too (struct
 * worker's op, whose type nobody reads).
 */
enum job_type {
	JOB_SESSION, JOB_END, JOB_PROBE, JOB_CARDS, JOB_INVENTORY, JOB_GONE, JOB_ALIVE,
};

struct client;

/* A message between the main loop and a slot's worker, or a PC/SC call's. */
struct job {
	struct job *next;
	enum job_type type;
	uint64_t owner;			/* the client it is for */
	struct client *client;		/* JOB_SESSION, JOB_GONE */
	bool cold;			/* worker_reset() */
	uint8_t data[RSPRO_DATA_MAX];
	size_t len;
	long rv;			/* PC/SC result */
	char why[400];
	uint8_t resp[1024];
	size_t resp_len;
	uint8_t atr[64];
	size_t atr_len;
	uint64_t card_ns;		/* worker_transmit(): time in SCardTransmit */
	/* JOB_INVENTORY */
	bool inv_force;			/* read the card even if it is the same */
	bool inv_busy;			/* a session has the card: not looked at */
	bool present;
	char reader[RSPRO_READER_MAX + 1];
	char iccid[RSPRO_ICCID_MAX + 1];
	char imsi[RSPRO_IMSI_MAX + 1];
};

struct bankd;

/* Why a bank slot's command failed, for remsim_bankd_errors_total. */
enum slot_error {
	SERR_NO_CARD,		/* a TPDU while the card is not open */
	SERR_CARD,		/* SCardTransmit failed: the card is lost */
	SERR_REFUSED,		/* a TPDU or PDU that breaks the rules: closed */
	SERR_RESET,		/* a reset the modem asked for failed */
	SERR_COUNT
};

/*
 * A bank slot's counters since bankd started, whatever client it served:
 * the worker counts under its stats_lock (uncontended: no system call),
 * the main loop reads them under it for the metrics and the inventory.
 */
struct slot_stats {
	uint64_t apdus;			/* answered by the card */
	uint64_t errors[SERR_COUNT];
	uint64_t sw_6f00;		/* answers ending in 6F00 */
	uint64_t connects;		/* clients that took the slot */
	struct metrics_hist card;	/* time in SCardTransmit */
};

/*
 * A bank slot's thread. Its event loop serves the client session of the
 * slot (session.c): a TPDU read off the socket goes to SCardTransmit and
 * its answer out in the same thread, one wake-up per command. It used to
 * be three (the main loop woke on the socket, woke the worker by a futex,
 * was woken back by an eventfd to send): 2.5-4 us each on one CPU, ~55 us
 * when the woken thread's CPU idles in a VM.
 *
 * Messages (struct job) travel on two lock-free stacks (the taker takes
 * the whole stack at once, so no ABA): to the worker, which an eventfd in
 * its loop wakes; back, where the main loop's eventfd is written only
 * when the loop has not been told already. Only session starts and ends,
 * probes and inventory rounds travel: no TPDU does.
 */
struct worker {
	struct bankd *bd;
	uint16_t slot;
	pthread_t thread;
	bool started;
	_Atomic(struct job *) todo;	/* to the worker, newest first */
	_Atomic(struct job *) done;	/* back to the loop, newest first */
	atomic_bool quit;
	int wake_fd;			/* eventfd: todo has jobs, or quit */
	struct job *ready;		/* the loop's: taken from done, oldest first */
	char name[24];			/* "B1:5" */
	pthread_mutex_t stats_lock;	/* stats, and the session's counters */
	struct slot_stats stats;
	atomic_bool card_up;		/* a session has the card open */
	/* the worker thread's own */
	struct ev_loop *loop;
	struct ev_io wake_io;
	struct client *session;		/* the client served, if any */
	struct job op;			/* the session's PC/SC call */
	bool probing;			/* JOB_PROBE's PING sent, no PONG yet */
	/* "card not opened" logged; said again only after the card opened */
	bool card_missing_logged;
	long ctx;			/* SCARDCONTEXT, 0 when none */
	long card;			/* SCARDHANDLE, 0 when none */
	char reader[256];
	/* the inventory's: the card read last, its ids (inventory.c) */
	bool inv_read;
	unsigned long inv_state;	/* pcsc-lite's insertion count and presence */
	char inv_iccid[RSPRO_ICCID_MAX + 1];
	char inv_imsi[RSPRO_IMSI_MAX + 1];
	/* the loop's: what the server was told, and whether a job is out */
	bool inv_out;
	bool inv_failing;		/* the last job failed: its reason was logged */
	bool inv_known;			/* an answer came since the server link came up */
	struct rspro_card_info inv;	/* the last answer */
	bool inv_sent;			/* inv as it is went to the server */
	uint32_t inv_sent_apdus;
	unsigned int inv_busy_rounds;	/* busy rounds since the last report */
};

/*
 * The thread watching pcscd's readers: it writes @fd when pcscd came back,
 * a reader came or went, or a card did; the rest is the thread's own.
 */
struct pcsc_watch {
	pthread_t thread;
	bool started;
	int fd;
	atomic_bool quit;
	/* the pseudo reader first, then the readers listed */
	SCARD_READERSTATE rs[WATCH_READERS_MAX + 1];
	char names[WATCH_READERS_MAX + 1][RSPRO_READER_MAX + 1];
	unsigned int nrs;
	bool stale;			/* the list must be read again */
	bool down_logged, error_logged, too_many_logged;
};

/*
 * Where a client connection is served: by the main loop until it is
 * mapped (accepted, named, waiting for its map), then by its bank slot's
 * worker. HANDING: taken out of the main loop, on its way. While the
 * worker has it, the main loop reads only what never changes then (id,
 * slot, bank_slot, name) and keeps the list links; the rest is the
 * worker's until JOB_GONE gives it back.
 */
enum client_where { CLIENT_MAIN, CLIENT_HANDING, CLIENT_WORKER };

struct client {
	struct client *next;
	struct bankd *bd;
	struct rspro_conn *conn;
	uint64_t id;
	char name[24];			/* "C23:0" or the address */
	enum client_where where;
	bool ending;			/* JOB_END sent: JOB_GONE will come */
	struct ev_timer handover;	/* HANDING: JOB_SESSION from the loop */
	bool probe_after_handover;	/* a newcomer probes it: JOB_PROBE next */
	struct job *gone;		/* the JOB_GONE the worker sends back */
	bool identified;
	/* identify timeout; on a newcomer, the probe of the incumbent */
	struct ev_timer timer;
	struct client *contender;	/* the newcomer probing us */
	struct client *incumbent;	/* the connection we probe */
	bool answered;			/* connectClientRes sent */
	bool card_ready;		/* OPEN succeeded: TPDUs may come */
	struct ev_timer retry;		/* the next OPEN while the card is missing */
	struct rspro_client_slot slot;
	int bank_slot;			/* -1 until mapped */
	bool last_vcc, last_rst;
	unsigned long tpdus, errors;	/* under the worker's stats_lock */
};

struct bank_map {
	bool used;
	struct rspro_client_slot client;
};

struct bankd {
	struct bankd_cfg cfg;
	struct ev_loop *loop;
	struct rspro_identity identity;
	struct rspro_link *link;
	struct rspro_ip_port addr;	/* where clients reach us */
	struct slot_table slots;
	/* the workers read slots, SIGHUP swaps it; never held over a PC/SC call */
	pthread_rwlock_t slots_lock;
	struct bank_map *maps;		/* by bank slot */
	struct worker *workers;		/* by bank slot */
	struct client *clients;
	uint64_t next_client_id;
	int listen_fd;
	struct net_listener listener;
	struct rspro_peer_limit limit;	/* reconnect storms per address */
	pthread_mutex_t limit_lock;	/* workers refuse clients too */
	bool locks;			/* the two above initialised */
	bool stopping;			/* closing every client, taking none */
	int done_fd;			/* eventfd: a worker finished a job */
	struct ev_io done_io;		/* edge-triggered: read only now and then */
	unsigned int done_unread;	/* wake-ups since done_fd was read */
	atomic_bool done_told;		/* done_fd written, the loop has not looked */
	int gsmtap_fd;
	/* the credentials, if any link runs TLS (loaded by main.c) */
	struct rspro_tls *tls;
	bool bad_config;		/* bankd_start() refused the reader map */
	bool port_warned;		/* "clients cannot reach us" said */
	uint64_t server_connects;	/* the server link came up */
	struct ev_timer inv_timer;	/* the next inventory round */
	int watch_fd;			/* eventfd: the readers changed */
	struct ev_io watch_io;
	struct pcsc_watch watch;
};

void bankd_cfg_default(struct bankd_cfg *cfg);
/* A reader map that is bad or serves nothing sets bd->bad_config. */
int bankd_start(struct bankd *bd, char *err, size_t errlen);
void bankd_stop(struct bankd *bd);
/*
 * What reader map @t (read from @path) means for our bank and slots: each
 * problem logged on a line of its own after @ctx ("" or "SIGHUP: "), a
 * notice, or an error with --strict. 0, or with --strict and any problem
 * -EINVAL with "PATH: N problems ... (--strict)" in @err.
 */
int bankd_check_slots(const struct bankd *bd, const struct slot_table *t, const char *path,
		      const char *ctx, char *err, size_t errlen);

/* worker.c */
int worker_find_reader(struct worker *w, struct job *j);
int worker_start(struct worker *w, struct bankd *bd, uint16_t slot);
/* Ends the thread (a running call finishes first; its session ends). */
void worker_stop(struct worker *w);
/* After worker_stop() and the loop took what came back: the rest goes. */
void worker_free(struct worker *w);
void worker_submit(struct worker *w, struct job *j);
/* The loop's: takes the next finished job off @w, oldest first, NULL if none. */
struct job *worker_take_done(struct worker *w);
/* The worker's: @j back to the main loop. */
void worker_send_back(struct worker *w, struct job *j);
/* The worker's PC/SC calls: w->card, its ATR or answer into @j. */
void worker_open(struct worker *w, struct job *j);
void worker_transmit(struct worker *w, struct job *j);
void worker_reset(struct worker *w, struct job *j);
void worker_drop_card(struct worker *w);
void worker_stats_get(struct worker *w, struct slot_stats *out);
struct job *job_new(enum job_type type, uint64_t owner);

/* session.c: the worker's side of a client */
void session_start(struct worker *w, struct client *c);
/* JOB_END, JOB_PROBE, JOB_CARDS for the session of @j->owner, if it is ours. */
void session_job(struct worker *w, struct job *j);
/* The worker stops: its session ends with @why. */
void session_stop(struct worker *w, const char *why);

/* pcscwatch.c: the thread writes @fd on every change it sees */
int pcsc_watch_start(struct pcsc_watch *pw, int fd);
void pcsc_watch_stop(struct pcsc_watch *pw);

/* inventory.c */
void worker_inventory(struct worker *w, struct job *j);
void inventory_start(struct bankd *bd);
void inventory_stop(struct bankd *bd);
void inventory_done(struct bankd *bd, struct worker *w, struct job *j);
/* SIGHUP: every idle slot's card is read again now. */
void inventory_rescan(struct bankd *bd);
/* The server link came up: every slot is told again, if it keeps them. */
void inventory_server_up(struct bankd *bd);

/* clients.c */
void clients_accept(struct net_listener *l, int fd);
/* JOB_GONE and JOB_ALIVE from a worker. */
void clients_job_done(struct bankd *bd, struct job *j);
/* What both sides send a client they serve: the caller owns @c. */
void client_send(struct client *c, const struct rspro_pdu *pdu);
void client_error_ind(struct client *c, const char *why);
void client_connect_res(struct client *c, int32_t result);
/* A refused peer counts toward its address's reconnect storm (any thread). */
void client_peer_refused(struct client *c);
/* "refused: @why" in the log and to the client (errorInd), and counted so. */
void client_refused(struct client *c, const char *why);
/* The map of @bank_slot went away or changed: its client goes. */
void clients_unmap(struct bankd *bd, uint16_t bank_slot, const char *why);
/* @bank_slot was mapped anew: a client waiting for it gets its card. */
void clients_mapped(struct bankd *bd, uint16_t bank_slot);
/* pcscd's readers changed: every client waiting for its card tries now. */
void clients_cards_changed(struct bankd *bd);
void clients_close_all(struct bankd *bd);

/* metrics.c: the series of GET /metrics */
void bankd_metrics(struct bankd *bd, struct metrics_out *o);

/* gsmtap.c */
int gsmtap_open(const char *host);
void gsmtap_send(struct bankd *bd, uint16_t slot, bool atr, const uint8_t *a,
		 size_t alen, const uint8_t *b, size_t blen);

#endif
