/* Socket addresses: one small value type used by every layer. */
#ifndef TS_UTIL_SA_H
#define TS_UTIL_SA_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

struct sa {
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} u;
	socklen_t len;
};

#define SA_STRLEN 64 /* "[v6]:port" fits */

/* Parse "1.2.3.4", "::1" (port given separately). 0 or EINVAL. */
int sa_set_str(struct sa *sa, const char *ip, uint16_t port);
/* Parse "IP", "IP:PORT", "[IPv6]" or "[IPv6]:PORT" (a bare IPv6 address
 * takes dflt_port too). Port 0 is refused. 0 or EINVAL. */
int sa_set_hostport(struct sa *sa, const char *s, uint16_t dflt_port);
/* Build from raw address bytes (4 or 16) and a port. */
void sa_set_raw(struct sa *sa, int af, const uint8_t *addr, uint16_t port);
void sa_set_port(struct sa *sa, uint16_t port);
uint32_t sa_hash(const struct sa *sa, uint32_t seed);
/* ip itself, or an IPv4-mapped IPv6 address (a dual-stack socket's view
 * of an IPv4 peer) as that IPv4 address, port kept. */
void sa_unmap(struct sa *out, const struct sa *ip);
/* The address a per-source limit counts, port 0: an IPv4-mapped IPv6
 * address as its IPv4 address, any other IPv6 address as its /64, since
 * one host usually owns a whole /64 and could otherwise rotate through
 * it. */
void sa_source_key(struct sa *key, const struct sa *ip);

/* The accessors below run for every relayed packet (5-tuple, permission
 * and channel lookups), so they are inline: callgrind showed them at a
 * quarter of the relay path's instructions as out-of-line calls. */
static inline int sa_af(const struct sa *sa)
{
	return sa->u.sa.sa_family;
}

static inline uint16_t sa_port(const struct sa *sa)
{
	in_port_t p = sa_af(sa) == AF_INET ? sa->u.in.sin_port
		    : sa_af(sa) == AF_INET6 ? sa->u.in6.sin6_port : 0;
	return ntohs(p);
}

/* Pointer to the 4 or 16 address bytes. */
static inline const uint8_t *sa_addr_bytes(const struct sa *sa)
{
	if (sa_af(sa) == AF_INET)
		return (const uint8_t *)&sa->u.in.sin_addr;
	return (const uint8_t *)&sa->u.in6.sin6_addr;
}

/* Address only. */
static inline bool sa_eq_addr(const struct sa *a, const struct sa *b)
{
	if (sa_af(a) != sa_af(b))
		return false;
	if (sa_af(a) == AF_INET)
		return a->u.in.sin_addr.s_addr == b->u.in.sin_addr.s_addr;
	return memcmp(&a->u.in6.sin6_addr, &b->u.in6.sin6_addr, 16) == 0;
}

/* Address and port. */
static inline bool sa_eq(const struct sa *a, const struct sa *b)
{
	return sa_eq_addr(a, b) && sa_port(a) == sa_port(b);
}
/* "1.2.3.4:5" or "[::1]:5"; returns buf. */
const char *sa_fmt(const struct sa *sa, char *buf, size_t sz);
/* "1.2.3.4" or "::1"; returns buf. */
const char *sa_fmt_ip(const struct sa *sa, char *buf, size_t sz);
bool sa_is_any(const struct sa *sa);

#endif
