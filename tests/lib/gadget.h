/* SPDX-License-Identifier: GPL-2.0 */
/*
 * gadget.h - a USB gadget made of configfs and one FunctionFS function with
 * SIMtrace2 cardem descriptors: N card-emulation interfaces (bulk OUT, bulk
 * IN, interrupt IN each) and the DFU runtime interface, on a UDC of
 * dummy_hcd, so the host side of the same kernel enumerates it.
 */
#ifndef _GADGET_H
#define _GADGET_H

#include <stdint.h>

#define GADGET_SLOTS_MAX	2

struct gadget {
	char		name[32];	/* configfs and FunctionFS instance */
	char		udc[64];
	char		dir[256];	/* the configfs gadget directory */
	char		mnt[256];	/* where FunctionFS is mounted */
	uint16_t	pid;
	unsigned int	slots;
	int		ep0;
	/* Per slot: bulk OUT, bulk IN, interrupt IN files. */
	int		ep_out[GADGET_SLOTS_MAX];
	int		ep_in[GADGET_SLOTS_MAX];
	int		ep_int[GADGET_SLOTS_MAX];
};

/* What a board product looks like on USB. */
struct gadget_product {
	const char	*id;		/* the --product name */
	uint16_t	pid;
	const char	*string;	/* iProduct */
	unsigned int	slots;
};

const struct gadget_product *gadget_product(const char *id);

/* Creates the gadget and its function, writes the descriptors; not bound. */
int gadget_create(struct gadget *g, const char *name, const struct gadget_product *p,
		  const char *udc);
/* Plug (bind to the UDC) and unplug (unbind). */
int gadget_plug(struct gadget *g);
int gadget_unplug(struct gadget *g);
void gadget_destroy(struct gadget *g);
/*
 * Takes down every gadget of ours (name starting with prefix) that a killed
 * board left behind: unbound, FunctionFS unmounted, configfs cleared.
 */
void gadget_cleanup_all(const char *prefix);

#endif /* _GADGET_H */
