// SPDX-License-Identifier: GPL-2.0
/*
 * remsimctl - list, map and watch remsim slots.
 *
 *	remsimctl [-j] COMMAND [ARGS]		remsimctl help COMMAND
 *
 * With no command, "show". Help never opens netlink, so it works on a host
 * without the module.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "remsimctl.h"

static const struct cmd *const cmds[] = {
	&cmd_show, &cmd_map, &cmd_unmap, &cmd_stats, &cmd_monitor, &cmd_sim, &cmd_apply,
};

#define NCMDS	(sizeof(cmds) / sizeof(cmds[0]))

int fail(int status, const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "remsimctl %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return status;
}

/*
 * The argument a command line gave for an attribute the kernel blamed:
 * the value itself where we have it, "no such slot (remsim9)".
 */
static const char *blamed(const struct ctl *c, uint16_t attr)
{
	switch (attr) {
	case REMSIM_A_SLOT_INDEX:
		return c->slot_given ? c->slot_given : "SLOT";
	case REMSIM_A_SLOT_MAP:
		return "the map";
	default:
		return NULL;
	}
}

int refused(const struct ctl *c, const char *cmd, int err)
{
	const char *msg = rsnl_errmsg(c->nl);
	const char *arg = blamed(c, rsnl_err_attr(c->nl));

	if (err == -EPERM)
		return fail(EXIT_REFUSED, cmd, "permission denied: needs CAP_NET_ADMIN");
	if (msg && *msg)
		return fail(EXIT_REFUSED, cmd, "%s%s%s%s", msg, arg ? " (" : "", arg ? arg : "",
			    arg ? ")" : "");
	return fail(EXIT_REFUSED, cmd, "%s", strerror(-err));
}

int usage_of(const struct cmd *cmd)
{
	fprintf(stderr, "usage: remsimctl [-j] %s %s\n", cmd->name, cmd->usage);
	return EXIT_USAGE;
}

bool wants_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help") ||
		    !strcmp(argv[i], "help"))
			return true;
	return false;
}

static void help(FILE *f)
{
	unsigned int i;

	fprintf(f, "usage: remsimctl [-j] [-V] COMMAND [ARGS]\n\n");
	for (i = 0; i < NCMDS; i++)
		fprintf(f, "  %s %s\n", cmds[i]->name, cmds[i]->usage);
	fprintf(f, "\n  -j, --json     JSON output\n"
		   "  remsimctl COMMAND --help    what a command does\n");
}

static void help_cmd(const struct cmd *cmd)
{
	printf("usage: remsimctl [-j] %s %s\n\n%s", cmd->name, cmd->usage, cmd->help);
}

static const struct cmd *find(const char *name)
{
	unsigned int i;

	for (i = 0; i < NCMDS; i++)
		if (!strcmp(cmds[i]->name, name))
			return cmds[i];
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl c = { 0 };
	const struct cmd *cmd;
	char *show[] = { "show", NULL };
	int opt, ret;

	/* options before the command only: the command's own come after it */
	while ((opt = getopt_long(argc, argv, "+jVh", options, NULL)) != -1) {
		switch (opt) {
		case 'j':
			c.json = true;
			break;
		case 'V':
			printf("remsimctl %s\n", REMSIM_VERSION);
			return 0;
		case 'h':
			help(stdout);
			return 0;
		default:
			help(stderr);
			return EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (!argc) {
		argc = 1;
		argv = show;
	}
	if (!strcmp(argv[0], "help")) {
		cmd = argc > 1 ? find(argv[1]) : NULL;
		if (cmd)
			help_cmd(cmd);
		else
			help(argc > 1 ? stderr : stdout);
		return argc > 1 && !cmd ? EXIT_USAGE : 0;
	}
	cmd = find(argv[0]);
	if (!cmd) {
		fprintf(stderr, "remsimctl: unknown command \"%s\"\n", argv[0]);
		help(stderr);
		return EXIT_USAGE;
	}
	if (wants_help(argc, argv)) {
		help_cmd(cmd);
		return 0;
	}
	if (!cmd->no_netlink) {
		ret = rsnl_open(&c.nl);
		if (ret) {
			return fail(EXIT_REFUSED, cmd->name, "%s",
				    ret == -ENOENT ? "the remsim module is not loaded (modprobe remsim)"
						   : strerror(-ret));
		}
	}
	ret = cmd->run(&c, argc, argv);
	rs_targets_free(&c.targets);
	rsnl_close(c.nl);
	return ret;
}
