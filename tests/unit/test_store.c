/* store: round trips, uniqueness, cascades, validation, snapshots, key
 * material and hostile input. The file-level behaviour (persistence,
 * data version, migrations, store_check, concurrency) is in
 * test_store_file.c. */
#include <errno.h>

#include "store_fixture.h"

static void test_account_roundtrip(void **state)
{
	struct fx *f = *state;
	struct store_account a, b;
	account_paid(&a, "acme");
	a.default_ttl = 600;
	a.rate_per_s = 0;
	assert_int_equal(store_account_create(f->s, &a), 0);
	assert_true(a.id > 0);
	assert_true(a.created > 1700000000);
	assert_int_equal(store_account_get(f->s, "acme", &b), 0);
	assert_account_equal(&a, &b);
	store_account_clear(&b);

	/* Update replaces every field and the whole server list. */
	a.disabled = true;
	a.max_ttl = 3600;
	snprintf(a.issuer, sizeof(a.issuer), "https://acme.example/");
	a.mode = STORE_TURN_OVERRIDE;
	a.nservers = 1;
	server_set(&a.servers[0], "stun:192.0.2.1:3478", "", "", "");
	assert_int_equal(store_account_update(f->s, &a), 0);
	assert_int_equal(store_account_get(f->s, "acme", &b), 0);
	assert_account_equal(&a, &b);
	store_account_clear(&b);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM server_urls"),
			 1);

	/* And to none at all (override needs a server: fallback). */
	a.mode = STORE_TURN_FALLBACK;
	a.nservers = 0;
	assert_int_equal(store_account_update(f->s, &a), 0);
	assert_int_equal(store_account_get(f->s, "acme", &b), 0);
	assert_int_equal(b.nservers, 0);
	assert_null(b.servers);
	store_account_clear(&a);

	assert_int_equal(store_account_delete(f->s, "acme"), 0);
	assert_int_equal(store_account_get(f->s, "acme", &b), ENOENT);
}

static void test_defaults(void **state)
{
	struct fx *f = *state;
	struct store_account a, b;
	store_account_init(&a, "plain");
	assert_int_equal(store_account_create(f->s, &a), 0);
	assert_int_equal(store_account_get(f->s, "plain", &b), 0);
	assert_false(b.disabled);
	assert_false(b.configurable_turn);
	assert_int_equal(b.default_ttl, 86400);
	assert_int_equal(b.max_ttl, 86400);
	assert_int_equal(b.rate_per_s, 100);
	assert_int_equal(b.rate_burst, 200);
	assert_string_equal(b.issuer, "plain");
	assert_int_equal(b.mode, STORE_TURN_PLATFORM);
	assert_false(b.relay_only);
	assert_int_equal(b.nservers, 0);
	store_account_clear(&b);
}

static void test_duplicates(void **state)
{
	struct fx *f = *state;
	struct store_account a;
	store_account_init(&a, "one");
	assert_int_equal(store_account_create(f->s, &a), 0);
	assert_int_equal(store_account_create(f->s, &a), EEXIST);
	store_account_init(&a, "two");
	assert_int_equal(store_account_create(f->s, &a), 0);

	key_add(f->s, "one", "k1", "0123456789abcdef0123456789abcdef");
	struct store_key k = {.kid = "k1", .alg = "HS256", .account = "two",
			      .len = 3, .material = (uint8_t *)"abc"};
	/* The kid is taken by another account: still a conflict. */
	assert_int_equal(store_key_add(f->s, &k), EEXIST);
	snprintf(k.account, sizeof(k.account), "one");
	assert_int_equal(store_key_add(f->s, &k), EEXIST);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM keys"), 1);
}

struct modify_arg {
	const char *path;
	int other_rc; /* what another connection's write got meanwhile */
	int ret;
};

/* Another writer (the CLI, say) tries to commit between our read and our
 * write: it must be kept out, or our write would undo its change. */
static int modify_edit(struct store_account *a, void *arg)
{
	struct modify_arg *m = arg;
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(m->path, &db), SQLITE_OK);
	m->other_rc = sqlite3_exec(db, "UPDATE accounts SET rate_per_s = 7",
				   NULL, NULL, NULL);
	sqlite3_close(db);
	a->rate_per_s = 42;
	a->mode = STORE_TURN_PLATFORM; /* servers kept, unused */
	return m->ret;
}

/* Regression: the admin API and the CLI read an account, changed it and
 * wrote it back in two transactions, so two concurrent edits of
 * different fields lost one of them. */
static void test_modify(void **state)
{
	struct fx *f = *state;
	struct store_account a, b;
	account_paid(&a, "acme");
	assert_int_equal(store_account_create(f->s, &a), 0);
	struct modify_arg m = {.path = f->path};
	assert_int_equal(store_account_modify(f->s, "acme", modify_edit, &m), 0);
	assert_int_equal(m.other_rc, SQLITE_BUSY);
	assert_int_equal(store_account_get(f->s, "acme", &b), 0);
	assert_int_equal(b.rate_per_s, 42);
	assert_int_equal(b.mode, STORE_TURN_PLATFORM);
	assert_int_equal(b.nservers, 2); /* untouched fields survive */
	assert_string_equal(b.servers[1].secret, "shh");
	store_account_clear(&b);
	/* fn's error comes back as is and nothing is written. */
	m.ret = EPERM;
	assert_int_equal(store_account_modify(f->s, "acme", modify_edit, &m),
			 EPERM);
	assert_int_equal(raw_int(f->path, "SELECT rate_per_s FROM accounts"), 42);
	assert_int_equal(store_account_modify(f->s, "nope", modify_edit, &m),
			 ENOENT);
	store_account_clear(&a);
}

static void test_enoent(void **state)
{
	struct fx *f = *state;
	struct store_account a;
	store_account_init(&a, "ghost");
	assert_int_equal(store_account_get(f->s, "ghost", &a), ENOENT);
	assert_int_equal(store_account_update(f->s, &a), ENOENT);
	assert_int_equal(store_account_delete(f->s, "ghost"), ENOENT);
	struct store_key k = {.kid = "k1", .alg = "HS256", .account = "ghost",
			      .len = 3, .material = (uint8_t *)"abc"};
	assert_int_equal(store_key_add(f->s, &k), ENOENT);
	assert_int_equal(store_key_remove(f->s, "ghost", "k1"), ENOENT);

	/* A key is removed only through its own account. */
	store_account_init(&a, "real");
	assert_int_equal(store_account_create(f->s, &a), 0);
	store_account_init(&a, "other");
	assert_int_equal(store_account_create(f->s, &a), 0);
	key_add(f->s, "real", "k1", "secret");
	assert_int_equal(store_key_remove(f->s, "other", "k1"), ENOENT);
	assert_int_equal(store_key_remove(f->s, "real", "k2"), ENOENT);
	assert_int_equal(store_key_remove(f->s, "real", "k1"), 0);
	assert_int_equal(store_key_remove(f->s, "real", "k1"), ENOENT);
}

static void test_cascade(void **state)
{
	struct fx *f = *state;
	struct store_account a;
	account_paid(&a, "acme");
	assert_int_equal(store_account_create(f->s, &a), 0);
	store_account_clear(&a);
	store_account_init(&a, "keep");
	assert_int_equal(store_account_create(f->s, &a), 0);
	key_add(f->s, "acme", "a1", "s1");
	key_add(f->s, "acme", "a2", "s2");
	key_add(f->s, "keep", "b1", "s3");
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM servers"), 2);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM server_urls"),
			 3);

	assert_int_equal(store_account_delete(f->s, "acme"), 0);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM keys"), 1);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM servers"), 0);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM server_urls"),
			 0);
	/* The freed kid may be used again. */
	key_add(f->s, "keep", "a1", "s4");
}

/* One field broken per row; "name" is what store_account_validate must
 * report as the first bad field. */
struct valid_case {
	const char *field;
	void (*mutate)(struct store_account *a);
};

static void m_name_empty(struct store_account *a) { a->name[0] = '\0'; }
static void m_name_upper(struct store_account *a) { a->name[0] = 'A'; }
static void m_name_dash(struct store_account *a) { a->name[0] = '-'; }
static void m_name_dot(struct store_account *a) { a->name[1] = '.'; }
static void m_name_long(struct store_account *a)
{
	memset(a->name, 'a', 63);
	a->name[63] = 'a'; /* no NUL at all */
}
static void m_max_zero(struct store_account *a) { a->max_ttl = 0; }
static void m_max_big(struct store_account *a) { a->max_ttl = 604801; }
static void m_def_zero(struct store_account *a) { a->default_ttl = 0; }
static void m_def_over(struct store_account *a) { a->max_ttl = 60; }
static void m_burst(struct store_account *a) { a->rate_burst = 0; }
/* Regression: 4294967295 was accepted and read back as -1. */
static void m_rate_big(struct store_account *a) { a->rate_per_s = 1000001; }
static void m_burst_big(struct store_account *a) { a->rate_burst = 4294967295u; }
static void m_issuer_empty(struct store_account *a) { a->issuer[0] = 0; }
static void m_issuer_ctl(struct store_account *a) { a->issuer[1] = '\n'; }
static void m_mode_bad(struct store_account *a)
{
	a->mode = (enum store_turn_mode)7;
}
static void m_mode_unpaid(struct store_account *a)
{
	a->configurable_turn = false;
	a->nservers = 0;
}
static void m_servers_unpaid(struct store_account *a)
{
	a->configurable_turn = false;
	a->mode = STORE_TURN_PLATFORM;
}
static void m_servers_many(struct store_account *a) { a->nservers = 5; }
static void m_urls_none(struct store_account *a)
{
	a->servers[1].nurls = 0;
}
static void m_url_scheme(struct store_account *a)
{
	snprintf(a->servers[0].urls[1], STORE_URL_MAX, "http://x");
}
static void m_url_space(struct store_account *a)
{
	snprintf(a->servers[1].urls[0], STORE_URL_MAX, "turn:a b");
}
static void m_url_ctl(struct store_account *a)
{
	snprintf(a->servers[1].urls[0], STORE_URL_MAX, "turn:a\x7f");
}
static void m_url_bare(struct store_account *a)
{
	snprintf(a->servers[1].urls[0], STORE_URL_MAX, "turns:");
}
/* Regression: only the scheme was checked, so these were stored and
 * handed to browsers, whose RTCPeerConnection constructor throws on them
 * (and userinfo put a password in every answer). */
static void m_url_userinfo(struct store_account *a)
{
	snprintf(a->servers[1].urls[0], STORE_URL_MAX, "turn:u:pw@203.0.113.9");
}
static void m_url_port(struct store_account *a)
{
	snprintf(a->servers[1].urls[0], STORE_URL_MAX, "turn:203.0.113.9:99999");
}
static void m_url_transport(struct store_account *a)
{
	snprintf(a->servers[0].urls[0], STORE_URL_MAX,
		 "turn:198.51.100.7?transport=sctp");
}
static void m_url_v6(struct store_account *a)
{
	snprintf(a->servers[1].urls[0], STORE_URL_MAX, "turn:[2001:db8::1:3478");
}
static void m_url_turns_udp(struct store_account *a)
{
	snprintf(a->servers[0].urls[1], STORE_URL_MAX,
		 "turns:198.51.100.7:443?transport=udp");
}
static void m_url_path(struct store_account *a)
{
	snprintf(a->servers[1].urls[0], STORE_URL_MAX, "turn://203.0.113.9/x");
}
static void m_url_stuns(struct store_account *a)
{
	snprintf(a->servers[1].urls[0], STORE_URL_MAX, "stuns:203.0.113.9");
}
/* Regression: a GET's "(redacted)" PUT back was stored as the secret. */
static void m_secret_redacted(struct store_account *a)
{
	snprintf(a->servers[1].secret, STORE_CRED_MAX, "(redacted)");
}
static void m_cred_redacted(struct store_account *a)
{
	snprintf(a->servers[0].credential, STORE_CRED_MAX, "(redacted)");
}
/* Regression: override with no server answered iceServers []. */
static void m_override_empty(struct store_account *a)
{
	a->mode = STORE_TURN_OVERRIDE;
	a->nservers = 0;
}
static void m_url_long(struct store_account *a)
{
	memset(a->servers[0].urls[0] + 5, 'x', STORE_URL_MAX - 5);
}
static void m_both(struct store_account *a)
{
	snprintf(a->servers[0].secret, STORE_CRED_MAX, "s");
}
static void m_no_cred(struct store_account *a)
{
	a->servers[0].credential[0] = '\0';
}
static void m_no_user(struct store_account *a)
{
	a->servers[0].username[0] = '\0';
}
static void m_turn_nocreds(struct store_account *a)
{
	a->servers[1].secret[0] = '\0';
}
static void m_user_ctl(struct store_account *a)
{
	a->servers[0].username[0] = '\r';
}
/* Regression (fuzz_admin): bytes that are not UTF-8, as `turnstone
 * account` takes them from argv (a Latin-1 terminal), were stored; jansson
 * then refused them, so the iceServers answer lost the username (browsers
 * throw on a TURN server without one) and the admin API printed nothing. */
static void m_user_latin1(struct store_account *a)
{
	snprintf(a->servers[0].username, STORE_CRED_MAX, "jos\xe9");
}
static void m_cred_trunc(struct store_account *a)
{
	snprintf(a->servers[0].credential, STORE_CRED_MAX, "pw\xc3");
}
static void m_issuer_overlong(struct store_account *a)
{
	snprintf(a->issuer, STORE_ISSUER_MAX, "a\xc0\xaf" "b"); /* an overlong '/' */
}
static void m_issuer_surrogate(struct store_account *a)
{
	snprintf(a->issuer, STORE_ISSUER_MAX, "\xed\xa0\x80");
}
static void m_secret_big(struct store_account *a)
{
	snprintf(a->servers[1].secret, STORE_CRED_MAX, "\xf4\x90\x80\x80");
}

static const struct valid_case valid_cases[] = {
	{"name", m_name_empty},
	{"name", m_name_upper},
	{"name", m_name_dash},
	{"name", m_name_dot},
	{"name", m_name_long},
	{"max_ttl", m_max_zero},
	{"max_ttl", m_max_big},
	{"default_ttl", m_def_zero},
	{"default_ttl", m_def_over},
	{"rate_burst", m_burst},
	{"rate_per_s", m_rate_big},
	{"rate_burst", m_burst_big},
	{"issuer", m_issuer_empty},
	{"issuer", m_issuer_ctl},
	{"mode", m_mode_bad},
	{"mode", m_mode_unpaid},
	{"servers", m_servers_unpaid},
	{"servers", m_servers_many},
	{"servers[1].urls", m_urls_none},
	{"servers[0].urls[1]", m_url_scheme},
	{"servers[1].urls[0]", m_url_space},
	{"servers[1].urls[0]", m_url_ctl},
	{"servers[1].urls[0]", m_url_bare},
	{"servers[0].urls[0]", m_url_long},
	{"servers[1].urls[0]", m_url_userinfo},
	{"servers[1].urls[0]", m_url_port},
	{"servers[0].urls[0]", m_url_transport},
	{"servers[1].urls[0]", m_url_v6},
	{"servers[0].urls[1]", m_url_turns_udp},
	{"servers[1].urls[0]", m_url_path},
	{"servers[1].urls[0]", m_url_stuns},
	{"servers[1].secret", m_secret_redacted},
	{"servers[0].credential", m_cred_redacted},
	{"servers", m_override_empty},
	{"servers[0].secret", m_both},
	{"servers[0].credential", m_no_cred},
	{"servers[0].username", m_no_user},
	{"servers[1].secret", m_turn_nocreds},
	{"servers[0].username", m_user_ctl},
	{"servers[0].username", m_user_latin1},
	{"servers[0].credential", m_cred_trunc},
	{"issuer", m_issuer_overlong},
	{"issuer", m_issuer_surrogate},
	{"servers[1].secret", m_secret_big},
};

static void test_validate(void **state)
{
	struct fx *f = *state;
	struct store_account a;
	const char *field = "unset";
	account_paid(&a, "acme");
	assert_int_equal(store_account_validate(&a, &field), 0);
	assert_null(field);
	struct store_server *keep = a.servers;
	for (size_t i = 0; i < sizeof(valid_cases) / sizeof(valid_cases[0]);
	     i++) {
		struct store_server srv[2] = {keep[0], keep[1]};
		struct store_account b = a;
		b.servers = srv;
		valid_cases[i].mutate(&b);
		int err = store_account_validate(&b, &field);
		if (err != EINVAL || !field ||
		    strcmp(field, valid_cases[i].field) != 0)
			fail_msg("case %zu: got %d %s, want %s", i, err,
				 field ? field : "-", valid_cases[i].field);
		/* Nothing invalid reaches the file. */
		assert_int_equal(store_account_create(f->s, &b), EINVAL);
	}
	/* IPv6 literals in brackets are fine. */
	snprintf(a.servers[1].urls[0], STORE_URL_MAX, "turn:[2001:db8::9]:3478?transport=tcp");
	assert_int_equal(store_account_validate(&a, &field), 0);
	/* UTF-8 is text like any other, up to U+10FFFF. */
	snprintf(a.servers[0].username, STORE_CRED_MAX, "Jos\xc3\xa9 \xe2\x82\xac\xf4\x8f\xbf\xbf");
	snprintf(a.issuer, STORE_ISSUER_MAX, "\xe6\x9d\xb1\xe4\xba\xac");
	assert_int_equal(store_account_validate(&a, &field), 0);
	/* A stun: only server needs no credentials. */
	server_set(&a.servers[1], "stun:192.0.2.1", "", "", "");
	assert_int_equal(store_account_validate(&a, &field), 0);
	store_account_clear(&a);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM accounts"), 0);
}

static void test_turn_mode(void **state)
{
	(void)state;
	enum store_turn_mode m;
	assert_int_equal(store_turn_mode_parse("override", &m), 0);
	assert_int_equal(m, STORE_TURN_OVERRIDE);
	assert_string_equal(store_turn_mode_str(m), "override");
	assert_int_equal(store_turn_mode_parse("fallback", &m), 0);
	assert_int_equal(store_turn_mode_parse("platform", &m), 0);
	assert_int_equal(m, STORE_TURN_PLATFORM);
	assert_int_equal(store_turn_mode_parse("Platform", &m), EINVAL);
	assert_int_equal(store_turn_mode_parse("", &m), EINVAL);
	assert_int_equal(store_turn_mode_parse(NULL, &m), EINVAL);
}

static void test_name_valid(void **state)
{
	(void)state;
	char n63[64], n64[65];
	memset(n63, 'a', 63);
	n63[63] = '\0';
	memset(n64, 'a', 64);
	n64[64] = '\0';
	assert_true(store_account_name_valid("acme"));
	assert_true(store_account_name_valid("0day_x-1"));
	assert_true(store_account_name_valid(n63));
	assert_false(store_account_name_valid(n64));
	assert_false(store_account_name_valid(""));
	assert_false(store_account_name_valid(NULL));
	assert_false(store_account_name_valid("-lead"));
	assert_false(store_account_name_valid("Acme"));
	assert_false(store_account_name_valid("a b"));
	assert_false(store_account_name_valid("a/b"));
}

static void test_snapshot(void **state)
{
	struct fx *f = *state;
	struct store_snap *snap = NULL;
	struct store_account a;
	const char *names[] = {"zeta", "acme", "m-1", "0day"};
	for (size_t i = 0; i < 4; i++) {
		store_account_init(&a, names[i]);
		assert_int_equal(store_account_create(f->s, &a), 0);
	}
	account_paid(&a, "paid");
	assert_int_equal(store_account_create(f->s, &a), 0);
	key_add(f->s, "zeta", "z9", "zz");
	key_add(f->s, "acme", "Ak", "aa");
	key_add(f->s, "paid", "b.2", "bb");
	key_add(f->s, "acme", "a_1", "cc");

	uint64_t v;
	assert_int_equal(store_data_version(f->s, &v), 0);
	assert_int_equal(store_snapshot(f->s, &snap), 0);
	assert_true(snap->version == v);
	assert_int_equal(snap->naccounts, 5);
	assert_int_equal(snap->nkeys, 4);
	for (size_t i = 1; i < snap->naccounts; i++)
		assert_true(strcmp(snap->accounts[i - 1].name,
				   snap->accounts[i].name) < 0);
	for (size_t i = 1; i < snap->nkeys; i++)
		assert_true(strcmp(snap->keys[i - 1].kid, snap->keys[i].kid) <
			    0);

	const struct store_account *p = store_snap_account(snap, "paid");
	assert_non_null(p);
	a.id = p->id;
	assert_account_equal(&a, p);
	store_account_clear(&a);
	for (size_t i = 0; i < 4; i++)
		assert_non_null(store_snap_account(snap, names[i]));
	assert_null(store_snap_account(snap, "nope"));
	assert_null(store_snap_account(snap, ""));

	const struct store_key *k = store_snap_key(snap, "a_1");
	assert_non_null(k);
	assert_string_equal(k->account, "acme");
	assert_string_equal(k->alg, "HS256");
	assert_int_equal(k->len, 2);
	assert_memory_equal(k->material, "cc", 2);
	assert_true(k->created > 1700000000);
	assert_non_null(store_snap_key(snap, "z9"));
	assert_null(store_snap_key(snap, "z"));

	/* Immutable: a later write does not touch it. */
	assert_int_equal(store_account_delete(f->s, "acme"), 0);
	assert_non_null(store_snap_key(snap, "Ak"));
	store_snap_free(snap);

	assert_int_equal(store_snapshot(f->s, &snap), 0);
	assert_true(snap->version != v);
	assert_int_equal(snap->naccounts, 4);
	assert_int_equal(snap->nkeys, 2);
	assert_null(store_snap_key(snap, "Ak"));
	store_snap_free(snap);
}

static void test_snapshot_empty(void **state)
{
	struct fx *f = *state;
	struct store_snap *snap = NULL;
	assert_int_equal(store_snapshot(f->s, &snap), 0);
	assert_int_equal(snap->naccounts, 0);
	assert_int_equal(snap->nkeys, 0);
	assert_null(store_snap_account(snap, "acme"));
	assert_null(store_snap_key(snap, "k1"));
	store_snap_free(snap);
}

static void test_key_material(void **state)
{
	struct fx *f = *state;
	struct store_account a;
	struct store_snap *snap = NULL;
	uint8_t *big = malloc(STORE_KEYMAT_MAX + 1);
	assert_non_null(big);
	for (size_t i = 0; i <= STORE_KEYMAT_MAX; i++)
		big[i] = (uint8_t)(i * 7); /* NULs included */
	store_account_init(&a, "acme");
	assert_int_equal(store_account_create(f->s, &a), 0);
	struct store_key k = {.kid = "big", .alg = "RS256", .account = "acme",
			      .len = STORE_KEYMAT_MAX, .material = big};
	assert_int_equal(store_key_add(f->s, &k), 0);
	k.len = STORE_KEYMAT_MAX + 1;
	snprintf(k.kid, sizeof(k.kid), "bigger");
	assert_int_equal(store_key_add(f->s, &k), EINVAL);
	k.len = 0;
	assert_int_equal(store_key_add(f->s, &k), EINVAL);
	k.len = 1;
	snprintf(k.alg, sizeof(k.alg), "none");
	assert_int_equal(store_key_add(f->s, &k), EINVAL);
	assert_int_equal(store_snapshot(f->s, &snap), 0);
	const struct store_key *got = store_snap_key(snap, "big");
	assert_non_null(got);
	assert_int_equal(got->len, STORE_KEYMAT_MAX);
	assert_memory_equal(got->material, big, STORE_KEYMAT_MAX);
	assert_string_equal(got->alg, "RS256");
	assert_null(store_snap_key(snap, "bigger"));
	store_snap_free(snap);
	free(big);
}

/* Quotes and SQL in input are data: refused by validation where the
 * field has a grammar, stored verbatim where it does not. */
static void test_injection(void **state)
{
	struct fx *f = *state;
	struct store_account a, b;
	const char *evil = "x'); DROP TABLE accounts; --";
	store_account_init(&a, evil);
	assert_int_equal(store_account_create(f->s, &a), EINVAL);
	assert_int_equal(store_account_get(f->s, evil, &b), ENOENT);
	assert_int_equal(store_account_delete(f->s, "' OR '1'='1"), ENOENT);

	account_paid(&a, "acme");
	snprintf(a.issuer, sizeof(a.issuer), "%s", evil);
	snprintf(a.servers[0].username, STORE_CRED_MAX, "\"; DELETE FROM keys");
	assert_int_equal(store_account_create(f->s, &a), 0);
	key_add(f->s, "acme", "k1", "' OR 1=1 --");
	struct store_key k = {.kid = "k1' OR '1'='1", .alg = "HS256",
			      .account = "acme", .len = 1,
			      .material = (uint8_t *)"x"};
	assert_int_equal(store_key_add(f->s, &k), EINVAL);
	assert_int_equal(store_key_remove(f->s, "acme", "k1' OR '1'='1"),
			 ENOENT);
	assert_int_equal(store_key_remove(f->s, "' OR '1'='1", "k1"), ENOENT);

	assert_int_equal(store_account_get(f->s, "acme", &b), 0);
	assert_string_equal(b.issuer, evil);
	assert_string_equal(b.servers[0].username, "\"; DELETE FROM keys");
	store_account_clear(&a);
	store_account_clear(&b);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM keys"), 1);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM accounts"), 1);
}

static void test_args(void **state)
{
	struct fx *f = *state;
	struct store *s = NULL;
	struct store_snap *snap = NULL;
	struct store_account a;
	assert_int_equal(store_open(&s, NULL), EINVAL);
	assert_int_equal(store_open(&s, ""), EINVAL);
	log_quiet(true);
	assert_int_equal(store_open(&s, "/nonexistent/dir/x.db"), ENOENT);
	log_quiet(false);
	assert_null(s);
	assert_int_equal(store_snapshot(f->s, NULL), EINVAL);
	assert_null(snap);
	assert_int_equal(store_account_create(f->s, NULL), EINVAL);
	assert_int_equal(store_account_get(f->s, NULL, &a), EINVAL);
	assert_int_equal(store_key_add(f->s, NULL), EINVAL);
	assert_int_equal(store_account_validate(NULL, NULL), EINVAL);
	store_close(NULL);
	store_snap_free(NULL);
	store_account_clear(NULL);
}

static void usage_fill(struct store_usage *u, const char *acct, int64_t end,
		       uint64_t bytes)
{
	memset(u, 0, sizeof(*u));
	snprintf(u->account, sizeof(u->account), "%s", acct);
	snprintf(u->userid, sizeof(u->userid), "%s:bob", acct);
	snprintf(u->username, sizeof(u->username), "1700000600:%s:bob", acct);
	strcpy(u->realm, "example.org");
	strcpy(u->transport, "udp");
	strcpy(u->reason, "refresh");
	u->family = 4;
	u->start = end - 10;
	u->end = end;
	u->c2p_bytes = bytes;
	u->c2p_packets = 3;
	u->p2c_bytes = 5000000000ull; /* beyond 32 bits */
	u->p2c_packets = 7;
}

static void test_usage(void **state)
{
	struct fx *f = *state;
	struct store_usage in[4], *out = NULL;
	size_t n = 99;
	usage_fill(&in[0], "acme", 1000, 1);
	usage_fill(&in[1], "acme", 2000, 2);
	usage_fill(&in[2], "other", 2000, 3);
	usage_fill(&in[3], "acme'; DROP TABLE usage; --", 3000, 4);
	assert_int_equal(store_usage_add(f->s, in, 4), 0);
	assert_int_equal(store_usage_add(f->s, in, 0), 0);
	assert_int_equal(store_usage_list(f->s, "acme", 1500, 10, &out, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].end, 2000);
	assert_int_equal(out[0].c2p_bytes, 2);
	assert_int_equal(out[0].p2c_bytes, 5000000000ull);
	assert_int_equal(out[0].p2c_packets, 7);
	assert_int_equal(out[0].family, 4);
	assert_string_equal(out[0].userid, "acme:bob");
	assert_string_equal(out[0].username, "1700000600:acme:bob");
	assert_string_equal(out[0].realm, "example.org");
	assert_string_equal(out[0].transport, "udp");
	assert_string_equal(out[0].reason, "refresh");
	free(out);
	/* Oldest first, bounded by max. */
	assert_int_equal(store_usage_list(f->s, "acme", 0, 1, &out, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].end, 1000);
	free(out);
	assert_int_equal(store_usage_list(f->s, "acme'; DROP TABLE usage; --", 0, 10,
					  &out, &n), 0);
	assert_int_equal(n, 1);
	free(out);
	assert_int_equal(store_usage_list(f->s, "nobody", 0, 10, &out, &n), 0);
	assert_int_equal(n, 0);
	free(out);
	assert_int_equal(store_usage_list(f->s, NULL, 0, 10, &out, &n), EINVAL);
	assert_int_equal(store_usage_list(f->s, "acme", 0, 0, &out, &n), EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_account_roundtrip),
		T(test_defaults),
		T(test_duplicates),
		T(test_enoent),
		T(test_cascade),
		T(test_validate),
		T(test_modify),
		T(test_turn_mode),
		T(test_name_valid),
		T(test_snapshot),
		T(test_snapshot_empty),
		T(test_key_material),
		T(test_injection),
		T(test_args),
		T(test_usage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
