/* Deadlines on the API's connections, against slowloris clients.
 *
 * libmicrohttpd's own timeout (MHD_OPTION_CONNECTION_TIMEOUT) counts
 * inactivity, so it restarts on every byte: a client that sends one byte
 * of its request head every few seconds holds a connection slot for as
 * long as it likes, and a few thousand of them hold them all. Here each
 * connection carries a deadline for what it is doing, whatever it
 * trickles:
 *
 *   HEAD  the request head must be complete head_us after the connection
 *         was accepted (or after its request line, on a reused one);
 *   BODY  the rest of the request, body and answer, within body_us of
 *         the head being complete;
 *   IDLE  between requests, idle_us (libmicrohttpd's inactivity timeout)
 *         plus head_us for the next request line and head.
 *
 * Each source (api_srccap.c: an IPv6 client by its /64) holds at most
 * per_src connections: one more is refused (libmicrohttpd's accept
 * policy callback asks api_conns_src_full first; api_conns_open counts).
 *
 * That bounds how long a slot is held, not how many: clients from more
 * addresses than limit / per_src can still fill every slot, for a
 * head_us at a time. So under pressure (three quarters of limit open) a
 * connection that has spent grace_us in its phase goes too: a genuine
 * client sends its head (or body) at once, and an idle kept-alive one
 * just reconnects.
 *
 * A sweeper thread shuts down (shutdown(2)) the socket of a connection
 * past its deadline; libmicrohttpd then reads end-of-file and closes it
 * on its own thread. The fd is only touched under mu while the
 * connection is in the list, and libmicrohttpd removes it (its
 * MHD_CONNECTION_NOTIFY_CLOSED callback calls api_conns_close) before it
 * closes the fd, so the sweeper never hits a reused descriptor. */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "api/api_int.h"
#include "util/cond.h"

#define SWEEP_MS 250

enum conn_phase { PHASE_HEAD, PHASE_BODY, PHASE_IDLE };

struct api_conn {
	struct api_conn *prev, *next;
	int fd;
	enum conn_phase phase;
	uint64_t since_us;    /* start of the phase */
	uint64_t deadline_us;
	bool shut; /* shutdown(2) done: libmicrohttpd will close it */
	bool counted; /* src is counted in cs->src */
	struct sa src;
};

struct api_conns {
	pthread_mutex_t mu; /* guards the list and every entry in it */
	struct api_conn *head;
	unsigned n;
	struct api_conns_cfg cfg;
	struct api_srccap *src; /* open connections per source */
	atomic_ulong closed[2]; /* by phase: HEAD (and IDLE), BODY */
	pthread_mutex_t wait_mu;
	pthread_cond_t wait_cv;
	bool stopping; /* under wait_mu */
	bool started;
	pthread_t sweeper;
};

int api_conns_alloc(struct api_conns **csp, const struct api_conns_cfg *cfg)
{
	struct api_conns *cs = calloc(1, sizeof(*cs));
	if (!cs || api_srccap_alloc(&cs->src, cfg->per_src) != 0) {
		free(cs);
		return ENOMEM;
	}
	cs->cfg = *cfg;
	pthread_mutex_init(&cs->mu, NULL);
	pthread_mutex_init(&cs->wait_mu, NULL);
	cond_init_mono(&cs->wait_cv);
	*csp = cs;
	return 0;
}

/* After libmicrohttpd has stopped: any entry left is freed. */
void api_conns_free(struct api_conns *cs)
{
	if (!cs)
		return;
	api_conns_stop(cs);
	while (cs->head) {
		struct api_conn *c = cs->head;
		cs->head = c->next;
		free(c);
	}
	api_srccap_free(cs->src);
	pthread_cond_destroy(&cs->wait_cv);
	pthread_mutex_destroy(&cs->wait_mu);
	pthread_mutex_destroy(&cs->mu);
	free(cs);
}

bool api_conns_src_full(struct api_conns *cs, const struct sa *src)
{
	return api_srccap_full(cs->src, src);
}

struct api_conn *api_conns_open(struct api_conns *cs, int fd,
				const struct sa *src, uint64_t now_us)
{
	struct api_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	/* The accept policy checked already; this counts, and refuses the
	 * rare one that another thread's accept beat to the last place. */
	if (src && !api_srccap_take(cs->src, src)) {
		free(c);
		return NULL;
	}
	c->counted = src != NULL;
	if (src)
		c->src = *src;
	c->fd = fd;
	c->phase = PHASE_HEAD;
	c->since_us = now_us;
	c->deadline_us = now_us + cs->cfg.head_us;
	pthread_mutex_lock(&cs->mu);
	c->next = cs->head;
	if (cs->head)
		cs->head->prev = c;
	cs->head = c;
	cs->n++;
	pthread_mutex_unlock(&cs->mu);
	return c;
}

void api_conns_close(struct api_conns *cs, struct api_conn *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&cs->mu);
	if (c->prev)
		c->prev->next = c->next;
	else
		cs->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	cs->n--;
	pthread_mutex_unlock(&cs->mu);
	if (c->counted)
		api_srccap_put(cs->src, &c->src);
	free(c);
}

static void conn_set(struct api_conns *cs, struct api_conn *c,
		     enum conn_phase p, uint64_t now_us, uint64_t deadline_us)
{
	pthread_mutex_lock(&cs->mu);
	c->phase = p;
	c->since_us = now_us;
	c->deadline_us = deadline_us;
	pthread_mutex_unlock(&cs->mu);
}

/* The request line is in. On a new connection the head's deadline runs
 * from the accept already; on a reused one it now runs from here. */
void api_conns_request_line(struct api_conns *cs, struct api_conn *c,
			    uint64_t now_us)
{
	if (!c)
		return;
	pthread_mutex_lock(&cs->mu);
	if (c->phase == PHASE_IDLE) {
		c->since_us = now_us;
		if (now_us + cs->cfg.head_us < c->deadline_us)
			c->deadline_us = now_us + cs->cfg.head_us;
	}
	c->phase = PHASE_HEAD;
	pthread_mutex_unlock(&cs->mu);
}

void api_conns_head_done(struct api_conns *cs, struct api_conn *c,
			 uint64_t now_us)
{
	if (c)
		conn_set(cs, c, PHASE_BODY, now_us, now_us + cs->cfg.body_us);
}

void api_conns_request_done(struct api_conns *cs, struct api_conn *c,
			    uint64_t now_us)
{
	if (c)
		conn_set(cs, c, PHASE_IDLE, now_us,
			 now_us + cs->cfg.idle_us + cs->cfg.head_us);
}

unsigned api_conns_sweep(struct api_conns *cs, uint64_t now_us)
{
	unsigned n = 0;
	pthread_mutex_lock(&cs->mu);
	bool pressure = cs->cfg.limit &&
			cs->n >= cs->cfg.limit - cs->cfg.limit / 4;
	for (struct api_conn *c = cs->head; c; c = c->next) {
		bool late = now_us >= c->deadline_us ||
			    (pressure && now_us >= c->since_us + cs->cfg.grace_us);
		if (c->shut || !late)
			continue;
		/* Both ways: libmicrohttpd's next read returns 0 and it
		 * closes the connection as one the client ended. */
		shutdown(c->fd, SHUT_RDWR);
		c->shut = true;
		atomic_fetch_add(&cs->closed[c->phase == PHASE_BODY], 1);
		n++;
	}
	pthread_mutex_unlock(&cs->mu);
	return n;
}

void api_conns_stats(struct api_conns *cs, unsigned long *head,
		     unsigned long *body)
{
	*head = atomic_load(&cs->closed[0]);
	*body = atomic_load(&cs->closed[1]);
}

static void *conns_sweeper(void *arg)
{
	struct api_conns *cs = arg;
	pthread_mutex_lock(&cs->wait_mu);
	while (!cs->stopping) {
		cond_wait_ms(&cs->wait_cv, &cs->wait_mu, SWEEP_MS);
		if (!cs->stopping)
			api_conns_sweep(cs, api_now_us());
	}
	pthread_mutex_unlock(&cs->wait_mu);
	return NULL;
}

int api_conns_start(struct api_conns *cs)
{
	if (pthread_create(&cs->sweeper, NULL, conns_sweeper, cs) != 0)
		return EAGAIN;
	cs->started = true;
	return 0;
}

void api_conns_stop(struct api_conns *cs)
{
	if (!cs->started)
		return;
	pthread_mutex_lock(&cs->wait_mu);
	cs->stopping = true;
	pthread_cond_signal(&cs->wait_cv);
	pthread_mutex_unlock(&cs->wait_mu);
	pthread_join(cs->sweeper, NULL);
	cs->started = false;
}
