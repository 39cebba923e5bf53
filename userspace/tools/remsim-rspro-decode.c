// SPDX-License-Identifier: GPL-2.0
/*
 * remsim-rspro-decode - RSPRO PDUs as hex on stdin (one per line, with or
 * without their IPA header; several IPA frames on a line are fine) become
 * one line of JSON each on stdout. Blank lines and lines starting with '#'
 * are skipped; spaces and colons between hex digits are ignored. A line
 * that does not decode gets a message on stderr naming it, and the exit
 * status is 1.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remsim/conf.h"
#include "remsim/ipa.h"
#include "remsim/rspro.h"

#define LINE_MAX_BYTES	(IPA_HDR_LEN + IPA_PAYLOAD_LIMIT)

static void usage(FILE *f)
{
	fprintf(f,
		"usage: remsim-rspro-decode [-h] [-V] < hex-lines\n"
		"\n"
		"Reads RSPRO PDUs as hex, one per line, bare or inside IPA frames\n"
		"(\"0010ee07300d...\"), and prints each as one line of JSON with\n"
		"every field, named as in the ASN.1. IPA CCM frames print as\n"
		"{\"ccm\":\"PING\"}. Exits 1 if any line was not a valid PDU.\n");
}

/* The byte count, or -1 with *why set. */
static long parse_hex(const char *s, uint8_t *out, size_t size, const char **why)
{
	long n = conf_hex(s, out, size);

	if (n == -EINVAL)
		*why = "not a hex digit";
	else if (n == -EILSEQ)
		*why = "odd number of hex digits";
	else if (n == -E2BIG)
		*why = "too long";
	return n < 0 ? -1 : n;
}

static const char *ccm_name(uint8_t type)
{
	switch (type) {
	case IPA_CCM_PING:	return "PING";
	case IPA_CCM_PONG:	return "PONG";
	case IPA_CCM_ID_GET:	return "ID_GET";
	case IPA_CCM_ID_RESP:	return "ID_RESP";
	case IPA_CCM_ID_ACK:	return "ID_ACK";
	default:		return NULL;
	}
}

static int print_pdu(const uint8_t *buf, size_t len, unsigned long lineno)
{
	static struct rspro_pdu pdu;
	static char json[16384];
	struct rspro_error err;

	if (rspro_decode(buf, len, &pdu, &err)) {
		fprintf(stderr, "remsim-rspro-decode: line %lu: %s\n", lineno,
			err.msg);
		return -1;
	}
	rspro_to_json(&pdu, json, sizeof(json));
	puts(json);
	return 0;
}

/* Do the bytes look like a sequence of whole IPA frames? */
static bool is_ipa_stream(const uint8_t *b, size_t len)
{
	size_t off = 0;

	while (off < len) {
		size_t flen;

		if (len - off < IPA_HDR_LEN + 1)
			return false;
		flen = (size_t)b[off] << 8 | b[off + 1];
		if (!flen || (b[off + 2] != IPA_PROTO_OSMO && b[off + 2] != IPA_PROTO_CCM))
			return false;
		off += IPA_HDR_LEN + flen;
	}
	return off == len;
}

static int decode_ipa(const uint8_t *b, size_t len, unsigned long lineno)
{
	size_t off = 0;
	int ret = 0;

	while (off < len) {
		size_t flen = (size_t)b[off] << 8 | b[off + 1];
		const uint8_t *p = b + off + IPA_HDR_LEN;

		off += IPA_HDR_LEN + flen;
		if (b[off - flen - 1] == IPA_PROTO_CCM) {
			const char *name = ccm_name(p[0]);

			if (name)
				printf("{\"ccm\":\"%s\"}\n", name);
			else
				printf("{\"ccm\":%u}\n", p[0]);
			continue;
		}
		if (p[0] != IPA_EXT_RSPRO) {
			fprintf(stderr,
				"remsim-rspro-decode: line %lu: IPA extension 0x%02x is not RSPRO (0x07)\n",
				lineno, p[0]);
			ret = -1;
			continue;
		}
		if (print_pdu(p + 1, flen - 1, lineno))
			ret = -1;
	}
	return ret;
}

int main(int argc, char **argv)
{
	static uint8_t buf[LINE_MAX_BYTES];
	unsigned long lineno = 0;
	char *line = NULL;
	size_t cap = 0;
	int status = 0;

	if (argc > 1) {
		if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
			usage(stdout);
			return 0;
		}
		if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")) {
			printf("remsim-rspro-decode %s\n", REMSIM_VERSION);
			return 0;
		}
		usage(stderr);
		return 2;
	}
	while (getline(&line, &cap, stdin) >= 0) {
		const char *why = NULL, *s = line;
		long n;

		lineno++;
		while (isspace((unsigned char)*s))
			s++;
		if (!*s || *s == '#')
			continue;
		n = parse_hex(s, buf, sizeof(buf), &why);
		if (n < 0) {
			fprintf(stderr, "remsim-rspro-decode: line %lu: %s\n",
				lineno, why);
			status = 1;
			continue;
		}
		if (is_ipa_stream(buf, n) ? decode_ipa(buf, n, lineno) :
		    print_pdu(buf, n, lineno))
			status = 1;
		fflush(stdout);
	}
	free(line);
	return status;
}
