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
#include "chain.h"
#include "rspro_peer.h"

#define SLOTS	16

static const uint8_t status[] = { 0xa0, 0xf2, 0x00, 0x00, 0x16 };
static unsigned int rounds;
static uint64_t *direct_lat[SLOTS];
static struct chain ch;

/* Direct PC/SC on card @n: its own context, as a bankd worker has. */
static void *direct(void *arg)
{
	unsigned int n = (uintptr_t)arg, i;
	SCARDCONTEXT ctx;
	SCARDHANDLE card;
	DWORD proto, rlen;
	uint8_t resp[300];
	char reader[64];

	pcsc_env_reader(&ch.bank[0].env, n, reader, sizeof(reader));
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
	char body[4096];
	struct ev_loop *loop = ev_loop_new();
	uint64_t *lat, d1[2], d16[2], b1[2], b16[2];
	unsigned int i, slots;
	int t;

	rounds = argc > 1 ? strtoul(argv[1], NULL, 0) : 1000;
	signal(SIGPIPE, SIG_IGN);
	lat = calloc(rounds * SLOTS, sizeof(*lat));
	for (i = 0; i < SLOTS; i++)
		direct_lat[i] = calloc(rounds, sizeof(uint64_t));
	if (chain_start(&ch, SLOTS, false)) {
		fprintf(stderr, "bankd_rtt: no PC/SC environment, server or bankd (%s)\n", ch.dir);
		return 1;
	}
	for (i = 0; i < SLOTS; i++) {
		if (chain_map(&ch, i, 100 + i, 0) != 201) {
			fprintf(stderr, "bankd_rtt: map %u refused\n", i);
			return 1;
		}
	}
	for (t = 0; t < 100; t++) {
		http_json(ch.rest_port, "GET", "/api/backend/v1/slotmaps", NULL, body, sizeof(body));
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
		(slots == 1 ? d1 : d16)[0] = percentile(all, n, 50);
		(slots == 1 ? d1 : d16)[1] = percentile(all, n, 99);
		free(all);
		if (run_bankd(loop, ch.bank[0].port, slots, lat)) {
			fprintf(stderr, "bankd_rtt: through bankd failed (see %s)\n", ch.dir);
			return 1;
		}
		(slots == 1 ? b1 : b16)[0] = percentile(lat, n, 50);
		(slots == 1 ? b1 : b16)[1] = percentile(lat, n, 99);
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

	return chain_stop(&ch) ? 1 : 0;
}
