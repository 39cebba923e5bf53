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
