/* SPDX-License-Identifier: GPL-2.0 */
/* Between rest.c (HTTP, connections, limits) and rest_api.c (paths, JSON). */
#ifndef REMSIM_SERVER_REST_INT_H
#define REMSIM_SERVER_REST_INT_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

struct server;

#define PREFIX	"/api/backend/v1"

/* One request while its body arrives. */
struct request {
	char *body;
	size_t len;
	bool too_big;
	/* for audit lines: "ADDR:PORT", and " token=NAME" with --rest-auth */
	char caller[160];
};

/* Requests answered with an error (4xx, 5xx), for SIGUSR1. */
extern unsigned long rest_refusals;

/* Answers @status with {"error": "..."} (logged, counted). */
enum MHD_Result rest_error(struct MHD_Connection *c, unsigned int status,
			   const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/*
 * A refused token: @status (401, 403) with WWW-Authenticate: @challenge and
 * {"error": @why}; counted, logged at debug only (rest.c rate-limits).
 */
enum MHD_Result rest_deny(struct MHD_Connection *c, unsigned int status,
			  const char *challenge, const char *why);
/* A complete request under PREFIX: @path is what follows it. */
enum MHD_Result rest_route(struct MHD_Connection *c, struct server *srv,
			   const char *method, const char *path,
			   const struct request *rq);

#endif
