// SPDX-License-Identifier: GPL-2.0
/*
 * pcscd's readers, watched rather than polled: a thread of its own waits in
 * SCardGetStatusChange on the "\\?PnP?\Notification" pseudo reader (a
 * reader came or went, pcscd listed its readers after a restart) and on
 * every listed reader (a card in or out). A change wakes the event loop
 * through an eventfd, and the loop opens at once the cards its clients
 * wait for (clients_cards_changed()) instead of at their next
 * CARD_RETRY_MS attempt. While pcscd is away the thread asks for a context
 * every WATCH_RETRY_MS: its return is seen within that, not after a
 * back-off. Each wait is bounded (WATCH_WAIT_MS), so that bankd stops
 * promptly.
 */
#include <errno.h>
#include <PCSC/winscard.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "bankd.h"
#include "remsim/log.h"

#define PNP_READER	"\\\\?PnP?\\Notification"

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static bool lost(LONG rv)
{
	return rv == SCARD_E_NO_SERVICE || rv == SCARD_E_SERVICE_STOPPED ||
	       rv == SCARD_E_INVALID_HANDLE || rv == SCARD_F_COMM_ERROR;
}

/* The loop's eventfd: one write per change is enough, the loop looks at all. */
static void nudge(struct pcsc_watch *pw)
{
	uint64_t one = 1;

	if (write(pw->fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		LOGP(DBANKDW, LOG_ERROR, "pcsc", "eventfd: %s", strerror(errno));
}

/*
 * The readers pcscd lists now, after the pseudo reader in pw->rs[0]: 0,
 * or the PC/SC error. More than WATCH_READERS_MAX: the rest are left to
 * the clients' own retries, said once.
 */
static LONG list_readers(struct pcsc_watch *pw, SCARDCONTEXT ctx)
{
	char *names = NULL, *r;
	DWORD len = SCARD_AUTOALLOCATE;
	unsigned int n = 1;
	LONG rv;

	rv = SCardListReaders(ctx, NULL, (LPSTR)&names, &len);
	if (rv == SCARD_E_NO_READERS_AVAILABLE) {
		pw->nrs = 1;
		return SCARD_S_SUCCESS;
	}
	if (rv != SCARD_S_SUCCESS)
		return rv;
	for (r = names; *r; r += strlen(r) + 1) {
		if (n == WATCH_READERS_MAX + 1) {
			if (!pw->too_many_logged)
				LOGP(DBANKDW, LOG_NOTICE, "pcsc",
				     "more than %u readers: the others' cards are found by retries every %d ms",
				     WATCH_READERS_MAX, CARD_RETRY_MS);
			pw->too_many_logged = true;
			break;
		}
		snprintf(pw->names[n], sizeof(pw->names[n]), "%s", r);
		pw->rs[n].szReader = pw->names[n];
		pw->rs[n].dwCurrentState = SCARD_STATE_UNAWARE;
		n++;
	}
	SCardFreeMemory(ctx, names);
	pw->nrs = n;
	/* the readers' states now, so that only what changes after wakes us */
	rv = SCardGetStatusChange(ctx, 0, pw->rs + 1, n - 1);
	if (rv == SCARD_E_TIMEOUT)
		rv = SCARD_S_SUCCESS;
	for (unsigned int i = 1; i < n; i++)
		pw->rs[i].dwCurrentState = pw->rs[i].dwEventState & ~SCARD_STATE_CHANGED;
	return rv;
}

/*
 * A card came or went: the presence bit or pcsc-lite's insertion count (the
 * high 16 bits). A session taking or leaving the card (INUSE, EXCLUSIVE)
 * is no news for clients waiting for one.
 */
static bool card_news(DWORD from, DWORD to)
{
	return ((from ^ to) & SCARD_STATE_PRESENT) || ((from ^ to) & 0xffff0000);
}

/* One bounded wait: 0, or the PC/SC error. */
static LONG wait_change(struct pcsc_watch *pw, SCARDCONTEXT ctx)
{
	bool news = false;
	LONG rv;

	rv = SCardGetStatusChange(ctx, WATCH_WAIT_MS, pw->rs, pw->nrs);
	if (rv == SCARD_E_TIMEOUT)
		return SCARD_S_SUCCESS;
	if (rv == SCARD_E_UNKNOWN_READER) {
		/* one of ours went before we saw the pseudo reader say so */
		pw->stale = true;
		return SCARD_S_SUCCESS;
	}
	if (rv != SCARD_S_SUCCESS)
		return rv;
	if (pw->rs[0].dwEventState & SCARD_STATE_CHANGED)
		pw->stale = true;
	pw->rs[0].dwCurrentState = pw->rs[0].dwEventState & ~SCARD_STATE_CHANGED;
	for (unsigned int i = 1; i < pw->nrs; i++) {
		DWORD to = pw->rs[i].dwEventState & ~SCARD_STATE_CHANGED;

		news |= card_news(pw->rs[i].dwCurrentState, to);
		pw->rs[i].dwCurrentState = to;
	}
	if (news)
		nudge(pw);
	return SCARD_S_SUCCESS;
}

/* A context, fast while pcscd is away: true once there is one. */
static bool connect_pcscd(struct pcsc_watch *pw, SCARDCONTEXT *ctx)
{
	LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, ctx);

	if (rv == SCARD_S_SUCCESS) {
		if (pw->down_logged)
			LOGP(DBANKDW, LOG_NOTICE, "pcsc", "pcscd is back: opening the cards waited for");
		pw->down_logged = false;
		return true;
	}
	if (!pw->down_logged)
		LOGP(DBANKDW, LOG_ERROR, "pcsc", "no PC/SC context (%s): asking every %d ms",
		     pcsc_stringify_error(rv), WATCH_RETRY_MS);
	pw->down_logged = true;
	sleep_ms(WATCH_RETRY_MS);
	return false;
}

static void *watch_main(void *arg)
{
	struct pcsc_watch *pw = arg;
	SCARDCONTEXT ctx = 0;
	LONG rv;

	pw->rs[0].szReader = PNP_READER;
	while (!atomic_load(&pw->quit)) {
		if (!ctx) {
			if (!connect_pcscd(pw, &ctx))
				continue;
			pw->rs[0].dwCurrentState = SCARD_STATE_UNAWARE;
			pw->stale = true;
		}
		if (pw->stale) {
			pw->stale = false;
			rv = list_readers(pw, ctx);
			/* pcscd back, or a reader came or went: worth a try now */
			nudge(pw);
		} else {
			rv = wait_change(pw, ctx);
		}
		if (rv == SCARD_S_SUCCESS) {
			pw->error_logged = false;
			continue;
		}
		if (lost(rv)) {
			SCardReleaseContext(ctx);
			ctx = 0;
			continue;
		}
		/* anything else: said once, and no spinning on it */
		if (!pw->error_logged)
			LOGP(DBANKDW, LOG_ERROR, "pcsc", "watching the readers: %s",
			     pcsc_stringify_error(rv));
		pw->error_logged = true;
		pw->stale = true;
		sleep_ms(WATCH_RETRY_MS);
	}
	if (ctx)
		SCardReleaseContext(ctx);
	return NULL;
}

int pcsc_watch_start(struct pcsc_watch *pw, int fd)
{
	memset(pw, 0, sizeof(*pw));
	pw->fd = fd;
	atomic_init(&pw->quit, false);
	pw->started = !pthread_create(&pw->thread, NULL, watch_main, pw);
	return pw->started ? 0 : -EAGAIN;
}

void pcsc_watch_stop(struct pcsc_watch *pw)
{
	if (!pw->started)
		return;
	/* within WATCH_WAIT_MS or WATCH_RETRY_MS */
	atomic_store(&pw->quit, true);
	pthread_join(pw->thread, NULL);
	pw->started = false;
}
