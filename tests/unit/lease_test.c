// SPDX-License-Identifier: GPL-2.0
/*
 * lease_test - rack management in remsim-server (its ASan/UBSan build):
 * card tags (automatic mccmnc from the IMSI, free ones over REST), pools,
 * leases (acquire, renew, release, expiry; what another owner may not do,
 * what an admin may force), the history of cards and modem slots, all of
 * it across a restart; a test bankd reports the cards, a test client is
 * the modem slot.
 */
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "http.h"
#include "ktap.h"
#include "pg_env.h"
#include "rspro_peer.h"

#define API "/api/backend/v1"
#define ICCID_A "8949000000000000001"
#define ICCID_B "8949000000000000002"
#define ICCID_US "8901000000000000003"

static struct ev_loop *loop;
static char dir[] = "/tmp/remsim-lease-test-XXXXXX";
static char resp[65536];

struct srv {
	struct daemon d;
	int rspro, rest;
	char db[300];
	char log[300];
	bool auth;
};

/* extra options of the next srv_run_one() (NULL-terminated), NULL: none */
static const char *const *extra_opts;

/* S: the server req() asks; T: a second one on the same PostgreSQL database */
static struct srv S, T;
static struct pg_env pg;

static void after_each(void)
{
	if (S.d.pid)
		daemon_stop(&S.d, SIGKILL, 1000);
	if (T.d.pid)
		daemon_stop(&T.d, SIGKILL, 1000);
}

static void setup(void)
{
	if (!loop)
		loop = ev_loop_new();
}

/* Server @s on s->db (kept across restarts), with --rest-auth if s->auth. */
static void srv_run_one(struct srv *s)
{
	char rspro[8], rest[8];
	char *argv[32];
	int i = 0;

	s->rspro = free_port();
	s->rest = free_port();
	snprintf(rspro, sizeof(rspro), "%d", s->rspro);
	snprintf(rest, sizeof(rest), "%d", s->rest);
	argv[i++] = (char *)daemon_bin("remsim-server");
	argv[i++] = "-D";
	argv[i++] = s->db;
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
	if (s->auth) {
		argv[i++] = "--rest-auth";
		argv[i++] = "on";
	}
	argv[i++] = "--advertise";
	argv[i++] = "127.0.0.1";
	while (extra_opts && *extra_opts && i < 30)
		argv[i++] = (char *)*extra_opts++;
	argv[i] = NULL;
	ASSERT_EQ(0, daemon_start(&s->d, argv, s->log));
	/* a standby does not listen for RSPRO */
	if (!wait_port(s->rest, 5000)) {
		TH_LOG("the server did not come up; see %s", s->log);
		ASSERT_TRUE(false);
	}
}

static void srv_run(void)
{
	srv_run_one(&S);
	ASSERT_TRUE(wait_port(S.rspro, 5000));
}

/* A fresh database, @name's, and a server on it. */
static void srv_start(const char *name, bool auth)
{
	snprintf(S.db, sizeof(S.db), "%s/%s.db", dir, name);
	snprintf(S.log, sizeof(S.log), "%s/%s.log", dir, name);
	S.auth = auth;
	srv_run();
}

static void srv_stop(void)
{
	int status = daemon_stop(&S.d, SIGTERM, 10000);

	if (status)
		TH_LOG("server exit status %d; see %s", status, S.log);
	EXPECT_EQ(0, status);
}

/* A new token of @scope (admin or read) into @secret. */
static void token_add(char *secret, size_t size, const char *name, const char *scope)
{
	char cmd[1200];
	FILE *f;

	snprintf(cmd, sizeof(cmd), "%s token add %s --scope %s -D %s 2>>%s/token.err",
		 daemon_bin("remsim-server"), name, scope, S.db, dir);
	f = popen(cmd, "r");
	ASSERT_TRUE(f != NULL);
	if (!fgets(secret, size, f))
		secret[0] = 0;
	while (fgetc(f) != EOF)
		;
	ASSERT_EQ(0, pclose(f));
	secret[strcspn(secret, "\n")] = 0;
	ASSERT_EQ(71, (int)strlen(secret));
}

/* METHOD API PATH with bearer @token (NULL: none) and JSON @body: the status. */
static int req(const char *method, const char *path, const char *token, const char *body)
{
	static char rq[70000];
	char *start;
	int status;

	snprintf(rq, sizeof(rq),
		 "%s " API "%s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s%s%s"
		 "%sContent-Length: %zu\r\n\r\n%s", method, path,
		 token ? "Authorization: Bearer " : "", token ?: "", token ? "\r\n" : "",
		 body ? "Content-Type: application/json\r\n" : "",
		 body ? strlen(body) : 0, body ?: "");
	status = http_raw(S.rest, rq, resp, sizeof(resp));
	/* the body only */
	start = strstr(resp, "\r\n\r\n");
	if (start)
		memmove(resp, start + 4, strlen(start + 4) + 1);
	return status;
}

static bool has(const char *text)
{
	if (strstr(resp, text))
		return true;
	TH_LOG("no \"%s\" in %s", text, resp);
	return false;
}

/* A bankd report of @slot: a card with @iccid and @imsi. */
static void card(struct tpeer *b, int slot, const char *iccid, const char *imsi)
{
	struct rspro_identity id;
	struct rspro_pdu pdu;

	rspro_identity_init(&id, RSPRO_COMP_BANKD, "testbank", "remsim-bankd", "test");
	rspro_connect_bank_req(&pdu, &id, 1, 8);
	pdu.connect_bank_req.has_card_info = true;
	pdu.connect_bank_req.card_info.slot_nr = slot;
	pdu.connect_bank_req.card_info.present = true;
	snprintf(pdu.connect_bank_req.card_info.iccid, RSPRO_ICCID_MAX + 1, "%s", iccid);
	snprintf(pdu.connect_bank_req.card_info.imsi, RSPRO_IMSI_MAX + 1, "%s", imsi);
	ASSERT_EQ(0, tpeer_send(b, &pdu));
	ASSERT_TRUE(tpeer_wait(b, RSPRO_CONNECT_BANK_RES, &pdu, 3000));
	ASSERT_EQ(RSPRO_OK, pdu.connect_res.result);
}

/* The bankd with three cards: two German ones, one of the USA (3-digit MNC). */
static void bank_up(struct tpeer *b)
{
	ASSERT_TRUE(tpeer_bankd(b, loop, S.rspro, 1, 8, -1));
	card(b, 0, ICCID_A, "262021234567890");
	card(b, 1, ICCID_B, "262021234567891");
	card(b, 2, ICCID_US, "310410123456789");
}

/* The bankd answers the next CreateMappingReq or RemoveMappingReq with ok. */
static void bank_ok(struct tpeer *b, enum rspro_msg req_msg, enum rspro_msg res)
{
	struct rspro_pdu pdu;

	ASSERT_TRUE(tpeer_wait(b, req_msg, NULL, 3000));
	rspro_result_res(&pdu, res, RSPRO_OK);
	ASSERT_EQ(0, tpeer_send(b, &pdu));
}

static int sql_exec(const char *path, const char *sql)
{
	sqlite3 *db;
	int rc;

	if (sqlite3_open(path, &db) != SQLITE_OK)
		return -1;
	rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}

static bool log_has(const char *text)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "grep -qF -- '%s' %s", text, S.log);
	return !shell("%s", cmd);
}

/*
 * Tags: the automatic mccmnc one (2 or 3 MNC digits), free ones set and
 * checked; pools list their cards and which are free; both survive a
 * restart; bad input gets 400 with a reason.
 */
TEST(tags_and_pools)
{
	struct tpeer b;
	char many[2048];
	int i;

	setup();
	srv_start("tags", false);
	bank_up(&b);
	ASSERT_EQ(200, req("GET", "/cards", NULL, NULL));
	EXPECT_TRUE(has("\"tags\":[\"mccmnc:26202\"]"));
	EXPECT_TRUE(has("\"tags\":[\"mccmnc:310410\"]"));

	EXPECT_EQ(200, req("PUT", "/cards/" ICCID_A "/tags", NULL,
			   "{\"tags\":[\"profile:lte\",\"x\"]}"));
	EXPECT_EQ(400, req("PUT", "/cards/" ICCID_A "/tags", NULL, "{\"tags\":[\"a b\"]}"));
	EXPECT_TRUE(has("is not 1..64 characters"));
	EXPECT_EQ(400, req("PUT", "/cards/" ICCID_A "/tags", NULL,
			   "{\"tags\":[\"mccmnc:1\"]}"));
	EXPECT_EQ(400, req("PUT", "/cards/xyz/tags", NULL, "{\"tags\":[]}"));
	strcpy(many, "{\"tags\":[");
	for (i = 0; i < 17; i++)
		sprintf(many + strlen(many), "%s\"t%d\"", i ? "," : "", i);
	strcat(many, "]}");
	EXPECT_EQ(400, req("PUT", "/cards/" ICCID_A "/tags", NULL, many));
	EXPECT_TRUE(has("17 tags, the most is 16"));
	ASSERT_EQ(200, req("GET", "/cards", NULL, NULL));
	EXPECT_TRUE(has("\"tags\":[\"mccmnc:26202\",\"profile:lte\",\"x\"]"));
	/* `remsim-server tag` sets them on the running server */
	EXPECT_EQ(0, shell("%s tag -s http://127.0.0.1:%d %s lab:b2 2>>%s/tag.err",
			   daemon_bin("remsim-server"), S.rest, ICCID_B, dir));
	EXPECT_NE(0, shell("%s tag -s http://127.0.0.1:%d %s 'a b' 2>>%s/tag.err",
			   daemon_bin("remsim-server"), S.rest, ICCID_B, dir));
	EXPECT_EQ(2, shell("%s tag notaniccid 2>/dev/null", daemon_bin("remsim-server")));
	ASSERT_EQ(200, req("GET", "/cards", NULL, NULL));
	EXPECT_TRUE(has("\"tags\":[\"mccmnc:26202\",\"lab:b2\"]"));

	EXPECT_EQ(200, req("PUT", "/pools/de-lte", NULL,
			   "{\"tags\":[\"mccmnc:26202\",\"profile:lte\"]}"));
	EXPECT_EQ(200, req("PUT", "/pools/de", NULL, "{\"tags\":[\"mccmnc:26202\"]}"));
	EXPECT_EQ(400, req("PUT", "/pools/a:b", NULL, "{\"tags\":[\"x\"]}"));
	EXPECT_EQ(400, req("PUT", "/pools/empty", NULL, "{\"tags\":[]}"));
	ASSERT_EQ(200, req("GET", "/pools/de-lte", NULL, NULL));
	EXPECT_TRUE(has("\"cards\":1,\"free\":1,\"members\":[{\"iccid\":\"" ICCID_A "\""));
	ASSERT_EQ(200, req("GET", "/pools/de", NULL, NULL));
	EXPECT_TRUE(has("\"cards\":2,\"free\":2"));
	ASSERT_EQ(200, req("GET", "/pools", NULL, NULL));
	EXPECT_TRUE(has("{\"pools\":[{\"name\":\"de\""));
	EXPECT_EQ(404, req("GET", "/pools/nope", NULL, NULL));
	EXPECT_EQ(200, req("DELETE", "/pools/de", NULL, NULL));
	EXPECT_EQ(404, req("DELETE", "/pools/de", NULL, NULL));
	/* a card taken out and put back is in its history; the first report is not */
	card(&b, 0, "", "");
	card(&b, 0, ICCID_A, "262021234567890");
	ASSERT_EQ(200, req("GET", "/history?iccid=" ICCID_A, NULL, NULL));
	EXPECT_TRUE(has("\"client\":\"\",\"bank\":\"1:0\",\"event\":\"card removed\","
			"\"who\":\"B1\"}"));
	EXPECT_TRUE(has("\"event\":\"card inserted\",\"who\":\"B1\"}]}"));
	EXPECT_TRUE(strstr(resp, "{\"history\":[{\"id\":1,") != NULL);

	tpeer_close(&b);
	srv_stop();
	srv_run();
	bank_up(&b);
	ASSERT_EQ(200, req("GET", "/pools", NULL, NULL));
	EXPECT_TRUE(has("{\"pools\":[{\"name\":\"de-lte\",\"tags\":[\"mccmnc:26202\","
			"\"profile:lte\"],\"cards\":1,\"free\":1}]}"));
	tpeer_close(&b);
	srv_stop();
}

/* 256 pools at most: the 257th is refused, said once in the log; one may still change. */
TEST_TIMEOUT(pools_are_limited, 90)
{
	char path[32];
	int i;

	setup();
	srv_start("limit", false);
	for (i = 1; i < 256; i++) {
		snprintf(path, sizeof(path), "/pools/p%03d", i);
		ASSERT_EQ(200, req("PUT", path, NULL, "{\"tags\":[\"x\"]}"));
	}
	ASSERT_EQ(200, req("PUT", "/pools/p000", NULL, "{\"tags\":[\"x\"]}"));
	EXPECT_EQ(507, req("PUT", "/pools/p256", NULL, "{\"tags\":[\"x\"]}"));
	EXPECT_TRUE(has("there are 256 pools already"));
	EXPECT_EQ(507, req("PUT", "/pools/p257", NULL, "{\"tags\":[\"x\"]}"));
	EXPECT_EQ(200, req("PUT", "/pools/p001", NULL, "{\"tags\":[\"y\"]}"));
	EXPECT_EQ(0, shell("test $(grep -c 'pools: the most this server keeps is 256' %s) = 1",
			   S.log));
	srv_stop();
}

static int lease(const char *token, const char *what, int client_slot, const char *dur)
{
	char body[300];

	snprintf(body, sizeof(body),
		 "{\"client\":{\"clientId\":23,\"slotNr\":%d},%s,\"duration\":\"%s\"}",
		 client_slot, what, dur);
	return req("POST", "/leases", token, body);
}

/*
 * Two owners: ops leases a card of a pool for its modem slot; ci cannot
 * remap the card or the modem slot, renew or release the lease, nor lease
 * the card; ops can. An admin's ?force=1 goes through, audited.
 */
TEST(leases_belong_to_their_owner)
{
	char ops[100], ci[100];
	struct tpeer b, c;

	setup();
	srv_start("owners", true);
	token_add(ops, sizeof(ops), "ops", "admin");
	token_add(ci, sizeof(ci), "ci", "admin");
	bank_up(&b);
	ASSERT_TRUE(tpeer_client(&c, loop, S.rspro, 23, 0));
	ASSERT_EQ(200, req("PUT", "/pools/de", ops, "{\"tags\":[\"mccmnc:26202\"]}"));

	EXPECT_EQ(400, lease(ops, "\"pool\":\"de\"", 0, "30s"));
	EXPECT_TRUE(has("is not 1m..7d"));
	EXPECT_EQ(400, lease(ops, "\"pool\":\"de\"", 0, "8d"));
	EXPECT_EQ(404, lease(ops, "\"pool\":\"nope\"", 0, "2h"));
	ASSERT_EQ(201, lease(ops, "\"pool\":\"de\"", 0, "2h"));
	EXPECT_TRUE(has("{\"id\":1,\"iccid\":\"" ICCID_A "\",\"bank\":{\"bankId\":1,"
			"\"slotNr\":0},\"client\":{\"clientId\":23,\"slotNr\":0},"
			"\"owner\":\"ops\""));
	bank_ok(&b, RSPRO_CREATE_MAPPING_REQ, RSPRO_CREATE_MAPPING_RES);
	ASSERT_TRUE(tpeer_wait(&c, RSPRO_CONFIG_CLIENT_BANK_REQ, NULL, 3000));

	/* the attacker */
	EXPECT_EQ(409, req("POST", "/slotmaps", ci, "{\"bank\":{\"bankId\":1,\"slotNr\":1},"
			   "\"client\":{\"clientId\":23,\"slotNr\":0}}"));
	EXPECT_TRUE(has("leased by ops until 20"));
	EXPECT_EQ(409, req("DELETE", "/slotmaps/65536", ci, NULL));
	EXPECT_EQ(409, req("POST", "/global-reset", ci, NULL));
	EXPECT_EQ(409, req("POST", "/leases/1/renew", ci, "{\"duration\":\"7d\"}"));
	EXPECT_EQ(409, req("DELETE", "/leases/1", ci, NULL));
	EXPECT_EQ(409, lease(ci, "\"iccid\":\"" ICCID_A "\"", 1, "1h"));
	EXPECT_TRUE(has("leased by ops"));
	EXPECT_EQ(409, lease(ci, "\"pool\":\"de\"", 0, "1h"));
	/* the other card of the pool is free, for another modem slot */
	ASSERT_EQ(201, lease(ci, "\"pool\":\"de\"", 1, "1h"));
	EXPECT_TRUE(has("\"iccid\":\"" ICCID_B "\""));
	bank_ok(&b, RSPRO_CREATE_MAPPING_REQ, RSPRO_CREATE_MAPPING_RES);
	EXPECT_EQ(507, lease(ops, "\"pool\":\"de\"", 2, "1h"));
	EXPECT_TRUE(has("no free card in pool"));
	ASSERT_EQ(200, req("GET", "/pools/de", ops, NULL));
	EXPECT_TRUE(has("\"cards\":2,\"free\":0"));

	/* the owner */
	ASSERT_EQ(200, req("POST", "/leases/1/renew", ops, "{\"duration\":\"1d\"}"));
	EXPECT_TRUE(has("\"owner\":\"ops\""));
	ASSERT_EQ(200, req("GET", "/leases", ops, NULL));
	EXPECT_TRUE(has("{\"leases\":[{\"id\":1,"));
	EXPECT_TRUE(has("},{\"id\":2,"));
	EXPECT_EQ(200, req("DELETE", "/leases/1", ops, NULL));
	bank_ok(&b, RSPRO_REMOVE_MAPPING_REQ, RSPRO_REMOVE_MAPPING_RES);
	EXPECT_EQ(404, req("DELETE", "/leases/1", ops, NULL));
	ASSERT_EQ(200, req("GET", "/slotmaps", ops, NULL));
	EXPECT_TRUE(has("\"slotNr\":1},\"state\":"));
	EXPECT_FALSE(strstr(resp, "\"bankId\":1,\"slotNr\":0") != NULL);

	/* an admin forces ci's map away: the lease ends, the audit says so */
	EXPECT_EQ(200, req("DELETE", "/slotmaps/65537?force=1", ops, NULL));
	ASSERT_EQ(200, req("GET", "/leases", ops, NULL));
	EXPECT_TRUE(has("{\"leases\":[]}"));
	ASSERT_EQ(200, req("GET", "/audit?limit=1000", ops, NULL));
	EXPECT_TRUE(has("\"action\":\"lease forced\",\"before\":\"card " ICCID_B));
	/* a forced lease of ci's modem slot ends ci's lease and its map */
	ASSERT_EQ(201, lease(ci, "\"iccid\":\"" ICCID_B "\"", 1, "1h"));
	EXPECT_EQ(409, lease(ops, "\"iccid\":\"" ICCID_A "\"", 1, "1h"));
	ASSERT_EQ(201, req("POST", "/leases?force=1", ops, "{\"client\":{\"clientId\":23,"
			   "\"slotNr\":1},\"iccid\":\"" ICCID_A "\",\"duration\":\"1h\"}"));
	ASSERT_EQ(200, req("GET", "/leases", ops, NULL));
	EXPECT_TRUE(has("\"iccid\":\"" ICCID_A "\",\"bank\":{\"bankId\":1,\"slotNr\":0},"
			"\"client\":{\"clientId\":23,\"slotNr\":1},\"owner\":\"ops\""));
	EXPECT_FALSE(strstr(resp, "\"owner\":\"ci\"") != NULL);
	ASSERT_EQ(200, req("GET", "/history?iccid=" ICCID_B, ops, NULL));
	EXPECT_TRUE(has("\"event\":\"lease broken\""));
	EXPECT_EQ(200, req("DELETE", "/leases/4", ops, NULL));

	/* the history of the card and of the modem slot */
	ASSERT_EQ(200, req("GET", "/history?iccid=" ICCID_A, ops, NULL));
	EXPECT_TRUE(has("\"event\":\"lease acquire\",\"who\":\"ops\""));
	EXPECT_TRUE(has("\"event\":\"lease renew\",\"who\":\"ops\""));
	EXPECT_TRUE(has("\"event\":\"lease release\",\"who\":\"ops\""));
	EXPECT_TRUE(has("\"client\":\"23:0\",\"bank\":\"1:0\",\"event\":\"unmap\""));
	ASSERT_EQ(200, req("GET", "/history?client=23:1&limit=2", ops, NULL));
	EXPECT_TRUE(has("\"iccid\":\"" ICCID_B "\",\"client\":\"23:1\",\"bank\":\"1:1\","
			"\"event\":\"map\""));
	EXPECT_TRUE(has("\"event\":\"lease acquire\",\"who\":\"ci\"}]}"));
	EXPECT_EQ(400, req("GET", "/history", ops, NULL));
	EXPECT_EQ(400, req("GET", "/history?client=23", ops, NULL));
	EXPECT_EQ(400, req("GET", "/history?iccid=" ICCID_A "&limit=0", ops, NULL));

	tpeer_close(&c);
	tpeer_close(&b);
	srv_stop();
}

/*
 * A lease survives a restart; one whose time passed while the server was
 * down is expired by the new one: unmapped, one log line, in the history.
 */
TEST(leases_survive_a_restart_and_expire)
{
	struct tpeer b;

	setup();
	srv_start("restart", false);
	bank_up(&b);
	ASSERT_EQ(201, lease(NULL, "\"iccid\":\"" ICCID_US "\"", 0, "1h"));
	bank_ok(&b, RSPRO_CREATE_MAPPING_REQ, RSPRO_CREATE_MAPPING_RES);
	tpeer_close(&b);
	srv_stop();

	srv_run();
	ASSERT_EQ(200, req("GET", "/leases", NULL, NULL));
	EXPECT_TRUE(has("\"iccid\":\"" ICCID_US "\""));
	EXPECT_TRUE(has("\"owner\":\"127.0.0.1\""));
	/* ids are not reused: the next one is 2 */
	bank_up(&b);
	bank_ok(&b, RSPRO_CREATE_MAPPING_REQ, RSPRO_CREATE_MAPPING_RES);
	ASSERT_EQ(201, lease(NULL, "\"iccid\":\"" ICCID_A "\"", 1, "1h"));
	EXPECT_TRUE(has("{\"id\":2,"));
	bank_ok(&b, RSPRO_CREATE_MAPPING_REQ, RSPRO_CREATE_MAPPING_RES);
	tpeer_close(&b);
	srv_stop();

	/* lease 1's time is over while the server is down */
	ASSERT_EQ(SQLITE_OK, sql_exec(S.db, "UPDATE records SET value = json_set(value,"
				      " '$.expires', 1000000) WHERE kind = 'lease'"
				      " AND key LIKE '%1'"));
	srv_run();
	bank_up(&b);
	tpeer_run(loop, 2500);
	ASSERT_EQ(200, req("GET", "/leases", NULL, NULL));
	EXPECT_FALSE(strstr(resp, ICCID_US) != NULL);
	EXPECT_TRUE(has("\"iccid\":\"" ICCID_A "\""));
	EXPECT_TRUE(log_has("lease 1 of 127.0.0.1 expired: card " ICCID_US
			    " unmapped from 23:0"));
	ASSERT_EQ(200, req("GET", "/slotmaps", NULL, NULL));
	EXPECT_FALSE(strstr(resp, "\"slotNr\":2") != NULL);
	ASSERT_EQ(200, req("GET", "/history?iccid=" ICCID_US, NULL, NULL));
	EXPECT_TRUE(has("\"event\":\"lease expire\",\"who\":\"lease 1 expiry\""));
	tpeer_close(&b);
	srv_stop();
}

static char out[4096];

/* remsim-lease @args against S with @env before it: its exit status, stdout in out. */
static int cli(const char *env, const char *args)
{
	char cmd[1500];
	size_t n = 0;
	FILE *f;
	int status;

	snprintf(cmd, sizeof(cmd), "%s %s --server http://127.0.0.1:%d %s 2>>%s/cli.err",
		 env ? env : "", daemon_bin("remsim-lease"), S.rest, args, dir);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = 0;
	status = pclose(f);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/*
 * remsim-lease for scripts: its output and its exit codes, 0 ok, 1 an
 * error, 2 usage, 3 no free card, 4 held by another owner; the token
 * from --token, $REMSIM_TOKEN or a file.
 */
TEST(the_cli_says_what_happened_in_its_exit_code)
{
	char ops[100], ci[100], arg[400], file[200];
	struct tpeer b;
	FILE *f;

	setup();
	srv_start("cli", true);
	token_add(ops, sizeof(ops), "ops", "admin");
	token_add(ci, sizeof(ci), "ci", "admin");
	bank_up(&b);
	ASSERT_EQ(200, req("PUT", "/pools/de", ops, "{\"tags\":[\"mccmnc:26202\"]}"));

	EXPECT_EQ(2, cli(NULL, ""));
	EXPECT_EQ(2, cli(NULL, "acquire --pool de"));
	EXPECT_EQ(2, cli(NULL, "renew x"));
	EXPECT_EQ(1, cli(NULL, "list"));	/* no token: 401 */
	snprintf(arg, sizeof(arg), "--token %s acquire --client 23:0 --pool de -d 2h", ops);
	ASSERT_EQ(0, cli(NULL, arg));
	EXPECT_TRUE(strstr(out, "1 " ICCID_A " bank 1:0 client 23:0 owner ops expires 20") == out);
	bank_ok(&b, RSPRO_CREATE_MAPPING_REQ, RSPRO_CREATE_MAPPING_RES);

	snprintf(arg, sizeof(arg), "REMSIM_TOKEN=%s", ci);
	EXPECT_EQ(4, cli(arg, "acquire --client 23:0 --pool de"));
	EXPECT_EQ(0, cli(arg, "acquire --client 23:1 --pool de"));
	bank_ok(&b, RSPRO_CREATE_MAPPING_REQ, RSPRO_CREATE_MAPPING_RES);
	EXPECT_EQ(3, cli(arg, "acquire --client 23:2 --pool de"));
	EXPECT_EQ(4, cli(arg, "renew 1"));
	EXPECT_EQ(4, cli(arg, "release 1"));
	EXPECT_EQ(1, cli(arg, "release 99"));

	snprintf(file, sizeof(file), "%s/ops.token", dir);
	f = fopen(file, "w");
	ASSERT_TRUE(f != NULL);
	fprintf(f, "%s\n", ops);
	fclose(f);
	snprintf(arg, sizeof(arg), "--token-file %s -j renew 1 -d 1d", file);
	ASSERT_EQ(0, cli(NULL, arg));
	EXPECT_TRUE(strstr(out, "{\"id\":1,") == out);
	snprintf(arg, sizeof(arg), "--token-file %s list", file);
	ASSERT_EQ(0, cli(NULL, arg));
	EXPECT_TRUE(strstr(out, "owner ops") != NULL);
	EXPECT_TRUE(strstr(out, "owner ci") != NULL);
	snprintf(arg, sizeof(arg), "--token-file %s release 1", file);
	EXPECT_EQ(0, cli(NULL, arg));
	bank_ok(&b, RSPRO_REMOVE_MAPPING_REQ, RSPRO_REMOVE_MAPPING_RES);
	tpeer_close(&b);
	srv_stop();
	/* nobody answers: an error */
	EXPECT_EQ(1, cli(NULL, "list"));
}

/* Over HTTPS, with the server's certificate as the CA to trust. */
TEST(the_cli_speaks_https)
{
	char cert[300], key[300], arg[1200];
	const char *const opts[] = { "--rest-tls", "on", "--rest-tls-cert", cert,
				     "--rest-tls-key", key, NULL };
	char cmd[1500];
	FILE *f;
	int status;
	size_t n;

	setup();
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	ASSERT_EQ(0, shell("printf 'cn = localhost\\ndns_name = localhost\\n"
			   "ip_address = 127.0.0.1\\nexpiration_days = 2\\ntls_www_server\\n"
			   "signing_key\\n' >%s/cert.tmpl && "
			   "certtool --generate-privkey --key-type=ecdsa --outfile %s 2>/dev/null && "
			   "certtool --generate-self-signed --load-privkey %s --template %s/cert.tmpl "
			   "--outfile %s >/dev/null 2>&1", dir, key, key, dir, cert));
	extra_opts = opts;
	srv_start("https", false);
	extra_opts = NULL;
	snprintf(arg, sizeof(arg), "--server https://127.0.0.1:%d --cacert %s list", S.rest,
		 cert);
	snprintf(cmd, sizeof(cmd), "%s %s 2>>%s/cli.err", daemon_bin("remsim-lease"), arg, dir);
	f = popen(cmd, "r");
	ASSERT_TRUE(f != NULL);
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = 0;
	status = pclose(f);
	EXPECT_EQ(0, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	EXPECT_STREQ("", out);
	/* without the CA the certificate is not trusted: an error */
	EXPECT_EQ(1, shell("%s --server https://127.0.0.1:%d list 2>/dev/null",
			   daemon_bin("remsim-lease"), S.rest));
	srv_stop();
}

static long long pg_now_plus(int seconds)
{
	return ((long long)time(NULL) + seconds) * 1000000;
}

/* What GET /ha of @s says its role is. */
static bool wait_active(struct srv *s, int ms)
{
	char r[1024];

	for (; ms > 0; ms -= 50) {
		if (http_json(s->rest, "GET", API "/ha", NULL, r, sizeof(r)) == 200 &&
		    strstr(r, "\"role\":\"active\""))
			return true;
		usleep(50000);
	}
	return false;
}

/*
 * PostgreSQL, two servers: a lease made on the active one is on the
 * standby's list; the active one killed, the standby takes over with the
 * lease and expires it when its time comes: unmapped, logged.
 */
TEST_TIMEOUT(pg_a_lease_survives_a_takeover_and_expires_there, 60)
{
	char sql[300];
	struct tpeer b;
	int i;

	setup();
	ASSERT_TRUE(pg.up);
	ASSERT_EQ(0, pg_env_createdb(&pg, "takeover"));
	pg_env_conninfo(&pg, "takeover", S.db, sizeof(S.db));
	snprintf(T.db, sizeof(T.db), "%s", S.db);
	snprintf(S.log, sizeof(S.log), "%s/pg-a.log", dir);
	snprintf(T.log, sizeof(T.log), "%s/pg-b.log", dir);
	srv_run_one(&S);
	ASSERT_TRUE(wait_active(&S, 5000));
	bank_up(&b);
	ASSERT_EQ(201, lease(NULL, "\"iccid\":\"" ICCID_A "\"", 0, "1h"));
	bank_ok(&b, RSPRO_CREATE_MAPPING_REQ, RSPRO_CREATE_MAPPING_RES);
	/* its end is near: the server that takes over expires it */
	snprintf(sql, sizeof(sql), "UPDATE records SET value = jsonb_set(value::jsonb,"
		 " '{expires}', '%lld')::text WHERE kind = 'lease'", pg_now_plus(4));
	ASSERT_EQ(0, pg_env_sql(&pg, "takeover", sql));

	srv_run_one(&T);
	/* the standby reads the lease from the database and refuses changes */
	for (i = 0; i < 50 && (http_json(T.rest, "GET", API "/leases", NULL, resp,
					  sizeof(resp)) != 200 || !strstr(resp, ICCID_A)); i++)
		usleep(100000);
	EXPECT_TRUE(strstr(resp, "\"iccid\":\"" ICCID_A "\"") != NULL);
	EXPECT_EQ(503, http_json(T.rest, "POST", API "/leases", "{}", resp, sizeof(resp)));
	EXPECT_EQ(503, http_json(T.rest, "DELETE", API "/leases/1", NULL, resp, sizeof(resp)));
	EXPECT_EQ(503, http_json(T.rest, "PUT", API "/pools/x", "{}", resp, sizeof(resp)));
	tpeer_close(&b);
	ASSERT_EQ(0, kill(S.d.pid, SIGKILL));
	daemon_stop(&S.d, SIGKILL, 1000);
	S = T;
	memset(&T, 0, sizeof(T));
	ASSERT_TRUE(wait_active(&S, 5000));
	ASSERT_EQ(200, req("GET", "/leases", NULL, NULL));
	EXPECT_TRUE(has("\"id\":1,\"iccid\":\"" ICCID_A "\""));
	ASSERT_EQ(200, req("GET", "/slotmaps", NULL, NULL));
	EXPECT_TRUE(has("\"clientId\":23,\"slotNr\":0}"));
	tpeer_run(loop, 5500);
	ASSERT_EQ(200, req("GET", "/leases", NULL, NULL));
	EXPECT_TRUE(has("{\"leases\":[]}"));
	ASSERT_EQ(200, req("GET", "/slotmaps", NULL, NULL));
	EXPECT_TRUE(has("{\"slotmaps\":[]}"));
	EXPECT_TRUE(log_has("lease 1 of 127.0.0.1 expired: card " ICCID_A
			    " unmapped from 23:0"));
	EXPECT_EQ(0, pg_env_int(&pg, "takeover", "SELECT count(*) FROM records"
				" WHERE kind = 'lease'"));
	srv_stop();
}

int main(int argc, char **argv)
{
	return pg_env_ktap_main(&pg, argc, argv, dir, after_each);
}
