/* Reading an HTTP/1.1 answer (RFC 9112): the status line, the two
 * headers revsync needs (ETag, and how the body is framed), and the body
 * by Content-Length, chunked, or to the close. Pure: no I/O. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/httpget.h"
#include "util/bytes.h"

struct head {
	long long clen; /* -1: none */
	bool chunked;
};

static const char *line_end(const char *p, const char *end)
{
	const char *e = memchr(p, '\r', (size_t)(end - p));
	return e && e + 1 < end && e[1] == '\n' ? e : NULL;
}

/* "Name: value" into h and r; unknown headers are skipped. */
static int header(const char *p, const char *e, struct head *h,
		  struct httpget_resp *r)
{
	const char *colon = memchr(p, ':', (size_t)(e - p));
	if (!colon || colon == p)
		return EBADMSG;
	size_t nl = (size_t)(colon - p);
	const char *v = colon + 1;
	while (v < e && (*v == ' ' || *v == '\t'))
		v++;
	size_t vl = (size_t)(e - v);
	while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
		vl--;
	if (nl == 4 && strncasecmp(p, "ETag", 4) == 0) {
		if (vl >= sizeof(r->etag))
			return EBADMSG;
		memcpy(r->etag, v, vl);
		r->etag[vl] = '\0';
	} else if (nl == 14 && strncasecmp(p, "Content-Length", 14) == 0) {
		if (vl == 0 || vl > 12 || strspn(v, "0123456789") < vl ||
		    h->clen >= 0)
			return EBADMSG; /* two lengths: which one? (RFC 9112 6.3) */
		h->clen = strtoll(v, NULL, 10);
	} else if (nl == 17 && strncasecmp(p, "Transfer-Encoding", 17) == 0) {
		if (vl != 7 || strncasecmp(v, "chunked", 7) != 0)
			return EBADMSG; /* nothing else is sent to us */
		h->chunked = true;
	}
	return 0;
}

static int body_set(struct httpget_resp *r, const char *p, size_t n)
{
	if (n > HTTPGET_BODY_MAX)
		return EBADMSG;
	r->body = malloc(n + 1);
	if (!r->body)
		return ENOMEM;
	memcpy(r->body, p, n);
	r->body[n] = '\0';
	r->len = n;
	return 0;
}

/* Chunks of "<hex>[;ext]\r\n<data>\r\n" up to a 0 chunk, joined. */
static int dechunk(const char *p, const char *end, struct httpget_resp *r)
{
	char *out = malloc((size_t)(end - p) + 1);
	size_t n = 0;
	int err = out ? EBADMSG : ENOMEM;
	while (out && p < end) {
		const char *e = line_end(p, end), *x = p;
		size_t sz = 0;
		/* Hex digits by hand: strtoul would skip leading white space,
		 * "\r\n" included, and read on past the line and the buffer
		 * (found by fuzz_httpget). 7 digits hold HTTPGET_BODY_MAX. */
		while (e && x < e && x - p < 7 && bytes_hex_digit(*x) >= 0)
			sz = sz * 16 + (size_t)bytes_hex_digit(*x++);
		if (!e || x == p || (x != e && *x != ';') ||
		    sz > (size_t)(end - e) || sz > HTTPGET_BODY_MAX)
			break;
		p = e + 2;
		if (sz == 0) {
			err = 0;
			break;
		}
		if ((size_t)(end - p) < sz + 2 || p[sz] != '\r' || p[sz + 1] != '\n')
			break;
		memcpy(out + n, p, sz);
		n += sz;
		p += sz + 2;
	}
	if (!err)
		err = body_set(r, out, n);
	free(out);
	return err;
}

int httpget_parse(const char *buf, size_t len, struct httpget_resp *r)
{
	const char *end = buf + len, *e = line_end(buf, end);
	struct head h = {.clen = -1};
	memset(r, 0, sizeof(*r));
	if (!e || e - buf < 12 || strncmp(buf, "HTTP/1.", 7) != 0 ||
	    buf[8] != ' ' || strspn(buf + 9, "0123456789") < 3)
		return EBADMSG;
	r->status = atoi(buf + 9);
	const char *p = e + 2;
	int err = 0;
	while (!err && (e = line_end(p, end)) && e != p) {
		err = header(p, e, &h, r);
		p = e + 2;
	}
	if (err || !e)
		return EBADMSG; /* no end of the head */
	p = e + 2;
	if (r->status == 204 || r->status == 304 || r->status < 200)
		return 0;
	if (h.chunked && h.clen >= 0)
		return EBADMSG;
	if (h.chunked)
		return dechunk(p, end, r);
	size_t n = (size_t)(end - p);
	if (h.clen >= 0) {
		if ((size_t)h.clen > n)
			return EBADMSG; /* cut short */
		n = (size_t)h.clen;
	}
	return n ? body_set(r, p, n) : 0;
}
