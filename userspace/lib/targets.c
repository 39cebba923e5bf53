// SPDX-License-Identifier: GPL-2.0
/*
 * targets.c - the static bank targets file, see remsim/targets.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "remsim/conf.h"
#include "remsim/targets.h"

#define WORDS_MAX	12
/* How long a writer waits for another one: each holds it for milliseconds. */
#define LOCK_WAIT_MS	10000

const char *rs_targets_path(void)
{
	const char *env = getenv(RS_TARGETS_ENV);

	return env && *env ? env : RS_TARGETS_DEFAULT;
}

/* --- one target ---------------------------------------------------------- */

static int id_word(const char *what, const char *s, unsigned long max, uint32_t *out,
		   char *why, size_t size)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (!*s || *s == '-' || *s == '+' || *end || errno || v > max) {
		snprintf(why, size, "%s \"%s\" is not a number in 0..%lu", what, s, max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

/* "HOST:PORT" or "[V6]:PORT". */
static int bankd_word(const char *s, struct rs_target *t, char *why, size_t size)
{
	const char *colon = strrchr(s, ':'), *host = s;
	uint32_t port;
	size_t len;

	if (!colon || colon == s)
		goto bad;
	len = colon - s;
	if (*s == '[') {
		if (len < 2 || colon[-1] != ']')
			goto bad;
		host++;
		len -= 2;
	} else if (memchr(s, ':', len)) {
		goto bad;	/* an IPv6 address needs its brackets */
	}
	if (!len || len > REMSIM_MAP_HOST_MAX || memchr(host, '[', len) || memchr(host, ']', len))
		goto bad;
	if (id_word("port", colon + 1, 65535, &port, why, size) || !port)
		goto bad;
	memcpy(t->host, host, len);
	t->host[len] = 0;
	t->port = port;
	return 0;
bad:
	snprintf(why, size, "\"%.*s\" is not HOST:PORT", REMSIM_MAP_HOST_MAX + 8, s);
	return -EINVAL;
}

int rs_target_parse(int argc, char **argv, struct rs_target *t, char *why, size_t size)
{
	memset(t, 0, sizeof(*t));
	if (argc != 4 && argc != 10)
		goto syntax;
	if (strcmp(argv[0], "client") || strcmp(argv[2], "slot"))
		goto syntax;
	if (id_word("client", argv[1], REMSIM_MAP_ID_MAX, &t->client_id, why, size) ||
	    id_word("client slot", argv[3], REMSIM_MAP_ID_MAX, &t->client_slot, why, size))
		return -EINVAL;
	if (argc == 4)
		return 0;
	if (strcmp(argv[4], "bank") || strcmp(argv[6], "slot") || strcmp(argv[8], "via"))
		goto syntax;
	if (id_word("bank", argv[5], REMSIM_MAP_ID_MAX, &t->bank_id, why, size) ||
	    id_word("bank slot", argv[7], REMSIM_MAP_ID_MAX, &t->bank_slot, why, size))
		return -EINVAL;
	t->has_bank = true;
	return bankd_word(argv[9], t, why, size);
syntax:
	snprintf(why, size, "expected: client ID slot N [bank ID slot N via HOST:PORT]");
	return -EINVAL;
}

void rs_target_bankd(const struct rs_target *t, char *buf, size_t size)
{
	snprintf(buf, size, strchr(t->host, ':') ? "[%s]:%u" : "%s:%u", t->host, t->port);
}

void rs_target_format(const struct rs_target *t, char *buf, size_t size)
{
	char bankd[REMSIM_MAP_HOST_MAX + 10];

	if (!t->has_bank) {
		snprintf(buf, size, "client %u slot %u", t->client_id, t->client_slot);
		return;
	}
	rs_target_bankd(t, bankd, sizeof(bankd));
	snprintf(buf, size, "client %u slot %u bank %u slot %u via %s", t->client_id,
		 t->client_slot, t->bank_id, t->bank_slot, bankd);
}

bool rs_target_same(const struct rs_target *a, const struct rs_target *b)
{
	return a->client_id == b->client_id && a->client_slot == b->client_slot &&
	       a->has_bank == b->has_bank &&
	       (!a->has_bank || (a->bank_id == b->bank_id && a->bank_slot == b->bank_slot &&
				 a->port == b->port && !strcmp(a->host, b->host)));
}

/* --- the set ------------------------------------------------------------- */

static long cmp_id(const struct rs_target *t, uint32_t id, uint32_t slot)
{
	if (t->client_id != id)
		return t->client_id < id ? -1 : 1;
	if (t->client_slot != slot)
		return t->client_slot < slot ? -1 : 1;
	return 0;
}

/* Where the identity is, or would go: *found tells which. */
static size_t locate(const struct rs_targets *ts, uint32_t id, uint32_t slot, bool *found)
{
	size_t lo = 0, hi = ts->n;

	*found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		long c = cmp_id(&ts->v[mid], id, slot);

		if (!c) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct rs_target *rs_targets_find(const struct rs_targets *ts, uint32_t client_id,
					uint32_t client_slot)
{
	bool found;
	size_t i = locate(ts, client_id, client_slot, &found);

	return found ? &ts->v[i] : NULL;
}

int rs_targets_put(struct rs_targets *ts, const struct rs_target *t)
{
	bool found;
	size_t i = locate(ts, t->client_id, t->client_slot, &found);

	if (!t->has_bank)
		return -EINVAL;
	if (found) {
		ts->v[i] = *t;
		return 0;
	}
	if (ts->n == RS_TARGETS_MAX)
		return -ENOSPC;
	if (ts->n == ts->cap) {
		size_t cap = ts->cap ? 2 * ts->cap : 16;
		struct rs_target *v = reallocarray(ts->v, cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		ts->v = v;
		ts->cap = cap;
	}
	memmove(&ts->v[i + 1], &ts->v[i], (ts->n - i) * sizeof(*ts->v));
	ts->v[i] = *t;
	ts->n++;
	return 0;
}

bool rs_targets_del(struct rs_targets *ts, uint32_t client_id, uint32_t client_slot)
{
	bool found;
	size_t i = locate(ts, client_id, client_slot, &found);

	if (!found)
		return false;
	memmove(&ts->v[i], &ts->v[i + 1], (ts->n - i - 1) * sizeof(*ts->v));
	ts->n--;
	return true;
}

int rs_targets_copy(struct rs_targets *dst, const struct rs_targets *src)
{
	memset(dst, 0, sizeof(*dst));
	if (!src->n)
		return 0;
	dst->v = calloc(src->n, sizeof(*dst->v));
	if (!dst->v)
		return -ENOMEM;
	memcpy(dst->v, src->v, src->n * sizeof(*dst->v));
	dst->n = dst->cap = src->n;
	return 0;
}

void rs_targets_free(struct rs_targets *ts)
{
	free(ts->v);
	memset(ts, 0, sizeof(*ts));
}

/* --- reading ------------------------------------------------------------- */

/* Nobody but root or we may have written it: it steers the APDUs. */
static int trusted(const struct conf_file *cf, char *err, size_t errlen)
{
	struct stat st;

	if (fstat(fileno(cf->f), &st)) {
		snprintf(err, errlen, "%s: %s", cf->path, strerror(errno));
		return -errno;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", cf->path);
		return -EINVAL;
	}
	if ((st.st_uid && st.st_uid != geteuid()) || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		snprintf(err, errlen, "%s: ignored: writable by others than root (owner %u, mode %03o)",
			 cf->path, (unsigned int)st.st_uid, (unsigned int)(st.st_mode & 0777));
		return -EPERM;
	}
	return 0;
}

/* What a load tells its caller about bad lines: the first few of them. */
struct reporter {
	void (*bad)(const char *msg, void *arg);
	void *arg;
	unsigned int count;
};

static void report(struct reporter *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void report(struct reporter *r, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	if (!r->bad || ++r->count > RS_TARGETS_BAD_SHOWN)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r->bad(msg, r->arg);
}

/* One line: 1 taken, 0 empty or skipped (reported), -ENOSPC full, -ENOMEM. */
static int load_line(struct rs_targets *ts, const struct conf_file *cf, char *buf,
		     struct reporter *bad)
{
	char *words[WORDS_MAX + 1], *save, *w, why[200];
	struct rs_target t;
	int count = 0, ret;

	*strchrnul(buf, '#') = 0;
	for (w = strtok_r(buf, " \t\r", &save); w && count <= WORDS_MAX;
	     w = strtok_r(NULL, " \t\r", &save))
		words[count++] = w;
	if (!count)
		return 0;
	if (count > WORDS_MAX) {
		report(bad, "%s:%u: too many words", cf->path, cf->lineno);
		return 0;
	}
	if (rs_target_parse(count, words, &t, why, sizeof(why))) {
		report(bad, "%s:%u: %s", cf->path, cf->lineno, why);
		return 0;
	}
	if (!t.has_bank) {
		report(bad, "%s:%u: client %u slot %u: no bank target", cf->path,
		       cf->lineno, t.client_id, t.client_slot);
		return 0;
	}
	if (rs_targets_find(ts, t.client_id, t.client_slot)) {
		report(bad, "%s:%u: client %u slot %u has a target already", cf->path,
		       cf->lineno, t.client_id, t.client_slot);
		return 0;
	}
	ret = rs_targets_put(ts, &t);
	if (ret == -ENOSPC && bad->bad) {
		/* the limit is said however many bad lines came before */
		snprintf(why, sizeof(why), "%s:%u: more than %d targets: this line and the rest ignored",
			 cf->path, cf->lineno, RS_TARGETS_MAX);
		bad->bad(why, bad->arg);
	}
	return ret ? ret : 1;
}

int rs_targets_load(struct rs_targets *ts, const char *path,
		    void (*bad)(const char *msg, void *arg), void *arg,
		    char *err, size_t errlen)
{
	struct reporter r = { bad, arg, 0 };
	struct conf_file cf;
	char *buf;
	int ret;

	ts->n = 0;
	ret = conf_open(&cf, path, err, errlen);
	if (ret)
		return ret;
	ret = trusted(&cf, err, errlen);
	if (ret) {
		conf_close(&cf);
		return ret;	/* not ours to follow at all */
	}
	while ((ret = conf_line(&cf, &buf, err, errlen)) > 0) {
		ret = load_line(ts, &cf, buf, &r);
		if (ret == -ENOSPC)
			ret = 0;	/* reported; what we have stands */
		else if (ret == -ENOMEM)
			snprintf(err, errlen, "%s: out of memory", path);
		else
			continue;
		break;
	}
	conf_close(&cf);
	if (bad && r.count > RS_TARGETS_BAD_SHOWN) {
		char msg[300];

		snprintf(msg, sizeof(msg), "%s: %u more bad lines skipped", path,
			 r.count - RS_TARGETS_BAD_SHOWN);
		bad(msg, arg);
	}
	return ret;
}

/* --- writing ------------------------------------------------------------- */

/* The directory of @path, made if missing. */
static int make_dir(const char *path, char *err, size_t errlen)
{
	char copy[4096], *dir;

	snprintf(copy, sizeof(copy), "%s", path);
	dir = dirname(copy);
	if (!mkdir(dir, 0755) || errno == EEXIST)
		return 0;
	snprintf(err, errlen, "%s: %s", dir, strerror(errno));
	return -errno;
}

static int write_all(FILE *f, const struct rs_targets *ts)
{
	char line[REMSIM_MAP_HOST_MAX + 100];
	size_t i;

	fprintf(f, "# remsim static bank targets, written by remsimctl: see remsimctl(8)\n");
	for (i = 0; i < ts->n; i++) {
		rs_target_format(&ts->v[i], line, sizeof(line));
		fprintf(f, "%s\n", line);
	}
	if (fflush(f) || ferror(f))
		return -EIO;
	return fsync(fileno(f)) ? -errno : 0;
}

int rs_targets_save(const struct rs_targets *ts, const char *path, char *err, size_t errlen)
{
	char tmp[4096];
	FILE *f;
	int fd, ret;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	ret = make_dir(path, err, errlen);
	if (ret)
		return ret;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return ret;
	}
	f = fdopen(fd, "w");
	if (!f) {
		ret = -errno;
		close(fd);
		goto fail;
	}
	ret = fchmod(fd, 0644) ? -errno : write_all(f, ts);
	if (fclose(f) && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (!ret)
		return 0;
fail:
	snprintf(err, errlen, "%s: %s", path, strerror(-ret));
	unlink(tmp);
	return ret;
}

int rs_targets_lock(const char *path, char *err, size_t errlen)
{
	struct timespec pause = { 0, 20 * 1000 * 1000 };
	char name[4096];
	int fd, ret, waited;

	if (snprintf(name, sizeof(name), "%s.lock", path) >= (int)sizeof(name)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	ret = make_dir(path, err, errlen);
	if (ret)
		return ret;
	fd = open(name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", name, strerror(errno));
		return ret;
	}
	for (waited = 0; flock(fd, LOCK_EX | LOCK_NB); waited += 20) {
		if (errno != EWOULDBLOCK || waited >= LOCK_WAIT_MS) {
			ret = errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
			snprintf(err, errlen, "%s: %s", name, ret == -ETIMEDOUT ?
				 "held by another writer for 10 s" : strerror(-ret));
			close(fd);
			return ret;
		}
		nanosleep(&pause, NULL);
	}
	return fd;
}
