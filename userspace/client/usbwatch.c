// SPDX-License-Identifier: GPL-2.0
/*
 * The USB boards, for hosts without remsim.ko: every card-emulation
 * interface the filter selects (-V -P -I -A -H) becomes a client slot
 * driven over libusb. The kernel's uevents (no udevd needed) trigger a
 * new look at sysfs, so boards plugged in later are served and unplugged
 * ones let go without a restart.
 *
 * A slot's client identity: slot.NAME.client in the config file (NAME the
 * interface, "1-1.2:1.0"), else -c/-n for the first interface selected,
 * which is how osmo-remsim-client-st2 is run: one process per interface.
 */
#include <errno.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client.h"
#include "remsim/idpath.h"
#include "remsim/log.h"
#include "usbhost.h"

#define USB_SLOTS_MAX	64
#define RESCAN_MS	100	/* after a uevent: let the burst of them pass */
#define RETRY_MS	1000	/* after a board failed: first retry ... */
#define RETRY_MAX_MS	30000	/* ... doubling up to this */

struct usbwatch {
	struct client *cl;
	struct usbhost *host;
	int uevent_fd;
	struct ev_io uevent_io;
	struct ev_timer rescan;
	unsigned int retry_ms;
	struct usbslot *slots[USB_SLOTS_MAX];
	bool seen[USB_SLOTS_MAX];	/* during a scan */
	bool has_identity[USB_SLOTS_MAX];	/* runs as -c/-n */
};

static void slot_dead(void *arg)
{
	struct usbwatch *w = arg;

	/* close it and try again later, from the loop */
	if (!ev_timer_pending(&w->rescan))
		ev_timer_start(w->cl->loop, &w->rescan, w->retry_ms);
	if (w->retry_ms < RETRY_MAX_MS)
		w->retry_ms *= 2;
}

static void slot_close(struct usbwatch *w, unsigned int i)
{
	struct rc_slot *rc = usbslot_rc(w->slots[i]);

	LOGP(DMAIN, LOG_INFO, rc ? rc_slot_name(rc) : NULL, "USB %s released",
	     usbslot_id(w->slots[i])->name);
	usbslot_close(w->slots[i]);
	w->slots[i] = NULL;
}

static int find(const struct usbwatch *w, const struct usb_cardem *c)
{
	unsigned int i;

	for (i = 0; i < USB_SLOTS_MAX; i++) {
		const struct usb_cardem *id = w->slots[i] ? usbslot_id(w->slots[i]) : NULL;

		if (id && !strcmp(id->name, c->name) && id->busnum == c->busnum &&
		    id->devnum == c->devnum)
			return i;
	}
	return -1;
}

/* Whether -c/-n is taken by a slot already. */
static bool identity_used(const struct usbwatch *w)
{
	unsigned int i;

	for (i = 0; i < USB_SLOTS_MAX; i++)
		if (w->slots[i] && w->has_identity[i])
			return true;
	return false;
}

static void serve(struct usbwatch *w, const struct usb_cardem *c)
{
	const char *names[] = { c->name };
	const struct slot_override *o = client_override(w->cl, names, 1);
	struct rspro_client_slot id;
	struct usbslot *u;
	bool from_options = false;
	struct rc_cfg cfg;
	char sysdev[96];
	unsigned int i;
	char err[200];

	if (o && o->has_client) {
		id = o->client;
	} else if (w->cl->has_identity && !identity_used(w)) {
		id = w->cl->identity;
		from_options = true;
	} else {
		LOGP(DMAIN, LOG_NOTICE, NULL,
		     "USB %s (%04x:%04x): no client identity (slot.%s.client in the config, or -c/-n)",
		     c->name, c->vid, c->pid, c->name);
		return;
	}
	for (i = 0; i < USB_SLOTS_MAX && w->slots[i]; i++)
		;
	if (i == USB_SLOTS_MAX) {
		LOGP(DMAIN, LOG_ERROR, NULL, "USB %s: more than %d slots", c->name, USB_SLOTS_MAX);
		return;
	}
	client_slot_cfg(w->cl, o, id, &cfg);
	snprintf(cfg.usb_path, sizeof(cfg.usb_path), "%s", c->path);
	cfg.usb_interface = c->ifnum;
	snprintf(cfg.label, sizeof(cfg.label), "%s", c->name);
	snprintf(sysdev, sizeof(sysdev), "/sys/bus/usb/devices/%s", c->name);
	rs_id_path(sysdev, cfg.modem_path, sizeof(cfg.modem_path));
	u = usbslot_open(w->host, w->cl->loop, c, &w->cl->usb_opts, &cfg, slot_dead, w, err,
			 sizeof(err));
	if (!u) {
		LOGP(DMAIN, LOG_ERROR, NULL, "USB %s (%04x:%04x): %s", c->name, c->vid, c->pid,
		     err);
		return;
	}
	w->slots[i] = u;
	w->seen[i] = true;
	w->has_identity[i] = from_options;
	LOGP(DMAIN, LOG_INFO, rc_slot_name(usbslot_rc(u)), "serving USB %s (%04x:%04x) over libusb",
	     c->name, c->vid, c->pid);
	usbslot_start(u);
}

static int scan_one(const struct usb_cardem *c, void *arg)
{
	struct usbwatch *w = arg;
	int i;

	if (!usb_filter_match(&w->cl->usb_filter, c))
		return 0;
	i = find(w, c);
	if (i >= 0 && !usbslot_dead(w->slots[i])) {
		w->seen[i] = true;
		return 0;
	}
	if (i >= 0)
		slot_close(w, i);
	serve(w, c);
	return 0;
}

static void rescan(struct usbwatch *w)
{
	unsigned int i;
	int ret;

	memset(w->seen, 0, sizeof(w->seen));
	ret = usbscan(USBSCAN_ROOT, scan_one, w);
	if (ret) {
		LOGP(DMAIN, LOG_ERROR, NULL, "%s: %s", USBSCAN_ROOT, strerror(-ret));
		return;
	}
	/* unplugged, or failed and not back */
	for (i = 0; i < USB_SLOTS_MAX; i++)
		if (w->slots[i] && (!w->seen[i] || usbslot_dead(w->slots[i])))
			slot_close(w, i);
}

static void on_rescan(struct ev_timer *t)
{
	rescan(t->data);
}

/* Kernel uevents: "ACTION@DEVPATH\0KEY=VALUE\0...". Any of the usb subsystem counts. */
static void on_uevent(struct ev_io *io, uint32_t revents)
{
	struct usbwatch *w = io->data;
	char buf[4096];
	ssize_t n;

	while ((n = recv(w->uevent_fd, buf, sizeof(buf) - 1, MSG_DONTWAIT)) > 0) {
		ssize_t off;

		buf[n] = 0;
		for (off = 0; off < n; off += strlen(buf + off) + 1) {
			if (strcmp(buf + off, "SUBSYSTEM=usb"))
				continue;
			w->retry_ms = RETRY_MS;
			ev_timer_start(w->cl->loop, &w->rescan, RESCAN_MS);
			break;
		}
	}
}

static int uevent_open(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = 1 };
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
			NETLINK_KOBJECT_UEVENT);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	return fd;
}

struct usbwatch *usbwatch_new(struct client *cl, char *err, size_t errlen)
{
	struct usbwatch *w = calloc(1, sizeof(*w));
	int ret;

	if (!w) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	w->cl = cl;
	w->retry_ms = RETRY_MS;
	w->uevent_fd = -1;
	ev_timer_init(&w->rescan, on_rescan, w);
	w->host = usbhost_new(cl->loop, err, errlen);
	if (!w->host)
		goto fail;
	ret = uevent_open();
	if (ret < 0) {
		/* plugged boards still work; new ones wait for a restart */
		LOGP(DMAIN, LOG_ERROR, NULL, "uevents: %s: boards plugged later go unnoticed",
		     strerror(-ret));
	} else {
		w->uevent_fd = ret;
		ev_io_start(cl->loop, &w->uevent_io, ret, EPOLLIN, on_uevent, w);
	}
	rescan(w);
	return w;
fail:
	free(w);
	return NULL;
}

void usbwatch_free(struct usbwatch *w)
{
	unsigned int i;

	if (!w)
		return;
	ev_timer_stop(&w->rescan);
	ev_io_stop(&w->uevent_io);
	if (w->uevent_fd >= 0)
		close(w->uevent_fd);
	for (i = 0; i < USB_SLOTS_MAX; i++)
		if (w->slots[i])
			slot_close(w, i);
	/* the transfers come back before libusb goes: six seconds at most */
	for (i = 0; usbslot_closing() && i < 300; i++)
		ev_run_once(w->cl->loop, 20);
	if (usbslot_closing())
		LOGP(DMAIN, LOG_ERROR, NULL, "USB transfers did not come back; exiting anyway");
	else
		usbhost_free(w->host);
	free(w);
}

void usbwatch_log_stats(const struct usbwatch *w)
{
	unsigned int i;

	for (i = 0; i < USB_SLOTS_MAX; i++) {
		const struct usbslot_stats *st;
		char where[64];

		if (!w->slots[i] || !usbslot_rc(w->slots[i]))
			continue;
		st = usbslot_stats(w->slots[i]);
		snprintf(where, sizeof(where), "USB %s", usbslot_id(w->slots[i])->name);
		client_log_stats(usbslot_rc(w->slots[i]), where);
		LOGP(DMAIN, LOG_NOTICE, rc_slot_name(usbslot_rc(w->slots[i])),
		     "USB %s: %lu modem APDUs, %lu aborted by reset, %lu timed out, %lu answered 6F00, %lu board errors, %lu USB errors, %lu messages dropped",
		     usbslot_id(w->slots[i])->name, st->apdus, st->aborted, st->timeouts,
		     st->retry_answers, st->board_errors, st->usb_errors, st->out_dropped);
	}
}
