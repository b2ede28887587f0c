/* libFuzzer target for the body of POST /v1/ice-servers (api_body.c):
 * the first byte picks the Content-Type (from a table of real and near
 * miss types, or, past the table, the input up to the first newline as
 * a header value); the rest is the body, in a buffer of exactly its size
 * and not NUL-terminated, as libmicrohttpd hands it over, so any read
 * past the end is caught. A body that parses has its ttl minted into an
 * answer by api_compose, whose ttl and expires must then be that ttl.
 * Seeds: tests/fuzz/seeds-body. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_NOW 1700000000u

static const char *const fz_ctypes[] = {
	NULL,
	"application/json",
	"application/json; charset=utf-8",
	"APPLICATION/JSON;charset=UTF-8",
	"application/json ",
	"application/jsonp",
	"application/x-www-form-urlencoded",
	"application/x-www-form-urlencoded; charset=utf-8",
	"application/x-www-form-urlencodedx",
	"text/plain",
	"",
};
#define FZ_NCTYPES (sizeof(fz_ctypes) / sizeof(fz_ctypes[0]))

/* The answer for a parsed ttl: a platform node minting REST credentials
 * and a customer's server with static ones. */
static void fz_compose(uint32_t ttl)
{
	struct api_group g[2] = {
		{.nurls = 2, .urls = {"turn:a.example.com", "turns:a.example.com:443?transport=tcp"},
		 .secret = "platform-secret", .sep = ':'},
		{.fallback = true, .nurls = 1, .urls = {"turn:b.example.com"},
		 .username = "u", .credential = "c"},
	};
	struct api_ice_req r = {.account = "acme", .sub = "user-1",
				.ttl = ttl ? ttl : 86400, .now = FZ_NOW};
	struct api_ice_out out = {0};
	if (api_compose(g, 2, &r, NULL, NULL, &out) != 0)
		abort();
	json_t *t = json_object_get(out.body, "ttl");
	json_t *e = json_object_get(out.body, "expires");
	if (json_integer_value(t) != (json_int_t)r.ttl ||
	    json_integer_value(e) != (json_int_t)(FZ_NOW + r.ttl))
		abort();
	json_decref(out.body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char ctbuf[256];
	const char *ctype;
	if (size == 0)
		return 0;
	size_t pick = data[0];
	data++;
	size--;
	if (pick < FZ_NCTYPES) {
		ctype = fz_ctypes[pick];
	} else {
		const uint8_t *nl = memchr(data, '\n', size);
		size_t n = nl ? (size_t)(nl - data) : size;
		if (n >= sizeof(ctbuf) || memchr(data, '\0', n))
			return 0; /* a header value is a C string */
		memcpy(ctbuf, data, n);
		ctbuf[n] = '\0';
		ctype = ctbuf;
		data += nl ? n + 1 : n;
		size -= nl ? n + 1 : n;
	}
	/* Exactly the body's bytes: malloc(0) may return NULL. */
	char *body = malloc(size ? size : 1);
	if (!body)
		return 0;
	memcpy(body, data, size);
	uint32_t ttl = 12345;
	char msg[API_BODY_MSG_MAX];
	int err = api_body_ttl(ctype, body, size, &ttl, msg);
	if (err != 0 && err != EINVAL && err != EPROTONOSUPPORT)
		abort();
	if (err != 0 && !msg[0])
		abort(); /* every refusal says why */
	if (err == 0) {
		if (ttl > 31536000u || (size == 0 && ttl != 0))
			abort();
		fz_compose(ttl);
	}
	free(body);
	return 0;
}
