// SPDX-License-Identifier: GPL-2.0
/*
 * `remsim-server cards`: the rack's inventory as one table, from a running
 * server's GET /api/backend/v1/cards (the inventory lives in its memory,
 * not in the database). Plain HTTP by itself; for HTTPS, curl's output on
 * standard input ("-"), so that no second TLS client lives here.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "auth.h"

/* The largest answer taken: 16384 slots of about 300 bytes each, and room. */
#define CARDS_BODY_MAX		(8u << 20)
#define CARDS_TIMEOUT_S		10
#define CARDS_DEFAULT_URL	"http://127.0.0.1:9997"

static void cards_usage(FILE *f)
{
	fprintf(f,
		"usage: remsim-server cards [-j] [URL | -]\n"
		"\n"
		"Prints the card inventory of a running server: per bank slot the modem\n"
		"slot mapped to it (client host/by-path name, the host alone if the client\n"
		"did not tell its slot's, else client id:slot), client, bank slot,\n"
		"reader, ICCID, IMSI, state, since when (UTC), APDUs, and the card's\n"
		"answer time p50/p99 in ms (bankd's SCardTransmit).\n"
		"\n"
		"  URL        the server's REST, http://HOST:PORT (default %s);\n"
		"             with --rest-auth, the token in $REMSIM_TOKEN\n"
		"  -          the JSON of GET /api/backend/v1/cards on standard input, e.g.\n"
		"             curl -sf -H \"Authorization: Bearer $T\" \\\n"
		"               https://srv:9997/api/backend/v1/cards | remsim-server cards -\n"
		"  -j, --json that JSON as it is\n",
		CARDS_DEFAULT_URL);
}

/* Appends what @fd gives until EOF into *@buf; -EFBIG beyond CARDS_BODY_MAX. */
static int slurp(int fd, char **buf, size_t *len)
{
	size_t cap = 0;
	ssize_t n;

	*buf = NULL;
	*len = 0;
	for (;;) {
		if (*len + 4096 + 1 > cap) {
			char *nb;

			if (cap >= CARDS_BODY_MAX)
				return -EFBIG;
			cap = cap ? cap * 2 : 65536;
			nb = realloc(*buf, cap);
			if (!nb)
				return -ENOMEM;
			*buf = nb;
		}
		n = read(fd, *buf + *len, cap - *len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (!n)
			break;
		*len += n;
	}
	(*buf)[*len] = 0;
	return 0;
}

/* http://HOST[:PORT][/...] into @host and @port; -EINVAL otherwise. */
static int parse_url(const char *url, char *host, size_t hsize, char *port, size_t psize)
{
	const char *h, *end, *colon;

	if (strncmp(url, "http://", 7))
		return -EINVAL;
	h = url + 7;
	end = h + strcspn(h, "/");
	if (*h == '[') {	/* [v6]:port */
		const char *rb = memchr(h, ']', end - h);

		if (!rb)
			return -EINVAL;
		snprintf(host, hsize, "%.*s", (int)(rb - h - 1), h + 1);
		colon = rb[1] == ':' ? rb + 1 : NULL;
	} else {
		colon = memchr(h, ':', end - h);
		snprintf(host, hsize, "%.*s", (int)((colon ? colon : end) - h), h);
	}
	snprintf(port, psize, "%.*s", colon ? (int)(end - colon - 1) : 4,
		 colon ? colon + 1 : "9997");
	return host[0] && port[0] ? 0 : -EINVAL;
}

static int connect_to(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	struct timeval tv = { .tv_sec = CARDS_TIMEOUT_S };
	int fd = -1;

	if (getaddrinfo(host, port, &hints, &res))
		return -EHOSTUNREACH;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		/* a server that accepts and says nothing does not hang us */
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (!connect(fd, ai->ai_addr, ai->ai_addrlen))
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd < 0 ? -ECONNREFUSED : fd;
}

/*
 * @method /api/backend/v1@path over HTTP/1.0 with JSON @json (NULL: none):
 * the body of a 2xx answer, or NULL with a message that starts with @who.
 */
static char *call(const char *who, const char *url, const char *method, const char *path,
		  const char *json)
{
	const char *token = getenv("REMSIM_TOKEN");
	char host[256], port[16], req[2048], *buf, *body;
	size_t len;
	int fd, status, n;

	if (parse_url(url, host, sizeof(host), port, sizeof(port))) {
		fprintf(stderr, "%s: %s: not http://HOST[:PORT] (HTTPS: see --help)\n", who, url);
		return NULL;
	}
	fd = connect_to(host, port);
	if (fd < 0) {
		fprintf(stderr, "%s: %s port %s: %s\n", who, host, port, strerror(-fd));
		return NULL;
	}
	n = snprintf(req, sizeof(req),
		     "%s /api/backend/v1%s HTTP/1.0\r\nHost: %s\r\n%s%s%s%s"
		     "Content-Length: %zu\r\n\r\n%s", method, path, host,
		     token ? "Authorization: Bearer " : "", token ?: "", token ? "\r\n" : "",
		     json ? "Content-Type: application/json\r\n" : "", json ? strlen(json) : 0,
		     json ?: "");
	if (n >= (int)sizeof(req) || write(fd, req, n) != n || slurp(fd, &buf, &len)) {
		fprintf(stderr, "%s: %s: no answer (%s)\n", who, url, strerror(errno));
		close(fd);
		return NULL;
	}
	close(fd);
	body = strstr(buf, "\r\n\r\n");
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1 || !body) {
		fprintf(stderr, "%s: %s: not an HTTP answer\n", who, url);
		free(buf);
		return NULL;
	}
	body += 4;
	if (status < 200 || status > 299) {
		fprintf(stderr, "%s: %s: HTTP %d %s\n", who, url, status, body);
		free(buf);
		return NULL;
	}
	memmove(buf, body, strlen(body) + 1);
	return buf;
}

static char *fetch(const char *url)
{
	return call("remsim-server cards", url, "GET", "/cards", NULL);
}

static void tag_usage(FILE *f)
{
	fprintf(f,
		"usage: remsim-server tag [-s URL] ICCID [TAG...]\n"
		"\n"
		"Sets the free tags of the card ICCID on a running server (none: clears\n"
		"them), as PUT /api/backend/v1/cards/ICCID/tags does. A tag is 1..64 of\n"
		"A-Z a-z 0-9 . _ : -, at most 16; mccmnc: tags come from the IMSI.\n"
		"\n"
		"  -s, --server URL  the server's REST, http://HOST:PORT (default %s);\n"
		"                    with --rest-auth, an admin token in $REMSIM_TOKEN\n",
		CARDS_DEFAULT_URL);
}

int tag_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *url = CARDS_DEFAULT_URL;
	char path[64], *text, *answer;
	json_t *a, *o;
	int opt;

	while ((opt = getopt_long(argc, argv, "s:h", opts, NULL)) != -1) {
		if (opt == 's') {
			url = optarg;
		} else if (opt == 'h') {
			tag_usage(stdout);
			return 0;
		} else {
			tag_usage(stderr);
			return 2;
		}
	}
	if (optind >= argc || strlen(argv[optind]) > 20 ||
	    strspn(argv[optind], "0123456789Ff") != strlen(argv[optind])) {
		tag_usage(stderr);
		return 2;
	}
	snprintf(path, sizeof(path), "/cards/%s/tags", argv[optind++]);
	a = json_array();
	while (a && optind < argc)
		json_array_append_new(a, json_string(argv[optind++]));
	o = json_pack("{s:o}", "tags", a);
	text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!text) {
		fprintf(stderr, "remsim-server tag: out of memory or a tag not UTF-8\n");
		return 1;
	}
	answer = call("remsim-server tag", url, "PUT", path, text);
	free(text);
	if (!answer)
		return 1;
	free(answer);
	return 0;
}

static const char *str_or(json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : dflt;
}

/* A card time of GET /cards in ms ("1.2"), or "-" when the bankd sent none. */
static void ms_text(json_t *c, const char *key, char *buf, size_t size)
{
	json_t *v = json_object_get(c, key);

	if (json_is_integer(v))
		snprintf(buf, size, "%.1f", json_integer_value(v) / 1000.0);
	else
		snprintf(buf, size, "-");
}

/* One row; -EINVAL if @c is not a card object of GET /cards. */
static int print_row(json_t *c)
{
	json_t *bank = json_object_get(c, "bank"), *map = json_object_get(c, "map");
	char modem[320] = "-", client[16] = "-", bslot[16];	/* host 64, path 128 */
	char p50[24], p99[24];
	const char *host, *path;

	if (!json_is_object(bank) || !json_is_integer(json_object_get(bank, "bankId")) ||
	    !json_is_integer(json_object_get(c, "apdus")))
		return -EINVAL;
	snprintf(bslot, sizeof(bslot), "%d:%d",
		 (int)json_integer_value(json_object_get(bank, "bankId")),
		 (int)json_integer_value(json_object_get(bank, "slotNr")));
	if (json_is_object(map)) {
		snprintf(client, sizeof(client), "%d:%d",
			 (int)json_integer_value(json_object_get(map, "clientId")),
			 (int)json_integer_value(json_object_get(map, "slotNr")));
		/*
		 * The client's host and its slot's by-path name while it is
		 * connected and told it; else its id.
		 */
		host = str_or(map, "clientName", NULL);
		path = str_or(map, "modemPath", NULL);
		if (host && path)
			snprintf(modem, sizeof(modem), "%s/%s", host, path);
		else
			snprintf(modem, sizeof(modem), "%s", host ? host : client);
	}
	ms_text(c, "cardTimeP50Us", p50, sizeof(p50));
	ms_text(c, "cardTimeP99Us", p99, sizeof(p99));
	printf("%-16s %-8s %-8s %-28s %-20s %-15s %-8s %-25s %-8lld %-8s %s\n", modem, client,
	       bslot, str_or(c, "reader", "-"), str_or(c, "iccid", "-"), str_or(c, "imsi", "-"),
	       str_or(c, "state", "-"), str_or(c, "since", "-"),
	       (long long)json_integer_value(json_object_get(c, "apdus")), p50, p99);
	return 0;
}

static int print_table(const char *text)
{
	json_error_t jerr;
	json_t *root = json_loads(text, 0, &jerr), *cards;
	size_t i;
	int ret = 0;

	cards = json_object_get(root, "cards");
	if (!json_is_array(cards)) {
		fprintf(stderr, "remsim-server cards: not the JSON of GET /cards (%s)\n",
			root ? "no \"cards\" array" : jerr.text);
		json_decref(root);
		return 1;
	}
	printf("%-16s %-8s %-8s %-28s %-20s %-15s %-8s %-25s %-8s %-8s %s\n", "MODEM", "CLIENT",
	       "BANK", "READER", "ICCID", "IMSI", "STATE", "SINCE", "APDUS", "P50_MS", "P99_MS");
	for (i = 0; i < json_array_size(cards); i++)
		if (print_row(json_array_get(cards, i))) {
			fprintf(stderr, "remsim-server cards: entry %zu is not a card\n", i);
			ret = 1;
		}
	json_decref(root);
	return ret;
}

int cards_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *src = CARDS_DEFAULT_URL;
	bool json = false;
	char *text = NULL;
	size_t len;
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		if (opt == 'j') {
			json = true;
		} else if (opt == 'h') {
			cards_usage(stdout);
			return 0;
		} else {
			cards_usage(stderr);
			return 2;
		}
	}
	if (optind < argc)
		src = argv[optind++];
	if (optind < argc) {
		cards_usage(stderr);
		return 2;
	}
	if (!strcmp(src, "-")) {
		ret = slurp(STDIN_FILENO, &text, &len);
		if (ret) {
			fprintf(stderr, "remsim-server cards: standard input: %s\n", strerror(-ret));
			free(text);
			return 1;
		}
	} else {
		text = fetch(src);
		if (!text)
			return 1;
	}
	if (json)
		ret = printf("%s\n", text) < 0;
	else
		ret = print_table(text);
	free(text);
	return ret;
}
