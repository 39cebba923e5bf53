// SPDX-License-Identifier: GPL-2.0
/*
 * The dashboard is three static files. They are served by name from a fixed
 * list, opened without following a symlink and bounded in size, with headers
 * that keep a browser from running anything but them (Content-Security-Policy
 * without inline script) or framing the page: the page shows reader names and
 * card data that a bankd sent, and treats them as text.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dashboard.h"
#include "remsim/log.h"
#include "rest_int.h"

#define DASHBOARD_PATH	"/dashboard/"

static const struct {
	const char *name, *type;
} files[] = {
	{ "index.html",	"text/html; charset=utf-8" },
	{ "app.js",	"text/javascript; charset=utf-8" },
	{ "style.css",	"text/css; charset=utf-8" },
};

void dashboard_default_dir(char *dir, size_t size)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n <= 0) {
		snprintf(dir, size, "/usr/share/remsim/dashboard");
		return;
	}
	exe[n] = 0;
	slash = strrchr(exe, '/');
	if (slash)
		*slash = 0;
	if ((size_t)snprintf(dir, size, "%s/" DASHBOARD_BESIDE, exe) >= size)
		snprintf(dir, size, "/usr/share/remsim/dashboard");
}

bool dashboard_url(const char *method, const char *url)
{
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return false;
	return !strcmp(url, "/") || !strcmp(url, "/dashboard") ||
	       !strncmp(url, DASHBOARD_PATH, strlen(DASHBOARD_PATH));
}

static void add_headers(struct MHD_Response *r, const char *type)
{
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "Content-Security-Policy",
				"default-src 'none'; script-src 'self'; style-src 'self'; "
				"connect-src 'self'; img-src 'self'; frame-ancestors 'none'; "
				"base-uri 'none'; form-action 'none'");
}

static enum MHD_Result redirect(struct MHD_Connection *c)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(0, "",
								 MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, DASHBOARD_PATH);
	ret = MHD_queue_response(c, MHD_HTTP_FOUND, r);
	MHD_destroy_response(r);
	return ret;
}

/* A missing install is said once, not at every page load. */
static void log_missing(const char *path, int err)
{
	static bool said;

	if (said)
		return;
	said = true;
	LOGP(DREST, LOG_ERROR, "rest",
	     "dashboard: %s: %s (make install puts the files in PREFIX/share/remsim/dashboard; --dashboard DIR names another place)",
	     path, strerror(err));
}

static enum MHD_Result send_file(struct MHD_Connection *c, const char *dir, size_t i)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	char path[512];
	struct stat st;
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, files[i].name) >= sizeof(path))
		return rest_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
				  "dashboard: the directory's name is too long");
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		int err = errno;

		log_missing(path, err);
		return rest_error(c, MHD_HTTP_NOT_FOUND, "dashboard: %s: %s", files[i].name,
				  strerror(err));
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > DASHBOARD_FILE_MAX) {
		close(fd);
		return rest_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
				  "dashboard: %s is not a regular file of at most %d bytes",
				  files[i].name, DASHBOARD_FILE_MAX);
	}
	/* the response owns the descriptor from here on, failure included */
	r = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
	if (!r) {
		close(fd);
		return MHD_NO;
	}
	add_headers(r, files[i].type);
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

enum MHD_Result dashboard_serve(struct MHD_Connection *c, const char *dir, const char *url)
{
	const char *name;
	size_t i;

	if (!strcmp(url, "/") || !strcmp(url, "/dashboard"))
		return redirect(c);
	if (!dir[0])
		return rest_error(c, MHD_HTTP_NOT_FOUND,
				  "the dashboard is off (remsim-server --dashboard DIR)");
	name = url + strlen(DASHBOARD_PATH);
	if (!*name)
		name = "index.html";
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (!strcmp(name, files[i].name))
			return send_file(c, dir, i);
	return rest_error(c, MHD_HTTP_NOT_FOUND, "no such resource: %s", url);
}
