/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The event loop the daemons share: epoll for file descriptors, a binary
 * heap of one-shot timers on CLOCK_MONOTONIC, one thread. Callbacks may
 * start and stop any watcher, including their own, and free it afterwards.
 */
#ifndef REMSIM_EVLOOP_H
#define REMSIM_EVLOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>

struct ev_loop;

struct ev_io {
	struct ev_loop *loop;	/* set while started */
	int fd;
	uint32_t events;	/* EPOLLIN, EPOLLOUT */
	void (*cb)(struct ev_io *io, uint32_t revents);
	void *data;
};

struct ev_timer {
	struct ev_loop *loop;	/* set while pending */
	uint64_t deadline_ns;
	size_t heap_idx;
	void (*cb)(struct ev_timer *t);
	void *data;
};

struct ev_loop *ev_loop_new(void);
/* Watchers still started are forgotten, not called. */
void ev_loop_free(struct ev_loop *loop);

int ev_io_start(struct ev_loop *loop, struct ev_io *io, int fd,
		uint32_t events, void (*cb)(struct ev_io *, uint32_t),
		void *data);
int ev_io_set_events(struct ev_io *io, uint32_t events);
/* Safe on a stopped watcher; no event for it is delivered afterwards. */
void ev_io_stop(struct ev_io *io);

void ev_timer_init(struct ev_timer *t, void (*cb)(struct ev_timer *),
		   void *data);
/* (Re)arms @t to fire once, @ms milliseconds from now. */
int ev_timer_start(struct ev_loop *loop, struct ev_timer *t, uint64_t ms);
void ev_timer_stop(struct ev_timer *t);
static inline bool ev_timer_pending(const struct ev_timer *t)
{
	return t->loop != NULL;
}

uint64_t ev_now_ns(void);

/*
 * For daemons: blocks SIGTERM, SIGINT, SIGHUP and SIGUSR1, ignores SIGPIPE,
 * and returns a non-blocking signalfd for them to watch in the loop, or
 * -errno. Every daemon handles all four (SIGHUP: reload, SIGUSR1:
 * statistics), so that neither ever kills one by its default action.
 */
int ev_signalfd(void);

/*
 * Waits for and dispatches events for at most @timeout_ms (-1: until one
 * arrives). Returns the number of callbacks run, or -errno.
 */
int ev_run_once(struct ev_loop *loop, int timeout_ms);
/* Runs until ev_break(); returns 0, or -errno if epoll failed. */
int ev_run(struct ev_loop *loop);
void ev_break(struct ev_loop *loop);

#endif
