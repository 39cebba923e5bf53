// SPDX-License-Identifier: GPL-2.0
/*
 * client_shell_test - remsim-client-shell (ASan build) against the real
 * chain: remsim-server, remsim-bankd, Debian's pcscd with vpcd, and
 * remsim-softsim. A mapped card answers hex TPDUs as a local card does, the
 * event script runs with osmo-remsim's environment, a command whose bankd
 * connection breaks is lost and never resent (the softsim's command log
 * proves it), and the server going away does not take the card away. On
 * fake peers: an unchanged bankd told again connects a waiting link.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "card.h"
#include "daemon.h"
#include "http.h"
#include "ktap.h"
#include "pcsc_env.h"
#include "shellproc.h"
#include "rspro_peer.h"

static struct pcsc_env env;
static struct daemon server, bankd;
static int rspro_port, rest_port;
static char dir[] = "/tmp/remsim-client-test-XXXXXX";
static char body[8192];

static void start_server(void)
{
	char db[128], log[128], rs[8], rt[8];
	char *argv[] = { (char *)daemon_bin("remsim-server"), "-D", db, "--rspro-bind",
			 "127.0.0.1", "--rspro-port", rs, "--rest-bind", "127.0.0.1",
			 "--rest-port", rt, NULL };

	snprintf(rs, sizeof(rs), "%d", rspro_port);
	snprintf(rt, sizeof(rt), "%d", rest_port);
	snprintf(db, sizeof(db), "%s/server.db", dir);
	snprintf(log, sizeof(log), "%s/server.log", dir);
	ASSERT_EQ(0, daemon_start(&server, argv, log));
	ASSERT_TRUE(wait_port(rest_port, 5000));
}

static void start_bankd(void)
{
	char log[128], rs[8], bp[8];
	char *argv[] = { (char *)daemon_bin("remsim-bankd"), "-i", "127.0.0.1", "-p", rs,
			 "-b", "1", "-n", "1", "-I", "127.0.0.1", "-P", bp, "-S", env.csv,
			 "-e", "debug",
			 /*
			  * The softsim's command log proves exactly-once; the
			  * inventory's IMSI read is the same READ BINARY.
			  */
			 "--inventory-interval", "0", NULL };
	int port = free_port();

	snprintf(rs, sizeof(rs), "%d", rspro_port);
	snprintf(bp, sizeof(bp), "%d", port);
	snprintf(log, sizeof(log), "%s/bankd.log", dir);
	ASSERT_EQ(0, daemon_start(&bankd, argv, log));
	ASSERT_TRUE(wait_port(port, 5000));
}

static void shell_start(struct shellproc *sh, const char *script)
{
	char port[8], log[128];
	char *args[] = { "-i", "127.0.0.1", "-p", port, "-c", "23", "-n", "0",
			 "--log-level", "debug", script ? "-e" : NULL, (char *)script, NULL };

	snprintf(port, sizeof(port), "%d", rspro_port);
	snprintf(log, sizeof(log), "%s/shell.log", dir);
	ASSERT_EQ(0, shellproc_start(sh, args, log));
}

/* The hex of the response a fresh local card gives to @cmd, osmo_hexdump-style. */
static void local_answer(const char *cmd_hex, char *out)
{
	struct card_profile p;
	struct card *c;
	uint8_t cmd[300], resp[300];
	size_t n = 0, r, i;
	unsigned int b;

	while (cmd_hex[0] && sscanf(cmd_hex, "%2x", &b) == 1) {
		cmd[n++] = b;
		cmd_hex += 2;
	}
	card_profile_default(&p, 0);
	c = card_new(&p);
	r = card_command(c, cmd, n, resp);
	for (i = 0; i < r; i++)
		sprintf(out + 3 * i, "%02x ", resp[i]);
	card_free(c);
}

static void setup(void)
{
	char json[200];
	int t;

	ASSERT_TRUE(mkdtemp(dir) != NULL);
	ASSERT_EQ(0, pcsc_env_start(&env, 1));
	rspro_port = free_port();
	rest_port = free_port();
	start_server();
	start_bankd();
	snprintf(json, sizeof(json),
		 "{\"bank\":{\"bankId\":1,\"slotNr\":0},\"client\":{\"clientId\":23,\"slotNr\":0}}");
	ASSERT_EQ(201, http_json(rest_port, "POST", "/api/backend/v1/slotmaps", json, body,
				 sizeof(body)));
	for (t = 0; t < 100 && !strstr(body, "ACTIVE"); t++) {
		usleep(50000);
		http_json(rest_port, "GET", "/api/backend/v1/slotmaps", NULL, body, sizeof(body));
	}
	ASSERT_TRUE(strstr(body, "ACTIVE") != NULL);
}

static void teardown(void)
{
	EXPECT_EQ(0, daemon_stop(&bankd, SIGTERM, 10000));
	EXPECT_EQ(0, daemon_stop(&server, SIGTERM, 10000));
	pcsc_env_stop(&env);
}

TEST_TIMEOUT(shell_session_event_script_and_exactly_once, 120)
{
	char script[160], events[160], want[1024], cmd[300], reply[200];
	struct shellproc sh;
	const char *line;
	size_t atr_len, i;
	const uint8_t *atr = card_atr(&atr_len);
	FILE *f;

	setup();
	/* an event script writing its cause and the variables to a file */
	snprintf(script, sizeof(script), "%s/event.sh", dir);
	snprintf(events, sizeof(events), "%s/events.txt", dir);
	f = fopen(script, "w");
	ASSERT_TRUE(f != NULL);
	fprintf(f, "#!/bin/sh\necho \"$1 $REMSIM_CAUSE $REMSIM_CLIENT_SLOT $REMSIM_BANKD_SLOT "
		"$REMSIM_SERVER_STATE $REMSIM_BANKD_ADDR\" >> %s\n", events);
	fclose(f);
	chmod(script, 0755);

	shell_start(&sh, script);
	/* the local ATR first, then the card's */
	line = shellproc_line(&sh, "SET_ATR: ", 15000);
	ASSERT_TRUE(line != NULL);
	EXPECT_EQ(0, strcmp(line, "3b 00 "));
	line = shellproc_line(&sh, "SET_ATR: ", 15000);
	ASSERT_TRUE(line != NULL);
	for (i = 0; i < atr_len; i++)
		sprintf(want + 3 * i, "%02x ", atr[i]);
	EXPECT_EQ(0, strcmp(line, want));
	/* a command answered as a local card answers it */
	ASSERT_EQ(0, shellproc_send(&sh, "a0a40000023f00"));
	line = shellproc_line(&sh, "R-APDU: ", 10000);
	ASSERT_TRUE(line != NULL);
	local_answer("a0a40000023f00", want);
	EXPECT_EQ(0, strcmp(line, want));
	/* the events so far, with osmo-remsim's names and variables */
	usleep(200000);
	snprintf(cmd, sizeof(cmd), "%s", events);
	EXPECT_TRUE(log_contains(cmd, "event-server-connect event-server-connect 23:0"));
	EXPECT_TRUE(log_contains(cmd, "event-config-bankd event-config-bankd 23:0 1:0 CONNECTED 127.0.0.1:"));
	EXPECT_TRUE(log_contains(cmd, "event-bankd-connect"));
	EXPECT_TRUE(log_contains(cmd, "request-card-insert"));

	/* the server goes away: the card stays */
	ASSERT_EQ(128 + SIGKILL, daemon_stop(&server, SIGKILL, 1000));
	ASSERT_EQ(0, shellproc_send(&sh, "a0f2000016"));
	line = shellproc_line(&sh, "R-APDU: ", 10000);
	ASSERT_TRUE(line != NULL);
	EXPECT_EQ(0, strncmp(line + strlen(line) - 6, "90 00 ", 6));
	start_server();

	/* the card vanishes during a command: lost, never sent twice */
	ASSERT_EQ(0, softsim_ctl(&env, "pull-on-apdu 0", reply, sizeof(reply)));
	ASSERT_EQ(0, shellproc_send(&sh, "a0b0000009"));
	usleep(1500000);
	{
		char log[128];

		snprintf(log, sizeof(log), "%s/shell.log", dir);
		EXPECT_TRUE(log_contains(log, "command lost (not resent)"));
	}
	EXPECT_EQ(1, pcsc_env_count_commands(&env, 0, "a0b0000009"));
	/* back in: served again, and the lost command still went once */
	ASSERT_EQ(0, softsim_ctl(&env, "insert 0", reply, sizeof(reply)));
	EXPECT_EQ(0, shellproc_stop(&sh));
	EXPECT_EQ(1, pcsc_env_count_commands(&env, 0, "a0b0000009"));
	teardown();
}

/*
 * SIGUSR1 and SIGHUP once killed the shell: now SIGUSR1 logs the slot's
 * counters, SIGHUP is logged, and the shell still ends cleanly at EOF.
 * No server is needed: the slot keeps trying to reach one.
 */
TEST_TIMEOUT(sigusr1_and_sighup_leave_the_shell_running, 30)
{
	struct shellproc sh;
	char log[128];
	int t;

	if (dir[strlen(dir) - 1] == 'X')
		ASSERT_TRUE(mkdtemp(dir) != NULL);
	rspro_port = free_port();
	snprintf(log, sizeof(log), "%s/shell.log", dir);
	shell_start(&sh, NULL);
	/* the signal handler is in place once the slot logs its first line */
	for (t = 0; t < 250 && !log_contains(log, "remsim-client-shell"); t++)
		usleep(20000);
	kill(sh.pid, SIGUSR1);
	for (t = 0; t < 250 && !log_contains(log, "statistics: "); t++)
		usleep(20000);
	EXPECT_TRUE(log_contains(log, "statistics: "));
	kill(sh.pid, SIGHUP);
	for (t = 0; t < 250 && !log_contains(log, "SIGHUP: no config file"); t++)
		usleep(20000);
	EXPECT_TRUE(log_contains(log, "SIGHUP: no config file"));
	EXPECT_EQ(0, shellproc_stop(&sh));
}

/* Runs @loop until @lfd has a connection to accept: its fd, or -1 after @ms. */
static int accept_within(struct ev_loop *loop, int lfd, int ms)
{
	uint64_t end = ev_now_ns() + ms * 1000000ull;
	int fd;

	do {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0)
			return fd;
		tpeer_run(loop, 2);
	} while (ev_now_ns() < end);
	return -1;
}

static void tell_bankd(struct tpeer *srv, int port)
{
	struct rspro_bank_slot bank = { 1, 0 };
	struct rspro_ip_port addr;
	struct rspro_pdu pdu;

	ASSERT_EQ(0, rspro_ip_port_parse(&addr, "127.0.0.1:1"));
	addr.port = port;
	rspro_config_client_bank_req(&pdu, bank, &addr);
	ASSERT_EQ(0, tpeer_send(srv, &pdu));
}

/*
 * The server tells a client its unchanged bankd again when that bankd
 * registered again (RSPRO_EXT_RETELL, announced in ConnectClientReq): a
 * link waiting out its back-off (here 0.75-1 s steps, the bankd away over
 * 5 s, accepting and closing) connects at once; a live session stays.
 */
TEST_TIMEOUT(same_bankd_again_connects_at_once_keeps_a_live_session, 30)
{
	struct ev_loop *loop = ev_loop_new();
	struct rspro_identity id;
	struct rspro_pdu pdu;
	struct tpeer srv, bk;
	int lsrv, lbank, fd, n = 0;
	struct shellproc sh;
	uint64_t t0;

	if (dir[strlen(dir) - 1] == 'X')
		ASSERT_TRUE(mkdtemp(dir) != NULL);
	ASSERT_TRUE(loop != NULL);
	lsrv = net_listen("127.0.0.1", 0, 8);
	lbank = net_listen("127.0.0.1", 0, 64);
	ASSERT_GE(lsrv, 0);
	ASSERT_GE(lbank, 0);
	rspro_port = net_local_port(lsrv);
	shell_start(&sh, NULL);
	ASSERT_EQ(0, tpeer_accept(&srv, loop, lsrv, 5000));
	ASSERT_TRUE(tpeer_wait(&srv, RSPRO_CONNECT_CLIENT_REQ, &pdu, 5000));
	EXPECT_TRUE(rspro_identity_has_ext(&pdu.connect_client_req.identity,
					   RSPRO_EXT_RETELL));
	rspro_identity_init(&id, RSPRO_COMP_SERVER, "fake", "remsim-server", "test");
	rspro_connect_client_res(&pdu, &id, RSPRO_OK);
	ASSERT_EQ(0, tpeer_send(&srv, &pdu));
	tell_bankd(&srv, net_local_port(lbank));
	/* the bankd is "down" past the fast retries: each attempt closed */
	t0 = ev_now_ns();
	while (ev_now_ns() - t0 < 5500 * 1000000ull) {
		fd = accept_within(loop, lbank, 300);
		if (fd >= 0) {
			close(fd);
			n++;
		}
	}
	EXPECT_GE(n, 15);
	fd = accept_within(loop, lbank, 2000);
	ASSERT_GE(fd, 0);
	close(fd);
	/* just after an attempt, the next one is 0.75-1 s away: told, it is now */
	t0 = ev_now_ns();
	tell_bankd(&srv, net_local_port(lbank));
	ASSERT_EQ(0, tpeer_accept(&bk, loop, lbank, 2000));
	ksft_print_msg("bankd link back %llu ms after the server said so\n",
		       (unsigned long long)((ev_now_ns() - t0) / 1000000));
	EXPECT_LE(ev_now_ns() - t0, 200 * 1000000ull);
	EXPECT_TRUE(tpeer_wait(&srv, RSPRO_CONFIG_CLIENT_BANK_RES, NULL, 2000));
	/* this time the bankd takes it: a live session */
	ASSERT_TRUE(tpeer_wait(&bk, RSPRO_CONNECT_CLIENT_REQ, NULL, 2000));
	rspro_identity_init(&id, RSPRO_COMP_BANKD, "fake", "remsim-bankd", "test");
	rspro_connect_client_res(&pdu, &id, RSPRO_OK);
	ASSERT_EQ(0, tpeer_send(&bk, &pdu));
	tpeer_run(loop, 200);
	tell_bankd(&srv, net_local_port(lbank));
	EXPECT_TRUE(tpeer_wait(&srv, RSPRO_CONFIG_CLIENT_BANK_RES, NULL, 2000));
	EXPECT_EQ(-1, accept_within(loop, lbank, 500));
	EXPECT_FALSE(bk.closed);
	tpeer_close(&bk);
	tpeer_close(&srv);
	close(lbank);
	close(lsrv);
	EXPECT_EQ(0, shellproc_stop(&sh));
	ev_loop_free(loop);
}

/*
 * The same for a link whose TCP connect is pending: the bankd's accept
 * queue was full, its SYN dropped, and the kernel sends it again only 1 s
 * later. Told its bankd again, the client connects anew at once.
 */
TEST_TIMEOUT(same_bankd_again_restarts_a_pending_connect, 30)
{
	struct ev_loop *loop = ev_loop_new();
	struct rspro_identity id;
	struct rspro_pdu pdu;
	int lsrv, lbank, fd, n, i, flood[8];
	struct tpeer srv;
	struct shellproc sh;
	uint64_t t0;

	if (dir[strlen(dir) - 1] == 'X')
		ASSERT_TRUE(mkdtemp(dir) != NULL);
	ASSERT_TRUE(loop != NULL);
	lsrv = net_listen("127.0.0.1", 0, 8);
	lbank = net_listen("127.0.0.1", 0, 0);
	ASSERT_GE(lsrv, 0);
	ASSERT_GE(lbank, 0);
	/* a full accept queue: the next SYN is dropped */
	n = tcp_flood(net_local_port(lbank), flood, 8);
	ASSERT_GE(n, 2);
	tpeer_run(loop, 100);
	rspro_port = net_local_port(lsrv);
	shell_start(&sh, NULL);
	ASSERT_EQ(0, tpeer_accept(&srv, loop, lsrv, 5000));
	ASSERT_TRUE(tpeer_wait(&srv, RSPRO_CONNECT_CLIENT_REQ, &pdu, 5000));
	rspro_identity_init(&id, RSPRO_COMP_SERVER, "fake", "remsim-server", "test");
	rspro_connect_client_res(&pdu, &id, RSPRO_OK);
	ASSERT_EQ(0, tpeer_send(&srv, &pdu));
	tell_bankd(&srv, net_local_port(lbank));
	ASSERT_TRUE(tpeer_wait(&srv, RSPRO_CONFIG_CLIENT_BANK_RES, NULL, 2000));
	tpeer_run(loop, 300);
	/* the queue emptied: only the flood's connections were in it */
	for (i = 0; i < n; i++)
		close(flood[i]);
	while ((fd = accept4(lbank, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
		close(fd);
	t0 = ev_now_ns();
	tell_bankd(&srv, net_local_port(lbank));
	fd = accept_within(loop, lbank, 3000);
	ASSERT_GE(fd, 0);
	ksft_print_msg("bankd link connected %llu ms after the server said so\n",
		       (unsigned long long)((ev_now_ns() - t0) / 1000000));
	EXPECT_LE(ev_now_ns() - t0, 150 * 1000000ull);
	close(fd);
	tpeer_close(&srv);
	close(lbank);
	close(lsrv);
	EXPECT_EQ(0, shellproc_stop(&sh));
	ev_loop_free(loop);
}

int main(int argc, char **argv)
{
	int ret;
	char cmd[100];

	signal(SIGPIPE, SIG_IGN);
	ret = ktap_main(argc, argv);
	if (!ret) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd))
			return 1;
	}
	return ret;
}
