/* Unit tests of a userdb's user table (turn_users.c) and of TURN
 * authentication against it: MD5-only users, found by name and by
 * USERHASH, after the user= lines. */
#include "turn_harness.h"

static struct turn_users db; /* the table h_new's tweak hands the core */

static struct turn_user *md5_users(const char *const *names, unsigned n)
{
	struct turn_user *u = calloc(n, sizeof(*u));
	assert_non_null(u);
	for (unsigned i = 0; i < n; i++) {
		char pass[64];
		uint8_t key[16];
		snprintf(pass, sizeof(pass), "%spw", names[i]);
		assert_int_equal(stun_key_md5(names[i], "test", pass, key), 0);
		assert_int_equal(turn_user_set_md5(&u[i], names[i], key, "test"), 0);
	}
	return u;
}

static void test_table(void **state)
{
	(void)state;
	static const char *const names[] = {"mallory", "dave", "erin", "carol"};
	struct turn_users t;
	assert_int_equal(turn_users_build(&t, md5_users(names, 4), 4), 0);
	assert_int_equal(t.n, 4);
	for (unsigned i = 0; i < 4; i++) {
		const struct turn_user *u = turn_users_find(&t, names[i]);
		assert_non_null(u);
		assert_string_equal(u->name, names[i]);
		assert_true(u->md5_only);
		uint8_t h[32];
		assert_int_equal(stun_userhash(names[i], "test", h), 0);
		assert_ptr_equal(turn_users_by_hash(&t, h), u);
	}
	assert_null(turn_users_find(&t, "zed"));
	assert_null(turn_users_find(&t, "Dave"));
	uint8_t h[32] = {0};
	assert_null(turn_users_by_hash(&t, h));
	turn_users_free(&t);
	/* None at all (a NULL array: regression, qsort(NULL) under UBSan),
	 * and no table. */
	assert_int_equal(turn_users_build(&t, NULL, 0), 0);
	assert_null(turn_users_find(&t, "dave"));
	assert_null(turn_users_by_hash(&t, h));
	turn_users_free(&t);
	assert_null(turn_users_find(NULL, "dave"));
	assert_null(turn_users_by_hash(NULL, h));
	/* A name twice is refused (the store's key is realm and name). */
	static const char *const twice[] = {"dave", "erin", "dave"};
	assert_int_equal(turn_users_build(&t, md5_users(twice, 3), 3), EEXIST);
	assert_int_equal(t.n, 0);
}

static void with_db(struct turn_cfg *c)
{
	c->userdb = &db;
}

static int db_setup(void **state)
{
	(void)state;
	/* bob is also a user= line: that one wins (the key is the same). */
	static const char *const names[] = {"dave", "erin", "bob"};
	return turn_users_build(&db, md5_users(names, 3), 3);
}

static int db_teardown(void **state)
{
	(void)state;
	turn_users_free(&db);
	return 0;
}

static const struct h_cred dave = {"dave", "davepw", "test"};

static void test_allocate_db_user(void **state)
{
	(void)state;
	struct harness *h = h_new(with_db);
	struct turn_src s = h_src("198.51.100.7", 40000, TURN_PROTO_UDP);
	h_allocate(h, &s, &dave);
	uint8_t key[16];
	stun_key_md5("dave", "test", "davepw", key);
	assert_int_equal(stun_msg_check_mi(&h->resp, key, 16), 0);
	/* The user= lines still work beside it. */
	struct turn_src s2 = h_src("198.51.100.7", 40001, TURN_PROTO_UDP);
	h_allocate(h, &s2, &h_alice);
	assert_int_equal(turn_srv_count(h->srv), 2);
	/* A wrong password, and a name in neither: 401. */
	static const struct h_cred wrong = {"erin", "davepw", "test"};
	static const struct h_cred nobody = {"zed", "zedpw", "test"};
	struct turn_src s3 = h_src("198.51.100.8", 40002, TURN_PROTO_UDP);
	h_get_nonce(h, &s3);
	assert_int_equal(h_request(h, &s3, TURN_ALLOCATE, h_udp_attrs, NULL, &wrong),
			 STUN_CLASS_ERROR);
	assert_int_equal(h_err(h), 401);
	h->mono += 1000;
	assert_int_equal(h_request(h, &s3, TURN_ALLOCATE, h_udp_attrs, NULL, &nobody),
			 STUN_CLASS_ERROR);
	assert_int_equal(h_err(h), 401);
	h_free(h);
}

/* SHA-256 (RFC 8489 9.2.2) needs SHA-256(user:realm:pass), which a
 * userdb does not keep: 401 for its users, not a key of zeros. */
struct sha_req {
	const char *user, *pass; /* pass NULL: sign with a key of zeros */
	bool userhash;
};

static void sha_attrs(struct stun_enc *e, void *arg)
{
	static const uint8_t ours[] = {0, 2, 0, 0, 0, 1, 0, 0};
	static const uint8_t sha256[] = {0, 2, 0, 0};
	const struct sha_req *q = arg;
	h_transport(e, TURN_PROTO_UDP);
	stun_enc_attr(e, STUN_ATTR_PASSWORD_ALGORITHMS, ours, sizeof(ours));
	stun_enc_attr(e, STUN_ATTR_PASSWORD_ALGORITHM, sha256, 4);
	if (q->userhash) {
		uint8_t uh[32];
		stun_userhash(q->user, "test", uh);
		stun_enc_attr(e, STUN_ATTR_USERHASH, uh, 32);
	} else {
		stun_enc_str(e, STUN_ATTR_USERNAME, q->user);
	}
}

static int sha_allocate(struct harness *h, const struct turn_src *s,
			const struct sha_req *q, bool sha)
{
	uint8_t buf[1024], tid[STUN_TID_LEN] = {7, 7, 7}, key[32];
	tid[3] = (uint8_t)sa_port(&s->client);
	h_get_nonce(h, s);
	struct stun_enc e;
	stun_enc_init(&e, buf, sizeof(buf), TURN_ALLOCATE, STUN_CLASS_REQUEST, tid);
	if (sha) {
		sha_attrs(&e, (void *)(uintptr_t)q);
	} else {
		h_transport(&e, TURN_PROTO_UDP);
		uint8_t uh[32];
		stun_userhash(q->user, "test", uh);
		stun_enc_attr(&e, STUN_ATTR_USERHASH, uh, 32);
	}
	stun_enc_str(&e, STUN_ATTR_REALM, "test");
	stun_enc_attr(&e, STUN_ATTR_NONCE, h->nonce, h->noncelen);
	if (sha) {
		memset(key, 0, sizeof(key));
		if (q->pass)
			stun_key_sha256(q->user, "test", q->pass, key);
		stun_enc_mi256(&e, key, 32);
	} else {
		stun_key_md5(q->user, "test", q->pass, key);
		stun_enc_mi(&e, key, 16);
	}
	size_t len;
	assert_int_equal(stun_enc_finish(&e, &len), 0);
	unsigned before = h->nout;
	turn_client_input(h->srv, s, buf, len);
	assert_true(h->nout > before);
	assert_int_equal(h_resp(h), 0);
	return h->resp.cls == STUN_CLASS_SUCCESS ? 0 : h_err(h);
}

static void test_db_user_sha256_and_userhash(void **state)
{
	(void)state;
	struct harness *h = h_new(with_db);
	const struct sha_req alice = {"alice", "alicepw", false};
	const struct sha_req d = {"dave", "davepw", false};
	const struct sha_req dh = {"erin", "erinpw", true};
	struct turn_src s = h_src("198.51.100.7", 41000, TURN_PROTO_UDP);
	/* A user= line has its SHA-256 key: the request passes ... */
	assert_int_equal(sha_allocate(h, &s, &alice, true), 0);
	/* ... a userdb user's has none: 401, whether the client signs with
	 * the real SHA-256 key or with the zeros the table holds in its
	 * place (which would let anyone in without the password). */
	const struct sha_req zeros = {"dave", NULL, false};
	sa_set_port(&s.client, 41001);
	h->mono += 1000;
	assert_int_equal(sha_allocate(h, &s, &d, true), 401);
	sa_set_port(&s.client, 41003);
	h->mono += 1000;
	assert_int_equal(sha_allocate(h, &s, &zeros, true), 401);
	/* USERHASH finds a userdb user (MD5 signature). */
	sa_set_port(&s.client, 41002);
	h->mono += 1000;
	assert_int_equal(sha_allocate(h, &s, &dh, false), 0);
	assert_int_equal(turn_srv_count(h->srv), 2);
	h_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test_setup_teardown(test_allocate_db_user, db_setup,
						db_teardown),
		cmocka_unit_test_setup_teardown(test_db_user_sha256_and_userhash,
						db_setup, db_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
