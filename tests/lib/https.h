/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The REST tests' HTTPS client (GnuTLS): a test linking it adds -lgnutls.
 * One request per connection, as http.h's.
 */
#ifndef TESTS_HTTPS_H
#define TESTS_HTTPS_H

#include <stddef.h>

/*
 * Sends @request as it is over TLS to 127.0.0.1:@port, verifying the
 * server's certificate against the PEM file @ca for the name "localhost".
 * Returns the HTTP status, -EPROTO if the handshake or the verification
 * failed, or -errno; @resp gets the whole answer, headers included.
 */
int https_raw(int port, const char *ca, const char *request, char *resp, size_t size);

#endif
