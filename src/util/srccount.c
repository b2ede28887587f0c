/* Per-source counts behind one mutex (util/srccount.h). The hash seed is
 * secret, so remote parties cannot aim their addresses at one chain. */
#include "util/srccount.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "util/rand.h"

#define SRCCOUNT_BUCKETS 1024 /* power of two */

struct srccount_ent {
	struct srccount_ent *next;
	struct sa key;
	unsigned count;
};

struct srccount {
	pthread_mutex_t mu;
	uint32_t seed;
	struct srccount_ent *b[SRCCOUNT_BUCKETS];
};

int srccount_alloc(struct srccount **cp)
{
	struct srccount *c = calloc(1, sizeof(*c));
	if (!c)
		return ENOMEM;
	pthread_mutex_init(&c->mu, NULL);
	c->seed = rand_u32();
	*cp = c;
	return 0;
}

void srccount_free(struct srccount *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < SRCCOUNT_BUCKETS; i++) {
		struct srccount_ent *e = c->b[i];
		while (e) {
			struct srccount_ent *next = e->next;
			free(e);
			e = next;
		}
	}
	pthread_mutex_destroy(&c->mu);
	free(c);
}

/* The link that points at key's entry, or at its chain's NULL end. */
static struct srccount_ent **srccount_find(struct srccount *c,
					   const struct sa *key)
{
	struct srccount_ent **pp = &c->b[sa_hash(key, c->seed) & (SRCCOUNT_BUCKETS - 1)];
	while (*pp && !sa_eq_addr(&(*pp)->key, key))
		pp = &(*pp)->next;
	return pp;
}

bool srccount_take(struct srccount *c, const struct sa *src, unsigned max)
{
	struct sa key;
	sa_source_key(&key, src);
	bool ok = false;
	pthread_mutex_lock(&c->mu);
	struct srccount_ent **pp = srccount_find(c, &key);
	if (*pp) {
		ok = !max || (*pp)->count < max;
		(*pp)->count += ok;
	} else {
		struct srccount_ent *e = calloc(1, sizeof(*e));
		if (e) {
			*e = (struct srccount_ent){.key = key, .count = 1};
			*pp = e;
			ok = true;
		}
	}
	pthread_mutex_unlock(&c->mu);
	return ok;
}

void srccount_put(struct srccount *c, const struct sa *src)
{
	struct sa key;
	sa_source_key(&key, src);
	pthread_mutex_lock(&c->mu);
	struct srccount_ent **pp = srccount_find(c, &key);
	struct srccount_ent *e = *pp;
	if (e && --e->count == 0) {
		*pp = e->next;
		free(e);
	}
	pthread_mutex_unlock(&c->mu);
}

unsigned srccount_get(struct srccount *c, const struct sa *src)
{
	struct sa key;
	sa_source_key(&key, src);
	pthread_mutex_lock(&c->mu);
	const struct srccount_ent *e = *srccount_find(c, &key);
	unsigned n = e ? e->count : 0;
	pthread_mutex_unlock(&c->mu);
	return n;
}
