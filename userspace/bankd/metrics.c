// SPDX-License-Identifier: GPL-2.0
/*
 * remsim-bankd's series for GET /metrics (Documentation/metrics.rst): the
 * server link, the client connections, and for every bank slot its APDUs,
 * errors by cause, 6F00 answers, clients taken, whether a client has its
 * card, and the time the card took in SCardTransmit. Every slot is there
 * from the start, so that a slot that never served shows 0, not nothing.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "bankd.h"

static const char *const error_names[SERR_COUNT] = {
	[SERR_NO_CARD] = "no_card", [SERR_CARD] = "card",
	[SERR_REFUSED] = "refused", [SERR_RESET] = "reset",
};

/* The labels of bank slot @i: bank="1",slot="5". */
static void slot_labels(const struct bankd *bd, unsigned int i, char *buf, size_t size)
{
	char bank[8], slot[8];

	snprintf(bank, sizeof(bank), "%u", bd->cfg.bank_id);
	snprintf(slot, sizeof(slot), "%u", i);
	metrics_labels(buf, size, "bank", bank, "slot", slot, NULL);
}

/* One counter of every slot of @st; @off is the field's offset in struct slot_stats. */
static void per_slot(struct bankd *bd, const struct slot_stats *st, struct metrics_out *o,
		     const char *name, const char *help, size_t off)
{
	char labels[64];
	unsigned int i;

	metrics_family(o, name, "counter", help);
	for (i = 0; i < bd->cfg.num_slots; i++) {
		slot_labels(bd, i, labels, sizeof(labels));
		metrics_sample(o, name, labels, *(const uint64_t *)((const char *)&st[i] + off));
	}
}

static void link_series(struct bankd *bd, struct metrics_out *o)
{
	const struct client *c;
	uint64_t n = 0;

	metrics_family(o, "remsim_link_up", "gauge", "1 while the RSPRO link is CONNECTED");
	metrics_sample(o, "remsim_link_up", "peer=\"server\"",
		       rspro_link_state(bd->link) == RSPRO_LINK_CONNECTED);
	metrics_family(o, "remsim_link_connects_total", "counter",
		       "times the RSPRO link came up: 1 plus its reconnects");
	metrics_sample(o, "remsim_link_connects_total", "peer=\"server\"", bd->server_connects);
	for (c = bd->clients; c; c = c->next)
		n++;
	metrics_family(o, "remsim_bankd_peers", "gauge", "client connections now");
	metrics_sample(o, "remsim_bankd_peers", "", n);
}

/* Per slot: a client has the card open; the client slot mapped to it. */
static void slot_state(struct bankd *bd, struct metrics_out *o)
{
	char labels[128], client[16];
	unsigned int i;

	metrics_family(o, "remsim_bankd_slot_up", "gauge",
		       "1 while a client is connected to the slot with its card open");
	for (i = 0; i < bd->cfg.num_slots; i++) {
		slot_labels(bd, i, labels, sizeof(labels));
		metrics_sample(o, "remsim_bankd_slot_up", labels,
			       atomic_load(&bd->workers[i].card_up));
	}
	metrics_family(o, "remsim_bankd_slot_mapped", "gauge",
		       "1 for each bank slot the server mapped, with its client slot");
	for (i = 0; i < bd->cfg.num_slots; i++) {
		char bank[8], slot[8];

		if (!bd->maps[i].used)
			continue;
		snprintf(bank, sizeof(bank), "%u", bd->cfg.bank_id);
		snprintf(slot, sizeof(slot), "%u", i);
		snprintf(client, sizeof(client), "%u:%u", bd->maps[i].client.client_id,
			 bd->maps[i].client.slot_nr);
		metrics_labels(labels, sizeof(labels), "bank", bank, "slot", slot,
			       "client", client, NULL);
		metrics_sample(o, "remsim_bankd_slot_mapped", labels, 1);
	}
}

void bankd_metrics(struct bankd *bd, struct metrics_out *o)
{
	char labels[96], bank[8], slot[8];
	struct slot_stats *st = calloc(bd->cfg.num_slots, sizeof(*st));
	unsigned int i, e;

	if (!st)
		return;
	for (i = 0; i < bd->cfg.num_slots; i++)
		worker_stats_get(&bd->workers[i], &st[i]);
	link_series(bd, o);
	slot_state(bd, o);
	per_slot(bd, st, o, "remsim_bankd_apdus_total", "APDUs the card answered",
		 offsetof(struct slot_stats, apdus));
	per_slot(bd, st, o, "remsim_bankd_sw_6f00_total", "card answers ending in 6F00",
		 offsetof(struct slot_stats, sw_6f00));
	per_slot(bd, st, o, "remsim_bankd_client_connects_total",
		 "clients that took the slot (reconnects included)",
		 offsetof(struct slot_stats, connects));
	metrics_family(o, "remsim_bankd_errors_total", "counter",
		       "failed commands and refused clients of a slot, by cause");
	snprintf(bank, sizeof(bank), "%u", bd->cfg.bank_id);
	for (i = 0; i < bd->cfg.num_slots; i++)
		for (e = 0; e < SERR_COUNT; e++) {
			snprintf(slot, sizeof(slot), "%u", i);
			metrics_labels(labels, sizeof(labels), "bank", bank, "slot", slot,
				       "cause", error_names[e], NULL);
			metrics_sample(o, "remsim_bankd_errors_total", labels,
				       st[i].errors[e]);
		}
	metrics_family(o, "remsim_bankd_card_seconds", "histogram",
		       "time the card took to answer an APDU (SCardTransmit)");
	for (i = 0; i < bd->cfg.num_slots; i++) {
		slot_labels(bd, i, labels, sizeof(labels));
		metrics_histogram(o, "remsim_bankd_card_seconds", labels, &st[i].card);
	}
	free(st);
}
