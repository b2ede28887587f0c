/* turnstone bench binding: STUN Binding requests from --clients sockets,
 * --window in flight on each. The transaction id carries the send time,
 * so each response gives one RTT sample. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "cli/bench.h"
#include "stun/stun.h"

#define BIND_STALL_NS 200000000ull
#define BIND_SCAN_NS 50000000ull
#define BIND_DRAIN_NS 200000000ull
#define BIND_BATCH 32

struct bind_client {
	struct loop_fd lf;
	struct bench_worker *w;
	uint32_t idx;
	unsigned inflight;
	uint64_t last_rx;
};

struct bind_state {
	struct bind_client *c;
	unsigned n;
	uint64_t last_scan;
	struct mmsghdr msgs[BIND_BATCH];
	struct iovec iov[BIND_BATCH];
	uint8_t bufs[BIND_BATCH][128];
};

static void bind_msgs_arm(struct bind_state *st, size_t len)
{
	for (unsigned i = 0; i < BIND_BATCH; i++) {
		st->iov[i] = (struct iovec){st->bufs[i], len};
		st->msgs[i].msg_hdr = (struct msghdr){.msg_iov = &st->iov[i],
						      .msg_iovlen = 1};
	}
}

static void bind_send(struct bind_client *c, unsigned cnt, uint64_t now)
{
	struct bind_state *st = c->w->mode;
	while (cnt > 0) {
		unsigned b = cnt < BIND_BATCH ? cnt : BIND_BATCH;
		uint8_t tid[STUN_TID_LEN];
		memcpy(tid, &now, 8);
		memcpy(tid + 8, &c->idx, 4);
		struct stun_enc e;
		size_t len = 0;
		stun_enc_init(&e, st->bufs[0], sizeof(st->bufs[0]), STUN_BINDING,
			      STUN_CLASS_REQUEST, tid);
		if (stun_enc_finish(&e, &len))
			return;
		for (unsigned i = 1; i < b; i++)
			memcpy(st->bufs[i], st->bufs[0], len);
		bind_msgs_arm(st, len);
		int r = sendmmsg(c->lf.fd, st->msgs, b, 0);
		if (r <= 0)
			return;
		c->inflight += (unsigned)r;
		c->w->c.sent += (uint64_t)r;
		cnt -= (unsigned)r;
		if ((unsigned)r < b)
			return;
	}
}

static void bind_response(struct bind_client *c, const uint8_t *buf,
			  size_t len, uint64_t now)
{
	struct stun_msg m;
	uint64_t ts;
	uint32_t idx;
	if (stun_msg_decode(&m, buf, len) || m.method != STUN_BINDING ||
	    m.cls != STUN_CLASS_SUCCESS)
		return;
	memcpy(&ts, m.tid, 8);
	memcpy(&idx, m.tid + 8, 4);
	if (idx != c->idx || ts > now)
		return;
	struct bench_worker *w = c->w;
	w->c.recv_win++;
	if (bench_phase_get(w->run) == BP_MEASURE)
		w->c.ops++;
	bench_hist_add(&w->hist, now - ts);
	if (c->inflight)
		c->inflight--;
	c->last_rx = now;
}

static void bind_input(struct loop_fd *lf, uint32_t events)
{
	struct bind_client *c = lf->arg;
	struct bind_state *st = c->w->mode;
	(void)events;
	bind_msgs_arm(st, sizeof(st->bufs[0]));
	int n = recvmmsg(lf->fd, st->msgs, BIND_BATCH, MSG_DONTWAIT, NULL);
	uint64_t now = bench_now_ns();
	for (int i = 0; i < n; i++)
		bind_response(c, st->bufs[i], st->msgs[i].msg_len, now);
	unsigned win = c->w->run->a->window;
	if (c->inflight < win && bench_phase_get(c->w->run) == BP_MEASURE)
		bind_send(c, win - c->inflight, now);
}

static void bind_tick(struct bench_worker *w, uint64_t now)
{
	struct bind_state *st = w->mode;
	if (now - st->last_scan < BIND_SCAN_NS ||
	    bench_phase_get(w->run) != BP_MEASURE)
		return;
	st->last_scan = now;
	for (unsigned i = 0; i < st->n; i++) {
		struct bind_client *c = &st->c[i];
		if (c->inflight == 0 || now - c->last_rx < BIND_STALL_NS)
			continue;
		w->c.stalls++;
		c->inflight = 0;
		c->last_rx = now;
		bind_send(c, w->run->a->window, now);
	}
}

static int bind_open(struct bench_worker *w, struct bind_state *st)
{
	const struct bench_args *a = w->run->a;
	for (unsigned i = 0; i < st->n; i++) {
		struct bind_client *c = &st->c[i];
		struct sa src;
		int fd;
		c->w = w;
		c->idx = w->first + i;
		c->lf.fd = -1;
		bench_src_addr(c->idx % a->sources, &src);
		int err = bench_sock_open(&src, &a->server, 1 << 20, &fd);
		if (err)
			return err;
		c->lf = (struct loop_fd){.fd = fd, .h = bind_input, .arg = c};
		err = loop_add(w->loop, &c->lf, EPOLLIN);
		if (err)
			return err;
		w->c.setup_ok++;
	}
	return 0;
}

void *bench_binding_thread(void *arg)
{
	struct bench_worker *w = arg;
	struct bind_state *st = calloc(1, sizeof(*st));
	int err = ENOMEM;
	if (st) {
		st->n = w->count;
		st->c = calloc(st->n, sizeof(*st->c));
		w->mode = st;
		for (unsigned i = 0; st->c && i < st->n; i++)
			st->c[i].lf.fd = -1;
		err = st->c ? bind_open(w, st) : ENOMEM;
	}
	if (err) {
		w->c.setup_fail = w->count - w->c.setup_ok;
		w->c.last_error = err;
	}
	bench_setup_done(w);
	if (!err) {
		uint64_t now = bench_now_ns();
		for (unsigned i = 0; i < st->n; i++) {
			st->c[i].last_rx = now;
			bind_send(&st->c[i], w->run->a->window, now);
		}
		bench_loop_until(w, BP_DRAIN, UINT64_MAX, bind_tick);
		bench_loop_until(w, BP_NEVER, bench_now_ns() + BIND_DRAIN_NS, NULL);
	}
	for (unsigned i = 0; st && st->c && i < st->n; i++)
		loop_close(w->loop, &st->c[i].lf);
	if (st)
		free(st->c);
	free(st);
	w->mode = NULL;
	return NULL;
}
