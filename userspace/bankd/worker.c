// SPDX-License-Identifier: GPL-2.0
/*
 * A bank slot's worker thread: every blocking PC/SC call of that slot runs
 * here, one job at a time, so a slow or wedged card holds only its own
 * slot. Jobs come from the event loop on a list; results go back on another
 * and an eventfd wakes the loop.
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

static void do_open(struct worker *w, struct job *j)
{
	const struct slot_row *row = slot_table_find(&w->bd->slots, w->bd->cfg.bank_id, w->slot);
	char *readers = NULL, *r;
	DWORD len = SCARD_AUTOALLOCATE, proto;
	LONG rv;

	drop_card(w, SCARD_UNPOWER_CARD);
	if (!row) {
		j->rv = SCARD_E_UNKNOWN_READER;
		snprintf(j->why, sizeof(j->why),
			 "no reader configured for bank slot %u:%u in %s: fix your config",
			 w->bd->cfg.bank_id, w->slot, w->bd->cfg.csv_path);
		return;
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
				return;
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
		return;
	}
	for (r = readers; *r; r += strlen(r) + 1)
		if (!regexec(&row->re, r, 0, NULL, 0))
			break;
	if (!*r) {
		j->rv = SCARD_E_UNKNOWN_READER;
		snprintf(j->why, sizeof(j->why), "no reader matches \"%s\"", row->pattern);
		SCardFreeMemory(w->ctx, readers);
		return;
	}
	snprintf(w->reader, sizeof(w->reader), "%s", r);
	SCardFreeMemory(w->ctx, readers);
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
	rv = SCardTransmit(w->card, SCARD_PCI_T0, j->data, j->len, &recv_pci, j->resp, &rlen);
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

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t one = 1;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		struct job *j;

		while (!w->todo && !w->quit)
			pthread_cond_wait(&w->cond, &w->lock);
		if (!w->todo && w->quit)
			break;
		j = w->todo;
		w->todo = j->next;
		if (!w->todo)
			w->todo_tail = &w->todo;
		pthread_mutex_unlock(&w->lock);

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
		}

		pthread_mutex_lock(&w->lock);
		j->next = NULL;
		*w->done_tail = j;
		w->done_tail = &j->next;
		if (write(w->bd->done_fd, &one, sizeof(one)) < 0)
			LOGP(DBANKDW, LOG_ERROR, w->name, "eventfd: %s", strerror(errno));
	}
	pthread_mutex_unlock(&w->lock);
	drop_context(w);
	return NULL;
}

int worker_start(struct worker *w, struct bankd *bd, uint16_t slot)
{
	w->bd = bd;
	w->slot = slot;
	snprintf(w->name, sizeof(w->name), "B%u:%u", bd->cfg.bank_id, slot);
	w->todo_tail = &w->todo;
	w->done_tail = &w->done;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	return -pthread_create(&w->thread, NULL, worker_main, w);
}

void worker_stop(struct worker *w)
{
	struct job *j;

	if (!w->bd)
		return;
	pthread_mutex_lock(&w->lock);
	w->quit = true;
	/* what was not started is dropped; a running call finishes first */
	while ((j = w->todo)) {
		w->todo = j->next;
		free(j);
	}
	w->todo_tail = &w->todo;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	while ((j = worker_take_done(w)))
		free(j);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
}

void worker_submit(struct worker *w, struct job *j)
{
	pthread_mutex_lock(&w->lock);
	j->next = NULL;
	*w->todo_tail = j;
	w->todo_tail = &j->next;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

struct job *worker_take_done(struct worker *w)
{
	struct job *j;

	pthread_mutex_lock(&w->lock);
	j = w->done;
	if (j) {
		w->done = j->next;
		if (!w->done)
			w->done_tail = &w->done;
	}
	pthread_mutex_unlock(&w->lock);
	return j;
}
