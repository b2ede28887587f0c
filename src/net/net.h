/* Transports and workers. One worker per core, each with its own epoll
 * loop, its own SO_REUSEPORT listening sockets and its own turn_srv, so
 * the packet path shares nothing between threads. */
#ifndef TS_NET_H
#define TS_NET_H
#include <stdbool.h>
#include <stdint.h>

#include "turn/turn.h"
#include "util/sa.h"

/* addresses x ports: 8 listening IPs on 4 ports (listening, TLS, alt,
 * tcp-proxy), and 8 aux-servers */
#define NET_MAX_LISTEN 40

/* Every listening address serves every transport that is on: a TCP
 * listener with both plain TCP and TLS on tells them apart by the first
 * byte, a UDP listener with DTLS on sends DTLS records (first byte 20-63,
 * RFC 7983) to DTLS. One port 443 then serves every client. */
struct net_listen_cfg {
	struct sa addrs[NET_MAX_LISTEN]; /* port set */
	unsigned naddrs;
	bool udp, tcp;  /* plain STUN/TURN */
	bool tls, dtls; /* need a struct net_tls */
	/* tcp-proxy-port: addresses on this port listen over TCP only, for
	 * streams that start with a PROXY header (0 = none). */
	uint16_t proxy_port;
	/* Per worker, streams still waiting for that header
	 * (net_proxy_wait_max). */
	unsigned proxy_wait;
};

/* TLS and DTLS server contexts, built once from files and then read-only;
 * reload builds a new one. */
struct net_tls_cfg {
	const char *cert;        /* PEM chain */
	const char *pkey;        /* PEM private key */
	const char *ca_file;     /* "" = no client certificates asked */
	const char *cipher_list; /* TLS 1.2 ciphers; "" = OpenSSL's default */
	bool tls13_only;         /* --no-tlsv1_2 */
	const char *dh_file;     /* PEM DH parameters; NULL/"" = OpenSSL's auto */
	const char *groups;      /* key exchange groups ("P-256:..."); NULL/"" = default */
	const char *pkey_pwd;    /* password of an encrypted pkey; NULL/"" = none */
};

struct net_tls;

/* 0, or an errno value with a one-line reason in err naming the file. */
int net_tls_new(struct net_tls **tp, const struct net_tls_cfg *c, char *err,
		size_t errlen);
void net_tls_free(struct net_tls *t);

struct net_worker;

/* Create a worker and bind its listening sockets (SO_REUSEPORT). tls is
 * needed when lc->tls or lc->dtls; it must outlive the worker's use of
 * it (net_worker_in_use). */
int net_worker_alloc(struct net_worker **wp, unsigned id,
		     const struct net_listen_cfg *lc,
		     const struct turn_cfg *tcfg, struct turn_shared *sh,
		     const struct net_tls *tls);
/* What a reload hands a worker: the TURN configuration, and the TLS
 * contexts and listening set that go with it (NULL: keep the worker's).
 * A worker applies all of it in one step, between packets, so it never
 * serves new listeners under the old configuration, whose peer policy
 * does not know them (tcfg.c), or the reverse. */
struct net_worker_update {
	const struct turn_cfg *cfg;
	const struct net_tls *tls;   /* new handshakes; sessions keep theirs */
	/* Addresses that stay keep their sockets, removed ones close (their
	 * TCP connections go on), new ones are bound; ignored once draining. */
	const struct net_listen_cfg *lc;
};
/* Hand the worker an update (reload). One it has not picked up yet is
 * replaced, so each must be whole: the latest TLS contexts and listening
 * set, changed or not. The update and all it points to must stay until
 * net_worker_in_use reports a newer configuration. Thread-safe. */
void net_worker_set_update(struct net_worker *w,
			   const struct net_worker_update *up);
/* The TURN configuration and TLS contexts the worker has applied (what
 * it was handed but has not picked up yet is not counted). Thread-safe. */
void net_worker_in_use(const struct net_worker *w, const struct turn_cfg **cfg,
		       const struct net_tls **tls);
/* Whether every address lc adds to old can be bound now (run before
 * asking workers to). 0, or an errno value with a reason in why. */
int net_listen_check(const struct net_listen_cfg *old,
		     const struct net_listen_cfg *lc, char *why, size_t whylen);
int net_worker_start(struct net_worker *w);
/* Ask the worker to drain: close listeners' accept side, refuse new
 * allocations, and exit once no worker has allocations left (they share
 * the listening ports) or deadline_ms (monotonic) passes. Thread-safe. */
void net_worker_drain(struct net_worker *w, uint64_t deadline_ms);
/* Hand the worker a new revoked set (turn_srv_set_revoked), taking a
 * reference of its own; a set it has not picked up yet is dropped.
 * Thread-safe. */
void net_worker_set_revoked(struct net_worker *w, struct turn_revoked *r);
void net_worker_join(struct net_worker *w);
/* true once a started worker has left its loop (drained); join is then
 * immediate. Thread-safe. */
bool net_worker_done(const struct net_worker *w);
void net_worker_free(struct net_worker *w);
unsigned net_worker_allocations(const struct net_worker *w);
/* For the metrics exporter (any thread): the worker's counters and the
 * time its loop spent busy. */
const struct turn_stats *net_worker_stats(const struct net_worker *w);
uint64_t net_worker_busy_ns(const struct net_worker *w);
/* Before net_worker_start: where usage records go (turn_srv_set_usage_h). */
void net_worker_set_usage_h(struct net_worker *w, turn_usage_h *h, void *arg);

/* How many streams awaiting a PROXY header each of nworkers workers may
 * hold: a quarter of the descriptor limit (RLIMIT_NOFILE) between them,
 * from 16 to 4096 each. */
unsigned net_proxy_wait_max(unsigned nworkers);

/* Monotonic milliseconds. */
uint64_t net_mono_ms(void);

#endif
