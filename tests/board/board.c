// SPDX-License-Identifier: GPL-2.0
/*
 * st2board - a software SIMtrace2-family board for the tests: a USB gadget
 * (dummy_hcd, configfs, FunctionFS) with the real identity and descriptors,
 * behaving like the cardem firmware (common/cardem.c plays the card towards
 * the modem; this file the USB side: message formats, the 3-deep IN queues
 * that drop the oldest, status IRQs, the emulation gate of SIM select).
 *
 * The phone in each slot is either in this process (the "session" command
 * runs the scripted phone session of tests/lib/session.c) or a test program
 * connected to the slot's modem socket, which speaks the records of
 * common/sim_modem.h like a simulated slot's modem file.
 *
 *	st2board --product qmod --name b0 --udc dummy_udc.0 --ctl /run/b0.ctl
 *
 * Control socket (SOCK_SEQPACKET, one command per message, one reply):
 *	plug | unplug | quit | status
 *	session SLOT CARD	run the phone session against card profile CARD
 *	misbehave SLOT KIND	one of: badlen msglen0 short unknown datalen
 *				garbage stall flood pause
 * Modem sockets: CTL.modemN, SOCK_SEQPACKET, one client at a time.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <linux/usb/functionfs.h>

#include "measure.h"
#include "card.h"
#include "cardem.h"
#include "gadget.h"
#include "modem.h"
#include "session.h"
#include "sim_modem.h"
#include "st2_proto.h"

#define QUEUE_DEPTH	3	/* the firmware's IN queue, oldest dropped */
#define TXQ_DEPTH	8
#define TO_MODEM_MAX	8192
#define EVENTS_MAX	16
#define CLOCK_KHZ	3571

struct msg {
	uint16_t	len;
	uint8_t		buf[ST2_MSG_MAX];
};

struct msgq {
	struct msg	m[QUEUE_DEPTH];
	unsigned int	head, len;
	unsigned int	dropped;
};

struct board;

struct slot {
	unsigned int		i;
	struct board		*b;
	struct cardem		ce;
	struct t0_tx		txq[TXQ_DEPTH];
	unsigned int		txq_len;
	struct msgq		in, irq;
	bool			status_irq;
	bool			card_inserted;
	uint64_t		last_tx_ns;	/* card to modem, for NULL bytes */
	/* The phone's view: bytes and events from the card side. */
	uint8_t			to_modem[TO_MODEM_MAX];
	size_t			to_modem_len;
	uint8_t			events[EVENTS_MAX][4];	/* type and 3 bytes */
	unsigned int		nevents;
	uint8_t			phone_lines;	/* SIM_MODEM_* as the phone drives them */
	/*
	 * Bytes for the phone held while status messages wait for the host:
	 * on a real line the ATR takes milliseconds, and the host has seen the
	 * reset long before the phone can send a command.
	 */
	uint8_t			held[TO_MODEM_MAX];
	size_t			held_len;
	uint64_t		held_since;
	bool			irq_busy;	/* a status message on its way */
	int			modem_client;	/* a connected test's socket, or -1 */
	int			modem_listen;
	unsigned int		pause_ms;	/* misbehaviour: OUT not read */
	unsigned int		host_msgs_bad;
};

struct board {
	struct gadget		g;
	const struct gadget_product *product;
	pthread_mutex_t		lock;
	pthread_cond_t		cond;		/* enabled, queues, phone bytes */
	unsigned int		reboots, suspends;	/* for the fault suite's record */
	bool			enabled;	/* FunctionFS ENABLE seen */
	bool			quit;
	struct slot		slots[GADGET_SLOTS_MAX];
	int			ctl_listen;
	char			ctl_path[200];
};

static struct board board;

static void msgq_push(struct msgq *q, const uint8_t *buf, size_t len)
{
	struct msg *m;

	if (q->len == QUEUE_DEPTH) {
		q->head = (q->head + 1) % QUEUE_DEPTH;
		q->len--;
		q->dropped++;
	}
	m = &q->m[(q->head + q->len) % QUEUE_DEPTH];
	memcpy(m->buf, buf, len);
	m->len = len;
	q->len++;
	pthread_cond_broadcast(&board.cond);
}

/* --- the phone's side of the line ------------------------------------------------ */

static void phone_event(struct slot *s, uint8_t type, const uint8_t *data, size_t len)
{
	uint8_t rec[SIM_MODEM_HDR + 3] = { type, len, 0 };

	memcpy(rec + SIM_MODEM_HDR, data, len);
	if (s->modem_client >= 0) {
		/* Never block under the lock: a phone not reading loses it. */
		send(s->modem_client, rec, SIM_MODEM_HDR + len, MSG_NOSIGNAL | MSG_DONTWAIT);
		return;
	}
	if (s->nevents < EVENTS_MAX) {
		s->events[s->nevents][0] = type;
		memcpy(s->events[s->nevents] + 1, data, len);
		s->nevents++;
	}
	pthread_cond_broadcast(&board.cond);
}

static void deliver_to_phone(struct slot *s, const uint8_t *bytes, size_t len)
{
	while (s->modem_client >= 0 && len) {
		size_t n = len < SIM_MODEM_MAX_BYTES ? len : SIM_MODEM_MAX_BYTES;
		uint8_t rec[SIM_MODEM_MAX_RECORD] = { SIM_MODEM_BYTES, n & 0xff, n >> 8 };

		memcpy(rec + SIM_MODEM_HDR, bytes, n);
		/* Like a UART overrun when the phone does not read. */
		send(s->modem_client, rec, SIM_MODEM_HDR + n, MSG_NOSIGNAL | MSG_DONTWAIT);
		bytes += n;
		len -= n;
	}
	if (s->modem_client >= 0)
		return;
	if (s->to_modem_len + len <= TO_MODEM_MAX) {
		memcpy(s->to_modem + s->to_modem_len, bytes, len);
		s->to_modem_len += len;
	}
	pthread_cond_broadcast(&board.cond);
}

/* Lets held bytes go once the host has taken the status messages. */
static void release_held(struct slot *s, bool force)
{
	if (!s->held_len || ((s->irq.len || s->irq_busy) && !force))
		return;
	deliver_to_phone(s, s->held, s->held_len);
	s->held_len = 0;
}

static void ce_to_modem(void *ctx, const uint8_t *bytes, size_t len)
{
	struct slot *s = ctx;

	s->last_tx_ns = now_ns();
	if (!s->held_len && !s->irq.len && !s->irq_busy) {
		deliver_to_phone(s, bytes, len);
		return;
	}
	if (!s->held_len)
		s->held_since = s->last_tx_ns;
	if (s->held_len + len <= TO_MODEM_MAX) {
		memcpy(s->held + s->held_len, bytes, len);
		s->held_len += len;
	}
}

/* --- the card emulator's outputs towards the host --------------------------------- */

static void rx_data_msg(struct slot *s, uint32_t flags, const uint8_t *data, size_t len)
{
	uint8_t buf[ST2_MSG_MAX];
	size_t n = st2_msg_rx_data(buf, flags, data, len);

	if (n)			/* the card emulator gives at most T0_LC_MAX */
		msgq_push(&s->in, buf, n);
}

static void ce_rx_header(void *ctx, const uint8_t hdr[T0_HDR_LEN])
{
	rx_data_msg(ctx, ST2_DATA_F_TPDU_HDR, hdr, T0_HDR_LEN);
}

static void ce_rx_data(void *ctx, const uint8_t *data, size_t len)
{
	rx_data_msg(ctx, ST2_DATA_F_FINAL, data, len);
}

static void ce_pts(void *ctx, const uint8_t *pps, uint8_t len, uint8_t fi, uint8_t di)
{
	struct slot *s = ctx;
	uint8_t buf[ST2_HDR_LEN + ST2_PTS_LEN];
	size_t n = st2_msg_pts(buf, pps, pps, len);	/* the answer is the echo */

	if (n)
		msgq_push(&s->in, buf, n);
}

static size_t status_msg(struct slot *s, uint8_t *buf)
{
	uint32_t st = cardem_status(&s->ce);
	bool adc = board.product->pid != ST2_PID_SIMTRACE2 && board.product->pid != ST2_PID_OWHW;
	struct remsim_signals sig = {
		.voltage_mv = adc && (st & CARDEM_STATUS_VCC) ? 3300 : 0,
		.fi = s->ce.fi,
		.di = s->ce.di,
		.wi = s->ce.wi,
		.waiting_time = s->ce.wt,
	};

	if (st & CARDEM_STATUS_VCC)
		sig.state |= REMSIM_SIG_VCC;
	if (st & CARDEM_STATUS_CLK)
		sig.state |= REMSIM_SIG_CLK;
	if (st & CARDEM_STATUS_RST)
		sig.state |= REMSIM_SIG_RST;
	return st2_msg_status(buf, &sig);
}

static void ce_status(void *ctx, uint32_t st)
{
	struct slot *s = ctx;
	uint8_t buf[ST2_HDR_LEN + ST2_STATUS_LEN];

	/* Reset or power gone: host data waiting for the card are flushed. */
	if ((st & CARDEM_STATUS_RST) || !(st & CARDEM_STATUS_VCC))
		s->txq_len = 0;
	if (s->status_irq)
		msgq_push(&s->irq, buf, status_msg(s, buf));
}

static const struct cardem_ops ce_ops = {
	ce_to_modem, ce_rx_header, ce_rx_data, ce_pts, ce_status,
};

/* Host data the card can send now go out; under the lock. */
static void pump(struct slot *s)
{
	while (s->txq_len && cardem_tx_now(&s->ce)) {
		cardem_host_tx(&s->ce, &s->txq[0]);
		memmove(s->txq, s->txq + 1, --s->txq_len * sizeof(s->txq[0]));
	}
}

/* --- messages from the host -------------------------------------------------------- */

static void host_msg(struct slot *s, const struct st2_msg *m)
{
	const uint8_t *p = m->payload;
	uint8_t buf[ST2_MSG_MAX];

	switch (m->msg_class << 8 | m->type) {
	case ST2_CLASS_CARDEM << 8 | ST2_CEMU_TX_DATA:
		if (cardem_tx_void(&s->ce) || s->txq_len == TXQ_DEPTH ||
		    m->len - ST2_DATA_HDR_LEN > T0_TX_MAX) {
			s->ce.tx_dropped++;
			break;
		}
		s->txq[s->txq_len].flags = st2_get32(p);
		s->txq[s->txq_len].len = m->len - ST2_DATA_HDR_LEN;
		memcpy(s->txq[s->txq_len].data, p + ST2_DATA_HDR_LEN, m->len - ST2_DATA_HDR_LEN);
		s->txq_len++;
		pump(s);
		break;
	case ST2_CLASS_CARDEM << 8 | ST2_CEMU_SET_ATR:
		if (p[0] <= 33)
			cardem_set_atr(&s->ce, p + 1, p[0]);
		break;
	case ST2_CLASS_CARDEM << 8 | ST2_CEMU_STATUS:
		msgq_push(&s->in, buf, status_msg(s, buf));
		break;
	case ST2_CLASS_CARDEM << 8 | ST2_CEMU_CARDINSERT:
		s->card_inserted = p[0];
		phone_event(s, SIM_MODEM_CARD, p, 1);
		break;
	case ST2_CLASS_CARDEM << 8 | ST2_CEMU_CONFIG:
		s->status_irq = st2_get32(p) & ST2_FEAT_STATUS_IRQ;
		msgq_push(&s->in, buf, st2_msg_config(buf, s->status_irq ? ST2_FEAT_STATUS_IRQ : 0,
						       ST2_PRES_POL_HIGH | ST2_PRES_POL_VALID));
		break;
	case ST2_CLASS_MODEM << 8 | ST2_MODEM_RESET:
		phone_event(s, SIM_MODEM_RESET, p, 3);
		break;
	case ST2_CLASS_MODEM << 8 | ST2_MODEM_SIM_SELECT:
		cardem_enable(&s->ce, p[0]);
		phone_event(s, SIM_MODEM_SIM_SELECT, p, 1);
		pump(s);
		break;
	}
}

/* One OUT transfer may hold several messages; the firmware walks them. */
static void host_transfer(struct slot *s, const uint8_t *buf, size_t len)
{
	while (len) {
		struct st2_msg m;
		int n = st2_parse_host_msg(buf, len, &m);

		if (n < 0) {
			s->host_msgs_bad++;
			return;		/* the rest of the transfer goes too */
		}
		host_msg(s, &m);
		buf += n;
		len -= n;
	}
}

/* --- USB threads --------------------------------------------------------------------- */

static void wait_enabled(void)
{
	pthread_mutex_lock(&board.lock);
	while (!board.enabled && !board.quit)
		pthread_cond_wait(&board.cond, &board.lock);
	pthread_mutex_unlock(&board.lock);
}

static void *out_thread(void *arg)
{
	struct slot *s = arg;
	uint8_t buf[ST2_MSG_MAX];

	while (!board.quit) {
		ssize_t n;

		wait_enabled();
		if (s->pause_ms) {
			usleep(s->pause_ms * 1000);
			s->pause_ms = 0;
		}
		n = read(board.g.ep_out[s->i], buf, sizeof(buf));
		if (n < 0) {
			usleep(10000);	/* unplugged: wait for the next ENABLE */
			continue;
		}
		pthread_mutex_lock(&board.lock);
		host_transfer(s, buf, n);
		pthread_mutex_unlock(&board.lock);
	}
	return NULL;
}

/* Writes one queued message at a time: one message per transfer. */
static void *in_thread_for(struct slot *s, struct msgq *q, int fd)
{
	while (!board.quit) {
		struct msg m;

		pthread_mutex_lock(&board.lock);
		while ((!q->len || !board.enabled) && !board.quit)
			pthread_cond_wait(&board.cond, &board.lock);
		if (board.quit) {
			pthread_mutex_unlock(&board.lock);
			break;
		}
		m = q->m[q->head];
		q->head = (q->head + 1) % QUEUE_DEPTH;
		q->len--;
		if (q == &s->irq)
			s->irq_busy = true;
		pthread_mutex_unlock(&board.lock);
		/* Lost when the host is gone, as with the firmware. */
		if (write(fd, m.buf, m.len) < 0)
			usleep(10000);
		if (q == &s->irq) {
			pthread_mutex_lock(&board.lock);
			s->irq_busy = false;
			release_held(s, false);
			pthread_mutex_unlock(&board.lock);
		}
	}
	return NULL;
}

static void *in_thread(void *arg)
{
	struct slot *s = arg;

	return in_thread_for(s, &s->in, board.g.ep_in[s->i]);
}

static void *irq_thread(void *arg)
{
	struct slot *s = arg;

	return in_thread_for(s, &s->irq, board.g.ep_int[s->i]);
}

/*
 * The firmware reboots when its USB state drops below CONFIGURED: emulation
 * off, queues and configuration gone, the card-present line released, the
 * ATR back to the firmware's; the phone's lines stay as they are.
 */
static void reboot_slots(void)
{
	board.reboots++;
	for (unsigned int i = 0; i < board.g.slots; i++) {
		struct slot *s = &board.slots[i];

		cardem_init(&s->ce, &ce_ops, s);
		cardem_enable(&s->ce, false);
		cardem_lines(&s->ce, s->phone_lines & SIM_MODEM_VCC, s->phone_lines & SIM_MODEM_CLK,
			     s->phone_lines & SIM_MODEM_RST);
		s->txq_len = 0;
		s->in.len = 0;
		s->irq.len = 0;
		s->held_len = 0;
		s->status_irq = false;
		s->card_inserted = false;
	}
}

/* Waits up to 5 s until the ep0 thread saw the function disabled. */
static int wait_disabled(void)
{
	struct timespec until;
	int ret = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	pthread_mutex_lock(&board.lock);
	while (board.enabled && ret != ETIMEDOUT)
		ret = pthread_cond_timedwait(&board.cond, &board.lock, &until);
	ret = board.enabled ? -ETIMEDOUT : 0;
	pthread_mutex_unlock(&board.lock);
	return ret;
}

static void *ep0_thread(void *arg)
{
	while (!board.quit) {
		struct usb_functionfs_event ev[4];
		ssize_t n = read(board.g.ep0, ev, sizeof(ev));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			usleep(10000);
			continue;
		}
		for (size_t i = 0; i < n / sizeof(ev[0]); i++) {
			pthread_mutex_lock(&board.lock);
			switch (ev[i].type) {
			case FUNCTIONFS_ENABLE:
				board.enabled = true;
				break;
			case FUNCTIONFS_DISABLE:
			case FUNCTIONFS_UNBIND:
			case FUNCTIONFS_SUSPEND:
				board.suspends += ev[i].type == FUNCTIONFS_SUSPEND;
				if (board.enabled)
					reboot_slots();
				board.enabled = false;
				break;
			}
			pthread_cond_broadcast(&board.cond);
			pthread_mutex_unlock(&board.lock);
			if (ev[i].type == FUNCTIONFS_SETUP) {
				/* No vendor requests: stall by answering the wrong way. */
				uint8_t b[256];

				if (ev[i].u.setup.bRequestType & 0x80) {
					if (read(board.g.ep0, b, 0) < 0)
						continue;
				} else {
					if (write(board.g.ep0, b, 0) < 0)
						continue;
				}
			}
		}
	}
	return NULL;
}

/* NULL procedure bytes every half waiting time while the host thinks. */
static void *null_thread(void *arg)
{
	while (!board.quit) {
		uint64_t now = now_ns();

		pthread_mutex_lock(&board.lock);
		for (unsigned int i = 0; i < board.g.slots; i++) {
			struct slot *s = &board.slots[i];
			uint64_t etu_ns = (uint64_t)cardem_f(s->ce.fi) * 1000000 /
					  (cardem_d(s->ce.di) ? cardem_d(s->ce.di) : 1) / CLOCK_KHZ;

			if (cardem_waiting_host(&s->ce) && now - s->last_tx_ns >= s->ce.wt / 2 * etu_ns)
				cardem_null(&s->ce);
			/* A host that does not read status messages holds nothing up long. */
			if (s->held_len && now - s->held_since > 50000000)
				release_held(s, true);
		}
		pthread_mutex_unlock(&board.lock);
		usleep(5000);
	}
	return NULL;
}

/* --- the phone in this process ---------------------------------------------------- */

static int local_lines(void *ctx, uint8_t bits)
{
	struct slot *s = ctx;

	pthread_mutex_lock(&board.lock);
	s->phone_lines = bits;
	cardem_lines(&s->ce, bits & SIM_MODEM_VCC, bits & SIM_MODEM_CLK, bits & SIM_MODEM_RST);
	pump(s);
	pthread_mutex_unlock(&board.lock);
	return 0;
}

static int local_send(void *ctx, const uint8_t *bytes, size_t len)
{
	struct slot *s = ctx;

	pthread_mutex_lock(&board.lock);
	cardem_modem_bytes(&s->ce, bytes, len);
	pump(s);
	pthread_mutex_unlock(&board.lock);
	return 0;
}

static int local_recv(void *ctx, uint8_t *type, uint8_t *buf, size_t size, int timeout_ms)
{
	struct slot *s = ctx;
	struct timespec until;
	int ret = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&board.lock);
	while (!s->to_modem_len && !s->nevents && !ret)
		ret = pthread_cond_timedwait(&board.cond, &board.lock, &until);
	if (s->nevents) {
		*type = s->events[0][0];
		memcpy(buf, s->events[0] + 1, 3);
		memmove(s->events, s->events + 1, --s->nevents * sizeof(s->events[0]));
		ret = 3;
	} else if (s->to_modem_len) {
		size_t n = s->to_modem_len < size ? s->to_modem_len : size;

		*type = SIM_MODEM_BYTES;
		memcpy(buf, s->to_modem, n);
		memmove(s->to_modem, s->to_modem + n, s->to_modem_len - n);
		s->to_modem_len -= n;
		ret = n;
	} else {
		ret = -ETIMEDOUT;
	}
	pthread_mutex_unlock(&board.lock);
	return ret;
}

static int run_session(struct slot *s, unsigned int card, char *reply, size_t size)
{
	struct modem_line line = {
		.ctx = s, .lines = local_lines, .send = local_send, .recv = local_recv,
	};
	struct session_opts o = { .pps = true, .have_keys = true, .status_polls = 2 };
	struct card_profile prof;
	struct session_result r;
	struct modem *m;
	int ret;

	card_profile_default(&prof, card);
	memcpy(o.ki, prof.ki, 16);
	memcpy(o.opc, prof.opc, 16);
	o.sqn = (uint64_t)(now_ns() / 1000000 & 0xffffff) << 5;
	if (modem_open_line(&m, &line))
		return snprintf(reply, size, "error no memory");
	ret = session_run(m, &o, &r);
	modem_close(m);
	if (ret)
		return snprintf(reply, size, "error %s", r.error);
	return snprintf(reply, size, "ok iccid=%s imsi=%s apdus=%u p50_us=%llu", r.iccid, r.imsi,
			r.commands, (unsigned long long)session_percentile(&r, 50) / 1000);
}

/* --- a phone behind a socket ------------------------------------------------------- */

static void *modem_sock_thread(void *arg)
{
	struct slot *s = arg;

	while (!board.quit) {
		uint8_t rec[SIM_MODEM_MAX_RECORD];
		int fd = accept4(s->modem_listen, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0)
			continue;
		pthread_mutex_lock(&board.lock);
		s->modem_client = fd;
		/*
		 * An empty BYTES record says "from here on you get every
		 * event": modem_open_socket() waits for it, so an event the
		 * test causes right after connecting cannot race the accept.
		 */
		send(fd, (uint8_t[]){ SIM_MODEM_BYTES, 0, 0 }, SIM_MODEM_HDR, MSG_NOSIGNAL);
		pthread_mutex_unlock(&board.lock);
		for (;;) {
			ssize_t n = recv(fd, rec, sizeof(rec), 0);
			size_t len;

			if (n <= 0)
				break;
			len = rec[1] | rec[2] << 8;
			if (n < SIM_MODEM_HDR || len != (size_t)n - SIM_MODEM_HDR)
				continue;
			pthread_mutex_lock(&board.lock);
			if (rec[0] == SIM_MODEM_LINES && len == 1)
				s->phone_lines = rec[3];
			if (rec[0] == SIM_MODEM_LINES && len == 1)
				cardem_lines(&s->ce, rec[3] & SIM_MODEM_VCC, rec[3] & SIM_MODEM_CLK,
					     rec[3] & SIM_MODEM_RST);
			else if (rec[0] == SIM_MODEM_BYTES)
				cardem_modem_bytes(&s->ce, rec + SIM_MODEM_HDR, len);
			pump(s);
			pthread_mutex_unlock(&board.lock);
		}
		pthread_mutex_lock(&board.lock);
		s->modem_client = -1;
		pthread_mutex_unlock(&board.lock);
		close(fd);
	}
	return NULL;
}

static int listen_on(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 4)) {
		close(fd);
		return -errno;
	}
	return fd;
}

/* --- misbehaviour ------------------------------------------------------------------- */

static int misbehave(struct slot *s, const char *kind)
{
	int in = board.g.ep_in[s->i];
	uint8_t buf[ST2_MSG_MAX];
	size_t n;

	memset(buf, 0, sizeof(buf));
	if (!strcmp(kind, "badlen")) {
		n = st2_hdr(buf, ST2_CLASS_CARDEM, ST2_CEMU_RX_DATA, 11);
		st2_put16(buf + 6, 200);		/* says 200, is 19 */
	} else if (!strcmp(kind, "msglen0")) {
		n = st2_hdr(buf, ST2_CLASS_CARDEM, ST2_CEMU_STATUS, ST2_STATUS_LEN);
		st2_put16(buf + 6, 0);
	} else if (!strcmp(kind, "short")) {
		n = 5;
		buf[0] = ST2_CLASS_CARDEM;
	} else if (!strcmp(kind, "unknown")) {
		n = st2_hdr(buf, 0x7f, 0x33, 4);
	} else if (!strcmp(kind, "datalen")) {
		n = st2_hdr(buf, ST2_CLASS_CARDEM, ST2_CEMU_RX_DATA, ST2_DATA_HDR_LEN + 5);
		st2_put32(buf + 8, ST2_DATA_F_TPDU_HDR);
		st2_put16(buf + 12, 9);			/* says 9, carries 5 */
	} else if (!strcmp(kind, "garbage")) {
		for (int k = 0; k < 50; k++) {
			size_t len = 1 + random() % 280;

			for (size_t j = 0; j < len; j++)
				buf[j] = random();
			if (write(in, buf, len) < 0)
				return -errno;
		}
		return 0;
	} else if (!strcmp(kind, "stall")) {
		/* A read on an IN endpoint halts it (FunctionFS); it fails. */
		return read(in, buf, 1) < 0 ? 0 : -EPROTO;
	} else if (!strcmp(kind, "flood")) {
		/* Through the firmware's queue, which drops the oldest. */
		pthread_mutex_lock(&board.lock);
		for (int k = 0; k < 100; k++) {
			n = st2_hdr(buf, ST2_CLASS_CARDEM, ST2_CEMU_STATUS, ST2_STATUS_LEN);
			st2_put32(buf + 8, ST2_STATUS_F_VCC | ST2_STATUS_F_CLK |
				  (k % 2 ? ST2_STATUS_F_RESET : 0));
			msgq_push(&s->irq, buf, n);
		}
		pthread_mutex_unlock(&board.lock);
		return 0;
	} else if (!strcmp(kind, "pause")) {
		s->pause_ms = 2000;
		return 0;
	} else {
		return -EINVAL;
	}
	return write(in, buf, n) < 0 ? -errno : 0;
}

/* --- control --------------------------------------------------------------------- */

static int command(char *cmd, char *reply, size_t size)
{
	unsigned int slot = 0, card = 0;
	char kind[32];

	if (!strcmp(cmd, "plug"))
		return snprintf(reply, size, gadget_plug(&board.g) ? "error plug" : "ok");
	if (!strcmp(cmd, "unplug")) {
		if (gadget_unplug(&board.g))
			return snprintf(reply, size, "error unplug");
		/*
		 * Not done until the slots rebooted (FUNCTIONFS_DISABLE handled):
		 * otherwise a quick replug's CONFIG could come first and be
		 * wiped by the reboot, and the host would get no status.
		 */
		return snprintf(reply, size, wait_disabled() ? "error still enabled" : "ok");
	}
	if (!strcmp(cmd, "quit")) {
		board.quit = true;
		return snprintf(reply, size, "ok");
	}
	if (!strcmp(cmd, "status")) {
		struct slot *s = &board.slots[0];
		bool ready = board.enabled;

		/* Ready: the host configured every slot and selected the remote SIM. */
		pthread_mutex_lock(&board.lock);
		for (unsigned int i = 0; i < board.g.slots; i++)
			ready &= board.slots[i].status_irq && board.slots[i].ce.enabled;
		pthread_mutex_unlock(&board.lock);
		return snprintf(reply, size,
				"ok ready=%d dropped=%u bad=%u tx_dropped=%u reboots=%u suspends=%u "
				"card=%d", ready, s->in.dropped + s->irq.dropped, s->host_msgs_bad,
				s->ce.tx_dropped, board.reboots, board.suspends, s->card_inserted);
	}
	if (sscanf(cmd, "session %u %u", &slot, &card) == 2 && slot < board.g.slots)
		return run_session(&board.slots[slot], card, reply, size);
	if (sscanf(cmd, "misbehave %u %31s", &slot, kind) == 2 && slot < board.g.slots) {
		int ret = misbehave(&board.slots[slot], kind);

		return snprintf(reply, size, ret ? "error %s" : "ok", strerror(-ret));
	}
	return snprintf(reply, size, "error unknown command");
}

static void serve_control(void)
{
	while (!board.quit) {
		int fd = accept4(board.ctl_listen, NULL, NULL, SOCK_CLOEXEC);
		char cmd[256], reply[512];
		ssize_t n;

		if (fd < 0)
			continue;
		while ((n = recv(fd, cmd, sizeof(cmd) - 1, 0)) > 0) {
			cmd[n] = 0;
			cmd[strcspn(cmd, "\n")] = 0;
			n = command(cmd, reply, sizeof(reply));
			send(fd, reply, n, MSG_NOSIGNAL);
			if (board.quit)
				break;
		}
		close(fd);
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: st2board --product simtrace2|qmod|owhw|octsimtest|ngff "
		"--name NAME --udc UDC --ctl PATH\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "product", required_argument, NULL, 'p' },
		{ "name", required_argument, NULL, 'n' },
		{ "udc", required_argument, NULL, 'u' },
		{ "ctl", required_argument, NULL, 'c' },
		{ }
	};
	const char *product = "simtrace2", *name = "st2board", *udc = "dummy_udc.0", *ctl = NULL;
	pthread_t th;
	int c, ret;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p': product = optarg; break;
		case 'n': name = optarg; break;
		case 'u': udc = optarg; break;
		case 'c': ctl = optarg; break;
		default: usage();
		}
	}
	board.product = gadget_product(product);
	if (!board.product || !ctl)
		usage();
	signal(SIGPIPE, SIG_IGN);
	pthread_mutex_init(&board.lock, NULL);
	pthread_cond_init(&board.cond, NULL);

	ret = gadget_create(&board.g, name, board.product, udc);
	if (ret) {
		fprintf(stderr, "st2board: gadget: %s\n", strerror(-ret));
		gadget_destroy(&board.g);
		return 1;
	}
	snprintf(board.ctl_path, sizeof(board.ctl_path), "%s", ctl);
	board.ctl_listen = listen_on(ctl);
	if (board.ctl_listen < 0) {
		fprintf(stderr, "st2board: %s: %s\n", ctl, strerror(-board.ctl_listen));
		gadget_destroy(&board.g);
		return 1;
	}
	for (unsigned int i = 0; i < board.g.slots; i++) {
		struct slot *s = &board.slots[i];
		char path[256];

		s->i = i;
		s->b = &board;
		s->modem_client = -1;
		cardem_init(&s->ce, &ce_ops, s);
		/* Emulation is off until the host selects the remote SIM. */
		cardem_enable(&s->ce, false);
		snprintf(path, sizeof(path), "%s.modem%u", ctl, i);
		s->modem_listen = listen_on(path);
		pthread_create(&th, NULL, out_thread, s);
		pthread_create(&th, NULL, in_thread, s);
		pthread_create(&th, NULL, irq_thread, s);
		pthread_create(&th, NULL, modem_sock_thread, s);
	}
	pthread_create(&th, NULL, ep0_thread, NULL);
	pthread_create(&th, NULL, null_thread, NULL);
	ret = gadget_plug(&board.g);
	if (ret)
		fprintf(stderr, "st2board: plug: %s\n", strerror(-ret));
	printf("st2board: %s (%04x) on %s, %u slot(s), control %s\n", board.product->string,
	       board.product->pid, udc, board.g.slots, ctl);
	fflush(stdout);
	serve_control();
	/* Threads blocked on the lock or in I/O end with the process. */
	pthread_cond_broadcast(&board.cond);
	gadget_destroy(&board.g);
	unlink(ctl);
	return 0;
}
