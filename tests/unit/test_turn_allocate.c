/* Allocate against RFC 8656 7.2: RESERVATION-TOKEN across address
 * families. */
#include "turn_harness.h"

/* What an Allocate asks for; zero fields are left out. */
struct areq {
	uint8_t fam, addfam; /* REQUESTED- / ADDITIONAL-ADDRESS-FAMILY */
	int even;            /* 0 none, 1 EVEN-PORT R=0, 2 R=1, 3 malformed */
	const uint8_t *token;
};

static void areq_attrs(struct stun_enc *e, void *arg)
{
	const struct areq *q = arg;
	h_transport(e, TURN_PROTO_UDP);
	uint8_t v[4] = {0};
	if (q->fam) {
		v[0] = q->fam;
		stun_enc_attr(e, TURN_ATTR_REQUESTED_ADDRESS_FAMILY, v, 4);
	}
	if (q->addfam) {
		v[0] = q->addfam;
		stun_enc_attr(e, TURN_ATTR_ADDITIONAL_ADDRESS_FAMILY, v, 4);
	}
	if (q->even) {
		uint8_t r[2] = {q->even == 2 ? 0x80 : 0, 0};
		stun_enc_attr(e, TURN_ATTR_EVEN_PORT, r, q->even == 3 ? 2 : 1);
	}
	if (q->token)
		stun_enc_attr(e, TURN_ATTR_RESERVATION_TOKEN, q->token, 8);
}

/* One client address per Allocate, so the 401 limiter stays quiet. */
static struct turn_src cli(int i)
{
	char ip[32];
	snprintf(ip, sizeof(ip), "198.51.100.%d", 10 + i);
	return h_src(ip, 30000, TURN_PROTO_UDP);
}

static int allocate(struct harness *h, int i, const struct areq *q)
{
	struct turn_src s = cli(i);
	h_get_nonce(h, &s);
	int cls = h_request(h, &s, TURN_ALLOCATE, areq_attrs, (void *)(uintptr_t)q, &h_alice);
	return cls == STUN_CLASS_SUCCESS ? 0 : h_err(h);
}

/* The relayed addresses of the last success response. */
static unsigned relayed(struct harness *h, struct sa out[2])
{
	unsigned n = 0;
	for (unsigned i = 0; i < h->resp.nattrs && n < 2; i++)
		if (h->resp.attrs[i].type == TURN_ATTR_XOR_RELAYED_ADDRESS)
			assert_int_equal(stun_attr_get_xaddr(&h->resp, &h->resp.attrs[i],
							     &out[n++]), 0);
	return n;
}

static void with_v6(struct turn_cfg *c)
{
	sa_set_str(&c->relay6, "2001:db8::5", 0);
	c->user_quota = 0;
}

static void v6_only(struct turn_cfg *c)
{
	with_v6(c);
	memset(&c->relay4, 0, sizeof(c->relay4));
}

/* Allocate and return the RESERVATION-TOKEN and the relayed address. */
static void reserve(struct harness *h, int i, uint8_t fam, uint8_t token[8],
		    struct sa *addr)
{
	assert_int_equal(allocate(h, i, &(struct areq){.fam = fam, .even = 2}), 0);
	struct sa r[2];
	assert_int_equal(relayed(h, r), 1);
	*addr = r[0];
	const struct stun_attr *t = stun_msg_attr(&h->resp, TURN_ATTR_RESERVATION_TOKEN);
	assert_non_null(t);
	memcpy(token, t->val, 8);
}

/* A token names the reserved relayed transport address (RFC 8656 7.2),
 * family included: an IPv6 reservation gives an IPv6 relay, never the
 * same port on the IPv4 address. */
static void test_token_keeps_family(void **state)
{
	(void)state;
	struct harness *h = h_new(with_v6);
	uint8_t t6[8], t4[8];
	struct sa a6, a4, r[2];
	reserve(h, 0, STUN_FAMILY_IPV6, t6, &a6);
	assert_int_equal(sa_af(&a6), AF_INET6);
	assert_int_equal(allocate(h, 1, &(struct areq){.token = t6}), 0);
	assert_int_equal(relayed(h, r), 1);
	assert_int_equal(sa_af(&r[0]), AF_INET6);
	assert_true(sa_eq_addr(&r[0], &a6));
	assert_int_equal(sa_port(&r[0]), sa_port(&a6) + 1);
	/* With REQUESTED-ADDRESS-FAMILY a token is a 400 (step 5), and the
	 * reservation survives it. */
	reserve(h, 2, STUN_FAMILY_IPV4, t4, &a4);
	unsigned nfree = turn_shared_ports_free(h->sh);
	assert_int_equal(allocate(h, 3, &(struct areq){.fam = STUN_FAMILY_IPV6,
						       .token = t4}), 400);
	assert_int_equal(allocate(h, 3, &(struct areq){.fam = STUN_FAMILY_IPV4,
						       .token = t4}), 400);
	assert_int_equal(turn_shared_ports_free(h->sh), nfree);
	assert_int_equal(allocate(h, 3, &(struct areq){.token = t4}), 0);
	assert_int_equal(relayed(h, r), 1);
	assert_int_equal(sa_af(&r[0]), AF_INET);
	assert_int_equal(sa_port(&r[0]), sa_port(&a4) + 1);
	assert_int_equal(turn_shared_ports_free(h->sh), nfree);
	h_free(h);
}

/* An IPv6-only server: a token from an IPv6 reservation is redeemed,
 * although an Allocate without REQUESTED-ADDRESS-FAMILY would get 440. */
static void test_token_v6_only_server(void **state)
{
	(void)state;
	struct harness *h = h_new(v6_only);
	assert_int_equal(allocate(h, 0, &(struct areq){0}), 440);
	uint8_t t6[8];
	struct sa a6, r[2];
	reserve(h, 1, STUN_FAMILY_IPV6, t6, &a6);
	assert_int_equal(allocate(h, 2, &(struct areq){.token = t6}), 0);
	assert_int_equal(relayed(h, r), 1);
	assert_true(sa_eq_addr(&r[0], &a6));
	assert_int_equal(sa_port(&r[0]), sa_port(&a6) + 1);
	h_free(h);
}

/* The reserved address is gone after a reload (no IPv6 relay any more):
 * 508, and the reserved port goes back to the pool. */
static void test_token_address_gone(void **state)
{
	(void)state;
	struct harness *h = h_new(with_v6);
	uint8_t t6[8];
	struct sa a6;
	reserve(h, 0, STUN_FAMILY_IPV6, t6, &a6);
	assert_int_equal(turn_shared_ports_free(h->sh), 14);
	struct turn_cfg c = h->cfg;
	memset(&c.relay6, 0, sizeof(c.relay6));
	turn_srv_set_cfg(h->srv, &c);
	assert_int_equal(allocate(h, 1, &(struct areq){.token = t6}), 508);
	assert_int_equal(turn_shared_ports_free(h->sh), 15);
	assert_int_equal(turn_srv_count(h->srv), 1);
	/* Another IPv4 address after a reload: the IPv4 reservation too. */
	uint8_t t4[8];
	struct sa a4;
	reserve(h, 2, STUN_FAMILY_IPV4, t4, &a4);
	sa_set_str(&c.relay4, "203.0.113.6", 0);
	assert_int_equal(allocate(h, 3, &(struct areq){.token = t4}), 508);
	assert_int_equal(turn_shared_ports_free(h->sh), 14);
	turn_srv_set_cfg(h->srv, &h->cfg);
	h_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_keeps_family),
		cmocka_unit_test(test_token_v6_only_server),
		cmocka_unit_test(test_token_address_gone),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
