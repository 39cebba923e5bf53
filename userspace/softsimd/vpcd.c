// SPDX-License-Identifier: GPL-2.0
/*
 * One virtual card on a vpcd reader slot. Debian's vsmartcard-vpcd pcscd
 * driver listens on a TCP port per slot; the card connects to it. Every
 * message is a 16-bit big-endian length and that many bytes; a 1-byte
 * message is a command: 0 power off, 1 power on, 2 reset, 4 "send your
 * ATR". Anything longer is a command APDU, answered with the response.
 *
 * vpcd writes the length and the bytes in two writes without TCP_NODELAY:
 * with delayed ACKs on our side, Nagle holds its second write back for up
 * to 40 ms. We acknowledge at once (TCP_QUICKACK after every read, as the
 * kernel clears it) and answer in one write with TCP_NODELAY.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "remsim/log.h"
#include "remsim/rspro_conn.h"
#include "softsimd.h"

#define VPCD_OFF	0
#define VPCD_ON		1
#define VPCD_RESET	2
#define VPCD_ATR	4
#define RETRY_MS	300

static void vcard_connect(struct vcard *v);

static void quickack(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
}

/* Drops the vpcd connection; reconnects later unless the card was pulled. */
static void vcard_drop(struct vcard *v, const char *why)
{
	if (v->fd >= 0) {
		LOGP(DMAIN, LOG_NOTICE, v->name, "vpcd connection closed: %s", why);
		ev_io_stop(&v->io);
		close(v->fd);
		v->fd = -1;
	}
	v->connected = false;
	v->rx_len = 0;
	if (!v->removed)
		ev_timer_start(v->ss->loop, &v->retry, RETRY_MS);
}

static int send_msg(struct vcard *v, const uint8_t *data, size_t len)
{
	uint8_t buf[2 + CARD_RESP_MAX + 64];
	ssize_t n;

	buf[0] = len >> 8;
	buf[1] = len;
	memcpy(buf + 2, data, len);
	n = send(v->fd, buf, len + 2, MSG_NOSIGNAL);
	if (n != (ssize_t)len + 2) {
		vcard_drop(v, n < 0 ? strerror(errno) : "short write");
		return -EIO;
	}
	return 0;
}

static void log_command(struct vcard *v, const uint8_t *cmd, size_t len,
			const uint8_t *resp, size_t rlen)
{
	struct timespec ts;
	size_t i;
	FILE *f = v->ss->command_log;

	if (!f)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(f, "%lld.%03ld card %u ", (long long)ts.tv_sec, ts.tv_nsec / 1000000,
		v->idx);
	for (i = 0; i < len; i++)
		fprintf(f, "%02x", cmd[i]);
	fputc(' ', f);
	for (i = 0; i < rlen; i++)
		fprintf(f, "%02x", resp[i]);
	fputc('\n', f);
	fflush(f);
}

static void handle_msg(struct vcard *v, const uint8_t *msg, size_t len)
{
	uint8_t resp[CARD_RESP_MAX];
	const uint8_t *atr;
	size_t rlen;

	if (len == 1) {
		switch (msg[0]) {
		case VPCD_OFF:
			v->powered = false;
			card_reset(v->card);
			return;
		case VPCD_ON:
		case VPCD_RESET:
			v->powered = true;
			card_reset(v->card);
			LOGP(DMAIN, LOG_DEBUG, v->name, "%s", msg[0] == VPCD_ON ?
			     "power on" : "reset");
			return;
		case VPCD_ATR:
			atr = card_atr(&rlen);
			send_msg(v, atr, rlen);
			return;
		default:
			LOGP(DMAIN, LOG_ERROR, v->name, "unknown vpcd command %u", msg[0]);
			return;
		}
	}
	if (v->pull_on_apdu) {
		/* the test's "card pulled out mid-APDU": no answer, no card */
		v->pull_on_apdu = false;
		v->removed = true;
		log_command(v, msg, len, NULL, 0);
		vcard_drop(v, "card pulled out during a command");
		return;
	}
	rlen = card_command(v->card, msg, len, resp);
	v->apdus++;
	log_command(v, msg, len, resp, rlen);
	if (send_msg(v, resp, rlen))
		return;
	softsim_save_state(v);
}

static void vcard_read(struct ev_io *io, uint32_t revents)
{
	struct vcard *v = io->data;
	ssize_t n;
	size_t off = 0;

	n = recv(v->fd, v->rx + v->rx_len, sizeof(v->rx) - v->rx_len, 0);
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		vcard_drop(v, n ? strerror(errno) : "vpcd closed it");
		return;
	}
	quickack(v->fd);
	v->rx_len += n;
	while (v->fd >= 0 && v->rx_len - off >= 2) {
		size_t len = (size_t)v->rx[off] << 8 | v->rx[off + 1];

		if (v->rx_len - off < 2 + len)
			break;
		handle_msg(v, v->rx + off + 2, len);
		off += 2 + len;
	}
	if (v->fd < 0)
		return;
	memmove(v->rx, v->rx + off, v->rx_len - off);
	v->rx_len -= off;
	if (v->rx_len == sizeof(v->rx))
		vcard_drop(v, "message larger than any APDU");
}

static void vcard_connected(struct ev_io *io, uint32_t revents)
{
	struct vcard *v = io->data;
	int ret = net_connect_result(v->fd), one = 1;

	if (ret) {
		/* vpcd (pcscd) not there yet: quietly again later */
		ev_io_stop(&v->io);
		close(v->fd);
		v->fd = -1;
		ev_timer_start(v->ss->loop, &v->retry, RETRY_MS);
		return;
	}
	setsockopt(v->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	quickack(v->fd);
	ev_io_stop(&v->io);
	ev_io_start(v->ss->loop, &v->io, v->fd, EPOLLIN, vcard_read, v);
	v->connected = true;
	LOGP(DMAIN, LOG_INFO, v->name, "inserted: connected to vpcd at %s:%u",
	     v->ss->vpcd_host, v->port);
}

static void vcard_connect(struct vcard *v)
{
	if (v->fd >= 0 || v->removed)
		return;
	v->fd = net_connect_start(v->ss->vpcd_host, v->port);
	if (v->fd < 0) {
		v->fd = -1;
		ev_timer_start(v->ss->loop, &v->retry, RETRY_MS);
		return;
	}
	ev_io_start(v->ss->loop, &v->io, v->fd, EPOLLOUT, vcard_connected, v);
}

static void vcard_retry(struct ev_timer *t)
{
	vcard_connect(t->data);
}

void vcard_start(struct vcard *v)
{
	ev_timer_init(&v->retry, vcard_retry, v);
	v->fd = -1;
	vcard_connect(v);
}

void vcard_stop(struct vcard *v)
{
	v->removed = true;
	ev_timer_stop(&v->retry);
	vcard_drop(v, "shutting down");
}

void vcard_remove(struct vcard *v)
{
	v->removed = true;
	ev_timer_stop(&v->retry);
	vcard_drop(v, "card removed by the operator");
}

void vcard_insert(struct vcard *v)
{
	v->removed = false;
	v->pull_on_apdu = false;
	vcard_connect(v);
}
