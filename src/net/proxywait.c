/* Streams on tcp-proxy-port still waiting for their PROXY header. Until
 * it comes, a stream's only address is its balancer's, which all of that
 * balancer's clients share, so it cannot count against
 * max-unauth-tcp-per-ip (a burst of connects would shut every client out).
 * It counts here instead: each worker keeps at most pend_max of them
 * (net_proxy_wait_max: a share of the descriptor limit), oldest first.
 * At the cap a new stream is not refused, since stalled streams would
 * then lock out every prompt one for the whole header deadline; it takes
 * the place of the oldest waiting stream of the balancer holding the
 * most. A prompt stream sends its header in one round trip, so under a
 * flood what goes is what stalls, and a balancer that floods replaces its
 * own streams, not another balancer's. */
#include <sys/resource.h>

#include "net/net_int.h"
#include "util/log.h"
#include "util/srccount.h"

#define PROXY_WAIT_MIN 16
#define PROXY_WAIT_MAX 4096 /* per worker: about 10 MB with their kernel sockets */

unsigned net_proxy_wait_max(unsigned nworkers)
{
	struct rlimit rl;
	rlim_t fds = 1024; /* unknown: the usual soft limit */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		fds = rl.rlim_cur; /* RLIM_INFINITY: clamped below */
	/* A quarter of the descriptors: the rest stays for streams that
	 * have sent their header, direct clients and relay sockets. */
	rlim_t n = fds / 4 / (nworkers ? nworkers : 1);
	if (n < PROXY_WAIT_MIN)
		return PROXY_WAIT_MIN;
	return n > PROXY_WAIT_MAX ? PROXY_WAIT_MAX : (unsigned)n;
}

int net_proxy_wait_init(struct net_worker *w)
{
	return srccount_alloc(&w->pend_src);
}

void net_proxy_wait_fini(struct net_worker *w)
{
	srccount_free(w->pend_src);
	w->pend_src = NULL;
}

/* Of the stream's own balancer, the one that last held the most, and the
 * oldest stream's: whichever holds the most now. Exact enough: a
 * flooding balancer is all three or holds the most by far. */
static void proxy_wait_heaviest(struct net_worker *w, const struct sa *src,
				struct sa *key)
{
	const struct sa *cand[3] = {&w->pend_head->remote, &w->pend_top, src};
	unsigned best = 0;
	for (unsigned i = 0; i < 3; i++) {
		unsigned n = srccount_get(w->pend_src, cand[i]);
		if (i == 0 || n > best) {
			best = n;
			sa_source_key(key, cand[i]);
		}
	}
}

/* The oldest waiting stream of that balancer (a stream of the source
 * that was counted, so there is one). */
static struct net_tcp_conn *proxy_wait_victim(struct net_worker *w,
					       const struct sa *src)
{
	struct sa key, k;
	proxy_wait_heaviest(w, src, &key);
	for (struct net_tcp_conn *c = w->pend_head; c; c = c->pnext) {
		sa_source_key(&k, &c->remote);
		if (sa_eq_addr(&k, &key))
			return c;
	}
	return w->pend_head;
}

/* Said at most every 10 s per worker. */
static void proxy_wait_log(struct net_worker *w, const struct sa *src)
{
	if (!net_say_rarely(w, &w->pend_logged))
		return;
	char ip[SA_STRLEN];
	log_warn("worker %u: %u TCP streams wait for a PROXY header; the "
		 "oldest from %s is closed for a new one",
		 w->id, w->npend, sa_fmt_ip(src, ip, sizeof(ip)));
}

bool net_proxy_wait_add(struct net_tcp_conn *c)
{
	struct net_worker *w = c->w;
	while (w->npend > 0 && w->npend >= w->pend_max) {
		struct net_tcp_conn *v = proxy_wait_victim(w, &c->remote);
		proxy_wait_log(w, &v->remote);
		turn_stat_add(&turn_srv_net_stats(w->srv)->conn_refused, 1);
		net_tcp_close(v); /* leaves the list (net_proxy_wait_del) */
	}
	if (!srccount_take(w->pend_src, &c->remote, 0))
		return false;
	c->pwaiting = true;
	c->pnext = NULL;
	c->pprev = w->pend_tail;
	if (w->pend_tail)
		w->pend_tail->pnext = c;
	else
		w->pend_head = c;
	w->pend_tail = c;
	w->npend++;
	if (srccount_get(w->pend_src, &c->remote) >
	    srccount_get(w->pend_src, &w->pend_top))
		w->pend_top = c->remote;
	return true;
}

void net_proxy_wait_del(struct net_tcp_conn *c)
{
	struct net_worker *w = c->w;
	if (!c->pwaiting)
		return;
	c->pwaiting = false;
	if (c->pprev)
		c->pprev->pnext = c->pnext;
	else
		w->pend_head = c->pnext;
	if (c->pnext)
		c->pnext->pprev = c->pprev;
	else
		w->pend_tail = c->pprev;
	c->pprev = c->pnext = NULL;
	w->npend--;
	srccount_put(w->pend_src, &c->remote);
}
