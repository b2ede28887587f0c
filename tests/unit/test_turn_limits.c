/* Unit tests of issue 5 in the turn core: --max-bps token buckets,
 * --bps-capacity grants, permission and channel caps (508), usage records
 * and the per-worker counters. All on the injected clock. */
#include "turn_harness.h"

struct fixture {
	struct harness *h;
	struct turn_src s;
};

static struct turn_usage last_usage;
static char last_user[TURN_MAX_USERNAME], last_uid[TURN_MAX_USERNAME];
static unsigned nusage;

static void on_usage(void *arg, const struct turn_usage *u)
{
	(void)arg;
	last_usage = *u;
	snprintf(last_user, sizeof(last_user), "%s", u->username);
	snprintf(last_uid, sizeof(last_uid), "%.*s", (int)u->userid_len,
		 u->userid);
	nusage++;
}

static void fx_setup_cfg(struct fixture *f, void (*tweak)(struct turn_cfg *),
			 int proto)
{
	f->h = h_new(tweak);
	turn_srv_set_usage_h(f->h->srv, on_usage, NULL);
	nusage = 0;
	f->s = h_src("198.51.100.7", 40000, proto);
	h_allocate(f->h, &f->s, &h_alice);
}

static int fx_bind(struct fixture *f, uint16_t ch, const char *ip, uint16_t port)
{
	struct h_chan c = {ch, h_sa(ip, port)};
	int cls = h_request(f->h, &f->s, TURN_CHANNEL_BIND, h_chan_attrs, &c, &h_alice);
	return cls == STUN_CLASS_SUCCESS ? 0 : h_err(f->h);
}

static void fx_chdata(struct fixture *f, uint16_t ch, size_t n)
{
	static uint8_t buf[4 + 2000];
	assert_true(n <= 2000);
	stun_chdata_hdr(buf, ch, (uint16_t)n);
	memset(buf + 4, 'x', n);
	turn_client_input(f->h->srv, &f->s, buf, 4 + n);
}

static void fx_peer(struct fixture *f, const char *ip, uint16_t port, size_t n)
{
	static uint8_t buf[2000];
	struct sa peer = h_sa(ip, port);
	memset(buf, 'y', n);
	turn_peer_input(f->h->srv, f->h->relays[0].owner, &peer, buf, n);
}

static const struct turn_stats *fx_stats(struct fixture *f)
{
	return turn_srv_stats(f->h->srv);
}

static void bps_10k(struct turn_cfg *c)
{
	c->max_bps = 10000; /* burst: max(5000, 65536) = 65536 bytes */
}

static void test_max_bps_client_to_peer(void **state)
{
	(void)state;
	struct fixture f;
	fx_setup_cfg(&f, bps_10k, TURN_PROTO_UDP);
	assert_int_equal(fx_bind(&f, 0x4000, "8.8.8.8", 1000), 0);
	/* A full bucket: 65 packets of 1000 bytes pass, the 66th does not. */
	for (int i = 0; i < 66; i++)
		fx_chdata(&f, 0x4000, 1000);
	assert_int_equal(f.h->npout, 65);
	assert_int_equal(turn_stat_get(&fx_stats(&f)->bw_drop_pkts[TURN_DIR_C2P]), 1);
	assert_int_equal(turn_stat_get(&fx_stats(&f)->bw_drop_bytes[TURN_DIR_C2P]), 1000);
	/* 100 ms at 10,000 B/s is 1,000 bytes: 536 left + 1000 = one more. */
	f.h->mono += 100;
	fx_chdata(&f, 0x4000, 1000);
	fx_chdata(&f, 0x4000, 1000);
	assert_int_equal(f.h->npout, 66);
	/* Over 10 s the rate holds exactly: 100 packets of 1000 bytes. */
	unsigned before = f.h->npout;
	for (int ms = 0; ms < 10000; ms += 10) {
		f.h->mono += 10;
		fx_chdata(&f, 0x4000, 1000);
	}
	assert_int_equal(f.h->npout - before, 100);
	assert_int_equal(turn_stat_get(&fx_stats(&f)->pkts[TURN_DIR_C2P]), 166);
	/* The other direction has its own bucket, still full. */
	unsigned out = f.h->nout;
	for (int i = 0; i < 65; i++)
		fx_peer(&f, "8.8.8.8", 1000, 1000);
	assert_int_equal(f.h->nout - out, 65);
	fx_peer(&f, "8.8.8.8", 1000, 1000);
	assert_int_equal(f.h->nout - out, 65);
	assert_int_equal(turn_stat_get(&fx_stats(&f)->bw_drop_pkts[TURN_DIR_P2C]), 1);
	h_free(f.h);
}

static void test_no_max_bps_unlimited(void **state)
{
	(void)state;
	struct fixture f;
	fx_setup_cfg(&f, NULL, TURN_PROTO_UDP);
	assert_int_equal(fx_bind(&f, 0x4000, "8.8.8.8", 1000), 0);
	for (int i = 0; i < 200; i++)
		fx_chdata(&f, 0x4000, 1000);
	assert_int_equal(f.h->npout, 200);
	assert_int_equal(turn_stat_get(&fx_stats(&f)->bw_drop_pkts[TURN_DIR_C2P]), 0);
	h_free(f.h);
}

static void capacity_15k(struct turn_cfg *c)
{
	c->max_bps = 10000;
	c->bps_capacity = 15000;
}

static int alloc_from(struct harness *h, uint16_t port)
{
	struct turn_src s = h_src("198.51.100.8", port, TURN_PROTO_UDP);
	h_get_nonce(h, &s);
	int cls = h_request(h, &s, TURN_ALLOCATE, h_udp_attrs, NULL, &h_bob);
	return cls == STUN_CLASS_SUCCESS ? 0 : h_err(h);
}

/* coturn's semantics: each allocation reserves max-bps out of the
 * capacity, the last one what is left, then 486. */
static void test_bps_capacity_grants(void **state)
{
	(void)state;
	struct fixture f;
	fx_setup_cfg(&f, capacity_15k, TURN_PROTO_UDP);
	assert_int_equal(turn_shared_bps_granted(f.h->sh), 10000);
	assert_int_equal(alloc_from(f.h, 1), 0);
	assert_int_equal(turn_shared_bps_granted(f.h->sh), 15000);
	assert_int_equal(alloc_from(f.h, 2), 486);
	assert_int_equal(turn_stat_get(&fx_stats(&f)->quota_rej[TURN_QR_BANDWIDTH]), 1);
	/* The refused one holds no user quota: bob can still allocate later. */
	assert_int_equal(turn_shared_allocations(f.h->sh), 2);
	/* Ending them gives their grants back. */
	f.h->mono += 601 * 1000; /* both expire (default lifetime 600 s) */
	turn_srv_tick(f.h->srv);
	assert_int_equal(turn_shared_bps_granted(f.h->sh), 0);
	assert_int_equal(alloc_from(f.h, 3), 0);
	assert_int_equal(turn_shared_bps_granted(f.h->sh), 10000);
	h_free(f.h);
}

static void test_perm_and_chan_caps_508(void **state)
{
	(void)state;
	struct fixture f;
	fx_setup_cfg(&f, NULL, TURN_PROTO_UDP); /* harness: 8 each */
	char ip[32];
	for (int i = 0; i < 8; i++) {
		snprintf(ip, sizeof(ip), "8.8.8.%d", i + 1);
		assert_int_equal(fx_bind(&f, (uint16_t)(0x4000 + i), ip, 1000), 0);
	}
	/* A ninth channel (and its permission): 508 Insufficient Capacity. */
	assert_int_equal(fx_bind(&f, 0x4008, "8.8.9.1", 1000), 508);
	struct sa peer = h_sa("8.8.9.2", 9);
	assert_int_equal(h_request(f.h, &f.s, TURN_CREATE_PERMISSION, h_peer_attr,
				   &peer, &h_alice), STUN_CLASS_ERROR);
	assert_int_equal(h_err(f.h), 508);
	/* Refreshing one that exists still works at the cap. */
	assert_int_equal(fx_bind(&f, 0x4000, "8.8.8.1", 1000), 0);
	h_free(f.h);
}

/* XOR-PEER-ADDRESS for each of n peers, "A.B.C.1" upwards from base. */
struct fx_peers {
	const char *base; /* "8.8.7." */
	int n;
	int first;
};

static void fx_peers_attrs(struct stun_enc *e, void *arg)
{
	const struct fx_peers *p = arg;
	for (int i = 0; i < p->n; i++) {
		char ip[32];
		snprintf(ip, sizeof(ip), "%s%d", p->base, p->first + i);
		struct sa peer = h_sa(ip, 9);
		stun_enc_xaddr(e, TURN_ATTR_XOR_PEER_ADDRESS, &peer);
	}
}

static int fx_permit(struct fixture *f, const char *base, int first, int n)
{
	struct fx_peers p = {base, n, first};
	int cls = h_request(f->h, &f->s, TURN_CREATE_PERMISSION, fx_peers_attrs,
			    &p, &h_alice);
	return cls == STUN_CLASS_SUCCESS ? 0 : h_err(f->h);
}

/* Regression (RFC 8656 11.2): a ChannelBind whose permission did not fit
 * was answered 508 but left the channel bound, so retrying the peer on
 * another number got 400 (peer bound to another channel) and the number
 * stayed taken. A 508 now binds nothing. */
static void test_chan_bind_508_binds_nothing(void **state)
{
	(void)state;
	struct fixture f;
	fx_setup_cfg(&f, NULL, TURN_PROTO_UDP); /* harness: 8 permissions */
	struct fx_peers p = {"8.8.7.", 8, 1};
	assert_int_equal(h_request(f.h, &f.s, TURN_CREATE_PERMISSION,
				   fx_peers_attrs, &p, &h_alice), STUN_CLASS_SUCCESS);
	assert_int_equal(fx_bind(&f, 0x4000, "8.8.9.1", 1000), 508);
	/* No ChannelData goes anywhere, and nothing was reserved. */
	fx_chdata(&f, 0x4000, 10);
	assert_int_equal(f.h->npout, 0);
	f.h->mono += 301 * 1000; /* the permissions lapse: room again */
	h_get_nonce(f.h, &f.s);
	assert_int_equal(fx_bind(&f, 0x4001, "8.8.9.1", 1000), 0);
	assert_int_equal(fx_bind(&f, 0x4000, "8.8.9.2", 1000), 0);
	h_free(f.h);
}

static void perms_40000(struct turn_cfg *c)
{
	c->max_perms = 40000; /* max-permissions takes up to 65535 */
}

/* Peers 8.(128 + i / 65536).(i / 256 % 256).(i % 256) for i in
 * [first, first + n), so every one is a new public address. */
struct fx_many {
	unsigned first, n;
};

static void fx_many_attrs(struct stun_enc *e, void *arg)
{
	const struct fx_many *m = arg;
	for (unsigned i = m->first; i < m->first + m->n; i++) {
		uint8_t a[4] = {8, (uint8_t)(128 + i / 65536),
				(uint8_t)(i / 256 % 256), (uint8_t)(i % 256)};
		struct sa peer;
		sa_set_raw(&peer, AF_INET, a, 9);
		stun_enc_xaddr(e, TURN_ATTR_XOR_PEER_ADDRESS, &peer);
	}
}

/* Regression: the permission array grows by doubling in a uint16_t, so
 * past 32768 entries the new capacity wrapped to 0 and realloc(p, 0)
 * freed the array while the allocation kept using it (use after free,
 * then a double free at teardown). Any max-permissions above 32768 let
 * one authenticated client do it. */
static void test_perm_array_past_32768(void **state)
{
	(void)state;
	struct fixture f;
	fx_setup_cfg(&f, perms_40000, TURN_PROTO_UDP);
	unsigned done = 0;
	while (done < 32800) { /* ends at 32832: the last is 8.128.128.63 */
		struct fx_many m = {done, 36}; /* 36 peers + 4 auth attributes */
		assert_int_equal(h_request(f.h, &f.s, TURN_CREATE_PERMISSION,
					   fx_many_attrs, &m, &h_alice),
				 STUN_CLASS_SUCCESS);
		done += m.n;
	}
	/* Every one still works: data to the first and the last. */
	uint8_t first[4] = {8, 128, 0, 0}, last[4] = {8, 128, 128, 63};
	struct sa p;
	sa_set_raw(&p, AF_INET, first, 7);
	turn_peer_input(f.h->srv, f.h->relays[0].owner, &p, (const uint8_t *)"a", 1);
	assert_int_equal(h_resp(f.h), 0);
	assert_int_equal(f.h->resp.method, TURN_DATA);
	unsigned before = f.h->nout;
	sa_set_raw(&p, AF_INET, last, 7);
	turn_peer_input(f.h->srv, f.h->relays[0].owner, &p, (const uint8_t *)"b", 1);
	assert_int_equal(f.h->nout, before + 1);
	h_free(f.h);
}

/* Regression (RFC 8656 9.2): ten peers against a cap of eight got 508 but
 * kept the first eight installed. Now a 508 installs none. */
static void test_perm_cap_all_or_nothing(void **state)
{
	(void)state;
	struct fixture f;
	fx_setup_cfg(&f, NULL, TURN_PROTO_UDP); /* harness: 8 permissions */
	assert_int_equal(fx_permit(&f, "8.8.7.", 1, 10), 508);
	/* Nothing was kept: eight others fit. */
	assert_int_equal(fx_permit(&f, "8.8.6.", 1, 8), 0);
	/* Refreshing installed ones needs no room; a new one does. */
	assert_int_equal(fx_permit(&f, "8.8.6.", 3, 6), 0);
	assert_int_equal(fx_permit(&f, "8.8.6.", 8, 2), 508);
	/* Expired entries make room again. */
	f.h->mono += 301 * 1000;
	assert_int_equal(fx_permit(&f, "8.8.5.", 1, 8), 0);
	h_free(f.h);
}

static void lifetime0(struct stun_enc *enc, void *arg)
{
	(void)arg;
	stun_enc_u32(enc, TURN_ATTR_LIFETIME, 0);
}

static void test_usage_record_refresh(void **state)
{
	(void)state;
	struct fixture f;
	fx_setup_cfg(&f, NULL, TURN_PROTO_UDP);
	f.h->wall += 42;
	assert_int_equal(fx_bind(&f, 0x4000, "8.8.8.8", 1000), 0);
	fx_chdata(&f, 0x4000, 100);
	fx_chdata(&f, 0x4000, 200);
	fx_chdata(&f, 0x4001, 300); /* no such channel: not relayed */
	fx_peer(&f, "8.8.8.8", 1000, 50);
	fx_peer(&f, "8.8.8.8", 1001, 60); /* Data indication */
	fx_peer(&f, "9.9.9.9", 1000, 70);  /* no permission */
	assert_int_equal(nusage, 0);
	assert_int_equal(turn_stat_get(&fx_stats(&f)->allocs[TURN_TP_UDP][0]), 1);
	/* Refresh with LIFETIME 0 deletes it. */
	h_request(f.h, &f.s, TURN_REFRESH, lifetime0, NULL, &h_alice);
	assert_int_equal(nusage, 1);
	assert_string_equal(last_user, "alice");
	assert_string_equal(last_uid, "alice");
	assert_int_equal(last_usage.transport, TURN_TP_UDP);
	assert_int_equal(last_usage.family, AF_INET);
	assert_int_equal(last_usage.start, 1700000000);
	assert_int_equal(last_usage.end, 1700000042);
	assert_int_equal(last_usage.pkts[TURN_DIR_C2P], 2);
	assert_int_equal(last_usage.bytes[TURN_DIR_C2P], 300);
	assert_int_equal(last_usage.pkts[TURN_DIR_P2C], 2);
	assert_int_equal(last_usage.bytes[TURN_DIR_P2C], 110);
	assert_int_equal(last_usage.reason, TURN_END_REFRESH);
	assert_int_equal(turn_stat_get(&fx_stats(&f)->allocs[TURN_TP_UDP][0]), 0);
	assert_int_equal(turn_stat_get(&fx_stats(&f)->bytes[TURN_DIR_C2P]), 300);
	assert_int_equal(turn_stat_get(&fx_stats(&f)->bytes[TURN_DIR_P2C]), 110);
	h_free(f.h);
}

static void test_usage_reasons(void **state)
{
	(void)state;
	struct fixture f;
	/* Expiry. */
	fx_setup_cfg(&f, NULL, TURN_PROTO_UDP);
	f.h->mono += 601 * 1000;
	turn_srv_tick(f.h->srv);
	assert_int_equal(nusage, 1);
	assert_int_equal(last_usage.reason, TURN_END_EXPIRED);
	h_free(f.h);
	/* A TLS stream closing; its gauge is the TLS one. */
	f.h = h_new(NULL);
	turn_srv_set_usage_h(f.h->srv, on_usage, NULL);
	nusage = 0;
	f.s = h_src("2001:db8::7", 40000, TURN_PROTO_TCP);
	f.s.secure = true;
	h_allocate(f.h, &f.s, &h_alice);
	assert_int_equal(turn_stat_get(&fx_stats(&f)->allocs[TURN_TP_TLS][1]), 1);
	turn_conn_closed(f.h->srv, &f.s);
	assert_int_equal(nusage, 1);
	assert_int_equal(last_usage.reason, TURN_END_CLOSED);
	assert_int_equal(last_usage.transport, TURN_TP_TLS);
	assert_int_equal(last_usage.family, AF_INET6);
	h_free(f.h);
	/* Shutdown. */
	fx_setup_cfg(&f, NULL, TURN_PROTO_UDP);
	turn_srv_free(f.h->srv);
	assert_int_equal(nusage, 1);
	assert_int_equal(last_usage.reason, TURN_END_SHUTDOWN);
	f.h->srv = NULL;
	h_free(f.h);
}

static void test_failed_allocate_no_record(void **state)
{
	(void)state;
	struct harness *h = h_new(NULL);
	turn_srv_set_usage_h(h->srv, on_usage, NULL);
	nusage = 0;
	struct turn_src s = h_src("198.51.100.7", 40000, TURN_PROTO_UDP);
	h->fail_bind = 8; /* every bind try fails: 508 after the quota */
	h_get_nonce(h, &s);
	assert_int_equal(h_request(h, &s, TURN_ALLOCATE, h_udp_attrs, NULL, &h_alice),
			 STUN_CLASS_ERROR);
	assert_int_equal(h_err(h), 508);
	assert_int_equal(nusage, 0);
	assert_int_equal(turn_stat_get(&turn_srv_stats(h->srv)->allocs[TURN_TP_UDP][0]), 0);
	h_free(h);
}

static void rest_user(struct harness *h, struct h_cred *c, char *user, char *pass,
		      int64_t ttl)
{
	h_rest_cred(h, c, user, pass, ttl, "acme:u1", "s3cret");
}

static void test_auth_failure_reasons(void **state)
{
	(void)state;
	struct harness *h = h_new(NULL);
	const struct turn_stats *st = turn_srv_stats(h->srv);
	struct turn_src s = h_src("198.51.100.7", 40000, TURN_PROTO_UDP);
	h_get_nonce(h, &s);
	struct h_cred bad = {"alice", "wrong", "test"};
	h_request(h, &s, TURN_ALLOCATE, h_udp_attrs, NULL, &bad);
	assert_int_equal(turn_stat_get(&st->auth_fail[TURN_AF_BAD_INTEGRITY]), 1);
	struct h_cred who = {"mallory", "x", "test"};
	h_request(h, &s, TURN_ALLOCATE, h_udp_attrs, NULL, &who);
	assert_int_equal(turn_stat_get(&st->auth_fail[TURN_AF_UNKNOWN_USER]), 1);
	struct h_cred realm = {"alice", "alicepw", "other"};
	h_request(h, &s, TURN_ALLOCATE, h_udp_attrs, NULL, &realm);
	assert_int_equal(turn_stat_get(&st->auth_fail[TURN_AF_WRONG_REALM]), 1);
	char user[TURN_MAX_USERNAME], pass[64];
	struct h_cred rc;
	rest_user(h, &rc, user, pass, -3600);
	h_request(h, &s, TURN_ALLOCATE, h_udp_attrs, NULL, &rc);
	assert_int_equal(turn_stat_get(&st->auth_fail[TURN_AF_REST_EXPIRED]), 1);
	rest_user(h, &rc, user, pass, 600);
	rc.pass = "nope";
	h_request(h, &s, TURN_ALLOCATE, h_udp_attrs, NULL, &rc);
	assert_int_equal(turn_stat_get(&st->auth_fail[TURN_AF_BAD_INTEGRITY]), 2);
	/* A nonce from another source is stale here: 438. */
	struct turn_src s2 = h_src("198.51.100.7", 40001, TURN_PROTO_UDP);
	h_request(h, &s2, TURN_ALLOCATE, h_udp_attrs, NULL, &h_alice);
	assert_int_equal(turn_stat_get(&st->auth_fail[TURN_AF_STALE_NONCE]), 1);
	/* The good REST user-id "acme:u1" passes and is the quota key. */
	rest_user(h, &rc, user, pass, 600);
	assert_int_equal(h_request(h, &s, TURN_ALLOCATE, h_udp_attrs, NULL, &rc),
			 STUN_CLASS_SUCCESS);
	/* Unsigned requests past the per-IP burst (10) draw no 401. */
	for (int i = 0; i < 12; i++)
		h_request(h, &s2, TURN_ALLOCATE, NULL, NULL, NULL);
	assert_true(turn_stat_get(&st->unauth_limited) >= 1);
	h_free(h);
}

/* The 401 limit is for plain UDP, whose source may be spoofed (a small
 * request drawing a larger answer at someone else). A stream or DTLS
 * session proved its address, and a stream client never retransmits:
 * a dropped 401 would leave it waiting out its whole transaction
 * (RFC 8489 6.2.2, 39.5 s), and a spoofed UDP flood naming a NAT's
 * address would starve every TLS client behind it. */
static void test_unauth_limit_udp_only(void **state)
{
	(void)state;
	struct harness *h = h_new(NULL); /* burst 10, 5/s */
	const struct turn_stats *st = turn_srv_stats(h->srv);
	struct turn_src u = h_src("198.51.100.8", 40000, TURN_PROTO_UDP);
	for (int i = 0; i < 12; i++)
		h_request(h, &u, TURN_ALLOCATE, NULL, NULL, NULL);
	uint64_t limited = turn_stat_get(&st->unauth_limited);
	assert_true(limited >= 1);
	/* The same address, its bucket empty: streams and DTLS still get
	 * every 401. */
	struct turn_src t = h_src("198.51.100.8", 40001, TURN_PROTO_TCP);
	struct turn_src tls = t, dtls = u;
	tls.secure = true;
	tls.conn = (void *)(uintptr_t)0x9001;
	dtls.secure = true;
	dtls.conn = (void *)(uintptr_t)0x9002;
	for (int i = 0; i < 20; i++) {
		assert_int_equal(h_request(h, &t, TURN_ALLOCATE, NULL, NULL, NULL),
				 STUN_CLASS_ERROR);
		assert_int_equal(h_err(h), 401);
		assert_int_equal(h_request(h, &tls, TURN_ALLOCATE, NULL, NULL, NULL),
				 STUN_CLASS_ERROR);
		assert_int_equal(h_request(h, &dtls, TURN_ALLOCATE, NULL, NULL, NULL),
				 STUN_CLASS_ERROR);
	}
	assert_int_equal(turn_stat_get(&st->unauth_limited), limited);
	/* Plain UDP from it is still limited. */
	assert_int_equal(h_request(h, &u, TURN_ALLOCATE, NULL, NULL, NULL), -1);
	h_free(h);
}

static void user_quota_1(struct turn_cfg *c)
{
	c->user_quota = 1;
}

static void dash_sep_quota_1(struct turn_cfg *c)
{
	c->user_quota = 1;
	c->rest_sep = '-';
}

/* A REST username with the given separator, user-id first or expiry
 * first, valid for 600 s. */
static struct h_cred rest_named(struct harness *h, char *user, char *pass,
				const char *id, char sep, bool id_first)
{
	long long exp = (long long)h->wall + 600;
	if (id_first)
		snprintf(user, TURN_MAX_USERNAME, "%s%c%lld", id, sep, exp);
	else
		snprintf(user, TURN_MAX_USERNAME, "%lld%c%s", exp, sep, id);
	assert_int_equal(auth_rest_password("s3cret", 6, user, strlen(user),
					    pass, 64), 0);
	return (struct h_cred){user, pass, "test"};
}

/* rest-api-separator, and coturn's "<user-id><sep><expiry>" order: the
 * user-id, either side of the expiry, is the quota key and the usage
 * record's user_id. */
static void test_rest_separator(void **state)
{
	(void)state;
	struct harness *h = h_new(dash_sep_quota_1);
	turn_srv_set_usage_h(h->srv, on_usage, NULL);
	nusage = 0;
	const struct turn_stats *st = turn_srv_stats(h->srv);
	char u[4][TURN_MAX_USERNAME], p[4][64];
	struct turn_src s[4];
	for (int i = 0; i < 4; i++)
		s[i] = h_src("198.51.100.7", (uint16_t)(41000 + i), TURN_PROTO_UDP);
	/* (A nonce is bound to its client's address: one each.) */
	h_get_nonce(h, &s[0]);
	/* ':' is not the separator here: no expiry to read, unknown user. */
	struct h_cred c = rest_named(h, u[0], p[0], "alice", ':', false);
	assert_int_equal(h_request(h, &s[0], TURN_ALLOCATE, h_udp_attrs, NULL, &c),
			 STUN_CLASS_ERROR);
	assert_int_equal(h_err(h), 401);
	assert_int_equal(turn_stat_get(&st->auth_fail[TURN_AF_UNKNOWN_USER]), 1);
	c = rest_named(h, u[1], p[1], "alice", '-', false);
	h_get_nonce(h, &s[1]);
	assert_int_equal(h_request(h, &s[1], TURN_ALLOCATE, h_udp_attrs, NULL, &c),
			 STUN_CLASS_SUCCESS);
	/* The same user-id first: one allocation per user, so 486. */
	c = rest_named(h, u[2], p[2], "alice", '-', true);
	h_get_nonce(h, &s[2]);
	assert_int_equal(h_request(h, &s[2], TURN_ALLOCATE, h_udp_attrs, NULL, &c),
			 STUN_CLASS_ERROR);
	assert_int_equal(h_err(h), 486);
	c = rest_named(h, u[3], p[3], "bob", '-', true);
	h_get_nonce(h, &s[3]);
	assert_int_equal(h_request(h, &s[3], TURN_ALLOCATE, h_udp_attrs, NULL, &c),
			 STUN_CLASS_SUCCESS);
	assert_int_equal(h_request(h, &s[3], TURN_REFRESH, lifetime0, NULL, &c),
			 STUN_CLASS_SUCCESS);
	assert_int_equal(nusage, 1);
	assert_string_equal(last_uid, "bob");
	assert_string_equal(last_user, u[3]);
	/* bob's quota went back with his allocation. */
	assert_int_equal(h_request(h, &s[3], TURN_ALLOCATE, h_udp_attrs, NULL, &c),
			 STUN_CLASS_SUCCESS);
	h_free(h);
}

static void test_quota_rejection_counted(void **state)
{
	(void)state;
	struct fixture f;
	fx_setup_cfg(&f, user_quota_1, TURN_PROTO_UDP);
	struct turn_src s = h_src("198.51.100.9", 1, TURN_PROTO_UDP);
	h_get_nonce(f.h, &s);
	h_request(f.h, &s, TURN_ALLOCATE, h_udp_attrs, NULL, &h_alice);
	assert_int_equal(h_err(f.h), 486);
	assert_int_equal(turn_stat_get(&fx_stats(&f)->quota_rej[TURN_QR_USER]), 1);
	h_free(f.h);
}

static struct sa ip(const char *s)
{
	struct sa a;
	assert_int_equal(sa_set_str(&a, s, 1234), 0);
	return a;
}

/* --max-unauth-tcp-per-ip: counted per source over all workers, an IPv6
 * source by its /64 and an IPv4-mapped one as its IPv4 address. */
static void test_conn_cap_per_source(void **state)
{
	(void)state;
	struct turn_shared *sh;
	assert_int_equal(turn_shared_alloc(&sh, 50000, 50010), 0);
	struct sa a = ip("192.0.2.1"), b = ip("192.0.2.2");
	struct sa v6 = ip("2001:db8:1:2::1"), v6same = ip("2001:db8:1:2:ffff::9");
	struct sa v6other = ip("2001:db8:1:3::1"), mapped = ip("::ffff:192.0.2.1");
	assert_true(turn_shared_conn_take(sh, &a, 2));
	assert_true(turn_shared_conn_take(sh, &a, 2));
	assert_false(turn_shared_conn_take(sh, &a, 2));
	assert_false(turn_shared_conn_take(sh, &mapped, 2));
	assert_true(turn_shared_conn_take(sh, &b, 2));
	assert_true(turn_shared_conn_take(sh, &a, 0)); /* 0: no limit */
	turn_shared_conn_put(sh, &mapped);
	assert_true(turn_shared_conn_take(sh, &a, 2));
	assert_false(turn_shared_conn_take(sh, &a, 2));
	assert_true(turn_shared_conn_take(sh, &v6, 1));
	assert_false(turn_shared_conn_take(sh, &v6same, 1));
	assert_true(turn_shared_conn_take(sh, &v6other, 1));
	turn_shared_conn_put(sh, &v6same);
	assert_true(turn_shared_conn_take(sh, &v6, 1));
	/* An entry that reached zero is gone; putting it again is harmless
	 * and does not give credit. */
	turn_shared_conn_put(sh, &b);
	turn_shared_conn_put(sh, &b);
	assert_true(turn_shared_conn_take(sh, &b, 1));
	assert_false(turn_shared_conn_take(sh, &b, 1));
	turn_shared_free(sh); /* frees the entries still counted (ASan) */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_max_bps_client_to_peer),
		cmocka_unit_test(test_no_max_bps_unlimited),
		cmocka_unit_test(test_bps_capacity_grants),
		cmocka_unit_test(test_perm_and_chan_caps_508),
		cmocka_unit_test(test_perm_cap_all_or_nothing),
		cmocka_unit_test(test_perm_array_past_32768),
		cmocka_unit_test(test_chan_bind_508_binds_nothing),
		cmocka_unit_test(test_usage_record_refresh),
		cmocka_unit_test(test_usage_reasons),
		cmocka_unit_test(test_failed_allocate_no_record),
		cmocka_unit_test(test_auth_failure_reasons),
		cmocka_unit_test(test_unauth_limit_udp_only),
		cmocka_unit_test(test_quota_rejection_counted),
		cmocka_unit_test(test_rest_separator),
		cmocka_unit_test(test_conn_cap_per_source),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
