// SPDX-License-Identifier: GPL-2.0
/*
 * measure.c - see measure.h.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

struct pin_task {
	pid_t pid, tid;
	cpu_set_t mask;		/* before pin_pids() */
};

/* @fn(@pid, tid, @arg) for each thread of @pid, until one fails */
typedef int (*task_fn)(pid_t pid, pid_t tid, void *arg);

/* 0, @fn's error, or -ESRCH when @pid is gone. */
static int for_each_task(pid_t pid, task_fn fn, void *arg)
{
	char path[40];
	struct dirent *de;
	int ret = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return errno == ENOENT ? -ESRCH : -errno;
	while (!ret && (de = readdir(d))) {
		pid_t tid = atoi(de->d_name);

		if (tid > 0)
			ret = fn(pid, tid, arg);
	}
	closedir(d);
	return ret;
}

/* The mask kept for @tid; for a thread started since, its process's main one's. */
static const struct pin_task *pin_find(const struct pinned *p, pid_t pid, pid_t tid)
{
	const struct pin_task *any = NULL;
	unsigned int i;

	for (i = 0; i < p->n; i++) {
		if (p->task[i].tid == tid)
			return &p->task[i];
		if (p->task[i].pid == pid && (!any || p->task[i].tid == pid))
			any = &p->task[i];
	}
	return any;
}

static int pin_grow(struct pinned *p)
{
	unsigned int cap = p->cap ? p->cap * 2 : 64;
	struct pin_task *t;

	if (p->n < p->cap)
		return 0;
	if (p->n == PIN_TASKS_MAX) {
		fprintf(stderr, "pin_pids: over %u threads\n", PIN_TASKS_MAX);
		return -E2BIG;
	}
	if (cap > PIN_TASKS_MAX)
		cap = PIN_TASKS_MAX;
	t = realloc(p->task, cap * sizeof(*t));
	if (!t)
		return -ENOMEM;
	p->task = t;
	p->cap = cap;
	return 0;
}

struct pin_arg {
	struct pinned *p;
	cpu_set_t one;
};

static int pin_task(pid_t pid, pid_t tid, void *arg)
{
	struct pin_arg *a = arg;
	struct pinned *p = a->p;
	struct pin_task *t;
	int ret;

	/* a pid given twice: its threads' masks are pinned ones by now */
	for (unsigned int i = 0; i < p->n; i++)
		if (p->task[i].tid == tid)
			return 0;
	ret = pin_grow(p);
	if (ret)
		return ret;
	t = &p->task[p->n];
	t->pid = pid;
	t->tid = tid;
	if (sched_getaffinity(tid, sizeof(t->mask), &t->mask))
		return errno == ESRCH ? 0 : -errno;
	if (sched_setaffinity(tid, sizeof(a->one), &a->one))
		return errno == ESRCH ? 0 : -errno;
	p->n++;
	return 0;
}

int allowed_cpu(unsigned int nth)
{
	cpu_set_t set;
	int cpu;

	if (sched_getaffinity(0, sizeof(set), &set))
		return -errno;
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &set) && !nth--)
			return cpu;
	return -ENOENT;
}

int pin_pids(const pid_t *pids, unsigned int n, int cpu, struct pinned *p)
{
	struct pin_arg a = { .p = p };
	unsigned int i;
	int ret = 0;

	memset(p, 0, sizeof(*p));
	if (cpu < 0 || cpu >= CPU_SETSIZE)
		return -EINVAL;
	CPU_ZERO(&a.one);
	CPU_SET(cpu, &a.one);
	for (i = 0; i < n && !ret; i++) {
		ret = for_each_task(pids[i], pin_task, &a);
		if (ret == -ESRCH)
			ret = 0;
	}
	if (ret)
		unpin(p);
	return ret;
}

struct unpin_arg {
	const struct pinned *p;
	int err;		/* the first */
};

/* Always 0: one thread that cannot be put back must not keep the others pinned. */
static int unpin_task(pid_t pid, pid_t tid, void *arg)
{
	struct unpin_arg *a = arg;
	const struct pin_task *t = pin_find(a->p, pid, tid);

	if (t && sched_setaffinity(tid, sizeof(t->mask), &t->mask) && errno != ESRCH &&
	    !a->err)
		a->err = -errno;
	return 0;
}

int unpin(struct pinned *p)
{
	struct unpin_arg a = { .p = p };
	unsigned int i, j;
	int r;

	/* each process once, its threads now: those started since too */
	for (i = 0; i < p->n; i++) {
		for (j = 0; j < i && p->task[j].pid != p->task[i].pid; j++)
			;
		if (j < i)
			continue;
		r = for_each_task(p->task[i].pid, unpin_task, &a);
		if (r && r != -ESRCH && !a.err)
			a.err = r;
	}
	free(p->task);
	memset(p, 0, sizeof(*p));
	return a.err;
}
