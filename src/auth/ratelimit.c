/* Token buckets per source IP for unauthenticated replies (401/438), so a
 * spoofed flood cannot turn the server into a reflector. The table is
 * fixed at creation; colliding sources share a bucket, which can only
 * limit more, never less. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "util/rand.h"

#define RL_MILLI 1000u /* tokens are kept in thousandths */
#define RL_BUCKETS_MAX (1u << 24)
#define RL_BURST_MAX (1u << 20)

struct rl_bucket {
	uint64_t last_ms;
	uint64_t tokens; /* thousandths of a token */
	bool used;
};

struct auth_ratelimit {
	struct rl_bucket *b;
	unsigned n;
	unsigned rate; /* tokens per second == thousandths per ms */
	uint64_t cap;  /* burst in thousandths */
	uint32_t seed;
};

int auth_ratelimit_alloc(struct auth_ratelimit **rlp, unsigned buckets,
			 unsigned rate_per_s, unsigned burst)
{
	if (!rlp || buckets == 0 || buckets > RL_BUCKETS_MAX ||
	    rate_per_s == 0 || burst == 0 || burst > RL_BURST_MAX)
		return EINVAL;
	struct auth_ratelimit *rl = calloc(1, sizeof(*rl));
	if (!rl)
		return ENOMEM;
	rl->b = calloc(buckets, sizeof(*rl->b));
	if (!rl->b) {
		free(rl);
		return ENOMEM;
	}
	rl->n = buckets;
	rl->rate = rate_per_s;
	rl->cap = (uint64_t)burst * RL_MILLI;
	/* A secret seed keeps remote parties from aiming at one bucket. */
	rl->seed = rand_u32();
	*rlp = rl;
	return 0;
}

void auth_ratelimit_free(struct auth_ratelimit *rl)
{
	if (!rl)
		return;
	free(rl->b);
	free(rl);
}

/* The key ignores the port and counts an IPv6 source as its /64
 * (sa_source_key). */
static uint32_t rl_hash(const struct auth_ratelimit *rl, const struct sa *ip)
{
	struct sa k;
	sa_source_key(&k, ip);
	return sa_hash(&k, rl->seed);
}

static void rl_refill(const struct auth_ratelimit *rl, struct rl_bucket *b,
		      uint64_t now_ms)
{
	if (!b->used) {
		b->used = true;
		b->tokens = rl->cap;
		b->last_ms = now_ms;
		return;
	}
	if (now_ms <= b->last_ms)
		return; /* a clock step backwards grants nothing */
	uint64_t dt = now_ms - b->last_ms;
	/* rate >= 1, so dt >= cap ms always refills fully; this bound also
	 * keeps dt * rate from overflowing. */
	if (dt >= rl->cap)
		b->tokens = rl->cap;
	else
		b->tokens += dt * rl->rate;
	if (b->tokens > rl->cap)
		b->tokens = rl->cap;
	b->last_ms = now_ms;
}

bool auth_ratelimit_allow(struct auth_ratelimit *rl, const struct sa *ip,
			  uint64_t now_ms)
{
	if (!rl || !ip || (sa_af(ip) != AF_INET && sa_af(ip) != AF_INET6))
		return false;
	struct rl_bucket *b = &rl->b[rl_hash(rl, ip) % rl->n];
	rl_refill(rl, b, now_ms);
	if (b->tokens < RL_MILLI)
		return false;
	b->tokens -= RL_MILLI;
	return true;
}
