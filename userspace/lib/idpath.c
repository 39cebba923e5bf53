// SPDX-License-Identifier: GPL-2.0
/*
 * udev's ID_PATH of a device, from sysfs alone: remsimctl names slots by
 * it, and remsim-client tells the server the name of the slot it serves
 * (remsim/idpath.h).
 */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "remsim/idpath.h"

/* @src into @buf whole, or "" where it does not fit: never a cut name. */
static void copy(char *buf, size_t size, const char *src)
{
	size_t len = strlen(src);

	if (len >= size)
		len = 0;
	memcpy(buf, src, len);
	buf[len] = 0;
}

/* The last component of @dir's "subsystem" link ("usb", "pci"), or "". */
static void subsystem(const char *dir, char *buf, size_t size)
{
	char link[PATH_MAX + 16], target[PATH_MAX];
	ssize_t n;

	buf[0] = 0;
	snprintf(link, sizeof(link), "%s/subsystem", dir);
	n = readlink(link, target, sizeof(target) - 1);
	if (n <= 0)
		return;
	target[n] = 0;
	copy(buf, size, strrchr(target, '/') ? strrchr(target, '/') + 1 : target);
}

/*
 * "@part-@path" into @path (or just @part when @path is empty); false when
 * it does not fit.
 */
static bool prepend(char *path, size_t size, const char *part)
{
	size_t len = strlen(path), plen = strlen(part), sep = len ? 1 : 0;

	if (plen + sep + len >= size)
		return false;
	memmove(path + plen + sep, path, len + 1);
	memcpy(path, part, plen);
	if (sep)
		path[plen] = '-';
	return true;
}

/*
 * The ID_PATH that udev's path_id gives the device at @dir (a sysfs path
 * under /sys/devices), for the parents a USB slot has: the USB interface
 * as "usb-0:" and its name without the bus number, the controller as its
 * closest PCI or platform device. Others add nothing, as in path_id.
 * Consecutive parents of one subsystem count once: the interface's hubs,
 * the controller's bridges. "" when no PCI or platform parent was found:
 * udev then gives no ID_PATH either.
 */
static void id_path(char *dir, char *out, size_t size)
{
	char sub[32], last[32] = "", part[RS_ID_PATH_MAX];
	bool parent = false;
	char *slash;

	out[0] = 0;
	while (strlen(dir) > strlen(RS_SYSFS_DEVICES) && (slash = strrchr(dir, '/'))) {
		const char *name = slash + 1, *port;

		subsystem(dir, sub, sizeof(sub));
		if (!sub[0] || !strcmp(sub, last)) {
			*slash = 0;
			continue;
		}
		part[0] = 0;
		if (!strcmp(sub, "usb") && (port = strchr(name, '-'))) {
			copy(part + 6, sizeof(part) - 6, port + 1);
			memcpy(part, "usb-0:", 6);
		} else if (!strcmp(sub, "pci") || !strcmp(sub, "platform")) {
			copy(part + strlen(sub) + 1, sizeof(part) - strlen(sub) - 1, name);
			memcpy(part, sub, strlen(sub));
			part[strlen(sub)] = '-';
			parent = true;
		}
		if (part[0] && !prepend(out, size, part)) {
			out[0] = 0;	/* too long for a name: none */
			return;
		}
		snprintf(last, sizeof(last), "%s", sub);
		*slash = 0;
	}
	if (!parent)
		out[0] = 0;
}

void rs_id_path(const char *dev, char *out, size_t size)
{
	char dir[PATH_MAX];

	out[0] = 0;
	if (!realpath(dev, dir) ||
	    strncmp(dir, RS_SYSFS_DEVICES "/", strlen(RS_SYSFS_DEVICES) + 1))
		return;
	id_path(dir, out, size);
}
