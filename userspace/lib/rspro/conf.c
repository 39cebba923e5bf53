// SPDX-License-Identifier: GPL-2.0
/* "key = value" config files, fed to the command line's setter. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remsim/conf.h"

char *conf_trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = 0;
	return s;
}

int conf_load(const char *path,
	      int (*set)(const char *key, const char *value, void *arg,
			 char *why, size_t whylen),
	      void *arg, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, why[200];
	size_t cap = 0;
	unsigned int n = 0;
	int ret = 0;

	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	while (getline(&line, &cap, f) >= 0) {
		char *s, *eq, *key, *value;

		n++;
		s = strchr(line, '#');
		if (s)
			*s = 0;
		s = conf_trim(line);
		if (!*s)
			continue;
		eq = strchr(s, '=');
		if (!eq) {
			snprintf(err, errlen, "%s:%u: expected \"key = value\"", path, n);
			ret = -EINVAL;
			break;
		}
		*eq = 0;
		key = conf_trim(s);
		value = conf_trim(eq + 1);
		why[0] = 0;
		if (set(key, value, arg, why, sizeof(why))) {
			snprintf(err, errlen, "%s:%u: %s", path, n,
				 why[0] ? why : "invalid setting");
			ret = -EINVAL;
			break;
		}
	}
	free(line);
	fclose(f);
	return ret;
}

int conf_uint(const char *value, unsigned long min, unsigned long max,
	      unsigned long *out)
{
	char *end;

	if (!*value || *value == '-' || *value == '+')
		return -EINVAL;
	errno = 0;
	*out = strtoul(value, &end, 10);
	if (errno || *end || *out < min || *out > max)
		return -EINVAL;
	return 0;
}

long conf_hex(const char *s, uint8_t *out, size_t size)
{
	size_t n = 0;
	int hi = -1;

	for (; *s; s++) {
		int v;

		if (isspace((unsigned char)*s) || *s == ':')
			continue;
		if (!isxdigit((unsigned char)*s))
			return -EINVAL;
		v = isdigit((unsigned char)*s) ? *s - '0' : tolower((unsigned char)*s) - 'a' + 10;
		if (hi < 0) {
			hi = v;
			continue;
		}
		if (n == size)
			return -E2BIG;
		out[n++] = hi << 4 | v;
		hi = -1;
	}
	return hi < 0 ? (long)n : -EILSEQ;
}
