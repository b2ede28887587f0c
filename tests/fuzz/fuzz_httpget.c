/* libFuzzer target for what a revoked-from poll reads from the network
 * (src/server/httpget_parse.c, src/server/revsync.c): an HTTP/1.1
 * answer, then its body as the revoked list. The API node, a proxy or
 * whoever answers on that address writes these bytes. Checked: a parsed
 * answer's body lies within what was given (or, chunked, is no longer),
 * and the list either parses or is EBADMSG. Seeds: tests/fuzz/seeds-httpget. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "server/httpget.h"
#include "server/revsync.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *b = malloc(size ? size : 1); /* exact: reads past it are caught */
	if (!b)
		return 0;
	memcpy(b, data, size);
	struct httpget_resp r;
	int rc = httpget_parse(b, size, &r);
	if (rc != 0 && rc != EBADMSG && rc != ENOMEM)
		abort();
	if (rc == 0) {
		if (r.len > size || (r.body && r.body[r.len] != '\0'))
			abort();
		struct turn_revoked *set = NULL;
		size_t nu, na;
		int e = server_revsync_parse(r.body ? r.body : "", r.len, &set,
					     &nu, &na);
		if (e != 0 && e != EBADMSG && e != ENOMEM)
			abort();
		if (e == 0 && !set)
			abort();
		turn_revoked_put(set);
		httpget_resp_free(&r);
	}
	free(b);
	return 0;
}
