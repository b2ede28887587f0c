/* Constant-time comparison for MACs, tokens and hashes: the time taken
 * must not reveal how many leading bytes matched. */
#include <openssl/crypto.h>

#include "auth/auth.h"

bool auth_ct_equal(const void *a, const void *b, size_t n)
{
	if (n == 0)
		return true;
	return CRYPTO_memcmp(a, b, n) == 0;
}
