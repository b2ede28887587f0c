/* Allocate (RFC 8656 7.2, RFC 6156 dual-stack). Checks run in the RFC's
 * order; the allocation is created only when they all pass, and any
 * failure after that is undone by turn_alloc_destroy(). */
#include <errno.h>
#include <string.h>

#include "turn/turn_int.h"

#define BIND_TRIES 8

struct alloc_req {
	int af;            /* requested family; unused with a token */
	bool additional;   /* ADDITIONAL-ADDRESS-FAMILY IPv6 */
	bool even, reserve;
	bool has_token;
	uint8_t token[8];
	bool dont_fragment;
	bool tcp;          /* REQUESTED-TRANSPORT TCP (RFC 6062) */
};

static const struct sa *relay_base(const struct turn_srv *srv, int af)
{
	return af == AF_INET ? &srv->cfg->relay4 : &srv->cfg->relay6;
}

/* No REQUESTED-ADDRESS-FAMILY: IPv4 (RFC 8656 7.2 step 7) unless the
 * operator chose otherwise; "keep" is the family the client reached us
 * over (every listener is V6ONLY, so no IPv4-mapped address shows up). A
 * family with no relay address gets 440, as a requested one does. */
static int allocate_default_af(const struct turn_srv *srv,
			       const struct turn_src *src)
{
	switch (srv->cfg->default_family) {
	case TURN_DEFAULT_IPV6:
		return AF_INET6;
	case TURN_DEFAULT_KEEP:
		return sa_af(&src->client) == AF_INET6 ? AF_INET6 : AF_INET;
	default:
		return AF_INET;
	}
}

/* Parse and cross-check the Allocate attributes: 0 or an error code. */
static int allocate_parse(const struct turn_srv *srv, const struct turn_src *src,
			  const struct stun_msg *req, struct alloc_req *ar)
{
	memset(ar, 0, sizeof(*ar));
	uint8_t proto, fam, addfam;
	if (stun_msg_get_transport(req, &proto) != 0)
		return 400;
	if (proto == TURN_PROTO_TCP) {
		int code = turn_tcp_allocate_check(srv, src, req);
		if (code)
			return code;
		ar->tcp = true;
	} else if (proto != TURN_PROTO_UDP || srv->cfg->no_udp_relay) {
		return 442; /* no-udp-relay: coturn's answer too */
	}
	bool has_fam = stun_msg_get_family(req, TURN_ATTR_REQUESTED_ADDRESS_FAMILY, &fam) == 0;
	bool has_add = stun_msg_get_family(req, TURN_ATTR_ADDITIONAL_ADDRESS_FAMILY, &addfam) == 0;
	const struct stun_attr *tok = stun_msg_attr(req, TURN_ATTR_RESERVATION_TOKEN);
	bool has_even = stun_msg_get_even_port(req, &ar->reserve) == 0;
	if ((stun_msg_attr(req, TURN_ATTR_REQUESTED_ADDRESS_FAMILY) && !has_fam) ||
	    (stun_msg_attr(req, TURN_ATTR_ADDITIONAL_ADDRESS_FAMILY) && !has_add) ||
	    (stun_msg_attr(req, TURN_ATTR_EVEN_PORT) && !has_even) ||
	    (tok && (tok->len != 8 || has_even || has_fam || has_add)) ||
	    (has_fam && has_add))
		return 400; /* RFC 8656 7.2 steps 5, 6 and malformed attributes */
	ar->even = has_even;
	ar->dont_fragment = stun_msg_attr(req, TURN_ATTR_DONT_FRAGMENT) != NULL;
	if (tok) {
		/* The token names the address, family included (step 5). */
		ar->has_token = true;
		memcpy(ar->token, tok->val, 8);
		return 0;
	}
	/* Dual (ADDITIONAL-ADDRESS-FAMILY) starts with IPv4 (RFC 8656 7.2). */
	ar->af = has_fam ? turn_family_af(fam)
	       : has_add ? AF_INET : allocate_default_af(srv, src);
	if (ar->af == 0 || sa_af(relay_base(srv, ar->af)) == 0)
		return 440; /* step 7 */
	/* Steps 8 and 9 come after 7: without an IPv4 relay, a dual
	 * request is 440 whatever else is wrong with it. */
	if (has_add && ((has_even && ar->reserve) || addfam != STUN_FAMILY_IPV6))
		return 400;
	ar->additional = has_add;
	return 0;
}

/* Open the relay socket (UDP, or a TCP listener) at addr for a. */
static int relay_bind(struct turn_srv *srv, struct turn_alloc *a,
		      const struct alloc_req *ar, const struct sa *addr)
{
	struct turn_relay *r = &a->relay[a->nrelay];
	r->alloc = a;
	r->addr = *addr;
	int err = ar->tcp ? srv->io.tcp_listen(srv->io.arg, &r->addr, r, &r->handle)
			  : srv->io.relay_open(srv->io.arg, &r->addr,
					       ar->dont_fragment, r, &r->handle);
	if (!err)
		a->nrelay++;
	return err;
}

/* RESERVATION-TOKEN: the reserved address, if it is still one the server
 * relays on (a reload may have changed it): 0 or 508 (RFC 8656 7.2
 * step 5). A token is spent either way; its port goes back on failure. */
static int allocate_token(struct turn_srv *srv, struct turn_alloc *a,
			  const struct alloc_req *ar)
{
	struct sa addr;
	if (turn_shared_resv_take(srv->sh, ar->token, turn_now(srv), &addr) != 0)
		return 508;
	const struct sa *base = relay_base(srv, sa_af(&addr));
	if (sa_af(base) == sa_af(&addr) && sa_eq_addr(base, &addr) &&
	    relay_bind(srv, a, ar, &addr) == 0)
		return 0;
	turn_shared_port_put(srv->sh, sa_port(&addr));
	return 508;
}

/* Open one relay socket of family af on a port from the pool (even, and
 * reserving its successor, for EVEN-PORT on the first): 0, 440 when the
 * server has no relay address of that family, or 508. */
static int allocate_relay(struct turn_srv *srv, struct turn_alloc *a,
			  const struct alloc_req *ar, int af, bool first)
{
	struct sa addr = *relay_base(srv, af);
	bool even = first && ar->even, reserve = even && ar->reserve;
	if (sa_af(&addr) == 0)
		return 440;
	for (int tries = 0; tries < BIND_TRIES; tries++) {
		uint16_t port;
		if (turn_shared_port_get(srv->sh, even, reserve, turn_now(srv), &port) != 0)
			return 508;
		sa_set_port(&addr, port);
		int err = relay_bind(srv, a, ar, &addr);
		if (!err)
			return 0;
		turn_shared_port_put(srv->sh, port);
		if (reserve)
			turn_shared_port_put(srv->sh, (uint16_t)(port + 1));
		if (err != EADDRINUSE)
			return 508;
	}
	return 508;
}

/* The relayed addresses (RFC 8656 7.2 step 9): a dual allocation that
 * gets one family succeeds and reports the other's code (440 or 508) in
 * ADDRESS-ERROR-CODE; one that gets neither is 508. */
static int allocate_relays(struct turn_srv *srv, struct turn_alloc *a,
			   const struct alloc_req *ar)
{
	if (ar->has_token)
		return allocate_token(srv, a, ar);
	int code = allocate_relay(srv, a, ar, ar->af, true);
	if (!ar->additional)
		return code;
	/* EVEN-PORT applies to the first address the allocation gets. */
	int code6 = allocate_relay(srv, a, ar, AF_INET6, code != 0);
	if (code && code6)
		return 508;
	a->addr_err = (uint16_t)(code ? code : code6);
	a->addr_err_af = code ? ar->af : AF_INET6;
	return 0;
}

/* EVEN-PORT with R=1 (RFC 8656 7.2, 18.5): hold port+1 on the same
 * address for a later Allocate that presents the token. */
static int allocate_reserve(struct turn_srv *srv, struct turn_alloc *a)
{
	struct sa next = a->relay[0].addr;
	sa_set_port(&next, (uint16_t)(sa_port(&next) + 1));
	int err = turn_shared_resv_add(srv->sh, &next, turn_now(srv), a->token);
	if (err)
		turn_shared_port_put(srv->sh, sa_port(&next));
	a->has_token = !err;
	return err;
}

static void allocate_success(struct turn_srv *srv, const struct turn_src *src,
			     const struct stun_msg *req,
			     const struct turn_auth *auth,
			     const struct turn_alloc *a)
{
	struct turn_resp r;
	uint64_t now = turn_now(srv);
	uint32_t left = a->expires > now ? (uint32_t)((a->expires - now) / 1000) : 0;
	turn_resp_init(&r, srv, req, STUN_CLASS_SUCCESS, auth);
	for (unsigned i = 0; i < a->nrelay; i++) {
		struct sa shown = a->relay[i].addr;
		if (sa_af(&shown) == 0)
			continue; /* that family was deleted since */
		const struct sa *ext = sa_af(&shown) == AF_INET ? &srv->cfg->ext4
								 : &srv->cfg->ext6;
		/* Behind 1:1 NAT peers reach the public address, same port. */
		if (sa_af(ext)) {
			shown = *ext;
			sa_set_port(&shown, sa_port(&a->relay[i].addr));
		}
		stun_enc_xaddr(&r.enc, TURN_ATTR_XOR_RELAYED_ADDRESS, &shown);
	}
	stun_enc_u32(&r.enc, TURN_ATTR_LIFETIME, left);
	stun_enc_xaddr(&r.enc, STUN_ATTR_XOR_MAPPED_ADDRESS, &src->client);
	if (a->has_token)
		stun_enc_attr(&r.enc, TURN_ATTR_RESERVATION_TOKEN, a->token, 8);
	if (a->addr_err)
		stun_enc_addr_error(&r.enc, a->addr_err_af == AF_INET ? STUN_FAMILY_IPV4
								 : STUN_FAMILY_IPV6,
				    a->addr_err);
	turn_resp_send(srv, src, &r);
}

/* The same 5-tuple again: a retransmitted Allocate gets the same success
 * (RFC 8656 7.2); anything else is 437. */
static void allocate_existing(struct turn_srv *srv, const struct turn_src *src,
			      const struct stun_msg *req,
			      const struct turn_auth *auth, struct turn_alloc *a)
{
	if (memcmp(a->tid, req->tid, STUN_TID_LEN) == 0 &&
	    strcmp(a->username, auth->user) == 0)
		allocate_success(srv, src, req, auth, a);
	else
		turn_reply_error(srv, src, req, auth, 437);
}

/* The user's and the server's allocation quotas, then a share of
 * --bps-capacity (coturn's "Allocation Bandwidth Quota Reached"): all
 * 486 (RFC 8656 7.2). *bps is the granted rate, 0 for unlimited. */
static int allocate_quota(struct turn_srv *srv, const char *uid, size_t ulen,
			  uint32_t *bps)
{
	*bps = 0;
	int err = turn_shared_quota_take(srv->sh, uid, ulen,
					 srv->cfg->user_quota, srv->cfg->total_quota);
	if (err == EDQUOT || err == ENOSPC) {
		turn_stat_add(&srv->stats.quota_rej[err == EDQUOT ? TURN_QR_USER
								  : TURN_QR_TOTAL], 1);
		return 486;
	}
	if (err)
		return 508;
	if (!srv->cfg->max_bps)
		return 0;
	*bps = turn_shared_bps_take(srv->sh, srv->cfg->max_bps,
				    srv->cfg->bps_capacity);
	if (*bps)
		return 0;
	turn_shared_quota_put(srv->sh, uid, ulen);
	turn_stat_add(&srv->stats.quota_rej[TURN_QR_BANDWIDTH], 1);
	return 486;
}

static int allocate_build(struct turn_srv *srv, const struct turn_src *src,
			  const struct stun_msg *req,
			  const struct turn_auth *auth,
			  const struct alloc_req *ar, struct turn_alloc **ap)
{
	const char *uid = auth->user + auth->userid_off;
	uint32_t bps;
	int code = allocate_quota(srv, uid, auth->userid_len, &bps);
	if (code)
		return code;
	struct turn_alloc *a;
	if (turn_alloc_create(srv, src, &a) != 0) {
		turn_shared_quota_put(srv->sh, uid, auth->userid_len);
		if (bps)
			turn_shared_bps_put(srv->sh, bps);
		return 508;
	}
	/* From here turn_alloc_destroy() releases the quota, bandwidth and
	 * ports. */
	a->bps = bps;
	memcpy(a->username, auth->user, auth->ulen + 1);
	a->userid_off = (uint16_t)auth->userid_off;
	a->userid_len = (uint16_t)auth->userid_len;
	memcpy(a->tid, req->tid, STUN_TID_LEN);
	a->tcp = ar->tcp;
	a->df = ar->dont_fragment;
	code = allocate_relays(srv, a, ar);
	if (code) {
		turn_alloc_destroy(srv, a);
		return code;
	}
	*ap = a;
	return 0;
}

void turn_method_allocate(struct turn_srv *srv, const struct turn_src *src,
			  const struct stun_msg *req,
			  const struct turn_auth *auth)
{
	struct turn_alloc *a = turn_alloc_find(srv, src);
	if (a) {
		allocate_existing(srv, src, req, auth, a);
		return;
	}
	/* RFC 8656 7.2: the server may redirect at any point; this is after
	 * authentication, so the 300 is signed (RFC 8489 10). */
	if (turn_alt_redirect(srv, src, req, auth))
		return;
	struct alloc_req ar;
	/* Draining (shutdown) with nowhere to send the client: 508. */
	int code = srv->draining ? 508 : allocate_parse(srv, src, req, &ar);
	if (!code)
		code = allocate_build(srv, src, req, auth, &ar, &a);
	if (code) {
		turn_reply_error(srv, src, req, auth, code);
		return;
	}
	if (ar.even && ar.reserve && allocate_reserve(srv, a) != 0) {
		turn_alloc_destroy(srv, a);
		turn_reply_error(srv, src, req, auth, 508);
		return;
	}
	uint32_t lt = turn_lifetime(srv, req);
	if (lt == 0)
		lt = srv->cfg->default_lifetime;
	turn_alloc_set_expiry(srv, a, turn_now(srv) + (uint64_t)lt * 1000);
	turn_alloc_start(srv, a);
	allocate_success(srv, src, req, auth, a);
}
