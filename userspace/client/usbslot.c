// SPDX-License-Identifier: GPL-2.0
/*
 * One card-emulation interface over libusb, doing in user space what
 * remsim.ko's USB driver and slot core do: four bulk-IN transfers and the
 * interrupt transfer always submitted, every message from the board
 * checked (common/st2_proto.c), headers and data through the T=0 engine
 * (common/t0.c), whole command APDUs to the card through the client core,
 * its answers back as procedure bytes, data and status words.
 *
 * Exactly once, as with the kernel: the modem's APDU goes out once; an
 * answer that cannot come (bankd link lost, time-out, APDU refused) gives
 * the modem 6F00 so that it retries, and an answer arriving after that
 * is dropped, never applied to a later command.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/remsim_dev.h>

#include "remsim/log.h"
#include "st2_proto.h"
#include "t0.h"
#include "usbslot.h"

#define US_IN_XFERS	4	/* bulk IN kept submitted, like the kernel driver */
#define US_IN_BUF	512
#define US_INT_BUF	64
#define US_OUT_MAX	32	/* OUT messages in flight; the modem waits for each */
#define US_ERR_BURST	16	/* transfer errors in a row before giving up */
#define US_RETRY_MS	100	/* after a link error: an unplug, or try again */
#define US_OUT_TIMEOUT_MS 5000	/* a board that takes no message for this long is stuck */

/* boards with a modem reset line (PERST) */
#define US_HAS_RESET(pid)	((pid) == ST2_PID_QMOD || (pid) == ST2_PID_NGFF)

struct usbslot {
	struct ev_loop *loop;
	struct usb_cardem id;
	libusb_device_handle *h;
	int fd;
	bool claimed;
	uint8_t ep_in, ep_out, ep_int;
	struct libusb_transfer *in[US_IN_XFERS + 1];	/* the last: interrupt */
	struct libusb_transfer *out[US_OUT_MAX];
	unsigned int inflight;		/* transfers libusb still has */
	unsigned int errors;		/* in a row */
	bool parked[US_IN_XFERS + 1];	/* IN transfers waiting for the retry */
	struct ev_timer retry;
	bool dead, closing;
	void (*dead_cb)(void *arg);
	void *dead_arg;
	struct ev_timer reap;

	struct rc_slot *rc;
	struct t0 t0;
	uint32_t lines;			/* REMSIM_SIG_* last seen */
	struct ev_timer apdu_timer;
	unsigned int apdu_timeout_ms;
	struct usbslot_stats stats;
};

static unsigned int closing_count;

void usbslot_opts_default(struct usbslot_opts *o)
{
	o->config = -1;
	o->alt = 0;
	o->pres_pol = -1;
	o->apdu_timeout_ms = 60000;	/* remsim.ko's apdu_timeout */
}

static const char *who(const struct usbslot *u)
{
	return u->rc ? rc_slot_name(u->rc) : u->id.name;
}

/* An unplug (@unplugged) is what boards do: info. A board that fails is an error. */
static void went_dead(struct usbslot *u, bool unplugged, const char *why)
{
	if (u->dead || u->closing)
		return;
	u->dead = true;
	LOGP(DMAIN, unplugged ? LOG_INFO : LOG_ERROR, who(u), "USB %s: %s", u->id.name, why);
	if (u->dead_cb)
		u->dead_cb(u->dead_arg);
}

/* --- out ---------------------------------------------------------------------------- */

static void out_done(struct libusb_transfer *x)
{
	struct usbslot *u = x->user_data;
	unsigned int i;

	for (i = 0; i < US_OUT_MAX; i++)
		if (u->out[i] == x)
			u->out[i] = NULL;
	u->inflight--;
	switch (x->status) {
	case LIBUSB_TRANSFER_COMPLETED:
	case LIBUSB_TRANSFER_CANCELLED:
		break;
	case LIBUSB_TRANSFER_NO_DEVICE:
		went_dead(u, true, "unplugged");
		break;
	default:
		u->stats.usb_errors++;
		LOGP(DMAIN, LOG_ERROR, who(u), "OUT transfer: %s (a message to the board lost)",
		     libusb_error_name(x->status));
		if (x->status == LIBUSB_TRANSFER_STALL)
			libusb_clear_halt(u->h, u->ep_out);
		if (++u->errors > US_ERR_BURST)
			went_dead(u, false, "too many transfer errors");
	}
	if (u->closing && !u->inflight)
		ev_timer_start(u->loop, &u->reap, 0);
}

static int send_msg(struct usbslot *u, const uint8_t *buf, size_t len)
{
	struct libusb_transfer *x;
	uint8_t *copy;
	unsigned int i;
	int ret;

	if (u->dead || u->closing)
		return -ENODEV;
	for (i = 0; i < US_OUT_MAX && u->out[i]; i++)
		;
	if (i == US_OUT_MAX) {
		u->stats.out_dropped++;
		LOGP(DMAIN, LOG_ERROR, who(u), "the board takes no messages: one dropped");
		return -ENOBUFS;
	}
	x = libusb_alloc_transfer(0);
	copy = malloc(len);
	if (!x || !copy) {
		libusb_free_transfer(x);
		free(copy);
		return -ENOMEM;
	}
	memcpy(copy, buf, len);
	libusb_fill_bulk_transfer(x, u->h, u->ep_out, copy, len, out_done, u, US_OUT_TIMEOUT_MS);
	/* a transfer of a multiple of 64 bytes would leave the firmware waiting */
	x->flags = LIBUSB_TRANSFER_ADD_ZERO_PACKET | LIBUSB_TRANSFER_FREE_BUFFER |
		   LIBUSB_TRANSFER_FREE_TRANSFER;
	ret = libusb_submit_transfer(x);
	if (ret) {
		libusb_free_transfer(x);
		if (ret == LIBUSB_ERROR_NO_DEVICE)
			went_dead(u, true, "unplugged");
		else
			LOGP(DMAIN, LOG_ERROR, who(u), "OUT transfer: %s", libusb_strerror(ret));
		return -EIO;
	}
	u->out[i] = x;
	u->inflight++;
	return 0;
}

static void send_tx(struct usbslot *u, const struct t0_tx *tx)
{
	uint8_t buf[ST2_MSG_MAX];

	send_msg(u, buf, st2_msg_tx_data(buf, tx->flags, tx->data, tx->len));
}

/* --- the T=0 exchange ----------------------------------------------------------------- */

static void give_up(struct usbslot *u, uint32_t error);

static void deliver(struct usbslot *u)
{
	const struct t0_apdu *a = &u->t0.cur;
	int ret;

	u->stats.apdus++;
	ret = rc_slot_tpdu(u->rc, a->tpdu, T0_HDR_LEN + a->lc);
	if (ret) {
		LOGP(DMAIN, LOG_NOTICE, who(u), "APDU not sent: %s", strerror(-ret));
		give_up(u, REMSIM_ERR_ABANDONED);
		return;
	}
	if (u->apdu_timeout_ms)
		ev_timer_start(u->loop, &u->apdu_timer, u->apdu_timeout_ms);
}

static void apply(struct usbslot *u, const struct t0_result *res)
{
	if (res->actions & T0_DO_ABORT) {
		/* its answer, if it comes, finds no APDU waiting and is dropped */
		ev_timer_stop(&u->apdu_timer);
		u->stats.aborted++;
		/* one held for the bankd's return never reaches the card now */
		rc_slot_abort_held(u->rc);
		LOGP(DMAIN, LOG_INFO, who(u), "the modem reset: the APDU out is void");
	}
	if (res->error && res->error != REMSIM_ERR_ABANDONED && res->error != REMSIM_ERR_TIMEOUT)
		LOGP(DMAIN, LOG_NOTICE, who(u), "T=0 error %u (status word %04x to the modem)",
		     res->error, res->sw);
	if (res->actions & T0_DO_TX)
		send_tx(u, &res->tx);
	if (res->actions & T0_DO_DELIVER)
		deliver(u);
}

/* The modem waits for an answer that will not come: 6F00, so that it retries. */
static void give_up(struct usbslot *u, uint32_t error)
{
	struct t0_result res;

	ev_timer_stop(&u->apdu_timer);
	t0_give_up(&u->t0, error, &res);
	if (res.actions & T0_DO_TX)
	{
		u->stats.retry_answers++;
		rc_slot_note_6f00(u->rc);
	}
	apply(u, &res);
}

static void on_apdu_timeout(struct ev_timer *t)
{
	struct usbslot *u = t->data;

	u->stats.timeouts++;
	LOGP(DMAIN, LOG_ERROR, who(u), "no answer from the card in %u ms", u->apdu_timeout_ms);
	give_up(u, REMSIM_ERR_TIMEOUT);
}

/* --- what the board sends ------------------------------------------------------------- */

static void on_header(void *ctx, const uint8_t *hdr)
{
	struct usbslot *u = ctx;
	struct t0_result res;

	t0_header(&u->t0, hdr, &res);
	apply(u, &res);
}

static void on_data(void *ctx, const uint8_t *data, size_t len)
{
	struct usbslot *u = ctx;
	struct t0_result res;

	if (len > T0_LC_MAX) {
		u->stats.board_errors++;
		return;
	}
	t0_data(&u->t0, data, len, &res);
	apply(u, &res);
}

static void on_status(void *ctx, const struct remsim_signals *sig)
{
	struct usbslot *u = ctx;
	uint32_t lines = sig->state;
	struct rspro_slot_phys phys = {
		.reset_active = !!(lines & REMSIM_SIG_RST),
		.vcc_present = !!(lines & REMSIM_SIG_VCC),
		.clk_active = !!(lines & REMSIM_SIG_CLK),
		.card_present = RSPRO_UNKNOWN,
	};
	uint32_t before = u->lines;

	/* edges only: repeated RESET indications made banks reset again and again */
	if (lines == before)
		return;
	u->lines = lines;
	if (t0_lines_reset(before, lines)) {
		struct t0_result res;

		t0_reset(&u->t0, &res);
		apply(u, &res);
	}
	rc_slot_modem_status(u->rc, &phys);
}

static void on_pts(void *ctx, const struct remsim_pps *pps)
{
	struct usbslot *u = ctx;

	LOGP(DMAIN, LOG_DEBUG, who(u), "the modem negotiated PPS %02x %02x",
	     pps->resp[0], pps->resp[1]);
}

/* Garbage ends the transfer; it is counted, logged once (and when debugging). */
static void on_invalid(void *ctx, const uint8_t *rest, size_t len)
{
	struct usbslot *u = ctx;

	if (!u->stats.board_errors++ || log_enabled(DMAIN, LOG_DEBUG))
		LOGP(DMAIN, LOG_ERROR, who(u),
		     "invalid message from the board (%zu bytes); counted", len);
}

/* The board's messages, as the kernel driver takes them (common/st2_proto.c). */
static const struct st2_device_ops board_ops = {
	.rx_header = on_header,
	.rx_data = on_data,
	.status = on_status,
	.pts = on_pts,
	.invalid = on_invalid,
};

static void in_submit(struct usbslot *u, unsigned int i)
{
	int ret;

	if (u->closing || u->dead)
		return;
	ret = libusb_submit_transfer(u->in[i]);
	if (!ret)
		u->inflight++;
	else
		went_dead(u, ret == LIBUSB_ERROR_NO_DEVICE,
			  ret == LIBUSB_ERROR_NO_DEVICE ? "unplugged" : libusb_strerror(ret));
}

static void in_done(struct libusb_transfer *x)
{
	struct usbslot *u = x->user_data;
	unsigned int i;

	for (i = 0; i < US_IN_XFERS && u->in[i] != x; i++)
		;
	u->inflight--;
	switch (x->status) {
	case LIBUSB_TRANSFER_COMPLETED:
		u->errors = 0;
		if (!u->closing && !u->dead)
			st2_dispatch(x->buffer, x->actual_length, &board_ops, u);
		break;
	case LIBUSB_TRANSFER_CANCELLED:
		break;
	case LIBUSB_TRANSFER_NO_DEVICE:
		went_dead(u, true, "unplugged");
		break;
	case LIBUSB_TRANSFER_STALL:
		u->stats.usb_errors++;
		libusb_clear_halt(u->h, x->endpoint);
		break;
	default:
		/* usbfs says this when the board goes: look again in a moment */
		u->stats.usb_errors++;
		if (++u->errors > US_ERR_BURST) {
			went_dead(u, false, "transfers keep failing");
			break;
		}
		if (u->closing || u->dead)
			break;
		u->parked[i] = true;
		if (!ev_timer_pending(&u->retry))
			ev_timer_start(u->loop, &u->retry, US_RETRY_MS);
		return;
	}
	in_submit(u, i);
	if (u->closing && !u->inflight)
		ev_timer_start(u->loop, &u->reap, 0);
}

static void on_retry(struct ev_timer *t)
{
	struct usbslot *u = t->data;
	unsigned int i;

	for (i = 0; i <= US_IN_XFERS; i++) {
		if (u->parked[i]) {
			u->parked[i] = false;
			in_submit(u, i);
		}
	}
}

/* --- the client core's requests ---------------------------------------------------------- */

static void on_atr(struct rc_slot *s, const uint8_t *atr, size_t len)
{
	struct usbslot *u = rc_slot_data(s);
	uint8_t buf[ST2_MSG_MAX];
	size_t n = st2_msg_set_atr(buf, atr, len);

	if (!n) {		/* the firmware would ignore it */
		LOGP(DMAIN, LOG_ERROR, who(u), "an ATR of %zu bytes, more than ISO 7816-3 allows: "
		     "not sent to the board", len);
		return;
	}
	send_msg(u, buf, n);
}

static void on_response(struct rc_slot *s, const uint8_t *data, size_t len)
{
	struct usbslot *u = rc_slot_data(s);
	struct t0_result res;
	int ret;

	ev_timer_stop(&u->apdu_timer);
	ret = t0_response(&u->t0, data, len, &res);
	if (ret == -ESTALE) {
		LOGP(DMAIN, LOG_INFO, who(u), "an answer to a void APDU: dropped");
		return;
	}
	if (ret) {
		LOGP(DMAIN, LOG_ERROR, who(u), "the card's answer (%zu bytes) is not one", len);
		give_up(u, REMSIM_ERR_ABANDONED);
		return;
	}
	apply(u, &res);
}

static void on_lost(struct rc_slot *s, const char *why)
{
	give_up(rc_slot_data(s), REMSIM_ERR_ABANDONED);
}

static void on_operational(struct rc_slot *s, bool on)
{
	struct usbslot *u = rc_slot_data(s);
	uint8_t buf[ST2_MSG_MAX];

	send_msg(u, buf, st2_msg_sim_select(buf, on));
	send_msg(u, buf, st2_msg_card_insert(buf, on));
	if (!US_HAS_RESET(u->id.pid))
		return;
	/* a 300 ms pulse: the modem starts over with the new card */
	send_msg(u, buf, st2_msg_modem_reset(buf, REMSIM_MODEM_RESET_PULSE, 300));
}

static const struct rc_frontend_ops usbslot_ops = {
	.set_atr = on_atr,
	.card2modem = on_response,
	.tpdu_lost = on_lost,
	.operational = on_operational,
};

/* --- open and close ------------------------------------------------------------------ */

static int find_endpoints(struct usbslot *u, int alt, char *err, size_t errlen)
{
	const struct libusb_interface_descriptor *d = NULL;
	struct libusb_config_descriptor *cfg;
	int i, ret;

	ret = libusb_get_active_config_descriptor(libusb_get_device(u->h), &cfg);
	if (ret) {
		snprintf(err, errlen, "configuration descriptor: %s", libusb_strerror(ret));
		return -EIO;
	}
	for (i = 0; i < cfg->bNumInterfaces; i++) {
		const struct libusb_interface *itf = &cfg->interface[i];

		if (alt < itf->num_altsetting &&
		    itf->altsetting[alt].bInterfaceNumber == u->id.ifnum)
			d = &itf->altsetting[alt];
	}
	for (i = 0; d && i < d->bNumEndpoints; i++) {
		const struct libusb_endpoint_descriptor *ep = &d->endpoint[i];
		int type = ep->bmAttributes & 3;

		if (type == LIBUSB_TRANSFER_TYPE_INTERRUPT && (ep->bEndpointAddress & 0x80))
			u->ep_int = ep->bEndpointAddress;
		else if (type == LIBUSB_TRANSFER_TYPE_BULK && (ep->bEndpointAddress & 0x80))
			u->ep_in = ep->bEndpointAddress;
		else if (type == LIBUSB_TRANSFER_TYPE_BULK)
			u->ep_out = ep->bEndpointAddress;
	}
	libusb_free_config_descriptor(cfg);
	if (!d) {
		snprintf(err, errlen, "no interface %u altsetting %d", u->id.ifnum, alt);
		return -ENODEV;
	}
	if (!u->ep_in || !u->ep_out || !u->ep_int) {
		snprintf(err, errlen, "no bulk IN, bulk OUT and interrupt IN endpoints");
		return -ENODEV;
	}
	return 0;
}

static int submit_in(struct usbslot *u, char *err, size_t errlen)
{
	unsigned int i;

	for (i = 0; i <= US_IN_XFERS; i++) {
		bool irq = i == US_IN_XFERS;
		size_t size = irq ? US_INT_BUF : US_IN_BUF;
		struct libusb_transfer *x = libusb_alloc_transfer(0);
		uint8_t *buf = malloc(size);
		int ret;

		if (!x || !buf) {
			libusb_free_transfer(x);
			free(buf);
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		if (irq)
			libusb_fill_interrupt_transfer(x, u->h, u->ep_int, buf, size, in_done, u, 0);
		else
			libusb_fill_bulk_transfer(x, u->h, u->ep_in, buf, size, in_done, u, 0);
		x->flags = LIBUSB_TRANSFER_FREE_BUFFER;
		u->in[i] = x;
		ret = libusb_submit_transfer(x);
		if (ret) {
			snprintf(err, errlen, "IN transfer: %s", libusb_strerror(ret));
			return -EIO;
		}
		u->inflight++;
	}
	return 0;
}

static void finish(struct usbslot *u)
{
	unsigned int i;

	for (i = 0; i <= US_IN_XFERS; i++)
		libusb_free_transfer(u->in[i]);
	if (u->claimed)
		libusb_release_interface(u->h, u->id.ifnum);
	if (u->h)
		libusb_close(u->h);
	if (u->fd >= 0)
		close(u->fd);
	ev_timer_stop(&u->reap);
	ev_timer_stop(&u->retry);
	free(u);
}

static void on_reap(struct ev_timer *t)
{
	struct usbslot *u = t->data;

	closing_count--;
	finish(u);
}

struct usbslot *usbslot_open(struct usbhost *host, struct ev_loop *loop,
			     const struct usb_cardem *c, const struct usbslot_opts *o,
			     const struct rc_cfg *cfg, void (*dead)(void *arg), void *arg,
			     char *err, size_t errlen)
{
	struct usbslot *u = calloc(1, sizeof(*u));
	uint8_t conf[ST2_HDR_LEN + ST2_CONFIG_LEN];
	uint8_t pres_pol = 0;		/* the board's own */
	int ret;

	if (!u) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	u->loop = loop;
	u->id = *c;
	u->fd = -1;
	u->dead_cb = dead;
	u->dead_arg = arg;
	u->apdu_timeout_ms = o->apdu_timeout_ms;
	ev_timer_init(&u->reap, on_reap, u);
	ev_timer_init(&u->apdu_timer, on_apdu_timeout, u);
	ev_timer_init(&u->retry, on_retry, u);
	t0_init(&u->t0);
	if (c->driver[0]) {
		snprintf(err, errlen, "bound to the kernel driver %s%s", c->driver,
			 strcmp(c->driver, "remsim") ? "" : " (remsim.ko serves it)");
		goto fail;
	}
	u->h = usbhost_open(host, c->busnum, c->devnum, &u->fd, err, errlen);
	if (!u->h)
		goto fail;
	/* only when asked: an unconfigured SIMtrace2 reboots its MCU */
	if (o->config > 0 && (unsigned int)o->config != c->config) {
		ret = libusb_set_configuration(u->h, o->config);
		if (ret) {
			snprintf(err, errlen, "configuration %d: %s", o->config,
				 libusb_strerror(ret));
			goto fail;
		}
	}
	ret = libusb_claim_interface(u->h, c->ifnum);
	if (ret) {
		snprintf(err, errlen, "claiming interface %u: %s", c->ifnum, libusb_strerror(ret));
		goto fail;
	}
	u->claimed = true;
	if (o->alt > 0 && (ret = libusb_set_interface_alt_setting(u->h, c->ifnum, o->alt))) {
		snprintf(err, errlen, "altsetting %d: %s", o->alt, libusb_strerror(ret));
		goto fail;
	}
	if (find_endpoints(u, o->alt, err, errlen))
		goto fail;
	u->rc = rc_slot_new(loop, cfg, &usbslot_ops, u);
	if (!u->rc) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (submit_in(u, err, errlen))
		goto fail;
	/* status changes on the interrupt endpoint; the presence polarity (-Z) */
	if (o->pres_pol >= 0)
		pres_pol = (o->pres_pol ? ST2_PRES_POL_HIGH : 0) | ST2_PRES_POL_VALID;
	if (send_msg(u, conf, st2_msg_config(conf, ST2_FEAT_STATUS_IRQ, pres_pol))) {
		snprintf(err, errlen, "cannot configure the board");
		goto fail;
	}
	return u;
fail:
	if (u->inflight) {
		/* transfers went out: they come back before the handle closes */
		usbslot_close(u);
		return NULL;
	}
	rc_slot_free(u->rc);
	finish(u);
	return NULL;
}

void usbslot_start(struct usbslot *u)
{
	rc_slot_start(u->rc);
}

void usbslot_close(struct usbslot *u)
{
	unsigned int i;

	if (!u || u->closing)
		return;
	/* no frontend call after this */
	rc_slot_free(u->rc);
	u->rc = NULL;
	ev_timer_stop(&u->apdu_timer);
	ev_timer_stop(&u->retry);
	u->closing = true;
	closing_count++;
	/* messages out (card removed, local SIM) still go; they time out at worst */
	for (i = 0; i <= US_IN_XFERS; i++)
		if (u->in[i] && !u->parked[i])
			libusb_cancel_transfer(u->in[i]);
	if (!u->inflight)
		ev_timer_start(u->loop, &u->reap, 0);
}

unsigned int usbslot_closing(void)
{
	return closing_count;
}

bool usbslot_dead(const struct usbslot *u)
{
	return u->dead;
}

struct rc_slot *usbslot_rc(const struct usbslot *u)
{
	return u->rc;
}

const struct usb_cardem *usbslot_id(const struct usbslot *u)
{
	return &u->id;
}

const struct usbslot_stats *usbslot_stats(const struct usbslot *u)
{
	return &u->stats;
}
