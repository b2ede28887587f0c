/* TCP relays (RFC 6062): Connect, ConnectionBind, ConnectionAttempt and
 * the peer data connections of a TCP allocation. The core decides (policy,
 * permissions, ids, timers) and the net layer moves the bytes: once a
 * client data connection is bound, relaying never enters this file. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "turn/turn_int.h"

/* ----- The timer queue: unbound connections in deadline order ----- */

static void tq_remove(struct turn_srv *srv, struct turn_tconn *tc)
{
	if (!tc->queued)
		return;
	if (tc->qprev)
		tc->qprev->qnext = tc->qnext;
	else
		srv->tq_head = tc->qnext;
	if (tc->qnext)
		tc->qnext->qprev = tc->qprev;
	else
		srv->tq_tail = tc->qprev;
	tc->qprev = tc->qnext = NULL;
	tc->queued = false;
}

/* Every deadline is now + TURN_TCONN_MS, so appending keeps the order. */
static void tq_push(struct turn_srv *srv, struct turn_tconn *tc)
{
	tq_remove(srv, tc);
	tc->deadline = turn_now(srv) + TURN_TCONN_MS;
	tc->qprev = srv->tq_tail;
	if (srv->tq_tail)
		srv->tq_tail->qnext = tc;
	else
		srv->tq_head = tc;
	srv->tq_tail = tc;
	tc->queued = true;
}

/* ----- Peer connection records ----- */

static int tconn_new(struct turn_srv *srv, struct turn_alloc *a,
		     const struct sa *peer, struct turn_tconn **tcp)
{
	if (a->ntconns >= TURN_TCONN_MAX)
		return ENOSPC;
	struct turn_tconn *tc = calloc(1, sizeof(*tc));
	if (!tc)
		return ENOMEM;
	int err = turn_connid_add(srv->sh, srv, tc, &tc->id);
	if (err) {
		free(tc);
		return err;
	}
	tc->alloc = a;
	tc->peer = *peer;
	tc->anext = a->tconns;
	a->tconns = tc;
	a->ntconns++;
	tq_push(srv, tc);
	*tcp = tc;
	return 0;
}

/* Forget a peer connection and have the net layer close it (and its
 * client data connection). */
static void tconn_free(struct turn_srv *srv, struct turn_tconn *tc)
{
	struct turn_alloc *a = tc->alloc;
	struct turn_tconn **pp = &a->tconns;
	while (*pp && *pp != tc)
		pp = &(*pp)->anext;
	if (*pp) {
		*pp = tc->anext;
		a->ntconns--;
	}
	tq_remove(srv, tc);
	turn_connid_del(srv->sh, tc->id);
	if (tc->handle)
		srv->io.tcp_close(srv->io.arg, tc->handle);
	free(tc);
}

void turn_tcp_alloc_close(struct turn_srv *srv, struct turn_alloc *a)
{
	while (a->tconns)
		tconn_free(srv, a->tconns);
}

/* The Connect response, sent when the connection attempt ends (5.2): it
 * is signed with the key the request was verified with. */
static void tconn_answer(struct turn_srv *srv, struct turn_tconn *tc, int code)
{
	struct stun_enc e;
	stun_enc_init(&e, srv->scratch, sizeof(srv->scratch), TURN_CONNECT,
		      code ? STUN_CLASS_ERROR : STUN_CLASS_SUCCESS, tc->tid);
	if (srv->cfg->software[0])
		stun_enc_str(&e, STUN_ATTR_SOFTWARE, srv->cfg->software);
	if (code)
		stun_enc_error(&e, code, NULL);
	else
		stun_enc_connid(&e, tc->id);
	if (tc->sha256)
		stun_enc_mi256(&e, tc->key, tc->klen);
	else
		stun_enc_mi(&e, tc->key, tc->klen);
	if (tc->fp)
		stun_enc_fingerprint(&e);
	size_t len;
	if (stun_enc_finish(&e, &len) == 0)
		turn_client_send(srv, &tc->alloc->src, srv->scratch, len);
}

/* ----- Allocate (5.1) ----- */

int turn_tcp_allocate_check(const struct turn_srv *srv,
			    const struct turn_src *src,
			    const struct stun_msg *req)
{
	if (srv->cfg->no_tcp_relay)
		return 442; /* coturn's no-tcp-relay */
	if (src->proto != TURN_PROTO_TCP)
		return 400; /* the control connection must be TCP or TLS */
	if (stun_msg_attr(req, TURN_ATTR_DONT_FRAGMENT) ||
	    stun_msg_attr(req, TURN_ATTR_EVEN_PORT) ||
	    stun_msg_attr(req, TURN_ATTR_RESERVATION_TOKEN))
		return 400;
	return 0;
}

/* ----- Connect (5.2) ----- */

static const struct turn_relay *tcp_relay_for(const struct turn_alloc *a,
					      int af)
{
	for (unsigned i = 0; i < a->nrelay; i++)
		if (sa_af(&a->relay[i].addr) == af)
			return &a->relay[i];
	return NULL;
}

/* 0 or the error code to answer, in the RFC's order where it has one. */
static int connect_check(struct turn_srv *srv, const struct turn_alloc *a,
			 const struct stun_msg *req, struct sa *peer)
{
	if (!a->tcp)
		return 400; /* Connect on a UDP allocation */
	const struct stun_attr *at = stun_msg_attr(req, TURN_ATTR_XOR_PEER_ADDRESS);
	if (!at || stun_attr_get_xaddr(req, at, peer) != 0)
		return 400;
	/* The one peer policy, port included, as for ChannelBind and Send. */
	if (peer_policy_check(srv->cfg->policy, peer) != 0)
		return 403;
	if (!tcp_relay_for(a, sa_af(peer)))
		return 443;
	/* Being connected, pending or bound to this peer already: 446. */
	for (const struct turn_tconn *tc = a->tconns; tc; tc = tc->anext)
		if (sa_eq(&tc->peer, peer))
			return 446;
	return 0;
}

void turn_method_connect(struct turn_srv *srv, const struct turn_src *src,
			 const struct stun_msg *req,
			 const struct turn_auth *auth)
{
	struct turn_alloc *a = turn_method_alloc(srv, src, req, auth);
	if (!a)
		return;
	struct sa peer;
	struct turn_tconn *tc;
	int code = connect_check(srv, a, req, &peer);
	if (!code && tconn_new(srv, a, &peer, &tc) != 0)
		code = 508;
	if (code) {
		turn_reply_error(srv, src, req, auth, code);
		return;
	}
	tc->state = TURN_TCONN_CONNECTING;
	memcpy(tc->tid, req->tid, STUN_TID_LEN);
	tc->fp = req->fp >= 0;
	tc->sha256 = auth->sha256;
	memcpy(tc->key, auth->key, auth->klen);
	tc->klen = (uint8_t)auth->klen;
	const struct turn_relay *r = tcp_relay_for(a, sa_af(&peer));
	if (srv->io.tcp_connect(srv->io.arg, &r->addr, &peer, tc, &tc->handle) != 0) {
		tc->handle = NULL;
		tconn_answer(srv, tc, 447);
		tconn_free(srv, tc);
	}
}

void turn_tcp_connected(struct turn_srv *srv, struct turn_tconn *tc, int err)
{
	if (tc->state != TURN_TCONN_CONNECTING)
		return;
	if (err) {
		tconn_answer(srv, tc, 447);
		tconn_free(srv, tc);
		return;
	}
	/* Now the 30 s bind timer runs; the peer's data waits in the
	 * kernel, unread, so its window closes rather than data piling up. */
	tc->state = TURN_TCONN_PENDING;
	tq_push(srv, tc);
	tconn_answer(srv, tc, 0);
}

/* ----- A peer connects to the relayed address (5.3) ----- */

static void tcp_send_attempt(struct turn_srv *srv, const struct turn_tconn *tc)
{
	uint8_t tid[STUN_TID_LEN];
	turn_srv_tid(srv, tid);
	struct stun_enc e;
	stun_enc_init(&e, srv->scratch, sizeof(srv->scratch),
		      TURN_CONNECTION_ATTEMPT, STUN_CLASS_INDICATION, tid);
	stun_enc_connid(&e, tc->id);
	stun_enc_xaddr(&e, TURN_ATTR_XOR_PEER_ADDRESS, &tc->peer);
	size_t len;
	if (stun_enc_finish(&e, &len) == 0)
		turn_client_send(srv, &tc->alloc->src, srv->scratch, len);
}

struct turn_tconn *turn_tcp_accepted(struct turn_srv *srv,
				     struct turn_relay *owner,
				     const struct sa *peer, void *handle)
{
	struct turn_alloc *a = owner->alloc;
	struct turn_tconn *tc;
	/* Only peers with a permission may connect; the policy is checked
	 * too, so a permission cannot outlive a tightened policy. */
	if (peer_policy_check_ip(srv->cfg->policy, peer) != 0 ||
	    !turn_perm_find(a, peer, turn_now(srv)) ||
	    tconn_new(srv, a, peer, &tc) != 0)
		return NULL;
	tc->state = TURN_TCONN_PENDING;
	tc->handle = handle;
	tcp_send_attempt(srv, tc);
	return tc;
}

/* ----- ConnectionBind (5.4) ----- */

static int bind_check(struct turn_srv *srv, const struct turn_src *src,
		      const struct stun_msg *req, uint32_t *id)
{
	if (src->proto != TURN_PROTO_TCP)
		return 400;
	/* A control connection cannot become a data connection. */
	if (turn_alloc_find(srv, src))
		return 400;
	if (stun_msg_get_connid(req, id) != 0)
		return 400;
	return 0;
}

void turn_method_connection_bind(struct turn_srv *srv,
				 const struct turn_src *src,
				 const struct stun_msg *req,
				 const struct turn_auth *auth)
{
	uint32_t id;
	struct turn_srv *owner;
	void *owner_arg;
	struct turn_tconn *tc;
	int code = bind_check(srv, src, req, &id);
	if (!code && turn_connid_find(srv->sh, id, &owner, &owner_arg, &tc) != 0)
		code = 400;
	if (!code && owner != srv) {
		/* The owning worker answers; the request goes with the
		 * connection and is read again there. */
		srv->io.conn_handoff(srv->io.arg, src->conn, owner_arg);
		return;
	}
	if (!code && tc->state != TURN_TCONN_PENDING)
		code = 400;
	/* Another user's id answers as an unknown one does: no oracle for
	 * which ids exist. */
	if (!code && strcmp(tc->alloc->username, auth->user) != 0)
		code = 400;
	if (code) {
		/* A data connection carries one ConnectionBind (RFC 6062 5.4):
		 * after a failed one it closes, so guessing ids costs a new
		 * connection (and handshake) per guess. */
		turn_reply_error(srv, src, req, auth, code);
		if (src->proto == TURN_PROTO_TCP && srv->io.conn_close)
			srv->io.conn_close(srv->io.arg, src->conn);
		return;
	}
	struct turn_resp r;
	turn_resp_init(&r, srv, req, STUN_CLASS_SUCCESS, auth);
	turn_resp_send(srv, src, &r);
	tq_remove(srv, tc);
	tc->state = TURN_TCONN_BOUND;
	srv->io.tcp_bind(srv->io.arg, tc->handle, src->conn);
}

/* ----- Closing and timers ----- */

void turn_tcp_relayed(struct turn_srv *srv, struct turn_tconn *tc, int dir,
		      size_t len)
{
	if (tc && tc->alloc && len) {
		turn_data_count(srv, tc->alloc, dir, len);
		turn_bw_spend(tc->alloc, dir, len);
	}
}

size_t turn_tcp_budget(struct turn_srv *srv, struct turn_tconn *tc, int dir,
		       size_t want)
{
	if (!tc || !tc->alloc)
		return want;
	return turn_bw_budget(tc->alloc, dir, want, turn_now(srv));
}

void turn_tcp_closed(struct turn_srv *srv, struct turn_tconn *tc)
{
	if (tc->state == TURN_TCONN_CONNECTING)
		tconn_answer(srv, tc, 447);
	tconn_free(srv, tc);
}

/* The allocation goes on and its control connection stays, so a Connect
 * still in progress to the deleted family has failed: 447 (5.2). */
void turn_tcp_family_close(struct turn_srv *srv, struct turn_alloc *a, int af)
{
	struct turn_tconn **pp = &a->tconns;
	while (*pp) {
		if (sa_af(&(*pp)->peer) == af)
			turn_tcp_closed(srv, *pp); /* unlinks it: *pp is the next */
		else
			pp = &(*pp)->anext;
	}
}

int64_t turn_tcp_tick(struct turn_srv *srv)
{
	uint64_t now = turn_now(srv);
	while (srv->tq_head && srv->tq_head->deadline <= now) {
		/* Connect timed out (447), or nobody bound it in 30 s. */
		turn_tcp_closed(srv, srv->tq_head);
	}
	return srv->tq_head ? (int64_t)(srv->tq_head->deadline - now) : -1;
}
