// SPDX-License-Identifier: GPL-2.0
/*
 * A slot's map is two things in two places: its identity label in the
 * kernel (netlink slot-set) and, for setups without remsim-server, the
 * identity's static bank target in the targets file (remsim/targets.h),
 * which the kernel does not keep because it is daemon configuration.
 * ctl_map() changes both or neither, under the file's lock.
 *
 * Order, so that remsim-client (which reads the file when a slot changes
 * and when the file does) never sees a slot without the target it is
 * about to get: the file's new target first, then the kernel's label, then
 * the old identity's target dropped once no slot carries it. A step that
 * fails undoes the ones before it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "remsimctl.h"

static void warn_line(const char *msg, void *arg)
{
	fprintf(stderr, "remsimctl %s: warning: %s\n", (const char *)arg, msg);
}

void ctl_load_targets(struct ctl *c, const char *cmd)
{
	char err[300];
	int ret;

	ret = rs_targets_load(&c->targets, rs_targets_path(), warn_line, (void *)cmd, err,
			      sizeof(err));
	if (ret && ret != -ENOENT)
		fprintf(stderr, "remsimctl %s: warning: %s\n", cmd, err);
}

const struct rs_target *ctl_target(const struct ctl *c, const struct rsnl_map *m)
{
	return m->mapped ? rs_targets_find(&c->targets, m->client_id, m->client_slot) : NULL;
}

/* The file refused us: root's alone, like the kernel's part. */
static int file_refused(const char *cmd, int err, const char *why)
{
	if (err == -EACCES || err == -EPERM || err == -EROFS)
		return fail(EXIT_REFUSED, cmd, "permission denied: needs CAP_NET_ADMIN and "
			    "write access to %s (%s)", rs_targets_path(), why);
	return fail(EXIT_REFUSED, cmd, "%s", why);
}

struct other_arg {
	uint32_t index;
	struct rsnl_map id;
	bool found;
};

static int other_one(const struct rsnl_slot *s, void *arg)
{
	struct other_arg *o = arg;

	if (s->index != o->index && s->map.mapped && s->map.client_id == o->id.client_id &&
	    s->map.client_slot == o->id.client_slot)
		o->found = true;
	return 0;
}

/* Whether a slot other than @index carries identity @id (when unsure: yes). */
static bool carried_elsewhere(struct ctl *c, uint32_t index, const struct rsnl_map *id)
{
	struct other_arg o = { index, *id, false };

	return rsnl_slot_dump(c->nl, other_one, &o, NULL) || o.found;
}

static bool same_id(const struct rsnl_map *m, const struct rs_target *t)
{
	return t && m->mapped && m->client_id == t->client_id &&
	       m->client_slot == t->client_slot;
}

/* Saves @ts; on failure says so and returns the exit status. */
static int save(const char *cmd, const struct rs_targets *ts)
{
	char err[300];
	int ret = rs_targets_save(ts, rs_targets_path(), err, sizeof(err));

	return ret ? file_refused(cmd, ret, err) : 0;
}

/* The kernel's label of slot @index: @t's identity, or none (@t NULL). */
static int set_label(struct ctl *c, uint32_t index, const struct rs_target *t)
{
	struct rsnl_map m = { .mapped = true };

	if (!t)
		return rsnl_slot_unset(c->nl, index);
	m.client_id = t->client_id;
	m.client_slot = t->client_slot;
	return rsnl_slot_set(c->nl, index, &m);
}

/*
 * Phase two: the old identity's target goes when nothing carries it now.
 * Undoes the kernel's change when that fails for an unmap, whose whole
 * point the file is then; a map leaves a stale line, which nobody uses.
 */
static int drop_old(struct ctl *c, const char *cmd, uint32_t index, const struct rsnl_map *old,
		    const struct rs_target *t, struct rs_targets *ts)
{
	int ret;

	if (!old->mapped || same_id(old, t) ||
	    !rs_targets_find(ts, old->client_id, old->client_slot) ||
	    carried_elsewhere(c, index, old))
		return 0;
	rs_targets_del(ts, old->client_id, old->client_slot);
	ret = save(cmd, ts);
	if (ret && !t && rsnl_slot_set(c->nl, index, old))
		fprintf(stderr, "remsimctl %s: and the slot could not be mapped back: %s\n", cmd,
			rsnl_errmsg(c->nl));
	if (ret && t) {
		fprintf(stderr, "remsimctl %s: warning: client %u slot %u keeps its target\n",
			cmd, old->client_id, old->client_slot);
		ret = 0;
	}
	return ret;
}

static int transact(struct ctl *c, const char *cmd, uint32_t index, const struct rs_target *t)
{
	struct rs_targets ts = { 0 };
	const struct rs_target *was;
	struct rsnl_slot s;
	bool changed = false;
	char err[300];
	int ret;

	ret = rsnl_slot_get(c->nl, index, &s);
	if (ret)
		return refused(c, cmd, ret);
	ret = rs_targets_load(&c->targets, rs_targets_path(), warn_line, (void *)cmd, err,
			      sizeof(err));
	if (ret && ret != -ENOENT)
		return fail(EXIT_REFUSED, cmd, "%s: fix or remove the file", err);
	ret = 0;	/* no file yet: no targets */
	if (rs_targets_copy(&ts, &c->targets))
		return fail(EXIT_REFUSED, cmd, "out of memory");

	/* phase one: this identity's new target (none: the server's choice) */
	was = t ? rs_targets_find(&c->targets, t->client_id, t->client_slot) : NULL;
	if (t && t->has_bank && !(was && rs_target_same(was, t))) {
		ret = rs_targets_put(&ts, t);
		if (ret == -ENOSPC)
			ret = fail(EXIT_REFUSED, cmd, "%s: more than %d targets",
				   rs_targets_path(), RS_TARGETS_MAX);
		else if (ret)
			ret = fail(EXIT_REFUSED, cmd, "out of memory");
		changed = true;
	} else if (t && !t->has_bank && was) {
		rs_targets_del(&ts, t->client_id, t->client_slot);
		changed = true;
	}
	if (!ret && changed)
		ret = save(cmd, &ts);
	if (ret)
		goto out;

	ret = set_label(c, index, t);
	if (ret) {
		int status = refused(c, cmd, ret);

		if (changed && save(cmd, &c->targets))
			fprintf(stderr, "remsimctl %s: the targets file keeps the new target\n",
				cmd);
		ret = status;
		goto out;
	}
	ret = drop_old(c, cmd, index, &s.map, t, &ts);
out:
	if (!ret) {
		rs_targets_free(&c->targets);
		c->targets = ts;
	} else {
		rs_targets_free(&ts);
	}
	return ret;
}

int ctl_map(struct ctl *c, const char *cmd, uint32_t index, const struct rs_target *t)
{
	char err[300];
	int lock, ret;

	lock = rs_targets_lock(rs_targets_path(), err, sizeof(err));
	if (lock < 0)
		return file_refused(cmd, lock, err);
	ret = transact(c, cmd, index, t);
	close(lock);
	return ret;
}
