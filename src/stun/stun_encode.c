/* STUN message encoding into a caller-owned buffer. Errors are sticky:
 * the first append that does not fit sets e->err and every later call is
 * a no-op, so callers check once, in stun_enc_finish(). */
#include <errno.h>
#include <string.h>

#include "stun/stun.h"
#include "util/bytes.h"

/* Largest body the decoder accepts: 20 + body within STUN_MAX_MSG, in
 * whole 4-byte units (65512). */
#define STUN_BODY_MAX ((STUN_MAX_MSG - STUN_HDR_LEN) & ~(size_t)3)

/* Inverse of the split in stun_decode.c (RFC 8489 5.1). */
static uint16_t stun_type_make(uint16_t method, uint8_t cls)
{
	return (uint16_t)((method & 0x000F) | ((method & 0x0070) << 1) |
			  ((method & 0x0F80) << 2) | ((cls & 1) << 4) |
			  ((cls & 2) << 7));
}

void stun_enc_init(struct stun_enc *e, uint8_t *buf, size_t cap,
		   uint16_t method, uint8_t cls, const uint8_t tid[STUN_TID_LEN])
{
	e->buf = buf;
	e->cap = cap;
	e->len = 0;
	e->err = 0;
	e->mac = NULL;
	if (cap < STUN_HDR_LEN) {
		e->err = ENOSPC;
		return;
	}
	put_be16(buf, stun_type_make(method, cls));
	put_be16(buf + 2, 0);
	put_be32(buf + 4, STUN_MAGIC);
	memcpy(buf + 8, tid, STUN_TID_LEN);
	e->len = STUN_HDR_LEN;
}

void stun_enc_attr(struct stun_enc *e, uint16_t type, const void *val,
		   size_t len)
{
	if (e->err)
		return;
	size_t padded = (len + 3) & ~(size_t)3;
	if (len > 0xFFFF || 4 + padded > e->cap - e->len ||
	    e->len - STUN_HDR_LEN + 4 + padded > STUN_BODY_MAX) {
		e->err = ENOSPC;
		return;
	}
	uint8_t *p = e->buf + e->len;
	put_be16(p, type);
	put_be16(p + 2, (uint16_t)len);
	if (len)
		memcpy(p + 4, val, len);
	memset(p + 4 + len, 0, padded - len); /* padding is zeroed */
	e->len += 4 + padded;
	/* Keep the header length current: integrity covers it (14.5). */
	put_be16(e->buf + 2, (uint16_t)(e->len - STUN_HDR_LEN));
}

void stun_enc_u32(struct stun_enc *e, uint16_t type, uint32_t v)
{
	uint8_t b[4];
	put_be32(b, v);
	stun_enc_attr(e, type, b, sizeof(b));
}

void stun_enc_str(struct stun_enc *e, uint16_t type, const char *s)
{
	stun_enc_attr(e, type, s, strlen(s));
}

/* Family, port and address, XORed when xor is set (14.1, 14.2). */
static void stun_enc_addr_any(struct stun_enc *e, uint16_t type,
			      const struct sa *a, bool xor)
{
	if (e->err)
		return;
	int af = sa_af(a);
	if (af != AF_INET && af != AF_INET6) {
		e->err = EINVAL;
		return;
	}
	uint8_t v[20], mask[16];
	size_t alen = af == AF_INET ? 4 : 16;
	put_be32(mask, STUN_MAGIC);
	memcpy(mask + 4, e->buf + 8, STUN_TID_LEN);
	v[0] = 0;
	v[1] = af == AF_INET ? 0x01 : 0x02;
	uint16_t port = sa_port(a);
	put_be16(v + 2, xor ? port ^ (uint16_t)(STUN_MAGIC >> 16) : port);
	const uint8_t *ab = sa_addr_bytes(a);
	for (size_t i = 0; i < alen; i++)
		v[4 + i] = xor ? ab[i] ^ mask[i] : ab[i];
	stun_enc_attr(e, type, v, 4 + alen);
}

void stun_enc_xaddr(struct stun_enc *e, uint16_t type, const struct sa *a)
{
	stun_enc_addr_any(e, type, a, true);
}

void stun_enc_addr(struct stun_enc *e, uint16_t type, const struct sa *a)
{
	stun_enc_addr_any(e, type, a, false);
}

/* ERROR-CODE (14.8): class in the hundreds, number below 100. The
 * layout ADDRESS-ERROR-CODE shares (RFC 8656 18.12), with the family in
 * the first byte. */
static void enc_code(struct stun_enc *e, uint16_t type, uint8_t first,
		     int code, const char *reason)
{
	if (e->err)
		return;
	if (code < 300 || code > 699) {
		e->err = EINVAL;
		return;
	}
	uint8_t v[4 + 763];
	const char *r = reason ? reason : stun_reason(code);
	size_t rlen = strlen(r);
	if (rlen > sizeof(v) - 4)
		rlen = sizeof(v) - 4;
	v[0] = first;
	v[1] = 0;
	v[2] = (uint8_t)(code / 100);
	v[3] = (uint8_t)(code % 100);
	memcpy(v + 4, r, rlen);
	stun_enc_attr(e, type, v, 4 + rlen);
}

void stun_enc_error(struct stun_enc *e, int code, const char *reason)
{
	enc_code(e, STUN_ATTR_ERROR_CODE, 0, code, reason);
}

void stun_enc_addr_error(struct stun_enc *e, uint8_t family, int code)
{
	enc_code(e, TURN_ATTR_ADDRESS_ERROR_CODE, family, code, NULL);
}

/* UNKNOWN-ATTRIBUTES (14.9): a list of 16-bit types. */
void stun_enc_unknown(struct stun_enc *e, const uint16_t *types, unsigned n)
{
	uint8_t v[2 * STUN_MAX_UNKNOWN];
	if (n > STUN_MAX_UNKNOWN)
		n = STUN_MAX_UNKNOWN;
	for (unsigned i = 0; i < n; i++)
		put_be16(v + 2 * i, types[i]);
	stun_enc_attr(e, STUN_ATTR_UNKNOWN_ATTRIBUTES, v, 2 * (size_t)n);
}

/* CHANNEL-NUMBER (RFC 8656 18.1): number, then 16 RFFU bits. */
void stun_enc_channel(struct stun_enc *e, uint16_t ch)
{
	stun_enc_u32(e, TURN_ATTR_CHANNEL_NUMBER, (uint32_t)ch << 16);
}

/* CONNECTION-ID (RFC 6062 6.2.1): the server's id, network order. */
void stun_enc_connid(struct stun_enc *e, uint32_t id)
{
	stun_enc_u32(e, TURN_ATTR_CONNECTION_ID, id);
}

/* PASSWORD-ALGORITHMS (RFC 8489 14.11), what we offer: SHA-256 first,
 * then MD5, each as algorithm and parameter length 0. */
static const uint8_t stun_pwalgs[8] = {0, STUN_PWALG_SHA256, 0, 0,
				       0, STUN_PWALG_MD5, 0, 0};

void stun_enc_password_algorithms(struct stun_enc *e)
{
	stun_enc_attr(e, STUN_ATTR_PASSWORD_ALGORITHMS, stun_pwalgs,
		      sizeof(stun_pwalgs));
}

bool stun_password_algorithms_ours(const struct stun_attr *a)
{
	return a && a->len == sizeof(stun_pwalgs) &&
	       memcmp(a->val, stun_pwalgs, sizeof(stun_pwalgs)) == 0;
}

int stun_enc_finish(struct stun_enc *e, size_t *len)
{
	if (e->err)
		return e->err;
	*len = e->len;
	return 0;
}

/* Default reason phrases (RFC 8489 14.8, RFC 8656 19, RFC 6156 10.2). */
const char *stun_reason(int code)
{
	switch (code) {
	case 300: return "Try Alternate";
	case 400: return "Bad Request";
	case 401: return "Unauthenticated";
	case 403: return "Forbidden";
	case 420: return "Unknown Attribute";
	case 437: return "Allocation Mismatch";
	case 438: return "Stale Nonce";
	case 440: return "Address Family not Supported";
	case 441: return "Wrong Credentials";
	case 442: return "Unsupported Transport Protocol";
	case 443: return "Peer Address Family Mismatch";
	case 446: return "Connection Already Exists";
	case 447: return "Connection Timeout or Failure";
	case 486: return "Allocation Quota Reached";
	case 500: return "Server Error";
	case 508: return "Insufficient Capacity";
	default: return "Error";
	}
}
