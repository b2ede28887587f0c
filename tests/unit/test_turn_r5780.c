/* NAT behaviour discovery (RFC 5780 6): OTHER-ADDRESS, RESPONSE-ORIGIN
 * and MAPPED-ADDRESS on Binding answers, and CHANGE-REQUEST answered from
 * the other address and/or port (Table 1), on the harness's fake
 * listeners. */
#include "turn_harness.h"
#include "util/bytes.h"

static void with_r5780(struct turn_cfg *c)
{
	sa_set_str(&c->r5780_ip[0][0], "203.0.113.5", 0);
	sa_set_str(&c->r5780_ip[0][1], "203.0.113.6", 0);
	c->r5780_port[0] = 3478;
	c->r5780_port[1] = 3479;
}

/* A Binding with CHANGE-REQUEST flags (or none: flags < 0). */
static void cr_attrs(struct stun_enc *e, void *arg)
{
	int flags = *(const int *)arg;
	if (flags >= 0) {
		uint8_t v[4] = {0, 0, 0, (uint8_t)flags};
		stun_enc_attr(e, STUN_ATTR_CHANGE_REQUEST, v, 4);
	}
}

static int binding(struct harness *h, const struct turn_src *s, int flags)
{
	return h_request(h, s, STUN_BINDING, cr_attrs, &flags, NULL);
}

static void expect_addr(struct harness *h, uint16_t type, const char *ip,
			uint16_t port)
{
	struct sa a;
	assert_int_equal(stun_msg_get_addr(&h->resp, type, &a), 0);
	char buf[SA_STRLEN];
	assert_string_equal(sa_fmt_ip(&a, buf, sizeof(buf)), ip);
	assert_int_equal(sa_port(&a), port);
}

/* Table 1, from each of the four address:port a request may reach. */
static void test_table(void **state)
{
	(void)state;
	struct harness *h = h_new(with_r5780);
	static const struct {
		const char *da; uint16_t dp; int flags;
		const char *sa; uint16_t sp; const char *ca; uint16_t cp;
	} rows[] = {
		{"203.0.113.5", 3478, -1, "203.0.113.5", 3478, "203.0.113.6", 3479},
		{"203.0.113.5", 3478, 0, "203.0.113.5", 3478, "203.0.113.6", 3479},
		{"203.0.113.5", 3478, 4, "203.0.113.6", 3478, "203.0.113.6", 3479},
		{"203.0.113.5", 3478, 2, "203.0.113.5", 3479, "203.0.113.6", 3479},
		{"203.0.113.5", 3478, 6, "203.0.113.6", 3479, "203.0.113.6", 3479},
		{"203.0.113.6", 3479, 6, "203.0.113.5", 3478, "203.0.113.5", 3478},
		{"203.0.113.6", 3478, 2, "203.0.113.6", 3479, "203.0.113.5", 3479},
		{"203.0.113.5", 3479, 4, "203.0.113.6", 3479, "203.0.113.6", 3478},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct turn_src s = h_src("198.51.100.7", (uint16_t)(40000 + i),
					  TURN_PROTO_UDP);
		sa_set_str(&s.local, rows[i].da, rows[i].dp);
		assert_int_equal(binding(h, &s, rows[i].flags), STUN_CLASS_SUCCESS);
		expect_addr(h, STUN_ATTR_RESPONSE_ORIGIN, rows[i].sa, rows[i].sp);
		expect_addr(h, STUN_ATTR_OTHER_ADDRESS, rows[i].ca, rows[i].cp);
		expect_addr(h, STUN_ATTR_MAPPED_ADDRESS, "198.51.100.7",
			    (uint16_t)(40000 + i));
		struct sa x;
		assert_int_equal(stun_msg_get_xaddr(&h->resp,
						    STUN_ATTR_XOR_MAPPED_ADDRESS, &x), 0);
		assert_true(sa_eq(&x, &s.client));
		/* Sent through the listener of the response's origin. */
		bool changed = rows[i].flags > 0;
		assert_ptr_equal(h->out_conn, changed
			? (void *)(uintptr_t)(0x7000u + rows[i].sp) : s.conn);
		if (changed) {
			char buf[SA_STRLEN];
			assert_string_equal(sa_fmt_ip(&h->conn_local, buf, sizeof(buf)),
					    rows[i].sa);
		}
	}
	h_free(h);
}

static uint16_t unknown_attr(struct harness *h)
{
	const struct stun_attr *u = stun_msg_attr(&h->resp, STUN_ATTR_UNKNOWN_ATTRIBUTES);
	assert_non_null(u);
	assert_int_equal(u->len, 2);
	return get_be16(u->val);
}

/* 420 naming CHANGE-REQUEST wherever no alternate can answer (RFC 5780
 * 6 and 6.1); without CHANGE-REQUEST, the plain answer. */
static void test_refusals(void **state)
{
	(void)state;
	/* RFC 5780 off. */
	struct harness *h = h_new(NULL);
	struct turn_src s = h_src("198.51.100.7", 40000, TURN_PROTO_UDP);
	assert_int_equal(binding(h, &s, 6), STUN_CLASS_ERROR);
	assert_int_equal(h_err(h), 420);
	assert_int_equal(unknown_attr(h), STUN_ATTR_CHANGE_REQUEST);
	assert_int_equal(binding(h, &s, -1), STUN_CLASS_SUCCESS);
	assert_null(stun_msg_attr(&h->resp, STUN_ATTR_OTHER_ADDRESS));
	assert_null(stun_msg_attr(&h->resp, STUN_ATTR_RESPONSE_ORIGIN));
	h_free(h);
	h = h_new(with_r5780);
	/* An address outside the pair. */
	sa_set_str(&s.local, "203.0.113.9", 3478);
	assert_int_equal(binding(h, &s, 0), STUN_CLASS_ERROR);
	assert_int_equal(h_err(h), 420);
	assert_int_equal(binding(h, &s, -1), STUN_CLASS_SUCCESS);
	assert_null(stun_msg_attr(&h->resp, STUN_ATTR_OTHER_ADDRESS));
	/* A change over a stream: the answer cannot leave from elsewhere;
	 * no change asked: OTHER-ADDRESS all the same. */
	struct turn_src t = h_src("198.51.100.7", 40001, TURN_PROTO_TCP);
	assert_int_equal(binding(h, &t, 2), STUN_CLASS_ERROR);
	assert_int_equal(h_err(h), 420);
	assert_int_equal(binding(h, &t, 0), STUN_CLASS_SUCCESS);
	expect_addr(h, STUN_ATTR_OTHER_ADDRESS, "203.0.113.6", 3479);
	/* Over DTLS neither. */
	s = h_src("198.51.100.7", 40002, TURN_PROTO_UDP);
	s.secure = true;
	assert_int_equal(binding(h, &s, 4), STUN_CLASS_ERROR);
	assert_int_equal(h_err(h), 420);
	/* No listener there after all. */
	s.secure = false;
	h->no_udp_conn = true;
	assert_int_equal(binding(h, &s, 4), STUN_CLASS_ERROR);
	assert_int_equal(h_err(h), 420);
	h_free(h);
}

/* A CHANGE-REQUEST of the wrong length is a malformed request (400), and
 * the attribute on another method is still unknown there (420). */
static void cr_short(struct stun_enc *e, void *arg)
{
	(void)arg;
	stun_enc_attr(e, STUN_ATTR_CHANGE_REQUEST, "\0\0", 2);
}

static void cr_on_allocate(struct stun_enc *e, void *arg)
{
	(void)arg;
	uint8_t v[4] = {0, 0, 0, 6};
	h_transport(e, TURN_PROTO_UDP);
	stun_enc_attr(e, STUN_ATTR_CHANGE_REQUEST, v, 4);
}

static void test_malformed(void **state)
{
	(void)state;
	struct harness *h = h_new(with_r5780);
	struct turn_src s = h_src("198.51.100.7", 40000, TURN_PROTO_UDP);
	assert_int_equal(h_request(h, &s, STUN_BINDING, cr_short, NULL, NULL),
			 STUN_CLASS_ERROR);
	assert_int_equal(h_err(h), 400);
	h_get_nonce(h, &s); /* 420 comes after authentication */
	assert_int_equal(h_request(h, &s, TURN_ALLOCATE, cr_on_allocate, NULL,
				   &h_alice), STUN_CLASS_ERROR);
	assert_int_equal(h_err(h), 420);
	h_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
