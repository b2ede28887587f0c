/* Request dispatch: one function per method behind a table (RFC 8656
 * sections 7-12). Authenticated methods pass the auth chain; unknown
 * comprehension-required attributes then get 420 (RFC 8489 6.3). */
#include <errno.h>
#include <string.h>

#include "turn/turn_int.h"
#include "util/log.h"

typedef void(method_h)(struct turn_srv *srv, const struct turn_src *src,
		       const struct stun_msg *req, const struct turn_auth *auth);

/* --log-binding (coturn's): off by default, since a Binding costs the
 * sender one packet and would cost us one log line. */
static void binding_log(const struct turn_src *src)
{
	char a[SA_STRLEN];
	const char *tr = src->proto == TURN_PROTO_UDP ? (src->secure ? "dtls" : "udp")
						      : (src->secure ? "tls" : "tcp");
	log_info("binding request from %s over %s",
		 sa_fmt(&src->client, a, sizeof(a)), tr);
}

static void method_binding(struct turn_srv *srv, const struct turn_src *src,
			   const struct stun_msg *req,
			   const struct turn_auth *auth)
{
	if (srv->cfg->log_binding)
		binding_log(src);
	if (turn_r5780_binding(srv, src, req, auth))
		return;
	struct turn_resp r;
	turn_resp_init(&r, srv, req, STUN_CLASS_SUCCESS, auth);
	stun_enc_xaddr(&r.enc, STUN_ATTR_XOR_MAPPED_ADDRESS, &src->client);
	turn_resp_send(srv, src, &r);
}

/* The allocation for this 5-tuple, owned by the same user (441), or an
 * answered 437 (RFC 8656 7.3, 9.2, 11.2). */
struct turn_alloc *turn_method_alloc(struct turn_srv *srv,
				     const struct turn_src *src,
				     const struct stun_msg *req,
				     const struct turn_auth *auth)
{
	struct turn_alloc *a = turn_alloc_find(srv, src);
	if (!a) {
		turn_reply_error(srv, src, req, auth, 437);
		return NULL;
	}
	if (strcmp(a->username, auth->user) != 0) {
		turn_reply_error(srv, src, req, auth, 441);
		return NULL;
	}
	return a;
}

/* LIFETIME clamped to the configured maximum (RFC 8656 7.2); absent
 * means the default; 0 (Refresh) means delete. */
uint32_t turn_lifetime(const struct turn_srv *srv, const struct stun_msg *req)
{
	uint32_t lt = srv->cfg->default_lifetime;
	if (stun_msg_get_u32(req, TURN_ATTR_LIFETIME, &lt) == 0 && lt == 0)
		return 0;
	/* RFC 8656 7.2 and 7.3: min(requested, maximum), but never less than
	 * the default (a client asking for 1 s still gets 600). The
	 * maximum wins when an operator set it below the default. */
	if (lt < srv->cfg->default_lifetime)
		lt = srv->cfg->default_lifetime;
	if (lt > srv->cfg->max_lifetime)
		lt = srv->cfg->max_lifetime;
	return lt;
}

int turn_family_af(uint8_t fam)
{
	return fam == STUN_FAMILY_IPV4 ? AF_INET
	     : fam == STUN_FAMILY_IPV6 ? AF_INET6 : 0;
}

static void method_refresh(struct turn_srv *srv, const struct turn_src *src,
			   const struct stun_msg *req,
			   const struct turn_auth *auth)
{
	struct turn_alloc *a = turn_method_alloc(srv, src, req, auth);
	if (!a)
		return;
	uint8_t fam;
	bool one = stun_msg_get_family(req, TURN_ATTR_REQUESTED_ADDRESS_FAMILY,
				       &fam) == 0;
	if (!one && stun_msg_attr(req, TURN_ATTR_REQUESTED_ADDRESS_FAMILY)) {
		turn_reply_error(srv, src, req, auth, 400);
		return;
	}
	/* RFC 8656 7.3: a family the allocation lacks gets 443. */
	if (one && !turn_alloc_has_family(a, turn_family_af(fam))) {
		turn_reply_error(srv, src, req, auth, 443);
		return;
	}
	uint32_t lt = turn_lifetime(srv, req);
	uint64_t exp = lt ? turn_now(srv) + (uint64_t)lt * 1000 : 0;
	struct turn_resp r;
	turn_resp_init(&r, srv, req, STUN_CLASS_SUCCESS, auth);
	stun_enc_u32(&r.enc, TURN_ATTR_LIFETIME, lt);
	turn_resp_send(srv, src, &r);
	/* RFC 8656 8.1: with REQUESTED-ADDRESS-FAMILY, a dual allocation
	 * refreshes or deletes that family alone; without it, all. */
	if (one && turn_alloc_family_expiry(srv, a, turn_family_af(fam), exp))
		return;
	if (lt == 0) {
		a->end = TURN_END_REFRESH;
		turn_alloc_destroy(srv, a);
	}
	else
		turn_alloc_set_expiry(srv, a, exp);
}

/* Peer policy (403) and family match (443) for one XOR-PEER-ADDRESS.
 * Returns 0 or the error code to answer. */
static int method_peer_check(struct turn_srv *srv, const struct turn_alloc *a,
			     const struct stun_msg *req,
			     const struct stun_attr *at, struct sa *peer,
			     bool any_port)
{
	if (stun_attr_get_xaddr(req, at, peer) != 0)
		return 400;
	/* Policy first: a forbidden peer is 403 whatever its family, so an
	 * IPv4-in-IPv6 spelling of an internal address never gets a more
	 * informative answer than the plain one. */
	int denied = any_port ? peer_policy_check_ip(srv->cfg->policy, peer)
			      : peer_policy_check(srv->cfg->policy, peer);
	if (denied) {
		turn_stat_add(&srv->stats.peer_denied, 1);
		return 403;
	}
	if (!turn_alloc_has_family(a, sa_af(peer)))
		return 443;
	return 0;
}

/* RFC 8656 10.2: every XOR-PEER-ADDRESS must pass, and all must fit,
 * before any is installed, so a request naming one forbidden peer, or one
 * too many, changes nothing. */
static void method_permission(struct turn_srv *srv, const struct turn_src *src,
			      const struct stun_msg *req,
			      const struct turn_auth *auth)
{
	struct turn_alloc *a = turn_method_alloc(srv, src, req, auth);
	if (!a)
		return;
	struct sa peers[STUN_MAX_ATTRS];
	unsigned n = 0;
	for (unsigned i = 0; i < req->nattrs; i++) {
		if (req->attrs[i].type != TURN_ATTR_XOR_PEER_ADDRESS)
			continue;
		int code = method_peer_check(srv, a, req, &req->attrs[i],
					     &peers[n], true);
		if (code) {
			turn_reply_error(srv, src, req, auth, code);
			return;
		}
		n++;
	}
	if (n == 0) {
		turn_reply_error(srv, src, req, auth, 400);
		return;
	}
	if (!turn_perm_room(srv, a, peers, n)) {
		turn_reply_error(srv, src, req, auth, 508);
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		if (turn_perm_install(srv, a, &peers[i]) != 0) {
			turn_reply_error(srv, src, req, auth, 508);
			return;
		}
	}
	struct turn_resp r;
	turn_resp_init(&r, srv, req, STUN_CLASS_SUCCESS, auth);
	turn_resp_send(srv, src, &r);
}

static void method_channel_bind(struct turn_srv *srv, const struct turn_src *src,
				const struct stun_msg *req,
				const struct turn_auth *auth)
{
	struct turn_alloc *a = turn_method_alloc(srv, src, req, auth);
	if (!a)
		return;
	uint16_t ch;
	struct sa peer;
	const struct stun_attr *at = stun_msg_attr(req, TURN_ATTR_XOR_PEER_ADDRESS);
	/* RFC 8656 12.2: missing attributes or a number outside
	 * 0x4000-0x4FFF get 400 (0x7FFF with --legacy-channel-range, for
	 * RFC 5766 clients such as turnutils_uclient). A TCP allocation has
	 * no channels (RFC 6062: data flows on data connections). */
	if (a->tcp || !at || stun_msg_get_channel(req, &ch) != 0 ||
	    ch < STUN_CHANNEL_MIN || ch > turn_max_channel(srv)) {
		turn_reply_error(srv, src, req, auth, 400);
		return;
	}
	int code = method_peer_check(srv, a, req, at, &peer, false);
	/* ChannelBind also installs or refreshes the permission (12.2); the
	 * room for it is checked before the channel is bound, so that a 508
	 * leaves no binding behind. */
	if (!code && !turn_perm_room(srv, a, &peer, 1))
		code = 508;
	if (!code) {
		int err = turn_chan_bind(srv, a, ch, &peer);
		code = err == EINVAL ? 400 : err ? 508 : 0;
	}
	if (!code && turn_perm_install(srv, a, &peer) != 0)
		code = 508;
	if (code) {
		turn_reply_error(srv, src, req, auth, code);
		return;
	}
	struct turn_resp r;
	turn_resp_init(&r, srv, req, STUN_CLASS_SUCCESS, auth);
	turn_resp_send(srv, src, &r);
}

static const struct {
	uint16_t method;
	bool auth;
	method_h *h;
} methods[] = {
	{STUN_BINDING, false, method_binding},
	{TURN_ALLOCATE, true, turn_method_allocate},
	{TURN_REFRESH, true, method_refresh},
	{TURN_CREATE_PERMISSION, true, method_permission},
	{TURN_CHANNEL_BIND, true, method_channel_bind},
	{TURN_CONNECT, true, turn_method_connect},
	{TURN_CONNECTION_BIND, true, turn_method_connection_bind},
};

/* ICE agents (RFC 8445 16.1) may send PRIORITY and USE-CANDIDATE on a
 * Binding to a STUN server; they are meaningless here but harmless, and
 * answering 420 would break candidate gathering. */
static bool unknown_is_fatal(const struct stun_msg *req)
{
	for (unsigned i = 0; i < req->nunknown; i++) {
		bool ice = req->unknown[i] == 0x0024 || req->unknown[i] == 0x0025;
		/* RFC 5780's: method_binding answers it (420 when off). */
		bool cr = req->unknown[i] == STUN_ATTR_CHANGE_REQUEST;
		if (!((ice || cr) && req->method == STUN_BINDING))
			return true;
	}
	return false;
}

/* coturn's stun-only and no-stun: a request this server does not serve
 * gets no answer at all, as in coturn (an error would tell a scanner
 * what runs here, and a 401 is larger than the request). */
static bool request_ignored(const struct turn_srv *srv,
			    const struct stun_msg *req)
{
	return req->method == STUN_BINDING ? srv->cfg->no_stun
					   : srv->cfg->stun_only;
}

/* secure-stun: Binding goes through the long-term credential mechanism
 * like the TURN methods (401 with REALM and NONCE, then a signed
 * answer). */
static bool method_needs_auth(const struct turn_srv *srv, size_t i)
{
	return methods[i].auth ||
	       (methods[i].method == STUN_BINDING && srv->cfg->secure_stun);
}

/* 420 with UNKNOWN-ATTRIBUTES (RFC 8489 6.3.1), signed when the request
 * was authenticated (9.2.4: every answer to one is). */
static void reply_unknown(struct turn_srv *srv, const struct turn_src *src,
			  const struct stun_msg *req, const struct turn_auth *auth)
{
	struct turn_resp r;
	turn_resp_init(&r, srv, req, STUN_CLASS_ERROR, auth);
	stun_enc_error(&r.enc, 420, NULL);
	stun_enc_unknown(&r.enc, req->unknown, req->nunknown);
	turn_resp_send(srv, src, &r);
}

void turn_handle_request(struct turn_srv *srv, const struct turn_src *src,
			 const struct stun_msg *req)
{
	if (request_ignored(srv, req))
		return;
	size_t i = 0, n = sizeof(methods) / sizeof(methods[0]);
	while (i < n && methods[i].method != req->method)
		i++;
	/* A method this server does not take as a request (an unknown one,
	 * or Send, Data, ConnectionAttempt) is silently discarded (RFC 8489
	 * 6.3). */
	if (i == n)
		return;
	struct turn_auth auth;
	bool need = method_needs_auth(srv, i);
	if (need && turn_auth_request(srv, src, req, &auth))
		return;
	/* Unknown attributes are looked at once authentication is done
	 * (RFC 8489 6.3): a client without credentials gets its 401 first. */
	if (unknown_is_fatal(req)) {
		reply_unknown(srv, src, req, need ? &auth : NULL);
		return;
	}
	methods[i].h(srv, src, req, need ? &auth : NULL);
}
