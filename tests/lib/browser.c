// SPDX-License-Identifier: GPL-2.0
/*
 * The DevTools protocol over a pipe needs no WebSocket: each message is a
 * JSON text ended by NUL. We send a command with an id and read until the
 * answer with that id comes, dropping events on the way (the page's load
 * event is waited for by polling document.readyState instead, so no event
 * has to be kept).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "browser.h"
#include "daemon.h"

#define BROWSER_MSG_MAX	(32 << 20)	/* a screenshot is the biggest */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

const char *browser_path(void)
{
	static const char *const paths[] = { "/usr/bin/chromium", "/usr/bin/chromium-browser",
					     "/usr/bin/google-chrome" };
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (!access(paths[i], X_OK))
			return paths[i];
	return NULL;
}

static void child(const char *path, const char *dir, int in, int out, const char *log)
{
	char profile[96];
	int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

	snprintf(profile, sizeof(profile), "--user-data-dir=%s", dir);
	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
	}
	/* fds 3 and 4 are the protocol's: move ours there, in order */
	in = fcntl(in, F_DUPFD_CLOEXEC, 10);
	out = fcntl(out, F_DUPFD_CLOEXEC, 10);
	if (in < 0 || out < 0 || dup2(in, 3) < 0 || dup2(out, 4) < 0)
		_exit(127);
	/* root in a test VM or container: no user namespace for the sandbox */
	execl(path, path, "--headless=new", "--remote-debugging-pipe", "--no-sandbox",
	      "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
	      "--no-default-browser-check",
	      "--disable-extensions", "--disable-background-networking", "--mute-audio",
	      "--window-size=1280,900", profile, "about:blank", (char *)NULL);
	_exit(127);
}

int browser_start(struct browser *b, const char *log)
{
	const char *path = browser_path();
	int in[2], out[2];

	memset(b, 0, sizeof(*b));
	b->to = b->from = -1;
	if (!path)
		return -ENOENT;
	snprintf(b->dir, sizeof(b->dir), "/tmp/remsim-browser-XXXXXX");
	if (!mkdtemp(b->dir))
		return -errno;
	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC))
		return -errno;
	b->pid = fork();
	if (b->pid < 0)
		return -errno;
	if (!b->pid)
		child(path, b->dir, in[0], out[1], log);
	close(in[0]);
	close(out[1]);
	b->to = in[1];
	b->from = out[0];
	return 0;
}

void browser_stop(struct browser *b)
{
	if (b->to >= 0)
		close(b->to);
	if (b->from >= 0)
		close(b->from);
	b->to = b->from = -1;
	if (b->pid > 0) {
		int i;

		kill(b->pid, SIGTERM);
		for (i = 0; i < 50 && waitpid(b->pid, NULL, WNOHANG) == 0; i++)
			usleep(100000);
		if (i == 50) {
			kill(b->pid, SIGKILL);
			waitpid(b->pid, NULL, 0);
		}
		b->pid = 0;
	}
	free(b->buf);
	b->buf = NULL;
	if (b->dir[0])
		shell("rm -rf %s", b->dir);
	b->dir[0] = 0;
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -EPIPE;
		p += w;
		n -= w;
	}
	return 0;
}

/* The next whole message (json_decref it), or NULL by @deadline. */
static json_t *next_message(struct browser *b, long long deadline)
{
	for (;;) {
		char *end = b->len ? memchr(b->buf, 0, b->len) : NULL;
		struct pollfd p = { .fd = b->from, .events = POLLIN };
		long long left;
		ssize_t r;

		if (end) {
			size_t n = end - b->buf + 1;
			json_t *m = json_loadb(b->buf, n - 1, 0, NULL);

			memmove(b->buf, b->buf + n, b->len - n);
			b->len -= n;
			if (m)
				return m;
			continue;
		}
		left = deadline - now_ms();
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return NULL;
		if (b->len + 65536 > b->cap) {
			size_t cap = b->cap ? b->cap * 2 : 1 << 20;
			char *nb;

			if (cap > BROWSER_MSG_MAX)
				return NULL;
			nb = realloc(b->buf, cap);
			if (!nb)
				return NULL;
			b->buf = nb;
			b->cap = cap;
		}
		r = read(b->from, b->buf + b->len, b->cap - b->len);
		if (r <= 0)
			return NULL;
		b->len += r;
	}
}

/*
 * Sends @method with @params (taken) in the page's session when @in_page;
 * returns the result object (json_decref it) or NULL on error or timeout.
 */
static json_t *call(struct browser *b, bool in_page, const char *method, json_t *params, int ms)
{
	unsigned int id = ++b->next_id;
	json_t *cmd = json_pack("{s:I,s:s,s:o}", "id", (json_int_t)id, "method", method,
				"params", params ?: json_object());
	long long deadline = now_ms() + ms;
	char *text;
	int ret;

	if (!cmd)
		return NULL;
	if (in_page)
		json_object_set_new(cmd, "sessionId", json_string(b->session));
	text = json_dumps(cmd, JSON_COMPACT);
	json_decref(cmd);
	if (!text)
		return NULL;
	ret = send_all(b->to, text, strlen(text) + 1);
	free(text);
	if (ret)
		return NULL;
	for (;;) {
		json_t *m = next_message(b, deadline), *res;

		if (!m)
			return NULL;
		if (json_integer_value(json_object_get(m, "id")) != id) {
			json_decref(m);
			continue;
		}
		res = json_incref(json_object_get(m, "result"));
		if (!res)
			fprintf(stderr, "# browser: %s: %s\n", method,
				json_string_value(json_object_get(json_object_get(m, "error"),
								  "message")) ?: "error");
		json_decref(m);
		return res;
	}
}

static int attach(struct browser *b)
{
	json_t *r = call(b, false, "Target.getTargets", NULL, 20000), *infos;
	const char *target = NULL;
	size_t i;
	json_t *t;

	if (!r)
		return -ETIMEDOUT;
	infos = json_object_get(r, "targetInfos");
	json_array_foreach(infos, i, t)
		if (!strcmp(json_string_value(json_object_get(t, "type")) ?: "", "page"))
			target = json_string_value(json_object_get(t, "targetId"));
	if (!target) {
		json_decref(r);
		return -ENOENT;
	}
	t = call(b, false, "Target.attachToTarget",
		 json_pack("{s:s,s:b}", "targetId", target, "flatten", 1), 10000);
	json_decref(r);
	if (!t)
		return -EPROTO;
	snprintf(b->session, sizeof(b->session), "%s",
		 json_string_value(json_object_get(t, "sessionId")) ?: "");
	json_decref(t);
	return b->session[0] ? 0 : -EPROTO;
}

int browser_open(struct browser *b, const char *url, int ms)
{
	json_t *r;
	int ret;

	if (!b->session[0]) {
		ret = attach(b);
		if (ret)
			return ret;
	}
	r = call(b, true, "Page.navigate", json_pack("{s:s}", "url", url), ms);
	if (!r)
		return -ETIMEDOUT;
	if (json_object_get(r, "errorText")) {
		fprintf(stderr, "# browser: %s: %s\n", url,
			json_string_value(json_object_get(r, "errorText")));
		json_decref(r);
		return -EHOSTUNREACH;
	}
	json_decref(r);
	return browser_wait(b, "document.readyState === 'complete'", ms) ? 0 : -ETIMEDOUT;
}

json_t *browser_eval(struct browser *b, const char *js, int ms)
{
	json_t *r = call(b, true, "Runtime.evaluate",
			 json_pack("{s:s,s:b,s:b}", "expression", js, "returnByValue", 1,
				   "awaitPromise", 1), ms);
	json_t *v;

	if (!r)
		return NULL;
	if (json_object_get(r, "exceptionDetails")) {
		char *d = json_dumps(json_object_get(r, "exceptionDetails"), JSON_COMPACT);

		fprintf(stderr, "# browser: %s: %.300s\n", js, d ?: "exception");
		free(d);
		json_decref(r);
		return NULL;
	}
	v = json_object_get(json_object_get(r, "result"), "value");
	v = v ? json_incref(v) : json_null();
	json_decref(r);
	return v;
}

bool browser_wait(struct browser *b, const char *js, int ms)
{
	long long deadline = now_ms() + ms;

	do {
		json_t *v = browser_eval(b, js, 5000);
		bool yes = json_is_true(v);

		json_decref(v);
		if (yes)
			return true;
		usleep(100000);
	} while (now_ms() < deadline);
	return false;
}

/* Standard base64, as the protocol sends the PNG; -1 on a bad character. */
static int unbase64(const char *in, unsigned char *out, size_t *outlen)
{
	unsigned int acc = 0, bits = 0;
	size_t n = 0;

	for (; *in && *in != '='; in++) {
		const char *set = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		const char *p = strchr(set, *in);

		if (!p)
			return -1;
		acc = acc << 6 | (unsigned int)(p - set);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = acc >> bits & 0xff;
		}
	}
	*outlen = n;
	return 0;
}

int browser_screenshot(struct browser *b, const char *path)
{
	json_t *r = call(b, true, "Page.captureScreenshot",
			 json_pack("{s:s,s:b}", "format", "png", "captureBeyondViewport", 1),
			 20000);
	const char *data = r ? json_string_value(json_object_get(r, "data")) : NULL;
	unsigned char *png;
	size_t n = 0;
	FILE *f;
	int ret = -EPROTO;

	if (!data) {
		json_decref(r);
		return -ETIMEDOUT;
	}
	png = malloc(strlen(data));
	if (png && !unbase64(data, png, &n) && n > 8 && !memcmp(png + 1, "PNG", 3)) {
		f = fopen(path, "w");
		ret = f && fwrite(png, 1, n, f) == n ? 0 : -EIO;
		if (f && fclose(f))
			ret = -EIO;
	}
	free(png);
	json_decref(r);
	return ret;
}
