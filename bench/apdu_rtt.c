// SPDX-License-Identifier: GPL-2.0
/*
 * apdu_rtt - APDU round trip through a simulated slot, measured in the VM:
 * the phone (modem side) sends a READ BINARY header, the slot's owner reads
 * the APDU and writes 16 bytes and 9000, the phone reads INS, data and SW.
 * The base of the ratio is the same exchange of bytes over a socketpair
 * between two threads, measured in the same run.
 *
 *	apdu_rtt [ROUNDS]	prints name: value unit (ratio vs base) lines
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "measure.h"
#include "modem.h"
#include "slotdev.h"

#define RESP_LEN	16

struct run {
	unsigned int	rounds;
	uint64_t	*lat;
	double		seconds;
};

static void report(const char *name, struct run *r, const struct run *base)
{
	uint64_t p50, p99;

	p50 = percentile(r->lat, r->rounds, 50);
	p99 = percentile(r->lat, r->rounds, 99);
	if (!base) {
		printf("%s_p50: %.1f us\n", name, p50 / 1e3);
		printf("%s_p99: %.1f us\n", name, p99 / 1e3);
		printf("%s_rate: %.0f per s\n", name, r->rounds / r->seconds);
		return;
	}
	printf("%s_p50: %.1f us (%.2fx vs socketpair)\n", name, p50 / 1e3,
	       (double)p50 / base->lat[base->rounds / 2]);
	printf("%s_p99: %.1f us (%.2fx vs socketpair)\n", name, p99 / 1e3,
	       (double)p99 / base->lat[base->rounds * 99 / 100]);
	printf("%s_rate: %.0f per s (%.2fx vs socketpair)\n", name, r->rounds / r->seconds,
	       (r->rounds / r->seconds) / (base->rounds / base->seconds));
}

/* --- the base: the same bytes over a socketpair ------------------------------ */

static void *echo_thread(void *arg)
{
	int fd = *(int *)arg;
	uint8_t buf[64], resp[1 + RESP_LEN + 2] = { 0xb0 };

	resp[RESP_LEN + 1] = 0x90;
	for (;;) {
		if (read(fd, buf, 5) != 5)
			return NULL;
		if (write(fd, resp, sizeof(resp)) != sizeof(resp))
			return NULL;
	}
}

static void socketpair_run(struct run *r)
{
	static const uint8_t hdr[5] = { 0xa0, 0xb0, 0x00, 0x00, RESP_LEN };
	uint8_t buf[64];
	pthread_t th;
	int sv[2];
	uint64_t start;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		exit(1);
	pthread_create(&th, NULL, echo_thread, &sv[1]);
	start = now_ns();
	for (unsigned int i = 0; i < r->rounds; i++) {
		uint64_t t = now_ns();
		size_t got = 0;

		if (write(sv[0], hdr, 5) != 5)
			exit(1);
		while (got < 1 + RESP_LEN + 2) {
			ssize_t n = read(sv[0], buf + got, sizeof(buf) - got);

			if (n <= 0)
				exit(1);
			got += n;
		}
		r->lat[i] = now_ns() - t;
	}
	r->seconds = (now_ns() - start) / 1e9;
	close(sv[0]);
	pthread_join(th, NULL);
	close(sv[1]);
}

/* --- through the slot ---------------------------------------------------------- */

static volatile bool stop;

static void *owner_thread(void *arg)
{
	int fd = *(int *)arg;
	uint8_t resp[RESP_LEN + 2] = { [RESP_LEN] = 0x90 };
	struct slot_msg msg;

	while (!stop) {
		if (slot_read(fd, &msg, 100))
			continue;
		if (msg.hdr.type == REMSIM_MSG_APDU)
			slot_respond(fd, msg.hdr.seq, resp, sizeof(resp));
	}
	return NULL;
}

static int slot_run(struct run *r)
{
	static const uint8_t hdr[5] = { 0xa0, 0xb0, 0x00, 0x00, RESP_LEN };
	struct slot_fixture fx;
	uint8_t resp[64];
	size_t len;
	pthread_t th;
	uint64_t start;
	int ret;

	ret = slot_fixture(&fx, O_RDWR);
	if (ret)
		return ret;
	ret = slot_fixture_power_on(&fx);
	if (ret)
		return ret;
	pthread_create(&th, NULL, owner_thread, &fx.fd);
	start = now_ns();
	for (unsigned int i = 0; i < r->rounds; i++) {
		uint64_t t = now_ns();

		ret = modem_tpdu(fx.modem, hdr, NULL, true, resp, &len);
		if (ret || len != RESP_LEN + 2)
			return ret ? ret : -EPROTO;
		r->lat[i] = now_ns() - t;
	}
	r->seconds = (now_ns() - start) / 1e9;
	stop = true;
	pthread_join(th, NULL);
	slot_fixture_done(&fx);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned int rounds = argc > 1 ? atoi(argv[1]) : 2000;
	struct run base = { .rounds = rounds }, slot = { .rounds = rounds };
	int ret;

	base.lat = calloc(rounds, sizeof(uint64_t));
	slot.lat = calloc(rounds, sizeof(uint64_t));
	if (!rounds || !base.lat || !slot.lat)
		return 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	socketpair_run(&base);
	ret = slot_run(&slot);
	if (ret) {
		fprintf(stderr, "apdu_rtt: %s\n", strerror(-ret));
		return 1;
	}
	printf("# %u round trips of a 16-byte READ BINARY each way\n", rounds);
	report("socketpair_rtt", &base, NULL);
	report("sim_slot_apdu_rtt", &slot, &base);
	return 0;
}
