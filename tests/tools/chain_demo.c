// SPDX-License-Identifier: GPL-2.0
/*
 * chain_demo - remsim doing its real job, for make demo: simulated slots
 * in remsim.ko, remsim-client serving them, remsim-server (SQLite) holding
 * the maps, remsim-bankd with a PC/SC reader per card, pcscd with vpcd and
 * remsim-softsim's virtual cards. Each slot is mapped to a card over REST,
 * a phone in each slot runs the scripted session, then one phone gets
 * another card live and reads its IMSI. At the end of the chain one more
 * card as a local PC/SC reader: remsim-ifd in a pcscd of its own, mapped
 * like the phones, its ATR and ICCID read with plain SCardConnect and
 * SCardTransmit. A table at the end; the exit status says whether
 * everything worked.
 *
 * As an install runs it: TLS 1.3 on every RSPRO link with certificates
 * remsim-pki makes for the demo (or made ahead in DIR, as scripts/demo
 * does on the host: certtool under TCG takes seconds), REST over HTTPS
 * with a bearer token; --plaintext runs everything in the clear, as
 * osmo-remsim does.
 *
 *	chain_demo [--plaintext | --pki DIR] [SLOTS [CARDS]]	(as root, in the VM)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <PCSC/winscard.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "card.h"
#include "chain.h"
#include "daemon.h"
#include "modem.h"
#include "pcsc_env.h"
#include "session.h"
#include "slotdev.h"

#define SLOTS_MAX	8
/* remsim-ifd's reader is this client (the phones are 1..SLOTS_MAX) */
#define IFD_CLIENT	23

struct phone {
	pthread_t th;
	struct slot_fixture fx;
	unsigned int card;
	struct card_profile prof;
	struct session_result r;
	int ret;
	bool remapped;
};

static struct chain chain;
static struct timespec t0;

static double elapsed(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9;
}

static void step(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void step(const char *fmt, ...)
{
	va_list ap;

	printf("[%5.1f s] ", elapsed());
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/*
 * The phone's session until the card it should see answers: the client
 * needs a moment to connect (or reconnect) to the bankd and insert it.
 */
static void *run_phone(void *arg)
{
	struct phone *p = arg;
	struct session_opts o = { .have_keys = true, .status_polls = 2 };
	int tries;

	card_profile_default(&p->prof, p->card);
	memcpy(o.ki, p->prof.ki, 16);
	memcpy(o.opc, p->prof.opc, 16);
	o.sqn = (uint64_t)(time(NULL) & 0xffff) << 5;
	for (tries = 0; tries < 120; tries++) {
		memset(&p->r, 0, sizeof(p->r));
		p->ret = session_run(p->fx.modem, &o, &p->r);
		if (!p->ret && !strcmp(p->r.imsi, p->prof.imsi))
			break;
		if (!p->ret)
			snprintf(p->r.error, sizeof(p->r.error), "IMSI %s, not card %u's", p->r.imsi,
				 p->card);
		p->ret = -1;
		usleep(250000);
	}
	return NULL;
}

static void row(const struct phone *p)
{
	printf("  remsim%-3u %-6s 1:%-3u %-20s %-16s %5u %7.2f ms  %s\n", p->fx.index,
	       p->remapped ? "(new)" : "", p->card, p->r.iccid, p->r.imsi, p->r.commands,
	       session_percentile(&p->r, 50) / 1e6, p->ret ? p->r.error : "ok");
}

static int remsimctl(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int remsimctl(const char *fmt, ...)
{
	char args[200], cmd[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	printf("          $ remsimctl %s\n", args);
	snprintf(cmd, sizeof(cmd), "%s %s", daemon_bin_fast("remsimctl"), args);
	return system(cmd) ? -1 : 0;
}

static int fail(const char *what, int ret)
{
	printf("FAILED: %s (%s)\n", what, strerror(ret < 0 ? -ret : ret));
	chain_stop(&chain);
	return 1;
}

/* Waits up to @ms for a card in @reader, in pcscd's own waits. */
static bool wait_card(SCARDCONTEXT ctx, const char *reader, int ms)
{
	SCARD_READERSTATE rs = { .szReader = reader, .dwCurrentState = SCARD_STATE_UNAWARE };
	struct timespec pause = { 0, 100000000 };
	LONG rv;

	for (; ms > 0; ms -= 250) {
		rv = SCardGetStatusChange(ctx, 250, &rs, 1);
		if (rv == SCARD_S_SUCCESS && (rs.dwEventState & SCARD_STATE_PRESENT))
			return true;
		if (rv == SCARD_S_SUCCESS)
			rs.dwCurrentState = rs.dwEventState & ~SCARD_STATE_CHANGED;
		else if (rv != SCARD_E_TIMEOUT)
			nanosleep(&pause, NULL);	/* the reader not there yet */
	}
	return false;
}

/* One APDU; 0 with data and SW in @rx, or -EIO (PC/SC's error printed). */
static int transmit(SCARDHANDLE h, const uint8_t *cmd, DWORD len, uint8_t *rx, DWORD *rxlen)
{
	LONG rv = SCardTransmit(h, SCARD_PCI_T0, cmd, len, NULL, rx, rxlen);

	if (rv != SCARD_S_SUCCESS) {
		printf("          SCardTransmit: %s\n", pcsc_stringify_error(rv));
		return -EIO;
	}
	return *rxlen >= 2 && rx[*rxlen - 2] == 0x90 ? 0 : -EPROTO;
}

/* EF.ICCID as digits, as any PC/SC program reads it (SELECT is case 4). */
static int read_iccid(SCARDHANDLE h, char iccid[21])
{
	static const uint8_t sel[] = { 0x00, 0xa4, 0x00, 0x04, 0x02, 0x2f, 0xe2, 0x00 };
	static const uint8_t rd[] = { 0x00, 0xb0, 0x00, 0x00, 0x0a };
	uint8_t rx[258], d;
	DWORD len = sizeof(rx);
	int i, k = 0, ret;

	ret = transmit(h, sel, sizeof(sel), rx, &len);
	len = sizeof(rx);
	if (!ret)
		ret = transmit(h, rd, sizeof(rd), rx, &len);
	if (!ret && len != 12)
		ret = -EPROTO;
	for (i = 0; !ret && i < 20; i++) {
		d = i % 2 ? rx[i / 2] >> 4 : rx[i / 2] & 0x0f;
		if (d > 9)
			break;
		iccid[k++] = '0' + d;
	}
	iccid[k] = 0;
	return ret;
}

static void hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

/*
 * The card in the reader against the bank's: its ATR (the softsim's, not
 * a local one of the reader) and its profile's ICCID. 0 or -1.
 */
static int check_ifd_card(SCARDCONTEXT ctx, const char *reader, unsigned int card)
{
	struct card_profile prof;
	const uint8_t *want_atr;
	uint8_t atr[MAX_ATR_SIZE];
	char name[128], atr_hex[2 * MAX_ATR_SIZE + 1], iccid[21] = "";
	DWORD atr_len = sizeof(atr), name_len = sizeof(name), state, proto;
	SCARDHANDLE h;
	size_t want_len;
	int ret = -1;

	if (SCardConnect(ctx, reader, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0, &h, &proto) !=
	    SCARD_S_SUCCESS)
		return -1;
	if (SCardStatus(h, name, &name_len, &state, &proto, atr, &atr_len) == SCARD_S_SUCCESS &&
	    !read_iccid(h, iccid))
		ret = 0;
	SCardDisconnect(h, SCARD_LEAVE_CARD);
	card_profile_default(&prof, card);
	want_atr = card_atr(&want_len);
	hex(atr, ret ? 0 : atr_len, atr_hex);
	printf("          reader \"%s\": ATR %s, ICCID %s\n", name, atr_hex, iccid);
	if (!ret && (atr_len != want_len || memcmp(atr, want_atr, want_len))) {
		printf("          not the ATR of the bank's card\n");
		ret = -1;
	}
	if (!ret && strcmp(iccid, prof.iccid)) {
		printf("          not card %u's ICCID %s\n", card, prof.iccid);
		ret = -1;
	}
	return ret;
}

/*
 * remsim-ifd: card @card of the bank as a PC/SC reader of a pcscd of its
 * own, mapped to client IFD_CLIENT over REST like the phones' cards. 0 or
 * -1, said why.
 */
static int ifd_reader(unsigned int card)
{
	static struct pcsc_env ifd;
	char reader[64];
	SCARDCONTEXT ctx;
	int ret;

	step("remsim-ifd: card %u as a PC/SC reader of its own pcscd (client %u), "
	     "read with SCardConnect/SCardTransmit", card, IFD_CLIENT);
	ret = chain_map(&chain, card, IFD_CLIENT, 0);
	if (ret != 201) {
		printf("FAILED: POST slotmaps for the reader (%d)\n", ret);
		return -1;
	}
	ret = chain_start_ifd(&chain, &ifd, 1, IFD_CLIENT, "");
	if (ret) {
		printf("FAILED: pcscd with remsim-ifd (%s)\n", strerror(-ret));
		return -1;
	}
	/* pcscd's name: FRIENDLYNAME, reader and slot number */
	snprintf(reader, sizeof(reader), "remsim %u:0 00 00", IFD_CLIENT);
	ret = -1;
	if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx) == SCARD_S_SUCCESS) {
		if (!wait_card(ctx, reader, 20000))
			printf("          no card in \"%s\" within 20 s\n", reader);
		else
			ret = check_ifd_card(ctx, reader, card);
		SCardReleaseContext(ctx);
	}
	if (daemon_stop(&ifd.pcscd, SIGTERM, 10000)) {
		printf("          remsim-ifd's pcscd did not exit cleanly\n");
		ret = -1;
	}
	if (ret)
		printf("          (remsim-ifd's pcscd and its log: %s)\n", ifd.dir);
	else
		pcsc_env_stop(&ifd);	/* its directory, too */
	return ret;
}

int main(int argc, char **argv)
{
	struct chain_opts o = { .cards = 8, .tls = true };
	static struct phone phones[SLOTS_MAX];
	unsigned int n = 4, i;
	struct phone *p;
	int failed = 0, ret;

	if (argc > 1 && !strcmp(argv[1], "--plaintext")) {
		o.tls = false;
		argc--;
		argv++;
	} else if (argc > 2 && !strcmp(argv[1], "--pki")) {
		o.pki_dir = argv[2];
		argc -= 2;
		argv += 2;
	}
	if (argc > 1)
		n = atoi(argv[1]);
	if (argc > 2)
		o.cards = atoi(argv[2]);
	/* a card for each phone, one for the remap and one for remsim-ifd */
	if (!n || n > SLOTS_MAX || o.cards < n + 2 || o.cards > 16) {
		fprintf(stderr, "usage: chain_demo [--plaintext | --pki DIR] [SLOTS [CARDS]]: "
			"1..%d slots, two cards more than slots, at most 16\n", SLOTS_MAX);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = slot_modules_load();
	if (ret)
		return fail("loading remsim.ko and remsim_sim.ko", ret);

	step("pcscd + vsmartcard-vpcd + remsim-softsim with %u cards; remsim-server (SQLite), "
	     "remsim-bankd (%u slots), remsim-client", o.cards, o.cards);
	if (o.tls)
		printf("          TLS 1.3 on every RSPRO link, certificates from remsim-pki "
		       "(CA, server, bankd 1, clients 0-1023); REST over HTTPS with a bearer "
		       "token\n");
	else
		printf("          plaintext RSPRO and REST, as osmo-remsim\n");
	ret = chain_start_opts(&chain, &o);
	if (ret)
		return fail("starting the chain", ret);
	printf("          server %d (REST %s %d), bankd %d, state in %s\n", chain.rspro_port,
	       o.tls ? "HTTPS" : "HTTP", chain.rest_port, chain.bank[0].port, chain.dir);

	step("%u simulated slots, a phone in each; their client identities from remsimctl", n);
	for (i = 0; i < n; i++) {
		p = &phones[i];
		ret = slot_fixture(&p->fx, -1);
		if (ret)
			return fail("creating a simulated slot", ret);
		p->card = i;
		if (remsimctl("map remsim%u client %u slot 0", p->fx.index, i + 1))
			return fail("remsimctl map", 0);
	}
	remsimctl("show");

	step("REST: bank 1 slot i -> client i+1 (POST /api/backend/v1/slotmaps)");
	for (i = 0; i < n; i++) {
		ret = chain_map(&chain, i, i + 1, 0);
		if (ret != 201)
			return fail("POST slotmaps", ret < 0 ? ret : EPROTO);
	}

	step("phone sessions on all %u slots at once: ATR, PPS, SELECT, ICCID, IMSI, "
	     "USIM and GSM authentication, STATUS", n);
	for (i = 0; i < n; i++)
		pthread_create(&phones[i].th, NULL, run_phone, &phones[i]);
	for (i = 0; i < n; i++)
		pthread_join(phones[i].th, NULL);
	printf("\n  %-9s %-6s %-5s %-20s %-16s %5s %10s  %s\n", "slot", "", "card", "ICCID", "IMSI",
	       "APDUs", "p50", "result");
	for (i = 0; i < n; i++) {
		row(&phones[i]);
		failed |= phones[i].ret;
	}
	printf("\n");

	p = &phones[0];
	step("live remap over REST: client 1 (remsim%u) from card 0 to card %u", p->fx.index,
	     o.cards - 1);
	ret = chain_unmap(&chain, 0);
	if (ret != 200)
		return fail("DELETE slotmaps", ret < 0 ? ret : EPROTO);
	ret = chain_map(&chain, o.cards - 1, 1, 0);
	if (ret != 201)
		return fail("POST slotmaps", ret < 0 ? ret : EPROTO);
	p->card = o.cards - 1;
	p->remapped = true;
	run_phone(p);
	row(p);
	failed |= p->ret;

	failed |= ifd_reader(n);

	ret = chain_authentications(&chain, true);
	step("authentications that reached a card twice (softsim's command log): %d", ret);
	failed |= ret != 0;
	for (i = 0; i < n; i++)
		slot_fixture_done(&phones[i].fx);
	if (chain_stop(&chain)) {
		printf("a daemon did not exit cleanly\n");
		failed = 1;
	}
	step("%s", failed ? "FAILED" : "every phone served by its remote card");
	return failed ? 1 : 0;
}
