/* turnstone bench: the TURN client side of one 5-tuple. A small state
 * machine: Allocate without credentials (the server answers 401 with
 * REALM and NONCE), Allocate signed with the long-term key, then
 * CreatePermission and ChannelBind to the peer if asked, and finally
 * Refresh LIFETIME=0. Responses are matched by transaction id; their
 * integrity is not checked, which keeps the client cheap. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "auth/auth.h"
#include "cli/bench.h"
#include "stun/stun.h"

#define FLOW_MAX_TRIES 6
#define FLOW_REST_TTL 86400
#define FLOW_REST_USER "bench"

int bench_cred_init(struct bench_cred *c, const struct bench_args *a)
{
	memset(c, 0, sizeof(*c));
	if (a->realm)
		snprintf(c->realm, sizeof(c->realm), "%s", a->realm);
	if (!a->secret) {
		if (!a->user || !a->password)
			return 0; /* binding and forward need none */
		if (strlen(a->user) >= sizeof(c->user) ||
		    strlen(a->password) >= sizeof(c->pass))
			return EINVAL;
		snprintf(c->user, sizeof(c->user), "%s", a->user);
		snprintf(c->pass, sizeof(c->pass), "%s", a->password);
		return 0;
	}
	return bench_cred_rest(c, a->secret, FLOW_REST_USER);
}

int bench_cred_rest(struct bench_cred *c, const char *secret, const char *name)
{
	int e = auth_rest_username((uint64_t)time(NULL), FLOW_REST_TTL, name,
				   AUTH_REST_SEP, c->user, sizeof(c->user));
	if (!e)
		e = auth_rest_password(secret, strlen(secret), c->user,
				       strlen(c->user), c->pass, sizeof(c->pass));
	c->have_key = false; /* a new user needs a new key */
	return e;
}

/* Transaction ids need only be unique per 5-tuple: the clock and a
 * counter avoid a getrandom(2) call per request. */
static void flow_tid_new(struct bench_flow *f, uint64_t now)
{
	uint32_t seq = ++f->cred->tid_seq;
	memcpy(f->tid, &now, 8);
	memcpy(f->tid + 8, &seq, 4);
}

static uint16_t flow_method(enum bench_flow_state s)
{
	switch (s) {
	case BF_PERM:
		return TURN_CREATE_PERMISSION;
	case BF_CHAN:
		return TURN_CHANNEL_BIND;
	case BF_REFRESH:
		return TURN_REFRESH;
	default:
		return TURN_ALLOCATE;
	}
}

static void flow_enc_body(struct bench_flow *f, struct stun_enc *e)
{
	switch (f->state) {
	case BF_ALLOC0:
	case BF_ALLOC1:
		stun_enc_u32(e, TURN_ATTR_REQUESTED_TRANSPORT, 17u << 24);
		break;
	case BF_PERM:
		stun_enc_xaddr(e, TURN_ATTR_XOR_PEER_ADDRESS, f->peer);
		break;
	case BF_CHAN:
		stun_enc_channel(e, f->channel);
		stun_enc_xaddr(e, TURN_ATTR_XOR_PEER_ADDRESS, f->peer);
		break;
	case BF_REFRESH:
		stun_enc_u32(e, TURN_ATTR_LIFETIME, 0);
		break;
	default:
		break;
	}
}

/* (Re)send the request for the current state with the current tid. */
static int flow_send(struct bench_flow *f, uint64_t now)
{
	uint8_t buf[768];
	struct stun_enc e;
	stun_enc_init(&e, buf, sizeof(buf), flow_method(f->state),
		      STUN_CLASS_REQUEST, f->tid);
	flow_enc_body(f, &e);
	if (f->state != BF_ALLOC0) {
		stun_enc_str(&e, STUN_ATTR_USERNAME, f->cred->user);
		stun_enc_str(&e, STUN_ATTR_REALM, f->cred->realm);
		stun_enc_attr(&e, STUN_ATTR_NONCE, f->nonce, f->nlen);
		stun_enc_mi(&e, f->cred->key, sizeof(f->cred->key));
	}
	size_t len;
	int err = stun_enc_finish(&e, &len);
	if (err)
		return err;
	f->t_sent = now;
	if (f->stream)
		return bench_stream_write(f->stream, f->lf.fd, buf, len);
	/* A full socket buffer is a loss; the retransmission covers it. */
	if (send(f->lf.fd, buf, len, 0) < 0 && errno != EAGAIN)
		return errno;
	return 0;
}

static void flow_fail(struct bench_flow *f, int err)
{
	f->state = BF_FAILED;
	f->last_error = err;
}

static void flow_enter(struct bench_flow *f, enum bench_flow_state s,
		       uint64_t now)
{
	f->state = s;
	f->tries = 0;
	if (s == BF_READY || s == BF_DONE)
		return;
	flow_tid_new(f, now);
	int err = flow_send(f, now);
	if (err)
		flow_fail(f, err);
}

int bench_flow_start(struct bench_flow *f, uint64_t now)
{
	f->nlen = 0;
	f->last_error = 0;
	flow_enter(f, BF_ALLOC0, now);
	return f->state == BF_FAILED ? f->last_error : 0;
}

int bench_flow_release(struct bench_flow *f, uint64_t now)
{
	flow_enter(f, BF_REFRESH, now);
	return f->state == BF_FAILED ? f->last_error : 0;
}

/* Remember the nonce and realm of a 401/438 and derive the key once per
 * realm: MD5(user ":" realm ":" password). */
static int flow_challenge(struct bench_flow *f, const struct stun_msg *m)
{
	const struct stun_attr *n = stun_msg_attr(m, STUN_ATTR_NONCE);
	const struct stun_attr *r = stun_msg_attr(m, STUN_ATTR_REALM);
	struct bench_cred *c = f->cred;
	if (!n || !r || n->len > sizeof(f->nonce) || r->len >= sizeof(c->realm))
		return EBADMSG;
	memcpy(f->nonce, n->val, n->len);
	f->nlen = n->len;
	if (c->have_key && strlen(c->realm) == r->len &&
	    memcmp(c->realm, r->val, r->len) == 0)
		return 0;
	memcpy(c->realm, r->val, r->len);
	c->realm[r->len] = '\0';
	c->have_key = stun_key_md5(c->user, c->realm, c->pass, c->key) == 0;
	return c->have_key ? 0 : EINVAL;
}

static bool flow_on_error(struct bench_flow *f, const struct stun_msg *m,
			  uint64_t now)
{
	int code = 0;
	const char *reason;
	size_t rlen;
	if (stun_msg_get_error(m, &code, &reason, &rlen))
		code = 0;
	bool retry = (code == 401 && f->state == BF_ALLOC0) || code == 438;
	if (!retry || ++f->tries > FLOW_MAX_TRIES || flow_challenge(f, m)) {
		flow_fail(f, code ? code : EBADMSG);
		return true;
	}
	unsigned tries = f->tries;
	flow_enter(f, f->state == BF_ALLOC0 ? BF_ALLOC1 : f->state, now);
	f->tries = tries;
	return true;
}

static enum bench_flow_state flow_next(const struct bench_flow *f)
{
	switch (f->state) {
	case BF_ALLOC0:
	case BF_ALLOC1:
		if (f->perm)
			return BF_PERM;
		__attribute__((fallthrough));
	case BF_PERM:
		if (f->chan)
			return BF_CHAN;
		__attribute__((fallthrough));
	case BF_CHAN:
		return f->refresh_after ? BF_REFRESH : BF_READY;
	case BF_REFRESH:
		return BF_DONE;
	default:
		return f->state;
	}
}

static bool flow_on_success(struct bench_flow *f, const struct stun_msg *m,
			    uint64_t now)
{
	if (f->state == BF_ALLOC0 || f->state == BF_ALLOC1) {
		if (stun_msg_get_xaddr(m, TURN_ATTR_XOR_RELAYED_ADDRESS,
				       &f->relayed)) {
			flow_fail(f, EBADMSG);
			return true;
		}
	}
	flow_enter(f, flow_next(f), now);
	return true;
}

bool bench_flow_input(struct bench_flow *f, const uint8_t *buf, size_t len,
		      uint64_t now)
{
	struct stun_msg m;
	if (f->state == BF_IDLE || f->state == BF_READY ||
	    f->state == BF_DONE || f->state == BF_FAILED)
		return false;
	if (!stun_is_msg(buf, len) || stun_msg_decode(&m, buf, len) != 0)
		return false;
	if (memcmp(m.tid, f->tid, STUN_TID_LEN) != 0 ||
	    m.method != flow_method(f->state))
		return false;
	if (m.cls == STUN_CLASS_ERROR)
		return flow_on_error(f, &m, now);
	if (m.cls == STUN_CLASS_SUCCESS)
		return flow_on_success(f, &m, now);
	return false;
}

void bench_flow_tick(struct bench_flow *f, uint64_t now, uint64_t rto_ns)
{
	if (f->state == BF_IDLE || f->state == BF_READY ||
	    f->state == BF_DONE || f->state == BF_FAILED)
		return;
	if (now - f->t_sent < rto_ns)
		return;
	if (++f->tries > FLOW_MAX_TRIES) {
		flow_fail(f, ETIMEDOUT);
		return;
	}
	/* A stream delivers or breaks: no retransmission over it, only the
	 * same time limit (RFC 8489 6.2.2). */
	if (f->stream) {
		f->t_sent = now;
		return;
	}
	int err = flow_send(f, now);
	if (err)
		flow_fail(f, err);
}
