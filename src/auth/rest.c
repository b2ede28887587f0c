/* TURN REST credentials (draft-uberti-behave-turn-rest-00, as coturn's
 * use-auth-secret): the web service and the TURN server share a secret;
 * the username carries its own expiry and the password is
 * base64(HMAC-SHA1(secret, username)), so the server keeps no user table. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "auth/auth.h"
#include "stun/stun.h"

#define REST_SHA1_LEN 20

int auth_rest_password(const char *secret, size_t secret_len,
		       const char *username, size_t user_len, char *out,
		       size_t outsz)
{
	return auth_rest_password_with(NULL, secret, secret_len, username,
				       user_len, out, outsz);
}

int auth_rest_password_with(struct stun_mac *ctx, const char *secret,
			    size_t secret_len, const char *username,
			    size_t user_len, char *out, size_t outsz)
{
	uint8_t mac[REST_SHA1_LEN];

	/* An empty secret would let anyone mint credentials. */
	if (!secret || secret_len == 0 || secret_len > INT32_MAX ||
	    (!username && user_len > 0) || !out)
		return EINVAL;
	if (outsz < AUTH_REST_PASS_LEN)
		return ENOSPC;
	if (stun_hmac_sha1(ctx, (const uint8_t *)secret, secret_len,
			   (const uint8_t *)(username ? username : ""), user_len,
			   mac))
		return EINVAL;
	/* 20 bytes -> 28 characters plus NUL; EncodeBlock adds the NUL. */
	EVP_EncodeBlock((unsigned char *)out, mac, REST_SHA1_LEN);
	return 0;
}

/* Leading decimal of up to len bytes; *end is the first non-digit. */
static int rest_parse_u64(const char *s, size_t len, uint64_t *v, size_t *end)
{
	uint64_t n = 0;
	size_t i = 0;

	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		unsigned d = (unsigned)(s[i] - '0');
		if (n > (UINT64_MAX - d) / 10)
			return EINVAL;
		n = n * 10 + d;
	}
	if (i == 0)
		return EINVAL;
	*v = n;
	*end = i;
	return 0;
}

/* "<expiry>:<userid>" or a bare "<expiry>"; anything else after the
 * digits ("123abc", "12 :x") is rejected so one username has one reading. */
int auth_rest_parse(const char *username, size_t len, uint64_t *expiry,
		    const char **userid, size_t *userid_len)
{
	uint64_t exp;
	size_t end;

	if (!username || rest_parse_u64(username, len, &exp, &end))
		return EINVAL;
	if (end < len && username[end] != ':')
		return EINVAL;
	size_t uid = end < len ? end + 1 : end;
	if (expiry)
		*expiry = exp;
	if (userid)
		*userid = username + uid;
	if (userid_len)
		*userid_len = len - uid;
	return 0;
}

static uint64_t rest_add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

int auth_rest_check_time(const char *username, size_t len, uint64_t now,
			 uint64_t max_ttl, uint64_t skew)
{
	uint64_t exp;

	if (auth_rest_parse(username, len, &exp, NULL, NULL))
		return EINVAL;
	if (exp < now)
		return EKEYEXPIRED;
	/* A far-future expiry is a credential that never dies: refuse it. */
	if (exp > rest_add_sat(rest_add_sat(now, max_ttl), skew))
		return ERANGE;
	return 0;
}

int auth_rest_username(uint64_t now, uint64_t ttl, const char *userid,
		       char *out, size_t outsz)
{
	if (!out || outsz == 0 || now > UINT64_MAX - ttl)
		return EINVAL;
	int n = snprintf(out, outsz, "%" PRIu64 ":%s", now + ttl,
			 userid ? userid : "");
	if (n < 0)
		return EINVAL;
	if ((size_t)n >= outsz)
		return ENOSPC;
	return 0;
}
