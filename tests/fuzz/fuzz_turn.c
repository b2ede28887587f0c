/* libFuzzer target for the TURN core (src/turn) with fake I/O and clock.
 * The input is a script of operations: signed requests whose method and
 * attributes the fuzzer chooses (signed with the nonce the server gave
 * that client, so they get past authentication into the method handlers;
 * MD5, SHA-256, USERHASH or REST credentials, see fz_sign;
 * RESERVATION-TOKENs and CONNECTION-IDs the server handed out can be
 * sent back), raw datagrams, ChannelData, Send indications, datagrams
 * from peers to open relays, clock jumps with timer ticks, the REST
 * user-id "bob" revoked or not, closed client streams and RFC 6062
 * connection events. At the end the server is freed and every relay
 * port, quota and socket must be back: a leak of any is a crash.
 * Seeds: tests/fuzz/seeds-turn. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stun/stun.h"
#include "turn/policy.h"
#include "turn/turn.h"
#include "turn/turn_int.h" /* turn_shared_resv_take: expire reservations */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_CLIENTS 5
#define FZ_RELAYS 64
#define FZ_TPEERS 64
#define FZ_OPS 48
#define FZ_MINPORT 50000
#define FZ_MAXPORT 50011

struct fz_relay {
	struct turn_relay *owner;
	int af; /* what it is bound to: peers of that family only reach it */
	bool open, tcp;
};

struct fz_tpeer {
	struct turn_tconn *owner;
	bool open;
};

struct fz {
	uint64_t mono, wall;
	struct fz_relay relays[FZ_RELAYS];
	unsigned nrelays;
	struct fz_tpeer tpeers[FZ_TPEERS];
	unsigned ntpeers;
	struct turn_src src[FZ_CLIENTS];
	unsigned gen[FZ_CLIENTS]; /* a closed stream comes back as a new one */
	uint8_t nonce[FZ_CLIENTS][128];
	size_t noncelen[FZ_CLIENTS];
	uint8_t token[8]; /* the last RESERVATION-TOKEN handed out */
	uint32_t connid;  /* the last CONNECTION-ID (RFC 6062) */
	struct turn_srv *srv;
};

/* The script being read; running out reads zeros. */
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

static int fz_open(struct fz *f, const struct sa *bind, struct turn_relay *owner,
		   bool tcp, void **hp)
{
	if (f->nrelays == FZ_RELAYS)
		return EADDRINUSE;
	struct fz_relay *r = &f->relays[f->nrelays++];
	*r = (struct fz_relay){.owner = owner, .af = sa_af(bind), .open = true,
			       .tcp = tcp};
	*hp = r;
	return 0;
}

static int fz_relay_open(void *arg, const struct sa *bind, bool df,
			 struct turn_relay *owner, void **hp)
{
	(void)df;
	return fz_open(arg, bind, owner, false, hp);
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
		abort(); /* closed twice, or by the wrong call */
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
		abort(); /* a send on a closed relay */
}

/* Learn the nonce of a 401 or 438, as a client would. */
static void fz_client_send(void *arg, void *conn, const struct sa *client,
			   const struct iovec *iov, int iovcnt)
{
	struct fz *f = arg;
	(void)client;
	uint8_t buf[STUN_MAX_MSG];
	size_t len = 0;
	for (int i = 0; i < iovcnt; i++) {
		if (len + iov[i].iov_len > sizeof(buf))
			return;
		memcpy(buf + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	struct stun_msg m;
	if (stun_msg_decode(&m, buf, len) != 0)
		return;
	const struct stun_attr *n = stun_msg_attr(&m, STUN_ATTR_NONCE);
	unsigned c = (unsigned)(((uintptr_t)conn - 1) % 16);
	if (n && c < FZ_CLIENTS && n->len <= sizeof(f->nonce[c])) {
		memcpy(f->nonce[c], n->val, n->len);
		f->noncelen[c] = n->len;
	}
	const struct stun_attr *t = stun_msg_attr(&m, TURN_ATTR_RESERVATION_TOKEN);
	if (t && t->len == 8)
		memcpy(f->token, t->val, 8);
	uint32_t id;
	if (stun_msg_get_connid(&m, &id) == 0)
		f->connid = id;
}

static int fz_tcp_listen(void *arg, const struct sa *bind,
			 struct turn_relay *owner, void **hp)
{
	return fz_open(arg, bind, owner, true, hp);
}

static void fz_tcp_unlisten(void *arg, void *handle)
{
	(void)arg;
	struct fz_relay *r = handle;
	if (!r->open || !r->tcp)
		abort();
	r->open = false;
}

static int fz_tcp_connect(void *arg, const struct sa *from,
			  const struct sa *peer, struct turn_tconn *owner,
			  void **hp)
{
	struct fz *f = arg;
	(void)from;
	(void)peer;
	if (f->ntpeers == FZ_TPEERS)
		return ECONNREFUSED;
	struct fz_tpeer *t = &f->tpeers[f->ntpeers++];
	*t = (struct fz_tpeer){.owner = owner, .open = true};
	*hp = t;
	return 0;
}

static void fz_tcp_close(void *arg, void *handle)
{
	(void)arg;
	struct fz_tpeer *t = handle;
	if (!t->open)
		abort();
	t->open = false;
}

static void fz_tcp_bind(void *arg, void *handle, void *conn)
{
	(void)arg;
	(void)conn;
	if (!((struct fz_tpeer *)handle)->open)
		abort();
}

static void fz_conn_noop(void *arg, void *conn, void *owner_arg)
{
	(void)arg;
	(void)conn;
	(void)owner_arg;
}

static void fz_conn_close(void *arg, void *conn)
{
	(void)arg;
	(void)conn;
}

/* Peers the fuzzer may name: public ones the policy allows, and the
 * kinds it must refuse (private, metadata, IPv4-mapped, loopback). */
static const char *const fz_peers[] = {
	"8.8.8.8", "8.8.4.4", "2606:4700::1111", "2001:4860:4860::8888",
	"10.0.0.1", "169.254.169.254", "::ffff:10.0.0.1", "127.0.0.1", "::1",
	"203.0.113.5",
};
#define FZ_NPEERS (sizeof(fz_peers) / sizeof(fz_peers[0]))

/* A peer from the table; af != 0 keeps to that family (what a relay
 * socket bound to it can receive from). */
static struct sa fz_peer_af(struct rd *r, int af)
{
	struct sa s;
	unsigned i = rd_u8(r);
	uint16_t hi = rd_u8(r), lo = rd_u8(r);
	for (unsigned k = 0; k < FZ_NPEERS; k++) {
		sa_set_str(&s, fz_peers[(i + k) % FZ_NPEERS], (uint16_t)(hi << 8 | lo));
		if (!af || sa_af(&s) == af)
			break;
	}
	return s;
}

static struct sa fz_peer(struct rd *r)
{
	return fz_peer_af(r, 0);
}

static const uint16_t fz_methods[] = {
	TURN_ALLOCATE, TURN_REFRESH, TURN_CREATE_PERMISSION, TURN_CHANNEL_BIND,
	TURN_CONNECT, TURN_CONNECTION_BIND, STUN_BINDING, 0x00f,
};

/* One attribute of the fuzzer's choosing: well-formed typed ones with
 * fuzzed values, or raw bytes under a TURN type. */
static void fz_attr(const struct fz *f, struct stun_enc *e, struct rd *r)
{
	static const uint16_t raw_types[] = {
		TURN_ATTR_REQUESTED_ADDRESS_FAMILY, TURN_ATTR_ADDITIONAL_ADDRESS_FAMILY,
		TURN_ATTR_EVEN_PORT, TURN_ATTR_RESERVATION_TOKEN, TURN_ATTR_DONT_FRAGMENT,
		TURN_ATTR_CHANNEL_NUMBER, TURN_ATTR_LIFETIME, TURN_ATTR_XOR_PEER_ADDRESS,
		TURN_ATTR_REQUESTED_TRANSPORT, TURN_ATTR_CONNECTION_ID, TURN_ATTR_DATA,
		STUN_ATTR_SOFTWARE, 0x7fff,
	};
	uint8_t k = rd_u8(r);
	uint8_t v[64];
	switch (k % 8) {
	case 0: {
		uint8_t t[4] = {rd_u8(r) & 1 ? TURN_PROTO_TCP : TURN_PROTO_UDP, 0, 0, 0};
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
		stun_enc_channel(e, (uint16_t)(0x4000 | rd_u8(r) % 8));
		break;
	case 4: {
		uint8_t fam[4] = {rd_u8(r) & 1 ? STUN_FAMILY_IPV6 : STUN_FAMILY_IPV4, 0, 0, 0};
		stun_enc_attr(e, k & 8 ? TURN_ATTR_ADDITIONAL_ADDRESS_FAMILY
				       : TURN_ATTR_REQUESTED_ADDRESS_FAMILY, fam, 4);
		break;
	}
	case 5:
		if (k & 8)
			stun_enc_connid(e, f->connid);
		else
			stun_enc_attr(e, TURN_ATTR_RESERVATION_TOKEN, f->token, 8);
		break;
	default: {
		uint16_t t = raw_types[rd_u8(r) % (sizeof(raw_types) / sizeof(raw_types[0]))];
		size_t n = rd_bytes(r, v, rd_u8(r) % sizeof(v));
		stun_enc_attr(e, t, v, n);
		break;
	}
	}
}

/* The credentials a request is signed with, by bits 3-4 of its method
 * byte: a user= line's name and MD5 key; the same with the SHA-256 key,
 * PASSWORD-ALGORITHM(S) and MESSAGE-INTEGRITY-SHA256 (RFC 8489 9.2.4);
 * USERHASH in place of USERNAME (14.4), SHA-256 too; or a REST username
 * minted from the shared secret, "<expiry>:<user>", valid for up to 28
 * hours (beyond rest_max_ttl, 24 hours, it is refused). */
static void fz_sign(const struct fz *f, struct stun_enc *e, struct rd *r,
		    uint8_t m, unsigned c)
{
	const char *user = m & 0x40 ? "bob" : "alice";
	const char *pass = m & 0x40 ? "bobpw" : "alicepw";
	unsigned mode = (m >> 3) & 3;
	char rest[64], rpass[AUTH_REST_PASS_LEN + 4];
	uint8_t key[32], uh[32];
	if (mode == 3) {
		uint64_t ttl = (uint64_t)rd_u8(r) * 400;
		if (auth_rest_username(f->wall, ttl, user, AUTH_REST_SEP, rest,
				       sizeof(rest)) != 0 ||
		    auth_rest_password("s3cret", 6, rest, strlen(rest), rpass,
				       sizeof(rpass)) != 0)
			return;
		user = rest;
		pass = rpass;
	}
	if (mode == 2 && stun_userhash(user, "fz", uh) == 0)
		stun_enc_attr(e, STUN_ATTR_USERHASH, uh, sizeof(uh));
	else
		stun_enc_str(e, STUN_ATTR_USERNAME, user);
	stun_enc_str(e, STUN_ATTR_REALM, "fz");
	stun_enc_attr(e, STUN_ATTR_NONCE, f->nonce[c], f->noncelen[c]);
	if (mode == 1 || mode == 2) {
		uint8_t alg[4] = {0, STUN_PWALG_SHA256, 0, 0};
		stun_enc_password_algorithms(e);
		stun_enc_attr(e, STUN_ATTR_PASSWORD_ALGORITHM, alg, sizeof(alg));
		stun_key_sha256(user, "fz", pass, key);
		stun_enc_mi256(e, key, 32);
	} else {
		stun_key_md5(user, "fz", pass, key);
		stun_enc_mi(e, key, 16);
	}
}

/* A request from client c, signed with the nonce c last saw (or
 * unsigned, to draw a 401). */
static void fz_request(struct fz *f, struct rd *r, unsigned c)
{
	uint8_t buf[2048], tid[STUN_TID_LEN] = {0};
	uint8_t m = rd_u8(r);
	tid[0] = rd_u8(r);
	tid[1] = (uint8_t)c;
	struct stun_enc e;
	stun_enc_init(&e, buf, sizeof(buf), fz_methods[m % 8], STUN_CLASS_REQUEST, tid);
	unsigned nattrs = rd_u8(r) % 6;
	for (unsigned i = 0; i < nattrs; i++)
		fz_attr(f, &e, r);
	if (!(m & 0x80))
		fz_sign(f, &e, r, m, c);
	size_t len;
	if (stun_enc_finish(&e, &len) == 0)
		turn_client_input(f->srv, &f->src[c], buf, len);
}

static void fz_send_ind(struct fz *f, struct rd *r, unsigned c)
{
	uint8_t buf[512], tid[STUN_TID_LEN] = {1}, d[64];
	struct stun_enc e;
	stun_enc_init(&e, buf, sizeof(buf), TURN_SEND, STUN_CLASS_INDICATION, tid);
	struct sa p = fz_peer(r);
	stun_enc_xaddr(&e, TURN_ATTR_XOR_PEER_ADDRESS, &p);
	stun_enc_attr(&e, TURN_ATTR_DATA, d, rd_bytes(r, d, rd_u8(r) % sizeof(d)));
	size_t len;
	if (stun_enc_finish(&e, &len) == 0)
		turn_client_input(f->srv, &f->src[c], buf, len);
}

static void fz_raw(struct fz *f, struct rd *r, unsigned c, bool chan)
{
	uint8_t buf[600];
	size_t n = 0;
	if (chan) {
		uint16_t ch = (uint16_t)(0x4000 | rd_u8(r) % 8);
		uint8_t dl = rd_u8(r);
		buf[0] = (uint8_t)(ch >> 8);
		buf[1] = (uint8_t)ch;
		buf[2] = 0;
		buf[3] = dl;
		n = 4;
	}
	n += rd_bytes(r, buf + n, rd_u8(r) % (sizeof(buf) - 4));
	turn_client_input(f->srv, &f->src[c], buf, n);
}

/* A datagram or a connection from a peer to one of the open relays. */
static void fz_peer_event(struct fz *f, struct rd *r)
{
	if (f->nrelays == 0)
		return;
	struct fz_relay *rl = &f->relays[rd_u8(r) % f->nrelays];
	struct sa p = fz_peer_af(r, rl->af);
	uint8_t d[300];
	size_t n = rd_bytes(r, d, rd_u8(r) % sizeof(d));
	if (!rl->open)
		return;
	if (!rl->tcp) {
		turn_peer_input(f->srv, rl->owner, &p, d, n);
		return;
	}
	if (f->ntpeers == FZ_TPEERS)
		return;
	struct fz_tpeer *t = &f->tpeers[f->ntpeers];
	*t = (struct fz_tpeer){.open = true};
	t->owner = turn_tcp_accepted(f->srv, rl->owner, &p, t);
	if (t->owner)
		f->ntpeers++;
}

static void fz_tcp_event(struct fz *f, struct rd *r)
{
	if (f->ntpeers == 0)
		return;
	uint8_t k = rd_u8(r);
	struct fz_tpeer *t = &f->tpeers[rd_u8(r) % f->ntpeers];
	if (!t->open)
		return;
	switch (k % 3) {
	case 0:
		turn_tcp_connected(f->srv, t->owner, k & 8 ? ECONNREFUSED : 0);
		break;
	case 1:
		turn_tcp_closed(f->srv, t->owner); /* the core calls tcp_close */
		break;
	default:
		turn_tcp_relayed(f->srv, t->owner, (k >> 3) & 1, rd_u8(r));
		break;
	}
}

static void fz_cfg(struct turn_cfg *c, struct peer_policy *pol)
{
	memset(c, 0, sizeof(*c));
	strcpy(c->realm, "fz");
	c->use_auth_secret = true;
	strcpy(c->secrets[0], "s3cret");
	c->nsecrets = 1;
	turn_user_set(&c->users[0], "alice", "alicepw", "fz");
	turn_user_set(&c->users[1], "bob", "bobpw", "fz");
	c->nusers = 2;
	c->rest_max_ttl = 86400;
	c->rest_skew = 60;
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
	sa_set_str(&c->relay4, "203.0.113.5", 0);
	sa_set_str(&c->relay6, "2001:db8::5", 0);
	memset(c->nonce_key.key, 7, sizeof(c->nonce_key.key));
	c->policy = pol;
}

/* Client c's transport; after a close, a new stream from a new port (the
 * core never sees a closed handle again). */
static void fz_source(struct fz *f, unsigned c)
{
	static const char *const ips[FZ_CLIENTS] = {
		"198.51.100.1", "198.51.100.2", "2001:db8:1::1", "198.51.100.3",
		"198.51.100.3"};
	struct turn_src *s = &f->src[c];
	/* Clients 3 and 4 are TCP streams from one host, so RFC 6062 is
	 * reachable: a control and a data connection. */
	*s = (struct turn_src){.proto = c >= 3 ? TURN_PROTO_TCP : TURN_PROTO_UDP,
			       .conn = (void *)(uintptr_t)(c + 1 + 16 * f->gen[c])};
	sa_set_str(&s->client, ips[c], (uint16_t)(40000 + c + 10 * f->gen[c]));
	sa_set_str(&s->local, c == 2 ? "2001:db8::5" : "203.0.113.5", 3478);
	f->noncelen[c] = 0;
}

static void fz_sources(struct fz *f)
{
	for (unsigned c = 0; c < FZ_CLIENTS; c++)
		fz_source(f, c);
}

/* The API revokes the REST user-id "bob" (his allocations end, his
 * requests get 403), or lifts every revocation. */
static void fz_revoke(struct fz *f, bool on)
{
	static const char *const bob[] = {"bob"};
	struct turn_revoked *rv = NULL;
	if (on && turn_revoked_new(&rv, bob, 1, NULL, 0) != 0)
		abort();
	turn_srv_set_revoked(f->srv, rv);
}

static void fz_run(struct fz *f, struct rd *r)
{
	for (unsigned op = 0; op < FZ_OPS && r->n > 0; op++) {
		uint8_t o = rd_u8(r);
		unsigned c = (o >> 4) % FZ_CLIENTS;
		switch (o % 8) {
		case 0: case 1: fz_request(f, r, c); break;
		case 2: fz_raw(f, r, c, true); break;
		case 3: fz_send_ind(f, r, c); break;
		case 4: fz_peer_event(f, r); break;
		case 5:
			if (o & 0x80) {
				fz_revoke(f, o & 0x40);
				break;
			}
			f->mono += (uint64_t)rd_u8(r) * 10000; /* up to 42 min */
			f->wall = 1700000000 + f->mono / 1000;
			turn_srv_tick(f->srv);
			break;
		case 6:
			if (o & 0x40)
				fz_tcp_event(f, r);
			else if (c >= 3) {
				turn_conn_closed(f->srv, &f->src[c]);
				f->gen[c]++;
				fz_source(f, c);
			}
			else
				fz_raw(f, r, c, false);
			break;
		default: fz_raw(f, r, c, false); break;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz f;
	struct turn_cfg cfg;
	struct peer_policy *pol;
	struct turn_shared *sh;
	memset(&f, 0, sizeof(f));
	f.mono = 1000000;
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
		.tcp_connect = fz_tcp_connect, .tcp_close = fz_tcp_close,
		.tcp_bind = fz_tcp_bind, .conn_handoff = fz_conn_noop,
		.conn_close = fz_conn_close, .arg = &f,
	};
	if (turn_srv_alloc(&f.srv, &cfg, sh, &clk, &io) != 0)
		abort();
	fz_sources(&f);
	struct rd r = {data, size};
	fz_run(&f, &r);
	turn_srv_free(f.srv);
	/* Everything an allocation held is back, once the RESERVATION-TOKENs
	 * still outstanding have expired (RFC 8656 7.2: held about 30 s). */
	if (turn_shared_ports_free(sh, UINT64_MAX / 2) !=
		    FZ_MAXPORT - FZ_MINPORT + 1 ||
	    turn_shared_allocations(sh) != 0)
		abort();
	for (unsigned i = 0; i < f.nrelays; i++)
		if (f.relays[i].open)
			abort();
	for (unsigned i = 0; i < f.ntpeers; i++)
		if (f.tpeers[i].open)
			abort();
	turn_shared_free(sh);
	peer_policy_free(pol);
	return 0;
}
