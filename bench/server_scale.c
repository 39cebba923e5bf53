// SPDX-License-Identifier: GPL-2.0
/*
 * server_scale - remsim-server with a rack's worth of peers: N bankds and
 * N clients connected (N = 1000 by default), then N slot maps created over
 * REST one after the other. Reports maps per second, p50/p99 from sending
 * the POST to the bankd holding its CreateMappingReq, and the server's RSS
 * per connected peer; the base is a trivial REST round trip
 * (GET /restart-counter) on the same loopback. Then the same on
 * PostgreSQL (tests/lib/pg_env.c, fsync on), maps per second and p99
 * against SQLite's of the same run.
 *
 *   server_scale [N]
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "daemon.h"
#include "http.h"
#include "measure.h"
#include "pg_env.h"
#include "rspro_peer.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t pct(uint64_t *v, int n, int p)
{
	return v[(n - 1) * p / 100];
}

struct run {
	double rate;			/* maps per second */
	uint64_t p50, p99;		/* POST to CreateMappingReq, ns */
	uint64_t base50, base99;	/* GET /restart-counter, ns */
	long rss0, rss1;		/* KiB before and after the peers */
};

/*
 * One server on database @db (a SQLite file or a PostgreSQL connection
 * string): @n bankds and @n clients, then @n maps one at a time.
 */
static int run(const char *db, const char *log, int n, struct run *r)
{
	int i, rspro = free_port(), rest = free_port();
	char rspro_s[8], rest_s[8], resp[4096], json[200];
	static struct tpeer *banks, *clients;
	static uint64_t *lat, *base;
	struct ev_loop *loop = ev_loop_new();
	char *sargv[] = { (char *)daemon_bin_fast("remsim-server"), "-D", (char *)db,
			  "--rspro-port", rspro_s, "--rest-port", rest_s, "-e", "error", NULL };
	uint64_t t0, t_all;
	struct daemon d;

	if (!banks) {
		banks = calloc(n, sizeof(*banks));
		clients = calloc(n, sizeof(*clients));
		lat = calloc(n, sizeof(*lat));
		base = calloc(n, sizeof(*base));
	}
	if (!loop || !banks || !clients || !lat || !base)
		return 1;
	snprintf(rspro_s, sizeof(rspro_s), "%d", rspro);
	snprintf(rest_s, sizeof(rest_s), "%d", rest);
	if (daemon_start(&d, sargv, log) || !wait_port(rest, 5000) || !wait_port(rspro, 5000)) {
		fprintf(stderr, "server_scale: the server did not start (%s)\n", log);
		return 1;
	}

	/* the base: a REST round trip that does nothing */
	for (i = 0; i < n; i++) {
		t0 = now_ns();
		if (http_json(rest, "GET", "/api/backend/v1/restart-counter", NULL, resp,
			      sizeof(resp)) != 200)
			return 1;
		base[i] = now_ns() - t0;
	}
	r->rss0 = pid_rss_kib(d.pid);
	for (i = 0; i < n; i++) {
		if (!tpeer_bankd(&banks[i], loop, rspro, i, 1, 9999) ||
		    !tpeer_client(&clients[i], loop, rspro, i, 0)) {
			fprintf(stderr, "server_scale: peer %d did not register\n", i);
			return 1;
		}
	}
	tpeer_run(loop, 200);
	r->rss1 = pid_rss_kib(d.pid);

	t_all = now_ns();
	for (i = 0; i < n; i++) {
		struct rspro_pdu pdu;

		snprintf(json, sizeof(json),
			 "{\"bank\":{\"bankId\":%d,\"slotNr\":0},\"client\":{\"clientId\":%d,\"slotNr\":0}}",
			 i, i);
		t0 = now_ns();
		if (http_json(rest, "POST", "/api/backend/v1/slotmaps", json, resp,
			      sizeof(resp)) != 201 ||
		    !tpeer_wait(&banks[i], RSPRO_CREATE_MAPPING_REQ, NULL, 5000)) {
			fprintf(stderr, "server_scale: map %d failed\n", i);
			return 1;
		}
		lat[i] = now_ns() - t0;
		rspro_result_res(&pdu, RSPRO_CREATE_MAPPING_RES, RSPRO_OK);
		tpeer_send(&banks[i], &pdu);
	}
	t_all = now_ns() - t_all;
	qsort(lat, n, sizeof(*lat), cmp_u64);
	qsort(base, n, sizeof(*base), cmp_u64);
	r->rate = n / (t_all / 1e9);
	r->p50 = pct(lat, n, 50);
	r->p99 = pct(lat, n, 99);
	r->base50 = pct(base, n, 50);
	r->base99 = pct(base, n, 99);
	for (i = 0; i < n; i++) {
		tpeer_close(&banks[i]);
		tpeer_close(&clients[i]);
	}
	daemon_stop(&d, SIGTERM, 10000);
	ev_loop_free(loop);
	return 0;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1000;
	char dir[] = "/tmp/remsim-server-bench-XXXXXX", db[300], log[128], cmd[200];
	struct run sq, pq;
	struct pg_env pg;
	struct rlimit rl;
	int ret;

	if (n < 1 || n > 1024) {
		fprintf(stderr, "server_scale: N is 1..1024 (bank ids)\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (!mkdtemp(dir))
		return 1;
	snprintf(db, sizeof(db), "%s/server.db", dir);
	snprintf(log, sizeof(log), "%s/server.log", dir);
	if (run(db, log, n, &sq))
		return 1;

	printf("# %d bankds and %d clients connected, %d maps created over REST, one at a time\n",
	       n, n, n);
	printf("server_map_rate: %.0f per s\n", sq.rate);
	printf("server_map_p50: %.1f us (%.2fx vs http_get)\n", sq.p50 / 1e3,
	       (double)sq.p50 / sq.base50);
	printf("server_map_p99: %.1f us (%.2fx vs http_get)\n", sq.p99 / 1e3,
	       (double)sq.p99 / sq.base99);
	printf("http_get_p50: %.1f us\n", sq.base50 / 1e3);
	printf("server_rss_per_peer: %.1f KiB\n", (double)(sq.rss1 - sq.rss0) / (2 * n));
	printf("server_rss: %ld KiB\n", sq.rss1);
	fflush(stdout);

	/* the same on PostgreSQL, fsync on as SQLite's synchronous=FULL is */
	pg_env_fsync = true;
	ret = pg_env_start(&pg) || pg_env_createdb(&pg, "bench");
	if (!ret) {
		pg_env_conninfo(&pg, "bench", db, sizeof(db));
		snprintf(log, sizeof(log), "%s/server-pg.log", dir);
		ret = run(db, log, n, &pq);
	}
	pg_env_stop(&pg);
	if (!ret) {
		printf("# the same on PostgreSQL 15 (a local server on a Unix socket, fsync on)\n");
		printf("server_map_rate_postgresql: %.0f per s (%.2fx vs sqlite)\n", pq.rate,
		       pq.rate / sq.rate);
		printf("server_map_p99_postgresql: %.1f us (%.2fx vs sqlite)\n", pq.p99 / 1e3,
		       (double)pq.p99 / sq.p99);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) || ret ? 1 : 0;
}
