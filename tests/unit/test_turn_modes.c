/* coturn's STUN/TURN modes in the turn core: the relay family of an
 * Allocate without REQUESTED-ADDRESS-FAMILY (allocation-default-address-
 * family, keep-address-family), no-udp-relay, stun-only, no-stun and
 * secure-stun, and that a reload (turn_srv_set_cfg) switches them. */
#include "turn_harness.h"

static void with_v6(struct turn_cfg *c)
{
	sa_set_str(&c->relay6, "2001:db8::5", 0);
	c->user_quota = 0;
}

static void keep_family(struct turn_cfg *c)
{
	with_v6(c);
	c->default_family = TURN_DEFAULT_KEEP;
}

static void keep_v4_only(struct turn_cfg *c)
{
	c->default_family = TURN_DEFAULT_KEEP;
}

static void v6_default(struct turn_cfg *c)
{
	with_v6(c);
	c->default_family = TURN_DEFAULT_IPV6;
}

static void no_udp_relay(struct turn_cfg *c)
{
	c->no_udp_relay = true;
}

static void stun_only(struct turn_cfg *c)
{
	c->stun_only = true;
}

static void no_stun(struct turn_cfg *c)
{
	c->no_stun = true;
}

static void secure_stun(struct turn_cfg *c)
{
	c->secure_stun = true;
}

static void fam_attrs(struct stun_enc *e, void *arg)
{
	uint8_t v[4] = {0};
	const uint8_t *f = arg;
	h_transport(e, TURN_PROTO_UDP);
	if (f[0]) {
		v[0] = f[0];
		stun_enc_attr(e, TURN_ATTR_REQUESTED_ADDRESS_FAMILY, v, 4);
	}
	if (f[1]) {
		v[0] = f[1];
		stun_enc_attr(e, TURN_ATTR_ADDITIONAL_ADDRESS_FAMILY, v, 4);
	}
}

/* Allocate from ip asking for families {requested, additional} (0 =
 * absent): 0 with the relayed families in af[], or the error code. */
static int alloc_from(struct harness *h, const char *ip, uint8_t req,
		      uint8_t add, int af[2])
{
	struct turn_src s = h_src(ip, 30000, TURN_PROTO_UDP);
	uint8_t f[2] = {req, add};
	h_get_nonce(h, &s);
	int cls = h_request(h, &s, TURN_ALLOCATE, fam_attrs, f, &h_alice);
	if (cls != STUN_CLASS_SUCCESS)
		return h_err(h);
	unsigned n = 0;
	af[0] = af[1] = 0;
	for (unsigned i = 0; i < h->resp.nattrs && n < 2; i++) {
		struct sa a;
		if (h->resp.attrs[i].type != TURN_ATTR_XOR_RELAYED_ADDRESS)
			continue;
		assert_int_equal(stun_attr_get_xaddr(&h->resp, &h->resp.attrs[i], &a), 0);
		af[n++] = sa_af(&a);
	}
	return 0;
}

/* RFC 8656 7.2: without the attribute the relay is IPv4, whatever the
 * client's family, unless the operator chose otherwise. */
static void test_family_default_ipv4(void **state)
{
	(void)state;
	struct harness *h = h_new(with_v6);
	int af[2];
	assert_int_equal(alloc_from(h, "2001:db8:1::7", 0, 0, af), 0);
	assert_int_equal(af[0], AF_INET);
	assert_int_equal(af[1], 0);
	h_free(h);
}

/* keep (-K, -A keep): the family the client came in on. */
static void test_family_keep(void **state)
{
	(void)state;
	struct harness *h = h_new(keep_family);
	int af[2];
	assert_int_equal(alloc_from(h, "2001:db8:1::7", 0, 0, af), 0);
	assert_int_equal(af[0], AF_INET6);
	assert_int_equal(af[1], 0);
	assert_int_equal(alloc_from(h, "198.51.100.7", 0, 0, af), 0);
	assert_int_equal(af[0], AF_INET);
	/* An explicit REQUESTED-ADDRESS-FAMILY still wins. */
	assert_int_equal(alloc_from(h, "2001:db8:1::8", STUN_FAMILY_IPV4, 0, af), 0);
	assert_int_equal(af[0], AF_INET);
	/* A dual allocation is IPv4 plus IPv6 from any client. */
	assert_int_equal(alloc_from(h, "2001:db8:1::9", 0, STUN_FAMILY_IPV6, af), 0);
	assert_int_equal(af[0] + af[1], AF_INET + AF_INET6);
	h_free(h);
}

/* The chosen family has no relay address: 440 (RFC 8656 7.2 step 7). */
static void test_family_keep_no_relay(void **state)
{
	(void)state;
	struct harness *h = h_new(keep_v4_only);
	int af[2];
	assert_int_equal(alloc_from(h, "2001:db8:1::7", 0, 0, af), 440);
	assert_int_equal(turn_srv_count(h->srv), 0);
	assert_int_equal(alloc_from(h, "198.51.100.7", 0, 0, af), 0);
	assert_int_equal(af[0], AF_INET);
	h_free(h);
}

static void test_family_ipv6(void **state)
{
	(void)state;
	struct harness *h = h_new(v6_default);
	int af[2];
	assert_int_equal(alloc_from(h, "198.51.100.7", 0, 0, af), 0);
	assert_int_equal(af[0], AF_INET6);
	assert_int_equal(alloc_from(h, "198.51.100.8", STUN_FAMILY_IPV4, 0, af), 0);
	assert_int_equal(af[0], AF_INET);
	h_free(h);
}

static void tcp_attrs(struct stun_enc *e, void *arg)
{
	(void)arg;
	h_transport(e, TURN_PROTO_TCP);
}

/* no-udp-relay mirrors no-tcp-relay: 442, and TCP relays still work. */
static void test_no_udp_relay(void **state)
{
	(void)state;
	struct harness *h = h_new(no_udp_relay);
	struct turn_src u = h_src("198.51.100.7", 30000, TURN_PROTO_UDP);
	h_get_nonce(h, &u);
	assert_int_equal(h_request(h, &u, TURN_ALLOCATE, h_udp_attrs, NULL, &h_alice),
			 STUN_CLASS_ERROR);
	assert_int_equal(h_err(h), 442);
	assert_int_equal(turn_srv_count(h->srv), 0);
	struct turn_src t = h_src("198.51.100.7", 30001, TURN_PROTO_TCP);
	h_get_nonce(h, &t);
	assert_int_equal(h_request(h, &t, TURN_ALLOCATE, tcp_attrs, NULL, &h_alice),
			 STUN_CLASS_SUCCESS);
	assert_int_equal(turn_srv_count(h->srv), 1);
	h_free(h);
}

static void unknown_attr(struct stun_enc *e, void *arg)
{
	(void)arg;
	h_transport(e, TURN_PROTO_UDP);
	stun_enc_u32(e, 0x7ffe, 1);
}

/* stun-only: Binding answered; every other request gets no answer at
 * all (coturn ignores them), not even 401, 420 or 400. */
static void test_stun_only(void **state)
{
	(void)state;
	struct harness *h = h_new(stun_only);
	struct turn_src s = h_src("198.51.100.7", 30000, TURN_PROTO_UDP);
	assert_int_equal(h_request(h, &s, STUN_BINDING, NULL, NULL, NULL),
			 STUN_CLASS_SUCCESS);
	assert_int_equal(h_request(h, &s, TURN_ALLOCATE, h_udp_attrs, NULL, NULL), -1);
	assert_int_equal(h_request(h, &s, TURN_ALLOCATE, h_udp_attrs, NULL, &h_alice), -1);
	assert_int_equal(h_request(h, &s, TURN_ALLOCATE, unknown_attr, NULL, NULL), -1);
	assert_int_equal(h_request(h, &s, TURN_REFRESH, NULL, NULL, NULL), -1);
	assert_int_equal(h_request(h, &s, 0x0ff, NULL, NULL, NULL), -1);
	assert_int_equal(turn_srv_count(h->srv), 0);
	h_free(h);
}

static void ice_attrs(struct stun_enc *e, void *arg)
{
	(void)arg;
	stun_enc_u32(e, 0x0024, 1); /* PRIORITY */
}

/* no-stun: Binding requests get no answer; TURN works. */
static void test_no_stun(void **state)
{
	(void)state;
	struct harness *h = h_new(no_stun);
	struct turn_src s = h_src("198.51.100.7", 30000, TURN_PROTO_UDP);
	assert_int_equal(h_request(h, &s, STUN_BINDING, NULL, NULL, NULL), -1);
	assert_int_equal(h_request(h, &s, STUN_BINDING, ice_attrs, NULL, NULL), -1);
	h_allocate(h, &s, &h_alice);
	assert_int_equal(turn_srv_count(h->srv), 1);
	/* Not from a client holding an allocation either: its Allocate
	 * answer carried XOR-MAPPED-ADDRESS already (RFC 8656 7.3). */
	assert_int_equal(h_request(h, &s, STUN_BINDING, NULL, NULL, NULL), -1);
	h_free(h);
}

/* secure-stun: Binding is challenged like Allocate (401 with REALM and
 * NONCE), and the signed request gets a signed answer. */
static void test_secure_stun(void **state)
{
	(void)state;
	struct harness *h = h_new(secure_stun);
	struct turn_src s = h_src("198.51.100.7", 30000, TURN_PROTO_UDP);
	assert_int_equal(h_request(h, &s, STUN_BINDING, NULL, NULL, NULL),
			 STUN_CLASS_ERROR);
	assert_int_equal(h_err(h), 401);
	assert_non_null(stun_msg_attr(&h->resp, STUN_ATTR_REALM));
	const struct stun_attr *n = stun_msg_attr(&h->resp, STUN_ATTR_NONCE);
	assert_non_null(n);
	memcpy(h->nonce, n->val, n->len);
	h->noncelen = n->len;
	assert_null(stun_msg_attr(&h->resp, STUN_ATTR_XOR_MAPPED_ADDRESS));

	const struct h_cred wrong = {"alice", "not-her-password", "test"};
	assert_int_equal(h_request(h, &s, STUN_BINDING, NULL, NULL, &wrong),
			 STUN_CLASS_ERROR);
	assert_int_equal(h_err(h), 401);

	assert_int_equal(h_request(h, &s, STUN_BINDING, NULL, NULL, &h_alice),
			 STUN_CLASS_SUCCESS);
	struct sa mapped;
	assert_int_equal(stun_msg_get_xaddr(&h->resp, STUN_ATTR_XOR_MAPPED_ADDRESS,
					    &mapped), 0);
	assert_true(sa_eq(&mapped, &s.client));
	uint8_t key[16];
	assert_int_equal(stun_key_md5("alice", "test", "alicepw", key), 0);
	assert_int_equal(stun_msg_check_mi(&h->resp, key, sizeof(key)), 0);
	h_free(h);
}

/* Without secure-stun a Binding needs nothing (the default). */
static void test_binding_open_by_default(void **state)
{
	(void)state;
	struct harness *h = h_new(NULL);
	struct turn_src s = h_src("198.51.100.7", 30000, TURN_PROTO_UDP);
	assert_int_equal(h_request(h, &s, STUN_BINDING, NULL, NULL, NULL),
			 STUN_CLASS_SUCCESS);
	assert_null(stun_msg_attr(&h->resp, STUN_ATTR_MESSAGE_INTEGRITY));
	h_free(h);
}

/* A reload swaps the turn_cfg: the modes follow at the next request.
 * An allocation made before stun-only keeps relaying until it expires
 * (its Refresh is not answered any more). */
static void test_modes_follow_reload(void **state)
{
	(void)state;
	struct harness *h = h_new(NULL);
	struct turn_src a = h_src("198.51.100.7", 30000, TURN_PROTO_UDP);
	struct turn_src b = h_src("198.51.100.8", 30000, TURN_PROTO_UDP);
	h_allocate(h, &a, &h_alice);
	struct h_chan c = {0x4000, h_sa("8.8.8.8", 9)};
	assert_int_equal(h_request(h, &a, TURN_CHANNEL_BIND, h_chan_attrs, &c, &h_alice),
			 STUN_CLASS_SUCCESS);

	struct turn_cfg next = h->cfg;
	next.stun_only = true;
	turn_srv_set_cfg(h->srv, &next);
	assert_int_equal(h_request(h, &b, TURN_ALLOCATE, h_udp_attrs, NULL, NULL), -1);
	assert_int_equal(h_request(h, &a, TURN_REFRESH, NULL, NULL, &h_alice), -1);
	uint8_t cd[8] = {0x40, 0x00, 0x00, 0x04, 'p', 'i', 'n', 'g'};
	unsigned sent = h->npout;
	turn_client_input(h->srv, &a, cd, sizeof(cd));
	assert_int_equal(h->npout, sent + 1);
	assert_int_equal(h_request(h, &b, STUN_BINDING, NULL, NULL, NULL),
			 STUN_CLASS_SUCCESS);

	next.stun_only = false;
	next.no_stun = true;
	next.no_udp_relay = true;
	turn_srv_set_cfg(h->srv, &next);
	assert_int_equal(h_request(h, &b, STUN_BINDING, NULL, NULL, NULL), -1);
	h_get_nonce(h, &b);
	assert_int_equal(h_request(h, &b, TURN_ALLOCATE, h_udp_attrs, NULL, &h_alice),
			 STUN_CLASS_ERROR);
	assert_int_equal(h_err(h), 442);

	turn_srv_set_cfg(h->srv, &h->cfg);
	assert_int_equal(h_request(h, &b, STUN_BINDING, NULL, NULL, NULL),
			 STUN_CLASS_SUCCESS);
	h_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_family_default_ipv4),
		cmocka_unit_test(test_family_keep),
		cmocka_unit_test(test_family_keep_no_relay),
		cmocka_unit_test(test_family_ipv6),
		cmocka_unit_test(test_no_udp_relay),
		cmocka_unit_test(test_stun_only),
		cmocka_unit_test(test_no_stun),
		cmocka_unit_test(test_secure_stun),
		cmocka_unit_test(test_binding_open_by_default),
		cmocka_unit_test(test_modes_follow_reload),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
