/* turnstone bench over TCP and TLS (RFC 8656 3.1): the client end of one
 * stream per allocation. Frames are STUN messages (20 bytes + their
 * length field) and ChannelData, which a stream pads to a multiple of
 * four (RFC 8656 12.5); bench_framer_feed cuts the byte stream back into
 * them. Sockets are non-blocking for the event loop, but a write is
 * finished before returning, waiting in poll() while the socket is full:
 * a frame half written cannot be taken back on a stream. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "cli/bench.h"
#include "stun/stun.h"

/* The first frame's length, or EAGAIN (fewer than 4 bytes) or EBADMSG.
 * A first byte with the top bit set is neither STUN (00) nor ChannelData
 * (01): refused at once, even before the 4-byte header is in. */
static int framer_len(const uint8_t *b, size_t n, size_t *fl)
{
	if (n > 0 && (b[0] & 0x80))
		return EBADMSG;
	int e = stun_frame_len(b, n, fl);
	if (!e && *fl > BENCH_FRAME_MAX)
		return EBADMSG;
	return e;
}

/* Bytes held from an earlier read: complete that frame first. *used is
 * how much of in it took; *done says whether a frame was delivered and
 * *more whether the handler wants the rest. */
static int framer_resume(struct bench_framer *fr, const uint8_t *in, size_t n,
			 size_t *used, bench_frame_h *h, void *arg, bool *more)
{
	size_t fl = 0;
	int e = framer_len(fr->buf, fr->len, &fl);
	if (e == EBADMSG)
		return e;
	size_t want = e ? STUN_CHDATA_HDR : fl;
	size_t take = want - fr->len < n ? want - fr->len : n;
	memcpy(fr->buf + fr->len, in, take);
	fr->len += take;
	*used = take;
	if (e && (e = framer_len(fr->buf, fr->len, &fl)) != 0)
		return e == EAGAIN ? 0 : e;
	if (fr->len < fl)
		return 0;
	/* Whole: check once more, now that a STUN cookie is in. */
	if (framer_len(fr->buf, fl, &fl))
		return EBADMSG;
	fr->len = 0;
	*more = h(arg, fr->buf, fl);
	return 0;
}

int bench_framer_feed(struct bench_framer *fr, const uint8_t *in, size_t n,
		      bench_frame_h *h, void *arg)
{
	bool more = true;
	while (n > 0 && more) {
		size_t used = 0, fl = 0;
		int e;
		if (fr->len > 0) {
			e = framer_resume(fr, in, n, &used, h, arg, &more);
		} else if ((e = framer_len(in, n, &fl)) == 0 && fl <= n) {
			/* The common case: whole frames straight from the read. */
			more = h(arg, in, fl);
			used = fl;
		} else if (e != EBADMSG) {
			memcpy(fr->buf, in, n); /* n < fl <= BENCH_FRAME_MAX, or n < 4 */
			fr->len = n;
			used = n;
			e = 0;
		}
		if (e)
			return e;
		in += used;
		n -= used;
	}
	return 0;
}

static uint64_t stream_ms(void)
{
	return bench_now_ns() / 1000000;
}

/* Wait until fd is ready for ev or the deadline (ms) passes. */
static int stream_wait(int fd, short ev, uint64_t deadline)
{
	uint64_t now = stream_ms();
	if (now >= deadline)
		return ETIMEDOUT;
	struct pollfd p = {.fd = fd, .events = ev};
	int r = poll(&p, 1, (int)(deadline - now));
	if (r < 0)
		return errno == EINTR ? 0 : errno;
	return r == 0 ? ETIMEDOUT : 0;
}

/* What the last SSL_ call (result r) waits for, as poll() events; 0 if
 * it failed for good. */
static short stream_ssl_wants(struct bench_stream *s, int r)
{
	int e = SSL_get_error(s->ssl, r);
	if (e == SSL_ERROR_WANT_READ)
		return POLLIN;
	if (e == SSL_ERROR_WANT_WRITE)
		return POLLOUT;
	ERR_clear_error();
	return 0;
}

int bench_tls_ctx(bool idle, struct ssl_ctx_st **ctxp)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx)
		return ENOMEM;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	if (idle)
		SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	*ctxp = ctx;
	return 0;
}

static int stream_socket(const struct sa *src, const struct sa *dst, int *fdp)
{
	int fd = socket(sa_af(dst), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	int one = 1;
	/* Each frame goes out as written: Nagle would hold a small request
	 * behind a delayed ACK (~40 ms). */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (src && sa_af(src) == sa_af(dst) && bind(fd, &src->u.sa, src->len)) {
		int e = errno;
		close(fd);
		return e;
	}
	*fdp = fd;
	return 0;
}

int bench_stream_begin(const struct sa *src, const struct sa *dst,
		       struct ssl_ctx_st *ctx, int *fdp, struct bench_stream **sp)
{
	struct bench_stream *s = calloc(1, sizeof(*s));
	int fd = -1;
	int e = s ? stream_socket(src, dst, &fd) : ENOMEM;
	if (!e && connect(fd, &dst->u.sa, dst->len) != 0)
		e = errno == EINPROGRESS ? 0 : errno;
	if (!e && ctx && (!(s->ssl = SSL_new(ctx)) || SSL_set_fd(s->ssl, fd) != 1))
		e = ENOMEM;
	if (e) {
		if (fd >= 0)
			close(fd);
		bench_stream_free(s);
		return e;
	}
	s->connecting = true;
	*fdp = fd;
	*sp = s;
	return 0;
}

/* Connected yet? Not before the kernel says so: a spurious wakeup must
 * not start a handshake on a socket still connecting. */
static int stream_connected(int fd, short *ev)
{
	int soe = 0;
	socklen_t sl = sizeof(soe);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soe, &sl))
		return errno;
	if (soe)
		return soe;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
		return 0;
	if (errno != ENOTCONN)
		return errno;
	*ev = POLLOUT;
	return EAGAIN;
}

int bench_stream_step(struct bench_stream *s, int fd, short *ev)
{
	*ev = 0;
	if (s->connecting) {
		int e = stream_connected(fd, ev);
		if (e)
			return e;
		s->connecting = false;
	}
	if (!s->ssl)
		return 0;
	int r = SSL_connect(s->ssl);
	if (r == 1)
		return 0;
	*ev = stream_ssl_wants(s, r);
	return *ev ? EAGAIN : EPROTO;
}

int bench_stream_open(const struct sa *src, const struct sa *dst,
		      struct ssl_ctx_st *ctx, int *fdp, struct bench_stream **sp)
{
	uint64_t deadline = stream_ms() + BENCH_STREAM_OPEN_MS;
	struct bench_stream *s;
	int fd;
	int e = bench_stream_begin(src, dst, ctx, &fd, &s);
	if (e)
		return e;
	short ev;
	while ((e = bench_stream_step(s, fd, &ev)) == EAGAIN) {
		e = stream_wait(fd, ev, deadline);
		if (e)
			break;
	}
	if (e) {
		close(fd);
		bench_stream_free(s);
		return e;
	}
	*fdp = fd;
	*sp = s;
	return 0;
}

/* One attempt: bytes written, or 0 and the poll() events to wait for,
 * or an error. */
static int stream_write_some(struct bench_stream *s, int fd, const uint8_t *buf,
			     size_t len, size_t *n, short *ev)
{
	*n = 0;
	*ev = 0;
	if (!s->ssl) {
		ssize_t r = send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r >= 0)
			*n = (size_t)r;
		else if (errno == EAGAIN || errno == EWOULDBLOCK)
			*ev = POLLOUT;
		else if (errno != EINTR)
			return errno;
		return 0;
	}
	/* After WANT_WRITE, OpenSSL wants the same buffer again: it is. */
	int r = SSL_write(s->ssl, buf, (int)len);
	if (r > 0) {
		*n = (size_t)r;
		return 0;
	}
	*ev = stream_ssl_wants(s, r);
	return *ev ? 0 : EPIPE;
}

int bench_stream_write(struct bench_stream *s, int fd, const uint8_t *buf,
		       size_t len)
{
	uint64_t deadline = 0;
	if (fd < 0)
		return EPIPE;
	while (len > 0) {
		size_t n;
		short ev;
		int e = stream_write_some(s, fd, buf, len, &n, &ev);
		if (!e && ev) {
			if (!deadline)
				deadline = stream_ms() + BENCH_STREAM_IO_MS;
			e = stream_wait(fd, ev, deadline);
		}
		if (e)
			return e;
		buf += n;
		len -= n;
	}
	return 0;
}

int bench_stream_read(struct bench_stream *s, int fd, uint8_t *buf, size_t cap,
		      size_t *got)
{
	if (!s->ssl) {
		ssize_t r = recv(fd, buf, cap, MSG_DONTWAIT);
		if (r > 0) {
			*got = (size_t)r;
			return 0;
		}
		if (r == 0)
			return ECONNRESET;
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR
			       ? EAGAIN : errno;
	}
	int r = SSL_read(s->ssl, buf, cap > INT32_MAX ? INT32_MAX : (int)cap);
	if (r > 0) {
		*got = (size_t)r;
		return 0;
	}
	/* WANT_WRITE too: the next readable event retries. */
	return stream_ssl_wants(s, r) ? EAGAIN : ECONNRESET;
}

bool bench_stream_pending(const struct bench_stream *s)
{
	return s->ssl && SSL_pending(s->ssl) > 0;
}

void bench_stream_free(struct bench_stream *s)
{
	if (!s)
		return;
	SSL_free(s->ssl);
	free(s);
}
