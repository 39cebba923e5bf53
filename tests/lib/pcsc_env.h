/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A private PC/SC world for tests: Debian's pcscd in the foreground in its
 * own mount namespace (its socket bound to a test directory, reached with
 * PCSCLITE_CSOCK_NAME, so the machine's pcscd is untouched), vpcd readers,
 * and remsim-softsim serving cards in them.
 */
#ifndef TESTS_PCSC_ENV_H
#define TESTS_PCSC_ENV_H

#include <stdbool.h>
#include <stddef.h>

#include "daemon.h"

struct pcsc_env {
	char dir[64];
	int port_base;
	unsigned int cards;
	struct daemon pcscd, softsim;
	char csv[100], ctl[100], cmdlog[100], state[100];
	char sock[100];		/* pcscd's socket: PCSCLITE_CSOCK_NAME for its clients */
};

/* Benchmarks: the optimised softsim instead of its ASan build. */
extern bool pcsc_env_fast;
/* A profile file for the softsim, or NULL for default cards. */
extern const char *pcsc_env_profile;

/* Starts pcscd and @cards softsim cards; waits until every card is present. */
int pcsc_env_start(struct pcsc_env *e, unsigned int cards);
void pcsc_env_stop(struct pcsc_env *e);
int pcsc_env_start_pcscd(struct pcsc_env *e);
/* Starts (again) the softsim, on the same state directory and log. */
int pcsc_env_start_softsim(struct pcsc_env *e);
/* Waits until pcscd sees all cards (or only those not removed). */
bool pcsc_env_wait_cards(struct pcsc_env *e, int ms);
/*
 * Waits until pcscd has seen card @n go. A card put back before pcscd
 * polled its removal is never seen again (pcscd keeps "removed" from the
 * failed command but its poll saw no change), so tests wait for this.
 */
bool pcsc_env_wait_absent(struct pcsc_env *e, unsigned int n, int ms);
/*
 * pcscd alone, with @readers as its reader.conf.d (remsim-ifd's readers),
 * in a fresh directory; PCSCLITE_CSOCK_NAME points this process at it.
 */
int pcsc_env_start_readers(struct pcsc_env *e, const char *readers);
/* The path of build/lib/libifd-remsim.so of this build tree, in @buf. */
int pcsc_env_ifd_lib(char *buf, size_t size);

/* One control command to the softsim; its reply in @reply. */
int softsim_ctl(struct pcsc_env *e, const char *cmd, char *reply, size_t size);
/* The reader name of card @n. */
void pcsc_env_reader(const struct pcsc_env *e, unsigned int n, char *buf, size_t size);
/* How many lines of the command log mention card @n and @hex. */
int pcsc_env_count_commands(struct pcsc_env *e, unsigned int n, const char *hex);

#endif
