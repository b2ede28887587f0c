/* JWT compact serialisation (RFC 7515 7.1, RFC 7519 7.2): split and read
 * the header, then, with the caller's pinned key, verify the signature
 * before anything in the payload is looked at. */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "auth/jwt_int.h"

static const char *const jwt_reason_names[JWT_R_COUNT] = {
	[JWT_OK] = "ok",
	[JWT_R_MALFORMED] = "malformed",
	[JWT_R_TOO_LONG] = "too_long",
	[JWT_R_ALG] = "alg",
	[JWT_R_KID] = "kid",
	[JWT_R_SIGNATURE] = "signature",
	[JWT_R_EXPIRED] = "expired",
	[JWT_R_NOT_YET] = "not_yet",
	[JWT_R_ISSUER] = "issuer",
	[JWT_R_AUDIENCE] = "audience",
	[JWT_R_CLAIMS] = "claims",
	[JWT_R_LIFETIME] = "lifetime",
};

const char *jwt_reason_str(enum jwt_reason r)
{
	if ((size_t)r >= JWT_R_COUNT)
		return "unknown";
	return jwt_reason_names[r];
}

static int jwt_ret(enum jwt_reason *why, enum jwt_reason r, int err)
{
	if (why)
		*why = r;
	return err;
}

/* Exactly three segments; payload and signature must be base64url now,
 * so garbage is "malformed" before any key is looked up. */
static bool jwt_split(const char *tok, size_t len, struct jwt *t)
{
	const char *end = tok + len, *d2 = NULL;
	const char *d1 = memchr(tok, '.', len);
	size_t n;

	if (d1)
		d2 = memchr(d1 + 1, '.', (size_t)(end - d1 - 1));
	if (!d2 || memchr(d2 + 1, '.', (size_t)(end - d2 - 1)))
		return false;
	t->signing_input = tok;
	t->signing_len = (size_t)(d2 - tok);
	t->payload_b64 = d1 + 1;
	t->payload_len = (size_t)(d2 - d1 - 1);
	t->sig_b64 = d2 + 1;
	t->sig_len = (size_t)(end - d2 - 1);
	return jwt_b64_decode(t->payload_b64, t->payload_len, NULL, SIZE_MAX,
			      &n) == 0 &&
	       jwt_b64_decode(t->sig_b64, t->sig_len, NULL, SIZE_MAX, &n) == 0;
}

/* typ is optional; when present it must name a JWT (RFC 7519 5.1: "JWT";
 * RFC 9068's access-token type too), compared case-insensitively as a
 * media type (RFC 7515 4.1.9), so a JWE or other object is not taken for
 * one (RFC 8725 3.11). */
static bool jwt_typ_ok(const json_t *typ)
{
	static const char *const ok[] = {"JWT", "application/jwt", "at+jwt",
					 "application/at+jwt"};
	const char *s = json_string_value(typ);
	if (!typ)
		return true;
	for (size_t i = 0; s && i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strcasecmp(s, ok[i]) == 0)
			return true;
	return false;
}

/* RFC 7515 4.1: alg is required. crit lists extensions that must be
 * understood (4.1.11); we implement none, so any crit is refused. */
static enum jwt_reason jwt_header_fields(const json_t *h, struct jwt *t)
{
	if (json_object_get(h, "crit") || !jwt_typ_ok(json_object_get(h, "typ")))
		return JWT_R_MALFORMED;
	t->alg = jwt_alg_from_str(json_string_value(json_object_get(h, "alg")));
	if (t->alg == JWT_ALG_NONE)
		return JWT_R_ALG;
	/* Only [A-Za-z0-9._-]: no path or SQL fragment reaches a lookup. */
	if (jwt_json_str(h, "kid", jwt_kid_valid, t->kid))
		return JWT_R_KID;
	return JWT_OK;
}

static enum jwt_reason jwt_header_read(const char *b64, size_t len,
				       struct jwt *t)
{
	uint8_t buf[JWT_DEC_MAX];
	size_t n = 0;
	json_t *h = NULL;
	enum jwt_reason r;

	if (jwt_b64_decode(b64, len, buf, sizeof(buf), &n) ||
	    jwt_json_load(buf, n, JWT_HEADER_DEPTH, &h))
		return JWT_R_MALFORMED;
	r = jwt_header_fields(h, t);
	json_decref(h);
	return r;
}

int jwt_parse(const char *token, size_t len, struct jwt *out,
	      enum jwt_reason *why)
{
	struct jwt t;
	enum jwt_reason r;

	if (!token || !out)
		return jwt_ret(why, JWT_R_MALFORMED, EINVAL);
	if (len > JWT_MAX_LEN)
		return jwt_ret(why, JWT_R_TOO_LONG, EINVAL);
	memset(&t, 0, sizeof(t));
	if (!jwt_split(token, len, &t))
		return jwt_ret(why, JWT_R_MALFORMED, EINVAL);
	r = jwt_header_read(token, (size_t)(t.payload_b64 - 1 - token), &t);
	if (r)
		return jwt_ret(why, r, EINVAL);
	*out = t;
	return jwt_ret(why, JWT_OK, 0);
}

static enum jwt_reason jwt_payload_check(const struct jwt *t,
					 const struct jwt_expect *e,
					 struct jwt_claims *c)
{
	uint8_t buf[JWT_DEC_MAX];
	size_t n = 0;
	json_t *p = NULL;
	enum jwt_reason r;

	if (jwt_b64_decode(t->payload_b64, t->payload_len, buf, sizeof(buf),
			   &n) ||
	    jwt_json_load(buf, n, JWT_PAYLOAD_DEPTH, &p))
		return JWT_R_MALFORMED;
	r = jwt_claims_check(p, e, c);
	json_decref(p);
	return r;
}

int jwt_verify(const struct jwt *t, const struct jwt_key *key,
	       const struct jwt_expect *e, struct jwt_claims *out,
	       enum jwt_reason *why)
{
	uint8_t sig[JWT_DEC_MAX];
	size_t n = 0;
	struct jwt_claims c;
	enum jwt_reason r;

	if (!t || !key || !e || !out)
		return jwt_ret(why, JWT_R_MALFORMED, EINVAL);
	/* RFC 8725 3.1: the key, never the token, chooses the algorithm. */
	if (t->alg != key->alg)
		return jwt_ret(why, JWT_R_ALG, EACCES);
	if (jwt_b64_decode(t->sig_b64, t->sig_len, sig, sizeof(sig), &n) ||
	    jwt_sig_check(key, t->signing_input, t->signing_len, sig, n))
		return jwt_ret(why, JWT_R_SIGNATURE, EACCES);
	memset(&c, 0, sizeof(c));
	r = jwt_payload_check(t, e, &c);
	if (r)
		return jwt_ret(why, r, EACCES);
	*out = c;
	return jwt_ret(why, JWT_OK, 0);
}
