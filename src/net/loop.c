#include "net/loop.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define LOOP_EVENTS 128
struct loop {
	int epfd;
	void **defer;
	size_t ndefer, capdefer;
	/* Time spent in handlers: the loop's thread writes, the metrics
	 * exporter reads (relaxed: a statistic, not a synchronisation). */
	_Atomic uint64_t busy_ns;
};

static uint64_t loop_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t loop_busy_ns(const struct loop *l)
{
	return atomic_load_explicit(&l->busy_ns, memory_order_relaxed);
}

int loop_alloc(struct loop **lp)
{
	struct loop *l = calloc(1, sizeof(*l));
	if (!l)
		return ENOMEM;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		int err = errno;
		free(l);
		return err;
	}
	*lp = l;
	return 0;
}

static void loop_flush_defer(struct loop *l)
{
	for (size_t i = 0; i < l->ndefer; i++)
		free(l->defer[i]);
	l->ndefer = 0;
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	loop_flush_defer(l);
	free(l->defer);
	close(l->epfd);
	free(l);
}

int loop_add(struct loop *l, struct loop_fd *lf, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = lf};
	return epoll_ctl(l->epfd, EPOLL_CTL_ADD, lf->fd, &ev) ? errno : 0;
}

int loop_mod(struct loop *l, struct loop_fd *lf, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = lf};
	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, lf->fd, &ev) ? errno : 0;
}

void loop_close(struct loop *l, struct loop_fd *lf)
{
	if (lf->fd < 0)
		return;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, lf->fd, NULL);
	close(lf->fd);
	lf->fd = -1;
}

int loop_detach(struct loop *l, struct loop_fd *lf)
{
	return epoll_ctl(l->epfd, EPOLL_CTL_DEL, lf->fd, NULL) ? errno : 0;
}

void loop_defer_free(struct loop *l, void *ptr)
{
	if (l->ndefer == l->capdefer) {
		size_t cap = l->capdefer ? l->capdefer * 2 : 64;
		void **d = realloc(l->defer, cap * sizeof(*d));
		if (!d)
			abort(); /* freeing now could be a use-after-free */
		l->defer = d;
		l->capdefer = cap;
	}
	l->defer[l->ndefer++] = ptr;
}

static void loop_dispatch(struct loop *l, const struct epoll_event *evs, int n)
{
	/* Two vDSO clock reads per wakeup (a batch of events), not per
	 * packet. */
	uint64_t t0 = n > 0 ? loop_now_ns() : 0;
	for (int i = 0; i < n; i++) {
		struct loop_fd *lf = evs[i].data.ptr;
		/* An earlier handler in this batch may have closed it. */
		if (lf->fd >= 0)
			lf->h(lf, evs[i].events);
	}
	loop_flush_defer(l);
	if (n > 0) {
		uint64_t busy = atomic_load_explicit(&l->busy_ns, memory_order_relaxed);
		atomic_store_explicit(&l->busy_ns, busy + loop_now_ns() - t0,
				      memory_order_relaxed);
	}
}

int loop_run_once(struct loop *l, int timeout_ms)
{
	struct epoll_event evs[LOOP_EVENTS];
	int n = epoll_wait(l->epfd, evs, LOOP_EVENTS, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : errno;
	loop_dispatch(l, evs, n);
	return 0;
}

int loop_run_once_ns(struct loop *l, uint64_t timeout_ns)
{
	struct epoll_event evs[LOOP_EVENTS];
	struct timespec ts = {(time_t)(timeout_ns / 1000000000u),
			      (long)(timeout_ns % 1000000000u)};
	int n = epoll_pwait2(l->epfd, evs, LOOP_EVENTS, &ts, NULL);
	if (n < 0 && errno == ENOSYS) /* before 5.11: whole milliseconds */
		n = epoll_wait(l->epfd, evs, LOOP_EVENTS,
			       (int)((timeout_ns + 999999) / 1000000));
	if (n < 0)
		return errno == EINTR ? 0 : errno;
	loop_dispatch(l, evs, n);
	return 0;
}
