/* One TURN server per worker: the entry points the net layer calls. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "turn/turn_int.h"
#include "util/rand.h"

/* Per-worker crypto state: reusable HMAC contexts and the REST key
 * cache (callgrind: an allocation cycle spent most of its instructions
 * building OpenSSL contexts and re-deriving the same key). */
static int turn_srv_crypto_alloc(struct turn_srv *srv)
{
	int err = stun_mac_alloc(&srv->mac);
	if (!err)
		err = auth_nonce_mac_alloc(&srv->nmac);
	if (!err)
		err = auth_keycache_alloc(&srv->keys, TURN_KEYCACHE_SLOTS, rand_u32());
	return err;
}

int turn_srv_alloc(struct turn_srv **srvp, const struct turn_cfg *cfg,
		   struct turn_shared *sh, const struct turn_clock *clk,
		   const struct turn_io *io)
{
	struct turn_srv *srv = calloc(1, sizeof(*srv));
	if (!srv)
		return ENOMEM;
	int err = auth_ratelimit_alloc(&srv->rl, 4096,
				       cfg->unauth_rate ? cfg->unauth_rate : 20,
				       cfg->unauth_burst ? cfg->unauth_burst : 40);
	if (!err)
		err = turn_srv_crypto_alloc(srv);
	if (err) {
		turn_srv_free(srv);
		return err;
	}
	srv->cfg = cfg;
	srv->sh = sh;
	srv->clk = *clk;
	srv->io = *io;
	srv->hseed = rand_u32();
	srv->rnd_pos = sizeof(srv->rnd);
	*srvp = srv;
	return 0;
}

void turn_srv_shutting_down(struct turn_srv *srv)
{
	if (srv)
		srv->shutting_down = true;
}

void turn_srv_free(struct turn_srv *srv)
{
	if (!srv)
		return;
	while (srv->nheap > 0) {
		srv->heap[0]->end = TURN_END_SHUTDOWN;
		turn_alloc_destroy(srv, srv->heap[0]);
	}
	free(srv->heap);
	turn_revoked_put(srv->revoked);
	auth_ratelimit_free(srv->rl);
	stun_mac_free(srv->mac);
	auth_nonce_mac_free(srv->nmac);
	auth_keycache_free(srv->keys);
	free(srv);
}

void turn_srv_set_draining(struct turn_srv *srv, bool on)
{
	srv->draining = on;
}

/* A new peer policy applies to what was allowed before too: the relay
 * checks permissions and channels per packet, not the policy (Send does),
 * so whatever the new policy denies ends here, once. TCP peer connections
 * (RFC 6062) keep running until they close. */
static void srv_apply_policy(struct turn_srv *srv)
{
	const struct peer_policy *p = srv->cfg->policy;
	for (size_t i = 0; i < srv->nheap; i++) {
		struct turn_alloc *a = srv->heap[i];
		for (uint16_t k = 0; k < a->nperms; k++)
			if (peer_policy_check_ip(p, &a->perms[k].peer) != 0)
				a->perms[k].expires = 0;
		for (uint16_t k = 0; k < a->nchans; k++)
			if (peer_policy_check(p, &a->chans[k].peer) != 0)
				a->chans[k].expires = 0;
	}
}

void turn_srv_set_cfg(struct turn_srv *srv, const struct turn_cfg *cfg)
{
	/* The secrets or the realm may have changed: no key derived from
	 * the old ones may be served (a removed secret must stop working). */
	auth_keycache_clear(srv->keys);
	srv->cfg = cfg;
	srv_apply_policy(srv);
}

unsigned turn_srv_count(const struct turn_srv *srv)
{
	return (unsigned)srv->nheap;
}

const struct turn_stats *turn_srv_stats(const struct turn_srv *srv)
{
	return &srv->stats;
}

struct turn_stats *turn_srv_net_stats(struct turn_srv *srv)
{
	return &srv->stats;
}

void turn_srv_set_usage_h(struct turn_srv *srv, turn_usage_h *h, void *arg)
{
	srv->usage_h = h;
	srv->usage_arg = arg;
}

void turn_client_input(struct turn_srv *srv, const struct turn_src *src,
		       const uint8_t *buf, size_t len)
{
	/* ChannelData first: it is the hot path (RFC 8656 12). */
	if (stun_is_chdata(buf, len)) {
		turn_handle_chdata(srv, src, buf, len);
		return;
	}
	struct stun_msg msg;
	if (stun_msg_decode(&msg, buf, len) != 0)
		return; /* malformed: drop silently (RFC 8489 6.3) */
	/* A datagram or stream frame holds exactly one message; trailing
	 * bytes could otherwise hide a FINGERPRINT cut off by the length. */
	if (msg.len != len)
		return;
	if (msg.fp >= 0 && stun_msg_check_fingerprint(&msg) != 0)
		return;
	if (msg.cls == STUN_CLASS_REQUEST)
		turn_handle_request(srv, src, &msg);
	/* An indication with an unknown comprehension-required attribute
	 * is discarded (RFC 8489 6.3.2): nothing answers it, nothing acts. */
	else if (msg.cls == STUN_CLASS_INDICATION && msg.method == TURN_SEND &&
		 msg.nunknown == 0)
		turn_handle_send(srv, src, &msg);
	/* Responses and other indications from clients are ignored. */
}

bool turn_conn_has_alloc(struct turn_srv *srv, const struct turn_src *src)
{
	return turn_alloc_find(srv, src) != NULL;
}

void turn_conn_closed(struct turn_srv *srv, const struct turn_src *src)
{
	/* A stream or a DTLS session carries at most one allocation, found
	 * by its 5-tuple and handle in O(1): closing connections that never
	 * allocated must not cost a walk over every allocation. */
	if (src->proto != TURN_PROTO_TCP && !src->secure)
		return;
	struct turn_alloc *a = turn_alloc_find(srv, src);
	if (!a)
		return;
	a->end = srv->shutting_down ? TURN_END_SHUTDOWN : TURN_END_CLOSED;
	turn_alloc_destroy(srv, a);
}

int64_t turn_srv_tick(struct turn_srv *srv)
{
	uint64_t now = turn_now(srv);
	/* Each call either frees the allocation or moves its expiry past
	 * now (a dual allocation losing one family), so this ends. */
	while (srv->nheap > 0 && srv->heap[0]->expires <= now)
		turn_alloc_expire(srv, srv->heap[0], now);
	int64_t tcp = turn_tcp_tick(srv); /* RFC 6062 connect/bind timers */
	if (srv->nheap == 0)
		return tcp;
	int64_t next = (int64_t)(srv->heap[0]->expires - now);
	return tcp >= 0 && tcp < next ? tcp : next;
}

int turn_user_set(struct turn_user *u, const char *name, const char *pass,
		  const char *realm)
{
	if (strlen(name) >= sizeof(u->name))
		return EINVAL;
	memset(u, 0, sizeof(*u));
	strcpy(u->name, name);
	int err = stun_key_md5(name, realm, pass, u->key_md5);
	if (!err)
		err = stun_key_sha256(name, realm, pass, u->key_sha256);
	if (!err)
		err = stun_userhash(name, realm, u->userhash);
	return err;
}

void turn_srv_tid(struct turn_srv *srv, uint8_t tid[STUN_TID_LEN])
{
	if (srv->rnd_pos + STUN_TID_LEN > sizeof(srv->rnd)) {
		if (rand_bytes(srv->rnd, sizeof(srv->rnd)) != 0)
			abort(); /* never hand out predictable ids */
		srv->rnd_pos = 0;
	}
	memcpy(tid, srv->rnd + srv->rnd_pos, STUN_TID_LEN);
	srv->rnd_pos += STUN_TID_LEN;
}
