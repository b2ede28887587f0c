/* A fake resolver for the health checker's unit tests: no DNS traffic.
 * "bad*" fails, "flaky*" fails once then works, "slow*" (or every name
 * after fake_dns_hang_all(true)) blocks until fake_dns_release(); the
 * rest resolve to 192.0.2.10, "loop*" to 127.0.0.1. */
#ifndef TS_TESTS_HEALTH_FAKE_DNS_H
#define TS_TESTS_HEALTH_FAKE_DNS_H
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "util/sa.h"

static pthread_mutex_t fk_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fk_cv = PTHREAD_COND_INITIALIZER;
static unsigned fk_calls, fk_active, fk_gen, fk_flaky;
static bool fk_hang;
static struct sa fake_good_addr;

static inline int fake_resolve(const char *name, struct sa *out)
{
	pthread_mutex_lock(&fk_mu);
	fk_calls++;
	fk_active++;
	bool hang = fk_hang || strncmp(name, "slow", 4) == 0;
	unsigned gen = fk_gen;
	while (hang && fk_gen == gen)
		pthread_cond_wait(&fk_cv, &fk_mu);
	int rc = 0;
	if (strncmp(name, "bad", 3) == 0)
		rc = -2;
	else if (strncmp(name, "flaky", 5) == 0 && fk_flaky++ == 0)
		rc = -3;
	else if (strncmp(name, "loop", 4) == 0)
		sa_set_str(out, "127.0.0.1", 0);
	else
		sa_set_str(out, "192.0.2.10", 0);
	fk_active--;
	pthread_mutex_unlock(&fk_mu);
	return rc;
}

static inline void fake_dns_reset(void)
{
	pthread_mutex_lock(&fk_mu);
	fk_calls = fk_flaky = 0;
	fk_hang = false;
	pthread_mutex_unlock(&fk_mu);
	sa_set_str(&fake_good_addr, "192.0.2.10", 0);
}

static inline void fake_dns_hang_all(bool on)
{
	pthread_mutex_lock(&fk_mu);
	fk_hang = on;
	pthread_mutex_unlock(&fk_mu);
}

/* Lets every blocked lookup go; later ones do not block (but "slow*"). */
static inline void fake_dns_release(void)
{
	pthread_mutex_lock(&fk_mu);
	fk_hang = false;
	fk_gen++;
	pthread_cond_broadcast(&fk_cv);
	pthread_mutex_unlock(&fk_mu);
}

static inline unsigned fake_dns_calls(void)
{
	pthread_mutex_lock(&fk_mu);
	unsigned n = fk_calls;
	pthread_mutex_unlock(&fk_mu);
	return n;
}

/* Bounded waits (5 s) for lookup threads to get somewhere. */
static inline bool fake_dns_wait_calls(unsigned n)
{
	for (int i = 0; i < 5000 && fake_dns_calls() < n; i++)
		usleep(1000);
	return fake_dns_calls() >= n;
}

static inline bool fake_dns_wait_idle(void)
{
	for (int i = 0; i < 5000; i++) {
		pthread_mutex_lock(&fk_mu);
		unsigned a = fk_active;
		pthread_mutex_unlock(&fk_mu);
		if (!a)
			return true;
		usleep(1000);
	}
	return false;
}

#endif
