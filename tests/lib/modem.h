/* SPDX-License-Identifier: GPL-2.0 */
/*
 * modem.h - a phone's SIM interface, for tests, the demo and benchmarks:
 * it powers and resets the SIM, reads the ATR, negotiates PPS and runs
 * T=0 command exchanges as ISO 7816-3 describes the terminal side, NULL
 * procedure bytes, INS and ~INS acknowledgements included. Above that, an
 * APDU layer that follows 61xx, 9Fxx and 6Cxx like phones do, and a
 * scripted phone session (modem_session.h).
 *
 * The line is reached through struct modem_line: the modem file of a
 * simulated slot (modem_open_sim()), or an in-process card emulator (the
 * software USB board).
 */
#ifndef _MODEM_H
#define _MODEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What the phone sees besides bytes (sim_modem.h records). */
struct modem_event {
	uint8_t		type;		/* SIM_MODEM_RESET, _SIM_SELECT, _CARD */
	uint8_t		data[3];
};

struct modem_line {
	void *ctx;
	/* Drive VCC, CLK, RST (SIM_MODEM_* bits); 0 or -errno. */
	int (*lines)(void *ctx, uint8_t bits);
	/* Bytes to the card; 0 or -errno. */
	int (*send)(void *ctx, const uint8_t *bytes, size_t len);
	/*
	 * One record from the card side (a SIM_MODEM_* type and payload)
	 * within timeout_ms; its length, -ETIMEDOUT, or -errno.
	 */
	int (*recv)(void *ctx, uint8_t *type, uint8_t *buf, size_t size, int timeout_ms);
	void (*close)(void *ctx);
};

struct modem;

/* The phone side of simulated slot /dev/remsimINDEX. */
int modem_open_sim(struct modem **m, unsigned int index);
/* The phone of a software SIMtrace2 board's slot (its modem socket). */
int modem_open_socket(struct modem **m, const char *path);
int modem_open_line(struct modem **m, const struct modem_line *line);
void modem_close(struct modem *m);

/*
 * How long a byte may take before the exchange is given up (default 5000),
 * and a whole TPDU, NULL procedure bytes or not (default 60000).
 */
void modem_set_timeout(struct modem *m, int ms);
void modem_set_tpdu_timeout(struct modem *m, int ms);
/* NULL bytes seen so far. */
unsigned int modem_nulls(const struct modem *m);
/*
 * The times from sending a TPDU header to the last byte of its status word,
 * in ns, since the last call (at most max of them; the oldest are dropped).
 */
unsigned int modem_take_latencies(struct modem *m, uint64_t *lat_ns, unsigned int max);
/* The oldest event not yet taken; false if none. */
bool modem_event(struct modem *m, struct modem_event *ev);
/*
 * Waits for an event of the type (SIM_MODEM_RESET, ...), reading what
 * comes; bytes that come meanwhile stay for the next read. 0 or -ETIMEDOUT.
 */
int modem_wait_event(struct modem *m, uint8_t type, struct modem_event *ev, int timeout_ms);

int modem_lines(struct modem *m, uint8_t bits);
/* Cold reset: power, clock, release reset; reads the ATR into atr. */
int modem_power_on(struct modem *m, uint8_t *atr, size_t *atr_len);
/* Warm reset: assert and release reset; reads the ATR. */
int modem_warm_reset(struct modem *m, uint8_t *atr, size_t *atr_len);
int modem_power_off(struct modem *m);
/* PPS with PPS1 = fi << 4 | di; 0 when the card echoed it. */
int modem_pps(struct modem *m, uint8_t fi, uint8_t di);

/* Reads exactly len bytes from the card, skipping nothing. */
int modem_read_bytes(struct modem *m, uint8_t *buf, size_t len);
int modem_send_bytes(struct modem *m, const uint8_t *buf, size_t len);

/*
 * One T=0 command: the 5-byte header and, when the phone has command data
 * (tx, P3 bytes), those. With rx the phone expects P3 response bytes (0
 * meaning 256). Returns 0 and fills resp (response data then SW1 SW2) and
 * *resp_len; -EPROTO when the card broke T=0; -ETIMEDOUT.
 */
int modem_tpdu(struct modem *m, const uint8_t hdr[5], const uint8_t *tx, bool rx,
	       uint8_t *resp, size_t *resp_len);

/*
 * A command APDU the way a phone sends it: case from the command tables,
 * 61xx/9Fxx answered with GET RESPONSE, 6Cxx with the command again and
 * the length the card asked for. resp gets data and SW; *sw the final SW.
 */
int modem_apdu(struct modem *m, const uint8_t *apdu, size_t len, uint8_t *resp,
	       size_t *resp_len, uint16_t *sw);

#endif /* _MODEM_H */
