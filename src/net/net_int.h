/* Internal to src/net. */
#ifndef TS_NET_INT_H
#define TS_NET_INT_H
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>

#include "net/loop.h"
#include "net/net.h"

#define NET_UDP_BATCH 32
#define NET_UDP_SLOT 4096     /* larger datagrams are dropped */
#define NET_TCP_MAX_FRAME (65535 + 20)
#define NET_TCP_WBUF_MAX (256 * 1024)
/* A stream without an allocation (not a pipe) stops being read while
 * this much output waits: a client that sends requests and never reads
 * the answers is held back by TCP instead of growing our buffers. Not
 * one with an allocation: its output is mostly what peers send, and a
 * peer sending faster than the client reads must not stop the client's
 * own traffic (the cap then drops, as UDP would). */
#define NET_TCP_WBUF_PAUSE (64 * 1024)
/* A client must finish its TLS handshake, and every STUN message or
 * ChannelData frame it starts, within this long: a peer trickling one
 * byte at a time cannot hold a descriptor forever. */
#define NET_TCP_FRAME_MS 10000
#define NET_SWEEP_MS 250      /* timeouts and accept back-off granularity */
#define NET_ACCEPT_PAUSE_MS 250 /* EMFILE: stop accepting this long */
/* A connection with no allocation and no pipe, quiet this long, is closed:
 * descriptors are the scarce thing, and TURN clients refresh well within
 * it. */
#define NET_TCP_IDLE_MS 60000

struct net_tls {
	SSL_CTX *tls, *dtls;
	uint8_t cookie_key[32]; /* DTLS HelloVerifyRequest cookies */
};

struct net_worker;
struct srccount;
struct net_tcp_conn;

/* First member of every object handed to the turn core as a client
 * connection, so client_send can tell UDP from TCP. */
enum net_kind { NET_KIND_UDP = 1, NET_KIND_TCP = 2, NET_KIND_DTLS = 3 };

/* Outgoing datagrams (dgq.c): up to NET_UDP_BATCH of them, as messages
 * of one or more same-size segments (UDP GSO), each from a socket to an
 * address; a message's msg_iov points at its first slot. Sent by
 * net_dgq_flush, or by net_dgq_add when full. */
struct net_dgq {
	unsigned nslot, nmsg;
	bool no_gso;                       /* the route refused GSO (EIO) */
	struct mmsghdr msg[NET_UDP_BATCH];
	int fd[NET_UDP_BATCH];             /* per message */
	struct sa addr[NET_UDP_BATCH];     /* per message */
	_Alignas(struct cmsghdr) uint8_t ctl[NET_UDP_BATCH][32];
	struct iovec iov[NET_UDP_BATCH];   /* per slot */
	uint8_t buf[NET_UDP_BATCH][NET_UDP_SLOT];
};
void net_dgq_init(struct net_dgq *q);
/* Copy the datagram in; it may join the last message as a GSO segment.
 * One larger than a slot is sent at once, after the queue. */
void net_dgq_add(struct net_dgq *q, int fd, const struct sa *to,
		 const struct iovec *iov, int iovcnt);
void net_dgq_flush(struct net_dgq *q);

/* A UDP listening socket with its batched send queue. */
struct net_udp {
	enum net_kind kind;
	struct loop_fd lf;
	struct net_worker *w;
	struct sa local;
	struct net_udp *rnext; /* retired list */
	struct net_dgq q;
};

struct net_tcp_listener {
	struct loop_fd lf;
	struct net_worker *w;
	struct sa local;
	bool paused; /* EMFILE back-off */
	bool proxy;  /* tcp-proxy-port: streams start with a PROXY header */
};

/* NET_TCP_PROXY: the PROXY header is read first (proxyhdr.c), then the
 * stream goes on as any other. */
enum net_tcp_mode { NET_TCP_SNIFF = 0, NET_TCP_PLAIN, NET_TCP_TLS, NET_TCP_PROXY };

#define NET_PROXY_HDR_MAX 1536 /* a version 2 header with its TLVs */
/* The client's address from a PROXY header at the start of b[0..n): 0
 * with *used its length (*src left as it was for a LOCAL or UNKNOWN
 * header), EAGAIN when more bytes are needed, EBADMSG when it is not
 * one. */
int net_proxy_parse(const uint8_t *b, size_t n, struct sa *src, size_t *used);

/* proxywait.c: streams waiting for their PROXY header, per worker, at
 * most pend_max of them (the oldest of the balancer holding the most
 * makes room). add is false when out of memory: close the stream. */
int net_proxy_wait_init(struct net_worker *w);
void net_proxy_wait_fini(struct net_worker *w);
bool net_proxy_wait_add(struct net_tcp_conn *c);
void net_proxy_wait_del(struct net_tcp_conn *c);

struct net_tcp_conn {
	enum net_kind kind;
	struct loop_fd lf;
	struct net_worker *w;
	struct sa local, remote;
	uint8_t *rbuf;
	size_t rlen, rcap;
	uint8_t *wbuf;
	size_t wlen, wcap;
	bool want_out;
	bool framed;          /* a whole frame has arrived at least once */
	enum net_tcp_mode mode;
	SSL *ssl;             /* NET_TCP_TLS */
	/* Reading stopped before OpenSSL asked for more input, so its
	 * read-ahead buffer may hold whole records (net_tcp_events). */
	bool ssl_held;
	/* TLS 1.3 KeyUpdates the client sent since keyupd_since (tls.c). */
	uint64_t keyupd_since;
	unsigned keyupd_n;
	uint64_t deadline;    /* monotonic ms; 0 = none (NET_TCP_FRAME_MS) */
	struct net_tcp_conn *prev, *next; /* worker's list, for shutdown */
	/* On the worker's dirty list: wbuf holds what this epoll batch
	 * queued, written at its end (net_tcp_flush_dirty). */
	struct net_tcp_conn *dprev, *dnext;
	bool dirty;
	/* tcprelay.c (RFC 6062): a bound client data connection pipes raw
	 * bytes to pipe; handoff names the worker it moves to after this
	 * read; rpaused stops reading while the peer side is full. */
	struct net_tpeer *pipe;
	struct net_worker *handoff;
	bool rpaused;
	bool piped; /* was bound to a peer: closes by lingering (linger.c) */
	uint64_t last_rx; /* monotonic ms of the last read */
	uint32_t ev; /* the epoll events registered */
	bool counted; /* holds a turn_shared_conn_take (no allocation yet) */
	bool allocd;  /* has carried an allocation (sticky) */
	/* On the worker's list of streams awaiting a PROXY header. */
	bool pwaiting;
	struct net_tcp_conn *pprev, *pnext;
};

/* Whether reading c waits: a pipe whose peer is full, or a stream with
 * no allocation whose answers pile up unread (NET_TCP_WBUF_PAUSE). */
static inline bool net_tcp_rblocked(const struct net_tcp_conn *c)
{
	return c->rpaused ||
	       (!c->pipe && !c->allocd && c->wlen >= NET_TCP_WBUF_PAUSE);
}

/* A DTLS session on a UDP listener, found by the client's address. */
struct net_dtls {
	enum net_kind kind; /* NET_KIND_DTLS: the conn handle the core sees */
	struct net_udp *u;
	struct sa remote;
	SSL *ssl;
	const uint8_t *in; /* the datagram being fed to OpenSSL */
	size_t inlen;
	bool listening;    /* the worker's cookie exchanger, not a session */
	bool established;
	bool counted;      /* holds a turn_shared_conn_take (no allocation yet) */
	uint64_t deadline; /* handshake, then idle */
	uint64_t last_rx;  /* monotonic ms of the last datagram */
	struct net_dtls *hnext, *prev, *next;
};

#define NET_DTLS_BUCKETS 1024
#define NET_DTLS_MAX 20000 /* sessions per worker */

struct net_relay {
	struct loop_fd lf;
	struct net_worker *w;
	struct turn_relay *owner;
};

struct net_worker {
	unsigned id;
	pthread_t thread;
	struct loop *loop;
	struct turn_srv *srv;
	struct turn_shared *sh; /* all workers' allocations, for the drain */
	uint64_t now_ms; /* cached once per loop iteration */
	struct net_udp *udp[NET_MAX_LISTEN];
	unsigned nudp;
	struct net_tcp_listener *tcp[NET_MAX_LISTEN];
	unsigned ntcp;
	struct net_tcp_conn *conns;
	struct net_tcp_conn *tcp_dirty; /* streams with output to write */
	bool plain_udp, plain_tcp, tls_on, dtls_on;
	const struct net_tls *tls;
	_Atomic(const struct net_worker_update *) pending_up;
	const struct net_listen_cfg *lc_now; /* the set last applied */
	_Atomic(const struct turn_cfg *) cfg_used; /* applied (net_worker_in_use) */
	_Atomic(const struct net_tls *) tls_used;
	struct net_udp *retired; /* listeners a reload removed (listen.c) */
	struct net_tpeer *throttled; /* RFC 6062 pipes over --max-bps */
	int spare_fd; /* kept for net_accept_shed (EMFILE) */
	struct net_linger *lingering; /* linger.c */
	unsigned nlinger;
	uint64_t next_sweep, accept_resume, emfile_logged, refused_logged;
	uint64_t untrusted_logged; /* tcp-proxy-trusted refusals, said rarely */
	uint64_t keyupd_logged; /* KeyUpdate floods closed (tls.c), said rarely */
	/* proxywait.c: streams awaiting their PROXY header, oldest first,
	 * counted per balancer; pend_top is the one that held the most. */
	struct net_tcp_conn *pend_head, *pend_tail;
	unsigned npend, pend_max;
	struct srccount *pend_src;
	struct sa pend_top;
	uint64_t pend_logged;
	/* DTLS: the cookie exchanger, the sessions and their index. */
	BIO_METHOD *biom;
	struct net_dtls *dlisten;
	struct net_dtls *dsessions;
	struct net_dtls *dbuckets[NET_DTLS_BUCKETS];
	unsigned ndtls;
	uint32_t dseed;
	BIO_ADDR *dpeer;
	uint8_t dtls_buf[16384]; /* one record's plaintext */
	uint8_t dtls_out[16384];
	/* A revoked set waiting for the worker (one reference; NULL: none
	 * waiting): net_worker_set_revoked. */
	_Atomic(struct turn_revoked *) pending_rv;
	atomic_bool draining;
	atomic_bool done; /* the thread has left its loop */
	atomic_uint_fast64_t deadline;
	atomic_uint nallocs;
	/* The receive batch, wired up once (net_recv_init) and shared by
	 * every socket of this worker: listeners and relays. */
	uint8_t rbufs[NET_UDP_BATCH][NET_UDP_SLOT];
	struct mmsghdr rmsgs[NET_UDP_BATCH];
	struct iovec riov[NET_UDP_BATCH];
	struct sa rfrom[NET_UDP_BATCH];
	unsigned rused; /* entries the last read filled: reset only those */
	/* Datagrams to peers, from every relay socket of this worker: they
	 * leave with the listeners' queues (net_flush_all). */
	struct net_dgq rq;
	/* tcprelay.c: client connections handed over by other workers */
	pthread_mutex_t xfer_mu;
	struct net_tcp_conn *xfer;
	struct loop_fd xfer_lf;
};

/* Whether a warning that a client can provoke may be logged now: at
 * most once every NET_SAY_RARELY_MS per worker and kind (*last). */
#define NET_SAY_RARELY_MS 10000
static inline bool net_say_rarely(const struct net_worker *w, uint64_t *last)
{
	if (*last && w->now_ms - *last < NET_SAY_RARELY_MS)
		return false;
	*last = w->now_ms;
	return true;
}

/* The configuration this worker applied: its limits are read here. */
static inline const struct turn_cfg *net_worker_cfg(const struct net_worker *w)
{
	return atomic_load_explicit(&w->cfg_used, memory_order_relaxed);
}

/* linger.c: close a pipe's socket without a reset; takes fd and ssl */
struct net_linger;
void net_linger_start(struct net_worker *w, int fd, SSL *ssl);
void net_linger_sweep(struct net_worker *w);
void net_linger_fini(struct net_worker *w);

/* listen.c */
int net_listen_open(struct net_worker *w, const struct net_listen_cfg *lc);
void net_listen_change(struct net_worker *w, const struct net_listen_cfg *lc);
void net_listen_fini(struct net_worker *w);

/* udp.c */
int net_udp_open(struct net_worker *w, const struct sa *addr,
		 struct net_udp **up);
void net_udp_close(struct net_udp *u);
void net_udp_flush(struct net_udp *u);
void net_udp_queue(struct net_udp *u, const struct sa *to,
		   const struct iovec *iov, int iovcnt);
int net_socket_bind(int type, const struct sa *addr, bool reuseport);
void net_socket_buffers(int fd);
void net_recv_init(struct net_worker *w);
/* One recvmmsg into the worker's batch; returns the count (0 on
 * EAGAIN). Truncated datagrams come back with rmsgs[i].msg_len = 0. */
int net_recv_batch(struct net_worker *w, int fd);

/* tcpaccept.c: listeners, accept, the sweep */
#define NET_TCP_RBUF_INIT 2048 /* a new stream's rbuf */
void net_tcp_nodelay(int fd);
int net_tcp_listen(struct net_worker *w, const struct sa *addr, bool proxy,
		   struct net_tcp_listener **lp);
void net_tcp_listener_close(struct net_tcp_listener *l);
void net_tcp_close_all(struct net_worker *w);
void net_tcp_sweep(struct net_worker *w);
void net_accept_shed(struct net_worker *w, int lfd);
/* A source refused at max-unauth-tcp-per-ip; what is "TCP/TLS" or
 * "DTLS". Logged at most every 10 s per worker. */
void net_unauth_refused(struct net_worker *w, const struct sa *remote,
			unsigned max, const char *what);

/* tcp.c: a connection's stream */
/* The connection as the turn core knows it (its 5-tuple and handle).
 * Inline here, not exported from tcp.c: under -fPIC GCC does not inline
 * an exported function even in its own file, and this runs per frame. */
static inline struct turn_src net_tcp_src(struct net_tcp_conn *c)
{
	return (struct turn_src){.proto = TURN_PROTO_TCP, .secure = c->ssl != NULL,
				 .client = c->remote, .local = c->local, .conn = c};
}

/* No longer counted against its source (--max-unauth-tcp-per-ip). */
static inline void net_tcp_uncount(struct net_tcp_conn *c)
{
	if (!c->counted)
		return;
	c->counted = false;
	turn_shared_conn_put(c->w->sh, &c->remote);
}

/* The connection's epoll handler (its loop_fd). */
void net_tcp_event(struct loop_fd *lf, uint32_t events);
/* Queues the frame; it is written by net_tcp_flush_dirty at the end of
 * the epoll batch (net_flush_all), or by net_tcp_flush_now before the
 * stream is closed or handed to another worker. */
void net_tcp_send(struct net_tcp_conn *c, const struct iovec *iov, int iovcnt);
void net_tcp_flush_dirty(struct net_worker *w);
void net_tcp_flush_now(struct net_tcp_conn *c);
void net_tcp_want_out(struct net_tcp_conn *c, bool on);

/* tls.c: TLS under the TCP framing */
int net_tls_conn_start(struct net_tcp_conn *c);
/* Read and decrypt all that is ready, handing frames on. 0, or an errno
 * value: close the connection. */
int net_tls_conn_read(struct net_tcp_conn *c);
/* Encrypt and send what wbuf holds. 0, or an errno value. */
int net_tls_conn_flush(struct net_tcp_conn *c);
int net_tcp_frames(struct net_tcp_conn *c);

/* dtls.c */
int net_dtls_init(struct net_worker *w);
void net_dtls_fini(struct net_worker *w);
void net_dtls_input(struct net_udp *u, const struct sa *from,
		    const uint8_t *buf, size_t len);
void net_dtls_send(struct net_dtls *d, const struct iovec *iov, int iovcnt);
void net_dtls_sweep(struct net_worker *w);
/* A new net_tls: the cookie exchanger is rebuilt on it. */
void net_dtls_set_ctx(struct net_worker *w);
int net_dtls_cookie_gen(SSL *ssl, unsigned char *cookie, unsigned int *len);
int net_dtls_cookie_verify(SSL *ssl, const unsigned char *cookie,
			   unsigned int len);

void net_tcp_close(struct net_tcp_conn *c);
/* What was read: frames to the turn core, or raw bytes to a pipe. 0, or
 * an errno value to close on. */
int net_tcp_consume(struct net_tcp_conn *c);
/* A connection handed over from another worker: consume its rbuf. */
void net_tcp_input(struct net_tcp_conn *c);
/* Re-arm epoll after want_out or rpaused changed. */
void net_tcp_events(struct net_tcp_conn *c);

/* tcprelay.c: TCP relays (RFC 6062) */
struct net_tpeer;
int net_tcprelay_init(struct net_worker *w);
void net_tcprelay_fini(struct net_worker *w);
void net_tcprelay_sweep(struct net_worker *w);
void net_tcprelay_io(struct turn_io *io);
void net_tcprelay_handoff(struct net_tcp_conn *c);
void net_pipe_client_input(struct net_tcp_conn *c);
void net_pipe_client_drained(struct net_tcp_conn *c);
void net_pipe_client_closed(struct net_tcp_conn *c);

/* relay.c: the turn_io implementation */
void net_io_init(struct net_worker *w, struct turn_io *io);
void net_flush_all(struct net_worker *w);

#endif
