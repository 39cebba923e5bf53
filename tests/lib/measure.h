/* SPDX-License-Identifier: GPL-2.0 */
/*
 * measure.h - time and percentiles for tests and benchmarks.
 */
#ifndef _MEASURE_H
#define _MEASURE_H

#include <stddef.h>
#include <stdint.h>

/* CLOCK_MONOTONIC in ns. */
uint64_t now_ns(void);
/* The pct-th percentile of n values (sorted in place); 0 when n is 0. */
uint64_t percentile(uint64_t *values, size_t n, unsigned int pct);

#endif /* _MEASURE_H */
