/* SPDX-License-Identifier: GPL-2.0 */
/*
 * remsimctl: the command line for remsim.ko's netlink family. Each command
 * lives in a file of its own; this is what they share.
 *
 * Exit status: 0 done, 1 the kernel (or the system) refused, 2 the command
 * line or a file is wrong.
 */
#ifndef REMSIMCTL_H
#define REMSIMCTL_H

#include <jansson.h>
#include <stdbool.h>

#include "remsim/nl.h"
#include "remsim/targets.h"

#define EXIT_REFUSED	1
#define EXIT_USAGE	2

struct ctl {
	struct rsnl *nl;
	bool json;
	struct rs_targets targets;	/* the static bank targets, as last read */
};

struct cmd {
	const char *name;
	int (*run)(struct ctl *c, int argc, char **argv);
	const char *usage;	/* arguments */
	const char *help;	/* what it does, and the arguments' meaning */
	bool no_netlink;	/* works without remsim.ko */
};

extern const struct cmd cmd_show, cmd_stats, cmd_map, cmd_unmap, cmd_monitor, cmd_sim,
	cmd_apply;

/* "remsimctl CMD: ..." on stderr; returns @status. */
int fail(int status, const char *cmd, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The kernel refused: its extended ACK, naming the argument it blamed. */
int refused(const struct ctl *c, const char *cmd, int err);
/* Prints @cmd's usage to stderr; returns EXIT_USAGE. */
int usage_of(const struct cmd *cmd);
/* Whether argv asks for help (-h, --help, help). */
bool wants_help(int argc, char **argv);

/*
 * SLOT: an index, "remsimN", "/dev/remsimN", a symbolic link to one
 * ("/dev/remsim/by-path/1-1.2-if0"), or a stable name ("1-1.2-if0",
 * "by-path/1-1.2-if0", "by-id/SERIAL-if0"). The slot's index, or -ENOENT
 * (no such slot now), -EINVAL (not a slot name).
 */
int slot_resolve(struct ctl *c, const char *arg);
/* slot_resolve() for a command's SLOT argument: the index, or minus the exit status. */
int slot_arg(struct ctl *c, const char *cmd, const char *arg);
/* A USB slot's stable name "1-1.2-if0" from its bus path "1-1.2:1.0", or "". */
void slot_stable_name(const struct rsnl_slot *s, char *buf, size_t size);

json_t *slot_json(const struct ctl *c, const struct rsnl_slot *s, bool stats);
void slot_print(const struct ctl *c, const struct rsnl_slot *s);
void stats_print(const struct rsnl_slot *s);
/* Prints one JSON value on a line of its own and drops it. */
void json_out(json_t *j);

/*
 * The targets file (see targets.c): reads it into c->targets, bad lines
 * and errors as warnings on stderr; a slot's target from it, or NULL.
 */
void ctl_load_targets(struct ctl *c, const char *cmd);
const struct rs_target *ctl_target(const struct ctl *c, const struct rsnl_map *m);
/*
 * Maps slot @index to @t's identity and static target (@t->has_bank), or
 * unmaps it (@t NULL): the kernel's label and the targets file, both or
 * neither. 0, or the exit status, said on stderr.
 */
int ctl_map(struct ctl *c, const char *cmd, uint32_t index, const struct rs_target *t);

#endif
