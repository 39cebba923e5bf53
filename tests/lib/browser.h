/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A headless Chromium driven over the DevTools protocol on a pipe
 * (--remote-debugging-pipe: commands on its fd 3, answers on its fd 4, each
 * a JSON text ended by a NUL byte), for tests of the web dashboard in a
 * real browser. One page per browser. Every call is bounded in time.
 */
#ifndef TESTS_BROWSER_H
#define TESTS_BROWSER_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

struct browser {
	pid_t pid;
	int to, from;			/* the pipe's ends on our side */
	unsigned int next_id;
	char session[128];		/* the page's flattened session */
	char *buf;			/* what came, not yet taken */
	size_t len, cap;
	char dir[64];			/* its profile, removed at the end */
};

/* The browser's path, or NULL when it is not installed. */
const char *browser_path(void);
/* Starts it with a blank page; its messages go to @log. 0 or -errno. */
int browser_start(struct browser *b, const char *log);
void browser_stop(struct browser *b);
/* Loads @url and waits for its load event. 0 or -errno. */
int browser_open(struct browser *b, const char *url, int ms);
/*
 * Evaluates @js in the page (awaiting a promise) and returns its value
 * (json_decref it), or NULL on an exception or timeout.
 */
json_t *browser_eval(struct browser *b, const char *js, int ms);
/* Polls the boolean expression @js until it is true: false after @ms. */
bool browser_wait(struct browser *b, const char *js, int ms);
/* The page as PNG in @path. 0 or -errno. */
int browser_screenshot(struct browser *b, const char *path);

#endif
