// SPDX-License-Identifier: GPL-2.0
/*
 * netlink_test - the generic netlink family "remsim": every command with
 * missing, out-of-range and unexpected attributes (refused, with an
 * extended ACK naming the attribute), dumps of many slots, mapping,
 * unprivileged callers (the public view, the groups they may join, the
 * full view through the node's group), owner PIDs in PID namespaces, and
 * the events of every change.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <grp.h>
#include <pthread.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <libmnl/libmnl.h>

#include "ktap.h"
#include "modem.h"
#include "remsim/nl.h"
#include "sim_modem.h"
#include "slotdev.h"
#include "uffd.h"
#include "measure.h"

static struct slot_fixture fx;
static char buf[RSNL_MSG_SIZE];

static void setup(void)
{
	ASSERT_EQ(0, slot_fixture(&fx, -1));
}

/* The request failed with err and the kernel blamed attribute attr. */
#define EXPECT_REFUSED(call, err, attr) do {					\
	EXPECT_EQ(-(err), call);						\
	EXPECT_EQ(attr, rsnl_err_attr(fx.nl));					\
	TH_LOG("extack: \"%s\"", rsnl_errmsg(fx.nl));				\
} while (0)

static struct nlmsghdr *msg(uint8_t cmd)
{
	return rsnl_msg(fx.nl, buf, cmd, 0);
}

TEST(slot_get_reports_the_slot)
{
	static const uint8_t atr[] = { 0x3b, 0x80, 0x80, 0x81, 0x1f, 0xc7, 0x59 };
	struct rsnl_slot s;
	char name[32];
	int fd;

	setup();
	ASSERT_EQ(0, rsnl_slot_get(fx.nl, fx.index, &s));
	snprintf(name, sizeof(name), "remsim%u", fx.index);
	EXPECT_EQ(fx.index, s.index);
	EXPECT_EQ(0, strcmp(name, s.name));
	EXPECT_EQ(REMSIM_BACKEND_SIM, s.backend);
	EXPECT_EQ(0, strcmp("sim", s.bus_path));
	EXPECT_EQ(0, strcmp("remsim_sim", s.board));
	EXPECT_FALSE(s.owned);
	EXPECT_FALSE(s.map.mapped);
	EXPECT_EQ(REMSIM_T0_IDLE, s.t0_state);
	ASSERT_EQ(sizeof(atr), s.atr_len);
	EXPECT_MEMEQ(atr, s.atr, sizeof(atr));
	fd = slot_open(fx.index, O_RDWR);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, rsnl_slot_get(fx.nl, fx.index, &s));
	EXPECT_TRUE(s.owned);
	EXPECT_EQ(getpid(), s.owner_pid);
	ASSERT_EQ(0, modem_lines(fx.modem, SIM_MODEM_VCC));
	ASSERT_EQ(0, rsnl_slot_get(fx.nl, fx.index, &s));
	EXPECT_EQ(REMSIM_SIG_VCC, s.signals);
	EXPECT_EQ(1, s.stats.power_cycles + 1);
	EXPECT_GE(s.stats.bytes_up, sizeof(struct remsim_signals));
	close(fd);
}

TEST(slot_get_attribute_errors)
{
	struct nlmsghdr *nlh;

	setup();
	/* Missing index. */
	EXPECT_REFUSED(rsnl_transact(fx.nl, msg(REMSIM_CMD_SLOT_GET), NULL, NULL),
		       EINVAL, REMSIM_A_SLOT_INDEX);
	/* Out of range. */
	nlh = msg(REMSIM_CMD_SLOT_GET);
	mnl_attr_put_u32(nlh, REMSIM_A_SLOT_INDEX, 1024);
	EXPECT_REFUSED(rsnl_transact(fx.nl, nlh, NULL, NULL), ERANGE, REMSIM_A_SLOT_INDEX);
	/* No such slot. */
	nlh = msg(REMSIM_CMD_SLOT_GET);
	mnl_attr_put_u32(nlh, REMSIM_A_SLOT_INDEX, 1023);
	EXPECT_REFUSED(rsnl_transact(fx.nl, nlh, NULL, NULL), ENODEV, REMSIM_A_SLOT_INDEX);
	EXPECT_EQ(0, strcmp("no such slot", rsnl_errmsg(fx.nl)));
	/* Too short for a u32. */
	nlh = msg(REMSIM_CMD_SLOT_GET);
	mnl_attr_put_u16(nlh, REMSIM_A_SLOT_INDEX, fx.index);
	EXPECT_REFUSED(rsnl_transact(fx.nl, nlh, NULL, NULL), EINVAL, REMSIM_A_SLOT_INDEX);
	/* An attribute the command does not take. */
	nlh = msg(REMSIM_CMD_SLOT_GET);
	mnl_attr_put_u32(nlh, REMSIM_A_SLOT_INDEX, fx.index);
	mnl_attr_put_strz(nlh, REMSIM_A_SLOT_NAME, "remsim0");
	EXPECT_REFUSED(rsnl_transact(fx.nl, nlh, NULL, NULL), EINVAL, REMSIM_A_SLOT_NAME);
	/* One the family does not know. */
	nlh = msg(REMSIM_CMD_SLOT_GET);
	mnl_attr_put_u32(nlh, REMSIM_A_SLOT_INDEX, fx.index);
	mnl_attr_put_u32(nlh, 200, 1);
	EXPECT_REFUSED(rsnl_transact(fx.nl, nlh, NULL, NULL), EINVAL, 200);
	/* A dump is of every slot (a dump's error carries a message only). */
	nlh = rsnl_msg(fx.nl, buf, REMSIM_CMD_SLOT_GET, NLM_F_DUMP);
	mnl_attr_put_u32(nlh, REMSIM_A_SLOT_INDEX, fx.index);
	EXPECT_EQ(-EINVAL, rsnl_transact(fx.nl, nlh, NULL, NULL));
	EXPECT_NE(NULL, strstr(rsnl_errmsg(fx.nl), "dump"));
	/* An unknown command. */
	EXPECT_EQ(-EOPNOTSUPP, rsnl_transact(fx.nl, msg(REMSIM_CMD_SLOT_ADD_NTF), NULL, NULL));
	EXPECT_EQ(-EOPNOTSUPP, rsnl_transact(fx.nl, msg(99), NULL, NULL));
}

static struct nlmsghdr *map_msg(uint32_t index, struct nlattr **nest)
{
	struct nlmsghdr *nlh = msg(REMSIM_CMD_SLOT_SET);

	mnl_attr_put_u32(nlh, REMSIM_A_SLOT_INDEX, index);
	*nest = mnl_attr_nest_start(nlh, REMSIM_A_SLOT_MAP);
	return nlh;
}

TEST(slot_set_attribute_errors)
{
	struct nlmsghdr *nlh;
	struct nlattr *nest;

	setup();
	nlh = msg(REMSIM_CMD_SLOT_SET);
	mnl_attr_put_u32(nlh, REMSIM_A_SLOT_INDEX, fx.index);
	EXPECT_REFUSED(rsnl_transact(fx.nl, nlh, NULL, NULL), EINVAL, REMSIM_A_SLOT_MAP);

	nlh = map_msg(fx.index, &nest);
	mnl_attr_put_u32(nlh, REMSIM_MAP_A_CLIENT_ID, 1);
	mnl_attr_nest_end(nlh, nest);
	EXPECT_REFUSED(rsnl_transact(fx.nl, nlh, NULL, NULL), EINVAL, REMSIM_MAP_A_CLIENT_SLOT);

	nlh = map_msg(fx.index, &nest);
	mnl_attr_put_u32(nlh, REMSIM_MAP_A_CLIENT_ID, 1024);
	mnl_attr_put_u32(nlh, REMSIM_MAP_A_CLIENT_SLOT, 0);
	mnl_attr_nest_end(nlh, nest);
	EXPECT_REFUSED(rsnl_transact(fx.nl, nlh, NULL, NULL), ERANGE, REMSIM_MAP_A_CLIENT_ID);

	nlh = map_msg(1023, &nest);
	mnl_attr_put_u32(nlh, REMSIM_MAP_A_CLIENT_ID, 1);
	mnl_attr_put_u32(nlh, REMSIM_MAP_A_CLIENT_SLOT, 2);
	mnl_attr_nest_end(nlh, nest);
	EXPECT_REFUSED(rsnl_transact(fx.nl, nlh, NULL, NULL), ENODEV, REMSIM_A_SLOT_INDEX);

	/* After all that, still unmapped. */
	{
		struct rsnl_slot s;

		ASSERT_EQ(0, rsnl_slot_get(fx.nl, fx.index, &s));
		EXPECT_FALSE(s.map.mapped);
	}
}

/*
 * The static bank target is user-space configuration (remsimctl's targets
 * file): each of its old attributes is refused, alone or with the others,
 * with an extended ACK that names it and says so, and the slot keeps its
 * map.
 */
TEST(static_target_attributes_are_refused)
{
	static const struct {
		uint16_t attr;
		const char *name;
	} old[] = {
		{ REMSIM_MAP_A_BANK_ID, "bank-id" },
		{ REMSIM_MAP_A_BANK_SLOT, "bank-slot" },
		{ REMSIM_MAP_A_BANKD_HOST, "bankd-host" },
		{ REMSIM_MAP_A_BANKD_PORT, "bankd-port" },
	};
	struct rsnl_map map = { .client_id = 5, .client_slot = 6 };
	struct nlmsghdr *nlh;
	struct nlattr *nest;
	struct rsnl_slot s;
	unsigned int i;

	setup();
	ASSERT_EQ(0, rsnl_slot_set(fx.nl, fx.index, &map));
	for (i = 0; i < sizeof(old) / sizeof(old[0]); i++) {
		nlh = map_msg(fx.index, &nest);
		mnl_attr_put_u32(nlh, REMSIM_MAP_A_CLIENT_ID, 1);
		mnl_attr_put_u32(nlh, REMSIM_MAP_A_CLIENT_SLOT, 2);
		if (old[i].attr == REMSIM_MAP_A_BANKD_HOST)
			mnl_attr_put_strz(nlh, old[i].attr, "10.0.0.7");
		else if (old[i].attr == REMSIM_MAP_A_BANKD_PORT)
			mnl_attr_put_u16(nlh, old[i].attr, 9999);
		else
			mnl_attr_put_u32(nlh, old[i].attr, 3);
		mnl_attr_nest_end(nlh, nest);
		EXPECT_REFUSED(rsnl_transact(fx.nl, nlh, NULL, NULL), EINVAL, old[i].attr);
		EXPECT_NE(NULL, strstr(rsnl_errmsg(fx.nl), old[i].name));
		EXPECT_NE(NULL, strstr(rsnl_errmsg(fx.nl), "user-space configuration"));
	}
	/* all four, as the first releases sent them */
	nlh = map_msg(fx.index, &nest);
	mnl_attr_put_u32(nlh, REMSIM_MAP_A_CLIENT_ID, 1);
	mnl_attr_put_u32(nlh, REMSIM_MAP_A_CLIENT_SLOT, 2);
	mnl_attr_put_u32(nlh, REMSIM_MAP_A_BANK_ID, 3);
	mnl_attr_put_u32(nlh, REMSIM_MAP_A_BANK_SLOT, 4);
	mnl_attr_put_strz(nlh, REMSIM_MAP_A_BANKD_HOST, "bank.example.net");
	mnl_attr_put_u16(nlh, REMSIM_MAP_A_BANKD_PORT, 9999);
	mnl_attr_nest_end(nlh, nest);
	EXPECT_REFUSED(rsnl_transact(fx.nl, nlh, NULL, NULL), EINVAL, REMSIM_MAP_A_BANK_ID);
	EXPECT_NE(NULL, strstr(rsnl_errmsg(fx.nl), "static bank target"));
	ASSERT_EQ(0, rsnl_slot_get(fx.nl, fx.index, &s));
	EXPECT_TRUE(s.map.mapped);
	EXPECT_EQ(5, s.map.client_id);
	EXPECT_EQ(6, s.map.client_slot);
}

TEST(map_remap_and_unmap)
{
	struct rsnl_map map = { .client_id = 1023, .client_slot = 0 };
	struct rsnl_slot s;

	setup();
	EXPECT_REFUSED(rsnl_slot_unset(fx.nl, fx.index), ENOENT, REMSIM_A_SLOT_INDEX);
	ASSERT_EQ(0, rsnl_slot_set(fx.nl, fx.index, &map));
	ASSERT_EQ(0, rsnl_slot_get(fx.nl, fx.index, &s));
	EXPECT_TRUE(s.map.mapped);
	EXPECT_EQ(1023, s.map.client_id);
	EXPECT_EQ(0, s.map.client_slot);
	/* A new identity replaces the old one. */
	map = (struct rsnl_map){ .client_id = 7, .client_slot = 3 };
	ASSERT_EQ(0, rsnl_slot_set(fx.nl, fx.index, &map));
	ASSERT_EQ(0, rsnl_slot_get(fx.nl, fx.index, &s));
	EXPECT_EQ(7, s.map.client_id);
	EXPECT_EQ(3, s.map.client_slot);
	ASSERT_EQ(0, rsnl_slot_unset(fx.nl, fx.index));
	ASSERT_EQ(0, rsnl_slot_get(fx.nl, fx.index, &s));
	EXPECT_FALSE(s.map.mapped);
}

/*
 * One identity, one slot, in the kernel: a raw netlink caller (not only
 * remsimctl) cannot give a second slot an identity a slot has; the same
 * slot may be told it again, and once the first lets it go it is free.
 */
TEST(one_identity_one_slot_over_raw_netlink)
{
	struct rsnl_map map = { .client_id = 42, .client_slot = 1 };
	struct rsnl_slot other, s;

	setup();
	ASSERT_EQ(0, rsnl_sim_new(fx.nl, true, &other));
	ASSERT_EQ(0, rsnl_slot_set(fx.nl, fx.index, &map));
	EXPECT_EQ(0, rsnl_slot_set(fx.nl, fx.index, &map));
	EXPECT_REFUSED(rsnl_slot_set(fx.nl, other.index, &map), EEXIST, REMSIM_A_SLOT_MAP);
	EXPECT_EQ(0, strcmp("another slot has this client identity (one identity, one slot)",
			    rsnl_errmsg(fx.nl)));
	ASSERT_EQ(0, rsnl_slot_get(fx.nl, other.index, &s));
	EXPECT_FALSE(s.map.mapped);
	/* another slot number of the same client is another identity */
	map.client_slot = 2;
	EXPECT_EQ(0, rsnl_slot_set(fx.nl, other.index, &map));
	map.client_slot = 1;
	ASSERT_EQ(0, rsnl_slot_unset(fx.nl, fx.index));
	EXPECT_EQ(0, rsnl_slot_set(fx.nl, other.index, &map));
	ASSERT_EQ(0, rsnl_slot_get(fx.nl, other.index, &s));
	EXPECT_EQ(1, s.map.client_slot);
	EXPECT_EQ(0, rsnl_sim_del(fx.nl, other.index));
}

TEST(sim_commands_attribute_errors)
{
	struct nlmsghdr *nlh;

	setup();
	EXPECT_REFUSED(rsnl_transact(fx.nl, msg(REMSIM_CMD_SIM_DEL), NULL, NULL),
		       EINVAL, REMSIM_A_SLOT_INDEX);
	EXPECT_REFUSED(rsnl_sim_del(fx.nl, 1023), ENODEV, REMSIM_A_SLOT_INDEX);
	nlh = msg(REMSIM_CMD_SIM_NEW);
	mnl_attr_put_u32(nlh, REMSIM_A_SLOT_INDEX, 3);
	EXPECT_REFUSED(rsnl_transact(fx.nl, nlh, NULL, NULL), EINVAL, REMSIM_A_SLOT_INDEX);
	nlh = msg(REMSIM_CMD_SIM_NEW);
	mnl_attr_put_u32(nlh, REMSIM_A_SIM_DESTROY_ON_CLOSE, 1);	/* not a flag */
	EXPECT_REFUSED(rsnl_transact(fx.nl, nlh, NULL, NULL), ERANGE,
		       REMSIM_A_SIM_DESTROY_ON_CLOSE);
}

#define NOBODY		65534
#define NODE_GROUP	4242	/* stands for the remsim group of udev's rule */

/* Run as nobody (no CAP_NET_ADMIN), in @group too unless 0. */
static int as_nobody_in(void (*fn)(void), gid_t group)
{
	int status;
	pid_t pid = fork();

	if (!pid) {
		if (setgroups(group ? 1 : 0, &group) ||
		    setresgid(NOBODY, NOBODY, NOBODY) || setresuid(NOBODY, NOBODY, NOBODY))
			_exit(99);
		fn();
		_exit(ktap_expect_failed);
	}
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 98;
}

static int as_nobody(void (*fn)(void))
{
	return as_nobody_in(fn, 0);
}

static void unprivileged_calls(void)
{
	struct rsnl_map map = { .client_id = 1, .client_slot = 1 };
	struct rsnl_slot s;
	struct rsnl *nl;

	ASSERT_EQ(0, rsnl_open(&nl));
	EXPECT_EQ(0, rsnl_slot_get(nl, fx.index, &s));
	EXPECT_EQ(-EPERM, rsnl_slot_set(nl, fx.index, &map));
	EXPECT_EQ(-EPERM, rsnl_slot_unset(nl, fx.index));
	EXPECT_EQ(-EPERM, rsnl_sim_new(nl, true, &s));
	EXPECT_EQ(-EPERM, rsnl_sim_del(nl, fx.index));
	rsnl_close(nl);
}

TEST(unprivileged_callers_may_only_look)
{
	struct rsnl_slot s;

	setup();
	EXPECT_EQ(0, as_nobody(unprivileged_calls));
	ASSERT_EQ(0, rsnl_slot_get(fx.nl, fx.index, &s));
	EXPECT_FALSE(s.map.mapped);
}

/* The slot mapped, owned by the harness. */
static void map_and_own(void)
{
	struct rsnl_map map = { .client_id = 7, .client_slot = 3 };

	ASSERT_EQ(0, rsnl_slot_set(fx.nl, fx.index, &map));
	fx.fd = slot_open(fx.index, O_RDWR);
	ASSERT_GE(fx.fd, 0);
}

/* What nobody may see of the fixture's slot: its identity and state only. */
static void expect_public(const struct rsnl_slot *s)
{
	EXPECT_EQ(fx.index, s->index);
	EXPECT_EQ(REMSIM_BACKEND_SIM, s->backend);
	EXPECT_EQ(0, strcmp("sim", s->bus_path));
	EXPECT_TRUE(s->limited);
	EXPECT_TRUE(s->owned);
	EXPECT_EQ(0, s->owner_pid);
	EXPECT_FALSE(s->map.mapped);
	EXPECT_EQ(0, s->atr_len);
	EXPECT_EQ(0, s->stats.power_cycles + s->stats.bytes_up);
}

static int public_one(const struct rsnl_slot *slot, void *arg)
{
	if (slot->index == fx.index) {
		expect_public(slot);
		++*(int *)arg;
	}
	return 0;
}

static void public_reads(void)
{
	struct rsnl_slot s;
	struct rsnl *nl;
	int seen = 0;

	ASSERT_EQ(0, rsnl_open(&nl));
	ASSERT_EQ(0, rsnl_slot_get(nl, fx.index, &s));
	expect_public(&s);
	ASSERT_EQ(0, rsnl_slot_dump(nl, public_one, &seen, NULL));
	EXPECT_EQ(1, seen);
	rsnl_close(nl);
}

TEST(unprivileged_callers_see_the_public_view)
{
	struct rsnl_slot s;

	setup();
	map_and_own();
	ASSERT_EQ(0, modem_lines(fx.modem, SIM_MODEM_VCC));
	EXPECT_EQ(0, as_nobody(public_reads));
	/* the admin still sees everything */
	ASSERT_EQ(0, rsnl_slot_get(fx.nl, fx.index, &s));
	EXPECT_FALSE(s.limited);
	EXPECT_EQ(getpid(), s.owner_pid);
	EXPECT_EQ(3, s.map.client_slot);
	EXPECT_GT(s.atr_len, 0);
}

static int sync_pipe[2];

/* nobody: "events" refused, "slots" tells of a change without its content. */
static void join_groups(void)
{
	struct pollfd pfd;
	struct rsnl_event e;
	struct rsnl *ev;

	ASSERT_EQ(0, rsnl_open(&ev));
	EXPECT_EQ(-EPERM, rsnl_subscribe(ev));
	ASSERT_EQ(0, rsnl_subscribe_slots(ev));
	ASSERT_EQ(1, write(sync_pipe[1], "j", 1));
	pfd = (struct pollfd){ .fd = rsnl_fd(ev), .events = POLLIN };
	for (;;) {
		ASSERT_EQ(1, poll(&pfd, 1, 3000));
		ASSERT_EQ(0, rsnl_event_recv(ev, &e));
		if (e.slot.index == fx.index && e.cmd == REMSIM_CMD_SLOT_CHANGE_NTF)
			break;
	}
	EXPECT_TRUE(e.slot.limited);
	EXPECT_FALSE(e.slot.map.mapped);
	rsnl_close(ev);
}

TEST(unprivileged_callers_join_only_the_slots_group)
{
	struct rsnl_map map = { .client_id = 5, .client_slot = 6 };
	int status;
	char c;
	pid_t pid;

	setup();
	ASSERT_EQ(0, pipe(sync_pipe));
	pid = fork();
	if (!pid)
		_exit(as_nobody(join_groups));
	close(sync_pipe[1]);	/* a child that fails before joining: EOF */
	ASSERT_EQ(1, read(sync_pipe[0], &c, 1));
	ASSERT_EQ(0, rsnl_slot_set(fx.nl, fx.index, &map));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

static unsigned int other_index;

/* A member of the node's group: the full view of that slot, not of others. */
static void group_reads(void)
{
	struct rsnl_slot s;
	struct rsnl *nl;

	ASSERT_EQ(0, rsnl_open(&nl));
	ASSERT_EQ(0, rsnl_slot_get(nl, fx.index, &s));
	EXPECT_FALSE(s.limited);
	EXPECT_TRUE(s.map.mapped);
	EXPECT_EQ(7, s.map.client_id);
	EXPECT_EQ(3, s.map.client_slot);
	EXPECT_EQ(getppid(), s.owner_pid);
	ASSERT_EQ(0, rsnl_slot_get(nl, other_index, &s));
	EXPECT_TRUE(s.limited);
	rsnl_close(nl);
}

TEST(the_nodes_group_sees_its_slots_in_full)
{
	struct rsnl_slot other;
	char node[32];

	setup();
	map_and_own();
	ASSERT_EQ(0, rsnl_sim_new(fx.nl, true, &other));
	other_index = other.index;
	snprintf(node, sizeof(node), "/dev/remsim%u", fx.index);
	/* what 60-remsim.rules does: GROUP="remsim", MODE="0660" */
	ASSERT_EQ(0, chown(node, 0, NODE_GROUP));
	ASSERT_EQ(0, chmod(node, 0660));
	EXPECT_EQ(0, as_nobody_in(group_reads, NODE_GROUP));
	/* read-only access is not enough: the owner reads and writes */
	ASSERT_EQ(0, chmod(node, 0640));
	EXPECT_EQ(0, as_nobody_in(public_reads, NODE_GROUP));
}

/* Runs fn as PID 1 of a new PID namespace; its exit status. */
static int in_new_pidns(void (*fn)(void))
{
	int status;
	pid_t pid = fork();

	if (!pid) {
		pid_t inner;

		if (unshare(CLONE_NEWPID))
			_exit(97);
		inner = fork();
		if (!inner) {
			fn();
			_exit(ktap_expect_failed);
		}
		waitpid(inner, &status, 0);
		_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 98);
	}
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 98;
}

/* The harness owns the slot: not visible from inside. */
static void pidns_outside_owner(void)
{
	struct rsnl_slot s;

	ASSERT_EQ(0, rsnl_slot_get(fx.nl, fx.index, &s));
	EXPECT_TRUE(s.owned);
	EXPECT_EQ(0, s.owner_pid);
}

/* We own it: our PID here, 1. */
static void pidns_own(void)
{
	struct rsnl_slot s;
	int fd = slot_open(fx.index, O_RDWR);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(1, getpid());
	ASSERT_EQ(0, rsnl_slot_get(fx.nl, fx.index, &s));
	EXPECT_TRUE(s.owned);
	EXPECT_EQ(1, s.owner_pid);
	close(fd);
}

TEST(owner_pids_are_in_the_readers_pid_namespace)
{
	setup();
	fx.fd = slot_open(fx.index, O_RDWR);
	ASSERT_GE(fx.fd, 0);
	EXPECT_EQ(0, in_new_pidns(pidns_outside_owner));
	close(fx.fd);
	fx.fd = -1;
	EXPECT_EQ(0, in_new_pidns(pidns_own));
}

static int collect(const struct rsnl_slot *slot, void *arg)
{
	int *seen = arg;

	seen[slot->index]++;
	return 0;
}

TEST_TIMEOUT(dump_many_slots, 120)
{
	static int seen[1024];
	int index[150];
	struct rsnl_slot s;
	bool intr;

	setup();
	for (int i = 0; i < 150; i++) {
		ASSERT_EQ(0, rsnl_sim_new(fx.nl, true, &s));
		index[i] = s.index;
	}
	ASSERT_EQ(0, rsnl_slot_dump(fx.nl, collect, seen, &intr));
	EXPECT_FALSE(intr);
	EXPECT_EQ(1, seen[fx.index]);
	for (int i = 0; i < 150; i++)
		EXPECT_EQ(1, seen[index[i]]);
}

struct churn {
	volatile bool stop;
	int created;
};

static void *churn_thread(void *arg)
{
	struct churn *c = arg;
	struct rsnl *nl;

	if (rsnl_open(&nl))
		return NULL;
	while (!c->stop) {
		struct rsnl_slot s;

		if (!rsnl_sim_new(nl, false, &s)) {
			c->created++;
			rsnl_sim_del(nl, s.index);
		}
	}
	rsnl_close(nl);
	return NULL;
}

/* Dumps while slots come and go: each is complete or says it was not. */
TEST_TIMEOUT(dump_while_slots_change, 120)
{
	struct churn c = {};
	int interrupted = 0;
	pthread_t th;

	setup();
	for (int i = 0; i < 60; i++)
		ASSERT_EQ(0, rsnl_sim_new(fx.nl, true, NULL));
	ASSERT_EQ(0, pthread_create(&th, NULL, churn_thread, &c));
	for (int round = 0; round < 40; round++) {
		static int seen[1024];
		bool intr;

		memset(seen, 0, sizeof(seen));
		ASSERT_EQ(0, rsnl_slot_dump(fx.nl, collect, seen, &intr));
		interrupted += intr;
		for (int i = 0; i < 1024; i++)
			ASSERT_LE(seen[i], 1);
	}
	c.stop = true;
	pthread_join(th, NULL);
	EXPECT_GT(c.created, 0);
	TH_LOG("%d of 40 dumps interrupted while %d slots came and went", interrupted, c.created);
}

static void expect_event(struct rsnl *ev, uint8_t cmd, struct rsnl_event *e)
{
	struct pollfd pfd = { .fd = rsnl_fd(ev), .events = POLLIN };

	for (;;) {
		ASSERT_EQ(1, poll(&pfd, 1, 3000));
		ASSERT_EQ(0, rsnl_event_recv(ev, e));
		if (e->slot.index == fx.index && e->cmd == cmd)
			return;
	}
}

struct busy_probe {
	unsigned int	index;
	volatile bool	done;
	int		ret;
	uint64_t	ns;		/* what the requests took */
	pthread_t	thread;
};

static int count_one(const struct rsnl_slot *slot, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

/* A dump, a get and a map of the busy slot, timed. */
static void *busy_probe_thread(void *arg)
{
	struct rsnl_map map = { .client_id = 7, .client_slot = 1 };
	struct busy_probe *p = arg;
	struct rsnl_slot s;
	struct rsnl *nl;
	uint64_t t0;
	int n = 0;

	p->ret = rsnl_open(&nl);
	if (p->ret)
		goto out;
	t0 = now_ns();
	p->ret = rsnl_slot_dump(nl, count_one, &n, NULL) ?: rsnl_slot_get(nl, p->index, &s) ?:
		 rsnl_slot_set(nl, p->index, &map) ?: rsnl_slot_unset(nl, p->index);
	p->ns = now_ns() - t0;
	if (!p->ret && (n < 1 || !s.owned))
		p->ret = -EINVAL;
	rsnl_close(nl);
out:
	p->done = true;
	return NULL;
}

/* In the fault of the ioctl that holds the slot's mutex: probe, 3 s at most. */
static void probe_while_busy(void *arg)
{
	struct busy_probe *p = arg;

	if (pthread_create(&p->thread, NULL, busy_probe_thread, p))
		return;
	for (int i = 0; i < 300 && !p->done; i++)
		usleep(10000);
}

/*
 * An ioctl may hold a slot's mutex for long (a USB board has 2 s to take a
 * control message; here a user buffer that faults). Listing, getting and
 * mapping slots must not wait for it: they hold the genl lock, so one slow
 * board would stall every generic netlink family and other boards' hotplug.
 */
TEST(netlink_does_not_wait_for_a_busy_slot)
{
	struct busy_probe p = { .index = 0 };
	struct uffd_page u;

	ASSERT_EQ(0, slot_fixture(&fx, O_RDWR));
	p.index = fx.index;
	ASSERT_EQ(0, uffd_page_start(&u, probe_while_busy, &p, 10000));
	/* Zeros once released: an invalid ATR. */
	EXPECT_ERRNO(ioctl(fx.fd, REMSIM_IOC_SET_ATR, u.page), EINVAL);
	ASSERT_TRUE(uffd_page_done(&u));
	EXPECT_TRUE(p.done);
	pthread_join(p.thread, NULL);
	EXPECT_EQ(0, p.ret);
	TH_LOG("the requests took %llu ms", (unsigned long long)(p.ns / 1000000));
	EXPECT_LT(p.ns, 1000000000ull);
}

TEST(events_for_every_change)
{
	struct rsnl_map map = { .client_id = 5, .client_slot = 6 };
	struct remsim_atr atr = { .len = 2, .atr = { 0x3b, 0x00 } };
	uint8_t hdr[] = { 0xa0, 0x77, 0x00, 0x00, 0x00 };
	struct rsnl_event e;
	struct rsnl *ev;
	struct rsnl_slot s;
	uint8_t b[2];
	int fd;

	ASSERT_EQ(0, slot_modules_load());
	ASSERT_EQ(0, rsnl_open(&ev));
	ASSERT_EQ(0, rsnl_subscribe(ev));
	setup();
	expect_event(ev, REMSIM_CMD_SLOT_ADD_NTF, &e);
	EXPECT_EQ(REMSIM_BACKEND_SIM, e.slot.backend);

	ASSERT_EQ(0, rsnl_slot_set(fx.nl, fx.index, &map));
	expect_event(ev, REMSIM_CMD_SLOT_CHANGE_NTF, &e);
	EXPECT_TRUE(e.slot.map.mapped);
	EXPECT_EQ(5, e.slot.map.client_id);
	EXPECT_EQ(6, e.slot.map.client_slot);

	fd = slot_open(fx.index, O_RDWR);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, ioctl(fd, REMSIM_IOC_SET_ATR, &atr));
	expect_event(ev, REMSIM_CMD_SLOT_CHANGE_NTF, &e);
	EXPECT_EQ(2, e.slot.atr_len);

	ASSERT_EQ(0, modem_lines(fx.modem, SIM_MODEM_VCC | SIM_MODEM_RST));
	expect_event(ev, REMSIM_CMD_SLOT_SIGNAL_NTF, &e);
	EXPECT_EQ(REMSIM_SIG_VCC | REMSIM_SIG_RST, e.slot.signals);
	EXPECT_EQ(REMSIM_SIG_VCC | REMSIM_SIG_RST, e.signals_changed);
	ASSERT_EQ(0, modem_power_on(fx.modem, (uint8_t[33]){}, &(size_t){0}));

	ASSERT_EQ(0, modem_send_bytes(fx.modem, hdr, 5));
	ASSERT_EQ(0, modem_read_bytes(fx.modem, b, 2));
	expect_event(ev, REMSIM_CMD_SLOT_ERROR_NTF, &e);
	EXPECT_EQ(REMSIM_ERR_UNKNOWN_INS, e.error);

	ASSERT_EQ(0, rsnl_slot_unset(fx.nl, fx.index));
	expect_event(ev, REMSIM_CMD_SLOT_CHANGE_NTF, &e);
	EXPECT_FALSE(e.slot.map.mapped);

	ASSERT_EQ(0, rsnl_sim_del(fx.nl, fx.index));
	expect_event(ev, REMSIM_CMD_SLOT_DEL_NTF, &e);
	EXPECT_EQ(-ENODEV, rsnl_slot_get(fx.nl, fx.index, &s));
	close(fd);
	rsnl_close(ev);
}

KTAP_MAIN
