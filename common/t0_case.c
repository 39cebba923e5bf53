// SPDX-License-Identifier: GPL-2.0
/*
 * t0_case.c - the ISO 7816-4 case of a command, from its header.
 *
 * On T=0 the card decides the direction of the data phase with its procedure
 * bytes, so whoever plays the card must know, from CLA INS P1 P2 P3 alone,
 * whether the modem will send command data (cases 3 and 4: P3 is Lc) or
 * expects response data (case 2: P3 is Le, 0 meaning 256) or neither
 * (case 1). The rules are those of the specifications a SIM or USIM speaks:
 * GSM 11.11 (CLA A0), ETSI TS 102 221 and 3GPP TS 31.102 (CLA 0x/4x/6x and
 * 8x/Cx/Ex), GlobalPlatform (CLA 8x/Cx/Ex), tried in that order; the first
 * rule set that knows the instruction decides. ISO 7816-4's own GET DATA and
 * SELECT with CLA 00 are the last resort (they are what PC/SC discovery
 * sends).
 */
#include "t0.h"

/* GSM 11.11 section 9.2, CLA A0. */
static u8 case_gsm(u8 ins)
{
	switch (ins) {
	case 0x04:	/* INVALIDATE */
	case 0x44:	/* REHABILITATE */
	case 0xfa:	/* SLEEP */
		return 1;
	case 0xf2:	/* STATUS */
	case 0xb0:	/* READ BINARY */
	case 0xb2:	/* READ RECORD */
	case 0xc0:	/* GET RESPONSE */
	case 0x12:	/* FETCH */
		return 2;
	case 0xd6:	/* UPDATE BINARY */
	case 0xdc:	/* UPDATE RECORD */
	case 0x20:	/* VERIFY CHV */
	case 0x24:	/* CHANGE CHV */
	case 0x26:	/* DISABLE CHV */
	case 0x28:	/* ENABLE CHV */
	case 0x2c:	/* UNBLOCK CHV */
	case 0x10:	/* TERMINAL PROFILE */
	case 0x14:	/* TERMINAL RESPONSE */
		return 3;
	case 0xa4:	/* SELECT */
	case 0xa2:	/* SEEK */
	case 0x32:	/* INCREASE */
	case 0x88:	/* RUN GSM ALGORITHM */
	case 0xc2:	/* ENVELOPE */
		return 4;
	}
	return 0;
}

/* TS 102 221 table 10.5, CLA 80 exactly: the CAT and suspend commands. */
static u8 case_uicc_80(u8 ins)
{
	switch (ins) {
	case 0x12:	/* FETCH */
		return 2;
	case 0x10:	/* TERMINAL PROFILE */
	case 0x14:	/* TERMINAL RESPONSE */
		return 3;
	case 0xc2:	/* ENVELOPE */
	case 0x76:	/* SUSPEND UICC */
	case 0x7a:	/* EXCHANGE CAPABILITIES */
		return 4;
	}
	return 0;
}

/* MANAGE SECURE CHANNEL (TS 102 221 11.1.22): P1 and P2 give the direction. */
static u8 case_manage_secure_channel(u8 p1, u8 p2)
{
	u8 p2_cmd = p2 >> 5;

	if (p1 == 0x00)			/* retrieve UICC endpoints */
		return 2;
	switch (p1 & 0x07) {
	case 1:				/* establish master SA */
	case 2:				/* establish connection SA */
	case 3:				/* start secure channel SA */
		if (p2 == 0x80 || p2_cmd == 0)
			return 3;
		if (p2_cmd == 1 || p2_cmd == 5)
			return 2;
		return 0;
	case 4:				/* terminate secure channel SA */
		return 3;
	}
	return 0;
}

/* TS 102 221 table 10.5, CLA 0x, 4x, 6x: the interindustry commands. */
static u8 case_uicc_interindustry(u8 ins, u8 p1, u8 p2)
{
	switch (ins) {
	case 0x04:	/* DEACTIVATE FILE */
	case 0x44:	/* ACTIVATE FILE */
		return 1;
	case 0xb0:	/* READ BINARY */
	case 0xb2:	/* READ RECORD */
	case 0x84:	/* GET CHALLENGE */
	case 0x70:	/* MANAGE CHANNEL */
	case 0xc0:	/* GET RESPONSE */
		return 2;
	case 0xd6:	/* UPDATE BINARY */
	case 0xdc:	/* UPDATE RECORD */
	case 0x20:	/* VERIFY PIN */
	case 0x24:	/* CHANGE PIN */
	case 0x26:	/* DISABLE PIN */
	case 0x28:	/* ENABLE PIN */
	case 0x2c:	/* UNBLOCK PIN */
		return 3;
	case 0xa4:	/* SELECT */
	case 0xa2:	/* SEARCH RECORD */
	case 0x88:	/* AUTHENTICATE */
	case 0x89:	/* AUTHENTICATE (odd INS) */
		return 4;
	case 0x73:
		return case_manage_secure_channel(p1, p2);
	case 0x75:	/* TRANSACT DATA: P1 bit 3 set means data to the card */
		return (p1 & 0x04) ? 3 : 2;
	}
	return 0;
}

/* GlobalPlatform card specification, CLA 8x, Cx, Ex. */
static u8 case_globalplatform(u8 ins, u8 p1, u8 p3)
{
	switch (ins) {
	case 0xc0:	/* GET RESPONSE */
		return 2;
	case 0xf0:	/* SET STATUS */
		return 3;
	case 0xe4:	/* DELETE */
	case 0xe6:	/* INSTALL */
	case 0xe8:	/* LOAD */
	case 0xd8:	/* PUT KEY */
		return 4;
	case 0xe2:	/* STORE DATA: P1 bit 0 asks for response data */
		return (p1 & 0x01) ? 4 : 3;
	case 0xca:	/* GET DATA: P3 0 reads everything */
	case 0xcb:
		return p3 == 0 ? 2 : 4;
	case 0xf2:
		/*
		 * GET STATUS, or the ETSI STATUS with the same CLA and INS:
		 * ETSI keeps the upper four bits of P1 zero, GlobalPlatform
		 * always sets one of them.
		 */
		return (p1 & 0xf0) ? 4 : 2;
	}
	return 0;
}

/* TS 102 221 table 10.5, CLA 8x, Cx, Ex: the UICC's own commands. */
static u8 case_uicc_proprietary(u8 ins)
{
	switch (ins) {
	case 0xf2:	/* STATUS */
		return 2;
	case 0xdb:	/* SET DATA */
	case 0xaa:	/* TERMINAL CAPABILITY */
		return 3;
	case 0x32:	/* INCREASE */
	case 0xcb:	/* RETRIEVE DATA */
	case 0x78:	/* GET IDENTITY */
		return 4;
	}
	return 0;
}

/* ISO 7816-4 commands that PC/SC discovery sends with CLA 00. */
static u8 case_iso_discovery(u8 ins)
{
	switch (ins) {
	case 0xca:	/* GET DATA */
	case 0xc0:	/* GET RESPONSE */
		return 2;
	case 0xa4:	/* SELECT */
		return 4;
	}
	return 0;
}

u8 t0_apdu_case(const u8 hdr[T0_HDR_LEN])
{
	u8 cla = hdr[0], ins = hdr[1], p1 = hdr[2], p2 = hdr[3], p3 = hdr[4];
	u8 c = 0;

	switch (cla >> 4) {
	case 0x0:
	case 0x4:
	case 0x6:
		c = case_uicc_interindustry(ins, p1, p2);
		break;
	case 0x8:
		if (cla == 0x80)
			c = case_uicc_80(ins);
		if (!c)
			c = case_globalplatform(ins, p1, p3);
		if (!c)
			c = case_uicc_proprietary(ins);
		break;
	case 0xa:
		if (cla == 0xa0)
			c = case_gsm(ins);
		break;
	case 0xc:
	case 0xe:
		c = case_uicc_proprietary(ins);
		if (!c)
			c = case_globalplatform(ins, p1, p3);
		break;
	}
	if (!c && cla == 0x00)
		c = case_iso_discovery(ins);
	return c;
}
