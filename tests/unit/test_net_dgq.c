/* net: the outgoing datagram queue. Same-size datagrams from one socket
 * to one address join into one GSO message; anything else starts a new
 * one; whatever the grouping, the receiver gets every datagram whole and
 * in order, also when the kernel refuses GSO or one destination is bad.
 * Loopback only. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "net/net_int.h"

struct pair {
	int tx, rx;
	struct sa rx_addr;
};

static int udp_lo(struct sa *addr)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sockaddr_in in = {.sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(fd, (struct sockaddr *)&in, sizeof(in)), 0);
	struct timeval tv = {.tv_sec = 2};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	memset(addr, 0, sizeof(*addr));
	addr->len = sizeof(addr->u.in);
	assert_int_equal(getsockname(fd, &addr->u.sa, &addr->len), 0);
	return fd;
}

static void pair_open(struct pair *p)
{
	struct sa ignored;
	p->tx = udp_lo(&ignored);
	p->rx = udp_lo(&p->rx_addr);
}

static void pair_close(struct pair *p)
{
	close(p->tx);
	close(p->rx);
}

/* Datagram n of a test: len bytes, each the value n. */
static void add(struct net_dgq *q, int fd, const struct sa *to, uint8_t n,
		size_t len)
{
	uint8_t buf[NET_UDP_SLOT];
	memset(buf, n, len);
	struct iovec iov[2] = {{buf, len / 2}, {buf + len / 2, len - len / 2}};
	net_dgq_add(q, fd, to, iov, 2);
}

/* The next datagram on fd is datagram n, len bytes. */
static void expect(int fd, uint8_t n, size_t len)
{
	uint8_t buf[2 * NET_UDP_SLOT];
	ssize_t got = recv(fd, buf, sizeof(buf), 0);
	assert_int_equal(got, (ssize_t)len);
	for (size_t i = 0; i < len; i++)
		assert_int_equal(buf[i], n);
}

static void expect_none(int fd)
{
	uint8_t b;
	assert_true(recv(fd, &b, 1, MSG_DONTWAIT) < 0);
}

static struct net_dgq *dgq_new(void)
{
	struct net_dgq *q = calloc(1, sizeof(*q));
	assert_non_null(q);
	net_dgq_init(q);
	return q;
}

static void test_gso_grouping(void **state)
{
	(void)state;
	struct pair a, b;
	pair_open(&a);
	pair_open(&b);
	struct net_dgq *q = dgq_new();
	/* Four of 300 B and a short last one: one message. */
	for (uint8_t n = 1; n <= 4; n++)
		add(q, a.tx, &a.rx_addr, n, 300);
	add(q, a.tx, &a.rx_addr, 5, 120);
	assert_int_equal(q->nmsg, 1);
	assert_int_equal(q->msg[0].msg_hdr.msg_iovlen, 5);
	/* After a short segment nothing joins; nor does a larger one, another
	 * address or another socket. */
	add(q, a.tx, &a.rx_addr, 6, 120);
	add(q, a.tx, &a.rx_addr, 7, 400);
	add(q, a.tx, &b.rx_addr, 8, 400);
	add(q, b.tx, &b.rx_addr, 9, 400);
	assert_int_equal(q->nmsg, 5);
	assert_int_equal(q->nslot, 9);
	net_dgq_flush(q);
	assert_int_equal(q->nmsg, 0);
	for (uint8_t n = 1; n <= 4; n++)
		expect(a.rx, n, 300);
	expect(a.rx, 5, 120);
	expect(a.rx, 6, 120);
	expect(a.rx, 7, 400);
	expect_none(a.rx);
	expect(b.rx, 8, 400);
	expect(b.rx, 9, 400);
	expect_none(b.rx);
	free(q);
	pair_close(&a);
	pair_close(&b);
}

/* A full queue sends itself; the datagram that did not fit starts the
 * next batch. */
static void test_full_queue(void **state)
{
	(void)state;
	struct pair a;
	pair_open(&a);
	struct net_dgq *q = dgq_new();
	for (unsigned n = 0; n < NET_UDP_BATCH + 3; n++)
		add(q, a.tx, &a.rx_addr, (uint8_t)n, 200);
	assert_int_equal(q->nslot, 3);
	net_dgq_flush(q);
	for (unsigned n = 0; n < NET_UDP_BATCH + 3; n++)
		expect(a.rx, (uint8_t)n, 200);
	expect_none(a.rx);
	free(q);
	pair_close(&a);
}

/* One larger than a slot is not queued: it leaves at once, after what
 * was queued before it, so a flow keeps its order. */
static void test_oversize(void **state)
{
	(void)state;
	struct pair a;
	pair_open(&a);
	struct net_dgq *q = dgq_new();
	static uint8_t big[NET_UDP_SLOT + 500];
	memset(big, 2, sizeof(big));
	struct iovec iov = {big, sizeof(big)};
	add(q, a.tx, &a.rx_addr, 1, 100);
	net_dgq_add(q, a.tx, &a.rx_addr, &iov, 1);
	assert_int_equal(q->nmsg, 0);
	add(q, a.tx, &a.rx_addr, 3, 100);
	net_dgq_flush(q);
	expect(a.rx, 1, 100);
	expect(a.rx, 2, sizeof(big));
	expect(a.rx, 3, 100);
	expect_none(a.rx);
	free(q);
	pair_close(&a);
}

/* The kernel refuses GSO on a socket without UDP checksums (EINVAL): the
 * segments go one by one and none is lost. */
static void test_gso_refused(void **state)
{
	(void)state;
	struct pair a;
	pair_open(&a);
	int one = 1;
	assert_int_equal(setsockopt(a.tx, SOL_SOCKET, SO_NO_CHECK, &one,
				    sizeof(one)), 0);
	struct net_dgq *q = dgq_new();
	for (uint8_t n = 1; n <= 3; n++)
		add(q, a.tx, &a.rx_addr, n, 500);
	assert_int_equal(q->nmsg, 1);
	net_dgq_flush(q);
	for (uint8_t n = 1; n <= 3; n++)
		expect(a.rx, n, 500);
	expect_none(a.rx);
	free(q);
	pair_close(&a);
}

/* A destination nobody can send to (port 0) costs only its own
 * datagrams, not the rest of the batch. */
static void test_bad_destination(void **state)
{
	(void)state;
	struct pair a;
	pair_open(&a);
	struct sa zero = a.rx_addr;
	zero.u.in.sin_port = 0;
	struct net_dgq *q = dgq_new();
	add(q, a.tx, &a.rx_addr, 1, 64);
	add(q, a.tx, &zero, 2, 64);
	add(q, a.tx, &zero, 3, 64);
	add(q, a.tx, &a.rx_addr, 4, 64);
	net_dgq_flush(q);
	expect(a.rx, 1, 64);
	expect(a.rx, 4, 64);
	expect_none(a.rx);
	free(q);
	pair_close(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gso_grouping),
		cmocka_unit_test(test_full_queue),
		cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_gso_refused),
		cmocka_unit_test(test_bad_destination),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
