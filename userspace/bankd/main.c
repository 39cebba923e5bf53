// SPDX-License-Identifier: GPL-2.0
/*
 * remsim-bankd: options (osmo-remsim-bankd's, so existing units and
 * /etc/default files work unchanged, plus a config file), SIGHUP and
 * SIGUSR1, on the daemon base's start-up (remsim/daemon.h).
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bankd.h"
#include "remsim/conf.h"
#include "remsim/daemon.h"
#include "remsim/log.h"
#include "remsim/rspro_tls.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: remsim-bankd -i SERVER [options]\n"
		"\n"
		"The SIM bank: cards in PC/SC readers, served to remsim clients.\n"
		"\n"
		"  -i, --server-host HOST      remsim-server address (required); several,\n"
		"                              HOST[:PORT],HOST[:PORT]...: the next when one\n"
		"                              refuses or is lost (one active server of many)\n"
		"  -p, --server-port PORT      its RSPRO port (default 9998)\n"
		"  -b, --bank-id N             this bank's id, 0..1023 (default 1)\n"
		"  -n, --num-slots N           bank slots, 1..1023 (default 8)\n"
		"  -N, --component-name NAME   our name toward the server (default: host name)\n"
		"  -I, --bind-ip ADDR          where clients connect (default 0.0.0.0)\n"
		"  -P, --bind-port PORT        (default 9999); remsim-server tells clients;\n"
		"                              osmo-remsim-server tells them 9999 whatever\n"
		"                              this is: keep 9999 behind it\n"
		"  -s, --permit-shared-pcsc    open cards shared, not exclusive\n"
		"  -g, --gsmtap-ip HOST        GSMTAP copies of APDUs and ATRs to HOST:4729\n"
		"  -G, --gsmtap-slot N         only for bank slot N\n"
		"  -S, --slots-csv FILE        reader map (default ./bankd_pcsc_slots.csv)\n"
		"      --strict                refuse a reader map with rows for another\n"
		"                              bank or beyond -n, or slots without a row\n"
		"                              (default: a warning each)\n"
		"  -c, --config FILE           \"key = value\" lines, keys as the long options\n"
		"      --keepalive-interval S  seconds between PINGs (default 30)\n"
		"      --keepalive-timeout S   seconds to wait for a PONG (default 10)\n"
		"      --identify-timeout S    seconds a new client has to send its\n"
		"                              connectClientReq (default 10)\n"
		"      --announce-address yes|no|auto\n"
		"                              tell the server our -I/-P for clients: auto\n"
		"                              (default) only to a server that says it\n"
		"                              understands it (remsim-server)\n"
		"      --inventory-interval MS\n"
		"                              look at idle readers for the card inventory\n"
		"                              this often (default 2000, 100..3600000; 0 off)\n"
		"%s%s"
		"      --metrics ADDR:PORT     Prometheus GET /metrics there (default off;\n"
		"                              PORT or :PORT alone: 127.0.0.1 only)\n"
		"  -e, --log-level LEVEL       debug, info, notice, error, fatal (or 1..8)\n"
		"  -d, --debug MASK            osmo-remsim log mask, e.g. DMAIN,1:DBANKDW,1\n"
		"  -T, --timestamp             timestamps on log lines\n"
		"  -L, --disable-color         accepted for osmo-remsim\n"
		"  -V, --version, -h, --help\n"
		"\n"
		"See remsim-bankd(8).\n",
		rspro_tls_usage, rspro_tls_link_usage);
}

enum {
	OPT_KA_INTERVAL = 256, OPT_KA_TIMEOUT, OPT_IDENTIFY_TIMEOUT, OPT_ANNOUNCE,
	OPT_METRICS, OPT_STRICT, OPT_INVENTORY,
};

static const struct option options[] = {
	{ "server-host",	required_argument,	NULL, 'i' },
	{ "server-port",	required_argument,	NULL, 'p' },
	{ "bank-id",		required_argument,	NULL, 'b' },
	{ "num-slots",		required_argument,	NULL, 'n' },
	{ "component-name",	required_argument,	NULL, 'N' },
	{ "bind-ip",		required_argument,	NULL, 'I' },
	{ "bind-port",		required_argument,	NULL, 'P' },
	{ "permit-shared-pcsc",	no_argument,		NULL, 's' },
	{ "gsmtap-ip",		required_argument,	NULL, 'g' },
	{ "gsmtap-slot",	required_argument,	NULL, 'G' },
	{ "slots-csv",		required_argument,	NULL, 'S' },
	{ "strict",		no_argument,		NULL, OPT_STRICT },
	{ "config",		required_argument,	NULL, 'c' },
	{ "keepalive-interval",	required_argument,	NULL, OPT_KA_INTERVAL },
	{ "keepalive-timeout",	required_argument,	NULL, OPT_KA_TIMEOUT },
	{ "identify-timeout",	required_argument,	NULL, OPT_IDENTIFY_TIMEOUT },
	{ "announce-address",	required_argument,	NULL, OPT_ANNOUNCE },
	{ "inventory-interval",	required_argument,	NULL, OPT_INVENTORY },
	RSPRO_TLS_LONG_OPTIONS,
	RSPRO_TLS_LINK_OPTIONS,
	{ "metrics",		required_argument,	NULL, OPT_METRICS },
	{ "log-level",		required_argument,	NULL, 'e' },
	{ "debug",		required_argument,	NULL, 'd' },
	{ "timestamp",		no_argument,		NULL, 'T' },
	{ "disable-color",	no_argument,		NULL, 'L' },
	{ "version",		no_argument,		NULL, 'V' },
	{ "help",		no_argument,		NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

#define OPTSTRING "i:p:b:n:N:I:P:sg:G:S:c:e:d:TLVh"

static int str(char *dst, size_t size, const char *v, const char *what, char *why,
	       size_t whylen)
{
	if (!*v || strlen(v) >= size) {
		snprintf(why, whylen, "%s must be 1..%zu characters", what, size - 1);
		return -EINVAL;
	}
	strcpy(dst, v);
	return 0;
}

static int num(unsigned long *out, const char *v, unsigned long min, unsigned long max,
	       const char *what, char *why, size_t whylen)
{
	if (conf_uint(v, min, max, out)) {
		snprintf(why, whylen, "%s \"%s\" is not %lu..%lu", what, v, min, max);
		return -EINVAL;
	}
	return 0;
}

static int apply(void *arg, int opt, const char *v, char *why, size_t whylen)
{
	struct bankd_cfg *cfg = arg;
	unsigned long n;
	int level;

	if (rspro_tls_is_opt(opt))
		return rspro_tls_cfg_set(&cfg->tls, rspro_tls_opt_key(opt), v, why, whylen);
	switch (opt) {
	case 'i':
		return str(cfg->server_host, sizeof(cfg->server_host), v, "server-host", why, whylen);
	case 'p':
		if (num(&n, v, 1, 65535, "server-port", why, whylen))
			return -EINVAL;
		cfg->server_port = n;
		return 0;
	case 'b':
		if (num(&n, v, 0, 1023, "bank-id", why, whylen))
			return -EINVAL;
		cfg->bank_id = n;
		return 0;
	case 'n':
		if (num(&n, v, 1, 1023, "num-slots", why, whylen))
			return -EINVAL;
		cfg->num_slots = n;
		return 0;
	case 'N':
		return str(cfg->name, sizeof(cfg->name), v, "component-name", why, whylen);
	case 'I':
		return str(cfg->bind_ip, sizeof(cfg->bind_ip), v, "bind-ip", why, whylen);
	case 'P':
		if (num(&n, v, 0, 65535, "bind-port", why, whylen))
			return -EINVAL;
		cfg->bind_port = n;
		return 0;
	case 's':
		cfg->shared = true;
		return 0;
	case 'g':
		return str(cfg->gsmtap_host, sizeof(cfg->gsmtap_host), v, "gsmtap-ip", why, whylen);
	case 'G':
		if (num(&n, v, 0, 1023, "gsmtap-slot", why, whylen))
			return -EINVAL;
		cfg->gsmtap_slot = n;
		return 0;
	case 'S':
		return str(cfg->csv_path, sizeof(cfg->csv_path), v, "slots-csv", why, whylen);
	case OPT_STRICT:
		cfg->strict = true;
		return 0;
	case OPT_KA_INTERVAL:
	case OPT_KA_TIMEOUT:
		if (num(&n, v, 1, 3600, opt == OPT_KA_INTERVAL ? "keepalive-interval" :
			"keepalive-timeout", why, whylen))
			return -EINVAL;
		*(opt == OPT_KA_INTERVAL ? &cfg->ka_interval_ms : &cfg->ka_timeout_ms) = n * 1000;
		return 0;
	case OPT_IDENTIFY_TIMEOUT:
		if (num(&n, v, 1, 3600, "identify-timeout", why, whylen))
			return -EINVAL;
		cfg->identify_timeout_ms = n * 1000;
		return 0;
	case OPT_ANNOUNCE:
		if (!strcmp(v, "auto"))
			cfg->announce = ANNOUNCE_AUTO;
		else if (!strcmp(v, "yes"))
			cfg->announce = ANNOUNCE_YES;
		else if (!strcmp(v, "no"))
			cfg->announce = ANNOUNCE_NO;
		else {
			snprintf(why, whylen, "announce-address \"%s\" is not yes, no or auto", v);
			return -EINVAL;
		}
		return 0;
	case OPT_INVENTORY:
		if (num(&n, v, 0, INVENTORY_MS_MAX, "inventory-interval", why, whylen))
			return -EINVAL;
		if (n && n < INVENTORY_MS_MIN) {
			snprintf(why, whylen, "inventory-interval %lu is below %u ms (0: off)", n,
				 INVENTORY_MS_MIN);
			return -EINVAL;
		}
		cfg->inventory_ms = n;
		return 0;
	case OPT_METRICS:
		return metrics_parse(&cfg->metrics, v, why, whylen);
	case 'e':
		level = log_parse_level(v);
		if (level < 0) {
			snprintf(why, whylen, "log-level \"%s\" is not a level", v);
			return -EINVAL;
		}
		log_set_all(level);
		return 0;
	case 'd':
		if (log_parse_mask(v)) {
			snprintf(why, whylen,
				 "debug mask \"%s\": a level must be 0..8 or a level name", v);
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
	.prog = "remsim-bankd",
	.optstring = OPTSTRING,
	.options = options,
	.usage = usage,
	.help_opt = 'h',
	.version_opt = 'V',
	.config_opt = 'c',
	.apply = apply,
};

/*
 * Slots keep the reader they have open: a new or changed row takes effect
 * at the slot's next card open (a new client, a new map, a card that was
 * missing), never under a client that is being served. The workers read
 * the map under its read lock, held over no PC/SC call: the swap waits for
 * a regex match at most.
 */
static void swap_slots(struct bankd *bd, struct slot_table *t, const char *path)
{
	struct slot_table old;

	pthread_rwlock_wrlock(&bd->slots_lock);
	old = bd->slots;
	bd->slots = *t;
	snprintf(bd->cfg.csv_path, sizeof(bd->cfg.csv_path), "%s", path);
	pthread_rwlock_unlock(&bd->slots_lock);
	slot_table_free(&old);
	LOGP(DMAIN, LOG_NOTICE, NULL, "SIGHUP: reader map %s taken: %zu rows",
	     bd->cfg.csv_path, bd->slots.count);
}

static void reload_csv(struct bankd *bd, const char *path)
{
	struct slot_table t = { 0 };
	char err[512], file[sizeof(bd->cfg.csv_path)];

	/* @path may be the config's own csv_path, which the swap writes */
	snprintf(file, sizeof(file), "%s", path);
	if (slot_table_load(&t, file, err, sizeof(err)) ||
	    slot_table_check_bank(&t, bd->cfg.bank_id, file, err, sizeof(err)) ||
	    bankd_check_slots(bd, &t, file, "SIGHUP: ", err, sizeof(err))) {
		slot_table_free(&t);
		LOGP(DMAIN, LOG_ERROR, NULL, "SIGHUP: %s: the reader map in use is kept", err);
		return;
	}
	swap_slots(bd, &t, file);
}

/*
 * SIGHUP: the config file (-c) and the command line again, then the reader
 * map. Taken: the log level and mask, timestamps, keepalive-interval and
 * keepalive-timeout (client connections made from now on; the server link
 * keeps its own), identify-timeout, strict, slots-csv (the file is read
 * again even without -c, and checked as at start). The rest (metrics too)
 * needs a restart. A bad file changes nothing. Logs go to stderr
 * (journald): nothing to reopen.
 */
static void reload(struct daemon *d)
{
	struct bankd *bd = d->data;
	struct bankd_cfg cfg, *cur = &bd->cfg;
	struct log_state old;
	char why[300];

	daemon_reload_begin(&old);
	bankd_cfg_default(&cfg);
	if (daemon_cmdline_load(&cmdline, &cfg, d->argc, d->argv, why, sizeof(why))) {
		daemon_reload_failed(&old, why);
		return;
	}
	daemon_keep_setting("server-host", strcmp(cfg.server_host, cur->server_host));
	daemon_keep_setting("server-port", cfg.server_port != cur->server_port);
	daemon_keep_setting("bank-id", cfg.bank_id != cur->bank_id);
	daemon_keep_setting("num-slots", cfg.num_slots != cur->num_slots);
	daemon_keep_setting("component-name", strcmp(cfg.name, cur->name));
	daemon_keep_setting("bind-ip", strcmp(cfg.bind_ip, cur->bind_ip));
	/* 0 asks for any port: the one taken is in cur */
	daemon_keep_setting("bind-port", cfg.bind_port && cfg.bind_port != cur->bind_port);
	daemon_keep_setting("permit-shared-pcsc", cfg.shared != cur->shared);
	daemon_keep_setting("gsmtap-ip", strcmp(cfg.gsmtap_host, cur->gsmtap_host));
	daemon_keep_setting("gsmtap-slot", cfg.gsmtap_slot != cur->gsmtap_slot);
	daemon_keep_setting("announce-address", cfg.announce != cur->announce);
	daemon_keep_setting("inventory-interval", cfg.inventory_ms != cur->inventory_ms);
	daemon_keep_setting("tls", rspro_tls_cfg_changed(&cfg.tls, &cur->tls));
	daemon_keep_setting("metrics", metrics_changed(&cfg.metrics, &cur->metrics));
	cur->ka_interval_ms = cfg.ka_interval_ms;
	cur->ka_timeout_ms = cfg.ka_timeout_ms;
	cur->identify_timeout_ms = cfg.identify_timeout_ms;
	cur->strict = cfg.strict;
	if (cmdline.conf_path)
		LOGP(DMAIN, LOG_NOTICE, NULL, "SIGHUP: %s read again", cmdline.conf_path);
	LOGP(DMAIN, LOG_DEBUG, NULL, "SIGHUP: keepalive %u/%u ms, identify-timeout %u ms",
	     cur->ka_interval_ms, cur->ka_timeout_ms, cur->identify_timeout_ms);
	reload_csv(bd, cfg.csv_path);
	/* the readers may be others now; an operator's way to read every card again */
	inventory_rescan(bd);
}

/* The card's answer times on a slot since start, as the metrics have them. */
static void log_card_time(struct worker *w)
{
	struct slot_stats st;
	const struct metrics_hist *h = &st.card;

	worker_stats_get(w, &st);
	if (!h->count)
		return;
	LOGP(DMAIN, LOG_NOTICE, w->name,
	     "statistics: card time p50 %.3f ms, p99 %.3f ms, mean %.3f ms over %llu APDUs",
	     metrics_hist_quantile(h, 0.5) * 1e3, metrics_hist_quantile(h, 0.99) * 1e3,
	     h->sum_ns / 1e6 / h->count, (unsigned long long)h->count);
}

/* SIGUSR1: one block, a line per slot that has a map or a client. */
static void log_stats(struct daemon *d)
{
	struct bankd *bd = d->data;
	unsigned int i, conns = 0, mapped = 0;
	const struct client *c;

	for (c = bd->clients; c; c = c->next)
		conns++;
	for (i = 0; i < bd->cfg.num_slots; i++)
		mapped += bd->maps[i].used;
	LOGP(DMAIN, LOG_NOTICE, NULL, "statistics: %u client connections, %u of %u slots mapped",
	     conns, mapped, bd->cfg.num_slots);
	for (i = 0; i < bd->cfg.num_slots; i++) {
		bool any = false;

		for (c = bd->clients; c; c = c->next) {
			struct worker *w = &bd->workers[i];
			unsigned long tpdus, errors;

			if (c->bank_slot != (int)i)
				continue;
			any = true;
			pthread_mutex_lock(&w->stats_lock);
			tpdus = c->tpdus;
			errors = c->errors;
			pthread_mutex_unlock(&w->stats_lock);
			LOGP(DMAIN, LOG_NOTICE, w->name,
			     "statistics: client %s %s, %lu APDUs, %lu errors (this connection)",
			     c->name, c->where == CLIENT_WORKER && atomic_load(&w->card_up) ?
			     "connected, card open" : "connected, no card", tpdus, errors);
			log_card_time(w);
		}
		if (!any && bd->maps[i].used)
			LOGP(DMAIN, LOG_NOTICE, bd->workers[i].name,
			     "statistics: mapped to C%u:%u, no client connected",
			     bd->maps[i].client.client_id, bd->maps[i].client.slot_nr);
	}
}

static int setup(struct daemon *d, int argc, char **argv)
{
	struct bankd *bd = d->data;
	char why[300];
	int ret;

	bankd_cfg_default(&bd->cfg);
	ret = daemon_cmdline_scan(&cmdline, argc, argv);
	if (ret)
		return ret;
	if (daemon_cmdline_load(&cmdline, &bd->cfg, argc, argv, why, sizeof(why))) {
		fprintf(stderr, "remsim-bankd: %s\n", why);
		return 2;
	}
	if (!bd->cfg.server_host[0]) {
		fprintf(stderr, "remsim-bankd: the server address is required (-i HOST)\n");
		return 2;
	}
	/* bad or missing credentials are a bad configuration, said at once */
	if (rspro_tls_any(&bd->cfg.tls)) {
		bd->tls = rspro_tls_new(&bd->cfg.tls, rspro_tls_server_link(&bd->cfg.tls), why,
					sizeof(why));
		if (!bd->tls) {
			fprintf(stderr, "remsim-bankd: TLS: %s\n", why);
			return 2;
		}
	}
	return DAEMON_RUN;
}

static int start(struct daemon *d)
{
	struct bankd *bd = d->data;
	char err[512];

	rspro_identity_local(&bd->identity, RSPRO_COMP_BANKD, "remsim-bankd", REMSIM_VERSION);
	bd->loop = d->loop;
	if (!bankd_start(bd, err, sizeof(err)))
		return 0;
	/* a bad reader map is a start-up error like a bad option */
	if (bd->bad_config)
		fprintf(stderr, "remsim-bankd: %s\n", err);
	else
		LOGP(DMAIN, LOG_FATAL, NULL, "%s", err);
	bankd_stop(bd);
	return bd->bad_config ? 2 : 1;
}

static void collect(struct daemon *d, struct metrics_out *o)
{
	bankd_metrics(d->data, o);
}

static void stop(struct daemon *d)
{
	bankd_stop(d->data);
}

int main(int argc, char **argv)
{
	static struct bankd bd;
	/*
	 * One malloc arena for the whole process: glibc gives each thread
	 * that allocates one of its own (up to 8 a core), 56 KiB resident
	 * each once a worker's PC/SC calls allocated, more than half of what a
	 * busy slot cost (bankd_rtt: bankd_rss_per_slot). The APDU path
	 * allocates one job in the loop and nothing in the worker: no
	 * contention for the one lock.
	 */
	mallopt(M_ARENA_MAX, 1);
	static struct daemon d = {
		.prog = "remsim-bankd",
		.log_level = LOG_INFO,
		/* every client holds a socket and every slot a PC/SC context */
		.raise_fd_limit = true,
		.log_shutdown = true,
		.setup = setup,
		.start = start,
		.reload = reload,
		.stats = log_stats,
		.stop = stop,
		.metrics = &bd.cfg.metrics,
		.collect = collect,
		.data = &bd,
	};

	return daemon_main(&d, argc, argv);
}
