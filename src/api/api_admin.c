/* /v1/admin/: accounts, their JWT keys, their TURN policy, and health.
 * Authenticated by the admin token from configuration (compared as
 * SHA-256 digests in constant time, so neither content nor length leaks).
 * Every write goes to SQLite first and is acknowledged only once
 * committed (synchronous=FULL), then the directory is refreshed so the
 * next request sees it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "api/api_admin.h"
#include "util/log.h"

#define SEG_MAX 5

struct admin_path {
	unsigned n;
	char seg[SEG_MAX][STORE_URL_MAX];
};

bool api_admin_authorized(struct api_req *r)
{
	const char *h = api_header(r, "Authorization");
	const char *tok = r->api->cfg.admin_token;
	uint8_t want[32], got[32];
	/* No token configured: nobody is (an empty "Bearer " would match). */
	if (!tok[0] || !h || strncasecmp(h, "Bearer ", 7) != 0)
		return false;
	if (!EVP_Digest(tok, strlen(tok), want, NULL, EVP_sha256(), NULL) ||
	    !EVP_Digest(h + 7, strlen(h + 7), got, NULL, EVP_sha256(), NULL))
		return false;
	return CRYPTO_memcmp(want, got, sizeof(want)) == 0;
}

static int admin_path_split(const char *url, struct admin_path *p)
{
	const char *s = url + strlen("/v1/admin/");
	memset(p, 0, sizeof(*p));
	while (*s) {
		size_t n = strcspn(s, "/");
		if (n == 0 || n >= STORE_URL_MAX || p->n == SEG_MAX)
			return EINVAL;
		memcpy(p->seg[p->n++], s, n);
		s += n + (s[n] == '/');
	}
	return 0;
}

int admin_store_err(struct api_req *r, int err, const char *what)
{
	char msg[128];
	switch (err) {
	case ENOENT:
		snprintf(msg, sizeof(msg), "no such %s", what);
		return api_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found", msg);
	case EEXIST:
		snprintf(msg, sizeof(msg), "%s already exists", what);
		return api_reply_error(r, MHD_HTTP_CONFLICT, "conflict", msg);
	case EINVAL:
		snprintf(msg, sizeof(msg), "invalid %s", what);
		return api_reply_error(r, MHD_HTTP_UNPROCESSABLE_CONTENT,
				       "invalid_field", msg);
	default:
		return api_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE,
				       "store_unavailable",
				       "the account store is unavailable");
	}
}

/* The store names C fields; the API speaks its JSON names. */
static const char *field_json(const char *f)
{
	static const char *const map[][2] = {
		{"max_ttl", "maxTtl"}, {"default_ttl", "defaultTtl"},
		{"rate_per_s", "rateLimit.perSecond"},
		{"rate_burst", "rateLimit.burst"},
		{"user_rate_per_s", "userRateLimit.perSecond"},
		{"user_rate_burst", "userRateLimit.burst"},
		{"configurable_turn", "features.configurableTurn"},
		{"relay_only", "iceTransportPolicy"}};
	for (size_t i = 0; f && i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(f, map[i][0]) == 0)
			return map[i][1];
	return f;
}

/* 400 for an unknown key, 422 for a bad value; the message ends in the
 * field's path (error_message cuts a long one at a character). */
static int reply_field(struct api_req *r, int err, const struct admin_field *f)
{
	char msg[160];
	const char *name = f->in ? f->name : field_json(f->name);
	snprintf(msg, sizeof(msg), "%s field: %s%s%s",
		 err == ENOENT ? "unknown" : "invalid", f->in ? f->in : "",
		 f->in ? "." : "", name ? name : "?");
	if (err == ENOENT)
		return api_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_request", msg);
	return api_reply_error(r, MHD_HTTP_UNPROCESSABLE_CONTENT,
			       "invalid_field", msg);
}

/* The JSON body, an object, or NULL after replying 400/415. */
json_t *admin_body(struct api_req *r, int *rc)
{
	const char *ct = api_header(r, "Content-Type");
	char msg[API_BODY_MSG_MAX];
	if (!ct || !api_ctype_is(ct, "application/json")) {
		*rc = api_reply_error(r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
				      "unsupported_media_type",
				      "Content-Type must be application/json");
		return NULL;
	}
	json_t *j = api_json_parse(r->body, r->len, msg);
	if (!j)
		*rc = api_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_request", msg);
	/* Every admin body is an object, as POST /v1/ice-servers's. */
	else if (!json_is_object(j)) {
		*rc = api_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
				      "body must be a JSON object");
		json_decref(j);
		j = NULL;
	}
	return j;
}

/* Run fn on the store under the directory lock (the watcher may reopen
 * the store), then refresh the directory if it succeeded. */
int admin_write(struct api *a, int (*fn)(struct store *, void *),
		       void *arg)
{
	pthread_mutex_lock(&a->dir_mu);
	int err = a->store ? fn(a->store, arg) : EIO;
	pthread_mutex_unlock(&a->dir_mu);
	if (!err)
		api_dir_refresh(a);
	return err;
}

static int reply_account(struct api_req *r, unsigned status, const char *name)
{
	struct api_dir *d = api_dir_get(r->api);
	const struct store_account *acc = d ? store_snap_account(d->snap, name) : NULL;
	int rc = acc ? api_reply_json(r, status, admin_account_json(acc, d->snap))
		     : admin_store_err(r, ENOENT, "account");
	api_dir_put(d);
	return rc;
}

static int op_create(struct store *s, void *a) { return store_account_create(s, a); }
static int op_delete(struct store *s, void *n) { return store_account_delete(s, n); }
static int op_key_add(struct store *s, void *k) { return store_key_add(s, k); }

/* Validate, then create or update, then answer with the stored account.
 * err is what applying the JSON gave (0 or a field error). */
static int account_save(struct api_req *r, int err, struct admin_field *f,
			int (*op)(struct store *, void *),
			struct store_account *acc, unsigned status)
{
	if (!err && (err = store_account_validate(acc, &f->name)) == 0) {
		err = admin_write(r->api, op, acc);
		return err ? admin_store_err(r, err, "account")
			   : reply_account(r, status, acc->name);
	}
	return reply_field(r, err, f);
}

static int account_create(struct api_req *r)
{
	int rc;
	struct admin_field field = {NULL, NULL};
	json_t *j = admin_body(r, &rc);
	if (!j)
		return rc;
	struct store_account acc;
	const char *name = json_string_value(json_object_get(j, "name"));
	store_account_init(&acc, name && strlen(name) < STORE_NAME_MAX ? name : "");
	int err = admin_account_apply(j, &acc, true, &field);
	rc = account_save(r, err, &field, op_create, &acc, MHD_HTTP_CREATED);
	json_decref(j);
	return rc;
}

/* One PATCH or PUT .../turn, applied inside the store's write
 * transaction (store_account_modify). */
struct patch_ctx {
	json_t *body;
	bool turn;
	struct store_server tmp[STORE_SERVERS_MAX];
	struct admin_field field;
	int apply_err; /* what fn returned, to tell it from the store's */
};

#define PATCH_FEATURE EPERM  /* 403 feature_disabled */
#define PATCH_CONFLICT EBUSY /* 409: the feature is in use */

static int patch_edit(struct store_account *acc, void *arg)
{
	struct patch_ctx *c = arg;
	int err = c->turn ? admin_turn_apply(c->body, acc, c->tmp, &c->field)
			  : admin_account_apply(c->body, acc, false, &c->field);
	/* Without the feature: a PUT asks for what is not enabled (403); a
	 * PATCH turning the feature off while a policy uses it conflicts
	 * with that policy (409). */
	if (!err && !acc->configurable_turn &&
	    (acc->mode != STORE_TURN_PLATFORM || acc->nservers))
		err = c->turn ? PATCH_FEATURE : PATCH_CONFLICT;
	if (!err && store_account_validate(acc, &c->field.name) != 0)
		err = EINVAL;
	c->apply_err = err;
	return err;
}

static int patch_reply_err(struct api_req *r, const struct patch_ctx *c,
			   int err)
{
	if (err == PATCH_FEATURE)
		return api_reply_error(r, MHD_HTTP_FORBIDDEN, "feature_disabled",
				       "Configurable TURN is not enabled for this account");
	if (err == PATCH_CONFLICT)
		return api_reply_error(r, MHD_HTTP_CONFLICT, "conflict",
				       "features.configurableTurn: the account has "
				       "a Configurable TURN policy; PUT its turn "
				       "{\"mode\":\"platform\"} first");
	if (err == c->apply_err)
		return reply_field(r, err, &c->field);
	return admin_store_err(r, err, "account");
}

struct patch_op {
	const char *name;
	struct patch_ctx *c;
};

static int op_patch(struct store *s, void *arg)
{
	struct patch_op *op = arg;
	return store_account_modify(s, op->name, patch_edit, op->c);
}

/* PATCH an account or PUT its turn policy: read, apply and write in one
 * transaction, so concurrent admin calls (or the CLI) never undo each
 * other's changes. */
static int account_patch(struct api_req *r, const char *name, bool turn)
{
	int rc;
	struct patch_ctx c = {.turn = turn};
	c.body = admin_body(r, &rc);
	if (!c.body)
		return rc;
	struct patch_op op = {name, &c};
	int err = admin_write(r->api, op_patch, &op);
	rc = err ? patch_reply_err(r, &c, err)
		 : reply_account(r, MHD_HTTP_OK, name);
	explicit_bzero(c.tmp, sizeof(c.tmp));
	json_decref(c.body);
	return rc;
}

static int account_delete(struct api_req *r, char *name)
{
	int err = admin_write(r->api, op_delete, name);
	return err ? admin_store_err(r, err, "account")
		   : api_reply_json(r, MHD_HTTP_NO_CONTENT, NULL);
}

/* A query parameter's value, NULL when absent. One given without a
 * value, or with a NUL (%00) in it, reads as "" so that it is refused
 * rather than taken as absent or cut short. */
const char *admin_query(struct api_req *r, const char *name)
{
	const char *v = NULL;
	size_t n = 0;
	if (MHD_lookup_connection_value_n(r->conn, MHD_GET_ARGUMENT_KIND, name,
					  strlen(name), &v, &n) != MHD_YES)
		return NULL;
	return v && strlen(v) == n ? v : "";
}

static int page_refuse(struct api_req *r, const char *param)
{
	char msg[96];
	if (strcmp(param, "limit") == 0)
		snprintf(msg, sizeof(msg), "invalid query parameter limit: an "
			 "integer from 1 to %d", ADMIN_PAGE_MAX);
	else
		snprintf(msg, sizeof(msg), "invalid query parameter %s: an "
			 "account name", param);
	return api_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_request", msg);
}

/* GET /v1/admin/accounts[?limit=N][&after=NAME]: one page in name order;
 * "next" is the after of the next page, null on the last. */
static int account_list(struct api_req *r)
{
	size_t limit;
	const char *param, *after = admin_query(r, "after");
	if (admin_page_parse(admin_query(r, "limit"), after, &limit, &param))
		return page_refuse(r, param);
	struct api_dir *d = api_dir_get(r->api);
	const struct store_snap *snap = d ? d->snap : NULL;
	struct admin_page pg;
	admin_page_find(snap, after, limit, &pg);
	json_t *arr = json_array();
	for (size_t i = pg.start; i < pg.start + pg.count; i++)
		json_array_append_new(arr, admin_account_json(&snap->accounts[i],
							       snap));
	json_t *next = json_null();
	if (pg.more)
		next = json_string(snap->accounts[pg.start + pg.count - 1].name);
	api_dir_put(d);
	return api_reply_json(r, MHD_HTTP_OK, json_pack("{s:o,s:o}", "accounts",
							arr, "next", next));
}

/* kid, alg and material from the body. The kid's characters are the
 * store's to check; the material must be usable for alg and, for the
 * asymmetric algorithms, a public key only (jwt_key_check_public, as the
 * CLI). EINVAL/ENOENT with *field set, as admin_account_apply. */
static int key_check(json_t *j, struct store_key *k, const char **field)
{
	const char *kid = json_string_value(json_object_get(j, "kid"));
	const char *alg = json_string_value(json_object_get(j, "alg"));
	const char *sec = json_string_value(json_object_get(j, "secret"));
	const char *pem = json_string_value(json_object_get(j, "publicKey"));
	const char *key;
	json_t *v;
	json_object_foreach(j, key, v) {
		*field = key;
		if (strcmp(key, "kid") && strcmp(key, "alg") &&
		    strcmp(key, "secret") && strcmp(key, "publicKey"))
			return ENOENT;
	}
	*field = "kid";
	if (!kid || strlen(kid) >= STORE_KID_MAX)
		return EINVAL;
	*field = "alg";
	enum jwt_alg a = alg ? jwt_alg_from_str(alg) : JWT_ALG_NONE;
	if (a == JWT_ALG_NONE)
		return EINVAL;
	/* The other kind of material is refused whatever its JSON type
	 * (null, a number): ignoring it would hide a mistake. */
	*field = a == JWT_ALG_HS256 ? "publicKey" : "secret";
	if (json_object_get(j, *field))
		return EINVAL;
	*field = a == JWT_ALG_HS256 ? "secret" : "publicKey";
	const char *mat = a == JWT_ALG_HS256 ? sec : pem;
	if (!mat || jwt_key_check_public(a, (const uint8_t *)mat, strlen(mat)) != 0)
		return EINVAL;
	memcpy(k->kid, kid, strlen(kid) + 1);
	snprintf(k->alg, sizeof(k->alg), "%s", jwt_alg_str(a));
	k->material = (uint8_t *)(uintptr_t)mat;
	k->len = strlen(mat);
	return 0;
}

/* The key as the store recorded it (its created time, not our clock). */
static int reply_key(struct api_req *r, const char *kid)
{
	struct api_dir *d = api_dir_get(r->api);
	long i = d ? api_dir_key(d, kid) : -1;
	int rc = i < 0 ? admin_store_err(r, ENOENT, "key")
		 : api_reply_json(r, MHD_HTTP_CREATED,
			json_pack("{s:s,s:s,s:I}", "kid", kid, "alg",
				  d->snap->keys[i].alg, "created",
				  (json_int_t)d->snap->keys[i].created));
	api_dir_put(d);
	return rc;
}

static int key_add(struct api_req *r, const char *name)
{
	int rc;
	const char *field = NULL;
	json_t *j = admin_body(r, &rc);
	if (!j)
		return rc;
	struct store_key k;
	memset(&k, 0, sizeof(k));
	memcpy(k.account, name, strlen(name) + 1); /* length checked by caller */
	int err = key_check(j, &k, &field);
	struct admin_field f = {NULL, field ? field : "body"};
	if (!err) {
		err = admin_write(r->api, op_key_add, &k);
		rc = err ? admin_store_err(r, err, err == ENOENT ? "account" : "kid")
			 : reply_key(r, k.kid);
	} else
		rc = reply_field(r, err, &f);
	json_decref(j);
	return rc;
}

struct key_ref {
	const char *account, *kid;
};

static int op_key_rm(struct store *s, void *arg)
{
	struct key_ref *k = arg;
	return store_key_remove(s, k->account, k->kid);
}

static int admin_keys(struct api_req *r, struct admin_path *p, const char *m)
{
	if (p->n == 3 && strcmp(m, "POST") == 0)
		return key_add(r, p->seg[1]);
	if (p->n == 4 && strcmp(m, "DELETE") == 0) {
		struct key_ref k = {p->seg[1], p->seg[3]};
		int err = admin_write(r->api, op_key_rm, &k);
		return err ? admin_store_err(r, err, "key")
			   : api_reply_json(r, MHD_HTTP_NO_CONTENT, NULL);
	}
	if (p->n == 3 && strcmp(m, "GET") == 0) {
		struct api_dir *d = api_dir_get(r->api);
		if (!d || !store_snap_account(d->snap, p->seg[1])) {
			api_dir_put(d);
			return admin_store_err(r, ENOENT, "account");
		}
		json_t *keys = admin_keys_json(d->snap, p->seg[1]);
		api_dir_put(d);
		return api_reply_json(r, MHD_HTTP_OK, json_pack("{s:o}", "keys", keys));
	}
	return api_reply_error_h(r, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
				 "method not allowed on this path", "Allow",
				 p->n == 3 ? "GET, POST" : "DELETE");
}

static int admin_account(struct api_req *r, struct admin_path *p, const char *m)
{
	if (strlen(p->seg[1]) >= STORE_NAME_MAX)
		return admin_store_err(r, ENOENT, "account");
	if (p->n == 2) {
		if (strcmp(m, "GET") == 0)
			return reply_account(r, MHD_HTTP_OK, p->seg[1]);
		if (strcmp(m, "PATCH") == 0)
			return account_patch(r, p->seg[1], false);
		if (strcmp(m, "DELETE") == 0)
			return account_delete(r, p->seg[1]);
		return api_reply_error_h(r, MHD_HTTP_METHOD_NOT_ALLOWED,
					 "method_not_allowed", "method not allowed",
					 "Allow", "GET, PATCH, DELETE");
	}
	if (strcmp(p->seg[2], "keys") == 0 && p->n <= 4)
		return admin_keys(r, p, m);
	if (strcmp(p->seg[2], "blocks") == 0 && p->n <= 4)
		return admin_blocks(r, p->seg[1], p->n == 4 ? p->seg[3] : NULL, m);
	if (strcmp(p->seg[2], "turn") == 0 && p->n == 3) {
		if (strcmp(m, "PUT") == 0)
			return account_patch(r, p->seg[1], true);
		if (strcmp(m, "GET") == 0)
			return reply_account(r, MHD_HTTP_OK, p->seg[1]);
		return api_reply_error_h(r, MHD_HTTP_METHOD_NOT_ALLOWED,
					 "method_not_allowed", "method not allowed",
					 "Allow", "GET, PUT");
	}
	return api_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found", "no such endpoint");
}

/* POST /v1/admin/drain: the daemon stops taking allocations and exits
 * once the last one is gone (turnstone(8), DRAINING). It does not need
 * the store, so it works while the store is down. */
static int admin_drain(struct api_req *r)
{
	const struct api_cfg *c = &r->api->cfg;
	if (strcmp(r->method, "POST") != 0)
		return api_reply_error_h(r, MHD_HTTP_METHOD_NOT_ALLOWED,
					 "method_not_allowed", "method not allowed",
					 "Allow", "POST");
	if (!c->drain_h || c->drain_h(c->drain_arg) != 0)
		return api_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE,
				       "drain_unavailable", "cannot start a drain");
	return api_reply_json(r, MHD_HTTP_ACCEPTED,
			      json_pack("{s:s}", "status", "draining"));
}

/* An audit line for each admin change that took (accounts, keys,
 * blocks, TURN policy, drain): who (the client address), what (method
 * and path), and the status. Never a body: keys and secrets travel
 * there. The path is percent-decoded, so control bytes become '?'. */
static void admin_audit(const struct api_req *r)
{
	char path[512];
	size_t n = 0;
	for (const char *p = r->url; *p && n + 1 < sizeof(path); p++)
		path[n++] = (unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p;
	path[n] = '\0';
	log_info("admin: %s %s from %s: %u", r->method, path, r->ip, r->status);
}

/* GET /v1/admin/health. Another method is a 405, not a read (which
 * would also leave an audit line for a change that never was). */
static int admin_health(struct api_req *r)
{
	struct api_health *h = r->api->health;
	if (strcmp(r->method, "GET") != 0)
		return api_reply_error_h(r, MHD_HTTP_METHOD_NOT_ALLOWED,
					 "method_not_allowed", "method not allowed",
					 "Allow", "GET");
	return api_reply_json(r, MHD_HTTP_OK, h ? api_health_json(h)
						: json_pack("{s:[]}", "servers"));
}

static int admin_route(struct api_req *r);

int api_admin_handle(struct api_req *r)
{
	/* HEAD is routed as GET (RFC 9110 9.3.2); libmicrohttpd leaves out
	 * the body of a HEAD request's answer. */
	const char *method = r->method;
	bool head = strcmp(method, "HEAD") == 0;
	if (head)
		r->method = "GET";
	int rc = admin_route(r);
	r->method = method;
	if (!head && strcmp(method, "GET") && r->replied && r->status >= 200 &&
	    r->status < 300)
		admin_audit(r);
	return rc;
}

static int admin_route(struct api_req *r)
{
	struct admin_path p;
	const char *m = r->method;
	if (!api_admin_authorized(r))
		return api_reply_error_h(r, MHD_HTTP_UNAUTHORIZED, "invalid_token",
					 "admin token required", "WWW-Authenticate",
					 "Bearer error=\"invalid_token\"");
	if (strcmp(r->url, "/v1/admin/drain") == 0)
		return admin_drain(r);
	if (!atomic_load(&r->api->store_ok))
		return admin_store_err(r, EIO, "store");
	if (admin_path_split(r->url, &p) != 0 || p.n == 0)
		return api_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found", "no such endpoint");
	if (strcmp(p.seg[0], "health") == 0 && p.n == 1)
		return admin_health(r);
	if (strcmp(p.seg[0], "usage") == 0 && p.n == 1)
		return admin_usage(r);
	if (strcmp(p.seg[0], "accounts") != 0)
		return api_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found", "no such endpoint");
	if (p.n == 1) {
		if (strcmp(m, "GET") == 0)
			return account_list(r);
		if (strcmp(m, "POST") == 0)
			return account_create(r);
		return api_reply_error_h(r, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
					 "method not allowed", "Allow", "GET, POST");
	}
	return admin_account(r, &p, m);
}
