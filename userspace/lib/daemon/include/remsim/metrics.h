/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Prometheus metrics of the daemons: latency histograms with fixed buckets
 * (a few compares per APDU, no allocation), the text exposition format
 * 0.0.4 written into a buffer (metrics.c), and a minimal HTTP/1.1 responder
 * in the event loop that answers GET /metrics and nothing else
 * (metrics_http.c). Off unless --metrics or "metrics =" names an address.
 */
#ifndef REMSIM_METRICS_H
#define REMSIM_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "remsim/evloop.h"

/*
 * The upper bounds of the latency buckets, in ns: 100 us to 5 s, what a
 * card over the network takes (a local softsim well under 1 ms, a real SIM
 * 5 to 100 ms, an authentication up to a second). One more bucket, +Inf.
 */
#define METRICS_BUCKETS		15
extern const uint64_t metrics_bucket_ns[METRICS_BUCKETS];

struct metrics_hist {
	uint64_t bucket[METRICS_BUCKETS + 1];	/* per bucket, not cumulative */
	uint64_t count;
	uint64_t sum_ns;
};

void metrics_hist_observe(struct metrics_hist *h, uint64_t ns);
/*
 * The @q quantile (0 < q < 1) in seconds, interpolated linearly inside its
 * bucket as Prometheus' histogram_quantile() does, so that the numbers of
 * SIGUSR1 and a Grafana panel agree; -1 when nothing was observed.
 */
double metrics_hist_quantile(const struct metrics_hist *h, double q);

/*
 * A scrape's text. It grows as needed up to METRICS_BODY_MAX (a thousand
 * slots take about 1 MiB); beyond that, or out of memory, @failed is set
 * and the scrape answers 500 rather than a truncated page.
 */
#define METRICS_BODY_MAX	(16u << 20)

struct metrics_out {
	char *buf;
	size_t len, cap;
	bool failed;
};

/* "# HELP" and "# TYPE" of a family: @type "counter", "gauge", "histogram". */
void metrics_family(struct metrics_out *o, const char *name, const char *type,
		    const char *help);
/* One sample, "name{labels} value"; @labels from metrics_labels() or "". */
void metrics_sample(struct metrics_out *o, const char *name, const char *labels,
		    uint64_t value);
/* A histogram's _bucket (cumulative, le in seconds), _sum and _count lines. */
void metrics_histogram(struct metrics_out *o, const char *name, const char *labels,
		       const struct metrics_hist *h);
/*
 * Label pairs: key, value, ..., NULL into @buf as k1="v1",k2="v2", the
 * values escaped as the format wants (backslash, quote, newline).
 */
void metrics_labels(char *buf, size_t size, ...) __attribute__((sentinel));

/* --metrics ADDR:PORT */
struct metrics_cfg {
	bool on;
	char host[64];
	uint16_t port;
};

/*
 * "PORT" or ":PORT" listen on 127.0.0.1 only; "HOST:PORT" and
 * "[V6]:PORT" on that address (0.0.0.0: every one); "off" turns it off.
 * 0, or -EINVAL with the reason in @why.
 */
int metrics_parse(struct metrics_cfg *cfg, const char *value, char *why, size_t whylen);
/* Whether a SIGHUP's @b differs from the running @a (a restart applies it). */
bool metrics_changed(const struct metrics_cfg *a, const struct metrics_cfg *b);
/* The address as the option takes it, for log lines. */
void metrics_format(const struct metrics_cfg *cfg, char *buf, size_t size);

/*
 * The responder's limits: connections at once (more are accepted and
 * closed at once, so the backlog never fills), the request head, and the
 * time a connection has for its request and our answer together.
 */
#define METRICS_CONN_MAX	16
#define METRICS_REQUEST_MAX	4096
#define METRICS_CONN_MS		5000

struct metrics_server;

/* The program's series, written on each GET /metrics. */
typedef void metrics_collect_fn(struct metrics_out *o, void *data);

/* Listens on @cfg's address in @loop: the server, or NULL with @err. */
struct metrics_server *metrics_start(struct ev_loop *loop, const struct metrics_cfg *cfg,
				     metrics_collect_fn *collect, void *data,
				     char *err, size_t errlen);
void metrics_stop(struct metrics_server *m);
/* The port it listens on (port 0 asks for any). */
int metrics_port(const struct metrics_server *m);

#endif
