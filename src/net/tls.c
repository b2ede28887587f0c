/* TURN over TLS (RFC 8656 3.1): OpenSSL sits between the socket and the
 * TCP framing, so after decryption a TLS client is a TCP client. The
 * socket is non-blocking; OpenSSL's WANT_READ and WANT_WRITE map onto the
 * connection's epoll interest. */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <string.h>
#include <sys/epoll.h>

#include "net/net_int.h"
#include "util/log.h"
#include "util/sa.h"

/* RFC 8446 4.6.3: each KeyUpdate makes OpenSSL rekey, and one with
 * update_requested makes it answer with a KeyUpdate record of its own,
 * with no limit: a client could keep a worker deriving keys and writing
 * records for as long as it sends them. Clients send one after very large
 * amounts of data (the AEAD limits of RFC 8446 5.5), so more than
 * TLS_KEYUPD_MAX within TLS_KEYUPD_WINDOW_MS closes the connection. */
#define TLS_KEYUPD_MAX 10u
#define TLS_KEYUPD_WINDOW_MS 10000u

/* OpenSSL's message callback: it sees every record header too, so it
 * returns at the first test unless a KeyUpdate came in. */
static void tls_msg(int write_p, int version, int content_type,
		    const void *buf, size_t len, SSL *ssl, void *arg)
{
	(void)version;
	if (write_p || content_type != SSL3_RT_HANDSHAKE || len < 1 ||
	    *(const unsigned char *)buf != SSL3_MT_KEY_UPDATE)
		return;
	struct net_tcp_conn *c = arg;
	uint64_t now = c->w->now_ms;
	if (c->keyupd_n == 0 || now - c->keyupd_since >= TLS_KEYUPD_WINDOW_MS) {
		c->keyupd_since = now;
		c->keyupd_n = 0;
	}
	/* Over the limit: SSL_read returns once the records it holds are
	 * done, instead of reading on from the socket (net_tls_conn_read
	 * then closes). Processing this one cannot be stopped from here. */
	if (++c->keyupd_n > TLS_KEYUPD_MAX)
		SSL_clear_mode(ssl, SSL_MODE_AUTO_RETRY);
}

/* The client went over the KeyUpdate limit: close, said rarely. */
static int tls_keyupd_close(struct net_tcp_conn *c)
{
	struct net_worker *w = c->w;
	ERR_clear_error();
	turn_stat_add(&turn_srv_net_stats(w->srv)->tls_keyupd_closed, 1);
	if (net_say_rarely(w, &w->keyupd_logged)) {
		char ip[SA_STRLEN];
		log_warn("worker %u: TLS from %s closed: more than %u KeyUpdate "
			 "messages in %u s", w->id, sa_fmt_ip(&c->remote, ip, sizeof(ip)),
			 TLS_KEYUPD_MAX, TLS_KEYUPD_WINDOW_MS / 1000u);
	}
	return EPROTO;
}

int net_tls_conn_start(struct net_tcp_conn *c)
{
	const struct net_tls *t = c->w->tls;
	if (!t)
		return EPROTO;
	c->ssl = SSL_new(t->tls);
	if (!c->ssl)
		return ENOMEM;
	if (SSL_set_fd(c->ssl, c->lf.fd) != 1) {
		SSL_free(c->ssl);
		c->ssl = NULL;
		return ENOMEM;
	}
	SSL_set_accept_state(c->ssl);
	SSL_set_msg_callback(c->ssl, tls_msg);
	SSL_set_msg_callback_arg(c->ssl, c);
	c->mode = NET_TCP_TLS;
	return 0;
}

/* 0 when OpenSSL only waits for the socket, else the error to close on.
 * The error queue is cleared either way: it is per thread and a stale
 * entry would be blamed on the next connection. */
static int tls_wait(struct net_tcp_conn *c, int rc)
{
	int sys = errno; /* what the socket said, for SSL_ERROR_SYSCALL */
	int e = SSL_get_error(c->ssl, rc);
	ERR_clear_error();
	if (e == SSL_ERROR_WANT_READ) {
		c->ssl_held = false; /* all it holds is part of a record */
		return 0;
	}
	if (e == SSL_ERROR_WANT_WRITE) {
		/* Wake on EPOLLOUT; the event handler then retries both ways. */
		net_tcp_want_out(c, true);
		return 0;
	}
	if (e == SSL_ERROR_SYSCALL && sys == ETIMEDOUT)
		return ETIMEDOUT; /* TCP_USER_TIMEOUT (tcp.c counts it) */
	return e == SSL_ERROR_ZERO_RETURN ? ECONNRESET : EPROTO;
}

int net_tls_conn_read(struct net_tcp_conn *c)
{
	for (;;) {
		/* A pipe whose peer is full, or a stream whose answers
		 * wait, reads on when that drains (net_tcp_events wakes us
		 * for what OpenSSL holds). */
		if (net_tcp_rblocked(c) || c->rlen == c->rcap) {
			c->ssl_held = true;
			return 0;
		}
		/* SSL_get_error reads the thread's queue, and the turn core
		 * runs between reads: clear it before every call. */
		ERR_clear_error();
		int n = SSL_read(c->ssl, c->rbuf + c->rlen, (int)(c->rcap - c->rlen));
		if (c->keyupd_n > TLS_KEYUPD_MAX)
			return tls_keyupd_close(c);
		if (n <= 0)
			return tls_wait(c, n);
		c->rlen += (size_t)n;
		/* Frames leave room for the next read: net_tcp_frames grows
		 * rbuf to the size of a partial frame. */
		int err = net_tcp_consume(c);
		if (err || c->lf.fd < 0 || c->handoff)
			return err;
		/* Read-ahead took what the socket held; if more came since,
		 * the level-triggered epoll says so. Another SSL_read would
		 * be one more read() that mostly finds nothing. */
		if (!SSL_has_pending(c->ssl)) {
			c->ssl_held = false;
			return 0;
		}
	}
}

int net_tls_conn_flush(struct net_tcp_conn *c)
{
	while (c->wlen > 0) {
		ERR_clear_error();
		int n = SSL_write(c->ssl, c->wbuf, (int)c->wlen);
		if (n <= 0)
			return tls_wait(c, n);
		memmove(c->wbuf, c->wbuf + n, c->wlen - (size_t)n);
		c->wlen -= (size_t)n;
	}
	return 0;
}
