/* TCP client transport: the listeners and what happens at accept
 * (admission against max-unauth-tcp-per-ip and tcp-proxy-trusted, socket
 * options, EMFILE back-off), and the worker's sweep that closes streams
 * past their frame deadline or idle without an allocation. A connection's
 * stream itself (reading, framing, writing, closing) is in tcp.c. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/net_int.h"
#include "util/log.h"
#include "util/sa.h"

/* No Nagle on streams that carry media: the worker already writes a
 * whole batch at once, and Nagle would hold a small write (a STUN answer
 * just after a TLS handshake, a ChannelData frame) while an earlier one
 * waits for the peer's delayed ACK, ~40 ms on Linux. */
void net_tcp_nodelay(int fd)
{
	int one = 1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Out of descriptors: the pending connection stays queued and the
 * listener stays readable, so accepting again at once would spin. Stop
 * listening for a moment (net_tcp_sweep resumes) and say so, rarely. */
static void tcp_accept_pause(struct net_tcp_listener *l, int err)
{
	struct net_worker *w = l->w;
	l->paused = true;
	loop_mod(w->loop, &l->lf, 0);
	w->accept_resume = w->now_ms + NET_ACCEPT_PAUSE_MS;
	if (net_say_rarely(w, &w->emfile_logged)) {
		log_warn("worker %u: accept: %s; pausing new TCP/TLS connections",
			 w->id, strerror(err));
	}
}

/* Accept one pending connection and close it at once, with the spare
 * descriptor kept for this: for listeners that cannot pause. */
void net_accept_shed(struct net_worker *w, int lfd)
{
	if (w->spare_fd < 0)
		return;
	close(w->spare_fd);
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd >= 0)
		close(fd);
	w->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* One source holds --max-unauth-tcp-per-ip streams (or DTLS sessions)
 * without an allocation already: the new one is refused. Said rarely. */
void net_unauth_refused(struct net_worker *w, const struct sa *remote,
			unsigned max, const char *what)
{
	if (!net_say_rarely(w, &w->refused_logged))
		return;
	char ip[SA_STRLEN];
	log_warn("worker %u: %s from %s refused: it has %u connections "
		 "without an allocation (max-unauth-tcp-per-ip)",
		 w->id, what, sa_fmt_ip(remote, ip, sizeof(ip)), max);
}

/* On tcp-proxy-port, the PROXY header names the client that the TURN
 * core, the logs, usage records and max-unauth-tcp-per-ip then see: only
 * a balancer the operator trusts (tcp-proxy-trusted, by default loopback
 * and private ranges) may send one, or anyone reaching the port could
 * claim any address. Anyone else is closed at accept and said rarely. */
static bool tcp_proxy_trusted(struct net_worker *w, const struct turn_cfg *cfg,
			      const struct sa *remote)
{
	if (cidr_list_has(cfg->proxy_trusted, cfg->nproxy_trusted, remote))
		return true;
	turn_stat_add(&turn_srv_net_stats(w->srv)->conn_refused, 1);
	if (!net_say_rarely(w, &w->untrusted_logged))
		return false;
	char ip[SA_STRLEN];
	log_warn("worker %u: TCP from %s to the tcp-proxy-port refused: not a "
		 "trusted balancer (name it with tcp-proxy-trusted)",
		 w->id, sa_fmt_ip(remote, ip, sizeof(ip)));
	return false;
}

/* A new client stream: counted against its source until it carries an
 * allocation, and given a kernel deadline for its output. */
static struct net_tcp_conn *tcp_conn_new(struct net_tcp_listener *l, int fd,
					 const struct sa *remote)
{
	struct net_worker *w = l->w;
	const struct turn_cfg *cfg = net_worker_cfg(w);
	if (l->proxy && !tcp_proxy_trusted(w, cfg, remote))
		return NULL;
	/* Behind a balancer the source is the balancer: the client its
	 * PROXY header names is counted instead (tcp_proxy_read). Until the
	 * header comes the stream is not counted against the balancer's
	 * address: every client behind a balancer shares it, so
	 * max-unauth-tcp-per-ip (64) streams awaiting headers (a burst of
	 * connects accepted before their headers are read, or clients a
	 * balancer connects before they send anything) would shut out every
	 * client of that balancer, the harm the limit exists to stop. It
	 * counts among the worker's streams awaiting a header instead
	 * (proxywait.c, tcp_accept), and is closed if its header is not
	 * whole within NET_TCP_FRAME_MS (10 s) of accept. */
	if (!l->proxy &&
	    !turn_shared_conn_take(w->sh, remote, cfg->tcp_unauth_per_ip)) {
		turn_stat_add(&turn_srv_net_stats(w->srv)->conn_refused, 1);
		net_unauth_refused(w, remote, cfg->tcp_unauth_per_ip, "TCP/TLS");
		return NULL;
	}
	/* --tcp-write-timeout, as the kernel's limit on unacknowledged or
	 * unsent output (RFC 5482), a shut window included: a client that
	 * stops reading is dropped; one reading slowly is not. */
	unsigned to = cfg->tcp_write_timeout * 1000u;
	if (to)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &to, sizeof(to));
	net_tcp_nodelay(fd);
	struct net_tcp_conn *c = calloc(1, sizeof(*c));
	uint8_t *rb = malloc(NET_TCP_RBUF_INIT);
	if (!c || !rb) {
		free(c);
		free(rb);
		if (!l->proxy)
			turn_shared_conn_put(w->sh, remote);
		return NULL;
	}
	*c = (struct net_tcp_conn){.kind = NET_KIND_TCP, .w = w,
		.local = l->local, .remote = *remote, .rbuf = rb,
		.rcap = NET_TCP_RBUF_INIT, .ev = EPOLLIN, .last_rx = w->now_ms,
		.deadline = w->now_ms + NET_TCP_FRAME_MS,
		.counted = !l->proxy && cfg->tcp_unauth_per_ip > 0,
		.mode = l->proxy ? NET_TCP_PROXY : NET_TCP_SNIFF};
	c->lf = (struct loop_fd){.fd = fd, .h = net_tcp_event, .arg = c};
	if (loop_add(w->loop, &c->lf, EPOLLIN) != 0) {
		net_tcp_uncount(c);
		free(rb);
		free(c);
		return NULL;
	}
	return c;
}

static void tcp_accept(struct loop_fd *lf, uint32_t events)
{
	struct net_tcp_listener *l = lf->arg;
	(void)events;
	for (int i = 0; i < 16; i++) {
		struct sa remote = {.len = sizeof(remote.u)};
		int fd = accept4(lf->fd, &remote.u.sa, &remote.len,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM)
				tcp_accept_pause(l, errno);
			return;
		}
		struct net_tcp_conn *c = tcp_conn_new(l, fd, &remote);
		if (!c) {
			close(fd);
			continue;
		}
		c->next = l->w->conns;
		if (c->next)
			c->next->prev = c;
		l->w->conns = c;
		if (l->proxy && !net_proxy_wait_add(c))
			net_tcp_close(c);
	}
}

int net_tcp_listen(struct net_worker *w, const struct sa *addr, bool proxy,
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
	l->proxy = proxy;
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

/* Quiet for NET_TCP_IDLE_MS with no allocation and no pipe. */
static bool tcp_idle_bare(struct net_tcp_conn *c)
{
	if (c->pipe || c->piped || c->w->now_ms - c->last_rx < NET_TCP_IDLE_MS)
		return false;
	struct turn_src src = net_tcp_src(c);
	return !turn_conn_has_alloc(c->w->srv, &src);
}

void net_tcp_sweep(struct net_worker *w)
{
	if (w->accept_resume && w->now_ms >= w->accept_resume) {
		w->accept_resume = 0;
		for (unsigned i = 0; i < w->ntcp; i++) {
			if (w->tcp[i]->paused)
				loop_mod(w->loop, &w->tcp[i]->lf, EPOLLIN);
			w->tcp[i]->paused = false;
		}
	}
	struct net_tcp_conn *c = w->conns;
	while (c) {
		struct net_tcp_conn *next = c->next;
		bool late = c->deadline && w->now_ms >= c->deadline &&
			    !net_tcp_rblocked(c);
		if (c->lf.fd >= 0 && (late || tcp_idle_bare(c)))
			net_tcp_close(c);
		c = next;
	}
}

void net_tcp_close_all(struct net_worker *w)
{
	while (w->conns)
		net_tcp_close(w->conns);
}
