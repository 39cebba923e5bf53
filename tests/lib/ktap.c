// SPDX-License-Identifier: GPL-2.0
/*
 * ktap.c - the TAP writer and the fork-per-test harness of ktap.h.
 */
#define _GNU_SOURCE
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ktap.h"

#define KTAP_MAX_TESTS	256

struct ktap_test {
	const char	*name;
	ktap_fn		fn;
	unsigned int	timeout_s;
};

static struct ktap_test tests[KTAP_MAX_TESTS];
static unsigned int ntests;
static unsigned int counter, npass, nfail, nskip;
#define KTAP_AFTER_MAX	4
static ktap_fn after_each[KTAP_AFTER_MAX];
static unsigned int nafter;
int ktap_expect_failed;

void ksft_print_header(void)
{
	/* Line-buffered, so that nothing is printed twice across fork(). */
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n");
}

void ksft_set_plan(unsigned int plan)
{
	printf("1..%u\n", plan);
}

static void vline(const char *prefix, const char *suffix, const char *fmt, va_list ap)
{
	fputs(prefix, stdout);
	vprintf(fmt, ap);
	fputs(suffix, stdout);
	fflush(stdout);
}

void ksft_print_msg(const char *fmt, ...)
{
	va_list ap;
	size_t n = strlen(fmt);

	va_start(ap, fmt);
	vline("# ", n && fmt[n - 1] == '\n' ? "" : "\n", fmt, ap);
	va_end(ap);
}

#define RESULT(fn, word, count, suffix)						\
void fn(const char *fmt, ...)							\
{										\
	char prefix[32];							\
	va_list ap;								\
										\
	count++;								\
	snprintf(prefix, sizeof(prefix), word " %u ", ++counter);		\
	va_start(ap, fmt);							\
	vline(prefix, suffix, fmt, ap);						\
	va_end(ap);								\
}

RESULT(ksft_test_result_pass, "ok", npass, "\n")
RESULT(ksft_test_result_fail, "not ok", nfail, "\n")

void ksft_test_result_skip(const char *fmt, ...)
{
	char prefix[32];
	va_list ap;

	nskip++;
	snprintf(prefix, sizeof(prefix), "ok %u # SKIP ", ++counter);
	va_start(ap, fmt);
	vline(prefix, "\n", fmt, ap);
	va_end(ap);
}

int ksft_finished(void)
{
	printf("# Totals: pass:%u fail:%u xfail:0 xpass:0 skip:%u error:0\n",
	       npass, nfail, nskip);
	if (nfail)
		return KSFT_FAIL;
	if (nskip && !npass)
		return KSFT_SKIP;
	return KSFT_PASS;
}

void ktap_register(const char *name, ktap_fn fn, unsigned int timeout_s)
{
	if (ntests == KTAP_MAX_TESTS) {
		fprintf(stderr, "ktap: more than %d tests\n", KTAP_MAX_TESTS);
		exit(KSFT_FAIL);
	}
	tests[ntests++] = (struct ktap_test){ name, fn, timeout_s };
}

void ktap_after_each(ktap_fn fn)
{
	if (nafter < KTAP_AFTER_MAX)
		after_each[nafter++] = fn;
}

static void run_after_each(void)
{
	for (unsigned int i = 0; i < nafter; i++)
		after_each[i]();
}

void ktap_fail_here(const char *file, int line, int fatal, const char *fmt, ...)
{
	va_list ap;

	printf("# %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (fatal)
		_exit(KSFT_FAIL);
	ktap_expect_failed = 1;
}

void ktap_skip(const char *fmt, ...)
{
	va_list ap;

	printf("# SKIP: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	_exit(KSFT_SKIP);
}

static int selected(const char *name, int argc, char **argv)
{
	if (argc < 2)
		return 1;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], name))
			return 1;
	return 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Runs one test in a child process of its own group, so that the whole group
 * can be killed when the time limit is reached.
 */
static void run_one(const struct ktap_test *t)
{
	double start = now();
	int status = 0;
	pid_t pid, w;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		ksft_test_result_fail("%s # fork: %s", t->name, strerror(errno));
		return;
	}
	if (pid == 0) {
		setpgid(0, 0);
		ktap_expect_failed = 0;
		t->fn();
		fflush(stdout);
		_exit(ktap_expect_failed ? KSFT_FAIL : KSFT_PASS);
	}
	setpgid(pid, pid);
	for (;;) {
		w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
		if (now() - start > t->timeout_s) {
			kill(-pid, SIGKILL);
			waitpid(pid, &status, 0);
			ksft_print_msg("%s: TIMEOUT after %u s", t->name, t->timeout_s);
			ksft_test_result_fail("%s", t->name);
			run_after_each();
			return;
		}
		usleep(2000);
	}
	/* Leftover helpers of the test must not outlive it. */
	kill(-pid, SIGKILL);
	run_after_each();

	if (WIFSIGNALED(status)) {
		ksft_print_msg("%s: killed by signal %d (%s)", t->name,
			       WTERMSIG(status), strsignal(WTERMSIG(status)));
		ksft_test_result_fail("%s", t->name);
	} else if (WEXITSTATUS(status) == KSFT_PASS) {
		ksft_test_result_pass("%s", t->name);
	} else if (WEXITSTATUS(status) == KSFT_SKIP) {
		ksft_test_result_skip("%s", t->name);
	} else {
		ksft_test_result_fail("%s", t->name);
	}
}

int ktap_main(int argc, char **argv)
{
	unsigned int plan = 0;

	for (int i = 1; i < argc; i++) {
		int known = 0;

		for (unsigned int j = 0; j < ntests; j++)
			known |= !strcmp(argv[i], tests[j].name);
		if (!known) {
			fprintf(stderr, "%s: no test named %s\n", argv[0], argv[i]);
			return KSFT_FAIL;
		}
	}
	for (unsigned int i = 0; i < ntests; i++)
		plan += selected(tests[i].name, argc, argv);

	ksft_print_header();
	ksft_set_plan(plan);
	for (unsigned int i = 0; i < ntests; i++)
		if (selected(tests[i].name, argc, argv))
			run_one(&tests[i]);
	return ksft_finished();
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	return remove(path);
}

int ktap_main_in_dir(int argc, char **argv, char *dir)
{
	int ret;

	if (!mkdtemp(dir)) {
		perror(dir);
		return 1;
	}
	ret = ktap_main(argc, argv);
	if (!ret && nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS)) {
		perror(dir);
		return 1;
	}
	return ret;
}
