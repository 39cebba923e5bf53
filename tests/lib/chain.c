// SPDX-License-Identifier: GPL-2.0
/* chain.c - see chain.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chain.h"
#include "http.h"

int chain_start_server(struct chain *c)
{
	char db[96], log[96], rs[8], rt[8];
	char *argv[] = { (char *)daemon_bin_fast("remsim-server"), "-D", db, "--rspro-port", rs,
			 "--rest-port", rt, NULL };
	int ret;

	snprintf(db, sizeof(db), "%s/server.db", c->o.db_dir ? c->o.db_dir : c->dir);
	snprintf(log, sizeof(log), "%s/server.log", c->dir);
	snprintf(rs, sizeof(rs), "%d", c->rspro_port);
	snprintf(rt, sizeof(rt), "%d", c->rest_port);
	ret = daemon_start(&c->server, argv, log);
	if (!ret && !wait_port(c->rest_port, 10000))
		ret = -ETIMEDOUT;
	return ret;
}

int chain_start_bankd(struct chain *c)
{
	char log[96], rs[8], bp[8], n[8];
	char *argv[24];
	int i = 0, ret;

	for (int k = 0; k < 4 && c->o.bankd_prefix[k]; k++)
		argv[i++] = c->o.bankd_prefix[k];
	argv[i++] = (char *)daemon_bin_fast("remsim-bankd");
	argv[i++] = "-i";
	argv[i++] = (char *)(c->o.server_host ? c->o.server_host : "127.0.0.1");
	argv[i++] = "-p";
	argv[i++] = rs;
	argv[i++] = "-n";
	argv[i++] = n;
	argv[i++] = "-P";
	argv[i++] = bp;
	argv[i++] = "-S";
	argv[i++] = c->env.csv;
	argv[i] = NULL;
	snprintf(log, sizeof(log), "%s/bankd.log", c->dir);
	snprintf(rs, sizeof(rs), "%d", c->rspro_port);
	snprintf(bp, sizeof(bp), "%d", c->bankd_port);
	snprintf(n, sizeof(n), "%u", c->cards);
	ret = daemon_start(&c->bankd, argv, log);
	if (!ret)
		ret = chain_wait_bankd(c, 10000);
	return ret;
}

int chain_start_client(struct chain *c, char *const *args)
{
	char *argv[32];
	char log[96], rs[8];
	int n = 0, i;

	if (args) {
		for (i = 0; args[i] && i < 15; i++)
			c->client_args[i] = strdup(args[i]);
		c->client_args[i] = NULL;
	}
	snprintf(rs, sizeof(rs), "%d", c->rspro_port);
	argv[n++] = (char *)daemon_bin_fast("remsim-client");
	argv[n++] = "-i";
	argv[n++] = "127.0.0.1";
	argv[n++] = "-p";
	argv[n++] = rs;
	for (i = 0; c->client_args[i] && n < 31; i++)
		argv[n++] = c->client_args[i];
	argv[n] = NULL;
	snprintf(log, sizeof(log), "%s/client.log", c->dir);
	return daemon_start(&c->client, argv, log);
}

int chain_wait_bankd(struct chain *c, int ms)
{
	char body[2048];

	for (int waited = 0; waited < ms; waited += 50) {
		if (http_json(c->rest_port, "GET", "/api/backend/v1/banks", NULL, body,
			      sizeof(body)) == 200 && strstr(body, "\"bankId\""))
			return 0;
		usleep(50000);
	}
	return -ETIMEDOUT;
}

int chain_start(struct chain *c, unsigned int cards, bool client)
{
	struct chain_opts o = { .cards = cards, .no_client = !client };

	return chain_start_opts(c, &o);
}

int chain_start_opts(struct chain *c, const struct chain_opts *o)
{
	unsigned int cards = o->cards;
	bool client = !o->no_client;
	int ret;

	memset(c, 0, sizeof(*c));
	c->o = *o;
	snprintf(c->dir, sizeof(c->dir), "/tmp/remsim-chain-XXXXXX");
	if (!mkdtemp(c->dir))
		return -errno;
	c->cards = cards;
	pcsc_env_fast = true;
	ret = pcsc_env_start(&c->env, cards);
	if (ret)
		return ret;
	c->rspro_port = free_port();
	c->rest_port = free_port();
	c->bankd_port = free_port();
	ret = chain_start_server(c);
	if (!ret)
		ret = chain_start_bankd(c);
	if (!ret && client)
		ret = chain_start_client(c, NULL);
	return ret;
}

int chain_stop(struct chain *c)
{
	int ret = 0;

	if (c->client.pid && daemon_stop(&c->client, SIGTERM, 10000))
		ret = -EIO;
	if (c->bankd.pid && daemon_stop(&c->bankd, SIGTERM, 10000))
		ret = -EIO;
	if (c->server.pid && daemon_stop(&c->server, SIGTERM, 10000))
		ret = -EIO;
	if (c->env.pcscd.pid || c->env.softsim.pid)
		pcsc_env_stop(&c->env);
	for (int i = 0; c->client_args[i]; i++) {
		free(c->client_args[i]);
		c->client_args[i] = NULL;
	}
	return ret;
}

int chain_map(struct chain *c, int bank_slot, int client_id, int client_slot)
{
	char json[200], body[512];

	snprintf(json, sizeof(json),
		 "{\"bank\":{\"bankId\":1,\"slotNr\":%d},\"client\":{\"clientId\":%d,\"slotNr\":%d}}",
		 bank_slot, client_id, client_slot);
	return http_json(c->rest_port, "POST", "/api/backend/v1/slotmaps", json, body,
			 sizeof(body));
}

int chain_unmap(struct chain *c, int bank_slot)
{
	char path[80], body[512];

	/* osmo-remsim's id of a map: (bankId << 16) | bank slot */
	snprintf(path, sizeof(path), "/api/backend/v1/slotmaps/%d", (1 << 16) | bank_slot);
	return http_json(c->rest_port, "DELETE", path, NULL, body, sizeof(body));
}

int chain_authentications(struct chain *c, bool dup)
{
	char cmd[300];
	FILE *p;
	int n = -1;

	/* each carries a fresh RAND: a repeat is a replay */
	snprintf(cmd, sizeof(cmd),
		 "awk '$4 ~ /^00880081/ || $4 ~ /^a088/ {print $3, $4}' %s | sort | %s | wc -l",
		 c->env.cmdlog, dup ? "uniq -d" : "cat");
	p = popen(cmd, "r");
	if (p && fscanf(p, "%d", &n) != 1)
		n = -1;
	if (p)
		pclose(p);
	return n;
}

long chain_rss_kib(const struct daemon *d)
{
	char path[64], line[128];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", d->pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}
