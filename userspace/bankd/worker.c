// SPDX-License-Identifier: GPL-2.0
/*
 * A bank slot's worker thread: an event loop of its own for the session of
 * the slot's client (session.c) and every blocking PC/SC call of the slot,
 * so a slow or wedged card holds only its own slot. Messages come from the
 * main loop on a lock-free stack and an eventfd wakes the worker; what
 * goes back travels on another, and an eventfd wakes the main loop
 * (bankd.h: struct worker).
 */
#include <errno.h>
#include <PCSC/winscard.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "bankd.h"
#include "remsim/log.h"

struct job *job_new(enum job_type type, uint64_t owner)
{
	struct job *j = calloc(1, sizeof(*j));

	if (j) {
		j->type = type;
		j->owner = owner;
	}
	return j;
}

/*
 * pcscd went away or restarted: the context is worthless. A call under way
 * when pcscd died says "RPC transport error" (SCARD_F_COMM_ERROR).
 */
static bool service_lost(LONG rv)
{
	return rv == SCARD_E_NO_SERVICE || rv == SCARD_E_SERVICE_STOPPED ||
	       rv == SCARD_E_INVALID_HANDLE || rv == SCARD_F_COMM_ERROR;
}

/* The card powered down: the next session begins with a reset card. */
void worker_drop_card(struct worker *w)
{
	if (w->card) {
		SCardDisconnect(w->card, SCARD_UNPOWER_CARD);
		w->card = 0;
	}
}

static void drop_context(struct worker *w)
{
	worker_drop_card(w);
	if (w->ctx) {
		SCardReleaseContext(w->ctx);
		w->ctx = 0;
	}
}

static void fail(struct job *j, LONG rv, const char *what)
{
	j->rv = rv ? rv : SCARD_F_UNKNOWN_ERROR;
	snprintf(j->why, sizeof(j->why), "%s: %s", what, pcsc_stringify_error(j->rv));
}

/* The card's ATR into the job. */
static void read_atr(struct worker *w, struct job *j)
{
	DWORD state, proto, atr_len = sizeof(j->atr), rlen = 0;

	if (SCardStatus(w->card, NULL, &rlen, &state, &proto, j->atr, &atr_len) ==
	    SCARD_S_SUCCESS)
		j->atr_len = atr_len;
}

/*
 * A context (again, after pcscd restarted) and the reader of this slot's
 * row into w->reader: 0, or -1 with the job's rv and why set.
 */
/*
 * The row of this slot in the reader map, under the map's read lock: NULL
 * (unlocked, the job's rv and why set) if there is none.
 */
static const struct slot_row *row_lock(struct worker *w, struct job *j)
{
	struct bankd *bd = w->bd;
	const struct slot_row *row;

	pthread_rwlock_rdlock(&bd->slots_lock);
	row = slot_table_find(&bd->slots, bd->cfg.bank_id, w->slot);
	if (row)
		return row;
	j->rv = SCARD_E_UNKNOWN_READER;
	snprintf(j->why, sizeof(j->why),
		 "no reader configured for bank slot %u:%u in %s: fix your config",
		 bd->cfg.bank_id, w->slot, bd->cfg.csv_path);
	pthread_rwlock_unlock(&bd->slots_lock);
	return NULL;
}

/* The first reader of @readers that the slot's row matches, into w->reader. */
static int match_reader(struct worker *w, struct job *j, const char *readers)
{
	const struct slot_row *row = row_lock(w, j);
	const char *r;

	if (!row)
		return -1;
	r = slot_row_find(row, readers);
	if (r)
		snprintf(w->reader, sizeof(w->reader), "%s", r);
	else {
		j->rv = SCARD_E_UNKNOWN_READER;
		snprintf(j->why, sizeof(j->why), "no reader matches \"%s\"", row->pattern);
	}
	pthread_rwlock_unlock(&w->bd->slots_lock);
	return r ? 0 : -1;
}

int worker_find_reader(struct worker *w, struct job *j)
{
	char *readers = NULL;
	DWORD len = SCARD_AUTOALLOCATE;
	LONG rv;
	int ret;

	/* no map row, no PC/SC call; the lock is not held over one (SIGHUP waits) */
	if (!row_lock(w, j))
		return -1;
	pthread_rwlock_unlock(&w->bd->slots_lock);
	/*
	 * A context made before pcscd restarted fails at once: then a new one,
	 * so that the client is not refused (and backs off) for nothing.
	 */
	for (int attempt = 0; attempt < 2; attempt++) {
		if (!w->ctx) {
			SCARDCONTEXT ctx;

			rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx);
			if (rv != SCARD_S_SUCCESS) {
				fail(j, rv, "PC/SC context");
				return -1;
			}
			w->ctx = ctx;
		}
		len = SCARD_AUTOALLOCATE;
		rv = SCardListReaders(w->ctx, NULL, (LPSTR)&readers, &len);
		if (!service_lost(rv))
			break;
		drop_context(w);
	}
	if (rv != SCARD_S_SUCCESS) {
		fail(j, rv, "listing readers");
		return -1;
	}
	ret = match_reader(w, j, readers);
	SCardFreeMemory(w->ctx, readers);
	return ret;
}

void worker_open(struct worker *w, struct job *j)
{
	DWORD proto;
	LONG rv;

	j->rv = SCARD_S_SUCCESS;
	j->atr_len = 0;
	worker_drop_card(w);
	if (worker_find_reader(w, j))
		return;
	{
		SCARDHANDLE card;

		rv = SCardConnect(w->ctx, w->reader, w->bd->cfg.shared ? SCARD_SHARE_SHARED :
				  SCARD_SHARE_EXCLUSIVE, SCARD_PROTOCOL_T0, &card, &proto);
		if (rv != SCARD_S_SUCCESS) {
			if (service_lost(rv))
				drop_context(w);
			fail(j, rv, w->reader);
			return;
		}
		w->card = card;
	}
	read_atr(w, j);
	j->rv = SCARD_S_SUCCESS;
}

void worker_transmit(struct worker *w, struct job *j)
{
	SCARD_IO_REQUEST recv_pci;
	DWORD rlen = sizeof(j->resp);
	LONG rv;

	j->resp_len = 0;
	if (!w->card) {
		j->rv = SCARD_E_NO_SMARTCARD;
		snprintf(j->why, sizeof(j->why), "no card open");
		return;
	}
	j->card_ns = ev_now_ns();
	rv = SCardTransmit(w->card, SCARD_PCI_T0, j->data, j->len, &recv_pci, j->resp, &rlen);
	j->card_ns = ev_now_ns() - j->card_ns;
	if (rv != SCARD_S_SUCCESS) {
		fail(j, rv, "transmit");
		if (service_lost(rv))
			drop_context(w);
		else
			worker_drop_card(w);
		return;
	}
	if (rlen < 2) {
		/* vpcd reports a card that vanished mid-command as success, empty */
		j->rv = SCARD_E_NOT_TRANSACTED;
		snprintf(j->why, sizeof(j->why), "transmit: %lu bytes back, no status word",
			 (unsigned long)rlen);
		worker_drop_card(w);
		return;
	}
	j->resp_len = rlen;
	j->rv = SCARD_S_SUCCESS;
}

void worker_reset(struct worker *w, struct job *j)
{
	DWORD proto;
	LONG rv;

	j->atr_len = 0;
	if (!w->card) {
		j->rv = SCARD_E_NO_SMARTCARD;
		snprintf(j->why, sizeof(j->why), "no card open");
		return;
	}
	rv = SCardReconnect(w->card, w->bd->cfg.shared ? SCARD_SHARE_SHARED :
			    SCARD_SHARE_EXCLUSIVE, SCARD_PROTOCOL_T0,
			    j->cold ? SCARD_UNPOWER_CARD : SCARD_RESET_CARD, &proto);
	if (rv != SCARD_S_SUCCESS) {
		fail(j, rv, j->cold ? "cold reset" : "warm reset");
		if (service_lost(rv))
			drop_context(w);
		return;
	}
	read_atr(w, j);
	j->rv = SCARD_S_SUCCESS;
}

/* Pushes @j on the stack at @top; one pusher per stack, but safe for more. */
static void push(_Atomic(struct job *) *top, struct job *j)
{
	struct job *old = atomic_load(top);

	do
		j->next = old;
	while (!atomic_compare_exchange_weak(top, &old, j));
}

/* Takes the whole stack at @top, oldest first. */
static struct job *take_all(_Atomic(struct job *) *top)
{
	struct job *j = atomic_exchange(top, NULL), *fifo = NULL, *next;

	for (; j; j = next) {
		next = j->next;
		j->next = fifo;
		fifo = j;
	}
	return fifo;
}

/* @j back to the loop; the eventfd only if nobody told the loop yet. */
void worker_send_back(struct worker *w, struct job *j)
{
	struct bankd *bd = w->bd;
	uint64_t one = 1;

	push(&w->done, j);
	if (atomic_exchange(&bd->done_told, true))
		return;
	if (write(bd->done_fd, &one, sizeof(one)) < 0)
		LOGP(DBANKDW, LOG_ERROR, w->name, "eventfd: %s", strerror(errno));
}

/*
 * A message the worker was told to forget: a session not started goes
 * back (the main loop closes it), the rest is freed.
 */
static void drop_job(struct worker *w, struct job *j)
{
	if (j->type != JOB_SESSION) {
		free(j);
		return;
	}
	j->client->gone->client = j->client;
	snprintf(j->client->gone->why, sizeof(j->client->gone->why), "bankd shutting down");
	worker_send_back(w, j->client->gone);
	free(j);
}

static void run_job(struct worker *w, struct job *j)
{
	switch (j->type) {
	case JOB_SESSION:
		session_start(w, j->client);
		free(j);
		break;
	case JOB_INVENTORY:
		worker_inventory(w, j);
		worker_send_back(w, j);
		break;
	default:
		session_job(w, j);
		free(j);
		break;
	}
}

/* The main loop wrote wake_fd: its messages, oldest first, or quit. */
static void wake_cb(struct ev_io *io, uint32_t revents)
{
	struct worker *w = io->data;
	struct job *jobs, *j;
	uint64_t n;

	if (read(w->wake_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		LOGP(DBANKDW, LOG_ERROR, w->name, "eventfd: %s", strerror(errno));
	jobs = take_all(&w->todo);
	while ((j = jobs)) {
		jobs = j->next;
		/* what was not started when told to quit is dropped */
		if (atomic_load(&w->quit))
			drop_job(w, j);
		else
			run_job(w, j);
	}
	if (atomic_load(&w->quit))
		ev_break(w->loop);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	ev_run(w->loop);
	session_stop(w, "bankd shutting down");
	drop_context(w);
	return NULL;
}

/*
 * A worker's stack: its calls (PC/SC, the inventory's card reads, a log
 * line, the session's RSPRO codec) touch 24-28 KiB of it, TLS and the
 * thread's descriptor included (measured: the stack mapping's Rss in
 * /proc/PID/smaps after bankd_rtt). 256 KiB leaves room for the sanitizer
 * build's larger frames; glibc's default (the stack rlimit, 8 MiB) was
 * 512 MiB of address space at 64 slots for nothing.
 */
#define WORKER_STACK	(256 * 1024)

int worker_start(struct worker *w, struct bankd *bd, uint16_t slot)
{
	pthread_attr_t attr;
	int ret;

	w->bd = bd;
	w->slot = slot;
	snprintf(w->name, sizeof(w->name), "B%u:%u", bd->cfg.bank_id, slot);
	atomic_init(&w->todo, NULL);
	atomic_init(&w->done, NULL);
	atomic_init(&w->quit, false);
	atomic_init(&w->card_up, false);
	pthread_mutex_init(&w->stats_lock, NULL);
	w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	w->loop = ev_loop_new();
	if (w->wake_fd < 0 || !w->loop)
		return w->wake_fd < 0 ? -errno : -ENOMEM;
	ret = ev_io_start(w->loop, &w->wake_io, w->wake_fd, EPOLLIN, wake_cb, w);
	if (ret)
		return ret;
	ret = pthread_attr_init(&attr);
	if (ret)
		return -ret;
	ret = pthread_attr_setstacksize(&attr, WORKER_STACK);
	if (!ret)
		ret = pthread_create(&w->thread, &attr, worker_main, w);
	pthread_attr_destroy(&attr);
	w->started = !ret;
	return -ret;
}

static void free_jobs(struct job *j)
{
	struct job *next;

	for (; j; j = next) {
		next = j->next;
		free(j);
	}
}

static void wake(struct worker *w)
{
	uint64_t one = 1;

	if (write(w->wake_fd, &one, sizeof(one)) < 0)
		LOGP(DBANKDW, LOG_ERROR, w->name, "eventfd: %s", strerror(errno));
}

void worker_stop(struct worker *w)
{
	if (!w->started)
		return;
	/* a running call finishes first; what was not started is dropped */
	atomic_store(&w->quit, true);
	wake(w);
	pthread_join(w->thread, NULL);
	w->started = false;
}

void worker_free(struct worker *w)
{
	if (!w->bd)
		return;
	free_jobs(take_all(&w->todo));
	free_jobs(take_all(&w->done));
	free_jobs(w->ready);
	w->ready = NULL;
	if (w->loop) {
		ev_io_stop(&w->wake_io);
		ev_loop_free(w->loop);
		w->loop = NULL;
	}
	if (w->wake_fd >= 0)
		close(w->wake_fd);
	w->wake_fd = -1;
	pthread_mutex_destroy(&w->stats_lock);
	w->bd = NULL;
}

/* The loop's: messages are rare (no TPDU is one), so always the eventfd. */
void worker_submit(struct worker *w, struct job *j)
{
	push(&w->todo, j);
	wake(w);
}

struct job *worker_take_done(struct worker *w)
{
	struct job *j;

	if (!w->ready)
		w->ready = take_all(&w->done);
	j = w->ready;
	if (j)
		w->ready = j->next;
	return j;
}

void worker_stats_get(struct worker *w, struct slot_stats *out)
{
	pthread_mutex_lock(&w->stats_lock);
	*out = w->stats;
	pthread_mutex_unlock(&w->stats_lock);
}
