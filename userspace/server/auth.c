// SPDX-License-Identifier: GPL-2.0
/*
 * REST's bearer tokens: made by `remsim-server token add` from 256 random
 * bits (getrandom), shown once, stored only as their SHA-256 (GnuTLS), and
 * checked by the running server against the database at every request, so
 * that `token revoke` counts from the next request on, with no signal and
 * no cache to invalidate. The command works beside the running server:
 * SQLite's WAL lets both at the file, and it waits for the server's lock.
 */
#include <errno.h>
#include <getopt.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "remsim/log.h"
#include "audit.h"
#include "auth.h"
#include "server.h"

#define TOKEN_PREFIX	"remsim_"
#define TOKEN_BYTES	32		/* 256 bits: 64 hex digits */

static int hash_secret(const char *secret, unsigned char hash[STORE_HASH_LEN])
{
	return gnutls_hash_fast(GNUTLS_DIG_SHA256, secret, strlen(secret), hash) ? -EIO : 0;
}

int server_token_check(struct server *srv, const char *secret,
		       char name[SERVER_TOKEN_NAME_MAX + 1], enum server_scope *scope,
		       char *err, size_t errlen)
{
	unsigned char hash[STORE_HASH_LEN];
	struct stored_token t;
	char why[300];
	int ret;

	if (hash_secret(secret, hash)) {
		snprintf(err, errlen, "SHA-256 failed");
		return -EIO;
	}
	ret = store_token_find(srv->store, hash, &t, err, errlen);
	if (ret == -ENOENT)
		return -EACCES;
	if (ret)
		return ret;
	snprintf(name, SERVER_TOKEN_NAME_MAX + 1, "%s", t.name);
	*scope = strcmp(t.scope, "admin") ? SERVER_SCOPE_READ : SERVER_SCOPE_ADMIN;
	/* "last used" is for the operator: a lock does not cost the request */
	if (store_token_used(srv->store, t.name, time(NULL), why, sizeof(why)))
		LOGP(DREST, LOG_DEBUG, "rest", "last use of token %s not noted: %s",
		     t.name, why);
	return 0;
}

/* --- remsim-server token --- */

/* A name is 1..64 of [A-Za-z0-9._-], starting with a letter or digit. */
static bool valid_name(const char *name)
{
	size_t n = strlen(name);

	if (!n || n > STORE_TOKEN_NAME_MAX || name[0] == '.' || name[0] == '-' ||
	    name[0] == '_')
		return false;
	return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789._-") == n;
}

static void token_usage(FILE *f)
{
	fprintf(f,
		"usage: remsim-server token add NAME --scope read|admin [-c FILE] [-D PATH]\n"
		"       remsim-server token list [-c FILE] [-D PATH]\n"
		"       remsim-server token revoke NAME [-c FILE] [-D PATH]\n"
		"\n"
		"Bearer tokens for REST (--rest-auth on), in the server's database (-D, or\n"
		"the config file's \"database\"); works while the server runs. \"add\" prints\n"
		"the token once: only its SHA-256 is stored. \"read\" may GET, \"admin\"\n"
		"may do everything.\n");
}

/* The command's own audit line, straight into the database. */
static void audit_command(struct store *st, const struct server_cfg *cfg,
			  const char *action, const char *before, const char *after)
{
	char time[48], caller[64], err[300];
	struct stored_audit a = { .time = time, .caller = caller, .action = action,
				  .before = before, .after = after };

	audit_time(time, sizeof(time), &a.time_us);
	snprintf(caller, sizeof(caller), "remsim-server token (uid %u)", (unsigned int)getuid());
	if (store_audit_add(st, &a, 1, cfg->audit_max, err, sizeof(err)))
		fprintf(stderr, "remsim-server: audit line not stored: %s\n", err);
}

static int token_add(struct store *st, const struct server_cfg *cfg, const char *name,
		     const char *scope)
{
	unsigned char raw[TOKEN_BYTES];
	char secret[sizeof(TOKEN_PREFIX) + 2 * TOKEN_BYTES], err[300] = "", what[100];
	struct stored_token t = { 0 };
	int i, ret;

	if (getrandom(raw, sizeof(raw), 0) != sizeof(raw)) {
		fprintf(stderr, "remsim-server: getrandom: %s\n", strerror(errno));
		return 1;
	}
	strcpy(secret, TOKEN_PREFIX);
	for (i = 0; i < TOKEN_BYTES; i++)
		sprintf(secret + strlen(TOKEN_PREFIX) + 2 * i, "%02x", raw[i]);
	gnutls_memset(raw, 0, sizeof(raw));
	snprintf(t.name, sizeof(t.name), "%s", name);
	snprintf(t.scope, sizeof(t.scope), "%s", scope);
	t.created = time(NULL);
	ret = hash_secret(secret, t.hash);
	if (!ret)
		ret = store_token_add(st, &t, err, sizeof(err));
	if (ret == -EEXIST)
		fprintf(stderr, "remsim-server: token \"%s\" exists: revoke it first\n", name);
	else if (ret)
		fprintf(stderr, "remsim-server: %s\n", ret == -EIO && !err[0] ? "SHA-256 failed" : err);
	if (!ret) {
		snprintf(what, sizeof(what), "%s scope %s", name, scope);
		audit_command(st, cfg, "token add", NULL, what);
		printf("%s\n", secret);
		fflush(stdout);
		fprintf(stderr, "token \"%s\" (scope %s) added; this is the only time it is shown\n",
			name, scope);
	}
	gnutls_memset(secret, 0, sizeof(secret));
	return ret ? 1 : 0;
}

static void format_time(int64_t t, char *buf, size_t size)
{
	time_t tt = t;
	struct tm tm;

	if (!t) {
		snprintf(buf, size, "never");
		return;
	}
	gmtime_r(&tt, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%S+00:00", &tm);
}

static void list_one(const struct stored_token *t, void *arg)
{
	char created[40], used[40];

	format_time(t->created, created, sizeof(created));
	format_time(t->last_used, used, sizeof(used));
	printf("%-24s %-6s %-26s %s\n", t->name, t->scope, created, used);
}

static int token_list(struct store *st)
{
	char err[300];

	printf("%-24s %-6s %-26s %s\n", "NAME", "SCOPE", "CREATED", "LAST USED");
	if (store_token_list(st, list_one, NULL, err, sizeof(err))) {
		fprintf(stderr, "remsim-server: %s\n", err);
		return 1;
	}
	return 0;
}

static int token_revoke(struct store *st, const struct server_cfg *cfg, const char *name)
{
	char err[300];
	int ret = store_token_revoke(st, name, err, sizeof(err));

	if (ret == -ENOENT) {
		fprintf(stderr, "remsim-server: no token \"%s\"\n", name);
		return 1;
	}
	if (ret) {
		fprintf(stderr, "remsim-server: %s\n", err);
		return 1;
	}
	audit_command(st, cfg, "token revoke", name, NULL);
	fprintf(stderr, "token \"%s\" revoked: the server refuses it from its next request on\n",
		name);
	return 0;
}

/* The operands after the options: what to do, and on which token. */
static int token_run(const struct server_cfg *cfg, const char *cmd, const char *name,
		     const char *scope)
{
	struct store *st;
	char err[512], name_db[1024];
	int ret;

	if (store_open_command(&st, cfg->db_path, err, sizeof(err))) {
		store_display_name(cfg->db_path, name_db, sizeof(name_db));
		fprintf(stderr, "remsim-server: database %s: %s\n", name_db, err);
		return 1;
	}
	if (!strcmp(cmd, "add"))
		ret = token_add(st, cfg, name, scope);
	else if (!strcmp(cmd, "list"))
		ret = token_list(st);
	else
		ret = token_revoke(st, cfg, name);
	store_close(st);
	return ret;
}

/* Whether the operands fit the command; says what is wrong if not. */
static bool token_args_ok(const char *cmd, int nargs, const char *name, const char *scope)
{
	bool add = !strcmp(cmd, "add"), list = !strcmp(cmd, "list");
	bool revoke = !strcmp(cmd, "revoke");

	if (!add && !list && !revoke)
		fprintf(stderr, "remsim-server: token: \"%s\" is not add, list or revoke\n", cmd);
	else if (nargs != (list ? 1 : 2))
		fprintf(stderr, "remsim-server: token %s: %s\n", cmd,
			list ? "takes no name" : "takes one token name");
	else if (!list && !valid_name(name))
		fprintf(stderr,
			"remsim-server: token name \"%s\": 1..%d of A-Z a-z 0-9 . _ -, starting with a letter or digit\n",
			name, STORE_TOKEN_NAME_MAX);
	else if (add && (!scope || (strcmp(scope, "read") && strcmp(scope, "admin"))))
		fprintf(stderr, "remsim-server: token add: --scope read or --scope admin\n");
	else if (!add && scope)
		fprintf(stderr, "remsim-server: token %s: --scope is for add\n", cmd);
	else
		return true;
	return false;
}

int token_main(int argc, char **argv, token_cfg_fn load_cfg)
{
	static const struct option opts[] = {
		{ "config",	required_argument,	NULL, 'c' },
		{ "database",	required_argument,	NULL, 'D' },
		{ "scope",	required_argument,	NULL, 's' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *conf = NULL, *db = NULL, *scope = NULL, *cmd, *name;
	struct server_cfg cfg;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:D:s:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			conf = optarg;
			break;
		case 'D':
			db = optarg;
			break;
		case 's':
			scope = optarg;
			break;
		case 'h':
			token_usage(stdout);
			return 0;
		default:
			token_usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		token_usage(stderr);
		return 2;
	}
	/* taken before load_cfg(), whose own getopt() moves optind */
	cmd = argv[optind];
	name = argv[optind + 1];
	if (!token_args_ok(cmd, argc - optind, name, scope))
		return 2;
	if (load_cfg(conf, db, &cfg))
		return 2;
	return token_run(&cfg, cmd, name, scope);
}
