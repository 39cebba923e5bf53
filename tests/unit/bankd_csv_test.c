// SPDX-License-Identifier: GPL-2.0
/*
 * bankd_csv_test - bankd_pcsc_slots.csv as operators write it (osmo-remsim's
 * examples), and bad lines refused with their line number; hostile files
 * (/dev/zero, a NUL byte, a directory, too many rows) and a file with no
 * row for the bank refused; rows for another bank or beyond -n, and slots
 * with no row, reported a line each.
 */
#include <errno.h>
#include <malloc.h>
#include <regex.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../../userspace/bankd/csv.h"
#include "daemon.h"
#include "ktap.h"

#ifdef __SANITIZE_ADDRESS__
/* ASan's, from sanitizer/allocator_interface.h (not installed with gcc) */
size_t __sanitizer_get_current_allocated_bytes(void);
#endif

static bool matches(const struct slot_row *r, const char *reader)
{
	return r && slot_row_match(r, reader);
}

/* PC/SC's reader list: the first name the row matches, the regex compiled once. */
TEST(a_row_finds_its_reader_in_the_list)
{
	static const char readers[] = "ACS ACR33 ICC Reader 00 00\0remsim softsim 0 00 01\0"
				      "remsim softsim 0 00 02\0";
	struct slot_row row = { .bank_id = 1, .slot_nr = 1, .line = 1,
				.pattern = "remsim softsim 0 00 0[12]" };
	const char *r = slot_row_find(&row, readers);

	ASSERT_TRUE(r != NULL);
	EXPECT_STREQ("remsim softsim 0 00 01", r);
	row.pattern = "OMNIKEY";
	EXPECT_TRUE(slot_row_find(&row, readers) == NULL);
	EXPECT_TRUE(slot_row_find(&row, "\0") == NULL);
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
	expect_bad("1,0,a\n#\n1,0,b\n", "slots.csv:3: bank 1 slot 0 is on line 1 already");
	expect_bad("1,0,\n", "slots.csv:1: the reader regex is empty");
}

static char dir[] = "/tmp/remsim-csv-test-XXXXXX";

/* slot_table_load() of @len bytes of @text refuses with @ret and @want. */
static void expect_bad_file(const char *text, size_t len, int ret, const char *want)
{
	struct slot_table t;
	char path[64], err[300] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/slots.csv", dir);
	f = fopen(path, "w");
	ASSERT_TRUE(f != NULL);
	ASSERT_EQ(len, fwrite(text, 1, len, f));
	ASSERT_EQ(0, fclose(f));
	EXPECT_EQ(ret, slot_table_load(&t, path, err, sizeof(err)));
	if (!strstr(err, want))
		TH_LOG("got \"%s\", want \"%s\"", err, want);
	EXPECT_TRUE(strstr(err, want) != NULL);
	EXPECT_EQ(0u, t.count);
}

TEST_TIMEOUT(hostile_files_are_refused_quickly, 20)
{
	static const char nul[] = "1,0,a\n1,1,b\0c\n";
	struct slot_table t;
	char err[300] = "";
	time_t t0 = time(NULL);

	/* 4097 bytes read, not gigabytes */
	EXPECT_EQ(-E2BIG, slot_table_load(&t, "/dev/zero", err, sizeof(err)));
	EXPECT_EQ(0, strcmp(err, "/dev/zero:1: line longer than 4096 bytes"));
	EXPECT_LE(time(NULL) - t0, 2);
	EXPECT_EQ(0u, t.count);
	EXPECT_EQ(-EISDIR, slot_table_load(&t, "/tmp", err, sizeof(err)));
	EXPECT_EQ(0, strcmp(err, "/tmp: is a directory"));
	/* the NUL would have hidden the rest of the line */
	expect_bad_file(nul, sizeof(nul) - 1, -EINVAL, "slots.csv:2: NUL byte in line");
}

TEST(at_most_4096_rows)
{
	static char text[(SLOT_ROWS_MAX + 1) * 16];
	size_t n = 0;
	unsigned int i;

	for (i = 0; i <= SLOT_ROWS_MAX; i++)
		n += snprintf(text + n, sizeof(text) - n, "%u,%u,r\n", i / 1024, i % 1024);
	expect_bad_file(text, n, -EINVAL, "slots.csv:4097: more than 4096 rows");
}

TEST(a_bank_without_rows_is_refused)
{
	static const char text[] = "# bank 2 only\n2,0,a\n2,1,b\n";
	struct slot_table t;
	char err[200] = "";

	ASSERT_EQ(0, slot_table_parse(&t, "", "slots.csv", err, sizeof(err)));
	EXPECT_EQ(-ENOENT, slot_table_check_bank(&t, 1, "slots.csv", err, sizeof(err)));
	EXPECT_EQ(0, strcmp(err, "slots.csv: no reader for bank 1"));
	ASSERT_EQ(0, slot_table_parse(&t, text, "slots.csv", err, sizeof(err)));
	EXPECT_EQ(-ENOENT, slot_table_check_bank(&t, 1, "slots.csv", err, sizeof(err)));
	EXPECT_EQ(0, slot_table_check_bank(&t, 2, "slots.csv", err, sizeof(err)));
	slot_table_free(&t);
}

struct problems {
	unsigned int n;
	char lines[8][300];
};

static void expect_line(const char *want, const char *got)
{
	if (strcmp(got, want))
		TH_LOG("got \"%s\", want \"%s\"", got, want);
	EXPECT_EQ(0, strcmp(got, want));
}

static void collect(const char *msg, void *arg)
{
	struct problems *p = arg;

	if (p->n < 8)
		snprintf(p->lines[p->n], sizeof(p->lines[0]), "%s", msg);
	p->n++;
}

/*
 * A file with rows bankd ignores (another bank, a slot beyond -n) and
 * slots no client can get a card in: one line each, with its line number,
 * in file order; missing slots as runs.
 */
TEST(rows_for_other_banks_or_beyond_n_and_missing_slots_are_reported)
{
	static const char text[] =
		"1,0,a\n"
		"2,0,other bank\n"
		"# slot 1 is missing\n"
		"1,2,c\n"
		"1,9,beyond\n"
		"1,7,last\n";
	struct problems p = { 0 };
	struct slot_table t;
	char err[200];

	ASSERT_EQ(0, slot_table_parse(&t, text, "slots.csv", err, sizeof(err)));
	EXPECT_EQ(4u, slot_table_check_slots(&t, 1, 8, "slots.csv", collect, &p));
	ASSERT_EQ(4u, p.n);
	expect_line("slots.csv:2: bank 2 is not this bank (-b 1): row ignored", p.lines[0]);
	expect_line("slots.csv:5: bank 1 slot 9 is beyond -n 8 (slots 0..7): row ignored",
		     p.lines[1]);
	expect_line("slots.csv: bank 1 slot 1 has no reader row: its client gets cardNotPresent",
		     p.lines[2]);
	expect_line("slots.csv: bank 1 slots 3..6 have no reader row: their clients get cardNotPresent",
		     p.lines[3]);
	/* the other bank's view of the same file */
	memset(&p, 0, sizeof(p));
	EXPECT_EQ(4u, slot_table_check_slots(&t, 2, 1, "slots.csv", collect, &p));
	expect_line("slots.csv:1: bank 1 is not this bank (-b 2): row ignored", p.lines[0]);
	/* -n 1: three rows beyond it, the other bank's, none missing */
	memset(&p, 0, sizeof(p));
	EXPECT_EQ(4u, slot_table_check_slots(&t, 1, 1, "slots.csv", collect, &p));
	expect_line("slots.csv:6: bank 1 slot 7 is beyond -n 1 (slots 0..0): row ignored",
		    p.lines[3]);
	slot_table_free(&t);
	/* a file that fits: nothing said */
	ASSERT_EQ(0, slot_table_parse(&t, "1,0,a\n1,1,b\n", "slots.csv", err, sizeof(err)));
	memset(&p, 0, sizeof(p));
	EXPECT_EQ(0u, slot_table_check_slots(&t, 1, 2, "slots.csv", collect, &p));
	EXPECT_EQ(0u, p.n);
	/* -n 1023 with two rows: one line for the run, not 1021 */
	EXPECT_EQ(1u, slot_table_check_slots(&t, 1, 1023, "slots.csv", collect, &p));
	expect_line("slots.csv: bank 1 slots 2..1022 have no reader row: their clients get cardNotPresent",
		     p.lines[0]);
	slot_table_free(&t);
}

/*
 * A slot's worker matches its row against the reader list at every open
 * and inventory round: the memory that takes is given back. glibc's
 * regexec() kept ~50 KiB of DFA states in a compiled row for good, per busy
 * slot. The bound is loose, a tenth of that: allocators count
 * differently.
 */
/* Bytes the program has allocated now: ASan's allocator replaces glibc's */
static long heap_in_use(void)
{
#ifdef __SANITIZE_ADDRESS__
	return __sanitizer_get_current_allocated_bytes();
#else
	return mallinfo2().uordblks;
#endif
}

TEST(matching_a_row_keeps_no_memory)
{
	static const char text[] =
		"1,0,^remsim softsim 0 [0-9A-F]{2} 00$\n"
		"1,1,^remsim softsim 0 [0-9A-F]{2} 01$\n";
	struct slot_table t = { 0 };
	long before, after;
	char err[200], reader[64];
	unsigned int i, hits = 0;

	ASSERT_EQ(0, slot_table_parse(&t, text, "slots.csv", err, sizeof(err)));
	/* the first call's one-time allocations (locale tables) out of the count */
	matches(slot_table_find(&t, 1, 1), "remsim softsim 9 00 00");
	before = heap_in_use();
	for (i = 0; i < 32; i++) {
		snprintf(reader, sizeof(reader), "remsim softsim %u %02X %02u", i / 2, 0x3c + i,
			 i % 2);
		hits += matches(slot_table_find(&t, 1, 0), reader);
	}
	after = heap_in_use();
	EXPECT_EQ(1u, hits);
	printf("# heap in use after 32 matches: %+ld bytes\n", after - before);
	EXPECT_TRUE(after - before < 5000);
	slot_table_free(&t);
}

int main(int argc, char **argv)
{
	return ktap_main_in_dir(argc, argv, dir);
}
