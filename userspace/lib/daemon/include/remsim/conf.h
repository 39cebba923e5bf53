/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Config files of the daemons: one "key = value" per line, keys named as
 * the long command-line options, '#' starts a comment. Each pair goes to
 * the same setter the command line uses, so both accept the same things.
 */
#ifndef REMSIM_CONF_H
#define REMSIM_CONF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Limits of every file the daemons and remsimctl read line by line: a line
 * (without its newline) and the whole file. Our files are a few KiB; the
 * limits stop "-c /dev/zero" or a wrong file from growing the process.
 */
#define CONF_LINE_MAX	4096
#define CONF_FILE_MAX	(1024 * 1024)

/* A file being read by conf_line(). */
struct conf_file {
	FILE *f;
	const char *path;
	unsigned int lineno;	/* of the line conf_line() returned last */
	size_t size;		/* bytes read so far */
	char line[CONF_LINE_MAX + 1];
};

/*
 * Opens @path: a regular file of at most CONF_FILE_MAX bytes, a FIFO or a
 * character device (/dev/stdin); a directory, a block device or a socket
 * is refused. Returns 0, or -errno with "FILE: why" in @err.
 */
int conf_open(struct conf_file *cf, const char *path, char *err, size_t errlen);
/*
 * The next line, without its newline, in *@line (valid until the next
 * call): 1, or 0 at the end of the file. A line over CONF_LINE_MAX bytes,
 * one holding a NUL byte, a file over CONF_FILE_MAX bytes or a read error
 * returns -errno with "FILE:LINE: why" in @err.
 */
int conf_line(struct conf_file *cf, char **line, char *err, size_t errlen);
void conf_close(struct conf_file *cf);

/*
 * The keys a file has set so far, with their lines, to refuse a key set
 * twice: the second would silently override the first.
 */
struct conf_key {
	char *key;
	unsigned int line;
};

struct conf_keys {
	struct conf_key *v;
	size_t n, cap;
};

/* The line that set @key, or 0. */
unsigned int conf_keys_line(const struct conf_keys *k, const char *key);
/* Records @key on @line: 0 or -ENOMEM. */
int conf_keys_add(struct conf_keys *k, const char *key, unsigned int line);
void conf_keys_free(struct conf_keys *k);

/*
 * Reads @path with conf_line(). @set returns 0, or -EINVAL with a sentence
 * in @why. A key set twice is refused, naming both lines (no key of ours
 * is a list), once its value passed @set. Returns 0, or -errno with
 * "FILE:LINE: ..." in @err.
 */
int conf_load(const char *path,
	      int (*set)(const char *key, const char *value, void *arg,
			 char *why, size_t whylen),
	      void *arg, char *err, size_t errlen);

/* Helpers for setters: a number in [min, max]. */
int conf_uint(const char *value, unsigned long min, unsigned long max,
	      unsigned long *out);

/* Cuts white space off both ends of @s, in place; returns the start. */
char *conf_trim(char *s);

/*
 * Hex bytes ("3b9f96", "3b 9f:96") into @out: the count, or -EINVAL (not a
 * hex digit), -EILSEQ (an odd number of digits), -E2BIG (over @size bytes).
 */
long conf_hex(const char *s, uint8_t *out, size_t size);

#endif
