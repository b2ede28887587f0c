/* Nonce cookie (RFC 8489 9.2): "obMatJos2" followed by the 24-bit
 * security feature set in base64 (4 characters). The server puts it at
 * the start of its NONCE so a client can detect a bid-down attack. */
#include <errno.h>
#include <string.h>

#include "stun/stun.h"

#define STUN_COOKIE_PREFIX_LEN 9 /* strlen(STUN_NONCE_COOKIE) */

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Value of one base64 character, or -1. */
static int b64_value(uint8_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Three bytes encode to four characters with no padding, six bits each,
 * most significant first; bit 0 of the feature set is the top bit. */
void stun_nonce_cookie(uint32_t features, char out[STUN_NONCE_COOKIE_LEN])
{
	memcpy(out, STUN_NONCE_COOKIE, STUN_COOKIE_PREFIX_LEN);
	for (int i = 0; i < 4; i++)
		out[STUN_COOKIE_PREFIX_LEN + i] =
			b64_alphabet[(features >> (18 - 6 * i)) & 0x3F];
}

int stun_nonce_cookie_parse(const uint8_t *nonce, size_t len,
			    uint32_t *features)
{
	if (len < STUN_NONCE_COOKIE_LEN ||
	    memcmp(nonce, STUN_NONCE_COOKIE, STUN_COOKIE_PREFIX_LEN) != 0)
		return ENOENT;
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		int d = b64_value(nonce[STUN_COOKIE_PREFIX_LEN + i]);
		if (d < 0)
			return ENOENT;
		v = (v << 6) | (uint32_t)d;
	}
	*features = v;
	return 0;
}
