/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sim_modem.h - the modem side of a simulated slot: test infrastructure,
 * not ABI. remsim_sim.ko gives each simulated slot N a file
 * /sys/kernel/debug/remsim_sim/remsimN/modem; whoever opens it (one at a
 * time) is the phone in that slot.
 *
 * Both ways the file carries records: a type byte, a 16-bit little-endian
 * payload length, the payload. Each write() takes one whole record, each
 * read() returns one.
 *
 * Written (the phone acts):
 *   SIM_MODEM_LINES  1 byte: SIM_MODEM_VCC | SIM_MODEM_CLK | SIM_MODEM_RST
 *   SIM_MODEM_BYTES  1..SIM_MODEM_MAX_BYTES bytes on the I/O line to the card
 * A write waits (EAGAIN with O_NONBLOCK) while the slot's owner has a full
 * queue: the back-pressure a slow owner puts on the modem side.
 *
 * Read (the card and the board act):
 *   SIM_MODEM_BYTES      bytes from the card: ATR, PPS echo, procedure
 *                        bytes, NULL bytes (0x60), data, status words
 *   SIM_MODEM_RESET      3 bytes: REMSIM_MODEM_RESET_* and a 16-bit pulse in
 *                        ms: the host drives the modem's reset line
 *   SIM_MODEM_SIM_SELECT 1 byte: 1 remote (emulated) SIM, 0 local
 *   SIM_MODEM_CARD       1 byte: the card-present line, 1 present
 */
#ifndef _REMSIM_SIM_MODEM_H
#define _REMSIM_SIM_MODEM_H

#define SIM_MODEM_LINES		1
#define SIM_MODEM_BYTES		2
#define SIM_MODEM_RESET		3
#define SIM_MODEM_SIM_SELECT	4
#define SIM_MODEM_CARD		5

#define SIM_MODEM_VCC		0x01
#define SIM_MODEM_CLK		0x02
#define SIM_MODEM_RST		0x04	/* reset asserted */

#define SIM_MODEM_HDR		3
#define SIM_MODEM_MAX_BYTES	512
#define SIM_MODEM_MAX_RECORD	(SIM_MODEM_HDR + SIM_MODEM_MAX_BYTES)

#endif /* _REMSIM_SIM_MODEM_H */
