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
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "kslot.h"
#include "remsim/log.h"
#include "remsim/nl.h"

#define SLOTS_MAX	256

struct kwatch {
	struct client *cl;
	struct rsnl *nl;	/* requests */
	struct rsnl *ev;	/* the "slots" group */
	struct ev_io io;
	struct kslot *slots[SLOTS_MAX];
	struct rsnl_map maps[SLOTS_MAX];	/* what each slot runs with */
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

static void static_bank(struct kslot *k, const struct rsnl_map *map)
{
	struct rspro_bank_slot bank = { map->bank_id, map->bank_slot };
	char text[REMSIM_MAP_HOST_MAX + 16];
	struct rspro_ip_port addr;

	snprintf(text, sizeof(text), strchr(map->bankd_host, ':') ? "[%s]:%u" : "%s:%u",
		 map->bankd_host, map->bankd_port);
	if (rspro_ip_port_parse(&addr, text)) {
		LOGP(DMAIN, LOG_ERROR, rc_slot_name(kslot_rc(k)),
		     "static bank target %s is not an address", text);
		return;
	}
	kslot_static_bank(k, bank, &addr);
}

/* A slot as the kernel describes it now: serve it, change it or let it go. */
static void slot_update(struct kwatch *w, const struct rsnl_slot *slot)
{
	bool usb = slot->backend == REMSIM_BACKEND_USB;
	char index[12];
	const char *names[] = { slot->name, index, usb ? slot->bus_path : NULL };
	const struct slot_override *o;
	struct rsnl_map map = slot->map;
	struct rc_cfg cfg;
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
	if (!map.mapped && o && o->has_client) {
		memset(&map, 0, sizeof(map));
		map.mapped = true;
		map.client_id = o->client.client_id;
		map.client_slot = o->client.slot_nr;
	}
	if (!map.mapped) {
		slot_close(w, slot->index);
		return;
	}
	if (w->slots[slot->index] && !memcmp(&w->maps[slot->index], &map, sizeof(map)))
		return;
	slot_close(w, slot->index);
	client_slot_cfg(w->cl, o, (struct rspro_client_slot){ map.client_id, map.client_slot },
			&cfg);
	if (usb) {
		/* "1-1.2:1.0": the device's path is before the colon */
		snprintf(cfg.usb_path, sizeof(cfg.usb_path), "%.*s",
			 (int)strcspn(slot->bus_path, ":"), slot->bus_path);
		cfg.usb_interface = slot->interface;
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
	if (map.has_bank)
		static_bank(k, &map);
	else
		kslot_start(k);
}

static int dump_one(const struct rsnl_slot *slot, void *arg)
{
	slot_update(arg, slot);
	return 0;
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
