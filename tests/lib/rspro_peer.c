// SPDX-License-Identifier: GPL-2.0
/* Test peers that speak RSPRO through the library under test. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "remsim/ipa.h"
#include "rspro_peer.h"

struct rspro_tls *tpeer_tls;
struct rspro_tls_resume *tpeer_resume;

static void tpeer_pdu(struct rspro_conn *c, const struct rspro_pdu *pdu)
{
	struct tpeer *t = rspro_conn_data(c);
	struct rspro_pdu *copy;

	if (t->count == TPEER_INBOX)
		return;
	copy = malloc(sizeof(*copy));
	if (!copy)
		return;
	*copy = *pdu;
	t->inbox[t->count++] = copy;
}

static void tpeer_closed(struct rspro_conn *c, int err, const char *why)
{
	struct tpeer *t = rspro_conn_data(c);

	t->closed = true;
	t->conn = NULL;
	snprintf(t->why, sizeof(t->why), "%s", why);
}

static void tpeer_pong(struct rspro_conn *c)
{
	((struct tpeer *)rspro_conn_data(c))->pongs++;
}

static const struct rspro_conn_ops tpeer_ops = {
	.pdu = tpeer_pdu,
	.closed = tpeer_closed,
	.pong = tpeer_pong,
};

void tpeer_run(struct ev_loop *loop, int ms)
{
	uint64_t end = ev_now_ns() + ms * 1000000ull;

	while (ev_now_ns() < end)
		ev_run_once(loop, 5);
}

static int connect_with(struct tpeer *t, struct ev_loop *loop, int port,
			const struct rspro_conn_cfg *cfg)
{
	struct pollfd pfd;
	int fd, ret;

	memset(t, 0, sizeof(*t));
	t->loop = loop;
	fd = net_connect_start("127.0.0.1", port);
	if (fd < 0)
		return fd;
	pfd = (struct pollfd){ .fd = fd, .events = POLLOUT };
	if (poll(&pfd, 1, 5000) != 1 || (ret = net_connect_result(fd))) {
		close(fd);
		return -ECONNREFUSED;
	}
	t->conn = rspro_conn_new(loop, tpeer_tls ? rspro_transport_tls(fd, tpeer_tls, false, NULL,
									 tpeer_resume) :
				 rspro_transport_tcp(fd), cfg, &tpeer_ops, t);
	return t->conn ? 0 : -ENOMEM;
}

int tpeer_connect(struct tpeer *t, struct ev_loop *loop, int port)
{
	struct rspro_conn_cfg cfg;

	rspro_conn_cfg_default(&cfg);
	cfg.ka_interval_ms = 0;
	return connect_with(t, loop, port, &cfg);
}

int tpeer_connect_osmo(struct tpeer *t, struct ev_loop *loop, int port)
{
	struct rspro_conn_cfg cfg;

	/* the defaults are osmo-remsim's keep-alive: a PING at once */
	rspro_conn_cfg_default(&cfg);
	return connect_with(t, loop, port, &cfg);
}

int tpeer_accept(struct tpeer *t, struct ev_loop *loop, int lfd, int ms)
{
	struct rspro_conn_cfg cfg;
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };
	int fd;

	memset(t, 0, sizeof(*t));
	t->loop = loop;
	if (poll(&pfd, 1, ms) != 1)
		return -ETIMEDOUT;
	fd = net_accept(lfd);
	if (fd < 0)
		return fd;
	rspro_conn_cfg_default(&cfg);
	cfg.ka_interval_ms = 0;
	cfg.server = true;
	t->conn = rspro_conn_new(loop, rspro_transport_tcp(fd), &cfg, &tpeer_ops, t);
	return t->conn ? 0 : -ENOMEM;
}

void tpeer_close(struct tpeer *t)
{
	int i;

	rspro_conn_close(t->conn);
	t->conn = NULL;
	for (i = 0; i < t->count; i++)
		free(t->inbox[i]);
	t->count = 0;
}

int tpeer_send(struct tpeer *t, const struct rspro_pdu *pdu)
{
	if (!t->conn)
		return -ENOTCONN;
	return rspro_conn_send(t->conn, pdu, NULL);
}

static bool take(struct tpeer *t, enum rspro_msg msg, struct rspro_pdu *out)
{
	int i;

	for (i = 0; i < t->count; i++) {
		if (t->inbox[i]->msg != msg)
			continue;
		if (out)
			*out = *t->inbox[i];
		free(t->inbox[i]);
		memmove(t->inbox + i, t->inbox + i + 1,
			(t->count - i - 1) * sizeof(t->inbox[0]));
		t->count--;
		return true;
	}
	return false;
}

bool tpeer_wait(struct tpeer *t, enum rspro_msg msg, struct rspro_pdu *out, int ms)
{
	uint64_t end = ev_now_ns() + ms * 1000000ull;

	while (!take(t, msg, out)) {
		if (ev_now_ns() >= end)
			return false;
		ev_run_once(t->loop, 5);
	}
	return true;
}

bool tpeer_wait_closed(struct tpeer *t, int ms)
{
	uint64_t end = ev_now_ns() + ms * 1000000ull;

	while (!t->closed && ev_now_ns() < end)
		ev_run_once(t->loop, 5);
	return t->closed;
}

int tpeer_settle(struct tpeer *t, enum rspro_msg msg, int ms)
{
	int i, n = 0;

	tpeer_run(t->loop, ms);
	for (i = 0; i < t->count; i++)
		n += t->inbox[i]->msg == msg;
	return n;
}

bool tpeer_bankd(struct tpeer *t, struct ev_loop *loop, int port, int bank_id,
		 int slots, int listen_port)
{
	struct rspro_identity id;
	struct rspro_pdu pdu;

	if (tpeer_connect(t, loop, port))
		return false;
	rspro_identity_init(&id, RSPRO_COMP_BANKD, "testbank", "remsim-bankd", "test");
	rspro_connect_bank_req(&pdu, &id, bank_id, slots);
	if (listen_port >= 0) {
		pdu.connect_bank_req.has_bankd_addr = true;
		rspro_ip_port_parse(&pdu.connect_bank_req.bankd_addr, "0.0.0.0:0");
		pdu.connect_bank_req.bankd_addr.port = listen_port;
	}
	tpeer_send(t, &pdu);
	return tpeer_wait(t, RSPRO_CONNECT_BANK_RES, &pdu, 5000) &&
	       pdu.connect_res.result == RSPRO_OK;
}

int tpeer_client_exts(struct tpeer *t, struct ev_loop *loop, int port, int client_id,
		      int slot, const char *exts)
{
	struct rspro_client_slot cs = { client_id, slot };
	struct rspro_identity id;
	struct rspro_pdu pdu;

	if (tpeer_connect(t, loop, port))
		return -ECONNREFUSED;
	rspro_identity_init(&id, RSPRO_COMP_CLIENT, "testclient", "remsim-client", "test");
	if (exts)
		rspro_identity_set_exts(&id, exts);
	rspro_connect_client_req(&pdu, &id, &cs);
	tpeer_send(t, &pdu);
	if (!tpeer_wait(t, RSPRO_CONNECT_CLIENT_RES, &pdu, 5000))
		return t->closed ? -ECONNRESET : -ETIMEDOUT;
	return pdu.connect_res.result;
}

int tpeer_client_result(struct tpeer *t, struct ev_loop *loop, int port, int client_id,
			int slot)
{
	return tpeer_client_exts(t, loop, port, client_id, slot, NULL);
}

bool tpeer_client(struct tpeer *t, struct ev_loop *loop, int port, int client_id,
		  int slot)
{
	return tpeer_client_result(t, loop, port, client_id, slot) == RSPRO_OK;
}

const char *const tpeer_hostile_pdus[] = {
	/* connectClientReq for client -1 */
	"3033800102810100a22ba229301f0a01001604686f7374800d72656d73696d2d636c69656e748105312e312e3330060201ff020100",
	/* a TPDU from bank -1 */
	"3030800102810100a228ad2630060201ff0201053006020117020100300c010100010100010100010100240604019f04011f",
	/* version -1 */
	"300d8001ff810100a205a5030a0100",
	/* 2^63 as the length of the PDU, of its msg, of an unknown extension */
	"30888000000000000000800102810100a205a5030a0100",
	"3015800102810100a2888000000000000000a5030a0100",
	"3017800102810100a20fa50d0a01008a888000000000000000",
	NULL
};

int tpeer_send_hostile(struct ev_loop *loop, int port)
{
	uint8_t frame[IPA_RSPRO_HDR_LEN + 128];
	unsigned int b;
	int i, refused = 0;

	for (i = 0; tpeer_hostile_pdus[i]; i++) {
		const char *hex = tpeer_hostile_pdus[i];
		size_t n = 0;
		struct tpeer t;

		while (hex[0] && hex[1] && n < sizeof(frame) - IPA_RSPRO_HDR_LEN &&
		       sscanf(hex, "%2x", &b) == 1) {
			frame[IPA_RSPRO_HDR_LEN + n++] = b;
			hex += 2;
		}
		ipa_rspro_header(frame, n);
		if (tpeer_connect(&t, loop, port))
			continue;
		if (!rspro_conn_send_raw(t.conn, frame, IPA_RSPRO_HDR_LEN + n) &&
		    tpeer_wait_closed(&t, 3000))
			refused++;
		tpeer_close(&t);
	}
	return refused;
}
