// SPDX-License-Identifier: GPL-2.0
/*
 * The readers of one pcscd: one event loop thread runs every reader's
 * client slot (the library's loop, started with the first reader and
 * stopped with the last), so the client core stays single-threaded as in
 * remsim-client. pcscd's threads hand it requests under a lock and wake it
 * through an eventfd; the loop's callbacks record the card's state and
 * answers and signal a condition variable. Every wait of a pcscd thread is
 * bounded by the reader's timeout: a lost bankd or server makes an error,
 * never a hung pcscd.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "remsim/log.h"
#include "ifd.h"

enum tpdu_state {
	TPDU_IDLE,
	TPDU_PENDING,		/* for the loop to send */
	TPDU_SENT,		/* out to the bankd */
	TPDU_DONE,		/* the answer is in rx */
	TPDU_FAILED,		/* err says why */
	TPDU_ABANDONED,		/* the caller timed out: its answer is dropped */
};

/*
 * A card that went stays away for pcscd until its presence poll (every
 * 400 ms) said "absent" this many times, and at least ABSENT_HOLD_MS, even
 * if the bankd is back at once: a removal pcscd did not poll leaves the
 * reader "absent" for good (its failed command said so, its poll saw no
 * change). The card is a new one anyway: the bankd opened it again.
 */
#define ABSENT_POLLS	2
#define ABSENT_HOLD_MS	1200

/* Line changes a power action makes; more are refused, never queued. */
#define PHYS_QUEUE	4

struct ifd_reader {
	struct ifd_reader *next;
	struct ifd_dev dev;
	struct rc_slot *slot;		/* the loop's alone */
	struct rspro_tls *tls;		/* its links' credentials, or NULL */
	bool started, closing;
	/* under lib.lock: */
	bool operational;
	uint8_t atr[RSPRO_ATR_MAX];
	size_t atr_len;			/* 0: no ATR from the bankd yet */
	uint64_t absent_until_ns;	/* ABSENT_HOLD_MS after a removal */
	unsigned int absent_polls;	/* polls still to answer "absent" */
	enum tpdu_state state;
	int err;
	uint8_t tx[261], rx[IFD_RESP_MAX];
	size_t txlen, rxlen;
	struct rspro_slot_phys phys[PHYS_QUEUE];
	unsigned int nphys;
	pthread_cond_t cond;
	char name[40];
};

static struct {
	pthread_mutex_t lock;		/* recursive: callbacks of the loop's own calls */
	bool init;
	struct ev_loop *loop;
	pthread_t thread;
	int efd;
	struct ev_io wake;
	bool stop;
	struct ifd_reader *readers;
} lib = { .efd = -1 };

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
/* Opens and closes one at a time: the last close stops the loop a next open needs */
static pthread_mutex_t life_lock = PTHREAD_MUTEX_INITIALIZER;

static void lib_init_once(void)
{
	pthread_mutexattr_t a;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&lib.lock, &a);
	pthread_mutexattr_destroy(&a);
	log_init("remsim-ifd", LOG_NOTICE);
}

void ifd_lib_init(void)
{
	pthread_once(&lib_once, lib_init_once);
}

/* --- the loop thread ------------------------------------------------------- */

static void on_atr(struct rc_slot *s, const uint8_t *atr, size_t len)
{
	struct ifd_reader *r = rc_slot_data(s);

	pthread_mutex_lock(&lib.lock);
	/* the local ATR comes before OPERATIONAL: only the card's counts */
	if (r->operational && len <= sizeof(r->atr)) {
		memcpy(r->atr, atr, len);
		r->atr_len = len;
		LOGP(DMAIN, LOG_NOTICE, r->name, "card present (ATR of %zu bytes)", len);
	}
	pthread_mutex_unlock(&lib.lock);
}

static void on_response(struct rc_slot *s, const uint8_t *data, size_t len)
{
	struct ifd_reader *r = rc_slot_data(s);

	pthread_mutex_lock(&lib.lock);
	if (r->state == TPDU_SENT) {
		if (len <= sizeof(r->rx)) {
			memcpy(r->rx, data, len);
			r->rxlen = len;
			r->state = TPDU_DONE;
		} else {
			r->err = -EPROTO;
			r->state = TPDU_FAILED;
		}
		pthread_cond_broadcast(&r->cond);
	} else if (r->state == TPDU_ABANDONED) {
		r->state = TPDU_IDLE;
	}
	pthread_mutex_unlock(&lib.lock);
}

static void on_lost(struct rc_slot *s, const char *why)
{
	struct ifd_reader *r = rc_slot_data(s);

	pthread_mutex_lock(&lib.lock);
	if (r->state == TPDU_SENT) {
		r->err = -EIO;
		r->state = TPDU_FAILED;
		pthread_cond_broadcast(&r->cond);
	} else if (r->state == TPDU_ABANDONED) {
		r->state = TPDU_IDLE;
	}
	pthread_mutex_unlock(&lib.lock);
}

static void on_operational(struct rc_slot *s, bool on)
{
	struct ifd_reader *r = rc_slot_data(s);

	pthread_mutex_lock(&lib.lock);
	r->operational = on;
	if (!on && r->atr_len) {
		r->atr_len = 0;
		r->absent_until_ns = ev_now_ns() + ABSENT_HOLD_MS * 1000000ull;
		r->absent_polls = ABSENT_POLLS;
		LOGP(DMAIN, LOG_NOTICE, r->name, "card removed (bankd link down)");
	}
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&lib.lock);
}

static const struct rc_frontend_ops ifd_ops = {
	.set_atr = on_atr,
	.card2modem = on_response,
	.tpdu_lost = on_lost,
	.operational = on_operational,
};

/* Runs what pcscd's threads asked of @r; under lib.lock. */
static void serve(struct ifd_reader *r)
{
	unsigned int i;
	int ret;

	if (!r->started) {
		rc_slot_start(r->slot);
		r->started = true;
	}
	for (i = 0; i < r->nphys; i++)
		rc_slot_modem_status(r->slot, &r->phys[i]);
	r->nphys = 0;
	if (r->state == TPDU_PENDING) {
		ret = rc_slot_tpdu(r->slot, r->tx, r->txlen);
		if (ret) {
			r->err = ret;
			r->state = TPDU_FAILED;
			pthread_cond_broadcast(&r->cond);
		} else {
			r->state = TPDU_SENT;
		}
	}
}

static void on_wake(struct ev_io *io, uint32_t revents)
{
	struct ifd_reader *r, **pp;
	uint64_t v;

	if (read(lib.efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		LOGP(DMAIN, LOG_ERROR, "loop", "eventfd: %s", strerror(errno));
	pthread_mutex_lock(&lib.lock);
	for (pp = &lib.readers; (r = *pp);) {
		if (r->closing) {
			/* its closer waits for this: the slot is freed here, in the loop */
			*pp = r->next;
			rc_slot_free(r->slot);
			r->slot = NULL;
			pthread_cond_broadcast(&r->cond);
			continue;
		}
		serve(r);
		pp = &r->next;
	}
	if (lib.stop)
		ev_break(lib.loop);
	pthread_mutex_unlock(&lib.lock);
}

static void *loop_main(void *arg)
{
	ev_run(lib.loop);
	return NULL;
}

static void wake_loop(void)
{
	uint64_t one = 1;

	if (write(lib.efd, &one, sizeof(one)) < 0)
		LOGP(DMAIN, LOG_ERROR, "loop", "eventfd: %s", strerror(errno));
}

/* The loop and its thread, for the first reader; under lib.lock. */
static int loop_start(char *err, size_t errlen)
{
	int ret;

	lib.loop = ev_loop_new();
	lib.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!lib.loop || lib.efd < 0) {
		snprintf(err, errlen, "event loop: %s", strerror(errno));
		goto fail;
	}
	ret = ev_io_start(lib.loop, &lib.wake, lib.efd, EPOLLIN, on_wake, NULL);
	if (ret) {
		snprintf(err, errlen, "event loop: %s", strerror(-ret));
		goto fail;
	}
	lib.stop = false;
	ret = pthread_create(&lib.thread, NULL, loop_main, NULL);
	if (ret) {
		snprintf(err, errlen, "loop thread: %s", strerror(ret));
		ev_io_stop(&lib.wake);
		goto fail;
	}
	return 0;
fail:
	if (lib.efd >= 0)
		close(lib.efd);
	lib.efd = -1;
	if (lib.loop)
		ev_loop_free(lib.loop);
	lib.loop = NULL;
	return -EIO;
}

/* After the last reader: the thread joined, the loop freed; no lock held. */
static void loop_stop(void)
{
	pthread_mutex_lock(&lib.lock);
	lib.stop = true;
	wake_loop();
	pthread_mutex_unlock(&lib.lock);
	pthread_join(lib.thread, NULL);
	ev_io_stop(&lib.wake);
	close(lib.efd);
	lib.efd = -1;
	ev_loop_free(lib.loop);
	lib.loop = NULL;
}

/* --- pcscd's threads ------------------------------------------------------- */

/* The card is there for pcscd; under lib.lock. */
static bool card_here(const struct ifd_reader *r)
{
	return r->operational && r->atr_len && !r->absent_polls &&
	       ev_now_ns() >= r->absent_until_ns;
}

/* Waits on @r's condition until @deadline (CLOCK_MONOTONIC): false on timeout. */
static bool wait_until(struct ifd_reader *r, const struct timespec *deadline)
{
	return pthread_cond_timedwait(&r->cond, &lib.lock, deadline) != ETIMEDOUT;
}

static struct timespec deadline_in(unsigned int ms)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	return t;
}

struct ifd_reader *ifd_reader_open(const struct ifd_dev *dev, char *err, size_t errlen)
{
	struct ifd_reader *r = calloc(1, sizeof(*r));
	pthread_condattr_t ca;

	ifd_lib_init();
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->dev = *dev;
	if (rc_cfg_tls(&r->dev.cfg, &dev->tls, &r->tls, err, errlen)) {
		free(r);
		return NULL;
	}
	rspro_identity_local(&r->dev.cfg.identity, RSPRO_COMP_CLIENT, "remsim-ifd",
			     REMSIM_VERSION);
	snprintf(r->name, sizeof(r->name), "C%u:%u", dev->cfg.slot.client_id,
		 dev->cfg.slot.slot_nr);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->cond, &ca);
	pthread_condattr_destroy(&ca);

	pthread_mutex_lock(&life_lock);
	pthread_mutex_lock(&lib.lock);
	if (!lib.loop && loop_start(err, errlen))
		goto fail;
	r->slot = rc_slot_new(lib.loop, &r->dev.cfg, &ifd_ops, r);
	if (!r->slot) {
		snprintf(err, errlen, "client slot %s: cannot create it", r->name);
		if (!lib.readers) {
			pthread_mutex_unlock(&lib.lock);
			loop_stop();
			pthread_mutex_lock(&lib.lock);
		}
		goto fail;
	}
	r->next = lib.readers;
	lib.readers = r;
	wake_loop();		/* serve() starts the slot in the loop */
	pthread_mutex_unlock(&lib.lock);
	pthread_mutex_unlock(&life_lock);
	return r;
fail:
	pthread_mutex_unlock(&lib.lock);
	pthread_mutex_unlock(&life_lock);
	pthread_cond_destroy(&r->cond);
	rspro_tls_free(r->tls);
	free(r);
	return NULL;
}

void ifd_reader_close(struct ifd_reader *r)
{
	bool last;

	if (!r)
		return;
	pthread_mutex_lock(&life_lock);
	pthread_mutex_lock(&lib.lock);
	r->closing = true;
	wake_loop();
	/* the loop frees the slot: it cannot be busy for long */
	while (r->slot)
		pthread_cond_wait(&r->cond, &lib.lock);
	last = !lib.readers;
	pthread_mutex_unlock(&lib.lock);
	if (last)
		loop_stop();
	pthread_mutex_unlock(&life_lock);
	pthread_cond_destroy(&r->cond);
	rspro_tls_free(r->tls);
	free(r);
}

bool ifd_reader_present(struct ifd_reader *r)
{
	bool present;

	pthread_mutex_lock(&lib.lock);
	if (r->absent_polls) {
		r->absent_polls--;	/* one more "absent" pcscd has seen */
		present = false;
	} else {
		present = card_here(r);
	}
	pthread_mutex_unlock(&lib.lock);
	return present;
}

int ifd_reader_atr(struct ifd_reader *r, uint8_t *atr, size_t *len)
{
	int ret = -ENODEV;

	pthread_mutex_lock(&lib.lock);
	if (card_here(r) && r->atr_len <= *len) {
		memcpy(atr, r->atr, r->atr_len);
		*len = r->atr_len;
		ret = 0;
	}
	pthread_mutex_unlock(&lib.lock);
	return ret;
}

/*
 * The lines as a modem would drive them: VCC off (the bankd resets the
 * card cold), VCC on, or RST pulsed (a warm reset). The bankd runs them in
 * order with the commands, so nothing is waited for here.
 */
int ifd_reader_power(struct ifd_reader *r, enum ifd_power action)
{
	static const struct rspro_slot_phys on = { 0, 1, 1, 1 }, off = { 0, 0, 0, 1 },
		rst = { 1, 1, 1, 1 };
	int ret = 0;

	pthread_mutex_lock(&lib.lock);
	if (!card_here(r)) {
		ret = -ENODEV;
	} else if (r->nphys + 2 > PHYS_QUEUE) {
		ret = -EBUSY;
	} else {
		if (action == IFD_PWR_DOWN)
			r->phys[r->nphys++] = off;
		if (action == IFD_PWR_RESET)
			r->phys[r->nphys++] = rst;
		if (action != IFD_PWR_DOWN)
			r->phys[r->nphys++] = on;
		wake_loop();
	}
	pthread_mutex_unlock(&lib.lock);
	return ret;
}

int ifd_reader_tpdu(struct ifd_reader *r, const uint8_t *tx, size_t txlen, uint8_t *rx,
		    size_t *rxlen)
{
	struct timespec deadline = deadline_in(r->dev.timeout_ms);
	int ret;

	if (txlen < 5 || txlen > sizeof(r->tx))
		return -EINVAL;
	pthread_mutex_lock(&lib.lock);
	if (!card_here(r)) {
		ret = -ENODEV;
		goto out;
	}
	if (r->state == TPDU_ABANDONED) {
		ret = -EBUSY;	/* the card has not answered the last one yet */
		goto out;
	}
	memcpy(r->tx, tx, txlen);
	r->txlen = txlen;
	r->state = TPDU_PENDING;
	wake_loop();
	while (r->state == TPDU_PENDING || r->state == TPDU_SENT)
		if (!wait_until(r, &deadline))
			break;
	switch (r->state) {
	case TPDU_DONE:
		if (r->rxlen > *rxlen) {
			ret = -ENOSPC;
			break;
		}
		memcpy(rx, r->rx, r->rxlen);
		*rxlen = r->rxlen;
		ret = 0;
		break;
	case TPDU_FAILED:
		ret = r->err == -ENOTCONN ? -ENODEV : r->err;
		break;
	case TPDU_SENT:
		LOGP(DMAIN, LOG_ERROR, r->name, "no answer from the card within %u ms",
		     r->dev.timeout_ms);
		r->state = TPDU_ABANDONED;
		ret = -ETIMEDOUT;
		goto out;
	default:
		/* PENDING: the loop did not even take it */
		LOGP(DMAIN, LOG_ERROR, r->name, "event loop stuck for %u ms", r->dev.timeout_ms);
		ret = -ETIMEDOUT;
		break;
	}
	r->state = TPDU_IDLE;
out:
	pthread_mutex_unlock(&lib.lock);
	return ret;
}

const char *ifd_reader_name(const struct ifd_reader *r)
{
	return r->name;
}
