// SPDX-License-Identifier: GPL-2.0
/* remsimctl map, unmap and sim: changing the slot table and its targets. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remsimctl.h"

/* With -j the slot as it is now, and the map it had when that differed. */
static int changed(struct ctl *c, uint32_t index, const struct ctl_was *was)
{
	struct rsnl_slot s;
	json_t *j;

	if (!c->json || rsnl_slot_get(c->nl, index, &s))
		return 0;
	j = slot_json(c, &s, false);
	if (was)
		json_object_set_new(j, "replaced", was->mapped ? map_json(&was->map) : json_null());
	json_out(j);
	return 0;
}

/* Drops "--force" (or "-f") from argv: whether it was there. */
static bool take_force(int *argc, char **argv)
{
	bool force = false;
	int i, n = 0;

	for (i = 0; i < *argc; i++) {
		if (i && (!strcmp(argv[i], "--force") || !strcmp(argv[i], "-f")))
			force = true;
		else
			argv[n++] = argv[i];
	}
	*argc = n;
	return force;
}

static int run_map(struct ctl *c, int argc, char **argv)
{
	bool force = take_force(&argc, argv);
	struct rs_target t;
	struct ctl_was was;
	char why[300];
	int index, ret;

	if (argc < 2)
		return usage_of(&cmd_map);
	if (rs_target_parse(argc - 2, argv + 2, &t, why, sizeof(why)))
		return fail(EXIT_USAGE, "map", "%s", why);
	index = slot_arg(c, "map", argv[1]);
	if (index < 0)
		return -index;
	ret = ctl_map(c, "map", index, &t, force ? CTL_MAP_FORCE : 0, &was);
	if (ret)
		return ret;
	/* say what went: the operator may want it back */
	if (was.mapped && rs_target_same(&was.map, &t))
		was.mapped = false;
	if (!c->json && was.mapped) {
		char text[REMSIM_MAP_HOST_MAX + 96];

		rs_target_format(&was.map, text, sizeof(text));
		printf("remsim%d: replaced %s\n", index, text);
	}
	return changed(c, index, &was);
}

static int run_unmap(struct ctl *c, int argc, char **argv)
{
	int index, ret;

	if (argc != 2)
		return usage_of(&cmd_unmap);
	index = slot_arg(c, "unmap", argv[1]);
	if (index < 0)
		return -index;
	ret = ctl_map(c, "unmap", index, NULL, 0, NULL);
	return ret ? ret : changed(c, index, NULL);
}

static int run_sim(struct ctl *c, int argc, char **argv)
{
	struct rsnl_slot s;
	int index, ret;

	if (argc == 2 && !strcmp(argv[1], "add")) {
		ret = rsnl_sim_new(c->nl, false, &s);
		if (ret)
			return refused(c, "sim add", ret);
		if (c->json)
			json_out(slot_json(c, &s, false));
		else
			printf("%s\n", s.name);
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "del")) {
		index = slot_arg(c, "sim del", argv[2]);
		if (index < 0)
			return -index;
		ret = rsnl_sim_del(c->nl, index);
		if (ret)
			return refused(c, "sim del", ret);
		if (c->json) {
			json_t *j = json_object();

			json_object_set_new(j, "index", json_integer(index));
			json_object_set_new(j, "deleted", json_true());
			json_out(j);
		}
		return 0;
	}
	return usage_of(&cmd_sim);
}

const struct cmd cmd_map = {
	.name = "map",
	.run = run_map,
	.usage = "SLOT client ID slot N [bank ID slot N via HOST:PORT] [--force]",
	.help = "Gives SLOT its RSPRO client identity (ClientId and slot, 0..1023):\n"
		"remsim-client then registers it with the server. With a bank target\n"
		"the client connects to that bankd and bank slot directly, no server\n"
		"needed; the kernel keeps the identity, the target goes to the targets\n"
		"file (" RS_TARGETS_DEFAULT ", $" RS_TARGETS_ENV "). Needs root.\n"
		"An identity another slot has is refused (one identity, one slot). A\n"
		"slot mapped otherwise keeps its map unless --force (-f) is given;\n"
		"then the map it replaced is printed.\n",
};

const struct cmd cmd_unmap = {
	.name = "unmap",
	.run = run_unmap,
	.usage = "SLOT",
	.help = "Removes SLOT's map, and its identity's target unless another slot has\n"
		"that identity; remsim-client lets the slot go. Needs root.\n",
};

const struct cmd cmd_sim = {
	.name = "sim",
	.run = run_sim,
	.usage = "add | del SLOT",
	.help = "Creates a simulated slot (remsim_sim.ko, loaded when needed) and\n"
		"prints its name, or deletes one. Needs CAP_NET_ADMIN.\n",
};
