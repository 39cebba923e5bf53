// SPDX-License-Identifier: GPL-2.0
/*
 * PC/SC callers send APDUs; on T=0 the bankd's card takes TPDUs, as a
 * modem sends them. This is what a T=0 reader driver does between the two
 * (ISO 7816-3 clause 12.2): case 1 gets P3 = 00, case 4 loses its Le, a
 * 6CXX answer to an outgoing command means "again with P3 = XX", and 61XX
 * means "XX bytes wait for GET RESPONSE", whose data are gathered for the
 * caller. 9FXX of GSM SIMs (CLA A0) is left to the caller, as pySim and
 * the other SIM tools expect.
 */
#include <errno.h>
#include <string.h>

#include "ifd.h"

/*
 * GET RESPONSE in the class of the command: A0 for GSM, and for the
 * proprietary classes of TS 102 221 (8X, CX, EX) their inter-industry
 * twins (0X, 4X, 6X), keeping the logical channel.
 */
static uint8_t get_response_cla(uint8_t cla)
{
	if (cla == 0xa0)
		return cla;
	return cla & 0x7f;
}

struct t0_out {
	uint8_t *buf;
	size_t cap, len;
};

static int append(struct t0_out *o, const uint8_t *data, size_t len)
{
	/* two bytes are kept for the status word */
	if (o->len + len + 2 > o->cap)
		return -ENOSPC;
	memcpy(o->buf + o->len, data, len);
	o->len += len;
	return 0;
}

int ifd_t0_apdu(const uint8_t *apdu, size_t len, uint8_t *out, size_t *outlen,
		ifd_xfer_fn xfer, void *arg)
{
	struct t0_out o = { out, *outlen, 0 };
	uint8_t cmd[5 + 255], rx[IFD_RESP_MAX];
	size_t cmdlen, rxlen;
	bool outgoing, expects_data;	/* P3 is Le; data may come by GET RESPONSE */
	unsigned int round;
	int ret;

	if (len < 4)
		return -EINVAL;
	memcpy(cmd, apdu, 4);
	if (len == 4) {				/* case 1 */
		cmd[4] = 0;
		cmdlen = 5;
		outgoing = expects_data = false;
	} else if (len == 5) {			/* case 2 */
		cmd[4] = apdu[4];
		cmdlen = 5;
		outgoing = expects_data = true;
	} else {
		/* Lc 00 opens an extended APDU, which T=0 cannot carry as one */
		if (!apdu[4] || (len != 5u + apdu[4] && len != 6u + apdu[4]))
			return -EINVAL;
		cmdlen = 5 + apdu[4];		/* case 3, or case 4 without its Le */
		memcpy(cmd + 4, apdu + 4, cmdlen - 4);
		outgoing = false;
		expects_data = len == 6u + apdu[4];
	}
	for (round = 0; round < IFD_T0_ROUNDS; round++) {
		uint8_t sw1, sw2;

		rxlen = sizeof(rx);
		ret = xfer(arg, cmd, cmdlen, rx, &rxlen);
		if (ret)
			return ret;
		if (rxlen < 2 || rxlen > sizeof(rx))
			return -EPROTO;
		sw1 = rx[rxlen - 2];
		sw2 = rx[rxlen - 1];
		if (sw1 == 0x6c && outgoing) {
			cmd[4] = sw2;		/* the same command with the right Le */
			continue;
		}
		ret = append(&o, rx, rxlen - 2);
		if (ret)
			return ret;
		if (sw1 == 0x61 && expects_data) {
			cmd[0] = get_response_cla(cmd[0]);
			cmd[1] = 0xc0;
			cmd[2] = cmd[3] = 0;
			cmd[4] = sw2;
			cmdlen = 5;
			outgoing = true;
			continue;
		}
		out[o.len++] = sw1;
		out[o.len++] = sw2;
		*outlen = o.len;
		return 0;
	}
	return -EPROTO;
}
