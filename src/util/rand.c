#include "util/rand.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

int rand_bytes(void *buf, size_t n)
{
	uint8_t *p = buf;
	while (n > 0) {
		ssize_t r = getrandom(p, n, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

uint32_t rand_u32(void)
{
	uint32_t v;
	/* getrandom() on an initialised pool cannot fail for 4 bytes; abort
	 * rather than hand out a predictable value if it somehow does. */
	if (rand_bytes(&v, sizeof(v)) != 0)
		abort();
	return v;
}
