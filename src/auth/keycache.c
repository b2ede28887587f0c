/* A small per-worker cache of long-term keys derived from REST
 * credentials (RFC 8489 9.2.2): key = MD5 or SHA-256 of
 * user ":" realm ":" HMAC(secret, user). Both steps are deterministic,
 * so a key can be reused for the next request with the same username
 * (an allocation's Refresh, CreatePermission and ChannelBind), saving
 * an HMAC and a hash per request. Entries match on the exact username,
 * realm and algorithm; the owner clears the cache whenever the secrets
 * may have changed (a configuration reload). The cache is direct-mapped
 * and fixed in size, so it never grows; a collision just evicts. A hit
 * is still checked against MESSAGE-INTEGRITY by the caller, so the
 * cache can cost a derivation but never admit a request by itself. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "auth/auth.h"

struct auth_key_entry {
	bool used, sha256;
	uint8_t ulen, rlen, klen;
	char id[AUTH_KEYCACHE_ID_MAX]; /* username then realm, no separator */
	uint8_t key[32];
};

struct auth_keycache {
	unsigned mask;
	uint32_t seed;
	struct auth_key_entry e[];
};

int auth_keycache_alloc(struct auth_keycache **cp, unsigned slots,
			uint32_t seed)
{
	if (slots == 0 || (slots & (slots - 1)) || slots > 65536)
		return EINVAL;
	struct auth_keycache *c = calloc(1, sizeof(*c) + slots * sizeof(c->e[0]));
	if (!c)
		return ENOMEM;
	c->mask = slots - 1;
	c->seed = seed;
	*cp = c;
	return 0;
}

void auth_keycache_clear(struct auth_keycache *c)
{
	if (c)
		OPENSSL_cleanse(c->e, (c->mask + 1) * sizeof(c->e[0]));
}

void auth_keycache_free(struct auth_keycache *c)
{
	auth_keycache_clear(c);
	free(c);
}

/* FNV-1a, seeded per cache: chosen usernames can only evict each other. */
static unsigned keycache_slot(const struct auth_keycache *c, const char *user,
			      size_t ulen)
{
	uint32_t h = 2166136261u ^ c->seed;
	for (size_t i = 0; i < ulen; i++)
		h = (h ^ (uint8_t)user[i]) * 16777619u;
	return h & c->mask;
}

static bool keycache_fits(size_t ulen, size_t rlen)
{
	return ulen > 0 && ulen <= 255 && rlen <= 255 &&
	       ulen + rlen <= AUTH_KEYCACHE_ID_MAX;
}

int auth_keycache_get(const struct auth_keycache *c, const char *user,
		      size_t ulen, const char *realm, bool sha256,
		      uint8_t key[32], size_t *klen)
{
	size_t rlen = strlen(realm);
	if (!c || !keycache_fits(ulen, rlen))
		return ENOENT;
	const struct auth_key_entry *e = &c->e[keycache_slot(c, user, ulen)];
	if (!e->used || e->sha256 != sha256 || e->ulen != ulen ||
	    e->rlen != rlen || memcmp(e->id, user, ulen) != 0 ||
	    memcmp(e->id + ulen, realm, rlen) != 0)
		return ENOENT;
	memcpy(key, e->key, e->klen);
	*klen = e->klen;
	return 0;
}

void auth_keycache_put(struct auth_keycache *c, const char *user,
		       size_t ulen, const char *realm, bool sha256,
		       const uint8_t *key, size_t klen)
{
	size_t rlen = strlen(realm);
	if (!c || !keycache_fits(ulen, rlen) || klen == 0 || klen > 32)
		return;
	struct auth_key_entry *e = &c->e[keycache_slot(c, user, ulen)];
	OPENSSL_cleanse(e, sizeof(*e));
	e->sha256 = sha256;
	e->ulen = (uint8_t)ulen;
	e->rlen = (uint8_t)rlen;
	e->klen = (uint8_t)klen;
	memcpy(e->id, user, ulen);
	memcpy(e->id + ulen, realm, rlen);
	memcpy(e->key, key, klen);
	e->used = true;
}
