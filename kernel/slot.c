// SPDX-License-Identifier: GPL-2.0
/*
 * remsim slot core: the remsim class and char device region that every
 * slot's /dev/remsimN lives in, real and simulated alike.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/device.h>
#include <linux/fs.h>
#include <linux/kdev_t.h>
#include <linux/module.h>

#include "remsim.h"

/*
 * Our own major, like hidraw: simulated slots have no USB interface, and the
 * usbmisc minors are a pool of 256 that every usbmisc driver shares.
 */
#define REMSIM_MINORS	1024

static dev_t remsim_devt;

static struct class remsim_class = {
	.name	= "remsim",
	.owner	= THIS_MODULE,
};

int remsim_slot_core_init(void)
{
	int ret;

	ret = alloc_chrdev_region(&remsim_devt, 0, REMSIM_MINORS, "remsim");
	if (ret) {
		pr_err("cannot allocate a char device region: %d\n", ret);
		return ret;
	}

	ret = class_register(&remsim_class);
	if (ret) {
		pr_err("cannot register the remsim class: %d\n", ret);
		goto err_unregister_region;
	}
	return 0;

err_unregister_region:
	unregister_chrdev_region(remsim_devt, REMSIM_MINORS);
	return ret;
}

void remsim_slot_core_exit(void)
{
	class_unregister(&remsim_class);
	unregister_chrdev_region(remsim_devt, REMSIM_MINORS);
}
