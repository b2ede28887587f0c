/* Relay port pool over [min, max]. Free plus used always equals the range
 * size. Ports are handed out in random order (RFC 8656 7.2 wants relayed
 * ports hard to guess). No malloc after creation. */
#ifndef TS_TURN_PORTPOOL_H
#define TS_TURN_PORTPOOL_H
#include <stdbool.h>
#include <stdint.h>

struct portpool;

/* rand_fn returns uniformly random 32-bit values (injected for tests). */
typedef uint32_t(portpool_rand_h)(void *arg);

int portpool_alloc(struct portpool **pp, uint16_t min, uint16_t max,
		   portpool_rand_h *rnd, void *arg);
void portpool_free(struct portpool *p);
/* Take a random free port. 0 or ENOSPC. */
int portpool_get(struct portpool *p, uint16_t *port);
/* Take a free even port whose odd successor is also free and take both
 * when reserve_next (EVEN-PORT with R=1). 0 or ENOSPC. */
int portpool_get_even(struct portpool *p, bool reserve_next, uint16_t *port);
/* Take a specific port if free (RESERVATION-TOKEN redemption). 0/EBUSY/EINVAL. */
int portpool_take(struct portpool *p, uint16_t port);
/* Give a port back. 0, or EINVAL if out of range or already free (the pool
 * never double-counts). */
int portpool_put(struct portpool *p, uint16_t port);
unsigned portpool_nfree(const struct portpool *p);
unsigned portpool_nused(const struct portpool *p);
unsigned portpool_size(const struct portpool *p);

#endif
