/* turnstone bench alloc: each client cycles Allocate (401, then signed)
 * [CreatePermission] [ChannelBind] Refresh LIFETIME=0, every cycle from a
 * new socket on the next loopback source address, so every cycle is a
 * new 5-tuple and the server sees many client IPs (as it would in
 * production, and as its per-IP 401 limiter expects). Over TCP and TLS
 * every cycle is a new connection, and its connect and handshake are
 * part of the cycle's time: what a browser behind a TLS-only firewall
 * pays for each allocation. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

#include "cli/bench.h"
#include "stun/stun.h"

#define ALLOC_RTO_NS 200000000ull    /* retransmit after 200 ms */
#define ALLOC_DRAIN_NS 2000000000ull /* let open cycles finish */

struct alloc_client {
	struct bench_flow f;
	struct bench_cred cred; /* --fresh-users: this client's own */
	struct bench_worker *w;
	uint64_t t_cycle;
	bool active;
	bool opening; /* tcp, tls: connecting or handshaking */
};

struct alloc_state {
	struct alloc_client *c;
	unsigned n;
	unsigned cycles; /* picks the next source address */
	unsigned active;
	SSL_CTX *tls; /* --transport tls */
};

static void alloc_input(struct loop_fd *lf, uint32_t events);

static int alloc_cycle_start(struct alloc_client *c, uint64_t now)
{
	struct bench_worker *w = c->w;
	struct alloc_state *st = w->mode;
	const struct bench_args *a = w->run->a;
	struct sa src;
	if (a->fresh_users) {
		/* As an app would: every session gets its own credentials,
		 * so the server derives a key it has never seen. */
		char name[48];
		snprintf(name, sizeof(name), "bench-%u-%u", w->id, st->cycles);
		int err = bench_cred_rest(&c->cred, a->secret, name);
		if (err)
			return err;
	}
	unsigned k = (st->cycles++ * w->run->nw + w->id) % a->sources;
	bench_src_addr(k, &src);
	int fd;
	uint32_t ev = EPOLLIN;
	int err;
	bool stream = a->transport != BENCH_UDP;
	c->f.state = BF_IDLE;
	if (stream) {
		err = bench_stream_begin(&src, &a->server, st->tls, &fd, &c->f.stream);
		ev = EPOLLOUT;
	} else {
		err = bench_sock_open(&src, &a->server, 0, &fd);
	}
	if (err)
		return err;
	c->f.lf = (struct loop_fd){.fd = fd, .h = alloc_input, .arg = c};
	err = loop_add(w->loop, &c->f.lf, ev);
	if (err) {
		loop_close(w->loop, &c->f.lf);
		bench_stream_free(c->f.stream);
		c->f.stream = NULL;
		return err;
	}
	c->active = true;
	c->opening = stream;
	st->active++;
	c->t_cycle = now;
	return stream ? 0 : bench_flow_start(&c->f, now);
}

static void alloc_cycle_end(struct alloc_client *c)
{
	struct alloc_state *st = c->w->mode;
	loop_close(c->w->loop, &c->f.lf);
	bench_stream_free(c->f.stream);
	c->f.stream = NULL;
	c->active = false;
	c->opening = false;
	st->active--;
}

/* A cycle finished or failed: count it, and start the next one while the
 * clock runs. */
static void alloc_check(struct alloc_client *c, uint64_t now)
{
	struct bench_worker *w = c->w;
	bool measuring = bench_phase_get(w->run) == BP_MEASURE;
	if (c->f.state == BF_DONE) {
		if (measuring) {
			w->c.ops++;
			bench_hist_add(&w->hist, now - c->t_cycle);
		}
	} else if (c->f.state == BF_FAILED) {
		w->c.errors++;
		if (c->f.last_error == ETIMEDOUT)
			w->c.timeouts++;
		w->c.last_error = c->f.last_error;
	} else {
		return;
	}
	alloc_cycle_end(c);
	if (measuring && alloc_cycle_start(c, now)) {
		w->c.errors++;
		if (c->active)
			alloc_cycle_end(c);
	}
}

static void alloc_fail(struct alloc_client *c, int err, uint64_t now)
{
	c->f.state = BF_FAILED;
	c->f.last_error = err;
	alloc_check(c, now);
}

/* tcp, tls: the socket is ready for what the open asked for. */
static void alloc_open_step(struct alloc_client *c, uint64_t now)
{
	short ev;
	int err = bench_stream_step(c->f.stream, c->f.lf.fd, &ev);
	if (err == EAGAIN) {
		err = loop_mod(c->w->loop, &c->f.lf,
			       ev == POLLOUT ? EPOLLOUT : EPOLLIN);
		if (!err)
			return;
	}
	if (!err)
		err = loop_mod(c->w->loop, &c->f.lf, EPOLLIN);
	c->opening = false;
	if (!err)
		err = bench_flow_start(&c->f, now);
	if (err)
		alloc_fail(c, err, now);
}

struct alloc_rx {
	struct alloc_client *c;
	uint64_t now;
};

/* A frame from the stream. One request is open at a time, so nothing
 * follows the answer that ends a cycle. */
static bool alloc_frame(void *arg, const uint8_t *frame, size_t len)
{
	struct alloc_rx *rx = arg;
	struct bench_flow *f = &rx->c->f;
	bench_flow_input(f, frame, len, rx->now);
	return f->state != BF_DONE && f->state != BF_FAILED;
}

static void alloc_stream_input(struct alloc_client *c, uint64_t now)
{
	uint8_t buf[4096];
	struct alloc_rx rx = {c, now};
	for (int i = 0; i < 4; i++) {
		size_t got;
		int err = bench_stream_read(c->f.stream, c->f.lf.fd, buf,
					    sizeof(buf), &got);
		if (err == EAGAIN)
			return;
		if (!err)
			err = bench_framer_feed(&c->f.stream->fr, buf, got,
						alloc_frame, &rx);
		if (err) {
			alloc_fail(c, err, now);
			return;
		}
		if (c->f.state == BF_DONE || c->f.state == BF_FAILED) {
			alloc_check(c, now);
			return;
		}
	}
}

static void alloc_input(struct loop_fd *lf, uint32_t events)
{
	struct alloc_client *c = lf->arg;
	uint8_t buf[1500];
	(void)events;
	uint64_t now = bench_now_ns();
	if (c->opening) {
		alloc_open_step(c, now);
		return;
	}
	if (c->f.stream) {
		alloc_stream_input(c, now);
		return;
	}
	for (int i = 0; i < 4 && c->active; i++) {
		ssize_t n = recv(lf->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n <= 0)
			break;
		if (bench_flow_input(&c->f, buf, (size_t)n, now))
			alloc_check(c, now);
	}
}

static void alloc_tick(struct bench_worker *w, uint64_t now)
{
	struct alloc_state *st = w->mode;
	bool measuring = bench_phase_get(w->run) == BP_MEASURE;
	for (unsigned i = 0; i < st->n; i++) {
		struct alloc_client *c = &st->c[i];
		if (c->active && c->opening) {
			if (now - c->t_cycle > BENCH_STREAM_OPEN_MS * 1000000ull)
				alloc_fail(c, ETIMEDOUT, now);
		} else if (c->active) {
			bench_flow_tick(&c->f, now, ALLOC_RTO_NS);
			alloc_check(c, now);
		} else if (measuring && alloc_cycle_start(c, now)) {
			w->c.errors++;
			if (c->active)
				alloc_cycle_end(c);
		}
	}
}

static void alloc_client_init(struct bench_worker *w, struct alloc_client *c)
{
	const struct bench_args *a = w->run->a;
	c->w = w;
	c->f.lf.fd = -1;
	c->cred = w->cred;
	c->f.cred = a->fresh_users ? &c->cred : &w->cred;
	c->f.peer = &w->run->peer;
	c->f.perm = a->perm;
	c->f.chan = a->chan;
	c->f.channel = STUN_CHANNEL_MIN;
	c->f.refresh_after = true;
}

void *bench_alloc_thread(void *arg)
{
	struct bench_worker *w = arg;
	struct alloc_state st = {.n = w->count};
	st.c = calloc(st.n, sizeof(*st.c));
	int err = st.c ? 0 : ENOMEM;
	if (!err && w->run->a->transport == BENCH_TLS)
		err = bench_tls_ctx(false, &st.tls);
	w->mode = &st;
	for (unsigned i = 0; st.c && i < st.n; i++)
		alloc_client_init(w, &st.c[i]);
	bench_setup_done(w);
	if (err) {
		w->c.last_error = err;
		free(st.c);
		w->mode = NULL;
		return NULL;
	}
	bench_loop_until(w, BP_DRAIN, UINT64_MAX, alloc_tick);
	/* Open cycles hold allocations on the server: let them finish. */
	uint64_t end = bench_now_ns() + ALLOC_DRAIN_NS;
	while (st.active > 0 && bench_now_ns() < end)
		bench_loop_until(w, BP_NEVER, bench_now_ns() + 10000000, alloc_tick);
	for (unsigned i = 0; i < st.n; i++) {
		if (st.c[i].active)
			alloc_cycle_end(&st.c[i]);
	}
	free(st.c);
	SSL_CTX_free(st.tls);
	w->mode = NULL;
	return NULL;
}
