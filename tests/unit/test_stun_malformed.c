/* stun: malformed input. Every rejection path of the decoder, the typed
 * readers, ChannelData and framing, then every truncation and many
 * single-byte mutations of the RFC vectors (run under ASan/UBSan). */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "stun/stun.h"
#include "util/bytes.h"

static const uint8_t tid0[STUN_TID_LEN] = {0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
					   0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};
static const char pw[] = "VOkJxbRl1RmTxUk/WvJxBt";

/* The RFC 5769 vectors 2.1-2.4 and RFC 8489 B.1 (erratum 6268), as hex;
 * test_stun.c checks their contents, here they are mutation seeds. */
static const char *const vectors_hex[] = {
	"000100582112a442b7e7a701bc34d686fa87dfae802200105354554e207465737420"
	"636c69656e74002400046e0001ff80290008932ff9b151263b36000600096576746a"
	"3a68367659202020000800149aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a28028"
	"0004e57a3bcf",
	"0101003c2112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f"
	"7220002000080001a147e112a643000800142b91f599fd9e90c38c7489f92af9ba53"
	"f06be7d780280004c07d4c96",
	"010100482112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f"
	"7220002000140002a1470113a9faa5d3f179bc25f4b5bed2b9d900080014a382954e"
	"4be67bf11784c97c8292c275bfe3ed4180280004c8fb0b4c",
	"000100602112a44278ad3433c6ad72c029da412e00060012e3839ee38388e383aae3"
	"8383e382afe382b900000015001c662f2f3439396b39353464364f4c33346f4c3946"
	"53547679363473410014000b6578616d706c652e6f72670000080014f67024656dd6"
	"4a3e02b8e0712e85c9a28ca89666",
	"000100902112a44278ad3433c6ad72c029da412e001e00204a3cf38fef6992bda952"
	"c6780417da0f24819415569e60b205c46e41407f1704001500296f624d61744a6f73"
	"3241414143662f2f3439396b39353464364f4c33346f4c3946535476793634734100"
	"00000014000b6578616d706c652e6f726700001d000400020000001c0020b5c7bf00"
	"5b6c52a21c51c5e892f81924136296cb927c43149309278cc6518e65",
};

/* Decode hex, skipping anything that is not a hex digit. */
static size_t hex_decode(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int hi = -1;
	for (const char *p = hex; *p; p++) {
		int v;
		if (*p >= '0' && *p <= '9')
			v = *p - '0';
		else if (*p >= 'a' && *p <= 'f')
			v = *p - 'a' + 10;
		else
			continue;
		if (hi < 0) {
			hi = v;
			continue;
		}
		assert_true(n < cap);
		out[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	assert_int_equal(hi, -1);
	return n;
}

/* A message with the given body (attributes), length field set. */
static size_t msg_build(uint8_t *buf, const uint8_t *body, size_t blen)
{
	put_be16(buf, 0x0001);
	put_be16(buf + 2, (uint16_t)blen);
	put_be32(buf + 4, STUN_MAGIC);
	memcpy(buf + 8, tid0, STUN_TID_LEN);
	if (blen)
		memcpy(buf + STUN_HDR_LEN, body, blen);
	return STUN_HDR_LEN + blen;
}

static void test_truncated_header(void **state)
{
	(void)state;
	uint8_t buf[STUN_HDR_LEN];
	struct stun_msg m;
	msg_build(buf, NULL, 0);
	assert_int_equal(stun_msg_decode(&m, buf, sizeof(buf)), 0);
	for (size_t n = 0; n < STUN_HDR_LEN; n++) {
		assert_false(stun_is_msg(buf, n));
		assert_int_equal(stun_msg_decode(&m, buf, n), EBADMSG);
	}
}

static void test_bad_header(void **state)
{
	(void)state;
	uint8_t buf[64], body[8] = {0x80, 0x22, 0x00, 0x04, 'a', 'b', 'c', 'd'};
	struct stun_msg m;
	size_t len = msg_build(buf, body, sizeof(body));
	assert_int_equal(stun_msg_decode(&m, buf, len), 0);
	put_be16(buf + 2, 6); /* not a multiple of 4 */
	assert_int_equal(stun_msg_decode(&m, buf, len), EBADMSG);
	put_be16(buf + 2, 12); /* beyond the buffer */
	assert_false(stun_is_msg(buf, len));
	assert_int_equal(stun_msg_decode(&m, buf, len), EBADMSG);
	put_be16(buf + 2, 8);
	buf[7] ^= 1; /* bad cookie */
	assert_false(stun_is_msg(buf, len));
	assert_int_equal(stun_msg_decode(&m, buf, len), EBADMSG);
	buf[7] ^= 1;
	for (uint8_t top = 0x40; top; top = (uint8_t)(top + 0x40)) {
		buf[0] = top; /* top two bits must be zero */
		assert_false(stun_is_msg(buf, len));
		assert_int_equal(stun_msg_decode(&m, buf, len), EBADMSG);
	}
	buf[0] = 0;
	assert_int_equal(stun_msg_decode(&m, buf, len), 0);
	/* Trailing bytes beyond the length field are not part of it. */
	assert_int_equal(stun_msg_decode(&m, buf, len + 4), 0);
	assert_int_equal(m.len, len);
}

static void test_attr_overflow(void **state)
{
	(void)state;
	uint8_t buf[64];
	struct stun_msg m;
	/* Length 8 with only 4 value bytes in the message. */
	uint8_t a[] = {0x80, 0x22, 0x00, 0x08, 'a', 'b', 'c', 'd'};
	size_t len = msg_build(buf, a, sizeof(a));
	assert_int_equal(stun_msg_decode(&m, buf, len), EBADMSG);
	/* Length 5: its padding would run past the end. */
	uint8_t b[] = {0x80, 0x22, 0x00, 0x05, 'a', 'b', 'c', 'd'};
	len = msg_build(buf, b, sizeof(b));
	assert_int_equal(stun_msg_decode(&m, buf, len), EBADMSG);
	/* Maximum length field. */
	uint8_t c[] = {0x80, 0x22, 0xff, 0xff, 'a', 'b', 'c', 'd'};
	len = msg_build(buf, c, sizeof(c));
	assert_int_equal(stun_msg_decode(&m, buf, len), EBADMSG);
	/* The overflow is caught even with more bytes in the buffer. */
	len = msg_build(buf, a, sizeof(a));
	memset(buf + len, 0, 16);
	assert_int_equal(stun_msg_decode(&m, buf, len + 16), EBADMSG);
}

static void test_too_many_attrs(void **state)
{
	(void)state;
	uint8_t body[4 * (STUN_MAX_ATTRS + 1)], buf[sizeof(body) + STUN_HDR_LEN];
	struct stun_msg m;
	for (size_t i = 0; i <= STUN_MAX_ATTRS; i++) {
		put_be16(body + 4 * i, STUN_ATTR_SOFTWARE);
		put_be16(body + 4 * i + 2, 0);
	}
	size_t len = msg_build(buf, body, 4 * STUN_MAX_ATTRS);
	assert_int_equal(stun_msg_decode(&m, buf, len), 0);
	assert_int_equal(m.nattrs, STUN_MAX_ATTRS);
	len = msg_build(buf, body, sizeof(body));
	assert_int_equal(stun_msg_decode(&m, buf, len), EBADMSG);
}

static void test_duplicates_first_wins(void **state)
{
	(void)state;
	uint8_t buf[128];
	struct stun_enc e;
	struct stun_msg m;
	struct sa a1, a2, got;
	uint32_t v;
	size_t len;
	sa_set_str(&a1, "10.0.0.1", 1000);
	sa_set_str(&a2, "10.0.0.2", 2000);
	stun_enc_init(&e, buf, sizeof(buf), TURN_SEND, STUN_CLASS_INDICATION, tid0);
	stun_enc_u32(&e, TURN_ATTR_LIFETIME, 1);
	stun_enc_xaddr(&e, TURN_ATTR_XOR_PEER_ADDRESS, &a1);
	stun_enc_u32(&e, TURN_ATTR_LIFETIME, 2);
	stun_enc_xaddr(&e, TURN_ATTR_XOR_PEER_ADDRESS, &a2);
	assert_int_equal(stun_enc_finish(&e, &len), 0);
	assert_int_equal(stun_msg_decode(&m, buf, len), 0);
	assert_int_equal(m.nattrs, 4); /* later copies are recorded */
	assert_int_equal(stun_msg_get_u32(&m, TURN_ATTR_LIFETIME, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(stun_msg_get_xaddr(&m, TURN_ATTR_XOR_PEER_ADDRESS, &got), 0);
	assert_true(sa_eq(&got, &a1));
	assert_int_equal(stun_attr_get_xaddr(&m, &m.attrs[3], &got), 0);
	assert_true(sa_eq(&got, &a2));
}

/* RFC 8489 14.5/14.6: after MI only MI256 and FINGERPRINT count; after
 * MI256 only FINGERPRINT. The HMACs still verify, since each covers the
 * message only up to itself. */
static void test_attrs_after_mi_ignored(void **state)
{
	(void)state;
	uint8_t buf[256];
	const uint8_t *key = (const uint8_t *)pw;
	struct stun_enc e;
	struct stun_msg m;
	size_t len;
	stun_enc_init(&e, buf, sizeof(buf), STUN_BINDING, STUN_CLASS_REQUEST, tid0);
	stun_enc_str(&e, STUN_ATTR_USERNAME, "alice");
	stun_enc_mi(&e, key, strlen(pw));
	stun_enc_str(&e, STUN_ATTR_REALM, "ignored");
	stun_enc_u32(&e, 0x0030, 0);   /* unknown, but ignored: no 420 */
	stun_enc_mi(&e, key, strlen(pw)); /* a second MI: ignored too */
	stun_enc_mi256(&e, key, strlen(pw));
	stun_enc_str(&e, STUN_ATTR_SOFTWARE, "ignored");
	stun_enc_mi(&e, key, strlen(pw));
	stun_enc_fingerprint(&e);
	assert_int_equal(stun_enc_finish(&e, &len), 0);
	assert_int_equal(stun_msg_decode(&m, buf, len), 0);
	assert_int_equal(m.nattrs, 4);
	assert_int_equal(m.mi, 1);
	assert_int_equal(m.mi256, 2);
	assert_int_equal(m.fp, 3);
	assert_null(stun_msg_attr(&m, STUN_ATTR_REALM));
	assert_null(stun_msg_attr(&m, STUN_ATTR_SOFTWARE));
	assert_int_equal(m.nunknown, 0);
	assert_int_equal(stun_msg_check_mi(&m, key, strlen(pw)), 0);
	assert_int_equal(stun_msg_check_mi256(&m, key, strlen(pw)), 0);
	assert_int_equal(stun_msg_check_fingerprint(&m), 0);
	/* An ignored attribute still has to be well formed. */
	put_be16(buf + m.attrs[1].off + 24 + 2, 200);
	assert_int_equal(stun_msg_decode(&m, buf, len), EBADMSG);
}

static void test_after_fingerprint_rejected(void **state)
{
	(void)state;
	uint8_t buf[128];
	struct stun_enc e;
	struct stun_msg m;
	size_t len;
	stun_enc_init(&e, buf, sizeof(buf), STUN_BINDING, STUN_CLASS_REQUEST, tid0);
	stun_enc_fingerprint(&e);
	stun_enc_str(&e, STUN_ATTR_SOFTWARE, "late");
	assert_int_equal(stun_enc_finish(&e, &len), 0);
	assert_int_equal(stun_msg_decode(&m, buf, len), EBADMSG);
	/* Two fingerprints. */
	stun_enc_init(&e, buf, sizeof(buf), STUN_BINDING, STUN_CLASS_REQUEST, tid0);
	stun_enc_fingerprint(&e);
	stun_enc_fingerprint(&e);
	assert_int_equal(stun_enc_finish(&e, &len), 0);
	assert_int_equal(stun_msg_decode(&m, buf, len), EBADMSG);
	/* A lone one is fine. */
	assert_int_equal(stun_msg_decode(&m, buf, len - 8), EBADMSG);
	put_be16(buf + 2, 8);
	assert_int_equal(stun_msg_decode(&m, buf, len - 8), 0);
	assert_int_equal(stun_msg_check_fingerprint(&m), 0);
}

/* 20 + length must stay within STUN_MAX_MSG. */
static void test_oversized(void **state)
{
	(void)state;
	size_t cap = STUN_HDR_LEN + 0xFFFC;
	uint8_t *buf = calloc(1, cap);
	struct stun_msg m;
	assert_non_null(buf);
	size_t body = (STUN_MAX_MSG - STUN_HDR_LEN) & ~(size_t)3; /* 65512 */
	msg_build(buf, NULL, 0);
	put_be16(buf + 2, (uint16_t)body);
	put_be16(buf + STUN_HDR_LEN, TURN_ATTR_DATA);
	put_be16(buf + STUN_HDR_LEN + 2, (uint16_t)(body - 4));
	assert_int_equal(stun_msg_decode(&m, buf, STUN_HDR_LEN + body), 0);
	assert_int_equal(stun_msg_attr(&m, TURN_ATTR_DATA)->len, body - 4);
	put_be16(buf + 2, 0xFFFC);
	put_be16(buf + STUN_HDR_LEN + 2, 0xFFF8);
	assert_int_equal(stun_msg_decode(&m, buf, cap), EBADMSG);
	/* The encoder cannot produce one either, whatever its capacity. */
	uint8_t *data = calloc(1, cap);
	struct stun_enc e;
	size_t len;
	assert_non_null(data);
	stun_enc_init(&e, buf, cap, STUN_BINDING, 0, tid0);
	stun_enc_attr(&e, TURN_ATTR_DATA, data, body - 4);
	assert_int_equal(stun_enc_finish(&e, &len), 0);
	assert_int_equal(len, STUN_HDR_LEN + body);
	assert_int_equal(stun_msg_decode(&m, buf, len), 0);
	stun_enc_attr(&e, STUN_ATTR_FINGERPRINT, NULL, 0);
	assert_int_equal(stun_enc_finish(&e, &len), ENOSPC);
	stun_enc_init(&e, buf, cap, STUN_BINDING, 0, tid0);
	stun_enc_attr(&e, TURN_ATTR_DATA, data, body - 3);
	assert_int_equal(stun_enc_finish(&e, &len), ENOSPC);
	free(data);
	free(buf);
}

static void test_unknown_attrs(void **state)
{
	(void)state;
	uint8_t buf[256];
	struct stun_enc e;
	struct stun_msg m;
	size_t len;
	stun_enc_init(&e, buf, sizeof(buf), TURN_ALLOCATE, STUN_CLASS_REQUEST, tid0);
	stun_enc_u32(&e, 0x7fff, 0);
	stun_enc_u32(&e, 0x8fff, 0); /* comprehension-optional: fine */
	stun_enc_u32(&e, 0x7fff, 0); /* reported once */
	for (uint16_t t = 0x0040; t < 0x0040 + STUN_MAX_UNKNOWN + 2; t++)
		stun_enc_attr(&e, t, NULL, 0);
	stun_enc_u32(&e, 0x0000, 0); /* reserved: unknown too */
	assert_int_equal(stun_enc_finish(&e, &len), 0);
	assert_int_equal(stun_msg_decode(&m, buf, len), 0);
	assert_int_equal(m.nunknown, STUN_MAX_UNKNOWN);
	assert_int_equal(m.unknown[0], 0x7fff);
	assert_int_equal(m.unknown[1], 0x0040);
	assert_int_equal(m.unknown[STUN_MAX_UNKNOWN - 1], 0x0046);
}

/* A message carrying a single attribute, for the typed readers. */
static void one_attr(struct stun_msg *m, uint8_t *buf, uint16_t type,
		     const uint8_t *val, size_t vlen)
{
	struct stun_enc e;
	size_t len;
	stun_enc_init(&e, buf, 128, STUN_BINDING, STUN_CLASS_SUCCESS, tid0);
	stun_enc_attr(&e, type, val, vlen);
	assert_int_equal(stun_enc_finish(&e, &len), 0);
	assert_int_equal(stun_msg_decode(m, buf, len), 0);
}

static void test_bad_addresses(void **state)
{
	(void)state;
	uint8_t buf[128];
	struct stun_msg m;
	struct sa sa;
	const uint16_t x = STUN_ATTR_XOR_MAPPED_ADDRESS;
	const uint8_t fam3[8] = {0, 3, 0, 1, 1, 2, 3, 4};
	const uint8_t v4long[20] = {0, 1, 0, 1};
	const uint8_t v6short[8] = {0, 2, 0, 1};
	const uint8_t tiny[3] = {0, 1, 0};
	one_attr(&m, buf, x, fam3, sizeof(fam3));
	assert_int_equal(stun_msg_get_xaddr(&m, x, &sa), EBADMSG);
	one_attr(&m, buf, x, v4long, sizeof(v4long));
	assert_int_equal(stun_msg_get_xaddr(&m, x, &sa), EBADMSG);
	one_attr(&m, buf, x, v6short, sizeof(v6short));
	assert_int_equal(stun_msg_get_xaddr(&m, x, &sa), EBADMSG);
	one_attr(&m, buf, x, tiny, sizeof(tiny));
	assert_int_equal(stun_msg_get_xaddr(&m, x, &sa), EBADMSG);
	one_attr(&m, buf, STUN_ATTR_MAPPED_ADDRESS, tiny, 0);
	assert_int_equal(stun_msg_get_addr(&m, STUN_ATTR_MAPPED_ADDRESS, &sa), EBADMSG);
	assert_int_equal(stun_msg_get_xaddr(&m, x, &sa), ENOENT);
}

static void test_bad_scalars(void **state)
{
	(void)state;
	uint8_t buf[128];
	struct stun_msg m;
	uint32_t u;
	uint16_t ch;
	uint8_t b;
	bool r;
	const uint8_t v[8] = {0x40, 0x01, 0, 0, 0, 0, 0, 0};
	one_attr(&m, buf, TURN_ATTR_LIFETIME, v, 2);
	assert_int_equal(stun_msg_get_u32(&m, TURN_ATTR_LIFETIME, &u), EBADMSG);
	assert_int_equal(stun_msg_get_u32(&m, TURN_ATTR_DATA, &u), ENOENT);
	one_attr(&m, buf, TURN_ATTR_CHANNEL_NUMBER, v, 8);
	assert_int_equal(stun_msg_get_channel(&m, &ch), EBADMSG);
	one_attr(&m, buf, TURN_ATTR_REQUESTED_TRANSPORT, v, 3);
	assert_int_equal(stun_msg_get_transport(&m, &b), EBADMSG);
	one_attr(&m, buf, TURN_ATTR_REQUESTED_ADDRESS_FAMILY, v, 5);
	assert_int_equal(stun_msg_get_family(&m, TURN_ATTR_REQUESTED_ADDRESS_FAMILY,
					     &b), EBADMSG);
	one_attr(&m, buf, TURN_ATTR_EVEN_PORT, v, 4);
	assert_int_equal(stun_msg_get_even_port(&m, &r), EBADMSG);
	one_attr(&m, buf, TURN_ATTR_EVEN_PORT, v, 0);
	assert_int_equal(stun_msg_get_even_port(&m, &r), EBADMSG);
	/* An unsupported family is returned as sent: the caller's 440. */
	const uint8_t fam[4] = {0x03, 0, 0, 0};
	one_attr(&m, buf, TURN_ATTR_REQUESTED_ADDRESS_FAMILY, fam, 4);
	assert_int_equal(stun_msg_get_family(&m, TURN_ATTR_REQUESTED_ADDRESS_FAMILY,
					     &b), 0);
	assert_int_equal(b, 3);
}

static void test_bad_error_code(void **state)
{
	(void)state;
	uint8_t buf[128];
	struct stun_msg m;
	int code;
	const char *reason;
	size_t rlen;
	const uint8_t cls2[4] = {0, 0, 2, 99}, num100[4] = {0, 0, 4, 100};
	const uint8_t cls7[4] = {0, 0, 7, 0}, ok[4] = {0xff, 0xff, 0xfe, 99};
	one_attr(&m, buf, STUN_ATTR_ERROR_CODE, cls2, 4);
	assert_int_equal(stun_msg_get_error(&m, &code, &reason, &rlen), EBADMSG);
	one_attr(&m, buf, STUN_ATTR_ERROR_CODE, num100, 4);
	assert_int_equal(stun_msg_get_error(&m, &code, &reason, &rlen), EBADMSG);
	one_attr(&m, buf, STUN_ATTR_ERROR_CODE, cls7, 4);
	assert_int_equal(stun_msg_get_error(&m, &code, &reason, &rlen), EBADMSG);
	one_attr(&m, buf, STUN_ATTR_ERROR_CODE, cls2, 3);
	assert_int_equal(stun_msg_get_error(&m, &code, &reason, &rlen), EBADMSG);
	/* Reserved bits are ignored; the class is only the low 3 bits. */
	one_attr(&m, buf, STUN_ATTR_ERROR_CODE, ok, 4);
	assert_int_equal(stun_msg_get_error(&m, &code, &reason, &rlen), 0);
	assert_int_equal(code, 699);
	assert_int_equal(rlen, 0);
}

static void test_bad_integrity_attrs(void **state)
{
	(void)state;
	uint8_t buf[128], v[32] = {0};
	struct stun_msg m;
	const uint8_t *key = (const uint8_t *)pw;
	one_attr(&m, buf, STUN_ATTR_MESSAGE_INTEGRITY, v, 19);
	assert_int_equal(stun_msg_check_mi(&m, key, strlen(pw)), EBADMSG);
	one_attr(&m, buf, STUN_ATTR_MESSAGE_INTEGRITY, v, 20);
	assert_int_equal(stun_msg_check_mi(&m, key, strlen(pw)), EACCES);
	assert_int_equal(stun_msg_check_mi(&m, key, 0), EACCES);
	one_attr(&m, buf, STUN_ATTR_MESSAGE_INTEGRITY_SHA256, v, 20);
	assert_int_equal(stun_msg_check_mi256(&m, key, strlen(pw)), EBADMSG);
	assert_int_equal(stun_msg_check_mi(&m, key, strlen(pw)), ENOENT);
	one_attr(&m, buf, STUN_ATTR_FINGERPRINT, v, 8);
	assert_int_equal(stun_msg_check_fingerprint(&m), EBADMSG);
	one_attr(&m, buf, STUN_ATTR_FINGERPRINT, v, 4);
	assert_int_equal(stun_msg_check_fingerprint(&m), EBADMSG);
	one_attr(&m, buf, STUN_ATTR_SOFTWARE, v, 4);
	assert_int_equal(stun_msg_check_fingerprint(&m), ENOENT);
	assert_int_equal(stun_msg_check_mi256(&m, key, strlen(pw)), ENOENT);
}

static void test_chdata_bad(void **state)
{
	(void)state;
	uint8_t buf[16] = {0};
	uint16_t ch, dlen;
	const uint8_t *data;
	stun_chdata_hdr(buf, 0x3fff, 4);
	assert_false(stun_is_chdata(buf, sizeof(buf)));
	assert_int_equal(stun_chdata_decode(buf, sizeof(buf), &ch, &data, &dlen), EBADMSG);
	stun_chdata_hdr(buf, 0x5000, 4); /* 0x5000-0x7FFF are reserved */
	assert_int_equal(stun_chdata_decode(buf, sizeof(buf), &ch, &data, &dlen), EBADMSG);
	stun_chdata_hdr(buf, 0x7fff, 4);
	assert_int_equal(stun_chdata_decode(buf, sizeof(buf), &ch, &data, &dlen), EBADMSG);
	stun_chdata_hdr(buf, 0x4000, 13); /* one byte more than there is */
	assert_int_equal(stun_chdata_decode(buf, sizeof(buf), &ch, &data, &dlen), EBADMSG);
	assert_int_equal(stun_chdata_decode(buf, 16, &ch, &data, &dlen), EBADMSG);
	stun_chdata_hdr(buf, 0x4000, 12);
	assert_int_equal(stun_chdata_decode(buf, 16, &ch, &data, &dlen), 0);
	for (size_t n = 0; n < STUN_CHDATA_HDR; n++) {
		assert_false(stun_is_chdata(buf, n));
		assert_int_equal(stun_chdata_decode(buf, n, &ch, &data, &dlen), EBADMSG);
	}
	stun_chdata_hdr(buf, 0x4000, 0xffff);
	assert_int_equal(stun_chdata_decode(buf, 16, &ch, &data, &dlen), EBADMSG);
}

static void test_frame_len_partial(void **state)
{
	(void)state;
	uint8_t buf[STUN_HDR_LEN];
	size_t flen = 7;
	msg_build(buf, NULL, 0);
	put_be16(buf + 2, 8);
	for (size_t n = 0; n < 4; n++)
		assert_int_equal(stun_frame_len(buf, n, &flen), EAGAIN);
	assert_int_equal(flen, 7); /* untouched */
	for (size_t n = 4; n <= STUN_HDR_LEN; n++) {
		assert_int_equal(stun_frame_len(buf, n, &flen), 0);
		assert_int_equal(flen, STUN_HDR_LEN + 8);
	}
	buf[6] ^= 1; /* bad cookie, seen once 8 bytes are in */
	assert_int_equal(stun_frame_len(buf, 7, &flen), 0);
	assert_int_equal(stun_frame_len(buf, 8, &flen), EBADMSG);
	buf[6] ^= 1;
	put_be16(buf + 2, 6);
	assert_int_equal(stun_frame_len(buf, 4, &flen), EBADMSG);
	buf[0] = 0x80;
	assert_int_equal(stun_frame_len(buf, 4, &flen), EBADMSG);
	buf[0] = 0xC0;
	assert_int_equal(stun_frame_len(buf, 4, &flen), EBADMSG);
	stun_chdata_hdr(buf, 0x4001, 0xfffd);
	assert_int_equal(stun_frame_len(buf, 3, &flen), EAGAIN);
	assert_int_equal(stun_frame_len(buf, 4, &flen), 0);
	assert_int_equal(flen, 4 + 0x10000);
}

/* Run everything a server would on untrusted bytes. */
static void exercise(const uint8_t *buf, size_t len)
{
	struct stun_msg m;
	struct sa sa;
	uint8_t key[16] = {1}, b;
	uint32_t u;
	uint16_t ch, dlen;
	const uint8_t *data;
	const char *reason;
	size_t rlen, flen;
	int code;
	bool r;
	(void)stun_is_msg(buf, len);
	(void)stun_frame_len(buf, len, &flen);
	if (stun_is_chdata(buf, len))
		(void)stun_chdata_decode(buf, len, &ch, &data, &dlen);
	if (stun_msg_decode(&m, buf, len) != 0)
		return;
	assert_true(m.len <= len);
	assert_true(m.nattrs <= STUN_MAX_ATTRS);
	for (unsigned i = 0; i < m.nattrs; i++) {
		const struct stun_attr *a = &m.attrs[i];
		assert_true(a->val + a->len <= buf + m.len);
		(void)stun_attr_get_xaddr(&m, a, &sa);
		(void)stun_msg_get_u32(&m, a->type, &u);
		(void)stun_msg_get_addr(&m, a->type, &sa);
		(void)stun_msg_get_family(&m, a->type, &b);
		if (a->type == STUN_ATTR_NONCE)
			(void)stun_nonce_cookie_parse(a->val, a->len, &u);
	}
	(void)stun_msg_get_error(&m, &code, &reason, &rlen);
	(void)stun_msg_get_channel(&m, &ch);
	(void)stun_msg_get_transport(&m, &b);
	(void)stun_msg_get_even_port(&m, &r);
	(void)stun_msg_check_mi(&m, key, sizeof(key));
	(void)stun_msg_check_mi256(&m, key, sizeof(key));
	(void)stun_msg_check_fingerprint(&m);
}

/* Does this (mutated) message still pass every check? A FINGERPRINT
 * cut off by a shorter length field is not something MI can notice
 * (trailing bytes are not part of the message), so want_fp says whether
 * the original had one that must still be there. */
static bool passes_all(const uint8_t *buf, size_t len, const uint8_t *key,
		       size_t klen, bool want_fp)
{
	struct stun_msg m;
	if (stun_msg_decode(&m, buf, len) != 0)
		return false;
	if (m.mi < 0 && m.mi256 < 0)
		return false;
	if (m.mi >= 0 && stun_msg_check_mi(&m, key, klen) != 0)
		return false;
	if (m.mi256 >= 0 && stun_msg_check_mi256(&m, key, klen) != 0)
		return false;
	if (m.fp < 0)
		return !want_fp;
	return stun_msg_check_fingerprint(&m) == 0;
}

/* The key each vector's integrity is checked with. */
static size_t vector_key(size_t i, uint8_t key[32])
{
	static const char user[] = "\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa"
				   "\xe3\x83\x83\xe3\x82\xaf\xe3\x82\xb9";
	if (i < 3) {
		memcpy(key, pw, strlen(pw));
		return strlen(pw);
	}
	if (i == 3) {
		assert_int_equal(stun_key_md5(user, "example.org", "TheMatrIX", key), 0);
		return 16;
	}
	assert_int_equal(stun_key_sha256(user, "example.org", "TheMatrIX", key), 0);
	return 32;
}

static void test_vectors_mutated(void **state)
{
	(void)state;
	static const uint8_t set[] = {0x00, 0xff, 0x7f, 0x80};
	for (size_t v = 0; v < sizeof(vectors_hex) / sizeof(vectors_hex[0]); v++) {
		uint8_t buf[256], key[32];
		size_t len = hex_decode(vectors_hex[v], buf, sizeof(buf));
		size_t klen = vector_key(v, key);
		assert_true(passes_all(buf, len, key, klen, v < 3));
		for (size_t n = 0; n <= len; n++)
			exercise(buf, n);
		for (size_t i = 0; i < len; i++) {
			uint8_t orig = buf[i];
			for (int bit = 0; bit < 8; bit++) {
				buf[i] = (uint8_t)(orig ^ (1u << bit));
				exercise(buf, len);
				/* No single change slips past MI/FP. */
				assert_false(passes_all(buf, len, key, klen, v < 3));
			}
			for (size_t s = 0; s < sizeof(set); s++) {
				buf[i] = set[s];
				exercise(buf, len);
				if (set[s] != orig)
					assert_false(passes_all(buf, len, key, klen, v < 3));
			}
			buf[i] = orig;
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_truncated_header),
		cmocka_unit_test(test_bad_header),
		cmocka_unit_test(test_attr_overflow),
		cmocka_unit_test(test_too_many_attrs),
		cmocka_unit_test(test_duplicates_first_wins),
		cmocka_unit_test(test_attrs_after_mi_ignored),
		cmocka_unit_test(test_after_fingerprint_rejected),
		cmocka_unit_test(test_oversized),
		cmocka_unit_test(test_unknown_attrs),
		cmocka_unit_test(test_bad_addresses),
		cmocka_unit_test(test_bad_scalars),
		cmocka_unit_test(test_bad_error_code),
		cmocka_unit_test(test_bad_integrity_attrs),
		cmocka_unit_test(test_chdata_bad),
		cmocka_unit_test(test_frame_len_partial),
		cmocka_unit_test(test_vectors_mutated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
