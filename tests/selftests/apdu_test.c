// SPDX-License-Identifier: GPL-2.0
/*
 * apdu_test - the T=0 exchange through a simulated slot, phone to owner and
 * back: every APDU case, the lengths at their limits, status words the
 * phone acts on (61xx, 9Fxx, 6Cxx), responses that do not fit, malformed
 * and interrupted exchanges, time-outs, NULL bytes, PPS, raw mode and the
 * back-pressure of a full queue. Built again as apdu_usb_test, on a slot
 * of the software USB board.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <poll.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "board.h"
#include "ktap.h"
#include "modem.h"
#include "remsim/nl.h"
#include "sim_modem.h"
#include "slotdev.h"
#include "uffd.h"

static struct slot_fixture fx;

/* What a test changes in the module, back to the defaults. */
static void restore_params(void)
{
	slot_set_param("remsim", "queue_depth", "16");
	slot_set_param("remsim", "apdu_timeout", "60000");
}

static void __attribute__((constructor)) register_restore(void)
{
	ktap_after_each(restore_params);
}

static void setup(void)
{
	ASSERT_EQ(0, slot_fixture(&fx, O_RDWR));
	ASSERT_EQ(0, slot_fixture_power_on(&fx));
}

static const struct remsim_apdu *apdu_of(const struct slot_msg *msg)
{
	return (const struct remsim_apdu *)msg->payload;
}

/* The owner reads the next APDU and checks its header and case. */
static void expect_apdu(struct slot_msg *msg, const uint8_t *hdr, uint8_t apdu_case,
			unsigned int lc, unsigned int le)
{
	const struct remsim_apdu *a = apdu_of(msg);

	ASSERT_EQ(0, slot_read_type(fx.fd, REMSIM_MSG_APDU, msg, 3000));
	ASSERT_EQ(sizeof(*a) + 5 + lc, msg->hdr.len);
	EXPECT_MEMEQ(hdr, a->tpdu, 5);
	EXPECT_EQ(apdu_case, a->apdu_case);
	EXPECT_EQ(lc, a->lc);
	EXPECT_EQ(le, a->le);
	EXPECT_EQ(0, a->reserved0 | a->reserved1);
}

static void expect_error(uint32_t code, uint16_t sw, uint64_t ref_seq)
{
	struct slot_msg msg;
	const struct remsim_error *e = (const void *)msg.payload;

	ASSERT_EQ(0, slot_read_type(fx.fd, REMSIM_MSG_ERROR, &msg, 3000));
	EXPECT_EQ(code, e->code);
	EXPECT_EQ(sw, e->sw);
	EXPECT_EQ(ref_seq, e->ref_seq);
}

static struct remsim_stats stats(void)
{
	struct remsim_stats st;

	ASSERT_EQ(0, ioctl(fx.fd, REMSIM_IOC_GET_STATS, &st));
	return st;
}

/* One case-1 exchange on the slot set up. */
static void do_case1(void)
{
	uint8_t apdu[] = { 0xa0, 0x04, 0x00, 0x00 };	/* INVALIDATE */
	uint8_t hdr[] = { 0xa0, 0x04, 0x00, 0x00, 0x00 };
	struct remsim_stats before = stats();
	struct phone_call call;
	struct slot_msg msg;

	ASSERT_EQ(0, phone_call_start(&call, fx.modem, apdu, sizeof(apdu)));
	expect_apdu(&msg, hdr, REMSIM_CASE_1, 0, 0);
	ASSERT_EQ(0, slot_respond(fx.fd, msg.hdr.seq, (uint8_t[]){ 0x90, 0x00 }, 2));
	ASSERT_EQ(0, phone_call_wait(&call));
	EXPECT_EQ(0x9000, call.sw);
	EXPECT_EQ(2, call.resp_len);
	EXPECT_EQ(before.apdus + 1, stats().apdus);
	EXPECT_EQ(before.responses + 1, stats().responses);
}

TEST(case1_no_data)
{
	setup();
	do_case1();
}

static void case2(uint8_t p3, unsigned int le)
{
	uint8_t apdu[] = { 0xa0, 0xb0, 0x00, 0x00, p3 };	/* READ BINARY */
	uint8_t resp[258];
	struct phone_call call;
	struct slot_msg msg;

	setup();
	for (unsigned int i = 0; i < le; i++)
		resp[i] = i * 7;
	resp[le] = 0x90;
	resp[le + 1] = 0x00;
	ASSERT_EQ(0, phone_call_start(&call, fx.modem, apdu, sizeof(apdu)));
	expect_apdu(&msg, apdu, REMSIM_CASE_2, 0, le);
	ASSERT_EQ(0, slot_respond(fx.fd, msg.hdr.seq, resp, le + 2));
	ASSERT_EQ(0, phone_call_wait(&call));
	EXPECT_EQ(0x9000, call.sw);
	ASSERT_EQ(le + 2, call.resp_len);
	EXPECT_MEMEQ(resp, call.resp, le);
}

TEST(case2_response_data)
{
	case2(10, 10);
}

TEST(case2_le_1)
{
	case2(1, 1);
}

TEST(case2_le_0_means_256)
{
	case2(0, 256);
}

static void do_case3(uint8_t lc)
{
	uint8_t apdu[5 + 255] = { 0xa0, 0xd6, 0x00, 0x00, lc };	/* UPDATE BINARY */
	struct phone_call call;
	struct slot_msg msg;

	for (unsigned int i = 0; i < lc; i++)
		apdu[5 + i] = 255 - i;
	ASSERT_EQ(0, phone_call_start(&call, fx.modem, apdu, 5 + lc));
	expect_apdu(&msg, apdu, REMSIM_CASE_3, lc, 0);
	EXPECT_MEMEQ(apdu + 5, apdu_of(&msg)->tpdu + 5, lc);
	ASSERT_EQ(0, slot_respond(fx.fd, msg.hdr.seq, (uint8_t[]){ 0x90, 0x00 }, 2));
	ASSERT_EQ(0, phone_call_wait(&call));
	EXPECT_EQ(0x9000, call.sw);
}

TEST(case3_command_data)
{
	setup();
	do_case3(2);
}

TEST(case3_lc_255)
{
	setup();
	do_case3(255);
}

TEST(case3_p3_0_has_no_data_phase)
{
	uint8_t apdu[] = { 0x00, 0x20, 0x00, 0x01 };	/* VERIFY: PIN tries left */
	uint8_t hdr[] = { 0x00, 0x20, 0x00, 0x01, 0x00 };
	struct phone_call call;
	struct slot_msg msg;

	setup();
	ASSERT_EQ(0, phone_call_start(&call, fx.modem, apdu, sizeof(apdu)));
	expect_apdu(&msg, hdr, REMSIM_CASE_3, 0, 0);
	ASSERT_EQ(0, slot_respond(fx.fd, msg.hdr.seq, (uint8_t[]){ 0x63, 0xc3 }, 2));
	ASSERT_EQ(0, phone_call_wait(&call));
	EXPECT_EQ(0x63c3, call.sw);
}

/* SELECT on a UICC: 61xx, then the phone's own GET RESPONSE (case 2). */
TEST(case4_61xx_then_get_response)
{
	uint8_t apdu[] = { 0x00, 0xa4, 0x00, 0x04, 0x02, 0x3f, 0x00, 0x00 };
	uint8_t get[] = { 0x00, 0xc0, 0x00, 0x00, 0x03 };
	uint8_t fcp[] = { 0x62, 0x01, 0x82, 0x90, 0x00 };
	struct phone_call call;
	struct slot_msg msg;

	setup();
	ASSERT_EQ(0, phone_call_start(&call, fx.modem, apdu, sizeof(apdu)));
	expect_apdu(&msg, apdu, REMSIM_CASE_4, 2, 0);
	EXPECT_MEMEQ(apdu + 5, apdu_of(&msg)->tpdu + 5, 2);
	ASSERT_EQ(0, slot_respond(fx.fd, msg.hdr.seq, (uint8_t[]){ 0x61, 0x03 }, 2));
	expect_apdu(&msg, get, REMSIM_CASE_2, 0, 3);
	ASSERT_EQ(0, slot_respond(fx.fd, msg.hdr.seq, fcp, sizeof(fcp)));
	ASSERT_EQ(0, phone_call_wait(&call));
	EXPECT_EQ(0x9000, call.sw);
	ASSERT_EQ(5, call.resp_len);
	EXPECT_MEMEQ(fcp, call.resp, 5);
	EXPECT_EQ(2, stats().apdus);
}

/* A GSM SIM says 9Fxx; the phone asks A0 C0. */
TEST(case4_9fxx_gsm)
{
	uint8_t apdu[] = { 0xa0, 0x88, 0x00, 0x00, 0x10, 1, 2, 3, 4, 5, 6, 7, 8,
			   9, 10, 11, 12, 13, 14, 15, 16 };
	uint8_t get[] = { 0xa0, 0xc0, 0x00, 0x00, 0x0c };
	uint8_t sres_kc[14] = { 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 0x90, 0x00 };
	struct phone_call call;
	struct slot_msg msg;

	setup();
	ASSERT_EQ(0, phone_call_start(&call, fx.modem, apdu, sizeof(apdu)));
	expect_apdu(&msg, apdu, REMSIM_CASE_4, 16, 0);
	ASSERT_EQ(0, slot_respond(fx.fd, msg.hdr.seq, (uint8_t[]){ 0x9f, 0x0c }, 2));
	expect_apdu(&msg, get, REMSIM_CASE_2, 0, 12);
	ASSERT_EQ(0, slot_respond(fx.fd, msg.hdr.seq, sres_kc, sizeof(sres_kc)));
	ASSERT_EQ(0, phone_call_wait(&call));
	ASSERT_EQ(14, call.resp_len);
	EXPECT_MEMEQ(sres_kc, call.resp, 14);
}

/* The card's 6Cxx goes to the phone unchanged; the repeat keeps its case. */
TEST(wrong_le_6cxx_passes_through)
{
	uint8_t apdu[] = { 0x80, 0xca, 0x9f, 0x7f, 0x00 };	/* GP GET DATA, P3 0 */
	uint8_t again[] = { 0x80, 0xca, 0x9f, 0x7f, 0x04 };
	uint8_t data[] = { 1, 2, 3, 4, 0x90, 0x00 };
	struct phone_call call;
	struct slot_msg msg;

	setup();
	ASSERT_EQ(0, phone_call_start(&call, fx.modem, apdu, sizeof(apdu)));
	expect_apdu(&msg, apdu, REMSIM_CASE_2, 0, 256);
	ASSERT_EQ(0, slot_respond(fx.fd, msg.hdr.seq, (uint8_t[]){ 0x6c, 0x04 }, 2));
	/* GP GET DATA with P3 4 alone would be case 4: the 6C rule keeps 2. */
	expect_apdu(&msg, again, REMSIM_CASE_2, 0, 4);
	ASSERT_EQ(0, slot_respond(fx.fd, msg.hdr.seq, data, sizeof(data)));
	ASSERT_EQ(0, phone_call_wait(&call));
	EXPECT_EQ(0x9000, call.sw);
	EXPECT_MEMEQ(data, call.resp, 4);
	EXPECT_EQ(0, stats().errors);
}

/* Less data than Le: the phone gets 6Cxx as from a card, and asks again. */
TEST(short_response_becomes_6cxx)
{
	uint8_t apdu[] = { 0xa0, 0xb0, 0x00, 0x00, 0x08 };
	uint8_t again[] = { 0xa0, 0xb0, 0x00, 0x00, 0x03 };
	uint8_t three[] = { 7, 8, 9, 0x90, 0x00 };
	struct phone_call call;
	struct slot_msg msg;
	uint64_t first;

	setup();
	ASSERT_EQ(0, phone_call_start(&call, fx.modem, apdu, sizeof(apdu)));
	expect_apdu(&msg, apdu, REMSIM_CASE_2, 0, 8);
	first = msg.hdr.seq;
	ASSERT_EQ(0, slot_respond(fx.fd, msg.hdr.seq, three, sizeof(three)));
	expect_error(REMSIM_ERR_RESPONSE_LENGTH, 0x6c03, first);
	expect_apdu(&msg, again, REMSIM_CASE_2, 0, 3);
	ASSERT_EQ(0, slot_respond(fx.fd, msg.hdr.seq, three, sizeof(three)));
	ASSERT_EQ(0, phone_call_wait(&call));
	EXPECT_EQ(0x9000, call.sw);
	EXPECT_MEMEQ(three, call.resp, 3);
	EXPECT_EQ(1, stats().response_errors);
}

TEST(long_response_becomes_6cxx)
{
	uint8_t hdr[] = { 0xa0, 0xb0, 0x00, 0x00, 0x02 };
	uint8_t four[] = { 1, 2, 3, 4, 0x90, 0x00 };
	struct phone_call call;
	struct slot_msg msg;

	setup();
	ASSERT_EQ(0, phone_tpdu_start(&call, fx.modem, hdr, NULL, true));
	expect_apdu(&msg, hdr, REMSIM_CASE_2, 0, 2);
	ASSERT_EQ(0, slot_respond(fx.fd, msg.hdr.seq, four, sizeof(four)));
	ASSERT_EQ(0, phone_call_wait(&call));
	EXPECT_EQ(0x6c04, call.sw);
	EXPECT_EQ(2, call.resp_len);
	expect_error(REMSIM_ERR_RESPONSE_LENGTH, 0x6c04, msg.hdr.seq);
}

/* Data where T=0 has no room for them: the phone gets 6F00, not garbage. */
TEST(data_in_case3_response_is_refused)
{
	uint8_t hdr[] = { 0xa0, 0xd6, 0x00, 0x00, 0x01 };
	uint8_t data[] = { 0x42 };
	struct phone_call call;
	struct slot_msg msg;

	setup();
	ASSERT_EQ(0, phone_tpdu_start(&call, fx.modem, hdr, data, false));
	expect_apdu(&msg, hdr, REMSIM_CASE_3, 1, 0);
	ASSERT_EQ(0, slot_respond(fx.fd, msg.hdr.seq, (uint8_t[]){ 1, 2, 0x90, 0x00 }, 4));
	ASSERT_EQ(0, phone_call_wait(&call));
	EXPECT_EQ(0x6f00, call.sw);
	expect_error(REMSIM_ERR_RESPONSE_DATA, 0x6f00, msg.hdr.seq);
}

TEST(unknown_instruction_gets_6d00)
{
	uint8_t hdr[] = { 0xa0, 0x77, 0x00, 0x00, 0x05 };
	struct phone_call call;

	setup();
	ASSERT_EQ(0, phone_tpdu_start(&call, fx.modem, hdr, NULL, true));
	ASSERT_EQ(0, phone_call_wait(&call));
	EXPECT_EQ(0x6d00, call.sw);
	expect_error(REMSIM_ERR_UNKNOWN_INS, 0x6d00, 0);
	EXPECT_EQ(0, stats().apdus);
	EXPECT_EQ(1, stats().protocol_errors);
}

TEST(impossible_status_word_is_einval_and_changes_nothing)
{
	uint8_t hdr[] = { 0xa0, 0xf2, 0x00, 0x00, 0x00 };
	struct phone_call call;
	struct slot_msg msg;

	setup();
	ASSERT_EQ(0, phone_tpdu_start(&call, fx.modem, hdr, NULL, true));
	expect_apdu(&msg, hdr, REMSIM_CASE_2, 0, 256);
	EXPECT_EQ(-EINVAL, slot_respond(fx.fd, msg.hdr.seq, (uint8_t[]){ 0x60, 0x00 }, 2));
	EXPECT_EQ(-EINVAL, slot_respond(fx.fd, msg.hdr.seq, (uint8_t[]){ 0x42, 0x00 }, 2));
	EXPECT_EQ(-EINVAL, slot_respond(fx.fd, msg.hdr.seq, (uint8_t[]){ 0x90 }, 1));
	EXPECT_EQ(-ESTALE, slot_respond(fx.fd, msg.hdr.seq + 1, (uint8_t[]){ 0x90, 0x00 }, 2));
	ASSERT_EQ(0, slot_respond(fx.fd, msg.hdr.seq, (uint8_t[]){ 0x6a, 0x82 }, 2));
	ASSERT_EQ(0, phone_call_wait(&call));
	EXPECT_EQ(0x6a82, call.sw);
	/* Answered: once only. */
	EXPECT_EQ(-ESTALE, slot_respond(fx.fd, msg.hdr.seq, (uint8_t[]){ 0x90, 0x00 }, 2));
	EXPECT_EQ(2, stats().stale_responses);
}

/* The phone's reset while read() copies the APDU out, from the fault handler. */
static void reset_now(void *arg)
{
	uint64_t resets = *(uint64_t *)arg;
	struct remsim_stats st;
	uint8_t atr[33];
	size_t len;

	if (modem_warm_reset(fx.modem, atr, &len))
		return;
	/* Over USB the reset comes on its own endpoint: wait until it counted. */
	for (int i = 0; i < 300; i++) {
		if (ioctl(fx.fd, REMSIM_IOC_GET_STATS, &st) || st.resets > resets)
			break;
		usleep(10000);
	}
}

/*
 * A reset while read() copies the APDU out: either the APDU goes unseen
 * or it is read, and then it is reported aborted - never read and then
 * withdrawn, which would leave the owner waiting for nothing.
 */
TEST(reset_racing_a_read_never_loses_the_apdu)
{
	uint8_t hdr[] = { 0xa0, 0xf2, 0x00, 0x00, 0x16 };
	uint64_t resets;
	struct uffd_page u;
	struct slot_msg msg;
	ssize_t n;

	setup();
	resets = stats().resets;
	ASSERT_EQ(0, modem_send_bytes(fx.modem, hdr, 5));
	ASSERT_EQ(1, poll(&(struct pollfd){ .fd = fx.fd, .events = POLLIN }, 1, 3000));
	ASSERT_EQ(0, uffd_page_start(&u, reset_now, &resets, 10000));
	n = read(fx.fd, u.page, sizeof(msg));
	memcpy(&msg, u.page, sizeof(msg));
	ASSERT_TRUE(uffd_page_done(&u));
	EXPECT_GT(stats().resets, resets);
	ASSERT_EQ((ssize_t)(sizeof(msg.hdr) + sizeof(struct remsim_apdu) + 5), n);
	ASSERT_EQ(REMSIM_MSG_APDU, msg.hdr.type);
	/* Read, so the reset aborted it: the owner hears so, its answer is refused. */
	expect_error(REMSIM_ERR_ABORTED, 0, msg.hdr.seq);
	EXPECT_EQ(-ESTALE, slot_respond(fx.fd, msg.hdr.seq, (uint8_t[]){ 0x90, 0x00 }, 2));
	EXPECT_EQ(1, stats().aborted);
}

/* Reset before the owner read the APDU: it is withdrawn unseen. */
TEST(reset_withdraws_an_unread_apdu)
{
	uint8_t hdr[] = { 0xa0, 0xf2, 0x00, 0x00, 0x16 };
	uint8_t atr[33];
	struct slot_msg msg;
	size_t len;

	setup();
	ASSERT_EQ(0, modem_send_bytes(fx.modem, hdr, 5));
	/* Queued, not read (over USB, after its transfer came in). */
	ASSERT_EQ(1, poll(&(struct pollfd){ .fd = fx.fd, .events = POLLIN }, 1, 3000));
	ASSERT_EQ(0, modem_warm_reset(fx.modem, atr, &len));
	/*
	 * A USB board reports the reset on its interrupt endpoint, maybe after
	 * the phone has its ATR: read only once the kernel has seen it.
	 */
	for (int i = 0; i < 300 && stats().resets < 2; i++)
		usleep(10000);
	/* Only signal messages follow. */
	while (!slot_read(fx.fd, &msg, 300)) {
		if (msg.hdr.type != REMSIM_MSG_SIGNALS)
			TH_LOG("message %u seq %llu", msg.hdr.type, (unsigned long long)msg.hdr.seq);
		EXPECT_EQ(REMSIM_MSG_SIGNALS, msg.hdr.type);
	}
	EXPECT_EQ(1, stats().aborted);
	EXPECT_EQ(0, stats().errors);
}

/* Reset after the owner read it: the owner is told, its answer refused. */
TEST(reset_during_an_apdu_aborts_it)
{
	uint8_t hdr[] = { 0xa0, 0xf2, 0x00, 0x00, 0x16 };
	uint8_t atr[33];
	struct slot_msg msg;
	size_t len;

	setup();
	ASSERT_EQ(0, modem_send_bytes(fx.modem, hdr, 5));
	expect_apdu(&msg, hdr, REMSIM_CASE_2, 0, 0x16);
	ASSERT_EQ(0, modem_warm_reset(fx.modem, atr, &len));
	expect_error(REMSIM_ERR_ABORTED, 0, msg.hdr.seq);
	EXPECT_EQ(-ESTALE, slot_respond(fx.fd, msg.hdr.seq, (uint8_t[]){ 0x90, 0x00 }, 2));
	EXPECT_EQ(1, stats().aborted);
}

/* Reset in the middle of the data phase: nothing reaches the owner. */
TEST(reset_during_the_data_phase)
{
	uint8_t hdr[] = { 0xa0, 0xd6, 0x00, 0x00, 0x04 };
	uint8_t pb, atr[33];
	struct slot_msg msg;
	size_t len;

	setup();
	ASSERT_EQ(0, modem_send_bytes(fx.modem, hdr, 5));
	ASSERT_EQ(0, modem_read_bytes(fx.modem, &pb, 1));
	EXPECT_EQ(0xd6, pb);
	ASSERT_EQ(0, modem_send_bytes(fx.modem, (uint8_t[]){ 1, 2 }, 2));
	ASSERT_EQ(0, modem_warm_reset(fx.modem, atr, &len));
	while (!slot_read(fx.fd, &msg, 300))
		EXPECT_EQ(REMSIM_MSG_SIGNALS, msg.hdr.type);
	/* The slot works on. */
	do_case3(4);
}

TEST(owner_closing_mid_apdu_answers_6f00_once)
{
	uint8_t hdr[] = { 0xa0, 0xf2, 0x00, 0x00, 0x16 };
	struct phone_call call;
	struct slot_msg msg;
	uint64_t seq;

	setup();
	ASSERT_EQ(0, phone_tpdu_start(&call, fx.modem, hdr, NULL, true));
	expect_apdu(&msg, hdr, REMSIM_CASE_2, 0, 0x16);
	seq = msg.hdr.seq;
	close(fx.fd);
	fx.fd = -1;
	ASSERT_EQ(0, phone_call_wait(&call));
	EXPECT_EQ(0x6f00, call.sw);
	/* The next owner learns of it and never sees the APDU again. */
	fx.fd = slot_open(fx.index, O_RDWR);
	ASSERT_GE(fx.fd, 0);
	expect_error(REMSIM_ERR_ABANDONED, 0x6f00, seq);
	EXPECT_EQ(-ETIMEDOUT, slot_read(fx.fd, &msg, 300));
	EXPECT_EQ(1, stats().abandoned);
}

/* An APDU nobody has read stays for the next owner. */
TEST(unread_apdu_waits_for_the_next_owner)
{
	uint8_t hdr[] = { 0xa0, 0xf2, 0x00, 0x00, 0x02 };
	struct phone_call call;
	struct slot_msg msg;

	setup();
	close(fx.fd);
	ASSERT_EQ(0, phone_tpdu_start(&call, fx.modem, hdr, NULL, true));
	usleep(200000);
	fx.fd = slot_open(fx.index, O_RDWR);
	ASSERT_GE(fx.fd, 0);
	expect_apdu(&msg, hdr, REMSIM_CASE_2, 0, 2);
	ASSERT_EQ(0, slot_respond(fx.fd, msg.hdr.seq, (uint8_t[]){ 5, 6, 0x90, 0x00 }, 4));
	ASSERT_EQ(0, phone_call_wait(&call));
	EXPECT_EQ(0x9000, call.sw);
}

TEST(apdu_timeout_answers_6f00)
{
	uint8_t hdr[] = { 0xa0, 0xf2, 0x00, 0x00, 0x02 };
	struct phone_call call;
	struct slot_msg msg;

	setup();
	ASSERT_EQ(0, slot_set_param("remsim", "apdu_timeout", "300"));
	ASSERT_EQ(0, phone_tpdu_start(&call, fx.modem, hdr, NULL, true));
	expect_apdu(&msg, hdr, REMSIM_CASE_2, 0, 2);
	ASSERT_EQ(0, phone_call_wait(&call));
	EXPECT_EQ(0x6f00, call.sw);
	expect_error(REMSIM_ERR_TIMEOUT, 0x6f00, msg.hdr.seq);
	EXPECT_EQ(-ESTALE, slot_respond(fx.fd, msg.hdr.seq, (uint8_t[]){ 1, 2, 0x90, 0x00 }, 4));
	EXPECT_EQ(1, stats().timeouts);
}

/* While the owner thinks, the board keeps the phone waiting with NULL bytes. */
TEST_TIMEOUT(slow_owner_gets_null_bytes, 60)
{
	uint8_t hdr[] = { 0xa0, 0xf2, 0x00, 0x00, 0x02 };
	struct phone_call call;
	struct slot_msg msg;

	setup();
	ASSERT_EQ(0, phone_tpdu_start(&call, fx.modem, hdr, NULL, true));
	expect_apdu(&msg, hdr, REMSIM_CASE_2, 0, 2);
	usleep(1300 * 1000);	/* NULL every half WT: 0.5 s at 3.57 MHz */
	ASSERT_EQ(0, slot_respond(fx.fd, msg.hdr.seq, (uint8_t[]){ 5, 6, 0x90, 0x00 }, 4));
	ASSERT_EQ(0, phone_call_wait(&call));
	EXPECT_EQ(0x9000, call.sw);
	EXPECT_GE(modem_nulls(fx.modem), 2);
	EXPECT_LE(modem_nulls(fx.modem), 3);
}

TEST(pps_reaches_the_owner)
{
	const struct remsim_pps *pps;
	struct remsim_status st;
	struct slot_msg msg;

	setup();
	ASSERT_EQ(0, modem_pps(fx.modem, 9, 4));
	ASSERT_EQ(0, slot_read_type(fx.fd, REMSIM_MSG_PPS, &msg, 2000));
	pps = (const void *)msg.payload;
	EXPECT_EQ(4, pps->len);
	EXPECT_MEMEQ(((uint8_t[]){ 0xff, 0x10, 0x94, 0x7b }), pps->req, 4);
	EXPECT_MEMEQ(pps->req, pps->resp, 4);
	EXPECT_EQ(9, pps->fi);
	EXPECT_EQ(4, pps->di);
	ASSERT_EQ(0, ioctl(fx.fd, REMSIM_IOC_GET_STATUS, &st));
	EXPECT_EQ(9, st.fi);
	EXPECT_EQ(4, st.di);
	EXPECT_EQ(1, stats().pps);
	/* Exchanges go on at the new rate. */
	do_case1();
}

TEST(full_queue_holds_the_modem_back)
{
	uint8_t rst[4] = { SIM_MODEM_LINES, 1, 0, SIM_MODEM_VCC | SIM_MODEM_CLK | SIM_MODEM_RST };
	uint8_t run[4] = { SIM_MODEM_LINES, 1, 0, SIM_MODEM_VCC | SIM_MODEM_CLK };
	char path[96];
	struct slot_msg msg;
	int mfd, n = 0;

	if (slot_backend_usb())
		SKIP("the simulated modem file shows back-pressure; usb_test full_queue_parks_the_urbs covers USB");
	ASSERT_EQ(0, slot_fixture(&fx, O_RDWR));
	modem_close(fx.modem);
	fx.modem = NULL;
	ASSERT_EQ(0, slot_set_param("remsim", "queue_depth", "4"));
	snprintf(path, sizeof(path), "/sys/kernel/debug/remsim_sim/remsim%u/modem", fx.index);
	mfd = open(path, O_RDWR | O_NONBLOCK);
	ASSERT_GE(mfd, 0);
	/* Each change is a message; the owner reads none. */
	for (n = 0; n < 20; n++)
		if (write(mfd, n % 2 ? run : rst, 4) < 0)
			break;
	EXPECT_EQ(4, n);
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(0, poll(&(struct pollfd){ .fd = mfd, .events = POLLOUT }, 1, 0));
	EXPECT_EQ(1, stats().up_backpressure);
	/* The owner reads one: the modem goes on, nothing was lost. */
	ASSERT_EQ(0, slot_read(fx.fd, &msg, 0));
	EXPECT_EQ(1, poll(&(struct pollfd){ .fd = mfd, .events = POLLOUT }, 1, 1000));
	EXPECT_EQ(4, write(mfd, n % 2 ? run : rst, 4));
	for (int i = 0; i < 4; i++)
		ASSERT_EQ(0, slot_read(fx.fd, &msg, 0));
	EXPECT_EQ(-ETIMEDOUT, slot_read(fx.fd, &msg, 0));
	EXPECT_EQ(4, stats().up_peak);
	close(mfd);
}

TEST(raw_mode_passes_tpdus)
{
	struct remsim_mode mode = { .mode = REMSIM_MODE_RAW };
	uint8_t hdr[] = { 0xa0, 0xd6, 0x00, 0x00, 0x03 };
	uint8_t data[] = { 7, 8, 9 };
	struct phone_call call;
	struct remsim_status st;
	struct slot_msg msg;

	setup();
	ASSERT_EQ(0, ioctl(fx.fd, REMSIM_IOC_SET_MODE, &mode));
	ASSERT_EQ(0, ioctl(fx.fd, REMSIM_IOC_GET_STATUS, &st));
	EXPECT_EQ(REMSIM_T0_RAW, st.t0_state);
	ASSERT_EQ(0, phone_tpdu_start(&call, fx.modem, hdr, data, false));
	ASSERT_EQ(0, slot_read_type(fx.fd, REMSIM_MSG_TPDU_HEADER, &msg, 2000));
	ASSERT_EQ(5, msg.hdr.len);
	EXPECT_MEMEQ(hdr, msg.payload, 5);
	/* APDU-mode answers are refused here, and raw ones checked. */
	EXPECT_EQ(-EINVAL, slot_respond(fx.fd, msg.hdr.seq, (uint8_t[]){ 0x90, 0x00 }, 2));
	EXPECT_EQ(-EINVAL, slot_write(fx.fd, REMSIM_MSG_TPDU_PROC, 0, (uint8_t[]){ 1, 2 }, 2));
	EXPECT_EQ(-EINVAL, slot_write(fx.fd, REMSIM_MSG_TPDU_STATUS, 0, (uint8_t[]){ 0x90 }, 1));
	ASSERT_EQ(0, slot_write(fx.fd, REMSIM_MSG_TPDU_PROC, 0, (uint8_t[]){ 0xd6 }, 1));
	ASSERT_EQ(0, slot_read_type(fx.fd, REMSIM_MSG_TPDU_DATA, &msg, 2000));
	ASSERT_EQ(3, msg.hdr.len);
	EXPECT_MEMEQ(data, msg.payload, 3);
	ASSERT_EQ(0, slot_write(fx.fd, REMSIM_MSG_TPDU_STATUS, 0, (uint8_t[]){ 0x91, 0x23 }, 2));
	ASSERT_EQ(0, phone_call_wait(&call));
	EXPECT_EQ(0x9123, call.sw);
	/* Back to APDU mode. */
	mode.mode = REMSIM_MODE_APDU;
	ASSERT_EQ(0, ioctl(fx.fd, REMSIM_IOC_SET_MODE, &mode));
	do_case1();
}

TEST(raw_owner_leaving_mid_tpdu_answers_6f00)
{
	struct remsim_mode mode = { .mode = REMSIM_MODE_RAW };
	uint8_t hdr[] = { 0xa0, 0xb0, 0x00, 0x00, 0x03 };
	struct phone_call call;
	struct slot_msg msg;

	setup();
	ASSERT_EQ(0, ioctl(fx.fd, REMSIM_IOC_SET_MODE, &mode));
	ASSERT_EQ(0, phone_tpdu_start(&call, fx.modem, hdr, NULL, true));
	ASSERT_EQ(0, slot_read_type(fx.fd, REMSIM_MSG_TPDU_HEADER, &msg, 2000));
	close(fx.fd);
	fx.fd = -1;
	ASSERT_EQ(0, phone_call_wait(&call));
	EXPECT_EQ(0x6f00, call.sw);
}

/* Many APDUs in a row, each answered once: the counters agree. */
TEST_TIMEOUT(hundred_apdus_in_a_row, 120)
{
	uint8_t hdr[] = { 0xa0, 0xb0, 0x00, 0x00, 0x04 };
	struct remsim_stats st;

	setup();
	for (int i = 0; i < 100; i++) {
		uint8_t resp[6] = { i, i + 1, i + 2, i + 3, 0x90, 0x00 };
		struct phone_call call;
		struct slot_msg msg;

		ASSERT_EQ(0, phone_tpdu_start(&call, fx.modem, hdr, NULL, true));
		ASSERT_EQ(0, slot_read_type(fx.fd, REMSIM_MSG_APDU, &msg, 3000));
		ASSERT_EQ(0, slot_respond(fx.fd, msg.hdr.seq, resp, sizeof(resp)));
		ASSERT_EQ(0, phone_call_wait(&call));
		ASSERT_EQ(6, call.resp_len);
		ASSERT_EQ(0, memcmp(resp, call.resp, 6));
	}
	st = stats();
	EXPECT_EQ(100, st.apdus);
	EXPECT_EQ(100, st.responses);
	EXPECT_EQ(0, st.errors);
}

/*
 * The owner answers each APDU 5 ms after reading it: the slot's latency
 * histogram counts every one, at 5 ms or more, and its median is in the
 * bucket of 5 ms, (4.19, 8.39] ms, or the next one when the VM is slow
 * (REMSIM_TEST_SLOW times more under make selftests-debug: the wake-up of
 * the owner is in the measure). Time-outs are not timed, and a stats reset
 * empties the histogram.
 */
#define LAT_APDUS	10
#define LAT_DELAY_NS	5000000ULL

/* REMSIM_TEST_SLOW (1..100), as faults_test reads it. */
static uint64_t slow_factor(void)
{
	const char *s = getenv("REMSIM_TEST_SLOW");
	int f = s ? atoi(s) : 1;

	return f >= 1 && f <= 100 ? f : 1;
}

static struct rsnl_latency latency(void)
{
	struct rsnl_slot s;

	ASSERT_EQ(0, rsnl_slot_get(fx.nl, fx.index, &s));
	ASSERT_TRUE(s.latency.present);
	return s.latency;
}

TEST_TIMEOUT(latency_histogram_times_answered_apdus, 60)
{
	uint8_t hdr[] = { 0xa0, 0xf2, 0x00, 0x00, 0x02 };
	const struct timespec delay = { 0, LAT_DELAY_NS };
	struct rsnl_latency lat;
	uint64_t p50, total = 0;

	setup();
	ASSERT_EQ(0, ioctl(fx.fd, REMSIM_IOC_RESET_STATS));
	lat = latency();
	EXPECT_EQ(0, lat.count);
	EXPECT_EQ(REMSIM_LAT_BUCKETS, lat.n);
	EXPECT_EQ(1ULL << REMSIM_LAT_MIN_SHIFT, lat.le_ns[0]);
	EXPECT_EQ(UINT64_MAX, lat.le_ns[REMSIM_LAT_BUCKETS - 1]);
	EXPECT_EQ(0, rsnl_latency_quantile(&lat, 500));

	for (int i = 0; i < LAT_APDUS; i++) {
		struct phone_call call;
		struct slot_msg msg;

		ASSERT_EQ(0, phone_tpdu_start(&call, fx.modem, hdr, NULL, true));
		ASSERT_EQ(0, slot_read_type(fx.fd, REMSIM_MSG_APDU, &msg, 3000));
		nanosleep(&delay, NULL);
		ASSERT_EQ(0, slot_respond(fx.fd, msg.hdr.seq,
					  (uint8_t[]){ 1, 2, 0x90, 0x00 }, 4));
		ASSERT_EQ(0, phone_call_wait(&call));
		EXPECT_EQ(0x9000, call.sw);
	}
	lat = latency();
	for (unsigned int i = 0; i < lat.n; i++)
		total += lat.buckets[i];
	EXPECT_EQ(LAT_APDUS, lat.count);
	EXPECT_EQ(LAT_APDUS, total);
	EXPECT_GE(lat.sum_ns, LAT_APDUS * LAT_DELAY_NS);
	/* nothing below the delay: the buckets up to 4.19 ms are empty */
	for (unsigned int i = 0; i < lat.n && lat.le_ns[i] < LAT_DELAY_NS; i++)
		EXPECT_EQ(0, lat.buckets[i]);
	p50 = rsnl_latency_quantile(&lat, 500);
	TH_LOG("p50 <= %llu ns, p99 <= %llu ns", (unsigned long long)p50,
	       (unsigned long long)rsnl_latency_quantile(&lat, 990));
	EXPECT_GE(p50, 1ULL << 23);
	EXPECT_LE(p50, (1ULL << 24) * slow_factor());

	/* a time-out answers the modem, not the owner: not timed */
	ASSERT_EQ(0, slot_set_param("remsim", "apdu_timeout", "300"));
	{
		struct phone_call call;
		struct slot_msg msg;

		ASSERT_EQ(0, phone_tpdu_start(&call, fx.modem, hdr, NULL, true));
		ASSERT_EQ(0, slot_read_type(fx.fd, REMSIM_MSG_APDU, &msg, 3000));
		ASSERT_EQ(0, phone_call_wait(&call));
		EXPECT_EQ(0x6f00, call.sw);
	}
	EXPECT_EQ(LAT_APDUS, latency().count);

	ASSERT_EQ(0, ioctl(fx.fd, REMSIM_IOC_RESET_STATS));
	lat = latency();
	EXPECT_EQ(0, lat.count);
	EXPECT_EQ(0, lat.sum_ns);
	EXPECT_EQ(0, rsnl_latency_quantile(&lat, 990));
}

KTAP_MAIN
