/* Unit tests for the health checker's parts: the up/down thresholds,
 * matching answers to probes by transaction id and source, TCP answer
 * reassembly, a round's timing bookkeeping, and the name cache that
 * keeps lookups off the probe path (with a fake resolver, so no DNS
 * traffic). Socket-level rounds are in test_api_health_io.c. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "api/api_health.h"
#include "health_fake_dns.h"

/* ----- thresholds ----- */

static void test_record_thresholds(void **state)
{
	(void)state;
	struct htarget t = {.healthy = true};
	htarget_record(&t, false, 5, 3, 100);
	htarget_record(&t, false, 5, 3, 101);
	assert_true(t.healthy); /* 2 of 3 */
	assert_true(t.checked);
	assert_int_equal(t.fails, 2);
	assert_true(t.rtt_ms == 0);
	htarget_record(&t, false, 5, 3, 102);
	assert_false(t.healthy);
	assert_int_equal(t.last_check, 102);
	htarget_record(&t, true, 12.5, 3, 103);
	assert_true(t.healthy); /* one success brings it back */
	assert_int_equal(t.fails, 0);
	assert_true(t.rtt_ms == 12.5);
}

/* ----- matching ----- */

static const char urls4[][STORE_URL_MAX] = {
	"stun:127.0.0.1:4001", "turn:127.0.0.1:4002?transport=udp",
	"turn:127.0.0.1:4002?transport=tcp", "turns:127.0.0.1:5349?transport=tcp",
	"turn:name.test:4003", "not a url",
};
#define NURLS4 (sizeof(urls4) / sizeof(urls4[0]))

static size_t answer(const struct hprobe *p, uint8_t cls, uint8_t *buf,
		     size_t cap)
{
	struct stun_enc e;
	size_t len = 0;
	stun_enc_init(&e, buf, cap, STUN_BINDING, cls, p->tid);
	if (cls == STUN_CLASS_ERROR)
		stun_enc_error(&e, 401, NULL);
	else
		stun_enc_xaddr(&e, STUN_ATTR_XOR_MAPPED_ADDRESS, &p->addr);
	assert_int_equal(stun_enc_finish(&e, &len), 0);
	return len;
}

static void round4(struct hround *r)
{
	assert_int_equal(hround_init(r, urls4, NURLS4, 2000, 1000, 0), 0);
	assert_int_equal(r->n, NURLS4);
	assert_int_equal(r->left, NURLS4 - 1);
}

static void test_round_init(void **state)
{
	(void)state;
	struct hround r;
	round4(&r);
	assert_int_equal(r.p[0].st, HP_START); /* IP literal: no lookup */
	assert_int_equal(r.p[0].t, API_T_UDP);
	assert_int_equal(sa_port(&r.p[1].addr), 4002);
	assert_int_equal(r.p[2].t, API_T_TCP);
	assert_int_equal(r.p[3].t, API_T_TLS);
	assert_int_equal(r.p[4].st, HP_DNS);
	assert_string_equal(r.p[4].host, "name.test");
	assert_int_equal(r.p[5].st, HP_DONE);
	assert_false(r.p[5].ok);
	assert_memory_not_equal(r.p[0].tid, r.p[1].tid, STUN_TID_LEN);
	hround_free(&r);
}

static void test_match_by_tid_and_source(void **state)
{
	(void)state;
	struct hround r;
	uint8_t buf[256];
	round4(&r);
	for (size_t i = 0; i < 3; i++)
		r.p[i].st = i < 2 ? HP_WAIT : HP_READ;
	size_t len = answer(&r.p[1], STUN_CLASS_SUCCESS, buf, sizeof(buf));
	assert_int_equal(hround_match(&r, buf, len, &r.p[1].addr), 1);
	/* The same answer from another port or address does not count. */
	struct sa other = r.p[1].addr;
	sa_set_port(&other, 4009);
	assert_int_equal(hround_match(&r, buf, len, &other), -1);
	assert_int_equal(sa_set_str(&other, "127.0.0.2", 4002), 0);
	assert_int_equal(hround_match(&r, buf, len, &other), -1);
	/* Probe 0's answer coming from probe 1's server is not probe 1's. */
	len = answer(&r.p[0], STUN_CLASS_SUCCESS, buf, sizeof(buf));
	assert_int_equal(hround_match(&r, buf, len, &r.p[1].addr), -1);
	assert_int_equal(hround_match(&r, buf, len, &r.p[0].addr), 0);
	/* A 401 is alive; a request or a truncated answer is not an answer. */
	len = answer(&r.p[0], STUN_CLASS_ERROR, buf, sizeof(buf));
	assert_int_equal(hround_match(&r, buf, len, &r.p[0].addr), 0);
	len = answer(&r.p[0], STUN_CLASS_REQUEST, buf, sizeof(buf));
	assert_int_equal(hround_match(&r, buf, len, &r.p[0].addr), -1);
	len = answer(&r.p[0], STUN_CLASS_SUCCESS, buf, sizeof(buf));
	assert_int_equal(hround_match(&r, buf, len - 4, &r.p[0].addr), -1);
	/* An id nobody sent, or a TCP probe's id over UDP. */
	struct hprobe fake = r.p[0];
	memset(fake.tid, 0xA5, STUN_TID_LEN);
	len = answer(&fake, STUN_CLASS_SUCCESS, buf, sizeof(buf));
	assert_int_equal(hround_match(&r, buf, len, &r.p[0].addr), -1);
	len = answer(&r.p[2], STUN_CLASS_SUCCESS, buf, sizeof(buf));
	assert_int_equal(hround_match(&r, buf, len, &r.p[2].addr), -1);
	/* A probe that is done takes no second answer. */
	len = answer(&r.p[1], STUN_CLASS_SUCCESS, buf, sizeof(buf));
	hround_done(&r, 1, true, 0);
	assert_int_equal(hround_match(&r, buf, len, &r.p[1].addr), -1);
	hround_free(&r);
}

/* 200 probes: every answer finds its own probe through the sorted ids. */
static void test_match_many(void **state)
{
	(void)state;
	enum { N = 200 };
	static char urls[N][STORE_URL_MAX];
	struct hround r;
	uint8_t buf[256];
	for (int i = 0; i < N; i++)
		snprintf(urls[i], sizeof(urls[i]), "stun:127.0.0.1:%d", 10000 + i);
	assert_int_equal(hround_init(&r, (const char (*)[STORE_URL_MAX])urls, N,
				     2000, 1000, 0), 0);
	for (int i = 0; i < N; i++)
		r.p[i].st = HP_WAIT;
	for (int i = N - 1; i >= 0; i--) {
		size_t len = answer(&r.p[i], STUN_CLASS_SUCCESS, buf, sizeof(buf));
		assert_int_equal(hround_match(&r, buf, len, &r.p[i].addr), i);
	}
	hround_free(&r);
}

/* ----- TCP answers ----- */

static void test_stream_check(void **state)
{
	(void)state;
	struct hround r;
	uint8_t buf[256];
	round4(&r);
	struct hprobe *p = &r.p[2];
	size_t len = answer(p, STUN_CLASS_SUCCESS, buf, sizeof(buf));
	assert_true(len > STUN_HDR_LEN);
	memcpy(p->rbuf, buf, len);
	p->got = 10;
	assert_int_equal(hround_stream_check(p), 0); /* header not whole */
	p->got = len - 1;
	assert_int_equal(hround_stream_check(p), 0); /* body not whole */
	p->got = len;
	assert_int_equal(hround_stream_check(p), 1);
	p->rbuf[8] ^= 1; /* another transaction */
	assert_int_equal(hround_stream_check(p), -1);
	memcpy(p->rbuf, "HTTP/1.1 400 Bad Request\r\n", 26);
	p->got = 26;
	assert_int_equal(hround_stream_check(p), -1); /* not STUN: give up */
	memcpy(p->rbuf, buf, len);
	p->rbuf[2] = 0x10; /* 4 KB body: more than we keep */
	assert_int_equal(hround_stream_check(p), -1);
	hround_free(&r);
}

/* ----- timing ----- */

static void test_round_timing(void **state)
{
	(void)state;
	struct hround r;
	round4(&r);
	/* Nothing sent: the probes to start make it tick. */
	assert_int_equal(hround_wait_ms(&r, 0, 20), 20);
	for (size_t i = 0; i < 4; i++)
		r.p[i].st = HP_CONNECT;
	r.p[4].st = HP_DONE;
	r.left = 4;
	r.p[0].st = HP_WAIT;
	r.p[0].sends = 1;
	r.p[0].t0_us = 0;
	r.p[0].next_us = 1000000;
	assert_int_equal(hround_wait_ms(&r, 250000, 20), 750); /* the RTO */
	assert_false(hround_rtx_due(&r, 0, 999999));
	assert_true(hround_rtx_due(&r, 0, 1000000));
	r.p[0].sends = 2; /* one retransmission only */
	assert_false(hround_rtx_due(&r, 0, 1500000));
	assert_int_equal(hround_wait_ms(&r, 1500000, 20), 500); /* deadline */
	hround_done(&r, 0, true, 1500);
	assert_true(r.p[0].rtt_ms == 1.5);
	assert_false(hround_expire(&r, 1999999));
	assert_int_equal(r.left, 3);
	assert_true(hround_expire(&r, 2000000)); /* all done at the deadline */
	assert_int_equal(r.left, 0);
	assert_true(r.p[0].ok);
	assert_false(r.p[1].ok);
	assert_int_equal(hround_wait_ms(&r, 2500000, 20), 0);
	hround_free(&r);
}

/* ----- names ----- */

/* Harvest until at most `left` lookups run (bounded: 5 s). A lookup
 * thread publishes its result a moment after the resolver returns. */
static void harvest_until(struct hdns *d, unsigned left)
{
	for (int i = 0; i < 5000; i++) {
		hdns_harvest(d);
		if (hdns_inflight(d) <= left)
			return;
		usleep(1000);
	}
	fail_msg("%u lookups still running", hdns_inflight(d));
}

static void test_dns_off_the_probe_path(void **state)
{
	(void)state;
	struct hdns *d;
	struct sa a;
	fake_dns_reset();
	assert_int_equal(hdns_new(&d, fake_resolve), 0);
	hdns_want(d, "good.test");
	hdns_want(d, "bad.test");
	hdns_want(d, "slow.test");
	hdns_want(d, "good.test"); /* once per round */
	assert_int_equal(hdns_inflight(d), 3);
	assert_true(fake_dns_wait_calls(3));
	harvest_until(d, 1);
	assert_int_equal(hdns_get(d, "good.test", &a), HDNS_READY);
	assert_int_equal(sa_port(&a), 0);
	assert_true(sa_eq_addr(&a, &fake_good_addr));
	assert_int_equal(hdns_get(d, "bad.test", &a), HDNS_FAILED);
	assert_int_equal(hdns_get(d, "slow.test", &a), HDNS_PENDING);
	assert_int_equal(hdns_get(d, "never.test", &a), HDNS_FAILED);
	/* A round with a hung name ends at its deadline: that probe fails,
	 * the others were never held up. */
	static const char urls[][STORE_URL_MAX] = {"turn:good.test:3478",
		"turn:bad.test:3478", "turn:slow.test:3478"};
	struct hround r;
	assert_int_equal(hround_init(&r, urls, 3, 2000, 1000, 0), 0);
	hround_resolve(&r, d);
	assert_int_equal(r.p[0].st, HP_START);
	assert_int_equal(sa_port(&r.p[0].addr), 3478);
	assert_int_equal(r.p[1].st, HP_DONE);
	assert_int_equal(r.p[2].st, HP_DNS);
	assert_true(hround_expire(&r, 2000000));
	assert_false(r.p[2].ok);
	hround_free(&r);
	/* The next round: good.test is looked up again, and while that
	 * lookup hangs the last address serves; slow.test's lookup still
	 * runs, so it gets no second one. */
	hdns_sweep(d);
	fake_dns_hang_all(true);
	unsigned calls = fake_dns_calls();
	hdns_want(d, "good.test");
	hdns_want(d, "slow.test");
	assert_true(fake_dns_wait_calls(calls + 1));
	usleep(20000);
	assert_int_equal(fake_dns_calls(), calls + 1);
	hdns_harvest(d);
	assert_int_equal(hdns_get(d, "good.test", &a), HDNS_READY);
	assert_true(sa_eq_addr(&a, &fake_good_addr));
	/* bad.test was not asked for: swept. Stop with two lookups hung. */
	hdns_sweep(d);
	assert_int_equal(hdns_get(d, "bad.test", &a), HDNS_FAILED);
	assert_int_equal(hdns_inflight(d), 2);
	hdns_free(d);
	fake_dns_release(); /* the threads finish and free their jobs alone */
	assert_true(fake_dns_wait_idle());
}

/* A failed name recovers: while its next lookup runs it is pending (the
 * round waits for it, within the deadline), not failed at once. */
static void test_dns_retry_after_failure(void **state)
{
	(void)state;
	struct hdns *d;
	struct sa a;
	fake_dns_reset();
	assert_int_equal(hdns_new(&d, fake_resolve), 0);
	hdns_want(d, "flaky.test"); /* the first lookup fails */
	harvest_until(d, 0);
	assert_int_equal(hdns_get(d, "flaky.test", &a), HDNS_FAILED);
	hdns_sweep(d);
	fake_dns_hang_all(true);
	hdns_want(d, "flaky.test");
	assert_true(fake_dns_wait_calls(2));
	hdns_harvest(d);
	assert_int_equal(hdns_get(d, "flaky.test", &a), HDNS_PENDING);
	fake_dns_release();
	harvest_until(d, 0);
	assert_int_equal(hdns_get(d, "flaky.test", &a), HDNS_READY);
	hdns_free(d);
}

/* More names than lookups may run at once: the rest queue. */
static void test_dns_queue(void **state)
{
	(void)state;
	struct hdns *d;
	struct sa a;
	char name[32];
	fake_dns_reset();
	fake_dns_hang_all(true);
	assert_int_equal(hdns_new(&d, fake_resolve), 0);
	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "n%d.test", i);
		hdns_want(d, name);
	}
	assert_int_equal(hdns_inflight(d), 32);
	assert_true(fake_dns_wait_calls(32));
	assert_int_equal(hdns_get(d, "n39.test", &a), HDNS_PENDING);
	fake_dns_release();
	harvest_until(d, 0); /* also starts the queued 8 */
	assert_int_equal(fake_dns_calls(), 40);
	assert_int_equal(hdns_get(d, "n39.test", &a), HDNS_READY);
	hdns_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_thresholds),
		cmocka_unit_test(test_round_init),
		cmocka_unit_test(test_match_by_tid_and_source),
		cmocka_unit_test(test_match_many),
		cmocka_unit_test(test_stream_check),
		cmocka_unit_test(test_round_timing),
		cmocka_unit_test(test_dns_off_the_probe_path),
		cmocka_unit_test(test_dns_retry_after_failure),
		cmocka_unit_test(test_dns_queue),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
