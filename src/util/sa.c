#include "util/sa.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sa_set_str(struct sa *sa, const char *ip, uint16_t port)
{
	memset(sa, 0, sizeof(*sa));
	if (inet_pton(AF_INET, ip, &sa->u.in.sin_addr) == 1) {
		sa->u.in.sin_family = AF_INET;
		sa->u.in.sin_port = htons(port);
		sa->len = sizeof(sa->u.in);
		return 0;
	}
	if (inet_pton(AF_INET6, ip, &sa->u.in6.sin6_addr) == 1) {
		sa->u.in6.sin6_family = AF_INET6;
		sa->u.in6.sin6_port = htons(port);
		sa->len = sizeof(sa->u.in6);
		return 0;
	}
	return EINVAL;
}

static int sa_port_parse(const char *s, uint16_t *port)
{
	char *end;
	if (*s < '0' || *s > '9')
		return EINVAL;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || v == 0 || v > 65535)
		return EINVAL;
	*port = (uint16_t)v;
	return 0;
}

int sa_set_hostport(struct sa *sa, const char *s, uint16_t dflt_port)
{
	char ip[INET6_ADDRSTRLEN];
	uint16_t port = dflt_port;
	const char *colon = strrchr(s, ':');
	size_t n;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || (close[1] && (close[1] != ':' || sa_port_parse(close + 2, &port))))
			return EINVAL;
		s++;
		n = (size_t)(close - s);
	} else if (colon && colon == strchr(s, ':')) {
		/* One colon: IPv4 with a port. More: a bare IPv6 address. */
		if (sa_port_parse(colon + 1, &port))
			return EINVAL;
		n = (size_t)(colon - s);
	} else {
		n = strlen(s);
	}
	if (n >= sizeof(ip) || port == 0)
		return EINVAL;
	memcpy(ip, s, n);
	ip[n] = '\0';
	return sa_set_str(sa, ip, port);
}

void sa_set_raw(struct sa *sa, int af, const uint8_t *addr, uint16_t port)
{
	memset(sa, 0, sizeof(*sa));
	if (af == AF_INET) {
		sa->u.in.sin_family = AF_INET;
		memcpy(&sa->u.in.sin_addr, addr, 4);
		sa->u.in.sin_port = htons(port);
		sa->len = sizeof(sa->u.in);
	} else {
		sa->u.in6.sin6_family = AF_INET6;
		memcpy(&sa->u.in6.sin6_addr, addr, 16);
		sa->u.in6.sin6_port = htons(port);
		sa->len = sizeof(sa->u.in6);
	}
}

void sa_set_port(struct sa *sa, uint16_t port)
{
	if (sa_af(sa) == AF_INET)
		sa->u.in.sin_port = htons(port);
	else if (sa_af(sa) == AF_INET6)
		sa->u.in6.sin6_port = htons(port);
}

uint32_t sa_hash(const struct sa *sa, uint32_t seed)
{
	/* FNV-1a over family, address and port; seeded per table so remote
	 * parties cannot aim collisions at a predictable bucket. */
	uint32_t h = 2166136261u ^ seed;
	const uint8_t *p = sa_addr_bytes(sa);
	size_t n = sa_af(sa) == AF_INET ? 4 : 16;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	uint16_t port = sa_port(sa);
	h = (h ^ (port & 0xff)) * 16777619u;
	h = (h ^ (port >> 8)) * 16777619u;
	return h;
}

void sa_unmap(struct sa *out, const struct sa *ip)
{
	static const uint8_t mapped[12] = {[10] = 0xff, [11] = 0xff};
	const uint8_t *a = sa_addr_bytes(ip);
	if (sa_af(ip) == AF_INET6 && memcmp(a, mapped, sizeof(mapped)) == 0)
		sa_set_raw(out, AF_INET, a + 12, sa_port(ip));
	else
		*out = *ip;
}

void sa_source_key(struct sa *key, const struct sa *ip)
{
	uint8_t prefix[16] = {0};
	struct sa u;
	sa_unmap(&u, ip);
	if (sa_af(&u) != AF_INET6) {
		sa_set_raw(key, AF_INET, sa_addr_bytes(&u), 0);
		return;
	}
	memcpy(prefix, sa_addr_bytes(&u), 8);
	sa_set_raw(key, AF_INET6, prefix, 0);
}

const char *sa_fmt_ip(const struct sa *sa, char *buf, size_t sz)
{
	if (!inet_ntop(sa_af(sa), sa_addr_bytes(sa), buf, (socklen_t)sz))
		snprintf(buf, sz, "?");
	return buf;
}

const char *sa_fmt(const struct sa *sa, char *buf, size_t sz)
{
	char ip[INET6_ADDRSTRLEN];
	sa_fmt_ip(sa, ip, sizeof(ip));
	if (sa_af(sa) == AF_INET6)
		snprintf(buf, sz, "[%s]:%u", ip, sa_port(sa));
	else
		snprintf(buf, sz, "%s:%u", ip, sa_port(sa));
	return buf;
}

bool sa_is_any(const struct sa *sa)
{
	static const uint8_t zero[16];
	size_t n = sa_af(sa) == AF_INET ? 4 : 16;
	return memcmp(sa_addr_bytes(sa), zero, n) == 0;
}
