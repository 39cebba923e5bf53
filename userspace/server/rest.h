/* SPDX-License-Identifier: GPL-2.0 */
/* osmo-remsim's REST API (/api/backend/v1) on libmicrohttpd, in our loop. */
#ifndef REMSIM_SERVER_REST_H
#define REMSIM_SERVER_REST_H

#include <stddef.h>

struct server;

int rest_start(struct server *srv, char *err, size_t errlen);
void rest_stop(struct server *srv);

#endif
