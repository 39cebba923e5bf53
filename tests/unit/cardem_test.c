// SPDX-License-Identifier: GPL-2.0
/*
 * cardem_test - the card emulator (common/cardem.c) behind simulated slots
 * and the software USB board: it must behave like the SIMtrace2 cardem
 * firmware, which is what real boards do.
 */
#include "cardem.h"
#include "ktap.h"

static struct cardem c;
static uint8_t line[1024];
static size_t line_len;
static uint8_t hdr[5];
static int headers, datas, ptss, statuses;
static uint8_t data[256];
static size_t data_len;
static uint32_t last_status;
static char order[16];
static size_t order_len;

static void to_modem(void *ctx, const uint8_t *b, size_t n)
{
	memcpy(line + line_len, b, n);
	line_len += n;
	order[order_len++] = 'L';
}

static void rx_header(void *ctx, const uint8_t h[5])
{
	memcpy(hdr, h, 5);
	headers++;
}

static void rx_data(void *ctx, const uint8_t *d, size_t n)
{
	memcpy(data, d, n);
	data_len = n;
	datas++;
}

static void pts(void *ctx, const uint8_t *pps, uint8_t len, uint8_t fi, uint8_t di)
{
	ptss++;
	order[order_len++] = 'P';
}

static void status(void *ctx, uint32_t s)
{
	last_status = s;
	statuses++;
}

static const struct cardem_ops ops = { to_modem, rx_header, rx_data, pts, status };

static void start(bool enabled)
{
	memset(line, 0, sizeof(line));
	line_len = headers = datas = ptss = statuses = 0;
	order_len = 0;
	cardem_init(&c, &ops, NULL);
	cardem_enable(&c, enabled);
}

static void power_up(void)
{
	cardem_lines(&c, true, false, true);
	cardem_lines(&c, true, true, true);
	cardem_lines(&c, true, true, false);
}

static const uint8_t default_atr[] = { 0x3b, 0x80, 0x80, 0x81, 0x1f, 0xc7, 0x59 };

TEST(atr_after_power_clock_and_reset)
{
	start(true);
	cardem_lines(&c, true, false, true);
	EXPECT_EQ(CARDEM_WAIT_CLK, c.state);
	EXPECT_EQ(CARDEM_STATUS_VCC | CARDEM_STATUS_RST, last_status);
	cardem_lines(&c, true, true, true);
	EXPECT_EQ(CARDEM_WAIT_RST, c.state);
	EXPECT_EQ(0, line_len);
	cardem_lines(&c, true, true, false);
	EXPECT_EQ(CARDEM_STATUS_VCC | CARDEM_STATUS_CLK, last_status);
	EXPECT_EQ(3, statuses);
	ASSERT_EQ(sizeof(default_atr), line_len);
	EXPECT_MEMEQ(default_atr, line, line_len);
	EXPECT_EQ(CARDEM_WAIT_TPDU, c.state);
	EXPECT_EQ(9600, c.wt);
}

TEST(reset_released_before_power_still_gets_an_atr)
{
	start(true);
	cardem_lines(&c, false, false, false);
	cardem_lines(&c, true, true, false);
	EXPECT_EQ(sizeof(default_atr), line_len);
}

TEST(disabled_slot_sees_no_power)
{
	start(false);
	power_up();
	EXPECT_EQ(0, line_len);
	EXPECT_EQ(0, statuses);
	EXPECT_EQ(0, cardem_status(&c));
	cardem_enable(&c, true);
	EXPECT_EQ(sizeof(default_atr), line_len);
	EXPECT_EQ(CARDEM_STATUS_VCC | CARDEM_STATUS_CLK, last_status);
}

TEST(set_atr_for_the_next_reset)
{
	static const uint8_t atr[] = { 0x3b, 0x02, 0x14, 0x50 };

	start(true);
	power_up();
	cardem_set_atr(&c, atr, sizeof(atr));
	line_len = 0;
	cardem_lines(&c, true, true, true);
	cardem_lines(&c, true, true, false);
	ASSERT_EQ(4, line_len);
	EXPECT_MEMEQ(atr, line, 4);
}

TEST(pps_is_echoed_after_the_host_hears_of_it)
{
	static const uint8_t req[] = { 0xff, 0x10, 0x94, 0x7b };

	start(true);
	power_up();
	line_len = 0;
	order_len = 0;
	cardem_modem_bytes(&c, req, sizeof(req));
	EXPECT_EQ(1, ptss);
	ASSERT_EQ(4, line_len);
	EXPECT_MEMEQ(req, line, 4);
	EXPECT_EQ('P', order[0]);
	EXPECT_EQ('L', order[1]);
	EXPECT_EQ(9, c.fi);
	EXPECT_EQ(4, c.di);
	EXPECT_EQ(10 * 960 * 8, c.wt);	/* WT = WI x 960 x D */
	EXPECT_EQ(CARDEM_WAIT_TPDU, c.state);
}

TEST(pps_with_a_bad_check_byte_gets_no_answer)
{
	static const uint8_t req[] = { 0xff, 0x10, 0x94, 0x7c };

	start(true);
	power_up();
	line_len = 0;
	cardem_modem_bytes(&c, req, sizeof(req));
	EXPECT_EQ(0, ptss);
	EXPECT_EQ(0, line_len);
	EXPECT_EQ(1, c.pps_bad);
	EXPECT_EQ(CARDEM_WAIT_TPDU, c.state);
}

TEST(tpdu_with_command_data)
{
	static const uint8_t h[] = { 0xa0, 0xa4, 0x00, 0x00, 0x02 };
	struct t0_tx pb = { .flags = T0_TX_PB_AND_RX, .len = 1, .data = { 0xa4 } };
	struct t0_tx sw = { .flags = T0_TX_PB_AND_TX | T0_TX_FINAL, .len = 2, .data = { 0x9f, 0x16 } };

	start(true);
	power_up();
	line_len = 0;
	cardem_modem_bytes(&c, h, 5);
	EXPECT_EQ(1, headers);
	EXPECT_MEMEQ(h, hdr, 5);
	EXPECT_TRUE(cardem_tx_now(&c));
	EXPECT_TRUE(cardem_waiting_host(&c));
	cardem_null(&c);
	cardem_host_tx(&c, &pb);
	EXPECT_FALSE(cardem_waiting_host(&c));
	EXPECT_EQ(CARDEM_T_WAIT_RX, c.sub);
	cardem_modem_bytes(&c, (uint8_t[]){ 0x3f }, 1);
	EXPECT_EQ(0, datas);
	cardem_modem_bytes(&c, (uint8_t[]){ 0x00 }, 1);
	EXPECT_EQ(1, datas);
	EXPECT_EQ(2, data_len);
	EXPECT_EQ(CARDEM_T_WAIT_TX, c.sub);
	cardem_host_tx(&c, &sw);
	EXPECT_EQ(CARDEM_WAIT_TPDU, c.state);
	ASSERT_EQ(4, line_len);
	EXPECT_MEMEQ(((uint8_t[]){ 0x60, 0xa4, 0x9f, 0x16 }), line, 4);
}

TEST(host_data_outside_a_tpdu_is_dropped)
{
	struct t0_tx sw = { .flags = T0_TX_FINAL, .len = 2, .data = { 0x90, 0x00 } };

	start(true);
	EXPECT_TRUE(cardem_tx_void(&c));
	cardem_host_tx(&c, &sw);
	EXPECT_EQ(1, c.tx_dropped);
	power_up();
	EXPECT_FALSE(cardem_tx_void(&c));
	EXPECT_FALSE(cardem_tx_now(&c));
	line_len = 0;
	cardem_host_tx(&c, &sw);
	EXPECT_EQ(2, c.tx_dropped);
	EXPECT_EQ(0, line_len);
}

TEST(reset_in_the_middle_flushes)
{
	static const uint8_t h[] = { 0xa0, 0xd6, 0x00, 0x00, 0x04 };
	struct t0_tx pb = { .flags = T0_TX_PB_AND_RX, .len = 1, .data = { 0xd6 } };

	start(true);
	power_up();
	cardem_modem_bytes(&c, h, 5);
	cardem_host_tx(&c, &pb);
	cardem_modem_bytes(&c, (uint8_t[]){ 1, 2 }, 2);
	cardem_lines(&c, true, true, true);
	EXPECT_EQ(CARDEM_WAIT_RST, c.state);
	EXPECT_EQ(0, c.rx_len);
	cardem_modem_bytes(&c, (uint8_t[]){ 3, 4 }, 2);
	EXPECT_EQ(0, datas);
	EXPECT_EQ(2, c.bytes_ignored);
}

TEST(timing_tables)
{
	EXPECT_EQ(372, cardem_f(1));
	EXPECT_EQ(512, cardem_f(9));
	EXPECT_EQ(0, cardem_f(7));
	EXPECT_EQ(2048, cardem_f(13));
	EXPECT_EQ(1, cardem_d(1));
	EXPECT_EQ(8, cardem_d(4));
	EXPECT_EQ(20, cardem_d(9));
	EXPECT_EQ(0, cardem_d(0));
	EXPECT_EQ(0, cardem_d(16));
}

KTAP_MAIN
