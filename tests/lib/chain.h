/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The whole remote-SIM chain for tests, the demo, benchmarks and the fault
 * suite: for each bank a private pcscd with remsim-softsim cards
 * (pcsc_env.h) and a remsim-bankd with a slot per card, one remsim-server
 * on a fresh SQLite database, and remsim-client for the kernel's slots.
 * pcscd serves at most 16 readers, so more cards take more banks.
 *
 * Cards are numbered across the banks: card n is bank n / cards + 1, slot
 * n % cards. Every call returns 0 or -errno (an HTTP status for the REST
 * helpers), so callers decide what a failure means.
 */
#ifndef TESTS_CHAIN_H
#define TESTS_CHAIN_H

#include <stdbool.h>

#include "daemon.h"
#include "pcsc_env.h"

#define CHAIN_BANKS_MAX	4

/* The bankd behind a veth pair, in a network namespace of its own. */
#define CHAIN_NETNS	"remsim-bank"
#define CHAIN_HOST_DEV	"rsv0"		/* the host's end */
#define CHAIN_HOST_IP	"10.99.0.1"
#define CHAIN_BANK_DEV	"rsv1"
#define CHAIN_BANK_IP	"10.99.0.2"	/* the bankd's end: where clients reach it */

struct chain_opts {
	unsigned int cards;		/* per bank, at most 16 */
	unsigned int banks;		/* 0 means 1 */
	bool no_client;
	bool netns;			/* bankds in CHAIN_NETNS (chain_netns_create) */
	const char *db_dir;		/* the server's database directory (the chain's) */
	/*
	 * TLS on every RSPRO link with certificates remsim-pki made in the
	 * chain's directory, REST over HTTPS with an admin token: as installed.
	 */
	bool tls;
	/* with tls: a directory remsim-pki made already (NULL: made in the chain's) */
	const char *pki_dir;
	/* bank N's bankd gets these options too (NULL-terminated; may be NULL) */
	char *const *bankd_args[CHAIN_BANKS_MAX];
};

struct chain_bank {
	struct pcsc_env env;
	struct daemon bankd;
	int port;
};

struct chain {
	struct chain_opts o;
	struct chain_bank bank[CHAIN_BANKS_MAX];
	struct daemon server, client;
	int rspro_port, rest_port;
	unsigned int cards;		/* per bank */
	char dir[64];
	char *client_args[32];		/* what the client was started with, for restarts */
	char pki[160];			/* with o.tls: remsim-pki's directory */
	char token[96];			/* with o.tls: REST's bearer token */
};

/* One bank with @cards cards, the server; the client unless !client. */
int chain_start(struct chain *c, unsigned int cards, bool client);
int chain_start_opts(struct chain *c, const struct chain_opts *o);
/* remsim-client for the chain's server, with @args (NULL-terminated) too. */
int chain_start_client(struct chain *c, char *const *args);
/* A daemon again, as it was started (after a kill -9, say). */
int chain_start_server(struct chain *c);
int chain_start_bankd(struct chain *c, unsigned int bank);
/* Waits until bank @bank (0-based) registered with the server. */
int chain_wait_bankd(struct chain *c, unsigned int bank, int ms);
/* SIGTERM to everything, pcscd last; 0 if every daemon exited cleanly. */
int chain_stop(struct chain *c);

/*
 * A REST request over HTTP, or HTTPS with the token when the chain runs
 * TLS: the status, or -errno; @resp gets the body (over HTTPS the whole
 * answer, headers first).
 */
int chain_rest(struct chain *c, const char *method, const char *path, const char *json,
	       char *resp, size_t size);
/* REST: map card @card to client @client_id:@client_slot. */
int chain_map(struct chain *c, int card, int client_id, int client_slot);
/* REST: remove card @card's map. */
int chain_unmap(struct chain *c, int card);

/*
 * remsim-ifd in a pcscd of its own (pcsc_env_start_readers()): @readers
 * readers for the chain's server, reader i client @client_id + i slot 0,
 * named "remsim ID:0" (pcscd adds " NN 00"), over TLS with the chain's
 * client certificate (a conf= file) when the chain runs TLS. @more: more
 * DEVICENAME words, "" for none. This process's PC/SC calls go to it.
 */
int chain_start_ifd(struct chain *c, struct pcsc_env *e, unsigned int readers,
		    unsigned int client_id, const char *more);

/* Authentications (3G and 2G) the cards saw: all, or those seen twice. */
int chain_authentications(struct chain *c, bool dup);
/* Commands starting with @hex_prefix that reached a card twice. */
int chain_duplicates(struct chain *c, const char *hex_prefix);
/* Commands starting with @hex_prefix the cards saw, -1 on error. */
int chain_commands(struct chain *c, const char *hex_prefix);

/* CHAIN_NETNS and its veth pair (loads veth); 0 or -errno. */
int chain_netns_create(void);
void chain_netns_delete(void);

#endif
