/* The sockets of a health-check round. Every probe starts at once: UDP
 * Binding requests leave through one unconnected socket per address
 * family (two descriptors however many servers) and answers are matched
 * back by transaction id and source (hround_match); TCP and TLS probes
 * connect in parallel, non-blocking. One poll() loop runs until every
 * probe is done or the round's deadline passes, so a round lasts about
 * its timeout, not the sum of its servers' timeouts.
 * Semantics per transport, as before the round was made concurrent:
 * UDP sends a Binding request and retransmits it once (same transaction
 * id, RFC 8489 6.2.1) if no answer came within the RTO; TCP connects and
 * exchanges a Binding; turns: is checked by the TCP connect alone, since
 * the TLS listener is not ours to handshake with a pinned certificate. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/api_health.h"
#include "api/api_int.h" /* api_now_us */

#define TICK_MS 20      /* polling for lookups and blocked sends */
#define STOP_POLL_MS 100 /* how soon a stop request is seen */
#define UDP_RCVBUF (1 << 20) /* the answers of a round arrive in a burst */

static int binding_req(const uint8_t *tid, uint8_t *buf, size_t *len)
{
	struct stun_enc e;
	stun_enc_init(&e, buf, STUN_HDR_LEN, STUN_BINDING, STUN_CLASS_REQUEST, tid);
	return stun_enc_finish(&e, len);
}

static int udp_sock(struct hround *r, int af)
{
	int f = af == AF_INET6, one = 1, rb = UDP_RCVBUF;
	if (r->udp[f] >= 0)
		return r->udp[f];
	int fd = socket(af, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (af == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rb, sizeof(rb));
	r->udp[f] = fd;
	return fd;
}

/* Send or resend probe i's Binding; a full socket buffer retries on the
 * next tick. */
static void udp_send(struct hround *r, size_t i, uint64_t now)
{
	struct hprobe *p = &r->p[i];
	uint8_t req[STUN_HDR_LEN];
	size_t len;
	int fd = udp_sock(r, sa_af(&p->addr));
	if (fd < 0 || binding_req(p->tid, req, &len) != 0) {
		hround_done(r, i, false, now);
		return;
	}
	ssize_t n = sendto(fd, req, len, MSG_NOSIGNAL, &p->addr.u.sa, p->addr.len);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
		p->next_us = now + TICK_MS * 1000u;
		return;
	}
	if (n != (ssize_t)len) {
		hround_done(r, i, false, now);
		return;
	}
	if (p->sends++ == 0)
		p->t0_us = now;
	p->st = HP_WAIT;
	p->next_us = now + r->rto_us;
}

static void tcp_start(struct hround *r, size_t i, uint64_t now)
{
	struct hprobe *p = &r->p[i];
	p->t0_us = now;
	p->fd = socket(sa_af(&p->addr), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	r->tcp_open += p->fd >= 0;
	if (p->fd < 0 || (connect(p->fd, &p->addr.u.sa, p->addr.len) != 0 &&
			  errno != EINPROGRESS)) {
		hround_done(r, i, false, now);
		return;
	}
	p->st = HP_CONNECT;
}

static void tcp_connected(struct hround *r, size_t i, uint64_t now)
{
	struct hprobe *p = &r->p[i];
	int soerr = 0;
	socklen_t sl = sizeof(soerr);
	uint8_t req[STUN_HDR_LEN];
	size_t len;
	if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr) {
		hround_done(r, i, false, now);
		return;
	}
	if (p->t == API_T_TLS) {
		hround_done(r, i, true, now);
		return;
	}
	if (binding_req(p->tid, req, &len) != 0 ||
	    send(p->fd, req, len, MSG_NOSIGNAL) != (ssize_t)len) {
		hround_done(r, i, false, now); /* 20 bytes on a new connection */
		return;
	}
	p->st = HP_READ;
}

static void tcp_read(struct hround *r, size_t i, uint64_t now)
{
	struct hprobe *p = &r->p[i];
	ssize_t n = recv(p->fd, p->rbuf + p->got, sizeof(p->rbuf) - p->got, 0);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		hround_done(r, i, false, now);
		return;
	}
	p->got += (size_t)n;
	int rc = hround_stream_check(p);
	if (rc != 0)
		hround_done(r, i, rc > 0, now);
}

static void udp_read(struct hround *r, int fd, uint64_t now)
{
	uint8_t buf[1500];
	for (;;) {
		struct sa from = {.len = sizeof(from.u)};
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, &from.u.sa, &from.len);
		if (n < 0)
			return; /* EAGAIN: drained */
		long i = hround_match(r, buf, (size_t)n, &from);
		if (i >= 0)
			hround_done(r, (size_t)i, true, now);
	}
}

/* Start what can start and retransmit what is due. */
static void round_kick(struct hround *r, uint64_t now)
{
	for (size_t k = 0; k < r->n; k++) {
		size_t i = (r->first + k) % r->n;
		struct hprobe *p = &r->p[i];
		if (p->st == HP_START && p->t == API_T_UDP)
			udp_send(r, i, now);
		else if (p->st == HP_START && r->tcp_open < r->tcp_max)
			tcp_start(r, i, now);
		else if (hround_rtx_due(r, i, now))
			udp_send(r, i, now);
	}
}

#define WHO_UDP ((size_t)-1)

static size_t round_pollset(const struct hround *r, struct pollfd *pf,
			    size_t *who)
{
	size_t k = 0;
	for (int f = 0; f < 2; f++)
		if (r->udp[f] >= 0) {
			pf[k] = (struct pollfd){.fd = r->udp[f], .events = POLLIN};
			who[k++] = WHO_UDP;
		}
	for (size_t i = 0; i < r->n; i++) {
		const struct hprobe *p = &r->p[i];
		if (p->st != HP_CONNECT && p->st != HP_READ)
			continue;
		pf[k] = (struct pollfd){.fd = p->fd,
					.events = p->st == HP_CONNECT ? POLLOUT : POLLIN};
		who[k++] = i;
	}
	return k;
}

static void round_events(struct hround *r, const struct pollfd *pf,
			 const size_t *who, size_t k, uint64_t now)
{
	for (size_t j = 0; j < k; j++) {
		if (!pf[j].revents)
			continue;
		if (who[j] == WHO_UDP) {
			udp_read(r, pf[j].fd, now);
			continue;
		}
		if (r->p[who[j]].st == HP_CONNECT)
			tcp_connected(r, who[j], now);
		else if (r->p[who[j]].st == HP_READ)
			tcp_read(r, who[j], now);
	}
}

void hround_run(struct hround *r, struct hdns *d, const atomic_bool *stop)
{
	struct pollfd *pf = calloc(r->n + 2, sizeof(*pf));
	size_t *who = calloc(r->n + 2, sizeof(*who));
	if (!pf || !who) {
		hround_expire(r, r->deadline_us); /* every probe fails now */
		goto out;
	}
	for (size_t i = 0; i < r->n; i++)
		if (r->p[i].st == HP_DNS)
			hdns_want(d, r->p[i].host);
	for (;;) {
		uint64_t now = api_now_us();
		hdns_harvest(d);
		hround_resolve(r, d);
		round_kick(r, now);
		if (hround_expire(r, now) || (stop && atomic_load(stop)))
			break;
		size_t k = round_pollset(r, pf, who);
		int ms = hround_wait_ms(r, now, TICK_MS);
		if (stop && ms > STOP_POLL_MS)
			ms = STOP_POLL_MS;
		if (poll(pf, k, ms) > 0)
			round_events(r, pf, who, k, api_now_us());
	}
out:
	free(pf);
	free(who);
}
