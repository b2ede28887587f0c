/* STUN message decoding (RFC 8489 5, 14). The decoded view points into the
 * caller's buffer; nothing here writes to it. */
#include <errno.h>
#include <string.h>

#include "stun/stun.h"
#include "util/bytes.h"

/* Comprehension-required attributes this codec understands; any other
 * type below 0x8000 is reported in m->unknown (RFC 8489 14, 420). */
static bool stun_attr_known(uint16_t type)
{
	switch (type) {
	case STUN_ATTR_MAPPED_ADDRESS:
	case STUN_ATTR_USERNAME:
	case STUN_ATTR_MESSAGE_INTEGRITY:
	case STUN_ATTR_ERROR_CODE:
	case STUN_ATTR_UNKNOWN_ATTRIBUTES:
	case TURN_ATTR_CHANNEL_NUMBER:
	case TURN_ATTR_LIFETIME:
	case TURN_ATTR_XOR_PEER_ADDRESS:
	case TURN_ATTR_DATA:
	case STUN_ATTR_REALM:
	case STUN_ATTR_NONCE:
	case TURN_ATTR_XOR_RELAYED_ADDRESS:
	case TURN_ATTR_REQUESTED_ADDRESS_FAMILY:
	case TURN_ATTR_EVEN_PORT:
	case TURN_ATTR_REQUESTED_TRANSPORT:
	case TURN_ATTR_DONT_FRAGMENT:
	case STUN_ATTR_MESSAGE_INTEGRITY_SHA256:
	case STUN_ATTR_PASSWORD_ALGORITHM:
	case STUN_ATTR_USERHASH:
	case STUN_ATTR_XOR_MAPPED_ADDRESS:
	case TURN_ATTR_RESERVATION_TOKEN:
	case TURN_ATTR_CONNECTION_ID:
		return true;
	default:
		return type >= 0x8000;
	}
}

bool stun_is_msg(const uint8_t *buf, size_t len)
{
	if (len < STUN_HDR_LEN || (buf[0] & 0xC0) != 0)
		return false;
	if (get_be32(buf + 4) != STUN_MAGIC)
		return false;
	size_t mlen = get_be16(buf + 2);
	return mlen % 4 == 0 && STUN_HDR_LEN + mlen <= len;
}

/* The 14-bit message type interleaves method and class bits (5.1):
 * M11..M7 C1 M6..M4 C0 M3..M0. */
static void stun_type_split(uint16_t t, uint16_t *method, uint8_t *cls)
{
	*method = (uint16_t)((t & 0x000F) | ((t & 0x00E0) >> 1) |
			     ((t & 0x3E00) >> 2));
	*cls = (uint8_t)(((t >> 4) & 1) | ((t >> 7) & 2));
}

static void stun_unknown_add(struct stun_msg *m, uint16_t type)
{
	for (unsigned i = 0; i < m->nunknown; i++)
		if (m->unknown[i] == type)
			return;
	if (m->nunknown < STUN_MAX_UNKNOWN)
		m->unknown[m->nunknown++] = type;
}

/* Should this attribute be kept? After MESSAGE-INTEGRITY only
 * MESSAGE-INTEGRITY-SHA256 and FINGERPRINT count (14.5); after
 * MESSAGE-INTEGRITY-SHA256 only FINGERPRINT (14.6). */
static bool stun_attr_counts(const struct stun_msg *m, uint16_t type)
{
	if (type == STUN_ATTR_FINGERPRINT)
		return true;
	if (m->mi256 >= 0)
		return false;
	if (m->mi >= 0)
		return type == STUN_ATTR_MESSAGE_INTEGRITY_SHA256;
	return true;
}

static int stun_attr_add(struct stun_msg *m, uint16_t type, uint16_t alen,
			 size_t off)
{
	if (!stun_attr_counts(m, type))
		return 0;
	if (m->nattrs >= STUN_MAX_ATTRS)
		return EBADMSG;
	int idx = (int)m->nattrs;
	struct stun_attr *a = &m->attrs[m->nattrs++];
	a->type = type;
	a->len = alen;
	a->val = m->buf + off + 4;
	a->off = (uint16_t)off;
	if (type == STUN_ATTR_MESSAGE_INTEGRITY && m->mi < 0)
		m->mi = idx;
	else if (type == STUN_ATTR_MESSAGE_INTEGRITY_SHA256 && m->mi256 < 0)
		m->mi256 = idx;
	else if (type == STUN_ATTR_FINGERPRINT)
		m->fp = idx;
	else if (!stun_attr_known(type))
		stun_unknown_add(m, type);
	return 0;
}

/* Walk the attributes; every length is checked against what remains. */
static int stun_attrs_parse(struct stun_msg *m)
{
	size_t off = STUN_HDR_LEN;
	while (off < m->len) {
		if (m->fp >= 0)
			return EBADMSG; /* nothing may follow FINGERPRINT (14.7) */
		if (m->len - off < 4)
			return EBADMSG;
		uint16_t type = get_be16(m->buf + off);
		uint16_t alen = get_be16(m->buf + off + 2);
		size_t padded = ((size_t)alen + 3) & ~(size_t)3;
		if (padded > m->len - off - 4)
			return EBADMSG;
		int err = stun_attr_add(m, type, alen, off);
		if (err)
			return err;
		off += 4 + padded;
	}
	return 0;
}

int stun_msg_decode(struct stun_msg *m, const uint8_t *buf, size_t len)
{
	memset(m, 0, sizeof(*m));
	m->mi = m->mi256 = m->fp = -1;
	if (!stun_is_msg(buf, len))
		return EBADMSG;
	size_t mlen = get_be16(buf + 2);
	if (STUN_HDR_LEN + mlen > STUN_MAX_MSG)
		return EBADMSG;
	m->buf = buf;
	m->len = STUN_HDR_LEN + mlen;
	stun_type_split(get_be16(buf), &m->method, &m->cls);
	memcpy(m->tid, buf + 8, STUN_TID_LEN);
	return stun_attrs_parse(m);
}

const struct stun_attr *stun_msg_attr(const struct stun_msg *m, uint16_t type)
{
	for (unsigned i = 0; i < m->nattrs; i++)
		if (m->attrs[i].type == type)
			return &m->attrs[i];
	return NULL;
}
