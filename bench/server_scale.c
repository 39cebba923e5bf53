// SPDX-License-Identifier: GPL-2.0
/*
 * server_scale - remsim-server with a rack's worth of peers: N bankds and
 * N clients connected (N = 1000 by default), then N slot maps created over
 * REST one after the other. Reports maps per second, p50/p99 from sending
 * the POST to the bankd holding its CreateMappingReq, and the server's RSS
 * per connected peer; the base is a trivial REST round trip
 * (GET /restart-counter) on the same loopback.
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

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1000, i, rspro, rest;
	char dir[] = "/tmp/remsim-server-bench-XXXXXX", db[128], log[128];
	char rspro_s[8], rest_s[8], resp[4096], json[200], cmd[200];
	static struct tpeer *banks, *clients;
	uint64_t *lat, *base, t0, t_all;
	struct ev_loop *loop = ev_loop_new();
	struct daemon d;
	struct rlimit rl;
	long rss0, rss1;
	char *sargv[12];

	if (n < 1 || n > 1024) {
		fprintf(stderr, "server_scale: N is 1..1024 (bank ids)\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	banks = calloc(n, sizeof(*banks));
	clients = calloc(n, sizeof(*clients));
	lat = calloc(n, sizeof(*lat));
	base = calloc(n, sizeof(*base));
	if (!mkdtemp(dir) || !banks || !clients || !lat || !base)
		return 1;
	snprintf(db, sizeof(db), "%s/server.db", dir);
	snprintf(log, sizeof(log), "%s/server.log", dir);
	rspro = free_port();
	rest = free_port();
	snprintf(rspro_s, sizeof(rspro_s), "%d", rspro);
	snprintf(rest_s, sizeof(rest_s), "%d", rest);
	sargv[0] = (char *)daemon_bin_fast("remsim-server");
	sargv[1] = "-D";
	sargv[2] = db;
	sargv[3] = "--rspro-port";
	sargv[4] = rspro_s;
	sargv[5] = "--rest-port";
	sargv[6] = rest_s;
	sargv[7] = "-e";
	sargv[8] = "error";
	sargv[9] = NULL;
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
	rss0 = pid_rss_kib(d.pid);
	for (i = 0; i < n; i++) {
		if (!tpeer_bankd(&banks[i], loop, rspro, i, 1, 9999) ||
		    !tpeer_client(&clients[i], loop, rspro, i, 0)) {
			fprintf(stderr, "server_scale: peer %d did not register\n", i);
			return 1;
		}
	}
	tpeer_run(loop, 200);
	rss1 = pid_rss_kib(d.pid);

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

	printf("# %d bankds and %d clients connected, %d maps created over REST, one at a time\n",
	       n, n, n);
	printf("server_map_rate: %.0f per s\n", n / (t_all / 1e9));
	printf("server_map_p50: %.1f us (%.2fx vs http_get)\n", pct(lat, n, 50) / 1e3,
	       (double)pct(lat, n, 50) / pct(base, n, 50));
	printf("server_map_p99: %.1f us (%.2fx vs http_get)\n", pct(lat, n, 99) / 1e3,
	       (double)pct(lat, n, 99) / pct(base, n, 99));
	printf("http_get_p50: %.1f us\n", pct(base, n, 50) / 1e3);
	printf("server_rss_per_peer: %.1f KiB\n", (double)(rss1 - rss0) / (2 * n));
	printf("server_rss: %ld KiB\n", rss1);

	for (i = 0; i < n; i++) {
		tpeer_close(&banks[i]);
		tpeer_close(&clients[i]);
	}
	daemon_stop(&d, SIGTERM, 10000);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) ? 1 : 0;
}
