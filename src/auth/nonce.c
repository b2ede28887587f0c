/* Stateless nonces (RFC 8489 9.2): the server can tell its own nonces and
 * their age without storing them, and a nonce is bound to the client's
 * transport address so it cannot be lifted to another source.
 *
 *   nonce = cookie(13) || hex(ts, 16) || tag(22)
 *   tag   = base64url(HMAC-SHA256(key, cookie || ts(8, BE) || family(1) ||
 *           ip(4|16) || port(2, BE) || transport(4, BE)))[0..22]
 *
 * The timestamp is inside the MAC, so it cannot be moved forward. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth/auth.h"
#include "util/bytes.h"

#define NONCE_PREFIX "obMatJos2"
#define NONCE_PREFIX_LEN 9
#define NONCE_COOKIE_LEN 13 /* prefix + 4 base64 characters */
#define NONCE_TS_LEN 16
#define NONCE_TAG_LEN 22 /* 132 bits of the MAC */
#define NONCE_LEN (NONCE_COOKIE_LEN + NONCE_TS_LEN + NONCE_TAG_LEN)
#define NONCE_FUTURE_SKEW 5 /* seconds; tolerates clocks across workers */
#define NONCE_MAC_IN_MAX (NONCE_COOKIE_LEN + 8 + 1 + 16 + 2 + 4)

static const char nonce_b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char nonce_hex[] = "0123456789abcdef";

/* RFC 8489 9.2: the 24-bit feature set as four base64 characters, bit 0
 * (password algorithms) being the most significant. Kept here rather than
 * calling the stun module so auth has no link-order dependency on it. */
static void nonce_cookie(uint32_t features, char out[NONCE_COOKIE_LEN])
{
	memcpy(out, NONCE_PREFIX, NONCE_PREFIX_LEN);
	for (int i = 0; i < 4; i++)
		out[NONCE_PREFIX_LEN + i] =
			nonce_b64[(features >> (18 - 6 * i)) & 0x3f];
}

static size_t nonce_mac_input(uint8_t *buf, const char *cookie, uint64_t ts,
			      const struct sa *client, int transport)
{
	size_t n = 0;
	size_t alen = sa_af(client) == AF_INET ? 4 : 16;

	memcpy(buf, cookie, NONCE_COOKIE_LEN);
	n += NONCE_COOKIE_LEN;
	put_be32(buf + n, (uint32_t)(ts >> 32));
	put_be32(buf + n + 4, (uint32_t)ts);
	n += 8;
	buf[n++] = (uint8_t)alen;
	memcpy(buf + n, sa_addr_bytes(client), alen);
	n += alen;
	put_be16(buf + n, sa_port(client));
	n += 2;
	put_be32(buf + n, (uint32_t)transport);
	return n + 4;
}

struct auth_nonce_mac {
	EVP_MAC_CTX *ctx;
	bool keyed;
	uint8_t key[AUTH_NONCE_KEY_LEN]; /* what ctx is keyed with */
};

int auth_nonce_mac_alloc(struct auth_nonce_mac **mp)
{
	struct auth_nonce_mac *m = calloc(1, sizeof(*m));
	EVP_MAC *mac = m ? EVP_MAC_fetch(NULL, "HMAC", NULL) : NULL;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						 (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	if (mac)
		m->ctx = EVP_MAC_CTX_new(mac);
	EVP_MAC_free(mac); /* the context holds its own reference */
	if (!m || !m->ctx || !EVP_MAC_CTX_set_params(m->ctx, params)) {
		auth_nonce_mac_free(m);
		return ENOMEM;
	}
	*mp = m;
	return 0;
}

void auth_nonce_mac_free(struct auth_nonce_mac *m)
{
	if (!m)
		return;
	EVP_MAC_CTX_free(m->ctx);
	OPENSSL_cleanse(m, sizeof(*m));
	free(m);
}

/* Key the context only when the key differs from the one it holds (a
 * reload may bring a new one); otherwise a NULL key reinitialises it
 * from the saved keyed state. */
static int nonce_mac_run(struct auth_nonce_mac *m, const struct auth_nonce_key *k,
			 const uint8_t *in, size_t n, uint8_t mac[32])
{
	size_t maclen = 0;
	bool same = m->keyed && CRYPTO_memcmp(m->key, k->key, sizeof(m->key)) == 0;
	m->keyed = false;
	if (!EVP_MAC_init(m->ctx, same ? NULL : k->key,
			  same ? 0 : AUTH_NONCE_KEY_LEN, NULL))
		return EACCES;
	memcpy(m->key, k->key, sizeof(m->key));
	m->keyed = true;
	if (!EVP_MAC_update(m->ctx, in, n) ||
	    !EVP_MAC_final(m->ctx, mac, &maclen, 32) || maclen != 32)
		return EACCES;
	return 0;
}

static int nonce_mac(const struct auth_nonce_key *k, struct auth_nonce_mac *m,
		     const uint8_t *in, size_t n, uint8_t mac[32])
{
	unsigned int maclen = 0;
	if (m)
		return nonce_mac_run(m, k, in, n, mac);
	if (!HMAC(EVP_sha256(), k->key, AUTH_NONCE_KEY_LEN, in, n, mac,
		  &maclen) || maclen != 32)
		return EACCES;
	return 0;
}

/* Writes NONCE_TAG_LEN base64url characters (no NUL). */
static int nonce_tag(const struct auth_nonce_key *k, struct auth_nonce_mac *m,
		     const char *cookie, uint64_t ts, const struct sa *client,
		     int transport, char out[NONCE_TAG_LEN])
{
	uint8_t in[NONCE_MAC_IN_MAX];
	uint8_t mac[32];
	unsigned char b64[48];

	size_t n = nonce_mac_input(in, cookie, ts, client, transport);
	int err = nonce_mac(k, m, in, n, mac);
	if (err)
		return err;
	EVP_EncodeBlock(b64, mac, 32); /* 44 characters */
	/* base64url so the nonce stays free of '+' and '/' (RFC 4648 5). */
	for (size_t i = 0; i < NONCE_TAG_LEN; i++) {
		char c = (char)b64[i];
		out[i] = c == '+' ? '-' : c == '/' ? '_' : c;
	}
	OPENSSL_cleanse(mac, sizeof(mac));
	return 0;
}

static bool nonce_client_ok(const struct sa *client)
{
	return client &&
	       (sa_af(client) == AF_INET || sa_af(client) == AF_INET6);
}

int auth_nonce_make(const struct auth_nonce_key *k, const struct sa *client,
		    int transport, uint64_t now, uint32_t features, char *out,
		    size_t *len)
{
	return auth_nonce_make_with(k, NULL, client, transport, now, features,
				    out, len);
}

int auth_nonce_make_with(const struct auth_nonce_key *k,
			 struct auth_nonce_mac *m, const struct sa *client,
			 int transport, uint64_t now, uint32_t features,
			 char *out, size_t *len)
{
	char cookie[NONCE_COOKIE_LEN];

	if (!k || !nonce_client_ok(client) || !out || !len)
		return EINVAL;
	nonce_cookie(features, cookie);
	memcpy(out, cookie, NONCE_COOKIE_LEN);
	char *ts = out + NONCE_COOKIE_LEN;
	for (int i = 0; i < NONCE_TS_LEN; i++)
		ts[i] = nonce_hex[(now >> (60 - 4 * i)) & 0xf];
	int err = nonce_tag(k, m, cookie, now, client, transport,
			    out + NONCE_COOKIE_LEN + NONCE_TS_LEN);
	if (err)
		return err;
	out[NONCE_LEN] = '\0';
	*len = NONCE_LEN;
	return 0;
}

/* Strict lowercase hex, exactly as auth_nonce_make writes it, so no two
 * spellings of one timestamp exist. */
static int nonce_parse_ts(const uint8_t *p, uint64_t *ts)
{
	uint64_t v = 0;

	for (int i = 0; i < NONCE_TS_LEN; i++) {
		const char *d = p[i] ? memchr(nonce_hex, p[i], 16) : NULL;
		if (!d)
			return EACCES;
		v = (v << 4) | (uint64_t)(d - nonce_hex);
	}
	*ts = v;
	return 0;
}

int auth_nonce_check(const struct auth_nonce_key *k, const struct sa *client,
		     int transport, const uint8_t *nonce, size_t len,
		     uint64_t now, uint64_t lifetime)
{
	return auth_nonce_check_with(k, NULL, client, transport, nonce, len,
				     now, lifetime);
}

int auth_nonce_check_with(const struct auth_nonce_key *k,
			  struct auth_nonce_mac *m, const struct sa *client,
			  int transport, const uint8_t *nonce, size_t len,
			  uint64_t now, uint64_t lifetime)
{
	char tag[NONCE_TAG_LEN];
	uint64_t ts;

	if (!k || !nonce_client_ok(client) || !nonce || len != NONCE_LEN ||
	    memcmp(nonce, NONCE_PREFIX, NONCE_PREFIX_LEN) != 0 ||
	    nonce_parse_ts(nonce + NONCE_COOKIE_LEN, &ts))
		return EACCES;
	/* The cookie's feature characters are covered by the tag as sent. */
	if (nonce_tag(k, m, (const char *)nonce, ts, client, transport, tag))
		return EACCES;
	if (CRYPTO_memcmp(tag, nonce + NONCE_COOKIE_LEN + NONCE_TS_LEN,
			  NONCE_TAG_LEN) != 0)
		return EACCES;
	/* Only an authentic nonce is ever called stale (RFC 8489 9.2.4). */
	if (ts > now && ts - now > NONCE_FUTURE_SKEW)
		return ESTALE;
	if (ts < now && now - ts > lifetime)
		return ESTALE;
	return 0;
}
