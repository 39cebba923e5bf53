// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel's slots: a netlink dump, then the "slots" group, so that a
 * board plugged in later is served without a restart. Each mapped slot
 * (remsimctl map, or a client identity from the config file) gets a
 * client slot on its /dev/remsimN.
 *
 * The client has no capabilities: the kernel shows it a slot's map because
 * it may open the slot's node (the remsim group), and the "slots" group
 * only says which slot changed, so each change is read back with slot-get.
 *
 * The kernel keeps only a slot's identity. Its static bank target, if it
 * has one (remsimctl map ... bank ... via HOST:PORT), is in the targets
 * file (remsim/targets.h), read again when it changed: on each slot event
 * (remsimctl writes the file before it sets the label) and when inotify
 * says so (a target changed alone). A change of the file looks at every
 * slot again.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client.h"
#include "kslot.h"
#include "remsim/idpath.h"
#include "remsim/log.h"
#include "remsim/nl.h"
#include "remsim/targets.h"

#define SLOTS_MAX	256

/* What a slot runs with: its identity, and the target if it has one. */
struct run_map {
	bool			mapped;
	struct rs_target	t;
};

struct kwatch {
	struct client *cl;
	struct rsnl *nl;	/* requests */
	struct rsnl *ev;	/* the "slots" group */
	struct ev_io io;
	struct kslot *slots[SLOTS_MAX];
	struct run_map maps[SLOTS_MAX];

	/* the targets file */
	const char *path;
	struct rs_targets targets;
	struct stat seen;	/* of the version read: st_ino 0 if none */
	int inotify;
	int watch;		/* -1: its directory is not there (yet) */
	struct ev_io notify_io;
};

bool kwatch_available(void)
{
	struct rsnl *nl;

	if (rsnl_open(&nl))
		return false;
	rsnl_close(nl);
	return true;
}

static void slot_close(struct kwatch *w, uint32_t index)
{
	if (index >= SLOTS_MAX || !w->slots[index])
		return;
	LOGP(DMAIN, LOG_INFO, rc_slot_name(kslot_rc(w->slots[index])), "slot %u released",
	     index);
	kslot_close(w->slots[index]);
	w->slots[index] = NULL;
	memset(&w->maps[index], 0, sizeof(w->maps[index]));
}

static void static_bank(struct kslot *k, const struct rs_target *t)
{
	struct rspro_bank_slot bank = { t->bank_id, t->bank_slot };
	char text[REMSIM_MAP_HOST_MAX + 16];
	struct rspro_ip_port addr;

	rs_target_bankd(t, text, sizeof(text));
	if (rspro_ip_port_parse(&addr, text)) {
		LOGP(DMAIN, LOG_ERROR, rc_slot_name(kslot_rc(k)),
		     "static bank target %s is not an address", text);
		return;
	}
	kslot_static_bank(k, bank, &addr);
}

static bool same_run(const struct run_map *a, const struct run_map *b)
{
	return a->mapped == b->mapped && (!a->mapped || rs_target_same(&a->t, &b->t));
}

/* A slot as the kernel describes it now: serve it, change it or let it go. */
static void slot_update(struct kwatch *w, const struct rsnl_slot *slot)
{
	bool usb = slot->backend == REMSIM_BACKEND_USB;
	char index[12];
	const char *names[] = { slot->name, index, usb ? slot->bus_path : NULL };
	const struct slot_override *o;
	const struct rs_target *target;
	struct run_map map = { .mapped = slot->map.mapped };
	struct rc_cfg cfg;
	char sysdev[64];
	struct kslot *k;
	char err[200];

	if (slot->index >= SLOTS_MAX)
		return;
	if (slot->limited) {
		/* we could not open it either */
		LOGP(DMAIN, LOG_NOTICE, NULL,
		     "slot %u (%s): no read-write access to /dev/%s, not served",
		     slot->index, slot->name, slot->name);
		slot_close(w, slot->index);
		return;
	}
	snprintf(index, sizeof(index), "%u", slot->index);
	o = client_override(w->cl, names, 3);
	/* the kernel's map wins; the config file speaks for unmapped slots */
	if (map.mapped) {
		map.t.client_id = slot->map.client_id;
		map.t.client_slot = slot->map.client_slot;
	} else if (o && o->has_client) {
		map.mapped = true;
		map.t.client_id = o->client.client_id;
		map.t.client_slot = o->client.slot_nr;
	}
	if (!map.mapped) {
		slot_close(w, slot->index);
		return;
	}
	target = rs_targets_find(&w->targets, map.t.client_id, map.t.client_slot);
	if (target)
		map.t = *target;
	if (w->slots[slot->index] && same_run(&w->maps[slot->index], &map))
		return;
	slot_close(w, slot->index);
	client_slot_cfg(w->cl, o,
			(struct rspro_client_slot){ map.t.client_id, map.t.client_slot }, &cfg);
	snprintf(cfg.label, sizeof(cfg.label), "remsim%u", slot->index);
	if (usb) {
		/* "1-1.2:1.0": the device's path is before the colon */
		snprintf(cfg.usb_path, sizeof(cfg.usb_path), "%.*s",
			 (int)strcspn(slot->bus_path, ":"), slot->bus_path);
		cfg.usb_interface = slot->interface;
		snprintf(sysdev, sizeof(sysdev), "/sys/class/remsim/%s/device", slot->name);
		rs_id_path(sysdev, cfg.modem_path, sizeof(cfg.modem_path));
	}
	k = kslot_open(w->cl->loop, slot->index, &cfg, err, sizeof(err));
	if (!k) {
		LOGP(DMAIN, LOG_ERROR, NULL, "slot %u (%s): %s", slot->index, slot->name, err);
		return;
	}
	w->slots[slot->index] = k;
	w->maps[slot->index] = map;
	LOGP(DMAIN, LOG_INFO, rc_slot_name(kslot_rc(k)), "serving slot %u (%s)", slot->index,
	     slot->name);
	if (map.t.has_bank)
		static_bank(k, &map.t);
	else
		kslot_start(k);
}

static int dump_one(const struct rsnl_slot *slot, void *arg)
{
	slot_update(arg, slot);
	return 0;
}

/* --- the targets file ------------------------------------------------------ */

static void bad_line(const char *msg, void *arg)
{
	LOGP(DMAIN, LOG_ERROR, NULL, "%s", msg);
}

/* (Re)adds the watch on the file's directory, which may come later. */
static void targets_watch(struct kwatch *w)
{
	char dir[PATH_MAX];

	if (w->inotify < 0 || w->watch >= 0)
		return;
	snprintf(dir, sizeof(dir), "%s", w->path);
	w->watch = inotify_add_watch(w->inotify, dirname(dir), IN_CLOSE_WRITE | IN_MOVED_TO |
				     IN_MOVED_FROM | IN_DELETE | IN_CREATE | IN_ONLYDIR);
}

/* Reads the file if it is not the version read last: whether it was not. */
static bool targets_refresh(struct kwatch *w)
{
	struct stat st = { 0 };
	char err[300];
	int ret;

	targets_watch(w);
	if (stat(w->path, &st))
		memset(&st, 0, sizeof(st));	/* none: as at the start */
	if (st.st_ino == w->seen.st_ino && st.st_dev == w->seen.st_dev &&
	    st.st_size == w->seen.st_size && st.st_mtim.tv_sec == w->seen.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == w->seen.st_mtim.tv_nsec)
		return false;
	w->seen = st;
	ret = rs_targets_load(&w->targets, w->path, bad_line, w, err, sizeof(err));
	if (ret && ret != -ENOENT)
		LOGP(DMAIN, LOG_ERROR, NULL, "static bank targets: %s", err);
	else
		LOGP(DMAIN, LOG_INFO, NULL, "static bank targets: %zu from %s", w->targets.n,
		     w->path);
	return true;
}

static int dump_one(const struct rsnl_slot *slot, void *arg);

/* The file changed: every slot may have another target now. */
static void targets_changed(struct kwatch *w)
{
	if (targets_refresh(w))
		rsnl_slot_dump(w->nl, dump_one, w, NULL);
}

static void on_inotify(struct ev_io *io, uint32_t revents)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	struct kwatch *w = io->data;
	const char *name = strrchr(w->path, '/');
	bool ours = false;
	int i;

	name = name ? name + 1 : w->path;
	for (i = 0; i < 32; i++) {
		ssize_t n = read(w->inotify, buf, sizeof(buf)), off;

		if (n <= 0)
			break;
		for (off = 0; off + (ssize_t)sizeof(struct inotify_event) <= n;) {
			const struct inotify_event *e = (const void *)(buf + off);

			if (e->mask & (IN_Q_OVERFLOW | IN_IGNORED) ||
			    (e->len && !strcmp(e->name, name)))
				ours = true;
			if (e->mask & IN_IGNORED)
				w->watch = -1;	/* the directory went: watch again later */
			off += sizeof(*e) + e->len;
		}
	}
	if (ours)
		targets_changed(w);
}

static void targets_init(struct kwatch *w)
{
	w->path = rs_targets_path();
	w->watch = -1;
	w->inotify = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->inotify < 0 ||
	    ev_io_start(w->cl->loop, &w->notify_io, w->inotify, EPOLLIN, on_inotify, w)) {
		/* the slot events still read it again */
		LOGP(DMAIN, LOG_NOTICE, NULL, "%s: not watched: %s", w->path, strerror(errno));
		if (w->inotify >= 0)
			close(w->inotify);
		w->inotify = -1;
	}
	targets_refresh(w);
}

/* A notification of the "slots" group names the slot; what we may see of it. */
static void slot_reread(struct kwatch *w, uint32_t index)
{
	struct rsnl_slot slot;
	int ret = rsnl_slot_get(w->nl, index, &slot);

	if (!ret)
		slot_update(w, &slot);
	else if (ret == -ENODEV)
		slot_close(w, index);	/* gone already: its del follows */
	else
		LOGP(DMAIN, LOG_ERROR, NULL, "slot %u: netlink slot-get: %s", index,
		     strerror(-ret));
}

static void on_netlink(struct ev_io *io, uint32_t revents)
{
	struct kwatch *w = io->data;
	struct rsnl_event ev;
	int i;

	for (i = 0; i < 32; i++) {
		int ret = rsnl_event_recv(w->ev, &ev);

		if (ret == -EAGAIN)
			return;
		if (ret == -ENOBUFS) {
			/* events were lost: ask for the whole table again */
			LOGP(DMAIN, LOG_NOTICE, NULL, "netlink events lost: dumping the slots");
			rsnl_slot_dump(w->nl, dump_one, w, NULL);
			continue;
		}
		if (ret)
			return;
		switch (ev.cmd) {
		case REMSIM_CMD_SLOT_ADD_NTF:
		case REMSIM_CMD_SLOT_CHANGE_NTF:
			/* a new file: every slot read again, this one too */
			if (targets_refresh(w))
				rsnl_slot_dump(w->nl, dump_one, w, NULL);
			else
				slot_reread(w, ev.slot.index);
			break;
		case REMSIM_CMD_SLOT_DEL_NTF:
			slot_close(w, ev.slot.index);
			break;
		default:
			break;
		}
	}
}

struct kwatch *kwatch_new(struct client *cl, char *err, size_t errlen)
{
	struct kwatch *w = calloc(1, sizeof(*w));

	if (!w) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	w->cl = cl;
	w->inotify = -1;
	if (rsnl_open(&w->nl) || rsnl_open(&w->ev)) {
		snprintf(err, errlen, "the remsim kernel module is not loaded");
		goto fail;
	}
	if (rsnl_subscribe_slots(w->ev)) {
		snprintf(err, errlen, "cannot join remsim's netlink \"slots\" group");
		goto fail;
	}
	/* subscribed first, then the dump: no slot falls between the two */
	fcntl(rsnl_fd(w->ev), F_SETFL, fcntl(rsnl_fd(w->ev), F_GETFL) | O_NONBLOCK);
	targets_init(w);
	rsnl_slot_dump(w->nl, dump_one, w, NULL);
	if (ev_io_start(cl->loop, &w->io, rsnl_fd(w->ev), EPOLLIN, on_netlink, w)) {
		snprintf(err, errlen, "out of resources");
		goto fail;
	}
	return w;
fail:
	kwatch_free(w);
	return NULL;
}

void kwatch_free(struct kwatch *w)
{
	unsigned int i;

	if (!w)
		return;
	for (i = 0; i < SLOTS_MAX; i++)
		slot_close(w, i);
	ev_io_stop(&w->io);
	ev_io_stop(&w->notify_io);
	if (w->inotify >= 0)
		close(w->inotify);
	rs_targets_free(&w->targets);
	if (w->ev)
		rsnl_close(w->ev);
	if (w->nl)
		rsnl_close(w->nl);
	free(w);
}

void kwatch_log_stats(const struct kwatch *w)
{
	char where[32];
	unsigned int i;

	for (i = 0; i < SLOTS_MAX; i++) {
		if (!w->slots[i])
			continue;
		snprintf(where, sizeof(where), "slot %u", i);
		client_log_stats(kslot_rc(w->slots[i]), where);
	}
}
