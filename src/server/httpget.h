/* A small HTTP/1.1 GET client over TCP or TLS (OpenSSL, certificate and
 * name verified), for revoked-from (revsync.c): one request per
 * connection, a deadline on the whole exchange, a bounded answer. */
#ifndef TS_SERVER_HTTPGET_H
#define TS_SERVER_HTTPGET_H
#include <stdbool.h>
#include <stddef.h>

#define HTTPGET_HOST_MAX 256
#define HTTPGET_PATH_MAX 1024
#define HTTPGET_BODY_MAX (4u << 20)

struct httpget_url {
	bool tls;
	char host[HTTPGET_HOST_MAX]; /* without IPv6 brackets */
	char port[8];
	char path[HTTPGET_PATH_MAX]; /* "/" at least, query included */
};
/* "http[s]://host[:port][/path]" ([v6] allowed); EINVAL otherwise. */
int httpget_url_parse(const char *s, struct httpget_url *u);

struct httpget_req {
	const struct httpget_url *url;
	const char *auth;    /* Authorization value, or NULL */
	const char *etag;    /* If-None-Match, or NULL */
	const char *ca_file; /* https: trusted CAs, NULL/"" = the system's */
	unsigned timeout_ms; /* the whole exchange */
	int cancel_fd;       /* readable: give up (ECANCELED); 0 = none */
};

struct httpget_resp {
	int status;
	char etag[128];
	char *body; /* heap, NUL-terminated; NULL when empty */
	size_t len;
};
/* 0 with *r filled (any status), or an errno value with why saying what
 * failed (resolution, connect, TLS, timeout, a malformed or oversized
 * answer). The name's resolution is under the deadline too. */
int httpget(const struct httpget_req *q, struct httpget_resp *r, char *why,
	    size_t whysz);
void httpget_resp_free(struct httpget_resp *r);
/* 0 when ca_file holds PEM CA certificates OpenSSL loads, else EINVAL
 * (so that a bad file stops the start; each request reads it anew). */
int httpget_ca_check(const char *ca_file);
/* Parse a whole answer (status line, headers, body: Content-Length,
 * chunked, or to the end) into r; EBADMSG when malformed. */
int httpget_parse(const char *buf, size_t len, struct httpget_resp *r);

#endif
