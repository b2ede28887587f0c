/* turnstone bench: argument parsing, the log-bucket histogram, the
 * RESULT line and the stream framer and writer of --transport tcp|tls.
 * The load itself is exercised by
 * tests/integration/test_bench_smoke.sh. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/bench.h"
#include "stun/stun.h"

static int parse(struct bench_args *a, char **argv)
{
	int argc = 0;
	while (argv[argc])
		argc++;
	char *err = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&err, &len);
	assert_non_null(f);
	int rc = bench_args_parse(a, argc, argv, f);
	fclose(f);
	if (rc)
		assert_true(len > 0); /* every refusal says why */
	free(err);
	return rc;
}

static void test_args_relay_defaults(void **state)
{
	(void)state;
	struct bench_args a;
	char *argv[] = {"bench", "relay", "--server", "127.0.0.1:3478",
			"--secret", "s", "--threads=3", NULL};
	assert_int_equal(parse(&a, argv), 0);
	assert_int_equal(a.mode, BENCH_RELAY);
	assert_int_equal(sa_port(&a.server), 3478);
	assert_int_equal(a.threads, 3);
	assert_int_equal(a.allocs, 100);
	assert_int_equal(a.size, 200);
	assert_int_equal(a.window, 8);
	assert_int_equal(a.duration, 5);
	assert_true(a.perm && a.chan);
	assert_int_equal(a.rate, 0);
}

static void test_args_profiles(void **state)
{
	(void)state;
	struct bench_args a;
	char *audio[] = {"bench", "relay", "--server", "127.0.0.1:1", "--user",
			 "u", "--password", "p", "--allocs", "20", "--profile",
			 "audio", NULL};
	assert_int_equal(parse(&a, audio), 0);
	assert_int_equal(a.size, 160);
	assert_int_equal(a.rate, 50 * 20);
	char *video[] = {"bench", "relay", "--server", "[::1]:3478", "--secret",
			 "s", "--profile=video", NULL};
	assert_int_equal(parse(&a, video), 0);
	assert_int_equal(a.size, 1100);
	assert_int_equal(a.rate, 150 * 100);
	assert_int_equal(sa_af(&a.server), AF_INET6);
}

static void test_args_modes(void **state)
{
	(void)state;
	struct bench_args a;
	char *fwd[] = {"bench", "forward", "--duration", "2", NULL};
	assert_int_equal(parse(&a, fwd), 0);
	assert_int_equal(a.mode, BENCH_FORWARD);
	assert_int_equal(a.duration, 2);
	char *bind[] = {"bench", "binding", "--server", "127.0.0.2:9", NULL};
	assert_int_equal(parse(&a, bind), 0);
	assert_int_equal(a.clients, 16);
	char *hold[] = {"bench", "hold", "--server", "127.0.0.1:9", "--secret",
			"s", "--server-pid", "42", NULL};
	assert_int_equal(parse(&a, hold), 0);
	assert_int_equal(a.allocs, 1000);
	assert_int_equal(a.server_pid, 42);
	char *alloc[] = {"bench", "alloc", "--server", "127.0.0.1:9", "--secret",
			 "s", "--perm", "--chan", "--clients", "7", NULL};
	assert_int_equal(parse(&a, alloc), 0);
	assert_true(a.perm && a.chan);
	assert_false(a.fresh_users);
	assert_int_equal(a.clients, 7);
	char *fresh[] = {"bench", "alloc", "--server", "127.0.0.1:9", "--secret",
			 "s", "--fresh-users", NULL};
	assert_int_equal(parse(&a, fresh), 0);
	assert_true(a.fresh_users);
	assert_int_equal(a.fwd_cpu, -1);
	char *pin[] = {"bench", "forward", "--forward-cpu", "1", NULL};
	assert_int_equal(parse(&a, pin), 0);
	assert_int_equal(a.fwd_cpu, 1);
	char *help[] = {"bench", "--help", NULL};
	assert_int_equal(parse(&a, help), 0);
	assert_true(a.help);
}

static void test_args_errors(void **state)
{
	(void)state;
	struct bench_args a;
	char *cases[][10] = {
		{"bench", NULL},
		{"bench", "nope", "--server", "127.0.0.1:1", NULL},
		{"bench", "binding", NULL},                        /* no server */
		{"bench", "binding", "--server", "10.0.0.1:3478", NULL},
		{"bench", "binding", "--server", "127.0.0.1", NULL},
		{"bench", "binding", "--server", "127.0.0.1:0", NULL},
		{"bench", "relay", "--server", "127.0.0.1:1", NULL}, /* no creds */
		{"bench", "relay", "--server", "127.0.0.1:1", "--user", "u", NULL},
		{"bench", "alloc", "--server", "127.0.0.1:1", "--secret", "s",
		 "--user", "u", NULL},
		{"bench", "forward", "--size", "8", NULL},
		{"bench", "forward", "--size", "9000", NULL},
		{"bench", "forward", "--duration", "0", NULL},
		{"bench", "forward", "--threads", "x", NULL},
		{"bench", "forward", "--profile", "radio", NULL},
		{"bench", "forward", "--bogus", "1", NULL},
		{"bench", "forward", "--window", NULL},
		{"bench", "forward", "stray", NULL},
		{"bench", "relay", "--server", "127.0.0.1:1", "--secret", "s",
		 "--fresh-users", NULL},                 /* alloc only */
		{"bench", "alloc", "--server", "127.0.0.1:1", "--user", "u",
		 "--password", "p", "--fresh-users", NULL}, /* REST only */
		{"bench", "forward", "--forward-cpu", "-1", NULL},
		{"bench", "forward", "--forward-cpu", "99999", NULL},
		{"bench", "relay", "--server", "127.0.0.1:1", "--secret", "s",
		 "--forward-cpu", "1", NULL},            /* forward only */
		{"bench", "forward", "--hist-out", "", NULL},
		{"bench", "hold", "--server", "127.0.0.1:1", "--secret", "s",
		 "--hist-out", "/tmp/h", NULL},          /* no latency in hold */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (parse(&a, cases[i]) == 0)
			fail_msg("case %zu was accepted", i);
	}
}

static void test_args_transport(void **state)
{
	(void)state;
	struct bench_args a;
	char *udp[] = {"bench", "relay", "--server", "127.0.0.1:1", "--secret",
		       "s", NULL};
	assert_int_equal(parse(&a, udp), 0);
	assert_int_equal(a.transport, BENCH_UDP);
	assert_string_equal(bench_transport_name(a.transport), "udp");
	char *tcp[] = {"bench", "relay", "--server", "127.0.0.1:1", "--secret",
		       "s", "--transport", "tcp", NULL};
	assert_int_equal(parse(&a, tcp), 0);
	assert_int_equal(a.transport, BENCH_TCP);
	char *tls[] = {"bench", "hold", "--server", "127.0.0.1:5349", "--secret",
		       "s", "--transport=tls", NULL};
	assert_int_equal(parse(&a, tls), 0);
	assert_int_equal(a.transport, BENCH_TLS);
	assert_string_equal(bench_transport_name(a.transport), "tls");
	char *cases[][10] = {
		{"bench", "relay", "--server", "127.0.0.1:1", "--secret", "s",
		 "--transport", "sctp", NULL},
		{"bench", "relay", "--server", "127.0.0.1:1", "--secret", "s",
		 "--transport", "TCP", NULL},
		{"bench", "relay", "--server", "127.0.0.1:1", "--secret", "s",
		 "--transport", NULL},
		{"bench", "binding", "--server", "127.0.0.1:1", "--transport",
		 "tls", NULL},
		{"bench", "forward", "--transport", "tcp", NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (parse(&a, cases[i]) == 0)
			fail_msg("transport case %zu was accepted", i);
	}
	/* alloc opens a stream every cycle. */
	char *alloc[] = {"bench", "alloc", "--server", "127.0.0.1:1", "--secret",
			 "s", "--transport", "tls", NULL};
	assert_int_equal(parse(&a, alloc), 0);
	assert_int_equal(a.transport, BENCH_TLS);
	/* udp said outright is fine anywhere. */
	char *bind[] = {"bench", "binding", "--server", "127.0.0.1:1",
			"--transport", "udp", NULL};
	assert_int_equal(parse(&a, bind), 0);
}

/* ----- Stream framing (RFC 8656 12.5) ----- */

#define FR_MAX 16
struct frames {
	unsigned n;
	size_t off[FR_MAX]; /* where each frame sat in the stream */
	size_t len[FR_MAX];
	const uint8_t *stream;
	size_t at;          /* frames delivered cover stream[0, at) */
	unsigned stop_after; /* 0: never stop */
};

static bool frames_h(void *arg, const uint8_t *frame, size_t len)
{
	struct frames *f = arg;
	assert_true(f->n < FR_MAX);
	/* Each frame is the next bytes of the stream, whole and in order. */
	assert_memory_equal(frame, f->stream + f->at, len);
	f->off[f->n] = f->at;
	f->len[f->n++] = len;
	f->at += len;
	return !(f->stop_after && f->n >= f->stop_after);
}

/* A STUN message (Binding success with a SOFTWARE attribute) at p. */
static size_t put_stun(uint8_t *p, size_t cap, const char *sw)
{
	struct stun_enc e;
	uint8_t tid[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
	size_t len;
	stun_enc_init(&e, p, cap, STUN_BINDING, STUN_CLASS_SUCCESS, tid);
	stun_enc_str(&e, STUN_ATTR_SOFTWARE, sw);
	assert_int_equal(stun_enc_finish(&e, &len), 0);
	return len;
}

/* ChannelData carrying dlen bytes, zero-padded to four (RFC 8656 12.5). */
static size_t put_chdata(uint8_t *p, uint16_t ch, uint16_t dlen)
{
	size_t padded = (dlen + 3u) & ~3u;
	stun_chdata_hdr(p, ch, dlen);
	for (size_t i = 0; i < padded; i++)
		p[STUN_CHDATA_HDR + i] = i < dlen ? (uint8_t)(0xA0 + i) : 0;
	return STUN_CHDATA_HDR + padded;
}

/* STUN and ChannelData mixed, with and without padding: the frame
 * lengths go to want[], the total is returned. */
static size_t mixed_stream(uint8_t *buf, size_t cap, size_t *want, unsigned *nw)
{
	size_t n = 0;
	unsigned k = 0;
	want[k++] = put_stun(buf + n, cap - n, "a");      /* attr padded too */
	n += want[k - 1];
	want[k++] = put_chdata(buf + n, 0x4001, 5);       /* 3 bytes padding */
	n += want[k - 1];
	want[k++] = put_chdata(buf + n, 0x4002, 0);       /* header only */
	n += want[k - 1];
	want[k++] = put_stun(buf + n, cap - n, "turnstone bench");
	n += want[k - 1];
	want[k++] = put_chdata(buf + n, 0x4FFF, 201);     /* odd, 3 padding */
	n += want[k - 1];
	want[k++] = put_chdata(buf + n, 0x4003, 8);       /* no padding */
	n += want[k - 1];
	*nw = k;
	return n;
}

static void frames_check(const struct frames *f, const size_t *want,
			 unsigned nw, size_t total)
{
	assert_int_equal(f->n, nw);
	for (unsigned i = 0; i < nw; i++)
		assert_int_equal(f->len[i], want[i]);
	assert_int_equal(f->at, total);
}

static void test_framer_splits(void **state)
{
	(void)state;
	uint8_t buf[1024];
	size_t want[FR_MAX];
	unsigned nw;
	size_t total = mixed_stream(buf, sizeof(buf), want, &nw);
	struct bench_framer *fr = malloc(sizeof(*fr));
	assert_non_null(fr);
	/* One read, then two reads cut at every byte offset. */
	for (size_t cut = 0; cut <= total; cut++) {
		struct frames f = {.stream = buf};
		fr->len = 0;
		assert_int_equal(bench_framer_feed(fr, buf, cut, frames_h, &f), 0);
		assert_int_equal(bench_framer_feed(fr, buf + cut, total - cut,
						   frames_h, &f), 0);
		frames_check(&f, want, nw, total);
		assert_int_equal(fr->len, 0);
	}
	/* Three reads, cut at every pair of offsets. */
	for (size_t c1 = 0; c1 <= total; c1 += 3) {
		for (size_t c2 = c1; c2 <= total; c2++) {
			struct frames f = {.stream = buf};
			fr->len = 0;
			assert_int_equal(bench_framer_feed(fr, buf, c1, frames_h, &f), 0);
			assert_int_equal(bench_framer_feed(fr, buf + c1, c2 - c1,
							   frames_h, &f), 0);
			assert_int_equal(bench_framer_feed(fr, buf + c2, total - c2,
							   frames_h, &f), 0);
			frames_check(&f, want, nw, total);
		}
	}
	/* One byte per read. */
	struct frames f = {.stream = buf};
	fr->len = 0;
	for (size_t i = 0; i < total; i++)
		assert_int_equal(bench_framer_feed(fr, buf + i, 1, frames_h, &f), 0);
	frames_check(&f, want, nw, total);
	/* The handler's false (its flow closed) stops the feed at once. */
	f = (struct frames){.stream = buf, .stop_after = 2};
	fr->len = 0;
	assert_int_equal(bench_framer_feed(fr, buf, total, frames_h, &f), 0);
	assert_int_equal(f.n, 2);
	free(fr);
}

/* The receiver skips the padding: the delivered ChannelData decodes to
 * the length that was sent, not the padded one. */
static void test_framer_padding(void **state)
{
	(void)state;
	uint8_t buf[64];
	size_t n = put_chdata(buf, 0x4005, 5);
	n += put_chdata(buf + n, 0x4006, 1);
	assert_int_equal(n, (4 + 8) + (4 + 4));
	struct bench_framer fr = {.len = 0};
	struct frames f = {.stream = buf};
	assert_int_equal(bench_framer_feed(&fr, buf, n, frames_h, &f), 0);
	assert_int_equal(f.n, 2);
	uint16_t ch, dlen;
	const uint8_t *data;
	assert_int_equal(stun_chdata_decode(buf + f.off[1], f.len[1], &ch, &data,
					    &dlen), 0);
	assert_int_equal(ch, 0x4006);
	assert_int_equal(dlen, 1);
	assert_int_equal(data[0], 0xA0);
}

/* Bytes that are neither STUN nor ChannelData end the feed with EBADMSG
 * (the flow is closed), however the reads cut them: never a loop, never
 * a frame made of them. */
static void test_framer_garbage(void **state)
{
	(void)state;
	static const uint8_t firsts[] = {0x80, 0xC0, 0xFF, 0x17 /* TLS alert */};
	uint8_t buf[256];
	struct bench_framer *fr = malloc(sizeof(*fr));
	assert_non_null(fr);
	for (size_t k = 0; k < sizeof(firsts); k++) {
		memset(buf, 0x55, sizeof(buf));
		buf[0] = firsts[k];
		for (size_t cut = 1; cut <= 24; cut++) {
			struct frames f = {.stream = buf};
			fr->len = 0;
			int e = bench_framer_feed(fr, buf, cut, frames_h, &f);
			if (!e)
				e = bench_framer_feed(fr, buf + cut, sizeof(buf) - cut,
						      frames_h, &f);
			assert_int_equal(e, EBADMSG);
			assert_int_equal(f.n, 0);
		}
	}
	/* A STUN header with a wrong magic cookie, cut anywhere. */
	size_t n = put_stun(buf, sizeof(buf), "x");
	buf[5] ^= 1;
	for (size_t cut = 0; cut <= n; cut++) {
		struct frames f = {.stream = buf};
		fr->len = 0;
		int e = bench_framer_feed(fr, buf, cut, frames_h, &f);
		if (!e)
			e = bench_framer_feed(fr, buf + cut, n - cut, frames_h, &f);
		assert_int_equal(e, EBADMSG);
		assert_int_equal(f.n, 0);
	}
	/* A good frame, then garbage: the frame counts, then EBADMSG. */
	n = put_chdata(buf, 0x4001, 3);
	buf[n] = 0xEE;
	struct frames f = {.stream = buf};
	fr->len = 0;
	assert_int_equal(bench_framer_feed(fr, buf, n + 1, frames_h, &f), EBADMSG);
	assert_int_equal(f.n, 1);
	/* A frame longer than any the bench expects. */
	stun_chdata_hdr(buf, 0x4001, BENCH_FRAME_MAX);
	fr->len = 0;
	f = (struct frames){.stream = buf};
	assert_int_equal(bench_framer_feed(fr, buf, 4, frames_h, &f), EBADMSG);
	free(fr);
}

/* The plain-TCP write and read paths on a socketpair: a peer that never
 * reads makes a write time out (an error the caller counts) after about
 * BENCH_STREAM_IO_MS, not hang; a closed peer reads as ECONNRESET. */
static void test_stream_io(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	struct bench_stream *s = calloc(1, sizeof(*s));
	assert_non_null(s);
	uint8_t small[8] = {0x40, 0x01, 0, 4, 1, 2, 3, 4}, rb[64];
	size_t got = 0;
	assert_int_equal(bench_stream_read(s, sv[0], rb, sizeof(rb), &got), EAGAIN);
	assert_int_equal(bench_stream_write(s, sv[1], small, sizeof(small)), 0);
	assert_int_equal(bench_stream_read(s, sv[0], rb, sizeof(rb), &got), 0);
	assert_int_equal(got, sizeof(small));
	assert_memory_equal(rb, small, sizeof(small));
	assert_int_equal(bench_stream_write(s, -1, small, sizeof(small)), EPIPE);
	size_t big = 8 << 20;
	uint8_t *b = calloc(1, big);
	assert_non_null(b);
	uint64_t t0 = bench_now_ns();
	assert_int_equal(bench_stream_write(s, sv[1], b, big), ETIMEDOUT);
	uint64_t ms = (bench_now_ns() - t0) / 1000000;
	assert_true(ms >= BENCH_STREAM_IO_MS - 10 && ms < 5 * BENCH_STREAM_IO_MS);
	free(b);
	close(sv[1]);
	int e;
	do /* drain what the writer left, then the end of the stream */
		e = bench_stream_read(s, sv[0], rb, sizeof(rb), &got);
	while (e == 0);
	assert_int_equal(e, ECONNRESET);
	close(sv[0]);
	bench_stream_free(s);
}

/* Step until open or failed, waiting in poll() for what step asks. */
static int stream_step_all(struct bench_stream *s, int fd)
{
	short ev;
	int e;
	for (int i = 0; i < 100 && (e = bench_stream_step(s, fd, &ev)) == EAGAIN; i++) {
		struct pollfd p = {.fd = fd, .events = ev};
		assert_true(ev == POLLIN || ev == POLLOUT);
		(void)poll(&p, 1, 100);
	}
	return e;
}

/* The non-blocking open alloc mode uses: connected only once the kernel
 * says so, and a refused connect is an error, not an open stream. */
static void test_stream_begin(void **state)
{
	(void)state;
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(lfd >= 0);
	struct sa dst;
	assert_int_equal(sa_set_str(&dst, "127.0.0.1", 0), 0);
	assert_int_equal(bind(lfd, &dst.u.sa, dst.len), 0);
	socklen_t len = sizeof(dst.u);
	assert_int_equal(getsockname(lfd, &dst.u.sa, &len), 0);
	dst.len = len;
	assert_int_equal(listen(lfd, 4), 0);
	struct bench_stream *s = NULL;
	int fd = -1;
	assert_int_equal(bench_stream_begin(NULL, &dst, NULL, &fd, &s), 0);
	assert_true(s->connecting);
	assert_int_equal(stream_step_all(s, fd), 0);
	assert_false(s->connecting);
	int afd = accept(lfd, NULL, NULL);
	assert_true(afd >= 0);
	uint8_t m[4] = {0x40, 0x01, 0, 0}, rb[8];
	assert_int_equal(bench_stream_write(s, fd, m, sizeof(m)), 0);
	assert_int_equal(recv(afd, rb, sizeof(rb), 0), (ssize_t)sizeof(m));
	close(afd);
	close(fd);
	bench_stream_free(s);
	/* Nobody listens there any more. */
	close(lfd);
	assert_int_equal(bench_stream_begin(NULL, &dst, NULL, &fd, &s), 0);
	assert_int_equal(stream_step_all(s, fd), ECONNREFUSED);
	close(fd);
	bench_stream_free(s);
}

static void test_hist_buckets(void **state)
{
	(void)state;
	unsigned prev = 0;
	for (uint64_t v = 0; v < 200000; v += 1 + v / 64) {
		unsigned i = bench_hist_index(v);
		assert_true(i >= prev);
		assert_true(i < BENCH_HIST_BUCKETS);
		assert_true(bench_hist_low(i) <= v && v <= bench_hist_high(i));
		/* A bucket is never wider than 1/128 of its lower bound. */
		uint64_t w = bench_hist_high(i) - bench_hist_low(i);
		assert_true(w * 128 <= bench_hist_low(i) || w == 0);
		prev = i;
	}
	assert_int_equal(bench_hist_index(UINT64_MAX), BENCH_HIST_BUCKETS - 1);
	assert_true(bench_hist_high(BENCH_HIST_BUCKETS - 1) == UINT64_MAX);
	for (unsigned i = 1; i < BENCH_HIST_BUCKETS; i++)
		assert_true(bench_hist_low(i) == bench_hist_high(i - 1) + 1);
}

static void test_hist_percentiles(void **state)
{
	(void)state;
	struct bench_hist *h = malloc(sizeof(*h)), *g = malloc(sizeof(*g));
	assert_non_null(h);
	assert_non_null(g);
	bench_hist_init(h);
	assert_int_equal(bench_hist_pct(h, 50), 0);
	for (uint64_t v = 1; v <= 1000; v++)
		bench_hist_add(h, v * 1000);
	uint64_t p50 = bench_hist_pct(h, 50), p99 = bench_hist_pct(h, 99);
	assert_true(p50 >= 500000 && p50 <= 500000 + 500000 / 128);
	assert_true(p99 >= 990000 && p99 <= 990000 + 990000 / 128);
	assert_int_equal(bench_hist_pct(h, 100), 1000000);
	uint64_t p0 = bench_hist_pct(h, 0);
	assert_true(p0 >= 1000 && p0 <= 1000 + 1000 / 128);
	bench_hist_init(g);
	bench_hist_add(g, 5);
	bench_hist_add(g, 7000000);
	bench_hist_merge(g, h);
	assert_int_equal(g->count, 1002);
	assert_int_equal(g->min, 5);
	assert_int_equal(g->max, 7000000);
	assert_int_equal(bench_hist_pct(g, 100), 7000000);
	free(h);
	free(g);
}

/* The rank is ceil(p% of count) exactly: 99.9 % of 1000 samples is the
 * 999th, not the 1000th (99.9 / 100 * 1000 in doubles is a hair above
 * 999, which made the p99.9 of every multiple of 1000 samples the next
 * sample's value: here the one 1 s outlier). */
static void test_hist_rank_exact(void **state)
{
	(void)state;
	struct bench_hist *h = malloc(sizeof(*h));
	assert_non_null(h);
	for (uint64_t n = 1000; n <= 100000; n += 1000) {
		bench_hist_init(h);
		for (uint64_t i = 0; i < n - n / 1000; i++)
			bench_hist_add(h, 100);
		for (uint64_t i = 0; i < n / 1000; i++)
			bench_hist_add(h, 1000000000);
		if (bench_hist_pct(h, 99.9) != 100)
			fail_msg("n=%llu: p99.9 is %llu", (unsigned long long)n,
				 (unsigned long long)bench_hist_pct(h, 99.9));
		assert_int_equal(bench_hist_pct(h, 99.95), 1000000000);
		assert_int_equal(bench_hist_pct(h, 100), 1000000000);
	}
	/* 99.99 % of 10,000 and 99 % of 100: the last of the small ones. */
	bench_hist_init(h);
	for (int i = 0; i < 9999; i++)
		bench_hist_add(h, 100);
	bench_hist_add(h, 5000000);
	assert_int_equal(bench_hist_pct(h, 99.99), 100);
	assert_int_equal(bench_hist_pct(h, 99.995), 5000000);
	assert_int_equal(bench_hist_pct(h, 0), 100);
	assert_int_equal(bench_hist_pct(h, -1), 100);
	assert_int_equal(bench_hist_pct(h, 150), 5000000);
	free(h);
}

/* A --hist-out file read back (twice, into one histogram) gives the
 * same counts and percentiles as merging the histogram with itself. */
static void test_hist_file_roundtrip(void **state)
{
	(void)state;
	struct bench_hist *h = malloc(sizeof(*h)), *g = malloc(sizeof(*g));
	assert_non_null(h);
	assert_non_null(g);
	bench_hist_init(h);
	for (uint64_t v = 1; v <= 5000; v++)
		bench_hist_add(h, v * v * 7);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(bench_hist_write(h, f), 0);
	fclose(f);
	bench_hist_init(g);
	for (int k = 0; k < 2; k++) {
		f = fmemopen(buf, len, "r");
		assert_int_equal(bench_hist_read(g, f), 0);
		fclose(f);
	}
	bench_hist_merge(h, h);
	assert_memory_equal(g, h, sizeof(*h));
	assert_int_equal(g->count, 10000);
	assert_int_equal(g->min, 7);
	assert_int_equal(g->max, 5000ull * 5000 * 7);
	free(buf);
	free(h);
	free(g);
}

static int read_text(const char *text)
{
	struct bench_hist *h = malloc(sizeof(*h));
	assert_non_null(h);
	bench_hist_init(h);
	char *copy = strdup(text); /* fmemopen takes a writable buffer */
	assert_non_null(copy);
	FILE *f = fmemopen(copy, strlen(copy), "r");
	assert_non_null(f);
	int e = bench_hist_read(h, f);
	fclose(f);
	free(copy);
	if (e) /* a refused file adds nothing */
		assert_int_equal(h->count, 0);
	free(h);
	return e;
}

static void test_hist_file_errors(void **state)
{
	(void)state;
	assert_int_equal(read_text("turnstone-hist 1 3 10 20 45\n10 1\n20 2\n"), 0);
	assert_int_equal(read_text("turnstone-hist 1 0 0 0 0\n"), 0);
	const char *bad[] = {
		"",
		"RESULT mode=relay p99_us=1\n",
		"turnstone-hist 2 1 10 10 10\n10 1\n",        /* version */
		"turnstone-hist 1 3 10 20 45\n10 1\n20 1\n",  /* short */
		"turnstone-hist 1 3 10 20 45\n10 1\n20 3\n",  /* over */
		"turnstone-hist 1 2 10 20 30\n10 1\n10 1\n",  /* twice */
		"turnstone-hist 1 1 10 10 10\n99999 1\n",      /* index */
		"turnstone-hist 1 1 10 10 10\n10 0\n10 1\n",  /* empty */
		"turnstone-hist 1 1 30 10 10\n10 1\n",         /* min > max */
		"turnstone-hist 1 1 10 10 10\n10 1\nx\n",      /* trailer */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (read_text(bad[i]) != EINVAL)
			fail_msg("bad file %zu was read", i);
	}
}

/* bench pool over two files: the percentiles of both runs together. */
static void test_pool(void **state)
{
	(void)state;
	char a[] = "/tmp/ts-pool-a.XXXXXX", b[] = "/tmp/ts-pool-b.XXXXXX";
	int fa = mkstemp(a), fb = mkstemp(b);
	assert_true(fa >= 0 && fb >= 0);
	/* 99 round trips of 100 us in one run, one of 9 ms in the other:
	 * the pooled p99 is 100 us and the p99.9 is 9 ms. */
	dprintf(fa, "turnstone-hist 1 99 100000 100000 9900000\n%u 99\n",
		bench_hist_index(100000));
	dprintf(fb, "turnstone-hist 1 1 9000000 9000000 9000000\n%u 1\n",
		bench_hist_index(9000000));
	close(fa);
	close(fb);
	char *out = NULL, *err = NULL;
	size_t olen = 0, elen = 0;
	FILE *o = open_memstream(&out, &olen), *e = open_memstream(&err, &elen);
	char *argv[] = {a, b, "/nonexistent/ts-pool", NULL};
	assert_int_equal(bench_pool_main(2, argv, o, e), 0);
	assert_int_equal(bench_pool_main(3, argv, o, e), 1);
	assert_int_equal(bench_pool_main(0, argv, o, e), 2);
	char *help[] = {"--help", NULL}, *opt[] = {"--json", a, NULL};
	assert_int_equal(bench_pool_main(1, help, o, e), 0);
	assert_int_equal(bench_pool_main(2, opt, o, e), 2);
	fclose(o);
	fclose(e);
	/* Percentiles are the top of the bucket, capped at the largest
	 * value seen (9 ms here). */
	char want[160];
	double p = (double)bench_hist_high(bench_hist_index(100000)) / 1e3;
	snprintf(want, sizeof(want), "RESULT mode=pool runs=2 count=100 "
		 "p50_us=%.1f p99_us=%.1f p999_us=9000.0\n", p, p);
	assert_true(p > 100 && p < 101);
	assert_non_null(strstr(out, want));
	assert_non_null(strstr(err, "/nonexistent/ts-pool"));
	assert_non_null(strstr(err, "usage"));
	assert_non_null(strstr(out, "usage")); /* --help goes to stdout */
	unlink(a);
	unlink(b);
	free(out);
	free(err);
}

/* /proc/stat's aggregate line: busy = user + nice + system + irq +
 * softirq + steal; idle and iowait count only in the total. */
static void test_cpu_line(void **state)
{
	(void)state;
	uint64_t busy = 0, total = 0;
	assert_int_equal(bench_parse_cpu_line("cpu  100 2 30 500 7 1 4 6 0 0\n"
					      "cpu0 50 1 15 250 3 0 2 3 0 0\n",
					      &busy, &total), 0);
	assert_int_equal(busy, 100 + 2 + 30 + 1 + 4 + 6);
	assert_int_equal(total, busy + 500 + 7);
	assert_int_equal(bench_parse_cpu_line("cpu0 1 2 3 4 5 6 7 8\n", &busy,
					      &total), EBADMSG);
	assert_int_equal(bench_parse_cpu_line("cpu  1 2 3\n", &busy, &total),
			 EBADMSG);
	assert_int_equal(bench_parse_cpu_line("", &busy, &total), EBADMSG);
	/* The machine's own file parses. */
	assert_int_equal(bench_sys_cpu(&busy, &total), 0);
	assert_true(total >= busy && total > 0);
}

static char *report_text(const struct bench_report *r, bool json)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	assert_non_null(f);
	bench_report_print(r, NULL, json, f);
	fclose(f);
	return out;
}

static void test_report(void **state)
{
	(void)state;
	struct bench_report r = {.n = 0};
	bench_report_add(&r, "mode", false, "%s", "relay");
	bench_report_add(&r, "pps", true, "%d", 1234);
	bench_report_add(&r, "loss", true, "%.2f", 0.5);
	char *t = report_text(&r, false);
	assert_string_equal(t, "RESULT mode=relay pps=1234 loss=0.50\n");
	free(t);
	t = report_text(&r, true);
	assert_string_equal(t, "{\"mode\":\"relay\",\"pps\":1234,\"loss\":0.50}\n");
	free(t);
	for (int i = 0; i < 2 * BENCH_KV_MAX; i++)
		bench_report_add(&r, "k", true, "%d", i);
	assert_int_equal(r.n, BENCH_KV_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_args_relay_defaults),
		cmocka_unit_test(test_args_profiles),
		cmocka_unit_test(test_args_modes),
		cmocka_unit_test(test_args_errors),
		cmocka_unit_test(test_args_transport),
		cmocka_unit_test(test_framer_splits),
		cmocka_unit_test(test_framer_padding),
		cmocka_unit_test(test_framer_garbage),
		cmocka_unit_test(test_stream_io),
		cmocka_unit_test(test_stream_begin),
		cmocka_unit_test(test_hist_buckets),
		cmocka_unit_test(test_hist_percentiles),
		cmocka_unit_test(test_hist_rank_exact),
		cmocka_unit_test(test_hist_file_roundtrip),
		cmocka_unit_test(test_hist_file_errors),
		cmocka_unit_test(test_pool),
		cmocka_unit_test(test_cpu_line),
		cmocka_unit_test(test_report),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
