// SPDX-License-Identifier: GPL-2.0
/*
 * remsim-server's series for GET /metrics (Documentation/metrics.rst):
 * peers, registrations, map operations, maps by state, and for each map
 * whether its bankd and its client are connected. APDUs go from client to
 * bankd directly: the server never sees one, so it has no APDU counts or
 * latency of its own; those are the bankd's and the client's series.
 */
#include <stdio.h>

#include "server.h"

static const char *const map_op_names[MAP_OP_COUNT] = {
	[MAP_OP_CREATE] = "create", [MAP_OP_DELETE] = "delete",
	[MAP_OP_CREATE_REQ] = "create_req", [MAP_OP_REMOVE_REQ] = "remove_req",
	[MAP_OP_CREATE_OK] = "create_ok", [MAP_OP_CREATE_REFUSED] = "create_refused",
	[MAP_OP_REMOVE_RES] = "remove_res",
};

static const char *const connect_names[CONNECT_COUNT] = {
	[CONNECT_BANKD] = "bankd", [CONNECT_CLIENT] = "client",
	[CONNECT_REJECTED] = "rejected",
};

static const char *const peer_kinds[] = {
	[PEER_ESTABLISHED] = "unidentified", [PEER_CLIENT] = "client",
	[PEER_BANKD] = "bankd", [PEER_REJECTED] = "rejected",
};

static void peers(struct server *srv, struct metrics_out *o)
{
	uint64_t n[PEER_REJECTED + 1] = { 0 };
	char labels[64];
	struct peer *p;
	int i;

	for (p = srv->peers; p; p = p->next)
		n[p->state]++;
	metrics_family(o, "remsim_server_peers", "gauge",
		       "RSPRO connections now, by what they registered as");
	for (i = 0; i <= PEER_REJECTED; i++) {
		metrics_labels(labels, sizeof(labels), "kind", peer_kinds[i], NULL);
		metrics_sample(o, "remsim_server_peers", labels, n[i]);
	}
	metrics_family(o, "remsim_server_connects_total", "counter",
		       "registrations taken (bankd, client) or refused as identityInUse");
	for (i = 0; i < CONNECT_COUNT; i++) {
		metrics_labels(labels, sizeof(labels), "kind", connect_names[i], NULL);
		metrics_sample(o, "remsim_server_connects_total", labels, srv->connects[i]);
	}
}

static void maps(struct server *srv, struct metrics_out *o)
{
	uint64_t n[MAP_DELETING + 1] = { 0 };
	char labels[64];
	struct slotmap *m;
	int i;

	metrics_family(o, "remsim_server_map_operations_total", "counter",
		       "slot map operations: REST create/delete, requests to bankds, their results");
	for (i = 0; i < MAP_OP_COUNT; i++) {
		metrics_labels(labels, sizeof(labels), "op", map_op_names[i], NULL);
		metrics_sample(o, "remsim_server_map_operations_total", labels, srv->map_ops[i]);
	}
	for (m = srv->maps; m; m = m->next)
		n[m->state]++;
	metrics_family(o, "remsim_server_maps", "gauge", "slot maps now, by state");
	for (i = 0; i <= MAP_DELETING; i++) {
		metrics_labels(labels, sizeof(labels), "state", map_state_name(i), NULL);
		metrics_sample(o, "remsim_server_maps", labels, n[i]);
	}
}

/* Per map (not deleted): is its bankd there, its client, is it ACTIVE. */
static void map_links(struct server *srv, struct metrics_out *o)
{
	char labels[160], bank[8], slot[8], client[16];
	struct slotmap *m;
	int peer;

	metrics_family(o, "remsim_server_map_peer_up", "gauge",
		       "1 while the bankd (peer=\"bankd\") or client (peer=\"client\") of a map is connected");
	for (peer = 0; peer < 2; peer++)
		for (m = server_map_first(srv); m; m = server_map_next(m)) {
			bool up = peer ? client_peer(srv, m->client) != NULL :
				  bank_peer(srv, m->bank.bank_id) != NULL;

			snprintf(bank, sizeof(bank), "%u", m->bank.bank_id);
			snprintf(slot, sizeof(slot), "%u", m->bank.slot_nr);
			snprintf(client, sizeof(client), "%u:%u", m->client.client_id,
				 m->client.slot_nr);
			metrics_labels(labels, sizeof(labels), "bank", bank, "slot", slot,
				       "client", client, "peer", peer ? "client" : "bankd", NULL);
			metrics_sample(o, "remsim_server_map_peer_up", labels, up);
		}
	metrics_family(o, "remsim_server_map_active", "gauge",
		       "1 while a map is ACTIVE: its bankd holds it");
	for (m = server_map_first(srv); m; m = server_map_next(m)) {
		snprintf(bank, sizeof(bank), "%u", m->bank.bank_id);
		snprintf(slot, sizeof(slot), "%u", m->bank.slot_nr);
		snprintf(client, sizeof(client), "%u:%u", m->client.client_id, m->client.slot_nr);
		metrics_labels(labels, sizeof(labels), "bank", bank, "slot", slot, "client", client,
			       NULL);
		metrics_sample(o, "remsim_server_map_active", labels, m->state == MAP_ACTIVE);
	}
}

void server_metrics(struct server *srv, struct metrics_out *o)
{
	peers(srv, o);
	maps(srv, o);
	map_links(srv, o);
}
