/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * remsim.h - the generic netlink family "remsim", version 1.
 *
 * Described in Documentation/netlink/specs/remsim.yaml; this header follows
 * it, written by hand for its comments (tests/ynl/ynl_test checks every name
 * and value against the kernel's ynl-gen-c.py output from the spec). Commands and attributes are numbered from 1. Every command validates
 * its attributes strictly: unknown or unexpected attributes, wrong types
 * and out-of-range values are refused with an extended ACK naming the
 * attribute. The family is usable from every network namespace.
 *
 * Permissions. Slots are a machine-wide resource, so "admin" below means
 * CAP_NET_ADMIN in the initial user namespace:
 *
 * - commands that change anything are for admins (EPERM otherwise);
 * - REMSIM_CMD_SLOT_GET is for anybody, but only an admin, or a caller that
 *   may open /dev/remsimN for reading and writing (the remsim group), gets
 *   the ATR, map and counters of that slot; everybody else gets the public
 *   view: the slot's identity and state, with REMSIM_A_SLOT_LIMITED set;
 * - REMSIM_A_SLOT_OWNER_PID is the owner's PID in the caller's PID namespace;
 *   0 when the owner is outside it, in the public view and in notifications
 *   (which have no single reader);
 * - joining the "events" group (REMSIM_GENL_MCGRP_EVENTS: the full view,
 *   signal and error notifications) needs CAP_NET_ADMIN, and its messages
 *   reach only network namespaces of the initial user namespace; the
 *   "slots" group (REMSIM_GENL_MCGRP_SLOTS) is for anybody and carries the
 *   public view of SLOT_ADD_NTF, SLOT_DEL_NTF and SLOT_CHANGE_NTF, after
 *   which a listener asks for what it may see with REMSIM_CMD_SLOT_GET.
 *
 * A slot as REMSIM_CMD_SLOT_GET reports it (dumps and notifications reuse
 * this layout)::
 *
 *   REMSIM_A_SLOT_INDEX         u32      N of /dev/remsimN
 *   REMSIM_A_SLOT_NAME          string   "remsimN"
 *   REMSIM_A_SLOT_BACKEND       u32      REMSIM_BACKEND_* (remsim_dev.h)
 *   REMSIM_A_SLOT_BOARD         string   board name
 *   REMSIM_A_SLOT_BUS_PATH      string   USB bus path, or "sim"
 *   REMSIM_A_SLOT_INTERFACE     u32      USB interface, or simulated slot number
 *   REMSIM_A_SLOT_OWNER_PID     u32      process that has the slot open (absent: none;
 *                                        0: not visible to the reader)
 *   REMSIM_A_SLOT_T0_STATE      u32      REMSIM_T0_* (remsim_dev.h)
 *   REMSIM_A_SLOT_SIGNALS       u32      REMSIM_SIG_* (remsim_dev.h)
 *   REMSIM_A_SLOT_ATR           binary   the ATR the modem gets
 *   REMSIM_A_SLOT_MAP           nest     absent when the slot is not mapped
 *     REMSIM_MAP_A_CLIENT_ID    u32      0..1023   } the slot's identity label
 *     REMSIM_MAP_A_CLIENT_SLOT  u32      0..1023   }
 *   REMSIM_A_SLOT_STATS         nest     counters, REMSIM_STATS_A_* (u64)
 *   REMSIM_A_SLOT_LIMITED       flag     the public view: no ATR, map or counters
 *   REMSIM_A_SLOT_LATENCY       nest     APDU latency histogram, REMSIM_LAT_A_*
 *                                        (with the counters, not in the public view)
 *
 * The kernel keeps only that label. A static bank target (a bankd's host and
 * port for setups without remsim-server) is user-space configuration:
 * remsimctl keeps it in /run/remsim/targets, keyed by the identity, and
 * remsim-client reads it there. REMSIM_MAP_A_BANK_ID, _BANK_SLOT,
 * _BANKD_HOST and _BANKD_PORT, which carried it in the first releases, stay
 * reserved and are no longer accepted (EINVAL, with an extended ACK naming
 * the attribute).
 *
 * Dumps are consistent: a dump interrupted by a slot appearing, leaving or
 * being remapped carries NLM_F_DUMP_INTR, and the caller should dump again.
 */
#ifndef _UAPI_LINUX_REMSIM_H
#define _UAPI_LINUX_REMSIM_H

#define REMSIM_GENL_NAME		"remsim"
#define REMSIM_GENL_VERSION		1
#define REMSIM_GENL_MCGRP_EVENTS	"events"	/* admins: the full view */
#define REMSIM_GENL_MCGRP_SLOTS		"slots"		/* anybody: the public view */

/* Limits of a mapping: the identity ranges of RSPRO. */
#define REMSIM_MAP_ID_MAX		1023
/* The longest bankd host of a static target (user space), without the NUL. */
#define REMSIM_MAP_HOST_MAX		253

/**
 * enum remsim_cmd - commands of the remsim family
 * @REMSIM_CMD_SLOT_GET: do: the slot REMSIM_A_SLOT_INDEX names; dump: every
 *	slot, ordered by index; what the caller may see (see Permissions)
 * @REMSIM_CMD_SLOT_SET: map slot REMSIM_A_SLOT_INDEX to the identity in
 *	REMSIM_A_SLOT_MAP (client id and slot); replaces an existing
 *	mapping. Admin.
 * @REMSIM_CMD_SLOT_UNSET: remove slot REMSIM_A_SLOT_INDEX's mapping. Admin.
 * @REMSIM_CMD_SIM_NEW: create a simulated slot (loads remsim_sim.ko when
 *	needed); with REMSIM_A_SIM_DESTROY_ON_CLOSE it disappears when the
 *	requesting socket closes. Replies with the new slot. Admin.
 * @REMSIM_CMD_SIM_DEL: delete simulated slot REMSIM_A_SLOT_INDEX. Admin.
 * @REMSIM_CMD_SLOT_ADD_NTF: (events, slots) a slot appeared
 * @REMSIM_CMD_SLOT_DEL_NTF: (events, slots) a slot is gone
 * @REMSIM_CMD_SLOT_CHANGE_NTF: (events, slots) a slot was mapped or
 *	unmapped, or its ATR changed
 * @REMSIM_CMD_SLOT_SIGNAL_NTF: (events) the modem changed VCC, RST or CLK:
 *	index, name, backend, board, bus path, interface, map (absent:
 *	unmapped), REMSIM_A_SLOT_SIGNALS and REMSIM_A_SLOT_SIGNALS_CHANGED
 * @REMSIM_CMD_SLOT_ERROR_NTF: (events) an exchange error: the same slot
 *	attributes and REMSIM_A_SLOT_ERROR (enum remsim_error_code)
 */
enum remsim_cmd {
	REMSIM_CMD_UNSPEC,
	REMSIM_CMD_SLOT_GET,
	REMSIM_CMD_SLOT_SET,
	REMSIM_CMD_SLOT_UNSET,
	REMSIM_CMD_SIM_NEW,
	REMSIM_CMD_SIM_DEL,
	REMSIM_CMD_SLOT_ADD_NTF,
	REMSIM_CMD_SLOT_DEL_NTF,
	REMSIM_CMD_SLOT_CHANGE_NTF,
	REMSIM_CMD_SLOT_SIGNAL_NTF,
	REMSIM_CMD_SLOT_ERROR_NTF,

	__REMSIM_CMD_MAX
};
#define REMSIM_CMD_MAX (__REMSIM_CMD_MAX - 1)

/**
 * enum remsim_attr - attributes of a slot (see the top of this file)
 * @REMSIM_A_PAD: padding for 64-bit attributes
 * @REMSIM_A_SIM_DESTROY_ON_CLOSE: flag for REMSIM_CMD_SIM_NEW
 * @REMSIM_A_SLOT_SIGNALS_CHANGED: u32 REMSIM_SIG_* in REMSIM_CMD_SLOT_SIGNAL_NTF
 * @REMSIM_A_SLOT_ERROR: u32 enum remsim_error_code in REMSIM_CMD_SLOT_ERROR_NTF
 * @REMSIM_A_SLOT_LIMITED: flag: the message is the public view of the slot
 *	(the reader may not see its ATR, map and counters, which are left out;
 *	an absent REMSIM_A_SLOT_MAP then does not mean "unmapped")
 * @REMSIM_A_SLOT_LATENCY: nest, enum remsim_latency_attr: how long the
 *	owner took to answer the slot's APDUs (see there)
 */
enum remsim_attr {
	REMSIM_A_UNSPEC,
	REMSIM_A_PAD,
	REMSIM_A_SLOT_INDEX,
	REMSIM_A_SLOT_NAME,
	REMSIM_A_SLOT_BACKEND,
	REMSIM_A_SLOT_BOARD,
	REMSIM_A_SLOT_BUS_PATH,
	REMSIM_A_SLOT_INTERFACE,
	REMSIM_A_SLOT_OWNER_PID,
	REMSIM_A_SLOT_T0_STATE,
	REMSIM_A_SLOT_SIGNALS,
	REMSIM_A_SLOT_ATR,
	REMSIM_A_SLOT_MAP,
	REMSIM_A_SLOT_STATS,
	REMSIM_A_SIM_DESTROY_ON_CLOSE,
	REMSIM_A_SLOT_SIGNALS_CHANGED,
	REMSIM_A_SLOT_ERROR,
	REMSIM_A_SLOT_LIMITED,
	REMSIM_A_SLOT_LATENCY,

	__REMSIM_A_MAX
};
#define REMSIM_A_MAX (__REMSIM_A_MAX - 1)

/**
 * enum remsim_map_attr - attributes inside REMSIM_A_SLOT_MAP
 * @REMSIM_MAP_A_CLIENT_ID: u32, RSPRO ClientId, 0..REMSIM_MAP_ID_MAX
 * @REMSIM_MAP_A_CLIENT_SLOT: u32, RSPRO client slot number
 * @REMSIM_MAP_A_BANK_ID: reserved, no longer accepted (was a static target's BankId)
 * @REMSIM_MAP_A_BANK_SLOT: reserved, no longer accepted (was its bank slot)
 * @REMSIM_MAP_A_BANKD_HOST: reserved, no longer accepted (was its bankd's host)
 * @REMSIM_MAP_A_BANKD_PORT: reserved, no longer accepted (was its bankd's port)
 */
enum remsim_map_attr {
	REMSIM_MAP_A_UNSPEC,
	REMSIM_MAP_A_CLIENT_ID,
	REMSIM_MAP_A_CLIENT_SLOT,
	REMSIM_MAP_A_BANK_ID,
	REMSIM_MAP_A_BANK_SLOT,
	REMSIM_MAP_A_BANKD_HOST,
	REMSIM_MAP_A_BANKD_PORT,

	__REMSIM_MAP_A_MAX
};
#define REMSIM_MAP_A_MAX (__REMSIM_MAP_A_MAX - 1)

/**
 * enum remsim_stats_attr - u64 counters inside REMSIM_A_SLOT_STATS, with
 * the meaning of the struct remsim_stats field of the same name
 */
enum remsim_stats_attr {
	REMSIM_STATS_A_UNSPEC,
	REMSIM_STATS_A_PAD,
	REMSIM_STATS_A_APDUS,
	REMSIM_STATS_A_RESPONSES,
	REMSIM_STATS_A_BYTES_UP,
	REMSIM_STATS_A_BYTES_DOWN,
	REMSIM_STATS_A_RESETS,
	REMSIM_STATS_A_POWER_CYCLES,
	REMSIM_STATS_A_PPS,
	REMSIM_STATS_A_ERRORS,
	REMSIM_STATS_A_PROTOCOL_ERRORS,
	REMSIM_STATS_A_RESPONSE_ERRORS,
	REMSIM_STATS_A_ABORTED,
	REMSIM_STATS_A_ABANDONED,
	REMSIM_STATS_A_TIMEOUTS,
	REMSIM_STATS_A_STALE_RESPONSES,
	REMSIM_STATS_A_BOARD_ERRORS,
	REMSIM_STATS_A_UP_PEAK,
	REMSIM_STATS_A_DOWN_PEAK,
	REMSIM_STATS_A_UP_BACKPRESSURE,
	REMSIM_STATS_A_DOWN_BACKPRESSURE,
	REMSIM_STATS_A_SIGNALS_MERGED,

	__REMSIM_STATS_A_MAX
};
#define REMSIM_STATS_A_MAX (__REMSIM_STATS_A_MAX - 1)

/*
 * The APDU latency histogram: from the moment a complete command APDU is
 * queued for the owner to the moment its response is handed to the board
 * (APDU mode, answered by the owner; time-outs and give-ups are counted in
 * the stats, not here). Bucket i counts latencies in
 * (2^(REMSIM_LAT_MIN_SHIFT + i - 1), 2^(REMSIM_LAT_MIN_SHIFT + i)] ns,
 * bucket 0 everything up to 2^REMSIM_LAT_MIN_SHIFT ns (16.4 us), and the
 * last one everything over 2^(REMSIM_LAT_MIN_SHIFT + REMSIM_LAT_BUCKETS - 2)
 * ns (68.7 s). Reset with the counters (REMSIM_IOC_RESET_STATS).
 */
#define REMSIM_LAT_MIN_SHIFT		14
#define REMSIM_LAT_BUCKETS		24

/**
 * enum remsim_latency_attr - inside REMSIM_A_SLOT_LATENCY
 * @REMSIM_LAT_A_PAD: padding for 64-bit attributes
 * @REMSIM_LAT_A_COUNT: u64, APDUs timed (the sum of the buckets)
 * @REMSIM_LAT_A_SUM_NS: u64, their latencies added up, in ns
 * @REMSIM_LAT_A_BUCKET: nest, enum remsim_lat_bucket_attr; one per bucket,
 *	REMSIM_LAT_BUCKETS of them, in order
 */
enum remsim_latency_attr {
	REMSIM_LAT_A_UNSPEC,
	REMSIM_LAT_A_PAD,
	REMSIM_LAT_A_COUNT,
	REMSIM_LAT_A_SUM_NS,
	REMSIM_LAT_A_BUCKET,

	__REMSIM_LAT_A_MAX
};
#define REMSIM_LAT_A_MAX (__REMSIM_LAT_A_MAX - 1)

/**
 * enum remsim_lat_bucket_attr - one bucket of REMSIM_A_SLOT_LATENCY
 * @REMSIM_LAT_BUCKET_A_PAD: padding for 64-bit attributes
 * @REMSIM_LAT_BUCKET_A_LE_NS: u64, the bucket's upper bound in ns (it counts
 *	latencies up to and including it); U64_MAX for the last bucket
 * @REMSIM_LAT_BUCKET_A_COUNT: u64, the latencies counted in it
 */
enum remsim_lat_bucket_attr {
	REMSIM_LAT_BUCKET_A_UNSPEC,
	REMSIM_LAT_BUCKET_A_PAD,
	REMSIM_LAT_BUCKET_A_LE_NS,
	REMSIM_LAT_BUCKET_A_COUNT,

	__REMSIM_LAT_BUCKET_A_MAX
};
#define REMSIM_LAT_BUCKET_A_MAX (__REMSIM_LAT_BUCKET_A_MAX - 1)

#endif /* _UAPI_LINUX_REMSIM_H */
