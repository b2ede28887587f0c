/* The revoked set in the turn core: which REST user-ids it matches (a
 * blocked "<account>:<sub>", every user-id of a disabled account, never
 * a static user), 403 to their requests (signed, not a 401 challenge),
 * and their allocations ending at once with a "revoked" usage record. */
#include "turn_harness.h"

static struct turn_usage last_usage;
static char last_uid[TURN_MAX_USERNAME];
static unsigned nusage;

static void on_usage(void *arg, const struct turn_usage *u)
{
	(void)arg;
	last_usage = *u;
	snprintf(last_uid, sizeof(last_uid), "%.*s", (int)u->userid_len,
		 u->userid);
	nusage++;
}

static struct turn_revoked *revoked(const char *user, const char *account)
{
	struct turn_revoked *r = NULL;
	const char *u[] = {user}, *a[] = {account};
	assert_int_equal(turn_revoked_new(&r, u, user ? 1 : 0, a,
					  account ? 1 : 0), 0);
	return r;
}

static bool has(const struct turn_revoked *r, const char *uid)
{
	return turn_revoked_has(r, uid, strlen(uid));
}

static void test_match(void **state)
{
	(void)state;
	struct turn_revoked *r = NULL;
	const char *users[] = {"zeta:bob", "acme:alice", "acme:carol"};
	const char *accounts[] = {"shut", "closed"};
	assert_int_equal(turn_revoked_new(&r, users, 3, accounts, 2), 0);
	assert_true(has(r, "acme:alice"));
	assert_true(has(r, "acme:carol"));
	assert_true(has(r, "zeta:bob"));
	assert_false(has(r, "acme:bob"));
	assert_false(has(r, "acme:alic"));   /* a prefix is not a match */
	assert_false(has(r, "acme:alicex"));
	assert_false(has(r, "acme"));
	assert_true(has(r, "shut:anyone"));  /* a disabled account's */
	assert_true(has(r, "closed:x"));
	assert_false(has(r, "shutter:x"));
	assert_false(has(r, "shut"));        /* no ':': not an API user-id */
	assert_false(has(r, "clos:x"));
	/* A slice of a longer username, as the core passes it. */
	assert_true(turn_revoked_has(r, "acme:alice:tail", 10));
	assert_false(turn_revoked_has(r, "acme:alice", 9));
	assert_false(has(NULL, "acme:alice"));
	struct turn_revoked *ref = turn_revoked_ref(r);
	assert_ptr_equal(ref, r);
	turn_revoked_put(r);
	assert_true(has(ref, "acme:alice")); /* still held */
	turn_revoked_put(ref);
	assert_int_equal(turn_revoked_new(&r, NULL, 0, NULL, 0), 0);
	assert_false(has(r, "acme:alice"));
	turn_revoked_put(r);
}

/* Equal sets (whatever the order they were given in) are equal, an
 * empty one equals none; a user is not an account. */
static void test_equal(void **state)
{
	(void)state;
	struct turn_revoked *a = NULL, *b = NULL, *e = NULL;
	const char *u1[] = {"acme:alice", "acme:bob"}, *u2[] = {"acme:bob",
								  "acme:alice"};
	const char *acc[] = {"shut"};
	assert_int_equal(turn_revoked_new(&a, u1, 2, acc, 1), 0);
	assert_int_equal(turn_revoked_new(&b, u2, 2, acc, 1), 0);
	assert_int_equal(turn_revoked_new(&e, NULL, 0, NULL, 0), 0);
	assert_true(turn_revoked_equal(a, b));
	assert_true(turn_revoked_equal(e, NULL));
	assert_true(turn_revoked_equal(NULL, NULL));
	assert_false(turn_revoked_equal(a, NULL));
	assert_false(turn_revoked_equal(a, e));
	turn_revoked_put(b);
	assert_int_equal(turn_revoked_new(&b, u1, 1, acc, 1), 0);
	assert_false(turn_revoked_equal(a, b));
	turn_revoked_put(b);
	const char *u3[] = {"acme:alice", "shut"};
	assert_int_equal(turn_revoked_new(&b, u3, 2, NULL, 0), 0);
	assert_false(turn_revoked_equal(a, b));
	turn_revoked_put(a);
	turn_revoked_put(b);
	turn_revoked_put(e);
}

struct fixture {
	struct harness *h;
	struct turn_src s;
	char user[TURN_MAX_USERNAME], pass[64];
	struct h_cred cred;
};

static struct fixture *fx_alloc(const char *uid, uint16_t port)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->h = h_new(NULL);
	turn_srv_set_usage_h(f->h->srv, on_usage, NULL);
	nusage = 0;
	f->s = h_src("198.51.100.7", port, TURN_PROTO_UDP);
	h_rest_cred(f->h, &f->cred, f->user, f->pass, 600, uid, "s3cret");
	h_allocate(f->h, &f->s, &f->cred);
	return f;
}

static void fx_free(struct fixture *f)
{
	h_free(f->h);
	free(f);
}

/* A second client of the same harness with REST credentials for uid. */
struct other {
	struct turn_src s;
	char user[TURN_MAX_USERNAME], pass[64];
	struct h_cred cred;
};

static void other_alloc(struct fixture *f, struct other *o, const char *ip,
			uint16_t port, const char *uid)
{
	o->s = h_src(ip, port, TURN_PROTO_UDP);
	h_rest_cred(f->h, &o->cred, o->user, o->pass, 600, uid, "s3cret");
	h_allocate(f->h, &o->s, &o->cred);
}

/* A nonce is bound to the client's address: one for src first. */
static int refresh(struct fixture *f, const struct turn_src *src,
		   const struct h_cred *c)
{
	h_get_nonce(f->h, src);
	int cls = h_request(f->h, src, TURN_REFRESH, NULL, NULL, c);
	return cls == STUN_CLASS_SUCCESS ? 0 : h_err(f->h);
}

/* Blocking ends the allocation now, and what the same credentials ask
 * next gets a signed 403; another user of the account goes on. */
static void test_block_ends_allocation(void **state)
{
	(void)state;
	struct fixture *f = fx_alloc("acme:alice", 40000);
	struct other bob;
	other_alloc(f, &bob, "198.51.100.8", 40001, "acme:bob");
	assert_int_equal(turn_srv_count(f->h->srv), 2);
	turn_srv_set_revoked(f->h->srv, revoked("acme:alice", NULL));
	assert_int_equal(turn_srv_count(f->h->srv), 1);
	assert_int_equal(nusage, 1);
	assert_int_equal(last_usage.reason, TURN_END_REVOKED);
	assert_string_equal(last_uid, "acme:alice");
	assert_int_equal(refresh(f, &f->s, &f->cred), 403);
	/* Signed with the key the client has: not a challenge to retry. */
	assert_true(f->h->resp.mi >= 0);
	assert_null(stun_msg_attr(&f->h->resp, STUN_ATTR_NONCE));
	assert_int_equal(h_request(f->h, &f->s, TURN_ALLOCATE, h_udp_attrs,
				   NULL, &f->cred), STUN_CLASS_ERROR);
	assert_int_equal(h_err(f->h), 403);
	const struct turn_stats *st = turn_srv_stats(f->h->srv);
	assert_int_equal(atomic_load(&st->auth_fail[TURN_AF_REVOKED]), 2);
	assert_int_equal(refresh(f, &bob.s, &bob.cred), 0);
	/* Lifted: the same, still unexpired credentials work again. */
	turn_srv_set_revoked(f->h->srv, NULL);
	h_get_nonce(f->h, &f->s);
	assert_int_equal(h_request(f->h, &f->s, TURN_ALLOCATE, h_udp_attrs,
				   NULL, &f->cred), STUN_CLASS_SUCCESS);
	fx_free(f);
}

static void sep_hash(struct turn_cfg *c)
{
	c->rest_sep = '#';
}

/* A REST credential "<a><b>" signed with the harness's secret. */
static void rest_cred(struct h_cred *c, char *user, char *pass,
		      const char *a, const char *b)
{
	snprintf(user, TURN_MAX_USERNAME, "%s%s", a, b);
	assert_int_equal(auth_rest_password("s3cret", 6, user, strlen(user),
					    pass, 64), 0);
	*c = (struct h_cred){user, pass, "test"};
}

/* A disabled account: every user of it, on either side of the
 * separator (coturn's two orders, with rest-api-separator '#' since the
 * user-id holds a ':'); static users are never touched. */
static void test_disabled_account(void **state)
{
	(void)state;
	struct harness *h = h_new(sep_hash);
	turn_srv_set_usage_h(h->srv, on_usage, NULL);
	nusage = 0;
	char exp[32], u1[TURN_MAX_USERNAME], p1[64], u2[TURN_MAX_USERNAME], p2[64];
	struct h_cred c1, c2;
	snprintf(exp, sizeof(exp), "%lld", (long long)h->wall + 600);
	rest_cred(&c1, u1, p1, exp, "#acme:alice");
	rest_cred(&c2, u2, p2, "acme:zed#", exp);
	struct turn_src s1 = h_src("198.51.100.7", 40000, TURN_PROTO_UDP);
	struct turn_src s2 = h_src("198.51.100.10", 40003, TURN_PROTO_UDP);
	struct turn_src st = h_src("198.51.100.9", 40002, TURN_PROTO_UDP);
	h_allocate(h, &s1, &c1);
	h_allocate(h, &s2, &c2);
	h_allocate(h, &st, &h_alice);
	assert_int_equal(turn_srv_count(h->srv), 3);
	turn_srv_set_revoked(h->srv, revoked(NULL, "acme"));
	assert_int_equal(turn_srv_count(h->srv), 1); /* alice, static */
	assert_int_equal(nusage, 2);
	h_get_nonce(h, &st);
	assert_int_equal(h_request(h, &st, TURN_REFRESH, NULL, NULL, &h_alice),
			 STUN_CLASS_SUCCESS);
	h_get_nonce(h, &s2);
	assert_int_equal(h_request(h, &s2, TURN_ALLOCATE, h_udp_attrs, NULL, &c2),
			 STUN_CLASS_ERROR);
	assert_int_equal(h_err(h), 403);
	h_free(h);
}

/* A REST user-id that merely starts like a revoked one ("acmex:" is
 * not "acme:") is left alone, and so is one without ':' whose whole
 * name is a disabled account's (an account's users are "<account>:..."
 * only); a second set replaces the first (the old reference is dropped:
 * ASan would see a leak otherwise). */
static void test_others_untouched(void **state)
{
	(void)state;
	struct fixture *f = fx_alloc("acmex:alice", 40000);
	struct other plain;
	other_alloc(f, &plain, "198.51.100.11", 40004, "plainuser");
	turn_srv_set_revoked(f->h->srv, revoked("acme:alice", "acme"));
	turn_srv_set_revoked(f->h->srv, revoked(NULL, "plainuser"));
	assert_int_equal(turn_srv_count(f->h->srv), 2);
	assert_int_equal(refresh(f, &f->s, &f->cred), 0);
	assert_int_equal(refresh(f, &plain.s, &plain.cred), 0);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_equal),
		cmocka_unit_test(test_block_ends_allocation),
		cmocka_unit_test(test_disabled_account),
		cmocka_unit_test(test_others_untouched),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
