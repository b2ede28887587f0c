/* Open API connections counted per client source, for
 * --api-connections-per-ip. libmicrohttpd's own per-IP limit counts each
 * IPv6 address on its own, so one host with a /64 (the usual IPv6
 * assignment) could open that many from each of 2^64 addresses and take
 * every slot. Here a source is sa_source_key's: an IPv4 (or IPv4-mapped)
 * address as it is, any other IPv6 address by its /64, as the TURN side
 * and the API's rate limits count it.
 *
 * libmicrohttpd calls us on several threads (its thread pool), so the
 * table has a mutex. Entries live only while their count is non-zero:
 * the table is never larger than the open connections. */
#include <errno.h>
#include <stdlib.h>

#include "api/api_int.h"
#include "util/rand.h"

#define SRCCAP_BUCKETS 1024 /* power of two */

struct srccap_ent {
	struct srccap_ent *next;
	struct sa key;
	unsigned count;
};

struct api_srccap {
	pthread_mutex_t mu;
	unsigned max;
	uint32_t seed; /* secret: clients cannot aim at one chain */
	struct srccap_ent *b[SRCCAP_BUCKETS];
};

int api_srccap_alloc(struct api_srccap **cp, unsigned max)
{
	struct api_srccap *c = calloc(1, sizeof(*c));
	if (!c)
		return ENOMEM;
	pthread_mutex_init(&c->mu, NULL);
	c->max = max;
	c->seed = rand_u32();
	*cp = c;
	return 0;
}

void api_srccap_free(struct api_srccap *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < SRCCAP_BUCKETS; i++) {
		struct srccap_ent *e = c->b[i];
		while (e) {
			struct srccap_ent *next = e->next;
			free(e);
			e = next;
		}
	}
	pthread_mutex_destroy(&c->mu);
	free(c);
}

int api_src_from(struct sa *s, const struct sockaddr *addr, socklen_t len)
{
	socklen_t want = !addr ? 0
		       : addr->sa_family == AF_INET ? sizeof(struct sockaddr_in)
		       : addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
		       : 0;
	if (!want || len < want)
		return EINVAL;
	memset(s, 0, sizeof(*s));
	memcpy(&s->u, addr, want);
	s->len = want;
	return 0;
}

/* The link that points at key's entry, or at its chain's NULL end. */
static struct srccap_ent **srccap_find(struct api_srccap *c,
				       const struct sa *key)
{
	struct srccap_ent **pp = &c->b[sa_hash(key, c->seed) & (SRCCAP_BUCKETS - 1)];
	while (*pp && !sa_eq_addr(&(*pp)->key, key))
		pp = &(*pp)->next;
	return pp;
}

unsigned api_srccap_count(struct api_srccap *c, const struct sa *src)
{
	struct sa key;
	sa_source_key(&key, src);
	pthread_mutex_lock(&c->mu);
	struct srccap_ent *e = *srccap_find(c, &key);
	unsigned n = e ? e->count : 0;
	pthread_mutex_unlock(&c->mu);
	return n;
}

bool api_srccap_full(struct api_srccap *c, const struct sa *src)
{
	return c->max && api_srccap_count(c, src) >= c->max;
}

bool api_srccap_take(struct api_srccap *c, const struct sa *src)
{
	struct sa key;
	sa_source_key(&key, src);
	bool ok = false;
	pthread_mutex_lock(&c->mu);
	struct srccap_ent **pp = srccap_find(c, &key);
	if (*pp) {
		ok = !c->max || (*pp)->count < c->max;
		(*pp)->count += ok;
	} else {
		struct srccap_ent *e = calloc(1, sizeof(*e));
		if (e) { /* out of memory: refused, like a full source */
			*e = (struct srccap_ent){.key = key, .count = 1};
			*pp = e;
			ok = true;
		}
	}
	pthread_mutex_unlock(&c->mu);
	return ok;
}

void api_srccap_put(struct api_srccap *c, const struct sa *src)
{
	struct sa key;
	sa_source_key(&key, src);
	pthread_mutex_lock(&c->mu);
	struct srccap_ent **pp = srccap_find(c, &key);
	struct srccap_ent *e = *pp;
	if (e && --e->count == 0) {
		*pp = e->next;
		free(e);
	}
	pthread_mutex_unlock(&c->mu);
}
