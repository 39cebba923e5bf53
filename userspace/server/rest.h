/* SPDX-License-Identifier: GPL-2.0 */
/* osmo-remsim's REST API (/api/backend/v1) on libmicrohttpd, in our loop. */
#ifndef REMSIM_SERVER_REST_H
#define REMSIM_SERVER_REST_H

#include <stddef.h>

struct server;
struct rest;

/* The most REST connections --rest-connections may allow. */
#define REST_CONN_MAX	65536

/*
 * Listens on server_rest_cfg(@srv)'s address, in server_loop(@srv), and
 * writes the port taken back there. *@rest is set even on failure, for
 * rest_stop(): 0, or -errno with the reason in @err.
 */
int rest_start(struct rest **rest, struct server *srv, char *err, size_t errlen);
/* Safe on NULL. */
void rest_stop(struct rest *rest);
/* One log line for SIGUSR1: requests, refusals, connections. */
void rest_log_stats(struct rest *rest);

#endif
