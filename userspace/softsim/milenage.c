// SPDX-License-Identifier: GPL-2.0
/*
 * milenage.c - MILENAGE after TS 35.206, with the default constants:
 * OUTn = E_K(rot(TEMP xor OPc, rn) xor cn) xor OPc, TEMP = E_K(RAND xor OPc),
 * r1..r5 = 64, 0, 32, 64, 96 bits, c1..c5 = 0, 1, 2, 4, 8.
 */
#include <string.h>

#include "milenage.h"

static void xor16(uint8_t *dst, const uint8_t *a, const uint8_t *b)
{
	for (unsigned int i = 0; i < 16; i++)
		dst[i] = a[i] ^ b[i];
}

/* Rotation left by a whole number of bytes (every r of MILENAGE is one). */
static void rot(uint8_t dst[16], const uint8_t src[16], unsigned int bytes)
{
	for (unsigned int i = 0; i < 16; i++)
		dst[i] = src[(i + bytes) % 16];
}

void milenage_opc(const uint8_t k[16], const uint8_t op[16], uint8_t opc[16])
{
	struct aes128 aes;
	uint8_t e[16];

	aes128_init(&aes, k);
	aes128_encrypt(&aes, op, e);
	xor16(opc, e, op);
}

void milenage_init(struct milenage *m, const uint8_t k[16], const uint8_t opc[16])
{
	aes128_init(&m->k, k);
	memcpy(m->opc, opc, 16);
}

static void temp_of(const struct milenage *m, const uint8_t rand[16], uint8_t temp[16])
{
	uint8_t x[16];

	xor16(x, rand, m->opc);
	aes128_encrypt(&m->k, x, temp);
}

/* OUTn for n = 2..5 (r in bytes, c the last byte of the constant). */
static void out_n(const struct milenage *m, const uint8_t temp[16], unsigned int r,
		  uint8_t c, uint8_t out[16])
{
	uint8_t x[16], y[16];

	xor16(x, temp, m->opc);
	rot(y, x, r);
	y[15] ^= c;
	aes128_encrypt(&m->k, y, x);
	xor16(out, x, m->opc);
}

void milenage_f1(const struct milenage *m, const uint8_t rand[16], const uint8_t sqn[6],
		 const uint8_t amf[2], uint8_t mac_a[8], uint8_t mac_s[8])
{
	uint8_t temp[16], in1[16], x[16], y[16], out[16];

	temp_of(m, rand, temp);
	memcpy(in1, sqn, 6);
	memcpy(in1 + 6, amf, 2);
	memcpy(in1 + 8, sqn, 6);
	memcpy(in1 + 14, amf, 2);
	xor16(x, in1, m->opc);
	rot(y, x, 8);			/* r1 = 64 bits */
	xor16(y, y, temp);		/* c1 = 0 */
	aes128_encrypt(&m->k, y, x);
	xor16(out, x, m->opc);
	if (mac_a)
		memcpy(mac_a, out, 8);
	if (mac_s)
		memcpy(mac_s, out + 8, 8);
}

void milenage_f2345(const struct milenage *m, const uint8_t rand[16], uint8_t res[8],
		    uint8_t ck[16], uint8_t ik[16], uint8_t ak[6])
{
	uint8_t temp[16], out[16];

	temp_of(m, rand, temp);
	out_n(m, temp, 0, 1, out);	/* OUT2: f5 and f2 */
	if (ak)
		memcpy(ak, out, 6);
	if (res)
		memcpy(res, out + 8, 8);
	if (ck) {
		out_n(m, temp, 4, 2, out);	/* OUT3 */
		memcpy(ck, out, 16);
	}
	if (ik) {
		out_n(m, temp, 8, 4, out);	/* OUT4 */
		memcpy(ik, out, 16);
	}
}

void milenage_f5star(const struct milenage *m, const uint8_t rand[16], uint8_t ak[6])
{
	uint8_t temp[16], out[16];

	temp_of(m, rand, temp);
	out_n(m, temp, 12, 8, out);	/* OUT5 */
	memcpy(ak, out, 6);
}

void milenage_gsm(const struct milenage *m, const uint8_t rand[16], uint8_t sres[4],
		  uint8_t kc[8])
{
	uint8_t res[8], ck[16], ik[16];

	milenage_f2345(m, rand, res, ck, ik, NULL);
	/* c2 for a 64-bit RES; c3 folds CK and IK into 64 bits. */
	for (unsigned int i = 0; i < 4; i++)
		sres[i] = res[i] ^ res[i + 4];
	for (unsigned int i = 0; i < 8; i++)
		kc[i] = ck[i] ^ ck[i + 8] ^ ik[i] ^ ik[i + 8];
}
