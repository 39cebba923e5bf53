// SPDX-License-Identifier: GPL-2.0
/* remsimctl monitor: the kernel's events, one line each, as they come. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>

#include "remsimctl.h"

static const char *const error_names[] = {
	[REMSIM_ERR_ABORTED] = "aborted", [REMSIM_ERR_RESPONSE_LENGTH] = "response-length",
	[REMSIM_ERR_RESPONSE_DATA] = "response-data", [REMSIM_ERR_UNKNOWN_INS] = "unknown-ins",
	[REMSIM_ERR_PROTOCOL] = "protocol", [REMSIM_ERR_ABANDONED] = "abandoned",
	[REMSIM_ERR_TIMEOUT] = "timeout", [REMSIM_ERR_BOARD] = "board",
};

static const char *event_name(uint8_t cmd)
{
	switch (cmd) {
	case REMSIM_CMD_SLOT_ADD_NTF:
		return "add";
	case REMSIM_CMD_SLOT_DEL_NTF:
		return "del";
	case REMSIM_CMD_SLOT_CHANGE_NTF:
		return "change";
	case REMSIM_CMD_SLOT_SIGNAL_NTF:
		return "signals";
	case REMSIM_CMD_SLOT_ERROR_NTF:
		return "error";
	default:
		return "unknown";
	}
}

static const char *error_name(uint32_t e)
{
	return e < sizeof(error_names) / sizeof(error_names[0]) && error_names[e] ?
	       error_names[e] : "unknown";
}

static void signal_list(uint32_t sig, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s%s%s", sig & REMSIM_SIG_VCC ? ",vcc" : "",
		 sig & REMSIM_SIG_RST ? ",rst" : "", sig & REMSIM_SIG_CLK ? ",clk" : "",
		 sig & REMSIM_SIG_CARD ? ",card" : "");
	if (!buf[0])
		snprintf(buf, size, ",none");
}

/*
 * UTC with milliseconds and the offset said: "2026-11-26T04:50:01.123+00:00",
 * one clock for every host of a rack, and no guessing which zone it was.
 */
static void stamp(char *buf, size_t size)
{
	struct timeval tv;
	struct tm tm;
	size_t n;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, size - n, ".%03ld+00:00", (long)tv.tv_usec / 1000);
}

static void print_json(const struct ctl *c, const struct rsnl_event *ev, const char *when)
{
	bool small = ev->cmd == REMSIM_CMD_SLOT_SIGNAL_NTF || ev->cmd == REMSIM_CMD_SLOT_ERROR_NTF;
	json_t *j = json_object();

	json_object_set_new(j, "time", json_string(when));
	json_object_set_new(j, "event", json_string(event_name(ev->cmd)));
	/* a signal or error event has no ATR, owner or T=0 state: none made up */
	json_object_set_new(j, "slot", small ? slot_json_brief(c, &ev->slot)
					     : slot_json(c, &ev->slot, false));
	if (ev->cmd == REMSIM_CMD_SLOT_SIGNAL_NTF)
		json_object_set_new(j, "changed", signals_json(ev->signals_changed));
	if (ev->cmd == REMSIM_CMD_SLOT_ERROR_NTF)
		json_object_set_new(j, "error", json_string(error_name(ev->error)));
	json_out(j);
}

static void print_event(const struct ctl *c, const struct rsnl_event *ev)
{
	char when[40], sig[32], chg[32];

	stamp(when, sizeof(when));
	if (c->json) {
		print_json(c, ev, when);
		fflush(stdout);
		return;
	}
	signal_list(ev->slot.signals, sig, sizeof(sig));
	signal_list(ev->signals_changed, chg, sizeof(chg));
	printf("%s %s %s", when, ev->slot.name, event_name(ev->cmd));
	switch (ev->cmd) {
	case REMSIM_CMD_SLOT_ADD_NTF:
	case REMSIM_CMD_SLOT_CHANGE_NTF: {
		char stable[SLOT_PATH_MAX];

		slot_stable_name(&ev->slot, stable, sizeof(stable));
		printf(" %s", ev->slot.board);
		if (stable[0])
			printf(" path %s", stable);
		if (ev->slot.map.mapped)
			printf(" map client %u slot %u", ev->slot.map.client_id,
			       ev->slot.map.client_slot);
		else
			printf(" unmapped");
		break;
	}
	case REMSIM_CMD_SLOT_SIGNAL_NTF:
		printf(" %s changed %s", sig + 1, chg + 1);
		break;
	case REMSIM_CMD_SLOT_ERROR_NTF:
		printf(" %s", error_name(ev->error));
		break;
	}
	printf("\n");
	fflush(stdout);
}

/*
 * The targets file again when it is another one now (remsimctl renames a
 * new one over it): the file has the target before the kernel has the
 * label, and a target may change with no kernel event at all. A stat an
 * event, not a read.
 */
static void refresh_targets(struct ctl *c)
{
	static struct stat last;
	struct stat st;

	if (stat(rs_targets_path(), &st))
		memset(&st, 0, sizeof(st));
	if (st.st_ino == last.st_ino && st.st_dev == last.st_dev &&
	    st.st_mtim.tv_sec == last.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == last.st_mtim.tv_nsec && st.st_size == last.st_size)
		return;
	last = st;
	ctl_load_targets(c, "monitor");
}

static int run_monitor(struct ctl *c, int argc, char **argv)
{
	struct rsnl_event ev;
	int ret;

	if (argc != 1)
		return usage_of(&cmd_monitor);
	ret = rsnl_subscribe(c->nl);
	if (ret)
		return refused(c, "monitor", ret);
	for (;;) {
		ret = rsnl_event_recv(c->nl, &ev);
		if (ret == -ENOBUFS) {
			/* say so: a consumer must know its view has a gap */
			fprintf(stderr, "remsimctl monitor: events lost (too slow)\n");
			continue;
		}
		if (ret == -EINTR)
			continue;
		if (ret)
			return refused(c, "monitor", ret);
		if (c->json)
			refresh_targets(c);
		print_event(c, &ev);
	}
}

const struct cmd cmd_monitor = {
	.name = "monitor",
	.run = run_monitor,
	.usage = "",
	.help = "The kernel's events, one line each with a UTC timestamp\n"
		"(2026-11-26T04:50:01.123+00:00): a slot added, removed or (un)mapped,\n"
		"modem signal changes, exchange errors. With -j one JSON object per\n"
		"line; \"changed\" of a signals event is an array. Needs CAP_NET_ADMIN.\n",
};
