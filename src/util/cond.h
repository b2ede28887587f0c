/* Condition variables whose timed waits run on the monotonic clock: a
 * step of the wall clock (NTP, an operator) must neither stretch a
 * sleeping thread's wait (a sweeper that stops sweeping) nor cut it. */
#ifndef TS_UTIL_COND_H
#define TS_UTIL_COND_H
#include <pthread.h>

/* pthread_cond_init with CLOCK_MONOTONIC. 0 or an errno value. */
int cond_init_mono(pthread_cond_t *cv);
/* Wait on cv (mu held, as pthread_cond_timedwait) at most ms
 * milliseconds; cv must come from cond_init_mono. */
void cond_wait_ms(pthread_cond_t *cv, pthread_mutex_t *mu, unsigned ms);

#endif
