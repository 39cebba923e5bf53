// SPDX-License-Identifier: GPL-2.0
/*
 * bankd_test - remsim-bankd (ASan/UBSan build) with its real surroundings:
 * Debian's pcscd in a private namespace with vpcd readers, remsim-softsim
 * cards in them, remsim-server handing out the maps; test clients on the
 * RSPRO library. Every card command round-trips byte for byte as a local
 * card answers it; resets reach the card; a card pulled out mid-APDU, a
 * pcscd restart, two clients racing for one slot and malformed TPDUs get
 * clear errors and no hang; PDUs that once hit undefined behaviour in the
 * decoder close only their connection; 16 slots work in parallel; a TPDU
 * costs one wake-up each way between the event loop and the worker. A second
 * connection cannot take a working client's card; a dead one is replaced.
 * Against a server side played by the test, clients connecting as
 * osmo-remsim's: an identical map leaves the session alone, a client
 * without a map or card waits on its connection, a reconnecting one is
 * served at once. Silent peers and connection floods at the descriptor
 * limit are survived. A server that restarts is seen within a quarter
 * second of listening again. A bankd off port 9999 behind osmo-remsim-server says
 * that its clients cannot reach it. A reader map that is bad or serves
 * nothing stops it at start-up; rows it ignores are warned about, or with
 * --strict refused.
 */
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "../rspro-strict/strict.h"
#include "card.h"
#include "daemon.h"
#include "http.h"
#include "ktap.h"
#include "pcsc_env.h"
#include "rspro_peer.h"

#define BANK	1

static struct ev_loop *loop;
static struct pcsc_env env;
static struct daemon server, bankd;
static int rspro_port, rest_port, bankd_port;
/* made by main(), removed by it when every test passed; a test's own below */
static char topdir[] = "/tmp/remsim-bankd-test-XXXXXX";
static char logdir[sizeof(topdir) + 16];
static char body[8192];
/* more bankd options for the next start_bankd_with(), NULL-terminated */
static const char *bankd_extra[8];

/* The directory of this test's logs and files, fresh for each test. */
static void make_logdir(void)
{
	snprintf(logdir, sizeof(logdir), "%s/testXXXXXX", topdir);
	ASSERT_TRUE(mkdtemp(logdir) != NULL);
}

static void start_server(void)
{
	char db[128], log[128], rs[8], rt[8];
	char *argv[] = { (char *)daemon_bin("remsim-server"), "-D", db, "--rspro-bind",
			 "127.0.0.1", "--rspro-port", rs, "--rest-bind", "127.0.0.1",
			 "--rest-port", rt, NULL };

	rspro_port = free_port();
	rest_port = free_port();
	snprintf(rs, sizeof(rs), "%d", rspro_port);
	snprintf(rt, sizeof(rt), "%d", rest_port);
	snprintf(db, sizeof(db), "%s/server.db", logdir);
	snprintf(log, sizeof(log), "%s/server.log", logdir);
	ASSERT_EQ(0, daemon_start(&server, argv, log));
	ASSERT_TRUE(wait_port(rest_port, 5000));
}

/*
 * Starts bankd; @nofile ("SOFT:HARD") runs it under that RLIMIT_NOFILE,
 * @identify passes --identify-timeout (seconds); NULL for the defaults.
 */
static void start_bankd_with(unsigned int slots, const char *nofile, const char *identify)
{
	char log[128], rs[8], bp[8], n[8], lim[40];
	char *argv[32];
	int i = 0;

	bankd_port = free_port();
	snprintf(rs, sizeof(rs), "%d", rspro_port);
	snprintf(bp, sizeof(bp), "%d", bankd_port);
	snprintf(n, sizeof(n), "%u", slots);
	snprintf(log, sizeof(log), "%s/bankd.log", logdir);
	if (nofile) {
		/* prlimit sets the limit and execs bankd in the same process */
		snprintf(lim, sizeof(lim), "--nofile=%s", nofile);
		argv[i++] = "/usr/bin/prlimit";
		argv[i++] = lim;
	}
	argv[i++] = (char *)daemon_bin("remsim-bankd");
	argv[i++] = "-i";
	argv[i++] = "127.0.0.1";
	argv[i++] = "-p";
	argv[i++] = rs;
	argv[i++] = "-b";
	argv[i++] = "1";
	argv[i++] = "-n";
	argv[i++] = n;
	argv[i++] = "-I";
	argv[i++] = "127.0.0.1";
	argv[i++] = "-P";
	argv[i++] = bp;
	argv[i++] = "-S";
	argv[i++] = env.csv;
	argv[i++] = "-g";
	argv[i++] = "127.0.0.1";
	argv[i++] = "-e";
	argv[i++] = "debug";
	if (identify) {
		argv[i++] = "--identify-timeout";
		argv[i++] = (char *)identify;
	}
	for (int k = 0; bankd_extra[k]; k++)
		argv[i++] = (char *)bankd_extra[k];
	argv[i] = NULL;
	ASSERT_EQ(0, daemon_start(&bankd, argv, log));
	ASSERT_TRUE(wait_port(bankd_port, 5000));
}

/* Maps card @slot of bank 1 to client @client:0 and waits for ACTIVE. */
static void map(int slot, int client)
{
	char json[200];
	int t;

	snprintf(json, sizeof(json),
		 "{\"bank\":{\"bankId\":1,\"slotNr\":%d},\"client\":{\"clientId\":%d,\"slotNr\":0}}",
		 slot, client);
	ASSERT_EQ(201, http_json(rest_port, "POST", "/api/backend/v1/slotmaps", json, body,
				 sizeof(body)));
	for (t = 0; t < 100; t++) {
		int i, active = 0;
		char *p;

		http_json(rest_port, "GET", "/api/backend/v1/slotmaps", NULL, body, sizeof(body));
		for (p = body, i = 0; (p = strstr(p, "ACTIVE")); p++, i++)
			active++;
		if (strstr(body, "NEW") == NULL && strstr(body, "UNACK") == NULL && active)
			return;
		tpeer_run(loop, 50);
	}
	ASSERT_TRUE(false);
}

static void setup_with(unsigned int cards, const char *nofile, const char *identify)
{
	if (!loop) {
		loop = ev_loop_new();
		make_logdir();
	}
	ASSERT_EQ(0, pcsc_env_start(&env, cards));
	start_server();
	start_bankd_with(cards, nofile, identify);
}

static void setup(unsigned int cards)
{
	setup_with(cards, NULL, NULL);
}

static void teardown(void)
{
	int status = daemon_stop(&bankd, SIGTERM, 10000);

	if (status)
		TH_LOG("bankd exit status %d, see %s/bankd.log", status, logdir);
	EXPECT_EQ(0, status);
	daemon_stop(&server, SIGTERM, 10000);
	pcsc_env_stop(&env);
}

static void after_each(void)
{
	memset(bankd_extra, 0, sizeof(bankd_extra));
	if (bankd.pid)
		daemon_stop(&bankd, SIGKILL, 1000);
	if (server.pid)
		daemon_stop(&server, SIGKILL, 1000);
	if (env.dir[0] && (env.pcscd.pid || env.softsim.pid))
		pcsc_env_stop(&env);
}

/*
 * A client of bankd for client slot @client:0 on event loop @l; true when
 * the card is open.
 */
static bool client_connect_on(struct tpeer *t, struct ev_loop *l, int client,
			      struct rspro_pdu *atr)
{
	return tpeer_client_result(t, l, bankd_port, client, 0) == RSPRO_OK &&
	       tpeer_wait(t, RSPRO_SET_ATR_REQ, atr, 5000);
}

static bool client_connect(struct tpeer *t, int client, struct rspro_pdu *atr)
{
	return client_connect_on(t, loop, client, atr);
}

/* One TPDU through bankd; the response (data + SW) in @resp. */
static int transceive(struct tpeer *t, int client, int slot, const uint8_t *cmd,
		      size_t len, uint8_t *resp)
{
	struct rspro_pdu pdu;

	rspro_tpdu(&pdu, RSPRO_TPDU_MODEM_TO_CARD, (struct rspro_client_slot){ client, 0 },
		   (struct rspro_bank_slot){ BANK, slot }, cmd, len);
	if (tpeer_send(t, &pdu))
		return -EIO;
	if (!tpeer_wait(t, RSPRO_TPDU_CARD_TO_MODEM, &pdu, 10000))
		return -ETIMEDOUT;
	memcpy(resp, pdu.tpdu.data, pdu.tpdu.len);
	return pdu.tpdu.len;
}

static size_t unhex(const char *hex, uint8_t *out)
{
	size_t n = 0;
	unsigned int b;

	while (hex[0] && hex[1] && sscanf(hex, "%2x", &b) == 1) {
		out[n++] = b;
		hex += 2;
	}
	return n;
}

TEST_TIMEOUT(every_card_command_round_trips, 120)
{
	/* every command the softsim card knows, GSM and UICC faces */
	static const char *const script[] = {
		"a0a40000023f00",		/* SELECT MF by FID (GSM) */
		"a0c000001a",			/* GET RESPONSE after 9Fxx (wrong Le first) */
		"a0f2000016",			/* STATUS */
		"a0a40000027f20",		/* DF.GSM */
		"a0a40000026f07",		/* EF.IMSI */
		"a0b0000009",			/* READ BINARY */
		"a02000010831323334ffffffff",	/* VERIFY PIN1 */
		"a088000010000102030405060708090a0b0c0d0e0f",	/* RUN GSM ALGORITHM */
		"a0c000000c",			/* its GET RESPONSE */
		"00a40004023f00",		/* SELECT MF (UICC) */
		"00a40804047f106f3a",		/* SELECT by path: DF.TELECOM/EF.ADN */
		"00b2010420",			/* READ RECORD 1 */
		"00dc010420" "4142ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",	/* UPDATE RECORD */
		"00b2010420",			/* and back */
		"00a40004022fe2",		/* EF.ICCID */
		"00b000000a",			/* READ BINARY */
		"00a40004022f00",		/* EF.DIR */
		"00b2010400",			/* READ RECORD with Le 0 */
		"00a4040407a0000000871002",	/* SELECT ADF.USIM by AID */
		"00a40004026f07",		/* EF.IMSI */
		"00b0000009",			/* READ BINARY */
		"00d6000009" "080910101032547698",	/* UPDATE BINARY (needs ADM: refused) */
		"0024000110313233340000000035353535ffffffff", /* CHANGE PIN (not verified yet) */
		"002000010831323334ffffffff",	/* VERIFY PIN1 */
		"0024000110313233340000000035353535ffffffff", /* CHANGE PIN */
		"002000010831323334ffffffff",	/* the old one is wrong now */
		"002c000110313233343536373835353535ffffffff", /* UNBLOCK PIN with PUK */
		"00880081221000112233445566778899aabbccddeeff10" "00000000000000000000000000000000",
		"00c0000010",
		"80f2000000",			/* STATUS (UICC) */
		"00700000",			/* MANAGE CHANNEL, wrong size: 5 bytes minimum */
	};
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(4729) };
	struct card_profile prof;
	struct card *local;
	struct rspro_pdu atr;
	struct tpeer c;
	unsigned int i;
	uint8_t pkt[600];
	int gsmtap;

	/* GSMTAP copies arrive here (-g 127.0.0.1) */
	gsmtap = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ASSERT_EQ(0, bind(gsmtap, (struct sockaddr *)&sa, sizeof(sa)));
	setup(1);
	map(0, 23);
	ASSERT_TRUE(client_connect(&c, 23, &atr));
	{
		size_t len;
		const uint8_t *want = card_atr(&len);

		ASSERT_EQ(len, atr.set_atr.len);
		ASSERT_MEMEQ(want, atr.set_atr.atr, len);
		EXPECT_EQ(23, atr.set_atr.slot.client_id);
	}
	card_profile_default(&prof, 0);
	local = card_new(&prof);
	for (i = 0; i < sizeof(script) / sizeof(script[0]); i++) {
		uint8_t cmd[300], got[300], want[300];
		size_t len = unhex(script[i], cmd);
		int n, w;

		if (len < 5)
			continue;	/* bankd refuses these: see bad_tpdus */
		w = card_command(local, cmd, len, want);
		n = transceive(&c, 23, 0, cmd, len, got);
		if (n != w || memcmp(got, want, w))
			TH_LOG("%s: got %d bytes, want %d (SW %02x%02x)", script[i], n, w,
			       want[w - 2], want[w - 1]);
		ASSERT_EQ(w, n);
		ASSERT_MEMEQ(want, got, w);
		if (i == 0) {
			/* the ATR, then this APDU: GSMTAP v2, type SIM, sub-type 1 / 0 */
			struct timeval tv = { .tv_sec = 2 };

			setsockopt(gsmtap, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
			ASSERT_EQ((ssize_t)(16 + atr.set_atr.len), recv(gsmtap, pkt, sizeof(pkt), 0));
			EXPECT_MEMEQ("\x02\x04\x04", pkt, 3);
			EXPECT_EQ(1, pkt[12]);
			ASSERT_EQ((ssize_t)(16 + len + n), recv(gsmtap, pkt, sizeof(pkt), 0));
			EXPECT_EQ(0, pkt[12]);
			EXPECT_MEMEQ(cmd, pkt + 16, len);
			EXPECT_MEMEQ(got, pkt + 16 + len, n);
		}
	}
	close(gsmtap);
	card_free(local);
	EXPECT_EQ(1, pcsc_env_count_commands(&env, 0, "a0f2000016"));
	tpeer_close(&c);
	teardown();
}

/*
 * remsim-bankd and remsim-server learn the bankd's port by themselves: the
 * bankd sends it once the server said it understands it, before answering
 * any map, so a client is told the real port and never 9999 first.
 */
TEST_TIMEOUT(clients_learn_the_bankd_port, 120)
{
	struct rspro_pdu pdu;
	struct tpeer c;

	setup(1);
	ASSERT_TRUE(tpeer_client(&c, loop, rspro_port, 23, 0));
	map(0, 23);
	ASSERT_TRUE(tpeer_wait(&c, RSPRO_CONFIG_CLIENT_BANK_REQ, &pdu, 5000));
	EXPECT_EQ(bankd_port, pdu.config_client_bank.bankd.port);
	EXPECT_EQ(0, tpeer_settle(&c, RSPRO_CONFIG_CLIENT_BANK_REQ, 300));
	EXPECT_TRUE(log_contains(server.log, "bankd updated its registration"));
	EXPECT_EQ(0, log_count(bankd.log, "clients cannot reach us"));
	tpeer_close(&c);
	teardown();
}

TEST_TIMEOUT(reset_edges_reach_the_card, 120)
{
	static const uint8_t select_iccid[] = { 0x00, 0xa4, 0x00, 0x04, 0x02, 0x2f, 0xe2 };
	static const uint8_t read[] = { 0x00, 0xb0, 0x00, 0x00, 0x0a };
	struct rspro_slot_phys phys = { 1, 1, 1, RSPRO_UNKNOWN };
	struct rspro_pdu pdu, atr;
	uint8_t resp[300];
	struct tpeer c;

	setup(1);
	map(0, 5);
	ASSERT_TRUE(client_connect(&c, 5, &atr));
	ASSERT_EQ(2, transceive(&c, 5, 0, select_iccid, sizeof(select_iccid), resp));
	ASSERT_EQ(12, transceive(&c, 5, 0, read, sizeof(read), resp));	/* selected */
	/* the modem asserts RST: a warm reset, and the card forgets the EF */
	rspro_slot_status_ind(&pdu, RSPRO_CLIENT_SLOT_STATUS_IND, (struct rspro_client_slot){ 5, 0 },
			      (struct rspro_bank_slot){ BANK, 0 }, &phys);
	tpeer_send(&c, &pdu);
	ASSERT_EQ(2, transceive(&c, 5, 0, read, sizeof(read), resp));
	EXPECT_EQ(0x69, resp[0]);	/* 6986: no EF selected */
	EXPECT_EQ(0x86, resp[1]);
	/* RST held: no second reset; released and asserted again: one more */
	tpeer_send(&c, &pdu);
	ASSERT_EQ(2, transceive(&c, 5, 0, select_iccid, sizeof(select_iccid), resp));
	ASSERT_EQ(12, transceive(&c, 5, 0, read, sizeof(read), resp));
	phys.reset_active = 0;
	rspro_slot_status_ind(&pdu, RSPRO_CLIENT_SLOT_STATUS_IND, (struct rspro_client_slot){ 5, 0 },
			      (struct rspro_bank_slot){ BANK, 0 }, &phys);
	tpeer_send(&c, &pdu);
	ASSERT_EQ(12, transceive(&c, 5, 0, read, sizeof(read), resp));
	/* VCC off: a cold reset */
	phys.vcc_present = 0;
	rspro_slot_status_ind(&pdu, RSPRO_CLIENT_SLOT_STATUS_IND, (struct rspro_client_slot){ 5, 0 },
			      (struct rspro_bank_slot){ BANK, 0 }, &phys);
	tpeer_send(&c, &pdu);
	ASSERT_EQ(2, transceive(&c, 5, 0, read, sizeof(read), resp));
	EXPECT_EQ(0x69, resp[0]);
	tpeer_close(&c);
	EXPECT_TRUE(log_contains(bankd.log, "warm reset of the card"));
	EXPECT_TRUE(log_contains(bankd.log, "cold reset of the card"));
	teardown();
}

static const uint8_t status_cmd[] = { 0xa0, 0xf2, 0x00, 0x00, 0x16 };
static const uint8_t select_iccid[] = { 0x00, 0xa4, 0x00, 0x04, 0x02, 0x2f, 0xe2 };
static const uint8_t read_iccid[] = { 0x00, 0xb0, 0x00, 0x00, 0x0a };

static void pull_card(unsigned int n)
{
	char cmd[32], reply[256];

	snprintf(cmd, sizeof(cmd), "remove %u", n);
	ASSERT_EQ(0, softsim_ctl(&env, cmd, reply, sizeof(reply)));
	ASSERT_TRUE(pcsc_env_wait_absent(&env, n, 5000));
}

static void insert_card(unsigned int n)
{
	char cmd[32], reply[256];

	snprintf(cmd, sizeof(cmd), "insert %u", n);
	ASSERT_EQ(0, softsim_ctl(&env, cmd, reply, sizeof(reply)));
}

/*
 * A card lost under a command: errorInd for that command (whether the card
 * saw it is unknown, so it is not resent), and the connection stays, as for
 * a client whose card was never there: a TPDU meanwhile gets an errorInd,
 * the card's return a setAtrReq on it. Closing it, as osmo-remsim-bankd
 * does, made osmo clients (which do not understand errorInd) reconnect
 * thousands of times a second. Logged once.
 */
TEST_TIMEOUT(card_pulled_mid_apdu_keeps_the_connection, 120)
{
	struct rspro_pdu pdu, atr;
	uint8_t resp[300];
	char reply[256];
	struct tpeer c;

	setup(1);
	map(0, 7);
	ASSERT_TRUE(client_connect(&c, 7, &atr));
	ASSERT_EQ(0, softsim_ctl(&env, "pull-on-apdu 0", reply, sizeof(reply)));
	rspro_tpdu(&pdu, RSPRO_TPDU_MODEM_TO_CARD, (struct rspro_client_slot){ 7, 0 },
		   (struct rspro_bank_slot){ BANK, 0 }, status_cmd, sizeof(status_cmd));
	tpeer_send(&c, &pdu);
	ASSERT_TRUE(tpeer_wait(&c, RSPRO_ERROR_IND, &pdu, 15000));
	EXPECT_TRUE(strstr(pdu.error_ind.text, "card transmission error") != NULL);
	EXPECT_EQ(0, tpeer_settle(&c, RSPRO_SET_ATR_REQ, 1500));
	ASSERT_FALSE(c.closed);
	/* no card: the command gets an errorInd, nothing closes */
	rspro_tpdu(&pdu, RSPRO_TPDU_MODEM_TO_CARD, (struct rspro_client_slot){ 7, 0 },
		   (struct rspro_bank_slot){ BANK, 0 }, status_cmd, sizeof(status_cmd));
	tpeer_send(&c, &pdu);
	ASSERT_TRUE(tpeer_wait(&c, RSPRO_ERROR_IND, &pdu, 5000));
	EXPECT_TRUE(strstr(pdu.error_ind.text, "not present") != NULL);
	tpeer_run(loop, 200);
	ASSERT_FALSE(c.closed);
	/* the card back: its ATR on the same connection, and it works */
	insert_card(0);
	ASSERT_TRUE(tpeer_wait(&c, RSPRO_SET_ATR_REQ, &atr, 10000));
	EXPECT_EQ(7, atr.set_atr.slot.client_id);
	ASSERT_EQ(24, transceive(&c, 7, 0, status_cmd, sizeof(status_cmd), resp));
	EXPECT_EQ(1, log_count(bankd.log, "the card is lost"));
	tpeer_close(&c);
	teardown();
}

/*
 * How soon after pcscd shows a card a client waiting for it has it. bankd
 * watches pcscd's readers (SCardGetStatusChange on the PnP pseudo reader
 * and the readers); its one-second retry alone took up to CARD_RETRY_MS.
 */
#define CARD_SHOWN_MS	300

/* A card put in while its client waits is opened as soon as pcscd shows it. */
TEST_TIMEOUT(card_put_in_is_opened_as_soon_as_pcscd_shows_it, 120)
{
	struct rspro_pdu atr;
	uint8_t resp[300];
	uint64_t shown;
	struct tpeer c;

	setup(2);
	pull_card(1);
	map(1, 9);
	ASSERT_EQ(RSPRO_CARD_NOT_PRESENT, tpeer_client_result(&c, loop, bankd_port, 9, 0));
	/*
	 * Just after a retry: the next is a second away, more than the card
	 * takes to show (a card put back at once was not always seen by vpcd).
	 */
	tpeer_run(loop, 1050);
	insert_card(1);
	ASSERT_TRUE(pcsc_env_wait_cards(&env, 15000));
	shown = ev_now_ns();
	ASSERT_TRUE(tpeer_wait(&c, RSPRO_SET_ATR_REQ, &atr, 5000));
	EXPECT_LT((ev_now_ns() - shown) / 1000000, CARD_SHOWN_MS);
	ASSERT_EQ(24, transceive(&c, 9, 1, status_cmd, sizeof(status_cmd), resp));
	tpeer_close(&c);
	teardown();
}

/*
 * pcscd dies under a client: the same, until pcscd and the card are back,
 * and then at once: bankd asks for a context every 50 ms while pcscd is
 * away and watches its readers come back.
 */
TEST_TIMEOUT(pcscd_restart_recovers, 120)
{
	struct rspro_pdu pdu, atr;
	uint8_t resp[300];
	uint64_t shown;
	struct tpeer c;

	setup(2);
	map(1, 9);
	ASSERT_TRUE(client_connect(&c, 9, &atr));
	ASSERT_EQ(24, transceive(&c, 9, 1, status_cmd, sizeof(status_cmd), resp));
	/* pcscd dies under the client */
	daemon_stop(&env.pcscd, SIGKILL, 2000);
	rspro_tpdu(&pdu, RSPRO_TPDU_MODEM_TO_CARD, (struct rspro_client_slot){ 9, 0 },
		   (struct rspro_bank_slot){ BANK, 1 }, status_cmd, sizeof(status_cmd));
	tpeer_send(&c, &pdu);
	ASSERT_TRUE(tpeer_wait(&c, RSPRO_ERROR_IND, &pdu, 15000));
	tpeer_run(loop, 500);
	ASSERT_FALSE(c.closed);
	/* and comes back: the client is served on its connection */
	ASSERT_EQ(0, pcsc_env_start_pcscd(&env));
	ASSERT_TRUE(pcsc_env_wait_cards(&env, 15000));
	shown = ev_now_ns();
	ASSERT_TRUE(tpeer_wait(&c, RSPRO_SET_ATR_REQ, &atr, 15000));
	EXPECT_LT((ev_now_ns() - shown) / 1000000, CARD_SHOWN_MS);
	ASSERT_EQ(24, transceive(&c, 9, 1, status_cmd, sizeof(status_cmd), resp));
	EXPECT_EQ(1, log_count(bankd.log, "pcscd is back"));
	tpeer_close(&c);
	teardown();
}

TEST_TIMEOUT(two_clients_racing_for_one_slot, 120)
{
	static const uint8_t status[] = { 0xa0, 0xf2, 0x00, 0x00, 0x16 };
	struct rspro_client_slot cs = { 11, 0 };
	struct rspro_identity id;
	struct rspro_pdu pdu;
	struct tpeer a, b;
	uint8_t resp[300];
	int ok = 0;

	setup(1);
	map(0, 11);
	ASSERT_EQ(0, tpeer_connect(&a, loop, bankd_port));
	ASSERT_EQ(0, tpeer_connect(&b, loop, bankd_port));
	rspro_identity_init(&id, RSPRO_COMP_CLIENT, "test", "remsim-client", "t");
	rspro_connect_client_req(&pdu, &id, &cs);
	tpeer_send(&a, &pdu);
	tpeer_send(&b, &pdu);
	tpeer_run(loop, 2000);
	/* exactly one is served; the other is closed */
	ok += !a.closed && tpeer_wait(&a, RSPRO_SET_ATR_REQ, NULL, 3000);
	ok += !b.closed && tpeer_wait(&b, RSPRO_SET_ATR_REQ, NULL, 3000);
	EXPECT_EQ(1, ok);
	EXPECT_TRUE(a.closed != b.closed);
	ASSERT_EQ(24, transceive(a.closed ? &b : &a, 11, 0, status, sizeof(status), resp));
	tpeer_close(&a);
	tpeer_close(&b);
	teardown();
}

/*
 * Connections of two client slots opened, named, used and dropped at random
 * for 600 steps, some with a TPDU for the wrong bank slot: sessions handed
 * to the slots' workers, ended under them by the peer or a refusal, probed
 * when a second connection names a slot. bankd (the sanitizer build) must
 * live through it, and each slot serve a clean connection afterwards.
 */
#define CHURN_CONNS	6
#define CHURN_STEPS	600

TEST_TIMEOUT(connections_churning_on_two_slots_leave_them_serving, 180)
{
	static const uint8_t status[] = { 0xa0, 0xf2, 0x00, 0x00, 0x16 };
	struct tpeer t[CHURN_CONNS], a;
	bool open[CHURN_CONNS] = { false };
	int client[CHURN_CONNS];
	struct rspro_identity id;
	struct rspro_pdu pdu;
	uint8_t resp[300];
	const char *env_seed = getenv("REMSIM_CHURN_SEED");
	unsigned int seed = env_seed ? strtoul(env_seed, NULL, 0) : 20;
	int step, k, c;

	TH_LOG("seed %u (REMSIM_CHURN_SEED)", seed);
	setup(2);
	map(0, 40);
	map(1, 41);
	rspro_identity_init(&id, RSPRO_COMP_CLIENT, "test", "remsim-client", "t");
	for (step = 0; step < CHURN_STEPS; step++) {
		k = rand_r(&seed) % CHURN_CONNS;
		if (open[k] && t[k].closed) {
			tpeer_close(&t[k]);
			open[k] = false;
		}
		switch (rand_r(&seed) % 4) {
		case 0:
			if (open[k])
				break;
			client[k] = 40 + rand_r(&seed) % 2;
			ASSERT_EQ(0, tpeer_connect(&t[k], loop, bankd_port));
			rspro_connect_client_req(&pdu, &id,
						 &(struct rspro_client_slot){ client[k], 0 });
			tpeer_send(&t[k], &pdu);
			open[k] = true;
			break;
		case 1:
			if (open[k]) {
				tpeer_close(&t[k]);
				open[k] = false;
			}
			break;
		default:
			if (!open[k])
				break;
			c = client[k];
			/* one in ten for the other slot: refused, the connection closes */
			rspro_tpdu(&pdu, RSPRO_TPDU_MODEM_TO_CARD, (struct rspro_client_slot){ c, 0 },
				   (struct rspro_bank_slot){ BANK, (c - 40) ^ !(rand_r(&seed) % 10) },
				   status, sizeof(status));
			tpeer_send(&t[k], &pdu);
			break;
		}
		tpeer_run(loop, rand_r(&seed) % 4);
	}
	for (k = 0; k < CHURN_CONNS; k++)
		if (open[k])
			tpeer_close(&t[k]);
	ASSERT_EQ(0, kill(bankd.pid, 0));
	/* it went through the probes and the refusals */
	EXPECT_GE(log_count(bankd.log, "a second connection for this client slot"), 1);
	EXPECT_GE(log_count(bankd.log, "refused: tpduModemToCard for B1:"), 1);
	/* the refusals made 127.0.0.1 a reconnect storm: its window passes first */
	tpeer_run(loop, RSPRO_PEER_LIMIT_WINDOW_MS + 200);
	/* every session of the churn has ended: each slot serves a newcomer at once */
	for (c = 40; c <= 41; c++) {
		ASSERT_TRUE(client_connect(&a, c, NULL));
		EXPECT_EQ(24, transceive(&a, c, c - 40, status, sizeof(status), resp));
		tpeer_close(&a);
	}
	teardown();
}

static void expect_refused(const struct rspro_pdu *bad, const char *needle)
{
	struct rspro_pdu atr, pdu;
	struct tpeer c;

	ASSERT_TRUE(client_connect(&c, 13, &atr));
	tpeer_send(&c, bad);
	ASSERT_TRUE(tpeer_wait(&c, RSPRO_ERROR_IND, &pdu, 5000));
	if (!strstr(pdu.error_ind.text, needle))
		TH_LOG("errorInd \"%s\", want \"%s\"", pdu.error_ind.text, needle);
	EXPECT_TRUE(strstr(pdu.error_ind.text, needle) != NULL);
	EXPECT_TRUE(tpeer_wait_closed(&c, 5000));
	tpeer_close(&c);
}

TEST_TIMEOUT(bad_tpdus_are_refused_with_a_reason, 120)
{
	static uint8_t big[262];
	struct rspro_client_slot me = { 13, 0 };
	struct rspro_bank_slot b0 = { BANK, 0 };
	struct rspro_identity id;
	struct rspro_pdu pdu;
	struct tpeer c;

	setup(2);
	map(0, 13);
	rspro_tpdu(&pdu, RSPRO_TPDU_MODEM_TO_CARD, me, b0, big, 4);
	expect_refused(&pdu, "a TPDU of 4 bytes: it must be 5..261");
	rspro_tpdu(&pdu, RSPRO_TPDU_MODEM_TO_CARD, me, b0, big, 262);
	expect_refused(&pdu, "a TPDU of 262 bytes");
	rspro_tpdu(&pdu, RSPRO_TPDU_MODEM_TO_CARD, me, (struct rspro_bank_slot){ BANK, 1 }, big, 5);
	expect_refused(&pdu, "for B1:1, this client is mapped to B1:0");
	rspro_tpdu(&pdu, RSPRO_TPDU_MODEM_TO_CARD, (struct rspro_client_slot){ 14, 0 }, b0, big, 5);
	expect_refused(&pdu, "from C14:0 on the connection of C13:0");
	rspro_result_res(&pdu, RSPRO_CREATE_MAPPING_RES, RSPRO_OK);
	expect_refused(&pdu, "unexpected createMappingRes");
	/* a client without a map: cardNotPresent */
	ASSERT_EQ(0, tpeer_connect(&c, loop, bankd_port));
	rspro_identity_init(&id, RSPRO_COMP_CLIENT, "test", "remsim-client", "t");
	rspro_connect_client_req(&pdu, &id, &(struct rspro_client_slot){ 99, 0 });
	tpeer_send(&c, &pdu);
	ASSERT_TRUE(tpeer_wait(&c, RSPRO_CONNECT_CLIENT_RES, &pdu, 5000));
	EXPECT_EQ(RSPRO_CARD_NOT_PRESENT, pdu.connect_res.result);
	tpeer_close(&c);
	/* and the slot still works */
	{
		static const uint8_t status[] = { 0xa0, 0xf2, 0x00, 0x00, 0x16 };
		uint8_t resp[300];

		ASSERT_TRUE(client_connect(&c, 13, &pdu));
		ASSERT_EQ(24, transceive(&c, 13, 0, status, sizeof(status), resp));
		tpeer_close(&c);
	}
	teardown();
}

/*
 * Negative INTEGERs and 8-octet lengths made asn1c's decoder shift into
 * undefined behaviour, and this sanitizer build of bankd abort: now each
 * only costs its own connection, and the mapped client keeps its card.
 */
TEST_TIMEOUT(ub_pdus_close_only_their_connection, 120)
{
	static const uint8_t status[] = { 0xa0, 0xf2, 0x00, 0x00, 0x16 };
	struct rspro_pdu pdu;
	uint8_t resp[300];
	struct tpeer c;
	int n = 0;

	setup(1);
	map(0, 13);
	ASSERT_TRUE(client_connect(&c, 13, &pdu));
	while (tpeer_hostile_pdus[n])
		n++;
	EXPECT_EQ(n, tpeer_send_hostile(loop, bankd_port));
	ASSERT_EQ(24, transceive(&c, 13, 0, status, sizeof(status), resp));
	EXPECT_FALSE(c.closed);
	tpeer_close(&c);
	teardown();
}

TEST_TIMEOUT(sixteen_slots_in_parallel, 180)
{
	static const uint8_t status[] = { 0xa0, 0xf2, 0x00, 0x00, 0x16 };
	struct rspro_client_slot cs;
	struct rspro_identity id;
	static struct tpeer c[16];
	struct rspro_pdu pdu;
	int i, round, done = 0;

	setup(16);
	for (i = 0; i < 16; i++)
		map(i, 100 + i);
	rspro_identity_init(&id, RSPRO_COMP_CLIENT, "test", "remsim-client", "t");
	for (i = 0; i < 16; i++) {
		ASSERT_EQ(0, tpeer_connect(&c[i], loop, bankd_port));
		cs = (struct rspro_client_slot){ 100 + i, 0 };
		rspro_connect_client_req(&pdu, &id, &cs);
		tpeer_send(&c[i], &pdu);
	}
	for (i = 0; i < 16; i++)
		ASSERT_TRUE(tpeer_wait(&c[i], RSPRO_SET_ATR_REQ, NULL, 20000));
	/* 20 rounds: every slot has a command in flight at once */
	for (round = 0; round < 20; round++) {
		for (i = 0; i < 16; i++) {
			rspro_tpdu(&pdu, RSPRO_TPDU_MODEM_TO_CARD,
				   (struct rspro_client_slot){ 100 + i, 0 },
				   (struct rspro_bank_slot){ BANK, i }, status, sizeof(status));
			tpeer_send(&c[i], &pdu);
		}
		for (i = 0; i < 16; i++) {
			ASSERT_TRUE(tpeer_wait(&c[i], RSPRO_TPDU_CARD_TO_MODEM, &pdu, 10000));
			done += pdu.tpdu.len == 24;
		}
	}
	EXPECT_EQ(320, done);
	for (i = 0; i < 16; i++) {
		EXPECT_EQ(20, pcsc_env_count_commands(&env, i, "a0f2000016"));
		tpeer_close(&c[i]);
	}
	teardown();
}

/*
 * A TPDU wakes one thread of bankd, its slot's worker: the main loop
 * (bankd's first thread) makes no system call for it and nobody waits on
 * a futex. It used to be three wake-ups (the loop on the socket, a futex
 * to the worker, an eventfd back to the loop), each ~55 us when the woken
 * thread's CPU idles in a VM. strace counts over TPDUS TPDUs; each reaches
 * the card exactly once.
 */
#define TPDUS	200

TEST_TIMEOUT(tpdu_wakes_only_its_slot_thread, 120)
{
	static const uint8_t status[] = { 0xa0, 0xf2, 0x00, 0x00, 0x16 };
	char out[sizeof(logdir) + 16];
	uint8_t resp[300];
	struct tpeer c;
	long main_calls, futex, waits;
	pid_t tracer;
	int i, ok = 0;

	setup(1);
	map(0, 100);
	ASSERT_TRUE(client_connect(&c, 100, NULL));
	/* the first TPDU warms up what is lazily set up (pcsc-lite, ASan) */
	ASSERT_EQ(24, transceive(&c, 100, 0, status, sizeof(status), resp));
	snprintf(out, sizeof(out), "%s/strace", logdir);
	tracer = strace_attach(bankd.pid, out, false);
	ASSERT_TRUE(tracer > 0);
	for (i = 0; i < TPDUS; i++)
		ok += transceive(&c, 100, 0, status, sizeof(status), resp) == 24;
	ASSERT_EQ(0, strace_detach(tracer));
	EXPECT_EQ(TPDUS, ok);
	main_calls = strace_log_calls(out, bankd.pid, "total");
	futex = strace_log_calls(out, 0, "futex");
	waits = strace_log_calls(out, 0, "epoll_wait");
	TH_LOG("per TPDU: %.2f calls of the main loop, %.2f futex, %.2f epoll_wait, %.2f in all",
	       (double)main_calls / TPDUS, (double)futex / TPDUS, (double)waits / TPDUS,
	       (double)strace_log_calls(out, 0, "total") / TPDUS);
	/* spare for an inventory round, a keep-alive, the allocator and the logger */
	EXPECT_TRUE(main_calls >= 0 && main_calls <= TPDUS / 10);
	EXPECT_TRUE(futex >= 0 && futex <= TPDUS / 10);
	EXPECT_TRUE(waits >= TPDUS && waits <= TPDUS * 3 / 2);
	tpeer_close(&c);
	EXPECT_EQ(TPDUS + 1, pcsc_env_count_commands(&env, 0, "a0f2000016"));
	teardown();
}

static void connect_req(struct tpeer *t, int client)
{
	struct rspro_client_slot cs = { client, 0 };
	struct rspro_identity id;
	struct rspro_pdu pdu;

	rspro_identity_init(&id, RSPRO_COMP_CLIENT, "test", "remsim-client", "t");
	rspro_connect_client_req(&pdu, &id, &cs);
	ASSERT_EQ(0, tpeer_send(t, &pdu));
}

/*
 * The attacker's side: A works with its card, B names A's client slot.
 * B is refused with identityInUse and A never notices.
 */
TEST_TIMEOUT(second_connection_of_a_live_client_is_refused, 120)
{
	static const uint8_t status[] = { 0xa0, 0xf2, 0x00, 0x00, 0x16 };
	struct rspro_pdu pdu, atr;
	uint8_t resp[300];
	struct tpeer a, b;
	int i;

	setup(1);
	map(0, 31);
	ASSERT_TRUE(client_connect(&a, 31, &atr));
	ASSERT_EQ(24, transceive(&a, 31, 0, status, sizeof(status), resp));
	ASSERT_EQ(0, tpeer_connect(&b, loop, bankd_port));
	connect_req(&b, 31);
	/* A goes on exchanging APDUs while bankd decides */
	for (i = 0; i < 5; i++)
		ASSERT_EQ(24, transceive(&a, 31, 0, status, sizeof(status), resp));
	ASSERT_TRUE(tpeer_wait(&b, RSPRO_CONNECT_CLIENT_RES, &pdu, 5000));
	EXPECT_EQ(RSPRO_IDENTITY_IN_USE, pdu.connect_res.result);
	EXPECT_TRUE(tpeer_wait_closed(&b, 5000));
	EXPECT_EQ(0, tpeer_settle(&b, RSPRO_SET_ATR_REQ, 0));
	/* a second attempt fares no better */
	tpeer_close(&b);
	ASSERT_EQ(0, tpeer_connect(&b, loop, bankd_port));
	connect_req(&b, 31);
	ASSERT_TRUE(tpeer_wait(&b, RSPRO_CONNECT_CLIENT_RES, &pdu, 5000));
	EXPECT_EQ(RSPRO_IDENTITY_IN_USE, pdu.connect_res.result);
	EXPECT_TRUE(tpeer_wait_closed(&b, 5000));
	/* A kept its card, its connection and heard of nothing */
	EXPECT_FALSE(a.closed);
	for (i = 0; i < 3; i++)
		ASSERT_EQ(24, transceive(&a, 31, 0, status, sizeof(status), resp));
	EXPECT_EQ(0, tpeer_settle(&a, RSPRO_ERROR_IND, 100));
	EXPECT_EQ(9, pcsc_env_count_commands(&env, 0, "a0f2000016"));
	EXPECT_TRUE(log_contains(bankd.log, "identityInUse"));
	tpeer_close(&a);
	tpeer_close(&b);
	teardown();
}

/*
 * A's client restarted: its old connection is half-dead (it neither reads
 * nor answers PINGs: its loop no longer runs). The new connection B of the
 * same client slot gets the card within the probe time, and A's last
 * command, in flight at the takeover, reached the card once.
 */
TEST_TIMEOUT(dead_connection_of_a_restarted_client_is_replaced, 120)
{
	static const uint8_t status[] = { 0xa0, 0xf2, 0x00, 0x00, 0x16 };
	static const uint8_t select_mf[] = { 0xa0, 0xa4, 0x00, 0x00, 0x02, 0x3f, 0x00 };
	struct ev_loop *frozen = ev_loop_new();
	struct rspro_pdu pdu, atr;
	uint64_t start, ms;
	uint8_t resp[300];
	struct tpeer a, b, c;

	ASSERT_TRUE(frozen != NULL);
	setup(1);
	map(0, 33);
	ASSERT_TRUE(client_connect_on(&a, frozen, 33, &atr));
	ASSERT_EQ(24, transceive(&a, 33, 0, status, sizeof(status), resp));
	/* one more command, and A stops: nothing runs its loop from here */
	rspro_tpdu(&pdu, RSPRO_TPDU_MODEM_TO_CARD, (struct rspro_client_slot){ 33, 0 },
		   (struct rspro_bank_slot){ BANK, 0 }, status, sizeof(status));
	ASSERT_EQ(0, tpeer_send(&a, &pdu));
	start = ev_now_ns();
	ASSERT_EQ(0, tpeer_connect(&b, loop, bankd_port));
	connect_req(&b, 33);
	/* while B waits for A's answer, a third one is refused at once */
	ASSERT_EQ(0, tpeer_connect(&c, loop, bankd_port));
	connect_req(&c, 33);
	ASSERT_TRUE(tpeer_wait(&c, RSPRO_CONNECT_CLIENT_RES, &pdu, 1000));
	EXPECT_EQ(RSPRO_IDENTITY_IN_USE, pdu.connect_res.result);
	ASSERT_TRUE(tpeer_wait(&b, RSPRO_CONNECT_CLIENT_RES, &pdu, 10000));
	ASSERT_EQ(RSPRO_OK, pdu.connect_res.result);
	ASSERT_TRUE(tpeer_wait(&b, RSPRO_SET_ATR_REQ, &atr, 5000));
	ms = (ev_now_ns() - start) / 1000000;
	TH_LOG("B had the card after %llu ms", (unsigned long long)ms);
	EXPECT_LT(ms, 5000);
	EXPECT_TRUE(log_contains(bankd.log, "no answer to a PING"));
	/* B's answers are B's own */
	ASSERT_EQ(2, transceive(&b, 33, 0, select_mf, sizeof(select_mf), resp));
	EXPECT_EQ(0x9f, resp[0]);
	ASSERT_EQ(24, transceive(&b, 33, 0, status, sizeof(status), resp));
	EXPECT_EQ(0, tpeer_settle(&b, RSPRO_TPDU_CARD_TO_MODEM, 200));
	/* A's two, B's one: A's command in flight was neither lost nor repeated */
	EXPECT_EQ(3, pcsc_env_count_commands(&env, 0, "a0f2000016"));
	/* A, thawed, finds its connection closed */
	EXPECT_TRUE(tpeer_wait_closed(&a, 5000));
	tpeer_close(&a);
	tpeer_close(&b);
	tpeer_close(&c);
	ev_loop_free(frozen);
	teardown();
}

TEST_TIMEOUT(silent_peer_is_closed_after_the_identify_timeout, 120)
{
	static const uint8_t status[] = { 0xa0, 0xf2, 0x00, 0x00, 0x16 };
	struct rspro_pdu atr;
	uint8_t resp[300];
	struct tpeer silent, c;
	uint64_t start, ms;

	setup_with(1, NULL, "1");
	map(0, 35);
	/* it answers PINGs, but never says who it is */
	ASSERT_EQ(0, tpeer_connect(&silent, loop, bankd_port));
	start = ev_now_ns();
	ASSERT_TRUE(client_connect(&c, 35, &atr));
	ASSERT_TRUE(tpeer_wait_closed(&silent, 5000));
	ms = (ev_now_ns() - start) / 1000000;
	EXPECT_GE(ms, 900);
	EXPECT_LT(ms, 3000);
	EXPECT_TRUE(log_contains(bankd.log, "no connectClientReq within 1000 ms: closing"));
	/* a client that did identify stays */
	tpeer_run(loop, 1500);
	EXPECT_FALSE(c.closed);
	ASSERT_EQ(24, transceive(&c, 35, 0, status, sizeof(status), resp));
	tpeer_close(&silent);
	tpeer_close(&c);
	teardown();
}

/*
 * The server's side played by the test, as osmo-remsim-server plays it: it
 * accepts bankd's connection, answers its connectBankReq and sends the
 * maps itself, so that a test can send one twice.
 */
static int fake_lfd = -1;
static struct tpeer fake;

static void setup_fake_server(unsigned int cards)
{
	struct rspro_identity id;
	struct rspro_pdu pdu;

	loop = ev_loop_new();
	ASSERT_TRUE(loop != NULL);
	make_logdir();
	ASSERT_EQ(0, pcsc_env_start(&env, cards));
	fake_lfd = net_listen("127.0.0.1", 0, 4);
	ASSERT_GE(fake_lfd, 0);
	rspro_port = net_local_port(fake_lfd);
	start_bankd_with(cards, NULL, NULL);
	ASSERT_EQ(0, tpeer_accept(&fake, loop, fake_lfd, 5000));
	ASSERT_TRUE(tpeer_wait(&fake, RSPRO_CONNECT_BANK_REQ, &pdu, 5000));
	EXPECT_EQ(BANK, pdu.connect_bank_req.bank_id);
	rspro_identity_init(&id, RSPRO_COMP_SERVER, "srv", "remsim-server", "1.1.3");
	rspro_connect_bank_res(&pdu, &id, RSPRO_OK);
	ASSERT_EQ(0, tpeer_send(&fake, &pdu));
}

static void teardown_fake_server(void)
{
	int status = daemon_stop(&bankd, SIGTERM, 10000);

	if (status)
		TH_LOG("bankd exit status %d, see %s/bankd.log", status, logdir);
	EXPECT_EQ(0, status);
	tpeer_close(&fake);
	close(fake_lfd);
	pcsc_env_stop(&env);
}

/* createMappingReq or removeMappingReq for B1:@slot, C@client:0: the result. */
static int fake_map(enum rspro_msg msg, int slot, int client)
{
	struct rspro_client_slot cs = { client, 0 };
	struct rspro_bank_slot bs = { BANK, slot };
	struct rspro_pdu pdu;

	if (msg == RSPRO_CREATE_MAPPING_REQ)
		rspro_create_mapping_req(&pdu, cs, bs);
	else
		rspro_remove_mapping_req(&pdu, cs, bs);
	if (tpeer_send(&fake, &pdu))
		return -1;
	if (!tpeer_wait(&fake, msg == RSPRO_CREATE_MAPPING_REQ ? RSPRO_CREATE_MAPPING_RES :
			RSPRO_REMOVE_MAPPING_RES, &pdu, 5000))
		return -1;
	return pdu.result;
}

/*
 * A client of bankd as osmo-remsim-client connects: keep-alive PING at
 * once, its identity (host name, "remsim-client", its version), client slot
 * @client:0. The result of connectClientRes, or -1 if none came.
 */
static int osmo_client(struct tpeer *t, int client)
{
	struct rspro_client_slot cs = { client, 0 };
	struct rspro_identity id;
	struct rspro_pdu pdu;

	if (tpeer_connect_osmo(t, loop, bankd_port))
		return -1;
	rspro_identity_init(&id, RSPRO_COMP_CLIENT, "modemhost", "remsim-client", "1.1.3");
	rspro_connect_client_req(&pdu, &id, &cs);
	if (tpeer_send(t, &pdu))
		return -1;
	if (!tpeer_wait(t, RSPRO_CONNECT_CLIENT_RES, &pdu, 5000))
		return -1;
	if (pdu.connect_res.identity.type != RSPRO_COMP_BANKD)
		return -1;
	return pdu.connect_res.result;
}

/* Takes card @n out and waits until pcscd saw it go (pcsc_env.h). */

/*
 * osmo-remsim-server sends createMappingReq again for a map bankd has
 * (after its own restart, a bankd reconnect, a REST client posting it
 * twice): the client keeps its connection and its card session, with the
 * card present and with a client still waiting for its card. Only another
 * client for the bank slot, or a removal, ends the session.
 */
TEST_TIMEOUT(identical_mapping_leaves_the_session_alone, 120)
{
	struct rspro_pdu atr;
	uint8_t resp[300];
	struct tpeer a, b;

	setup_fake_server(1);
	ASSERT_EQ(RSPRO_OK, fake_map(RSPRO_CREATE_MAPPING_REQ, 0, 41));
	ASSERT_EQ(RSPRO_OK, osmo_client(&a, 41));
	ASSERT_TRUE(tpeer_wait(&a, RSPRO_SET_ATR_REQ, &atr, 5000));
	EXPECT_GE(a.pongs, 1);
	ASSERT_EQ(2, transceive(&a, 41, 0, select_iccid, sizeof(select_iccid), resp));
	ASSERT_EQ(RSPRO_OK, fake_map(RSPRO_CREATE_MAPPING_REQ, 0, 41));
	ASSERT_EQ(RSPRO_OK, fake_map(RSPRO_CREATE_MAPPING_REQ, 0, 41));
	/* the same card session: EF.ICCID is still selected */
	ASSERT_EQ(12, transceive(&a, 41, 0, read_iccid, sizeof(read_iccid), resp));
	EXPECT_EQ(0, tpeer_settle(&a, RSPRO_SET_ATR_REQ, 300));
	EXPECT_EQ(0, tpeer_settle(&a, RSPRO_ERROR_IND, 0));
	EXPECT_FALSE(a.closed);
	/* another client for this bank slot ends the session */
	ASSERT_EQ(RSPRO_OK, fake_map(RSPRO_CREATE_MAPPING_REQ, 0, 42));
	EXPECT_TRUE(tpeer_wait_closed(&a, 5000));
	tpeer_close(&a);

	/* the card out: C42 waits for it on its connection, the same map again */
	pull_card(0);
	ASSERT_EQ(RSPRO_CARD_NOT_PRESENT, osmo_client(&b, 42));
	ASSERT_EQ(RSPRO_OK, fake_map(RSPRO_CREATE_MAPPING_REQ, 0, 42));
	EXPECT_EQ(0, tpeer_settle(&b, RSPRO_SET_ATR_REQ, 1500));
	ASSERT_FALSE(b.closed);
	insert_card(0);
	ASSERT_TRUE(tpeer_wait(&b, RSPRO_SET_ATR_REQ, &atr, 10000));
	ASSERT_EQ(24, transceive(&b, 42, 0, status_cmd, sizeof(status_cmd), resp));
	ASSERT_EQ(RSPRO_OK, fake_map(RSPRO_CREATE_MAPPING_REQ, 0, 42));
	ASSERT_EQ(24, transceive(&b, 42, 0, status_cmd, sizeof(status_cmd), resp));
	EXPECT_FALSE(b.closed);
	/* a removal ends it */
	ASSERT_EQ(RSPRO_OK, fake_map(RSPRO_REMOVE_MAPPING_REQ, 0, 42));
	EXPECT_TRUE(tpeer_wait_closed(&b, 5000));
	tpeer_close(&b);
	teardown_fake_server();
}

/* A connection that sends a TPDU first: errorInd and closed (1), closed bare (0). */
static int refused_attempt(void)
{
	struct rspro_pdu pdu;
	struct tpeer t;
	int ret = 0;

	if (tpeer_connect(&t, loop, bankd_port))
		return -1;
	rspro_tpdu(&pdu, RSPRO_TPDU_MODEM_TO_CARD, (struct rspro_client_slot){ 60, 0 },
		   (struct rspro_bank_slot){ BANK, 0 }, status_cmd, sizeof(status_cmd));
	tpeer_send(&t, &pdu);
	/* the errorInd, or the close without one: not a whole time-out */
	for (int i = 0; i < 300 && !t.closed && !ret; i++)
		ret = tpeer_wait(&t, RSPRO_ERROR_IND, &pdu, 10);
	if (!ret)
		ret = tpeer_wait(&t, RSPRO_ERROR_IND, &pdu, 0);
	tpeer_close(&t);
	return ret;
}

/*
 * A peer refused again and again (here for a TPDU before connectClientReq)
 * is cut off at its address after RSPRO_PEER_LIMIT_MAX refusals within a
 * second: its connections are closed at once, before any PDU is read, for
 * a second; one line says so. Then the address is served again.
 */
TEST_TIMEOUT(reconnect_storm_is_cut_at_its_address, 60)
{
	struct rspro_pdu atr;
	uint8_t resp[300];
	struct tpeer c;
	int i;

	setup(1);
	map(0, 61);
	for (i = 0; i < RSPRO_PEER_LIMIT_MAX; i++)
		ASSERT_EQ(1, refused_attempt());
	for (i = 0; i < 5; i++)
		EXPECT_EQ(0, refused_attempt());
	EXPECT_EQ(1, log_count(bankd.log, "connections refused within 1000 ms"));
	tpeer_run(loop, RSPRO_PEER_LIMIT_WINDOW_MS + 200);
	EXPECT_EQ(1, refused_attempt());
	ASSERT_TRUE(client_connect(&c, 61, &atr));
	ASSERT_EQ(24, transceive(&c, 61, 0, status_cmd, sizeof(status_cmd), resp));
	tpeer_close(&c);
	teardown();
}

/*
 * The server restarts: its port is closed for 3.3 s. bankd's link, live for
 * over a second, retries every 100-250 ms and registers again within a
 * quarter second of the port listening, not at the next 1 s step of
 * osmo-remsim's table (0.7 s later there); the map the server sends again
 * is taken.
 */
TEST_TIMEOUT(server_restart_is_seen_at_once_and_bankd_registers_again, 60)
{
	struct rspro_identity id;
	struct rspro_pdu pdu;
	uint64_t t0;

	setup_fake_server(1);
	ASSERT_EQ(RSPRO_OK, fake_map(RSPRO_CREATE_MAPPING_REQ, 0, 23));
	tpeer_run(loop, 1200);
	close(fake_lfd);
	tpeer_close(&fake);
	tpeer_run(loop, 3300);
	fake_lfd = net_listen("127.0.0.1", rspro_port, 4);
	ASSERT_GE(fake_lfd, 0);
	t0 = ev_now_ns();
	ASSERT_EQ(0, tpeer_accept(&fake, loop, fake_lfd, 5000));
	ASSERT_TRUE(tpeer_wait(&fake, RSPRO_CONNECT_BANK_REQ, &pdu, 5000));
	ksft_print_msg("bankd registered again %llu ms after the server listened\n",
		       (unsigned long long)((ev_now_ns() - t0) / 1000000));
	EXPECT_LE(ev_now_ns() - t0, 300 * 1000000ull);
	EXPECT_EQ(BANK, pdu.connect_bank_req.bank_id);
	rspro_identity_init(&id, RSPRO_COMP_SERVER, "srv", "remsim-server", "1.1.3");
	rspro_connect_bank_res(&pdu, &id, RSPRO_OK);
	ASSERT_EQ(0, tpeer_send(&fake, &pdu));
	EXPECT_EQ(RSPRO_OK, fake_map(RSPRO_CREATE_MAPPING_REQ, 0, 23));
	teardown_fake_server();
}

/*
 * osmo-remsim-server ignores the bankd's address and tells clients 9999:
 * a bankd on another port (as every test's) says once that its clients
 * cannot reach it, however often it registers.
 */
TEST_TIMEOUT(bankd_off_9999_behind_an_osmo_server_says_so, 60)
{
	struct rspro_identity id;
	struct rspro_pdu pdu;
	int i;

	setup_fake_server(1);
	for (i = 0; i < 50 && !log_count(bankd.log, "clients cannot reach us"); i++)
		tpeer_run(loop, 50);
	/* registered again on a new connection: no second line */
	tpeer_close(&fake);
	ASSERT_EQ(0, tpeer_accept(&fake, loop, fake_lfd, 10000));
	ASSERT_TRUE(tpeer_wait(&fake, RSPRO_CONNECT_BANK_REQ, &pdu, 5000));
	rspro_identity_init(&id, RSPRO_COMP_SERVER, "srv", "remsim-server", "1.1.3");
	rspro_connect_bank_res(&pdu, &id, RSPRO_OK);
	ASSERT_EQ(0, tpeer_send(&fake, &pdu));
	tpeer_run(loop, 300);
	EXPECT_EQ(1, log_count(bankd.log, "clients cannot reach us"));
	EXPECT_TRUE(log_contains(bankd.log, "use -P 9999 behind it"));
	teardown_fake_server();
}

/*
 * osmo-remsim-bankd answers a client with no map, or whose card it cannot
 * open, cardNotPresent and keeps the connection: the client leaves when it
 * likes, and a map or a card that comes later reaches it on the same
 * connection as setAtrReq. The failure is logged once, not per attempt.
 */
TEST_TIMEOUT(client_without_a_card_waits_on_its_connection, 120)
{
	struct rspro_pdu atr;
	uint8_t resp[300];
	struct tpeer a, b, c;

	setup_fake_server(2);
	/* no map yet */
	ASSERT_EQ(RSPRO_CARD_NOT_PRESENT, osmo_client(&a, 51));
	EXPECT_EQ(0, tpeer_settle(&a, RSPRO_ERROR_IND, 1500));
	ASSERT_FALSE(a.closed);
	EXPECT_GE(a.pongs, 1);
	ASSERT_EQ(RSPRO_OK, fake_map(RSPRO_CREATE_MAPPING_REQ, 0, 51));
	ASSERT_TRUE(tpeer_wait(&a, RSPRO_SET_ATR_REQ, &atr, 5000));
	EXPECT_EQ(51, atr.set_atr.slot.client_id);
	ASSERT_EQ(24, transceive(&a, 51, 0, status_cmd, sizeof(status_cmd), resp));
	/* a map, no card */
	pull_card(1);
	ASSERT_EQ(RSPRO_OK, fake_map(RSPRO_CREATE_MAPPING_REQ, 1, 52));
	ASSERT_EQ(RSPRO_CARD_NOT_PRESENT, osmo_client(&b, 52));
	EXPECT_EQ(0, tpeer_settle(&b, RSPRO_SET_ATR_REQ, 3000));
	ASSERT_FALSE(b.closed);
	/* a waiting client is its slot's connection as much as a served one */
	ASSERT_EQ(RSPRO_IDENTITY_IN_USE, osmo_client(&c, 52));
	EXPECT_TRUE(tpeer_wait_closed(&c, 5000));
	tpeer_close(&c);
	insert_card(1);
	ASSERT_TRUE(tpeer_wait(&b, RSPRO_SET_ATR_REQ, &atr, 10000));
	EXPECT_EQ(52, atr.set_atr.slot.client_id);
	ASSERT_EQ(24, transceive(&b, 52, 1, status_cmd, sizeof(status_cmd), resp));
	EXPECT_EQ(0, tpeer_settle(&b, RSPRO_CONNECT_CLIENT_RES, 0));
	/* three seconds of attempts, one line saying so */
	EXPECT_EQ(1, log_count(bankd.log, "C52:0: card not opened"));
	/* A worked all along */
	ASSERT_EQ(24, transceive(&a, 51, 0, status_cmd, sizeof(status_cmd), resp));
	tpeer_close(&a);
	tpeer_close(&b);
	teardown_fake_server();
}

/* Closes @t and connects it again as C@client:0: ms until connectClientRes. */
static long reconnect(struct tpeer *t, int client, int want)
{
	uint64_t start;

	tpeer_close(t);
	start = ev_now_ns();
	if (osmo_client(t, client) != want)
		return -1;
	return (ev_now_ns() - start) / 1000000;
}

/*
 * A client that disconnected and connects again with the same identity,
 * its map in place, is served at once like the first time: connectClientRes
 * and, with the card there, setAtrReq, within a second, every time.
 * Without the card, it waits on the new connection as on the first.
 */
TEST_TIMEOUT(reconnect_with_the_same_identity_is_served_at_once, 120)
{
	struct rspro_pdu atr;
	uint8_t resp[300];
	struct tpeer a, b;
	uint64_t start;
	long ms;
	int i;

	setup_fake_server(2);
	ASSERT_EQ(RSPRO_OK, fake_map(RSPRO_CREATE_MAPPING_REQ, 0, 61));
	ASSERT_EQ(RSPRO_OK, osmo_client(&a, 61));
	ASSERT_TRUE(tpeer_wait(&a, RSPRO_SET_ATR_REQ, &atr, 5000));
	for (i = 0; i < 5; i++) {
		ASSERT_EQ(24, transceive(&a, 61, 0, status_cmd, sizeof(status_cmd), resp));
		start = ev_now_ns();
		ms = reconnect(&a, 61, RSPRO_OK);
		ASSERT_GE(ms, 0);
		ASSERT_TRUE(tpeer_wait(&a, RSPRO_SET_ATR_REQ, &atr, 1000));
		ms = (ev_now_ns() - start) / 1000000;
		TH_LOG("round %d: the card back after %ld ms", i, ms);
		EXPECT_LT(ms, 1000);
		EXPECT_GE(a.pongs, 1);
	}
	ASSERT_EQ(24, transceive(&a, 61, 0, status_cmd, sizeof(status_cmd), resp));
	EXPECT_EQ(6, pcsc_env_count_commands(&env, 0, "a0f2000016"));
	tpeer_close(&a);

	/* no card: cardNotPresent on every connection, at once, and it waits */
	pull_card(1);
	ASSERT_EQ(RSPRO_OK, fake_map(RSPRO_CREATE_MAPPING_REQ, 1, 62));
	ASSERT_EQ(RSPRO_CARD_NOT_PRESENT, osmo_client(&b, 62));
	for (i = 0; i < 3; i++) {
		ms = reconnect(&b, 62, RSPRO_CARD_NOT_PRESENT);
		ASSERT_GE(ms, 0);
		EXPECT_LT(ms, 1000);
	}
	EXPECT_EQ(0, tpeer_settle(&b, RSPRO_SET_ATR_REQ, 1000));
	ASSERT_FALSE(b.closed);
	insert_card(1);
	ASSERT_TRUE(tpeer_wait(&b, RSPRO_SET_ATR_REQ, &atr, 10000));
	ASSERT_EQ(24, transceive(&b, 62, 1, status_cmd, sizeof(status_cmd), resp));
	tpeer_close(&b);
	teardown_fake_server();
}

/* "Max open files  SOFT  HARD  files" of @pid: the soft limit, or -1. */
static long nofile_soft(pid_t pid)
{
	char path[64], line[256];
	long soft = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/limits", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Max open files %ld", &soft) == 1)
			break;
	fclose(f);
	return soft;
}

/*
 * More connections than bankd has descriptors: it pauses accepting instead
 * of spinning on EMFILE, logs the limit once a second at most, keeps
 * serving its client, and accepts again once the flood is gone.
 */
TEST_TIMEOUT(connection_flood_at_the_descriptor_limit_does_not_spin, 120)
{
	static const uint8_t status[] = { 0xa0, 0xf2, 0x00, 0x00, 0x16 };
	static int fds[200];
	struct rspro_pdu atr;
	uint8_t resp[300];
	long cpu0, cpu1, lines;
	struct tpeer a, b;
	uint64_t end;
	int i, n;

	if (access("/usr/bin/prlimit", X_OK))
		SKIP("no /usr/bin/prlimit");
	/* bankd raises its soft limit to the hard one itself */
	setup_with(1, "32:64", NULL);
	EXPECT_EQ(64, nofile_soft(bankd.pid));
	map(0, 37);
	ASSERT_TRUE(client_connect(&a, 37, &atr));
	n = tcp_flood(bankd_port, fds, 200);
	ASSERT_GT(n, 100);
	for (end = ev_now_ns() + 3000000000ull; ev_now_ns() < end;) {
		if (log_contains(bankd.log, "connection limit reached"))
			break;
		tpeer_run(loop, 50);
	}
	EXPECT_TRUE(log_contains(bankd.log, "connection limit reached"));
	cpu0 = pid_cpu_ms(bankd.pid);
	/* two seconds at the limit: the client is served all along */
	for (i = 0; i < 20; i++) {
		ASSERT_EQ(24, transceive(&a, 37, 0, status, sizeof(status), resp));
		tpeer_run(loop, 100);
	}
	cpu1 = pid_cpu_ms(bankd.pid);
	TH_LOG("bankd used %ld ms of CPU in 2 s at the descriptor limit", cpu1 - cpu0);
	EXPECT_LT(cpu1 - cpu0, 400);
	lines = log_count(bankd.log, "connection limit reached");
	TH_LOG("%ld limit lines", lines);
	EXPECT_GE(lines, 1);
	EXPECT_LE(lines, 5);
	/* the flood ends: a new client is served */
	for (i = 0; i < n; i++)
		close(fds[i]);
	tpeer_close(&a);
	ASSERT_TRUE(client_connect(&b, 37, &atr));
	ASSERT_EQ(24, transceive(&b, 37, 0, status, sizeof(status), resp));
	tpeer_close(&b);
	teardown();
}


/*
 * GSMTAP copies with nobody listening on udp/4729 (the usual case: a
 * capture on the wire, no receiver): every packet must go out. Packets are
 * counted on the loopback interface by a packet socket, never by binding
 * 4729; this test's commands carry an offset no other test uses.
 */
static int count_gsmtap(int ps, const uint8_t *cmd, size_t len)
{
	uint8_t pkt[2048];
	int n = 0;

	for (;;) {
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		ssize_t got = recvfrom(ps, pkt, sizeof(pkt), MSG_DONTWAIT,
				       (struct sockaddr *)&from, &fl);
		size_t ihl;

		if (got < 0)
			return n;
		if (from.sll_pkttype == PACKET_OUTGOING || got < 20 || pkt[9] != IPPROTO_UDP)
			continue;
		ihl = (pkt[0] & 0xf) * 4;
		if ((size_t)got < ihl + 8 + 16 + len ||
		    ((pkt[ihl + 2] << 8) | pkt[ihl + 3]) != 4729)
			continue;
		n += !memcmp(pkt + ihl + 8 + 16, cmd, len);
	}
}

TEST_TIMEOUT(gsmtap_every_packet_with_nobody_listening, 120)
{
	static const uint8_t cmd[] = { 0xa0, 0xb0, 0x5a, 0xa5, 0x07 };
	struct sockaddr_ll lo = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP) };
	struct rspro_pdu atr;
	uint8_t resp[300];
	struct tpeer c;
	int ps, i, got;

	lo.sll_ifindex = if_nametoindex("lo");
	ps = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_IP));
	if (ps < 0)
		SKIP("no packet socket (%s): not root?", strerror(errno));
	ASSERT_EQ(0, bind(ps, (struct sockaddr *)&lo, sizeof(lo)));
	setup(1);
	map(0, 27);
	ASSERT_TRUE(client_connect(&c, 27, &atr));
	for (i = 0; i < 7; i++) {
		ASSERT_GE(transceive(&c, 27, 0, cmd, sizeof(cmd), resp), 2);
		/* let the ICMP answer of the last one arrive first */
		tpeer_run(loop, 20);
	}
	tpeer_run(loop, 100);
	got = count_gsmtap(ps, cmd, sizeof(cmd));
	if (got != 7)
		TH_LOG("%d of 7 GSMTAP packets on the wire", got);
	EXPECT_EQ(7, got);
	close(ps);
	tpeer_close(&c);
	teardown();
}

/* bankd on reader map @csv stops at once with status 2 and @want. */
static void expect_refused_csv(const char *csv, const char *want)
{
	char log[128];
	char *argv[] = { (char *)daemon_bin("remsim-bankd"), "-i", "127.0.0.1", "-b", "1",
			 "-S", (char *)csv, NULL };

	snprintf(log, sizeof(log), "%s/refused.log", logdir);
	unlink(log);
	ASSERT_EQ(0, daemon_start(&bankd, argv, log));
	EXPECT_EQ(2, daemon_wait(&bankd, 5000));
	if (bankd.pid)
		daemon_stop(&bankd, SIGKILL, 1000);
	if (!log_contains(log, want))
		TH_LOG("%s: want \"%s\"", log, want);
	EXPECT_TRUE(log_contains(log, want));
}

TEST_TIMEOUT(a_reader_map_serving_nothing_stops_it_at_start_up, 60)
{
	char csv[128], want[200];

	make_logdir();
	snprintf(csv, sizeof(csv), "%s/empty.csv", logdir);
	ASSERT_EQ(0, shell("echo '# no rows' >%s", csv));
	snprintf(want, sizeof(want), "%s: no reader for bank 1", csv);
	expect_refused_csv(csv, want);
	/* rows, but for another bank than ours */
	ASSERT_EQ(0, shell("echo '\"2\",\"0\",\"remsim softsim 0 00 00\"' >%s", csv));
	expect_refused_csv(csv, want);
	/* a bad file is a start-up error like a bad option */
	expect_refused_csv("/dev/zero", "/dev/zero:1: line longer than 4096 bytes");
	snprintf(want, sizeof(want), "%s: is a directory", logdir);
	expect_refused_csv(logdir, want);
}

/* Waits up to @ms for @text in @log. */
static bool wait_log(const char *log, const char *text, int ms)
{
	int t;

	for (t = 0; t < ms / 50; t++) {
		if (log_contains(log, text))
			return true;
		tpeer_run(loop, 50);
	}
	return log_contains(log, text);
}

/* Starts bankd for bank 1 with 4 slots on reader map @csv, no server needed. */
static void start_bankd_csv(const char *csv, bool strict, const char *log)
{
	char bp[8];
	char *argv[] = { (char *)daemon_bin("remsim-bankd"), "-i", "127.0.0.1", "-p", "1",
			 "-b", "1", "-n", "4", "-I", "127.0.0.1", "-P", bp, "-S", (char *)csv,
			 strict ? "--strict" : NULL, NULL };

	bankd_port = free_port();
	snprintf(bp, sizeof(bp), "%d", bankd_port);
	unlink(log);
	ASSERT_EQ(0, daemon_start(&bankd, argv, log));
}

static void expect_log(const char *log, const char *want)
{
	if (!log_contains(log, want))
		TH_LOG("%s: want \"%s\"", log, want);
	EXPECT_TRUE(log_contains(log, want));
}

/*
 * Rows for another bank or beyond -n, and slots without a row: a warning
 * each at start (FILE:LINE), bankd runs; with --strict each is listed and
 * bankd exits 2. SIGHUP checks a new file the same way: with --strict such
 * a file is refused and the map in use kept.
 */
TEST_TIMEOUT(reader_map_rows_bankd_ignores_are_warned_or_refused, 60)
{
	char csv[128], log[128], want[300];

	if (!loop)
		loop = ev_loop_new();
	make_logdir();
	snprintf(csv, sizeof(csv), "%s/slots.csv", logdir);
	snprintf(log, sizeof(log), "%s/bankd.log", logdir);
	ASSERT_EQ(0, shell("printf '1,0,a\\n2,0,b\\n1,1,c\\n1,7,d\\n' >%s", csv));
	start_bankd_csv(csv, true, log);
	EXPECT_EQ(2, daemon_wait(&bankd, 5000));
	snprintf(want, sizeof(want), "%s:2: bank 2 is not this bank (-b 1): row ignored", csv);
	expect_log(log, want);
	snprintf(want, sizeof(want), "%s:4: bank 1 slot 7 is beyond -n 4 (slots 0..3): row ignored",
		 csv);
	expect_log(log, want);
	snprintf(want, sizeof(want), "%s: bank 1 slots 2..3 have no reader row", csv);
	expect_log(log, want);
	snprintf(want, sizeof(want), "%s: 3 problems with bank 1 and 4 slots (-b, -n): refused (--strict)",
		 csv);
	expect_log(log, want);

	/* without --strict: the same lines as warnings, and bankd serves */
	start_bankd_csv(csv, false, log);
	ASSERT_TRUE(wait_port(bankd_port, 5000));
	snprintf(want, sizeof(want), "NOTICE -: %s:2: bank 2 is not this bank", csv);
	expect_log(log, want);
	EXPECT_EQ(1, log_count(log, "no reader row"));
	EXPECT_EQ(0, daemon_stop(&bankd, SIGTERM, 10000));

	/* --strict, a good file at start, a bad one on SIGHUP: kept */
	ASSERT_EQ(0, shell("printf '1,0,a\\n1,1,b\\n1,2,c\\n1,3,d\\n' >%s", csv));
	start_bankd_csv(csv, true, log);
	ASSERT_TRUE(wait_port(bankd_port, 5000));
	EXPECT_FALSE(log_contains(log, "no reader row"));
	ASSERT_EQ(0, shell("printf '1,0,a\\n1,1,b\\n1,2,c\\n' >%s", csv));
	kill(bankd.pid, SIGHUP);
	snprintf(want, sizeof(want), "SIGHUP: %s: bank 1 slot 3 has no reader row", csv);
	ASSERT_TRUE(wait_log(log, "the reader map in use is kept", 5000));
	expect_log(log, want);
	EXPECT_FALSE(log_contains(log, "taken:"));
	EXPECT_EQ(0, daemon_stop(&bankd, SIGTERM, 10000));
}

/*
 * SIGHUP and SIGUSR1 once killed bankd. Now SIGUSR1 logs per-slot
 * statistics; SIGHUP reads the reader map again: a broken one is refused
 * with FILE:LINE while the mapped client keeps being served, a good one
 * with a row for a new slot serves that slot.
 */
TEST_TIMEOUT(sighup_reloads_the_reader_map_and_keeps_serving, 120)
{
	static const uint8_t status[] = { 0x80, 0xf2, 0x00, 0x00, 0x00 };
	char full[200], want[300];
	struct rspro_pdu atr;
	struct tpeer a, b;
	uint8_t resp[300];

	if (!loop) {
		loop = ev_loop_new();
		make_logdir();
	}
	ASSERT_EQ(0, pcsc_env_start(&env, 2));
	/* bankd starts with the row of slot 0 only */
	snprintf(full, sizeof(full), "%s.full", env.csv);
	ASSERT_EQ(0, shell("cp %s %s && grep -v '^#' %s | head -n 1 >%s.one && cp %s.one %s",
			   env.csv, full, full, env.csv, env.csv, env.csv));
	start_server();
	start_bankd_with(2, NULL, NULL);
	map(0, 30);
	ASSERT_TRUE(client_connect(&a, 30, &atr));
	ASSERT_LT(0, transceive(&a, 30, 0, status, sizeof(status), resp));

	kill(bankd.pid, SIGUSR1);
	ASSERT_TRUE(wait_log(bankd.log, "statistics: 1 client connections, 1 of 2 slots mapped",
			     5000));
	EXPECT_TRUE(wait_log(bankd.log, "connected, card open, 1 APDUs", 2000));

	/* a broken map: refused where it breaks, the old one kept */
	ASSERT_EQ(0, shell("printf '\"1\",\"0\",\"(\"\\n' >%s", env.csv));
	kill(bankd.pid, SIGHUP);
	snprintf(want, sizeof(want), "SIGHUP: %s:1:", env.csv);
	ASSERT_TRUE(wait_log(bankd.log, want, 5000));
	EXPECT_TRUE(log_contains(bankd.log, "the reader map in use is kept"));
	EXPECT_LT(0, transceive(&a, 30, 0, status, sizeof(status), resp));

	/* every row: slot 1 gets its reader */
	ASSERT_EQ(0, shell("cp %s %s", full, env.csv));
	kill(bankd.pid, SIGHUP);
	ASSERT_TRUE(wait_log(bankd.log, "taken: 2 rows", 5000));
	EXPECT_LT(0, transceive(&a, 30, 0, status, sizeof(status), resp));
	map(1, 31);
	ASSERT_TRUE(client_connect(&b, 31, &atr));
	EXPECT_LT(0, transceive(&b, 31, 1, status, sizeof(status), resp));
	tpeer_close(&b);
	tpeer_close(&a);
	teardown();
}

/*
 * Bank slot @slot's object in GET /cards into @out ("" if it is not
 * listed); the answer is compact JSON in bank and slot order.
 */
static void get_card(int slot, char *out, size_t size)
{
	char key[64], *p, *end;

	out[0] = 0;
	ASSERT_EQ(200, http_json(rest_port, "GET", "/api/backend/v1/cards", NULL, body,
				 sizeof(body)));
	snprintf(key, sizeof(key), "{\"bank\":{\"bankId\":%d,\"slotNr\":%d}", BANK, slot);
	p = strstr(body, key);
	if (!p)
		return;
	end = strstr(p + 1, "{\"bank\":");
	snprintf(out, size, "%.*s", (int)(end ? end - p : (long)strlen(p)), p);
}

/* Waits up to @ms until slot @slot's object in GET /cards contains @want. */
static bool wait_card(int slot, const char *want, char *out, size_t size, int ms)
{
	int t;

	for (t = 0; t < ms / 100; t++) {
		get_card(slot, out, size);
		if (strstr(out, want))
			return true;
		tpeer_run(loop, 100);
	}
	TH_LOG("slot %d: want %s in %s", slot, want, out);
	return false;
}

/* What softsim card @n holds, as GET /cards has it (userspace/softsim/card.c). */
static void card_ids(int n, char *iccid, char *imsi)
{
	sprintf(iccid, "\"iccid\":\"89882%014d\"", n);
	sprintf(imsi, "\"imsi\":\"00101%010d\"", n);
}

/*
 * Runs `remsim-server cards` with the argument @fmt into file @out (a
 * table with single spaces between columns), and checks its exit status.
 */
static void cards_table(char *out, size_t size, const char *fmt, ...)
{
	char arg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(arg, sizeof(arg), fmt, ap);
	va_end(ap);
	snprintf(out, size, "%s/cards.txt", logdir);
	ASSERT_EQ(0, shell("%s cards %s | tr -s ' ' >%s", daemon_bin("remsim-server"), arg, out));
	EXPECT_TRUE(log_contains(out, "MODEM CLIENT BANK READER ICCID IMSI STATE SINCE APDUS"));
}

/* The last GET /cards answer, in a file of its own; returns its path. */
static const char *body_file(char *path, size_t size)
{
	FILE *f;

	snprintf(path, size, "%s/cards.json", logdir);
	f = fopen(path, "w");
	if (f) {
		fputs(body, f);
		fclose(f);
	}
	return path;
}

/* A line of table @out has @a and then @b. */
static void expect_row(const char *out, const char *a, const char *b)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "grep -q -- '%s.*%s' %s", a, b, out);
	if (shell("%s", cmd))
		TH_LOG("no row with \"%s\" and \"%s\" in %s", a, b, out);
	EXPECT_EQ(0, shell("%s", cmd));
}

/*
 * The inventory: each card's reader, ICCID and IMSI (PIN1 is off on the
 * softsim) reach GET /cards from bankd on its own, with no client; a card
 * taken out shows "absent" with a new "since", and its return "present";
 * a bankd gone leaves its cards "offline".
 */
TEST_TIMEOUT(inventory_lists_every_card_and_its_removal, 120)
{
	char card[1024], iccid[64], imsi[64], reader[300], want[320], since[64];
	char out[128], body_copy[128];
	char *s;
	int n;

	bankd_extra[0] = "--inventory-interval";
	bankd_extra[1] = "200";
	setup(2);
	for (n = 0; n < 2; n++) {
		card_ids(n, iccid, imsi);
		ASSERT_TRUE(wait_card(n, iccid, card, sizeof(card), 10000));
		EXPECT_TRUE(strstr(card, imsi) != NULL);
		EXPECT_TRUE(strstr(card, "\"state\":\"present\"") != NULL);
		EXPECT_TRUE(strstr(card, "\"map\":null") != NULL);
		EXPECT_TRUE(strstr(card, "+00:00\"") != NULL);
		pcsc_env_reader(&env, n, reader, sizeof(reader));
		snprintf(want, sizeof(want), "\"reader\":\"%s\"", reader);
		EXPECT_TRUE(strstr(card, want) != NULL);
	}
	s = strstr(card, "\"since\":");
	ASSERT_TRUE(s != NULL);
	snprintf(since, sizeof(since), "%.35s", s);
	sleep(1);	/* a second later: "since" must move */
	pull_card(1);
	ASSERT_TRUE(wait_card(1, "\"state\":\"absent\"", card, sizeof(card), 10000));
	EXPECT_TRUE(strstr(card, "\"iccid\":null") != NULL);
	EXPECT_TRUE(strstr(card, since) == NULL);
	insert_card(1);
	card_ids(1, iccid, imsi);
	ASSERT_TRUE(wait_card(1, iccid, card, sizeof(card), 10000));
	EXPECT_TRUE(strstr(card, "\"state\":\"present\"") != NULL);
	/* slot 0 kept its card throughout */
	card_ids(0, iccid, imsi);
	get_card(0, card, sizeof(card));
	EXPECT_TRUE(strstr(card, iccid) != NULL);
	/* the table of remsim-server cards, over HTTP and from standard input */
	cards_table(out, sizeof(out), "http://127.0.0.1:%d", rest_port);
	expect_row(out, "1:0", "8988200000000000000 001010000000000 present");
	expect_row(out, "1:1", "8988200000000000001 001010000000001 present");
	cards_table(out, sizeof(out), "- <%s", body_file(body_copy, sizeof(body_copy)));
	expect_row(out, "1:1", "8988200000000000001 001010000000001 present");
	EXPECT_NE(0, shell("%s cards http://127.0.0.1:1 2>%s/err", daemon_bin("remsim-server"),
			   logdir));
	snprintf(want, sizeof(want), "%s/err", logdir);
	EXPECT_TRUE(log_contains(want, "127.0.0.1 port 1: Connection refused"));
	/* the bankd gone: nobody knows what its readers hold */
	ASSERT_EQ(0, daemon_stop(&bankd, SIGTERM, 10000));
	ASSERT_TRUE(wait_card(0, "\"state\":\"offline\"", card, sizeof(card), 5000));
	daemon_stop(&server, SIGTERM, 10000);
	pcsc_env_stop(&env);
}

/*
 * The inventory reads a card only when no client session has it: its
 * SELECTs would move the session's current file. bankd shares the card
 * here (-s), so nothing but bankd's own rule keeps the inventory out; a
 * SIGHUP asks for every card to be read again at once.
 */
TEST_TIMEOUT(inventory_leaves_a_session_alone, 120)
{
	char card[1024], iccid[64], imsi[64], out[128];
	struct rspro_pdu atr;
	uint8_t resp[300];
	struct tpeer c;

	bankd_extra[0] = "-s";
	bankd_extra[1] = "--inventory-interval";
	bankd_extra[2] = "3600000";
	setup(1);
	card_ids(0, iccid, imsi);
	ASSERT_TRUE(wait_card(0, iccid, card, sizeof(card), 10000));
	map(0, 7);
	ASSERT_TRUE(client_connect(&c, 7, &atr));
	ASSERT_EQ(2, transceive(&c, 7, 0, select_iccid, sizeof(select_iccid), resp));
	kill(bankd.pid, SIGHUP);
	EXPECT_TRUE(wait_log(bankd.log, "inventory: a session has the card", 5000));
	/* the session's file is still EF.ICCID, and its card still open */
	ASSERT_EQ(12, transceive(&c, 7, 0, read_iccid, sizeof(read_iccid), resp));
	EXPECT_EQ(0x98, resp[0]);
	EXPECT_EQ(0x90, resp[10]);
	get_card(0, card, sizeof(card));
	EXPECT_TRUE(strstr(card, iccid) != NULL);
	/* a session's count goes once it is over, not on every round */
	EXPECT_TRUE(strstr(card, "\"apdus\":0,") != NULL);
	EXPECT_TRUE(strstr(card, "\"map\":{\"clientId\":7,\"slotNr\":0,\"state\":\"ACTIVE\"") !=
		    NULL);
	EXPECT_EQ(0, tpeer_settle(&c, RSPRO_ERROR_IND, 0));
	EXPECT_FALSE(c.closed);
	/* no connection to the server: the modem slot is the client's id */
	cards_table(out, sizeof(out), "http://127.0.0.1:%d", rest_port);
	expect_row(out, "^7:0 7:0 1:0 ", "8988200000000000000 001010000000000 present");
	/* the session's APDUs reach the inventory once it is over */
	tpeer_close(&c);
	tpeer_run(loop, 300);
	kill(bankd.pid, SIGHUP);
	EXPECT_TRUE(wait_card(0, "\"apdus\":2", card, sizeof(card), 5000));
	teardown();
}

/*
 * A long session's APDU count and card time reach GET /cards while it
 * runs, every INVENTORY_BUSY_ROUNDS (5) inventory rounds at most, not on
 * each round; `remsim-server cards` prints the card time in ms.
 */
TEST_TIMEOUT(inventory_reports_a_busy_slot_and_its_card_time, 120)
{
	char card[1024], iccid[64], imsi[64], out[128];
	struct rspro_pdu atr;
	uint8_t resp[300];
	struct tpeer c;
	int i;

	bankd_extra[0] = "--inventory-interval";
	bankd_extra[1] = "200";
	setup(1);
	card_ids(0, iccid, imsi);
	ASSERT_TRUE(wait_card(0, iccid, card, sizeof(card), 10000));
	EXPECT_TRUE(strstr(card, "\"cardTimeP50Us\":null") != NULL);
	map(0, 7);
	ASSERT_TRUE(client_connect(&c, 7, &atr));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(2, transceive(&c, 7, 0, select_iccid, sizeof(select_iccid), resp));
	/* the session is still open: the count comes anyway, with the times */
	ASSERT_TRUE(wait_card(0, "\"apdus\":3,", card, sizeof(card), 5000));
	EXPECT_TRUE(strstr(card, "\"cardTimeP50Us\":null") == NULL);
	EXPECT_TRUE(strstr(card, "\"cardTimeP99Us\":null") == NULL);
	EXPECT_TRUE(strstr(card, "\"cardTimeP50Us\":") != NULL);
	/* at most every fifth round: 200 ms after the report, still 3 */
	ASSERT_EQ(2, transceive(&c, 7, 0, select_iccid, sizeof(select_iccid), resp));
	tpeer_run(loop, 200);
	get_card(0, card, sizeof(card));
	EXPECT_TRUE(strstr(card, "\"apdus\":3,") != NULL);
	ASSERT_TRUE(wait_card(0, "\"apdus\":4,", card, sizeof(card), 5000));
	cards_table(out, sizeof(out), "http://127.0.0.1:%d", rest_port);
	EXPECT_TRUE(log_contains(out, "APDUS P50_MS P99_MS"));
	expect_row(out, "1:0", "present [^ ]* 4 [0-9][0-9]*[.][0-9] [0-9][0-9]*[.][0-9]$");
	tpeer_close(&c);
	teardown();
}

/*
 * Toward a server that did not announce "cards" (osmo-remsim-server), bankd
 * sends no inventory: all it sends decodes with osmo's own module.
 */
TEST_TIMEOUT(inventory_is_not_sent_to_an_osmo_server, 60)
{
	uint8_t buf[RSPRO_PDU_MAX];
	char why[200];
	int i, len;

	bankd_extra[0] = "--inventory-interval";
	bankd_extra[1] = "100";
	setup_fake_server(1);
	ASSERT_TRUE(wait_log(bankd.log, "card, ICCID", 5000));
	tpeer_settle(&fake, RSPRO_CONNECT_BANK_REQ, 500);
	for (i = 0; i < fake.count; i++) {
		len = rspro_encode(fake.inbox[i], buf, sizeof(buf), NULL);
		ASSERT_GT(len, 0);
		EXPECT_EQ((int)fake.inbox[i]->msg, rspro_strict_decode(buf, len, why, sizeof(why)));
		if (fake.inbox[i]->msg == RSPRO_CONNECT_BANK_REQ)
			EXPECT_FALSE(fake.inbox[i]->connect_bank_req.has_card_info);
	}
	EXPECT_EQ(0, tpeer_settle(&fake, RSPRO_CONNECT_BANK_REQ, 0));
	teardown_fake_server();
}

int main(int argc, char **argv)
{
	int ret;

	signal(SIGPIPE, SIG_IGN);
	ktap_after_each(after_each);
	ret = ktap_main_in_dir(argc, argv, topdir);
	if (loop)
		ev_loop_free(loop);
	return ret;
}
