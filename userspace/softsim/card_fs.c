// SPDX-License-Identifier: GPL-2.0
/*
 * card_fs.c - the software card's files: the tree a phone expects (TS 51.011
 * for the GSM side, TS 102 221 and TS 31.102 for the UICC and the USIM),
 * filled from the profile, and how SELECT describes a file.
 */
#include <stdlib.h>
#include <string.h>

#include "card_int.h"

/* The USIM application's AID (RID A000000087, application 1002). */
static const uint8_t usim_aid[] = {
	0xa0, 0x00, 0x00, 0x00, 0x87, 0x10, 0x02, 0xff,
	0xff, 0xff, 0xff, 0x89, 0x07, 0x09, 0x00, 0x00,
};

/* Digits to BCD with swapped nibbles, padded with F. */
static void bcd(const char *digits, uint8_t *out, size_t bytes)
{
	size_t n = strlen(digits);

	memset(out, 0xff, bytes);
	for (size_t i = 0; i < n && i / 2 < bytes; i++) {
		uint8_t d = digits[i] - '0';

		if (i % 2)
			out[i / 2] = (out[i / 2] & 0x0f) | (d << 4);
		else
			out[i / 2] = (out[i / 2] & 0xf0) | d;
	}
}

/* EF.IMSI: a length, then the digits behind the parity nibble. */
static void encode_imsi(const char *imsi, uint8_t out[9])
{
	size_t n = strlen(imsi);
	char digits[17];

	memset(out, 0xff, 9);
	out[0] = (n + 2) / 2;
	/* Nibble 1 is the parity: 9 for an odd count of digits, 1 for even. */
	digits[0] = n % 2 ? '9' : '1';
	memcpy(digits + 1, imsi, n + 1);
	bcd(digits, out + 1, 8);
}

static void encode_msisdn(const char *number, uint8_t rec[14])
{
	size_t n = strlen(number);

	memset(rec, 0xff, 14);
	if (!n)
		return;
	rec[0] = 1 + (n + 1) / 2;
	rec[1] = 0x81;			/* unknown type, ISDN numbering */
	bcd(number, rec + 2, 10);
}

static int add(struct card *c, int parent, uint16_t fid, uint8_t type, uint16_t size,
	       uint8_t records, uint8_t read_ac, uint8_t update_ac, uint8_t sfi)
{
	struct file *f;
	size_t bytes = (size_t)size * (records ? records : 1);

	if (c->nfiles == FILES_MAX)
		return -1;
	f = &c->files[c->nfiles];
	memset(f, 0, sizeof(*f));
	f->fid = fid;
	f->type = type;
	f->parent = parent;
	f->size = size;
	f->records = records;
	f->read_ac = read_ac;
	f->update_ac = update_ac;
	f->sfi = sfi;
	if (bytes) {
		f->data = malloc(bytes);
		if (!f->data)
			return -1;
		memset(f->data, 0xff, bytes);
	}
	/* What the phone may write is what a card keeps. */
	f->persistent = update_ac == AC_PIN1 || update_ac == AC_ALW;
	return c->nfiles++;
}

static int ef(struct card *c, int parent, uint16_t fid, uint16_t size, uint8_t read_ac,
	      uint8_t update_ac, uint8_t sfi, const void *init, size_t init_len)
{
	int i = add(c, parent, fid, FT_TRANSPARENT, size, 0, read_ac, update_ac, sfi);

	if (i >= 0 && init)
		memcpy(c->files[i].data, init, init_len < size ? init_len : size);
	return i;
}

static int rec_ef(struct card *c, int parent, uint16_t fid, uint16_t rec_len, uint8_t records,
		  uint8_t read_ac, uint8_t update_ac, uint8_t sfi, const void *first)
{
	int i = add(c, parent, fid, FT_LINEAR, rec_len, records, read_ac, update_ac, sfi);

	if (i >= 0 && first)
		memcpy(c->files[i].data, first, rec_len);
	return i;
}

int card_fs_build(struct card *c)
{
	const struct card_profile *p = &c->profile;
	uint8_t iccid[10], imsi[9], msisdn[14], spn[17], ad[4] = { 0, 0, 0, p->mnc_len };
	uint8_t dir[32], loci[11] = { 0xff, 0xff, 0xff, 0xff, 0, 0xf1, 0x10, 0xff, 0xfe, 0xff, 1 };
	static const uint8_t psloci[14] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					    0, 0xf1, 0x10, 0xff, 0xfe, 0xff, 1 };
	static const uint8_t ust[8] = { 0x02, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00 };
	static const uint8_t sst[4] = { 0x0f, 0x00, 0x00, 0x00 };
	static const uint8_t start_hfn[6] = { 0xf0, 0x00, 0x00, 0xf0, 0x00, 0x00 };
	uint8_t keys[33], acc[2] = { 0x00, 0x01 };
	int mf, telecom, gsm, adf, ok = 0;

	bcd(p->iccid, iccid, sizeof(iccid));
	encode_imsi(p->imsi, imsi);
	encode_msisdn(p->msisdn, msisdn);
	memset(spn, 0xff, sizeof(spn));
	spn[0] = 0x01;			/* display the name */
	memcpy(spn + 1, p->spn, strlen(p->spn));
	memset(dir, 0xff, sizeof(dir));
	dir[0] = 0x61;			/* application template */
	dir[1] = 2 + sizeof(usim_aid) + 2 + 4;
	dir[2] = 0x4f;
	dir[3] = sizeof(usim_aid);
	memcpy(dir + 4, usim_aid, sizeof(usim_aid));
	memcpy(dir + 4 + sizeof(usim_aid), "\x50\x04USIM", 6);
	memset(keys, 0xff, sizeof(keys));
	keys[0] = 0x07;			/* no key set */

	c->nfiles = 0;
	mf = add(c, -1, 0x3f00, FT_MF, 0, 0, AC_ALW, AC_ADM, 0);
	ok |= ef(c, mf, 0x2fe2, 10, AC_ALW, AC_NEV, 0x02, iccid, 10);
	ok |= rec_ef(c, mf, 0x2f00, sizeof(dir), 1, AC_ALW, AC_ADM, 0x1e, dir);
	ok |= ef(c, mf, 0x2f05, 4, AC_ALW, AC_PIN1, 0x05, "en", 2);

	telecom = add(c, mf, 0x7f10, FT_DF, 0, 0, AC_ALW, AC_ADM, 0);
	ok |= rec_ef(c, telecom, 0x6f40, 14, 1, AC_PIN1, AC_PIN1, 0, msisdn);

	gsm = add(c, mf, 0x7f20, FT_DF, 0, 0, AC_ALW, AC_ADM, 0);
	ok |= ef(c, gsm, 0x6f07, 9, AC_PIN1, AC_ADM, 0, imsi, 9);
	ok |= ef(c, gsm, 0x6fad, 4, AC_ALW, AC_ADM, 0, ad, 4);
	ok |= ef(c, gsm, 0x6f46, 17, AC_ALW, AC_ADM, 0, spn, 17);
	ok |= ef(c, gsm, 0x6f20, 9, AC_PIN1, AC_PIN1, 0, "\xff\xff\xff\xff\xff\xff\xff\xff\x07", 9);
	ok |= ef(c, gsm, 0x6f7e, 11, AC_PIN1, AC_PIN1, 0, loci, 11);
	ok |= ef(c, gsm, 0x6fae, 1, AC_ALW, AC_ADM, 0, "\x03", 1);
	ok |= ef(c, gsm, 0x6f38, 4, AC_PIN1, AC_ADM, 0, sst, 4);
	ok |= ef(c, gsm, 0x6f78, 2, AC_PIN1, AC_ADM, 0, acc, 2);
	ok |= ef(c, gsm, 0x6f31, 1, AC_PIN1, AC_ADM, 0, "\x00", 1);
	ok |= ef(c, gsm, 0x6f7b, 12, AC_PIN1, AC_PIN1, 0, NULL, 0);
	ok |= ef(c, gsm, 0x6f74, 16, AC_PIN1, AC_PIN1, 0, NULL, 0);

	adf = add(c, mf, 0x7ff0, FT_ADF, 0, 0, AC_ALW, AC_ADM, 0);
	if (adf >= 0) {
		c->files[adf].aid_len = sizeof(usim_aid);
		memcpy(c->files[adf].aid, usim_aid, sizeof(usim_aid));
	}
	ok |= ef(c, adf, 0x6f07, 9, AC_PIN1, AC_ADM, 0x07, imsi, 9);
	ok |= ef(c, adf, 0x6fad, 4, AC_ALW, AC_ADM, 0x03, ad, 4);
	ok |= ef(c, adf, 0x6f46, 17, AC_ALW, AC_ADM, 0, spn, 17);
	ok |= ef(c, adf, 0x6f38, 8, AC_PIN1, AC_ADM, 0x04, ust, 8);
	ok |= ef(c, adf, 0x6f56, 1, AC_PIN1, AC_PIN1, 0x05, "\x00", 1);
	ok |= ef(c, adf, 0x6f78, 2, AC_PIN1, AC_ADM, 0x06, acc, 2);
	ok |= ef(c, adf, 0x6f08, 33, AC_PIN1, AC_PIN1, 0x08, keys, 33);
	ok |= ef(c, adf, 0x6f09, 33, AC_PIN1, AC_PIN1, 0x09, keys, 33);
	ok |= ef(c, adf, 0x6f7e, 11, AC_PIN1, AC_PIN1, 0x0b, loci, 11);
	ok |= ef(c, adf, 0x6f73, 14, AC_PIN1, AC_PIN1, 0x0c, psloci, 14);
	ok |= ef(c, adf, 0x6f7b, 12, AC_PIN1, AC_PIN1, 0x0d, NULL, 0);
	ok |= ef(c, adf, 0x6f31, 1, AC_PIN1, AC_ADM, 0x12, "\x00", 1);
	ok |= ef(c, adf, 0x6f5b, 6, AC_PIN1, AC_PIN1, 0x0f, start_hfn, 6);
	ok |= ef(c, adf, 0x6f5c, 3, AC_PIN1, AC_ADM, 0x10, NULL, 0);
	ok |= ef(c, adf, 0x6f05, 2, AC_ALW, AC_PIN1, 0x02, "en", 2);
	ok |= ef(c, adf, 0x6fe3, 18, AC_PIN1, AC_PIN1, 0x1e, NULL, 0);
	ok |= rec_ef(c, adf, 0x6f40, 14, 1, AC_PIN1, AC_PIN1, 0, msisdn);

	return (ok < 0 || mf < 0 || telecom < 0 || gsm < 0 || adf < 0) ? -1 : 0;
}

void card_fs_free(struct card *c)
{
	for (unsigned int i = 0; i < c->nfiles; i++)
		free(c->files[i].data);
	c->nfiles = 0;
}

int card_fs_find(const struct card *c, int parent, uint16_t fid)
{
	for (unsigned int i = 0; i < c->nfiles; i++)
		if (c->files[i].parent == parent && c->files[i].fid == fid)
			return i;
	return -1;
}

/* A DF name may be given in part, as long as what is given matches. */
int card_fs_find_aid(const struct card *c, const uint8_t *aid, size_t len)
{
	for (unsigned int i = 0; i < c->nfiles; i++) {
		const struct file *f = &c->files[i];

		if (f->type == FT_ADF && len >= 5 && len <= f->aid_len && !memcmp(f->aid, aid, len))
			return i;
	}
	return -1;
}

static bool is_df(const struct file *f)
{
	return f->type == FT_MF || f->type == FT_DF || f->type == FT_ADF;
}

static unsigned int children(const struct card *c, int df, bool dfs)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < c->nfiles; i++)
		if (c->files[i].parent == df && is_df(&c->files[i]) == dfs)
			n++;
	return n;
}

size_t card_fs_fcp(const struct card *c, int file, uint8_t *out)
{
	const struct file *f = &c->files[file];
	size_t n = 2;

	out[0] = 0x62;			/* FCP template */
	if (is_df(f)) {
		memcpy(out + n, "\x82\x02\x78\x21", 4);	/* DF, shareable */
		n += 4;
	} else if (f->type == FT_TRANSPARENT) {
		memcpy(out + n, "\x82\x02\x41\x21", 4);
		n += 4;
	} else {
		memcpy(out + n, "\x82\x05\x42\x21\x00", 5);
		out[n + 5] = f->size;
		out[n + 6] = f->records;
		n += 7;
	}
	out[n++] = 0x83;		/* file identifier */
	out[n++] = 2;
	out[n++] = f->fid >> 8;
	out[n++] = f->fid;
	if (f->type == FT_ADF) {
		out[n++] = 0x84;	/* DF name */
		out[n++] = f->aid_len;
		memcpy(out + n, f->aid, f->aid_len);
		n += f->aid_len;
	}
	memcpy(out + n, "\x8a\x01\x05", 3);		/* operational, activated */
	n += 3;
	if (is_df(f)) {
		/* PIN status template: PIN1 (key reference 01) and whether it is on. */
		memcpy(out + n, "\xc6\x06\x90\x01\x00\x83\x01\x01", 8);
		out[n + 4] = c->profile.pin1_enabled ? 0x80 : 0x00;
		n += 8;
	} else {
		uint16_t size = f->size * (f->records ? f->records : 1);

		out[n++] = 0x80;	/* file size */
		out[n++] = 2;
		out[n++] = size >> 8;
		out[n++] = size;
		if (f->sfi) {
			out[n++] = 0x88;
			out[n++] = 1;
			out[n++] = f->sfi << 3;
		}
	}
	out[1] = n - 2;
	return n;
}

static uint8_t gsm_ac(uint8_t ac)
{
	static const uint8_t codes[] = { [AC_ALW] = 0x0, [AC_PIN1] = 0x1, [AC_ADM] = 0x4,
					 [AC_NEV] = 0xf };

	return codes[ac];
}

size_t card_fs_gsm_info(const struct card *c, int file, uint8_t *out)
{
	const struct file *f = &c->files[file];

	if (is_df(f)) {
		memset(out, 0, 22);
		out[2] = 0x10;				/* free memory */
		out[4] = f->fid >> 8;
		out[5] = f->fid;
		out[6] = f->type == FT_MF ? 0x01 : 0x02;
		out[12] = 9;				/* GSM specific data follow */
		out[13] = 0x01 | (c->profile.pin1_enabled ? 0 : 0x80);
		out[14] = children(c, file, true);
		out[15] = children(c, file, false);
		out[16] = 4;				/* CHVs, unblock CHVs, ADM */
		out[18] = 0x80 | c->pin1_tries;
		out[19] = 0x80 | c->puk1_tries;
		out[20] = 0x80 | PIN_TRIES;
		out[21] = 0x80 | PUK_TRIES;
		return 22;
	}
	memset(out, 0, 15);
	out[2] = (f->size * (f->records ? f->records : 1)) >> 8;
	out[3] = f->size * (f->records ? f->records : 1);
	out[4] = f->fid >> 8;
	out[5] = f->fid;
	out[6] = 0x04;					/* EF */
	out[8] = gsm_ac(f->read_ac) << 4 | gsm_ac(f->update_ac);
	out[9] = 0xff;
	out[10] = 0x44;
	out[11] = 0x01;					/* not invalidated */
	out[12] = 2;
	out[13] = f->type == FT_LINEAR ? 0x01 : 0x00;
	out[14] = f->type == FT_LINEAR ? f->size : 0;
	return 15;
}
