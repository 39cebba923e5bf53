// SPDX-License-Identifier: GPL-2.0
/*
 * measure_test - pin_pids() and unpin() of tests/lib/measure.c, which
 * bench/bankd_rtt uses to run the whole chain on one CPU: every thread
 * of every process given is pinned, each gets its own mask back (threads
 * started meanwhile their process's), exited processes are no error, and
 * a CPU that cannot be had changes nothing.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ktap.h"
#include "measure.h"

/* A thread that waits for its release, its tid told */
struct sleeper {
	pthread_t th;
	atomic_int tid;
	atomic_bool go;
};

static void *sleeper_run(void *arg)
{
	struct sleeper *s = arg;

	atomic_store(&s->tid, gettid());
	while (!atomic_load(&s->go))
		usleep(1000);
	return NULL;
}

static void sleeper_start(struct sleeper *s)
{
	atomic_store(&s->tid, 0);
	atomic_store(&s->go, false);
	ASSERT_EQ(0, pthread_create(&s->th, NULL, sleeper_run, s));
	while (!atomic_load(&s->tid))
		usleep(1000);
}

static void sleeper_stop(struct sleeper *s)
{
	atomic_store(&s->go, true);
	pthread_join(s->th, NULL);
}

/* A child process that only waits: its pid */
static pid_t child_start(void)
{
	pid_t pid = fork();

	if (!pid) {
		alarm(KTAP_DEFAULT_TIMEOUT);
		pause();
		_exit(0);
	}
	ASSERT_GT(pid, 0);
	return pid;
}

static void child_stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static cpu_set_t mask_of(pid_t tid)
{
	cpu_set_t m;

	ASSERT_EQ(0, sched_getaffinity(tid, sizeof(m), &m));
	return m;
}

static bool mask_is(pid_t tid, const cpu_set_t *want)
{
	cpu_set_t m = mask_of(tid);

	return CPU_EQUAL(&m, want);
}

static cpu_set_t one_cpu(int cpu)
{
	cpu_set_t m;

	CPU_ZERO(&m);
	CPU_SET(cpu, &m);
	return m;
}

/* The second CPU of this process's mask; skips with only one (nothing to tell apart). */
static int other_cpu(void)
{
	int cpu = allowed_cpu(1);

	if (cpu == -ENOENT)
		SKIP("one CPU only: a pinned mask looks like any other");
	ASSERT_GE(cpu, 0);
	return cpu;
}

TEST(pins_every_thread_and_puts_each_mask_back)
{
	int cpu = allowed_cpu(0), other;
	cpu_set_t all, pinned, own;
	struct sleeper s;
	struct pinned p;
	pid_t pids[2];

	ASSERT_GE(cpu, 0);
	other = other_cpu();
	all = mask_of(0);
	pinned = one_cpu(cpu);
	own = one_cpu(other);
	sleeper_start(&s);
	/* a thread with a mask of its own: it must get that one back, not the process's */
	ASSERT_EQ(0, sched_setaffinity(s.tid, sizeof(own), &own));
	pids[0] = getpid();
	pids[1] = child_start();

	ASSERT_EQ(0, pin_pids(pids, 2, cpu, &p));
	EXPECT_EQ(3, p.n);
	EXPECT_TRUE(mask_is(0, &pinned));
	EXPECT_TRUE(mask_is(s.tid, &pinned));
	EXPECT_TRUE(mask_is(pids[1], &pinned));

	ASSERT_EQ(0, unpin(&p));
	EXPECT_EQ(0, p.n);
	EXPECT_TRUE(mask_is(0, &all));
	EXPECT_TRUE(mask_is(s.tid, &own));
	EXPECT_TRUE(mask_is(pids[1], &all));
	child_stop(pids[1]);
	sleeper_stop(&s);
}

TEST(a_thread_started_while_pinned_gets_its_process_mask)
{
	int cpu = allowed_cpu(0);
	cpu_set_t all, pinned;
	struct sleeper s;
	struct pinned p;
	pid_t self = getpid();

	ASSERT_GE(cpu, 0);
	other_cpu();
	all = mask_of(0);
	pinned = one_cpu(cpu);
	ASSERT_EQ(0, pin_pids(&self, 1, cpu, &p));
	sleeper_start(&s);
	EXPECT_TRUE(mask_is(s.tid, &pinned));	/* inherited */
	ASSERT_EQ(0, unpin(&p));
	EXPECT_TRUE(mask_is(s.tid, &all));
	EXPECT_TRUE(mask_is(0, &all));
	sleeper_stop(&s);
}

TEST(a_pid_given_twice_keeps_its_first_mask)
{
	int cpu = allowed_cpu(0);
	pid_t pids[2] = { getpid(), getpid() };
	cpu_set_t all;
	struct pinned p;

	ASSERT_GE(cpu, 0);
	other_cpu();
	all = mask_of(0);
	ASSERT_EQ(0, pin_pids(pids, 2, cpu, &p));
	EXPECT_EQ(1, p.n);
	ASSERT_EQ(0, unpin(&p));
	EXPECT_TRUE(mask_is(0, &all));
}

TEST(an_exited_process_is_skipped)
{
	int cpu = allowed_cpu(0);
	pid_t pids[2] = { child_start(), getpid() };
	cpu_set_t all = mask_of(0), pinned;
	struct pinned p;

	ASSERT_GE(cpu, 0);
	pinned = one_cpu(cpu);
	child_stop(pids[0]);	/* reaped: its pid names nothing now */
	ASSERT_EQ(0, pin_pids(pids, 2, cpu, &p));
	EXPECT_EQ(1, p.n);
	EXPECT_TRUE(mask_is(0, &pinned));
	ASSERT_EQ(0, unpin(&p));
	EXPECT_TRUE(mask_is(0, &all));
}

TEST(a_cpu_not_to_be_had_changes_nothing)
{
	pid_t pids[2] = { getpid(), child_start() };
	cpu_set_t all = mask_of(0), child = mask_of(pids[1]);
	struct pinned p;

	/* the last CPU a mask can name: not online on any machine this runs on */
	EXPECT_EQ(-EINVAL, pin_pids(pids, 2, CPU_SETSIZE - 1, &p));
	EXPECT_EQ(0, p.n);
	EXPECT_TRUE(mask_is(0, &all));
	EXPECT_TRUE(mask_is(pids[1], &child));
	EXPECT_EQ(-EINVAL, pin_pids(pids, 2, -1, &p));
	EXPECT_EQ(-EINVAL, pin_pids(pids, 2, CPU_SETSIZE, &p));
	child_stop(pids[1]);
}

TEST(allowed_cpus_are_those_of_the_mask_in_order)
{
	cpu_set_t m = mask_of(0), last;
	int cpu, nth = 0, top = -1;

	for (cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (CPU_ISSET(cpu, &m)) {
			EXPECT_EQ(cpu, allowed_cpu(nth++));
			top = cpu;
		}
	}
	EXPECT_EQ(CPU_COUNT(&m), nth);
	EXPECT_EQ(-ENOENT, allowed_cpu(nth));
	EXPECT_EQ(-ENOENT, allowed_cpu(-1u));
	/* a narrower mask: this thread's own is what counts */
	last = one_cpu(top);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(last), &last));
	EXPECT_EQ(top, allowed_cpu(0));
	EXPECT_EQ(-ENOENT, allowed_cpu(1));
}

KTAP_MAIN
