/* turn core, TCP relays (RFC 6062) with fake I/O: TCP Allocate, Connect
 * (policy, 446, 447, timers), ConnectionAttempt for permitted peers only,
 * ConnectionBind (ids, owner worker hand-off) and teardown. */
#include "turn_harness.h"

static void tcp_attrs(struct stun_enc *e, void *arg)
{
	(void)arg;
	h_transport(e, TURN_PROTO_TCP);
}

static void tcp_even_attrs(struct stun_enc *e, void *arg)
{
	(void)arg;
	h_transport(e, TURN_PROTO_TCP);
	stun_enc_attr(e, TURN_ATTR_EVEN_PORT, "\0", 1);
}

static void sctp_attrs(struct stun_enc *e, void *arg)
{
	(void)arg;
	h_transport(e, 132);
}

static void connid_attr(struct stun_enc *e, void *arg)
{
	stun_enc_connid(e, *(uint32_t *)arg);
}

static void no_tcp_relay(struct turn_cfg *c)
{
	c->no_tcp_relay = true;
}

/* A TCP allocation for alice on a TCP control connection. */
static struct h_relay *tcp_allocate(struct harness *h, const struct turn_src *s)
{
	h_get_nonce(h, s);
	assert_int_equal(h_request(h, s, TURN_ALLOCATE, tcp_attrs, NULL, &h_alice),
			 STUN_CLASS_SUCCESS);
	struct h_relay *l = &h->relays[h->nrelays - 1];
	assert_true(l->tcp && l->open);
	return l;
}

/* Connect to peer; returns the error code or 0 when the connection
 * attempt was started (the response comes later). */
static int tcp_connect(struct harness *h, const struct turn_src *s,
		       struct sa *peer)
{
	int cls = h_request(h, s, TURN_CONNECT, h_peer_attr, peer, &h_alice);
	return cls == -1 ? 0 : h_err(h);
}

static uint32_t resp_connid(struct harness *h)
{
	uint32_t id = 0;
	assert_int_equal(h_resp(h), 0);
	assert_int_equal(stun_msg_get_connid(&h->resp, &id), 0);
	assert_int_not_equal(id, 0);
	return id;
}

/* Connect, complete the connection: the success carries CONNECTION-ID
 * and is signed with alice's key. */
static uint32_t tcp_connected(struct harness *h, const struct turn_src *s,
			      struct sa *peer, struct h_tpeer **tp)
{
	unsigned n = h->ntpeers;
	assert_int_equal(tcp_connect(h, s, peer), 0);
	assert_int_equal(h->ntpeers, n + 1);
	*tp = &h->tpeers[n];
	assert_true(sa_eq(&(*tp)->peer, peer));
	turn_tcp_connected(h->srv, (*tp)->owner, 0);
	assert_int_equal(h_resp(h), 0);
	assert_int_equal(h->resp.method, TURN_CONNECT);
	assert_int_equal(h->resp.cls, STUN_CLASS_SUCCESS);
	uint8_t key[16];
	stun_key_md5("alice", "test", "alicepw", key);
	assert_int_equal(stun_msg_check_mi(&h->resp, key, sizeof(key)), 0);
	return resp_connid(h);
}

static int tcp_bind(struct harness *h, const struct turn_src *data,
		    uint32_t id, const struct h_cred *cred)
{
	/* Nonces are bound to the connection: get one for the data
	 * connection, and give the control connection's back afterwards. */
	char saved[sizeof(h->nonce)];
	size_t savedlen = h->noncelen;
	memcpy(saved, h->nonce, sizeof(saved));
	h_get_nonce(h, data);
	int cls = h_request(h, data, TURN_CONNECTION_BIND, connid_attr, &id, cred);
	int rc = cls == STUN_CLASS_SUCCESS ? 0 : cls == -1 ? -1 : h_err(h);
	memcpy(h->nonce, saved, sizeof(saved));
	h->noncelen = savedlen;
	return rc;
}

static void test_tcp_allocate(void **state)
{
	(void)state;
	struct harness *h = h_new(NULL);
	struct turn_src u = h_src("198.51.100.7", 40000, TURN_PROTO_UDP);
	struct turn_src t = h_src("198.51.100.7", 40001, TURN_PROTO_TCP);
	h_get_nonce(h, &u);
	assert_int_equal(h_request(h, &u, TURN_ALLOCATE, tcp_attrs, NULL, &h_alice),
			 STUN_CLASS_ERROR);
	assert_int_equal(h_err(h), 400); /* 5.1: control must be TCP/TLS */
	h_get_nonce(h, &t);
	assert_int_equal(h_request(h, &t, TURN_ALLOCATE, sctp_attrs, NULL, &h_alice),
			 STUN_CLASS_ERROR);
	assert_int_equal(h_err(h), 442);
	assert_int_equal(h_request(h, &t, TURN_ALLOCATE, tcp_even_attrs, NULL, &h_alice),
			 STUN_CLASS_ERROR);
	assert_int_equal(h_err(h), 400);
	assert_int_equal(h->nrelays, 0);
	struct h_relay *l = tcp_allocate(h, &t);
	struct sa relayed;
	assert_int_equal(stun_msg_get_xaddr(&h->resp, TURN_ATTR_XOR_RELAYED_ADDRESS,
					    &relayed), 0);
	assert_true(sa_eq(&relayed, &l->addr));
	/* No channels and no Send on a TCP allocation. */
	struct h_chan c = {0x4000, h_sa("8.8.8.8", 9)};
	assert_int_equal(h_request(h, &t, TURN_CHANNEL_BIND, h_chan_attrs, &c, &h_alice),
			 STUN_CLASS_ERROR);
	assert_int_equal(h_err(h), 400);
	h_free(h);

	h = h_new(no_tcp_relay);
	h_get_nonce(h, &t);
	assert_int_equal(h_request(h, &t, TURN_ALLOCATE, tcp_attrs, NULL, &h_alice),
			 STUN_CLASS_ERROR);
	assert_int_equal(h_err(h), 442);
	h_free(h);
}

static void test_connect_and_bind(void **state)
{
	(void)state;
	struct harness *h = h_new(NULL);
	struct turn_src t = h_src("198.51.100.7", 40001, TURN_PROTO_TCP);
	struct turn_src d = h_src("198.51.100.7", 40002, TURN_PROTO_TCP);
	struct h_relay *l = tcp_allocate(h, &t);
	struct sa peer = h_sa("8.8.8.8", 8080);
	struct h_tpeer *tp;
	uint32_t id = tcp_connected(h, &t, &peer, &tp);
	assert_true(sa_eq(&tp->from, &l->addr)); /* from the relayed address */
	/* The same peer again, pending or bound: 446. */
	assert_int_equal(tcp_connect(h, &t, &peer), 446);
	/* Another user cannot take it, and learns no more than from a wrong
	 * id: 400 both; each failure closes the data connection. */
	assert_int_equal(tcp_bind(h, &d, id, &h_bob), 400);
	assert_int_equal(h->nclosed, 1);
	assert_ptr_equal(h->closed_conn, d.conn);
	assert_int_equal(tcp_bind(h, &d, id + 1, &h_alice), 400);
	assert_int_equal(h->nclosed, 2);
	assert_null(tp->bound);
	assert_int_equal(tcp_bind(h, &d, id, &h_alice), 0);
	assert_ptr_equal(tp->bound, d.conn);
	assert_ptr_equal(h->out_conn, d.conn); /* answered on the data conn */
	assert_int_equal(tcp_connect(h, &t, &peer), 446);
	/* Bound: binding again is 400, and the 30 s timer no longer runs. */
	assert_int_equal(tcp_bind(h, &d, id, &h_alice), 400);
	h->mono += 31000;
	turn_srv_tick(h->srv);
	assert_true(tp->open);
	/* The control connection cannot be a data connection. */
	struct sa peer2 = h_sa("8.8.4.4", 80);
	struct h_tpeer *tp2;
	uint32_t id2 = tcp_connected(h, &t, &peer2, &tp2);
	assert_int_equal(tcp_bind(h, &t, id2, &h_alice), 400);
	/* The peer closed: the record goes, the peer can be connected again. */
	turn_tcp_closed(h->srv, tp->owner);
	assert_false(tp->open);
	assert_int_equal(tcp_connect(h, &t, &peer), 0);
	h_free(h); /* closes the listener and every peer connection */
	h = NULL;
}

static void test_connect_errors(void **state)
{
	(void)state;
	struct harness *h = h_new(NULL);
	struct turn_src t = h_src("198.51.100.7", 40001, TURN_PROTO_TCP);
	struct turn_src u = h_src("198.51.100.7", 40003, TURN_PROTO_UDP);
	struct sa peer = h_sa("8.8.8.8", 8080);
	/* No allocation: 437. */
	h_get_nonce(h, &t);
	assert_int_equal(tcp_connect(h, &t, &peer), 437);
	/* A UDP allocation has no Connect. */
	h_allocate(h, &u, &h_alice);
	assert_int_equal(tcp_connect(h, &u, &peer), 400);
	tcp_allocate(h, &t);
	assert_int_equal(h_request(h, &t, TURN_CONNECT, NULL, NULL, &h_alice),
			 STUN_CLASS_ERROR);
	assert_int_equal(h_err(h), 400);
	/* The peer policy: 403 and no connection attempt at all. */
	const char *denied[] = {"10.0.0.1", "169.254.169.254", "127.0.0.1",
				"::ffff:10.0.0.1", "::ffff:169.254.169.254",
				"64:ff9b::a00:1", "0.0.0.0", "192.168.1.1",
				"2001:4860:1:2:0:5efe:a00:1", "3fff::1"};
	for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
		struct sa bad = h_sa(denied[i], 80);
		assert_int_equal(tcp_connect(h, &t, &bad), 403);
	}
	assert_int_equal(h->ntpeers, 0);
	struct sa v6 = h_sa("2606:4700::1111", 80);
	assert_int_equal(tcp_connect(h, &t, &v6), 443);
	/* Failing at once, failing later, and timing out: 447. */
	h->fail_connect = ECONNREFUSED;
	assert_int_equal(tcp_connect(h, &t, &peer), 447);
	assert_int_equal(tcp_connect(h, &t, &peer), 0);
	turn_tcp_connected(h->srv, h->tpeers[0].owner, ECONNREFUSED);
	assert_int_equal(h_err(h), 447);
	assert_int_equal(h->resp.method, TURN_CONNECT);
	assert_false(h->tpeers[0].open);
	assert_int_equal(tcp_connect(h, &t, &peer), 0);
	unsigned before = h->nout;
	h->mono += 29999;
	assert_int_equal(turn_srv_tick(h->srv), 1);
	assert_int_equal(h->nout, before);
	h->mono += 1;
	turn_srv_tick(h->srv);
	assert_int_equal(h_err(h), 447);
	assert_false(h->tpeers[1].open);
	h_free(h);
}

static void test_bind_timeout(void **state)
{
	(void)state;
	struct harness *h = h_new(NULL);
	struct turn_src t = h_src("198.51.100.7", 40001, TURN_PROTO_TCP);
	struct turn_src d = h_src("198.51.100.7", 40002, TURN_PROTO_TCP);
	tcp_allocate(h, &t);
	struct sa peer = h_sa("8.8.8.8", 8080);
	struct h_tpeer *tp;
	h->mono += 20000; /* the connect took 20 s; the bind timer starts now */
	uint32_t id = tcp_connected(h, &t, &peer, &tp);
	h->mono += 29000;
	turn_srv_tick(h->srv);
	assert_true(tp->open);
	h->mono += 1000;
	turn_srv_tick(h->srv);
	assert_false(tp->open); /* 5.2: unbound after 30 s, closed */
	assert_int_equal(tcp_bind(h, &d, id, &h_alice), 400);
	h_free(h);
}

static void test_passive(void **state)
{
	(void)state;
	struct harness *h = h_new(NULL);
	struct turn_src t = h_src("198.51.100.7", 40001, TURN_PROTO_TCP);
	struct turn_src d = h_src("198.51.100.7", 40002, TURN_PROTO_TCP);
	struct h_relay *l = tcp_allocate(h, &t);
	struct sa peer = h_sa("8.8.8.8", 50123);
	/* No permission: refused, nothing said to the client. */
	unsigned before = h->nout;
	assert_null(h_tcp_accept(h, l, &peer));
	assert_int_equal(h->nout, before);
	assert_int_equal(h_request(h, &t, TURN_CREATE_PERMISSION, h_peer_attr,
				   &peer, &h_alice), STUN_CLASS_SUCCESS);
	struct sa other = h_sa("1.1.1.1", 50123);
	assert_null(h_tcp_accept(h, l, &other));
	struct h_tpeer *tp = h_tcp_accept(h, l, &peer);
	assert_non_null(tp);
	assert_ptr_equal(h->out_conn, t.conn);
	assert_int_equal(h_resp(h), 0);
	assert_int_equal(h->resp.method, TURN_CONNECTION_ATTEMPT);
	assert_int_equal(h->resp.cls, STUN_CLASS_INDICATION);
	struct sa got;
	assert_int_equal(stun_msg_get_xaddr(&h->resp, TURN_ATTR_XOR_PEER_ADDRESS,
					    &got), 0);
	assert_true(sa_eq(&got, &peer));
	uint32_t id = resp_connid(h);
	assert_int_equal(tcp_bind(h, &d, id, &h_alice), 0);
	assert_ptr_equal(tp->bound, d.conn);
	/* A permission that lapsed refuses the next connection. */
	h->mono += 301000;
	struct sa peer2 = h_sa("8.8.8.8", 50124);
	assert_null(h_tcp_accept(h, l, &peer2));
	assert_true(tp->open); /* bound connections are not permission-bound */
	h_free(h);
}

/* ConnectionBind reaching another worker's turn_srv: it hands the
 * connection to the owner, which answers. */
static void test_bind_other_worker(void **state)
{
	(void)state;
	struct harness *h = h_new(NULL);
	struct turn_srv *srv2; /* a second worker: same fakes, same shared */
	struct turn_clock clk = {h_mono, h_wall, h};
	struct turn_io io2 = h_io(h);
	assert_int_equal(turn_srv_alloc(&srv2, &h->cfg, h->sh, &clk, &io2), 0);
	struct turn_src t = h_src("198.51.100.7", 40001, TURN_PROTO_TCP);
	struct turn_src d = h_src("198.51.100.7", 40002, TURN_PROTO_TCP);
	tcp_allocate(h, &t);
	struct sa peer = h_sa("8.8.8.8", 8080);
	struct h_tpeer *tp;
	uint32_t id = tcp_connected(h, &t, &peer, &tp);
	struct turn_srv *own = h->srv;
	h->srv = srv2; /* the data connection landed on the other worker */
	assert_int_equal(tcp_bind(h, &d, id, &h_alice), -1);
	assert_int_equal(h->nhandoff, 1);
	assert_ptr_equal(h->handoff_conn, d.conn);
	assert_ptr_equal(h->handoff_to, h); /* the owner's turn_io arg */
	h->srv = own;
	assert_null(tp->bound);
	assert_int_equal(tcp_bind(h, &d, id, &h_alice), 0);
	assert_ptr_equal(tp->bound, d.conn);
	assert_int_equal(h->nhandoff, 1); /* the owner did not hand it on */
	turn_srv_free(srv2);
	h_free(h);
}

/* Deleting the allocation, or closing its control connection, closes
 * every peer connection, bound or not, and the listener. */
static void test_teardown(void **state)
{
	(void)state;
	struct harness *h = h_new(NULL);
	struct turn_src t = h_src("198.51.100.7", 40001, TURN_PROTO_TCP);
	struct turn_src d = h_src("198.51.100.7", 40002, TURN_PROTO_TCP);
	struct h_relay *l = tcp_allocate(h, &t);
	struct sa p1 = h_sa("8.8.8.8", 1), p2 = h_sa("8.8.8.8", 2);
	struct sa p3 = h_sa("8.8.8.8", 3);
	struct h_tpeer *a, *b;
	uint32_t id = tcp_connected(h, &t, &p1, &a);
	tcp_connected(h, &t, &p2, &b);
	assert_int_equal(tcp_connect(h, &t, &p3), 0); /* still connecting */
	assert_int_equal(tcp_bind(h, &d, id, &h_alice), 0);
	turn_conn_closed(h->srv, &t);
	assert_int_equal(turn_srv_count(h->srv), 0);
	for (unsigned i = 0; i < h->ntpeers; i++)
		assert_false(h->tpeers[i].open);
	assert_false(l->open);
	/* The ids are gone with them. */
	assert_int_equal(tcp_bind(h, &d, id, &h_alice), 400);
	h_free(h);
}

static void tcp_dual_attrs(struct stun_enc *e, void *arg)
{
	(void)arg;
	h_transport(e, TURN_PROTO_TCP);
	uint8_t v[4] = {STUN_FAMILY_IPV6, 0, 0, 0};
	stun_enc_attr(e, TURN_ATTR_ADDITIONAL_ADDRESS_FAMILY, v, 4);
}

static void refresh_v6_zero(struct stun_enc *e, void *arg)
{
	(void)arg;
	stun_enc_u32(e, TURN_ATTR_LIFETIME, 0);
	uint8_t v[4] = {STUN_FAMILY_IPV6, 0, 0, 0};
	stun_enc_attr(e, TURN_ATTR_REQUESTED_ADDRESS_FAMILY, v, 4);
}

static void with_v6(struct turn_cfg *c)
{
	sa_set_str(&c->relay6, "2001:db8::5", 0);
}

/* RFC 8656 7.1 on a dual TCP allocation: deleting the IPv6 family closes
 * its listener and its peer connections; IPv4's stay. */
static void test_delete_one_family(void **state)
{
	(void)state;
	struct harness *h = h_new(with_v6);
	struct turn_src t = h_src("198.51.100.7", 40001, TURN_PROTO_TCP);
	h_get_nonce(h, &t);
	assert_int_equal(h_request(h, &t, TURN_ALLOCATE, tcp_dual_attrs, NULL, &h_alice),
			 STUN_CLASS_SUCCESS);
	assert_int_equal(h->nrelays, 2);
	struct h_relay *l4 = &h->relays[0], *l6 = &h->relays[1];
	assert_true(l4->tcp && l6->tcp);
	struct sa p4 = h_sa("8.8.8.8", 1), p6 = h_sa("2606:4700::1111", 1);
	struct h_tpeer *a, *b;
	tcp_connected(h, &t, &p4, &a);
	tcp_connected(h, &t, &p6, &b);
	assert_int_equal(h_request(h, &t, TURN_REFRESH, refresh_v6_zero, NULL, &h_alice),
			 STUN_CLASS_SUCCESS);
	assert_false(l6->open);
	assert_false(b->open);
	assert_true(l4->open);
	assert_true(a->open);
	assert_int_equal(turn_srv_count(h->srv), 1);
	assert_int_equal(tcp_connect(h, &t, &p6), 443);
	h_free(h);
}

/* A Connect still in progress when its family is deleted (RFC 8656 7.1)
 * has failed: RFC 6062 5.2 wants a 447 for it, and the control
 * connection stays to hear it; it must not wait for an answer that never
 * comes. */
static void test_delete_family_pending_connect(void **state)
{
	(void)state;
	struct harness *h = h_new(with_v6);
	struct turn_src t = h_src("198.51.100.7", 40001, TURN_PROTO_TCP);
	h_get_nonce(h, &t);
	assert_int_equal(h_request(h, &t, TURN_ALLOCATE, tcp_dual_attrs, NULL, &h_alice),
			 STUN_CLASS_SUCCESS);
	struct sa p6 = h_sa("2606:4700::1111", 1);
	assert_int_equal(tcp_connect(h, &t, &p6), 0);
	struct h_tpeer *b = &h->tpeers[h->ntpeers - 1];
	unsigned before = h->nout;
	assert_int_equal(h_request(h, &t, TURN_REFRESH, refresh_v6_zero, NULL, &h_alice),
			 STUN_CLASS_ERROR);
	assert_false(b->open);
	/* The Refresh's success, then the Connect's 447. */
	assert_int_equal(h->nout, before + 2);
	assert_int_equal(h_err(h), 447);
	assert_int_equal(h->resp.method, TURN_CONNECT);
	assert_int_equal(turn_srv_count(h->srv), 1);
	h_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp_allocate),
		cmocka_unit_test(test_connect_and_bind),
		cmocka_unit_test(test_connect_errors),
		cmocka_unit_test(test_bind_timeout),
		cmocka_unit_test(test_passive),
		cmocka_unit_test(test_bind_other_worker),
		cmocka_unit_test(test_teardown),
		cmocka_unit_test(test_delete_one_family),
		cmocka_unit_test(test_delete_family_pending_connect),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
