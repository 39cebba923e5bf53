// SPDX-License-Identifier: GPL-2.0
/*
 * remsim-client: one daemon, one event loop, every slot of the host: the
 * kernel's /dev/remsimN (kwatch.c) or, where remsim.ko is not loaded, the
 * USB boards over libusb (usbwatch.c). Options, config file, SIGHUP and
 * SIGUSR1 (every slot's statistics) here, on the daemon base's start-up
 * (remsim/daemon.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "remsim/conf.h"
#include "remsim/daemon.h"
#include "remsim/log.h"

struct client_daemon {
	struct client cl;
	struct kwatch *kernel;
	struct usbwatch *usb;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: remsim-client [options]\n"
		"\n"
		"Serves every mapped /dev/remsimN of this host (remsimctl map) or, where\n"
		"remsim.ko is not loaded, the SIMtrace2-family boards over libusb.\n"
		"\n"
		"  -i, --server-ip HOST       remsim-server (default 127.0.0.1); several,\n"
		"                             HOST[:PORT],HOST[:PORT]...: the next when one\n"
		"                             refuses or is lost (one active server of many)\n"
		"  -p, --server-port PORT     (default 9998)\n"
		"  -a, --atr HEX              the local ATR (default 3b00)\n"
		"  -r, --atr-ignore-rspro     keep the local ATR\n"
		"  -e, --event-script CMD     run \"CMD <event>\" on events\n"
		"  -d, --debug MASK           osmo-remsim log mask\n"
		"      --log-level LEVEL      debug, info, notice, error, fatal\n"
		"  -L, --disable-color        accepted for osmo-remsim\n"
		"      --metrics ADDR:PORT    Prometheus GET /metrics there (default off;\n"
		"                             PORT or :PORT alone: 127.0.0.1 only)\n"
		"      --apdu-timeout MS      how long a slot keeps the card and holds the\n"
		"                             modem's command while its bankd is away\n"
		"                             (default %u, 0..%u; 0: 6F00 at once)\n"
		"      --backend B            kernel, usb, or auto (default: usb if a USB\n"
		"                             option below is given or remsim.ko is not\n"
		"                             loaded, else kernel)\n"
		"USB (libusb), as osmo-remsim-client-st2; each selected card-emulation\n"
		"interface is a slot:\n"
		"  -V, --usb-vendor HEX       -P, --usb-product HEX   (default: SIMtrace2 family)\n"
		"  -I, --usb-interface N      -A, --usb-address N     -H, --usb-path PATH (2-1.1)\n"
		"  -C, --usb-config N         set this configuration first (default: leave it)\n"
		"  -S, --usb-altsetting N     -Z, --presence-polarity 0|1\n"
		"  -c, --client-id N          -n, --client-slot N     the first selected\n"
		"                             interface's identity (default 0:0 with -V..-H)\n"
		"%s%s"
		"      --config FILE          \"key = value\" lines: the long options, and\n"
		"                             slot.NAME.client = ID:SLOT (for a slot the\n"
		"                             kernel has no map for), slot.NAME.atr,\n"
		"                             slot.NAME.event-script, slot.NAME.apdu-timeout\n"
		"                             (NAME: remsim3, 3, or\n"
		"                             the USB interface 1-1.2:1.0)\n"
		"  -v, --version, -h, --help\n"
		"\n"
		"SIGUSR1 logs every slot's statistics; SIGHUP reads the options and\n"
		"--config again (log level, per-slot settings for slots starting).\n"
		"See remsim-client(8).\n",
		RC_APDU_TIMEOUT_DEFAULT_MS, RC_APDU_TIMEOUT_MAX_MS, rspro_tls_usage,
		rspro_tls_link_usage);
}

static const struct option options[] = {
	{ "server-ip", required_argument, NULL, 'i' },
	{ "server-port", required_argument, NULL, 'p' },
	{ "atr", required_argument, NULL, 'a' },
	{ "atr-ignore-rspro", no_argument, NULL, 'r' },
	{ "event-script", required_argument, NULL, 'e' },
	{ "debug", required_argument, NULL, 'd' },
	{ "log-level", required_argument, NULL, 'l' },
	{ "disable-color", no_argument, NULL, 'L' },
	{ "backend", required_argument, NULL, 'B' },
	{ "apdu-timeout", required_argument, NULL, 'T' },
	{ "metrics", required_argument, NULL, 'M' },
	{ "usb-vendor", required_argument, NULL, 'V' },
	{ "usb-product", required_argument, NULL, 'P' },
	{ "usb-config", required_argument, NULL, 'C' },
	{ "usb-interface", required_argument, NULL, 'I' },
	{ "usb-altsetting", required_argument, NULL, 'S' },
	{ "usb-address", required_argument, NULL, 'A' },
	{ "usb-path", required_argument, NULL, 'H' },
	{ "presence-polarity", required_argument, NULL, 'Z' },
	{ "client-id", required_argument, NULL, 'c' },
	{ "client-slot", required_argument, NULL, 'n' },
	{ "config", required_argument, NULL, 'F' },
	RSPRO_TLS_LONG_OPTIONS,
	RSPRO_TLS_LINK_OPTIONS,
	{ "version", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* The config file's key for an option: its long name. */
static const char *option_key(int opt)
{
	unsigned int i;

	for (i = 0; options[i].name; i++)
		if (options[i].val == opt)
			return options[i].name;
	return NULL;
}

static const struct daemon_cmdline cmdline = {
	.prog = "remsim-client",
	.options = options,
	.usage = usage,
	.help_opt = 'h',
	.version_opt = 'v',
};

/* 0 to go on, or the exit status with the reason in @why. */
static int parse_options(struct client *cl, int argc, char **argv, char *why, size_t whylen)
{
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "hvd:i:p:a:re:LV:P:C:I:S:A:H:Z:c:n:", options,
				  NULL)) != -1) {
		switch (opt) {
		case 'd':
			if (log_parse_mask(optarg)) {
				snprintf(why, whylen,
					 "debug mask %s: a level must be 0..8 or a level name", optarg);
				return 2;
			}
			break;
		case 'L':
			break;
		case 'F':
			if (conf_load(optarg, client_conf_set, cl, why, whylen))
				return 2;
			break;
		case 'v':
		case 'h':
			daemon_help_version(&cmdline, opt);
			break;
		case '?':
			usage(stderr);
			snprintf(why, whylen, "bad option");
			return 2;
		default:
			/* every other option is a config key */
			if (client_conf_set(option_key(opt), optarg ? optarg : "", cl, why,
					    whylen))
				return 2;
		}
	}
	if (optind < argc) {
		snprintf(why, whylen, "unexpected argument \"%s\"", argv[optind]);
		return 2;
	}
	return 0;
}

/*
 * SIGHUP: the command line and its --config file again, into a scratch
 * client; a bad file changes nothing. Taken: the log level and mask, and
 * what a slot is given when it starts (server, ATR, event script, the
 * slot.NAME.* settings): a running slot keeps what it has until it starts
 * again (its map changes, its board comes back). The backend and the USB
 * selection and the metrics address need a restart. Logs go to stderr:
 * nothing to reopen.
 */
static void reload(struct daemon *d)
{
	static struct client fresh;
	struct client_daemon *cd = d->data;
	struct client *cl = &cd->cl;
	struct log_state old;
	char why[300];

	memset(&fresh, 0, sizeof(fresh));
	rc_cfg_default(&fresh.cfg);
	rspro_tls_cfg_default(&fresh.tls_cfg);
	usb_filter_default(&fresh.usb_filter);
	usbslot_opts_default(&fresh.usb_opts);
	daemon_reload_begin(&old);
	if (parse_options(&fresh, d->argc, d->argv, why, sizeof(why))) {
		daemon_reload_failed(&old, why);
		return;
	}
	daemon_keep_setting("metrics", metrics_changed(&fresh.metrics, &cl->metrics));
	daemon_keep_setting("backend", fresh.backend != BACKEND_AUTO && fresh.backend != cl->backend);
	daemon_keep_setting("usb selection (usb-*, presence-polarity)",
			    memcmp(&fresh.usb_filter, &cl->usb_filter, sizeof(cl->usb_filter)) ||
			    memcmp(&fresh.usb_opts, &cl->usb_opts, sizeof(cl->usb_opts)));
	daemon_keep_setting("client-id/client-slot", fresh.has_identity != cl->has_identity ||
			    memcmp(&fresh.identity, &cl->identity, sizeof(cl->identity)));
	/* the credentials are loaded once: a restart takes new ones */
	daemon_keep_setting("tls", rspro_tls_cfg_changed(&fresh.tls_cfg, &cl->tls_cfg));
	fresh.cfg.identity = cl->cfg.identity;
	fresh.cfg.tls_server = cl->cfg.tls_server;
	fresh.cfg.tls_bankd = cl->cfg.tls_bankd;
	cl->cfg = fresh.cfg;
	memcpy(cl->overrides, fresh.overrides, sizeof(cl->overrides));
	cl->noverrides = fresh.noverrides;
	LOGP(DMAIN, LOG_NOTICE, NULL, "SIGHUP: configuration read again (%u slot settings)",
	     cl->noverrides);
	LOGP(DMAIN, LOG_DEBUG, NULL, "SIGHUP: server %s:%u for slots starting from now on",
	     cl->cfg.server_host, cl->cfg.server_port);
}

/* SIGUSR1: a header, so that a host with no slot served still answers */
static void log_stats(struct daemon *d)
{
	struct client_daemon *cd = d->data;

	LOGP(DMAIN, LOG_NOTICE, NULL, "statistics (%s backend), a line per served slot:",
	     cd->kernel ? "kernel" : "USB");
	if (cd->kernel)
		kwatch_log_stats(cd->kernel);
	if (cd->usb)
		usbwatch_log_stats(cd->usb);
}

static int start_backend(struct client_daemon *d)
{
	struct client *cl = &d->cl;
	char err[300];

	if (cl->backend == BACKEND_AUTO)
		cl->backend = !cl->usb_selected && kwatch_available() ? BACKEND_KERNEL
								       : BACKEND_USB;
	if (cl->backend == BACKEND_KERNEL) {
		d->kernel = kwatch_new(cl, err, sizeof(err));
		if (!d->kernel) {
			fprintf(stderr, "remsim-client: %s\n", err);
			return 1;
		}
		LOGP(DMAIN, LOG_NOTICE, NULL, "running: server %s:%u, watching the kernel's slots",
		     cl->cfg.server_host, cl->cfg.server_port);
		return 0;
	}
	/* osmo-remsim-client-st2 run with only -V..-H is client 0:0 */
	if (cl->usb_selected)
		cl->has_identity = true;
	d->usb = usbwatch_new(cl, err, sizeof(err));
	if (!d->usb) {
		fprintf(stderr, "remsim-client: %s\n", err);
		return 1;
	}
	LOGP(DMAIN, LOG_NOTICE, NULL, "running: server %s:%u, USB boards over libusb",
	     cl->cfg.server_host, cl->cfg.server_port);
	return 0;
}

static int setup(struct daemon *d, int argc, char **argv)
{
	struct client_daemon *cd = d->data;
	struct client *cl = &cd->cl;
	char why[300];
	int ret;

	rc_cfg_default(&cl->cfg);
	rspro_tls_cfg_default(&cl->tls_cfg);
	usb_filter_default(&cl->usb_filter);
	usbslot_opts_default(&cl->usb_opts);
	ret = parse_options(cl, argc, argv, why, sizeof(why));
	if (ret) {
		fprintf(stderr, "remsim-client: %s\n", why);
		return ret;
	}
	if (rc_cfg_tls(&cl->cfg, &cl->tls_cfg, &cl->tls, why, sizeof(why))) {
		fprintf(stderr, "remsim-client: TLS: %s\n", why);
		return 2;
	}
	return DAEMON_RUN;
}

static int start(struct daemon *d)
{
	struct client_daemon *cd = d->data;
	struct client *cl = &cd->cl;
	int ret;

	rspro_identity_local(&cl->cfg.identity, RSPRO_COMP_CLIENT, "remsim-client",
			     REMSIM_VERSION);
	cl->loop = d->loop;
	ret = start_backend(cd);
	if (ret) {
		kwatch_free(cd->kernel);
		usbwatch_free(cd->usb);
		rspro_tls_free(cl->tls);
	}
	return ret;
}

static void collect(struct daemon *d, struct metrics_out *o)
{
	rc_slots_metrics(o);
}

static void stop(struct daemon *d)
{
	struct client_daemon *cd = d->data;

	kwatch_free(cd->kernel);
	usbwatch_free(cd->usb);
	rspro_tls_free(cd->cl.tls);
}

int main(int argc, char **argv)
{
	static struct client_daemon cd;
	static struct daemon d = {
		.prog = "remsim-client",
		.log_level = LOG_INFO,
		.log_shutdown = true,
		.setup = setup,
		.start = start,
		.reload = reload,
		.stats = log_stats,
		.stop = stop,
		.metrics = &cd.cl.metrics,
		.collect = collect,
		.data = &cd,
	};

	return daemon_main(&d, argc, argv);
}
