/* State shared between workers. Only the control path (Allocate and
 * deallocation) takes this mutex; relaying never does. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "turn/turn_int.h"
#include "util/rand.h"
#include "util/srccount.h"

#define QUOTA_BUCKETS 1024

struct quota_ent {
	struct quota_ent *next;
	uint32_t count;
	size_t len;
	char userid[];
};

/* A reserved relayed transport address (RFC 8656 7.2): the address as
 * well as the port, so a token is redeemed in its own family only. */
struct resv {
	uint8_t token[8];
	struct sa addr;
	uint64_t expires;
	bool used;
};

struct turn_shared {
	pthread_mutex_t mu;
	struct portpool *pool;
	struct quota_ent *quota[QUOTA_BUCKETS];
	uint32_t qseed;
	unsigned total;
	uint64_t bps_granted;
	struct resv resv[TURN_RESV_MAX];
	unsigned nresv; /* resv[] entries in use */
	struct turn_connids *connids; /* turn_connid.c, its own mutex */
	struct srccount *conncap; /* turn_conncap.c, its own mutex */
	uint32_t rnd[256]; /* getrandom() output for port choices */
	unsigned rnd_pos;
};

/* Relay ports stay unpredictable (RFC 8656 7.2), but drawn from one
 * getrandom() per 256 allocations instead of one each (strace). The
 * pool calls this with sh->mu held. */
static uint32_t shared_rand(void *arg)
{
	struct turn_shared *sh = arg;
	if (sh->rnd_pos >= sizeof(sh->rnd) / sizeof(sh->rnd[0])) {
		if (rand_bytes(sh->rnd, sizeof(sh->rnd)) != 0)
			return rand_u32();
		sh->rnd_pos = 0;
	}
	return sh->rnd[sh->rnd_pos++];
}

int turn_shared_alloc(struct turn_shared **shp, uint16_t min_port,
		      uint16_t max_port)
{
	struct turn_shared *sh = calloc(1, sizeof(*sh));
	if (!sh)
		return ENOMEM;
	sh->rnd_pos = sizeof(sh->rnd) / sizeof(sh->rnd[0]); /* empty */
	int err = portpool_alloc(&sh->pool, min_port, max_port, shared_rand, sh);
	if (err) {
		free(sh);
		return err;
	}
	err = turn_connids_alloc(&sh->connids);
	if (!err)
		err = srccount_alloc(&sh->conncap);
	if (err) {
		turn_connids_free(sh->connids);
		portpool_free(sh->pool);
		free(sh);
		return err;
	}
	pthread_mutex_init(&sh->mu, NULL);
	sh->qseed = rand_u32();
	*shp = sh;
	return 0;
}

void turn_shared_free(struct turn_shared *sh)
{
	if (!sh)
		return;
	for (size_t i = 0; i < QUOTA_BUCKETS; i++) {
		struct quota_ent *q = sh->quota[i];
		while (q) {
			struct quota_ent *next = q->next;
			free(q);
			q = next;
		}
	}
	turn_connids_free(sh->connids);
	srccount_free(sh->conncap);
	portpool_free(sh->pool);
	pthread_mutex_destroy(&sh->mu);
	free(sh);
}

struct turn_connids *turn_shared_connids(struct turn_shared *sh)
{
	return sh->connids;
}

struct srccount *turn_shared_conncap(struct turn_shared *sh)
{
	return sh->conncap;
}

unsigned turn_shared_allocations(struct turn_shared *sh)
{
	pthread_mutex_lock(&sh->mu);
	unsigned n = sh->total;
	pthread_mutex_unlock(&sh->mu);
	return n;
}

/* Expired reservations give their port back; called under the mutex.
 * Every reader of the pool sweeps first: a token nobody redeems must not
 * hold its port past its 30 s (RFC 8656 7.2) until the next reservation
 * happens to come, or a pool filled by them would stay full (508). */
static void resv_sweep(struct turn_shared *sh, uint64_t now)
{
	for (size_t i = 0; sh->nresv && i < TURN_RESV_MAX; i++) {
		struct resv *r = &sh->resv[i];
		if (r->used && r->expires <= now) {
			(void)portpool_put(sh->pool, sa_port(&r->addr));
			r->used = false;
			sh->nresv--;
		}
	}
}

unsigned turn_shared_ports_free(struct turn_shared *sh, uint64_t now)
{
	pthread_mutex_lock(&sh->mu);
	resv_sweep(sh, now);
	unsigned n = portpool_nfree(sh->pool);
	pthread_mutex_unlock(&sh->mu);
	return n;
}

int turn_shared_port_get(struct turn_shared *sh, bool even, bool reserve,
			 uint64_t now, uint16_t *port)
{
	pthread_mutex_lock(&sh->mu);
	resv_sweep(sh, now);
	int err = even ? portpool_get_even(sh->pool, reserve, port)
		       : portpool_get(sh->pool, port);
	pthread_mutex_unlock(&sh->mu);
	return err;
}

void turn_shared_port_put(struct turn_shared *sh, uint16_t port)
{
	pthread_mutex_lock(&sh->mu);
	(void)portpool_put(sh->pool, port);
	pthread_mutex_unlock(&sh->mu);
}

int turn_shared_resv_add(struct turn_shared *sh, const struct sa *addr,
			 uint64_t now, uint8_t token[8])
{
	int err = ENOSPC;
	if (rand_bytes(token, 8) != 0)
		return EIO;
	pthread_mutex_lock(&sh->mu);
	resv_sweep(sh, now);
	for (size_t i = 0; i < TURN_RESV_MAX; i++) {
		struct resv *r = &sh->resv[i];
		if (r->used)
			continue;
		memcpy(r->token, token, 8);
		r->addr = *addr;
		r->expires = now + TURN_RESV_MS;
		r->used = true;
		sh->nresv++;
		err = 0;
		break;
	}
	pthread_mutex_unlock(&sh->mu);
	return err;
}

/* Redeem a token: the reserved address moves to the caller, its port
 * still in use in the pool. ENOENT for unknown or expired tokens. */
int turn_shared_resv_take(struct turn_shared *sh, const uint8_t token[8],
			  uint64_t now, struct sa *addr)
{
	int err = ENOENT;
	pthread_mutex_lock(&sh->mu);
	resv_sweep(sh, now);
	for (size_t i = 0; i < TURN_RESV_MAX; i++) {
		struct resv *r = &sh->resv[i];
		if (!r->used || !auth_ct_equal(r->token, token, 8))
			continue;
		*addr = r->addr;
		r->used = false;
		sh->nresv--;
		err = 0;
		break;
	}
	pthread_mutex_unlock(&sh->mu);
	return err;
}

static uint32_t quota_hash(const struct turn_shared *sh, const char *s,
			   size_t len)
{
	uint32_t h = 2166136261u ^ sh->qseed;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)s[i]) * 16777619u;
	return h & (QUOTA_BUCKETS - 1);
}

static struct quota_ent **quota_slot(struct turn_shared *sh, const char *id,
				     size_t len)
{
	struct quota_ent **pp = &sh->quota[quota_hash(sh, id, len)];
	while (*pp && !((*pp)->len == len && memcmp((*pp)->userid, id, len) == 0))
		pp = &(*pp)->next;
	return pp;
}

/* Count one allocation against the user-id and the server total.
 * 0, EDQUOT when the user's quota is reached, ENOSPC when the server's
 * is (both 486), ENOMEM. */
int turn_shared_quota_take(struct turn_shared *sh, const char *userid,
			   size_t len, uint32_t user_quota,
			   uint32_t total_quota)
{
	int err = 0;
	pthread_mutex_lock(&sh->mu);
	struct quota_ent **pp = quota_slot(sh, userid, len);
	if (total_quota && sh->total >= total_quota) {
		err = ENOSPC;
		goto out;
	}
	if (!*pp) {
		*pp = calloc(1, sizeof(**pp) + len + 1);
		if (!*pp) {
			err = ENOMEM;
			goto out;
		}
		memcpy((*pp)->userid, userid, len);
		(*pp)->len = len;
	}
	if (user_quota && (*pp)->count >= user_quota) {
		err = EDQUOT;
		goto out;
	}
	(*pp)->count++;
	sh->total++;
out:
	pthread_mutex_unlock(&sh->mu);
	return err;
}

void turn_shared_quota_put(struct turn_shared *sh, const char *userid,
			   size_t len)
{
	pthread_mutex_lock(&sh->mu);
	struct quota_ent **pp = quota_slot(sh, userid, len);
	if (*pp && (*pp)->count > 0) {
		(*pp)->count--;
		sh->total--;
		if ((*pp)->count == 0) {
			struct quota_ent *dead = *pp;
			*pp = dead->next;
			free(dead);
		}
	}
	pthread_mutex_unlock(&sh->mu);
}

uint32_t turn_shared_bps_take(struct turn_shared *sh, uint32_t want,
			      uint32_t capacity)
{
	uint32_t got = want;
	pthread_mutex_lock(&sh->mu);
	if (capacity) {
		uint64_t left = sh->bps_granted < capacity ? capacity - sh->bps_granted : 0;
		if (left < got)
			got = (uint32_t)left;
	}
	sh->bps_granted += got;
	pthread_mutex_unlock(&sh->mu);
	return got;
}

void turn_shared_bps_put(struct turn_shared *sh, uint32_t bps)
{
	pthread_mutex_lock(&sh->mu);
	sh->bps_granted -= bps <= sh->bps_granted ? bps : sh->bps_granted;
	pthread_mutex_unlock(&sh->mu);
}

uint64_t turn_shared_bps_granted(struct turn_shared *sh)
{
	pthread_mutex_lock(&sh->mu);
	uint64_t n = sh->bps_granted;
	pthread_mutex_unlock(&sh->mu);
	return n;
}
