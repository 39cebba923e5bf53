// SPDX-License-Identifier: GPL-2.0
/*
 * The web dashboard in a real browser (Debian's headless Chromium, driven
 * over the DevTools protocol) against a running remsim-server: the real
 * chain with softsim cards behind pcscd and remsim-bankd, modem slots from
 * test RSPRO clients that see what the page's clicks push to them, a
 * hostile bankd whose reader name is markup, and a server that wants
 * tokens. Screenshots are kept in build/dashboard/ for a look.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "browser.h"
#include "chain.h"
#include "daemon.h"
#include "http.h"
#include "ktap.h"
#include "remsim/evloop.h"
#include "remsim/rspro.h"
#include "rspro_peer.h"

#define HOSTILE_READER	"<img src=x onerror=\"document.title='owned'\"><b>R</b>"

static char dir[] = "/tmp/remsim-dashboard-test-XXXXXX";
static char shots[300];

/* The browser or the test is skipped: Chromium is an optional package. */
static void browser_up(struct browser *b)
{
	char log[128];

	if (!browser_path())
		SKIP("chromium is not installed (scripts/deps installs it)");
	snprintf(log, sizeof(log), "%s/chromium.log", dir);
	ASSERT_EQ(0, browser_start(b, log));
}

static void shot(struct browser *b, const char *name)
{
	char path[400];

	snprintf(path, sizeof(path), "%s/%s.png", shots, name);
	EXPECT_EQ(0, browser_screenshot(b, path));
	TH_LOG("screenshot %s", path);
}

/* Polls @js in the page while the test peers' loop runs: false after @ms. */
static bool wait_page(struct browser *b, struct ev_loop *loop, const char *js, int ms)
{
	for (; ms > 0; ms -= 200) {
		json_t *v = browser_eval(b, js, 5000);
		bool yes = json_is_true(v);

		json_decref(v);
		if (yes)
			return true;
		tpeer_run(loop, 200);
	}
	TH_LOG("the page never had %s", js);
	return false;
}

/* A string the page computes, copied into @buf ("" when none). */
static const char *page_text(struct browser *b, const char *js, char *buf, size_t size)
{
	json_t *v = browser_eval(b, js, 5000);

	snprintf(buf, size, "%s", json_is_string(v) ? json_string_value(v) : "");
	json_decref(v);
	return buf;
}

/* Chooses bank slot @bank ("1:0") for modem slot @slot ("10:0") and clicks Map. */
static void choose_and_map(struct browser *b, const char *slot, const char *bank)
{
	char js[400];
	json_t *v;

	snprintf(js, sizeof(js),
		 "(() => { const tr = document.querySelector('#clients tr[data-slot=\"%s\"]');"
		 " tr.querySelector('select').value = '%s';"
		 " tr.querySelector('button.map').click(); return true; })()", slot, bank);
	v = browser_eval(b, js, 5000);
	ASSERT_TRUE(json_is_true(v));
	json_decref(v);
}

/* The ConfigClientBankReq @t gets next: its bank slot as "B:S", answered. */
static const char *pushed_bank(struct tpeer *t, char *buf, size_t size)
{
	struct rspro_pdu pdu, res;

	buf[0] = 0;
	if (!tpeer_wait(t, RSPRO_CONFIG_CLIENT_BANK_REQ, &pdu, 10000))
		return buf;
	snprintf(buf, size, "%u:%u", pdu.config_client_bank.bank.bank_id,
		 pdu.config_client_bank.bank.slot_nr);
	rspro_result_res(&res, RSPRO_CONFIG_CLIENT_BANK_RES, RSPRO_OK);
	tpeer_send(t, &res);
	return buf;
}

/* A bankd reporting one card whose reader name is markup. */
static void hostile_bank(struct tpeer *t, struct ev_loop *loop, int port)
{
	struct rspro_identity id;
	struct rspro_pdu pdu;

	ASSERT_TRUE(tpeer_bankd(t, loop, port, 2, 1, -1));
	rspro_identity_init(&id, RSPRO_COMP_BANKD, "<i>bank</i>", "remsim-bankd", "test");
	rspro_connect_bank_req(&pdu, &id, 2, 1);
	pdu.connect_bank_req.has_card_info = true;
	pdu.connect_bank_req.card_info.present = true;
	snprintf(pdu.connect_bank_req.card_info.reader, RSPRO_READER_MAX + 1, "%s",
		 HOSTILE_READER);
	snprintf(pdu.connect_bank_req.card_info.iccid, RSPRO_ICCID_MAX + 1, "8949000000000000002");
	pdu.connect_bank_req.card_info.has_apdus = true;
	pdu.connect_bank_req.card_info.apdus = 42;
	pdu.connect_bank_req.card_info.has_card_time = true;
	pdu.connect_bank_req.card_info.card_time_p50_us = 1500;
	pdu.connect_bank_req.card_info.card_time_p99_us = 9000;
	ASSERT_EQ(0, tpeer_send(t, &pdu));
	ASSERT_TRUE(tpeer_wait(t, RSPRO_CONNECT_BANK_RES, &pdu, 5000));
	ASSERT_EQ(RSPRO_OK, pdu.connect_res.result);
}

/* Whether GET /cards has an ICCID for bank slot 1:@slot, copied to @out. */
static bool bank1_iccid(struct chain *c, int slot, char *out)
{
	char resp[8192];
	json_t *root, *card;
	size_t i;
	bool found = false;

	if (chain_rest(c, "GET", "/api/backend/v1/cards", NULL, resp, sizeof(resp)) != 200)
		return false;
	root = json_loads(resp, 0, NULL);
	json_array_foreach(json_object_get(root, "cards"), i, card) {
		json_t *bank = json_object_get(card, "bank");
		const char *iccid = json_string_value(json_object_get(card, "iccid"));

		if (json_integer_value(json_object_get(bank, "bankId")) == 1 &&
		    json_integer_value(json_object_get(bank, "slotNr")) == slot && iccid) {
			snprintf(out, RSPRO_ICCID_MAX + 1, "%s", iccid);
			found = true;
		}
	}
	json_decref(root);
	return found;
}

/* Whether REST lists a map from bank slot @bank ("1:0") to client @client. */
static bool rest_has_map(struct chain *c, const char *bank, const char *client)
{
	char resp[8192], want[160];
	unsigned int bid, bslot, cid, cslot;

	if (chain_rest(c, "GET", "/api/backend/v1/slotmaps", NULL, resp, sizeof(resp)) != 200)
		return false;
	if (sscanf(bank, "%u:%u", &bid, &bslot) != 2 || sscanf(client, "%u:%u", &cid, &cslot) != 2)
		return false;
	snprintf(want, sizeof(want),
		 "{\"bank\":{\"bankId\":%u,\"slotNr\":%u},\"client\":{\"clientId\":%u,\"slotNr\":%u}",
		 bid, bslot, cid, cslot);
	return strstr(resp, want) != NULL;
}

/*
 * What an operator does on the page: sees every bank slot with the ICCID
 * its card has (the bankd read it from the softsim), every modem slot, and
 * maps and remaps a modem slot by choosing a card; the client is told at
 * once. A taken card is refused with the server's reason on the page. A
 * reader name that is markup stays text: nothing of it runs.
 */
TEST_TIMEOUT(an_operator_sees_the_cards_and_remaps_a_modem_slot, 180)
{
	struct ev_loop *loop = ev_loop_new();
	struct tpeer c10, c11, bad;
	struct browser b;
	struct chain c;
	char url[80], buf[512], iccids[2][RSPRO_ICCID_MAX + 1] = { "", "" };
	int i;

	browser_up(&b);
	memset(&c, 0, sizeof(c));
	ASSERT_EQ(0, chain_start(&c, 2, false));
	ASSERT_TRUE(tpeer_client(&c10, loop, c.rspro_port, 10, 0));
	ASSERT_TRUE(tpeer_client(&c11, loop, c.rspro_port, 11, 0));
	hostile_bank(&bad, loop, c.rspro_port);
	/* the bankd's inventory: both ICCIDs read from the cards (the hostile bank's aside) */
	for (i = 0; i < 300 && !(bank1_iccid(&c, 0, iccids[0]) && bank1_iccid(&c, 1, iccids[1]));
	     i++)
		tpeer_run(loop, 100);
	ASSERT_TRUE(iccids[0][0] && iccids[1][0]);

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", c.rest_port);
	ASSERT_EQ(0, browser_open(&b, url, 20000));
	ASSERT_TRUE(wait_page(&b, loop, "document.querySelectorAll('#cards tr[data-bank]').length === 3 &&"
			      " document.querySelectorAll('#clients tr[data-slot]').length === 2", 20000));
	EXPECT_STREQ("/dashboard/", page_text(&b, "location.pathname", buf, sizeof(buf)));
	/* each of the chain's cards with the ICCID REST has for it */
	for (i = 0; i < 2; i++) {
		char js[200];

		snprintf(js, sizeof(js), "document.querySelector('#cards tr[data-bank=\"1:%d\"]"
			 " td.iccid').textContent === '%s'", i, iccids[i]);
		EXPECT_TRUE(wait_page(&b, loop, js, 10000));
	}
	/* the hostile reader name is the cell's text, and nothing of it ran */
	EXPECT_STREQ(HOSTILE_READER, page_text(&b, "document.querySelector("
			"'#cards tr[data-bank=\"2:0\"] td:nth-child(2)').textContent", buf, sizeof(buf)));
	EXPECT_STREQ("0", page_text(&b, "String(document.querySelectorAll('main img, main b, main i')"
				    ".length)", buf, sizeof(buf)));
	EXPECT_STREQ("remsim", page_text(&b, "document.title", buf, sizeof(buf)));
	/* what that bankd reported of its card: APDUs and card time */
	EXPECT_STREQ("42", page_text(&b, "document.querySelector("
			"'#cards tr[data-bank=\"2:0\"] td:nth-child(7)').textContent", buf, sizeof(buf)));
	EXPECT_STREQ("1.50 / 9.00 ms", page_text(&b, "document.querySelector("
			"'#cards tr[data-bank=\"2:0\"] td:nth-child(9)').textContent", buf, sizeof(buf)));
	shot(&b, "overview");

	/* map C10:0 to bank slot 1:1 from the page */
	choose_and_map(&b, "10:0", "1:1");
	EXPECT_STREQ("1:1", pushed_bank(&c10, buf, sizeof(buf)));
	EXPECT_TRUE(rest_has_map(&c, "1:1", "10:0"));
	ASSERT_TRUE(wait_page(&b, loop, "document.querySelector('#clients tr[data-slot=\"10:0\"]"
			      " td.card').textContent.startsWith('B1:1')", 10000));
	EXPECT_STREQ("C10:0 mapped to B1:1", page_text(&b, "document.getElementById('message')"
						      ".textContent", buf, sizeof(buf)));
	/* remap it to 1:0: the old map goes, the client is sent the new slot */
	choose_and_map(&b, "10:0", "1:0");
	ASSERT_TRUE(wait_page(&b, loop, "document.querySelector('#clients tr[data-slot=\"10:0\"]"
			      " td.card').textContent.startsWith('B1:0')", 10000));
	EXPECT_TRUE(rest_has_map(&c, "1:0", "10:0"));
	EXPECT_FALSE(rest_has_map(&c, "1:1", "10:0"));
	/* the unconfiguring push for 1:1 may come first: the last one counts */
	for (i = 0; i < 3 && strcmp(pushed_bank(&c10, buf, sizeof(buf)), "1:0"); i++)
		;
	EXPECT_STREQ("1:0", buf);
	/* a card another modem slot has: refused, with the server's words */
	choose_and_map(&b, "11:0", "1:0");
	ASSERT_TRUE(wait_page(&b, loop, "document.getElementById('message').textContent"
			      ".includes('failed: 400')", 10000));
	EXPECT_TRUE(strstr(page_text(&b, "document.getElementById('message').textContent", buf,
				     sizeof(buf)), "already mapped") != NULL);
	EXPECT_FALSE(rest_has_map(&c, "1:0", "11:0"));
	shot(&b, "remapped");

	browser_stop(&b);
	tpeer_close(&c10);
	tpeer_close(&c11);
	tpeer_close(&bad);
	EXPECT_EQ(0, chain_stop(&c));
	ev_loop_free(loop);
}

/*
 * GET /cards lists no slot of a bank without inventory (the fake bankd
 * reports none): the modem slot's list is given bank slot @bank by hand.
 */
static void offer_bank_slot(struct browser *b, const char *bank)
{
	char js[300];

	snprintf(js, sizeof(js), "(() => { const s = document.querySelector('#clients select');"
		 " const o = document.createElement('option'); o.value = '%s';"
		 " s.appendChild(o); return true; })()", bank);
	json_decref(browser_eval(b, js, 5000));
}

/* A server with --rest-auth on and tokens "ro" (read) and "ops" (admin). */
struct auth_srv {
	struct daemon d;
	int rspro, rest;
	char db[128], log[128], ro[96], ops[96];
};

static void token_add(struct auth_srv *s, const char *name, const char *scope, char *out)
{
	char cmd[PATH_MAX + 200];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "%s token add %s --scope %s -D %s 2>/dev/null",
		 daemon_bin_fast("remsim-server"), name, scope, s->db);
	p = popen(cmd, "r");
	ASSERT_TRUE(p != NULL);
	ASSERT_TRUE(fgets(out, 96, p) != NULL);
	out[strcspn(out, "\n")] = 0;
	ASSERT_EQ(0, pclose(p));
}

static void auth_srv_start(struct auth_srv *s, const char *dashboard)
{
	char rspro[8], rest[8], dash[300];
	char *argv[] = { (char *)daemon_bin("remsim-server"), "-D", s->db,
			 "--rspro-bind", "127.0.0.1", "--rspro-port", rspro,
			 "--rest-bind", "127.0.0.1", "--rest-port", rest, "--rest-auth", "on",
			 "--dashboard", dash, NULL };

	snprintf(s->db, sizeof(s->db), "%s/auth.db", dir);
	snprintf(s->log, sizeof(s->log), "%s/auth-server.log", dir);
	snprintf(dash, sizeof(dash), "%s", dashboard ?: daemon_src_path("userspace/server/dashboard"));
	unlink(s->db);
	token_add(s, "ro", "read", s->ro);
	token_add(s, "ops", "admin", s->ops);
	s->rspro = free_port();
	s->rest = free_port();
	snprintf(rspro, sizeof(rspro), "%d", s->rspro);
	snprintf(rest, sizeof(rest), "%d", s->rest);
	ASSERT_EQ(0, daemon_start(&s->d, argv, s->log));
	ASSERT_TRUE(wait_port(s->rest, 5000));
}

/* GET @path with @headers ("" or lines ending in \r\n): the status; @resp the whole answer. */
static int get_raw(int port, const char *path, const char *headers, char *resp, size_t size)
{
	char rq[1024];

	snprintf(rq, sizeof(rq), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%sConnection: close\r\n\r\n",
		 path, headers);
	return http_raw(port, rq, resp, size);
}

/* @method @path with bearer @token and JSON @json (NULL: none): the status. */
static int http_auth(int port, const char *method, const char *path, const char *token,
		     const char *json, char *resp, size_t size)
{
	char rq[2048], *body;
	int status;

	snprintf(rq, sizeof(rq), "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		 "Authorization: Bearer %s\r\n%sContent-Length: %zu\r\nConnection: close\r\n"
		 "\r\n%s", method, path, token, json ? "Content-Type: application/json\r\n" : "",
		 json ? strlen(json) : 0, json ?: "");
	status = http_raw(port, rq, resp, size);
	body = strstr(resp, "\r\n\r\n");
	if (body)
		memmove(resp, body + 4, strlen(body + 4) + 1);
	return status;
}

/*
 * The files are served by name only, to anyone (they hold no data), with a
 * policy that lets the browser run nothing else; the API behind them still
 * wants a token, and a write to a dashboard path is no way around it. A
 * file that is a symlink is not followed.
 */
TEST(the_files_are_served_by_name_and_the_api_still_wants_a_token)
{
	struct auth_srv s;
	char resp[16384], bad[200], cmd[1600];

	memset(&s, 0, sizeof(s));
	/* a copy of the files with app.js a symlink to a secret */
	snprintf(bad, sizeof(bad), "%s/dash", dir);
	snprintf(cmd, sizeof(cmd), "rm -rf %s && mkdir -p %s && cp %s/index.html %s/ && "
		 "echo secret >%s/../secret && ln -s ../secret %s/app.js", bad, bad,
		 daemon_src_path("userspace/server/dashboard"), bad, bad, bad);
	ASSERT_EQ(0, shell("%s", cmd));
	auth_srv_start(&s, bad);

	EXPECT_EQ(302, get_raw(s.rest, "/", "", resp, sizeof(resp)));
	EXPECT_TRUE(strstr(resp, "Location: /dashboard/\r\n") != NULL);
	EXPECT_EQ(200, get_raw(s.rest, "/dashboard/", "", resp, sizeof(resp)));
	EXPECT_TRUE(strstr(resp, "Content-Type: text/html") != NULL);
	EXPECT_TRUE(strstr(resp, "Content-Security-Policy: default-src 'none'; script-src 'self';")
		    != NULL);
	EXPECT_TRUE(strstr(resp, "X-Content-Type-Options: nosniff") != NULL);
	EXPECT_TRUE(strstr(resp, "<title>remsim</title>") != NULL);
	/* the symlink, a path out of the directory, a name not in the list */
	EXPECT_EQ(404, get_raw(s.rest, "/dashboard/app.js", "", resp, sizeof(resp)));
	EXPECT_TRUE(strstr(resp, "secret") == NULL);
	EXPECT_EQ(404, get_raw(s.rest, "/dashboard/../secret", "", resp, sizeof(resp)));
	EXPECT_EQ(404, get_raw(s.rest, "/dashboard/%2e%2e/secret", "", resp, sizeof(resp)));
	EXPECT_EQ(404, get_raw(s.rest, "/dashboard/index.html/", "", resp, sizeof(resp)));
	/* the API wants a token as before; a POST to the dashboard too */
	EXPECT_EQ(401, get_raw(s.rest, "/api/backend/v1/cards", "", resp, sizeof(resp)));
	EXPECT_EQ(401, http_json(s.rest, "POST", "/dashboard/", "{}", resp, sizeof(resp)));
	EXPECT_EQ(0, daemon_stop(&s.d, SIGTERM, 10000));
}

/*
 * With tokens: the page asks for one; a read token shows everything but a
 * map attempt is refused on the page with the server's reason; an admin
 * token maps.
 */
TEST_TIMEOUT(the_page_asks_for_a_token_and_a_read_token_cannot_map, 120)
{
	struct ev_loop *loop = ev_loop_new();
	struct tpeer bank, c10;
	struct auth_srv s;
	struct browser b;
	char url[80], js[300], buf[512], hdr[160], resp[8192];
	struct rspro_pdu res;

	memset(&s, 0, sizeof(s));
	browser_up(&b);
	auth_srv_start(&s, NULL);
	ASSERT_TRUE(tpeer_bankd(&bank, loop, s.rspro, 1, 1, -1));
	ASSERT_TRUE(tpeer_client(&c10, loop, s.rspro, 10, 0));

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/dashboard/", s.rest);
	ASSERT_EQ(0, browser_open(&b, url, 20000));
	ASSERT_TRUE(wait_page(&b, loop, "!document.getElementById('login').hidden", 10000));
	shot(&b, "token");
	snprintf(js, sizeof(js), "document.getElementById('token').value = '%s';"
		 " document.getElementById('token-use').click(); true", s.ro);
	json_decref(browser_eval(&b, js, 5000));
	ASSERT_TRUE(wait_page(&b, loop, "document.getElementById('login').hidden &&"
			      " document.querySelectorAll('#clients tr[data-slot]').length === 1 &&"
			      " document.querySelectorAll('#banks tbody tr:not(.empty)').length === 1",
			      10000));
	offer_bank_slot(&b, "1:0");
	choose_and_map(&b, "10:0", "1:0");
	ASSERT_TRUE(wait_page(&b, loop, "document.getElementById('message').textContent"
			      ".includes('failed: 403')", 10000));
	snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", s.ops);
	EXPECT_EQ(200, get_raw(s.rest, "/api/backend/v1/slotmaps", hdr, resp, sizeof(resp)));
	EXPECT_TRUE(strstr(resp, "\"slotmaps\":[]") != NULL);

	/* the admin token, as a user would give it after a reload */
	snprintf(js, sizeof(js), "sessionStorage.setItem('remsim-token', '%s'); true", s.ops);
	json_decref(browser_eval(&b, js, 5000));
	ASSERT_EQ(0, browser_open(&b, url, 20000));
	ASSERT_TRUE(wait_page(&b, loop, "document.querySelectorAll('#clients tr[data-slot]')"
			      ".length === 1", 10000));
	offer_bank_slot(&b, "1:0");
	choose_and_map(&b, "10:0", "1:0");
	ASSERT_TRUE(wait_page(&b, loop, "document.getElementById('message').textContent"
			      " === 'C10:0 mapped to B1:0'", 10000));
	EXPECT_EQ(200, get_raw(s.rest, "/api/backend/v1/slotmaps", hdr, resp, sizeof(resp)));
	EXPECT_TRUE(strstr(resp, "\"clientId\":10,\"slotNr\":0") != NULL);
	/* the bank confirms the mapping, then the client is told */
	ASSERT_TRUE(tpeer_wait(&bank, RSPRO_CREATE_MAPPING_REQ, NULL, 5000));
	rspro_result_res(&res, RSPRO_CREATE_MAPPING_RES, RSPRO_OK);
	ASSERT_EQ(0, tpeer_send(&bank, &res));
	EXPECT_STREQ("1:0", pushed_bank(&c10, buf, sizeof(buf)));
	shot(&b, "mapped-with-token");

	browser_stop(&b);
	tpeer_close(&c10);
	tpeer_close(&bank);
	EXPECT_EQ(0, daemon_stop(&s.d, SIGTERM, 10000));
	ev_loop_free(loop);
}

/*
 * Leases on the page: each with its card, modem slot, owner and end, a
 * Release button on the owner's own only; the cards' tags. Releasing from
 * the page unmaps the card.
 */
TEST_TIMEOUT(the_page_shows_leases_and_their_owner_releases_one, 120)
{
	static const char lease_ops[] = "{\"client\":{\"clientId\":10,\"slotNr\":0},"
					"\"iccid\":\"8949000000000000001\",\"duration\":\"1h\"}";
	static const char lease_ci[] = "{\"client\":{\"clientId\":11,\"slotNr\":0},"
				       "\"iccid\":\"8949000000000000002\",\"duration\":\"1h\"}";
	struct ev_loop *loop = ev_loop_new();
	char url[80], js[300], buf[512], resp[8192], ci[96];
	struct rspro_identity id;
	struct rspro_pdu pdu;
	struct tpeer bank;
	struct auth_srv s;
	struct browser b;
	int i;

	memset(&s, 0, sizeof(s));
	browser_up(&b);
	auth_srv_start(&s, NULL);
	token_add(&s, "ci", "admin", ci);
	ASSERT_TRUE(tpeer_bankd(&bank, loop, s.rspro, 1, 2, -1));
	rspro_identity_init(&id, RSPRO_COMP_BANKD, "bank", "remsim-bankd", "test");
	for (i = 0; i < 2; i++) {
		rspro_connect_bank_req(&pdu, &id, 1, 2);
		pdu.connect_bank_req.has_card_info = true;
		pdu.connect_bank_req.card_info.slot_nr = i;
		pdu.connect_bank_req.card_info.present = true;
		snprintf(pdu.connect_bank_req.card_info.iccid, RSPRO_ICCID_MAX + 1,
			 "894900000000000000%d", i + 1);
		snprintf(pdu.connect_bank_req.card_info.imsi, RSPRO_IMSI_MAX + 1, "26202000000000%d",
			 i);
		ASSERT_EQ(0, tpeer_send(&bank, &pdu));
		ASSERT_TRUE(tpeer_wait(&bank, RSPRO_CONNECT_BANK_RES, &pdu, 5000));
	}
	ASSERT_EQ(201, http_auth(s.rest, "POST", "/api/backend/v1/leases", s.ops, lease_ops, resp,
				 sizeof(resp)));
	ASSERT_EQ(201, http_auth(s.rest, "POST", "/api/backend/v1/leases", ci, lease_ci, resp,
				 sizeof(resp)));
	ASSERT_EQ(200, http_auth(s.rest, "PUT", "/api/backend/v1/cards/8949000000000000001/tags",
				 s.ops, "{\"tags\":[\"profile:lte\"]}", resp, sizeof(resp)));

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/dashboard/", s.rest);
	ASSERT_EQ(0, browser_open(&b, url, 20000));
	snprintf(js, sizeof(js), "sessionStorage.setItem('remsim-token', '%s'); true", s.ops);
	json_decref(browser_eval(&b, js, 5000));
	ASSERT_EQ(0, browser_open(&b, url, 20000));
	ASSERT_TRUE(wait_page(&b, loop, "document.querySelectorAll('#leases tr[data-lease]')"
			      ".length === 2", 10000));
	EXPECT_STREQ("ops", page_text(&b, "document.querySelector('#leases tr[data-lease=\"1\"]"
				      " td.owner').textContent", buf, sizeof(buf)));
	EXPECT_STREQ("B1:0 8949000000000000001", page_text(&b, "document.querySelector("
		     "'#leases tr[data-lease=\"1\"] td:nth-child(2)').textContent", buf,
		     sizeof(buf)));
	EXPECT_STREQ("C10:0", page_text(&b, "document.querySelector('#leases tr[data-lease=\"1\"]"
					" td:nth-child(3)').textContent", buf, sizeof(buf)));
	/* ci's lease has no Release button for ops */
	EXPECT_STREQ("1", page_text(&b, "String(document.querySelectorAll('#leases button.release')"
				    ".length)", buf, sizeof(buf)));
	EXPECT_STREQ("mccmnc:26202 profile:lte", page_text(&b, "document.querySelector("
		     "'#cards tr[data-bank=\"1:0\"] td.tags').textContent", buf, sizeof(buf)));
	shot(&b, "leases");

	json_decref(browser_eval(&b, "document.querySelector('#leases tr[data-lease=\"1\"]"
				 " button.release').click(); true", 5000));
	ASSERT_TRUE(wait_page(&b, loop, "document.getElementById('message').textContent"
			      " === 'lease 1 released' &&"
			      " document.querySelectorAll('#leases tr[data-lease]').length === 1",
			      10000));
	EXPECT_EQ(200, http_auth(s.rest, "GET", "/api/backend/v1/slotmaps", s.ops, NULL, resp,
				 sizeof(resp)));
	EXPECT_TRUE(strstr(resp, "\"clientId\":10") == NULL);
	EXPECT_TRUE(strstr(resp, "\"clientId\":11") != NULL);
	shot(&b, "lease-released");

	browser_stop(&b);
	tpeer_close(&bank);
	EXPECT_EQ(0, daemon_stop(&s.d, SIGTERM, 10000));
	ev_loop_free(loop);
}

int main(int argc, char **argv)
{
	snprintf(shots, sizeof(shots), "%s", daemon_src_path("build/dashboard"));
	mkdir(shots, 0755);
	return ktap_main_in_dir(argc, argv, dir);
}
