/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The whole remote-SIM chain for tests, the demo, benchmarks and the fault
 * suite: a private pcscd with remsim-softsim cards (pcsc_env.h),
 * remsim-server on a fresh SQLite database, remsim-bankd with a slot per
 * card, and remsim-client for the kernel's slots. Every call returns 0 or
 * -errno (an HTTP status for the REST helpers), so callers decide what a
 * failure means.
 */
#ifndef TESTS_CHAIN_H
#define TESTS_CHAIN_H

#include <stdbool.h>

#include "daemon.h"
#include "pcsc_env.h"

/* What chain_start_opts() sets up beyond the defaults. */
struct chain_opts {
	unsigned int cards;
	bool no_client;
	/* bankd run behind a prefix ("ip netns exec bank"), reaching the server here */
	char *bankd_prefix[4];
	const char *server_host;	/* as bankd sees the server (127.0.0.1) */
	const char *db_dir;		/* the server's database directory (the chain's) */
};

struct chain {
	struct chain_opts o;
	struct pcsc_env env;
	struct daemon server, bankd, client;
	int rspro_port, rest_port, bankd_port;
	unsigned int cards;
	char dir[64];
	char *client_args[16];	/* what the client was started with, for restarts */
};

/* pcscd with @cards cards, the server and bankd; the client unless !client. */
int chain_start(struct chain *c, unsigned int cards, bool client);
int chain_start_opts(struct chain *c, const struct chain_opts *o);
/* Waits until the bankd registered with the server (REST lists it). */
int chain_wait_bankd(struct chain *c, int ms);
/* remsim-client for the chain's server, with @args (NULL-terminated) too. */
int chain_start_client(struct chain *c, char *const *args);
/* The daemons again, as they were started (after a kill -9, say). */
int chain_start_server(struct chain *c);
int chain_start_bankd(struct chain *c);
/* SIGTERM to everything, pcscd last; 0 if every daemon exited cleanly. */
int chain_stop(struct chain *c);

/* REST: map bank slot @bank_slot of bank 1 to client @client_id:@client_slot. */
int chain_map(struct chain *c, int bank_slot, int client_id, int client_slot);
/* REST: remove the map of bank 1's slot @bank_slot. */
int chain_unmap(struct chain *c, int bank_slot);

/* Authentications (3G and 2G) the cards saw: all, or those seen twice. */
int chain_authentications(struct chain *c, bool dup);
/* The resident set of a daemon, in KiB, or -1. */
long chain_rss_kib(const struct daemon *d);

#endif
