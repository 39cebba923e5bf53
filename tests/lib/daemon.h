/* SPDX-License-Identifier: GPL-2.0 */
/* Running the daemons under test as child processes. */
#ifndef TESTS_DAEMON_H
#define TESTS_DAEMON_H

#include <stdbool.h>
#include <sys/types.h>

struct daemon {
	pid_t pid;
	char log[256];
};

/*
 * The path of a program of ours: build/san/bin/NAME (built with ASan and
 * UBSan) if it exists, else build/bin/NAME, found from the test's own path.
 */
const char *daemon_bin(const char *name);
/* build/bin/NAME always: benchmarks measure the optimised build. */
const char *daemon_bin_fast(const char *name);
/* @rel (a script, say) in the source tree whose build/ the program is in. */
const char *daemon_src_path(const char *rel);

/* Starts argv[0] with stdout and stderr appended to @log. */
int daemon_start(struct daemon *d, char *const argv[], const char *log);
/*
 * Sends @sig (0: none) and waits up to @ms for the exit; SIGKILL after
 * that. Returns the exit status, 128 + signal if killed, or -1.
 */
int daemon_stop(struct daemon *d, int sig, int ms);
/* Waits up to @ms for the child to exit by itself; -1 if it did not. */
int daemon_wait(struct daemon *d, int ms);

/* A TCP port free right now on every address, below the ephemeral range. */
int free_port(void);
/* Waits until 127.0.0.1:@port accepts connections. */
bool wait_port(int port, int ms);
/* Whether @log contains @text. */
bool log_contains(const char *log, const char *text);
/* Runs a formatted command through /bin/sh: its exit status, or -1. */
int shell(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The resident set of process @pid, in KiB, or -1. */
long pid_rss_kib(pid_t pid);
/* The CPU time (user + system) process @pid used so far, in ms, or -1. */
long pid_cpu_ms(pid_t pid);
/*
 * The threads of @pid, or -1; in @sum the values of their "NAME: N" lines
 * of /proc status added up, in @nonzero how many of them are not 0.
 */
long pid_task_status(pid_t pid, const char *name, long *sum, long *nonzero);
/* The voluntary context switches of every thread of @pid so far, or -1. */
long pid_vol_switches(pid_t pid);
/*
 * strace -f attached to every thread of @pid, writing to @out its log, or
 * with @summary the count of each call (strace -c -U calls,name); returns
 * strace's pid once all are traced, -1 if strace cannot attach.
 */
pid_t strace_attach(pid_t pid, const char *out, bool summary);
/* Detaches strace: 0 when it wrote @out, -1 if not. */
int strace_detach(pid_t tracer);
/* The calls to @name ("total": all) in a summary of strace_attach(), or -1. */
long strace_summary_calls(const char *out, const char *name);
/*
 * The calls to @name ("total": all) that thread @tid (0: any) started in
 * the log of strace_attach() without @summary, or -1.
 */
long strace_log_calls(const char *log, pid_t tid, const char *name);
/* How many lines of @log contain @text. */
long log_count(const char *log, const char *text);
/*
 * Opens up to @max connections to 127.0.0.1:@port without waiting for the
 * other side to accept them (a connection flood); their fds in @fds.
 * Returns how many were opened.
 */
int tcp_flood(int port, int *fds, int max);

#endif
