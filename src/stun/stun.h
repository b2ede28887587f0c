/* STUN message codec (RFC 8489, with the TURN attributes of RFC 8656,
 * RFC 6156 and RFC 6062). Pure: no sockets, clock or globals. Decoding
 * never modifies its input and checks every length against what remains;
 * encoding writes into a caller-owned buffer of known capacity. */
#ifndef TS_STUN_H
#define TS_STUN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/sa.h"

#define STUN_HDR_LEN 20
#define STUN_MAGIC 0x2112A442u
#define STUN_TID_LEN 12
#define STUN_MAX_ATTRS 40   /* more than this in one message is refused */
#define STUN_MAX_UNKNOWN 8  /* unknown comprehension-required attrs kept */
#define STUN_MAX_MSG 65535

enum stun_class {
	STUN_CLASS_REQUEST = 0,
	STUN_CLASS_INDICATION = 1,
	STUN_CLASS_SUCCESS = 2,
	STUN_CLASS_ERROR = 3,
};

enum stun_method {
	STUN_BINDING = 0x001,
	TURN_ALLOCATE = 0x003,
	TURN_REFRESH = 0x004,
	TURN_SEND = 0x006,
	TURN_DATA = 0x007,
	TURN_CREATE_PERMISSION = 0x008,
	TURN_CHANNEL_BIND = 0x009,
	TURN_CONNECT = 0x00a,
	TURN_CONNECTION_BIND = 0x00b,
	TURN_CONNECTION_ATTEMPT = 0x00c,
};

enum stun_attr_type {
	/* comprehension-required (0x0000-0x7FFF) */
	STUN_ATTR_MAPPED_ADDRESS = 0x0001,
	STUN_ATTR_CHANGE_REQUEST = 0x0003, /* RFC 5780 7.2 */
	STUN_ATTR_USERNAME = 0x0006,
	STUN_ATTR_MESSAGE_INTEGRITY = 0x0008,
	STUN_ATTR_ERROR_CODE = 0x0009,
	STUN_ATTR_UNKNOWN_ATTRIBUTES = 0x000A,
	TURN_ATTR_CHANNEL_NUMBER = 0x000C,
	TURN_ATTR_LIFETIME = 0x000D,
	TURN_ATTR_XOR_PEER_ADDRESS = 0x0012,
	TURN_ATTR_DATA = 0x0013,
	STUN_ATTR_REALM = 0x0014,
	STUN_ATTR_NONCE = 0x0015,
	TURN_ATTR_XOR_RELAYED_ADDRESS = 0x0016,
	TURN_ATTR_REQUESTED_ADDRESS_FAMILY = 0x0017,
	TURN_ATTR_EVEN_PORT = 0x0018,
	TURN_ATTR_REQUESTED_TRANSPORT = 0x0019,
	TURN_ATTR_DONT_FRAGMENT = 0x001A,
	STUN_ATTR_MESSAGE_INTEGRITY_SHA256 = 0x001C,
	STUN_ATTR_PASSWORD_ALGORITHM = 0x001D,
	STUN_ATTR_USERHASH = 0x001E,
	STUN_ATTR_XOR_MAPPED_ADDRESS = 0x0020,
	TURN_ATTR_RESERVATION_TOKEN = 0x0022,
	TURN_ATTR_CONNECTION_ID = 0x002A,
	/* comprehension-optional (0x8000-0xFFFF) */
	STUN_ATTR_PASSWORD_ALGORITHMS = 0x8002,
	STUN_ATTR_ALTERNATE_DOMAIN = 0x8003,
	STUN_ATTR_SOFTWARE = 0x8022,
	STUN_ATTR_ALTERNATE_SERVER = 0x8023,
	STUN_ATTR_FINGERPRINT = 0x8028,
	TURN_ATTR_ADDITIONAL_ADDRESS_FAMILY = 0x8000,
	TURN_ATTR_ADDRESS_ERROR_CODE = 0x8001,
	TURN_ATTR_ICMP = 0x8004,
	STUN_ATTR_RESPONSE_ORIGIN = 0x802B, /* RFC 5780 7.3 */
	STUN_ATTR_OTHER_ADDRESS = 0x802C,   /* RFC 5780 7.4 */
};

/* PASSWORD-ALGORITHM values (RFC 8489 section 18.5) */
enum stun_pw_alg { STUN_PWALG_MD5 = 0x0001, STUN_PWALG_SHA256 = 0x0002 };

/* Address family values in REQUESTED-ADDRESS-FAMILY (RFC 8656 18.8) */
#define STUN_FAMILY_IPV4 0x01
#define STUN_FAMILY_IPV6 0x02

struct stun_attr {
	uint16_t type;
	uint16_t len;       /* value length, without padding */
	const uint8_t *val; /* points into the decoded buffer */
	uint16_t off;       /* offset of the attribute header in the message */
};

/* A decoded view of a message; it points into the caller's buffer, which
 * must outlive it. */
struct stun_msg {
	const uint8_t *buf;
	size_t len; /* STUN_HDR_LEN + header length field */
	uint16_t method;
	uint8_t cls;
	uint8_t tid[STUN_TID_LEN];
	struct stun_attr attrs[STUN_MAX_ATTRS];
	unsigned nattrs;
	int mi;     /* index into attrs of MESSAGE-INTEGRITY or -1 */
	int mi256;  /* index of MESSAGE-INTEGRITY-SHA256 or -1 */
	int fp;     /* index of FINGERPRINT or -1 */
	uint16_t unknown[STUN_MAX_UNKNOWN]; /* unknown comprehension-required */
	unsigned nunknown;
};

/* Cheap test whether buf could be STUN: top two bits zero, magic cookie,
 * length a multiple of 4 and within len. */
bool stun_is_msg(const uint8_t *buf, size_t len);

/* Decode a message. Attributes after MESSAGE-INTEGRITY are ignored except
 * MESSAGE-INTEGRITY-SHA256 and FINGERPRINT (RFC 8489 14.5/14.6); nothing
 * may follow FINGERPRINT. Duplicate attributes: the first wins (14), later
 * copies are recorded but stun_msg_attr() returns the first.
 * Returns 0, or EBADMSG for anything malformed (truncated, bad cookie,
 * bad lengths, attribute overflowing the message, too many attributes). */
int stun_msg_decode(struct stun_msg *m, const uint8_t *buf, size_t len);

/* First attribute of the given type or NULL. */
const struct stun_attr *stun_msg_attr(const struct stun_msg *m, uint16_t type);

/* Typed attribute readers: 0, ENOENT (absent) or EBADMSG (malformed). */
int stun_msg_get_u32(const struct stun_msg *m, uint16_t type, uint32_t *v);
/* XOR-encoded address attribute (XOR-MAPPED/PEER/RELAYED-ADDRESS). */
int stun_attr_get_xaddr(const struct stun_msg *m, const struct stun_attr *a,
			struct sa *out);
int stun_msg_get_xaddr(const struct stun_msg *m, uint16_t type, struct sa *out);
/* Plain (non-XOR) address, e.g. MAPPED-ADDRESS, ALTERNATE-SERVER. */
int stun_msg_get_addr(const struct stun_msg *m, uint16_t type, struct sa *out);
/* The same for one attribute, e.g. the second ALTERNATE-SERVER. */
int stun_attr_get_addr(const struct stun_msg *m, const struct stun_attr *a,
		       struct sa *out);
/* ALTERNATE-DOMAIN (RFC 8489 14.16) into out, NUL-terminated: 0, ENOENT,
 * EBADMSG (empty, over STUN_DOMAIN_MAX bytes or holding a NUL) or ENOSPC. */
#define STUN_DOMAIN_MAX 255
int stun_msg_get_domain(const struct stun_msg *m, char *out, size_t sz);
/* ERROR-CODE: code 300..699 and reason (not NUL-terminated). */
int stun_msg_get_error(const struct stun_msg *m, int *code,
		       const char **reason, size_t *reason_len);
/* CHANNEL-NUMBER value (upper 16 bits of the 4-byte value). */
int stun_msg_get_channel(const struct stun_msg *m, uint16_t *ch);
/* REQUESTED-TRANSPORT protocol number (17 = UDP, 6 = TCP). */
int stun_msg_get_transport(const struct stun_msg *m, uint8_t *proto);
/* REQUESTED-ADDRESS-FAMILY / ADDITIONAL-ADDRESS-FAMILY value (1 or 2). */
int stun_msg_get_family(const struct stun_msg *m, uint16_t type, uint8_t *fam);
/* EVEN-PORT: R bit. */
int stun_msg_get_even_port(const struct stun_msg *m, bool *reserve);
/* CONNECTION-ID (RFC 6062 6.2.1): exactly four bytes, an opaque id. */
int stun_msg_get_connid(const struct stun_msg *m, uint32_t *id);

/* MESSAGE-INTEGRITY (HMAC-SHA1) / MESSAGE-INTEGRITY-SHA256 verification
 * with a constant-time compare (RFC 8489 14.5, 14.6). The HMAC covers the
 * message up to the attribute, with the header length adjusted as the RFC
 * requires. Returns 0, ENOENT if that attribute is absent, EBADMSG if it
 * is malformed, EACCES on mismatch. */
int stun_msg_check_mi(const struct stun_msg *m, const uint8_t *key, size_t klen);
/* Reusable HMAC-SHA1 and HMAC-SHA256 contexts for one thread. Fetching
 * the algorithm and building a context for every message cost more than
 * the MAC itself; a context kept here is only re-keyed. Every function
 * that takes one also accepts NULL (a temporary context). */
struct stun_mac;
int stun_mac_alloc(struct stun_mac **mp);
void stun_mac_free(struct stun_mac *m);
/* stun_msg_check_mi(256) with reusable contexts. */
int stun_msg_check_mi_with(const struct stun_msg *m, struct stun_mac *mac,
			   bool sha256, const uint8_t *key, size_t klen);
int stun_msg_check_mi256(const struct stun_msg *m, const uint8_t *key,
			 size_t klen);
/* FINGERPRINT (14.7): 0, ENOENT or EBADMSG on mismatch. */
int stun_msg_check_fingerprint(const struct stun_msg *m);

/* Long-term key derivation (RFC 8489 9.2.2):
 *   MD5(username ":" realm ":" password)     -> 16 bytes
 *   SHA-256(username ":" realm ":" password) -> 32 bytes
 * (username and realm after OpaqueString, which is identity for ASCII.) */
int stun_key_md5(const char *user, const char *realm, const char *pass,
		 uint8_t out[16]);
int stun_key_sha256(const char *user, const char *realm, const char *pass,
		    uint8_t out[32]);
/* The same with the digests fetched once in mac (NULL: as above). A
 * legacy EVP_md5() looks its implementation up again on every use. */
int stun_key_with(struct stun_mac *mac, bool sha256, const char *user,
		  const char *realm, const char *pass, uint8_t *out);
/* HMAC-SHA1(key, data) through mac's kept context (NULL: a temporary
 * one): the TURN REST password. */
int stun_hmac_sha1(struct stun_mac *mac, const uint8_t *key, size_t klen,
		   const uint8_t *data, size_t len, uint8_t out[20]);
/* USERHASH = SHA-256(username ":" realm) (RFC 8489 14.4). */
int stun_userhash(const char *user, const char *realm, uint8_t out[32]);

/* Nonce cookie (RFC 8489 9.2): "obMatJos2" + 4 base64 chars encoding the
 * 24-bit security feature set. Bit 0 = password algorithms, bit 1 =
 * username anonymity. */
#define STUN_NONCE_COOKIE "obMatJos2"
#define STUN_NONCE_COOKIE_LEN 13
#define STUN_FEAT_PASSWORD_ALGORITHMS 0x800000u
#define STUN_FEAT_USERNAME_ANONYMITY 0x400000u
/* Write the 13-byte cookie (no NUL) for the feature set into out. */
void stun_nonce_cookie(uint32_t features, char out[STUN_NONCE_COOKIE_LEN]);
/* Parse the cookie at the start of a nonce; 0 (features set), or ENOENT if
 * the nonce does not start with the cookie. */
int stun_nonce_cookie_parse(const uint8_t *nonce, size_t len,
			    uint32_t *features);

/* ----- Encoder ----- */

/* Errors are sticky: once an append does not fit, err becomes ENOSPC and
 * every later call is a no-op; stun_enc_finish() reports it. */
struct stun_enc {
	uint8_t *buf;
	size_t cap;
	size_t len;
	int err;
	struct stun_mac *mac; /* optional reusable HMAC contexts (NULL: none) */
};

void stun_enc_init(struct stun_enc *e, uint8_t *buf, size_t cap,
		   uint16_t method, uint8_t cls, const uint8_t tid[STUN_TID_LEN]);
/* Raw attribute, padded to 4 bytes with zeros. */
void stun_enc_attr(struct stun_enc *e, uint16_t type, const void *val,
		   size_t len);
void stun_enc_u32(struct stun_enc *e, uint16_t type, uint32_t v);
void stun_enc_str(struct stun_enc *e, uint16_t type, const char *s);
void stun_enc_xaddr(struct stun_enc *e, uint16_t type, const struct sa *a);
void stun_enc_addr(struct stun_enc *e, uint16_t type, const struct sa *a);
/* ERROR-CODE with the RFC's default reason phrase when reason is NULL. */
void stun_enc_error(struct stun_enc *e, int code, const char *reason);
/* ADDRESS-ERROR-CODE (RFC 8656 18.12) for a STUN_FAMILY_*, with the
 * default reason phrase. */
void stun_enc_addr_error(struct stun_enc *e, uint8_t family, int code);
void stun_enc_unknown(struct stun_enc *e, const uint16_t *types, unsigned n);
void stun_enc_channel(struct stun_enc *e, uint16_t ch);
void stun_enc_connid(struct stun_enc *e, uint32_t id);
/* PASSWORD-ALGORITHMS listing SHA-256 then MD5. */
void stun_enc_password_algorithms(struct stun_enc *e);
/* Is a (PASSWORD-ALGORITHMS, possibly NULL) exactly the list the encoder
 * above writes? A client must echo it unchanged (9.2.4). */
bool stun_password_algorithms_ours(const struct stun_attr *a);
/* Integrity and fingerprint go last, in this order (RFC 8489 14). */
void stun_enc_mi(struct stun_enc *e, const uint8_t *key, size_t klen);
void stun_enc_mi256(struct stun_enc *e, const uint8_t *key, size_t klen);
void stun_enc_fingerprint(struct stun_enc *e);
/* 0 and the final length, or ENOSPC. */
int stun_enc_finish(struct stun_enc *e, size_t *len);

/* Default reason phrase for an error code ("Bad Request", ...). */
const char *stun_reason(int code);

/* ----- ChannelData (RFC 8656 12) ----- */
#define STUN_CHANNEL_MIN 0x4000
#define STUN_CHANNEL_MAX 0x4FFF
#define STUN_CHANNEL_MAX_5766 0x7FFF /* RFC 5766's wider range */
#define STUN_CHDATA_HDR 4

bool stun_is_chdata(const uint8_t *buf, size_t len);
/* Decode; data points into buf. Over UDP, trailing bytes beyond the
 * length are allowed (padding). 0 or EBADMSG. */
int stun_chdata_decode(const uint8_t *buf, size_t len, uint16_t *ch,
		       const uint8_t **data, uint16_t *dlen);
/* The same, accepting RFC 5766's 0x4000-0x7FFF; the caller applies its
 * own range policy. */
int stun_chdata_parse(const uint8_t *buf, size_t len, uint16_t *ch,
		      const uint8_t **data, uint16_t *dlen);
/* Write the 4-byte header. */
void stun_chdata_hdr(uint8_t hdr[STUN_CHDATA_HDR], uint16_t ch, uint16_t dlen);

/* ----- Stream framing (RFC 8489 6.2.2, RFC 8656 12.5) ----- */
/* Given the bytes received so far on a stream, compute the length of the
 * first frame: STUN (20 + length) or ChannelData (4 + length rounded up to
 * a multiple of 4). Returns 0 and sets *frame_len when the header is
 * complete (the frame itself may still be incomplete), EAGAIN if fewer
 * than 4 bytes are present, EBADMSG if the bytes are neither. */
int stun_frame_len(const uint8_t *buf, size_t len, size_t *frame_len);

#endif
