// SPDX-License-Identifier: GPL-2.0
/* remsimctl show and stats: what the kernel says about its slots. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "remsimctl.h"

#define LIMITED_TEXT \
	"map, ATR and counters not shown: needs CAP_NET_ADMIN or read-write access to the node"

static const char *const t0_names[] = { "idle", "rx-data", "wait-owner", "raw" };

static const struct {
	const char *name;
	size_t off;
} counters[] = {
#define C(f) { #f, offsetof(struct remsim_stats, f) }
	C(apdus), C(responses), C(bytes_up), C(bytes_down), C(resets), C(power_cycles),
	C(pps), C(errors), C(protocol_errors), C(response_errors), C(aborted), C(abandoned),
	C(timeouts), C(stale_responses), C(board_errors), C(up_peak), C(down_peak),
	C(up_backpressure), C(down_backpressure), C(signals_merged),
#undef C
};

static uint64_t counter(const struct rsnl_slot *s, unsigned int i)
{
	return *(const uint64_t *)((const char *)&s->stats + counters[i].off);
}

static const char *backend_name(uint32_t b)
{
	return b == REMSIM_BACKEND_USB ? "usb" : b == REMSIM_BACKEND_SIM ? "sim" : "unknown";
}

static void signals_text(uint32_t sig, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s%s%s", sig & REMSIM_SIG_VCC ? "vcc," : "",
		 sig & REMSIM_SIG_RST ? "rst," : "", sig & REMSIM_SIG_CLK ? "clk," : "",
		 sig & REMSIM_SIG_CARD ? "card," : "");
	if (buf[0])
		buf[strlen(buf) - 1] = 0;
	else
		snprintf(buf, size, "none");
}

static void hex(const uint8_t *p, unsigned int n, char *buf)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		sprintf(buf + 2 * i, "%02x", p[i]);
	buf[2 * n] = 0;
}

json_t *map_json(const struct rs_target *t)
{
	json_t *m = json_object();

	json_object_set_new(m, "client_id", json_integer(t->client_id));
	json_object_set_new(m, "client_slot", json_integer(t->client_slot));
	if (t->has_bank) {
		json_object_set_new(m, "bank_id", json_integer(t->bank_id));
		json_object_set_new(m, "bank_slot", json_integer(t->bank_slot));
		json_object_set_new(m, "bankd_host", json_string(t->host));
		json_object_set_new(m, "bankd_port", json_integer(t->port));
	}
	return m;
}

/* The slot's map as JSON (null: unmapped), its target from the file. */
static json_t *slot_map_json(const struct ctl *c, const struct rsnl_slot *s)
{
	struct ctl_was now;

	ctl_current(c, &s->map, &now);
	return now.mapped ? map_json(&now.map) : json_null();
}

static json_t *string_or_null(const char *s)
{
	return s[0] ? json_string(s) : json_null();
}

/* What every slot object starts with: which slot, and where it is. */
static json_t *slot_json_place(const struct rsnl_slot *s)
{
	json_t *j = json_object();
	char usb[96];
	struct slot_place p;

	slot_sysfs(s, &p);
	slot_usb_name(s, usb, sizeof(usb));
	json_object_set_new(j, "index", json_integer(s->index));
	json_object_set_new(j, "name", json_string(s->name));
	json_object_set_new(j, "backend", json_string(backend_name(s->backend)));
	json_object_set_new(j, "board", json_string(s->board));
	json_object_set_new(j, "serial", string_or_null(p.serial));
	json_object_set_new(j, "bus_path", json_string(s->bus_path));
	json_object_set_new(j, "interface", json_integer(s->interface));
	json_object_set_new(j, "stable_name", string_or_null(p.id_path));
	json_object_set_new(j, "usb_name", string_or_null(usb));
	return j;
}

json_t *signals_json(uint32_t sig)
{
	json_t *a = json_array();

	if (sig & REMSIM_SIG_VCC)
		json_array_append_new(a, json_string("vcc"));
	if (sig & REMSIM_SIG_RST)
		json_array_append_new(a, json_string("rst"));
	if (sig & REMSIM_SIG_CLK)
		json_array_append_new(a, json_string("clk"));
	if (sig & REMSIM_SIG_CARD)
		json_array_append_new(a, json_string("card"));
	return a;
}

json_t *slot_json_brief(const struct ctl *c, const struct rsnl_slot *s)
{
	json_t *j = slot_json_place(s);

	json_object_set_new(j, "signals", signals_json(s->signals));
	json_object_set_new(j, "map", slot_map_json(c, s));
	return j;
}

/*
 * A quantile of the APDU latency in whole microseconds, rounded up: the
 * upper bound of its bucket. 0: nothing timed; UINT64_MAX: over the bounds.
 */
static uint64_t latency_us(const struct rsnl_slot *s, unsigned int permille)
{
	uint64_t ns = rsnl_latency_quantile(&s->latency, permille);

	return ns == UINT64_MAX ? ns : (ns + 999) / 1000;
}

static void latency_text(uint64_t us, char *buf, size_t size)
{
	if (!us)
		snprintf(buf, size, "-");
	else if (us == UINT64_MAX)
		snprintf(buf, size, "inf");
	else
		snprintf(buf, size, "%llu", (unsigned long long)us);
}

/* count, and p50_us/p99_us: null when nothing was timed or over the bounds */
static json_t *latency_json(const struct rsnl_slot *s)
{
	json_t *j = json_object();
	uint64_t p50 = latency_us(s, 500), p99 = latency_us(s, 990);

	json_object_set_new(j, "count", json_integer(s->latency.count));
	json_object_set_new(j, "p50_us", p50 && p50 != UINT64_MAX ? json_integer(p50)
								  : json_null());
	json_object_set_new(j, "p99_us", p99 && p99 != UINT64_MAX ? json_integer(p99)
								  : json_null());
	return j;
}

json_t *slot_json(const struct ctl *c, const struct rsnl_slot *s, bool stats)
{
	json_t *j = slot_json_place(s);
	char atr[2 * REMSIM_ATR_MAX + 1];
	unsigned int i;

	hex(s->atr, s->atr_len, atr);
	json_object_set_new(j, "owner_pid", s->owned ? json_integer(s->owner_pid) : json_null());
	json_object_set_new(j, "t0_state", json_string(s->t0_state < 4 ? t0_names[s->t0_state]
								       : "unknown"));
	json_object_set_new(j, "signals", signals_json(s->signals));
	/* limited: the kernel left ATR, map and counters out for us */
	json_object_set_new(j, "limited", json_boolean(s->limited));
	json_object_set_new(j, "atr", s->limited ? json_null() : json_string(atr));
	json_object_set_new(j, "map", slot_map_json(c, s));
	if (stats && s->limited) {
		json_object_set_new(j, "stats", json_null());
	} else if (stats) {
		json_t *st = json_object();

		for (i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
			json_object_set_new(st, counters[i].name, json_integer(counter(s, i)));
		json_object_set_new(j, "stats", st);
		if (s->latency.present)
			json_object_set_new(j, "latency", latency_json(s));
	}
	return j;
}

void slot_print(const struct ctl *c, const struct rsnl_slot *s)
{
	const struct rs_target *t = ctl_target(c, &s->map);
	char usb[96], sig[32], atr[2 * REMSIM_ATR_MAX + 1];
	struct slot_place p;

	slot_sysfs(s, &p);
	slot_usb_name(s, usb, sizeof(usb));
	signals_text(s->signals, sig, sizeof(sig));
	hex(s->atr, s->atr_len, atr);
	printf("%s %s %s", s->name, backend_name(s->backend), s->board);
	if (p.serial[0])
		printf(" serial %s", p.serial);
	if (p.id_path[0])
		printf(" path %s", p.id_path);
	if (usb[0])
		printf(" usb %s", usb);
	if (s->owned)
		printf(" owner %u", s->owner_pid);
	printf(" t0 %s signals %s\n", s->t0_state < 4 ? t0_names[s->t0_state] : "unknown", sig);
	if (s->limited) {
		printf("\t%s\n", LIMITED_TEXT);
		return;
	}
	if (s->map.mapped) {
		printf("\tmap client %u slot %u", s->map.client_id, s->map.client_slot);
		if (t) {
			char bankd[REMSIM_MAP_HOST_MAX + 10];

			rs_target_bankd(t, bankd, sizeof(bankd));
			printf(" bank %u slot %u via %s", t->bank_id, t->bank_slot, bankd);
		}
		printf("\n");
	}
	printf("\tatr %s\n", atr);
}

void stats_print(const struct rsnl_slot *s)
{
	unsigned int i;

	printf("%s", s->name);
	if (s->limited) {
		printf(" %s\n", LIMITED_TEXT);
		return;
	}
	for (i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
		printf(" %s %llu", counters[i].name, (unsigned long long)counter(s, i));
	if (s->latency.present) {
		char p50[24], p99[24];

		latency_text(latency_us(s, 500), p50, sizeof(p50));
		latency_text(latency_us(s, 990), p99, sizeof(p99));
		printf(" p50_us %s p99_us %s", p50, p99);
	}
	printf("\n");
}

void json_out(json_t *j)
{
	char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);

	if (text)
		printf("%s\n", text);
	free(text);
	json_decref(j);
}

struct listing {
	struct ctl *c;
	bool stats;
	json_t *all;
};

static int list_one(const struct rsnl_slot *s, void *arg)
{
	struct listing *l = arg;

	if (l->c->json)
		json_array_append_new(l->all, slot_json(l->c, s, l->stats));
	else if (l->stats)
		stats_print(s);
	else
		slot_print(l->c, s);
	return 0;
}

static int show_or_stats(struct ctl *c, int argc, char **argv, bool stats)
{
	struct listing l = { c, stats, c->json ? json_array() : NULL };
	const struct cmd *cmd = stats ? &cmd_stats : &cmd_show;
	struct rsnl_slot s;
	int index, ret;

	if (argc > 2)
		return usage_of(cmd);
	if (!stats)
		ctl_load_targets(c, cmd->name);
	if (argc == 1) {
		ret = rsnl_slot_dump(c->nl, list_one, &l, NULL);
		if (ret)
			return refused(c, cmd->name, ret);
		if (c->json)
			json_out(l.all);
		return 0;
	}
	index = slot_arg(c, cmd->name, argv[1]);
	if (index < 0)
		return -index;
	ret = rsnl_slot_get(c->nl, index, &s);
	if (ret)
		return refused(c, cmd->name, ret);
	/* one slot is a list of one, as "ip -j link show dev X" has it */
	list_one(&s, &l);
	if (c->json)
		json_out(l.all);
	return 0;
}

static int run_show(struct ctl *c, int argc, char **argv)
{
	return show_or_stats(c, argc, argv, false);
}

static int run_stats(struct ctl *c, int argc, char **argv)
{
	return show_or_stats(c, argc, argv, true);
}

const struct cmd cmd_show = {
	.name = "show",
	.run = run_show,
	.usage = "[SLOT]",
	.help = "Every slot (or SLOT): backend, board, its serial, stable name (udev's\n"
		"ID_PATH, /dev/remsim/by-path/), the older USB port name, owner, T=0 state,\n"
		"modem signals, map and ATR; a map's static bank target comes from the\n"
		"targets file (" RS_TARGETS_DEFAULT "). Without CAP_NET_ADMIN, map and ATR\n"
		"only of the slots whose /dev/remsimN the caller may open, and owners\n"
		"only there.\n\n"
		"SLOT: an index, remsimN, /dev/remsimN, a link to one, or a stable name\n"
		"(pci-0000:00:14.0-usb-0:1.2:1.0, by-path/..., by-id/SERIAL-if0, or the\n"
		"older 1-1.2-if0). With -j an array, for one SLOT too.\n",
};

const struct cmd cmd_stats = {
	.name = "stats",
	.run = run_stats,
	.usage = "[SLOT]",
	.help = "Every slot's counters (or SLOT's): APDUs, responses, bytes, resets,\n"
		"errors by kind, time-outs, queue peaks and back-pressure. With -j an\n"
		"array, for one SLOT too.\n",
};
