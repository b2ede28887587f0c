/* Health checks: every configured server URL, platform and custom, is
 * probed at an interval with a STUN Binding request over its own
 * transport. A URL that fails `failures` checks in a row is down and left
 * out of answers until one check succeeds again. Browsers try every
 * listed server at once, not in order, so this is what makes "fallback"
 * mean something: a dead server would otherwise only cost time.
 * Probes run on one thread, never on the request path. turns: URLs are
 * checked at the TCP level (connect), since the TLS listener is not ours
 * to handshake with a pinned certificate. */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/api_int.h"
#include "stun/stun.h"
#include "util/cond.h"
#include "util/rand.h"

#define PROBE_TIMEOUT_MS 1000

struct target {
	char url[STORE_URL_MAX];
	unsigned fails;
	bool healthy;
	bool checked;
	uint64_t last_check; /* unix s */
	double rtt_ms;
};

struct api_health {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	pthread_t thr;
	uint32_t interval_ms, failures;
	struct target *t;
	size_t n;
};

static struct target *health_find(struct api_health *h, const char *url)
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
	struct target *t = health_find(h, url);
	bool up = !t || t->healthy; /* never checked yet: assume up */
	pthread_mutex_unlock(&h->mu);
	return up;
}

/* Keep the state of URLs that stay; new ones start healthy. */
void api_health_set_targets(struct api_health *h, const char *const *urls,
			    size_t n)
{
	struct target *nt = calloc(n ? n : 1, sizeof(*nt));
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
		struct target *old = health_find(h, urls[i]);
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

static int probe_connect(const char *host, uint16_t port, int type)
{
	struct addrinfo hints = {.ai_socktype = type}, *ai = NULL;
	char ps[8];
	snprintf(ps, sizeof(ps), "%u", port);
	if (getaddrinfo(host, ps, &hints, &ai) != 0 || !ai)
		return -1;
	int fd = socket(ai->ai_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 &&
	    errno != EINPROGRESS) {
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0 || type == SOCK_DGRAM)
		return fd;
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	int soerr = 0;
	socklen_t sl = sizeof(soerr);
	if (poll(&p, 1, PROBE_TIMEOUT_MS) != 1 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr) {
		close(fd);
		return -1;
	}
	return fd;
}

/* One Binding request; any STUN answer with our transaction id counts
 * (a 401 from a server that authenticates Binding is still alive). */
static bool probe_binding(int fd, bool stream)
{
	uint8_t req[STUN_HDR_LEN], tid[STUN_TID_LEN], buf[1500];
	struct stun_enc e;
	size_t len;
	struct stun_msg m;
	rand_bytes(tid, sizeof(tid));
	stun_enc_init(&e, req, sizeof(req), STUN_BINDING, STUN_CLASS_REQUEST, tid);
	if (stun_enc_finish(&e, &len) != 0 || send(fd, req, len, MSG_NOSIGNAL) != (ssize_t)len)
		return false;
	size_t got = 0;
	while (got < STUN_HDR_LEN) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, PROBE_TIMEOUT_MS) != 1)
			return false;
		ssize_t n = recv(fd, buf + got, sizeof(buf) - got, 0);
		if (n <= 0)
			return false;
		got += (size_t)n;
		if (!stream)
			break;
	}
	size_t want = STUN_HDR_LEN + (((size_t)buf[2] << 8) | buf[3]);
	if (stream && want <= sizeof(buf) && got < want)
		return false; /* a short read on a live server is rare; retry next round */
	return stun_msg_decode(&m, buf, got < want ? got : want) == 0 &&
	       memcmp(m.tid, tid, sizeof(tid)) == 0 &&
	       (m.cls == STUN_CLASS_SUCCESS || m.cls == STUN_CLASS_ERROR);
}

static bool probe_url(const char *url, double *rtt_ms)
{
	char host[STORE_URL_MAX];
	uint16_t port;
	enum api_transport t;
	if (api_url_parse(url, host, sizeof(host), &port, &t) != 0)
		return false;
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	int fd = probe_connect(host, port, t == API_T_UDP ? SOCK_DGRAM : SOCK_STREAM);
	bool ok = fd >= 0 && (t == API_T_TLS || probe_binding(fd, t == API_T_TCP));
	if (!ok && fd >= 0 && t == API_T_UDP)
		ok = probe_binding(fd, false); /* one retransmission for UDP */
	if (fd >= 0)
		close(fd);
	clock_gettime(CLOCK_MONOTONIC, &b);
	*rtt_ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
	return ok;
}

static void health_record(struct api_health *h, const char *url, bool ok,
			  double rtt)
{
	pthread_mutex_lock(&h->mu);
	struct target *t = health_find(h, url);
	if (t) {
		t->checked = true;
		t->last_check = (uint64_t)time(NULL);
		t->rtt_ms = ok ? rtt : 0;
		t->fails = ok ? 0 : t->fails + 1;
		t->healthy = ok || t->fails < h->failures;
	}
	pthread_mutex_unlock(&h->mu);
}

/* Probe a copy of the URL list without holding the lock. */
static void health_round(struct api_health *h)
{
	pthread_mutex_lock(&h->mu);
	size_t n = h->n;
	char (*urls)[STORE_URL_MAX] = calloc(n ? n : 1, sizeof(*urls));
	for (size_t i = 0; urls && i < n; i++)
		memcpy(urls[i], h->t[i].url, STORE_URL_MAX);
	pthread_mutex_unlock(&h->mu);
	for (size_t i = 0; urls && i < n; i++) {
		double rtt = 0;
		bool ok = probe_url(urls[i], &rtt);
		health_record(h, urls[i], ok, rtt);
	}
	free(urls);
}

static void *health_main(void *arg)
{
	struct api_health *h = arg;
	pthread_mutex_lock(&h->mu);
	while (!h->stop) {
		pthread_mutex_unlock(&h->mu);
		health_round(h);
		pthread_mutex_lock(&h->mu);
		if (!h->stop)
			cond_wait_ms(&h->cv, &h->mu, h->interval_ms);
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
	pthread_mutex_init(&h->mu, NULL);
	cond_init_mono(&h->cv);
	if (pthread_create(&h->thr, NULL, health_main, h) != 0) {
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
	free(h->t);
	free(h);
}

json_t *api_health_json(struct api_health *h)
{
	json_t *arr = json_array();
	pthread_mutex_lock(&h->mu);
	for (size_t i = 0; i < h->n; i++) {
		const struct target *t = &h->t[i];
		json_array_append_new(arr, json_pack("{s:s,s:b,s:b,s:i,s:I,s:f}",
			"url", t->url, "healthy", t->healthy, "checked", t->checked,
			"consecutiveFailures", (int)t->fails, "lastCheck",
			(json_int_t)t->last_check, "rttMs", t->rtt_ms));
	}
	pthread_mutex_unlock(&h->mu);
	return json_pack("{s:o}", "servers", arr);
}
