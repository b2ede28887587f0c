/* Closing an RFC 6062 pipe's socket without losing what was sent.
 *
 * close() on a TCP socket that still has unread input sends a reset, and a
 * reset throws away whatever of our output the other side has not yet
 * acknowledged: the last bytes of a pipe. So a pipe's socket is closed
 * the slow way: close_notify (TLS), then FIN with shutdown(SHUT_WR), then
 * read and discard until the other side closes too, or NET_LINGER_MS
 * passes, and only then close(). At most NET_LINGER_MAX sockets linger
 * per worker; past that they are closed at once. */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/net_int.h"

#define NET_LINGER_MS 5000
#define NET_LINGER_MAX 4096

struct net_linger {
	struct loop_fd lf;
	struct net_worker *w;
	uint64_t deadline;
	struct net_linger *prev, *next;
};

static void linger_end(struct net_linger *g)
{
	struct net_worker *w = g->w;
	if (g->prev)
		g->prev->next = g->next;
	else
		w->lingering = g->next;
	if (g->next)
		g->next->prev = g->prev;
	w->nlinger--;
	loop_close(w->loop, &g->lf);
	loop_defer_free(w->loop, g);
}

static void linger_event(struct loop_fd *lf, uint32_t events)
{
	struct net_linger *g = lf->arg;
	uint8_t buf[4096];
	(void)events;
	for (;;) {
		ssize_t n = recv(lf->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0)
			continue; /* discarded: the pipe is over */
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		linger_end(g); /* EOF or an error: the other side is done */
		return;
	}
}

void net_linger_start(struct net_worker *w, int fd, SSL *ssl)
{
	if (ssl) {
		ERR_clear_error();
		(void)SSL_shutdown(ssl); /* queue close_notify; no waiting */
		ERR_clear_error();
		SSL_free(ssl); /* the socket BIO does not close fd */
	}
	struct net_linger *g = w->nlinger < NET_LINGER_MAX ? calloc(1, sizeof(*g)) : NULL;
	if (!g || shutdown(fd, SHUT_WR) != 0) {
		free(g);
		close(fd);
		return;
	}
	g->w = w;
	g->deadline = w->now_ms + NET_LINGER_MS;
	g->lf = (struct loop_fd){.fd = fd, .h = linger_event, .arg = g};
	if (loop_add(w->loop, &g->lf, EPOLLIN) != 0) {
		close(fd);
		free(g);
		return;
	}
	g->next = w->lingering;
	if (g->next)
		g->next->prev = g;
	w->lingering = g;
	w->nlinger++;
}

void net_linger_sweep(struct net_worker *w)
{
	struct net_linger *g = w->lingering;
	while (g) {
		struct net_linger *next = g->next;
		if (w->now_ms >= g->deadline)
			linger_end(g);
		g = next;
	}
}

void net_linger_fini(struct net_worker *w)
{
	while (w->lingering)
		linger_end(w->lingering);
}
