// SPDX-License-Identifier: GPL-2.0
/*
 * modem.c - the phone's side of the SIM interface, see modem.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "measure.h"
#include "modem.h"
#include "sim_modem.h"

#define EVENTS_MAX	32
#define NULL_BYTE	0x60
#define LAT_MAX		256

struct modem {
	struct modem_line	line;
	int			timeout_ms;
	int			tpdu_timeout_ms;
	uint8_t			rx[SIM_MODEM_MAX_BYTES];
	size_t			rx_len, rx_pos;
	unsigned int		nulls;
	struct modem_event	events[EVENTS_MAX];
	unsigned int		ev_head, ev_count;
	uint64_t		lat_ns[LAT_MAX];
	unsigned int		nlat;
};

unsigned int modem_take_latencies(struct modem *m, uint64_t *lat_ns, unsigned int max)
{
	unsigned int n = m->nlat < max ? m->nlat : max;

	memcpy(lat_ns, m->lat_ns + (m->nlat - n), n * sizeof(*lat_ns));
	m->nlat = 0;
	return n;
}

/* --- the simulated slot's modem file --------------------------------------- */

static int sim_lines(void *ctx, uint8_t bits)
{
	uint8_t rec[4] = { SIM_MODEM_LINES, 1, 0, bits };

	return write((int)(intptr_t)ctx, rec, sizeof(rec)) == sizeof(rec) ? 0 : -errno;
}

static int sim_send(void *ctx, const uint8_t *bytes, size_t len)
{
	uint8_t rec[SIM_MODEM_MAX_RECORD];

	while (len) {
		size_t n = len > SIM_MODEM_MAX_BYTES ? SIM_MODEM_MAX_BYTES : len;

		rec[0] = SIM_MODEM_BYTES;
		rec[1] = n & 0xff;
		rec[2] = n >> 8;
		memcpy(rec + SIM_MODEM_HDR, bytes, n);
		if (write((int)(intptr_t)ctx, rec, SIM_MODEM_HDR + n) != (ssize_t)(SIM_MODEM_HDR + n))
			return -errno;
		bytes += n;
		len -= n;
	}
	return 0;
}

static int sim_recv(void *ctx, uint8_t *type, uint8_t *buf, size_t size, int timeout_ms)
{
	int fd = (int)(intptr_t)ctx;
	uint8_t rec[SIM_MODEM_MAX_RECORD];
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;
	size_t len;
	int ret;

	ret = poll(&pfd, 1, timeout_ms);
	if (ret < 0)
		return -errno;
	if (!ret)
		return -ETIMEDOUT;
	if (pfd.revents & (POLLHUP | POLLERR))
		return -ENODEV;
	n = read(fd, rec, sizeof(rec));
	if (n < 0)
		return -errno;
	if (n < SIM_MODEM_HDR)
		return -EPROTO;
	len = rec[1] | (rec[2] << 8);
	if (len != (size_t)n - SIM_MODEM_HDR || len > size)
		return -EPROTO;
	*type = rec[0];
	memcpy(buf, rec + SIM_MODEM_HDR, len);
	return len;
}

static void sim_close(void *ctx)
{
	close((int)(intptr_t)ctx);
}

/* A file or socket that carries sim_modem.h records; it becomes the modem's. */
static int modem_open_fd(struct modem **m, int fd)
{
	struct modem_line line = {
		.ctx = (void *)(intptr_t)fd,
		.lines = sim_lines,
		.send = sim_send,
		.recv = sim_recv,
		.close = sim_close,
	};
	int ret = modem_open_line(m, &line);

	if (ret)
		close(fd);
	return ret;
}

int modem_open_sim(struct modem **m, unsigned int index)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "/sys/kernel/debug/remsim_sim/remsim%u/modem", index);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return modem_open_fd(m, fd);
}

int modem_open_socket(struct modem **m, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	struct timeval tv = { .tv_sec = 10 };
	uint8_t hello[SIM_MODEM_HDR + 1];

	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	/* The board's empty BYTES record: it accepted us, events flow. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (recv(fd, hello, sizeof(hello), 0) != SIM_MODEM_HDR ||
	    hello[0] != SIM_MODEM_BYTES || hello[1] || hello[2]) {
		close(fd);
		return -EPROTO;
	}
	tv.tv_sec = 0;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return modem_open_fd(m, fd);
}

int modem_open_line(struct modem **m, const struct modem_line *line)
{
	struct modem *mm = calloc(1, sizeof(*mm));

	if (!mm)
		return -ENOMEM;
	mm->line = *line;
	mm->timeout_ms = 5000;
	mm->tpdu_timeout_ms = 60000;
	*m = mm;
	return 0;
}

void modem_close(struct modem *m)
{
	if (!m)
		return;
	if (m->line.close)
		m->line.close(m->line.ctx);
	free(m);
}

void modem_set_timeout(struct modem *m, int ms)
{
	m->timeout_ms = ms;
}

void modem_set_tpdu_timeout(struct modem *m, int ms)
{
	m->tpdu_timeout_ms = ms;
}

unsigned int modem_nulls(const struct modem *m)
{
	return m->nulls;
}

bool modem_event(struct modem *m, struct modem_event *ev)
{
	if (!m->ev_count)
		return false;
	*ev = m->events[m->ev_head];
	m->ev_head = (m->ev_head + 1) % EVENTS_MAX;
	m->ev_count--;
	return true;
}

static bool take_event(struct modem *m, uint8_t type, struct modem_event *ev)
{
	for (unsigned int i = 0; i < m->ev_count; i++) {
		unsigned int k = (m->ev_head + i) % EVENTS_MAX;

		if (m->events[k].type != type)
			continue;
		*ev = m->events[k];
		/* Close the gap: later events move up by one. */
		for (unsigned int j = i; j + 1 < m->ev_count; j++)
			m->events[(m->ev_head + j) % EVENTS_MAX] =
				m->events[(m->ev_head + j + 1) % EVENTS_MAX];
		m->ev_count--;
		return true;
	}
	return false;
}

int modem_wait_event(struct modem *m, uint8_t type, struct modem_event *ev, int timeout_ms)
{
	uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000;

	while (!take_event(m, type, ev)) {
		uint8_t t, buf[SIM_MODEM_MAX_BYTES];
		int64_t left = (int64_t)(deadline - now_ns()) / 1000000;
		int n;

		if (left <= 0)
			return -ETIMEDOUT;
		n = m->line.recv(m->line.ctx, &t, buf, sizeof(buf), left);
		if (n < 0)
			return n;
		if (t == SIM_MODEM_BYTES) {
			/* Kept for the phone's next read. */
			if (m->rx_len + n <= sizeof(m->rx)) {
				memmove(m->rx, m->rx + m->rx_pos, m->rx_len - m->rx_pos);
				m->rx_len -= m->rx_pos;
				m->rx_pos = 0;
				memcpy(m->rx + m->rx_len, buf, n);
				m->rx_len += n;
			}
		} else if (m->ev_count < EVENTS_MAX) {
			struct modem_event *e = &m->events[(m->ev_head + m->ev_count++) % EVENTS_MAX];

			e->type = t;
			memcpy(e->data, buf, n < 3 ? n : 3);
		}
	}
	return 0;
}

/* --- bytes --------------------------------------------------------------------- */

/* Refills the receive buffer; events met on the way are kept. */
static int fill(struct modem *m)
{
	for (;;) {
		uint8_t type, buf[SIM_MODEM_MAX_BYTES];
		int n = m->line.recv(m->line.ctx, &type, buf, sizeof(buf), m->timeout_ms);

		if (n < 0)
			return n;
		if (type == SIM_MODEM_BYTES) {
			memcpy(m->rx, buf, n);
			m->rx_len = n;
			m->rx_pos = 0;
			if (n)
				return 0;
			continue;
		}
		if (m->ev_count < EVENTS_MAX) {
			struct modem_event *ev = &m->events[(m->ev_head + m->ev_count++) % EVENTS_MAX];

			ev->type = type;
			memcpy(ev->data, buf, n < 3 ? n : 3);
		}
	}
}

static int get_byte(struct modem *m, uint8_t *b)
{
	if (m->rx_pos == m->rx_len) {
		int ret = fill(m);

		if (ret)
			return ret;
	}
	*b = m->rx[m->rx_pos++];
	return 0;
}

int modem_read_bytes(struct modem *m, uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		int ret = get_byte(m, &buf[i]);

		if (ret)
			return ret;
	}
	return 0;
}

int modem_send_bytes(struct modem *m, const uint8_t *buf, size_t len)
{
	return m->line.send(m->line.ctx, buf, len);
}

int modem_lines(struct modem *m, uint8_t bits)
{
	return m->line.lines(m->line.ctx, bits);
}

/* --- reset, ATR, PPS ------------------------------------------------------------- */

/* Reads an ATR byte by byte as its own structure announces it. */
static int read_atr(struct modem *m, uint8_t *atr, size_t *atr_len)
{
	size_t n = 0, want = 2;
	bool tck = false;
	uint8_t y;
	int ret;

	ret = modem_read_bytes(m, atr, 2);
	if (ret)
		return ret;
	n = 2;
	y = atr[1] >> 4;
	for (;;) {
		want = n + !!(y & 1) + !!(y & 2) + !!(y & 4) + !!(y & 8);
		if (want > 32)
			return -EPROTO;
		ret = modem_read_bytes(m, atr + n, want - n);
		if (ret)
			return ret;
		n = want;
		if (!(y & 8))
			break;
		y = atr[n - 1] >> 4;
		if (atr[n - 1] & 0x0f)
			tck = true;
	}
	want = n + (atr[1] & 0x0f) + tck;
	if (want > 33)
		return -EPROTO;
	ret = modem_read_bytes(m, atr + n, want - n);
	if (ret)
		return ret;
	*atr_len = want;
	return 0;
}

int modem_power_on(struct modem *m, uint8_t *atr, size_t *atr_len)
{
	int ret;

	m->rx_len = m->rx_pos = 0;
	ret = modem_lines(m, SIM_MODEM_VCC | SIM_MODEM_RST);
	if (!ret)
		ret = modem_lines(m, SIM_MODEM_VCC | SIM_MODEM_CLK | SIM_MODEM_RST);
	if (!ret)
		ret = modem_lines(m, SIM_MODEM_VCC | SIM_MODEM_CLK);
	return ret ? ret : read_atr(m, atr, atr_len);
}

int modem_warm_reset(struct modem *m, uint8_t *atr, size_t *atr_len)
{
	int ret;

	ret = modem_lines(m, SIM_MODEM_VCC | SIM_MODEM_CLK | SIM_MODEM_RST);
	m->rx_len = m->rx_pos = 0;
	if (!ret)
		ret = modem_lines(m, SIM_MODEM_VCC | SIM_MODEM_CLK);
	return ret ? ret : read_atr(m, atr, atr_len);
}

int modem_power_off(struct modem *m)
{
	int ret = modem_lines(m, SIM_MODEM_RST);

	m->rx_len = m->rx_pos = 0;
	return ret ? ret : modem_lines(m, 0);
}

int modem_pps(struct modem *m, uint8_t fi, uint8_t di)
{
	uint8_t req[4] = { 0xff, 0x10, (uint8_t)(fi << 4 | di), 0 };
	uint8_t resp[4];
	int ret;

	req[3] = req[0] ^ req[1] ^ req[2];
	ret = modem_send_bytes(m, req, sizeof(req));
	if (!ret)
		ret = modem_read_bytes(m, resp, sizeof(resp));
	if (ret)
		return ret;
	return memcmp(req, resp, sizeof(req)) ? -EPROTO : 0;
}

/* --- T=0 ----------------------------------------------------------------------- */

static bool is_sw1(uint8_t b)
{
	return ((b & 0xf0) == 0x60 && b != NULL_BYTE) || (b & 0xf0) == 0x90;
}

int modem_tpdu(struct modem *m, const uint8_t hdr[5], const uint8_t *tx, bool rx,
	       uint8_t *resp, size_t *resp_len)
{
	size_t want = rx ? (hdr[4] ? hdr[4] : 256) : (tx ? hdr[4] : 0);
	size_t done = 0, got = 0;
	uint8_t ins = hdr[1], nins = ~hdr[1];
	uint64_t start = now_ns();
	int ret;

	ret = modem_send_bytes(m, hdr, 5);
	if (ret)
		return ret;
	for (;;) {
		uint8_t pb;

		ret = get_byte(m, &pb);
		if (ret)
			return ret;
		if (pb == NULL_BYTE) {
			/* The card may stall a phone forever; a phone gives up. */
			m->nulls++;
			if (now_ns() - start > (uint64_t)m->tpdu_timeout_ms * 1000000)
				return -ETIMEDOUT;
			continue;
		}
		if (is_sw1(pb)) {
			resp[got] = pb;
			ret = get_byte(m, &resp[got + 1]);
			if (ret)
				return ret;
			*resp_len = got + 2;
			if (m->nlat == LAT_MAX) {
				memmove(m->lat_ns, m->lat_ns + 1, (LAT_MAX - 1) * sizeof(m->lat_ns[0]));
				m->nlat--;
			}
			m->lat_ns[m->nlat++] = now_ns() - start;
			return 0;
		}
		if (pb != ins && pb != nins)
			return -EPROTO;
		/* INS: all the rest at once; ~INS: one byte. */
		{
			size_t n = pb == ins ? want - done : 1;

			if (!want || done + n > want)
				return -EPROTO;
			if (tx) {
				ret = modem_send_bytes(m, tx + done, n);
			} else {
				ret = modem_read_bytes(m, resp + got, n);
				got += n;
			}
			if (ret)
				return ret;
			done += n;
		}
	}
}

int modem_apdu(struct modem *m, const uint8_t *apdu, size_t len, uint8_t *resp,
	       size_t *resp_len, uint16_t *sw)
{
	uint8_t hdr[5], part[258];
	const uint8_t *tx = NULL;
	size_t total = 0, part_len;
	bool rx = false;
	int ret, rounds;

	if (len < 4)
		return -EINVAL;
	memcpy(hdr, apdu, 4);
	hdr[4] = 0;
	if (len == 5) {			/* case 2 */
		hdr[4] = apdu[4];
		rx = true;
	} else if (len > 5) {		/* case 3 or 4 */
		hdr[4] = apdu[4];
		if (len != 5u + apdu[4] && len != 6u + apdu[4])
			return -EINVAL;
		tx = apdu + 5;
	}

	for (rounds = 0; rounds < 8; rounds++) {
		ret = modem_tpdu(m, hdr, tx, rx, part, &part_len);
		if (ret)
			return ret;
		memcpy(resp + total, part, part_len - 2);
		total += part_len - 2;
		*sw = part[part_len - 2] << 8 | part[part_len - 1];
		switch (part[part_len - 2]) {
		case 0x61:	/* UICC: response data waiting */
		case 0x9f:	/* GSM SIM: the same */
			hdr[0] = part[part_len - 2] == 0x9f ? 0xa0 : (apdu[0] & 0x03);
			hdr[1] = 0xc0;
			hdr[2] = hdr[3] = 0;
			hdr[4] = part[part_len - 1];
			tx = NULL;
			rx = true;
			continue;
		case 0x6c:	/* wrong Le: again with the right one */
			if (!rx)
				break;
			hdr[4] = part[part_len - 1];
			continue;
		}
		break;
	}
	memcpy(resp + total, part + part_len - 2, 2);
	*resp_len = total + 2;
	return rounds == 8 ? -EPROTO : 0;
}
