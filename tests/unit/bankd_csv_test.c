// SPDX-License-Identifier: GPL-2.0
/*
 * bankd_csv_test - bankd_pcsc_slots.csv as operators write it (osmo-remsim's
 * examples), and bad lines refused with their line number.
 */
#include <errno.h>
#include <regex.h>
#include <stdbool.h>
#include <string.h>

#include "../../userspace/bankd/csv.h"
#include "ktap.h"

static bool matches(const struct slot_row *r, const char *reader)
{
	return r && !regexec(&r->re, reader, 0, NULL, 0);
}

TEST(osmo_remsim_examples_parse)
{
	static const char text[] =
		"\"1\",\"0\",\"ACS ACR33 ICC Reader 00 00\"\n"
		"\"1\",\"1\",\"sysmocom sysmoOCTSIM \\[CCID\\] \\(ab19180f3335355320202034463a15ff\\) [0-9]{2} 00\"\n"
		"# a comment, and an empty line\n"
		"\n"
		"1, 2 ,HID Global OMNIKEY 3x21 Smart Card Reader \\[OMNIKEY 3x21 Smart Card Reader\\] 00 00\r\n"
		"\"1\",\"23\",\"Alcor Micro AU9560 00 00\"\n"
		"\"2\",\"0\",\"say \"\"hi\"\"\"\n";
	struct slot_table t;
	char err[200];

	ASSERT_EQ(0, slot_table_parse(&t, text, "slots.csv", err, sizeof(err)));
	ASSERT_EQ(5u, t.count);
	EXPECT_TRUE(matches(slot_table_find(&t, 1, 0), "ACS ACR33 ICC Reader 00 00"));
	EXPECT_TRUE(matches(slot_table_find(&t, 1, 1),
		"sysmocom sysmoOCTSIM [CCID] (ab19180f3335355320202034463a15ff) 01 00"));
	EXPECT_FALSE(matches(slot_table_find(&t, 1, 1),
		"sysmocom sysmoOCTSIM [CCID] (ab19180f3335355320202034463a15ff) 1 00"));
	EXPECT_TRUE(matches(slot_table_find(&t, 1, 2),
		"HID Global OMNIKEY 3x21 Smart Card Reader [OMNIKEY 3x21 Smart Card Reader] 00 00"));
	/* substring match, as osmo-remsim's regexec without anchors */
	EXPECT_TRUE(matches(slot_table_find(&t, 1, 23), "xx Alcor Micro AU9560 00 00 yy"));
	EXPECT_EQ(0, strcmp(slot_table_find(&t, 2, 0)->pattern, "say \"hi\""));
	EXPECT_TRUE(slot_table_find(&t, 1, 3) == NULL);
	slot_table_free(&t);
}

static void expect_bad(const char *text, const char *want)
{
	struct slot_table t;
	char err[200] = "";

	EXPECT_EQ(-EINVAL, slot_table_parse(&t, text, "slots.csv", err, sizeof(err)));
	if (!strstr(err, want))
		TH_LOG("got \"%s\", want \"%s\"", err, want);
	EXPECT_TRUE(strstr(err, want) != NULL);
	EXPECT_EQ(0u, t.count);
}

TEST(bad_lines_are_refused_with_their_number)
{
	expect_bad("\"1\",\"0\",\"a\"\n\"1\",\"1\"\n", "slots.csv:2: expected 3 fields");
	expect_bad("\"1\",\"0\",\"a\"\n\n\"x\",\"1\",\"b\"\n", "slots.csv:3: bankId is not a number");
	expect_bad("1,1024,a\n", "slots.csv:1: slotNr is not a number 0..1023");
	expect_bad("1,-1,a\n", "slots.csv:1: slotNr");
	expect_bad("1,0,\"a(\"\n", "slots.csv:1: bad regex \"a(\"");
	expect_bad("1,0,\"open\n", "slots.csv:1: a quoted field is not closed");
	expect_bad("1,0,\"a\"b\n", "slots.csv:1: text after a closing quote");
	expect_bad("1,0,a,b\n", "slots.csv:1: more than 3 fields");
	expect_bad("1,0,a\n1,0,b\n", "slots.csv:2: this bank slot already has a row");
	expect_bad("1,0,\n", "slots.csv:1: the reader regex is empty");
}

KTAP_MAIN
