// SPDX-License-Identifier: GPL-2.0
/* The REST tests' HTTPS client on GnuTLS, bounded in time (10 s a call). */
#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "https.h"

static int tcp_connect(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct timeval tv = { .tv_sec = 10 };
	int fd, ret;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* blocking with timeouts: a stuck server fails the call, not the test run */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

/* Reads the answer until the server closes; its length, or -EPROTO. */
static int read_all(gnutls_session_t s, char *resp, size_t size)
{
	size_t len = 0;
	ssize_t n;

	while (len + 1 < size) {
		n = gnutls_record_recv(s, resp + len, size - 1 - len);
		if (n == GNUTLS_E_INTERRUPTED || n == GNUTLS_E_AGAIN)
			break;		/* SO_RCVTIMEO: the answer is what came */
		if (n <= 0)
			break;		/* closed, with or without close_notify */
		len += n;
	}
	resp[len] = 0;
	return len;
}

static int exchange(gnutls_session_t s, const char *request, char *resp, size_t size)
{
	size_t off = 0, len = strlen(request);
	int ret, status;

	do {
		ret = gnutls_handshake(s);
	} while (ret < 0 && !gnutls_error_is_fatal(ret) && ret != GNUTLS_E_AGAIN);
	if (ret < 0)
		return -EPROTO;
	while (off < len) {
		ssize_t n = gnutls_record_send(s, request + off, len - off);

		if (n <= 0)
			return -EPIPE;
		off += n;
	}
	read_all(s, resp, size);
	if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1)
		return -EPROTO;
	return status;
}

int https_raw(int port, const char *ca, const char *request, char *resp, size_t size)
{
	gnutls_certificate_credentials_t cred = NULL;
	gnutls_session_t s = NULL;
	int fd, ret = -EPROTO;

	resp[0] = 0;
	fd = tcp_connect(port);
	if (fd < 0)
		return fd;
	if (gnutls_certificate_allocate_credentials(&cred) ||
	    gnutls_certificate_set_x509_trust_file(cred, ca, GNUTLS_X509_FMT_PEM) <= 0 ||
	    gnutls_init(&s, GNUTLS_CLIENT) || gnutls_set_default_priority(s) ||
	    gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred))
		goto out;
	gnutls_session_set_verify_cert(s, "localhost", 0);
	gnutls_transport_set_int(s, fd);
	gnutls_handshake_set_timeout(s, 10000);
	ret = exchange(s, request, resp, size);
	gnutls_bye(s, GNUTLS_SHUT_WR);
out:
	if (s)
		gnutls_deinit(s);
	if (cred)
		gnutls_certificate_free_credentials(cred);
	close(fd);
	return ret;
}
