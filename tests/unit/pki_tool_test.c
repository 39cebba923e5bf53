// SPDX-License-Identifier: GPL-2.0
/*
 * pki_tool_test - remsim-pki (userspace/tools/remsim-pki, on certtool)
 * makes what the daemons accept: its certificates carry the SAN URIs that
 * bind each identity, a real remsim-server (ASan build) takes them through
 * "%d/NAME" paths as under systemd's LoadCredential=, and REST over HTTPS
 * with its host names; a certificate it revokes is refused; its PSK lines
 * load; bad input is said with exit status 2, never a half-made file.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "https.h"
#include "ktap.h"
#include "rspro_peer.h"


static char dir[] = "/tmp/pki_tool_test-XXXXXX";
static char pki[200];
static struct daemon server;
static int rspro_port, rest_port;
static char server_log[300];
static struct ev_loop *loop;

/* remsim-pki with @args (shell words), its output in @out: the exit status */
static int tool(const char *args, char *out, size_t size)
{
	char cmd[PATH_MAX + 700];
	size_t n = 0;
	FILE *p;
	int st;

	snprintf(cmd, sizeof(cmd), "%s %s 2>&1", daemon_src_path("userspace/tools/remsim-pki"),
		 args);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	if (out) {
		n = fread(out, 1, size - 1, p);
		out[n] = '\0';
	} else {
		char buf[512];

		while (fread(buf, 1, sizeof(buf), p) > 0)
			;
	}
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void make_pki(void)
{
	char args[600];

	if (!loop)
		loop = ev_loop_new();
	snprintf(pki, sizeof(pki), "%s/pki%d", dir, free_port());
	snprintf(args, sizeof(args), "init %s", pki);
	ASSERT_EQ(0, tool(args, NULL, 0));
	snprintf(args, sizeof(args), "server %s localhost 127.0.0.1", pki);
	ASSERT_EQ(0, tool(args, NULL, 0));
	snprintf(args, sizeof(args), "bankd 1 %s", pki);
	ASSERT_EQ(0, tool(args, NULL, 0));
	snprintf(args, sizeof(args), "client 20-29 %s", pki);
	ASSERT_EQ(0, tool(args, NULL, 0));
	snprintf(args, sizeof(args), "client 5 %s", pki);
	ASSERT_EQ(0, tool(args, NULL, 0));
}

/* certtool's view of @stem.pem has @line */
static bool cert_has(const char *stem, const char *line)
{
	char cmd[800];
	int st;

	snprintf(cmd, sizeof(cmd), "certtool -i --infile %s/%s.pem | grep -qxF '\t\t\t%s'", pki,
		 stem, line);
	st = system(cmd);
	return WIFEXITED(st) && !WEXITSTATUS(st);
}

/*
 * remsim-server with the PKI's files as credentials of a unit: the paths
 * are "%d/NAME", $CREDENTIALS_DIRECTORY the PKI's directory.
 */
static void start_server(void)
{
	char db[300], rs[8], rt[8];
	char *argv[] = { (char *)daemon_bin("remsim-server"), "-D", db, "--rspro-bind",
			 "127.0.0.1", "--rspro-port", rs, "--rest-bind", "127.0.0.1",
			 "--rest-port", rt, "--tls", "on", "--tls-ca", "%d/ca.pem",
			 "--tls-crl", "%d/crl.pem", "--tls-cert", "%d/server.pem",
			 "--tls-key", "%d/server.key", "--rest-tls", "on", "--rest-tls-cert",
			 "%d/server.pem", "--rest-tls-key", "%d/server.key", NULL };

	rspro_port = free_port();
	rest_port = free_port();
	snprintf(rs, sizeof(rs), "%d", rspro_port);
	snprintf(rt, sizeof(rt), "%d", rest_port);
	snprintf(db, sizeof(db), "%s/server%d.db", dir, rspro_port);
	snprintf(server_log, sizeof(server_log), "%s/server%d.log", dir, rspro_port);
	setenv("CREDENTIALS_DIRECTORY", pki, 1);
	ASSERT_EQ(0, daemon_start(&server, argv, server_log));
	unsetenv("CREDENTIALS_DIRECTORY");
	ASSERT_TRUE(wait_port(rest_port, 5000));
	ASSERT_TRUE(wait_port(rspro_port, 5000));
}

/* The test's own peer with certificate @stem of the PKI. */
static struct rspro_tls *peer_tls(const char *stem)
{
	struct rspro_tls_cfg cfg;
	char err[300];
	struct rspro_tls *tls;

	rspro_tls_cfg_default(&cfg);
	cfg.mode = RSPRO_TLS_ON;
	snprintf(cfg.ca, sizeof(cfg.ca), "%s/ca.pem", pki);
	snprintf(cfg.cert, sizeof(cfg.cert), "%s/%s.pem", pki, stem);
	snprintf(cfg.key, sizeof(cfg.key), "%s/%s.key", pki, stem);
	tls = rspro_tls_new(&cfg, true, err, sizeof(err));
	if (!tls)
		TH_LOG("%s", err);
	return tls;
}

/* The ConnectClientRes client @id gets with certificate @stem. */
static int client_as(const char *stem, int id)
{
	struct tpeer t;
	int ret;

	tpeer_tls = peer_tls(stem);
	if (!tpeer_tls)
		return -1000;
	ret = tpeer_client_result(&t, loop, rspro_port, id, 0);
	tpeer_close(&t);
	rspro_tls_free(tpeer_tls);
	tpeer_tls = NULL;
	return ret;
}

static bool log_wait(const char *text)
{
	for (int t = 0; t < 150 && !log_contains(server_log, text); t++)
		usleep(20000);
	return log_contains(server_log, text);
}

TEST_TIMEOUT(certificates_carry_their_ids_and_are_accepted, 60)
{
	char ca[300], resp[2048];
	struct tpeer t;

	make_pki();
	EXPECT_TRUE(cert_has("server", "URI: urn:remsim:server"));
	EXPECT_TRUE(cert_has("server", "DNSname: localhost"));
	EXPECT_TRUE(cert_has("server", "IPAddress: 127.0.0.1"));
	EXPECT_TRUE(cert_has("bankd-1", "URI: urn:remsim:bankd:1"));
	EXPECT_TRUE(cert_has("client-20-29", "URI: urn:remsim:client:20-29"));
	EXPECT_TRUE(cert_has("client-5", "URI: urn:remsim:client:5"));
	start_server();
	EXPECT_TRUE(log_wait("(TLS 1.3)"));
	/* each certificate is the identity it names, and no other */
	EXPECT_EQ(RSPRO_OK, client_as("client-20-29", 23));
	EXPECT_EQ(RSPRO_ILLEGAL_CLIENT_ID, client_as("client-20-29", 30));
	EXPECT_EQ(RSPRO_OK, client_as("client-5", 5));
	tpeer_tls = peer_tls("bankd-1");
	ASSERT_TRUE(tpeer_tls != NULL);
	EXPECT_TRUE(tpeer_bankd(&t, loop, rspro_port, 1, 8, 9999));
	tpeer_close(&t);
	EXPECT_FALSE(tpeer_bankd(&t, loop, rspro_port, 2, 8, 9999));
	tpeer_close(&t);
	rspro_tls_free(tpeer_tls);
	tpeer_tls = NULL;
	/* REST over HTTPS with the same certificate, verified for "localhost" */
	snprintf(ca, sizeof(ca), "%s/ca.pem", pki);
	EXPECT_EQ(200, https_raw(rest_port, ca, "GET /api/backend/v1/banks HTTP/1.1\r\n"
				 "Host: localhost\r\nConnection: close\r\n\r\n", resp,
				 sizeof(resp)));
	EXPECT_EQ(0, daemon_stop(&server, SIGTERM, 10000));
}

TEST_TIMEOUT(a_revoked_certificate_is_refused, 60)
{
	char args[600], out[1024];

	make_pki();
	snprintf(args, sizeof(args), "revoke %s/client-5.pem %s", pki, pki);
	ASSERT_EQ(0, tool(args, out, sizeof(out)));
	TH_LOG("%s", out);
	/* twice is said, and changes nothing */
	ASSERT_EQ(0, tool(args, out, sizeof(out)));
	EXPECT_TRUE(strstr(out, "is revoked already") != NULL);
	start_server();
	EXPECT_TRUE(client_as("client-5", 5) < 0);
	EXPECT_TRUE(log_wait("certificate of CN=remsim-client-5 refused: The certificate is "
			     "NOT trusted. The certificate chain is revoked."));
	/* the others still are who they are */
	EXPECT_EQ(RSPRO_OK, client_as("client-20-29", 20));
	EXPECT_EQ(0, daemon_stop(&server, SIGTERM, 10000));
}

TEST_TIMEOUT(psk_lines_load, 60)
{
	char out[256], path[300], db[300], rs[8], rt[8];
	char *argv[] = { (char *)daemon_bin("remsim-server"), "-D", db, "--rspro-bind",
			 "127.0.0.1", "--rspro-port", rs, "--rest-bind", "127.0.0.1",
			 "--rest-port", rt, "--tls", "on", "--tls-psk-file", path, NULL };
	FILE *f;

	ASSERT_EQ(0, tool("psk client:20-29", out, sizeof(out)));
	/* the identity, a colon, 32 bytes in hex */
	EXPECT_EQ(strlen("client:20-29:") + 64 + 1, strlen(out));
	EXPECT_EQ(0, strncmp(out, "client:20-29:", 13));
	EXPECT_EQ(strlen(out) - 1, 13 + strspn(out + 13, "0123456789abcdef"));
	snprintf(path, sizeof(path), "%s/server.psk", dir);
	f = fopen(path, "w");
	ASSERT_TRUE(f != NULL);
	fputs(out, f);
	ASSERT_EQ(0, tool("psk bankd:1", out, sizeof(out)));
	fputs(out, f);
	fclose(f);
	rspro_port = free_port();
	rest_port = free_port();
	snprintf(rs, sizeof(rs), "%d", rspro_port);
	snprintf(rt, sizeof(rt), "%d", rest_port);
	snprintf(db, sizeof(db), "%s/psk.db", dir);
	snprintf(server_log, sizeof(server_log), "%s/psk.log", dir);
	ASSERT_EQ(0, daemon_start(&server, argv, server_log));
	EXPECT_TRUE(wait_port(rspro_port, 5000));
	EXPECT_TRUE(log_wait("(TLS 1.3)"));
	EXPECT_EQ(0, daemon_stop(&server, SIGTERM, 10000));
}

TEST(bad_input_said_and_nothing_made)
{
	static const struct {
		const char *args, *says;
		int status;
	} cases[] = {
		{ "", "a command is needed", 2 },
		{ "sign x", "unknown command \"sign\"", 2 },
		{ "bankd 1024 D", "bankd id \"1024\" is not 0..1023", 2 },
		{ "bankd 01 D", "bankd id \"01\" is not 0..1023", 2 },
		{ "client 9-3 D", "client id \"9-3\" is not ID or LO-HI", 2 },
		{ "client 5- D", "client id \"5-\" is not ID or LO-HI", 2 },
		{ "client 5", "client takes ID[-HI] DIR", 2 },
		{ "psk bankd:x", "bankd id \"x\" is not 0..1023", 2 },
		{ "psk root", "PSK identity \"root\" is not server", 2 },
		{ "server D 'a b'", "\"a b\" is not a host name or address", 2 },
		{ "bankd 1 D", "no CA in ", 1 },
	};
	char args[600], out[2048], d[300];

	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(d, sizeof(d), "%s/nothing", dir);
		snprintf(args, sizeof(args), "%s", cases[i].args);
		/* "D": a directory that must stay empty */
		for (char *p = strstr(args, " D"); p; p = strstr(p + 1, " D"))
			if (p[2] == '\0' || p[2] == ' ') {
				memmove(p + 1 + strlen(d), p + 2, strlen(p + 2) + 1);
				memcpy(p + 1, d, strlen(d));
			}
		EXPECT_EQ(cases[i].status, tool(args, out, sizeof(out)));
		if (!strstr(out, cases[i].says))
			TH_LOG("%s: %s", args, out);
		EXPECT_TRUE(strstr(out, cases[i].says) != NULL);
		EXPECT_NE(0, access(d, F_OK));
	}
	/* a key is never overwritten: the certificates given out would stop matching */
	make_pki();
	snprintf(args, sizeof(args), "client 5 %s", pki);
	EXPECT_EQ(1, tool(args, out, sizeof(out)));
	EXPECT_TRUE(strstr(out, "client-5.key exists") != NULL);
	snprintf(args, sizeof(args), "init %s", pki);
	EXPECT_EQ(1, tool(args, out, sizeof(out)));
	/* and only the CA's certificates are revoked by it */
	snprintf(args, sizeof(args), "revoke %s/ca.key %s", pki, pki);
	EXPECT_EQ(1, tool(args, out, sizeof(out)));
	EXPECT_TRUE(strstr(out, "is not a certificate of the CA") != NULL);
}

int main(int argc, char **argv)
{
	return ktap_main_in_dir(argc, argv, dir);
}
