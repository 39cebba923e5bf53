/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TLS 1.3 on RSPRO links (tls.c, on GnuTLS): a transport for rspro_conn,
 * non-blocking on the same event loop, with mutual X.509 certificates or a
 * pre-shared key, and the identity a peer's certificate (or PSK identity)
 * allows it to claim. The shared options of every daemon (tls_cfg.c).
 */
#ifndef REMSIM_RSPRO_TLS_H
#define REMSIM_RSPRO_TLS_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include "remsim/rspro_conn.h"

/* --- the options: tls, tls-ca, tls-cert, ... (one parser for all) --- */

enum rspro_tls_mode {
	RSPRO_TLS_UNSET = -1,		/* a per-link key not given: as "tls" */
	RSPRO_TLS_OFF = 0,
	RSPRO_TLS_ON = 1,
};

#define RSPRO_TLS_PATH_MAX	256
#define RSPRO_TLS_PSK_ID_MAX	64
/* the default of tls-handshake-timeout */
#define RSPRO_TLS_HANDSHAKE_MS	10000

struct rspro_tls_cfg {
	enum rspro_tls_mode mode;		/* tls = on|off */
	enum rspro_tls_mode server_link;	/* tls-server: the link to the server */
	enum rspro_tls_mode bankd_link;		/* tls-bankd: client <-> bankd */
	char ca[RSPRO_TLS_PATH_MAX];
	char cert[RSPRO_TLS_PATH_MAX];
	char key[RSPRO_TLS_PATH_MAX];
	char crl[RSPRO_TLS_PATH_MAX];
	char psk_identity[RSPRO_TLS_PSK_ID_MAX];
	char psk_file[RSPRO_TLS_PATH_MAX];
	unsigned int handshake_ms;		/* tls-handshake-timeout */
};

/* Plaintext (for this release), no files, 10 s for a handshake. */
void rspro_tls_cfg_default(struct rspro_tls_cfg *cfg);

/*
 * The option ids a program gives the TLS keys: RSPRO_TLS_OPT_BASE + index.
 * The first RSPRO_TLS_NKEYS_COMMON are every daemon's; tls-server and
 * tls-bankd follow, for the programs that have those links.
 */
#define RSPRO_TLS_OPT_BASE	0x1000
#define RSPRO_TLS_NKEYS_COMMON	8
#define RSPRO_TLS_NKEYS		10

#define RSPRO_TLS_LONG_OPTIONS						\
	{ "tls",		required_argument, NULL, RSPRO_TLS_OPT_BASE + 0 }, \
	{ "tls-ca",		required_argument, NULL, RSPRO_TLS_OPT_BASE + 1 }, \
	{ "tls-cert",		required_argument, NULL, RSPRO_TLS_OPT_BASE + 2 }, \
	{ "tls-key",		required_argument, NULL, RSPRO_TLS_OPT_BASE + 3 }, \
	{ "tls-crl",		required_argument, NULL, RSPRO_TLS_OPT_BASE + 4 }, \
	{ "tls-psk-identity",	required_argument, NULL, RSPRO_TLS_OPT_BASE + 5 }, \
	{ "tls-psk-file",	required_argument, NULL, RSPRO_TLS_OPT_BASE + 6 }, \
	{ "tls-handshake-timeout", required_argument, NULL, RSPRO_TLS_OPT_BASE + 7 }
#define RSPRO_TLS_LINK_OPTIONS						\
	{ "tls-server",		required_argument, NULL, RSPRO_TLS_OPT_BASE + 8 }, \
	{ "tls-bankd",		required_argument, NULL, RSPRO_TLS_OPT_BASE + 9 }

/* The usage lines of the common keys and of the per-link ones. */
extern const char rspro_tls_usage[];
extern const char rspro_tls_link_usage[];

/* Whether @opt is one of the TLS option ids. */
static inline bool rspro_tls_is_opt(int opt)
{
	return opt >= RSPRO_TLS_OPT_BASE && opt < RSPRO_TLS_OPT_BASE + RSPRO_TLS_NKEYS;
}

/* The key of option id @opt ("tls-ca"), NULL if none. */
const char *rspro_tls_opt_key(int opt);
/*
 * One TLS setting by key (config files, client-shell): 0, -ENOENT when
 * @key is none of ours, or -EINVAL with the reason in @why.
 */
int rspro_tls_cfg_set(struct rspro_tls_cfg *cfg, const char *key, const char *value,
		      char *why, size_t whylen);
/*
 * A credential file of option @key into @dst: "%d/NAME" is NAME in
 * $CREDENTIALS_DIRECTORY (systemd's LoadCredential=), anything else a path
 * as given. 0, or -EINVAL with the reason in @why.
 */
int rspro_tls_cred_path(char *dst, size_t size, const char *key, const char *value,
			char *why, size_t whylen);
/* Whether the link to the server / to a bankd runs TLS. */
bool rspro_tls_server_link(const struct rspro_tls_cfg *cfg);
bool rspro_tls_bankd_link(const struct rspro_tls_cfg *cfg);
/* Whether any link of @cfg runs TLS (the credentials must load). */
bool rspro_tls_any(const struct rspro_tls_cfg *cfg);
/* Whether two configurations differ (SIGHUP: only a restart applies it). */
bool rspro_tls_cfg_changed(const struct rspro_tls_cfg *a, const struct rspro_tls_cfg *b);

/* --- who a peer is allowed to be --- */

/*
 * What a certificate names in its SAN URIs (urn:remsim:server,
 * urn:remsim:bankd:ID, urn:remsim:client:ID, urn:remsim:client:LO-HI) or a
 * PSK identity ("server", "bankd:1", "client:23", "client:5-9") says.
 */
#define RSPRO_TLS_IDS_MAX	8

struct rspro_tls_id {
	enum rspro_component type;
	uint32_t lo, hi;		/* ids lo..hi (equal for one id) */
};

struct rspro_tls_peer {
	bool psk;
	/* the certificate's subject DN, or "PSK identity NAME" */
	char subject[256];
	unsigned int n;
	struct rspro_tls_id ids[RSPRO_TLS_IDS_MAX];
};

/*
 * Parses one name: "urn:remsim:" followed (@urn) or not (PSK) by
 * "server", "bankd:ID" or "client:ID[-HI]". 0 or -EINVAL.
 */
int rspro_tls_parse_id(const char *s, bool urn, struct rspro_tls_id *id);
/* Whether @p allows the identity @type with id @id (ignored for the server). */
bool rspro_tls_peer_allows(const struct rspro_tls_peer *p, enum rspro_component type,
			   uint32_t id);
/* What @p allows, for log lines: "client 5-9, bankd 1" or "nothing". */
void rspro_tls_peer_ids(const struct rspro_tls_peer *p, char *buf, size_t size);

/* --- credentials and the transport --- */

struct rspro_tls;

/*
 * Loads the credentials of @cfg: X.509 (tls-ca, tls-cert, tls-key, and
 * tls-crl if given) or PSK (tls-psk-file; tls-psk-identity, a line of
 * that file, when the program @connects to peers). NULL with the reason
 * in @err.
 */
struct rspro_tls *rspro_tls_new(const struct rspro_tls_cfg *cfg, bool connects, char *err,
				size_t errlen);
void rspro_tls_free(struct rspro_tls *tls);
unsigned int rspro_tls_handshake_ms(const struct rspro_tls *tls);

/*
 * A client's session ticket for the next connection to the same peer
 * (TLS 1.3 resumption): kept by the link, NULL-initialised by its owner.
 */
struct rspro_tls_resume {
	void *data;
	size_t size;
	unsigned long resumed;		/* connections that resumed (tests, stats) */
};

void rspro_tls_resume_clear(struct rspro_tls_resume *r);

/*
 * The TLS transport on connected, non-blocking socket @fd (taken over, also
 * on failure): @server for the accepting side. The connecting side refuses
 * a certificate that does not allow @expect (the server, or a bankd and
 * its id; NULL: any; a PSK names no peer), and keeps its session ticket in
 * @resume (may be NULL) for the next connection. NULL on failure.
 */
struct rspro_transport *rspro_transport_tls(int fd, struct rspro_tls *tls, bool server,
					    const struct rspro_tls_id *expect,
					    struct rspro_tls_resume *resume);

/*
 * The peer of connection @c after its handshake: NULL on plaintext (nothing
 * is bound there) or before the handshake ended.
 */
const struct rspro_tls_peer *rspro_conn_tls_peer(const struct rspro_conn *c);

#endif
