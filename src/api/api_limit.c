/* Token buckets for the API's rate limits, per client IP (before any
 * signature is verified, so a flood of forged tokens costs a hash lookup,
 * not an RSA verification) and per account (after it). A fixed table: no
 * allocation per client, so a spray of source addresses cannot grow it.
 *
 * A key may sit in any of LIMIT_PROBES slots from its hash, and the hash
 * is seeded per table: two busy accounts, or an attacker's addresses
 * chosen to collide with an app server's, would otherwise share one
 * bucket, and one would be throttled for the other's traffic. Only when
 * every candidate slot is busy with other keys does a key share one. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "util/rand.h"
#include "util/sa.h"

#define LIMIT_KEY_MAX 80
#define LIMIT_PROBES 4

struct bucket {
	char key[LIMIT_KEY_MAX];
	double tokens;
	uint64_t last_ms;
	uint32_t rate, burst; /* the owner's, to tell when it is idle */
};

struct api_limit {
	pthread_mutex_t mu;
	unsigned nslots;
	uint32_t seed;
	struct bucket *slots;
};

int api_limit_alloc(struct api_limit **lp, unsigned slots)
{
	struct api_limit *l = calloc(1, sizeof(*l));
	if (!l || !slots)
		goto fail;
	l->slots = calloc(slots, sizeof(*l->slots));
	if (!l->slots)
		goto fail;
	l->nslots = slots;
	l->seed = rand_u32();
	pthread_mutex_init(&l->mu, NULL);
	*lp = l;
	return 0;
fail:
	free(l);
	return slots ? ENOMEM : EINVAL;
}

void api_limit_free(struct api_limit *l)
{
	if (!l)
		return;
	pthread_mutex_destroy(&l->mu);
	free(l->slots);
	free(l);
}

/* FNV-1a from a secret seed, so no one can aim keys at one slot. */
static uint32_t limit_hash(uint32_t seed, const char *s)
{
	uint32_t h = 2166136261u ^ seed;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

static void bucket_refill(struct bucket *b, uint32_t rate, uint32_t burst,
			  uint64_t now_ms)
{
	if (now_ms > b->last_ms)
		b->tokens += (double)(now_ms - b->last_ms) * rate / 1000.0;
	if (b->tokens > burst)
		b->tokens = burst;
	b->last_ms = now_ms;
}

static void bucket_claim(struct bucket *b, const char *key, uint32_t rate,
			 uint32_t burst, uint64_t now_ms)
{
	strncpy(b->key, key, LIMIT_KEY_MAX - 1);
	b->key[LIMIT_KEY_MAX - 1] = '\0';
	b->tokens = burst;
	b->last_ms = now_ms;
	b->rate = rate;
	b->burst = burst;
}

/* The key's own slot; else a free one, or one whose owner's bucket has
 * refilled (it is idle), is taken over; else the key shares its first
 * slot, which only errs on the side of limiting. */
static struct bucket *limit_slot(struct api_limit *l, const char *key,
				 uint32_t rate, uint32_t burst, uint64_t now_ms)
{
	uint32_t h = limit_hash(l->seed, key);
	struct bucket *b;
	for (unsigned i = 0; i < LIMIT_PROBES; i++) {
		b = &l->slots[(h + i) % l->nslots];
		if (b->key[0] && strncmp(b->key, key, LIMIT_KEY_MAX - 1) == 0) {
			b->rate = rate; /* an account's limit may change */
			b->burst = burst;
			return b;
		}
	}
	for (unsigned i = 0; i < LIMIT_PROBES; i++) {
		b = &l->slots[(h + i) % l->nslots];
		if (b->key[0])
			bucket_refill(b, b->rate, b->burst, now_ms);
		if (b->key[0] == '\0' || b->tokens >= b->burst) {
			bucket_claim(b, key, rate, burst, now_ms);
			return b;
		}
	}
	return &l->slots[h % l->nslots];
}

/* IPv6 clients get a /64 each (RFC 6177), so the per-IP limit counts
 * an IPv6 source by its /64, as the TURN side does; an IPv4-mapped
 * address counts as its IPv4 address. */
void api_limit_ip_key(const char *ip, char *out, size_t outsz)
{
	struct sa s, k;
	if (sa_set_str(&s, ip, 0) != 0) {
		snprintf(out, outsz, "%s", ip);
		return;
	}
	sa_source_key(&k, &s);
	sa_fmt_ip(&k, out, outsz);
}

void api_limit_user_key(const struct api_limit *l, const char *account,
			const char *sub, char *out, size_t outsz)
{
	/* Two seeded 32-bit FNV-1a hashes of "account:sub" (':' is in
	 * neither): 64 bits, so two users share a bucket only by a rare
	 * accident, and the key is 16 bytes whatever the names' lengths. */
	char both[STORE_NAME_MAX + JWT_SUB_MAX + 2];
	snprintf(both, sizeof(both), "%s:%s", account, sub);
	uint32_t h1 = limit_hash(l->seed, both);
	uint32_t h2 = limit_hash(l->seed ^ 0x9e3779b9u, both);
	snprintf(out, outsz, "%08x%08x", h1, h2);
}

unsigned api_limit_take(struct api_limit *l, const char *key, uint32_t rate,
			uint32_t burst, uint64_t now_ms)
{
	unsigned wait = 0;
	if (rate == 0)
		return 0;
	if (burst == 0)
		burst = rate;
	if (!key[0])
		key = "-"; /* "" marks a free slot */
	pthread_mutex_lock(&l->mu);
	struct bucket *b = limit_slot(l, key, rate, burst, now_ms);
	bucket_refill(b, rate, burst, now_ms);
	if (b->tokens >= 1.0)
		b->tokens -= 1.0;
	else
		wait = (unsigned)((1.0 - b->tokens) / rate) + 1;
	pthread_mutex_unlock(&l->mu);
	return wait;
}
