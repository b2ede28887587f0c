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

bool auth_rest_sep_ok(char sep)
{
	/* A digit would run into the expiry; a space or control character
	 * cannot be written in a config file or seen in a log. */
	return sep > ' ' && sep < 0x7f && !(sep >= '0' && sep <= '9');
}

/* The whole of s[0..len) as a decimal. */
static int rest_parse_all(const char *s, size_t len, uint64_t *v)
{
	size_t end;
	return rest_parse_u64(s, len, v, &end) || end != len ? EINVAL : 0;
}

/* "<expiry><sep><userid>", a bare "<expiry>", or, as coturn also reads
 * them, "<userid><sep><expiry>" when what precedes the first separator
 * is not a number. Anything else ("123abc", "alice:12x") is refused, so
 * that a username has one reading and an unreadable expiry is never 0. */
int auth_rest_parse(const char *username, size_t len, char sep,
		    uint64_t *expiry, const char **userid, size_t *userid_len)
{
	if (!username)
		return EINVAL;
	const char *s = memchr(username, sep, len);
	size_t p = s ? (size_t)(s - username) : len;
	uint64_t exp;
	size_t uid, ulen;
	if (p > 0 && rest_parse_all(username, p, &exp) == 0) {
		uid = p < len ? p + 1 : p; /* "<expiry>[<sep><userid>]" */
		ulen = len - uid;
	} else if (s && rest_parse_all(s + 1, len - p - 1, &exp) == 0) {
		uid = 0; /* "<userid><sep><expiry>" */
		ulen = p;
	} else {
		return EINVAL;
	}
	if (expiry)
		*expiry = exp;
	if (userid)
		*userid = username + uid;
	if (userid_len)
		*userid_len = ulen;
	return 0;
}

static uint64_t rest_add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

int auth_rest_check_time(const char *username, size_t len, char sep,
			 uint64_t now, uint64_t max_ttl, uint64_t skew)
{
	uint64_t exp;

	if (auth_rest_parse(username, len, sep, &exp, NULL, NULL))
		return EINVAL;
	if (exp < now)
		return EKEYEXPIRED;
	/* A far-future expiry is a credential that never dies: refuse it. */
	if (exp > rest_add_sat(rest_add_sat(now, max_ttl), skew))
		return ERANGE;
	return 0;
}

int auth_rest_username(uint64_t now, uint64_t ttl, const char *userid,
		       char sep, char *out, size_t outsz)
{
	if (!out || outsz == 0 || now > UINT64_MAX - ttl || !auth_rest_sep_ok(sep))
		return EINVAL;
	int n = snprintf(out, outsz, "%" PRIu64 "%c%s", now + ttl, sep,
			 userid ? userid : "");
	if (n < 0)
		return EINVAL;
	if ((size_t)n >= outsz)
		return ENOSPC;
	return 0;
}
