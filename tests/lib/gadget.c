// SPDX-License-Identifier: GPL-2.0
/*
 * gadget.c - see gadget.h. Descriptors after the SIMtrace2 cardem firmware:
 * class ff/02/00 per slot with its "CardEmulator Modem N" string, the DFU
 * runtime interface (fe/01/01) last; full-speed and high-speed sets, since
 * dummy_hcd runs at high speed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/usb/ch9.h>
#include <linux/usb/functionfs.h>

#include "gadget.h"
#include "slotdev.h"

#define CONFIGFS	"/sys/kernel/config/usb_gadget"

static const struct gadget_product products[] = {
	{ "simtrace2", 0x60e3, "SIMtrace 2", 1 },
	{ "qmod", 0x4004, "sysmoQMOD (Quad Modem)", 2 },
	{ "owhw", 0x4001, "OWHW", 2 },
	{ "octsimtest", 0x616d, "sysmoOCTSIM-Tester", 1 },
	{ "ngff", 0x616e, "ngff-cardem", 1 },
};

const struct gadget_product *gadget_product(const char *id)
{
	for (size_t i = 0; i < sizeof(products) / sizeof(products[0]); i++)
		if (!strcmp(products[i].id, id))
			return &products[i];
	return NULL;
}

static int put(const char *dir, const char *file, const char *value)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return write_file(path, value);
}

static int mkdirs(const char *dir, const char *sub)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	return mkdir(path, 0755) && errno != EEXIST ? -errno : 0;
}

/* Descriptors are little-endian; glibc's htole16 is no constant expression. */
#define LE16(x)	((uint16_t)(x))
#define LE32(x)	((uint32_t)(x))

struct slot_descs {
	struct usb_interface_descriptor		intf;
	struct usb_endpoint_descriptor_no_audio	out, in, irq;
} __attribute__((packed));

struct speed_descs {
	struct slot_descs			slot[GADGET_SLOTS_MAX];
	struct usb_interface_descriptor		dfu;
} __attribute__((packed));

static void fill_slot(struct slot_descs *d, unsigned int i, uint16_t bulk, uint8_t interval)
{
	d->intf = (struct usb_interface_descriptor){
		.bLength = sizeof(d->intf), .bDescriptorType = USB_DT_INTERFACE,
		.bInterfaceNumber = i, .bNumEndpoints = 3,
		.bInterfaceClass = 0xff, .bInterfaceSubClass = 0x02, .bInterfaceProtocol = 0x00,
		.iInterface = i + 1,
	};
	d->out = (struct usb_endpoint_descriptor_no_audio){
		.bLength = USB_DT_ENDPOINT_SIZE, .bDescriptorType = USB_DT_ENDPOINT,
		.bEndpointAddress = (3 * i + 1) | USB_DIR_OUT,
		.bmAttributes = USB_ENDPOINT_XFER_BULK, .wMaxPacketSize = LE16(bulk),
	};
	d->in = d->out;
	d->in.bEndpointAddress = (3 * i + 2) | USB_DIR_IN;
	d->irq = (struct usb_endpoint_descriptor_no_audio){
		.bLength = USB_DT_ENDPOINT_SIZE, .bDescriptorType = USB_DT_ENDPOINT,
		.bEndpointAddress = (3 * i + 3) | USB_DIR_IN,
		.bmAttributes = USB_ENDPOINT_XFER_INT, .wMaxPacketSize = LE16(64),
		.bInterval = interval,
	};
}

static size_t fill_speed(struct speed_descs *s, unsigned int slots, uint16_t bulk,
			 uint8_t interval)
{
	struct usb_interface_descriptor *dfu = (void *)&s->slot[slots];

	for (unsigned int i = 0; i < slots; i++)
		fill_slot(&s->slot[i], i, bulk, interval);
	*dfu = (struct usb_interface_descriptor){
		.bLength = sizeof(*dfu), .bDescriptorType = USB_DT_INTERFACE,
		.bInterfaceNumber = slots, .bNumEndpoints = 0,
		.bInterfaceClass = 0xfe, .bInterfaceSubClass = 0x01, .bInterfaceProtocol = 0x01,
	};
	return slots * sizeof(struct slot_descs) + sizeof(*dfu);
}

static int write_descriptors(struct gadget *g)
{
	struct usb_functionfs_descs_head_v2 head = {
		.magic = LE32(FUNCTIONFS_DESCRIPTORS_MAGIC_V2),
		.flags = LE32(FUNCTIONFS_HAS_FS_DESC | FUNCTIONFS_HAS_HS_DESC),
	};
	struct speed_descs fs, hs;
	uint32_t count = LE32(g->slots * 4 + 1);
	uint8_t buf[1024], *p = buf;
	size_t fs_len = fill_speed(&fs, g->slots, 64, 1);
	size_t hs_len = fill_speed(&hs, g->slots, 512, 4);
	char strings[256];
	size_t n;

	p += sizeof(head);
	memcpy(p, &count, 4);
	memcpy(p + 4, &count, 4);
	p += 8;
	memcpy(p, &fs, fs_len);
	p += fs_len;
	memcpy(p, &hs, hs_len);
	p += hs_len;
	head.length = LE32(p - buf);
	memcpy(buf, &head, sizeof(head));
	if (write(g->ep0, buf, p - buf) != p - buf)
		return -errno;

	/* Strings: one language, "CardEmulator Modem N" per slot. */
	{
		struct usb_functionfs_strings_head sh = {
			.magic = LE32(FUNCTIONFS_STRINGS_MAGIC),
			.str_count = LE32(g->slots),
			.lang_count = LE32(1),
		};
		uint16_t lang = LE16(0x0409);

		n = sizeof(sh);
		memcpy(strings + n, &lang, 2);
		n += 2;
		for (unsigned int i = 0; i < g->slots; i++)
			n += sprintf(strings + n, "CardEmulator Modem %u", i + 1) + 1;
		sh.length = LE32(n);
		memcpy(strings, &sh, sizeof(sh));
	}
	if (write(g->ep0, strings, n) != (ssize_t)n)
		return -errno;
	return 0;
}

static int open_eps(struct gadget *g)
{
	char path[300];

	for (unsigned int i = 0; i < g->slots; i++) {
		int *fds[3] = { &g->ep_out[i], &g->ep_in[i], &g->ep_int[i] };

		for (unsigned int e = 0; e < 3; e++) {
			snprintf(path, sizeof(path), "%s/ep%u", g->mnt, 3 * i + e + 1);
			*fds[e] = open(path, O_RDWR | O_CLOEXEC);
			if (*fds[e] < 0)
				return -errno;
		}
	}
	return 0;
}

int gadget_create(struct gadget *g, const char *name, const struct gadget_product *p,
		  const char *udc)
{
	char buf[64], fn[64], path[512], target[512];
	int ret;

	memset(g, 0, sizeof(*g));
	g->ep0 = -1;
	snprintf(g->name, sizeof(g->name), "%s", name);
	snprintf(g->udc, sizeof(g->udc), "%s", udc);
	snprintf(g->dir, sizeof(g->dir), CONFIGFS "/%s", name);
	snprintf(g->mnt, sizeof(g->mnt), "/run/remsim-board-%s", name);
	g->pid = p->pid;
	g->slots = p->slots;

	if (mkdir(g->dir, 0755))
		return -errno;
	snprintf(buf, sizeof(buf), "0x%04x", p->pid);
	if ((ret = put(g->dir, "idVendor", "0x1d50")) || (ret = put(g->dir, "idProduct", buf)) ||
	    (ret = put(g->dir, "bcdDevice", "0x0002")) || (ret = put(g->dir, "bcdUSB", "0x0200")) ||
	    (ret = mkdirs(g->dir, "strings/0x409")) ||
	    (ret = put(g->dir, "strings/0x409/manufacturer", "sysmocom - s.f.m.c. GmbH")) ||
	    (ret = put(g->dir, "strings/0x409/product", p->string)))
		return ret;
	snprintf(buf, sizeof(buf), "%08x%08x%08x%08x", 0x5245u, 0x4d53u, getpid(),
		 (unsigned int)p->pid);
	if ((ret = put(g->dir, "strings/0x409/serialnumber", buf)) ||
	    (ret = mkdirs(g->dir, "configs/c.1")) ||
	    (ret = mkdirs(g->dir, "configs/c.1/strings/0x409")) ||
	    (ret = put(g->dir, "configs/c.1/strings/0x409/configuration",
		       "SIMtrace Card Emulation")) ||
	    (ret = put(g->dir, "configs/c.1/MaxPower", "100")))
		return ret;
	snprintf(fn, sizeof(fn), "functions/ffs.%s", name);
	if ((ret = mkdirs(g->dir, fn)))
		return ret;
	snprintf(path, sizeof(path), "%s/configs/c.1/ffs.%s", g->dir, name);
	snprintf(target, sizeof(target), "%s/%s", g->dir, fn);
	if (symlink(target, path) && errno != EEXIST)
		return -errno;

	if (mkdir(g->mnt, 0755) && errno != EEXIST)
		return -errno;
	if (mount(name, g->mnt, "functionfs", 0, NULL))
		return -errno;
	snprintf(path, sizeof(path), "%s/ep0", g->mnt);
	g->ep0 = open(path, O_RDWR | O_CLOEXEC);
	if (g->ep0 < 0)
		return -errno;
	ret = write_descriptors(g);
	return ret ? ret : open_eps(g);
}

int gadget_plug(struct gadget *g)
{
	return put(g->dir, "UDC", g->udc);
}

int gadget_unplug(struct gadget *g)
{
	return put(g->dir, "UDC", "\n");
}

/* configfs and the mount of a gadget that no process has open any more. */
static void remove_gadget(const char *dir, const char *name, const char *mnt)
{
	char path[512];

	put(dir, "UDC", "\n");
	umount(mnt);
	rmdir(mnt);
	snprintf(path, sizeof(path), "%s/configs/c.1/ffs.%s", dir, name);
	unlink(path);
	snprintf(path, sizeof(path), "%s/configs/c.1/strings/0x409", dir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/configs/c.1", dir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/functions/ffs.%s", dir, name);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/strings/0x409", dir);
	rmdir(path);
	rmdir(dir);
}

void gadget_cleanup_all(const char *prefix)
{
	DIR *d = opendir(CONFIGFS);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char dir[512], mnt[512];

		if (strncmp(e->d_name, prefix, strlen(prefix)))
			continue;
		snprintf(dir, sizeof(dir), CONFIGFS "/%s", e->d_name);
		snprintf(mnt, sizeof(mnt), "/run/remsim-board-%s", e->d_name);
		remove_gadget(dir, e->d_name, mnt);
	}
	closedir(d);
}

void gadget_destroy(struct gadget *g)
{
	gadget_unplug(g);
	for (unsigned int i = 0; i < g->slots; i++) {
		close(g->ep_out[i]);
		close(g->ep_in[i]);
		close(g->ep_int[i]);
	}
	if (g->ep0 >= 0)
		close(g->ep0);
	remove_gadget(g->dir, g->name, g->mnt);
}

