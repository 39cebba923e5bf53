/* SPDX-License-Identifier: GPL-2.0 */
/*
 * st2_proto.h - the messages SIMtrace2-family boards running the cardem
 * firmware exchange with the host, and their checks. Plain C: the USB
 * driver and the software board of the tests use the same definitions.
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

#include "plain.h"

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

/* Payload sizes. */
#define ST2_DATA_HDR_LEN	6	/* flags u32, data_len u16 */
#define ST2_STATUS_LEN		13
#define ST2_PTS_LEN		13
#define ST2_CONFIG_LEN		6

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
 * A TX_DATA message (host to device) for a transmission; the firmware sends
 * every byte after the 14 header bytes, data_len is only for the record.
 */
static inline size_t st2_tx_data(u8 *buf, u8 flags, const u8 *data, size_t len)
{
	size_t n = st2_hdr(buf, ST2_CLASS_CARDEM, ST2_CEMU_TX_DATA, ST2_DATA_HDR_LEN + len);

	st2_put32(buf + 8, flags);
	st2_put16(buf + 12, len);
	memcpy(buf + 14, data, len);
	return n;
}

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

#endif /* _REMSIM_ST2_PROTO_H */
