/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The softsim's profile file: which cards it serves and what is on them.
 *
 *   cards = 8                 # cards 0..7 with default contents
 *   [card 3]                  # then what differs, per card
 *   iccid = 8949000000000000031
 *   imsi = 262420000000031
 *   ki = 000102030405060708090a0b0c0d0e0f
 *   opc = ...   msisdn = ...   spn = ...   mnc-len = 2
 *   pin1 = 1234   puk1 = 12345678   adm1 = 88888888   pin1-enabled = yes
 */
#ifndef REMSIM_SOFTSIM_PROFILE_H
#define REMSIM_SOFTSIM_PROFILE_H

#include <stddef.h>

#include "card.h"

#define SOFTSIM_CARDS_MAX	64

struct profiles {
	unsigned int count;
	struct card_profile card[SOFTSIM_CARDS_MAX];
};

/* @count cards with the default contents of card_profile_default(). */
void profiles_default(struct profiles *p, unsigned int count);
/* Reads @path over the defaults; -EINVAL with "FILE:LINE: why" in @err. */
int profiles_load(struct profiles *p, const char *path, char *err, size_t errlen);

#endif
