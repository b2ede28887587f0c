/* Credentials for the long-term mechanism: pure functions of their inputs
 * (time is always passed in). No sockets, no globals. */
#ifndef TS_AUTH_H
#define TS_AUTH_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/sa.h"

/* ----- TURN REST credentials (draft-uberti-behave-turn-rest-00, coturn
 * use-auth-secret): username "<unix-expiry>:<user-id>", password
 * base64(HMAC-SHA1(secret, username)). ----- */

#define AUTH_REST_PASS_LEN 29 /* base64 of 20 bytes + NUL */

/* out receives the NUL-terminated base64 password. 0, EINVAL or ENOSPC. */
int auth_rest_password(const char *secret, size_t secret_len,
		       const char *username, size_t user_len, char *out,
		       size_t outsz);
/* The same through a thread's kept HMAC context (stun_mac_alloc), which
 * spares OpenSSL's algorithm lookup per call. */
struct stun_mac;
int auth_rest_password_with(struct stun_mac *ctx, const char *secret,
			    size_t secret_len, const char *username,
			    size_t user_len, char *out, size_t outsz);

/* The separator between expiry and user-id (coturn's rest-api-separator,
 * whose default is ':'). One printable ASCII character, not a digit. */
#define AUTH_REST_SEP ':'
bool auth_rest_sep_ok(char sep);

/* Split a REST username: "<expiry><sep><userid>", a bare "<expiry>" (user-id
 * "", as in coturn), or "<userid><sep><expiry>" when the text before the
 * first separator is not a number (coturn reads that order too). userid
 * and userid_len give the user-id's place in username (not NUL-terminated
 * in the last form). 0, or EINVAL when there is no decimal expiry. */
int auth_rest_parse(const char *username, size_t len, char sep,
		    uint64_t *expiry, const char **userid, size_t *userid_len);

/* Check the expiry against now: EKEYEXPIRED when expiry < now, ERANGE when
 * expiry > now + max_ttl + skew, EINVAL when unparsable, else 0. */
int auth_rest_check_time(const char *username, size_t len, char sep,
			 uint64_t now, uint64_t max_ttl, uint64_t skew);

/* Build a REST username "<now+ttl><sep><userid>" into out. */
int auth_rest_username(uint64_t now, uint64_t ttl, const char *userid,
		       char sep, char *out, size_t outsz);

/* ----- Stateless nonces (RFC 8489 9.2) -----
 * nonce = cookie(13) || hex(ts,16) || base64url(HMAC-SHA256(key,
 *         cookie || ts || client-ip || client-port || transport))[0..22]
 * Binding the nonce to the client's transport address means a signed
 * request replayed from another source port fails. The server keeps no
 * per-client state before MESSAGE-INTEGRITY verifies. */

#define AUTH_NONCE_KEY_LEN 32
#define AUTH_NONCE_MAX 64

struct auth_nonce_key {
	uint8_t key[AUTH_NONCE_KEY_LEN];
};

/* Writes a NUL-terminated nonce into out (>= AUTH_NONCE_MAX); returns its
 * length through *len. features go into the RFC 8489 nonce cookie. */
int auth_nonce_make(const struct auth_nonce_key *k, const struct sa *client,
		    int transport, uint64_t now, uint32_t features, char *out,
		    size_t *len);
/* 0 if the nonce is ours, for this client and transport, and not older
 * than lifetime seconds; ESTALE if it is ours but too old (reply 438);
 * EACCES if it is not ours at all (also reply 438 with a fresh nonce;
 * callers may treat both the same). */
int auth_nonce_check(const struct auth_nonce_key *k, const struct sa *client,
		     int transport, const uint8_t *nonce, size_t len,
		     uint64_t now, uint64_t lifetime);

/* ----- Long-term keys of REST usernames (auth/keycache.c) -----
 * A fixed-size, per-thread cache: username + realm + algorithm -> key.
 * The owner must clear it whenever the shared secrets may change. get
 * returns ENOENT on a miss; entries too long for a slot are not kept. */
#define AUTH_KEYCACHE_ID_MAX 192

struct auth_keycache;
int auth_keycache_alloc(struct auth_keycache **cp, unsigned slots,
			uint32_t seed); /* slots: a power of two */
void auth_keycache_free(struct auth_keycache *c);
void auth_keycache_clear(struct auth_keycache *c);
int auth_keycache_get(const struct auth_keycache *c, const char *user,
		      size_t ulen, const char *realm, bool sha256,
		      uint8_t key[32], size_t *klen);
void auth_keycache_put(struct auth_keycache *c, const char *user,
		       size_t ulen, const char *realm, bool sha256,
		       const uint8_t *key, size_t klen);

/* A reusable HMAC-SHA256 context keyed with a nonce key, for one thread:
 * building and keying one per nonce cost several times the MAC. It keeps
 * a copy of the key and re-keys itself when given another. The _with
 * functions are the ones above using it (m may be NULL). */
struct auth_nonce_mac;
int auth_nonce_mac_alloc(struct auth_nonce_mac **mp);
void auth_nonce_mac_free(struct auth_nonce_mac *m);
int auth_nonce_make_with(const struct auth_nonce_key *k,
			 struct auth_nonce_mac *m, const struct sa *client,
			 int transport, uint64_t now, uint32_t features,
			 char *out, size_t *len);
int auth_nonce_check_with(const struct auth_nonce_key *k,
			  struct auth_nonce_mac *m, const struct sa *client,
			  int transport, const uint8_t *nonce, size_t len,
			  uint64_t now, uint64_t lifetime);

/* ----- Per-source-IP limiter for 401 replies -----
 * A fixed-size table of token buckets (no malloc after creation) so an
 * unauthenticated flood cannot make the server a reflector. Collisions
 * share a bucket, which only errs on the side of limiting. */
struct auth_ratelimit;

int auth_ratelimit_alloc(struct auth_ratelimit **rlp, unsigned buckets,
			 unsigned rate_per_s, unsigned burst);
void auth_ratelimit_free(struct auth_ratelimit *rl);
/* true if a reply to this IP (port ignored) is allowed at now_ms. */
bool auth_ratelimit_allow(struct auth_ratelimit *rl, const struct sa *ip,
			  uint64_t now_ms);

/* ----- Constant-time compare ----- */
bool auth_ct_equal(const void *a, const void *b, size_t n);

#endif
