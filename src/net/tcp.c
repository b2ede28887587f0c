/* TCP client transport (RFC 8656 3.1, 12.5), one connection's stream:
 * reading (PROXY header, plain/TLS sniff), framing STUN messages and
 * ChannelData frames (the latter padded to four bytes) for the turn core,
 * buffered writing and closing. Closing the connection deletes its
 * allocation. Writes that cannot go out at once are buffered up to a cap;
 * past it, data is dropped as UDP would. Accepting, admission and the
 * sweep are in tcpaccept.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "net/net_int.h"
#include "stun/stun.h"

#define TCP_TLS_HANDSHAKE 22 /* TLS record type */

/* Allocated or bound to a peer: the user's quota covers it, and it stops
 * counting against its source. */
static void tcp_settle_count(struct net_tcp_conn *c)
{
	if (!c->allocd && !c->pipe) {
		struct turn_src src = net_tcp_src(c);
		c->allocd = turn_conn_has_alloc(c->w->srv, &src);
	}
	if (c->pipe || c->allocd)
		net_tcp_uncount(c);
}

static int tcp_flush(struct net_tcp_conn *c);

static void tcp_dirty_add(struct net_tcp_conn *c)
{
	struct net_worker *w = c->w;
	if (c->dirty)
		return;
	c->dirty = true;
	c->dprev = NULL;
	c->dnext = w->tcp_dirty;
	if (c->dnext)
		c->dnext->dprev = c;
	w->tcp_dirty = c;
}

static void tcp_dirty_del(struct net_tcp_conn *c)
{
	if (!c->dirty)
		return;
	if (c->dprev)
		c->dprev->dnext = c->dnext;
	else
		c->w->tcp_dirty = c->dnext;
	if (c->dnext)
		c->dnext->dprev = c->dprev;
	c->dirty = false;
	c->dprev = c->dnext = NULL;
}

void net_tcp_flush_now(struct net_tcp_conn *c)
{
	if (!c->dirty)
		return;
	tcp_dirty_del(c);
	/* An error is the read side's to see and close on, as it was when
	 * every frame went out at once. */
	if (tcp_flush(c) == 0 && c->wlen > 0)
		net_tcp_want_out(c, true);
}

static void tcp_conn_close(struct net_tcp_conn *c)
{
	struct net_worker *w = c->w;
	/* What this batch queued (an answer before a close) still leaves. */
	if (c->lf.fd >= 0)
		net_tcp_flush_now(c);
	else
		tcp_dirty_del(c);
	net_tcp_uncount(c);
	net_proxy_wait_del(c);
	if (c->pipe)
		net_pipe_client_closed(c);
	struct turn_src src = net_tcp_src(c);
	turn_conn_closed(w->srv, &src);
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (c->piped && c->lf.fd >= 0 && c->wlen == 0) {
		/* A pipe's last bytes must not be lost to a reset (linger.c). */
		int fd = c->lf.fd;
		loop_detach(w->loop, &c->lf);
		c->lf.fd = -1;
		net_linger_start(w, fd, c->ssl);
	} else {
		if (c->ssl)
			SSL_free(c->ssl); /* no close_notify: the peer may be gone */
		loop_close(w->loop, &c->lf);
	}
	c->ssl = NULL;
	free(c->rbuf);
	free(c->wbuf);
	c->rbuf = c->wbuf = NULL;
	loop_defer_free(w->loop, c);
}

static int tcp_flush(struct net_tcp_conn *c)
{
	if (c->ssl)
		return net_tls_conn_flush(c);
	while (c->wlen > 0) {
		ssize_t n = send(c->lf.fd, c->wbuf, c->wlen, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : errno;
		memmove(c->wbuf, c->wbuf + n, c->wlen - (size_t)n);
		c->wlen -= (size_t)n;
	}
	return 0;
}

/* EPOLLIN unless reading waits (net_tcp_rblocked), EPOLLOUT while output
 * waits. Bytes OpenSSL already read from the socket wake no epoll: when
 * reading resumes with some held there, EPOLLOUT (writable at once) makes
 * the handler read them. Those are decrypted bytes (SSL_pending) or,
 * with read-ahead, whole records in OpenSSL's buffer (SSL_has_pending).
 * The latter counts an incomplete record too, which only more input
 * completes, so it is asked only when reading stopped before OpenSSL
 * wanted input (ssl_held); else a client stopping mid-record would make
 * this spin. */
void net_tcp_events(struct net_tcp_conn *c)
{
	bool rd = !net_tcp_rblocked(c);
	bool held = rd && c->ssl &&
		    (SSL_pending(c->ssl) > 0 ||
		     (c->ssl_held && SSL_has_pending(c->ssl)));
	uint32_t ev = (rd ? EPOLLIN : 0) | (c->want_out || held ? EPOLLOUT : 0);
	/* The frame deadline does not run while we are the side not
	 * reading (net_tcp_sweep): reading again, it starts over. */
	if (rd && !(c->ev & EPOLLIN) && c->deadline)
		c->deadline = c->w->now_ms + NET_TCP_FRAME_MS;
	if (ev != c->ev && loop_mod(c->w->loop, &c->lf, ev) == 0)
		c->ev = ev;
}

void net_tcp_want_out(struct net_tcp_conn *c, bool on)
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
	/* Before the answer leaves, not only after the request's handler:
	 * a client that has its Allocate answer may open its next
	 * connection, on another worker, before that handler returns. */
	if (c->counted)
		tcp_settle_count(c);
	/* Written at the end of the epoll batch with whatever else the
	 * batch queues for this stream (net_tcp_flush_dirty): a burst of
	 * frames relayed to one client costs one writev, or over TLS one
	 * SSL_write and one record, instead of one per frame. A stream that
	 * already waits for EPOLLOUT is written from there, and stops being
	 * read once its output reaches NET_TCP_WBUF_PAUSE unread. */
	if (tcp_wbuf_append(c, iov, iovcnt, total) != 0)
		return;
	if (c->want_out)
		net_tcp_events(c);
	else
		tcp_dirty_add(c);
}

/* After a flush that did not fail: EPOLLOUT while output is left,
 * reading again once it is below NET_TCP_WBUF_PAUSE (net_tcp_rblocked),
 * and a pipe's peer read on. c may be closed when it returns. */
static void tcp_flushed(struct net_tcp_conn *c)
{
	net_tcp_want_out(c, c->wlen > 0);
	net_tcp_events(c);
	if (c->pipe)
		net_pipe_client_drained(c);
}

void net_tcp_flush_dirty(struct net_worker *w)
{
	struct net_tcp_conn *c;
	while ((c = w->tcp_dirty) != NULL) {
		tcp_dirty_del(c);
		/* An error is the read side's to see and close on. */
		if (tcp_flush(c) == 0)
			tcp_flushed(c);
	}
}

/* The frame deadline runs while a handshake or a frame is incomplete,
 * and from accept until the first frame: idle is fine, slow is not. */
static void tcp_arm(struct net_tcp_conn *c)
{
	if (c->pipe) { /* RFC 6062 data: the peer sets the pace */
		c->deadline = 0;
		return;
	}
	bool pending = c->rlen > 0 || !c->framed ||
		       (c->ssl && (!SSL_is_init_finished(c->ssl) ||
				   SSL_has_pending(c->ssl))); /* mid-record */
	if (!pending)
		c->deadline = 0;
	else if (!c->deadline)
		c->deadline = c->w->now_ms + NET_TCP_FRAME_MS;
}

/* Hand every complete frame in rbuf to the turn core. EBADMSG when the
 * stream is not STUN/ChannelData: the connection is closed. */
int net_tcp_frames(struct net_tcp_conn *c)
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
		struct turn_src src = net_tcp_src(c);
		turn_client_input(c->w->srv, &src, c->rbuf + off, flen);
		if (c->lf.fd < 0)
			return 0;
		tcp_settle_count(c);
		if (c->handoff)
			break; /* the owning worker reads this frame again */
		off += flen;
		c->framed = true;
		if (c->pipe)
			break; /* ConnectionBind: raw bytes follow (RFC 6062) */
	}
	memmove(c->rbuf, c->rbuf + off, c->rlen - off);
	c->rlen -= off;
	tcp_arm(c);
	return 0;
}

/* The first byte decides plain or TLS; nothing is consumed. */
static int tcp_sniff(struct net_tcp_conn *c)
{
	const struct net_worker *w = c->w;
	uint8_t b;
	if (!w->tls_on || !w->tls) {
		c->mode = NET_TCP_PLAIN;
		return 0;
	}
	if (!w->plain_tcp)
		return net_tls_conn_start(c);
	ssize_t n = recv(c->lf.fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n == 0)
		return ECONNRESET;
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : errno;
	if (b == TCP_TLS_HANDSHAKE)
		return net_tls_conn_start(c);
	c->mode = NET_TCP_PLAIN;
	return 0;
}

/* What was read: frames to the turn core, or raw bytes to a pipe. 0, or
 * an errno value to close on. Stops at a hand-off: c is then another
 * worker's. */
int net_tcp_consume(struct net_tcp_conn *c)
{
	if (!c->pipe) {
		int err = net_tcp_frames(c);
		if (err || c->lf.fd < 0 || c->handoff)
			return err;
	}
	if (c->pipe && c->rlen > 0)
		net_pipe_client_input(c);
	return 0;
}

static int tcp_read_plain(struct net_tcp_conn *c)
{
	if (c->rlen == c->rcap)
		return 0; /* a pipe's buffer is full: rpaused waits for room */
	ssize_t n = recv(c->lf.fd, c->rbuf + c->rlen, c->rcap - c->rlen, MSG_DONTWAIT);
	if (n == 0)
		return ECONNRESET;
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : errno;
	c->rlen += (size_t)n;
	return net_tcp_consume(c);
}

/* tcp-proxy-port: the balancer's PROXY header, taken off the stream up
 * to its end (found by peeking) and no further, so that a TLS handshake
 * after it finds the socket as a direct client would leave it. A part
 * of a header is read into rbuf at once: left in the socket, it would
 * keep the level-triggered epoll firing, and the worker would spin
 * until the rest came. The client it names is counted
 * (max-unauth-tcp-per-ip) and seen by the TURN core instead of the
 * balancer; until then the stream counts among those waiting for a
 * header (proxywait.c). */
_Static_assert(NET_TCP_RBUF_INIT >= NET_PROXY_HDR_MAX,
	       "rbuf must hold a whole PROXY header");

static int tcp_proxy_read(struct net_tcp_conn *c)
{
	uint8_t *b = c->rbuf;
	size_t have = c->rlen;
	ssize_t n = recv(c->lf.fd, b + have, NET_PROXY_HDR_MAX - have,
			 MSG_PEEK | MSG_DONTWAIT);
	if (n == 0)
		return ECONNRESET;
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : errno;
	struct sa client = c->remote;
	size_t used = 0;
	int err = net_proxy_parse(b, have + (size_t)n, &client, &used);
	if (err == EAGAIN) {
		/* All of it is header: the frame deadline bounds the wait. */
		if (recv(c->lf.fd, b + have, (size_t)n, MSG_DONTWAIT) != n)
			return EIO;
		c->rlen = have + (size_t)n;
		return 0;
	}
	/* A header ends past what an earlier read took (every shorter
	 * prefix is EAGAIN), so used > have. */
	if (err || used <= have)
		return EBADMSG;
	if (recv(c->lf.fd, b + have, used - have, MSG_DONTWAIT) != (ssize_t)(used - have))
		return EIO;
	c->rlen = 0;
	net_proxy_wait_del(c); /* by the balancer's address, so first */
	const struct turn_cfg *cfg = net_worker_cfg(c->w);
	if (!turn_shared_conn_take(c->w->sh, &client, cfg->tcp_unauth_per_ip)) {
		turn_stat_add(&turn_srv_net_stats(c->w->srv)->conn_refused, 1);
		net_unauth_refused(c->w, &client, cfg->tcp_unauth_per_ip, "TCP/TLS");
		return ECONNREFUSED;
	}
	c->remote = client;
	c->counted = cfg->tcp_unauth_per_ip > 0;
	c->mode = NET_TCP_SNIFF;
	return 0;
}

static int tcp_read(struct net_tcp_conn *c)
{
	c->last_rx = c->w->now_ms;
	if (c->mode == NET_TCP_PROXY) {
		int err = tcp_proxy_read(c);
		if (err || c->mode == NET_TCP_PROXY)
			return err;
	}
	if (c->mode == NET_TCP_SNIFF) {
		int err = tcp_sniff(c);
		if (err || c->mode == NET_TCP_SNIFF)
			return err;
	}
	if (c->mode == NET_TCP_PLAIN)
		return tcp_read_plain(c);
	int err = net_tls_conn_read(c);
	if (!err && c->lf.fd >= 0 && !c->handoff) {
		tcp_arm(c);
		net_tcp_events(c); /* drop or add the held-bytes wake-up */
	}
	return err;
}

/* Close on an error; ETIMEDOUT is the kernel's TCP_USER_TIMEOUT: the
 * client left its window shut, or stopped acknowledging, that long. */
static void tcp_fail(struct net_tcp_conn *c, int err)
{
	if (err == ETIMEDOUT)
		turn_stat_add(&turn_srv_net_stats(c->w->srv)->conn_timed_out, 1);
	tcp_conn_close(c);
}

static int tcp_sock_error(const struct net_tcp_conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);
	return getsockopt(c->lf.fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 ? err : errno;
}

void net_tcp_event(struct loop_fd *lf, uint32_t events)
{
	struct net_tcp_conn *c = lf->arg;
	if (events & EPOLLOUT) {
		int err = tcp_flush(c);
		if (err) {
			tcp_fail(c, err);
			return;
		}
		tcp_flushed(c);
		if (c->lf.fd < 0)
			return;
	}
	/* OpenSSL may have wanted to write in the middle of a read. */
	bool tls_retry = c->ssl && (events & EPOLLOUT);
	if (!(events & (EPOLLIN | EPOLLERR | EPOLLHUP)) && !tls_retry)
		return;
	/* EPOLLERR and EPOLLHUP cannot be masked: with reading paused (a
	 * pipe whose peer is full) no read would see them, and the event
	 * would fire forever. The connection is gone (reset, or closed both
	 * ways): close it; a pipe keeps what it already read. The same holds
	 * for a stream paused because its answers wait unread. */
	if ((events & (EPOLLERR | EPOLLHUP)) &&
	    (net_tcp_rblocked(c) || c->rlen == c->rcap)) {
		tcp_fail(c, tcp_sock_error(c));
		return;
	}
	int err = tcp_read(c);
	if (err)
		tcp_fail(c, err);
	else if (c->lf.fd >= 0 && c->handoff)
		net_tcprelay_handoff(c); /* c belongs to another worker now */
	/* What it queued for UDP leaves after the epoll batch (worker_step). */
}

/* A connection handed over by another worker, its unread frame in rbuf. */
void net_tcp_input(struct net_tcp_conn *c)
{
	if (net_tcp_consume(c) != 0)
		tcp_conn_close(c);
	else if (c->lf.fd >= 0 && c->handoff)
		net_tcprelay_handoff(c);
	else if (c->lf.fd >= 0) {
		tcp_arm(c);
		net_tcp_events(c); /* OpenSSL may hold the rest of a record */
	}
}

void net_tcp_close(struct net_tcp_conn *c)
{
	tcp_conn_close(c);
}
