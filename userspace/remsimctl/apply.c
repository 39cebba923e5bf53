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
 * applied; slots not plugged in are skipped. udev runs "remsimctl apply
 * --slot remsimN" for each slot that appears, so a board comes up mapped.
 * The identity goes to the kernel, a bank target to the targets file
 * (ctl_map()).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remsim/conf.h"
#include "remsimctl.h"

#define DEFAULT_FILE	"/etc/remsim/slots.conf"
#define LINES_MAX	1024
#define WORDS_MAX	12

struct line {
	unsigned int no;
	char name[128];
	struct rs_target map;
};

static int parse(struct conf_file *cf, struct line *lines, unsigned int *n)
{
	const char *path = cf->path;
	unsigned int no, i;
	char why[300], err[300], *buf;
	int ret;

	*n = 0;
	while ((ret = conf_line(cf, &buf, err, sizeof(err))) > 0) {
		char *words[WORDS_MAX + 1], *save, *w;
		int count = 0;

		no = cf->lineno;
		*strchrnul(buf, '#') = 0;
		for (w = strtok_r(buf, " \t\r", &save); w && count <= WORDS_MAX;
		     w = strtok_r(NULL, " \t\r", &save))
			words[count++] = w;
		if (!count)
			continue;
		if (*n == LINES_MAX)
			return fail(EXIT_USAGE, "apply", "%s:%u: more than %d slots", path, no,
				    LINES_MAX);
		if (strlen(words[0]) >= sizeof(lines[0].name))
			return fail(EXIT_USAGE, "apply", "%s:%u: slot name too long", path, no);
		if (count > WORDS_MAX ||
		    rs_target_parse(count - 1, words + 1, &lines[*n].map, why, sizeof(why)))
			return fail(EXIT_USAGE, "apply", "%s:%u: %s: %s", path, no, words[0],
				    count > WORDS_MAX ? "too many words" : why);
		for (i = 0; i < *n; i++)
			if (!strcmp(lines[i].name, words[0]))
				return fail(EXIT_USAGE, "apply", "%s:%u: %s is on line %u already",
					    path, no, words[0], lines[i].no);
		lines[*n].no = no;
		strcpy(lines[*n].name, words[0]);
		(*n)++;
	}
	return ret ? fail(EXIT_USAGE, "apply", "%s", err) : 0;
}

/* The slot's label in the kernel and its target in the file are @want. */
static bool same_map(const struct ctl *c, const struct rsnl_map *m,
		     const struct rs_target *want)
{
	const struct rs_target *t = ctl_target(c, m);

	if (!m->mapped || m->client_id != want->client_id || m->client_slot != want->client_slot)
		return false;
	return want->has_bank ? t && rs_target_same(t, want) : !t;
}

static int apply_line(struct ctl *c, const struct line *l, int only, json_t *out,
		      const char *path)
{
	struct rsnl_slot s;
	int index = slot_resolve(c, l->name), ret;
	bool done = false;

	if (index == -ENOENT || (only >= 0 && index != only))
		return 0;	/* not plugged in (or not the one asked for) */
	if (index < 0)
		return fail(EXIT_USAGE, "apply", "%s:%u: %s: not a slot name", path, l->no,
			    l->name);
	ret = rsnl_slot_get(c->nl, index, &s);
	if (ret == -ENODEV || ret == -ENOENT)
		return 0;	/* gone meanwhile */
	if (ret)
		return refused(c, "apply", ret);
	if (!same_map(c, &s.map, &l->map)) {
		ret = ctl_map(c, "apply", index, &l->map);
		if (ret) {
			fprintf(stderr, "remsimctl apply: %s:%u: %s: not applied\n", path, l->no,
				l->name);
			return ret;
		}
		done = true;
	}
	if (out) {
		json_t *j = json_object();

		json_object_set_new(j, "slot", json_string(s.name));
		json_object_set_new(j, "name", json_string(l->name));
		json_object_set_new(j, "changed", json_boolean(done));
		json_array_append_new(out, j);
	} else {
		printf("%s %s: client %u slot %u%s\n", s.name, l->name, l->map.client_id,
		       l->map.client_slot, done ? "" : " (unchanged)");
	}
	return 0;
}

static int run_apply(struct ctl *c, int argc, char **argv)
{
	static struct line lines[LINES_MAX];
	const char *path = DEFAULT_FILE, *slot = NULL;
	bool check = false, given = false;
	unsigned int n, i;
	int only = -1, ret, status = 0;
	struct conf_file cf;
	char err[300];
	json_t *out;

	for (i = 1; i < (unsigned int)argc; i++) {
		if (!strcmp(argv[i], "--check")) {
			check = true;
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
	ret = parse(&cf, lines, &n);
	conf_close(&cf);
	if (ret || check)
		return ret;
	ret = rsnl_open(&c->nl);
	if (ret)
		return fail(EXIT_REFUSED, "apply", "%s", ret == -ENOENT ?
			    "the remsim module is not loaded (modprobe remsim)" : strerror(-ret));
	if (slot) {
		only = slot_resolve(c, slot);
		if (only == -ENOENT)
			return 0;
		if (only < 0)
			return fail(EXIT_USAGE, "apply", "%s: not a slot name", slot);
	}
	ctl_load_targets(c, "apply");
	out = c->json ? json_array() : NULL;
	for (i = 0; i < n; i++) {
		ret = apply_line(c, &lines[i], only, out, path);
		if (ret && !status)
			status = ret;
	}
	if (out)
		json_out(out);
	return status;
}

const struct cmd cmd_apply = {
	.name = "apply",
	.run = run_apply,
	.usage = "[FILE] [--slot SLOT] [--check]",
	.help = "Maps the slots FILE (default " DEFAULT_FILE ") names: one slot per\n"
		"line, SLOT then the map as for \"map\" (client ID slot N [bank ID slot N\n"
		"via HOST:PORT]); '#' starts a comment. The whole file is checked first\n"
		"(errors name FILE:LINE; nothing is applied); slots not present are\n"
		"skipped, maps already in place left alone. --slot: only that slot (what\n"
		"udev runs on hotplug). --check: only check the file.\n",
	.no_netlink = true,
};
