/* GET /v1/revoked: what this API no longer stands behind, for the other
 * TURN servers of a fleet (revoked-from, server/revsync.c): the blocked
 * "<account>:<sub>" user-ids and the disabled (or recently deleted)
 * accounts.
 *
 * A TURN server of the fleet already holds the platform's shared secret
 * (it checks every credential minted here with it), so it authenticates
 * with a TURN REST credential of its own making, in HTTP Basic: user
 * "<expiry>:<name>" (no ':' in the name, unlike every end user's
 * "<expiry>:<account>:<sub>"), password base64(HMAC-SHA1(secret, user)).
 * No new secret needs handing out. The answer carries an ETag (a hash
 * of the lists), so an unchanged list costs a 304. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <microhttpd.h>
#include <openssl/evp.h>

#include "api/api_int.h"
#include "auth/auth.h"

#define REVOKED_CRED_MAX 512
#define REVOKED_SKEW 60
/* revoked-from signs with a credential valid for a minute: one that
 * lives longer is not a poll's, and would be a replayable token. */
#define REVOKED_MAX_AHEAD 300

/* "Basic base64(user:pass)" -> user and pass, NUL-terminated in buf. */
static bool basic_split(const char *h, char *buf, size_t sz, const char **user,
			const char **pass)
{
	if (!h || strncasecmp(h, "Basic ", 6) != 0)
		return false;
	h += 6;
	size_t n = strlen(h);
	if (n == 0 || n % 4 || (n / 4) * 3 >= sz)
		return false;
	int len = EVP_DecodeBlock((unsigned char *)buf, (const unsigned char *)h,
				  (int)n);
	if (len < 0)
		return false;
	len -= (h[n - 1] == '=') + (h[n - 2] == '=');
	buf[len] = '\0';
	char *colon = memchr(buf, ':', (size_t)len);
	/* The REST username holds ':' itself: the password is after the
	 * last one (base64 has none). */
	colon = colon ? strrchr(buf, ':') : NULL;
	if (!colon || strlen(buf) != (size_t)len)
		return false;
	*colon = '\0';
	*user = buf;
	*pass = colon + 1;
	return true;
}

/* "<expiry>:<name>", the name without ':' (revsync.c signs with
 * "<expiry>:revoked-from"). POST /v1/ice-servers hands every end user
 * "<expiry>:<account>:<sub>" of these same secrets: such a credential
 * must not list the other customers' blocked users. */
static bool revoked_user_ok(const char *user)
{
	size_t d = strspn(user, "0123456789");
	return d > 0 && user[d] == ':' && !strchr(user + d + 1, ':');
}

/* A fleet node's REST credential, unexpired and not too far ahead,
 * made with one of the platform's secrets. */
static bool revoked_authorized(struct api_req *r)
{
	const struct api_cfg *c = &r->api->cfg;
	char buf[REVOKED_CRED_MAX];
	const char *user, *pass;
	if (!basic_split(api_header(r, "Authorization"), buf, sizeof(buf),
			 &user, &pass))
		return false;
	size_t ulen = strlen(user);
	bool ok = revoked_user_ok(user) &&
		  auth_rest_check_time(user, ulen, AUTH_REST_SEP, api_wall_s(),
				       REVOKED_MAX_AHEAD, REVOKED_SKEW) == 0 &&
		  strlen(pass) == AUTH_REST_PASS_LEN - 1;
	bool match = false;
	for (unsigned i = 0; ok && i < c->nplatform; i++) {
		char want[AUTH_REST_PASS_LEN + 4];
		const char *s = c->platform[i].secret;
		if (*s && auth_rest_password(s, strlen(s), user, ulen, want,
					     sizeof(want)) == 0)
			match |= auth_ct_equal(want, pass, AUTH_REST_PASS_LEN - 1);
		explicit_bzero(want, sizeof(want));
	}
	explicit_bzero(buf, sizeof(buf));
	return ok && match;
}

static json_t *revoked_json(const struct store_snap *snap)
{
	json_t *users = json_array(), *accounts = json_array();
	char uid[STORE_NAME_MAX + STORE_SUB_MAX];
	for (size_t i = 0; users && i < snap->nblocks; i++) {
		snprintf(uid, sizeof(uid), "%s:%s", snap->blocks[i].account,
			 snap->blocks[i].sub);
		json_array_append_new(users, json_string(uid));
	}
	const char **names = NULL;
	size_t n = 0;
	if (store_snap_refused(snap, &names, &n) != 0) {
		json_decref(users);
		json_decref(accounts);
		return NULL;
	}
	for (size_t i = 0; accounts && i < n; i++)
		json_array_append_new(accounts, json_string(names[i]));
	free(names);
	return json_pack("{s:o,s:o}", "users", users, "accounts", accounts);
}

int api_revoked_handle(struct api_req *r)
{
	if (!revoked_authorized(r))
		return api_reply_error_h(r, MHD_HTTP_UNAUTHORIZED, "invalid_token",
					 "a TURN REST credential of the platform's "
					 "secret is required", "WWW-Authenticate",
					 "Basic realm=\"turnstone\"");
	struct api_dir *d = atomic_load(&r->api->store_ok) ? api_dir_get(r->api)
							   : NULL;
	if (!d)
		return api_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE,
				       "store_unavailable",
				       "the account store is unavailable");
	/* The ETag hashes the lists themselves, not the store's version,
	 * which moves with every usage record written: a fleet polling an
	 * unchanged list gets 304s. */
	json_t *j = revoked_json(d->snap);
	api_dir_put(d);
	char *body = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!body)
		return api_reply_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR,
				       "internal", "cannot build the lists");
	char etag[API_ETAG_LEN];
	api_etag(body, etag);
	const char *inm = api_header(r, "If-None-Match");
	bool same = inm && strcmp(inm, etag) == 0;
	struct MHD_Response *resp = same
		? MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT)
		: MHD_create_response_from_buffer(strlen(body), body,
						  MHD_RESPMEM_MUST_FREE);
	if (same || !resp)
		free(body);
	if (resp) {
		MHD_add_response_header(resp, "ETag", etag);
		MHD_add_response_header(resp, "Cache-Control", "no-store");
		if (!same)
			MHD_add_response_header(resp, "Content-Type",
						"application/json");
	}
	return api_reply(r, same ? MHD_HTTP_NOT_MODIFIED : MHD_HTTP_OK, resp);
}
