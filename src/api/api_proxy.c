/* api-trusted-proxy: behind a reverse proxy (nginx terminating TLS, say)
 * every request comes from the proxy's address, so the per-IP rate limit
 * and connection cap would count all clients as one. From a proxy the
 * operator names, the client is taken from X-Forwarded-For instead:
 * walking it from the right (each proxy appends the address it got the
 * request from), past the trusted proxies, to the first other address.
 * Entries left of that are the client's own words and are not believed;
 * X-Forwarded-For from anyone else is ignored. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <microhttpd.h>

#include "api/api_int.h"

#define XFF_MAX 2048

bool api_proxy_trusted(const struct api_cfg *c, const struct sa *ip)
{
	return cidr_list_has(c->proxies, c->nproxies, ip);
}

struct xff {
	char buf[XFF_MAX];
	size_t len;
	bool over;
};

/* Every X-Forwarded-For line, in order, as one list (RFC 9110 5.3). */
static enum MHD_Result xff_collect(void *cls, enum MHD_ValueKind kind,
				   const char *key, const char *value)
{
	struct xff *x = cls;
	(void)kind;
	if (!key || !value || strcasecmp(key, "X-Forwarded-For") != 0)
		return MHD_YES;
	size_t n = strlen(value);
	if (x->len + n + 2 > sizeof(x->buf)) {
		x->over = true;
		return MHD_NO;
	}
	if (x->len)
		x->buf[x->len++] = ',';
	memcpy(x->buf + x->len, value, n + 1);
	x->len += n;
	return MHD_YES;
}

/* The last entry of list (cut off it), spaces trimmed, as an address. */
static bool xff_pop(char *list, struct sa *out)
{
	char *comma = strrchr(list, ',');
	char *e = comma ? comma + 1 : list;
	while (*e == ' ' || *e == '\t')
		e++;
	size_t n = strlen(e);
	while (n && (e[n - 1] == ' ' || e[n - 1] == '\t'))
		e[--n] = '\0';
	bool ok = n > 0 && sa_set_str(out, e, 0) == 0;
	if (comma)
		*comma = '\0';
	else
		list[0] = '\0';
	return ok;
}

void api_client_ip(const struct api_cfg *c, struct MHD_Connection *conn,
		   const struct sa *peer, char *out, size_t sz)
{
	struct sa client = *peer, e;
	if (c->nproxies && api_proxy_trusted(c, peer)) {
		struct xff x = {.len = 0};
		MHD_get_connection_values(conn, MHD_HEADER_KIND, xff_collect, &x);
		/* Too long to be a proxy chain: believe none of it. */
		while (!x.over && x.buf[0] && xff_pop(x.buf, &e)) {
			client = e;
			if (!api_proxy_trusted(c, &e))
				break;
		}
	}
	sa_fmt_ip(&client, out, sz);
}
