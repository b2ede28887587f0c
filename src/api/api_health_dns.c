/* Names of health-checked servers, resolved off the probe path.
 *
 * getaddrinfo() blocks for as long as the system resolver takes (with
 * resolv.conf's defaults, 5 s per try and server), so calling it inside
 * a round let one bad name stall every other server's check. Each lookup
 * runs instead in a detached thread of its own and the round only polls
 * for the result; a round uses the address from the last lookup that
 * succeeded while the next one runs, so a name is re-resolved every round
 * without any round waiting for it.
 *
 * Why not glibc's getaddrinfo_a(): a request that has started cannot be
 * cancelled (gai_cancel() returns EAI_NOTCANCELED) and writes its result
 * into the caller's struct gaicb when it ends, so stopping the checker
 * would have to wait for a hung lookup. Here a lookup's job is shared by
 * the cache and its thread through a reference count; whichever lets go
 * last frees it, so hdns_free() returns at once. At most
 * HDNS_INFLIGHT_MAX lookups run at a time; others queue. */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_health.h"

#define HDNS_INFLIGHT_MAX 32

struct hdns_job {
	atomic_int refs;   /* the cache's and the thread's */
	atomic_bool done;  /* err and addr are final */
	hdns_resolve_h fn;
	int err;
	struct sa addr;
	char name[];
};

struct hdns_entry {
	char *name;
	struct hdns_job *job; /* lookup running, or NULL */
	bool queued;          /* wants a lookup, waiting for a free slot */
	bool used;            /* asked for since the last sweep */
	bool have;            /* the last finished lookup gave addr */
	struct sa addr;
};

struct hdns {
	hdns_resolve_h fn;
	struct hdns_entry *e;
	size_t n, cap;
	unsigned inflight;
};

int hdns_getaddrinfo(const char *name, struct sa *out)
{
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *ai = NULL;
	int rc = getaddrinfo(name, NULL, &hints, &ai);
	if (rc != 0)
		return rc;
	rc = EAFNOSUPPORT;
	for (const struct addrinfo *p = ai; p && rc; p = p->ai_next) {
		if ((p->ai_family != AF_INET && p->ai_family != AF_INET6) ||
		    p->ai_addrlen > sizeof(out->u))
			continue;
		memset(out, 0, sizeof(*out));
		memcpy(&out->u, p->ai_addr, p->ai_addrlen);
		out->len = p->ai_addrlen;
		rc = 0;
	}
	freeaddrinfo(ai);
	return rc;
}

static void job_put(struct hdns_job *j)
{
	if (atomic_fetch_sub(&j->refs, 1) == 1)
		free(j);
}

static void *job_main(void *arg)
{
	struct hdns_job *j = arg;
	j->err = j->fn(j->name, &j->addr);
	atomic_store(&j->done, true); /* publishes err and addr */
	job_put(j);
	return NULL;
}

/* A lookup that cannot start counts as a failed one. */
static void entry_start(struct hdns *d, struct hdns_entry *e)
{
	size_t len = strlen(e->name);
	struct hdns_job *j = calloc(1, sizeof(*j) + len + 1);
	pthread_attr_t at;
	pthread_t thr;
	e->queued = false;
	if (!j || pthread_attr_init(&at) != 0) {
		free(j);
		e->have = false;
		return;
	}
	atomic_init(&j->refs, 2);
	atomic_init(&j->done, false);
	j->fn = d->fn;
	memcpy(j->name, e->name, len + 1);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	int rc = pthread_create(&thr, &at, job_main, j);
	pthread_attr_destroy(&at);
	if (rc != 0) {
		free(j);
		e->have = false;
		return;
	}
	e->job = j;
	d->inflight++;
}

static struct hdns_entry *entry_find(const struct hdns *d, const char *name)
{
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->e[i].name, name) == 0)
			return &d->e[i];
	return NULL;
}

static struct hdns_entry *entry_add(struct hdns *d, const char *name)
{
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;
		struct hdns_entry *e = realloc(d->e, cap * sizeof(*e));
		if (!e)
			return NULL;
		d->e = e;
		d->cap = cap;
	}
	struct hdns_entry *e = &d->e[d->n];
	memset(e, 0, sizeof(*e));
	if (!(e->name = strdup(name)))
		return NULL;
	d->n++;
	return e;
}

int hdns_new(struct hdns **dp, hdns_resolve_h fn)
{
	struct hdns *d = calloc(1, sizeof(*d));
	if (!d)
		return ENOMEM;
	d->fn = fn ? fn : hdns_getaddrinfo;
	*dp = d;
	return 0;
}

static void entry_drop(struct hdns *d, struct hdns_entry *e)
{
	if (e->job) {
		job_put(e->job);
		d->inflight--;
	}
	free(e->name);
}

void hdns_free(struct hdns *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++)
		entry_drop(d, &d->e[i]);
	free(d->e);
	free(d);
}

void hdns_want(struct hdns *d, const char *name)
{
	struct hdns_entry *e = entry_find(d, name);
	if (!e && !(e = entry_add(d, name)))
		return; /* hdns_get says FAILED: this round's check fails */
	if (e->used)
		return; /* one lookup per name and round */
	e->used = true;
	if (e->job)
		return; /* still running since an earlier round */
	if (d->inflight < HDNS_INFLIGHT_MAX)
		entry_start(d, e);
	else
		e->queued = true;
}

void hdns_harvest(struct hdns *d)
{
	for (size_t i = 0; i < d->n; i++) {
		struct hdns_entry *e = &d->e[i];
		if (!e->job || !atomic_load(&e->job->done))
			continue;
		e->have = e->job->err == 0;
		if (e->have)
			e->addr = e->job->addr;
		job_put(e->job);
		e->job = NULL;
		d->inflight--;
	}
	for (size_t i = 0; i < d->n && d->inflight < HDNS_INFLIGHT_MAX; i++)
		if (d->e[i].queued)
			entry_start(d, &d->e[i]);
}

enum hdns_state hdns_get(const struct hdns *d, const char *name,
			 struct sa *addr)
{
	const struct hdns_entry *e = entry_find(d, name);
	if (!e)
		return HDNS_FAILED;
	if (e->have) {
		*addr = e->addr;
		return HDNS_READY;
	}
	return e->job || e->queued ? HDNS_PENDING : HDNS_FAILED;
}

void hdns_sweep(struct hdns *d)
{
	size_t m = 0;
	for (size_t i = 0; i < d->n; i++) {
		if (!d->e[i].used) {
			entry_drop(d, &d->e[i]);
			continue;
		}
		d->e[i].used = false;
		d->e[m++] = d->e[i];
	}
	d->n = m;
}

unsigned hdns_inflight(const struct hdns *d)
{
	return d->inflight;
}
