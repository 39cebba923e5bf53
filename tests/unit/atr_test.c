// SPDX-License-Identifier: GPL-2.0
/*
 * atr_test - the ATR structure check (common/atr.c) that SET_ATR applies.
 */
#include "atr.h"
#include "ktap.h"

static int check(const uint8_t *bytes, size_t len, bool fix)
{
	uint8_t copy[40];

	memcpy(copy, bytes, len);
	return atr_check(copy, len, fix);
}

TEST(valid_atrs)
{
	static const uint8_t simtrace_default[] = { 0x3b, 0x80, 0x80, 0x81, 0x1f, 0xc7, 0x59 };
	static const uint8_t t0_only[] = { 0x3b, 0x02, 0x14, 0x50 };
	static const uint8_t inverse[] = { 0x3f, 0x00 };
	static const uint8_t ta1_tc1[] = { 0x3b, 0x50, 0x94, 0x00 };
	static const uint8_t sysmo_usim[] = {
		0x3b, 0x9f, 0x96, 0x80, 0x1f, 0xc7, 0x80, 0x31, 0xa0, 0x73, 0xbe, 0x21,
		0x13, 0x67, 0x43, 0x20, 0x07, 0x18, 0x00, 0x00, 0x01, 0xa5,
	};

	EXPECT_EQ(0, check(simtrace_default, sizeof(simtrace_default), false));
	EXPECT_EQ(0, check(t0_only, sizeof(t0_only), false));
	EXPECT_EQ(0, check(inverse, sizeof(inverse), false));
	EXPECT_EQ(0, check(ta1_tc1, sizeof(ta1_tc1), false));
	EXPECT_EQ(0, check(sysmo_usim, sizeof(sysmo_usim), false));
}

TEST(invalid_atrs)
{
	static const uint8_t bad_ts[] = { 0x3c, 0x00 };
	static const uint8_t missing_hist[] = { 0x3b, 0x03, 0x14, 0x50 };
	static const uint8_t extra_byte[] = { 0x3b, 0x02, 0x14, 0x50, 0x00 };
	static const uint8_t missing_td[] = { 0x3b, 0x80 };
	static const uint8_t missing_ta[] = { 0x3b, 0x10 };
	static const uint8_t bad_tck[] = { 0x3b, 0x80, 0x80, 0x81, 0x1f, 0xc7, 0x58 };
	static const uint8_t tck_for_t0[] = { 0x3b, 0x80, 0x00, 0x80 };
	uint8_t long_atr[34] = { 0x3b, 0x0f };

	EXPECT_EQ(-EINVAL, check(bad_ts, sizeof(bad_ts), false));
	EXPECT_EQ(-EINVAL, check(missing_hist, sizeof(missing_hist), false));
	EXPECT_EQ(-EINVAL, check(extra_byte, sizeof(extra_byte), false));
	EXPECT_EQ(-EINVAL, check(missing_td, sizeof(missing_td), false));
	EXPECT_EQ(-EINVAL, check(missing_ta, sizeof(missing_ta), false));
	EXPECT_EQ(-EINVAL, check(bad_tck, sizeof(bad_tck), false));
	EXPECT_EQ(-EINVAL, check(tck_for_t0, sizeof(tck_for_t0), false));
	EXPECT_EQ(-EINVAL, check(bad_ts, 1, false));
	EXPECT_EQ(-EINVAL, check(bad_ts, 0, false));
	EXPECT_EQ(-EINVAL, check(long_atr, sizeof(long_atr), false));
}

TEST(fix_tck_computes_it)
{
	uint8_t atr[] = { 0x3b, 0x80, 0x80, 0x81, 0x1f, 0xc7, 0x00 };

	ASSERT_EQ(0, atr_check(atr, sizeof(atr), true));
	EXPECT_EQ(0x59, atr[6]);
	EXPECT_EQ(0, atr_check(atr, sizeof(atr), false));
}

TEST(waiting_integer_from_tc2)
{
	static const uint8_t with_tc2[] = { 0x3b, 0x80, 0x40, 0x05 };	/* TD1 -> TC2 = 5 */
	static const uint8_t without[] = { 0x3b, 0x02, 0x14, 0x50 };
	static const uint8_t tc2_zero[] = { 0x3b, 0x80, 0x40, 0x00 };

	EXPECT_EQ(5, atr_wi(with_tc2, sizeof(with_tc2)));
	EXPECT_EQ(10, atr_wi(without, sizeof(without)));
	EXPECT_EQ(10, atr_wi(tc2_zero, sizeof(tc2_zero)));
}

KTAP_MAIN
