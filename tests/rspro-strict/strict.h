/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A strict RSPRO peer for the tests: the BER decoder of osmo-remsim's own
 * module (tests/rspro-strict/RSPRO.asn, built by scripts/asn1-strict-gen)
 * with no tolerance for what that module does not define. Its asn1c
 * symbols are local to build/asn1-strict/strict.o, so it links next to
 * libremsim-rspro's asn1c code of the same names.
 */
#ifndef REMSIM_TESTS_RSPRO_STRICT_H
#define REMSIM_TESTS_RSPRO_STRICT_H

#include <stddef.h>
#include <stdint.h>

/*
 * Decodes the DER PDU @buf of @len bytes as a strict peer would: the whole
 * buffer, no unknown extension addition or alternative, every constraint
 * met, and the DER encoder gives back exactly @buf (nothing was dropped).
 * Returns the context tag of the RsproPDUchoice alternative (0..20), or -1
 * with the reason in @why.
 */
int rspro_strict_decode(const uint8_t *buf, size_t len, char *why,
			size_t whylen);

#endif
