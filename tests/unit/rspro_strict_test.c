// SPDX-License-Identifier: GPL-2.0
/*
 * rspro_strict_test - what remsim sends, checked by a strict peer: the BER
 * decoder of osmo-remsim's own RSPRO module (tests/rspro-strict), which
 * refuses every extension addition that module does not define.
 *
 * - every PDU type the library builds, in every combination of its
 *   optional parts, decodes strictly and re-encodes to the same DER;
 * - remsim's ConnectBankReq addition is refused (so the checker bites),
 *   and remsim's module is osmo's plus the listed additions only;
 * - remsim-bankd and remsim-server at start-up, seen by a fake peer on a
 *   socket: PING before Connect*Req as osmo-remsim, IPA CCM identity, and
 *   the bankd address only to a peer that said it understands it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon.h"
#include "ktap.h"
#include "remsim/ipa.h"
#include "remsim/rspro.h"
#include "../rspro-strict/strict.h"

static const struct rspro_client_slot cs = { 1023, 7 };
static const struct rspro_bank_slot bs = { 1, 1023 };

/* Encodes @pdu with the library and decodes it strictly: the tag or -1. */
static int strict(const struct rspro_pdu *pdu, char *why, size_t whylen)
{
	uint8_t buf[RSPRO_PDU_MAX];
	struct rspro_error err = { "" };
	int len = rspro_encode(pdu, buf, sizeof(buf), &err);

	if (len < 0) {
		snprintf(why, whylen, "does not encode: %s", err.msg);
		return -1;
	}
	return rspro_strict_decode(buf, len, why, whylen);
}

#define EXPECT_STRICT(pdu, what) do {						\
	char _why[200] = "";							\
	int _tag = strict(pdu, _why, sizeof(_why));				\
	if (_tag != (int)(pdu)->msg)						\
		TH_LOG("%s (%s): %s", rspro_msg_name((pdu)->msg), what, _why);	\
	EXPECT_EQ((int)(pdu)->msg, _tag);					\
} while (0)

/* An identity with the optional fields chosen by the bits of @opt. */
static void identity(struct rspro_identity *id, enum rspro_component type,
		     unsigned int opt)
{
	rspro_identity_init(id, type, "h", "remsim-x", "0.1-5-gabcdef0-dirty");
	if (opt & 1)
		strcpy(id->hw_manufacturer, "m");
	if (opt & 2)
		strcpy(id->hw_model, "remsim-ext:addr");
	if (opt & 4)
		strcpy(id->hw_serial, "01234567890123456789012345678901");
	if (opt & 8)
		strcpy(id->hw_version, "v");
	if (opt & 16)
		strcpy(id->fw_version, "f");
}

TEST(connect_pdus_every_identity)
{
	static const int32_t results[] = {
		RSPRO_OK, RSPRO_ILLEGAL_CLIENT_ID, RSPRO_ILLEGAL_BANK_ID,
		RSPRO_ILLEGAL_SLOT_ID, RSPRO_UNSUPPORTED_PROTOCOL, RSPRO_UNKNOWN_SLOTMAP,
		RSPRO_IDENTITY_IN_USE, RSPRO_CARD_NOT_PRESENT, RSPRO_CARD_UNRESPONSIVE,
		RSPRO_CARD_TRANSMISSION_ERROR,
	};
	static struct rspro_pdu pdu;
	struct rspro_identity id;
	unsigned int opt, r;

	for (opt = 0; opt < 32; opt++) {
		identity(&id, RSPRO_COMP_BANKD, opt);
		rspro_connect_bank_req(&pdu, &id, 1023, 1023);
		EXPECT_STRICT(&pdu, "plain");
		identity(&id, RSPRO_COMP_CLIENT, opt);
		rspro_connect_client_req(&pdu, &id, &cs);
		EXPECT_STRICT(&pdu, "with a client slot");
		rspro_connect_client_req(&pdu, &id, NULL);
		EXPECT_STRICT(&pdu, "without a client slot");
		for (r = 0; r < sizeof(results) / sizeof(results[0]); r++) {
			identity(&id, RSPRO_COMP_SERVER, opt);
			rspro_connect_bank_res(&pdu, &id, results[r]);
			EXPECT_STRICT(&pdu, rspro_result_name(results[r]));
			identity(&id, RSPRO_COMP_BANKD, opt);
			rspro_connect_client_res(&pdu, &id, results[r]);
			EXPECT_STRICT(&pdu, rspro_result_name(results[r]));
		}
	}
}

TEST(every_other_pdu_every_option)
{
	static const enum rspro_msg res[] = {
		RSPRO_CREATE_MAPPING_RES, RSPRO_REMOVE_MAPPING_RES, RSPRO_CONFIG_CLIENT_ID_RES,
		RSPRO_CONFIG_CLIENT_BANK_RES, RSPRO_SET_ATR_RES, RSPRO_RESET_STATE_RES,
	};
	static const char *const addrs[] = { "0.0.0.0:0", "192.168.1.10:9999",
					     "[2001:db8::1]:65535" };
	static struct rspro_pdu pdu;
	static uint8_t data[RSPRO_DATA_MAX];
	struct rspro_ip_port ipp;
	struct rspro_slot_phys phys;
	unsigned int i, opt;

	rspro_create_mapping_req(&pdu, cs, bs);
	EXPECT_STRICT(&pdu, "");
	rspro_remove_mapping_req(&pdu, cs, bs);
	EXPECT_STRICT(&pdu, "");
	rspro_config_client_id_req(&pdu, cs);
	EXPECT_STRICT(&pdu, "");
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, rspro_ip_port_parse(&ipp, addrs[i]));
		rspro_config_client_bank_req(&pdu, bs, &ipp);
		EXPECT_STRICT(&pdu, addrs[i]);
	}
	for (i = 0; i < sizeof(res) / sizeof(res[0]); i++) {
		rspro_result_res(&pdu, res[i], RSPRO_OK);
		EXPECT_STRICT(&pdu, "ok");
		rspro_result_res(&pdu, res[i], RSPRO_UNKNOWN_SLOTMAP);
		EXPECT_STRICT(&pdu, "unknownSlotmap");
	}
	for (i = 0; i < sizeof(data); i++)
		data[i] = i * 7;
	rspro_set_atr_req(&pdu, cs, data, 1);
	EXPECT_STRICT(&pdu, "1-byte ATR");
	rspro_set_atr_req(&pdu, cs, data, RSPRO_ATR_MAX);
	EXPECT_STRICT(&pdu, "longest ATR");
	for (i = 0; i <= RSPRO_DATA_MAX; i += i < 300 ? 1 : 181) {
		rspro_tpdu(&pdu, RSPRO_TPDU_MODEM_TO_CARD, cs, bs, data, i);
		EXPECT_STRICT(&pdu, "modem to card");
		rspro_tpdu(&pdu, RSPRO_TPDU_CARD_TO_MODEM, cs, bs, data, i);
		EXPECT_STRICT(&pdu, "card to modem");
	}
	/* every line known or unknown; the optional ones left out when unknown */
	for (opt = 0; opt < 2 * 27; opt++) {
		phys.reset_active = opt & 1;
		phys.vcc_present = (int)(opt / 2 % 3) - 1;
		phys.clk_active = (int)(opt / 6 % 3) - 1;
		phys.card_present = (int)(opt / 18 % 3) - 1;
		rspro_slot_status_ind(&pdu, RSPRO_CLIENT_SLOT_STATUS_IND, cs, bs, &phys);
		EXPECT_STRICT(&pdu, "client");
		rspro_slot_status_ind(&pdu, RSPRO_BANK_SLOT_STATUS_IND, cs, bs, &phys);
		EXPECT_STRICT(&pdu, "bank");
	}
	rspro_reset_state_req(&pdu);
	EXPECT_STRICT(&pdu, "");
	for (opt = 0; opt < 8; opt++) {
		rspro_error_ind(&pdu, RSPRO_COMP_BANKD, RSPRO_SEV_FATAL,
				RSPRO_ERR_UNEXPECTED_PROTOCOL_VERSION, opt & 4 ? "oops" : NULL);
		pdu.error_ind.has_bank_slot = opt & 1;
		pdu.error_ind.bank = bs;
		pdu.error_ind.has_client_slot = opt & 2;
		pdu.error_ind.client = cs;
		EXPECT_STRICT(&pdu, "errorInd");
	}
}

/*
 * remsim's one addition is refused by the strict peer: the checker does
 * refuse what osmo's module does not define, and the reason it must only
 * go to a peer that said it understands it.
 */
TEST(bankd_address_is_refused_by_osmo_module)
{
	static struct rspro_pdu pdu;
	struct rspro_identity id;
	char why[200] = "";

	identity(&id, RSPRO_COMP_BANKD, 0);
	rspro_connect_bank_req(&pdu, &id, 1, 8);
	pdu.connect_bank_req.has_bankd_addr = true;
	ASSERT_EQ(0, rspro_ip_port_parse(&pdu.connect_bank_req.bankd_addr, "0.0.0.0:9999"));
	EXPECT_EQ(-1, strict(&pdu, why, sizeof(why)));
	TH_LOG("connectBankReq with bankdAddress: %s", why);
}

/*
 * The card inventory addition: every field round-trips through the
 * library; the strict peer refuses it like bankdAddress; the constraints
 * of its strings are checked on encoding.
 */
TEST(card_info_round_trips_and_osmo_module_refuses_it)
{
	static struct rspro_pdu pdu, back;
	const struct rspro_card_info *ci = &back.connect_bank_req.card_info;
	struct rspro_identity id;
	uint8_t buf[RSPRO_PDU_MAX];
	char why[200] = "";
	int len;

	identity(&id, RSPRO_COMP_BANKD, 0);
	rspro_connect_bank_req(&pdu, &id, 1, 8);
	pdu.connect_bank_req.has_card_info = true;
	pdu.connect_bank_req.card_info = (struct rspro_card_info){
		.slot_nr = 5, .present = true, .reader = "Reader 5 00 00",
		.iccid = "8988211000000000005", .imsi = "001010000000005",
		.has_apdus = true, .apdus = 4000000000u,
		.has_card_time = true, .card_time_p50_us = 1200, .card_time_p99_us = 4000000000u,
	};
	len = rspro_encode(&pdu, buf, sizeof(buf), NULL);
	ASSERT_GT(len, 0);
	ASSERT_EQ(0, rspro_decode(buf, len, &back, NULL));
	ASSERT_TRUE(back.connect_bank_req.has_card_info);
	EXPECT_EQ(5, ci->slot_nr);
	EXPECT_TRUE(ci->present);
	EXPECT_EQ(0, strcmp("Reader 5 00 00", ci->reader));
	EXPECT_EQ(0, strcmp("8988211000000000005", ci->iccid));
	EXPECT_EQ(0, strcmp("001010000000005", ci->imsi));
	EXPECT_TRUE(ci->has_apdus);
	EXPECT_EQ(4000000000u, ci->apdus);
	EXPECT_TRUE(ci->has_card_time);
	EXPECT_EQ(1200u, ci->card_time_p50_us);
	EXPECT_EQ(4000000000u, ci->card_time_p99_us);
	EXPECT_FALSE(back.connect_bank_req.has_bankd_addr);
	EXPECT_EQ(-1, strict(&pdu, why, sizeof(why)));
	TH_LOG("connectBankReq with cardInfo: %s", why);
	/* an absent card: no strings, no count */
	memset(&pdu.connect_bank_req.card_info, 0, sizeof(pdu.connect_bank_req.card_info));
	len = rspro_encode(&pdu, buf, sizeof(buf), NULL);
	ASSERT_GT(len, 0);
	ASSERT_EQ(0, rspro_decode(buf, len, &back, NULL));
	EXPECT_FALSE(ci->present);
	EXPECT_EQ(0, strcmp("", ci->iccid));
	EXPECT_FALSE(ci->has_apdus);
	EXPECT_FALSE(ci->has_card_time);
	/* IA5String: no byte above 0x7f */
	snprintf(pdu.connect_bank_req.card_info.reader, RSPRO_READER_MAX + 1, "caf\xc3\xa9");
	EXPECT_EQ(-EINVAL, rspro_encode(&pdu, buf, sizeof(buf), NULL));
}

/*
 * The modem path addition of ConnectClientReq round-trips through the
 * library; the strict peer refuses it (it goes only to a server that
 * announced "path"), and takes the request without it; its size and
 * characters are checked on encoding.
 */
TEST(modem_path_round_trips_and_osmo_module_refuses_it)
{
	static const struct rspro_client_slot slot = { 3, 1 };
	static struct rspro_pdu pdu, back;
	struct rspro_identity id;
	uint8_t buf[RSPRO_PDU_MAX];
	char why[200] = "";
	int len;

	identity(&id, RSPRO_COMP_CLIENT, 0);
	rspro_connect_client_req(&pdu, &id, &slot);
	EXPECT_STRICT(&pdu, "no modemPath");
	snprintf(pdu.connect_client_req.modem_path, sizeof(pdu.connect_client_req.modem_path),
		 "pci-0000:00:14.0-usb-0:1.2:1.0");
	len = rspro_encode(&pdu, buf, sizeof(buf), NULL);
	ASSERT_GT(len, 0);
	ASSERT_EQ(0, rspro_decode(buf, len, &back, NULL));
	EXPECT_EQ(0, strcmp("pci-0000:00:14.0-usb-0:1.2:1.0",
			    back.connect_client_req.modem_path));
	EXPECT_TRUE(back.connect_client_req.has_slot);
	EXPECT_EQ(-1, strict(&pdu, why, sizeof(why)));
	TH_LOG("connectClientReq with modemPath: %s", why);
	/* 128 characters at most, IA5String */
	memset(pdu.connect_client_req.modem_path, 'a', RSPRO_MODEM_PATH_MAX);
	pdu.connect_client_req.modem_path[RSPRO_MODEM_PATH_MAX] = 0;
	EXPECT_GT(rspro_encode(&pdu, buf, sizeof(buf), NULL), 0);
	snprintf(pdu.connect_client_req.modem_path, sizeof(pdu.connect_client_req.modem_path),
		 "caf\xc3\xa9");
	EXPECT_EQ(-EINVAL, rspro_encode(&pdu, buf, sizeof(buf), NULL));
}

/* Bytes a strict decoder must refuse and asn1c's stock decoder accepts. */
TEST(strict_decoder_refuses_unknown_extensions)
{
	/* createMappingRes ok, then with an unknown [10] element */
	static const uint8_t ok[] = { 0x30, 0x0d, 0x80, 0x01, 0x02, 0x81, 0x01, 0x00, 0xa2,
				      0x05, 0xa5, 0x03, 0x0a, 0x01, 0x00 };
	static const uint8_t ext[] = { 0x30, 0x10, 0x80, 0x01, 0x02, 0x81, 0x01, 0x00, 0xa2,
				       0x08, 0xa5, 0x06, 0x0a, 0x01, 0x00, 0x8a, 0x01, 0x01 };
	/* an alternative [21] that osmo's choice does not have */
	static const uint8_t alt[] = { 0x30, 0x0a, 0x80, 0x01, 0x02, 0x81, 0x01, 0x00, 0xa2,
				       0x02, 0xb5, 0x00 };
	char why[200];

	EXPECT_EQ(RSPRO_CREATE_MAPPING_RES, rspro_strict_decode(ok, sizeof(ok), why, sizeof(why)));
	EXPECT_EQ(-1, rspro_strict_decode(ext, sizeof(ext), why, sizeof(why)));
	EXPECT_EQ(-1, rspro_strict_decode(alt, sizeof(alt), why, sizeof(why)));
}

/* The source tree: the test runs as SRC/build/tests/unit/NAME. */
static const char *src_dir(void)
{
	static char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *build;

	if (n <= 0)
		return ".";
	self[n] = 0;
	build = strstr(self, "/build/");
	if (build)
		*build = 0;
	return self;
}

/*
 * remsim's module is osmo's plus the listed additions and nothing else
 * (the build runs the same check); an addition nobody listed fails it.
 */
TEST(modules_differ_only_by_the_additions)
{
	const char *src = src_dir();
	char dir[] = "/tmp/rspro-strict-XXXXXX";

	ASSERT_TRUE(mkdtemp(dir) != NULL);
	EXPECT_EQ(0, shell("cd %s && scripts/asn1-strict-check asn1/RSPRO.asn "
			   "tests/rspro-strict/RSPRO.asn tests/rspro-strict/additions", src));
	/* a second, unlisted addition to ConnectBankRes */
	ASSERT_EQ(0, shell("sed '/^ConnectBankRes ::=/,/^}/s/^\t[.][.][.]$/\t...,\\n\tx [9] INTEGER OPTIONAL/' "
			   "%s/asn1/RSPRO.asn >%s/RSPRO.asn && grep -q 'x .9. INTEGER' %s/RSPRO.asn",
			   src, dir, dir));
	EXPECT_NE(0, shell("cd %s && scripts/asn1-strict-check %s/RSPRO.asn "
			   "tests/rspro-strict/RSPRO.asn tests/rspro-strict/additions 2>/dev/null",
			   src, dir));
	shell("rm -rf %s", dir);
}

/* --- start-up, seen by a fake peer on a socket --- */

static char tmp[] = "/tmp/rspro-strict-test-XXXXXX";
/* the daemon under test; the harness kills what a test leaves behind */
static struct daemon dmn;

/* Logs stay in a directory of each test's own, for a failure's reader. */
static void tmp_dir(void)
{
	ASSERT_TRUE(mkdtemp(tmp) != NULL);
}

/* A listening socket on 127.0.0.1 and a free port; returns the socket. */
static int raw_listen(int *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 4) ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl))
		return -1;
	*port = ntohs(sa.sin_port);
	return fd;
}

static int raw_accept(int lfd, int ms)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };

	if (poll(&p, 1, ms) != 1)
		return -1;
	return accept(lfd, NULL, NULL);
}

static int raw_connect(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		return -1;
	return fd;
}

static int read_full(int fd, uint8_t *buf, size_t len, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		if (poll(&p, 1, ms) != 1)
			return -1;
		n = read(fd, buf + got, len - got);
		if (n <= 0)
			return -1;
		got += n;
	}
	return 0;
}

/*
 * One IPA frame within @ms: buf[0] is the protocol byte (FE or EE), the
 * rest its payload; returns the length with the protocol byte, -1 if none.
 */
static int raw_frame(int fd, uint8_t *buf, size_t size, int ms)
{
	uint8_t hdr[IPA_HDR_LEN];
	size_t len;

	if (read_full(fd, hdr, sizeof(hdr), ms))
		return -1;
	len = (hdr[0] << 8 | hdr[1]) + 1;
	if (len > size)
		return -1;
	buf[0] = hdr[2];
	if (read_full(fd, buf + 1, len - 1, ms))
		return -1;
	return len;
}

static void raw_ccm(int fd, enum ipa_ccm type)
{
	uint8_t f[4];

	ipa_ccm_frame(f, type);
	ASSERT_EQ(4, write(fd, f, 4));
}

static void raw_pdu(int fd, const struct rspro_pdu *pdu)
{
	uint8_t buf[IPA_RSPRO_HDR_LEN + RSPRO_PDU_MAX];
	int len = rspro_encode(pdu, buf + IPA_RSPRO_HDR_LEN, RSPRO_PDU_MAX, NULL);

	ASSERT_GT(len, 0);
	ipa_rspro_header(buf, len);
	ASSERT_EQ(IPA_RSPRO_HDR_LEN + len, write(fd, buf, IPA_RSPRO_HDR_LEN + len));
}

static bool is_ccm(const uint8_t *f, int len, enum ipa_ccm type)
{
	return len == 2 && f[0] == IPA_PROTO_CCM && f[1] == type;
}

/*
 * The next RSPRO frame within @ms, answering PINGs on the way: decoded by
 * the library into @pdu, and by the strict peer (its tag, or -1 in *@tag).
 * Any other CCM message fails the test.
 */
static bool next_pdu(int fd, struct rspro_pdu *pdu, int *tag, int ms)
{
	uint8_t f[4096];
	char why[200];
	int len;

	while ((len = raw_frame(fd, f, sizeof(f), ms)) > 0) {
		if (is_ccm(f, len, IPA_CCM_PING)) {
			raw_ccm(fd, IPA_CCM_PONG);
			continue;
		}
		if (f[0] != IPA_PROTO_OSMO || len < 2 || f[1] != IPA_EXT_RSPRO) {
			TH_LOG("unexpected frame: proto %02x, %d bytes, type %02x", f[0], len,
			       len > 1 ? f[1] : 0);
			ASSERT_TRUE(false);
		}
		*tag = rspro_strict_decode(f + 2, len - 2, why, sizeof(why));
		if (*tag < 0)
			TH_LOG("strict peer: %s", why);
		ASSERT_EQ(0, rspro_decode(f + 2, len - 2, pdu, NULL));
		return true;
	}
	return false;
}

/* remsim-bankd toward a fake server on @port; @announce NULL: the default. */
static void bankd_start(int port, int *bankd_port, const char *announce)
{
	char csv[sizeof(tmp) + 16], log[sizeof(tmp) + 16], p[8], bp[8];
	char *argv[20] = { (char *)daemon_bin("remsim-bankd"), "-i", "127.0.0.1", "-p", p,
			   "-b", "7", "-n", "2", "-I", "127.0.0.1", "-P", bp, "-S", csv,
			   "-e", "debug" };
	FILE *f;

	if (announce) {
		argv[17] = "--announce-address";
		argv[18] = (char *)announce;
	}
	snprintf(csv, sizeof(csv), "%s/slots.csv", tmp);
	snprintf(log, sizeof(log), "%s/bankd.log", tmp);
	f = fopen(csv, "w");
	ASSERT_TRUE(f != NULL);
	fprintf(f, "\"7\",\"0\",\"no such reader\"\n\"7\",\"1\",\"no such reader\"\n");
	fclose(f);
	*bankd_port = free_port();
	snprintf(p, sizeof(p), "%d", port);
	snprintf(bp, sizeof(bp), "%d", *bankd_port);
	ASSERT_EQ(0, daemon_start(&dmn, argv, log));
}

static void daemon_done(void)
{
	int status = daemon_stop(&dmn, SIGTERM, 10000);

	if (status)
		TH_LOG("exit status %d, see %s", status, dmn.log);
	EXPECT_EQ(0, status);
}

/*
 * The ID_RESP a connecting side sends on ID_GET: IEs of a 16-bit length
 * (tag and value), the tag and a NUL-terminated value, as libosmocore's
 * ipa_ccm_make_id_resp() writes them; the unit id osmo-remsim-server needs
 * is the all-zero unit "0/0/0". Then ID_ACK.
 */
static void check_id_resp(int fd)
{
	static const uint8_t id_get[] = { 0x00, 0x03, IPA_PROTO_CCM, IPA_CCM_ID_GET,
					  0x01, 0x08 };
	uint8_t f[512];
	int len, i, unit = 0;

	ASSERT_EQ((int)sizeof(id_get), write(fd, id_get, sizeof(id_get)));
	do
		len = raw_frame(fd, f, sizeof(f), 3000);
	while (is_ccm(f, len, IPA_CCM_PING) || is_ccm(f, len, IPA_CCM_PONG));
	ASSERT_GT(len, 2);
	ASSERT_EQ(IPA_PROTO_CCM, f[0]);
	ASSERT_EQ(IPA_CCM_ID_RESP, f[1]);
	for (i = 2; i + 3 <= len; ) {
		int ie = f[i] << 8 | f[i + 1];

		ASSERT_GE(ie, 1);
		ASSERT_LE(i + 2 + ie, len);
		if (f[i + 2] == 0x08) {
			EXPECT_EQ(7, ie);
			EXPECT_MEMEQ("0/0/0", f + i + 3, 6);
			unit++;
		}
		i += 2 + ie;
	}
	EXPECT_EQ(len, i);
	EXPECT_EQ(1, unit);
	len = raw_frame(fd, f, sizeof(f), 3000);
	EXPECT_TRUE(is_ccm(f, len, IPA_CCM_ID_ACK));
}

/* Accepts the bankd and checks its start: PING first, then a strict request. */
static int bankd_hello(int lfd, struct rspro_pdu *req)
{
	uint8_t f[4096];
	int fd, len, tag;

	fd = raw_accept(lfd, 5000);
	ASSERT_GE(fd, 0);
	/* osmo-remsim's link starts its keep-alive (a PING) before the request */
	len = raw_frame(fd, f, sizeof(f), 3000);
	if (!is_ccm(f, len, IPA_CCM_PING))
		TH_LOG("first frame: %d bytes, proto %02x %02x", len, f[0], f[1]);
	EXPECT_TRUE(is_ccm(f, len, IPA_CCM_PING));
	if (is_ccm(f, len, IPA_CCM_PING))
		raw_ccm(fd, IPA_CCM_PONG);
	ASSERT_TRUE(next_pdu(fd, req, &tag, 3000));
	EXPECT_EQ(RSPRO_CONNECT_BANK_REQ, req->msg);
	/* what any peer gets first: nothing osmo's module does not define */
	EXPECT_EQ(RSPRO_CONNECT_BANK_REQ, tag);
	return fd;
}

/* A ConnectBankRes as osmo-remsim-server sends it, or remsim-server's mark. */
static void bank_res(int fd, bool marked)
{
	static struct rspro_pdu pdu;
	struct rspro_identity id;

	rspro_identity_init(&id, RSPRO_COMP_SERVER, "srv", "remsim-server", "1.1.3");
	if (marked)
		rspro_identity_set_exts(&id, RSPRO_EXT_BANKD_ADDR);
	rspro_connect_bank_res(&pdu, &id, RSPRO_OK);
	raw_pdu(fd, &pdu);
}

/* Whatever else comes within @ms: strict, and no second ConnectBankReq. */
static void nothing_more(int fd, int ms)
{
	static struct rspro_pdu pdu;
	int tag;

	while (next_pdu(fd, &pdu, &tag, ms)) {
		EXPECT_NE(RSPRO_CONNECT_BANK_REQ, pdu.msg);
		EXPECT_EQ((int)pdu.msg, tag);
	}
}

TEST(bankd_start_toward_osmo_server)
{
	static struct rspro_pdu req;
	int lfd, fd, port, bport;

	tmp_dir();
	lfd = raw_listen(&port);
	ASSERT_GE(lfd, 0);
	bankd_start(port, &bport, NULL);
	fd = bankd_hello(lfd, &req);
	EXPECT_EQ(RSPRO_COMP_BANKD, req.connect_bank_req.identity.type);
	EXPECT_EQ(0, strcmp(req.connect_bank_req.identity.software, "remsim-bankd"));
	EXPECT_EQ(7, req.connect_bank_req.bank_id);
	EXPECT_EQ(2, req.connect_bank_req.num_slots);
	EXPECT_FALSE(req.connect_bank_req.has_bankd_addr);
	check_id_resp(fd);
	bank_res(fd, false);
	nothing_more(fd, 500);
	close(fd);
	close(lfd);
	daemon_done();
}

TEST(bankd_start_toward_remsim_server)
{
	static struct rspro_pdu req;
	int lfd, fd, port, bport, tag;

	tmp_dir();
	lfd = raw_listen(&port);
	ASSERT_GE(lfd, 0);
	bankd_start(port, &bport, NULL);
	fd = bankd_hello(lfd, &req);
	EXPECT_FALSE(req.connect_bank_req.has_bankd_addr);
	bank_res(fd, true);
	/* the peer said it understands the address: it comes now */
	ASSERT_TRUE(next_pdu(fd, &req, &tag, 3000));
	ASSERT_EQ(RSPRO_CONNECT_BANK_REQ, req.msg);
	EXPECT_EQ(-1, tag);
	EXPECT_TRUE(req.connect_bank_req.has_bankd_addr);
	EXPECT_EQ(bport, req.connect_bank_req.bankd_addr.port);
	EXPECT_EQ(7, req.connect_bank_req.bank_id);
	bank_res(fd, true);
	nothing_more(fd, 300);
	close(fd);
	close(lfd);
	daemon_done();
}

TEST(bankd_announce_address_yes_no)
{
	static struct rspro_pdu req;
	int lfd, fd, port, bport;

	tmp_dir();
	lfd = raw_listen(&port);
	ASSERT_GE(lfd, 0);
	/* yes: in the first request, for a peer known to have the addition */
	bankd_start(port, &bport, "yes");
	fd = raw_accept(lfd, 5000);
	ASSERT_GE(fd, 0);
	ASSERT_TRUE(next_pdu(fd, &req, &(int){ 0 }, 3000));
	EXPECT_TRUE(req.connect_bank_req.has_bankd_addr);
	EXPECT_EQ(bport, req.connect_bank_req.bankd_addr.port);
	bank_res(fd, false);
	nothing_more(fd, 300);
	close(fd);
	daemon_done();
	/* no: never, even to a server that understands it */
	bankd_start(port, &bport, "no");
	fd = bankd_hello(lfd, &req);
	EXPECT_FALSE(req.connect_bank_req.has_bankd_addr);
	bank_res(fd, true);
	nothing_more(fd, 500);
	close(fd);
	close(lfd);
	daemon_done();
	/* anything else is refused at start */
	bankd_start(port, &bport, "maybe");
	EXPECT_EQ(2, daemon_wait(&dmn, 5000));
	EXPECT_TRUE(log_contains(dmn.log, "announce-address"));
}

/* remsim-server at accept: PING at once, never ID_GET; the marked answer. */
TEST(server_start_toward_bankd)
{
	static struct rspro_pdu pdu;
	char db[sizeof(tmp) + 16], log[sizeof(tmp) + 16], rs[8], rt[8];
	char *argv[] = { (char *)daemon_bin("remsim-server"), "-D", db, "--rspro-bind",
			 "127.0.0.1", "--rspro-port", rs, "--rest-bind", "127.0.0.1",
			 "--rest-port", rt, "-e", "debug", NULL };
	struct rspro_identity id;
	uint8_t f[64];
	int fd, len, tag, port = free_port();

	tmp_dir();
	snprintf(rs, sizeof(rs), "%d", port);
	snprintf(rt, sizeof(rt), "%d", free_port());
	snprintf(db, sizeof(db), "%s/server.db", tmp);
	snprintf(log, sizeof(log), "%s/server.log", tmp);
	ASSERT_EQ(0, daemon_start(&dmn, argv, log));
	ASSERT_TRUE(wait_port(port, 5000));
	fd = raw_connect(port);
	ASSERT_GE(fd, 0);
	len = raw_frame(fd, f, sizeof(f), 3000);
	EXPECT_TRUE(is_ccm(f, len, IPA_CCM_PING));
	raw_ccm(fd, IPA_CCM_PONG);
	/* ID_ACK is answered with ID_ACK, as osmo-remsim-server does */
	raw_ccm(fd, IPA_CCM_ID_ACK);
	len = raw_frame(fd, f, sizeof(f), 3000);
	EXPECT_TRUE(is_ccm(f, len, IPA_CCM_ID_ACK));
	rspro_identity_init(&id, RSPRO_COMP_BANKD, "b", "remsim-bankd", "1.1.3");
	rspro_connect_bank_req(&pdu, &id, 3, 4);
	raw_pdu(fd, &pdu);
	ASSERT_TRUE(next_pdu(fd, &pdu, &tag, 3000));
	ASSERT_EQ(RSPRO_CONNECT_BANK_RES, pdu.msg);
	EXPECT_EQ(RSPRO_CONNECT_BANK_RES, tag);
	EXPECT_EQ(RSPRO_OK, pdu.connect_res.result);
	EXPECT_EQ(0, strcmp(pdu.connect_res.identity.software, "remsim-server"));
	EXPECT_TRUE(rspro_identity_has_ext(&pdu.connect_res.identity, RSPRO_EXT_BANKD_ADDR));
	EXPECT_TRUE(rspro_identity_has_ext(&pdu.connect_res.identity, RSPRO_EXT_CARDS));
	close(fd);
	daemon_done();
}

KTAP_MAIN
