/* JWT keys, each pinned to one algorithm (RFC 8725 3.1), and the names of
 * the algorithms (RFC 7518 3.1, RFC 8037 3.1). */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "auth/jwt_int.h"

static const char *const jwt_alg_names[] = {
	[JWT_ALG_NONE] = "none",
	[JWT_ALG_HS256] = "HS256",
	[JWT_ALG_RS256] = "RS256",
	[JWT_ALG_ES256] = "ES256",
	[JWT_ALG_EDDSA] = "EdDSA",
};

enum jwt_alg jwt_alg_from_str(const char *s)
{
	if (!s)
		return JWT_ALG_NONE;
	/* Start at 1: "none" must never name an algorithm we accept. */
	for (size_t i = 1; i < sizeof(jwt_alg_names) / sizeof(*jwt_alg_names);
	     i++) {
		if (strcmp(s, jwt_alg_names[i]) == 0)
			return (enum jwt_alg)i;
	}
	return JWT_ALG_NONE;
}

const char *jwt_alg_str(enum jwt_alg alg)
{
	if ((size_t)alg >= sizeof(jwt_alg_names) / sizeof(*jwt_alg_names))
		return "none";
	return jwt_alg_names[alg];
}

bool jwt_kid_valid(const char *s, size_t n)
{
	if (n == 0 || n >= JWT_KID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

/* An encrypted PEM must fail, not prompt on the daemon's terminal. */
static int jwt_pem_nopass(char *buf, int size, int rw, void *u)
{
	(void)buf;
	(void)size;
	(void)rw;
	(void)u;
	return -1;
}

/* The public half only, so a verify key never holds a private scalar. */
static EVP_PKEY *jwt_pkey_public(EVP_PKEY *pkey)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	EVP_PKEY *pub = NULL;
	int n = i2d_PUBKEY(pkey, &der);

	if (n > 0) {
		p = der;
		pub = d2i_PUBKEY(NULL, &p, n);
	}
	OPENSSL_free(der);
	return pub;
}

static EVP_PKEY *jwt_pem_read(const uint8_t *pem, size_t len, bool priv)
{
	EVP_PKEY *pkey = NULL, *full;
	BIO *bio = BIO_new_mem_buf(pem, (int)len);

	if (!bio)
		return NULL;
	if (!priv)
		pkey = PEM_read_bio_PUBKEY(bio, NULL, jwt_pem_nopass, NULL);
	if (!pkey && BIO_reset(bio) == 1) {
		full = PEM_read_bio_PrivateKey(bio, NULL, jwt_pem_nopass, NULL);
		pkey = priv || !full ? full : jwt_pkey_public(full);
		if (pkey != full)
			EVP_PKEY_free(full);
	}
	BIO_free(bio);
	return pkey;
}

static bool jwt_pkey_is_p256(EVP_PKEY *pkey)
{
	char name[64];
	size_t n = 0;

	if (!EVP_PKEY_is_a(pkey, "EC") ||
	    EVP_PKEY_get_group_name(pkey, name, sizeof(name), &n) != 1)
		return false;
	return OBJ_txt2nid(name) == NID_X9_62_prime256v1;
}

/* RFC 8017 3.1: an odd modulus and an odd e >= 3. Neither OpenSSL's PEM
 * reader nor its verifier checks e: with e = 1 a "signature" is its own
 * padded digest, so anyone could sign for the key. e < 2^256 (SP 800-56B
 * 6.2.1) and n <= JWT_RSA_MAX_BITS bound what a forged token naming the
 * key's public kid costs to check: a 3072-bit e made it 100 times the
 * usual 0.06 ms, all before the per-account limits. */
static bool jwt_rsa_sane(EVP_PKEY *pkey)
{
	BIGNUM *n = NULL, *e = NULL;
	bool ok = EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) == 1 &&
		  EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) == 1 &&
		  BN_is_odd(n) && BN_num_bits(n) <= JWT_RSA_MAX_BITS &&
		  BN_is_odd(e) && !BN_is_one(e) && BN_num_bits(e) <= 256;
	BN_free(n);
	BN_free(e);
	return ok;
}

/* RFC 7518 3.3 (RSA >= 2048), 3.4 (ES256 is P-256), RFC 8037 (Ed25519). */
static bool jwt_pkey_fits(enum jwt_alg alg, EVP_PKEY *pkey)
{
	switch (alg) {
	case JWT_ALG_RS256:
		return EVP_PKEY_is_a(pkey, "RSA") &&
		       EVP_PKEY_get_bits(pkey) >= JWT_RSA_MIN_BITS &&
		       jwt_rsa_sane(pkey);
	case JWT_ALG_ES256:
		return jwt_pkey_is_p256(pkey);
	case JWT_ALG_EDDSA:
		return EVP_PKEY_is_a(pkey, "ED25519");
	default:
		return false;
	}
}

static int jwt_key_secret(struct jwt_key *key, const uint8_t *s, size_t len)
{
	/* RFC 7518 3.2: the key must be at least as long as the hash. */
	if (!s || len < JWT_HS256_MIN || len > INT_MAX)
		return EINVAL;
	key->secret = OPENSSL_malloc(len);
	if (!key->secret)
		return ENOMEM;
	memcpy(key->secret, s, len);
	key->secret_len = len;
	return 0;
}

static int jwt_key_pkey(struct jwt_key *key, const uint8_t *pem, size_t len,
			bool priv)
{
	if (!pem || len == 0 || len > INT_MAX)
		return EINVAL;
	key->pkey = jwt_pem_read(pem, len, priv);
	if (!key->pkey || !jwt_pkey_fits(key->alg, key->pkey))
		return EINVAL;
	return 0;
}

int jwt_key_load(struct jwt_key **keyp, enum jwt_alg alg,
		 const uint8_t *material, size_t len, bool priv)
{
	struct jwt_key *key;
	int err;

	if (!keyp || alg == JWT_ALG_NONE || alg > JWT_ALG_EDDSA)
		return EINVAL;
	key = OPENSSL_zalloc(sizeof(*key));
	if (!key)
		return ENOMEM;
	key->alg = alg;
	if (alg == JWT_ALG_HS256)
		err = jwt_key_secret(key, material, len);
	else
		err = jwt_key_pkey(key, material, len, priv);
	if (err) {
		jwt_key_free(key);
		goto out;
	}
	*keyp = key;
out:
	/* Leave no stale errors for the next TLS call on this thread. */
	ERR_clear_error();
	return err;
}

int jwt_key_new(struct jwt_key **keyp, enum jwt_alg alg,
		const uint8_t *material, size_t len)
{
	return jwt_key_load(keyp, alg, material, len, false);
}

/* A PEM that parses as a SubjectPublicKeyInfo, and nothing more. */
static bool jwt_pem_is_public(const uint8_t *pem, size_t len)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *pkey = bio ? PEM_read_bio_PUBKEY(bio, NULL, jwt_pem_nopass, NULL)
			     : NULL;
	bool pub = pkey != NULL;
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	ERR_clear_error();
	return pub;
}

int jwt_key_check_public(enum jwt_alg alg, const uint8_t *material,
			 size_t len)
{
	struct jwt_key *key = NULL;
	int err = jwt_key_new(&key, alg, material, len);
	jwt_key_free(key);
	if (!err && alg != JWT_ALG_HS256 && !jwt_pem_is_public(material, len))
		err = EPERM;
	return err;
}

void jwt_key_free(struct jwt_key *key)
{
	if (!key)
		return;
	EVP_PKEY_free(key->pkey);
	OPENSSL_clear_free(key->secret, key->secret_len);
	OPENSSL_free(key);
}

enum jwt_alg jwt_key_alg(const struct jwt_key *key)
{
	return key ? key->alg : JWT_ALG_NONE;
}
