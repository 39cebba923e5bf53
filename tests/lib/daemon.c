// SPDX-License-Identifier: GPL-2.0
/* Child processes for the daemons under test. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"

static const char *bin_path(const char *name, bool san)
{
	static char path[PATH_MAX + 64];
	char self[PATH_MAX], *build;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return name;
	self[n] = 0;
	build = strstr(self, "/build/");
	if (!build)
		return name;
	build[7] = 0;
	snprintf(path, sizeof(path), "%ssan/bin/%s", self, name);
	if (san && !access(path, X_OK))
		return path;
	snprintf(path, sizeof(path), "%sbin/%s", self, name);
	return path;
}

const char *daemon_src_path(const char *rel)
{
	static char path[PATH_MAX + 64];
	char self[PATH_MAX], *build;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return rel;
	self[n] = 0;
	build = strstr(self, "/build/");
	if (!build)
		return rel;
	build[1] = 0;
	snprintf(path, sizeof(path), "%s%s", self, rel);
	return path;
}

const char *daemon_bin(const char *name)
{
	return bin_path(name, true);
}

const char *daemon_bin_fast(const char *name)
{
	return bin_path(name, false);
}

int daemon_start(struct daemon *d, char *const argv[], const char *log)
{
	pid_t pid;

	snprintf(d->log, sizeof(d->log), "%s", log);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	d->pid = pid;
	return 0;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

int daemon_wait(struct daemon *d, int ms)
{
	int status, t;

	for (t = 0; t <= ms; t += 10) {
		pid_t r = waitpid(d->pid, &status, WNOHANG);

		if (r == d->pid) {
			d->pid = 0;
			if (WIFEXITED(status))
				return WEXITSTATUS(status);
			return 128 + WTERMSIG(status);
		}
		sleep_ms(10);
	}
	return -1;
}

int daemon_stop(struct daemon *d, int sig, int ms)
{
	int ret;

	if (!d->pid)
		return -1;
	if (sig)
		kill(d->pid, sig);
	ret = daemon_wait(d, ms);
	if (ret < 0) {
		kill(d->pid, SIGKILL);
		ret = daemon_wait(d, 5000);
	}
	return ret;
}

/*
 * Daemons under test listen on 10000..19999: below the vpcd readers'
 * 20000..29999 (pcsc_env.c) and the ephemeral range (32768 up), whose
 * ports any test's outgoing connections - thousands in the hostile and
 * slowloris tests - may hold on any 127.0.0.x, so that a port found free
 * is still free when the daemon binds it, on any address.
 */
#define FREE_PORT_MIN	10000
#define FREE_PORT_SPAN	10000

int free_port(void)
{
	static unsigned int next;
	unsigned int tries;

	if (!next)
		next = (getpid() * 7919u + (unsigned int)time(NULL)) % FREE_PORT_SPAN + 1;
	for (tries = 0; tries < FREE_PORT_SPAN; tries++) {
		struct sockaddr_in sa = { .sin_family = AF_INET };
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;
		int port = FREE_PORT_MIN + next++ % FREE_PORT_SPAN;

		if (fd < 0)
			return -1;
		sa.sin_port = htons(port);
		ok = !bind(fd, (struct sockaddr *)&sa, sizeof(sa));
		close(fd);
		if (ok)
			return port;
	}
	return -1;
}

bool wait_port(int port, int ms)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int t;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (t = 0; t <= ms; t += 20) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		int ok = !connect(fd, (struct sockaddr *)&sa, sizeof(sa));

		close(fd);
		if (ok)
			return true;
		sleep_ms(20);
	}
	return false;
}

bool log_contains(const char *log, const char *text)
{
	FILE *f = fopen(log, "r");
	char line[2048];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, text) != NULL;
	fclose(f);
	return found;
}

int shell(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

long pid_rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

long pid_cpu_ms(pid_t pid)
{
	unsigned long utime, stime;
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	/* the name in parentheses may hold spaces: fields count from its end */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
			 &utime, &stime) != 2)
		return -1;
	return (long)((utime + stime) * 1000 / sysconf(_SC_CLK_TCK));
}

long log_count(const char *log, const char *text)
{
	FILE *f = fopen(log, "r");
	char line[2048];
	long n = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, text) != NULL;
	fclose(f);
	return n;
}

int tcp_flood(int port, int *fds, int max)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int n = 0;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	while (n < max) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

		if (fd < 0)
			break;
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) && errno != EINPROGRESS) {
			close(fd);
			break;
		}
		fds[n++] = fd;
	}
	return n;
}

/*
 * The threads of @pid, or -1; in @sum the values of their "NAME: N" lines
 * of /proc status added up, in @nonzero how many of them are not 0.
 */
long pid_task_status(pid_t pid, const char *name, long *sum, long *nonzero)
{
	char path[300], line[256];
	size_t nlen = strlen(name);
	struct dirent *e;
	long tasks = 0;
	DIR *d;

	*sum = *nonzero = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/status", (int)pid, e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;	/* a thread that just ended */
		tasks++;
		while (fgets(line, sizeof(line), f)) {
			long v;

			if (strncmp(line, name, nlen) || line[nlen] != ':')
				continue;
			v = strtol(line + nlen + 1, NULL, 10);
			*sum += v;
			*nonzero += v != 0;
		}
		fclose(f);
	}
	closedir(d);
	return tasks;
}

long pid_vol_switches(pid_t pid)
{
	long sum, nonzero;

	return pid_task_status(pid, "voluntary_ctxt_switches", &sum, &nonzero) < 0 ? -1 : sum;
}

/* Whether every thread of @pid has a tracer. */
static bool all_traced(pid_t pid)
{
	long sum, traced, tasks = pid_task_status(pid, "TracerPid", &sum, &traced);

	return tasks > 0 && traced == tasks;
}

pid_t strace_attach(pid_t pid, const char *out, bool summary)
{
	char p[16];
	pid_t tracer;
	int i;

	snprintf(p, sizeof(p), "%d", (int)pid);
	tracer = fork();
	if (tracer < 0)
		return -1;
	if (!tracer) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		if (summary)
			execlp("strace", "strace", "-qq", "-f", "-c", "-U", "calls,name", "-o",
			       out, "-p", p, (char *)NULL);
		else
			execlp("strace", "strace", "-qq", "-f", "-o", out, "-p", p, (char *)NULL);
		_exit(127);
	}
	/* every thread stopped once and resumed under strace: counting runs */
	for (i = 0; i < 500; i++) {
		if (all_traced(pid))
			return tracer;
		if (waitpid(tracer, NULL, WNOHANG) == tracer)
			return -1;
		usleep(10000);
	}
	kill(tracer, SIGKILL);
	waitpid(tracer, NULL, 0);
	return -1;
}

int strace_detach(pid_t tracer)
{
	int st;

	/* SIGINT: strace detaches, flushes its log and dies by the signal */
	kill(tracer, SIGINT);
	if (waitpid(tracer, &st, 0) != tracer)
		return -1;
	return (WIFEXITED(st) ? !WEXITSTATUS(st) : WTERMSIG(st) == SIGINT) ? 0 : -1;
}

long strace_log_calls(const char *log, pid_t tid, const char *name)
{
	char line[512], call[32];
	long calls = 0;
	int t;
	FILE *f = fopen(log, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		/* "TID name(args...": a call; "TID <... name resumed>", "TID +++": not */
		if (sscanf(line, "%d %31[a-z0-9_]", &t, call) != 2 || !strchr(line, '(') ||
		    strstr(line, "resumed>"))
			continue;
		if ((!tid || t == tid) && (!strcmp(name, "total") || !strcmp(call, name)))
			calls++;
	}
	fclose(f);
	return calls;
}

long strace_summary_calls(const char *out, const char *name)
{
	char line[256], n[64];
	long calls = -1, v;
	FILE *f = fopen(out, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%ld %63s", &v, n) == 2 && !strcmp(n, name))
			calls = v;
	fclose(f);
	return calls;
}
