// SPDX-License-Identifier: GPL-2.0
/*
 * What a SLOT argument names. Kernel indices are handed out in plug order,
 * so racks name slots by where the board is: the USB port path and the
 * interface ("1-1.2-if0", the udev rules' /dev/remsim/by-path/ links) or
 * the board's serial number (/dev/remsim/by-id/).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "remsimctl.h"

int slot_arg(struct ctl *c, const char *cmd, const char *arg)
{
	int index = slot_resolve(c, arg);

	if (index == -EINVAL)
		return fail(-EXIT_USAGE, cmd, "%s: not a slot name", arg);
	if (index < 0)
		return fail(-EXIT_REFUSED, cmd, "%s: no such slot", arg);
	return index;
}

void slot_stable_name(const struct rsnl_slot *s, char *buf, size_t size)
{
	size_t dev = strcspn(s->bus_path, ":");

	buf[0] = 0;
	if (s->backend == REMSIM_BACKEND_USB && s->bus_path[dev])
		snprintf(buf, size, "%.*s-if%u", (int)dev, s->bus_path, s->interface);
}

/* A decimal number and nothing else; -1 if not. */
static long number(const char *s)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	return errno || *end || v > INT_MAX ? -1 : v;
}

/* /dev/remsimN or a link to it: N from the node's name after links. */
static int from_node(const char *path)
{
	char real[PATH_MAX];
	const char *base;
	long n;

	if (!realpath(path, real))
		return -ENOENT;
	base = strrchr(real, '/') ? strrchr(real, '/') + 1 : real;
	if (strncmp(base, "remsim", 6))
		return -EINVAL;
	n = number(base + 6);
	return n < 0 ? -EINVAL : (int)n;
}

struct by_name {
	const char *name;
	int index;
};

static int match_stable(const struct rsnl_slot *s, void *arg)
{
	struct by_name *b = arg;
	char name[96];

	slot_stable_name(s, name, sizeof(name));
	if (name[0] && !strcmp(name, b->name)) {
		b->index = s->index;
		return 1;
	}
	return 0;
}

int slot_resolve(struct ctl *c, const char *arg)
{
	struct by_name b = { .index = -ENOENT };
	char link[PATH_MAX];
	long n = number(arg);

	if (n >= 0)
		return n;
	if (!strncmp(arg, "remsim", 6) && number(arg + 6) >= 0)
		return number(arg + 6);
	if (arg[0] == '/')
		return from_node(arg);
	if (!strncmp(arg, "by-path/", 8) || !strncmp(arg, "by-id/", 6)) {
		snprintf(link, sizeof(link), "/dev/remsim/%s", arg);
		if (!access(link, F_OK))
			return from_node(link);
		if (!strncmp(arg, "by-id/", 6))
			return -ENOENT;
		arg += 8;
	}
	/* a stable name: the kernel's bus paths, then udev's links */
	b.name = arg;
	if (c->nl && rsnl_slot_dump(c->nl, match_stable, &b, NULL) == 1)
		return b.index;
	snprintf(link, sizeof(link), "/dev/remsim/by-path/%s", arg);
	if (!access(link, F_OK))
		return from_node(link);
	snprintf(link, sizeof(link), "/dev/remsim/by-id/%s", arg);
	if (!access(link, F_OK))
		return from_node(link);
	return strchr(arg, '-') ? -ENOENT : -EINVAL;
}
