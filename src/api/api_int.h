/* Internals of the API module, shared by its files. */
#ifndef TS_API_INT_H
#define TS_API_INT_H
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "api/api.h"
#include "auth/jwt.h"
#include "store/store.h"
#include "util/log_limit.h"
#include "util/sa.h"

#define API_BODY_MAX 1024         /* POST /v1/ice-servers */
#define API_ADMIN_BODY_MAX 65536  /* admin endpoints (PEM keys) */
#define API_ETAG_LEN 24           /* "\"%016llx\"" and its NUL */
#define API_HEADERS_MAX 16384     /* request line + headers -> 431 */
#define API_MHD_LOG_PER_S 10      /* libmicrohttpd lines a second (api_http.c) */
/* Firefox counts every URL in iceServers and logs "Using five or more
 * STUN/TURN servers causes problems" at five (PeerConnection.sys.mjs). */
#define API_ICE_MAX_URLS 4

/* ----- composing the iceServers answer (api_compose.c, pure) ----- */

/* true if the health checker has not marked url down. */
typedef bool(api_up_h)(void *arg, const char *url);

/* One group of URLs sharing credentials: a platform node or a custom
 * server. Exactly one of secret / (username, credential) or neither.
 * fallback: an account's own server in fallback mode, listed after the
 * platform's, which gets one of the capped slots (api_compose.c). */
struct api_group {
	bool fallback;
	unsigned nurls;
	const char *urls[STORE_URLS_MAX];
	const char *secret;
	char sep;               /* REST username separator (with secret) */
	const char *username;
	const char *credential;
};

struct api_ice_req {
	const char *account;
	const char *sub;
	uint32_t ttl;
	uint64_t now;
	bool relay_only;
};

struct api_ice_out {
	json_t *body;   /* {"iceServers":[...],"ttl":..,"expires":..,...} */
	bool all_down;  /* no TURN URL was up, so health was not applied */
};

/* Groups in priority order -> response. The mode decides which groups
 * the caller passes (platform, custom, or both). 0, EINVAL, ENOMEM. */
int api_compose(const struct api_group *g, unsigned ng,
		const struct api_ice_req *r, api_up_h *up, void *uparg,
		struct api_ice_out *out);
/* Fill groups for an account's mode; returns how many were written. */
unsigned api_groups_for(const struct api_cfg *cfg,
			const struct store_account *acc,
			struct api_group *g, unsigned cap);

/* ----- request bodies (api_body.c, pure) ----- */

#define API_BODY_MSG_MAX 256
/* Parse the optional {"ttl":N} / ttl=N body. ctype may be NULL. *ttl is 0
 * when absent. 0, EINVAL (400, msg says why and names an unknown JSON
 * key), EPROTONOSUPPORT (415). */
int api_body_ttl(const char *ctype, const char *body, size_t len,
		 uint32_t *ttl, char msg[API_BODY_MSG_MAX]);
/* A JSON body (body may be NULL when len is 0), duplicate keys refused
 * at every level; NULL with msg saying why (jansson's reason). */
json_t *api_json_parse(const char *body, size_t len,
		       char msg[API_BODY_MSG_MAX]);
/* Whether a Content-Type value names the media type want (any case,
 * parameters allowed: "application/json; charset=utf-8"). */
bool api_ctype_is(const char *ctype, const char *want);

/* ----- the directory: store snapshot + parsed JWT keys (api_dir.c) ----- */
struct api_dir {
	atomic_uint refs;
	struct store_snap *snap;
	struct jwt_key **keys; /* parallel to snap->keys; NULL if unusable */
};

/* ----- rate limits (api_limit.c) ----- */
struct api_limit;
int api_limit_alloc(struct api_limit **lp, unsigned slots);
void api_limit_free(struct api_limit *l);
/* Token bucket for key (rate/s, burst). 0 when allowed; otherwise the
 * number of whole seconds to wait (>= 1). rate 0 = unlimited. */
unsigned api_limit_take(struct api_limit *l, const char *key, uint32_t rate,
			uint32_t burst, uint64_t now_ms);
/* The per-IP limit's key for a client address: an IPv6 address's /64,
 * an IPv4(-mapped) address as it is. */
void api_limit_ip_key(const char *ip, char *out, size_t outsz);

/* ----- reverse proxies (api_proxy.c) ----- */
bool api_proxy_trusted(const struct api_cfg *c, const struct sa *ip);
/* The client's address as text, for the per-IP rate limit: the
 * peer's, or, from a trusted proxy, the right-most X-Forwarded-For
 * entry that is not itself a trusted proxy. */
struct MHD_Connection;
void api_client_ip(const struct api_cfg *c, struct MHD_Connection *conn,
		   const struct sa *peer, char *out, size_t sz);
/* The per-user limit's key in l: a hash of account and sub, seeded per
 * table so that no one can pick a sub whose key is another user's (a
 * sub may be up to 127 bytes, a key only 79). */
void api_limit_user_key(const struct api_limit *l, const char *account,
			const char *sub, char *out, size_t outsz);

/* ----- health checks (api_health.c) ----- */
struct api_health;
int api_health_start(struct api_health **hp, uint32_t interval_ms,
		     uint32_t failures);
void api_health_stop(struct api_health *h);
/* Replace the set of URLs to probe (called when the directory changes). */
void api_health_set_targets(struct api_health *h, const char *const *urls,
			    size_t n);
bool api_health_up(void *h, const char *url); /* an api_up_h */
/* {"servers":[...]} for the admin API and metrics. */
json_t *api_health_json(struct api_health *h);

/* ----- connection deadlines (api_conn.c) ----- */
struct api_conns;
struct api_conn;
struct api_conns_cfg {
	uint64_t head_us; /* request head, from accept or a reused
			   * connection's request line */
	uint64_t body_us; /* the rest of a request, from its head */
	uint64_t idle_us; /* between requests, before the next head's */
	uint64_t grace_us; /* in any phase, while under pressure */
	unsigned limit;   /* connections; 3/4 of it open is pressure
			   * (0: never) */
	unsigned per_src; /* connections per source (api_srccap.c; 0: no cap) */
};
int api_conns_alloc(struct api_conns **csp, const struct api_conns_cfg *cfg);
void api_conns_free(struct api_conns *cs); /* after libmicrohttpd stopped */
int api_conns_start(struct api_conns *cs); /* the sweeper thread */
void api_conns_stop(struct api_conns *cs);
/* Called on libmicrohttpd's threads. src_full: the accept policy, true
 * if src holds per_src connections already. open counts the connection
 * against src (NULL: not counted); NULL if out of memory or src is full,
 * and the caller shuts the connection down. */
bool api_conns_src_full(struct api_conns *cs, const struct sa *src);
struct api_conn *api_conns_open(struct api_conns *cs, int fd,
				const struct sa *src, uint64_t now_us);
void api_conns_close(struct api_conns *cs, struct api_conn *c);
void api_conns_request_line(struct api_conns *cs, struct api_conn *c,
			    uint64_t now_us);
void api_conns_head_done(struct api_conns *cs, struct api_conn *c,
			 uint64_t now_us);
void api_conns_request_done(struct api_conns *cs, struct api_conn *c,
			    uint64_t now_us);
/* Shut down every connection past its deadline; how many were. */
unsigned api_conns_sweep(struct api_conns *cs, uint64_t now_us);
/* Connections closed so far for a late head (or next request), a late
 * body. */
void api_conns_stats(struct api_conns *cs, unsigned long *head,
		     unsigned long *body);

/* ----- connections per source (api_srccap.c) ----- */
/* Open connections per client source: sa_source_key's, so an IPv6 client
 * counts by its /64. Thread-safe. max 0: no cap. */
struct api_srccap;
int api_srccap_alloc(struct api_srccap **cp, unsigned max);
void api_srccap_free(struct api_srccap *c);
/* true if src's source holds max connections already. */
bool api_srccap_full(struct api_srccap *c, const struct sa *src);
/* Count one more for src's source; false (not counted) if it is full. */
bool api_srccap_take(struct api_srccap *c, const struct sa *src);
void api_srccap_put(struct api_srccap *c, const struct sa *src);
unsigned api_srccap_count(struct api_srccap *c, const struct sa *src);
/* An AF_INET or AF_INET6 sockaddr of len bytes -> s. 0 or EINVAL. */
int api_src_from(struct sa *s, const struct sockaddr *addr, socklen_t len);

/* ----- metrics (api_metrics.c) ----- */
struct api_metrics {
	atomic_ulong status[600];
	atomic_ulong lat_bucket[12]; /* see api_metrics.c for bounds */
	atomic_ulong lat_count;
	atomic_ulong lat_sum_us;
	atomic_ulong rejected[JWT_R_COUNT];
	atomic_ulong rejected_other[4]; /* missing, ratelimit, disabled, blocked */
	atomic_ulong rate_limited[3];   /* 429s by limit: ip, account, user */
	atomic_ulong override_all_down;
};
void api_metrics_request(struct api_metrics *m, unsigned status,
			 uint64_t dur_us);

/* ----- the running API (api.c) and one request (api_http.c) ----- */
struct MHD_Daemon;
struct MHD_Connection;
struct MHD_Response;

struct api {
	struct api_cfg cfg;
	struct MHD_Daemon *mhd;
	struct store *store;
	pthread_mutex_t dir_mu; /* guards dir and store reopen */
	struct api_dir *dir;
	atomic_bool store_ok;
	atomic_bool stopping;
	pthread_t watcher;
	bool watcher_started;
	pthread_mutex_t wait_mu;
	pthread_cond_t wait_cv;
	struct api_limit *ip_limit;
	struct api_limit *acct_limit;
	struct api_limit *user_limit; /* (account, sub) */
	struct api_health *health;
	struct api_metrics metrics;
	struct api_conns *conns;
	struct log_limit mhdlog; /* libmicrohttpd's messages, rate-limited */
	char *ranges_body;
	char ranges_etag[API_ETAG_LEN];
};

struct api_req {
	struct api *api;
	struct MHD_Connection *conn;
	const char *url;
	const char *method;
	uint64_t start_us;
	char *body;
	size_t len, max;
	bool too_big;
	bool replied;
	unsigned status; /* of the reply, once replied */
	char ip[64];
};

uint64_t api_now_us(void);   /* monotonic */
uint64_t api_wall_s(void);   /* unix seconds */
const char *api_header(struct api_req *r, const char *name);

/* Replies: each queues exactly one response and records metrics. */
int api_reply(struct api_req *r, unsigned status, struct MHD_Response *resp);
/* body is stolen (may be NULL for an empty 204/304). */
int api_reply_json(struct api_req *r, unsigned status, json_t *body);
int api_reply_error(struct api_req *r, unsigned status, const char *code,
		    const char *msg);
/* Same, with one extra header (WWW-Authenticate, Retry-After, Allow). */
int api_reply_error_h(struct api_req *r, unsigned status, const char *code,
		      const char *msg, const char *hname, const char *hval);
struct MHD_Response *api_resp_json(json_t *body);
/* 413 payload_too_large, naming r->max (api_head.c). */
int api_reply_too_big(struct api_req *r);
/* Checks on a request head before any body is read (api_head.c): size
 * (431), syntax libmicrohttpd lets through and framing that a proxy could
 * read otherwise (400 or 501, and the connection closes), a declared body
 * over r->max (413). bad_target: api_head_target_bad said so of the
 * target as sent. true if the request was refused; *rc is then the
 * reply's result. */
bool api_head_refuse(struct api_req *r, const char *url, const char *version,
		     bool bad_target, int *rc);
/* A control character in a request target as sent (RFC 9112 section 3.2). */
bool api_head_target_bad(const char *target);

/* Handlers (api_ice.c, api_misc.c, api_admin*.c). */
int api_ice_handle(struct api_req *r);
int api_misc_ip_ranges(struct api_req *r);
int api_misc_healthz(struct api_req *r);
int api_misc_metrics(struct api_req *r);
/* Whether r bears the admin token (--api-admin-token-file), compared in
 * constant time; false when none is configured. */
bool api_admin_authorized(struct api_req *r);
int api_misc_asset(struct api_req *r, const char *name, const char *ctype);
int api_admin_handle(struct api_req *r);
/* A strong ETag for a JSON body: its FNV-1a 64 hash, quoted (api_misc.c;
 * /v1/ip-ranges and /v1/revoked). */
void api_etag(const char *body, char out[API_ETAG_LEN]);
/* GET /v1/revoked, for the fleet's TURN servers (api_revoked.c). */
int api_revoked_handle(struct api_req *r);
int api_ranges_build(struct api *a); /* at start: body + ETag */

/* Directory (api_dir.c). */
struct api_dir *api_dir_get(struct api *a); /* +1 ref; NULL if none */
void api_dir_put(struct api_dir *d);
/* Re-read the store now (after an admin write). 0 or EIO. */
int api_dir_refresh(struct api *a);
int api_dir_watch_start(struct api *a);
int api_http_start(struct api *a);
void api_http_stop(struct api *a);
void api_dir_watch_stop(struct api *a);
/* Index of the key in d->snap->keys, or -1. */
long api_dir_key(const struct api_dir *d, const char *kid);

#endif
