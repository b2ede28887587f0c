/* CONNECTION-IDs (RFC 6062 5.2, 5.3). A ConnectionBind arrives on a new
 * client connection, which any worker may have accepted, so the ids live
 * in one table shared by all workers: id -> the worker (its turn_srv and
 * turn_io arg) that owns the peer connection. Ids are random, so one
 * client cannot guess another's; ConnectionBind is authenticated anyway.
 * Only Connect, accepted peers, binds and closes take the mutex. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "turn/turn_int.h"
#include "util/rand.h"

#define CONNID_BUCKETS 1024 /* power of two */
#define CONNID_TRIES 16

struct connid_ent {
	struct connid_ent *next;
	uint32_t id;
	struct turn_srv *owner;
	void *owner_arg;
	struct turn_tconn *tc;
};

struct turn_connids {
	pthread_mutex_t mu;
	struct connid_ent *b[CONNID_BUCKETS];
};

int turn_connids_alloc(struct turn_connids **cp)
{
	struct turn_connids *c = calloc(1, sizeof(*c));
	if (!c)
		return ENOMEM;
	pthread_mutex_init(&c->mu, NULL);
	*cp = c;
	return 0;
}

void turn_connids_free(struct turn_connids *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < CONNID_BUCKETS; i++) {
		while (c->b[i]) {
			struct connid_ent *e = c->b[i];
			c->b[i] = e->next;
			free(e);
		}
	}
	pthread_mutex_destroy(&c->mu);
	free(c);
}

static struct connid_ent **connid_slot(struct turn_connids *c, uint32_t id)
{
	struct connid_ent **pp = &c->b[id & (CONNID_BUCKETS - 1)];
	while (*pp && (*pp)->id != id)
		pp = &(*pp)->next;
	return pp;
}

int turn_connid_add(struct turn_shared *sh, struct turn_srv *owner,
		    struct turn_tconn *tc, uint32_t *id)
{
	struct turn_connids *c = turn_shared_connids(sh);
	struct connid_ent *e = calloc(1, sizeof(*e));
	if (!e)
		return ENOMEM;
	*e = (struct connid_ent){.owner = owner, .owner_arg = owner->io.arg,
				 .tc = tc};
	int err = EAGAIN;
	pthread_mutex_lock(&c->mu);
	for (int i = 0; i < CONNID_TRIES && err; i++) {
		uint32_t v = rand_u32();
		struct connid_ent **pp = connid_slot(c, v);
		if (v == 0 || *pp)
			continue; /* 0 is never an id; a taken one is retried */
		e->id = v;
		*pp = e;
		err = 0;
	}
	pthread_mutex_unlock(&c->mu);
	if (err) {
		free(e);
		return err;
	}
	*id = e->id;
	return 0;
}

void turn_connid_del(struct turn_shared *sh, uint32_t id)
{
	struct turn_connids *c = turn_shared_connids(sh);
	pthread_mutex_lock(&c->mu);
	struct connid_ent **pp = connid_slot(c, id);
	struct connid_ent *e = *pp;
	if (e)
		*pp = e->next;
	pthread_mutex_unlock(&c->mu);
	free(e);
}

/* tc is only meaningful to the owner's own thread. */
int turn_connid_find(struct turn_shared *sh, uint32_t id,
		     struct turn_srv **owner, void **owner_arg,
		     struct turn_tconn **tc)
{
	struct turn_connids *c = turn_shared_connids(sh);
	int err = ENOENT;
	pthread_mutex_lock(&c->mu);
	struct connid_ent *e = *connid_slot(c, id);
	if (e) {
		*owner = e->owner;
		*owner_arg = e->owner_arg;
		*tc = e->tc;
		err = 0;
	}
	pthread_mutex_unlock(&c->mu);
	return err;
}
