/* The PROXY protocol header of tcp-proxy-port (proxyhdr.c): versions 1
 * and 2, a header cut anywhere (more bytes needed), and what is not one. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <cmocka.h>

#include "net/net_int.h"

static const uint8_t sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
				0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

static size_t v2(uint8_t *b, uint8_t vc, uint8_t fam, const uint8_t *addrs,
		 size_t alen, size_t tlv)
{
	memcpy(b, sig, 12);
	b[12] = vc;
	b[13] = fam;
	b[14] = (uint8_t)((alen + tlv) >> 8);
	b[15] = (uint8_t)(alen + tlv);
	memcpy(b + 16, addrs, alen);
	memset(b + 16 + alen, 0xEE, tlv);
	return 16 + alen + tlv;
}

static void expect_src(const uint8_t *b, size_t n, const char *want, size_t used_want)
{
	struct sa s = {0};
	size_t used = 0;
	assert_int_equal(net_proxy_parse(b, n, &s, &used), 0);
	assert_int_equal(used, used_want);
	char buf[SA_STRLEN];
	assert_string_equal(sa_fmt(&s, buf, sizeof(buf)), want);
	/* Every shorter prefix asks for more. */
	for (size_t k = 1; k < used_want; k++)
		assert_int_equal(net_proxy_parse(b, k, &s, &used), EAGAIN);
}

static void test_v2(void **state)
{
	(void)state;
	uint8_t b[600];
	const uint8_t v4[12] = {198, 51, 100, 7, 10, 0, 0, 1, 0xC3, 0x50, 0x0D, 0x96};
	size_t n = v2(b, 0x21, 0x11, v4, sizeof(v4), 0);
	expect_src(b, n, "198.51.100.7:50000", n);
	/* TLVs after the addresses are skipped; trailing stream bytes kept. */
	n = v2(b, 0x21, 0x11, v4, sizeof(v4), 40);
	memcpy(b + n, "\x00\x01", 2);
	expect_src(b, n + 2, "198.51.100.7:50000", n);
	uint8_t v6[36] = {0x20, 0x01, 0x0d, 0xb8};
	v6[15] = 9;
	v6[32] = 0x12;
	v6[33] = 0x34;
	n = v2(b, 0x21, 0x21, v6, sizeof(v6), 0);
	expect_src(b, n, "[2001:db8::9]:4660", n);
	/* LOCAL (a health check) and UNSPEC: the connection's own address. */
	struct sa s;
	sa_set_str(&s, "192.0.2.1", 1);
	size_t used;
	n = v2(b, 0x20, 0x00, v4, 0, 0);
	assert_int_equal(net_proxy_parse(b, n, &s, &used), 0);
	assert_int_equal(used, 16);
	char buf[SA_STRLEN];
	assert_string_equal(sa_fmt(&s, buf, sizeof(buf)), "192.0.2.1:1");
	/* Bad version, command, a length short of the addresses, too long. */
	n = v2(b, 0x11, 0x11, v4, sizeof(v4), 0);
	assert_int_equal(net_proxy_parse(b, n, &s, &used), EBADMSG);
	n = v2(b, 0x22, 0x11, v4, sizeof(v4), 0);
	assert_int_equal(net_proxy_parse(b, n, &s, &used), EBADMSG);
	n = v2(b, 0x21, 0x11, v4, 8, 0);
	assert_int_equal(net_proxy_parse(b, n, &s, &used), EBADMSG);
	b[14] = 0xFF;
	assert_int_equal(net_proxy_parse(b, n, &s, &used), EBADMSG);
}

static void test_v1(void **state)
{
	(void)state;
	const char *l4 = "PROXY TCP4 198.51.100.7 10.0.0.1 50000 3478\r\n";
	expect_src((const uint8_t *)l4, strlen(l4), "198.51.100.7:50000", strlen(l4));
	const char *l6 = "PROXY TCP6 2001:db8::9 2001:db8::1 4660 3478\r\nxyz";
	expect_src((const uint8_t *)l6, strlen(l6), "[2001:db8::9]:4660", strlen(l6) - 3);
	struct sa s;
	size_t used;
	sa_set_str(&s, "192.0.2.1", 1);
	const char *unk = "PROXY UNKNOWN\r\n";
	assert_int_equal(net_proxy_parse((const uint8_t *)unk, strlen(unk), &s, &used), 0);
	assert_int_equal(used, strlen(unk));
	const char *bad[] = {
		"PROXY TCP4 198.51.100.7 10.0.0.1 50000\r\n",
		"PROXY TCP4 2001:db8::9 10.0.0.1 1 2\r\n",
		"PROXY TCP6 198.51.100.7 10.0.0.1 1 2\r\n",
		"PROXY UDP4 198.51.100.7 10.0.0.1 1 2\r\n",
		"PROXY TCP4 198.51.100.7 10.0.0.1 70000 2\r\n",
		"PROXY TCP4 198.51.100.7 10.0.0.1 1 2 extra\r\n",
		"PROXY TCP4 198.51.100.7 10.0.0.1 4294970774 3478\r\n", /* wrapped to 3478 */
		"PROXY TCP4 198.51.100.7 10.0.0.1 +5 3478\r\n",
		"PROXY UNKNOWNxyz\r\n",
		"GET / HTTP/1.1\r\n",
		"\x00\x01\x00\x00\x21\x12\xA4\x42",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(net_proxy_parse((const uint8_t *)bad[i],
						 strlen(bad[i]) ? strlen(bad[i]) : 8,
						 &s, &used), EBADMSG);
	/* No CRLF within the longest line: not a header. */
	char longline[200];
	memset(longline, 'A', sizeof(longline));
	memcpy(longline, "PROXY ", 6);
	assert_int_equal(net_proxy_parse((const uint8_t *)longline, sizeof(longline),
					 &s, &used), EBADMSG);
	assert_int_equal(net_proxy_parse((const uint8_t *)longline, 50, &s, &used), EAGAIN);
}

/* Streams awaiting a header (proxywait.c): a quarter of the descriptor
 * limit shared by the workers, 16 to 4096 each. */
static void test_wait_max(void **state)
{
	(void)state;
	struct rlimit old, rl;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	rl = old;
	rl.rlim_cur = 400;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	assert_int_equal(net_proxy_wait_max(1), 100);
	assert_int_equal(net_proxy_wait_max(4), 25);
	assert_int_equal(net_proxy_wait_max(0), 100); /* as one */
	assert_int_equal(net_proxy_wait_max(8), 16);  /* at least 16 */
	if (old.rlim_max >= 65536) {
		rl.rlim_cur = 65536;
		assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
		assert_int_equal(net_proxy_wait_max(1), 4096); /* at most */
		assert_int_equal(net_proxy_wait_max(8), 2048);
	}
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v2),
		cmocka_unit_test(test_v1),
		cmocka_unit_test(test_wait_max),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
