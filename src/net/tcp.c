/* TCP client transport (RFC 8656 3.1, 12.5): a stream of STUN messages
 * and ChannelData frames, the latter padded to four bytes. Closing the
 * connection deletes its allocation. Writes that cannot go out at once
 * are buffered up to a cap; past it, data is dropped as UDP would. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/net_int.h"
#include "stun/stun.h"

#define TCP_RBUF_INIT 2048

static void tcp_conn_close(struct net_tcp_conn *c)
{
	struct net_worker *w = c->w;
	if (c->pipe)
		net_pipe_client_closed(c);
	turn_conn_closed(w->srv, c);
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	loop_close(w->loop, &c->lf);
	free(c->rbuf);
	free(c->wbuf);
	c->rbuf = c->wbuf = NULL;
	loop_defer_free(w->loop, c);
}

static int tcp_flush(struct net_tcp_conn *c)
{
	while (c->wlen > 0) {
		ssize_t n = send(c->lf.fd, c->wbuf, c->wlen, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : errno;
		memmove(c->wbuf, c->wbuf + n, c->wlen - (size_t)n);
		c->wlen -= (size_t)n;
	}
	return 0;
}

void net_tcp_events(struct net_tcp_conn *c)
{
	loop_mod(c->w->loop, &c->lf, (c->rpaused ? 0 : EPOLLIN) |
				     (c->want_out ? EPOLLOUT : 0));
}

static void tcp_want_out(struct net_tcp_conn *c, bool on)
{
	if (c->want_out == on)
		return;
	c->want_out = on;
	net_tcp_events(c);
}

static int tcp_wbuf_append(struct net_tcp_conn *c, const struct iovec *iov,
			   int iovcnt, size_t total)
{
	if (c->wlen + total > NET_TCP_WBUF_MAX)
		return ENOSPC;
	if (c->wlen + total > c->wcap) {
		size_t cap = c->wcap ? c->wcap : 4096;
		while (cap < c->wlen + total)
			cap *= 2;
		uint8_t *b = realloc(c->wbuf, cap);
		if (!b)
			return ENOMEM;
		c->wbuf = b;
		c->wcap = cap;
	}
	for (int i = 0; i < iovcnt; i++) {
		memcpy(c->wbuf + c->wlen, iov[i].iov_base, iov[i].iov_len);
		c->wlen += iov[i].iov_len;
	}
	return 0;
}

void net_tcp_send(struct net_tcp_conn *c, const struct iovec *iov, int iovcnt)
{
	size_t total = 0;
	for (int i = 0; i < iovcnt; i++)
		total += iov[i].iov_len;
	if (c->lf.fd < 0)
		return;
	if (c->wlen == 0) {
		/* Fast path: straight to the kernel; keep only the remainder. */
		ssize_t n = writev(c->lf.fd, iov, iovcnt);
		if (n == (ssize_t)total)
			return;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return; /* the read side will see the error and close */
		size_t skip = n > 0 ? (size_t)n : 0;
		struct iovec rest[4];
		int nrest = 0;
		for (int i = 0; i < iovcnt && nrest < 4; i++) {
			if (skip >= iov[i].iov_len) {
				skip -= iov[i].iov_len;
				continue;
			}
			rest[nrest].iov_base = (uint8_t *)iov[i].iov_base + skip;
			rest[nrest++].iov_len = iov[i].iov_len - skip;
			skip = 0;
		}
		if (tcp_wbuf_append(c, rest, nrest, total - (n > 0 ? (size_t)n : 0)) == 0)
			tcp_want_out(c, true);
		return;
	}
	if (tcp_wbuf_append(c, iov, iovcnt, total) == 0)
		tcp_want_out(c, true);
}

/* Hand every complete frame in rbuf to the turn core. EBADMSG when the
 * stream is not STUN/ChannelData: the connection is closed. */
static int tcp_frames(struct net_tcp_conn *c)
{
	size_t off = 0;
	while (c->rlen - off >= 4) {
		size_t flen;
		if (stun_frame_len(c->rbuf + off, c->rlen - off, &flen) != 0)
			return EBADMSG;
		if (flen > NET_TCP_MAX_FRAME)
			return EBADMSG;
		if (c->rlen - off < flen) {
			if (flen > c->rcap) {
				uint8_t *b = realloc(c->rbuf, flen);
				if (!b)
					return ENOMEM;
				c->rbuf = b;
				c->rcap = flen;
			}
			break;
		}
		struct turn_src src = {.proto = TURN_PROTO_TCP, .client = c->remote,
				       .local = c->local, .conn = c};
		turn_client_input(c->w->srv, &src, c->rbuf + off, flen);
		if (c->lf.fd < 0)
			return 0;
		if (c->handoff)
			break; /* the owning worker reads this frame again */
		off += flen;
		if (c->pipe)
			break; /* ConnectionBind: raw bytes follow (RFC 6062) */
	}
	memmove(c->rbuf, c->rbuf + off, c->rlen - off);
	c->rlen -= off;
	return 0;
}

static void tcp_event(struct loop_fd *lf, uint32_t events)
{
	struct net_tcp_conn *c = lf->arg;
	if (events & EPOLLOUT) {
		if (tcp_flush(c) != 0) {
			tcp_conn_close(c);
			return;
		}
		if (c->wlen == 0)
			tcp_want_out(c, false);
		if (c->pipe)
			net_pipe_client_drained(c);
		if (c->lf.fd < 0)
			return;
	}
	if (!(events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
		return;
	ssize_t n = recv(lf->fd, c->rbuf + c->rlen, c->rcap - c->rlen, MSG_DONTWAIT);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
		tcp_conn_close(c);
		return;
	}
	if (n < 0)
		return;
	c->rlen += (size_t)n;
	net_tcp_input(c);
}

void net_tcp_input(struct net_tcp_conn *c)
{
	struct net_worker *w = c->w;
	if (!c->pipe && tcp_frames(c) != 0) {
		tcp_conn_close(c);
		return;
	}
	if (c->handoff)
		net_tcprelay_handoff(c); /* c belongs to another worker now */
	else if (c->pipe && c->rlen > 0)
		net_pipe_client_input(c);
	net_flush_all(w);
}

void net_tcp_close(struct net_tcp_conn *c)
{
	tcp_conn_close(c);
}

static void tcp_accept(struct loop_fd *lf, uint32_t events)
{
	struct net_tcp_listener *l = lf->arg;
	(void)events;
	for (int i = 0; i < 16; i++) {
		struct sa remote = {.len = sizeof(remote.u)};
		int fd = accept4(lf->fd, &remote.u.sa, &remote.len,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return; /* EAGAIN, or EMFILE: try again next event */
		struct net_tcp_conn *c = calloc(1, sizeof(*c));
		uint8_t *rb = malloc(TCP_RBUF_INIT);
		if (!c || !rb) {
			free(c);
			free(rb);
			close(fd);
			continue;
		}
		*c = (struct net_tcp_conn){.kind = NET_KIND_TCP, .w = l->w,
			.local = l->local, .remote = remote, .rbuf = rb,
			.rcap = TCP_RBUF_INIT};
		c->lf = (struct loop_fd){.fd = fd, .h = tcp_event, .arg = c};
		if (loop_add(l->w->loop, &c->lf, EPOLLIN) != 0) {
			close(fd);
			free(rb);
			free(c);
			continue;
		}
		c->next = l->w->conns;
		if (c->next)
			c->next->prev = c;
		l->w->conns = c;
	}
}

int net_tcp_listen(struct net_worker *w, const struct sa *addr,
		   struct net_tcp_listener **lp)
{
	struct net_tcp_listener *l = calloc(1, sizeof(*l));
	if (!l)
		return ENOMEM;
	int fd = net_socket_bind(SOCK_STREAM, addr, true);
	if (fd < 0 || listen(fd, 1024) != 0) {
		int err = fd < 0 ? -fd : errno;
		if (fd >= 0)
			close(fd);
		free(l);
		return err;
	}
	l->w = w;
	l->local = *addr;
	l->lf = (struct loop_fd){.fd = fd, .h = tcp_accept, .arg = l};
	int err = loop_add(w->loop, &l->lf, EPOLLIN);
	if (err) {
		close(fd);
		free(l);
		return err;
	}
	*lp = l;
	return 0;
}

void net_tcp_listener_close(struct net_tcp_listener *l)
{
	if (!l)
		return;
	loop_close(l->w->loop, &l->lf);
	free(l);
}

void net_tcp_close_all(struct net_worker *w)
{
	while (w->conns)
		tcp_conn_close(w->conns);
}
