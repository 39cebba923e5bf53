// SPDX-License-Identifier: GPL-2.0
/*
 * The REST API under /api/backend/v1, with osmo-remsim's paths, methods,
 * JSON shapes and success codes, so its apitool and scripts work as they
 * are. Errors carry a JSON body {"error": "..."}; where osmo-remsim answers
 * an unknown id with an empty body, we answer 404 (Documentation/server.rst
 * lists every difference).
 *
 * libmicrohttpd runs without threads of its own: its epoll descriptor sits
 * in our event loop, so REST and RSPRO never touch the state concurrently.
 *
 * Slow clients: libmicrohttpd's own timeout starts again with every byte,
 * so a client trickling a header line now and then would hold its
 * connection for ever. Each connection therefore has a deadline for its
 * whole request (from its start, or from its last answer), kept here and
 * enforced from our timer; connections per address and in all are capped.
 */
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <netdb.h>
#include <unistd.h>

#include "remsim/log.h"
#include "remsim/net.h"
#include "rest.h"
#include "server_api.h"

#define PREFIX	"/api/backend/v1"

/* One line per minute at most for each kind of exhausted limit. */
#define LIMIT_LOG_NS	(60 * 1000000000ull)

struct limit_log {
	uint64_t last_ns;
	unsigned long more;	/* since the last line */
};

/* A connection while it is open, on the deadline list until it is cut. */
struct rconn {
	struct rconn *prev, *next;
	struct MHD_Connection *c;
	uint64_t start_ns;
	bool cut;
};

struct rest {
	struct server *srv;
	struct rest_cfg *cfg;		/* the server's: SIGHUP changes some */
	struct ev_loop *loop;
	struct MHD_Daemon *mhd;
	int lfd;			/* the listening socket: ours, see rest_start() */
	struct net_listener listener;
	struct ev_io io;
	struct ev_timer timer;
	uint16_t port;
	/* open connections, oldest deadline first */
	struct rconn *head, *tail;
	struct ev_timer deadline;
	unsigned int conns;
	struct limit_log log_cut, log_refused, log_full;
	/* for SIGUSR1: requests answered, connections refused at a limit */
	unsigned long requests, conns_refused;
};

/*
 * Requests answered with an error (4xx, 5xx), for SIGUSR1. A file's own
 * counter, not struct rest's: error() is reached from every handler with
 * only the connection, and a process runs one REST server.
 */
static unsigned long rest_refusals;

/* One request while its body arrives. */
struct request {
	char *body;
	size_t len;
	bool too_big;
};

/* Seconds a client is told to wait when the database is locked. */
#define RETRY_AFTER	"1"

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int status,
			     json_t *body)
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
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
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

static enum MHD_Result error(struct MHD_Connection *c, unsigned int status,
			     const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static enum MHD_Result error(struct MHD_Connection *c, unsigned int status,
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

/*
 * A change the database did not take: 503 with Retry-After while another
 * process holds its lock (nothing changed, the same request will work),
 * 500 with SQLite's reason otherwise.
 */
static enum MHD_Result store_error(struct MHD_Connection *c, int ret,
				   const char *what, const char *why)
{
	if (ret == -EBUSY)
		return error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "%s, retry: %s", what, why);
	return error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "%s: %s", what,
		     ret == -EIO ? why : strerror(-ret));
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
		return error(c, MHD_HTTP_BAD_REQUEST, "\"%s\" is not an id 0..%d",
			     id_text, RSPRO_ID_MAX);
	/* the oldest connection first, as the lists show them: the last one */
	while ((p = server_peer_next_info(srv, kind, p, &info))) {
		if (info.id == id) {
			found = info;
			any = true;
		}
	}
	if (!any)
		return error(c, MHD_HTTP_NOT_FOUND, "no %s %lu is connected",
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
	char why[512];
	int ret;

	if (!ct)
		return error(c, MHD_HTTP_BAD_REQUEST,
			     "the body must be sent as Content-Type: application/json");
	if (!is_json_type(ct))
		return error(c, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
			     "Content-Type \"%s\" is not application/json", ct);
	if (parse_slotmap(rq, &bank, &client, why, sizeof(why)))
		return error(c, MHD_HTTP_BAD_REQUEST, "%s", why);
	ret = server_map_create(srv, bank, client, why, sizeof(why));
	if (ret == -EEXIST)
		return error(c, MHD_HTTP_BAD_REQUEST,
			     "bank slot %u:%u or client slot %u:%u is already mapped",
			     bank.bank_id, bank.slot_nr, client.client_id, client.slot_nr);
	if (ret)
		return store_error(c, ret, "the map was not stored", why);
	return reply(c, MHD_HTTP_CREATED, NULL);
}

static enum MHD_Result delete_slotmap(struct MHD_Connection *c, struct server *srv,
				      const char *id_text)
{
	struct rspro_bank_slot bank;
	unsigned long id;
	char why[512];
	int ret;

	if (parse_id(id_text, 0xffffffffUL, &id) || (id & 0xffff) > RSPRO_ID_MAX ||
	    (id >> 16) > RSPRO_ID_MAX)
		return error(c, MHD_HTTP_BAD_REQUEST,
			     "\"%s\" is not a slot map id (bankId * 65536 + slotNr)", id_text);
	bank.bank_id = id >> 16;
	bank.slot_nr = id & 0xffff;
	ret = server_map_delete(srv, bank, why, sizeof(why));
	if (ret == -ENOENT)
		return error(c, MHD_HTTP_NOT_FOUND, "no slot map on bank slot %u:%u",
			     bank.bank_id, bank.slot_nr);
	if (ret)
		return store_error(c, ret, "the deletion was not stored", why);
	return reply(c, MHD_HTTP_OK, NULL);
}

/*
 * PUT /log-level {"level": "debug"} sets every category, {"mask":
 * "DMAIN,1:DRSPRO,5"} some, as -e and -d do. Until the next SIGHUP or
 * restart: the config file and the command line are not rewritten.
 */
static enum MHD_Result put_log_level(struct MHD_Connection *c, const struct request *rq)
{
	const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_TYPE);
	const char *level_text, *mask;
	json_error_t jerr;
	json_t *root;
	int level = -1;

	if (!ct)
		return error(c, MHD_HTTP_BAD_REQUEST,
			     "the body must be sent as Content-Type: application/json");
	if (!is_json_type(ct))
		return error(c, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
			     "Content-Type \"%s\" is not application/json", ct);
	root = rq->len ? json_loadb(rq->body, rq->len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
	if (!json_is_object(root)) {
		json_decref(root);
		return error(c, MHD_HTTP_BAD_REQUEST,
			     "expected {\"level\": LEVEL} or {\"mask\": MASK}");
	}
	level_text = json_string_value(json_object_get(root, "level"));
	mask = json_string_value(json_object_get(root, "mask"));
	if (level_text)
		level = log_parse_level(level_text);
	if ((!level_text && !mask) || (level_text && level < 0)) {
		json_decref(root);
		return error(c, MHD_HTTP_BAD_REQUEST,
			     "\"level\" must be debug, info, notice, error or fatal; or give a \"mask\"");
	}
	if (mask && log_parse_mask(mask)) {
		json_decref(root);
		return error(c, MHD_HTTP_BAD_REQUEST,
			     "mask: a level must be 0..8 or a level name");
	}
	if (level_text)
		log_set_all(level);
	/* said at notice, so that the change shows at any level it leaves */
	LOGP(DREST, LOG_NOTICE, "rest", "log level set by REST:%s%s%s%s",
	     level_text ? " level " : "", level_text ?: "", mask ? " mask " : "", mask ?: "");
	json_decref(root);
	return reply(c, MHD_HTTP_OK, NULL);
}

static enum MHD_Result route(struct MHD_Connection *c, struct server *srv,
			     const char *method, const char *path,
			     const struct request *rq)
{
	bool get = !strcmp(method, "GET"), post = !strcmp(method, "POST");
	bool del = !strcmp(method, "DELETE"), put = !strcmp(method, "PUT");
	char why[512];

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
	if (!strcmp(path, "/slotmaps") && post)
		return post_slotmap(c, srv, rq);
	if (!strcmp(path, "/log-level") && put)
		return put_log_level(c, rq);
	if (!strncmp(path, "/slotmaps/", 10) && del)
		return delete_slotmap(c, srv, path + 10);
	if (!strcmp(path, "/global-reset") && post) {
		int ret = server_map_delete_all(srv, why, sizeof(why));

		if (ret)
			return store_error(c, ret, "the reset was not stored", why);
		LOGP(DREST, LOG_NOTICE, "rest", "global reset: every slot map deleted");
		return reply(c, MHD_HTTP_OK, NULL);
	}
	if (!strcmp(path, "/restart-counter") || !strcmp(path, "/banks") ||
	    !strcmp(path, "/clients") || !strcmp(path, "/slotmaps") ||
	    !strcmp(path, "/global-reset") || !strcmp(path, "/log-level") ||
	    !strncmp(path, "/banks/", 7) ||
	    !strncmp(path, "/clients/", 9) || !strncmp(path, "/slotmaps/", 10))
		return error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "%s is not allowed on %s",
			     method, path);
	return error(c, MHD_HTTP_NOT_FOUND, "no such resource: %s%s", PREFIX, path);
}

/* --- limits: deadline, connections per address and in all --- */

/* Whether a limit's line is due; counts the ones that are not. */
static bool limit_due(struct limit_log *l, unsigned long *more)
{
	uint64_t now = ev_now_ns();

	if (l->last_ns && now - l->last_ns < LIMIT_LOG_NS) {
		l->more++;
		return false;
	}
	*more = l->more;
	l->more = 0;
	l->last_ns = now;
	return true;
}

static void rconn_unlink(struct rest *rest, struct rconn *rc)
{
	if (rc->prev)
		rc->prev->next = rc->next;
	else
		rest->head = rc->next;
	if (rc->next)
		rc->next->prev = rc->prev;
	else
		rest->tail = rc->prev;
	rc->prev = rc->next = NULL;
}

/* (Re)starts @rc's deadline now: it goes to the end of the list. */
static void rconn_start(struct rest *rest, struct rconn *rc)
{
	rc->start_ns = ev_now_ns();
	rc->prev = rest->tail;
	rc->next = NULL;
	if (rest->tail)
		rest->tail->next = rc;
	else
		rest->head = rc;
	rest->tail = rc;
	if (!ev_timer_pending(&rest->deadline))
		ev_timer_start(rest->loop, &rest->deadline,
			       rest->cfg->deadline_ms);
}

static void rest_run(struct rest *rest);

/*
 * Closes every connection past its deadline. shutdown() rather than
 * close(): libmicrohttpd owns the descriptor, sees the end of the stream
 * and closes the connection itself, with its usual clean-up.
 */
static void deadline_timer(struct ev_timer *t)
{
	struct rest *rest = t->data;
	uint64_t limit = rest->cfg->deadline_ms * 1000000ull;
	uint64_t now = ev_now_ns();
	unsigned long more, n = 0;
	struct rconn *rc;

	while ((rc = rest->head) && now - rc->start_ns >= limit) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(rc->c, MHD_CONNECTION_INFO_CONNECTION_FD);

		rconn_unlink(rest, rc);
		rc->cut = true;
		if (ci)
			shutdown(ci->connect_fd, SHUT_RDWR);
		n++;
	}
	if (n && limit_due(&rest->log_cut, &more))
		LOGP(DREST, LOG_NOTICE, "rest",
		     "closed %lu connection(s) with no complete request within %u s (--rest-request-timeout); %lu more since the last report",
		     n, rest->cfg->deadline_ms / 1000, more);
	if (rest->head)
		ev_timer_start(rest->loop, &rest->deadline,
			       (rest->head->start_ns + limit - now) / 1000000 + 1);
	if (n)
		rest_run(rest);
}

static void conn_notify(void *cls, struct MHD_Connection *c, void **socket_context,
			enum MHD_ConnectionNotificationCode toe)
{
	struct rest *rest = cls;
	struct rconn *rc = *socket_context;
	unsigned long more;

	if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		rest->conns--;
		if (rc && !rc->cut)
			rconn_unlink(rest, rc);
		free(rc);
		*socket_context = NULL;
		return;
	}
	rest->conns++;
	if (rest->conns >= rest->cfg->conn_max &&
	    limit_due(&rest->log_full, &more))
		LOGP(DREST, LOG_NOTICE, "rest",
		     "%u connections, the limit (--rest-connections): new ones wait until one closes; %lu more times since the last report",
		     rest->conns, more);
	rc = calloc(1, sizeof(*rc));
	if (!rc) {
		/* no deadline without its record: not served at all */
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);

		if (ci)
			shutdown(ci->connect_fd, SHUT_RDWR);
		return;
	}
	rc->c = c;
	*socket_context = rc;
	rconn_start(rest, rc);
}

/*
 * libmicrohttpd's messages. A refused connection is only visible here: it
 * rejects connections over its limits before anything of ours runs.
 */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	static const char refused[] = "Server reached connection limit";
	struct rest *rest = cls;
	const struct rest_cfg *cfg = rest->cfg;
	unsigned long more;
	char msg[256];
	size_t len;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	len = strlen(msg);
	if (len && msg[len - 1] == '\n')
		msg[len - 1] = 0;
	if (strncmp(msg, refused, strlen(refused))) {
		LOGP(DREST, LOG_DEBUG, "rest", "libmicrohttpd: %s", msg);
		return;
	}
	rest->conns_refused++;
	if (!limit_due(&rest->log_refused, &more))
		return;
	if (rest->conns >= cfg->conn_max)
		LOGP(DREST, LOG_NOTICE, "rest",
		     "connection refused: %u connections, the limit (--rest-connections); %lu more since the last report",
		     rest->conns, more);
	else
		LOGP(DREST, LOG_NOTICE, "rest",
		     "connection refused: its address has %u connections, the limit (--rest-connections-per-address); %lu more since the last report",
		     cfg->conn_per_addr, more);
}

/* --- the request cycle --- */

static enum MHD_Result handler(void *cls, struct MHD_Connection *c,
			       const char *url, const char *method,
			       const char *version, const char *upload,
			       size_t *upload_size, void **con_cls)
{
	struct rest *rest = cls;
	struct request *rq = *con_cls;

	if (!rq) {
		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		*con_cls = rq;
		return MHD_YES;
	}
	if (*upload_size) {
		/* keep reading a body that is too big, answer 413 at its end */
		if (!rq->too_big && rq->len + *upload_size > rest->cfg->body_max) {
			rq->too_big = true;
			free(rq->body);
			rq->body = NULL;
			rq->len = 0;
		}
		if (!rq->too_big) {
			char *b = realloc(rq->body, rq->len + *upload_size);

			if (!b)
				return MHD_NO;
			memcpy(b + rq->len, upload, *upload_size);
			rq->body = b;
			rq->len += *upload_size;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	LOGP(DREST, LOG_DEBUG, "rest", "%s %s", method, url);
	rest->requests++;
	if (rq->too_big)
		return error(c, MHD_HTTP_CONTENT_TOO_LARGE, "the body is over %zu bytes",
			     rest->cfg->body_max);
	if (strncmp(url, PREFIX "/", strlen(PREFIX) + 1))
		return error(c, MHD_HTTP_NOT_FOUND, "no such resource: %s", url);
	return route(c, rest->srv, method, url + strlen(PREFIX), rq);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct rconn *rc = ci ? ci->socket_context : NULL;
	struct request *rq = *con_cls;
	struct rest *rest = cls;

	/* answered: the next request on this connection has its own deadline */
	if (rc && !rc->cut && toe == MHD_REQUEST_TERMINATED_COMPLETED_OK) {
		rconn_unlink(rest, rc);
		rconn_start(rest, rc);
	}

	if (rq) {
		free(rq->body);
		free(rq);
		*con_cls = NULL;
	}
}

/* Runs MHD and re-arms its timer: after every event of its epoll fd. */
static void rest_run(struct rest *rest)
{
	MHD_UNSIGNED_LONG_LONG ms;

	MHD_run(rest->mhd);
	if (MHD_get_timeout(rest->mhd, &ms) == MHD_YES)
		ev_timer_start(rest->loop, &rest->timer, ms);
	else
		ev_timer_stop(&rest->timer);
}

static void rest_io(struct ev_io *io, uint32_t revents)
{
	rest_run(io->data);
}

static void rest_timer(struct ev_timer *t)
{
	rest_run(t->data);
}

/*
 * A connection our listener accepted goes to libmicrohttpd, which applies
 * its connection and per-address limits (and closes what it refuses).
 */
static void rest_accepted(struct net_listener *l, int fd)
{
	struct rest *rest = l->data;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getpeername(fd, (struct sockaddr *)&ss, &sl)) {
		close(fd);
		return;
	}
	MHD_add_connection(rest->mhd, fd, (struct sockaddr *)&ss, sl);
	rest_run(rest);
}

int rest_start(struct rest **restp, struct server *srv, char *err, size_t errlen)
{
	const union MHD_DaemonInfo *info;
	struct rest *rest;
	int ret;

	rest = calloc(1, sizeof(*rest));
	*restp = rest;
	if (!rest) {
		snprintf(err, errlen, "REST: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	rest->srv = srv;
	rest->cfg = server_rest_cfg(srv);
	rest->loop = server_loop(srv);
	rest->lfd = -1;
	ev_timer_init(&rest->deadline, deadline_timer, rest);
	/*
	 * We accept, not libmicrohttpd: at the descriptor limit its own
	 * accept stops listening until one of its connections closes, which
	 * with none open is never (REST stayed dead after a flood). Ours
	 * pauses 250 ms and logs once a second, as the RSPRO port does.
	 */
	rest->lfd = net_listen(rest->cfg->bind, rest->cfg->port, 1024);
	if (rest->lfd < 0) {
		snprintf(err, errlen, "REST on %s port %u: cannot listen: %s",
			 rest->cfg->bind, rest->cfg->port, strerror(-rest->lfd));
		return rest->lfd;
	}
	rest->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
				     MHD_USE_NO_LISTEN_SOCKET,
				     0, NULL, NULL, handler, rest,
				     MHD_OPTION_EXTERNAL_LOGGER, mhd_log, rest,
				     MHD_OPTION_NOTIFY_COMPLETED, completed, rest,
				     MHD_OPTION_NOTIFY_CONNECTION, conn_notify, rest,
				     /* idle keep-alive connections */
				     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
				     MHD_OPTION_CONNECTION_LIMIT, rest->cfg->conn_max,
				     MHD_OPTION_PER_IP_CONNECTION_LIMIT,
				     rest->cfg->conn_per_addr,
				     MHD_OPTION_END);
	if (!rest->mhd) {
		snprintf(err, errlen, "REST: libmicrohttpd did not start");
		return -EIO;
	}
	ret = net_local_port(rest->lfd);
	rest->port = ret > 0 ? ret : rest->cfg->port;
	info = MHD_get_daemon_info(rest->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	ev_timer_init(&rest->timer, rest_timer, rest);
	if (!info || ev_io_start(rest->loop, &rest->io, info->epoll_fd, EPOLLIN,
				 rest_io, rest)) {
		snprintf(err, errlen, "REST: no epoll descriptor from libmicrohttpd");
		return -EIO;
	}
	ret = net_listener_start(&rest->listener, rest->loop, rest->lfd, 16, rest_accepted,
				   rest);
	if (ret) {
		snprintf(err, errlen, "REST: cannot watch the listening socket: %s",
			 strerror(-ret));
		return ret;
	}
	rest->cfg->port = rest->port;
	return 0;
}

void rest_stop(struct rest *rest)
{
	if (!rest)
		return;
	net_listener_stop(&rest->listener);
	if (rest->lfd >= 0)
		close(rest->lfd);
	ev_io_stop(&rest->io);
	ev_timer_stop(&rest->timer);
	/* closes the connections: their records go through conn_notify() */
	if (rest->mhd)
		MHD_stop_daemon(rest->mhd);
	ev_timer_stop(&rest->deadline);
	free(rest);
}

void rest_log_stats(struct rest *rest)
{
	if (!rest)
		return;
	LOGP(DMAIN, LOG_NOTICE, "rest",
	     "statistics: %lu requests, %lu refused (4xx/5xx), %u connections open, %lu connections refused at a limit",
	     rest->requests, rest_refusals, rest->conns, rest->conns_refused);
}
