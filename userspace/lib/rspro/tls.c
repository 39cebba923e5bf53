// SPDX-License-Identifier: GPL-2.0
/*
 * The TLS transport of an RSPRO connection, on GnuTLS: TLS 1.3 only, mutual
 * X.509 certificates (CA, CRL, expiry checked by GnuTLS, the remsim role in
 * the SAN URI read here) or a pre-shared key with (EC)DHE. Non-blocking:
 * rspro_conn drives the handshake by readiness through ops->handshake and
 * polls for what GnuTLS waits for (t->want). The client side keeps the
 * session ticket for a resumed handshake on its next connection.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "remsim/conf.h"
#include "remsim/rspro_tls.h"

/*
 * TLS 1.3 and nothing older. With a PSK, (EC)DHE on top of it only
 * (psk_dhe_ke): a key that leaks later does not open recorded sessions.
 */
#define PRIO_X509	"NORMAL:-VERS-ALL:+VERS-TLS1.3"
#define PRIO_PSK	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+ECDHE-PSK:+DHE-PSK"

/* PSK files: at most this many lines of keys of 16..64 bytes */
#define PSK_ENTRIES_MAX	4096
#define PSK_KEY_MIN	16
#define PSK_KEY_MAX	64
/* warning alerts taken in one handshake step before it counts as abuse */
#define HS_WARNINGS_MAX	8
/* SAN entries of a certificate looked at */
#define SAN_MAX		64

struct psk_entry {
	char identity[RSPRO_TLS_PSK_ID_MAX];
	uint8_t key[PSK_KEY_MAX];
	size_t len;
};

struct rspro_tls {
	bool psk;
	gnutls_priority_t prio;
	gnutls_certificate_credentials_t x509;
	gnutls_psk_server_credentials_t psk_srv;
	gnutls_psk_client_credentials_t psk_cli;	/* NULL: we only accept */
	struct psk_entry *keys;
	size_t nkeys;
	gnutls_datum_t ticket_key;
	unsigned int handshake_ms;
};

struct tls_transport {
	struct rspro_transport t;
	struct rspro_tls *tls;
	gnutls_session_t s;
	bool server;
	bool has_expect;
	struct rspro_tls_id expect;
	struct rspro_tls_resume *resume;
	bool hs_done, ticket_saved;
	size_t send_retry;	/* the length of a send that returned EAGAIN */
	char psk_id[65];	/* the identity a PSK client gave, printable */
	struct rspro_tls_peer peer;
};

/* --- credentials --- */

static int psk_server_key(gnutls_session_t s, const gnutls_datum_t *user, gnutls_datum_t *key);

static const struct psk_entry *psk_find(const struct rspro_tls *tls, const char *identity,
					size_t len)
{
	size_t i;

	for (i = 0; i < tls->nkeys; i++)
		if (strlen(tls->keys[i].identity) == len &&
		    !memcmp(tls->keys[i].identity, identity, len))
			return &tls->keys[i];
	return NULL;
}

/* One "IDENTITY:HEXKEY" line of a PSK file: 0 or -EINVAL with @why. */
static int psk_line(struct rspro_tls *tls, char *line, char *why, size_t whylen)
{
	char *colon = strrchr(line, ':');
	struct psk_entry *e;
	struct rspro_tls_id id;
	long n;

	if (!colon) {
		snprintf(why, whylen, "not IDENTITY:HEXKEY");
		return -EINVAL;
	}
	*colon = 0;
	line = conf_trim(line);
	if (rspro_tls_parse_id(line, false, &id) || strlen(line) >= RSPRO_TLS_PSK_ID_MAX) {
		snprintf(why, whylen, "identity \"%s\" is not server, bankd:ID or client:ID[-ID]",
			 line);
		return -EINVAL;
	}
	if (psk_find(tls, line, strlen(line))) {
		snprintf(why, whylen, "identity \"%s\" given twice", line);
		return -EINVAL;
	}
	if (tls->nkeys == PSK_ENTRIES_MAX) {
		snprintf(why, whylen, "more than %d keys", PSK_ENTRIES_MAX);
		return -EINVAL;
	}
	e = &tls->keys[tls->nkeys];
	n = conf_hex(conf_trim(colon + 1), e->key, sizeof(e->key));
	if (n < PSK_KEY_MIN) {
		snprintf(why, whylen, "the key of \"%s\" is not %d..%d bytes in hex", line,
			 PSK_KEY_MIN, PSK_KEY_MAX);
		return -EINVAL;
	}
	strcpy(e->identity, line);
	e->len = n;
	tls->nkeys++;
	return 0;
}

static int psk_load(struct rspro_tls *tls, const char *path, char *err, size_t errlen)
{
	struct conf_file cf;
	char why[160], *line;
	int ret;

	tls->keys = calloc(PSK_ENTRIES_MAX, sizeof(*tls->keys));
	if (!tls->keys) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ret = conf_open(&cf, path, err, errlen);
	if (ret)
		return ret;
	while ((ret = conf_line(&cf, &line, err, errlen)) > 0) {
		line = conf_trim(line);
		if (!*line || *line == '#')
			continue;
		ret = psk_line(tls, line, why, sizeof(why));
		if (ret) {
			snprintf(err, errlen, "%s:%u: %s", path, cf.lineno, why);
			break;
		}
	}
	conf_close(&cf);
	if (!ret && !tls->nkeys) {
		snprintf(err, errlen, "%s: no keys", path);
		ret = -EINVAL;
	}
	return ret;
}

static int load_psk(struct rspro_tls *tls, const struct rspro_tls_cfg *cfg, bool connects,
		    char *err, size_t errlen)
{
	const struct psk_entry *e;
	gnutls_datum_t key;
	int ret;

	ret = psk_load(tls, cfg->psk_file, err, errlen);
	if (ret)
		return ret;
	if (gnutls_psk_allocate_server_credentials(&tls->psk_srv))
		goto nomem;
	gnutls_psk_set_server_credentials_function2(tls->psk_srv, psk_server_key);
	if (!connects)
		return 0;
	if (!cfg->psk_identity[0]) {
		snprintf(err, errlen, "tls-psk-file needs tls-psk-identity: which of its keys is ours");
		return -EINVAL;
	}
	e = psk_find(tls, cfg->psk_identity, strlen(cfg->psk_identity));
	if (!e) {
		snprintf(err, errlen, "%s has no key for tls-psk-identity %s", cfg->psk_file,
			 cfg->psk_identity);
		return -EINVAL;
	}
	if (gnutls_psk_allocate_client_credentials(&tls->psk_cli))
		goto nomem;
	key.data = (unsigned char *)e->key;
	key.size = e->len;
	ret = gnutls_psk_set_client_credentials(tls->psk_cli, e->identity, &key,
						GNUTLS_PSK_KEY_RAW);
	if (ret < 0) {
		snprintf(err, errlen, "PSK: %s", gnutls_strerror(ret));
		return -EINVAL;
	}
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

static int verify_peer(gnutls_session_t s);

static int load_x509(struct rspro_tls *tls, const struct rspro_tls_cfg *cfg, char *err,
		     size_t errlen)
{
	int ret;

	if (!cfg->ca[0] || !cfg->cert[0] || !cfg->key[0]) {
		snprintf(err, errlen,
			 "tls on needs tls-ca, tls-cert and tls-key, or tls-psk-file");
		return -EINVAL;
	}
	if (gnutls_certificate_allocate_credentials(&tls->x509)) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ret = gnutls_certificate_set_x509_trust_file(tls->x509, cfg->ca, GNUTLS_X509_FMT_PEM);
	if (ret <= 0) {
		snprintf(err, errlen, "tls-ca %s: %s", cfg->ca,
			 ret ? gnutls_strerror(ret) : "no certificate in it");
		return -EINVAL;
	}
	if (cfg->crl[0]) {
		ret = gnutls_certificate_set_x509_crl_file(tls->x509, cfg->crl,
							   GNUTLS_X509_FMT_PEM);
		if (ret < 0) {
			snprintf(err, errlen, "tls-crl %s: %s", cfg->crl, gnutls_strerror(ret));
			return -EINVAL;
		}
	}
	ret = gnutls_certificate_set_x509_key_file(tls->x509, cfg->cert, cfg->key,
						   GNUTLS_X509_FMT_PEM);
	if (ret < 0) {
		snprintf(err, errlen, "tls-cert %s, tls-key %s: %s", cfg->cert, cfg->key,
			 gnutls_strerror(ret));
		return -EINVAL;
	}
	gnutls_certificate_set_verify_function(tls->x509, verify_peer);
	return 0;
}

struct rspro_tls *rspro_tls_new(const struct rspro_tls_cfg *cfg, bool connects, char *err,
				size_t errlen)
{
	struct rspro_tls *tls = calloc(1, sizeof(*tls));
	const char *pos;
	int ret;

	if (!tls) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	tls->handshake_ms = cfg->handshake_ms ? cfg->handshake_ms : RSPRO_TLS_HANDSHAKE_MS;
	tls->psk = cfg->psk_file[0];
	if (tls->psk && (cfg->cert[0] || cfg->key[0])) {
		snprintf(err, errlen,
			 "give certificates (tls-ca, tls-cert, tls-key) or tls-psk-file, not both");
		goto fail;
	}
	ret = tls->psk ? load_psk(tls, cfg, connects, err, errlen) :
			 load_x509(tls, cfg, err, errlen);
	if (ret)
		goto fail;
	ret = gnutls_priority_init(&tls->prio, tls->psk ? PRIO_PSK : PRIO_X509, &pos);
	if (ret < 0) {
		snprintf(err, errlen, "TLS priorities at \"%s\": %s", pos, gnutls_strerror(ret));
		goto fail;
	}
	ret = gnutls_session_ticket_key_generate(&tls->ticket_key);
	if (ret < 0) {
		snprintf(err, errlen, "session ticket key: %s", gnutls_strerror(ret));
		goto fail;
	}
	return tls;
fail:
	rspro_tls_free(tls);
	return NULL;
}

void rspro_tls_free(struct rspro_tls *tls)
{
	if (!tls)
		return;
	if (tls->prio)
		gnutls_priority_deinit(tls->prio);
	if (tls->x509)
		gnutls_certificate_free_credentials(tls->x509);
	if (tls->psk_srv)
		gnutls_psk_free_server_credentials(tls->psk_srv);
	if (tls->psk_cli)
		gnutls_psk_free_client_credentials(tls->psk_cli);
	if (tls->keys) {
		/* keys do not linger in freed memory */
		gnutls_memset(tls->keys, 0, PSK_ENTRIES_MAX * sizeof(*tls->keys));
		free(tls->keys);
	}
	if (tls->ticket_key.data) {
		gnutls_memset(tls->ticket_key.data, 0, tls->ticket_key.size);
		gnutls_free(tls->ticket_key.data);
	}
	free(tls);
}

unsigned int rspro_tls_handshake_ms(const struct rspro_tls *tls)
{
	return tls->handshake_ms;
}

void rspro_tls_resume_clear(struct rspro_tls_resume *r)
{
	if (r->data) {
		gnutls_memset(r->data, 0, r->size);
		gnutls_free(r->data);
	}
	r->data = NULL;
	r->size = 0;
}

/* --- who the peer is --- */

static void set_err(struct tls_transport *tr, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void set_err(struct tls_transport *tr, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tr->t.err, sizeof(tr->t.err), fmt, ap);
	va_end(ap);
}

/* Untrusted bytes for a log line: at most 64, each printable or '?'. */
static void printable(char *dst, size_t size, const gnutls_datum_t *d)
{
	size_t i, n = d->size > 64 ? 64 : d->size;

	if (n >= size)
		n = size - 1;
	for (i = 0; i < n; i++)
		dst[i] = d->data[i] >= 0x20 && d->data[i] <= 0x7e ? d->data[i] : '?';
	dst[n] = 0;
}

/* The accepting side's key for PSK identity @user, from the file. */
static int psk_server_key(gnutls_session_t s, const gnutls_datum_t *user, gnutls_datum_t *key)
{
	struct tls_transport *tr = gnutls_session_get_ptr(s);
	const struct psk_entry *e = psk_find(tr->tls, (const char *)user->data, user->size);

	printable(tr->psk_id, sizeof(tr->psk_id), user);
	if (!e) {
		set_err(tr, "unknown PSK identity \"%s\"", tr->psk_id);
		return -1;
	}
	key->data = gnutls_malloc(e->len);
	if (!key->data)
		return -1;
	memcpy(key->data, e->key, e->len);
	key->size = e->len;
	return 0;
}

/* The remsim names in the SAN URIs of DER certificate @der. */
static int x509_names(struct tls_transport *tr, const gnutls_datum_t *der)
{
	struct rspro_tls_peer *p = &tr->peer;
	gnutls_x509_crt_t crt;
	gnutls_datum_t dn = { 0 };
	unsigned int i;
	char san[512];

	if (gnutls_x509_crt_init(&crt))
		return -ENOMEM;
	if (gnutls_x509_crt_import(crt, der, GNUTLS_X509_FMT_DER) < 0) {
		gnutls_x509_crt_deinit(crt);
		set_err(tr, "the peer's certificate does not parse");
		return -EACCES;
	}
	if (!gnutls_x509_crt_get_dn3(crt, &dn, 0)) {
		snprintf(p->subject, sizeof(p->subject), "%s", (const char *)dn.data);
		gnutls_free(dn.data);
	}
	for (i = 0; i < SAN_MAX && p->n < RSPRO_TLS_IDS_MAX; i++) {
		size_t size = sizeof(san) - 1;
		int ret = gnutls_x509_crt_get_subject_alt_name(crt, i, san, &size, NULL);

		if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (ret != GNUTLS_SAN_URI)
			continue;	/* another kind, or too long for a remsim name */
		san[size] = 0;
		if (!rspro_tls_parse_id(san, true, &p->ids[p->n]))
			p->n++;
	}
	gnutls_x509_crt_deinit(crt);
	return 0;
}

/* Fills tr->peer from the certificate or PSK identity: 0 or -errno. */
static int load_peer(struct tls_transport *tr)
{
	struct rspro_tls_peer *p = &tr->peer;
	const gnutls_datum_t *certs;
	unsigned int n = 0;

	memset(p, 0, sizeof(*p));
	strcpy(p->subject, "?");
	if (tr->tls->psk) {
		gnutls_datum_t user = { 0 };

		p->psk = true;
		if (!tr->server) {
			snprintf(p->subject, sizeof(p->subject), "PSK peer");
			return 0;
		}
		if (gnutls_psk_server_get_username2(tr->s, &user) || !user.data)
			return -EACCES;
		/* only identities of the file get this far: they parse */
		snprintf(p->subject, sizeof(p->subject), "PSK identity %.*s",
			 user.size > 64 ? 64 : (int)user.size, (const char *)user.data);
		if (!rspro_tls_parse_id(p->subject + 13, false, &p->ids[0]))
			p->n = 1;
		return 0;
	}
	certs = gnutls_certificate_get_peers(tr->s, &n);
	if (!certs || !n) {
		set_err(tr, "the peer sent no certificate");
		return -EACCES;
	}
	return x509_names(tr, &certs[0]);
}

/* The connecting side: the peer must be what we connected to. */
static int check_expect(struct tls_transport *tr)
{
	char ids[160];
	const char *what = tr->expect.type == RSPRO_COMP_SERVER ? "remsim-server" : "bankd";

	if (!tr->has_expect || tr->peer.psk)
		return 0;
	if (rspro_tls_peer_allows(&tr->peer, tr->expect.type, tr->expect.lo))
		return 0;
	rspro_tls_peer_ids(&tr->peer, ids, sizeof(ids));
	if (tr->expect.type == RSPRO_COMP_SERVER)
		set_err(tr, "certificate of %s allows %s, not %s", tr->peer.subject, ids, what);
	else
		set_err(tr, "certificate of %s allows %s, not %s %u", tr->peer.subject, ids,
			what, tr->expect.lo);
	return -EACCES;
}

/*
 * During the handshake, once the peer's certificate came: the chain to our
 * CA, its dates and the CRL (GnuTLS), and what it names. A refusal sends
 * the peer an alert and fails the handshake with the reason in t.err.
 */
static int verify_peer(gnutls_session_t s)
{
	struct tls_transport *tr = gnutls_session_get_ptr(s);
	gnutls_datum_t out = { 0 };
	unsigned int status = 0;
	int ret;

	if (load_peer(tr))
		return -1;
	ret = gnutls_certificate_verify_peers2(s, &status);
	if (ret < 0) {
		set_err(tr, "certificate of %s: %s", tr->peer.subject, gnutls_strerror(ret));
		return -1;
	}
	if (status) {
		gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &out, 0);
		set_err(tr, "certificate of %s refused: %s", tr->peer.subject,
			out.data ? (const char *)out.data : "not trusted");
		conf_trim(tr->t.err);
		gnutls_free(out.data);
		return -1;
	}
	return check_expect(tr) ? -1 : 0;
}

/* --- the transport --- */

static uint32_t direction(struct tls_transport *tr)
{
	return gnutls_record_get_direction(tr->s) ? EPOLLOUT : EPOLLIN;
}

/* The PSK identity a client gave, printable, for log lines. */
static const char *psk_user(struct tls_transport *tr)
{
	return tr->psk_id[0] ? tr->psk_id : "?";
}

/* A GnuTLS error as -errno, its sentence in t.err (unless set already). */
static int tls_error(struct tls_transport *tr, int ret)
{
	if (tr->t.err[0])
		return -EPROTO;
	if (ret == GNUTLS_E_PREMATURE_TERMINATION)
		set_err(tr, "the peer closed the connection");	/* a port probe, often */
	else if (ret == GNUTLS_E_FATAL_ALERT_RECEIVED || ret == GNUTLS_E_WARNING_ALERT_RECEIVED)
		set_err(tr, "the peer sent the alert \"%s\"",
			gnutls_alert_get_name(gnutls_alert_get(tr->s)));
	else if (ret == GNUTLS_E_UNEXPECTED_PACKET_LENGTH ||
		 ret == GNUTLS_E_UNSUPPORTED_VERSION_PACKET ||
		 ret == GNUTLS_E_UNEXPECTED_PACKET)
		set_err(tr, "%s (a plaintext peer?)", gnutls_strerror(ret));
	else if (ret == GNUTLS_E_PUSH_ERROR || ret == GNUTLS_E_PULL_ERROR)
		set_err(tr, "%s (%s)", gnutls_strerror(ret), strerror(errno));
	else if (tr->tls->psk && tr->server && !tr->hs_done)
		set_err(tr, "%s (a wrong key for PSK identity %s?)", gnutls_strerror(ret),
			psk_user(tr));
	else
		set_err(tr, "%s", gnutls_strerror(ret));
	if (ret == GNUTLS_E_PUSH_ERROR || ret == GNUTLS_E_PULL_ERROR)
		return -ECONNRESET;
	return -EPROTO;
}

/* The session ticket, once the server sent one (after the handshake). */
static void save_ticket(struct tls_transport *tr)
{
	gnutls_datum_t d = { 0 };

	if (!tr->resume || tr->ticket_saved || !tr->hs_done ||
	    !(gnutls_session_get_flags(tr->s) & GNUTLS_SFLAGS_SESSION_TICKET))
		return;
	if (gnutls_session_get_data2(tr->s, &d) < 0)
		return;
	rspro_tls_resume_clear(tr->resume);
	tr->resume->data = d.data;
	tr->resume->size = d.size;
	tr->ticket_saved = true;
}

static int tls_handshake(struct rspro_transport *t)
{
	struct tls_transport *tr = (struct tls_transport *)t;
	int ret, warnings = 0;

	do {
		ret = gnutls_handshake(tr->s);
	} while (ret < 0 && ret != GNUTLS_E_AGAIN && !gnutls_error_is_fatal(ret) &&
		 ++warnings < HS_WARNINGS_MAX);
	if (ret == GNUTLS_E_AGAIN) {
		t->want = direction(tr);
		return -EAGAIN;
	}
	if (ret < 0)
		return tls_error(tr, ret);
	tr->hs_done = true;
	/* a resumed session has no certificate exchange: read it again */
	ret = load_peer(tr);
	if (!ret && !tr->server)
		ret = check_expect(tr);
	if (ret)
		return ret;
	if (tr->resume && gnutls_session_is_resumed(tr->s))
		tr->resume->resumed++;
	return 0;
}

static ssize_t tls_read(struct rspro_transport *t, void *buf, size_t len)
{
	struct tls_transport *tr = (struct tls_transport *)t;
	ssize_t n = gnutls_record_recv(tr->s, buf, len);

	save_ticket(tr);
	if (n >= 0)
		return n;
	if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
		t->want = direction(tr) == EPOLLOUT ? EPOLLOUT : 0;
		return -EAGAIN;
	}
	/* a TCP close without close_notify: the end of the stream all the same */
	if (n == GNUTLS_E_PREMATURE_TERMINATION)
		return 0;
	return tls_error(tr, n);
}

static ssize_t tls_write(struct rspro_transport *t, const void *buf, size_t len)
{
	struct tls_transport *tr = (struct tls_transport *)t;
	ssize_t n;

	/*
	 * After EAGAIN GnuTLS holds the encrypted record and wants the same
	 * call again: the queue only grew behind those bytes, so the same
	 * length from the same place is that call.
	 */
	if (tr->send_retry && len > tr->send_retry)
		len = tr->send_retry;
	n = gnutls_record_send(tr->s, buf, len);
	if (n >= 0) {
		tr->send_retry = 0;
		return n;
	}
	if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
		tr->send_retry = len;
		t->want = direction(tr) == EPOLLIN ? EPOLLIN : 0;
		return -EAGAIN;
	}
	return tls_error(tr, n);
}

static size_t tls_pending(struct rspro_transport *t)
{
	struct tls_transport *tr = (struct tls_transport *)t;

	return tr->hs_done ? gnutls_record_check_pending(tr->s) : 0;
}

static const struct rspro_tls_peer *tls_peer(const struct rspro_transport *t)
{
	const struct tls_transport *tr = (const struct tls_transport *)t;

	return tr->hs_done ? &tr->peer : NULL;
}

static void tls_destroy(struct rspro_transport *t)
{
	struct tls_transport *tr = (struct tls_transport *)t;

	save_ticket(tr);
	/* a close_notify if the socket takes it now; never waits */
	if (tr->hs_done)
		gnutls_bye(tr->s, GNUTLS_SHUT_WR);
	gnutls_deinit(tr->s);
	close(t->fd);
	free(tr);
}

static const struct rspro_transport_ops tls_ops = {
	.read = tls_read,
	.write = tls_write,
	.destroy = tls_destroy,
	.handshake = tls_handshake,
	.pending = tls_pending,
	.peer = tls_peer,
};

static int session_init(struct tls_transport *tr)
{
	struct rspro_tls *tls = tr->tls;
	unsigned int flags = GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL;
	int ret;

	ret = gnutls_init(&tr->s, flags | (tr->server ? GNUTLS_SERVER : GNUTLS_CLIENT));
	if (ret < 0)
		return ret;
	gnutls_session_set_ptr(tr->s, tr);
	ret = gnutls_priority_set(tr->s, tls->prio);
	if (ret < 0)
		return ret;
	if (tls->psk)
		ret = tr->server ? gnutls_credentials_set(tr->s, GNUTLS_CRD_PSK, tls->psk_srv) :
				   gnutls_credentials_set(tr->s, GNUTLS_CRD_PSK, tls->psk_cli);
	else
		ret = gnutls_credentials_set(tr->s, GNUTLS_CRD_CERTIFICATE, tls->x509);
	if (ret < 0)
		return ret;
	if (tr->server) {
		if (!tls->psk) {
			gnutls_certificate_server_set_request(tr->s, GNUTLS_CERT_REQUIRE);
			/*
			 * No list of our CAs: a client sends its certificate
			 * whoever issued it, and a wrong CA is logged as such,
			 * not as a missing certificate.
			 */
			gnutls_certificate_send_x509_rdn_sequence(tr->s, 1);
		}
		ret = gnutls_session_ticket_enable_server(tr->s, &tls->ticket_key);
	} else if (tr->resume && tr->resume->data) {
		/* a stale ticket only costs a full handshake */
		gnutls_session_set_data(tr->s, tr->resume->data, tr->resume->size);
	}
	if (ret < 0)
		return ret;
	gnutls_transport_set_int(tr->s, tr->t.fd);
	return 0;
}

struct rspro_transport *rspro_transport_tls(int fd, struct rspro_tls *tls, bool server,
					    const struct rspro_tls_id *expect,
					    struct rspro_tls_resume *resume)
{
	struct tls_transport *tr = calloc(1, sizeof(*tr));

	if (!tr || (!server && tls->psk && !tls->psk_cli))
		goto fail;
	tr->t.ops = &tls_ops;
	tr->t.fd = fd;
	tr->t.handshake_ms = tls->handshake_ms;
	tr->tls = tls;
	tr->server = server;
	tr->has_expect = expect != NULL;
	if (expect)
		tr->expect = *expect;
	tr->resume = server ? NULL : resume;
	if (session_init(tr) < 0)
		goto fail;
	return &tr->t;
fail:
	if (tr && tr->s)
		gnutls_deinit(tr->s);
	free(tr);
	close(fd);
	return NULL;
}
