// SPDX-License-Identifier: GPL-2.0
/*
 * The series side of the metrics (remsim/metrics.h): histograms and the
 * Prometheus text format. The HTTP side is metrics_http.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remsim/conf.h"
#include "remsim/metrics.h"

const uint64_t metrics_bucket_ns[METRICS_BUCKETS] = {
	100000, 250000, 500000,				/* 100 us .. 500 us */
	1000000, 2500000, 5000000,			/* 1 ms .. 5 ms */
	10000000, 25000000, 50000000,			/* 10 ms .. 50 ms */
	100000000, 250000000, 500000000,		/* 100 ms .. 500 ms */
	1000000000, 2500000000ull, 5000000000ull,	/* 1 s .. 5 s */
};

void metrics_hist_observe(struct metrics_hist *h, uint64_t ns)
{
	unsigned int i = 0;

	while (i < METRICS_BUCKETS && ns > metrics_bucket_ns[i])
		i++;
	h->bucket[i]++;
	h->count++;
	h->sum_ns += ns;
}

double metrics_hist_quantile(const struct metrics_hist *h, double q)
{
	double rank = q * h->count, below = 0, lo = 0, hi;
	unsigned int i;

	if (!h->count)
		return -1;
	for (i = 0; i <= METRICS_BUCKETS; i++) {
		if (below + h->bucket[i] >= rank && h->bucket[i])
			break;
		below += h->bucket[i];
		if (i < METRICS_BUCKETS)
			lo = metrics_bucket_ns[i] / 1e9;
	}
	/* in +Inf: the highest finite bound, as histogram_quantile() says */
	if (i >= METRICS_BUCKETS)
		return metrics_bucket_ns[METRICS_BUCKETS - 1] / 1e9;
	hi = metrics_bucket_ns[i] / 1e9;
	return lo + (hi - lo) * (rank - below) / h->bucket[i];
}

static void out_printf(struct metrics_out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void out_printf(struct metrics_out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->failed)
		return;
	for (;;) {
		size_t room = o->cap - o->len;

		va_start(ap, fmt);
		n = vsnprintf(o->buf ? o->buf + o->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->failed = true;
			return;
		}
		if ((size_t)n < room) {
			o->len += n;
			return;
		}
		/* doubling: a scrape costs a handful of reallocs, not one per line */
		{
			size_t cap = o->cap ? 2 * o->cap : 16384;
			char *buf;

			while (cap < o->len + n + 1)
				cap *= 2;
			if (cap > METRICS_BODY_MAX || !(buf = realloc(o->buf, cap))) {
				o->failed = true;
				return;
			}
			o->buf = buf;
			o->cap = cap;
		}
	}
}

void metrics_family(struct metrics_out *o, const char *name, const char *type,
		    const char *help)
{
	out_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void metrics_sample(struct metrics_out *o, const char *name, const char *labels,
		    uint64_t value)
{
	if (labels && *labels)
		out_printf(o, "%s{%s} %llu\n", name, labels, (unsigned long long)value);
	else
		out_printf(o, "%s %llu\n", name, (unsigned long long)value);
}

void metrics_histogram(struct metrics_out *o, const char *name, const char *labels,
		       const struct metrics_hist *h)
{
	const char *sep = labels && *labels ? "," : "";
	uint64_t cum = 0;
	unsigned int i;

	if (!labels)
		labels = "";
	for (i = 0; i < METRICS_BUCKETS; i++) {
		cum += h->bucket[i];
		out_printf(o, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep,
			   metrics_bucket_ns[i] / 1e9, (unsigned long long)cum);
	}
	out_printf(o, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
		   (unsigned long long)h->count);
	out_printf(o, "%s_sum%s%s%s %.9f\n", name, *labels ? "{" : "", labels,
		   *labels ? "}" : "", h->sum_ns / 1e9);
	out_printf(o, "%s_count%s%s%s %llu\n", name, *labels ? "{" : "", labels,
		   *labels ? "}" : "", (unsigned long long)h->count);
}

/* Appends @c to @buf at *@n if there is room for it and the NUL. */
static void put(char *buf, size_t size, size_t *n, char c)
{
	if (*n + 1 < size)
		buf[(*n)++] = c;
}

void metrics_labels(char *buf, size_t size, ...)
{
	const char *key, *v;
	size_t n = 0;
	va_list ap;

	if (!size)
		return;
	va_start(ap, size);
	while ((key = va_arg(ap, const char *))) {
		v = va_arg(ap, const char *);
		if (n)
			put(buf, size, &n, ',');
		while (*key)
			put(buf, size, &n, *key++);
		put(buf, size, &n, '=');
		put(buf, size, &n, '"');
		for (; v && *v; v++) {
			if (*v == '\\' || *v == '"' || *v == '\n') {
				put(buf, size, &n, '\\');
				put(buf, size, &n, *v == '\n' ? 'n' : *v);
			} else {
				put(buf, size, &n, *v);
			}
		}
		put(buf, size, &n, '"');
	}
	va_end(ap);
	buf[n] = '\0';
}

int metrics_parse(struct metrics_cfg *cfg, const char *value, char *why, size_t whylen)
{
	const char *colon = strrchr(value, ':'), *port = colon ? colon + 1 : value;
	size_t hlen = colon ? (size_t)(colon - value) : 0;
	const char *host = value;
	unsigned long p;

	if (!strcmp(value, "off") || !strcmp(value, "no")) {
		cfg->on = false;
		return 0;
	}
	if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
		host++;
		hlen -= 2;
	} else if (memchr(host, ':', hlen)) {
		snprintf(why, whylen, "metrics \"%s\": an IPv6 address goes in brackets, [::1]:9100",
			 value);
		return -EINVAL;
	}
	if (conf_uint(port, 0, 65535, &p)) {
		snprintf(why, whylen, "metrics \"%s\" is not ADDR:PORT, :PORT or PORT (0..65535)",
			 value);
		return -EINVAL;
	}
	if (hlen >= sizeof(cfg->host)) {
		snprintf(why, whylen, "metrics \"%s\": the address is over %zu characters",
			 value, sizeof(cfg->host) - 1);
		return -EINVAL;
	}
	/* no address given: this host only, never every interface by accident */
	if (!hlen) {
		strcpy(cfg->host, "127.0.0.1");
	} else {
		memcpy(cfg->host, host, hlen);
		cfg->host[hlen] = '\0';
	}
	cfg->port = p;
	cfg->on = true;
	return 0;
}

bool metrics_changed(const struct metrics_cfg *a, const struct metrics_cfg *b)
{
	if (a->on != b->on)
		return true;
	return a->on && (a->port != b->port || strcmp(a->host, b->host));
}

void metrics_format(const struct metrics_cfg *cfg, char *buf, size_t size)
{
	if (!cfg->on)
		snprintf(buf, size, "off");
	else if (strchr(cfg->host, ':'))
		snprintf(buf, size, "[%s]:%u", cfg->host, cfg->port);
	else
		snprintf(buf, size, "%s:%u", cfg->host, cfg->port);
}
