// SPDX-License-Identifier: GPL-2.0
/*
 * bankd_rtt - an APDU through remsim-bankd (RSPRO client -> bankd -> pcscd
 * -> vpcd -> remsim-softsim and back) against the same APDU by direct
 * SCardTransmit on the same card in the same run; for one slot, then 16
 * slots in parallel. STATUS (A0 F2 00 00 16) is the command: 5 bytes out,
 * 24 back.
 *
 * What bankd costs per APDU besides time: its voluntary context switches
 * (every thread's, in the timed 1-slot run) and its system calls, logged
 * by strace -f in a separate 1-slot run of its own: strace stops bankd at
 * every call, so that run's latency means nothing and is not reported.
 *
 *   bankd_rtt [ROUNDS]
 */
#include <PCSC/winscard.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "http.h"
#include "measure.h"
#include "chain.h"
#include "rspro_peer.h"

#define SLOTS	16
/* APDUs in the run under strace: enough for a steady count */
#define COUNTED_MAX	500

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
	LONG rv;

	pcsc_env_reader(&ch.bank[0].env, n, reader, sizeof(reader));
	if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx))
		return (void *)1;
	/* bankd lets go of a card when it sees its client gone: soon, not at once */
	for (i = 0; (rv = SCardConnect(ctx, reader, SCARD_SHARE_EXCLUSIVE, SCARD_PROTOCOL_T0,
					&card, &proto)) == SCARD_E_SHARING_VIOLATION && i < 500; i++)
		usleep(10000);
	if (rv) {
		fprintf(stderr, "bankd_rtt: %s: %s\n", reader, pcsc_stringify_error(rv));
		SCardReleaseContext(ctx);
		return (void *)1;
	}
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

/*
 * What happens around the timed rounds of run_bankd(): the context switch
 * count, or strace attached to bankd for exactly those rounds.
 */
struct meter {
	pid_t bankd;
	bool strace;
	char out[128];		/* strace's log */
	pid_t tracer;
	long before, count;	/* -1: not measured */
	unsigned int apdus;	/* in the rounds measured */
};

static int meter_start(struct meter *m)
{
	m->count = -1;
	if (!m->strace) {
		m->before = pid_vol_switches(m->bankd);
		return 0;
	}
	m->tracer = strace_attach(m->bankd, m->out, false);
	if (m->tracer < 0) {
		m->tracer = 0;
		return -1;
	}
	return 0;
}

/* Calls seen in strace's log, by thread role (0: event loop, 1: workers) and name. */
#define NAMES_MAX	48
struct tally {
	char name[NAMES_MAX][32];
	long calls[NAMES_MAX][2];
	unsigned int n;
};

static void tally_add(struct tally *t, const char *name, int role)
{
	unsigned int i;

	for (i = 0; i < t->n; i++)
		if (!strcmp(t->name[i], name))
			break;
	if (i == t->n) {
		if (t->n == NAMES_MAX)
			return;
		snprintf(t->name[t->n++], sizeof(t->name[0]), "%s", name);
	}
	t->calls[i][role]++;
}

/*
 * The system calls in strace -f's log @path, started ones only (an
 * interrupted call's "resumed" half is the same call), or -1. Each call's
 * count per APDU, split between the event loop thread (@pid) and the
 * workers, goes out as a comment: which calls the hand-off costs.
 */
static long strace_total(const char *path, pid_t pid, unsigned int apdus)
{
	static struct tally t;
	char line[512], name[32];
	long total = 0;
	unsigned int i;
	int tid, role;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	memset(&t, 0, sizeof(t));
	while (fgets(line, sizeof(line), f)) {
		/* "TID name(args...": a call; "TID <... name resumed>", "TID +++": not */
		if (sscanf(line, "%d %31[a-z0-9_]", &tid, name) != 2 ||
		    !strchr(line, '(') || strstr(line, "resumed>"))
			continue;
		role = tid == pid ? 0 : 1;
		tally_add(&t, name, role);
		total++;
	}
	fclose(f);
	for (role = 0; role < 2; role++) {
		printf("#   bankd %s:", role ? "workers" : "event loop");
		for (i = 0; i < t.n; i++)
			if (t.calls[i][role])
				printf(" %s %.2f", t.name[i], (double)t.calls[i][role] / apdus);
		printf(" (per APDU)\n");
	}
	return total;
}

static void meter_stop(struct meter *m)
{
	long after;

	if (!m->strace) {
		after = pid_vol_switches(m->bankd);
		m->count = m->before < 0 || after < 0 ? -1 : after - m->before;
		return;
	}
	if (m->tracer && !strace_detach(m->tracer))
		m->count = strace_total(m->out, m->bankd, m->apdus);
	m->tracer = 0;
}

/* Through bankd: @slots clients, each with one APDU in flight. */
static int run_bankd(struct ev_loop *loop, int port, unsigned int slots, unsigned int n,
		     uint64_t *lat, struct meter *m)
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
	if (m && meter_start(m))
		return -1;
	for (r = 0; r < n; r++) {
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
	if (m)
		meter_stop(m);
	for (i = 0; i < slots; i++)
		tpeer_close(&c[i]);
	return 0;
}

int main(int argc, char **argv)
{
	char body[4096];
	struct ev_loop *loop = ev_loop_new();
	uint64_t *lat, d1[2], d16[2], b1[2], b16[2];
	struct meter sw = { 0 }, sc = { .strace = true };
	unsigned int i, slots, counted;
	int t;

	rounds = argc > 1 ? strtoul(argv[1], NULL, 0) : 1000;
	signal(SIGPIPE, SIG_IGN);
	lat = calloc(rounds * SLOTS, sizeof(*lat));
	for (i = 0; i < SLOTS; i++)
		direct_lat[i] = calloc(rounds, sizeof(uint64_t));
	if (chain_start(&ch, SLOTS, false)) {
		fprintf(stderr, "bankd_rtt: no PC/SC environment, server or bankd (%s)\n", ch.dir);
		chain_stop(&ch);
		return 1;
	}
	for (i = 0; i < SLOTS; i++) {
		if (chain_map(&ch, i, 100 + i, 0) != 201) {
			fprintf(stderr, "bankd_rtt: map %u refused\n", i);
			goto fail;
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
			goto fail;
		}
		for (i = 0; i < slots; i++)
			memcpy(all + (size_t)i * rounds, direct_lat[i], rounds * sizeof(uint64_t));
		(slots == 1 ? d1 : d16)[0] = percentile(all, n, 50);
		(slots == 1 ? d1 : d16)[1] = percentile(all, n, 99);
		free(all);
		sw.bankd = ch.bank[0].bankd.pid;
		if (run_bankd(loop, ch.bank[0].port, slots, rounds, lat, slots == 1 ? &sw : NULL)) {
			fprintf(stderr, "bankd_rtt: through bankd failed (see %s)\n", ch.dir);
			goto fail;
		}
		(slots == 1 ? b1 : b16)[0] = percentile(lat, n, 50);
		(slots == 1 ? b1 : b16)[1] = percentile(lat, n, 99);
	}
	/* last: strace's stops must not touch the timed runs */
	counted = rounds < COUNTED_MAX ? rounds : COUNTED_MAX;
	sc.bankd = ch.bank[0].bankd.pid;
	sc.apdus = counted;
	snprintf(sc.out, sizeof(sc.out), "%s/bankd.strace", ch.dir);
	if (run_bankd(loop, ch.bank[0].port, 1, counted, lat, &sc)) {
		fprintf(stderr, "bankd_rtt: through bankd under strace failed (see %s)\n", ch.dir);
		goto fail;
	}
	if (sc.count < 0 || sw.count < 0) {
		fprintf(stderr, "bankd_rtt: cannot count bankd's system calls (strace) or context switches\n");
		goto fail;
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

	printf("bankd syscalls/APDU: %.1f (osmo-remsim-bankd ~7.5)\n", (double)sc.count / counted);
	printf("bankd voluntary context switches/APDU: %.2f\n", (double)sw.count / rounds);

	return chain_stop(&ch) ? 1 : 0;
fail:
	/* the daemons go, their logs stay for a look */
	chain_stop(&ch);
	return 1;
}
