// SPDX-License-Identifier: GPL-2.0
/*
 * tls_test - the TLS transport of RSPRO connections (userspace/lib/rspro/
 * tls.c) on socket pairs, with certificates made at test time (pki.c):
 * mutual TLS carries PDUs both ways and tells who the peer is; a wrong CA,
 * an expired or revoked certificate, a certificate naming another role, a
 * plaintext peer, a stalled handshake and a wrong PSK each close the
 * connection with a sentence saying why; PSK works; a reconnect resumes
 * its session; records larger than a read still arrive whole.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ktap.h"
#include "pki.h"
#include "remsim/rspro_conn.h"
#include "remsim/rspro_link.h"
#include "remsim/rspro_tls.h"

static char dir[] = "/tmp/tls_test-XXXXXX";
static struct ev_loop *loop;

struct end {
	struct rspro_conn *conn;
	int pdus;
	enum rspro_msg last;
	bool closed;
	int err;
	char why[300];
};

static void end_pdu(struct rspro_conn *c, const struct rspro_pdu *pdu)
{
	struct end *e = rspro_conn_data(c);

	e->pdus++;
	e->last = pdu->msg;
}

static void end_closed(struct rspro_conn *c, int err, const char *why)
{
	struct end *e = rspro_conn_data(c);

	e->closed = true;
	e->err = err;
	snprintf(e->why, sizeof(e->why), "%s", why);
	e->conn = NULL;
}

static const struct rspro_conn_ops end_ops = {
	.pdu = end_pdu,
	.closed = end_closed,
};

static bool run_until(const bool *flag, int ms)
{
	uint64_t end = ev_now_ns() + ms * 1000000ull;

	while (!*flag && ev_now_ns() < end)
		ev_run_once(loop, 10);
	return *flag;
}

/* The test CA "ca", with certificates for each role; "evil" a second CA. */
static struct pki ca, evil;
static int revoked_serial;

static void make_pki(void)
{
	if (!loop)
		loop = ev_loop_new();
	ASSERT_EQ(0, pki_init(&ca, dir, "ca"));
	ASSERT_EQ(0, pki_init(&evil, dir, "evil"));
	ASSERT_TRUE(pki_leaf(&ca, "server", "urn:remsim:server", -60, 3600) > 0);
	ASSERT_TRUE(pki_leaf(&ca, "bankd1", "urn:remsim:bankd:1", -60, 3600) > 0);
	ASSERT_TRUE(pki_leaf(&ca, "client5", "urn:remsim:client:5", -60, 3600) > 0);
	ASSERT_TRUE(pki_leaf(&ca, "range", "urn:remsim:client:20-29,https://example.org",
			     -60, 3600) > 0);
	ASSERT_TRUE(pki_leaf(&ca, "expired", "urn:remsim:client:5", -7200, -3600) > 0);
	revoked_serial = pki_leaf(&ca, "revoked", "urn:remsim:client:5", -60, 3600);
	ASSERT_TRUE(revoked_serial > 0);
	ASSERT_EQ(0, pki_revoke(&ca, revoked_serial));
	ASSERT_TRUE(pki_leaf(&evil, "intruder", "urn:remsim:client:5", -60, 3600) > 0);
}

/* Credentials: certificate @leaf of CA @p, trusting "ca", with its CRL. */
static struct rspro_tls *x509(struct pki *p, const char *leaf, unsigned int hs_ms)
{
	struct rspro_tls_cfg cfg;
	struct rspro_tls *tls;
	char err[300] = "";

	rspro_tls_cfg_default(&cfg);
	cfg.mode = RSPRO_TLS_ON;
	pki_path(&ca, "ca", "pem", cfg.ca, sizeof(cfg.ca));
	pki_path(&ca, "ca", "crl", cfg.crl, sizeof(cfg.crl));
	pki_path(p, leaf, "pem", cfg.cert, sizeof(cfg.cert));
	pki_path(p, leaf, "key", cfg.key, sizeof(cfg.key));
	if (hs_ms)
		cfg.handshake_ms = hs_ms;
	tls = rspro_tls_new(&cfg, true, err, sizeof(err));
	if (!tls)
		TH_LOG("rspro_tls_new: %s", err);
	return tls;
}

static void cfg_quiet(struct rspro_conn_cfg *cfg, bool server)
{
	rspro_conn_cfg_default(cfg);
	cfg->ka_interval_ms = 0;
	cfg->server = server;
}

/*
 * A connection pair over a socketpair: @srv accepts (on @s), @cli connects
 * (on @c) expecting @expect, keeping its ticket in @resume.
 */
static void tls_pair(struct rspro_tls *srv, struct rspro_tls *cli,
		     const struct rspro_tls_id *expect, struct rspro_tls_resume *resume,
		     struct end *s, struct end *c)
{
	struct rspro_conn_cfg scfg, ccfg;
	int sv[2];

	memset(s, 0, sizeof(*s));
	memset(c, 0, sizeof(*c));
	cfg_quiet(&scfg, true);
	cfg_quiet(&ccfg, false);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv));
	s->conn = rspro_conn_new(loop, rspro_transport_tls(sv[0], srv, true, NULL, NULL),
				 &scfg, &end_ops, s);
	c->conn = rspro_conn_new(loop, rspro_transport_tls(sv[1], cli, false, expect, resume),
				 &ccfg, &end_ops, c);
	ASSERT_TRUE(s->conn && c->conn);
}

/* Sends a TpduCardToModem from @from; true once @to received it. */
static bool exchange(struct end *from, struct end *to)
{
	struct rspro_pdu pdu;
	struct rspro_error err;
	int before = to->pdus;
	uint64_t end = ev_now_ns() + 3000000000ull;

	memset(&pdu, 0, sizeof(pdu));
	pdu.msg = RSPRO_RESET_STATE_REQ;
	if (rspro_conn_send(from->conn, &pdu, &err))
		return false;
	while (to->pdus == before && !to->closed && ev_now_ns() < end)
		ev_run_once(loop, 10);
	return to->pdus > before && to->last == RSPRO_RESET_STATE_REQ;
}

static const struct rspro_tls_id want_server = { RSPRO_COMP_SERVER, 0, 0 };

TEST(mutual_tls_carries_pdus_and_names_the_peer)
{
	struct rspro_tls *srv, *cli;
	const struct rspro_tls_peer *p;
	struct end s, c;
	char ids[100];

	make_pki();
	srv = x509(&ca, "server", 0);
	cli = x509(&ca, "range", 0);
	ASSERT_TRUE(srv && cli);
	tls_pair(srv, cli, &want_server, NULL, &s, &c);
	ASSERT_TRUE(exchange(&c, &s));
	ASSERT_TRUE(exchange(&s, &c));
	p = rspro_conn_tls_peer(s.conn);
	ASSERT_TRUE(p != NULL);
	EXPECT_EQ(0, strcmp(p->subject, "CN=range"));
	EXPECT_TRUE(rspro_tls_peer_allows(p, RSPRO_COMP_CLIENT, 20));
	EXPECT_TRUE(rspro_tls_peer_allows(p, RSPRO_COMP_CLIENT, 29));
	EXPECT_FALSE(rspro_tls_peer_allows(p, RSPRO_COMP_CLIENT, 30));
	EXPECT_FALSE(rspro_tls_peer_allows(p, RSPRO_COMP_BANKD, 20));
	EXPECT_FALSE(rspro_tls_peer_allows(p, RSPRO_COMP_SERVER, 0));
	rspro_tls_peer_ids(p, ids, sizeof(ids));
	EXPECT_EQ(0, strcmp(ids, "client 20-29"));
	p = rspro_conn_tls_peer(c.conn);
	ASSERT_TRUE(p != NULL);
	EXPECT_TRUE(rspro_tls_peer_allows(p, RSPRO_COMP_SERVER, 0));
	rspro_conn_close(s.conn);
	rspro_conn_close(c.conn);
	rspro_tls_free(srv);
	rspro_tls_free(cli);
}

/* A client refused by the server: both ends close, the server says why. */
static void refused(const char *leaf, struct pki *p, const char *why)
{
	struct rspro_tls *srv, *cli;
	struct end s, c;

	make_pki();
	srv = x509(&ca, "server", 0);
	cli = x509(p, leaf, 0);
	ASSERT_TRUE(srv && cli);
	tls_pair(srv, cli, &want_server, NULL, &s, &c);
	ASSERT_TRUE(run_until(&s.closed, 3000));
	TH_LOG("server: %s", s.why);
	EXPECT_TRUE(strstr(s.why, why) != NULL);
	EXPECT_TRUE(run_until(&c.closed, 3000));
	TH_LOG("client: %s", c.why);
	EXPECT_EQ(0, s.pdus);
	rspro_conn_close(c.conn);
	rspro_tls_free(srv);
	rspro_tls_free(cli);
}

TEST(wrong_ca_refused)
{
	refused("intruder", &evil, "certificate of CN=intruder refused");
}

TEST(expired_refused)
{
	refused("expired", &ca, "expired");
}

TEST(revoked_refused)
{
	refused("revoked", &ca, "revoked");
}

/* A server whose certificate is a bankd's: the client refuses it. */
TEST(client_refuses_a_server_that_is_not_one)
{
	struct rspro_tls *srv, *cli;
	static const struct rspro_tls_id bank2 = { RSPRO_COMP_BANKD, 2, 2 };
	struct end s, c;

	make_pki();
	srv = x509(&ca, "bankd1", 0);
	cli = x509(&ca, "client5", 0);
	ASSERT_TRUE(srv && cli);
	tls_pair(srv, cli, &want_server, NULL, &s, &c);
	ASSERT_TRUE(run_until(&c.closed, 3000));
	TH_LOG("client: %s", c.why);
	EXPECT_TRUE(strstr(c.why, "certificate of CN=bankd1 allows bankd 1, not remsim-server"));
	EXPECT_TRUE(run_until(&s.closed, 3000));
	rspro_conn_close(s.conn);
	/* nor is bankd 1 the bankd 2 the server's map named */
	tls_pair(srv, cli, &bank2, NULL, &s, &c);
	ASSERT_TRUE(run_until(&c.closed, 3000));
	EXPECT_TRUE(strstr(c.why, "allows bankd 1, not bankd 2"));
	run_until(&s.closed, 3000);
	rspro_conn_close(s.conn);
	rspro_tls_free(srv);
	rspro_tls_free(cli);
}

TEST(plaintext_peer_refused)
{
	static const uint8_t ping[] = { 0x00, 0x01, 0xfe, 0x00 };
	struct rspro_conn_cfg cfg;
	struct rspro_tls *srv;
	struct end s = { 0 };
	int sv[2];

	make_pki();
	srv = x509(&ca, "server", 0);
	ASSERT_TRUE(srv);
	cfg_quiet(&cfg, true);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv));
	s.conn = rspro_conn_new(loop, rspro_transport_tls(sv[0], srv, true, NULL, NULL), &cfg,
				&end_ops, &s);
	ASSERT_TRUE(s.conn != NULL);
	/* an osmo-remsim peer's first bytes: an IPA PING, then its request */
	ASSERT_EQ(4, write(sv[1], ping, sizeof(ping)));
	ASSERT_EQ(4, write(sv[1], ping, sizeof(ping)));
	ASSERT_TRUE(run_until(&s.closed, 3000));
	TH_LOG("server: %s", s.why);
	EXPECT_TRUE(strstr(s.why, "TLS handshake: ") == s.why);
	EXPECT_TRUE(strstr(s.why, "(a plaintext peer?)") != NULL);
	EXPECT_EQ(0, s.pdus);
	close(sv[1]);
	rspro_tls_free(srv);
}

TEST(stalled_handshake_closed_at_its_deadline)
{
	struct rspro_conn_cfg cfg;
	struct rspro_tls *srv;
	struct end s = { 0 };
	uint64_t t0;
	int sv[2];

	make_pki();
	srv = x509(&ca, "server", 300);
	ASSERT_TRUE(srv);
	cfg_quiet(&cfg, true);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv));
	t0 = ev_now_ns();
	s.conn = rspro_conn_new(loop, rspro_transport_tls(sv[0], srv, true, NULL, NULL), &cfg,
				&end_ops, &s);
	ASSERT_TRUE(s.conn != NULL);
	/* half a ClientHello's record header, then nothing */
	ASSERT_EQ(3, write(sv[1], "\x16\x03\x01", 3));
	ASSERT_TRUE(run_until(&s.closed, 3000));
	EXPECT_TRUE(ev_now_ns() - t0 >= 290000000ull);
	EXPECT_EQ(-ETIMEDOUT, s.err);
	EXPECT_EQ(0, strcmp(s.why, "TLS handshake not complete within 300 ms"));
	close(sv[1]);
	rspro_tls_free(srv);
}

static struct rspro_tls *psk(const char *file, const char *identity, char *err, size_t len)
{
	struct rspro_tls_cfg cfg;
	char why[200];

	rspro_tls_cfg_default(&cfg);
	cfg.mode = RSPRO_TLS_ON;
	snprintf(cfg.psk_file, sizeof(cfg.psk_file), "%s/%s", dir, file);
	if (identity)
		EXPECT_EQ(0, rspro_tls_cfg_set(&cfg, "tls-psk-identity", identity, why,
					       sizeof(why)));
	return rspro_tls_new(&cfg, identity != NULL, err, len);
}

static void write_file(const char *name, const char *text)
{
	char path[300];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ASSERT_TRUE(f != NULL);
	fputs(text, f);
	fclose(f);
}

TEST(psk_works_and_a_wrong_key_is_refused)
{
	struct rspro_tls *srv, *cli, *bad;
	const struct rspro_tls_peer *p;
	struct end s, c;
	char err[300];

	if (!loop)
		loop = ev_loop_new();
	write_file("server.psk", "# the rack\nclient:23:00112233445566778899aabbccddeeff\n"
		   "bankd:1 : 0f0e0d0c0b0a09080706050403020100\n");
	write_file("client.psk", "client:23:00112233445566778899aabbccddeeff\n");
	write_file("wrong.psk", "client:23:ffffffffffffffffffffffffffffffff\n");
	srv = psk("server.psk", NULL, err, sizeof(err));
	cli = psk("client.psk", "client:23", err, sizeof(err));
	bad = psk("wrong.psk", "client:23", err, sizeof(err));
	ASSERT_TRUE(srv && cli && bad);
	tls_pair(srv, cli, &want_server, NULL, &s, &c);
	ASSERT_TRUE(exchange(&c, &s));
	ASSERT_TRUE(exchange(&s, &c));
	p = rspro_conn_tls_peer(s.conn);
	ASSERT_TRUE(p != NULL);
	EXPECT_EQ(0, strcmp(p->subject, "PSK identity client:23"));
	EXPECT_TRUE(rspro_tls_peer_allows(p, RSPRO_COMP_CLIENT, 23));
	EXPECT_FALSE(rspro_tls_peer_allows(p, RSPRO_COMP_CLIENT, 24));
	rspro_conn_close(s.conn);
	rspro_conn_close(c.conn);

	tls_pair(srv, bad, &want_server, NULL, &s, &c);
	ASSERT_TRUE(run_until(&s.closed, 3000));
	TH_LOG("server: %s", s.why);
	EXPECT_TRUE(strstr(s.why, "TLS handshake: ") == s.why);
	EXPECT_TRUE(strstr(s.why, "(a wrong key for PSK identity client:23?)") != NULL);
	EXPECT_TRUE(run_until(&c.closed, 3000));
	EXPECT_EQ(0, s.pdus);
	rspro_conn_close(c.conn);
	rspro_tls_free(srv);
	rspro_tls_free(cli);
	rspro_tls_free(bad);
}

TEST(bad_psk_files_said)
{
	static const struct {
		const char *text, *identity, *why;
	} cases[] = {
		{ "client:1:0011\n", "client:1", "is not 16..64 bytes in hex" },
		{ "client:1:zz112233445566778899aabbccddeeff\n", "client:1", "is not 16" },
		{ "guest:00112233445566778899aabbccddeeff\n", NULL, "\"guest\" is not server" },
		{ "client:1:00112233445566778899aabbccddeeff\n"
		  "client:1:00112233445566778899aabbccddeeff\n", NULL, "given twice" },
		{ "# nothing\n", NULL, "no keys" },
		{ "client:1:00112233445566778899aabbccddeeff\n", "client:2",
		  "has no key for tls-psk-identity client:2" },
	};
	unsigned int i;
	char err[300];

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_file("bad.psk", cases[i].text);
		err[0] = 0;
		EXPECT_TRUE(psk("bad.psk", cases[i].identity, err, sizeof(err)) == NULL);
		TH_LOG("%s", err);
		EXPECT_TRUE(strstr(err, cases[i].why) != NULL);
	}
}

TEST(options_parse)
{
	struct rspro_tls_cfg cfg;
	char why[200];

	rspro_tls_cfg_default(&cfg);
	EXPECT_FALSE(rspro_tls_any(&cfg));
	EXPECT_EQ(0, rspro_tls_cfg_set(&cfg, "tls-server", "on", why, sizeof(why)));
	EXPECT_TRUE(rspro_tls_server_link(&cfg));
	EXPECT_FALSE(rspro_tls_bankd_link(&cfg));
	EXPECT_EQ(0, rspro_tls_cfg_set(&cfg, "tls", "on", why, sizeof(why)));
	EXPECT_EQ(0, rspro_tls_cfg_set(&cfg, "tls-bankd", "off", why, sizeof(why)));
	EXPECT_FALSE(rspro_tls_bankd_link(&cfg));
	EXPECT_EQ(-EINVAL, rspro_tls_cfg_set(&cfg, "tls", "maybe", why, sizeof(why)));
	EXPECT_EQ(0, strcmp(why, "tls \"maybe\" is not on or off"));
	EXPECT_EQ(-EINVAL, rspro_tls_cfg_set(&cfg, "tls-handshake-timeout", "0", why,
					     sizeof(why)));
	EXPECT_EQ(0, rspro_tls_cfg_set(&cfg, "tls-handshake-timeout", "3", why, sizeof(why)));
	EXPECT_EQ(3000, cfg.handshake_ms);
	EXPECT_EQ(-EINVAL, rspro_tls_cfg_set(&cfg, "tls-psk-identity", "client:9-3", why,
					     sizeof(why)));
	EXPECT_EQ(-EINVAL, rspro_tls_cfg_set(&cfg, "tls-psk-identity", "bankd:1-2", why,
					     sizeof(why)));
	EXPECT_EQ(-ENOENT, rspro_tls_cfg_set(&cfg, "tls-cipher", "x", why, sizeof(why)));
	EXPECT_EQ(0, strcmp(rspro_tls_opt_key(RSPRO_TLS_OPT_BASE + 9), "tls-bankd"));
	/* neither certificates nor PSK: said, not run in plaintext */
	EXPECT_TRUE(rspro_tls_new(&cfg, true, why, sizeof(why)) == NULL);
	EXPECT_EQ(0, strcmp(why, "tls on needs tls-ca, tls-cert and tls-key, or tls-psk-file"));
}

/* "%d/NAME": a credential systemd's LoadCredential= put in the unit's directory */
TEST(credentials_directory_paths)
{
	struct rspro_tls_cfg cfg;
	char why[200];

	rspro_tls_cfg_default(&cfg);
	unsetenv("CREDENTIALS_DIRECTORY");
	EXPECT_EQ(-EINVAL, rspro_tls_cfg_set(&cfg, "tls-ca", "%d/ca.pem", why, sizeof(why)));
	EXPECT_EQ(0, strcmp(why, "tls-ca \"%d/ca.pem\": %d is $CREDENTIALS_DIRECTORY, "
			    "which is not set (LoadCredential= in the unit)"));
	setenv("CREDENTIALS_DIRECTORY", "/run/credentials/remsim-bankd.service", 1);
	EXPECT_EQ(0, rspro_tls_cfg_set(&cfg, "tls-ca", "%d/ca.pem", why, sizeof(why)));
	EXPECT_EQ(0, strcmp(cfg.ca, "/run/credentials/remsim-bankd.service/ca.pem"));
	EXPECT_EQ(0, rspro_tls_cfg_set(&cfg, "tls-key", "%d/key.pem", why, sizeof(why)));
	EXPECT_EQ(0, strcmp(cfg.key, "/run/credentials/remsim-bankd.service/key.pem"));
	EXPECT_EQ(0, rspro_tls_cfg_set(&cfg, "tls-psk-file", "%d/psk", why, sizeof(why)));
	EXPECT_EQ(0, strcmp(cfg.psk_file, "/run/credentials/remsim-bankd.service/psk"));
	/* a credential is a name in that directory, not a path out of it */
	EXPECT_EQ(-EINVAL, rspro_tls_cfg_set(&cfg, "tls-crl", "%d/../x", why, sizeof(why)));
	EXPECT_EQ(-EINVAL, rspro_tls_cfg_set(&cfg, "tls-crl", "%d/", why, sizeof(why)));
	/* other paths as they are */
	EXPECT_EQ(0, rspro_tls_cfg_set(&cfg, "tls-cert", "cert%d.pem", why, sizeof(why)));
	EXPECT_EQ(0, strcmp(cfg.cert, "cert%d.pem"));
	unsetenv("CREDENTIALS_DIRECTORY");
}

TEST(reconnect_resumes_the_session)
{
	struct rspro_tls_resume resume = { 0 };
	struct rspro_tls *srv, *cli;
	const struct rspro_tls_peer *p;
	struct end s, c;

	make_pki();
	srv = x509(&ca, "server", 0);
	cli = x509(&ca, "client5", 0);
	ASSERT_TRUE(srv && cli);
	tls_pair(srv, cli, &want_server, &resume, &s, &c);
	/* the ticket comes after the handshake, with the server's records */
	ASSERT_TRUE(exchange(&s, &c));
	ASSERT_TRUE(exchange(&c, &s));
	EXPECT_EQ(0, resume.resumed);
	rspro_conn_close(c.conn);
	rspro_conn_close(s.conn);
	ASSERT_TRUE(resume.data != NULL);

	tls_pair(srv, cli, &want_server, &resume, &s, &c);
	ASSERT_TRUE(exchange(&c, &s));
	EXPECT_EQ(1, resume.resumed);
	/* the identity of a resumed session is the certificate's still */
	p = rspro_conn_tls_peer(s.conn);
	ASSERT_TRUE(p != NULL);
	EXPECT_EQ(0, strcmp(p->subject, "CN=client5"));
	EXPECT_TRUE(rspro_tls_peer_allows(p, RSPRO_COMP_CLIENT, 5));
	rspro_conn_close(c.conn);
	rspro_conn_close(s.conn);
	rspro_tls_resume_clear(&resume);
	rspro_tls_free(srv);
	rspro_tls_free(cli);
}

/* Many PDUs at once: records bigger than a read, the queue behind EAGAIN. */
TEST(bulk_arrives_whole)
{
	struct rspro_tls *srv, *cli;
	struct rspro_client_slot cs = { 5, 0 };
	struct rspro_bank_slot bs = { 1, 0 };
	struct rspro_pdu pdu;
	struct rspro_error err;
	uint8_t data[200];
	struct end s, c;
	uint64_t end;
	int i;

	make_pki();
	srv = x509(&ca, "server", 0);
	cli = x509(&ca, "client5", 0);
	ASSERT_TRUE(srv && cli);
	tls_pair(srv, cli, &want_server, NULL, &s, &c);
	memset(data, 0xa5, sizeof(data));
	rspro_tpdu(&pdu, RSPRO_TPDU_MODEM_TO_CARD, cs, bs, data, sizeof(data));
	for (i = 0; i < 2000; i++)
		ASSERT_EQ(0, rspro_conn_send(c.conn, &pdu, &err));
	end = ev_now_ns() + 10000000000ull;
	while (s.pdus < 2000 && !s.closed && ev_now_ns() < end)
		ev_run_once(loop, 10);
	EXPECT_EQ(2000, s.pdus);
	EXPECT_FALSE(s.closed);
	EXPECT_FALSE(c.closed);
	rspro_conn_close(c.conn);
	rspro_conn_close(s.conn);
	rspro_tls_free(srv);
	rspro_tls_free(cli);
}

/* A one-connection TLS server for a link: answers ConnectClientReq ok. */
struct tls_server {
	struct rspro_tls *tls;
	struct ev_io io;
	int lfd, accepted;
	struct end e;
};

static void srv_pdu(struct rspro_conn *c, const struct rspro_pdu *pdu)
{
	struct rspro_identity id;
	struct rspro_pdu res;
	struct rspro_error err;

	end_pdu(c, pdu);
	if (pdu->msg != RSPRO_CONNECT_CLIENT_REQ)
		return;
	rspro_identity_init(&id, RSPRO_COMP_SERVER, "t", "remsim-server", "1");
	rspro_connect_client_res(&res, &id, RSPRO_OK);
	rspro_conn_send(c, &res, &err);
}

static const struct rspro_conn_ops srv_ops = {
	.pdu = srv_pdu,
	.closed = end_closed,
};

static void srv_accept(struct ev_io *io, uint32_t revents)
{
	struct tls_server *ts = io->data;
	struct rspro_conn_cfg cfg;
	int fd = net_accept(ts->lfd);

	if (fd < 0)
		return;
	if (ts->e.conn)
		rspro_conn_close(ts->e.conn);
	memset(&ts->e, 0, sizeof(ts->e));
	cfg_quiet(&cfg, true);
	ts->e.conn = rspro_conn_new(loop, rspro_transport_tls(fd, ts->tls, true, NULL, NULL),
				    &cfg, &srv_ops, &ts->e);
	ts->accepted++;
}

struct link_seen {
	bool up;
	int ups;
};

static void seen_up(struct rspro_link *l)
{
	struct link_seen *g = rspro_link_data(l);

	g->up = true;
	g->ups++;
}

static void seen_down(struct rspro_link *l, const char *why)
{
	((struct link_seen *)rspro_link_data(l))->up = false;
}

static const struct rspro_link_ops seen_ops = {
	.up = seen_up,
	.down = seen_down,
};

/* The link keeps its ticket: its reconnect resumes the session. */
TEST(link_resumes_on_reconnect)
{
	struct rspro_link_cfg cfg;
	struct tls_server ts = { 0 };
	struct link_seen g = { 0 };
	struct rspro_link *l;
	uint64_t end;

	make_pki();
	ts.tls = x509(&ca, "server", 0);
	ASSERT_TRUE(ts.tls != NULL);
	ts.lfd = net_listen("127.0.0.1", 0, 8);
	ASSERT_TRUE(ts.lfd >= 0);
	ASSERT_EQ(0, ev_io_start(loop, &ts.io, ts.lfd, EPOLLIN, srv_accept, &ts));
	rspro_link_cfg_default(&cfg);
	snprintf(cfg.host, sizeof(cfg.host), "127.0.0.1");
	cfg.port = net_local_port(ts.lfd);
	rspro_identity_init(&cfg.identity, RSPRO_COMP_CLIENT, "t", "remsim-client", "1");
	cfg.client_slot = (struct rspro_client_slot){ 5, 0 };
	cfg.conn.ka_interval_ms = 0;
	cfg.tls = x509(&ca, "client5", 0);
	cfg.tls_expect = want_server;
	ASSERT_TRUE(cfg.tls != NULL);
	l = rspro_link_new(loop, &cfg, &seen_ops, &g);
	ASSERT_TRUE(l != NULL);
	rspro_link_start(l);
	ASSERT_TRUE(run_until(&g.up, 5000));
	EXPECT_EQ(0, rspro_link_tls_resumed(l));
	/* the ticket came before the ConnectClientRes; the server drops us */
	rspro_conn_close(ts.e.conn);
	ts.e.conn = NULL;
	end = ev_now_ns() + 5000000000ull;
	while (g.ups < 2 && ev_now_ns() < end)
		ev_run_once(loop, 10);
	EXPECT_EQ(2, g.ups);
	EXPECT_EQ(2, ts.accepted);
	EXPECT_EQ(1, rspro_link_tls_resumed(l));
	rspro_link_free(l);
	if (ts.e.conn)
		rspro_conn_close(ts.e.conn);
	ev_io_stop(&ts.io);
	close(ts.lfd);
	rspro_tls_free(cfg.tls);
	rspro_tls_free(ts.tls);
}

int main(int argc, char **argv)
{
	return ktap_main_in_dir(argc, argv, dir);
}
