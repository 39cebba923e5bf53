/* SPDX-License-Identifier: GPL-2.0 */
/*
 * remsim-client's daemon: what its parts share. The slots come from one of
 * two watchers: the kernel's (/dev/remsimN, kwatch.c) or, on hosts without
 * remsim.ko, the USB boards driven over libusb (usbwatch.c).
 */
#ifndef REMSIM_CLIENT_CLIENT_H
#define REMSIM_CLIENT_CLIENT_H

#include "slot.h"
#include "usbscan.h"
#include "usbslot.h"

#define OVERRIDES_MAX	64

/*
 * A config file's settings for one slot ("slot.remsim3.client = 40:0"):
 * a client identity for a slot the kernel has no map for, its own ATR or
 * event script. NAME: remsimN, the index N, or the USB interface
 * ("1-1.2:1.0", as sysfs and `remsimctl show` name it).
 */
struct slot_override {
	char name[40];
	bool has_client;
	struct rspro_client_slot client;
	uint8_t atr[RSPRO_ATR_MAX];
	size_t atr_len;
	char event_script[256];
	bool has_apdu_timeout;
	unsigned int apdu_timeout_ms;
};

enum client_backend {
	BACKEND_AUTO,		/* the kernel's slots if remsim.ko is there, else USB */
	BACKEND_KERNEL,
	BACKEND_USB,
};

struct client {
	struct ev_loop *loop;
	enum client_backend backend;
	bool usb_selected;	/* a -V -P -I -A -H option: USB wanted */
	struct rc_cfg cfg;
	struct rspro_tls_cfg tls_cfg;	/* tls, tls-server, tls-bankd, ... */
	struct rspro_tls *tls;		/* its credentials, loaded at start */
	struct slot_override overrides[OVERRIDES_MAX];
	unsigned int noverrides;
	/* -c/-n as osmo-remsim-client-st2: the identity of the one USB slot chosen */
	bool has_identity;
	struct rspro_client_slot identity;
	struct usb_filter usb_filter;
	struct usbslot_opts usb_opts;
	struct metrics_cfg metrics;	/* --metrics */
};

/* config.c */
int client_conf_set(const char *key, const char *value, void *arg, char *why, size_t whylen);
/* The override for the first of @names that has one, or NULL. */
const struct slot_override *client_override(const struct client *cl, const char *const *names,
					    unsigned int n);
/* A slot's settings: the daemon's, with the override's ATR and script. */
void client_slot_cfg(const struct client *cl, const struct slot_override *o,
		     struct rspro_client_slot id, struct rc_cfg *cfg);
void client_log_stats(const struct rc_slot *rc, const char *where);

/* kwatch.c: every mapped /dev/remsimN */
struct kwatch;
struct kwatch *kwatch_new(struct client *cl, char *err, size_t errlen);
void kwatch_free(struct kwatch *w);
void kwatch_log_stats(const struct kwatch *w);
/* Whether remsim.ko is there (its netlink family resolves). */
bool kwatch_available(void);

/* usbwatch.c: every card-emulation interface the USB filter selects */
struct usbwatch;
struct usbwatch *usbwatch_new(struct client *cl, char *err, size_t errlen);
void usbwatch_free(struct usbwatch *w);
void usbwatch_log_stats(const struct usbwatch *w);

#endif
