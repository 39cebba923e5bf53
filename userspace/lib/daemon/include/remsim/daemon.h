/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The start-up every remsim program shares (daemon.c): log set-up, the
 * command line and config file, the signals (SIGTERM and SIGINT stop,
 * SIGHUP reloads, SIGUSR1 logs statistics, SIGPIPE is ignored), the event
 * loop and the exit status: 0 after a clean stop, 1 when the system or a
 * peer failed us, 2 for a bad command line or file. A program fills a
 * struct daemon with its hooks and returns daemon_main().
 */
#ifndef REMSIM_DAEMON_H
#define REMSIM_DAEMON_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "remsim/evloop.h"
#include "remsim/log.h"
#include "remsim/metrics.h"

/*
 * A command line whose options are also config file keys (server, bankd):
 * the file first, then the command line over it, at start and again on
 * SIGHUP, so that an option given on the command line still wins.
 */
struct daemon_cmdline {
	const char *prog;		/* "remsim-server": messages, -V */
	const char *optstring;
	const struct option *options;
	void (*usage)(FILE *f);
	int help_opt;			/* 'h' */
	int version_opt;		/* 'V' or 'v' */
	int config_opt;			/* the option naming the file; 0: none */
	const char *default_config;	/* read if present and no file given */
	/* one setting: 0, or -EINVAL with the reason in @why */
	int (*apply)(void *cfg, int opt, const char *value, char *why, size_t whylen);
	/* the file daemon_cmdline_scan() found, read again on SIGHUP; or NULL */
	const char *conf_path;
};

/* @opt is the help or version option: usage or version on stdout, exit 0. */
void daemon_help_version(const struct daemon_cmdline *c, int opt);
/*
 * The first pass: help and version (exit 0), an unknown option (usage on
 * stderr) or an operand (said) return 2; finds the config file. 0: go on.
 */
int daemon_cmdline_scan(struct daemon_cmdline *c, int argc, char **argv);
/* The config file, then the command line, into @cfg: 0 or -EINVAL, @why. */
int daemon_cmdline_load(const struct daemon_cmdline *c, void *cfg, int argc, char **argv,
			char *why, size_t whylen);

/*
 * SIGHUP: daemon_reload_begin() saves the logging and puts it back to its
 * defaults (a line taken out of the file goes back to its default); after
 * a file that does not parse, daemon_reload_failed() restores it and says
 * the running configuration is kept.
 */
void daemon_reload_begin(struct log_state *old);
void daemon_reload_failed(const struct log_state *old, const char *why);
/* A setting only a restart applies, when it changed: said once. */
void daemon_keep_setting(const char *key, bool changed);

/* setup()'s "go on": anything else is the exit status. */
#define DAEMON_RUN	(-1)

struct daemon {
	const char *prog;		/* program name for log lines and messages */
	enum log_level log_level;	/* before any option */
	bool raise_fd_limit;		/* peers by the thousand: all descriptors */
	bool log_shutdown;		/* "signal N: shutting down" */
	/* options and files, before the loop: DAEMON_RUN or the exit status */
	int (*setup)(struct daemon *d, int argc, char **argv);
	/* in the loop (d->loop): 0, or the exit status after undoing itself */
	int (*start)(struct daemon *d);
	/* SIGHUP; NULL: logged that there is nothing to read again */
	void (*reload)(struct daemon *d);
	/* SIGUSR1 */
	void (*stats)(struct daemon *d);
	/* after the loop ended, when start() succeeded */
	void (*stop)(struct daemon *d);
	/*
	 * The metrics endpoint: its address (setup() fills it; NULL or off:
	 * none), started after start() and stopped before stop(); collect()
	 * writes the program's series on each scrape.
	 */
	const struct metrics_cfg *metrics;
	void (*collect)(struct daemon *d, struct metrics_out *o);
	void *data;			/* the program's */
	/* set by daemon_main() */
	int argc;
	char **argv;
	struct ev_loop *loop;
	struct ev_io sig_io;
	struct metrics_server *metrics_srv;
};

/* Runs the program through its hooks; returns its exit status. */
int daemon_main(struct daemon *d, int argc, char **argv);

#endif
