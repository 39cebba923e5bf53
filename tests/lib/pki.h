/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A certificate authority for tests, on GnuTLS calls (no certtool): a CA,
 * leaf certificates with remsim's SAN URIs and chosen validity, a CRL, all
 * as PEM files in a directory, made at test time.
 */
#ifndef TESTS_PKI_H
#define TESTS_PKI_H

#include <stddef.h>

#define PKI_REVOKED_MAX	16

struct pki {
	char dir[200];
	char name[32];			/* the CA's CN and file stem */
	void *ca_key, *ca;		/* gnutls_x509_privkey_t, gnutls_x509_crt_t */
	unsigned int serial;
	unsigned int revoked[PKI_REVOKED_MAX], nrevoked;
};

/* A CA named @name in @dir (made if missing): @dir/@name.pem. 0 or -1. */
int pki_init(struct pki *p, const char *dir, const char *name);
/*
 * A leaf certificate @dir/@leaf.pem and its key @dir/@leaf.key, subject
 * CN=@leaf, with the SAN URIs in @uris (comma-separated, NULL: none), valid
 * from now + @from_s to now + @to_s seconds. Returns its serial, or -1.
 */
int pki_leaf(struct pki *p, const char *leaf, const char *uris, long from_s, long to_s);
/* Adds @serial to the CRL, and writes @dir/@name.crl. 0 or -1. */
int pki_revoke(struct pki *p, unsigned int serial);
void pki_free(struct pki *p);
/* "@dir/@stem.@ext" into @buf; returns @buf. */
char *pki_path(const struct pki *p, const char *stem, const char *ext, char *buf, size_t size);

#endif
