// SPDX-License-Identifier: GPL-2.0
/*
 * daemon_main() and the command-line helpers, see remsim/daemon.h: one
 * start-up for remsim-server, remsim-bankd, remsim-client, remsim-client-shell
 * and remsim-softsim, so that they handle options, files, signals and exit
 * statuses alike.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "remsim/conf.h"
#include "remsim/daemon.h"

void daemon_help_version(const struct daemon_cmdline *c, int opt)
{
	if (opt == c->help_opt) {
		c->usage(stdout);
		exit(0);
	}
	if (opt == c->version_opt) {
		printf("%s %s\n", c->prog, REMSIM_VERSION);
		exit(0);
	}
}

int daemon_cmdline_scan(struct daemon_cmdline *c, int argc, char **argv)
{
	const char *conf = NULL;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, c->optstring, c->options, NULL)) != -1) {
		daemon_help_version(c, opt);
		if (opt == '?') {
			c->usage(stderr);
			return 2;
		}
		if (c->config_opt && opt == c->config_opt)
			conf = optarg;
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument \"%s\"\n", c->prog, argv[optind]);
		return 2;
	}
	if (!conf && c->default_config && !access(c->default_config, R_OK))
		conf = c->default_config;
	c->conf_path = conf;
	return 0;
}

struct conf_target {
	const struct daemon_cmdline *c;
	void *cfg;
};

/* A file's key is an option's long name; help, version, the file itself are not keys. */
static int conf_set(const char *key, const char *value, void *arg, char *why, size_t whylen)
{
	const struct conf_target *t = arg;
	const struct option *o;

	for (o = t->c->options; o->name; o++)
		if (!strcmp(o->name, key))
			break;
	if (!o->name || o->val == t->c->config_opt || o->val == t->c->help_opt ||
	    o->val == t->c->version_opt) {
		snprintf(why, whylen, "unknown setting \"%s\"", key);
		return -EINVAL;
	}
	if (o->has_arg == no_argument && strcmp(value, "yes") && strcmp(value, "true")) {
		snprintf(why, whylen, "%s takes \"yes\"", key);
		return -EINVAL;
	}
	return t->c->apply(t->cfg, o->val, value, why, whylen);
}

int daemon_cmdline_load(const struct daemon_cmdline *c, void *cfg, int argc, char **argv,
			char *why, size_t whylen)
{
	struct conf_target t = { c, cfg };
	int opt;

	if (c->conf_path && conf_load(c->conf_path, conf_set, &t, why, whylen))
		return -EINVAL;
	optind = 1;
	while ((opt = getopt_long(argc, argv, c->optstring, c->options, NULL)) != -1) {
		if (c->config_opt && opt == c->config_opt)
			continue;
		if (c->apply(cfg, opt, optarg, why, whylen))
			return -EINVAL;
	}
	return 0;
}

void daemon_reload_begin(struct log_state *old)
{
	log_save(old);
	log_set_all(LOG_INFO);
	log_timestamps(false);
}

void daemon_reload_failed(const struct log_state *old, const char *why)
{
	log_restore(old);
	LOGP(DMAIN, LOG_ERROR, NULL, "SIGHUP: %s: running configuration kept", why);
}

void daemon_keep_setting(const char *key, bool changed)
{
	if (changed)
		LOGP(DMAIN, LOG_NOTICE, NULL, "%s changed: needs a restart", key);
}

static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void on_signal(struct ev_io *io, uint32_t revents)
{
	struct daemon *d = io->data;
	struct signalfd_siginfo si;

	if (read(io->fd, &si, sizeof(si)) != sizeof(si))
		return;
	switch (si.ssi_signo) {
	case SIGHUP:
		if (d->reload)
			d->reload(d);
		else
			LOGP(DMAIN, LOG_NOTICE, NULL,
			     "SIGHUP: no config file to read again (options only); logs go to stderr");
		return;
	case SIGUSR1:
		if (d->stats)
			d->stats(d);
		return;
	}
	if (d->log_shutdown)
		LOGP(DMAIN, LOG_NOTICE, NULL, "signal %u: shutting down", si.ssi_signo);
	ev_break(d->loop);
}

/* A scrape: what every program says, then the program's own series. */
static void collect(struct metrics_out *o, void *data)
{
	struct daemon *d = data;
	char labels[128];

	metrics_family(o, "remsim_build_info", "gauge", "the program and its version, always 1");
	metrics_labels(labels, sizeof(labels), "program", d->prog, "version", REMSIM_VERSION,
		       NULL);
	metrics_sample(o, "remsim_build_info", labels, 1);
	if (d->collect)
		d->collect(d, o);
}

static int start_metrics(struct daemon *d)
{
	char err[300];

	if (!d->metrics || !d->metrics->on)
		return 0;
	d->metrics_srv = metrics_start(d->loop, d->metrics, collect, d, err, sizeof(err));
	if (d->metrics_srv)
		return 0;
	LOGP(DMAIN, LOG_FATAL, NULL, "%s", err);
	return 1;
}

int daemon_main(struct daemon *d, int argc, char **argv)
{
	int sfd, ret;

	log_init(d->prog, d->log_level);
	d->argc = argc;
	d->argv = argv;
	ret = d->setup(d, argc, argv);
	if (ret != DAEMON_RUN)
		return ret;
	if (d->raise_fd_limit)
		raise_fd_limit();
	/* every signal through the loop: none kills us by its default action */
	sfd = ev_signalfd();
	d->loop = ev_loop_new();
	if (!d->loop || sfd < 0 ||
	    ev_io_start(d->loop, &d->sig_io, sfd, EPOLLIN, on_signal, d)) {
		fprintf(stderr, "%s: cannot set up the event loop\n", d->prog);
		ret = 1;
		goto out;
	}
	ret = d->start(d);
	if (ret)
		goto out;
	ret = start_metrics(d);
	if (!ret)
		ret = ev_run(d->loop) ? 1 : 0;
	metrics_stop(d->metrics_srv);
	d->metrics_srv = NULL;
	if (d->stop)
		d->stop(d);
out:
	ev_io_stop(&d->sig_io);
	if (sfd >= 0)
		close(sfd);
	ev_loop_free(d->loop);
	return ret;
}
