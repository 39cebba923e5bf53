// SPDX-License-Identifier: GPL-2.0
/*
 * slots_conf_test - "remsimctl apply --check" on hostile slots.conf files:
 * /dev/zero, a directory, a NUL byte, a line too long; and on wrong ones:
 * every error of a file said, not just the first, one identity on two
 * slots, a mistyped slot name. --check reads the file only, so this runs
 * natively, without remsim.ko.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "ktap.h"

static char dir[] = "/tmp/remsim-slots-conf-test-XXXXXX";

/* "remsimctl apply --check @file" exits with @status and says @want. */
static void expect_check(const char *file, int status, const char *want)
{
	char *argv[] = { (char *)daemon_bin("remsimctl"), "apply", "--check", (char *)file,
			 NULL };
	char log[128];
	struct daemon d;

	snprintf(log, sizeof(log), "%s/check.log", dir);
	unlink(log);
	ASSERT_EQ(0, daemon_start(&d, argv, log));
	EXPECT_EQ(status, daemon_wait(&d, 5000));
	if (d.pid)
		daemon_stop(&d, SIGKILL, 1000);
	if (want && !log_contains(log, want))
		TH_LOG("%s: want \"%s\"", log, want);
	EXPECT_TRUE(!want || log_contains(log, want));
}

/* A slots.conf of @len bytes of @text; its path in @path. */
static void file_of(char *path, size_t size, const char *text, size_t len)
{
	FILE *f;

	snprintf(path, size, "%s/slots.conf", dir);
	f = fopen(path, "w");
	ASSERT_TRUE(f != NULL);
	ASSERT_EQ(len, fwrite(text, 1, len, f));
	ASSERT_EQ(0, fclose(f));
}

TEST(hostile_files_are_refused)
{
	static const char nul[] = "by-path/1-1.2-if0 client 23 slot 0\n"
				  "by-path/1-1.2-if1 client 23 slot 1\0 bank 1 slot 5\n";
	static char longer[4200];
	char path[128];

	expect_check("/dev/zero", 2, "/dev/zero:1: line longer than 4096 bytes");
	/* read as an empty file before: nothing applied, and no word said */
	expect_check(dir, 2, ": is a directory");
	file_of(path, sizeof(path), nul, sizeof(nul) - 1);
	expect_check(path, 2, "slots.conf:2: NUL byte in line");
	/* a long comment is fine up to 4096 bytes */
	memset(longer, ' ', sizeof(longer));
	longer[0] = '#';
	longer[4096] = '\n';
	file_of(path, sizeof(path), longer, 4097);
	expect_check(path, 0, NULL);
	longer[4096] = ' ';
	longer[sizeof(longer) - 1] = '\n';
	file_of(path, sizeof(path), longer, sizeof(longer));
	expect_check(path, 2, "slots.conf:1: line longer than 4096 bytes");
}

/* A slots.conf of @text. */
static void conf_of(char *path, size_t size, const char *text)
{
	file_of(path, size, text, strlen(text));
}

TEST(every_error_of_a_file_is_said)
{
	char path[128];

	conf_of(path, sizeof(path),
		"by-path/1-1-if0 client 23 slott 0\n"
		"by-path/1-1-if1 client 24 slot 0\n"
		"by-pth/1-1-if2 client 25 slot 0\n"
		"by-path/1-1-if3 client 1024 slot 0\n");
	expect_check(path, 2, "slots.conf:1: by-path/1-1-if0: expected: client ID slot N");
	/* a mistyped name is no slot name, not a slot that is just absent */
	expect_check(path, 2, "slots.conf:3: by-pth/1-1-if2: not a slot name");
	expect_check(path, 2, "slots.conf:4: by-path/1-1-if3: client \"1024\"");
	expect_check(path, 2, "slots.conf: 3 errors, nothing applied");
}

TEST(one_identity_is_one_slot)
{
	char path[128];

	conf_of(path, sizeof(path),
		"by-path/1-1-if0 client 23 slot 0\n"
		"# the second slot's line, copied and not changed\n"
		"by-path/1-1-if1 client 23 slot 0 bank 1 slot 5 via 10.0.0.7:9999\n");
	expect_check(path, 2, "slots.conf:3: by-path/1-1-if1: client 23 slot 0 is "
		     "by-path/1-1-if0's on line 1 already");
	conf_of(path, sizeof(path),
		"by-path/1-1-if0 client 23 slot 0\n"
		"by-path/1-1-if1 client 23 slot 1\n"
		"pci-0000:00:14.0-usb-0:1.2:1.0 client 24 slot 0\n"
		"by-id/0123abcd-if1 client 25 slot 0\n");
	expect_check(path, 0, NULL);
}

/* A file of a thousand bad lines: twenty said, the rest counted once. */
TEST(many_errors_are_counted_not_listed)
{
	static char text[40000];
	char path[128], log[128], line[80];
	size_t n = 0;
	int i;

	for (i = 0; i < 1000; i++)
		n += snprintf(text + n, sizeof(text) - n, "remsim%d client x slot 0\n", i);
	conf_of(path, sizeof(path), text);
	expect_check(path, 2, "slots.conf:20: remsim19: client \"x\"");
	expect_check(path, 2, "slots.conf: 980 more errors not shown");
	expect_check(path, 2, "slots.conf: 1000 errors, nothing applied");
	snprintf(log, sizeof(log), "%s/check.log", dir);
	snprintf(line, sizeof(line), "slots.conf:21:");
	EXPECT_FALSE(log_contains(log, line));
}

int main(int argc, char **argv)
{
	return ktap_main_in_dir(argc, argv, dir);
}
