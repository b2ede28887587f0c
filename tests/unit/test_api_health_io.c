/* A health-check round on loopback sockets: many silent servers, one
 * that answers, one that answers only the retransmission, TCP servers
 * that answer, stay silent or refuse, and names that resolve, fail or
 * hang (fake resolver). The round must end at its deadline, however many
 * servers are silent, with each probe's own outcome. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "api/api_health.h"
#include "api/api_int.h"
#include "health_fake_dns.h"

#define NSILENT 24

struct peer {
	int fd;
	uint16_t port;
};

static struct peer bound(int type)
{
	struct peer p = {.fd = socket(AF_INET, type | SOCK_CLOEXEC, 0)};
	struct sa a;
	assert_true(p.fd >= 0);
	assert_int_equal(sa_set_str(&a, "127.0.0.1", 0), 0);
	assert_int_equal(bind(p.fd, &a.u.sa, a.len), 0);
	if (type == SOCK_STREAM)
		assert_int_equal(listen(p.fd, 16), 0);
	socklen_t l = a.len;
	assert_int_equal(getsockname(p.fd, &a.u.sa, &l), 0);
	p.port = sa_port(&a);
	return p;
}

/* The answering servers, on a thread of their own. */
struct responder {
	struct peer udp, udp_rtx, tcp;
	atomic_bool stop;
	unsigned udp_rtx_seen;
	pthread_t thr;
};

static size_t reply(const uint8_t *req, size_t len, uint8_t *out, size_t cap)
{
	struct stun_msg m;
	struct stun_enc e;
	size_t n = 0;
	if (stun_msg_decode(&m, req, len) != 0 || m.cls != STUN_CLASS_REQUEST)
		return 0;
	stun_enc_init(&e, out, cap, STUN_BINDING, STUN_CLASS_SUCCESS, m.tid);
	stun_enc_str(&e, STUN_ATTR_SOFTWARE, "test responder");
	return stun_enc_finish(&e, &n) == 0 ? n : 0;
}

static void udp_answer(struct responder *rs, int fd)
{
	uint8_t buf[1500], out[256];
	struct sa from = {.len = sizeof(from.u)};
	ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, &from.u.sa, &from.len);
	if (n <= 0)
		return;
	if (fd == rs->udp_rtx.fd && rs->udp_rtx_seen++ == 0)
		return; /* drop the first request: only the retransmission gets in */
	size_t len = reply(buf, (size_t)n, out, sizeof(out));
	if (len)
		(void)sendto(fd, out, len, 0, &from.u.sa, from.len);
}

/* Answer one TCP Binding in two segments, to exercise reassembly. */
static void tcp_answer(int lfd)
{
	uint8_t buf[64], out[256];
	int c = accept(lfd, NULL, NULL);
	if (c < 0)
		return;
	struct pollfd p = {.fd = c, .events = POLLIN};
	size_t got = 0;
	while (got < STUN_HDR_LEN && poll(&p, 1, 1000) == 1) {
		ssize_t n = recv(c, buf + got, sizeof(buf) - got, 0);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	size_t len = reply(buf, got, out, sizeof(out));
	if (len) {
		(void)send(c, out, 7, MSG_NOSIGNAL);
		usleep(20000);
		(void)send(c, out + 7, len - 7, MSG_NOSIGNAL);
	}
	usleep(50000);
	close(c);
}

static void *responder_main(void *arg)
{
	struct responder *rs = arg;
	while (!atomic_load(&rs->stop)) {
		struct pollfd p[3] = {{.fd = rs->udp.fd, .events = POLLIN},
				      {.fd = rs->udp_rtx.fd, .events = POLLIN},
				      {.fd = rs->tcp.fd, .events = POLLIN}};
		if (poll(p, 3, 50) <= 0)
			continue;
		for (int i = 0; i < 2; i++)
			if (p[i].revents)
				udp_answer(rs, p[i].fd);
		if (p[2].revents)
			tcp_answer(rs->tcp.fd);
	}
	return NULL;
}

static void responder_start(struct responder *rs)
{
	memset(rs, 0, sizeof(*rs));
	rs->udp = bound(SOCK_DGRAM);
	rs->udp_rtx = bound(SOCK_DGRAM);
	rs->tcp = bound(SOCK_STREAM);
	atomic_init(&rs->stop, false);
	assert_int_equal(pthread_create(&rs->thr, NULL, responder_main, rs), 0);
}

static void responder_stop(struct responder *rs)
{
	atomic_store(&rs->stop, true);
	pthread_join(rs->thr, NULL);
	close(rs->udp.fd);
	close(rs->udp_rtx.fd);
	close(rs->tcp.fd);
}

enum { U_OK, U_RTX, U_NAME, T_OK, T_SILENT, T_TLS, T_REFUSED, N_BAD, N_SLOW,
       U_SILENT0 };
#define NPROBES (U_SILENT0 + NSILENT)

static void test_round_concurrent(void **state)
{
	(void)state;
	static char urls[NPROBES][STORE_URL_MAX];
	struct responder rs;
	struct peer silent[NSILENT], tsilent = bound(SOCK_STREAM), closed = bound(SOCK_STREAM);
	struct hdns *d;
	struct hround r;
	fake_dns_reset();
	responder_start(&rs);
	close(closed.fd); /* nothing listens there now: refused */
	snprintf(urls[U_OK], STORE_URL_MAX, "stun:127.0.0.1:%u", rs.udp.port);
	snprintf(urls[U_RTX], STORE_URL_MAX, "turn:127.0.0.1:%u", rs.udp_rtx.port);
	snprintf(urls[U_NAME], STORE_URL_MAX, "turn:loop.test:%u", rs.udp.port);
	snprintf(urls[T_OK], STORE_URL_MAX, "turn:127.0.0.1:%u?transport=tcp", rs.tcp.port);
	snprintf(urls[T_SILENT], STORE_URL_MAX, "turn:127.0.0.1:%u?transport=tcp", tsilent.port);
	snprintf(urls[T_TLS], STORE_URL_MAX, "turns:127.0.0.1:%u?transport=tcp", tsilent.port);
	snprintf(urls[T_REFUSED], STORE_URL_MAX, "turn:127.0.0.1:%u?transport=tcp", closed.port);
	snprintf(urls[N_BAD], STORE_URL_MAX, "turn:bad.test:3478");
	snprintf(urls[N_SLOW], STORE_URL_MAX, "turn:slow.test:3478");
	for (int i = 0; i < NSILENT; i++) {
		silent[i] = bound(SOCK_DGRAM);
		snprintf(urls[U_SILENT0 + i], STORE_URL_MAX, "stun:127.0.0.1:%u",
			 silent[i].port);
	}
	assert_int_equal(hdns_new(&d, fake_resolve), 0);
	uint64_t t0 = api_now_us();
	assert_int_equal(hround_init(&r, (const char (*)[STORE_URL_MAX])urls,
				     NPROBES, 800, 300, t0), 0);
	hround_run(&r, d, NULL);
	uint64_t took_ms = (api_now_us() - t0) / 1000;
	/* The one-at-a-time checker took 2 s per silent server (48 s here)
	 * and the hung name's whole lookup; the round takes its deadline. */
	print_message("round of %d probes took %llu ms\n", NPROBES,
		      (unsigned long long)took_ms);
	assert_true(took_ms >= 790 && took_ms < 1500);
	assert_int_equal(r.left, 0);
	assert_true(r.p[U_OK].ok);
	assert_true(r.p[U_OK].rtt_ms < 300);
	assert_true(r.p[U_RTX].ok); /* answered the retransmission */
	assert_int_equal(r.p[U_RTX].sends, 2);
	assert_true(r.p[U_RTX].rtt_ms >= 290);
	assert_true(r.p[U_NAME].ok);
	assert_true(r.p[T_OK].ok);
	assert_false(r.p[T_SILENT].ok);
	assert_true(r.p[T_TLS].ok); /* turns: is a TCP connect */
	assert_false(r.p[T_REFUSED].ok);
	assert_false(r.p[N_BAD].ok);
	assert_false(r.p[N_SLOW].ok);
	for (int i = 0; i < NSILENT; i++) {
		assert_false(r.p[U_SILENT0 + i].ok);
		assert_int_equal(r.p[U_SILENT0 + i].sends, 2);
		close(silent[i].fd);
	}
	hround_free(&r);
	hdns_sweep(d);
	hdns_free(d);
	fake_dns_release();
	assert_true(fake_dns_wait_idle());
	close(tsilent.fd);
	responder_stop(&rs);
}

/* When every server answers, the round ends with the last answer. */
static void test_round_ends_early(void **state)
{
	(void)state;
	char urls[2][STORE_URL_MAX];
	struct responder rs;
	struct hdns *d;
	struct hround r;
	responder_start(&rs);
	snprintf(urls[0], STORE_URL_MAX, "stun:127.0.0.1:%u", rs.udp.port);
	snprintf(urls[1], STORE_URL_MAX, "turn:127.0.0.1:%u?transport=tcp", rs.tcp.port);
	assert_int_equal(hdns_new(&d, fake_resolve), 0);
	uint64_t t0 = api_now_us();
	assert_int_equal(hround_init(&r, (const char (*)[STORE_URL_MAX])urls, 2,
				     2000, 1000, t0), 0);
	hround_run(&r, d, NULL);
	assert_true(api_now_us() - t0 < 1000000);
	assert_true(r.p[0].ok && r.p[1].ok);
	hround_free(&r);
	hdns_free(d);
	responder_stop(&rs);
}

/* With one TCP slot: answering servers are checked one after the other;
 * behind a silent one, the others are skipped, not failed. */
static void test_round_tcp_slots(void **state)
{
	(void)state;
	char urls[3][STORE_URL_MAX];
	struct responder rs;
	struct peer tsilent = bound(SOCK_STREAM);
	struct hdns *d;
	struct hround r;
	responder_start(&rs);
	assert_int_equal(hdns_new(&d, NULL), 0);
	for (int i = 0; i < 3; i++)
		snprintf(urls[i], STORE_URL_MAX, "turn:127.0.0.1:%u?transport=tcp",
			 rs.tcp.port);
	assert_int_equal(hround_init(&r, (const char (*)[STORE_URL_MAX])urls, 3,
				     1500, 500, api_now_us()), 0);
	r.tcp_max = 1;
	hround_run(&r, d, NULL);
	for (int i = 0; i < 3; i++)
		assert_true(r.p[i].ok && !r.p[i].skipped);
	assert_int_equal(r.tcp_open, 0);
	hround_free(&r);
	for (int i = 0; i < 3; i++)
		snprintf(urls[i], STORE_URL_MAX, "turns:127.0.0.1:%u?transport=tcp",
			 tsilent.port);
	snprintf(urls[0], STORE_URL_MAX, "turn:127.0.0.1:%u?transport=tcp", tsilent.port);
	assert_int_equal(hround_init(&r, (const char (*)[STORE_URL_MAX])urls, 3,
				     300, 100, api_now_us()), 0);
	r.tcp_max = 1;
	r.first = 0; /* the silent one takes the slot */
	hround_run(&r, d, NULL);
	assert_false(r.p[0].ok);
	assert_false(r.p[0].skipped);
	assert_true(r.p[1].skipped && r.p[2].skipped);
	hround_free(&r);
	hdns_free(d);
	close(tsilent.fd);
	responder_stop(&rs);
}

/* A stop request ends a round well before its deadline. */
static void test_round_stop(void **state)
{
	(void)state;
	char urls[1][STORE_URL_MAX];
	struct peer silent = bound(SOCK_DGRAM);
	struct hdns *d;
	struct hround r;
	atomic_bool stop;
	atomic_init(&stop, true);
	snprintf(urls[0], STORE_URL_MAX, "stun:127.0.0.1:%u", silent.port);
	assert_int_equal(hdns_new(&d, NULL), 0);
	uint64_t t0 = api_now_us();
	assert_int_equal(hround_init(&r, (const char (*)[STORE_URL_MAX])urls, 1,
				     5000, 1000, t0), 0);
	hround_run(&r, d, &stop);
	assert_true(api_now_us() - t0 < 500000);
	hround_free(&r);
	hdns_free(d);
	close(silent.fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_concurrent),
		cmocka_unit_test(test_round_ends_early),
		cmocka_unit_test(test_round_tcp_slots),
		cmocka_unit_test(test_round_stop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
