/* TLS and DTLS server contexts (OpenSSL 3). Built whole from the files on
 * each start or reload, then only read: a bad certificate on reload leaves
 * the running contexts in place. Defaults follow current guidance for
 * servers that face the public internet: TLS 1.2 at least, no
 * renegotiation, no compression, server cipher preference. */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/net_int.h"
#include "util/rand.h"

/* RFC 7443: the ALPN labels for TURN and for STUN NAT discovery. */
static const char *const tls_alpn[] = {"stun.turn", "stun.nat-discovery"};

static int tls_alpn_select(SSL *ssl, const unsigned char **out,
			   unsigned char *outlen, const unsigned char *in,
			   unsigned int inlen, void *arg)
{
	(void)ssl;
	(void)arg;
	for (size_t k = 0; k < sizeof(tls_alpn) / sizeof(tls_alpn[0]); k++) {
		size_t klen = strlen(tls_alpn[k]);
		for (unsigned i = 0; i < inlen; i += 1u + in[i]) {
			if (i + 1u + in[i] > inlen)
				return SSL_TLSEXT_ERR_NOACK;
			if (in[i] == klen && memcmp(in + i + 1, tls_alpn[k], klen) == 0) {
				*out = in + i + 1;
				*outlen = in[i];
				return SSL_TLSEXT_ERR_OK;
			}
		}
	}
	/* A client offering only other protocols still gets TURN; it is
	 * what the port serves. */
	return SSL_TLSEXT_ERR_NOACK;
}

/* OpenSSL's last error, unless the queue holds a system error (a file
 * that cannot be opened): then that errno, which says why, where the
 * last entry says only "system lib". As "'key'[ note]: 'value': reason",
 * the key quoted as every configuration error names it. */
static void tls_reason_note(char *err, size_t errlen, const char *key,
			    const char *note, const char *path)
{
	unsigned long e, last = 0;
	int sys = 0;
	while ((e = ERR_get_error()) != 0) {
		if (ERR_SYSTEM_ERROR(e))
			sys = ERR_GET_REASON(e);
		last = e;
	}
	char buf[160] = "unknown error";
	if (sys)
		snprintf(buf, sizeof(buf), "%s", strerror(sys));
	else if (last)
		ERR_error_string_n(last, buf, sizeof(buf));
	snprintf(err, errlen, "'%s'%s: '%s': %s", key, note, path, buf);
}

static void tls_reason(char *err, size_t errlen, const char *key,
		       const char *path)
{
	tls_reason_note(err, errlen, key, "", path);
}

/* What the password callback was given and whether OpenSSL asked. */
struct tls_pwd {
	const char *pwd;
	bool asked;
};

/* coturn's pkey-pwd. Also stands in for OpenSSL's default callback, which
 * would prompt on the terminal for an encrypted key given no password: a
 * daemon must fail instead. */
static int tls_pwd_cb(char *buf, int size, int rwflag, void *arg)
{
	struct tls_pwd *p = arg;
	(void)rwflag;
	p->asked = true;
	size_t n = p->pwd ? strlen(p->pwd) : 0;
	if (n == 0 || n > (size_t)size)
		return -1;
	memcpy(buf, p->pwd, n);
	return (int)n;
}

static int tls_ctx_pkey(SSL_CTX *ctx, const struct net_tls_cfg *c, char *err,
			size_t errlen)
{
	struct tls_pwd p = {.pwd = c->pkey_pwd};
	SSL_CTX_set_default_passwd_cb(ctx, tls_pwd_cb);
	SSL_CTX_set_default_passwd_cb_userdata(ctx, &p);
	int ok = SSL_CTX_use_PrivateKey_file(ctx, c->pkey, SSL_FILETYPE_PEM);
	/* p lives on this stack: the context must not keep pointing at it. */
	SSL_CTX_set_default_passwd_cb_userdata(ctx, NULL);
	if (ok == 1)
		return 0;
	tls_reason_note(err, errlen, "pkey",
			p.asked ? " (encrypted: wrong or no pkey-pwd)" : "", c->pkey);
	return EINVAL;
}

/* coturn's dh-file: DH parameters for the TLS 1.2 DHE suites. Without it
 * OpenSSL picks a well-known group that matches the key's strength (RFC
 * 7919 style), as coturn's built-in parameters did. Setting the
 * parameters checks them against the security level: a weak group is
 * refused here rather than at the first handshake. */
static int tls_ctx_dh(SSL_CTX *ctx, const char *path, char *err, size_t errlen)
{
	if (!path || !path[0])
		return SSL_CTX_set_dh_auto(ctx, 1) == 1 ? 0 : EINVAL;
	EVP_PKEY *dh = NULL;
	BIO *b = BIO_new_file(path, "r");
	if (b)
		dh = PEM_read_bio_Parameters_ex(b, NULL, NULL, NULL);
	BIO_free(b);
	if (dh && !EVP_PKEY_is_a(dh, "DH") && !EVP_PKEY_is_a(dh, "DHX")) {
		EVP_PKEY_free(dh);
		ERR_clear_error();
		snprintf(err, errlen, "'dh-file': '%s': not DH parameters", path);
		return EINVAL;
	}
	if (!dh || SSL_CTX_set0_tmp_dh_pkey(ctx, dh) != 1) {
		EVP_PKEY_free(dh); /* set0 took it only on success */
		tls_reason(err, errlen, "dh-file", path);
		return EINVAL;
	}
	return 0;
}

/* coturn's ec-curve-name, as a group list: it restricts the (EC)DHE
 * groups of TLS 1.2 and 1.3 and DTLS alike. */
static int tls_ctx_groups(SSL_CTX *ctx, const char *groups, char *err,
			  size_t errlen)
{
	/* The macro casts to char * (OpenSSL reads the list only); through
	 * uintptr_t so that clang's -Wcast-qual passes. */
	if (!groups || !groups[0] ||
	    SSL_CTX_set1_groups_list(ctx, (char *)(uintptr_t)groups) == 1)
		return 0;
	tls_reason(err, errlen, "ec-curve-name", groups);
	return EINVAL;
}

static int tls_ctx_keys(SSL_CTX *ctx, const struct net_tls_cfg *c, char *err,
			size_t errlen)
{
	if (SSL_CTX_use_certificate_chain_file(ctx, c->cert) != 1) {
		tls_reason(err, errlen, "cert", c->cert);
		return EINVAL;
	}
	if (tls_ctx_pkey(ctx, c, err, errlen) != 0)
		return EINVAL;
	if (SSL_CTX_check_private_key(ctx) != 1) {
		tls_reason_note(err, errlen, "pkey", " (does not match 'cert')", c->pkey);
		return EINVAL;
	}
	if (c->ca_file && c->ca_file[0]) {
		/* coturn's CA-file: clients must present a certificate it signs. */
		if (SSL_CTX_load_verify_locations(ctx, c->ca_file, NULL) != 1) {
			tls_reason(err, errlen, "CA-file", c->ca_file);
			return EINVAL;
		}
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
				   NULL);
	}
	if (c->cipher_list && c->cipher_list[0] &&
	    SSL_CTX_set_cipher_list(ctx, c->cipher_list) != 1) {
		tls_reason(err, errlen, "cipher-list", c->cipher_list);
		return EINVAL;
	}
	if (tls_ctx_dh(ctx, c->dh_file, err, errlen) != 0 ||
	    tls_ctx_groups(ctx, c->groups, err, errlen) != 0)
		return EINVAL;
	return 0;
}

static SSL_CTX *tls_ctx_common(const SSL_METHOD *m, const struct net_tls_cfg *c,
			       char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(m);
	if (!ctx) {
		tls_reason(err, errlen, "cert", c->cert);
		return NULL;
	}
	/* TLS 1.2 renegotiation is off both ways (client-initiated is already
	 * off by default in OpenSSL 3). */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
				 SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_alpn_select_cb(ctx, tls_alpn_select, NULL);
	/* Needed for resumption once client certificates are verified. */
	static const unsigned char sid_ctx[] = "turnstone";
	SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
	if (tls_ctx_keys(ctx, c, err, errlen) != 0) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

int net_tls_new(struct net_tls **tp, const struct net_tls_cfg *c, char *err,
		size_t errlen)
{
	struct net_tls *t = calloc(1, sizeof(*t));
	if (!t)
		return ENOMEM;
	t->tls = tls_ctx_common(TLS_server_method(), c, err, errlen);
	if (t->tls) {
		int min = c->tls13_only ? TLS1_3_VERSION : TLS1_2_VERSION;
		SSL_CTX_set_min_proto_version(t->tls, min);
		/* Our write buffer moves as it drains (net_tcp_conn.wbuf). */
		SSL_CTX_set_mode(t->tls, SSL_MODE_ENABLE_PARTIAL_WRITE |
					 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
		/* One read() takes all the records the socket holds, not a
		 * header and then a body per record (net_tcp_events knows
		 * records may then wait in OpenSSL's buffer). */
		SSL_CTX_set_read_ahead(t->tls, 1);
		t->dtls = tls_ctx_common(DTLS_server_method(), c, err, errlen);
	}
	if (t->dtls) {
		SSL_CTX_set_min_proto_version(t->dtls, DTLS1_2_VERSION);
		SSL_CTX_set_options(t->dtls, SSL_OP_COOKIE_EXCHANGE | SSL_OP_NO_QUERY_MTU);
		SSL_CTX_set_cookie_generate_cb(t->dtls, net_dtls_cookie_gen);
		SSL_CTX_set_cookie_verify_cb(t->dtls, net_dtls_cookie_verify);
		SSL_CTX_set_app_data(t->dtls, t);
		SSL_CTX_set_read_ahead(t->dtls, 1);
	}
	if (!t->tls || !t->dtls || rand_bytes(t->cookie_key, sizeof(t->cookie_key)) != 0) {
		net_tls_free(t);
		return EINVAL;
	}
	*tp = t;
	return 0;
}

void net_tls_free(struct net_tls *t)
{
	if (!t)
		return;
	SSL_CTX_free(t->tls);
	SSL_CTX_free(t->dtls);
	explicit_bzero(t->cookie_key, sizeof(t->cookie_key));
	free(t);
}
