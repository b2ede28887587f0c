/* Checks on a request head before it is routed and before any of its
 * body is read: size, syntax, message framing and the declared body
 * length. Each refusal is our JSON error, not libmicrohttpd's HTML page.
 * libmicrohttpd 0.9.75 refuses some malformed heads itself, before we
 * see them (docs/api.md, "Errors"); these are the ones it lets through. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <microhttpd.h>

#include "api/api_int.h"

struct head_scan {
	size_t bytes;  /* request line + headers, roughly as sent */
	unsigned ncl;  /* Content-Length fields */
	unsigned nte;  /* Transfer-Encoding fields */
	unsigned nhost;
	const char *te;
	const char *bad; /* why the first malformed field is, or NULL */
};

/* RFC 9110 section 5.6.2: tchar. */
static bool head_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* A method or field name (RFC 9110 sections 9.1 and 5.1). */
static bool head_token(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!head_tchar((unsigned char)*s))
			return false;
	return true;
}

/* CR, LF, NUL and the other controls but HTAB (RFC 9110 section 5.5;
 * libmicrohttpd keeps a bare CR, which RFC 9112 section 2.2 forbids);
 * for a request target (RFC 9112 section 3.2) HTAB too. A NUL never
 * shows: libmicrohttpd's strings end there. */
static bool head_ctl(const char *s, bool tab_ok)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c < 0x20 && !(tab_ok && c == '\t')) || c == 0x7F)
			return true;
	}
	return false;
}

bool api_head_target_bad(const char *target)
{
	return head_ctl(target, false);
}

/* libmicrohttpd 0.9.75 glues a folded line (obs-fold, RFC 9112 section
 * 5.2) onto the field's name: "Content-Length:" then " 5" arrives as a
 * field "Content-Length5", which it does not take as the body's length,
 * while a proxy that unfolds it does. Such a name is refused. */
static bool head_glued(const char *key, const char *name)
{
	size_t n = strlen(name);
	return strncasecmp(key, name, n) == 0 && key[n] != '\0';
}

static const char *head_field_bad(const char *key, const char *value)
{
	/* "Content-Length :" arrives with the space in the name, and is
	 * not taken as a length: RFC 9112 section 5.1 makes it a 400. */
	if (!head_token(key) ||
	    head_glued(key, MHD_HTTP_HEADER_CONTENT_LENGTH) ||
	    head_glued(key, MHD_HTTP_HEADER_TRANSFER_ENCODING))
		return "malformed header field name (whitespace, a control "
		       "character or line folding)";
	if (value && head_ctl(value, true))
		return "control character in a header field value";
	return NULL;
}

static enum MHD_Result head_scan_one(void *cls, enum MHD_ValueKind kind,
				     const char *key, const char *value)
{
	(void)kind;
	struct head_scan *s = cls;
	s->bytes += strlen(key) + (value ? strlen(value) : 0) + 4;
	if (!s->bad)
		s->bad = head_field_bad(key, value);
	if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
		s->ncl++;
	if (strcasecmp(key, MHD_HTTP_HEADER_HOST) == 0)
		s->nhost++;
	if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
		s->nte++;
		s->te = value;
	}
	return MHD_YES;
}

int api_reply_too_big(struct api_req *r)
{
	char msg[64];
	snprintf(msg, sizeof(msg), "request body over %zu bytes", r->max);
	return api_reply_error(r, MHD_HTTP_CONTENT_TOO_LARGE,
			       "payload_too_large", msg);
}

/* Declared Content-Length over the limit: refuse before reading it.
 * libmicrohttpd has parsed it already (digits only, fits 64 bits). */
static bool head_declared_too_big(struct api_req *r)
{
	const char *cl = api_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (!cl)
		return false;
	char *end;
	errno = 0;
	unsigned long long n = strtoull(cl, &end, 10);
	return errno || *end || n > r->max;
}

/* Where a body ends must not be open to two readings, or a proxy in
 * front of us and we could split the bytes into different requests
 * (request smuggling). libmicrohttpd 0.9.75 takes the first of several
 * Content-Length fields and lets Transfer-Encoding override
 * Content-Length, keeping the connection open in both cases; RFC 9112
 * section 6.3 makes the first an error that must close the connection,
 * section 6.1 the second. NULL if the framing is sound, else why not;
 * *status is then 400, or 501 for a transfer coding we do not know. */
static const char *head_framing_bad(const struct head_scan *s,
				    const char *version, unsigned *status)
{
	*status = MHD_HTTP_BAD_REQUEST;
	if (s->ncl > 1)
		return "more than one Content-Length";
	if (s->nte && s->ncl)
		return "both Transfer-Encoding and Content-Length";
	if (s->nte && strcmp(version, MHD_HTTP_VERSION_1_0) == 0)
		return "Transfer-Encoding in an HTTP/1.0 request";
	if (s->nte > 1 || (s->nte && strcasecmp(s->te, "chunked") != 0)) {
		*status = MHD_HTTP_NOT_IMPLEMENTED;
		return "only the chunked transfer coding is supported";
	}
	return NULL;
}

/* The request line and fields, before their meaning: NULL if sound,
 * else why not (a 400). bad_target: the URI log callback saw a control
 * character in the request target as sent (r->url is decoded). */
static const char *head_syntax_bad(const struct api_req *r,
				   const struct head_scan *s,
				   const char *version, bool bad_target)
{
	if (bad_target)
		return "control character in the request target";
	if (!head_token(r->method))
		return "malformed method";
	if (s->bad)
		return s->bad;
	/* RFC 9112 section 3.2: exactly one Host in HTTP/1.1 (libmicrohttpd
	 * serves a request without one; a later 1.x reads as 1.1). */
	if (s->nhost > 1)
		return "more than one Host";
	if (s->nhost == 0 && strcmp(version, MHD_HTTP_VERSION_1_0) != 0)
		return "HTTP/1.1 request without Host";
	return NULL;
}

/* A malformed head: 400, or 501 for a transfer coding we do not know,
 * and the connection closes (where its body ends may be unclear). */
static int head_reply_bad(struct api_req *r, unsigned status, const char *why)
{
	return api_reply_error_h(r, status,
				 status == MHD_HTTP_BAD_REQUEST ? "bad_request"
								: "not_implemented",
				 why, MHD_HTTP_HEADER_CONNECTION, "close");
}

bool api_head_refuse(struct api_req *r, const char *url, const char *version,
		     bool bad_target, int *rc)
{
	struct head_scan s = {.bytes = strlen(url)};
	MHD_get_connection_values(r->conn, MHD_HEADER_KIND, head_scan_one, &s);
	unsigned status = MHD_HTTP_BAD_REQUEST;
	const char *why = head_syntax_bad(r, &s, version, bad_target);
	if (!why)
		why = head_framing_bad(&s, version, &status);
	if (s.bytes > API_HEADERS_MAX)
		/* Our own limit, well under libmicrohttpd's buffer, so that
		 * an oversized head gets this rather than its HTML page. */
		*rc = api_reply_error(r, MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE,
				      "headers_too_large",
				      "request headers over 16 KiB");
	else if (why)
		*rc = head_reply_bad(r, status, why);
	else if (head_declared_too_big(r))
		*rc = api_reply_too_big(r);
	else
		return false;
	return true;
}
