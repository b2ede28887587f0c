/* UDP listeners: recvmmsg batches in, sendmmsg batches out. Replies and
 * relayed data produced while a batch is processed are queued and leave
 * in one sendmmsg when the batch is done. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/net_int.h"
#include "util/log.h"

int net_socket_bind(int type, const struct sa *addr, bool reuseport)
{
	int fd = socket(sa_af(addr), type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	/* SO_REUSEADDR is for TCP's TIME_WAIT and the shared listeners. A
	 * UDP relay socket (not reuseport) has no TIME_WAIT, and without it
	 * no other socket can share its port: one syscall less per
	 * allocation, and EADDRINUSE if the port is taken elsewhere. */
	if (type != SOCK_DGRAM || reuseport)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (reuseport)
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (sa_af(addr) == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, &addr->u.sa, addr->len) != 0) {
		int err = errno;
		close(fd);
		return -err;
	}
	return fd;
}

/* A listener carries every client of its worker: the default ~200 KB
 * receive buffer overflows at a few hundred busy allocations (measured
 * with turnstone bench, docs/benchmarks.md). Ask for 4 MB; as root the
 * FORCE variant passes net.core.rmem_max, otherwise the kernel caps it. */
#define NET_LISTEN_BUF (4 * 1024 * 1024)
void net_socket_buffers(int fd)
{
	int v = NET_LISTEN_BUF;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) != 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v)) != 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
}

void net_udp_flush(struct net_udp *u)
{
	net_dgq_flush(&u->q);
}

void net_udp_queue(struct net_udp *u, const struct sa *to,
		   const struct iovec *iov, int iovcnt)
{
	net_dgq_add(&u->q, u->lf.fd, to, iov, iovcnt);
}

void net_recv_init(struct net_worker *w)
{
	for (unsigned i = 0; i < NET_UDP_BATCH; i++) {
		w->riov[i] = (struct iovec){w->rbufs[i], NET_UDP_SLOT};
		w->rmsgs[i].msg_hdr = (struct msghdr){
			.msg_name = &w->rfrom[i].u,
			.msg_namelen = sizeof(w->rfrom[i].u),
			.msg_iov = &w->riov[i], .msg_iovlen = 1};
	}
}

int net_recv_batch(struct net_worker *w, int fd)
{
	/* recvmmsg rewrites msg_namelen only in the entries it fills. */
	for (unsigned i = 0; i < w->rused; i++)
		w->rmsgs[i].msg_hdr.msg_namelen = sizeof(w->rfrom[i].u);
	int n = recvmmsg(fd, w->rmsgs, NET_UDP_BATCH, MSG_DONTWAIT, NULL);
	w->rused = n > 0 ? (unsigned)n : 0;
	for (int i = 0; i < n; i++) {
		w->rfrom[i].len = w->rmsgs[i].msg_hdr.msg_namelen;
		/* Larger than a slot: drop rather than relay a cut datagram. */
		if (w->rmsgs[i].msg_hdr.msg_flags & MSG_TRUNC)
			w->rmsgs[i].msg_len = 0;
	}
	return n > 0 ? n : 0;
}

static void udp_readable(struct loop_fd *lf, uint32_t events)
{
	struct net_udp *u = lf->arg;
	struct net_worker *w = u->w;
	(void)events;
	int n = net_recv_batch(w, lf->fd);
	for (int i = 0; i < n; i++) {
		if (w->rmsgs[i].msg_len == 0)
			continue;
		/* RFC 7983: 20-63 is DTLS; STUN is 0-3 and ChannelData 64-79. */
		uint8_t b0 = w->rbufs[i][0];
		if (b0 >= 20 && b0 <= 63) {
			if (w->dtls_on)
				net_dtls_input(u, &w->rfrom[i], w->rbufs[i],
					       w->rmsgs[i].msg_len);
			continue;
		}
		/* No reply can go to port 0; such a source is spoofed. */
		if (!w->plain_udp || sa_port(&w->rfrom[i]) == 0)
			continue;
		struct turn_src src = {.proto = TURN_PROTO_UDP, .client = w->rfrom[i],
				       .local = u->local, .conn = u};
		turn_client_input(w->srv, &src, w->rbufs[i], w->rmsgs[i].msg_len);
	}
	/* Replies and relayed data leave after the whole epoll batch
	 * (worker_step), with what other sockets queued. */
}

int net_udp_open(struct net_worker *w, const struct sa *addr,
		 struct net_udp **up)
{
	struct net_udp *u = calloc(1, sizeof(*u));
	if (!u)
		return ENOMEM;
	int fd = net_socket_bind(SOCK_DGRAM, addr, true);
	if (fd < 0) {
		free(u);
		return -fd;
	}
	net_socket_buffers(fd);
	u->kind = NET_KIND_UDP;
	u->w = w;
	u->local = *addr;
	u->lf = (struct loop_fd){.fd = fd, .h = udp_readable, .arg = u};
	net_dgq_init(&u->q);
	int err = loop_add(w->loop, &u->lf, EPOLLIN);
	if (err) {
		close(fd);
		free(u);
		return err;
	}
	*up = u;
	return 0;
}

void net_udp_close(struct net_udp *u)
{
	if (!u)
		return;
	loop_close(u->w->loop, &u->lf);
	free(u);
}
