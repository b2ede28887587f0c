/* The Prometheus exporter for the TURN side (issue 5): --prometheus on
 * --prometheus-address:--prometheus-port (127.0.0.1:9641), GET /metrics,
 * text format 0.0.4. Workers' counters are summed at scrape time; no
 * label carries a username. */
#ifndef TS_SERVER_PROM_H
#define TS_SERVER_PROM_H
#include <stdint.h>
#include <stdio.h>

#include "turn/turn.h"

#define PROM_MAX_WORKERS 64

/* What one scrape reads, gathered from the live objects. */
struct prom_view {
	const struct turn_stats *stats[PROM_MAX_WORKERS];
	uint64_t busy_ns[PROM_MAX_WORKERS];
	unsigned nworkers;
	unsigned ports_free, ports_total;
	uint64_t bps_granted;
	uint64_t usage_dropped;
	/* The revoked set (blocks.c, revsync.c): its size, and for
	 * revoked-from the failed polls and the last good one (unix s). */
	uint64_t rv_users, rv_accounts;
	bool rv_polling;
	uint64_t rv_failures;
	int64_t rv_last_ok;
};

/* Writes the exposition text for v to f. */
void prom_render(const struct prom_view *v, FILE *f);

/* Fills a prom_view; called on the exporter's thread for every scrape. */
typedef void(prom_view_h)(void *arg, struct prom_view *v);

struct prom;
/* ip is a literal (IPv4 or IPv6). fd: a socket already listening there,
 * handed over (libmicrohttpd closes it at stop), or -1 to bind it here.
 * 0, EINVAL or EADDRINUSE. */
int prom_start(struct prom **pp, const char *ip, uint16_t port, int fd,
	       prom_view_h *h, void *arg);
void prom_stop(struct prom *p);

#endif
