// SPDX-License-Identifier: GPL-2.0
/*
 * remsim-server: its options, config file, SIGHUP and SIGUSR1, on the
 * daemon base's start-up (remsim/daemon.h). It takes osmo-remsim-server's
 * options too (-h -V -d -L), so a deployment switches by changing the
 * binary's name.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "remsim/conf.h"
#include "remsim/daemon.h"
#include "remsim/log.h"
#include "remsim/net.h"
#include "audit.h"
#include "auth.h"
#include "remsim/rspro_tls.h"
#include "dashboard.h"
#include "rest.h"
#include "server.h"

#define DEFAULT_CONF	"/etc/remsim/server.conf"

/* the REST side, started after the core, stopped before it */
static struct rest *rest;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: remsim-server [options]\n"
		"       remsim-server token add|list|revoke ... (token --help)\n"
		"       remsim-server backup [-c FILE] [-D PATH] BACKUP (backup --help)\n"
		"       remsim-server cards [-j] [URL | -] (cards --help)\n"
		"       remsim-server tag [-s URL] ICCID [TAG...] (tag --help)\n"
		"\n"
		"The remsim control server: bankds and clients register over RSPRO,\n"
		"operators map client slots to bank slots over REST. Slot maps are\n"
		"kept in SQLite and pushed again after any restart.\n"
		"\n"
		"  -c, --config FILE          config file (default %s if present);\n"
		"                             \"key = value\" lines, keys as the long options\n"
		"  -D, --database PATH        SQLite database (default %s), or PostgreSQL:\n"
		"                             postgresql://... or \"host=... dbname=...\"\n"
		"      --rspro-bind ADDR      RSPRO listening address (default 0.0.0.0)\n"
		"      --rspro-port PORT      RSPRO port (default 9998)\n"
		"      --rest-bind ADDR       REST listening address (default 0.0.0.0)\n"
		"      --rest-port PORT       REST port (default 9997)\n"
		"      --bankd-port PORT      port told to clients for bankds that do not\n"
		"                             announce theirs (osmo-remsim-bankd; default 9999)\n"
		"      --keepalive-interval S seconds between PINGs (default 30)\n"
		"      --keepalive-timeout S  seconds to wait for a PONG (default 10)\n"
		"      --rest-body-max BYTES  largest REST request body (default 16384)\n"
		"      --rest-request-timeout S  seconds a REST connection has for a whole\n"
		"                             request, from its start or its last answer (10)\n"
		"      --rest-connections N   REST connections at once (default 1000)\n"
		"      --rest-connections-per-address N\n"
		"                             REST connections at once from one address (8)\n"
		"      --rest-tls on|off      REST over HTTPS (default off)\n"
		"      --rest-tls-cert FILE   its certificate chain (PEM)\n"
		"      --rest-tls-key FILE    its private key (PEM)\n"
		"      --rest-auth on|off     REST needs a bearer token (default off)\n"
		"      --audit-max N          audit lines kept in the database (100000)\n"
		"      --dashboard DIR|off    the web dashboard's files, served at /dashboard/\n"
		"                             (default ../share/remsim/dashboard from the\n"
		"                             program's directory)\n"
		"      --advertise HOST       PostgreSQL with several servers: the host name\n"
		"                             or address others reach this one at, written\n"
		"                             for standbys to name (default: the host name)\n"
		"%s"
		"      --metrics ADDR:PORT    Prometheus GET /metrics there (default off;\n"
		"                             PORT or :PORT alone: 127.0.0.1 only)\n"
		"  -e, --log-level LEVEL      debug, info, notice, error or fatal (default info)\n"
		"  -d, --debug MASK           osmo-remsim log mask, e.g. DMAIN,1:DRSPRO,5\n"
		"  -T, --timestamp            timestamps on log lines\n"
		"  -L, --disable-color        accepted for osmo-remsim; logs are never coloured\n"
		"  -V, --version              print the version\n"
		"  -h, --help                 this text\n"
		"\n"
		"See remsim-server(8).\n", DEFAULT_CONF,
		SERVER_DEFAULT_DB, rspro_tls_usage);
}

enum {
	OPT_RSPRO_BIND = 256,
	OPT_RSPRO_PORT,
	OPT_REST_BIND,
	OPT_REST_PORT,
	OPT_BANKD_PORT,
	OPT_KA_INTERVAL,
	OPT_KA_TIMEOUT,
	OPT_BODY_MAX,
	OPT_REST_TIMEOUT,
	OPT_REST_CONNS,
	OPT_REST_CONNS_ADDR,
	OPT_REST_TLS,
	OPT_REST_TLS_CERT,
	OPT_REST_TLS_KEY,
	OPT_REST_AUTH,
	OPT_AUDIT_MAX,
	OPT_DASHBOARD,
	OPT_METRICS,
	OPT_ADVERTISE,
};

static const struct option options[] = {
	{ "config",		required_argument,	NULL, 'c' },
	{ "database",		required_argument,	NULL, 'D' },
	{ "rspro-bind",		required_argument,	NULL, OPT_RSPRO_BIND },
	{ "rspro-port",		required_argument,	NULL, OPT_RSPRO_PORT },
	{ "rest-bind",		required_argument,	NULL, OPT_REST_BIND },
	{ "rest-port",		required_argument,	NULL, OPT_REST_PORT },
	{ "bankd-port",		required_argument,	NULL, OPT_BANKD_PORT },
	{ "keepalive-interval",	required_argument,	NULL, OPT_KA_INTERVAL },
	{ "keepalive-timeout",	required_argument,	NULL, OPT_KA_TIMEOUT },
	{ "rest-body-max",	required_argument,	NULL, OPT_BODY_MAX },
	{ "rest-request-timeout", required_argument,	NULL, OPT_REST_TIMEOUT },
	{ "rest-connections",	required_argument,	NULL, OPT_REST_CONNS },
	{ "rest-connections-per-address", required_argument, NULL, OPT_REST_CONNS_ADDR },
	{ "rest-tls",		required_argument,	NULL, OPT_REST_TLS },
	{ "rest-tls-cert",	required_argument,	NULL, OPT_REST_TLS_CERT },
	{ "rest-tls-key",	required_argument,	NULL, OPT_REST_TLS_KEY },
	{ "rest-auth",		required_argument,	NULL, OPT_REST_AUTH },
	{ "audit-max",		required_argument,	NULL, OPT_AUDIT_MAX },
	{ "dashboard",		required_argument,	NULL, OPT_DASHBOARD },
	{ "advertise",		required_argument,	NULL, OPT_ADVERTISE },
	RSPRO_TLS_LONG_OPTIONS,
	{ "metrics",		required_argument,	NULL, OPT_METRICS },
	{ "log-level",		required_argument,	NULL, 'e' },
	{ "debug",		required_argument,	NULL, 'd' },
	{ "timestamp",		no_argument,		NULL, 'T' },
	{ "disable-color",	no_argument,		NULL, 'L' },
	{ "version",		no_argument,		NULL, 'V' },
	{ "help",		no_argument,		NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int copy_str(char *dst, size_t size, const char *value, const char *what,
		    char *why, size_t whylen)
{
	if (!*value || strlen(value) >= size) {
		snprintf(why, whylen, "%s must be 1..%zu characters", what, size - 1);
		return -EINVAL;
	}
	strcpy(dst, value);
	return 0;
}

static int set_port(uint16_t *port, const char *value, const char *what,
		    char *why, size_t whylen)
{
	unsigned long v;

	if (conf_uint(value, 0, 65535, &v)) {
		snprintf(why, whylen, "%s \"%s\" is not a port 0..65535", what, value);
		return -EINVAL;
	}
	*port = v;
	return 0;
}

static int set_count(unsigned int *n, const char *value, const char *what,
		     unsigned long max, char *why, size_t whylen)
{
	unsigned long v;

	if (conf_uint(value, 1, max, &v)) {
		snprintf(why, whylen, "%s \"%s\" is not 1..%lu", what, value, max);
		return -EINVAL;
	}
	*n = v;
	return 0;
}

static int set_seconds(unsigned int *ms, const char *value, const char *what,
		       unsigned long min, char *why, size_t whylen)
{
	unsigned long v;

	if (conf_uint(value, min, 3600, &v)) {
		snprintf(why, whylen, "%s \"%s\" is not %lu..3600 seconds", what, value, min);
		return -EINVAL;
	}
	*ms = v * 1000;
	return 0;
}

static int set_switch(bool *on, const char *value, const char *what, char *why,
		      size_t whylen)
{
	if (!strcmp(value, "on") || !strcmp(value, "yes")) {
		*on = true;
		return 0;
	}
	if (!strcmp(value, "off") || !strcmp(value, "no")) {
		*on = false;
		return 0;
	}
	snprintf(why, whylen, "%s \"%s\" is not on or off", what, value);
	return -EINVAL;
}

/* One setting, from the command line (by option) or a file (by name). */
static int apply(void *arg, int opt, const char *value, char *why, size_t whylen)
{
	struct server_cfg *cfg = arg;
	unsigned long v;
	int level;

	/* the one listener: no per-link keys */
	if (opt >= RSPRO_TLS_OPT_BASE && opt < RSPRO_TLS_OPT_BASE + RSPRO_TLS_NKEYS_COMMON)
		return rspro_tls_cfg_set(&cfg->tls, rspro_tls_opt_key(opt), value, why, whylen);
	switch (opt) {
	case 'D':
		return copy_str(cfg->db_path, sizeof(cfg->db_path), value,
				"database", why, whylen);
	case OPT_RSPRO_BIND:
		return copy_str(cfg->rspro_bind, sizeof(cfg->rspro_bind), value,
				"rspro-bind", why, whylen);
	case OPT_REST_BIND:
		return copy_str(cfg->rest.bind, sizeof(cfg->rest.bind), value,
				"rest-bind", why, whylen);
	case OPT_RSPRO_PORT:
		return set_port(&cfg->rspro_port, value, "rspro-port", why, whylen);
	case OPT_REST_PORT:
		return set_port(&cfg->rest.port, value, "rest-port", why, whylen);
	case OPT_BANKD_PORT:
		return set_port(&cfg->bankd_port, value, "bankd-port", why, whylen);
	case OPT_KA_INTERVAL:
		return set_seconds(&cfg->ka_interval_ms, value, "keepalive-interval",
				   1, why, whylen);
	case OPT_KA_TIMEOUT:
		return set_seconds(&cfg->ka_timeout_ms, value, "keepalive-timeout",
				   1, why, whylen);
	case OPT_REST_TIMEOUT:
		return set_seconds(&cfg->rest.deadline_ms, value, "rest-request-timeout",
				   1, why, whylen);
	case OPT_REST_CONNS:
		return set_count(&cfg->rest.conn_max, value, "rest-connections",
				 REST_CONN_MAX, why, whylen);
	case OPT_REST_CONNS_ADDR:
		return set_count(&cfg->rest.conn_per_addr, value,
				 "rest-connections-per-address", REST_CONN_MAX, why, whylen);
	case OPT_REST_TLS:
		return set_switch(&cfg->rest.tls, value, "rest-tls", why, whylen);
	case OPT_REST_TLS_CERT:
		return rspro_tls_cred_path(cfg->rest.tls_cert, sizeof(cfg->rest.tls_cert),
					   "rest-tls-cert", value, why, whylen);
	case OPT_REST_TLS_KEY:
		return rspro_tls_cred_path(cfg->rest.tls_key, sizeof(cfg->rest.tls_key),
					   "rest-tls-key", value, why, whylen);
	case OPT_REST_AUTH:
		return set_switch(&cfg->rest.auth, value, "rest-auth", why, whylen);
	case OPT_AUDIT_MAX:
		return set_count(&cfg->audit_max, value, "audit-max", 10000000, why, whylen);
	case OPT_DASHBOARD:
		if (!strcmp(value, "off")) {
			cfg->rest.dashboard[0] = 0;
			return 0;
		}
		return copy_str(cfg->rest.dashboard, sizeof(cfg->rest.dashboard), value,
				"dashboard", why, whylen);
	case OPT_ADVERTISE:
		return copy_str(cfg->advertise, sizeof(cfg->advertise), value, "advertise",
				why, whylen);
	case OPT_METRICS:
		return metrics_parse(&cfg->metrics, value, why, whylen);
	case OPT_BODY_MAX:
		if (conf_uint(value, 256, 1 << 20, &v)) {
			snprintf(why, whylen, "rest-body-max \"%s\" is not 256..1048576", value);
			return -EINVAL;
		}
		cfg->rest.body_max = v;
		return 0;
	case 'e':
		level = log_parse_level(value);
		if (level < 0) {
			snprintf(why, whylen, "log-level \"%s\" is not debug, info, notice, error or fatal",
				 value);
			return -EINVAL;
		}
		log_set_all(level);
		return 0;
	case 'd':
		if (log_parse_mask(value)) {
			snprintf(why, whylen,
				 "debug mask \"%s\": a level must be 0..8 or a level name", value);
			return -EINVAL;
		}
		return 0;
	case 'T':
		log_timestamps(true);
		return 0;
	case 'L':
		return 0;
	default:
		snprintf(why, whylen, "unknown setting");
		return -EINVAL;
	}
}

static struct daemon_cmdline cmdline = {
	.prog = "remsim-server",
	.optstring = "c:D:e:d:TLVh",
	.options = options,
	.usage = usage,
	.help_opt = 'h',
	.version_opt = 'V',
	.config_opt = 'c',
	.default_config = DEFAULT_CONF,
	.apply = apply,
};

/* Settings that only make sense together: 0, or -EINVAL and @why. */
static int check_cfg(const struct server_cfg *cfg, char *why, size_t whylen)
{
	if (cfg->rest.tls && (!cfg->rest.tls_cert[0] || !cfg->rest.tls_key[0])) {
		snprintf(why, whylen, "rest-tls on needs rest-tls-cert and rest-tls-key");
		return -EINVAL;
	}
	return 0;
}

/*
 * SIGHUP: the config file and the command line again. Taken at once: the
 * log level and mask, timestamps, keepalive-interval and keepalive-timeout
 * (for connections made from now on), bankd-port (told to clients from now
 * on), rest-body-max, rest-request-timeout, rest-auth (from the next
 * request on), audit-max and dashboard. The listening sockets (metrics too), the database, REST's
 * TLS settings and the REST connection limits need a restart. A file that does
 * not parse changes nothing. Logs go to stderr (journald): nothing to reopen.
 */
static void reload(struct daemon *d)
{
	struct server *srv = d->data;
	struct server_cfg cfg, *cur = &srv->cfg;
	struct log_state old;
	char why[300];

	if (!cmdline.conf_path) {
		LOGP(DMAIN, LOG_NOTICE, NULL,
		     "SIGHUP: no config file (-c) to read again; logs go to stderr, nothing to reopen");
		return;
	}
	daemon_reload_begin(&old);
	server_cfg_default(&cfg);
	if (daemon_cmdline_load(&cmdline, &cfg, d->argc, d->argv, why, sizeof(why)) ||
	    check_cfg(&cfg, why, sizeof(why))) {
		daemon_reload_failed(&old, why);
		return;
	}
	daemon_keep_setting("database", strcmp(cfg.db_path, cur->db_path));
	daemon_keep_setting("advertise", strcmp(cfg.advertise, cur->advertise));
	daemon_keep_setting("rspro-bind", strcmp(cfg.rspro_bind, cur->rspro_bind));
	daemon_keep_setting("rspro-port", cfg.rspro_port != cur->rspro_port);
	daemon_keep_setting("rest-bind", strcmp(cfg.rest.bind, cur->rest.bind));
	daemon_keep_setting("rest-port", cfg.rest.port != cur->rest.port);
	daemon_keep_setting("rest-connections", cfg.rest.conn_max != cur->rest.conn_max);
	daemon_keep_setting("rest-connections-per-address",
			    cfg.rest.conn_per_addr != cur->rest.conn_per_addr);
	daemon_keep_setting("rest-tls", cfg.rest.tls != cur->rest.tls);
	daemon_keep_setting("rest-tls-cert", strcmp(cfg.rest.tls_cert, cur->rest.tls_cert));
	daemon_keep_setting("rest-tls-key", strcmp(cfg.rest.tls_key, cur->rest.tls_key));
	daemon_keep_setting("metrics", metrics_changed(&cfg.metrics, &cur->metrics));
	if (cfg.rest.auth != cur->rest.auth)
		LOGP(DMAIN, LOG_NOTICE, NULL, "SIGHUP: REST tokens %s from the next request on",
		     cfg.rest.auth ? "required" : "no longer required");
	cur->rest.auth = cfg.rest.auth;
	cur->audit_max = cfg.audit_max;
	memcpy(cur->rest.dashboard, cfg.rest.dashboard, sizeof(cur->rest.dashboard));
	/* the credentials too: a restart loads them */
	daemon_keep_setting("tls", rspro_tls_cfg_changed(&cfg.tls, &cur->tls));
	cur->ka_interval_ms = cfg.ka_interval_ms;
	cur->ka_timeout_ms = cfg.ka_timeout_ms;
	cur->bankd_port = cfg.bankd_port;
	cur->rest.body_max = cfg.rest.body_max;
	cur->rest.deadline_ms = cfg.rest.deadline_ms;
	LOGP(DMAIN, LOG_NOTICE, NULL, "SIGHUP: %s read again", cmdline.conf_path);
	LOGP(DMAIN, LOG_DEBUG, NULL,
	     "SIGHUP: keepalive %u/%u ms, bankd-port %u, rest-body-max %zu, rest-request-timeout %u ms",
	     cur->ka_interval_ms, cur->ka_timeout_ms, cur->bankd_port, cur->rest.body_max,
	     cur->rest.deadline_ms);
}

/* SIGUSR1: one block of lines, peers, maps by state, REST. */
static void log_stats(struct daemon *d)
{
	struct server *srv = d->data;
	unsigned int peers[PEER_REJECTED + 1] = { 0 }, maps[MAP_DELETING + 1] = { 0 };
	unsigned int deleted = 0;
	struct slotmap *m;
	struct peer *p;

	for (p = srv->peers; p; p = p->next)
		peers[p->state]++;
	for (m = srv->maps; m; m = m->next) {
		if (m->deleted)
			deleted++;
		else
			maps[m->state]++;
	}
	LOGP(DMAIN, LOG_NOTICE, NULL,
	     "statistics: peers: %u bankds, %u clients, %u not identified, %u rejected",
	     peers[PEER_BANKD], peers[PEER_CLIENT], peers[PEER_ESTABLISHED],
	     peers[PEER_REJECTED]);
	LOGP(DMAIN, LOG_NOTICE, NULL,
	     "statistics: maps: %u %s, %u %s, %u %s, %u %s, %u %s, %u deleted awaiting the bankd",
	     maps[MAP_NEW], map_state_name(MAP_NEW),
	     maps[MAP_UNACKNOWLEDGED], map_state_name(MAP_UNACKNOWLEDGED),
	     maps[MAP_ACTIVE], map_state_name(MAP_ACTIVE),
	     maps[MAP_DELETE_REQ], map_state_name(MAP_DELETE_REQ),
	     maps[MAP_DELETING], map_state_name(MAP_DELETING), deleted);
	rest_log_stats(rest);
}

static int setup(struct daemon *d, int argc, char **argv)
{
	struct server *srv = d->data;
	char why[300];
	int ret;

	server_cfg_default(&srv->cfg);
	/* the config file first, so the command line overrides it */
	ret = daemon_cmdline_scan(&cmdline, argc, argv);
	if (ret)
		return ret;
	if (daemon_cmdline_load(&cmdline, &srv->cfg, argc, argv, why, sizeof(why)) ||
	    check_cfg(&srv->cfg, why, sizeof(why))) {
		fprintf(stderr, "remsim-server: %s\n", why);
		return 2;
	}
	/* bad or missing credentials are a bad configuration, said at once */
	if (srv->cfg.tls.mode == RSPRO_TLS_ON) {
		srv->tls = rspro_tls_new(&srv->cfg.tls, false, why, sizeof(why));
		if (!srv->tls) {
			fprintf(stderr, "remsim-server: TLS: %s\n", why);
			return 2;
		}
	}
	return DAEMON_RUN;
}

static int start(struct daemon *d)
{
	struct server *srv = d->data;
	char err[512];

	rspro_identity_local(&srv->identity, RSPRO_COMP_SERVER, "remsim-server", REMSIM_VERSION);
	srv->loop = d->loop;
	if (server_start(srv, err, sizeof(err)) || audit_start(srv, err, sizeof(err)) ||
	    rest_start(&rest, srv, err, sizeof(err))) {
		LOGP(DMAIN, LOG_FATAL, NULL, "%s", err);
		rest_stop(rest);
		audit_stop(srv);
		server_stop(srv);
		return 1;
	}
	LOGP(DMAIN, LOG_INFO, NULL, "RSPRO%s on %s port %u (%s), REST (%s, tokens %s) on %s port %u",
	     srv->active ? "" : " (once active)", srv->cfg.rspro_bind,
	     srv->active ? net_local_port(srv->rspro_fd) : srv->cfg.rspro_port,
	     srv->tls ? "TLS 1.3" : "plaintext",
	     srv->cfg.rest.tls ? "HTTPS" : "plain HTTP",
	     srv->cfg.rest.auth ? "required" : "not required",
	     srv->cfg.rest.bind, srv->cfg.rest.port);
	return 0;
}

static void collect(struct daemon *d, struct metrics_out *o)
{
	server_metrics(d->data, o);
}

static void stop(struct daemon *d)
{
	rest_stop(rest);
	audit_stop(d->data);
	server_stop(d->data);
}

/* `remsim-server token`'s and `backup`'s settings: the server's, from -c and -D. */
static int token_cfg(const char *conf, const char *db, struct server_cfg *cfg)
{
	char *argv[6], why[300];
	int argc = 0, ret;

	argv[argc++] = "remsim-server";
	if (conf) {
		argv[argc++] = "-c";
		argv[argc++] = (char *)conf;
	}
	if (db) {
		argv[argc++] = "-D";
		argv[argc++] = (char *)db;
	}
	argv[argc] = NULL;
	server_cfg_default(cfg);
	ret = daemon_cmdline_scan(&cmdline, argc, argv);
	if (ret)
		return ret;
	if (daemon_cmdline_load(&cmdline, cfg, argc, argv, why, sizeof(why))) {
		fprintf(stderr, "remsim-server: %s\n", why);
		return 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct server srv;
	static struct daemon d = {
		.prog = "remsim-server",
		.log_level = LOG_INFO,
		/* a rack has thousands of peers: take every descriptor we may */
		.raise_fd_limit = true,
		.log_shutdown = true,
		.setup = setup,
		.start = start,
		.reload = reload,
		.stats = log_stats,
		.stop = stop,
		.metrics = &srv.cfg.metrics,
		.collect = collect,
		.data = &srv,
	};

	if (argc > 1 && !strcmp(argv[1], "token"))
		return token_main(argc - 1, argv + 1, token_cfg);
	if (argc > 1 && !strcmp(argv[1], "backup"))
		return backup_main(argc - 1, argv + 1, token_cfg);
	if (argc > 1 && !strcmp(argv[1], "cards"))
		return cards_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "tag"))
		return tag_main(argc - 1, argv + 1);
	return daemon_main(&d, argc, argv);
}
