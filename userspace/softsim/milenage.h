/* SPDX-License-Identifier: GPL-2.0 */
/*
 * milenage.h - the 3GPP MILENAGE authentication functions f1, f1*, f2, f3,
 * f4, f5, f5* (TS 35.206), and the conversions TS 33.102 gives for GSM:
 * c2 (SRES from RES) and c3 (Kc from CK and IK), which a USIM uses for the
 * GSM context and remsim-softsim for RUN GSM ALGORITHM.
 */
#ifndef _SOFTSIM_MILENAGE_H
#define _SOFTSIM_MILENAGE_H

#include <stdint.h>

#include "aes.h"

struct milenage {
	struct aes128	k;
	uint8_t		opc[16];
};

/* OPc from OP: E_K(OP) xor OP. */
void milenage_opc(const uint8_t k[16], const uint8_t op[16], uint8_t opc[16]);
void milenage_init(struct milenage *m, const uint8_t k[16], const uint8_t opc[16]);
/* f1 and f1*: MAC-A and MAC-S, 8 bytes each (either may be NULL). */
void milenage_f1(const struct milenage *m, const uint8_t rand[16], const uint8_t sqn[6],
		 const uint8_t amf[2], uint8_t mac_a[8], uint8_t mac_s[8]);
/* f2..f5: RES (8), CK (16), IK (16), AK (6); any may be NULL. */
void milenage_f2345(const struct milenage *m, const uint8_t rand[16], uint8_t res[8],
		    uint8_t ck[16], uint8_t ik[16], uint8_t ak[6]);
/* f5*: the AK that hides SQN in a resynchronisation token. */
void milenage_f5star(const struct milenage *m, const uint8_t rand[16], uint8_t ak[6]);
/* GSM: SRES (4) and Kc (8) from RAND. */
void milenage_gsm(const struct milenage *m, const uint8_t rand[16], uint8_t sres[4],
		  uint8_t kc[8]);

#endif /* _SOFTSIM_MILENAGE_H */
