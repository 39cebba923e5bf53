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

KTAP_MAIN
