// SPDX-License-Identifier: GPL-2.0
/*
 * remsim-client: one daemon, one event loop, every /dev/remsimN of the
 * host. It learns the slots and their client identities from the kernel
 * (a netlink dump, then the "events" group, so a board plugged in later is
 * served without a restart) and runs a client slot for each mapped one.
 * SIGUSR1 logs every slot's statistics.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "kslot.h"
#include "remsim/conf.h"
#include "remsim/log.h"
#include "remsim/nl.h"

#define SLOTS_MAX	256
#define OVERRIDES_MAX	64

/*
 * A config file's settings for one slot ("slot.remsim3.client = 40:0"):
 * a client identity for a slot the kernel has no map for, and its own ATR
 * or event script.
 */
struct slot_override {
	char name[32];			/* "remsim3" or the index "3" */
	bool has_client;
	struct rspro_client_slot client;
	uint8_t atr[RSPRO_ATR_MAX];
	size_t atr_len;
	char event_script[256];
};

struct client {
	struct ev_loop *loop;
	struct rc_cfg cfg;
	struct rsnl *nl;	/* requests */
	struct rsnl *ev;	/* the "events" group */
	struct ev_io nl_io, sig_io;
	struct kslot *slots[SLOTS_MAX];
	struct rsnl_map maps[SLOTS_MAX];	/* what each slot runs with */
	struct slot_override overrides[OVERRIDES_MAX];
	unsigned int noverrides;
};

static const struct slot_override *find_override(const struct client *cl,
						 const struct rsnl_slot *slot)
{
	char index[12];
	unsigned int i;

	snprintf(index, sizeof(index), "%u", slot->index);
	for (i = 0; i < cl->noverrides; i++)
		if (!strcmp(cl->overrides[i].name, slot->name) ||
		    !strcmp(cl->overrides[i].name, index))
			return &cl->overrides[i];
	return NULL;
}

static void slot_close(struct client *cl, uint32_t index)
{
	if (index >= SLOTS_MAX || !cl->slots[index])
		return;
	LOGP(DMAIN, LOG_INFO, rc_slot_name(kslot_rc(cl->slots[index])), "slot %u released",
	     index);
	kslot_close(cl->slots[index]);
	cl->slots[index] = NULL;
	memset(&cl->maps[index], 0, sizeof(cl->maps[index]));
}

/* A slot as the kernel describes it now: serve it, change it or let it go. */
static void slot_update(struct client *cl, const struct rsnl_slot *slot)
{
	const struct slot_override *o = find_override(cl, slot);
	struct rc_cfg cfg = cl->cfg;
	struct rsnl_map map = slot->map;
	struct kslot *k;
	char err[200];

	if (slot->index >= SLOTS_MAX)
		return;
	/* the kernel's map wins; the config file speaks for unmapped slots */
	if (!map.mapped && o && o->has_client) {
		memset(&map, 0, sizeof(map));
		map.mapped = true;
		map.client_id = o->client.client_id;
		map.client_slot = o->client.slot_nr;
	}
	if (!map.mapped) {
		slot_close(cl, slot->index);
		return;
	}
	if (cl->slots[slot->index] && !memcmp(&cl->maps[slot->index], &map, sizeof(map)))
		return;
	slot_close(cl, slot->index);
	cfg.slot.client_id = map.client_id;
	cfg.slot.slot_nr = map.client_slot;
	if (o && o->atr_len) {
		memcpy(cfg.atr, o->atr, o->atr_len);
		cfg.atr_len = o->atr_len;
	}
	if (o && o->event_script[0])
		snprintf(cfg.event_script, sizeof(cfg.event_script), "%s", o->event_script);
	k = kslot_open(cl->loop, slot->index, &cfg, err, sizeof(err));
	if (!k) {
		LOGP(DMAIN, LOG_ERROR, NULL, "slot %u (%s): %s", slot->index, slot->name, err);
		return;
	}
	cl->slots[slot->index] = k;
	cl->maps[slot->index] = map;
	LOGP(DMAIN, LOG_INFO, rc_slot_name(kslot_rc(k)), "serving slot %u (%s)", slot->index,
	     slot->name);
	if (map.has_bank) {
		struct rspro_bank_slot bank = { map.bank_id, map.bank_slot };
		struct rspro_ip_port addr;
		char text[REMSIM_MAP_HOST_MAX + 16];

		snprintf(text, sizeof(text), strchr(map.bankd_host, ':') ? "[%s]:%u" : "%s:%u",
			 map.bankd_host, map.bankd_port);
		if (rspro_ip_port_parse(&addr, text)) {
			LOGP(DMAIN, LOG_ERROR, rc_slot_name(kslot_rc(k)),
			     "static bank target %s is not an address", text);
			return;
		}
		kslot_static_bank(k, bank, &addr);
	} else {
		kslot_start(k);
	}
}

static int dump_one(const struct rsnl_slot *slot, void *arg)
{
	slot_update(arg, slot);
	return 0;
}

static void on_netlink(struct ev_io *io, uint32_t revents)
{
	struct client *cl = io->data;
	struct rsnl_event ev;
	int i;

	for (i = 0; i < 32; i++) {
		int ret = rsnl_event_recv(cl->ev, &ev);

		if (ret == -EAGAIN)
			return;
		if (ret == -ENOBUFS) {
			/* events were lost: ask for the whole table again */
			LOGP(DMAIN, LOG_NOTICE, NULL, "netlink events lost: dumping the slots");
			rsnl_slot_dump(cl->nl, dump_one, cl, NULL);
			continue;
		}
		if (ret)
			return;
		switch (ev.cmd) {
		case REMSIM_CMD_SLOT_ADD_NTF:
		case REMSIM_CMD_SLOT_CHANGE_NTF:
			slot_update(cl, &ev.slot);
			break;
		case REMSIM_CMD_SLOT_DEL_NTF:
			slot_close(cl, ev.slot.index);
			break;
		default:
			break;
		}
	}
}

static void on_signal(struct ev_io *io, uint32_t revents)
{
	struct client *cl = io->data;
	struct signalfd_siginfo si;
	int i;

	if (read(io->fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo != SIGUSR1) {
		LOGP(DMAIN, LOG_NOTICE, NULL, "signal %u: shutting down", si.ssi_signo);
		ev_break(cl->loop);
		return;
	}
	for (i = 0; i < SLOTS_MAX; i++) {
		const struct rc_stats *st;

		if (!cl->slots[i])
			continue;
		st = rc_slot_stats(kslot_rc(cl->slots[i]));
		LOGP(DMAIN, LOG_NOTICE, rc_slot_name(kslot_rc(cl->slots[i])),
		     "slot %d %s: %lu APDUs, %lu answers, %lu lost, %lu refused, %lu bankd connects",
		     i, rc_state_name(rc_slot_state(kslot_rc(cl->slots[i]))), st->tpdus,
		     st->responses, st->lost, st->refused, st->bankd_connects);
	}
}

/* One "key = value" of the config file; the same keys as the long options. */
static int conf_set(const char *key, const char *value, void *arg, char *why, size_t whylen)
{
	struct client *cl = arg;
	unsigned long v;
	long n;

	if (!strncmp(key, "slot.", 5)) {
		const char *dot = strchr(key + 5, '.');
		struct slot_override *o = NULL;
		unsigned int i, id, sn;
		char name[32];

		if (!dot || dot == key + 5 || (size_t)(dot - key - 5) >= sizeof(name)) {
			snprintf(why, whylen, "\"%s\": expected slot.NAME.KEY", key);
			return -EINVAL;
		}
		snprintf(name, sizeof(name), "%.*s", (int)(dot - key - 5), key + 5);
		for (i = 0; i < cl->noverrides; i++)
			if (!strcmp(cl->overrides[i].name, name))
				o = &cl->overrides[i];
		if (!o) {
			if (cl->noverrides == OVERRIDES_MAX) {
				snprintf(why, whylen, "more than %d slots configured", OVERRIDES_MAX);
				return -EINVAL;
			}
			o = &cl->overrides[cl->noverrides++];
			snprintf(o->name, sizeof(o->name), "%s", name);
		}
		if (!strcmp(dot + 1, "client")) {
			char extra;

			if (sscanf(value, "%u:%u%c", &id, &sn, &extra) != 2 || id > 1023 || sn > 1023) {
				snprintf(why, whylen, "%s \"%s\" is not CLIENT:SLOT (0..1023)", key, value);
				return -EINVAL;
			}
			o->has_client = true;
			o->client = (struct rspro_client_slot){ id, sn };
			return 0;
		}
		if (!strcmp(dot + 1, "atr")) {
			n = conf_hex(value, o->atr, sizeof(o->atr));
			if (n < 2) {
				snprintf(why, whylen, "%s: ATR malformed", key);
				return -EINVAL;
			}
			o->atr_len = n;
			return 0;
		}
		if (!strcmp(dot + 1, "event-script")) {
			snprintf(o->event_script, sizeof(o->event_script), "%s", value);
			return 0;
		}
		snprintf(why, whylen, "unknown slot setting \"%s\"", dot + 1);
		return -EINVAL;
	}
	if (!strcmp(key, "server-ip")) {
		snprintf(cl->cfg.server_host, sizeof(cl->cfg.server_host), "%s", value);
	} else if (!strcmp(key, "server-port")) {
		if (conf_uint(value, 1, 65535, &v)) {
			snprintf(why, whylen, "server-port \"%s\" is not a port", value);
			return -EINVAL;
		}
		cl->cfg.server_port = v;
	} else if (!strcmp(key, "event-script")) {
		snprintf(cl->cfg.event_script, sizeof(cl->cfg.event_script), "%s", value);
	} else if (!strcmp(key, "atr")) {
		n = conf_hex(value, cl->cfg.atr, sizeof(cl->cfg.atr));
		if (n < 2) {
			snprintf(why, whylen, "atr: ATR malformed");
			return -EINVAL;
		}
		cl->cfg.atr_len = n;
	} else if (!strcmp(key, "log-level")) {
		if (log_parse_level(value) < 0) {
			snprintf(why, whylen, "log-level \"%s\" is not a level", value);
			return -EINVAL;
		}
		log_set_all(log_parse_level(value));
	} else {
		snprintf(why, whylen, "unknown setting \"%s\"", key);
		return -EINVAL;
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: remsim-client [options]\n"
		"\n"
		"Serves every mapped /dev/remsimN of this host (remsimctl map).\n"
		"\n"
		"  -i, --server-ip HOST       remsim-server (default 127.0.0.1)\n"
		"  -p, --server-port PORT     (default 9998)\n"
		"  -a, --atr HEX              the local ATR (default 3b00)\n"
		"  -r, --atr-ignore-rspro     keep the local ATR\n"
		"  -e, --event-script CMD     run \"CMD <event>\" on events\n"
		"  -d, --debug MASK           osmo-remsim log mask\n"
		"      --log-level LEVEL      debug, info, notice, error, fatal\n"
		"  -L, --disable-color        accepted for osmo-remsim\n"
		"      --config FILE          \"key = value\" lines: the long options, and\n"
		"                             slot.NAME.client = ID:SLOT (for a slot the\n"
		"                             kernel has no map for), slot.NAME.atr,\n"
		"                             slot.NAME.event-script (NAME: remsim3 or 3)\n"
		"  -v, --version, -h, --help\n"
		"\n"
		"SIGUSR1 logs every slot's statistics.\n");
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "server-ip", required_argument, NULL, 'i' },
		{ "server-port", required_argument, NULL, 'p' },
		{ "atr", required_argument, NULL, 'a' },
		{ "atr-ignore-rspro", no_argument, NULL, 'r' },
		{ "event-script", required_argument, NULL, 'e' },
		{ "debug", required_argument, NULL, 'd' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "disable-color", no_argument, NULL, 'L' },
		{ "config", required_argument, NULL, 'C' },
		{ "version", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct client cl;
	char host[RSPRO_NAME_MAX + 1] = "remsim-client";
	int opt, sfd, i;
	long v;

	log_init("remsim-client", LOG_INFO);
	rc_cfg_default(&cl.cfg);
	while ((opt = getopt_long(argc, argv, "hvd:i:p:a:re:L", options, NULL)) != -1) {
		switch (opt) {
		case 'i':
			snprintf(cl.cfg.server_host, sizeof(cl.cfg.server_host), "%s", optarg);
			break;
		case 'p':
			v = strtol(optarg, NULL, 10);
			if (v < 1 || v > 65535) {
				fprintf(stderr, "remsim-client: -p %s is not a port\n", optarg);
				return 2;
			}
			cl.cfg.server_port = v;
			break;
		case 'a':
			v = conf_hex(optarg, cl.cfg.atr, sizeof(cl.cfg.atr));
			if (v < 2) {
				fprintf(stderr, "remsim-client: ATR malformed\n");
				return 2;
			}
			cl.cfg.atr_len = v;
			break;
		case 'r':
			cl.cfg.atr_ignore = true;
			break;
		case 'e':
			snprintf(cl.cfg.event_script, sizeof(cl.cfg.event_script), "%s", optarg);
			break;
		case 'd':
			if (log_parse_mask(optarg)) {
				fprintf(stderr, "remsim-client: bad log mask %s\n", optarg);
				return 2;
			}
			break;
		case 'l':
			if (log_parse_level(optarg) < 0) {
				fprintf(stderr, "remsim-client: bad log level %s\n", optarg);
				return 2;
			}
			log_set_all(log_parse_level(optarg));
			break;
		case 'L':
			break;
		case 'C': {
			char err[300];

			if (conf_load(optarg, conf_set, &cl, err, sizeof(err))) {
				fprintf(stderr, "remsim-client: %s\n", err);
				return 2;
			}
			break;
		}
		case 'v':
			printf("remsim-client %s\n", REMSIM_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	gethostname(host, sizeof(host) - 1);
	rspro_identity_init(&cl.cfg.identity, RSPRO_COMP_CLIENT, host, "remsim-client",
			    REMSIM_VERSION);
	if (rsnl_open(&cl.nl) || rsnl_open(&cl.ev)) {
		fprintf(stderr, "remsim-client: the remsim kernel module is not loaded\n");
		return 1;
	}
	cl.loop = ev_loop_new();
	sfd = ev_signalfd(true);
	if (!cl.loop || sfd < 0 || rsnl_subscribe(cl.ev))
		return 1;
	ev_io_start(cl.loop, &cl.sig_io, sfd, EPOLLIN, on_signal, &cl);
	/* subscribed first, then the dump: no slot falls between the two */
	fcntl(rsnl_fd(cl.ev), F_SETFL, fcntl(rsnl_fd(cl.ev), F_GETFL) | O_NONBLOCK);
	rsnl_slot_dump(cl.nl, dump_one, &cl, NULL);
	ev_io_start(cl.loop, &cl.nl_io, rsnl_fd(cl.ev), EPOLLIN, on_netlink, &cl);
	LOGP(DMAIN, LOG_NOTICE, NULL, "running: server %s:%u, watching the kernel's slots",
	     cl.cfg.server_host, cl.cfg.server_port);
	ev_run(cl.loop);
	for (i = 0; i < SLOTS_MAX; i++)
		slot_close(&cl, i);
	ev_io_stop(&cl.nl_io);
	ev_io_stop(&cl.sig_io);
	close(sfd);
	rsnl_close(cl.ev);
	rsnl_close(cl.nl);
	ev_loop_free(cl.loop);
	return 0;
}
