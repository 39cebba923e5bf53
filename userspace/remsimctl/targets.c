// SPDX-License-Identifier: GPL-2.0
/*
 * A slot's map is two things in two places: its identity label in the
 * kernel (netlink slot-set) and, for setups without remsim-server, the
 * identity's static bank target in the targets file (remsim/targets.h),
 * which the kernel does not keep because it is daemon configuration.
 * ctl_map() changes both or neither, under the file's lock, and checks
 * under it too that no other slot has the identity and that a different
 * map is replaced only when asked to.
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
	uint32_t index, client_id, client_slot;
	int found;
};

static int other_one(const struct rsnl_slot *s, void *arg)
{
	struct other_arg *o = arg;

	if (s->index == o->index || !s->map.mapped || s->map.client_id != o->client_id ||
	    s->map.client_slot != o->client_slot)
		return 0;
	o->found = s->index;
	return 1;
}

int ctl_carrier(struct ctl *c, uint32_t index, uint32_t client_id, uint32_t client_slot)
{
	struct other_arg o = { index, client_id, client_slot, -ENOENT };
	int ret = rsnl_slot_dump(c->nl, other_one, &o, NULL);

	return ret < 0 ? ret : o.found;
}

/* Whether a slot other than @index carries identity @id (when unsure: yes). */
static bool carried_elsewhere(struct ctl *c, uint32_t index, const struct rsnl_map *id)
{
	return ctl_carrier(c, index, id->client_id, id->client_slot) != -ENOENT;
}

void ctl_current(const struct ctl *c, const struct rsnl_map *m, struct ctl_was *was)
{
	const struct rs_target *t = ctl_target(c, m);

	memset(was, 0, sizeof(*was));
	was->mapped = m->mapped;
	if (t) {
		was->map = *t;
	} else {
		was->map.client_id = m->client_id;
		was->map.client_slot = m->client_slot;
	}
}

/*
 * Whether slot @s may take @t: no other slot has its identity, and a
 * different map of its own goes only with CTL_MAP_FORCE. 0, or the exit
 * status, said.
 */
static int may_map(struct ctl *c, const char *cmd, const struct rsnl_slot *s,
		   const struct rs_target *t, unsigned int flags, const struct ctl_was *now)
{
	char text[REMSIM_MAP_HOST_MAX + 96];
	int other;

	other = ctl_carrier(c, s->index, t->client_id, t->client_slot);
	if (other >= 0)
		return fail(EXIT_REFUSED, cmd, "client %u slot %u is remsim%d's already, so not "
			    "%s's too: one identity, one slot (unmap remsim%d first)",
			    t->client_id, t->client_slot, other, s->name, other);
	if (other != -ENOENT)
		return refused(c, cmd, other);
	if (!now->mapped || rs_target_same(&now->map, t) || (flags & CTL_MAP_FORCE))
		return 0;
	rs_target_format(&now->map, text, sizeof(text));
	return fail(EXIT_REFUSED, cmd, "%s is mapped to %s now; --force replaces it", s->name,
		    text);
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

static int transact(struct ctl *c, const char *cmd, uint32_t index, const struct rs_target *t,
		    unsigned int flags, struct ctl_was *before)
{
	struct ctl_was now;
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
	ctl_current(c, &s.map, &now);
	if (before)
		*before = now;
	if (t) {
		ret = may_map(c, cmd, &s, t, flags, &now);
		if (ret)
			return ret;
	}
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

int ctl_map(struct ctl *c, const char *cmd, uint32_t index, const struct rs_target *t,
	    unsigned int flags, struct ctl_was *was)
{
	char err[300];
	int lock, ret;

	lock = rs_targets_lock(rs_targets_path(), err, sizeof(err));
	if (lock < 0)
		return file_refused(cmd, lock, err);
	ret = transact(c, cmd, index, t, flags, was);
	close(lock);
	return ret;
}

int ctl_prune_targets(struct ctl *c, const char *cmd,
		      bool (*keep)(const struct rs_target *t, void *arg), void *arg)
{
	struct rs_targets ts = { 0 };
	char err[300];
	size_t i;
	int lock, ret;

	lock = rs_targets_lock(rs_targets_path(), err, sizeof(err));
	if (lock < 0)
		return file_refused(cmd, lock, err);
	ret = rs_targets_load(&ts, rs_targets_path(), warn_line, (void *)cmd, err, sizeof(err));
	if (ret == -ENOENT) {
		ret = 0;	/* no file: nothing to drop */
		goto out;
	}
	if (ret) {
		ret = fail(EXIT_REFUSED, cmd, "%s: fix or remove the file", err);
		goto out;
	}
	for (i = ts.n; i-- > 0;) {
		struct rs_target t = ts.v[i];

		if (keep(&t, arg))
			continue;
		rs_targets_del(&ts, t.client_id, t.client_slot);
		printf("dropped the target of client %u slot %u: no slot has it\n", t.client_id,
		       t.client_slot);
		ret = 1;
	}
	ret = ret ? save(cmd, &ts) : 0;
out:
	rs_targets_free(&ts);
	close(lock);
	return ret;
}
