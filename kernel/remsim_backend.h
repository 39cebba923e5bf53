/* SPDX-License-Identifier: GPL-2.0 */
/*
 * remsim_backend.h - what a slot backend (the SIMtrace2 USB driver, the
 * simulated slots of remsim_sim.ko) sees of the slot core.
 *
 * A backend creates a slot per SIM socket it serves and feeds it what the
 * modem does: TPDU headers and command data, signal changes, PPS. It
 * transmits what the slot core queues for the modem: procedure bytes, data
 * and status words, as struct t0_tx with the flags of the SIMtrace2
 * TX_DATA message. The slot core runs T=0 and talks to the slot's owner.
 *
 * Context: the remsim_slot_rx_*() and remsim_slot_tx_pop() calls may come
 * from any context, atomic included, and take only the slot's spinlock.
 * The ops are called in process context with the slot's mutex held, never
 * after remsim_slot_remove() has returned.
 */
#ifndef _REMSIM_BACKEND_H
#define _REMSIM_BACKEND_H

#include <linux/device.h>
#include <linux/types.h>
#include <linux/remsim_dev.h>

#include "t0.h"

struct net;
struct remsim_slot;

/**
 * struct remsim_backend_ops - what the slot core asks of a backend
 * @tx_ready: the slot has transmissions for the modem (remsim_slot_tx_pop);
 *	called when the owner caused them, not when the backend's own
 *	input did (the backend pops after each input)
 * @up_room: the owner's queue had been full and has room again
 * @set_atr: the ATR for the modem's next reset
 * @card_insert: drive the card-present line
 * @modem_reset: optional, REMSIM_MODEM_RESET_* (EOPNOTSUPP when absent)
 * @sim_select: optional, remote (emulated) or local SIM
 */
struct remsim_backend_ops {
	void (*tx_ready)(struct remsim_slot *slot);
	void (*up_room)(struct remsim_slot *slot);
	int (*set_atr)(struct remsim_slot *slot, const u8 *atr, unsigned int len);
	int (*card_insert)(struct remsim_slot *slot, bool inserted);
	int (*modem_reset)(struct remsim_slot *slot, u32 action, u32 pulse_ms);
	int (*sim_select)(struct remsim_slot *slot, bool remote);
};

/**
 * struct remsim_slot_desc - a new slot
 * @backend: REMSIM_BACKEND_*
 * @features: REMSIM_FEAT_*
 * @board: board name
 * @bus_path: USB path of the interface, or "sim"
 * @interface: interface or simulated slot number
 * @parent: the device the slot's device hangs below, or NULL
 * @ops: the backend's operations
 * @priv: the backend's data, remsim_slot_priv()
 * @atr: initial ATR and its length (a valid one)
 * @atr_len: its length
 */
struct remsim_slot_desc {
	u32 backend;
	u64 features;
	const char *board;
	const char *bus_path;
	u32 interface;
	struct device *parent;
	const struct remsim_backend_ops *ops;
	void *priv;
	const u8 *atr;
	unsigned int atr_len;
};

/*
 * A new slot with its index, not yet visible: no node, no lookup, no event,
 * so nobody calls its ops. The backend stores the pointer wherever its ops
 * and callbacks look for it, then publishes. An ERR_PTR on failure.
 */
struct remsim_slot *remsim_slot_create(const struct remsim_slot_desc *desc);
/*
 * Creates /dev/remsimN, lets lookups find the slot and announces it. On
 * failure the slot stays unpublished; the backend removes it.
 */
int remsim_slot_publish(struct remsim_slot *slot);
/*
 * The slot is gone (published or not): its node disappears, its owner's
 * calls fail with ENODEV and no op is called any more. Its memory lives
 * until the last close.
 */
void remsim_slot_remove(struct remsim_slot *slot);
void *remsim_slot_priv(struct remsim_slot *slot);
u32 remsim_slot_index(struct remsim_slot *slot);
struct device *remsim_slot_device(struct remsim_slot *slot);

/*
 * Whether the owner's queue takes another message from the modem side. A
 * backend that can wait (stop reading the board, block the modem) checks
 * this first and waits for ->up_room; the calls below never drop what they
 * get, they queue beyond the limit.
 */
bool remsim_slot_up_room(struct remsim_slot *slot);

void remsim_slot_rx_header(struct remsim_slot *slot, const u8 hdr[T0_HDR_LEN]);
void remsim_slot_rx_data(struct remsim_slot *slot, const u8 *data, size_t len);
/* sig->changed is ignored; the core works it out. */
void remsim_slot_signals(struct remsim_slot *slot, const struct remsim_signals *sig);
void remsim_slot_pps(struct remsim_slot *slot, const struct remsim_pps *pps);
void remsim_slot_card_ack(struct remsim_slot *slot, bool inserted);
/* The board sent something invalid: counted, and reported to the owner. */
void remsim_slot_board_error(struct remsim_slot *slot);
/*
 * The board lost its state (a USB reset or suspend reboots the SIMtrace2
 * firmware): the exchange in progress is aborted as by a modem reset, the
 * transmissions not popped yet are dropped, and the owner gets the
 * REMSIM_ERR_BOARD of a board error. Any context.
 */
void remsim_slot_board_reset(struct remsim_slot *slot);

/*
 * The next transmission for the modem: 0, or -EAGAIN when there is none.
 * A backend that pops in several contexts at once makes taking one and
 * passing it on a single step under a lock of its own (sim->lock,
 * st2->pump_lock), or two of them could overtake each other.
 */
int remsim_slot_tx_pop(struct remsim_slot *slot, struct t0_tx *tx);

/*
 * remsim_sim.ko registers these so that the netlink family, which lives in
 * remsim.ko, can create and delete its slots.
 */
struct remsim_sim_ops {
	struct module *owner;
	/*
	 * A new simulated slot; with a net, it goes when the netlink socket
	 * (net, portid) that asked for it closes.
	 */
	struct remsim_slot *(*create)(const struct net *net, u32 portid);
	/* -ENOENT when index is no simulated slot. */
	int (*destroy)(u32 index);
	/* Netlink socket (net, portid) closed: its destroy-on-close slots go. */
	void (*release_portid)(const struct net *net, u32 portid);
};

int remsim_sim_ops_register(const struct remsim_sim_ops *ops);
void remsim_sim_ops_unregister(const struct remsim_sim_ops *ops);

#endif /* _REMSIM_BACKEND_H */
