/* HTTP GET for revoked-from; see httpget.h. Blocking sockets under one
 * deadline: it runs on revsync's own thread, never on a worker. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "server/httpget_int.h"

#define HTTPGET_HEAD_MAX 16384

int httpget_url_parse(const char *s, struct httpget_url *u)
{
	memset(u, 0, sizeof(*u));
	if (strncmp(s, "https://", 8) == 0) {
		u->tls = true;
		s += 8;
	} else if (strncmp(s, "http://", 7) == 0) {
		s += 7;
	} else {
		return EINVAL;
	}
	size_t hn = strcspn(s, "/?#");
	const char *rest = s + hn, *hend = s + hn, *colon = NULL;
	if (*s == '[') { /* [IPv6]:port */
		const char *rb = memchr(s, ']', hn);
		if (!rb)
			return EINVAL;
		colon = rb + 1 < hend && rb[1] == ':' ? rb + 1 : NULL;
		if (rb + 1 != hend && !colon)
			return EINVAL;
		s++;
		hend = rb;
	} else {
		colon = memchr(s, ':', hn);
		if (colon)
			hend = colon;
	}
	size_t n = (size_t)(hend - s);
	if (n == 0 || n >= sizeof(u->host) || *rest == '#')
		return EINVAL;
	memcpy(u->host, s, n);
	if (colon) {
		size_t pn = (size_t)(rest - colon - 1);
		if (pn == 0 || pn > 5 || strspn(colon + 1, "0123456789") < pn ||
		    atoi(colon + 1) < 1 || atoi(colon + 1) > 65535)
			return EINVAL;
		memcpy(u->port, colon + 1, pn);
	} else {
		strcpy(u->port, u->tls ? "443" : "80");
	}
	for (const char *p = u->host; *p; p++)
		if (*p <= ' ' || *p == '@' || (unsigned char)*p >= 0x7f)
			return EINVAL;
	int w = snprintf(u->path, sizeof(u->path), "%s%s", *rest == '/' ? "" : "/",
			 rest);
	if (w < 0 || (size_t)w >= sizeof(u->path) || strpbrk(u->path, " \r\n#"))
		return EINVAL;
	return 0;
}

static long ms_left(const struct timespec *end)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (end->tv_sec - now.tv_sec) * 1000 +
	       (end->tv_nsec - now.tv_nsec) / 1000000;
}

int httpget_wait_fd(int fd, short ev, int cancel_fd, const struct timespec *end)
{
	struct pollfd p[2] = {{.fd = fd, .events = ev},
			      {.fd = cancel_fd, .events = POLLIN}};
	long left = ms_left(end);
	int n = left > 0 ? poll(p, cancel_fd > 0 ? 2 : 1, (int)left) : 0;
	if (n > 0 && cancel_fd > 0 && p[1].revents)
		return ECANCELED;
	return n > 0 ? 0 : ETIMEDOUT;
}

/* A non-blocking connect to the first address that answers in time. */
static int tcp_open(const struct addrinfo *ai, int cancel_fd,
		    const struct timespec *end, int *fdp)
{
	int err = ECONNREFUSED;
	for (const struct addrinfo *a = ai; a && *fdp < 0 && err != ECANCELED;
	     a = a->ai_next) {
		int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK |
				SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		int rc = connect(fd, a->ai_addr, a->ai_addrlen);
		if (rc != 0 && errno == EINPROGRESS) {
			socklen_t sl = sizeof(err);
			int w = httpget_wait_fd(fd, POLLOUT, cancel_fd, end);
			rc = !w && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) == 0 &&
			     err == 0 ? 0 : -1;
			if (w)
				err = w;
		} else if (rc != 0) {
			err = errno;
		}
		if (rc == 0)
			*fdp = fd;
		else
			close(fd);
	}
	return *fdp >= 0 ? 0 : err;
}

/* Resolve, then connect, saying which failed. */
static int tcp_connect(const struct httpget_url *u, int cancel_fd,
		       const struct timespec *end, int *fdp, char *why,
		       size_t whysz)
{
	struct addrinfo *ai = NULL;
	int err = httpget_resolve(u->host, u->port, cancel_fd, end, &ai);
	if (err == ENXIO)
		snprintf(why, whysz, "cannot resolve '%s'", u->host);
	else if (err)
		snprintf(why, whysz, "resolving '%s': %s", u->host,
			 err == ETIMEDOUT ? "no answer in time" : strerror(err));
	if (err)
		return err;
	err = tcp_open(ai, cancel_fd, end, fdp);
	freeaddrinfo(ai);
	if (err)
		snprintf(why, whysz, "connect to %s port %s: %s", u->host, u->port,
			 strerror(err));
	return err;
}

/* The connection, plain or TLS. */
struct conn {
	int fd;
	int cancel_fd;
	SSL_CTX *ctx;
	SSL *ssl;
};

static int conn_wait(const struct conn *c, short ev, const struct timespec *end)
{
	return httpget_wait_fd(c->fd, ev, c->cancel_fd, end);
}

/* One TLS step that may want to read or write first. */
static int tls_retry(struct conn *c, int rc, const struct timespec *end)
{
	int e = SSL_get_error(c->ssl, rc);
	if (e == SSL_ERROR_WANT_READ)
		return conn_wait(c, POLLIN, end);
	if (e == SSL_ERROR_WANT_WRITE)
		return conn_wait(c, POLLOUT, end);
	return e == SSL_ERROR_ZERO_RETURN ? ECONNRESET : EPROTO;
}

static int tls_open(struct conn *c, const struct httpget_req *q,
		    const struct timespec *end, char *why, size_t whysz)
{
	const char *host = q->url->host;
	c->ctx = SSL_CTX_new(TLS_client_method());
	if (!c->ctx || !SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION))
		return ENOMEM;
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	int ok = q->ca_file && *q->ca_file
		? SSL_CTX_load_verify_locations(c->ctx, q->ca_file, NULL)
		: SSL_CTX_set_default_verify_paths(c->ctx);
	c->ssl = ok ? SSL_new(c->ctx) : NULL;
	if (!c->ssl || !SSL_set_fd(c->ssl, c->fd)) {
		snprintf(why, whysz, "cannot load the CAs%s%s", q->ca_file ? " of " : "",
			 q->ca_file ? q->ca_file : "");
		return EINVAL;
	}
	/* The name (or IP address) in the URL is what the certificate must
	 * name; SNI only for a name (RFC 6066 3). */
	X509_VERIFY_PARAM *vp = SSL_get0_param(c->ssl);
	if (X509_VERIFY_PARAM_set1_ip_asc(vp, host) != 1) {
		char sni[HTTPGET_HOST_MAX]; /* the macro casts away const */
		snprintf(sni, sizeof(sni), "%s", host);
		SSL_set_tlsext_host_name(c->ssl, sni);
		SSL_set1_host(c->ssl, host);
	}
	for (;;) {
		int rc = SSL_connect(c->ssl);
		if (rc == 1)
			return 0;
		int err = tls_retry(c, rc, end);
		if (err) {
			/* A hang-up queues no OpenSSL error: its reason is NULL. */
			long v = SSL_get_verify_result(c->ssl);
			const char *e = ERR_reason_error_string(ERR_peek_last_error());
			snprintf(why, whysz, "TLS handshake: %s", v != X509_V_OK
				 ? X509_verify_cert_error_string(v)
				 : err == EPROTO && e ? e : strerror(err));
			return err;
		}
	}
}

int httpget_ca_check(const char *ca_file)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	int ok = ctx && SSL_CTX_load_verify_locations(ctx, ca_file, NULL) == 1;
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return ok ? 0 : EINVAL;
}

static int conn_write(struct conn *c, const char *buf, size_t len,
		      const struct timespec *end)
{
	while (len) {
		ssize_t n;
		if (c->ssl) {
			int rc = SSL_write(c->ssl, buf, (int)len);
			if (rc <= 0) {
				int err = tls_retry(c, rc, end);
				if (err)
					return err;
				continue;
			}
			n = rc;
		} else {
			n = send(c->fd, buf, len, MSG_NOSIGNAL);
			if (n < 0 && errno == EAGAIN) {
				int err = conn_wait(c, POLLOUT, end);
				if (err)
					return err;
				continue;
			}
			if (n < 0)
				return errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Everything until the peer closes (Connection: close), at most max. */
static int conn_read_all(struct conn *c, char *buf, size_t max, size_t *len,
			 const struct timespec *end)
{
	*len = 0;
	for (;;) {
		if (*len == max)
			return EFBIG;
		ssize_t n;
		if (c->ssl) {
			int rc = SSL_read(c->ssl, buf + *len, (int)(max - *len));
			if (rc <= 0) {
				int err = tls_retry(c, rc, end);
				if (err == ECONNRESET)
					return 0; /* close_notify */
				if (err == EPROTO && *len)
					return 0; /* closed without close_notify */
				if (err)
					return err;
				continue;
			}
			n = rc;
		} else {
			n = recv(c->fd, buf + *len, max - *len, 0);
			if (n < 0 && errno == EAGAIN) {
				int err = conn_wait(c, POLLIN, end);
				if (err)
					return err;
				continue;
			}
			if (n < 0)
				return errno;
			if (n == 0)
				return 0;
		}
		*len += (size_t)n;
	}
}

static void conn_close(struct conn *c)
{
	SSL_free(c->ssl);
	SSL_CTX_free(c->ctx);
	if (c->fd >= 0)
		close(c->fd);
}

int httpget(const struct httpget_req *q, struct httpget_resp *r, char *why,
	    size_t whysz)
{
	struct timespec end;
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += q->timeout_ms / 1000;
	end.tv_nsec += (long)(q->timeout_ms % 1000) * 1000000;
	if (end.tv_nsec >= 1000000000) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000;
	}
	memset(r, 0, sizeof(*r));
	snprintf(why, whysz, "?");
	const struct httpget_url *u = q->url;
	struct conn c = {.fd = -1, .cancel_fd = q->cancel_fd};
	size_t max = HTTPGET_HEAD_MAX + HTTPGET_BODY_MAX, len = 0;
	char *buf = malloc(max + 1);
	char *req = malloc(HTTPGET_PATH_MAX + HTTPGET_HOST_MAX + 1024);
	int err = buf && req ? tcp_connect(u, q->cancel_fd, &end, &c.fd, why,
					   whysz) : ENOMEM;
	if (!err && u->tls)
		err = tls_open(&c, q, &end, why, whysz);
	if (!err) {
		bool v6 = strchr(u->host, ':') != NULL;
		int n = snprintf(req, HTTPGET_PATH_MAX + HTTPGET_HOST_MAX + 1024,
			"GET %s HTTP/1.1\r\nHost: %s%s%s:%s\r\n%s%s%s%s%s%s"
			"User-Agent: turnstone\r\nAccept: application/json\r\n"
			"Connection: close\r\n\r\n", u->path, v6 ? "[" : "",
			u->host, v6 ? "]" : "", u->port,
			q->auth ? "Authorization: " : "", q->auth ? q->auth : "",
			q->auth ? "\r\n" : "", q->etag ? "If-None-Match: " : "",
			q->etag ? q->etag : "", q->etag ? "\r\n" : "");
		err = n > 0 ? conn_write(&c, req, (size_t)n, &end) : EINVAL;
		if (err)
			snprintf(why, whysz, "sending the request: %s", strerror(err));
	}
	if (!err) {
		err = conn_read_all(&c, buf, max, &len, &end);
		if (err)
			snprintf(why, whysz, "reading the answer: %s", strerror(err));
	}
	if (!err)
		buf[len] = '\0'; /* the parser never needs it; a bound all the same */
	if (!err && httpget_parse(buf, len, r) != 0) {
		err = EBADMSG;
		snprintf(why, whysz, "a malformed HTTP answer");
	}
	if (req)
		explicit_bzero(req, HTTPGET_PATH_MAX + HTTPGET_HOST_MAX + 1024);
	free(req);
	free(buf);
	conn_close(&c);
	return err;
}

void httpget_resp_free(struct httpget_resp *r)
{
	free(r->body);
	r->body = NULL;
	r->len = 0;
}
