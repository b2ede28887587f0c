/* auth: REST credentials, stateless nonces, the 401 rate limiter and the
 * constant-time compare. Time is always passed in, so no clock is faked. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "auth/auth.h"
#include "stun/stun.h"

/* ----- REST credentials ----- */

struct rest_kat {
	const char *secret;
	const char *user;
	const char *pass;
};

/* Expected values computed outside this code with
 *   printf '%s' "$user" | openssl dgst -sha1 -hmac "$secret" -binary | base64
 * and, for "Jefe", RFC 2202 test case 2 (effcdf6a...259a7c79). */
static const struct rest_kat rest_kats[] = {
	{"secret", "1700000000:alice", "d8soP47RbdIKLDUOpnJPVQyq5Ts="},
	{"secret", "1893456000", "irILA7KwhR5pbbgABvXtsfxwBPs="},
	{"secret", "username", "Y+xc9oPStdL4iPyZk5J5hPDAs5M="},
	{"north", "1700000000:alice", "Cd/49soE35ICqcJF/bCTn8Z4OyE="},
	{"north", "1893456000", "sqdTDrNuKKg7b57nGt21S56Eu5s="},
	{"north", "username", "80sdDVEZGq11g0OZurVMYaq/zUg="},
	/* A key longer than the SHA-1 block is hashed first (RFC 2104 2). */
	{"a much longer shared secret of more than sixty-four bytes, which "
	 "HMAC hashes first!!",
	 "1700000000:alice", "mL7E4wmPPfKzUSzlld4idfRKe4o="},
	{"a much longer shared secret of more than sixty-four bytes, which "
	 "HMAC hashes first!!",
	 "username", "6jStfZittLlnbEiv+mFYkU5XV6Q="},
	{"Jefe", "what do ya want for nothing?", "7/zfauXrL6LSdBbV8YTfnCWafHk="},
};

static void test_rest_password_kat(void **state)
{
	(void)state;
	struct stun_mac *mac;
	assert_int_equal(stun_mac_alloc(&mac), 0);
	for (size_t i = 0; i < sizeof(rest_kats) / sizeof(rest_kats[0]); i++) {
		const struct rest_kat *k = &rest_kats[i];
		char out[AUTH_REST_PASS_LEN];
		memset(out, 'x', sizeof(out));
		assert_int_equal(auth_rest_password(k->secret, strlen(k->secret),
						    k->user, strlen(k->user),
						    out, sizeof(out)),
				 0);
		assert_string_equal(out, k->pass);
		assert_int_equal(strlen(out), AUTH_REST_PASS_LEN - 1);
		/* The kept context, re-keyed every time, gives the same. */
		memset(out, 'x', sizeof(out));
		assert_int_equal(auth_rest_password_with(mac, k->secret,
							 strlen(k->secret), k->user,
							 strlen(k->user), out,
							 sizeof(out)),
				 0);
		assert_string_equal(out, k->pass);
	}
	stun_mac_free(mac);
}

static void test_rest_password_args(void **state)
{
	(void)state;
	char out[AUTH_REST_PASS_LEN];
	const char *u = "1700000000:alice";
	assert_int_equal(auth_rest_password("s", 1, u, strlen(u), out,
					    AUTH_REST_PASS_LEN - 1),
			 ENOSPC);
	assert_int_equal(auth_rest_password("", 0, u, strlen(u), out,
					    sizeof(out)),
			 EINVAL);
	assert_int_equal(auth_rest_password(NULL, 3, u, strlen(u), out,
					    sizeof(out)),
			 EINVAL);
	assert_int_equal(auth_rest_password("s", 1, NULL, 4, out, sizeof(out)),
			 EINVAL);
	/* Only len bytes of the username count: a longer buffer is ignored. */
	char a[AUTH_REST_PASS_LEN], b[AUTH_REST_PASS_LEN];
	assert_int_equal(auth_rest_password("secret", 6, "1893456000:bob", 10,
					    a, sizeof(a)),
			 0);
	assert_string_equal(a, "irILA7KwhR5pbbgABvXtsfxwBPs=");
	/* Different secrets give different passwords for one username. */
	assert_int_equal(auth_rest_password("secret2", 7, u, strlen(u), b,
					    sizeof(b)),
			 0);
	assert_string_not_equal(b, "d8soP47RbdIKLDUOpnJPVQyq5Ts=");
}

static void test_rest_parse(void **state)
{
	(void)state;
	uint64_t exp = 0;
	const char *uid = NULL;
	size_t ulen = 99;
	const char *u = "1700000000:alice";

	assert_int_equal(auth_rest_parse(u, strlen(u), ':', &exp, &uid, &ulen), 0);
	assert_true(exp == 1700000000u);
	assert_int_equal(ulen, 5);
	assert_memory_equal(uid, "alice", 5);
	assert_ptr_equal(uid, u + 11);

	/* A bare timestamp has an empty user-id (coturn). */
	u = "1700000000";
	assert_int_equal(auth_rest_parse(u, strlen(u), ':', &exp, &uid, &ulen), 0);
	assert_true(exp == 1700000000u);
	assert_int_equal(ulen, 0);
	assert_ptr_equal(uid, u + 10);

	/* Trailing colon: empty user-id. Only the first colon splits. */
	u = "5:";
	assert_int_equal(auth_rest_parse(u, 2, ':', &exp, &uid, &ulen), 0);
	assert_true(exp == 5);
	assert_int_equal(ulen, 0);
	u = "7:a:b";
	assert_int_equal(auth_rest_parse(u, 5, ':', &exp, &uid, &ulen), 0);
	assert_int_equal(ulen, 3);
	assert_memory_equal(uid, "a:b", 3);

	/* coturn also reads "<userid>:<expiry>" when what precedes the
	 * first separator is not a number. */
	u = "alice:1700000000";
	assert_int_equal(auth_rest_parse(u, strlen(u), ':', &exp, &uid, &ulen), 0);
	assert_true(exp == 1700000000u);
	assert_ptr_equal(uid, u);
	assert_int_equal(ulen, 5);
	u = ":42";
	assert_int_equal(auth_rest_parse(u, 3, ':', &exp, &uid, &ulen), 0);
	assert_true(exp == 42);
	assert_int_equal(ulen, 0);

	/* Another separator (rest-api-separator): ':' is then plain text. */
	u = "1700000000-a:b";
	assert_int_equal(auth_rest_parse(u, strlen(u), '-', &exp, &uid, &ulen), 0);
	assert_true(exp == 1700000000u);
	assert_int_equal(ulen, 3);
	assert_memory_equal(uid, "a:b", 3);
	u = "a:b-77";
	assert_int_equal(auth_rest_parse(u, strlen(u), '-', &exp, &uid, &ulen), 0);
	assert_true(exp == 77);
	assert_int_equal(ulen, 3);
	assert_ptr_equal(uid, u);
	u = "1700000000:alice";
	assert_int_equal(auth_rest_parse(u, strlen(u), '-', &exp, &uid, &ulen),
			 EINVAL);

	/* len bounds the parse: "12345" read as "12". */
	assert_int_equal(auth_rest_parse("12345", 2, ':', &exp, NULL, NULL), 0);
	assert_true(exp == 12);

	/* The largest uint64 parses; one more overflows. */
	u = "18446744073709551615:x";
	assert_int_equal(auth_rest_parse(u, strlen(u), ':', &exp, NULL, NULL), 0);
	assert_true(exp == UINT64_MAX);
	static const char *const bad[] = {
		"", ":alice", "abc", "-1:x", "+5:x",
		" 5:x", "12a:x", "123abc", "5 :x", "0x10:x",
		"18446744073709551616:x", "99999999999999999999999:x",
		/* the user-id-first order needs a whole number after */
		"alice:", "alice:17x", "alice:-5", "a:b:5", "alice:0x10",
		"alice:18446744073709551616",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(auth_rest_parse(bad[i], strlen(bad[i]), ':', &exp,
						 &uid, &ulen),
				 EINVAL);
	assert_int_equal(auth_rest_parse(NULL, 0, ':', &exp, &uid, &ulen), EINVAL);
}

static void test_rest_check_time(void **state)
{
	(void)state;
	const uint64_t now = 1700000000, ttl = 86400, skew = 60;
	char u[64];
	struct {
		uint64_t exp;
		int want;
	} cases[] = {
		{now - 3600, EKEYEXPIRED},
		{now - 1, EKEYEXPIRED},
		{now, 0},
		{now + 1, 0},
		{now + ttl, 0},
		{now + ttl + skew, 0},
		{now + ttl + skew + 1, ERANGE},
		{now + 10 * ttl, ERANGE},
		{UINT64_MAX, ERANGE},
		{0, EKEYEXPIRED},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(u, sizeof(u), "%llu:alice",
			 (unsigned long long)cases[i].exp);
		assert_int_equal(auth_rest_check_time(u, strlen(u), ':', now, ttl,
						      skew),
				 cases[i].want);
	}
	assert_int_equal(auth_rest_check_time("alice", 5, ':', now, ttl, skew),
			 EINVAL);
	assert_int_equal(auth_rest_check_time("", 0, ':', now, ttl, skew), EINVAL);
	/* Huge ttl and skew saturate instead of wrapping to a small bound. */
	snprintf(u, sizeof(u), "%llu", (unsigned long long)(now + 5));
	assert_int_equal(auth_rest_check_time(u, strlen(u), ':', now, UINT64_MAX,
					      UINT64_MAX),
			 0);
}

static void test_rest_username(void **state)
{
	(void)state;
	char u[64];
	assert_int_equal(auth_rest_username(1700000000, 3600, "alice", ':', u,
					    sizeof(u)),
			 0);
	assert_string_equal(u, "1700003600:alice");
	assert_int_equal(auth_rest_username(10, 0, "", ':', u, sizeof(u)), 0);
	assert_string_equal(u, "10:");
	assert_int_equal(auth_rest_username(1700000000, 3600, "alice", ':', u, 16),
			 ENOSPC);
	assert_int_equal(auth_rest_username(1700000000, 3600, "alice", ':', u, 17),
			 0);
	assert_int_equal(auth_rest_username(UINT64_MAX, 1, "a", ':', u, sizeof(u)),
			 EINVAL);
	assert_int_equal(auth_rest_username(10, 5, "bob", '#', u, sizeof(u)), 0);
	assert_string_equal(u, "15#bob");
	/* No separator that would run into the expiry or hide in a log. */
	static const char badsep[] = {'5', ' ', '\t', '\0', 0x7f};
	for (size_t i = 0; i < sizeof(badsep); i++) {
		assert_false(auth_rest_sep_ok(badsep[i]));
		assert_int_equal(auth_rest_username(10, 5, "b", badsep[i], u,
						    sizeof(u)),
				 EINVAL);
	}
	assert_true(auth_rest_sep_ok(':'));
	assert_true(auth_rest_sep_ok('-'));

	/* Round trip: build, check the time, derive the password. */
	assert_int_equal(auth_rest_username(1700000000, 600, "bob", ':', u,
					    sizeof(u)),
			 0);
	assert_int_equal(auth_rest_check_time(u, strlen(u), ':', 1700000000, 600, 0),
			 0);
	assert_int_equal(auth_rest_check_time(u, strlen(u), ':', 1700000601, 600, 0),
			 EKEYEXPIRED);
	uint64_t exp;
	const char *uid;
	size_t ulen;
	assert_int_equal(auth_rest_parse(u, strlen(u), ':', &exp, &uid, &ulen), 0);
	assert_true(exp == 1700000600);
	assert_int_equal(ulen, 3);
	assert_memory_equal(uid, "bob", 3);
}

/* ----- Stateless nonces ----- */

#define T0 1700000000u
#define LIFE 600u

static void nonce_key(struct auth_nonce_key *k, uint8_t fill)
{
	memset(k->key, fill, sizeof(k->key));
	k->key[0] = 0x42;
}

static size_t nonce_make(const struct auth_nonce_key *k, const char *ip,
			 uint16_t port, int tp, uint64_t now, char *out)
{
	struct sa c;
	size_t len = 0;
	assert_int_equal(sa_set_str(&c, ip, port), 0);
	assert_int_equal(auth_nonce_make(k, &c, tp, now, 0x800000u, out, &len),
			 0);
	assert_int_equal(strlen(out), len);
	return len;
}

static int nonce_check(const struct auth_nonce_key *k, const char *ip,
		       uint16_t port, int tp, const char *n, size_t len,
		       uint64_t now)
{
	struct sa c;
	assert_int_equal(sa_set_str(&c, ip, port), 0);
	return auth_nonce_check(k, &c, tp, (const uint8_t *)n, len, now, LIFE);
}

static void test_nonce_roundtrip(void **state)
{
	(void)state;
	struct auth_nonce_key k;
	char n[AUTH_NONCE_MAX];
	nonce_key(&k, 7);

	size_t len = nonce_make(&k, "198.51.100.7", 40000, 17, T0, n);
	assert_true(len < AUTH_NONCE_MAX);
	/* RFC 8489 9.2: cookie then the features; 0x800000 is "gAAA". */
	assert_memory_equal(n, "obMatJos2gAAA", 13);
	/* ...and the stun module reads the same cookie back. */
	uint32_t feat = 0;
	assert_int_equal(stun_nonce_cookie_parse((const uint8_t *)n, len, &feat),
			 0);
	assert_int_equal(feat, STUN_FEAT_PASSWORD_ALGORITHMS);
	/* Then the timestamp in hex. */
	assert_memory_equal(n + 13, "000000006553f100", 16);
	/* Printable, no characters needing escape in a quoted-string. */
	for (size_t i = 0; i < len; i++)
		assert_true(n[i] > 0x20 && n[i] < 0x7f && n[i] != '"' &&
			    n[i] != '\\');

	assert_int_equal(nonce_check(&k, "198.51.100.7", 40000, 17, n, len, T0), 0);
	assert_int_equal(nonce_check(&k, "198.51.100.7", 40000, 17, n, len,
				     T0 + LIFE),
			 0);
	/* Deterministic for the same inputs; a different time differs. */
	char n2[AUTH_NONCE_MAX];
	nonce_make(&k, "198.51.100.7", 40000, 17, T0, n2);
	assert_string_equal(n, n2);
	nonce_make(&k, "198.51.100.7", 40000, 17, T0 + 1, n2);
	assert_string_not_equal(n, n2);

	/* IPv6 clients. */
	len = nonce_make(&k, "2001:db8::7", 5000, 6, T0, n);
	assert_int_equal(nonce_check(&k, "2001:db8::7", 5000, 6, n, len, T0 + 3),
			 0);
	assert_int_equal(nonce_check(&k, "2001:db8::8", 5000, 6, n, len, T0),
			 EACCES);
}

static void test_nonce_binding(void **state)
{
	(void)state;
	struct auth_nonce_key k, k2;
	char n[AUTH_NONCE_MAX];
	nonce_key(&k, 7);
	nonce_key(&k2, 8);
	size_t len = nonce_make(&k, "198.51.100.7", 40000, 17, T0, n);

	assert_int_equal(nonce_check(&k, "198.51.100.7", 40001, 17, n, len, T0),
			 EACCES);
	assert_int_equal(nonce_check(&k, "198.51.100.8", 40000, 17, n, len, T0),
			 EACCES);
	assert_int_equal(nonce_check(&k, "198.51.100.7", 40000, 6, n, len, T0),
			 EACCES);
	assert_int_equal(nonce_check(&k, "::ffff:198.51.100.7", 40000, 17, n,
				     len, T0),
			 EACCES);
	assert_int_equal(nonce_check(&k2, "198.51.100.7", 40000, 17, n, len, T0),
			 EACCES);
}

/* Moving the timestamp forward must not make an old nonce fresh. */
static void test_nonce_tamper(void **state)
{
	(void)state;
	struct auth_nonce_key k;
	char n[AUTH_NONCE_MAX], t[AUTH_NONCE_MAX];
	nonce_key(&k, 7);
	size_t len = nonce_make(&k, "203.0.113.9", 3478, 17, T0, n);
	uint64_t later = T0 + 10 * LIFE;
	assert_int_equal(nonce_check(&k, "203.0.113.9", 3478, 17, n, len, later),
			 ESTALE);

	/* Rewrite the timestamp as "later" (it stays well-formed hex). */
	memcpy(t, n, len + 1);
	char hex[17];
	snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)later);
	memcpy(t + 13, hex, 16);
	assert_int_equal(nonce_check(&k, "203.0.113.9", 3478, 17, t, len, later),
			 EACCES);

	/* Flip every byte in turn: each tampered nonce is rejected. */
	for (size_t i = 0; i < len; i++) {
		memcpy(t, n, len + 1);
		t[i] ^= 0x01;
		assert_int_not_equal(nonce_check(&k, "203.0.113.9", 3478, 17, t,
						 len, T0),
				     0);
	}
	/* Uppercase hex is another spelling of the same time: not ours. */
	memcpy(t, n, len + 1);
	assert_int_equal(t[13 + 12], 'f');
	t[13 + 12] = 'F';
	assert_int_equal(nonce_check(&k, "203.0.113.9", 3478, 17, t, len, T0),
			 EACCES);
	/* Truncated or extended. */
	assert_int_equal(nonce_check(&k, "203.0.113.9", 3478, 17, n, len - 1, T0),
			 EACCES);
	memcpy(t, n, len);
	t[len] = 'A';
	assert_int_equal(nonce_check(&k, "203.0.113.9", 3478, 17, t, len + 1, T0),
			 EACCES);
	/* The features are signed too: another feature set is not ours. */
	memcpy(t, n, len + 1);
	memcpy(t + 9, "wAAA", 4);
	assert_int_equal(nonce_check(&k, "203.0.113.9", 3478, 17, t, len, T0),
			 EACCES);
}

static void test_nonce_stale(void **state)
{
	(void)state;
	struct auth_nonce_key k;
	char n[AUTH_NONCE_MAX];
	nonce_key(&k, 1);
	size_t len = nonce_make(&k, "192.0.2.1", 1, 17, T0, n);
	assert_int_equal(nonce_check(&k, "192.0.2.1", 1, 17, n, len, T0 + LIFE),
			 0);
	assert_int_equal(nonce_check(&k, "192.0.2.1", 1, 17, n, len,
				     T0 + LIFE + 1),
			 ESTALE);
	/* A little in the future is tolerated (worker clocks), more is not. */
	assert_int_equal(nonce_check(&k, "192.0.2.1", 1, 17, n, len, T0 - 2), 0);
	assert_int_equal(nonce_check(&k, "192.0.2.1", 1, 17, n, len, T0 - 3600),
			 ESTALE);
	/* Extreme timestamps do not wrap. */
	len = nonce_make(&k, "192.0.2.1", 1, 17, 0, n);
	assert_int_equal(nonce_check(&k, "192.0.2.1", 1, 17, n, len, UINT64_MAX),
			 ESTALE);
	len = nonce_make(&k, "192.0.2.1", 1, 17, UINT64_MAX, n);
	assert_int_equal(nonce_check(&k, "192.0.2.1", 1, 17, n, len, UINT64_MAX),
			 0);
	assert_int_equal(nonce_check(&k, "192.0.2.1", 1, 17, n, len, 0), ESTALE);
}

static void test_nonce_garbage(void **state)
{
	(void)state;
	struct auth_nonce_key k;
	nonce_key(&k, 3);
	static const char *const bad[] = {
		"",
		"x",
		"obMatJos2",
		"obMatJos2gAAA",
		"obMatJos2gAAA000000006553f100",
		"obMatJos2gAAA000000006553f100AAAAAAAAAAAAAAAAAAAAAA",
		"obMatJos2gAAA00000000zzzzzzzzAAAAAAAAAAAAAAAAAAAAAA",
		"XXXXXXXXXgAAA000000006553f100AAAAAAAAAAAAAAAAAAAAAA",
		"f/bRTa8iXqsZd2Ag9rEeh8CXmS4r8bkyvJqpIwS0hC+7Rs3ddaO",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(nonce_check(&k, "192.0.2.1", 1, 17, bad[i],
					     strlen(bad[i]), T0),
				 EACCES);
	/* Embedded NULs in the timestamp field. */
	char n[AUTH_NONCE_MAX];
	size_t len = nonce_make(&k, "192.0.2.1", 1, 17, T0, n);
	n[20] = '\0';
	assert_int_equal(nonce_check(&k, "192.0.2.1", 1, 17, n, len, T0), EACCES);

	/* Arguments. */
	struct sa c;
	size_t l;
	sa_set_str(&c, "192.0.2.1", 1);
	assert_int_equal(auth_nonce_make(NULL, &c, 17, T0, 0, n, &l), EINVAL);
	assert_int_equal(auth_nonce_make(&k, NULL, 17, T0, 0, n, &l), EINVAL);
	assert_int_equal(auth_nonce_check(&k, &c, 17, NULL, 0, T0, LIFE), EACCES);
}

/* ----- Rate limiter ----- */

static struct sa rl_sa(const char *ip, uint16_t port)
{
	struct sa s;
	assert_int_equal(sa_set_str(&s, ip, port), 0);
	return s;
}

static void test_ratelimit_burst_refill(void **state)
{
	(void)state;
	struct auth_ratelimit *rl = NULL;
	/* 2 replies per second, burst of 5. */
	assert_int_equal(auth_ratelimit_alloc(&rl, 64, 2, 5), 0);
	struct sa a = rl_sa("198.51.100.1", 1000);
	uint64_t t = 1000000;

	for (int i = 0; i < 5; i++)
		assert_true(auth_ratelimit_allow(rl, &a, t));
	assert_false(auth_ratelimit_allow(rl, &a, t));
	/* Another source port of the same IP shares the bucket. */
	struct sa a2 = rl_sa("198.51.100.1", 2000);
	assert_false(auth_ratelimit_allow(rl, &a2, t));
	/* Half a token after 250 ms is not enough; a whole one at 500 ms. */
	assert_false(auth_ratelimit_allow(rl, &a, t + 250));
	assert_true(auth_ratelimit_allow(rl, &a, t + 500));
	assert_false(auth_ratelimit_allow(rl, &a, t + 500));
	/* A long pause refills to the burst, not beyond. */
	t += 3600 * 1000;
	for (int i = 0; i < 5; i++)
		assert_true(auth_ratelimit_allow(rl, &a2, t));
	assert_false(auth_ratelimit_allow(rl, &a, t));
	/* A clock stepping backwards grants nothing. */
	assert_false(auth_ratelimit_allow(rl, &a, t - 100000));
	assert_false(auth_ratelimit_allow(rl, &a, t));
	/* Steady state: exactly rate per second. */
	unsigned ok = 0;
	for (uint64_t ms = 1; ms <= 10000; ms++)
		ok += auth_ratelimit_allow(rl, &a, t + ms);
	assert_int_equal(ok, 20);
	auth_ratelimit_free(rl);
}

static void test_ratelimit_per_ip(void **state)
{
	(void)state;
	struct auth_ratelimit *rl = NULL;
	/* The seed is random, so bucket indexes are too; with 2^20 buckets
	 * the odds that two of these few sources share one are ~1e-5. */
	assert_int_equal(auth_ratelimit_alloc(&rl, 1u << 20, 1, 3), 0);
	struct sa a = rl_sa("198.51.100.1", 1);
	struct sa b = rl_sa("198.51.100.2", 1);
	struct sa v6a = rl_sa("2001:db8:1:1::1", 1);
	struct sa v6b = rl_sa("2001:db8:1:2::1", 1);
	for (int i = 0; i < 3; i++)
		assert_true(auth_ratelimit_allow(rl, &a, 0));
	assert_false(auth_ratelimit_allow(rl, &a, 0));
	for (int i = 0; i < 3; i++)
		assert_true(auth_ratelimit_allow(rl, &b, 0));
	assert_false(auth_ratelimit_allow(rl, &b, 0));
	for (int i = 0; i < 3; i++)
		assert_true(auth_ratelimit_allow(rl, &v6a, 0));
	assert_false(auth_ratelimit_allow(rl, &v6a, 0));
	/* Another address in the same /64 is the same host. */
	struct sa v6a2 = rl_sa("2001:db8:1:1::ffff", 9);
	assert_false(auth_ratelimit_allow(rl, &v6a2, 0));
	/* A different /64 is not. */
	assert_true(auth_ratelimit_allow(rl, &v6b, 0));
	/* An IPv4-mapped source is its IPv4 address, not one shared /64. */
	struct sa m = rl_sa("::ffff:198.51.100.1", 7);
	assert_false(auth_ratelimit_allow(rl, &m, 0));
	struct sa m2 = rl_sa("::ffff:198.51.100.3", 7);
	assert_true(auth_ratelimit_allow(rl, &m2, 0));
	auth_ratelimit_free(rl);
}

static void test_ratelimit_args(void **state)
{
	(void)state;
	struct auth_ratelimit *rl = NULL;
	assert_int_equal(auth_ratelimit_alloc(&rl, 0, 1, 1), EINVAL);
	assert_int_equal(auth_ratelimit_alloc(&rl, 1, 0, 1), EINVAL);
	assert_int_equal(auth_ratelimit_alloc(&rl, 1, 1, 0), EINVAL);
	assert_null(rl);
	/* One bucket: every source shares it. */
	assert_int_equal(auth_ratelimit_alloc(&rl, 1, 1, 2), 0);
	struct sa a = rl_sa("198.51.100.1", 1);
	struct sa b = rl_sa("2001:db8::1", 1);
	assert_true(auth_ratelimit_allow(rl, &a, 5));
	assert_true(auth_ratelimit_allow(rl, &b, 5));
	assert_false(auth_ratelimit_allow(rl, &a, 5));
	assert_false(auth_ratelimit_allow(rl, &b, 5));
	/* Huge gaps and huge rates do not overflow. */
	assert_true(auth_ratelimit_allow(rl, &a, UINT64_MAX));
	auth_ratelimit_free(rl);
	assert_int_equal(auth_ratelimit_alloc(&rl, 4, UINT32_MAX, 1), 0);
	assert_true(auth_ratelimit_allow(rl, &a, 0));
	assert_false(auth_ratelimit_allow(rl, &a, 0));
	assert_true(auth_ratelimit_allow(rl, &a, 1));
	auth_ratelimit_free(rl);
	auth_ratelimit_free(NULL);
}

/* ----- Constant-time compare ----- */

static void test_ct_equal(void **state)
{
	(void)state;
	uint8_t a[32], b[32];
	memset(a, 0xa5, sizeof(a));
	memcpy(b, a, sizeof(b));
	assert_true(auth_ct_equal(a, b, sizeof(a)));
	assert_true(auth_ct_equal(a, b, 0));
	for (size_t i = 0; i < sizeof(a); i++) {
		b[i] ^= 0x80;
		assert_false(auth_ct_equal(a, b, sizeof(a)));
		b[i] ^= 0x80;
	}
	b[31] ^= 1;
	assert_true(auth_ct_equal(a, b, 31));
}

/* The reused nonce HMAC gives the same nonces as the one-shot one, and
 * re-keys itself when handed another key (a reload). */
static void test_nonce_mac_reuse(void **state)
{
	(void)state;
	struct auth_nonce_key k1, k2;
	struct auth_nonce_mac *m;
	struct sa c;
	char a[AUTH_NONCE_MAX], b[AUTH_NONCE_MAX];
	size_t la, lb;
	nonce_key(&k1, 1);
	nonce_key(&k2, 2);
	assert_int_equal(sa_set_str(&c, "192.0.2.1", 5000), 0);
	assert_int_equal(auth_nonce_mac_alloc(&m), 0);
	for (int round = 0; round < 2; round++) {
		const struct auth_nonce_key *k = round ? &k2 : &k1;
		const struct auth_nonce_key *other = round ? &k1 : &k2;
		assert_int_equal(auth_nonce_make(k, &c, 17, T0, 0x800000u, a, &la), 0);
		assert_int_equal(auth_nonce_make_with(k, m, &c, 17, T0, 0x800000u,
						      b, &lb), 0);
		assert_int_equal(la, lb);
		assert_memory_equal(a, b, la);
		assert_int_equal(auth_nonce_check_with(k, m, &c, 17, (uint8_t *)b,
						       lb, T0, LIFE), 0);
		assert_int_equal(auth_nonce_check_with(other, m, &c, 17,
						       (uint8_t *)b, lb, T0, LIFE),
				 EACCES);
		assert_int_equal(auth_nonce_check_with(k, m, &c, 17, (uint8_t *)b,
						       lb, T0, LIFE), 0);
	}
	auth_nonce_mac_free(m);
}

/* ----- The REST key cache ----- */

static void test_keycache_match(void **state)
{
	(void)state;
	struct auth_keycache *c;
	uint8_t k1[16], k2[32], out[32];
	size_t n = 0;
	memset(k1, 0x11, sizeof(k1));
	memset(k2, 0x22, sizeof(k2));
	assert_int_equal(auth_keycache_alloc(&c, 0, 1), EINVAL);
	assert_int_equal(auth_keycache_alloc(&c, 3, 1), EINVAL);
	assert_int_equal(auth_keycache_alloc(&c, 16, 1), 0);
	assert_int_equal(auth_keycache_get(c, "1700:bob", 8, "r", false, out, &n), ENOENT);
	auth_keycache_put(c, "1700:bob", 8, "r", false, k1, 16);
	auth_keycache_put(c, "1700:bob", 8, "r", true, k2, 32);
	/* One slot per username: the SHA-256 key replaced the MD5 one. */
	assert_int_equal(auth_keycache_get(c, "1700:bob", 8, "r", false, out, &n), ENOENT);
	assert_int_equal(auth_keycache_get(c, "1700:bob", 8, "r", true, out, &n), 0);
	assert_int_equal(n, 32);
	assert_memory_equal(out, k2, 32);
	auth_keycache_put(c, "1700:bob", 8, "r", false, k1, 16);
	assert_int_equal(auth_keycache_get(c, "1700:bob", 8, "r", false, out, &n), 0);
	assert_int_equal(n, 16);
	assert_memory_equal(out, k1, 16);
	/* Another realm, a prefix, a longer name, another length: misses. */
	assert_int_equal(auth_keycache_get(c, "1700:bob", 8, "R", false, out, &n), ENOENT);
	assert_int_equal(auth_keycache_get(c, "1700:bob", 8, "", false, out, &n), ENOENT);
	assert_int_equal(auth_keycache_get(c, "1700:bo", 7, "r", false, out, &n), ENOENT);
	assert_int_equal(auth_keycache_get(c, "1700:bobb", 9, "r", false, out, &n), ENOENT);
	assert_int_equal(auth_keycache_get(c, "1700:bo", 8, "br", false, out, &n), ENOENT);
	/* A reload clears it. */
	auth_keycache_clear(c);
	assert_int_equal(auth_keycache_get(c, "1700:bob", 8, "r", false, out, &n), ENOENT);
	auth_keycache_free(c);
	auth_keycache_free(NULL);
}

/* Bounded: many usernames never grow it, and each lookup returns either
 * that username's own key or nothing. Too-long entries are not kept. */
static void test_keycache_bounded(void **state)
{
	(void)state;
	struct auth_keycache *c;
	uint8_t key[16], out[32];
	char user[32], big[200];
	size_t n, hits = 0;
	assert_int_equal(auth_keycache_alloc(&c, 8, 7), 0);
	for (unsigned i = 0; i < 1000; i++) {
		snprintf(user, sizeof(user), "1700:u%u", i);
		memset(key, (int)(i & 0xff), sizeof(key));
		auth_keycache_put(c, user, strlen(user), "r", false, key, 16);
	}
	for (unsigned i = 0; i < 1000; i++) {
		snprintf(user, sizeof(user), "1700:u%u", i);
		if (auth_keycache_get(c, user, strlen(user), "r", false, out, &n))
			continue;
		hits++;
		assert_int_equal(out[0], i & 0xff);
	}
	assert_true(hits >= 1 && hits <= 8);
	memset(big, 'a', sizeof(big));
	auth_keycache_put(c, big, sizeof(big), "r", false, key, 16);
	assert_int_equal(auth_keycache_get(c, big, sizeof(big), "r", false, out, &n),
			 ENOENT);
	auth_keycache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rest_password_kat),
		cmocka_unit_test(test_rest_password_args),
		cmocka_unit_test(test_rest_parse),
		cmocka_unit_test(test_rest_check_time),
		cmocka_unit_test(test_rest_username),
		cmocka_unit_test(test_nonce_roundtrip),
		cmocka_unit_test(test_nonce_binding),
		cmocka_unit_test(test_nonce_tamper),
		cmocka_unit_test(test_nonce_stale),
		cmocka_unit_test(test_nonce_garbage),
		cmocka_unit_test(test_nonce_mac_reuse),
		cmocka_unit_test(test_keycache_match),
		cmocka_unit_test(test_keycache_bounded),
		cmocka_unit_test(test_ratelimit_burst_refill),
		cmocka_unit_test(test_ratelimit_per_ip),
		cmocka_unit_test(test_ratelimit_args),
		cmocka_unit_test(test_ct_equal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
