/* Allocate against RFC 8656 7.2: dual allocations (ADDITIONAL-ADDRESS-
 * FAMILY and ADDRESS-ERROR-CODE), EVEN-PORT and RESERVATION-TOKEN across
 * address families, and retransmitted Allocates. */
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

/* ADDRESS-ERROR-CODE (RFC 8656 18.12) of the last response: family,
 * 13 reserved bits, class, number, reason. 0 when absent. */
static int addr_error(struct harness *h, uint8_t *fam)
{
	const struct stun_attr *a = stun_msg_attr(&h->resp, TURN_ATTR_ADDRESS_ERROR_CODE);
	if (!a)
		return 0;
	assert_true(a->len >= 4);
	assert_int_equal(a->val[1], 0);
	assert_int_equal(a->val[2] & 0xf8, 0);
	*fam = a->val[0];
	return (a->val[2] & 7) * 100 + a->val[3];
}

/* Its reason phrase is the RFC's (section 19). */
static void addr_error_reason(struct harness *h, const char *want)
{
	const struct stun_attr *a = stun_msg_attr(&h->resp, TURN_ATTR_ADDRESS_ERROR_CODE);
	assert_non_null(a);
	assert_int_equal(a->len - 4, strlen(want));
	assert_memory_equal(a->val + 4, want, strlen(want));
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

static void no_quota(struct turn_cfg *c)
{
	c->user_quota = 0;
}

static const struct areq dual = {.addfam = STUN_FAMILY_IPV6};

/* RFC 8656 7.2 step 9: no IPv6 relay address, so the IPv4 half is
 * allocated and ADDRESS-ERROR-CODE says 440 for IPv6. */
static void test_dual_without_v6_relay(void **state)
{
	(void)state;
	struct harness *h = h_new(NULL);
	assert_int_equal(allocate(h, 0, &dual), 0);
	struct sa r[2];
	assert_int_equal(relayed(h, r), 1);
	assert_int_equal(sa_af(&r[0]), AF_INET);
	uint8_t fam = 0;
	assert_int_equal(addr_error(h, &fam), 440);
	assert_int_equal(fam, STUN_FAMILY_IPV6);
	addr_error_reason(h, "Address Family not Supported");
	assert_int_equal(h->nrelays, 1);
	/* A plain IPv4 Allocate carries none. */
	assert_int_equal(allocate(h, 1, &(struct areq){0}), 0);
	assert_null(stun_msg_attr(&h->resp, TURN_ATTR_ADDRESS_ERROR_CODE));
	h_free(h);
}

/* The IPv6 half finds no free port: 508 Insufficient Capacity for IPv6,
 * not 440; with no port for either half the Allocate fails with 508. */
static void test_dual_v6_no_port(void **state)
{
	(void)state;
	struct harness *h = h_new(with_v6);
	for (int i = 0; i < 15; i++)
		assert_int_equal(allocate(h, i, &(struct areq){0}), 0);
	assert_int_equal(allocate(h, 15, &dual), 0);
	struct sa r[2];
	assert_int_equal(relayed(h, r), 1);
	assert_int_equal(sa_af(&r[0]), AF_INET);
	uint8_t fam = 0;
	assert_int_equal(addr_error(h, &fam), 508);
	assert_int_equal(fam, STUN_FAMILY_IPV6);
	addr_error_reason(h, "Insufficient Capacity");
	assert_int_equal(turn_shared_ports_free(h->sh, h->mono), 0);
	assert_int_equal(allocate(h, 16, &dual), 508);
	assert_int_equal(turn_srv_count(h->srv), 16);
	h_free(h);
}

/* The IPv4 half fails (its ports all taken by someone else) while the
 * IPv6 one succeeds: a partial success, ADDRESS-ERROR-CODE 508 for IPv4. */
static void test_dual_v4_half_fails(void **state)
{
	(void)state;
	struct harness *h = h_new(with_v6);
	h->fail_bind = 8;
	assert_int_equal(allocate(h, 0, &dual), 0);
	struct sa r[2];
	assert_int_equal(relayed(h, r), 1);
	assert_int_equal(sa_af(&r[0]), AF_INET6);
	uint8_t fam = 0;
	assert_int_equal(addr_error(h, &fam), 508);
	assert_int_equal(fam, STUN_FAMILY_IPV4);
	assert_int_equal(turn_shared_ports_free(h->sh, h->mono), 15);
	/* Both halves: two relayed addresses and no ADDRESS-ERROR-CODE. */
	assert_int_equal(allocate(h, 1, &dual), 0);
	assert_int_equal(relayed(h, r), 2);
	assert_int_equal(sa_af(&r[0]), AF_INET);
	assert_int_equal(sa_af(&r[1]), AF_INET6);
	assert_null(stun_msg_attr(&h->resp, TURN_ATTR_ADDRESS_ERROR_CODE));
	h_free(h);
}

/* RFC 8656 7.2 step 8: EVEN-PORT with R=1 and ADDITIONAL-ADDRESS-FAMILY
 * is a 400 (the reservation is of one address). R=0 is fine, and a
 * malformed EVEN-PORT is a 400, not ignored. */
static void test_even_port_with_dual(void **state)
{
	(void)state;
	struct harness *h = h_new(with_v6);
	struct areq q = {.addfam = STUN_FAMILY_IPV6, .even = 2};
	assert_int_equal(allocate(h, 0, &q), 400);
	assert_int_equal(turn_srv_count(h->srv), 0);
	assert_int_equal(turn_shared_ports_free(h->sh, h->mono), 16);
	q.even = 3;
	assert_int_equal(allocate(h, 1, &q), 400);
	assert_int_equal(allocate(h, 2, &(struct areq){.even = 3}), 400);
	q.even = 1;
	assert_int_equal(allocate(h, 3, &q), 0);
	struct sa r[2];
	assert_int_equal(relayed(h, r), 2);
	assert_int_equal(sa_port(&r[0]) % 2, 0);
	h_free(h);
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
	unsigned nfree = turn_shared_ports_free(h->sh, h->mono);
	assert_int_equal(allocate(h, 3, &(struct areq){.fam = STUN_FAMILY_IPV6,
						       .token = t4}), 400);
	assert_int_equal(allocate(h, 3, &(struct areq){.fam = STUN_FAMILY_IPV4,
						       .token = t4}), 400);
	assert_int_equal(turn_shared_ports_free(h->sh, h->mono), nfree);
	assert_int_equal(allocate(h, 3, &(struct areq){.token = t4}), 0);
	assert_int_equal(relayed(h, r), 1);
	assert_int_equal(sa_af(&r[0]), AF_INET);
	assert_int_equal(sa_port(&r[0]), sa_port(&a4) + 1);
	assert_int_equal(turn_shared_ports_free(h->sh, h->mono), nfree);
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

/* RFC 8656 7.2 checks in order: without an IPv4 relay a dual request is
 * 440 (step 7) even when it would be 400 at step 8 (EVEN-PORT R=1) or 9
 * (ADDITIONAL-ADDRESS-FAMILY IPv4); with one, those are 400. */
static void test_dual_order_440_before_400(void **state)
{
	(void)state;
	struct areq add4 = {.addfam = STUN_FAMILY_IPV4};
	struct areq even_dual = {.addfam = STUN_FAMILY_IPV6, .even = 2};
	struct harness *h = h_new(v6_only);
	assert_int_equal(allocate(h, 0, &add4), 440);
	assert_int_equal(allocate(h, 1, &even_dual), 440);
	h_free(h);
	h = h_new(with_v6);
	assert_int_equal(allocate(h, 0, &add4), 400);
	assert_int_equal(allocate(h, 1, &even_dual), 400);
	assert_int_equal(turn_srv_count(h->srv), 0);
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
	assert_int_equal(turn_shared_ports_free(h->sh, h->mono), 14);
	struct turn_cfg c = h->cfg;
	memset(&c.relay6, 0, sizeof(c.relay6));
	turn_srv_set_cfg(h->srv, &c);
	assert_int_equal(allocate(h, 1, &(struct areq){.token = t6}), 508);
	assert_int_equal(turn_shared_ports_free(h->sh, h->mono), 15);
	assert_int_equal(turn_srv_count(h->srv), 1);
	/* Another IPv4 address after a reload: the IPv4 reservation too. */
	uint8_t t4[8];
	struct sa a4;
	reserve(h, 2, STUN_FAMILY_IPV4, t4, &a4);
	sa_set_str(&c.relay4, "203.0.113.6", 0);
	assert_int_equal(allocate(h, 3, &(struct areq){.token = t4}), 508);
	assert_int_equal(turn_shared_ports_free(h->sh, h->mono), 14);
	turn_srv_set_cfg(h->srv, &h->cfg);
	h_free(h);
}


/* A reservation nobody redeems gives its port back after its 30 s (RFC
 * 8656 7.2) without waiting for another reservation to sweep it: the
 * gauge sees it, and a pool its reservations filled serves a plain
 * Allocate again (it used to stay 508 until the next EVEN-PORT R=1). */
static void test_token_expiry_frees_port(void **state)
{
	(void)state;
	struct harness *h = h_new(no_quota);
	uint8_t t[8];
	struct sa a;
	for (int i = 0; i < 8; i++)
		reserve(h, i, STUN_FAMILY_IPV4, t, &a);
	assert_int_equal(turn_shared_ports_free(h->sh, h->mono), 0);
	assert_int_equal(allocate(h, 8, &(struct areq){0}), 508);
	h->mono += 30000 - 1; /* TURN_RESV_MS: tokens live 30 s */
	assert_int_equal(turn_shared_ports_free(h->sh, h->mono), 0);
	h->mono += 1;
	assert_int_equal(allocate(h, 9, &(struct areq){0}), 0);
	assert_int_equal(turn_shared_ports_free(h->sh, h->mono), 7);
	/* An expired token is refused and frees nothing twice. */
	assert_int_equal(allocate(h, 10, &(struct areq){.token = t}), 508);
	assert_int_equal(turn_shared_ports_free(h->sh, h->mono), 7);
	assert_int_equal(turn_srv_count(h->srv), 9);
	h_free(h);
}


/* Refresh with LIFETIME and, when fam is set, REQUESTED-ADDRESS-FAMILY. */
struct rreq {
	uint32_t lifetime;
	uint8_t fam;
};

static void rreq_attrs(struct stun_enc *e, void *arg)
{
	const struct rreq *q = arg;
	stun_enc_u32(e, TURN_ATTR_LIFETIME, q->lifetime);
	if (q->fam) {
		uint8_t v[4] = {q->fam, 0, 0, 0};
		stun_enc_attr(e, TURN_ATTR_REQUESTED_ADDRESS_FAMILY, v, 4);
	}
}

static int refresh(struct harness *h, const struct turn_src *s, uint32_t lt,
		   uint8_t fam, uint32_t *granted)
{
	struct rreq q = {lt, fam};
	int cls = h_request(h, s, TURN_REFRESH, rreq_attrs, &q, &h_alice);
	if (cls != STUN_CLASS_SUCCESS)
		return cls < 0 ? -1 : h_err(h);
	assert_int_equal(stun_msg_get_u32(&h->resp, TURN_ATTR_LIFETIME, granted), 0);
	return 0;
}

static int permit(struct harness *h, const struct turn_src *s, const char *ip)
{
	struct sa peer = h_sa(ip, 9);
	int cls = h_request(h, s, TURN_CREATE_PERMISSION, h_peer_attr, &peer, &h_alice);
	return cls == STUN_CLASS_SUCCESS ? 0 : h_err(h);
}

/* The harness's relays of a dual allocation: [0] IPv4, [1] IPv6. */
static void dual_allocated(struct harness *h, const struct turn_src *s)
{
	h_get_nonce(h, s);
	assert_int_equal(h_request(h, s, TURN_ALLOCATE, areq_attrs,
				   (void *)(uintptr_t)&dual, &h_alice),
			 STUN_CLASS_SUCCESS);
	assert_int_equal(h->nrelays, 2);
	assert_int_equal(sa_af(&h->relays[0].addr), AF_INET);
	assert_int_equal(sa_af(&h->relays[1].addr), AF_INET6);
}

/* RFC 8656 7.1, 7.3: Refresh with REQUESTED-ADDRESS-FAMILY and LIFETIME 0
 * deletes that family of a dual allocation alone: its relay closes, its
 * permissions and channels go, the other family keeps relaying. Deleting
 * the last family deletes the allocation. */
static void test_refresh_deletes_one_family(void **state)
{
	(void)state;
	struct harness *h = h_new(with_v6);
	struct turn_src s = cli(0);
	dual_allocated(h, &s);
	assert_int_equal(permit(h, &s, "2606:4700::1111"), 0);
	assert_int_equal(permit(h, &s, "8.8.8.8"), 0);
	struct h_chan ch = {0x4001, h_sa("2606:4700::1111", 5000)};
	assert_int_equal(h_request(h, &s, TURN_CHANNEL_BIND, h_chan_attrs, &ch, &h_alice),
			 STUN_CLASS_SUCCESS);
	uint32_t lt = 1;
	assert_int_equal(refresh(h, &s, 0, STUN_FAMILY_IPV6, &lt), 0);
	assert_int_equal(lt, 0);
	assert_false(h->relays[1].open);
	assert_true(h->relays[0].open);
	/* The IPv6 family is gone: 443 for it, IPv4 goes on. */
	assert_int_equal(refresh(h, &s, 600, STUN_FAMILY_IPV6, &lt), 443);
	assert_int_equal(permit(h, &s, "2606:4700::1111"), 443);
	assert_int_equal(h_request(h, &s, TURN_CHANNEL_BIND, h_chan_attrs, &ch, &h_alice),
			 STUN_CLASS_ERROR);
	assert_int_equal(h_err(h), 443);
	assert_int_equal(permit(h, &s, "8.8.4.4"), 0);
	assert_int_equal(refresh(h, &s, 600, 0, &lt), 0);
	assert_int_equal(lt, 600);
	/* The last family: the whole allocation ends. */
	assert_int_equal(refresh(h, &s, 0, STUN_FAMILY_IPV4, &lt), 0);
	assert_false(h->relays[0].open);
	assert_int_equal(refresh(h, &s, 600, 0, &lt), 437);
	h_free(h);
}

static void raf_short(struct stun_enc *e, void *arg)
{
	(void)arg;
	stun_enc_attr(e, TURN_ATTR_REQUESTED_ADDRESS_FAMILY, "\x01", 1);
}

/* A REQUESTED-ADDRESS-FAMILY that is not 4 bytes is a malformed Refresh
 * (400), not one without the attribute (which would cover every family). */
static void test_refresh_bad_family(void **state)
{
	(void)state;
	struct harness *h = h_new(with_v6);
	struct turn_src s = cli(0);
	dual_allocated(h, &s);
	assert_int_equal(h_request(h, &s, TURN_REFRESH, raf_short, NULL, &h_alice),
			 STUN_CLASS_ERROR);
	assert_int_equal(h_err(h), 400);
	assert_true(h->relays[0].open && h->relays[1].open);
	h_free(h);
}

/* RFC 8656 7.1: a family refreshed alone keeps its own lifetime; the
 * other expires on its own timer, and the allocation with the last. */
static void test_refresh_one_family_lifetime(void **state)
{
	(void)state;
	struct harness *h = h_new(with_v6);
	struct turn_src s = cli(0);
	dual_allocated(h, &s);
	uint32_t lt = 0;
	assert_int_equal(refresh(h, &s, 3000, STUN_FAMILY_IPV4, &lt), 0);
	assert_int_equal(lt, 3000);
	h->mono += 601 * 1000;
	turn_srv_tick(h->srv);
	assert_false(h->relays[1].open); /* IPv6: the Allocate's 600 s */
	assert_true(h->relays[0].open);
	h_get_nonce(h, &s); /* the clock moved past the nonce's life */
	assert_int_equal(permit(h, &s, "2606:4700::1111"), 443);
	assert_int_equal(permit(h, &s, "8.8.8.8"), 0);
	h->mono += 2400 * 1000;
	turn_srv_tick(h->srv);
	assert_false(h->relays[0].open);
	h_get_nonce(h, &s);
	assert_int_equal(refresh(h, &s, 600, 0, &lt), 437);

	/* Without REQUESTED-ADDRESS-FAMILY a Refresh covers both again. */
	struct turn_src s2 = cli(1);
	h_get_nonce(h, &s2);
	assert_int_equal(h_request(h, &s2, TURN_ALLOCATE, areq_attrs,
				   (void *)(uintptr_t)&dual, &h_alice),
			 STUN_CLASS_SUCCESS);
	unsigned r4 = h->nrelays - 2, r6 = h->nrelays - 1;
	assert_int_equal(refresh(h, &s2, 3000, STUN_FAMILY_IPV6, &lt), 0);
	assert_int_equal(refresh(h, &s2, 1200, 0, &lt), 0);
	h->mono += 1201 * 1000;
	turn_srv_tick(h->srv);
	assert_false(h->relays[r4].open);
	assert_false(h->relays[r6].open);
	h_free(h);
}

/* A signed Allocate with a fixed transaction id, so that sending it
 * again is a UDP retransmission. */
static size_t alloc_msg(struct harness *h, const struct areq *q,
			uint8_t buf[512])
{
	uint8_t tid[STUN_TID_LEN], key[16];
	memset(tid, 0x5c, sizeof(tid));
	struct stun_enc e;
	stun_enc_init(&e, buf, 512, TURN_ALLOCATE, STUN_CLASS_REQUEST, tid);
	areq_attrs(&e, (void *)(uintptr_t)q);
	stun_enc_str(&e, STUN_ATTR_USERNAME, h_alice.user);
	stun_enc_str(&e, STUN_ATTR_REALM, h_alice.realm);
	stun_enc_attr(&e, STUN_ATTR_NONCE, h->nonce, h->noncelen);
	stun_key_md5(h_alice.user, h_alice.realm, h_alice.pass, key);
	stun_enc_mi(&e, key, sizeof(key));
	size_t len;
	assert_int_equal(stun_enc_finish(&e, &len), 0);
	return len;
}

/* Send the same signed request twice (a UDP retransmission). */
static void send_twice(struct harness *h, const struct turn_src *s,
		       const struct areq *q)
{
	uint8_t buf[512];
	size_t len = alloc_msg(h, q, buf);
	turn_client_input(h->srv, s, buf, len);
	assert_int_equal(h_resp(h), 0);
	assert_int_equal(h->resp.cls, STUN_CLASS_SUCCESS);
	uint8_t first[2048];
	size_t flen = h->outlen;
	memcpy(first, h->out, flen);
	turn_client_input(h->srv, s, buf, len);
	assert_int_equal(h_resp(h), 0);
	assert_int_equal(h->resp.cls, STUN_CLASS_SUCCESS);
	/* The same response: same attributes, only LIFETIME may differ, and
	 * the clock has not moved. */
	assert_int_equal(h->outlen, flen);
	assert_memory_equal(h->out, first, flen);
}

/* RFC 8656 5: a retransmitted Allocate gets essentially the same
 * response, ADDRESS-ERROR-CODE and RESERVATION-TOKEN included. */
static void test_retransmit_same_response(void **state)
{
	(void)state;
	struct harness *h = h_new(no_quota);
	struct turn_src s = cli(0);
	h_get_nonce(h, &s);
	send_twice(h, &s, &dual);
	uint8_t fam = 0;
	assert_int_equal(addr_error(h, &fam), 440);
	struct turn_src s2 = cli(1);
	h_get_nonce(h, &s2);
	send_twice(h, &s2, &(struct areq){.even = 2});
	const struct stun_attr *t = stun_msg_attr(&h->resp, TURN_ATTR_RESERVATION_TOKEN);
	assert_non_null(t);
	uint8_t token[8];
	memcpy(token, t->val, 8);
	assert_int_equal(allocate(h, 2, &(struct areq){.token = token}), 0);
	h_free(h);
}

/* A retransmitted Allocate that arrives after one family of the dual
 * allocation was deleted (RFC 8656 7.1) is still answered, with the
 * relayed address that is left, not dropped for want of an address to
 * encode. */
static void test_retransmit_after_family_deleted(void **state)
{
	(void)state;
	struct harness *h = h_new(with_v6);
	struct turn_src s = cli(0);
	h_get_nonce(h, &s);
	uint8_t buf[512];
	size_t len = alloc_msg(h, &dual, buf);
	turn_client_input(h->srv, &s, buf, len);
	assert_int_equal(h_resp(h), 0);
	assert_int_equal(h->resp.cls, STUN_CLASS_SUCCESS);
	struct sa rel[2];
	assert_int_equal(relayed(h, rel), 2);
	uint32_t lt;
	assert_int_equal(refresh(h, &s, 0, STUN_FAMILY_IPV6, &lt), 0);
	unsigned before = h->nout;
	turn_client_input(h->srv, &s, buf, len);
	assert_int_equal(h->nout, before + 1);
	assert_int_equal(h_resp(h), 0);
	assert_int_equal(h->resp.method, TURN_ALLOCATE);
	assert_int_equal(h->resp.cls, STUN_CLASS_SUCCESS);
	struct sa left[2];
	assert_int_equal(relayed(h, left), 1);
	assert_true(sa_eq(&left[0], &rel[0]));
	h_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dual_without_v6_relay),
		cmocka_unit_test(test_dual_v6_no_port),
		cmocka_unit_test(test_dual_v4_half_fails),
		cmocka_unit_test(test_even_port_with_dual),
		cmocka_unit_test(test_token_keeps_family),
		cmocka_unit_test(test_token_v6_only_server),
		cmocka_unit_test(test_dual_order_440_before_400),
		cmocka_unit_test(test_token_address_gone),
		cmocka_unit_test(test_token_expiry_frees_port),
		cmocka_unit_test(test_retransmit_same_response),
		cmocka_unit_test(test_refresh_deletes_one_family),
		cmocka_unit_test(test_refresh_one_family_lifetime),
		cmocka_unit_test(test_refresh_bad_family),
		cmocka_unit_test(test_retransmit_after_family_deleted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
