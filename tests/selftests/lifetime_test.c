// SPDX-License-Identifier: GPL-2.0
/*
 * lifetime_test - slots that go away under their users: blocked readers,
 * writers and pollers wake, every later call fails with ENODEV, the memory
 * goes with the last close; module unload with open files; many opens and
 * many slots without a leak; destroy-on-close; interrupted waits.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "kmod.h"
#include "ktap.h"
#include "modem.h"
#include "remsim/nl.h"
#include "sim_modem.h"
#include "slotdev.h"
#include "measure.h"

static struct slot_fixture fx;

struct blocked {
	int		fd;
	ssize_t		ret;
	int		err;
	short		revents;
	int		what;	/* 0 read, 1 poll, 2 write */
	struct slot_msg	msg;
};

static void *blocked_thread(void *arg)
{
	struct blocked *b = arg;
	struct pollfd pfd = { .fd = b->fd, .events = POLLIN };

	switch (b->what) {
	case 0:
		b->ret = read(b->fd, &b->msg, sizeof(b->msg));
		break;
	case 1:
		b->ret = poll(&pfd, 1, 10000);
		b->revents = pfd.revents;
		break;
	case 2:
		b->ret = write(b->fd, &b->msg, sizeof(b->msg.hdr) + b->msg.hdr.len);
		break;
	}
	b->err = errno;
	return NULL;
}

static void dev_node_gone(unsigned int index)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/dev/remsim%u", index);
	ASSERT_ERRNO(stat(path, &st), ENOENT);
}

TEST(removal_wakes_blocked_reader_and_poller)
{
	struct blocked r = { .what = 0 }, p = { .what = 1 };
	pthread_t tr, tp;
	struct remsim_info info;

	ASSERT_EQ(0, slot_fixture(&fx, O_RDWR));
	r.fd = p.fd = fx.fd;
	ASSERT_EQ(0, pthread_create(&tr, NULL, blocked_thread, &r));
	ASSERT_EQ(0, pthread_create(&tp, NULL, blocked_thread, &p));
	usleep(300000);
	ASSERT_EQ(0, rsnl_sim_del(fx.nl, fx.index));
	pthread_join(tr, NULL);
	pthread_join(tp, NULL);
	EXPECT_EQ(-1, r.ret);
	EXPECT_EQ(ENODEV, r.err);
	EXPECT_EQ(1, p.ret);
	EXPECT_EQ(POLLHUP | POLLERR, p.revents & (POLLHUP | POLLERR));
	/* Everything after fails the same way; close still works. */
	EXPECT_ERRNO(read(fx.fd, &r.msg, sizeof(r.msg)), ENODEV);
	EXPECT_ERRNO(ioctl(fx.fd, REMSIM_IOC_GET_INFO, &info), ENODEV);
	EXPECT_ERRNO(write(fx.fd, &r.msg, sizeof(r.msg.hdr) + 2), ENODEV);
	dev_node_gone(fx.index);
	EXPECT_EQ(0, close(fx.fd));
	fx.fd = -1;
}

TEST(removal_wakes_a_writer_waiting_for_room)
{
	struct remsim_mode mode = { .mode = REMSIM_MODE_RAW };
	struct blocked w = { .what = 2 };
	pthread_t tw;
	int n;

	ASSERT_EQ(0, slot_fixture(&fx, O_RDWR | O_NONBLOCK));
	ASSERT_EQ(0, ioctl(fx.fd, REMSIM_IOC_SET_MODE, &mode));
	/* No TPDU under way keeps raw status words queued: fill the queue. */
	ASSERT_EQ(0, slot_fixture_power_on(&fx));
	for (n = 0; n < 100; n++)
		if (slot_write(fx.fd, REMSIM_MSG_TPDU_STATUS, 0, (uint8_t[]){ 0x90, 0 }, 2))
			break;
	EXPECT_EQ(16, n);
	EXPECT_EQ(0, poll(&(struct pollfd){ .fd = fx.fd, .events = POLLOUT }, 1, 0));
	ASSERT_EQ(0, fcntl(fx.fd, F_SETFL, O_RDWR));
	w.fd = fx.fd;
	w.msg.hdr.type = REMSIM_MSG_TPDU_STATUS;
	w.msg.hdr.len = 2;
	w.msg.payload[0] = 0x90;
	ASSERT_EQ(0, pthread_create(&tw, NULL, blocked_thread, &w));
	usleep(300000);
	ASSERT_EQ(0, rsnl_sim_del(fx.nl, fx.index));
	pthread_join(tw, NULL);
	EXPECT_EQ(-1, w.ret);
	EXPECT_EQ(ENODEV, w.err);
}

TEST(modem_side_fails_after_removal)
{
	uint8_t atr[33];
	size_t len;

	ASSERT_EQ(0, slot_fixture(&fx, O_RDWR));
	ASSERT_EQ(0, rsnl_sim_del(fx.nl, fx.index));
	EXPECT_NE(0, modem_power_on(fx.modem, atr, &len));
	EXPECT_EQ(0, close(fx.fd));
	fx.fd = -1;
}

static void on_alarm(int sig)
{
}

TEST(signal_interrupts_a_blocked_read)
{
	struct sigaction sa = { .sa_handler = on_alarm };	/* no SA_RESTART */
	struct slot_msg msg;

	ASSERT_EQ(0, slot_fixture(&fx, O_RDWR));
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	alarm(1);
	EXPECT_ERRNO(read(fx.fd, &msg, sizeof(msg)), EINTR);
	/* The slot is unharmed. */
	ASSERT_EQ(0, slot_fixture_power_on(&fx));
}

TEST_TIMEOUT(unload_with_open_files, 120)
{
	struct remsim_info info;

	ASSERT_EQ(0, slot_fixture(&fx, O_RDWR));
	/*
	 * Open slots do not pin the simulation (its modem files do);
	 * unloading it removes them.
	 */
	rsnl_close(fx.nl);
	fx.nl = NULL;
	modem_close(fx.modem);
	fx.modem = NULL;
	ASSERT_EQ(0, kmod_unload("remsim_sim"));
	EXPECT_ERRNO(ioctl(fx.fd, REMSIM_IOC_GET_INFO, &info), ENODEV);
	dev_node_gone(fx.index);
	/* The slot core stays while a file is open. */
	EXPECT_NE(0, kmod_unload("remsim"));
	EXPECT_TRUE(kmod_loaded("remsim"));
	close(fx.fd);
	fx.fd = -1;
	ASSERT_EQ(0, kmod_unload("remsim"));
	ASSERT_EQ(0, slot_modules_load());
}

TEST_TIMEOUT(thousand_opens_leak_nothing, 120)
{
	long msgs;

	ASSERT_EQ(0, slot_fixture(&fx, -1));
	msgs = slot_msgs_live();
	ASSERT_GE(msgs, 0);
	for (int i = 0; i < 1000; i++) {
		int fd = slot_open(fx.index, O_RDWR);

		ASSERT_GE(fd, 0);
		if (i % 100 == 0)
			ASSERT_EQ(0, modem_lines(fx.modem, i % 200 ? SIM_MODEM_VCC : 0));
		ASSERT_EQ(0, close(fd));
	}
	/* The nine line changes wait for the next owner; nothing else stays. */
	EXPECT_EQ(msgs + 9, slot_msgs_live());
}

static int count_slots(const struct rsnl_slot *slot, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

/*
 * Whether the kernel runs generic KASAN (make selftests-debug): its
 * quarantine holds freed objects back from the slab for a while, so they
 * still count as active in /proc/slabinfo. kmemleak looks for leaks there.
 */
static bool kasan_quarantine(void)
{
	return system("grep -q ' kasan_quarantine_put$' /proc/kallsyms") == 0;
}

TEST_TIMEOUT(hundred_slots_come_and_go_without_a_leak, 240)
{
	struct rsnl *nl;
	int index[100], fds[100], n = 0;
	long slots_before;

	ASSERT_EQ(0, kmod_unload_all());
	ASSERT_EQ(0, slot_modules_load());
	ASSERT_EQ(0, rsnl_open(&nl));
	slots_before = slot_slab_active("remsim_slot");
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 100; i++) {
			struct rsnl_slot s;

			ASSERT_EQ(0, rsnl_sim_new(nl, false, &s));
			index[i] = s.index;
			fds[i] = slot_open(s.index, O_RDWR);
			ASSERT_GE(fds[i], 0);
		}
		n = 0;
		ASSERT_EQ(0, rsnl_slot_dump(nl, count_slots, &n, NULL));
		EXPECT_EQ(100, n);
		/* Half go while open, half after closing. */
		for (int i = 0; i < 100; i++) {
			if (i % 2)
				close(fds[i]);
			ASSERT_EQ(0, rsnl_sim_del(nl, index[i]));
			if (!(i % 2))
				close(fds[i]);
		}
		n = 0;
		ASSERT_EQ(0, rsnl_slot_dump(nl, count_slots, &n, NULL));
		EXPECT_EQ(0, n);
	}
	EXPECT_EQ(0, slot_msgs_live());
	/* Within one slab of where it started, after 200 slots. */
	if (kasan_quarantine())
		TH_LOG("KASAN's quarantine: the slab count shows no leak, kmemleak does");
	else
		EXPECT_LE(slot_slab_active("remsim_slot"), slots_before + 8);
	rsnl_close(nl);
	/*
	 * With slub_debug, destroying the caches at unload reports any object
	 * left behind as a BUG, which fails the whole run.
	 */
	ASSERT_EQ(0, kmod_unload_all());
	ASSERT_EQ(0, slot_modules_load());
}

/* The char major of remsim (/proc/devices), or -1. */
static int remsim_major(void)
{
	FILE *f = fopen("/proc/devices", "re");
	char line[128], name[64];
	int major = -1, m;

	if (!f)
		return -1;
	/* Character devices come first; a block device is never "remsim". */
	while (major < 0 && fgets(line, sizeof(line), f))
		if (sscanf(line, "%d %63s", &m, name) == 2 && !strcmp(name, "remsim"))
			major = m;
	fclose(f);
	return major;
}

struct racer {
	const char	*node;
	volatile bool	stop;
	unsigned int	writes;		/* raw status words that got in */
};

/*
 * An owner as quick as can be: open the node the moment it works, raw
 * mode, a status word for the modem - which has the backend pump at once.
 */
static void *racer_thread(void *arg)
{
	struct remsim_mode mode = { .mode = REMSIM_MODE_RAW };
	struct racer *r = arg;

	while (!r->stop) {
		int fd = open(r->node, O_RDWR | O_NONBLOCK | O_CLOEXEC);

		if (fd < 0)
			continue;
		if (!ioctl(fd, REMSIM_IOC_SET_MODE, &mode) &&
		    !slot_write(fd, REMSIM_MSG_TPDU_STATUS, 0, (uint8_t[]){ 0x90, 0x00 }, 2))
			r->writes++;
		close(fd);
	}
	return NULL;
}

/*
 * A slot is published (node, lookups, slot-added event) only once its
 * backend is ready for it: an owner that opens the node as soon as it
 * exists must not find a backend without its slot. A mknod'ed node of the
 * index the next slot gets opens the moment the char device is there.
 */
TEST_TIMEOUT(owner_racing_slot_creation, 240)
{
	struct racer r = { .node = "/tmp/remsim-race" };
	struct rsnl_slot s;
	struct rsnl *nl;
	pthread_t th;
	int major;

	ASSERT_EQ(0, slot_modules_load());
	ASSERT_EQ(0, rsnl_open(&nl));
	major = remsim_major();
	ASSERT_GE(major, 0);
	/* The lowest free index comes next: this one. */
	ASSERT_EQ(0, rsnl_sim_new(nl, false, &s));
	ASSERT_EQ(0, rsnl_sim_del(nl, s.index));
	unlink(r.node);
	ASSERT_EQ(0, mknod(r.node, S_IFCHR | 0600, makedev(major, s.index)));
	ASSERT_EQ(0, pthread_create(&th, NULL, racer_thread, &r));
	for (int i = 0; i < 300; i++) {
		struct rsnl_slot n;

		ASSERT_EQ(0, rsnl_sim_new(nl, false, &n));
		EXPECT_EQ(s.index, n.index);
		ASSERT_EQ(0, rsnl_sim_del(nl, n.index));
	}
	r.stop = true;
	pthread_join(th, NULL);
	unlink(r.node);
	rsnl_close(nl);
	TH_LOG("%u raw writes got in", r.writes);
	EXPECT_GT(r.writes, 0);
}

struct modem_reader {
	int		fd;
	ssize_t		ret;
	uint8_t		rec[SIM_MODEM_MAX_RECORD];
};

static void *modem_reader_thread(void *arg)
{
	struct modem_reader *r = arg;

	r->ret = read(r->fd, r->rec, sizeof(r->rec));
	return NULL;
}

/*
 * The modem file is a stream: a thread blocked reading it must not keep
 * another from writing the very line change that wakes it (a seekable
 * file's position lock would).
 */
TEST(modem_file_reads_and_writes_at_once)
{
	uint8_t reset[4] = { SIM_MODEM_LINES, 1, 0, SIM_MODEM_VCC | SIM_MODEM_CLK | SIM_MODEM_RST };
	uint8_t run[4] = { SIM_MODEM_LINES, 1, 0, SIM_MODEM_VCC | SIM_MODEM_CLK };
	struct modem_reader r = { .ret = -2 };
	char path[128];
	pthread_t th;
	uint64_t t0;
	ssize_t n;

	ASSERT_EQ(0, slot_fixture(&fx, -1));
	/* The fixture's phone has the file; this test drives it itself. */
	modem_close(fx.modem);
	fx.modem = NULL;
	snprintf(path, sizeof(path), "/sys/kernel/debug/remsim_sim/remsim%u/modem", fx.index);
	r.fd = open(path, O_RDWR | O_CLOEXEC);
	ASSERT_GE(r.fd, 0);
	ASSERT_EQ(0, pthread_create(&th, NULL, modem_reader_thread, &r));
	usleep(200000);
	t0 = now_ns();
	/* Power, clock, reset released: the card answers with its ATR. */
	n = write(r.fd, reset, sizeof(reset));
	EXPECT_EQ((ssize_t)sizeof(reset), n);
	n = write(r.fd, run, sizeof(run));
	EXPECT_EQ((ssize_t)sizeof(run), n);
	EXPECT_LT(now_ns() - t0, 1000000000ull);
	pthread_join(th, NULL);
	EXPECT_GT(r.ret, 0);
	close(r.fd);
}

TEST(destroy_on_close)
{
	struct rsnl_slot s, got;
	struct rsnl *owner, *nl;

	ASSERT_EQ(0, slot_modules_load());
	ASSERT_EQ(0, rsnl_open(&owner));
	ASSERT_EQ(0, rsnl_open(&nl));
	ASSERT_EQ(0, rsnl_sim_new(owner, true, &s));
	ASSERT_EQ(0, rsnl_slot_get(nl, s.index, &got));
	rsnl_close(owner);
	EXPECT_EQ(-ENODEV, rsnl_slot_get(nl, s.index, &got));
	dev_node_gone(s.index);
	rsnl_close(nl);
}

TEST(slots_parameter)
{
	int n = 0;
	struct rsnl *nl;

	ASSERT_EQ(0, kmod_unload_all());
	ASSERT_EQ(0, kmod_load("remsim", ""));
	ASSERT_EQ(0, kmod_load("remsim_sim", "slots=3"));
	ASSERT_EQ(0, rsnl_open(&nl));
	ASSERT_EQ(0, rsnl_slot_dump(nl, count_slots, &n, NULL));
	EXPECT_EQ(3, n);
	rsnl_close(nl);
	ASSERT_EQ(0, kmod_unload_all());
	ASSERT_EQ(0, slot_modules_load());
}

KTAP_MAIN
