/* Health checks: every configured server URL, platform and custom, is
 * probed at an interval with a STUN Binding request over its own
 * transport. A URL that fails `failures` checks in a row is down and left
 * out of answers until one check succeeds again. Browsers try every
 * listed server at once, not in order, so this is what makes "fallback"
 * mean something: a dead server would otherwise only cost time.
 * Probes run on one thread, never on the request path. A round probes
 * every URL at once and ends after HEALTH_TIMEOUT_MS however many
 * servers there are (api_health_probe.c); names are resolved in the
 * background (api_health_dns.c), so a slow DNS answer delays only its own
 * server. Rounds start every interval (right after the last one when a
 * round takes longer). */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api_health.h"
#include "api/api_int.h"
#include "util/cond.h"
#include "util/log.h"

/* UDP gets 1 s for an answer, then 1 s more after one retransmission;
 * TCP the same 2 s for its connect and answer. The probes of the
 * one-at-a-time checker had these limits each; a round has them once. */
#define HEALTH_TIMEOUT_MS 2000
#define HEALTH_RTO_MS 1000

struct api_health {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	atomic_bool stop;  /* set under mu (for cv), read by rounds without it */
	pthread_t thr;
	uint32_t interval_ms, failures;
	struct htarget *t;
	size_t n;
	struct hdns *dns;  /* the health thread's only */
};

static struct htarget *health_find(struct api_health *h, const char *url)
{
	for (size_t i = 0; i < h->n; i++)
		if (strcmp(h->t[i].url, url) == 0)
			return &h->t[i];
	return NULL;
}

bool api_health_up(void *arg, const char *url)
{
	struct api_health *h = arg;
	pthread_mutex_lock(&h->mu);
	struct htarget *t = health_find(h, url);
	bool up = !t || t->healthy; /* never checked yet: assume up */
	pthread_mutex_unlock(&h->mu);
	return up;
}

/* Keep the state of URLs that stay; new ones start healthy. */
void api_health_set_targets(struct api_health *h, const char *const *urls,
			    size_t n)
{
	struct htarget *nt = calloc(n ? n : 1, sizeof(*nt));
	size_t m = 0;
	if (!nt)
		return;
	pthread_mutex_lock(&h->mu);
	for (size_t i = 0; i < n; i++) {
		bool dup = false;
		for (size_t j = 0; j < m && !dup; j++)
			dup = strcmp(nt[j].url, urls[i]) == 0;
		if (dup)
			continue;
		struct htarget *old = health_find(h, urls[i]);
		if (old)
			nt[m] = *old;
		else {
			snprintf(nt[m].url, sizeof(nt[m].url), "%s", urls[i]);
			nt[m].healthy = true;
		}
		m++;
	}
	free(h->t);
	h->t = nt;
	h->n = m;
	pthread_cond_signal(&h->cv); /* probe new targets soon */
	pthread_mutex_unlock(&h->mu);
}

void htarget_record(struct htarget *t, bool ok, double rtt_ms,
		    unsigned failures, uint64_t now_unix)
{
	t->checked = true;
	t->last_check = now_unix;
	t->rtt_ms = ok ? rtt_ms : 0;
	t->fails = ok ? 0 : t->fails + 1;
	t->healthy = ok || t->fails < failures;
}

/* Targets may have changed while the round ran: match by URL (in the
 * same place when they did not). */
static void health_record(struct api_health *h, const char (*urls)[STORE_URL_MAX],
			  const struct hround *r)
{
	uint64_t now = (uint64_t)time(NULL);
	pthread_mutex_lock(&h->mu);
	for (size_t i = 0; i < r->n; i++) {
		struct htarget *t = i < h->n && strcmp(h->t[i].url, urls[i]) == 0
				  ? &h->t[i] : health_find(h, urls[i]);
		if (t && !r->p[i].skipped)
			htarget_record(t, r->p[i].ok, r->p[i].rtt_ms, h->failures, now);
	}
	pthread_mutex_unlock(&h->mu);
}

static size_t round_up(const struct hround *r)
{
	size_t up = 0;
	for (size_t i = 0; i < r->n; i++)
		up += r->p[i].ok;
	return up;
}

/* Probe a copy of the URL list without holding the lock. */
static void health_round(struct api_health *h)
{
	struct hround r;
	uint64_t t0 = api_now_us();
	pthread_mutex_lock(&h->mu);
	size_t n = h->n;
	char (*urls)[STORE_URL_MAX] = calloc(n ? n : 1, sizeof(*urls));
	for (size_t i = 0; urls && i < n; i++)
		memcpy(urls[i], h->t[i].url, STORE_URL_MAX);
	pthread_mutex_unlock(&h->mu);
	if (!urls || hround_init(&r, urls, n, HEALTH_TIMEOUT_MS, HEALTH_RTO_MS, t0)) {
		free(urls);
		return;
	}
	hround_run(&r, h->dns, &h->stop);
	hdns_sweep(h->dns);
	if (!atomic_load(&h->stop)) {
		health_record(h, urls, &r);
		log_debug("api: health round: %zu of %zu URLs up in %llu ms", round_up(&r),
			  n, (unsigned long long)((api_now_us() - t0) / 1000));
	}
	hround_free(&r);
	free(urls);
}

static void *health_main(void *arg)
{
	struct api_health *h = arg;
	pthread_mutex_lock(&h->mu);
	while (!atomic_load(&h->stop)) {
		pthread_mutex_unlock(&h->mu);
		uint64_t t0 = api_now_us();
		health_round(h);
		uint64_t took_ms = (api_now_us() - t0) / 1000;
		pthread_mutex_lock(&h->mu);
		if (!atomic_load(&h->stop) && took_ms < h->interval_ms)
			cond_wait_ms(&h->cv, &h->mu, (unsigned)(h->interval_ms - took_ms));
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

int api_health_start(struct api_health **hp, uint32_t interval_ms,
		     uint32_t failures)
{
	struct api_health *h = calloc(1, sizeof(*h));
	if (!h)
		return ENOMEM;
	h->interval_ms = interval_ms;
	h->failures = failures ? failures : 1;
	atomic_init(&h->stop, false);
	if (hdns_new(&h->dns, NULL) != 0) {
		free(h);
		return ENOMEM;
	}
	pthread_mutex_init(&h->mu, NULL);
	cond_init_mono(&h->cv);
	if (pthread_create(&h->thr, NULL, health_main, h) != 0) {
		hdns_free(h->dns);
		free(h);
		return EAGAIN;
	}
	*hp = h;
	return 0;
}

void api_health_stop(struct api_health *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->mu);
	h->stop = true;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->mu);
	pthread_join(h->thr, NULL);
	pthread_cond_destroy(&h->cv);
	pthread_mutex_destroy(&h->mu);
	hdns_free(h->dns); /* lookups still running end on their own */
	free(h->t);
	free(h);
}

json_t *api_health_json(struct api_health *h)
{
	json_t *arr = json_array();
	pthread_mutex_lock(&h->mu);
	for (size_t i = 0; i < h->n; i++) {
		const struct htarget *t = &h->t[i];
		json_array_append_new(arr, json_pack("{s:s,s:b,s:b,s:i,s:I,s:f}",
			"url", t->url, "healthy", t->healthy, "checked", t->checked,
			"consecutiveFailures", (int)t->fails, "lastCheck",
			(json_int_t)t->last_check, "rttMs", t->rtt_ms));
	}
	pthread_mutex_unlock(&h->mu);
	return json_pack("{s:o}", "servers", arr);
}
