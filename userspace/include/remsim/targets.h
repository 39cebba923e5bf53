/* SPDX-License-Identifier: GPL-2.0 */
/*
 * remsim/targets.h - the static bank targets of the host's slots.
 *
 * A slot's identity (RSPRO client id and slot) is a label the kernel keeps
 * (remsimctl map). Where that identity's card is when no remsim-server
 * assigns one, a bank slot behind a bankd's HOST:PORT, is daemon
 * configuration and lives in user space: one root-owned file, by default
 * /run/remsim/targets (REMSIM_TARGETS overrides it), one identity a line:
 *
 *	client 23 slot 0 bank 1 slot 5 via 10.0.0.7:9999
 *
 * remsimctl writes it (map, unmap, apply) atomically, a temporary file
 * renamed over it, under a lock file next to it; remsim-client reads it.
 * The file is read with conf_line()'s limits (4096 bytes a line, 1 MiB)
 * and holds at most RS_TARGETS_MAX identities. A bad line is reported as
 * "FILE:LINE: why" and skipped: the other lines still count.
 */
#ifndef _REMSIM_TARGETS_H
#define _REMSIM_TARGETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/remsim.h>

#define RS_TARGETS_DEFAULT	"/run/remsim/targets"
#define RS_TARGETS_ENV		"REMSIM_TARGETS"
/* Four boards of eight slots per host is a big rack: room for far more. */
#define RS_TARGETS_MAX		4096
/* Bad lines a load reports one by one; the rest are counted in one line. */
#define RS_TARGETS_BAD_SHOWN	10

struct rs_target {
	uint32_t	client_id;
	uint32_t	client_slot;
	bool		has_bank;	/* else: the server assigns the card */
	uint32_t	bank_id;
	uint32_t	bank_slot;
	char		host[REMSIM_MAP_HOST_MAX + 1];
	uint16_t	port;
};

struct rs_targets {
	struct rs_target	*v;	/* sorted by identity, each once */
	size_t			n, cap;
};

/* The file: $REMSIM_TARGETS if set and not empty, else RS_TARGETS_DEFAULT. */
const char *rs_targets_path(void);

/*
 * Words "client ID slot N [bank ID slot N via HOST:PORT]" (HOST:PORT, or
 * [V6]:PORT) into @t: 0, or -EINVAL with a sentence in @why.
 */
int rs_target_parse(int argc, char **argv, struct rs_target *t, char *why, size_t size);
/* @t as those words; the bank part only with has_bank. */
void rs_target_format(const struct rs_target *t, char *buf, size_t size);
/* "HOST:PORT", or "[V6]:PORT". */
void rs_target_bankd(const struct rs_target *t, char *buf, size_t size);
bool rs_target_same(const struct rs_target *a, const struct rs_target *b);

/*
 * Reads @path into @ts (emptied first). A missing file is an empty set
 * (returns -ENOENT). A file that somebody but root or we could write (its
 * owner, or group or other write permission) is refused: its targets
 * would steer the slots' APDUs. Each bad line, duplicate identity or the
 * line past RS_TARGETS_MAX goes to @bad as "FILE:LINE: why" and is
 * skipped (the first RS_TARGETS_BAD_SHOWN, then one line with the count of
 * the others). Returns 0, or -errno with "FILE: why" (or "FILE:LINE: why" for
 * a line over the limits, after which the lines before it are kept) in
 * @err.
 */
int rs_targets_load(struct rs_targets *ts, const char *path,
		    void (*bad)(const char *msg, void *arg), void *arg,
		    char *err, size_t errlen);
const struct rs_target *rs_targets_find(const struct rs_targets *ts, uint32_t client_id,
					uint32_t client_slot);
/* Adds or replaces @t's identity (has_bank set): 0, -ENOSPC or -ENOMEM. */
int rs_targets_put(struct rs_targets *ts, const struct rs_target *t);
/* Drops an identity: whether it was there. */
bool rs_targets_del(struct rs_targets *ts, uint32_t client_id, uint32_t client_slot);
int rs_targets_copy(struct rs_targets *dst, const struct rs_targets *src);
void rs_targets_free(struct rs_targets *ts);

/*
 * Writes @ts to @path atomically: a temporary file in its directory
 * (made, mode 0755, if missing), mode 0644, synced, renamed over @path.
 * Returns 0, or -errno with "FILE: why" in @err; @path is untouched then.
 */
int rs_targets_save(const struct rs_targets *ts, const char *path, char *err, size_t errlen);
/*
 * Takes the writers' lock, "PATH.lock" (mode 0600: only root may take
 * it), waiting for another writer. The lock's descriptor, or -errno with
 * "FILE: why" in @err. close() releases it.
 */
int rs_targets_lock(const char *path, char *err, size_t errlen);

#endif /* _REMSIM_TARGETS_H */
