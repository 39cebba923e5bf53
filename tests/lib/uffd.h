/* SPDX-License-Identifier: GPL-2.0 */
/*
 * uffd.h - a page that stops the kernel in the middle of a system call: the
 * first access to it (a copy_to_user() or copy_from_user() in the module,
 * say) blocks in a userfaultfd fault until a callback has run in a thread
 * of its own. Races that depend on what happens between a driver's two
 * steps around a user copy become deterministic.
 */
#ifndef _UFFD_H
#define _UFFD_H

#include <stdbool.h>
#include <stddef.h>
#include <pthread.h>

struct uffd_page {
	int		fd;
	void		*page;		/* the trap: one page, not yet there */
	size_t		size;
	void		(*on_fault)(void *arg);
	void		*arg;
	unsigned char	fill[256];	/* what the page holds once released */
	int		timeout_ms;	/* waiting for the fault, at most */
	bool		faulted;	/* the fault came and was resolved */
	pthread_t	thread;
};

/*
 * Maps the page and starts the thread that waits (timeout_ms) for its
 * first fault, then calls on_fault(arg) and fills the page from fill.
 * 0 or -errno (-EPERM: no userfaultfd here).
 */
int uffd_page_start(struct uffd_page *u, void (*on_fault)(void *arg), void *arg,
		    int timeout_ms);
/* Waits for the thread; unmaps. Whether the fault came. */
bool uffd_page_done(struct uffd_page *u);

#endif /* _UFFD_H */
