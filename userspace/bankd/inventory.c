// SPDX-License-Identifier: GPL-2.0
/*
 * The card inventory: what is in each bank slot's reader (present or not,
 * ICCID, IMSI if readable without PIN), reported to a server that said it
 * keeps it (RSPRO_EXT_CARDS, Documentation/rspro.rst).
 *
 * The event loop asks each idle slot's worker every inventory-interval ms.
 * Reading the card means SELECTs, which move the card's current file: a
 * client session would find its file selection changed under it. So the
 * worker reads only while no session has the card open (w->card == 0, the
 * worker's own state, checked on the worker thread where nothing else can
 * change it); a session that opens the card afterwards starts with a card
 * the inventory read left unpowered, as a fresh session always does. A card
 * taken out or swapped while a session runs is read once that session is
 * over.
 */
#include <PCSC/winscard.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bankd.h"
#include "remsim/log.h"

/* Nibble-swapped BCD to digits, up to the first F nibble. */
static void bcd_digits(char *out, size_t size, const uint8_t *b, size_t len)
{
	size_t n = 0, i;

	for (i = 0; i < len * 2 && n + 1 < size; i++) {
		uint8_t d = i & 1 ? b[i / 2] >> 4 : b[i / 2] & 0xf;

		if (d > 9)
			break;
		out[n++] = '0' + d;
	}
	out[n] = 0;
}

/* One APDU; the answer without its status word, or -1 unless it ends as @sw1. */
static long apdu(struct worker *w, const uint8_t *cmd, size_t len, uint8_t sw1, uint8_t *resp,
		 size_t size)
{
	uint8_t buf[258];
	DWORD rlen = sizeof(buf);
	SCARD_IO_REQUEST recv_pci;

	if (SCardTransmit(w->card, SCARD_PCI_T0, cmd, len, &recv_pci, buf, &rlen) !=
	    SCARD_S_SUCCESS || rlen < 2 || buf[rlen - 2] != sw1 || rlen - 2 > size)
		return -1;
	memcpy(resp, buf, rlen - 2);
	return rlen - 2;
}

/* SELECT by file id, GSM class: 9Fxx says the file is there. */
static bool select_fid(struct worker *w, uint16_t fid)
{
	uint8_t cmd[] = { 0xa0, 0xa4, 0x00, 0x00, 0x02, fid >> 8, fid & 0xff };
	uint8_t dummy[1];

	return apdu(w, cmd, sizeof(cmd), 0x9f, dummy, 0) == 0;
}

static long read_binary(struct worker *w, uint8_t len, uint8_t *out)
{
	uint8_t cmd[] = { 0xa0, 0xb0, 0x00, 0x00, len };

	return apdu(w, cmd, sizeof(cmd), 0x90, out, len);
}

/*
 * EF_ICCID (2FE2 under the MF) is always readable; EF_IMSI (6F07 under
 * DF_GSM) only with PIN1 disabled or verified: with PIN1 on we report no
 * IMSI rather than try a PIN.
 */
static void read_ids(struct worker *w)
{
	uint8_t b[16];
	long n;

	if (select_fid(w, 0x3f00) && select_fid(w, 0x2fe2)) {
		n = read_binary(w, 10, b);
		if (n == 10)
			bcd_digits(w->inv_iccid, sizeof(w->inv_iccid), b, 10);
	}
	if (select_fid(w, 0x3f00) && select_fid(w, 0x7f20) && select_fid(w, 0x6f07)) {
		n = read_binary(w, 9, b);
		/* length, then the first digit in the high nibble of b[1] */
		if (n == 9 && b[0] >= 1 && b[0] <= 8) {
			char d[2 * 8 + 1];

			/* the low nibble of b[1] is the parity, not a digit */
			bcd_digits(d, sizeof(d), b + 1, b[0]);
			snprintf(w->inv_imsi, sizeof(w->inv_imsi), "%s", d[0] ? d + 1 : "");
		}
	}
}

static void fill_ids(struct worker *w, struct job *j)
{
	snprintf(j->iccid, sizeof(j->iccid), "%s", w->inv_iccid);
	snprintf(j->imsi, sizeof(j->imsi), "%s", w->inv_imsi);
}

/* The worker's: the reader of this slot, and whether a card is in it. */
void worker_inventory(struct worker *w, struct job *j)
{
	SCARD_READERSTATE rs = { 0 };
	SCARDHANDLE card;
	DWORD proto, state;
	LONG rv;

	j->rv = SCARD_S_SUCCESS;
	if (worker_find_reader(w, j))
		return;
	/* RSPRO carries 128 characters of it: a longer name is cut */
	snprintf(j->reader, sizeof(j->reader), "%.*s", RSPRO_READER_MAX, w->reader);
	rs.szReader = w->reader;
	rs.dwCurrentState = SCARD_STATE_UNAWARE;
	rv = SCardGetStatusChange(w->ctx, 0, &rs, 1);
	if (rv != SCARD_S_SUCCESS) {
		j->rv = rv;
		snprintf(j->why, sizeof(j->why), "reader state: %s", pcsc_stringify_error(rv));
		return;
	}
	j->present = (rs.dwEventState & SCARD_STATE_PRESENT) &&
		     !(rs.dwEventState & SCARD_STATE_MUTE);
	/*
	 * pcsc-lite counts insertions in the high 16 bits: the same count and
	 * presence as at the last read is the same card, read already.
	 */
	state = rs.dwEventState & (0xffff0000 | SCARD_STATE_PRESENT | SCARD_STATE_MUTE);
	if (w->card) {
		/*
		 * A client session has the card: its files are not ours to
		 * select. The ids read before are still right if it is the
		 * card read then; else they are unknown until the session ends.
		 */
		j->inv_busy = true;
		j->present = true;
		if (w->inv_read && state == w->inv_state)
			fill_ids(w, j);
		return;
	}
	if (!j->present || (w->inv_read && state == w->inv_state && !j->inv_force)) {
		if (!j->present)
			w->inv_read = false;
		fill_ids(w, j);
		return;
	}
	w->inv_read = false;
	w->inv_iccid[0] = w->inv_imsi[0] = 0;
	rv = SCardConnect(w->ctx, w->reader, w->bd->cfg.shared ? SCARD_SHARE_SHARED :
			  SCARD_SHARE_EXCLUSIVE, SCARD_PROTOCOL_T0, &card, &proto);
	if (rv != SCARD_S_SUCCESS)
		return;	/* another program holds it, or it went: ids unknown, try again */
	w->card = card;
	read_ids(w);
	/* unpowered: the next session begins with a reset card, as always */
	SCardDisconnect(w->card, SCARD_UNPOWER_CARD);
	w->card = 0;
	w->inv_read = true;
	w->inv_state = state;
	fill_ids(w, j);
}

/* Whether the server's ConnectBankRes said it keeps the inventory. */
static bool server_keeps(struct bankd *bd)
{
	return rspro_link_state(bd->link) == RSPRO_LINK_CONNECTED &&
	       rspro_identity_has_ext(rspro_link_peer_identity(bd->link), RSPRO_EXT_CARDS);
}

/* A quantile of the card time in whole microseconds, saturated at 2^32 - 1. */
static uint32_t card_time_us(const struct metrics_hist *h, double q)
{
	double us = metrics_hist_quantile(h, q) * 1e6 + 0.5;

	return us >= UINT32_MAX ? UINT32_MAX : us <= 0 ? 0 : (uint32_t)us;
}

/*
 * Whether the APDU count (and card time) is due: it moved since the last
 * report, and the slot is idle, or busy for INVENTORY_BUSY_ROUNDS rounds.
 */
static bool count_due(struct worker *w, uint32_t apdus, bool idle)
{
	if (apdus == w->inv_sent_apdus)
		return false;
	if (idle)
		return true;
	return ++w->inv_busy_rounds >= INVENTORY_BUSY_ROUNDS;
}

/*
 * One slot to the server, in a ConnectBankReq that updates our
 * registration: when what the reader holds changed, or when the APDU count
 * is due (count_due()), with the card time's p50 and p99. A slot in a
 * session counts on every round; its count goes once the session is over
 * and every INVENTORY_BUSY_ROUNDS rounds during it, so a busy bank sends
 * no stream of reports.
 */
static void report(struct bankd *bd, struct worker *w, bool idle)
{
	struct slot_stats st;
	const struct metrics_hist *card = &st.card;
	struct rspro_pdu pdu;
	struct rspro_error err;
	uint32_t apdus;

	worker_stats_get(w, &st);
	apdus = (uint32_t)st.apdus;
	if (!w->inv_known || !server_keeps(bd) ||
	    (w->inv_sent && !count_due(w, apdus, idle)))
		return;
	rspro_connect_bank_req(&pdu, &bd->identity, bd->cfg.bank_id, bd->cfg.num_slots);
	if (bd->cfg.name[0])
		snprintf(pdu.connect_bank_req.identity.name,
			 sizeof(pdu.connect_bank_req.identity.name), "%s", bd->cfg.name);
	pdu.connect_bank_req.has_card_info = true;
	pdu.connect_bank_req.card_info = w->inv;
	pdu.connect_bank_req.card_info.has_apdus = true;
	pdu.connect_bank_req.card_info.apdus = apdus;
	if (card->count) {
		pdu.connect_bank_req.card_info.has_card_time = true;
		pdu.connect_bank_req.card_info.card_time_p50_us = card_time_us(card, 0.5);
		pdu.connect_bank_req.card_info.card_time_p99_us = card_time_us(card, 0.99);
	}
	if (rspro_link_send(bd->link, &pdu, &err)) {
		LOGP(DRSPRO, LOG_ERROR, w->name, "cannot send the card inventory: %s", err.msg);
		return;
	}
	w->inv_sent = true;
	w->inv_sent_apdus = apdus;
	w->inv_busy_rounds = 0;
}

static bool same_card(const struct rspro_card_info *a, const struct rspro_card_info *b)
{
	return a->present == b->present && !strcmp(a->reader, b->reader) &&
	       !strcmp(a->iccid, b->iccid) && !strcmp(a->imsi, b->imsi);
}

void inventory_done(struct bankd *bd, struct worker *w, struct job *j)
{
	struct rspro_card_info now = { .slot_nr = w->slot, .present = j->present };
	bool busy;

	w->inv_out = false;
	if (j->inv_busy)
		LOGP(DBANKDW, LOG_DEBUG, w->name, "inventory: a session has the card: not read");
	if (j->rv != SCARD_S_SUCCESS) {
		/* no reader or no pcscd: said once, the client side says it too */
		if (!w->inv_failing)
			LOGP(DBANKDW, LOG_INFO, w->name, "inventory: %s", j->why);
		w->inv_failing = true;
		free(j);
		return;
	}
	w->inv_failing = false;
	snprintf(now.reader, sizeof(now.reader), "%s", j->reader);
	if (j->present) {
		snprintf(now.iccid, sizeof(now.iccid), "%s", j->iccid);
		snprintf(now.imsi, sizeof(now.imsi), "%s", j->imsi);
	}
	busy = j->inv_busy;
	free(j);
	if (!w->inv_known || !same_card(&now, &w->inv)) {
		LOGP(DBANKDW, LOG_INFO, w->name, "%s: %s%s%s%s%s", now.reader,
		     now.present ? "card" : "no card", now.iccid[0] ? ", ICCID " : "", now.iccid,
		     now.imsi[0] ? ", IMSI " : "", now.imsi);
		w->inv = now;
		w->inv_known = true;
		w->inv_sent = false;
	}
	report(bd, w, !busy);
}

/* One inventory job to each slot that has none out. */
static void round_all(struct bankd *bd, bool force)
{
	unsigned int i;
	struct job *j;

	for (i = 0; i < bd->cfg.num_slots; i++) {
		struct worker *w = &bd->workers[i];

		/*
		 * One job out per slot. A slot in a session gets it too: the
		 * worker, which runs the session's jobs one at a time, sees the
		 * card open and leaves it alone.
		 */
		if (w->inv_out)
			continue;
		j = job_new(JOB_INVENTORY, 0);
		if (!j)
			break;
		j->inv_force = force;
		w->inv_out = true;
		worker_submit(w, j);
	}
}

static void inventory_timer(struct ev_timer *t)
{
	struct bankd *bd = t->data;

	round_all(bd, false);
	ev_timer_start(bd->loop, t, bd->cfg.inventory_ms);
}

void inventory_rescan(struct bankd *bd)
{
	if (bd->cfg.inventory_ms)
		round_all(bd, true);
}

void inventory_start(struct bankd *bd)
{
	if (!bd->cfg.inventory_ms)
		return;
	ev_timer_init(&bd->inv_timer, inventory_timer, bd);
	ev_timer_start(bd->loop, &bd->inv_timer, 0);
}

void inventory_stop(struct bankd *bd)
{
	if (bd->cfg.inventory_ms)
		ev_timer_stop(&bd->inv_timer);
}

void inventory_server_up(struct bankd *bd)
{
	unsigned int i;

	for (i = 0; i < bd->cfg.num_slots; i++) {
		bd->workers[i].inv_sent = false;
		report(bd, &bd->workers[i], true);
	}
}
