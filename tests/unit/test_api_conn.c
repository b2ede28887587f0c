/* Unit tests for the API's connection deadlines (api_conn.c): which
 * connection the sweep shuts down when, with a fake clock and socket
 * pairs standing in for libmicrohttpd's connections. A shut connection's
 * peer reads end-of-file, as a slowloris client does. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "api/api_int.h"

#define S 1000000ull
#define T0 (1000 * S)

static const struct api_conns_cfg cfg = {
	.head_us = 10 * S, .body_us = 30 * S, .idle_us = 10 * S,
	.grace_us = 2 * S, .limit = 8,
};

struct pair {
	int ours, peer;
};

static void pair_open(struct pair *p)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	p->ours = sv[0];
	p->peer = sv[1];
	assert_int_equal(fcntl(p->peer, F_SETFL, O_NONBLOCK), 0);
}

static void pair_close(struct pair *p)
{
	close(p->ours);
	close(p->peer);
}

/* true once the server side was shut down (the peer reads EOF). */
static bool pair_shut(const struct pair *p)
{
	char b;
	return read(p->peer, &b, 1) == 0;
}

/* A head that never completes goes head_us after the accept, however
 * the clock advanced before: once only. */
static void test_head_deadline(void **state)
{
	(void)state;
	struct api_conns *cs;
	struct pair p;
	assert_int_equal(api_conns_alloc(&cs, &cfg), 0);
	pair_open(&p);
	struct api_conn *c = api_conns_open(cs, p.ours, T0);
	assert_non_null(c);
	api_conns_request_line(cs, c, T0 + 9 * S); /* does not restart it */
	assert_int_equal(api_conns_sweep(cs, T0 + 10 * S - 1), 0);
	assert_false(pair_shut(&p));
	assert_int_equal(api_conns_sweep(cs, T0 + 10 * S), 1);
	assert_true(pair_shut(&p));
	assert_int_equal(api_conns_sweep(cs, T0 + 20 * S), 0);
	unsigned long head, body;
	api_conns_stats(cs, &head, &body);
	assert_int_equal(head, 1);
	assert_int_equal(body, 0);
	api_conns_close(cs, c);
	api_conns_free(cs);
	pair_close(&p);
}

/* Once the head is in, the body (and answer) has body_us from then. */
static void test_body_deadline(void **state)
{
	(void)state;
	struct api_conns *cs;
	struct pair p;
	assert_int_equal(api_conns_alloc(&cs, &cfg), 0);
	pair_open(&p);
	struct api_conn *c = api_conns_open(cs, p.ours, T0);
	api_conns_head_done(cs, c, T0 + 5 * S);
	assert_int_equal(api_conns_sweep(cs, T0 + 34 * S), 0);
	assert_int_equal(api_conns_sweep(cs, T0 + 35 * S), 1);
	assert_true(pair_shut(&p));
	unsigned long head, body;
	api_conns_stats(cs, &head, &body);
	assert_int_equal(head, 0);
	assert_int_equal(body, 1);
	api_conns_close(cs, c);
	api_conns_free(cs);
	pair_close(&p);
}

/* Kept alive: idle time does not count against the next head beyond
 * idle_us, and from its request line that head has head_us again. */
static void test_keepalive(void **state)
{
	(void)state;
	struct api_conns *cs;
	struct pair p;
	assert_int_equal(api_conns_alloc(&cs, &cfg), 0);
	pair_open(&p);
	struct api_conn *c = api_conns_open(cs, p.ours, T0);
	api_conns_head_done(cs, c, T0);
	api_conns_request_done(cs, c, T0 + 1 * S);
	/* idle 9 s, then a second request line: head until 9 + 1 + 10 */
	api_conns_request_line(cs, c, T0 + 10 * S);
	assert_int_equal(api_conns_sweep(cs, T0 + 19 * S), 0);
	api_conns_head_done(cs, c, T0 + 19 * S);
	api_conns_request_done(cs, c, T0 + 19 * S);
	/* a request line never completed: idle_us + head_us after */
	assert_int_equal(api_conns_sweep(cs, T0 + 38 * S), 0);
	assert_int_equal(api_conns_sweep(cs, T0 + 39 * S), 1);
	assert_true(pair_shut(&p));
	api_conns_close(cs, c);
	api_conns_free(cs);
	pair_close(&p);
}

/* At three quarters of the limit, any phase older than grace_us goes;
 * younger ones and, below the mark, everything else stays. */
static void test_pressure(void **state)
{
	(void)state;
	struct api_conns *cs;
	struct pair p[6];
	struct api_conn *c[6];
	assert_int_equal(api_conns_alloc(&cs, &cfg), 0);
	for (int i = 0; i < 5; i++) {
		pair_open(&p[i]);
		c[i] = api_conns_open(cs, p[i].ours, T0);
	}
	api_conns_head_done(cs, c[1], T0 + 3 * S); /* a fresh body */
	assert_int_equal(api_conns_sweep(cs, T0 + 3 * S), 0); /* 5 < 6 */
	pair_open(&p[5]);
	c[5] = api_conns_open(cs, p[5].ours, T0 + 3 * S);
	assert_int_equal(api_conns_sweep(cs, T0 + 3 * S), 4);
	for (int i = 0; i < 6; i++)
		assert_int_equal(pair_shut(&p[i]), i != 1 && i != 5);
	for (int i = 0; i < 6; i++) {
		api_conns_close(cs, c[i]);
		pair_close(&p[i]);
	}
	api_conns_free(cs);
}

/* The sweeper thread does the same on the real clock; entries left at
 * the end are freed (LeakSanitizer checks). */
static void test_sweeper_thread(void **state)
{
	(void)state;
	struct api_conns *cs;
	struct pair p;
	struct api_conns_cfg quick = cfg;
	quick.head_us = 300000;
	assert_int_equal(api_conns_alloc(&cs, &quick), 0);
	assert_int_equal(api_conns_start(cs), 0);
	pair_open(&p);
	api_conns_open(cs, p.ours, api_now_us());
	bool shut = false;
	for (int i = 0; i < 40 && !shut; i++) {
		usleep(50000);
		shut = pair_shut(&p);
	}
	assert_true(shut);
	api_conns_free(cs);
	pair_close(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_head_deadline),
		cmocka_unit_test(test_body_deadline),
		cmocka_unit_test(test_keepalive),
		cmocka_unit_test(test_pressure),
		cmocka_unit_test(test_sweeper_thread),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
