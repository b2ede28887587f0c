/* Client streams that carry no allocation yet, counted per source over
 * all workers. Accepting a TCP or TLS connection costs a descriptor and
 * buffers before anyone has authenticated, so one source may hold only
 * so many of them (--max-unauth-tcp-per-ip); a connection stops counting
 * once it carries an allocation or is bound to a peer connection, and is
 * then covered by the per-user quota instead. The table (IPv6 sources by
 * /64) is util/srccount's, shared by the workers through turn_shared. */
#include "turn/turn_int.h"
#include "util/srccount.h"

bool turn_shared_conn_take(struct turn_shared *sh, const struct sa *src,
			   unsigned max)
{
	/* No cap: nothing to count (a put finds no entry and does nothing). */
	return max == 0 || srccount_take(turn_shared_conncap(sh), src, max);
}

void turn_shared_conn_put(struct turn_shared *sh, const struct sa *src)
{
	srccount_put(turn_shared_conncap(sh), src);
}
