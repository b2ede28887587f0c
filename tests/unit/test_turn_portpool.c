/* turn/portpool: relay ports in random order, never handed out twice,
 * free + used always the range size. A seeded PRNG is injected so every
 * run exercises the same sequence. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "turn/portpool.h"

/* xorshift32: deterministic and good enough to drive the pool. */
static uint32_t xs_next(void *arg)
{
	uint32_t *s = arg;
	uint32_t x = *s;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*s = x;
	return x;
}

static uint32_t const_rand(void *arg)
{
	return *(const uint32_t *)arg;
}

static struct portpool *pool_new(uint16_t min, uint16_t max,
				 portpool_rand_h *rnd, void *arg)
{
	struct portpool *p = NULL;
	assert_int_equal(portpool_alloc(&p, min, max, rnd, arg), 0);
	assert_non_null(p);
	assert_int_equal(portpool_size(p), (unsigned)(max - min) + 1);
	assert_int_equal(portpool_nfree(p), portpool_size(p));
	assert_int_equal(portpool_nused(p), 0);
	return p;
}

static void assert_counts(const struct portpool *p, unsigned used)
{
	assert_int_equal(portpool_nused(p), used);
	assert_int_equal(portpool_nfree(p) + portpool_nused(p), portpool_size(p));
}

static void test_alloc_args(void **state)
{
	(void)state;
	struct portpool *p = NULL;
	uint32_t s = 1;
	assert_int_equal(portpool_alloc(&p, 5001, 5000, xs_next, &s), EINVAL);
	assert_int_equal(portpool_alloc(&p, 0, 10, xs_next, &s), EINVAL);
	assert_null(p);
	/* No generator given: the kernel CSPRNG is used. */
	p = pool_new(40000, 40009, NULL, NULL);
	uint16_t port;
	for (unsigned i = 0; i < 10; i++)
		assert_int_equal(portpool_get(p, &port), 0);
	assert_int_equal(portpool_get(p, &port), ENOSPC);
	portpool_free(p);
	portpool_free(NULL);
}

/* Random interleaving of every operation against a simple model. */
#define CYC_MIN 50000
#define CYC_N 16

struct model {
	struct portpool *p;
	bool used[CYC_N];
	unsigned nused;
	uint32_t ops; /* a second stream chooses the operations */
};

static void model_get(struct model *m)
{
	uint16_t port = 0;
	int err = portpool_get(m->p, &port);
	if (m->nused == CYC_N) {
		assert_int_equal(err, ENOSPC);
		return;
	}
	assert_int_equal(err, 0);
	assert_in_range(port, CYC_MIN, CYC_MIN + CYC_N - 1);
	assert_false(m->used[port - CYC_MIN]); /* never handed out twice */
	m->used[port - CYC_MIN] = true;
	m->nused++;
}

static void model_get_even(struct model *m, bool reserve)
{
	bool possible = false;
	for (unsigned i = 0; i < CYC_N; i += 2) /* CYC_MIN is even */
		if (!m->used[i] && (!reserve || !m->used[i + 1]))
			possible = true;
	uint16_t port = 0;
	int err = portpool_get_even(m->p, reserve, &port);
	if (!possible) {
		assert_int_equal(err, ENOSPC);
		return;
	}
	assert_int_equal(err, 0);
	assert_int_equal(port % 2, 0);
	unsigned off = (unsigned)(port - CYC_MIN);
	assert_in_range(off, 0, CYC_N - 2);
	assert_false(m->used[off]);
	m->used[off] = true;
	m->nused++;
	if (reserve) {
		assert_false(m->used[off + 1]);
		m->used[off + 1] = true;
		m->nused++;
	}
}

static void model_put(struct model *m, unsigned off)
{
	int err = portpool_put(m->p, (uint16_t)(CYC_MIN + off));
	if (!m->used[off]) {
		assert_int_equal(err, EINVAL); /* a double put changes nothing */
		return;
	}
	assert_int_equal(err, 0);
	m->used[off] = false;
	m->nused--;
}

static void model_take(struct model *m, unsigned off)
{
	int err = portpool_take(m->p, (uint16_t)(CYC_MIN + off));
	if (m->used[off]) {
		assert_int_equal(err, EBUSY);
		return;
	}
	assert_int_equal(err, 0);
	m->used[off] = true;
	m->nused++;
}

static void model_step(struct model *m)
{
	uint32_t r = xs_next(&m->ops);
	unsigned off = (r >> 8) % CYC_N;
	switch (r % 16) {
	case 0: case 1: case 2: case 3: case 4: case 5:
		model_get(m);
		break;
	case 6: case 7: case 8: case 9: case 10: case 11:
		model_put(m, off);
		break;
	case 12:
		model_get_even(m, true);
		break;
	case 13:
		model_get_even(m, false);
		break;
	case 14:
		model_take(m, off);
		break;
	default: /* out of range: rejected, counts unchanged */
		assert_int_equal(portpool_put(m->p, CYC_MIN - 1), EINVAL);
		assert_int_equal(portpool_put(m->p, CYC_MIN + CYC_N), EINVAL);
		assert_int_equal(portpool_take(m->p, CYC_MIN + CYC_N), EINVAL);
		break;
	}
}

static void test_random_cycles(void **state)
{
	(void)state;
	uint32_t seed = 0x12345678u;
	struct model m;
	memset(&m, 0, sizeof(m));
	m.ops = 0x9e3779b9u;
	m.p = pool_new(CYC_MIN, CYC_MIN + CYC_N - 1, xs_next, &seed);
	unsigned seen_full = 0, seen_empty = 0;
	for (unsigned i = 0; i < 100000; i++) {
		model_step(&m);
		assert_counts(m.p, m.nused);
		seen_full += m.nused == CYC_N;
		seen_empty += m.nused == 0;
	}
	/* The walk really did reach both ends. */
	assert_true(seen_full > 0);
	assert_true(seen_empty > 0);
	portpool_free(m.p);
}

static void test_exhaustion(void **state)
{
	(void)state;
	uint32_t seed = 7;
	struct portpool *p = pool_new(60000, 60015, xs_next, &seed);
	bool got[16] = {false};
	uint16_t port;
	for (unsigned i = 0; i < 16; i++) {
		assert_int_equal(portpool_get(p, &port), 0);
		assert_in_range(port, 60000, 60015);
		assert_false(got[port - 60000]);
		got[port - 60000] = true;
		assert_counts(p, i + 1);
	}
	assert_int_equal(portpool_get(p, &port), ENOSPC);
	assert_int_equal(portpool_get_even(p, false, &port), ENOSPC);
	assert_int_equal(portpool_get_even(p, true, &port), ENOSPC);
	assert_int_equal(portpool_take(p, 60003), EBUSY);
	assert_counts(p, 16);
	/* Give one back: it is the only one to come out again. */
	assert_int_equal(portpool_put(p, 60009), 0);
	assert_int_equal(portpool_get(p, &port), 0);
	assert_int_equal(port, 60009);
	portpool_free(p);
}

static void test_even_port(void **state)
{
	(void)state;
	uint32_t seed = 99;
	uint16_t port;
	struct portpool *p = pool_new(50000, 50009, xs_next, &seed);

	assert_int_equal(portpool_get_even(p, true, &port), 0);
	assert_int_equal(port % 2, 0);
	assert_counts(p, 2);
	assert_int_equal(portpool_take(p, (uint16_t)(port + 1)), EBUSY);
	assert_int_equal(portpool_put(p, port), 0);
	assert_int_equal(portpool_put(p, (uint16_t)(port + 1)), 0);
	assert_counts(p, 0);

	/* With every odd port taken, no pair exists but even ports do. */
	for (uint16_t q = 50001; q <= 50009; q += 2)
		assert_int_equal(portpool_take(p, q), 0);
	assert_int_equal(portpool_get_even(p, true, &port), ENOSPC);
	assert_counts(p, 5);
	for (unsigned i = 0; i < 5; i++) {
		assert_int_equal(portpool_get_even(p, false, &port), 0);
		assert_int_equal(port % 2, 0);
	}
	assert_int_equal(portpool_get_even(p, false, &port), ENOSPC);
	assert_counts(p, 10);
	/* Free one odd port: exactly its even neighbour's pair is offered
	 * once that even port is free too. */
	assert_int_equal(portpool_put(p, 50005), 0);
	assert_int_equal(portpool_get_even(p, true, &port), ENOSPC);
	assert_int_equal(portpool_put(p, 50004), 0);
	assert_int_equal(portpool_get_even(p, true, &port), 0);
	assert_int_equal(port, 50004);
	assert_counts(p, 10);
	portpool_free(p);

	/* Odd min: the first even port is min + 1. The last even port has
	 * no successor in range, so it cannot be reserved with R=1. */
	p = pool_new(50001, 50004, xs_next, &seed);
	assert_int_equal(portpool_take(p, 50002), 0);
	assert_int_equal(portpool_get_even(p, true, &port), ENOSPC);
	assert_int_equal(portpool_get_even(p, false, &port), 0);
	assert_int_equal(port, 50004);
	assert_counts(p, 2);
	portpool_free(p);

	/* The top of the port space: 65534 pairs with 65535. */
	p = pool_new(65534, 65535, xs_next, &seed);
	assert_int_equal(portpool_get_even(p, true, &port), 0);
	assert_int_equal(port, 65534);
	assert_counts(p, 2);
	assert_int_equal(portpool_get(p, &port), ENOSPC);
	portpool_free(p);
}

static void test_take_put(void **state)
{
	(void)state;
	uint32_t seed = 3;
	struct portpool *p = pool_new(3000, 3009, xs_next, &seed);
	assert_int_equal(portpool_put(p, 3000), EINVAL); /* never taken */
	assert_counts(p, 0);
	assert_int_equal(portpool_take(p, 3004), 0);
	assert_int_equal(portpool_take(p, 3004), EBUSY);
	assert_int_equal(portpool_take(p, 2999), EINVAL);
	assert_int_equal(portpool_take(p, 3010), EINVAL);
	assert_int_equal(portpool_take(p, 0), EINVAL);
	assert_counts(p, 1);
	assert_int_equal(portpool_put(p, 3004), 0);
	assert_int_equal(portpool_put(p, 3004), EINVAL); /* double put */
	assert_int_equal(portpool_put(p, 2999), EINVAL);
	assert_int_equal(portpool_put(p, 65535), EINVAL);
	assert_counts(p, 0);
	/* A taken port is never handed out by get. */
	assert_int_equal(portpool_take(p, 3007), 0);
	uint16_t port;
	for (unsigned i = 0; i < 9; i++) {
		assert_int_equal(portpool_get(p, &port), 0);
		assert_int_not_equal(port, 3007);
	}
	assert_int_equal(portpool_get(p, &port), ENOSPC);
	portpool_free(p);
}

static void test_single_port(void **state)
{
	(void)state;
	uint32_t seed = 5;
	uint16_t port = 0;
	struct portpool *p = pool_new(3478, 3478, xs_next, &seed);
	assert_int_equal(portpool_size(p), 1);
	assert_int_equal(portpool_get(p, &port), 0);
	assert_int_equal(port, 3478);
	assert_int_equal(portpool_get(p, &port), ENOSPC);
	assert_int_equal(portpool_put(p, 3478), 0);
	assert_int_equal(portpool_put(p, 3478), EINVAL);
	assert_int_equal(portpool_get_even(p, true, &port), ENOSPC);
	assert_int_equal(portpool_get_even(p, false, &port), 0);
	assert_int_equal(port, 3478);
	assert_counts(p, 1);
	portpool_free(p);
}

/* The IANA dynamic range: every port once, then all back. */
static void test_full_range(void **state)
{
	(void)state;
	static bool got[65536];
	uint32_t seed = 0xdeadbeefu;
	uint16_t port;
	memset(got, 0, sizeof(got));
	struct portpool *p = pool_new(49152, 65535, xs_next, &seed);
	assert_int_equal(portpool_size(p), 16384);
	unsigned in_order = 0;
	uint16_t prev = 0;
	for (unsigned i = 0; i < 16384; i++) {
		assert_int_equal(portpool_get(p, &port), 0);
		assert_true(port >= 49152);
		assert_false(got[port]);
		got[port] = true;
		in_order += port == (uint16_t)(prev + 1);
		prev = port;
	}
	assert_counts(p, 16384);
	assert_int_equal(portpool_get(p, &port), ENOSPC);
	/* RFC 8656 7.2: not sequential (a few chance neighbours at most). */
	assert_true(in_order < 64);
	for (unsigned q = 49152; q <= 65535; q++)
		assert_int_equal(portpool_put(p, (uint16_t)q), 0);
	assert_counts(p, 0);
	/* Pairs all the way up. */
	for (unsigned i = 0; i < 8192; i++) {
		assert_int_equal(portpool_get_even(p, true, &port), 0);
		assert_int_equal(port % 2, 0);
	}
	assert_counts(p, 16384);
	portpool_free(p);

	/* The whole non-zero port space. */
	p = pool_new(1, 65535, xs_next, &seed);
	assert_int_equal(portpool_size(p), 65535);
	assert_int_equal(portpool_take(p, 65535), 0);
	assert_int_equal(portpool_take(p, 1), 0);
	assert_counts(p, 2);
	portpool_free(p);
}

/* Degenerate generators still terminate and never hand out a used port. */
static void test_extreme_rand(void **state)
{
	(void)state;
	static const uint32_t vals[] = {0, UINT32_MAX, 0x80000000u};
	for (size_t v = 0; v < 3; v++) {
		uint32_t c = vals[v];
		struct portpool *p = pool_new(7000, 7007, const_rand, &c);
		bool got[8] = {false};
		uint16_t port;
		for (unsigned i = 0; i < 8; i++) {
			assert_int_equal(portpool_get(p, &port), 0);
			assert_false(got[port - 7000]);
			got[port - 7000] = true;
		}
		assert_int_equal(portpool_get(p, &port), ENOSPC);
		assert_int_equal(portpool_put(p, 7002), 0);
		assert_int_equal(portpool_put(p, 7003), 0);
		assert_int_equal(portpool_get_even(p, true, &port), 0);
		assert_int_equal(port, 7002);
		portpool_free(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alloc_args),
		cmocka_unit_test(test_random_cycles),
		cmocka_unit_test(test_exhaustion),
		cmocka_unit_test(test_even_port),
		cmocka_unit_test(test_take_put),
		cmocka_unit_test(test_single_port),
		cmocka_unit_test(test_full_range),
		cmocka_unit_test(test_extreme_rand),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
