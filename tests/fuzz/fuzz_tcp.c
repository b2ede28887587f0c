/* libFuzzer target for STUN/ChannelData framing on TCP and TLS streams
 * (RFC 8489 6.2.2, RFC 8656 12.5): net_tcp_consume and net_tcp_frames
 * (src/net/tcp.c) on a client connection with no socket behind it,
 * feeding the real TURN core (fake relays and clock, as fuzz_turn.c).
 * The input is a script: append a request (signed with the nonce the
 * server gave), a ChannelData frame (padded or not) or raw bytes to the
 * client's stream; deliver the next N bytes of it, as one read would;
 * a datagram from a peer; a clock jump; a closed connection. After each
 * read the framing must have handed over every complete frame, kept room
 * for the rest of a partial one (or the stream would stall) and armed the
 * frame deadline while bytes wait; ChannelData sent to the client must be
 * padded to four bytes. At the end everything must be released.
 * Seeds: tests/fuzz/seeds-tcp. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/net_int.h"
#include "stun/stun.h"
#include "turn/policy.h"
#include "turn/turn.h"
#include "turn/turn_int.h" /* turn_shared_resv_take: expire reservations */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_RELAYS 32
#define FZ_OPS 64
#define FZ_STREAM 65536
#define FZ_MINPORT 50000
#define FZ_MAXPORT 50007

struct fz_relay {
	struct turn_relay *owner;
	bool open, tcp;
};

struct fz {
	uint64_t mono, wall;
	struct fz_relay relays[FZ_RELAYS];
	unsigned nrelays;
	struct turn_srv *srv;
	struct net_worker *w;
	struct net_tcp_conn *c; /* the client's stream */
	unsigned gen;           /* connections so far: a new one, a new port */
	uint8_t nonce[128];
	size_t noncelen;
	uint8_t stream[FZ_STREAM]; /* what the client wrote, not yet read */
	size_t slen, spos;
};

struct rd {
	const uint8_t *p;
	size_t n;
};

static uint8_t rd_u8(struct rd *r)
{
	if (r->n == 0)
		return 0;
	r->n--;
	return *r->p++;
}

static size_t rd_bytes(struct rd *r, uint8_t *out, size_t want)
{
	size_t n = want < r->n ? want : r->n;
	memcpy(out, r->p, n);
	r->p += n;
	r->n -= n;
	return n;
}

static uint64_t fz_mono(void *arg) { return ((struct fz *)arg)->mono; }
static uint64_t fz_wall(void *arg) { return ((struct fz *)arg)->wall; }

static int fz_open(struct fz *f, struct turn_relay *owner, bool tcp, void **hp)
{
	if (f->nrelays == FZ_RELAYS)
		return EADDRINUSE;
	struct fz_relay *r = &f->relays[f->nrelays++];
	*r = (struct fz_relay){.owner = owner, .open = true, .tcp = tcp};
	*hp = r;
	return 0;
}

static int fz_relay_open(void *arg, const struct sa *bind, bool df,
			 struct turn_relay *owner, void **hp)
{
	(void)bind;
	(void)df;
	return fz_open(arg, owner, false, hp);
}

static int fz_tcp_listen(void *arg, const struct sa *bind,
			 struct turn_relay *owner, void **hp)
{
	(void)bind;
	return fz_open(arg, owner, true, hp);
}

static void fz_relay_df(void *arg, void *handle)
{
	(void)arg;
	(void)handle;
}

static void fz_relay_close(void *arg, void *handle)
{
	(void)arg;
	struct fz_relay *r = handle;
	if (!r->open || r->tcp)
		abort();
	r->open = false;
}

static void fz_tcp_unlisten(void *arg, void *handle)
{
	(void)arg;
	struct fz_relay *r = handle;
	if (!r->open || !r->tcp)
		abort();
	r->open = false;
}

static void fz_relay_send(void *arg, void *handle, const struct sa *peer,
			  const uint8_t *buf, size_t len)
{
	(void)arg;
	(void)peer;
	(void)buf;
	(void)len;
	if (!((struct fz_relay *)handle)->open)
		abort();
}

/* No peer connection ever opens (RFC 6062 is fuzz_turn.c's): Connect
 * answers 447, so no ConnectionBind succeeds and no stream becomes a
 * pipe. */
static int fz_tcp_connect(void *arg, const struct sa *from,
			  const struct sa *peer, struct turn_tconn *owner,
			  void **hp)
{
	(void)arg;
	(void)from;
	(void)peer;
	(void)owner;
	(void)hp;
	return ECONNREFUSED;
}

static void fz_tcp_never(void *arg, void *handle)
{
	(void)arg;
	(void)handle;
	abort();
}

static void fz_tcp_bind(void *arg, void *handle, void *conn)
{
	(void)arg;
	(void)handle;
	(void)conn;
	abort();
}

/* One worker only: no connection is ever another's. */
static void fz_conn_handoff(void *arg, void *conn, void *owner_arg)
{
	(void)arg;
	(void)conn;
	(void)owner_arg;
	abort();
}

/* As net_tcp_close: the socket is gone (fd < 0) once the core closes. */
static void fz_conn_close(void *arg, void *conn)
{
	struct fz *f = arg;
	if (conn != f->c)
		abort();
	f->c->lf.fd = -1;
}

/* What the server writes to the stream: ChannelData padded (RFC 8656
 * 12.5); from a STUN answer, the nonce, as a client would learn it. */
static void fz_client_send(void *arg, void *conn, const struct sa *client,
			   const struct iovec *iov, int iovcnt)
{
	struct fz *f = arg;
	uint8_t buf[STUN_MAX_MSG + 8];
	size_t len = 0;
	(void)client;
	if (conn != f->c)
		abort();
	for (int i = 0; i < iovcnt; i++) {
		if (len + iov[i].iov_len > sizeof(buf))
			abort();
		memcpy(buf + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	size_t flen;
	if (stun_frame_len(buf, len, &flen) != 0 || flen != len)
		abort(); /* not one whole frame: the client's framing breaks */
	struct stun_msg m;
	if (stun_is_chdata(buf, len) || stun_msg_decode(&m, buf, len) != 0)
		return;
	const struct stun_attr *n = stun_msg_attr(&m, STUN_ATTR_NONCE);
	if (n && n->len <= sizeof(f->nonce)) {
		memcpy(f->nonce, n->val, n->len);
		f->noncelen = n->len;
	}
}

static void fz_append(struct fz *f, const uint8_t *p, size_t n)
{
	if (n > sizeof(f->stream) - f->slen)
		n = sizeof(f->stream) - f->slen;
	memcpy(f->stream + f->slen, p, n);
	f->slen += n;
}

static const char *const fz_peers[] = {
	"8.8.8.8", "2001:4860:4860::8888", "10.0.0.1", "127.0.0.1",
	"203.0.113.5",
};
#define FZ_NPEERS (sizeof(fz_peers) / sizeof(fz_peers[0]))

static struct sa fz_peer(struct rd *r)
{
	struct sa s;
	const char *ip = fz_peers[rd_u8(r) % FZ_NPEERS];
	sa_set_str(&s, ip, (uint16_t)(1000 + rd_u8(r)));
	return s;
}

static const uint16_t fz_methods[] = {
	TURN_ALLOCATE, TURN_REFRESH, TURN_CREATE_PERMISSION, TURN_CHANNEL_BIND,
	STUN_BINDING, TURN_CONNECT, TURN_CONNECTION_BIND, TURN_SEND,
};

static void fz_attr(struct stun_enc *e, struct rd *r)
{
	uint8_t k = rd_u8(r), v[64];
	switch (k % 6) {
	case 0: {
		uint8_t t[4] = {k & 8 ? TURN_PROTO_TCP : TURN_PROTO_UDP, 0, 0, 0};
		stun_enc_attr(e, TURN_ATTR_REQUESTED_TRANSPORT, t, 4);
		break;
	}
	case 1:
		stun_enc_u32(e, TURN_ATTR_LIFETIME, (uint32_t)rd_u8(r) * 30);
		break;
	case 2: {
		struct sa p = fz_peer(r);
		stun_enc_xaddr(e, TURN_ATTR_XOR_PEER_ADDRESS, &p);
		break;
	}
	case 3:
		stun_enc_channel(e, (uint16_t)(0x4000 | rd_u8(r) % 4));
		break;
	default:
		stun_enc_attr(e, k & 8 ? TURN_ATTR_DATA : STUN_ATTR_SOFTWARE, v,
			      rd_bytes(r, v, rd_u8(r) % sizeof(v)));
		break;
	}
}

/* A request (or Send indication), signed as alice with the last nonce
 * unless the script says not to. */
static void fz_request(struct fz *f, struct rd *r)
{
	uint8_t buf[1024], tid[STUN_TID_LEN] = {0}, m = rd_u8(r);
	uint16_t method = fz_methods[m % 8];
	tid[0] = rd_u8(r);
	struct stun_enc e;
	stun_enc_init(&e, buf, sizeof(buf), method,
		      method == TURN_SEND ? STUN_CLASS_INDICATION : STUN_CLASS_REQUEST,
		      tid);
	for (unsigned i = rd_u8(r) % 5; i > 0; i--)
		fz_attr(&e, r);
	if (!(m & 0x80) && method != TURN_SEND) {
		uint8_t key[16];
		stun_enc_str(&e, STUN_ATTR_USERNAME, "alice");
		stun_enc_str(&e, STUN_ATTR_REALM, "fz");
		stun_enc_attr(&e, STUN_ATTR_NONCE, f->nonce, f->noncelen);
		stun_key_md5("alice", "fz", "alicepw", key);
		stun_enc_mi(&e, key, sizeof(key));
	}
	size_t len;
	if (stun_enc_finish(&e, &len) == 0)
		fz_append(f, buf, len);
}

/* ChannelData: the padding a stream needs (RFC 8656 12.5), or what the
 * script says; the length field may also lie. */
static void fz_chdata(struct fz *f, struct rd *r)
{
	uint8_t buf[4 + 255 + 3] = {0}, k = rd_u8(r);
	uint16_t ch = (uint16_t)(0x4000 | rd_u8(r) % 4);
	if (k & 0x80) { /* any channel number, in range or not */
		ch = (uint16_t)(0x4000 | (rd_u8(r) & 0x3f) << 8);
		ch |= rd_u8(r);
	}
	size_t n = rd_bytes(r, buf + 4, rd_u8(r));
	size_t pad = k & 0x40 ? k % 4 : (4 - n % 4) % 4;
	uint16_t dlen = (uint16_t)n;
	if (k & 0x20) { /* a length field that lies */
		dlen = (uint16_t)(rd_u8(r) << 8);
		dlen |= rd_u8(r);
	}
	stun_chdata_hdr(buf, ch, dlen);
	fz_append(f, buf, 4 + n + pad);
}

static void fz_raw(struct fz *f, struct rd *r)
{
	uint8_t buf[256];
	fz_append(f, buf, rd_bytes(r, buf, rd_u8(r)));
}

static struct net_tcp_conn *fz_conn_new(struct fz *f)
{
	struct net_tcp_conn *c = calloc(1, sizeof(*c));
	if (!c || !(c->rbuf = malloc(2048)))
		abort();
	c->kind = NET_KIND_TCP;
	c->w = f->w;
	c->rcap = 2048;
	c->mode = NET_TCP_PLAIN;
	c->lf.fd = 1 << 20; /* never used: no socket behind it */
	sa_set_str(&c->remote, "198.51.100.1", (uint16_t)(40000 + f->gen++));
	sa_set_str(&c->local, "203.0.113.5", 3478);
	return c;
}

/* The connection ends (closed by either side): what the client had not
 * sent yet goes with it. */
static void fz_conn_end(struct fz *f)
{
	struct turn_src src = {.proto = TURN_PROTO_TCP, .client = f->c->remote,
			       .local = f->c->local, .conn = f->c};
	turn_conn_closed(f->srv, &src);
	free(f->c->rbuf);
	free(f->c);
	f->c = fz_conn_new(f);
	f->noncelen = 0;
	f->slen = f->spos = 0;
}

/* After a read that left the connection open: every whole frame went to
 * the core, a partial one fits when it completes, and the frame
 * deadline runs while bytes wait. */
static void fz_check_framing(const struct net_tcp_conn *c)
{
	size_t flen;
	if (c->rlen > c->rcap || (c->rlen > 0 && c->deadline == 0))
		abort();
	if (c->rlen >= 4 && (stun_frame_len(c->rbuf, c->rlen, &flen) != 0 ||
			     flen <= c->rlen || flen > c->rcap))
		abort();
}

/* One read: up to want bytes of the stream into the connection's buffer,
 * then the framing, as tcp_read_plain does. */
static void fz_deliver(struct fz *f, size_t want)
{
	struct net_tcp_conn *c = f->c;
	size_t n = f->slen - f->spos;
	if (n == 0)
		return;
	if (c->rlen == c->rcap)
		abort(); /* full buffer, partial frame: the stream stalls */
	n = n < want ? n : want;
	n = n < c->rcap - c->rlen ? n : c->rcap - c->rlen;
	memcpy(c->rbuf + c->rlen, f->stream + f->spos, n);
	c->rlen += n;
	f->spos += n;
	int err = net_tcp_consume(c);
	if (c->handoff || c->pipe)
		abort();
	if (err || c->lf.fd < 0)
		fz_conn_end(f);
	else
		fz_check_framing(c);
}

static void fz_peer_event(struct fz *f, struct rd *r)
{
	uint8_t d[300];
	if (f->nrelays == 0)
		return;
	struct fz_relay *rl = &f->relays[rd_u8(r) % f->nrelays];
	struct sa p = fz_peer(r);
	size_t n = rd_bytes(r, d, rd_u8(r) % sizeof(d));
	if (rl->open && !rl->tcp)
		turn_peer_input(f->srv, rl->owner, &p, d, n);
}

static void fz_run(struct fz *f, struct rd *r)
{
	for (unsigned op = 0; op < FZ_OPS && r->n > 0; op++) {
		uint8_t o = rd_u8(r);
		switch (o % 8) {
		case 0: fz_request(f, r); break;
		case 1: fz_chdata(f, r); break;
		case 2: fz_raw(f, r); break;
		case 3:
		case 4: fz_deliver(f, (size_t)rd_u8(r) * (o & 0x80 ? 64 : 1) + 1); break;
		case 5: fz_peer_event(f, r); break;
		case 6:
			f->mono += (uint64_t)rd_u8(r) * 10000;
			f->wall = 1700000000 + f->mono / 1000;
			f->w->now_ms = f->mono;
			turn_srv_tick(f->srv);
			break;
		default: fz_conn_end(f); break;
		}
	}
	/* The rest of the stream, in reads as large as the buffer takes. */
	while (f->spos < f->slen)
		fz_deliver(f, SIZE_MAX);
}

static void fz_cfg(struct turn_cfg *c, struct peer_policy *pol)
{
	memset(c, 0, sizeof(*c));
	strcpy(c->realm, "fz");
	turn_user_set(&c->users[0], "alice", "alicepw", "fz");
	c->nusers = 1;
	c->max_lifetime = 3600;
	c->default_lifetime = 600;
	c->perm_lifetime = 300;
	c->chan_lifetime = 600;
	c->nonce_lifetime = 600;
	c->user_quota = 3;
	c->total_quota = 8;
	c->max_perms = 4;
	c->max_chans = 4;
	c->unauth_rate = 1000;
	c->unauth_burst = 1000;
	c->max_channel = STUN_CHANNEL_MAX;
	sa_set_str(&c->relay4, "203.0.113.5", 0);
	sa_set_str(&c->relay6, "2001:db8::5", 0);
	memset(c->nonce_key.key, 7, sizeof(c->nonce_key.key));
	c->policy = pol;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz f;
	static struct net_worker w; /* large: its receive batch */
	struct turn_cfg cfg;
	struct peer_policy *pol;
	struct turn_shared *sh;
	memset(&f, 0, sizeof(f));
	memset(&w, 0, sizeof(w));
	f.mono = w.now_ms = 1000000;
	f.wall = 1700000000;
	if (peer_policy_alloc(&pol) != 0)
		abort();
	fz_cfg(&cfg, pol);
	if (turn_shared_alloc(&sh, FZ_MINPORT, FZ_MAXPORT) != 0)
		abort();
	struct turn_clock clk = {fz_mono, fz_wall, &f};
	struct turn_io io = {
		.relay_open = fz_relay_open, .relay_close = fz_relay_close,
		.relay_df = fz_relay_df,
		.relay_send = fz_relay_send, .client_send = fz_client_send,
		.tcp_listen = fz_tcp_listen, .tcp_unlisten = fz_tcp_unlisten,
		.tcp_connect = fz_tcp_connect, .tcp_close = fz_tcp_never,
		.tcp_bind = fz_tcp_bind, .conn_handoff = fz_conn_handoff,
		.conn_close = fz_conn_close, .arg = &f,
	};
	if (turn_srv_alloc(&f.srv, &cfg, sh, &clk, &io) != 0)
		abort();
	w.srv = f.srv;
	w.sh = sh;
	atomic_store(&w.cfg_used, &cfg);
	f.w = &w;
	f.c = fz_conn_new(&f);
	struct rd r = {data, size};
	fz_run(&f, &r);
	fz_conn_end(&f);
	free(f.c->rbuf);
	free(f.c);
	turn_srv_free(f.srv);
	if (turn_shared_ports_free(sh, UINT64_MAX / 2) !=
		    FZ_MAXPORT - FZ_MINPORT + 1 ||
	    turn_shared_allocations(sh) != 0)
		abort();
	for (unsigned i = 0; i < f.nrelays; i++)
		if (f.relays[i].open)
			abort();
	turn_shared_free(sh);
	peer_policy_free(pol);
	return 0;
}
