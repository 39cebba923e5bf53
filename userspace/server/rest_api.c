// SPDX-License-Identifier: GPL-2.0
/*
 * The REST API under /api/backend/v1, with osmo-remsim's paths, methods,
 * JSON shapes and success codes, so its apitool and scripts work as they
 * are. Errors carry a JSON body {"error": "..."}; where osmo-remsim answers
 * an unknown id with an empty body, we answer 404 (Documentation/server.rst
 * lists every difference). The HTTP side is rest.c's; the server's maps
 * and peers come through server_api.h. Every change is an audit line
 * (server_audit()) with its caller; GET /audit reads them back.
 */
#define _GNU_SOURCE		/* strptime() */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "remsim/log.h"
#include "rest_int.h"
#include "server_api.h"

/*
 * Requests answered with an error (4xx, 5xx), for SIGUSR1. A file's own
 * counter, not struct rest's: rest_error() is reached from every handler
 * with only the connection, and a process runs one REST server.
 */
unsigned long rest_refusals;

/* Seconds a client is told to wait when the database is locked. */
#define RETRY_AFTER	"1"
/* Audit lines in one GET /audit answer: by default, at most. */
#define AUDIT_LIMIT_DEFAULT	100
#define AUDIT_LIMIT_MAX		1000

/* Answers @status with @body (NULL: none) and a header @name (NULL: none). */
static enum MHD_Result reply_header(struct MHD_Connection *c, unsigned int status,
				    json_t *body, const char *name, const char *value)
{
	char *text = body ? json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	struct MHD_Response *r;
	enum MHD_Result ret;

	json_decref(body);
	r = MHD_create_response_from_buffer(text ? strlen(text) : 0, text ?: "",
					    text ? MHD_RESPMEM_MUST_FREE :
					    MHD_RESPMEM_PERSISTENT);
	if (!r) {
		free(text);
		return MHD_NO;
	}
	if (text)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
					"application/json");
	if (status == MHD_HTTP_SERVICE_UNAVAILABLE)
		MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, RETRY_AFTER);
	if (name)
		MHD_add_response_header(r, name, value);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int status,
			     json_t *body)
{
	return reply_header(c, status, body, NULL, NULL);
}

/* The length of the valid UTF-8 sequence at @s, or 0. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (*s < 0x80)
		return 1;
	if (*s >= 0xc2 && *s <= 0xdf)
		n = 2;
	else if (*s >= 0xe0 && *s <= 0xef)
		n = 3;
	else if (*s >= 0xf0 && *s <= 0xf4)
		n = 4;
	else
		return 0;
	/* no overlong forms, no surrogates, nothing above U+10FFFF */
	if (*s == 0xe0)
		lo = 0xa0;
	else if (*s == 0xed)
		hi = 0x9f;
	else if (*s == 0xf0)
		lo = 0x90;
	else if (*s == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

/*
 * jansson takes only UTF-8, and a request's path or header can be any
 * bytes: the others are written as \xNN, so the error body still appears
 * and shows what was sent.
 */
static void utf8_clean(const char *in, char *out, size_t size)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t o = 0, n;

	while (*s && o + 5 < size) {
		n = utf8_len(s);
		if (n) {
			if (o + n >= size)
				break;
			memcpy(out + o, s, n);
			o += n;
			s += n;
		} else {
			o += snprintf(out + o, size - o, "\\x%02x", *s++);
		}
	}
	out[o] = 0;
}

enum MHD_Result rest_error(struct MHD_Connection *c, unsigned int status,
			   const char *fmt, ...)
{
	char raw[768], msg[sizeof(raw) * 4];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	utf8_clean(raw, msg, sizeof(msg));
	rest_refusals++;
	LOGP(DREST, LOG_NOTICE, "rest", "%u: %s", status, msg);
	return reply(c, status, json_pack("{s:s}", "error", msg));
}

enum MHD_Result rest_deny(struct MHD_Connection *c, unsigned int status,
			  const char *challenge, const char *why)
{
	char msg[1024];

	utf8_clean(why, msg, sizeof(msg));
	rest_refusals++;
	return reply_header(c, status, json_pack("{s:s}", "error", msg),
			    MHD_HTTP_HEADER_WWW_AUTHENTICATE, challenge);
}

/*
 * A change the database did not take: 503 with Retry-After while another
 * process holds its lock (nothing changed, the same request will work),
 * 500 with SQLite's reason otherwise.
 */
static enum MHD_Result store_error(struct MHD_Connection *c, int ret,
				   const char *what, const char *why)
{
	if (ret == -EBUSY || ret == -EAGAIN)
		return rest_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "%s, retry: %s", what, why);
	return rest_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "%s: %s", what,
		     ret == -EIO ? why : strerror(-ret));
}

enum MHD_Result rest_reply(struct MHD_Connection *c, unsigned int status, json_t *body)
{
	return reply(c, status, body);
}

enum MHD_Result rest_store_error(struct MHD_Connection *c, int ret, const char *what,
				 const char *why)
{
	return store_error(c, ret, what, why);
}

/* --- JSON shapes --- */

static json_t *identity_json(const struct rspro_identity *id)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "type_",
			      rspro_component_name(id->type), "name", id->name,
			      "software", id->software, "swVersion", id->sw_version);
	const char *opt[5] = { id->hw_manufacturer, id->hw_model, id->hw_serial,
			       id->hw_version, id->fw_version };
	static const char *const keys[5] = { "hwManufacturer", "hwModel",
					     "hwSerialNr", "hwVersion", "fwVersion" };
	int i;

	for (i = 0; o && i < 5; i++)
		if (opt[i][0])
			json_object_set_new(o, keys[i], json_string(opt[i]));
	return o;
}

static json_t *peer_json(enum server_peer_kind kind, const struct server_peer_info *p)
{
	json_t *o = json_pack("{s:s,s:s,s:o}", "peer", p->name, "state", p->state,
			      "component_id", identity_json(p->identity));

	if (o && kind == SERVER_PEER_BANKD) {
		json_object_set_new(o, "bankId", json_integer(p->id));
		json_object_set_new(o, "numberOfSlots", json_integer(p->num_slots));
	}
	return o;
}

static json_t *map_json(const struct server_map_info *m)
{
	return json_pack("{s:{s:i,s:i},s:{s:i,s:i},s:s}",
			 "bank", "bankId", m->bank.bank_id, "slotNr", m->bank.slot_nr,
			 "client", "clientId", m->client.client_id, "slotNr",
			 m->client.slot_nr, "state", m->state);
}

/* Unix time in µs as UTC with its offset, as the audit trail has it. */
static void utc_text(int64_t us, char *buf, size_t size)
{
	time_t t = us / 1000000;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%S+00:00", &tm);
}

/* One bank slot of GET /cards; absent strings are null. */
static json_t *card_json(struct server *srv, const struct server_card_info *ci)
{
	const struct rspro_card_info *c = ci->card;
	json_t *o, *map = json_null();
	char since[40];

	utc_text(ci->since_us, since, sizeof(since));
	if (ci->mapped)
		map = json_pack("{s:i,s:i,s:s,s:s?,s:s?}", "clientId", ci->client.client_id,
				"slotNr", ci->client.slot_nr, "state", ci->map_state,
				"clientName", ci->client_identity ? ci->client_identity->name :
				NULL, "modemPath", ci->modem_path);
	o = json_pack("{s:{s:i,s:i},s:s?,s:s?,s:s?,s:s,s:s,s:I,s:o,s:o,s:o}",
		      "bank", "bankId", ci->bank.bank_id, "slotNr", ci->bank.slot_nr,
		      "reader", c->reader[0] ? c->reader : NULL,
		      "iccid", c->iccid[0] ? c->iccid : NULL,
		      "imsi", c->imsi[0] ? c->imsi : NULL,
		      "state", ci->state, "since", since,
		      "apdus", (json_int_t)c->apdus,
		      /* the bankd's card time (SCardTransmit); null: none yet */
		      "cardTimeP50Us", c->has_card_time ?
				       json_integer(c->card_time_p50_us) : json_null(),
		      "cardTimeP99Us", c->has_card_time ?
				       json_integer(c->card_time_p99_us) : json_null(),
		      "map", map ?: json_null());
	if (o)
		json_object_set_new(o, "tags", rest_card_tags(srv, c->iccid[0] ? c->iccid :
							      NULL, c->imsi));
	return o;
}

/* "B1:5<->C23:0" for audit lines, with the state if @state. */
static void map_text(const struct server_map_info *m, bool state, char *buf, size_t size)
{
	snprintf(buf, size, "B%u:%u<->C%u:%u%s%s", m->bank.bank_id, m->bank.slot_nr,
		 m->client.client_id, m->client.slot_nr, state ? " " : "",
		 state ? m->state : "");
}

/* The live map on bank slot @bank, or false. */
static bool find_map(struct server *srv, struct rspro_bank_slot bank,
		     struct server_map_info *info)
{
	const struct slotmap *m = NULL;

	while ((m = server_map_next_info(srv, m, info)))
		if (info->bank.bank_id == bank.bank_id && info->bank.slot_nr == bank.slot_nr)
			return true;
	return false;
}

static json_t *peers_json(struct server *srv, enum server_peer_kind kind)
{
	json_t *a = json_array();
	struct server_peer_info info;
	const struct peer *p = NULL;

	/* connection order: the list holds the newest first */
	while (a && (p = server_peer_next_info(srv, kind, p, &info)))
		json_array_insert_new(a, 0, peer_json(kind, &info));
	return a;
}

/* --- parsing --- */

/* A decimal path id: 0..max, nothing else. */
static int parse_id(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	if (!*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	*out = strtoul(s, &end, 10);
	if (errno || *end || *out > max)
		return -EINVAL;
	return 0;
}

static int get_id(json_t *obj, const char *outer, const char *key,
		  uint16_t *out, char *why, size_t whylen)
{
	json_t *v = json_object_get(obj, key);
	json_int_t n;

	if (!v) {
		snprintf(why, whylen, "\"%s\" has no \"%s\"", outer, key);
		return -EINVAL;
	}
	if (!json_is_integer(v)) {
		snprintf(why, whylen, "\"%s.%s\" is not an integer", outer, key);
		return -EINVAL;
	}
	n = json_integer_value(v);
	if (n < 0 || n > RSPRO_ID_MAX) {
		snprintf(why, whylen, "\"%s.%s\" is %lld, not 0..%d", outer, key,
			 (long long)n, RSPRO_ID_MAX);
		return -EINVAL;
	}
	*out = n;
	return 0;
}

static int parse_slotmap(const struct request *rq, struct rspro_bank_slot *bank,
			 struct rspro_client_slot *client, char *why, size_t whylen)
{
	json_error_t jerr;
	json_t *root, *b, *c;
	int ret = -EINVAL;

	if (!rq->len) {
		snprintf(why, whylen, "no JSON body");
		return -EINVAL;
	}
	root = json_loadb(rq->body, rq->len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		snprintf(why, whylen, "bad JSON at line %d column %d: %s",
			 jerr.line, jerr.column, jerr.text);
		return -EINVAL;
	}
	b = json_object_get(root, "bank");
	c = json_object_get(root, "client");
	if (!json_is_object(root))
		snprintf(why, whylen, "the body is not a JSON object");
	else if (!json_is_object(b))
		snprintf(why, whylen, "\"bank\" is missing or not an object");
	else if (!json_is_object(c))
		snprintf(why, whylen, "\"client\" is missing or not an object");
	else if (!get_id(b, "bank", "bankId", &bank->bank_id, why, whylen) &&
		 !get_id(b, "bank", "slotNr", &bank->slot_nr, why, whylen) &&
		 !get_id(c, "client", "clientId", &client->client_id, why, whylen) &&
		 !get_id(c, "client", "slotNr", &client->slot_nr, why, whylen))
		ret = 0;
	json_decref(root);
	return ret;
}

/*
 * Whether a Content-Type's media type is application/json; parameters
 * (charset) may follow, but "text/plain; x=application/json" is not JSON.
 */
static bool is_json_type(const char *ct)
{
	static const char json[] = "application/json";
	size_t n;

	ct += strspn(ct, " \t");
	n = strcspn(ct, "; \t");
	if (n != strlen(json) || strncasecmp(ct, json, n))
		return false;
	ct += n;
	ct += strspn(ct, " \t");
	return !*ct || *ct == ';';
}

int rest_parse_id(const char *s, unsigned long max, unsigned long *out)
{
	return parse_id(s, max, out);
}

json_t *rest_json_body(struct MHD_Connection *c, const struct request *rq,
		       enum MHD_Result *ret)
{
	const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_TYPE);
	json_error_t jerr;
	json_t *root;

	if (!ct) {
		*ret = rest_error(c, MHD_HTTP_BAD_REQUEST,
				  "the body must be sent as Content-Type: application/json");
		return NULL;
	}
	if (!is_json_type(ct)) {
		*ret = rest_error(c, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
				  "Content-Type \"%s\" is not application/json", ct);
		return NULL;
	}
	root = rq->len ? json_loadb(rq->body, rq->len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
	if (!rq->len) {
		*ret = rest_error(c, MHD_HTTP_BAD_REQUEST, "no JSON body");
	} else if (!root) {
		*ret = rest_error(c, MHD_HTTP_BAD_REQUEST, "bad JSON at line %d column %d: %s",
				  jerr.line, jerr.column, jerr.text);
	} else if (!json_is_object(root)) {
		*ret = rest_error(c, MHD_HTTP_BAD_REQUEST, "the body is not a JSON object");
		json_decref(root);
		root = NULL;
	}
	return root;
}

void rest_owner(const struct request *rq, char *out, size_t len)
{
	const char *tok = strstr(rq->caller, " token=");
	const char *colon = strrchr(rq->caller, ':');

	if (tok)
		snprintf(out, len, "%s", tok + 7);
	else if (colon)
		snprintf(out, len, "%.*s", (int)(colon - rq->caller), rq->caller);
	else
		snprintf(out, len, "%s", rq->caller);
}

bool rest_force(struct MHD_Connection *c)
{
	const char *f = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "force");

	return f && !strcmp(f, "1");
}

/*
 * A map change of a leased card or modem slot by another owner: 409 with
 * who holds it, or, with ?force=1, the lease broken and the change audited
 * as forced. True when it answered (@ret).
 */
static bool leased(struct MHD_Connection *c, struct server *srv, const struct request *rq,
		   const struct rspro_bank_slot *bank, const struct rspro_client_slot *client,
		   enum MHD_Result *ret)
{
	char owner[160], why[512];
	uint64_t id;

	rest_owner(rq, owner, sizeof(owner));
	if (!server_lease_guard(srv, bank, client, owner, &id, why, sizeof(why)))
		return false;
	if (!rest_force(c)) {
		*ret = rest_error(c, MHD_HTTP_CONFLICT, "%s", why);
		return true;
	}
	server_audit(srv, rq->caller, "lease forced", why, NULL);
	server_lease_break(srv, id, rq->caller);
	/* the map's client slot and bank slot may be two leases */
	return leased(c, srv, rq, bank, client, ret);
}

/* --- handlers --- */

static enum MHD_Result get_one_peer(struct MHD_Connection *c, struct server *srv,
				    const char *what, const char *id_text)
{
	bool bank = !strcmp(what, "banks");
	enum server_peer_kind kind = bank ? SERVER_PEER_BANKD : SERVER_PEER_CLIENT;
	struct server_peer_info info, found;
	const struct peer *p = NULL;
	bool any = false;
	unsigned long id;

	if (parse_id(id_text, RSPRO_ID_MAX, &id))
		return rest_error(c, MHD_HTTP_BAD_REQUEST, "\"%s\" is not an id 0..%d",
			     id_text, RSPRO_ID_MAX);
	/* the oldest connection first, as the lists show them: the last one */
	while ((p = server_peer_next_info(srv, kind, p, &info))) {
		if (info.id == id) {
			found = info;
			any = true;
		}
	}
	if (!any)
		return rest_error(c, MHD_HTTP_NOT_FOUND, "no %s %lu is connected",
			     bank ? "bank" : "client", id);
	return reply(c, MHD_HTTP_OK, peer_json(kind, &found));
}

static enum MHD_Result post_slotmap(struct MHD_Connection *c, struct server *srv,
				    const struct request *rq)
{
	const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_TYPE);
	struct rspro_bank_slot bank;
	struct rspro_client_slot client;
	enum MHD_Result mret;
	char why[512];
	int ret;

	if (!ct)
		return rest_error(c, MHD_HTTP_BAD_REQUEST,
			     "the body must be sent as Content-Type: application/json");
	if (!is_json_type(ct))
		return rest_error(c, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
			     "Content-Type \"%s\" is not application/json", ct);
	if (parse_slotmap(rq, &bank, &client, why, sizeof(why)))
		return rest_error(c, MHD_HTTP_BAD_REQUEST, "%s", why);
	if (leased(c, srv, rq, &bank, &client, &mret))
		return mret;
	ret = server_map_create(srv, bank, client, rq->caller, why, sizeof(why));
	if (ret == -EEXIST)
		return rest_error(c, MHD_HTTP_BAD_REQUEST,
			     "bank slot %u:%u or client slot %u:%u is already mapped",
			     bank.bank_id, bank.slot_nr, client.client_id, client.slot_nr);
	if (ret)
		return store_error(c, ret, "the map was not stored", why);
	snprintf(why, sizeof(why), "B%u:%u<->C%u:%u", bank.bank_id, bank.slot_nr,
		 client.client_id, client.slot_nr);
	server_audit(srv, rq->caller, "slotmap create", NULL, why);
	return reply(c, MHD_HTTP_CREATED, NULL);
}

static enum MHD_Result delete_slotmap(struct MHD_Connection *c, struct server *srv,
				      const char *id_text, const struct request *rq)
{
	struct server_map_info info;
	struct rspro_bank_slot bank;
	char why[512], before[64];
	enum MHD_Result mret;
	unsigned long id;
	int ret;

	if (parse_id(id_text, 0xffffffffUL, &id) || (id & 0xffff) > RSPRO_ID_MAX ||
	    (id >> 16) > RSPRO_ID_MAX)
		return rest_error(c, MHD_HTTP_BAD_REQUEST,
			     "\"%s\" is not a slot map id (bankId * 65536 + slotNr)", id_text);
	bank.bank_id = id >> 16;
	bank.slot_nr = id & 0xffff;
	if (!find_map(srv, bank, &info))
		return rest_error(c, MHD_HTTP_NOT_FOUND, "no slot map on bank slot %u:%u",
			     bank.bank_id, bank.slot_nr);
	if (leased(c, srv, rq, &info.bank, &info.client, &mret))
		return mret;
	map_text(&info, true, before, sizeof(before));
	ret = server_map_delete(srv, bank, rq->caller, why, sizeof(why));
	if (ret)
		return store_error(c, ret, "the deletion was not stored", why);
	server_audit(srv, rq->caller, "slotmap delete", before, NULL);
	return reply(c, MHD_HTTP_OK, NULL);
}

/*
 * Deletes every map, each with its own audit line, then one line for the
 * reset; a store error stops it, and what was deleted until then stays so.
 */
static enum MHD_Result global_reset(struct MHD_Connection *c, struct server *srv,
				    const struct request *rq)
{
	struct server_map_info info;
	char why[512], before[64];
	const struct slotmap *m = NULL;
	enum MHD_Result mret;
	unsigned long n = 0;
	int ret = 0;

	/* every map goes: every lease of another owner is in the way */
	while ((m = server_map_next_info(srv, m, &info)))
		if (leased(c, srv, rq, &info.bank, &info.client, &mret))
			return mret;
	while (server_map_next_info(srv, NULL, &info)) {
		map_text(&info, true, before, sizeof(before));
		ret = server_map_delete(srv, info.bank, rq->caller, why, sizeof(why));
		if (ret)
			break;
		server_audit(srv, rq->caller, "global-reset: slotmap delete", before, NULL);
		n++;
	}
	snprintf(before, sizeof(before), "%lu slot maps deleted%s", n,
		 ret ? ", then a store error" : "");
	server_audit(srv, rq->caller, "global-reset", NULL, before);
	if (ret)
		return store_error(c, ret, "the reset was not stored", why);
	LOGP(DREST, LOG_NOTICE, "rest", "global reset by %s: every slot map deleted", rq->caller);
	return reply(c, MHD_HTTP_OK, NULL);
}

/*
 * PUT /log-level {"level": "debug"} sets every category, {"mask":
 * "DMAIN,1:DRSPRO,5"} some, as -e and -d do. Until the next SIGHUP or
 * restart: the config file and the command line are not rewritten.
 */
static enum MHD_Result put_log_level(struct MHD_Connection *c, struct server *srv,
				     const struct request *rq)
{
	char before[256], after[256];
	const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_TYPE);
	const char *level_text, *mask;
	json_error_t jerr;
	json_t *root;
	int level = -1;

	if (!ct)
		return rest_error(c, MHD_HTTP_BAD_REQUEST,
			     "the body must be sent as Content-Type: application/json");
	if (!is_json_type(ct))
		return rest_error(c, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
			     "Content-Type \"%s\" is not application/json", ct);
	root = rq->len ? json_loadb(rq->body, rq->len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
	if (!json_is_object(root)) {
		json_decref(root);
		return rest_error(c, MHD_HTTP_BAD_REQUEST,
			     "expected {\"level\": LEVEL} or {\"mask\": MASK}");
	}
	level_text = json_string_value(json_object_get(root, "level"));
	mask = json_string_value(json_object_get(root, "mask"));
	if (level_text)
		level = log_parse_level(level_text);
	if ((!level_text && !mask) || (level_text && level < 0)) {
		json_decref(root);
		return rest_error(c, MHD_HTTP_BAD_REQUEST,
			     "\"level\" must be debug, info, notice, error or fatal; or give a \"mask\"");
	}
	if (mask && log_parse_mask(mask)) {
		json_decref(root);
		return rest_error(c, MHD_HTTP_BAD_REQUEST,
			     "mask: a level must be 0..8 or a level name");
	}
	log_format_mask(before, sizeof(before));
	if (level_text)
		log_set_all(level);
	/* said at notice, so that the change shows at any level it leaves */
	LOGP(DREST, LOG_NOTICE, "rest", "log level set by REST from %s:%s%s%s%s", rq->caller,
	     level_text ? " level " : "", level_text ?: "", mask ? " mask " : "", mask ?: "");
	log_format_mask(after, sizeof(after));
	server_audit(srv, rq->caller, "log-level", before, after);
	json_decref(root);
	return reply(c, MHD_HTTP_OK, NULL);
}

/*
 * "2026-01-02T03:04:05[.frac](Z|+hh:mm|-hh:mm)" or Unix seconds, into µs.
 * A "+" sent unescaped in a query reads as a space: taken as "+".
 */
int rest_parse_time(const char *s, int64_t *us)
{
	int oh, om, n = 0, digits = 0, sign;
	struct tm tm = { 0 };
	unsigned long secs;
	long frac = 0;
	const char *p;
	time_t t;

	if (!parse_id(s, 100000000000UL, &secs)) {
		*us = (int64_t)secs * 1000000;
		return 0;
	}
	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return -EINVAL;
	if (*p == '.') {
		for (p++; isdigit((unsigned char)*p); p++)
			if (digits < 6) {
				frac = frac * 10 + (*p - '0');
				digits++;
			}
		if (!digits)
			return -EINVAL;
		for (; digits < 6; digits++)
			frac *= 10;
	}
	if (*p == 'Z' && !p[1]) {
		oh = om = 0;
		sign = 1;
	} else if ((*p == '+' || *p == ' ' || *p == '-') &&
		   sscanf(p + 1, "%2d:%2d%n", &oh, &om, &n) == 2 && !p[1 + n] &&
		   n == 5 && oh < 24 && om < 60) {
		sign = *p == '-' ? -1 : 1;
	} else {
		return -EINVAL;
	}
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	*us = ((int64_t)t - sign * (oh * 3600 + om * 60)) * 1000000 + frac;
	return 0;
}

static json_t *null_or_string(const char *s)
{
	return s ? json_string(s) : json_null();
}

static void audit_row(const struct server_audit_line *l, void *arg)
{
	json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:o,s:o}", "id", (json_int_t)l->id,
			      "time", l->time, "caller", l->caller, "action", l->action,
			      "before", null_or_string(l->before),
			      "after", null_or_string(l->after));

	json_array_append_new(arg, o);
}

/*
 * GET /audit?since=TIME&after=ID&limit=N: the stored audit lines, oldest
 * first; "after" pages on from the last id seen.
 */
static enum MHD_Result get_audit(struct MHD_Connection *c, struct server *srv)
{
	const char *since = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "since");
	const char *after = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "after");
	const char *limit = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
	unsigned long n = AUDIT_LIMIT_DEFAULT, id = 0;
	int64_t since_us = 0;
	char why[512];
	json_t *a;
	int ret;

	if (since && rest_parse_time(since, &since_us))
		return rest_error(c, MHD_HTTP_BAD_REQUEST,
			     "since \"%s\" is not a time like 2026-01-02T03:04:05Z or +01:00, or Unix seconds",
			     since);
	if (after && parse_id(after, 0x7fffffffffffffffUL, &id))
		return rest_error(c, MHD_HTTP_BAD_REQUEST, "after \"%s\" is not an audit id",
			     after);
	if (limit && (parse_id(limit, AUDIT_LIMIT_MAX, &n) || !n))
		return rest_error(c, MHD_HTTP_BAD_REQUEST, "limit \"%s\" is not 1..%d", limit,
			     AUDIT_LIMIT_MAX);
	a = json_array();
	if (!a)
		return MHD_NO;
	ret = server_audit_query(srv, since_us, id, n, audit_row, a, why, sizeof(why));
	if (ret) {
		json_decref(a);
		return store_error(c, ret, "the audit trail was not read", why);
	}
	return reply(c, MHD_HTTP_OK, json_pack("{s:o}", "audit", a));
}

/*
 * A standby changes no map: 503 naming the active server, which a caller
 * (or a proxy in front of both) sends the request to instead.
 */
static enum MHD_Result standby_refusal(struct MHD_Connection *c, const char *active)
{
	char msg[512];

	snprintf(msg, sizeof(msg),
		 "this remsim-server is a standby: send changes to the active one%s%s",
		 active[0] ? " at " : " (not known yet)", active);
	rest_refusals++;
	LOGP(DREST, LOG_NOTICE, "rest", "503: %s", msg);
	return reply(c, MHD_HTTP_SERVICE_UNAVAILABLE,
		     json_pack("{s:s,s:s}", "error", msg, "active", active));
}

/* GET /ha: this server's role and the active one's address. */
static enum MHD_Result get_ha(struct MHD_Connection *c, struct server *srv)
{
	char active[300] = "";
	bool standby = server_standby(srv, active, sizeof(active));

	return reply(c, MHD_HTTP_OK, json_pack("{s:s,s:s}", "role",
			     standby ? "standby" : "active", "active", active));
}

enum MHD_Result rest_route(struct MHD_Connection *c, struct server *srv,
			   const char *method, const char *path,
			   const struct request *rq)
{
	bool get = !strcmp(method, "GET"), post = !strcmp(method, "POST");
	bool del = !strcmp(method, "DELETE"), put = !strcmp(method, "PUT");
	enum MHD_Result ret;
	char active[300];

	/* the log level is this process's own: a standby takes it too */
	if ((post || del) && server_standby(srv, active, sizeof(active)) &&
	    (!strcmp(path, "/slotmaps") || !strncmp(path, "/slotmaps/", 10) ||
	     !strcmp(path, "/global-reset") || !strncmp(path, "/leases", 7) ||
	     !strncmp(path, "/pools/", 7)))
		return standby_refusal(c, active);
	if (put && server_standby(srv, active, sizeof(active)) &&
	    (!strncmp(path, "/cards/", 7) || !strncmp(path, "/pools/", 7)))
		return standby_refusal(c, active);
	if (rest_racks_route(c, srv, method, path, rq, &ret))
		return ret;
	if (!strcmp(path, "/ha") && get)
		return get_ha(c, srv);
	if (!strcmp(path, "/restart-counter") && get)
		return reply(c, MHD_HTTP_OK, json_pack("{s:I}", "restart_counter",
			     (json_int_t)server_restart_counter(srv)));
	if (!strcmp(path, "/banks") && get)
		return reply(c, MHD_HTTP_OK, json_pack("{s:o}", "banks",
			     peers_json(srv, SERVER_PEER_BANKD)));
	if (!strcmp(path, "/clients") && get)
		return reply(c, MHD_HTTP_OK, json_pack("{s:o}", "clients",
			     peers_json(srv, SERVER_PEER_CLIENT)));
	if (!strncmp(path, "/banks/", 7) && get)
		return get_one_peer(c, srv, "banks", path + 7);
	if (!strncmp(path, "/clients/", 9) && get)
		return get_one_peer(c, srv, "clients", path + 9);
	if (!strcmp(path, "/slotmaps") && get) {
		json_t *a = json_array();
		struct server_map_info info;
		const struct slotmap *m = NULL;

		while (a && (m = server_map_next_info(srv, m, &info)))
			json_array_append_new(a, map_json(&info));
		return reply(c, MHD_HTTP_OK, json_pack("{s:o}", "slotmaps", a));
	}
	if (!strcmp(path, "/cards") && get) {
		json_t *a = json_array();
		struct server_card_info info;
		const struct server_card *sc = NULL;

		while (a && (sc = server_card_next_info(srv, sc, &info)))
			json_array_append_new(a, card_json(srv, &info));
		return reply(c, MHD_HTTP_OK, json_pack("{s:o}", "cards", a));
	}
	if (!strcmp(path, "/slotmaps") && post)
		return post_slotmap(c, srv, rq);
	if (!strcmp(path, "/log-level") && put)
		return put_log_level(c, srv, rq);
	if (!strncmp(path, "/slotmaps/", 10) && del)
		return delete_slotmap(c, srv, path + 10, rq);
	if (!strcmp(path, "/global-reset") && post)
		return global_reset(c, srv, rq);
	if (!strcmp(path, "/audit") && get)
		return get_audit(c, srv);
	if (!strcmp(path, "/restart-counter") || !strcmp(path, "/banks") ||
	    !strcmp(path, "/audit") || !strcmp(path, "/cards") ||
	    !strcmp(path, "/clients") || !strcmp(path, "/slotmaps") ||
	    !strcmp(path, "/global-reset") || !strcmp(path, "/log-level") ||
	    !strcmp(path, "/ha") ||
	    !strncmp(path, "/banks/", 7) ||
	    !strncmp(path, "/clients/", 9) || !strncmp(path, "/slotmaps/", 10))
		return rest_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "%s is not allowed on %s",
			     method, path);
	return rest_error(c, MHD_HTTP_NOT_FOUND, "no such resource: %s%s", PREFIX, path);
}

