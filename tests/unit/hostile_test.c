// SPDX-License-Identifier: GPL-2.0
/*
 * hostile_test - remsim-server and remsim-bankd (their ASan/UBSan builds)
 * against hostile and broken peers, on loopback in a network namespace of
 * their own. Each test starts the real surroundings (pcscd with vpcd
 * readers and softsim cards, the server, the bankd, a map), connects a
 * well-behaved peer, lets an attacker thread loose for REMSIM_HOSTILE_SECONDS
 * (default 2; make hostile uses 10) while the well-behaved peer measures its
 * round trips, then checks that the daemon survived, that the peer was
 * answered every time within PEER_BOUND_MS, that the attack got nothing,
 * and that the daemons exit cleanly (no sanitizer report, no leak).
 *
 * Every test prints one row of the table that scripts/hostile collects:
 * attack, daemon, survived, the well-behaved peer's p99 and worst round
 * trip, its failures, and the daemon's resident set before and after.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "daemon.h"
#include "http.h"
#include "ktap.h"
#include "measure.h"
#include "pcsc_env.h"
#include "remsim/ipa.h"
#include "rspro_peer.h"

#define BANK		1
#define VICTIM		23	/* the well-behaved client of bank slot 0 */
#define CHURNED		24	/* the client of bank slot 1 in map_churn */
#define PEER_BOUND_MS	1000	/* the well-behaved peer's worst acceptable round trip */
#define PROBE_GAP_US	20000
#define MAX_SAMPLES	4096
#define RSS_GROWTH_KIB	(16 * 1024)

static int secs = 2;
static bool private_net;
static struct ev_loop *loop;
static struct pcsc_env env;
static struct daemon server, bankd;
static int rspro_port, rest_port, bankd_port;
static char dir[] = "/tmp/remsim-hostile-XXXXXX";
static char db[128];
static char body[16384];

/*
 * A network namespace with only loopback, before any test forks: the
 * attacks stay inside it, and 127.0.0.0/8 gives the attackers many source
 * addresses (a per-address limit must not be what stops them).
 */
static void __attribute__((constructor)) hostile_init(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	struct rlimit rl;
	const char *s = getenv("REMSIM_HOSTILE_SECONDS");
	int fd;

	if (s && atoi(s) > 0)
		secs = atoi(s);
	/*
	 * ASan keeps freed memory in quarantine (256 MiB by default), which
	 * would make the daemons' resident set grow with every connection:
	 * a small one makes the RSS column mean what it says.
	 */
	setenv("ASAN_OPTIONS", "quarantine_size_mb=1", 0);
	/* the attackers need thousands of sockets */
	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (unshare(CLONE_NEWNET))
		return;
	/* our own namespace: its ephemeral range is ours to set */
	shell("echo '32768 60999' >/proc/sys/net/ipv4/ip_local_port_range");
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && !ioctl(fd, SIOCGIFFLAGS, &ifr)) {
		ifr.ifr_flags |= IFF_UP;
		private_net = !ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	if (fd >= 0)
		close(fd);
}

/* --- the world: pcscd, softsim, server, bankd ------------------------------ */

/*
 * Starts @argv with RLIMIT_NOFILE @nofile (0: as the test has it), through
 * prlimit(1) so that only the daemon gets the limit.
 */
static void start_limited(struct daemon *d, char *const argv[], const char *log, int nofile)
{
	char *wrapped[40], limit[32];
	int i, n = 0;

	if (nofile) {
		snprintf(limit, sizeof(limit), "--nofile=%d:%d", nofile, nofile);
		wrapped[n++] = "/usr/bin/prlimit";
		wrapped[n++] = limit;
		wrapped[n++] = "--";
	}
	for (i = 0; argv[i] && n < 39; i++)
		wrapped[n++] = argv[i];
	wrapped[n] = NULL;
	ASSERT_EQ(0, daemon_start(d, wrapped, log));
}

static void start_server(int nofile)
{
	char log[128], rs[8], rt[8];
	char *argv[] = { (char *)daemon_bin("remsim-server"), "-D", db, "--rspro-bind",
			 "127.0.0.1", "--rspro-port", rs, "--rest-bind", "127.0.0.1",
			 "--rest-port", rt, NULL };

	rspro_port = free_port();
	rest_port = free_port();
	snprintf(rs, sizeof(rs), "%d", rspro_port);
	snprintf(rt, sizeof(rt), "%d", rest_port);
	snprintf(db, sizeof(db), "%s/server.db", dir);
	snprintf(log, sizeof(log), "%s/server.log", dir);
	/* every test starts from an empty database (the directory is shared) */
	shell("rm -f %s %s-wal %s-shm", db, db, db);
	start_limited(&server, argv, log, nofile);
	ASSERT_TRUE(wait_port(rest_port, 10000));
	ASSERT_TRUE(wait_port(rspro_port, 10000));
}

static void start_bankd(int nofile)
{
	char log[128], rs[8], bp[8];
	/* silent peers get 1 s to identify (10 s by default) */
	char *argv[] = { (char *)daemon_bin("remsim-bankd"), "-i", "127.0.0.1", "-p", rs,
			 "-b", "1", "-n", "2", "-I", "127.0.0.1", "-P", bp, "-S", env.csv,
			 "--identify-timeout", "1", NULL };

	bankd_port = free_port();
	snprintf(rs, sizeof(rs), "%d", rspro_port);
	snprintf(bp, sizeof(bp), "%d", bankd_port);
	snprintf(log, sizeof(log), "%s/bankd.log", dir);
	start_limited(&bankd, argv, log, nofile);
	ASSERT_TRUE(wait_port(bankd_port, 10000));
}

static int map_id(int slot)
{
	return BANK * 65536 + slot;
}

static int post_map(int slot, int client)
{
	char json[200];

	snprintf(json, sizeof(json),
		 "{\"bank\":{\"bankId\":%d,\"slotNr\":%d},\"client\":{\"clientId\":%d,\"slotNr\":0}}",
		 BANK, slot, client);
	return http_json(rest_port, "POST", "/api/backend/v1/slotmaps", json, body,
			 sizeof(body));
}

/* Waits until every map the server lists is ACTIVE (and there is one). */
static bool maps_active(int ms)
{
	for (; ms > 0; ms -= 50) {
		if (http_json(rest_port, "GET", "/api/backend/v1/slotmaps", NULL, body,
			      sizeof(body)) == 200 && strstr(body, "ACTIVE") &&
		    !strstr(body, "NEW") && !strstr(body, "UNACK"))
			return true;
		usleep(50000);
	}
	return false;
}

/* Everything up, bank slot 0 mapped to the victim; @nofile for the daemons. */
static void world_start(int nofile)
{
	if (!loop)
		loop = ev_loop_new();
	if (!private_net)
		TH_LOG("no network namespace of its own (not root?): on the host's loopback");
	ASSERT_EQ(0, pcsc_env_start(&env, 2));
	start_server(nofile);
	start_bankd(nofile);
	ASSERT_EQ(201, post_map(0, VICTIM));
	ASSERT_TRUE(maps_active(10000));
}

/* Both daemons must end cleanly: a sanitizer report or leak is an exit code. */
static void world_stop(void)
{
	int b = bankd.pid ? daemon_stop(&bankd, SIGTERM, 10000) : 0;
	int s = server.pid ? daemon_stop(&server, SIGTERM, 10000) : 0;

	if (b)
		TH_LOG("bankd exit status %d, see %s/bankd.log", b, dir);
	if (s)
		TH_LOG("server exit status %d, see %s/server.log", s, dir);
	bankd.pid = server.pid = 0;
	EXPECT_EQ(0, b);
	EXPECT_EQ(0, s);
	pcsc_env_stop(&env);
}

static void after_each(void)
{
	if (bankd.pid)
		daemon_stop(&bankd, SIGKILL, 1000);
	if (server.pid)
		daemon_stop(&server, SIGKILL, 1000);
	if (env.dir[0] && (env.pcscd.pid || env.softsim.pid))
		pcsc_env_stop(&env);
}

static void __attribute__((constructor)) register_cleanup(void)
{
	ktap_after_each(after_each);
}

static bool alive(struct daemon *d)
{
	return d->pid > 0 && waitpid(d->pid, NULL, WNOHANG) == 0;
}

/* utime + stime of @pid in clock ticks, or -1. */
static long cpu_ticks(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut, st;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
			 &ut, &st) != 2)
		return -1;
	return ut + st;
}

static long log_lines(const struct daemon *d)
{
	FILE *f = fopen(d->log, "r");
	long lines = 0;
	int c;

	if (!f)
		return -1;
	while ((c = getc(f)) != EOF)
		lines += c == '\n';
	fclose(f);
	return lines;
}

/* --- the well-behaved peers -------------------------------------------------- */

struct probe {
	uint64_t ns[MAX_SAMPLES];
	size_t n;
	int fails;
	char last_error[120];
};

typedef int (*probe_fn)(void);

/* The victim: a client of bank slot 0 sending STATUS to its card. */
static struct tpeer victim;

/* A client of bankd for client slot @client:0; true when its card is open. */
static bool victim_connect(struct tpeer *t, struct ev_loop *l, int client, int *result)
{
	*result = tpeer_client_result(t, l, bankd_port, client, 0);
	return *result == RSPRO_OK && tpeer_wait(t, RSPRO_SET_ATR_REQ, NULL, 5000);
}

static int probe_apdu(void)
{
	static const uint8_t status[] = { 0xa0, 0xf2, 0x00, 0x00, 0x16 };
	struct rspro_pdu pdu;

	if (victim.closed)
		return -ECONNRESET;
	rspro_tpdu(&pdu, RSPRO_TPDU_MODEM_TO_CARD, (struct rspro_client_slot){ VICTIM, 0 },
		   (struct rspro_bank_slot){ BANK, 0 }, status, sizeof(status));
	if (tpeer_send(&victim, &pdu))
		return -EIO;
	if (!tpeer_wait(&victim, RSPRO_TPDU_CARD_TO_MODEM, &pdu, PEER_BOUND_MS * 2))
		return victim.closed ? -ECONNRESET : -ETIMEDOUT;
	return pdu.tpdu.len == 24 ? 0 : -EPROTO;
}

/* A REST read on a new connection, as a rack's scripts do. */
static int probe_rest(void)
{
	int status = http_json(rest_port, "GET", "/api/backend/v1/slotmaps", NULL, body,
			       sizeof(body));

	return status == 200 ? 0 : status < 0 ? status : -EPROTO;
}

/* A client registered with the server, answering its IPA PING with PONG. */
static struct tpeer keeper;

static int probe_ping(void)
{
	static const uint8_t ping[] = { 0x00, 0x01, 0xfe, 0x00 };
	uint64_t before, end = now_ns() + PEER_BOUND_MS * 2000000ULL;

	if (keeper.closed)
		return -ECONNRESET;
	before = rspro_conn_stats(keeper.conn)->pongs_received;
	if (rspro_conn_send_raw(keeper.conn, ping, sizeof(ping)))
		return -EIO;
	while (now_ns() < end) {
		tpeer_run(loop, 1);
		if (keeper.closed)
			break;
		if (rspro_conn_stats(keeper.conn)->pongs_received > before)
			return 0;
	}
	return keeper.closed ? -ECONNRESET : -ETIMEDOUT;
}

static void measure(struct probe *p, probe_fn fn)
{
	uint64_t end = now_ns() + secs * 1000000000ULL;

	p->n = 0;
	p->fails = 0;
	while (now_ns() < end) {
		uint64_t t0 = now_ns();
		int err = fn();

		if (p->n < MAX_SAMPLES)
			p->ns[p->n++] = now_ns() - t0;
		if (err) {
			if (!p->fails++)
				snprintf(p->last_error, sizeof(p->last_error), "%s",
					 strerror(-err));
		}
		usleep(PROBE_GAP_US);
	}
}

/* --- attacks: each runs in a thread until told to stop ----------------------- */

struct attack {
	pthread_t thread;
	void *(*fn)(void *);
	atomic_bool stop, done;
	int port;
	int per_addr;		/* connections from one 127.0.0.x (flood) */
	long tries, refused, won, errors;
	char note[160];
};

static void *attack_main(void *arg)
{
	struct attack *a = arg;

	a->fn(a);
	atomic_store(&a->done, true);
	return NULL;
}

static void attack_start(struct attack *a, void *(*fn)(void *), int port)
{
	a->port = port;
	a->fn = fn;
	/* under REST's per-address cap (8), so that the descriptors run out */
	a->per_addr = port == rest_port ? 8 : 100;
	atomic_store(&a->stop, false);
	atomic_store(&a->done, false);
	ASSERT_EQ(0, pthread_create(&a->thread, NULL, attack_main, a));
}

/*
 * The well-behaved peers go on answering (PINGs included) until the
 * attacker has stopped: a victim that fell silent meanwhile would lose its
 * card by the rules, which is no hijack.
 */
static void attack_stop(struct attack *a)
{
	atomic_store(&a->stop, true);
	while (!atomic_load(&a->done))
		tpeer_run(loop, 5);
	pthread_join(a->thread, NULL);
}

/* A TCP connection to 127.0.0.1:@port from 127.0.0.@src (0: any). */
static int tcp_connect(int port, int src, bool nonblock)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct timeval tv = { .tv_sec = 2 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);

	if (fd < 0)
		return -errno;
	if (src) {
		struct sockaddr_in me = { .sin_family = AF_INET };

		me.sin_addr.s_addr = htonl(0x7f000000 | src);
		if (bind(fd, (struct sockaddr *)&me, sizeof(me))) {
			close(fd);
			return -errno;
		}
	}
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) && errno != EINPROGRESS) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static void pause_ms(struct attack *a, int ms)
{
	for (; ms > 0 && !atomic_load(&a->stop); ms -= 10)
		usleep(10000);
}

/*
 * Someone else's card: connect to bankd again and again as the victim's
 * client slot. The bankd must refuse every time while the victim's
 * connection answers its keep-alive, and never hand out the card.
 */
static void *hijack(void *arg)
{
	struct attack *a = arg;
	struct ev_loop *l = ev_loop_new();

	while (!atomic_load(&a->stop)) {
		struct tpeer t;
		int result;

		if (victim_connect(&t, l, VICTIM, &result))
			a->won++;
		else if (result >= 0 || result == -ECONNRESET)
			a->refused++;
		else
			a->errors++;
		a->tries++;
		tpeer_close(&t);
		pause_ms(a, 100);
	}
	ev_loop_free(l);
	snprintf(a->note, sizeof(a->note), "%ld tries, %ld refused, %ld got the card",
		 a->tries, a->refused, a->won);
	return NULL;
}

/*
 * Slowloris: many connections from many addresses, each trickling one
 * header line at a time and never finishing its request. A connection the
 * server closes is opened again, as an attacker would.
 */
#define SLOW_CONNS	2000
#define SLOW_PER_ADDR	100

static int slow_open(struct attack *a, int i)
{
	static const char start[] = "GET /api/backend/v1/slotmaps HTTP/1.1\r\nHost: x\r\n";
	int fd = tcp_connect(a->port, 2 + i / SLOW_PER_ADDR, false);

	if (fd < 0) {
		a->errors++;
		return -1;
	}
	if (send(fd, start, sizeof(start) - 1, MSG_NOSIGNAL) < 0) {
		close(fd);
		return -1;
	}
	a->tries++;
	return fd;
}

static void *slowloris(void *arg)
{
	static const char line[] = "X-a: b\r\n";
	struct attack *a = arg;
	int fds[SLOW_CONNS], i;

	for (i = 0; i < SLOW_CONNS && !atomic_load(&a->stop); i++)
		fds[i] = slow_open(a, i);
	for (; i < SLOW_CONNS; i++)
		fds[i] = -1;
	while (!atomic_load(&a->stop)) {
		pause_ms(a, 500);
		for (i = 0; i < SLOW_CONNS && !atomic_load(&a->stop); i++) {
			if (fds[i] >= 0 && send(fds[i], line, sizeof(line) - 1,
						MSG_NOSIGNAL | MSG_DONTWAIT) < 0 &&
			    errno != EAGAIN) {
				close(fds[i]);
				fds[i] = -1;
				a->refused++;
			}
			if (fds[i] < 0)
				fds[i] = slow_open(a, i);
		}
	}
	for (i = 0; i < SLOW_CONNS; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	snprintf(a->note, sizeof(a->note), "%ld connections, %ld closed by the server",
		 a->tries, a->refused);
	return NULL;
}

/*
 * Malformed RSPRO: undefined behaviour bait for the BER decoder (a negative
 * INTEGER, a length of 2^63, lengths past the frame, deep nesting), broken
 * IPA framing, and random bytes, each on a connection of its own.
 */
static size_t bad_frame(unsigned int n, uint8_t *buf, unsigned int *seed)
{
	/* ConnectClientReq-sized bait: version [0] 2, tag [1] -1, a choice */
	static const uint8_t negative[] = { 0x30, 0x0d, 0x80, 0x01, 0x02, 0x81, 0x01, 0xff,
					    0xa2, 0x05, 0xa5, 0x03, 0x0a, 0x01, 0x00 };
	static const uint8_t neg_version[] = { 0x30, 0x0d, 0x80, 0x01, 0xff, 0x81, 0x01, 0x00,
					       0xa2, 0x05, 0xa5, 0x03, 0x0a, 0x01, 0x00 };
	static const uint8_t huge_len[] = { 0x30, 0x88, 0x80, 0, 0, 0, 0, 0, 0, 0,
					    0x80, 0x01, 0x02 };
	static const uint8_t inner_huge[] = { 0x30, 0x0e, 0x80, 0x88, 0x80, 0, 0, 0, 0, 0, 0, 0,
					      0x02, 0x81, 0x01, 0x00 };
	static const uint8_t past_end[] = { 0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x80, 0x01 };
	static const uint8_t big_int[] = { 0x30, 0x13, 0x80, 0x09, 0x80, 0, 0, 0, 0, 0, 0, 0, 0,
					   0x81, 0x01, 0x00, 0xa2, 0x05, 0xa5, 0x03, 0x0a, 0x01 };
	size_t len = 0, i;

	switch (n % 8) {
	case 0:
		memcpy(buf + 4, negative, len = sizeof(negative));
		break;
	case 1:
		memcpy(buf + 4, neg_version, len = sizeof(neg_version));
		break;
	case 2:
		memcpy(buf + 4, huge_len, len = sizeof(huge_len));
		break;
	case 3:
		memcpy(buf + 4, inner_huge, len = sizeof(inner_huge));
		break;
	case 4:
		memcpy(buf + 4, past_end, len = sizeof(past_end));
		break;
	case 5:
		memcpy(buf + 4, big_int, len = sizeof(big_int));
		break;
	case 6:
		/* deep nesting of indefinite lengths */
		for (len = 0; len < 2000; len += 2) {
			buf[4 + len] = 0xa2;
			buf[5 + len] = 0x80;
		}
		break;
	default:
		len = 1 + rand_r(seed) % 300;
		for (i = 0; i < len; i++)
			buf[4 + i] = rand_r(seed);
		break;
	}
	ipa_rspro_header(buf, len);
	return len + 4;
}

static void *malformed(void *arg)
{
	/* broken IPA: a frame longer than ever sent, an unknown CCM, a foreign protocol */
	static const uint8_t framing[][8] = {
		{ 0xff, 0xff, 0xee, 0x07, 0x30, 0x80 },
		{ 0x00, 0x01, 0xfe, 0x99 },
		{ 0x00, 0x03, 0xab, 0x01, 0x02, 0x03 },
	};
	static const size_t framing_len[] = { 6, 4, 6 };
	struct attack *a = arg;
	unsigned int seed = 1;
	uint8_t buf[2100], sink[512];

	while (!atomic_load(&a->stop)) {
		unsigned int n = a->tries++;
		int fd = tcp_connect(a->port, 0, false);
		size_t len;

		if (fd < 0) {
			a->errors++;
			pause_ms(a, 50);
			continue;
		}
		if (n % 11 < 8) {
			len = bad_frame(n % 11, buf, &seed);
			send(fd, buf, len, MSG_NOSIGNAL);
		} else {
			send(fd, framing[n % 11 - 8], framing_len[n % 11 - 8], MSG_NOSIGNAL);
		}
		/* read what the daemon says (an errorInd, a close) for a moment */
		{
			struct pollfd pfd = { .fd = fd, .events = POLLIN };

			while (poll(&pfd, 1, 100) > 0 && recv(fd, sink, sizeof(sink), 0) > 0)
				;
		}
		close(fd);
	}
	snprintf(a->note, sizeof(a->note), "%ld malformed connections", a->tries);
	return NULL;
}

/*
 * The descriptor limit: hold more connections than the daemon may open.
 * Its accept() fails with EMFILE; it must neither spin nor flood its log.
 */
#define FLOOD_CONNS	400

static void *flood(void *arg)
{
	struct attack *a = arg;
	int fds[FLOOD_CONNS], i, n = 0;
	char sink[256];

	for (i = 0; i < FLOOD_CONNS && !atomic_load(&a->stop); i++) {
		fds[n] = tcp_connect(a->port, 2 + i / a->per_addr, true);
		if (fds[n] >= 0)
			n++;
		else if (!a->errors++)
			TH_LOG("flood: %s", strerror(-fds[n]));
	}
	a->tries = n;
	/* one the daemon closes (a silent peer's time is up) comes back */
	while (!atomic_load(&a->stop)) {
		pause_ms(a, 50);
		for (i = 0; i < n; i++) {
			ssize_t got = recv(fds[i], sink, sizeof(sink), MSG_DONTWAIT);

			if (got == 0 || (got < 0 && errno != EAGAIN && errno != ENOTCONN)) {
				close(fds[i]);
				fds[i] = tcp_connect(a->port, 2 + i / a->per_addr, true);
				a->refused++;
				if (fds[i] < 0) {
					a->errors++;
					fds[i] = fds[--n];
				}
			}
		}
	}
	for (i = 0; i < n; i++)
		close(fds[i]);
	snprintf(a->note, sizeof(a->note), "%ld connections held, %ld reopened, %ld failed",
		 a->tries, a->refused, a->errors);
	return NULL;
}

/*
 * Silent peers: connections that never say who they are (nor answer a
 * PING) hold a descriptor each until the daemon closes them; each one the
 * daemon closes is opened again.
 */
#define SILENT_CONNS	50

static void *silent(void *arg)
{
	struct attack *a = arg;
	int fds[SILENT_CONNS], i;
	char sink[256];

	for (i = 0; i < SILENT_CONNS; i++) {
		fds[i] = tcp_connect(a->port, 2, false);
		a->tries += fds[i] >= 0;
	}
	while (!atomic_load(&a->stop)) {
		pause_ms(a, 50);
		for (i = 0; i < SILENT_CONNS; i++) {
			ssize_t n;

			if (fds[i] < 0)
				continue;
			n = recv(fds[i], sink, sizeof(sink), MSG_DONTWAIT);
			if (n == 0 || (n < 0 && errno != EAGAIN)) {
				close(fds[i]);
				a->refused++;
				fds[i] = tcp_connect(a->port, 2, false);
				a->tries += fds[i] >= 0;
			}
		}
	}
	for (i = 0; i < SILENT_CONNS; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	snprintf(a->note, sizeof(a->note), "%ld connections, %ld closed by the daemon",
		 a->tries, a->refused);
	return NULL;
}

/*
 * Map churn: create, delete, create... the same bank slot over REST as fast
 * as answers come, ending with a create. The bankd must end up with what
 * the server shows.
 */
static void *churn(void *arg)
{
	struct attack *a = arg;
	char path[64], resp[1024];

	snprintf(path, sizeof(path), "/api/backend/v1/slotmaps/%d", map_id(1));
	while (!atomic_load(&a->stop)) {
		int s = http_json(rest_port, "POST", "/api/backend/v1/slotmaps",
				  "{\"bank\":{\"bankId\":1,\"slotNr\":1},"
				  "\"client\":{\"clientId\":24,\"slotNr\":0}}",
				  resp, sizeof(resp));

		a->tries++;
		if (s != 201)
			a->refused++;
		if (atomic_load(&a->stop))
			break;
		s = http_json(rest_port, "DELETE", path, NULL, resp, sizeof(resp));
		if (s != 200)
			a->refused++;
	}
	/* the last words: a delete and a create back to back */
	if (a->tries && http_json(rest_port, "DELETE", path, NULL, resp, sizeof(resp)) != 200)
		a->refused++;
	if (post_map(1, CHURNED) != 201)
		a->refused++;
	snprintf(a->note, sizeof(a->note), "%ld create+delete rounds, %ld refused", a->tries,
		 a->refused);
	return NULL;
}

/*
 * A database lock from outside (a backup tool, an operator's sqlite3): a
 * write transaction held for the whole attack, and one map change asked
 * for in the middle of it, which must get a quick, clear refusal.
 */
static void *db_lock(void *arg)
{
	struct attack *a = arg;
	sqlite3 *h;
	uint64_t t0;
	int s;

	if (sqlite3_open(db, &h) != SQLITE_OK) {
		a->errors++;
		return NULL;
	}
	sqlite3_busy_timeout(h, 5000);
	if (sqlite3_exec(h, "BEGIN EXCLUSIVE", NULL, NULL, NULL) != SQLITE_OK) {
		a->errors++;
		sqlite3_close(h);
		return NULL;
	}
	pause_ms(a, secs * 300);
	t0 = now_ns();
	s = post_map(1, CHURNED);
	a->won = s == 201;
	a->tries = (now_ns() - t0) / 1000000;
	snprintf(a->note, sizeof(a->note), "a map change during the lock: %d in %ld ms", s,
		 a->tries);
	while (!atomic_load(&a->stop))
		pause_ms(a, 50);
	sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(h);
	return NULL;
}

/* --- the table ------------------------------------------------------------------ */

static void row(const char *attack, const char *daemon, bool survived, struct probe *p,
		long rss_before, long rss_after, const char *note)
{
	uint64_t max = 0;
	size_t i;

	for (i = 0; i < p->n; i++)
		if (p->ns[i] > max)
			max = p->ns[i];
	TH_LOG("| %-16s | %-6s | %-8s | %8.2f | %8.2f | %5d | %8ld | %8ld | %s",
	       attack, daemon, survived ? "yes" : "NO", percentile(p->ns, p->n, 99) / 1e6,
	       max / 1e6, p->fails, rss_before, rss_after, note);
	if (p->fails)
		TH_LOG("%s: the well-behaved peer failed %d of %zu times (first: %s)", attack,
		       p->fails, p->n, p->last_error);
}

/* The well-behaved peer's verdict: always answered, never slower than the bound. */
static void expect_served(struct probe *p)
{
	uint64_t max = 0;
	size_t i;

	for (i = 0; i < p->n; i++)
		if (p->ns[i] > max)
			max = p->ns[i];
	EXPECT_GT(p->n, 0);
	EXPECT_EQ(0, p->fails);
	EXPECT_LE(max / 1000000, PEER_BOUND_MS);
}

static void victim_start(void)
{
	int result;

	ASSERT_TRUE(victim_connect(&victim, loop, VICTIM, &result));
	ASSERT_EQ(0, probe_apdu());
}

static void keeper_start(void)
{
	ASSERT_TRUE(tpeer_client(&keeper, loop, rspro_port, 30, 0));
	ASSERT_EQ(0, probe_ping());
}

/*
 * One attack on one daemon: the well-behaved peer measured while it runs,
 * then survival and the table row. @victim_d is the daemon attacked.
 */
static void run_attack(const char *name, struct daemon *d, void *(*fn)(void *), int port,
		       probe_fn probe, struct attack *a, struct probe *p)
{
	long rss_before = pid_rss_kib(d->pid), rss_after;
	bool survived;

	memset(a, 0, sizeof(*a));
	attack_start(a, fn, port);
	measure(p, probe);
	attack_stop(a);
	survived = alive(d);
	rss_after = survived ? pid_rss_kib(d->pid) : -1;
	row(name, d == &server ? "server" : "bankd", survived, p, rss_before, rss_after,
	    a->note);
	EXPECT_TRUE(survived);
	expect_served(p);
	/* whatever the attack did, it left no lasting memory behind */
	EXPECT_LT(rss_after - rss_before, RSS_GROWTH_KIB);
}

/* --- the tests -------------------------------------------------------------------- */

static struct probe probe;
static struct attack attack;

TEST_TIMEOUT(bankd_refuses_a_hijack_of_a_live_client, 120)
{
	world_start(0);
	victim_start();
	run_attack("hijack", &bankd, hijack, bankd_port, probe_apdu, &attack, &probe);
	EXPECT_GT(attack.tries, 0);
	EXPECT_EQ(0, attack.won);
	EXPECT_EQ(attack.tries, attack.refused);
	tpeer_close(&victim);
	world_stop();
}

TEST_TIMEOUT(rest_answers_during_slowloris, 120)
{
	world_start(0);
	run_attack("slowloris", &server, slowloris, rest_port, probe_rest, &attack, &probe);
	EXPECT_GT(attack.tries, SLOW_CONNS / 2);
	world_stop();
}

TEST_TIMEOUT(server_survives_malformed_rspro, 120)
{
	world_start(0);
	keeper_start();
	run_attack("malformed-rspro", &server, malformed, rspro_port, probe_ping, &attack,
		   &probe);
	EXPECT_GT(attack.tries, 11);
	tpeer_close(&keeper);
	world_stop();
}

TEST_TIMEOUT(bankd_survives_malformed_rspro, 120)
{
	world_start(0);
	victim_start();
	run_attack("malformed-rspro", &bankd, malformed, bankd_port, probe_apdu, &attack,
		   &probe);
	EXPECT_GT(attack.tries, 11);
	tpeer_close(&victim);
	world_stop();
}

TEST_TIMEOUT(bankd_closes_silent_peers, 120)
{
	world_start(0);
	victim_start();
	run_attack("silent-peers", &bankd, silent, bankd_port, probe_apdu, &attack, &probe);
	/* each silent connection was closed once its second was up */
	EXPECT_GE(attack.refused, SILENT_CONNS);
	tpeer_close(&victim);
	world_stop();
}

/*
 * At the descriptor limit the daemon pauses accepting: little CPU, a few
 * log lines, existing peers served, new ones again once descriptors free.
 */
static void descriptor_limit(const char *name, struct daemon *d, int port, probe_fn probe_fn_)
{
	long hz = sysconf(_SC_CLK_TCK), base, ticks, lines, limit_lines;

	/* the CPU the well-behaved peer alone costs the daemon: the baseline */
	base = cpu_ticks(d->pid);
	measure(&probe, probe_fn_);
	base = cpu_ticks(d->pid) - base;
	ticks = cpu_ticks(d->pid);
	lines = log_lines(d);
	limit_lines = log_count(d->log, "limit");
	run_attack(name, d, flood, port, probe_fn_, &attack, &probe);
	ticks = cpu_ticks(d->pid) - ticks;
	lines = log_lines(d) - lines;
	limit_lines = log_count(d->log, "limit") - limit_lines;
	TH_LOG("descriptor limit: %ld ms of CPU in %d s (%ld ms without the attack), %ld log lines, %ld about the limit",
	       ticks * 1000 / hz, secs, base * 1000 / hz, lines, limit_lines);
	EXPECT_GT(attack.tries, 100);
	/* a paused listener costs nothing: at most a tenth of a CPU more */
	EXPECT_LT(ticks, base + hz * secs / 10 + 2);
	/* the limit said at most once a second; other lines one per connection */
	EXPECT_GE(limit_lines, 1);
	EXPECT_LE(limit_lines, secs + 2);
	EXPECT_LT(lines, 2 * (attack.tries + attack.refused) + 20);
}

TEST_TIMEOUT(server_at_its_descriptor_limit, 120)
{
	world_start(128);
	keeper_start();
	descriptor_limit("fd-limit RSPRO", &server, rspro_port, probe_ping);
	/* descriptors free again: a new peer is served */
	EXPECT_EQ(0, probe_rest());
	tpeer_close(&keeper);
	world_stop();
}

/* The same on the REST socket, which libmicrohttpd accepts itself. */
TEST_TIMEOUT(server_rest_at_its_descriptor_limit, 120)
{
	world_start(128);
	keeper_start();
	descriptor_limit("fd-limit REST", &server, rest_port, probe_ping);
	{
		int i, err = 0;

		for (i = 0; i < 50 && (err = probe_rest()); i++)
			usleep(100000);
		TH_LOG("REST after the flood: %d after %d tries", err, i);
		EXPECT_EQ(0, err);
	}
	tpeer_close(&keeper);
	world_stop();
}

TEST_TIMEOUT(bankd_at_its_descriptor_limit, 120)
{
	struct tpeer t;
	int result;

	world_start(128);
	victim_start();
	descriptor_limit("fd-limit RSPRO", &bankd, bankd_port, probe_apdu);
	/* a new client is answered (no map: cardNotPresent) */
	victim_connect(&t, loop, 99, &result);
	EXPECT_EQ(RSPRO_CARD_NOT_PRESENT, result);
	tpeer_close(&t);
	tpeer_close(&victim);
	world_stop();
}

TEST_TIMEOUT(map_churn_ends_as_the_server_shows, 120)
{
	struct tpeer t;
	int result;

	world_start(0);
	victim_start();
	run_attack("map-churn", &server, churn, rest_port, probe_apdu, &attack, &probe);
	EXPECT_GT(attack.tries, 2);
	/* the server shows the last create; the bankd must serve it */
	EXPECT_TRUE(maps_active(10000));
	EXPECT_TRUE(victim_connect(&t, loop, CHURNED, &result));
	if (result != RSPRO_OK)
		TH_LOG("client %d after the churn: %s", CHURNED, rspro_result_name(result));
	tpeer_close(&t);
	tpeer_close(&victim);
	world_stop();
}

TEST_TIMEOUT(database_lock_from_outside, 120)
{
	world_start(0);
	run_attack("db-lock", &server, db_lock, rest_port, probe_rest, &attack, &probe);
	/* the change was refused quickly and clearly, not stored half */
	EXPECT_EQ(0, attack.won);
	EXPECT_LT(attack.tries, PEER_BOUND_MS);
	/* the lock gone, changes work again */
	EXPECT_EQ(201, post_map(1, CHURNED));
	EXPECT_TRUE(maps_active(10000));
	world_stop();
}

/* A config file that never ends: a clear error at once, bounded memory. */
TEST_TIMEOUT(endless_config_file, 60)
{
	static const char *const progs[] = { "remsim-server", "remsim-bankd" };
	unsigned int i;

	for (i = 0; i < 2; i++) {
		char *argv[] = { (char *)daemon_bin(progs[i]), "-c", "/dev/zero", NULL };
		struct probe none = { .n = 0 };
		struct rusage ru;
		int status = -1;
		pid_t pid = fork();

		ASSERT_GE(pid, 0);
		if (!pid) {
			int null = open("/dev/null", O_WRONLY);

			dup2(null, 1);
			dup2(null, 2);
			alarm(10);
			execv(argv[0], argv);
			_exit(127);
		}
		ASSERT_EQ(pid, wait4(pid, &status, 0, &ru));
		row("config /dev/zero", i ? "bankd" : "server",
		    WIFEXITED(status) && WEXITSTATUS(status) == 2, &none, 0, ru.ru_maxrss,
		    "exit 2 expected, memory is the peak");
		EXPECT_TRUE(WIFEXITED(status));
		EXPECT_EQ(2, WEXITSTATUS(status));
		EXPECT_LT(ru.ru_maxrss, 256 * 1024);
	}
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	return ktap_main_in_dir(argc, argv, dir);
}
