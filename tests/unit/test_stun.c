/* stun: RFC 5769 and RFC 8489 B.1 vectors, encoder round trips, integrity,
 * fingerprint, keys, nonce cookie, ChannelData and framing. The vector
 * bytes are typed from the RFC text (the same bytes sit in
 * tests/fuzz/seeds/ and test_stun_malformed.c). */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "stun/stun.h"
#include "util/bytes.h"

/* RFC 5769 2.1: short-term credentials, SOFTWARE, PRIORITY, ICE-CONTROLLED,
 * USERNAME (padded with spaces, which receivers ignore), MI, FINGERPRINT. */
static const uint8_t rfc5769_req[] = {
	0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
	0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10,
	0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73, 0x74, 0x20, 0x63, 0x6c,
	0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff,
	0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36,
	0x00, 0x06, 0x00, 0x09, 0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76,
	0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14, 0x9a, 0xea, 0xa7, 0x0c,
	0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49,
	0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf,
};

/* RFC 5769 2.2: XOR-MAPPED-ADDRESS 192.0.2.1:32853. */
static const uint8_t rfc5769_resp4[] = {
	0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
	0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b,
	0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20,
	0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
	0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3,
	0x8c, 0x74, 0x89, 0xf9, 0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7,
	0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96,
};

/* RFC 5769 2.3: XOR-MAPPED-ADDRESS [2001:db8:1234:5678:11:2233:4455:6677]:32853. */
static const uint8_t rfc5769_resp6[] = {
	0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
	0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b,
	0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20,
	0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa,
	0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9,
	0x00, 0x08, 0x00, 0x14, 0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6, 0x7b, 0xf1,
	0x17, 0x84, 0xc9, 0x7c, 0x82, 0x92, 0xc2, 0x75, 0xbf, 0xe3, 0xed, 0x41,
	0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb, 0x0b, 0x4c,
};

/* RFC 5769 2.4: long-term credentials, zero padding, no FINGERPRINT. */
static const uint8_t rfc5769_lt[] = {
	0x00, 0x01, 0x00, 0x60, 0x21, 0x12, 0xa4, 0x42, 0x78, 0xad, 0x34, 0x33,
	0xc6, 0xad, 0x72, 0xc0, 0x29, 0xda, 0x41, 0x2e, 0x00, 0x06, 0x00, 0x12,
	0xe3, 0x83, 0x9e, 0xe3, 0x83, 0x88, 0xe3, 0x83, 0xaa, 0xe3, 0x83, 0x83,
	0xe3, 0x82, 0xaf, 0xe3, 0x82, 0xb9, 0x00, 0x00, 0x00, 0x15, 0x00, 0x1c,
	0x66, 0x2f, 0x2f, 0x34, 0x39, 0x39, 0x6b, 0x39, 0x35, 0x34, 0x64, 0x36,
	0x4f, 0x4c, 0x33, 0x34, 0x6f, 0x4c, 0x39, 0x46, 0x53, 0x54, 0x76, 0x79,
	0x36, 0x34, 0x73, 0x41, 0x00, 0x14, 0x00, 0x0b, 0x65, 0x78, 0x61, 0x6d,
	0x70, 0x6c, 0x65, 0x2e, 0x6f, 0x72, 0x67, 0x00, 0x00, 0x08, 0x00, 0x14,
	0xf6, 0x70, 0x24, 0x65, 0x6d, 0xd6, 0x4a, 0x3e, 0x02, 0xb8, 0xe0, 0x71,
	0x2e, 0x85, 0xc9, 0xa2, 0x8c, 0xa8, 0x96, 0x66,
};

/* RFC 8489 Appendix B.1 as corrected by erratum 6268. The published
 * vector has the header length 0x9c (the whole message, not the body),
 * no PASSWORD-ALGORITHM although the key is the SHA-256 one, and an
 * HMAC that matches neither key. The erratum's version has length 0x90,
 * PASSWORD-ALGORITHM SHA-256 and a recomputed MESSAGE-INTEGRITY-SHA256.
 * Verified here: every byte. USERHASH is SHA-256("<user>:example.org"),
 * the nonce starts with the cookie, and the HMAC-SHA256 checks with
 * SHA-256("<user>:example.org:TheMatrIX") and is reproduced byte for
 * byte by the encoder. The original length field is rejected as
 * malformed (test_rfc8489_b1_original). */
static const uint8_t rfc8489_b1[] = {
	0x00, 0x01, 0x00, 0x90, 0x21, 0x12, 0xa4, 0x42, 0x78, 0xad, 0x34, 0x33,
	0xc6, 0xad, 0x72, 0xc0, 0x29, 0xda, 0x41, 0x2e, 0x00, 0x1e, 0x00, 0x20,
	0x4a, 0x3c, 0xf3, 0x8f, 0xef, 0x69, 0x92, 0xbd, 0xa9, 0x52, 0xc6, 0x78,
	0x04, 0x17, 0xda, 0x0f, 0x24, 0x81, 0x94, 0x15, 0x56, 0x9e, 0x60, 0xb2,
	0x05, 0xc4, 0x6e, 0x41, 0x40, 0x7f, 0x17, 0x04, 0x00, 0x15, 0x00, 0x29,
	0x6f, 0x62, 0x4d, 0x61, 0x74, 0x4a, 0x6f, 0x73, 0x32, 0x41, 0x41, 0x41,
	0x43, 0x66, 0x2f, 0x2f, 0x34, 0x39, 0x39, 0x6b, 0x39, 0x35, 0x34, 0x64,
	0x36, 0x4f, 0x4c, 0x33, 0x34, 0x6f, 0x4c, 0x39, 0x46, 0x53, 0x54, 0x76,
	0x79, 0x36, 0x34, 0x73, 0x41, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x0b,
	0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x6f, 0x72, 0x67, 0x00,
	0x00, 0x1d, 0x00, 0x04, 0x00, 0x02, 0x00, 0x00, 0x00, 0x1c, 0x00, 0x20,
	0xb5, 0xc7, 0xbf, 0x00, 0x5b, 0x6c, 0x52, 0xa2, 0x1c, 0x51, 0xc5, 0xe8,
	0x92, 0xf8, 0x19, 0x24, 0x13, 0x62, 0x96, 0xcb, 0x92, 0x7c, 0x43, 0x14,
	0x93, 0x09, 0x27, 0x8c, 0xc6, 0x51, 0x8e, 0x65,
};

static const char short_pw[] = "VOkJxbRl1RmTxUk/WvJxBt";
/* <U+30DE><U+30C8><U+30EA><U+30C3><U+30AF><U+30B9> in UTF-8 */
static const char lt_user[] =
	"\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83\x83\xe3\x82\xaf\xe3\x82\xb9";
static const char lt_realm[] = "example.org";
static const char lt_pass[] = "TheMatrIX"; /* after SASLprep/OpaqueString */
static const char lt_nonce[] = "f//499k954d6OL34oL9FSTvy64sA";
static const char b1_nonce[] = "obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA";

static const uint8_t *pw_key(void)
{
	return (const uint8_t *)short_pw;
}

static void assert_attr_str(const struct stun_msg *m, uint16_t type,
			    const char *want)
{
	const struct stun_attr *a = stun_msg_attr(m, type);
	assert_non_null(a);
	assert_int_equal(a->len, strlen(want));
	assert_memory_equal(a->val, want, a->len);
}

static void test_rfc5769_request(void **state)
{
	(void)state;
	struct stun_msg m;
	assert_true(stun_is_msg(rfc5769_req, sizeof(rfc5769_req)));
	assert_int_equal(stun_msg_decode(&m, rfc5769_req, sizeof(rfc5769_req)), 0);
	assert_int_equal(m.len, sizeof(rfc5769_req));
	assert_int_equal(m.method, STUN_BINDING);
	assert_int_equal(m.cls, STUN_CLASS_REQUEST);
	assert_memory_equal(m.tid, rfc5769_req + 8, STUN_TID_LEN);
	assert_int_equal(m.nattrs, 6);
	assert_int_equal(m.mi, 4);
	assert_int_equal(m.mi256, -1);
	assert_int_equal(m.fp, 5);
	assert_attr_str(&m, STUN_ATTR_SOFTWARE, "STUN test client");
	assert_attr_str(&m, STUN_ATTR_USERNAME, "evtj:h6vY");
	/* PRIORITY (0x0024) is ICE's, comprehension-required, unknown here. */
	assert_int_equal(m.nunknown, 1);
	assert_int_equal(m.unknown[0], 0x0024);
	assert_int_equal(stun_msg_check_mi(&m, pw_key(), strlen(short_pw)), 0);
	assert_int_equal(stun_msg_check_mi(&m, (const uint8_t *)"wrong", 5), EACCES);
	assert_int_equal(stun_msg_check_mi256(&m, pw_key(), strlen(short_pw)), ENOENT);
	assert_int_equal(stun_msg_check_fingerprint(&m), 0);
}

static void check_resp(const uint8_t *buf, size_t len, const char *ip)
{
	struct stun_msg m;
	struct sa got, want;
	assert_int_equal(stun_msg_decode(&m, buf, len), 0);
	assert_int_equal(m.method, STUN_BINDING);
	assert_int_equal(m.cls, STUN_CLASS_SUCCESS);
	assert_attr_str(&m, STUN_ATTR_SOFTWARE, "test vector");
	assert_int_equal(stun_msg_get_xaddr(&m, STUN_ATTR_XOR_MAPPED_ADDRESS, &got), 0);
	assert_int_equal(sa_set_str(&want, ip, 32853), 0);
	assert_true(sa_eq(&got, &want));
	assert_int_equal(stun_attr_get_xaddr(&m, stun_msg_attr(&m,
			 STUN_ATTR_XOR_MAPPED_ADDRESS), &got), 0);
	assert_true(sa_eq(&got, &want));
	assert_int_equal(stun_msg_get_addr(&m, STUN_ATTR_MAPPED_ADDRESS, &got), ENOENT);
	assert_int_equal(m.nunknown, 0);
	assert_int_equal(stun_msg_check_mi(&m, pw_key(), strlen(short_pw)), 0);
	assert_int_equal(stun_msg_check_fingerprint(&m), 0);
}

static void test_rfc5769_resp_ipv4(void **state)
{
	(void)state;
	check_resp(rfc5769_resp4, sizeof(rfc5769_resp4), "192.0.2.1");
}

static void test_rfc5769_resp_ipv6(void **state)
{
	(void)state;
	check_resp(rfc5769_resp6, sizeof(rfc5769_resp6),
		   "2001:db8:1234:5678:11:2233:4455:6677");
}

static void test_rfc5769_long_term(void **state)
{
	(void)state;
	struct stun_msg m;
	uint8_t key[16];
	assert_int_equal(stun_msg_decode(&m, rfc5769_lt, sizeof(rfc5769_lt)), 0);
	assert_attr_str(&m, STUN_ATTR_USERNAME, lt_user);
	assert_attr_str(&m, STUN_ATTR_NONCE, lt_nonce);
	assert_attr_str(&m, STUN_ATTR_REALM, lt_realm);
	assert_int_equal(stun_key_md5(lt_user, lt_realm, lt_pass, key), 0);
	assert_int_equal(stun_msg_check_mi(&m, key, sizeof(key)), 0);
	key[15] ^= 1;
	assert_int_equal(stun_msg_check_mi(&m, key, sizeof(key)), EACCES);
	assert_int_equal(stun_msg_check_fingerprint(&m), ENOENT);
	uint32_t feat;
	assert_int_equal(stun_nonce_cookie_parse(m.attrs[1].val, m.attrs[1].len,
						 &feat), ENOENT);
}

/* Reused HMAC contexts (struct stun_mac): re-keyed for every message,
 * so a wrong key after a right one fails, a right one after a wrong one
 * passes, and an empty key never reuses the previous message's. */
static void test_mac_reuse(void **state)
{
	(void)state;
	struct stun_mac *mac;
	struct stun_msg m, r;
	uint8_t key[16], bad[16];
	assert_int_equal(stun_mac_alloc(&mac), 0);
	assert_int_equal(stun_msg_decode(&m, rfc5769_lt, sizeof(rfc5769_lt)), 0);
	assert_int_equal(stun_msg_decode(&r, rfc5769_req, sizeof(rfc5769_req)), 0);
	assert_int_equal(stun_key_md5(lt_user, lt_realm, lt_pass, key), 0);
	memcpy(bad, key, sizeof(bad));
	bad[0] ^= 1;
	for (int round = 0; round < 3; round++) {
		assert_int_equal(stun_msg_check_mi_with(&m, mac, false, key, 16), 0);
		assert_int_equal(stun_msg_check_mi_with(&m, mac, false, bad, 16), EACCES);
		assert_int_equal(stun_msg_check_mi_with(&r, mac, false, pw_key(),
							strlen(short_pw)), 0);
		assert_int_equal(stun_msg_check_mi_with(&m, mac, false, key, 0), EACCES);
		assert_int_equal(stun_msg_check_mi_with(&m, mac, true, key, 16), ENOENT);
	}
	/* Encoding with the kept context gives the same bytes as without. */
	uint8_t b1[128], b2[128];
	size_t l1, l2;
	struct stun_enc e;
	for (int with = 0; with < 2; with++) {
		stun_enc_init(&e, with ? b2 : b1, 128, STUN_BINDING,
			      STUN_CLASS_REQUEST, rfc5769_req + 8);
		e.mac = with ? mac : NULL;
		stun_enc_str(&e, STUN_ATTR_USERNAME, "u");
		stun_enc_mi(&e, key, sizeof(key));
		stun_enc_mi256(&e, key, sizeof(key));
		assert_int_equal(stun_enc_finish(&e, with ? &l2 : &l1), 0);
	}
	assert_int_equal(l1, l2);
	assert_memory_equal(b1, b2, l1);
	stun_enc_init(&e, b2, 128, STUN_BINDING, STUN_CLASS_REQUEST, rfc5769_req + 8);
	e.mac = mac;
	stun_enc_mi(&e, key, 0);
	assert_int_equal(e.err, EINVAL);
	stun_mac_free(mac);
	stun_mac_free(NULL);
}

/* Re-encoding 2.4 from its parameters reproduces it byte for byte (its
 * padding is zero, unlike 2.1-2.3 whose padding is spaces). */
static void test_rfc5769_long_term_encode(void **state)
{
	(void)state;
	uint8_t buf[256], key[16];
	struct stun_enc e;
	size_t len;
	stun_enc_init(&e, buf, sizeof(buf), STUN_BINDING, STUN_CLASS_REQUEST,
		      rfc5769_lt + 8);
	stun_enc_str(&e, STUN_ATTR_USERNAME, lt_user);
	stun_enc_str(&e, STUN_ATTR_NONCE, lt_nonce);
	stun_enc_str(&e, STUN_ATTR_REALM, lt_realm);
	assert_int_equal(stun_key_md5(lt_user, lt_realm, lt_pass, key), 0);
	stun_enc_mi(&e, key, sizeof(key));
	assert_int_equal(stun_enc_finish(&e, &len), 0);
	assert_int_equal(len, sizeof(rfc5769_lt));
	assert_memory_equal(buf, rfc5769_lt, len);
}

static void test_rfc8489_b1(void **state)
{
	(void)state;
	struct stun_msg m;
	uint8_t uh[32], key[32], md5key[16];
	uint32_t feat = 0;
	assert_int_equal(stun_msg_decode(&m, rfc8489_b1, sizeof(rfc8489_b1)), 0);
	assert_int_equal(m.nunknown, 0);
	assert_int_equal(m.mi, -1);
	assert_int_equal(m.fp, -1);
	assert_int_equal(stun_userhash(lt_user, lt_realm, uh), 0);
	const struct stun_attr *a = stun_msg_attr(&m, STUN_ATTR_USERHASH);
	assert_non_null(a);
	assert_int_equal(a->len, 32);
	assert_memory_equal(a->val, uh, 32);
	assert_attr_str(&m, STUN_ATTR_NONCE, b1_nonce);
	assert_attr_str(&m, STUN_ATTR_REALM, lt_realm);
	a = stun_msg_attr(&m, STUN_ATTR_PASSWORD_ALGORITHM);
	assert_non_null(a);
	assert_int_equal(get_be16(a->val), STUN_PWALG_SHA256);
	/* The B.1 cookie is "AAAC": feature bits 0x000002. */
	a = stun_msg_attr(&m, STUN_ATTR_NONCE);
	assert_int_equal(stun_nonce_cookie_parse(a->val, a->len, &feat), 0);
	assert_int_equal(feat, 0x000002);
	assert_int_equal(stun_key_sha256(lt_user, lt_realm, lt_pass, key), 0);
	assert_int_equal(stun_msg_check_mi256(&m, key, sizeof(key)), 0);
	assert_int_equal(stun_msg_check_mi(&m, key, sizeof(key)), ENOENT);
	assert_int_equal(stun_key_md5(lt_user, lt_realm, lt_pass, md5key), 0);
	assert_int_equal(stun_msg_check_mi256(&m, md5key, sizeof(md5key)), EACCES);
}

static void test_rfc8489_b1_encode(void **state)
{
	(void)state;
	uint8_t buf[256], uh[32], key[32], alg[4] = {0x00, 0x02, 0x00, 0x00};
	struct stun_enc e;
	size_t len;
	stun_enc_init(&e, buf, sizeof(buf), STUN_BINDING, STUN_CLASS_REQUEST,
		      rfc8489_b1 + 8);
	assert_int_equal(stun_userhash(lt_user, lt_realm, uh), 0);
	stun_enc_attr(&e, STUN_ATTR_USERHASH, uh, sizeof(uh));
	stun_enc_str(&e, STUN_ATTR_NONCE, b1_nonce);
	stun_enc_str(&e, STUN_ATTR_REALM, lt_realm);
	stun_enc_attr(&e, STUN_ATTR_PASSWORD_ALGORITHM, alg, sizeof(alg));
	assert_int_equal(stun_key_sha256(lt_user, lt_realm, lt_pass, key), 0);
	stun_enc_mi256(&e, key, sizeof(key));
	assert_int_equal(stun_enc_finish(&e, &len), 0);
	assert_int_equal(len, sizeof(rfc8489_b1));
	assert_memory_equal(buf, rfc8489_b1, len);
}

/* The vector as published: no PASSWORD-ALGORITHM, another HMAC, and a
 * length field (0x9c) that counts the header too, so the message claims
 * 20 bytes more than there are. With the length fixed (0x88) it decodes,
 * but its HMAC matches neither the SHA-256 nor the MD5 key. */
static void test_rfc8489_b1_original(void **state)
{
	(void)state;
	static const uint8_t orig_mac[32] = {
		0xe4, 0x68, 0x6c, 0x8f, 0x0e, 0xde, 0xb5, 0x90, 0x13, 0xe0, 0x70,
		0x90, 0x01, 0x0a, 0x93, 0xef, 0xcc, 0xbc, 0xcc, 0x54, 0x4c, 0x0a,
		0x45, 0xd9, 0xf8, 0x30, 0xaa, 0x6d, 0x6f, 0x73, 0x5a, 0x01,
	};
	uint8_t buf[156], key[32], md5key[16];
	struct stun_msg m;
	memcpy(buf, rfc8489_b1, 120); /* up to REALM */
	memcpy(buf + 120, rfc8489_b1 + 128, 4); /* MI256 header */
	memcpy(buf + 124, orig_mac, sizeof(orig_mac));
	put_be16(buf + 2, 0x9c);
	assert_false(stun_is_msg(buf, sizeof(buf)));
	assert_int_equal(stun_msg_decode(&m, buf, sizeof(buf)), EBADMSG);
	put_be16(buf + 2, 0x88);
	assert_int_equal(stun_msg_decode(&m, buf, sizeof(buf)), 0);
	assert_int_equal(stun_key_sha256(lt_user, lt_realm, lt_pass, key), 0);
	assert_int_equal(stun_key_md5(lt_user, lt_realm, lt_pass, md5key), 0);
	assert_int_equal(stun_msg_check_mi256(&m, key, sizeof(key)), EACCES);
	assert_int_equal(stun_msg_check_mi256(&m, md5key, sizeof(md5key)), EACCES);
}

static void test_keys(void **state)
{
	(void)state;
	/* Cross-checked with Python's hashlib. */
	static const uint8_t md5[16] = {
		0x84, 0x93, 0xfb, 0xc5, 0x3b, 0xa5, 0x82, 0xfb,
		0x4c, 0x04, 0x4c, 0x45, 0x6b, 0xdc, 0x40, 0xeb,
	};
	static const uint8_t sha[32] = {
		0x07, 0xe9, 0x34, 0x11, 0x7a, 0xbd, 0x40, 0x83, 0x6e, 0x7c, 0x63,
		0x29, 0xb5, 0x47, 0x31, 0xb2, 0xb2, 0xd2, 0xa5, 0xf9, 0xa7, 0x1f,
		0x54, 0x49, 0x22, 0xd7, 0x5e, 0x07, 0x30, 0xd8, 0x25, 0x1b,
	};
	uint8_t k5[16], k256[32];
	assert_int_equal(stun_key_md5("user", "realm", "pass", k5), 0);
	assert_memory_equal(k5, md5, 16);
	assert_int_equal(stun_key_sha256("user", "realm", "pass", k256), 0);
	assert_memory_equal(k256, sha, 32);
	/* With the digests kept in a stun_mac, used in turn, and without. */
	struct stun_mac *mac;
	assert_int_equal(stun_mac_alloc(&mac), 0);
	for (int round = 0; round < 2; round++) {
		struct stun_mac *m = round ? mac : NULL;
		memset(k5, 0, sizeof(k5));
		memset(k256, 0, sizeof(k256));
		assert_int_equal(stun_key_with(m, false, "user", "realm", "pass", k5), 0);
		assert_int_equal(stun_key_with(m, true, "user", "realm", "pass", k256), 0);
		assert_memory_equal(k5, md5, 16);
		assert_memory_equal(k256, sha, 32);
		assert_int_equal(stun_key_with(m, false, "user", "realm", "pass", k5), 0);
		assert_memory_equal(k5, md5, 16);
	}
	/* HMAC-SHA1, RFC 2202 test case 2, through the kept context after a
	 * different key, and through a temporary one. */
	static const uint8_t jefe[20] = {
		0xef, 0xfc, 0xdf, 0x6a, 0xe5, 0xeb, 0x2f, 0xa2, 0xd2, 0x74,
		0x16, 0xd5, 0xf1, 0x84, 0xdf, 0x9c, 0x25, 0x9a, 0x7c, 0x79,
	};
	const char *data = "what do ya want for nothing?";
	uint8_t h[20];
	assert_int_equal(stun_hmac_sha1(mac, (const uint8_t *)"other", 5,
					(const uint8_t *)data, 4, h), 0);
	for (int round = 0; round < 2; round++) {
		memset(h, 0, sizeof(h));
		assert_int_equal(stun_hmac_sha1(round ? NULL : mac,
						(const uint8_t *)"Jefe", 4,
						(const uint8_t *)data,
						strlen(data), h), 0);
		assert_memory_equal(h, jefe, 20);
	}
	assert_int_equal(stun_hmac_sha1(mac, NULL, 0, (const uint8_t *)data, 1, h),
			 EINVAL);
	stun_mac_free(mac);
}

/* Method and class bits interleave in the type field (RFC 8489 5.1). */
static void test_type_bits(void **state)
{
	(void)state;
	static const struct {
		uint16_t method;
		uint8_t cls;
		uint16_t type;
	} cases[] = {
		{STUN_BINDING, STUN_CLASS_REQUEST, 0x0001},
		{STUN_BINDING, STUN_CLASS_SUCCESS, 0x0101},
		{STUN_BINDING, STUN_CLASS_ERROR, 0x0111},
		{TURN_ALLOCATE, STUN_CLASS_ERROR, 0x0113},
		{TURN_SEND, STUN_CLASS_INDICATION, 0x0016},
		{TURN_DATA, STUN_CLASS_INDICATION, 0x0017},
		{TURN_CHANNEL_BIND, STUN_CLASS_SUCCESS, 0x0109},
		{TURN_CONNECTION_ATTEMPT, STUN_CLASS_INDICATION, 0x001c},
		{0x0fff, STUN_CLASS_ERROR, 0x3fff},
		{0x0080, STUN_CLASS_REQUEST, 0x0200},
	};
	uint8_t tid[STUN_TID_LEN] = {1, 2, 3}, buf[64];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct stun_enc e;
		struct stun_msg m;
		size_t len;
		stun_enc_init(&e, buf, sizeof(buf), cases[i].method, cases[i].cls, tid);
		assert_int_equal(stun_enc_finish(&e, &len), 0);
		assert_int_equal(len, STUN_HDR_LEN);
		assert_int_equal(get_be16(buf), cases[i].type);
		assert_int_equal(get_be32(buf + 4), STUN_MAGIC);
		assert_int_equal(stun_msg_decode(&m, buf, len), 0);
		assert_int_equal(m.method, cases[i].method);
		assert_int_equal(m.cls, cases[i].cls);
		assert_memory_equal(m.tid, tid, STUN_TID_LEN);
	}
}

/* Every encoder kind, decoded back. */
static int encode_everything(uint8_t *buf, size_t cap, size_t *len)
{
	static const uint8_t tid[STUN_TID_LEN] = {0xb7, 0xe7, 0xa7, 0x01, 0xbc,
						  0x34, 0xd6, 0x86, 0xfa, 0x87,
						  0xdf, 0xae};
	static const uint16_t unk[] = {0x0031, 0x0777, 0x7fff};
	struct stun_enc e;
	struct sa v4, v6;
	uint8_t even = 0x80, transport[4] = {17, 0, 0, 0};
	sa_set_str(&v4, "192.0.2.1", 32853);
	sa_set_str(&v6, "2001:db8:1234:5678:11:2233:4455:6677", 32853);
	stun_enc_init(&e, buf, cap, TURN_ALLOCATE, STUN_CLASS_ERROR, tid);
	stun_enc_str(&e, STUN_ATTR_SOFTWARE, "turnstone");
	stun_enc_u32(&e, TURN_ATTR_LIFETIME, 600);
	stun_enc_xaddr(&e, STUN_ATTR_XOR_MAPPED_ADDRESS, &v4);
	stun_enc_xaddr(&e, TURN_ATTR_XOR_RELAYED_ADDRESS, &v6);
	stun_enc_addr(&e, STUN_ATTR_MAPPED_ADDRESS, &v4);
	stun_enc_addr(&e, STUN_ATTR_ALTERNATE_SERVER, &v6);
	stun_enc_error(&e, 438, NULL);
	stun_enc_addr_error(&e, STUN_FAMILY_IPV6, 440);
	stun_enc_unknown(&e, unk, 3);
	stun_enc_channel(&e, 0x4001);
	stun_enc_password_algorithms(&e);
	stun_enc_attr(&e, TURN_ATTR_DATA, "hello", 5);
	stun_enc_attr(&e, TURN_ATTR_EVEN_PORT, &even, 1);
	stun_enc_attr(&e, TURN_ATTR_REQUESTED_TRANSPORT, transport, 4);
	stun_enc_attr(&e, TURN_ATTR_DONT_FRAGMENT, NULL, 0);
	stun_enc_mi(&e, pw_key(), strlen(short_pw));
	stun_enc_mi256(&e, pw_key(), strlen(short_pw));
	stun_enc_fingerprint(&e);
	return stun_enc_finish(&e, len);
}

static void check_everything(const struct stun_msg *m)
{
	struct sa got, v4, v6;
	uint32_t u;
	uint16_t ch;
	uint8_t proto;
	bool r;
	int code;
	const char *reason;
	size_t rlen;
	sa_set_str(&v4, "192.0.2.1", 32853);
	sa_set_str(&v6, "2001:db8:1234:5678:11:2233:4455:6677", 32853);
	assert_attr_str(m, STUN_ATTR_SOFTWARE, "turnstone");
	assert_int_equal(stun_msg_get_u32(m, TURN_ATTR_LIFETIME, &u), 0);
	assert_int_equal(u, 600);
	assert_int_equal(stun_msg_get_xaddr(m, STUN_ATTR_XOR_MAPPED_ADDRESS, &got), 0);
	assert_true(sa_eq(&got, &v4));
	assert_int_equal(stun_msg_get_xaddr(m, TURN_ATTR_XOR_RELAYED_ADDRESS, &got), 0);
	assert_true(sa_eq(&got, &v6));
	assert_int_equal(stun_msg_get_addr(m, STUN_ATTR_MAPPED_ADDRESS, &got), 0);
	assert_true(sa_eq(&got, &v4));
	assert_int_equal(stun_msg_get_addr(m, STUN_ATTR_ALTERNATE_SERVER, &got), 0);
	assert_true(sa_eq(&got, &v6));
	assert_int_equal(stun_msg_get_error(m, &code, &reason, &rlen), 0);
	assert_int_equal(code, 438);
	assert_int_equal(rlen, strlen("Stale Nonce"));
	assert_memory_equal(reason, "Stale Nonce", rlen);
	assert_int_equal(stun_msg_get_channel(m, &ch), 0);
	assert_int_equal(ch, 0x4001);
	assert_int_equal(stun_msg_get_transport(m, &proto), 0);
	assert_int_equal(proto, 17);
	assert_int_equal(stun_msg_get_even_port(m, &r), 0);
	assert_true(r);
	/* ADDRESS-ERROR-CODE: family, reserved, class 4, number 40, reason */
	const struct stun_attr *ae = stun_msg_attr(m, TURN_ATTR_ADDRESS_ERROR_CODE);
	assert_non_null(ae);
	static const char want[] = "\x02\x00\x04\x28" "Address Family not Supported";
	assert_int_equal(ae->len, sizeof(want) - 1);
	assert_memory_equal(ae->val, want, sizeof(want) - 1);
	assert_non_null(stun_msg_attr(m, TURN_ATTR_DONT_FRAGMENT));
	assert_int_equal(stun_msg_attr(m, TURN_ATTR_DONT_FRAGMENT)->len, 0);
}

static void test_roundtrip_all(void **state)
{
	(void)state;
	static const uint8_t unk_val[] = {0x00, 0x31, 0x07, 0x77, 0x7f, 0xff};
	static const uint8_t pwalgs[] = {0, 2, 0, 0, 0, 1, 0, 0};
	uint8_t buf[512];
	struct stun_msg m;
	size_t len = 0;
	assert_int_equal(encode_everything(buf, sizeof(buf), &len), 0);
	assert_int_equal(stun_msg_decode(&m, buf, len), 0);
	assert_int_equal(m.len, len);
	assert_int_equal(m.method, TURN_ALLOCATE);
	assert_int_equal(m.cls, STUN_CLASS_ERROR);
	assert_int_equal(m.nattrs, 18);
	assert_int_equal(m.nunknown, 0);
	check_everything(&m);
	const struct stun_attr *a = stun_msg_attr(&m, STUN_ATTR_UNKNOWN_ATTRIBUTES);
	assert_int_equal(a->len, sizeof(unk_val));
	assert_memory_equal(a->val, unk_val, sizeof(unk_val));
	assert_int_equal(a->val[6], 0); /* padding */
	assert_int_equal(a->val[7], 0);
	a = stun_msg_attr(&m, STUN_ATTR_PASSWORD_ALGORITHMS);
	assert_int_equal(a->len, sizeof(pwalgs));
	assert_memory_equal(a->val, pwalgs, sizeof(pwalgs));
	a = stun_msg_attr(&m, TURN_ATTR_DATA);
	assert_int_equal(a->len, 5);
	assert_memory_equal(a->val, "hello\0\0\0", 8); /* zero padded */
	/* The XOR form on the wire (RFC 5769 2.2's bytes, same tid). */
	a = stun_msg_attr(&m, STUN_ATTR_XOR_MAPPED_ADDRESS);
	assert_memory_equal(a->val, rfc5769_resp4 + 40, 8);
	a = stun_msg_attr(&m, TURN_ATTR_XOR_RELAYED_ADDRESS);
	assert_memory_equal(a->val, rfc5769_resp6 + 40, 20);
	/* MI is followed by MI256 and FP: the length adjustment matters. */
	assert_int_equal(stun_msg_check_mi(&m, pw_key(), strlen(short_pw)), 0);
	assert_int_equal(stun_msg_check_mi256(&m, pw_key(), strlen(short_pw)), 0);
	assert_int_equal(stun_msg_check_fingerprint(&m), 0);
	assert_int_equal(m.fp, (int)m.nattrs - 1);
	assert_int_equal(m.attrs[m.fp].off, len - 8);
}

/* A flipped bit anywhere the HMACs cover is caught, in constant time. */
static void test_flipped_bit(void **state)
{
	(void)state;
	uint8_t buf[512];
	struct stun_msg m;
	size_t len = 0;
	assert_int_equal(encode_everything(buf, sizeof(buf), &len), 0);
	const size_t at[] = {0, 9, 25, 60, len - 8 - 36 - 24 + 10};
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		buf[at[i]] ^= 0x04;
		assert_int_equal(stun_msg_decode(&m, buf, len), 0);
		assert_int_equal(stun_msg_check_mi(&m, pw_key(), strlen(short_pw)), EACCES);
		assert_int_equal(stun_msg_check_mi256(&m, pw_key(), strlen(short_pw)), EACCES);
		assert_int_equal(stun_msg_check_fingerprint(&m), EBADMSG);
		buf[at[i]] ^= 0x04;
	}
	/* Inside MI256's value: only it and FINGERPRINT break. */
	buf[len - 8 - 10] ^= 0x80;
	assert_int_equal(stun_msg_decode(&m, buf, len), 0);
	assert_int_equal(stun_msg_check_mi(&m, pw_key(), strlen(short_pw)), 0);
	assert_int_equal(stun_msg_check_mi256(&m, pw_key(), strlen(short_pw)), EACCES);
	assert_int_equal(stun_msg_check_fingerprint(&m), EBADMSG);
	buf[len - 8 - 10] ^= 0x80;
	/* The fingerprint itself. */
	buf[len - 1] ^= 0x01;
	assert_int_equal(stun_msg_decode(&m, buf, len), 0);
	assert_int_equal(stun_msg_check_mi256(&m, pw_key(), strlen(short_pw)), 0);
	assert_int_equal(stun_msg_check_fingerprint(&m), EBADMSG);
}

static void test_encoder_bounds(void **state)
{
	(void)state;
	uint8_t buf[512], tid[STUN_TID_LEN] = {0};
	struct stun_enc e;
	size_t len = 0, got = 0;
	assert_int_equal(encode_everything(buf, sizeof(buf), &len), 0);
	/* Every capacity short of the full message fails, never overruns. */
	for (size_t cap = 0; cap < len; cap++) {
		memset(buf, 0xAA, sizeof(buf));
		assert_int_equal(encode_everything(buf, cap, &got), ENOSPC);
		for (size_t i = cap; i < sizeof(buf); i++)
			assert_int_equal(buf[i], 0xAA);
	}
	assert_int_equal(encode_everything(buf, len, &got), 0);
	assert_int_equal(got, len);
	/* Sticky: a later attribute that would fit is not written. */
	stun_enc_init(&e, buf, 28, STUN_BINDING, STUN_CLASS_REQUEST, tid);
	stun_enc_str(&e, STUN_ATTR_SOFTWARE, "too long for eight");
	assert_int_equal(e.err, ENOSPC);
	stun_enc_u32(&e, TURN_ATTR_LIFETIME, 1);
	assert_int_equal(e.len, STUN_HDR_LEN);
	assert_int_equal(stun_enc_finish(&e, &got), ENOSPC);
	/* Exact fit. */
	stun_enc_init(&e, buf, 28, STUN_BINDING, STUN_CLASS_REQUEST, tid);
	stun_enc_u32(&e, TURN_ATTR_LIFETIME, 1);
	assert_int_equal(stun_enc_finish(&e, &got), 0);
	assert_int_equal(got, 28);
	assert_int_equal(get_be16(buf + 2), 8);
	/* Header does not fit. */
	stun_enc_init(&e, buf, STUN_HDR_LEN - 1, STUN_BINDING, 0, tid);
	assert_int_equal(stun_enc_finish(&e, &got), ENOSPC);
}

/* The encoder never writes past cap, whatever is appended. */
static void test_encoder_no_overrun(void **state)
{
	(void)state;
	uint8_t tid[STUN_TID_LEN] = {0}, key[16] = {1};
	for (size_t cap = 0; cap < 200; cap++) {
		uint8_t buf[256];
		struct stun_enc e;
		struct sa v6;
		size_t len;
		memset(buf, 0xAA, sizeof(buf));
		sa_set_str(&v6, "2001:db8::1", 9);
		stun_enc_init(&e, buf, cap, TURN_REFRESH, STUN_CLASS_SUCCESS, tid);
		stun_enc_error(&e, 401, "Unauthenticated and then some");
		stun_enc_xaddr(&e, TURN_ATTR_XOR_PEER_ADDRESS, &v6);
		stun_enc_mi(&e, key, sizeof(key));
		stun_enc_mi256(&e, key, sizeof(key));
		stun_enc_fingerprint(&e);
		int err = stun_enc_finish(&e, &len);
		for (size_t i = cap; i < sizeof(buf); i++)
			assert_int_equal(buf[i], 0xAA);
		if (err == 0) {
			struct stun_msg m;
			assert_true(len <= cap);
			assert_int_equal(stun_msg_decode(&m, buf, len), 0);
			assert_int_equal(stun_msg_check_mi256(&m, key, 16), 0);
		} else {
			assert_int_equal(err, ENOSPC);
		}
	}
}

static void test_encoder_invalid(void **state)
{
	(void)state;
	uint8_t buf[128], tid[STUN_TID_LEN] = {0};
	struct stun_enc e;
	struct sa none;
	size_t len;
	memset(&none, 0, sizeof(none));
	stun_enc_init(&e, buf, sizeof(buf), STUN_BINDING, 0, tid);
	stun_enc_xaddr(&e, STUN_ATTR_XOR_MAPPED_ADDRESS, &none);
	assert_int_equal(stun_enc_finish(&e, &len), EINVAL);
	stun_enc_init(&e, buf, sizeof(buf), STUN_BINDING, 0, tid);
	stun_enc_error(&e, 299, NULL);
	assert_int_equal(stun_enc_finish(&e, &len), EINVAL);
	stun_enc_init(&e, buf, sizeof(buf), STUN_BINDING, 0, tid);
	stun_enc_error(&e, 420, "Nope");
	assert_int_equal(stun_enc_finish(&e, &len), 0);
	static const uint8_t want[] = {0x00, 0x09, 0x00, 0x08, 0, 0, 4, 20,
				       'N', 'o', 'p', 'e'};
	assert_int_equal(len, STUN_HDR_LEN + sizeof(want));
	assert_memory_equal(buf + STUN_HDR_LEN, want, sizeof(want));
}

static void test_reason(void **state)
{
	(void)state;
	static const struct {
		int code;
		const char *s;
	} r[] = {
		{300, "Try Alternate"}, {400, "Bad Request"},
		{401, "Unauthenticated"}, {403, "Forbidden"},
		{420, "Unknown Attribute"}, {437, "Allocation Mismatch"},
		{438, "Stale Nonce"}, {440, "Address Family not Supported"},
		{441, "Wrong Credentials"},
		{442, "Unsupported Transport Protocol"},
		{443, "Peer Address Family Mismatch"},
		{446, "Connection Already Exists"},
		{447, "Connection Timeout or Failure"},
		{486, "Allocation Quota Reached"}, {500, "Server Error"},
		{508, "Insufficient Capacity"},
	};
	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		assert_string_equal(stun_reason(r[i].code), r[i].s);
	assert_non_null(stun_reason(699));
}

static void test_nonce_cookie(void **state)
{
	(void)state;
	char c[STUN_NONCE_COOKIE_LEN + 1] = {0};
	uint32_t f = 0;
	stun_nonce_cookie(STUN_FEAT_PASSWORD_ALGORITHMS, c);
	assert_string_equal(c, "obMatJos2gAAA");
	stun_nonce_cookie(STUN_FEAT_PASSWORD_ALGORITHMS |
			  STUN_FEAT_USERNAME_ANONYMITY, c);
	assert_string_equal(c, "obMatJos2wAAA");
	stun_nonce_cookie(0, c);
	assert_string_equal(c, "obMatJos2AAAA");
	stun_nonce_cookie(0xFFFFFF, c);
	assert_string_equal(c, "obMatJos2////");
	stun_nonce_cookie(0xFBEF3E, c); /* every alphabet region */
	assert_string_equal(c, "obMatJos2++8+");
	assert_int_equal(stun_nonce_cookie_parse((const uint8_t *)c, 13, &f), 0);
	assert_int_equal(f, 0xFBEF3E);
	assert_int_equal(stun_nonce_cookie_parse(
		(const uint8_t *)"obMatJos2wAAAxyz", 16, &f), 0);
	assert_int_equal(f, 0xC00000);
	assert_int_equal(stun_nonce_cookie_parse(
		(const uint8_t *)"obMatJos2Az09", 13, &f), 0);
	assert_int_equal(f, (0u << 18) | (51u << 12) | (52u << 6) | 61u);
	assert_int_equal(stun_nonce_cookie_parse((const uint8_t *)c, 12, &f), ENOENT);
	assert_int_equal(stun_nonce_cookie_parse(
		(const uint8_t *)"obMatJos3wAAA", 13, &f), ENOENT);
	assert_int_equal(stun_nonce_cookie_parse(
		(const uint8_t *)"obMatJos2wA=A", 13, &f), ENOENT);
}

/* RFC 6062: Connect, ConnectionBind and ConnectionAttempt carry a 4-byte
 * CONNECTION-ID; the methods keep their class bits apart (0x000a request
 * is type 0x000a, its success 0x010a, the indication 0x001c). */
static void test_connid(void **state)
{
	(void)state;
	uint8_t buf[128], tid[STUN_TID_LEN] = {1, 2, 3};
	struct stun_enc e;
	struct stun_msg m;
	size_t len;
	uint32_t id = 0;
	stun_enc_init(&e, buf, sizeof(buf), TURN_CONNECT, STUN_CLASS_SUCCESS, tid);
	stun_enc_connid(&e, 0xdeadbeef);
	assert_int_equal(stun_enc_finish(&e, &len), 0);
	assert_int_equal(len, 28);
	assert_int_equal(get_be16(buf), 0x010a);
	assert_memory_equal(buf + 20, "\x00\x2a\x00\x04\xde\xad\xbe\xef", 8);
	assert_int_equal(stun_msg_decode(&m, buf, len), 0);
	assert_int_equal(m.nunknown, 0); /* a known attribute: no 420 */
	assert_int_equal(m.method, TURN_CONNECT);
	assert_int_equal(stun_msg_get_connid(&m, &id), 0);
	assert_int_equal(id, 0xdeadbeef);
	stun_enc_init(&e, buf, sizeof(buf), TURN_CONNECTION_ATTEMPT,
		      STUN_CLASS_INDICATION, tid);
	assert_int_equal(stun_enc_finish(&e, &len), 0);
	assert_int_equal(get_be16(buf), 0x001c);
	assert_int_equal(stun_msg_decode(&m, buf, len), 0);
	assert_int_equal(stun_msg_get_connid(&m, &id), ENOENT);
	/* A CONNECTION-ID of any other length is malformed (400). */
	stun_enc_init(&e, buf, sizeof(buf), TURN_CONNECTION_BIND,
		      STUN_CLASS_REQUEST, tid);
	stun_enc_attr(&e, TURN_ATTR_CONNECTION_ID, "\1\2\3\4\5\6\7\x08", 8);
	assert_int_equal(stun_enc_finish(&e, &len), 0);
	assert_int_equal(stun_msg_decode(&m, buf, len), 0);
	assert_int_equal(stun_msg_get_connid(&m, &id), EBADMSG);
	assert_string_equal(stun_reason(446), "Connection Already Exists");
	assert_string_equal(stun_reason(447), "Connection Timeout or Failure");
}

static void test_chdata(void **state)
{
	(void)state;
	uint8_t buf[12] = {0};
	uint16_t ch = 0, dlen = 0;
	const uint8_t *data = NULL;
	size_t flen = 0;
	stun_chdata_hdr(buf, 0x4abc, 5);
	assert_int_equal(buf[0], 0x4a);
	assert_int_equal(buf[1], 0xbc);
	assert_int_equal(buf[2], 0x00);
	assert_int_equal(buf[3], 0x05);
	memcpy(buf + 4, "hello", 5);
	assert_true(stun_is_chdata(buf, sizeof(buf)));
	assert_false(stun_is_msg(buf, sizeof(buf)));
	assert_int_equal(stun_chdata_decode(buf, 9, &ch, &data, &dlen), 0);
	assert_int_equal(ch, 0x4abc);
	assert_int_equal(dlen, 5);
	assert_ptr_equal(data, buf + 4);
	/* UDP padding after the data is allowed. */
	assert_int_equal(stun_chdata_decode(buf, 12, &ch, &data, &dlen), 0);
	assert_int_equal(dlen, 5);
	/* Over streams the frame is padded to 4 (RFC 8656 12.5). */
	assert_int_equal(stun_frame_len(buf, 4, &flen), 0);
	assert_int_equal(flen, 12);
	stun_chdata_hdr(buf, 0x4000, 8);
	assert_int_equal(stun_frame_len(buf, 4, &flen), 0);
	assert_int_equal(flen, 12);
	stun_chdata_hdr(buf, 0x4fff, 0);
	assert_int_equal(stun_frame_len(buf, 4, &flen), 0);
	assert_int_equal(flen, 4);
	assert_int_equal(stun_chdata_decode(buf, 4, &ch, &data, &dlen), 0);
	assert_int_equal(ch, 0x4fff);
	assert_int_equal(dlen, 0);
}

static void test_frame_len_stun(void **state)
{
	(void)state;
	size_t flen = 0;
	assert_int_equal(stun_frame_len(rfc5769_req, 4, &flen), 0);
	assert_int_equal(flen, sizeof(rfc5769_req));
	assert_int_equal(stun_frame_len(rfc5769_resp6, sizeof(rfc5769_resp6), &flen), 0);
	assert_int_equal(flen, sizeof(rfc5769_resp6));
	/* Two frames back to back: only the first is measured. */
	uint8_t two[2 * sizeof(rfc5769_resp4)];
	memcpy(two, rfc5769_resp4, sizeof(rfc5769_resp4));
	memcpy(two + sizeof(rfc5769_resp4), rfc5769_resp4, sizeof(rfc5769_resp4));
	assert_int_equal(stun_frame_len(two, sizeof(two), &flen), 0);
	assert_int_equal(flen, sizeof(rfc5769_resp4));
}

/* 300 Try Alternate (RFC 8489 10): two ALTERNATE-SERVERs (14.15), one per
 * family, and ALTERNATE-DOMAIN (14.16). */
static void test_try_alternate(void **state)
{
	(void)state;
	uint8_t buf[512], tid[STUN_TID_LEN] = {1, 2, 3};
	struct stun_enc e;
	struct stun_msg m;
	struct sa v4, v6, got;
	size_t len;
	char dom[STUN_DOMAIN_MAX + 1];
	sa_set_str(&v4, "198.51.100.9", 3478);
	sa_set_str(&v6, "2001:db8::9", 5349);
	stun_enc_init(&e, buf, sizeof(buf), TURN_ALLOCATE, STUN_CLASS_ERROR, tid);
	stun_enc_error(&e, 300, NULL);
	stun_enc_addr(&e, STUN_ATTR_ALTERNATE_SERVER, &v4);
	stun_enc_addr(&e, STUN_ATTR_ALTERNATE_SERVER, &v6);
	stun_enc_str(&e, STUN_ATTR_ALTERNATE_DOMAIN, "turn2.example.net");
	assert_int_equal(stun_enc_finish(&e, &len), 0);
	assert_int_equal(stun_msg_decode(&m, buf, len), 0);
	assert_int_equal(m.nunknown, 0); /* both are comprehension-optional */
	assert_int_equal(stun_msg_get_addr(&m, STUN_ATTR_ALTERNATE_SERVER, &got), 0);
	assert_true(sa_eq(&got, &v4));
	unsigned n = 0;
	for (unsigned i = 0; i < m.nattrs; i++) {
		if (m.attrs[i].type != STUN_ATTR_ALTERNATE_SERVER)
			continue;
		assert_int_equal(stun_attr_get_addr(&m, &m.attrs[i], &got), 0);
		assert_true(sa_eq(&got, n++ ? &v6 : &v4));
	}
	assert_int_equal(n, 2);
	assert_int_equal(stun_msg_get_domain(&m, dom, sizeof(dom)), 0);
	assert_string_equal(dom, "turn2.example.net");
	assert_int_equal(stun_msg_get_domain(&m, dom, 5), ENOSPC);
	/* Plain, not XOR: the bytes on the wire are the address itself. */
	const struct stun_attr *a = stun_msg_attr(&m, STUN_ATTR_ALTERNATE_SERVER);
	assert_int_equal(a->len, 8);
	assert_int_equal(a->val[4], 198);
}

static void domain_case(const void *val, size_t vlen, int want)
{
	uint8_t buf[1024], tid[STUN_TID_LEN] = {0};
	struct stun_enc e;
	struct stun_msg m;
	size_t len;
	char dom[512];
	stun_enc_init(&e, buf, sizeof(buf), TURN_ALLOCATE, STUN_CLASS_ERROR, tid);
	stun_enc_attr(&e, STUN_ATTR_ALTERNATE_DOMAIN, val, vlen);
	assert_int_equal(stun_enc_finish(&e, &len), 0);
	assert_int_equal(stun_msg_decode(&m, buf, len), 0);
	assert_int_equal(stun_msg_get_domain(&m, dom, sizeof(dom)), want);
}

static void test_alternate_domain_malformed(void **state)
{
	(void)state;
	char big[STUN_DOMAIN_MAX + 1];
	memset(big, 'a', sizeof(big));
	domain_case("", 0, EBADMSG);
	domain_case("a\0b", 3, EBADMSG);
	domain_case(big, sizeof(big), EBADMSG);
	domain_case(big, sizeof(big) - 1, 0);
	struct stun_msg m;
	uint8_t hdr[STUN_HDR_LEN] = {0x01, 0x13, 0, 0, 0x21, 0x12, 0xA4, 0x42};
	char dom[8];
	assert_int_equal(stun_msg_decode(&m, hdr, sizeof(hdr)), 0);
	assert_int_equal(stun_msg_get_domain(&m, dom, sizeof(dom)), ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc5769_request),
		cmocka_unit_test(test_rfc5769_resp_ipv4),
		cmocka_unit_test(test_rfc5769_resp_ipv6),
		cmocka_unit_test(test_rfc5769_long_term),
		cmocka_unit_test(test_mac_reuse),
		cmocka_unit_test(test_rfc5769_long_term_encode),
		cmocka_unit_test(test_rfc8489_b1),
		cmocka_unit_test(test_rfc8489_b1_encode),
		cmocka_unit_test(test_rfc8489_b1_original),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_type_bits),
		cmocka_unit_test(test_roundtrip_all),
		cmocka_unit_test(test_flipped_bit),
		cmocka_unit_test(test_encoder_bounds),
		cmocka_unit_test(test_encoder_no_overrun),
		cmocka_unit_test(test_encoder_invalid),
		cmocka_unit_test(test_reason),
		cmocka_unit_test(test_nonce_cookie),
		cmocka_unit_test(test_chdata),
		cmocka_unit_test(test_connid),
		cmocka_unit_test(test_frame_len_stun),
		cmocka_unit_test(test_try_alternate),
		cmocka_unit_test(test_alternate_domain_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
