// SPDX-License-Identifier: GPL-2.0
/*
 * log_test - the -d debug masks of osmo-remsim's programs work unchanged:
 * remsim's categories in any case, libosmocore's own (DLINP, DLGLOBAL, ...)
 * and unknown ones ignored with one warning, never a refusal to start.
 * Under systemd (JOURNAL_STREAM names stderr) lines carry journald's
 * "<N>" priority; on a terminal or file they are as they were.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "ktap.h"
#include "remsim/log.h"

/* The masks osmo-remsim's manuals and units pass, library categories included. */
static const char *const osmo_masks[] = {
	"DMAIN,1:DST2,1:DRSPRO,1:DREST,1:DSLOTMAP,1:DBANKDW,1:DGSMTAP,1:DLINP,1",
	"DMAIN,1:DRSPRO,1:DREST,1:DSLOTMAP,1:DLGLOBAL,1:DLINP,1:DLMI,1:DLSTATS,1:DLCTRL,1:DLIO,1",
	"DMAIN,5:DRSPRO,1",
	"DMAIN:DRSPRO",
	"DST2,1:DRSPRO,3:DLINP,7:DLGLOBAL,8",
	"DLGLOBAL,1:DLLAPD,1:DLINP,1:DLMUX,1:DLMI,1:DLMIB,1:DLSMS,1:DLCTRL,1:DLGTP,1:DLSTATS,1:"
	"DLGSUP,1:DLOAP,1:DLSS7,1:DLSCCP,1:DLSUA,1:DLM3UA,1:DLMGCP,1:DLJIBUF,1:DLRSPRO,1:DLNS,1:"
	"DLBSSGP,1:DLNSDATA,1:DLNSSIGNAL,1:DLIUUP,1:DLPFCP,1:DLCSN1,1:DLM2PA,1:DLIO,1:DLTCAP,1",
};

/* Runs log_parse_mask() with stderr captured into @err. */
static int parse_captured(const char *mask, char *err, size_t size)
{
	char path[] = "/tmp/remsim-log-test-XXXXXX";
	int fd = mkstemp(path), saved = dup(2), ret;
	ssize_t n;

	ASSERT_GE(fd, 0);
	unlink(path);
	fflush(stderr);
	dup2(fd, 2);
	ret = log_parse_mask(mask);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, err, size - 1, 0);
	err[n > 0 ? n : 0] = 0;
	close(fd);
	return ret;
}

static int lines(const char *text)
{
	int n = 0;

	for (; *text; text++)
		n += *text == '\n';
	return n;
}

TEST(osmo_masks_are_accepted)
{
	char err[2048];
	unsigned int i;

	log_init("log_test", LOG_NOTICE);
	for (i = 0; i < sizeof(osmo_masks) / sizeof(osmo_masks[0]); i++) {
		int ret = parse_captured(osmo_masks[i], err, sizeof(err));

		if (ret)
			TH_LOG("refused: %s", osmo_masks[i]);
		EXPECT_EQ(0, ret);
		/* at most one warning line for everything ignored */
		EXPECT_LE(lines(err), 1);
	}
}

TEST(levels_reach_the_categories)
{
	char err[1024];

	log_init("log_test", LOG_NOTICE);
	ASSERT_EQ(0, parse_captured("DST2,1:DLINP,7:drspro,7:DMAIN", err, sizeof(err)));
	EXPECT_TRUE(log_enabled(DST2, LOG_DEBUG));
	EXPECT_FALSE(log_enabled(DRSPRO, LOG_NOTICE));
	EXPECT_TRUE(log_enabled(DRSPRO, LOG_ERROR));
	/* a category without a level: INFO, as libosmocore's default */
	EXPECT_TRUE(log_enabled(DMAIN, LOG_INFO));
	EXPECT_FALSE(log_enabled(DMAIN, LOG_DEBUG));
	/* untouched ones keep the level they had */
	EXPECT_FALSE(log_enabled(DREST, LOG_INFO));
	EXPECT_TRUE(strstr(err, "DLINP") != NULL);
	EXPECT_EQ(1, lines(err));
	/* level 0: everything, as libosmocore takes it */
	ASSERT_EQ(0, parse_captured("DREST,0", err, sizeof(err)));
	EXPECT_TRUE(log_enabled(DREST, LOG_DEBUG));
}

TEST(unknown_categories_warn_bad_levels_refuse)
{
	char err[1024];

	log_init("log_test", LOG_NOTICE);
	ASSERT_EQ(0, parse_captured("DFOO,1:DMAIN,1:DBAR", err, sizeof(err)));
	EXPECT_EQ(1, lines(err));
	EXPECT_TRUE(strstr(err, "unknown categories DFOO, DBAR: ignored") != NULL);
	EXPECT_TRUE(log_enabled(DMAIN, LOG_DEBUG));
	EXPECT_EQ(-EINVAL, parse_captured("DMAIN,loud", err, sizeof(err)));
	EXPECT_EQ(-EINVAL, parse_captured("DMAIN,9", err, sizeof(err)));
	EXPECT_EQ(-EINVAL, parse_captured("DMAIN,", err, sizeof(err)));
}

/*
 * log_init() and a line at each level with stderr on a file, JOURNAL_STREAM
 * as @journal says: "self" the file's own DEVICE:INODE, else the text given
 * (NULL: unset). The lines in @out.
 */
static void lines_with_journal(const char *journal, char *out, size_t size)
{
	char path[] = "/tmp/remsim-log-test-XXXXXX", env[64];
	int fd = mkstemp(path), saved = dup(2);
	struct stat st;
	ssize_t n;

	ASSERT_GE(fd, 0);
	unlink(path);
	ASSERT_EQ(0, fstat(fd, &st));
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	if (!journal)
		unsetenv("JOURNAL_STREAM");
	else
		setenv("JOURNAL_STREAM", strcmp(journal, "self") ? journal : env, 1);
	fflush(stderr);
	dup2(fd, 2);
	log_init("log_test", LOG_DEBUG);
	log_line(DMAIN, LOG_DEBUG, "C1:0", "debug");
	log_line(DMAIN, LOG_INFO, "C1:0", "info");
	log_line(DMAIN, LOG_NOTICE, "C1:0", "notice");
	log_line(DRSPRO, LOG_ERROR, "C1:0", "error");
	log_line(DRSPRO, LOG_FATAL, NULL, "fatal");
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	unsetenv("JOURNAL_STREAM");
	log_init("log_test", LOG_NOTICE);
	n = pread(fd, out, size - 1, 0);
	out[n > 0 ? n : 0] = 0;
	close(fd);
}

static void expect_lines(const char *want, const char *got)
{
	const char *p = got, *nl;

	while (strcmp(want, got) && *p) {
		nl = strchr(p, '\n');
		if (!nl)
			nl = p + strlen(p);
		TH_LOG("got: %.*s", (int)(nl - p), p);
		p = *nl ? nl + 1 : nl;
	}
	EXPECT_EQ(0, strcmp(want, got));
}

TEST(journald_priorities_when_stderr_is_the_journal)
{
	char out[1024];

	lines_with_journal("self", out, sizeof(out));
	expect_lines("<7>log_test DMAIN DEBUG C1:0: debug\n"
		     "<6>log_test DMAIN INFO C1:0: info\n"
		     "<5>log_test DMAIN NOTICE C1:0: notice\n"
		     "<3>log_test DRSPRO ERROR C1:0: error\n"
		     "<2>log_test DRSPRO FATAL -: fatal\n", out);
}

TEST(no_prefix_on_a_terminal_or_a_file)
{
	static const char plain[] = "log_test DMAIN DEBUG C1:0: debug\n"
				    "log_test DMAIN INFO C1:0: info\n"
				    "log_test DMAIN NOTICE C1:0: notice\n"
				    "log_test DRSPRO ERROR C1:0: error\n"
				    "log_test DRSPRO FATAL -: fatal\n";
	char out[1024];

	lines_with_journal(NULL, out, sizeof(out));
	expect_lines(plain, out);
	/* inherited from a unit by a child whose stderr is elsewhere */
	lines_with_journal("1:1", out, sizeof(out));
	expect_lines(plain, out);
	lines_with_journal("junk", out, sizeof(out));
	expect_lines(plain, out);
}

/*
 * Each daemon started with the longest osmo mask runs on: after 500 ms it
 * is still there (or, for one that needs what the test does not give it,
 * did not stop because of the mask).
 */
static void starts_with_mask(char *const argv[])
{
	char log[] = "/tmp/remsim-log-test-XXXXXX";
	struct daemon d;
	int fd = mkstemp(log), status;

	ASSERT_GE(fd, 0);
	close(fd);
	ASSERT_EQ(0, daemon_start(&d, argv, log));
	status = daemon_wait(&d, 500);
	if (status < 0)
		status = daemon_stop(&d, SIGTERM, 5000);
	if (log_contains(log, "is not CATEGORY") || log_contains(log, "bad log mask"))
		shell("sed 's/^/# /' %s", log);
	EXPECT_FALSE(log_contains(log, "is not CATEGORY"));
	EXPECT_FALSE(log_contains(log, "bad log mask"));
	EXPECT_NE(2, status);
	unlink(log);
}

TEST_TIMEOUT(daemons_start_with_osmo_masks, 60)
{
	char dir[] = "/tmp/remsim-log-test-XXXXXX", db[64], csv[64], port[8], port2[8];
	char *mask = (char *)osmo_masks[1];

	ASSERT_TRUE(mkdtemp(dir) != NULL);
	snprintf(db, sizeof(db), "%s/s.db", dir);
	snprintf(csv, sizeof(csv), "%s/b.csv", dir);
	ASSERT_EQ(0, shell("echo '\"1\",\"0\",\"no such reader\"' >%s", csv));
	snprintf(port, sizeof(port), "%d", free_port());
	snprintf(port2, sizeof(port2), "%d", free_port());
	{
		char *argv[] = { (char *)daemon_bin("remsim-server"), "-d", mask, "-D", db,
				 "--rspro-bind", "127.0.0.1", "--rspro-port", port,
				 "--rest-bind", "127.0.0.1", "--rest-port", port2, NULL };

		starts_with_mask(argv);
	}
	{
		char *argv[] = { (char *)daemon_bin("remsim-bankd"), "-d", mask, "-i",
				 "127.0.0.1", "-p", port, "-I", "127.0.0.1", "-P", port2,
				 "-S", csv, NULL };

		starts_with_mask(argv);
	}
	{
		char *argv[] = { (char *)daemon_bin("remsim-client-shell"), "-d", mask, "-i",
				 "127.0.0.1", "-p", port, "-c", "1", NULL };

		starts_with_mask(argv);
	}
	{
		char *argv[] = { (char *)daemon_bin("remsim-client"), "-d", mask, "-i",
				 "127.0.0.1", "-p", port, NULL };

		starts_with_mask(argv);
	}
	shell("rm -rf %s", dir);
}

KTAP_MAIN
