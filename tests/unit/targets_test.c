// SPDX-License-Identifier: GPL-2.0
/*
 * targets_test - the static bank targets file (remsim/targets.h) that
 * remsimctl writes and remsim-client reads: round trip, bad lines named and
 * skipped while the good ones stand, the RS_TARGETS_MAX limit said once,
 * hostile content, a file others could write refused, atomic saves, the
 * writers' lock.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ktap.h"
#include "remsim/targets.h"

static char dir[] = "/tmp/remsim-targets-test-XXXXXX";
static char msgs[64][400];
static unsigned int nmsgs;

static void collect(const char *msg, void *arg)
{
	if (nmsgs < 64)
		snprintf(msgs[nmsgs], sizeof(msgs[0]), "%s", msg);
	nmsgs++;
}

static bool said(const char *text)
{
	unsigned int i;

	for (i = 0; i < nmsgs && i < 64; i++)
		if (strstr(msgs[i], text))
			return true;
	return false;
}

/* @text as the file "targets" of the scratch directory, mode @mode; its path. */
static const char *file_of(const char *text, size_t len, mode_t mode)
{
	static char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/targets", dir);
	unlink(path);
	f = fopen(path, "w");
	if (!f || fwrite(text, 1, len, f) != len || fclose(f) || chmod(path, mode))
		return NULL;
	return path;
}

static int load(struct rs_targets *ts, const char *path, char *err, size_t size)
{
	nmsgs = 0;
	return rs_targets_load(ts, path, collect, NULL, err, size);
}

TEST(save_and_load_round_trip)
{
	struct rs_target a = { .client_id = 23, .client_slot = 0, .has_bank = true,
			       .bank_id = 1, .bank_slot = 5, .host = "10.0.0.7", .port = 9999 };
	struct rs_target b = { .client_id = 7, .client_slot = 1023, .has_bank = true,
			       .bank_id = 1023, .bank_slot = 0, .host = "2001:db8::7",
			       .port = 1 };
	struct rs_targets ts = { 0 }, back = { 0 };
	const struct rs_target *t;
	char path[128], err[300], line[400];
	struct stat st;

	snprintf(path, sizeof(path), "%s/run/targets", dir);
	ASSERT_EQ(0, rs_targets_put(&ts, &a));
	ASSERT_EQ(0, rs_targets_put(&ts, &b));
	/* the directory is made; the file is 0644 whatever the umask */
	umask(077);
	ASSERT_EQ(0, rs_targets_save(&ts, path, err, sizeof(err)));
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_EQ(0644, st.st_mode & 0777);
	ASSERT_EQ(0, load(&back, path, err, sizeof(err)));
	EXPECT_EQ(0, nmsgs);
	ASSERT_EQ(2, back.n);
	t = rs_targets_find(&back, 7, 1023);
	ASSERT_TRUE(t != NULL);
	EXPECT_TRUE(rs_target_same(t, &b));
	rs_target_format(t, line, sizeof(line));
	EXPECT_EQ(0, strcmp("client 7 slot 1023 bank 1023 slot 0 via [2001:db8::7]:1", line));
	EXPECT_TRUE(rs_target_same(rs_targets_find(&back, 23, 0), &a));
	EXPECT_TRUE(rs_targets_find(&back, 23, 1) == NULL);
	/* replaced, dropped */
	a.port = 10000;
	ASSERT_EQ(0, rs_targets_put(&back, &a));
	EXPECT_EQ(2, back.n);
	EXPECT_EQ(10000, rs_targets_find(&back, 23, 0)->port);
	EXPECT_TRUE(rs_targets_del(&back, 7, 1023));
	EXPECT_FALSE(rs_targets_del(&back, 7, 1023));
	EXPECT_EQ(1, back.n);
	/* a missing file is an empty set */
	EXPECT_EQ(-ENOENT, load(&back, "/nonexistent/targets", err, sizeof(err)));
	EXPECT_EQ(0, back.n);
	rs_targets_free(&ts);
	rs_targets_free(&back);
}

TEST(bad_lines_are_named_and_skipped)
{
	static const char text[] =
		"# targets\n"
		"client 1 slot 0 bank 1 slot 0 via 10.0.0.1:9999\n"
		"client 2 slot 0 bank 1 slot 1 via 10.0.0.1\n"
		"client 3 slot 0\n"
		"client 1 slot 0 bank 2 slot 2 via 10.0.0.2:9999\n"
		"client 1024 slot 0 bank 1 slot 1 via 10.0.0.1:9999\n"
		"client 4 slot 0 bank 1 slot 1 via [::1:9999\n"
		"a b c d e f g h i j k l m n\n"
		"\n"
		"  client 5 slot 7   bank 3 slot 4 via host.example:1  # comment\n";
	struct rs_targets ts = { 0 };
	const char *path = file_of(text, sizeof(text) - 1, 0644);
	char err[300];

	ASSERT_TRUE(path != NULL);
	ASSERT_EQ(0, load(&ts, path, err, sizeof(err)));
	EXPECT_EQ(2, ts.n);
	EXPECT_TRUE(rs_targets_find(&ts, 1, 0) != NULL);
	EXPECT_EQ(1, rs_targets_find(&ts, 1, 0)->bank_id);
	EXPECT_EQ(1, rs_targets_find(&ts, 5, 7)->port);
	EXPECT_EQ(6, nmsgs);
	EXPECT_TRUE(said("targets:3: \"10.0.0.1\" is not HOST:PORT"));
	EXPECT_TRUE(said("targets:4: client 3 slot 0: no bank target"));
	EXPECT_TRUE(said("targets:5: client 1 slot 0 has a target already"));
	EXPECT_TRUE(said("targets:6: client \"1024\" is not a number in 0..1023"));
	EXPECT_TRUE(said("targets:7: \"[::1:9999\" is not HOST:PORT"));
	EXPECT_TRUE(said("targets:8: too many words"));
	rs_targets_free(&ts);
}

TEST(many_bad_lines_are_counted_not_listed)
{
	struct rs_targets ts = { 0 };
	const char *path;
	char err[300], *text;
	size_t len = 0;
	int i;

	text = malloc(100000);
	ASSERT_TRUE(text != NULL);
	for (i = 0; i < 1000; i++)
		len += sprintf(text + len, "client %d slot 0 garbage\n", i);
	len += sprintf(text + len, "client 9 slot 9 bank 9 slot 9 via 10.0.0.9:9\n");
	path = file_of(text, len, 0644);
	free(text);
	ASSERT_TRUE(path != NULL);
	ASSERT_EQ(0, load(&ts, path, err, sizeof(err)));
	EXPECT_EQ(1, ts.n);
	EXPECT_EQ(RS_TARGETS_BAD_SHOWN + 1, nmsgs);
	EXPECT_TRUE(said("990 more bad lines skipped"));
	rs_targets_free(&ts);
}

TEST(the_limit_is_said_once)
{
	struct rs_targets ts = { 0 };
	const char *path;
	char err[300], *text;
	size_t len = 0;
	int i;

	text = malloc(RS_TARGETS_MAX * 64 + 1000);
	ASSERT_TRUE(text != NULL);
	for (i = 0; i < RS_TARGETS_MAX + 100; i++)
		len += sprintf(text + len, "client %d slot %d bank 1 slot 1 via 10.0.0.1:9999\n",
			       i / 1024, i % 1024);
	path = file_of(text, len, 0644);
	free(text);
	ASSERT_TRUE(path != NULL);
	ASSERT_EQ(0, load(&ts, path, err, sizeof(err)));
	EXPECT_EQ(RS_TARGETS_MAX, ts.n);
	EXPECT_EQ(1, nmsgs);
	EXPECT_TRUE(said("targets:4097: more than 4096 targets: this line and the rest ignored"));
	rs_targets_free(&ts);
}

TEST(hostile_files_do_not_hurt)
{
	static const char nul[] = "client 1 slot 0 bank 1 slot 0 via 10.0.0.1:9999\n"
				  "client 2 slot 0 bank\0 1 slot 0 via 10.0.0.1:9999\n";
	struct rs_targets ts = { 0 };
	char err[300], noise[65536];
	const char *path;
	unsigned int i, seed = 1;

	/* a NUL byte: the lines before it stand, the error names the line */
	path = file_of(nul, sizeof(nul) - 1, 0644);
	ASSERT_TRUE(path != NULL);
	EXPECT_NE(0, load(&ts, path, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "targets:2: NUL byte in line"));
	EXPECT_EQ(1, ts.n);
	/* an endless file */
	EXPECT_NE(0, load(&ts, "/dev/zero", err, sizeof(err)));
	EXPECT_EQ(0, ts.n);
	/* random bytes, random words */
	for (i = 0; i < sizeof(noise); i++) {
		seed = seed * 1103515245 + 12345;
		noise[i] = (seed >> 16) % 7 ? "client slot bank via 0123456789:[]. \n"[(seed >> 8) % 37]
					   : (char)(seed >> 20);
		if (!noise[i])
			noise[i] = '\n';
	}
	path = file_of(noise, sizeof(noise), 0644);
	ASSERT_TRUE(path != NULL);
	load(&ts, path, err, sizeof(err));
	EXPECT_LE(ts.n, RS_TARGETS_MAX);
	rs_targets_free(&ts);
}

TEST(a_file_others_could_write_is_refused)
{
	static const char text[] = "client 1 slot 0 bank 1 slot 0 via 10.6.6.6:9999\n";
	struct rs_targets ts = { 0 };
	const char *path = file_of(text, sizeof(text) - 1, 0666);
	char err[300];

	ASSERT_TRUE(path != NULL);
	EXPECT_EQ(-EPERM, load(&ts, path, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "writable by others than root"));
	EXPECT_EQ(0, ts.n);
	ASSERT_EQ(0, chmod(path, 0644));
	EXPECT_EQ(0, load(&ts, path, err, sizeof(err)));
	EXPECT_EQ(1, ts.n);
	/* not a regular file */
	EXPECT_EQ(-EISDIR, load(&ts, dir, err, sizeof(err)));
	EXPECT_EQ(0, ts.n);
	rs_targets_free(&ts);
}

TEST(a_failed_save_leaves_the_file)
{
	static const char text[] = "client 1 slot 0 bank 1 slot 0 via 10.0.0.1:9999\n";
	struct rs_target t = { .client_id = 2, .has_bank = true, .host = "10.0.0.2", .port = 1 };
	struct rs_targets ts = { 0 };
	char path[160], err[300];
	const char *file = file_of(text, sizeof(text) - 1, 0644);

	ASSERT_TRUE(file != NULL);
	ASSERT_EQ(0, rs_targets_put(&ts, &t));
	/* a directory in the way of the rename: the temporary file goes too */
	snprintf(path, sizeof(path), "%s/dir", dir);
	ASSERT_EQ(0, mkdir(path, 0755));
	snprintf(path, sizeof(path), "%s/dir/x", dir);
	ASSERT_EQ(0, mkdir(path, 0755));
	snprintf(path, sizeof(path), "%s/dir", dir);
	EXPECT_NE(0, rs_targets_save(&ts, path, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, path));
	snprintf(path, sizeof(path), "%s/dir/x", dir);
	ASSERT_EQ(0, rmdir(path));
	snprintf(path, sizeof(path), "%s/dir", dir);
	EXPECT_EQ(0, rmdir(path));	/* empty: no temporary file left */
	rs_targets_free(&ts);
	ASSERT_EQ(0, load(&ts, file, err, sizeof(err)));
	EXPECT_EQ(1, ts.n);
	rs_targets_free(&ts);
}

TEST(writers_wait_for_the_lock_a_bounded_time)
{
	char path[128], err[300];
	int a, b;

	snprintf(path, sizeof(path), "%s/locked/targets", dir);
	a = rs_targets_lock(path, err, sizeof(err));
	ASSERT_GE(a, 0);
	if (!fork()) {
		/* another process, another open file: must wait, then give up */
		b = rs_targets_lock(path, err, sizeof(err));
		_exit(b == -ETIMEDOUT && strstr(err, "held by another writer") ? 0 : 1);
	}
	{
		int status;

		ASSERT_GT(wait(&status), 0);
		EXPECT_EQ(0, WEXITSTATUS(status));
	}
	close(a);
	b = rs_targets_lock(path, err, sizeof(err));
	EXPECT_GE(b, 0);
	close(b);
}

TEST(words_parse_as_remsimctl_map_takes_them)
{
	char *ok[] = { "client", "0", "slot", "1023", "bank", "1", "slot", "2", "via",
		       "[fe80::1]:65535" };
	char *bad_port[] = { "client", "0", "slot", "0", "bank", "1", "slot", "2", "via",
			     "host:65536" };
	char *bad_word[] = { "client", "0", "slott", "0" };
	struct rs_target t;
	char why[300];

	ASSERT_EQ(0, rs_target_parse(10, ok, &t, why, sizeof(why)));
	EXPECT_TRUE(t.has_bank);
	EXPECT_EQ(0, strcmp("fe80::1", t.host));
	EXPECT_EQ(65535, t.port);
	ASSERT_EQ(0, rs_target_parse(4, ok, &t, why, sizeof(why)));
	EXPECT_FALSE(t.has_bank);
	EXPECT_EQ(-EINVAL, rs_target_parse(10, bad_port, &t, why, sizeof(why)));
	EXPECT_NE(NULL, strstr(why, "is not HOST:PORT"));
	EXPECT_EQ(-EINVAL, rs_target_parse(4, bad_word, &t, why, sizeof(why)));
	EXPECT_NE(NULL, strstr(why, "expected: client ID slot N"));
	EXPECT_EQ(-EINVAL, rs_target_parse(5, ok, &t, why, sizeof(why)));
}

int main(int argc, char **argv)
{
	return ktap_main_in_dir(argc, argv, dir);
}
