// SPDX-License-Identifier: GPL-2.0
/*
 * rspro_codec - what the RSPRO codec costs per APDU: DER encode plus BER
 * decode of a TpduModemToCard carrying a 261-byte APDU (the largest short
 * command: header, Lc, 255 data bytes, Le), the IPA header included, against
 * a plain memcpy of the same bytes as the base.
 *
 *   rspro_codec [ROUNDS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "measure.h"
#include "remsim/ipa.h"
#include "remsim/rspro.h"

#define APDU_LEN	261

/* Keeps the compiler from dropping work whose result nobody reads. */
static void sink(const void *p)
{
	__asm__ volatile("" : : "r"(p) : "memory");
}

int main(int argc, char **argv)
{
	static struct rspro_pdu pdu, back;
	static uint8_t apdu[APDU_LEN], frame[IPA_RSPRO_HDR_LEN + RSPRO_PDU_MAX];
	static uint8_t copy[APDU_LEN];
	unsigned long rounds = argc > 1 ? strtoul(argv[1], NULL, 0) : 200000;
	uint64_t t0, codec_ns, copy_ns;
	unsigned long i;
	int len = 0;

	for (i = 0; i < APDU_LEN; i++)
		apdu[i] = i;
	apdu[0] = 0x00;
	apdu[1] = 0xd6;	/* UPDATE BINARY */
	apdu[4] = 0xff;
	rspro_tpdu(&pdu, RSPRO_TPDU_MODEM_TO_CARD, (struct rspro_client_slot){ 23, 0 },
		   (struct rspro_bank_slot){ 1, 5 }, apdu, APDU_LEN);

	t0 = now_ns();
	for (i = 0; i < rounds; i++) {
		len = rspro_encode(&pdu, frame + IPA_RSPRO_HDR_LEN, RSPRO_PDU_MAX, NULL);
		ipa_rspro_header(frame, len);
		if (rspro_decode(frame + IPA_RSPRO_HDR_LEN, len, &back, NULL) ||
		    back.tpdu.len != APDU_LEN) {
			fprintf(stderr, "rspro_codec: round trip failed\n");
			return 1;
		}
		sink(&back);
	}
	codec_ns = now_ns() - t0;

	t0 = now_ns();
	for (i = 0; i < rounds; i++) {
		memcpy(copy, apdu, APDU_LEN);
		sink(copy);
	}
	copy_ns = now_ns() - t0;
	if (!copy_ns)
		copy_ns = 1;

	printf("# %lu encode+decode round trips of a TpduModemToCard with a %d-byte APDU (%d-byte PDU)\n",
	       rounds, APDU_LEN, len);
	printf("rspro_codec_rate: %.0f per s\n", rounds / (codec_ns / 1e9));
	printf("rspro_codec_ns: %.1f ns (%.1fx vs memcpy)\n",
	       (double)codec_ns / rounds, (double)codec_ns / copy_ns);
	printf("memcpy_ns: %.1f ns\n", (double)copy_ns / rounds);
	return 0;
}
