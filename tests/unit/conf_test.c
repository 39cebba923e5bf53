// SPDX-License-Identifier: GPL-2.0
/*
 * conf_test - the "key = value" files of the daemons (conf_load()) against
 * hostile input: /dev/zero, a line or a file too long, a NUL byte, a
 * directory, a key set twice; and what must keep working: a FIFO, an empty
 * file, comments.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "remsim/conf.h"
#include "daemon.h"
#include "ktap.h"

static char dir[] = "/tmp/remsim-conf-test-XXXXXX";
static char path[64];
static unsigned int calls;

/* The setter: takes every key but "bad", every value but "x"; counts. */
static int set(const char *key, const char *value, void *arg, char *why, size_t whylen)
{
	calls++;
	if (!strcmp(key, "bad") || !strcmp(value, "x")) {
		snprintf(why, whylen, "%s is bad", !strcmp(key, "bad") ? key : value);
		return -EINVAL;
	}
	return 0;
}

/* Writes @len bytes of @text to a file of its own; its path in @path. */
static void file_of(const char *text, size_t len)
{
	FILE *f;

	snprintf(path, sizeof(path), "%s/x.conf", dir);
	f = fopen(path, "w");
	ASSERT_TRUE(f != NULL);
	ASSERT_EQ(len, fwrite(text, 1, len, f));
	ASSERT_EQ(0, fclose(f));
}

/* conf_load() on @file refuses with @ret and an error holding @want. */
static void expect_refused(const char *file, int ret, const char *want)
{
	char err[300] = "";

	EXPECT_EQ(ret, conf_load(file, set, NULL, err, sizeof(err)));
	if (!strstr(err, want))
		TH_LOG("got \"%s\", want \"%s\"", err, want);
	EXPECT_TRUE(strstr(err, want) != NULL);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

TEST_TIMEOUT(dev_zero_ends_with_the_line_length_error, 10)
{
	double t0 = now();

	calls = 0;
	expect_refused("/dev/zero", -E2BIG, "/dev/zero:1: line longer than 4096 bytes");
	/* 4097 bytes read, not gigabytes: well under a second even under ASan */
	EXPECT_LT((now() - t0) * 1000, 1000);
	EXPECT_EQ(0u, calls);
}

TEST(a_line_of_4096_bytes_is_the_longest)
{
	static char text[2 * CONF_LINE_MAX + 16];
	char err[300] = "";
	size_t n;

	/* line 1: exactly 4096 bytes before its newline; line 2 one more */
	n = snprintf(text, sizeof(text), "a = ");
	memset(text + n, 'x', CONF_LINE_MAX - n);
	n = CONF_LINE_MAX;
	text[n++] = '\n';
	n += snprintf(text + n, sizeof(text) - n, "b = ");
	memset(text + n, 'y', CONF_LINE_MAX - 3);
	n += CONF_LINE_MAX - 3;
	text[n++] = '\n';
	file_of(text, CONF_LINE_MAX + 1);
	calls = 0;
	EXPECT_EQ(0, conf_load(path, set, NULL, err, sizeof(err)));
	EXPECT_EQ(1u, calls);
	file_of(text, n);
	expect_refused(path, -E2BIG, ":2: line longer than 4096 bytes");
}

TEST(a_file_over_1_mib_is_refused_before_reading)
{
	static char text[CONF_FILE_MAX + 1];

	memset(text, '\n', sizeof(text));
	file_of(text, sizeof(text));
	calls = 0;
	expect_refused(path, -EFBIG, "x.conf: larger than 1048576 bytes");
	/* exactly the limit is fine */
	file_of(text, CONF_FILE_MAX);
	expect_refused(path, 0, "");
}

/* A FIFO fed by a child with @reps copies of @text. */
static void fifo_of(const char *text, size_t reps)
{
	pid_t pid;

	snprintf(path, sizeof(path), "%s/fifo", dir);
	unlink(path);
	ASSERT_EQ(0, mkfifo(path, 0600));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		FILE *f = fopen(path, "w");

		signal(SIGPIPE, SIG_IGN);	/* the reader may stop early */
		while (f && reps-- && fputs(text, f) >= 0)
			;
		if (f)
			fclose(f);
		_exit(0);
	}
}

TEST_TIMEOUT(a_fifo_is_read_up_to_1_mib, 20)
{
	char err[300] = "";

	fifo_of("a = 1\nb = 2 # two\n", 1);
	calls = 0;
	EXPECT_EQ(0, conf_load(path, set, NULL, err, sizeof(err)));
	EXPECT_EQ(2u, calls);
	wait(NULL);
	/* no size known in advance: counted while reading */
	fifo_of("# 16 bytes long\n", CONF_FILE_MAX / 16 + 1);
	expect_refused(path, -EFBIG, "fifo:65537: file larger than 1048576 bytes");
	wait(NULL);
}

TEST(a_nul_byte_is_refused)
{
	static const char text[] = "a = 1\nb = 2\0and more\nc = 3\n";

	file_of(text, sizeof(text) - 1);
	calls = 0;
	expect_refused(path, -EINVAL, "x.conf:2: NUL byte in line");
	EXPECT_EQ(1u, calls);
	/* in a comment too: the line is not what it looks like */
	file_of("a = 1 # \0\n", 10);
	expect_refused(path, -EINVAL, "x.conf:1: NUL byte in line");
}

TEST(a_directory_is_refused)
{
	expect_refused("/tmp", -EISDIR, "/tmp: is a directory");
	expect_refused("/nonexistent/x.conf", -ENOENT,
		       "/nonexistent/x.conf: No such file or directory");
}

TEST(a_key_set_twice_names_both_lines)
{
	static const char text[] = "a = 1\n# a = 0\n\nb = 2\n  a=3\n";

	file_of(text, sizeof(text) - 1);
	calls = 0;
	expect_refused(path, -EINVAL, "x.conf:5: \"a\" is set on line 1 already");
	EXPECT_EQ(3u, calls);
	/* a bad value is said first, as for any line */
	file_of("a = 1\na = x\n", 12);
	expect_refused(path, -EINVAL, "x.conf:2: x is bad");
}

TEST(empty_files_and_bad_settings)
{
	char err[300] = "";

	EXPECT_EQ(0, conf_load("/dev/null", set, NULL, err, sizeof(err)));
	file_of("# nothing\n\n   \n", 15);
	EXPECT_EQ(0, conf_load(path, set, NULL, err, sizeof(err)));
	/* the last line needs no newline */
	file_of("a = 1\nbad = 2", 13);
	expect_refused(path, -EINVAL, "x.conf:2: bad is bad");
	file_of("a 1\n", 4);
	expect_refused(path, -EINVAL, "x.conf:1: expected \"key = value\"");
}

int main(int argc, char **argv)
{
	return ktap_main_in_dir(argc, argv, dir);
}
