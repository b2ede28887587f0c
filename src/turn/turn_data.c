/* The data path (RFC 8656 10-12): Send indications and ChannelData from
 * clients, datagrams from peers. No lock, no malloc, no syscall other than
 * the send itself; permissions are checked on every packet because they
 * may expire between packets. */
#include <string.h>

#include "turn/turn_int.h"

/* --max-bps burst: half a second of the rate, but at least 64 KiB so that
 * any datagram can pass at any rate. */
#define BW_BURST_MIN 65536
#define BW_ELAPSED_MAX 100000000ull /* ms; bounds the product below */

static struct turn_bucket *bw_refill(struct turn_alloc *a, int dir,
				     uint64_t now)
{
	struct turn_bucket *b = &a->bucket[dir];
	uint64_t burst = a->bps / 2 > BW_BURST_MIN ? a->bps / 2 : BW_BURST_MIN;
	uint64_t cap = burst * 1000;
	uint64_t el = now > b->last_ms ? now - b->last_ms : 0;
	uint64_t add = (el > BW_ELAPSED_MAX ? BW_ELAPSED_MAX : el) * a->bps;
	b->mtokens = b->mtokens >= cap || cap - b->mtokens <= add ? cap
								  : b->mtokens + add;
	b->last_ms = now;
	return b;
}

/* A stream (RFC 6062) waits instead of dropping: how many of want bytes
 * the bucket lets through now; turn_bw_spend takes them once sent. */
size_t turn_bw_budget(struct turn_alloc *a, int dir, size_t want, uint64_t now)
{
	if (!a->bps)
		return want;
	uint64_t have = bw_refill(a, dir, now)->mtokens / 1000;
	return have < want ? (size_t)have : want;
}

void turn_bw_spend(struct turn_alloc *a, int dir, size_t len)
{
	struct turn_bucket *b = &a->bucket[dir];
	uint64_t need = (uint64_t)len * 1000;
	if (a->bps)
		b->mtokens = b->mtokens > need ? b->mtokens - need : 0;
}

bool turn_bw_take(struct turn_srv *srv, struct turn_alloc *a, int dir,
		  size_t len, uint64_t now)
{
	struct turn_bucket *b = bw_refill(a, dir, now);
	uint64_t need = (uint64_t)len * 1000;
	if (b->mtokens >= need) {
		b->mtokens -= need;
		return true;
	}
	/* UDP semantics: the excess is dropped, not queued. */
	turn_stat_add(&srv->stats.bw_drop_pkts[dir], 1);
	turn_stat_add(&srv->stats.bw_drop_bytes[dir], len);
	return false;
}

/* The common case, no --max-bps, costs one test inline. */
static inline bool bw_ok(struct turn_srv *srv, struct turn_alloc *a, int dir,
			 size_t len, uint64_t now)
{
	return !a->bps || turn_bw_take(srv, a, dir, len, now);
}


/* Client to peer over the relay of the peer's family. */
static inline void data_to_peer(struct turn_srv *srv, struct turn_alloc *a,
			 const struct sa *peer, const uint8_t *buf, size_t len,
			 uint64_t now)
{
	for (unsigned i = 0; i < a->nrelay; i++) {
		struct turn_relay *r = &a->relay[i];
		if (sa_af(&r->addr) != sa_af(peer))
			continue;
		if (!bw_ok(srv, a, TURN_DIR_C2P, len, now))
			return;
		srv->io.relay_send(srv->io.arg, r->handle, peer, buf, len);
		turn_data_count(srv, a, TURN_DIR_C2P, len);
		return;
	}
}

static void alloc_set_df(struct turn_srv *srv, struct turn_alloc *a)
{
	for (int i = 0; i < 2; i++) {
		if (a->relay[i].handle)
			srv->io.relay_df(srv->io.arg, a->relay[i].handle);
	}
	a->df = true;
}

/* Send indication (10.2): no error responses exist for indications, so
 * anything wrong means the data is silently dropped. */
void turn_handle_send(struct turn_srv *srv, const struct turn_src *src,
		      const struct stun_msg *ind)
{
	struct turn_alloc *a = turn_alloc_find(srv, src);
	const struct stun_attr *data = stun_msg_attr(ind, TURN_ATTR_DATA);
	struct sa peer;
	if (!a || a->tcp || !data || /* TCP allocations: no Send (RFC 6062) */
	    stun_msg_get_xaddr(ind, TURN_ATTR_XOR_PEER_ADDRESS, &peer) != 0)
		return;
	if (peer_policy_check(srv->cfg->policy, &peer) != 0) {
		turn_stat_add(&srv->stats.peer_denied, 1);
		return;
	}
	uint64_t now = turn_now(srv);
	if (!turn_perm_find(a, &peer, now))
		return;
	/* DONT-FRAGMENT (10.2): DF must be set on this datagram, and a
	 * server that cannot would discard the Send. DF is a setting of the
	 * relay socket, so it stays on for what the allocation sends next
	 * (what a client that asks for it once expects anyway). */
	if (!a->df && stun_msg_attr(ind, TURN_ATTR_DONT_FRAGMENT))
		alloc_set_df(srv, a);
	data_to_peer(srv, a, &peer, data->val, data->len, now);
}

/* ChannelData from the client (12.4). The permission is re-checked: a
 * channel outlives nothing, but its permission may lapse first. */
void turn_handle_chdata(struct turn_srv *srv, const struct turn_src *src,
			const uint8_t *buf, size_t len)
{
	uint16_t ch, dlen;
	const uint8_t *data;
	if (stun_chdata_parse(buf, len, &ch, &data, &dlen) != 0 ||
	    ch > turn_max_channel(srv))
		return;
	struct turn_alloc *a = turn_alloc_find(srv, src);
	if (!a)
		return;
	uint64_t now = turn_now(srv);
	struct turn_chan *c = turn_chan_by_num(a, ch, now);
	if (c && turn_perm_find(a, &c->peer, now))
		data_to_peer(srv, a, &c->peer, data, dlen, now);
}

/* A peer's datagram: ChannelData if a channel is bound to that peer,
 * otherwise a Data indication (11.3, 12.5); over TCP, ChannelData is
 * padded to a multiple of four bytes. */
void turn_peer_input(struct turn_srv *srv, struct turn_relay *owner,
		     const struct sa *peer, const uint8_t *buf, size_t len)
{
	struct turn_alloc *a = owner->alloc;
	uint64_t now = turn_now(srv);
	if (len > STUN_MAX_MSG - 64 || !turn_perm_find(a, peer, now) ||
	    !bw_ok(srv, a, TURN_DIR_P2C, len, now))
		return;
	turn_data_count(srv, a, TURN_DIR_P2C, len);
	struct turn_chan *c = turn_chan_by_peer(a, peer, now);
	if (c) {
		static const uint8_t pad[4];
		uint8_t hdr[STUN_CHDATA_HDR];
		stun_chdata_hdr(hdr, c->num, (uint16_t)len);
		struct iovec iov[3] = {
			{.iov_base = hdr, .iov_len = sizeof(hdr)},
			{.iov_base = (void *)(uintptr_t)buf, .iov_len = len},
			{.iov_base = (void *)(uintptr_t)pad, .iov_len = (4 - len % 4) % 4},
		};
		int n = a->src.proto == TURN_PROTO_TCP && iov[2].iov_len ? 3 : 2;
		srv->io.client_send(srv->io.arg, a->src.conn, &a->src.client, iov, n);
		return;
	}
	uint8_t tid[STUN_TID_LEN];
	turn_srv_tid(srv, tid);
	struct stun_enc e;
	stun_enc_init(&e, srv->scratch, sizeof(srv->scratch), TURN_DATA,
		      STUN_CLASS_INDICATION, tid);
	stun_enc_xaddr(&e, TURN_ATTR_XOR_PEER_ADDRESS, peer);
	stun_enc_attr(&e, TURN_ATTR_DATA, buf, len);
	size_t out;
	if (stun_enc_finish(&e, &out) == 0)
		turn_client_send(srv, &a->src, srv->scratch, out);
}
