/* net_tls_new's reasons: each names the file (or value) and says why in
 * words a person acts on, including the errno of a file that cannot be
 * opened (OpenSSL's last error says only "system lib" there). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "net/net.h"

struct files {
	char dir[64], cert[96], key[96], key2[96];
};

static void write_key(const char *path, EVP_PKEY *k)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
}

/* A self-signed P-256 certificate and its key, and a second key. */
static int setup(void **state)
{
	struct files *fs = calloc(1, sizeof(*fs));
	assert_non_null(fs);
	strcpy(fs->dir, "/tmp/ts-net-tls.XXXXXX");
	assert_non_null(mkdtemp(fs->dir));
	snprintf(fs->cert, sizeof(fs->cert), "%s/cert.pem", fs->dir);
	snprintf(fs->key, sizeof(fs->key), "%s/key.pem", fs->dir);
	snprintf(fs->key2, sizeof(fs->key2), "%s/other.pem", fs->dir);
	EVP_PKEY *k = EVP_EC_gen("P-256"), *k2 = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	assert_true(k && k2 && x);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, k);
	X509_NAME *n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
				   (const unsigned char *)"127.0.0.1", -1, -1, 0);
	X509_set_issuer_name(x, n);
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	FILE *f = fopen(fs->cert, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_X509(f, x), 1);
	fclose(f);
	write_key(fs->key, k);
	write_key(fs->key2, k2);
	X509_free(x);
	EVP_PKEY_free(k);
	EVP_PKEY_free(k2);
	*state = fs;
	return 0;
}

static int teardown(void **state)
{
	struct files *fs = *state;
	unlink(fs->cert);
	unlink(fs->key);
	unlink(fs->key2);
	rmdir(fs->dir);
	free(fs);
	return 0;
}

/* net_tls_new on cert and key: its errno, the reason left in why. */
static int build(const char *cert, const char *key, const char *ciphers,
		 char *why, size_t whysz)
{
	struct net_tls_cfg c = {.cert = cert, .pkey = key, .ca_file = "",
				.cipher_list = ciphers};
	struct net_tls *t = NULL;
	why[0] = '\0';
	int rc = net_tls_new(&t, &c, why, whysz);
	net_tls_free(t);
	return rc;
}

static void expect_why(const char *why, const char *a, const char *b)
{
	if (!strstr(why, a) || !strstr(why, b))
		fail_msg("want '%s' and '%s' in '%s'", a, b, why);
}

static void test_good_pair(void **state)
{
	struct files *fs = *state;
	char why[512];
	assert_int_equal(build(fs->cert, fs->key, "", why, sizeof(why)), 0);
}

static void test_missing_files(void **state)
{
	struct files *fs = *state;
	char why[512];
	assert_int_not_equal(build("/nonexistent/c.pem", fs->key, "", why,
				   sizeof(why)), 0);
	expect_why(why, "'cert': '/nonexistent/c.pem'", "No such file or directory");
	assert_int_not_equal(build(fs->cert, "/nonexistent/k.pem", "", why,
				   sizeof(why)), 0);
	expect_why(why, "'pkey': '/nonexistent/k.pem'", "No such file or directory");
}

static void test_wrong_files(void **state)
{
	struct files *fs = *state;
	char why[512];
	/* A key where the chain belongs: not a certificate (OpenSSL's words). */
	assert_int_not_equal(build(fs->key, fs->key, "", why, sizeof(why)), 0);
	expect_why(why, "'cert': '", "PEM");
	assert_int_not_equal(build(fs->cert, fs->key2, "", why, sizeof(why)), 0);
	expect_why(why, "'pkey': '", "mismatch");
	expect_why(why, fs->key2, "mismatch"); /* OpenSSL: "key values mismatch" */
	assert_int_not_equal(build(fs->cert, fs->key, "NO-SUCH-CIPHER", why,
				   sizeof(why)), 0);
	expect_why(why, "'cipher-list': 'NO-SUCH-CIPHER'", "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_pair),
		cmocka_unit_test(test_missing_files),
		cmocka_unit_test(test_wrong_files),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
