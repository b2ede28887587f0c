/* GET /v1/revoked: what this API no longer stands behind, for the other
 * TURN servers of a fleet (revoked-from, server/revsync.c): the blocked
 * "<account>:<sub>" user-ids and the disabled accounts.
 *
 * A TURN server of the fleet already holds the platform's shared secret
 * (it checks every credential minted here with it), so it authenticates
 * with a TURN REST credential of its own making, in HTTP Basic: user
 * "<expiry>:<anything>", password base64(HMAC-SHA1(secret, user)). That
 * grants nothing it could not mint itself, and no new secret needs
 * handing out. The answer carries an ETag (the store's version), so an
 * unchanged list costs a 304. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <microhttpd.h>
#include <openssl/evp.h>

#include "api/api_int.h"
#include "auth/auth.h"

#define REVOKED_CRED_MAX 512
#define REVOKED_SKEW 60

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

/* A REST credential, unexpired and not too far ahead, made with one of
 * the platform's secrets. */
static bool revoked_authorized(struct api_req *r)
{
	const struct api_cfg *c = &r->api->cfg;
	char buf[REVOKED_CRED_MAX];
	const char *user, *pass;
	if (!basic_split(api_header(r, "Authorization"), buf, sizeof(buf),
			 &user, &pass))
		return false;
	size_t ulen = strlen(user);
	bool ok = auth_rest_check_time(user, ulen, AUTH_REST_SEP, api_wall_s(),
				       c->max_ttl ? c->max_ttl : 86400,
				       REVOKED_SKEW) == 0 &&
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
	for (size_t i = 0; accounts && i < snap->naccounts; i++)
		if (snap->accounts[i].disabled)
			json_array_append_new(accounts,
					      json_string(snap->accounts[i].name));
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
	char etag[32];
	snprintf(etag, sizeof(etag), "\"%llu\"",
		 (unsigned long long)d->snap->version);
	const char *inm = api_header(r, "If-None-Match");
	bool same = inm && strcmp(inm, etag) == 0;
	struct MHD_Response *resp = same
		? MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT)
		: api_resp_json(revoked_json(d->snap));
	api_dir_put(d);
	if (resp)
		MHD_add_response_header(resp, "ETag", etag);
	return api_reply(r, same ? MHD_HTTP_NOT_MODIFIED : MHD_HTTP_OK, resp);
}
