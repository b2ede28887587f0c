/* JWT JSON: bounded loading, and the registered claims (RFC 7519 4.1)
 * checked against what the caller expects. */
#include <errno.h>
#include <string.h>

#include "auth/jwt_int.h"

/* Nesting depth by a byte scan, before jansson's recursive parser sees
 * the text: 3,000 brackets cost one pass, not 3,000 stack frames.
 * Brackets inside strings do not count. */
static int jwt_json_depth(const uint8_t *s, size_t n, unsigned max)
{
	unsigned depth = 0;
	bool in_str = false, esc = false;

	for (size_t i = 0; i < n; i++) {
		uint8_t c = s[i];
		if (esc)
			esc = false;
		else if (in_str && c == '\\')
			esc = true;
		else if (c == '"')
			in_str = !in_str;
		else if (!in_str && (c == '{' || c == '['))
			depth++;
		else if (!in_str && (c == '}' || c == ']') && depth > 0)
			depth--;
		if (depth > max)
			return EBADMSG;
	}
	return 0;
}

int jwt_json_load(const uint8_t *buf, size_t n, unsigned max_depth,
		  json_t **objp)
{
	json_error_t jerr;
	json_t *o;

	if (jwt_json_depth(buf, n, max_depth))
		return EBADMSG;
	/* RFC 7515 4 and RFC 7519 4: duplicate names must be
	 * rejected, or two parsers could read two different tokens. */
	o = json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(o)) {
		json_decref(o);
		return EBADMSG;
	}
	*objp = o;
	return 0;
}

int jwt_json_str(const json_t *o, const char *name,
		 bool (*ok)(const char *s, size_t n), char *out)
{
	const json_t *j = json_object_get(o, name);
	size_t n = json_string_length(j);

	if (!json_is_string(j) || !ok(json_string_value(j), n))
		return EINVAL;
	memcpy(out, json_string_value(j), n);
	out[n] = '\0';
	return 0;
}

static uint64_t jwt_add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* A NumericDate (RFC 7519 2): a non-negative JSON number, a fraction
 * allowed (an issuer that writes time.time() + 300 sends one). up rounds a
 * fraction up (nbf, iat: never earlier than the issuer wrote), else down
 * (exp: never later); beyond 2^64 saturates. 0, ENOENT when absent
 * (*v = 0), EINVAL when ill-typed or negative. */
static int jwt_claim_time(const json_t *p, const char *name, bool up,
			  uint64_t *v)
{
	const json_t *j = json_object_get(p, name);
	double d;

	*v = 0;
	if (!j)
		return ENOENT;
	if (json_is_integer(j)) {
		if (json_integer_value(j) < 0)
			return EINVAL;
		*v = (uint64_t)json_integer_value(j);
		return 0;
	}
	d = json_real_value(j); /* 0.0 for a non-number */
	if (!json_is_real(j) || !(d >= 0.0))
		return EINVAL;
	if (d >= 18446744073709551616.0) { /* 2^64: the cast would be UB */
		*v = UINT64_MAX;
		return 0;
	}
	*v = (uint64_t)d; /* truncation is floor for d >= 0 */
	if (up && (double)*v < d)
		(*v)++;
	return 0;
}

/* RFC 7519 4.1.4-4.1.6, with the caller's skew either way. */
static enum jwt_reason jwt_claims_time(const json_t *p,
				       const struct jwt_expect *e,
				       struct jwt_claims *c)
{
	uint64_t late = jwt_add_sat(e->now, e->skew);

	/* 4.1.4: now must be before exp (plus the skew); at exp it is over. */
	if (jwt_claim_time(p, "exp", false, &c->exp) ||
	    jwt_add_sat(c->exp, e->skew) <= e->now)
		return JWT_R_EXPIRED;
	if (jwt_claim_time(p, "nbf", true, &c->nbf) == EINVAL ||
	    jwt_claim_time(p, "iat", true, &c->iat) == EINVAL)
		return JWT_R_CLAIMS;
	if (c->nbf > late || c->iat > late)
		return JWT_R_NOT_YET;
	/* A token that lives for years is a password: cap what we honour. */
	if (e->max_lifetime && c->exp > jwt_add_sat(late, e->max_lifetime))
		return JWT_R_LIFETIME;
	return JWT_OK;
}

/* RFC 7519 4.1.3: a string, or an array of strings, one of them ours. */
static bool jwt_aud_has(const json_t *aud, const char *want)
{
	const json_t *v;
	bool found = false;
	size_t i;

	if (json_is_string(aud))
		return strcmp(json_string_value(aud), want) == 0;
	if (!json_is_array(aud))
		return false;
	json_array_foreach(aud, i, v) {
		if (!json_is_string(v))
			return false;
		if (strcmp(json_string_value(v), want) == 0)
			found = true;
	}
	return found;
}

/* sub becomes part of a TURN username "expiry:account:sub", so it must
 * be short printable ASCII without the ':' separator. */
static bool jwt_sub_valid(const char *s, size_t n)
{
	if (n == 0 || n >= JWT_SUB_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < 0x20 || s[i] > 0x7e || s[i] == ':')
			return false;
	}
	return true;
}

enum jwt_reason jwt_claims_check(const json_t *payload,
				 const struct jwt_expect *e,
				 struct jwt_claims *out)
{
	const json_t *iss = json_object_get(payload, "iss");
	enum jwt_reason r;

	r = jwt_claims_time(payload, e, out);
	if (r)
		return r;
	if (e->iss && (!json_is_string(iss) ||
		       strcmp(json_string_value(iss), e->iss) != 0))
		return JWT_R_ISSUER;
	if (e->aud && !jwt_aud_has(json_object_get(payload, "aud"), e->aud))
		return JWT_R_AUDIENCE;
	if (jwt_json_str(payload, "sub", jwt_sub_valid, out->sub))
		return JWT_R_CLAIMS;
	return JWT_OK;
}
