// SPDX-License-Identifier: GPL-2.0
/*
 * rest_auth_test - remsim-server's REST (its ASan/UBSan build) over HTTPS
 * with a certificate made here by certtool, its bearer tokens made with
 * `remsim-server token` beside the running server, and its audit trail:
 * scopes, revocation at once, the secret never in the database file,
 * malformed Authorization headers, audit lines for REST changes and map
 * pushes in GET /audit and in the log, and the audit table's bound.
 */
#define _GNU_SOURCE		/* memmem() */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "http.h"
#include "https.h"
#include "ktap.h"
#include "rspro_peer.h"

#define API	"/api/backend/v1"

static struct ev_loop *loop;
static char dir[] = "/tmp/remsim-rest-auth-test-XXXXXX";
static char cert[300], key[300];

static struct {
	struct daemon d;
	int rspro, rest;
	char db[300], log[300];
} S;

static char resp[65536];

static void after_each(void)
{
	if (S.d.pid)
		daemon_stop(&S.d, SIGKILL, 1000);
}

/* The directory, and a self-signed certificate for "localhost" and 127.0.0.1. */
static void setup(void)
{
	if (loop)
		return;
	loop = ev_loop_new();
	ASSERT_TRUE(mkdtemp(dir) != NULL);
	ktap_after_each(after_each);
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	ASSERT_EQ(0, shell("printf 'cn = localhost\\ndns_name = localhost\\n"
			   "ip_address = 127.0.0.1\\nexpiration_days = 2\\ntls_www_server\\n"
			   "signing_key\\n' >%s/cert.tmpl && "
			   "certtool --generate-privkey --key-type=ecdsa --outfile %s 2>/dev/null && "
			   "certtool --generate-self-signed --load-privkey %s --template %s/cert.tmpl "
			   "--outfile %s >/dev/null 2>&1", dir, key, key, dir, cert));
}

/* A fresh server and database with @extra options (NULL-terminated). */
static void srv_start(const char *const *extra)
{
	static int n;
	char rspro[8], rest[8];
	char *argv[40];
	int i = 0;

	snprintf(S.db, sizeof(S.db), "%s/server%d.db", dir, ++n);
	snprintf(S.log, sizeof(S.log), "%s/server%d.log", dir, n);
	S.rspro = free_port();
	S.rest = free_port();
	snprintf(rspro, sizeof(rspro), "%d", S.rspro);
	snprintf(rest, sizeof(rest), "%d", S.rest);
	argv[i++] = (char *)daemon_bin("remsim-server");
	argv[i++] = "-D";
	argv[i++] = S.db;
	argv[i++] = "--rspro-bind";
	argv[i++] = "127.0.0.1";
	argv[i++] = "--rspro-port";
	argv[i++] = rspro;
	argv[i++] = "--rest-bind";
	argv[i++] = "127.0.0.1";
	argv[i++] = "--rest-port";
	argv[i++] = rest;
	argv[i++] = "-e";
	argv[i++] = "debug";
	while (extra && *extra)
		argv[i++] = (char *)*extra++;
	argv[i] = NULL;
	ASSERT_EQ(0, daemon_start(&S.d, argv, S.log));
	if (!wait_port(S.rest, 5000) || !wait_port(S.rspro, 5000)) {
		TH_LOG("the server did not come up; see %s", S.log);
		ASSERT_TRUE(false);
	}
}

/* Stops the server; it must exit 0 (no leak, no sanitizer report). */
static void srv_stop(void)
{
	int status = daemon_stop(&S.d, SIGTERM, 10000);

	if (status)
		TH_LOG("server exit status %d; see %s", status, S.log);
	EXPECT_EQ(0, status);
}

/*
 * `remsim-server token ARGS -D db`: its exit status; its first line of
 * stdout (the token, for add) in @out.
 */
static int token_cmd(char *out, size_t size, const char *args)
{
	char cmd[1200];
	FILE *f;
	int status;

	snprintf(cmd, sizeof(cmd), "%s token %s -D %s 2>>%s/token.err",
		 daemon_bin("remsim-server"), args, S.db, dir);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	if (!out || !fgets(out, size, f)) {
		if (out)
			out[0] = 0;
	}
	while (fgetc(f) != EOF)
		;
	status = pclose(f);
	if (out)
		out[strcspn(out, "\n")] = 0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void token_add(char *secret, size_t size, const char *name, const char *scope)
{
	char args[200];

	snprintf(args, sizeof(args), "add %s --scope %s", name, scope);
	ASSERT_EQ(0, token_cmd(secret, size, args));
	ASSERT_EQ(71, (int)strlen(secret));	/* remsim_ and 64 hex digits */
}

/*
 * METHOD PATH over plain HTTP with "Authorization: @auth" (NULL: none) and
 * a JSON @body (NULL: none): the status; the whole answer in resp.
 */
static int req_auth(const char *method, const char *path, const char *auth,
		    const char *body)
{
	static char rq[70000];

	snprintf(rq, sizeof(rq),
		 "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s%s%s"
		 "%sContent-Length: %zu\r\n\r\n%s", method, path,
		 auth ? "Authorization: " : "", auth ?: "", auth ? "\r\n" : "",
		 body ? "Content-Type: application/json\r\n" : "",
		 body ? strlen(body) : 0, body ?: "");
	return http_raw(S.rest, rq, resp, sizeof(resp));
}

/* The same with a bearer token (NULL: no Authorization header). */
static int req(const char *method, const char *path, const char *token, const char *body)
{
	char auth[300];

	if (!token)
		return req_auth(method, path, NULL, body);
	snprintf(auth, sizeof(auth), "Bearer %s", token);
	return req_auth(method, path, auth, body);
}

static const char *map_json(int bank, int bslot, int client, int cslot)
{
	static char json[200];

	snprintf(json, sizeof(json),
		 "{\"bank\":{\"bankId\":%d,\"slotNr\":%d},\"client\":{\"clientId\":%d,\"slotNr\":%d}}",
		 bank, bslot, client, cslot);
	return json;
}

static bool has(const char *text)
{
	return strstr(resp, text) != NULL;
}

TEST(https_get_works_and_plaintext_gets_a_clean_refusal)
{
	const char *const opts[] = { "--rest-tls", "on", "--rest-tls-cert", cert,
				     "--rest-tls-key", key, NULL };
	const char get[] = "GET " API "/slotmaps HTTP/1.1\r\nHost: localhost\r\n"
			   "Connection: close\r\n\r\n";

	setup();
	srv_start(opts);
	ASSERT_EQ(200, https_raw(S.rest, cert, get, resp, sizeof(resp)));
	EXPECT_TRUE(has("{\"slotmaps\":[]}"));
	/* plain HTTP on the HTTPS port: no HTTP answer, the connection closed */
	EXPECT_TRUE(http_raw(S.rest, get, resp, sizeof(resp)) < 0);
	EXPECT_TRUE(log_contains(S.log, "REST (HTTPS, tokens not required)"));
	/* and the server still serves */
	EXPECT_EQ(200, https_raw(S.rest, cert, get, resp, sizeof(resp)));
	srv_stop();
}

TEST(bad_tls_settings_stop_the_server_with_a_reason)
{
	const char *const no_key[] = { "--rest-tls", "on", "--rest-tls-cert", cert, NULL };
	const char *const swapped[] = { "--rest-tls", "on", "--rest-tls-cert", key,
					"--rest-tls-key", cert, NULL };

	setup();
	srv_start(NULL);	/* for its paths; this one serves */
	srv_stop();
	ASSERT_EQ(0, daemon_start(&S.d, (char *[]){ (char *)daemon_bin("remsim-server"),
			"-D", S.db, "--rest-port", "0", "--rspro-port", "0",
			(char *)no_key[0], (char *)no_key[1], (char *)no_key[2],
			(char *)no_key[3], NULL }, S.log));
	EXPECT_EQ(2, daemon_wait(&S.d, 10000));
	EXPECT_TRUE(log_contains(S.log, "rest-tls on needs rest-tls-cert and rest-tls-key"));
	ASSERT_EQ(0, daemon_start(&S.d, (char *[]){ (char *)daemon_bin("remsim-server"),
			"-D", S.db, "--rest-port", "0", "--rspro-port", "0",
			(char *)swapped[0], (char *)swapped[1], (char *)swapped[2],
			(char *)swapped[3], (char *)swapped[4], (char *)swapped[5], NULL },
			S.log));
	EXPECT_EQ(1, daemon_wait(&S.d, 10000));
	EXPECT_TRUE(log_contains(S.log, "REST TLS: certificate"));
}

/* The deadline and the per-address limit hold for TLS connections too. */
TEST_TIMEOUT(tls_connections_keep_the_deadline_and_the_address_limit, 60)
{
	const char *const opts[] = { "--rest-tls", "on", "--rest-tls-cert", cert,
				     "--rest-tls-key", key, "--rest-request-timeout", "1",
				     "--rest-connections-per-address", "2", NULL };
	const char get[] = "GET " API "/banks HTTP/1.1\r\nHost: localhost\r\n"
			   "Connection: close\r\n\r\n";
	int fds[2], n, i;
	char c;

	setup();
	srv_start(opts);
	/* two silent connections (no handshake) take this address's places */
	ASSERT_EQ(2, tcp_flood(S.rest, fds, 2));
	usleep(300000);
	EXPECT_TRUE(https_raw(S.rest, cert, get, resp, sizeof(resp)) < 0);
	/* ...until the deadline cuts them: the end of the stream within 3 s */
	for (i = 0; i < 2; i++) {
		struct pollfd pfd = { .fd = fds[i], .events = POLLIN };

		EXPECT_EQ(1, poll(&pfd, 1, 3000));
		n = read(fds[i], &c, 1);
		EXPECT_EQ(0, n);
		close(fds[i]);
	}
	EXPECT_EQ(200, https_raw(S.rest, cert, get, resp, sizeof(resp)));
	EXPECT_TRUE(log_contains(S.log, "connection(s) with no complete request within 1 s"));
	srv_stop();
}

TEST(token_scopes_and_revocation_while_running)
{
	const char *const opts[] = { "--rest-auth", "on", NULL };
	char admin[100], ro[100];

	setup();
	srv_start(opts);
	token_add(admin, sizeof(admin), "ops", "admin");
	token_add(ro, sizeof(ro), "viewer", "read");

	EXPECT_EQ(401, req("GET", API "/slotmaps", NULL, NULL));
	EXPECT_TRUE(has("WWW-Authenticate: Bearer realm=\"remsim\""));
	EXPECT_EQ(200, req("GET", API "/slotmaps", ro, NULL));
	EXPECT_EQ(403, req("POST", API "/slotmaps", ro, map_json(1, 0, 2, 0)));
	EXPECT_TRUE(has("error=\"insufficient_scope\""));
	EXPECT_EQ(403, req("POST", API "/global-reset", ro, NULL));
	EXPECT_EQ(403, req("GET", API "/audit", ro, NULL));
	EXPECT_EQ(201, req("POST", API "/slotmaps", admin, map_json(1, 0, 2, 0)));
	EXPECT_EQ(200, req("GET", API "/slotmaps", ro, NULL));
	EXPECT_TRUE(has("\"clientId\":2"));
	/* an unknown path is no way around: the token comes first */
	EXPECT_EQ(401, req("GET", "/nothing", NULL, NULL));

	/* revoked beside the running server: refused from the next request */
	EXPECT_EQ(0, token_cmd(NULL, 0, "revoke viewer"));
	EXPECT_EQ(401, req("GET", API "/slotmaps", ro, NULL));
	EXPECT_TRUE(has("error=\"invalid_token\""));
	/* the same answer as a token that never was */
	EXPECT_TRUE(has("{\"error\":\"the bearer token is not valid\"}"));
	EXPECT_EQ(200, req("GET", API "/slotmaps", admin, NULL));
	srv_stop();
}

TEST(token_command_lists_without_secrets_and_refuses_bad_input)
{
	char admin[100], line[300], cmd[600];

	setup();
	srv_start(NULL);
	token_add(admin, sizeof(admin), "ops", "admin");
	EXPECT_EQ(1, token_cmd(NULL, 0, "add ops --scope read"));	/* taken */
	EXPECT_EQ(2, token_cmd(NULL, 0, "add ops2"));			/* no scope */
	EXPECT_EQ(2, token_cmd(NULL, 0, "add ops3 --scope root"));
	EXPECT_EQ(2, token_cmd(NULL, 0, "add 'a/b' --scope read"));
	EXPECT_EQ(2, token_cmd(NULL, 0, "frobnicate"));
	EXPECT_EQ(1, token_cmd(NULL, 0, "revoke nobody"));
	/* list: the name, the scope, never the secret */
	snprintf(cmd, sizeof(cmd), "%s token list -D %s | grep -q '^ops  *admin  *[0-9T:+-]*  *never$'",
		 daemon_bin("remsim-server"), S.db);
	EXPECT_EQ(0, shell("%s", cmd));
	snprintf(cmd, sizeof(cmd), "%s token list -D %s | grep -q %s",
		 daemon_bin("remsim-server"), S.db, admin + 7);
	EXPECT_NE(0, shell("%s", cmd));
	EXPECT_EQ(0, token_cmd(line, sizeof(line), "list"));
	EXPECT_EQ(0, strncmp(line, "NAME", 4));
	srv_stop();
}

/* Whether @file contains @text, as bytes anywhere. */
static bool file_has(const char *file, const char *text)
{
	static char buf[4 << 20];
	size_t n;
	FILE *f = fopen(file, "r");

	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	return memmem(buf, n, text, strlen(text)) != NULL;
}

TEST(the_secret_is_not_in_the_database)
{
	const char *const opts[] = { "--rest-auth", "on", NULL };
	char admin[100], wal[320];

	setup();
	srv_start(opts);
	token_add(admin, sizeof(admin), "ops", "admin");
	EXPECT_EQ(200, req("GET", API "/banks", admin, NULL));
	srv_stop();
	snprintf(wal, sizeof(wal), "%s-wal", S.db);
	/* the name is there (the check works), the secret nowhere, nor half of it */
	EXPECT_TRUE(file_has(S.db, "ops") || file_has(wal, "ops"));
	EXPECT_FALSE(file_has(S.db, admin) || file_has(wal, admin));
	EXPECT_FALSE(file_has(S.db, admin + 39) || file_has(wal, admin + 39));
}

TEST(malformed_authorization_gets_401_and_no_crash)
{
	const char *const opts[] = { "--rest-auth", "on", NULL };
	static char huge[8200], giant[70000];
	char admin[100], auth[200];

	setup();
	srv_start(opts);
	token_add(admin, sizeof(admin), "ops", "admin");
	memcpy(huge, "Bearer ", 7);
	memset(huge + 7, 'a', sizeof(huge) - 8);
	EXPECT_EQ(401, req_auth("GET", API "/banks", huge, NULL));
	EXPECT_EQ(401, req_auth("GET", API "/banks", "", NULL));
	EXPECT_EQ(401, req_auth("GET", API "/banks", "Bearer", NULL));
	EXPECT_EQ(401, req_auth("GET", API "/banks", "Bearer    ", NULL));
	EXPECT_EQ(401, req_auth("GET", API "/banks", "Bearer \xc3\xa9\xff\xfe", NULL));
	snprintf(auth, sizeof(auth), "Basic %s", admin);
	EXPECT_EQ(401, req_auth("GET", API "/banks", auth, NULL));
	snprintf(auth, sizeof(auth), "Bearer %s extra", admin);
	EXPECT_EQ(401, req_auth("GET", API "/banks", auth, NULL));
	snprintf(auth, sizeof(auth), "Bearer %.70s", admin);	/* one short */
	EXPECT_EQ(401, req_auth("GET", API "/banks", auth, NULL));
	/* over libmicrohttpd's header memory: refused before us, not a crash */
	memcpy(giant, "Bearer ", 7);
	memset(giant + 7, 'a', sizeof(giant) - 8);
	EXPECT_TRUE(req_auth("GET", API "/banks", giant, NULL) >= 400);
	/* the scheme is case-insensitive (RFC 7235) */
	snprintf(auth, sizeof(auth), "bearer %s", admin);
	EXPECT_EQ(200, req_auth("GET", API "/banks", auth, NULL));
	/* the refusals: one NOTICE line (then one a minute), each at debug */
	EXPECT_EQ(1, log_count(S.log, "NOTICE rest: refused a request from"));
	EXPECT_TRUE(log_count(S.log, "401: the bearer token is not valid") >= 7);
	srv_stop();
}

/* The audit line of @action in resp, from GET /audit: its JSON object. */
static const char *audit_entry(const char *action)
{
	char want[200];

	snprintf(want, sizeof(want), "\"action\":\"%s\"", action);
	return strstr(resp, want);
}

TEST(audit_lines_for_rest_changes_and_pushes)
{
	const char *const opts[] = { "--rest-auth", "on", NULL };
	char admin[100], q[200];
	struct rspro_pdu pdu;
	struct tpeer b, c;
	const char *e;

	setup();
	srv_start(opts);
	token_add(admin, sizeof(admin), "ops", "admin");
	ASSERT_EQ(201, req("POST", API "/slotmaps", admin, map_json(1, 5, 23, 0)));
	ASSERT_EQ(201, req("POST", API "/slotmaps", admin, map_json(1, 6, 24, 0)));
	ASSERT_EQ(200, req("DELETE", API "/slotmaps/65541", admin, NULL));
	/* a bankd registering gets the map left, then its client: pushes, audited */
	ASSERT_TRUE(tpeer_client(&c, loop, S.rspro, 24, 0));
	ASSERT_TRUE(tpeer_bankd(&b, loop, S.rspro, 1, 8, 9555));
	ASSERT_TRUE(tpeer_wait(&b, RSPRO_CREATE_MAPPING_REQ, &pdu, 3000));
	rspro_result_res(&pdu, RSPRO_CREATE_MAPPING_RES, RSPRO_OK);
	ASSERT_EQ(0, tpeer_send(&b, &pdu));
	ASSERT_TRUE(tpeer_wait(&c, RSPRO_CONFIG_CLIENT_BANK_REQ, &pdu, 3000));
	ASSERT_EQ(200, req("POST", API "/global-reset", admin, NULL));
	ASSERT_TRUE(tpeer_wait(&b, RSPRO_REMOVE_MAPPING_REQ, &pdu, 3000));

	ASSERT_EQ(200, req("GET", API "/audit", admin, NULL));
	e = audit_entry("slotmap create");
	ASSERT_TRUE(e != NULL);
	EXPECT_TRUE(strstr(e, "\"after\":\"B1:5<->C23:0\"") != NULL);
	EXPECT_TRUE(strstr(resp, "\"caller\":\"127.0.0.1:") != NULL);
	EXPECT_TRUE(strstr(resp, " token=ops\",\"action\":\"slotmap create\"") != NULL);
	e = audit_entry("slotmap delete");
	ASSERT_TRUE(e != NULL);
	EXPECT_TRUE(strstr(e, "\"before\":\"B1:5<->C23:0 NEW\",\"after\":null") != NULL);
	e = audit_entry("push CreateMappingReq to B1");
	ASSERT_TRUE(e != NULL);
	EXPECT_TRUE(strstr(e, "\"after\":\"B1:6<->C24:0\"") != NULL);
	EXPECT_TRUE(strstr(resp, "\"caller\":\"server\",\"action\":\"push CreateMappingReq") != NULL);
	e = audit_entry("push ConfigClientBankReq to C24:0");
	ASSERT_TRUE(e != NULL);
	EXPECT_TRUE(strstr(e, "\"before\":null,\"after\":\"B1:6 at 127.0.0.1:9555\"") != NULL);
	e = audit_entry("global-reset: slotmap delete");
	ASSERT_TRUE(e != NULL);
	EXPECT_TRUE(strstr(e, "\"before\":\"B1:6<->C24:0 ACTIVE\"") != NULL);
	e = audit_entry("push RemoveMappingReq to B1");
	ASSERT_TRUE(e != NULL);
	EXPECT_TRUE(strstr(e, "\"before\":\"B1:6<->C24:0\",\"after\":null") != NULL);
	/* the client told it has no bankd now, with what it had before */
	e = audit_entry("push ConfigClientBankReq to C24:0");
	ASSERT_TRUE(e != NULL);
	e = strstr(e + 1, "\"action\":\"push ConfigClientBankReq to C24:0\"");
	ASSERT_TRUE(e != NULL);
	EXPECT_TRUE(strstr(e, "\"before\":\"B1:6 at 127.0.0.1:9555\",\"after\":\"B1:6 at 0.0.0.0:0\"") != NULL);
	e = audit_entry("global-reset");
	ASSERT_TRUE(e != NULL);
	EXPECT_TRUE(strstr(e, "\"after\":\"1 slot maps deleted\"") != NULL);
	/* times in UTC with the offset said */
	EXPECT_TRUE(strstr(resp, "+00:00\",\"caller\"") != NULL);

	/* the same lines in the log, at info, category DAUDIT */
	EXPECT_TRUE(log_contains(S.log, " token=ops: "));
	EXPECT_GE(log_count(S.log, "DAUDIT INFO 127.0.0.1:"), 5);
	EXPECT_TRUE(log_contains(S.log, "slotmap create after=B1:5<->C23:0"));
	EXPECT_TRUE(log_contains(S.log, "DAUDIT INFO server: "));

	/* since, after, limit */
	EXPECT_EQ(200, req("GET", API "/audit?limit=1", admin, NULL));
	EXPECT_TRUE(strstr(resp, "\"id\":1,") && !strstr(resp, "\"id\":2,"));
	EXPECT_EQ(200, req("GET", API "/audit?after=1&limit=1", admin, NULL));
	EXPECT_TRUE(strstr(resp, "\"id\":2,") && !strstr(resp, "\"id\":1,"));
	EXPECT_EQ(200, req("GET", API "/audit?since=2999-01-01T00:00:00Z", admin, NULL));
	EXPECT_TRUE(has("{\"audit\":[]}"));
	EXPECT_EQ(200, req("GET", API "/audit?since=2000-01-01T02:00:00%2B02:00&limit=1",
			   admin, NULL));
	EXPECT_TRUE(has("\"id\":1,"));
	snprintf(q, sizeof(q), API "/audit?since=%ld", (long)time(NULL) + 3600);
	EXPECT_EQ(200, req("GET", q, admin, NULL));
	EXPECT_TRUE(has("{\"audit\":[]}"));
	EXPECT_EQ(400, req("GET", API "/audit?since=yesterday", admin, NULL));
	EXPECT_EQ(400, req("GET", API "/audit?limit=0", admin, NULL));
	EXPECT_EQ(400, req("GET", API "/audit?limit=1001", admin, NULL));
	EXPECT_EQ(405, req("POST", API "/audit", admin, NULL));
	tpeer_close(&b);
	tpeer_close(&c);
	srv_stop();
}

TEST(audit_without_auth_names_the_address_and_keeps_only_the_newest)
{
	const char *const opts[] = { "--audit-max", "5", NULL };
	int i;

	setup();
	srv_start(opts);
	for (i = 0; i < 8; i++)
		ASSERT_EQ(201, req("POST", API "/slotmaps", NULL, map_json(2, i, 30, i)));
	ASSERT_EQ(200, req("PUT", API "/log-level", NULL, "{\"level\":\"debug\"}"));
	ASSERT_EQ(200, req("GET", API "/audit", NULL, NULL));
	/* 9 lines written, the newest 5 kept */
	EXPECT_FALSE(has("\"id\":4,"));
	EXPECT_TRUE(has("\"id\":5,"));
	EXPECT_TRUE(has("\"id\":9,"));
	EXPECT_TRUE(has("\"after\":\"B2:7<->C30:7\""));
	EXPECT_FALSE(has("token="));
	EXPECT_TRUE(has("\"action\":\"log-level\",\"before\":\"DMAIN,1:"));
	srv_stop();
}

/*
 * Pushes made while another process holds the database's write lock are
 * logged at once, said to be not stored yet, and stored once it lets go.
 */
TEST_TIMEOUT(audit_lines_wait_out_a_locked_database, 60)
{
	struct rspro_pdu pdu;
	char cmd[400];
	struct tpeer b;
	FILE *lock;
	int t;

	setup();
	srv_start(NULL);
	ASSERT_EQ(201, req("POST", API "/slotmaps", NULL, map_json(1, 0, 5, 0)));
	snprintf(cmd, sizeof(cmd), "sqlite3 %s", S.db);
	lock = popen(cmd, "w");
	ASSERT_TRUE(lock != NULL);
	fprintf(lock, "BEGIN IMMEDIATE;\nUPDATE meta SET value = value;\n");
	fflush(lock);
	usleep(500000);
	ASSERT_TRUE(tpeer_bankd(&b, loop, S.rspro, 1, 8, -1));
	ASSERT_TRUE(tpeer_wait(&b, RSPRO_CREATE_MAPPING_REQ, &pdu, 3000));
	EXPECT_TRUE(log_contains(S.log, "DAUDIT INFO server: "));
	/* the first failed flush is said, then retried each second */
	for (t = 0; t < 100 && !log_contains(S.log, "audit lines not stored"); t++)
		usleep(20000);
	EXPECT_TRUE(log_contains(S.log, "audit lines not stored in the database"));
	EXPECT_EQ(200, req("GET", API "/audit", NULL, NULL));
	EXPECT_FALSE(has("push CreateMappingReq"));
	fprintf(lock, "COMMIT;\n");
	pclose(lock);
	for (t = 0; t < 50; t++) {
		EXPECT_EQ(200, req("GET", API "/audit", NULL, NULL));
		if (has("push CreateMappingReq to B1"))
			break;
		usleep(100000);
	}
	EXPECT_TRUE(has("\"caller\":\"server\",\"action\":\"push CreateMappingReq to B1\""));
	EXPECT_EQ(1, log_count(S.log, "audit lines not stored in the database"));
	tpeer_close(&b);
	srv_stop();
}

int main(int argc, char **argv)
{
	int ret;

	signal(SIGPIPE, SIG_IGN);
	ret = ktap_main(argc, argv);
	if (loop)
		ev_loop_free(loop);
	if (ret == 0 && dir[strlen(dir) - 1] != 'X') {
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd))
			return 1;
	}
	return ret;
}
