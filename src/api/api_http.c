/* libmicrohttpd glue: one request context per request, bounded bodies,
 * routing to handlers, and the reply helpers every handler uses. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "api/api_int.h"
#include "util/bytes.h"
#include "util/cpus.h"
#include "util/log.h"
#include "util/sa.h"

uint64_t api_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t api_wall_s(void)
{
	return (uint64_t)time(NULL);
}

const char *api_header(struct api_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

struct MHD_Response *api_resp_json(json_t *body)
{
	/* Six significant digits: a round-trip time of 0.829 ms reads so,
	 * not as the nearest double's 17 (0.82899999999999996). */
	size_t flags = JSON_COMPACT | JSON_REAL_PRECISION(6);
	char *text = body ? json_dumps(body, flags) : NULL;
	struct MHD_Response *resp;
	json_decref(body);
	if (text)
		resp = MHD_create_response_from_buffer(strlen(text), text,
						       MHD_RESPMEM_MUST_FREE);
	else
		resp = MHD_create_response_from_buffer(0, (void *)"",
						       MHD_RESPMEM_PERSISTENT);
	if (!resp) {
		free(text);
		return NULL;
	}
	if (text)
		MHD_add_response_header(resp, "Content-Type", "application/json");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	return resp;
}

int api_reply(struct api_req *r, unsigned status, struct MHD_Response *resp)
{
	if (!resp)
		return MHD_NO;
	if (strcmp(r->url, "/v1/ice-servers") == 0)
	{
		MHD_add_response_header(resp, "Access-Control-Allow-Origin", "*");
		/* so a page on another origin can honour a 429's wait */
		MHD_add_response_header(resp, "Access-Control-Expose-Headers",
					"Retry-After");
	}
	enum MHD_Result rc = MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
	r->replied = true;
	r->status = status;
	api_metrics_request(&r->api->metrics, status,
			    api_now_us() - r->start_us);
	return rc;
}

int api_reply_json(struct api_req *r, unsigned status, json_t *body)
{
	return api_reply(r, status, api_resp_json(body));
}

/* A message may end in a request's field name cut to fit its buffer,
 * perhaps inside a UTF-8 sequence, which JSON cannot carry: drop the
 * partial sequence (at most 3 bytes) rather than the whole body. */
static json_t *error_message(const char *msg)
{
	size_t n = strlen(msg);
	json_t *m = json_stringn(msg, n);
	for (size_t k = 0; !m && k < 3 && n > 0; k++)
		m = json_stringn(msg, --n);
	return m ? m : json_string("invalid request");
}

int api_reply_error_h(struct api_req *r, unsigned status, const char *code,
		      const char *msg, const char *hname, const char *hval)
{
	json_t *b = json_pack("{s:{s:s,s:o}}", "error", "code", code,
			      "message", error_message(msg));
	struct MHD_Response *resp = api_resp_json(b);
	if (resp && hname)
		MHD_add_response_header(resp, hname, hval);
	return api_reply(r, status, resp);
}

int api_reply_error(struct api_req *r, unsigned status, const char *code,
		    const char *msg)
{
	return api_reply_error_h(r, status, code, msg, NULL, NULL);
}

static int route_405(struct api_req *r, const char *allow)
{
	return api_reply_error_h(r, MHD_HTTP_METHOD_NOT_ALLOWED,
				 "method_not_allowed",
				 "method not allowed on this path", "Allow",
				 allow);
}

static int route_cors(struct api_req *r)
{
	struct MHD_Response *resp = api_resp_json(NULL);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Access-Control-Allow-Methods",
				"POST, OPTIONS");
	MHD_add_response_header(resp, "Access-Control-Allow-Headers",
				"Authorization, Content-Type");
	MHD_add_response_header(resp, "Access-Control-Max-Age", "600");
	return api_reply(r, MHD_HTTP_NO_CONTENT, resp);
}

static bool is(const struct api_req *r, const char *m)
{
	return strcmp(r->method, m) == 0;
}

static int route_get(struct api_req *r, int (*h)(struct api_req *))
{
	if (is(r, "GET") || is(r, "HEAD"))
		return h(r);
	return route_405(r, "GET, HEAD");
}

static int route_demo(struct api_req *r)
{
	if (!is(r, "GET") && !is(r, "HEAD"))
		return route_405(r, "GET, HEAD");
	if (strcmp(r->url, "/demo/turnstone.js") == 0)
		return api_misc_asset(r, "turnstone.js", "text/javascript");
	return api_misc_asset(r, "demo.html", "text/html; charset=utf-8");
}

static int route(struct api_req *r)
{
	const char *u = r->url;
	if (strcmp(u, "/v1/ice-servers") == 0) {
		if (is(r, "POST"))
			return api_ice_handle(r);
		if (is(r, "OPTIONS"))
			return route_cors(r);
		return route_405(r, "POST, OPTIONS");
	}
	if (strcmp(u, "/v1/ip-ranges") == 0)
		return route_get(r, api_misc_ip_ranges);
	if (strcmp(u, "/healthz") == 0)
		return route_get(r, api_misc_healthz);
	if (strcmp(u, "/v1/revoked") == 0)
		return route_get(r, api_revoked_handle);
	if (strcmp(u, "/metrics") == 0)
		return route_get(r, api_misc_metrics);
	if (strcmp(u, "/demo") == 0 || strcmp(u, "/demo/") == 0 ||
	    strcmp(u, "/demo/turnstone.js") == 0)
		return route_demo(r);
	if (strncmp(u, "/v1/admin/", 10) == 0 && r->api->cfg.admin_token[0])
		return api_admin_handle(r);
	return api_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found",
			       "no such endpoint");
}

static struct api_req *req_new(struct api *a, struct MHD_Connection *c,
			       const char *url, const char *method)
{
	struct api_req *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->api = a;
	r->conn = c;
	r->url = url;
	r->method = method;
	r->start_us = api_now_us();
	r->max = strncmp(url, "/v1/admin/", 10) == 0 ? API_ADMIN_BODY_MAX
						     : API_BODY_MAX;
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci && ci->client_addr) {
		struct sa s;
		memset(&s, 0, sizeof(s));
		s.len = ci->client_addr->sa_family == AF_INET6
				? sizeof(struct sockaddr_in6)
				: sizeof(struct sockaddr_in);
		memcpy(&s.u, ci->client_addr, s.len);
		api_client_ip(&a->cfg, c, &s, r->ip, sizeof(r->ip));
	}
	return r;
}

static void req_append(struct api_req *r, const char *data, size_t n)
{
	if (r->too_big || r->len + n > r->max) {
		r->too_big = true;
		return;
	}
	char *b = realloc(r->body, r->len + n + 1);
	if (!b) {
		r->too_big = true;
		return;
	}
	memcpy(b + r->len, data, n);
	r->len += n;
	b[r->len] = '\0';
	r->body = b;
}

/* The connection's deadlines (api_conn.c), from its socket context. */
static struct api_conn *conn_dl(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

static enum MHD_Result api_access(void *cls, struct MHD_Connection *c,
				  const char *url, const char *method,
				  const char *version, const char *data,
				  size_t *data_size, void **ctx)
{
	struct api_req *r = *ctx;
	/* *ctx == cls: api_request_line's mark of a bad target */
	if (!r || *ctx == cls) {
		struct api *a = cls;
		bool bad_target = *ctx == cls;
		api_conns_head_done(a->conns, conn_dl(c), api_now_us());
		r = req_new(a, c, url, method);
		*ctx = r;
		if (!r)
			return MHD_NO;
		int rc;
		if (api_head_refuse(r, url, version, bad_target, &rc))
			return (enum MHD_Result)rc;
		return MHD_YES;
	}
	if (r->replied) {
		*data_size = 0; /* discard the rest of a refused body */
		return MHD_YES;
	}
	if (*data_size) {
		req_append(r, data, *data_size);
		*data_size = 0;
		return MHD_YES;
	}
	if (r->too_big)
		return (enum MHD_Result)api_reply_too_big(r);
	return (enum MHD_Result)route(r);
}

static void api_completed(void *cls, struct MHD_Connection *c, void **ctx,
			  enum MHD_RequestTerminationCode toe)
{
	struct api *a = cls;
	(void)toe;
	api_conns_request_done(a->conns, conn_dl(c), api_now_us());
	struct api_req *r = *ctx;
	if (!r || *ctx == cls)
		return;
	free(r->body);
	free(r);
	*ctx = NULL;
}

/* MHD_OPTION_URI_LOG_CALLBACK: the request line is in (a request starts).
 * What it returns is *ctx for api_access's first call: NULL, or the api
 * itself (never a request context) to mark a target that has a control
 * character as sent, which libmicrohttpd passes on and which api_access,
 * given the decoded path, could not tell from a %-escaped one. */
static void *api_request_line(void *cls, const char *uri,
			      struct MHD_Connection *c)
{
	struct api *a = cls;
	api_conns_request_line(a->conns, conn_dl(c), api_now_us());
	return api_head_target_bad(uri) ? a : NULL;
}

/* MHD_OPTION_UNESCAPE_CALLBACK, for the path and the query values: %XX
 * decoded as libmicrohttpd does, except %00, left as written. Decoded, a
 * NUL would end the C string the handlers get, so that
 * DELETE .../blocks/zz%00x removed the block of "zz". */
static size_t api_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	char *w = s;
	for (const char *r = s; *r;) {
		int hi = r[0] == '%' ? bytes_hex_digit(r[1]) : -1;
		int lo = hi >= 0 ? bytes_hex_digit(r[2]) : -1;
		if (lo >= 0 && (hi | lo) != 0) {
			*w++ = (char)(hi << 4 | lo);
			r += 3;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
	return (size_t)(w - s);
}

/* MHD_OPTION_NOTIFY_CONNECTION, on the connection's own thread. A
 * connection we cannot put a deadline on is refused: shut down now,
 * while libmicrohttpd surely owns the fd. */
static void api_conn_notify(void *cls, struct MHD_Connection *c,
			    void **socket_ctx,
			    enum MHD_ConnectionNotificationCode code)
{
	struct api *a = cls;
	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		api_conns_close(a->conns, *socket_ctx);
		*socket_ctx = NULL;
		return;
	}
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (!ci || ci->connect_fd == MHD_INVALID_SOCKET)
		return;
	int fd = ci->connect_fd;
	struct sa src;
	/* No length comes with it: api_src_from reads the family's size. */
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	bool known = ci && api_src_from(&src, ci->client_addr,
					sizeof(struct sockaddr_in6)) == 0;
	/* A trusted proxy's connections are not counted per source (its
	 * clients are many); the total limit still holds. */
	known = known && !api_proxy_trusted(&a->cfg, &src);
	*socket_ctx = api_conns_open(a->conns, fd, known ? &src : NULL,
				     api_now_us());
	if (!*socket_ctx)
		shutdown(fd, SHUT_RDWR);
}

/* MHD_OPTION_EXTERNAL_LOGGER: libmicrohttpd's messages through our log
 * instead of stderr. Its messages quote nothing secret (at most a
 * request path, without the query), but clients can provoke them, so
 * control characters are replaced and at most API_MHD_LOG_PER_S lines a
 * second get through, the rest counted in the next one (log_limit.h). */
__attribute__((format(printf, 2, 0))) static void
api_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct api *a = cls;
	log_limit_vwarn(&a->mhdlog, "api: http", fmt, ap);
}

/* libmicrohttpd's inactivity timeout: an idle kept-alive connection, or
 * one that stops sending, is closed after this many seconds. */
#define API_IDLE_TIMEOUT_S 10u
#define API_CONNECTION_LIMIT 4096u

static unsigned or_default(unsigned v, unsigned dflt)
{
	return v ? v : dflt;
}

/* Under pressure (api_conn.c), a phase may take this long. */
#define API_PRESSURE_GRACE_S 2u

static int api_conns_setup(struct api *a)
{
	const uint64_t s = 1000000u;
	struct api_conns_cfg cc = {
		.head_us = or_default(a->cfg.header_timeout_s,
				      API_HEADER_TIMEOUT) * s,
		.body_us = or_default(a->cfg.body_timeout_s, API_BODY_TIMEOUT) * s,
		.idle_us = API_IDLE_TIMEOUT_S * s,
		.grace_us = API_PRESSURE_GRACE_S * s,
		.limit = API_CONNECTION_LIMIT,
		/* so that a few sources cannot take every slot (api_accept) */
		.per_src = or_default(a->cfg.conns_per_ip, API_CONNS_PER_IP),
	};
	int err = api_conns_alloc(&a->conns, &cc);
	return err ? err : api_conns_start(a->conns);
}

/* The accept policy (libmicrohttpd's apc, on the accepting thread): a
 * source at --api-connections-per-ip is refused, and libmicrohttpd closes
 * the socket before it becomes a connection. Logged at the rate of
 * libmicrohttpd's messages, as its own per-IP refusals were. */
static enum MHD_Result api_accept(void *cls, const struct sockaddr *addr,
				  socklen_t addrlen)
{
	struct api *a = cls;
	struct sa src, key;
	unsigned dropped;
	/* A trusted reverse proxy carries many clients' connections: it
	 * is not held to one client's share. */
	if (api_src_from(&src, addr, addrlen) != 0 ||
	    api_proxy_trusted(&a->cfg, &src) ||
	    !api_conns_src_full(a->conns, &src))
		return MHD_YES;
	if (!log_limit_take(&a->mhdlog, &dropped))
		return MHD_NO;
	char ip[SA_STRLEN], more[48] = "";
	sa_source_key(&key, &src);
	sa_fmt_ip(&key, ip, sizeof(ip));
	if (dropped)
		snprintf(more, sizeof(more), " (%u earlier messages suppressed)",
			 dropped);
	log_warn("api: connection from %s%s refused: it has %u open "
		 "(api-connections-per-ip)%s", ip,
		 sa_af(&key) == AF_INET6 ? "/64" : "",
		 or_default(a->cfg.conns_per_ip, API_CONNS_PER_IP), more);
	return MHD_NO;
}

/* HTTPS (api-cert, api-pkey): libmicrohttpd's TLS is GnuTLS's, given
 * the PEM text the daemon read and checked. TLS 1.2 and 1.3 only, as on
 * the TURN side. Fills three items and the END. */
static void api_http_tls(struct api *a, struct MHD_OptionItem *o)
{
	/* not const: MHD_OptionItem's pointer is void *, and MHD only reads */
	static char prio[] = "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2";
	o[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, a->cfg.tls_cert};
	o[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, a->cfg.tls_key};
	o[2] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0, prio};
	o[3] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
}

int api_http_start(struct api *a)
{
	struct sockaddr_storage ss;
	struct sa s;
	if (sa_set_str(&s, a->cfg.listen_ip, a->cfg.port) != 0)
		return EINVAL;
	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, &s.u, s.len);
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
			 MHD_USE_TURBO | MHD_USE_ERROR_LOG;
	if (sa_af(&s) == AF_INET6)
		flags |= MHD_USE_IPv6;
	unsigned threads = a->cfg.threads;
	if (threads == 0)
		threads = util_cpus_usable(); /* as the relay workers */
	int err = api_conns_setup(a);
	if (err)
		return err;
	/* libmicrohttpd closes the socket it is given when it stops, and
	 * shuts it down first, which ends listening on every copy: listen()
	 * again (the bind, which may have needed root, stays). */
	int fd = a->cfg.listen_fd >= 0 ? fcntl(a->cfg.listen_fd, F_DUPFD_CLOEXEC, 3) : -1;
	if (a->cfg.listen_fd >= 0 && (fd < 0 || listen(fd, SOMAXCONN) != 0)) {
		err = errno;
		if (fd >= 0)
			close(fd);
		return err;
	}
	struct MHD_OptionItem where[6]; /* socket, pool, TLS's 3, end */
	size_t n = 0;
	where[n++] = fd >= 0 ? (struct MHD_OptionItem){MHD_OPTION_LISTEN_SOCKET, fd, NULL}
			     : (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &ss};
	/* A pool size of 0 or 1 is ignored with a warning at every start:
	 * one thread is MHD's internal one, without the option. */
	if (threads > 1)
		where[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE,
						     (intptr_t)threads, NULL};
	where[n] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
	if (a->cfg.tls_cert[0]) {
		flags |= MHD_USE_TLS;
		api_http_tls(a, where + n);
	}
	a->mhd = MHD_start_daemon(
		flags, a->cfg.port, api_accept, a, api_access, a,
		/* first, so that errors in the options below go there too */
		MHD_OPTION_EXTERNAL_LOGGER, api_mhd_log, a,
		MHD_OPTION_ARRAY, where,
		MHD_OPTION_CONNECTION_TIMEOUT, API_IDLE_TIMEOUT_S,
		MHD_OPTION_CONNECTION_LIMIT, API_CONNECTION_LIMIT,
		/* The request head and MHD's buffers share this; see
		 * api_head_refuse for the limit we apply. */
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(48 * 1024),
		MHD_OPTION_NOTIFY_CONNECTION, api_conn_notify, a,
		MHD_OPTION_URI_LOG_CALLBACK, api_request_line, a,
		MHD_OPTION_UNESCAPE_CALLBACK, api_unescape, a,
		MHD_OPTION_NOTIFY_COMPLETED, api_completed, a,
		MHD_OPTION_END);
	/* On failure the copy is not closed: libmicrohttpd closes it on some
	 * failure paths and not others, and a second close could hit another
	 * thread's descriptor. A failed start is rare; a leaked copy is safe. */
	return a->mhd ? 0 : EADDRINUSE;
}

void api_http_stop(struct api *a)
{
	if (a->mhd)
		MHD_stop_daemon(a->mhd);
	a->mhd = NULL;
	/* after libmicrohttpd, whose callbacks use it until it stops */
	api_conns_free(a->conns);
	a->conns = NULL;
}
