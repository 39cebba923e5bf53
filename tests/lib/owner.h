/* SPDX-License-Identifier: GPL-2.0 */
/*
 * owner.h - a slot owner that answers APDUs from a software card in a thread
 * of its own: what remsim-client and a bank do together, without the
 * network, for kernel tests and benchmarks.
 */
#ifndef _OWNER_H
#define _OWNER_H

#include <pthread.h>
#include <stdbool.h>

struct card;

struct owner {
	int		fd;		/* /dev/remsimN, O_RDWR */
	struct card	*card;
	pthread_t	thread;
	volatile bool	stop;
	unsigned int	apdus;
	unsigned int	resets;
	int		error;		/* the first -errno, or 0 */
};

/* Sets the card's ATR on the slot and starts answering. */
int owner_start(struct owner *o, int fd, struct card *card);
/* Stops and joins; returns o->error. */
int owner_stop(struct owner *o);

#include "card.h"
#include "session.h"
#include "slotdev.h"

/*
 * A phone in a simulated slot served by a software card: a slot fixture, a
 * card with profile n, the owner answering from it, the session's result.
 */
struct served_phone {
	struct slot_fixture	fx;
	struct card_profile	prof;
	struct card		*card;
	struct owner		owner;
	struct session_result	r;
	int			ret;
};

/* 0 or -errno. */
int served_phone_setup(struct served_phone *p, unsigned int n);
/* Gives the slot another card (a remap) with profile n. */
int served_phone_swap_card(struct served_phone *p, unsigned int n);
/* Runs the session with the card's keys (a pthread start routine). */
void *served_phone_run(void *arg);
/* Stops the owner, frees the card and the fixture; the owner's error. */
int served_phone_done(struct served_phone *p);

#endif /* _OWNER_H */
