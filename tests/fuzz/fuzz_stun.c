/* libFuzzer target for the STUN codec: message decoding, every typed
 * reader, integrity and fingerprint checks with a fixed key, ChannelData
 * and stream framing. A successfully decoded message is also re-encoded
 * attribute by attribute, which must succeed and decode again. Seeds:
 * tests/fuzz/seeds (RFC 5769 / RFC 8489 B.1 vectors, a ChannelData frame). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stun/stun.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t fuzz_key[] = "VOkJxbRl1RmTxUk/WvJxBt";

static void fuzz_readers(const struct stun_msg *m)
{
	struct sa sa;
	uint32_t u;
	uint16_t ch;
	uint8_t b;
	bool r;
	int code;
	const char *reason;
	size_t rlen;
	for (unsigned i = 0; i < m->nattrs; i++) {
		const struct stun_attr *a = &m->attrs[i];
		if (a->val < m->buf || a->val + a->len > m->buf + m->len)
			abort();
		(void)stun_attr_get_xaddr(m, a, &sa);
		(void)stun_msg_get_xaddr(m, a->type, &sa);
		(void)stun_msg_get_addr(m, a->type, &sa);
		(void)stun_msg_get_u32(m, a->type, &u);
		(void)stun_msg_get_family(m, a->type, &b);
		(void)stun_nonce_cookie_parse(a->val, a->len, &u);
	}
	(void)stun_msg_get_error(m, &code, &reason, &rlen);
	(void)stun_msg_get_channel(m, &ch);
	(void)stun_msg_get_transport(m, &b);
	(void)stun_msg_get_even_port(m, &r);
	(void)stun_msg_check_mi(m, fuzz_key, sizeof(fuzz_key) - 1);
	(void)stun_msg_check_mi256(m, fuzz_key, sizeof(fuzz_key) - 1);
	(void)stun_msg_check_fingerprint(m);
}

/* Copy the kept attributes into a new message; it must fit (the input
 * did) and decode, with integrity from the encoder verifying. */
static void fuzz_reencode(const struct stun_msg *m)
{
	static uint8_t out[STUN_MAX_MSG + 128];
	struct stun_enc e;
	struct stun_msg m2;
	size_t len;
	unsigned kept = 0;
	stun_enc_init(&e, out, sizeof(out), m->method, m->cls, m->tid);
	for (unsigned i = 0; i < m->nattrs; i++) {
		uint16_t t = m->attrs[i].type;
		if (t == STUN_ATTR_MESSAGE_INTEGRITY ||
		    t == STUN_ATTR_MESSAGE_INTEGRITY_SHA256 ||
		    t == STUN_ATTR_FINGERPRINT)
			continue;
		stun_enc_attr(&e, t, m->attrs[i].val, m->attrs[i].len);
		kept++;
	}
	if (kept + 2 > STUN_MAX_ATTRS)
		return; /* MI and FP would push it over the attribute limit */
	stun_enc_mi(&e, fuzz_key, sizeof(fuzz_key) - 1);
	stun_enc_fingerprint(&e);
	if (stun_enc_finish(&e, &len) != 0)
		return; /* the added MI/FP may not fit a near-maximal input */
	if (stun_msg_decode(&m2, out, len) != 0 ||
	    stun_msg_check_mi(&m2, fuzz_key, sizeof(fuzz_key) - 1) != 0 ||
	    stun_msg_check_fingerprint(&m2) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stun_msg m;
	size_t flen;
	uint16_t ch, dlen;
	const uint8_t *payload;
	(void)stun_is_msg(data, size);
	(void)stun_frame_len(data, size, &flen);
	if (stun_is_chdata(data, size) &&
	    stun_chdata_decode(data, size, &ch, &payload, &dlen) == 0 &&
	    payload + dlen > data + size)
		abort();
	if (stun_msg_decode(&m, data, size) == 0) {
		if (m.len > size || m.nattrs > STUN_MAX_ATTRS)
			abort();
		fuzz_readers(&m);
		fuzz_reencode(&m);
	}
	return 0;
}
