// SPDX-License-Identifier: GPL-2.0
/*
 * rspro_fuzz - libFuzzer target for the RSPRO decoder: any bytes a peer may
 * send. Whatever decodes must encode again, and that encoding must decode
 * to the same encoding (DER is canonical); nothing may crash, leak or hang.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "remsim/rspro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rspro_pdu pdu, again;
	static uint8_t der[RSPRO_PDU_MAX], der2[RSPRO_PDU_MAX];
	static char json[16384];
	struct rspro_error err;
	int len, len2;

	if (rspro_decode(data, size, &pdu, &err))
		return 0;
	rspro_to_json(&pdu, json, sizeof(json));
	len = rspro_encode(&pdu, der, sizeof(der), &err);
	/* every decoded PDU passed the constraints, so it encodes */
	assert(len > 0);
	assert(rspro_decode(der, len, &again, &err) == 0);
	len2 = rspro_encode(&again, der2, sizeof(der2), &err);
	assert(len2 == len && !memcmp(der, der2, len));
	return 0;
}
