// SPDX-License-Identifier: GPL-2.0
/*
 * remsim-client-shell: the client core driven from stdin/stdout instead of
 * a SIM slot, as osmo-remsim-client-shell: one command TPDU in hex per
 * input line, "SET_ATR: ..." and "R-APDU: ..." lines out, "RESET" for a
 * reset, EOF to end. Input waits while the card is not there or a command
 * is out, so no line is dropped.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "remsim/conf.h"
#include "remsim/daemon.h"
#include "remsim/log.h"
#include "slot.h"

#define LINE_MAX_LEN	1024

struct shell {
	struct ev_loop *loop;
	struct rc_slot *slot;
	struct ev_io in;
	bool watching, eof;
	char buf[64 * 1024];
	size_t len;
};

static void print_hex(const char *what, const uint8_t *b, size_t len)
{
	size_t i;

	printf("%s: ", what);
	for (i = 0; i < len; i++)
		printf("%02x ", b[i]);	/* osmo_hexdump's format */
	printf("\n");
	fflush(stdout);
}

static void pump(struct shell *sh);

static void on_atr(struct rc_slot *s, const uint8_t *atr, size_t len)
{
	print_hex("SET_ATR", atr, len);
}

static void on_response(struct rc_slot *s, const uint8_t *data, size_t len)
{
	struct shell *sh = rc_slot_data(s);

	print_hex("R-APDU", data, len);
	pump(sh);
}

static void on_lost(struct rc_slot *s, const char *why)
{
	fprintf(stderr, "remsim-client-shell: command lost (not resent): %s\n", why);
}

static void on_operational(struct rc_slot *s, bool on)
{
	if (on)
		pump(rc_slot_data(s));
}

static const struct rc_frontend_ops shell_ops = {
	.set_atr = on_atr,
	.card2modem = on_response,
	.tpdu_lost = on_lost,
	.operational = on_operational,
};

/* Runs input lines while the card can take them. */
static void pump(struct shell *sh)
{
	static const struct rspro_slot_phys reset = { 1, 0, 0, 1 };

	while (rc_slot_state(sh->slot) == RC_OPERATIONAL && !rc_slot_busy(sh->slot)) {
		char *nl = memchr(sh->buf, '\n', sh->len), *line;
		uint8_t tpdu[300];
		long n;
		int ret;

		if (!nl) {
			if (sh->eof)
				ev_break(sh->loop);
			break;
		}
		*nl = 0;
		line = sh->buf;
		while (isspace((unsigned char)*line))
			line++;
		if (!strncmp(line, "RESET", 5)) {
			rc_slot_modem_status(sh->slot, &reset);
		} else if (*line) {
			n = conf_hex(line, tpdu, sizeof(tpdu));
			ret = n < 0 ? -EINVAL : rc_slot_tpdu(sh->slot, tpdu, n);
			if (ret)
				fprintf(stderr, "remsim-client-shell: \"%s\": %s\n", line,
					ret == -EINVAL ? "not a TPDU of 5..261 hex bytes" :
					strerror(-ret));
		}
		sh->len -= nl + 1 - sh->buf;
		memmove(sh->buf, nl + 1, sh->len);
	}
	/* input ended and everything sent has its answer: done */
	if (sh->eof && !memchr(sh->buf, '\n', sh->len) && !rc_slot_busy(sh->slot)) {
		ev_break(sh->loop);
		return;
	}
	/* read on only when there is room and nothing waits */
	if (!sh->eof && sh->len < sizeof(sh->buf) - LINE_MAX_LEN && !sh->watching) {
		if (ev_io_start(sh->loop, &sh->in, STDIN_FILENO, EPOLLIN, sh->in.cb, sh) == -EPERM) {
			/* a regular file cannot be polled: it is all there, read on */
			sh->in.fd = STDIN_FILENO;
			sh->in.data = sh;
			sh->in.cb(&sh->in, EPOLLIN);
			return;
		}
		sh->watching = true;
	}
}

static void on_stdin(struct ev_io *io, uint32_t revents)
{
	struct shell *sh = io->data;
	ssize_t n = read(STDIN_FILENO, sh->buf + sh->len, sizeof(sh->buf) - sh->len - 1);

	if (n <= 0) {
		if (n < 0 && errno == EAGAIN)
			return;
		sh->eof = true;
		/* a last line without its newline */
		if (sh->len && sh->buf[sh->len - 1] != '\n')
			sh->buf[sh->len++] = '\n';
	} else {
		sh->len += n;
	}
	if (sh->eof || sh->len >= sizeof(sh->buf) - LINE_MAX_LEN) {
		if (sh->watching)
			ev_io_stop(&sh->in);
		sh->watching = false;
	}
	pump(sh);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: remsim-client-shell [options]\n"
		"\n"
		"A remote card on stdin/stdout: a command TPDU in hex per line in,\n"
		"\"SET_ATR: ..\" and \"R-APDU: ..\" lines out, \"RESET\" resets the card.\n"
		"\n"
		"  -i, --server-ip HOST       remsim-server (default 127.0.0.1); several,\n"
		"                             HOST[:PORT],HOST[:PORT]...: the next when one\n"
		"                             refuses or is lost (one active server of many)\n"
		"  -p, --server-port PORT     (default 9998)\n"
		"  -c, --client-id N          0..1023 (default 0)\n"
		"  -n, --client-slot N        0..1023 (default 0)\n"
		"  -a, --atr HEX              the local ATR, 2..55 bytes (default 3b00)\n"
		"  -r, --atr-ignore-rspro     keep the local ATR\n"
		"  -e, --event-script CMD     run \"CMD <event>\" on events\n"
		"  -d, --debug MASK           osmo-remsim log mask\n"
		"      --log-level LEVEL      debug, info, notice, error, fatal\n"
		"      --metrics ADDR:PORT    Prometheus GET /metrics there (default off;\n"
		"                             PORT or :PORT alone: 127.0.0.1 only)\n"
		"  -L, --disable-color        accepted for osmo-remsim\n"
		"%s%s"
		"  -v, --version, -h, --help\n", rspro_tls_usage, rspro_tls_link_usage);
}

static const struct option options[] = {
	{ "server-ip", required_argument, NULL, 'i' },
	{ "server-port", required_argument, NULL, 'p' },
	{ "client-id", required_argument, NULL, 'c' },
	{ "client-slot", required_argument, NULL, 'n' },
	{ "atr", required_argument, NULL, 'a' },
	{ "atr-ignore-rspro", no_argument, NULL, 'r' },
	{ "event-script", required_argument, NULL, 'e' },
	{ "debug", required_argument, NULL, 'd' },
	{ "log-level", required_argument, NULL, 'l' },
	{ "metrics", required_argument, NULL, 'M' },
	{ "disable-color", no_argument, NULL, 'L' },
	RSPRO_TLS_LONG_OPTIONS,
	RSPRO_TLS_LINK_OPTIONS,
	{ "version", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const struct daemon_cmdline cmdline = {
	.prog = "remsim-client-shell",
	.options = options,
	.usage = usage,
	.help_opt = 'h',
	.version_opt = 'v',
};

static struct rc_cfg cfg;
static struct rspro_tls_cfg tls_cfg;
static struct rspro_tls *tls;
static struct metrics_cfg metrics;

/* One option: 0, or 2 with the reason said. */
static int apply(int opt, const char *arg)
{
	char why[300];
	long v;

	if (rspro_tls_is_opt(opt)) {
		if (!rspro_tls_cfg_set(&tls_cfg, rspro_tls_opt_key(opt), arg, why, sizeof(why)))
			return 0;
		fprintf(stderr, "remsim-client-shell: %s\n", why);
		return 2;
	}
	switch (opt) {
	case 'i':
		snprintf(cfg.server_host, sizeof(cfg.server_host), "%s", arg);
		return 0;
	case 'p':
	case 'c':
	case 'n':
		v = strtol(arg, NULL, 10);
		if (v < 0 || v > (opt == 'p' ? 65535 : 1023)) {
			fprintf(stderr, "remsim-client-shell: -%c %s is out of range\n", opt, arg);
			return 2;
		}
		if (opt == 'p')
			cfg.server_port = v;
		else if (opt == 'c')
			cfg.slot.client_id = v;
		else
			cfg.slot.slot_nr = v;
		return 0;
	case 'a':
		v = conf_hex(arg, cfg.atr, sizeof(cfg.atr));
		if (v < 2) {
			fprintf(stderr, "remsim-client-shell: ATR malformed\n");
			return 2;
		}
		cfg.atr_len = v;
		return 0;
	case 'r':
		cfg.atr_ignore = true;
		return 0;
	case 'e':
		snprintf(cfg.event_script, sizeof(cfg.event_script), "%s", arg);
		return 0;
	case 'd':
		if (log_parse_mask(arg)) {
			fprintf(stderr, "remsim-client-shell: debug mask %s: a level must be 0..8 or a level name\n",
				arg);
			return 2;
		}
		return 0;
	case 'l':
		if (log_parse_level(arg) < 0) {
			fprintf(stderr, "remsim-client-shell: bad log level %s\n", arg);
			return 2;
		}
		log_set_all(log_parse_level(arg));
		return 0;
	case 'L':
		return 0;
	case 'M':
		if (metrics_parse(&metrics, arg, why, sizeof(why))) {
			fprintf(stderr, "remsim-client-shell: %s\n", why);
			return 2;
		}
		return 0;
	default:
		daemon_help_version(&cmdline, opt);
		usage(stderr);
		return 2;
	}
}

static int setup(struct daemon *d, int argc, char **argv)
{
	char why[300];
	int opt, ret;

	rc_cfg_default(&cfg);
	rspro_tls_cfg_default(&tls_cfg);
	snprintf(cfg.label, sizeof(cfg.label), "stdio");
	while ((opt = getopt_long(argc, argv, "hvd:i:p:c:n:a:re:L", options, NULL)) != -1) {
		ret = apply(opt, optarg);
		if (ret)
			return ret;
	}
	if (rc_cfg_tls(&cfg, &tls_cfg, &tls, why, sizeof(why))) {
		fprintf(stderr, "remsim-client-shell: TLS: %s\n", why);
		return 2;
	}
	return DAEMON_RUN;
}

/*
 * SIGUSR1 logs the slot's counters; SIGHUP, which would kill us, is only
 * logged (by the daemon base): every setting is an option and logs go to
 * stderr (a terminal that hangs up ends the input, and so the shell, by
 * EOF). A closed stdout is an error, not death: SIGPIPE is ignored.
 */
static void log_stats(struct daemon *d)
{
	struct shell *sh = d->data;
	const struct rc_stats *st = rc_slot_stats(sh->slot);
	char lat[64];

	rc_slot_latency_text(sh->slot, lat, sizeof(lat));
	LOGP(DMAIN, LOG_NOTICE, rc_slot_name(sh->slot),
	     "statistics: %s: %lu APDUs, %lu answers, %lu lost, %lu refused, %lu bankd connects, %s",
	     rc_state_name(rc_slot_state(sh->slot)), st->tpdus, st->responses, st->lost,
	     st->refused, st->bankd_connects, lat);
}

static int start(struct daemon *d)
{
	struct shell *sh = d->data;

	rspro_identity_local(&cfg.identity, RSPRO_COMP_CLIENT, "remsim-client", REMSIM_VERSION);
	sh->loop = d->loop;
	sh->slot = rc_slot_new(sh->loop, &cfg, &shell_ops, sh);
	if (!sh->slot) {
		rspro_tls_free(tls);
		return 1;
	}
	fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK);
	sh->in.cb = on_stdin;
	sh->in.data = sh;
	rc_slot_start(sh->slot);
	pump(sh);
	return 0;
}

static void collect(struct daemon *d, struct metrics_out *o)
{
	rc_slots_metrics(o);
}

static void stop(struct daemon *d)
{
	struct shell *sh = d->data;

	rc_slot_free(sh->slot);
	rspro_tls_free(tls);
}

int main(int argc, char **argv)
{
	static struct shell sh;
	static struct daemon d = {
		.prog = "remsim-client-shell",
		.log_level = LOG_NOTICE,
		.setup = setup,
		.start = start,
		.stats = log_stats,
		.stop = stop,
		.metrics = &metrics,
		.collect = collect,
		.data = &sh,
	};

	return daemon_main(&d, argc, argv);
}
