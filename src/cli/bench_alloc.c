/* turnstone bench alloc: each client cycles Allocate (401, then signed)
 * [CreatePermission] [ChannelBind] Refresh LIFETIME=0, every cycle from a
 * new socket on the next loopback source address, so every cycle is a
 * new 5-tuple and the server sees many client IPs (as it would in
 * production, and as its per-IP 401 limiter expects). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>

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
};

struct alloc_state {
	struct alloc_client *c;
	unsigned n;
	unsigned cycles; /* picks the next source address */
	unsigned active;
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
	int err = bench_sock_open(&src, &a->server, 0, &fd);
	if (err)
		return err;
	c->f.lf = (struct loop_fd){.fd = fd, .h = alloc_input, .arg = c};
	err = loop_add(w->loop, &c->f.lf, EPOLLIN);
	if (err) {
		loop_close(w->loop, &c->f.lf);
		return err;
	}
	c->active = true;
	st->active++;
	c->t_cycle = now;
	return bench_flow_start(&c->f, now);
}

static void alloc_cycle_end(struct alloc_client *c)
{
	struct alloc_state *st = c->w->mode;
	loop_close(c->w->loop, &c->f.lf);
	c->active = false;
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

static void alloc_input(struct loop_fd *lf, uint32_t events)
{
	struct alloc_client *c = lf->arg;
	uint8_t buf[1500];
	(void)events;
	uint64_t now = bench_now_ns();
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
		if (c->active) {
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
	w->mode = &st;
	for (unsigned i = 0; st.c && i < st.n; i++)
		alloc_client_init(w, &st.c[i]);
	bench_setup_done(w);
	if (!st.c) {
		w->c.last_error = ENOMEM;
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
	w->mode = NULL;
	return NULL;
}
