/* server/httpget: URLs, answers parsed (lengths, chunks, the head's
 * limits), and real GETs against a one-shot loopback server. */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

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
	pthread_t thr;
};

static void *srv_run(void *arg)
{
	struct srv *s = arg;
	int fd = accept(s->lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_get),
		cmocka_unit_test(test_get_fails),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
