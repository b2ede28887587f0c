/* turns: and stuns: for turnstone probe (RFC 7065, RFC 7064): TLS over
 * the TCP connection, as a browser does for TURN on 443 through a
 * firewall that lets only TLS out. The certificate is verified against
 * the system's CAs or --ca-file, for --servername (SNI too) or else the
 * IP literal; --insecure skips that and says so. ALPN offers "stun.turn"
 * (RFC 7443). */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "cli/probe.h"

static int tls_ctx(struct probe_io *io, const struct probe_args *a, FILE *err)
{
	io->ctx = SSL_CTX_new(TLS_client_method());
	if (!io->ctx)
		return ENOMEM;
	SSL_CTX_set_min_proto_version(io->ctx, TLS1_2_VERSION);
	if (a->insecure) {
		SSL_CTX_set_verify(io->ctx, SSL_VERIFY_NONE, NULL);
		return 0;
	}
	SSL_CTX_set_verify(io->ctx, SSL_VERIFY_PEER, NULL);
	int ok = a->ca_file ? SSL_CTX_load_verify_locations(io->ctx, a->ca_file, NULL)
			    : SSL_CTX_set_default_verify_paths(io->ctx);
	if (ok != 1) {
		fprintf(err, "tls: cannot load %s\n",
			a->ca_file ? a->ca_file : "the system's CA certificates");
		return EINVAL;
	}
	return 0;
}

/* Who the certificate must name: --servername, else the IP literal. */
static int tls_identity(struct probe_io *io, const struct probe_args *a)
{
	static const unsigned char alpn[] = "\x09stun.turn";
	if (SSL_set_alpn_protos(io->ssl, alpn, sizeof(alpn) - 1) != 0)
		return EIO;
	if (a->servername) {
		/* OpenSSL's macro casts the name to void *; it only copies it. */
		char *sn = (char *)(uintptr_t)a->servername;
		SSL_set_tlsext_host_name(io->ssl, sn);
		return SSL_set1_host(io->ssl, a->servername) == 1 ? 0 : EINVAL;
	}
	char ip[SA_STRLEN];
	sa_fmt_ip(&a->server, ip, sizeof(ip));
	X509_VERIFY_PARAM *p = SSL_get0_param(io->ssl);
	return X509_VERIFY_PARAM_set1_ip_asc(p, ip) == 1 ? 0 : EINVAL;
}

/* Wait for what OpenSSL wants (r: the last SSL_ call's result). */
static int tls_wait(struct probe_io *io, int r, uint64_t deadline)
{
	int e = SSL_get_error(io->ssl, r);
	if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
		return e == SSL_ERROR_ZERO_RETURN ? ECONNRESET : EPROTO;
	uint64_t now = probe_now_ms();
	if (now >= deadline)
		return ETIMEDOUT;
	struct pollfd p = {.fd = io->fd,
			   .events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT};
	if (poll(&p, 1, (int)(deadline - now)) < 0 && errno != EINTR)
		return errno;
	return 0;
}

static void tls_report(struct probe_io *io, const struct probe_args *a, FILE *out)
{
	const unsigned char *proto = NULL;
	unsigned plen = 0;
	SSL_get0_alpn_selected(io->ssl, &proto, &plen);
	char who[SA_STRLEN + 64];
	if (a->servername)
		snprintf(who, sizeof(who), "%s", a->servername);
	else
		sa_fmt_ip(&a->server, who, sizeof(who));
	fprintf(out, "tls: %s %s, alpn %.*s, certificate %s%s\n",
		SSL_get_version(io->ssl), SSL_get_cipher_name(io->ssl),
		plen ? (int)plen : 4, plen ? (const char *)proto : "none",
		a->insecure ? "NOT verified (--insecure)" : "verified for ",
		a->insecure ? "" : who);
}

int probe_tls_start(struct probe_io *io, const struct probe_args *a, FILE *out,
		    FILE *err)
{
	int e = tls_ctx(io, a, err);
	if (!e && !(io->ssl = SSL_new(io->ctx)))
		e = ENOMEM;
	if (!e && (SSL_set_fd(io->ssl, io->fd) != 1 || tls_identity(io, a)))
		e = EINVAL;
	uint64_t deadline = probe_now_ms() + PROBE_CONNECT_MS;
	int r = 0;
	while (!e && (r = SSL_connect(io->ssl)) != 1)
		e = tls_wait(io, r, deadline);
	if (e == EPROTO) {
		long v = SSL_get_verify_result(io->ssl);
		unsigned long le = ERR_peek_last_error();
		fprintf(err, "tls: handshake failed: %s\n", v != X509_V_OK
			? X509_verify_cert_error_string(v)
			: le ? ERR_reason_error_string(le) : "the server closed");
	} else if (e == ETIMEDOUT) {
		fprintf(err, "tls: handshake timed out\n");
	}
	ERR_clear_error();
	if (!e)
		tls_report(io, a, out);
	return e;
}

int probe_tls_send(struct probe_io *io, const uint8_t *buf, size_t len)
{
	uint64_t deadline = probe_now_ms() + PROBE_TXN_MS;
	while (len > 0) {
		int r = SSL_write(io->ssl, buf, (int)len);
		if (r > 0) {
			buf += r;
			len -= (size_t)r;
			continue;
		}
		int e = tls_wait(io, r, deadline);
		if (e)
			return e;
	}
	return 0;
}

int probe_tls_read(struct probe_io *io, uint8_t *buf, size_t cap, size_t *got)
{
	int r = SSL_read(io->ssl, buf, (int)cap);
	if (r > 0) {
		*got = (size_t)r;
		return 0;
	}
	int e = SSL_get_error(io->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return EAGAIN;
	ERR_clear_error();
	return e == SSL_ERROR_ZERO_RETURN ? ECONNRESET : EPROTO;
}

void probe_tls_close(struct probe_io *io)
{
	if (io->ssl) {
		SSL_shutdown(io->ssl); /* a close_notify, not waited for */
		SSL_free(io->ssl);
	}
	SSL_CTX_free(io->ctx);
	io->ssl = NULL;
	io->ctx = NULL;
}
