// SPDX-License-Identifier: GPL-2.0
/*
 * uffd.c - see uffd.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/userfaultfd.h>

#include "uffd.h"

static void *uffd_thread(void *arg)
{
	struct uffd_page *u = arg;
	struct pollfd pfd = { .fd = u->fd, .events = POLLIN };
	struct uffd_msg msg;
	struct uffdio_copy copy;
	static unsigned char src[4096] __attribute__((aligned(4096)));

	if (poll(&pfd, 1, u->timeout_ms) != 1 || read(u->fd, &msg, sizeof(msg)) != sizeof(msg) ||
	    msg.event != UFFD_EVENT_PAGEFAULT)
		return NULL;
	if (u->on_fault)
		u->on_fault(u->arg);
	memset(src, 0, u->size);
	memcpy(src, u->fill, sizeof(u->fill));
	memset(&copy, 0, sizeof(copy));
	copy.dst = (unsigned long)u->page;
	copy.src = (unsigned long)src;
	copy.len = u->size;
	u->faulted = !ioctl(u->fd, UFFDIO_COPY, &copy);
	return NULL;
}

int uffd_page_start(struct uffd_page *u, void (*on_fault)(void *arg), void *arg,
		    int timeout_ms)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg;
	int ret;

	u->size = sysconf(_SC_PAGESIZE);
	if (u->size > 4096)
		return -EINVAL;
	u->on_fault = on_fault;
	u->arg = arg;
	u->timeout_ms = timeout_ms;
	u->faulted = false;
	u->fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (u->fd < 0)
		return -errno;
	u->page = mmap(NULL, u->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (u->page == MAP_FAILED) {
		ret = -errno;
		goto err_close;
	}
	memset(&reg, 0, sizeof(reg));
	reg.range.start = (unsigned long)u->page;
	reg.range.len = u->size;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	if (ioctl(u->fd, UFFDIO_API, &api) || ioctl(u->fd, UFFDIO_REGISTER, &reg)) {
		ret = -errno;
		goto err_unmap;
	}
	ret = -pthread_create(&u->thread, NULL, uffd_thread, u);
	if (ret)
		goto err_unmap;
	return 0;

err_unmap:
	munmap(u->page, u->size);
err_close:
	close(u->fd);
	return ret;
}

bool uffd_page_done(struct uffd_page *u)
{
	pthread_join(u->thread, NULL);
	munmap(u->page, u->size);
	close(u->fd);
	return u->faulted;
}
