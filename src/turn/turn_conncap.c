/* Client streams that carry no allocation yet, counted per source over
 * all workers. Accepting a TCP or TLS connection costs a descriptor and
 * buffers before anyone has authenticated, so one source may hold only
 * so many of them (--max-unauth-tcp-per-ip); a connection stops counting
 * once it carries an allocation or is bound to a peer connection, and is
 * then covered by the per-user quota instead. Sources are counted by
 * sa_source_key (IPv6 by /64). Entries live only while their count is
 * non-zero, so the table is as large as the open connections at most. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "turn/turn_int.h"
#include "util/rand.h"

#define CONNCAP_BUCKETS 4096 /* power of two */

struct conncap_ent {
	struct conncap_ent *next;
	struct sa key;
	unsigned count;
};

struct turn_conncap {
	pthread_mutex_t mu;
	uint32_t seed; /* secret: remote parties cannot aim at one chain */
	struct conncap_ent *b[CONNCAP_BUCKETS];
};

int turn_conncap_alloc(struct turn_conncap **cp)
{
	struct turn_conncap *c = calloc(1, sizeof(*c));
	if (!c)
		return ENOMEM;
	pthread_mutex_init(&c->mu, NULL);
	c->seed = rand_u32();
	*cp = c;
	return 0;
}

void turn_conncap_free(struct turn_conncap *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < CONNCAP_BUCKETS; i++) {
		struct conncap_ent *e = c->b[i];
		while (e) {
			struct conncap_ent *next = e->next;
			free(e);
			e = next;
		}
	}
	pthread_mutex_destroy(&c->mu);
	free(c);
}

/* The link that points at key's entry, or at the chain's NULL end. */
static struct conncap_ent **conncap_find(struct turn_conncap *c,
					 const struct sa *key)
{
	struct conncap_ent **pp = &c->b[sa_hash(key, c->seed) & (CONNCAP_BUCKETS - 1)];
	while (*pp && !sa_eq_addr(&(*pp)->key, key))
		pp = &(*pp)->next;
	return pp;
}

bool turn_shared_conn_take(struct turn_shared *sh, const struct sa *src,
			   unsigned max)
{
	if (max == 0)
		return true;
	struct turn_conncap *c = turn_shared_conncap(sh);
	struct sa key;
	sa_source_key(&key, src);
	bool ok = false;
	pthread_mutex_lock(&c->mu);
	struct conncap_ent **pp = conncap_find(c, &key);
	if (*pp) {
		ok = (*pp)->count < max;
		(*pp)->count += ok;
	} else {
		struct conncap_ent *e = calloc(1, sizeof(*e));
		if (e) { /* out of memory: refused, like a full source */
			*e = (struct conncap_ent){.key = key, .count = 1};
			*pp = e;
			ok = true;
		}
	}
	pthread_mutex_unlock(&c->mu);
	return ok;
}

void turn_shared_conn_put(struct turn_shared *sh, const struct sa *src)
{
	struct turn_conncap *c = turn_shared_conncap(sh);
	struct sa key;
	sa_source_key(&key, src);
	pthread_mutex_lock(&c->mu);
	struct conncap_ent **pp = conncap_find(c, &key);
	struct conncap_ent *e = *pp;
	if (e && --e->count == 0) {
		*pp = e->next;
		free(e);
	}
	pthread_mutex_unlock(&c->mu);
}
