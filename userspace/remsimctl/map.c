// SPDX-License-Identifier: GPL-2.0
/* remsimctl map, unmap and sim: changing the kernel's slot table. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remsimctl.h"

static int id_arg(const char *what, const char *s, unsigned long max, uint32_t *out,
		  char *why, size_t size)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (!*s || *s == '-' || *end || errno || v > max) {
		snprintf(why, size, "%s \"%s\" is not a number in 0..%lu", what, s, max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

/* "HOST:PORT" or "[V6]:PORT". */
static int bankd_arg(const char *s, struct rsnl_map *m, char *why, size_t size)
{
	const char *colon = strrchr(s, ':'), *host = s;
	size_t len;
	uint32_t port;

	if (!colon || colon == s)
		goto bad;
	len = colon - s;
	if (*s == '[') {
		if (colon[-1] != ']')
			goto bad;
		host++;
		len -= 2;
	} else if (memchr(s, ':', len)) {
		goto bad;	/* an IPv6 address needs its brackets */
	}
	if (!len || len > REMSIM_MAP_HOST_MAX)
		goto bad;
	if (id_arg("port", colon + 1, 65535, &port, why, size) || !port)
		goto bad;
	memcpy(m->bankd_host, host, len);
	m->bankd_host[len] = 0;
	m->bankd_port = port;
	return 0;
bad:
	snprintf(why, size, "\"%s\" is not HOST:PORT", s);
	return -EINVAL;
}

int map_parse(int argc, char **argv, struct rsnl_map *m, char *why, size_t size)
{
	memset(m, 0, sizeof(*m));
	if (argc != 4 && argc != 10)
		goto syntax;
	if (strcmp(argv[0], "client") || strcmp(argv[2], "slot"))
		goto syntax;
	if (id_arg("client", argv[1], REMSIM_MAP_ID_MAX, &m->client_id, why, size) ||
	    id_arg("client slot", argv[3], REMSIM_MAP_ID_MAX, &m->client_slot, why, size))
		return -EINVAL;
	m->mapped = true;
	if (argc == 4)
		return 0;
	if (strcmp(argv[4], "bank") || strcmp(argv[6], "slot") || strcmp(argv[8], "via"))
		goto syntax;
	if (id_arg("bank", argv[5], REMSIM_MAP_ID_MAX, &m->bank_id, why, size) ||
	    id_arg("bank slot", argv[7], REMSIM_MAP_ID_MAX, &m->bank_slot, why, size))
		return -EINVAL;
	m->has_bank = true;
	return bankd_arg(argv[9], m, why, size);
syntax:
	snprintf(why, size, "expected: client ID slot N [bank ID slot N via HOST:PORT]");
	return -EINVAL;
}

static int changed(struct ctl *c, uint32_t index)
{
	struct rsnl_slot s;

	if (c->json && !rsnl_slot_get(c->nl, index, &s))
		json_out(slot_json(&s, false));
	return 0;
}

static int run_map(struct ctl *c, int argc, char **argv)
{
	struct rsnl_map m;
	char why[160];
	int index, ret;

	if (argc < 2)
		return usage_of(&cmd_map);
	if (map_parse(argc - 2, argv + 2, &m, why, sizeof(why)))
		return fail(EXIT_USAGE, "map", "%s", why);
	index = slot_arg(c, "map", argv[1]);
	if (index < 0)
		return -index;
	ret = rsnl_slot_set(c->nl, index, &m);
	return ret ? refused(c, "map", ret) : changed(c, index);
}

static int run_unmap(struct ctl *c, int argc, char **argv)
{
	int index, ret;

	if (argc != 2)
		return usage_of(&cmd_unmap);
	index = slot_arg(c, "unmap", argv[1]);
	if (index < 0)
		return -index;
	ret = rsnl_slot_unset(c->nl, index);
	return ret ? refused(c, "unmap", ret) : changed(c, index);
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
			json_out(slot_json(&s, false));
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
	.usage = "SLOT client ID slot N [bank ID slot N via HOST:PORT]",
	.help = "Gives SLOT its RSPRO client identity (ClientId and slot, 0..1023):\n"
		"remsim-client then registers it with the server. With a bank target\n"
		"the client connects to that bankd and bank slot directly, no server\n"
		"needed. Needs CAP_NET_ADMIN.\n",
};

const struct cmd cmd_unmap = {
	.name = "unmap",
	.run = run_unmap,
	.usage = "SLOT",
	.help = "Removes SLOT's map; remsim-client lets the slot go. Needs CAP_NET_ADMIN.\n",
};

const struct cmd cmd_sim = {
	.name = "sim",
	.run = run_sim,
	.usage = "add | del SLOT",
	.help = "Creates a simulated slot (remsim_sim.ko, loaded when needed) and\n"
		"prints its name, or deletes one. Needs CAP_NET_ADMIN.\n",
};
