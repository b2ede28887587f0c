/* Typed attribute readers (RFC 8489 14, RFC 8656 18). Each checks the
 * value length before reading a byte of it. */
#include <errno.h>
#include <string.h>

#include "stun/stun.h"
#include "util/bytes.h"

#define STUN_ADDR_FAM_V4 0x01
#define STUN_ADDR_FAM_V6 0x02
#define STUN_REASON_MAX 763 /* 14.8: fewer than 128 characters */

/* Value of a 4-byte attribute, or an error. */
static int stun_attr_val4(const struct stun_msg *m, uint16_t type,
			  const uint8_t **v)
{
	const struct stun_attr *a = stun_msg_attr(m, type);
	if (!a)
		return ENOENT;
	if (a->len != 4)
		return EBADMSG;
	*v = a->val;
	return 0;
}

int stun_msg_get_u32(const struct stun_msg *m, uint16_t type, uint32_t *v)
{
	const uint8_t *p;
	int err = stun_attr_val4(m, type, &p);
	if (!err)
		*v = get_be32(p);
	return err;
}

/* Shared by the plain and XOR forms (14.1, 14.2): family byte, port and
 * address; with xor the port is XORed with the top of the magic cookie
 * and the address with the cookie followed by the transaction ID. */
static int stun_addr_read(const struct stun_msg *m, const struct stun_attr *a,
			  bool xor, struct sa *out)
{
	uint8_t addr[16], mask[16];
	put_be32(mask, STUN_MAGIC);
	memcpy(mask + 4, m->tid, STUN_TID_LEN);
	if (a->len < 4)
		return EBADMSG;
	uint8_t fam = a->val[1];
	size_t alen = fam == STUN_ADDR_FAM_V4 ? 4 : fam == STUN_ADDR_FAM_V6 ? 16 : 0;
	if (alen == 0 || a->len != 4 + alen)
		return EBADMSG;
	uint16_t port = get_be16(a->val + 2);
	if (xor)
		port ^= (uint16_t)(STUN_MAGIC >> 16);
	for (size_t i = 0; i < alen; i++)
		addr[i] = xor ? a->val[4 + i] ^ mask[i] : a->val[4 + i];
	sa_set_raw(out, alen == 4 ? AF_INET : AF_INET6, addr, port);
	return 0;
}

int stun_attr_get_xaddr(const struct stun_msg *m, const struct stun_attr *a,
			struct sa *out)
{
	return stun_addr_read(m, a, true, out);
}

int stun_msg_get_xaddr(const struct stun_msg *m, uint16_t type, struct sa *out)
{
	const struct stun_attr *a = stun_msg_attr(m, type);
	return a ? stun_addr_read(m, a, true, out) : ENOENT;
}

int stun_msg_get_addr(const struct stun_msg *m, uint16_t type, struct sa *out)
{
	const struct stun_attr *a = stun_msg_attr(m, type);
	return a ? stun_addr_read(m, a, false, out) : ENOENT;
}

/* ERROR-CODE (14.8): 21 reserved bits, class 3..6, number 0..99. */
int stun_msg_get_error(const struct stun_msg *m, int *code,
		       const char **reason, size_t *reason_len)
{
	const struct stun_attr *a = stun_msg_attr(m, STUN_ATTR_ERROR_CODE);
	if (!a)
		return ENOENT;
	if (a->len < 4 || a->len - 4 > STUN_REASON_MAX)
		return EBADMSG;
	int cls = a->val[2] & 0x07, num = a->val[3];
	if (cls < 3 || cls > 6 || num > 99)
		return EBADMSG;
	*code = cls * 100 + num;
	*reason = (const char *)a->val + 4;
	*reason_len = a->len - 4u;
	return 0;
}

/* CHANNEL-NUMBER (RFC 8656 18.1): number, then 16 RFFU bits. */
int stun_msg_get_channel(const struct stun_msg *m, uint16_t *ch)
{
	const uint8_t *p;
	int err = stun_attr_val4(m, TURN_ATTR_CHANNEL_NUMBER, &p);
	if (!err)
		*ch = get_be16(p);
	return err;
}

/* REQUESTED-TRANSPORT (RFC 8656 18.7): protocol, then 24 RFFU bits. */
int stun_msg_get_transport(const struct stun_msg *m, uint8_t *proto)
{
	const uint8_t *p;
	int err = stun_attr_val4(m, TURN_ATTR_REQUESTED_TRANSPORT, &p);
	if (!err)
		*proto = p[0];
	return err;
}

int stun_msg_get_connid(const struct stun_msg *m, uint32_t *id)
{
	return stun_msg_get_u32(m, TURN_ATTR_CONNECTION_ID, id);
}

/* REQUESTED-/ADDITIONAL-ADDRESS-FAMILY (RFC 8656 18.8, 18.11). The value
 * is returned as sent: an unsupported family is the caller's 440, not a
 * malformed attribute. */
int stun_msg_get_family(const struct stun_msg *m, uint16_t type, uint8_t *fam)
{
	const uint8_t *p;
	int err = stun_attr_val4(m, type, &p);
	if (!err)
		*fam = p[0];
	return err;
}

/* EVEN-PORT (RFC 8656 18.5): one byte, R is the top bit. */
int stun_msg_get_even_port(const struct stun_msg *m, bool *reserve)
{
	const struct stun_attr *a = stun_msg_attr(m, TURN_ATTR_EVEN_PORT);
	if (!a)
		return ENOENT;
	if (a->len != 1)
		return EBADMSG;
	*reserve = (a->val[0] & 0x80) != 0;
	return 0;
}

int stun_attr_get_addr(const struct stun_msg *m, const struct stun_attr *a,
		       struct sa *out)
{
	return stun_addr_read(m, a, false, out);
}

/* ALTERNATE-DOMAIN (RFC 8489 14.16): a DNS name, so at most 255 bytes
 * (RFC 1035 2.3.4) and no NUL; copied NUL-terminated into out. */
int stun_msg_get_domain(const struct stun_msg *m, char *out, size_t sz)
{
	const struct stun_attr *a = stun_msg_attr(m, STUN_ATTR_ALTERNATE_DOMAIN);
	if (!a)
		return ENOENT;
	if (a->len == 0 || a->len > STUN_DOMAIN_MAX ||
	    memchr(a->val, '\0', a->len))
		return EBADMSG;
	if (a->len >= sz)
		return ENOSPC;
	memcpy(out, a->val, a->len);
	out[a->len] = '\0';
	return 0;
}
