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
 * Beside the alternating 1-slot run, the floor under any design with one
 * TCP round trip: a 24-byte ping-pong over loopback TCP with a forked echo
 * process, where the scheduler puts the two and with the two ends on two
 * CPUs. Then the alternating run and the floor again with every thread of
 * every process of the chain (this one, the echo, the server, the bankds,
 * pcscds and softsims) pinned to one CPU: on a VM whose idle vCPU takes
 * tens of microseconds to wake, the unpinned figures are mostly wake-ups,
 * so the goals are judged on the pinned ones, the wake-up's cost (from the
 * floors) printed beside them. A missed goal is no failure.
 *
 * Then what TLS on the client <-> bankd link adds, in the same run: two
 * bankds under a TLS server (certificates from remsim-pki), bank 1's
 * client listener plaintext, bank 2's TLS, one softsim card each; APDUs
 * alternate between the two links round by round, so that drift (clock,
 * other load) hits both alike. Their system calls per APDU, counted the
 * same way; and the reconnect (TCP, handshake, connectClientReq/Res)
 * plaintext, with a full TLS handshake and with a resumed session. That
 * comparison is a run of its own (--tls): libpcsclite keeps the pcscd
 * socket of its first use for the whole process, so the first run's
 * direct PC/SC would leave the second chain's pcscds unreachable.
 *
 *   bankd_rtt [--tls] [ROUNDS]
 */
#include <PCSC/winscard.h>
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "http.h"
#include "measure.h"
#include "chain.h"
#include "rspro_peer.h"
#include "remsim/rspro_tls.h"

#define SLOTS	16
/* APDUs in the run under strace: enough for a steady count */
#define COUNTED_MAX	500
/* reconnects measured of each kind */
#define RECONNECTS	50
/* issue 20's goals for what bankd adds to an APDU, in us */
#define GOAL_ADDED_P50	15
#define GOAL_ADDED_P99	60
/* the TCP floor's message: about an RSPRO TPDU's header and a short APDU */
#define PING_LEN	24

static const uint8_t status[] = { 0xa0, 0xf2, 0x00, 0x00, 0x16 };
static unsigned int rounds;
static uint64_t *direct_lat[SLOTS];
static struct chain ch;

/*
 * Card @n of bank 1 for direct SCardTransmit, in a context of its own as a
 * bankd worker has: 0, or -1 with the reason printed. bankd lets go of a
 * card when it sees its client gone: soon, not at once.
 */
static int direct_open(unsigned int n, SCARDCONTEXT *ctx, SCARDHANDLE *card)
{
	char reader[64];
	unsigned int i;
	DWORD proto;
	LONG rv;

	pcsc_env_reader(&ch.bank[0].env, n, reader, sizeof(reader));
	if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, ctx))
		return -1;
	for (i = 0; (rv = SCardConnect(*ctx, reader, SCARD_SHARE_EXCLUSIVE, SCARD_PROTOCOL_T0,
					card, &proto)) == SCARD_E_SHARING_VIOLATION && i < 500; i++)
		usleep(10000);
	if (rv) {
		fprintf(stderr, "bankd_rtt: %s: %s\n", reader, pcsc_stringify_error(rv));
		SCardReleaseContext(*ctx);
		return -1;
	}
	return 0;
}

/* Direct PC/SC on card @n: its own context, as a bankd worker has. */
static void *direct(void *arg)
{
	unsigned int n = (uintptr_t)arg, i;
	SCARDCONTEXT ctx;
	SCARDHANDLE card;
	DWORD rlen;
	uint8_t resp[300];

	if (direct_open(n, &ctx, &card))
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

/*
 * A thin RSPRO client for the timed runs: a blocking socket with
 * TCP_NODELAY, the TPDU encoded once, the answer read as raw bytes and
 * decoded after the clock stopped. What the pairs measure is then bankd and
 * the TCP round trip, not the measuring client's event loop and codec
 * (remsim-client's share is bench/chain_rtt's). bankd's keep-alive PINGs
 * are answered.
 */
struct thin {
	int fd;
	uint8_t buf[IPA_RSPRO_HDR_LEN + RSPRO_PDU_MAX];
	size_t have;
};

static void thin_consume(struct thin *t, size_t len)
{
	memmove(t->buf, t->buf + len, t->have - len);
	t->have -= len;
}

/* The next RSPRO frame's length (IPA header included) at t->buf, or 0. */
static size_t thin_frame(struct thin *t)
{
	uint8_t pong[4];

	for (;;) {
		ssize_t n;

		if (t->have >= IPA_HDR_LEN) {
			size_t len = IPA_HDR_LEN + ((size_t)t->buf[0] << 8 | t->buf[1]);

			if (len > sizeof(t->buf))
				return 0;
			if (t->have >= len && t->buf[2] == IPA_PROTO_CCM) {
				if (len > IPA_HDR_LEN && t->buf[3] == IPA_CCM_PING) {
					ipa_ccm_frame(pong, IPA_CCM_PONG);
					if (send(t->fd, pong, sizeof(pong), 0) != sizeof(pong))
						return 0;
				}
				thin_consume(t, len);
				continue;
			}
			if (t->have >= len)
				return len >= IPA_RSPRO_HDR_LEN ? len : 0;
		}
		n = recv(t->fd, t->buf + t->have, sizeof(t->buf) - t->have, 0);
		if (n <= 0)
			return 0;
		t->have += n;
	}
}

/* The frame @len at t->buf decoded into @pdu and consumed: 0 or -1. */
static int thin_decode(struct thin *t, size_t len, struct rspro_pdu *pdu)
{
	struct rspro_error err;
	int ret = rspro_decode(t->buf + IPA_RSPRO_HDR_LEN, len - IPA_RSPRO_HDR_LEN, pdu, &err);

	thin_consume(t, len);
	return ret ? -1 : 0;
}

/* Encodes @pdu with its IPA header into @buf: the frame's length, or 0. */
static size_t thin_encode(const struct rspro_pdu *pdu, uint8_t *buf, size_t size)
{
	int len = rspro_encode(pdu, buf + IPA_RSPRO_HDR_LEN, size - IPA_RSPRO_HDR_LEN, NULL);

	if (len < 0)
		return 0;
	ipa_rspro_header(buf, len);
	return IPA_RSPRO_HDR_LEN + len;
}

/* Connects as client slot @cs and waits for the card's ATR: 0 or -1. */
static int thin_connect(struct thin *t, int port, struct rspro_client_slot cs)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct rspro_identity id;
	struct rspro_pdu pdu;
	uint8_t frame[IPA_RSPRO_HDR_LEN + RSPRO_PDU_MAX];
	size_t len;
	int one = 1;

	t->have = 0;
	t->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (t->fd < 0)
		return -1;
	if (connect(t->fd, (struct sockaddr *)&a, sizeof(a)) ||
	    setsockopt(t->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)))
		return -1;
	rspro_identity_init(&id, RSPRO_COMP_CLIENT, "bench", "remsim-client", "b");
	rspro_connect_client_req(&pdu, &id, &cs);
	len = thin_encode(&pdu, frame, sizeof(frame));
	if (!len || send(t->fd, frame, len, 0) != (ssize_t)len)
		return -1;
	do {
		len = thin_frame(t);
		if (!len || thin_decode(t, len, &pdu))
			return -1;
	} while (pdu.msg != RSPRO_SET_ATR_REQ);
	return 0;
}

/*
 * Through bank @bank's bankd (0-based): @slots thin clients, each with one
 * APDU in flight: all sent, then each answer read in turn; bank 1's client
 * ids from 100, bank 2's from 100 + SLOTS.
 */
static int run_bankd(unsigned int bank, unsigned int slots, unsigned int n, uint64_t *lat,
		     struct meter *m)
{
	static struct thin c[SLOTS];
	struct rspro_pdu pdu;
	uint8_t cmd[SLOTS][64];
	size_t cmd_len[SLOTS], len;
	uint64_t t0[SLOTS];
	unsigned int i, r, opened;
	struct meter *metered = NULL;
	int ret = -1;

	for (opened = 0; opened < slots; opened++) {
		struct rspro_client_slot cs = { 100 + bank * SLOTS + opened, 0 };

		rspro_tpdu(&pdu, RSPRO_TPDU_MODEM_TO_CARD, cs,
			   (struct rspro_bank_slot){ bank + 1, opened }, status, sizeof(status));
		cmd_len[opened] = thin_encode(&pdu, cmd[opened], sizeof(cmd[0]));
		if (!cmd_len[opened] || thin_connect(&c[opened], ch.bank[bank].port, cs)) {
			opened++;
			goto out;
		}
	}
	if (m && meter_start(m))
		goto out;
	metered = m;
	for (r = 0; r < n; r++) {
		for (i = 0; i < slots; i++) {
			t0[i] = now_ns();
			if (send(c[i].fd, cmd[i], cmd_len[i], 0) != (ssize_t)cmd_len[i])
				goto out;
		}
		for (i = 0; i < slots; i++) {
			len = thin_frame(&c[i]);
			lat[r * slots + i] = now_ns() - t0[i];
			if (!len || thin_decode(&c[i], len, &pdu) ||
			    pdu.msg != RSPRO_TPDU_CARD_TO_MODEM || pdu.tpdu.len != 24)
				goto out;
		}
	}
	ret = 0;
out:
	/* a failed round detaches strace too */
	if (metered)
		meter_stop(metered);
	for (i = 0; i < opened; i++)
		if (c[i].fd >= 0)
			close(c[i].fd);
	return ret;
}

/* One client of the TLS comparison: a link to a bankd, its client id. */
struct link {
	struct tpeer t;
	unsigned int client_id, bank_id;
	uint64_t *lat;
};

static int link_open(struct link *l, struct ev_loop *loop, int port, struct rspro_tls *tls)
{
	struct rspro_client_slot cs = { l->client_id, 0 };
	struct rspro_identity id;
	struct rspro_pdu pdu;

	tpeer_tls = tls;
	rspro_identity_init(&id, RSPRO_COMP_CLIENT, "bench", "remsim-client", "b");
	if (tpeer_connect(&l->t, loop, port))
		return -1;
	tpeer_tls = NULL;
	rspro_connect_client_req(&pdu, &id, &cs);
	tpeer_send(&l->t, &pdu);
	return tpeer_wait(&l->t, RSPRO_SET_ATR_REQ, NULL, 20000) ? 0 : -1;
}

/* One STATUS through @l: its round trip in ns, 0 on failure. */
static uint64_t link_apdu(struct link *l)
{
	struct rspro_pdu pdu;
	uint64_t t0;

	rspro_tpdu(&pdu, RSPRO_TPDU_MODEM_TO_CARD, (struct rspro_client_slot){ l->client_id, 0 },
		   (struct rspro_bank_slot){ l->bank_id, 0 }, status, sizeof(status));
	t0 = now_ns();
	tpeer_send(&l->t, &pdu);
	if (!tpeer_wait(&l->t, RSPRO_TPDU_CARD_TO_MODEM, &pdu, 10000) || pdu.tpdu.len != 24)
		return 0;
	return now_ns() - t0;
}

/* @n APDUs through @l alone with bankd @pid under strace: its calls per APDU, or -1. */
static double link_syscalls(struct link *l, pid_t pid, const char *dir, unsigned int n)
{
	struct meter m = { .strace = true, .bankd = pid, .apdus = n };
	unsigned int i;

	snprintf(m.out, sizeof(m.out), "%s/bankd%d.strace", dir, pid);
	if (meter_start(&m))
		return -1;
	for (i = 0; i < n; i++)
		if (!link_apdu(l))
			break;
	meter_stop(&m);
	return i == n && m.count >= 0 ? (double)m.count / n : -1;
}

/*
 * A reconnect to bankd port @port as client @id: TCP, the TLS handshake
 * when @tls (resuming from @resume when it holds a ticket), and the
 * connectClientReq/Res; its time in ns, 0 on failure.
 */
static uint64_t reconnect(struct ev_loop *loop, int port, unsigned int id, struct rspro_tls *tls,
			  struct rspro_tls_resume *resume)
{
	struct tpeer t;
	uint64_t t0 = now_ns(), dt;
	int ret;

	tpeer_tls = tls;
	tpeer_resume = resume;
	ret = tpeer_client_result(&t, loop, port, id, 0);
	dt = now_ns() - t0;
	tpeer_tls = NULL;
	tpeer_resume = NULL;
	tpeer_close(&t);
	/* an id with no map is told cardNotPresent: the connection stands all the same */
	return ret == RSPRO_OK || ret == RSPRO_CARD_NOT_PRESENT ? dt : 0;
}

static struct rspro_tls *client_tls(const struct chain *c)
{
	struct rspro_tls_cfg cfg;
	char err[300];
	struct rspro_tls *tls;

	rspro_tls_cfg_default(&cfg);
	cfg.mode = RSPRO_TLS_ON;
	snprintf(cfg.ca, sizeof(cfg.ca), "%s/ca.pem", c->pki);
	snprintf(cfg.cert, sizeof(cfg.cert), "%s/client-0-1023.pem", c->pki);
	snprintf(cfg.key, sizeof(cfg.key), "%s/client-0-1023.key", c->pki);
	tls = rspro_tls_new(&cfg, true, err, sizeof(err));
	if (!tls)
		fprintf(stderr, "bankd_rtt: client credentials: %s\n", err);
	return tls;
}

static int tls_maps_active(struct chain *c, struct ev_loop *loop)
{
	char body[4096];

	if (chain_map(c, 0, 100, 0) != 201 || chain_map(c, 1, 101, 0) != 201)
		return -1;
	for (int t = 0; t < 100; t++) {
		chain_rest(c, "GET", "/api/backend/v1/slotmaps", NULL, body, sizeof(body));
		if (!strstr(body, "NEW") && !strstr(body, "UNACK"))
			return 0;
		tpeer_run(loop, 50);
	}
	return -1;
}

static void print_reconnects(uint64_t *rc[3])
{
	printf("bankd_reconnect_plain_p50: %.1f us\n", percentile(rc[0], RECONNECTS, 50) / 1e3);
	printf("bankd_reconnect_tls_p50: %.1f us (%.2fx vs bankd_reconnect_plain_p50)\n",
	       percentile(rc[1], RECONNECTS, 50) / 1e3,
	       (double)percentile(rc[1], RECONNECTS, 50) / percentile(rc[0], RECONNECTS, 50));
	printf("bankd_reconnect_tls_resumed_p50: %.1f us (%.2fx vs bankd_reconnect_tls_p50)\n",
	       percentile(rc[2], RECONNECTS, 50) / 1e3,
	       (double)percentile(rc[2], RECONNECTS, 50) / percentile(rc[1], RECONNECTS, 50));
}

/* The reconnects, the three kinds interleaved; client ids 200 up, each used once. */
static int run_reconnects(struct ev_loop *loop, struct chain *c, struct rspro_tls *tls)
{
	struct rspro_tls_resume resume = { 0 };
	static uint64_t plain[RECONNECTS], full[RECONNECTS], resumed[RECONNECTS];
	uint64_t *rc[3] = { plain, full, resumed };
	unsigned int id = 200, i;
	int bad = 0;

	/* the first session's ticket */
	if (!reconnect(loop, c->bank[1].port, id++, tls, &resume) || !resume.data) {
		fprintf(stderr, "bankd_rtt: no session ticket from the first connection\n");
		bad = 1;
	}
	for (i = 0; !bad && i < RECONNECTS; i++) {
		plain[i] = reconnect(loop, c->bank[0].port, id++, NULL, NULL);
		full[i] = reconnect(loop, c->bank[1].port, id++, tls, NULL);
		resumed[i] = reconnect(loop, c->bank[1].port, id++, tls, &resume);
		bad = !plain[i] || !full[i] || !resumed[i];
	}
	if (!bad) {
		printf("# %u reconnects each, %lu of the ticket's resumed\n", RECONNECTS,
		       resume.resumed);
		bad = resume.resumed != RECONNECTS;
	}
	rspro_tls_resume_clear(&resume);
	if (bad) {
		fprintf(stderr, "bankd_rtt: a reconnect failed or did not resume (see %s)\n",
			c->dir);
		return -1;
	}
	print_reconnects(rc);
	return 0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/*
 * Percentile @pct of what the second of each pair of neighbouring APDUs
 * took more than the first: on a busy machine steadier than the difference
 * of the two percentiles (that of two p99s went negative when one side's
 * tail had a stall the other's had not).
 */
static double paired_pct_us(const uint64_t *plain, const uint64_t *tls, unsigned int n,
			    unsigned int pct)
{
	int64_t *d = calloc(n, sizeof(*d));
	double ret;
	unsigned int i;

	if (!d)
		return 0;
	for (i = 0; i < n; i++)
		d[i] = (int64_t)tls[i] - (int64_t)plain[i];
	qsort(d, n, sizeof(*d), cmp_i64);
	ret = d[(size_t)(n - 1) * pct / 100] / 1e3;
	free(d);
	return ret;
}

static void print_tls(uint64_t *plain, uint64_t *tls, unsigned int n, double sc_plain,
		      double sc_tls)
{
	double added = paired_pct_us(plain, tls, n, 50);
	uint64_t p50, p99, t50, t99;

	printf("# client <-> bankd, %u STATUS APDUs each, alternating: plaintext against "
	       "TLS 1.3 (goal: under 1.10x)\n", n);
	printf("# TLS added per APDU, median of neighbouring pairs: %.1f us\n", added);
	/* percentile() sorts: the pairs first */
	p50 = percentile(plain, n, 50);
	p99 = percentile(plain, n, 99);
	t50 = percentile(tls, n, 50);
	t99 = percentile(tls, n, 99);
	printf("bankd_plain_rtt_p50: %.1f us\n", p50 / 1e3);
	printf("bankd_tls_rtt_p50: %.1f us (%.2fx vs bankd_plain_rtt_p50)\n", t50 / 1e3,
	       (double)t50 / p50);
	printf("bankd_plain_rtt_p99: %.1f us\n", p99 / 1e3);
	printf("bankd_tls_rtt_p99: %.1f us (%.2fx vs bankd_plain_rtt_p99)\n", t99 / 1e3,
	       (double)t99 / p99);
	printf("bankd_plain_syscalls_per_apdu: %.1f calls\n", sc_plain);
	printf("bankd_tls_syscalls_per_apdu: %.1f calls (%.2fx vs bankd_plain_syscalls_per_apdu)\n",
	       sc_tls, sc_tls / sc_plain);
}

/* The TLS comparison (see the top of the file); 0 or -1. */
static int run_tls(struct ev_loop *loop, unsigned int n)
{
	static char *const plain_listener[] = { "--tls-bankd", "off", NULL };
	struct chain_opts o = { .cards = 1, .banks = 2, .no_client = true, .tls = true,
				.bankd_args = { plain_listener } };
	struct link l[2] = { { .client_id = 100, .bank_id = 1 },
			     { .client_id = 101, .bank_id = 2 } };
	static struct chain c;
	struct rspro_tls *tls = NULL;
	double sc[2] = { -1, -1 };
	unsigned int r, k, counted = n < COUNTED_MAX ? n : COUNTED_MAX;
	int ret = -1;

	l[0].lat = calloc(n, sizeof(uint64_t));
	l[1].lat = calloc(n, sizeof(uint64_t));
	if (!l[0].lat || !l[1].lat)
		goto out;
	ret = chain_start_opts(&c, &o);
	if (ret || tls_maps_active(&c, loop)) {
		fprintf(stderr, "bankd_rtt: no TLS chain (%s): %s\n", c.dir,
			ret ? strerror(-ret) : "maps not active");
		ret = -1;
		goto out;
	}
	ret = -1;
	tls = client_tls(&c);
	if (!tls || link_open(&l[0], loop, c.bank[0].port, NULL) ||
	    link_open(&l[1], loop, c.bank[1].port, tls)) {
		fprintf(stderr, "bankd_rtt: no link to the bankds (%s)\n", c.dir);
		goto out;
	}
	for (r = 0; r < n; r++) {
		/* which goes first alternates too */
		for (k = 0; k < 2; k++) {
			struct link *x = &l[(r + k) & 1];

			x->lat[r] = link_apdu(x);
			if (!x->lat[r]) {
				fprintf(stderr, "bankd_rtt: APDU %u failed (%s)\n", r, c.dir);
				goto out;
			}
		}
	}
	for (k = 0; k < 2; k++)
		sc[k] = link_syscalls(&l[k], c.bank[k].bankd.pid, c.dir, counted);
	if (sc[0] <= 0 || sc[1] <= 0) {
		fprintf(stderr, "bankd_rtt: cannot count the bankds' system calls (strace)\n");
		goto out;
	}
	print_tls(l[0].lat, l[1].lat, n, sc[0], sc[1]);
	ret = run_reconnects(loop, &c, tls);
out:
	tpeer_close(&l[0].t);
	tpeer_close(&l[1].t);
	if (chain_stop(&c))
		ret = -1;
	rspro_tls_free(tls);
	free(l[0].lat);
	free(l[1].lat);
	return ret;
}

/*
 * Direct SCardTransmit on card 1 and an APDU through bankd on card 0 (client
 * 100, the thin client), alternating APDU by APDU and which goes first, so that the load of
 * the shared machine hits both alike: what bankd adds, from the same
 * seconds. The separate runs above drift apart by up to 3x under load.
 */
static int run_paired(int port, unsigned int n, uint64_t *dl, uint64_t *bl)
{
	struct rspro_client_slot cs = { 100, 0 };
	struct rspro_pdu pdu;
	SCARDCONTEXT ctx;
	SCARDHANDLE card;
	DWORD rlen;
	uint8_t resp[300], cmd[64];
	size_t cmd_len, len;
	struct thin c = { .fd = -1 };
	unsigned int r, k;
	int ret = -1;

	if (direct_open(1, &ctx, &card))
		return -1;
	rspro_tpdu(&pdu, RSPRO_TPDU_MODEM_TO_CARD, cs, (struct rspro_bank_slot){ 1, 0 }, status,
		   sizeof(status));
	cmd_len = thin_encode(&pdu, cmd, sizeof(cmd));
	if (!cmd_len || thin_connect(&c, port, cs))
		goto out_peer;
	for (r = 0; r < n; r++) {
		for (k = 0; k < 2; k++) {
			uint64_t t0 = now_ns();

			if ((r + k) & 1) {
				rlen = sizeof(resp);
				if (SCardTransmit(card, SCARD_PCI_T0, status, sizeof(status), NULL,
						  resp, &rlen) || rlen != 24)
					goto out_peer;
				dl[r] = now_ns() - t0;
				continue;
			}
			if (send(c.fd, cmd, cmd_len, 0) != (ssize_t)cmd_len)
				goto out_peer;
			len = thin_frame(&c);
			bl[r] = now_ns() - t0;
			if (!len || thin_decode(&c, len, &pdu) ||
			    pdu.msg != RSPRO_TPDU_CARD_TO_MODEM || pdu.tpdu.len != 24)
				goto out_peer;
		}
	}
	ret = 0;
out_peer:
	if (c.fd >= 0)
		close(c.fd);
	SCardDisconnect(card, SCARD_UNPOWER_CARD);
	SCardReleaseContext(ctx);
	return ret;
}

/* What bankd added in one alternating run, in us. */
struct added {
	double p50, p99;
};

/* @sfx: "" or "_pinned", after the name's stem */
static struct added print_paired(uint64_t *dl, uint64_t *bl, unsigned int n, const char *sfx)
{
	struct added a = { .p50 = paired_pct_us(dl, bl, n, 50), .p99 = paired_pct_us(dl, bl, n, 99) };
	uint64_t d50, d99, b50, b99;

	printf("# 1 slot, direct (card 1) and through bankd (card 0) alternating, %u each%s\n", n,
	       *sfx ? ", the chain on one CPU" : "");
	/* percentile() sorts: the pairs first */
	d50 = percentile(dl, n, 50);
	d99 = percentile(dl, n, 99);
	b50 = percentile(bl, n, 50);
	b99 = percentile(bl, n, 99);
	printf("pcsc_direct_paired%s_p50: %.1f us\n", sfx, d50 / 1e3);
	printf("bankd_paired%s_p50: %.1f us (%.2fx vs pcsc_direct_paired%s)\n", sfx, b50 / 1e3,
	       (double)b50 / d50, sfx);
	printf("pcsc_direct_paired%s_p99: %.1f us\n", sfx, d99 / 1e3);
	printf("bankd_paired%s_p99: %.1f us (%.2fx vs pcsc_direct_paired%s)\n", sfx, b99 / 1e3,
	       (double)b99 / d99, sfx);
	if (!*sfx)
		printf("# goals: bankd adds at most %u us at p50, %u us at p99\n", GOAL_ADDED_P50,
		       GOAL_ADDED_P99);
	printf("bankd_added%s_p50: %.1f us\n", sfx, a.p50);
	printf("bankd_added%s_p99: %.1f us\n", sfx, a.p99);
	/* the looser reading of the goal: the paths' tails side by side */
	printf("bankd_p99_minus_direct%s_p99: %.1f us\n", sfx, ((double)b99 - (double)d99) / 1e3);
	return a;
}

/*
 * The TCP floor's other end, a process as bankd is: echoes PING_LEN-byte
 * messages on one loopback connection until it closes.
 */
struct echo {
	pid_t pid;
	int fd;			/* the bench's end */
};

static void echo_serve(int lfd, pid_t bench)
{
	char buf[PING_LEN];
	int one = 1, fd;

	/* a bench killed before it connects leaves no echo behind */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != bench)
		_exit(1);
	fd = accept(lfd, NULL, NULL);
	if (fd < 0 || setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)))
		_exit(1);
	while (recv(fd, buf, sizeof(buf), MSG_WAITALL) == sizeof(buf))
		if (send(fd, buf, sizeof(buf), 0) != sizeof(buf))
			_exit(1);
	_exit(0);
}

static int echo_open(struct echo *e)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int one = 1, lfd = socket(AF_INET, SOCK_STREAM, 0);
	pid_t bench = getpid();

	e->pid = -1;
	e->fd = -1;
	/* the port is the kernel's choice: bound and listening before the fork */
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 1) ||
	    getsockname(lfd, (struct sockaddr *)&a, &len))
		goto fail;
	e->pid = fork();
	if (!e->pid)
		echo_serve(lfd, bench);
	if (e->pid < 0)
		goto fail;
	e->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (e->fd < 0 || connect(e->fd, (struct sockaddr *)&a, sizeof(a)) ||
	    setsockopt(e->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)))
		goto fail;
	close(lfd);
	return 0;
fail:
	perror("bankd_rtt: the TCP echo");
	if (lfd >= 0)
		close(lfd);
	return -1;
}

/* @n round trips through the echo into @lat; 0 or -1. */
static int echo_rounds(struct echo *e, unsigned int n, uint64_t *lat)
{
	char buf[PING_LEN] = { 0 };
	unsigned int i;

	for (i = 0; i < n; i++) {
		uint64_t t0 = now_ns();

		if (send(e->fd, buf, sizeof(buf), 0) != sizeof(buf) ||
		    recv(e->fd, buf, sizeof(buf), MSG_WAITALL) != sizeof(buf)) {
			fprintf(stderr, "bankd_rtt: the TCP echo stopped after %u rounds\n", i);
			return -1;
		}
		lat[i] = now_ns() - t0;
	}
	return 0;
}

/* 0 when the echo exited cleanly (it does at the connection's end). */
static int echo_close(struct echo *e)
{
	int st = -1;

	if (e->fd >= 0)
		close(e->fd);
	if (e->pid > 0 && waitpid(e->pid, &st, 0) != e->pid)
		st = -1;
	e->fd = -1;
	e->pid = -1;
	return st;
}

/*
 * The floor with its ends on two CPUs, the echo on the first, this process
 * on the second: the other CPU woken each way, as it is hop by hop in the
 * unpinned runs. 0, 1 with one CPU only (nothing measured), or -1.
 */
static int echo_rounds_2cpus(struct echo *e, unsigned int n, uint64_t *lat, int cpu[2])
{
	struct pinned pe, pb;
	pid_t self = getpid();
	int ret;

	cpu[0] = allowed_cpu(0);
	cpu[1] = allowed_cpu(1);
	if (cpu[1] == -ENOENT)
		return 1;
	if (cpu[0] < 0 || cpu[1] < 0 || pin_pids(&e->pid, 1, cpu[0], &pe)) {
		fprintf(stderr, "bankd_rtt: cannot pin the TCP echo\n");
		return -1;
	}
	if (pin_pids(&self, 1, cpu[1], &pb)) {
		fprintf(stderr, "bankd_rtt: cannot pin the bench\n");
		unpin(&pe);
		return -1;
	}
	ret = echo_rounds(e, n, lat);
	if (unpin(&pb) | unpin(&pe)) {
		fprintf(stderr, "bankd_rtt: cannot put the CPU masks back\n");
		ret = -1;
	}
	return ret;
}

/* The floor's p50 in us, its lines printed (@sfx as print_paired()'s). */
static double print_floor(uint64_t *lat, unsigned int n, const char *sfx)
{
	uint64_t p50 = percentile(lat, n, 50);

	printf("tcp_rtt%s_p50: %.1f us\n", sfx, p50 / 1e3);
	printf("tcp_rtt%s_p99: %.1f us\n", sfx, percentile(lat, n, 99) / 1e3);
	return p50 / 1e3;
}

/* The verdict on the figure as printed: 60.04 us shows as 60.0, and meets 60 */
static void print_goal(const char *what, double us, unsigned int goal)
{
	printf("# goal (pinned): bankd adds <= %u us %s: %.1f us: %s\n", goal, what, us,
	       us < goal + 0.05 ? "met" : "missed");
}

/*
 * Every task of every process of the chain, and the echo's: onto the
 * first CPU this process may use; 0 or -1.
 */
static int pin_chain(pid_t echo, struct pinned *p, int *cpu)
{
	pid_t pids[2 + 3 * CHAIN_BANKS_MAX + 1];
	unsigned int n = 0, b;
	int ret;

	pids[n++] = getpid();
	pids[n++] = echo;
	pids[n++] = ch.server.pid;
	for (b = 0; b < (ch.o.banks ? ch.o.banks : 1); b++) {
		pids[n++] = ch.bank[b].bankd.pid;
		pids[n++] = ch.bank[b].env.pcscd.pid;
		pids[n++] = ch.bank[b].env.softsim.pid;
	}
	*cpu = allowed_cpu(0);
	ret = *cpu < 0 ? *cpu : pin_pids(pids, n, *cpu, p);
	if (ret)
		fprintf(stderr, "bankd_rtt: cannot pin the chain to CPU %d: %s\n", *cpu,
			strerror(-ret));
	return ret ? -1 : 0;
}

/*
 * 16 slots at once, direct then through bankd, with every thread of the
 * chain on one CPU: what bankd's path costs in CPU work against direct
 * PC/SC's when both are busy, without this VM's wake-ups of its other CPU
 * (which dominate the unpinned 16-slot figures: 1.2-10x from one run to
 * the next). @lat holds @nr * SLOTS; the global rounds is run_direct()'s.
 */
static int run_16slots_pinned(unsigned int nr, uint64_t *lat)
{
	size_t n = (size_t)nr * SLOTS;
	uint64_t d50, b50, *all = calloc(n, sizeof(*all));
	struct pinned p;
	int cpu, ret = -1;
	unsigned int i;
	double ratio;

	if (!all || pin_chain(getpid(), &p, &cpu)) {
		free(all);
		return -1;
	}
	if (!run_direct(SLOTS) && !run_bankd(0, SLOTS, nr, lat, NULL))
		ret = 0;
	if (unpin(&p)) {
		fprintf(stderr, "bankd_rtt: cannot put the chain's CPU masks back\n");
		ret = -1;
	}
	if (ret) {
		fprintf(stderr, "bankd_rtt: the 16 slots on CPU %d failed (see %s)\n", cpu, ch.dir);
		free(all);
		return -1;
	}
	for (i = 0; i < SLOTS; i++)
		memcpy(all + (size_t)i * nr, direct_lat[i], nr * sizeof(uint64_t));
	d50 = percentile(all, n, 50);
	b50 = percentile(lat, n, 50);
	ratio = (double)b50 / d50;
	printf("# %u slots at once, every thread of the chain on CPU %d\n", SLOTS, cpu);
	printf("pcsc_direct_16slots_pinned_p50: %.1f us\n", d50 / 1e3);
	printf("bankd_rtt_16slots_pinned_p50: %.1f us (%.2fx vs pcsc_direct_16slots_pinned)\n",
	       b50 / 1e3, ratio);
	printf("# goal (pinned): 16 slots at most 1.2x direct: %.2fx: %s\n", ratio,
	       ratio < 1.205 ? "met" : "missed");
	free(all);
	return 0;
}

/*
 * The alternating run and the TCP floor, unpinned, then again with the
 * chain on one CPU, the goals judged on the latter; 0 or -1 (a missed
 * goal is no failure: shared machines make timing noise).
 */
static int run_paired_blocks(unsigned int n)
{
	uint64_t *dl = calloc(n, sizeof(*dl)), *bl = calloc(n, sizeof(*bl));
	uint64_t *tl = calloc(n, sizeof(*tl));
	struct echo e = { .pid = -1, .fd = -1 };
	double tcp_2cpus = 0, tcp_pinned;
	int cpu, two[2], ret = -1;
	struct pinned p;
	struct added a;

	if (!dl || !bl || !tl || echo_open(&e))
		goto out;
	if (run_paired(ch.bank[0].port, n, dl, bl)) {
		fprintf(stderr, "bankd_rtt: the alternating run failed (see %s)\n", ch.dir);
		goto out;
	}
	print_paired(dl, bl, n, "");
	if (echo_rounds(&e, n, tl))
		goto out;
	printf("# loopback TCP ping-pong with a process, %u bytes each way, TCP_NODELAY: "
	       "the floor of one round trip, where the scheduler puts the two\n", PING_LEN);
	print_floor(tl, n, "");
	ret = echo_rounds_2cpus(&e, n, tl, two);
	if (ret < 0)
		goto out;
	if (!ret) {
		printf("# the same with the echo on CPU %d, the bench on CPU %d\n", two[0], two[1]);
		tcp_2cpus = print_floor(tl, n, "_2cpus");
	}
	ret = -1;

	if (pin_chain(e.pid, &p, &cpu))
		goto out;
	if (run_paired(ch.bank[0].port, n, dl, bl)) {
		fprintf(stderr, "bankd_rtt: the alternating run on CPU %d failed (see %s)\n", cpu,
			ch.dir);
		unpin(&p);
		goto out;
	}
	ret = echo_rounds(&e, n, tl);
	if (unpin(&p)) {
		fprintf(stderr, "bankd_rtt: cannot put the chain's CPU masks back\n");
		ret = -1;
	}
	if (ret)
		goto out;
	ret = -1;
	printf("# every thread of the chain (bench, server, bankds, pcscds, softsims, echo) "
	       "on CPU %d\n", cpu);
	a = print_paired(dl, bl, n, "_pinned");
	printf("# the TCP floor, both ends on CPU %d\n", cpu);
	tcp_pinned = print_floor(tl, n, "_pinned");
	if (tcp_2cpus)
		printf("# goals judged pinned: waking the other CPU costs this machine %.1f us "
		       "a hop ((tcp_rtt_2cpus_p50 - tcp_rtt_pinned_p50) / 2), unrelated to bankd\n",
		       (tcp_2cpus - tcp_pinned) / 2);
	else
		printf("# goals judged pinned (one CPU allowed: no cross-CPU wake-up to "
		       "measure)\n");
	print_goal("p50", a.p50, GOAL_ADDED_P50);
	print_goal("p99", a.p99, GOAL_ADDED_P99);
	ret = 0;
out:
	if (echo_close(&e))
		ret = -1;
	free(dl);
	free(bl);
	free(tl);
	return ret;
}

/*
 * What a busy bank slot costs bankd in memory: its worker thread (stack,
 * what its PC/SC calls allocate), the client's connection and buffers.
 * Bank 1's bankd has 16 busy slots, bank 2's the same program with one
 * (-n 1), both after the same kind of APDUs: the difference over 15. The
 * goal, checked: under 100 KiB a slot.
 */
#define SLOT_KIB_MAX	100

static int print_memory(void)
{
	long r16 = pid_rss_kib(ch.bank[0].bankd.pid), r1 = pid_rss_kib(ch.bank[1].bankd.pid);
	double per_slot = (double)(r16 - r1) / (SLOTS - 1);

	if (r16 < 0 || r1 < 0)
		return -1;
	printf("# bankd's resident memory, after its slots were busy (goal: under %u KiB a slot)\n",
	       SLOT_KIB_MAX);
	printf("bankd_rss_1slot: %ld KiB\n", r1);
	printf("bankd_rss_16slots: %ld KiB\n", r16);
	printf("bankd_rss_per_slot: %.1f KiB\n", per_slot);
	if (per_slot <= SLOT_KIB_MAX)
		return 0;
	fprintf(stderr, "bankd_rtt: a busy bank slot costs bankd %.1f KiB, more than %u\n",
		per_slot, SLOT_KIB_MAX);
	return -1;
}

int main(int argc, char **argv)
{
	char body[4096];
	struct ev_loop *loop = ev_loop_new();
	static char *const one_slot[] = { "-n", "1", NULL };
	struct chain_opts o = { .cards = SLOTS, .banks = 2, .no_client = true,
				.bankd_args = { NULL, one_slot } };
	uint64_t *lat, d1[2], d16[2], b1[2], b16[2];
	struct meter sw = { 0 }, sc = { .strace = true };
	unsigned int i, slots, counted;
	int t;

	bool tls = argc > 1 && !strcmp(argv[1], "--tls");

	if (tls) {
		argc--;
		argv++;
	}
	rounds = argc > 1 ? strtoul(argv[1], NULL, 0) : 1000;
	if (!rounds || rounds > 1000000) {
		fprintf(stderr, "usage: bankd_rtt [--tls] [ROUNDS]: 1..1000000 rounds\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (tls)
		return run_tls(loop, rounds) ? 1 : 0;
	lat = calloc(rounds * SLOTS, sizeof(*lat));
	for (i = 0; i < SLOTS; i++)
		direct_lat[i] = calloc(rounds, sizeof(uint64_t));
	if (chain_start_opts(&ch, &o)) {
		fprintf(stderr, "bankd_rtt: no PC/SC environment, server or bankd (%s)\n", ch.dir);
		chain_stop(&ch);
		return 1;
	}
	/* the direct PC/SC is bank 1's (chain_start_bankd() set bank 2's) */
	setenv("PCSCLITE_CSOCK_NAME", ch.bank[0].env.sock, 1);
	/* bank 1's 16 slots; bank 2's one slot, the memory's reference */
	for (i = 0; i <= SLOTS; i++) {
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
		if (run_bankd(0, slots, rounds, lat, slots == 1 ? &sw : NULL)) {
			fprintf(stderr, "bankd_rtt: through bankd failed (see %s)\n", ch.dir);
			goto fail;
		}
		(slots == 1 ? b1 : b16)[0] = percentile(lat, n, 50);
		(slots == 1 ? b1 : b16)[1] = percentile(lat, n, 99);
	}
	if (run_paired_blocks(rounds) || run_16slots_pinned(rounds, lat))
		goto fail;
	if (run_bankd(1, 1, rounds, lat, NULL) || print_memory()) {
		fprintf(stderr, "bankd_rtt: bankd's memory (see %s)\n", ch.dir);
		goto fail;
	}
	/* last: strace's stops must not touch the timed runs */
	counted = rounds < COUNTED_MAX ? rounds : COUNTED_MAX;
	sc.bankd = ch.bank[0].bankd.pid;
	sc.apdus = counted;
	snprintf(sc.out, sizeof(sc.out), "%s/bankd.strace", ch.dir);
	if (run_bankd(0, 1, counted, lat, &sc)) {
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
