/* SPDX-License-Identifier: GPL-2.0 */
/*
 * st2_proto.h - the messages SIMtrace2-family boards running the cardem
 * firmware exchange with the host: their checks, builders and the host's
 * dispatch. The one definition of the wire format: plain C (common/README)
 * that the USB driver, the libusb backend of remsim-client and the software
 * board of the tests all compile.
 *
 * Every message: an 8-byte header (class, type, seq, slot, reserved, msg_len
 * little-endian counting the header), then a payload. The device sends one
 * message per transfer on bulk IN (data, replies) and interrupt IN (status
 * changes); the host sends whole messages on bulk OUT, at most 280 bytes per
 * transfer, never a msg_len of 0 (the firmware's splitting loop would spin
 * until its watchdog reboots the board).
 */
#ifndef _REMSIM_ST2_PROTO_H
#define _REMSIM_ST2_PROTO_H

#include <linux/remsim_dev.h>

#include "plain.h"
#include "t0.h"

#define ST2_VENDOR		0x1d50
#define ST2_PID_SIMTRACE2	0x60e3
#define ST2_PID_QMOD		0x4004
#define ST2_PID_OWHW		0x4001
#define ST2_PID_OCTSIMTEST	0x616d
#define ST2_PID_NGFF		0x616e
#define ST2_CLASS		0xff
#define ST2_SUBCLASS_CARDEM	0x02

#define ST2_HDR_LEN		8
#define ST2_MSG_MAX		280	/* the firmware's receive buffer */

/* Classes and types. */
#define ST2_CLASS_GENERIC	0
#define ST2_CLASS_CARDEM	1
#define ST2_CLASS_MODEM		2

#define ST2_GENERIC_BOARD_INFO	1

#define ST2_CEMU_TX_DATA	1	/* host to device */
#define ST2_CEMU_SET_ATR	2
#define ST2_CEMU_STATS		3
#define ST2_CEMU_STATUS		4	/* request (empty) and reply/event */
#define ST2_CEMU_CARDINSERT	5
#define ST2_CEMU_RX_DATA	6	/* device to host */
#define ST2_CEMU_PTS		7
#define ST2_CEMU_CONFIG		8	/* request and reply */

#define ST2_MODEM_RESET		1
#define ST2_MODEM_SIM_SELECT	2
#define ST2_MODEM_STATUS	3

/* TX_DATA / RX_DATA flags (the T0_TX_* values of t0.h). */
#define ST2_DATA_F_TPDU_HDR	0x01
#define ST2_DATA_F_FINAL	0x02
#define ST2_DATA_F_PB_AND_TX	0x04
#define ST2_DATA_F_PB_AND_RX	0x08

/* STATUS flags. */
#define ST2_STATUS_F_VCC	0x01
#define ST2_STATUS_F_CLK	0x02
#define ST2_STATUS_F_RESET	0x10

#define ST2_FEAT_STATUS_IRQ	0x01

/* CONFIG's presence polarity byte: valid, and the line's level for "present". */
#define ST2_PRES_POL_HIGH	0x01
#define ST2_PRES_POL_VALID	0x02

/* Payload sizes. */
#define ST2_DATA_HDR_LEN	6	/* flags u32, data_len u16 */
#define ST2_STATUS_LEN		13
#define ST2_PTS_LEN		13
#define ST2_CONFIG_LEN		6
#define ST2_DATA_MAX		(ST2_MSG_MAX - ST2_HDR_LEN - ST2_DATA_HDR_LEN)
#define ST2_ATR_MAX		33	/* ISO 7816-3, REMSIM_ATR_MAX */

/* Every transmission of the T=0 engine fits one TX_DATA message. */
_Static_assert(T0_TX_MAX <= ST2_DATA_MAX, "a transmission fits one message");
_Static_assert(ST2_ATR_MAX == REMSIM_ATR_MAX, "the firmware's ATR limit");

/*
 * The cardem firmware's ATR after boot (T=0, T=1, T=15, classes A/B/C): what
 * the modem gets until the host sets one. The USB driver starts from it, the
 * card emulator of simulated slots and of the software board plays it.
 */
#define ST2_DEFAULT_ATR		{ 0x3b, 0x80, 0x80, 0x81, 0x1f, 0xc7, 0x59 }
#define ST2_DEFAULT_ATR_LEN	7

static inline u16 st2_get16(const u8 *p)
{
	return p[0] | (p[1] << 8);
}

static inline u32 st2_get32(const u8 *p)
{
	return p[0] | (p[1] << 8) | (p[2] << 16) | ((u32)p[3] << 24);
}

static inline void st2_put16(u8 *p, u16 v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static inline void st2_put32(u8 *p, u32 v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

/* A header for a message of payload_len bytes; returns the total length. */
static inline size_t st2_hdr(u8 *buf, u8 msg_class, u8 type, size_t payload_len)
{
	buf[0] = msg_class;
	buf[1] = type;
	buf[2] = 0;		/* seq_nr: nobody uses it */
	buf[3] = 0;		/* slot_nr: the interface is the slot */
	buf[4] = 0;
	buf[5] = 0;
	st2_put16(buf + 6, ST2_HDR_LEN + payload_len);
	return ST2_HDR_LEN + payload_len;
}

/*
 * The builders: each writes one whole message into buf (ST2_MSG_MAX bytes
 * always suffice) and returns its length, or 0 when the content cannot be
 * one message (more data than ST2_DATA_MAX, an ATR longer than
 * ST2_ATR_MAX): nothing is written then, and a message of length 0 must
 * never go to the board.
 */

/*
 * TX_DATA (host to device, one transmission to the modem) and RX_DATA
 * (device to host: a TPDU header or command data): flags u32, data_len
 * u16, the data. The firmware sends every byte after the 14 header bytes;
 * data_len is only for the record.
 */
size_t st2_msg_tx_data(u8 *buf, u8 flags, const u8 *data, size_t len);
size_t st2_msg_rx_data(u8 *buf, u32 flags, const u8 *data, size_t len);
/* SET_ATR: the ATR for the modem's next reset. */
size_t st2_msg_set_atr(u8 *buf, const u8 *atr, size_t len);
/* CARDINSERT: the card-present line, 1 present. */
size_t st2_msg_card_insert(u8 *buf, bool inserted);
/* SIM_SELECT: 1 the emulated (remote) SIM, 0 the modem's local one. */
size_t st2_msg_sim_select(u8 *buf, bool remote);
/* MODEM_RESET: an action (REMSIM_MODEM_RESET_*) and a pulse in ms. */
size_t st2_msg_modem_reset(u8 *buf, u8 action, u16 pulse_ms);
/*
 * CONFIG, a request (features to enable; pres_pol: 0 keeps the board's
 * card-presence polarity, else ST2_PRES_POL_*) or the device's reply.
 */
size_t st2_msg_config(u8 *buf, u32 features, u8 pres_pol);
/* STATUS, the device's report of the modem's lines and the timing. */
size_t st2_msg_status(u8 *buf, const struct remsim_signals *sig);
/* PTS: the PPS the modem sent (len bytes) and the one it got back. */
size_t st2_msg_pts(u8 *buf, const u8 *req, const u8 *resp, u8 len);

/*
 * What a message from the device is, after checking it: its class, type
 * and payload as they are on the wire, or an error.
 */
struct st2_msg {
	u8		msg_class;
	u8		type;
	const u8	*payload;
	size_t		len;
};

/*
 * Checks one message at buf (len bytes available): a full header, a
 * msg_len that fits, a class and type the device sends, a payload of the
 * size its type has. Returns the message's length, or -EINVAL/-EBADMSG.
 */
int st2_parse_device_msg(const u8 *buf, size_t len, struct st2_msg *msg);

/* The same for messages the host sends (the software board's side). */
int st2_parse_host_msg(const u8 *buf, size_t len, struct st2_msg *msg);

/*
 * What the host does with the messages of the device, the one dispatch of
 * the kernel driver and the libusb backend. Each op may be NULL (ignored).
 *  rx_header	RX_DATA with the TPDU header flag: the 5 header bytes
 *  rx_data	RX_DATA without it: command data, 0..256 bytes (the caller
 *		checks them against what the engine takes)
 *  status	STATUS: the lines as REMSIM_SIG_VCC/CLK/RST in state (changed
 *		is 0: edges are the caller's), voltage and timing
 *  pts	PTS: request and answer, F and D from the answer's PPS1 when
 *		PPS0 announces one, else 1 and 1
 *  invalid	a message that fails st2_parse_device_msg(): rest and len
 *		are where it starts and what is left of the transfer
 * Messages the firmware may send but the host has no use for (modem
 * status, board info, statistics, CONFIG replies) are skipped.
 */
struct st2_device_ops {
	void (*rx_header)(void *ctx, const u8 *hdr);
	void (*rx_data)(void *ctx, const u8 *data, size_t len);
	void (*status)(void *ctx, const struct remsim_signals *sig);
	void (*pts)(void *ctx, const struct remsim_pps *pps);
	void (*invalid)(void *ctx, const u8 *rest, size_t len);
};

/*
 * One IN transfer from the device: one message or several back to back,
 * each checked and handed to its op in order. At the first invalid one,
 * invalid() is called and the rest of the transfer is dropped (its
 * boundaries are lost). Returns the number of messages dispatched, or the
 * parser's error after invalid().
 */
int st2_dispatch(const u8 *buf, size_t len, const struct st2_device_ops *ops, void *ctx);

#endif /* _REMSIM_ST2_PROTO_H */
