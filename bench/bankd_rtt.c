// SPDX-License-Identifier: GPL-2.0
/*
 * bankd_rtt - an APDU through remsim-bankd (RSPRO client -> bankd -> pcscd
 * -> vpcd -> remsim-softsim and back) against the same APDU by direct
 * SCardTransmit on the same card in the same run; for one slot, then 16
 * slots in parallel. STATUS (A0 F2 00 00 16) is the command: 5 bytes out,
 * 24 back.
 *
 *   bankd_rtt [ROUNDS]
 */
#include <PCSC/winscard.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "http.h"
#include "measure.h"
#include "pcsc_env.h"
#include "rspro_peer.h"

#define SLOTS	16

static const uint8_t status[] = { 0xa0, 0xf2, 0x00, 0x00, 0x16 };
static unsigned int rounds;
static uint64_t *direct_lat[SLOTS];
static struct pcsc_env env;

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t pct(uint64_t *v, size_t n, unsigned int p)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return v[(n - 1) * p / 100];
}

/* Direct PC/SC on card @n: its own context, as a bankd worker has. */
static void *direct(void *arg)
{
	unsigned int n = (uintptr_t)arg, i;
	SCARDCONTEXT ctx;
	SCARDHANDLE card;
	DWORD proto, rlen;
	uint8_t resp[300];
	char reader[64];

	pcsc_env_reader(&env, n, reader, sizeof(reader));
	if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx) ||
	    SCardConnect(ctx, reader, SCARD_SHARE_EXCLUSIVE, SCARD_PROTOCOL_T0, &card, &proto))
		return (void *)1;
	for (i = 0; i < rounds; i++) {
		uint64_t t0 = now_ns();

		rlen = sizeof(resp);
		if (SCardTransmit(card, SCARD_PCI_T0, status, sizeof(status), NULL, resp, &rlen) ||
		    rlen != 24)
			return (void *)1;
		direct_lat[n][i] = now_ns() - t0;
	}
	SCardDisconnect(card, SCARD_UNPOWER_CARD);
	SCardReleaseContext(ctx);
	return NULL;
}

static int run_direct(unsigned int slots)
{
	pthread_t th[SLOTS];
	unsigned int i;
	void *ret;
	int bad = 0;

	for (i = 0; i < slots; i++)
		pthread_create(&th[i], NULL, direct, (void *)(uintptr_t)i);
	for (i = 0; i < slots; i++) {
		pthread_join(th[i], &ret);
		bad |= ret != NULL;
	}
	return bad ? -1 : 0;
}

/* Through bankd: @slots clients, each with one APDU in flight. */
static int run_bankd(struct ev_loop *loop, int port, unsigned int slots, uint64_t *lat)
{
	static struct tpeer c[SLOTS];
	struct rspro_identity id;
	struct rspro_pdu pdu;
	uint64_t t0[SLOTS];
	unsigned int i, r;

	rspro_identity_init(&id, RSPRO_COMP_CLIENT, "bench", "remsim-client", "b");
	for (i = 0; i < slots; i++) {
		struct rspro_client_slot cs = { 100 + i, 0 };

		if (tpeer_connect(&c[i], loop, port))
			return -1;
		rspro_connect_client_req(&pdu, &id, &cs);
		tpeer_send(&c[i], &pdu);
	}
	for (i = 0; i < slots; i++)
		if (!tpeer_wait(&c[i], RSPRO_SET_ATR_REQ, NULL, 20000))
			return -1;
	for (r = 0; r < rounds; r++) {
		for (i = 0; i < slots; i++) {
			rspro_tpdu(&pdu, RSPRO_TPDU_MODEM_TO_CARD,
				   (struct rspro_client_slot){ 100 + i, 0 },
				   (struct rspro_bank_slot){ 1, i }, status, sizeof(status));
			t0[i] = now_ns();
			tpeer_send(&c[i], &pdu);
		}
		for (i = 0; i < slots; i++) {
			if (!tpeer_wait(&c[i], RSPRO_TPDU_CARD_TO_MODEM, &pdu, 10000) ||
			    pdu.tpdu.len != 24)
				return -1;
			lat[r * slots + i] = now_ns() - t0[i];
		}
	}
	for (i = 0; i < slots; i++)
		tpeer_close(&c[i]);
	return 0;
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/remsim-bankd-bench-XXXXXX", db[96], slog[96], blog[96];
	char rs[8], rt[8], bp[8], json[200], body[4096];
	struct ev_loop *loop = ev_loop_new();
	struct daemon server, bankd;
	int rspro, rest, bport, t;
	uint64_t *lat, d1[2], d16[2], b1[2], b16[2];
	unsigned int i, slots;

	rounds = argc > 1 ? strtoul(argv[1], NULL, 0) : 1000;
	signal(SIGPIPE, SIG_IGN);
	pcsc_env_fast = true;
	lat = calloc(rounds * SLOTS, sizeof(*lat));
	for (i = 0; i < SLOTS; i++)
		direct_lat[i] = calloc(rounds, sizeof(uint64_t));
	if (!mkdtemp(dir) || pcsc_env_start(&env, SLOTS)) {
		fprintf(stderr, "bankd_rtt: no PC/SC environment (pcscd, vpcd, softsim)\n");
		return 1;
	}
	rspro = free_port();
	rest = free_port();
	bport = free_port();
	snprintf(rs, sizeof(rs), "%d", rspro);
	snprintf(rt, sizeof(rt), "%d", rest);
	snprintf(bp, sizeof(bp), "%d", bport);
	snprintf(db, sizeof(db), "%s/server.db", dir);
	snprintf(slog, sizeof(slog), "%s/server.log", dir);
	snprintf(blog, sizeof(blog), "%s/bankd.log", dir);
	{
		char *sargv[] = { strdup(daemon_bin_fast("remsim-server")), "-D", db, "--rspro-port",
				  rs, "--rest-port", rt, "-e", "error", NULL };
		char *bargv[] = { strdup(daemon_bin_fast("remsim-bankd")), "-i", "127.0.0.1", "-p",
				  rs, "-n", "16", "-I", "127.0.0.1", "-P", bp, "-S", env.csv, "-e",
				  "error", NULL };

		if (daemon_start(&server, sargv, slog) || !wait_port(rest, 5000) ||
		    daemon_start(&bankd, bargv, blog) || !wait_port(bport, 5000)) {
			fprintf(stderr, "bankd_rtt: server or bankd did not start (%s)\n", dir);
			return 1;
		}
	}
	for (i = 0; i < SLOTS; i++) {
		snprintf(json, sizeof(json),
			 "{\"bank\":{\"bankId\":1,\"slotNr\":%u},\"client\":{\"clientId\":%u,\"slotNr\":0}}",
			 i, 100 + i);
		if (http_json(rest, "POST", "/api/backend/v1/slotmaps", json, body, sizeof(body)) != 201) {
			fprintf(stderr, "bankd_rtt: map %u: %s\n", i, body);
			return 1;
		}
	}
	for (t = 0; t < 100; t++) {
		http_json(rest, "GET", "/api/backend/v1/slotmaps", NULL, body, sizeof(body));
		if (!strstr(body, "NEW") && !strstr(body, "UNACK"))
			break;
		tpeer_run(loop, 50);
	}

	for (slots = 1; slots <= SLOTS; slots += SLOTS - 1) {
		size_t n = (size_t)rounds * slots;
		uint64_t *all = calloc(n, sizeof(*all));

		if (run_direct(slots)) {
			fprintf(stderr, "bankd_rtt: direct SCardTransmit failed\n");
			return 1;
		}
		for (i = 0; i < slots; i++)
			memcpy(all + (size_t)i * rounds, direct_lat[i], rounds * sizeof(uint64_t));
		(slots == 1 ? d1 : d16)[0] = pct(all, n, 50);
		(slots == 1 ? d1 : d16)[1] = pct(all, n, 99);
		free(all);
		if (run_bankd(loop, bport, slots, lat)) {
			fprintf(stderr, "bankd_rtt: through bankd failed (see %s)\n", blog);
			return 1;
		}
		(slots == 1 ? b1 : b16)[0] = pct(lat, n, 50);
		(slots == 1 ? b1 : b16)[1] = pct(lat, n, 99);
	}
	printf("# %u STATUS APDUs per slot; direct = SCardTransmit on the same softsim card\n",
	       rounds);
	printf("pcsc_direct_p50: %.1f us\n", d1[0] / 1e3);
	printf("bankd_rtt_p50: %.1f us (%.2fx vs pcsc_direct)\n", b1[0] / 1e3, (double)b1[0] / d1[0]);
	printf("bankd_rtt_p99: %.1f us (%.2fx vs pcsc_direct)\n", b1[1] / 1e3, (double)b1[1] / d1[1]);
	printf("pcsc_direct_16slots_p50: %.1f us\n", d16[0] / 1e3);
	printf("bankd_rtt_16slots_p50: %.1f us (%.2fx vs pcsc_direct_16slots)\n", b16[0] / 1e3,
	       (double)b16[0] / d16[0]);
	printf("bankd_rtt_16slots_p99: %.1f us (%.2fx vs pcsc_direct_16slots)\n", b16[1] / 1e3,
	       (double)b16[1] / d16[1]);

	daemon_stop(&bankd, SIGTERM, 5000);
	daemon_stop(&server, SIGTERM, 5000);
	pcsc_env_stop(&env);
	snprintf(body, sizeof(body), "rm -rf %s", dir);
	return system(body) ? 1 : 0;
}
