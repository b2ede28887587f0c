#include "util/cidr.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int cidr_parse(const char *s, struct cidr *n)
{
	char ip[64];
	const char *slash = strchr(s, '/');
	size_t len = slash ? (size_t)(slash - s) : strlen(s);
	struct sa a;
	if (len == 0 || len >= sizeof(ip))
		return EINVAL;
	memcpy(ip, s, len);
	ip[len] = '\0';
	if (sa_set_str(&a, ip, 0) != 0)
		return EINVAL;
	memset(n, 0, sizeof(*n));
	n->af = sa_af(&a);
	unsigned max = n->af == AF_INET ? 32 : 128, bits = max;
	if (slash) {
		char *end;
		unsigned long b = strtoul(slash + 1, &end, 10);
		if (slash[1] < '0' || slash[1] > '9' || *end || b > max)
			return EINVAL;
		bits = (unsigned)b;
	}
	n->bits = (uint8_t)bits;
	memcpy(n->addr, sa_addr_bytes(&a), max / 8);
	return 0;
}

bool cidr_has(const struct cidr *n, const struct sa *ip)
{
	struct sa u;
	sa_unmap(&u, ip);
	const uint8_t *b = sa_addr_bytes(&u);
	if (sa_af(&u) != n->af)
		return false;
	unsigned full = n->bits / 8, rest = n->bits % 8;
	if (memcmp(b, n->addr, full) != 0)
		return false;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return rest == 0 || (b[full] & mask) == (n->addr[full] & mask);
}

bool cidr_list_has(const struct cidr *list, unsigned n, const struct sa *ip)
{
	for (unsigned i = 0; i < n; i++)
		if (cidr_has(&list[i], ip))
			return true;
	return false;
}
