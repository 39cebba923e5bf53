// SPDX-License-Identifier: GPL-2.0
/*
 * measure.c - see measure.h.
 */
#include <stdlib.h>
#include <time.h>

#include "measure.h"

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

uint64_t percentile(uint64_t *values, size_t n, unsigned int pct)
{
	if (!n)
		return 0;
	qsort(values, n, sizeof(*values), cmp_u64);
	return values[(n - 1) * pct / 100];
}
