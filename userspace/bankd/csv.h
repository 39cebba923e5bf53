/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bankd_pcsc_slots.csv, as osmo-remsim-bankd reads it: one row per bank
 * slot, "bankId","slotNr","reader name regex" (POSIX extended, matched
 * anywhere in the PC/SC reader name; the first reader that matches wins).
 * Quotes are optional; "" inside quotes is a quote.
 */
#ifndef REMSIM_BANKD_CSV_H
#define REMSIM_BANKD_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Rows of one file. A bank has at most 1023 slots; a file shared by a few
 * banks fits. Each row's regex is compiled once when read (to refuse a bad
 * one), so a file of a million tiny rows must not be taken.
 */
#define SLOT_ROWS_MAX	4096

struct slot_row {
	uint16_t bank_id;
	uint16_t slot_nr;
	unsigned int line;	/* in the file, for messages */
	char *pattern;		/* checked: it compiles */
};

struct slot_table {
	struct slot_row *rows;
	size_t count;
};

/*
 * Parses @text (the file's contents; @name for messages). On a bad line
 * returns -EINVAL with "NAME:LINE: why" in @err and leaves @t empty.
 */
int slot_table_parse(struct slot_table *t, const char *text, const char *name,
		     char *err, size_t errlen);
/*
 * Whether @reader matches @row's regex. Any thread may call it. The regex
 * is compiled for the call and freed after it: glibc's regexec() keeps the
 * DFA states it built in the regex_t, about 50 KiB for a row matched
 * against 16 reader names, for good: that was half of what a busy bank
 * slot cost bankd in memory (bench/bankd_rtt, bankd_rss_per_slot). One
 * call at a time, so that the scratch is the same few pages for all.
 */
bool slot_row_match(const struct slot_row *row, const char *reader);
/*
 * The first reader of @readers (SCardListReaders()' list: names ended by
 * NUL, an empty name last) that @row matches, or NULL: the regex compiled
 * once for the whole list.
 */
const char *slot_row_find(const struct slot_row *row, const char *readers);
/*
 * Reads @path with conf_line() (its limits on lines and size apply), then
 * as slot_table_parse().
 */
int slot_table_load(struct slot_table *t, const char *path, char *err, size_t errlen);
/*
 * -ENOENT with "NAME: no reader for bank N" in @err when no row is for
 * @bank_id: a bankd with such a file would serve nothing.
 */
int slot_table_check_bank(const struct slot_table *t, uint16_t bank_id, const char *name,
			  char *err, size_t errlen);
/* One complaint of slot_table_check_slots(), a whole line. */
typedef void (*slot_table_report_fn)(const char *msg, void *arg);
/*
 * What the rows mean for bank @bank_id with @num_slots slots (-b, -n): a
 * row for another bank ("NAME:LINE: bank 2 is not this bank ..."), a row
 * beyond the last slot ("NAME:LINE: ... is beyond -n 8 ..."), both
 * ignored by bankd, and each run of slots with no row ("NAME: bank 1
 * slots 3..7 have no reader row ...", whose clients can never get a
 * card). Calls @report once a problem, in file order, then the missing
 * slots; returns how many there were. Each is a mistake in the file
 * that bankd can run with: a warning, or with --strict a refusal.
 */
unsigned int slot_table_check_slots(const struct slot_table *t, uint16_t bank_id,
				    unsigned int num_slots, const char *name,
				    slot_table_report_fn report, void *arg);
void slot_table_free(struct slot_table *t);
const struct slot_row *slot_table_find(const struct slot_table *t, uint16_t bank_id,
				       uint16_t slot_nr);

#endif
