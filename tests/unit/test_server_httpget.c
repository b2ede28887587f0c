/* server/httpget: URLs, answers parsed (lengths, chunks, the head's
 * limits), and real GETs against a one-shot loopback server. */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "server/httpget.h"

static void test_url(void **state)
{
	(void)state;
	struct httpget_url u;
	assert_int_equal(httpget_url_parse("http://127.0.0.1:8080/v1/revoked", &u), 0);
	assert_false(u.tls);
	assert_string_equal(u.host, "127.0.0.1");
	assert_string_equal(u.port, "8080");
	assert_string_equal(u.path, "/v1/revoked");
	assert_int_equal(httpget_url_parse("https://api.example.com", &u), 0);
	assert_true(u.tls);
	assert_string_equal(u.port, "443");
	assert_string_equal(u.path, "/");
	assert_int_equal(httpget_url_parse("https://[::1]:8443/v1/revoked?x=1", &u), 0);
	assert_string_equal(u.host, "::1");
	assert_string_equal(u.port, "8443");
	assert_string_equal(u.path, "/v1/revoked?x=1");
	assert_int_equal(httpget_url_parse("http://[2001:db8::1]/", &u), 0);
	assert_string_equal(u.port, "80");
	const char *bad[] = {"ftp://h/", "http://", "http:///x", "http://h:0/",
			     "http://h:65536/", "http://h:80x/", "http://[::1/",
			     "http://[::1]x/", "http://u@h/", "http://h/a b",
			     "http://h/#frag", "//h/", "http://h:/"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (httpget_url_parse(bad[i], &u) != EINVAL)
			fail_msg("accepted '%s'", bad[i]);
}

static int parse(const char *s, struct httpget_resp *r)
{
	return httpget_parse(s, strlen(s), r);
}

static void test_parse(void **state)
{
	(void)state;
	struct httpget_resp r;
	assert_int_equal(parse("HTTP/1.1 200 OK\r\nETag: \"7\"\r\n"
			       "Content-Length: 2\r\n\r\n{}junk", &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.etag, "\"7\"");
	assert_int_equal(r.len, 2);
	assert_string_equal(r.body, "{}");
	httpget_resp_free(&r);
	assert_int_equal(parse("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
			       "3;x=y\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", &r), 0);
	assert_string_equal(r.body, "abcde");
	httpget_resp_free(&r);
	assert_int_equal(parse("HTTP/1.0 200 OK\r\n\r\nto the close", &r), 0);
	assert_string_equal(r.body, "to the close");
	httpget_resp_free(&r);
	assert_int_equal(parse("HTTP/1.1 304 Not Modified\r\nETag: \"7\"\r\n\r\n", &r), 0);
	assert_int_equal(r.status, 304);
	assert_null(r.body);
	const char *bad[] = {
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc",  /* cut short */
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\na",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		/* found by fuzz_httpget: strtoul skipped "\r\n" and read on */
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n 5\r\nabcde",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n+5\r\nabcde\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nabcde\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n100000000\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n", /* no end of head */
		"HTTP/2 200\r\n\r\n", "SSH-2.0-x\r\n\r\n", "HTTP/1.1 2x0 OK\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse(bad[i], &r) != EBADMSG)
			fail_msg("accepted '%s'", bad[i]);
	char etag[200] = "HTTP/1.1 200 OK\r\nETag: ";
	memset(etag + strlen(etag), 'e', 130);
	strcat(etag, "\r\n\r\n");
	assert_int_equal(parse(etag, &r), EBADMSG);
}

/* A loopback server that reads one request, keeps it, answers canned. */
struct srv {
	int lfd;
	uint16_t port;
	const char *answer;
	char req[2048];
	bool silent; /* accept and never answer */
	bool hangup; /* accept and close at once */
	pthread_t thr;
};

static void *srv_run(void *arg)
{
	struct srv *s = arg;
	int fd = accept(s->lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	if (s->hangup) {
		close(fd);
		return NULL;
	}
	size_t n = 0;
	while (n < sizeof(s->req) - 1 && !strstr(s->req, "\r\n\r\n")) {
		ssize_t k = recv(fd, s->req + n, sizeof(s->req) - 1 - n, 0);
		if (k <= 0)
			break;
		n += (size_t)k;
	}
	if (s->silent)
		usleep(600 * 1000);
	else
		(void)!write(fd, s->answer, strlen(s->answer));
	close(fd);
	return NULL;
}

static void srv_start(struct srv *s)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	s->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s->lfd >= 0);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->lfd, 1), 0);
	getsockname(s->lfd, (struct sockaddr *)&a, &al);
	s->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&s->thr, NULL, srv_run, s), 0);
}

static void srv_stop(struct srv *s)
{
	shutdown(s->lfd, SHUT_RDWR);
	pthread_join(s->thr, NULL);
	close(s->lfd);
}

static int get(struct srv *s, const char *auth, const char *etag,
	       unsigned timeout_ms, struct httpget_resp *r, char *why)
{
	char url[64];
	struct httpget_url u;
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/v1/revoked", s->port);
	assert_int_equal(httpget_url_parse(url, &u), 0);
	struct httpget_req q = {.url = &u, .auth = auth, .etag = etag,
				.timeout_ms = timeout_ms};
	return httpget(&q, r, why, 128);
}

static void test_get(void **state)
{
	(void)state;
	struct srv s = {.answer = "HTTP/1.1 200 OK\r\nETag: \"3\"\r\n"
				  "Content-Length: 13\r\n\r\n{\"users\":[]}\n"};
	struct httpget_resp r;
	char why[128];
	srv_start(&s);
	assert_int_equal(get(&s, "Basic dTpw", "\"2\"", 2000, &r, why), 0);
	srv_stop(&s);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.etag, "\"3\"");
	assert_string_equal(r.body, "{\"users\":[]}\n");
	httpget_resp_free(&r);
	assert_non_null(strstr(s.req, "GET /v1/revoked HTTP/1.1\r\n"));
	assert_non_null(strstr(s.req, "\r\nHost: 127.0.0.1:"));
	assert_non_null(strstr(s.req, "\r\nAuthorization: Basic dTpw\r\n"));
	assert_non_null(strstr(s.req, "\r\nIf-None-Match: \"2\"\r\n"));
	assert_non_null(strstr(s.req, "\r\nConnection: close\r\n"));
}

static void test_get_fails(void **state)
{
	(void)state;
	struct srv s = {.silent = true};
	struct httpget_resp r;
	char why[128];
	srv_start(&s);
	assert_int_equal(get(&s, NULL, NULL, 200, &r, why), ETIMEDOUT);
	assert_non_null(strstr(why, "reading the answer"));
	srv_stop(&s);
	struct srv g = {.answer = "garbage\r\n\r\n"};
	srv_start(&g);
	assert_int_equal(get(&g, NULL, NULL, 2000, &r, why), EBADMSG);
	srv_stop(&g);
	/* Nobody listens there any more. */
	assert_int_equal(get(&g, NULL, NULL, 2000, &r, why), ECONNREFUSED);
	assert_non_null(strstr(why, "connect to 127.0.0.1"));
}


/* A self-signed certificate naming san ("IP:127.0.0.1", "DNS:localhost"),
 * its key in *pkp, its PEM in path (what the client is told to trust). */
static X509 *make_cert(const char *san, EVP_PKEY **pkp, const char *path)
{
	EVP_PKEY *pk = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	assert_non_null(pk);
	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, pk);
	X509_NAME *nm = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
				   (const unsigned char *)"turnstone test", -1, -1, 0);
	X509_set_issuer_name(x, nm);
	X509V3_CTX v3;
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3,
						  NID_subject_alt_name, san);
	assert_non_null(ext);
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints, "CA:TRUE");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	assert_true(X509_sign(x, pk, EVP_sha256()) > 0);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	PEM_write_X509(f, x);
	fclose(f);
	*pkp = pk;
	return x;
}

/* A loopback TLS server answering n connections with s->answer; with
 * notify false it closes without a close_notify, as some servers do. */
struct tsrv {
	struct srv s;
	SSL_CTX *ctx;
	unsigned n;
	bool notify;
};

static void *tsrv_run(void *arg)
{
	struct tsrv *t = arg;
	for (unsigned i = 0; i < t->n; i++) {
		int fd = accept(t->s.lfd, NULL, NULL);
		if (fd < 0)
			return NULL;
		SSL *ssl = SSL_new(t->ctx);
		SSL_set_fd(ssl, fd);
		if (SSL_accept(ssl) == 1) {
			char req[2048];
			(void)SSL_read(ssl, req, sizeof(req));
			SSL_write(ssl, t->s.answer, (int)strlen(t->s.answer));
			if (t->notify)
				SSL_shutdown(ssl);
		}
		SSL_free(ssl);
		close(fd);
	}
	ERR_clear_error();
	return NULL;
}

static void tsrv_start(struct tsrv *t, X509 *x, EVP_PKEY *pk)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	t->ctx = SSL_CTX_new(TLS_server_method());
	assert_int_equal(SSL_CTX_use_certificate(t->ctx, x), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(t->ctx, pk), 1);
	t->s.lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(t->s.lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(t->s.lfd, 4), 0);
	getsockname(t->s.lfd, (struct sockaddr *)&a, &al);
	t->s.port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&t->s.thr, NULL, tsrv_run, t), 0);
}

static int tget(const char *host, uint16_t port, const char *ca,
		struct httpget_resp *r, char *why)
{
	char url[96];
	struct httpget_url u;
	snprintf(url, sizeof(url), "https://%s:%u/v1/revoked", host, port);
	assert_int_equal(httpget_url_parse(url, &u), 0);
	struct httpget_req q = {.url = &u, .ca_file = ca, .timeout_ms = 3000};
	return httpget(&q, r, why, 128);
}

#define OK_ANSWER "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"

/* The certificate is checked (chain, and the URL's IP address or name),
 * and one failed handshake does not fail the polls after it: the
 * thread's OpenSSL error queue is left empty, or SSL_get_error() reads
 * the old error as this connection's. */
static void test_tls(void **state)
{
	(void)state;
	/* A side that gives up writes to a closed socket: the daemon, too,
	 * ignores SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	char dir[] = "/tmp/ts-httpget-XXXXXX", good[64], other[64], wrongip[64];
	assert_non_null(mkdtemp(dir));
	snprintf(good, sizeof(good), "%s/good.pem", dir);
	snprintf(other, sizeof(other), "%s/other.pem", dir);
	snprintf(wrongip, sizeof(wrongip), "%s/wrongip.pem", dir);
	EVP_PKEY *pk, *pk2, *pk3;
	X509 *x = make_cert("IP:127.0.0.1,DNS:localhost", &pk, good);
	X509 *x2 = make_cert("IP:127.0.0.1", &pk2, other);
	X509 *x3 = make_cert("IP:127.0.0.2,DNS:example.com", &pk3, wrongip);
	struct tsrv t = {.s.answer = OK_ANSWER, .n = 5, .notify = true};
	struct tsrv w = {.s.answer = OK_ANSWER, .n = 2, .notify = true};
	struct httpget_resp r;
	char why[128];
	tsrv_start(&t, x, pk);
	tsrv_start(&w, x3, pk3);
	assert_int_equal(tget("127.0.0.1", t.s.port, other, &r, why), EPROTO);
	assert_non_null(strstr(why, "TLS handshake"));
	assert_int_equal(tget("127.0.0.1", t.s.port, good, &r, why), 0);
	assert_int_equal(r.status, 200);
	httpget_resp_free(&r);
	assert_int_equal(tget("localhost", t.s.port, good, &r, why), 0);
	httpget_resp_free(&r);
	assert_int_equal(tget("127.0.0.1", t.s.port, good, &r, why), 0);
	httpget_resp_free(&r);
	/* Trusted, but naming another address or name than the URL's. */
	assert_int_equal(tget("127.0.0.1", w.s.port, wrongip, &r, why), EPROTO);
	assert_int_equal(tget("localhost", w.s.port, wrongip, &r, why), EPROTO);
	/* CAs that cannot be loaded: no handshake at all. */
	assert_int_equal(tget("127.0.0.1", t.s.port, "/nonexistent.pem", &r,
			      why), EINVAL);
	assert_non_null(strstr(why, "/nonexistent.pem"));
	srv_stop(&t.s);
	srv_stop(&w.s);
	/* A server that closes without close_notify: the answer stands,
	 * and so does the next poll's. */
	struct tsrv c = {.s.answer = OK_ANSWER, .n = 2};
	tsrv_start(&c, x, pk);
	assert_int_equal(tget("127.0.0.1", c.s.port, good, &r, why), 0);
	httpget_resp_free(&r);
	assert_int_equal(tget("127.0.0.1", c.s.port, good, &r, why), 0);
	httpget_resp_free(&r);
	srv_stop(&c.s);
	/* A handshake that times out or is hung up on says so. */
	struct srv q = {.silent = true};
	srv_start(&q);

	char url[64];
	struct httpget_url u;
	snprintf(url, sizeof(url), "https://127.0.0.1:%u/", q.port);
	assert_int_equal(httpget_url_parse(url, &u), 0);
	struct httpget_req rq = {.url = &u, .ca_file = good, .timeout_ms = 200};
	assert_int_equal(httpget(&rq, &r, why, sizeof(why)), ETIMEDOUT);
	if (!strstr(why, "TLS handshake"))
		fail_msg("a handshake timing out says '%s'", why);
	srv_stop(&q);
	struct srv h = {.hangup = true};
	srv_start(&h);
	snprintf(url, sizeof(url), "https://127.0.0.1:%u/", h.port);
	assert_int_equal(httpget_url_parse(url, &u), 0);
	rq.timeout_ms = 2000;
	assert_int_not_equal(httpget(&rq, &r, why, sizeof(why)), 0);
	if (!strstr(why, "TLS handshake") || strstr(why, "(null)"))
		fail_msg("a handshake hung up on says '%s'", why);
	srv_stop(&h);
	SSL_CTX_free(t.ctx);
	SSL_CTX_free(w.ctx);
	SSL_CTX_free(c.ctx);
	X509_free(x);
	X509_free(x2);
	X509_free(x3);
	EVP_PKEY_free(pk);
	EVP_PKEY_free(pk2);
	EVP_PKEY_free(pk3);
	unlink(good);
	unlink(other);
	unlink(wrongip);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_get),
		cmocka_unit_test(test_get_fails),
		cmocka_unit_test(test_tls),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
