/* libFuzzer target for the ICE URL parser (src/util/iceurl.c), which
 * takes custom servers' URLs from the admin API and the CLI. The input is
 * the URL. A URL that parses is printed back in its canonical form
 * (scheme, host, port, transport) and must parse again to the same
 * fields. Seeds: tests/fuzz/seeds-iceurl. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/iceurl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_canonical(const struct iceurl *u)
{
	static const char *const scheme[2][2] = {{"stun", "stuns"},
						 {"turn", "turns"}};
	char buf[512];
	struct iceurl again;
	int secure = u->transport == ICEURL_TLS;
	int v6 = strchr(u->host, ':') != NULL;
	if (u->host[0] == '\0' || u->port == 0 || (!u->turn && u->transport == ICEURL_TCP))
		abort();
	snprintf(buf, sizeof(buf), "%s:%s%s%s:%u%s", scheme[u->turn][secure],
		 v6 ? "[" : "", u->host, v6 ? "]" : "", u->port,
		 u->transport == ICEURL_TCP ? "?transport=tcp" : "");
	if (iceurl_parse(buf, &again) != 0 || strcmp(again.host, u->host) != 0 ||
	    again.port != u->port || again.transport != u->transport ||
	    again.turn != u->turn)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct iceurl u;
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (iceurl_parse(s, &u) == 0)
		fuzz_canonical(&u);
	free(s);
	return 0;
}
