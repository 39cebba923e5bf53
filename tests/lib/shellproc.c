// SPDX-License-Identifier: GPL-2.0
/* remsim-client-shell behind two pipes, for the tests that drive one. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "shellproc.h"

#define SHELLPROC_ARGS_MAX	32

int shellproc_start(struct shellproc *sh, char *const args[], const char *log)
{
	char *argv[SHELLPROC_ARGS_MAX + 2] = { "remsim-client-shell" };
	int in[2], out[2], n;

	for (n = 0; args[n]; n++) {
		if (n == SHELLPROC_ARGS_MAX)
			return -E2BIG;
		argv[n + 1] = args[n];
	}
	memset(sh, 0, sizeof(*sh));
	if (pipe2(in, O_CLOEXEC))
		return -errno;
	if (pipe2(out, O_CLOEXEC)) {
		close(in[0]);
		close(in[1]);
		return -errno;
	}
	sh->pid = fork();
	if (sh->pid < 0)
		return -errno;
	if (!sh->pid) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(fd, 2);
		execv(daemon_bin("remsim-client-shell"), argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	sh->in = in[1];
	sh->out = out[0];
	return 0;
}

const char *shellproc_line(struct shellproc *sh, const char *prefix, int ms)
{
	static char line[4096];

	for (;;) {
		char *nl = memchr(sh->buf, '\n', sh->len);
		struct pollfd pfd = { .fd = sh->out, .events = POLLIN };
		ssize_t n;

		if (nl) {
			size_t l = nl - sh->buf;

			if (l >= sizeof(line))
				l = sizeof(line) - 1;
			memcpy(line, sh->buf, l);
			line[l] = 0;
			sh->len -= nl - sh->buf + 1;
			memmove(sh->buf, nl + 1, sh->len);
			if (!strncmp(line, prefix, strlen(prefix)))
				return line + strlen(prefix);
			continue;
		}
		/* a line longer than the buffer: dropped, not a stall */
		if (sh->len == sizeof(sh->buf) - 1)
			sh->len = 0;
		if (poll(&pfd, 1, ms) != 1)
			return NULL;
		n = read(sh->out, sh->buf + sh->len, sizeof(sh->buf) - sh->len - 1);
		if (n <= 0)
			return NULL;
		sh->len += n;
	}
}

int shellproc_send(struct shellproc *sh, const char *line)
{
	size_t n = strlen(line);

	if (write(sh->in, line, n) != (ssize_t)n || write(sh->in, "\n", 1) != 1)
		return -EIO;
	return 0;
}

int shellproc_stop(struct shellproc *sh)
{
	int status = -1, t;

	if (sh->pid <= 0)
		return -1;
	close(sh->in);
	for (t = 0; t < 100 && waitpid(sh->pid, &status, WNOHANG) != sh->pid; t++)
		usleep(50000);
	if (t == 100) {
		kill(sh->pid, SIGKILL);
		waitpid(sh->pid, &status, 0);
		status = -1;
	}
	close(sh->out);
	sh->pid = 0;
	return status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
