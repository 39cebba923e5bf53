/* SPDX-License-Identifier: GPL-2.0 */
/*
 * remsim-client-shell under test: its stdin and stdout as pipes (commands
 * in, "R-APDU: ..." and the like out), its stderr to a log.
 */
#ifndef TESTS_SHELLPROC_H
#define TESTS_SHELLPROC_H

#include <stddef.h>
#include <sys/types.h>

struct shellproc {
	pid_t pid;
	int in, out;
	char buf[16384];	/* output not yet taken as lines */
	size_t len;
};

/*
 * Starts the (ASan) remsim-client-shell with @args after its name
 * (NULL-terminated), stderr appended to @log. 0 or -errno.
 */
int shellproc_start(struct shellproc *sh, char *const args[], const char *log);
/*
 * The next output line starting with @prefix (other lines are skipped),
 * without the prefix, or NULL after @ms without one or at its end. The
 * line lives until the next call.
 */
const char *shellproc_line(struct shellproc *sh, const char *prefix, int ms);
/* Writes @line and a newline to its stdin: 0 or -EIO. */
int shellproc_send(struct shellproc *sh, const char *line);
/*
 * Closes its stdin (the shell's way out), waits 5 s, then SIGKILL: its exit
 * status, -1 if it did not exit by itself. Safe on a stopped one.
 */
int shellproc_stop(struct shellproc *sh);

#endif
