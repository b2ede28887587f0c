/* Checks on a request head before it is routed and before any of its
 * body is read: size, message framing and the declared body length.
 * Each refusal is our JSON error, not libmicrohttpd's HTML page. */
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
	const char *te;
};

static enum MHD_Result head_scan_one(void *cls, enum MHD_ValueKind kind,
				     const char *key, const char *value)
{
	(void)kind;
	struct head_scan *s = cls;
	s->bytes += strlen(key) + (value ? strlen(value) : 0) + 4;
	if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
		s->ncl++;
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

bool api_head_refuse(struct api_req *r, const char *url, const char *version,
		     int *rc)
{
	struct head_scan s = {.bytes = strlen(url)};
	MHD_get_connection_values(r->conn, MHD_HEADER_KIND, head_scan_one, &s);
	unsigned status;
	const char *why = head_framing_bad(&s, version, &status);
	if (s.bytes > API_HEADERS_MAX)
		/* Our own limit, well under libmicrohttpd's buffer, so that
		 * an oversized head gets this rather than its HTML page. */
		*rc = api_reply_error(r, MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE,
				      "headers_too_large",
				      "request headers over 16 KiB");
	else if (why)
		*rc = api_reply_error_h(r, status,
					status == MHD_HTTP_BAD_REQUEST
						? "bad_request"
						: "not_implemented",
					why, MHD_HTTP_HEADER_CONNECTION, "close");
	else if (head_declared_too_big(r))
		*rc = api_reply_too_big(r);
	else
		return false;
	return true;
}
