/* Minting: header "." payload "." signature, each base64url (RFC 7515
 * 7.1). The claims are the caller's bytes, unchecked, so tests can sign
 * hostile payloads and prove that jwt_verify refuses them. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "auth/jwt_int.h"

/* Append base64url(in) and, when sep, a '.'; out stays NUL-terminated. */
static int jwt_put(char *out, size_t outsz, size_t *pos, const void *in,
		   size_t n, bool sep)
{
	size_t len = 0;
	int err = jwt_b64_encode(in, n, out + *pos, outsz - *pos, &len);

	if (err)
		return err;
	*pos += len;
	if (!sep)
		return 0;
	if (*pos + 2 > outsz)
		return ENOSPC;
	out[(*pos)++] = '.';
	out[*pos] = '\0';
	return 0;
}

static int jwt_sign_key(const struct jwt_key *key, const char *kid,
			const char *claims, char *out, size_t outsz)
{
	char hdr[128];
	uint8_t sig[JWT_SIG_MAX];
	size_t pos = 0, siglen = 0;
	int n, err;

	n = snprintf(hdr, sizeof(hdr),
		     "{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"JWT\"}",
		     jwt_alg_str(key->alg), kid);
	if (n < 0 || (size_t)n >= sizeof(hdr))
		return EINVAL;
	err = jwt_put(out, outsz, &pos, hdr, (size_t)n, true);
	if (!err)
		err = jwt_put(out, outsz, &pos, claims, strlen(claims), true);
	if (!err)
		err = jwt_sig_make(key, out, pos - 1, sig, sizeof(sig),
				   &siglen);
	if (!err)
		err = jwt_put(out, outsz, &pos, sig, siglen, false);
	return err;
}

int jwt_sign(enum jwt_alg alg, const char *kid, const uint8_t *material,
	     size_t len, const char *claims_json, char *out, size_t outsz)
{
	struct jwt_key *key = NULL;
	int err;

	/* The kid goes into the header unescaped: only the safe alphabet. */
	if (!kid || !claims_json || !out || !jwt_kid_valid(kid, strlen(kid)))
		return EINVAL;
	if (outsz == 0)
		return ENOSPC;
	err = jwt_key_load(&key, alg, material, len, true);
	if (err)
		return err;
	err = jwt_sign_key(key, kid, claims_json, out, outsz);
	jwt_key_free(key);
	if (err)
		out[0] = '\0';
	return err;
}
