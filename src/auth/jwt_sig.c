/* JWS signatures (RFC 7518 3) on OpenSSL EVP. ES256 puts R||S on the wire
 * (RFC 7518 3.4) where OpenSSL speaks DER ECDSA-Sig-Value, so it is
 * converted in both directions here. */
#include <errno.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/hmac.h>

#include "auth/jwt_int.h"

#define JWT_HS256_LEN 32
#define JWT_ES256_HALF 32
#define JWT_ES256_DER_MAX 80 /* 72 for P-256, with room to spare */

/* RS256 hashes with SHA-256; Ed25519 takes the message itself. */
static const EVP_MD *jwt_sig_md(enum jwt_alg alg)
{
	return alg == JWT_ALG_EDDSA ? NULL : EVP_sha256();
}

static int jwt_hs256(const struct jwt_key *key, const char *data, size_t n,
		     uint8_t mac[JWT_HS256_LEN])
{
	unsigned int len = 0;

	if (!HMAC(EVP_sha256(), key->secret, (int)key->secret_len,
		  (const unsigned char *)data, n, mac, &len) ||
	    len != JWT_HS256_LEN)
		return EINVAL;
	return 0;
}

static int jwt_hs256_check(const struct jwt_key *key, const char *data,
			   size_t n, const uint8_t *sig, size_t siglen)
{
	uint8_t mac[JWT_HS256_LEN];
	int err;

	if (siglen != JWT_HS256_LEN)
		return EBADMSG;
	err = jwt_hs256(key, data, n, mac);
	/* Constant time, so the mismatch position never leaks. */
	if (!err && CRYPTO_memcmp(mac, sig, JWT_HS256_LEN) != 0)
		err = EBADMSG;
	OPENSSL_cleanse(mac, sizeof(mac));
	return err;
}

static int jwt_pkey_check(EVP_PKEY *pkey, const EVP_MD *md, const char *data,
			  size_t n, const uint8_t *sig, size_t siglen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int err = EBADMSG;

	if (!ctx)
		return ENOMEM;
	if (EVP_DigestVerifyInit(ctx, NULL, md, NULL, pkey) == 1 &&
	    EVP_DigestVerify(ctx, sig, siglen, (const unsigned char *)data,
			     n) == 1)
		err = 0;
	EVP_MD_CTX_free(ctx);
	return err;
}

static int jwt_pkey_sign(EVP_PKEY *pkey, const EVP_MD *md, const char *data,
			 size_t n, uint8_t *sig, size_t sigsz, size_t *siglen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t len = 0;
	int err = EINVAL;

	if (!ctx)
		return ENOMEM;
	if (EVP_DigestSignInit(ctx, NULL, md, NULL, pkey) != 1 ||
	    EVP_DigestSign(ctx, NULL, &len, (const unsigned char *)data,
			   n) != 1)
		goto out;
	err = ENOSPC;
	if (len > sigsz)
		goto out;
	err = EINVAL;
	if (EVP_DigestSign(ctx, sig, &len, (const unsigned char *)data, n) !=
	    1)
		goto out;
	*siglen = len;
	err = 0;
out:
	EVP_MD_CTX_free(ctx);
	return err;
}

/* R||S (32 bytes each, big-endian) -> DER, for EVP_DigestVerify. */
static int jwt_es256_to_der(const uint8_t *rs, uint8_t *der, size_t dersz,
			    size_t *derlen)
{
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(rs, JWT_ES256_HALF, NULL);
	BIGNUM *s = BN_bin2bn(rs + JWT_ES256_HALF, JWT_ES256_HALF, NULL);
	unsigned char *p = der;
	int err = ENOMEM, n;

	if (!es || !r || !s || ECDSA_SIG_set0(es, r, s) != 1)
		goto out;
	r = s = NULL; /* owned by es now */
	err = EINVAL;
	n = i2d_ECDSA_SIG(es, NULL);
	if (n <= 0 || (size_t)n > dersz || i2d_ECDSA_SIG(es, &p) != n)
		goto out;
	*derlen = (size_t)n;
	err = 0;
out:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	return err;
}

/* DER -> R||S, each left-padded to 32 bytes (RFC 7518 3.4). */
static int jwt_es256_from_der(const uint8_t *der, size_t derlen, uint8_t *rs)
{
	const unsigned char *p = der;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
	int err = EINVAL;

	if (!es)
		return EINVAL;
	if (BN_bn2binpad(ECDSA_SIG_get0_r(es), rs, JWT_ES256_HALF) ==
		    JWT_ES256_HALF &&
	    BN_bn2binpad(ECDSA_SIG_get0_s(es), rs + JWT_ES256_HALF,
			 JWT_ES256_HALF) == JWT_ES256_HALF)
		err = 0;
	ECDSA_SIG_free(es);
	return err;
}

static int jwt_es256_check(EVP_PKEY *pkey, const char *data, size_t n,
			   const uint8_t *sig, size_t siglen)
{
	uint8_t der[JWT_ES256_DER_MAX];
	size_t derlen = 0;
	int err;

	if (siglen != 2 * JWT_ES256_HALF)
		return EBADMSG;
	err = jwt_es256_to_der(sig, der, sizeof(der), &derlen);
	if (err)
		return err;
	return jwt_pkey_check(pkey, EVP_sha256(), data, n, der, derlen);
}

static int jwt_es256_sign(EVP_PKEY *pkey, const char *data, size_t n,
			  uint8_t *sig, size_t sigsz, size_t *siglen)
{
	uint8_t der[JWT_ES256_DER_MAX];
	size_t derlen = 0;
	int err;

	if (sigsz < 2 * JWT_ES256_HALF)
		return ENOSPC;
	err = jwt_pkey_sign(pkey, EVP_sha256(), data, n, der, sizeof(der),
			    &derlen);
	if (!err)
		err = jwt_es256_from_der(der, derlen, sig);
	if (!err)
		*siglen = 2 * JWT_ES256_HALF;
	return err;
}

int jwt_sig_check(const struct jwt_key *key, const char *data, size_t n,
		  const uint8_t *sig, size_t siglen)
{
	int err;

	if (key->alg == JWT_ALG_HS256)
		err = jwt_hs256_check(key, data, n, sig, siglen);
	else if (key->alg == JWT_ALG_ES256)
		err = jwt_es256_check(key->pkey, data, n, sig, siglen);
	else
		err = jwt_pkey_check(key->pkey, jwt_sig_md(key->alg), data, n,
				     sig, siglen);
	ERR_clear_error();
	return err;
}

int jwt_sig_make(const struct jwt_key *key, const char *data, size_t n,
		 uint8_t *sig, size_t sigsz, size_t *siglen)
{
	int err;

	if (key->alg == JWT_ALG_HS256) {
		if (sigsz < JWT_HS256_LEN)
			return ENOSPC;
		err = jwt_hs256(key, data, n, sig);
		if (!err)
			*siglen = JWT_HS256_LEN;
	} else if (key->alg == JWT_ALG_ES256) {
		err = jwt_es256_sign(key->pkey, data, n, sig, sigsz, siglen);
	} else {
		err = jwt_pkey_sign(key->pkey, jwt_sig_md(key->alg), data, n,
				    sig, sigsz, siglen);
	}
	ERR_clear_error();
	return err;
}
