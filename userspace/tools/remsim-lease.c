// SPDX-License-Identifier: GPL-2.0
/*
 * remsim-lease: leases of rack cards for CI jobs, over remsim-server's REST
 * (POST/GET /api/backend/v1/leases, Documentation/server.rst "Leases"),
 * with libcurl for HTTP and HTTPS. Its exit codes are for scripts: 0 ok,
 * 1 an error, 2 a usage error, 3 no free card in the pool, 4 the card or
 * modem slot is held by another owner.
 */
#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEASE_DEFAULT_URL	"http://127.0.0.1:9997"
#define LEASE_BODY_MAX		(1u << 20)
#define LEASE_TIMEOUT_S		10L
#define LEASE_TOKEN_MAX		256

enum { EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_NO_FREE, EXIT_HELD };

struct opts {
	const char *server, *token_file, *client, *pool, *iccid, *duration, *cacert;
	char token[LEASE_TOKEN_MAX + 1];
	bool json;
};

struct buf {
	char *data;
	size_t len;
	bool too_big;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: remsim-lease [OPTIONS] acquire --client ID:SLOT (--pool NAME | --iccid ICCID)\n"
		"                                  [--duration D]\n"
		"       remsim-lease [OPTIONS] renew ID [--duration D]\n"
		"       remsim-lease [OPTIONS] release ID\n"
		"       remsim-lease [OPTIONS] list\n"
		"\n"
		"  -s, --server URL      remsim-server's REST (default $REMSIM_SERVER_URL, else %s)\n"
		"  -t, --token TOKEN     bearer token (default $REMSIM_TOKEN)\n"
		"  -T, --token-file F    the token from file F\n"
		"      --cacert FILE     CA certificate(s) for an https:// server\n"
		"  -c, --client ID:SLOT  the modem slot the card is mapped to\n"
		"  -p, --pool NAME       a free card of this pool\n"
		"  -i, --iccid ICCID     this card\n"
		"  -d, --duration D      1m..7d: a number and s, m, h or d (default 1h)\n"
		"  -j, --json            the server's JSON as it is\n"
		"  -V, --version         the version\n"
		"\n"
		"Exit: 0 ok, 1 error, 2 usage, 3 no free card in the pool, 4 held by another owner.\n",
		LEASE_DEFAULT_URL);
}

static size_t collect(char *ptr, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;
	size_t add = size * n;
	char *nb;

	if (b->len + add > LEASE_BODY_MAX) {
		b->too_big = true;
		return 0;
	}
	nb = realloc(b->data, b->len + add + 1);
	if (!nb)
		return 0;
	b->data = nb;
	memcpy(b->data + b->len, ptr, add);
	b->len += add;
	b->data[b->len] = 0;
	return add;
}

/* METHOD PATH with JSON @body (NULL: none): the HTTP status, or -1 (said). */
static long call(const struct opts *o, const char *method, const char *path,
		 const char *body, struct buf *out)
{
	struct curl_slist *h = NULL;
	char url[1024], auth[LEASE_TOKEN_MAX + 32];
	long status = -1;
	CURLcode rc;
	CURL *c;

	snprintf(url, sizeof(url), "%s/api/backend/v1%s", o->server, path);
	c = curl_easy_init();
	if (!c) {
		fprintf(stderr, "remsim-lease: cannot start libcurl\n");
		return -1;
	}
	if (o->token[0]) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", o->token);
		h = curl_slist_append(h, auth);
	}
	if (body) {
		h = curl_slist_append(h, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, LEASE_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	if (o->cacert)
		curl_easy_setopt(c, CURLOPT_CAINFO, o->cacert);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	else if (out->too_big)
		fprintf(stderr, "remsim-lease: %s: the answer is larger than %u bytes\n", url,
			LEASE_BODY_MAX);
	else
		fprintf(stderr, "remsim-lease: %s: %s\n", url, curl_easy_strerror(rc));
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return status;
}

/* The server's {"error": ...}, said; the exit code for @status. */
static int failed(long status, const struct buf *b)
{
	json_t *o = b->data ? json_loads(b->data, 0, NULL) : NULL;
	const char *e = json_string_value(json_object_get(o, "error"));

	fprintf(stderr, "remsim-lease: %ld: %s\n", status, e ? e : b->data ? b->data : "");
	json_decref(o);
	if (status == 409)
		return EXIT_HELD;
	if (status == 507)
		return EXIT_NO_FREE;
	return EXIT_ERROR;
}

static void print_lease(json_t *l)
{
	json_t *b = json_object_get(l, "bank"), *c = json_object_get(l, "client");

	printf("%lld %s bank %lld:%lld client %lld:%lld owner %s expires %s\n",
	       (long long)json_integer_value(json_object_get(l, "id")),
	       json_string_value(json_object_get(l, "iccid")) ?: "?",
	       (long long)json_integer_value(json_object_get(b, "bankId")),
	       (long long)json_integer_value(json_object_get(b, "slotNr")),
	       (long long)json_integer_value(json_object_get(c, "clientId")),
	       (long long)json_integer_value(json_object_get(c, "slotNr")),
	       json_string_value(json_object_get(l, "owner")) ?: "?",
	       json_string_value(json_object_get(l, "expires")) ?: "?");
}

/* A 2xx answer: as it is with -j, else a lease or the list, one a line. */
static int print_answer(const struct opts *o, const struct buf *b)
{
	json_t *root, *a, *l;
	size_t i;

	if (o->json) {
		if (b->data)
			printf("%s\n", b->data);
		return EXIT_OK;
	}
	if (!b->data)
		return EXIT_OK;
	root = json_loads(b->data, 0, NULL);
	if (!root) {
		fprintf(stderr, "remsim-lease: the answer is not JSON\n");
		return EXIT_ERROR;
	}
	a = json_object_get(root, "leases");
	if (json_is_array(a))
		json_array_foreach(a, i, l)
			print_lease(l);
	else
		print_lease(root);
	json_decref(root);
	return EXIT_OK;
}

static int run(const struct opts *o, const char *method, const char *path, const char *body)
{
	struct buf b = { 0 };
	long status = call(o, method, path, body, &b);
	int ret;

	if (status < 0)
		ret = EXIT_ERROR;
	else if (status < 200 || status > 299)
		ret = failed(status, &b);
	else
		ret = print_answer(o, &b);
	free(b.data);
	return ret;
}

static int read_token(struct opts *o)
{
	const char *env = getenv("REMSIM_TOKEN");
	FILE *f;

	if (o->token_file) {
		f = fopen(o->token_file, "r");
		if (!f) {
			perror(o->token_file);
			return -1;
		}
		if (!fgets(o->token, sizeof(o->token), f))
			o->token[0] = 0;
		fclose(f);
		o->token[strcspn(o->token, "\r\n")] = 0;
		if (!o->token[0]) {
			fprintf(stderr, "remsim-lease: %s holds no token\n", o->token_file);
			return -1;
		}
	} else if (!o->token[0] && env) {
		snprintf(o->token, sizeof(o->token), "%s", env);
	}
	return 0;
}

/* A lease id: decimal digits only. */
static bool is_id(const char *s)
{
	return *s && strlen(s) < 20 && strspn(s, "0123456789") == strlen(s);
}

static int acquire(const struct opts *o)
{
	unsigned int id, slot;
	char body[512];
	int n = 0;

	if (!o->client || sscanf(o->client, "%u:%u%n", &id, &slot, &n) != 2 || o->client[n] ||
	    !o->pool == !o->iccid) {
		fprintf(stderr, "remsim-lease: acquire needs --client ID:SLOT and one of --pool, --iccid\n");
		return EXIT_USAGE;
	}
	if (strlen(o->pool ? o->pool : o->iccid) > 64 ||
	    strpbrk(o->pool ? o->pool : o->iccid, "\"\\")) {
		fprintf(stderr, "remsim-lease: not a pool name or ICCID: %s\n",
			o->pool ? o->pool : o->iccid);
		return EXIT_USAGE;
	}
	snprintf(body, sizeof(body),
		 "{\"client\":{\"clientId\":%u,\"slotNr\":%u},\"%s\":\"%s\",\"duration\":\"%s\"}",
		 id, slot, o->pool ? "pool" : "iccid", o->pool ? o->pool : o->iccid,
		 o->duration);
	return run(o, "POST", "/leases", body);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "server", required_argument, NULL, 's' },
		{ "token", required_argument, NULL, 't' },
		{ "token-file", required_argument, NULL, 'T' },
		{ "cacert", required_argument, NULL, 'C' },
		{ "client", required_argument, NULL, 'c' },
		{ "pool", required_argument, NULL, 'p' },
		{ "iccid", required_argument, NULL, 'i' },
		{ "duration", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .duration = "1h" };
	char path[64], body[128];
	const char *cmd;
	int opt, ret;

	o.server = getenv("REMSIM_SERVER_URL") ?: LEASE_DEFAULT_URL;
	while ((opt = getopt_long(argc, argv, "s:t:T:c:p:i:d:jhV", longopts, NULL)) != -1) {
		switch (opt) {
		case 's':
			o.server = optarg;
			break;
		case 't':
			snprintf(o.token, sizeof(o.token), "%s", optarg);
			break;
		case 'T':
			o.token_file = optarg;
			break;
		case 'C':
			o.cacert = optarg;
			break;
		case 'c':
			o.client = optarg;
			break;
		case 'p':
			o.pool = optarg;
			break;
		case 'i':
			o.iccid = optarg;
			break;
		case 'd':
			o.duration = optarg;
			break;
		case 'j':
			o.json = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("remsim-lease %s\n", REMSIM_VERSION);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strpbrk(o.duration, "\"\\") || strlen(o.duration) > 16) {
		fprintf(stderr, "remsim-lease: not a duration: %s\n", o.duration);
		return EXIT_USAGE;
	}
	if (read_token(&o))
		return EXIT_ERROR;
	cmd = argv[optind++];
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		fprintf(stderr, "remsim-lease: cannot start libcurl\n");
		return EXIT_ERROR;
	}
	snprintf(body, sizeof(body), "{\"duration\":\"%s\"}", o.duration);
	if (!strcmp(cmd, "acquire") && optind == argc) {
		ret = acquire(&o);
	} else if (!strcmp(cmd, "list") && optind == argc) {
		ret = run(&o, "GET", "/leases", NULL);
	} else if ((!strcmp(cmd, "renew") || !strcmp(cmd, "release")) && optind + 1 == argc &&
		   is_id(argv[optind])) {
		snprintf(path, sizeof(path), "/leases/%s%s", argv[optind],
			 cmd[2] == 'n' ? "/renew" : "");
		ret = cmd[2] == 'n' ? run(&o, "POST", path, body) :
		      run(&o, "DELETE", path, NULL);
	} else {
		usage(stderr);
		ret = EXIT_USAGE;
	}
	curl_global_cleanup();
	return ret;
}
