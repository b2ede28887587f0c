/* Relay port pool. slot[] holds every port offset: the first nfree are
 * free, the rest are in use, and pos[] maps an offset back to its slot.
 * Taking a port swaps it to the end of the free part, putting one swaps
 * it back, so every operation is O(1), draws from exactly the free ports
 * (no retry loop) and free + used is the range size by construction. */
#include <errno.h>
#include <stdlib.h>

#include "turn/portpool.h"
#include "util/rand.h"

struct portpool {
	uint16_t min;
	unsigned size;
	unsigned nfree;
	uint16_t *slot; /* port - min, free ones first */
	uint16_t *pos;  /* slot index of each offset */
	portpool_rand_h *rnd;
	void *arg;
};

static uint32_t portpool_default_rand(void *arg)
{
	(void)arg;
	return rand_u32();
}

int portpool_alloc(struct portpool **pp, uint16_t min, uint16_t max,
		   portpool_rand_h *rnd, void *arg)
{
	/* Port 0 is "any" to the kernel, never a relay port. */
	if (!pp || min == 0 || min > max)
		return EINVAL;
	struct portpool *p = calloc(1, sizeof(*p));
	if (!p)
		return ENOMEM;
	p->size = (unsigned)(max - min) + 1;
	p->slot = calloc(p->size, sizeof(*p->slot));
	p->pos = calloc(p->size, sizeof(*p->pos));
	if (!p->slot || !p->pos) {
		portpool_free(p);
		return ENOMEM;
	}
	for (unsigned i = 0; i < p->size; i++)
		p->slot[i] = p->pos[i] = (uint16_t)i;
	p->min = min;
	p->nfree = p->size;
	p->rnd = rnd ? rnd : portpool_default_rand;
	p->arg = arg;
	*pp = p;
	return 0;
}

void portpool_free(struct portpool *p)
{
	if (!p)
		return;
	free(p->slot);
	free(p->pos);
	free(p);
}

static void portpool_swap(struct portpool *p, unsigned i, unsigned j)
{
	uint16_t a = p->slot[i], b = p->slot[j];
	p->slot[i] = b;
	p->slot[j] = a;
	p->pos[a] = (uint16_t)j;
	p->pos[b] = (uint16_t)i;
}

static bool portpool_off(const struct portpool *p, uint16_t port,
			 unsigned *off)
{
	if (port < p->min || (unsigned)(port - p->min) >= p->size)
		return false;
	*off = (unsigned)(port - p->min);
	return true;
}

static bool portpool_is_free(const struct portpool *p, unsigned off)
{
	return p->pos[off] < p->nfree;
}

/* Move a free offset into the used part. */
static void portpool_mark_used(struct portpool *p, unsigned off)
{
	portpool_swap(p, p->pos[off], p->nfree - 1);
	p->nfree--;
}

/* Uniform in [0, n) by multiply-shift; the bias is below n / 2^32. */
static unsigned portpool_pick(struct portpool *p, unsigned n)
{
	return (unsigned)(((uint64_t)p->rnd(p->arg) * n) >> 32);
}

int portpool_get(struct portpool *p, uint16_t *port)
{
	if (p->nfree == 0)
		return ENOSPC;
	unsigned off = p->slot[portpool_pick(p, p->nfree)];
	portpool_mark_used(p, off);
	*port = (uint16_t)(p->min + off);
	return 0;
}

/* An even port, and with reserve_next its free odd successor in range
 * (EVEN-PORT, RFC 8656 7.2). */
static bool portpool_even_ok(const struct portpool *p, unsigned off,
			     bool reserve_next)
{
	if ((p->min + off) % 2 != 0)
		return false;
	if (!reserve_next)
		return true;
	return off + 1 < p->size && portpool_is_free(p, off + 1);
}

/* Scan the free part from a random slot: bounded by nfree, no retries. */
int portpool_get_even(struct portpool *p, bool reserve_next, uint16_t *port)
{
	if (p->nfree == 0)
		return ENOSPC;
	unsigned start = portpool_pick(p, p->nfree);
	for (unsigned i = 0; i < p->nfree; i++) {
		unsigned off = p->slot[(start + i) % p->nfree];
		if (!portpool_even_ok(p, off, reserve_next))
			continue;
		portpool_mark_used(p, off);
		if (reserve_next)
			portpool_mark_used(p, off + 1);
		*port = (uint16_t)(p->min + off);
		return 0;
	}
	return ENOSPC;
}

int portpool_take(struct portpool *p, uint16_t port)
{
	unsigned off;
	if (!portpool_off(p, port, &off))
		return EINVAL;
	if (!portpool_is_free(p, off))
		return EBUSY;
	portpool_mark_used(p, off);
	return 0;
}

int portpool_put(struct portpool *p, uint16_t port)
{
	unsigned off;
	if (!portpool_off(p, port, &off) || portpool_is_free(p, off))
		return EINVAL;
	portpool_swap(p, p->pos[off], p->nfree);
	p->nfree++;
	return 0;
}

unsigned portpool_nfree(const struct portpool *p)
{
	return p->nfree;
}

unsigned portpool_nused(const struct portpool *p)
{
	return p->size - p->nfree;
}

unsigned portpool_size(const struct portpool *p)
{
	return p->size;
}
