// SPDX-License-Identifier: GPL-2.0
/* The reader map file, with a line number for every complaint. */
#include <errno.h>
#include <pthread.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "remsim/conf.h"

#define FIELDS	3

/* Splits one line into fields; -EINVAL with @why on bad quoting. */
static int split(const char *line, char **fields, int *nfields, const char **why)
{
	const char *p = line;
	int n = 0;

	*nfields = 0;
	for (;;) {
		size_t cap = strlen(line) + 1, len = 0;
		char *f = malloc(cap);

		if (!f)
			return -ENOMEM;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '"') {
			for (p++;; p++) {
				if (!*p) {
					free(f);
					*why = "a quoted field is not closed";
					return -EINVAL;
				}
				if (*p == '"' && p[1] == '"') {
					f[len++] = '"';
					p++;
				} else if (*p == '"') {
					p++;
					break;
				} else {
					f[len++] = *p;
				}
			}
			while (*p == ' ' || *p == '\t')
				p++;
			if (*p && *p != ',') {
				free(f);
				*why = "text after a closing quote";
				return -EINVAL;
			}
		} else {
			while (*p && *p != ',')
				f[len++] = *p++;
			while (len && (f[len - 1] == ' ' || f[len - 1] == '\t'))
				len--;
		}
		f[len] = 0;
		if (n == FIELDS) {
			free(f);
			*why = "more than 3 fields (bankId, slotNr, reader regex)";
			return -EINVAL;
		}
		fields[n++] = f;
		*nfields = n;
		if (!*p)
			break;
		p++;	/* the comma */
	}
	return 0;
}

static int number(const char *s, unsigned long *v)
{
	char *end;

	if (!*s || *s == '-' || *s == '+')
		return -EINVAL;
	*v = strtoul(s, &end, 10);
	return *end || *v > 1023 ? -EINVAL : 0;
}

/* The first of @names (one, or PC/SC's list of them if !@one) that @row matches. */
static const char *first_match(const struct slot_row *row, const char *names, bool one)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	const char *found = NULL, *r = names;
	regex_t re;

	pthread_mutex_lock(&lock);
	/* it compiled when the file was read; memory may fail now */
	if (!regcomp(&re, row->pattern, REG_EXTENDED | REG_NOSUB)) {
		do {
			if (!regexec(&re, r, 0, NULL, 0)) {
				found = r;
				break;
			}
			r += strlen(r) + 1;
		} while (!one && *r);
		regfree(&re);
	}
	pthread_mutex_unlock(&lock);
	return found;
}

bool slot_row_match(const struct slot_row *row, const char *reader)
{
	return first_match(row, reader, true);
}

const char *slot_row_find(const struct slot_row *row, const char *readers)
{
	return *readers ? first_match(row, readers, false) : NULL;
}

void slot_table_free(struct slot_table *t)
{
	size_t i;

	for (i = 0; i < t->count; i++)
		free(t->rows[i].pattern);
	free(t->rows);
	t->rows = NULL;
	t->count = 0;
}

/* Adds the row of a checked line: 0, or -errno with @err set. */
static int add_row(struct slot_table *t, unsigned long bank, unsigned long slot, char **regex,
		   const char *name, unsigned int lineno, char *err, size_t errlen)
{
	const struct slot_row *old = slot_table_find(t, bank, slot);
	struct slot_row *rows, *row;
	char rerr[100];
	regex_t re;
	int rc;

	if (old) {
		snprintf(err, errlen, "%s:%u: bank %lu slot %lu is on line %u already", name,
			 lineno, bank, slot, old->line);
		return -EINVAL;
	}
	if (t->count == SLOT_ROWS_MAX) {
		snprintf(err, errlen, "%s:%u: more than %d rows", name, lineno, SLOT_ROWS_MAX);
		return -EINVAL;
	}
	rows = realloc(t->rows, (t->count + 1) * sizeof(*rows));
	if (!rows)
		return -ENOMEM;
	t->rows = rows;
	row = &rows[t->count];
	rc = regcomp(&re, *regex, REG_EXTENDED | REG_NOSUB);
	if (rc) {
		regerror(rc, &re, rerr, sizeof(rerr));
		snprintf(err, errlen, "%s:%u: bad regex \"%s\": %s", name, lineno, *regex,
			 rerr);
		return -EINVAL;
	}
	regfree(&re);
	row->bank_id = bank;
	row->slot_nr = slot;
	row->line = lineno;
	row->pattern = *regex;
	*regex = NULL;
	t->count++;
	return 0;
}

/* One line of the file (changed in place): 0, or -errno with @err set. */
static int parse_line(struct slot_table *t, char *line, const char *name, unsigned int lineno,
		      char *err, size_t errlen)
{
	unsigned long bank = 0, slot = 0;
	const char *why = NULL;
	char *fields[FIELDS];
	int n = 0, i, ret;

	line[strcspn(line, "\r")] = 0;
	if (!line[strspn(line, " \t")] || line[strspn(line, " \t")] == '#')
		return 0;
	ret = split(line, fields, &n, &why);
	if (!ret && n != FIELDS)
		why = "expected 3 fields: bankId, slotNr, reader regex";
	else if (!ret && number(fields[0], &bank))
		why = "bankId is not a number 0..1023";
	else if (!ret && number(fields[1], &slot))
		why = "slotNr is not a number 0..1023";
	else if (!ret && !fields[2][0])
		why = "the reader regex is empty";
	if (!ret && !why)
		ret = add_row(t, bank, slot, &fields[2], name, lineno, err, errlen);
	if (why) {
		snprintf(err, errlen, "%s:%u: %s", name, lineno, why);
		ret = -EINVAL;
	} else if (ret == -ENOMEM) {
		snprintf(err, errlen, "%s:%u: out of memory", name, lineno);
	}
	for (i = 0; i < n; i++)
		free(fields[i]);
	return ret;
}

int slot_table_parse(struct slot_table *t, const char *text, const char *name,
		     char *err, size_t errlen)
{
	char *copy = strdup(text), *line, *save = NULL;
	unsigned int lineno = 0;
	int ret = 0;

	memset(t, 0, sizeof(*t));
	if (!copy)
		return -ENOMEM;
	for (line = copy; line && !ret; line = save) {
		save = strchr(line, '\n');
		if (save)
			*save++ = 0;
		ret = parse_line(t, line, name, ++lineno, err, errlen);
	}
	free(copy);
	if (ret)
		slot_table_free(t);
	return ret;
}

int slot_table_load(struct slot_table *t, const char *path, char *err, size_t errlen)
{
	struct conf_file cf;
	char *line;
	int ret;

	memset(t, 0, sizeof(*t));
	ret = conf_open(&cf, path, err, errlen);
	if (ret)
		return ret;
	while ((ret = conf_line(&cf, &line, err, errlen)) > 0) {
		ret = parse_line(t, line, path, cf.lineno, err, errlen);
		if (ret)
			break;
	}
	conf_close(&cf);
	if (ret)
		slot_table_free(t);
	return ret;
}

int slot_table_check_bank(const struct slot_table *t, uint16_t bank_id, const char *name,
			  char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < t->count; i++)
		if (t->rows[i].bank_id == bank_id)
			return 0;
	snprintf(err, errlen, "%s: no reader for bank %u", name, bank_id);
	return -ENOENT;
}

/* Whether @t has a row for bank @bank_id slot @slot_nr. */
static bool has_row(const struct slot_table *t, uint16_t bank_id, unsigned int slot_nr)
{
	return slot_table_find(t, bank_id, slot_nr) != NULL;
}

/*
 * The bank's slots with no row, as runs of consecutive slots: one line a
 * run, so a file for 8 slots read with -n 1023 is one line, not 1015.
 */
static unsigned int report_missing(const struct slot_table *t, uint16_t bank_id,
				   unsigned int num_slots, const char *name,
				   slot_table_report_fn report, void *arg)
{
	unsigned int slot = 0, first, n = 0;
	char msg[300];

	while (slot < num_slots) {
		if (has_row(t, bank_id, slot)) {
			slot++;
			continue;
		}
		for (first = slot; slot < num_slots && !has_row(t, bank_id, slot); slot++)
			;
		if (first == slot - 1)
			snprintf(msg, sizeof(msg),
				 "%s: bank %u slot %u has no reader row: its client gets cardNotPresent",
				 name, bank_id, first);
		else
			snprintf(msg, sizeof(msg),
				 "%s: bank %u slots %u..%u have no reader row: their clients get cardNotPresent",
				 name, bank_id, first, slot - 1);
		report(msg, arg);
		n++;
	}
	return n;
}

unsigned int slot_table_check_slots(const struct slot_table *t, uint16_t bank_id,
				    unsigned int num_slots, const char *name,
				    slot_table_report_fn report, void *arg)
{
	const struct slot_row *r;
	unsigned int n = 0;
	char msg[300];
	size_t i;

	/* in file order, so the lines read as the file does */
	for (i = 0; i < t->count; i++) {
		r = &t->rows[i];
		if (r->bank_id != bank_id)
			snprintf(msg, sizeof(msg),
				 "%s:%u: bank %u is not this bank (-b %u): row ignored",
				 name, r->line, r->bank_id, bank_id);
		else if (r->slot_nr >= num_slots)
			snprintf(msg, sizeof(msg),
				 "%s:%u: bank %u slot %u is beyond -n %u (slots 0..%u): row ignored",
				 name, r->line, bank_id, r->slot_nr, num_slots, num_slots - 1);
		else
			continue;
		report(msg, arg);
		n++;
	}
	return n + report_missing(t, bank_id, num_slots, name, report, arg);
}

const struct slot_row *slot_table_find(const struct slot_table *t, uint16_t bank_id,
				       uint16_t slot_nr)
{
	size_t i;

	for (i = 0; i < t->count; i++)
		if (t->rows[i].bank_id == bank_id && t->rows[i].slot_nr == slot_nr)
			return &t->rows[i];
	return NULL;
}
