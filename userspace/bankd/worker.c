// SPDX-License-Identifier: GPL-2.0
/*
 * A bank slot's worker thread: every blocking PC/SC call of that slot runs
 * here, one job at a time, so a slow or wedged card holds only its own
 * slot. Jobs come from the event loop on a lock-free stack and a futex
 * wakes the worker; results go back on another and an eventfd wakes the
 * loop (bankd.h: struct worker).
 */
#include <errno.h>
#include <linux/futex.h>
#include <PCSC/winscard.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
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

static void drop_card(struct worker *w, DWORD disposition)
{
	if (w->card) {
		SCardDisconnect(w->card, disposition);
		w->card = 0;
	}
}

static void drop_context(struct worker *w)
{
	drop_card(w, SCARD_UNPOWER_CARD);
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
int worker_find_reader(struct worker *w, struct job *j)
{
	const struct slot_row *row = slot_table_find(&w->bd->slots, w->bd->cfg.bank_id, w->slot);
	char *readers = NULL;
	const char *r;
	DWORD len = SCARD_AUTOALLOCATE;
	LONG rv;

	if (!row) {
		j->rv = SCARD_E_UNKNOWN_READER;
		snprintf(j->why, sizeof(j->why),
			 "no reader configured for bank slot %u:%u in %s: fix your config",
			 w->bd->cfg.bank_id, w->slot, w->bd->cfg.csv_path);
		return -1;
	}
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
	r = slot_row_find(row, readers);
	if (!r) {
		j->rv = SCARD_E_UNKNOWN_READER;
		snprintf(j->why, sizeof(j->why), "no reader matches \"%s\"", row->pattern);
		SCardFreeMemory(w->ctx, readers);
		return -1;
	}
	snprintf(w->reader, sizeof(w->reader), "%s", r);
	SCardFreeMemory(w->ctx, readers);
	return 0;
}

static void do_open(struct worker *w, struct job *j)
{
	DWORD proto;
	LONG rv;

	drop_card(w, SCARD_UNPOWER_CARD);
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

static void do_transmit(struct worker *w, struct job *j)
{
	SCARD_IO_REQUEST recv_pci;
	DWORD rlen = sizeof(j->resp);
	LONG rv;

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
			drop_card(w, SCARD_UNPOWER_CARD);
		return;
	}
	if (rlen < 2) {
		/* vpcd reports a card that vanished mid-command as success, empty */
		j->rv = SCARD_E_NOT_TRANSACTED;
		snprintf(j->why, sizeof(j->why), "transmit: %lu bytes back, no status word",
			 (unsigned long)rlen);
		drop_card(w, SCARD_UNPOWER_CARD);
		return;
	}
	j->resp_len = rlen;
	j->rv = SCARD_S_SUCCESS;
}

static void do_reset(struct worker *w, struct job *j)
{
	DWORD proto;
	LONG rv;

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

static void futex_wait(atomic_uint *word, unsigned int val)
{
	/* returns at once if *word is no longer @val: no wake-up is lost */
	syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(atomic_uint *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
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

/*
 * The next jobs, oldest first, or NULL when told to quit. The worker says
 * it sleeps before it looks a last time; the loop pushes before it looks
 * whether the worker sleeps: one of the two sees the other (sequentially
 * consistent atomics), so a job never waits for a wake-up that never comes.
 */
static struct job *wait_jobs(struct worker *w)
{
	struct job *jobs;

	for (;;) {
		jobs = take_all(&w->todo);
		if (jobs || atomic_load(&w->quit))
			return jobs;
		atomic_store(&w->sleeping, 1);
		if (!atomic_load(&w->todo) && !atomic_load(&w->quit))
			futex_wait(&w->sleeping, 1);
		atomic_store(&w->sleeping, 0);
	}
}

static void run_job(struct worker *w, struct job *j)
{
	switch (j->type) {
	case JOB_OPEN:
		do_open(w, j);
		break;
	case JOB_TRANSMIT:
		do_transmit(w, j);
		break;
	case JOB_RESET:
		do_reset(w, j);
		break;
	case JOB_CLOSE:
		drop_card(w, SCARD_UNPOWER_CARD);
		j->rv = SCARD_S_SUCCESS;
		break;
	case JOB_INVENTORY:
		worker_inventory(w, j);
		break;
	}
}

/* @j back to the loop; the eventfd only if nobody told the loop yet. */
static void job_done(struct worker *w, struct job *j)
{
	struct bankd *bd = w->bd;
	uint64_t one = 1;

	push(&w->done, j);
	if (atomic_exchange(&bd->done_told, true))
		return;
	if (write(bd->done_fd, &one, sizeof(one)) < 0)
		LOGP(DBANKDW, LOG_ERROR, w->name, "eventfd: %s", strerror(errno));
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct job *jobs, *j;

	while ((jobs = wait_jobs(w))) {
		while ((j = jobs)) {
			jobs = j->next;
			/* what was not started when told to quit is dropped */
			if (atomic_load(&w->quit)) {
				free(j);
				continue;
			}
			run_job(w, j);
			job_done(w, j);
		}
	}
	drop_context(w);
	return NULL;
}

/*
 * A worker's stack: its calls (PC/SC, the inventory's card reads, a log
 * line) touch 24-28 KiB of it, TLS and the thread's descriptor included
 * (measured: the stack mapping's Rss in /proc/PID/smaps after bankd_rtt).
 * 256 KiB leaves room for the sanitizer build's larger frames; glibc's
 * default (the stack rlimit, 8 MiB) was 512 MiB of address space at 64
 * slots for nothing.
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
	atomic_init(&w->sleeping, 0);
	atomic_init(&w->quit, false);
	ret = pthread_attr_init(&attr);
	if (ret)
		return -ret;
	ret = pthread_attr_setstacksize(&attr, WORKER_STACK);
	if (!ret)
		ret = pthread_create(&w->thread, &attr, worker_main, w);
	pthread_attr_destroy(&attr);
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

void worker_stop(struct worker *w)
{
	if (!w->bd)
		return;
	/* a running call finishes first; what was not started is dropped */
	atomic_store(&w->quit, true);
	if (atomic_exchange(&w->sleeping, 0))
		futex_wake(&w->sleeping);
	pthread_join(w->thread, NULL);
	free_jobs(take_all(&w->todo));
	free_jobs(take_all(&w->done));
	free_jobs(w->ready);
	w->ready = NULL;
}

/* The loop's: one futex call, and only when the worker sleeps. */
void worker_submit(struct worker *w, struct job *j)
{
	push(&w->todo, j);
	if (atomic_exchange(&w->sleeping, 0))
		futex_wake(&w->sleeping);
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
