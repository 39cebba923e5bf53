// SPDX-License-Identifier: GPL-2.0
/*
 * libusb driven by the event loop: each file descriptor libusb wants
 * polled gets an ev_io, and whenever one is ready libusb handles its events
 * with a zero timeout. On Linux libusb's time-outs are a timerfd among
 * those descriptors; if they ever are not, an ev_timer stands in.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "remsim/log.h"
#include "usbhost.h"

#define USBHOST_FDS	16

struct usbhost {
	struct ev_loop *loop;
	libusb_context *ctx;
	struct ev_io io[USBHOST_FDS];
	bool used[USBHOST_FDS];
	struct ev_timer timer;
	bool own_timeouts;	/* libusb's time-outs are not among its fds */
};

static void handle(struct usbhost *h);

static void on_io(struct ev_io *io, uint32_t revents)
{
	handle(io->data);
}

static void on_timer(struct ev_timer *t)
{
	handle(t->data);
}

static void handle(struct usbhost *h)
{
	struct timeval zero = { 0, 0 }, next;

	libusb_handle_events_timeout_completed(h->ctx, &zero, NULL);
	if (!h->own_timeouts)
		return;
	if (libusb_get_next_timeout(h->ctx, &next) == 1)
		ev_timer_start(h->loop, &h->timer, next.tv_sec * 1000 + next.tv_usec / 1000 + 1);
	else
		ev_timer_stop(&h->timer);
}

static void fd_added(int fd, short events, void *arg)
{
	struct usbhost *h = arg;
	uint32_t ev = 0;
	unsigned int i;

	if (events & POLLIN)
		ev |= EPOLLIN;
	if (events & POLLOUT)
		ev |= EPOLLOUT;
	for (i = 0; i < USBHOST_FDS; i++) {
		if (h->used[i])
			continue;
		if (ev_io_start(h->loop, &h->io[i], fd, ev, on_io, h)) {
			LOGP(DMAIN, LOG_ERROR, NULL, "libusb: cannot watch fd %d", fd);
			return;
		}
		h->used[i] = true;
		return;
	}
	LOGP(DMAIN, LOG_ERROR, NULL, "libusb: more than %d fds to watch", USBHOST_FDS);
}

static void fd_removed(int fd, void *arg)
{
	struct usbhost *h = arg;
	unsigned int i;

	for (i = 0; i < USBHOST_FDS; i++) {
		if (h->used[i] && h->io[i].fd == fd) {
			ev_io_stop(&h->io[i]);
			h->used[i] = false;
		}
	}
}

struct usbhost *usbhost_new(struct ev_loop *loop, char *err, size_t errlen)
{
	struct usbhost *h = calloc(1, sizeof(*h));
	const struct libusb_pollfd **fds;
	int ret, i;

	if (!h) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->loop = loop;
	ev_timer_init(&h->timer, on_timer, h);
	/* we find the boards (sysfs) and open them; libusb only drives them */
	libusb_set_option(NULL, LIBUSB_OPTION_NO_DEVICE_DISCOVERY);
	ret = libusb_init(&h->ctx);
	if (ret) {
		snprintf(err, errlen, "libusb: %s", libusb_strerror(ret));
		free(h);
		return NULL;
	}
	h->own_timeouts = !libusb_pollfds_handle_timeouts(h->ctx);
	libusb_set_pollfd_notifiers(h->ctx, fd_added, fd_removed, h);
	fds = libusb_get_pollfds(h->ctx);
	for (i = 0; fds && fds[i]; i++)
		fd_added(fds[i]->fd, fds[i]->events, h);
	libusb_free_pollfds(fds);
	return h;
}

void usbhost_free(struct usbhost *h)
{
	unsigned int i;

	if (!h)
		return;
	libusb_set_pollfd_notifiers(h->ctx, NULL, NULL, NULL);
	for (i = 0; i < USBHOST_FDS; i++)
		if (h->used[i])
			ev_io_stop(&h->io[i]);
	ev_timer_stop(&h->timer);
	libusb_exit(h->ctx);
	free(h);
}

libusb_context *usbhost_ctx(const struct usbhost *h)
{
	return h->ctx;
}

libusb_device_handle *usbhost_open(struct usbhost *h, unsigned int busnum,
				   unsigned int devnum, int *fd, char *err, size_t errlen)
{
	libusb_device_handle *dh;
	char node[48];
	int ret;

	snprintf(node, sizeof(node), "/dev/bus/usb/%03u/%03u", busnum, devnum);
	*fd = open(node, O_RDWR | O_CLOEXEC);
	if (*fd < 0) {
		snprintf(err, errlen, "%s: %s", node, strerror(errno));
		return NULL;
	}
	ret = libusb_wrap_sys_device(h->ctx, *fd, &dh);
	if (ret) {
		snprintf(err, errlen, "%s: %s", node, libusb_strerror(ret));
		close(*fd);
		*fd = -1;
		return NULL;
	}
	return dh;
}

void usbhost_drain(struct usbhost *h, int ms, int (*busy)(void *arg), void *arg)
{
	uint64_t end = ev_now_ns() + (uint64_t)ms * 1000000;

	while (busy(arg) && ev_now_ns() < end) {
		struct timeval tv = { 0, 20000 };

		libusb_handle_events_timeout_completed(h->ctx, &tv, NULL);
	}
}
