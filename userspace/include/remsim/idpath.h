/* SPDX-License-Identifier: GPL-2.0 */
/*
 * remsim/idpath.h - udev's ID_PATH of a device ("pci-0000:00:14.0-usb-0:
 * 1.2:1.0"), the name of the /dev/remsim/by-path/ links, computed from
 * sysfs as udev's path_id does for the parents a USB slot has. It names a
 * slot by where its board is plugged, whatever order the controllers and
 * the boards came in.
 */
#ifndef _REMSIM_IDPATH_H
#define _REMSIM_IDPATH_H

#include <stddef.h>

#define RS_SYSFS_DEVICES	"/sys/devices"
/* ID_PATH can be long: a PCI bridge chain, hubs five deep. */
#define RS_ID_PATH_MAX		160

/*
 * The ID_PATH of the device at sysfs path @dev (links are followed, e.g.
 * /sys/class/remsim/remsim3/device or /sys/bus/usb/devices/1-1.2:1.0) into
 * @out; "" when it has none (no PCI or platform parent, as udev), when it
 * does not fit, or when @dev is not a device.
 */
void rs_id_path(const char *dev, char *out, size_t size);

#endif
