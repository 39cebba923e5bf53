// SPDX-License-Identifier: GPL-2.0
/*
 * remsimctl apply: the rack's mapping file, /etc/remsim/slots.conf. One
 * slot per line, named the way that survives a replug, then the map:
 *
 *	# SLOT                 map
 *	by-path/1-1.2-if0      client 23 slot 0
 *	by-id/0123abcd-if1     client 24 slot 0 bank 1 slot 5 via 10.0.0.7:9999
 *
 * The file is read with conf_line(), under its limits (4096 bytes a line,
 * 1 MiB, no NUL byte). The whole file is checked before anything is
 * applied, and every error in it is said (the first ERRORS_SHOWN, then
 * their count): a bad line, a name that is no slot name, one slot or one
 * identity on two lines, an identity a slot keeps that the file gives to
 * another. Slots not plugged in are skipped, and said to be. udev runs
 * "remsimctl apply --slot remsimN" for each slot that appears, so a board
 * comes up mapped. The identity goes to the kernel, a bank target to the
 * targets file (ctl_map()). --sync also unmaps the slots the file does
 * not list, as "wg syncconf" drops peers, and drops the targets file's
 * lines of identities that neither a slot nor the file has any more.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remsim/conf.h"
#include "remsimctl.h"

#define DEFAULT_FILE	"/etc/remsim/slots.conf"
#define LINES_MAX	1024
#define WORDS_MAX	12
/* Errors said one by one; the others are counted in one line. */
#define ERRORS_SHOWN	20
/* Slots of the host apply looks at: far more than a rack's host has. */
#define SLOTS_MAX	4096

struct line {
	unsigned int no;
	char name[128];
	struct rs_target map;
	int index;		/* the slot now, -ENOENT: not plugged in */
};

struct slot_now {
	uint32_t index;
	struct ctl_was now;	/* its map */
	struct line *line;	/* the line that names it, if any */
	bool touched;		/* --slot: the one asked for, else all */
	bool unmap;		/* --sync: mapped, and the file does not list it */
};

struct apply {
	struct ctl *c;
	const char *path;
	unsigned int errors;
	struct line *lines;
	unsigned int n;
	struct slot_now *slots;
	unsigned int nslots;
	bool slots_full;
};

/* "remsimctl apply: FILE:LINE: ..." for the first ERRORS_SHOWN errors; -1. */
static int __attribute__((format(printf, 3, 4)))
error(struct apply *a, unsigned int no, const char *fmt, ...)
{
	va_list ap;

	if (a->errors++ >= ERRORS_SHOWN)
		return -1;
	if (no)
		fprintf(stderr, "remsimctl apply: %s:%u: ", a->path, no);
	else
		fprintf(stderr, "remsimctl apply: %s: ", a->path);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

/* The verdict on a file with errors: nothing was applied. */
static int errors_said(struct apply *a)
{
	if (a->errors > ERRORS_SHOWN)
		fprintf(stderr, "remsimctl apply: %s: %u more errors not shown\n", a->path,
			a->errors - ERRORS_SHOWN);
	fprintf(stderr, "remsimctl apply: %s: %u error%s, nothing applied\n", a->path,
		a->errors, a->errors == 1 ? "" : "s");
	return EXIT_USAGE;
}

/* One line's words: checked, and kept in a->lines unless bad (-1). */
static int parse_words(struct apply *a, unsigned int no, char **words, int count)
{
	struct line *l = &a->lines[a->n];
	char why[300];
	unsigned int i;

	if (strlen(words[0]) >= sizeof(l->name))
		return error(a, no, "slot name too long");
	if (slot_name_check(words[0]))
		return error(a, no, "%s: not a slot name", words[0]);
	if (count > WORDS_MAX || rs_target_parse(count - 1, words + 1, &l->map, why, sizeof(why)))
		return error(a, no, "%s: %s", words[0], count > WORDS_MAX ? "too many words" : why);
	for (i = 0; i < a->n; i++) {
		const struct line *o = &a->lines[i];

		if (!strcmp(o->name, words[0]))
			return error(a, no, "%s is on line %u already", words[0], o->no);
		if (o->map.client_id == l->map.client_id &&
		    o->map.client_slot == l->map.client_slot)
			return error(a, no, "%s: client %u slot %u is %s's on line %u already: "
				     "one identity, one slot", words[0], l->map.client_id,
				     l->map.client_slot, o->name, o->no);
	}
	l->no = no;
	strcpy(l->name, words[0]);
	a->n++;
	return 0;
}

static int parse(struct apply *a, struct conf_file *cf)
{
	char err[300], *buf;
	bool full = false;
	int ret;

	a->n = 0;
	while ((ret = conf_line(cf, &buf, err, sizeof(err))) > 0) {
		char *words[WORDS_MAX + 1], *save, *w;
		int count = 0;

		*strchrnul(buf, '#') = 0;
		for (w = strtok_r(buf, " \t\r", &save); w && count <= WORDS_MAX;
		     w = strtok_r(NULL, " \t\r", &save))
			words[count++] = w;
		if (!count)
			continue;
		if (a->n == LINES_MAX) {
			/* said once: the lines after it are not looked at */
			if (!full)
				error(a, cf->lineno, "more than %d slots", LINES_MAX);
			full = true;
			continue;
		}
		parse_words(a, cf->lineno, words, count);
	}
	if (ret) {
		a->errors++;
		fprintf(stderr, "remsimctl apply: %s\n", err);
	}
	return a->errors ? errors_said(a) : 0;
}

static int collect(const struct rsnl_slot *s, void *arg)
{
	struct apply *a = arg;
	struct slot_now *n;

	if (a->nslots == SLOTS_MAX) {
		a->slots_full = true;
		return 1;
	}
	n = &a->slots[a->nslots++];
	memset(n, 0, sizeof(*n));
	n->index = s->index;
	ctl_current(a->c, &s->map, &n->now);
	return 0;
}

static struct slot_now *slot_of(struct apply *a, int index)
{
	unsigned int i;

	for (i = 0; i < a->nslots; i++)
		if ((int)a->slots[i].index == index)
			return &a->slots[i];
	return NULL;
}

/* The map slot @n is to have: its line's, none (--sync), or its own. */
static const struct rs_target *wanted(const struct slot_now *n)
{
	if (n->line)
		return &n->line->map;
	if (n->unmap || !n->now.mapped)
		return NULL;
	return &n->now.map;
}

/*
 * Which slot each line names now, and whether the end state has one
 * identity on two slots: errors, before anything is changed.
 */
static void resolve(struct apply *a, int only, bool sync, bool quiet)
{
	unsigned int i, k;

	for (i = 0; i < a->n; i++) {
		struct line *l = &a->lines[i];
		struct slot_now *n;

		l->index = slot_resolve(a->c, l->name);
		n = l->index >= 0 ? slot_of(a, l->index) : NULL;
		if (!n) {
			l->index = -ENOENT;
			/* udev asks for one slot: the others' absence is no news */
			if (!quiet)
				fprintf(stderr, "remsimctl apply: %s:%u: no such slot (%s) now, "
					"skipped\n", a->path, l->no, l->name);
			continue;
		}
		if (only >= 0 && l->index != only)
			continue;
		if (n->line) {
			error(a, l->no, "%s is remsim%d, which line %u names already (%s)",
			      l->name, l->index, n->line->no, n->line->name);
			continue;
		}
		n->line = l;
	}
	for (i = 0; i < a->nslots; i++) {
		struct slot_now *n = &a->slots[i];

		n->touched = only < 0 || (int)n->index == only;
		n->unmap = sync && n->touched && !n->line && n->now.mapped;
	}
	for (i = 0; i < a->nslots; i++) {
		const struct rs_target *w = wanted(&a->slots[i]);

		if (!w || !a->slots[i].line)
			continue;
		for (k = 0; k < a->nslots; k++) {
			const struct rs_target *o = wanted(&a->slots[k]);

			if (k == i || !o || o->client_id != w->client_id ||
			    o->client_slot != w->client_slot)
				continue;
			error(a, a->slots[i].line->no, "%s: client %u slot %u is remsim%u's, "
			      "which keeps it, so not remsim%u's too: one identity, one slot "
			      "(--sync unmaps the slots the file does not list)",
			      a->slots[i].line->name, w->client_id, w->client_slot,
			      a->slots[k].index, a->slots[i].index);
		}
	}
}

static void report(struct apply *a, json_t *out, const struct slot_now *n, bool done)
{
	const struct line *l = n->line;

	if (out) {
		json_t *j = json_object();

		json_object_set_new(j, "slot", json_sprintf("remsim%u", n->index));
		json_object_set_new(j, "name", l ? json_string(l->name) : json_null());
		json_object_set_new(j, "changed", json_boolean(done));
		json_object_set_new(j, "map", l ? map_json(&l->map) : json_null());
		json_array_append_new(out, j);
	} else if (l) {
		printf("remsim%u %s: client %u slot %u%s\n", n->index, l->name,
		       l->map.client_id, l->map.client_slot, done ? "" : " (unchanged)");
	} else {
		printf("remsim%u: unmapped (not in %s)\n", n->index, a->path);
	}
}

/*
 * Whether slot @n has to let its identity go first: another slot is to
 * have it. The end state has each identity once, so after these unmaps
 * no change ever puts an identity on two slots, not even for a moment.
 */
static bool frees_identity(struct apply *a, const struct slot_now *n)
{
	unsigned int i;

	if (!n->now.mapped || !n->touched)
		return false;
	for (i = 0; i < a->nslots; i++) {
		const struct line *l = a->slots[i].line;

		if (&a->slots[i] != n && l && l->map.client_id == n->now.map.client_id &&
		    l->map.client_slot == n->now.map.client_slot)
			return true;
	}
	return false;
}

/* Changes what differs; the first failure's status, the rest still tried. */
static int change(struct apply *a, json_t *out)
{
	int status = 0, ret;
	unsigned int i;

	for (i = 0; i < a->nslots; i++) {
		struct slot_now *n = &a->slots[i];

		if (!n->unmap && !frees_identity(a, n))
			continue;
		ret = ctl_map(a->c, "apply", n->index, NULL, 0, NULL);
		if (!ret)
			n->now.mapped = false;
		if (!ret && n->unmap)
			report(a, out, n, true);
		if (ret && !status)
			status = ret;
	}
	for (i = 0; i < a->nslots; i++) {
		struct slot_now *n = &a->slots[i];
		bool same;

		if (!n->line)
			continue;
		same = n->now.mapped && rs_target_same(&n->now.map, &n->line->map);
		ret = same ? 0 : ctl_map(a->c, "apply", n->index, &n->line->map, CTL_MAP_FORCE,
					 NULL);
		if (ret) {
			fprintf(stderr, "remsimctl apply: %s:%u: %s: not applied\n", a->path,
				n->line->no, n->line->name);
			if (!status)
				status = ret;
			continue;
		}
		report(a, out, n, !same);
	}
	return status;
}

/* Whether the file or a slot still has identity @t's: its target stays. */
static bool still_used(const struct rs_target *t, void *arg)
{
	struct apply *a = arg;
	unsigned int i;

	for (i = 0; i < a->n; i++)
		if (a->lines[i].map.client_id == t->client_id &&
		    a->lines[i].map.client_slot == t->client_slot)
			return true;
	for (i = 0; i < a->nslots; i++)
		if (a->slots[i].now.mapped && a->slots[i].now.map.client_id == t->client_id &&
		    a->slots[i].now.map.client_slot == t->client_slot)
			return true;
	return false;
}

static int apply_file(struct apply *a, const char *slot, bool sync)
{
	json_t *out;
	int only = -1, ret;

	ret = rsnl_open(&a->c->nl);
	if (ret)
		return fail(EXIT_REFUSED, "apply", "%s", ret == -ENOENT ?
			    "the remsim module is not loaded (modprobe remsim)" : strerror(-ret));
	if (slot) {
		only = slot_resolve(a->c, slot);
		if (only == -ENOENT)
			return 0;
		if (only < 0)
			return fail(EXIT_USAGE, "apply", "%s: not a slot name", slot);
	}
	ctl_load_targets(a->c, "apply");
	a->slots = calloc(SLOTS_MAX, sizeof(*a->slots));
	if (!a->slots)
		return fail(EXIT_REFUSED, "apply", "out of memory");
	ret = rsnl_slot_dump(a->c->nl, collect, a, NULL);
	if (ret < 0)
		return refused(a->c, "apply", ret);
	if (a->slots_full)
		return fail(EXIT_REFUSED, "apply", "more than %d slots on this host", SLOTS_MAX);
	resolve(a, only, sync, slot != NULL);
	if (a->errors)
		return errors_said(a);
	out = a->c->json ? json_array() : NULL;
	ret = change(a, out);
	if (out)
		json_out(out);
	if (ret || !sync)
		return ret;
	/* the slots as they are now, for still_used() */
	a->nslots = 0;
	ret = rsnl_slot_dump(a->c->nl, collect, a, NULL);
	if (ret < 0 || a->slots_full)
		return ret < 0 ? refused(a->c, "apply", ret) : EXIT_REFUSED;
	return ctl_prune_targets(a->c, "apply", still_used, a);
	return ret;
}

static int run_apply(struct ctl *c, int argc, char **argv)
{
	static struct line lines[LINES_MAX];
	const char *path = DEFAULT_FILE, *slot = NULL;
	bool check = false, given = false, sync = false;
	struct apply a = { .c = c, .lines = lines };
	struct conf_file cf;
	unsigned int i;
	char err[300];
	int ret;

	for (i = 1; i < (unsigned int)argc; i++) {
		if (!strcmp(argv[i], "--check")) {
			check = true;
		} else if (!strcmp(argv[i], "--sync")) {
			sync = true;
		} else if (!strcmp(argv[i], "--slot") && i + 1 < (unsigned int)argc) {
			slot = argv[++i];
		} else if (argv[i][0] != '-' && !given) {
			path = argv[i];
			given = true;
		} else {
			return usage_of(&cmd_apply);
		}
	}
	ret = conf_open(&cf, path, err, sizeof(err));
	if (ret) {
		/* udev runs us for every slot: no file is nothing to do */
		if (ret == -ENOENT && !given)
			return 0;
		return fail(EXIT_USAGE, "apply", "%s", err);
	}
	a.path = path;
	ret = parse(&a, &cf);
	conf_close(&cf);
	if (ret || check)
		return ret;
	ret = apply_file(&a, slot, sync);
	free(a.slots);
	return ret;
}

const struct cmd cmd_apply = {
	.name = "apply",
	.run = run_apply,
	.usage = "[FILE] [--slot SLOT] [--sync] [--check]",
	.help = "Maps the slots FILE (default " DEFAULT_FILE ") names: one slot per\n"
		"line, SLOT then the map as for \"map\" (client ID slot N [bank ID slot N\n"
		"via HOST:PORT]); '#' starts a comment. The whole file is checked first,\n"
		"every error said (FILE:LINE), and nothing is applied if there is one:\n"
		"a bad line or slot name, a slot or an identity on two lines, an\n"
		"identity that a slot the file does not list keeps. Slots not present\n"
		"are skipped (said on stderr), maps already in place left alone, other\n"
		"maps replaced. --sync: also unmap the slots the file does not list, and\n"
		"drop the targets of identities nobody has any more. --slot: only that\n"
		"slot (what udev runs on hotplug). --check: only check the file.\n",
	.no_netlink = true,
};
