/* ChannelData messages (RFC 8656 12.4) and stream framing of STUN and
 * ChannelData over TCP/TLS (RFC 8489 6.2.2, RFC 8656 12.5). */
#include <errno.h>

#include "stun/stun.h"
#include "util/bytes.h"

/* First two bits 01 (RFC 8656 12, RFC 7983 demultiplexing); the decoder
 * checks the channel range. */
bool stun_is_chdata(const uint8_t *buf, size_t len)
{
	return len >= STUN_CHDATA_HDR && (buf[0] & 0xC0) == 0x40;
}

int stun_chdata_decode(const uint8_t *buf, size_t len, uint16_t *ch,
		       const uint8_t **data, uint16_t *dlen)
{
	int err = stun_chdata_parse(buf, len, ch, data, dlen);
	if (!err && *ch > STUN_CHANNEL_MAX)
		return EBADMSG;
	return err;
}

int stun_chdata_parse(const uint8_t *buf, size_t len, uint16_t *ch,
		      const uint8_t **data, uint16_t *dlen)
{
	if (len < STUN_CHDATA_HDR)
		return EBADMSG;
	uint16_t c = get_be16(buf);
	uint16_t n = get_be16(buf + 2);
	if (c < STUN_CHANNEL_MIN || c > STUN_CHANNEL_MAX_5766)
		return EBADMSG;
	if (n > len - STUN_CHDATA_HDR)
		return EBADMSG;
	*ch = c;
	*data = buf + STUN_CHDATA_HDR;
	*dlen = n;
	return 0;
}

void stun_chdata_hdr(uint8_t hdr[STUN_CHDATA_HDR], uint16_t ch, uint16_t dlen)
{
	put_be16(hdr, ch);
	put_be16(hdr + 2, dlen);
}

/* Over streams ChannelData is padded to a multiple of 4 (RFC 8656 12.5),
 * so the frame is the header plus the rounded-up length. A STUN frame is
 * the header plus its length field; the cookie is checked once present. */
int stun_frame_len(const uint8_t *buf, size_t len, size_t *frame_len)
{
	if (len < 4)
		return EAGAIN;
	size_t n = get_be16(buf + 2);
	switch (buf[0] & 0xC0) {
	case 0x00:
		if (n % 4 != 0)
			return EBADMSG;
		if (len >= 8 && get_be32(buf + 4) != STUN_MAGIC)
			return EBADMSG;
		*frame_len = STUN_HDR_LEN + n;
		return 0;
	case 0x40:
		*frame_len = STUN_CHDATA_HDR + ((n + 3) & ~(size_t)3);
		return 0;
	default:
		return EBADMSG;
	}
}
