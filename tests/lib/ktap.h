/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ktap.h - TAP 13 output in the kselftest style and a small test harness.
 *
 * The names and exit codes follow tools/testing/selftests/kselftest.h so the
 * output reads like any kselftest. Each TEST() runs in its own forked child
 * with a time limit, so a crash or a hang fails that test only. Inside a
 * test, ASSERT_*() ends the test on failure, EXPECT_*() records it and goes
 * on, SKIP() ends it as skipped.
 *
 *	TEST(open_twice) { ... ASSERT_EQ(-1, open(...)); ... }
 *	TEST_TIMEOUT(slow_one, 120) { ... }
 *	KTAP_MAIN
 *
 * A test program given test names as arguments runs only those.
 */
#ifndef _KTAP_H
#define _KTAP_H

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define KSFT_PASS	0
#define KSFT_FAIL	1
#define KSFT_XFAIL	2
#define KSFT_XPASS	3
#define KSFT_SKIP	4

void ksft_print_header(void);
void ksft_set_plan(unsigned int plan);
void ksft_print_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ksft_test_result_pass(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ksft_test_result_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ksft_test_result_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int ksft_finished(void);

typedef void (*ktap_fn)(void);

void ktap_register(const char *name, ktap_fn fn, unsigned int timeout_s);
/*
 * fn runs in the harness's own process after each test, however the test
 * ended: it puts back what a test may have changed outside itself.
 */
void ktap_after_each(ktap_fn fn);
int ktap_main(int argc, char **argv);
/*
 * ktap_main() with a scratch directory: @dir, a mkdtemp() template, is made
 * before the tests fork (so every test's child uses the same one) and
 * removed after a clean run; after a failure it stays for a look.
 */
int ktap_main_in_dir(int argc, char **argv, char *dir);
void ktap_fail_here(const char *file, int line, int fatal, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void ktap_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Set by a failed EXPECT_*() in the running test's process. */
extern int ktap_expect_failed;

#define KTAP_DEFAULT_TIMEOUT	30

#define TEST_TIMEOUT(name, secs)						\
	static void name(void);							\
	static void __attribute__((constructor)) ktap_register_##name(void)	\
	{									\
		ktap_register(#name, name, secs);				\
	}									\
	static void name(void)

#define TEST(name) TEST_TIMEOUT(name, KTAP_DEFAULT_TIMEOUT)

#define KTAP_MAIN								\
	int main(int argc, char **argv)						\
	{									\
		return ktap_main(argc, argv);					\
	}

#define SKIP(...) ktap_skip(__VA_ARGS__)

#define TH_LOG(...) ksft_print_msg(__VA_ARGS__)

#define KTAP_CMP(fatal, a, op, b) do {						\
	long long _a = (long long)(a), _b = (long long)(b);			\
	if (!(_a op _b))							\
		ktap_fail_here(__FILE__, __LINE__, fatal,			\
			       "%s %s %s: %lld vs %lld (errno %d: %s)",	\
			       #a, #op, #b, _a, _b, errno, strerror(errno));	\
} while (0)

#define ASSERT_EQ(a, b)		KTAP_CMP(1, a, ==, b)
#define ASSERT_NE(a, b)		KTAP_CMP(1, a, !=, b)
#define ASSERT_LT(a, b)		KTAP_CMP(1, a, <, b)
#define ASSERT_LE(a, b)		KTAP_CMP(1, a, <=, b)
#define ASSERT_GT(a, b)		KTAP_CMP(1, a, >, b)
#define ASSERT_GE(a, b)		KTAP_CMP(1, a, >=, b)
#define ASSERT_TRUE(a)		KTAP_CMP(1, !!(a), ==, 1)
#define ASSERT_FALSE(a)		KTAP_CMP(1, !!(a), ==, 0)
#define EXPECT_EQ(a, b)		KTAP_CMP(0, a, ==, b)
#define EXPECT_NE(a, b)		KTAP_CMP(0, a, !=, b)
#define EXPECT_LT(a, b)		KTAP_CMP(0, a, <, b)
#define EXPECT_LE(a, b)		KTAP_CMP(0, a, <=, b)
#define EXPECT_GT(a, b)		KTAP_CMP(0, a, >, b)
#define EXPECT_GE(a, b)		KTAP_CMP(0, a, >=, b)
#define EXPECT_TRUE(a)		KTAP_CMP(0, !!(a), ==, 1)
#define EXPECT_FALSE(a)		KTAP_CMP(0, !!(a), ==, 0)

/* Two C strings, both shown when they differ. */
#define KTAP_STREQ(fatal, a, b) do {						\
	const char *_a = (a), *_b = (b);					\
	if (strcmp(_a, _b))							\
		ktap_fail_here(__FILE__, __LINE__, fatal,			\
			       "%s == %s: \"%s\" vs \"%s\"", #a, #b, _a, _b);	\
} while (0)

#define ASSERT_STREQ(a, b)	KTAP_STREQ(1, a, b)
#define EXPECT_STREQ(a, b)	KTAP_STREQ(0, a, b)

/* A call that must fail with -1 and the given errno. */
#define KTAP_ERRNO(fatal, call, err) do {					\
	errno = 0;								\
	long long _r = (long long)(call);					\
	int _e = errno;								\
	if (_r != -1 || _e != (err))						\
		ktap_fail_here(__FILE__, __LINE__, fatal,			\
			       "%s: want -1/%s, got %lld/%s", #call,		\
			       strerrorname_np(err), _r,			\
			       _e ? strerrorname_np(_e) : "0");		\
} while (0)

#define ASSERT_ERRNO(call, err)	KTAP_ERRNO(1, call, err)
#define EXPECT_ERRNO(call, err)	KTAP_ERRNO(0, call, err)

/* Byte-wise comparison of two buffers of n bytes. */
#define KTAP_MEMEQ(fatal, a, b, n) do {						\
	if (memcmp((a), (b), (n)))						\
		ktap_fail_here(__FILE__, __LINE__, fatal,			\
			       "%s and %s differ in their %zu bytes",		\
			       #a, #b, (size_t)(n));				\
} while (0)

#define ASSERT_MEMEQ(a, b, n)	KTAP_MEMEQ(1, a, b, n)
#define EXPECT_MEMEQ(a, b, n)	KTAP_MEMEQ(0, a, b, n)

#endif /* _KTAP_H */
