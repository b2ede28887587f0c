/* Things held open (connections) counted per client source, shared by
 * threads: the TURN side's --max-unauth-tcp-per-ip and the API's
 * --api-connections-per-ip. A source is sa_source_key's: an IPv4 (or
 * IPv4-mapped) address as it is, any other IPv6 address by its /64 (one
 * host's usual assignment). Entries live only while their count is
 * non-zero, so the table is never larger than what is open. */
#ifndef TS_UTIL_SRCCOUNT_H
#define TS_UTIL_SRCCOUNT_H
#include <stdbool.h>

#include "util/sa.h"

struct srccount;

int srccount_alloc(struct srccount **cp);
void srccount_free(struct srccount *c);
/* One more for src's source, unless it holds max already (0: no cap).
 * False when refused (out of memory counts as refused). */
bool srccount_take(struct srccount *c, const struct sa *src, unsigned max);
/* One less; a source that holds none is left alone. */
void srccount_put(struct srccount *c, const struct sa *src);
unsigned srccount_get(struct srccount *c, const struct sa *src);

#endif
