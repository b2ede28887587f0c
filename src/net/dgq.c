/* A queue of outgoing datagrams, sent in batches when the worker's event
 * batch is done: sendmmsg for runs on one socket, and UDP GSO (Linux
 * UDP_SEGMENT, 4.18+) for runs of same-size datagrams from one socket to
 * one destination. A relay forwarding a burst from one peer to one client
 * (video frames, or any backlog) then pushes it through the kernel's UDP
 * and IP layers once, not once per datagram; the receiver still gets
 * separate datagrams. Measured in docs/benchmarks.md. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <string.h>
#include <sys/socket.h>

#include "net/net_int.h"

/* The kernel refuses more than UDP_MAX_SEGMENTS (64 before 6.x) per send,
 * and a send larger than an IP datagram. */
#define DGQ_MAX_SEGS 64
#define DGQ_MAX_BYTES 65000

void net_dgq_init(struct net_dgq *q)
{
	q->nslot = q->nmsg = 0;
}

static void dgq_gso_set(struct net_dgq *q, unsigned m, uint16_t seg)
{
	struct msghdr *h = &q->msg[m].msg_hdr;
	struct cmsghdr *c = (struct cmsghdr *)(void *)q->ctl[m];
	c->cmsg_level = SOL_UDP;
	c->cmsg_type = UDP_SEGMENT;
	c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
	memcpy(CMSG_DATA(c), &seg, sizeof(seg));
	h->msg_control = q->ctl[m];
	h->msg_controllen = CMSG_SPACE(sizeof(uint16_t));
}

/* Can a len-byte datagram from fd to `to` join the last message? GSO
 * cuts a send into segments of the first one's size; only the last may
 * be shorter. */
static bool dgq_joins(const struct net_dgq *q, int fd, const struct sa *to,
		      size_t len)
{
	if (q->no_gso || q->nmsg == 0)
		return false;
	unsigned m = q->nmsg - 1;
	const struct msghdr *h = &q->msg[m].msg_hdr;
	size_t seg = h->msg_iov[0].iov_len;
	size_t last = h->msg_iov[h->msg_iovlen - 1].iov_len;
	return q->fd[m] == fd && last == seg && len <= seg && len > 0 &&
	       h->msg_iovlen < DGQ_MAX_SEGS &&
	       seg * h->msg_iovlen + len <= DGQ_MAX_BYTES &&
	       sa_eq(&q->addr[m], to);
}

/* Larger than a slot: sent at once, after what is queued (the order
 * within a flow is kept). */
static void dgq_send_now(struct net_dgq *q, int fd, const struct sa *to,
			 const struct iovec *iov, int iovcnt)
{
	net_dgq_flush(q);
	struct msghdr mh = {
		.msg_name = (void *)(uintptr_t)&to->u.sa,
		.msg_namelen = to->len,
		.msg_iov = (struct iovec *)(uintptr_t)iov,
		.msg_iovlen = (size_t)iovcnt,
	};
	(void)sendmsg(fd, &mh, MSG_DONTWAIT);
}

void net_dgq_add(struct net_dgq *q, int fd, const struct sa *to,
		 const struct iovec *iov, int iovcnt)
{
	size_t total = 0;
	for (int i = 0; i < iovcnt; i++)
		total += iov[i].iov_len;
	if (total > NET_UDP_SLOT) {
		dgq_send_now(q, fd, to, iov, iovcnt);
		return;
	}
	if (q->nslot == NET_UDP_BATCH)
		net_dgq_flush(q);
	bool join = dgq_joins(q, fd, to, total);
	unsigned s = q->nslot++;
	uint8_t *p = q->buf[s];
	for (int k = 0; k < iovcnt; k++) {
		memcpy(p, iov[k].iov_base, iov[k].iov_len);
		p += iov[k].iov_len;
	}
	q->iov[s] = (struct iovec){q->buf[s], total};
	if (join) {
		/* The slots of a message are consecutive: s follows its last. */
		struct msghdr *h = &q->msg[q->nmsg - 1].msg_hdr;
		if (h->msg_iovlen++ == 1)
			dgq_gso_set(q, q->nmsg - 1, (uint16_t)h->msg_iov[0].iov_len);
		return;
	}
	unsigned m = q->nmsg++;
	q->fd[m] = fd;
	q->addr[m] = *to;
	q->msg[m].msg_hdr = (struct msghdr){
		.msg_name = &q->addr[m].u, .msg_namelen = to->len,
		.msg_iov = &q->iov[s], .msg_iovlen = 1};
}

/* A GSO send the route cannot take (no checksum offload: EIO; segment
 * larger than the path MTU: EINVAL or EMSGSIZE) goes out one datagram at
 * a time; after EIO this queue stops trying. */
static void dgq_split(struct net_dgq *q, unsigned m, int err)
{
	const struct msghdr *h = &q->msg[m].msg_hdr;
	struct msghdr one = {.msg_name = h->msg_name,
			     .msg_namelen = h->msg_namelen, .msg_iovlen = 1};
	if (err == EIO)
		q->no_gso = true;
	for (size_t i = 0; i < h->msg_iovlen; i++) {
		one.msg_iov = &h->msg_iov[i];
		(void)sendmsg(q->fd[m], &one, MSG_DONTWAIT);
	}
}

/* One plain datagram: sendto spares the kernel sendmmsg's copying in of
 * the message headers (relay sends to peers are mostly single). */
static int dgq_send_one(const struct net_dgq *q, unsigned m)
{
	const struct msghdr *h = &q->msg[m].msg_hdr;
	ssize_t n = sendto(q->fd[m], h->msg_iov[0].iov_base, h->msg_iov[0].iov_len,
			   MSG_DONTWAIT, h->msg_name, h->msg_namelen);
	return n < 0 ? -1 : 1;
}

/* Messages [off, end) share one socket. */
static void dgq_send_run(struct net_dgq *q, unsigned off, unsigned end)
{
	while (off < end) {
		int n = end - off == 1 && q->msg[off].msg_hdr.msg_iovlen == 1
				? dgq_send_one(q, off)
				: sendmmsg(q->fd[off], q->msg + off, end - off,
					   MSG_DONTWAIT);
		if (n > 0) {
			off += (unsigned)n;
			continue;
		}
		int err = errno;
		if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS)
			return; /* full socket buffer: the rest is dropped */
		/* This one message cannot go as it is: a spoofed destination
		 * (port 0, broadcast) is skipped, not everyone after it. */
		if (q->msg[off].msg_hdr.msg_iovlen > 1 &&
		    (err == EIO || err == EINVAL || err == EMSGSIZE))
			dgq_split(q, off, err);
		off++;
	}
}

void net_dgq_flush(struct net_dgq *q)
{
	unsigned off = 0;
	while (off < q->nmsg) {
		unsigned end = off + 1;
		while (end < q->nmsg && q->fd[end] == q->fd[off])
			end++;
		dgq_send_run(q, off, end);
		off = end;
	}
	q->nslot = q->nmsg = 0;
}
