// SPDX-License-Identifier: GPL-2.0
/*
 * The /dev/remsimN frontend of a client slot: command APDUs from the
 * kernel (which ran the T=0 exchange with the modem) go to the card as
 * TPDUs, responses go back with the APDU's sequence number, modem line
 * changes become clientSlotStatusInd, and entering or leaving OPERATIONAL
 * drives the board (remote SIM, card insert, modem reset).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/remsim_dev.h>

#include "kslot.h"
#include "lines.h"
#include "remsim/log.h"

/* What the modem hears when its command cannot reach the card: retry. */
#define SW_RETRY	0x6f00

struct kslot {
	struct ev_loop *loop;
	struct rc_slot *rc;
	uint32_t index;
	int fd;
	struct ev_io io;
	uint64_t features;
	uint64_t pending_seq;		/* the APDU whose answer is out */
	bool pending;
	unsigned long answered_retry;
	uint32_t state;			/* REMSIM_SIG_* last reported */
	bool have_state;
	bool gone;			/* ENODEV seen: unplugged */
	uint8_t msg[REMSIM_MSG_MAX];
};

/*
 * ENODEV: the board was unplugged and the slot is going (its netlink del
 * frees it). That is no error: said once, at info, and the board is not
 * driven any more. Anything else is an error.
 */
static void slot_call_failed(struct kslot *k, const char *what)
{
	if (errno != ENODEV) {
		LOGP(DMAIN, LOG_ERROR, rc_slot_name(k->rc), "%s: %s", what, strerror(errno));
		return;
	}
	if (!k->gone)
		LOGP(DMAIN, LOG_INFO, rc_slot_name(k->rc), "slot %u gone (unplugged or removed)",
		     k->index);
	k->gone = true;
}

static void respond(struct kslot *k, uint64_t seq, const uint8_t *data, size_t len)
{
	uint8_t buf[sizeof(struct remsim_msg_hdr) + 300];
	struct remsim_msg_hdr *h = (struct remsim_msg_hdr *)buf;

	if (len > 300)
		return;
	memset(h, 0, sizeof(*h));
	h->type = REMSIM_MSG_RESPONSE;
	h->len = len;
	h->seq = seq;
	memcpy(buf + sizeof(*h), data, len);
	if (k->gone)
		return;
	/* ESTALE: the modem gave up on it (reset); nothing to do */
	if (write(k->fd, buf, sizeof(*h) + len) < 0 && errno != ESTALE)
		slot_call_failed(k, "writing a response");
}

static void respond_sw(struct kslot *k, uint64_t seq, uint16_t sw)
{
	uint8_t b[2] = { sw >> 8, sw & 0xff };

	k->answered_retry++;
	rc_slot_note_6f00(k->rc);
	respond(k, seq, b, 2);
}

static void on_atr(struct rc_slot *s, const uint8_t *atr, size_t len)
{
	struct kslot *k = rc_slot_data(s);
	struct remsim_atr a;

	if (k->gone)
		return;
	memset(&a, 0, sizeof(a));
	if (len > sizeof(a.atr))
		len = sizeof(a.atr);
	a.len = len;
	memcpy(a.atr, atr, len);
	if (ioctl(k->fd, REMSIM_IOC_SET_ATR, &a))
		slot_call_failed(k, "SET_ATR");
}

static void on_response(struct rc_slot *s, const uint8_t *data, size_t len)
{
	struct kslot *k = rc_slot_data(s);

	if (!k->pending)
		return;
	k->pending = false;
	respond(k, k->pending_seq, data, len);
}

static void on_lost(struct rc_slot *s, const char *why)
{
	struct kslot *k = rc_slot_data(s);

	if (!k->pending)
		return;
	k->pending = false;
	respond_sw(k, k->pending_seq, SW_RETRY);
}

static void on_operational(struct rc_slot *s, bool on)
{
	struct kslot *k = rc_slot_data(s);
	struct remsim_sim_select sel = { .remote = on };
	struct remsim_card card = { .inserted = on };
	struct remsim_modem_reset mr = {
		.action = REMSIM_MODEM_RESET_PULSE, .pulse_ms = 300,
	};

	if (k->gone)
		return;
	if ((k->features & REMSIM_FEAT_SIM_SELECT) && ioctl(k->fd, REMSIM_IOC_SIM_SELECT, &sel))
		slot_call_failed(k, "SIM_SELECT");
	if (!k->gone && ioctl(k->fd, REMSIM_IOC_CARD_INSERT, &card))
		slot_call_failed(k, "CARD_INSERT");
	if (!k->gone && (k->features & REMSIM_FEAT_MODEM_RESET) &&
	    ioctl(k->fd, REMSIM_IOC_MODEM_RESET, &mr))
		slot_call_failed(k, "MODEM_RESET");
}

static const struct rc_frontend_ops kslot_ops = {
	.set_atr = on_atr,
	.card2modem = on_response,
	.tpdu_lost = on_lost,
	.operational = on_operational,
};

static void on_apdu(struct kslot *k, const struct remsim_msg_hdr *h)
{
	const struct remsim_apdu *a = (const void *)(h + 1);
	size_t len = 5 + a->lc;
	int ret;

	if (h->len < sizeof(*a) + len) {
		respond_sw(k, h->seq, SW_RETRY);
		return;
	}
	if (k->pending) {
		/* the kernel aborted the old one (modem reset): forget it */
		k->pending = false;
	}
	ret = rc_slot_tpdu(k->rc, a->tpdu, len);
	if (ret) {
		LOGP(DMAIN, LOG_NOTICE, rc_slot_name(k->rc), "APDU not sent: %s", strerror(-ret));
		respond_sw(k, h->seq, SW_RETRY);
		return;
	}
	k->pending = true;
	k->pending_seq = h->seq;
}

static void on_error(struct kslot *k, const struct remsim_msg_hdr *h)
{
	const struct remsim_error *e = (const void *)(h + 1);

	LOGP(DMAIN, LOG_NOTICE, rc_slot_name(k->rc), "slot reports an exchange error");
	if (h->len < sizeof(*e) || !k->pending || e->ref_seq != k->pending_seq)
		return;
	/*
	 * The modem gave up on the APDU out (reset, timeout): its answer finds
	 * nobody waiting; one held for the bankd's return is not sent at all.
	 */
	k->pending = false;
	rc_slot_abort_held(k->rc);
}

static void report_lines(struct kslot *k, uint32_t state)
{
	struct rspro_slot_phys phys = {
		.reset_active = !!(state & REMSIM_SIG_RST),
		.vcc_present = !!(state & REMSIM_SIG_VCC),
		.clk_active = !!(state & REMSIM_SIG_CLK),
		.card_present = RSPRO_UNKNOWN,
	};

	rc_slot_modem_status(k->rc, &phys);
}

static void on_signals(struct kslot *k, const struct remsim_signals *sig)
{
	/*
	 * Changes we did not read in time come merged: a line marked changed
	 * but back where it was pulsed. The bankd resets its card on the
	 * edges it sees, so it gets the pulse first.
	 */
	uint32_t pulsed = lines_pulsed(k->state, k->have_state, sig->state, sig->changed);

	if (pulsed)
		report_lines(k, sig->state ^ pulsed);
	report_lines(k, sig->state);
	k->state = sig->state;
	k->have_state = true;
}

static void on_readable(struct ev_io *io, uint32_t revents)
{
	struct kslot *k = io->data;
	int i;

	for (i = 0; i < 16; i++) {
		const struct remsim_msg_hdr *h = (const void *)k->msg;
		ssize_t n = read(k->fd, k->msg, sizeof(k->msg));

		if (n < 0) {
			if (errno == EAGAIN)
				return;
			/* ENODEV: the slot is gone; the netlink event frees it */
			slot_call_failed(k, "read");
			ev_io_stop(&k->io);
			return;
		}
		if ((size_t)n < sizeof(*h))
			continue;
		switch (h->type) {
		case REMSIM_MSG_APDU:
			on_apdu(k, h);
			break;
		case REMSIM_MSG_SIGNALS:
			on_signals(k, (const void *)(h + 1));
			break;
		case REMSIM_MSG_ERROR:
			on_error(k, h);
			break;
		default:
			break;
		}
	}
}

struct kslot *kslot_open(struct ev_loop *loop, uint32_t index, const struct rc_cfg *cfg,
			 char *err, size_t errlen)
{
	struct kslot *k = calloc(1, sizeof(*k));
	struct remsim_info info;
	char path[32];

	if (!k)
		return NULL;
	k->loop = loop;
	k->index = index;
	snprintf(path, sizeof(path), "/dev/remsim%u", index);
	k->fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (k->fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(k);
		return NULL;
	}
	memset(&info, 0, sizeof(info));
	if (!ioctl(k->fd, REMSIM_IOC_GET_INFO, &info))
		k->features = info.features;
	k->rc = rc_slot_new(loop, cfg, &kslot_ops, k);
	if (!k->rc || ev_io_start(loop, &k->io, k->fd, EPOLLIN | EPOLLPRI, on_readable, k)) {
		snprintf(err, errlen, "%s: out of resources", path);
		rc_slot_free(k->rc);
		close(k->fd);
		free(k);
		return NULL;
	}
	return k;
}

void kslot_start(struct kslot *k)
{
	rc_slot_start(k->rc);
}

void kslot_static_bank(struct kslot *k, struct rspro_bank_slot bank,
		       const struct rspro_ip_port *bankd)
{
	rc_slot_static_bank(k->rc, bank, bankd);
}

void kslot_close(struct kslot *k)
{
	if (!k)
		return;
	ev_io_stop(&k->io);
	rc_slot_free(k->rc);
	close(k->fd);
	free(k);
}

struct rc_slot *kslot_rc(const struct kslot *k)
{
	return k->rc;
}
