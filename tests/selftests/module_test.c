// SPDX-License-Identifier: GPL-2.0
/*
 * module_test - remsim.ko loads, unloads and reloads cleanly, and leaves
 * nothing behind: no module, class, char device region or device node.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ktap.h"
#include "kmod.h"
#include "slotdev.h"

static int path_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* Whether /proc/devices lists a "remsim" char major. */
static int major_registered(void)
{
	char line[128];
	int found = 0;
	FILE *f = fopen("/proc/devices", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, " remsim\n"))
			found = 1;
	fclose(f);
	return found;
}

static int remsim_nodes(void)
{
	struct dirent *d;
	int n = 0;
	DIR *dir = opendir("/dev");

	if (!dir)
		return -1;
	while ((d = readdir(dir)))
		n += !strncmp(d->d_name, "remsim", 6);
	closedir(dir);
	return n;
}

static void assert_loaded(void)
{
	ASSERT_TRUE(path_exists("/sys/module/remsim"));
	ASSERT_TRUE(path_exists("/sys/class/remsim"));
	ASSERT_EQ(1, major_registered());
}

static void assert_gone(void)
{
	ASSERT_FALSE(path_exists("/sys/module/remsim"));
	ASSERT_FALSE(path_exists("/sys/class/remsim"));
	ASSERT_EQ(0, major_registered());
	ASSERT_EQ(0, remsim_nodes());
}

TEST(load_and_unload)
{
	ASSERT_EQ(0, kmod_unload_all());
	assert_gone();
	ASSERT_EQ(0, kmod_load("remsim", ""));
	assert_loaded();
	ASSERT_EQ(0, kmod_unload("remsim"));
	assert_gone();
}

TEST(load_twice_is_refused)
{
	ASSERT_EQ(0, kmod_unload_all());
	ASSERT_EQ(0, kmod_load("remsim", ""));
	ASSERT_EQ(-EEXIST, kmod_load("remsim", ""));
	assert_loaded();
	ASSERT_EQ(0, kmod_unload("remsim"));
	assert_gone();
}

TEST_TIMEOUT(reload_50_times, 240)
{
	ASSERT_EQ(0, kmod_unload_all());
	for (int i = 0; i < 50; i++) {
		ASSERT_EQ(0, kmod_load("remsim", ""));
		assert_loaded();
		ASSERT_EQ(0, kmod_unload("remsim"));
		assert_gone();
	}
}

static long read_param(const char *name)
{
	char path[128], buf[32] = "";
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/module/remsim/parameters/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? strtol(buf, NULL, 10) : -1;
}

/*
 * A queue depth of 0 would wedge every slot (no message ever fits); one
 * beyond the limit would let an owner pin any amount of memory. Both are
 * refused at load and at run time, and the value stays.
 */
TEST(queue_depth_refuses_values_that_wedge)
{
	ASSERT_EQ(0, kmod_unload_all());
	EXPECT_EQ(-EINVAL, kmod_load("remsim", "queue_depth=0"));
	EXPECT_EQ(-EINVAL, kmod_load("remsim", "queue_depth=1025"));
	ASSERT_EQ(0, kmod_unload_all());
	ASSERT_EQ(0, kmod_load("remsim", "queue_depth=1024"));
	EXPECT_EQ(1024, read_param("queue_depth"));
	EXPECT_EQ(-EINVAL, slot_set_param("remsim", "queue_depth", "0"));
	EXPECT_EQ(-EINVAL, slot_set_param("remsim", "queue_depth", "100000"));
	EXPECT_EQ(-EINVAL, slot_set_param("remsim", "queue_depth", "-1"));
	EXPECT_EQ(1024, read_param("queue_depth"));
	EXPECT_EQ(0, slot_set_param("remsim", "queue_depth", "16"));
	EXPECT_EQ(16, read_param("queue_depth"));
	ASSERT_EQ(0, kmod_unload("remsim"));
}

KTAP_MAIN
