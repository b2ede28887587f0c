/* Transports and workers. One worker per core, each with its own epoll
 * loop, its own SO_REUSEPORT listening sockets and its own turn_srv, so
 * the packet path shares nothing between threads. */
#ifndef TS_NET_H
#define TS_NET_H
#include <stdbool.h>
#include <stdint.h>

#include "turn/turn.h"
#include "util/sa.h"

#define NET_MAX_LISTEN 8

struct net_listen_cfg {
	struct sa addrs[NET_MAX_LISTEN]; /* port set */
	unsigned naddrs;
	bool udp, tcp;
};

struct net_worker;

/* Create a worker and bind its listening sockets (SO_REUSEPORT). */
int net_worker_alloc(struct net_worker **wp, unsigned id,
		     const struct net_listen_cfg *lc,
		     const struct turn_cfg *tcfg, struct turn_shared *sh);
int net_worker_start(struct net_worker *w);
/* Ask the worker to drain: close listeners' accept side, refuse new
 * allocations, and exit once no worker has allocations left (they share
 * the listening ports) or deadline_ms (monotonic) passes. Thread-safe. */
void net_worker_drain(struct net_worker *w, uint64_t deadline_ms);
/* Swap the TURN configuration (reload). Thread-safe. */
void net_worker_set_cfg(struct net_worker *w, const struct turn_cfg *tcfg);
void net_worker_join(struct net_worker *w);
/* true once a started worker has left its loop (drained); join is then
 * immediate. Thread-safe. */
bool net_worker_done(const struct net_worker *w);
void net_worker_free(struct net_worker *w);
unsigned net_worker_allocations(const struct net_worker *w);

/* Monotonic milliseconds. */
uint64_t net_mono_ms(void);

#endif
