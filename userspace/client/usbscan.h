/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The card-emulation interfaces of the USB boards plugged into this host,
 * read from sysfs: no libusb device discovery, which depends on udevd's
 * events and misses boards on hosts (and VMs) without it.
 */
#ifndef REMSIM_CLIENT_USBSCAN_H
#define REMSIM_CLIENT_USBSCAN_H

#include <stdbool.h>
#include <stdint.h>

#define USBSCAN_ROOT	"/sys/bus/usb/devices"

struct usb_cardem {
	/* "1-1.2:1.0": the interface as sysfs names it, and the kernel's slots */
	char name[40];
	char path[32];		/* "1-1.2": the device's port path (osmo's -H) */
	unsigned int busnum, devnum;
	uint16_t vid, pid;
	unsigned int config;	/* the active configuration's value, 0 if none */
	unsigned int ifnum;
	char driver[32];	/* the kernel driver bound to it, "" if none */
};

/* Which interfaces to take: osmo-remsim-client-st2's -V -P -C -I -A -H. */
struct usb_filter {
	int vid, pid;		/* -1: the SIMtrace2 family's ids */
	int config;		/* -1: whatever is active */
	int ifnum, addr;	/* -1: any */
	char path[32];		/* "": any */
};

void usb_filter_default(struct usb_filter *f);
bool usb_filter_match(const struct usb_filter *f, const struct usb_cardem *c);

/*
 * Calls @fn for every vendor-class ff/02/00 (card emulation) interface
 * under @root; a non-zero return of @fn stops the walk and is returned.
 * -errno if @root cannot be read.
 */
int usbscan(const char *root, int (*fn)(const struct usb_cardem *c, void *arg), void *arg);

#endif
