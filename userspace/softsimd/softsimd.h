/* SPDX-License-Identifier: GPL-2.0 */
/* remsim-softsim: virtual SIM cards behind pcscd, through vpcd. */
#ifndef REMSIM_SOFTSIMD_H
#define REMSIM_SOFTSIMD_H

#include <stdbool.h>
#include <stdio.h>

#include "card.h"
#include "profile.h"
#include "remsim/evloop.h"

struct softsim;

struct vcard {
	struct softsim *ss;
	unsigned int idx;
	char name[16];			/* "card3" in log lines */
	struct card *card;
	uint16_t port;			/* its vpcd slot's port */
	int fd;
	struct ev_io io;
	struct ev_timer retry;
	bool connected, powered;
	bool removed;			/* pulled out: stays away */
	bool pull_on_apdu;		/* pull out at the next command */
	unsigned long apdus;
	uint8_t *state;			/* last state written to disk */
	size_t state_len;
	uint8_t rx[2 + 65536];
	size_t rx_len;
};

struct softsim {
	struct ev_loop *loop;
	char vpcd_host[256];
	uint16_t vpcd_port;
	char state_dir[256];
	FILE *command_log;
	unsigned int count;
	struct vcard *cards;
};

void vcard_start(struct vcard *v);
void vcard_stop(struct vcard *v);
void vcard_remove(struct vcard *v);
void vcard_insert(struct vcard *v);

/* Writes the card's state file when it changed (atomic rename). */
void softsim_save_state(struct vcard *v);
/* Loads the card's saved state, if any: 0, -EINVAL (another card's), -errno. */
int softsim_load_state(struct vcard *v);

#endif
