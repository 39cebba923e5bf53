// SPDX-License-Identifier: GPL-2.0
/*
 * client_test - the full chain in the VM: a phone on a simulated slot,
 * remsim.ko, remsim-client owning /dev/remsimN, remsim-server, remsim-bankd,
 * Debian's pcscd with vpcd, and a remsim-softsim card. The scripted phone
 * session (ATR, SELECT, ICCID, IMSI, USIM and GSM authentication, STATUS)
 * passes; a slot mapped after the client started is served without a
 * restart, and one that goes away is let go with no error logged; eight slots at once survive
 * kill -9 of each daemon with no APDU reaching a card twice; a static bank
 * target from remsimctl's targets file is followed when it changes, and a
 * malformed targets file is reported without stopping any slot. Built as
 * client_usb_test, the first session runs on the software SIMtrace2 board.
 */
#define _GNU_SOURCE
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "board.h"
#include "card.h"
#include "chain.h"
#include "daemon.h"
#include "http.h"
#include "kmod.h"
#include "ktap.h"
#include "modem.h"
#include "pcsc_env.h"
#include "remsim/idpath.h"
#include "remsim/nl.h"
#include "session.h"
#include "sim_modem.h"
#include "slotdev.h"

static struct chain chain;
static struct test_board bare_board;

/* remsim-client for the chain's server, logging everything, with @args too. */
static void start_client(char **args)
{
	char *argv[32] = { "--log-level", "debug" };
	int n = 2;

	while (args && *args && n < 31)
		argv[n++] = *args++;
	argv[n] = NULL;
	ASSERT_EQ(0, chain_start_client(&chain, argv));
}

/* Server, bankd, pcscd with @cards softsim cards, and the client unless !with_client. */
static void own_targets(char *path, size_t size);

/*
 * Every test's client reads a targets file of the test's own: the guest's
 * /run/remsim/targets may hold what an earlier program (udev_test) left.
 */
static void start_chain_opt(unsigned int cards, bool with_client)
{
	char targets[128];

	ASSERT_EQ(0, slot_modules_load());
	ASSERT_EQ(0, chain_start(&chain, cards, false));
	own_targets(targets, sizeof(targets));
	if (with_client)
		start_client(NULL);
}

static void start_chain(unsigned int cards)
{
	start_chain_opt(cards, true);
}

static void stop_chain(void)
{
	EXPECT_EQ(0, chain_stop(&chain));
}

/* The daemons die with the test's process group; the board's gadget stays. */
static void after_each(void)
{
	board_cleanup_all();
}

static void map_card(int bank_slot, int client_id)
{
	ASSERT_EQ(201, chain_map(&chain, bank_slot, client_id, 0));
}

/* The kernel side: slot @index belongs to client @client_id:0. */
static void map_slot(struct rsnl *nl, unsigned int index, int client_id)
{
	struct rsnl_map m = { .mapped = true, .client_id = client_id, .client_slot = 0 };

	ASSERT_EQ(0, rsnl_slot_set(nl, index, &m));
}

static void run_session(struct modem *m, unsigned int index, unsigned int card)
{
	struct card_profile prof;
	struct session_opts o = { .have_keys = true, .sqn = 1 << 5, .status_polls = 2 };
	static struct session_result r;
	int tries;

	card_profile_default(&prof, card);
	memcpy(o.ki, prof.ki, 16);
	memcpy(o.opc, prof.opc, 16);
	/* the client inserts the card once the bankd has it: try a while */
	for (tries = 0; tries < 60; tries++) {
		memset(&r, 0, sizeof(r));
		if (!session_run(m, &o, &r))
			break;
		usleep(500000);
	}
	if (tries == 60)
		TH_LOG("session: %s", r.error);
	ASSERT_LT(tries, 60);
	EXPECT_EQ(0, strcmp(r.imsi, prof.imsi));
	EXPECT_EQ(0, strcmp(r.iccid, prof.iccid));
	TH_LOG("slot %u: card %u, %u commands, p50 %llu us", index, card, r.commands,
	       (unsigned long long)session_percentile(&r, 50) / 1000);
}

/*
 * The server's GET /cards names the modem slot of card 0 by what the client
 * told: "modemPath" is the slot's ID_PATH on the software USB board, and
 * null for a simulated slot, which has none.
 */
static void expect_modem_path(unsigned int index)
{
	char resp[16384], dev[64], path[RS_ID_PATH_MAX], want[RS_ID_PATH_MAX + 32];
	int t;

	snprintf(dev, sizeof(dev), "/sys/class/remsim/remsim%u/device", index);
	rs_id_path(dev, path, sizeof(path));
	if (slot_backend_usb()) {
		EXPECT_NE(0, path[0]);
		snprintf(want, sizeof(want), "\"modemPath\":\"%s\"", path);
	} else {
		EXPECT_EQ(0, path[0]);
		snprintf(want, sizeof(want), "\"modemPath\":null");
	}
	/* the update follows the client's registration: a moment at most */
	for (t = 0; t < 50; t++) {
		ASSERT_EQ(200, chain_rest(&chain, "GET", "/api/backend/v1/cards", NULL, resp,
					  sizeof(resp)));
		if (strstr(resp, want))
			break;
		usleep(100000);
	}
	TH_LOG("want %s in %.400s", want, resp);
	EXPECT_TRUE(strstr(resp, want) != NULL);
}

TEST_TIMEOUT(phone_session_through_the_whole_chain, 600)
{
	struct slot_fixture fx, fx2;

	start_chain(2);
	ASSERT_EQ(0, slot_fixture(&fx, -1));
	map_slot(fx.nl, fx.index, 23);
	map_card(0, 23);
	run_session(fx.modem, fx.index, 0);
	expect_modem_path(fx.index);
	if (slot_backend_usb()) {
		/* one software board at a time: the USB variant stops here */
		slot_fixture_done(&fx);
		stop_chain();
		return;
	}

	/* a slot that appears and is mapped now: served without a restart */
	ASSERT_EQ(0, slot_fixture(&fx2, -1));
	map_slot(fx2.nl, fx2.index, 24);
	map_card(1, 24);
	run_session(fx2.modem, fx2.index, 1);

	/*
	 * and let go when it goes: as an unplug, said at info, not an error
	 * for each ioctl that leaving OPERATIONAL would have sent the board
	 */
	ASSERT_EQ(0, slot_fixture_remove(&fx2));
	usleep(500000);
	EXPECT_TRUE(log_contains(chain.client.log, "released"));
	EXPECT_TRUE(log_contains(chain.client.log, "gone (unplugged or removed)"));
	EXPECT_FALSE(log_contains(chain.client.log, "CARD_INSERT:"));
	EXPECT_FALSE(log_contains(chain.client.log, "SIM_SELECT:"));
	EXPECT_FALSE(log_contains(chain.client.log, "MODEM_RESET:"));
	EXPECT_FALSE(log_contains(chain.client.log, " ERROR "));
	slot_fixture_done(&fx2);
	slot_fixture_done(&fx);
	stop_chain();
}

struct session_job {
	pthread_t th;
	struct modem *m;
	unsigned int index, card;
	int ok;
};

static void *session_thread(void *arg)
{
	struct session_job *j = arg;
	struct card_profile prof;
	struct session_opts o = { .have_keys = true, .status_polls = 1 };
	struct session_result *r = calloc(1, sizeof(*r));
	int tries;

	card_profile_default(&prof, j->card);
	memcpy(o.ki, prof.ki, 16);
	memcpy(o.opc, prof.opc, 16);
	/* the network's SQN moves on each session; the card resyncs if behind */
	o.sqn = (uint64_t)(time(NULL) & 0xffff) << 5;
	for (tries = 0; tries < 120 && !j->ok; tries++) {
		memset(r, 0, sizeof(*r));
		j->ok = !session_run(j->m, &o, r) && !strcmp(r->imsi, prof.imsi);
		if (!j->ok)
			usleep(500000);
	}
	free(r);
	return NULL;
}

/* A session on every slot at once; true when all passed. */
static bool sessions(struct slot_fixture *fx, unsigned int n)
{
	struct session_job jobs[8];
	unsigned int i;
	bool all = true;

	for (i = 0; i < n; i++) {
		jobs[i] = (struct session_job){ .m = fx[i].modem, .index = fx[i].index, .card = i };
		pthread_create(&jobs[i].th, NULL, session_thread, &jobs[i]);
	}
	for (i = 0; i < n; i++) {
		pthread_join(jobs[i].th, NULL);
		if (!jobs[i].ok)
			TH_LOG("slot %u: no session passed", fx[i].index);
		all &= jobs[i].ok;
	}
	return all;
}

/* Authentications the cards saw: all (@dup false) or those seen twice. */
static int authentications(bool dup)
{
	return chain_authentications(&chain, dup);
}

static void restart(struct daemon *d, const char *what)
{
	char *argv[16];
	FILE *f;
	char path[300], line[512];
	int i = 0;

	/* the same command line again, from /proc before it dies */
	snprintf(path, sizeof(path), "/proc/%d/cmdline", d->pid);
	f = fopen(path, "r");
	ASSERT_TRUE(f != NULL);
	{
		size_t n = fread(line, 1, sizeof(line) - 1, f);
		char *p = line;

		fclose(f);
		line[n] = 0;
		while (p < line + n && i < 15) {
			argv[i++] = strdup(p);
			p += strlen(p) + 1;
		}
		argv[i] = NULL;
	}
	ASSERT_EQ(128 + SIGKILL, daemon_stop(d, SIGKILL, 2000));
	TH_LOG("%s killed -9 and restarted", what);
	snprintf(path, sizeof(path), "%s", d->log);
	ASSERT_EQ(0, daemon_start(d, argv, path));
}

TEST_TIMEOUT(eight_slots_survive_kill_9_of_each_daemon, 1200)
{
	static struct slot_fixture fx[8];
	unsigned int i;

	if (slot_backend_usb())
		SKIP("eight slots are simulated ones; the USB variant runs one session");
	start_chain(8);
	for (i = 0; i < 8; i++) {
		ASSERT_EQ(0, slot_fixture(&fx[i], -1));
		map_slot(fx[i].nl, fx[i].index, 30 + i);
		map_card(i, 30 + i);
	}
	ASSERT_TRUE(sessions(fx, 8));
	restart(&chain.server, "remsim-server");
	ASSERT_TRUE(sessions(fx, 8));
	restart(&chain.bank[0].bankd, "remsim-bankd");
	ASSERT_TRUE(sessions(fx, 8));
	restart(&chain.client, "remsim-client");
	ASSERT_TRUE(sessions(fx, 8));
	/* 8 slots, 4 rounds, a 3G and a 2G authentication each, at least */
	EXPECT_GE(authentications(false), 64);
	EXPECT_EQ(0, authentications(true));
	for (i = 0; i < 8; i++)
		slot_fixture_done(&fx[i]);
	stop_chain();
}

TEST_TIMEOUT(config_file_maps_an_unmapped_slot, 600)
{
	char conf[128], log[128];
	struct slot_fixture fx;
	FILE *f;

	if (slot_backend_usb())
		SKIP("covered on simulated slots");
	start_chain(1);
	ASSERT_EQ(0, slot_fixture(&fx, -1));
	/* no kernel map for this slot: the client's config file names it */
	for (int t = 0; t < 100 && !log_contains(chain.client.log, "running:"); t++)
		usleep(50000);
	EXPECT_EQ(0, daemon_stop(&chain.client, SIGTERM, 10000));
	snprintf(conf, sizeof(conf), "%s/client.conf", chain.dir);
	f = fopen(conf, "w");
	ASSERT_TRUE(f != NULL);
	fprintf(f, "# remsim-client\nserver-ip = 127.0.0.1\nserver-port = %d\n"
		"slot.%u.client = 50:0\nslot.%u.atr = 3b00\n", chain.rspro_port, fx.index, fx.index);
	fclose(f);
	snprintf(log, sizeof(log), "%s/client.log", chain.dir);
	{
		char *argv[] = { strdup(daemon_bin_fast("remsim-client")), "--config", conf,
				 "--log-level", "debug", NULL };

		ASSERT_EQ(0, daemon_start(&chain.client, argv, log));
	}
	map_card(0, 50);
	run_session(fx.modem, fx.index, 0);
	slot_fixture_done(&fx);
	stop_chain();
}

static bool file_has(const char *path, const char *text)
{
	char cmd[400];

	snprintf(cmd, sizeof(cmd), "grep -qF -- '%s' %s", text, path);
	return system(cmd) == 0;
}

/* "remsimctl ARGS" as root: its exit status. */
static int remsimctl(const char *fmt, ...)
{
	char args[300], cmd[600];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "%s %s", daemon_bin_fast("remsimctl"), args);
	st = system(cmd);
	TH_LOG("remsimctl %s -> %d", args, WEXITSTATUS(st));
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Waits up to @ms for the client's log to say @text. */
static bool client_says(const char *text, int ms)
{
	for (int t = 0; t < ms / 50 && !log_contains(chain.client.log, text); t++)
		usleep(50000);
	return log_contains(chain.client.log, text);
}

/* This test's targets file, for remsimctl and the client alike. */
static void own_targets(char *path, size_t size)
{
	snprintf(path, size, "%s/run/targets", chain.dir);
	ASSERT_EQ(0, setenv("REMSIM_TARGETS", path, 1));
}

/*
 * The static bank target lives in remsimctl's targets file, not in the
 * kernel: the client reads it when the slot gets its identity and follows
 * a change of the target alone (the identity staying), here from a bankd
 * port where nothing listens to the real one.
 */
TEST_TIMEOUT(client_follows_a_static_target_change, 600)
{
	struct slot_fixture fx;
	char path[128], text[160];

	if (slot_backend_usb())
		SKIP("covered on simulated slots");
	start_chain_opt(1, false);
	own_targets(path, sizeof(path));
	start_client(NULL);
	ASSERT_EQ(0, slot_fixture(&fx, -1));
	/* the bankd hears of the map from the server; the client asks nobody */
	map_card(0, 60);
	ASSERT_EQ(0, remsimctl("map %u client 60 slot 0 bank 1 slot 0 via 127.0.0.1:1", fx.index));
	EXPECT_TRUE(file_has(path, "client 60 slot 0 bank 1 slot 0 via 127.0.0.1:1"));
	EXPECT_TRUE(client_says("card is B1:0 at 127.0.0.1:1", 5000));
	/* another target for the mapped slot: a replacement, so --force */
	ASSERT_EQ(0, remsimctl("map %u client 60 slot 0 bank 1 slot 0 via 127.0.0.1:%d --force",
			       fx.index, chain.bank[0].port));
	snprintf(text, sizeof(text), "card is B1:0 at 127.0.0.1:%d", chain.bank[0].port);
	EXPECT_TRUE(client_says(text, 5000));
	run_session(fx.modem, fx.index, 0);
	/* unmapped: the target goes with the identity */
	ASSERT_EQ(0, remsimctl("unmap %u", fx.index));
	EXPECT_FALSE(file_has(path, "client 60 slot 0"));
	EXPECT_TRUE(client_says("released", 5000));
	slot_fixture_done(&fx);
	stop_chain();
}

/*
 * A targets file with bad lines: each is named FILE:LINE in the client's
 * log and skipped; the slot with a good line gets its static target, the
 * slot whose line is bad is served through the server, and neither stops.
 */
TEST_TIMEOUT(a_malformed_targets_file_stops_no_slot, 600)
{
	struct slot_fixture fx[2];
	char path[128], text[200];
	FILE *f;

	if (slot_backend_usb())
		SKIP("covered on simulated slots");
	start_chain_opt(2, false);
	own_targets(path, sizeof(path));
	ASSERT_EQ(0, mkdir(dirname(strdupa(path)), 0755));
	f = fopen(path, "w");
	ASSERT_TRUE(f != NULL);
	fprintf(f, "client 61 slot 0 bank 1 slot 0 via 127.0.0.1:%d\n"
		"client 62 slot 0 bank 1 slot 1 via nowhere\n"
		"\x01\xff garbage \x7f\n", chain.bank[0].port);
	fclose(f);
	start_client(NULL);
	for (unsigned int i = 0; i < 2; i++) {
		ASSERT_EQ(0, slot_fixture(&fx[i], -1));
		map_slot(fx[i].nl, fx[i].index, 61 + i);
		map_card(i, 61 + i);
	}
	snprintf(text, sizeof(text), "%s:2: \"nowhere\" is not HOST:PORT", path);
	EXPECT_TRUE(client_says(text, 5000));
	snprintf(text, sizeof(text), "%s:3: expected: client ID slot N", path);
	EXPECT_TRUE(client_says(text, 5000));
	ASSERT_TRUE(sessions(fx, 2));
	snprintf(text, sizeof(text), "card is B1:0 at 127.0.0.1:%d", chain.bank[0].port);
	EXPECT_TRUE(log_contains(chain.client.log, text));
	for (unsigned int i = 0; i < 2; i++)
		slot_fixture_done(&fx[i]);
	stop_chain();
}

/*
 * A host where remsim.ko cannot be loaded: remsim-client drives both
 * interfaces of a software sysmoQMOD over libusb (the first named the way
 * osmo-remsim-client-st2 is run, the second by the config file), the
 * phone sessions pass on both, the board unplugged and plugged again is
 * served again without a restart, and no authentication reaches a card
 * twice.
 */
TEST_TIMEOUT(libusb_backend_without_the_module, 900)
{
	char path[32], conf[128], script[128], events[128], text[160];
	char *args[] = { "-V", "1d50", "-P", "4004", "-C", "1", "-H", path, "-c", "23", "-n", "0",
			 "--config", conf, "-e", script, NULL };
	struct slot_fixture fx[2];
	FILE *f;
	int round;

	if (!slot_backend_usb())
		SKIP("the libusb backend drives the software USB board");
	start_chain_opt(2, false);
	ASSERT_EQ(0, kmod_unload_all());
	ASSERT_EQ(0, board_start_bare(&bare_board, "qmod", 0, path, sizeof(path)));
	TH_LOG("board at USB %s, remsim.ko not loaded", path);

	snprintf(conf, sizeof(conf), "%s/client.conf", chain.dir);
	snprintf(script, sizeof(script), "%s/event.sh", chain.dir);
	snprintf(events, sizeof(events), "%s/events", chain.dir);
	f = fopen(conf, "w");
	ASSERT_TRUE(f != NULL);
	fprintf(f, "slot.%s:1.1.client = 24:0\n", path);
	fclose(f);
	f = fopen(script, "w");
	ASSERT_TRUE(f != NULL);
	fprintf(f, "#!/bin/sh\necho \"$1 $REMSIM_CLIENT_SLOT $REMSIM_USB_PATH "
		"$REMSIM_USB_INTERFACE\" >> %s\n", events);
	fclose(f);
	ASSERT_EQ(0, chmod(script, 0755));
	start_client(args);
	map_card(0, 23);
	map_card(1, 24);

	for (round = 0; round < 2; round++) {
		memset(fx, 0, sizeof(fx));
		for (unsigned int i = 0; i < 2; i++) {
			fx[i].index = i;
			ASSERT_EQ(0, board_modem(&bare_board, i, &fx[i].modem));
		}
		ASSERT_TRUE(sessions(fx, 2));
		if (round)
			run_session(fx[0].modem, 0, 0);	/* for its figures */
		for (unsigned int i = 0; i < 2; i++)
			modem_close(fx[i].modem);
		if (round)
			break;
		/* unplugged: let go; plugged again: served, no restart */
		ASSERT_EQ(0, board_unplug(&bare_board));
		for (int t = 0; t < 100 && !log_contains(chain.client.log, "released"); t++)
			usleep(50000);
		EXPECT_TRUE(log_contains(chain.client.log, "released"));
		/* an unplug is no error */
		EXPECT_FALSE(log_contains(chain.client.log, " ERROR "));
		ASSERT_EQ(0, board_plug(&bare_board));
	}
	EXPECT_TRUE(log_contains(chain.client.log, "over libusb"));
	EXPECT_GE(authentications(false), 8);
	EXPECT_EQ(0, authentications(true));
	/* osmo's event script environment, with the st2 client's USB variables */
	snprintf(text, sizeof(text), "request-card-insert 23:0 %s 0", path);
	EXPECT_TRUE(file_has(events, text));
	snprintf(text, sizeof(text), "request-card-insert 24:0 %s 1", path);
	EXPECT_TRUE(file_has(events, text));
	board_stop(&bare_board);
	stop_chain();
}

/*
 * The slot's target turns to another card while the phone has one (the
 * client lets the slot go and serves it anew): the phone sees the card go,
 * though a link that breaks keeps the card over a short outage; another
 * SIM behind the same slot is no outage.
 */
TEST_TIMEOUT(another_card_for_a_served_slot_is_a_card_change, 600)
{
	struct modem_event ev;
	struct slot_fixture fx;
	char path[128], text[160];
	bool removed = false;

	if (slot_backend_usb())
		SKIP("covered on simulated slots");
	start_chain_opt(1, false);
	own_targets(path, sizeof(path));
	start_client(NULL);
	ASSERT_EQ(0, slot_fixture(&fx, -1));
	map_card(0, 62);
	ASSERT_EQ(0, remsimctl("map %u client 62 slot 0 bank 1 slot 0 via 127.0.0.1:%d",
			       fx.index, chain.bank[0].port));
	run_session(fx.modem, fx.index, 0);
	while (modem_event(fx.modem, &ev))
		;
	ASSERT_EQ(0, remsimctl("map %u client 62 slot 0 bank 1 slot 1 via 127.0.0.1:%d --force",
			       fx.index, chain.bank[0].port));
	snprintf(text, sizeof(text), "card is B1:1 at 127.0.0.1:%d", chain.bank[0].port);
	EXPECT_TRUE(client_says(text, 5000));
	for (int i = 0; i < 10 && !removed; i++)
		removed = !modem_wait_event(fx.modem, SIM_MODEM_CARD, &ev, 500) && !ev.data[0];
	EXPECT_TRUE(removed);
	EXPECT_FALSE(log_contains(chain.client.log, "the card stayed with the modem"));
	slot_fixture_done(&fx);
	stop_chain();
}

/* A command of the phone's own: SELECT by path, 16 bytes no card has. */
static void tagged_select(uint8_t apdu[21], uint8_t tag)
{
	static const uint8_t hdr[] = { 0x00, 0xa4, 0x08, 0x04, 16, 0x7e };

	memcpy(apdu, hdr, sizeof(hdr));
	memset(apdu + sizeof(hdr), tag, 21 - sizeof(hdr));
}

/* How often tagged_select(@tag) reached a card. */
static int tagged_seen(uint8_t tag)
{
	char hex[20];

	snprintf(hex, sizeof(hex), "00a40804107e%02x", tag);
	return chain_commands(&chain, hex);
}

/* Powers the phone's SIM and sends tagged_select(@tag) until the card answers. */
static void phone_until_served(struct modem *m, uint8_t tag)
{
	uint8_t apdu[21], resp[300], atr[33];
	size_t len, atr_len;
	uint16_t sw = 0;
	int tries;

	tagged_select(apdu, tag);
	for (tries = 0; tries < 60; tries++) {
		if (!modem_power_on(m, atr, &atr_len) &&
		    !modem_apdu(m, apdu, sizeof(apdu), resp, &len, &sw) && sw != 0x6f00)
			break;
		usleep(500000);
	}
	if (tries == 60) {
		TH_LOG("the phone was not served in 60 tries; the client's last lines:");
		shell("grep -v DEBUG %s | tail -n 40 | sed 's/^/# /'", chain.client.log);
	}
	ASSERT_LT(tries, 60);
}

/* SIGKILL to the bankd; back when the client saw its link to it break. */
static void bankd_gone(void)
{
	const char *down = "bankd link CONNECTED -> ";
	long n = log_count(chain.client.log, down);

	ASSERT_EQ(128 + SIGKILL, daemon_stop(&chain.bank[0].bankd, SIGKILL, 2000));
	for (int t = 0; t < 250 && log_count(chain.client.log, down) == n; t++)
		usleep(20000);
	ASSERT_GT(log_count(chain.client.log, down), n);
}

/*
 * The bankd goes away for a moment: the phone's command in that time waits
 * (the board sends NULL procedure bytes, the card stays inserted) and
 * reaches the card once when the bankd is back within the slot's
 * apdu_timeout; a bankd away for longer means 6F00 then, and that command
 * never reaches a card, not even after the bankd's return.
 */
TEST_TIMEOUT(phone_command_waits_over_a_short_bankd_outage, 600)
{
	uint8_t apdu[21], resp[300];
	struct phone_call call;
	struct slot_fixture fx;
	struct timespec t0, t1;
	uint16_t sw = 0;
	size_t len;
	long ms;

	/* the default apdu_timeout, 5 s */
	start_chain(1);
	ASSERT_EQ(0, slot_fixture(&fx, -1));
	map_slot(fx.nl, fx.index, 61);
	map_card(0, 61);
	/* the phone gives up on a silent card in 1.5 s, on one sending NULLs in 30 */
	modem_set_timeout(fx.modem, 1500);
	modem_set_tpdu_timeout(fx.modem, 30000);
	phone_until_served(fx.modem, 1);

	/* back after a second: the command held goes to the card, once */
	bankd_gone();
	tagged_select(apdu, 2);
	ASSERT_EQ(0, phone_call_start(&call, fx.modem, apdu, sizeof(apdu)));
	usleep(1000000);
	ASSERT_EQ(0, chain_start_bankd(&chain, 0));
	EXPECT_EQ(0, phone_call_wait(&call));
	EXPECT_NE(0x6f00, call.sw);
	if (call.sw == 0x6f00) {
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "grep -v DEBUG %s | tail -n 30", chain.client.log);
		EXPECT_EQ(0, system(cmd));
	}
	EXPECT_EQ(1, tagged_seen(2));
	EXPECT_TRUE(log_contains(chain.client.log, "the card stayed with the modem"));

	/* away for longer than apdu_timeout: 6F00, and no card ever sees it */
	bankd_gone();
	tagged_select(apdu, 3);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	EXPECT_EQ(0, modem_apdu(fx.modem, apdu, sizeof(apdu), resp, &len, &sw));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	EXPECT_EQ(0x6f00, sw);
	EXPECT_GT(ms, 3000);
	ASSERT_EQ(0, chain_start_bankd(&chain, 0));
	phone_until_served(fx.modem, 4);
	EXPECT_EQ(0, tagged_seen(3));
	EXPECT_GE(tagged_seen(4), 1);
	slot_fixture_done(&fx);
	stop_chain();
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	ktap_after_each(after_each);
	return ktap_main(argc, argv);
}
