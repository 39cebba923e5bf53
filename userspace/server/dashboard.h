/* SPDX-License-Identifier: GPL-2.0 */
/* The web dashboard's static files, served beside the REST API. */
#ifndef REMSIM_SERVER_DASHBOARD_H
#define REMSIM_SERVER_DASHBOARD_H

#include <microhttpd.h>
#include <stdbool.h>

#include <stddef.h>

/* Where `make install` puts the files, from the program's directory. */
#define DASHBOARD_BESIDE	"../share/remsim/dashboard"
/* The largest file served: the page is a few kB, this is a bound, not a goal. */
#define DASHBOARD_FILE_MAX	(1 << 20)

/*
 * Whether @method @url is the dashboard's: GET or HEAD of "/", "/dashboard"
 * or "/dashboard/...". These need no token: the files hold no data, every
 * figure the page shows it asks the REST API for, with the user's token.
 */
/*
 * The default directory: DASHBOARD_BESIDE from the directory the program
 * runs from (/usr/bin -> /usr/share/remsim/dashboard, whatever PREFIX was).
 */
void dashboard_default_dir(char *dir, size_t size);
bool dashboard_url(const char *method, const char *url);
/*
 * Answers a dashboard request from the files in @dir ("" when it is off):
 * "/" and "/dashboard" redirect to "/dashboard/", which is index.html. Only
 * the files the page consists of are served, by name: no path from a request
 * reaches the file system.
 */
enum MHD_Result dashboard_serve(struct MHD_Connection *c, const char *dir, const char *url);

#endif
