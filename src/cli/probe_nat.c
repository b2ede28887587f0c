/* turnstone probe --nat stun:HOST:PORT: how the NAT in front of this host
 * maps and filters UDP (RFC 5780 4.3, 4.4), told by a server that does
 * RFC 5780 (its Binding answers carry OTHER-ADDRESS): Turnstone with
 * alt-listening-port, or coturn. Endpoint-independent mapping is what
 * direct (non-relayed) WebRTC needs; anything else means calls through
 * that NAT depend on TURN. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/probe.h"
#include "util/bytes.h"
#include "util/rand.h"

#define NAT_CHANGE_IP 0x4   /* RFC 5780 7.2 */
#define NAT_CHANGE_PORT 0x2
#define NAT_WAIT_MS 3500    /* sends at 0, .5, 1.5 s; no answer is an answer */
#define NAT_ELSEWHERE "unknown (the server does not answer from the address " \
		      "and port RFC 5780 asks for)"

struct nat_sock {
	int fd;
	uint8_t buf[STUN_MAX_MSG];
	struct stun_msg resp;
	struct sa from; /* where resp came from */
};

/* An unconnected socket: the filtering tests' answers come from other
 * addresses than the one the request went to. */
static int nat_open(struct nat_sock *s, int af)
{
	s->fd = socket(af, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	return s->fd < 0 ? errno : 0;
}

static int nat_wait(struct nat_sock *s, const uint8_t tid[STUN_TID_LEN],
		    uint64_t until)
{
	for (uint64_t now; (now = probe_now_ms()) < until;) {
		struct pollfd p = {.fd = s->fd, .events = POLLIN};
		if (poll(&p, 1, (int)(until - now)) <= 0)
			continue;
		s->from.len = sizeof(s->from.u);
		ssize_t n = recvfrom(s->fd, s->buf, sizeof(s->buf), 0,
				     &s->from.u.sa, &s->from.len);
		if (n > 0 && stun_is_msg(s->buf, (size_t)n) &&
		    stun_msg_decode(&s->resp, s->buf, (size_t)n) == 0 &&
		    memcmp(s->resp.tid, tid, STUN_TID_LEN) == 0 &&
		    (s->resp.cls == STUN_CLASS_SUCCESS || s->resp.cls == STUN_CLASS_ERROR))
			return 0;
	}
	return ETIMEDOUT;
}

/* One Binding to `to`, with CHANGE-REQUEST flags when change >= 0,
 * retransmitted (RFC 8489 6.2.1) until NAT_WAIT_MS. */
static int nat_txn(struct nat_sock *s, const struct sa *to, int change)
{
	uint8_t req[64], tid[STUN_TID_LEN];
	struct stun_enc e;
	size_t len;
	if (rand_bytes(tid, sizeof(tid)))
		return EIO;
	stun_enc_init(&e, req, sizeof(req), STUN_BINDING, STUN_CLASS_REQUEST, tid);
	if (change >= 0) {
		uint8_t v[4] = {0, 0, 0, (uint8_t)change};
		stun_enc_attr(&e, STUN_ATTR_CHANGE_REQUEST, v, 4);
	}
	stun_enc_fingerprint(&e);
	if (stun_enc_finish(&e, &len))
		return EIO;
	uint64_t start = probe_now_ms(), rto = PROBE_RTO_MS;
	for (uint64_t next = start; next < start + NAT_WAIT_MS; rto *= 2) {
		if (sendto(s->fd, req, len, 0, &to->u.sa, to->len) < 0)
			return errno;
		next = probe_now_ms() + rto;
		uint64_t end = start + NAT_WAIT_MS;
		if (nat_wait(s, tid, next < end ? next : end) == 0)
			return 0;
	}
	return ETIMEDOUT;
}

/* RFC 5780 4.3, 4.4: each answer must come from the address and port
 * the test asked for, and its RESPONSE-ORIGIN (7.3), if any, say so. A
 * server that ignores CHANGE-REQUEST answers from where the request
 * went, which a NAT lets in: read as it stands, endpoint-independent
 * filtering. EREMCHG, with a line on err, when the answer is elsewhere's. */
static int nat_origin(const struct nat_sock *s, const struct sa *to,
		      const struct sa *want, FILE *err)
{
	struct sa ro;
	char t[SA_STRLEN], w[SA_STRLEN], g[SA_STRLEN] = "";
	const char *what = NULL;
	int e = stun_msg_get_addr(&s->resp, STUN_ATTR_RESPONSE_ORIGIN, &ro);
	if (!sa_eq(&s->from, want)) {
		what = "came from ";
		sa_fmt(&s->from, g, sizeof(g));
	} else if (e && e != ENOENT) {
		what = "has an unreadable RESPONSE-ORIGIN";
	} else if (!e && !sa_eq(&ro, want)) {
		what = "has RESPONSE-ORIGIN ";
		sa_fmt(&ro, g, sizeof(g));
	}
	if (!what)
		return 0;
	fprintf(err, "nat: binding %s: the answer %s%s, not %s as RFC 5780 asks\n",
		sa_fmt(to, t, sizeof(t)), what, g, sa_fmt(want, w, sizeof(w)));
	return EREMCHG;
}

/* The test's mapped address, or a line on err saying why there is none. */
static int nat_mapped(struct nat_sock *s, const struct sa *to, struct sa *mapped,
		      FILE *err)
{
	char t[SA_STRLEN];
	int e = nat_txn(s, to, -1);
	if (!e && s->resp.cls == STUN_CLASS_ERROR)
		e = EPROTO;
	if (!e && stun_msg_get_xaddr(&s->resp, STUN_ATTR_XOR_MAPPED_ADDRESS, mapped))
		e = EBADMSG;
	if (e && e != ETIMEDOUT)
		fprintf(err, "nat: binding %s: %s\n", sa_fmt(to, t, sizeof(t)),
			e == EPROTO ? "error response" : strerror(e));
	return e;
}

/* nat_mapped, answered from where the request went. */
static int nat_test(struct nat_sock *s, const struct sa *to, struct sa *mapped,
		    FILE *err)
{
	int e = nat_mapped(s, to, mapped, err);
	return e ? e : nat_origin(s, to, to, err);
}

/* The address this host sends to the server from, as the kernel picks
 * it (a connected socket, nothing sent), with port. */
static void nat_local(const struct sa *server, int fd, struct sa *local)
{
	struct sa bound;
	int c = socket(sa_af(server), SOCK_DGRAM | SOCK_CLOEXEC, 0);
	memset(local, 0, sizeof(*local));
	local->len = bound.len = sizeof(local->u);
	if (c >= 0 && connect(c, &server->u.sa, server->len) == 0 &&
	    getsockname(c, &local->u.sa, &local->len) == 0 &&
	    getsockname(fd, &bound.u.sa, &bound.len) == 0)
		sa_set_port(local, sa_port(&bound));
	if (c >= 0)
		close(c);
}

/* RFC 5780 4.3: II to the other address and the primary port, III to
 * the other address and port. */
static const char *nat_mapping(struct nat_sock *s, const struct sa *server,
			       const struct sa *m1, const struct sa *other,
			       FILE *err)
{
	struct sa local, m2, m3, to = *other;
	nat_local(server, s->fd, &local);
	if (sa_eq(m1, &local))
		return "endpoint-independent (no NAT: the mapped address is this host's own)";
	sa_set_port(&to, sa_port(server));
	int e = nat_test(s, &to, &m2, err);
	if (e)
		return e == EREMCHG ? NAT_ELSEWHERE
				    : "unknown (no answer from the server's other address)";
	if (sa_eq(&m2, m1))
		return "endpoint-independent";
	e = nat_test(s, other, &m3, err);
	if (e)
		return e == EREMCHG ? NAT_ELSEWHERE
				    : "unknown (no answer from the server's other address and port)";
	return sa_eq(&m3, &m2) ? "address-dependent" : "address and port-dependent";
}

/* A CHANGE-REQUEST Binding: 0 when a success came back from want,
 * ETIMEDOUT when nothing did (what the NAT filtered), EPROTO for an
 * error answer: the server did not send from elsewhere, so that tells
 * nothing of the NAT; EREMCHG for an answer from elsewhere than want. */
static int nat_change(struct nat_sock *s, const struct sa *server, int change,
		      const struct sa *want, FILE *err)
{
	int e = nat_txn(s, server, change);
	if (!e && s->resp.cls != STUN_CLASS_SUCCESS)
		return EPROTO;
	return e ? e : nat_origin(s, server, want, err);
}

/* RFC 5780 4.4, on a fresh socket (the mapping tests opened the NAT to
 * the other address): II asks for the answer from the other address and
 * port, III from the other port only. */
static const char *nat_filtering(const struct sa *server, const struct sa *other,
				 FILE *err)
{
	struct nat_sock s;
	struct sa m, port_only = *server;
	const char *r = "unknown (no answer from the server)";
	sa_set_port(&port_only, sa_port(other));
	if (nat_open(&s, sa_af(server)))
		return "unknown (no socket)";
	int e = nat_test(&s, server, &m, err);
	if (e == EREMCHG)
		r = NAT_ELSEWHERE;
	if (e == 0) {
		int e2 = nat_change(&s, server, NAT_CHANGE_IP | NAT_CHANGE_PORT, other, err);
		int e3 = e2 == ETIMEDOUT
			 ? nat_change(&s, server, NAT_CHANGE_PORT, &port_only, err) : 0;
		if (e2 == EREMCHG || e3 == EREMCHG)
			r = NAT_ELSEWHERE;
		else if (e2 == EPROTO || e3 == EPROTO)
			r = "unknown (the server answered CHANGE-REQUEST with an error)";
		else if (!e2)
			r = "endpoint-independent";
		else if (!e3)
			r = "address-dependent";
		else
			r = "address and port-dependent";
	}
	close(s.fd);
	return r;
}

int probe_nat_run(const struct probe_args *a, FILE *out, FILE *err)
{
	struct nat_sock s;
	struct sa m1, other;
	char srv[SA_STRLEN], buf[SA_STRLEN];
	sa_fmt(&a->server, srv, sizeof(srv));
	if (nat_open(&s, sa_af(&a->server))) {
		fprintf(err, "nat: socket: %s\n", strerror(errno));
		return 1;
	}
	int rc = 1;
	int e = nat_mapped(&s, &a->server, &m1, err);
	if (e == ETIMEDOUT)
		fprintf(err, "nat: binding %s: no response\n", srv);
	if (e)
		goto out;
	fprintf(out, "nat: binding %s: mapped %s\n", srv, sa_fmt(&m1, buf, sizeof(buf)));
	if (stun_msg_get_addr(&s.resp, STUN_ATTR_OTHER_ADDRESS, &other) ||
	    sa_af(&other) != sa_af(&a->server)) {
		fprintf(err, "nat: %s does not do RFC 5780 NAT behaviour discovery "
			"(no OTHER-ADDRESS in its answer)\n", srv);
		goto out;
	}
	/* Only now: a server that does not do RFC 5780 (above) may well
	 * answer from behind a NAT of its own. */
	if (nat_origin(&s, &a->server, &a->server, err))
		goto out;
	fprintf(out, "nat: the server's other address: %s\n",
		sa_fmt(&other, buf, sizeof(buf)));
	fprintf(out, "nat: mapping: %s\n", nat_mapping(&s, &a->server, &m1, &other, err));
	fprintf(out, "nat: filtering: %s\n", nat_filtering(&a->server, &other, err));
	rc = 0;
out:
	close(s.fd);
	return rc;
}
