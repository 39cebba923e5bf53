// SPDX-License-Identifier: GPL-2.0
/*
 * loopline.c - see loopline.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "card.h"
#include "cardem.h"
#include "loopline.h"
#include "modem.h"
#include "sim_modem.h"
#include "t0.h"

struct loop {
	struct cardem	ce;
	struct t0	t0;
	struct card	*card;
	uint8_t		out[4096];	/* card to phone */
	size_t		out_len;
};

static void host(struct loop *l, const struct t0_result *res)
{
	if ((res->actions & T0_DO_TX) && cardem_tx_now(&l->ce))
		cardem_host_tx(&l->ce, &res->tx);
	if (res->actions & T0_DO_DELIVER) {
		/* The bank's part: the card answers, the engine sends it on. */
		uint8_t resp[CARD_RESP_MAX];
		struct t0_result r2;
		size_t n = card_command(l->card, l->t0.cur.tpdu, 5 + l->t0.cur.lc, resp);

		if (!t0_response(&l->t0, resp, n, &r2))
			host(l, &r2);
	}
}

static void to_modem(void *ctx, const uint8_t *b, size_t n)
{
	struct loop *l = ctx;

	if (l->out_len + n <= sizeof(l->out)) {
		memcpy(l->out + l->out_len, b, n);
		l->out_len += n;
	}
}

static void rx_header(void *ctx, const uint8_t hdr[T0_HDR_LEN])
{
	struct loop *l = ctx;
	struct t0_result res;

	t0_header(&l->t0, hdr, &res);
	host(l, &res);
}

static void rx_data(void *ctx, const uint8_t *data, size_t len)
{
	struct loop *l = ctx;
	struct t0_result res;

	t0_data(&l->t0, data, len, &res);
	host(l, &res);
}

static void pts(void *ctx, const uint8_t *pps, uint8_t len, uint8_t fi, uint8_t di)
{
}

static void status(void *ctx, uint32_t s)
{
	struct loop *l = ctx;
	struct t0_result res;

	if ((s & CARDEM_STATUS_RST) || !(s & CARDEM_STATUS_VCC)) {
		t0_reset(&l->t0, &res);
		card_reset(l->card);
	}
}

static const struct cardem_ops loop_ops = { to_modem, rx_header, rx_data, pts, status };

static int loop_lines(void *ctx, uint8_t bits)
{
	struct loop *l = ctx;

	cardem_lines(&l->ce, bits & SIM_MODEM_VCC, bits & SIM_MODEM_CLK, bits & SIM_MODEM_RST);
	return 0;
}

static int loop_send(void *ctx, const uint8_t *bytes, size_t len)
{
	cardem_modem_bytes(&((struct loop *)ctx)->ce, bytes, len);
	return 0;
}

static int loop_recv(void *ctx, uint8_t *type, uint8_t *buf, size_t size, int timeout_ms)
{
	struct loop *l = ctx;
	size_t n = l->out_len < size ? l->out_len : size;

	if (!n)
		return -ETIMEDOUT;	/* nothing can come later: one thread */
	*type = SIM_MODEM_BYTES;
	memcpy(buf, l->out, n);
	memmove(l->out, l->out + n, l->out_len - n);
	l->out_len -= n;
	return n;
}

static void loop_close(void *ctx)
{
	free(ctx);
}

int loopline_open(struct modem **m, struct card *card)
{
	struct modem_line line = {
		.lines = loop_lines,
		.send = loop_send,
		.recv = loop_recv,
		.close = loop_close,
	};
	struct loop *l = calloc(1, sizeof(*l));
	size_t atr_len;
	const uint8_t *atr = card_atr(&atr_len);
	int ret;

	if (!l)
		return -ENOMEM;
	l->card = card;
	cardem_init(&l->ce, &loop_ops, l);
	cardem_set_atr(&l->ce, atr, atr_len);
	cardem_enable(&l->ce, true);
	t0_init(&l->t0);
	line.ctx = l;
	ret = modem_open_line(m, &line);
	if (ret)
		free(l);
	return ret;
}
