// SPDX-License-Identifier: GPL-2.0
/*
 * The strict peer's decoder (see strict.h), on asn1c's code for osmo's
 * module. Only rspro_strict_decode() stays global in strict.o.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "RsproPDU.h"
#include "der_encoder.h"
#include "strict.h"

/* Twice the largest PDU remsim encodes (RSPRO_PDU_MAX). */
#define STRICT_PDU_MAX	4096

static int reencodes(RsproPDU_t *pdu, const uint8_t *buf, size_t len,
		     char *why, size_t whylen)
{
	uint8_t out[STRICT_PDU_MAX];
	asn_enc_rval_t er;

	er = der_encode_to_buffer(&asn_DEF_RsproPDU, pdu, out, sizeof(out));
	if (er.encoded < 0) {
		snprintf(why, whylen, "does not encode again (%s)",
			 er.failed_type ? er.failed_type->name : "?");
		return -1;
	}
	if ((size_t)er.encoded != len || memcmp(out, buf, len)) {
		snprintf(why, whylen,
			 "encodes again to %zd bytes that differ: not DER, or something was skipped",
			 er.encoded);
		return -1;
	}
	return 0;
}

int rspro_strict_decode(const uint8_t *buf, size_t len, char *why,
			size_t whylen)
{
	RsproPDU_t *pdu = NULL;
	asn_dec_rval_t rv;
	char cerr[128];
	size_t cerrlen = sizeof(cerr);
	int tag = -1;

	rv = ber_decode(NULL, &asn_DEF_RsproPDU, (void **)&pdu, buf, len);
	if (rv.code != RC_OK) {
		snprintf(why, whylen, "strict BER decode fails after %zu of %zu bytes",
			 rv.consumed, len);
		goto out;
	}
	if (rv.consumed != len) {
		snprintf(why, whylen, "%zu bytes after the PDU", len - rv.consumed);
		goto out;
	}
	if (pdu->msg.present == RsproPDUchoice_PR_NOTHING) {
		snprintf(why, whylen, "no known alternative");
		goto out;
	}
	if (asn_check_constraints(&asn_DEF_RsproPDU, pdu, cerr, &cerrlen)) {
		snprintf(why, whylen, "constraint: %s", cerr);
		goto out;
	}
	if (reencodes(pdu, buf, len, why, whylen))
		goto out;
	tag = BER_TAG_VALUE(asn_DEF_RsproPDUchoice.elements[pdu->msg.present - 1].tag);
out:
	ASN_STRUCT_FREE(asn_DEF_RsproPDU, pdu);
	return tag;
}
