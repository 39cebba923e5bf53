/* SPDX-License-Identifier: GPL-2.0 */
/*
 * slotdev.h - test helpers around remsim slots: loading the modules,
 * simulated slots, the owner's side of /dev/remsimN.
 */
#ifndef _SLOTDEV_H
#define _SLOTDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/remsim_dev.h>

struct slot_msg {
	struct remsim_msg_hdr	hdr;
	uint8_t			payload[REMSIM_MSG_MAX_PAYLOAD];
};

/* Loads remsim and remsim_sim unless loaded; 0 or -errno. */
int slot_modules_load(void);
/* A new simulated slot (it stays until slot_sim_del); its index or -errno. */
int slot_sim_new(void);
int slot_sim_del(unsigned int index);

/* Opens /dev/remsimN; fd or -errno. */
int slot_open(unsigned int index, int flags);
/* Reads one message within timeout_ms; 0, -ETIMEDOUT or -errno. */
int slot_read(int fd, struct slot_msg *msg, int timeout_ms);
/* Reads until a message of the type comes (others are skipped); 0 or -errno. */
int slot_read_type(int fd, uint16_t type, struct slot_msg *msg, int timeout_ms);
/* Writes one message; 0 or -errno. */
int slot_write(int fd, uint16_t type, uint64_t seq, const void *payload, size_t len);
/* Writes the response (data then SW1 SW2) to APDU seq. */
int slot_respond(int fd, uint64_t seq, const uint8_t *resp, size_t len);
int slot_set_param(const char *module, const char *param, const char *value);
/* Writes value to a sysfs, configfs or procfs file; 0 or -errno. */
int write_file(const char *path, const char *value);
/* Messages alive in remsim.ko (debugfs), or -1. */
long slot_msgs_live(void);
/* Active objects of a slab cache (/proc/slabinfo), or -1. */
long slot_slab_active(const char *cache);

struct modem;
struct rsnl;
struct test_board;

/*
 * A slot for one test with the owner's fd and the phone on the modem side.
 * By default a simulated slot, destroyed with the netlink socket that made
 * it, so that a test that dies leaves nothing behind. With the environment
 * variable REMSIM_SLOT_BACKEND=usb, slot 0 of a software sysmoQMOD board on
 * dummy_hcd: the same tests then run on a USB slot.
 */
struct slot_fixture {
	struct rsnl		*nl;
	unsigned int		index;
	int			fd;
	struct modem		*modem;
	struct test_board	*board;
};

/* Whether the fixtures are USB slots. */
bool slot_backend_usb(void);
/* The slot goes away: simulated slot deleted, or board unplugged. */
int slot_fixture_remove(struct slot_fixture *fx);

/* 0 or -errno; open_flags for /dev/remsimN (-1: do not open it). */
int slot_fixture(struct slot_fixture *fx, int open_flags);
void slot_fixture_done(struct slot_fixture *fx);
/* Powers the phone's SIM up and reads the owner's signal messages. */
int slot_fixture_power_on(struct slot_fixture *fx);

/* A phone command in a thread of its own, for tests that answer it. */
struct phone_call {
	struct modem	*modem;
	uint8_t		apdu[300];
	size_t		len;
	bool		tpdu;		/* one TPDU (modem_tpdu), not an APDU */
	bool		rx;		/* TPDU: the phone expects data */
	uint8_t		resp[600];
	size_t		resp_len;
	uint16_t	sw;
	int		ret;
	unsigned long	thread;
};

int phone_call_start(struct phone_call *c, struct modem *m, const uint8_t *apdu, size_t len);
int phone_tpdu_start(struct phone_call *c, struct modem *m, const uint8_t *hdr,
		     const uint8_t *data, bool rx);
int phone_call_wait(struct phone_call *c);

/*
 * In a test program built as a *_usb_test variant (-DREMSIM_SLOT_USB): the
 * fixtures are USB slots, and boards a failed test left are taken down.
 */
#ifdef REMSIM_SLOT_USB
#include <stdlib.h>
#include "board.h"
#include "ktap.h"
static void __attribute__((constructor)) slot_usb_variant(void)
{
	setenv("REMSIM_SLOT_BACKEND", "usb", 1);
	ktap_after_each(board_cleanup_all);
}
#endif

#endif /* _SLOTDEV_H */
