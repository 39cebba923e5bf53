// SPDX-License-Identifier: GPL-2.0
/* The reader map file, with a line number for every complaint. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"

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

void slot_table_free(struct slot_table *t)
{
	size_t i;

	for (i = 0; i < t->count; i++) {
		regfree(&t->rows[i].re);
		free(t->rows[i].pattern);
	}
	free(t->rows);
	t->rows = NULL;
	t->count = 0;
}

int slot_table_parse(struct slot_table *t, const char *text, const char *name,
		     char *err, size_t errlen)
{
	char *copy = strdup(text), *line, *save = NULL, *fields[FIELDS];
	unsigned int lineno = 0;
	int ret = 0;

	memset(t, 0, sizeof(*t));
	if (!copy)
		return -ENOMEM;
	for (line = copy; line && !ret; line = save) {
		const char *why = NULL;
		unsigned long bank, slot;
		struct slot_row *rows, *row;
		int n = 0, i, rc;
		char rerr[100];

		save = strchr(line, '\n');
		if (save)
			*save++ = 0;
		lineno++;
		line[strcspn(line, "\r")] = 0;
		if (!line[strspn(line, " \t")] || line[strspn(line, " \t")] == '#')
			continue;
		ret = split(line, fields, &n, &why);
		if (!ret && n != FIELDS)
			why = "expected 3 fields: bankId, slotNr, reader regex";
		else if (!ret && number(fields[0], &bank))
			why = "bankId is not a number 0..1023";
		else if (!ret && number(fields[1], &slot))
			why = "slotNr is not a number 0..1023";
		else if (!ret && !fields[2][0])
			why = "the reader regex is empty";
		if (!ret && !why) {
			rows = realloc(t->rows, (t->count + 1) * sizeof(*rows));
			if (!rows) {
				ret = -ENOMEM;
			} else {
				t->rows = rows;
				row = &rows[t->count];
				rc = regcomp(&row->re, fields[2], REG_EXTENDED | REG_NOSUB);
				if (rc) {
					regerror(rc, &row->re, rerr, sizeof(rerr));
					snprintf(err, errlen, "%s:%u: bad regex \"%s\": %s", name,
						 lineno, fields[2], rerr);
					ret = -EINVAL;
				} else if (slot_table_find(t, bank, slot)) {
					regfree(&row->re);
					why = "this bank slot already has a row";
				} else {
					row->bank_id = bank;
					row->slot_nr = slot;
					row->pattern = fields[2];
					fields[2] = NULL;
					t->count++;
				}
			}
		}
		if (why) {
			snprintf(err, errlen, "%s:%u: %s", name, lineno, why);
			ret = -EINVAL;
		}
		for (i = 0; i < n; i++)
			free(fields[i]);
	}
	free(copy);
	if (ret)
		slot_table_free(t);
	return ret;
}

int slot_table_load(struct slot_table *t, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *text;
	long len;
	int ret;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	text = calloc(1, len + 1);
	if (!text || fread(text, 1, len, f) != (size_t)len) {
		fclose(f);
		free(text);
		snprintf(err, errlen, "%s: cannot read it", path);
		return -EIO;
	}
	fclose(f);
	ret = slot_table_parse(t, text, path, err, errlen);
	free(text);
	return ret;
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
