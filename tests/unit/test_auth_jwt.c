/* auth/jwt: round trips for every algorithm, then the attacks of RFC 8725
 * (alg none, key confusion), claim checks, and hostile encodings. Keys are
 * generated at start-up; the only keys in the tree are public test
 * vectors. Tokens are taken apart and rebuilt with OpenSSL's own base64,
 * not the code under test. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "auth/jwt.h"
#include "auth/jwt_int.h"

#define NOW 1700000000u
#define SKEW 60u
#define MAXLIFE 86400u
#define ISS "https://id.example"
#define AUD "turnstone"
#define TOKSZ 8192
#define BIGSZ 16384

#define C_ISS "\"iss\":\"" ISS "\""
#define C_AUD "\"aud\":\"" AUD "\""
#define C_TIMES "\"iat\":1700000000,\"exp\":1700000600"
#define GOOD_CLAIMS "{" C_ISS "," C_AUD ",\"sub\":\"alice\"," C_TIMES "}"

static const char hs_secret[] = "0123456789abcdef0123456789abcdef";

struct pem_pair {
	char *priv;
	char *pub;
};

/* Indexed by enum jwt_alg; HS256 uses hs_secret instead. */
static struct pem_pair keys[JWT_ALG_EDDSA + 1];
static struct pem_pair rsa1024, p384, ed_other, rsa_pss;

static const struct jwt_expect expect = {
	.iss = ISS,
	.aud = AUD,
	.now = NOW,
	.skew = SKEW,
	.max_lifetime = MAXLIFE,
};

static const enum jwt_alg all_algs[] = {JWT_ALG_HS256, JWT_ALG_RS256,
					JWT_ALG_ES256, JWT_ALG_EDDSA};

/* ----- fixtures ----- */

static char *pem_dup(EVP_PKEY *k, bool priv)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data = NULL, *s;
	long n;

	assert_non_null(b);
	if (priv)
		assert_int_equal(PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0,
							  NULL, NULL),
				 1);
	else
		assert_int_equal(PEM_write_bio_PUBKEY(b, k), 1);
	n = BIO_get_mem_data(b, &data);
	assert_true(n > 0);
	s = malloc((size_t)n + 1);
	assert_non_null(s);
	memcpy(s, data, (size_t)n);
	s[n] = '\0';
	BIO_free(b);
	return s;
}

static void pair_make(struct pem_pair *p, EVP_PKEY *k)
{
	assert_non_null(k);
	p->priv = pem_dup(k, true);
	p->pub = pem_dup(k, false);
	EVP_PKEY_free(k);
}

/* An RSA-PSS key is 2048 bits of RSA but not an RS256 key. */
static EVP_PKEY *rsa_pss_gen(void)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "RSA-PSS", NULL);
	EVP_PKEY *k = NULL;

	assert_non_null(c);
	assert_int_equal(EVP_PKEY_keygen_init(c), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_keygen_bits(c, 2048), 1);
	assert_int_equal(EVP_PKEY_generate(c, &k), 1);
	EVP_PKEY_CTX_free(c);
	return k;
}

static int keys_setup(void **state)
{
	(void)state;
	pair_make(&keys[JWT_ALG_RS256], EVP_RSA_gen(2048));
	pair_make(&keys[JWT_ALG_ES256], EVP_EC_gen("P-256"));
	pair_make(&keys[JWT_ALG_EDDSA],
		  EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"));
	pair_make(&rsa1024, EVP_RSA_gen(1024));
	pair_make(&p384, EVP_EC_gen("P-384"));
	pair_make(&ed_other, EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"));
	pair_make(&rsa_pss, rsa_pss_gen());
	return 0;
}

static void pair_free(struct pem_pair *p)
{
	free(p->priv);
	free(p->pub);
}

static int keys_teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		pair_free(&keys[i]);
	pair_free(&rsa1024);
	pair_free(&p384);
	pair_free(&ed_other);
	pair_free(&rsa_pss);
	return 0;
}

static const uint8_t *material(enum jwt_alg alg, bool priv, size_t *len)
{
	const char *s = hs_secret;

	if (alg != JWT_ALG_HS256)
		s = priv ? keys[alg].priv : keys[alg].pub;
	*len = strlen(s);
	return (const uint8_t *)s;
}

/* ----- helpers ----- */

static void mint(enum jwt_alg alg, const char *kid, const char *claims,
		 char *tok)
{
	size_t len;
	const uint8_t *m = material(alg, true, &len);

	assert_int_equal(jwt_sign(alg, kid, m, len, claims, tok, TOKSZ), 0);
}

/* Parse, then verify against a key made from (alg, m). */
static enum jwt_reason check_with(const char *tok, enum jwt_alg alg,
				  const void *m, size_t mlen,
				  const struct jwt_expect *e,
				  struct jwt_claims *c)
{
	struct jwt t;
	struct jwt_key *k = NULL;
	struct jwt_claims dummy;
	enum jwt_reason why = JWT_R_COUNT;
	int err = jwt_parse(tok, strlen(tok), &t, &why);

	if (err) {
		assert_int_equal(err, EINVAL);
		assert_int_not_equal(why, JWT_OK);
		return why;
	}
	assert_int_equal(why, JWT_OK);
	assert_int_equal(jwt_key_new(&k, alg, m, mlen), 0);
	err = jwt_verify(&t, k, e, c ? c : &dummy, &why);
	jwt_key_free(k);
	assert_int_equal(err, why == JWT_OK ? 0 : EACCES);
	return why;
}

static enum jwt_reason check(const char *tok, enum jwt_alg alg)
{
	size_t len;
	const uint8_t *m = material(alg, false, &len);

	return check_with(tok, alg, m, len, &expect, NULL);
}

/* Sign claims with HS256 and verify them with the default expectations:
 * claim checks do not depend on the algorithm. */
static enum jwt_reason hs_claims(const char *claims)
{
	char tok[TOKSZ];

	mint(JWT_ALG_HS256, "k1", claims, tok);
	return check(tok, JWT_ALG_HS256);
}

static void b64url_enc(const void *in, size_t n, char *out)
{
	int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);

	for (int i = 0; i < len; i++) {
		if (out[i] == '+')
			out[i] = '-';
		else if (out[i] == '/')
			out[i] = '_';
		else if (out[i] == '=')
			out[i] = '\0';
	}
}

static size_t b64url_dec(const char *in, size_t n, uint8_t *out)
{
	char buf[TOKSZ];
	size_t pad = (4 - n % 4) % 4;
	int len;

	assert_true(n + pad < sizeof(buf));
	for (size_t i = 0; i < n; i++)
		buf[i] = in[i] == '-' ? '+' : in[i] == '_' ? '/' : in[i];
	memset(buf + n, '=', pad);
	len = EVP_DecodeBlock(out, (unsigned char *)buf, (int)(n + pad));
	assert_true(len >= 0);
	return (size_t)len - pad;
}

/* snprintf into a TOKSZ buffer; truncation fails the test. */
__attribute__((format(printf, 2, 3))) static void tok_fmt(char *out,
							   const char *f, ...)
{
	va_list ap;
	int n;

	va_start(ap, f);
	n = vsnprintf(out, TOKSZ, f, ap);
	va_end(ap);
	assert_true(n >= 0 && n < TOKSZ);
}

/* header and payload are JSON texts; sig is already base64url. */
static void tok_build(const char *hdr, const char *payload, const char *sig,
		      char *tok)
{
	char h[TOKSZ], p[TOKSZ];

	b64url_enc(hdr, strlen(hdr), h);
	b64url_enc(payload, strlen(payload), p);
	tok_fmt(tok, "%s.%s.%s", h, p, sig);
}

/* A token with this header, good claims and a dummy signature, checked
 * against the HS256 key: for refusals that come before the signature. */
static enum jwt_reason hdr_check(const char *hdr)
{
	char tok[TOKSZ];

	tok_build(hdr, GOOD_CLAIMS, "AAAA", tok);
	return check(tok, JWT_ALG_HS256);
}

/* Decode segment seg (0 header, 1 payload, 2 signature) of tok into raw;
 * *b and *len give where it stands in tok. */
static size_t tok_seg(const char *tok, int seg, uint8_t *raw, size_t *b,
		      size_t *len)
{
	const char *s = tok, *e;

	for (int i = 0; i < seg; i++)
		s = strchr(s, '.') + 1;
	e = strchr(s, '.');
	*b = (size_t)(s - tok);
	*len = e ? (size_t)(e - s) : strlen(s);
	return b64url_dec(s, *len, raw);
}

/* Flip one bit of the decoded segment seg. */
static void tok_flip(const char *tok, int seg, size_t bit, char *out)
{
	uint8_t raw[TOKSZ];
	char enc[TOKSZ];
	size_t b, len, n = tok_seg(tok, seg, raw, &b, &len);

	assert_true(bit < n * 8);
	raw[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	b64url_enc(raw, n, enc);
	tok_fmt(out, "%.*s%s%s", (int)b, tok, enc, tok + b + len);
}

static size_t sig_bits(const char *tok)
{
	uint8_t raw[TOKSZ];
	size_t b, len;

	return tok_seg(tok, 2, raw, &b, &len) * 8;
}

/* ----- round trips ----- */

static void test_roundtrip_all_algs(void **state)
{
	(void)state;
	for (size_t i = 0; i < 4; i++) {
		enum jwt_alg alg = all_algs[i];
		char tok[TOKSZ];
		struct jwt t;
		struct jwt_claims c;
		enum jwt_reason why;
		size_t len;
		const uint8_t *m = material(alg, false, &len);

		mint(alg, "key-1.a_B", GOOD_CLAIMS, tok);
		assert_int_equal(jwt_parse(tok, strlen(tok), &t, &why), 0);
		assert_int_equal(t.alg, alg);
		assert_string_equal(t.kid, "key-1.a_B");
		memset(&c, 0xaa, sizeof(c));
		assert_int_equal(check_with(tok, alg, m, len, &expect, &c),
				 JWT_OK);
		assert_string_equal(c.sub, "alice");
		assert_int_equal(c.exp, 1700000600);
		assert_int_equal(c.iat, NOW);
		assert_int_equal(c.nbf, 0);
	}
}

/* The header carries exactly alg, kid and typ; payload is verbatim. */
static void test_sign_layout(void **state)
{
	(void)state;
	char tok[TOKSZ], want[TOKSZ];
	uint8_t raw[TOKSZ];
	size_t n;

	mint(JWT_ALG_ES256, "k1", GOOD_CLAIMS, tok);
	n = b64url_dec(tok, (size_t)(strchr(tok, '.') - tok), raw);
	raw[n] = '\0';
	assert_string_equal((char *)raw,
			    "{\"alg\":\"ES256\",\"kid\":\"k1\",\"typ\":\"JWT\"}");
	b64url_enc(GOOD_CLAIMS, strlen(GOOD_CLAIMS), want);
	assert_non_null(strstr(tok, want));
	/* RFC 7518 3.4: R||S, 64 bytes, not DER. */
	assert_int_equal(sig_bits(tok), 512);
}

static void test_private_pem_verifies(void **state)
{
	(void)state;
	char tok[TOKSZ];

	for (size_t i = 1; i < 4; i++) {
		enum jwt_alg alg = all_algs[i];
		const char *priv = keys[alg].priv;

		mint(alg, "k1", GOOD_CLAIMS, tok);
		assert_int_equal(check_with(tok, alg, priv, strlen(priv),
					    &expect, NULL),
				 JWT_OK);
	}
}

/* What a key store may hold: public halves and HS256 secrets only. */
static void test_key_check_public(void **state)
{
	(void)state;
	for (size_t i = 1; i < 4; i++) {
		enum jwt_alg alg = all_algs[i];
		const char *pub = keys[alg].pub, *priv = keys[alg].priv;
		assert_int_equal(jwt_key_check_public(alg, (const uint8_t *)pub,
						      strlen(pub)), 0);
		assert_int_equal(jwt_key_check_public(alg, (const uint8_t *)priv,
						      strlen(priv)), EPERM);
	}
	assert_int_equal(jwt_key_check_public(JWT_ALG_HS256,
					      (const uint8_t *)hs_secret,
					      strlen(hs_secret)), 0);
	assert_int_equal(jwt_key_check_public(JWT_ALG_HS256,
					      (const uint8_t *)hs_secret, 31),
			 EINVAL);
	const char *rsa = keys[JWT_ALG_RS256].pub;
	assert_int_equal(jwt_key_check_public(JWT_ALG_ES256, (const uint8_t *)rsa,
					      strlen(rsa)), EINVAL);
}

/* ----- interop: tokens made by another implementation -----
 * Signed with Python's cryptography (pyca) over the same header and
 * GOOD_CLAIMS. The Ed25519 key is RFC 8032 7.1 test 1; the ES256 tokens
 * were picked so that R, then S, has a leading zero byte, which R||S
 * must keep (RFC 7518 3.4). */

static const char kat_hs256[] =
	"eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0."
	"eyJpc3MiOiJodHRwczovL2lkLmV4YW1wbGUiLCJhdWQiOiJ0dXJuc3RvbmUiLCJz"
	"dWIiOiJhbGljZSIsImlhdCI6MTcwMDAwMDAwMCwiZXhwIjoxNzAwMDAwNjAwfQ."
	"OWCH4dA11W5Me2-Jo7uzyyp3i7zyzYAzYgRhpyVDFoM";

static const char kat_ed_priv[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
	"-----END PRIVATE KEY-----\n";

static const char kat_ed_pub[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"
	"-----END PUBLIC KEY-----\n";

static const char kat_eddsa[] =
	"eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0."
	"eyJpc3MiOiJodHRwczovL2lkLmV4YW1wbGUiLCJhdWQiOiJ0dXJuc3RvbmUiLCJz"
	"dWIiOiJhbGljZSIsImlhdCI6MTcwMDAwMDAwMCwiZXhwIjoxNzAwMDAwNjAwfQ."
	"KtU_4uGfRlcoid3GcSgL1SOhv5DEXbREWV0Q0koR5ieuvXoC4VgAVPJzlCRoXf3m"
	"fRHJpbhe1MupY44vUSh6Dw";

static const char kat_es_pub[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAENA2ZNbpuQRvjwragyKJgyX1g+Gpk\n"
	"rNoBs6BnEw4Z3zriSxPC8cVc/wQk4eK39eU8cWL4iqZoEGLOdPLKSwle+g==\n"
	"-----END PUBLIC KEY-----\n";

static const char kat_es256_r0[] =
	"eyJhbGciOiJFUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0."
	"eyJpc3MiOiJodHRwczovL2lkLmV4YW1wbGUiLCJhdWQiOiJ0dXJuc3RvbmUiLCJz"
	"dWIiOiJhbGljZSIsImlhdCI6MTcwMDAwMDAwMCwiZXhwIjoxNzAwMDAwNjAwfQ."
	"AI_iPJI19iS_kHs02SkTP4R_R1-m3kAn4V3A9X4U_3adPE4sQh65mTKdiBUjSebd"
	"YESuofiVEakOSD__muMF0A";

static const char kat_es256_s0[] =
	"eyJhbGciOiJFUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0."
	"eyJpc3MiOiJodHRwczovL2lkLmV4YW1wbGUiLCJhdWQiOiJ0dXJuc3RvbmUiLCJz"
	"dWIiOiJhbGljZSIsImlhdCI6MTcwMDAwMDAwMCwiZXhwIjoxNzAwMDAwNjAwfQ."
	"_t9F7eddHi4koRmr2VuLlbgeXkwx_c2O6vm2q-DBsugA-2K4t1xosHLr2TjDMq0Z"
	"5t15MrQD9j5KFRXjtPKcuA";

static const char kat_rs_pub[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAnuIJ9i8d54MkZJQ9G1s5\n"
	"aURyiEZ/6Ji3NU6s5uzSaAF6bTY2NfGAWVaBQpQr+aC7nr6QZ4+t7LbhFsMkfxf2\n"
	"BzE7p3VMsKwV8PAd+/d3WWdrj7Jop7DLEWZ+oJXv2yISFpKFTMAREpAIlw2dP60P\n"
	"3qdcpKJGuhlBKuoNWMuPuyT7VNEMuf4lgng+mJNAeJ3XyVrWbrjZZrqc93M8i+JZ\n"
	"I+NIKr/CxOmGRkl65sr276fFVJlNHHjXEmnHqXz95F7XH3Fwxiz43nhKcotE8o5F\n"
	"Ry8oSmHWXU64xWYY4tqR5eXNyq6E/nDaSzJh8S1vjNbFyPhgzHWPO/GMLb/K6b25\n"
	"uQIDAQAB\n"
	"-----END PUBLIC KEY-----\n";

static const char kat_rs256[] =
	"eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0."
	"eyJpc3MiOiJodHRwczovL2lkLmV4YW1wbGUiLCJhdWQiOiJ0dXJuc3RvbmUiLCJz"
	"dWIiOiJhbGljZSIsImlhdCI6MTcwMDAwMDAwMCwiZXhwIjoxNzAwMDAwNjAwfQ."
	"NulUDA4_HAGng5eajdxzFbVvMxM_5bFsPopnPXFNLFpgeyTl_5NTjRsAg68vAcHt"
	"T545Xp5yi8KWa4lHicLJZHgvUgGgC4p7nSRywpQAIAVF3ZXG0VIJaPB0yOvF6alA"
	"j_7n_D9dLrwW6yW14ktQIop0v00IFvNlLvEhkZJQk_tGiO0bUGhLQlT8ote2MsL4"
	"18zrCrJ_SVP_SLvN2irrTro4R6r8vDw0P3UEILaA0Z0pZgcDCRV5ZjuQMo2ZMZH3"
	"BcsTcDfiz8bwDaoZJ6-j70EuKTIpUoRBnyKQfLUt3vOJBxaWaAYL52vOX3LV_5r5"
	"UrIw3eO51Yf_IY_-7_QlkA";

static void test_interop_verify(void **state)
{
	(void)state;
	static const struct {
		const char *tok, *pem;
		enum jwt_alg alg;
	} kat[] = {
		{kat_hs256, hs_secret, JWT_ALG_HS256},
		{kat_eddsa, kat_ed_pub, JWT_ALG_EDDSA},
		{kat_es256_r0, kat_es_pub, JWT_ALG_ES256},
		{kat_es256_s0, kat_es_pub, JWT_ALG_ES256},
		{kat_rs256, kat_rs_pub, JWT_ALG_RS256},
	};
	char bad[TOKSZ];

	for (size_t i = 0; i < sizeof(kat) / sizeof(kat[0]); i++) {
		assert_int_equal(check_with(kat[i].tok, kat[i].alg, kat[i].pem,
					    strlen(kat[i].pem), &expect, NULL),
				 JWT_OK);
		tok_flip(kat[i].tok, 2, 3, bad);
		assert_int_equal(check_with(bad, kat[i].alg, kat[i].pem,
					    strlen(kat[i].pem), &expect, NULL),
				 JWT_R_SIGNATURE);
	}
}

/* HMAC and Ed25519 are deterministic: we must mint the same bytes. */
static void test_interop_sign(void **state)
{
	(void)state;
	char tok[TOKSZ];

	assert_int_equal(jwt_sign(JWT_ALG_HS256, "k1",
				  (const uint8_t *)hs_secret, 32, GOOD_CLAIMS,
				  tok, sizeof(tok)),
			 0);
	assert_string_equal(tok, kat_hs256);
	assert_int_equal(jwt_sign(JWT_ALG_EDDSA, "k1",
				  (const uint8_t *)kat_ed_priv,
				  strlen(kat_ed_priv), GOOD_CLAIMS, tok,
				  sizeof(tok)),
			 0);
	assert_string_equal(tok, kat_eddsa);
}

/* One ES256 signature in 128 has a short R or S; make enough that a
 * missing left pad would show. */
static void test_es256_many(void **state)
{
	(void)state;
	char tok[TOKSZ];

	for (int i = 0; i < 512; i++) {
		mint(JWT_ALG_ES256, "k1", GOOD_CLAIMS, tok);
		assert_int_equal(sig_bits(tok), 512);
		assert_int_equal(check(tok, JWT_ALG_ES256), JWT_OK);
	}
}

/* ----- algorithm attacks (RFC 8725 2.1, 3.1) ----- */

static void test_alg_none(void **state)
{
	(void)state;
	static const char *const algs[] = {"none", "NONE", "nOnE", "", "hs256",
					   "HS512", "HS256 ", "PS256", "ES384"};
	char tok[TOKSZ], hdr[128];

	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		snprintf(hdr, sizeof(hdr),
			 "{\"alg\":\"%s\",\"kid\":\"k1\",\"typ\":\"JWT\"}",
			 algs[i]);
		/* As "alg":"none" tokens come: with an empty signature. */
		tok_build(hdr, GOOD_CLAIMS, "", tok);
		assert_int_equal(check(tok, JWT_ALG_HS256), JWT_R_ALG);
		assert_int_equal(check(tok, JWT_ALG_EDDSA), JWT_R_ALG);
	}
	assert_int_equal(hdr_check("{\"kid\":\"k1\"}"), JWT_R_ALG);
	assert_int_equal(hdr_check("{\"alg\":null,\"kid\":\"k1\"}"), JWT_R_ALG);
}

/* The classic confusion: HMAC keyed with the server's RSA public key. */
static void test_hs256_with_rsa_pubkey(void **state)
{
	(void)state;
	const char *pem = keys[JWT_ALG_RS256].pub;
	char tok[TOKSZ];

	assert_int_equal(jwt_sign(JWT_ALG_HS256, "k1", (const uint8_t *)pem,
				  strlen(pem), GOOD_CLAIMS, tok, sizeof(tok)),
			 0);
	/* The forgery is sound as HMAC: only the pinning refuses it. */
	assert_int_equal(check_with(tok, JWT_ALG_HS256, pem, strlen(pem),
				    &expect, NULL),
			 JWT_OK);
	assert_int_equal(check(tok, JWT_ALG_RS256), JWT_R_ALG);
}

static void test_rs256_where_hs256_pinned(void **state)
{
	(void)state;
	const char *pem = keys[JWT_ALG_RS256].pub;
	char tok[TOKSZ];

	mint(JWT_ALG_RS256, "k1", GOOD_CLAIMS, tok);
	assert_int_equal(check(tok, JWT_ALG_HS256), JWT_R_ALG);
	assert_int_equal(check_with(tok, JWT_ALG_HS256, pem, strlen(pem),
				    &expect, NULL),
			 JWT_R_ALG);
	mint(JWT_ALG_ES256, "k1", GOOD_CLAIMS, tok);
	assert_int_equal(check(tok, JWT_ALG_EDDSA), JWT_R_ALG);
}

/* ----- signatures ----- */

/* For each algorithm, flip every step-th bit of segment seg and expect
 * want (JWT_R_COUNT: any refusal). */
static void flip_each(int seg, size_t step, enum jwt_reason want)
{
	char tok[TOKSZ], bad[TOKSZ];
	uint8_t raw[TOKSZ];
	size_t b, len, bits;

	for (size_t i = 0; i < 4; i++) {
		enum jwt_alg alg = all_algs[i];

		mint(alg, "k1", GOOD_CLAIMS, tok);
		bits = 8 * tok_seg(tok, seg, raw, &b, &len);
		assert_true(bits >= 256);
		for (size_t bit = 0; bit < bits; bit += step) {
			enum jwt_reason r;

			tok_flip(tok, seg, bit, bad);
			r = check(bad, alg);
			assert_int_not_equal(r, JWT_OK);
			if (want != JWT_R_COUNT)
				assert_int_equal(r, want);
		}
	}
}

static void test_flip_every_sig_bit(void **state)
{
	(void)state;
	flip_each(2, 1, JWT_R_SIGNATURE);
}

static void test_flip_payload_bit(void **state)
{
	(void)state;
	flip_each(1, 37, JWT_R_SIGNATURE);
	/* Header bits: refused, by whatever each one breaks first. */
	flip_each(0, 11, JWT_R_COUNT);
}

/* A valid signature with a byte more or less: a prefix compare, or a
 * parser that stops early, would accept these. */
static void test_sig_length(void **state)
{
	(void)state;
	char tok[TOKSZ], bad[TOKSZ], enc[TOKSZ];
	uint8_t raw[TOKSZ];

	for (size_t i = 0; i < 4; i++) {
		char *sig;
		size_t n;

		mint(all_algs[i], "k1", GOOD_CLAIMS, tok);
		sig = strrchr(tok, '.') + 1;
		n = b64url_dec(sig, strlen(sig), raw);
		for (int d = -1; d <= 1; d += 2) {
			raw[n] = 0;
			b64url_enc(raw, (size_t)((int)n + d), enc);
			tok_fmt(bad, "%.*s%s", (int)(sig - tok), tok, enc);
			assert_int_equal(check(bad, all_algs[i]),
					 JWT_R_SIGNATURE);
		}
	}
}

static void test_wrong_key_same_alg(void **state)
{
	(void)state;
	static const char other[] = "fedcba9876543210fedcba9876543210";
	char tok[TOKSZ];

	mint(JWT_ALG_HS256, "k1", GOOD_CLAIMS, tok);
	assert_int_equal(check_with(tok, JWT_ALG_HS256, other,
				    strlen(other), &expect, NULL),
			 JWT_R_SIGNATURE);
	mint(JWT_ALG_EDDSA, "k1", GOOD_CLAIMS, tok);
	assert_int_equal(check_with(tok, JWT_ALG_EDDSA, ed_other.pub,
				    strlen(ed_other.pub), &expect, NULL),
			 JWT_R_SIGNATURE);
}

static void test_empty_signature(void **state)
{
	(void)state;
	char tok[TOKSZ];

	for (size_t i = 0; i < 4; i++) {
		mint(all_algs[i], "k1", GOOD_CLAIMS, tok);
		strrchr(tok, '.')[1] = '\0';
		assert_int_equal(check(tok, all_algs[i]), JWT_R_SIGNATURE);
	}
}

/* ----- time claims (RFC 7519 4.1.4-4.1.6) ----- */

#define WITH_TIMES(t) "{" C_ISS "," C_AUD ",\"sub\":\"alice\"," t "}"

static void test_exp(void **state)
{
	(void)state;
	assert_int_equal(hs_claims(WITH_TIMES("\"iat\":1700000000")),
			 JWT_R_EXPIRED);
	assert_int_equal(hs_claims(WITH_TIMES("\"exp\":\"1700000600\"")),
			 JWT_R_EXPIRED);
	assert_int_equal(hs_claims(WITH_TIMES("\"exp\":null")), JWT_R_EXPIRED);
	assert_int_equal(hs_claims(WITH_TIMES("\"exp\":-1")), JWT_R_EXPIRED);
	/* RFC 7519 4.1.4: valid while now < exp + skew, so now - 60 with
	 * the 60 s skew is over; now - 59 and now - 1 are not. */
	assert_int_equal(hs_claims(WITH_TIMES("\"exp\":1699999939")),
			 JWT_R_EXPIRED);
	assert_int_equal(hs_claims(WITH_TIMES("\"exp\":1699999940")),
			 JWT_R_EXPIRED);
	assert_int_equal(hs_claims(WITH_TIMES("\"exp\":1699999941")), JWT_OK);
	assert_int_equal(hs_claims(WITH_TIMES("\"exp\":1699999999")), JWT_OK);
	assert_int_equal(hs_claims(WITH_TIMES("\"exp\":0")), JWT_R_EXPIRED);
}

/* RFC 7519 2: a NumericDate may have a fraction. exp rounds down, nbf
 * and iat up, so a fraction never buys a token time. */
static void test_numericdate_fraction(void **state)
{
	(void)state;
	char tok[TOKSZ];
	struct jwt_claims c;

	mint(JWT_ALG_HS256, "k1",
	     WITH_TIMES("\"iat\":1699999999.75,\"nbf\":1699999000.25,"
			"\"exp\":1700000600.9"),
	     tok);
	assert_int_equal(check_with(tok, JWT_ALG_HS256, hs_secret,
				    strlen(hs_secret), &expect, &c),
			 JWT_OK);
	assert_int_equal(c.exp, 1700000600);
	assert_int_equal(c.iat, 1700000000);
	assert_int_equal(c.nbf, 1699999001);
	assert_int_equal(hs_claims(WITH_TIMES("\"exp\":1.7000006e9")), JWT_OK);
	assert_int_equal(hs_claims(WITH_TIMES("\"exp\":1700000600.0")),
			 JWT_OK);
	/* exp + skew rounds down onto now: over. */
	assert_int_equal(hs_claims(WITH_TIMES("\"exp\":1699999940.9")),
			 JWT_R_EXPIRED);
	assert_int_equal(hs_claims(WITH_TIMES("\"exp\":-0.5")), JWT_R_EXPIRED);
	assert_int_equal(hs_claims(WITH_TIMES("\"exp\":1e300")),
			 JWT_R_LIFETIME);
	/* nbf rounds up past now + skew. */
	assert_int_equal(hs_claims(WITH_TIMES("\"nbf\":1700000060.01,"
					      "\"exp\":1700000600")),
			 JWT_R_NOT_YET);
	assert_int_equal(hs_claims(WITH_TIMES("\"nbf\":1700000060.0,"
					      "\"exp\":1700000600")),
			 JWT_OK);
	assert_int_equal(hs_claims(WITH_TIMES("\"iat\":1e300,"
					      "\"exp\":1700000600")),
			 JWT_R_NOT_YET);
	assert_int_equal(hs_claims(WITH_TIMES("\"iat\":-0.1,"
					      "\"exp\":1700000600")),
			 JWT_R_CLAIMS);
	assert_int_equal(hs_claims(WITH_TIMES("\"exp\":true")), JWT_R_EXPIRED);
}

static void test_nbf_iat(void **state)
{
	(void)state;
	assert_int_equal(hs_claims(WITH_TIMES("\"nbf\":1700000061,"
					      "\"exp\":1700000600")),
			 JWT_R_NOT_YET);
	assert_int_equal(hs_claims(WITH_TIMES("\"nbf\":1700000060,"
					      "\"exp\":1700000600")),
			 JWT_OK);
	assert_int_equal(hs_claims(WITH_TIMES("\"iat\":1700000061,"
					      "\"exp\":1700000600")),
			 JWT_R_NOT_YET);
	assert_int_equal(hs_claims(WITH_TIMES("\"iat\":1700000060,"
					      "\"exp\":1700000600")),
			 JWT_OK);
	assert_int_equal(hs_claims(WITH_TIMES("\"nbf\":\"soon\","
					      "\"exp\":1700000600")),
			 JWT_R_CLAIMS);
	assert_int_equal(hs_claims(WITH_TIMES("\"iat\":-5,"
					      "\"exp\":1700000600")),
			 JWT_R_CLAIMS);
}

static void test_nbf_reported(void **state)
{
	(void)state;
	char tok[TOKSZ];
	struct jwt_claims c;

	mint(JWT_ALG_HS256, "k1",
	     WITH_TIMES("\"nbf\":1699999000,\"exp\":1700000600"), tok);
	assert_int_equal(check_with(tok, JWT_ALG_HS256, hs_secret,
				    strlen(hs_secret), &expect, &c),
			 JWT_OK);
	assert_int_equal(c.nbf, 1699999000);
	assert_int_equal(c.iat, 0);
}

static void test_max_lifetime(void **state)
{
	(void)state;
	struct jwt_expect e = expect;
	char tok[TOKSZ];

	/* now + 86400 + 60 is the last second allowed. */
	assert_int_equal(hs_claims(WITH_TIMES("\"exp\":1700086460")), JWT_OK);
	assert_int_equal(hs_claims(WITH_TIMES("\"exp\":1700086461")),
			 JWT_R_LIFETIME);
	e.max_lifetime = 0;
	mint(JWT_ALG_HS256, "k1", WITH_TIMES("\"exp\":9000000000"), tok);
	assert_int_equal(check_with(tok, JWT_ALG_HS256, hs_secret,
				    strlen(hs_secret), &e, NULL),
			 JWT_OK);
}

/* ----- iss, aud, sub ----- */

#define WITH(f) "{" f "," C_TIMES "}"

static void test_iss(void **state)
{
	(void)state;
	struct jwt_expect e = expect;
	char tok[TOKSZ];

	assert_int_equal(hs_claims(WITH("\"iss\":\"https://evil.example\","
					C_AUD ",\"sub\":\"a\"")),
			 JWT_R_ISSUER);
	assert_int_equal(hs_claims(WITH("\"iss\":\"https://id.example/\","
					C_AUD ",\"sub\":\"a\"")),
			 JWT_R_ISSUER);
	assert_int_equal(hs_claims(WITH(C_AUD ",\"sub\":\"a\"")), JWT_R_ISSUER);
	assert_int_equal(hs_claims(WITH("\"iss\":[\"" ISS "\"]," C_AUD
					",\"sub\":\"a\"")),
			 JWT_R_ISSUER);
	/* Not expected: not checked. */
	e.iss = NULL;
	mint(JWT_ALG_HS256, "k1", WITH(C_AUD ",\"sub\":\"a\""), tok);
	assert_int_equal(check_with(tok, JWT_ALG_HS256, hs_secret,
				    strlen(hs_secret), &e, NULL),
			 JWT_OK);
}

static void test_aud(void **state)
{
	(void)state;
	assert_int_equal(hs_claims(WITH(C_ISS ",\"aud\":\"other\","
					"\"sub\":\"a\"")),
			 JWT_R_AUDIENCE);
	assert_int_equal(hs_claims(WITH(C_ISS ",\"aud\":[\"other\",\"x\"],"
					"\"sub\":\"a\"")),
			 JWT_R_AUDIENCE);
	assert_int_equal(hs_claims(WITH(C_ISS ",\"aud\":[],\"sub\":\"a\"")),
			 JWT_R_AUDIENCE);
	assert_int_equal(hs_claims(WITH(C_ISS ",\"sub\":\"a\"")),
			 JWT_R_AUDIENCE);
	assert_int_equal(hs_claims(WITH(C_ISS ",\"aud\":[\"" AUD "\",7],"
					"\"sub\":\"a\"")),
			 JWT_R_AUDIENCE);
	assert_int_equal(hs_claims(WITH(C_ISS ",\"aud\":\"turnstone2\","
					"\"sub\":\"a\"")),
			 JWT_R_AUDIENCE);
	assert_int_equal(hs_claims(WITH(C_ISS ",\"aud\":[\"x\",\"" AUD "\"],"
					"\"sub\":\"a\"")),
			 JWT_OK);
}

static void test_sub(void **state)
{
	(void)state;
	char claims[512], sub[JWT_SUB_MAX + 1];

	assert_int_equal(hs_claims(WITH(C_ISS "," C_AUD)), JWT_R_CLAIMS);
	assert_int_equal(hs_claims(WITH(C_ISS "," C_AUD ",\"sub\":\"a:b\"")),
			 JWT_R_CLAIMS);
	assert_int_equal(hs_claims(WITH(C_ISS "," C_AUD ",\"sub\":\"\"")),
			 JWT_R_CLAIMS);
	assert_int_equal(hs_claims(WITH(C_ISS "," C_AUD ",\"sub\":42")),
			 JWT_R_CLAIMS);
	assert_int_equal(hs_claims(WITH(C_ISS "," C_AUD ",\"sub\":\"a\\nb\"")),
			 JWT_R_CLAIMS);
	assert_int_equal(hs_claims(WITH(C_ISS "," C_AUD
					",\"sub\":\"caf\\u00e9\"")),
			 JWT_R_CLAIMS);
	/* NUL inside a JSON string is refused by the parser itself. */
	assert_int_equal(hs_claims(WITH(C_ISS "," C_AUD
					",\"sub\":\"a\\u0000b\"")),
			 JWT_R_MALFORMED);
	memset(sub, 'x', sizeof(sub));
	sub[JWT_SUB_MAX - 1] = '\0';
	snprintf(claims, sizeof(claims),
		 WITH(C_ISS "," C_AUD ",\"sub\":\"%s\""), sub);
	assert_int_equal(hs_claims(claims), JWT_OK);
	sub[JWT_SUB_MAX - 1] = 'x';
	sub[JWT_SUB_MAX] = '\0';
	snprintf(claims, sizeof(claims),
		 WITH(C_ISS "," C_AUD ",\"sub\":\"%s\""), sub);
	assert_int_equal(hs_claims(claims), JWT_R_CLAIMS);
}

/* ----- kid ----- */

static void test_kid(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"\"../x\"", "\"../../etc/passwd\"", "\"a'; DROP TABLE keys;--\"",
		"\"k1' OR '1'='1\"", "\"\"", "\"k 1\"", "\"k/1\"", "7", "null",
		"\"0123456789012345678901234567890123456789012345678901234567890123\"",
	};
	char tok[TOKSZ], hdr[256];
	size_t len;
	const uint8_t *m = material(JWT_ALG_HS256, true, &len);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(hdr, sizeof(hdr), "{\"alg\":\"HS256\",\"kid\":%s}",
			 bad[i]);
		assert_int_equal(hdr_check(hdr), JWT_R_KID);
	}
	assert_int_equal(hdr_check("{\"alg\":\"HS256\"}"), JWT_R_KID);
	/* 63 characters is the longest kid. */
	mint(JWT_ALG_HS256,
	     "012345678901234567890123456789012345678901234567890123456789012",
	     GOOD_CLAIMS, tok);
	assert_int_equal(check(tok, JWT_ALG_HS256), JWT_OK);
	/* jwt_sign refuses what jwt_parse would. */
	assert_int_equal(jwt_sign(JWT_ALG_HS256, "../x", m, len, GOOD_CLAIMS,
				  tok, sizeof(tok)),
			 EINVAL);
	assert_int_equal(jwt_sign(JWT_ALG_HS256, "", m, len, GOOD_CLAIMS, tok,
				  sizeof(tok)),
			 EINVAL);
}

/* ----- hostile encodings ----- */

static void test_too_long(void **state)
{
	(void)state;
	char *tok = malloc(TOKSZ), claims[4096];
	struct jwt t;
	enum jwt_reason why = JWT_OK;
	size_t n, pad;

	assert_non_null(tok);
	memset(tok, 'A', JWT_MAX_LEN + 1);
	tok[JWT_MAX_LEN + 1] = '\0';
	assert_int_equal(jwt_parse(tok, JWT_MAX_LEN + 1, &t, &why), EINVAL);
	assert_int_equal(why, JWT_R_TOO_LONG);
	/* A real token grown to the limit passes; one byte more does not. */
	for (pad = 2800, n = 0; n < JWT_MAX_LEN - 3; pad++) {
		snprintf(claims, sizeof(claims),
			 WITH(C_ISS "," C_AUD ",\"sub\":\"a\",\"p\":\"%0*d\""),
			 (int)pad, 0);
		mint(JWT_ALG_HS256, "k1", claims, tok);
		n = strlen(tok);
	}
	assert_true(n <= JWT_MAX_LEN);
	assert_int_equal(check(tok, JWT_ALG_HS256), JWT_OK);
	memset(tok + n, 'A', JWT_MAX_LEN + 1 - n);
	tok[JWT_MAX_LEN + 1] = '\0';
	assert_int_equal(check(tok, JWT_ALG_HS256), JWT_R_TOO_LONG);
	free(tok);
}

static void test_duplicate_keys(void **state)
{
	(void)state;
	assert_int_equal(hdr_check("{\"alg\":\"HS256\",\"alg\":\"HS256\","
				   "\"kid\":\"k1\"}"),
			 JWT_R_MALFORMED);
	assert_int_equal(hdr_check("{\"alg\":\"HS256\",\"kid\":\"k1\","
				   "\"kid\":\"k2\"}"),
			 JWT_R_MALFORMED);
	/* Signed, so only the duplicate can refuse it. */
	assert_int_equal(hs_claims("{" C_ISS "," C_AUD ",\"sub\":\"alice\","
				   "\"sub\":\"admin\"," C_TIMES "}"),
			 JWT_R_MALFORMED);
	assert_int_equal(hs_claims("{" C_ISS "," C_AUD ",\"sub\":\"alice\","
				   C_TIMES ",\"exp\":9999999999}"),
			 JWT_R_MALFORMED);
}

static void test_header_shape(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"[\"HS256\"]",
		"\"HS256\"",
		"{\"alg\":\"HS256\",\"kid\":\"k1\",\"x\":{}}",
		"{\"alg\":\"HS256\",\"kid\":\"k1\",\"x\":[1]}",
		"{\"alg\":\"HS256\",\"kid\":\"k1\",\"crit\":[\"exp\"]}",
		"{\"alg\":\"HS256\",\"kid\":\"k1\",\"crit\":\"b64\"}",
		"{\"alg\":\"HS256\",\"kid\":\"k1\",\"typ\":\"JWE\"}",
		"{\"alg\":\"HS256\",\"kid\":\"k1\",\"typ\":1}",
		"{\"alg\":\"HS256\",\"kid\":\"k1\"} x",
		"{\"alg\":\"HS256\",\"kid\":\"k1\"",
		"",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(hdr_check(bad[i]), JWT_R_MALFORMED);
	}
	/* Brackets inside strings are not nesting; JWT types pass. */
	assert_int_equal(hdr_check("{\"alg\":\"HS256\",\"kid\":\"k1\","
				   "\"x\":\"[{\\\"]\"}"),
			 JWT_R_SIGNATURE);
	assert_int_equal(hdr_check("{\"alg\":\"HS256\",\"kid\":\"k1\","
				   "\"typ\":\"at+jwt\"}"),
			 JWT_R_SIGNATURE);
	assert_int_equal(hdr_check("{\"alg\":\"HS256\",\"kid\":\"k1\","
				   "\"typ\":\"jwt\"}"),
			 JWT_R_SIGNATURE);
}

static void nest(char *out, size_t depth, const char *inner)
{
	size_t o = (size_t)sprintf(out, "{" C_ISS "," C_AUD ",\"sub\":\"a\","
				   C_TIMES ",\"a\":");

	for (size_t i = 1; i < depth; i++)
		out[o++] = '[';
	o += (size_t)sprintf(out + o, "%s", inner);
	for (size_t i = 1; i < depth; i++)
		out[o++] = ']';
	strcpy(out + o, "}");
}

static void test_nesting(void **state)
{
	(void)state;
	char *buf = malloc(BIGSZ), *big = malloc(BIGSZ), tok[TOKSZ];
	uint8_t raw[] = "{\"a\":1}";
	json_t *o = NULL;

	assert_non_null(buf);
	assert_non_null(big);
	/* The outer object is level 1: 16 levels pass, 17 do not. */
	nest(buf, 16, "1");
	assert_int_equal(hs_claims(buf), JWT_OK);
	nest(buf, 17, "1");
	assert_int_equal(hs_claims(buf), JWT_R_MALFORMED);
	/* Brackets and escaped quotes inside strings are not nesting... */
	nest(buf, 16, "\"[[[[[[\\\"[[[[{{{{{{\"");
	assert_int_equal(hs_claims(buf), JWT_OK);
	/* ...but an escaped backslash ends no string early. */
	nest(buf, 17, "\"\\\\\"");
	assert_int_equal(hs_claims(buf), JWT_R_MALFORMED);
	/* 3,000 deep: too long as a token; refused by the scan on its own. */
	nest(buf, 3000, "1");
	assert_int_equal(jwt_sign(JWT_ALG_HS256, "k1",
				  (const uint8_t *)hs_secret, 32, buf, big,
				  BIGSZ),
			 0);
	assert_int_equal(check(big, JWT_ALG_HS256), JWT_R_TOO_LONG);
	assert_int_equal(jwt_json_load((const uint8_t *)buf, strlen(buf), 16,
				       &o),
			 EBADMSG);
	assert_null(o);
	/* Unclosed and as deep as fits in a signed token. */
	strcpy(buf, "{\"a\":");
	memset(buf + 5, '[', 2980);
	buf[2985] = '\0';
	mint(JWT_ALG_HS256, "k1", buf, tok);
	assert_int_equal(check(tok, JWT_ALG_HS256), JWT_R_MALFORMED);
	assert_int_equal(jwt_json_load(raw, sizeof(raw) - 1, 1, &o), 0);
	json_decref(o);
	free(buf);
	free(big);
}

/* Each case would decode under a lax decoder, reaching the signature
 * check ("signature") instead of being refused as "malformed". */
static void test_bad_base64(void **state)
{
	(void)state;
	static const char alpha[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char good[TOKSZ], tok[TOKSZ], *sig, *last;
	struct jwt t;
	enum jwt_reason why = JWT_OK;

	mint(JWT_ALG_HS256, "k1", GOOD_CLAIMS, good);
	sig = strrchr(good, '.') + 1;
	/* 32 bytes: 43 characters, the last carrying 2 unused bits. */
	assert_int_equal(strlen(sig), 43);
	for (size_t i = 0; i < 6; i++) {
		strcpy(tok, good);
		tok[sig - good + 5] = "+/ =\n*"[i];
		assert_int_equal(check(tok, JWT_ALG_HS256), JWT_R_MALFORMED);
	}
	tok_fmt(tok, "%s=", good);
	assert_int_equal(check(tok, JWT_ALG_HS256), JWT_R_MALFORMED);
	/* 45 characters: the last one holds 6 bits, never a whole byte. */
	tok_fmt(tok, "%sAA", good);
	assert_int_equal(check(tok, JWT_ALG_HS256), JWT_R_MALFORMED);
	/* Payload with a padding character in the middle. */
	strcpy(tok, good);
	tok[strchr(good, '.') - good + 8] = '=';
	assert_int_equal(check(tok, JWT_ALG_HS256), JWT_R_MALFORMED);
	/* Non-canonical: the same 32 bytes with an unused bit set. */
	strcpy(tok, good);
	last = tok + strlen(tok) - 1;
	*last = alpha[(strchr(alpha, *last) - alpha) ^ 1];
	assert_int_equal(check(tok, JWT_ALG_HS256), JWT_R_MALFORMED);
	/* A NUL inside the length given is not the end of the token. */
	strcpy(tok, good);
	tok[5] = '\0';
	assert_int_equal(jwt_parse(tok, strlen(good), &t, &why), EINVAL);
	assert_int_equal(why, JWT_R_MALFORMED);
	assert_int_equal(check("!!!!.eyJ9.AAAA", JWT_ALG_HS256),
			 JWT_R_MALFORMED);
}

static void test_segments(void **state)
{
	(void)state;
	char tok[TOKSZ], two[TOKSZ], four[TOKSZ];

	mint(JWT_ALG_HS256, "k1", GOOD_CLAIMS, tok);
	snprintf(two, sizeof(two), "%.*s", (int)(strrchr(tok, '.') - tok), tok);
	tok_fmt(four, "%s.AAAA", tok);
	assert_int_equal(check(two, JWT_ALG_HS256), JWT_R_MALFORMED);
	assert_int_equal(check(four, JWT_ALG_HS256), JWT_R_MALFORMED);
	tok_fmt(four, "%s.", tok);
	assert_int_equal(check(four, JWT_ALG_HS256), JWT_R_MALFORMED);
	assert_int_equal(check("", JWT_ALG_HS256), JWT_R_MALFORMED);
	assert_int_equal(check("..", JWT_ALG_HS256), JWT_R_MALFORMED);
	assert_int_equal(check("abcd", JWT_ALG_HS256), JWT_R_MALFORMED);
}

/* ----- keys ----- */

static int key_try(enum jwt_alg alg, const char *m, size_t len)
{
	struct jwt_key *k = (struct jwt_key *)0x1;
	int err = jwt_key_new(&k, alg, (const uint8_t *)m, len);

	if (err)
		assert_ptr_equal(k, (struct jwt_key *)0x1);
	else
		jwt_key_free(k);
	return err;
}

static void test_key_sizes(void **state)
{
	(void)state;
	assert_int_equal(key_try(JWT_ALG_HS256, hs_secret, 31), EINVAL);
	assert_int_equal(key_try(JWT_ALG_HS256, hs_secret, 32), 0);
	assert_int_equal(key_try(JWT_ALG_HS256, NULL, 32), EINVAL);
	assert_int_equal(key_try(JWT_ALG_RS256, rsa1024.pub,
				 strlen(rsa1024.pub)),
			 EINVAL);
	assert_int_equal(key_try(JWT_ALG_RS256, rsa1024.priv,
				 strlen(rsa1024.priv)),
			 EINVAL);
	assert_int_equal(key_try(JWT_ALG_ES256, p384.pub, strlen(p384.pub)),
			 EINVAL);
	assert_int_equal(key_try(JWT_ALG_ES256, p384.priv, strlen(p384.priv)),
			 EINVAL);
}

/* A public key PEM with exponent e (hex) and the RS256 test key's modulus
 * shifted left by shift bits, plus add (to make it even, or odd again).
 * Free with free(). */
static char *rsa_pub_with(const char *e_hex, int shift, int add)
{
	EVP_PKEY *k = NULL, *src;
	BIO *in = BIO_new_mem_buf(keys[JWT_ALG_RS256].pub, -1);
	BIGNUM *n = NULL, *e = NULL;
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	OSSL_PARAM *p;
	char *pem;

	src = PEM_read_bio_PUBKEY(in, NULL, NULL, NULL);
	assert_non_null(src);
	assert_int_equal(EVP_PKEY_get_bn_param(src, OSSL_PKEY_PARAM_RSA_N, &n),
			 1);
	assert_int_equal(BN_lshift(n, n, shift), 1);
	assert_int_equal(BN_add_word(n, (BN_ULONG)add), 1);
	assert_true(BN_hex2bn(&e, e_hex) > 0);
	assert_int_equal(OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, n), 1);
	assert_int_equal(OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, e), 1);
	p = OSSL_PARAM_BLD_to_param(b);
	assert_int_equal(EVP_PKEY_fromdata_init(c), 1);
	assert_int_equal(EVP_PKEY_fromdata(c, &k, EVP_PKEY_PUBLIC_KEY, p), 1);
	pem = pem_dup(k, false);
	EVP_PKEY_free(k);
	EVP_PKEY_free(src);
	EVP_PKEY_CTX_free(c);
	OSSL_PARAM_free(p);
	OSSL_PARAM_BLD_free(b);
	BN_free(n);
	BN_free(e);
	BIO_free(in);
	return pem;
}

#define E_2_256_PLUS_1 "1" "0000000000000000000000000000000000000000000000000000000000000001"
#define E_2_255_PLUS_1 "8" "000000000000000000000000000000000000000000000000000000000000001"

/* RFC 8017 3.1. OpenSSL verifies with e = 1, where the signature is the
 * padded digest itself: a key like that lets anyone mint tokens, so it
 * must be refused when added, as must an even e or an even modulus. A
 * huge e or modulus would make each forged token naming the key costly
 * to check. */
static void test_rsa_exponent(void **state)
{
	(void)state;
	static const struct {
		const char *e;
		int shift, add;
		int want;
	} cases[] = {
		{"1", 0, 0, EINVAL},      {"2", 0, 0, EINVAL},
		{"10000", 0, 0, EINVAL},  {"10001", 0, 1, EINVAL},
		{E_2_256_PLUS_1, 0, 0, EINVAL},
		{"10001", 6145, 1, EINVAL}, /* 8193 bits */
		{"3", 0, 0, 0},           {"10001", 0, 0, 0},
		{E_2_255_PLUS_1, 0, 0, 0},
		{"10001", 6144, 1, 0}, /* 8192 bits */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *pem = rsa_pub_with(cases[i].e, cases[i].shift,
					 cases[i].add);
		assert_int_equal(key_try(JWT_ALG_RS256, pem, strlen(pem)),
				 cases[i].want);
		assert_int_equal(jwt_key_check_public(JWT_ALG_RS256,
						      (const uint8_t *)pem,
						      strlen(pem)),
				 cases[i].want);
		free(pem);
	}
}

static void test_key_types(void **state)
{
	(void)state;
	static const enum jwt_alg pk[] = {JWT_ALG_RS256, JWT_ALG_ES256,
					  JWT_ALG_EDDSA};

	for (size_t i = 0; i < 3; i++) {
		for (size_t j = 0; j < 3; j++) {
			const char *pub = keys[pk[j]].pub;
			assert_int_equal(key_try(pk[i], pub, strlen(pub)),
					 i == j ? 0 : EINVAL);
		}
	}
	assert_int_equal(key_try(JWT_ALG_RS256, rsa_pss.pub,
				 strlen(rsa_pss.pub)),
			 EINVAL);
	assert_int_equal(key_try(JWT_ALG_NONE, hs_secret, 32), EINVAL);
	assert_int_equal(key_try((enum jwt_alg)99, hs_secret, 32), EINVAL);
	assert_int_equal(key_try(JWT_ALG_RS256, hs_secret, 32), EINVAL);
	assert_int_equal(key_try(JWT_ALG_RS256, "", 0), EINVAL);
	/* Truncated PEM. */
	assert_int_equal(key_try(JWT_ALG_EDDSA, keys[JWT_ALG_EDDSA].pub, 40),
			 EINVAL);
	assert_int_equal(jwt_key_alg(NULL), JWT_ALG_NONE);
}

/* An encrypted key must fail, not ask for a passphrase on the tty. */
static void test_key_encrypted(void **state)
{
	(void)state;
	const char *pem = keys[JWT_ALG_EDDSA].priv;
	BIO *in = BIO_new_mem_buf(pem, -1), *out = BIO_new(BIO_s_mem());
	EVP_PKEY *k = PEM_read_bio_PrivateKey(in, NULL, NULL, NULL);
	char *data = NULL;
	long n;

	assert_non_null(k);
	assert_int_equal(PEM_write_bio_PKCS8PrivateKey(out, k,
						       EVP_aes_256_cbc(), NULL,
						       0, NULL, (void *)"pw"),
			 1);
	n = BIO_get_mem_data(out, &data);
	assert_int_equal(key_try(JWT_ALG_EDDSA, data, (size_t)n), EINVAL);
	EVP_PKEY_free(k);
	BIO_free(in);
	BIO_free(out);
}

static void test_sign_args(void **state)
{
	(void)state;
	char tok[TOKSZ], small[64], *exact;
	const char *pub = keys[JWT_ALG_ES256].pub;
	size_t len, need;
	const uint8_t *m = material(JWT_ALG_RS256, true, &len);

	/* Minting needs the private key. */
	assert_int_equal(jwt_sign(JWT_ALG_ES256, "k1", (const uint8_t *)pub,
				  strlen(pub), GOOD_CLAIMS, tok, sizeof(tok)),
			 EINVAL);
	assert_int_equal(jwt_sign(JWT_ALG_RS256, "k1",
				  (const uint8_t *)rsa1024.priv,
				  strlen(rsa1024.priv), GOOD_CLAIMS, tok,
				  sizeof(tok)),
			 EINVAL);
	assert_int_equal(jwt_sign(JWT_ALG_HS256, "k1",
				  (const uint8_t *)hs_secret, 31, GOOD_CLAIMS,
				  tok, sizeof(tok)),
			 EINVAL);
	assert_int_equal(jwt_sign(JWT_ALG_NONE, "k1", m, len, GOOD_CLAIMS, tok,
				  sizeof(tok)),
			 EINVAL);
	assert_int_equal(jwt_sign(JWT_ALG_RS256, "k1", m, len, NULL, tok,
				  sizeof(tok)),
			 EINVAL);
	assert_int_equal(jwt_sign(JWT_ALG_RS256, "k1", m, len, GOOD_CLAIMS,
				  small, sizeof(small)),
			 ENOSPC);
	assert_int_equal(jwt_sign(JWT_ALG_RS256, "k1", m, len, GOOD_CLAIMS,
				  small, 0),
			 ENOSPC);
	assert_string_equal(small, "");
	/* Exactly strlen + 1 is enough; one byte less is not. */
	mint(JWT_ALG_EDDSA, "k1", GOOD_CLAIMS, tok);
	m = material(JWT_ALG_EDDSA, true, &len);
	need = strlen(tok) + 1;
	exact = malloc(need);
	assert_non_null(exact);
	assert_int_equal(jwt_sign(JWT_ALG_EDDSA, "k1", m, len, GOOD_CLAIMS,
				  exact, need),
			 0);
	assert_string_equal(exact, tok); /* Ed25519 is deterministic */
	assert_int_equal(jwt_sign(JWT_ALG_EDDSA, "k1", m, len, GOOD_CLAIMS,
				  exact, need - 1),
			 ENOSPC);
	free(exact);
}

static void test_api_args(void **state)
{
	(void)state;
	struct jwt t;
	struct jwt_key *k = NULL;
	struct jwt_claims c;
	enum jwt_reason why = JWT_OK;
	char tok[TOKSZ];

	assert_int_equal(jwt_parse(NULL, 0, &t, &why), EINVAL);
	assert_int_equal(why, JWT_R_MALFORMED);
	mint(JWT_ALG_HS256, "k1", GOOD_CLAIMS, tok);
	assert_int_equal(jwt_parse(tok, strlen(tok), NULL, &why), EINVAL);
	assert_int_equal(jwt_parse(tok, strlen(tok), &t, NULL), 0);
	assert_int_equal(jwt_key_new(&k, JWT_ALG_HS256,
				     (const uint8_t *)hs_secret, 32),
			 0);
	assert_int_equal(jwt_key_alg(k), JWT_ALG_HS256);
	assert_int_equal(jwt_verify(&t, k, NULL, &c, &why), EINVAL);
	assert_int_equal(jwt_verify(&t, NULL, &expect, &c, &why), EINVAL);
	assert_int_equal(jwt_verify(&t, k, &expect, &c, NULL), 0);
	/* Refusal leaves the claims untouched. */
	struct jwt_expect late = expect;
	late.now = NOW + 10000;
	memset(&c, 0x5a, sizeof(c));
	assert_int_equal(jwt_verify(&t, k, &late, &c, &why), EACCES);
	assert_int_equal(why, JWT_R_EXPIRED);
	assert_int_equal(c.sub[0], 0x5a);
	assert_int_equal(c.exp, 0x5a5a5a5a5a5a5a5aull);
	jwt_key_free(k);
	jwt_key_free(NULL);
}

/* ----- names ----- */

static void test_reason_str(void **state)
{
	(void)state;
	static const char *const want[JWT_R_COUNT] = {
		"ok",      "malformed", "too_long", "alg",      "kid",
		"signature", "expired", "not_yet",  "issuer",   "audience",
		"claims",  "lifetime",
	};

	for (int r = 0; r < JWT_R_COUNT; r++)
		assert_string_equal(jwt_reason_str((enum jwt_reason)r),
				    want[r]);
	assert_string_equal(jwt_reason_str(JWT_R_COUNT), "unknown");
	assert_string_equal(jwt_reason_str((enum jwt_reason)-1), "unknown");
}

static void test_alg_names(void **state)
{
	(void)state;
	static const char *const no[] = {"none", "NONE", "nOnE", "hs256",
					 "eddsa", "HS256 ", " HS256", "RS25",
					 "", "HS384", "Ed25519"};

	for (size_t i = 0; i < 4; i++) {
		enum jwt_alg a = all_algs[i];
		assert_int_equal(jwt_alg_from_str(jwt_alg_str(a)), a);
	}
	assert_string_equal(jwt_alg_str(JWT_ALG_HS256), "HS256");
	assert_string_equal(jwt_alg_str(JWT_ALG_RS256), "RS256");
	assert_string_equal(jwt_alg_str(JWT_ALG_ES256), "ES256");
	assert_string_equal(jwt_alg_str(JWT_ALG_EDDSA), "EdDSA");
	assert_string_equal(jwt_alg_str(JWT_ALG_NONE), "none");
	assert_string_equal(jwt_alg_str((enum jwt_alg)42), "none");
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		assert_int_equal(jwt_alg_from_str(no[i]), JWT_ALG_NONE);
	assert_int_equal(jwt_alg_from_str(NULL), JWT_ALG_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_all_algs),
		cmocka_unit_test(test_sign_layout),
		cmocka_unit_test(test_private_pem_verifies),
		cmocka_unit_test(test_key_check_public),
		cmocka_unit_test(test_interop_verify),
		cmocka_unit_test(test_interop_sign),
		cmocka_unit_test(test_es256_many),
		cmocka_unit_test(test_alg_none),
		cmocka_unit_test(test_hs256_with_rsa_pubkey),
		cmocka_unit_test(test_rs256_where_hs256_pinned),
		cmocka_unit_test(test_flip_every_sig_bit),
		cmocka_unit_test(test_flip_payload_bit),
		cmocka_unit_test(test_sig_length),
		cmocka_unit_test(test_wrong_key_same_alg),
		cmocka_unit_test(test_empty_signature),
		cmocka_unit_test(test_exp),
		cmocka_unit_test(test_numericdate_fraction),
		cmocka_unit_test(test_nbf_iat),
		cmocka_unit_test(test_nbf_reported),
		cmocka_unit_test(test_max_lifetime),
		cmocka_unit_test(test_iss),
		cmocka_unit_test(test_aud),
		cmocka_unit_test(test_sub),
		cmocka_unit_test(test_kid),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_duplicate_keys),
		cmocka_unit_test(test_header_shape),
		cmocka_unit_test(test_nesting),
		cmocka_unit_test(test_bad_base64),
		cmocka_unit_test(test_segments),
		cmocka_unit_test(test_key_sizes),
		cmocka_unit_test(test_rsa_exponent),
		cmocka_unit_test(test_key_types),
		cmocka_unit_test(test_key_encrypted),
		cmocka_unit_test(test_sign_args),
		cmocka_unit_test(test_api_args),
		cmocka_unit_test(test_reason_str),
		cmocka_unit_test(test_alg_names),
	};
	return cmocka_run_group_tests(tests, keys_setup, keys_teardown);
}
