// SPDX-License-Identifier: GPL-2.0
/*
 * Card-emulation interfaces from sysfs. An interface directory is named
 * "BUS-PORTS:CONFIG.IFNUM" next to its device "BUS-PORTS"; the attributes
 * are text, hex for the descriptor fields and decimal for busnum/devnum.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "st2_proto.h"
#include "usbscan.h"

static const uint16_t st2_pids[] = {
	ST2_PID_SIMTRACE2, ST2_PID_QMOD, ST2_PID_OWHW, ST2_PID_OCTSIMTEST, ST2_PID_NGFF,
};

void usb_filter_default(struct usb_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->vid = f->pid = f->config = f->ifnum = f->addr = -1;
}

bool usb_filter_match(const struct usb_filter *f, const struct usb_cardem *c)
{
	if (f->vid < 0 && f->pid < 0) {
		bool known = false;
		unsigned int i;

		for (i = 0; i < sizeof(st2_pids) / sizeof(st2_pids[0]); i++)
			known |= c->vid == ST2_VENDOR && c->pid == st2_pids[i];
		if (!known)
			return false;
	}
	if (f->vid >= 0 && c->vid != f->vid)
		return false;
	if (f->pid >= 0 && c->pid != f->pid)
		return false;
	if (f->ifnum >= 0 && c->ifnum != (unsigned int)f->ifnum)
		return false;
	if (f->addr >= 0 && c->devnum != (unsigned int)f->addr)
		return false;
	if (f->path[0] && strcmp(f->path, c->path))
		return false;
	return true;
}

/* One attribute: 0 and its value in @base, or -1 (absent, not a number). */
static int attr_num(const char *root, const char *dir, const char *attr, int base,
		    unsigned long *v)
{
	char path[PATH_MAX], buf[32], *end;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", root, dir, attr);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	errno = 0;
	*v = strtoul(buf, &end, base);
	if (errno || end == buf || (*end && *end != '\n'))
		return -1;
	return 0;
}

static void driver_of(const char *root, const char *dir, char *out, size_t size)
{
	char path[PATH_MAX], target[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s/driver", root, dir);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0) {
		out[0] = 0;
		return;
	}
	target[n] = 0;
	/* a driver's name is short; a longer one is cut, still non-empty */
	snprintf(out, size, "%.*s", (int)size - 1,
		 strrchr(target, '/') ? strrchr(target, '/') + 1 : target);
}

/* An interface directory's card-emulation description: 0, or -1 if it is none. */
static int describe(const char *root, const char *name, struct usb_cardem *c)
{
	const char *colon = strchr(name, ':');
	unsigned long cls, sub, proto, ifnum, v;
	char dev[32];

	if (!colon || colon == name || (size_t)(colon - name) >= sizeof(dev) ||
	    strlen(name) >= sizeof(c->name))
		return -1;
	if (attr_num(root, name, "bInterfaceClass", 16, &cls) || cls != ST2_CLASS ||
	    attr_num(root, name, "bInterfaceSubClass", 16, &sub) || sub != ST2_SUBCLASS_CARDEM ||
	    attr_num(root, name, "bInterfaceProtocol", 16, &proto) || proto != 0 ||
	    attr_num(root, name, "bInterfaceNumber", 16, &ifnum))
		return -1;
	memset(c, 0, sizeof(*c));
	snprintf(dev, sizeof(dev), "%.*s", (int)(colon - name), name);
	snprintf(c->name, sizeof(c->name), "%s", name);
	snprintf(c->path, sizeof(c->path), "%s", dev);
	c->ifnum = ifnum;
	if (attr_num(root, dev, "idVendor", 16, &v))
		return -1;
	c->vid = v;
	if (attr_num(root, dev, "idProduct", 16, &v))
		return -1;
	c->pid = v;
	if (attr_num(root, dev, "busnum", 10, &v))
		return -1;
	c->busnum = v;
	if (attr_num(root, dev, "devnum", 10, &v))
		return -1;
	c->devnum = v;
	if (!attr_num(root, dev, "bConfigurationValue", 10, &v))
		c->config = v;
	driver_of(root, name, c->driver, sizeof(c->driver));
	return 0;
}

int usbscan(const char *root, int (*fn)(const struct usb_cardem *c, void *arg), void *arg)
{
	struct dirent **names;
	int n, i, ret = 0;

	/* sorted: the same order on every scan */
	n = scandir(root, &names, NULL, alphasort);
	if (n < 0)
		return -errno;
	for (i = 0; i < n; i++) {
		struct usb_cardem c;

		if (!ret && !describe(root, names[i]->d_name, &c))
			ret = fn(&c, arg);
		free(names[i]);
	}
	free(names);
	return ret;
}
