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
	struct turn_shared *sh; /* all workers' allocations, for the drain */
	uint64_t now_ms; /* cached once per loop iteration */
	struct net_udp *udp[NET_MAX_LISTEN];
	unsigned nudp;
	struct net_tcp_listener *tcp[NET_MAX_LISTEN];
	unsigned ntcp;
	struct net_tcp_conn *conns;
	_Atomic(const struct turn_cfg *) pending_cfg;
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

/* relay.c: the turn_io implementation */
void net_io_init(struct net_worker *w, struct turn_io *io);
void net_flush_all(struct net_worker *w);

#endif
