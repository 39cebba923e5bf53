// SPDX-License-Identifier: GPL-2.0
/*
 * st2_proto.c - checks of SIMtrace2 cardem messages, see st2_proto.h.
 */
#include "st2_proto.h"

/* The header, and msg_len against what is there. */
static int split(const u8 *buf, size_t len, struct st2_msg *msg)
{
	u16 msg_len;

	if (len < ST2_HDR_LEN)
		return -EINVAL;
	msg_len = st2_get16(buf + 6);
	if (msg_len < ST2_HDR_LEN || msg_len > len || msg_len > ST2_MSG_MAX)
		return -EINVAL;
	msg->msg_class = buf[0];
	msg->type = buf[1];
	msg->payload = buf + ST2_HDR_LEN;
	msg->len = msg_len - ST2_HDR_LEN;
	return msg_len;
}

int st2_parse_device_msg(const u8 *buf, size_t len, struct st2_msg *msg)
{
	int n = split(buf, len, msg);

	if (n < 0)
		return n;
	switch (msg->msg_class << 8 | msg->type) {
	case ST2_CLASS_CARDEM << 8 | ST2_CEMU_RX_DATA:
		/* data_len must say what is there; P3 is at most 255. */
		if (msg->len < ST2_DATA_HDR_LEN ||
		    st2_get16(msg->payload + 4) != msg->len - ST2_DATA_HDR_LEN ||
		    msg->len - ST2_DATA_HDR_LEN > 256)
			return -EBADMSG;
		if ((st2_get32(msg->payload) & ST2_DATA_F_TPDU_HDR) &&
		    msg->len - ST2_DATA_HDR_LEN != 5)
			return -EBADMSG;
		return n;
	case ST2_CLASS_CARDEM << 8 | ST2_CEMU_PTS:
		if (msg->len < ST2_PTS_LEN || msg->payload[0] > 6 || msg->payload[0] < 3)
			return -EBADMSG;
		return n;
	case ST2_CLASS_CARDEM << 8 | ST2_CEMU_STATUS:
		return msg->len < ST2_STATUS_LEN ? -EBADMSG : n;
	case ST2_CLASS_CARDEM << 8 | ST2_CEMU_CONFIG:
		return msg->len < 4 ? -EBADMSG : n;
	/* Defined, never sent by today's firmware: tolerated, ignored. */
	case ST2_CLASS_MODEM << 8 | ST2_MODEM_STATUS:
	case ST2_CLASS_GENERIC << 8 | ST2_GENERIC_BOARD_INFO:
	case ST2_CLASS_CARDEM << 8 | ST2_CEMU_STATS:
		return n;
	}
	return -EBADMSG;
}

int st2_parse_host_msg(const u8 *buf, size_t len, struct st2_msg *msg)
{
	int n = split(buf, len, msg);

	if (n < 0)
		return n;
	switch (msg->msg_class << 8 | msg->type) {
	case ST2_CLASS_CARDEM << 8 | ST2_CEMU_TX_DATA:
		return msg->len < ST2_DATA_HDR_LEN ? -EBADMSG : n;
	case ST2_CLASS_CARDEM << 8 | ST2_CEMU_SET_ATR:
		return msg->len < 1 || msg->payload[0] > msg->len - 1 ? -EBADMSG : n;
	case ST2_CLASS_CARDEM << 8 | ST2_CEMU_CARDINSERT:
	case ST2_CLASS_MODEM << 8 | ST2_MODEM_SIM_SELECT:
		return msg->len < 1 ? -EBADMSG : n;
	case ST2_CLASS_CARDEM << 8 | ST2_CEMU_CONFIG:
		return msg->len < 4 ? -EBADMSG : n;
	case ST2_CLASS_MODEM << 8 | ST2_MODEM_RESET:
		return msg->len < 3 ? -EBADMSG : n;
	case ST2_CLASS_CARDEM << 8 | ST2_CEMU_STATUS:
	case ST2_CLASS_CARDEM << 8 | ST2_CEMU_STATS:
	case ST2_CLASS_MODEM << 8 | ST2_MODEM_STATUS:
	case ST2_CLASS_GENERIC << 8 | ST2_GENERIC_BOARD_INFO:
		return n;
	}
	return -EBADMSG;
}

/* --- builders ---------------------------------------------------------------- */

static size_t data_msg(u8 *buf, u8 type, u32 flags, const u8 *data, size_t len)
{
	size_t n;

	if (len > ST2_DATA_MAX)
		return 0;
	n = st2_hdr(buf, ST2_CLASS_CARDEM, type, ST2_DATA_HDR_LEN + len);
	st2_put32(buf + ST2_HDR_LEN, flags);
	st2_put16(buf + ST2_HDR_LEN + 4, len);
	if (len)		/* no data may come as NULL */
		memcpy(buf + ST2_HDR_LEN + ST2_DATA_HDR_LEN, data, len);
	return n;
}

size_t st2_msg_tx_data(u8 *buf, u8 flags, const u8 *data, size_t len)
{
	return data_msg(buf, ST2_CEMU_TX_DATA, flags, data, len);
}

size_t st2_msg_rx_data(u8 *buf, u32 flags, const u8 *data, size_t len)
{
	return data_msg(buf, ST2_CEMU_RX_DATA, flags, data, len);
}

size_t st2_msg_set_atr(u8 *buf, const u8 *atr, size_t len)
{
	size_t n;

	if (len > ST2_ATR_MAX)
		return 0;
	n = st2_hdr(buf, ST2_CLASS_CARDEM, ST2_CEMU_SET_ATR, 1 + len);
	buf[ST2_HDR_LEN] = len;
	memcpy(buf + ST2_HDR_LEN + 1, atr, len);
	return n;
}

static size_t byte_msg(u8 *buf, u8 msg_class, u8 type, u8 v)
{
	size_t n = st2_hdr(buf, msg_class, type, 1);

	buf[ST2_HDR_LEN] = v;
	return n;
}

size_t st2_msg_card_insert(u8 *buf, bool inserted)
{
	return byte_msg(buf, ST2_CLASS_CARDEM, ST2_CEMU_CARDINSERT, inserted);
}

size_t st2_msg_sim_select(u8 *buf, bool remote)
{
	return byte_msg(buf, ST2_CLASS_MODEM, ST2_MODEM_SIM_SELECT, remote);
}

size_t st2_msg_modem_reset(u8 *buf, u8 action, u16 pulse_ms)
{
	size_t n = st2_hdr(buf, ST2_CLASS_MODEM, ST2_MODEM_RESET, 3);

	buf[ST2_HDR_LEN] = action;
	st2_put16(buf + ST2_HDR_LEN + 1, pulse_ms);
	return n;
}

size_t st2_msg_config(u8 *buf, u32 features, u8 pres_pol)
{
	size_t n = st2_hdr(buf, ST2_CLASS_CARDEM, ST2_CEMU_CONFIG, ST2_CONFIG_LEN);

	st2_put32(buf + ST2_HDR_LEN, features);
	buf[ST2_HDR_LEN + 4] = 0;	/* slot_mux_nr: one slot per interface */
	buf[ST2_HDR_LEN + 5] = pres_pol;
	return n;
}

size_t st2_msg_status(u8 *buf, const struct remsim_signals *sig)
{
	u8 *p = buf + ST2_HDR_LEN;
	u32 flags = 0;

	if (sig->state & REMSIM_SIG_VCC)
		flags |= ST2_STATUS_F_VCC;
	if (sig->state & REMSIM_SIG_CLK)
		flags |= ST2_STATUS_F_CLK;
	if (sig->state & REMSIM_SIG_RST)
		flags |= ST2_STATUS_F_RESET;
	st2_put32(p, flags);
	st2_put16(p + 4, sig->voltage_mv);
	p[6] = sig->fi;
	p[7] = sig->di;
	p[8] = sig->wi;
	st2_put32(p + 9, sig->waiting_time);
	return st2_hdr(buf, ST2_CLASS_CARDEM, ST2_CEMU_STATUS, ST2_STATUS_LEN);
}

size_t st2_msg_pts(u8 *buf, const u8 *req, const u8 *resp, u8 len)
{
	u8 *p = buf + ST2_HDR_LEN;

	if (len > 6)
		return 0;
	memset(p, 0, ST2_PTS_LEN);
	p[0] = len;
	memcpy(p + 1, req, len);
	memcpy(p + 7, resp, len);
	return st2_hdr(buf, ST2_CLASS_CARDEM, ST2_CEMU_PTS, ST2_PTS_LEN);
}

/* --- the device's messages, on the host ------------------------------------- */

static void get_status(const u8 *p, struct remsim_signals *sig)
{
	u32 flags = st2_get32(p);

	memset(sig, 0, sizeof(*sig));
	if (flags & ST2_STATUS_F_VCC)
		sig->state |= REMSIM_SIG_VCC;
	if (flags & ST2_STATUS_F_CLK)
		sig->state |= REMSIM_SIG_CLK;
	if (flags & ST2_STATUS_F_RESET)
		sig->state |= REMSIM_SIG_RST;
	sig->voltage_mv = st2_get16(p + 4);
	sig->fi = p[6];
	sig->di = p[7];
	sig->wi = p[8];
	sig->waiting_time = st2_get32(p + 9);
}

/* The parser let through len 3..6 only. */
static void get_pts(const u8 *p, struct remsim_pps *pps)
{
	memset(pps, 0, sizeof(*pps));
	pps->len = p[0];
	pps->fi = 1;
	pps->di = 1;
	memcpy(pps->req, p + 1, 6);
	memcpy(pps->resp, p + 7, 6);
	/* F and D from the answer's PPS1, when PPS0 announces one. */
	if (pps->resp[1] & 0x10) {
		pps->fi = pps->resp[2] >> 4;
		pps->di = pps->resp[2] & 0x0f;
	}
}

static void dispatch_one(const struct st2_msg *msg, const struct st2_device_ops *ops, void *ctx)
{
	const u8 *p = msg->payload;
	struct remsim_signals sig;
	struct remsim_pps pps;

	if (msg->msg_class != ST2_CLASS_CARDEM)
		return;			/* tolerated, nothing to do */
	switch (msg->type) {
	case ST2_CEMU_RX_DATA:
		if (st2_get32(p) & ST2_DATA_F_TPDU_HDR) {
			if (ops->rx_header)
				ops->rx_header(ctx, p + ST2_DATA_HDR_LEN);
		} else if (ops->rx_data) {
			ops->rx_data(ctx, p + ST2_DATA_HDR_LEN, msg->len - ST2_DATA_HDR_LEN);
		}
		break;
	case ST2_CEMU_STATUS:
		get_status(p, &sig);
		if (ops->status)
			ops->status(ctx, &sig);
		break;
	case ST2_CEMU_PTS:
		get_pts(p, &pps);
		if (ops->pts)
			ops->pts(ctx, &pps);
		break;
	}
}

int st2_dispatch(const u8 *buf, size_t len, const struct st2_device_ops *ops, void *ctx)
{
	int count = 0;

	while (len) {
		struct st2_msg msg;
		int n = st2_parse_device_msg(buf, len, &msg);

		if (n < 0) {
			if (ops->invalid)
				ops->invalid(ctx, buf, len);
			return n;
		}
		dispatch_one(&msg, ops, ctx);
		buf += n;
		len -= n;
		count++;
	}
	return count;
}
