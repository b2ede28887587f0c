/* server/revsync: the revoked list GET /v1/revoked answers, turned into
 * the set the TURN workers get, and what is refused. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "server/revsync.h"

static int parse(const char *j, struct turn_revoked **r)
{
	size_t nu, na;
	return server_revsync_parse(j, strlen(j), r, &nu, &na);
}

static void test_parse(void **state)
{
	(void)state;
	struct turn_revoked *r = NULL;
	size_t nu = 9, na = 9;
	const char *j = "{\"users\":[\"acme:alice\",\"zeta:bob\"],"
			"\"accounts\":[\"beta\"]}";
	assert_int_equal(server_revsync_parse(j, strlen(j), &r, &nu, &na), 0);
	assert_int_equal(nu, 2);
	assert_int_equal(na, 1);
	assert_true(turn_revoked_has(r, "acme:alice", 10));
	assert_true(turn_revoked_has(r, "zeta:bob", 8));
	assert_true(turn_revoked_has(r, "beta:anyone", 11));
	assert_false(turn_revoked_has(r, "acme:bob", 8));
	turn_revoked_put(r);
	assert_int_equal(parse("{\"users\":[],\"accounts\":[]}", &r), 0);
	assert_false(turn_revoked_has(r, "acme:alice", 10));
	turn_revoked_put(r);
	const char *bad[] = {
		"", "[]", "{\"users\":[]}", "{\"accounts\":[]}",
		"{\"users\":{},\"accounts\":[]}", "{\"users\":[1],\"accounts\":[]}",
		"{\"users\":[\"\"],\"accounts\":[]}",
		"{\"users\":[],\"accounts\":[null]}",
		"{\"users\":[],\"users\":[],\"accounts\":[]}",
		"{\"users\":[],\"accounts\":[]", "<html>",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = NULL;
		if (parse(bad[i], &r) != EBADMSG)
			fail_msg("accepted '%s'", bad[i]);
		assert_null(r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
