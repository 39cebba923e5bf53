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

static void row(const struct served_phone *p)
{
	printf("  remsim%-3u %-20s %-16s %5u %8.0f   %s\n", p->fx.index, p->r.iccid, p->r.imsi,
	       p->r.commands, session_percentile(&p->r, 50) / 1e3,
	       p->ret ? p->r.error : "ok");
}

int main(int argc, char **argv)
{
	unsigned int n = argc > 1 ? atoi(argv[1]) : 4;
	struct served_phone phones[SLOTS_MAX], *p;
	pthread_t th[SLOTS_MAX];
	int failed = 0, ret;

	if (!n || n > SLOTS_MAX)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	memset(phones, 0, sizeof(phones));
	printf("== %u simulated slots, a phone and a software card on each\n", n);
	for (unsigned int i = 0; i < n; i++) {
		ret = served_phone_setup(&phones[i], 100 + i);
		if (ret) {
			fprintf(stderr, "slots_demo: slot %u: %s\n", i, strerror(-ret));
			return 1;
		}
	}
	printf("== phone sessions (ATR, PPS, select, ICCID, IMSI, USIM and GSM auth, STATUS)\n");
	for (unsigned int i = 0; i < n; i++)
		pthread_create(&th[i], NULL, served_phone_run, &phones[i]);
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
	if (served_phone_swap_card(p, 100 + n))
		return 1;
	served_phone_run(p);
	row(p);
	failed |= p->ret || strcmp(p->r.imsi, p->prof.imsi);
	for (unsigned int i = 0; i < n; i++)
		failed |= served_phone_done(&phones[i]);
	printf("== %s\n", failed ? "FAILED" : "all phones served");
	return failed ? 1 : 0;
}
