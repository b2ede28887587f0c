/* Private to src/auth/jwt*.c: what jwt.c (parse, verify), jwt_claims.c,
 * jwt_key.c, jwt_sig.c and jwt_b64.c share. Not part of the auth API. */
#ifndef TS_AUTH_JWT_INT_H
#define TS_AUTH_JWT_INT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "auth/jwt.h"

/* No segment of a token within JWT_MAX_LEN decodes to more than this. */
#define JWT_DEC_MAX (JWT_MAX_LEN / 4 * 3)
/* Largest signature we make: RSA at OpenSSL's 16384-bit modulus cap. */
#define JWT_SIG_MAX 2048
#define JWT_HEADER_DEPTH 1  /* a flat object */
#define JWT_PAYLOAD_DEPTH 16

struct jwt_key {
	enum jwt_alg alg;
	EVP_PKEY *pkey;    /* RS256, ES256, EdDSA */
	uint8_t *secret;   /* HS256 */
	size_t secret_len;
};

/* jwt_key.c. priv: material must be a private key (for signing);
 * otherwise a public key, or a private one reduced to its public half. */
int jwt_key_load(struct jwt_key **keyp, enum jwt_alg alg,
		 const uint8_t *material, size_t len, bool priv);
bool jwt_kid_valid(const char *s, size_t n);

/* jwt_b64.c: base64url without padding (RFC 7515 2, RFC 4648 5). out may
 * be NULL to only validate. 0, EBADMSG or ENOSPC. */
int jwt_b64_decode(const char *in, size_t n, uint8_t *out, size_t outsz,
		   size_t *outlen);
/* Writes the encoding and a NUL; *outlen excludes the NUL. 0 or ENOSPC. */
int jwt_b64_encode(const uint8_t *in, size_t n, char *out, size_t outsz,
		   size_t *outlen);

/* jwt_sig.c: JWS signatures (RFC 7518 3). 0, EBADMSG (bad signature),
 * EINVAL, ENOSPC or ENOMEM. */
int jwt_sig_check(const struct jwt_key *key, const char *data, size_t n,
		  const uint8_t *sig, size_t siglen);
int jwt_sig_make(const struct jwt_key *key, const char *data, size_t n,
		 uint8_t *sig, size_t sigsz, size_t *siglen);

/* jwt_claims.c */
int jwt_json_load(const uint8_t *buf, size_t n, unsigned max_depth,
		  json_t **objp);
/* Copy string member name into out if ok() accepts it; ok() must bound
 * the length to out's size. 0 or EINVAL. */
int jwt_json_str(const json_t *o, const char *name,
		 bool (*ok)(const char *s, size_t n), char *out);
enum jwt_reason jwt_claims_check(const json_t *payload,
				 const struct jwt_expect *e,
				 struct jwt_claims *out);

#endif
