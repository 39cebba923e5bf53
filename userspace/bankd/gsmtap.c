// SPDX-License-Identifier: GPL-2.0
/*
 * GSMTAP: every APDU (command TPDU, then the response) and every ATR as a
 * UDP packet to port 4729, which Wireshark decodes as GSM SIM. The header
 * is GSMTAP version 2, 16 bytes: type 4 (SIM), sub-type 0 (APDU) or 1 (ATR).
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bankd.h"
#include "remsim/log.h"

#define GSMTAP_PORT		"4729"
#define GSMTAP_VERSION		2
#define GSMTAP_HDR_WORDS	4
#define GSMTAP_TYPE_SIM		4
#define GSMTAP_SIM_APDU		0
#define GSMTAP_SIM_ATR		1

int gsmtap_open(const char *host)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *ai;
	int fd;

	if (getaddrinfo(host, GSMTAP_PORT, &hints, &ai))
		return -1;
	fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen)) {
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

void gsmtap_send(struct bankd *bd, uint16_t slot, bool atr, const uint8_t *a,
		 size_t alen, const uint8_t *b, size_t blen)
{
	uint8_t pkt[16 + 2 * 1024] = {
		GSMTAP_VERSION, GSMTAP_HDR_WORDS, GSMTAP_TYPE_SIM,
	};

	if (bd->gsmtap_fd < 0 || (bd->cfg.gsmtap_slot >= 0 && bd->cfg.gsmtap_slot != slot))
		return;
	if (alen + blen > sizeof(pkt) - 16)
		return;
	pkt[12] = atr ? GSMTAP_SIM_ATR : GSMTAP_SIM_APDU;
	memcpy(pkt + 16, a, alen);
	if (blen)
		memcpy(pkt + 16 + alen, b, blen);
	/*
	 * With nobody listening, each packet draws an ICMP port unreachable
	 * that the connected socket reports on the next send, which then
	 * sends nothing: every other packet would be lost. The failed send
	 * consumed that error, so once more. Otherwise a lost trace packet
	 * is no error of the card's.
	 */
	if (send(bd->gsmtap_fd, pkt, 16 + alen + blen, MSG_DONTWAIT) < 0 &&
	    errno == ECONNREFUSED)
		send(bd->gsmtap_fd, pkt, 16 + alen + blen, MSG_DONTWAIT);
}
