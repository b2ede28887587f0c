/* Internals of the health checker, shared by api_health*.c and the unit
 * tests. A round probes every URL at once and ends at one shared
 * deadline (api_health_round.c: bookkeeping, api_health_probe.c:
 * sockets); names are resolved off the probe path (api_health_dns.c). */
#ifndef TS_API_HEALTH_H
#define TS_API_HEALTH_H
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/api.h"
#include "store/store.h"
#include "stun/stun.h"
#include "util/sa.h"

/* ----- the state of one URL (api_health.c) ----- */

struct htarget {
	char url[STORE_URL_MAX];
	unsigned fails;      /* failed checks in a row */
	bool healthy;
	bool checked;
	uint64_t last_check; /* unix s */
	double rtt_ms;
};

/* One check's outcome: down after `failures` failures in a row, up again
 * after one success. */
void htarget_record(struct htarget *t, bool ok, double rtt_ms,
		    unsigned failures, uint64_t now_unix);

/* ----- name resolution (api_health_dns.c) ----- */

/* Resolve name to its first address (port 0): 0, or nonzero on failure.
 * May block for as long as the system resolver takes. */
typedef int (*hdns_resolve_h)(const char *name, struct sa *out);
int hdns_getaddrinfo(const char *name, struct sa *out); /* the default */

enum hdns_state { HDNS_READY, HDNS_PENDING, HDNS_FAILED };

struct hdns;
/* A cache of names to addresses; fn NULL means hdns_getaddrinfo. */
int hdns_new(struct hdns **dp, hdns_resolve_h fn);
/* Returns at once, even while lookups still run (they finish alone). */
void hdns_free(struct hdns *d);
/* A round needs name: start a fresh lookup unless one is running. */
void hdns_want(struct hdns *d, const char *name);
/* Collect finished lookups and start queued ones (never blocks). */
void hdns_harvest(struct hdns *d);
/* READY with the address of the last successful lookup; PENDING while
 * the first one (or the one after a failure) runs; FAILED otherwise. */
enum hdns_state hdns_get(const struct hdns *d, const char *name,
			 struct sa *addr);
/* End of a round: forget names no hdns_want asked for since the last
 * sweep (their lookups, if any, finish on their own). */
void hdns_sweep(struct hdns *d);
/* Lookups running now (tests). */
unsigned hdns_inflight(const struct hdns *d);

/* ----- one round of probes (api_health_round.c) ----- */

enum hprobe_state {
	HP_DNS,     /* waiting for the name */
	HP_START,   /* address known, nothing sent yet */
	HP_WAIT,    /* UDP: Binding sent, waiting for the answer */
	HP_CONNECT, /* TCP/TLS: connect in progress */
	HP_READ,    /* TCP: Binding sent, reading the answer */
	HP_DONE,
};

#define HPROBE_RBUF 1500
/* TCP/TLS sockets a round holds at once: the server's own listeners and
 * relays share the descriptor limit. A probe that finds no free slot
 * before the deadline is skipped (no check this round, not a failure);
 * each round starts at a random probe, so none is skipped for ever. */
#define HROUND_TCP_MAX 256

struct hprobe {
	enum api_transport t;
	enum hprobe_state st;
	bool ok;
	bool skipped;            /* TCP/TLS: no socket slot this round */
	uint16_t port;
	unsigned sends;          /* UDP Binding requests sent */
	int fd;                  /* TCP/TLS socket or -1 */
	struct sa addr;
	uint8_t tid[STUN_TID_LEN];
	uint64_t t0_us, next_us; /* first send or connect; next retransmit */
	double rtt_ms;
	size_t got;              /* TCP: bytes of the answer in rbuf */
	char host[STORE_URL_MAX];
	uint8_t rbuf[HPROBE_RBUF];
};

struct hround_tid {
	uint8_t tid[STUN_TID_LEN];
	uint32_t idx;
};

struct hround {
	struct hprobe *p;
	size_t n, left;          /* probes, and those not done */
	struct hround_tid *tids; /* sorted by tid, for hround_match */
	uint64_t deadline_us, rto_us;
	int udp[2];              /* shared UDP sockets (IPv4, IPv6) or -1 */
	size_t first;            /* probes start from here (random) */
	unsigned tcp_open, tcp_max;
};

/* Parse every URL, draw transaction ids, take IP literals as they are.
 * A URL that does not parse is done (failed) at once. 0 or ENOMEM. */
int hround_init(struct hround *r, const char (*urls)[STORE_URL_MAX],
		size_t n, uint32_t timeout_ms, uint32_t rto_ms, uint64_t now_us);
/* Closes every socket the round still holds. */
void hround_free(struct hround *r);
/* The probe a UDP datagram answers (a Binding success or error response
 * with its transaction id, from its server's address and port), or -1. */
long hround_match(const struct hround *r, const uint8_t *buf, size_t len,
		  const struct sa *from);
/* TCP probe p after more bytes: 1 a whole answer with its id, 0 not yet,
 * -1 something else (or an answer larger than HPROBE_RBUF). */
int hround_stream_check(const struct hprobe *p);
/* Probe i is finished: closes its socket, records the outcome. */
void hround_done(struct hround *r, size_t i, bool ok, uint64_t now_us);
/* Probes waiting for names: start those now resolved, fail the rest
 * whose lookup failed. */
void hround_resolve(struct hround *r, const struct hdns *d);
/* UDP probe i needs its one retransmission now. */
bool hround_rtx_due(const struct hround *r, size_t i, uint64_t now_us);
/* At the deadline every unfinished probe fails (or is skipped, if it
 * never had a TCP slot). True once all are done. */
bool hround_expire(struct hround *r, uint64_t now_us);
/* How long poll() may sleep: until the deadline or the next
 * retransmission; tick_ms at most while names or sends are pending. */
int hround_wait_ms(const struct hround *r, uint64_t now_us, int tick_ms);

/* ----- the sockets (api_health_probe.c) ----- */

/* Run the round to its end: all probes done, the deadline, or *stop. */
void hround_run(struct hround *r, struct hdns *d, const atomic_bool *stop);

#endif
