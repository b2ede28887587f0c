/* base64url without padding, as JWS uses it (RFC 7515 2, RFC 4648 5).
 * Decoding is strict: no padding, no whitespace, no '+' or '/', and the
 * unused low bits of the last character must be zero (RFC 4648 3.5), so
 * each byte string has exactly one encoding and a flipped bit in a token
 * cannot decode to the same bytes. */
#include <errno.h>
#include <string.h>

#include "auth/jwt_int.h"

static const char jwt_b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Value of one base64url character, or -1 (NUL included: it is not
 * among the 64). */
static int jwt_b64_val(unsigned char c)
{
	const char *p = memchr(jwt_b64_alphabet, c, 64);

	return p ? (int)(p - jwt_b64_alphabet) : -1;
}

int jwt_b64_decode(const char *in, size_t n, uint8_t *out, size_t outsz,
		   size_t *outlen)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t o = 0;

	/* One leftover character carries 6 bits: never a whole byte. */
	if (n % 4 == 1)
		return EBADMSG;
	if (n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0) > outsz)
		return ENOSPC;
	for (size_t i = 0; i < n; i++) {
		int v = jwt_b64_val((unsigned char)in[i]);
		if (v < 0)
			return EBADMSG;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits < 8)
			continue;
		bits -= 8;
		if (out)
			out[o] = (uint8_t)(acc >> bits);
		o++;
		acc &= (1u << bits) - 1;
	}
	if (acc != 0)
		return EBADMSG;
	*outlen = o;
	return 0;
}

int jwt_b64_encode(const uint8_t *in, size_t n, char *out, size_t outsz,
		   size_t *outlen)
{
	size_t need = n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t o = 0;

	if (need >= outsz)
		return ENOSPC;
	for (size_t i = 0; i < n; i++) {
		acc = acc << 8 | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = jwt_b64_alphabet[(acc >> bits) & 0x3f];
		}
		acc &= (1u << bits) - 1;
	}
	if (bits > 0)
		out[o++] = jwt_b64_alphabet[(acc << (6 - bits)) & 0x3f];
	out[o] = '\0';
	*outlen = o;
	return 0;
}
