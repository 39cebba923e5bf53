/* SPDX-License-Identifier: GPL-2.0 */
/* Between rest.c (HTTP, connections, limits) and rest_api.c (paths, JSON). */
#ifndef REMSIM_SERVER_REST_INT_H
#define REMSIM_SERVER_REST_INT_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

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

/* --- rest_api.c's helpers, for rest_racks.c --- */

/* Answers @status with @body (NULL: none), which it takes. */
enum MHD_Result rest_reply(struct MHD_Connection *c, unsigned int status, json_t *body);
/* A store error: 503 (retry) for -EBUSY and -EAGAIN, else 500. */
enum MHD_Result rest_store_error(struct MHD_Connection *c, int ret, const char *what,
				 const char *why);
/* A decimal id 0..max; a time (ISO 8601 or Unix seconds) in µs. */
int rest_parse_id(const char *s, unsigned long max, unsigned long *out);
int rest_parse_time(const char *s, int64_t *us);
/*
 * The request's JSON object body, checked for Content-Type; NULL when it
 * answered already (@ret).
 */
json_t *rest_json_body(struct MHD_Connection *c, const struct request *rq,
		       enum MHD_Result *ret);
/* The owner of a caller: its token's name, or its address without the port. */
void rest_owner(const struct request *rq, char *out, size_t len);
/* Whether ?force=1 was given. */
bool rest_force(struct MHD_Connection *c);

/* rest_racks.c: tags, pools, leases, history; NULL: not one of its paths. */
bool rest_racks_route(struct MHD_Connection *c, struct server *srv, const char *method,
		      const char *path, const struct request *rq, enum MHD_Result *ret);
/* The tags of a card as a JSON array. */
json_t *rest_card_tags(struct server *srv, const char *iccid, const char *imsi);

#endif
