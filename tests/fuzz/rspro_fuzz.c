// SPDX-License-Identifier: GPL-2.0
/*
 * rspro_fuzz - libFuzzer target for the RSPRO decoder: any bytes a peer may
 * send. Whatever decodes must encode again, and that encoding must decode
 * to the same encoding (DER is canonical); nothing may crash, leak or hang.
 * The TPDUs' own codec (tpdu_fast.c) takes nothing asn1c refuses, reads the
 * same PDU from what it takes, and writes asn1c's bytes.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "remsim/rspro.h"
#include "rspro_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rspro_pdu pdu, again, fast, slow;
	static uint8_t der[RSPRO_PDU_MAX], der2[RSPRO_PDU_MAX];
	static char json[16384];
	struct rspro_error err;
	int len, len2;

	memset(&fast, 0, sizeof(fast));
	if (!rspro_tpdu_decode_fast(data, size, &fast)) {
		assert(rspro_decode_asn1c(data, size, &slow, &err) == 0);
		assert(fast.msg == slow.msg && fast.version == slow.version &&
		       fast.tag == slow.tag && fast.tpdu.len == slow.tpdu.len &&
		       !memcmp(&fast.tpdu.client, &slow.tpdu.client, sizeof(slow.tpdu.client)) &&
		       !memcmp(&fast.tpdu.bank, &slow.tpdu.bank, sizeof(slow.tpdu.bank)) &&
		       !memcmp(&fast.tpdu.flags, &slow.tpdu.flags, sizeof(slow.tpdu.flags)) &&
		       !memcmp(fast.tpdu.data, slow.tpdu.data, slow.tpdu.len));
	}
	if (rspro_decode(data, size, &pdu, &err))
		return 0;
	rspro_to_json(&pdu, json, sizeof(json));
	len = rspro_encode(&pdu, der, sizeof(der), &err);
	/* every decoded PDU passed the constraints, so it encodes */
	assert(len > 0);
	assert(rspro_decode(der, len, &again, &err) == 0);
	len2 = rspro_encode(&again, der2, sizeof(der2), &err);
	assert(len2 == len && !memcmp(der, der2, len));
	if (pdu.msg == RSPRO_TPDU_MODEM_TO_CARD || pdu.msg == RSPRO_TPDU_CARD_TO_MODEM) {
		len2 = rspro_encode_asn1c(&pdu, der2, sizeof(der2), &err);
		assert(len2 == len && !memcmp(der, der2, len));
	}
	return 0;
}
