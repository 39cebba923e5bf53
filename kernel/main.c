// SPDX-License-Identifier: GPL-2.0
/*
 * remsim: kernel-assisted remote SIM for SIMtrace2-family card emulators.
 *
 * This file only wires the parts together; each part's init is undone in
 * reverse order when a later one fails, and at module exit.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>

#include "remsim.h"

static int __init remsim_init(void)
{
	int ret;

	ret = remsim_slot_core_init();
	if (ret)
		return ret;

	pr_info("version %s loaded\n", REMSIM_VERSION);
	return 0;
}

static void __exit remsim_exit(void)
{
	remsim_slot_core_exit();
}

module_init(remsim_init);
module_exit(remsim_exit);

MODULE_DESCRIPTION("Remote SIM: SIMtrace2 card emulation slots as /dev/remsimN");
MODULE_AUTHOR("The remsim developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(REMSIM_VERSION);
