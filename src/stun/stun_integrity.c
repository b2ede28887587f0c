/* MESSAGE-INTEGRITY (HMAC-SHA1) and MESSAGE-INTEGRITY-SHA256 (RFC 8489
 * 14.5, 14.6) and the long-term key derivations (9.2.2, 14.4). All the
 * cryptography is OpenSSL's. */
#include <errno.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "stun/stun.h"
#include "util/bytes.h"

#define STUN_MI_LEN 20
#define STUN_MI256_LEN 32

/* HMAC over hdr (the 20-byte header, possibly with an adjusted length
 * field) followed by body. The header is passed separately so a decoded
 * message can be checked without copying or modifying it. */
static int stun_hmac(const char *digest, const uint8_t *key, size_t klen,
		     const uint8_t hdr[STUN_HDR_LEN], const uint8_t *body,
		     size_t blen, uint8_t *out, size_t outlen)
{
	int err = EIO;
	size_t n = 0;
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	if (!ctx)
		goto out;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						 (char *)(uintptr_t)digest, 0),
		OSSL_PARAM_construct_end(),
	};
	if (!EVP_MAC_init(ctx, key, klen, params) ||
	    !EVP_MAC_update(ctx, hdr, STUN_HDR_LEN) ||
	    (blen && !EVP_MAC_update(ctx, body, blen)) ||
	    !EVP_MAC_final(ctx, out, &n, outlen) || n != outlen)
		goto out;
	err = 0;
out:
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return err;
}

/* Verify the integrity attribute at index idx: the HMAC covers the
 * message up to that attribute, with the header length set as if the
 * message ended right after it (14.5, 14.6), so attributes that follow
 * it (MESSAGE-INTEGRITY-SHA256, FINGERPRINT) do not change it. */
static int stun_mi_check(const struct stun_msg *m, int idx, const char *digest,
			 size_t maclen, const uint8_t *key, size_t klen)
{
	if (idx < 0)
		return ENOENT;
	const struct stun_attr *a = &m->attrs[idx];
	if (a->len != maclen)
		return EBADMSG;
	if (klen == 0)
		return EACCES; /* no key can match; OpenSSL refuses empty keys */
	uint8_t hdr[STUN_HDR_LEN], mac[STUN_MI256_LEN];
	memcpy(hdr, m->buf, STUN_HDR_LEN);
	put_be16(hdr + 2, (uint16_t)(a->off + 4 + maclen - STUN_HDR_LEN));
	int err = stun_hmac(digest, key, klen, hdr, m->buf + STUN_HDR_LEN,
			    a->off - STUN_HDR_LEN, mac, maclen);
	if (err)
		return err;
	return CRYPTO_memcmp(mac, a->val, maclen) == 0 ? 0 : EACCES;
}

int stun_msg_check_mi(const struct stun_msg *m, const uint8_t *key, size_t klen)
{
	return stun_mi_check(m, m->mi, "SHA1", STUN_MI_LEN, key, klen);
}

int stun_msg_check_mi256(const struct stun_msg *m, const uint8_t *key,
			 size_t klen)
{
	return stun_mi_check(m, m->mi256, "SHA256", STUN_MI256_LEN, key, klen);
}

/* Append the attribute with a zeroed value (which also sets the header
 * length to include it), then HMAC everything before it. */
static void stun_enc_integrity(struct stun_enc *e, uint16_t type,
			       const char *digest, size_t maclen,
			       const uint8_t *key, size_t klen)
{
	static const uint8_t zero[STUN_MI256_LEN];
	size_t off = e->len;
	stun_enc_attr(e, type, zero, maclen);
	if (e->err)
		return;
	if (klen == 0) {
		e->err = EINVAL;
		return;
	}
	e->err = stun_hmac(digest, key, klen, e->buf, e->buf + STUN_HDR_LEN,
			   off - STUN_HDR_LEN, e->buf + off + 4, maclen);
}

void stun_enc_mi(struct stun_enc *e, const uint8_t *key, size_t klen)
{
	stun_enc_integrity(e, STUN_ATTR_MESSAGE_INTEGRITY, "SHA1", STUN_MI_LEN,
			   key, klen);
}

void stun_enc_mi256(struct stun_enc *e, const uint8_t *key, size_t klen)
{
	stun_enc_integrity(e, STUN_ATTR_MESSAGE_INTEGRITY_SHA256, "SHA256",
			   STUN_MI256_LEN, key, klen);
}

/* digest(parts joined by ':'); n is 2 or 3. */
static int stun_hash_joined(const EVP_MD *md, const char *const *parts,
			    unsigned n, uint8_t *out)
{
	int err = EIO;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx || !md || !EVP_DigestInit_ex(ctx, md, NULL))
		goto out;
	for (unsigned i = 0; i < n; i++) {
		if ((i > 0 && !EVP_DigestUpdate(ctx, ":", 1)) ||
		    !EVP_DigestUpdate(ctx, parts[i], strlen(parts[i])))
			goto out;
	}
	if (!EVP_DigestFinal_ex(ctx, out, NULL))
		goto out;
	err = 0;
out:
	EVP_MD_CTX_free(ctx);
	return err;
}

int stun_key_md5(const char *user, const char *realm, const char *pass,
		 uint8_t out[16])
{
	const char *parts[] = {user, realm, pass};
	return stun_hash_joined(EVP_md5(), parts, 3, out);
}

int stun_key_sha256(const char *user, const char *realm, const char *pass,
		    uint8_t out[32])
{
	const char *parts[] = {user, realm, pass};
	return stun_hash_joined(EVP_sha256(), parts, 3, out);
}

int stun_userhash(const char *user, const char *realm, uint8_t out[32])
{
	const char *parts[] = {user, realm};
	return stun_hash_joined(EVP_sha256(), parts, 2, out);
}
