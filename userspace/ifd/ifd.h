/* SPDX-License-Identifier: GPL-2.0 */
/*
 * remsim-ifd: a pcsc-lite IFD handler whose readers are remsim client slots.
 * reader.c runs the client core (../client/slot.c) on one event loop thread
 * for every reader of the library; pcscd's threads wait on it, each wait
 * bounded. t0map.c turns the APDUs of PC/SC callers into the T=0 TPDUs the
 * bankd expects. ifdhandler.c is pcsc-lite's API over both.
 */
#ifndef REMSIM_IFD_H
#define REMSIM_IFD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../client/slot.h"

/* One exchange with the card is given up after this long, by default. */
#define IFD_TIMEOUT_MS_DEFAULT	5000
#define IFD_TIMEOUT_MS_MIN	100
#define IFD_TIMEOUT_MS_MAX	60000
/* Readers one pcscd may give the library (pcscd's own limit is 16). */
#define IFD_READERS_MAX		16
/* A response TPDU: 256 data bytes and the status word. */
#define IFD_RESP_MAX		258

struct ifd_dev {
	struct rc_cfg cfg;
	unsigned int timeout_ms;
	bool has_client;
	struct rspro_tls_cfg tls;	/* tls, tls-ca, ... as remsim-client's */
};

/*
 * DEVICENAME of reader.conf.d, "server=HOST[:PORT] client=N slot=N
 * [timeout=MS] [tls...=..] [conf=FILE]" (spaces or commas between; FILE
 * has the same keys, "KEY = VALUE" a line): 0, or -EINVAL with @err.
 */
int ifd_parse_device(const char *text, struct ifd_dev *dev, char *err, size_t errlen);

/* --- t0map.c --- */

/* One command TPDU to the card and its response: 0 or -errno. */
typedef int (*ifd_xfer_fn)(void *arg, const uint8_t *tx, size_t txlen, uint8_t *rx,
			   size_t *rxlen);

/* At most this many TPDUs for one APDU (6Cxx and 61xx rounds). */
#define IFD_T0_ROUNDS		16

/*
 * A short APDU (cases 1 to 4) as T=0 TPDUs through @xfer, with GET RESPONSE
 * after 61xx (cases 2 and 4) and the command again with Le = XX after 6CXX:
 * the response APDU in @out (*@outlen: its size in, the length out).
 * 0; -EINVAL for a malformed or extended APDU, -ENOSPC when @out is too
 * small, -EPROTO for a response without status word or endless 61xx/6Cxx,
 * or @xfer's error.
 */
int ifd_t0_apdu(const uint8_t *apdu, size_t len, uint8_t *out, size_t *outlen,
		ifd_xfer_fn xfer, void *arg);

/* --- reader.c --- */

struct ifd_reader;

/* The library's lock and log, once; every entry point calls it first. */
void ifd_lib_init(void);

enum ifd_power {
	IFD_PWR_UP,
	IFD_PWR_DOWN,
	IFD_PWR_RESET,
};

/* A reader for @dev, its slot registering with the server: NULL and @err. */
struct ifd_reader *ifd_reader_open(const struct ifd_dev *dev, char *err, size_t errlen);
void ifd_reader_close(struct ifd_reader *r);
/* The card is there: the bankd is connected and sent the card's ATR. */
bool ifd_reader_present(struct ifd_reader *r);
/* The card's ATR (*@len: the room in, the length out): 0 or -ENODEV. */
int ifd_reader_atr(struct ifd_reader *r, uint8_t *atr, size_t *len);
/* The card's lines to the bankd (a reset there): 0, or -ENODEV without card. */
int ifd_reader_power(struct ifd_reader *r, enum ifd_power action);
/*
 * One TPDU exchange, waiting at most the reader's timeout: 0; -ENODEV
 * without card, -ETIMEDOUT, -EIO when the command was lost (bankd gone),
 * -EBUSY while an earlier, timed-out command still waits for its answer.
 */
int ifd_reader_tpdu(struct ifd_reader *r, const uint8_t *tx, size_t txlen, uint8_t *rx,
		    size_t *rxlen);
const char *ifd_reader_name(const struct ifd_reader *r);

#endif
