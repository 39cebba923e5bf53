// SPDX-License-Identifier: GPL-2.0
/*
 * server_test - remsim-server (its ASan/UBSan build) on loopback, driven by
 * test bankds and clients on the RSPRO library and by REST requests as an
 * operator's scripts send them: registration, maps reaching bankd and
 * client, deletion in every state, global reset, duplicate identities, a
 * peer vanishing without FIN, restarts with maps in SQLite, a damaged
 * database, malformed REST and RSPRO, a bankd's card reports in GET /cards. Every server must exit cleanly
 * (LeakSanitizer included) when stopped.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon.h"
#include "http.h"
#include "ktap.h"
#include "rspro_peer.h"

static struct ev_loop *loop;
static char dir[] = "/tmp/remsim-server-test-XXXXXX";

struct srv {
	struct daemon d;
	int rspro, rest;
	char db[300];
	char log[300];
};

static struct srv S;
static char body[65536];

static void srv_start_args(struct srv *s, const char *ka)
{
	char rspro[8], rest[8];
	char *argv[24];
	int n = 0;

	s->rspro = free_port();
	s->rest = free_port();
	snprintf(rspro, sizeof(rspro), "%d", s->rspro);
	snprintf(rest, sizeof(rest), "%d", s->rest);
	argv[n++] = (char *)daemon_bin("remsim-server");
	argv[n++] = "-D";
	argv[n++] = s->db;
	argv[n++] = "--rspro-bind";
	argv[n++] = "127.0.0.1";
	argv[n++] = "--rspro-port";
	argv[n++] = rspro;
	argv[n++] = "--rest-bind";
	argv[n++] = "127.0.0.1";
	argv[n++] = "--rest-port";
	argv[n++] = rest;
	argv[n++] = "-e";
	argv[n++] = "debug";
	if (ka) {
		argv[n++] = "--keepalive-timeout";
		argv[n++] = (char *)ka;
		argv[n++] = "--keepalive-interval";
		argv[n++] = (char *)ka;
	}
	argv[n] = NULL;
	ASSERT_EQ(0, daemon_start(&s->d, argv, s->log));
	if (!wait_port(s->rest, 5000) || !wait_port(s->rspro, 5000)) {
		TH_LOG("the server did not come up; see %s", s->log);
		ASSERT_TRUE(false);
	}
}

/* A fresh server with a fresh database. */
static void srv_start(const char *ka)
{
	static int n;

	snprintf(S.db, sizeof(S.db), "%s/server%d.db", dir, ++n);
	snprintf(S.log, sizeof(S.log), "%s/server%d.log", dir, n);
	srv_start_args(&S, ka);
}

/* Stops the server; it must exit 0 (no leak, no sanitizer report). */
static void srv_stop(void)
{
	int status = daemon_stop(&S.d, SIGTERM, 10000);

	if (status)
		TH_LOG("server exit status %d; see %s", status, S.log);
	EXPECT_EQ(0, status);
}

static void after_each(void)
{
	if (S.d.pid)
		daemon_stop(&S.d, SIGKILL, 1000);
}

static int post_map(int bank, int bslot, int client, int cslot)
{
	char json[200];

	snprintf(json, sizeof(json),
		 "{\"bank\":{\"bankId\":%d,\"slotNr\":%d},\"client\":{\"clientId\":%d,\"slotNr\":%d}}",
		 bank, bslot, client, cslot);
	return http_json(S.rest, "POST", "/api/backend/v1/slotmaps", json, body, sizeof(body));
}

static int delete_map(int bank, int bslot)
{
	char path[100];

	snprintf(path, sizeof(path), "/api/backend/v1/slotmaps/%d", bank * 65536 + bslot);
	return http_json(S.rest, "DELETE", path, NULL, body, sizeof(body));
}

static const char *get(const char *what)
{
	char path[100];

	snprintf(path, sizeof(path), "/api/backend/v1/%s", what);
	if (http_json(S.rest, "GET", path, NULL, body, sizeof(body)) != 200)
		return "";
	return body;
}

static void answer(struct tpeer *b, enum rspro_msg msg, int32_t result)
{
	struct rspro_pdu pdu;

	rspro_result_res(&pdu, msg, result);
	ASSERT_EQ(0, tpeer_send(b, &pdu));
}

static void setup(void)
{
	if (!loop) {
		loop = ev_loop_new();
		ASSERT_TRUE(mkdtemp(dir) != NULL);
		ktap_after_each(after_each);
	}
}

TEST(registration_and_rest_lists)
{
	struct tpeer b, c;

	setup();
	srv_start(NULL);
	ASSERT_TRUE(tpeer_bankd(&b, loop, S.rspro, 1, 8, -1));
	ASSERT_TRUE(tpeer_client(&c, loop, S.rspro, 23, 0));
	EXPECT_EQ(0, strcmp(get("banks"),
		"{\"banks\":[{\"peer\":\"B1\",\"state\":\"CONNECTED_BANKD\",\"component_id\":"
		"{\"type_\":\"remsimBankd\",\"name\":\"testbank\",\"software\":\"remsim-bankd\","
		"\"swVersion\":\"test\"},\"bankId\":1,\"numberOfSlots\":8}]}"));
	EXPECT_EQ(0, strcmp(get("clients"),
		"{\"clients\":[{\"peer\":\"C23:0\",\"state\":\"CONNECTED_CLIENT\",\"component_id\":"
		"{\"type_\":\"remsimClient\",\"name\":\"testclient\",\"software\":\"remsim-client\","
		"\"swVersion\":\"test\"}}]}"));
	EXPECT_TRUE(strstr(get("banks/1"), "\"peer\":\"B1\"") != NULL);
	EXPECT_TRUE(strstr(get("clients/23"), "\"peer\":\"C23:0\"") != NULL);
	EXPECT_EQ(404, http_json(S.rest, "GET", "/api/backend/v1/banks/2", NULL, body, sizeof(body)));
	EXPECT_TRUE(strstr(body, "\"error\"") != NULL);
	EXPECT_EQ(0, strcmp(get("restart-counter"), "{\"restart_counter\":1}"));
	tpeer_close(&b);
	tpeer_close(&c);
	srv_stop();
}

TEST(map_reaches_bankd_then_client)
{
	struct rspro_pdu pdu;
	struct tpeer b, c;
	char addr[64];

	setup();
	srv_start(NULL);
	/* this bankd says where it listens; the server must pass that on */
	ASSERT_TRUE(tpeer_bankd(&b, loop, S.rspro, 1, 8, 9555));
	ASSERT_TRUE(tpeer_client(&c, loop, S.rspro, 23, 0));
	ASSERT_EQ(201, post_map(1, 5, 23, 0));
	EXPECT_EQ(0, strcmp(body, ""));
	ASSERT_TRUE(tpeer_wait(&b, RSPRO_CREATE_MAPPING_REQ, &pdu, 3000));
	EXPECT_EQ(23, pdu.mapping.client.client_id);
	EXPECT_EQ(5, pdu.mapping.bank.slot_nr);
	EXPECT_TRUE(strstr(get("slotmaps"), "\"state\":\"UNACKNOWLEDGED\"") != NULL);
	/* the client hears nothing before the bankd said ok */
	EXPECT_EQ(0, tpeer_settle(&c, RSPRO_CONFIG_CLIENT_BANK_REQ, 100));
	answer(&b, RSPRO_CREATE_MAPPING_RES, RSPRO_OK);
	ASSERT_TRUE(tpeer_wait(&c, RSPRO_CONFIG_CLIENT_BANK_REQ, &pdu, 3000));
	rspro_ip_port_format(&pdu.config_client_bank.bankd, addr, sizeof(addr));
	EXPECT_EQ(0, strcmp(addr, "127.0.0.1:9555"));
	EXPECT_EQ(5, pdu.config_client_bank.bank.slot_nr);
	EXPECT_EQ(0, strcmp(get("slotmaps"),
		"{\"slotmaps\":[{\"bank\":{\"bankId\":1,\"slotNr\":5},\"client\":"
		"{\"clientId\":23,\"slotNr\":0},\"state\":\"ACTIVE\"}]}"));
	tpeer_close(&b);
	tpeer_close(&c);
	srv_stop();
}

/*
 * A bankd that registers again (restarted, or only its server link lost):
 * once its map is active again, a client that announced "retell" hears its
 * unchanged bankd again, so that one waiting out its back-off connects at
 * once; an osmo-remsim client, which would drop a live bankd session on it,
 * hears nothing, as from osmo-remsim-server. Nothing before the map is
 * active, nothing on a second CreateMappingRes of the same connection.
 */
TEST(bankd_back_retells_only_clients_that_take_it)
{
	struct rspro_pdu pdu;
	struct tpeer b, c, o;
	int i;

	setup();
	srv_start(NULL);
	ASSERT_TRUE(tpeer_bankd(&b, loop, S.rspro, 1, 8, 9555));
	ASSERT_EQ(RSPRO_OK, tpeer_client_exts(&c, loop, S.rspro, 23, 0, RSPRO_EXT_RETELL));
	ASSERT_TRUE(tpeer_client(&o, loop, S.rspro, 24, 0));
	ASSERT_EQ(201, post_map(1, 5, 23, 0));
	ASSERT_EQ(201, post_map(1, 6, 24, 0));
	for (i = 0; i < 2; i++) {
		ASSERT_TRUE(tpeer_wait(&b, RSPRO_CREATE_MAPPING_REQ, NULL, 3000));
		answer(&b, RSPRO_CREATE_MAPPING_RES, RSPRO_OK);
	}
	ASSERT_TRUE(tpeer_wait(&c, RSPRO_CONFIG_CLIENT_BANK_REQ, NULL, 3000));
	ASSERT_TRUE(tpeer_wait(&o, RSPRO_CONFIG_CLIENT_BANK_REQ, NULL, 3000));
	for (i = 0; i < 2; i++) {
		/* the bankd goes and comes back */
		tpeer_close(&b);
		tpeer_run(loop, 100);
		ASSERT_TRUE(tpeer_bankd(&b, loop, S.rspro, 1, 8, 9555));
		ASSERT_TRUE(tpeer_wait(&b, RSPRO_CREATE_MAPPING_REQ, NULL, 3000));
		EXPECT_EQ(0, tpeer_settle(&c, RSPRO_CONFIG_CLIENT_BANK_REQ, 100));
		answer(&b, RSPRO_CREATE_MAPPING_RES, RSPRO_OK);
		ASSERT_TRUE(tpeer_wait(&b, RSPRO_CREATE_MAPPING_REQ, NULL, 3000));
		answer(&b, RSPRO_CREATE_MAPPING_RES, RSPRO_OK);
		ASSERT_TRUE(tpeer_wait(&c, RSPRO_CONFIG_CLIENT_BANK_REQ, &pdu, 3000));
		EXPECT_EQ(5, pdu.config_client_bank.bank.slot_nr);
		EXPECT_EQ(9555, pdu.config_client_bank.bankd.port);
		EXPECT_EQ(0, tpeer_settle(&c, RSPRO_CONFIG_CLIENT_BANK_REQ, 200));
		EXPECT_EQ(0, tpeer_settle(&o, RSPRO_CONFIG_CLIENT_BANK_REQ, 0));
	}
	tpeer_close(&b);
	tpeer_close(&c);
	tpeer_close(&o);
	srv_stop();
}

TEST(osmo_bankd_gets_port_9999_and_refusals_count)
{
	struct rspro_pdu pdu;
	struct tpeer b, c;

	setup();
	srv_start(NULL);
	ASSERT_TRUE(tpeer_bankd(&b, loop, S.rspro, 2, 4, -1));
	ASSERT_TRUE(tpeer_client(&c, loop, S.rspro, 7, 1));
	ASSERT_EQ(201, post_map(2, 3, 7, 1));
	ASSERT_TRUE(tpeer_wait(&b, RSPRO_CREATE_MAPPING_REQ, NULL, 3000));
	/* a refusal is not ACTIVE and configures nobody (osmo-remsim ignores it) */
	answer(&b, RSPRO_CREATE_MAPPING_RES, RSPRO_ILLEGAL_SLOT_ID);
	EXPECT_EQ(0, tpeer_settle(&c, RSPRO_CONFIG_CLIENT_BANK_REQ, 200));
	EXPECT_TRUE(strstr(get("slotmaps"), "\"state\":\"NEW\"") != NULL);
	/* the bankd returns and accepts: port 9999 for a bankd that says nothing */
	tpeer_close(&b);
	tpeer_run(loop, 100);
	ASSERT_TRUE(tpeer_bankd(&b, loop, S.rspro, 2, 4, -1));
	ASSERT_TRUE(tpeer_wait(&b, RSPRO_CREATE_MAPPING_REQ, NULL, 3000));
	answer(&b, RSPRO_CREATE_MAPPING_RES, RSPRO_OK);
	ASSERT_TRUE(tpeer_wait(&c, RSPRO_CONFIG_CLIENT_BANK_REQ, &pdu, 3000));
	EXPECT_EQ(9999, pdu.config_client_bank.bankd.port);
	/* a map beyond the bankd's slots is never sent */
	ASSERT_EQ(201, post_map(2, 4, 7, 2));
	EXPECT_EQ(0, tpeer_settle(&b, RSPRO_CREATE_MAPPING_REQ, 200));
	tpeer_close(&b);
	tpeer_close(&c);
	srv_stop();
}

/*
 * remsim-bankd's address comes in a second ConnectBankReq on the same
 * connection (once our ConnectBankRes said we understand it): an update of
 * the registration, not a duplicate identity; clients already told get the
 * new address. A second request for another bank or slot count is refused
 * and changes nothing.
 */
TEST(bankd_address_updates_the_registration)
{
	struct rspro_identity id;
	struct rspro_pdu pdu;
	struct tpeer b, c;

	setup();
	srv_start(NULL);
	ASSERT_TRUE(tpeer_bankd(&b, loop, S.rspro, 1, 8, -1));
	ASSERT_TRUE(tpeer_client(&c, loop, S.rspro, 23, 0));
	ASSERT_EQ(201, post_map(1, 0, 23, 0));
	ASSERT_TRUE(tpeer_wait(&b, RSPRO_CREATE_MAPPING_REQ, NULL, 3000));
	answer(&b, RSPRO_CREATE_MAPPING_RES, RSPRO_OK);
	ASSERT_TRUE(tpeer_wait(&c, RSPRO_CONFIG_CLIENT_BANK_REQ, &pdu, 3000));
	EXPECT_EQ(9999, pdu.config_client_bank.bankd.port);

	rspro_identity_init(&id, RSPRO_COMP_BANKD, "testbank", "remsim-bankd", "test");
	rspro_connect_bank_req(&pdu, &id, 1, 8);
	pdu.connect_bank_req.has_bankd_addr = true;
	ASSERT_EQ(0, rspro_ip_port_parse(&pdu.connect_bank_req.bankd_addr, "0.0.0.0:9444"));
	ASSERT_EQ(0, tpeer_send(&b, &pdu));
	ASSERT_TRUE(tpeer_wait(&b, RSPRO_CONNECT_BANK_RES, &pdu, 3000));
	EXPECT_EQ(RSPRO_OK, pdu.connect_res.result);
	ASSERT_TRUE(tpeer_wait(&c, RSPRO_CONFIG_CLIENT_BANK_REQ, &pdu, 3000));
	EXPECT_EQ(9444, pdu.config_client_bank.bankd.port);
	EXPECT_EQ(0, pdu.config_client_bank.bank.slot_nr);

	/* another bank id, another slot count: refused, all stays */
	rspro_connect_bank_req(&pdu, &id, 2, 8);
	ASSERT_EQ(0, tpeer_send(&b, &pdu));
	ASSERT_TRUE(tpeer_wait(&b, RSPRO_CONNECT_BANK_RES, &pdu, 3000));
	EXPECT_EQ(RSPRO_ILLEGAL_BANK_ID, pdu.connect_res.result);
	rspro_connect_bank_req(&pdu, &id, 1, 9);
	ASSERT_EQ(0, tpeer_send(&b, &pdu));
	ASSERT_TRUE(tpeer_wait(&b, RSPRO_CONNECT_BANK_RES, &pdu, 3000));
	EXPECT_EQ(RSPRO_ILLEGAL_SLOT_ID, pdu.connect_res.result);
	EXPECT_EQ(0, tpeer_settle(&c, RSPRO_CONFIG_CLIENT_BANK_REQ, 200));
	EXPECT_TRUE(strstr(get("banks"), "\"bankId\":1,\"numberOfSlots\":8") != NULL);
	EXPECT_FALSE(b.closed);
	tpeer_close(&b);
	tpeer_close(&c);
	srv_stop();
}

/* A bankd's report of bank slot @slot on @b: the result of its ConnectBankRes. */
static int card_report(struct tpeer *b, int slot, bool present, const char *iccid)
{
	struct rspro_identity id;
	struct rspro_pdu pdu;

	rspro_identity_init(&id, RSPRO_COMP_BANKD, "testbank", "remsim-bankd", "test");
	rspro_connect_bank_req(&pdu, &id, 1, 8);
	pdu.connect_bank_req.has_card_info = true;
	pdu.connect_bank_req.card_info.slot_nr = slot;
	pdu.connect_bank_req.card_info.present = present;
	snprintf(pdu.connect_bank_req.card_info.reader, RSPRO_READER_MAX + 1, "R %d", slot);
	snprintf(pdu.connect_bank_req.card_info.iccid, RSPRO_ICCID_MAX + 1, "%s", iccid);
	pdu.connect_bank_req.card_info.has_apdus = true;
	pdu.connect_bank_req.card_info.apdus = 12;
	/* a card that answered has a card time */
	pdu.connect_bank_req.card_info.has_card_time = present;
	pdu.connect_bank_req.card_info.card_time_p50_us = 1500;
	pdu.connect_bank_req.card_info.card_time_p99_us = 20000;
	if (tpeer_send(b, &pdu) || !tpeer_wait(b, RSPRO_CONNECT_BANK_RES, &pdu, 3000))
		return -1;
	return pdu.connect_res.result;
}

/*
 * The card inventory: a bankd's reports in GET /cards by bank and slot,
 * with the map and the card time (null when none came); a report leaves the address the bankd announced (an
 * update without bankdAddress once sent clients back to port 9999); a slot
 * beyond the bank's is refused and the registration stays; the bankd gone,
 * its slots are offline.
 */
TEST(card_reports_fill_get_cards)
{
	struct rspro_identity id;
	struct rspro_pdu pdu;
	struct tpeer b, c;
	const char *cards;

	setup();
	srv_start(NULL);
	ASSERT_TRUE(tpeer_bankd(&b, loop, S.rspro, 1, 8, -1));
	ASSERT_TRUE(tpeer_client(&c, loop, S.rspro, 23, 0));
	rspro_identity_init(&id, RSPRO_COMP_BANKD, "testbank", "remsim-bankd", "test");
	rspro_connect_bank_req(&pdu, &id, 1, 8);
	pdu.connect_bank_req.has_bankd_addr = true;
	ASSERT_EQ(0, rspro_ip_port_parse(&pdu.connect_bank_req.bankd_addr, "0.0.0.0:9444"));
	ASSERT_EQ(0, tpeer_send(&b, &pdu));
	ASSERT_TRUE(tpeer_wait(&b, RSPRO_CONNECT_BANK_RES, &pdu, 3000));
	EXPECT_EQ(0, strcmp(get("cards"), "{\"cards\":[]}"));

	EXPECT_EQ(RSPRO_OK, card_report(&b, 5, true, "8988211000000000005"));
	EXPECT_EQ(RSPRO_OK, card_report(&b, 0, false, ""));
	EXPECT_EQ(RSPRO_ILLEGAL_SLOT_ID, card_report(&b, 8, true, "1"));
	ASSERT_EQ(201, post_map(1, 5, 23, 0));
	ASSERT_TRUE(tpeer_wait(&b, RSPRO_CREATE_MAPPING_REQ, NULL, 3000));
	answer(&b, RSPRO_CREATE_MAPPING_RES, RSPRO_OK);
	ASSERT_TRUE(tpeer_wait(&c, RSPRO_CONFIG_CLIENT_BANK_REQ, &pdu, 3000));
	EXPECT_EQ(9444, pdu.config_client_bank.bankd.port);
	cards = get("cards");
	TH_LOG("%s", cards);
	EXPECT_TRUE(strstr(cards, "{\"cards\":[{\"bank\":{\"bankId\":1,\"slotNr\":0},"
			   "\"reader\":\"R 0\",\"iccid\":null,\"imsi\":null,"
			   "\"state\":\"absent\",\"since\":\"") == cards);
	EXPECT_TRUE(strstr(cards, "+00:00\",\"apdus\":12,\"cardTimeP50Us\":null,"
			   "\"cardTimeP99Us\":null,\"map\":null,\"tags\":[]},{\"bank\":{\"bankId\":1,"
			   "\"slotNr\":5},\"reader\":\"R 5\",\"iccid\":\"8988211000000000005\","
			   "\"imsi\":null,\"state\":\"present\",\"since\":\"") != NULL);
	EXPECT_TRUE(strstr(cards, "\"apdus\":12,\"cardTimeP50Us\":1500,\"cardTimeP99Us\":20000,"
			   "\"map\":{") != NULL);
	EXPECT_TRUE(strstr(cards, "\"map\":{\"clientId\":23,\"slotNr\":0,\"state\":\"ACTIVE\","
			   "\"clientName\":\"testclient\",\"modemPath\":null},\"tags\":[]}]}") != NULL);
	EXPECT_TRUE(strstr(cards, "\"slotNr\":8") == NULL);
	EXPECT_FALSE(b.closed);
	EXPECT_EQ(405, http_json(S.rest, "DELETE", "/api/backend/v1/cards", NULL, body,
				 sizeof(body)));
	tpeer_close(&b);
	tpeer_run(loop, 200);
	cards = get("cards");
	EXPECT_TRUE(strstr(cards, "\"state\":\"present\"") == NULL);
	EXPECT_TRUE(strstr(cards, "\"state\":\"offline\"") != NULL);
	tpeer_close(&c);
	srv_stop();
}

/* The client's ConnectClientReq again, with @path: its ConnectClientRes result. */
static int modem_path_update(struct tpeer *c, int client_id, int slot, const char *path)
{
	struct rspro_client_slot cs = { client_id, slot };
	struct rspro_identity id;
	struct rspro_pdu pdu;

	rspro_identity_init(&id, RSPRO_COMP_CLIENT, "testclient", "remsim-client", "test");
	rspro_connect_client_req(&pdu, &id, &cs);
	snprintf(pdu.connect_client_req.modem_path, sizeof(pdu.connect_client_req.modem_path),
		 "%s", path);
	if (tpeer_send(c, &pdu) || !tpeer_wait(c, RSPRO_CONNECT_CLIENT_RES, &pdu, 3000))
		return -1;
	return pdu.connect_res.result;
}

/*
 * The modem slot: the server's ConnectClientRes announces "path"; a
 * client's ConnectClientReq with its by-path name updates its registration
 * (another identity is refused, the registration stays), and GET /cards and
 * remsim-server cards show host/by-path for the card mapped to it; a client
 * that told none shows its host, one not connected its id:slot.
 */
TEST(modem_path_reaches_get_cards)
{
	static const char path[] = "pci-0000:00:14.0-usb-0:1.2:1.0";
	struct rspro_identity id;
	struct rspro_pdu pdu;
	struct tpeer b, c, d;
	char table[256];
	const char *cards;

	setup();
	srv_start(NULL);
	ASSERT_TRUE(tpeer_bankd(&b, loop, S.rspro, 1, 8, -1));
	ASSERT_TRUE(tpeer_connect(&c, loop, S.rspro) == 0);
	rspro_identity_init(&id, RSPRO_COMP_CLIENT, "testclient", "remsim-client", "test");
	rspro_connect_client_req(&pdu, &id, &(struct rspro_client_slot){ 23, 0 });
	ASSERT_EQ(0, tpeer_send(&c, &pdu));
	ASSERT_TRUE(tpeer_wait(&c, RSPRO_CONNECT_CLIENT_RES, &pdu, 3000));
	EXPECT_EQ(RSPRO_OK, pdu.connect_res.result);
	EXPECT_TRUE(rspro_identity_has_ext(&pdu.connect_res.identity, RSPRO_EXT_PATH));
	ASSERT_TRUE(tpeer_client(&d, loop, S.rspro, 24, 0));
	EXPECT_EQ(RSPRO_OK, card_report(&b, 1, true, "8988211000000000001"));
	EXPECT_EQ(RSPRO_OK, card_report(&b, 2, true, "8988211000000000002"));
	EXPECT_EQ(RSPRO_OK, card_report(&b, 3, true, "8988211000000000003"));
	ASSERT_EQ(201, post_map(1, 1, 23, 0));
	ASSERT_TRUE(tpeer_wait(&b, RSPRO_CREATE_MAPPING_REQ, NULL, 3000));
	answer(&b, RSPRO_CREATE_MAPPING_RES, RSPRO_OK);
	ASSERT_EQ(201, post_map(1, 2, 24, 0));
	ASSERT_TRUE(tpeer_wait(&b, RSPRO_CREATE_MAPPING_REQ, NULL, 3000));
	answer(&b, RSPRO_CREATE_MAPPING_RES, RSPRO_OK);
	ASSERT_EQ(201, post_map(1, 3, 25, 0));

	EXPECT_EQ(RSPRO_OK, modem_path_update(&c, 23, 0, path));
	/* someone else's identity on this connection: refused, nothing changes */
	EXPECT_EQ(RSPRO_ILLEGAL_CLIENT_ID, modem_path_update(&c, 24, 0, "pci-other"));
	EXPECT_FALSE(c.closed);
	cards = get("cards");
	TH_LOG("%s", cards);
	EXPECT_TRUE(strstr(cards, "\"map\":{\"clientId\":23,\"slotNr\":0,\"state\":\"ACTIVE\","
			   "\"clientName\":\"testclient\",\"modemPath\":\"pci-0000:00:14.0-usb-0:"
			   "1.2:1.0\"}") != NULL);
	EXPECT_TRUE(strstr(cards, "\"clientId\":24,\"slotNr\":0,\"state\":\"ACTIVE\","
			   "\"clientName\":\"testclient\",\"modemPath\":null}") != NULL);
	EXPECT_TRUE(strstr(cards, "pci-other") == NULL);

	/* the table: host/by-path, host alone, id:slot of a client not connected */
	snprintf(table, sizeof(table), "%s/cards.txt", dir);
	ASSERT_EQ(0, shell("%s cards http://127.0.0.1:%d | tr -s ' ' >%s",
			   daemon_bin("remsim-server"), S.rest, table));
	EXPECT_EQ(0, shell("grep -q '^testclient/pci-0000:00:14.0-usb-0:1.2:1.0 23:0 1:1 ' %s",
			   table));
	EXPECT_EQ(0, shell("grep -q '^testclient 24:0 1:2 ' %s", table));
	EXPECT_EQ(0, shell("grep -q '^25:0 25:0 1:3 ' %s", table));
	/* the client gone, its path goes with it */
	tpeer_close(&c);
	tpeer_run(loop, 200);
	EXPECT_TRUE(strstr(get("cards"), path) == NULL);
	tpeer_close(&d);
	tpeer_close(&b);
	srv_stop();
}

TEST(delete_in_every_state)
{
	struct rspro_pdu pdu;
	struct tpeer b, c;
	char addr[64];

	setup();
	srv_start(NULL);
	ASSERT_TRUE(tpeer_client(&c, loop, S.rspro, 23, 0));
	/* NEW, bankd away: gone from REST at once, removed when it comes */
	ASSERT_EQ(201, post_map(1, 0, 30, 0));
	ASSERT_EQ(200, delete_map(1, 0));
	EXPECT_EQ(0, strcmp(get("slotmaps"), "{\"slotmaps\":[]}"));
	/* the log line of each change names the REST caller, as the audit line does */
	EXPECT_TRUE(log_contains(S.log, "created by 127.0.0.1:"));
	EXPECT_TRUE(log_contains(S.log, "deleted in state NEW by 127.0.0.1:"));
	ASSERT_TRUE(tpeer_bankd(&b, loop, S.rspro, 1, 8, 9999));
	ASSERT_TRUE(tpeer_wait(&b, RSPRO_REMOVE_MAPPING_REQ, &pdu, 3000));
	EXPECT_EQ(30, pdu.mapping.client.client_id);
	EXPECT_EQ(0, tpeer_settle(&b, RSPRO_CREATE_MAPPING_REQ, 100));
	answer(&b, RSPRO_REMOVE_MAPPING_RES, RSPRO_UNKNOWN_SLOTMAP);

	/* UNACKNOWLEDGED: removed right after the bankd's createMappingRes */
	ASSERT_EQ(201, post_map(1, 1, 31, 0));
	ASSERT_TRUE(tpeer_wait(&b, RSPRO_CREATE_MAPPING_REQ, NULL, 3000));
	ASSERT_EQ(200, delete_map(1, 1));
	answer(&b, RSPRO_CREATE_MAPPING_RES, RSPRO_OK);
	ASSERT_TRUE(tpeer_wait(&b, RSPRO_REMOVE_MAPPING_REQ, &pdu, 3000));
	EXPECT_EQ(31, pdu.mapping.client.client_id);
	answer(&b, RSPRO_REMOVE_MAPPING_RES, RSPRO_OK);

	/* ACTIVE: RemoveMappingReq, and the client is told "no bankd" */
	ASSERT_EQ(201, post_map(1, 2, 23, 0));
	ASSERT_TRUE(tpeer_wait(&b, RSPRO_CREATE_MAPPING_REQ, NULL, 3000));
	answer(&b, RSPRO_CREATE_MAPPING_RES, RSPRO_OK);
	ASSERT_TRUE(tpeer_wait(&c, RSPRO_CONFIG_CLIENT_BANK_REQ, &pdu, 3000));
	EXPECT_EQ(9999, pdu.config_client_bank.bankd.port);
	ASSERT_EQ(200, delete_map(1, 2));
	ASSERT_TRUE(tpeer_wait(&b, RSPRO_REMOVE_MAPPING_REQ, NULL, 3000));
	ASSERT_TRUE(tpeer_wait(&c, RSPRO_CONFIG_CLIENT_BANK_REQ, &pdu, 3000));
	rspro_ip_port_format(&pdu.config_client_bank.bankd, addr, sizeof(addr));
	EXPECT_EQ(0, strcmp(addr, "0.0.0.0:0"));
	/* DELETING: a second DELETE finds nothing */
	EXPECT_EQ(404, delete_map(1, 2));
	answer(&b, RSPRO_REMOVE_MAPPING_RES, RSPRO_OK);
	/* bad ids */
	EXPECT_EQ(400, http_json(S.rest, "DELETE", "/api/backend/v1/slotmaps/abc", NULL,
				 body, sizeof(body)));
	EXPECT_EQ(400, http_json(S.rest, "DELETE", "/api/backend/v1/slotmaps/67109888", NULL,
				 body, sizeof(body)));
	EXPECT_EQ(404, delete_map(5, 5));
	tpeer_run(loop, 100);
	EXPECT_FALSE(b.closed);
	tpeer_close(&b);
	tpeer_close(&c);
	srv_stop();
}

/*
 * The ConfigClientBankReq that unconfigures a client after a DELETE names
 * the bank slot of the deleted map, as osmo-remsim-server's does, not 0:0.
 */
TEST(unconfigured_client_hears_its_old_bank_slot)
{
	struct rspro_pdu pdu;
	struct tpeer b, c;

	setup();
	srv_start(NULL);
	ASSERT_TRUE(tpeer_bankd(&b, loop, S.rspro, 3, 8, -1));
	ASSERT_TRUE(tpeer_client(&c, loop, S.rspro, 23, 0));
	ASSERT_EQ(201, post_map(3, 5, 23, 0));
	ASSERT_TRUE(tpeer_wait(&b, RSPRO_CREATE_MAPPING_REQ, NULL, 3000));
	answer(&b, RSPRO_CREATE_MAPPING_RES, RSPRO_OK);
	ASSERT_TRUE(tpeer_wait(&c, RSPRO_CONFIG_CLIENT_BANK_REQ, &pdu, 3000));
	ASSERT_EQ(200, delete_map(3, 5));
	ASSERT_TRUE(tpeer_wait(&c, RSPRO_CONFIG_CLIENT_BANK_REQ, &pdu, 3000));
	EXPECT_EQ(0, pdu.config_client_bank.bankd.port);
	EXPECT_EQ(3, pdu.config_client_bank.bank.bank_id);
	EXPECT_EQ(5, pdu.config_client_bank.bank.slot_nr);
	tpeer_close(&b);
	tpeer_close(&c);
	srv_stop();
}

/* GET /slotmaps lists maps in creation order, as osmo-remsim-server; after a restart too. */
TEST(slotmaps_are_listed_in_creation_order)
{
	static const char want[] =
		"{\"slotmaps\":[{\"bank\":{\"bankId\":2,\"slotNr\":1},\"client\":{\"clientId\":7,"
		"\"slotNr\":0},\"state\":\"NEW\"},{\"bank\":{\"bankId\":1,\"slotNr\":3},\"client\":"
		"{\"clientId\":8,\"slotNr\":0},\"state\":\"NEW\"},{\"bank\":{\"bankId\":1,\"slotNr\":0},"
		"\"client\":{\"clientId\":9,\"slotNr\":0},\"state\":\"NEW\"}]}";

	setup();
	srv_start(NULL);
	ASSERT_EQ(201, post_map(2, 1, 7, 0));
	ASSERT_EQ(201, post_map(1, 3, 8, 0));
	ASSERT_EQ(201, post_map(1, 0, 9, 0));
	EXPECT_EQ(0, strcmp(get("slotmaps"), want));
	srv_stop();
	srv_start_args(&S, NULL);
	EXPECT_EQ(0, strcmp(get("slotmaps"), want));
	srv_stop();
}

/*
 * A bankd as the server sees it: what each bank slot holds after the
 * requests it received, in their order (the bankd acts on the bank slot).
 */
struct fake_bank {
	int client[8];		/* -1: nothing mapped */
	char order[64];		/* "C10 R10 C11" */
};

/* Takes the next mapping request from @b, applies it, answers OK. */
static bool fake_bank_step(struct tpeer *b, struct fake_bank *fb, int ms)
{
	uint64_t end = ev_now_ns() + ms * 1000000ull;
	char step[16];
	int i;

	while (ev_now_ns() < end) {
		for (i = 0; i < b->count; i++) {
			struct rspro_pdu *pdu = b->inbox[i];
			bool create = pdu->msg == RSPRO_CREATE_MAPPING_REQ;

			if (!create && pdu->msg != RSPRO_REMOVE_MAPPING_REQ)
				continue;
			fb->client[pdu->mapping.bank.slot_nr & 7] =
				create ? pdu->mapping.client.client_id : -1;
			snprintf(step, sizeof(step), "%s%c%u", fb->order[0] ? " " : "",
				 create ? 'C' : 'R', pdu->mapping.client.client_id);
			strncat(fb->order, step, sizeof(fb->order) - strlen(fb->order) - 1);
			free(pdu);
			memmove(b->inbox + i, b->inbox + i + 1,
				(b->count - i - 1) * sizeof(b->inbox[0]));
			b->count--;
			answer(b, create ? RSPRO_CREATE_MAPPING_RES : RSPRO_REMOVE_MAPPING_RES,
			       RSPRO_OK);
			return true;
		}
		ev_run_once(b->loop, 5);
	}
	return false;
}

TEST(one_request_per_bank_slot_at_a_time)
{
	struct fake_bank fb = { .client = { -1, -1, -1, -1, -1, -1, -1, -1 } };
	struct tpeer b;

	setup();
	srv_start(NULL);
	ASSERT_TRUE(tpeer_bankd(&b, loop, S.rspro, 1, 8, 9999));
	/* a map, deleted and created again while the bankd has not answered */
	ASSERT_EQ(201, post_map(1, 0, 10, 0));
	ASSERT_EQ(1, tpeer_settle(&b, RSPRO_CREATE_MAPPING_REQ, 200));
	ASSERT_EQ(200, delete_map(1, 0));
	ASSERT_EQ(201, post_map(1, 0, 11, 0));
	/* nothing more reaches the bankd before its answer */
	EXPECT_EQ(1, tpeer_settle(&b, RSPRO_CREATE_MAPPING_REQ, 300));
	EXPECT_EQ(0, tpeer_settle(&b, RSPRO_REMOVE_MAPPING_REQ, 0));
	while (fake_bank_step(&b, &fb, 500))
		;
	EXPECT_EQ(0, strcmp(fb.order, "C10 R10 C11"));
	if (strcmp(fb.order, "C10 R10 C11"))
		TH_LOG("the bankd received %s", fb.order);
	/* the bankd holds what the server shows */
	EXPECT_EQ(11, fb.client[0]);
	EXPECT_EQ(0, strcmp(get("slotmaps"),
		"{\"slotmaps\":[{\"bank\":{\"bankId\":1,\"slotNr\":0},\"client\":{\"clientId\":11,"
		"\"slotNr\":0},\"state\":\"ACTIVE\"}]}"));
	/* other bank slots are not held up by a slow one */
	ASSERT_EQ(201, post_map(1, 1, 20, 0));
	ASSERT_EQ(200, delete_map(1, 1));
	ASSERT_EQ(201, post_map(1, 2, 21, 0));
	EXPECT_EQ(2, tpeer_settle(&b, RSPRO_CREATE_MAPPING_REQ, 300));
	tpeer_close(&b);
	srv_stop();
}

TEST(global_reset_removes_every_map)
{
	struct tpeer b;
	int i;

	setup();
	srv_start(NULL);
	ASSERT_TRUE(tpeer_bankd(&b, loop, S.rspro, 3, 8, 9999));
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(201, post_map(3, i, 40 + i, 0));
		ASSERT_TRUE(tpeer_wait(&b, RSPRO_CREATE_MAPPING_REQ, NULL, 3000));
		answer(&b, RSPRO_CREATE_MAPPING_RES, RSPRO_OK);
	}
	tpeer_run(loop, 100);
	ASSERT_EQ(200, http_json(S.rest, "POST", "/api/backend/v1/global-reset", NULL,
				 body, sizeof(body)));
	EXPECT_EQ(0, strcmp(get("slotmaps"), "{\"slotmaps\":[]}"));
	EXPECT_TRUE(log_contains(S.log, "global reset by 127.0.0.1:"));
	for (i = 0; i < 4; i++)
		ASSERT_TRUE(tpeer_wait(&b, RSPRO_REMOVE_MAPPING_REQ, NULL, 3000));
	tpeer_close(&b);
	srv_stop();
}

TEST(duplicate_identity_drops_the_newcomer)
{
	struct rspro_identity id;
	struct rspro_pdu pdu;
	struct tpeer b1, b2, c1, c2;
	struct rspro_client_slot cs = { 23, 0 };

	setup();
	srv_start(NULL);
	ASSERT_TRUE(tpeer_bankd(&b1, loop, S.rspro, 1, 8, 9999));
	ASSERT_TRUE(tpeer_client(&c1, loop, S.rspro, 23, 0));
	/* a second bankd 1 */
	ASSERT_EQ(0, tpeer_connect(&b2, loop, S.rspro));
	rspro_identity_init(&id, RSPRO_COMP_BANKD, "other", "remsim-bankd", "t");
	rspro_connect_bank_req(&pdu, &id, 1, 8);
	tpeer_send(&b2, &pdu);
	ASSERT_TRUE(tpeer_wait(&b2, RSPRO_CONNECT_BANK_RES, &pdu, 3000));
	EXPECT_EQ(RSPRO_IDENTITY_IN_USE, pdu.connect_res.result);
	EXPECT_TRUE(tpeer_wait_closed(&b2, 3000));
	/* a second client 23:0 */
	ASSERT_EQ(0, tpeer_connect(&c2, loop, S.rspro));
	rspro_identity_init(&id, RSPRO_COMP_CLIENT, "other", "remsim-client", "t");
	rspro_connect_client_req(&pdu, &id, &cs);
	tpeer_send(&c2, &pdu);
	ASSERT_TRUE(tpeer_wait(&c2, RSPRO_CONNECT_CLIENT_RES, &pdu, 3000));
	EXPECT_EQ(RSPRO_IDENTITY_IN_USE, pdu.connect_res.result);
	EXPECT_EQ(RSPRO_TAG_CONNECT_CLIENT_RES, (int)pdu.tag);
	EXPECT_TRUE(tpeer_wait_closed(&c2, 3000));
	/* the first ones keep working */
	ASSERT_EQ(201, post_map(1, 0, 23, 0));
	ASSERT_TRUE(tpeer_wait(&b1, RSPRO_CREATE_MAPPING_REQ, NULL, 3000));
	answer(&b1, RSPRO_CREATE_MAPPING_RES, RSPRO_OK);
	ASSERT_TRUE(tpeer_wait(&c1, RSPRO_CONFIG_CLIENT_BANK_REQ, NULL, 3000));
	EXPECT_TRUE(strstr(get("banks"), "\"name\":\"testbank\"") != NULL);
	tpeer_close(&b1);
	tpeer_close(&b2);
	tpeer_close(&c1);
	tpeer_close(&c2);
	srv_stop();
}

/* A second C@client:0: its connectClientRes result, -1 when closed without one. */
static int duplicate_attempt(int client)
{
	struct rspro_client_slot cs = { client, 0 };
	struct rspro_identity id;
	struct rspro_pdu pdu;
	struct tpeer t;
	int ret = -1;

	if (tpeer_connect(&t, loop, S.rspro))
		return -2;
	rspro_identity_init(&id, RSPRO_COMP_CLIENT, "other", "remsim-client", "t");
	rspro_connect_client_req(&pdu, &id, &cs);
	tpeer_send(&t, &pdu);
	/* the answer, or the close without one: not a whole time-out */
	for (int i = 0; i < 300 && !t.closed && ret < 0; i++)
		if (tpeer_wait(&t, RSPRO_CONNECT_CLIENT_RES, &pdu, 10))
			ret = pdu.connect_res.result;
	if (ret < 0 && tpeer_wait(&t, RSPRO_CONNECT_CLIENT_RES, &pdu, 0))
		ret = pdu.connect_res.result;
	tpeer_close(&t);
	return ret;
}

/*
 * A duplicate identity retrying at once (osmo-remsim clients do, ~1500
 * times a second): after RSPRO_PEER_LIMIT_MAX refusals within a second,
 * its address's new connections are closed at once, without a
 * connectClientRes, for a second; one line says so. The first client
 * keeps working, and the address is served again after the second.
 */
TEST(reconnect_storm_is_cut_at_its_address)
{
	struct tpeer c;
	int i;

	setup();
	srv_start(NULL);
	ASSERT_TRUE(tpeer_client(&c, loop, S.rspro, 23, 0));
	for (i = 0; i < RSPRO_PEER_LIMIT_MAX; i++)
		ASSERT_EQ(RSPRO_IDENTITY_IN_USE, duplicate_attempt(23));
	for (i = 0; i < 5; i++)
		EXPECT_EQ(-1, duplicate_attempt(23));
	EXPECT_EQ(1, log_count(S.log, "connections refused within 1000 ms"));
	tpeer_run(loop, RSPRO_PEER_LIMIT_WINDOW_MS + 200);
	EXPECT_EQ(RSPRO_IDENTITY_IN_USE, duplicate_attempt(23));
	EXPECT_FALSE(c.closed);
	tpeer_close(&c);
	srv_stop();
}

TEST(peer_vanishing_without_fin_times_out)
{
	struct rspro_identity id;
	struct rspro_pdu pdu;
	uint8_t frame[RSPRO_PDU_MAX + 4], junk[256];
	struct tpeer b;
	int fd, len;
	uint64_t t0;

	setup();
	srv_start("1");
	/* a raw bankd that registers, then never answers a PING */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	{
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(S.rspro) };

		sa.sin_addr.s_addr = htonl(0x7f000001);
		ASSERT_EQ(0, connect(fd, (struct sockaddr *)&sa, sizeof(sa)));
	}
	rspro_identity_init(&id, RSPRO_COMP_BANKD, "mute", "remsim-bankd", "t");
	rspro_connect_bank_req(&pdu, &id, 9, 1);
	len = rspro_encode(&pdu, frame + 4, RSPRO_PDU_MAX, NULL);
	ipa_rspro_header(frame, len);
	ASSERT_EQ(len + 4, write(fd, frame, len + 4));
	tpeer_run(loop, 300);
	EXPECT_TRUE(strstr(get("banks"), "\"B9\"") != NULL);
	/* gone within ping (1 s) + timeout (1 s), with margin */
	t0 = ev_now_ns();
	while (strstr(get("banks"), "\"B9\"") && ev_now_ns() - t0 < 5000000000ull)
		tpeer_run(loop, 100);
	EXPECT_TRUE(strstr(get("banks"), "\"B9\"") == NULL);
	EXPECT_TRUE(log_contains(S.log, "keep-alive"));
	/* bank 9 may register again at once */
	ASSERT_TRUE(tpeer_bankd(&b, loop, S.rspro, 9, 1, 9999));
	while (recv(fd, junk, sizeof(junk), MSG_DONTWAIT) > 0)
		;
	close(fd);
	tpeer_close(&b);
	srv_stop();
}

TEST(restart_converges_to_stored_maps)
{
	struct rspro_pdu pdu;
	struct tpeer b, c;
	int i, seen = 0;

	setup();
	srv_start(NULL);
	for (i = 0; i < 3; i++)
		ASSERT_EQ(201, post_map(1, i, 50 + i, 0));
	ASSERT_EQ(200, delete_map(1, 2));	/* a pending removal too */
	/* killed hard: nothing may depend on a clean shutdown */
	ASSERT_EQ(128 + SIGKILL, daemon_stop(&S.d, SIGKILL, 1000));
	srv_start_args(&S, NULL);
	EXPECT_EQ(0, strcmp(get("restart-counter"), "{\"restart_counter\":2}"));
	EXPECT_EQ(0, strcmp(get("slotmaps"),
		"{\"slotmaps\":[{\"bank\":{\"bankId\":1,\"slotNr\":0},\"client\":{\"clientId\":50,"
		"\"slotNr\":0},\"state\":\"NEW\"},{\"bank\":{\"bankId\":1,\"slotNr\":1},\"client\":"
		"{\"clientId\":51,\"slotNr\":0},\"state\":\"NEW\"}]}"));
	/* the bankd and a client come back: no operator action */
	ASSERT_TRUE(tpeer_client(&c, loop, S.rspro, 51, 0));
	ASSERT_TRUE(tpeer_bankd(&b, loop, S.rspro, 1, 8, 9999));
	for (i = 0; i < 2; i++) {
		ASSERT_TRUE(tpeer_wait(&b, RSPRO_CREATE_MAPPING_REQ, &pdu, 3000));
		seen |= 1 << pdu.mapping.bank.slot_nr;
		answer(&b, RSPRO_CREATE_MAPPING_RES, RSPRO_OK);
	}
	EXPECT_EQ(3, seen);
	ASSERT_TRUE(tpeer_wait(&b, RSPRO_REMOVE_MAPPING_REQ, &pdu, 3000));
	EXPECT_EQ(2, pdu.mapping.bank.slot_nr);
	answer(&b, RSPRO_REMOVE_MAPPING_RES, RSPRO_OK);
	ASSERT_TRUE(tpeer_wait(&c, RSPRO_CONFIG_CLIENT_BANK_REQ, &pdu, 3000));
	EXPECT_EQ(1, pdu.config_client_bank.bank.slot_nr);
	tpeer_run(loop, 100);
	tpeer_close(&b);
	tpeer_close(&c);
	/* a clean restart: the confirmed removal is gone from the database */
	srv_stop();
	srv_start_args(&S, NULL);
	ASSERT_TRUE(tpeer_bankd(&b, loop, S.rspro, 1, 8, 9999));
	EXPECT_EQ(2, tpeer_settle(&b, RSPRO_CREATE_MAPPING_REQ, 300));
	EXPECT_EQ(0, tpeer_settle(&b, RSPRO_REMOVE_MAPPING_REQ, 0));
	tpeer_close(&b);
	srv_stop();
}

TEST(damaged_or_unwritable_database_is_refused)
{
	struct srv s = { 0 };
	char *argv[6];
	FILE *f;

	setup();
	snprintf(s.db, sizeof(s.db), "%s/garbage.db", dir);
	snprintf(s.log, sizeof(s.log), "%s/garbage.log", dir);
	f = fopen(s.db, "w");
	ASSERT_TRUE(f != NULL);
	fputs("SQLite format 3\nthis is not a database at all, but it is 100 bytes long..........................", f);
	fclose(f);
	argv[0] = (char *)daemon_bin("remsim-server");
	argv[1] = "-D";
	argv[2] = s.db;
	argv[3] = "--rest-port";
	argv[4] = "0";
	argv[5] = NULL;
	ASSERT_EQ(0, daemon_start(&s.d, argv, s.log));
	EXPECT_EQ(1, daemon_wait(&s.d, 10000));
	EXPECT_TRUE(log_contains(s.log, "database"));
	EXPECT_TRUE(log_contains(s.log, s.db));
	/* the file is untouched: nothing is lost by refusing */
	f = fopen(s.db, "r");
	ASSERT_TRUE(f != NULL);
	EXPECT_EQ(0, fgetc(f) == EOF);
	fclose(f);
	/* a directory that does not exist, nor does its parent */
	snprintf(s.db, sizeof(s.db), "%s/no/such/dir/server.db", dir);
	ASSERT_EQ(0, daemon_start(&s.d, argv, s.log));
	EXPECT_EQ(1, daemon_wait(&s.d, 10000));
	EXPECT_TRUE(log_contains(s.log, "/no/such/dir does not exist, nor does"));
}

/* The round trip of an IPA PING on a fresh RSPRO connection, in ms (-1: none). */
static int rspro_ping_ms(int port)
{
	static const uint8_t ping[] = { 0x00, 0x01, 0xfe, 0x00 };
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct timeval tv = { .tv_sec = 5 };
	uint8_t frame[4];
	uint64_t t0;
	int fd, i, ms = -1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	t0 = ev_now_ns();
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    write(fd, ping, sizeof(ping)) != sizeof(ping))
		goto out;
	/* the server PINGs a new connection too: skip that */
	for (i = 0; i < 2; i++) {
		if (recv(fd, frame, sizeof(frame), MSG_WAITALL) != sizeof(frame))
			break;
		if (frame[2] == 0xfe && frame[3] == 0x01) {
			ms = (ev_now_ns() - t0) / 1000000;
			break;
		}
	}
out:
	close(fd);
	return ms;
}

struct poster {
	pthread_t thread;
	int port, n, status[64], worst_ms;
	char body[1024];
};

/* POSTs maps 1:(10+i) -> 70+i:0 one after the other for about 2 s. */
static void *poster_run(void *arg)
{
	struct poster *p = arg;
	uint64_t end = ev_now_ns() + 2000000000ull;
	char json[200], body_i[1024];

	while (p->n < 64 && ev_now_ns() < end) {
		uint64_t t0 = ev_now_ns();
		int ms;

		snprintf(json, sizeof(json),
			 "{\"bank\":{\"bankId\":1,\"slotNr\":%d},\"client\":{\"clientId\":%d,\"slotNr\":0}}",
			 10 + p->n, 70 + p->n);
		p->status[p->n] = http_json(p->port, "POST", "/api/backend/v1/slotmaps", json,
					    body_i, sizeof(body_i));
		ms = (ev_now_ns() - t0) / 1000000;
		if (ms > p->worst_ms)
			p->worst_ms = ms;
		if (p->status[p->n++] == 503)
			snprintf(p->body, sizeof(p->body), "%s", body_i);
	}
	return NULL;
}

TEST_TIMEOUT(locked_database_gets_503_and_the_loop_keeps_serving, 60)
{
	struct poster po = { 0 };
	struct tpeer b;
	char cmd[400];
	FILE *lock;
	uint64_t end;
	int i, worst_get = 0, worst_ping = 0;

	setup();
	srv_start(NULL);
	ASSERT_TRUE(tpeer_bankd(&b, loop, S.rspro, 1, 64, 9999));
	ASSERT_EQ(201, post_map(1, 0, 10, 0));
	ASSERT_TRUE(tpeer_wait(&b, RSPRO_CREATE_MAPPING_REQ, NULL, 3000));
	answer(&b, RSPRO_CREATE_MAPPING_RES, RSPRO_OK);
	tpeer_run(loop, 100);
	/* another process takes the write lock and keeps it */
	snprintf(cmd, sizeof(cmd), "sqlite3 %s", S.db);
	lock = popen(cmd, "w");
	ASSERT_TRUE(lock != NULL);
	fprintf(lock, "BEGIN IMMEDIATE;\nUPDATE meta SET value = value;\n");
	fflush(lock);
	usleep(500000);
	/* writes fail fast; reads and keep-alives do not wait behind them */
	po.port = S.rest;
	ASSERT_EQ(0, pthread_create(&po.thread, NULL, poster_run, &po));
	end = ev_now_ns() + 2000000000ull;
	while (ev_now_ns() < end) {
		uint64_t t0 = ev_now_ns();
		int ms;

		EXPECT_TRUE(strstr(get("slotmaps"), "\"clientId\":10") != NULL);
		ms = (ev_now_ns() - t0) / 1000000;
		if (ms > worst_get)
			worst_get = ms;
		ms = rspro_ping_ms(S.rspro);
		EXPECT_GE(ms, 0);
		if (ms > worst_ping)
			worst_ping = ms;
		tpeer_run(loop, 20);
	}
	pthread_join(po.thread, NULL);
	TH_LOG("%d POSTs, worst %d ms; worst GET %d ms, worst PING %d ms", po.n,
	       po.worst_ms, worst_get, worst_ping);
	EXPECT_LT(worst_get, 500);
	EXPECT_LT(worst_ping, 500);
	EXPECT_LT(po.worst_ms, 1000);
	EXPECT_GE(po.n, 2);
	for (i = 0; i < po.n; i++)
		EXPECT_EQ(503, po.status[i]);
	EXPECT_TRUE(strstr(po.body, "\"error\":\"the map was not stored, retry: database is locked") != NULL);
	EXPECT_TRUE(strstr(po.body, S.db) != NULL);
	/* Retry-After says when */
	EXPECT_EQ(503, http_raw(S.rest, "DELETE /api/backend/v1/slotmaps/65536 HTTP/1.1\r\n"
				"Host: x\r\nConnection: close\r\n\r\n", body, sizeof(body)));
	EXPECT_TRUE(strstr(body, "Retry-After: 1\r\n") != NULL);
	EXPECT_FALSE(b.closed);
	/* the lock goes: writes work, and what was acknowledged is kept */
	fprintf(lock, "ROLLBACK;\n");
	EXPECT_EQ(0, pclose(lock));
	ASSERT_EQ(201, post_map(1, 1, 11, 0));
	ASSERT_TRUE(tpeer_wait(&b, RSPRO_CREATE_MAPPING_REQ, NULL, 3000));
	tpeer_close(&b);
	srv_stop();
	srv_start_args(&S, NULL);
	EXPECT_EQ(0, strcmp(get("slotmaps"),
		"{\"slotmaps\":[{\"bank\":{\"bankId\":1,\"slotNr\":0},\"client\":{\"clientId\":10,"
		"\"slotNr\":0},\"state\":\"NEW\"},{\"bank\":{\"bankId\":1,\"slotNr\":1},\"client\":"
		"{\"clientId\":11,\"slotNr\":0},\"state\":\"NEW\"}]}"));
	srv_stop();
}

/*
 * A database on a read-only file system: the server says so, with the
 * path, instead of SQLite's "unable to open database file". The mount is
 * made in a user and mount namespace of the server's own.
 */
TEST(readonly_database_says_why)
{
	struct srv s = { 0 };
	char ro[200], script[1200];
	char *argv[] = { "/usr/bin/unshare", "-rm", "sh", "-c", script, "sh", S.db, NULL };

	setup();
	if (shell("unshare -rm true >/dev/null 2>&1"))
		SKIP("no user namespaces here");
	snprintf(ro, sizeof(ro), "%s/ro", dir);
	ASSERT_EQ(0, shell("mkdir -p %s", ro));
	/* an existing database, made by the server itself */
	snprintf(S.db, sizeof(S.db), "%s/server.db", ro);
	snprintf(S.log, sizeof(S.log), "%s/ro-make.log", dir);
	srv_start_args(&S, NULL);
	srv_stop();
	snprintf(s.log, sizeof(s.log), "%s/ro.log", dir);
	snprintf(script, sizeof(script),
		 "mount --bind %s %s && mount -o remount,bind,ro %s && "
		 "exec %s -D \"$1\" --rest-port 0 --rspro-port 0", ro, ro, ro,
		 daemon_bin("remsim-server"));
	ASSERT_EQ(0, daemon_start(&s.d, argv, s.log));
	EXPECT_EQ(1, daemon_wait(&s.d, 10000));
	EXPECT_TRUE(log_contains(s.log, "attempt to write a readonly database"));
	EXPECT_TRUE(log_contains(s.log, S.db));
	/* a new file there: the system's reason */
	snprintf(S.db, sizeof(S.db), "%s/new.db", ro);
	ASSERT_EQ(0, daemon_start(&s.d, argv, s.log));
	EXPECT_EQ(1, daemon_wait(&s.d, 10000));
	EXPECT_TRUE(log_contains(s.log, "Read-only file system"));
	EXPECT_TRUE(log_contains(s.log, S.db));
}

TEST(malformed_rest_gets_4xx_with_a_message)
{
	static char huge[40000];
	static const char *const bad[] = {
		"{",
		"[]",
		"{\"bank\":{\"bankId\":1,\"slotNr\":0}}",
		"{\"bank\":{\"bankId\":1},\"client\":{\"clientId\":1,\"slotNr\":0}}",
		"{\"bank\":{\"bankId\":\"1\",\"slotNr\":0},\"client\":{\"clientId\":1,\"slotNr\":0}}",
		"{\"bank\":{\"bankId\":1.5,\"slotNr\":0},\"client\":{\"clientId\":1,\"slotNr\":0}}",
		"{\"bank\":{\"bankId\":1024,\"slotNr\":0},\"client\":{\"clientId\":1,\"slotNr\":0}}",
		"{\"bank\":{\"bankId\":65536,\"slotNr\":0},\"client\":{\"clientId\":1,\"slotNr\":0}}",
		"{\"bank\":{\"bankId\":-1,\"slotNr\":0},\"client\":{\"clientId\":1,\"slotNr\":0}}",
		"{\"bank\":{\"bankId\":1,\"slotNr\":0},\"client\":{\"clientId\":1,\"slotNr\":0},\"bank\":{}}",
	};
	unsigned int i;

	setup();
	srv_start(NULL);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int status = http_json(S.rest, "POST", "/api/backend/v1/slotmaps", bad[i],
				       body, sizeof(body));

		if (status != 400 || !strstr(body, "\"error\""))
			TH_LOG("%s -> %d %s", bad[i], status, body);
		EXPECT_EQ(400, status);
		EXPECT_TRUE(strstr(body, "\"error\":\"") != NULL);
	}
	/* no content type, as osmo-remsim: 400; another one: 415 */
	EXPECT_EQ(400, http_request(S.rest, "POST", "/api/backend/v1/slotmaps", NULL,
				    "{}", 2, body, sizeof(body)));
	EXPECT_EQ(415, http_request(S.rest, "POST", "/api/backend/v1/slotmaps", "text/plain",
				    "{}", 2, body, sizeof(body)));
	/* a duplicate bank slot or client slot */
	ASSERT_EQ(201, post_map(1, 0, 1, 0));
	EXPECT_EQ(400, post_map(1, 0, 2, 0));
	EXPECT_EQ(400, post_map(1, 1, 1, 0));
	EXPECT_TRUE(strstr(body, "already mapped") != NULL);
	/* a huge body */
	memset(huge, ' ', sizeof(huge));
	EXPECT_EQ(413, http_request(S.rest, "POST", "/api/backend/v1/slotmaps",
				    "application/json", huge, sizeof(huge), body, sizeof(body)));
	/* unknown resource, wrong method */
	EXPECT_EQ(404, http_json(S.rest, "GET", "/api/backend/v1/nothing", NULL, body, sizeof(body)));
	/* "/" is the dashboard's redirect (dashboard_test); outside both: 404 */
	EXPECT_EQ(404, http_json(S.rest, "GET", "/api", NULL, body, sizeof(body)));
	EXPECT_EQ(404, http_json(S.rest, "GET", "/index.html", NULL, body, sizeof(body)));
	EXPECT_EQ(405, http_json(S.rest, "PUT", "/api/backend/v1/slotmaps", "{}", body, sizeof(body)));
	EXPECT_EQ(400, http_json(S.rest, "GET", "/api/backend/v1/banks/x", NULL, body, sizeof(body)));
	/* and it all changed nothing */
	EXPECT_EQ(0, strcmp(get("slotmaps"),
		"{\"slotmaps\":[{\"bank\":{\"bankId\":1,\"slotNr\":0},\"client\":{\"clientId\":1,"
		"\"slotNr\":0},\"state\":\"NEW\"}]}"));
	srv_stop();
}

TEST(content_type_and_non_utf8_paths_get_clear_errors)
{
	static const char map[] =
		"{\"bank\":{\"bankId\":1,\"slotNr\":0},\"client\":{\"clientId\":1,\"slotNr\":0}}";

	setup();
	srv_start(NULL);
	/* application/json only as a parameter is not JSON */
	EXPECT_EQ(415, http_request(S.rest, "POST", "/api/backend/v1/slotmaps",
				    "text/plain; x=application/json", map, strlen(map),
				    body, sizeof(body)));
	EXPECT_TRUE(strstr(body, "\"error\":\"Content-Type \\\"text/plain; x=application/json\\\""
			   " is not application/json\"") != NULL);
	EXPECT_EQ(415, http_request(S.rest, "POST", "/api/backend/v1/slotmaps",
				    "application/jsonx", map, strlen(map), body, sizeof(body)));
	EXPECT_EQ(0, strcmp(get("slotmaps"), "{\"slotmaps\":[]}"));
	/* parameters and case are fine */
	EXPECT_EQ(201, http_request(S.rest, "POST", "/api/backend/v1/slotmaps",
				    "Application/JSON ; charset=utf-8", map, strlen(map),
				    body, sizeof(body)));
	/* paths that are not UTF-8, raw or %-encoded: the error still has a body */
	EXPECT_EQ(404, http_raw(S.rest, "GET /api/backend/v1/\xff\xfe HTTP/1.1\r\n"
				"Host: x\r\nConnection: close\r\n\r\n", body, sizeof(body)));
	EXPECT_TRUE(strstr(body, "{\"error\":\"no such resource: /api/backend/v1/\\\\xff\\\\xfe\"}")
		    != NULL);
	EXPECT_EQ(404, http_json(S.rest, "GET", "/api/%C3%A9t%e9", NULL, body, sizeof(body)));
	EXPECT_EQ(0, strcmp(body, "{\"error\":\"no such resource: /api/\xc3\xa9t\\\\xe9\"}"));
	EXPECT_EQ(400, http_json(S.rest, "DELETE", "/api/backend/v1/slotmaps/1%80", NULL,
				 body, sizeof(body)));
	EXPECT_TRUE(strstr(body, "\"error\":\"\\\"1\\\\x80\\\" is not a slot map id") != NULL);
	EXPECT_EQ(400, http_json(S.rest, "GET", "/api/backend/v1/banks/%ed%a0%80", NULL,
				 body, sizeof(body)));
	EXPECT_TRUE(strstr(body, "\\\\xed\\\\xa0\\\\x80") != NULL);
	srv_stop();
}

/*
 * Slowloris from many addresses: 100 addresses (127.0.0.2..) open 12
 * connections each - 1200, more than libmicrohttpd's 1000 slots - and
 * trickle a header line each second, reconnecting whatever is closed. The
 * per-address cap (8) admits 800 of them, the deadline (10 s) closes each
 * after 10 s whatever it trickles, and meanwhile a normal client on
 * 127.0.0.1 must get every GET answered within a second. Defaults only.
 */
#define SLOW_ADDRS	100
#define SLOW_PER_ADDR	12
#define SLOW_N		(SLOW_ADDRS * SLOW_PER_ADDR)

struct slow {
	int fd;
	uint64_t t0;
	unsigned int lines;
};

static int slow_open(struct slow *sl, int i, int port)
{
	struct sockaddr_in src = { .sin_family = AF_INET };
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(port) };

	src.sin_addr.s_addr = htonl(0x7f000002 + i / SLOW_PER_ADDR);
	dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sl->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (sl->fd < 0)
		return -errno;
	sl->t0 = ev_now_ns();
	sl->lines = 0;
	if (bind(sl->fd, (struct sockaddr *)&src, sizeof(src)) ||
	    (connect(sl->fd, (struct sockaddr *)&dst, sizeof(dst)) && errno != EINPROGRESS)) {
		close(sl->fd);
		sl->fd = -1;
		return -errno;
	}
	return 0;
}

/* One round: a line more on every open connection; the closed ones again. */
static void slow_round(struct slow *sl, int port, uint64_t *oldest_cut, int *cuts)
{
	char line[64];
	int i;

	for (i = 0; i < SLOW_N; i++) {
		char c;
		ssize_t n = sl[i].fd < 0 ? 0 : recv(sl[i].fd, &c, 1, MSG_DONTWAIT);

		if (sl[i].fd >= 0 && n < 0 && errno == EAGAIN) {
			if (sl[i].lines++)
				snprintf(line, sizeof(line), "X-Slow-%u: x\r\n", sl[i].lines);
			else
				snprintf(line, sizeof(line), "GET /api/backend/v1/banks HTTP/1.1\r\n");
			send(sl[i].fd, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT);
			continue;
		}
		if (sl[i].fd >= 0) {
			uint64_t age = ev_now_ns() - sl[i].t0;

			/* admitted and closed later: by the deadline */
			if (age > 2000000000ull) {
				(*cuts)++;
				if (age > *oldest_cut)
					*oldest_cut = age;
			}
			close(sl[i].fd);
		}
		slow_open(&sl[i], i, port);
	}
}

TEST_TIMEOUT(slowloris_does_not_take_rest_down, 90)
{
	static struct slow sl[SLOW_N];
	struct rlimit rl;
	uint64_t end, next_round = 0, oldest_cut = 0;
	int i, gets = 0, cuts = 0, worst = 0, open_too_long = 0;

	setup();
	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_max < SLOW_N + 200)
		SKIP("only %lu descriptors", (unsigned long)rl.rlim_max);
	rl.rlim_cur = rl.rlim_max;
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &rl));
	srv_start(NULL);
	for (i = 0; i < SLOW_N; i++)
		ASSERT_EQ(0, slow_open(&sl[i], i, S.rest));
	/* 13 s: past the deadline, so the first connections are cut and come back */
	end = ev_now_ns() + 13000000000ull;
	while (ev_now_ns() < end) {
		uint64_t t0 = ev_now_ns();
		int ms, status;

		if (t0 >= next_round) {
			slow_round(sl, S.rest, &oldest_cut, &cuts);
			next_round = t0 + 1000000000ull;
			t0 = ev_now_ns();
		}
		status = http_json(S.rest, "GET", "/api/backend/v1/restart-counter", NULL,
				   body, sizeof(body));
		ms = (ev_now_ns() - t0) / 1000000;
		EXPECT_EQ(200, status);
		if (ms > worst)
			worst = ms;
		gets++;
		usleep(200000);
	}
	for (i = 0; i < SLOW_N; i++) {
		if (sl[i].fd >= 0 && ev_now_ns() - sl[i].t0 > 12500000000ull)
			open_too_long++;
		if (sl[i].fd >= 0)
			close(sl[i].fd);
	}
	TH_LOG("%d GETs, the slowest %d ms; %d slow connections cut, the oldest at %llu ms",
	       gets, worst, cuts, (unsigned long long)(oldest_cut / 1000000));
	EXPECT_LT(worst, 1000);
	EXPECT_GE(gets, 40);
	/* every admitted connection of the first round was cut at its deadline */
	EXPECT_GE(cuts, SLOW_ADDRS * 8);
	EXPECT_LT(oldest_cut, 12000000000ull);
	EXPECT_EQ(0, open_too_long);
	/* each exhausted limit logged once, not per connection */
	EXPECT_EQ(1, log_count(S.log, "(--rest-connections-per-address)"));
	EXPECT_EQ(1, log_count(S.log, "(--rest-request-timeout)"));
	srv_stop();
}

/* Connects from 127.0.0.1 and sends a request line, no end of headers. */
static int half_request(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	static const char line[] = "GET /api/backend/v1/banks HTTP/1.1\r\n";
	struct timeval tv = { .tv_sec = 5 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    send(fd, line, sizeof(line) - 1, MSG_NOSIGNAL) != sizeof(line) - 1) {
		close(fd);
		return -1;
	}
	return fd;
}

TEST(rest_limit_options_take_effect)
{
	char rspro[8], rest[8], junk[64];
	char *argv[] = { (char *)daemon_bin("remsim-server"), "-D", S.db, "--rspro-bind",
			 "127.0.0.1", "--rspro-port", rspro, "--rest-bind", "127.0.0.1",
			 "--rest-port", rest, "--rest-request-timeout", "1",
			 "--rest-connections-per-address", "2", "--rest-connections", "50",
			 NULL };
	struct srv s = { 0 };
	uint64_t t0;
	int a, b, c, ms;

	setup();
	snprintf(S.db, sizeof(S.db), "%s/limits.db", dir);
	snprintf(S.log, sizeof(S.log), "%s/limits.log", dir);
	S.rspro = free_port();
	S.rest = free_port();
	snprintf(rspro, sizeof(rspro), "%d", S.rspro);
	snprintf(rest, sizeof(rest), "%d", S.rest);
	ASSERT_EQ(0, daemon_start(&S.d, argv, S.log));
	ASSERT_TRUE(wait_port(S.rest, 5000));
	/* wait_port's own connection may still count: let it go */
	usleep(200000);
	a = half_request(S.rest);
	b = half_request(S.rest);
	ASSERT_GE(a, 0);
	ASSERT_GE(b, 0);
	/* a third one from the same address is closed at once */
	c = half_request(S.rest);
	if (c >= 0) {
		EXPECT_LE(recv(c, junk, sizeof(junk), 0), 0);
		close(c);
	}
	/* the two are cut after a second, however they trickle */
	t0 = ev_now_ns();
	send(a, "X-A: a\r\n", 8, MSG_NOSIGNAL);
	EXPECT_LE(recv(a, junk, sizeof(junk), 0), 0);
	EXPECT_LE(recv(b, junk, sizeof(junk), 0), 0);
	ms = (ev_now_ns() - t0) / 1000000;
	EXPECT_LT(ms, 2500);
	close(a);
	close(b);
	/* then a request is answered again (once the server saw them go) */
	usleep(100000);
	EXPECT_EQ(200, http_json(S.rest, "GET", "/api/backend/v1/banks", NULL, body, sizeof(body)));
	srv_stop();
	/* out of range: refused with the option's name */
	snprintf(s.log, sizeof(s.log), "%s/limits-bad.log", dir);
	argv[16] = "0";
	ASSERT_EQ(0, daemon_start(&s.d, argv, s.log));
	EXPECT_EQ(2, daemon_wait(&s.d, 5000));
	EXPECT_TRUE(log_contains(s.log, "rest-connections \"0\" is not 1..65536"));
}

TEST(malformed_rspro_closes_only_that_connection)
{
	static const uint8_t garbage[] = { 0x00, 0x05, 0xee, 0x07, 0x30, 0x03, 0x80, 0x05 };
	static const uint8_t wrong_proto[] = { 0x00, 0x02, 0x12, 0x07, 0x00 };
	struct tpeer b, bad;

	setup();
	srv_start(NULL);
	ASSERT_TRUE(tpeer_bankd(&b, loop, S.rspro, 1, 8, 9999));
	ASSERT_EQ(0, tpeer_connect(&bad, loop, S.rspro));
	ASSERT_EQ(0, rspro_conn_send_raw(bad.conn, garbage, sizeof(garbage)));
	EXPECT_TRUE(tpeer_wait_closed(&bad, 3000));
	tpeer_close(&bad);
	ASSERT_EQ(0, tpeer_connect(&bad, loop, S.rspro));
	ASSERT_EQ(0, rspro_conn_send_raw(bad.conn, wrong_proto, sizeof(wrong_proto)));
	EXPECT_TRUE(tpeer_wait_closed(&bad, 3000));
	tpeer_close(&bad);
	EXPECT_TRUE(log_contains(S.log, "bad RSPRO PDU"));
	/* the good one still works */
	ASSERT_EQ(201, post_map(1, 0, 1, 0));
	EXPECT_TRUE(tpeer_wait(&b, RSPRO_CREATE_MAPPING_REQ, NULL, 3000));
	EXPECT_FALSE(b.closed);
	tpeer_close(&b);
	srv_stop();
}

/*
 * Negative INTEGERs and 8-octet lengths made asn1c's decoder shift into
 * undefined behaviour, and this sanitizer build of the server abort: now
 * each only costs its own connection, and the server keeps serving.
 */
TEST(ub_pdus_close_only_their_connection)
{
	struct tpeer b, c;
	int n = 0;

	setup();
	srv_start(NULL);
	ASSERT_TRUE(tpeer_bankd(&b, loop, S.rspro, 1, 8, 9999));
	while (tpeer_hostile_pdus[n])
		n++;
	EXPECT_EQ(n, tpeer_send_hostile(loop, S.rspro));
	EXPECT_TRUE(log_contains(S.log, "bad RSPRO PDU: constraint violated"));
	EXPECT_TRUE(log_contains(S.log, "bad RSPRO PDU: malformed PDU"));
	/* the bankd that was there, and a client that comes now, are served */
	ASSERT_EQ(201, post_map(1, 0, 1, 0));
	EXPECT_TRUE(tpeer_wait(&b, RSPRO_CREATE_MAPPING_REQ, NULL, 3000));
	EXPECT_FALSE(b.closed);
	EXPECT_TRUE(tpeer_client(&c, loop, S.rspro, 1, 0));
	tpeer_close(&c);
	tpeer_close(&b);
	srv_stop();
}

TEST(options_and_config_file)
{
	struct srv s = { 0 };
	char conf[300], *argv[6];
	FILE *f;

	setup();
	snprintf(s.log, sizeof(s.log), "%s/options.log", dir);
	/* --help works and names the options */
	argv[0] = (char *)daemon_bin("remsim-server");
	argv[1] = "--help";
	argv[2] = NULL;
	ASSERT_EQ(0, daemon_start(&s.d, argv, s.log));
	EXPECT_EQ(0, daemon_wait(&s.d, 5000));
	EXPECT_TRUE(log_contains(s.log, "--database"));
	/* a config file with every kind of setting, comments included */
	snprintf(conf, sizeof(conf), "%s/server.conf", dir);
	snprintf(S.db, sizeof(S.db), "%s/conf.db", dir);
	snprintf(S.log, sizeof(S.log), "%s/conf.log", dir);
	S.rspro = free_port();
	S.rest = free_port();
	f = fopen(conf, "w");
	ASSERT_TRUE(f != NULL);
	fprintf(f, "# remsim-server\n\ndatabase = %s\nrspro-bind = 127.0.0.1\n"
		"rspro-port = %d   # RSPRO\nrest-port=%d\nbankd-port = 9444\n"
		"keepalive-interval = 5\nlog-level = debug\ntimestamp = yes\n",
		S.db, S.rspro, S.rest);
	fclose(f);
	argv[1] = "-c";
	argv[2] = conf;
	argv[3] = "-L";		/* osmo-remsim's option, accepted */
	argv[4] = NULL;
	ASSERT_EQ(0, daemon_start(&S.d, argv, S.log));
	ASSERT_TRUE(wait_port(S.rest, 5000));
	ASSERT_TRUE(wait_port(S.rspro, 5000));
	{
		struct rspro_pdu pdu;
		struct tpeer b, c;

		ASSERT_TRUE(tpeer_bankd(&b, loop, S.rspro, 1, 1, -1));
		ASSERT_TRUE(tpeer_client(&c, loop, S.rspro, 1, 0));
		ASSERT_EQ(201, post_map(1, 0, 1, 0));
		ASSERT_TRUE(tpeer_wait(&b, RSPRO_CREATE_MAPPING_REQ, NULL, 3000));
		answer(&b, RSPRO_CREATE_MAPPING_RES, RSPRO_OK);
		ASSERT_TRUE(tpeer_wait(&c, RSPRO_CONFIG_CLIENT_BANK_REQ, &pdu, 3000));
		EXPECT_EQ(9444, pdu.config_client_bank.bankd.port);
		tpeer_close(&b);
		tpeer_close(&c);
	}
	srv_stop();
	/* every line names its level and who it is about */
	EXPECT_TRUE(log_contains(S.log, "DSLOTMAP INFO C1:0: bankd for this client: B1:0"));
	/* a bad setting names the file and line, and the server does not start */
	f = fopen(conf, "a");
	fprintf(f, "rest-port = 70000\n");
	fclose(f);
	ASSERT_EQ(0, daemon_start(&s.d, argv, s.log));
	EXPECT_EQ(2, daemon_wait(&s.d, 5000));
	EXPECT_TRUE(log_contains(s.log, "server.conf:11: rest-port \"70000\" is not a port"));
	f = fopen(conf, "w");
	fprintf(f, "database = %s\ncolour = blue\n", S.db);
	fclose(f);
	ASSERT_EQ(0, daemon_start(&s.d, argv, s.log));
	EXPECT_EQ(2, daemon_wait(&s.d, 5000));
	EXPECT_TRUE(log_contains(s.log, "server.conf:2: unknown setting \"colour\""));
}

/* A PING from @t's side; true when its PONG came within @ms. */
static bool pong_within(struct tpeer *t, int ms)
{
	uint64_t before = rspro_conn_stats(t->conn)->pongs_received;
	uint64_t end = ev_now_ns() + ms * 1000000ull;

	if (rspro_conn_ping(t->conn))
		return false;
	while (ev_now_ns() < end && t->conn) {
		if (rspro_conn_stats(t->conn)->pongs_received > before)
			return true;
		ev_run_once(loop, 5);
	}
	return false;
}

/*
 * More RSPRO connections than the server has descriptors: it pauses
 * accepting instead of spinning (and logging) on EMFILE, keeps answering
 * its peers, and accepts again once the flood is gone.
 */
TEST_TIMEOUT(connection_flood_at_the_descriptor_limit_does_not_spin, 60)
{
	static int fds[200];
	char rspro[8], rest[8];
	long cpu0, cpu1, lines;
	struct tpeer c, b;
	uint64_t end;
	int i, n;
	char *argv[] = { "/usr/bin/prlimit", "--nofile=64:64",
			 (char *)daemon_bin("remsim-server"), "-D", S.db, "--rspro-bind",
			 "127.0.0.1", "--rspro-port", rspro, "--rest-bind", "127.0.0.1",
			 "--rest-port", rest, "-e", "debug", NULL };

	if (access(argv[0], X_OK))
		SKIP("no /usr/bin/prlimit");
	setup();
	snprintf(S.db, sizeof(S.db), "%s/flood.db", dir);
	snprintf(S.log, sizeof(S.log), "%s/flood.log", dir);
	S.rspro = free_port();
	S.rest = free_port();
	snprintf(rspro, sizeof(rspro), "%d", S.rspro);
	snprintf(rest, sizeof(rest), "%d", S.rest);
	ASSERT_EQ(0, daemon_start(&S.d, argv, S.log));
	ASSERT_TRUE(wait_port(S.rest, 5000));
	ASSERT_TRUE(wait_port(S.rspro, 5000));
	ASSERT_TRUE(tpeer_client(&c, loop, S.rspro, 23, 0));
	n = tcp_flood(S.rspro, fds, 200);
	ASSERT_GT(n, 100);
	for (end = ev_now_ns() + 3000000000ull; ev_now_ns() < end;) {
		if (log_contains(S.log, "connection limit reached"))
			break;
		tpeer_run(loop, 50);
	}
	EXPECT_TRUE(log_contains(S.log, "connection limit reached"));
	cpu0 = pid_cpu_ms(S.d.pid);
	/* two seconds at the limit: the client's PINGs are answered all along */
	for (i = 0; i < 10; i++) {
		ASSERT_TRUE(pong_within(&c, 1000));
		tpeer_run(loop, 200);
	}
	cpu1 = pid_cpu_ms(S.d.pid);
	TH_LOG("the server used %ld ms of CPU in 2 s at the descriptor limit", cpu1 - cpu0);
	EXPECT_LT(cpu1 - cpu0, 400);
	lines = log_count(S.log, "connection limit reached");
	TH_LOG("%ld limit lines", lines);
	EXPECT_GE(lines, 1);
	EXPECT_LE(lines, 5);
	/* the flood ends: a new peer registers as usual */
	for (i = 0; i < n; i++)
		close(fds[i]);
	ASSERT_TRUE(tpeer_bankd(&b, loop, S.rspro, 1, 8, -1));
	ASSERT_TRUE(pong_within(&c, 1000));
	tpeer_close(&b);
	tpeer_close(&c);
	srv_stop();
}

/* Waits up to @ms for @text in the server's log. */
static bool wait_srv_log(const char *text, int ms)
{
	int t;

	for (t = 0; t < ms / 20 && !log_contains(S.log, text); t++)
		usleep(20000);
	return log_contains(S.log, text);
}

static void write_conf(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ASSERT_TRUE(f != NULL);
	fputs(text, f);
	fclose(f);
}

/*
 * SIGHUP and SIGUSR1 once killed the server. Now SIGUSR1 logs peers, maps
 * and REST counts; SIGHUP reads -c again: a new log level is taken, a key
 * that needs a restart is named, a bad file is refused and the running
 * configuration kept; PUT /log-level changes the level at run time.
 */
TEST(sighup_reloads_sigusr1_counts_rest_sets_the_log_level)
{
	char conf[300], rspro[8], rest[8];
	char *argv[16];
	int n = 0;

	setup();
	snprintf(conf, sizeof(conf), "%s/reload.conf", dir);
	snprintf(S.db, sizeof(S.db), "%s/reload.db", dir);
	snprintf(S.log, sizeof(S.log), "%s/reload.log", dir);
	write_conf(conf, "log-level = info\n");
	S.rspro = free_port();
	S.rest = free_port();
	snprintf(rspro, sizeof(rspro), "%d", S.rspro);
	snprintf(rest, sizeof(rest), "%d", S.rest);
	argv[n++] = (char *)daemon_bin("remsim-server");
	argv[n++] = "-c";
	argv[n++] = conf;
	argv[n++] = "-D";
	argv[n++] = S.db;
	argv[n++] = "--rspro-bind";
	argv[n++] = "127.0.0.1";
	argv[n++] = "--rspro-port";
	argv[n++] = rspro;
	argv[n++] = "--rest-bind";
	argv[n++] = "127.0.0.1";
	argv[n++] = "--rest-port";
	argv[n++] = rest;
	argv[n] = NULL;
	ASSERT_EQ(0, daemon_start(&S.d, argv, S.log));
	ASSERT_TRUE(wait_port(S.rest, 5000));

	EXPECT_EQ(201, post_map(1, 0, 1, 0));
	kill(S.d.pid, SIGUSR1);
	ASSERT_TRUE(wait_srv_log("statistics: peers: 0 bankds, 0 clients", 5000));
	EXPECT_TRUE(wait_srv_log("1 NEW", 2000));
	EXPECT_TRUE(wait_srv_log("statistics: 1 requests, 0 refused", 2000));
	get("banks");
	EXPECT_FALSE(log_contains(S.log, "GET /api/backend/v1/banks"));

	/* debug from the file; a key only a restart applies is named */
	write_conf(conf, "log-level = debug\nrest-connections = 5\n");
	kill(S.d.pid, SIGHUP);
	ASSERT_TRUE(wait_srv_log("SIGHUP: keepalive 30000/10000 ms", 5000));
	EXPECT_TRUE(log_contains(S.log, "rest-connections changed: needs a restart"));
	get("banks");
	EXPECT_TRUE(wait_srv_log("GET /api/backend/v1/banks", 2000));

	/* a bad file: said, and debug stays on, REST keeps serving */
	write_conf(conf, "log-level = loud\n");
	kill(S.d.pid, SIGHUP);
	ASSERT_TRUE(wait_srv_log("running configuration kept", 5000));
	EXPECT_TRUE(log_contains(S.log, "log-level \"loud\""));
	EXPECT_EQ(200, http_json(S.rest, "GET", "/api/backend/v1/clients", NULL, body,
				 sizeof(body)));
	EXPECT_TRUE(wait_srv_log("GET /api/backend/v1/clients", 2000));

	/* REST at run time */
	EXPECT_EQ(400, http_json(S.rest, "PUT", "/api/backend/v1/log-level",
				 "{\"level\":\"loud\"}", body, sizeof(body)));
	EXPECT_EQ(200, http_json(S.rest, "PUT", "/api/backend/v1/log-level",
				 "{\"level\":\"info\"}", body, sizeof(body)));
	EXPECT_TRUE(wait_srv_log("log level set by REST from 127.0.0.1:", 2000));
	EXPECT_TRUE(log_contains(S.log, ": level info"));
	get("restart-counter");
	EXPECT_FALSE(log_contains(S.log, "GET /api/backend/v1/restart-counter"));
	EXPECT_EQ(200, http_json(S.rest, "PUT", "/api/backend/v1/log-level",
				 "{\"mask\":\"DREST,1\"}", body, sizeof(body)));
	get("restart-counter");
	EXPECT_TRUE(wait_srv_log("GET /api/backend/v1/restart-counter", 2000));
	srv_stop();
}

int main(int argc, char **argv)
{
	int ret;

	signal(SIGPIPE, SIG_IGN);
	ret = ktap_main(argc, argv);
	ev_loop_free(loop);
	if (ret == 0) {
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd))
			return 1;
	}
	return ret;
}
