// SPDX-License-Identifier: GPL-2.0
/*
 * The TLS options every daemon shares (tls, tls-ca, ...), parsed in one
 * place, and the identities a certificate or PSK identity names.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remsim/conf.h"
#include "remsim/rspro_tls.h"

/* ids fit RSPRO's 0..1023 bank and client ids with room to spare */
#define ID_MAX	65535

static const char *const keys[RSPRO_TLS_NKEYS] = {
	"tls", "tls-ca", "tls-cert", "tls-key", "tls-crl", "tls-psk-identity",
	"tls-psk-file", "tls-handshake-timeout", "tls-server", "tls-bankd",
};

const char rspro_tls_usage[] =
	"      --tls on|off           TLS 1.3 on RSPRO links (default off: plaintext,\n"
	"                             as osmo-remsim speaks)\n"
	"      --tls-ca FILE          CA certificates (PEM) peers' certificates chain to\n"
	"      --tls-cert FILE        our certificate (PEM), its SAN URI naming our role\n"
	"      --tls-key FILE         its private key (PEM)\n"
	"      --tls-crl FILE         revoked certificates (PEM CRL), optional\n"
	"      --tls-psk-file FILE    pre-shared keys instead: IDENTITY:HEXKEY lines\n"
	"      --tls-psk-identity ID  our line of that file (client:23, bankd:1)\n"
	"      --tls-handshake-timeout S  seconds a handshake may take (default 10)\n";

const char rspro_tls_link_usage[] =
	"      --tls-server on|off    TLS on the link to the server (default: --tls)\n"
	"      --tls-bankd on|off     TLS between clients and bankds (default: --tls)\n";

void rspro_tls_cfg_default(struct rspro_tls_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mode = RSPRO_TLS_OFF;
	cfg->server_link = RSPRO_TLS_UNSET;
	cfg->bankd_link = RSPRO_TLS_UNSET;
	cfg->handshake_ms = RSPRO_TLS_HANDSHAKE_MS;
}

const char *rspro_tls_opt_key(int opt)
{
	return rspro_tls_is_opt(opt) ? keys[opt - RSPRO_TLS_OPT_BASE] : NULL;
}

static int set_mode(enum rspro_tls_mode *m, const char *key, const char *value, char *why,
		    size_t whylen)
{
	if (!strcmp(value, "on") || !strcmp(value, "yes") || !strcmp(value, "1")) {
		*m = RSPRO_TLS_ON;
	} else if (!strcmp(value, "off") || !strcmp(value, "no") || !strcmp(value, "0")) {
		*m = RSPRO_TLS_OFF;
	} else {
		snprintf(why, whylen, "%s \"%s\" is not on or off", key, value);
		return -EINVAL;
	}
	return 0;
}

static int set_path(char *dst, size_t size, const char *key, const char *value, char *why,
		    size_t whylen)
{
	if (!*value || strlen(value) >= size) {
		snprintf(why, whylen, "%s must be 1..%zu characters", key, size - 1);
		return -EINVAL;
	}
	strcpy(dst, value);
	return 0;
}

/*
 * "%d/NAME" is NAME in $CREDENTIALS_DIRECTORY, where systemd's
 * LoadCredential= puts a unit's credentials: the spelling of systemd's own
 * specifier, so one path works on a unit's command line (systemd expands
 * it) and in config files and /etc/default (the daemon does). Any other
 * value is a path as it is.
 */
int rspro_tls_cred_path(char *dst, size_t size, const char *key, const char *value,
			char *why, size_t whylen)
{
	const char *creds = getenv("CREDENTIALS_DIRECTORY");
	char path[RSPRO_TLS_PATH_MAX];

	if (strncmp(value, "%d/", 3))
		return set_path(dst, size, key, value, why, whylen);
	if (!creds || !*creds) {
		snprintf(why, whylen,
			 "%s \"%s\": %%d is $CREDENTIALS_DIRECTORY, which is not set "
			 "(LoadCredential= in the unit)", key, value);
		return -EINVAL;
	}
	if (!value[3] || strchr(value + 3, '/')) {
		snprintf(why, whylen, "%s \"%s\": %%d/ takes a credential name", key, value);
		return -EINVAL;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", creds, value + 3) >= sizeof(path)) {
		snprintf(why, whylen, "%s: $CREDENTIALS_DIRECTORY/%s is too long", key,
			 value + 3);
		return -EINVAL;
	}
	return set_path(dst, size, key, path, why, whylen);
}

int rspro_tls_cfg_set(struct rspro_tls_cfg *cfg, const char *key, const char *value,
		      char *why, size_t whylen)
{
	struct rspro_tls_id id;
	unsigned long v;
	int i;

	for (i = 0; i < RSPRO_TLS_NKEYS; i++)
		if (!strcmp(key, keys[i]))
			break;
	switch (i) {
	case 0:
		return set_mode(&cfg->mode, key, value, why, whylen);
	case 1:
		return rspro_tls_cred_path(cfg->ca, sizeof(cfg->ca), key, value, why,
					   whylen);
	case 2:
		return rspro_tls_cred_path(cfg->cert, sizeof(cfg->cert), key, value, why,
					   whylen);
	case 3:
		return rspro_tls_cred_path(cfg->key, sizeof(cfg->key), key, value, why,
					   whylen);
	case 4:
		return rspro_tls_cred_path(cfg->crl, sizeof(cfg->crl), key, value, why,
					   whylen);
	case 5:
		if (rspro_tls_parse_id(value, false, &id)) {
			snprintf(why, whylen,
				 "%s \"%s\" is not server, bankd:ID or client:ID[-ID]", key, value);
			return -EINVAL;
		}
		return set_path(cfg->psk_identity, sizeof(cfg->psk_identity), key, value, why,
				whylen);
	case 6:
		return rspro_tls_cred_path(cfg->psk_file, sizeof(cfg->psk_file), key, value, why,
					   whylen);
	case 7:
		if (conf_uint(value, 1, 600, &v)) {
			snprintf(why, whylen, "%s \"%s\" is not 1..600 seconds", key, value);
			return -EINVAL;
		}
		cfg->handshake_ms = v * 1000;
		return 0;
	case 8:
		return set_mode(&cfg->server_link, key, value, why, whylen);
	case 9:
		return set_mode(&cfg->bankd_link, key, value, why, whylen);
	default:
		return -ENOENT;
	}
}

bool rspro_tls_server_link(const struct rspro_tls_cfg *cfg)
{
	if (cfg->server_link != RSPRO_TLS_UNSET)
		return cfg->server_link == RSPRO_TLS_ON;
	return cfg->mode == RSPRO_TLS_ON;
}

bool rspro_tls_bankd_link(const struct rspro_tls_cfg *cfg)
{
	if (cfg->bankd_link != RSPRO_TLS_UNSET)
		return cfg->bankd_link == RSPRO_TLS_ON;
	return cfg->mode == RSPRO_TLS_ON;
}

bool rspro_tls_any(const struct rspro_tls_cfg *cfg)
{
	return cfg->mode == RSPRO_TLS_ON || rspro_tls_server_link(cfg) ||
	       rspro_tls_bankd_link(cfg);
}

bool rspro_tls_cfg_changed(const struct rspro_tls_cfg *a, const struct rspro_tls_cfg *b)
{
	return memcmp(a, b, sizeof(*a)) != 0;
}

/* "ID" or "LO-HI" up to ID_MAX, the whole of @s. */
static int parse_range(const char *s, uint32_t *lo, uint32_t *hi)
{
	char *end;
	unsigned long a, b;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	a = strtoul(s, &end, 10);
	b = a;
	if (*end == '-') {
		s = end + 1;
		if (*s < '0' || *s > '9')
			return -EINVAL;
		b = strtoul(s, &end, 10);
	}
	if (*end || a > ID_MAX || b > ID_MAX || b < a)
		return -EINVAL;
	*lo = a;
	*hi = b;
	return 0;
}

int rspro_tls_parse_id(const char *s, bool urn, struct rspro_tls_id *id)
{
	if (urn) {
		if (strncmp(s, "urn:remsim:", 11))
			return -EINVAL;
		s += 11;
	}
	if (!strcmp(s, "server")) {
		*id = (struct rspro_tls_id){ RSPRO_COMP_SERVER, 0, 0 };
		return 0;
	}
	if (!strncmp(s, "bankd:", 6)) {
		id->type = RSPRO_COMP_BANKD;
		/* a bankd serves one bank */
		if (parse_range(s + 6, &id->lo, &id->hi) || id->lo != id->hi)
			return -EINVAL;
		return 0;
	}
	if (!strncmp(s, "client:", 7)) {
		id->type = RSPRO_COMP_CLIENT;
		return parse_range(s + 7, &id->lo, &id->hi);
	}
	return -EINVAL;
}

bool rspro_tls_peer_allows(const struct rspro_tls_peer *p, enum rspro_component type,
			   uint32_t id)
{
	unsigned int i;

	for (i = 0; i < p->n; i++) {
		if (p->ids[i].type != type)
			continue;
		if (type == RSPRO_COMP_SERVER)
			return true;
		if (id >= p->ids[i].lo && id <= p->ids[i].hi)
			return true;
	}
	return false;
}

void rspro_tls_peer_ids(const struct rspro_tls_peer *p, char *buf, size_t size)
{
	size_t len = 0;
	unsigned int i;

	snprintf(buf, size, "nothing");
	for (i = 0; i < p->n && len < size; i++) {
		const struct rspro_tls_id *d = &p->ids[i];
		const char *sep = i ? ", " : "";
		const char *role = d->type == RSPRO_COMP_BANKD ? "bankd" : "client";
		int n;

		if (d->type == RSPRO_COMP_SERVER)
			n = snprintf(buf + len, size - len, "%sserver", sep);
		else if (d->lo == d->hi)
			n = snprintf(buf + len, size - len, "%s%s %u", sep, role, d->lo);
		else
			n = snprintf(buf + len, size - len, "%s%s %u-%u", sep, role,
				     d->lo, d->hi);
		if (n < 0)
			break;
		len += n;
	}
}
