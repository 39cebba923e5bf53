/* SPDX-License-Identifier: GPL-2.0 */
/* osmo-remsim's REST API (/api/backend/v1) on libmicrohttpd, in our loop. */
#ifndef REMSIM_SERVER_REST_H
#define REMSIM_SERVER_REST_H

#include <stddef.h>

struct server;

/* The most REST connections --rest-connections may allow. */
#define REST_CONN_MAX	65536

int rest_start(struct server *srv, char *err, size_t errlen);
void rest_stop(struct server *srv);
/* One log line for SIGUSR1: requests, refusals, connections. */
void rest_log_stats(struct server *srv);

#endif
