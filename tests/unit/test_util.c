/* util: socket addresses, byte helpers, randomness. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "util/bytes.h"
#include "util/rand.h"
#include "util/sa.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sa_parse_format),
		cmocka_unit_test(test_sa_compare_hash),
		cmocka_unit_test(test_bytes),
		cmocka_unit_test(test_rand_differs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
