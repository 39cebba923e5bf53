// SPDX-License-Identifier: GPL-2.0
/*
 * remsim: kernel-assisted remote SIM for SIMtrace2-family card emulators.
 *
 * This file only wires the parts together; each part's init is undone in
 * reverse order when a later one fails, and at module exit.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <net/genetlink.h>

#include "remsim.h"

/* Each message takes about 300 bytes; an owner may make a slot queue them. */
#define REMSIM_QUEUE_DEPTH_MAX	1024

unsigned int remsim_queue_depth = 16;

/*
 * Writable at run time, so checked at every write, not only at load: 0
 * would wedge every slot (no message ever fits).
 */
static int queue_depth_set(const char *val, const struct kernel_param *kp)
{
	unsigned int depth;
	int ret = kstrtouint(val, 0, &depth);

	if (ret)
		return ret;
	if (depth < 1 || depth > REMSIM_QUEUE_DEPTH_MAX) {
		pr_err_ratelimited("queue_depth must be 1 to %u\n", REMSIM_QUEUE_DEPTH_MAX);
		return -EINVAL;
	}
	WRITE_ONCE(*(unsigned int *)kp->arg, depth);
	return 0;
}

static const struct kernel_param_ops queue_depth_ops = {
	.set	= queue_depth_set,
	.get	= param_get_uint,
};
module_param_cb(queue_depth, &queue_depth_ops, &remsim_queue_depth, 0644);
MODULE_PARM_DESC(queue_depth,
		 "messages a slot queues each way before its producer waits, 1 to 1024 (default 16)");

unsigned int remsim_apdu_timeout_ms = 60000;
module_param_named(apdu_timeout, remsim_apdu_timeout_ms, uint, 0644);
MODULE_PARM_DESC(apdu_timeout,
		 "ms an APDU may wait for its response before the modem gets 6F00; 0: forever (default 60000)");

/* The simulated board of remsim_sim.ko reads WI from the ATR it sends. */
EXPORT_SYMBOL_GPL(atr_wi);

static struct dentry *remsim_debugfs;

static int msgs_live_get(void *data, u64 *val)
{
	*val = remsim_msg_live();
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(msgs_live_fops, msgs_live_get, NULL, "%llu\n");

static int __init remsim_init(void)
{
	int ret;

	ret = remsim_msg_cache_init();
	if (ret)
		return ret;
	ret = remsim_slot_core_init();
	if (ret)
		goto err_msg_cache;
	ret = remsim_netlink_init();
	if (ret)
		goto err_slot_core;
	ret = remsim_usb_init();
	if (ret)
		goto err_netlink;

	/* For the selftests' leak checks: messages alive right now. */
	remsim_debugfs = debugfs_create_dir("remsim", NULL);
	debugfs_create_file_unsafe("msgs_live", 0444, remsim_debugfs, NULL, &msgs_live_fops);

	pr_info("version %s loaded\n", REMSIM_VERSION);
	return 0;

err_netlink:
	remsim_netlink_exit();
err_slot_core:
	remsim_slot_core_exit();
err_msg_cache:
	remsim_msg_cache_exit();
	return ret;
}

static void __exit remsim_exit(void)
{
	debugfs_remove(remsim_debugfs);
	remsim_usb_exit();
	remsim_netlink_exit();
	remsim_slot_core_exit();
	remsim_msg_cache_exit();
}

module_init(remsim_init);
module_exit(remsim_exit);

MODULE_DESCRIPTION("Remote SIM: SIMtrace2 card emulation slots as /dev/remsimN");
MODULE_AUTHOR("The remsim developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(REMSIM_VERSION);
MODULE_ALIAS_GENL_FAMILY(REMSIM_GENL_NAME);
