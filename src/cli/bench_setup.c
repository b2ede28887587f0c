/* turnstone bench: bring a thread's allocations up (Allocate,
 * CreatePermission, ChannelBind to the echo peer) and down (Refresh
 * LIFETIME=0), at most BENCH_SET_WINDOW transactions at a time so that
 * setting up 10,000 allocations does not itself overflow the server. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

#include "cli/bench.h"
#include "stun/stun.h"

#define SET_RTO_NS 250000000ull
#define SET_SOCKBUF (1 << 20)

static const struct sa *rset_dst(const struct bench_worker *w, uint32_t idx)
{
	const struct bench_run *r = w->run;
	if (r->a->mode == BENCH_FORWARD)
		return &r->fwd[idx % r->nfwd];
	return &r->a->server;
}

static int rset_flow_open(struct bench_worker *w, struct bench_rset *st,
			  struct bench_rflow *fl, loop_h *input)
{
	const struct bench_args *a = w->run->a;
	struct sa src, self;
	bench_src_addr(fl->idx % a->sources, &src);
	/* Idle allocations keep the default buffers: 10,000 of them. */
	int bufsz = a->mode == BENCH_HOLD ? 0 : SET_SOCKBUF;
	int fd, err;
	if (a->transport == BENCH_UDP)
		err = bench_sock_open(&src, rset_dst(w, fl->idx), bufsz, &fd);
	else /* connected, and TLS handshaken, before the clock starts */
		err = bench_stream_open(&src, rset_dst(w, fl->idx), st->tls, &fd,
					&fl->f.stream);
	if (err)
		return err;
	fl->f.lf = (struct loop_fd){.fd = fd, .h = input, .arg = fl};
	socklen_t len = sizeof(self.u);
	if (getsockname(fd, &self.u.sa, &len) == 0 && self.u.sa.sa_family == AF_INET) {
		memcpy(fl->self, &self.u.in.sin_addr, 4);
		memcpy(fl->self + 4, &self.u.in.sin_port, 2);
	}
	return loop_add(w->loop, &fl->f.lf, EPOLLIN);
}

int bench_rset_open(struct bench_worker *w, struct bench_rset *st,
		    loop_h *input)
{
	const struct bench_args *a = w->run->a;
	int err = 0;
	if (a->transport == BENCH_TLS)
		err = bench_tls_ctx(a->mode == BENCH_HOLD, &st->tls);
	if (!err && a->transport != BENCH_UDP) {
		/* Frames are written whole; the payload beyond the head
		 * stays zero, as the padding does. */
		st->sbuf = calloc(BENCH_TX_BATCH, STUN_CHDATA_HDR + BENCH_MAX_SIZE + 3);
		err = st->sbuf ? 0 : ENOMEM;
	}
	for (unsigned i = 0; i < st->n; i++)
		st->fl[i].f.lf.fd = -1; /* bench_rset_close may see any of them */
	for (unsigned i = 0; !err && i < st->n; i++) {
		struct bench_rflow *fl = &st->fl[i];
		fl->w = w;
		fl->idx = w->first + i;
		fl->f.cred = &w->cred;
		fl->f.peer = &w->run->peer;
		fl->f.perm = a->perm;
		fl->f.chan = a->chan;
		fl->f.channel = (uint16_t)(STUN_CHANNEL_MIN + fl->idx % 0x1000);
		err = rset_flow_open(w, st, fl, input);
	}
	return err;
}

static void rset_pend_add(struct bench_rset *st, struct bench_rflow *fl)
{
	fl->pending = true;
	fl->slot = st->npend;
	st->pend[st->npend++] = (unsigned)(fl - st->fl);
}

static void rset_pend_del(struct bench_rset *st, struct bench_rflow *fl)
{
	unsigned last = st->pend[--st->npend];
	st->pend[fl->slot] = last;
	st->fl[last].slot = fl->slot;
	fl->pending = false;
}

/* Account for a pending flow that reached READY, DONE or FAILED. */
static bool rset_finish(struct bench_worker *w, struct bench_rset *st,
			struct bench_rflow *fl)
{
	enum bench_flow_state s = fl->f.state;
	if (!fl->pending || (s != BF_READY && s != BF_DONE && s != BF_FAILED))
		return false;
	rset_pend_del(st, fl);
	if (s == BF_READY)
		w->c.setup_ok++;
	else if (s == BF_FAILED && !st->releasing)
		w->c.setup_fail++;
	else if (s == BF_FAILED)
		w->c.errors++;
	if (s == BF_FAILED)
		w->c.last_error = fl->f.last_error;
	return true;
}

/* Open transactions until the window is full or every flow has one. */
static void rset_fill(struct bench_worker *w, struct bench_rset *st,
		      uint64_t now)
{
	while (st->npend < BENCH_SET_WINDOW && st->next < st->n) {
		struct bench_rflow *fl = &st->fl[st->next++];
		if (st->releasing && fl->f.state != BF_READY)
			continue;
		rset_pend_add(st, fl);
		if (st->releasing)
			bench_flow_release(&fl->f, now);
		else
			bench_flow_start(&fl->f, now);
		rset_finish(w, st, fl); /* a send may fail at once */
	}
}

void bench_rset_changed(struct bench_worker *w, struct bench_rset *st,
			struct bench_rflow *fl, uint64_t now)
{
	if (rset_finish(w, st, fl))
		rset_fill(w, st, now);
}

static void rset_tick(struct bench_worker *w, uint64_t now)
{
	struct bench_rset *st = w->mode;
	/* Walk backwards: a flow that completes leaves its slot to the last. */
	for (unsigned i = st->npend; i-- > 0;) {
		if (i >= st->npend)
			continue;
		struct bench_rflow *fl = &st->fl[st->pend[i]];
		bench_flow_tick(&fl->f, now, SET_RTO_NS);
		bench_rset_changed(w, st, fl, now);
	}
}

static void rset_run(struct bench_worker *w, struct bench_rset *st,
		     uint64_t deadline)
{
	st->next = 0;
	rset_fill(w, st, bench_now_ns());
	while ((st->npend > 0 || st->next < st->n) && bench_now_ns() < deadline)
		bench_loop_until(w, BP_NEVER, bench_now_ns() + 5000000, rset_tick);
}

void bench_rset_setup(struct bench_worker *w, struct bench_rset *st,
		      uint64_t deadline)
{
	if (w->run->a->mode == BENCH_FORWARD) {
		for (unsigned i = 0; i < st->n; i++)
			st->fl[i].f.state = BF_READY;
		w->c.setup_ok += st->n;
		return;
	}
	st->releasing = false;
	rset_run(w, st, deadline);
	w->c.setup_fail += st->npend; /* still open at the deadline */
	while (st->npend > 0)
		rset_pend_del(st, &st->fl[st->pend[0]]);
}

void bench_rset_release(struct bench_worker *w, struct bench_rset *st,
			uint64_t deadline)
{
	if (w->run->a->mode == BENCH_FORWARD)
		return;
	st->releasing = true;
	rset_run(w, st, deadline);
}

void bench_rset_close(struct bench_worker *w, struct bench_rset *st)
{
	for (unsigned i = 0; i < st->n; i++) {
		loop_close(w->loop, &st->fl[i].f.lf);
		bench_stream_free(st->fl[i].f.stream);
		st->fl[i].f.stream = NULL;
	}
	SSL_CTX_free(st->tls);
	st->tls = NULL;
	free(st->sbuf);
	st->sbuf = NULL;
}
