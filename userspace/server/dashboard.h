/* SPDX-License-Identifier: GPL-2.0 */
/* The web dashboard's static files, served beside the REST API. */
#ifndef REMSIM_SERVER_DASHBOARD_H
#define REMSIM_SERVER_DASHBOARD_H

#include <microhttpd.h>
#include <stdbool.h>

/* Where `make install` puts the files; --dashboard names another place. */
#ifndef REMSIM_DATADIR
#define REMSIM_DATADIR		"/usr/local/share"
#endif
#define DASHBOARD_DEFAULT_DIR	REMSIM_DATADIR "/remsim/dashboard"
/* The largest file served: the page is a few kB, this is a bound, not a goal. */
#define DASHBOARD_FILE_MAX	(1 << 20)

/*
 * Whether @method @url is the dashboard's: GET or HEAD of "/", "/dashboard"
 * or "/dashboard/...". These need no token: the files hold no data, every
 * figure the page shows it asks the REST API for, with the user's token.
 */
bool dashboard_url(const char *method, const char *url);
/*
 * Answers a dashboard request from the files in @dir ("" when it is off):
 * "/" and "/dashboard" redirect to "/dashboard/", which is index.html. Only
 * the files the page consists of are served, by name: no path from a request
 * reaches the file system.
 */
enum MHD_Result dashboard_serve(struct MHD_Connection *c, const char *dir, const char *url);

#endif
