/* Internal to src/net. */
#ifndef TS_NET_INT_H
#define TS_NET_INT_H
#include <pthread.h>
#include <stdatomic.h>

#include "net/loop.h"
#include "net/net.h"

#define NET_UDP_BATCH 32
#define NET_UDP_SLOT 4096     /* larger datagrams are dropped */
#define NET_TCP_MAX_FRAME (65535 + 20)
#define NET_TCP_WBUF_MAX (256 * 1024)

struct net_worker;

/* First member of every object handed to the turn core as a client
 * connection, so client_send can tell UDP from TCP. */
enum net_kind { NET_KIND_UDP = 1, NET_KIND_TCP = 2 };

/* A UDP listening socket with its batched send queue. */
struct net_udp {
	enum net_kind kind;
	struct loop_fd lf;
	struct net_worker *w;
	struct sa local;
	unsigned nq;
	struct mmsghdr qmsg[NET_UDP_BATCH];
	struct iovec qiov[NET_UDP_BATCH];
	struct sa qaddr[NET_UDP_BATCH];
	uint8_t qbuf[NET_UDP_BATCH][NET_UDP_SLOT];
};

struct net_tcp_listener {
	struct loop_fd lf;
	struct net_worker *w;
	struct sa local;
};

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
	struct net_tcp_conn *prev, *next; /* worker's list, for shutdown */
	/* tcprelay.c (RFC 6062): a bound client data connection pipes raw
	 * bytes to pipe; handoff names the worker it moves to after this
	 * read; rpaused stops reading while the peer side is full. */
	struct net_tpeer *pipe;
	struct net_worker *handoff;
	bool rpaused;
};

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
	uint64_t now_ms; /* cached once per loop iteration */
	struct net_udp *udp[NET_MAX_LISTEN];
	unsigned nudp;
	struct net_tcp_listener *tcp[NET_MAX_LISTEN];
	unsigned ntcp;
	struct net_tcp_conn *conns;
	_Atomic(const struct turn_cfg *) pending_cfg;
	atomic_bool draining;
	atomic_uint_fast64_t deadline;
	atomic_uint nallocs;
	/* The receive batch, wired up once (net_recv_init) and shared by
	 * every socket of this worker: listeners and relays. */
	uint8_t rbufs[NET_UDP_BATCH][NET_UDP_SLOT];
	struct mmsghdr rmsgs[NET_UDP_BATCH];
	struct iovec riov[NET_UDP_BATCH];
	struct sa rfrom[NET_UDP_BATCH];
	unsigned rused; /* entries the last read filled: reset only those */
	/* tcprelay.c: client connections handed over by other workers */
	pthread_mutex_t xfer_mu;
	struct net_tcp_conn *xfer;
	struct loop_fd xfer_lf;
};

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

/* tcp.c */
int net_tcp_listen(struct net_worker *w, const struct sa *addr,
		   struct net_tcp_listener **lp);
void net_tcp_listener_close(struct net_tcp_listener *l);
void net_tcp_send(struct net_tcp_conn *c, const struct iovec *iov, int iovcnt);
void net_tcp_close_all(struct net_worker *w);
void net_tcp_close(struct net_tcp_conn *c);
/* What was read: frames to the turn core, or raw bytes to a pipe. */
void net_tcp_input(struct net_tcp_conn *c);
/* Re-arm epoll after want_out or rpaused changed. */
void net_tcp_events(struct net_tcp_conn *c);

/* tcprelay.c: TCP relays (RFC 6062) */
struct net_tpeer;
int net_tcprelay_init(struct net_worker *w);
void net_tcprelay_fini(struct net_worker *w);
void net_tcprelay_io(struct turn_io *io);
void net_tcprelay_handoff(struct net_tcp_conn *c);
void net_pipe_client_input(struct net_tcp_conn *c);
void net_pipe_client_drained(struct net_tcp_conn *c);
void net_pipe_client_closed(struct net_tcp_conn *c);

/* relay.c: the turn_io implementation */
void net_io_init(struct net_worker *w, struct turn_io *io);
void net_flush_all(struct net_worker *w);

#endif
