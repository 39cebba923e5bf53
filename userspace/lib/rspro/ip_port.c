// SPDX-License-Identifier: GPL-2.0
/* The bankd address of ConfigClientBankReq, to and from text. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "remsim/rspro.h"

int rspro_ip_port_parse(struct rspro_ip_port *ipp, const char *text)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon, *h = host;
	unsigned long port;
	size_t hlen;
	char *end;

	memset(ipp, 0, sizeof(*ipp));
	colon = strrchr(text, ':');
	if (!colon || colon == text)
		return -EINVAL;
	hlen = colon - text;
	if (hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, text, hlen);
	host[hlen] = 0;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || port > 65535)
		return -EINVAL;
	ipp->port = port;
	if (host[0] == '[') {
		if (hlen < 3 || host[hlen - 1] != ']')
			return -EINVAL;
		host[hlen - 1] = 0;
		h = host + 1;
		ipp->family = AF_INET6;
		return inet_pton(AF_INET6, h, ipp->addr) == 1 ? 0 : -EINVAL;
	}
	ipp->family = AF_INET;
	return inet_pton(AF_INET, h, ipp->addr) == 1 ? 0 : -EINVAL;
}

int rspro_ip_port_format(const struct rspro_ip_port *ipp, char *buf,
			 size_t size)
{
	char host[INET6_ADDRSTRLEN];

	if (!inet_ntop(ipp->family, ipp->addr, host, sizeof(host)))
		return snprintf(buf, size, "?:%u", ipp->port);
	if (ipp->family == AF_INET6)
		return snprintf(buf, size, "[%s]:%u", host, ipp->port);
	return snprintf(buf, size, "%s:%u", host, ipp->port);
}

int rspro_ip_port_host(const struct rspro_ip_port *ipp, char *buf, size_t size)
{
	if (!inet_ntop(ipp->family, ipp->addr, buf, size))
		return -EINVAL;
	return 0;
}

int rspro_host_port_split(const char *text, size_t len, uint16_t dflt, char *host,
			  size_t hostsize, uint16_t *port)
{
	const char *h = text, *colon = NULL;
	size_t hlen = len;
	unsigned long v = dflt;
	char num[8], *end;

	if (len && *text == '[') {
		const char *close = memchr(text, ']', len);

		if (!close || (close + 1 < text + len && close[1] != ':'))
			return -EINVAL;
		h = text + 1;
		hlen = close - h;
		if (close + 1 < text + len)
			colon = close + 1;
	} else {
		colon = memchr(text, ':', len);
		/* more than one colon and no brackets: a bare IPv6 address */
		if (colon && memchr(colon + 1, ':', text + len - colon - 1))
			colon = NULL;
		if (colon)
			hlen = colon - text;
	}
	if (colon) {
		size_t n = text + len - colon - 1;

		if (!n || n >= sizeof(num))
			return -EINVAL;
		memcpy(num, colon + 1, n);
		num[n] = 0;
		v = strtoul(num, &end, 10);
		if (*end || !v || v > 65535)
			return -EINVAL;
	}
	if (!hlen || hlen >= hostsize)
		return -EINVAL;
	memcpy(host, h, hlen);
	host[hlen] = 0;
	*port = v;
	return 0;
}
