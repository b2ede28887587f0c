/* turnstone probe turn:...: allocate with the long-term credential
 * mechanism, permit and bind a channel to an echo peer we serve ourselves,
 * bounce ChannelData off it through the relay, then release. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/probe.h"
#include "util/bytes.h"
#include "util/rand.h"

/* What a request carries besides the credentials. */
struct probe_req {
	const char *step;
	uint16_t method;
	bool allocate;         /* REQUESTED-TRANSPORT (and family) */
	int64_t lifetime;      /* LIFETIME, or -1 for none */
	uint16_t channel;      /* CHANNEL-NUMBER, or 0 */
	const struct sa *peer; /* XOR-PEER-ADDRESS, or NULL */
};

static void probe_enc_allocate(struct probe_turn *t, struct stun_enc *e)
{
	/* RFC 8656 7.1: UDP relaying; IPv6 relays must be asked for (18.8). */
	static const uint8_t udp[4] = {17, 0, 0, 0};
	static const uint8_t v6[4] = {STUN_FAMILY_IPV6, 0, 0, 0};
	stun_enc_attr(e, TURN_ATTR_REQUESTED_TRANSPORT, udp, sizeof(udp));
	if (sa_af(&t->io.peer) == AF_INET6)
		stun_enc_attr(e, TURN_ATTR_REQUESTED_ADDRESS_FAMILY, v6,
			      sizeof(v6));
}

/* RFC 8489 9.2.4: echo PASSWORD-ALGORITHMS when offered and say which one
 * we use (MD5), then USERNAME, REALM, NONCE and MESSAGE-INTEGRITY; after
 * an offer it must be MESSAGE-INTEGRITY-SHA256 (9.2.5, last paragraph),
 * and the server answers with that too. */
static void probe_enc_auth(struct probe_turn *t, struct stun_enc *e)
{
	static const uint8_t md5[4] = {0, STUN_PWALG_MD5, 0, 0};
	if (t->pwalgs_len) {
		stun_enc_attr(e, STUN_ATTR_PASSWORD_ALGORITHMS, t->pwalgs,
			      t->pwalgs_len);
		stun_enc_attr(e, STUN_ATTR_PASSWORD_ALGORITHM, md5,
			      sizeof(md5));
	}
	stun_enc_str(e, STUN_ATTR_USERNAME, t->user);
	stun_enc_str(e, STUN_ATTR_REALM, t->realm);
	stun_enc_attr(e, STUN_ATTR_NONCE, t->nonce, t->nonce_len);
	if (t->pwalgs_len)
		stun_enc_mi256(e, t->key, sizeof(t->key));
	else
		stun_enc_mi(e, t->key, sizeof(t->key));
}

static int probe_req_encode(struct probe_turn *t, const struct probe_req *r,
			    uint8_t *buf, size_t cap, size_t *len)
{
	struct stun_enc e;
	uint8_t tid[STUN_TID_LEN];
	int err = rand_bytes(tid, sizeof(tid));
	if (err)
		return err;
	stun_enc_init(&e, buf, cap, r->method, STUN_CLASS_REQUEST, tid);
	if (r->allocate)
		probe_enc_allocate(t, &e);
	if (r->lifetime >= 0)
		stun_enc_u32(&e, TURN_ATTR_LIFETIME, (uint32_t)r->lifetime);
	if (r->channel)
		stun_enc_channel(&e, r->channel);
	if (r->peer)
		stun_enc_xaddr(&e, TURN_ATTR_XOR_PEER_ADDRESS, r->peer);
	if (t->authed)
		probe_enc_auth(t, &e);
	stun_enc_fingerprint(&e);
	return stun_enc_finish(&e, len);
}

/* Keep the attribute's bytes as a NUL-terminated string in dst. */
static int probe_attr_copy(const struct stun_msg *m, uint16_t type,
			   void *dst, size_t cap, size_t *len)
{
	const struct stun_attr *at = stun_msg_attr(m, type);
	if (!at || at->len >= cap)
		return at ? EBADMSG : ENOENT;
	memcpy(dst, at->val, at->len);
	((uint8_t *)dst)[at->len] = 0;
	if (len)
		*len = at->len;
	return 0;
}

/* RFC 8489 9.2.4: with the password-algorithms bit in the nonce cookie,
 * the server lists its algorithms and we must echo the list. We use MD5,
 * so it has to be on it. */
static int probe_pwalgs_learn(struct probe_turn *t)
{
	uint32_t feat = 0;
	const struct stun_attr *at =
		stun_msg_attr(&t->resp, STUN_ATTR_PASSWORD_ALGORITHMS);
	if (stun_nonce_cookie_parse(t->nonce, t->nonce_len, &feat) ||
	    !(feat & STUN_FEAT_PASSWORD_ALGORITHMS)) {
		t->pwalgs_len = 0;
		return 0;
	}
	if (!at)
		return t->pwalgs_len ? 0 : EBADMSG;
	for (size_t off = 0; off + 4 <= at->len;
	     off += 4 + ((get_be16(at->val + off + 2) + 3u) & ~3u)) {
		if (get_be16(at->val + off) == STUN_PWALG_MD5)
			return probe_attr_copy(&t->resp,
					       STUN_ATTR_PASSWORD_ALGORITHMS,
					       t->pwalgs, sizeof(t->pwalgs),
					       &t->pwalgs_len);
	}
	fprintf(t->err, "auth: the server does not offer MD5 passwords\n");
	return ENOTSUP;
}

/* A 401 or 438 names the realm and a fresh nonce (RFC 8489 9.2.4). */
static int probe_auth_learn(struct probe_turn *t)
{
	const struct stun_msg *m = &t->resp;
	char realm[PROBE_REALM_MAX];
	if (probe_attr_copy(m, STUN_ATTR_NONCE, t->nonce, sizeof(t->nonce),
			    &t->nonce_len) || probe_pwalgs_learn(t))
		return EBADMSG;
	if (probe_attr_copy(m, STUN_ATTR_REALM, realm, sizeof(realm), NULL))
		return t->authed ? 0 : EBADMSG;
	snprintf(t->realm, sizeof(t->realm), "%s",
		 t->a->realm ? t->a->realm : realm);
	if (stun_key_md5(t->user, t->realm, t->pass, t->key))
		return EINVAL;
	t->authed = true;
	return 0;
}

static void probe_error_print(struct probe_turn *t, const char *step)
{
	int code = 0;
	const char *why = "";
	size_t wl = 0;
	char pb[SA_STRLEN];
	if (stun_msg_get_error(&t->resp, &code, &why, &wl))
		fprintf(t->err, "%s: malformed error response\n", step);
	else
		fprintf(t->err, "%s: error %d %.*s\n", step, code, (int)wl,
			why);
	if (code == 401 && t->authed)
		fprintf(t->err, "%s: the server refused the credentials "
			"(wrong user, password, secret or realm?)\n", step);
	if (code == 440)
		fprintf(t->err, "%s: the server has no relay address of the "
			"peer's family; try a --peer of the other family\n",
			step);
	if (code == 403 && t->resp.method != TURN_ALLOCATE)
		fprintf(t->err, "%s: the server refused peer %s; it must "
			"allow that address (for loopback peers start it "
			"with --allow-loopback-peers) or pass --peer\n",
			step, sa_fmt_ip(&t->io.peer, pb, sizeof(pb)));
}

/* A success response must carry a MESSAGE-INTEGRITY (-SHA256 when we
 * named an algorithm) made with our key. */
static int probe_success_check(struct probe_turn *t, const char *step)
{
	if (!t->authed)
		return 0;
	bool sha256 = t->pwalgs_len != 0;
	int e = stun_msg_check_mi_with(&t->resp, NULL, sha256, t->key,
				       sizeof(t->key));
	if (e)
		fprintf(t->err, "%s: response MESSAGE-INTEGRITY%s %s\n", step,
			sha256 ? "-SHA256" : "",
			e == ENOENT ? "missing" : "does not verify");
	return e ? EACCES : 0;
}

/* One request: answer a first 401 with credentials and one 438 with the
 * new nonce (RFC 8489 9.2.4/9.2.5). 0 with t->resp the verified success,
 * or an errno after the error has been printed. */
static int probe_request(struct probe_turn *t, const struct probe_req *r)
{
	uint8_t buf[1024];
	bool stale_done = false;
	for (int attempt = 0; attempt < 3; attempt++) {
		size_t len;
		uint64_t rtt;
		int code = 0;
		int e = probe_req_encode(t, r, buf, sizeof(buf), &len);
		if (!e)
			e = probe_txn(&t->io, buf, len, &t->resp, &rtt);
		if (e) {
			fprintf(t->err, "%s: %s\n", r->step, e == ETIMEDOUT ?
				"no response within 5 s" : strerror(e));
			return e;
		}
		if (t->resp.cls == STUN_CLASS_SUCCESS)
			return probe_success_check(t, r->step);
		stun_msg_get_error(&t->resp, &code, &(const char *){0},
				   &(size_t){0});
		bool retry = (code == 401 && !t->authed) ||
			     (code == 438 && !stale_done);
		stale_done |= code == 438;
		if (retry && probe_auth_learn(t) == 0) {
			if (code == 438)
				fprintf(t->out, "%s: stale nonce, retrying\n",
					r->step);
			continue;
		}
		probe_error_print(t, r->step);
		return EPROTO;
	}
	fprintf(t->err, "%s: authentication did not converge\n", r->step);
	return EPROTO;
}

static int probe_allocate(struct probe_turn *t)
{
	struct probe_req r = {"allocate", TURN_ALLOCATE, true, -1, 0, NULL};
	struct sa relayed, mapped;
	uint32_t life = 0;
	char rb[SA_STRLEN], mb[SA_STRLEN];
	int e = probe_request(t, &r);
	if (e)
		return e;
	if (stun_msg_get_xaddr(&t->resp, TURN_ATTR_XOR_RELAYED_ADDRESS,
			       &relayed)) {
		fprintf(t->err, "allocate: no XOR-RELAYED-ADDRESS\n");
		return EBADMSG;
	}
	stun_msg_get_u32(&t->resp, TURN_ATTR_LIFETIME, &life);
	fprintf(t->out, "allocate: relayed %s (lifetime %" PRIu32 " s)",
		sa_fmt(&relayed, rb, sizeof(rb)), life);
	if (stun_msg_get_xaddr(&t->resp, STUN_ATTR_XOR_MAPPED_ADDRESS,
			       &mapped) == 0)
		fprintf(t->out, ", mapped %s", sa_fmt(&mapped, mb, sizeof(mb)));
	fprintf(t->out, "%s%s%s\n", t->authed ? ", realm \"" : "",
		t->authed ? t->realm : "", t->authed ? "\"" : "");
	return 0;
}

static int probe_permit_bind(struct probe_turn *t)
{
	struct probe_req perm = {"permission", TURN_CREATE_PERMISSION, false,
				 -1, 0, &t->io.peer};
	struct probe_req bind = {"channel 0x4000", TURN_CHANNEL_BIND, false,
				 -1, PROBE_CHANNEL, &t->io.peer};
	char pb[SA_STRLEN];
	int e = probe_request(t, &perm);
	if (e)
		return e;
	fprintf(t->out, "permission: ok (peer %s)\n",
		sa_fmt_ip(&t->io.peer, pb, sizeof(pb)));
	e = probe_request(t, &bind);
	if (!e)
		fprintf(t->out, "channel 0x%04x: ok (peer %s)\n", PROBE_CHANNEL,
			sa_fmt(&t->io.peer, pb, sizeof(pb)));
	return e;
}

/* RFC 8656 7.2: a Refresh with LIFETIME 0 deletes the allocation. */
static int probe_release(struct probe_turn *t)
{
	struct probe_req r = {"release", TURN_REFRESH, false, 0, 0, NULL};
	int e = probe_request(t, &r);
	if (!e)
		fprintf(t->out, "release: ok\n");
	return e;
}

static int probe_creds_make(struct probe_turn *t)
{
	const struct probe_args *a = t->a;
	if (!a->secret) {
		snprintf(t->user, sizeof(t->user), "%s", a->user);
		t->pass = a->password;
		return 0;
	}
	int e = auth_rest_username((uint64_t)time(NULL), a->ttl, a->user_id,
				   a->sep ? a->sep : AUTH_REST_SEP, t->user,
				   sizeof(t->user));
	if (!e)
		e = auth_rest_password(a->secret, strlen(a->secret), t->user,
				       strlen(t->user), t->rest_pass,
				       sizeof(t->rest_pass));
	if (e) {
		fprintf(t->err, "credentials: %s\n", strerror(e));
		return e;
	}
	t->pass = t->rest_pass;
	fprintf(t->out, "credentials: REST username %s\n", t->user);
	return 0;
}

static int probe_turn_steps(struct probe_turn *t)
{
	int e = probe_allocate(t);
	if (e)
		return e;
	e = probe_permit_bind(t);
	if (!e)
		e = probe_relay(t);
	int re = probe_release(t);
	return e ? e : re;
}

int probe_turn_run(const struct probe_args *a, FILE *out, FILE *err)
{
	struct probe_turn t = {.a = a, .out = out, .err = err};
	char sb[SA_STRLEN];
	int e;
	probe_io_init(&t.io);
	fprintf(out, "server: %s over %s\n", sa_fmt(&a->server, sb, sizeof(sb)),
		a->tls ? "tls" : a->tcp ? "tcp" : "udp");
	e = probe_creds_make(&t);
	if (!e)
		e = probe_io_peer_open(&t.io, &a->peer, err);
	if (!e)
		e = probe_io_open(&t.io, a, a->tcp, out, err);
	if (!e)
		e = probe_turn_steps(&t);
	probe_io_close(&t.io);
	explicit_bzero(t.key, sizeof(t.key));
	explicit_bzero(t.rest_pass, sizeof(t.rest_pass));
	fflush(out);
	return e ? 1 : 0;
}
