/* server/revsync: the revoked list GET /v1/revoked answers, turned into
 * the set the TURN workers get, and what is refused. */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
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

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Stopping (the daemon's shutdown) does not wait out a poll in flight
 * to an API that accepted the connection and says nothing: the poll's
 * deadline is 5 s. */
static void test_stop_during_poll(void **state)
{
	(void)state;
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(lfd, 4), 0); /* the kernel accepts; no answer */
	getsockname(lfd, (struct sockaddr *)&a, &al);
	static struct config c;
	config_defaults(&c);
	snprintf(c.revoked_from, sizeof(c.revoked_from),
		 "http://127.0.0.1:%u/v1/revoked", ntohs(a.sin_port));
	snprintf(c.secrets[0], sizeof(c.secrets[0]), "s3cret");
	c.nsecrets = 1;
	struct server_revsync *r = NULL;
	struct net_worker *none[1] = {NULL};
	static struct server_rvstat st;
	assert_int_equal(server_revsync_start(&r, &c, none, 0, &st), 0);
	usleep(300 * 1000); /* the first poll is waiting for its answer */
	double t0 = now_s();
	server_revsync_stop(r);
	double took = now_s() - t0;
	close(lfd);
	if (took > 1.0)
		fail_msg("stopping took %.1f s", took);
	/* Cut short by the stop: not a failed poll, not a good one. */
	assert_int_equal(atomic_load(&st.poll_failures), 0);
	assert_int_equal(atomic_load(&st.last_ok), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_stop_during_poll),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
