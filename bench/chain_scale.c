// SPDX-License-Identifier: GPL-2.0
/*
 * chain_scale - the whole chain's APDU round trip, as the phone sees it
 * (header out to status word in, procedure byte and 16 data bytes on the
 * way), against how many slots are busy and against network delay:
 *
 *  - 1, 8 and 64 slots sending at once, out of 64 mapped (four banks of
 *    16 cards, pcscd serving at most 16 readers); the base is 1 slot;
 *  - 0, 10 and 50 ms added by netem on the link from the client to the
 *    bankd (in a network namespace behind a veth pair), one slot busy;
 *    the base is 0 ms; what each delay added to the p50 is also set
 *    against netem's own and against what it added to a plain TCP
 *    ping-pong over the same link at the same time (1.00x:
 *    nothing held a segment back), both from a control without netem
 *    that waits as long before each APDU (blocks of each in turn); more
 *    than 2% over at 50 ms fails.
 *
 *	chain_scale [APDUS_PER_SLOT [slots|delay]]	(in the VM, make bench)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <linux/tcp.h>	/* struct tcp_info with its segment counts */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "chain.h"
#include "measure.h"
#include "modem.h"
#include "remsim/nl.h"
#include "slotdev.h"

#define SLOTS_MAX	64

struct phone {
	pthread_t th;
	struct slot_fixture fx;
	unsigned int n;
	uint64_t *lat;
	int ret;
};

static unsigned int apdus = 100;

/* Until the slot answers: the client may still be connecting it. */
static int ready(struct modem *m)
{
	uint8_t atr[33], resp[300], apdu[] = { 0x00, 0xa4, 0x00, 0x04, 0x02, 0x3f, 0x00 };
	size_t atr_len, len;
	uint16_t sw;

	for (int tries = 0; tries < 600; tries++) {
		if (!modem_power_on(m, atr, &atr_len) &&
		    !modem_apdu(m, apdu, sizeof(apdu), resp, &len, &sw) && sw != 0x6f00)
			return 0;
		usleep(100000);
	}
	return -1;
}

/* The measured APDU: SELECT by path, 16 data bytes after the procedure byte. */
static int one_apdu(struct phone *p, uint64_t *ns)
{
	uint8_t apdu[21] = { 0x00, 0xa4, 0x08, 0x04, 16 }, resp[300];
	uint64_t t = now_ns();
	size_t len;
	uint16_t sw;

	memset(apdu + 5, 0x7e, 16);
	if (modem_apdu(p->fx.modem, apdu, sizeof(apdu), resp, &len, &sw) || sw == 0x6f00)
		return -1;
	*ns = now_ns() - t;
	return 0;
}

static void *run(void *arg)
{
	struct phone *p = arg;

	for (p->n = 0; p->n < apdus; p->n++) {
		if (one_apdu(p, &p->lat[p->n])) {
			p->ret = -1;
			break;
		}
	}
	return NULL;
}

/* @n phones at once; their latencies pooled into @all (p50 and p99 back). */
static int burst(struct phone *phones, unsigned int n, uint64_t *all, uint64_t *p50,
		 uint64_t *p99, double *per_s)
{
	uint64_t t0 = now_ns();
	size_t count = 0;

	for (unsigned int i = 0; i < n; i++)
		pthread_create(&phones[i].th, NULL, run, &phones[i]);
	for (unsigned int i = 0; i < n; i++) {
		pthread_join(phones[i].th, NULL);
		if (phones[i].ret)
			return -1;
		memcpy(all + count, phones[i].lat, phones[i].n * sizeof(*all));
		count += phones[i].n;
	}
	*per_s = count / ((now_ns() - t0) / 1e9);
	*p50 = percentile(all, count, 50);
	*p99 = percentile(all, count, 99);
	return 0;
}

static void report(const char *name, uint64_t p50, uint64_t p99, uint64_t base50,
		   uint64_t base99, const char *base)
{
	if (base50) {
		printf("%s_p50: %.2f ms (%.2fx vs %s)\n", name, p50 / 1e6, (double)p50 / base50,
		       base);
		printf("%s_p99: %.2f ms (%.2fx vs %s)\n", name, p99 / 1e6, (double)p99 / base99,
		       base);
	} else {
		printf("%s_p50: %.2f ms\n", name, p50 / 1e6);
		printf("%s_p99: %.2f ms\n", name, p99 / 1e6);
	}
}

/* @n slots, each mapped in the kernel and over REST to its own card. */
static int phones_setup(struct chain *c, struct phone *phones, unsigned int n)
{
	struct rsnl *nl;

	if (rsnl_open(&nl))
		return -1;
	for (unsigned int i = 0; i < n; i++) {
		struct rsnl_map map = { .mapped = true, .client_id = 100 + i };
		int ret;

		phones[i].lat = calloc(apdus, sizeof(uint64_t));
		ret = slot_fixture(&phones[i].fx, -1);
		if (!ret)
			ret = rsnl_slot_set(nl, phones[i].fx.index, &map);
		if (!ret && chain_map(c, i, 100 + i, 0) != 201)
			ret = -EPROTO;
		if (ret || !phones[i].lat) {
			fprintf(stderr, "chain_scale: slot %u: %s\n", i, strerror(-ret));
			rsnl_close(nl);
			return -1;
		}
	}
	rsnl_close(nl);
	for (unsigned int i = 0; i < n; i++) {
		if (ready(phones[i].fx.modem)) {
			fprintf(stderr, "chain_scale: slot %u never answered\n", i);
			return -1;
		}
	}
	return 0;
}

static void phones_done(struct phone *phones, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		slot_fixture_done(&phones[i].fx);
		free(phones[i].lat);
	}
}

/*
 * The daemons' resident memory once all 64 slots were busy: one
 * remsim-client serves them all (goal, checked: under 8 MiB); each bankd
 * has 16 (bench/bankd_rtt checks what a slot costs it).
 */
#define CLIENT_KIB_MAX	8192

static int print_memory(struct chain *c)
{
	long client = pid_rss_kib(c->client.pid), bankd = 0;

	for (unsigned int b = 0; b < c->o.banks; b++) {
		long r = pid_rss_kib(c->bank[b].bankd.pid);

		if (r > bankd)
			bankd = r;
	}
	if (client < 0 || bankd <= 0) {
		fprintf(stderr, "chain_scale: no resident memory of the daemons\n");
		return -1;
	}
	printf("client_rss_64slots: %ld KiB\n", client);
	printf("bankd_rss_16slots_max: %ld KiB\n", bankd);
	if (client <= CLIENT_KIB_MAX)
		return 0;
	fprintf(stderr, "chain_scale: remsim-client with 64 busy slots: %ld KiB, more than %u\n",
		client, CLIENT_KIB_MAX);
	return -1;
}

static int by_slots(uint64_t *all)
{
	static const unsigned int counts[] = { 1, 8, 64 };
	struct chain_opts o = { .cards = 16, .banks = 4 };
	static struct phone phones[SLOTS_MAX];
	uint64_t base50 = 0, base99 = 0;
	struct chain c;

	int ret;

	fprintf(stderr, "chain_scale: 64 slots, 4 banks of 16 cards\n");
	ret = chain_start_opts(&c, &o);
	if (ret)
		fprintf(stderr, "chain_scale: the chain: %s\n", strerror(-ret));
	if (ret || phones_setup(&c, phones, SLOTS_MAX)) {
		fprintf(stderr, "chain_scale: cannot set up 64 slots\n");
		chain_stop(&c);
		return -1;
	}
	for (unsigned int k = 0; k < 3; k++) {
		uint64_t p50, p99;
		double per_s;
		char name[32];

		if (burst(phones, counts[k], all, &p50, &p99, &per_s)) {
			fprintf(stderr, "chain_scale: an APDU failed with %u slots\n", counts[k]);
			ret = -1;
			break;
		}
		snprintf(name, sizeof(name), "chain_slots%u", counts[k]);
		report(name, p50, p99, base50, base99, "slots1");
		printf("%s_throughput: %.0f APDUs/s\n", name, per_s);
		if (!k) {
			base50 = p50;
			base99 = p99;
		}
	}
	if (!ret)
		ret = print_memory(&c);
	phones_done(phones, SLOTS_MAX);
	chain_stop(&c);
	return ret;
}

static int sh(const char *cmd)
{
	int st = system(cmd);

	return WIFEXITED(st) && !WEXITSTATUS(st) ? 0 : -1;
}

#define NET_PORT	9997
#define NET_BANK_IP	"10.99.0.2"	/* CHAIN_BANK_DEV's, chain_netns_create() */
/* the echo outlives no parent by more than this */
#define NET_ECHO_SECS	600

/* In CHAIN_NETNS: echoes 32-byte messages on one connection, then exits. */
static void net_echo(int ready)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(NET_PORT) };
	int one = 1, lfd, fd, ns = open("/run/netns/" CHAIN_NETNS, O_RDONLY);
	char buf[32];

	if (ns < 0 || setns(ns, CLONE_NEWNET))
		_exit(1);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 1) ||
	    write(ready, "", 1) != 1)
		_exit(1);
	alarm(NET_ECHO_SECS);	/* the parent died: do not linger */
	fd = accept(lfd, NULL, NULL);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	while (recv(fd, buf, sizeof(buf), MSG_WAITALL) == sizeof(buf))
		if (send(fd, buf, sizeof(buf), 0) != sizeof(buf))
			break;
	_exit(0);
}

/* Packets that crossed CHAIN_HOST_DEV so far, both ways, or -1. */
static long link_packets(void)
{
	static const char *const f[] = { "tx_packets", "rx_packets" };
	long sum = 0;

	for (int i = 0; i < 2; i++) {
		char path[96];
		long v = -1;
		FILE *fp;

		snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/%s", CHAIN_HOST_DEV,
			 f[i]);
		fp = fopen(path, "r");
		if (!fp)
			return -1;
		if (fscanf(fp, "%ld", &v) != 1)
			v = -1;
		fclose(fp);
		if (v < 0)
			return -1;
		sum += v;
	}
	return sum;
}

/*
 * What the network itself takes: a 32-byte TCP ping-pong from here to the
 * bankd's namespace, through the same veth pair and netem as the chain's
 * TPDUs, beside the APDUs (net_pinger), so that both see the same load
 * of the machine. In the emulated machine netem's timer fires late, so the
 * chain's added delay is measured against this as well as against the
 * configured delay.
 */
struct net_ping {
	pid_t pid;
	int fd;
};

static int net_open(struct net_ping *np)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(NET_PORT) };
	int one = 1, pipefd[2];
	char c;

	np->fd = -1;
	if (pipe(pipefd))
		return -1;
	np->pid = fork();
	if (!np->pid)
		net_echo(pipefd[1]);
	close(pipefd[1]);
	if (np->pid < 0 || read(pipefd[0], &c, 1) != 1) {
		close(pipefd[0]);
		return -1;
	}
	close(pipefd[0]);
	inet_pton(AF_INET, NET_BANK_IP, &a.sin_addr);
	np->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (np->fd < 0 || connect(np->fd, (struct sockaddr *)&a, sizeof(a)))
		return -1;
	setsockopt(np->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return 0;
}

static int net_round(struct net_ping *np, uint64_t *ns)
{
	char buf[32] = { 0 };
	uint64_t t = now_ns();

	if (send(np->fd, buf, sizeof(buf), 0) != sizeof(buf) ||
	    recv(np->fd, buf, sizeof(buf), MSG_WAITALL) != sizeof(buf))
		return -1;
	*ns = now_ns() - t;
	return 0;
}

/* The ping-pong's own segments, both ways, to take off the link's count. */
static long net_segs(struct net_ping *np)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (getsockopt(np->fd, IPPROTO_TCP, TCP_INFO, &ti, &len))
		return -1;
	return (long)ti.tcpi_segs_out + ti.tcpi_segs_in;
}

static void net_close(struct net_ping *np)
{
	if (np->fd >= 0)
		close(np->fd);
	if (np->pid > 0) {
		kill(np->pid, SIGTERM);
		waitpid(np->pid, NULL, 0);
	}
}

/*
 * The ping-pong beside the APDUs, in a thread of its own, until they are
 * done: both see the same load of the machine, and the chain's connection
 * keeps the rhythm of back-to-back APDUs.
 */
struct net_pinger {
	struct net_ping *np;
	uint64_t *lat;
	unsigned int max, n, idle_ms;
	atomic_bool stop;
	int ret;
};

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	if (ms)
		nanosleep(&ts, NULL);
}

static void *net_pinger(void *arg)
{
	struct net_pinger *pg = arg;

	for (pg->n = 0; !atomic_load(&pg->stop) && pg->n < pg->max; pg->n++) {
		sleep_ms(pg->idle_ms);
		if (net_round(pg->np, &pg->lat[pg->n])) {
			pg->ret = -1;
			break;
		}
	}
	return NULL;
}

/*
 * A delay's figures: the p50 and p99 of the APDUs, the ping-pong's p50
 * and the chain's packets per APDU (-1: not counted).
 */
struct delay_run {
	uint64_t p50, p99, net50;
	double pkts;
};

/*
 * APDUs of a delay run per APDUS_PER_SLOT: the p50 of 100 moves by about
 * 1 ms on the loaded host, which is the 2% at 50 ms; four times as many
 * halve that. They run in blocks, alternating with the control's, so that
 * a change of the host's load hits both alike.
 */
#define DELAY_APDUS	4
#define DELAY_BLOCKS	8
/* a run's and its control's APDUs, each with twice as many ping-pongs */
_Static_assert(6 * DELAY_APDUS <= SLOTS_MAX, "a delay run's latencies fit into all[]");

/* Latencies gathered over blocks. */
struct delay_acc {
	uint64_t *lat, *net;
	unsigned int n, nnet, cap;	/* cap: APDUs; ping-pongs up to twice that */
	long pkts;
};

static void delay_acc_init(struct delay_acc *a, uint64_t *mem, unsigned int cap)
{
	*a = (struct delay_acc){ .lat = mem, .net = mem + cap, .cap = cap };
}

static int set_netem(unsigned int ms)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "tc qdisc replace dev %s root netem delay %ums",
		 CHAIN_HOST_DEV, ms);
	return sh(cmd);
}

/*
 * @count APDUs under @netem_ms, each after @idle_ms of nothing, with the
 * ping-pong beside them (so paced too), into @a.
 */
static int delay_block(struct phone *p, struct net_ping *np, unsigned int netem_ms,
		       unsigned int idle_ms, unsigned int count, struct delay_acc *a)
{
	/* at most two rounds per APDU (without netem many more would fit) */
	struct net_pinger pg = { .np = np, .lat = a->net + a->nnet, .max = 2 * count,
				 .idle_ms = idle_ms };
	long pkts, segs, pkts2, segs2;
	pthread_t th;
	uint64_t t;
	int ret = 0;

	if (a->n + count > a->cap || a->nnet + 2 * count > 2 * a->cap || set_netem(netem_ms)) {
		fprintf(stderr, "chain_scale: no netem of %u ms\n", netem_ms);
		return -1;
	}
	/* the first round after a qdisc change: not measured */
	if (one_apdu(p, &t) || net_round(np, &t)) {
		fprintf(stderr, "chain_scale: no first round under %u ms of netem\n", netem_ms);
		return -1;
	}
	pkts = link_packets();
	segs = net_segs(np);
	if (pthread_create(&th, NULL, net_pinger, &pg))
		return -1;
	for (unsigned int i = 0; i < count && !ret; i++) {
		sleep_ms(idle_ms);
		ret = one_apdu(p, &a->lat[a->n++]);
	}
	atomic_store(&pg.stop, true);
	pthread_join(th, NULL);
	if (ret || pg.ret || !pg.n) {
		fprintf(stderr, "chain_scale: %s failed under %u ms of netem\n",
			ret ? "an APDU" : "the ping-pong", netem_ms);
		return -1;
	}
	a->nnet += pg.n;
	pkts2 = link_packets();
	segs2 = net_segs(np);
	if (pkts < 0 || segs < 0 || pkts2 < 0 || segs2 < 0 || a->pkts < 0)
		a->pkts = -1;
	else
		a->pkts += pkts2 - pkts - (segs2 - segs);
	return 0;
}

static void delay_result(const struct delay_acc *a, struct delay_run *r)
{
	r->pkts = a->pkts < 0 ? -1 : (double)a->pkts / a->n;
	r->p50 = percentile(a->lat, a->n, 50);
	r->p99 = percentile(a->lat, a->n, 99);
	r->net50 = percentile(a->net, a->nnet, 50);
}

/*
 * @ms of netem (@r) and, unless 0, its control (@idle: no netem, @ms of
 * nothing before each APDU and ping-pong), in alternating blocks.
 */
static int delay_runs(struct phone *p, struct net_ping *np, unsigned int ms, uint64_t *all,
		      struct delay_run *r, struct delay_run *idle)
{
	unsigned int n = DELAY_APDUS * apdus, per = (n + DELAY_BLOCKS - 1) / DELAY_BLOCKS;
	struct delay_acc run, ctl;

	delay_acc_init(&run, all, n);
	delay_acc_init(&ctl, all + 3 * n, n);
	for (unsigned int done = 0; done < n; done += per) {
		unsigned int count = per < n - done ? per : n - done;

		if ((ms && delay_block(p, np, 0, ms, count, &ctl)) ||
		    delay_block(p, np, ms, 0, count, &run))
			return -1;
	}
	delay_result(&run, r);
	if (ms)
		delay_result(&ctl, idle);
	return 0;
}

/*
 * What the chain adds over the network at 50 ms: at most this much more
 * than the ping-pong (a segment held back on a hop would add a round
 * trip, 100%). 2% of 10 ms is below what TCG's timers keep steady, so
 * 10 ms is reported only.
 */
#define ADDED_VS_NET_MAX	1.02
#define GATED_DELAY_MS		50

/*
 * Prints what delay @ms added, against netem's and the network's; 0 if in
 * bounds. @idle: the same chain and ping-pong without netem, each APDU and
 * round after @ms of nothing. A process of the chain that slept that long
 * wakes slower (the emulated machine's idle CPUs, a shared host), and
 * waiting for the network makes every hop after it such a sleeper, so the
 * delay added is set against that, not against back-to-back APDUs.
 */
static int report_added(unsigned int ms, const struct delay_run *idle, const struct delay_run *r,
			const struct delay_run *hot)
{
	double chain = (double)r->p50 - idle->p50, net = (double)r->net50 - idle->net50;
	char name[32];

	snprintf(name, sizeof(name), "chain_idle%ums", ms);
	report(name, idle->p50, idle->p99, hot->p50, hot->p99, "delay0ms");
	snprintf(name, sizeof(name), "chain_delay%ums", ms);
	printf("net_delay%ums_added_p50: %.2f ms (%.3fx vs netem)\n", ms, net / 1e6,
	       net / (ms * 1e6));
	printf("%s_added_p50: %.2f ms (%.3fx vs netem)\n", name, chain / 1e6, chain / (ms * 1e6));
	/* 1.00 when no hop of the chain holds a segment back (Nagle, a delayed ACK) */
	printf("%s_added_vs_net: %.2f ms (%.3fx vs net_delay%ums_added)\n", name, chain / 1e6,
	       net > 0 ? chain / net : 0, ms);
	if (ms != GATED_DELAY_MS)
		return 0;
	if (net > 0 && chain / net <= ADDED_VS_NET_MAX)
		return 0;
	fprintf(stderr, "chain_scale: %u ms of netem added %.2f ms to the chain's p50, "
		"the network's own %.2f ms: more than %.0f%% over\n", ms, chain / 1e6, net / 1e6,
		(ADDED_VS_NET_MAX - 1) * 100);
	return -1;
}

static int by_delay(uint64_t *all)
{
	static const unsigned int delays[] = { 0, 10, 50 };
	struct chain_opts o = { .cards = 2, .netns = true };
	struct net_ping np = { .fd = -1 };
	static struct phone phone;
	struct delay_run base = { 0 };
	struct chain c;
	int ret = -1, bad = 0;

	fprintf(stderr, "chain_scale: one slot, the bankd behind a veth pair with netem\n");
	if (chain_netns_create() || sh("modprobe -q sch_netem")) {
		fprintf(stderr, "chain_scale: no network namespace or netem\n");
		return -1;
	}
	ret = chain_start_opts(&c, &o);
	if (ret) {
		char cmd[300];

		fprintf(stderr, "chain_scale: the chain: %s\n", strerror(-ret));
		snprintf(cmd, sizeof(cmd), "tail -n 5 %s/*.log >&2", c.dir);
		sh(cmd);
	}
	if (ret || phones_setup(&c, &phone, 1)) {
		ret = -1;
		goto out;
	}
	ret = -1;
	if (net_open(&np)) {
		fprintf(stderr, "chain_scale: no TCP ping-pong to %s\n", NET_BANK_IP);
		goto out;
	}
	for (unsigned int k = 0; k < 3; k++) {
		struct delay_run r, idle;
		char name[32];

		if (delay_runs(&phone, &np, delays[k], all, &r, &idle))
			goto out;
		snprintf(name, sizeof(name), "chain_delay%ums", delays[k]);
		report(name, r.p50, r.p99, base.p50, base.p99, "delay0ms");
		/* 2 (the TPDU, its answer; ACKs ride on them): more is a stray segment */
		printf("%s_packets: %.2f per APDU\n", name, r.pkts);
		if (!k)
			base = r;
		else
			bad |= report_added(delays[k], &idle, &r, &base);
	}
	ret = bad;
out:
	if (ret)
		fprintf(stderr, "chain_scale: the delay runs failed\n");
	net_close(&np);
	phones_done(&phone, 1);
	chain_stop(&c);
	chain_netns_delete();
	return ret;
}

int main(int argc, char **argv)
{
	uint64_t *all;
	int ret;

	if (argc > 1)
		apdus = atoi(argv[1]);
	if (!apdus)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	all = calloc((size_t)apdus * SLOTS_MAX, sizeof(uint64_t));
	if (!all || slot_modules_load())
		return 1;
	printf("# the phone's APDU round trip through the whole chain, %u APDUs per slot\n",
	       apdus);
	ret = argc > 2 && strcmp(argv[2], "slots") ? 0 : by_slots(all);
	ret |= argc > 2 && strcmp(argv[2], "delay") ? 0 : by_delay(all);
	return ret ? 1 : 0;
}
