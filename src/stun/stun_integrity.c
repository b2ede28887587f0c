/* MESSAGE-INTEGRITY (HMAC-SHA1) and MESSAGE-INTEGRITY-SHA256 (RFC 8489
 * 14.5, 14.6) and the long-term key derivations (9.2.2, 14.4). All the
 * cryptography is OpenSSL's. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "stun/stun.h"
#include "util/bytes.h"

#define STUN_MI_LEN 20
#define STUN_MI256_LEN 32

enum { STUN_MAC_SHA1, STUN_MAC_SHA256, STUN_MAC_N };

static const char *const stun_mac_digest[STUN_MAC_N] = {"SHA1", "SHA256"};

/* Long-term key digests (9.2.2): MD5 or SHA-256. */
enum { STUN_KEY_MD5, STUN_KEY_SHA256, STUN_KEY_N };

static const char *const stun_key_digest[STUN_KEY_N] = {"MD5", "SHA256"};

struct stun_mac {
	EVP_MAC_CTX *ctx[STUN_MAC_N]; /* digest set; re-keyed per message */
	EVP_MD *md[STUN_KEY_N];       /* fetched once */
	EVP_MD_CTX *mdctx;
};

static EVP_MAC_CTX *stun_mac_ctx_new(int alg)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	EVP_MAC_free(mac); /* the context holds its own reference */
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
			(char *)(uintptr_t)stun_mac_digest[alg], 0),
		OSSL_PARAM_construct_end(),
	};
	if (ctx && !EVP_MAC_CTX_set_params(ctx, params)) {
		EVP_MAC_CTX_free(ctx);
		ctx = NULL;
	}
	return ctx;
}

int stun_mac_alloc(struct stun_mac **mp)
{
	struct stun_mac *m = calloc(1, sizeof(*m));
	if (!m)
		return ENOMEM;
	for (int i = 0; i < STUN_MAC_N; i++) {
		m->ctx[i] = stun_mac_ctx_new(i);
		if (!m->ctx[i]) {
			stun_mac_free(m);
			return ENOMEM;
		}
	}
	/* MD5 may be missing (a FIPS provider): then keys take the path
	 * without m, which fails the same way. */
	for (int i = 0; i < STUN_KEY_N; i++)
		m->md[i] = EVP_MD_fetch(NULL, stun_key_digest[i], NULL);
	m->mdctx = EVP_MD_CTX_new();
	if (!m->mdctx) {
		stun_mac_free(m);
		return ENOMEM;
	}
	*mp = m;
	return 0;
}

void stun_mac_free(struct stun_mac *m)
{
	if (!m)
		return;
	for (int i = 0; i < STUN_MAC_N; i++)
		EVP_MAC_CTX_free(m->ctx[i]); /* cleanses the keyed state */
	for (int i = 0; i < STUN_KEY_N; i++)
		EVP_MD_free(m->md[i]);
	EVP_MD_CTX_free(m->mdctx);
	free(m);
}

/* HMAC over head followed by body. For a message, head is its 20-byte
 * header (possibly with an adjusted length field), passed separately so a
 * decoded message can be checked without copying or modifying it. With m
 * the kept context is re-keyed (EVP_MAC_init with a key and no
 * parameters); without, a temporary one is built. */
static int stun_hmac(struct stun_mac *m, int alg, const uint8_t *key,
		     size_t klen, const uint8_t *head, size_t hlen,
		     const uint8_t *body, size_t blen, uint8_t *out,
		     size_t outlen)
{
	int err = EIO;
	size_t n = 0;
	/* A NULL key would make EVP_MAC_init reuse the previous message's. */
	if (!key || klen == 0)
		return EINVAL;
	EVP_MAC_CTX *ctx = m ? m->ctx[alg] : stun_mac_ctx_new(alg);
	if (!ctx)
		goto out;
	if (!EVP_MAC_init(ctx, key, klen, NULL) ||
	    (hlen && !EVP_MAC_update(ctx, head, hlen)) ||
	    (blen && !EVP_MAC_update(ctx, body, blen)) ||
	    !EVP_MAC_final(ctx, out, &n, outlen) || n != outlen)
		goto out;
	err = 0;
out:
	if (!m)
		EVP_MAC_CTX_free(ctx);
	return err;
}

/* Verify the integrity attribute at index idx: the HMAC covers the
 * message up to that attribute, with the header length set as if the
 * message ended right after it (14.5, 14.6), so attributes that follow
 * it (MESSAGE-INTEGRITY-SHA256, FINGERPRINT) do not change it. */
static int stun_mi_check(const struct stun_msg *m, struct stun_mac *mac,
			 int idx, int alg, size_t maclen, const uint8_t *key,
			 size_t klen)
{
	if (idx < 0)
		return ENOENT;
	const struct stun_attr *a = &m->attrs[idx];
	if (a->len != maclen)
		return EBADMSG;
	if (klen == 0)
		return EACCES; /* no key can match; OpenSSL refuses empty keys */
	uint8_t hdr[STUN_HDR_LEN], out[STUN_MI256_LEN];
	memcpy(hdr, m->buf, STUN_HDR_LEN);
	put_be16(hdr + 2, (uint16_t)(a->off + 4 + maclen - STUN_HDR_LEN));
	int err = stun_hmac(mac, alg, key, klen, hdr, STUN_HDR_LEN,
			    m->buf + STUN_HDR_LEN, a->off - STUN_HDR_LEN, out,
			    maclen);
	if (err)
		return err;
	return CRYPTO_memcmp(out, a->val, maclen) == 0 ? 0 : EACCES;
}

int stun_msg_check_mi_with(const struct stun_msg *m, struct stun_mac *mac,
			   bool sha256, const uint8_t *key, size_t klen)
{
	if (sha256)
		return stun_mi_check(m, mac, m->mi256, STUN_MAC_SHA256,
				     STUN_MI256_LEN, key, klen);
	return stun_mi_check(m, mac, m->mi, STUN_MAC_SHA1, STUN_MI_LEN, key, klen);
}

int stun_msg_check_mi(const struct stun_msg *m, const uint8_t *key, size_t klen)
{
	return stun_msg_check_mi_with(m, NULL, false, key, klen);
}

int stun_msg_check_mi256(const struct stun_msg *m, const uint8_t *key,
			 size_t klen)
{
	return stun_msg_check_mi_with(m, NULL, true, key, klen);
}

/* Append the attribute with a zeroed value (which also sets the header
 * length to include it), then HMAC everything before it. */
static void stun_enc_integrity(struct stun_enc *e, uint16_t type, int alg,
			       size_t maclen,
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
	e->err = stun_hmac(e->mac, alg, key, klen, e->buf, STUN_HDR_LEN,
			   e->buf + STUN_HDR_LEN, off - STUN_HDR_LEN,
			   e->buf + off + 4, maclen);
}

void stun_enc_mi(struct stun_enc *e, const uint8_t *key, size_t klen)
{
	stun_enc_integrity(e, STUN_ATTR_MESSAGE_INTEGRITY, STUN_MAC_SHA1, STUN_MI_LEN,
			   key, klen);
}

void stun_enc_mi256(struct stun_enc *e, const uint8_t *key, size_t klen)
{
	stun_enc_integrity(e, STUN_ATTR_MESSAGE_INTEGRITY_SHA256, STUN_MAC_SHA256,
			   STUN_MI256_LEN, key, klen);
}

/* digest(parts joined by ':'); n is 2 or 3. With kept, that context is
 * reset and used (the key derived stays in it until the next use; it is
 * a hash state, not a secret beyond the key it yields). */
static int stun_hash_joined(EVP_MD_CTX *kept, const EVP_MD *md,
			    const char *const *parts, unsigned n, uint8_t *out)
{
	int err = EIO;
	EVP_MD_CTX *ctx = kept ? kept : EVP_MD_CTX_new();
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
	if (!kept)
		EVP_MD_CTX_free(ctx);
	return err;
}

int stun_key_with(struct stun_mac *mac, bool sha256, const char *user,
		  const char *realm, const char *pass, uint8_t *out)
{
	int alg = sha256 ? STUN_KEY_SHA256 : STUN_KEY_MD5;
	if (!mac || !mac->md[alg])
		return sha256 ? stun_key_sha256(user, realm, pass, out)
			      : stun_key_md5(user, realm, pass, out);
	const char *parts[] = {user, realm, pass};
	return stun_hash_joined(mac->mdctx, mac->md[alg], parts, 3, out);
}

int stun_hmac_sha1(struct stun_mac *mac, const uint8_t *key, size_t klen,
		   const uint8_t *data, size_t len, uint8_t out[20])
{
	return stun_hmac(mac, STUN_MAC_SHA1, key, klen, data, len, NULL, 0, out,
			 STUN_MI_LEN);
}

int stun_key_md5(const char *user, const char *realm, const char *pass,
		 uint8_t out[16])
{
	const char *parts[] = {user, realm, pass};
	return stun_hash_joined(NULL, EVP_md5(), parts, 3, out);
}

int stun_key_sha256(const char *user, const char *realm, const char *pass,
		    uint8_t out[32])
{
	const char *parts[] = {user, realm, pass};
	return stun_hash_joined(NULL, EVP_sha256(), parts, 3, out);
}

int stun_userhash(const char *user, const char *realm, uint8_t out[32])
{
	const char *parts[] = {user, realm};
	return stun_hash_joined(NULL, EVP_sha256(), parts, 2, out);
}
