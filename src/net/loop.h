/* A small epoll event loop, one per worker thread. Handlers may close and
 * free objects while a batch of events is being dispatched, so objects
 * are released through loop_defer_free() and freed only after the batch;
 * a closed loop_fd has fd == -1 and later events for it are skipped. */
#ifndef TS_NET_LOOP_H
#define TS_NET_LOOP_H
#include <stdint.h>

struct loop;
struct loop_fd;

typedef void(loop_h)(struct loop_fd *lf, uint32_t events);

/* Embedded in the caller's object; the caller owns it. */
struct loop_fd {
	int fd;
	loop_h *h;
	void *arg;
};

int loop_alloc(struct loop **lp);
void loop_free(struct loop *l);
int loop_add(struct loop *l, struct loop_fd *lf, uint32_t events);
int loop_mod(struct loop *l, struct loop_fd *lf, uint32_t events);
/* Remove from epoll and close the fd; lf->fd becomes -1. */
void loop_close(struct loop *l, struct loop_fd *lf);
/* Remove from epoll but keep the fd open (it moves to another loop). */
int loop_detach(struct loop *l, struct loop_fd *lf);
/* Free ptr with free() after the current batch of events. */
void loop_defer_free(struct loop *l, void *ptr);
/* Wait up to timeout_ms and dispatch one batch. 0 or errno. */
int loop_run_once(struct loop *l, int timeout_ms);
/* The same with a nanosecond timeout (epoll_pwait2, Linux 5.11): the
 * load generator paces sends at a finer grain than a millisecond. */
int loop_run_once_ns(struct loop *l, uint64_t timeout_ns);
/* Nanoseconds spent running handlers so far (any thread may read it). */
uint64_t loop_busy_ns(const struct loop *l);

#endif
