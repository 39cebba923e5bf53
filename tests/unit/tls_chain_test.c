// SPDX-License-Identifier: GPL-2.0
/*
 * tls_chain_test - TLS on every RSPRO link of the real daemons (ASan
 * builds), certificates made at test time (tests/lib/pki.c): a card's APDU
 * through client-shell -> server -> bankd -> pcscd/softsim with mutual
 * certificates and with PSKs; the identity a certificate names is the only
 * one its holder can take (a client 5 certificate asking for client 6, a
 * bankd 2 certificate registering as bank 1: refused, with a log line
 * naming the peer, its subject and the id); a wrong CA, an expired or
 * revoked certificate, a plaintext peer, a wrong PSK and a stalled
 * handshake are refused with a line saying so.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "http.h"
#include "ktap.h"
#include "pcsc_env.h"
#include "pki.h"
#include "rspro_peer.h"

static char dir[] = "/tmp/tls_chain_test-XXXXXX";
static struct pki ca, evil;
static struct pcsc_env env;
static struct daemon server, bankd;
static int rspro_port, rest_port, bankd_port;
static char server_log[200], bankd_log[200], shell_log[200];
static struct ev_loop *loop;

#define PSK_SERVER	"client:23:000102030405060708090a0b0c0d0e0f\n" \
			"bankd:1:101112131415161718191a1b1c1d1e1f\n"
#define PSK_CLIENT23	"client:23:000102030405060708090a0b0c0d0e0f\n"
#define PSK_BANKD	"bankd:1:101112131415161718191a1b1c1d1e1f\n" PSK_CLIENT23
#define PSK_WRONG	"client:23:ffffffffffffffffffffffffffffffff\n"

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

static void make_pki(void)
{
	if (!loop)
		loop = ev_loop_new();
	snprintf(shell_log, sizeof(shell_log), "%s/shell.log", dir);
	ASSERT_EQ(0, pki_init(&ca, dir, "ca"));
	ASSERT_EQ(0, pki_init(&evil, dir, "evil"));
	ASSERT_TRUE(pki_leaf(&ca, "server", "urn:remsim:server", -60, 3600) > 0);
	ASSERT_TRUE(pki_leaf(&ca, "bankd1", "urn:remsim:bankd:1", -60, 3600) > 0);
	ASSERT_TRUE(pki_leaf(&ca, "bankd2", "urn:remsim:bankd:2", -60, 3600) > 0);
	ASSERT_TRUE(pki_leaf(&ca, "client23", "urn:remsim:client:20-29", -60, 3600) > 0);
	ASSERT_TRUE(pki_leaf(&ca, "client5", "urn:remsim:client:5", -60, 3600) > 0);
	ASSERT_TRUE(pki_leaf(&ca, "expired", "urn:remsim:client:5", -7200, -3600) > 0);
	ASSERT_EQ(0, pki_revoke(&ca, pki_leaf(&ca, "revoked", "urn:remsim:client:5", -60, 3600)));
	ASSERT_TRUE(pki_leaf(&evil, "intruder", "urn:remsim:client:5", -60, 3600) > 0);
	write_file("server.psk", PSK_SERVER);
	write_file("bankd.psk", PSK_BANKD);
	write_file("client.psk", PSK_CLIENT23);
	write_file("wrong.psk", PSK_WRONG);
}

/*
 * The TLS options for certificate @leaf (of the test CA, with its CRL), or
 * for PSK file @psk as @identity, into @argv from @n on; returns the new n.
 */
static char tls_args[16][256];

static int tls_opts(char **argv, int n, const char *leaf, const char *psk, const char *identity)
{
	int i = 0;

	argv[n++] = "--tls";
	argv[n++] = "on";
	if (leaf) {
		argv[n++] = "--tls-ca";
		argv[n++] = pki_path(&ca, "ca", "pem", tls_args[i++], 256);
		argv[n++] = "--tls-crl";
		argv[n++] = pki_path(&ca, "ca", "crl", tls_args[i++], 256);
		argv[n++] = "--tls-cert";
		argv[n++] = pki_path(&ca, leaf, "pem", tls_args[i++], 256);
		argv[n++] = "--tls-key";
		argv[n++] = pki_path(&ca, leaf, "key", tls_args[i++], 256);
	} else {
		argv[n++] = "--tls-psk-file";
		snprintf(tls_args[i], 256, "%s/%s", dir, psk);
		argv[n++] = tls_args[i++];
		if (identity) {
			argv[n++] = "--tls-psk-identity";
			argv[n++] = (char *)identity;
		}
	}
	return n;
}

static void start_server(bool psk, const char *hs_timeout)
{
	char db[128], rs[8], rt[8];
	char *argv[40] = { (char *)daemon_bin("remsim-server"), "-D", db, "--rspro-bind",
			   "127.0.0.1", "--rspro-port", rs, "--rest-bind", "127.0.0.1",
			   "--rest-port", rt, "--keepalive-interval", "2" };
	int n = 13;

	rspro_port = free_port();
	rest_port = free_port();
	snprintf(rs, sizeof(rs), "%d", rspro_port);
	snprintf(rt, sizeof(rt), "%d", rest_port);
	/* each test's own files: log lines are counted */
	snprintf(db, sizeof(db), "%s/server%d.db", dir, rspro_port);
	snprintf(server_log, sizeof(server_log), "%s/server%d.log", dir, rspro_port);
	n = tls_opts(argv, n, psk ? NULL : "server", "server.psk", NULL);
	if (hs_timeout) {
		argv[n++] = "--tls-handshake-timeout";
		argv[n++] = (char *)hs_timeout;
	}
	argv[n] = NULL;
	ASSERT_EQ(0, daemon_start(&server, argv, server_log));
	ASSERT_TRUE(wait_port(rest_port, 5000));
	ASSERT_TRUE(wait_port(rspro_port, 5000));
}

static void start_bankd(bool psk)
{
	char rs[8], bp[8];
	char *argv[40] = { (char *)daemon_bin("remsim-bankd"), "-i", "127.0.0.1", "-p", rs,
			   "-b", "1", "-n", "1", "-I", "127.0.0.1", "-P", bp, "-S", env.csv,
			   "-e", "debug" };
	int n = 17;

	bankd_port = free_port();
	snprintf(rs, sizeof(rs), "%d", rspro_port);
	snprintf(bp, sizeof(bp), "%d", bankd_port);
	snprintf(bankd_log, sizeof(bankd_log), "%s/bankd%d.log", dir, bankd_port);
	n = tls_opts(argv, n, psk ? NULL : "bankd1", "bankd.psk", "bankd:1");
	argv[n] = NULL;
	ASSERT_EQ(0, daemon_start(&bankd, argv, bankd_log));
	ASSERT_TRUE(wait_port(bankd_port, 5000));
}

static void map_23_to_bank_1(void)
{
	static const char json[] =
		"{\"bank\":{\"bankId\":1,\"slotNr\":0},\"client\":{\"clientId\":23,\"slotNr\":0}}";
	char body[4096];
	int t;

	ASSERT_EQ(201, http_json(rest_port, "POST", "/api/backend/v1/slotmaps", json, body,
				 sizeof(body)));
	for (t = 0; t < 200 && !strstr(body, "ACTIVE"); t++) {
		usleep(50000);
		http_json(rest_port, "GET", "/api/backend/v1/slotmaps", NULL, body, sizeof(body));
	}
	ASSERT_TRUE(strstr(body, "ACTIVE") != NULL);
}

/* The shell as client 23:0; its stdout in @out, its stdin in @in. */
static pid_t shell_start(bool psk, int *in, int *out)
{
	int pin[2], pout[2], n;
	char port[8];
	char *argv[40] = { (char *)daemon_bin("remsim-client-shell"), "-i", "127.0.0.1", "-p",
			   port, "-c", "23", "-n", "0", "--log-level", "debug" };
	pid_t pid;

	snprintf(port, sizeof(port), "%d", rspro_port);
	n = tls_opts(argv, 11, psk ? NULL : "client23", "client.psk", "client:23");
	argv[n] = NULL;
	if (pipe2(pin, O_CLOEXEC) || pipe2(pout, O_CLOEXEC))
		return -1;
	pid = fork();
	if (!pid) {
		int fd = open(shell_log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		dup2(pin[0], 0);
		dup2(pout[1], 1);
		dup2(fd, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	close(pin[0]);
	close(pout[1]);
	*in = pin[1];
	*out = pout[0];
	return pid;
}

/* Whether a line of the shell's output starting with @prefix comes in @ms. */
static bool shell_wait(int out, const char *prefix, int ms)
{
	static char buf[16384];
	static size_t len;
	uint64_t end = ev_now_ns() + ms * 1000000ull;

	while (ev_now_ns() < end) {
		struct pollfd pfd = { .fd = out, .events = POLLIN };
		char *line = buf, *nl;
		ssize_t n;

		while ((nl = memchr(line, '\n', buf + len - line))) {
			if (!strncmp(line, prefix, strlen(prefix))) {
				len -= nl + 1 - buf;
				memmove(buf, nl + 1, len);
				return true;
			}
			line = nl + 1;
		}
		len -= line - buf;
		memmove(buf, line, len);
		if (poll(&pfd, 1, 100) != 1)
			continue;
		n = read(out, buf + len, sizeof(buf) - len - 1);
		if (n <= 0)
			return false;
		len += n;
	}
	return false;
}

static int shell_stop(pid_t pid, int in, int out)
{
	int status = -1, t;

	close(in);
	for (t = 0; t < 100 && waitpid(pid, &status, WNOHANG) != pid; t++)
		usleep(50000);
	if (t == 100) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	close(out);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The whole chain in TLS, a SELECT answered by the card behind it. */
static void chain(bool psk)
{
	int in, out;
	pid_t pid;

	make_pki();
	ASSERT_EQ(0, pcsc_env_start(&env, 1));
	start_server(psk, NULL);
	start_bankd(psk);
	map_23_to_bank_1();
	pid = shell_start(psk, &in, &out);
	ASSERT_TRUE(pid > 0);
	/* the local ATR, then the card's from the bankd */
	EXPECT_TRUE(shell_wait(out, "SET_ATR: ", 15000));
	EXPECT_TRUE(shell_wait(out, "SET_ATR: ", 15000));
	ASSERT_EQ(15, write(in, "a0a40000023f00\n", 15));
	EXPECT_TRUE(shell_wait(out, "R-APDU: ", 10000));
	EXPECT_EQ(0, shell_stop(pid, in, out));
	EXPECT_TRUE(log_contains(server_log, "(TLS 1.3)"));
	EXPECT_TRUE(log_contains(bankd_log, "(TLS), server 127.0.0.1"));
	EXPECT_TRUE(log_contains(server_log, "bankd connected from"));
	EXPECT_TRUE(log_contains(server_log, "client connected from"));
	/* no handshake failed but wait_port()'s probes */
	EXPECT_EQ(log_count(server_log, "TLS handshake: the peer closed the connection"),
		  log_count(server_log, "TLS handshake"));
	EXPECT_EQ(log_count(bankd_log, "TLS handshake: the peer closed the connection"),
		  log_count(bankd_log, "TLS handshake"));
	EXPECT_EQ(0, log_count(shell_log, "TLS handshake"));
	EXPECT_EQ(0, daemon_stop(&bankd, SIGTERM, 10000));
	EXPECT_EQ(0, daemon_stop(&server, SIGTERM, 10000));
	pcsc_env_stop(&env);
}

TEST_TIMEOUT(chain_mutual_certificates_carries_an_apdu, 120)
{
	chain(false);
}

TEST_TIMEOUT(chain_psk_carries_an_apdu, 120)
{
	chain(true);
}

/* Credentials for the test's own peers: certificate @leaf of @p. */
static struct rspro_tls *peer_tls(struct pki *p, const char *leaf)
{
	struct rspro_tls_cfg cfg;
	char err[300];
	struct rspro_tls *tls;

	rspro_tls_cfg_default(&cfg);
	cfg.mode = RSPRO_TLS_ON;
	pki_path(&ca, "ca", "pem", cfg.ca, sizeof(cfg.ca));
	pki_path(p, leaf, "pem", cfg.cert, sizeof(cfg.cert));
	pki_path(p, leaf, "key", cfg.key, sizeof(cfg.key));
	tls = rspro_tls_new(&cfg, true, err, sizeof(err));
	if (!tls)
		TH_LOG("%s", err);
	return tls;
}

/* Waits up to 3 s for @text in @log. */
static bool log_wait(const char *log, const char *text)
{
	int t;

	for (t = 0; t < 150 && !log_contains(log, text); t++)
		usleep(20000);
	return log_contains(log, text);
}

TEST_TIMEOUT(client_certificate_binds_the_client_id, 60)
{
	struct tpeer t;

	make_pki();
	start_server(false, NULL);
	tpeer_tls = peer_tls(&ca, "client5");
	ASSERT_TRUE(tpeer_tls != NULL);
	/* the attacker holds a valid certificate, for client 5 */
	EXPECT_EQ(RSPRO_ILLEGAL_CLIENT_ID, tpeer_client_result(&t, loop, rspro_port, 6, 0));
	EXPECT_TRUE(tpeer_wait_closed(&t, 3000));
	tpeer_close(&t);
	EXPECT_TRUE(log_wait(server_log,
			     "with CN=client5 (it allows client 5) asked to be client 6: refused with illegalClientId"));
	/* its own id is fine */
	EXPECT_EQ(RSPRO_OK, tpeer_client_result(&t, loop, rspro_port, 5, 0));
	tpeer_close(&t);
	rspro_tls_free(tpeer_tls);
	tpeer_tls = NULL;
	EXPECT_EQ(0, daemon_stop(&server, SIGTERM, 10000));
}

TEST_TIMEOUT(bankd_certificate_binds_the_bank_id, 60)
{
	struct tpeer t;

	make_pki();
	start_server(false, NULL);
	/* a bankd 2 certificate cannot take over bank 1 */
	tpeer_tls = peer_tls(&ca, "bankd2");
	ASSERT_TRUE(tpeer_tls != NULL);
	EXPECT_FALSE(tpeer_bankd(&t, loop, rspro_port, 1, 8, 9999));
	tpeer_close(&t);
	EXPECT_TRUE(log_wait(server_log,
			     "with CN=bankd2 (it allows bankd 2) asked to be bankd 1: refused with illegalBankId"));
	EXPECT_TRUE(tpeer_bankd(&t, loop, rspro_port, 2, 8, 9999));
	tpeer_close(&t);
	/* nor can a client certificate register a bankd */
	rspro_tls_free(tpeer_tls);
	tpeer_tls = peer_tls(&ca, "client5");
	EXPECT_FALSE(tpeer_bankd(&t, loop, rspro_port, 5, 8, 9999));
	tpeer_close(&t);
	EXPECT_TRUE(log_wait(server_log, "(it allows client 5) asked to be bankd 5"));
	rspro_tls_free(tpeer_tls);
	tpeer_tls = NULL;
	EXPECT_EQ(0, daemon_stop(&server, SIGTERM, 10000));
}

TEST_TIMEOUT(bankd_refuses_a_client_certificate_for_another_id, 60)
{
	struct tpeer t;

	make_pki();
	ASSERT_EQ(0, pcsc_env_start(&env, 1));
	start_server(false, NULL);
	start_bankd(false);
	tpeer_tls = peer_tls(&ca, "client5");
	ASSERT_TRUE(tpeer_tls != NULL);
	EXPECT_EQ(RSPRO_ILLEGAL_CLIENT_ID, tpeer_client_result(&t, loop, bankd_port, 6, 0));
	tpeer_close(&t);
	EXPECT_TRUE(log_wait(bankd_log,
			     "with CN=client5 (it allows client 5) asked to be client 6: refused with illegalClientId"));
	rspro_tls_free(tpeer_tls);
	tpeer_tls = NULL;
	EXPECT_EQ(0, daemon_stop(&bankd, SIGTERM, 10000));
	EXPECT_EQ(0, daemon_stop(&server, SIGTERM, 10000));
	pcsc_env_stop(&env);
}

TEST_TIMEOUT(bad_certificates_and_plaintext_refused_with_a_line, 60)
{
	static const struct {
		struct pki *p;
		const char *leaf, *line;
	} cases[] = {
		{ &evil, "intruder", "certificate of CN=intruder refused: The certificate is NOT trusted. The certificate issuer is unknown." },
		{ &ca, "expired", "certificate of CN=expired refused: The certificate is NOT trusted. The certificate chain uses expired certificate." },
		{ &ca, "revoked", "certificate of CN=revoked refused: The certificate is NOT trusted. The certificate chain is revoked." },
	};
	struct tpeer t;
	unsigned int i;

	make_pki();
	start_server(false, NULL);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tpeer_tls = peer_tls(cases[i].p, cases[i].leaf);
		ASSERT_TRUE(tpeer_tls != NULL);
		EXPECT_TRUE(tpeer_client_result(&t, loop, rspro_port, 5, 0) < 0);
		tpeer_close(&t);
		EXPECT_TRUE(log_wait(server_log, cases[i].line));
		EXPECT_EQ(1, log_count(server_log, cases[i].line));
		rspro_tls_free(tpeer_tls);
	}
	/* an osmo-remsim peer in plaintext */
	tpeer_tls = NULL;
	EXPECT_TRUE(tpeer_client_result(&t, loop, rspro_port, 5, 0) < 0);
	tpeer_close(&t);
	EXPECT_TRUE(log_wait(server_log, "(a plaintext peer?)"));
	EXPECT_EQ(0, log_count(server_log, "client connected from"));
	EXPECT_EQ(0, daemon_stop(&server, SIGTERM, 10000));
}

TEST_TIMEOUT(wrong_psk_refused_with_a_line, 60)
{
	struct rspro_tls_cfg cfg;
	struct tpeer t;
	char err[300];

	make_pki();
	start_server(true, NULL);
	rspro_tls_cfg_default(&cfg);
	cfg.mode = RSPRO_TLS_ON;
	snprintf(cfg.psk_file, sizeof(cfg.psk_file), "%s/wrong.psk", dir);
	snprintf(cfg.psk_identity, sizeof(cfg.psk_identity), "client:23");
	tpeer_tls = rspro_tls_new(&cfg, true, err, sizeof(err));
	ASSERT_TRUE(tpeer_tls != NULL);
	EXPECT_TRUE(tpeer_client_result(&t, loop, rspro_port, 23, 0) < 0);
	tpeer_close(&t);
	EXPECT_TRUE(log_wait(server_log, "(a wrong key for PSK identity client:23?)"));
	rspro_tls_free(tpeer_tls);
	tpeer_tls = NULL;
	EXPECT_EQ(0, daemon_stop(&server, SIGTERM, 10000));
}

TEST_TIMEOUT(stalled_handshake_closed_and_logged_once, 60)
{
	int fd;

	make_pki();
	start_server(false, "1");
	fd = net_connect_start("127.0.0.1", rspro_port);
	ASSERT_TRUE(fd >= 0);
	/* a record header's first bytes, then silence */
	usleep(100000);
	ASSERT_EQ(3, write(fd, "\x16\x03\x01", 3));
	EXPECT_TRUE(log_wait(server_log, "TLS handshake not complete within 1000 ms"));
	usleep(1500000);
	EXPECT_EQ(1, log_count(server_log, "TLS handshake not complete within 1000 ms"));
	{
		char c;

		EXPECT_EQ(0, read(fd, &c, 1));	/* closed by the server */
	}
	close(fd);
	EXPECT_EQ(0, daemon_stop(&server, SIGTERM, 10000));
}

/* A server with @conf as its config file: its exit status within 5 s. */
static int server_conf_exit(const char *conf)
{
	char path[300], db[300], rs[8], rt[8];
	char *argv[] = { (char *)daemon_bin("remsim-server"), "-c", path, "-D", db,
			 "--rspro-bind", "127.0.0.1", "--rspro-port", rs, "--rest-bind",
			 "127.0.0.1", "--rest-port", rt, NULL };

	rspro_port = free_port();
	rest_port = free_port();
	snprintf(rs, sizeof(rs), "%d", rspro_port);
	snprintf(rt, sizeof(rt), "%d", rest_port);
	snprintf(db, sizeof(db), "%s/conf%d.db", dir, rspro_port);
	snprintf(server_log, sizeof(server_log), "%s/conf%d.log", dir, rspro_port);
	snprintf(path, sizeof(path), "%s/server.conf", dir);
	write_file("server.conf", conf);
	if (daemon_start(&server, argv, server_log))
		return -1;
	return daemon_wait(&server, 5000);
}

TEST_TIMEOUT(config_file_keys_and_bad_credentials, 60)
{
	char conf[1200], a[256], b[256], c[256];

	make_pki();
	/* the keys in a config file, as on the command line */
	snprintf(conf, sizeof(conf), "tls = on\ntls-ca = %s\ntls-cert = %s\ntls-key = %s\n",
		 pki_path(&ca, "ca", "pem", a, sizeof(a)),
		 pki_path(&ca, "server", "pem", b, sizeof(b)),
		 pki_path(&ca, "server", "key", c, sizeof(c)));
	EXPECT_EQ(-1, server_conf_exit(conf));
	EXPECT_TRUE(log_wait(server_log, "(TLS 1.3)"));
	EXPECT_EQ(0, daemon_stop(&server, SIGTERM, 10000));
	/* credentials that do not load are a bad configuration: exit 2, the reason */
	snprintf(conf, sizeof(conf), "tls = on\ntls-ca = %s/nowhere.pem\ntls-cert = %s\n"
		 "tls-key = %s\n", dir, b, c);
	EXPECT_EQ(2, server_conf_exit(conf));
	EXPECT_TRUE(log_contains(server_log, "remsim-server: TLS: tls-ca "));
	EXPECT_EQ(2, server_conf_exit("tls = on\n"));
	EXPECT_TRUE(log_contains(server_log,
				 "remsim-server: TLS: tls on needs tls-ca, tls-cert and tls-key, or tls-psk-file"));
	EXPECT_EQ(2, server_conf_exit("tls = maybe\n"));
	EXPECT_TRUE(log_contains(server_log, "tls \"maybe\" is not on or off"));
	/* per-link keys are not the server's: it has one listener */
	EXPECT_EQ(2, server_conf_exit("tls-server = on\n"));
}

int main(int argc, char **argv)
{
	return ktap_main_in_dir(argc, argv, dir);
}
