// SPDX-License-Identifier: GPL-2.0
/*
 * usb_test - the SIMtrace2 USB driver against the software board
 * (tests/board/) on dummy_hcd: real URBs through the real USB stack to real
 * probe and disconnect. Binding, phone sessions, two-interface boards,
 * unplug at the worst moments, hundreds of plug cycles under traffic, and
 * every misbehaviour the board can put on.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "board.h"
#include "card.h"
#include "ktap.h"
#include "modem.h"
#include "owner.h"
#include "remsim/nl.h"
#include "session.h"
#include "slotdev.h"
#include "measure.h"
#include "uffd.h"

static struct test_board b;

static void start(const char *product)
{
	ASSERT_EQ(0, board_start(&b, product, 0));
}

static void restore_queue_depth(void)
{
	slot_set_param("remsim", "queue_depth", "16");
}

static void __attribute__((constructor)) register_cleanup(void)
{
	/* A board a failed test left running would hold the UDC. */
	ktap_after_each(board_cleanup_all);
	ktap_after_each(restore_queue_depth);
}

TEST(board_binds_one_slot_per_card_emulation_interface)
{
	struct remsim_info info;
	struct rsnl_slot s;
	struct rsnl *nl;
	char link[PATH_MAX], path[128];
	ssize_t n;
	int fd;

	start("simtrace2");
	ASSERT_EQ(0, rsnl_open(&nl));
	ASSERT_EQ(0, rsnl_slot_get(nl, b.index[0], &s));
	EXPECT_EQ(REMSIM_BACKEND_USB, s.backend);
	EXPECT_EQ(0, strcmp("SIMtrace2", s.board));
	EXPECT_EQ(0, s.interface);
	EXPECT_NE(NULL, strstr(s.bus_path, "-1:1.0"));
	/* The slot's device hangs below the USB interface (udev's ID_PATH). */
	snprintf(path, sizeof(path), "/sys/class/remsim/remsim%u/device", b.index[0]);
	n = readlink(path, link, sizeof(link) - 1);
	ASSERT_GT(n, 0);
	link[n] = 0;
	EXPECT_NE(NULL, strstr(link, s.bus_path));
	fd = slot_open(b.index[0], O_RDWR);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, ioctl(fd, REMSIM_IOC_GET_INFO, &info));
	EXPECT_EQ(REMSIM_BACKEND_USB, info.backend);
	EXPECT_EQ(0, strcmp(s.bus_path, (char *)info.bus_path));
	EXPECT_TRUE(info.features & REMSIM_FEAT_SIM_SELECT);
	EXPECT_FALSE(info.features & REMSIM_FEAT_MODEM_RESET);
	close(fd);
	rsnl_close(nl);
	board_stop(&b);
}

struct usb_phone {
	struct test_board	*b;
	unsigned int		slot;
	struct card_profile	prof;
	struct card		*card;
	struct owner		owner;
	int			fd;
	struct modem		*modem;
	struct session_result	r;
	int			ret;
};

static void usb_phone_setup(struct usb_phone *p, struct test_board *bd, unsigned int slot,
			    unsigned int card)
{
	memset(p, 0, sizeof(*p));
	p->b = bd;
	p->slot = slot;
	card_profile_default(&p->prof, card);
	p->card = card_new(&p->prof);
	ASSERT_NE(NULL, p->card);
	p->fd = slot_open(bd->index[slot], O_RDWR);
	ASSERT_GE(p->fd, 0);
	ASSERT_EQ(0, owner_start(&p->owner, p->fd, p->card));
	ASSERT_EQ(0, board_modem(bd, slot, &p->modem));
}

static void *usb_phone_run(void *arg)
{
	struct usb_phone *p = arg;
	struct session_opts o = { .pps = true, .have_keys = true, .status_polls = 2 };

	memcpy(o.ki, p->prof.ki, 16);
	memcpy(o.opc, p->prof.opc, 16);
	o.sqn = (uint64_t)(time(NULL) & 0xffffff) << 5;
	p->ret = session_run(p->modem, &o, &p->r);
	return NULL;
}

static void usb_phone_done(struct usb_phone *p)
{
	owner_stop(&p->owner);
	modem_close(p->modem);
	close(p->fd);
	card_free(p->card);
}

TEST_TIMEOUT(phone_session_over_usb, 120)
{
	struct remsim_stats st;
	struct usb_phone p;

	start("simtrace2");
	usb_phone_setup(&p, &b, 0, 3);
	usb_phone_run(&p);
	if (p.ret)
		TH_LOG("%s", p.r.error);
	ASSERT_EQ(0, p.ret);
	EXPECT_EQ(0, strcmp(p.prof.imsi, p.r.imsi));
	ASSERT_EQ(0, ioctl(p.fd, REMSIM_IOC_GET_STATS, &st));
	EXPECT_EQ(p.r.commands, st.apdus);
	EXPECT_EQ(0, st.errors);
	EXPECT_EQ(0, st.board_errors);
	TH_LOG("%u commands over USB, median %llu us", p.r.commands,
	       (unsigned long long)session_percentile(&p.r, 50) / 1000);
	usb_phone_done(&p);
	board_stop(&b);
}

TEST_TIMEOUT(embedded_phone_of_the_board, 120)
{
	struct card_profile prof;
	struct owner owner;
	struct card *card;
	char reply[256];
	int fd;

	start("simtrace2");
	card_profile_default(&prof, 21);
	card = card_new(&prof);
	fd = slot_open(b.index[0], O_RDWR);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, owner_start(&owner, fd, card));
	/* The board's own phone: "a phone with a SIMtrace2 in its SIM slot". */
	EXPECT_EQ(0, board_cmd(&b, "session 0 21", reply, sizeof(reply)));
	TH_LOG("board: %s", reply);
	EXPECT_NE(NULL, strstr(reply, prof.imsi));
	owner_stop(&owner);
	close(fd);
	card_free(card);
	board_stop(&b);
}

TEST_TIMEOUT(two_interfaces_are_two_independent_slots, 120)
{
	struct usb_phone p[2];
	struct rsnl_slot s;
	struct rsnl *nl;
	pthread_t th[2];

	start("qmod");
	ASSERT_EQ(0, rsnl_open(&nl));
	ASSERT_EQ(0, rsnl_slot_get(nl, b.index[1], &s));
	EXPECT_EQ(1, s.interface);
	EXPECT_EQ(0, strcmp("sysmoQMOD", s.board));
	rsnl_close(nl);
	usb_phone_setup(&p[0], &b, 0, 30);
	usb_phone_setup(&p[1], &b, 1, 31);
	for (int i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, usb_phone_run, &p[i]));
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < 2; i++) {
		if (p[i].ret)
			TH_LOG("slot %d: %s", i, p[i].r.error);
		EXPECT_EQ(0, p[i].ret);
		EXPECT_EQ(0, strcmp(p[i].prof.imsi, p[i].r.imsi));
		usb_phone_done(&p[i]);
	}
	board_stop(&b);
}

struct blocked {
	int	fd;
	int	what;	/* 0 read, 1 poll */
	ssize_t	ret;
	int	err;
	short	revents;
};

/* Blocks until the slot fails: messages that come first are read and skipped. */
static void *blocked_thread(void *arg)
{
	struct blocked *x = arg;
	struct slot_msg msg;
	struct pollfd pfd = { .fd = x->fd, .events = POLLPRI };

	for (;;) {
		if (x->what == 0) {
			x->ret = read(x->fd, &msg, sizeof(msg));
			if (x->ret < 0)
				break;
		} else {
			x->ret = poll(&pfd, 1, 20000);
			x->revents = pfd.revents;
			if (x->ret <= 0 || (pfd.revents & (POLLHUP | POLLERR)))
				break;
			usleep(10000);
		}
	}
	x->err = errno;
	return NULL;
}

TEST_TIMEOUT(unplug_wakes_a_blocked_read_and_poll, 60)
{
	struct blocked r = { .what = 0 }, p = { .what = 1 };
	pthread_t tr, tp;
	struct remsim_info info;
	int fd;

	start("simtrace2");
	fd = slot_open(b.index[0], O_RDWR);
	ASSERT_GE(fd, 0);
	/* Drain what the board said at probe, then block. */
	while (!slot_read(fd, &(struct slot_msg){}, 300))
		;
	r.fd = p.fd = fd;
	ASSERT_EQ(0, pthread_create(&tr, NULL, blocked_thread, &r));
	ASSERT_EQ(0, pthread_create(&tp, NULL, blocked_thread, &p));
	usleep(300000);
	ASSERT_EQ(0, board_unplug(&b));
	pthread_join(tr, NULL);
	pthread_join(tp, NULL);
	EXPECT_EQ(-1, r.ret);
	EXPECT_EQ(ENODEV, r.err);
	EXPECT_EQ(POLLHUP | POLLERR, p.revents & (POLLHUP | POLLERR));
	EXPECT_ERRNO(ioctl(fd, REMSIM_IOC_GET_INFO, &info), ENODEV);
	close(fd);
	board_stop(&b);
}

TEST_TIMEOUT(unplug_in_the_middle_of_an_apdu, 60)
{
	uint8_t hdr[5] = { 0xa0, 0xb0, 0x00, 0x00, 0x04 };
	struct modem *m;
	struct slot_msg msg;
	uint8_t atr[33];
	size_t len;
	int fd;

	start("simtrace2");
	fd = slot_open(b.index[0], O_RDWR);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, board_modem(&b, 0, &m));
	ASSERT_EQ(0, modem_power_on(m, atr, &len));
	ASSERT_EQ(0, modem_send_bytes(m, hdr, 5));
	ASSERT_EQ(0, slot_read_type(fd, REMSIM_MSG_APDU, &msg, 10000));
	ASSERT_EQ(0, board_unplug(&b));
	EXPECT_EQ(-ENODEV, slot_respond(fd, msg.hdr.seq, (uint8_t[]){ 1, 2, 3, 4, 0x90, 0 }, 6));
	close(fd);
	modem_close(m);
	/* And the board comes back as a new slot that works. */
	ASSERT_EQ(0, board_plug(&b));
	{
		struct usb_phone p;

		usb_phone_setup(&p, &b, 0, 4);
		modem_set_tpdu_timeout(p.modem, 5000);
		usb_phone_run(&p);
		if (p.ret)
			TH_LOG("after the replug: %s", p.r.error);
		EXPECT_EQ(0, p.ret);
		usb_phone_done(&p);
	}
	board_stop(&b);
}

struct traffic {
	struct test_board	*b;
	volatile bool		stop;
	unsigned int		sessions, completed;
	unsigned int		answered;	/* commands that got their SW */
};

/* Phone sessions on whatever slot the board has, whatever happens to it. */
static void *traffic_thread(void *arg)
{
	struct traffic *t = arg;

	while (!t->stop) {
		struct usb_phone p;
		struct card_profile prof;

		memset(&p, 0, sizeof(p));
		card_profile_default(&prof, 5);
		p.card = card_new(&prof);
		p.prof = prof;
		p.fd = slot_open(t->b->index[0], O_RDWR);
		if (p.fd < 0 || owner_start(&p.owner, p.fd, p.card) ||
		    board_modem(t->b, 0, &p.modem)) {
			if (p.fd >= 0)
				close(p.fd);
			card_free(p.card);
			usleep(20000);
			continue;
		}
		modem_set_timeout(p.modem, 2000);
		modem_set_tpdu_timeout(p.modem, 3000);
		t->sessions++;
		usb_phone_run(&p);
		t->completed += !p.ret;
		t->answered += p.r.commands;
		usb_phone_done(&p);
	}
	return NULL;
}

TEST_TIMEOUT(plug_and_unplug_200_times_under_traffic, 600)
{
	struct traffic t = { .b = &b };
	pthread_t th;
	long msgs;

	start("simtrace2");
	msgs = slot_msgs_live();
	ASSERT_EQ(0, pthread_create(&th, NULL, traffic_thread, &t));
	for (int i = 0; i < 200; i++) {
		if (i % 50 == 0)
			TH_LOG("cycle %d: %u sessions, %u completed", i, t.sessions, t.completed);
		/* Between 0 and 100 ms of traffic, then the cable goes. */
		usleep((random() % 100) * 1000);
		ASSERT_EQ(0, board_unplug(&b));
		ASSERT_EQ(0, board_plug(&b));
	}
	t.stop = true;
	TH_LOG("stopping the traffic");
	pthread_join(th, NULL);
	TH_LOG("%u sessions started, %u completed, %u commands answered across 200 unplugs",
	       t.sessions, t.completed, t.answered);
	/*
	 * Commands went through between the unplugs; whether a whole session
	 * fits into 0-100 ms depends on the machine's load, so that a whole
	 * one works is checked on the board as the churn left it.
	 */
	EXPECT_GT(t.answered, 0);
	{
		struct usb_phone p;

		usb_phone_setup(&p, &b, 0, 4);
		modem_set_tpdu_timeout(p.modem, 5000);
		usb_phone_run(&p);
		if (p.ret)
			TH_LOG("after the churn: %s", p.r.error);
		EXPECT_EQ(0, p.ret);
		usb_phone_done(&p);
	}
	board_stop(&b);
	/* Every message of every slot that came and went is freed. */
	EXPECT_EQ(msgs, slot_msgs_live());
}

/* An owner that does not read: the driver parks its URBs, then goes on. */
/*
 * A board whose slot's owner (the test) reads nothing yet, with a queue of
 * four, and the test's phone on the board: the slot's fd, or -1.
 */
static int full_queue_setup(struct modem **m)
{
	int fd;

	start("simtrace2");
	if (slot_set_param("remsim", "queue_depth", "4"))
		return -1;
	fd = slot_open(b.index[0], O_RDWR);
	if (fd >= 0 && board_modem(&b, 0, m)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The queue back to its depth, the test's phone gone: a whole session works. */
static void slot_serves_again(struct modem *m, int fd)
{
	struct usb_phone p;

	slot_set_param("remsim", "queue_depth", "16");
	modem_close(m);
	close(fd);
	usb_phone_setup(&p, &b, 0, 8);
	usb_phone_run(&p);
	EXPECT_EQ(0, p.ret);
	usb_phone_done(&p);
	board_stop(&b);
}

/*
 * An owner that does not read: line changes keep coming (the interrupt URB
 * is never parked) but cost one message, merged; what a pulse was stays
 * visible in the merged message.
 */
TEST_TIMEOUT(full_queue_merges_line_changes, 120)
{
	const struct remsim_signals *sig;
	struct slot_msg msg, last = {};
	struct remsim_stats st;
	struct modem *m;
	int fd, n = 0;

	fd = full_queue_setup(&m);
	ASSERT_GE(fd, 0);
	/* Slow enough for the host to see each change; ends running. */
	for (int i = 0; i < 41; i++) {
		ASSERT_EQ(0, modem_lines(m, i % 2 ? 0x07 : 0x03));
		usleep(20000);
	}
	ASSERT_EQ(0, ioctl(fd, REMSIM_IOC_GET_STATS, &st));
	EXPECT_EQ(4, st.up_peak);
	EXPECT_GE(st.signals_merged, 30);
	EXPECT_EQ(0, st.up_backpressure);
	while (!slot_read(fd, &msg, 300)) {
		n++;
		if (msg.hdr.type == REMSIM_MSG_SIGNALS)
			last = msg;
	}
	EXPECT_EQ(4, n);
	sig = (const void *)last.payload;
	EXPECT_EQ(REMSIM_SIG_VCC | REMSIM_SIG_CLK, sig->state);
	EXPECT_TRUE(sig->changed & REMSIM_SIG_RST);
	slot_serves_again(m, fd);
}

/* PPS messages come on bulk IN: with the queue full those URBs wait. */
TEST_TIMEOUT(full_queue_parks_the_bulk_urbs, 120)
{
	struct remsim_stats st;
	struct modem *m;
	uint8_t atr[33];
	size_t atr_len;
	int fd, n = 0;

	fd = full_queue_setup(&m);
	ASSERT_GE(fd, 0);
	for (int i = 0; i < 8; i++) {
		ASSERT_EQ(0, modem_power_on(m, atr, &atr_len));
		ASSERT_EQ(0, modem_pps(m, 1, 1));
		usleep(20000);
	}
	ASSERT_EQ(0, ioctl(fd, REMSIM_IOC_GET_STATS, &st));
	EXPECT_GE(st.up_backpressure, 1);
	/* The depth, then per bulk URB a PPS and the line change after it. */
	EXPECT_LE(st.up_peak, 4 + 2 * 4);
	/* Reading lets the parked URBs go; the board kept the last three. */
	while (!slot_read(fd, &(struct slot_msg){}, 300))
		n++;
	EXPECT_GE(n, 8);
	ASSERT_EQ(0, ioctl(fd, REMSIM_IOC_GET_STATS, &st));
	EXPECT_EQ(8, st.pps);
	slot_serves_again(m, fd);
}

struct tpdu_call {
	pthread_t th;
	struct modem *m;
	uint8_t resp[8];
	size_t resp_len;
	int ret;
};

static void *tpdu_call_run(void *arg)
{
	static const uint8_t status_hdr[5] = { 0x80, 0xf2, 0x00, 0x0c, 0x00 };
	struct tpdu_call *c = arg;

	c->ret = modem_tpdu(c->m, status_hdr, NULL, false, c->resp, &c->resp_len);
	return NULL;
}

/*
 * The replug fault the fault suite found: the owner's queue full, the phone
 * resets and sends a command. The reset must reach the engine before that
 * command, or it aborts it once the owner reads and the phone waits for an
 * answer forever (before, the interrupt URB was parked with the bulk ones).
 */
TEST_TIMEOUT(reset_with_a_full_queue_does_not_abort_the_next_command, 120)
{
	struct remsim_stats st;
	struct tpdu_call c = {};
	struct slot_msg msg;
	struct modem *m;
	uint8_t atr[33];
	size_t atr_len;
	int fd;

	fd = full_queue_setup(&m);
	ASSERT_GE(fd, 0);
	modem_set_tpdu_timeout(m, 10000);
	/* Resets that fill the queue; the fourth change leaves it running. */
	for (int i = 0; i < 8; i++) {
		ASSERT_EQ(0, modem_lines(m, i % 2 ? 0x03 : 0x07));
		usleep(20000);
	}
	/* The ATRs they got, unread. */
	modem_set_timeout(m, 300);
	while (!modem_read_bytes(m, atr, 1))
		;
	modem_set_timeout(m, 2000);
	ASSERT_EQ(0, modem_power_on(m, atr, &atr_len));
	c.m = m;
	ASSERT_EQ(0, pthread_create(&c.th, NULL, tpdu_call_run, &c));
	/* The command is in the queue behind the line changes. */
	usleep(300000);
	ASSERT_EQ(0, slot_read_type(fd, REMSIM_MSG_APDU, &msg, 2000));
	ASSERT_EQ(0, slot_respond(fd, msg.hdr.seq, (const uint8_t[]){ 0x90, 0x00 }, 2));
	pthread_join(c.th, NULL);
	EXPECT_EQ(0, c.ret);
	EXPECT_EQ(2, c.resp_len);
	EXPECT_MEMEQ(((uint8_t[]){ 0x90, 0x00 }), c.resp, 2);
	ASSERT_EQ(0, ioctl(fd, REMSIM_IOC_GET_STATS, &st));
	EXPECT_EQ(0, st.aborted);
	EXPECT_EQ(1, st.responses);
	modem_close(m);
	close(fd);
	board_stop(&b);
}

/* A number from the board's status line ("reboots", "card", ...), or -1. */
static long board_status(struct test_board *bd, const char *field)
{
	char reply[256], key[40], *p;

	if (board_cmd(bd, "status", reply, sizeof(reply)))
		return -1;
	snprintf(key, sizeof(key), " %s=", field);
	p = strstr(reply, key);
	return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

/*
 * Waits up to 5 s for a status field to read @value: the board applies a
 * message a moment after the host's transfer of it completed.
 */
static long board_status_wait(struct test_board *bd, const char *field, long value)
{
	long v;

	for (int waited = 0; (v = board_status(bd, field)) != value && waited < 5000; waited += 10)
		usleep(10000);
	return v;
}

/* Waits until the board rebooted since it had @reboots, and is set up again. */
static int board_rebooted(struct test_board *bd, long reboots)
{
	for (int waited = 0; board_status(bd, "reboots") <= reboots; waited += 10) {
		if (waited >= 10000)
			return -ETIMEDOUT;
		usleep(10000);
	}
	return board_wait_ready(bd);
}

/* The next REMSIM_MSG_ERROR's code, its APDU in *ref_seq; -errno when none. */
static int slot_read_error(int fd, uint64_t *ref_seq)
{
	const struct remsim_error *err;
	struct slot_msg msg;
	int ret = slot_read_type(fd, REMSIM_MSG_ERROR, &msg, 5000);

	if (ret)
		return ret;
	err = (const void *)msg.payload;
	*ref_seq = err->ref_seq;
	return err->code;
}

/*
 * A USB reset from user space while the owner holds an APDU it read: the
 * slot stays (the same /dev/remsimN, the owner's file works on), that APDU
 * is reported aborted and cannot be answered any more, the rebooted board
 * gets the owner's ATR and card-present line again, and the phone's next
 * session works. Before, a reset unbound the driver: a new slot, the file
 * dead.
 */
TEST_TIMEOUT(usb_reset_mid_apdu_keeps_the_slot_and_its_owner, 180)
{
	const uint8_t hdr[5] = { 0xa0, 0xb0, 0x00, 0x00, 0x04 };
	struct remsim_card inserted = { .inserted = 1 };
	struct remsim_atr set = {};
	struct remsim_info info;
	struct remsim_stats st;
	struct slot_msg apdu;
	struct usb_phone p;
	struct rsnl_slot s;
	struct rsnl *nl;
	const uint8_t *card_atr_bytes;
	uint8_t atr[33], seen[64];
	uint64_t ref = 0;
	size_t atr_len, card_atr_len, got;
	long reboots;

	start("simtrace2");
	memset(&p, 0, sizeof(p));
	p.b = &b;
	card_profile_default(&p.prof, 12);
	p.card = card_new(&p.prof);
	ASSERT_NE(NULL, p.card);
	p.fd = slot_open(b.index[0], O_RDWR);
	ASSERT_GE(p.fd, 0);
	/* What the owner sets, the board must have again after its reboot. */
	card_atr_bytes = card_atr(&card_atr_len);
	set.len = card_atr_len;
	memcpy(set.atr, card_atr_bytes, card_atr_len);
	ASSERT_EQ(0, ioctl(p.fd, REMSIM_IOC_SET_ATR, &set));
	ASSERT_EQ(0, ioctl(p.fd, REMSIM_IOC_CARD_INSERT, &inserted));
	ASSERT_EQ(1, board_status_wait(&b, "card", 1));
	ASSERT_EQ(0, board_modem(&b, 0, &p.modem));
	ASSERT_EQ(0, modem_power_on(p.modem, atr, &atr_len));
	ASSERT_EQ(card_atr_len, atr_len);
	reboots = board_status(&b, "reboots");

	/* The owner has read the command and not answered it: reset. */
	ASSERT_EQ(0, modem_send_bytes(p.modem, hdr, 5));
	ASSERT_EQ(0, slot_read_type(p.fd, REMSIM_MSG_APDU, &apdu, 10000));
	ASSERT_EQ(0, board_usb_reset());

	/* The same slot and file. */
	ASSERT_EQ(0, ioctl(p.fd, REMSIM_IOC_GET_INFO, &info));
	EXPECT_EQ(b.index[0], info.index);
	ASSERT_EQ(0, rsnl_open(&nl));
	EXPECT_EQ(0, rsnl_slot_get(nl, b.index[0], &s));
	EXPECT_EQ(REMSIM_BACKEND_USB, s.backend);
	rsnl_close(nl);
	ASSERT_EQ(0, board_rebooted(&b, reboots));
	EXPECT_EQ(1, board_status(&b, "card"));

	/* The command is over: reported once, answerable no more. */
	EXPECT_EQ(REMSIM_ERR_ABORTED, slot_read_error(p.fd, &ref));
	EXPECT_EQ(apdu.hdr.seq, ref);
	EXPECT_EQ(REMSIM_ERR_BOARD, slot_read_error(p.fd, &ref));
	EXPECT_EQ(-ESTALE, slot_respond(p.fd, apdu.hdr.seq, (const uint8_t[]){ 0x90, 0 }, 2));

	/*
	 * The phone was powered when the board enabled emulation again: the
	 * firmware answered that with an ATR of its own accord, the owner's
	 * one, since it came before the SIM select. (NULL bytes the phone's
	 * command got before the reset may come first.)
	 */
	modem_set_timeout(p.modem, 300);
	for (got = 0; got < sizeof(seen) && !modem_read_bytes(p.modem, seen + got, 1); got++)
		;
	modem_set_timeout(p.modem, 2000);
	ASSERT_GE(got, card_atr_len);
	EXPECT_MEMEQ(card_atr_bytes, seen + got - card_atr_len, card_atr_len);

	/* The owner's ATR again, and a whole session through the same file. */
	ASSERT_EQ(0, modem_power_on(p.modem, atr, &atr_len));
	ASSERT_EQ(card_atr_len, atr_len);
	EXPECT_MEMEQ(card_atr_bytes, atr, atr_len);
	ASSERT_EQ(0, ioctl(p.fd, REMSIM_IOC_RESET_STATS));
	ASSERT_EQ(0, owner_start(&p.owner, p.fd, p.card));
	usb_phone_run(&p);
	if (p.ret)
		TH_LOG("after the reset: %s", p.r.error);
	EXPECT_EQ(0, p.ret);
	EXPECT_EQ(0, strcmp(p.prof.imsi, p.r.imsi));
	/* Every command once to the owner, each answered once. */
	ASSERT_EQ(0, ioctl(p.fd, REMSIM_IOC_GET_STATS, &st));
	EXPECT_EQ(p.r.commands, st.apdus);
	EXPECT_EQ(p.r.commands, st.responses);
	EXPECT_EQ(0, st.stale_responses);
	usb_phone_done(&p);
	board_stop(&b);
}

static int read_line(const char *dir, const char *name, char *buf, size_t size)
{
	char path[160];
	FILE *f;
	int ret;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	ret = fgets(buf, size, f) ? 0 : -EIO;
	fclose(f);
	buf[strcspn(buf, "\n")] = 0;
	return ret;
}

static int write_attr(const char *dir, const char *name, const char *value)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return write_file(path, value);
}

static void restore_power(const char *dev)
{
	write_attr(dev, "power/control", "on");
	write_attr(dev, "power/autosuspend_delay_ms", "2000");
}

/*
 * The administrator's runtime-PM policy of the board is left alone: a probe
 * no longer switches power/control to "on" for good (it stayed so after
 * unbind); a bound board still never autosuspends (the firmware would
 * reboot), whatever the policy says.
 */
TEST_TIMEOUT(probe_leaves_the_autosuspend_policy_alone, 180)
{
	char dev[96], value[32];
	struct usb_phone p;

	start("simtrace2");
	ASSERT_EQ(0, board_usb_sysfs(dev, sizeof(dev)));
	/* No autosuspend while unbound below: the delay is longer than that. */
	ASSERT_EQ(0, write_attr(dev, "power/autosuspend_delay_ms", "60000"));
	ASSERT_EQ(0, write_attr(dev, "power/control", "auto"));
	ASSERT_EQ(0, board_rebind(&b));
	ASSERT_EQ(0, read_line(dev, "power/control", value, sizeof(value)));
	EXPECT_EQ(0, strcmp("auto", value));
	if (strcmp("auto", value))
		TH_LOG("power/control after a probe: %s", value);

	/* Autosuspend at once, if anything allowed it: the board stays up. */
	ASSERT_EQ(0, write_attr(dev, "power/control", "auto"));
	ASSERT_EQ(0, write_attr(dev, "power/autosuspend_delay_ms", "0"));
	usleep(500000);
	ASSERT_EQ(0, read_line(dev, "power/runtime_status", value, sizeof(value)));
	EXPECT_EQ(0, strcmp("active", value));
	EXPECT_EQ(0, board_status(&b, "suspends"));
	usb_phone_setup(&p, &b, 0, 13);
	usb_phone_run(&p);
	if (p.ret)
		TH_LOG("with autosuspend allowed: %s", p.r.error);
	EXPECT_EQ(0, p.ret);
	usb_phone_done(&p);
	restore_power(dev);
	board_stop(&b);
}

struct in_noise {
	struct test_board	*b;
	volatile bool		stop;
};

/* Messages the driver ignores: IN completions, each of which pumps. */
static void *in_noise_thread(void *arg)
{
	struct in_noise *n = arg;
	char reply[64];

	while (!n->stop)
		board_cmd(n->b, "misbehave 0 unknown", reply, sizeof(reply));
	return NULL;
}

/*
 * Raw mode, the answer in two writes (procedure byte and data, then the
 * status word) while IN completions pump too: the modem must get them in
 * order. Taking a transmission off the slot and queueing it for the board
 * are one step. The window without that is a few instructions: this test
 * is not known to fail without it, but it is the load that would show a swap.
 */
TEST_TIMEOUT(raw_answers_stay_in_order_while_completions_pump, 300)
{
	struct remsim_mode mode = { .mode = REMSIM_MODE_RAW };
	uint8_t hdr[5] = { 0xa0, 0xb0, 0x00, 0x00, 0x04 };
	struct in_noise noise = { .b = &b };
	struct modem *m;
	uint8_t atr[33];
	pthread_t th;
	size_t len;
	int fd;

	start("simtrace2");
	fd = slot_open(b.index[0], O_RDWR);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, ioctl(fd, REMSIM_IOC_SET_MODE, &mode));
	ASSERT_EQ(0, board_modem(&b, 0, &m));
	ASSERT_EQ(0, modem_power_on(m, atr, &len));
	ASSERT_EQ(0, pthread_create(&th, NULL, in_noise_thread, &noise));
	for (int i = 0; i < 100; i++) {
		uint8_t data[5] = { 0xb0, i, i + 1, i + 2, i + 3 };
		struct phone_call call;
		struct slot_msg msg;

		ASSERT_EQ(0, phone_tpdu_start(&call, m, hdr, NULL, true));
		ASSERT_EQ(0, slot_read_type(fd, REMSIM_MSG_TPDU_HEADER, &msg, 5000));
		ASSERT_EQ(0, slot_write(fd, REMSIM_MSG_TPDU_SEND, 0, data, sizeof(data)));
		ASSERT_EQ(0, slot_write(fd, REMSIM_MSG_TPDU_STATUS, 0, (uint8_t[]){ 0x90, 0 }, 2));
		ASSERT_EQ(0, phone_call_wait(&call));
		ASSERT_EQ(6, call.resp_len);
		ASSERT_EQ(0, memcmp(data + 1, call.resp, 4));
		ASSERT_EQ(0x9000, call.sw);
	}
	noise.stop = true;
	pthread_join(th, NULL);
	modem_close(m);
	close(fd);
	board_stop(&b);
}

struct ctrl_probe {
	struct test_board	*b;
	int			fd;	/* the slot whose interface goes last */
	int			unplug;
	int			ret;
	uint64_t		ns;
};

/*
 * In the fault of an ioctl that holds the mutex of the slot whose interface
 * the hub removes first: the board unplugs, the device is marked gone, and
 * its removal stops at that slot. The other slot is still there, but no URB
 * can be submitted for it any more.
 */
static void control_while_going(void *arg)
{
	struct remsim_card card = { .inserted = 1 };
	struct ctrl_probe *p = arg;
	char reply[64];
	uint64_t t0;

	p->unplug = board_cmd(p->b, "unplug", reply, sizeof(reply));
	usleep(1500000);
	t0 = now_ns();
	p->ret = ioctl(p->fd, REMSIM_IOC_CARD_INSERT, &card) ? -errno : 0;
	p->ns = now_ns() - t0;
}

/*
 * A control message that cannot be submitted fails its ioctl at once with
 * the submission's error; it did time out after 2 s, and the driver kept a
 * pointer to the freed message.
 */
TEST_TIMEOUT(control_message_that_cannot_be_submitted_fails_at_once, 120)
{
	struct ctrl_probe p = { .b = &b };
	struct remsim_info info[2];
	struct uffd_page u;
	int fd[2], first;

	start("qmod");
	for (int i = 0; i < 2; i++) {
		fd[i] = slot_open(b.index[i], O_RDWR);
		ASSERT_GE(fd[i], 0);
		ASSERT_EQ(0, ioctl(fd[i], REMSIM_IOC_GET_INFO, &info[i]));
	}
	/* The hub removes the interfaces in the order of their numbers. */
	first = info[0].interface < info[1].interface ? 0 : 1;
	p.fd = fd[!first];
	ASSERT_EQ(0, uffd_page_start(&u, control_while_going, &p, 10000));
	EXPECT_NE(0, ioctl(fd[first], REMSIM_IOC_SET_ATR, u.page));
	ASSERT_TRUE(uffd_page_done(&u));
	EXPECT_EQ(0, p.unplug);
	TH_LOG("card insert while the board goes: %d after %llu ms", p.ret,
	       (unsigned long long)(p.ns / 1000000));
	EXPECT_EQ(-ENODEV, p.ret);
	EXPECT_LT(p.ns, 1000000000ull);
	close(fd[0]);
	close(fd[1]);
	board_stop(&b);
}

static uint64_t board_errors(unsigned int index)
{
	struct remsim_stats st;
	int fd = slot_open(index, O_RDWR);

	if (fd < 0)
		return ~0ull;
	if (ioctl(fd, REMSIM_IOC_GET_STATS, &st))
		st.board_errors = ~0ull;
	close(fd);
	return st.board_errors;
}

static void misbehave(const char *kind, bool counted)
{
	struct usb_phone p;
	char cmd[64], reply[128];
	uint64_t before;

	start("simtrace2");
	before = board_errors(b.index[0]);
	snprintf(cmd, sizeof(cmd), "misbehave 0 %s", kind);
	ASSERT_EQ(0, board_cmd(&b, cmd, reply, sizeof(reply)));
	/* Counted, once the driver saw it; then the slot works on. */
	for (int i = 0; counted && i < 100 && board_errors(b.index[0]) == before; i++)
		usleep(20000);
	if (counted)
		EXPECT_GT(board_errors(b.index[0]), before);
	usb_phone_setup(&p, &b, 0, 6);
	usb_phone_run(&p);
	if (p.ret)
		TH_LOG("after %s: %s", kind, p.r.error);
	EXPECT_EQ(0, p.ret);
	usb_phone_done(&p);
	board_stop(&b);
}

TEST_TIMEOUT(misbehaving_board_msg_len_over_the_transfer, 180)
{
	misbehave("badlen", true);
}

TEST_TIMEOUT(misbehaving_board_msg_len_0, 180)
{
	misbehave("msglen0", true);
}

TEST_TIMEOUT(misbehaving_board_short_transfer, 180)
{
	misbehave("short", true);
}

TEST_TIMEOUT(misbehaving_board_unknown_message, 180)
{
	misbehave("unknown", true);
}

TEST_TIMEOUT(misbehaving_board_data_len_lies, 180)
{
	misbehave("datalen", true);
}

TEST_TIMEOUT(misbehaving_board_garbage_stream, 180)
{
	misbehave("garbage", true);
}

TEST_TIMEOUT(misbehaving_board_stalls, 180)
{
	misbehave("stall", true);
}

TEST_TIMEOUT(misbehaving_board_status_flood, 180)
{
	misbehave("flood", false);
}

TEST_TIMEOUT(misbehaving_board_stops_reading, 180)
{
	misbehave("pause", false);
}

KTAP_MAIN
