/* Unit tests of permissions, channels and the data path (RFC 8656 9-12),
 * and of the peer policy as the methods apply it. */
#include "turn_harness.h"

struct fixture {
	struct harness *h;
	struct turn_src s;
	struct sa relayed;
};

static void fx_setup(struct fixture *f)
{
	f->h = h_new(NULL);
	f->s = h_src("198.51.100.7", 40000, TURN_PROTO_UDP);
	f->relayed = h_allocate(f->h, &f->s, &h_alice);
}

static struct h_relay *fx_relay(struct fixture *f)
{
	return &f->h->relays[0];
}

static int fx_perm(struct fixture *f, const char *ip)
{
	struct sa peer = h_sa(ip, 9);
	int cls = h_request(f->h, &f->s, TURN_CREATE_PERMISSION, h_peer_attr, &peer,
			    &h_alice);
	return cls == STUN_CLASS_SUCCESS ? 0 : h_err(f->h);
}

static int fx_bind(struct fixture *f, uint16_t ch, const char *ip, uint16_t port)
{
	struct h_chan c = {ch, h_sa(ip, port)};
	int cls = h_request(f->h, &f->s, TURN_CHANNEL_BIND, h_chan_attrs, &c, &h_alice);
	return cls == STUN_CLASS_SUCCESS ? 0 : h_err(f->h);
}

static void fx_chdata(struct fixture *f, uint16_t ch, const char *payload)
{
	uint8_t buf[256];
	size_t n = strlen(payload);
	stun_chdata_hdr(buf, ch, (uint16_t)n);
	memcpy(buf + 4, payload, n);
	turn_client_input(f->h->srv, &f->s, buf, 4 + n);
}

static void fx_peer(struct fixture *f, const char *ip, uint16_t port,
		    const char *payload)
{
	struct sa peer = h_sa(ip, port);
	turn_peer_input(f->h->srv, fx_relay(f)->owner, &peer,
			(const uint8_t *)payload, strlen(payload));
}

struct send_args {
	struct sa peer;
	const char *data;
};

static void send_attrs(struct stun_enc *e, void *arg)
{
	struct send_args *a = arg;
	stun_enc_xaddr(e, TURN_ATTR_XOR_PEER_ADDRESS, &a->peer);
	stun_enc_attr(e, TURN_ATTR_DATA, a->data, strlen(a->data));
}

static void fx_send_ind(struct fixture *f, const char *ip, const char *data)
{
	uint8_t buf[512], tid[STUN_TID_LEN] = {1};
	struct send_args a = {h_sa(ip, 9), data};
	struct stun_enc e;
	stun_enc_init(&e, buf, sizeof(buf), TURN_SEND, STUN_CLASS_INDICATION, tid);
	send_attrs(&e, &a);
	size_t len;
	assert_int_equal(stun_enc_finish(&e, &len), 0);
	turn_client_input(f->h->srv, &f->s, buf, len);
}

static void test_permission_and_send_indication(void **state)
{
	(void)state;
	struct fixture f;
	fx_setup(&f);
	fx_send_ind(&f, "8.8.8.8", "early");
	assert_int_equal(f.h->npout, 0); /* no permission yet */
	assert_int_equal(fx_perm(&f, "8.8.8.8"), 0);
	fx_send_ind(&f, "8.8.8.8", "hello");
	assert_int_equal(f.h->npout, 1);
	assert_int_equal(f.h->poutlen, 5);
	assert_memory_equal(f.h->pout, "hello", 5);
	/* A peer with permission reaches the client as a Data indication. */
	fx_peer(&f, "8.8.8.8", 5555, "pong");
	assert_int_equal(h_resp(f.h), 0);
	assert_int_equal(f.h->resp.cls, STUN_CLASS_INDICATION);
	assert_int_equal(f.h->resp.method, TURN_DATA);
	const struct stun_attr *d = stun_msg_attr(&f.h->resp, TURN_ATTR_DATA);
	assert_non_null(d);
	assert_memory_equal(d->val, "pong", 4);
	/* A peer without one is dropped. */
	unsigned before = f.h->nout;
	fx_peer(&f, "1.1.1.1", 5555, "spoof");
	assert_int_equal(f.h->nout, before);
	/* Permissions expire after 300 s (RFC 8656 9). */
	f.h->mono += 301 * 1000;
	fx_send_ind(&f, "8.8.8.8", "late");
	assert_int_equal(f.h->npout, 1);
	h_free(f.h);
}

/* RFC 8489 6.3.2: an indication with an unknown comprehension-required
 * attribute is discarded; an unknown optional one changes nothing. */
static void test_send_unknown_attribute_dropped(void **state)
{
	(void)state;
	struct fixture f;
	fx_setup(&f);
	assert_int_equal(fx_perm(&f, "8.8.8.8"), 0);
	uint16_t types[] = {0x7f01, 0xc0f1};
	for (unsigned i = 0; i < 2; i++) {
		uint8_t buf[512], tid[STUN_TID_LEN] = {2};
		struct send_args a = {h_sa("8.8.8.8", 9), "data"};
		struct stun_enc e;
		stun_enc_init(&e, buf, sizeof(buf), TURN_SEND,
			      STUN_CLASS_INDICATION, tid);
		send_attrs(&e, &a);
		stun_enc_u32(&e, types[i], 1);
		size_t len;
		assert_int_equal(stun_enc_finish(&e, &len), 0);
		turn_client_input(f.h->srv, &f.s, buf, len);
		assert_int_equal(f.h->npout, i); /* only the optional one */
	}
	h_free(f.h);
}

/* A Send indication with DONT-FRAGMENT. */
static void fx_send_df(struct fixture *f, const char *ip)
{
	uint8_t buf[512], tid[STUN_TID_LEN] = {3};
	struct send_args a = {h_sa(ip, 9), "df"};
	struct stun_enc e;
	stun_enc_init(&e, buf, sizeof(buf), TURN_SEND, STUN_CLASS_INDICATION, tid);
	send_attrs(&e, &a);
	stun_enc_attr(&e, TURN_ATTR_DONT_FRAGMENT, NULL, 0);
	size_t len;
	assert_int_equal(stun_enc_finish(&e, &len), 0);
	turn_client_input(f->h->srv, &f->s, buf, len);
}

static void df_alloc_attrs(struct stun_enc *e, void *arg)
{
	(void)arg;
	h_transport(e, TURN_PROTO_UDP);
	stun_enc_attr(e, TURN_ATTR_DONT_FRAGMENT, NULL, 0);
}

/* Regression (RFC 8656 10.2): a Send indication asking for DF was relayed
 * through a relay socket that does not set DF (an Allocate without
 * DONT-FRAGMENT), so it could leave fragmented, and a client probing the
 * path MTU would learn a wrong one. DF is a relay socket's setting: the
 * first such Send turns it on (where coturn sets it per datagram, and
 * the RFC discards the Send only for a server that cannot set DF); on a
 * DONT-FRAGMENT allocation it is on from the start. */
static void test_send_dont_fragment(void **state)
{
	(void)state;
	struct fixture f;
	fx_setup(&f);
	assert_false(fx_relay(&f)->df);
	/* No permission: nothing is sent, and DF stays off. */
	fx_send_df(&f, "8.8.8.8");
	assert_int_equal(f.h->npout, 0);
	assert_false(fx_relay(&f)->df);
	assert_int_equal(fx_perm(&f, "8.8.8.8"), 0);
	fx_send_ind(&f, "8.8.8.8", "plain");
	assert_int_equal(f.h->npout, 1);
	assert_false(fx_relay(&f)->df);
	/* The first Send with DONT-FRAGMENT turns DF on for the relay before
	 * its datagram leaves (10.2), and it stays on. */
	fx_send_df(&f, "8.8.8.8");
	assert_int_equal(f.h->npout, 2);
	assert_memory_equal(f.h->pout, "df", 2);
	assert_true(fx_relay(&f)->df);
	fx_send_ind(&f, "8.8.8.8", "plain");
	assert_int_equal(f.h->npout, 3);
	h_free(f.h);

	f.h = h_new(NULL);
	h_get_nonce(f.h, &f.s);
	assert_int_equal(h_request(f.h, &f.s, TURN_ALLOCATE, df_alloc_attrs, NULL,
				   &h_alice), STUN_CLASS_SUCCESS);
	assert_true(fx_relay(&f)->df);
	assert_int_equal(fx_perm(&f, "8.8.8.8"), 0);
	fx_send_df(&f, "8.8.8.8");
	assert_int_equal(f.h->npout, 1);
	assert_memory_equal(f.h->pout, "df", 2);
	h_free(f.h);
}

static void test_denied_peers_403(void **state)
{
	(void)state;
	struct fixture f;
	fx_setup(&f);
	const char *denied[] = {"10.0.0.1", "127.0.0.1", "169.254.169.254",
				"192.168.1.1", "224.0.0.1", "0.0.0.0",
				"203.0.113.5" /* our relay range */};
	for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
		int code = fx_perm(&f, denied[i]);
		/* IPv4 peers only for this v4 allocation; 403 from policy. */
		assert_int_equal(code, 403);
		assert_int_equal(fx_bind(&f, 0x4000, denied[i], 9), 403);
	}
	/* Regression: on an IPv4 allocation, IPv4-in-IPv6 spellings of
	 * internal addresses got 443 (family) instead of 403 (policy). */
	const char *mapped[] = {"::ffff:10.0.0.1", "::ffff:127.0.0.1",
				"2002:a00:1::1", "64:ff9b::7f00:1"};
	for (size_t i = 0; i < sizeof(mapped) / sizeof(mapped[0]); i++) {
		assert_int_equal(fx_perm(&f, mapped[i]), 403);
		assert_int_equal(fx_bind(&f, 0x4000, mapped[i], 9), 403);
	}
	/* Send indications to a denied peer go nowhere. */
	fx_send_ind(&f, "10.0.0.1", "x");
	assert_int_equal(f.h->npout, 0);
	h_free(f.h);
}

static void two_peers(struct stun_enc *e, void *arg)
{
	struct sa *p = arg;
	stun_enc_xaddr(e, TURN_ATTR_XOR_PEER_ADDRESS, &p[0]);
	stun_enc_xaddr(e, TURN_ATTR_XOR_PEER_ADDRESS, &p[1]);
}

static void test_permission_all_or_nothing(void **state)
{
	(void)state;
	struct fixture f;
	fx_setup(&f);
	struct sa peers[2] = {h_sa("8.8.4.4", 1), h_sa("10.1.2.3", 1)};
	assert_int_equal(h_request(f.h, &f.s, TURN_CREATE_PERMISSION, two_peers,
				   peers, &h_alice), STUN_CLASS_ERROR);
	assert_int_equal(h_err(f.h), 403);
	fx_send_ind(&f, "8.8.4.4", "x");
	assert_int_equal(f.h->npout, 0);
	/* Several allowed peers in one request. */
	peers[1] = h_sa("9.9.9.9", 1);
	assert_int_equal(h_request(f.h, &f.s, TURN_CREATE_PERMISSION, two_peers,
				   peers, &h_alice), STUN_CLASS_SUCCESS);
	fx_send_ind(&f, "9.9.9.9", "y");
	assert_int_equal(f.h->npout, 1);
	h_free(f.h);
}

static void test_channel_bind_rules(void **state)
{
	(void)state;
	struct fixture f;
	fx_setup(&f);
	assert_int_equal(fx_bind(&f, 0x3fff, "8.8.8.8", 1000), 400);
	assert_int_equal(fx_bind(&f, 0x5000, "8.8.8.8", 1000), 400);
	assert_int_equal(fx_bind(&f, 0x4000, "8.8.8.8", 1000), 0);
	/* Same channel to another peer, same peer to another channel: 400. */
	assert_int_equal(fx_bind(&f, 0x4000, "8.8.8.8", 1001), 400);
	assert_int_equal(fx_bind(&f, 0x4001, "8.8.8.8", 1000), 400);
	/* Rebinding the same pair refreshes it. */
	assert_int_equal(fx_bind(&f, 0x4000, "8.8.8.8", 1000), 0);
	assert_int_equal(fx_bind(&f, 0x4001, "8.8.8.8", 1001), 0);
	/* IPv6 peer on an IPv4-only allocation: 443. */
	assert_int_equal(fx_bind(&f, 0x4002, "2606:4700::1111", 1), 443);
	h_free(f.h);
}

static void legacy_channels(struct turn_cfg *c)
{
	c->max_channel = STUN_CHANNEL_MAX_5766;
}

/* RFC 8656 is the default; --legacy-channel-range admits RFC 5766's
 * 0x5000-0x7FFF, both for ChannelBind and for ChannelData. */
static void test_legacy_channel_range(void **state)
{
	(void)state;
	struct fixture f;
	fx_setup(&f);
	assert_int_equal(fx_bind(&f, 0x7f2e, "8.8.8.8", 1000), 400);
	h_free(f.h);
	f.h = h_new(legacy_channels);
	f.s = h_src("198.51.100.7", 40000, TURN_PROTO_UDP);
	f.relayed = h_allocate(f.h, &f.s, &h_alice);
	assert_int_equal(fx_bind(&f, 0x7f2e, "8.8.8.8", 1000), 0);
	assert_int_equal(fx_bind(&f, 0x8000, "8.8.8.8", 1001), 400);
	fx_chdata(&f, 0x7f2e, "old");
	assert_int_equal(f.h->npout, 1);
	h_free(f.h);
}

static void test_channel_data_both_ways(void **state)
{
	(void)state;
	struct fixture f;
	fx_setup(&f);
	fx_chdata(&f, 0x4000, "nochan");
	assert_int_equal(f.h->npout, 0);
	assert_int_equal(fx_bind(&f, 0x4000, "8.8.8.8", 1000), 0);
	fx_chdata(&f, 0x4000, "media");
	assert_int_equal(f.h->npout, 1);
	assert_memory_equal(f.h->pout, "media", 5);
	struct sa want = h_sa("8.8.8.8", 1000);
	assert_true(sa_eq(&f.h->pout_peer, &want));
	/* The peer's answer arrives as ChannelData (UDP: no padding). */
	fx_peer(&f, "8.8.8.8", 1000, "reply");
	assert_int_equal(f.h->outlen, 4 + 5);
	assert_int_equal(f.h->out[0], 0x40);
	assert_int_equal(f.h->out[1], 0x00);
	assert_int_equal(f.h->out[3], 5);
	assert_memory_equal(f.h->out + 4, "reply", 5);
	/* Same IP, other port: permission yes, channel no -> Data ind. */
	fx_peer(&f, "8.8.8.8", 1001, "other");
	assert_int_equal(h_resp(f.h), 0);
	assert_int_equal(f.h->resp.method, TURN_DATA);
	/* After the permission lapses, ChannelData stops (re-checked). */
	f.h->mono += 301 * 1000;
	fx_chdata(&f, 0x4000, "late");
	assert_int_equal(f.h->npout, 1);
	h_free(f.h);
}

/* Regression: a reload whose policy denies a peer stopped Send to it but
 * not ChannelData on a channel bound before (until the channel expired,
 * up to 600 s). The new policy now ends such permissions and channels,
 * both ways, and leaves the others alone. */
static void test_reload_policy_ends_denied(void **state)
{
	(void)state;
	struct fixture f;
	fx_setup(&f);
	assert_int_equal(fx_bind(&f, 0x4000, "8.8.8.8", 1000), 0);
	assert_int_equal(fx_bind(&f, 0x4001, "9.9.9.9", 1000), 0);
	fx_chdata(&f, 0x4000, "one");
	assert_int_equal(f.h->npout, 1);
	assert_int_equal(peer_policy_add(f.h->policy, "8.8.8.0/24", false), 0);
	turn_srv_set_cfg(f.h->srv, &f.h->cfg);
	fx_chdata(&f, 0x4000, "two");
	assert_int_equal(f.h->npout, 1);
	f.h->outlen = 0;
	fx_peer(&f, "8.8.8.8", 1000, "back");
	assert_int_equal(f.h->outlen, 0);
	/* Rebinding the denied peer is refused; the other channel works. */
	assert_int_equal(fx_bind(&f, 0x4002, "8.8.8.8", 1000), 403);
	fx_chdata(&f, 0x4001, "three");
	assert_int_equal(f.h->npout, 2);
	h_free(f.h);
}

static void test_tcp_channel_data_padded(void **state)
{
	(void)state;
	struct harness *h = h_new(NULL);
	struct turn_src s = h_src("198.51.100.7", 40000, TURN_PROTO_TCP);
	h_allocate(h, &s, &h_alice);
	struct h_chan c = {0x4001, h_sa("8.8.8.8", 1000)};
	assert_int_equal(h_request(h, &s, TURN_CHANNEL_BIND, h_chan_attrs, &c, &h_alice),
			 STUN_CLASS_SUCCESS);
	struct sa peer = h_sa("8.8.8.8", 1000);
	turn_peer_input(h->srv, h->relays[0].owner, &peer, (const uint8_t *)"abcde", 5);
	assert_int_equal(h->outlen, 12); /* 4 + 5 + 3 bytes of padding */
	assert_int_equal(h->out[3], 5);
	h_free(h);
}

static void with_v6(struct turn_cfg *c)
{
	sa_set_str(&c->relay6, "2001:db8::5", 0);
}

static void dual_attrs(struct stun_enc *e, void *arg)
{
	(void)arg;
	h_transport(e, TURN_PROTO_UDP);
	uint8_t v[4] = {STUN_FAMILY_IPV6, 0, 0, 0};
	stun_enc_attr(e, TURN_ATTR_ADDITIONAL_ADDRESS_FAMILY, v, 4);
}

/* Every IPv4-in-IPv6 spelling of an internal address is denied on the
 * IPv6 side of a dual-stack allocation, as are the IPv6 internal ranges. */
static void test_mapped_v6_forms_denied(void **state)
{
	(void)state;
	struct fixture f = {.h = h_new(with_v6)};
	f.s = h_src("198.51.100.7", 40000, TURN_PROTO_UDP);
	h_get_nonce(f.h, &f.s);
	assert_int_equal(h_request(f.h, &f.s, TURN_ALLOCATE, dual_attrs, NULL, &h_alice),
			 STUN_CLASS_SUCCESS);
	const char *denied[] = {"::ffff:10.0.0.1", "::ffff:127.0.0.1",
				"::ffff:169.254.169.254", "::10.0.0.1",
				"2002:7f00:1::1", "2002:a00:1::1", "64:ff9b::a00:1",
				"64:ff9b::7f00:1", "::1", "fe80::1", "fd00::1",
				"ff02::1", "2001:db8::1", "3fff::1", "2001:2::1",
				"5f00::1", "2001:4860:1:2:0:5efe:a00:1",
				"2001:4860:1:2:200:5efe:a9fe:a9fe",
				"2002:808:808:1:0:5efe:7f00:1"};
	for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
		assert_int_equal(fx_perm(&f, denied[i]), 403);
		assert_int_equal(fx_bind(&f, 0x4000, denied[i], 9), 403);
		fx_send_ind(&f, denied[i], "x");
		assert_int_equal(f.h->npout, 0);
	}
	assert_int_equal(fx_perm(&f, "2606:4700::1111"), 0);
	h_free(f.h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_permission_and_send_indication),
		cmocka_unit_test(test_send_unknown_attribute_dropped),
		cmocka_unit_test(test_send_dont_fragment),
		cmocka_unit_test(test_denied_peers_403),
		cmocka_unit_test(test_permission_all_or_nothing),
		cmocka_unit_test(test_channel_bind_rules),
		cmocka_unit_test(test_channel_data_both_ways),
		cmocka_unit_test(test_legacy_channel_range),
		cmocka_unit_test(test_tcp_channel_data_padded),
		cmocka_unit_test(test_reload_policy_ends_denied),
		cmocka_unit_test(test_mapped_v6_forms_denied),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
