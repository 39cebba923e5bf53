// SPDX-License-Identifier: GPL-2.0
/*
 * The HTTP side of remsim-server's REST API (the paths are rest_api.c's).
 * libmicrohttpd runs without threads of its own: its epoll descriptor sits
 * in our event loop, so REST and RSPRO never touch the state concurrently.
 *
 * Slow clients: libmicrohttpd's own timeout starts again with every byte,
 * so a client trickling a header line now and then would hold its
 * connection for ever. Each connection therefore has a deadline for its
 * whole request (from its start, or from its last answer), kept here and
 * enforced from our timer; connections per address and in all are capped.
 *
 * HTTPS (--rest-tls) is libmicrohttpd's GnuTLS, on the connections we
 * accept and hand over: the limits above hold as they are, as the deadline
 * cuts the socket under the TLS session too. Bearer tokens (--rest-auth)
 * are checked here, as soon as a request's headers are in: a refused
 * request's body is never read.
 */
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netdb.h>
#include <unistd.h>

#include "remsim/log.h"
#include "remsim/net.h"
#include "dashboard.h"
#include "rest.h"
#include "rest_int.h"
#include "server_api.h"

/* One line per minute at most for each kind of exhausted limit. */
#define LIMIT_LOG_NS	(60 * 1000000000ull)
/* The largest PEM file taken for --rest-tls-cert and --rest-tls-key. */
#define PEM_MAX		(256 * 1024)
/* Longer is no token of ours (they are 71 characters): not even hashed. */
#define BEARER_MAX	256

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
	struct limit_log log_cut, log_refused, log_full, log_denied;
	/* for SIGUSR1: requests answered, connections refused at a limit */
	unsigned long requests, conns_refused, denied;
	/* --rest-tls: the PEM files, for libmicrohttpd's lifetime */
	char *tls_cert, *tls_key;
	size_t tls_key_len;
};

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

/* --- bearer tokens --- */

/* "ADDR:PORT" of the connection's peer, for audit lines. */
static void peer_address(struct MHD_Connection *c, char *buf, size_t size)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	char host[INET6_ADDRSTRLEN + 8], port[8];
	socklen_t len;

	snprintf(buf, size, "?");
	if (!ci || !ci->client_addr)
		return;
	len = ci->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
	      sizeof(struct sockaddr_in);
	if (!getnameinfo(ci->client_addr, len, host, sizeof(host), port, sizeof(port),
			 NI_NUMERICHOST | NI_NUMERICSERV))
		snprintf(buf, size, "%s%s%s:%s", strchr(host, ':') ? "[" : "", host,
			 strchr(host, ':') ? "]" : "", port);
}

/*
 * The token of "Authorization: Bearer TOKEN" (RFC 6750: the scheme in any
 * case, token68 characters), or NULL for anything else: no header, another
 * scheme, nothing after "Bearer", bytes outside ASCII, longer than ours.
 */
static const char *bearer(const char *h)
{
	static const char token68[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				      "0123456789-._~+/";
	size_t n;

	if (!h || strncasecmp(h, "Bearer ", 7))
		return NULL;
	h += 7;
	h += strspn(h, " ");
	n = strspn(h, token68);
	n += strspn(h + n, "=");
	if (!n || n > BEARER_MAX || h[n])
		return NULL;
	return h;
}

/*
 * A refused token, logged once a minute at most with the count since:
 * guessing tokens must not flood the log. Each one is at debug.
 */
static enum MHD_Result deny(struct rest *rest, struct MHD_Connection *c,
			    const struct request *rq, unsigned int status,
			    const char *challenge, const char *why)
{
	unsigned long more;

	rest->denied++;
	LOGP(DREST, LOG_DEBUG, "rest", "%s: %u: %s", rq->caller, status, why);
	if (limit_due(&rest->log_denied, &more))
		LOGP(DREST, LOG_NOTICE, "rest",
		     "refused a request from %s: %u: %s; %lu more refused since the last report",
		     rq->caller, status, why, more);
	return rest_deny(c, status, challenge, why);
}

/* The scope a request needs: GETs read (but the audit trail), else admin. */
static enum server_scope needed_scope(const char *method, const char *url)
{
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return SERVER_SCOPE_ADMIN;
	if (!strcmp(url, PREFIX "/audit"))
		return SERVER_SCOPE_ADMIN;
	return SERVER_SCOPE_READ;
}

/*
 * Whether the request carries a token that allows it; if not, its answer
 * is queued (@ret). The answers say nothing of which tokens exist: an
 * unknown token and a revoked one get the same 401.
 */
static bool authorized(struct rest *rest, struct MHD_Connection *c, const char *method,
		       const char *url, struct request *rq, enum MHD_Result *ret)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_AUTHORIZATION);
	const char *secret = bearer(h);
	char name[SERVER_TOKEN_NAME_MAX + 1], err[300];
	enum server_scope scope;
	size_t len;
	int r;

	if (!h) {
		*ret = deny(rest, c, rq, MHD_HTTP_UNAUTHORIZED, "Bearer realm=\"remsim\"",
			    "a bearer token is required (Authorization: Bearer TOKEN)");
		return false;
	}
	r = secret ? server_token_check(rest->srv, secret, name, &scope, err, sizeof(err)) :
	    -EACCES;
	if (r == -EBUSY || r == -EIO) {
		*ret = rest_error(c, r == -EBUSY ? MHD_HTTP_SERVICE_UNAVAILABLE :
				  MHD_HTTP_INTERNAL_SERVER_ERROR, "token check: %s", err);
		return false;
	}
	if (r) {
		*ret = deny(rest, c, rq, MHD_HTTP_UNAUTHORIZED,
			    "Bearer realm=\"remsim\", error=\"invalid_token\"",
			    "the bearer token is not valid");
		return false;
	}
	len = strlen(rq->caller);
	snprintf(rq->caller + len, sizeof(rq->caller) - len, " token=%s", name);
	if (scope < needed_scope(method, url)) {
		snprintf(err, sizeof(err), "token %s has scope read: %s %s needs admin",
			 name, method, url);
		*ret = deny(rest, c, rq, MHD_HTTP_FORBIDDEN,
			    "Bearer realm=\"remsim\", error=\"insufficient_scope\", scope=\"admin\"",
			    err);
		return false;
	}
	return true;
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
		enum MHD_Result ret;

		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		*con_cls = rq;
		peer_address(c, rq->caller, sizeof(rq->caller));
		/* the dashboard's files hold no data: the page asks with a token */
		if (!rest->cfg->auth || dashboard_url(method, url) ||
		    authorized(rest, c, method, url, rq, &ret))
			return MHD_YES;
		rest->requests++;
		return ret;
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
		return rest_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "the body is over %zu bytes",
			     rest->cfg->body_max);
	if (dashboard_url(method, url))
		return dashboard_serve(c, rest->cfg->dashboard, url);
	if (strncmp(url, PREFIX "/", strlen(PREFIX) + 1))
		return rest_error(c, MHD_HTTP_NOT_FOUND, "no such resource: %s", url);
	return rest_route(c, rest->srv, method, url + strlen(PREFIX), rq);
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

/* A PEM file into a NUL-terminated buffer: 0, or -errno with @err. */
static int read_pem(const char *what, const char *path, char **out, size_t *len,
		    char *err, size_t errlen)
{
	struct stat st;
	ssize_t n = 0;
	char *buf;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st)) {
		ret = -errno;
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return ret;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > PEM_MAX) {
		snprintf(err, errlen, "%s %s: not a regular file of at most %d bytes",
			 what, path, PEM_MAX);
		close(fd);
		return -EINVAL;
	}
	buf = calloc(1, st.st_size + 1);
	if (buf)
		n = read(fd, buf, st.st_size);
	ret = !buf ? -ENOMEM : n < 0 ? -errno : 0;
	close(fd);
	if (ret) {
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(-ret));
		free(buf);
		return ret;
	}
	*out = buf;
	*len = n;
	return 0;
}

/*
 * The certificate and key, loaded and checked with GnuTLS first: given a
 * bad file, libmicrohttpd only fails to start, without a reason.
 */
static int tls_load(struct rest *rest, char *err, size_t errlen)
{
	gnutls_certificate_credentials_t cred;
	gnutls_datum_t cert, key;
	size_t cert_len;
	int ret;

	ret = read_pem("rest-tls-cert", rest->cfg->tls_cert, &rest->tls_cert, &cert_len,
		       err, errlen);
	if (!ret)
		ret = read_pem("rest-tls-key", rest->cfg->tls_key, &rest->tls_key,
			       &rest->tls_key_len, err, errlen);
	if (ret)
		return ret;
	cert = (gnutls_datum_t){ (unsigned char *)rest->tls_cert, cert_len };
	key = (gnutls_datum_t){ (unsigned char *)rest->tls_key, rest->tls_key_len };
	if (gnutls_certificate_allocate_credentials(&cred)) {
		snprintf(err, errlen, "REST TLS: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	ret = gnutls_certificate_set_x509_key_mem2(cred, &cert, &key, GNUTLS_X509_FMT_PEM,
						   NULL, 0);
	gnutls_certificate_free_credentials(cred);
	if (ret < 0) {
		snprintf(err, errlen, "REST TLS: certificate %s with key %s: %s",
			 rest->cfg->tls_cert, rest->cfg->tls_key, gnutls_strerror(ret));
		return -EINVAL;
	}
	return 0;
}

static int mhd_start(struct rest *rest, char *err, size_t errlen)
{
	unsigned int flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_USE_NO_LISTEN_SOCKET;
	int ret;

	if (rest->cfg->tls) {
		ret = tls_load(rest, err, errlen);
		if (ret)
			return ret;
		flags |= MHD_USE_TLS;
	}
	/*
	 * The TLS options come last, after MHD_OPTION_END in plain HTTP
	 * (libmicrohttpd refuses them without MHD_USE_TLS). Through
	 * MHD_OPTION_ARRAY, 0.9.75 does not take them at all.
	 */
	rest->mhd = MHD_start_daemon(flags, 0, NULL, NULL, handler, rest,
				     MHD_OPTION_EXTERNAL_LOGGER, mhd_log, rest,
				     MHD_OPTION_NOTIFY_COMPLETED, completed, rest,
				     MHD_OPTION_NOTIFY_CONNECTION, conn_notify, rest,
				     /* idle keep-alive connections */
				     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
				     MHD_OPTION_CONNECTION_LIMIT, rest->cfg->conn_max,
				     MHD_OPTION_PER_IP_CONNECTION_LIMIT,
				     rest->cfg->conn_per_addr,
				     rest->cfg->tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END,
				     rest->tls_cert,
				     MHD_OPTION_HTTPS_MEM_KEY, rest->tls_key,
				     /* TLS 1.2 and 1.3 only */
				     MHD_OPTION_HTTPS_PRIORITIES,
				     "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2",
				     MHD_OPTION_END);
	if (!rest->mhd) {
		snprintf(err, errlen, "REST: libmicrohttpd did not start%s",
			 rest->cfg->tls ? " with TLS" : "");
		return -EIO;
	}
	return 0;
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
	ret = mhd_start(rest, err, errlen);
	if (ret)
		return ret;
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
	free(rest->tls_cert);
	if (rest->tls_key)
		gnutls_memset(rest->tls_key, 0, rest->tls_key_len);
	free(rest->tls_key);
	free(rest);
}

void rest_log_stats(struct rest *rest)
{
	if (!rest)
		return;
	LOGP(DMAIN, LOG_NOTICE, "rest",
	     "statistics: %lu requests, %lu refused (4xx/5xx; %lu of them 401/403 for a token), %u connections open, %lu connections refused at a limit",
	     rest->requests, rest_refusals, rest->denied, rest->conns, rest->conns_refused);
}
