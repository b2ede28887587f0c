/* POST /v1/ice-servers: Bearer JWT in, RTCConfiguration out.
 * Order matters: the cheap checks (per-IP limit, token shape, kid lookup)
 * run before the signature, so forged tokens buy little CPU. The
 * per-account limit comes after it: a kid is public (it is in every token
 * a browser holds), and forged tokens naming it must not spend the
 * account's bucket and lock its real users out. The account's status is
 * only revealed to a valid token. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <microhttpd.h>

#include "api/api_int.h"

#define REJ_MISSING 0
#define REJ_RATELIMIT 1
#define REJ_DISABLED 2
#define REJ_BLOCKED 3

static int reply_401(struct api_req *r, enum jwt_reason why)
{
	char msg[64];
	r->api->metrics.rejected[why]++;
	snprintf(msg, sizeof(msg), "invalid token (%s)", jwt_reason_str(why));
	return api_reply_error_h(r, MHD_HTTP_UNAUTHORIZED, "invalid_token", msg,
				 "WWW-Authenticate",
				 "Bearer error=\"invalid_token\"");
}

enum { LIMIT_IP, LIMIT_ACCOUNT, LIMIT_USER }; /* api_metrics.c's order */

static int reply_429(struct api_req *r, unsigned wait, int which)
{
	char s[16];
	r->api->metrics.rejected_other[REJ_RATELIMIT]++;
	r->api->metrics.rate_limited[which]++;
	snprintf(s, sizeof(s), "%u", wait);
	return api_reply_error_h(r, MHD_HTTP_TOO_MANY_REQUESTS, "rate_limited",
				 "too many requests", "Retry-After", s);
}

/* "Bearer <token>" (scheme case-insensitive, RFC 6750 2.1). */
static const char *bearer_token(struct api_req *r)
{
	const char *h = api_header(r, "Authorization");
	if (!h || strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	h += 7;
	while (*h == ' ')
		h++;
	return *h ? h : NULL;
}

struct ice_ctx {
	struct api_dir *dir;
	const struct store_account *acc;
	struct jwt_claims claims;
};

/* The account's bucket, spent only by tokens that verified and were not
 * refused (ice_refused). The end user's (account, sub) comes first: a
 * browser's user holds a valid token, and requests over their own limit
 * must not spend the account's and lock every other user of it out. */
static bool ice_account_limit(struct api_req *r, const struct store_account *acc,
			      const char *sub, int *rc)
{
	struct api *a = r->api;
	char lk[STORE_NAME_MAX + 2];
	uint64_t now_ms = api_now_us() / 1000;
	api_limit_user_key(a->user_limit, acc->name, sub, lk, sizeof(lk));
	unsigned wait = api_limit_take(a->user_limit, lk, acc->user_rate_per_s,
				       acc->user_rate_burst, now_ms);
	if (wait) {
		*rc = reply_429(r, wait, LIMIT_USER);
		return false;
	}
	snprintf(lk, sizeof(lk), "a:%s", acc->name);
	wait = api_limit_take(a->acct_limit, lk, acc->rate_per_s,
			      acc->rate_burst, now_ms);
	if (wait)
		*rc = reply_429(r, wait, LIMIT_ACCOUNT);
	return wait == 0;
}

/* 403 for a disabled account or a blocked user, before the rate limits:
 * their requests must not spend the account's bucket, or a blocked
 * abuser holding a valid token would lock its other users out. */
static bool ice_refused(struct api_req *r, const struct ice_ctx *c, int *rc)
{
	struct api *a = r->api;
	if (c->acc->disabled) {
		a->metrics.rejected_other[REJ_DISABLED]++;
		*rc = api_reply_error(r, MHD_HTTP_FORBIDDEN, "account_disabled",
				      "this account is disabled");
		return true;
	}
	if (store_snap_block(c->dir->snap, c->acc->name, c->claims.sub)) {
		a->metrics.rejected_other[REJ_BLOCKED]++;
		*rc = api_reply_error(r, MHD_HTTP_FORBIDDEN, "user_blocked",
				      "this user (the token's sub) is blocked");
		return true;
	}
	return false;
}

/* Token -> verified claims and account. Replies itself on failure and
 * returns its MHD result through *rc. */
static bool ice_auth(struct api_req *r, struct ice_ctx *c, int *rc)
{
	struct api *a = r->api;
	const char *tok = bearer_token(r);
	struct jwt t;
	enum jwt_reason why = JWT_OK;
	if (!tok) {
		a->metrics.rejected_other[REJ_MISSING]++;
		*rc = api_reply_error_h(r, MHD_HTTP_UNAUTHORIZED, "invalid_token",
					"missing Bearer token",
					"WWW-Authenticate", "Bearer");
		return false;
	}
	if (jwt_parse(tok, strlen(tok), &t, &why) != 0) {
		*rc = reply_401(r, why);
		return false;
	}
	long k = api_dir_key(c->dir, t.kid);
	if (k < 0 || !c->dir->keys[k]) {
		*rc = reply_401(r, JWT_R_KID);
		return false;
	}
	c->acc = store_snap_account(c->dir->snap, c->dir->snap->keys[k].account);
	if (!c->acc) {
		*rc = reply_401(r, JWT_R_KID);
		return false;
	}
	struct jwt_expect e = {.iss = c->acc->issuer, .aud = a->cfg.audience,
			       .now = api_wall_s(), .skew = JWT_SKEW_DEFAULT,
			       .max_lifetime = a->cfg.max_token_life};
	if (jwt_verify(&t, c->dir->keys[k], &e, &c->claims, &why) != 0) {
		*rc = reply_401(r, why);
		return false;
	}
	return !ice_refused(r, c, rc) &&
	       ice_account_limit(r, c->acc, c->claims.sub, rc);
}

static int ice_answer(struct api_req *r, struct ice_ctx *c, uint32_t ttl)
{
	struct api *a = r->api;
	const struct store_account *acc = c->acc;
	struct api_group g[API_PLATFORM_MAX + STORE_SERVERS_MAX];
	unsigned ng = api_groups_for(&a->cfg, acc, g, API_PLATFORM_MAX + STORE_SERVERS_MAX);
	if (ttl == 0)
		ttl = acc->default_ttl;
	if (ttl > acc->max_ttl)
		ttl = acc->max_ttl;
	if (a->cfg.max_ttl && ttl > a->cfg.max_ttl)
		ttl = a->cfg.max_ttl; /* else TURN would answer 401 */
	struct api_ice_req q = {.account = acc->name, .sub = c->claims.sub,
				.ttl = ttl, .now = api_wall_s(),
				.relay_only = acc->relay_only};
	struct api_ice_out out = {0};
	if (api_compose(g, ng, &q, a->health ? api_health_up : NULL, a->health,
			&out) != 0)
		return api_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR,
				       "internal", "cannot compose the answer");
	if (out.all_down && acc->mode == STORE_TURN_OVERRIDE)
		a->metrics.override_all_down++;
	return api_reply_json(r, MHD_HTTP_OK, out.body);
}

int api_ice_handle(struct api_req *r)
{
	struct api *a = r->api;
	char ipk[sizeof(r->ip)];
	api_limit_ip_key(r->ip, ipk, sizeof(ipk));
	unsigned wait = api_limit_take(a->ip_limit, ipk, a->cfg.ip_rate,
				       a->cfg.ip_burst, api_now_us() / 1000);
	if (wait)
		return reply_429(r, wait, LIMIT_IP);
	struct ice_ctx c = {.dir = atomic_load(&a->store_ok) ? api_dir_get(a) : NULL};
	if (!c.dir)
		return api_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE,
				       "store_unavailable",
				       "the account store is unavailable");
	int rc;
	if (!ice_auth(r, &c, &rc))
		goto out;
	uint32_t ttl;
	char msg[API_BODY_MSG_MAX];
	int err = api_body_ttl(api_header(r, "Content-Type"), r->body, r->len,
			       &ttl, msg);
	if (err == EPROTONOSUPPORT)
		rc = api_reply_error(r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
				     "unsupported_media_type", msg);
	else if (err)
		rc = api_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_request", msg);
	else
		rc = ice_answer(r, &c, ttl);
out:
	api_dir_put(c.dir);
	return rc;
}
