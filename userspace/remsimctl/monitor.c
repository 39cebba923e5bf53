// SPDX-License-Identifier: GPL-2.0
/* remsimctl monitor: the kernel's events, one line each, as they come. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
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

/* Local time with milliseconds: "2026-11-26T04:50:01.123". */
static void stamp(char *buf, size_t size)
{
	struct timeval tv;
	struct tm tm;
	size_t n;

	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, size - n, ".%03ld", (long)tv.tv_usec / 1000);
}

static void print_event(const struct ctl *c, const struct rsnl_event *ev)
{
	char when[40], sig[32], chg[32];

	stamp(when, sizeof(when));
	signal_list(ev->slot.signals, sig, sizeof(sig));
	signal_list(ev->signals_changed, chg, sizeof(chg));
	if (c->json) {
		json_t *j = json_object();


		json_object_set_new(j, "time", json_string(when));
		json_object_set_new(j, "event", json_string(event_name(ev->cmd)));
		json_object_set_new(j, "slot", slot_json(c, &ev->slot, false));
		if (ev->cmd == REMSIM_CMD_SLOT_SIGNAL_NTF)
			json_object_set_new(j, "changed", json_string(chg + 1));
		if (ev->cmd == REMSIM_CMD_SLOT_ERROR_NTF)
			json_object_set_new(j, "error", json_string(error_name(ev->error)));
		json_out(j);
		fflush(stdout);
		return;
	}
	printf("%s %s %s", when, ev->slot.name, event_name(ev->cmd));
	switch (ev->cmd) {
	case REMSIM_CMD_SLOT_ADD_NTF:
	case REMSIM_CMD_SLOT_CHANGE_NTF: {
		char stable[96];

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
		/* the file has the target before the kernel has the label */
		if (c->json && (ev.cmd == REMSIM_CMD_SLOT_ADD_NTF ||
				ev.cmd == REMSIM_CMD_SLOT_CHANGE_NTF))
			ctl_load_targets(c, "monitor");
		print_event(c, &ev);
	}
}

const struct cmd cmd_monitor = {
	.name = "monitor",
	.run = run_monitor,
	.usage = "",
	.help = "The kernel's events, one line each with a local timestamp: a slot\n"
		"added, removed or (un)mapped, modem signal changes, exchange errors.\n"
		"With -j one JSON object per line. Needs CAP_NET_ADMIN.\n",
};
