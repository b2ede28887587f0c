/* A worker thread: its loop, its listeners, its turn_srv. The main thread
 * talks to it only through atomics (drain, new configuration). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "net/net_int.h"
#include "util/log.h"

#define WORKER_MAX_WAIT_MS 200 /* bounds how late drain/reload is seen */

uint64_t net_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The turn core reads time per packet; a value cached once per loop
 * iteration costs nothing and is precise enough for lifetimes. */
static uint64_t worker_clock_mono(void *arg)
{
	return ((struct net_worker *)arg)->now_ms;
}

static uint64_t worker_clock_wall(void *arg)
{
	(void)arg;
	return (uint64_t)time(NULL);
}

int net_worker_alloc(struct net_worker **wp, unsigned id,
		     const struct net_listen_cfg *lc,
		     const struct turn_cfg *tcfg, struct turn_shared *sh,
		     const struct net_tls *tls)
{
	if ((lc->tls || lc->dtls) && !tls)
		return EINVAL;
	struct net_worker *w = calloc(1, sizeof(*w));
	if (!w)
		return ENOMEM;
	w->id = id;
	w->sh = sh;
	w->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	w->now_ms = net_mono_ms();
	w->plain_udp = lc->udp;
	w->plain_tcp = lc->tcp;
	w->tls_on = lc->tls;
	w->dtls_on = lc->dtls;
	w->tls = tls;
	w->lc_now = lc;
	atomic_store(&w->cfg_used, tcfg);
	atomic_store(&w->tls_used, tls);
	net_recv_init(w);
	net_dgq_init(&w->rq);
	int err = loop_alloc(&w->loop);
	if (!err)
		err = net_tcprelay_init(w);
	struct turn_clock clk = {worker_clock_mono, worker_clock_wall, w};
	struct turn_io io;
	net_io_init(w, &io);
	if (!err)
		err = turn_srv_alloc(&w->srv, tcfg, sh, &clk, &io);
	if (!err)
		err = net_dtls_init(w);
	if (!err)
		err = net_proxy_wait_init(w);
	if (!err)
		err = net_listen_open(w, lc);
	if (err) {
		net_worker_free(w);
		return err;
	}
	*wp = w;
	return 0;
}

static void worker_close_listeners(struct net_worker *w)
{
	for (unsigned i = 0; i < w->ntcp; i++)
		net_tcp_listener_close(w->tcp[i]);
	w->ntcp = 0;
}

/* What another thread left for this worker, or NULL. A plain load
 * first: the exchange is a locked instruction, and this runs at every
 * wake of the loop, while something is left there only on a reload or a
 * store change. */
#define WORKER_TAKE(p)                                                 \
	(atomic_load_explicit((p), memory_order_relaxed)              \
		 ? atomic_exchange((p), NULL) : NULL)

/* A reload's update, all of it before the next packet. The
 * configuration is said to be in use last: the server may free what the
 * update points to once every worker uses a newer one. */
static void worker_update(struct net_worker *w)
{
	const struct net_worker_update *up = WORKER_TAKE(&w->pending_up);
	if (!up)
		return;
	if (up->tls && up->tls != w->tls) {
		w->tls = up->tls;
		net_dtls_set_ctx(w);
		atomic_store(&w->tls_used, up->tls);
	}
	if (up->lc && up->lc != w->lc_now && !atomic_load(&w->draining)) {
		w->lc_now = up->lc;
		net_listen_change(w, up->lc);
	}
	turn_srv_set_cfg(w->srv, up->cfg);
	atomic_store(&w->cfg_used, up->cfg);
}

static bool worker_step(struct net_worker *w)
{
	worker_update(w);
	struct turn_revoked *rv = WORKER_TAKE(&w->pending_rv);
	if (rv)
		turn_srv_set_revoked(w->srv, rv);
	if (w->now_ms >= w->next_sweep) {
		w->next_sweep = w->now_ms + NET_SWEEP_MS;
		net_tcp_sweep(w);
		net_dtls_sweep(w);
		net_tcprelay_sweep(w);
		net_linger_sweep(w);
	}
	int64_t next = turn_srv_tick(w->srv);
	/* What this step queued leaves before the wait, not after it (up to
	 * WORKER_MAX_WAIT_MS later): a sweep's closes, and the tick's own
	 * answers, such as a Connect's 447 when its timer ends (RFC 6062
	 * 5.2), written to a TCP client's dirty stream. */
	net_flush_all(w);
	atomic_store(&w->nallocs, turn_srv_count(w->srv));
	if (atomic_load(&w->draining)) {
		/* TCP listeners stay open: RFC 6062 data connections of the
		 * allocations that go on arrive there (ConnectionBind), and
		 * new Allocates get 508 or 300 from the core anyway. */
		turn_srv_set_draining(w->srv, true);
		/* A worker stays while any worker has allocations: SO_REUSEPORT
		 * keeps handing it new clients, who should hear 508 or 300
		 * (and Binding answers), not silence. */
		if (turn_shared_allocations(w->sh) == 0 ||
		    w->now_ms >= atomic_load(&w->deadline))
			return false;
	}
	int timeout = next < 0 || next > WORKER_MAX_WAIT_MS ? WORKER_MAX_WAIT_MS
							    : (int)next + 1;
	if (loop_run_once(w->loop, timeout) != 0)
		return false;
	net_flush_all(w);
	w->now_ms = net_mono_ms();
	return true;
}

static void *worker_main(void *arg)
{
	struct net_worker *w = arg;
	while (worker_step(w))
		;
	atomic_store(&w->done, true);
	return NULL;
}

int net_worker_start(struct net_worker *w)
{
	return pthread_create(&w->thread, NULL, worker_main, w);
}

void net_worker_drain(struct net_worker *w, uint64_t deadline_ms)
{
	atomic_store(&w->deadline, deadline_ms);
	atomic_store(&w->draining, true);
}

void net_worker_set_update(struct net_worker *w,
			   const struct net_worker_update *up)
{
	atomic_store(&w->pending_up, up);
}

void net_worker_set_revoked(struct net_worker *w, struct turn_revoked *r)
{
	turn_revoked_put(atomic_exchange(&w->pending_rv, turn_revoked_ref(r)));
}

void net_worker_in_use(const struct net_worker *w, const struct turn_cfg **cfg,
		       const struct net_tls **tls)
{
	*cfg = atomic_load(&w->cfg_used);
	*tls = atomic_load(&w->tls_used);
}

void net_worker_join(struct net_worker *w)
{
	pthread_join(w->thread, NULL);
}

bool net_worker_done(const struct net_worker *w)
{
	return atomic_load(&w->done);
}

unsigned net_worker_allocations(const struct net_worker *w)
{
	return atomic_load(&w->nallocs);
}

void net_worker_free(struct net_worker *w)
{
	if (!w)
		return;
	turn_srv_shutting_down(w->srv); /* usage records say "shutdown" */
	if (w->loop)
		net_tcp_close_all(w);
	net_dtls_fini(w);
	turn_srv_free(w->srv); /* closes relay sockets through the loop */
	turn_revoked_put(atomic_exchange(&w->pending_rv, NULL));
	worker_close_listeners(w);
	for (unsigned i = 0; i < w->nudp; i++)
		net_udp_close(w->udp[i]);
	net_listen_fini(w);
	net_linger_fini(w);
	if (w->spare_fd >= 0)
		close(w->spare_fd);
	net_tcprelay_fini(w);
	net_proxy_wait_fini(w);
	loop_free(w->loop);
	free(w);
}

const struct turn_stats *net_worker_stats(const struct net_worker *w)
{
	return turn_srv_stats(w->srv);
}

uint64_t net_worker_busy_ns(const struct net_worker *w)
{
	return loop_busy_ns(w->loop);
}

void net_worker_set_usage_h(struct net_worker *w, turn_usage_h *h, void *arg)
{
	turn_srv_set_usage_h(w->srv, h, arg);
}
