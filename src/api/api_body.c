/* The optional body of POST /v1/ice-servers: JSON {"ttl":N} or the form
 * ttl=N that PHP's http_build_query sends. Anything else is refused so a
 * typo ("tll") is an error, not a silent default. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/api_int.h"

#define API_TTL_CEIL 31536000u /* parse bound; accounts clamp lower */

bool api_ctype_is(const char *ctype, const char *want)
{
	size_t n = strlen(want);
	if (strncasecmp(ctype, want, n) != 0)
		return false;
	/* "application/json; charset=utf-8" is the same type. */
	return ctype[n] == '\0' || ctype[n] == ';' || ctype[n] == ' ';
}

json_t *api_json_parse(const char *body, size_t len,
		       char msg[API_BODY_MSG_MAX])
{
	json_error_t jerr;
	json_t *j = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES,
			       &jerr);
	/* jansson's reason names a duplicate key ("duplicate object key
	 * near '\"ttl\"'") or where the text broke off. */
	if (!j)
		snprintf(msg, API_BODY_MSG_MAX, "body is not valid JSON: %s",
			 jerr.text);
	return j;
}

static int ttl_json(const char *body, size_t len, uint32_t *ttl,
		    char msg[API_BODY_MSG_MAX])
{
	json_t *o = api_json_parse(body, len, msg);
	int err = EINVAL;
	if (!o)
		return EINVAL;
	snprintf(msg, API_BODY_MSG_MAX, "body must be a JSON object");
	if (!json_is_object(o))
		goto out;
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v) {
		if (strcmp(k, "ttl") != 0) {
			/* The key last: a long one is cut, not the hint. */
			snprintf(msg, API_BODY_MSG_MAX, "unknown field (only "
				 "\"ttl\" is accepted): %s", k);
			goto out;
		}
	}
	v = json_object_get(o, "ttl");
	snprintf(msg, API_BODY_MSG_MAX,
		 "ttl must be a positive integer (seconds)");
	if (v && (!json_is_integer(v) || json_integer_value(v) <= 0 ||
		  json_integer_value(v) > API_TTL_CEIL))
		goto out;
	*ttl = v ? (uint32_t)json_integer_value(v) : 0;
	err = 0;
out:
	json_decref(o);
	return err;
}

static int ttl_digits(const char *s, size_t len, uint32_t *ttl)
{
	uint64_t n = 0;
	if (len == 0 || len > 10)
		return EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return EINVAL;
		n = n * 10 + (uint64_t)(s[i] - '0');
	}
	if (n == 0 || n > API_TTL_CEIL)
		return EINVAL;
	*ttl = (uint32_t)n;
	return 0;
}

/* Only "ttl=<digits>" pairs; no percent-escapes are needed for digits. */
static int ttl_form(const char *body, size_t len, uint32_t *ttl,
		    char msg[API_BODY_MSG_MAX])
{
	size_t i = 0;
	bool seen = false;
	while (i < len) {
		const char *pair = body + i;
		const char *amp = memchr(pair, '&', len - i);
		size_t plen = amp ? (size_t)(amp - pair) : len - i;
		i += plen + 1;
		if (plen == 0)
			continue;
		const char *why = NULL;
		if (plen < 4 || memcmp(pair, "ttl=", 4) != 0)
			why = "unknown field (only \"ttl\" is accepted)";
		else if (seen)
			why = "ttl given twice";
		else if (ttl_digits(pair + 4, plen - 4, ttl) != 0)
			why = "ttl must be a positive integer (seconds)";
		if (why) {
			snprintf(msg, API_BODY_MSG_MAX, "%s", why);
			return EINVAL;
		}
		seen = true;
	}
	return 0;
}

int api_body_ttl(const char *ctype, const char *body, size_t len,
		 uint32_t *ttl, char msg[API_BODY_MSG_MAX])
{
	*ttl = 0;
	msg[0] = '\0';
	if (len == 0)
		return 0;
	if (ctype && api_ctype_is(ctype, "application/json"))
		return ttl_json(body, len, ttl, msg);
	if (ctype && api_ctype_is(ctype, "application/x-www-form-urlencoded"))
		return ttl_form(body, len, ttl, msg);
	snprintf(msg, API_BODY_MSG_MAX, "Content-Type must be application/json "
		 "or application/x-www-form-urlencoded");
	return EPROTONOSUPPORT;
}
