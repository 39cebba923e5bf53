// SPDX-License-Identifier: GPL-2.0
/* A test CA on GnuTLS: see pki.h. ECDSA P-256 keys keep generation fast. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "pki.h"

char *pki_path(const struct pki *p, const char *stem, const char *ext, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s.%s", p->dir, stem, ext);
	return buf;
}

static int write_datum(const char *path, const gnutls_datum_t *d)
{
	FILE *f = fopen(path, "w");
	int ok;

	if (!f)
		return -1;
	ok = fwrite(d->data, 1, d->size, f) == d->size;
	return fclose(f) == 0 && ok ? 0 : -1;
}

static int write_crt(const struct pki *p, gnutls_x509_crt_t crt, const char *stem)
{
	gnutls_datum_t d;
	char path[256];
	int ret;

	if (gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &d) < 0)
		return -1;
	ret = write_datum(pki_path(p, stem, "pem", path, sizeof(path)), &d);
	gnutls_free(d.data);
	return ret;
}

static int write_key(const struct pki *p, gnutls_x509_privkey_t key, const char *stem)
{
	gnutls_datum_t d;
	char path[256];
	int ret;

	if (gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &d) < 0)
		return -1;
	ret = write_datum(pki_path(p, stem, "key", path, sizeof(path)), &d);
	gnutls_free(d.data);
	return ret;
}

static gnutls_x509_privkey_t new_key(void)
{
	gnutls_x509_privkey_t key;

	if (gnutls_x509_privkey_init(&key))
		return NULL;
	if (gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
					 GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0)) {
		gnutls_x509_privkey_deinit(key);
		return NULL;
	}
	return key;
}

/* What every certificate here has: key, subject, serial, dates. */
static int crt_common(struct pki *p, gnutls_x509_crt_t crt, gnutls_x509_privkey_t key,
		      const char *cn, long from_s, long to_s)
{
	unsigned char serial[4];
	time_t now = time(NULL);

	p->serial++;
	serial[0] = p->serial >> 24;
	serial[1] = p->serial >> 16;
	serial[2] = p->serial >> 8;
	serial[3] = p->serial;
	if (gnutls_x509_crt_set_version(crt, 3) ||
	    gnutls_x509_crt_set_key(crt, key) ||
	    gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn, strlen(cn)) ||
	    gnutls_x509_crt_set_serial(crt, serial, sizeof(serial)) ||
	    gnutls_x509_crt_set_activation_time(crt, now + from_s) ||
	    gnutls_x509_crt_set_expiration_time(crt, now + to_s))
		return -1;
	return 0;
}

int pki_init(struct pki *p, const char *dir, const char *name)
{
	gnutls_x509_privkey_t key;
	gnutls_x509_crt_t crt;

	memset(p, 0, sizeof(*p));
	snprintf(p->dir, sizeof(p->dir), "%s", dir);
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->serial = 1000;
	if (mkdir(dir, 0700) && errno != EEXIST)
		return -1;
	key = new_key();
	if (!key || gnutls_x509_crt_init(&crt))
		return -1;
	p->ca_key = key;
	p->ca = crt;
	if (crt_common(p, crt, key, name, -3600, 86400) ||
	    gnutls_x509_crt_set_basic_constraints(crt, 1, -1) ||
	    gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN) ||
	    gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0))
		return -1;
	return write_crt(p, crt, name);
}

/* Each of the comma-separated URIs of @uris as a SAN. */
static int add_uris(gnutls_x509_crt_t crt, const char *uris)
{
	char buf[512], *s, *save = NULL;

	if (!uris)
		return 0;
	snprintf(buf, sizeof(buf), "%s", uris);
	for (s = strtok_r(buf, ",", &save); s; s = strtok_r(NULL, ",", &save))
		if (gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_URI, s, strlen(s),
							 GNUTLS_FSAN_APPEND))
			return -1;
	return 0;
}

int pki_leaf(struct pki *p, const char *leaf, const char *uris, long from_s, long to_s)
{
	gnutls_x509_privkey_t key = new_key();
	gnutls_x509_crt_t crt;
	int ret = -1;

	if (!key)
		return -1;
	if (gnutls_x509_crt_init(&crt)) {
		gnutls_x509_privkey_deinit(key);
		return -1;
	}
	if (!crt_common(p, crt, key, leaf, from_s, to_s) &&
	    !gnutls_x509_crt_set_basic_constraints(crt, 0, -1) &&
	    !gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE) &&
	    !gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_CLIENT, 0) &&
	    !gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0) &&
	    !add_uris(crt, uris) &&
	    !gnutls_x509_crt_sign2(crt, p->ca, p->ca_key, GNUTLS_DIG_SHA256, 0) &&
	    !write_crt(p, crt, leaf) && !write_key(p, key, leaf))
		ret = p->serial;
	gnutls_x509_crt_deinit(crt);
	gnutls_x509_privkey_deinit(key);
	return ret;
}

int pki_revoke(struct pki *p, unsigned int serial)
{
	gnutls_x509_crl_t crl;
	gnutls_datum_t d;
	time_t now = time(NULL);
	char path[256];
	unsigned int i;
	int ret = -1;

	if (p->nrevoked == PKI_REVOKED_MAX || gnutls_x509_crl_init(&crl))
		return -1;
	p->revoked[p->nrevoked++] = serial;
	if (gnutls_x509_crl_set_version(crl, 2) || gnutls_x509_crl_set_this_update(crl, now - 60) ||
	    gnutls_x509_crl_set_next_update(crl, now + 86400))
		goto out;
	for (i = 0; i < p->nrevoked; i++) {
		unsigned char s[4] = { p->revoked[i] >> 24, p->revoked[i] >> 16,
				       p->revoked[i] >> 8, p->revoked[i] };

		if (gnutls_x509_crl_set_crt_serial(crl, s, sizeof(s), now - 60))
			goto out;
	}
	if (gnutls_x509_crl_sign2(crl, p->ca, p->ca_key, GNUTLS_DIG_SHA256, 0) ||
	    gnutls_x509_crl_export2(crl, GNUTLS_X509_FMT_PEM, &d))
		goto out;
	ret = write_datum(pki_path(p, p->name, "crl", path, sizeof(path)), &d);
	gnutls_free(d.data);
out:
	gnutls_x509_crl_deinit(crl);
	return ret;
}

void pki_free(struct pki *p)
{
	if (p->ca)
		gnutls_x509_crt_deinit(p->ca);
	if (p->ca_key)
		gnutls_x509_privkey_deinit(p->ca_key);
	p->ca = p->ca_key = NULL;
}
