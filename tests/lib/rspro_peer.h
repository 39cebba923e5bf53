/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test peers on the RSPRO library: a connection to a daemon under test that
 * keeps every PDU it receives, so a test can wait for one and look at it.
 */
#ifndef TESTS_RSPRO_PEER_H
#define TESTS_RSPRO_PEER_H

#include <stdbool.h>

#include "remsim/rspro_conn.h"
#include "remsim/rspro_tls.h"

#define TPEER_INBOX	64

struct tpeer {
	struct ev_loop *loop;
	struct rspro_conn *conn;
	struct rspro_pdu *inbox[TPEER_INBOX];
	int count;
	bool closed;
	int pongs;		/* PONGs to our PINGs */
	char why[200];
};

/* Set: the peers that connect speak TLS with these credentials. */
extern struct rspro_tls *tpeer_tls;
/* Set with tpeer_tls: the session ticket kept and used, as a daemon's link does. */
extern struct rspro_tls_resume *tpeer_resume;

/* Connects to 127.0.0.1:@port (answers PINGs, sends none). */
int tpeer_connect(struct tpeer *t, struct ev_loop *loop, int port);
/*
 * Connects as osmo-remsim's RSPRO client FSM does: keep-alive from the
 * start (a PING at once, then every 30 s, 10 s for the PONG), ID_GET
 * answered with ID_RESP and ID_ACK.
 */
int tpeer_connect_osmo(struct tpeer *t, struct ev_loop *loop, int port);
/*
 * Accepts one connection on listening socket @lfd within @ms, with the
 * accepting side's CCM rules: a fake server for a daemon that connects.
 */
int tpeer_accept(struct tpeer *t, struct ev_loop *loop, int lfd, int ms);
void tpeer_close(struct tpeer *t);
int tpeer_send(struct tpeer *t, const struct rspro_pdu *pdu);
/*
 * Runs the loop until a PDU of type @msg arrives (taken out of the inbox
 * into @out, which may be NULL) or @ms pass: true if it came.
 */
bool tpeer_wait(struct tpeer *t, enum rspro_msg msg, struct rspro_pdu *out, int ms);
/* Runs the loop until the daemon closed the connection or @ms pass. */
bool tpeer_wait_closed(struct tpeer *t, int ms);
/* Runs the loop for @ms; returns how many PDUs of @msg are in the inbox. */
int tpeer_settle(struct tpeer *t, enum rspro_msg msg, int ms);

/* A bankd and a client registering as such; true when the server said ok. */
bool tpeer_bankd(struct tpeer *t, struct ev_loop *loop, int port, int bank_id,
		 int slots, int listen_port);
bool tpeer_client(struct tpeer *t, struct ev_loop *loop, int port, int client_id,
		  int slot);
/* The same, with the ConnectClientRes result (or -errno when none came). */
int tpeer_client_result(struct tpeer *t, struct ev_loop *loop, int port, int client_id,
			int slot);
/* The same, announcing remsim's extensions @exts (NULL: none, as osmo). */
int tpeer_client_exts(struct tpeer *t, struct ev_loop *loop, int port, int client_id,
		      int slot, const char *exts);

/*
 * PDUs that reached undefined behaviour in asn1c 0.9.28's BER decoder before
 * scripts/asn1-gen's fixes 3 and 4, so that a sanitizer build of a daemon
 * aborted on each: negative INTEGERs and lengths in eight octets. In hex,
 * NULL-terminated.
 */
extern const char *const tpeer_hostile_pdus[];

/*
 * Sends each of tpeer_hostile_pdus on a connection of its own to
 * 127.0.0.1:@port; returns how many of them the daemon refused by closing
 * that connection within a few seconds.
 */
int tpeer_send_hostile(struct ev_loop *loop, int port);

/* Runs @loop for @ms. */
void tpeer_run(struct ev_loop *loop, int ms);

#endif
