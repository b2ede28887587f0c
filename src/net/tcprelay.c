/* TCP relays (RFC 6062), the socket side of src/turn/turn_tcp.c: relayed
 * address listeners, peer data connections, the pipe between a peer
 * connection and its bound client data connection, and the hand-over of
 * a client connection to the worker that owns its CONNECTION-ID.
 *
 * The pipe never drops a byte. Client to peer, the client connection's
 * read buffer is the only buffer: when the peer cannot take it all, the
 * client is not read until it can. Peer to client, the peer is read only
 * while the client connection's write buffer has room. Either way the
 * kernel's windows push back on the sender. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/net_int.h"

#define PIPE_RBUF (64 * 1024) /* client -> peer, per bound connection */
#define PIPE_READ 16384       /* one peer read */
#define PIPE_READS 4          /* reads per event, then let others run */

struct net_tlisten {
	struct loop_fd lf;
	struct net_worker *w;
	struct turn_relay *owner;
};

struct net_tpeer {
	struct loop_fd lf;
	struct net_worker *w;
	struct turn_tconn *owner;      /* NULL once the core let go */
	struct net_tcp_conn *client;   /* bound client data connection */
	uint32_t events;               /* what epoll watches now */
	bool connecting, peer_eof;
	bool throttled;                /* over --max-bps: idle till the sweep */
	struct net_tpeer *tprev, *tnext; /* the worker's throttled list */
	uint8_t *tail;                 /* client bytes left when it closed */
	size_t tlen, toff;
};

/* ----- The peer side ----- */

/* Everything ends through the core, which calls io_tcp_close back. */
static void tpeer_finish(struct net_tpeer *tp)
{
	if (tp->owner)
		turn_tcp_closed(tp->w->srv, tp->owner);
}

static size_t tpeer_out_len(const struct net_tpeer *tp)
{
	return tp->client ? tp->client->rlen : tp->tlen - tp->toff;
}

/* Out of --max-bps budget: watch nothing until net_tcprelay_sweep, which
 * runs every NET_SWEEP_MS; the buckets refill meanwhile, and the kernel's
 * windows hold the senders back. */
static void tpeer_throttle(struct net_tpeer *tp)
{
	if (tp->throttled)
		return;
	tp->throttled = true;
	tp->tprev = NULL;
	tp->tnext = tp->w->throttled;
	if (tp->tnext)
		tp->tnext->tprev = tp;
	tp->w->throttled = tp;
}

static void tpeer_unthrottle(struct net_tpeer *tp)
{
	if (!tp->throttled)
		return;
	tp->throttled = false;
	if (tp->tprev)
		tp->tprev->tnext = tp->tnext;
	else
		tp->w->throttled = tp->tnext;
	if (tp->tnext)
		tp->tnext->tprev = tp->tprev;
	tp->tprev = tp->tnext = NULL;
}

static void tpeer_update(struct net_tpeer *tp)
{
	struct net_tcp_conn *c = tp->client;
	uint32_t ev = 0;
	if (tp->throttled) {
		if (tp->events && loop_mod(tp->w->loop, &tp->lf, 0) == 0)
			tp->events = 0;
		return;
	}
	if (tp->connecting || tpeer_out_len(tp) > 0)
		ev |= EPOLLOUT;
	if (c && !tp->peer_eof && c->wlen < NET_TCP_WBUF_MAX)
		ev |= EPOLLIN;
	if (ev != tp->events && loop_mod(tp->w->loop, &tp->lf, ev) == 0)
		tp->events = ev;
}

/* Write what the client sent; 0 or errno (the peer is gone). */
static int tpeer_write(struct net_tpeer *tp)
{
	struct net_tcp_conn *c = tp->client;
	uint8_t *buf = c ? c->rbuf : tp->tail + tp->toff;
	size_t want = tpeer_out_len(tp), done = 0;
	size_t len = turn_tcp_budget(tp->w->srv, tp->owner, TURN_DIR_C2P, want);
	if (len < want)
		tpeer_throttle(tp);
	while (done < len) {
		ssize_t n = send(tp->lf.fd, buf + done, len - done,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0)
			return n < 0 ? errno : EPIPE;
		done += (size_t)n;
	}
	turn_tcp_relayed(tp->w->srv, tp->owner, TURN_DIR_C2P, done);
	if (!c) {
		tp->toff += done;
		return 0;
	}
	memmove(c->rbuf, c->rbuf + done, c->rlen - done);
	c->rlen -= done;
	/* Room again: read the client (it was paused when rbuf filled). */
	if (c->rpaused && c->rlen < c->rcap) {
		c->rpaused = false;
		net_tcp_events(c);
	}
	return 0;
}

/* Peer bytes to the client, never more than its write buffer takes. */
static int tpeer_read(struct net_tpeer *tp)
{
	uint8_t buf[PIPE_READ];
	for (int i = 0; i < PIPE_READS && tp->client; i++) {
		struct net_tcp_conn *c = tp->client;
		if (c->wlen >= NET_TCP_WBUF_MAX)
			return 0;
		size_t room = NET_TCP_WBUF_MAX - c->wlen;
		room = turn_tcp_budget(tp->w->srv, tp->owner, TURN_DIR_P2C,
				       room < PIPE_READ ? room : PIPE_READ);
		if (room == 0) {
			tpeer_throttle(tp);
			return 0;
		}
		ssize_t n = recv(tp->lf.fd, buf, room, MSG_DONTWAIT);
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : errno;
		if (n == 0) {
			tp->peer_eof = true;
			return 0;
		}
		struct iovec iov = {.iov_base = buf, .iov_len = (size_t)n};
		turn_tcp_relayed(tp->w->srv, tp->owner, TURN_DIR_P2C, (size_t)n);
		net_tcp_send(c, &iov, 1);
		if (c->lf.fd < 0)
			return EPIPE;
	}
	return 0;
}

static void tpeer_connected(struct net_tpeer *tp, uint32_t events)
{
	int err = 0;
	socklen_t len = sizeof(err);
	if (getsockopt(tp->lf.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	if (!err && (events & (EPOLLERR | EPOLLHUP)))
		err = ECONNREFUSED;
	tp->connecting = false;
	tpeer_update(tp); /* unbound: watch nothing, the kernel buffers */
	turn_tcp_connected(tp->w->srv, tp->owner, err);
}

static void tpeer_event(struct loop_fd *lf, uint32_t events)
{
	struct net_tpeer *tp = lf->arg;
	if (tp->connecting) {
		tpeer_connected(tp, events);
		return;
	}
	/* Unbound, only an error or a hang-up wakes us: the peer left. */
	bool gone = !tp->client && !tp->tail && (events & (EPOLLERR | EPOLLHUP));
	/* Errors and hang-ups cannot be masked: when no read would see one
	 * (throttled, or the client's write buffer full), it would fire
	 * forever. The peer reset or closed both ways: end the pipe. */
	if ((events & (EPOLLERR | EPOLLHUP)) &&
	    (tp->throttled || (tp->client && tp->client->wlen >= NET_TCP_WBUF_MAX)))
		gone = true;
	if (!gone && (events & EPOLLOUT) && tpeer_write(tp) != 0)
		gone = true;
	if (!gone && (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) && tp->client &&
	    tpeer_read(tp) != 0)
		gone = true;
	/* Done when a side ended and nothing is left to deliver. */
	if (!tp->client && tp->tail && tp->toff == tp->tlen)
		gone = true;
	if (tp->peer_eof && tp->client && tp->client->wlen == 0)
		gone = true;
	if (gone || lf->fd < 0)
		tpeer_finish(tp);
	else
		tpeer_update(tp);
}

static struct net_tpeer *tpeer_new(struct net_worker *w, int fd)
{
	struct net_tpeer *tp = calloc(1, sizeof(*tp));
	if (!tp)
		return NULL;
	tp->w = w;
	tp->lf = (struct loop_fd){.fd = fd, .h = tpeer_event, .arg = tp};
	net_tcp_nodelay(fd);
	return tp;
}

/* ----- The client side of a bound pipe (called from tcp.c) ----- */

void net_pipe_client_input(struct net_tcp_conn *c)
{
	struct net_tpeer *tp = c->pipe;
	if (tpeer_write(tp) != 0) {
		tpeer_finish(tp);
		return;
	}
	if (c->rlen == c->rcap && !c->rpaused) {
		c->rpaused = true; /* back-pressure: the peer is full */
		net_tcp_events(c);
	}
	tpeer_update(tp);
}

void net_pipe_client_drained(struct net_tcp_conn *c)
{
	struct net_tpeer *tp = c->pipe;
	if (tp->peer_eof && c->wlen == 0)
		tpeer_finish(tp); /* everything the peer sent is delivered */
	else
		tpeer_update(tp);
}

/* The client closed: deliver what it sent before, then close the peer. */
void net_pipe_client_closed(struct net_tcp_conn *c)
{
	struct net_tpeer *tp = c->pipe;
	c->pipe = NULL;
	tp->client = NULL;
	if (c->rlen > 0 && !tp->tail) {
		tp->tail = malloc(c->rlen);
		if (tp->tail) {
			memcpy(tp->tail, c->rbuf, c->rlen);
			tp->tlen = c->rlen;
		}
	}
	if (!tp->tail || tp->toff == tp->tlen)
		tpeer_finish(tp);
	else
		tpeer_update(tp);
}

/* ----- The turn_io operations ----- */

static void tlisten_accept(struct loop_fd *lf, uint32_t events)
{
	struct net_tlisten *l = lf->arg;
	(void)events;
	for (int i = 0; i < 16 && lf->fd >= 0; i++) {
		struct sa peer = {.len = sizeof(peer.u)};
		int fd = accept4(lf->fd, &peer.u.sa, &peer.len,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			/* Out of descriptors: refuse that peer rather than spin
			 * on a listener that stays readable. */
			if (errno == EMFILE || errno == ENFILE)
				net_accept_shed(l->w, lf->fd);
			return;
		}
		struct net_tpeer *tp = tpeer_new(l->w, fd);
		if (tp && loop_add(l->w->loop, &tp->lf, 0) == 0) {
			tp->owner = turn_tcp_accepted(l->w->srv, l->owner, &peer, tp);
			if (tp->owner)
				continue;
			loop_close(l->w->loop, &tp->lf); /* no permission; closes fd */
			free(tp);
			continue;
		}
		close(fd);
		free(tp);
	}
}

static int io_tcp_listen(void *arg, const struct sa *bind,
			 struct turn_relay *owner, void **handlep)
{
	struct net_worker *w = arg;
	struct net_tlisten *l = calloc(1, sizeof(*l));
	if (!l)
		return ENOMEM;
	/* SO_REUSEPORT so that Connect can bind the same address. */
	int fd = net_socket_bind(SOCK_STREAM, bind, true);
	int err = fd < 0 ? -fd : listen(fd, 64) != 0 ? errno : 0;
	if (!err) {
		l->w = w;
		l->owner = owner;
		l->lf = (struct loop_fd){.fd = fd, .h = tlisten_accept, .arg = l};
		err = loop_add(w->loop, &l->lf, EPOLLIN);
	}
	if (err) {
		if (fd >= 0)
			close(fd);
		free(l);
		return err;
	}
	*handlep = l;
	return 0;
}

static void io_tcp_unlisten(void *arg, void *handle)
{
	struct net_worker *w = arg;
	struct net_tlisten *l = handle;
	loop_close(w->loop, &l->lf);
	loop_defer_free(w->loop, l);
}

static int io_tcp_connect(void *arg, const struct sa *from,
			  const struct sa *peer, struct turn_tconn *owner,
			  void **handlep)
{
	struct net_worker *w = arg;
	int fd = net_socket_bind(SOCK_STREAM, from, true);
	if (fd < 0)
		return -fd;
	int err = 0;
	if (connect(fd, &peer->u.sa, peer->len) != 0 && errno != EINPROGRESS)
		err = errno;
	struct net_tpeer *tp = err ? NULL : tpeer_new(w, fd);
	if (!err && !tp)
		err = ENOMEM;
	/* Even an immediate success is reported from the loop, after the
	 * core has stored the handle. */
	if (!err) {
		tp->owner = owner;
		tp->connecting = true;
		tp->events = EPOLLOUT;
		err = loop_add(w->loop, &tp->lf, EPOLLOUT);
	}
	if (err) {
		close(fd);
		free(tp);
		return err;
	}
	*handlep = tp;
	return 0;
}

static void io_tcp_close(void *arg, void *handle)
{
	struct net_worker *w = arg;
	struct net_tpeer *tp = handle;
	tpeer_unthrottle(tp);
	tp->owner = NULL;
	struct net_tcp_conn *c = tp->client;
	if (c) {
		tp->client = NULL;
		c->pipe = NULL;
		net_tcp_close(c);
	}
	if (tp->connecting || tp->lf.fd < 0) {
		loop_close(w->loop, &tp->lf);
	} else {
		int fd = tp->lf.fd; /* what the peer was sent must not be reset away */
		loop_detach(w->loop, &tp->lf);
		tp->lf.fd = -1;
		net_linger_start(w, fd, NULL);
	}
	free(tp->tail);
	tp->tail = NULL;
	loop_defer_free(w->loop, tp);
}

static void io_tcp_bind(void *arg, void *handle, void *conn)
{
	struct net_tpeer *tp = handle;
	struct net_tcp_conn *c = conn;
	(void)arg;
	if (*(const enum net_kind *)conn != NET_KIND_TCP)
		return;
	if (c->rcap < PIPE_RBUF) {
		uint8_t *b = realloc(c->rbuf, PIPE_RBUF);
		if (b) {
			c->rbuf = b;
			c->rcap = PIPE_RBUF;
		}
	}
	c->pipe = tp;
	c->piped = true;
	/* A pipe may wait on its reader as long as the application likes:
	 * the kernel's default retransmission limits apply again. */
	unsigned none = 0;
	(void)setsockopt(c->lf.fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &none, sizeof(none));
	tp->client = c;
	tpeer_update(tp); /* start reading the peer: its data was waiting */
}

static void io_conn_close(void *arg, void *conn)
{
	(void)arg;
	if (*(const enum net_kind *)conn == NET_KIND_TCP)
		net_tcp_close(conn);
}

static void io_conn_handoff(void *arg, void *conn, void *owner_arg)
{
	(void)arg;
	if (*(const enum net_kind *)conn == NET_KIND_TCP)
		((struct net_tcp_conn *)conn)->handoff = owner_arg;
}

void net_tcprelay_io(struct turn_io *io)
{
	io->tcp_listen = io_tcp_listen;
	io->tcp_unlisten = io_tcp_unlisten;
	io->tcp_connect = io_tcp_connect;
	io->tcp_close = io_tcp_close;
	io->tcp_bind = io_tcp_bind;
	io->conn_handoff = io_conn_handoff;
	io->conn_close = io_conn_close;
}

/* ----- Handing a client connection to another worker ----- */

void net_tcprelay_handoff(struct net_tcp_conn *c)
{
	struct net_worker *from = c->w, *to = c->handoff;
	/* Off this worker's dirty list before it leaves; what stays unsent
	 * waits for EPOLLOUT on the new one. */
	net_tcp_flush_now(c);
	if (c->prev)
		c->prev->next = c->next;
	else
		from->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	loop_detach(from->loop, &c->lf);
	c->w = to;
	c->prev = NULL;
	pthread_mutex_lock(&to->xfer_mu);
	c->next = to->xfer;
	to->xfer = c;
	pthread_mutex_unlock(&to->xfer_mu);
	uint64_t one = 1;
	ssize_t r = write(to->xfer_lf.fd, &one, sizeof(one));
	(void)r; /* an eventfd counter does not fill up */
}

/* Adopt the connections other workers handed over, and read the
 * request they carry (a ConnectionBind) again, here. */
static void xfer_event(struct loop_fd *lf, uint32_t events)
{
	struct net_worker *w = lf->arg;
	uint64_t n;
	(void)events;
	ssize_t r = read(lf->fd, &n, sizeof(n));
	(void)r; /* only a wake-up: the list below is the data */
	pthread_mutex_lock(&w->xfer_mu);
	struct net_tcp_conn *list = w->xfer;
	w->xfer = NULL;
	pthread_mutex_unlock(&w->xfer_mu);
	while (list) {
		struct net_tcp_conn *c = list;
		list = c->next;
		c->handoff = NULL;
		c->prev = NULL;
		c->next = w->conns;
		if (c->next)
			c->next->prev = c;
		w->conns = c;
		c->ev = EPOLLIN | (c->want_out ? EPOLLOUT : 0);
		if (loop_add(w->loop, &c->lf, c->ev) != 0)
			net_tcp_close(c);
		else
			net_tcp_input(c);
	}
}

int net_tcprelay_init(struct net_worker *w)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (fd < 0)
		return errno;
	pthread_mutex_init(&w->xfer_mu, NULL);
	w->xfer_lf = (struct loop_fd){.fd = fd, .h = xfer_event, .arg = w};
	int err = loop_add(w->loop, &w->xfer_lf, EPOLLIN);
	if (err) {
		close(fd);
		w->xfer_lf.fd = -1;
	}
	return err;
}

/* After every worker stopped: connections still in the mailbox. */
void net_tcprelay_fini(struct net_worker *w)
{
	if (!w->xfer_lf.arg)
		return; /* never initialised */
	while (w->xfer) {
		struct net_tcp_conn *c = w->xfer;
		w->xfer = c->next;
		if (c->ssl)
			SSL_free(c->ssl);
		close(c->lf.fd);
		free(c->rbuf);
		free(c->wbuf);
		free(c);
	}
	loop_close(w->loop, &w->xfer_lf);
	pthread_mutex_destroy(&w->xfer_mu);
}

/* Give throttled pipes another go: what their buckets refilled since. */
void net_tcprelay_sweep(struct net_worker *w)
{
	struct net_tpeer *list = w->throttled;
	w->throttled = NULL;
	while (list) {
		struct net_tpeer *tp = list;
		list = tp->tnext;
		tp->throttled = false;
		tp->tprev = tp->tnext = NULL;
		if (tp->lf.fd < 0)
			continue;
		if (tpeer_out_len(tp) > 0 && tpeer_write(tp) != 0)
			tpeer_finish(tp);
		else
			tpeer_update(tp);
	}
}
