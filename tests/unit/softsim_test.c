// SPDX-License-Identifier: GPL-2.0
/*
 * softsim_test - remsim-softsim behind Debian's pcscd and vpcd, used the way
 * bankd and any PC/SC program use it: cards from a profile file, state that
 * survives a restart of the daemon, a bad profile refused with its line;
 * hostile profiles (/dev/zero, a NUL byte, a key twice) and a state
 * directory that is not one refused at start.
 */
#include <PCSC/winscard.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "ktap.h"
#include "pcsc_env.h"

static struct pcsc_env env;
/* made by main(), which removes it; each test has its own dir below */
static char topdir[] = "/tmp/remsim-softsim-test-XXXXXX";
static char dir[sizeof(topdir) + 16];

static void after_each(void)
{
	if (env.pcscd.pid || env.softsim.pid)
		pcsc_env_stop(&env);
}

/* A PC/SC session on card @n: every command's response (data + SW). */
struct session {
	SCARDCONTEXT ctx;
	SCARDHANDLE card;
};

static void open_card(struct session *s, unsigned int n)
{
	char reader[64];
	DWORD proto;

	pcsc_env_reader(&env, n, reader, sizeof(reader));
	ASSERT_EQ(SCARD_S_SUCCESS, SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &s->ctx));
	ASSERT_EQ(SCARD_S_SUCCESS, SCardConnect(s->ctx, reader, SCARD_SHARE_EXCLUSIVE,
						SCARD_PROTOCOL_T0, &s->card, &proto));
}

static void close_card(struct session *s)
{
	SCardDisconnect(s->card, SCARD_UNPOWER_CARD);
	SCardReleaseContext(s->ctx);
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

/* Sends @cmd (hex); returns the response as hex in @out. */
static const char *tx(struct session *s, const char *cmd, char *out)
{
	uint8_t c[300], r[300];
	DWORD rlen = sizeof(r), i;
	size_t len = unhex(cmd, c);

	out[0] = 0;
	if (SCardTransmit(s->card, SCARD_PCI_T0, c, len, NULL, r, &rlen) != SCARD_S_SUCCESS)
		return "error";
	for (i = 0; i < rlen; i++)
		sprintf(out + 2 * i, "%02x", r[i]);
	return out;
}

static void expect_tx(struct session *s, const char *cmd, const char *want)
{
	char out[700];

	tx(s, cmd, out);
	if (strcmp(out, want))
		TH_LOG("%s -> %s, want %s", cmd, out, want);
	EXPECT_EQ(0, strcmp(out, want));
}

static void setup(void)
{
	static bool once;

	if (!once) {
		once = true;
		snprintf(dir, sizeof(dir), "%s/testXXXXXX", topdir);
		ASSERT_TRUE(mkdtemp(dir) != NULL);
		ktap_after_each(after_each);
	}
}

TEST_TIMEOUT(profile_contents_reach_pc_sc, 60)
{
	char profile[128], out[700];
	struct session s;
	FILE *f;

	setup();
	snprintf(profile, sizeof(profile), "%s/cards.conf", dir);
	f = fopen(profile, "w");
	ASSERT_TRUE(f != NULL);
	fprintf(f, "cards = 2\n[card 1]\niccid = 8949000000000000017\nimsi = 262420000000017\n"
		"spn = Rack Net\n");
	fclose(f);
	pcsc_env_profile = profile;
	ASSERT_EQ(0, pcsc_env_start(&env, 2));
	open_card(&s, 1);
	/* EF.ICCID: BCD with nibbles swapped, padded with F */
	tx(&s, "00a40004022fe2", out);
	expect_tx(&s, "00b000000a", "989400000000000010f7" "9000");
	tx(&s, "00a4040407a0000000871002", out);
	tx(&s, "00a40004026f07", out);
	/* EF.IMSI: length 8, parity nibble 9, then the digits */
	expect_tx(&s, "00b0000009", "082926240000000071" "9000");
	close_card(&s);
	/* card 0 keeps the defaults */
	open_card(&s, 0);
	tx(&s, "00a40004022fe2", out);
	expect_tx(&s, "00b000000a", "988802000000000000f0" "9000");
	close_card(&s);
	pcsc_env_stop(&env);
	pcsc_env_profile = NULL;
}

TEST_TIMEOUT(state_survives_a_restart, 60)
{
	/* EF.MSISDN's record: 14 bytes */
	static const char record[] = "52656d73696dffffffffffffffff";
	char out[700], cmd[200];
	struct session s;

	char profile[128];
	FILE *f;

	setup();
	snprintf(profile, sizeof(profile), "%s/pin.conf", dir);
	f = fopen(profile, "w");
	ASSERT_TRUE(f != NULL);
	fprintf(f, "[card 0]\npin1-enabled = yes\n");
	fclose(f);
	pcsc_env_profile = profile;
	ASSERT_EQ(0, pcsc_env_start(&env, 1));
	open_card(&s, 0);
	/* an MSISDN record and a PIN change, written by the phone */
	expect_tx(&s, "002000010831323334ffffffff", "9000");
	tx(&s, "00a40004023f00", out);
	tx(&s, "00a40004027f10", out);
	tx(&s, "00a40004026f40", out);
	snprintf(cmd, sizeof(cmd), "00dc01040e%s", record);
	expect_tx(&s, cmd, "9000");
	expect_tx(&s, "002400011031323334ffffffff30303030ffffffff", "9000");
	close_card(&s);
	/* the daemon goes away (pcscd notices) and comes back */
	ASSERT_EQ(0, daemon_stop(&env.softsim, SIGTERM, 5000));
	ASSERT_TRUE(pcsc_env_wait_absent(&env, 0, 10000));
	ASSERT_EQ(0, pcsc_env_start_softsim(&env));
	ASSERT_TRUE(pcsc_env_wait_cards(&env, 15000));
	open_card(&s, 0);
	expect_tx(&s, "002000010831323334ffffffff", "63c2");	/* the old PIN fails */
	expect_tx(&s, "002000010830303030ffffffff", "9000");	/* the new one works */
	tx(&s, "00a40004023f00", out);
	tx(&s, "00a40004027f10", out);
	tx(&s, "00a40004026f40", out);
	snprintf(cmd, sizeof(cmd), "%s9000", record);
	expect_tx(&s, "00b201040e", cmd);
	close_card(&s);
	pcsc_env_stop(&env);
	pcsc_env_profile = NULL;
}

TEST(bad_profile_is_refused_with_its_line)
{
	char profile[128], log[128];
	char *argv[6];
	struct daemon d;
	FILE *f;

	setup();
	snprintf(profile, sizeof(profile), "%s/bad.conf", dir);
	snprintf(log, sizeof(log), "%s/bad.log", dir);
	f = fopen(profile, "w");
	ASSERT_TRUE(f != NULL);
	fprintf(f, "cards = 2\n\n[card 0]\nimsi = 26242x\n");
	fclose(f);
	argv[0] = (char *)daemon_bin("remsim-softsim");
	argv[1] = "-p";
	argv[2] = profile;
	argv[3] = NULL;
	ASSERT_EQ(0, daemon_start(&d, argv, log));
	EXPECT_EQ(2, daemon_wait(&d, 5000));
	EXPECT_TRUE(log_contains(log, "bad.conf:4: imsi must be 6..15 digits"));
}

/* remsim-softsim with @a1 @a2 [@a3 @a4] stops with status 2 and @want. */
static void expect_refused(const char *a1, const char *a2, const char *a3, const char *a4,
			   const char *want)
{
	char *argv[] = { (char *)daemon_bin("remsim-softsim"), (char *)a1, (char *)a2,
			 (char *)a3, (char *)a4, NULL };
	char log[128];
	struct daemon d;

	snprintf(log, sizeof(log), "%s/refused.log", dir);
	unlink(log);
	ASSERT_EQ(0, daemon_start(&d, argv, log));
	EXPECT_EQ(2, daemon_wait(&d, 5000));
	if (d.pid)
		daemon_stop(&d, SIGKILL, 1000);
	if (!log_contains(log, want))
		TH_LOG("%s: want \"%s\"", log, want);
	EXPECT_TRUE(log_contains(log, want));
}

/* A profile of @len bytes of @text; its path in @path. */
static void profile_of(char *path, size_t size, const char *text, size_t len)
{
	FILE *f;

	snprintf(path, size, "%s/p.conf", dir);
	f = fopen(path, "w");
	ASSERT_TRUE(f != NULL);
	ASSERT_EQ(len, fwrite(text, 1, len, f));
	ASSERT_EQ(0, fclose(f));
}

TEST(hostile_profiles_are_refused)
{
	static const char nul[] = "[card 0]\nimsi = 262420000000031\0 9\n";
	static const char twice[] = "cards = 2\n[card 1]\nimsi = 262420000000031\n"
				    "[card 0]\nimsi = 262420000000030\n[card 1]\n"
				    "imsi = 262420000000032\n";
	char path[128];

	setup();
	/* ends after 4097 bytes with the line-length error, not gigabytes later */
	expect_refused("-p", "/dev/zero", NULL, NULL, "/dev/zero:1: line longer than 4096 bytes");
	expect_refused("-p", "/tmp", NULL, NULL, "/tmp: is a directory");
	profile_of(path, sizeof(path), nul, sizeof(nul) - 1);
	expect_refused("-p", path, NULL, NULL, "p.conf:2: NUL byte in line");
	/* the same key of the same card twice, even in two sections */
	profile_of(path, sizeof(path), twice, sizeof(twice) - 1);
	expect_refused("-p", path, NULL, NULL, "p.conf:7: \"imsi\" is set on line 3 already");
	profile_of(path, sizeof(path), "cards = 2\ncards = 3\n", 20);
	expect_refused("-p", path, NULL, NULL, "p.conf:2: \"cards\" is set on line 1 already");
}

TEST(a_state_dir_that_is_not_one_is_refused)
{
	char path[128];

	setup();
	expect_refused("-s", "/nonexistent/x", NULL, NULL,
		       "--state-dir /nonexistent/x: No such file or directory");
	profile_of(path, sizeof(path), "cards = 1\n", 10);
	expect_refused("-p", path, "-s", path, "p.conf: Not a directory");
}

/* remsim-softsim on state directory @state stops with status 1 and @want. */
static void expect_state_refused(const char *state, const char *want)
{
	char *argv[] = { (char *)daemon_bin("remsim-softsim"), "-s", (char *)state, NULL };
	char log[128];
	struct daemon d;

	snprintf(log, sizeof(log), "%s/state.log", dir);
	unlink(log);
	ASSERT_EQ(0, daemon_start(&d, argv, log));
	EXPECT_EQ(1, daemon_wait(&d, 5000));
	if (d.pid)
		daemon_stop(&d, SIGKILL, 1000);
	if (!log_contains(log, want))
		TH_LOG("%s: want \"%s\"", log, want);
	EXPECT_TRUE(log_contains(log, want));
}

TEST(a_state_file_of_the_wrong_kind_or_size_is_refused_unread)
{
	char state[128];

	setup();
	snprintf(state, sizeof(state), "%s/badstate", dir);
	/* a directory in the state file's place */
	ASSERT_EQ(0, shell("mkdir -p %s/card0.state", state));
	expect_state_refused(state, "badstate: Is a directory");
	/* 1 TB, sparse: refused by its size, not read into memory */
	ASSERT_EQ(0, shell("rmdir %1$s/card0.state && truncate -s 1T %1$s/card0.state", state));
	expect_state_refused(state, "made for another card");
	ASSERT_EQ(0, shell("rm -rf %s", state));
}

/* Waits up to @ms for @text in the softsim's log. */
static bool wait_softsim_log(const char *text, int ms)
{
	int t;

	for (t = 0; t < ms / 20 && !log_contains(env.softsim.log, text); t++)
		usleep(20000);
	return log_contains(env.softsim.log, text);
}

/*
 * SIGUSR1 and SIGHUP once killed the softsim: now SIGUSR1 logs each
 * card's commands and SIGHUP is logged; the cards keep answering.
 */
TEST_TIMEOUT(sigusr1_counts_and_sighup_keeps_the_cards, 60)
{
	char first[700];
	struct session s;

	setup();
	ASSERT_EQ(0, pcsc_env_start(&env, 1));
	open_card(&s, 0);
	tx(&s, "a0a40000023f00", first);
	ASSERT_NE(0, first[0]);
	kill(env.softsim.pid, SIGUSR1);
	EXPECT_TRUE(wait_softsim_log("statistics: 1 cards", 5000));
	EXPECT_TRUE(wait_softsim_log("statistics: inserted, 1 commands", 2000));
	kill(env.softsim.pid, SIGHUP);
	EXPECT_TRUE(wait_softsim_log("SIGHUP: no config file to read again", 5000));
	expect_tx(&s, "a0a40000023f00", first);
	close_card(&s);
	pcsc_env_stop(&env);
}

int main(int argc, char **argv)
{
	return ktap_main_in_dir(argc, argv, topdir);
}
