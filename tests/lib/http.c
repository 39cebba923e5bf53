// SPDX-License-Identifier: GPL-2.0
/* The REST tests' HTTP client: enough of HTTP/1.1 to talk to the server. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "http.h"

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n <= 0)
			return -errno;
		buf += n;
		len -= n;
	}
	return 0;
}

/* Sends @head and @body, reads until the server closes; the raw answer. */
static int exchange(int port, const char *head, const char *body, size_t body_len,
		    char *resp, size_t size, char **raw_out)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct timeval tv = { .tv_sec = 10 };
	char *raw = NULL, *p;
	size_t len = 0, cap = 0;
	int fd, status = -EPROTO;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		status = -errno;
		goto out;
	}
	/* the server may answer (413) before reading all: read regardless */
	if (!write_all(fd, head, strlen(head)) && body)
		write_all(fd, body, body_len);
	for (;;) {
		ssize_t n;

		if (len + 4096 > cap) {
			cap = cap ? 2 * cap : 8192;
			p = realloc(raw, cap + 1);
			if (!p)
				goto out;
			raw = p;
		}
		n = recv(fd, raw + len, cap - len, 0);
		if (n <= 0)
			break;
		len += n;
	}
	if (!raw)
		goto out;
	raw[len] = 0;
	if (sscanf(raw, "HTTP/1.%*d %d", &status) != 1)
		status = -EPROTO;
	p = strstr(raw, "\r\n\r\n");
	snprintf(resp, size, "%s", p ? p + 4 : "");
	if (raw_out) {
		*raw_out = raw;
		raw = NULL;
	}
out:
	free(raw);
	close(fd);
	return status;
}

int http_request(int port, const char *method, const char *path,
		 const char *content_type, const char *body, size_t body_len,
		 char *resp, size_t size)
{
	char head[512];

	snprintf(head, sizeof(head),
		 "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
		 "%s%s%sContent-Length: %zu\r\n\r\n", method, path,
		 content_type ? "Content-Type: " : "", content_type ? content_type : "",
		 content_type ? "\r\n" : "", body ? body_len : 0);
	return exchange(port, head, body, body_len, resp, size, NULL);
}

int http_raw(int port, const char *request, char *resp, size_t size)
{
	char *raw = NULL;
	int status;

	status = exchange(port, request, NULL, 0, resp, size, &raw);
	if (raw)
		snprintf(resp, size, "%s", raw);
	free(raw);
	return status;
}

int http_json(int port, const char *method, const char *path, const char *json,
	      char *resp, size_t size)
{
	return http_request(port, method, path, json ? "application/json" : NULL,
			    json, json ? strlen(json) : 0, resp, size);
}
