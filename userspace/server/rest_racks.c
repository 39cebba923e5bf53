// SPDX-License-Identifier: GPL-2.0
/*
 * REST for rack management (racks.c): a card's tags (PUT /cards/ICCID/tags),
 * pools (/pools, /pools/NAME), leases (/leases, /leases/ID, /leases/ID/renew)
 * and the history (/history). remsim's own paths: osmo-remsim has none of
 * them. Every change is an audit line with its caller, as in rest_api.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rest_int.h"
#include "server_api.h"

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define HISTORY_LIMIT_DEFAULT	100
#define HISTORY_LIMIT_MAX	1000

static void tag_append(const char *tag, void *arg)
{
	json_array_append_new(arg, json_string(tag));
}

json_t *rest_card_tags(struct server *srv, const char *iccid, const char *imsi)
{
	json_t *a = json_array();

	if (a)
		server_card_tags(srv, iccid, imsi[0] ? imsi : NULL, tag_append, a);
	return a ? a : json_null();
}

/*
 * {"tags": [...]} of a PUT into @tags (pointing into @root), at most
 * SERVER_TAGS_MAX, each valid. A card's (@pool false): no automatic
 * "mccmnc:" tag (those come from the IMSI), a repeated one taken once. A
 * pool's: at least one, automatic ones too (a pool may select by them),
 * as given. 0, or -EINVAL with @why.
 */
static int parse_tags(json_t *root, bool pool, const char **tags, unsigned int *n, char *why,
		      size_t whylen)
{
	json_t *a = json_object_get(root, "tags"), *v;
	size_t i, j;

	if (pool && (!json_is_array(a) || !json_array_size(a) ||
		     json_array_size(a) > SERVER_TAGS_MAX)) {
		snprintf(why, whylen, "expected {\"tags\": [\"TAG\", ...]} with 1..%d tags",
			 SERVER_TAGS_MAX);
		return -EINVAL;
	}
	if (!json_is_array(a)) {
		snprintf(why, whylen, "expected {\"tags\": [\"TAG\", ...]}");
		return -EINVAL;
	}
	if (json_array_size(a) > SERVER_TAGS_MAX) {
		snprintf(why, whylen, "%zu tags, the most is %d", json_array_size(a),
			 SERVER_TAGS_MAX);
		return -EINVAL;
	}
	*n = 0;
	json_array_foreach(a, i, v) {
		const char *s = json_string_value(v);

		if (!s || !server_tag_valid(s)) {
			snprintf(why, whylen,
				 "tag %zu is not 1..%d characters of A-Z a-z 0-9 . _ : -", i + 1,
				 SERVER_TAG_LEN);
			return -EINVAL;
		}
		if (pool) {
			tags[(*n)++] = s;
			continue;
		}
		if (!strncmp(s, "mccmnc:", 7)) {
			snprintf(why, whylen,
				 "tag \"%s\": mccmnc: tags come from the card's IMSI", s);
			return -EINVAL;
		}
		for (j = 0; j < *n; j++)
			if (!strcmp(tags[j], s))
				break;
		if (j == *n)
			tags[(*n)++] = s;
	}
	return 0;
}

/*
 * The answer to a PUT of @tags that server_tags_set() or server_pool_put()
 * returned @ret for (@why its reason): the store's error (@failed), or OK
 * and an audit line for @what with the tags.
 */
static enum MHD_Result tags_stored(struct MHD_Connection *c, struct server *srv,
				   const struct request *rq, int ret, const char *failed,
				   const char *what, const char *const *tags, unsigned int n,
				   const char *why)
{
	char after[SERVER_TAGS_MAX * (SERVER_TAG_LEN + 1) + 1] = "";
	unsigned int i;

	if (ret == -ENOSPC)
		return rest_error(c, MHD_HTTP_INSUFFICIENT_STORAGE, "%s", why);
	if (ret)
		return rest_store_error(c, ret, failed, why);
	for (i = 0; i < n; i++)
		snprintf(after + strlen(after), sizeof(after) - strlen(after), "%s%s",
			 i ? " " : "", tags[i]);
	server_audit(srv, rq->caller, what, NULL, after);
	return rest_reply(c, MHD_HTTP_OK, NULL);
}

static bool iccid_valid(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= RSPRO_ICCID_MAX && strspn(s, "0123456789Ff") == n;
}

/* PUT /cards/ICCID/tags {"tags": [...]}: the card's free tags, replaced. */
static enum MHD_Result put_tags(struct MHD_Connection *c, struct server *srv,
				const char *iccid, const struct request *rq)
{
	const char *tags[SERVER_TAGS_MAX];
	enum MHD_Result mret;
	char why[512], what[64];
	unsigned int n;
	json_t *root;
	int ret;

	if (!iccid_valid(iccid))
		return rest_error(c, MHD_HTTP_BAD_REQUEST, "\"%s\" is not an ICCID (1..%d digits)",
				  iccid, RSPRO_ICCID_MAX);
	root = rest_json_body(c, rq, &mret);
	if (!root)
		return mret;
	if (parse_tags(root, false, tags, &n, why, sizeof(why))) {
		json_decref(root);
		return rest_error(c, MHD_HTTP_BAD_REQUEST, "%s", why);
	}
	ret = server_tags_set(srv, iccid, tags, n, why, sizeof(why));
	snprintf(what, sizeof(what), "tags of card %s", iccid);
	mret = tags_stored(c, srv, rq, ret, "the tags were not stored", what, tags, n, why);
	json_decref(root);
	return mret;
}

static json_t *strings(const char *const *s, unsigned int n)
{
	json_t *a = json_array();
	unsigned int i;

	for (i = 0; a && i < n; i++)
		json_array_append_new(a, json_string(s[i]));
	return a;
}

static json_t *pool_json(struct server *srv, const struct server_pool *p,
			 const struct server_pool_info *pi, bool cards)
{
	json_t *o = json_pack("{s:s,s:o}", "name", pi->name, "tags", strings(pi->tags, pi->n));
	json_t *a = json_array();
	const struct server_card *sc = NULL;
	struct server_card_info ci;
	unsigned int total = 0, free_n = 0;

	while (o && a && (sc = server_card_next_info(srv, sc, &ci))) {
		bool f;

		if (!server_pool_has(srv, p, &ci))
			continue;
		f = server_card_free(srv, &ci);
		total++;
		free_n += f;
		if (cards)
			json_array_append_new(a, json_pack("{s:s,s:{s:i,s:i},s:s,s:b}", "iccid",
					      ci.card->iccid, "bank", "bankId", ci.bank.bank_id,
					      "slotNr", ci.bank.slot_nr, "state", ci.state,
					      "free", f));
	}
	if (o) {
		json_object_set_new(o, "cards", json_integer(total));
		json_object_set_new(o, "free", json_integer(free_n));
		if (cards)
			json_object_set(o, "members", a);
	}
	json_decref(a);
	return o;
}

static enum MHD_Result get_pools(struct MHD_Connection *c, struct server *srv)
{
	json_t *a = json_array();
	const struct server_pool *p = NULL;
	struct server_pool_info pi;

	while (a && (p = server_pool_next_info(srv, p, &pi)))
		json_array_append_new(a, pool_json(srv, p, &pi, false));
	return rest_reply(c, MHD_HTTP_OK, json_pack("{s:o}", "pools", a));
}

static enum MHD_Result get_pool(struct MHD_Connection *c, struct server *srv,
				const char *name)
{
	const struct server_pool *p = NULL;
	struct server_pool_info pi;

	while ((p = server_pool_next_info(srv, p, &pi)))
		if (!strcmp(pi.name, name))
			return rest_reply(c, MHD_HTTP_OK, pool_json(srv, p, &pi, true));
	return rest_error(c, MHD_HTTP_NOT_FOUND, "no pool \"%s\"", name);
}

/* PUT /pools/NAME {"tags": [...]}: its cards are those with every tag. */
static enum MHD_Result put_pool(struct MHD_Connection *c, struct server *srv,
				const char *name, const struct request *rq)
{
	const char *tags[SERVER_TAGS_MAX];
	enum MHD_Result mret;
	char why[512], what[SERVER_TAG_LEN + 8];
	unsigned int n;
	json_t *root;
	int ret;

	if (!server_pool_name_valid(name))
		return rest_error(c, MHD_HTTP_BAD_REQUEST,
				  "pool name \"%s\" is not 1..%d characters of A-Z a-z 0-9 . _ -",
				  name, SERVER_TAG_LEN);
	root = rest_json_body(c, rq, &mret);
	if (!root)
		return mret;
	if (parse_tags(root, true, tags, &n, why, sizeof(why))) {
		json_decref(root);
		return rest_error(c, MHD_HTTP_BAD_REQUEST, "%s", why);
	}
	ret = server_pool_put(srv, name, tags, n, why, sizeof(why));
	snprintf(what, sizeof(what), "pool %s", name);
	mret = tags_stored(c, srv, rq, ret, "the pool was not stored", what, tags, n, why);
	json_decref(root);
	return mret;
}

static enum MHD_Result delete_pool(struct MHD_Connection *c, struct server *srv,
				   const char *name, const struct request *rq)
{
	char why[512];
	int ret = server_pool_delete(srv, name, why, sizeof(why));

	if (ret == -ENOENT)
		return rest_error(c, MHD_HTTP_NOT_FOUND, "no pool \"%s\"", name);
	if (ret)
		return rest_store_error(c, ret, "the deletion was not stored", why);
	snprintf(why, sizeof(why), "pool %s delete", name);
	server_audit(srv, rq->caller, why, name, NULL);
	return rest_reply(c, MHD_HTTP_OK, NULL);
}

/* --- leases --- */

static void utc(int64_t us, char *buf, size_t size)
{
	time_t t = us / 1000000;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *lease_json(const struct server_lease_info *l)
{
	char since[32], expires[32];

	utc(l->since_us, since, sizeof(since));
	utc(l->expires_us, expires, sizeof(expires));
	return json_pack("{s:I,s:s,s:{s:i,s:i},s:{s:i,s:i},s:s,s:s,s:s}", "id",
			 (json_int_t)l->id, "iccid", l->iccid, "bank", "bankId",
			 l->bank.bank_id, "slotNr", l->bank.slot_nr, "client", "clientId",
			 l->client.client_id, "slotNr", l->client.slot_nr, "owner", l->owner,
			 "since", since, "expires", expires);
}

/*
 * "90s", "30m", "2h", "7d" or plain seconds, within SERVER_LEASE_MIN_S ..
 * SERVER_LEASE_MAX_S; 0 or -EINVAL.
 */
static int parse_duration(const char *s, int64_t *out)
{
	static const struct { char unit; int64_t mul; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 },
	};
	unsigned long v;
	char num[16];
	size_t n = strspn(s, "0123456789"), i;
	int64_t mul = 0;

	if (!n || n >= sizeof(num) || (s[n] && s[n + 1]))
		return -EINVAL;
	if (!s[n])
		mul = 1;
	for (i = 0; i < ARRAY_SIZE(units) && s[n]; i++)
		if (units[i].unit == s[n])
			mul = units[i].mul;
	memcpy(num, s, n);
	num[n] = 0;
	if (!mul || rest_parse_id(num, SERVER_LEASE_MAX_S, &v))
		return -EINVAL;
	*out = (int64_t)v * mul;
	if (*out < SERVER_LEASE_MIN_S || *out > SERVER_LEASE_MAX_S)
		return -EINVAL;
	return 0;
}

static enum MHD_Result bad_duration(struct MHD_Connection *c, const char *d)
{
	return rest_error(c, MHD_HTTP_BAD_REQUEST,
			  "duration \"%s\" is not 1m..7d (a number and s, m, h or d)",
			  d ? d : "(none)");
}

/* Exit codes of remsim-lease follow these statuses: 409 held, 404/503 none free. */
static enum MHD_Result lease_error(struct MHD_Connection *c, int ret, const char *why)
{
	switch (ret) {
	case -ENOENT:
		return rest_error(c, MHD_HTTP_NOT_FOUND, "%s", why);
	case -EPERM:
	case -EEXIST:
		return rest_error(c, MHD_HTTP_CONFLICT, "%s", why);
	case -ENOSPC:
		return rest_error(c, MHD_HTTP_INSUFFICIENT_STORAGE, "%s", why);
	default:
		return rest_store_error(c, ret, "the lease was not stored", why);
	}
}

static int get_client(json_t *root, struct rspro_client_slot *cs, char *why, size_t whylen)
{
	json_t *cl = json_object_get(root, "client");
	json_int_t id, slot;

	if (!json_is_object(cl) ||
	    json_unpack(cl, "{s:I,s:I}", "clientId", &id, "slotNr", &slot) ||
	    id < 0 || id > RSPRO_ID_MAX || slot < 0 || slot > RSPRO_ID_MAX) {
		snprintf(why, whylen, "\"client\" must be {\"clientId\": 0..%d, \"slotNr\": 0..%d}",
			 RSPRO_ID_MAX, RSPRO_ID_MAX);
		return -EINVAL;
	}
	cs->client_id = id;
	cs->slot_nr = slot;
	return 0;
}

/* POST /leases {"client": {...}, "pool": NAME | "iccid": ICCID, "duration": D} */
static enum MHD_Result post_lease(struct MHD_Connection *c, struct server *srv,
				  const struct request *rq)
{
	struct rspro_client_slot cs;
	struct server_lease_info l;
	const char *pool, *iccid, *dur;
	char owner[160], why[512], after[160];
	enum MHD_Result mret;
	int64_t secs;
	json_t *root;
	int ret;

	root = rest_json_body(c, rq, &mret);
	if (!root)
		return mret;
	pool = json_string_value(json_object_get(root, "pool"));
	iccid = json_string_value(json_object_get(root, "iccid"));
	dur = json_string_value(json_object_get(root, "duration"));
	why[0] = 0;
	if (get_client(root, &cs, why, sizeof(why)))
		;
	else if (!pool == !iccid)
		snprintf(why, sizeof(why), "give either \"pool\" or \"iccid\" (strings)");
	else if ((pool && !server_pool_name_valid(pool)) || (iccid && !iccid_valid(iccid)))
		snprintf(why, sizeof(why), "\"%s\" is not a valid %s", pool ? pool : iccid,
			 pool ? "pool name" : "ICCID");
	else if (!dur || parse_duration(dur, &secs))
		snprintf(why, sizeof(why), "duration \"%s\" is not 1m..7d (a number and s, m, h or d)",
			 dur ? dur : "(none)");
	if (why[0]) {
		mret = rest_error(c, MHD_HTTP_BAD_REQUEST, "%s", why);
		json_decref(root);
		return mret;
	}
	rest_owner(rq, owner, sizeof(owner));
	ret = server_lease_acquire(srv, cs, pool, iccid, secs, owner, rq->caller,
				   rest_force(c), &l, why, sizeof(why));
	json_decref(root);
	if (ret)
		return lease_error(c, ret, why);
	snprintf(after, sizeof(after), "lease %" PRIu64 ": %s to C%u:%u for %s", l.id, l.iccid,
		 l.client.client_id, l.client.slot_nr, l.owner);
	server_audit(srv, rq->caller, "lease acquire", NULL, after);
	return rest_reply(c, MHD_HTTP_CREATED, lease_json(&l));
}

static enum MHD_Result renew_lease(struct MHD_Connection *c, struct server *srv,
				   uint64_t id, const struct request *rq)
{
	struct server_lease_info l;
	char owner[160], why[512], after[96];
	enum MHD_Result mret;
	const char *dur;
	int64_t secs;
	json_t *root;
	int ret;

	root = rest_json_body(c, rq, &mret);
	if (!root)
		return mret;
	dur = json_string_value(json_object_get(root, "duration"));
	if (!dur || parse_duration(dur, &secs)) {
		mret = bad_duration(c, dur);
		json_decref(root);
		return mret;
	}
	json_decref(root);
	rest_owner(rq, owner, sizeof(owner));
	ret = server_lease_renew(srv, id, secs, owner, rest_force(c), &l, why, sizeof(why));
	if (ret)
		return lease_error(c, ret, why);
	snprintf(after, sizeof(after), "lease %" PRIu64 " for %lld s", id, (long long)secs);
	server_audit(srv, rq->caller, "lease renew", NULL, after);
	return rest_reply(c, MHD_HTTP_OK, lease_json(&l));
}

static enum MHD_Result release_lease(struct MHD_Connection *c, struct server *srv,
				     uint64_t id, const struct request *rq)
{
	char owner[160], why[512], before[48];
	int ret;

	rest_owner(rq, owner, sizeof(owner));
	ret = server_lease_release(srv, id, owner, rest_force(c), rq->caller, why, sizeof(why));
	if (ret)
		return lease_error(c, ret, why);
	snprintf(before, sizeof(before), "lease %" PRIu64, id);
	server_audit(srv, rq->caller, "lease release", before, NULL);
	return rest_reply(c, MHD_HTTP_OK, NULL);
}

/* Every lease, the oldest first; "mine": the caller is its owner (the dashboard's Release). */
static enum MHD_Result get_leases(struct MHD_Connection *c, struct server *srv,
				  const struct request *rq)
{
	json_t *a = json_array(), *o;
	const struct server_lease *p = NULL;
	struct server_lease_info l;
	char owner[160];

	rest_owner(rq, owner, sizeof(owner));
	while (a && (p = server_lease_next_info(srv, p, &l))) {
		o = lease_json(&l);
		if (o)
			json_object_set_new(o, "mine", json_boolean(!strcmp(owner, l.owner)));
		json_array_insert_new(a, 0, o);
	}
	return rest_reply(c, MHD_HTTP_OK, json_pack("{s:o}", "leases", a));
}

/* /leases/ID or /leases/ID/renew */
static enum MHD_Result lease_path(struct MHD_Connection *c, struct server *srv,
				  const char *method, const char *rest,
				  const struct request *rq)
{
	char num[24];
	size_t n = strcspn(rest, "/");
	unsigned long id;

	if (n >= sizeof(num))
		n = sizeof(num) - 1;
	memcpy(num, rest, n);
	num[n] = 0;
	if (rest_parse_id(num, 0x7fffffffffffffffUL, &id))
		return rest_error(c, MHD_HTTP_BAD_REQUEST, "\"%s\" is not a lease id", num);
	if (!strcmp(rest + n, "/renew") && !strcmp(method, "POST"))
		return renew_lease(c, srv, id, rq);
	if (!rest[n] && !strcmp(method, "DELETE"))
		return release_lease(c, srv, id, rq);
	if (!rest[n] || !strcmp(rest + n, "/renew"))
		return rest_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "%s is not allowed on %s%s",
				  method, "/leases/", rest);
	return rest_error(c, MHD_HTTP_NOT_FOUND, "no such resource: %s/leases/%s", PREFIX,
			  rest);
}

/* --- history --- */

static void history_row(const struct server_history_line *l, void *arg)
{
	json_array_append_new(arg, json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s}", "id",
					     (json_int_t)l->id, "time", l->time, "iccid",
					     l->iccid, "client", l->client, "bank", l->bank,
					     "event", l->event, "who", l->who));
}

/* GET /history?iccid=ICCID | client=ID:SLOT [&since=TIME] [&limit=N] */
static enum MHD_Result get_history(struct MHD_Connection *c, struct server *srv)
{
	const char *iccid = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "iccid");
	const char *client = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "client");
	const char *since = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "since");
	const char *limit = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
	unsigned long n = HISTORY_LIMIT_DEFAULT;
	unsigned int id, slot;
	int64_t since_us = 0;
	char why[512], cs[16];
	int k = 0;
	json_t *a;
	int ret;

	if (!iccid == !client)
		return rest_error(c, MHD_HTTP_BAD_REQUEST,
				  "give either iccid=ICCID or client=ID:SLOT");
	if (iccid && !iccid_valid(iccid))
		return rest_error(c, MHD_HTTP_BAD_REQUEST, "\"%s\" is not an ICCID", iccid);
	if (client && (sscanf(client, "%u:%u%n", &id, &slot, &k) != 2 || client[k] ||
		       id > RSPRO_ID_MAX || slot > RSPRO_ID_MAX))
		return rest_error(c, MHD_HTTP_BAD_REQUEST, "client \"%s\" is not ID:SLOT",
				  client);
	if (since && rest_parse_time(since, &since_us))
		return rest_error(c, MHD_HTTP_BAD_REQUEST,
				  "since \"%s\" is not a time like 2026-01-02T03:04:05Z, or Unix seconds",
				  since);
	if (limit && (rest_parse_id(limit, HISTORY_LIMIT_MAX, &n) || !n))
		return rest_error(c, MHD_HTTP_BAD_REQUEST, "limit \"%s\" is not 1..%d", limit,
				  HISTORY_LIMIT_MAX);
	if (client)
		snprintf(cs, sizeof(cs), "%u:%u", id, slot);
	a = json_array();
	if (!a)
		return MHD_NO;
	ret = server_history_query(srv, iccid, client ? cs : NULL, since_us, n, history_row, a,
				   why, sizeof(why));
	if (ret) {
		json_decref(a);
		return rest_store_error(c, ret, "the history was not read", why);
	}
	return rest_reply(c, MHD_HTTP_OK, json_pack("{s:o}", "history", a));
}

/* --- routing --- */

static bool is(const char *a, const char *b)
{
	return !strcmp(a, b);
}

bool rest_racks_route(struct MHD_Connection *c, struct server *srv, const char *method,
		      const char *path, const struct request *rq, enum MHD_Result *ret)
{
	const char *tail;
	char iccid[64];
	size_t n;

	if (!strncmp(path, "/cards/", 7)) {
		tail = strchr(path + 7, '/');
		if (!tail || !is(tail, "/tags"))
			return false;
		n = tail - (path + 7);
		snprintf(iccid, sizeof(iccid), "%.*s", (int)(n < 63 ? n : 63), path + 7);
		*ret = is(method, "PUT") ? put_tags(c, srv, iccid, rq) :
		       rest_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "%s is not allowed on %s",
				  method, path);
		return true;
	}
	if (is(path, "/pools")) {
		*ret = is(method, "GET") ? get_pools(c, srv) :
		       rest_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "%s is not allowed on %s",
				  method, path);
		return true;
	}
	if (!strncmp(path, "/pools/", 7)) {
		if (is(method, "GET"))
			*ret = get_pool(c, srv, path + 7);
		else if (is(method, "PUT"))
			*ret = put_pool(c, srv, path + 7, rq);
		else if (is(method, "DELETE"))
			*ret = delete_pool(c, srv, path + 7, rq);
		else
			*ret = rest_error(c, MHD_HTTP_METHOD_NOT_ALLOWED,
					  "%s is not allowed on %s", method, path);
		return true;
	}
	if (is(path, "/leases")) {
		if (is(method, "GET"))
			*ret = get_leases(c, srv, rq);
		else if (is(method, "POST"))
			*ret = post_lease(c, srv, rq);
		else
			*ret = rest_error(c, MHD_HTTP_METHOD_NOT_ALLOWED,
					  "%s is not allowed on %s", method, path);
		return true;
	}
	if (!strncmp(path, "/leases/", 8)) {
		*ret = lease_path(c, srv, method, path + 8, rq);
		return true;
	}
	if (is(path, "/history")) {
		*ret = is(method, "GET") ? get_history(c, srv) :
		       rest_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "%s is not allowed on %s",
				  method, path);
		return true;
	}
	return false;
}
