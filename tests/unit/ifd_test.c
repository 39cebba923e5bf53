// SPDX-License-Identifier: GPL-2.0
/*
 * ifd_test - remsim-ifd, pcsc-lite's IFD handler of remsim. Its APDU to
 * T=0 TPDU mapping against a scripted card, its DEVICENAME parser, and the
 * library itself in Debian's pcscd, a reader whose card is a softsim card
 * of a real chain (remsim-server, remsim-bankd, pcscd and remsim-softsim of
 * the bank): the ATR and the ICCID through PC/SC, the bankd killed (the
 * card goes within a bounded time, pcscd keeps answering) and restarted
 * (the card comes back).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <PCSC/winscard.h>
#include <PCSC/ifdhandler.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "card.h"
#include "chain.h"
#include "daemon.h"
#include "ktap.h"
#include "pcsc_env.h"
#include "session.h"
#include "../../userspace/ifd/ifd.h"

/* --- the APDU mapping against a scripted card --- */

#define SCRIPT_MAX	8

struct script {
	unsigned int n, at;
	const char *cmd[SCRIPT_MAX], *resp[SCRIPT_MAX];	/* hex */
	int err;		/* returned once the script is used up, 0: fail */
	bool repeat;		/* the last exchange again and again, instead */
	unsigned int calls;
};

static size_t unhex(const char *h, uint8_t *out)
{
	size_t n = 0;
	unsigned int b;

	while (h[0] && h[1] && sscanf(h, "%2x", &b) == 1) {
		out[n++] = b;
		h += 2;
	}
	return n;
}

static int scripted(void *arg, const uint8_t *tx, size_t txlen, uint8_t *rx, size_t *rxlen)
{
	struct script *s = arg;
	uint8_t want[300];
	size_t n;

	s->calls++;
	if (s->repeat && s->at == s->n)
		s->at--;
	if (s->at >= s->n) {
		EXPECT_NE(0, s->err);
		return s->err ? s->err : -EIO;
	}
	n = unhex(s->cmd[s->at], want);
	EXPECT_EQ(n, txlen);
	if (n == txlen)
		EXPECT_EQ(0, memcmp(want, tx, n));
	n = unhex(s->resp[s->at++], rx);
	EXPECT_LE(n, *rxlen);
	*rxlen = n;
	return 0;
}

/* Runs APDU @apdu against the script: 0 and the response in hex, or -errno. */
static int run(struct script *s, const char *apdu, char *hex, size_t outcap)
{
	uint8_t in[300], out[600];
	size_t len = outcap, i;
	int ret;

	ret = ifd_t0_apdu(in, unhex(apdu, in), out, &len, scripted, s);
	if (!ret)
		for (i = 0; i < len; i++)
			sprintf(hex + 2 * i, "%02x", out[i]);
	return ret;
}

TEST(case1_gets_p3_00)
{
	struct script s = { .n = 1, .cmd = { "a004000000" }, .resp = { "9000" } };
	char hex[1200];

	ASSERT_EQ(0, run(&s, "a0040000", hex, 600));
	EXPECT_EQ(0, strcmp(hex, "9000"));
	EXPECT_EQ(1, s.at);
}

TEST(case4_loses_le_and_gathers_get_response)
{
	/* USIM SELECT by FID: 61XX, the data in two GET RESPONSE rounds */
	struct script s = { .n = 3,
			    .cmd = { "00a40004022fe2", "00c0000004", "00c0000002" },
			    .resp = { "6104", "62028202" "6102", "8a05" "9000" } };
	char hex[1200];

	ASSERT_EQ(0, run(&s, "00a40004022fe200", hex, 600));
	EXPECT_EQ(0, strcmp(hex, "620282028a059000"));
	EXPECT_EQ(3, s.at);
}

TEST(case3_keeps_61xx_for_the_caller)
{
	struct script s = { .n = 1, .cmd = { "00a40004022fe2" }, .resp = { "611e" } };
	char hex[1200];

	ASSERT_EQ(0, run(&s, "00a40004022fe2", hex, 600));
	EXPECT_EQ(0, strcmp(hex, "611e"));
}

TEST(case2_6cxx_again_with_that_le)
{
	struct script s = { .n = 2, .cmd = { "00b0000000", "00b0000002" },
			    .resp = { "6c02", "98889000" } };
	char hex[1200];

	ASSERT_EQ(0, run(&s, "00b0000000", hex, 600));
	EXPECT_EQ(0, strcmp(hex, "98889000"));
}

TEST(proprietary_class_gets_response_in_00)
{
	/* TS 102 221: STATUS in CLA 80, GET RESPONSE in its twin 00; channel 1 kept */
	struct script s = { .n = 2, .cmd = { "81f2000000", "01c0000002" },
			    .resp = { "6102", "abcd9000" } };
	char hex[1200];

	ASSERT_EQ(0, run(&s, "81f2000000", hex, 600));
	EXPECT_EQ(0, strcmp(hex, "abcd9000"));
}

TEST(gsm_9fxx_left_to_the_caller)
{
	struct script s = { .n = 1, .cmd = { "a0a40000023f00" }, .resp = { "9f16" } };
	char hex[1200];

	ASSERT_EQ(0, run(&s, "a0a40000023f0000", hex, 600));
	EXPECT_EQ(0, strcmp(hex, "9f16"));
}

TEST(bad_apdus_refused_before_the_card)
{
	struct script s = { .n = 0 };
	char hex[1200];

	EXPECT_EQ(-EINVAL, run(&s, "00a400", hex, 600));
	/* Lc 00: extended */
	EXPECT_EQ(-EINVAL, run(&s, "00a40000000002", hex, 600));
	/* Lc says 2, 3 bytes follow */
	EXPECT_EQ(-EINVAL, run(&s, "00a4000002aabbccdd", hex, 600));
	EXPECT_EQ(0, s.at);
}

TEST(limits_of_a_response)
{
	struct script small = { .n = 1, .cmd = { "00b0000004" }, .resp = { "010203049000" } };
	struct script endless = { .n = 1, .cmd = { "00b0000004" }, .resp = { "6c04" },
				  .repeat = true };
	struct script nosw = { .n = 1, .cmd = { "00b0000004" }, .resp = { "01" } };
	struct script lost = { .err = -ETIMEDOUT };
	char hex[1200];

	/* four data bytes and SW do not fit into five */
	EXPECT_EQ(-ENOSPC, run(&small, "00b0000004", hex, 5));
	/* a card that says 6C forever: the rounds end */
	EXPECT_EQ(-EPROTO, run(&endless, "00b0000004", hex, 600));
	EXPECT_EQ(IFD_T0_ROUNDS, endless.calls);
	EXPECT_EQ(-EPROTO, run(&nosw, "00b0000004", hex, 600));
	EXPECT_EQ(-ETIMEDOUT, run(&lost, "00b0000004", hex, 600));
}

TEST(device_names)
{
	struct ifd_dev d;
	char err[300];

	ASSERT_EQ(0, ifd_parse_device("server=10.1.2.3:9000 client=23 slot=1", &d, err,
				      sizeof(err)));
	EXPECT_EQ(0, strcmp(d.cfg.server_host, "10.1.2.3"));
	EXPECT_EQ(9000, d.cfg.server_port);
	EXPECT_EQ(23, d.cfg.slot.client_id);
	EXPECT_EQ(1, d.cfg.slot.slot_nr);
	EXPECT_EQ(IFD_TIMEOUT_MS_DEFAULT, d.timeout_ms);
	ASSERT_EQ(0, ifd_parse_device("client=5,server=[::1]:9998,timeout=250", &d, err,
				      sizeof(err)));
	EXPECT_EQ(0, strcmp(d.cfg.server_host, "::1"));
	EXPECT_EQ(9998, d.cfg.server_port);
	EXPECT_EQ(250, d.timeout_ms);
	EXPECT_EQ(-EINVAL, ifd_parse_device("server=h slot=0", &d, err, sizeof(err)));
	EXPECT_TRUE(strstr(err, "client") != NULL);
	EXPECT_EQ(-EINVAL, ifd_parse_device("client=1024", &d, err, sizeof(err)));
	EXPECT_EQ(-EINVAL, ifd_parse_device("client=1 timeout=10", &d, err, sizeof(err)));
	EXPECT_EQ(-EINVAL, ifd_parse_device("client=1 server=h:0", &d, err, sizeof(err)));
	EXPECT_EQ(-EINVAL, ifd_parse_device("client=1 colour=red", &d, err, sizeof(err)));
	EXPECT_TRUE(strstr(err, "colour") != NULL);
	EXPECT_EQ(-EINVAL, ifd_parse_device("client=1 slot", &d, err, sizeof(err)));
	/* as pcscd hands it over from reader.conf.d, quotes and all */
	ASSERT_EQ(0, ifd_parse_device("\"server=h:1 client=2 slot=3\"", &d, err, sizeof(err)));
	EXPECT_EQ(0, strcmp(d.cfg.server_host, "h"));
	EXPECT_EQ(3, d.cfg.slot.slot_nr);
	EXPECT_EQ(-EINVAL, ifd_parse_device("\"client=2", &d, err, sizeof(err)));
}

TEST(device_conf_file)
{
	char path[] = "/tmp/remsim-ifd-conf-XXXXXX", dev[200], err[300];
	struct ifd_dev d;
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");

	ASSERT_TRUE(f != NULL);
	fprintf(f, "# the reader's link\nserver = 10.0.0.1:9000\nclient = 7\n"
		"tls = on\ntls-ca = /etc/remsim/tls/ca.pem\n");
	fclose(f);
	snprintf(dev, sizeof(dev), "conf=%s slot=2", path);
	ASSERT_EQ(0, ifd_parse_device(dev, &d, err, sizeof(err)));
	EXPECT_EQ(0, strcmp(d.cfg.server_host, "10.0.0.1"));
	EXPECT_EQ(7, d.cfg.slot.client_id);
	EXPECT_EQ(2, d.cfg.slot.slot_nr);
	EXPECT_EQ(0, strcmp(d.tls.ca, "/etc/remsim/tls/ca.pem"));
	EXPECT_TRUE(rspro_tls_any(&d.tls));
	/* a bad line names the file and the line */
	f = fopen(path, "a");
	ASSERT_TRUE(f != NULL);
	fprintf(f, "tls-bankd = maybe\n");
	fclose(f);
	EXPECT_EQ(-EINVAL, ifd_parse_device(dev, &d, err, sizeof(err)));
	EXPECT_TRUE(strstr(err, ":6") != NULL);
	unlink(path);
	EXPECT_EQ(-EINVAL, ifd_parse_device(dev, &d, err, sizeof(err)));
	EXPECT_TRUE(strstr(err, path) != NULL);
}

/* --- the library's entry points, as pcscd calls them --- */

TEST(sixteen_readers_then_refused_all_closed)
{
	DWORD len = 0;
	uint8_t buf[300];
	DWORD n = sizeof(buf);
	char name[100];
	unsigned int round, i;
	SCARD_IO_HEADER pci = { SCARD_PROTOCOL_T0, 8 };

	/* twice: the loop thread stops with the last reader and starts again */
	for (round = 0; round < 2; round++) {
		/* a server that is not there: no card, and every call answers at once */
		for (i = 0; i < IFD_READERS_MAX; i++) {
			snprintf(name, sizeof(name), "\"server=127.0.0.1:1 client=%u slot=0\"", i);
			ASSERT_EQ(IFD_SUCCESS, IFDHCreateChannelByName(i << 16, name));
		}
		snprintf(name, sizeof(name), "server=127.0.0.1:1 client=99 slot=0");
		EXPECT_EQ(IFD_COMMUNICATION_ERROR, IFDHCreateChannelByName(99 << 16, name));
		EXPECT_EQ(IFD_ICC_NOT_PRESENT, IFDHICCPresence(0));
		len = sizeof(buf);
		EXPECT_EQ(IFD_ICC_NOT_PRESENT, IFDHPowerICC(0, IFD_POWER_UP, buf, &len));
		EXPECT_EQ(0, len);
		n = sizeof(buf);
		EXPECT_EQ(IFD_ICC_NOT_PRESENT,
			  IFDHTransmitToICC(0, pci, (PUCHAR)"\x00\xb0\x00\x00\x0a", 5, buf, &n,
					    NULL));
		EXPECT_EQ(0, n);
		EXPECT_EQ(IFD_PROTOCOL_NOT_SUPPORTED,
			  IFDHSetProtocolParameters(0, SCARD_PROTOCOL_T1, 0, 0, 0, 0));
		EXPECT_EQ(IFD_NO_SUCH_DEVICE, IFDHICCPresence(99 << 16));
		for (i = 0; i < IFD_READERS_MAX; i++)
			EXPECT_EQ(IFD_SUCCESS, IFDHCloseChannel(i << 16));
		EXPECT_EQ(IFD_NO_SUCH_DEVICE, IFDHCloseChannel(0));
	}
	/* no DEVICENAME, or a bad one: refused */
	EXPECT_EQ(IFD_COMMUNICATION_ERROR, IFDHCreateChannel(0, 0x103f8));
	EXPECT_EQ(IFD_COMMUNICATION_ERROR, IFDHCreateChannelByName(0, "client=1 slot=x"));
	EXPECT_EQ(IFD_NO_SUCH_DEVICE, IFDHICCPresence(0));
}

/* --- the library in pcscd --- */

/* FRIENDLYNAME, and pcscd's reader and slot numbers */
#define READER		"remsim 23:0 00 00"
#define READER2		"remsim 24:0 01 00"

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static long since_ms(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* pcscd with remsim-ifd readers for clients 23:0, 24:0 ..., for the chain's server */
static void start_ifd_pcscd_with(struct pcsc_env *e, struct chain *c, unsigned int readers,
				 const char *more)
{
	char words[200];

	snprintf(words, sizeof(words), "timeout=2000 %s", more);
	/* this process asks only this pcscd (the chain's are asked from children) */
	ASSERT_EQ(0, chain_start_ifd(c, e, readers, 23, words));
}

static void start_ifd_pcscd(struct pcsc_env *e, struct chain *c, unsigned int readers)
{
	start_ifd_pcscd_with(e, c, readers, "");
}

/* Waits up to @ms for @reader to have (or lose) its card. */
static bool wait_reader_card(SCARDCONTEXT ctx, const char *reader, bool present, int ms)
{
	SCARD_READERSTATE rs = { .szReader = reader, .dwCurrentState = SCARD_STATE_UNAWARE };
	int t;

	for (t = 0; t < ms; t += 100, sleep_ms(100)) {
		rs.dwCurrentState = SCARD_STATE_UNAWARE;
		if (SCardGetStatusChange(ctx, 0, &rs, 1) != SCARD_S_SUCCESS)
			continue;
		if (!!(rs.dwEventState & SCARD_STATE_PRESENT) == present)
			return true;
	}
	return false;
}

static bool wait_card(SCARDCONTEXT ctx, bool present, int ms)
{
	return wait_reader_card(ctx, READER, present, ms);
}

static LONG apdu(SCARDHANDLE h, const char *cmd, char *hex)
{
	uint8_t tx[300], rx[300];
	DWORD rxlen = sizeof(rx), i;
	LONG rv;

	rv = SCardTransmit(h, SCARD_PCI_T0, tx, unhex(cmd, tx), NULL, rx, &rxlen);
	hex[0] = 0;
	if (rv == SCARD_S_SUCCESS)
		for (i = 0; i < rxlen; i++)
			sprintf(hex + 2 * i, "%02x", rx[i]);
	return rv;
}

/* The default softsim card 0's EF.ICCID (89882000000000000000), case 4 SELECT */
static void read_iccid(SCARDHANDLE h)
{
	char hex[700];

	ASSERT_EQ(SCARD_S_SUCCESS, apdu(h, "00a40004022fe200", hex));
	/* the FCP came by GET RESPONSE: more than the status word */
	EXPECT_GT(strlen(hex), 4);
	EXPECT_EQ(0, strcmp(hex + strlen(hex) - 4, "9000"));
	ASSERT_EQ(SCARD_S_SUCCESS, apdu(h, "00b000000a", hex));
	EXPECT_EQ(0, strcmp(hex, "988802000000000000f09000"));
}

/* An APDU as bytes: 0 and data then SW in @rx, or the PC/SC error. */
static LONG apdu_bytes(SCARDHANDLE h, const uint8_t *cmd, DWORD len, uint8_t *rx, DWORD *rxlen)
{
	return SCardTransmit(h, SCARD_PCI_T0, cmd, len, NULL, rx, rxlen);
}

/*
 * USIM AUTHENTICATE through PC/SC on card 0, the network's side from
 * session.h: RES, CK and IK are what MILENAGE gives the network. The same
 * command again is a replay of its AUTN, which the card refuses with a
 * synchronisation failure: the first reached it, and the softsim's log
 * has that RAND twice, not more, so each reached it exactly once.
 */
static void authenticate(SCARDHANDLE h, struct pcsc_env *bank)
{
	uint8_t rx[300], res[8], ck[16], ik[16];
	struct card_profile prof;
	struct session_auth a;
	char hex[700], rand_hex[33];
	DWORD rxlen;
	int ret = -EAGAIN, i;

	/* ADF.USIM by its AID's first 7 bytes (case 4) */
	ASSERT_EQ(SCARD_S_SUCCESS, apdu(h, "00a4040407a000000087100200", hex));
	EXPECT_EQ(0, strcmp(hex + strlen(hex) - 4, "9000"));
	card_profile_default(&prof, 0);
	session_auth_init(&a, prof.ki, prof.opc, (uint64_t)(time(NULL) & 0xffff) << 5);
	/* a card whose SQN is ahead gets one resynchronisation, as from a network */
	for (i = 0; i < 2 && ret == -EAGAIN; i++) {
		rxlen = sizeof(rx);
		ASSERT_EQ(SCARD_S_SUCCESS, apdu_bytes(h, a.cmd, sizeof(a.cmd), rx, &rxlen));
		ASSERT_GE(rxlen, 2);
		/* the 61xx of case 4 was followed by the reader: data and 9000 */
		ASSERT_EQ(0x90, rx[rxlen - 2]);
		ret = session_auth_check(&a, rx, rxlen - 2, res, ck, ik);
	}
	ASSERT_EQ(0, ret);
	for (i = 0; i < 16; i++)
		sprintf(rand_hex + 2 * i, "%02x", a.rand[i]);

	rxlen = sizeof(rx);
	ASSERT_EQ(SCARD_S_SUCCESS, apdu_bytes(h, a.cmd, sizeof(a.cmd), rx, &rxlen));
	ASSERT_GE(rxlen, 2);
	EXPECT_EQ(0x90, rx[rxlen - 2]);
	EXPECT_EQ(0xdc, rx[0]);
	/* the AUTS is the card's own (its MAC-S checked) */
	EXPECT_EQ(-EAGAIN, session_auth_check(&a, rx, rxlen - 2, res, ck, ik));
	EXPECT_EQ(2, pcsc_env_count_commands(bank, 0, rand_hex));
}

static SCARDHANDLE connect_reader(SCARDCONTEXT ctx, const char *reader)
{
	SCARDHANDLE h = 0;
	DWORD proto = 0;

	EXPECT_EQ(SCARD_S_SUCCESS, SCardConnect(ctx, reader, SCARD_SHARE_SHARED,
						SCARD_PROTOCOL_T0, &h, &proto));
	EXPECT_EQ(SCARD_PROTOCOL_T0, proto);
	return h;
}

static SCARDHANDLE connect_card(SCARDCONTEXT ctx)
{
	return connect_reader(ctx, READER);
}

TEST_TIMEOUT(card_of_the_bank_through_pcscd, 150)
{
	static struct chain c;
	static struct pcsc_env ifd;
	SCARDCONTEXT ctx;
	SCARDHANDLE h;
	uint8_t atr[64];
	DWORD atrlen = sizeof(atr), state, proto, rlen = 0;
	struct timespec t0;
	char hex[700], name[64];
	LONG rv;

	ASSERT_EQ(0, chain_start(&c, 1, false));
	ASSERT_EQ(0, chain_wait_bankd(&c, 0, 10000));
	ASSERT_EQ(201, chain_map(&c, 0, 23, 0));
	start_ifd_pcscd(&ifd, &c, 1);
	ASSERT_EQ(SCARD_S_SUCCESS, SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx));
	ASSERT_TRUE(wait_card(ctx, true, 20000));

	h = connect_card(ctx);
	rlen = sizeof(name);
	ASSERT_EQ(SCARD_S_SUCCESS, SCardStatus(h, name, &rlen, &state, &proto, atr, &atrlen));
	/* the card's own ATR, not the client's local 3B 00 */
	EXPECT_EQ(0x3b, atr[0]);
	EXPECT_GT(atrlen, 2);
	read_iccid(h);
	authenticate(h, &c.bank[0].env);
	/* a warm reset goes to the bank's card, the card answers on */
	EXPECT_EQ(SCARD_S_SUCCESS, SCardReconnect(h, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0,
						  SCARD_RESET_CARD, &proto));
	read_iccid(h);
	/* (the bankd runs it before the next command: it is logged by now) */
	EXPECT_TRUE(log_contains(c.bank[0].bankd.log, "warm reset of the card"));

	/* the bankd dies: the card is gone within a bounded time */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	daemon_stop(&c.bank[0].bankd, SIGKILL, 2000);
	rv = apdu(h, "00b000000a", hex);
	EXPECT_NE(SCARD_S_SUCCESS, rv);
	EXPECT_LT(since_ms(&t0), 5000);
	EXPECT_TRUE(wait_card(ctx, false, 15000));
	EXPECT_LT(since_ms(&t0), 15000);
	/* pcscd answers on */
	rlen = 0;
	EXPECT_EQ(SCARD_S_SUCCESS, SCardListReaders(ctx, NULL, NULL, &rlen));
	SCardDisconnect(h, SCARD_LEAVE_CARD);

	/* the bankd is back: so is the card */
	ASSERT_EQ(0, chain_start_bankd(&c, 0));
	ASSERT_TRUE(wait_card(ctx, true, 30000));
	h = connect_card(ctx);
	read_iccid(h);
	SCardDisconnect(h, SCARD_UNPOWER_CARD);
	SCardReleaseContext(ctx);

	/* pcscd closes the reader: the library's loop thread ends, no hang */
	EXPECT_EQ(0, daemon_stop(&ifd.pcscd, SIGTERM, 10000));
	EXPECT_EQ(0, chain_stop(&c));
	shell("rm -rf %s", ifd.dir);
}

/*
 * TLS on both links, as an install runs, the credentials from a conf file
 * (chain_start_ifd() writes it for a chain with TLS).
 */
TEST_TIMEOUT(card_over_tls, 120)
{
	static struct chain c;
	static struct pcsc_env ifd;
	struct chain_opts o = { .cards = 1, .no_client = true, .tls = true };
	SCARDCONTEXT ctx;
	SCARDHANDLE h;

	ASSERT_EQ(0, chain_start_opts(&c, &o));
	ASSERT_EQ(201, chain_map(&c, 0, 23, 0));
	start_ifd_pcscd(&ifd, &c, 1);
	ASSERT_EQ(SCARD_S_SUCCESS, SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx));
	ASSERT_TRUE(wait_card(ctx, true, 20000));
	h = connect_card(ctx);
	read_iccid(h);
	SCardDisconnect(h, SCARD_LEAVE_CARD);
	SCardReleaseContext(ctx);
	EXPECT_EQ(0, daemon_stop(&ifd.pcscd, SIGTERM, 10000));
	EXPECT_EQ(0, chain_stop(&c));
	shell("rm -rf %s", ifd.dir);
}

/* A command on reader 23:0 from a thread of its own, timed. */
struct silent_cmd {
	SCARDHANDLE h;
	LONG rv;
	long ms;
};

static void *silent_transmit(void *arg)
{
	struct silent_cmd *sc = arg;
	struct timespec t0;
	char hex[700];

	clock_gettime(CLOCK_MONOTONIC, &t0);
	sc->rv = apdu(sc->h, "00b000000a", hex);
	sc->ms = since_ms(&t0);
	return NULL;
}

/*
 * Two readers of one pcscd, each a card of its own bank. The first bank's
 * bankd stops answering (SIGSTOP: its connection stays up): the command
 * there fails after the reader's timeout, not later, while the second
 * reader answers on meanwhile. The bankd back, its late answer is dropped
 * and the next command gets its own.
 */
TEST_TIMEOUT(silent_bankd_is_a_timeout_other_readers_go_on, 150)
{
	static struct chain c;
	static struct pcsc_env ifd;
	struct chain_opts o = { .cards = 1, .banks = 2, .no_client = true };
	struct silent_cmd sc = { 0 };
	SCARDCONTEXT ctx, ctx2;
	SCARDHANDLE h2;
	struct timespec t0;
	char hex[700];
	pthread_t th;
	int i;

	ASSERT_EQ(0, chain_start_opts(&c, &o));
	ASSERT_EQ(201, chain_map(&c, 0, 23, 0));
	ASSERT_EQ(201, chain_map(&c, 1, 24, 0));
	start_ifd_pcscd(&ifd, &c, 2);
	ASSERT_EQ(SCARD_S_SUCCESS, SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx));
	ASSERT_EQ(SCARD_S_SUCCESS, SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx2));
	ASSERT_TRUE(wait_reader_card(ctx, READER, true, 20000));
	ASSERT_TRUE(wait_reader_card(ctx, READER2, true, 20000));
	sc.h = connect_card(ctx);
	h2 = connect_reader(ctx2, READER2);
	read_iccid(sc.h);
	read_iccid(h2);

	ASSERT_EQ(0, kill(c.bank[0].bankd.pid, SIGSTOP));
	ASSERT_EQ(0, pthread_create(&th, NULL, silent_transmit, &sc));
	sleep_ms(200);
	/* the other reader, while the first waits */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < 5; i++)
		EXPECT_EQ(SCARD_S_SUCCESS, apdu(h2, "00b000000a", hex));
	EXPECT_LT(since_ms(&t0), 1500);
	pthread_join(th, NULL);
	EXPECT_NE(SCARD_S_SUCCESS, sc.rv);
	/* the reader's timeout is 2000 ms */
	EXPECT_GE(sc.ms, 1900);
	EXPECT_LT(sc.ms, 4000);
	kill(c.bank[0].bankd.pid, SIGCONT);
	/* the late answer went nowhere: the next command has its own */
	for (i = 0; i < 50 && apdu(sc.h, "00b000000a", hex) != SCARD_S_SUCCESS; i++)
		sleep_ms(100);
	EXPECT_EQ(0, strcmp(hex, "988802000000000000f09000"));

	SCardDisconnect(sc.h, SCARD_LEAVE_CARD);
	SCardDisconnect(h2, SCARD_LEAVE_CARD);
	SCardReleaseContext(ctx);
	SCardReleaseContext(ctx2);
	EXPECT_EQ(0, daemon_stop(&ifd.pcscd, SIGTERM, 10000));
	EXPECT_EQ(0, chain_stop(&c));
	shell("rm -rf %s", ifd.dir);
}

KTAP_MAIN
