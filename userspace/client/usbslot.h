/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A client slot whose modem side is a SIMtrace2-family card-emulation
 * interface driven over libusb, for hosts where remsim.ko cannot be
 * loaded: the T=0 engine the kernel runs (common/t0.c) runs here instead.
 */
#ifndef REMSIM_CLIENT_USBSLOT_H
#define REMSIM_CLIENT_USBSLOT_H

#include "slot.h"
#include "usbhost.h"
#include "usbscan.h"

struct usbslot_opts {
	int config;		/* -C: the configuration to set; -1 leaves it */
	int alt;		/* -S: the altsetting (card emulation has only 0) */
	int pres_pol;		/* -Z: card-present polarity 0/1; -1 not sent */
	unsigned int apdu_timeout_ms;	/* the modem gets 6F00 after it */
};

struct usbslot_stats {
	unsigned long apdus, aborted, timeouts, retry_answers;
	unsigned long board_errors, usb_errors, out_dropped;
};

struct usbslot;

void usbslot_opts_default(struct usbslot_opts *o);
/*
 * Claims the interface and configures the board; @dead is called (from
 * the event loop) once the board stops working or goes away, and the
 * owner then closes the slot. NULL with the reason in @err.
 */
struct usbslot *usbslot_open(struct usbhost *host, struct ev_loop *loop,
			     const struct usb_cardem *c, const struct usbslot_opts *o,
			     const struct rc_cfg *cfg, void (*dead)(void *arg), void *arg,
			     char *err, size_t errlen);
void usbslot_start(struct usbslot *u);
/* Frees the slot once its transfers are back (usbslot_closing() counts them). */
void usbslot_close(struct usbslot *u);
unsigned int usbslot_closing(void);
bool usbslot_dead(const struct usbslot *u);
struct rc_slot *usbslot_rc(const struct usbslot *u);
const struct usb_cardem *usbslot_id(const struct usbslot *u);
const struct usbslot_stats *usbslot_stats(const struct usbslot *u);

#endif
