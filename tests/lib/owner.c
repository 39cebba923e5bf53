// SPDX-License-Identifier: GPL-2.0
/*
 * owner.c - see owner.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "card.h"
#include "owner.h"
#include "slotdev.h"

static void handle(struct owner *o, const struct slot_msg *msg)
{
	const struct remsim_signals *sig = (const void *)msg->payload;
	const struct remsim_apdu *apdu = (const void *)msg->payload;
	uint8_t resp[CARD_RESP_MAX];
	size_t n;
	int ret;

	switch (msg->hdr.type) {
	case REMSIM_MSG_APDU:
		n = card_command(o->card, apdu->tpdu, 5 + apdu->lc, resp);
		/* Counted first: the phone may be done the moment it has the answer. */
		o->apdus++;
		ret = slot_respond(o->fd, msg->hdr.seq, resp, n);
		/* A reset may have overtaken it: that is not an error. */
		if (ret && ret != -ESTALE && !o->error)
			o->error = ret;
		break;
	case REMSIM_MSG_SIGNALS:
		/* Reset or power-down of the phone's SIM resets the card. */
		if (((sig->changed & REMSIM_SIG_RST) && (sig->state & REMSIM_SIG_RST)) ||
		    ((sig->changed & REMSIM_SIG_VCC) && !(sig->state & REMSIM_SIG_VCC))) {
			card_reset(o->card);
			o->resets++;
		}
		break;
	}
}

static void *owner_thread(void *arg)
{
	struct owner *o = arg;
	struct slot_msg msg;

	while (!o->stop) {
		int ret = slot_read(o->fd, &msg, 50);

		if (ret == -ETIMEDOUT || ret == -EINTR)
			continue;
		if (ret) {
			if (!o->error)
				o->error = ret;
			break;
		}
		handle(o, &msg);
	}
	return NULL;
}

int owner_start(struct owner *o, int fd, struct card *card)
{
	struct remsim_atr atr = {};
	const uint8_t *bytes;
	size_t len;

	memset(o, 0, sizeof(*o));
	o->fd = fd;
	o->card = card;
	bytes = card_atr(&len);
	atr.len = len;
	memcpy(atr.atr, bytes, len);
	if (ioctl(fd, REMSIM_IOC_SET_ATR, &atr))
		return -errno;
	return -pthread_create(&o->thread, NULL, owner_thread, o);
}

int owner_stop(struct owner *o)
{
	o->stop = true;
	pthread_join(o->thread, NULL);
	return o->error;
}

static int attach_card(struct served_phone *p, unsigned int n)
{
	card_profile_default(&p->prof, n);
	p->card = card_new(&p->prof);
	if (!p->card)
		return -ENOMEM;
	return owner_start(&p->owner, p->fx.fd, p->card);
}

int served_phone_setup(struct served_phone *p, unsigned int n)
{
	int ret;

	memset(p, 0, sizeof(*p));
	ret = slot_fixture(&p->fx, O_RDWR);
	return ret ? ret : attach_card(p, n);
}

int served_phone_swap_card(struct served_phone *p, unsigned int n)
{
	int ret = owner_stop(&p->owner);

	card_free(p->card);
	p->card = NULL;
	return ret ? ret : attach_card(p, n);
}

void *served_phone_run(void *arg)
{
	struct served_phone *p = arg;
	struct session_opts o = { .pps = true, .have_keys = true, .status_polls = 2 };

	memcpy(o.ki, p->prof.ki, 16);
	memcpy(o.opc, p->prof.opc, 16);
	/* Ahead of any SQN an earlier run on the same card used. */
	o.sqn = (uint64_t)(time(NULL) & 0xffffff) << 5;
	p->ret = session_run(p->fx.modem, &o, &p->r);
	return NULL;
}

int served_phone_done(struct served_phone *p)
{
	int ret = owner_stop(&p->owner);

	card_free(p->card);
	p->card = NULL;
	slot_fixture_done(&p->fx);
	return ret;
}
