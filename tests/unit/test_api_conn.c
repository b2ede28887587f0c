/* Unit tests for the API's connection deadlines (api_conn.c): which
 * connection the sweep shuts down when, with a fake clock and socket
 * pairs standing in for libmicrohttpd's connections. A shut connection's
 * peer reads end-of-file, as a slowloris client does. Also the count of
 * connections per source (api_srccap.c), an IPv6 client by its /64. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
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
	struct api_conn *c = api_conns_open(cs, p.ours, NULL, T0);
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
	struct api_conn *c = api_conns_open(cs, p.ours, NULL, T0);
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
	struct api_conn *c = api_conns_open(cs, p.ours, NULL, T0);
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
		c[i] = api_conns_open(cs, p[i].ours, NULL, T0);
	}
	api_conns_head_done(cs, c[1], T0 + 3 * S); /* a fresh body */
	assert_int_equal(api_conns_sweep(cs, T0 + 3 * S), 0); /* 5 < 6 */
	pair_open(&p[5]);
	c[5] = api_conns_open(cs, p[5].ours, NULL, T0 + 3 * S);
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
	api_conns_open(cs, p.ours, NULL, api_now_us());
	bool shut = false;
	for (int i = 0; i < 40 && !shut; i++) {
		usleep(50000);
		shut = pair_shut(&p);
	}
	assert_true(shut);
	api_conns_free(cs);
	pair_close(&p);
}

static struct sa src_ip(const char *ip)
{
	struct sa s;
	assert_int_equal(sa_set_str(&s, ip, 40000), 0);
	return s;
}

/* Every address of one /64 is one source: rotating the low 64 bits buys
 * no more connections. An IPv4 address counts alone, and its
 * IPv4-mapped form is the same source. */
static void test_srccap_by_64(void **state)
{
	(void)state;
	struct api_srccap *c;
	assert_int_equal(api_srccap_alloc(&c, 3), 0);
	static const char *const same[] = {"2001:db8:1:2::1", "2001:db8:1:2::2",
					   "2001:db8:1:2:ffff:ffff:ffff:ffff"};
	for (int i = 0; i < 3; i++) {
		struct sa s = src_ip(same[i]);
		assert_false(api_srccap_full(c, &s));
		assert_true(api_srccap_take(c, &s));
	}
	struct sa more = src_ip("2001:db8:1:2:abcd::9");
	assert_true(api_srccap_full(c, &more));
	assert_false(api_srccap_take(c, &more));
	assert_int_equal(api_srccap_count(c, &more), 3);
	struct sa other = src_ip("2001:db8:1:3::1"); /* the next /64 */
	assert_false(api_srccap_full(c, &other));
	assert_true(api_srccap_take(c, &other));
	assert_int_equal(api_srccap_count(c, &other), 1);

	struct sa v4 = src_ip("192.0.2.1"), v4b = src_ip("192.0.2.2");
	struct sa mapped = src_ip("::ffff:192.0.2.1");
	for (int i = 0; i < 2; i++)
		assert_true(api_srccap_take(c, &v4));
	assert_true(api_srccap_take(c, &mapped));
	assert_false(api_srccap_take(c, &v4));
	assert_true(api_srccap_take(c, &v4b));

	/* A close frees a place for the whole /64. */
	struct sa first = src_ip(same[0]);
	api_srccap_put(c, &first);
	assert_false(api_srccap_full(c, &more));
	assert_true(api_srccap_take(c, &more));
	api_srccap_put(c, &more);
	for (int i = 1; i < 3; i++) {
		struct sa s = src_ip(same[i]);
		api_srccap_put(c, &s);
	}
	assert_int_equal(api_srccap_count(c, &more), 0);
	api_srccap_put(c, &more); /* not counted: no underflow */
	assert_int_equal(api_srccap_count(c, &more), 0);
	api_srccap_free(c); /* other, v4 and v4b still counted: freed too */

	assert_int_equal(api_srccap_alloc(&c, 0), 0); /* 0: no cap */
	for (int i = 0; i < 1000; i++)
		assert_true(api_srccap_take(c, &v4));
	assert_false(api_srccap_full(c, &v4));
	api_srccap_free(c);
}

static void test_src_from(void **state)
{
	(void)state;
	struct sa in = src_ip("2001:db8::7"), out;
	assert_int_equal(api_src_from(&out, &in.u.sa, in.len), 0);
	assert_true(sa_eq(&out, &in));
	in = src_ip("192.0.2.7");
	assert_int_equal(api_src_from(&out, &in.u.sa, in.len), 0);
	assert_true(sa_eq(&out, &in));
	assert_int_equal(api_src_from(&out, &in.u.sa, in.len - 1), EINVAL);
	assert_int_equal(api_src_from(&out, NULL, 0), EINVAL);
	struct sockaddr un = {.sa_family = AF_UNIX};
	assert_int_equal(api_src_from(&out, &un, sizeof(un)), EINVAL);
}

/* api_conns counts each connection against its source until it closes;
 * one over per_src is refused (NULL), and a connection without a source
 * is not counted. */
static void test_conns_per_source(void **state)
{
	(void)state;
	struct api_conns_cfg two = cfg;
	two.per_src = 2;
	struct api_conns *cs;
	assert_int_equal(api_conns_alloc(&cs, &two), 0);
	struct sa a = src_ip("2001:db8:5:6::1"), b = src_ip("2001:db8:5:6::2");
	struct pair p[4];
	for (int i = 0; i < 4; i++)
		pair_open(&p[i]);
	struct api_conn *c0 = api_conns_open(cs, p[0].ours, &a, T0);
	struct api_conn *c1 = api_conns_open(cs, p[1].ours, &b, T0);
	assert_non_null(c0);
	assert_non_null(c1);
	assert_true(api_conns_src_full(cs, &a));
	assert_null(api_conns_open(cs, p[2].ours, &b, T0));
	struct api_conn *c3 = api_conns_open(cs, p[3].ours, NULL, T0);
	assert_non_null(c3);
	api_conns_close(cs, c0);
	assert_false(api_conns_src_full(cs, &b));
	struct api_conn *c2 = api_conns_open(cs, p[2].ours, &b, T0);
	assert_non_null(c2);
	assert_true(api_conns_src_full(cs, &a));
	api_conns_close(cs, c1);
	api_conns_close(cs, c2);
	api_conns_close(cs, c3);
	assert_false(api_conns_src_full(cs, &a));
	api_conns_free(cs);
	for (int i = 0; i < 4; i++)
		pair_close(&p[i]);
}

/* libmicrohttpd's threads take and put at once: the count stays exact
 * and never lets more than max in. */
#define RACE_MAX 3
#define RACE_THREADS 4
#define RACE_ROUNDS 20000

struct race {
	struct api_srccap *c;
	atomic_int in, worst;
	struct sa src;
};

static void *race_run(void *arg)
{
	struct race *r = arg;
	for (int i = 0; i < RACE_ROUNDS; i++) {
		if (!api_srccap_take(r->c, &r->src))
			continue;
		int n = atomic_fetch_add(&r->in, 1) + 1;
		int w = atomic_load(&r->worst);
		while (n > w && !atomic_compare_exchange_weak(&r->worst, &w, n))
			;
		atomic_fetch_sub(&r->in, 1);
		api_srccap_put(r->c, &r->src);
	}
	return NULL;
}

static void test_srccap_threads(void **state)
{
	(void)state;
	struct race r = {.src = src_ip("2001:db8:9::1")};
	assert_int_equal(api_srccap_alloc(&r.c, RACE_MAX), 0);
	pthread_t t[RACE_THREADS];
	for (int i = 0; i < RACE_THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, race_run, &r), 0);
	for (int i = 0; i < RACE_THREADS; i++)
		pthread_join(t[i], NULL);
	assert_true(atomic_load(&r.worst) <= RACE_MAX);
	assert_true(atomic_load(&r.worst) >= 1);
	assert_int_equal(api_srccap_count(r.c, &r.src), 0);
	api_srccap_free(r.c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_head_deadline),
		cmocka_unit_test(test_body_deadline),
		cmocka_unit_test(test_keepalive),
		cmocka_unit_test(test_pressure),
		cmocka_unit_test(test_sweeper_thread),
		cmocka_unit_test(test_srccap_by_64),
		cmocka_unit_test(test_src_from),
		cmocka_unit_test(test_conns_per_source),
		cmocka_unit_test(test_srccap_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
