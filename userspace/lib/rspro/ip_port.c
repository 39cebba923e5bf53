// SPDX-License-Identifier: GPL-2.0
/* The bankd address of ConfigClientBankReq, to and from text. */
#include <arpa/inet.h>
#include <errno.h>
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
