/* SPDX-License-Identifier: GPL-2.0 */
/*
 * aes.h - AES-128 block encryption (FIPS-197), what Milenage needs; no
 * decryption, no modes.
 */
#ifndef _SOFTSIM_AES_H
#define _SOFTSIM_AES_H

#include <stdint.h>

struct aes128 {
	uint8_t round_keys[11][16];
};

void aes128_init(struct aes128 *aes, const uint8_t key[16]);
void aes128_encrypt(const struct aes128 *aes, const uint8_t in[16], uint8_t out[16]);

#endif /* _SOFTSIM_AES_H */
