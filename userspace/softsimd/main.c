// SPDX-License-Identifier: GPL-2.0
/*
 * remsim-softsim: N virtual SIM/USIM cards (userspace/softsim) served to
 * pcscd through vsmartcard's vpcd driver, so PC/SC programs (remsim-bankd
 * first) see them as cards in readers. Cards 2K and 2K+1 sit in the two
 * slots of vpcd reader "remsim softsim K"; card N's slot listens on port
 * BASE + N. --write-reader-conf and --print-csv write the pcscd and bankd
 * configuration that matches.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "remsim/daemon.h"
#include "remsim/log.h"
#include "softsimd.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: remsim-softsim [options]\n"
		"\n"
		"Virtual SIM/USIM cards for pcscd, through the vsmartcard-vpcd reader\n"
		"driver: card N connects to vpcd's slot on port BASE + N.\n"
		"\n"
		"  -p, --profile FILE          card contents (see remsim-softsim(8))\n"
		"  -n, --cards N               number of cards (default: from the profile, or 1)\n"
		"  -H, --vpcd-host HOST        where pcscd runs (default 127.0.0.1)\n"
		"  -P, --vpcd-port BASE        port of card 0 (default 35963, vpcd's own)\n"
		"  -s, --state-dir DIR         keep each card's state (PINs, SQN, files) here\n"
		"  -l, --command-log FILE      append every command and response\n"
		"  -C, --control PATH          control socket: remove N, insert N,\n"
		"                              pull-on-apdu N, status\n"
		"      --write-reader-conf DIR write DIR/reader.conf.d for pcscd -c and a\n"
		"                              copy of vpcd per reader into DIR, exit\n"
		"      --print-csv BANK        print bankd_pcsc_slots.csv rows, exit\n"
		"  -e, --log-level LEVEL       debug, info, notice, error, fatal\n"
		"  -V, --version               print the version\n"
		"  -h, --help                  this text\n");
}

enum { OPT_READER_CONF = 256, OPT_CSV };

static const struct option options[] = {
	{ "profile",		required_argument,	NULL, 'p' },
	{ "cards",		required_argument,	NULL, 'n' },
	{ "vpcd-host",		required_argument,	NULL, 'H' },
	{ "vpcd-port",		required_argument,	NULL, 'P' },
	{ "state-dir",		required_argument,	NULL, 's' },
	{ "command-log",	required_argument,	NULL, 'l' },
	{ "control",		required_argument,	NULL, 'C' },
	{ "write-reader-conf",	required_argument,	NULL, OPT_READER_CONF },
	{ "print-csv",		required_argument,	NULL, OPT_CSV },
	{ "log-level",		required_argument,	NULL, 'e' },
	{ "version",		no_argument,		NULL, 'V' },
	{ "help",		no_argument,		NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

#define VPCD_DRIVER	"/usr/lib/pcsc/drivers/serial/libifdvpcd.so"

/*
 * Debian's vpcd keeps its two slots' connections in globals indexed by the
 * slot number alone: every reader served by one loaded copy of the driver
 * shares them (and their sockets). pcscd loads one copy per distinct file,
 * so each reader gets its own copy of the driver in @dir.
 */
static int copy_driver(const char *to)
{
	char buf[65536];
	FILE *in = fopen(VPCD_DRIVER, "rb"), *out = in ? fopen(to, "wb") : NULL;
	size_t n;
	int ret = 0;

	if (!in || !out) {
		ret = -errno;
		goto out;
	}
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		if (fwrite(buf, 1, n, out) != n)
			ret = -EIO;
	if (ferror(in))
		ret = -EIO;
out:
	if (in)
		fclose(in);
	if (out && fclose(out))
		ret = -EIO;
	return ret;
}

/* DIR/reader.conf.d/softsim and a vpcd copy per reader: pcscd -c DIR/reader.conf.d */
static int write_reader_conf(const struct softsim *ss, const char *dir)
{
	char path[512], drv[512];
	unsigned int k;
	FILE *f;

	snprintf(path, sizeof(path), "%s/reader.conf.d", dir);
	if (mkdir(path, 0755) && errno != EEXIST)
		return -errno;
	snprintf(path, sizeof(path), "%s/reader.conf.d/softsim", dir);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f, "# remsim-softsim: %u cards, card N on port %u + N\n", ss->count,
		ss->vpcd_port);
	for (k = 0; k < (ss->count + 1) / 2; k++) {
		snprintf(drv, sizeof(drv), "%s/libifdvpcd-%u.so", dir, k);
		if (copy_driver(drv)) {
			fclose(f);
			return -EIO;
		}
		fprintf(f, "\nFRIENDLYNAME \"remsim softsim %u\"\n"
			"DEVICENAME   /dev/null:%u\n"
			"LIBPATH      %s\n"
			"CHANNELID    %u\n", k, ss->vpcd_port + 2 * k, drv, ss->vpcd_port + 2 * k);
	}
	return fclose(f) ? -EIO : 0;
}

static void print_csv(const struct softsim *ss, unsigned int bank)
{
	unsigned int n;

	for (n = 0; n < ss->count; n++)
		printf("\"%u\",\"%u\",\"^remsim softsim %u [0-9A-F]{2} 0%u$\"\n", bank, n,
		       n / 2, n % 2);
}

/* --- the control socket --- */

static int control_fd = -1;

static void control_cmd(struct softsim *ss, char *cmd, char *reply, size_t size)
{
	unsigned int n, i;
	size_t len = 0;

	if (!strcmp(cmd, "status")) {
		for (i = 0; i < ss->count && len < size; i++) {
			struct vcard *v = &ss->cards[i];

			len += snprintf(reply + len, size - len, "card %u %s apdus=%lu\n", i,
					v->removed ? "removed" : v->connected ? "inserted" :
					"connecting", v->apdus);
		}
		return;
	}
	if (sscanf(cmd, "remove %u", &n) == 1 && n < ss->count) {
		vcard_remove(&ss->cards[n]);
	} else if (sscanf(cmd, "insert %u", &n) == 1 && n < ss->count) {
		vcard_insert(&ss->cards[n]);
	} else if (sscanf(cmd, "pull-on-apdu %u", &n) == 1 && n < ss->count) {
		ss->cards[n].pull_on_apdu = true;
	} else {
		snprintf(reply, size, "error: unknown command \"%s\"\n", cmd);
		return;
	}
	snprintf(reply, size, "ok\n");
}

static void control_accept(struct ev_io *io, uint32_t revents)
{
	struct softsim *ss = io->data;
	char cmd[128], reply[8192];
	int fd = accept4(control_fd, NULL, NULL, SOCK_CLOEXEC);
	struct timeval tv = { .tv_sec = 1 };
	ssize_t n;

	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	n = recv(fd, cmd, sizeof(cmd) - 1, 0);
	if (n > 0) {
		cmd[n] = 0;
		cmd[strcspn(cmd, "\r\n")] = 0;
		reply[0] = 0;
		control_cmd(ss, cmd, reply, sizeof(reply));
		send(fd, reply, strlen(reply), MSG_NOSIGNAL);
	}
	close(fd);
}

static int control_open(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0 || strlen(path) >= sizeof(sa.sun_path))
		return -EINVAL;
	strcpy(sa.sun_path, path);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 8)) {
		close(fd);
		return -errno;
	}
	return fd;
}

/*
 * SIGUSR1: a line per card, its commands since start. SIGHUP has nothing
 * to read again (the daemon base says so): every setting is an option, the
 * cards keep their state; logs go to stderr, nothing to reopen.
 */
static void log_stats(struct daemon *d)
{
	const struct softsim *ss = d->data;
	unsigned int i;

	LOGP(DMAIN, LOG_NOTICE, NULL, "statistics: %u cards", ss->count);
	for (i = 0; i < ss->count; i++)
		LOGP(DMAIN, LOG_NOTICE, ss->cards[i].name, "statistics: %s, %lu commands",
		     ss->cards[i].removed ? "removed" : ss->cards[i].connected ? "inserted" :
		     "connecting", ss->cards[i].apdus);
}

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "remsim-softsim: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 2;
}

/*
 * The state directory must exist and take files now: found missing only at
 * the first save, every card would run on with its state lost, one error
 * logged per command.
 */
static int check_state_dir(const char *dir)
{
	struct stat st;

	if (stat(dir, &st))
		return fail("--state-dir %s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return fail("--state-dir %s: %s", dir, strerror(ENOTDIR));
	if (access(dir, W_OK | X_OK))
		return fail("--state-dir %s: %s", dir, strerror(errno));
	return 0;
}

static const struct daemon_cmdline cmdline = {
	.prog = "remsim-softsim",
	.options = options,
	.usage = usage,
	.help_opt = 'h',
	.version_opt = 'V',
};

/* What the command line asked for beyond the cards' settings in struct softsim. */
static struct profiles profiles;
static const char *control;

static int setup(struct daemon *d, int argc, char **argv)
{
	struct softsim *ss = d->data;
	const char *profile = NULL, *log_path = NULL, *conf_dir = NULL;
	int opt, count = -1, print = 0, bank = 0, level;
	char err[300];
	long v;

	while ((opt = getopt_long(argc, argv, "p:n:H:P:s:l:C:e:Vh", options, NULL)) != -1) {
		switch (opt) {
		case 'p':
			profile = optarg;
			break;
		case 'n':
			v = strtol(optarg, NULL, 10);
			if (v < 1 || v > SOFTSIM_CARDS_MAX)
				return fail("--cards \"%s\" is not 1..64", optarg);
			count = v;
			break;
		case 'H':
			snprintf(ss->vpcd_host, sizeof(ss->vpcd_host), "%s", optarg);
			break;
		case 'P':
			v = strtol(optarg, NULL, 10);
			if (v < 1 || v > 65535 - 2 * SOFTSIM_CARDS_MAX)
				return fail("--vpcd-port \"%s\" is out of range", optarg);
			ss->vpcd_port = v;
			break;
		case 's':
			if (strlen(optarg) >= sizeof(ss->state_dir))
				return fail("--state-dir %s: %s", optarg, strerror(ENAMETOOLONG));
			snprintf(ss->state_dir, sizeof(ss->state_dir), "%s", optarg);
			break;
		case 'l':
			log_path = optarg;
			break;
		case 'C':
			control = optarg;
			break;
		case OPT_READER_CONF:
			print = 1;
			conf_dir = optarg;
			break;
		case OPT_CSV:
			print = 2;
			bank = atoi(optarg);
			break;
		case 'e':
			level = log_parse_level(optarg);
			if (level < 0)
				return fail("--log-level \"%s\" is not a level", optarg);
			log_set_all(level);
			break;
		default:
			daemon_help_version(&cmdline, opt);
			usage(stderr);
			return 2;
		}
	}
	profiles_default(&profiles, 1);
	if (profile && profiles_load(&profiles, profile, err, sizeof(err)))
		return fail("%s", err);
	if (count > 0)
		profiles.count = count;
	ss->count = profiles.count;
	if (print == 1) {
		if (write_reader_conf(ss, conf_dir))
			return fail("--write-reader-conf %s: %s", conf_dir, strerror(errno));
		return 0;
	}
	if (print == 2) {
		print_csv(ss, bank);
		return 0;
	}
	if (ss->state_dir[0] && check_state_dir(ss->state_dir))
		return 2;
	if (log_path) {
		ss->command_log = fopen(log_path, "a");
		if (!ss->command_log)
			return fail("%s: %s", log_path, strerror(errno));
	}
	return DAEMON_RUN;
}

static struct ev_io ctl_io;

static int start(struct daemon *d)
{
	struct softsim *ss = d->data;
	unsigned int i;

	ss->loop = d->loop;
	ss->cards = calloc(ss->count, sizeof(*ss->cards));
	if (!ss->cards)
		return 1;
	for (i = 0; i < ss->count; i++) {
		struct vcard *vc = &ss->cards[i];
		int ret;

		vc->ss = ss;
		vc->idx = i;
		vc->port = ss->vpcd_port + i;
		snprintf(vc->name, sizeof(vc->name), "card%u", i);
		vc->card = card_new(&profiles.card[i]);
		if (!vc->card)
			return 1;
		ret = softsim_load_state(vc);
		if (ret) {
			LOGP(DMAIN, LOG_FATAL, vc->name, "state in %s: %s", ss->state_dir,
			     ret == -EINVAL ? "made for another card (remove it to start afresh)" :
			     strerror(-ret));
			return 1;
		}
	}
	if (control) {
		control_fd = control_open(control);
		if (control_fd < 0)
			return fail("--control %s: %s", control, strerror(-control_fd));
		ev_io_start(ss->loop, &ctl_io, control_fd, EPOLLIN, control_accept, ss);
	}
	LOGP(DMAIN, LOG_INFO, NULL, "%u cards on vpcd %s ports %u..%u", ss->count,
	     ss->vpcd_host, ss->vpcd_port, ss->vpcd_port + ss->count - 1);
	for (i = 0; i < ss->count; i++)
		vcard_start(&ss->cards[i]);
	return 0;
}

static void stop(struct daemon *d)
{
	struct softsim *ss = d->data;
	unsigned int i;

	for (i = 0; i < ss->count; i++) {
		vcard_stop(&ss->cards[i]);
		card_free(ss->cards[i].card);
		free(ss->cards[i].state);
	}
	if (control) {
		ev_io_stop(&ctl_io);
		close(control_fd);
		unlink(control);
	}
	free(ss->cards);
	if (ss->command_log)
		fclose(ss->command_log);
}

int main(int argc, char **argv)
{
	static struct softsim ss = { .vpcd_host = "127.0.0.1", .vpcd_port = 35963 };
	static struct daemon d = {
		.prog = "remsim-softsim",
		.log_level = LOG_INFO,
		.setup = setup,
		.start = start,
		.stats = log_stats,
		.stop = stop,
		.data = &ss,
	};

	return daemon_main(&d, argc, argv);
}
