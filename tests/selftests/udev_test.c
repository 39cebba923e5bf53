// SPDX-License-Identifier: GPL-2.0
/*
 * udev_test - udev/60-remsim.rules under Debian's real systemd-udevd,
 * driven by the uevents of the software USB board being plugged and
 * unplugged: /dev/remsimN for the remsim group (0660), stable names under
 * /dev/remsim/by-path (udev's ID_PATH, which remsimctl shows and resolves
 * alike, and the older port name) and by-id that point at the new node
 * after every replug and go away on unplug, and the maps of
 * /etc/remsim/slots.conf
 * applied by "remsimctl apply --slot" as the slots appear (a bank target
 * to /run/remsim/targets).
 */
#define _GNU_SOURCE
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "board.h"
#include "daemon.h"
#include "ktap.h"
#include "remsim/nl.h"
#include "slotdev.h"

#define UDEVD	"/lib/systemd/systemd-udevd"

static char rules[PATH_MAX];

/* udevd with our rules; the group the rules name. */
static void start_udevd(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (access(UDEVD, X_OK))
		SKIP("no systemd-udevd (apt-get install udev)");
	ASSERT_GT(n, 0);
	exe[n] = 0;
	/* build/tests/selftests/udev_test -> build/udev/60-remsim.rules */
	snprintf(rules, sizeof(rules), "%s/../../udev/60-remsim.rules", dirname(exe));
	ASSERT_EQ(0, access(rules, R_OK));
	ASSERT_EQ(0, slot_modules_load());
	/* the VM's root is a chroot: udevadm would ignore requests */
	setenv("SYSTEMD_IGNORE_CHROOT", "1", 1);
	if (!getgrnam("remsim"))
		ASSERT_EQ(0, shell("echo 'remsim:x:990:' >> /etc/group"));
	ASSERT_EQ(0, shell("mkdir -p /run/udev/rules.d /etc/remsim && cp %s /run/udev/rules.d/",
			rules));
	if (shell("pidof systemd-udevd >/dev/null"))
		ASSERT_EQ(0, shell(UDEVD " --daemon >/dev/null 2>&1"));
	ASSERT_EQ(0, shell("udevadm control --reload && udevadm settle -t 30"));
}

static bool mapped_to(unsigned int index, unsigned int client, unsigned int slot)
{
	struct rsnl_slot s;
	struct rsnl *nl;
	bool ok;

	if (rsnl_open(&nl))
		return false;
	ok = !rsnl_slot_get(nl, index, &s) && s.map.mapped && s.map.client_id == client &&
	     s.map.client_slot == slot;
	rsnl_close(nl);
	return ok;
}

/* Where the link points: the index of /dev/remsimN, or -1. */
static int link_index(const char *link)
{
	char real[PATH_MAX];
	int index = -1;

	if (!realpath(link, real) || sscanf(real, "/dev/remsim%d", &index) != 1)
		return -1;
	return index;
}

static void expect_node(unsigned int index)
{
	char node[32];
	struct group *g = getgrnam("remsim");
	struct stat st;

	snprintf(node, sizeof(node), "/dev/remsim%u", index);
	ASSERT_EQ(0, stat(node, &st));
	EXPECT_EQ(0660, st.st_mode & 0777);
	ASSERT_TRUE(g != NULL);
	EXPECT_EQ(g->gr_gid, st.st_gid);
}

/* udev's ID_PATH of /dev/remsimN into @buf ("" if none). */
static void udev_id_path(unsigned int index, char *buf, size_t size)
{
	char cmd[160];
	FILE *p;

	buf[0] = 0;
	snprintf(cmd, sizeof(cmd), "udevadm info -q property -n /dev/remsim%u | "
		 "sed -n 's/^ID_PATH=//p'", index);
	p = popen(cmd, "r");
	if (!p)
		return;
	if (fgets(buf, size, p))
		buf[strcspn(buf, "\n")] = 0;
	pclose(p);
}

/* Whether "remsimctl -j show N" names the slot @name. */
static bool ctl_names(unsigned int index, const char *name)
{
	char cmd[256], want[160];

	snprintf(want, sizeof(want), "\"stable_name\":\"%s\"", name);
	snprintf(cmd, sizeof(cmd), "%s -j show %u | grep -qF '%s'", daemon_bin_fast("remsimctl"),
		 index, want);
	return !shell("%s", cmd);
}

#define ID_PATH0	"platform-dummy_hcd.0-usb-0:1:1.0"

TEST_TIMEOUT(board_comes_up_named_and_mapped, 300)
{
	char serial[64] = "", link[160];
	struct test_board b;
	FILE *f;

	start_udevd();
	/* slot 0 of the board at 1-1 is client 60:0 */
	f = fopen("/etc/remsim/slots.conf", "w");
	ASSERT_TRUE(f != NULL);
	fprintf(f, "# the test rack\nby-path/" ID_PATH0 "  client 60 slot 0\n");
	fclose(f);

	ASSERT_EQ(0, board_start(&b, "qmod", 0));
	ASSERT_EQ(0, shell("udevadm settle -t 30"));
	expect_node(b.index[0]);
	expect_node(b.index[1]);
	/* the controller by its device, not by bus number; the older name too */
	EXPECT_EQ((int)b.index[0], link_index("/dev/remsim/by-path/" ID_PATH0));
	EXPECT_EQ((int)b.index[0], link_index("/dev/remsim/by-path/1-1-if0"));
	EXPECT_EQ((int)b.index[1], link_index("/dev/remsim/by-path/1-1-if1"));
	udev_id_path(b.index[1], link, sizeof(link));
	EXPECT_EQ(0, strcmp("platform-dummy_hcd.0-usb-0:1:1.1", link));
	EXPECT_TRUE(ctl_names(b.index[1], link));
	EXPECT_TRUE(ctl_names(b.index[0], ID_PATH0));
	f = fopen("/sys/bus/usb/devices/1-1/serial", "r");
	ASSERT_TRUE(f != NULL);
	ASSERT_TRUE(fscanf(f, "%63s", serial) == 1);
	fclose(f);
	snprintf(link, sizeof(link), "/dev/remsim/by-id/%s-if1", serial);
	EXPECT_EQ((int)b.index[1], link_index(link));
	EXPECT_TRUE(mapped_to(b.index[0], 60, 0));
	EXPECT_FALSE(mapped_to(b.index[1], 61, 0));

	/* the other slot by serial from now on */
	f = fopen("/etc/remsim/slots.conf", "a");
	ASSERT_TRUE(f != NULL);
	fprintf(f, "by-id/%s-if1  client 61 slot 0 bank 2 slot 5 via 10.0.0.9:9999\n", serial);
	fclose(f);

	/* unplugged: the names go; plugged again: new nodes, the same names, mapped */
	ASSERT_EQ(0, board_unplug(&b));
	ASSERT_EQ(0, shell("udevadm settle -t 30"));
	EXPECT_NE(0, access("/dev/remsim/by-path/1-1-if0", F_OK));
	EXPECT_NE(0, access("/dev/remsim/by-path/" ID_PATH0, F_OK));
	EXPECT_NE(0, access(link, F_OK));
	ASSERT_EQ(0, board_plug(&b));
	ASSERT_EQ(0, shell("udevadm settle -t 30"));
	EXPECT_EQ((int)b.index[0], link_index("/dev/remsim/by-path/" ID_PATH0));
	EXPECT_EQ((int)b.index[1], link_index(link));
	EXPECT_TRUE(mapped_to(b.index[0], 60, 0));
	EXPECT_TRUE(mapped_to(b.index[1], 61, 0));
	/* the kernel has the identity, the targets file the bank target */
	EXPECT_EQ(0, shell("grep -qx 'client 61 slot 0 bank 2 slot 5 via 10.0.0.9:9999' "
			   "/run/remsim/targets"));
	EXPECT_NE(0, shell("grep -q 'client 60 slot 0' /run/remsim/targets"));
	board_stop(&b);
	ASSERT_EQ(0, shell("udevadm settle -t 30"));
	shell("udevadm control --exit");
}

/*
 * What the rules wrote stays on the guest for the next programs: a stale
 * static target for client 61 once sent client_usb_test's slot of that
 * identity to 10.0.0.9 instead of its bankd.
 */
static void after_each(void)
{
	unlink("/etc/remsim/slots.conf");
	unlink("/run/remsim/targets");
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	ktap_after_each(after_each);
	return ktap_main(argc, argv);
}
