// SPDX-License-Identifier: GPL-2.0
/* chain.c - see chain.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chain.h"
#include "http.h"
#include "https.h"

static int sh(const char *cmd)
{
	int st = system(cmd);

	return WIFEXITED(st) && !WEXITSTATUS(st) ? 0 : -EIO;
}

/*
 * The rack's certificates as an operator makes them (remsim-pki): the
 * server's also for REST's HTTPS on 127.0.0.1, a bankd's per bank, and one
 * client certificate for every client id (the chain's host has them all).
 * A chain_opts.pki_dir made ahead holds the same files.
 */
static int chain_pki(struct chain *c)
{
	const char *tool = daemon_src_path("userspace/tools/remsim-pki");
	char cmd[PATH_MAX + 200];
	unsigned int b;
	int ret;

	snprintf(c->pki, sizeof(c->pki), "%s/pki", c->dir);
	snprintf(cmd, sizeof(cmd), "{ %s init %s && %s server %s localhost 127.0.0.1 && "
		 "%s client 0-1023 %s; } >/dev/null", tool, c->pki, tool, c->pki, tool, c->pki);
	ret = sh(cmd);
	for (b = 0; !ret && b < c->o.banks; b++) {
		snprintf(cmd, sizeof(cmd), "%s bankd %u %s >/dev/null", tool, b + 1, c->pki);
		ret = sh(cmd);
	}
	return ret;
}

/* An admin token in the server's database, before the server starts. */
static int chain_token(struct chain *c, const char *db)
{
	char cmd[PATH_MAX + 200];
	FILE *p;
	int ret = -EIO;

	snprintf(cmd, sizeof(cmd), "%s token add chain --scope admin -D %s 2>/dev/null",
		 daemon_bin_fast("remsim-server"), db);
	p = popen(cmd, "r");
	if (!p)
		return -errno;
	if (fgets(c->token, sizeof(c->token), p)) {
		c->token[strcspn(c->token, "\n")] = 0;
		ret = strncmp(c->token, "remsim_", 7) ? -EPROTO : 0;
	}
	if (pclose(p))
		ret = -EIO;
	return ret;
}

/* The files named on a daemon's command line: they live until its exec. */
struct tls_argv {
	char ca[200], crl[200], cert[200], key[200];
};

/* The chain's TLS options for certificate @stem into @argv from @n; the new n. */
static int tls_argv(struct chain *c, struct tls_argv *t, const char *stem, char **argv, int n)
{
	if (!c->o.tls)
		return n;
	snprintf(t->ca, sizeof(t->ca), "%s/ca.pem", c->pki);
	snprintf(t->crl, sizeof(t->crl), "%s/crl.pem", c->pki);
	snprintf(t->cert, sizeof(t->cert), "%s/%s.pem", c->pki, stem);
	snprintf(t->key, sizeof(t->key), "%s/%s.key", c->pki, stem);
	argv[n++] = "--tls";
	argv[n++] = "on";
	argv[n++] = "--tls-ca";
	argv[n++] = t->ca;
	argv[n++] = "--tls-crl";
	argv[n++] = t->crl;
	argv[n++] = "--tls-cert";
	argv[n++] = t->cert;
	argv[n++] = "--tls-key";
	argv[n++] = t->key;
	return n;
}

int chain_rest(struct chain *c, const char *method, const char *path, const char *json,
	       char *resp, size_t size)
{
	char req[1024], ca[200];
	size_t len = json ? strlen(json) : 0;

	if (!c->o.tls)
		return http_json(c->rest_port, method, path, json, resp, size);
	if ((size_t)snprintf(req, sizeof(req),
			     "%s %s HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer %s\r\n"
			     "Content-Type: application/json\r\nContent-Length: %zu\r\n"
			     "Connection: close\r\n\r\n%s", method, path, c->token, len,
			     json ? json : "") >= sizeof(req))
		return -E2BIG;
	snprintf(ca, sizeof(ca), "%s/ca.pem", c->pki);
	return https_raw(c->rest_port, ca, req, resp, size);
}

int chain_start_server(struct chain *c)
{
	char db[96], log[96], rs[8], rt[8], rc[200], rk[200], dash[300];
	/* the dashboard from the source tree, as installed it is from DATADIR */
	char *argv[32] = { (char *)daemon_bin_fast("remsim-server"), "-D", db, "--rspro-port", rs,
			   "--rest-port", rt, "--dashboard", dash };
	struct tls_argv t;
	int n = 9, ret;

	snprintf(dash, sizeof(dash), "%s", daemon_src_path("userspace/server/dashboard"));

	snprintf(db, sizeof(db), "%s/server.db", c->o.db_dir ? c->o.db_dir : c->dir);
	n = tls_argv(c, &t, "server", argv, n);
	if (c->o.tls) {
		if (!c->token[0]) {
			ret = chain_token(c, db);
			if (ret)
				return ret;
		}
		snprintf(rc, sizeof(rc), "%s/server.pem", c->pki);
		snprintf(rk, sizeof(rk), "%s/server.key", c->pki);
		argv[n++] = "--rest-tls";
		argv[n++] = "on";
		argv[n++] = "--rest-tls-cert";
		argv[n++] = rc;
		argv[n++] = "--rest-tls-key";
		argv[n++] = rk;
		argv[n++] = "--rest-auth";
		argv[n++] = "on";
	}
	argv[n] = NULL;
	snprintf(log, sizeof(log), "%s/server.log", c->dir);
	snprintf(rs, sizeof(rs), "%d", c->rspro_port);
	snprintf(rt, sizeof(rt), "%d", c->rest_port);
	ret = daemon_start(&c->server, argv, log);
	if (!ret && !wait_port(c->rest_port, 10000))
		ret = -ETIMEDOUT;
	return ret;
}

int chain_wait_bankd(struct chain *c, unsigned int bank, int ms)
{
	char body[4096], want[32];

	snprintf(want, sizeof(want), "\"bankId\":%u", bank + 1);
	for (int waited = 0; waited < ms; waited += 50) {
		if (chain_rest(c, "GET", "/api/backend/v1/banks", NULL, body,
			       sizeof(body)) == 200 && strstr(body, want))
			return 0;
		usleep(50000);
	}
	return -ETIMEDOUT;
}

/* The bank's reader map: the softsim's, with this bank's id. */
static int write_csv(struct chain *c, unsigned int bank, char *csv, size_t size)
{
	char cmd[400];
	int st;

	snprintf(csv, size, "%s/bank%u.csv", c->dir, bank + 1);
	snprintf(cmd, sizeof(cmd), "sed 's/^\"1\",/\"%u\",/' %s >%s", bank + 1,
		 c->bank[bank].env.csv, csv);
	st = system(cmd);
	return WIFEXITED(st) && !WEXITSTATUS(st) ? 0 : -EIO;
}

int chain_start_bankd(struct chain *c, unsigned int bank)
{
	struct chain_bank *b = &c->bank[bank];
	char log[96], rs[8], bp[8], n[8], id[8], csv[96], stem[16];
	struct tls_argv t;
	char *argv[40];
	int i = 0, ret;

	ret = write_csv(c, bank, csv, sizeof(csv));
	if (ret)
		return ret;
	if (c->o.netns) {
		argv[i++] = "/usr/sbin/ip";
		argv[i++] = "netns";
		argv[i++] = "exec";
		argv[i++] = CHAIN_NETNS;
	}
	argv[i++] = (char *)daemon_bin_fast("remsim-bankd");
	argv[i++] = "-i";
	argv[i++] = c->o.netns ? CHAIN_HOST_IP : "127.0.0.1";
	argv[i++] = "-p";
	argv[i++] = rs;
	argv[i++] = "-b";
	argv[i++] = id;
	argv[i++] = "-n";
	argv[i++] = n;
	argv[i++] = "-P";
	argv[i++] = bp;
	argv[i++] = "-S";
	argv[i++] = csv;
	snprintf(stem, sizeof(stem), "bankd-%u", bank + 1);
	i = tls_argv(c, &t, stem, argv, i);
	for (int a = 0; c->o.bankd_args[bank] && c->o.bankd_args[bank][a]; a++) {
		if (i == 39)
			return -E2BIG;
		argv[i++] = c->o.bankd_args[bank][a];
	}
	argv[i] = NULL;
	snprintf(log, sizeof(log), "%s/bankd%u.log", c->dir, bank + 1);
	snprintf(rs, sizeof(rs), "%d", c->rspro_port);
	snprintf(id, sizeof(id), "%u", bank + 1);
	snprintf(bp, sizeof(bp), "%d", b->port);
	snprintf(n, sizeof(n), "%u", c->cards);
	/* the bankd finds its pcscd through this */
	setenv("PCSCLITE_CSOCK_NAME", b->env.sock, 1);
	ret = daemon_start(&b->bankd, argv, log);
	if (!ret)
		ret = chain_wait_bankd(c, bank, 10000);
	return ret;
}

int chain_start_client(struct chain *c, char *const *args)
{
	char *argv[50];
	char log[96], rs[8];
	struct tls_argv t;
	int n = 0, i;

	if (args) {
		for (i = 0; args[i]; i++) {
			if (i == 31)
				return -E2BIG;
			c->client_args[i] = strdup(args[i]);
		}
		c->client_args[i] = NULL;
	}
	snprintf(rs, sizeof(rs), "%d", c->rspro_port);
	argv[n++] = (char *)daemon_bin_fast("remsim-client");
	argv[n++] = "-i";
	argv[n++] = "127.0.0.1";
	argv[n++] = "-p";
	argv[n++] = rs;
	n = tls_argv(c, &t, "client-0-1023", argv, n);
	for (i = 0; c->client_args[i]; i++)
		argv[n++] = c->client_args[i];
	argv[n] = NULL;
	snprintf(log, sizeof(log), "%s/client.log", c->dir);
	return daemon_start(&c->client, argv, log);
}

int chain_start(struct chain *c, unsigned int cards, bool client)
{
	struct chain_opts o = { .cards = cards, .no_client = !client };

	return chain_start_opts(c, &o);
}

int chain_start_opts(struct chain *c, const struct chain_opts *o)
{
	unsigned int b;
	int ret;

	memset(c, 0, sizeof(*c));
	c->o = *o;
	if (!c->o.banks)
		c->o.banks = 1;
	if (c->o.banks > CHAIN_BANKS_MAX || !o->cards || o->cards > 16)
		return -EINVAL;
	snprintf(c->dir, sizeof(c->dir), "/tmp/remsim-chain-XXXXXX");
	if (!mkdtemp(c->dir))
		return -errno;
	c->cards = o->cards;
	if (c->o.tls && c->o.pki_dir) {
		if (strlen(c->o.pki_dir) >= sizeof(c->pki))
			return -ENAMETOOLONG;
		snprintf(c->pki, sizeof(c->pki), "%s", c->o.pki_dir);
	} else if (c->o.tls) {
		ret = chain_pki(c);
		if (ret)
			return ret;
	}
	pcsc_env_fast = true;
	for (b = 0; b < c->o.banks; b++) {
		ret = pcsc_env_start(&c->bank[b].env, c->cards);
		if (ret)
			return ret;
		c->bank[b].port = free_port();
	}
	c->rspro_port = free_port();
	c->rest_port = free_port();
	ret = chain_start_server(c);
	for (b = 0; !ret && b < c->o.banks; b++)
		ret = chain_start_bankd(c, b);
	if (!ret && !o->no_client)
		ret = chain_start_client(c, NULL);
	return ret;
}

int chain_stop(struct chain *c)
{
	int ret = 0;

	if (c->client.pid && daemon_stop(&c->client, SIGTERM, 10000))
		ret = -EIO;
	for (unsigned int b = 0; b < c->o.banks; b++)
		if (c->bank[b].bankd.pid && daemon_stop(&c->bank[b].bankd, SIGTERM, 10000))
			ret = -EIO;
	if (c->server.pid && daemon_stop(&c->server, SIGTERM, 10000))
		ret = -EIO;
	for (unsigned int b = 0; b < c->o.banks; b++)
		if (c->bank[b].env.pcscd.pid || c->bank[b].env.softsim.pid)
			pcsc_env_stop(&c->bank[b].env);
	for (int i = 0; c->client_args[i]; i++) {
		free(c->client_args[i]);
		c->client_args[i] = NULL;
	}
	return ret;
}

/* The TLS half of the ifd readers' DEVICENAME: a conf file, as installed. */
static int ifd_tls_conf(struct chain *c, char *words, size_t size)
{
	char path[PATH_MAX];
	FILE *f;

	words[0] = 0;
	if (!c->o.tls)
		return 0;
	snprintf(path, sizeof(path), "%s/ifd.conf", c->dir);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f, "tls = on\ntls-ca = %1$s/ca.pem\ntls-crl = %1$s/crl.pem\n"
		"tls-cert = %1$s/client-0-1023.pem\ntls-key = %1$s/client-0-1023.key\n", c->pki);
	if (fclose(f))
		return -EIO;
	if ((size_t)snprintf(words, size, "conf=%s", path) >= size)
		return -ENAMETOOLONG;
	return 0;
}

int chain_start_ifd(struct chain *c, struct pcsc_env *e, unsigned int readers,
		    unsigned int client_id, const char *more)
{
	char lib[PATH_MAX], tls[PATH_MAX + 8], conf[4096];
	size_t len = 0;
	int ret;

	ret = pcsc_env_ifd_lib(lib, sizeof(lib));
	if (!ret)
		ret = ifd_tls_conf(c, tls, sizeof(tls));
	if (ret)
		return ret;
	for (unsigned int i = 0; i < readers && len < sizeof(conf); i++)
		len += snprintf(conf + len, sizeof(conf) - len,
				"FRIENDLYNAME \"remsim %u:0\"\n"
				"DEVICENAME \"server=127.0.0.1:%d client=%u slot=0 %s %s\"\n"
				"LIBPATH %s\n\n", client_id + i, c->rspro_port, client_id + i,
				tls, more, lib);
	if (len >= sizeof(conf))
		return -E2BIG;
	return pcsc_env_start_readers(e, conf);
}

int chain_map(struct chain *c, int card, int client_id, int client_slot)
{
	char json[200], body[512];

	snprintf(json, sizeof(json),
		 "{\"bank\":{\"bankId\":%u,\"slotNr\":%u},\"client\":{\"clientId\":%d,\"slotNr\":%d}}",
		 card / c->cards + 1, card % c->cards, client_id, client_slot);
	return chain_rest(c, "POST", "/api/backend/v1/slotmaps", json, body, sizeof(body));
}

int chain_unmap(struct chain *c, int card)
{
	char path[80], body[512];

	/* osmo-remsim's id of a map: (bankId << 16) | bank slot */
	snprintf(path, sizeof(path), "/api/backend/v1/slotmaps/%u",
		 (card / c->cards + 1) << 16 | card % c->cards);
	return chain_rest(c, "DELETE", path, NULL, body, sizeof(body));
}

/*
 * Commands of every bank's log matching the awk condition, or those seen
 * twice by the same card (the file names the bank: card 0 of bank 1 and
 * card 0 of bank 2 are different cards).
 */
static int count_commands(struct chain *c, const char *cond, bool dup)
{
	char cmd[900], logs[600] = "";
	FILE *p;
	int n = -1;

	for (unsigned int b = 0; b < c->o.banks; b++)
		snprintf(logs + strlen(logs), sizeof(logs) - strlen(logs), " %s",
			 c->bank[b].env.cmdlog);
	snprintf(cmd, sizeof(cmd), "awk '%s {print FILENAME, $3, $4}'%s | sort | %s | wc -l", cond,
		 logs, dup ? "uniq -d" : "cat");
	p = popen(cmd, "r");
	if (p && fscanf(p, "%d", &n) != 1)
		n = -1;
	if (p)
		pclose(p);
	return n;
}

int chain_authentications(struct chain *c, bool dup)
{
	/* each carries a fresh RAND: a repeat is a replay */
	return count_commands(c, "$4 ~ /^00880081/ || $4 ~ /^a088/", dup);
}

int chain_duplicates(struct chain *c, const char *hex_prefix)
{
	char cond[80];

	snprintf(cond, sizeof(cond), "$4 ~ /^%s/", hex_prefix);
	return count_commands(c, cond, true);
}

int chain_commands(struct chain *c, const char *hex_prefix)
{
	char cond[80];

	snprintf(cond, sizeof(cond), "$4 ~ /^%s/", hex_prefix);
	return count_commands(c, cond, false);
}

int chain_netns_create(void)
{
	chain_netns_delete();
	return sh("modprobe -q veth && ip netns add " CHAIN_NETNS " && "
		  "ip link add " CHAIN_HOST_DEV " type veth peer name " CHAIN_BANK_DEV " && "
		  "ip link set " CHAIN_BANK_DEV " netns " CHAIN_NETNS " && "
		  "ip addr add " CHAIN_HOST_IP "/24 dev " CHAIN_HOST_DEV " && "
		  "ip link set " CHAIN_HOST_DEV " up && "
		  "ip -n " CHAIN_NETNS " addr add " CHAIN_BANK_IP "/24 dev " CHAIN_BANK_DEV " && "
		  "ip -n " CHAIN_NETNS " link set " CHAIN_BANK_DEV " up && "
		  "ip -n " CHAIN_NETNS " link set lo up");
}

void chain_netns_delete(void)
{
	sh("ip netns del " CHAIN_NETNS " 2>/dev/null; ip link del " CHAIN_HOST_DEV " 2>/dev/null; true");
}
