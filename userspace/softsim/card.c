// SPDX-License-Identifier: GPL-2.0
/*
 * card.c - the software card's commands, see card.h.
 *
 * A command is a T=0 TPDU: P3 is Le for commands that return data and Lc
 * for commands that carry them. Data a command produces on the UICC side
 * (CLA 0x/8x) wait behind 61xx for GET RESPONSE, on the GSM side (CLA A0)
 * behind 9Fxx; a wrong Le gets 6Cxx (UICC) or 67xx (GSM) with the length
 * there is, as cards do.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "card_cmd.h"

/* --- selection ---------------------------------------------------------------- */

static int parent_of(const struct card *c, int file)
{
	return c->files[file].parent;
}

static bool is_df(const struct card *c, int file)
{
	uint8_t t = c->files[file].type;

	return t == FT_MF || t == FT_DF || t == FT_ADF;
}

/*
 * A file id seen from the current DF: a child of it, itself, its parent,
 * a sibling DF, the MF (GSM 11.11 and TS 102 221 agree on this much);
 * 7FFF is the current application.
 */
static int find_from_current(const struct card *c, uint16_t fid)
{
	int df = c->cur_df, parent = parent_of(c, df), f;

	if (fid == 0x3f00)
		return 0;
	if (fid == 0x7fff)
		return c->cur_adf;
	f = card_fs_find(c, df, fid);
	if (f >= 0)
		return f;
	if (c->files[df].fid == fid)
		return df;
	if (parent >= 0 && c->files[parent].fid == fid)
		return parent;
	if (parent >= 0) {
		f = card_fs_find(c, parent, fid);
		if (f >= 0 && is_df(c, f))
			return f;
	}
	return -1;
}

/* A path of file ids from df on (no 3F00 at its start). */
static int find_path(const struct card *c, int df, const uint8_t *path, size_t len)
{
	int f = df;

	if (len < 2 || len % 2)
		return -1;
	for (size_t i = 0; i < len; i += 2) {
		uint16_t fid = path[i] << 8 | path[i + 1];

		if (f < 0 || !is_df(c, f))
			return -1;
		f = fid == 0x7fff ? c->cur_adf : card_fs_find(c, f, fid);
	}
	return f;
}

static void make_current(struct card *c, int f)
{
	if (is_df(c, f)) {
		c->cur_df = f;
		c->cur_ef = -1;
		if (c->files[f].type == FT_ADF)
			c->cur_adf = f;
	} else {
		c->cur_df = parent_of(c, f);
		c->cur_ef = f;
	}
	c->record = 0;
}

static void cmd_select(struct card *c, struct cmd *cmd)
{
	uint8_t info[64];
	size_t n;
	int f = -1;

	if (cmd->gsm) {
		if (cmd->len != 2) {
			sw(cmd, SW_WRONG_LENGTH);
			return;
		}
		f = find_from_current(c, cmd->data[0] << 8 | cmd->data[1]);
		/* The GSM side knows no applications. */
		if (f >= 0 && c->files[f].type == FT_ADF)
			f = -1;
	} else {
		switch (cmd->p1) {
		case 0x00:	/* by file id */
			if (cmd->len == 2)
				f = find_from_current(c, cmd->data[0] << 8 | cmd->data[1]);
			else if (!cmd->len)
				f = 0;
			break;
		case 0x04:	/* by DF name */
			f = card_fs_find_aid(c, cmd->data, cmd->len);
			break;
		case 0x08:	/* path from the MF */
			f = find_path(c, 0, cmd->data, cmd->len);
			break;
		case 0x09:	/* path from the current DF */
			f = find_path(c, c->cur_df, cmd->data, cmd->len);
			break;
		default:
			sw(cmd, SW_WRONG_P1P2);
			return;
		}
	}
	if (f < 0) {
		sw(cmd, pick(cmd, SW_GSM_NOT_FOUND, SW_NOT_FOUND));
		return;
	}
	make_current(c, f);
	if (cmd->gsm) {
		n = card_fs_gsm_info(c, f, info);
		stash(c, cmd, info, n);
	} else if ((cmd->p2 & 0x0c) == 0x0c) {
		sw(cmd, SW_OK);			/* no data wanted */
	} else {
		n = card_fs_fcp(c, f, info);
		stash(c, cmd, info, n);
	}
}

static void cmd_status(struct card *c, struct cmd *cmd)
{
	const struct file *adf = c->cur_adf >= 0 ? &c->files[c->cur_adf] : NULL;
	uint8_t info[64];
	size_t n;

	if (cmd->gsm) {
		n = card_fs_gsm_info(c, c->cur_df, info);
		/* GSM phones ask for less than all of it; that is fine. */
		if (cmd->p3 && cmd->p3 <= n)
			n = cmd->p3;
		reply(cmd, info, n);
		return;
	}
	switch (cmd->p2) {
	case 0x0c:	/* no data: the phone checks the card is there */
		if (cmd->p3)
			sw(cmd, SW_WRONG_LE);
		else
			sw(cmd, SW_OK);
		return;
	case 0x01:	/* the application's DF name */
		if (!adf) {
			sw(cmd, SW_CONDITIONS);
			return;
		}
		info[0] = 0x84;
		info[1] = adf->aid_len;
		memcpy(info + 2, adf->aid, adf->aid_len);
		reply(cmd, info, 2 + adf->aid_len);
		return;
	case 0x00:
		n = card_fs_fcp(c, c->cur_df, info);
		reply(cmd, info, n);
		return;
	}
	sw(cmd, SW_WRONG_P1P2);
}

/* --- reading and updating ----------------------------------------------------- */

/* The EF a command works on: current, or named by SFI in P1 (binary) or P2 (record). */
static int target_ef(struct card *c, struct cmd *cmd, bool record)
{
	uint8_t sfi = record ? cmd->p2 >> 3 : (cmd->p1 & 0x80 ? cmd->p1 & 0x1f : 0);
	int f;

	if (sfi && !cmd->gsm) {
		for (unsigned int i = 0; i < c->nfiles; i++) {
			if (c->files[i].parent == c->cur_df && c->files[i].sfi == sfi) {
				make_current(c, i);
				return i;
			}
		}
		return -1;
	}
	f = c->cur_ef;
	return f;
}

static void cmd_binary(struct card *c, struct cmd *cmd, bool update)
{
	int f = target_ef(c, cmd, false);
	const struct file *ef;
	size_t offset, n;

	if (f < 0) {
		sw(cmd, pick(cmd, SW_GSM_NO_EF, SW_NO_EF));
		return;
	}
	ef = &c->files[f];
	if (ef->type != FT_TRANSPARENT) {
		sw(cmd, pick(cmd, SW_GSM_CONDITIONS, SW_CONDITIONS));
		return;
	}
	if (pin_needed(c, update ? ef->update_ac : ef->read_ac)) {
		sw(cmd, pick(cmd, SW_GSM_SECURITY, SW_SECURITY));
		return;
	}
	offset = (cmd->p1 & 0x80) && !cmd->gsm ? cmd->p2 : (cmd->p1 << 8 | cmd->p2);
	if (offset >= ef->size) {
		sw(cmd, pick(cmd, SW_GSM_OUT_OF_RANGE, SW_OFFSET));
		return;
	}
	if (update) {
		n = cmd->len;
		if (!n || offset + n > ef->size) {
			sw(cmd, SW_WRONG_LENGTH);
			return;
		}
		memcpy(ef->data + offset, cmd->data, n);
		sw(cmd, SW_OK);
		return;
	}
	n = cmd->p3 ? cmd->p3 : 256;
	if (offset + n > ef->size)
		n = ef->size - offset;
	reply(cmd, ef->data + offset, n);
}

static void cmd_record(struct card *c, struct cmd *cmd, bool update)
{
	int f = target_ef(c, cmd, true);
	const struct file *ef;
	int rec;

	if (f < 0) {
		sw(cmd, pick(cmd, SW_GSM_NO_EF, SW_NO_EF));
		return;
	}
	ef = &c->files[f];
	if (ef->type != FT_LINEAR) {
		sw(cmd, pick(cmd, SW_GSM_CONDITIONS, SW_CONDITIONS));
		return;
	}
	if (pin_needed(c, update ? ef->update_ac : ef->read_ac)) {
		sw(cmd, pick(cmd, SW_GSM_SECURITY, SW_SECURITY));
		return;
	}
	switch (cmd->p2 & 0x07) {
	case 0x04:	/* absolute, or the current one with P1 0 */
		rec = cmd->p1 ? cmd->p1 : c->record;
		break;
	case 0x02:	/* next */
		rec = c->record + 1;
		break;
	case 0x03:	/* previous */
		rec = c->record ? c->record - 1 : ef->records;
		break;
	default:
		sw(cmd, pick(cmd, SW_GSM_OUT_OF_RANGE, SW_WRONG_P1P2));
		return;
	}
	if (rec < 1 || rec > ef->records) {
		sw(cmd, pick(cmd, SW_GSM_RECORD, SW_RECORD));
		return;
	}
	c->record = rec;
	if (update) {
		if (cmd->len != ef->size) {
			sw(cmd, SW_WRONG_LENGTH);
			return;
		}
		memcpy(ef->data + (size_t)(rec - 1) * ef->size, cmd->data, ef->size);
		sw(cmd, SW_OK);
		return;
	}
	reply(cmd, ef->data + (size_t)(rec - 1) * ef->size, ef->size);
}

static void cmd_get_response(struct card *c, struct cmd *cmd)
{
	size_t le = cmd->p3 ? cmd->p3 : 256;

	if (!c->pending_len) {
		sw(cmd, pick(cmd, SW_GSM_CONDITIONS, SW_CONDITIONS));
		return;
	}
	if (le > c->pending_len) {
		sw(cmd, (cmd->gsm ? SW_WRONG_LENGTH : SW_WRONG_LE) | (c->pending_len & 0xff));
		return;		/* the data stay for the right Le */
	}
	memcpy(cmd->resp, c->pending, le);
	cmd->resp_len = le;
	if (le < c->pending_len && !cmd->gsm) {
		memmove(c->pending, c->pending + le, c->pending_len - le);
		c->pending_len -= le;
		sw(cmd, SW_UICC_RESPONSE | (c->pending_len & 0xff));
		return;
	}
	c->pending_len = 0;
	sw(cmd, SW_OK);
}

/* --- dispatch ------------------------------------------------------------------ */

/* Commands with command data (cases 3 and 4); the rest have Le in P3. */
static bool carries_data(uint8_t ins)
{
	switch (ins) {
	case 0xa4: case 0xd6: case 0xdc: case 0x20: case 0x24: case 0x26:
	case 0x28: case 0x2c: case 0x88: case 0x89: case 0x10: case 0x14:
	case 0xc2: case 0xa2: case 0x32:
		return true;
	}
	return false;
}

static void dispatch(struct card *c, struct cmd *cmd)
{
	uint8_t cla_type = cmd->cla & 0xf0;

	if (!cmd->gsm && cla_type != 0x00 && cla_type != 0x80 && cla_type != 0x40 &&
	    cla_type != 0x60 && cla_type != 0xc0 && cla_type != 0xe0) {
		sw(cmd, SW_CLA);
		return;
	}
	/* Logical channels other than the basic one are not supported. */
	if (!cmd->gsm && (cmd->cla & 0x03)) {
		sw(cmd, SW_NO_CHANNEL);
		return;
	}
	if (cmd->ins != 0xc0)
		c->pending_len = 0;

	switch (cmd->ins) {
	case 0xa4:
		cmd_select(c, cmd);
		return;
	case 0xf2:
		cmd_status(c, cmd);
		return;
	case 0xb0:
		cmd_binary(c, cmd, false);
		return;
	case 0xd6:
		cmd_binary(c, cmd, true);
		return;
	case 0xb2:
		cmd_record(c, cmd, false);
		return;
	case 0xdc:
		cmd_record(c, cmd, true);
		return;
	case 0x20:
		card_cmd_verify(c, cmd);
		return;
	case 0x24:
		card_cmd_change_pin(c, cmd);
		return;
	case 0x26:
		card_cmd_enable_pin(c, cmd, false);
		return;
	case 0x28:
		card_cmd_enable_pin(c, cmd, true);
		return;
	case 0x2c:
		card_cmd_unblock(c, cmd);
		return;
	case 0x88:
		if (cmd->gsm)
			card_cmd_run_gsm(c, cmd);
		else
			card_cmd_authenticate(c, cmd);
		return;
	case 0xc0:
		cmd_get_response(c, cmd);
		return;
	case 0x10:	/* TERMINAL PROFILE: noted, no proactive commands follow */
	case 0x14:	/* TERMINAL RESPONSE */
	case 0xc2:	/* ENVELOPE */
	case 0xfa:	/* SLEEP */
	case 0x04:	/* INVALIDATE / DEACTIVATE */
	case 0x44:	/* REHABILITATE / ACTIVATE */
		sw(cmd, SW_OK);
		return;
	case 0x70:	/* MANAGE CHANNEL */
		sw(cmd, SW_NO_CHANNEL);
		return;
	}
	sw(cmd, SW_INS);
}

size_t card_command(struct card *c, const uint8_t *tpdu, size_t len, uint8_t *resp)
{
	struct cmd cmd = { .resp = resp };

	c->counters.commands++;
	if (len < 5) {
		sw(&cmd, SW_WRONG_LENGTH);
		return cmd.resp_len;
	}
	cmd.cla = tpdu[0];
	cmd.ins = tpdu[1];
	cmd.p1 = tpdu[2];
	cmd.p2 = tpdu[3];
	cmd.p3 = tpdu[4];
	cmd.gsm = cmd.cla == 0xa0;
	if (!cmd.gsm && (cmd.cla & 0xf0) == 0xa0) {
		sw(&cmd, SW_CLA);
		return cmd.resp_len;
	}
	if (carries_data(cmd.ins)) {
		/* Command data: exactly P3 of them must have come. */
		if (len != 5u + cmd.p3) {
			sw(&cmd, SW_WRONG_LENGTH);
			return cmd.resp_len;
		}
		cmd.data = tpdu + 5;
		cmd.len = cmd.p3;
	} else if (len != 5) {
		sw(&cmd, SW_WRONG_LENGTH);
		return cmd.resp_len;
	}
	dispatch(c, &cmd);
	return cmd.resp_len;
}

/* --- life ---------------------------------------------------------------------- */

const uint8_t *card_atr(size_t *len)
{
	/* T=0 only, TA1 0x96 (F 512, D 32), historical bytes "remsim". */
	static const uint8_t atr[] = { 0x3b, 0x16, 0x96, 'r', 'e', 'm', 's', 'i', 'm' };

	*len = sizeof(atr);
	return atr;
}

void card_reset(struct card *c)
{
	c->cur_df = 0;
	c->cur_ef = -1;
	c->cur_adf = -1;
	c->record = 0;
	c->pending_len = 0;
	c->pin1_verified = false;
}

void card_profile_default(struct card_profile *p, unsigned int n)
{
	static const uint8_t ki[16] = {
		0x46, 0x5b, 0x5c, 0xe8, 0xb1, 0x99, 0xb4, 0x9f,
		0xaa, 0x5f, 0x0a, 0x2e, 0xe2, 0x38, 0xa6, 0xbc,
	};
	static const uint8_t opc[16] = {
		0xcd, 0x63, 0xcb, 0x71, 0x95, 0x4a, 0x9f, 0x4e,
		0x48, 0xa5, 0x99, 0x4e, 0x37, 0xa0, 0x2b, 0xaf,
	};

	memset(p, 0, sizeof(*p));
	snprintf(p->iccid, sizeof(p->iccid), "89882%014u", n);
	snprintf(p->imsi, sizeof(p->imsi), "00101%010u", n);
	memcpy(p->ki, ki, 16);
	memcpy(p->opc, opc, 16);
	snprintf(p->msisdn, sizeof(p->msisdn), "4900%07u", n);
	snprintf(p->spn, sizeof(p->spn), "remsim");
	p->mnc_len = 2;
	strcpy(p->pin1, "1234");
	strcpy(p->puk1, "12345678");
	strcpy(p->adm1, "88888888");
}

struct card *card_new(const struct card_profile *p)
{
	struct card *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->profile = *p;
	milenage_init(&c->mil, p->ki, p->opc);
	c->pin1_tries = PIN_TRIES;
	c->puk1_tries = PUK_TRIES;
	if (card_fs_build(c)) {
		card_free(c);
		return NULL;
	}
	card_reset(c);
	return c;
}

void card_free(struct card *c)
{
	if (!c)
		return;
	card_fs_free(c);
	free(c);
}

void card_counters(const struct card *c, struct card_counters *out)
{
	*out = c->counters;
}
