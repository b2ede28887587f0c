/* Addresses and networks (CIDR, RFC 4632) as lists of who is trusted:
 * api-trusted-proxy's reverse proxies, tcp-proxy-trusted's balancers. */
#ifndef TS_UTIL_CIDR_H
#define TS_UTIL_CIDR_H
#include <stdbool.h>
#include <stdint.h>

#include "util/sa.h"

/* af AF_INET or AF_INET6; the first bits of addr count. */
struct cidr {
	int af;
	uint8_t addr[16];
	uint8_t bits;
};

/* "IP" or "IP/bits" (IPv4 or IPv6) into n. 0 or EINVAL. */
int cidr_parse(const char *s, struct cidr *n);
/* Whether ip is inside n; an IPv4-mapped IPv6 address (a dual-stack
 * socket's view of an IPv4 peer) counts as that IPv4 address. */
bool cidr_has(const struct cidr *n, const struct sa *ip);
/* Whether any of the n networks of list has ip (none: false). */
bool cidr_list_has(const struct cidr *list, unsigned n, const struct sa *ip);

#endif
