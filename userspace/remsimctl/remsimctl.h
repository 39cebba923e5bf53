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

#include "remsim/idpath.h"
#include "remsim/nl.h"
#include "remsim/targets.h"

#define EXIT_REFUSED	1
#define EXIT_USAGE	2

struct ctl {
	struct rsnl *nl;
	bool json;
	struct rs_targets targets;	/* the static bank targets, as last read */
	const char *slot_given;		/* SLOT as the command line gave it */
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
 * ("/dev/remsim/by-path/..."), or a stable name: udev's ID_PATH
 * ("pci-0000:00:14.0-usb-0:1.2:1.0", also "by-path/..."), the older port
 * form "1-1.2-if0", or "by-id/SERIAL-if0". The slot's index, or -ENOENT
 * (no such slot now), -EINVAL (not a slot name).
 */
int slot_resolve(struct ctl *c, const char *arg);
/* Whether @arg is a slot name at all (0, or -EINVAL), asking nobody. */
int slot_name_check(const char *arg);
/*
 * slot_resolve() for a command's SLOT argument, remembered for refused():
 * the index, or minus the exit status.
 */
int slot_arg(struct ctl *c, const char *cmd, const char *arg);

#define SLOT_PATH_MAX	RS_ID_PATH_MAX

/* Where a USB slot is, from sysfs ("" each when unknown, or not USB). */
struct slot_place {
	char id_path[SLOT_PATH_MAX];	/* "pci-0000:00:14.0-usb-0:1.2:1.0" */
	char serial[128];		/* the board's USB serial number */
};

void slot_sysfs(const struct rsnl_slot *s, struct slot_place *p);
/* A USB slot's stable name, udev's ID_PATH of its interface, or "". */
void slot_stable_name(const struct rsnl_slot *s, char *buf, size_t size);
/* The older alias "1-1.2-if0" from the bus path "1-1.2:1.0", or "". */
void slot_usb_name(const struct rsnl_slot *s, char *buf, size_t size);

json_t *slot_json(const struct ctl *c, const struct rsnl_slot *s, bool stats);
/* What a signal or error event knows of its slot: no ATR, owner, state. */
json_t *slot_json_brief(const struct ctl *c, const struct rsnl_slot *s);
/* REMSIM_SIG_* as ["vcc", "rst", "clk", "card"]. */
json_t *signals_json(uint32_t sig);
/* A map (identity and target) as JSON. */
json_t *map_json(const struct rs_target *t);
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
/* A slot's map now: the kernel's identity and the file's target. */
struct ctl_was {
	bool mapped;
	struct rs_target map;
};

/* ctl_map() flags */
#define CTL_MAP_FORCE	0x1	/* replace a map that differs (else refused) */

/*
 * Maps slot @index to @t's identity and static target (@t->has_bank), or
 * unmaps it (@t NULL): the kernel's label and the targets file, both or
 * neither. Refused when another slot carries @t's identity (one identity,
 * one slot: the server and the bankd tell clients apart by it), and,
 * without CTL_MAP_FORCE, when the slot has a different map. @was (may be
 * NULL) gets the map the slot had. 0, or the exit status, said on stderr.
 */
int ctl_map(struct ctl *c, const char *cmd, uint32_t index, const struct rs_target *t,
	    unsigned int flags, struct ctl_was *was);
/* The slot carrying identity @id other than @index: its index, or -1. */
int ctl_carrier(struct ctl *c, uint32_t index, uint32_t client_id, uint32_t client_slot);
/*
 * Drops, under the lock, the targets file's identities that @keep says
 * nobody uses; 0, or the exit status, said on stderr.
 */
int ctl_prune_targets(struct ctl *c, const char *cmd,
		      bool (*keep)(const struct rs_target *t, void *arg), void *arg);
/* A slot's map now, as ctl_map() compares it. */
void ctl_current(const struct ctl *c, const struct rsnl_map *m, struct ctl_was *was);

#endif
