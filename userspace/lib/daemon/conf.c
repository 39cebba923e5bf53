// SPDX-License-Identifier: GPL-2.0
/* "key = value" config files, fed to the command line's setter. */
#define _GNU_SOURCE		/* strchrnul */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

int conf_open(struct conf_file *cf, const char *path, char *err, size_t errlen)
{
	struct stat st;
	int ret;

	cf->path = path;
	cf->lineno = 0;
	cf->size = 0;
	cf->f = fopen(path, "re");
	if (!cf->f) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	if (fstat(fileno(cf->f), &st)) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	} else if (S_ISDIR(st.st_mode)) {
		ret = -EISDIR;
		snprintf(err, errlen, "%s: is a directory", path);
	} else if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode) && !S_ISCHR(st.st_mode)) {
		ret = -EINVAL;
		snprintf(err, errlen, "%s: not a file, FIFO or character device", path);
	} else if (S_ISREG(st.st_mode) && st.st_size > CONF_FILE_MAX) {
		/* refused before reading: the size is known */
		ret = -EFBIG;
		snprintf(err, errlen, "%s: larger than %d bytes", path, CONF_FILE_MAX);
	} else {
		return 0;
	}
	fclose(cf->f);
	cf->f = NULL;
	return ret;
}

int conf_line(struct conf_file *cf, char **line, char *err, size_t errlen)
{
	size_t len = 0;
	bool nul = false;
	int c;

	cf->lineno++;
	/* byte by byte: a line never grows past the buffer, NULs are seen */
	while ((c = getc(cf->f)) != EOF) {
		if (++cf->size > CONF_FILE_MAX) {
			snprintf(err, errlen, "%s:%u: file larger than %d bytes", cf->path,
				 cf->lineno, CONF_FILE_MAX);
			return -EFBIG;
		}
		if (c == '\n')
			break;
		if (len == CONF_LINE_MAX) {
			snprintf(err, errlen, "%s:%u: line longer than %d bytes", cf->path,
				 cf->lineno, CONF_LINE_MAX);
			return -E2BIG;
		}
		nul |= !c;
		cf->line[len++] = c;
	}
	if (ferror(cf->f)) {
		snprintf(err, errlen, "%s:%u: %s", cf->path, cf->lineno, strerror(errno));
		return -EIO;
	}
	if (c == EOF && !len)
		return 0;
	if (nul) {
		snprintf(err, errlen, "%s:%u: NUL byte in line", cf->path, cf->lineno);
		return -EINVAL;
	}
	cf->line[len] = 0;
	*line = cf->line;
	return 1;
}

void conf_close(struct conf_file *cf)
{
	if (cf->f)
		fclose(cf->f);
	cf->f = NULL;
}

unsigned int conf_keys_line(const struct conf_keys *k, const char *key)
{
	size_t i;

	for (i = 0; i < k->n; i++)
		if (!strcmp(k->v[i].key, key))
			return k->v[i].line;
	return 0;
}

int conf_keys_add(struct conf_keys *k, const char *key, unsigned int line)
{
	struct conf_key *v = k->v;
	char *copy;

	if (k->n == k->cap) {
		v = realloc(k->v, (k->cap ? 2 * k->cap : 16) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		k->v = v;
		k->cap = k->cap ? 2 * k->cap : 16;
	}
	copy = strdup(key);
	if (!copy)
		return -ENOMEM;
	k->v[k->n++] = (struct conf_key){ copy, line };
	return 0;
}

void conf_keys_free(struct conf_keys *k)
{
	size_t i;

	for (i = 0; i < k->n; i++)
		free(k->v[i].key);
	free(k->v);
	memset(k, 0, sizeof(*k));
}

/* One line of conf_load(): 0, or -errno with "FILE:LINE: why" in @err. */
static int conf_load_line(struct conf_file *cf, char *s, struct conf_keys *keys,
			  int (*set)(const char *key, const char *value, void *arg,
				     char *why, size_t whylen),
			  void *arg, char *err, size_t errlen)
{
	char *eq, *key, *value, why[200];
	unsigned int first;

	*strchrnul(s, '#') = 0;
	s = conf_trim(s);
	if (!*s)
		return 0;
	eq = strchr(s, '=');
	if (!eq) {
		snprintf(err, errlen, "%s:%u: expected \"key = value\"", cf->path, cf->lineno);
		return -EINVAL;
	}
	*eq = 0;
	key = conf_trim(s);
	value = conf_trim(eq + 1);
	why[0] = 0;
	if (set(key, value, arg, why, sizeof(why))) {
		snprintf(err, errlen, "%s:%u: %s", cf->path, cf->lineno,
			 why[0] ? why : "invalid setting");
		return -EINVAL;
	}
	/* after the setter: a bad value is the first thing to say */
	first = conf_keys_line(keys, key);
	if (first) {
		snprintf(err, errlen, "%s:%u: \"%s\" is set on line %u already", cf->path,
			 cf->lineno, key, first);
		return -EINVAL;
	}
	if (conf_keys_add(keys, key, cf->lineno)) {
		snprintf(err, errlen, "%s:%u: out of memory", cf->path, cf->lineno);
		return -ENOMEM;
	}
	return 0;
}

int conf_load(const char *path,
	      int (*set)(const char *key, const char *value, void *arg,
			 char *why, size_t whylen),
	      void *arg, char *err, size_t errlen)
{
	struct conf_keys keys = { 0 };
	struct conf_file cf;
	char *line;
	int ret;

	ret = conf_open(&cf, path, err, errlen);
	if (ret)
		return ret;
	while ((ret = conf_line(&cf, &line, err, errlen)) > 0) {
		ret = conf_load_line(&cf, line, &keys, set, arg, err, errlen);
		if (ret)
			break;
	}
	conf_keys_free(&keys);
	conf_close(&cf);
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
