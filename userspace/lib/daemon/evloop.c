// SPDX-License-Identifier: GPL-2.0
/* epoll and a timer heap: the one event loop of every remsim daemon. */
#include <errno.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "remsim/evloop.h"

#define EV_BATCH	64

struct ev_loop {
	int epfd;
	bool stop;
	struct ev_timer **heap;
	size_t heap_len;
	size_t heap_cap;
	/* the batch being dispatched, so that a stopped watcher is skipped */
	struct epoll_event events[EV_BATCH];
	int nevents;
};

uint64_t ev_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

struct ev_loop *ev_loop_new(void)
{
	struct ev_loop *loop = calloc(1, sizeof(*loop));

	if (!loop)
		return NULL;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		free(loop);
		return NULL;
	}
	return loop;
}

void ev_loop_free(struct ev_loop *loop)
{
	size_t i;

	if (!loop)
		return;
	for (i = 0; i < loop->heap_len; i++)
		loop->heap[i]->loop = NULL;
	free(loop->heap);
	close(loop->epfd);
	free(loop);
}

int ev_io_start(struct ev_loop *loop, struct ev_io *io, int fd,
		uint32_t events, void (*cb)(struct ev_io *, uint32_t),
		void *data)
{
	struct epoll_event ev = { .events = events, .data.ptr = io };

	io->fd = fd;
	io->events = events;
	io->cb = cb;
	io->data = data;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev))
		return -errno;
	io->loop = loop;
	return 0;
}

int ev_io_set_events(struct ev_io *io, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = io };

	if (!io->loop)
		return -EINVAL;
	if (events == io->events)
		return 0;
	if (epoll_ctl(io->loop->epfd, EPOLL_CTL_MOD, io->fd, &ev))
		return -errno;
	io->events = events;
	return 0;
}

void ev_io_stop(struct ev_io *io)
{
	struct ev_loop *loop = io->loop;
	int i;

	if (!loop)
		return;
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, io->fd, NULL);
	for (i = 0; i < loop->nevents; i++)
		if (loop->events[i].data.ptr == io)
			loop->events[i].data.ptr = NULL;
	io->loop = NULL;
}

/* --- timers: a binary min-heap on the deadline --- */

static void heap_set(struct ev_loop *loop, size_t i, struct ev_timer *t)
{
	loop->heap[i] = t;
	t->heap_idx = i;
}

static void heap_up(struct ev_loop *loop, size_t i)
{
	struct ev_timer *t = loop->heap[i];

	while (i) {
		size_t parent = (i - 1) / 2;

		if (loop->heap[parent]->deadline_ns <= t->deadline_ns)
			break;
		heap_set(loop, i, loop->heap[parent]);
		i = parent;
	}
	heap_set(loop, i, t);
}

static void heap_down(struct ev_loop *loop, size_t i)
{
	struct ev_timer *t = loop->heap[i];

	for (;;) {
		size_t child = 2 * i + 1;

		if (child >= loop->heap_len)
			break;
		if (child + 1 < loop->heap_len &&
		    loop->heap[child + 1]->deadline_ns < loop->heap[child]->deadline_ns)
			child++;
		if (t->deadline_ns <= loop->heap[child]->deadline_ns)
			break;
		heap_set(loop, i, loop->heap[child]);
		i = child;
	}
	heap_set(loop, i, t);
}

void ev_timer_init(struct ev_timer *t, void (*cb)(struct ev_timer *),
		   void *data)
{
	memset(t, 0, sizeof(*t));
	t->cb = cb;
	t->data = data;
}

void ev_timer_stop(struct ev_timer *t)
{
	struct ev_loop *loop = t->loop;
	size_t i = t->heap_idx;

	if (!loop)
		return;
	t->loop = NULL;
	loop->heap_len--;
	if (i == loop->heap_len)
		return;
	heap_set(loop, i, loop->heap[loop->heap_len]);
	heap_down(loop, i);
	heap_up(loop, loop->heap[i]->heap_idx);
}

int ev_timer_start(struct ev_loop *loop, struct ev_timer *t, uint64_t ms)
{
	ev_timer_stop(t);
	if (loop->heap_len == loop->heap_cap) {
		size_t cap = loop->heap_cap ? 2 * loop->heap_cap : 16;
		struct ev_timer **heap = realloc(loop->heap, cap * sizeof(*heap));

		if (!heap)
			return -ENOMEM;
		loop->heap = heap;
		loop->heap_cap = cap;
	}
	t->deadline_ns = ev_now_ns() + ms * 1000000ull;
	t->loop = loop;
	heap_set(loop, loop->heap_len++, t);
	heap_up(loop, t->heap_idx);
	return 0;
}

/* Runs the timers that are due; returns how many. */
static int run_timers(struct ev_loop *loop)
{
	uint64_t now = ev_now_ns();
	int n = 0;

	while (loop->heap_len && loop->heap[0]->deadline_ns <= now) {
		struct ev_timer *t = loop->heap[0];

		ev_timer_stop(t);
		t->cb(t);
		n++;
	}
	return n;
}

static int next_timeout(struct ev_loop *loop, int timeout_ms)
{
	uint64_t now, wait_ms;

	if (!loop->heap_len)
		return timeout_ms;
	now = ev_now_ns();
	if (loop->heap[0]->deadline_ns <= now)
		return 0;
	/* round up: waking early only costs another turn */
	wait_ms = (loop->heap[0]->deadline_ns - now + 999999) / 1000000;
	if (timeout_ms >= 0 && (uint64_t)timeout_ms < wait_ms)
		return timeout_ms;
	return wait_ms > 1000000 ? 1000000 : (int)wait_ms;
}

int ev_run_once(struct ev_loop *loop, int timeout_ms)
{
	int n, i, ran;

	n = epoll_wait(loop->epfd, loop->events, EV_BATCH,
		       next_timeout(loop, timeout_ms));
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	loop->nevents = n;
	ran = 0;
	for (i = 0; i < n; i++) {
		struct ev_io *io = loop->events[i].data.ptr;

		if (!io)
			continue;
		io->cb(io, loop->events[i].events);
		ran++;
	}
	loop->nevents = 0;
	return ran + run_timers(loop);
}

int ev_run(struct ev_loop *loop)
{
	loop->stop = false;
	while (!loop->stop) {
		int ret = ev_run_once(loop, -1);

		if (ret < 0)
			return ret;
	}
	return 0;
}

void ev_break(struct ev_loop *loop)
{
	loop->stop = true;
}

int ev_signalfd(void)
{
	sigset_t sigs;
	int fd;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	/* reload and statistics: their default action would kill us */
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGUSR1);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	fd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}
