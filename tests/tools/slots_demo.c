// SPDX-License-Identifier: GPL-2.0
/*
 * slots_demo - the kernel half of remsim at work, for make demo until the
 * daemons take over: simulated slots, a phone in each, a software card
 * behind each slot's owner, all phone sessions at once; then one slot gets
 * another card live and its phone reads the new IMSI.
 *
 *	slots_demo [SLOTS]
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "card.h"
#include "modem.h"
#include "owner.h"
#include "remsim/nl.h"
#include "session.h"
#include "slotdev.h"

#define SLOTS_MAX	16

struct phone {
	struct slot_fixture	fx;
	struct card_profile	prof;
	struct card		*card;
	struct owner		owner;
	struct session_result	r;
	int			ret;
};

static void *run(void *arg)
{
	struct phone *p = arg;
	struct session_opts o = { .pps = true, .have_keys = true, .status_polls = 2 };

	memcpy(o.ki, p->prof.ki, 16);
	memcpy(o.opc, p->prof.opc, 16);
	o.sqn = (uint64_t)(time(NULL) & 0xffffff) << 5;
	p->ret = session_run(p->fx.modem, &o, &p->r);
	return NULL;
}

static void row(const struct phone *p)
{
	printf("  remsim%-3u %-20s %-16s %5u %8.0f   %s\n", p->fx.index, p->r.iccid, p->r.imsi,
	       p->r.commands, session_percentile(&p->r, 50) / 1e3,
	       p->ret ? p->r.error : "ok");
}

static int attach(struct phone *p, unsigned int card_no)
{
	card_profile_default(&p->prof, card_no);
	p->card = card_new(&p->prof);
	if (!p->card)
		return -1;
	return owner_start(&p->owner, p->fx.fd, p->card);
}

int main(int argc, char **argv)
{
	unsigned int n = argc > 1 ? atoi(argv[1]) : 4;
	struct phone phones[SLOTS_MAX], *p;
	pthread_t th[SLOTS_MAX];
	int failed = 0, ret;

	if (!n || n > SLOTS_MAX)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	memset(phones, 0, sizeof(phones));
	printf("== %u simulated slots, a phone and a software card on each\n", n);
	for (unsigned int i = 0; i < n; i++) {
		ret = slot_fixture(&phones[i].fx, O_RDWR);
		if (!ret)
			ret = attach(&phones[i], 100 + i);
		if (ret) {
			fprintf(stderr, "slots_demo: slot %u: %s\n", i, strerror(-ret));
			return 1;
		}
	}
	printf("== phone sessions (ATR, PPS, select, ICCID, IMSI, USIM and GSM auth, STATUS)\n");
	for (unsigned int i = 0; i < n; i++)
		pthread_create(&th[i], NULL, run, &phones[i]);
	for (unsigned int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	printf("  %-9s %-20s %-16s %5s %8s   %s\n", "slot", "ICCID", "IMSI", "APDUs", "p50 us",
	       "result");
	for (unsigned int i = 0; i < n; i++) {
		row(&phones[i]);
		failed |= phones[i].ret;
	}

	/* A live remap: slot 0's owner serves another card; the phone resets. */
	p = &phones[0];
	printf("== remsim%u gets card %u instead of card %u\n", p->fx.index, 100 + n, 100);
	failed |= owner_stop(&p->owner);
	card_free(p->card);
	if (attach(p, 100 + n))
		return 1;
	run(p);
	row(p);
	failed |= p->ret || strcmp(p->r.imsi, p->prof.imsi);
	for (unsigned int i = 0; i < n; i++) {
		failed |= owner_stop(&phones[i].owner);
		card_free(phones[i].card);
		slot_fixture_done(&phones[i].fx);
	}
	printf("== %s\n", failed ? "FAILED" : "all phones served");
	return failed ? 1 : 0;
}
