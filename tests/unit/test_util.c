/* util: socket addresses, byte helpers, randomness, usable CPUs. */
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "util/bytes.h"
#include "util/cidr.h"
#include "util/cond.h"
#include "util/cpus.h"
#include "util/iceurl.h"
#include "util/log.h"
#include "util/rand.h"
#include "util/sa.h"
#include "util/srccount.h"

/* Workers follow the affinity mask: a thread allowed one CPU counts
 * one, whatever the machine has. */
static void test_cpus_usable(void **state)
{
	(void)state;
	cpu_set_t all, one;
	assert_int_equal(sched_getaffinity(0, sizeof(all), &all), 0);
	assert_int_equal(util_cpus_usable(), (unsigned)CPU_COUNT(&all));
	int first = 0;
	while (!CPU_ISSET(first, &all))
		first++;
	CPU_ZERO(&one);
	CPU_SET(first, &one);
	assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0);
	unsigned n = util_cpus_usable();
	assert_int_equal(sched_setaffinity(0, sizeof(all), &all), 0);
	assert_int_equal(n, 1);
}

static void test_sa_parse_format(void **state)
{
	(void)state;
	struct sa a, b;
	char buf[SA_STRLEN];
	assert_int_equal(sa_set_str(&a, "192.0.2.1", 3478), 0);
	assert_string_equal(sa_fmt(&a, buf, sizeof(buf)), "192.0.2.1:3478");
	assert_int_equal(sa_set_str(&b, "2001:db8::1", 5), 0);
	assert_string_equal(sa_fmt(&b, buf, sizeof(buf)), "[2001:db8::1]:5");
	assert_int_equal(sa_set_str(&a, "not-an-ip", 1), EINVAL);
	assert_int_equal(sa_set_str(&a, "1.2.3.4.5", 1), EINVAL);
}

static void test_sa_hostport(void **state)
{
	(void)state;
	struct sa a;
	char buf[SA_STRLEN];
	assert_int_equal(sa_set_hostport(&a, "192.0.2.1:5349", 3478), 0);
	assert_string_equal(sa_fmt(&a, buf, sizeof(buf)), "192.0.2.1:5349");
	assert_int_equal(sa_set_hostport(&a, "192.0.2.1", 3478), 0);
	assert_string_equal(sa_fmt(&a, buf, sizeof(buf)), "192.0.2.1:3478");
	assert_int_equal(sa_set_hostport(&a, "[2001:db8::1]:99", 3478), 0);
	assert_string_equal(sa_fmt(&a, buf, sizeof(buf)), "[2001:db8::1]:99");
	assert_int_equal(sa_set_hostport(&a, "[2001:db8::1]", 3478), 0);
	assert_string_equal(sa_fmt(&a, buf, sizeof(buf)), "[2001:db8::1]:3478");
	assert_int_equal(sa_set_hostport(&a, "2001:db8::1", 7), 0);
	assert_string_equal(sa_fmt(&a, buf, sizeof(buf)), "[2001:db8::1]:7");
	const char *bad[] = {"192.0.2.1:0", "192.0.2.1:65536", "192.0.2.1:",
			     "192.0.2.1:x", "192.0.2.1:-1", "[::1", "[::1]x",
			     "[::1]:", "host.example:3478", "", ":3478",
			     "192.0.2.1: 5"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(sa_set_hostport(&a, bad[i], 3478), EINVAL);
	assert_int_equal(sa_set_hostport(&a, "192.0.2.1", 0), EINVAL);
}

static void test_log_json_escape(void **state)
{
	(void)state;
	char out[128];
	log_json_escape("a\"b\\c\n\t\x01\x7f", out, sizeof(out));
	assert_string_equal(out, "a\\\"b\\\\c\\u000a\\u0009\\u0001\\u007f");
	/* Valid UTF-8 passes; stray, overlong and surrogate bytes do not. */
	log_json_escape("caf\xc3\xa9 \xff \xc0\xaf \xed\xa0\x80 \xe2\x82", out, sizeof(out));
	assert_string_equal(out, "caf\xc3\xa9 \\ufffd \\ufffd\\ufffd "
				 "\\ufffd\\ufffd\\ufffd \\ufffd\\ufffd");
	/* A short buffer cuts between characters, never inside one. */
	log_json_escape("\"\"\"\"", out, 9);
	assert_string_equal(out, "\\\"\\\"");
}

/* The whole line through log_msg: an object with ts, level and msg. */
static void test_log_json_line(void **state)
{
	(void)state;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	log_setup(f, LOG_INFO);
	log_set_json(true);
	log_info("user \"%s\" from %s", "a\"b", "1.2.3.4:5");
	log_debug("not shown");
	log_set_json(false);
	log_warn("plain %d", 7);
	log_setup(stderr, LOG_INFO);
	fclose(f);
	const char *nl = strchr(buf, '\n');
	assert_non_null(nl);
	assert_int_equal(strncmp(buf, "{\"ts\":\"", 7), 0);
	const char *tail = "\",\"level\":\"info\",\"msg\":\"user \\\"a\\\"b\\\" from 1.2.3.4:5\"}";
	assert_int_equal(strncmp(nl - strlen(tail), tail, strlen(tail)), 0);
	assert_non_null(strstr(nl + 1, "Z warn plain 7\n"));
	assert_null(strstr(buf, "not shown"));
	free(buf);
}

static void test_sa_compare_hash(void **state)
{
	(void)state;
	struct sa a, b;
	sa_set_str(&a, "10.0.0.1", 1);
	sa_set_str(&b, "10.0.0.1", 2);
	assert_true(sa_eq_addr(&a, &b));
	assert_false(sa_eq(&a, &b));
	assert_int_not_equal(sa_hash(&a, 1), sa_hash(&b, 1));
	sa_set_port(&b, 1);
	assert_true(sa_eq(&a, &b));
	assert_int_equal(sa_hash(&a, 9), sa_hash(&b, 9));
	sa_set_str(&b, "::ffff:10.0.0.1", 1);
	assert_false(sa_eq_addr(&a, &b)); /* families differ */
	sa_set_str(&a, "0.0.0.0", 0);
	assert_true(sa_is_any(&a));
}

/* Syslog facility names: coturn's LOG_ spelling and the bare one, any
 * case; numbers are RFC 5424 6.2.1's code times 8. */
static void test_log_syslog_facility(void **state)
{
	(void)state;
	const struct {
		const char *name;
		int fac;
	} ok[] = {{"user", 1 << 3},      {"LOG_USER", 1 << 3}, {"daemon", 3 << 3},
		  {"Log_Daemon", 3 << 3}, {"auth", 4 << 3},     {"authpriv", 10 << 3},
		  {"local0", 16 << 3},   {"LOG_LOCAL0", 16 << 3}, {"LOCAL7", 23 << 3}};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		int fac = -1;
		assert_int_equal(log_syslog_facility(ok[i].name, &fac), 0);
		assert_int_equal(fac, ok[i].fac);
	}
	const char *bad[] = {"", "LOG_", "kern", "local8", "local", "user ", "LOG_LOG_USER"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int fac = -1;
		assert_int_equal(log_syslog_facility(bad[i], &fac), EINVAL);
		assert_int_equal(fac, -1);
	}
}

/* log_setup(NULL): lines go to no stream, not to stderr (--syslog
 * without a log-file, where --no-stdout-log promises silence there). */
static void test_log_no_stream(void **state)
{
	(void)state;
	FILE *tmp = tmpfile();
	assert_non_null(tmp);
	fflush(stderr);
	int saved = dup(2);
	assert_true(saved >= 0);
	assert_int_equal(dup2(fileno(tmp), 2), 2);
	log_setup(NULL, LOG_INFO);
	log_err("must not appear %d", 1);
	log_setup(stderr, LOG_INFO);
	fflush(stderr);
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);
	assert_int_equal(ftell(tmp), 0);
	assert_int_equal(fseek(tmp, 0, SEEK_END), 0);
	assert_int_equal(ftell(tmp), 0);
	fclose(tmp);
}

static void test_sa_source_key(void **state)
{
	(void)state;
	struct sa a, k, want;
	char buf[SA_STRLEN];
	assert_int_equal(sa_set_str(&a, "::ffff:198.51.100.4", 9), 0);
	sa_source_key(&k, &a);
	assert_int_equal(sa_set_str(&want, "198.51.100.4", 0), 0);
	assert_true(sa_eq(&k, &want));
	assert_int_equal(sa_set_str(&a, "2001:db8:aa:bb:1:2:3:4", 9), 0);
	sa_source_key(&k, &a);
	assert_string_equal(sa_fmt(&k, buf, sizeof(buf)), "[2001:db8:aa:bb::]:0");
	assert_int_equal(sa_set_str(&a, "203.0.113.9", 9), 0);
	sa_source_key(&k, &a);
	assert_string_equal(sa_fmt(&k, buf, sizeof(buf)), "203.0.113.9:0");
	/* sa_unmap: the IPv4 address behind ::ffff:, port kept; others as is. */
	assert_int_equal(sa_set_str(&a, "::ffff:198.51.100.4", 9), 0);
	sa_unmap(&k, &a);
	assert_string_equal(sa_fmt(&k, buf, sizeof(buf)), "198.51.100.4:9");
	assert_int_equal(sa_set_str(&a, "::1", 7), 0);
	sa_unmap(&k, &a);
	assert_true(sa_eq(&k, &a));
}

/* cidr_parse: an address or address/bits of either family, nothing
 * else; cidr_has: the first bits match, a prefix ending inside a byte
 * included, and an IPv4-mapped IPv6 address is its IPv4 address. */
static void test_cidr(void **state)
{
	(void)state;
	struct cidr n[4];
	const char *good[] = {"10.0.0.0/8", "192.0.2.7", "2001:db8::/32", "::1/128"};
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(cidr_parse(good[i], &n[i]), 0);
	assert_int_equal(n[0].bits, 8);
	assert_int_equal(n[1].bits, 32);
	assert_int_equal(n[3].bits, 128);
	struct cidr x;
	const char *bad[] = {"", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/-1",
			     "10.0.0.0/8x", "example.com", "/8", "10.0.0.0/ 8",
			     "10.0.0.0/+8", "10.0.0/8", "[::1]/128"};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cidr_parse(bad[i], &x), EINVAL);
	struct sa a;
	const char *in[] = {"10.1.2.3", "10.255.255.255", "192.0.2.7",
			    "::ffff:10.9.9.9", "2001:db8:ffff::1", "::1"};
	const char *out[] = {"11.0.0.0", "192.0.2.8", "2001:db9::1", "::2",
			     "::ffff:192.0.2.8", "9.255.255.255"};
	for (unsigned i = 0; i < 6; i++) {
		assert_int_equal(sa_set_str(&a, in[i], 0), 0);
		assert_true(cidr_list_has(n, 4, &a));
		assert_int_equal(sa_set_str(&a, out[i], 0), 0);
		assert_false(cidr_list_has(n, 4, &a));
	}
	assert_false(cidr_list_has(n, 0, &a));
	/* An IPv6 entry never holds an IPv4 source, mapped or not. */
	assert_int_equal(cidr_parse("::/0", &x), 0);
	assert_int_equal(sa_set_str(&a, "::ffff:10.0.0.1", 0), 0);
	assert_false(cidr_has(&x, &a));
	assert_int_equal(cidr_parse("0.0.0.0/0", &x), 0);
	assert_true(cidr_has(&x, &a));
	/* A prefix that ends inside a byte. */
	assert_int_equal(cidr_parse("192.0.2.64/26", &x), 0);
	assert_int_equal(sa_set_str(&a, "192.0.2.127", 0), 0);
	assert_true(cidr_has(&x, &a));
	assert_int_equal(sa_set_str(&a, "192.0.2.128", 0), 0);
	assert_false(cidr_has(&x, &a));
	assert_int_equal(sa_set_str(&a, "192.0.2.63", 0), 0);
	assert_false(cidr_has(&x, &a));
	assert_int_equal(cidr_parse("fc00::/7", &x), 0);
	assert_int_equal(sa_set_str(&a, "fdff::1", 0), 0);
	assert_true(cidr_has(&x, &a));
	assert_int_equal(sa_set_str(&a, "fe00::1", 0), 0);
	assert_false(cidr_has(&x, &a));
}

/* A timed wait on the monotonic clock returns after about its time. */
static void test_cond_wait_ms(void **state)
{
	(void)state;
	pthread_cond_t cv;
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	assert_int_equal(cond_init_mono(&cv), 0);
	struct timespec a, b;
	pthread_mutex_lock(&mu);
	clock_gettime(CLOCK_MONOTONIC, &a);
	cond_wait_ms(&cv, &mu, 1050); /* crosses a whole second */
	clock_gettime(CLOCK_MONOTONIC, &b);
	pthread_mutex_unlock(&mu);
	long long ms = (b.tv_sec - a.tv_sec) * 1000LL + (b.tv_nsec - a.tv_nsec) / 1000000;
	assert_true(ms >= 1040 && ms < 5000);
	pthread_cond_destroy(&cv);
}

static void test_bytes(void **state)
{
	(void)state;
	uint8_t b[5] = {0};
	put_be32(b + 1, 0x01020304u); /* unaligned on purpose */
	assert_int_equal(get_be32(b + 1), 0x01020304u);
	put_be16(b, 0xabcd);
	assert_int_equal(get_be16(b), 0xabcd);
	assert_int_equal(b[0], 0xab);
}

static void test_rand_differs(void **state)
{
	(void)state;
	uint8_t a[16], b[16];
	assert_int_equal(rand_bytes(a, sizeof(a)), 0);
	assert_int_equal(rand_bytes(b, sizeof(b)), 0);
	assert_memory_not_equal(a, b, sizeof(a));
}

/* What browsers take in RTCIceServer.urls, and the garbage the admin API
 * used to store for a custom server (new RTCPeerConnection() throws on
 * it, failing every call of the account). */
/* Counts per source: IPv6 by /64, IPv4 and IPv4-mapped by address; a
 * cap refuses the one over it; a put frees a place; 0 is no cap. */
static void test_srccount(void **state)
{
	(void)state;
	struct srccount *c;
	assert_int_equal(srccount_alloc(&c), 0);
	struct sa a, b, m, o;
	sa_set_str(&a, "2001:db8:1:2::1", 1);
	sa_set_str(&b, "2001:db8:1:2:ffff::9", 2); /* same /64 */
	sa_set_str(&o, "2001:db8:1:3::1", 1);      /* another /64 */
	sa_set_str(&m, "::ffff:192.0.2.7", 3);
	assert_true(srccount_take(c, &a, 2));
	assert_true(srccount_take(c, &b, 2));
	assert_false(srccount_take(c, &a, 2));
	assert_int_equal(srccount_get(c, &b), 2);
	assert_true(srccount_take(c, &o, 2));
	assert_int_equal(srccount_get(c, &o), 1);
	srccount_put(c, &a);
	assert_true(srccount_take(c, &b, 2));
	assert_true(srccount_take(c, &m, 1));
	sa_set_str(&m, "192.0.2.7", 4);
	assert_false(srccount_take(c, &m, 1)); /* the same IPv4 source */
	assert_true(srccount_take(c, &m, 0));  /* no cap: counted anyway */
	assert_int_equal(srccount_get(c, &m), 2);
	for (int i = 0; i < 2; i++)
		srccount_put(c, &m);
	srccount_put(c, &m); /* none held: left alone */
	assert_int_equal(srccount_get(c, &m), 0);
	srccount_free(c);
}

static void test_iceurl(void **state)
{
	(void)state;
	static const char *const good[] = {
		"stun:192.0.2.1", "stun:stun.example.com:19302",
		"turn:192.0.2.1:3478?transport=udp", "turn:turn-1.example.com",
		"turn:[2001:db8::7]:3478?transport=tcp", "turns:t.example.com:443?transport=tcp",
		"stuns:192.0.2.1", "turn:[::1]", "turn:a:65535",
	};
	static const char *const bad[] = {
		"turn:user:pass@192.0.2.1:3478", "turn:u@192.0.2.1", "turn:192.0.2.1:99999",
		"turn:192.0.2.1:0", "turn:192.0.2.1:", "turn:192.0.2.1:+80",
		"turn:192.0.2.1:003478", "turn:192.0.2.1?transport=sctp",
		"turn:192.0.2.1?transport=udp&x=1", "turn:192.0.2.1?", "turn:[::1",
		"turn:[zz]:3478", "turn:[fe80::1%25eth0]", "turn:::1", "turn:2001:db8::1",
		"turns:x.example:443?transport=udp", "turn:192.0.2.1:3478/path",
		"turn://192.0.2.1", "stun:192.0.2.1?transport=udp", "turn:%41",
		"turn:1.2.3.999", "turn:1.2.3", "turn:-x.example", "turn:x-.example",
		"turn:a..b", "turn:a.", "turn:.a", "turn:a_b", "TURN:192.0.2.1",
		"http://192.0.2.1", "turn:", "turn:#x", "turn:a b", "",
	};
	struct iceurl u;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (iceurl_parse(good[i], &u) != 0)
			fail_msg("refused %s", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (iceurl_parse(bad[i], &u) != EINVAL)
			fail_msg("accepted %s", bad[i]);
	assert_int_equal(iceurl_parse(NULL, &u), EINVAL);
	assert_int_equal(iceurl_parse("turn:[2001:db8::7]:3478?transport=tcp", &u), 0);
	assert_string_equal(u.host, "2001:db8::7");
	assert_int_equal(u.port, 3478);
	assert_int_equal(u.transport, ICEURL_TCP);
	assert_true(u.turn);
	assert_int_equal(iceurl_parse("turns:t.example.com", &u), 0);
	assert_int_equal(u.port, 5349);
	assert_int_equal(u.transport, ICEURL_TLS);
	assert_int_equal(iceurl_parse("stun:192.0.2.1", &u), 0);
	assert_false(u.turn);
	assert_int_equal(u.transport, ICEURL_UDP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sa_parse_format),
		cmocka_unit_test(test_sa_compare_hash),
		cmocka_unit_test(test_sa_hostport),
		cmocka_unit_test(test_log_json_escape),
		cmocka_unit_test(test_log_json_line),
		cmocka_unit_test(test_log_syslog_facility),
		cmocka_unit_test(test_log_no_stream),
		cmocka_unit_test(test_sa_source_key),
		cmocka_unit_test(test_cidr),
		cmocka_unit_test(test_cond_wait_ms),
		cmocka_unit_test(test_bytes),
		cmocka_unit_test(test_rand_differs),
		cmocka_unit_test(test_cpus_usable),
		cmocka_unit_test(test_iceurl),
		cmocka_unit_test(test_srccount),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
