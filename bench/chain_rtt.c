// SPDX-License-Identifier: GPL-2.0
/*
 * chain_rtt - where the time of a remote-SIM command goes, in the VM. The
 * scripted phone session (28 commands) runs through the whole chain (phone,
 * remsim.ko, remsim-client, remsim-bankd, pcscd, vpcd, softsim), and the
 * same session on a slot whose owner answers from a local software card
 * (the kernel's share). Beside them: STATUS through bankd from an RSPRO
 * client (network, bankd, pcscd and card) and STATUS by direct
 * SCardTransmit (pcscd and card). The client's share is what is left.
 *
 *	chain_rtt		run in the VM (make bench)
 */
#include <PCSC/winscard.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "http.h"
#include "measure.h"
#include "owner.h"
#include "pcsc_env.h"
#include "remsim/nl.h"
#include "rspro_peer.h"

#define ROUNDS	200

static const uint8_t status[] = { 0xa0, 0xf2, 0x00, 0x00, 0x16 };
static struct pcsc_env env;
static struct daemon server, bankd, client;
static int rspro, rest, bport;

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t p50(uint64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return v[n / 2];
}

static int start(const char *dir)
{
	char db[96], log[96], rs[8], rt[8], bp[8];

	rspro = free_port();
	rest = free_port();
	bport = free_port();
	snprintf(rs, sizeof(rs), "%d", rspro);
	snprintf(rt, sizeof(rt), "%d", rest);
	snprintf(bp, sizeof(bp), "%d", bport);
	snprintf(db, sizeof(db), "%s/server.db", dir);
	snprintf(log, sizeof(log), "%s/server.log", dir);
	{
		char *argv[] = { strdup(daemon_bin_fast("remsim-server")), "-D", db, "--rspro-port",
				 rs, "--rest-port", rt, "-e", "error", NULL };

		if (daemon_start(&server, argv, log) || !wait_port(rest, 10000))
			return -1;
	}
	snprintf(log, sizeof(log), "%s/bankd.log", dir);
	{
		char *argv[] = { strdup(daemon_bin_fast("remsim-bankd")), "-i", "127.0.0.1", "-p", rs,
				 "-n", "3", "-P", bp, "-S", env.csv, "-e", "error", NULL };

		if (daemon_start(&bankd, argv, log) || !wait_port(bport, 10000))
			return -1;
	}
	snprintf(log, sizeof(log), "%s/client.log", dir);
	{
		char *argv[] = { strdup(daemon_bin_fast("remsim-client")), "-i", "127.0.0.1", "-p",
				 rs, "--log-level", "error", NULL };

		return daemon_start(&client, argv, log);
	}
}

static int map(int bank_slot, int client_id)
{
	char json[200], body[1024];

	snprintf(json, sizeof(json),
		 "{\"bank\":{\"bankId\":1,\"slotNr\":%d},\"client\":{\"clientId\":%d,\"slotNr\":0}}",
		 bank_slot, client_id);
	return http_json(rest, "POST", "/api/backend/v1/slotmaps", json, body, sizeof(body)) == 201 ?
	       0 : -1;
}

/* The session on a simulated slot served by the chain, as client 70:0. */
static int chain_session(struct session_result *r)
{
	struct rsnl_map m = { .mapped = true, .client_id = 70 };
	struct session_opts o = { .have_keys = true, .sqn = 1 << 5, .status_polls = 2 };
	struct card_profile prof;
	struct slot_fixture fx;
	int tries, ret = -1;

	if (slot_fixture(&fx, -1) || rsnl_slot_set(fx.nl, fx.index, &m) || map(0, 70))
		return -1;
	card_profile_default(&prof, 0);
	memcpy(o.ki, prof.ki, 16);
	memcpy(o.opc, prof.opc, 16);
	for (tries = 0; tries < 60 && ret; tries++) {
		memset(r, 0, sizeof(*r));
		ret = session_run(fx.modem, &o, r);
		if (ret)
			usleep(500000);
	}
	/* once more now that everything is warm */
	if (!ret) {
		memset(r, 0, sizeof(*r));
		o.sqn += 1 << 5;
		ret = session_run(fx.modem, &o, r);
	}
	slot_fixture_done(&fx);
	return ret;
}

/* STATUS through bankd from an RSPRO client, card 1, as client 71:0. */
static int bankd_status(uint64_t *lat, struct ev_loop *loop)
{
	struct rspro_client_slot cs = { 71, 0 };
	struct rspro_identity id;
	struct rspro_pdu pdu;
	struct tpeer t;
	int i, tries;

	if (map(1, 71))
		return -1;
	rspro_identity_init(&id, RSPRO_COMP_CLIENT, "bench", "remsim-client", "b");
	for (tries = 0; tries < 40; tries++) {
		if (!tpeer_connect(&t, loop, bport)) {
			rspro_connect_client_req(&pdu, &id, &cs);
			tpeer_send(&t, &pdu);
			if (tpeer_wait(&t, RSPRO_SET_ATR_REQ, NULL, 2000))
				break;
			tpeer_close(&t);
		}
		usleep(250000);
	}
	if (tries == 40)
		return -1;
	for (i = 0; i < ROUNDS; i++) {
		uint64_t t0 = now_ns();

		rspro_tpdu(&pdu, RSPRO_TPDU_MODEM_TO_CARD, cs, (struct rspro_bank_slot){ 1, 1 },
			   status, sizeof(status));
		tpeer_send(&t, &pdu);
		if (!tpeer_wait(&t, RSPRO_TPDU_CARD_TO_MODEM, &pdu, 5000))
			return -1;
		lat[i] = now_ns() - t0;
	}
	tpeer_close(&t);
	return 0;
}

/* STATUS by direct SCardTransmit on card 2. */
static int direct_status(uint64_t *lat)
{
	SCARDCONTEXT ctx;
	SCARDHANDLE card;
	DWORD proto, rlen;
	uint8_t resp[300];
	char reader[64];
	int i;

	pcsc_env_reader(&env, 2, reader, sizeof(reader));
	if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx) ||
	    SCardConnect(ctx, reader, SCARD_SHARE_EXCLUSIVE, SCARD_PROTOCOL_T0, &card, &proto))
		return -1;
	for (i = 0; i < ROUNDS; i++) {
		uint64_t t0 = now_ns();

		rlen = sizeof(resp);
		if (SCardTransmit(card, SCARD_PCI_T0, status, sizeof(status), NULL, resp, &rlen))
			return -1;
		lat[i] = now_ns() - t0;
	}
	SCardDisconnect(card, SCARD_UNPOWER_CARD);
	SCardReleaseContext(ctx);
	return 0;
}

int main(void)
{
	static struct served_phone local;
	static struct session_result chain;
	static uint64_t bankd_lat[ROUNDS], direct_lat[ROUNDS];
	char dir[] = "/tmp/remsim-chain-bench-XXXXXX", cmd[100];
	struct ev_loop *loop = ev_loop_new();
	uint64_t c50, k50, b50, d50;

	signal(SIGPIPE, SIG_IGN);
	pcsc_env_fast = true;
	if (slot_modules_load() || !mkdtemp(dir) || pcsc_env_start(&env, 3) || start(dir)) {
		fprintf(stderr, "chain_rtt: the chain did not start (%s)\n", dir);
		return 1;
	}
	/* the kernel's share: the same session, answered from a local card */
	if (served_phone_setup(&local, 0)) {
		fprintf(stderr, "chain_rtt: no local slot\n");
		return 1;
	}
	served_phone_run(&local);
	if (local.ret || served_phone_done(&local)) {
		fprintf(stderr, "chain_rtt: local session failed: %s\n", local.r.error);
		return 1;
	}
	if (chain_session(&chain)) {
		fprintf(stderr, "chain_rtt: the session through the chain failed: %s\n", chain.error);
		return 1;
	}
	if (bankd_status(bankd_lat, loop) || direct_status(direct_lat)) {
		fprintf(stderr, "chain_rtt: bankd or direct STATUS failed\n");
		return 1;
	}
	c50 = session_percentile(&chain, 50);
	k50 = session_percentile(&local.r, 50);
	b50 = p50(bankd_lat, ROUNDS);
	d50 = p50(direct_lat, ROUNDS);
	printf("# phone session (%u commands) per command, p50; STATUS x%d for the parts\n",
	       chain.commands, ROUNDS);
	printf("chain_cmd_p50: %.1f us (%.2fx vs kernel_local_card)\n", c50 / 1e3, (double)c50 / k50);
	printf("kernel_local_card_p50: %.1f us\n", k50 / 1e3);
	printf("bankd_rspro_status_p50: %.1f us\n", b50 / 1e3);
	printf("card_direct_status_p50: %.1f us\n", d50 / 1e3);
	printf("network_bankd_share_p50: %.1f us\n", (b50 > d50 ? b50 - d50 : 0) / 1e3);
	printf("client_share_p50: %.1f us\n",
	       (c50 > k50 + b50 ? c50 - k50 - b50 : 0) / 1e3);
	daemon_stop(&client, SIGTERM, 5000);
	daemon_stop(&bankd, SIGTERM, 5000);
	daemon_stop(&server, SIGTERM, 5000);
	pcsc_env_stop(&env);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) ? 1 : 0;
}
