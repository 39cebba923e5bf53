// SPDX-License-Identifier: GPL-2.0
/*
 * ifd_rtt - an APDU through remsim-ifd (SCardTransmit -> pcscd ->
 * libifd-remsim.so -> RSPRO -> remsim-bankd -> the bank's pcscd -> vpcd ->
 * remsim-softsim and back) against the same APDU by direct SCardTransmit
 * on the bank's card. STATUS (A0 F2 00 00 16), 5 bytes out, 24 back: one
 * TPDU either way. libpcsclite keeps the pcscd of its first use for the
 * whole process, so the direct rounds run in a child, before the ifd's.
 *
 *   ifd_rtt [ROUNDS]
 */
#include <limits.h>
#include <PCSC/winscard.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chain.h"
#include "daemon.h"
#include "measure.h"

static const uint8_t status[] = { 0xa0, 0xf2, 0x00, 0x00, 0x16 };

/* @rounds STATUS on @reader of the pcscd at $PCSCLITE_CSOCK_NAME: 0 or -1. */
static int rounds_on(const char *reader, uint64_t *lat, unsigned int rounds)
{
	SCARDCONTEXT ctx;
	SCARDHANDLE card;
	DWORD proto, rlen;
	uint8_t resp[300];
	unsigned int i;
	LONG rv;

	rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx);
	if (rv == SCARD_S_SUCCESS)
		rv = SCardConnect(ctx, reader, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0, &card,
				  &proto);
	for (i = 0; rv == SCARD_S_SUCCESS && i < rounds; i++) {
		uint64_t t0 = now_ns();

		rlen = sizeof(resp);
		rv = SCardTransmit(card, SCARD_PCI_T0, status, sizeof(status), NULL, resp, &rlen);
		lat[i] = now_ns() - t0;
		if (rv == SCARD_S_SUCCESS && (rlen < 2 || resp[rlen - 2] != 0x90))
			rv = SCARD_F_UNKNOWN_ERROR;
	}
	if (rv != SCARD_S_SUCCESS) {
		fprintf(stderr, "ifd_rtt: %s: %s\n", reader, pcsc_stringify_error(rv));
		return -1;
	}
	SCardDisconnect(card, SCARD_LEAVE_CARD);
	SCardReleaseContext(ctx);
	return 0;
}

/* The direct rounds in a child on the bank's pcscd, their times by a pipe. */
static int direct(struct chain *c, uint64_t *lat, unsigned int rounds)
{
	size_t size = rounds * sizeof(*lat), got = 0;
	char reader[64];
	int fd[2], wstatus;
	ssize_t n;
	pid_t pid;

	if (pipe(fd))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		close(fd[0]);
		setenv("PCSCLITE_CSOCK_NAME", c->bank[0].env.sock, 1);
		pcsc_env_reader(&c->bank[0].env, 0, reader, sizeof(reader));
		if (rounds_on(reader, lat, rounds) || write(fd[1], lat, size) != (ssize_t)size)
			_exit(1);
		_exit(0);
	}
	close(fd[1]);
	while (got < size && (n = read(fd[0], (char *)lat + got, size - got)) > 0)
		got += n;
	close(fd[0]);
	if (waitpid(pid, &wstatus, 0) != pid || !WIFEXITED(wstatus) || WEXITSTATUS(wstatus))
		return -1;
	return got == size ? 0 : -1;
}

/* pcscd with remsim-ifd's reader for client 23:0; waits for its card. */
static int ifd_pcscd(struct chain *c, struct pcsc_env *e)
{
	char lib[PATH_MAX], conf[PATH_MAX + 200];
	SCARD_READERSTATE rs = { .szReader = "remsim 23:0 00 00" };
	SCARDCONTEXT ctx;
	int t;

	if (pcsc_env_ifd_lib(lib, sizeof(lib)))
		return -1;
	snprintf(conf, sizeof(conf), "FRIENDLYNAME \"remsim 23:0\"\n"
		 "DEVICENAME \"server=127.0.0.1:%d client=23 slot=0\"\nLIBPATH %s\n",
		 c->rspro_port, lib);
	if (pcsc_env_start_readers(e, conf) ||
	    SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx))
		return -1;
	for (t = 0; t < 200; t++, usleep(100000)) {
		rs.dwCurrentState = SCARD_STATE_UNAWARE;
		if (!SCardGetStatusChange(ctx, 0, &rs, 1) &&
		    (rs.dwEventState & SCARD_STATE_PRESENT))
			break;
	}
	SCardReleaseContext(ctx);
	return t < 200 ? 0 : -1;
}

int main(int argc, char **argv)
{
	unsigned int rounds = argc > 1 ? strtoul(argv[1], NULL, 10) : 2000;
	uint64_t *d, *v;
	struct pcsc_env e;
	struct chain c;
	int ret = 1;

	if (!rounds || rounds > 1000000) {
		fprintf(stderr, "usage: ifd_rtt [ROUNDS]: 1..1000000 rounds\n");
		return 2;
	}
	d = calloc(rounds, sizeof(*d));
	v = calloc(rounds, sizeof(*v));
	if (!d || !v)
		return 1;
	if (chain_start(&c, 1, false) || chain_map(&c, 0, 23, 0) != 201) {
		fprintf(stderr, "ifd_rtt: no chain (%s)\n", c.dir);
		goto out;
	}
	if (direct(&c, d, rounds)) {
		fprintf(stderr, "ifd_rtt: direct PC/SC failed (%s)\n", c.dir);
		goto stop;
	}
	if (ifd_pcscd(&c, &e) || rounds_on("remsim 23:0 00 00", v, rounds)) {
		fprintf(stderr, "ifd_rtt: through remsim-ifd failed (%s)\n", e.dir);
		goto stop_ifd;
	}
	printf("# %u STATUS APDUs each, direct on the bank's card, then through remsim-ifd\n",
	       rounds);
	printf("pcsc_direct_rtt_p50: %.1f us\n", percentile(d, rounds, 50) / 1e3);
	printf("ifd_rtt_p50: %.1f us (%.2fx vs pcsc_direct_rtt_p50)\n",
	       percentile(v, rounds, 50) / 1e3,
	       (double)percentile(v, rounds, 50) / percentile(d, rounds, 50));
	printf("pcsc_direct_rtt_p99: %.1f us\n", percentile(d, rounds, 99) / 1e3);
	printf("ifd_rtt_p99: %.1f us (%.2fx vs pcsc_direct_rtt_p99)\n",
	       percentile(v, rounds, 99) / 1e3,
	       (double)percentile(v, rounds, 99) / percentile(d, rounds, 99));
	ret = 0;
stop_ifd:
	daemon_stop(&e.pcscd, SIGTERM, 10000);
	shell("rm -rf %s", e.dir);
stop:
	chain_stop(&c);
out:
	free(d);
	free(v);
	return ret;
}
