/* Open API connections counted per client source, for
 * --api-connections-per-ip. libmicrohttpd's own per-IP limit counts each
 * IPv6 address on its own, so one host with a /64 (the usual IPv6
 * assignment) could open that many from each of 2^64 addresses and take
 * every slot. Here a source is sa_source_key's: an IPv4 (or IPv4-mapped)
 * address as it is, any other IPv6 address by its /64, as the TURN side
 * and the API's rate limits count it.
 *
 * libmicrohttpd calls us on several threads (its thread pool): the table
 * (util/srccount) has a mutex. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "util/srccount.h"

struct api_srccap {
	struct srccount *count;
	unsigned max;
};

int api_srccap_alloc(struct api_srccap **cp, unsigned max)
{
	struct api_srccap *c = calloc(1, sizeof(*c));
	if (!c)
		return ENOMEM;
	int err = srccount_alloc(&c->count);
	if (err) {
		free(c);
		return err;
	}
	c->max = max;
	*cp = c;
	return 0;
}

void api_srccap_free(struct api_srccap *c)
{
	if (!c)
		return;
	srccount_free(c->count);
	free(c);
}

int api_src_from(struct sa *s, const struct sockaddr *addr, socklen_t len)
{
	socklen_t want = !addr ? 0
		       : addr->sa_family == AF_INET ? sizeof(struct sockaddr_in)
		       : addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
		       : 0;
	if (!want || len < want)
		return EINVAL;
	memset(s, 0, sizeof(*s));
	memcpy(&s->u, addr, want);
	s->len = want;
	return 0;
}

unsigned api_srccap_count(struct api_srccap *c, const struct sa *src)
{
	return srccount_get(c->count, src);
}

bool api_srccap_full(struct api_srccap *c, const struct sa *src)
{
	return c->max && srccount_get(c->count, src) >= c->max;
}

bool api_srccap_take(struct api_srccap *c, const struct sa *src)
{
	return srccount_take(c->count, src, c->max);
}

void api_srccap_put(struct api_srccap *c, const struct sa *src)
{
	srccount_put(c->count, src);
}
