/* libFuzzer target for the API's untrusted inputs: a token as sent
 * (jwt_parse, then jwt_verify with an HS256 key), the same bytes signed as
 * a payload so that the claim parser behind the signature is reached, and
 * the ice-servers request body in both content types. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "auth/jwt.h"

static const uint8_t key_bytes[] = "fuzz-secret-0123456789abcdefghijklmnop";

static void fuzz_token(const struct jwt_key *k, const char *s, size_t n)
{
	struct jwt t;
	struct jwt_claims c;
	enum jwt_reason why;
	struct jwt_expect e = {.iss = "acme", .aud = "turnstone",
			       .now = 1700000000, .skew = 60};
	if (jwt_parse(s, n, &t, &why) == 0)
		(void)jwt_verify(&t, k, &e, &c, &why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct jwt_key *k;
	char *s = malloc(size + 1), tok[JWT_MAX_LEN + 1];
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (!k && jwt_key_new(&k, JWT_ALG_HS256, key_bytes, sizeof(key_bytes) - 1))
		abort();
	fuzz_token(k, s, size);
	if (strlen(s) == size &&
	    jwt_sign(JWT_ALG_HS256, "k1", key_bytes, sizeof(key_bytes) - 1, s, tok,
		     sizeof(tok)) == 0)
		fuzz_token(k, tok, strlen(tok));
	uint32_t ttl;
	char msg[API_BODY_MSG_MAX];
	(void)api_body_ttl("application/json", s, size, &ttl, msg);
	(void)api_body_ttl("application/x-www-form-urlencoded", s, size, &ttl, msg);
	free(s);
	return 0;
}
