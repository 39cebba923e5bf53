/* SPDX-License-Identifier: GPL-2.0 */
/*
 * osmo-remsim-client's event script: "<script> <cause>" through /bin/sh,
 * not waited for, with a filtered environment and the REMSIM_* variables
 * rack scripts read.
 */
#ifndef REMSIM_CLIENT_SCRIPT_H
#define REMSIM_CLIENT_SCRIPT_H

#include <stdint.h>

struct script_env {
	char server_addr[280], server_state[24];
	char bankd_addr[80], bankd_state[24];
	char client_slot[16], bankd_slot[16];
	int vcc, rst, clk;	/* -1: unknown */
	char usb_path[32];	/* REMSIM_USB_PATH, with ... */
	int usb_interface;	/* ... REMSIM_USB_INTERFACE unless -1 */
};

/* Starts the script; children are never waited for (SIGCHLD ignored). */
void script_run(const char *script, const char *cause, const struct script_env *env,
		const char *who);

#endif
