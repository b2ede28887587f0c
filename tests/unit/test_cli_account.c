/* turnstone account / token against a temporary database file: the
 * commands of the CLI spec, their output, and their exit codes (0 ok,
 * 1 runtime failure, 2 usage). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "auth/jwt.h"
#include "cli/account.h"

#define NOW 1764000000u

static char db_dir[64];
static char db_path[96];

struct run {
	char *out, *err;
	size_t outlen, errlen;
	int rc;
};

static int argv_count(char **argv)
{
	int argc = 0;
	while (argv[argc])
		argc++;
	return argc;
}

static void run_cli(struct run *r, char **argv)
{
	FILE *out = open_memstream(&r->out, &r->outlen);
	FILE *err = open_memstream(&r->err, &r->errlen);
	assert_non_null(out);
	assert_non_null(err);
	if (strcmp(argv[0], "token") == 0)
		r->rc = cli_token_run(argv_count(argv), argv, NOW, out, err);
	else
		r->rc = cli_account_run(argv_count(argv), argv, out, err);
	fclose(out);
	fclose(err);
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

/* Runs argv and checks its exit status; the output is dropped. */
static void run_expect(int rc, char **argv)
{
	struct run r;
	run_cli(&r, argv);
	if (r.rc != rc)
		fail_msg("%s %s: rc %d, want %d; stderr: %s", argv[0], argv[1],
			 r.rc, rc, r.err);
	run_free(&r);
}

/* Runs argv; checks the exit status and that stderr contains want. */
static void run_fails(int rc, const char *want, char **argv)
{
	struct run r;
	run_cli(&r, argv);
	assert_int_equal(r.rc, rc);
	if (!strstr(r.err, want))
		fail_msg("stderr '%s' lacks '%s'", r.err, want);
	run_free(&r);
}

#define ACCT(...) ((char *[]){"account", __VA_ARGS__, "--db", db_path, NULL})
#define TOKEN(...) ((char *[]){"token", __VA_ARGS__, "--db", db_path, NULL})

static int db_setup(void **state)
{
	(void)state;
	snprintf(db_dir, sizeof(db_dir), "/tmp/ts_cliacct_XXXXXX");
	assert_non_null(mkdtemp(db_dir));
	snprintf(db_path, sizeof(db_path), "%s/t.db", db_dir);
	return 0;
}

static int db_teardown(void **state)
{
	(void)state;
	char p[128];
	const char *sfx[] = {"", "-wal", "-shm"};
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s%s", db_path, sfx[i]);
		unlink(p);
	}
	rmdir(db_dir);
	return 0;
}

static json_t *show_json(char *name)
{
	struct run r;
	run_cli(&r, ACCT("show", name));
	assert_int_equal(r.rc, 0);
	json_t *o = json_loads(r.out, 0, NULL);
	assert_non_null(o);
	run_free(&r);
	return o;
}

static json_int_t jint(json_t *o, const char *path)
{
	json_t *v = json_object_get(o, path);
	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

static const char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	assert_non_null(s);
	return s;
}

static void test_create_show_list(void **state)
{
	(void)state;
	struct run r;
	run_cli(&r, ACCT("create", "acme", "--configurable-turn", "--max-ttl",
			 "3600", "--rate", "5", "--burst=10", "--user-rate", "2",
			 "--user-burst", "3"));
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "\"name\": \"acme\""));
	run_free(&r);
	run_expect(0, ACCT("create", "beta", "--issuer", "https://b.example"));

	json_t *o = show_json("acme");
	assert_string_equal(jstr(o, "status"), "active");
	assert_true(json_is_true(json_object_get(
		json_object_get(o, "features"), "configurableTurn")));
	assert_int_equal(jint(o, "defaultTtl"), 3600);
	assert_int_equal(jint(o, "maxTtl"), 3600);
	json_t *rl = json_object_get(o, "rateLimit");
	assert_int_equal(jint(rl, "perSecond"), 5);
	assert_int_equal(jint(rl, "burst"), 10);
	rl = json_object_get(o, "userRateLimit");
	assert_int_equal(jint(rl, "perSecond"), 2);
	assert_int_equal(jint(rl, "burst"), 3);
	assert_string_equal(jstr(o, "issuer"), "acme");
	json_t *turn = json_object_get(o, "turn");
	assert_string_equal(jstr(turn, "mode"), "platform");
	assert_string_equal(jstr(turn, "iceTransportPolicy"), "all");
	assert_int_equal(json_array_size(json_object_get(o, "keys")), 0);
	assert_true(jint(o, "created") > 1700000000);
	json_decref(o);
	o = show_json("beta");
	assert_string_equal(jstr(o, "issuer"), "https://b.example");
	rl = json_object_get(o, "userRateLimit"); /* the defaults */
	assert_int_equal(jint(rl, "perSecond"), 10);
	assert_int_equal(jint(rl, "burst"), 50);
	json_decref(o);

	run_cli(&r, ACCT("list"));
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out, "acme\tactive\tplatform\t0\n"
				   "beta\tactive\tplatform\t0\n");
	run_free(&r);
}

static void test_create_errors(void **state)
{
	(void)state;
	char name[71];
	run_expect(0, ACCT("create", "acme"));
	run_fails(1, "turnstone account create: account 'acme': already "
		     "exists\n", ACCT("create", "acme"));
	run_fails(2, "invalid name", ACCT("create", "Bad Name"));
	run_fails(2, "invalid default_ttl",
		  ACCT("create", "x", "--default-ttl", "90000"));
	run_fails(2, "invalid --max-ttl '-1'",
		  ACCT("create", "x", "--max-ttl", "-1"));
	run_expect(2, ACCT("create", "x", "--max-ttl", "0"));
	run_expect(2, ACCT("create", "x", "--max-ttl"));
	run_expect(2, ACCT("create", "x", "--configurable-turn=yes"));
	run_expect(2, ACCT("create", "x", "y"));
	run_expect(2, ACCT("create"));
	/* 70 characters: refused, not truncated into a valid name. */
	memset(name, 'a', 70);
	name[70] = '\0';
	run_expect(2, ACCT("create", name));
}

static void test_usage_errors(void **state)
{
	(void)state;
	struct run r;
	run_fails(2, "turnstone account create: unknown option '--bogus'\n",
		  ACCT("create", "acme", "--bogus", "1"));
	run_fails(2, "unknown command 'frobnicate'", ACCT("frobnicate"));
	run_expect(2, ACCT("key", "acme"));
	run_expect(2, ACCT("show"));

	/* No --db and no $TURNSTONE_DB; then the variable alone. */
	unsetenv("TURNSTONE_DB");
	run_fails(2, "TURNSTONE_DB", ((char *[]){"account", "list", NULL}));
	setenv("TURNSTONE_DB", db_path, 1);
	run_expect(0, ((char *[]){"account", "create", "envy", NULL}));
	unsetenv("TURNSTONE_DB");
	run_expect(0, ACCT("show", "envy"));

	run_cli(&r, ((char *[]){"account", "--help", NULL}));
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "turnstone account turn set NAME"));
	run_free(&r);
}

static void test_status_delete(void **state)
{
	(void)state;
	run_expect(0, ACCT("create", "acme"));
	run_expect(0, ACCT("disable", "acme"));
	json_t *o = show_json("acme");
	assert_string_equal(jstr(o, "status"), "disabled");
	json_decref(o);
	run_expect(0, ACCT("enable", "acme"));
	o = show_json("acme");
	assert_string_equal(jstr(o, "status"), "active");
	json_decref(o);

	run_expect(0, ACCT("key", "add", "acme", "--kid", "k1", "--alg",
			   "HS256"));
	run_expect(0, ACCT("delete", "acme"));
	run_fails(1, "turnstone account show: account 'acme': not found\n",
		  ACCT("show", "acme"));
	run_expect(1, ACCT("delete", "acme"));
	run_expect(1, ACCT("disable", "acme"));
	/* The key went with the account: its kid is free again. */
	run_expect(0, ACCT("create", "acme"));
	run_expect(0, ACCT("key", "add", "acme", "--kid", "k1", "--alg",
			   "HS256"));
}

/* block, unblock, blocks: what they say, their exit codes, and the
 * list in sub order with the time each was made. */
static void test_blocks(void **state)
{
	(void)state;
	struct run r;
	run_expect(0, ACCT("create", "acme"));
	run_expect(0, ACCT("block", "acme", "zed"));
	run_expect(0, ACCT("block", "acme", "alice"));
	run_fails(0, "'alice' of account 'acme' was blocked already",
		  ACCT("block", "acme", "alice"));
	run_fails(2, "invalid sub 'a:b'", ACCT("block", "acme", "a:b"));
	run_fails(1, "account 'nobody': not found",
		  ACCT("block", "nobody", "alice"));
	run_fails(2, "usage:", ACCT("block", "acme"));
	run_cli(&r, ACCT("blocks", "acme"));
	assert_int_equal(r.rc, 0);
	char sub1[32], sub2[32];
	long long t1 = 0, t2 = 0;
	assert_int_equal(sscanf(r.out, "%31s %lld %31s %lld", sub1, &t1, sub2,
				&t2), 4);
	assert_string_equal(sub1, "alice");
	assert_string_equal(sub2, "zed");
	assert_true(t1 > 1700000000 && t2 >= t1 - 5);
	run_free(&r);
	run_expect(0, ACCT("unblock", "acme", "alice"));
	run_fails(1, "block of 'alice' in account 'acme': not found",
		  ACCT("unblock", "acme", "alice"));
	run_fails(1, "account 'nobody': not found", ACCT("blocks", "nobody"));
	run_cli(&r, ACCT("blocks", "acme"));
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "zed\t"));
	assert_null(strstr(r.out, "alice"));
	run_free(&r);
}

/* The material the store holds for kid. */
static char *stored_secret(const char *kid)
{
	struct store *s = NULL;
	struct store_snap *snap = NULL;
	assert_int_equal(store_open(&s, db_path), 0);
	assert_int_equal(store_snapshot(s, &snap), 0);
	const struct store_key *k = store_snap_key(snap, kid);
	assert_non_null(k);
	char *out = strndup((const char *)k->material, k->len);
	store_snap_free(snap);
	store_close(s);
	return out;
}

static void test_key_hs256(void **state)
{
	(void)state;
	struct run r;
	run_expect(0, ACCT("create", "acme"));
	run_expect(0, ACCT("create", "beta"));
	run_cli(&r, ACCT("key", "add", "acme", "--kid", "k1", "--alg",
			 "HS256"));
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.outlen, 44);
	assert_int_equal(strspn(r.out, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij"
				       "klmnopqrstuvwxyz0123456789-_"), 43);
	char *stored = stored_secret("k1");
	assert_memory_equal(stored, r.out, 43);
	free(stored);
	run_free(&r);

	/* A given secret is stored as given and not echoed. */
	run_cli(&r, ACCT("key", "add", "acme", "--kid", "k2", "--alg", "HS256",
			 "--secret", "0123456789abcdef0123456789abcdef"));
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out, "");
	run_free(&r);
	json_t *o = show_json("acme");
	json_t *keys = json_object_get(o, "keys");
	assert_int_equal(json_array_size(keys), 2);
	assert_string_equal(jstr(json_array_get(keys, 0), "alg"), "HS256");
	char *dump = json_dumps(o, 0); /* key material is never shown */
	assert_non_null(dump);
	assert_null(strstr(dump, "0123456789abcdef"));
	free(dump);
	json_decref(o);

	run_cli(&r, ACCT("key", "add", "beta", "--kid", "k1", "--alg",
			 "HS256"));
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.out, "");
	assert_non_null(strstr(r.err, "key 'k1': already exists"));
	run_free(&r);
	run_expect(1, ACCT("key", "add", "nobody", "--kid", "k9", "--alg",
			   "HS256"));
	run_fails(2, "at least 32 bytes",
		  ACCT("key", "add", "acme", "--kid", "k3", "--alg", "HS256",
		       "--secret", "short"));
	run_expect(2, ACCT("key", "add", "acme", "--kid", "k3", "--alg",
			   "none"));
	run_expect(2, ACCT("key", "add", "acme", "--kid", "k/3", "--alg",
			   "HS256"));
	run_expect(2, ACCT("key", "add", "acme", "--alg", "HS256"));

	run_expect(0, ACCT("key", "remove", "acme", "--kid", "k2"));
	run_fails(1, "key 'k2' of account 'acme': not found",
		  ACCT("key", "remove", "acme", "--kid", "k2"));
	run_expect(1, ACCT("key", "remove", "beta", "--kid", "k1"));
}

static void test_turn_set(void **state)
{
	(void)state;
	struct run r;
	run_expect(0, ACCT("create", "acme", "--configurable-turn"));
	run_cli(&r, ACCT("turn", "set", "acme", "--mode", "override",
			 "--relay-only", "--server",
			 "turn:198.51.100.7:3478?transport=udp,"
			 "turns:198.51.100.7:5349",
			 "--username", "u1", "--credential", "hunter2-cred",
			 "--server", "turn:203.0.113.9:3478", "--secret",
			 "sekrit-42"));
	assert_int_equal(r.rc, 0);
	assert_null(strstr(r.out, "hunter2-cred"));
	assert_null(strstr(r.out, "sekrit-42"));
	json_t *o = json_loads(r.out, 0, NULL);
	assert_non_null(o);
	run_free(&r);
	json_t *turn = json_object_get(o, "turn");
	assert_string_equal(jstr(turn, "mode"), "override");
	assert_string_equal(jstr(turn, "iceTransportPolicy"), "relay");
	json_t *srv = json_object_get(turn, "servers");
	assert_int_equal(json_array_size(srv), 2);
	json_t *s0 = json_array_get(srv, 0), *s1 = json_array_get(srv, 1);
	assert_int_equal(json_array_size(json_object_get(s0, "urls")), 2);
	assert_string_equal(jstr(s0, "username"), "u1");
	assert_string_equal(jstr(s0, "credential"), "(redacted)");
	assert_string_equal(jstr(s1, "secret"), "(redacted)");
	assert_null(json_object_get(s1, "username"));
	json_decref(o);

	/* Back to platform with no servers clears them. */
	run_expect(0, ACCT("turn", "set", "acme", "--mode", "platform"));
	o = show_json("acme");
	turn = json_object_get(o, "turn");
	assert_int_equal(json_array_size(json_object_get(turn, "servers")), 0);
	assert_string_equal(jstr(turn, "iceTransportPolicy"), "all");
	json_decref(o);
}

static void test_turn_errors(void **state)
{
	(void)state;
	run_expect(0, ACCT("create", "acme", "--configurable-turn"));
	run_expect(0, ACCT("create", "free"));
	run_fails(1, "configurable-turn",
		  ACCT("turn", "set", "free", "--mode", "fallback"));
	run_expect(0, ACCT("turn", "set", "free", "--mode", "platform",
			   "--relay-only"));
	run_fails(2, "invalid servers[0].urls[0]",
		  ACCT("turn", "set", "acme", "--mode", "override",
		       "--server", "http://x", "--secret", "s"));
	run_fails(2, "--username must follow a --server",
		  ACCT("turn", "set", "acme", "--mode", "override",
		       "--username", "u", "--server", "turn:x"));
	run_expect(2, ACCT("turn", "set", "acme", "--mode", "override",
			   "--server", "turn:x"));
	run_expect(2, ACCT("turn", "set", "acme", "--mode", "sideways"));
	run_expect(2, ACCT("turn", "set", "acme", "--server", "stun:x"));
	run_expect(2, ACCT("turn", "set", "acme", "--mode", "override",
			   "--server", "stun:a,stun:b,stun:c,stun:d,stun:e"));
	run_expect(1, ACCT("turn", "set", "ghost", "--mode", "platform"));
	/* Nothing above changed acme. */
	json_t *o = show_json("acme");
	assert_string_equal(jstr(json_object_get(o, "turn"), "mode"),
			    "platform");
	json_decref(o);
}

/* Parses and verifies tok as the API would; returns its claims. */
static void token_check(const char *tok, const char *alg,
			const uint8_t *key, size_t keylen, const char *aud,
			struct jwt_claims *c)
{
	struct jwt t;
	struct jwt_key *k = NULL;
	enum jwt_reason why = JWT_OK;
	struct jwt_expect e = {"acme", aud, NOW, 60, 0};
	assert_int_equal(jwt_parse(tok, strlen(tok), &t, &why), 0);
	assert_int_equal(jwt_key_new(&k, jwt_alg_from_str(alg), key, keylen),
			 0);
	assert_int_equal(jwt_verify(&t, k, &e, c, &why), 0);
	jwt_key_free(k);
}

static void test_token_hs256(void **state)
{
	(void)state;
	struct run r;
	struct jwt_claims c;
	run_expect(0, ACCT("create", "acme"));
	run_expect(0, ACCT("key", "add", "acme", "--kid", "k2", "--alg",
			   "HS256"));
	run_expect(0, ACCT("key", "add", "acme", "--kid", "k1", "--alg",
			   "HS256"));
	run_cli(&r, TOKEN("mint", "--account", "acme", "--sub", "alice"));
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.err, "");
	r.out[strcspn(r.out, "\n")] = '\0';
	/* No --kid: the first key in kid order. */
	char *secret = stored_secret("k1");
	token_check(r.out, "HS256", (const uint8_t *)secret, strlen(secret),
		    "turnstone", &c);
	assert_string_equal(c.sub, "alice");
	assert_int_equal(c.iat, NOW);
	assert_int_equal(c.exp, NOW + 3600);
	free(secret);
	run_free(&r);

	run_cli(&r, TOKEN("mint", "--account", "acme", "--sub", "bob",
			  "--kid", "k2", "--ttl", "60", "--aud", "other"));
	assert_int_equal(r.rc, 0);
	r.out[strcspn(r.out, "\n")] = '\0';
	secret = stored_secret("k2");
	token_check(r.out, "HS256", (const uint8_t *)secret, strlen(secret),
		    "other", &c);
	assert_int_equal(c.exp, NOW + 60);
	free(secret);
	run_free(&r);
}

static void test_token_errors(void **state)
{
	(void)state;
	run_expect(0, ACCT("create", "acme"));
	run_expect(0, ACCT("create", "beta"));
	run_fails(1, "has no keys",
		  TOKEN("mint", "--account", "acme", "--sub", "alice"));
	run_expect(0, ACCT("key", "add", "beta", "--kid", "b1", "--alg",
			   "HS256"));
	/* Another account's kid is not this account's key. */
	run_fails(1, "key 'b1' of account 'acme': not found",
		  TOKEN("mint", "--account", "acme", "--sub", "a", "--kid",
			"b1"));
	run_expect(1, TOKEN("mint", "--account", "ghost", "--sub", "a"));
	run_expect(2, TOKEN("mint", "--account", "beta", "--sub", "a:b"));
	run_expect(2, TOKEN("mint", "--account", "beta", "--sub", "a",
			    "--ttl", "0"));
	run_expect(2, TOKEN("mint", "--account", "beta"));
	run_expect(2, TOKEN("mint", "--account", "beta", "--sub", "a",
			    "--key-file", "/dev/null"));
	run_expect(2, TOKEN("mint", "--account", "beta", "--sub", "a",
			    "--bogus"));
	run_expect(2, TOKEN("burn", "--account", "beta"));
	/* Disabled: still minted, with a note. */
	run_expect(0, ACCT("disable", "beta"));
	run_fails(0, "disabled",
		  TOKEN("mint", "--account", "beta", "--sub", "a"));
	/* Over the API's default lifetime cap: minted, with a note. */
	run_fails(0, "--api-max-token-lifetime (86400 s)",
		  TOKEN("mint", "--account", "beta", "--sub", "a", "--ttl",
			"86401"));
}

/* A fresh P-256 key pair as PEM files in the test directory. */
static void ec_files(const char *pub, const char *priv)
{
	EVP_PKEY *pk = EVP_EC_gen("P-256");
	assert_non_null(pk);
	FILE *f = fopen(pub, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PUBKEY(f, pk), 1);
	fclose(f);
	f = fopen(priv, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL,
					      NULL), 1);
	fclose(f);
	EVP_PKEY_free(pk);
}

static uint8_t *file_slurp(const char *path, size_t *len)
{
	static uint8_t buf[CLI_FILE_MAX];
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	*len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	return buf;
}

static void test_token_es256(void **state)
{
	(void)state;
	char pub[128], priv[128], other[128], other_pub[128];
	struct run r;
	struct jwt_claims c;
	snprintf(pub, sizeof(pub), "%s/pub.pem", db_dir);
	snprintf(priv, sizeof(priv), "%s/priv.pem", db_dir);
	snprintf(other, sizeof(other), "%s/other.pem", db_dir);
	snprintf(other_pub, sizeof(other_pub), "%s/other_pub.pem", db_dir);
	ec_files(pub, priv);
	ec_files(other_pub, other);
	run_expect(0, ACCT("create", "acme"));
	/* A private key is refused where a public one belongs. */
	run_expect(2, ACCT("key", "add", "acme", "--kid", "e1", "--alg",
			   "ES256", "--public-key-file", priv));
	run_expect(2, ACCT("key", "add", "acme", "--kid", "e1", "--alg",
			   "RS256", "--public-key-file", pub));
	run_expect(2, ACCT("key", "add", "acme", "--kid", "e1", "--alg",
			   "ES256"));
	run_cli(&r, ACCT("key", "add", "acme", "--kid", "e1", "--alg", "ES256",
			 "--public-key-file", pub));
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out, "");
	run_free(&r);

	run_expect(2, TOKEN("mint", "--account", "acme", "--sub", "alice"));
	/* The wrong private key: caught before the token is printed. */
	run_cli(&r, TOKEN("mint", "--account", "acme", "--sub", "alice",
			  "--key-file", other));
	assert_int_equal(r.rc, 1);
	assert_string_equal(r.out, "");
	run_free(&r);

	run_cli(&r, TOKEN("mint", "--account", "acme", "--sub", "alice",
			  "--key-file", priv));
	assert_int_equal(r.rc, 0);
	r.out[strcspn(r.out, "\n")] = '\0';
	size_t len;
	const uint8_t *pem = file_slurp(pub, &len);
	token_check(r.out, "ES256", pem, len, "turnstone", &c);
	assert_string_equal(c.sub, "alice");
	run_free(&r);
	unlink(pub);
	unlink(priv);
	unlink(other);
	unlink(other_pub);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, db_setup, db_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_create_show_list),
		T(test_create_errors),
		T(test_usage_errors),
		T(test_status_delete),
		T(test_blocks),
		T(test_key_hs256),
		T(test_turn_set),
		T(test_turn_errors),
		T(test_token_hs256),
		T(test_token_errors),
		T(test_token_es256),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
