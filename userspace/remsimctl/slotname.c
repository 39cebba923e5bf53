// SPDX-License-Identifier: GPL-2.0
/*
 * What a SLOT argument names. Kernel indices are handed out in plug order,
 * and USB bus numbers in the order the host controllers were probed, so
 * racks name slots by where the board is: udev's ID_PATH of the slot's USB
 * interface ("pci-0000:00:14.0-usb-0:1.2:1.0", the udev rules'
 * /dev/remsim/by-path/ links), or the board's serial number and the
 * interface (/dev/remsim/by-id/SERIAL-if0). The older by-path form, the
 * bus number's port path and the interface ("1-1.2-if0"), still names a
 * slot: it is an alias, stable only while the controllers probe in the
 * same order.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "remsim/idpath.h"
#include "remsimctl.h"


int slot_arg(struct ctl *c, const char *cmd, const char *arg)
{
	int index = slot_resolve(c, arg);

	c->slot_given = arg;
	if (index == -EINVAL)
		return fail(-EXIT_USAGE, cmd, "%s: not a slot name", arg);
	if (index < 0)
		return fail(-EXIT_REFUSED, cmd, "no such slot (%s)", arg);
	return index;
}

void slot_usb_name(const struct rsnl_slot *s, char *buf, size_t size)
{
	size_t dev = strcspn(s->bus_path, ":");

	buf[0] = 0;
	if (s->backend == REMSIM_BACKEND_USB && s->bus_path[dev])
		snprintf(buf, size, "%.*s-if%u", (int)dev, s->bus_path, s->interface);
}

/* The first line of @dir/@attr into @buf, or "". */
static void read_attr(const char *dir, const char *attr, char *buf, size_t size)
{
	char path[PATH_MAX + 16];
	FILE *f;

	buf[0] = 0;
	snprintf(path, sizeof(path), "%s/%s", dir, attr);
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(buf, size, f))
		buf[strcspn(buf, "\n")] = 0;
	else
		buf[0] = 0;
	fclose(f);
}

void slot_sysfs(const struct rsnl_slot *s, struct slot_place *p)
{
	char link[PATH_MAX], dev[PATH_MAX], *slash;

	p->id_path[0] = p->serial[0] = 0;
	if (s->backend != REMSIM_BACKEND_USB || !s->name[0])
		return;
	snprintf(link, sizeof(link), "/sys/class/remsim/%s/device", s->name);
	if (!realpath(link, dev) || strncmp(dev, RS_SYSFS_DEVICES "/", strlen(RS_SYSFS_DEVICES) + 1))
		return;
	/* the interface's parent is the board's USB device, which has the serial */
	slash = strrchr(dev, '/');
	*slash = 0;
	read_attr(dev, "serial", p->serial, sizeof(p->serial));
	*slash = '/';
	rs_id_path(dev, p->id_path, sizeof(p->id_path));
}

void slot_stable_name(const struct rsnl_slot *s, char *buf, size_t size)
{
	struct slot_place p;

	slot_sysfs(s, &p);
	snprintf(buf, size, "%s", p.id_path);
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

int slot_name_check(const char *arg)
{
	if (!arg[0])
		return -EINVAL;
	if (number(arg) >= 0 || arg[0] == '/')
		return 0;
	if (!strncmp(arg, "remsim", 6) && number(arg + 6) >= 0)
		return 0;
	if (!strncmp(arg, "by-path/", 8))
		arg += 8;
	else if (!strncmp(arg, "by-id/", 6))
		arg += 6;
	/* a stable name has a dash and no slash: "by-pth/..." is a typo */
	return arg[0] && strchr(arg, '-') && !strchr(arg, '/') ? 0 : -EINVAL;
}

struct by_name {
	const char *name;
	bool by_id;
	int index;
};

static bool names_slot(const struct rsnl_slot *s, const char *name, bool by_id)
{
	char buf[SLOT_PATH_MAX + 16];
	struct slot_place p;

	if (s->backend != REMSIM_BACKEND_USB)
		return false;
	slot_sysfs(s, &p);
	if (by_id) {
		snprintf(buf, sizeof(buf), "%s-if%u", p.serial, s->interface);
		return p.serial[0] && !strcmp(buf, name);
	}
	slot_usb_name(s, buf, sizeof(buf));
	return (p.id_path[0] && !strcmp(p.id_path, name)) || (buf[0] && !strcmp(buf, name));
}

static int match_stable(const struct rsnl_slot *s, void *arg)
{
	struct by_name *b = arg;

	if (!names_slot(s, b->name, b->by_id))
		return 0;
	b->index = s->index;
	return 1;
}

int slot_resolve(struct ctl *c, const char *arg)
{
	struct by_name b = { .index = -ENOENT };
	char link[PATH_MAX];
	long n = number(arg);

	if (slot_name_check(arg))
		return -EINVAL;
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
		b.by_id = arg[3] == 'i';
		arg = strchr(arg, '/') + 1;
	}
	/* a stable name: the kernel's slots and sysfs, then udev's links */
	b.name = arg;
	if (c->nl && rsnl_slot_dump(c->nl, match_stable, &b, NULL) == 1)
		return b.index;
	snprintf(link, sizeof(link), "/dev/remsim/by-path/%s", arg);
	if (!b.by_id && !access(link, F_OK))
		return from_node(link);
	snprintf(link, sizeof(link), "/dev/remsim/by-id/%s", arg);
	if (!access(link, F_OK))
		return from_node(link);
	return -ENOENT;
}
