/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libusb in remsim's event loop: libusb's file descriptors watched by the
 * loop, its events handled without blocking. Devices are opened from their
 * usbfs node (libusb_wrap_sys_device), never discovered by libusb.
 */
#ifndef REMSIM_CLIENT_USBHOST_H
#define REMSIM_CLIENT_USBHOST_H

#include <libusb-1.0/libusb.h>

#include "remsim/evloop.h"

struct usbhost;

struct usbhost *usbhost_new(struct ev_loop *loop, char *err, size_t errlen);
/* Every handle must be closed first. */
void usbhost_free(struct usbhost *h);
libusb_context *usbhost_ctx(const struct usbhost *h);
/* Opens /dev/bus/usb/BUS/DEV: a handle, or NULL with the reason in @err. */
libusb_device_handle *usbhost_open(struct usbhost *h, unsigned int busnum,
				   unsigned int devnum, int *fd, char *err, size_t errlen);
/* Handles libusb's events for up to @ms while @busy(@arg) is true: for shutdown. */
void usbhost_drain(struct usbhost *h, int ms, int (*busy)(void *arg), void *arg);

#endif
