/* turnstone probe: sockets. One connection to the server (UDP, or TCP with
 * RFC 8656 12.5 framing) and a UDP echo peer served in the same poll loop,
 * so the relay test needs no second process. Every wait has a deadline. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "cli/probe.h"
#include "util/bytes.h"


uint64_t probe_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t probe_now_ms(void)
{
	return probe_now_us() / 1000u;
}

void probe_io_init(struct probe_io *io)
{
	io->fd = -1;
	io->tcp = false;
	io->ctx = NULL;
	io->ssl = NULL;
	io->peer_fd = -1;
	io->echoed = 0;
	io->rxlen = 0;
	io->frame = 0;
}

/* Non-blocking connect bounded by PROBE_CONNECT_MS. */
static int probe_tcp_connect(int fd, const struct sa *server)
{
	if (connect(fd, &server->u.sa, server->len) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return errno;
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	int n = poll(&p, 1, PROBE_CONNECT_MS);
	if (n < 0)
		return errno;
	if (n == 0)
		return ETIMEDOUT;
	int soerr = 0;
	socklen_t sl = sizeof(soerr);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
		return errno;
	return soerr;
}

int probe_io_open(struct probe_io *io, const struct probe_args *a, bool tcp,
		  FILE *out, FILE *err)
{
	char addr[SA_STRLEN];
	const struct sa *server = &a->server;
	int e = 0;
	tcp = tcp || a->tls;
	io->server = *server;
	io->tcp = tcp;
	io->fd = socket(sa_af(server), (tcp ? SOCK_STREAM : SOCK_DGRAM) |
				SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (io->fd < 0) {
		e = errno;
		goto out;
	}
	/* A connected UDP socket only accepts datagrams from the server and
	 * reports ICMP port unreachable as ECONNREFUSED. */
	/* No Nagle: a request must not wait for the ACK of the last
	 * handshake message (the RTT would read ~40 ms of delayed ACK). */
	int one = 1;
	if (tcp)
		(void)setsockopt(io->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	e = tcp ? probe_tcp_connect(io->fd, server)
		: (connect(io->fd, &server->u.sa, server->len) ? errno : 0);
out:
	if (e)
		fprintf(err, "connect %s/%s: %s\n",
			sa_fmt(server, addr, sizeof(addr)), tcp ? "tcp" : "udp",
			strerror(e));
	if (!e && a->tls)
		e = probe_tls_start(io, a, out, err);
	return e;
}

int probe_io_peer_open(struct probe_io *io, const struct sa *ip, FILE *err)
{
	struct sa a = *ip;
	int e = 0;
	sa_set_port(&a, 0);
	io->peer_fd = socket(sa_af(&a), SOCK_DGRAM | SOCK_CLOEXEC |
				SOCK_NONBLOCK, 0);
	if (io->peer_fd < 0 || bind(io->peer_fd, &a.u.sa, a.len) < 0) {
		e = errno;
		goto out;
	}
	io->peer.len = sizeof(io->peer.u);
	if (getsockname(io->peer_fd, &io->peer.u.sa, &io->peer.len) < 0)
		e = errno;
out:
	if (e) {
		char buf[SA_STRLEN];
		fprintf(err, "peer: cannot bind a UDP socket to %s: %s\n",
			sa_fmt_ip(&a, buf, sizeof(buf)), strerror(e));
	}
	return e;
}

void probe_io_close(struct probe_io *io)
{
	probe_tls_close(io);
	if (io->fd >= 0)
		close(io->fd);
	if (io->peer_fd >= 0)
		close(io->peer_fd);
	io->fd = -1;
	io->peer_fd = -1;
}

/* Write all of buf to the TCP stream, bounded in time like everything. */
static int probe_tcp_send(struct probe_io *io, const uint8_t *buf,
			  size_t len)
{
	uint64_t deadline = probe_now_ms() + PROBE_TXN_MS;
	while (len > 0) {
		ssize_t n = send(io->fd, buf, len, MSG_NOSIGNAL);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return errno;
		uint64_t now = probe_now_ms();
		if (now >= deadline)
			return ETIMEDOUT;
		struct pollfd p = {.fd = io->fd, .events = POLLOUT};
		if (poll(&p, 1, (int)(deadline - now)) < 0 && errno != EINTR)
			return errno;
	}
	return 0;
}

int probe_io_send(struct probe_io *io, const uint8_t *buf, size_t len)
{
	if (io->ssl)
		return probe_tls_send(io, buf, len);
	if (io->tcp)
		return probe_tcp_send(io, buf, len);
	if (send(io->fd, buf, len, 0) < 0)
		return errno;
	return 0;
}

/* Echo every queued datagram back to its sender (the relayed address). */
static void probe_peer_serve(struct probe_io *io)
{
	uint8_t buf[2048];
	for (;;) {
		struct sa from;
		from.len = sizeof(from.u);
		ssize_t n = recvfrom(io->peer_fd, buf, sizeof(buf), 0,
				     &from.u.sa, &from.len);
		if (n < 0)
			return;
		if (sendto(io->peer_fd, buf, (size_t)n, 0, &from.u.sa,
			   from.len) == n)
			io->echoed++;
	}
}

/* A whole frame at the head of rx? 0 (*flen set), EAGAIN or EBADMSG. */
static int probe_tcp_frame(struct probe_io *io, size_t *flen)
{
	int e = stun_frame_len(io->rx, io->rxlen, flen);
	if (e)
		return e;
	if (*flen > sizeof(io->rx))
		return EBADMSG;
	return io->rxlen >= *flen ? 0 : EAGAIN;
}

/* Read what the server sent. 0 when a frame is ready (*flen), EAGAIN when
 * more is needed, or an error. */
static int probe_server_read(struct probe_io *io, size_t *flen)
{
	if (!io->tcp) {
		ssize_t n = recv(io->fd, io->rx, sizeof(io->rx), 0);
		if (n < 0)
			return errno == EINTR ? EAGAIN : errno;
		*flen = (size_t)n;
		return 0;
	}
	if (io->ssl) {
		size_t got;
		int e = probe_tls_read(io, io->rx + io->rxlen,
				       sizeof(io->rx) - io->rxlen, &got);
		if (e)
			return e;
		io->rxlen += got;
		return probe_tcp_frame(io, flen);
	}
	ssize_t n = recv(io->fd, io->rx + io->rxlen,
			 sizeof(io->rx) - io->rxlen, 0);
	if (n == 0)
		return ECONNRESET;
	if (n < 0)
		return errno == EINTR ? EAGAIN : errno;
	io->rxlen += (size_t)n;
	return probe_tcp_frame(io, flen);
}

/* Drop the frame handed out by the previous call from the TCP buffer. */
static void probe_rx_consume(struct probe_io *io)
{
	if (io->tcp && io->frame > 0) {
		io->rxlen -= io->frame;
		memmove(io->rx, io->rx + io->frame, io->rxlen);
	}
	io->frame = 0;
}

static int probe_poll(struct probe_io *io, uint64_t deadline,
		      struct pollfd p[2])
{
	uint64_t now = probe_now_ms();
	if (now >= deadline)
		return ETIMEDOUT;
	p[0] = (struct pollfd){.fd = io->fd, .events = POLLIN};
	p[1] = (struct pollfd){.fd = io->peer_fd, .events = POLLIN};
	int n = poll(p, io->peer_fd >= 0 ? 2 : 1, (int)(deadline - now));
	if (n < 0 && errno != EINTR)
		return errno;
	if (n <= 0)
		p[0].revents = p[1].revents = 0;
	return 0;
}

int probe_io_recv(struct probe_io *io, uint64_t deadline,
		  const uint8_t **frame, size_t *len)
{
	size_t flen = 0;
	probe_rx_consume(io);
	/* A TCP read may have brought several frames at once. */
	int e = io->tcp && io->rxlen ? probe_tcp_frame(io, &flen) : EAGAIN;
	while (e == EAGAIN) {
		/* OpenSSL may hold decrypted bytes the socket no longer
		 * shows: read those before waiting. */
		if (io->ssl && SSL_pending(io->ssl) > 0) {
			e = probe_server_read(io, &flen);
			continue;
		}
		struct pollfd p[2];
		e = probe_poll(io, deadline, p);
		if (e)
			return e;
		if (p[1].revents)
			probe_peer_serve(io);
		e = p[0].revents ? probe_server_read(io, &flen) : EAGAIN;
	}
	if (e)
		return e;
	io->frame = flen;
	*frame = io->rx;
	*len = flen;
	return 0;
}

/* The method bits of a message type (RFC 8489 5: class bits interleaved). */
static uint16_t probe_type_method(uint16_t t)
{
	return (uint16_t)((t & 0x000F) | ((t & 0x00E0) >> 1) |
			  ((t & 0x3E00) >> 2));
}

/* The response to req: same transaction id and method, a response class,
 * and a correct FINGERPRINT if it carries one (RFC 8489 7.3). */
static bool probe_is_response(const uint8_t *req, const uint8_t *buf,
			      size_t len, struct stun_msg *resp)
{
	if (!stun_is_msg(buf, len) || stun_msg_decode(resp, buf, len) != 0)
		return false;
	if (memcmp(resp->tid, req + 8, STUN_TID_LEN) != 0 ||
	    resp->method != probe_type_method(get_be16(req)))
		return false;
	if (resp->cls != STUN_CLASS_SUCCESS && resp->cls != STUN_CLASS_ERROR)
		return false;
	return resp->fp < 0 || stun_msg_check_fingerprint(resp) == 0;
}

/* Over UDP the request is retransmitted with RTO 500 ms, doubling each
 * time (RFC 8489 6.2.1); over TCP it is sent once (6.2.2). Either way we
 * give up after PROBE_TXN_MS, well short of the RFC's 39.5 s. */
int probe_txn(struct probe_io *io, const uint8_t *req, size_t len,
	      struct stun_msg *resp, uint64_t *rtt_us)
{
	uint64_t sent = probe_now_us();
	uint64_t end = sent / 1000u + PROBE_TXN_MS;
	uint64_t rto = PROBE_RTO_MS, next = sent / 1000u + rto;
	unsigned tries = 1;
	int e = probe_io_send(io, req, len);
	while (!e) {
		const uint8_t *f;
		size_t n;
		e = probe_io_recv(io, io->tcp || next > end ? end : next, &f,
				  &n);
		if (!e && probe_is_response(req, f, n, resp)) {
			*rtt_us = probe_now_us() - sent;
			return 0;
		}
		if (e != ETIMEDOUT || io->tcp)
			continue;
		if (tries >= PROBE_TRIES || probe_now_ms() >= end)
			return ETIMEDOUT;
		tries++;
		rto *= 2;
		next = probe_now_ms() + rto;
		sent = probe_now_us(); /* Karn: time the latest copy */
		e = probe_io_send(io, req, len);
	}
	return e;
}
