// SPDX-License-Identifier: GPL-2.0
/*
 * slotdev.c - see slotdev.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "board.h"
#include "kmod.h"
#include "modem.h"
#include "remsim/nl.h"
#include "slotdev.h"

int slot_modules_load(void)
{
	int ret;

	if (!kmod_loaded("remsim")) {
		ret = kmod_load("remsim", "");
		if (ret && ret != -EEXIST)
			return ret;
	}
	if (!kmod_loaded("remsim_sim")) {
		ret = kmod_load("remsim_sim", "");
		if (ret && ret != -EEXIST)
			return ret;
	}
	return 0;
}

int slot_sim_new(void)
{
	struct rsnl_slot slot;
	struct rsnl *nl;
	int ret;

	ret = rsnl_open(&nl);
	if (ret)
		return ret;
	ret = rsnl_sim_new(nl, false, &slot);
	rsnl_close(nl);
	return ret ? ret : (int)slot.index;
}

int slot_sim_del(unsigned int index)
{
	struct rsnl *nl;
	int ret;

	ret = rsnl_open(&nl);
	if (ret)
		return ret;
	ret = rsnl_sim_del(nl, index);
	rsnl_close(nl);
	return ret;
}

int slot_open(unsigned int index, int flags)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/dev/remsim%u", index);
	fd = open(path, flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int slot_read(int fd, struct slot_msg *msg, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;
	int ret;

	ret = poll(&pfd, 1, timeout_ms);
	if (ret < 0)
		return -errno;
	if (!ret)
		return -ETIMEDOUT;
	n = read(fd, msg, sizeof(*msg));
	if (n < 0)
		return -errno;
	if ((size_t)n < sizeof(msg->hdr) || (size_t)n != sizeof(msg->hdr) + msg->hdr.len)
		return -EPROTO;
	return 0;
}

int slot_read_type(int fd, uint16_t type, struct slot_msg *msg, int timeout_ms)
{
	for (;;) {
		int ret = slot_read(fd, msg, timeout_ms);

		if (ret)
			return ret;
		if (msg->hdr.type == type)
			return 0;
	}
}

int slot_write(int fd, uint16_t type, uint64_t seq, const void *payload, size_t len)
{
	struct slot_msg msg = {
		.hdr = { .type = type, .len = len, .seq = seq },
	};
	ssize_t n;

	if (len > sizeof(msg.payload))
		return -EINVAL;
	memcpy(msg.payload, payload, len);
	n = write(fd, &msg, sizeof(msg.hdr) + len);
	if (n < 0)
		return -errno;
	return n == (ssize_t)(sizeof(msg.hdr) + len) ? 0 : -EIO;
}

int slot_respond(int fd, uint64_t seq, const uint8_t *resp, size_t len)
{
	return slot_write(fd, REMSIM_MSG_RESPONSE, seq, resp, len);
}

int slot_set_param(const char *module, const char *param, const char *value)
{
	char path[256];

	snprintf(path, sizeof(path), "/sys/module/%s/parameters/%s", module, param);
	return write_file(path, value);
}

int write_file(const char *path, const char *value)
{
	int fd, ret = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, value, strlen(value)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

long slot_msgs_live(void)
{
	FILE *f = fopen("/sys/kernel/debug/remsim/msgs_live", "r");
	long n = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &n) != 1)
		n = -1;
	fclose(f);
	return n;
}

long slot_slab_active(const char *cache)
{
	char line[512], name[128];
	FILE *f = fopen("/proc/slabinfo", "r");
	long active = -1, n;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%127s %ld", name, &n) == 2 && !strcmp(name, cache)) {
			active = n;
			break;
		}
	}
	fclose(f);
	return active;
}

bool slot_backend_usb(void)
{
	const char *b = getenv("REMSIM_SLOT_BACKEND");

	return b && !strcmp(b, "usb");
}

static int fixture_slot(struct slot_fixture *fx)
{
	struct rsnl_slot slot;
	int ret;

	if (!slot_backend_usb()) {
		ret = rsnl_sim_new(fx->nl, true, &slot);
		if (!ret)
			fx->index = slot.index;
		return ret;
	}
	fx->board = calloc(1, sizeof(*fx->board));
	if (!fx->board)
		return -ENOMEM;
	ret = board_start(fx->board, "qmod", 0);
	if (ret) {
		free(fx->board);
		fx->board = NULL;
		return ret;
	}
	fx->index = fx->board->index[0];
	return 0;
}

int slot_fixture_remove(struct slot_fixture *fx)
{
	if (fx->board)
		return board_unplug(fx->board);
	return rsnl_sim_del(fx->nl, fx->index);
}

int slot_fixture(struct slot_fixture *fx, int open_flags)
{
	int ret;

	memset(fx, 0, sizeof(*fx));
	fx->fd = -1;
	ret = slot_modules_load();
	if (ret)
		return ret;
	ret = rsnl_open(&fx->nl);
	if (ret)
		return ret;
	ret = fixture_slot(fx);
	if (ret)
		return ret;
	if (open_flags >= 0) {
		fx->fd = slot_open(fx->index, open_flags);
		if (fx->fd < 0)
			return fx->fd;
	}
	if (fx->board)
		return board_modem(fx->board, 0, &fx->modem);
	return modem_open_sim(&fx->modem, fx->index);
}

void slot_fixture_done(struct slot_fixture *fx)
{
	modem_close(fx->modem);
	if (fx->fd >= 0)
		close(fx->fd);
	if (fx->board) {
		board_stop(fx->board);
		free(fx->board);
	}
	rsnl_close(fx->nl);
	memset(fx, 0, sizeof(*fx));
	fx->fd = -1;
}

int slot_fixture_power_on(struct slot_fixture *fx)
{
	uint8_t atr[33];
	size_t atr_len;
	struct slot_msg msg;
	int ret;

	ret = modem_power_on(fx->modem, atr, &atr_len);
	if (ret || fx->fd < 0)
		return ret;
	/* The owner sees VCC, then CLK, then reset released. */
	for (;;) {
		const struct remsim_signals *sig = (const void *)msg.payload;

		ret = slot_read_type(fx->fd, REMSIM_MSG_SIGNALS, &msg, 2000);
		if (ret)
			return ret;
		if ((sig->state & (REMSIM_SIG_VCC | REMSIM_SIG_CLK | REMSIM_SIG_RST)) ==
		    (REMSIM_SIG_VCC | REMSIM_SIG_CLK))
			return 0;
	}
}

static void *phone_thread(void *arg)
{
	struct phone_call *c = arg;

	if (c->tpdu)
		c->ret = modem_tpdu(c->modem, c->apdu, c->len > 5 ? c->apdu + 5 : NULL, c->rx,
				    c->resp, &c->resp_len);
	else
		c->ret = modem_apdu(c->modem, c->apdu, c->len, c->resp, &c->resp_len, &c->sw);
	if (c->tpdu && !c->ret && c->resp_len >= 2)
		c->sw = c->resp[c->resp_len - 2] << 8 | c->resp[c->resp_len - 1];
	return NULL;
}

static int phone_start(struct phone_call *c)
{
	pthread_t th;
	int ret = pthread_create(&th, NULL, phone_thread, c);

	c->thread = th;
	return -ret;
}

int phone_call_start(struct phone_call *c, struct modem *m, const uint8_t *apdu, size_t len)
{
	memset(c, 0, sizeof(*c));
	if (len > sizeof(c->apdu))
		return -EINVAL;
	c->modem = m;
	memcpy(c->apdu, apdu, len);
	c->len = len;
	return phone_start(c);
}

int phone_tpdu_start(struct phone_call *c, struct modem *m, const uint8_t *hdr,
		     const uint8_t *data, bool rx)
{
	memset(c, 0, sizeof(*c));
	c->modem = m;
	c->tpdu = true;
	c->rx = rx;
	memcpy(c->apdu, hdr, 5);
	c->len = 5;
	if (data) {
		memcpy(c->apdu + 5, data, hdr[4]);
		c->len += hdr[4];
	}
	return phone_start(c);
}

int phone_call_wait(struct phone_call *c)
{
	pthread_join((pthread_t)c->thread, NULL);
	return c->ret;
}
