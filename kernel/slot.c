// SPDX-License-Identifier: GPL-2.0
/*
 * slot.c - remsim slots: the class and char device region they live in,
 * their table, creation, removal and lifetime.
 *
 * A slot is a struct device in class "remsim" with a cdev for /dev/remsimN.
 * The device's refcount is the slot's: the backend holds one from create to
 * remove, and every open file pins the device through its cdev. Creation
 * and publication are two steps, as in usb-skeleton (register last): the
 * backend stores the slot before its node, lookups or the slot-added event
 * let anybody call into it. Removal
 * marks the slot dead and wakes its owner, then unlinks it from the table
 * and removes its node; the memory goes with the last reference.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/kdev_t.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/version.h>
#include <linux/xarray.h>

#include "remsim.h"

/*
 * Our own major, like hidraw: simulated slots have no USB interface, and the
 * usbmisc minors are a pool of 256 that every usbmisc driver shares.
 */
#define REMSIM_MINORS	1024

static dev_t remsim_devt;
static struct kmem_cache *slot_cache;

/*
 * The live slots by index; slots_generation counts changes, for dumps.
 * slots_lock protects the table; nothing waits for a slot's mutex under
 * it (see remsim.h).
 */
static DEFINE_MUTEX(slots_lock);
static DEFINE_XARRAY_ALLOC(slots);
static atomic_long_t slots_generation = ATOMIC_LONG_INIT(1);	/* 0: dump start */

static const char *const backend_names[] = {
	[REMSIM_BACKEND_USB] = "usb",
	[REMSIM_BACKEND_SIM] = "sim",
};

static ssize_t backend_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%s\n", backend_names[to_remsim_slot(dev)->backend]);
}
static DEVICE_ATTR_RO(backend);

static ssize_t board_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%s\n", to_remsim_slot(dev)->board);
}
static DEVICE_ATTR_RO(board);

static ssize_t bus_path_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%s\n", to_remsim_slot(dev)->bus_path);
}
static DEVICE_ATTR_RO(bus_path);

static ssize_t interface_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", to_remsim_slot(dev)->interface);
}
static DEVICE_ATTR_RO(interface);

/* What udev rules match on for stable names (by-path, by-id). */
static struct attribute *slot_attrs[] = {
	&dev_attr_backend.attr,
	&dev_attr_board.attr,
	&dev_attr_bus_path.attr,
	&dev_attr_interface.attr,
	NULL
};
ATTRIBUTE_GROUPS(slot);

/*
 * The same in the uevent, split the way stable names need it: udev rules
 * build /dev/remsim/by-path/$env{REMSIM_USB_PATH}-if$env{REMSIM_USB_INTERFACE}
 * without a helper program.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
static int slot_uevent(const struct device *dev, struct kobj_uevent_env *env)
#else
static int slot_uevent(struct device *dev, struct kobj_uevent_env *env)
#endif
{
	const struct remsim_slot *slot = container_of(dev, struct remsim_slot, dev);
	size_t dev_len = strcspn(slot->bus_path, ":");
	int ret;

	ret = add_uevent_var(env, "REMSIM_BACKEND=%s", backend_names[slot->backend]);
	if (ret || slot->backend != REMSIM_BACKEND_USB || !slot->bus_path[dev_len])
		return ret;
	ret = add_uevent_var(env, "REMSIM_USB_PATH=%.*s", (int)dev_len, slot->bus_path);
	if (!ret)
		ret = add_uevent_var(env, "REMSIM_USB_INTERFACE=%u", slot->interface);
	return ret;
}

static struct class remsim_class = {
	.name		= "remsim",
	.dev_groups	= slot_groups,
	.dev_uevent	= slot_uevent,
};

static void slot_release(struct device *dev)
{
	struct remsim_slot *slot = to_remsim_slot(dev);

	remsim_xchg_flush(slot);
	kmem_cache_free(slot_cache, slot);
}

void *remsim_slot_priv(struct remsim_slot *slot)
{
	return slot->priv;
}
EXPORT_SYMBOL_GPL(remsim_slot_priv);

u32 remsim_slot_index(struct remsim_slot *slot)
{
	return slot->index;
}
EXPORT_SYMBOL_GPL(remsim_slot_index);

struct device *remsim_slot_device(struct remsim_slot *slot)
{
	return &slot->dev;
}
EXPORT_SYMBOL_GPL(remsim_slot_device);

struct remsim_slot *remsim_slot_create(const struct remsim_slot_desc *desc)
{
	struct remsim_slot *slot;
	u32 index;
	int ret;

	if (!desc->ops || desc->backend >= ARRAY_SIZE(backend_names) ||
	    !backend_names[desc->backend] || desc->atr_len > REMSIM_ATR_MAX)
		return ERR_PTR(-EINVAL);

	slot = kmem_cache_zalloc(slot_cache, GFP_KERNEL);
	if (!slot)
		return ERR_PTR(-ENOMEM);
	slot->backend = desc->backend;
	slot->features = desc->features;
	strscpy(slot->board, desc->board ?: "", sizeof(slot->board));
	strscpy(slot->bus_path, desc->bus_path ?: "", sizeof(slot->bus_path));
	slot->interface = desc->interface;
	slot->ops = desc->ops;
	slot->priv = desc->priv;
	memcpy(slot->atr, desc->atr, desc->atr_len);
	slot->atr_len = desc->atr_len;
	mutex_init(&slot->mutex);
	mutex_init(&slot->read_mutex);
	spin_lock_init(&slot->lock);
	INIT_LIST_HEAD(&slot->up);
	INIT_LIST_HEAD(&slot->down);
	init_waitqueue_head(&slot->read_wait);
	init_waitqueue_head(&slot->write_wait);
	INIT_DELAYED_WORK(&slot->timeout_work, remsim_xchg_timeout);
	remsim_xchg_init(slot);

	/* Reserve the index; lookups see the slot once it is published. */
	ret = xa_alloc(&slots, &index, NULL, XA_LIMIT(0, REMSIM_MINORS - 1), GFP_KERNEL);
	if (ret) {
		kmem_cache_free(slot_cache, slot);
		return ERR_PTR(ret == -EBUSY ? -ENOSPC : ret);
	}
	slot->index = index;

	device_initialize(&slot->dev);
	slot->dev.class = &remsim_class;
	slot->dev.parent = desc->parent;
	slot->dev.devt = MKDEV(MAJOR(remsim_devt), index);
	slot->dev.release = slot_release;
	ret = dev_set_name(&slot->dev, "remsim%u", index);
	if (ret)
		goto err_put;

	cdev_init(&slot->cdev, &remsim_fops);
	slot->cdev.owner = THIS_MODULE;
	return slot;

err_put:
	xa_erase(&slots, index);
	put_device(&slot->dev);
	return ERR_PTR(ret);
}
EXPORT_SYMBOL_GPL(remsim_slot_create);

int remsim_slot_publish(struct remsim_slot *slot)
{
	int ret;

	/* The node, then lookups, then the event: each finds a ready slot. */
	ret = cdev_device_add(&slot->cdev, &slot->dev);
	if (ret)
		return ret;
	slot->published = true;

	mutex_lock(&slots_lock);
	xa_store(&slots, slot->index, slot, GFP_KERNEL);
	atomic_long_inc(&slots_generation);
	mutex_unlock(&slots_lock);

	remsim_nl_slot_event(slot, REMSIM_CMD_SLOT_ADD_NTF, GFP_KERNEL);
	return 0;
}
EXPORT_SYMBOL_GPL(remsim_slot_publish);

void remsim_slot_remove(struct remsim_slot *slot)
{
	/*
	 * Dead first: from here on every call fails with ENODEV, so a slot
	 * that lookups no longer find can no longer be used either. Waits for
	 * a backend op in progress; none starts after this.
	 */
	mutex_lock(&slot->mutex);
	spin_lock_irq(&slot->lock);
	slot->dead = true;
	spin_unlock_irq(&slot->lock);
	mutex_unlock(&slot->mutex);
	/* Blocked readers, writers and pollers see dead and leave. */
	wake_up_interruptible_all(&slot->read_wait);
	wake_up_interruptible_all(&slot->write_wait);

	/* No new lookup, no new open; an unpublished slot frees its index. */
	mutex_lock(&slots_lock);
	xa_erase(&slots, slot->index);
	atomic_long_inc(&slots_generation);
	mutex_unlock(&slots_lock);
	if (slot->published) {
		remsim_nl_slot_event(slot, REMSIM_CMD_SLOT_DEL_NTF, GFP_KERNEL);
		cdev_device_del(&slot->cdev, &slot->dev);
	}

	cancel_delayed_work_sync(&slot->timeout_work);
	remsim_xchg_flush(slot);

	put_device(&slot->dev);
}
EXPORT_SYMBOL_GPL(remsim_slot_remove);

struct remsim_slot *remsim_slot_get(u32 index)
{
	struct remsim_slot *slot;

	mutex_lock(&slots_lock);
	slot = xa_load(&slots, index);
	if (slot)
		get_device(&slot->dev);
	mutex_unlock(&slots_lock);
	return slot;
}

int remsim_slot_for_each(u32 from, int (*fn)(struct remsim_slot *slot, void *arg),
			 void *arg, unsigned long *generation)
{
	struct remsim_slot *slot;
	unsigned long index;
	int ret = 0;

	mutex_lock(&slots_lock);
	*generation = atomic_long_read(&slots_generation);
	xa_for_each_start(&slots, index, slot, from) {
		ret = fn(slot, arg);
		if (ret)
			break;
	}
	mutex_unlock(&slots_lock);
	return ret;
}

void remsim_slot_table_changed(void)
{
	mutex_lock(&slots_lock);
	atomic_long_inc(&slots_generation);
	mutex_unlock(&slots_lock);
}

int remsim_slot_core_init(void)
{
	int ret;

	slot_cache = KMEM_CACHE(remsim_slot, 0);
	if (!slot_cache)
		return -ENOMEM;

	ret = alloc_chrdev_region(&remsim_devt, 0, REMSIM_MINORS, "remsim");
	if (ret) {
		pr_err("cannot allocate a char device region: %d\n", ret);
		goto err_destroy_cache;
	}

	ret = class_register(&remsim_class);
	if (ret) {
		pr_err("cannot register the remsim class: %d\n", ret);
		goto err_unregister_region;
	}
	return 0;

err_unregister_region:
	unregister_chrdev_region(remsim_devt, REMSIM_MINORS);
err_destroy_cache:
	kmem_cache_destroy(slot_cache);
	return ret;
}

void remsim_slot_core_exit(void)
{
	/* Backends remove their slots before they go; remsim_sim depends on us. */
	WARN_ON(!xa_empty(&slots));
	class_unregister(&remsim_class);
	unregister_chrdev_region(remsim_devt, REMSIM_MINORS);
	/* Complains (a BUG line in the log) if a slot was never freed. */
	kmem_cache_destroy(slot_cache);
}
