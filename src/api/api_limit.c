/* Token buckets for the API's rate limits, per client IP and per account,
 * checked before any signature is verified so that a flood of forged
 * tokens costs a hash lookup, not an RSA verification. A fixed table: no
 * allocation per client, so a spray of source addresses cannot grow it. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"

#define LIMIT_KEY_MAX 80

struct bucket {
	char key[LIMIT_KEY_MAX];
	double tokens;
	uint64_t last_ms;
};

struct api_limit {
	pthread_mutex_t mu;
	unsigned nslots;
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

/* FNV-1a: keys are short and the table is not exposed to timing. */
static uint32_t limit_hash(const char *s)
{
	uint32_t h = 2166136261u;
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

/* A slot held by another key is taken over once that key's bucket has
 * refilled (it is idle); until then the two share it, which only errs on
 * the side of limiting. */
static struct bucket *limit_slot(struct api_limit *l, const char *key,
				 uint32_t rate, uint32_t burst, uint64_t now_ms)
{
	struct bucket *b = &l->slots[limit_hash(key) % l->nslots];
	if (strncmp(b->key, key, LIMIT_KEY_MAX - 1) == 0)
		return b;
	bucket_refill(b, rate, burst, now_ms);
	if (b->key[0] == '\0' || b->tokens >= burst) {
		strncpy(b->key, key, LIMIT_KEY_MAX - 1);
		b->key[LIMIT_KEY_MAX - 1] = '\0';
		b->tokens = burst;
		b->last_ms = now_ms;
	}
	return b;
}

unsigned api_limit_take(struct api_limit *l, const char *key, uint32_t rate,
			uint32_t burst, uint64_t now_ms)
{
	unsigned wait = 0;
	if (rate == 0)
		return 0;
	if (burst == 0)
		burst = rate;
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
