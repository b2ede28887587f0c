/* JWT (RFC 7519 / RFC 7515 compact JWS) verification and signing on
 * OpenSSL EVP and jansson. Pure functions: time is passed in, keys are
 * passed in, no globals.
 *
 * Why not libjwt: Debian's libjwt 1.10 takes the algorithm from the
 * token's own header and never checks exp. Here every key is pinned to
 * exactly one algorithm and the header's alg must equal it (RFC 8725
 * 3.1), so "none", HS256-with-an-RSA-public-key and RS256-where-HS256-
 * is-pinned all fail before any signature is computed.
 *
 * Verification is two steps so that callers can rate-limit per account
 * before spending CPU on a signature:
 *   jwt_parse()  splits the token, decodes only the header (alg, kid);
 *   jwt_verify() checks the signature with the caller's key, and only then
 *                decodes the payload and checks exp/nbf/iat/iss/aud. */
#ifndef TS_AUTH_JWT_H
#define TS_AUTH_JWT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JWT_MAX_LEN 4096   /* longer tokens are refused unparsed */
#define JWT_KID_MAX 64     /* kid: [A-Za-z0-9._-]{1,63} */
#define JWT_SUB_MAX 128    /* sub: printable ASCII, no ':' */
#define JWT_HS256_MIN 32   /* bytes of HMAC secret (RFC 7518 3.2) */
#define JWT_RSA_MIN_BITS 2048
#define JWT_RSA_MAX_BITS 8192 /* bounds the cost of checking a forgery */
#define JWT_SKEW_DEFAULT 60

enum jwt_alg {
	JWT_ALG_NONE = 0, /* never accepted; only a parse result */
	JWT_ALG_HS256,
	JWT_ALG_RS256,
	JWT_ALG_ES256,
	JWT_ALG_EDDSA, /* Ed25519 only */
};

/* "HS256" -> JWT_ALG_HS256 etc. (exact, case-sensitive); JWT_ALG_NONE for
 * anything else, including "none" in any case. */
enum jwt_alg jwt_alg_from_str(const char *s);
const char *jwt_alg_str(enum jwt_alg alg);

/* A verification key pinned to one algorithm. */
struct jwt_key;

/* HS256: material is the raw secret (>= JWT_HS256_MIN bytes).
 * RS256: PEM public key (SubjectPublicKeyInfo), RSA of 2048 to 8192 bits,
 * odd modulus, odd 3 <= e < 2^256 (RFC 8017 3.1; e = 1 would let anyone
 * sign, a huge e makes every forged token cost a private-key operation).
 * ES256: PEM public key on P-256.  EdDSA: PEM Ed25519 public key.
 * A private key PEM is also accepted for RS256/ES256/EdDSA (its public
 * half is used), so one file can serve mint and verify.
 * 0; EINVAL (wrong type, too short, unparsable, wrong curve); ENOMEM. */
int jwt_key_new(struct jwt_key **keyp, enum jwt_alg alg,
		const uint8_t *material, size_t len);
void jwt_key_free(struct jwt_key *key);
/* Material fit for a key store that the API process reads: what
 * jwt_key_new accepts, but never a private key (only the public half is
 * needed to verify, so the store must not hold the signing key).
 * 0; EINVAL (unusable for alg); EPERM (a private key PEM). */
int jwt_key_check_public(enum jwt_alg alg, const uint8_t *material,
			 size_t len);
enum jwt_alg jwt_key_alg(const struct jwt_key *key);

/* Why a token was refused; stable strings for metrics labels. */
enum jwt_reason {
	JWT_OK = 0,
	JWT_R_MALFORMED, /* not three base64url segments, bad JSON, dup keys */
	JWT_R_TOO_LONG,
	JWT_R_ALG,       /* none/unknown alg, or alg != the key's pinned alg */
	JWT_R_KID,       /* missing or invalid kid, or no such key */
	JWT_R_SIGNATURE,
	JWT_R_EXPIRED,   /* exp missing, not a number, or in the past */
	JWT_R_NOT_YET,   /* nbf or iat in the future */
	JWT_R_ISSUER,
	JWT_R_AUDIENCE,
	JWT_R_CLAIMS,    /* sub missing/invalid, or another claim ill-typed */
	JWT_R_LIFETIME,  /* exp further ahead than jwt_expect.max_lifetime */
	JWT_R_COUNT
};
const char *jwt_reason_str(enum jwt_reason r); /* "malformed", "alg", ... */

/* A parsed token: pointers into the caller's buffer, which must outlive it.
 * Nothing here is trusted until jwt_verify() returns 0. */
struct jwt {
	enum jwt_alg alg;
	char kid[JWT_KID_MAX];
	const char *signing_input; /* header "." payload */
	size_t signing_len;
	const char *payload_b64;
	size_t payload_len;
	const char *sig_b64;
	size_t sig_len;
};

/* 0, or EINVAL with *why set (MALFORMED, TOO_LONG, ALG, KID). The kid must
 * match [A-Za-z0-9._-]{1,63}, so a path or SQL fragment never reaches a
 * lookup. Header JSON with duplicate keys or nested objects is refused. */
int jwt_parse(const char *token, size_t len, struct jwt *out,
	      enum jwt_reason *why);

struct jwt_expect {
	const char *iss; /* required match when non-NULL */
	const char *aud; /* string aud must equal it, or an array contain it */
	uint64_t now;    /* unix seconds */
	uint32_t skew;   /* seconds of leeway for exp/nbf/iat */
	uint64_t max_lifetime; /* if non-zero, exp - now must not exceed it
				  (plus skew) */
};

struct jwt_claims {
	char sub[JWT_SUB_MAX];
	uint64_t exp;
	uint64_t iat; /* 0 when absent */
	uint64_t nbf; /* 0 when absent */
};

/* Signature first (constant time for HMAC), then payload: exp required;
 * nbf and iat checked when present; iss and aud checked when expected;
 * sub required. Payload JSON with duplicate keys or nesting deeper than
 * 16 is refused. 0, or EACCES with *why set. */
int jwt_verify(const struct jwt *t, const struct jwt_key *key,
	       const struct jwt_expect *e, struct jwt_claims *out,
	       enum jwt_reason *why);

/* Sign a token (for `turnstone token mint` and tests). material as for
 * jwt_key_new, but a PEM *private* key for RS256/ES256/EdDSA. claims is a
 * JSON object text written verbatim as the payload. out receives a
 * NUL-terminated token. 0, EINVAL, ENOSPC, ENOMEM. */
int jwt_sign(enum jwt_alg alg, const char *kid, const uint8_t *material,
	     size_t len, const char *claims_json, char *out, size_t outsz);

#endif
