/* SPDX-License-Identifier: GPL-2.0 */
/*
 * board.h - the software SIMtrace2 board (tests/board/) from a test: start
 * it on dummy_hcd, wait for its slots, command it, reach its phones.
 */
#ifndef _TEST_BOARD_H
#define _TEST_BOARD_H

#include <stdbool.h>
#include <sys/types.h>

struct modem;

struct test_board {
	pid_t		pid;
	char		ctl[96];	/* fits a socket address with ".modemN" */
	int		ctl_fd;
	unsigned int	slots;
	unsigned int	index[2];	/* its slots' /dev/remsimN */
	bool		bare;		/* no remsim.ko: plugged, nobody drives it */
};

/* Loads dummy_hcd (udcs of them), libcomposite, usb_f_fs; mounts configfs. */
int board_env(unsigned int udcs);
/*
 * Starts a board of the product (simtrace2, qmod, ...) on UDC dummy_udc.N
 * and waits until remsim has its slots; 0 or -errno.
 */
int board_start(struct test_board *b, const char *product, unsigned int udc);
/*
 * The same without remsim.ko, for user-space hosts (libusb): returns once
 * the device is enumerated, with its port path ("1-1") in @path. One such
 * board at a time.
 */
int board_start_bare(struct test_board *b, const char *product, unsigned int udc, char *path,
		     size_t size);
void board_stop(struct test_board *b);
/* One command on the control socket; 0 when the reply starts with "ok". */
int board_cmd(struct test_board *b, const char *cmd, char *reply, size_t size);
/* Unplugs and waits until the slots are gone; plugs and waits for new ones. */
int board_unplug(struct test_board *b);
int board_plug(struct test_board *b);
/* Waits until the host configured the board again (status IRQs, SIM select). */
int board_wait_ready(struct test_board *b);
/* The board's USB device in sysfs ("/sys/bus/usb/devices/1-1"); 0 or -errno. */
int board_usb_sysfs(char *path, size_t size);
/* A USB reset of the board from user space (usbfs USBDEVFS_RESET); 0 or -errno. */
int board_usb_reset(void);
/*
 * Unbinds remsim from the board's interfaces and binds it again (a new
 * probe, as after modprobe -r/modprobe); waits for the new slots.
 */
int board_rebind(struct test_board *b);
/* Kills boards a failed test left and takes down their gadgets. */
void board_cleanup_all(void);
/* The phone of slot n. */
int board_modem(struct test_board *b, unsigned int n, struct modem **m);

#endif /* _TEST_BOARD_H */
