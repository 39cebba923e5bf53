/* SPDX-License-Identifier: GPL-2.0 */
/*
 * measure.h - time and percentiles for tests and benchmarks, and every
 * thread of some processes pinned to one CPU for a while.
 */
#ifndef _MEASURE_H
#define _MEASURE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* CLOCK_MONOTONIC in ns. */
uint64_t now_ns(void);
/* The pct-th percentile of n values (sorted in place); 0 when n is 0. */
uint64_t percentile(uint64_t *values, size_t n, unsigned int pct);

/* Threads pinned at most, over all the processes of one pin_pids() */
#define PIN_TASKS_MAX	4096

/* What pin_pids() changed: each thread's mask before, for unpin(). */
struct pin_task;
struct pinned {
	struct pin_task *task;
	unsigned int n, cap;
};

/* The @nth (from 0) of the CPUs this process may run on, or -errno (-ENOENT: fewer). */
int allowed_cpu(unsigned int nth);
/*
 * Every thread of the @n processes @pids onto CPU @cpu alone, each one's
 * mask kept in @p. A process or thread that exits meanwhile is skipped.
 * 0, or -errno with every mask put back (-E2BIG: over PIN_TASKS_MAX).
 */
int pin_pids(const pid_t *pids, unsigned int n, int cpu, struct pinned *p);
/*
 * Puts back what pin_pids() changed: each thread its own mask; a thread
 * started since (which inherited the pinned one) gets its process's first
 * thread's. Frees @p. 0, or the first -errno (the others still restored).
 */
int unpin(struct pinned *p);

#endif /* _MEASURE_H */
