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

/*
 * @set returns 0, or -EINVAL with a sentence in @why. Returns 0, or -errno
 * with "FILE:LINE: ..." in @err.
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
