/* HTTPS for the ICE-servers API: api-cert and api-pkey read into the
 * API's options and checked with OpenSSL before libmicrohttpd (GnuTLS)
 * is given them, so that a wrong file is a startup error naming its key,
 * not an API that does not start. A browser page served over HTTPS may
 * only fetch from an HTTPS API (mixed content), so the API needs TLS as
 * soon as pages call it themselves. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "server/server_int.h"

static int apitls_read(const char *key, const char *path, char *out, size_t sz,
		       FILE *err)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(err, "turnstone: cannot read '%s' %s: %s\n", key, path,
			strerror(errno));
		return EINVAL;
	}
	size_t n = fread(out, 1, sz, f);
	bool more = n == sz;
	fclose(f);
	if (more) {
		fprintf(err, "turnstone: '%s' %s: larger than %zu bytes\n", key,
			path, sz - 1);
		return EINVAL;
	}
	out[n] = '\0';
	return 0;
}

/* The first certificate of the chain and the key, as OpenSSL reads them;
 * an encrypted key has no password here (the callback refuses). */
static int apitls_no_pass(char *buf, int size, int rw, void *u)
{
	(void)buf, (void)size, (void)rw, (void)u;
	return -1;
}

static int apitls_check(const struct config *c, const struct api_cfg *a,
			FILE *err)
{
	BIO *cb = BIO_new_mem_buf(a->tls_cert, -1);
	BIO *kb = BIO_new_mem_buf(a->tls_key, -1);
	X509 *x = cb ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
	EVP_PKEY *k = kb ? PEM_read_bio_PrivateKey(kb, NULL, apitls_no_pass, NULL)
			 : NULL;
	int rc = 0;
	if (!x) {
		fprintf(err, "turnstone: 'api-cert' %s: no PEM certificate\n",
			c->api_cert);
		rc = EINVAL;
	} else if (!k) {
		fprintf(err, "turnstone: 'api-pkey' %s: no PEM private key (an "
			"encrypted key is not supported here)\n", c->api_pkey);
		rc = EINVAL;
	} else if (X509_check_private_key(x, k) != 1) {
		fprintf(err, "turnstone: 'api-pkey' %s does not match the "
			"certificate of 'api-cert' %s\n", c->api_pkey, c->api_cert);
		rc = EINVAL;
	}
	ERR_clear_error();
	X509_free(x);
	EVP_PKEY_free(k);
	BIO_free(cb);
	BIO_free(kb);
	return rc;
}

int server_api_tls(const struct config *c, struct api_cfg *a, FILE *err)
{
	if (!c->api_cert[0])
		return 0;
	int rc = apitls_read("api-cert", c->api_cert, a->tls_cert,
			     sizeof(a->tls_cert), err);
	if (!rc)
		rc = apitls_read("api-pkey", c->api_pkey, a->tls_key,
				 sizeof(a->tls_key), err);
	if (!rc)
		rc = apitls_check(c, a, err);
	if (rc)
		explicit_bzero(a->tls_key, sizeof(a->tls_key));
	return rc;
}
