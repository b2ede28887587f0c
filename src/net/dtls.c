/* TURN over DTLS 1.2 (RFC 8656 3.1, RFC 7350) on the UDP listeners.
 *
 * A datagram whose first byte is 20-63 is DTLS (RFC 7983 demultiplexing).
 * A client with no session goes through the worker's one cookie exchanger
 * (DTLSv1_listen): until it echoes a cookie bound by HMAC to its address
 * it costs no memory, and the HelloVerifyRequest is never larger than the
 * ClientHello that drew it, so the port amplifies nothing (RFC 6347
 * 4.2.1). Once the cookie verifies, the exchanger itself becomes the
 * session and a fresh one takes its place.
 *
 * OpenSSL talks to us through a BIO of our own: reads return the one
 * datagram being fed, writes go out through the listener's send queue,
 * one datagram per write. After the handshake each record carries one
 * STUN message or ChannelData, handed to the core as a UDP client whose
 * conn handle is the session. */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net/net_int.h"
#include "util/rand.h"

#define DTLS_IDLE_MS (15u * 60 * 1000) /* past the longest Refresh gap */
#define DTLS_IDLE_BARE_MS 60000 /* idle with no allocation: a session costs
				 * two OpenSSL buffers, so it goes sooner */
#define DTLS_MTU 1400                  /* handshake fragments */
#define DTLS_COOKIE_PERIOD 60          /* s; the previous period verifies too */

/* --- the BIO ------------------------------------------------------- */

static int dbio_write(BIO *b, const char *buf, int len)
{
	struct net_dtls *d = BIO_get_data(b);
	/* No answer to a cookie-less ClientHello may outweigh it. */
	if (d->listening && (size_t)len > d->inlen)
		return len;
	struct iovec iov = {(void *)(uintptr_t)buf, (size_t)len};
	net_udp_queue(d->u, &d->remote, &iov, 1);
	return len;
}

static int dbio_read(BIO *b, char *buf, int size)
{
	struct net_dtls *d = BIO_get_data(b);
	BIO_clear_retry_flags(b);
	if (!d->in) {
		BIO_set_retry_read(b);
		return -1;
	}
	size_t n = d->inlen < (size_t)size ? d->inlen : (size_t)size;
	memcpy(buf, d->in, n);
	d->in = NULL;
	return (int)n;
}

static long dbio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	struct net_dtls *d = BIO_get_data(b);
	(void)num;
	(void)ptr;
	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return 1;
	case BIO_CTRL_PENDING:
		return d && d->in ? (long)d->inlen : 0;
	case BIO_CTRL_DGRAM_QUERY_MTU:
	case BIO_CTRL_DGRAM_GET_FALLBACK_MTU:
		return DTLS_MTU;
	default:
		return 0;
	}
}

static int dbio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

/* --- cookies (stateless, RFC 6347 4.2.1) ---------------------------- */

static int dtls_cookie(SSL *ssl, uint64_t period, unsigned char *out)
{
	const struct net_dtls *d = SSL_get_app_data(ssl);
	const struct net_tls *t = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	if (!d || !t)
		return 0;
	uint8_t msg[8 + 1 + 16 + 2] = {0};
	size_t alen = sa_af(&d->remote) == AF_INET ? 4 : 16;
	for (int i = 0; i < 8; i++)
		msg[i] = (uint8_t)(period >> (8 * i));
	msg[8] = (uint8_t)alen;
	memcpy(msg + 9, sa_addr_bytes(&d->remote), alen);
	msg[25] = (uint8_t)(sa_port(&d->remote) >> 8);
	msg[26] = (uint8_t)sa_port(&d->remote);
	unsigned int len = 0;
	return HMAC(EVP_sha256(), t->cookie_key, sizeof(t->cookie_key), msg,
		    sizeof(msg), out, &len) != NULL && len == 32;
}

static uint64_t dtls_period(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec / DTLS_COOKIE_PERIOD;
}

int net_dtls_cookie_gen(SSL *ssl, unsigned char *cookie, unsigned int *len)
{
	if (!dtls_cookie(ssl, dtls_period(), cookie))
		return 0;
	*len = 32;
	return 1;
}

int net_dtls_cookie_verify(SSL *ssl, const unsigned char *cookie,
			   unsigned int len)
{
	unsigned char want[32];
	uint64_t p = dtls_period();
	if (len != 32)
		return 0;
	for (uint64_t k = 0; k < 2 && k <= p; k++)
		if (dtls_cookie(ssl, p - k, want) && CRYPTO_memcmp(want, cookie, 32) == 0)
			return 1;
	return 0;
}

/* --- sessions ------------------------------------------------------- */

/* The session as the turn core knows it: a UDP client inside DTLS, whose
 * handle is the session. */
static struct turn_src dtls_src(struct net_dtls *d)
{
	return (struct turn_src){.proto = TURN_PROTO_UDP, .secure = true,
				 .client = d->remote, .local = d->u->local, .conn = d};
}

static struct net_dtls *dtls_new(struct net_worker *w)
{
	struct net_dtls *d = calloc(1, sizeof(*d));
	BIO *b = BIO_new(w->biom);
	if (d)
		d->ssl = SSL_new(w->tls->dtls);
	if (!d || !b || !d->ssl) {
		BIO_free(b);
		if (d)
			SSL_free(d->ssl);
		free(d);
		return NULL;
	}
	d->kind = NET_KIND_DTLS;
	BIO_set_data(b, d);
	SSL_set_bio(d->ssl, b, b); /* one reference, owned by the SSL */
	SSL_set_app_data(d->ssl, d);
	SSL_set_mtu(d->ssl, DTLS_MTU);
	return d;
}

static struct net_dtls **dtls_slot(struct net_worker *w, const struct net_udp *u,
				   const struct sa *from)
{
	uint32_t h = sa_hash(from, w->dseed) & (NET_DTLS_BUCKETS - 1);
	struct net_dtls **pp = &w->dbuckets[h];
	while (*pp && ((*pp)->u != u || !sa_eq(&(*pp)->remote, from)))
		pp = &(*pp)->hnext;
	return pp;
}

/* No longer counted against its source (--max-unauth-tcp-per-ip). */
static void dtls_uncount(struct net_worker *w, struct net_dtls *d)
{
	if (!d->counted)
		return;
	d->counted = false;
	turn_shared_conn_put(w->sh, &d->remote);
}

static void dtls_close(struct net_worker *w, struct net_dtls *d)
{
	struct net_dtls **pp = dtls_slot(w, d->u, &d->remote);
	if (*pp == d)
		*pp = d->hnext;
	if (d->prev)
		d->prev->next = d->next;
	else
		w->dsessions = d->next;
	if (d->next)
		d->next->prev = d->prev;
	w->ndtls--;
	dtls_uncount(w, d);
	if (w->srv) {
		struct turn_src src = dtls_src(d);
		turn_conn_closed(w->srv, &src);
	}
	SSL_free(d->ssl);
	free(d);
}

static void dtls_insert(struct net_worker *w, struct net_dtls *d)
{
	struct net_dtls **pp = dtls_slot(w, d->u, &d->remote);
	d->hnext = *pp;
	*pp = d;
	d->next = w->dsessions;
	if (d->next)
		d->next->prev = d;
	w->dsessions = d;
	w->ndtls++;
	d->deadline = w->now_ms + NET_TCP_FRAME_MS;
}

/* A datagram for an existing session: handshake, then records. */
static void dtls_feed(struct net_worker *w, struct net_dtls *d,
		      const uint8_t *buf, size_t len)
{
	d->in = buf;
	d->inlen = len;
	if (!d->established) {
		int rc = SSL_do_handshake(d->ssl);
		if (rc != 1) {
			int e = SSL_get_error(d->ssl, rc);
			ERR_clear_error();
			if (e != SSL_ERROR_WANT_READ)
				dtls_close(w, d);
			return;
		}
		d->established = true;
	}
	d->deadline = w->now_ms + DTLS_IDLE_MS;
	d->last_rx = w->now_ms;
	for (;;) {
		int n = SSL_read(d->ssl, w->dtls_buf, sizeof(w->dtls_buf));
		if (n <= 0) {
			int e = SSL_get_error(d->ssl, n);
			ERR_clear_error();
			if (e != SSL_ERROR_WANT_READ)
				dtls_close(w, d); /* close_notify or a fatal alert */
			return;
		}
		struct turn_src src = dtls_src(d);
		turn_client_input(w->srv, &src, w->dtls_buf, (size_t)n);
		/* Allocated: the user's quota covers it from now on. */
		if (d->counted && turn_conn_has_alloc(w->srv, &src))
			dtls_uncount(w, d);
	}
}

/* A session costs an SSL object, its record buffers and a signature in
 * the handshake: one source may hold only as many without an allocation
 * as it may TCP/TLS connections (max-unauth-tcp-per-ip), or it could take
 * every session slot of a worker and the memory they need. */
static bool dtls_count(struct net_worker *w, struct net_dtls *d)
{
	unsigned max = net_worker_cfg(w)->tcp_unauth_per_ip;
	if (!turn_shared_conn_take(w->sh, &d->remote, max)) {
		turn_stat_add(&turn_srv_net_stats(w->srv)->dtls_refused, 1);
		net_unauth_refused(w, &d->remote, max, "DTLS");
		return false;
	}
	d->counted = max > 0;
	return true;
}

/* A datagram from an address with no session: the cookie exchange. old
 * is the session a client restarting on the same address leaves behind:
 * once its new cookie verifies, the old session goes (RFC 6347 4.2.8). */
static void dtls_listen(struct net_worker *w, struct net_udp *u,
			const struct sa *from, const uint8_t *buf, size_t len,
			struct net_dtls *old)
{
	struct net_dtls *d = w->dlisten;
	if (!d || (!old && w->ndtls >= NET_DTLS_MAX))
		return;
	SSL_clear(d->ssl);
	d->u = u;
	d->remote = *from;
	d->in = buf;
	d->inlen = len;
	int rc = DTLSv1_listen(d->ssl, w->dpeer);
	d->in = NULL;
	ERR_clear_error();
	if (rc <= 0)
		return; /* answered with a cookie, or not a ClientHello */
	/* The cookie came back: this exchanger is now the session. */
	if (old)
		dtls_close(w, old);
	if (!dtls_count(w, d))
		return; /* the exchanger stays; the next hello clears it */
	d->listening = false;
	w->dlisten = dtls_new(w);
	if (w->dlisten)
		w->dlisten->listening = true;
	dtls_insert(w, d);
	dtls_feed(w, d, NULL, 0);
}

void net_dtls_input(struct net_udp *u, const struct sa *from,
		    const uint8_t *buf, size_t len)
{
	struct net_worker *w = u->w;
	if (!w->tls)
		return;
	struct net_dtls *d = *dtls_slot(w, u, from);
	/* Record type 22, epoch 0, handshake type 1: a new ClientHello. On
	 * an established session it means the client started over. */
	bool hello = len > 13 && buf[0] == 22 && buf[3] == 0 && buf[4] == 0 &&
		     buf[13] == 1;
	if (d && !(d->established && hello))
		dtls_feed(w, d, buf, len);
	else
		dtls_listen(w, u, from, buf, len, d);
}

void net_dtls_send(struct net_dtls *d, const struct iovec *iov, int iovcnt)
{
	struct net_worker *w = d->u->w;
	size_t total = 0;
	if (!d->established)
		return;
	for (int i = 0; i < iovcnt; i++) {
		if (total + iov[i].iov_len > sizeof(w->dtls_out))
			return;
		memcpy(w->dtls_out + total, iov[i].iov_base, iov[i].iov_len);
		total += iov[i].iov_len;
	}
	if (SSL_write(d->ssl, w->dtls_out, (int)total) <= 0)
		ERR_clear_error(); /* dropped, as UDP would */
}

/* Established, quiet for DTLS_IDLE_BARE_MS and carrying no allocation. */
static bool dtls_idle_bare(struct net_worker *w, struct net_dtls *d)
{
	if (!d->established || w->now_ms - d->last_rx < DTLS_IDLE_BARE_MS)
		return false;
	struct turn_src src = dtls_src(d);
	return !turn_conn_has_alloc(w->srv, &src);
}

void net_dtls_sweep(struct net_worker *w)
{
	struct net_dtls *d = w->dsessions;
	while (d) {
		struct net_dtls *next = d->next;
		if (w->now_ms >= d->deadline || dtls_idle_bare(w, d))
			dtls_close(w, d);
		else if (!d->established && DTLSv1_handle_timeout(d->ssl) < 0)
			ERR_clear_error(); /* retransmits a lost flight */
		d = next;
	}
}

void net_dtls_set_ctx(struct net_worker *w)
{
	if (w->dlisten) {
		SSL_free(w->dlisten->ssl);
		free(w->dlisten);
		w->dlisten = NULL;
	}
	if (!w->tls || !w->dtls_on)
		return;
	w->dlisten = dtls_new(w);
	if (w->dlisten)
		w->dlisten->listening = true;
}

int net_dtls_init(struct net_worker *w)
{
	if (!w->dtls_on)
		return 0;
	if (w->biom) {
		/* Set up before, so a reload turned DTLS back on: its handshake
		 * listener went while it was off (net_dtls_set_ctx). */
		if (!w->dlisten)
			net_dtls_set_ctx(w);
		return 0;
	}
	w->biom = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
			       "turnstone-dtls");
	w->dpeer = BIO_ADDR_new();
	if (!w->biom || !w->dpeer || rand_bytes(&w->dseed, sizeof(w->dseed)) != 0)
		return ENOMEM;
	BIO_meth_set_write(w->biom, dbio_write);
	BIO_meth_set_read(w->biom, dbio_read);
	BIO_meth_set_ctrl(w->biom, dbio_ctrl);
	BIO_meth_set_create(w->biom, dbio_create);
	net_dtls_set_ctx(w);
	return 0;
}

void net_dtls_fini(struct net_worker *w)
{
	while (w->dsessions)
		dtls_close(w, w->dsessions);
	if (w->dlisten) {
		SSL_free(w->dlisten->ssl);
		free(w->dlisten);
		w->dlisten = NULL;
	}
	BIO_ADDR_free(w->dpeer);
	BIO_meth_free(w->biom);
}
