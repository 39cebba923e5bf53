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

#endif /* _OWNER_H */
