/* Test harness for the turn core: a fake clock, fake sockets that record
 * what the core sends, and a tiny TURN client built on the stun codec. */
#ifndef TS_TEST_TURN_HARNESS_H
#define TS_TEST_TURN_HARNESS_H
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "auth/auth.h"
#include "stun/stun.h"
#include "turn/policy.h"
#include "turn/turn.h"

#define H_MAX_RELAYS 64
#define H_MAX_TPEERS 256

struct h_relay {
	struct sa addr;
	struct turn_relay *owner;
	bool open;
	bool df;
	bool tcp; /* a TCP relay listener (RFC 6062) */
};

/* A fake TCP peer connection (RFC 6062). */
struct h_tpeer {
	struct sa from, peer;
	struct turn_tconn *owner;
	bool open, outgoing;
	void *bound; /* client data connection after ConnectionBind */
};

struct harness {
	uint64_t mono, wall;
	struct turn_cfg cfg;
	struct peer_policy *policy;
	struct turn_shared *sh;
	struct turn_srv *srv;
	struct h_relay relays[H_MAX_RELAYS];
	unsigned nrelays;
	int fail_bind; /* next N relay_open calls fail with EADDRINUSE */
	/* last message sent to a client */
	uint8_t out[70000];
	size_t outlen;
	unsigned nout;
	void *out_conn;
	/* last datagram sent to a peer */
	uint8_t pout[70000];
	size_t poutlen;
	unsigned npout;
	struct sa pout_peer;
	/* TCP relays */
	struct h_tpeer tpeers[H_MAX_TPEERS];
	unsigned ntpeers;
	int fail_connect;    /* next tcp_connect fails with this errno */
	void *handoff_conn, *handoff_to;
	unsigned nhandoff;
	void *closed_conn; /* conn_close */
	unsigned nclosed;
	/* udp_conn (RFC 5780): the local address last asked for */
	struct sa conn_local;
	bool no_udp_conn; /* answer NULL: no such listener */
	/* client state */
	char nonce[128];
	size_t noncelen;
	struct stun_msg resp;
};

static inline uint64_t h_mono(void *arg) { return ((struct harness *)arg)->mono; }
static inline uint64_t h_wall(void *arg) { return ((struct harness *)arg)->wall; }

static inline int h_relay_open(void *arg, const struct sa *bind, bool df,
			       struct turn_relay *owner, void **hp)
{
	struct harness *h = arg;
	if (h->fail_bind > 0) {
		h->fail_bind--;
		return EADDRINUSE;
	}
	assert_true(h->nrelays < H_MAX_RELAYS);
	struct h_relay *r = &h->relays[h->nrelays++];
	r->addr = *bind;
	r->owner = owner;
	r->open = true;
	r->df = df;
	*hp = r;
	return 0;
}

static inline void h_relay_close(void *arg, void *handle)
{
	(void)arg;
	struct h_relay *r = handle;
	assert_true(r->open);
	r->open = false;
}

static inline void h_relay_df(void *arg, void *handle)
{
	(void)arg;
	struct h_relay *r = handle;
	assert_true(r->open);
	r->df = true;
}

static inline void h_relay_send(void *arg, void *handle, const struct sa *peer,
				const uint8_t *buf, size_t len)
{
	struct harness *h = arg;
	assert_true(((struct h_relay *)handle)->open);
	memcpy(h->pout, buf, len);
	h->poutlen = len;
	h->pout_peer = *peer;
	h->npout++;
}

static inline void h_client_send(void *arg, void *conn, const struct sa *client,
				 const struct iovec *iov, int iovcnt)
{
	struct harness *h = arg;
	(void)client;
	h->outlen = 0;
	for (int i = 0; i < iovcnt; i++) {
		memcpy(h->out + h->outlen, iov[i].iov_base, iov[i].iov_len);
		h->outlen += iov[i].iov_len;
	}
	h->out_conn = conn;
	h->nout++;
}

static inline int h_tcp_listen(void *arg, const struct sa *bind,
			       struct turn_relay *owner, void **hp)
{
	int err = h_relay_open(arg, bind, false, owner, hp);
	if (!err)
		((struct h_relay *)*hp)->tcp = true;
	return err;
}

static inline void h_tcp_unlisten(void *arg, void *handle)
{
	assert_true(((struct h_relay *)handle)->tcp);
	h_relay_close(arg, handle);
}

static inline int h_tcp_connect(void *arg, const struct sa *from,
				const struct sa *peer, struct turn_tconn *owner,
				void **hp)
{
	struct harness *h = arg;
	if (h->fail_connect) {
		int err = h->fail_connect;
		h->fail_connect = 0;
		return err;
	}
	assert_true(h->ntpeers < H_MAX_TPEERS);
	struct h_tpeer *t = &h->tpeers[h->ntpeers++];
	*t = (struct h_tpeer){.from = *from, .peer = *peer, .owner = owner,
			     .open = true, .outgoing = true};
	*hp = t;
	return 0;
}

static inline void h_tcp_close(void *arg, void *handle)
{
	(void)arg;
	struct h_tpeer *t = handle;
	assert_true(t->open);
	t->open = false;
}

static inline void h_tcp_bind(void *arg, void *handle, void *conn)
{
	(void)arg;
	struct h_tpeer *t = handle;
	assert_true(t->open);
	assert_null(t->bound);
	t->bound = conn;
}

static inline void h_conn_close(void *arg, void *conn)
{
	struct harness *h = arg;
	h->closed_conn = conn;
	h->nclosed++;
}

static inline void h_conn_handoff(void *arg, void *conn, void *owner_arg)
{
	struct harness *h = arg;
	h->handoff_conn = conn;
	h->handoff_to = owner_arg;
	h->nhandoff++;
}

/* A peer connects to a TCP relay listener: what the net layer does on
 * accept. Returns the fake connection, or NULL if the core refused. */
static inline struct h_tpeer *h_tcp_accept(struct harness *h, struct h_relay *l,
					   const struct sa *peer)
{
	assert_true(l->tcp && l->open);
	struct h_tpeer *t = &h->tpeers[h->ntpeers];
	*t = (struct h_tpeer){.from = l->addr, .peer = *peer, .open = true};
	t->owner = turn_tcp_accepted(h->srv, l->owner, peer, t);
	if (!t->owner)
		return NULL;
	h->ntpeers++;
	return t;
}

/* A listener handle per local port, 0x7000 + port, as udp_conn. */
static inline void *h_udp_conn(void *arg, const struct sa *local)
{
	struct harness *h = arg;
	h->conn_local = *local;
	return h->no_udp_conn ? NULL : (void *)(uintptr_t)(0x7000u + sa_port(local));
}

static inline struct turn_io h_io(struct harness *h)
{
	struct turn_io io = {
		.relay_open = h_relay_open, .relay_close = h_relay_close,
		.relay_df = h_relay_df,
		.relay_send = h_relay_send, .client_send = h_client_send,
		.tcp_listen = h_tcp_listen, .tcp_unlisten = h_tcp_unlisten,
		.tcp_connect = h_tcp_connect, .tcp_close = h_tcp_close,
		.tcp_bind = h_tcp_bind, .conn_handoff = h_conn_handoff,
		.conn_close = h_conn_close, .udp_conn = h_udp_conn,
		.arg = h,
	};
	return io;
}

static inline struct harness *h_new(void (*tweak)(struct turn_cfg *))
{
	struct harness *h = calloc(1, sizeof(*h));
	h->mono = 1000000;
	h->wall = 1700000000;
	struct turn_cfg *c = &h->cfg;
	strcpy(c->realm, "test");
	c->use_auth_secret = true;
	strcpy(c->secrets[0], "old-secret");
	strcpy(c->secrets[1], "s3cret");
	c->nsecrets = 2;
	assert_int_equal(turn_user_set(&c->users[0], "alice", "alicepw", "test"), 0);
	assert_int_equal(turn_user_set(&c->users[1], "bob", "bobpw", "test"), 0);
	c->nusers = 2;
	c->rest_max_ttl = 86400;
	c->rest_skew = 60;
	c->max_lifetime = 3600;
	c->default_lifetime = 600;
	c->perm_lifetime = 300;
	c->chan_lifetime = 600;
	c->nonce_lifetime = 600;
	c->user_quota = 10;
	c->total_quota = 100;
	c->max_perms = 8;
	c->max_chans = 8;
	c->unauth_rate = 5;
	c->unauth_burst = 10;
	sa_set_str(&c->relay4, "203.0.113.5", 0);
	memset(c->nonce_key.key, 7, sizeof(c->nonce_key.key));
	assert_int_equal(peer_policy_alloc(&h->policy), 0);
	c->policy = h->policy;
	if (tweak)
		tweak(c);
	assert_int_equal(turn_shared_alloc(&h->sh, 50000, 50015), 0);
	struct turn_clock clk = {h_mono, h_wall, h};
	struct turn_io io = h_io(h);
	assert_int_equal(turn_srv_alloc(&h->srv, &h->cfg, h->sh, &clk, &io), 0);
	return h;
}

static inline void h_free(struct harness *h)
{
	turn_srv_free(h->srv);
	/* Every port must be back in the pool after teardown. */
	assert_int_equal(turn_shared_ports_free(h->sh, h->mono), 16);
	assert_int_equal(turn_shared_allocations(h->sh), 0);
	for (unsigned i = 0; i < h->nrelays; i++)
		assert_false(h->relays[i].open);
	for (unsigned i = 0; i < h->ntpeers; i++)
		assert_false(h->tpeers[i].open);
	turn_shared_free(h->sh);
	peer_policy_free(h->policy);
	free(h);
}

static inline struct turn_src h_src(const char *ip, uint16_t port, int proto)
{
	struct turn_src s = {.proto = proto};
	sa_set_str(&s.client, ip, port);
	sa_set_str(&s.local, "203.0.113.5", 3478);
	s.conn = (void *)(uintptr_t)(0x1000 + port);
	return s;
}

/* Decode the last message the server sent to a client. */
static inline int h_resp(struct harness *h)
{
	return stun_msg_decode(&h->resp, h->out, h->outlen);
}

static inline int h_err(struct harness *h)
{
	int code = 0;
	const char *r;
	size_t rl;
	if (h_resp(h) != 0 || h->resp.cls != STUN_CLASS_ERROR)
		return 0;
	stun_msg_get_error(&h->resp, &code, &r, &rl);
	return code;
}

/* Credentials a request is signed with. */
struct h_cred {
	const char *user;
	const char *pass;
	const char *realm;
};

static inline void h_rest_cred(struct harness *h, struct h_cred *c, char *user,
			       char *pass, int64_t ttl, const char *id,
			       const char *secret)
{
	snprintf(user, TURN_MAX_USERNAME, "%lld:%s", (long long)((int64_t)h->wall + ttl), id);
	assert_int_equal(auth_rest_password(secret, strlen(secret), user,
					    strlen(user), pass, 64), 0);
	c->user = user;
	c->pass = pass;
	c->realm = "test";
}

typedef void(h_attrs_h)(struct stun_enc *e, void *arg);

/* Build and send a request; signed when cred is given (using the nonce
 * from the last 401/438). Returns the response class or -1 for none. */
static inline int h_request(struct harness *h, const struct turn_src *src,
			    uint16_t method, h_attrs_h *attrs, void *arg,
			    const struct h_cred *cred)
{
	uint8_t buf[2048], tid[STUN_TID_LEN];
	static uint32_t ctr;
	memset(tid, 0xab, sizeof(tid));
	memcpy(tid, &ctr, sizeof(ctr));
	ctr++;
	struct stun_enc e;
	stun_enc_init(&e, buf, sizeof(buf), method, STUN_CLASS_REQUEST, tid);
	if (attrs)
		attrs(&e, arg);
	if (cred) {
		uint8_t key[16];
		stun_enc_str(&e, STUN_ATTR_USERNAME, cred->user);
		stun_enc_str(&e, STUN_ATTR_REALM, cred->realm);
		stun_enc_attr(&e, STUN_ATTR_NONCE, h->nonce, h->noncelen);
		stun_key_md5(cred->user, cred->realm, cred->pass, key);
		stun_enc_mi(&e, key, sizeof(key));
	}
	size_t len;
	assert_int_equal(stun_enc_finish(&e, &len), 0);
	unsigned before = h->nout;
	turn_client_input(h->srv, src, buf, len);
	if (h->nout == before)
		return -1;
	assert_int_equal(h_resp(h), 0);
	return h->resp.cls;
}

/* An unsigned request to learn a nonce (expects 401). */
static inline void h_get_nonce(struct harness *h, const struct turn_src *src)
{
	assert_int_equal(h_request(h, src, TURN_ALLOCATE, NULL, NULL, NULL),
			 STUN_CLASS_ERROR);
	assert_int_equal(h_err(h), 401);
	const struct stun_attr *n = stun_msg_attr(&h->resp, STUN_ATTR_NONCE);
	assert_non_null(n);
	memcpy(h->nonce, n->val, n->len);
	h->noncelen = n->len;
}

static inline void h_transport(struct stun_enc *e, uint8_t proto)
{
	uint8_t v[4] = {proto, 0, 0, 0};
	stun_enc_attr(e, TURN_ATTR_REQUESTED_TRANSPORT, v, 4);
}

static inline void h_udp_attrs(struct stun_enc *e, void *arg)
{
	(void)arg;
	h_transport(e, TURN_PROTO_UDP);
}

/* Allocate with alice's static credentials; returns the relayed address. */
static inline struct sa h_allocate(struct harness *h, const struct turn_src *src,
				   const struct h_cred *cred)
{
	h_get_nonce(h, src);
	assert_int_equal(h_request(h, src, TURN_ALLOCATE, h_udp_attrs, NULL, cred),
			 STUN_CLASS_SUCCESS);
	struct sa relayed;
	assert_int_equal(stun_msg_get_xaddr(&h->resp, TURN_ATTR_XOR_RELAYED_ADDRESS,
					    &relayed), 0);
	return relayed;
}

static const struct h_cred h_alice = {"alice", "alicepw", "test"};
static const struct h_cred h_bob = {"bob", "bobpw", "test"};

static inline void h_peer_attr(struct stun_enc *e, void *arg)
{
	stun_enc_xaddr(e, TURN_ATTR_XOR_PEER_ADDRESS, arg);
}

struct h_chan {
	uint16_t ch;
	struct sa peer;
};

static inline void h_chan_attrs(struct stun_enc *e, void *arg)
{
	struct h_chan *c = arg;
	stun_enc_channel(e, c->ch);
	stun_enc_xaddr(e, TURN_ATTR_XOR_PEER_ADDRESS, &c->peer);
}

static inline struct sa h_sa(const char *ip, uint16_t port)
{
	struct sa s;
	sa_set_str(&s, ip, port);
	return s;
}

#endif
