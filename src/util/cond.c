#include "util/cond.h"

#include <time.h>

int cond_init_mono(pthread_cond_t *cv)
{
	pthread_condattr_t at;
	int err = pthread_condattr_init(&at);
	if (err)
		return err;
	err = pthread_condattr_setclock(&at, CLOCK_MONOTONIC);
	if (!err)
		err = pthread_cond_init(cv, &at);
	pthread_condattr_destroy(&at);
	return err;
}

void cond_wait_ms(pthread_cond_t *cv, pthread_mutex_t *mu, unsigned ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	long long ns = ts.tv_nsec + (long long)(ms % 1000) * 1000000;
	ts.tv_sec += (time_t)(ms / 1000 + ns / 1000000000);
	ts.tv_nsec = (long)(ns % 1000000000);
	pthread_cond_timedwait(cv, mu, &ts);
}
