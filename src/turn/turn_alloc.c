/* Allocations (RFC 8656 2.2): found by 5-tuple, owning their relay
 * sockets, permissions, channels, heap entry, port and quota. Destroying
 * one is one call that releases all of it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "turn/turn_int.h"

static uint32_t alloc_hash(const struct turn_srv *srv,
			   const struct turn_src *src)
{
	uint32_t h = sa_hash(&src->client, srv->hseed);
	h = sa_hash(&src->local, h) ^ (uint32_t)src->proto;
	return h & (TURN_HASH_BUCKETS - 1);
}

static bool src_eq(const struct turn_src *a, const struct turn_src *b)
{
	if (a->proto != b->proto || a->secure != b->secure ||
	    !sa_eq(&a->client, &b->client) || !sa_eq(&a->local, &b->local))
		return false;
	/* Over TCP the connection is the 5-tuple (RFC 8656 2.2); over DTLS
	 * the session is, so a plain datagram spoofing the client's address
	 * never reaches an allocation made inside DTLS. */
	return (a->proto != TURN_PROTO_TCP && !a->secure) || a->conn == b->conn;
}

struct turn_alloc *turn_alloc_find(struct turn_srv *srv,
				   const struct turn_src *src)
{
	struct turn_alloc *a = srv->buckets[alloc_hash(srv, src)];
	while (a && !src_eq(&a->src, src))
		a = a->hnext;
	return a;
}

enum turn_tp turn_src_tp(const struct turn_src *src)
{
	if (src->proto == TURN_PROTO_TCP)
		return src->secure ? TURN_TP_TLS : TURN_TP_TCP;
	return src->secure ? TURN_TP_DTLS : TURN_TP_UDP;
}

static _Atomic uint64_t *alloc_gauge(struct turn_srv *srv,
				     const struct turn_src *src)
{
	return &srv->stats.allocs[turn_src_tp(src)][sa_af(&src->client) == AF_INET6];
}

int turn_alloc_create(struct turn_srv *srv, const struct turn_src *src,
		      struct turn_alloc **ap)
{
	struct turn_alloc *a = calloc(1, sizeof(*a));
	if (!a)
		return ENOMEM;
	a->src = *src;
	a->expires = turn_now(srv);
	int err = turn_heap_push(srv, a);
	if (err) {
		free(a);
		return err;
	}
	uint32_t h = alloc_hash(srv, src);
	a->hnext = srv->buckets[h];
	srv->buckets[h] = a;
	turn_stat_add(alloc_gauge(srv, src), 1);
	*ap = a;
	return 0;
}

void turn_alloc_start(struct turn_srv *srv, struct turn_alloc *a)
{
	uint64_t now = turn_now(srv);
	for (int d = 0; d < 2; d++)
		a->bucket[d] = (struct turn_bucket){UINT64_MAX, now};
	a->start_wall = srv->clk.wall_s(srv->clk.arg);
	a->live = true;
}

/* The usage record of an allocation that ends (issue 5). */
static void alloc_usage(struct turn_srv *srv, const struct turn_alloc *a)
{
	if (!a->live || !srv->usage_h)
		return;
	struct turn_usage u = {
		.username = a->username,
		.userid = a->username + a->userid_off,
		.userid_len = a->userid_len,
		.realm = srv->cfg->realm,
		.transport = turn_src_tp(&a->src),
		.family = sa_af(&a->src.client),
		.start = a->start_wall,
		.end = srv->clk.wall_s(srv->clk.arg),
		.reason = a->end,
	};
	memcpy(u.pkts, a->pkts, sizeof(u.pkts));
	memcpy(u.bytes, a->bytes, sizeof(u.bytes));
	srv->usage_h(srv->usage_arg, &u);
}

static void alloc_unlink(struct turn_srv *srv, struct turn_alloc *a)
{
	struct turn_alloc **pp = &srv->buckets[alloc_hash(srv, &a->src)];
	while (*pp && *pp != a)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = a->hnext;
}

/* Close a relay and give its port back; its address family becomes 0, so
 * that nothing (data, Connect, has_family) finds it again. */
static void relay_close(struct turn_srv *srv, struct turn_alloc *a,
			struct turn_relay *r)
{
	if (sa_af(&r->addr) == 0)
		return; /* deleted alone before */
	if (r->handle && a->tcp)
		srv->io.tcp_unlisten(srv->io.arg, r->handle);
	else if (r->handle)
		srv->io.relay_close(srv->io.arg, r->handle);
	r->handle = NULL;
	turn_shared_port_put(srv->sh, sa_port(&r->addr));
	memset(&r->addr, 0, sizeof(r->addr));
}

void turn_alloc_destroy(struct turn_srv *srv, struct turn_alloc *a)
{
	turn_tcp_alloc_close(srv, a); /* RFC 6062: its peer connections */
	alloc_usage(srv, a);
	turn_stat_add(alloc_gauge(srv, &a->src), (uint64_t)-1);
	if (a->bps)
		turn_shared_bps_put(srv->sh, a->bps);
	for (unsigned i = 0; i < a->nrelay; i++)
		relay_close(srv, a, &a->relay[i]);
	/* A counted allocation always has a username; see turn_methods.c. */
	if (a->username[0])
		turn_shared_quota_put(srv->sh, a->username + a->userid_off,
				      a->userid_len);
	turn_heap_remove(srv, a);
	alloc_unlink(srv, a);
	free(a->perms);
	free(a->chans);
	free(a);
}

void turn_alloc_set_expiry(struct turn_srv *srv, struct turn_alloc *a,
			   uint64_t expires)
{
	for (unsigned i = 0; i < a->nrelay; i++)
		a->relay[i].expires = expires;
	a->expires = expires;
	turn_heap_fix(srv, a);
}

static struct turn_relay *relay_of(struct turn_alloc *a, int af)
{
	if (af == 0)
		return NULL;
	for (unsigned i = 0; i < a->nrelay; i++)
		if (sa_af(&a->relay[i].addr) == af)
			return &a->relay[i];
	return NULL;
}

/* Relays still open, and the earliest expiry among them. */
static unsigned relays_live(const struct turn_alloc *a, uint64_t *first)
{
	unsigned n = 0;
	*first = UINT64_MAX;
	for (unsigned i = 0; i < a->nrelay; i++) {
		if (sa_af(&a->relay[i].addr) == 0)
			continue;
		n++;
		if (a->relay[i].expires < *first)
			*first = a->relay[i].expires;
	}
	return n;
}

/* One family goes: its relay, and the permissions and channels to peers
 * of that family (no relay is left to reach them), RFC 6062 peer
 * connections included. */
static void family_drop(struct turn_srv *srv, struct turn_alloc *a,
			struct turn_relay *r)
{
	int af = sa_af(&r->addr);
	for (uint16_t k = 0; k < a->nperms; k++)
		if (sa_af(&a->perms[k].peer) == af)
			a->perms[k].expires = 0;
	for (uint16_t k = 0; k < a->nchans; k++)
		if (sa_af(&a->chans[k].peer) == af)
			a->chans[k].expires = 0;
	turn_tcp_family_close(srv, a, af);
	relay_close(srv, a, r);
}

bool turn_alloc_family_expiry(struct turn_srv *srv, struct turn_alloc *a,
			      int af, uint64_t expires)
{
	struct turn_relay *r = relay_of(a, af);
	uint64_t first;
	if (!r || relays_live(a, &first) < 2)
		return false;
	if (expires)
		r->expires = expires;
	else
		family_drop(srv, a, r);
	relays_live(a, &first);
	a->expires = first;
	turn_heap_fix(srv, a);
	return true;
}

bool turn_alloc_expire(struct turn_srv *srv, struct turn_alloc *a,
		       uint64_t now)
{
	uint64_t first;
	if (relays_live(a, &first) > 1)
		for (unsigned i = 0; i < a->nrelay; i++)
			if (sa_af(&a->relay[i].addr) && a->relay[i].expires <= now &&
			    relays_live(a, &first) > 1)
				family_drop(srv, a, &a->relay[i]);
	if (relays_live(a, &first) == 0 || first <= now) {
		a->end = TURN_END_EXPIRED;
		turn_alloc_destroy(srv, a);
		return true;
	}
	a->expires = first;
	turn_heap_fix(srv, a);
	return false;
}

bool turn_alloc_has_family(const struct turn_alloc *a, int af)
{
	if (af == 0)
		return false; /* a deleted relay's family */
	for (unsigned i = 0; i < a->nrelay; i++)
		if (sa_af(&a->relay[i].addr) == af)
			return true;
	return false;
}

struct turn_perm *turn_perm_find(struct turn_alloc *a, const struct sa *peer,
				 uint64_t now)
{
	for (uint16_t i = 0; i < a->nperms; i++) {
		struct turn_perm *p = &a->perms[i];
		if (p->expires > now && sa_eq_addr(&p->peer, peer))
			return p;
	}
	return NULL;
}

/* Grow an array on the control path, bounded by max. Doubled in an
 * unsigned: in a uint16_t 32768 * 2 wrapped to 0, and realloc(p, 0)
 * freed the array still in use. */
static int grow(void **arr, uint16_t *cap, uint16_t max, size_t elem)
{
	if (*cap >= max)
		return ENOSPC;
	unsigned ncap = *cap ? *cap * 2u : 4;
	if (ncap > max)
		ncap = max;
	void *n = realloc(*arr, (size_t)ncap * elem);
	if (!n)
		return ENOMEM;
	*arr = n;
	*cap = (uint16_t)ncap;
	return 0;
}

static bool perm_listed(const struct sa *peers, unsigned n, const struct sa *p)
{
	for (unsigned i = 0; i < n; i++)
		if (sa_eq_addr(&peers[i], p))
			return true;
	return false;
}

bool turn_perm_room(struct turn_srv *srv, const struct turn_alloc *a,
		    const struct sa *peers, unsigned n)
{
	uint64_t now = turn_now(srv);
	unsigned max = srv->cfg->max_perms;
	unsigned room = max > a->nperms ? max - a->nperms : 0;
	/* An expired entry is reused, unless its address is asked for again
	 * (then that peer reuses it: counted below as already there). */
	for (uint16_t i = 0; i < a->nperms; i++)
		if (a->perms[i].expires <= now &&
		    !perm_listed(peers, n, &a->perms[i].peer))
			room++;
	unsigned need = 0;
	for (unsigned i = 0; i < n; i++) {
		bool have = perm_listed(peers, i, &peers[i]);
		for (uint16_t k = 0; !have && k < a->nperms; k++)
			have = sa_eq_addr(&a->perms[k].peer, &peers[i]);
		need += !have;
	}
	return need <= room;
}

/* Install or refresh a permission for peer's IP (RFC 8656 9). Expired
 * slots are reused before the array grows. */
int turn_perm_install(struct turn_srv *srv, struct turn_alloc *a,
		      const struct sa *peer)
{
	uint64_t now = turn_now(srv);
	uint64_t exp = now + (uint64_t)srv->cfg->perm_lifetime * 1000;
	struct turn_perm *slot = NULL;
	for (uint16_t i = 0; i < a->nperms; i++) {
		struct turn_perm *p = &a->perms[i];
		if (sa_eq_addr(&p->peer, peer)) {
			p->expires = exp;
			return 0;
		}
		if (!slot && p->expires <= now)
			slot = p;
	}
	if (!slot) {
		if (a->nperms == a->capperms) {
			int err = grow((void **)&a->perms, &a->capperms,
				       srv->cfg->max_perms, sizeof(*a->perms));
			if (err)
				return err;
		}
		slot = &a->perms[a->nperms++];
	}
	slot->peer = *peer;
	sa_set_port(&slot->peer, 0);
	slot->expires = exp;
	return 0;
}

struct turn_chan *turn_chan_by_num(struct turn_alloc *a, uint16_t num,
				   uint64_t now)
{
	for (uint16_t i = 0; i < a->nchans; i++)
		if (a->chans[i].num == num && a->chans[i].expires > now)
			return &a->chans[i];
	return NULL;
}

struct turn_chan *turn_chan_by_peer(struct turn_alloc *a, const struct sa *peer,
				    uint64_t now)
{
	for (uint16_t i = 0; i < a->nchans; i++)
		if (a->chans[i].expires > now && sa_eq(&a->chans[i].peer, peer))
			return &a->chans[i];
	return NULL;
}

/* A channel slot may be reused only after its quiet period (RFC 8656 12:
 * the number and the peer stay reserved 5 minutes after expiry). */
static bool chan_reserved(const struct turn_chan *c, uint64_t now)
{
	return c->expires + TURN_CHAN_QUIET_MS > now;
}

/* Bind or refresh num <-> peer. EINVAL when num is bound to another peer
 * or peer to another number, including during the quiet period (400). */
int turn_chan_bind(struct turn_srv *srv, struct turn_alloc *a, uint16_t num,
		   const struct sa *peer)
{
	uint64_t now = turn_now(srv);
	struct turn_chan *slot = NULL, *same = NULL;
	for (uint16_t i = 0; i < a->nchans; i++) {
		struct turn_chan *c = &a->chans[i];
		bool n_eq = c->num == num, p_eq = sa_eq(&c->peer, peer);
		if (n_eq && p_eq)
			same = c;
		else if ((n_eq || p_eq) && chan_reserved(c, now))
			return EINVAL;
		else if (!slot && !chan_reserved(c, now))
			slot = c;
	}
	if (!same && !slot) {
		if (a->nchans == a->capchans) {
			int err = grow((void **)&a->chans, &a->capchans,
				       srv->cfg->max_chans, sizeof(*a->chans));
			if (err)
				return err;
		}
		slot = &a->chans[a->nchans++];
	}
	struct turn_chan *c = same ? same : slot;
	c->num = num;
	c->peer = *peer;
	c->expires = now + (uint64_t)srv->cfg->chan_lifetime * 1000;
	return 0;
}
