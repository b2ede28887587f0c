/* Unit tests of the TURN core (RFC 8656) with a fake clock and fake
 * sockets: allocation, auth chain, error codes, quotas, lifetimes. */
#include "turn_harness.h"
#include "util/log.h"

static void test_binding_minimal(void **state)
{
	(void)state;
	struct harness *h = h_new(NULL);
	struct turn_src s = h_src("198.51.100.7", 40000, TURN_PROTO_UDP);
	assert_int_equal(h_request(h, &s, STUN_BINDING, NULL, NULL, NULL),
			 STUN_CLASS_SUCCESS);
	/* 20-byte request: header + XOR-MAPPED-ADDRESS(IPv4) = 32 bytes. */
	assert_true(h->outlen <= 32);
	struct sa m;
	assert_int_equal(stun_msg_get_xaddr(&h->resp, STUN_ATTR_XOR_MAPPED_ADDRESS, &m), 0);
	assert_true(sa_eq(&m, &s.client));
	assert_int_equal(h->resp.fp, -1);
	assert_null(stun_msg_attr(&h->resp, STUN_ATTR_SOFTWARE));
	h_free(h);
}

static void log_binding_on(struct turn_cfg *c)
{
	c->log_binding = true;
}

/* --log-binding: one info line per Binding with the client's address and
 * transport; none without it (coturn's default, a Binding being cheap to
 * send). */
static void test_binding_log(void **state)
{
	(void)state;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	log_setup(f, LOG_INFO);
	struct harness *h = h_new(NULL);
	struct turn_src s = h_src("198.51.100.7", 40000, TURN_PROTO_UDP);
	assert_int_equal(h_request(h, &s, STUN_BINDING, NULL, NULL, NULL),
			 STUN_CLASS_SUCCESS);
	h_free(h);
	fflush(f);
	assert_int_equal(len, 0);
	h = h_new(log_binding_on);
	assert_int_equal(h_request(h, &s, STUN_BINDING, NULL, NULL, NULL),
			 STUN_CLASS_SUCCESS);
	s = h_src("2001:db8::9", 40001, TURN_PROTO_TCP);
	s.secure = true;
	assert_int_equal(h_request(h, &s, STUN_BINDING, NULL, NULL, NULL),
			 STUN_CLASS_SUCCESS);
	h_free(h);
	log_setup(stderr, LOG_INFO);
	fclose(f);
	assert_non_null(strstr(buf, " info binding request from "
				    "198.51.100.7:40000 over udp\n"));
	assert_non_null(strstr(buf, " info binding request from "
				    "[2001:db8::9]:40001 over tls\n"));
	free(buf);
}

static void fp_attrs(struct stun_enc *e, void *arg)
{
	(void)arg;
	stun_enc_fingerprint(e);
}

static void test_binding_fingerprint_echo(void **state)
{
	(void)state;
	struct harness *h = h_new(NULL);
	struct turn_src s = h_src("198.51.100.7", 40000, TURN_PROTO_UDP);
	assert_int_equal(h_request(h, &s, STUN_BINDING, fp_attrs, NULL, NULL),
			 STUN_CLASS_SUCCESS);
	assert_true(h->resp.fp >= 0);
	assert_int_equal(stun_msg_check_fingerprint(&h->resp), 0);
	h_free(h);
}

static void test_unauth_401_with_nonce_cookie(void **state)
{
	(void)state;
	struct harness *h = h_new(NULL);
	struct turn_src s = h_src("198.51.100.7", 40000, TURN_PROTO_UDP);
	h_get_nonce(h, &s);
	assert_true(h->noncelen > 13);
	assert_memory_equal(h->nonce, "obMatJos2", 9);
	const struct stun_attr *r = stun_msg_attr(&h->resp, STUN_ATTR_REALM);
	assert_non_null(r);
	assert_int_equal(r->len, 4);
	assert_memory_equal(r->val, "test", 4);
	assert_non_null(stun_msg_attr(&h->resp, STUN_ATTR_PASSWORD_ALGORITHMS));
	h_free(h);
}

/* PASSWORD-ALGORITHM(S) as a client sends them: the list and the choice,
 * either of which may be left out (NULL) or altered. */
struct h_pwalg {
	const uint8_t *list;
	size_t list_len;
	const uint8_t *alg;
};

static void h_pwalg_attrs(struct stun_enc *e, void *arg)
{
	const struct h_pwalg *p = arg;
	h_transport(e, TURN_PROTO_UDP);
	if (p->list)
		stun_enc_attr(e, STUN_ATTR_PASSWORD_ALGORITHMS, p->list, p->list_len);
	if (p->alg)
		stun_enc_attr(e, STUN_ATTR_PASSWORD_ALGORITHM, p->alg, 4);
}

/* Regression (RFC 8489 9.2.4, downgrade): the server took any
 * PASSWORD-ALGORITHMS, so a client whose 401 had SHA-256 stripped on the
 * way, echoing {MD5} only, was served. Anything but the list we sent,
 * echoed whole, with the choice from it, is a 400; MD5 chosen from the
 * whole list, or neither attribute, authenticates. */
static void test_password_algorithm_downgrade(void **state)
{
	(void)state;
	static const uint8_t ours[] = {0, 2, 0, 0, 0, 1, 0, 0};
	static const uint8_t md5_only[] = {0, 1, 0, 0};
	static const uint8_t reordered[] = {0, 1, 0, 0, 0, 2, 0, 0};
	static const uint8_t md5[] = {0, 1, 0, 0}, sha256[] = {0, 2, 0, 0};
	static const uint8_t md5_param[] = {0, 1, 0, 4}, other[] = {0, 3, 0, 0};
	const struct h_pwalg bad[] = {
		{md5_only, sizeof(md5_only), md5},   /* SHA-256 stripped */
		{md5_only, sizeof(md5_only), sha256},
		{reordered, sizeof(reordered), md5},
		{NULL, 0, md5},                      /* choice without list */
		{ours, sizeof(ours), NULL},          /* list without choice */
		{ours, sizeof(ours), other},         /* not offered */
		{ours, sizeof(ours), md5_param},
	};
	struct harness *h = h_new(NULL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct turn_src s = h_src("198.51.100.9", (uint16_t)(42000 + i),
					  TURN_PROTO_UDP);
		h_get_nonce(h, &s);
		assert_int_equal(h_request(h, &s, TURN_ALLOCATE, h_pwalg_attrs,
					   (void *)(uintptr_t)&bad[i], &h_alice),
				 STUN_CLASS_ERROR);
		assert_int_equal(h_err(h), 400);
		h->mono += 1000; /* stay under the 401 rate limit */
	}
	assert_int_equal(turn_srv_count(h->srv), 0);
	const struct h_pwalg good = {ours, sizeof(ours), md5};
	struct turn_src s = h_src("198.51.100.9", 43000, TURN_PROTO_UDP);
	h_get_nonce(h, &s);
	assert_int_equal(h_request(h, &s, TURN_ALLOCATE, h_pwalg_attrs,
				   (void *)(uintptr_t)&good, &h_alice),
			 STUN_CLASS_SUCCESS);
	/* MD5 named explicitly: the answer still carries
	 * MESSAGE-INTEGRITY-SHA256 (keyed with the MD5 key), not
	 * MESSAGE-INTEGRITY; that is only for a request naming none. */
	uint8_t key[16];
	stun_key_md5("alice", "test", "alicepw", key);
	assert_int_equal(h->resp.mi, -1);
	assert_int_equal(stun_msg_check_mi256(&h->resp, key, sizeof(key)), 0);
	s = h_src("198.51.100.9", 43001, TURN_PROTO_UDP);
	h_get_nonce(h, &s);
	assert_int_equal(h_request(h, &s, TURN_ALLOCATE, h_udp_attrs, NULL,
				   &h_alice), STUN_CLASS_SUCCESS);
	assert_int_equal(h->resp.mi256, -1);
	assert_int_equal(stun_msg_check_mi(&h->resp, key, sizeof(key)), 0);
	h_free(h);
}

static void test_401_rate_limited(void **state)
{
	(void)state;
	struct harness *h = h_new(NULL);
	struct turn_src s = h_src("198.51.100.7", 40000, TURN_PROTO_UDP);
	unsigned replies = 0;
	for (int i = 0; i < 100; i++) {
		sa_set_port(&s.client, (uint16_t)(40000 + i));
		if (h_request(h, &s, TURN_ALLOCATE, h_udp_attrs, NULL, NULL) >= 0)
			replies++;
	}
	/* burst 10, rate 5/s, no time passes: at most the burst. */
	assert_true(replies <= 10);
	assert_true(replies >= 1);
	h->mono += 2000;
	assert_int_equal(h_request(h, &s, TURN_ALLOCATE, h_udp_attrs, NULL, NULL),
			 STUN_CLASS_ERROR);
	h_free(h);
}

static void test_allocate_static_user(void **state)
{
	(void)state;
	struct harness *h = h_new(NULL);
	struct turn_src s = h_src("198.51.100.7", 40000, TURN_PROTO_UDP);
	struct sa relayed = h_allocate(h, &s, &h_alice);
	assert_true(sa_eq_addr(&relayed, &h->cfg.relay4));
	assert_in_range(sa_port(&relayed), 50000, 50015);
	uint32_t lt;
	assert_int_equal(stun_msg_get_u32(&h->resp, TURN_ATTR_LIFETIME, &lt), 0);
	assert_int_equal(lt, 600);
	/* The success response is signed with alice's key. */
	uint8_t key[16];
	stun_key_md5("alice", "test", "alicepw", key);
	assert_int_equal(stun_msg_check_mi(&h->resp, key, 16), 0);
	struct sa mapped;
	assert_int_equal(stun_msg_get_xaddr(&h->resp, STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped), 0);
	assert_true(sa_eq(&mapped, &s.client));
	assert_int_equal(turn_srv_count(h->srv), 1);
	h_free(h);
}

static void with_external(struct turn_cfg *c)
{
	sa_set_str(&c->ext4, "192.0.2.77", 0);
}

/* --external-ip: clients are told the public address, same port. */
static void test_external_ip_reported(void **state)
{
	(void)state;
	struct harness *h = h_new(with_external);
	struct turn_src s = h_src("198.51.100.7", 40000, TURN_PROTO_UDP);
	struct sa relayed = h_allocate(h, &s, &h_alice);
	struct sa want = h_sa("192.0.2.77", sa_port(&h->relays[0].addr));
	assert_true(sa_eq(&relayed, &want));
	h_free(h);
}

static void test_allocate_twice_437(void **state)
{
	(void)state;
	struct harness *h = h_new(NULL);
	struct turn_src s = h_src("198.51.100.7", 40000, TURN_PROTO_UDP);
	h_allocate(h, &s, &h_alice);
	assert_int_equal(h_request(h, &s, TURN_ALLOCATE, h_udp_attrs, NULL, &h_alice),
			 STUN_CLASS_ERROR);
	assert_int_equal(h_err(h), 437);
	h_free(h);
}

static void test_wrong_password_realm_user(void **state)
{
	(void)state;
	struct harness *h = h_new(NULL);
	struct turn_src s = h_src("198.51.100.7", 40000, TURN_PROTO_UDP);
	const struct h_cred bad[] = {
		{"alice", "wrong", "test"},
		{"alice", "alicepw", "other-realm"},
		{"mallory", "x", "test"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		h_get_nonce(h, &s);
		assert_int_equal(h_request(h, &s, TURN_ALLOCATE, h_udp_attrs, NULL, &bad[i]),
				 STUN_CLASS_ERROR);
		assert_int_equal(h_err(h), 401);
		h->mono += 1000; /* stay under the 401 rate limit */
	}
	assert_int_equal(turn_srv_count(h->srv), 0);
	h_free(h);
}

#define STORE_LIKE_ID (63 + 1 + 127 + 1) /* account:sub and its NUL */

static void test_rest_credentials(void **state)
{
	(void)state;
	struct harness *h = h_new(NULL);
	struct turn_src s = h_src("198.51.100.7", 40000, TURN_PROTO_UDP);
	char user[TURN_MAX_USERNAME], pass[64];
	struct h_cred c;
	/* Either secret works (rotation). */
	h_rest_cred(h, &c, user, pass, 600, "acme:alice", "s3cret");
	h_allocate(h, &s, &c);
	s = h_src("198.51.100.7", 40001, TURN_PROTO_UDP);
	h_rest_cred(h, &c, user, pass, 600, "acme:alice", "old-secret");
	h_allocate(h, &s, &c);
	/* Regression: the longest username the API mints (20-digit expiry,
	 * 63-character account, 127-character sub) was refused with 401. */
	char id[STORE_LIKE_ID];
	memset(id, 'a', sizeof(id) - 1);
	id[63] = ':';
	id[sizeof(id) - 1] = '\0';
	s = h_src("198.51.100.7", 40002, TURN_PROTO_UDP);
	h_rest_cred(h, &c, user, pass, 600, id, "s3cret");
	assert_int_equal(strlen(user), 10 + 1 + 63 + 1 + 127);
	h_allocate(h, &s, &c);
	/* Expired, too far ahead, unknown secret: 401. */
	const struct {
		int64_t ttl;
		const char *secret;
	} bad[] = {{-1, "s3cret"}, {86400 + 3600, "s3cret"}, {600, "nope"}};
	for (size_t i = 0; i < 3; i++) {
		s = h_src("198.51.100.8", (uint16_t)(41000 + i), TURN_PROTO_UDP);
		h_rest_cred(h, &c, user, pass, bad[i].ttl, "acme:bob", bad[i].secret);
		h_get_nonce(h, &s);
		assert_int_equal(h_request(h, &s, TURN_ALLOCATE, h_udp_attrs, NULL, &c),
				 STUN_CLASS_ERROR);
		assert_int_equal(h_err(h), 401);
	}
	h_free(h);
}

/* The per-worker REST key cache: a key derived from a secret that a
 * reload removed must stop working at once, even for a username whose
 * key was cached; the remaining secret keeps working. */
static void test_rest_key_cache_reload(void **state)
{
	(void)state;
	struct harness *h = h_new(NULL);
	struct turn_src s = h_src("198.51.100.7", 40000, TURN_PROTO_UDP);
	char user[TURN_MAX_USERNAME], pass[64], pass2[64];
	struct h_cred c, c2;
	h_rest_cred(h, &c, user, pass, 600, "acme:alice", "old-secret");
	h_allocate(h, &s, &c);
	assert_int_equal(h_request(h, &s, TURN_REFRESH, NULL, NULL, &c),
			 STUN_CLASS_SUCCESS); /* now from the cache */
	struct turn_cfg cfg2 = h->cfg;
	strcpy(cfg2.secrets[0], "s3cret");
	cfg2.nsecrets = 1;
	turn_srv_set_cfg(h->srv, &cfg2);
	assert_int_equal(h_request(h, &s, TURN_REFRESH, NULL, NULL, &c),
			 STUN_CLASS_ERROR);
	assert_int_equal(h_err(h), 401);
	c2 = c;
	assert_int_equal(auth_rest_password("s3cret", 6, user, strlen(user),
					    pass2, sizeof(pass2)), 0);
	c2.pass = pass2;
	assert_int_equal(h_request(h, &s, TURN_REFRESH, NULL, NULL, &c2),
			 STUN_CLASS_SUCCESS);
	/* The same configuration edited in place and set again: cleared too. */
	strcpy(cfg2.secrets[0], "third");
	turn_srv_set_cfg(h->srv, &cfg2);
	assert_int_equal(h_request(h, &s, TURN_REFRESH, NULL, NULL, &c2),
			 STUN_CLASS_ERROR);
	assert_int_equal(h_err(h), 401);
	turn_srv_set_cfg(h->srv, &h->cfg);
	h_free(h);
}

static void test_stale_nonce_438(void **state)
{
	(void)state;
	struct harness *h = h_new(NULL);
	struct turn_src s = h_src("198.51.100.7", 40000, TURN_PROTO_UDP);
	h_get_nonce(h, &s);
	h->mono += 601 * 1000;
	assert_int_equal(h_request(h, &s, TURN_ALLOCATE, h_udp_attrs, NULL, &h_alice),
			 STUN_CLASS_ERROR);
	assert_int_equal(h_err(h), 438);
	const struct stun_attr *n = stun_msg_attr(&h->resp, STUN_ATTR_NONCE);
	assert_non_null(n);
	memcpy(h->nonce, n->val, n->len);
	h->noncelen = n->len;
	assert_int_equal(h_request(h, &s, TURN_ALLOCATE, h_udp_attrs, NULL, &h_alice),
			 STUN_CLASS_SUCCESS);
	h_free(h);
}

static void test_replay_other_port_fails(void **state)
{
	(void)state;
	struct harness *h = h_new(NULL);
	struct turn_src s = h_src("198.51.100.7", 40000, TURN_PROTO_UDP);
	h_get_nonce(h, &s);
	/* The same signed request, sent from another source port. */
	struct turn_src other = h_src("198.51.100.7", 40001, TURN_PROTO_UDP);
	assert_int_equal(h_request(h, &other, TURN_ALLOCATE, h_udp_attrs, NULL, &h_alice),
			 STUN_CLASS_ERROR);
	assert_int_equal(h_err(h), 438);
	/* And over another transport from the same address. */
	struct turn_src tcp = h_src("198.51.100.7", 40000, TURN_PROTO_TCP);
	assert_int_equal(h_request(h, &tcp, TURN_ALLOCATE, h_udp_attrs, NULL, &h_alice),
			 STUN_CLASS_ERROR);
	assert_int_equal(h_err(h), 438);
	assert_int_equal(turn_srv_count(h->srv), 0);
	h_free(h);
}

static void tcp_transport_attrs(struct stun_enc *e, void *arg)
{
	(void)arg;
	h_transport(e, TURN_PROTO_TCP);
}

static void unknown_attrs(struct stun_enc *e, void *arg)
{
	(void)arg;
	h_transport(e, TURN_PROTO_UDP);
	stun_enc_u32(e, 0x7ffe, 1);
}

static void test_allocate_errors(void **state)
{
	(void)state;
	struct harness *h = h_new(NULL);
	struct turn_src s = h_src("198.51.100.7", 40000, TURN_PROTO_UDP);
	h_get_nonce(h, &s);
	assert_int_equal(h_request(h, &s, TURN_ALLOCATE, NULL, NULL, &h_alice),
			 STUN_CLASS_ERROR);
	assert_int_equal(h_err(h), 400);
	/* TCP relaying over a UDP control connection: 400 (RFC 6062 5.1);
	 * the TCP cases are in test_turn_tcp.c. */
	assert_int_equal(h_request(h, &s, TURN_ALLOCATE, tcp_transport_attrs, NULL, &h_alice),
			 STUN_CLASS_ERROR);
	assert_int_equal(h_err(h), 400);
	assert_int_equal(h_request(h, &s, TURN_ALLOCATE, unknown_attrs, NULL, &h_alice),
			 STUN_CLASS_ERROR);
	assert_int_equal(h_err(h), 420);
	const struct stun_attr *u = stun_msg_attr(&h->resp, STUN_ATTR_UNKNOWN_ATTRIBUTES);
	assert_non_null(u);
	assert_int_equal(u->len, 2);
	assert_int_equal((u->val[0] << 8) | u->val[1], 0x7ffe);
	/* Requests naming no allocation: 437. */
	assert_int_equal(h_request(h, &s, TURN_REFRESH, NULL, NULL, &h_alice),
			 STUN_CLASS_ERROR);
	assert_int_equal(h_err(h), 437);
	assert_int_equal(turn_srv_count(h->srv), 0);
	h_free(h);
}

static void fam_attrs(struct stun_enc *e, void *arg)
{
	const uint8_t *fams = arg; /* {requested, additional}, 0 = absent */
	h_transport(e, TURN_PROTO_UDP);
	uint8_t v[4] = {0};
	if (fams[0]) {
		v[0] = fams[0];
		stun_enc_attr(e, TURN_ATTR_REQUESTED_ADDRESS_FAMILY, v, 4);
	}
	if (fams[1]) {
		v[0] = fams[1];
		stun_enc_attr(e, TURN_ATTR_ADDITIONAL_ADDRESS_FAMILY, v, 4);
	}
}

static void with_v6(struct turn_cfg *c)
{
	sa_set_str(&c->relay6, "2001:db8::5", 0);
}

static void test_address_families(void **state)
{
	(void)state;
	struct harness *h = h_new(NULL);
	struct turn_src s = h_src("198.51.100.7", 40000, TURN_PROTO_UDP);
	h_get_nonce(h, &s);
	uint8_t v6only[2] = {STUN_FAMILY_IPV6, 0};
	assert_int_equal(h_request(h, &s, TURN_ALLOCATE, fam_attrs, v6only, &h_alice),
			 STUN_CLASS_ERROR);
	assert_int_equal(h_err(h), 440);
	uint8_t both[2] = {STUN_FAMILY_IPV4, STUN_FAMILY_IPV6};
	assert_int_equal(h_request(h, &s, TURN_ALLOCATE, fam_attrs, both, &h_alice),
			 STUN_CLASS_ERROR);
	assert_int_equal(h_err(h), 400);
	uint8_t add4[2] = {0, STUN_FAMILY_IPV4};
	assert_int_equal(h_request(h, &s, TURN_ALLOCATE, fam_attrs, add4, &h_alice),
			 STUN_CLASS_ERROR);
	assert_int_equal(h_err(h), 400);
	h_free(h);

	/* Dual stack (RFC 8656 7.2): two relayed addresses. */
	h = h_new(with_v6);
	h_get_nonce(h, &s);
	uint8_t dual[2] = {0, STUN_FAMILY_IPV6};
	assert_int_equal(h_request(h, &s, TURN_ALLOCATE, fam_attrs, dual, &h_alice),
			 STUN_CLASS_SUCCESS);
	unsigned nrel = 0;
	for (unsigned i = 0; i < h->resp.nattrs; i++)
		nrel += h->resp.attrs[i].type == TURN_ATTR_XOR_RELAYED_ADDRESS;
	assert_int_equal(nrel, 2);
	assert_int_equal(h->nrelays, 2);
	h_free(h);
}

static void even_attrs(struct stun_enc *e, void *arg)
{
	(void)arg;
	h_transport(e, TURN_PROTO_UDP);
	uint8_t r = 0x80;
	stun_enc_attr(e, TURN_ATTR_EVEN_PORT, &r, 1);
}

static void token_attrs(struct stun_enc *e, void *arg)
{
	h_transport(e, TURN_PROTO_UDP);
	stun_enc_attr(e, TURN_ATTR_RESERVATION_TOKEN, arg, 8);
}

static void test_even_port_reservation(void **state)
{
	(void)state;
	struct harness *h = h_new(NULL);
	struct turn_src s = h_src("198.51.100.7", 40000, TURN_PROTO_UDP);
	h_get_nonce(h, &s);
	assert_int_equal(h_request(h, &s, TURN_ALLOCATE, even_attrs, NULL, &h_alice),
			 STUN_CLASS_SUCCESS);
	struct sa relayed;
	assert_int_equal(stun_msg_get_xaddr(&h->resp, TURN_ATTR_XOR_RELAYED_ADDRESS, &relayed), 0);
	assert_int_equal(sa_port(&relayed) % 2, 0);
	const struct stun_attr *tok = stun_msg_attr(&h->resp, TURN_ATTR_RESERVATION_TOKEN);
	assert_non_null(tok);
	uint8_t token[8];
	memcpy(token, tok->val, 8);
	assert_int_equal(turn_shared_ports_free(h->sh, h->mono), 14);
	struct turn_src s2 = h_src("198.51.100.7", 40002, TURN_PROTO_UDP);
	h_get_nonce(h, &s2);
	assert_int_equal(h_request(h, &s2, TURN_ALLOCATE, token_attrs, token, &h_alice),
			 STUN_CLASS_SUCCESS);
	struct sa r2;
	assert_int_equal(stun_msg_get_xaddr(&h->resp, TURN_ATTR_XOR_RELAYED_ADDRESS, &r2), 0);
	assert_int_equal(sa_port(&r2), sa_port(&relayed) + 1);
	/* A token is good once. */
	struct turn_src s3 = h_src("198.51.100.7", 40004, TURN_PROTO_UDP);
	h_get_nonce(h, &s3);
	assert_int_equal(h_request(h, &s3, TURN_ALLOCATE, token_attrs, token, &h_alice),
			 STUN_CLASS_ERROR);
	assert_int_equal(h_err(h), 508);
	h_free(h);
}

static void user_quota_1(struct turn_cfg *c)
{
	c->user_quota = 1;
}

static void test_user_quota_counts_user_id(void **state)
{
	(void)state;
	struct harness *h = h_new(user_quota_1);
	char user[TURN_MAX_USERNAME], pass[64];
	struct h_cred c;
	struct turn_src s = h_src("198.51.100.7", 40000, TURN_PROTO_UDP);
	h_rest_cred(h, &c, user, pass, 600, "carol", "s3cret");
	h_allocate(h, &s, &c);
	/* Same user-id, different expiry (so a different username): 486. */
	struct turn_src s2 = h_src("198.51.100.7", 40001, TURN_PROTO_UDP);
	h_rest_cred(h, &c, user, pass, 900, "carol", "s3cret");
	h_get_nonce(h, &s2);
	assert_int_equal(h_request(h, &s2, TURN_ALLOCATE, h_udp_attrs, NULL, &c),
			 STUN_CLASS_ERROR);
	assert_int_equal(h_err(h), 486);
	/* Another user-id is fine. */
	h_rest_cred(h, &c, user, pass, 900, "dave", "s3cret");
	assert_int_equal(h_request(h, &s2, TURN_ALLOCATE, h_udp_attrs, NULL, &c),
			 STUN_CLASS_SUCCESS);
	h_free(h);
}

/* One client address per allocation, so the 401 limiter stays quiet. */
static struct turn_src exh_src(int i)
{
	char ip[32];
	snprintf(ip, sizeof(ip), "198.51.100.%d", 10 + i);
	return h_src(ip, 30000, TURN_PROTO_UDP);
}

static void no_user_quota(struct turn_cfg *c)
{
	c->user_quota = 0;
}

static void test_port_exhaustion_508_and_bind_retry(void **state)
{
	(void)state;
	struct harness *h = h_new(no_user_quota);
	h->fail_bind = 3; /* ports taken by someone else are skipped */
	for (int i = 0; i < 13; i++) {
		struct turn_src s = exh_src(i);
		h_allocate(h, &s, &h_alice);
	}
	/* 16 ports: 13 in use; the 3 that failed to bind went back to the
	 * pool, so the pool still accounts for all 16. */
	assert_int_equal(turn_shared_ports_free(h->sh, h->mono), 3);
	for (int i = 13; i < 16; i++) {
		struct turn_src s = exh_src(i);
		h_allocate(h, &s, &h_alice);
	}
	struct turn_src s = exh_src(16);
	h_get_nonce(h, &s);
	assert_int_equal(h_request(h, &s, TURN_ALLOCATE, h_udp_attrs, NULL, &h_alice),
			 STUN_CLASS_ERROR);
	assert_int_equal(h_err(h), 508);
	h_free(h);
}

static void lifetime_attrs(struct stun_enc *e, void *arg)
{
	stun_enc_u32(e, TURN_ATTR_LIFETIME, *(uint32_t *)arg);
}

static void test_refresh_and_expiry(void **state)
{
	(void)state;
	struct harness *h = h_new(NULL);
	struct turn_src s = h_src("198.51.100.7", 40000, TURN_PROTO_UDP);
	h_allocate(h, &s, &h_alice);
	uint32_t big = 999999, lt;
	assert_int_equal(h_request(h, &s, TURN_REFRESH, lifetime_attrs, &big, &h_alice),
			 STUN_CLASS_SUCCESS);
	assert_int_equal(stun_msg_get_u32(&h->resp, TURN_ATTR_LIFETIME, &lt), 0);
	assert_int_equal(lt, 3600); /* clamped to max-allocate-lifetime */
	/* Regression (RFC 8656 7.3): less than the default gets the default;
	 * 30 s was granted as asked. */
	uint32_t short_lt = 30;
	assert_int_equal(h_request(h, &s, TURN_REFRESH, lifetime_attrs, &short_lt,
				   &h_alice), STUN_CLASS_SUCCESS);
	assert_int_equal(stun_msg_get_u32(&h->resp, TURN_ATTR_LIFETIME, &lt), 0);
	assert_int_equal(lt, 600);
	assert_int_equal(h_request(h, &s, TURN_REFRESH, lifetime_attrs, &big, &h_alice),
			 STUN_CLASS_SUCCESS);
	/* Another user on this 5-tuple: 441. */
	assert_int_equal(h_request(h, &s, TURN_REFRESH, NULL, NULL, &h_bob),
			 STUN_CLASS_ERROR);
	assert_int_equal(h_err(h), 441);
	/* Expiry through the timer heap. */
	h->mono += 3599 * 1000;
	turn_srv_tick(h->srv);
	assert_int_equal(turn_srv_count(h->srv), 1);
	h->mono += 2 * 1000;
	assert_int_equal(turn_srv_tick(h->srv), -1);
	assert_int_equal(turn_srv_count(h->srv), 0);
	assert_int_equal(turn_shared_ports_free(h->sh, h->mono), 16);
	/* Refresh with lifetime 0 deletes at once. */
	h_allocate(h, &s, &h_alice);
	uint32_t zero = 0;
	assert_int_equal(h_request(h, &s, TURN_REFRESH, lifetime_attrs, &zero, &h_alice),
			 STUN_CLASS_SUCCESS);
	assert_int_equal(stun_msg_get_u32(&h->resp, TURN_ATTR_LIFETIME, &lt), 0);
	assert_int_equal(lt, 0);
	assert_int_equal(turn_srv_count(h->srv), 0);
	h_free(h);
}

static void test_tcp_close_frees_allocation(void **state)
{
	(void)state;
	struct harness *h = h_new(NULL);
	struct turn_src s = h_src("198.51.100.7", 40000, TURN_PROTO_TCP);
	h_allocate(h, &s, &h_alice);
	assert_int_equal(turn_srv_count(h->srv), 1);
	turn_conn_closed(h->srv, &s);
	assert_int_equal(turn_srv_count(h->srv), 0);
	h_free(h);
}

/* A DTLS session is its own 5-tuple: a plain datagram from the same
 * address and port (spoofable) reaches no allocation made inside DTLS,
 * and closing the session frees its allocation. */
static void test_dtls_session_owns_allocation(void **state)
{
	(void)state;
	struct harness *h = h_new(NULL);
	struct turn_src d = h_src("198.51.100.7", 40000, TURN_PROTO_UDP);
	d.secure = true;
	h_allocate(h, &d, &h_alice);
	assert_int_equal(turn_srv_count(h->srv), 1);
	struct turn_src plain = d;
	plain.secure = false;
	plain.conn = (void *)(uintptr_t)0x9000;
	h_get_nonce(h, &plain);
	assert_int_equal(h_request(h, &plain, TURN_REFRESH, NULL, NULL, &h_alice),
			 STUN_CLASS_ERROR);
	assert_int_equal(h_err(h), 437);
	assert_int_equal(h_request(h, &d, TURN_REFRESH, NULL, NULL, &h_alice),
			 STUN_CLASS_SUCCESS);
	turn_conn_closed(h->srv, &plain); /* the listener: nothing */
	assert_int_equal(turn_srv_count(h->srv), 1);
	turn_conn_closed(h->srv, &d);
	assert_int_equal(turn_srv_count(h->srv), 0);
	h_free(h);
}

static void test_draining_refuses_allocate(void **state)
{
	(void)state;
	struct harness *h = h_new(NULL);
	struct turn_src s = h_src("198.51.100.7", 40000, TURN_PROTO_UDP);
	turn_srv_set_draining(h->srv, true);
	h_get_nonce(h, &s);
	assert_int_equal(h_request(h, &s, TURN_ALLOCATE, h_udp_attrs, NULL, &h_alice),
			 STUN_CLASS_ERROR);
	assert_int_equal(h_err(h), 508);
	h_free(h);
}

/* --alternate-server: two IPv4 and one IPv6 alternate. */
static void alternates(struct turn_cfg *c)
{
	c->alt[0] = h_sa("198.51.100.20", 3478);
	c->alt[1] = h_sa("2001:db8::20", 3479);
	c->alt[2] = h_sa("198.51.100.21", 3480);
	c->nalt = 3;
	sa_set_str(&c->relay6, "2001:db8::5", 0);
}

static struct sa alt_nth(struct harness *h, unsigned n)
{
	struct sa got = {0};
	for (unsigned i = 0; i < h->resp.nattrs; i++) {
		if (h->resp.attrs[i].type == STUN_ATTR_ALTERNATE_SERVER && n-- == 0)
			assert_int_equal(stun_attr_get_addr(&h->resp, &h->resp.attrs[i], &got), 0);
	}
	return got;
}

static unsigned alt_count(struct harness *h)
{
	unsigned n = 0;
	for (unsigned i = 0; i < h->resp.nattrs; i++)
		n += h->resp.attrs[i].type == STUN_ATTR_ALTERNATE_SERVER;
	return n;
}

/* RFC 8489 10: 300 only after authentication, signed, same family first
 * and the other family second; round robin; nothing allocated. */
static void test_alternate_server_300(void **state)
{
	(void)state;
	struct harness *h = h_new(alternates);
	struct turn_src s = h_src("198.51.100.7", 40000, TURN_PROTO_UDP);
	h_get_nonce(h, &s); /* unauthenticated: still 401, no redirect */
	assert_null(stun_msg_attr(&h->resp, STUN_ATTR_ALTERNATE_SERVER));
	const struct h_cred wrong = {"alice", "nope", "test"};
	assert_int_equal(h_request(h, &s, TURN_ALLOCATE, h_udp_attrs, NULL, &wrong),
			 STUN_CLASS_ERROR);
	assert_int_equal(h_err(h), 401);
	assert_null(stun_msg_attr(&h->resp, STUN_ATTR_ALTERNATE_SERVER));
	const char *want[] = {"198.51.100.20:3478", "198.51.100.21:3480",
			      "198.51.100.20:3478"};
	for (int i = 0; i < 3; i++) {
		assert_int_equal(h_request(h, &s, TURN_ALLOCATE, h_udp_attrs, NULL,
					   &h_alice), STUN_CLASS_ERROR);
		assert_int_equal(h_err(h), 300);
		assert_int_equal(alt_count(h), 2);
		struct sa first = alt_nth(h, 0), second = alt_nth(h, 1);
		char buf[SA_STRLEN];
		assert_string_equal(sa_fmt(&first, buf, sizeof(buf)), want[i]);
		assert_string_equal(sa_fmt(&second, buf, sizeof(buf)), "[2001:db8::20]:3479");
		assert_null(stun_msg_attr(&h->resp, STUN_ATTR_ALTERNATE_DOMAIN));
		uint8_t key[16];
		stun_key_md5("alice", "test", "alicepw", key);
		assert_int_equal(stun_msg_check_mi(&h->resp, key, sizeof(key)), 0);
	}
	assert_int_equal(turn_srv_count(h->srv), 0);
	assert_int_equal(h->nrelays, 0);
	/* Binding is not redirected. */
	assert_int_equal(h_request(h, &s, STUN_BINDING, NULL, NULL, NULL),
			 STUN_CLASS_SUCCESS);
	h_free(h);
}

/* No alternate of the client's family: served here (RFC 8489 10 wants
 * the first ALTERNATE-SERVER in the request's family). */
static void v6_only_alternate(struct turn_cfg *c)
{
	c->alt[0] = h_sa("2001:db8::20", 3478);
	c->nalt = 1;
}

static void test_alternate_other_family_serves(void **state)
{
	(void)state;
	struct harness *h = h_new(v6_only_alternate);
	struct turn_src s = h_src("198.51.100.7", 40000, TURN_PROTO_UDP);
	h_allocate(h, &s, &h_alice);
	assert_int_equal(turn_srv_count(h->srv), 1);
	h_free(h);
}

static void alternates_domain(struct turn_cfg *c)
{
	alternates(c);
	strcpy(c->alt_domain, "turn2.example.net");
}

/* Over TLS/DTLS the client needs ALTERNATE-DOMAIN (RFC 8489 10, 14.16);
 * without a configured domain a secure client is served here. */
static void test_alternate_domain_secure(void **state)
{
	(void)state;
	struct harness *h = h_new(alternates);
	struct turn_src s = h_src("198.51.100.7", 40000, TURN_PROTO_TCP);
	s.secure = true;
	h_allocate(h, &s, &h_alice);
	assert_int_equal(turn_srv_count(h->srv), 1);
	h_free(h);

	h = h_new(alternates_domain);
	h_get_nonce(h, &s);
	assert_int_equal(h_request(h, &s, TURN_ALLOCATE, h_udp_attrs, NULL, &h_alice),
			 STUN_CLASS_ERROR);
	assert_int_equal(h_err(h), 300);
	char dom[STUN_DOMAIN_MAX + 1];
	assert_int_equal(stun_msg_get_domain(&h->resp, dom, sizeof(dom)), 0);
	assert_string_equal(dom, "turn2.example.net");
	/* The same server, a plain client: no ALTERNATE-DOMAIN. */
	s.secure = false;
	s.client = h_sa("198.51.100.8", 40001);
	h_get_nonce(h, &s);
	assert_int_equal(h_request(h, &s, TURN_ALLOCATE, h_udp_attrs, NULL, &h_alice),
			 STUN_CLASS_ERROR);
	assert_int_equal(h_err(h), 300);
	assert_null(stun_msg_attr(&h->resp, STUN_ATTR_ALTERNATE_DOMAIN));
	h_free(h);
}

/* --tls-alternate-server: TLS/DTLS clients are sent to those (with
 * ALTERNATE-DOMAIN), plain clients to --alternate-server, each list
 * round robin on its own. */
static void alternates_tls(struct turn_cfg *c)
{
	alternates_domain(c);
	c->tls_alt[0] = h_sa("198.51.100.30", 5349);
	c->tls_alt[1] = h_sa("198.51.100.31", 443);
	c->ntls_alt = 2;
}

static void test_tls_alternate_server(void **state)
{
	(void)state;
	struct harness *h = h_new(alternates_tls);
	const char *want_tls[] = {"198.51.100.30", "198.51.100.31", "198.51.100.30"};
	const uint16_t want_port[] = {5349, 443, 5349};
	for (int i = 0; i < 3; i++) {
		struct turn_src s = h_src("198.51.100.7", (uint16_t)(41000 + i),
					  TURN_PROTO_TCP);
		s.secure = true;
		h_get_nonce(h, &s);
		assert_int_equal(h_request(h, &s, TURN_ALLOCATE, h_udp_attrs, NULL,
					   &h_alice), STUN_CLASS_ERROR);
		assert_int_equal(h_err(h), 300);
		/* No IPv6 TLS alternate: the IPv4 one alone, not a plain one. */
		assert_int_equal(alt_count(h), 1);
		struct sa a = alt_nth(h, 0);
		char ip[SA_STRLEN];
		assert_string_equal(sa_fmt_ip(&a, ip, sizeof(ip)), want_tls[i]);
		assert_int_equal(sa_port(&a), want_port[i]);
		assert_non_null(stun_msg_attr(&h->resp, STUN_ATTR_ALTERNATE_DOMAIN));
	}
	/* A plain client still gets the plain list. */
	struct turn_src p = h_src("198.51.100.8", 42000, TURN_PROTO_UDP);
	h_get_nonce(h, &p);
	assert_int_equal(h_request(h, &p, TURN_ALLOCATE, h_udp_attrs, NULL, &h_alice),
			 STUN_CLASS_ERROR);
	struct sa a = alt_nth(h, 0);
	char ip[SA_STRLEN];
	assert_string_equal(sa_fmt_ip(&a, ip, sizeof(ip)), "198.51.100.20");
	assert_int_equal(sa_port(&a), 3478);
	h_free(h);
}

/* Allocations made before alternates were configured (reload) or before
 * a drain go on: Refresh still works; only new Allocates move. */
static void test_alternate_existing_allocation_kept(void **state)
{
	(void)state;
	struct harness *h = h_new(NULL);
	struct turn_src s = h_src("198.51.100.7", 40000, TURN_PROTO_UDP);
	h_allocate(h, &s, &h_alice);
	struct turn_cfg c2 = h->cfg;
	alternates(&c2);
	turn_srv_set_cfg(h->srv, &c2);
	turn_srv_set_draining(h->srv, true);
	assert_int_equal(h_request(h, &s, TURN_REFRESH, NULL, NULL, &h_alice),
			 STUN_CLASS_SUCCESS);
	struct turn_src s2 = h_src("198.51.100.7", 40001, TURN_PROTO_UDP);
	h_get_nonce(h, &s2);
	assert_int_equal(h_request(h, &s2, TURN_ALLOCATE, h_udp_attrs, NULL, &h_alice),
			 STUN_CLASS_ERROR);
	assert_int_equal(h_err(h), 300); /* draining with alternates: 300 */
	assert_int_equal(turn_srv_count(h->srv), 1);
	uint32_t zero = 0;
	h_get_nonce(h, &s); /* nonces are per source */
	assert_int_equal(h_request(h, &s, TURN_REFRESH, lifetime_attrs, &zero, &h_alice),
			 STUN_CLASS_SUCCESS);
	assert_int_equal(turn_srv_count(h->srv), 0);
	h_free(h);
}

static void test_garbage_dropped(void **state)
{
	(void)state;
	struct harness *h = h_new(NULL);
	struct turn_src s = h_src("198.51.100.7", 40000, TURN_PROTO_UDP);
	uint8_t junk[64];
	for (size_t len = 0; len < sizeof(junk); len++) {
		memset(junk, (int)len * 37, sizeof(junk));
		turn_client_input(h->srv, &s, junk, len);
	}
	assert_int_equal(h->nout, 0);
	assert_int_equal(h->npout, 0);
	h_free(h);
}

/* RFC 8489 6.3: unknown attributes are looked at after authentication,
 * so an unsigned Allocate with one gets 401 and a signed one a 420 that
 * is signed too (9.2.4). Binding, unauthenticated, gets a plain 420. */
static void test_unknown_attribute_after_auth(void **state)
{
	(void)state;
	struct harness *h = h_new(NULL);
	struct turn_src s = h_src("198.51.100.7", 40000, TURN_PROTO_UDP);
	assert_int_equal(h_request(h, &s, TURN_ALLOCATE, unknown_attrs, NULL, NULL),
			 STUN_CLASS_ERROR);
	assert_int_equal(h_err(h), 401);
	h_get_nonce(h, &s);
	assert_int_equal(h_request(h, &s, TURN_ALLOCATE, unknown_attrs, NULL,
				   &h_alice), STUN_CLASS_ERROR);
	assert_int_equal(h_err(h), 420);
	assert_non_null(stun_msg_attr(&h->resp, STUN_ATTR_UNKNOWN_ATTRIBUTES));
	uint8_t key[16];
	stun_key_md5("alice", "test", "alicepw", key);
	assert_int_equal(stun_msg_check_mi(&h->resp, key, sizeof(key)), 0);
	assert_int_equal(turn_srv_count(h->srv), 0);
	assert_int_equal(h_request(h, &s, STUN_BINDING, unknown_attrs, NULL, NULL),
			 STUN_CLASS_ERROR);
	assert_int_equal(h_err(h), 420);
	assert_int_equal(h->resp.mi, -1);
	h_free(h);
}

/* RFC 8489 6.3: a request whose method the server does not serve, or
 * whose class that method does not have (Send, Data), is silently
 * discarded, signed or not, unknown attributes or not. */
static void test_unknown_method_discarded(void **state)
{
	(void)state;
	struct harness *h = h_new(NULL);
	struct turn_src s = h_src("198.51.100.7", 40000, TURN_PROTO_UDP);
	h_get_nonce(h, &s);
	uint16_t ms[] = {0x0ff, TURN_SEND, TURN_DATA, TURN_CONNECTION_ATTEMPT};
	for (unsigned i = 0; i < sizeof(ms) / sizeof(ms[0]); i++) {
		assert_int_equal(h_request(h, &s, ms[i], NULL, NULL, NULL), -1);
		assert_int_equal(h_request(h, &s, ms[i], NULL, NULL, &h_alice), -1);
		assert_int_equal(h_request(h, &s, ms[i], unknown_attrs, NULL, NULL), -1);
	}
	assert_int_equal(h_request(h, &s, STUN_BINDING, NULL, NULL, NULL),
			 STUN_CLASS_SUCCESS);
	h_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_binding_minimal),
		cmocka_unit_test(test_binding_log),
		cmocka_unit_test(test_binding_fingerprint_echo),
		cmocka_unit_test(test_unauth_401_with_nonce_cookie),
		cmocka_unit_test(test_401_rate_limited),
		cmocka_unit_test(test_allocate_static_user),
		cmocka_unit_test(test_allocate_twice_437),
		cmocka_unit_test(test_external_ip_reported),
		cmocka_unit_test(test_wrong_password_realm_user),
		cmocka_unit_test(test_password_algorithm_downgrade),
		cmocka_unit_test(test_rest_credentials),
		cmocka_unit_test(test_rest_key_cache_reload),
		cmocka_unit_test(test_stale_nonce_438),
		cmocka_unit_test(test_replay_other_port_fails),
		cmocka_unit_test(test_allocate_errors),
		cmocka_unit_test(test_address_families),
		cmocka_unit_test(test_even_port_reservation),
		cmocka_unit_test(test_user_quota_counts_user_id),
		cmocka_unit_test(test_port_exhaustion_508_and_bind_retry),
		cmocka_unit_test(test_refresh_and_expiry),
		cmocka_unit_test(test_tcp_close_frees_allocation),
		cmocka_unit_test(test_dtls_session_owns_allocation),
		cmocka_unit_test(test_draining_refuses_allocate),
		cmocka_unit_test(test_garbage_dropped),
		cmocka_unit_test(test_unknown_method_discarded),
		cmocka_unit_test(test_unknown_attribute_after_auth),
		cmocka_unit_test(test_alternate_server_300),
		cmocka_unit_test(test_alternate_other_family_serves),
		cmocka_unit_test(test_alternate_domain_secure),
		cmocka_unit_test(test_tls_alternate_server),
		cmocka_unit_test(test_alternate_existing_allocation_kept),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
