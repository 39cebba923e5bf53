/* SPDX-License-Identifier: GPL-2.0 */
/* A minimal HTTP/1.1 client for REST tests: one request per connection. */
#ifndef TESTS_HTTP_H
#define TESTS_HTTP_H

#include <stddef.h>

/*
 * Sends METHOD PATH to 127.0.0.1:@port with @body (may be NULL) as
 * @content_type, and returns the status (or -errno); the response body goes
 * to @resp (NUL-terminated, truncated to @size).
 */
int http_request(int port, const char *method, const char *path,
		 const char *content_type, const char *body, size_t body_len,
		 char *resp, size_t size);

/* The same with a JSON body (Content-Type: application/json). */
int http_json(int port, const char *method, const char *path, const char *json,
	      char *resp, size_t size);

/*
 * Sends @request as it is (request line, headers, body) and returns the
 * status; @resp gets the whole answer, status line and headers included.
 */
int http_raw(int port, const char *request, char *resp, size_t size);

#endif
