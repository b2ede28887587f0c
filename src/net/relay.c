/* Relay sockets and the turn_io the core uses: datagrams from peers come
 * in through recvmmsg batches; sends to clients go through the UDP
 * listener's send queue or the TCP connection. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/net_int.h"

static void relay_readable(struct loop_fd *lf, uint32_t events)
{
	struct net_relay *r = lf->arg;
	struct net_worker *w = r->w;
	(void)events;
	int n = net_recv_batch(w, lf->fd);
	for (int i = 0; i < n && lf->fd >= 0; i++) {
		if (w->rmsgs[i].msg_len == 0)
			continue;
		turn_peer_input(w->srv, r->owner, &w->rfrom[i], w->rbufs[i],
				w->rmsgs[i].msg_len);
	}
	/* No flush here: what this relay queued for clients on the UDP
	 * listeners leaves with what the other ready relays queue, in one
	 * sendmmsg after the whole epoll batch (worker_step). */
}

/* RFC 8656 7.2 (DONT-FRAGMENT): set DF on everything this relay sends. */
static void relay_set_df(int fd, int af)
{
	int v = IP_PMTUDISC_DO, one = 1;
	if (af == AF_INET)
		setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &v, sizeof(v));
	else
		setsockopt(fd, IPPROTO_IPV6, IPV6_DONTFRAG, &one, sizeof(one));
}

static int io_relay_open(void *arg, const struct sa *bind, bool df,
			 struct turn_relay *owner, void **handlep)
{
	struct net_worker *w = arg;
	struct net_relay *r = calloc(1, sizeof(*r));
	if (!r)
		return ENOMEM;
	int fd = net_socket_bind(SOCK_DGRAM, bind, false);
	if (fd < 0) {
		free(r);
		return -fd;
	}
	if (df)
		relay_set_df(fd, sa_af(bind));
	r->w = w;
	r->owner = owner;
	r->lf = (struct loop_fd){.fd = fd, .h = relay_readable, .arg = r};
	int err = loop_add(w->loop, &r->lf, EPOLLIN);
	if (err) {
		close(fd);
		free(r);
		return err;
	}
	*handlep = r;
	return 0;
}

static void io_relay_df(void *arg, void *handle)
{
	(void)arg;
	struct net_relay *r = handle;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (getsockname(r->lf.fd, (struct sockaddr *)&ss, &len) == 0)
		relay_set_df(r->lf.fd, ss.ss_family);
}

static void io_relay_close(void *arg, void *handle)
{
	struct net_worker *w = arg;
	struct net_relay *r = handle;
	/* What it queued leaves before its descriptor number can be reused. */
	net_dgq_flush(&w->rq);
	loop_close(w->loop, &r->lf);
	loop_defer_free(w->loop, r);
}

/* Queued, not sent: the datagrams a client batch produces for its peers
 * leave together after the batch, consecutive ones from one relay to one
 * peer as a single GSO send (dgq.c). */
static void io_relay_send(void *arg, void *handle, const struct sa *peer,
			  const uint8_t *buf, size_t len)
{
	struct net_worker *w = arg;
	struct net_relay *r = handle;
	struct iovec iov = {(void *)(uintptr_t)buf, len};
	net_dgq_add(&w->rq, r->lf.fd, peer, &iov, 1);
}

static void io_client_send(void *arg, void *conn, const struct sa *client,
			   const struct iovec *iov, int iovcnt)
{
	(void)arg;
	switch (*(const enum net_kind *)conn) {
	case NET_KIND_UDP:
		net_udp_queue(conn, client, iov, iovcnt);
		break;
	case NET_KIND_TCP:
		net_tcp_send(conn, iov, iovcnt);
		break;
	case NET_KIND_DTLS:
		net_dtls_send(conn, iov, iovcnt);
		break;
	}
}

/* RFC 5780: this worker's UDP listener on local (each worker has one
 * per listening address and port, SO_REUSEPORT). */
static void *io_udp_conn(void *arg, const struct sa *local)
{
	struct net_worker *w = arg;
	for (unsigned i = 0; i < w->nudp; i++)
		if (sa_eq(&w->udp[i]->local, local))
			return w->udp[i];
	return NULL;
}

void net_io_init(struct net_worker *w, struct turn_io *io)
{
	*io = (struct turn_io){
		.relay_open = io_relay_open,
		.relay_close = io_relay_close,
		.relay_df = io_relay_df,
		.relay_send = io_relay_send,
		.client_send = io_client_send,
		.udp_conn = io_udp_conn,
		.arg = w,
	};
	net_tcprelay_io(io);
}

void net_flush_all(struct net_worker *w)
{
	if (w->tcp_dirty)
		net_tcp_flush_dirty(w);
	if (w->rq.nmsg)
		net_dgq_flush(&w->rq);
	for (unsigned i = 0; i < w->nudp; i++)
		if (w->udp[i]->q.nmsg)
			net_udp_flush(w->udp[i]);
}
