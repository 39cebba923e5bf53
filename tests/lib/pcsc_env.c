// SPDX-License-Identifier: GPL-2.0
/* pcscd + vpcd + remsim-softsim, private to one test program. */
#include <errno.h>
#include <limits.h>
#include <PCSC/winscard.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pcsc_env.h"

bool pcsc_env_fast;
const char *pcsc_env_profile;

static const char *softsim_bin(void)
{
	return pcsc_env_fast ? daemon_bin_fast("remsim-softsim") : daemon_bin("remsim-softsim");
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int run_to_file(const char *cmd)
{
	return system(cmd) ? -EIO : 0;
}

int pcsc_env_start_pcscd(struct pcsc_env *e)
{
	char script[512], log[128], sock[128];
	char *argv[] = { "/usr/bin/unshare", "--mount", "--propagation", "private",
			 "/bin/sh", "-c", script, NULL };
	int t;

	snprintf(sock, sizeof(sock), "%s/run/pcscd.comm", e->dir);
	unlink(sock);
	snprintf(script, sizeof(script),
		 "mount --bind %s/run /run/pcscd && exec pcscd -f %s -c %s/reader.conf.d", e->dir,
		 getenv("PCSC_ENV_DEBUG") ? "-d" : "", e->dir);
	snprintf(log, sizeof(log), "%s/pcscd.log", e->dir);
	if (daemon_start(&e->pcscd, argv, log))
		return -EIO;
	/*
	 * Seconds on a debug kernel (KASAN, lockdep under TCG), where a
	 * pcscd restart took longer than the 5 s this once allowed.
	 */
	for (t = 0; t < 30000; t += 20) {
		if (!access(sock, F_OK))
			return 0;
		sleep_ms(20);
	}
	return -ETIMEDOUT;
}

int pcsc_env_start(struct pcsc_env *e, unsigned int cards)
{
	static bool seeded;
	char cmd[512];

	memset(e, 0, sizeof(*e));
	snprintf(e->dir, sizeof(e->dir), "/tmp/remsim-pcsc-XXXXXX");
	if (!mkdtemp(e->dir))
		return -errno;
	e->cards = cards;
	/*
	 * Two ports per vpcd reader; a random base keeps parallel runs apart.
	 * Below the ephemeral range (32768..), where the tests' own
	 * connections would otherwise take a reader's port now and then.
	 */
	if (!seeded)
		srand(getpid() ^ time(NULL));
	seeded = true;
	e->port_base = 20000 + 2 * (rand() % 5000);
	snprintf(cmd, sizeof(cmd),
		 "mkdir -p /run/pcscd %1$s/run %1$s/state && "
		 "%2$s -n %3$u -P %4$d --write-reader-conf %1$s && "
		 "%2$s -n %3$u --print-csv 1 > %1$s/bankd_pcsc_slots.csv",
		 e->dir, softsim_bin(), cards, e->port_base);
	if (run_to_file(cmd)) {
		fprintf(stderr, "pcsc_env: %s failed\n", softsim_bin());
		return -EIO;
	}
	snprintf(e->csv, sizeof(e->csv), "%s/bankd_pcsc_slots.csv", e->dir);
	snprintf(e->ctl, sizeof(e->ctl), "%s/softsim.ctl", e->dir);
	snprintf(e->cmdlog, sizeof(e->cmdlog), "%s/commands.log", e->dir);
	snprintf(e->state, sizeof(e->state), "%s/state", e->dir);
	snprintf(e->sock, sizeof(e->sock), "%s/run/pcscd.comm", e->dir);
	setenv("PCSCLITE_CSOCK_NAME", e->sock, 1);
	if (pcsc_env_start_pcscd(e)) {
		fprintf(stderr, "pcsc_env: pcscd did not open %s\n", e->sock);
		return -EIO;
	}
	if (pcsc_env_start_softsim(e)) {
		fprintf(stderr, "pcsc_env: remsim-softsim did not start\n");
		return -EIO;
	}
	/* pcscd polls each reader in turn: generous for 16 under load */
	return pcsc_env_wait_cards(e, 30000) ? 0 : -ETIMEDOUT;
}

int pcsc_env_start_softsim(struct pcsc_env *e)
{
	char log[128], ports[8], n[8];
	char *argv[20];
	int i = 0;

	snprintf(ports, sizeof(ports), "%d", e->port_base);
	snprintf(n, sizeof(n), "%u", e->cards);
	argv[i++] = (char *)softsim_bin();
	argv[i++] = "-n";
	argv[i++] = n;
	argv[i++] = "-P";
	argv[i++] = ports;
	argv[i++] = "-s";
	argv[i++] = e->state;
	argv[i++] = "-l";
	argv[i++] = e->cmdlog;
	argv[i++] = "-C";
	argv[i++] = e->ctl;
	if (pcsc_env_profile) {
		argv[i++] = "-p";
		argv[i++] = (char *)pcsc_env_profile;
	}
	argv[i] = NULL;
	snprintf(log, sizeof(log), "%s/softsim.log", e->dir);
	return daemon_start(&e->softsim, argv, log) ? -EIO : 0;
}

void pcsc_env_reader(const struct pcsc_env *e, unsigned int n, char *buf, size_t size)
{
	snprintf(buf, size, "remsim softsim %u 00 0%u", n / 2, n % 2);
}

static bool wait_cards_here(struct pcsc_env *e, int ms)
{
	SCARD_READERSTATE rs[64];
	char names[64][64], reply[4096];
	SCARDCONTEXT ctx;
	unsigned int i, want;
	int t;

	for (t = 0; t < ms; t += 20, sleep_ms(20)) {
		if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx))
			continue;
		softsim_ctl(e, "status", reply, sizeof(reply));
		want = 0;
		for (i = 0; i < e->cards && i < 64; i++) {
			char line[64];

			snprintf(line, sizeof(line), "card %u removed", i);
			if (strstr(reply, line))
				continue;
			pcsc_env_reader(e, i, names[want], sizeof(names[0]));
			rs[want].szReader = names[want];
			rs[want].dwCurrentState = SCARD_STATE_UNAWARE;
			want++;
		}
		if (SCardGetStatusChange(ctx, 0, rs, want) == SCARD_S_SUCCESS) {
			for (i = 0; i < want; i++)
				if (!(rs[i].dwEventState & SCARD_STATE_PRESENT))
					break;
			if (i == want) {
				SCardReleaseContext(ctx);
				return true;
			}
		}
		SCardReleaseContext(ctx);
	}
	return false;
}

/*
 * In a child: libpcsclite reads PCSCLITE_CSOCK_NAME once per process, so a
 * process with several pcscds (several banks) asks each from a fresh one.
 */
bool pcsc_env_wait_cards(struct pcsc_env *e, int ms)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return false;
	if (!pid) {
		setenv("PCSCLITE_CSOCK_NAME", e->sock, 1);
		_exit(wait_cards_here(e, ms) ? 0 : 1);
	}
	if (waitpid(pid, &status, 0) != pid)
		return false;
	return WIFEXITED(status) && !WEXITSTATUS(status);
}

bool pcsc_env_wait_absent(struct pcsc_env *e, unsigned int n, int ms)
{
	SCARD_READERSTATE rs = { 0 };
	char reader[64];
	SCARDCONTEXT ctx;
	bool gone = false;

	pcsc_env_reader(e, n, reader, sizeof(reader));
	rs.szReader = reader;
	rs.dwCurrentState = SCARD_STATE_UNAWARE;
	if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx))
		return false;
	for (; !gone && ms > 0; ms -= 200) {
		if (SCardGetStatusChange(ctx, 200, &rs, 1) == SCARD_S_SUCCESS) {
			gone = rs.dwEventState & SCARD_STATE_EMPTY;
			rs.dwCurrentState = rs.dwEventState & ~SCARD_STATE_CHANGED;
		}
	}
	SCardReleaseContext(ctx);
	return gone;
}

int softsim_ctl(struct pcsc_env *e, const char *cmd, char *reply, size_t size)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	ssize_t n;

	reply[0] = 0;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", e->ctl);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    send(fd, cmd, strlen(cmd), 0) < 0) {
		if (fd >= 0)
			close(fd);
		return -EIO;
	}
	n = recv(fd, reply, size - 1, 0);
	close(fd);
	if (n < 0)
		return -EIO;
	reply[n] = 0;
	return strncmp(reply, "error", 5) ? 0 : -EINVAL;
}

int pcsc_env_count_commands(struct pcsc_env *e, unsigned int n, const char *hex)
{
	FILE *f = fopen(e->cmdlog, "r");
	char line[2048], card[32];
	int count = 0;

	if (!f)
		return 0;
	snprintf(card, sizeof(card), " card %u ", n);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, card) && strstr(line, hex))
			count++;
	fclose(f);
	return count;
}

int pcsc_env_start_readers(struct pcsc_env *e, const char *readers)
{
	char path[160];
	FILE *f;

	memset(e, 0, sizeof(*e));
	snprintf(e->dir, sizeof(e->dir), "/tmp/remsim-ifd-XXXXXX");
	if (!mkdtemp(e->dir))
		return -errno;
	snprintf(path, sizeof(path), "%s/run", e->dir);
	if (mkdir(path, 0755))
		return -errno;
	snprintf(path, sizeof(path), "%s/reader.conf.d", e->dir);
	if (mkdir(path, 0755))
		return -errno;
	snprintf(path, sizeof(path), "%s/reader.conf.d/remsim", e->dir);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fputs(readers, f);
	if (fclose(f))
		return -EIO;
	snprintf(e->sock, sizeof(e->sock), "%s/run/pcscd.comm", e->dir);
	if (pcsc_env_start_pcscd(e))
		return -EIO;
	setenv("PCSCLITE_CSOCK_NAME", e->sock, 1);
	return 0;
}

int pcsc_env_ifd_lib(char *buf, size_t size)
{
	char path[PATH_MAX];

	if (!realpath(daemon_src_path("build/lib/libifd-remsim.so"), path))
		return -errno;
	snprintf(buf, size, "%s", path);
	return 0;
}

void pcsc_env_stop(struct pcsc_env *e)
{
	char cmd[128];

	daemon_stop(&e->softsim, SIGTERM, 5000);
	daemon_stop(&e->pcscd, SIGTERM, 5000);
	if (getenv("PCSC_ENV_DEBUG"))
		return;	/* keep the logs */
	snprintf(cmd, sizeof(cmd), "rm -rf %s", e->dir);
	if (e->dir[0] && system(cmd))
		return;
}
