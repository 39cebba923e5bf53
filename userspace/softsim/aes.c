// SPDX-License-Identifier: GPL-2.0
/*
 * aes.c - AES-128 encryption after FIPS-197. The S-box is computed from its
 * definition (the multiplicative inverse in GF(2^8) followed by the affine
 * map) on first use, rather than typed in as a table.
 */
#include <pthread.h>
#include <string.h>

#include "aes.h"

static uint8_t sbox[256];
static pthread_once_t sbox_once = PTHREAD_ONCE_INIT;

/* Multiplication in GF(2^8) modulo x^8 + x^4 + x^3 + x + 1. */
static uint8_t gf_mul(uint8_t a, uint8_t b)
{
	uint8_t p = 0;

	while (b) {
		if (b & 1)
			p ^= a;
		a = (a << 1) ^ (a & 0x80 ? 0x1b : 0);
		b >>= 1;
	}
	return p;
}

static uint8_t rotl8(uint8_t x, int n)
{
	return (x << n) | (x >> (8 - n));
}

static void make_sbox(void)
{
	for (unsigned int i = 0; i < 256; i++) {
		uint8_t inv = 0, b;

		/* The inverse: the x with i * x == 1 (0 maps to 0). */
		for (unsigned int x = 1; i && x < 256; x++) {
			if (gf_mul(i, x) == 1) {
				inv = x;
				break;
			}
		}
		b = inv ^ rotl8(inv, 1) ^ rotl8(inv, 2) ^ rotl8(inv, 3) ^ rotl8(inv, 4) ^ 0x63;
		sbox[i] = b;
	}
}

void aes128_init(struct aes128 *aes, const uint8_t key[16])
{
	uint8_t *w = &aes->round_keys[0][0];
	uint8_t rcon = 1;

	pthread_once(&sbox_once, make_sbox);
	memcpy(w, key, 16);
	for (unsigned int i = 16; i < 176; i += 4) {
		uint8_t t[4] = { w[i - 4], w[i - 3], w[i - 2], w[i - 1] };

		if (i % 16 == 0) {
			/* RotWord, SubWord, Rcon. */
			uint8_t t0 = t[0];

			t[0] = sbox[t[1]] ^ rcon;
			t[1] = sbox[t[2]];
			t[2] = sbox[t[3]];
			t[3] = sbox[t0];
			rcon = gf_mul(rcon, 2);
		}
		for (unsigned int j = 0; j < 4; j++)
			w[i + j] = w[i - 16 + j] ^ t[j];
	}
}

static void add_round_key(uint8_t s[16], const uint8_t k[16])
{
	for (unsigned int i = 0; i < 16; i++)
		s[i] ^= k[i];
}

/* SubBytes and ShiftRows; the state is column by column. */
static void sub_shift(uint8_t s[16])
{
	uint8_t t[16];

	for (unsigned int c = 0; c < 4; c++)
		for (unsigned int r = 0; r < 4; r++)
			t[c * 4 + r] = sbox[s[((c + r) % 4) * 4 + r]];
	memcpy(s, t, 16);
}

static void mix_columns(uint8_t s[16])
{
	for (unsigned int c = 0; c < 4; c++) {
		uint8_t *col = s + c * 4;
		uint8_t a0 = col[0], a1 = col[1], a2 = col[2], a3 = col[3];

		col[0] = gf_mul(a0, 2) ^ gf_mul(a1, 3) ^ a2 ^ a3;
		col[1] = a0 ^ gf_mul(a1, 2) ^ gf_mul(a2, 3) ^ a3;
		col[2] = a0 ^ a1 ^ gf_mul(a2, 2) ^ gf_mul(a3, 3);
		col[3] = gf_mul(a0, 3) ^ a1 ^ a2 ^ gf_mul(a3, 2);
	}
}

void aes128_encrypt(const struct aes128 *aes, const uint8_t in[16], uint8_t out[16])
{
	uint8_t s[16];

	memcpy(s, in, 16);
	add_round_key(s, aes->round_keys[0]);
	for (unsigned int round = 1; round < 10; round++) {
		sub_shift(s);
		mix_columns(s);
		add_round_key(s, aes->round_keys[round]);
	}
	sub_shift(s);
	add_round_key(s, aes->round_keys[10]);
	memcpy(out, s, 16);
}
