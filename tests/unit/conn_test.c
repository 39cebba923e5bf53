// SPDX-License-Identifier: GPL-2.0
/*
 * conn_test - RSPRO connections and links on real loopback sockets: PING is
 * answered, keep-alive catches a silent peer, bad input closes only the
 * connection that sent it with a clear reason, a peer that stops reading is
 * dropped, and the client link connects, reconnects and backs off as
 * osmo-remsim's does.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ktap.h"
#include "remsim/rspro_conn.h"
#include "remsim/rspro_link.h"

static const uint8_t ping[] = { 0x00, 0x01, 0xfe, 0x00 };
static const uint8_t pong[] = { 0x00, 0x01, 0xfe, 0x01 };
/* createMappingRes(ok) in its IPA frame */
static const uint8_t frame_cmr[] = {
	0x00, 0x10, 0xee, 0x07, 0x30, 0x0d, 0x80, 0x01, 0x02, 0x81, 0x01, 0x00,
	0xa2, 0x05, 0xa5, 0x03, 0x0a, 0x01, 0x00,
};

/* What happened on one server-side connection. */
struct peer {
	struct rspro_conn *conn;
	void *owner;
	int pdus;
	enum rspro_msg last;
	bool closed;
	int err;
	char why[200];
};

static void peer_pdu(struct rspro_conn *c, const struct rspro_pdu *pdu)
{
	struct peer *p = rspro_conn_data(c);

	p->pdus++;
	p->last = pdu->msg;
}

static void peer_closed(struct rspro_conn *c, int err, const char *why)
{
	struct peer *p = rspro_conn_data(c);

	p->closed = true;
	p->err = err;
	snprintf(p->why, sizeof(p->why), "%s", why);
	p->conn = NULL;
}

static const struct rspro_conn_ops peer_ops = {
	.pdu = peer_pdu,
	.closed = peer_closed,
};

static struct ev_loop *loop;

/* Runs the loop until *flag or @ms pass; returns *flag. */
static bool run_until(const bool *flag, int ms)
{
	uint64_t end = ev_now_ns() + ms * 1000000ull;

	while (!*flag && ev_now_ns() < end)
		ev_run_once(loop, 10);
	return *flag;
}

static void run_for(int ms)
{
	bool never = false;

	run_until(&never, ms);
}

/* A socketpair: our raw end and a server-side connection on the other. */
static int pair(struct peer *p, const struct rspro_conn_cfg *cfg)
{
	int sv[2];

	memset(p, 0, sizeof(*p));
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv));
	p->conn = rspro_conn_new(loop, rspro_transport_tcp(sv[1]), cfg,
				 &peer_ops, p);
	ASSERT_TRUE(p->conn != NULL);
	return sv[0];
}

static void cfg_quiet(struct rspro_conn_cfg *cfg)
{
	rspro_conn_cfg_default(cfg);
	cfg->ka_interval_ms = 0;	/* no PINGs unless a test wants them */
	cfg->server = true;
}

/* Reads exactly @len bytes from the raw end, running the loop meanwhile. */
static bool raw_read(int fd, uint8_t *buf, size_t len, int ms)
{
	uint64_t end = ev_now_ns() + ms * 1000000ull;
	size_t got = 0;

	while (got < len && ev_now_ns() < end) {
		ssize_t n = recv(fd, buf + got, len - got, MSG_DONTWAIT);

		if (n > 0)
			got += n;
		else
			ev_run_once(loop, 5);
	}
	return got == len;
}

static void setup(void)
{
	if (!loop)
		loop = ev_loop_new();
}

TEST(ping_gets_pong)
{
	struct rspro_conn_cfg cfg;
	struct peer p;
	uint8_t buf[4];
	int fd;

	setup();
	cfg_quiet(&cfg);
	fd = pair(&p, &cfg);
	ASSERT_EQ(4, write(fd, ping, 4));
	ASSERT_TRUE(raw_read(fd, buf, 4, 1000));
	EXPECT_MEMEQ(pong, buf, 4);
	EXPECT_FALSE(p.closed);
	rspro_conn_close(p.conn);
	close(fd);
}

TEST(keepalive_pings_and_drops_a_silent_peer)
{
	struct rspro_conn_cfg cfg;
	struct peer p;
	uint8_t buf[4];
	uint64_t t0;
	int fd;

	setup();
	cfg_quiet(&cfg);
	cfg.ka_interval_ms = 100;
	cfg.ka_timeout_ms = 150;
	fd = pair(&p, &cfg);
	/* a PING at once, as osmo-remsim's keep-alive does */
	ASSERT_TRUE(raw_read(fd, buf, 4, 50));
	EXPECT_MEMEQ(ping, buf, 4);
	ASSERT_EQ(4, write(fd, pong, 4));
	/* the next one after the interval */
	t0 = ev_now_ns();
	ASSERT_TRUE(raw_read(fd, buf, 4, 1000));
	EXPECT_MEMEQ(ping, buf, 4);
	EXPECT_GE(ev_now_ns() - t0, 90 * 1000000ull);
	EXPECT_EQ(1u, rspro_conn_stats(p.conn)->pongs_received);
	/* no answer: closed after the timeout */
	ASSERT_TRUE(run_until(&p.closed, 1000));
	EXPECT_EQ(-ETIMEDOUT, p.err);
	EXPECT_TRUE(strstr(p.why, "keep-alive") != NULL);
	close(fd);
}

TEST(slow_loris_delivery_decodes)
{
	struct rspro_conn_cfg cfg;
	struct peer p;
	size_t i;
	int fd;

	setup();
	cfg_quiet(&cfg);
	fd = pair(&p, &cfg);
	for (i = 0; i < sizeof(frame_cmr); i++) {
		ASSERT_EQ(1, write(fd, frame_cmr + i, 1));
		run_for(2);
		EXPECT_EQ(i == sizeof(frame_cmr) - 1 ? 1 : 0, p.pdus);
	}
	EXPECT_EQ(RSPRO_CREATE_MAPPING_RES, p.last);
	EXPECT_FALSE(p.closed);
	rspro_conn_close(p.conn);
	close(fd);
}

TEST(stalled_frame_ends_in_keepalive_timeout)
{
	struct rspro_conn_cfg cfg;
	struct peer p;
	uint8_t buf[4];
	int fd;

	setup();
	cfg_quiet(&cfg);
	cfg.ka_interval_ms = 50;
	cfg.ka_timeout_ms = 100;
	fd = pair(&p, &cfg);
	ASSERT_TRUE(raw_read(fd, buf, 4, 50));
	/* half a frame, then the PONG that can never be read behind it */
	ASSERT_EQ(8, write(fd, frame_cmr, 8));
	ASSERT_EQ(4, write(fd, pong, 4));
	ASSERT_TRUE(run_until(&p.closed, 1000));
	EXPECT_EQ(-ETIMEDOUT, p.err);
	close(fd);
}

/* Sends @bytes on a fresh connection, expects it closed with @needle. */
static void expect_closed(const uint8_t *bytes, size_t len, const char *needle)
{
	struct rspro_conn_cfg cfg;
	struct peer bad, good;
	int fd_bad, fd_good;

	cfg_quiet(&cfg);
	cfg.max_payload = 64;
	fd_bad = pair(&bad, &cfg);
	fd_good = pair(&good, &cfg);
	ASSERT_EQ((ssize_t)len, write(fd_bad, bytes, len));
	ASSERT_TRUE(run_until(&bad.closed, 1000));
	if (!strstr(bad.why, needle))
		TH_LOG("closed with \"%s\", want \"%s\"", bad.why, needle);
	EXPECT_TRUE(strstr(bad.why, needle) != NULL);
	EXPECT_EQ(0, bad.pdus);
	/* the other connection is untouched */
	ASSERT_EQ((ssize_t)sizeof(frame_cmr), write(fd_good, frame_cmr, sizeof(frame_cmr)));
	run_for(20);
	EXPECT_EQ(1, good.pdus);
	EXPECT_FALSE(good.closed);
	rspro_conn_close(good.conn);
	close(fd_bad);
	close(fd_good);
}

TEST(bad_input_closes_only_that_connection)
{
	/* createMappingRes with its INTEGER version cut short */
	static const uint8_t bad_ber[] = { 0x00, 0x05, 0xee, 0x07, 0x30, 0x03, 0x80, 0x05 };
	static const uint8_t trailing[] = {
		0x00, 0x11, 0xee, 0x07, 0x30, 0x0d, 0x80, 0x01, 0x02, 0x81, 0x01, 0x00,
		0xa2, 0x05, 0xa5, 0x03, 0x0a, 0x01, 0x00, 0xff,
	};
	static const uint8_t too_big[] = { 0x00, 0x41, 0xee, 0x07 };
	static const uint8_t zero_len[] = { 0x00, 0x00, 0xee };
	static const uint8_t wrong_ext[] = { 0x00, 0x02, 0xee, 0x05, 0x00 };
	static const uint8_t wrong_proto[] = { 0x00, 0x02, 0x00, 0x07, 0x00 };
	static const uint8_t id_get_to_server[] = { 0x00, 0x01, 0xfe, 0x04 };
	/* constraint violation: client id 1024 */
	static const uint8_t id_1024[] = {
		0x00, 0x1e, 0xee, 0x07, 0x30, 0x1b, 0x80, 0x01, 0x02, 0x81, 0x01, 0x00,
		0xa2, 0x13, 0xa4, 0x11, 0x30, 0x07, 0x02, 0x02, 0x04, 0x00, 0x02, 0x01,
		0x00, 0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x05,
	};

	setup();
	expect_closed(bad_ber, sizeof(bad_ber), "bad RSPRO PDU");
	expect_closed(trailing, sizeof(trailing), "garbage after the PDU");
	expect_closed(too_big, sizeof(too_big), "IPA frame of more than 64 bytes");
	expect_closed(zero_len, sizeof(zero_len), "length 0");
	expect_closed(wrong_ext, sizeof(wrong_ext), "not RSPRO");
	expect_closed(wrong_proto, sizeof(wrong_proto), "neither RSPRO nor CCM");
	expect_closed(id_get_to_server, sizeof(id_get_to_server), "CCM message 0x04");
	expect_closed(id_1024, sizeof(id_1024), "constraint");
}

TEST(eof_inside_frame_is_reported)
{
	struct rspro_conn_cfg cfg;
	struct peer p;
	int fd;

	setup();
	cfg_quiet(&cfg);
	fd = pair(&p, &cfg);
	ASSERT_EQ(5, write(fd, frame_cmr, 5));
	close(fd);
	ASSERT_TRUE(run_until(&p.closed, 1000));
	EXPECT_TRUE(strstr(p.why, "inside a frame (5 bytes held)") != NULL);
}

TEST(unknown_choice_keeps_the_connection)
{
	/* alternative [21] from some future version */
	static const uint8_t future[] = {
		0x00, 0x0d, 0xee, 0x07, 0x30, 0x0a, 0x80, 0x01, 0x02, 0x81, 0x01, 0x00,
		0xa2, 0x02, 0xb5, 0x00,
	};
	struct rspro_conn_cfg cfg;
	struct peer p;
	int fd;

	setup();
	cfg_quiet(&cfg);
	fd = pair(&p, &cfg);
	ASSERT_EQ((ssize_t)sizeof(future), write(fd, future, sizeof(future)));
	ASSERT_EQ((ssize_t)sizeof(frame_cmr), write(fd, frame_cmr, sizeof(frame_cmr)));
	run_for(20);
	EXPECT_EQ(1u, rspro_conn_stats(p.conn)->rx_unknown);
	EXPECT_EQ(1, p.pdus);
	EXPECT_FALSE(p.closed);
	rspro_conn_close(p.conn);
	close(fd);
}

TEST(peer_that_does_not_read_is_dropped)
{
	static uint8_t data[RSPRO_DATA_MAX];
	struct rspro_conn_cfg cfg;
	static struct rspro_pdu pdu;
	struct peer p;
	int fd, i, ret = 0;

	setup();
	cfg_quiet(&cfg);
	cfg.tx_max = 64 * 1024;
	fd = pair(&p, &cfg);
	rspro_tpdu(&pdu, RSPRO_TPDU_CARD_TO_MODEM, (struct rspro_client_slot){ 1, 0 },
		   (struct rspro_bank_slot){ 1, 0 }, data, sizeof(data));
	for (i = 0; i < 10000 && ret == 0; i++)
		ret = rspro_conn_send(p.conn, &pdu, NULL);
	EXPECT_EQ(-ENOBUFS, ret);
	/* the close comes from the loop, not inside send() */
	EXPECT_FALSE(p.closed);
	ASSERT_TRUE(run_until(&p.closed, 1000));
	EXPECT_TRUE(strstr(p.why, "does not read") != NULL);
	close(fd);
}

TEST(sent_pdus_arrive_whole)
{
	static const uint8_t cmd[] = { 0xa0, 0xa4, 0x00, 0x00, 0x02, 0x3f, 0x00 };
	struct rspro_conn_cfg cfg;
	static struct rspro_pdu pdu, back;
	struct peer p;
	uint8_t buf[256];
	int fd;

	setup();
	cfg_quiet(&cfg);
	fd = pair(&p, &cfg);
	rspro_tpdu(&pdu, RSPRO_TPDU_MODEM_TO_CARD, (struct rspro_client_slot){ 23, 0 },
		   (struct rspro_bank_slot){ 1, 5 }, cmd, sizeof(cmd));
	ASSERT_EQ(0, rspro_conn_send(p.conn, &pdu, NULL));
	/* the reference's DER vector, behind its IPA header */
	ASSERT_TRUE(raw_read(fd, buf, 4 + 0x33, 1000));
	EXPECT_MEMEQ("\x00\x34\xee\x07\x30\x31", buf, 6);
	ASSERT_EQ(0, rspro_decode(buf + 4, 0x33, &back, NULL));
	EXPECT_EQ(7, back.tpdu.len);
	EXPECT_EQ(1u, rspro_conn_stats(p.conn)->tx_pdus);
	rspro_conn_close(p.conn);
	close(fd);
}

/* A TCP transport whose reads are counted: how many recv() a PDU costs. */
static unsigned int reads;
static const struct rspro_transport_ops *tcp_ops;
static struct rspro_transport_ops counted_ops;

static ssize_t counted_read(struct rspro_transport *t, void *buf, size_t len)
{
	reads++;
	return tcp_ops->read(t, buf, len);
}

/*
 * The APDU path's cost: a whole PDU read in one recv() is not followed by
 * a second that can only say EAGAIN (the watch is level-triggered). Three
 * frames in one write still all arrive, and one split in two halves too.
 */
TEST(one_read_per_pdu)
{
	struct rspro_conn_cfg cfg;
	uint8_t three[3 * sizeof(frame_cmr)];
	struct rspro_transport *t;
	struct peer p = { 0 };
	int sv[2], i;

	setup();
	cfg_quiet(&cfg);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv));
	t = rspro_transport_tcp(sv[1]);
	ASSERT_TRUE(t != NULL);
	tcp_ops = t->ops;
	counted_ops = *t->ops;
	counted_ops.read = counted_read;
	t->ops = &counted_ops;
	p.conn = rspro_conn_new(loop, t, &cfg, &peer_ops, &p);
	ASSERT_TRUE(p.conn != NULL);
	reads = 0;
	for (i = 1; i <= 10; i++) {
		ASSERT_EQ((ssize_t)sizeof(frame_cmr), write(sv[0], frame_cmr, sizeof(frame_cmr)));
		while (p.pdus < i && !p.closed)
			ev_run_once(loop, 100);
	}
	run_for(20);
	EXPECT_EQ(10, p.pdus);
	EXPECT_EQ(10u, reads);
	for (i = 0; i < 3; i++)
		memcpy(three + i * sizeof(frame_cmr), frame_cmr, sizeof(frame_cmr));
	ASSERT_EQ((ssize_t)sizeof(three), write(sv[0], three, sizeof(three)));
	run_for(20);
	EXPECT_EQ(13, p.pdus);
	ASSERT_EQ(5, write(sv[0], frame_cmr, 5));
	run_for(20);
	ASSERT_EQ((ssize_t)sizeof(frame_cmr) - 5,
		  write(sv[0], frame_cmr + 5, sizeof(frame_cmr) - 5));
	run_for(20);
	EXPECT_EQ(14, p.pdus);
	EXPECT_FALSE(p.closed);
	rspro_conn_close(p.conn);
	close(sv[0]);
}

/* --- the client link against a small server --- */

struct mini_server {
	int lfd;
	struct ev_io io;
	struct peer peers[8];
	int n;
	int32_t result;			/* what Connect*Res says */
	enum rspro_component type;	/* who the server claims to be */
};

static void mini_pdu(struct rspro_conn *c, const struct rspro_pdu *pdu)
{
	struct peer *p = rspro_conn_data(c);
	struct mini_server *s = p->owner;
	struct rspro_identity id;
	struct rspro_pdu res;

	peer_pdu(c, pdu);
	rspro_identity_init(&id, s->type, "mini", "remsim-server", "1");
	if (pdu->msg == RSPRO_CONNECT_CLIENT_REQ)
		rspro_connect_client_res(&res, &id, s->result);
	else if (pdu->msg == RSPRO_CONNECT_BANK_REQ)
		rspro_connect_bank_res(&res, &id, s->result);
	else
		return;
	rspro_conn_send(c, &res, NULL);
}

static const struct rspro_conn_ops mini_ops = {
	.pdu = mini_pdu,
	.closed = peer_closed,
};

static void mini_accept(struct ev_io *io, uint32_t revents)
{
	struct mini_server *s = io->data;
	struct rspro_conn_cfg cfg;
	int fd = net_accept(s->lfd);

	if (fd < 0 || s->n == 8) {
		if (fd >= 0)
			close(fd);
		return;
	}
	cfg_quiet(&cfg);
	memset(&s->peers[s->n], 0, sizeof(s->peers[0]));
	s->peers[s->n].owner = s;
	s->peers[s->n].conn = rspro_conn_new(loop, rspro_transport_tcp(fd), &cfg,
					     &mini_ops, &s->peers[s->n]);
	s->n++;
}

static int mini_start(struct mini_server *s)
{
	memset(s, 0, sizeof(*s));
	s->type = RSPRO_COMP_SERVER;
	s->lfd = net_listen("127.0.0.1", 0, 8);
	ASSERT_GE(s->lfd, 0);
	ASSERT_EQ(0, ev_io_start(loop, &s->io, s->lfd, EPOLLIN, mini_accept, s));
	return net_local_port(s->lfd);
}

static void mini_stop(struct mini_server *s)
{
	int i;

	for (i = 0; i < s->n; i++)
		rspro_conn_close(s->peers[i].conn);
	ev_io_stop(&s->io);
	close(s->lfd);
}

struct link_log {
	int ups, downs;
	bool up_now;
	enum rspro_link_state last;
	char why[200];
};

static void log_up(struct rspro_link *l)
{
	struct link_log *g = rspro_link_data(l);

	g->ups++;
	g->up_now = true;
}

static void log_down(struct rspro_link *l, const char *why)
{
	struct link_log *g = rspro_link_data(l);

	g->downs++;
	g->up_now = false;
}

static void log_state(struct rspro_link *l, enum rspro_link_state from,
		      enum rspro_link_state to, const char *why)
{
	struct link_log *g = rspro_link_data(l);

	g->last = to;
	snprintf(g->why, sizeof(g->why), "%s", why);
}

static const struct rspro_link_ops log_ops = {
	.up = log_up,
	.down = log_down,
	.state = log_state,
};

static struct rspro_link *client_link(int port, struct link_log *g)
{
	struct rspro_link_cfg cfg;

	memset(g, 0, sizeof(*g));
	rspro_link_cfg_default(&cfg);
	snprintf(cfg.host, sizeof(cfg.host), "127.0.0.1");
	cfg.port = port;
	rspro_identity_init(&cfg.identity, RSPRO_COMP_CLIENT, "t", "remsim-client", "1");
	cfg.client_slot = (struct rspro_client_slot){ 23, 0 };
	cfg.conn.ka_interval_ms = 0;
	return rspro_link_new(loop, &cfg, &log_ops, g);
}

TEST(link_connects_and_reconnects)
{
	struct mini_server s;
	struct link_log g;
	struct rspro_link *l;
	int i, port;

	setup();
	port = mini_start(&s);
	l = client_link(port, &g);
	rspro_link_start(l);
	ASSERT_TRUE(run_until(&g.up_now, 2000));
	EXPECT_EQ(RSPRO_LINK_CONNECTED, rspro_link_state(l));
	ASSERT_EQ(1, s.n);
	/* the server drops the connection: down, then up again at once */
	rspro_conn_close(s.peers[0].conn);
	s.peers[0].conn = NULL;
	for (i = 0; i < 200 && g.ups < 2; i++)
		ev_run_once(loop, 10);
	EXPECT_EQ(1, g.downs);
	EXPECT_EQ(2, g.ups);
	EXPECT_EQ(2, s.n);
	/* sending works only while connected */
	rspro_link_stop(l);
	EXPECT_EQ(RSPRO_LINK_INIT, rspro_link_state(l));
	EXPECT_EQ(2, g.downs);
	{
		struct rspro_pdu pdu;

		rspro_reset_state_req(&pdu);
		EXPECT_EQ(-ENOTCONN, rspro_link_send(l, &pdu, NULL));
	}
	rspro_link_free(l);
	mini_stop(&s);
}

TEST(link_refused_identity_backs_off)
{
	struct mini_server s;
	struct link_log g;
	struct rspro_link *l;
	int port;

	setup();
	port = mini_start(&s);
	s.result = RSPRO_IDENTITY_IN_USE;
	l = client_link(port, &g);
	rspro_link_start(l);
	/* one attempt at once, then one every 100-250 ms: 4 to 6 in 700 ms */
	run_for(700);
	EXPECT_EQ(0, g.ups);
	EXPECT_EQ(RSPRO_LINK_REESTABLISH_DELAY, rspro_link_state(l));
	EXPECT_GE(s.n, 4);
	EXPECT_LE(s.n, 6);
	EXPECT_EQ((unsigned int)s.n + 1, rspro_link_attempts(l));
	EXPECT_TRUE(strstr(g.why, "identityInUse") != NULL);
	rspro_link_free(l);
	mini_stop(&s);
}

TEST(link_to_the_wrong_peer_type_stops)
{
	struct mini_server s;
	struct link_log g;
	struct rspro_link *l;
	int port;

	setup();
	port = mini_start(&s);
	s.type = RSPRO_COMP_BANKD;
	l = client_link(port, &g);
	rspro_link_start(l);
	run_for(300);
	EXPECT_EQ(RSPRO_LINK_INIT, rspro_link_state(l));
	EXPECT_EQ(1, s.n);
	EXPECT_TRUE(strstr(g.why, "check your IP/port") != NULL);
	rspro_link_free(l);
	mini_stop(&s);
}

TEST(link_to_nobody_retries_fast_at_first)
{
	struct link_log g;
	struct rspro_link *l;
	int fd, port;

	setup();
	/* a port nobody listens on */
	fd = net_listen("127.0.0.1", 0, 1);
	port = net_local_port(fd);
	close(fd);
	l = client_link(port, &g);
	rspro_link_start(l);
	run_for(1000);
	EXPECT_EQ(RSPRO_LINK_REESTABLISH_DELAY, rspro_link_state(l));
	/* 1 at once, then every 100-250 ms: 5 to 11 in 1 s, with the next */
	EXPECT_GE(rspro_link_attempts(l), 6u);
	EXPECT_LE(rspro_link_attempts(l), 12u);
	EXPECT_TRUE(strstr(g.why, "Connection refused") != NULL);
	rspro_link_free(l);
}

/* A port on 127.0.0.1 that nobody listens on. */
static int dead_port(void)
{
	int fd = net_listen("127.0.0.1", 0, 1), port = net_local_port(fd);

	close(fd);
	return port;
}

/*
 * Several servers, "a,b" (one active, the others refusing): a refused or
 * lost link tries the next at once, without the back-off's delay, and
 * comes back to the first one after the last.
 */
TEST(link_moves_to_the_next_address)
{
	struct mini_server s;
	struct link_log g;
	struct rspro_link *l;
	int i, port, dead = dead_port();
	char list[100];

	setup();
	port = mini_start(&s);
	memset(&g, 0, sizeof(g));
	{
		struct rspro_link_cfg cfg;

		rspro_link_cfg_default(&cfg);
		snprintf(list, sizeof(list), "127.0.0.1:%d,[::1]:%d,127.0.0.1:%d", dead, dead,
			 port);
		snprintf(cfg.host, sizeof(cfg.host), "%s", list);
		cfg.port = dead;
		rspro_identity_init(&cfg.identity, RSPRO_COMP_CLIENT, "t", "remsim-client", "1");
		cfg.client_slot = (struct rspro_client_slot){ 23, 0 };
		cfg.conn.ka_interval_ms = 0;
		l = rspro_link_new(loop, &cfg, &log_ops, &g);
	}
	rspro_link_start(l);
	/* two refusals on the way, no delay: one attempt of the back-off */
	ASSERT_TRUE(run_until(&g.up_now, 300));
	EXPECT_EQ(1u, rspro_link_attempts(l));
	ASSERT_EQ(1, s.n);
	/* lost: the two others refuse, and the third is back at once */
	rspro_conn_close(s.peers[0].conn);
	s.peers[0].conn = NULL;
	for (i = 0; i < 30 && g.ups < 2; i++)
		ev_run_once(loop, 10);
	EXPECT_EQ(2, g.ups);
	EXPECT_EQ(2, s.n);
	rspro_link_free(l);
	mini_stop(&s);
}

/*
 * Two servers that both refuse: the back-off counts rounds of the list,
 * each round tries both, one right after the other.
 */
TEST(link_to_a_list_of_refusals_backs_off_by_rounds)
{
	struct mini_server s1, s2;
	struct rspro_link_cfg cfg;
	struct link_log g = { 0 };
	struct rspro_link *l;
	unsigned int rounds;

	setup();
	rspro_link_cfg_default(&cfg);
	snprintf(cfg.host, sizeof(cfg.host), "127.0.0.1:%d,127.0.0.1", mini_start(&s1));
	cfg.port = mini_start(&s2);
	s1.result = RSPRO_IDENTITY_IN_USE;
	s2.result = RSPRO_IDENTITY_IN_USE;
	rspro_identity_init(&cfg.identity, RSPRO_COMP_CLIENT, "t", "remsim-client", "1");
	cfg.client_slot = (struct rspro_client_slot){ 23, 0 };
	cfg.conn.ka_interval_ms = 0;
	l = rspro_link_new(loop, &cfg, &log_ops, &g);
	rspro_link_start(l);
	/* short of 8 rounds: a mini server keeps 8 connections */
	run_for(600);
	rounds = rspro_link_attempts(l);
	TH_LOG("%u rounds, %d and %d connections", rounds, s1.n, s2.n);
	EXPECT_GE(rounds, 3u);
	/* one attempt of the back-off is one connection to each */
	EXPECT_LE(s1.n, (int)rounds);
	EXPECT_GE(s1.n, (int)rounds - 1);
	EXPECT_LE(s2.n, s1.n);
	EXPECT_GE(s2.n, s1.n - 1);
	EXPECT_EQ(0, g.ups);
	rspro_link_free(l);
	mini_stop(&s1);
	mini_stop(&s2);
}

/*
 * A server that restarts within the first seconds is back on its link
 * within a quarter second of listening again, not at the next 1 s step of
 * osmo-remsim's table (3.3 s after the drop: 0.7 s later there).
 */
TEST(link_sees_a_peer_back_within_the_fast_window)
{
	struct mini_server s;
	struct link_log g;
	struct rspro_link *l;
	uint64_t t0;
	int port;

	setup();
	port = mini_start(&s);
	l = client_link(port, &g);
	rspro_link_start(l);
	ASSERT_TRUE(run_until(&g.up_now, 2000));
	/* up long enough to count as a live link, then the server goes */
	run_for(RSPRO_BACKOFF_STABLE_MS + 100);
	mini_stop(&s);
	run_for(50);
	EXPECT_FALSE(g.up_now);
	run_for(3250);
	EXPECT_FALSE(g.up_now);
	/* back on the same port */
	memset(&s, 0, sizeof(s));
	s.type = RSPRO_COMP_SERVER;
	s.lfd = net_listen("127.0.0.1", port, 8);
	ASSERT_GE(s.lfd, 0);
	ASSERT_EQ(0, ev_io_start(loop, &s.io, s.lfd, EPOLLIN, mini_accept, &s));
	t0 = ev_now_ns();
	ASSERT_TRUE(run_until(&g.up_now, 2000));
	ksft_print_msg("back %llu ms after the server listened again\n",
	     (unsigned long long)((ev_now_ns() - t0) / 1000000));
	EXPECT_LE(ev_now_ns() - t0, 300 * 1000000ull);
	EXPECT_EQ(1, g.downs);
	rspro_link_free(l);
	mini_stop(&s);
}

/*
 * A peer that accepts and drops each link at once (a server that says ok
 * and dies) must not keep it in the fast retries: a connection shorter
 * than RSPRO_BACKOFF_STABLE_MS leaves the clock running, so past the fast
 * window the link reconnects once a 1 s step, not every 100-250 ms.
 */
TEST(link_to_a_peer_that_drops_at_once_slows_down)
{
	struct mini_server s;
	struct link_log g;
	struct rspro_link *l;
	uint64_t t0, t;
	int i, port, ups_late = -1;

	setup();
	port = mini_start(&s);
	l = client_link(port, &g);
	rspro_link_start(l);
	t0 = ev_now_ns();
	while ((t = ev_now_ns() - t0) < 7000 * 1000000ull) {
		ev_run_once(loop, 10);
		if (g.up_now) {
			for (i = 0; i < s.n; i++)
				if (s.peers[i].conn) {
					rspro_conn_close(s.peers[i].conn);
					s.peers[i].conn = NULL;
				}
			s.n = 0;
		}
		if (ups_late < 0 && t >= 5500 * 1000000ull)
			ups_late = g.ups;
	}
	/* fast at first, then at most two in the last 1.5 s */
	EXPECT_GE(g.ups, 12);
	EXPECT_LE(g.ups - ups_late, 2);
	rspro_link_free(l);
	mini_stop(&s);
}

/*
 * The step for each time away, each delay in [3/4, 1] of it (the whole
 * range used). Where a step changes, in the new step's length before its
 * time, either step's range and nothing else.
 */
TEST(backoff_fast_then_osmo_steps)
{
	static const struct {
		unsigned int away_ms, lo, hi, lo2, hi2;
	} t[] = {
		{ 0, 100, 250, 0, 0 }, { 3999, 100, 250, 0, 0 },
		{ 4500, 100, 250, 750, 1000 },
		{ 5000, 750, 1000, 0, 0 }, { 27999, 750, 1000, 0, 0 },
		{ 29000, 750, 1000, 1500, 2000 },
		{ 30000, 1500, 2000, 0, 0 }, { 85999, 1500, 2000, 0, 0 },
		{ 88000, 1500, 2000, 3000, 4000 },
		{ 90000, 3000, 4000, 0, 0 }, { 201999, 3000, 4000, 0, 0 },
		{ 206000, 3000, 4000, 6000, 8000 },
		{ 210000, 6000, 8000, 0, 0 }, { 433999, 6000, 8000, 0, 0 },
		{ 442000, 6000, 8000, 12000, 16000 },
		{ 450000, 12000, 16000, 0, 0 }, { 4294967295u, 12000, 16000, 0, 0 },
	};
	unsigned int i, lo, hi, first, second, other;
	uint32_t r;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		lo = ~0u;
		hi = 0;
		first = second = other = 0;
		/* every low half (the delay), high halves spread over the range */
		for (r = 0; r < 65536; r++) {
			unsigned int d = rspro_backoff_ms(t[i].away_ms, r * 2654435761u);

			lo = d < lo ? d : lo;
			hi = d > hi ? d : hi;
			if (d >= t[i].lo && d <= t[i].hi)
				first++;
			else if (t[i].hi2 && d >= t[i].lo2 && d <= t[i].hi2)
				second++;
			else
				other++;
		}
		EXPECT_EQ(0u, other);
		if (t[i].hi2) {
			/* about half each, at the middle of the change */
			EXPECT_GE(first, 65536u / 4);
			EXPECT_GE(second, 65536u / 4);
			continue;
		}
		EXPECT_EQ(t[i].lo, lo);
		EXPECT_EQ(t[i].hi, hi);
	}
}

/* --- the event loop itself --- */

static int order[64], norder;

static void note_timer(struct ev_timer *t)
{
	order[norder++] = (int)(intptr_t)t->data;
}

TEST(timers_fire_in_deadline_order)
{
	struct ev_timer t[20];
	int i;

	setup();
	norder = 0;
	for (i = 0; i < 20; i++) {
		ev_timer_init(&t[i], note_timer, (void *)(intptr_t)i);
		/* deadlines 38, 36, ... 0 ms: reverse of start order */
		ev_timer_start(loop, &t[i], (19 - i) * 2);
	}
	ev_timer_stop(&t[5]);
	ev_timer_stop(&t[0]);
	ev_timer_start(loop, &t[19], 50);	/* re-arm moves it last */
	run_for(80);
	ASSERT_EQ(18, norder);
	{
		static const int want[18] = {
			18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 4, 3, 2, 1, 19,
		};

		ASSERT_MEMEQ(want, order, sizeof(want));
	}
}

static struct ev_io io_a, io_b;
static int b_called;

static void io_a_cb(struct ev_io *io, uint32_t revents)
{
	/* stopping another watcher whose event is in this batch */
	ev_io_stop(&io_b);
	ev_io_stop(io);
}

static void io_b_cb(struct ev_io *io, uint32_t revents)
{
	b_called++;
	ev_io_stop(&io_a);
	ev_io_stop(io);
}

TEST(stopped_watcher_gets_no_stale_event)
{
	int a[2], b[2];

	setup();
	ASSERT_EQ(0, pipe(a));
	ASSERT_EQ(0, pipe(b));
	ASSERT_EQ(1, write(a[1], "x", 1));
	ASSERT_EQ(1, write(b[1], "x", 1));
	ASSERT_EQ(0, ev_io_start(loop, &io_a, a[0], EPOLLIN, io_a_cb, NULL));
	ASSERT_EQ(0, ev_io_start(loop, &io_b, b[0], EPOLLIN, io_b_cb, NULL));
	/* whichever runs first stops the other: exactly one callback */
	b_called = 0;
	EXPECT_EQ(1, ev_run_once(loop, 100));
	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
}

static void teardown(void)
{
	ev_loop_free(loop);
	loop = NULL;
}

int main(int argc, char **argv)
{
	int ret = ktap_main(argc, argv);

	teardown();
	return ret;
}
