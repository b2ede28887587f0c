/* The long-term credential mechanism (RFC 8489 9.2) as one chain: it
 * answers 400, 401 or 438 itself, or hands a verified key to the method
 * handler. No per-client state exists before MESSAGE-INTEGRITY verifies:
 * nonces are stateless HMACs (auth/nonce.c). */
#include <errno.h>
#include <string.h>

#include "turn/turn_int.h"

#define REST_SKEW_DEFAULT 60

static uint32_t auth_features(void)
{
	return STUN_FEAT_PASSWORD_ALGORITHMS;
}

/* 401 and 438 carry REALM and a fresh NONCE (9.2.4). Over plain UDP
 * they are rate-limited per source IP so an unauthenticated flood, whose
 * source may be spoofed, draws few replies. Not over TCP, TLS or DTLS:
 * their source proved itself, a stream client never retransmits (a
 * dropped 401 would stall it for its whole transaction, RFC 8489 6.2.2),
 * and a spoofed UDP flood must not starve those clients of 401s. */
static void auth_challenge(struct turn_srv *srv, const struct turn_src *src,
			   const struct stun_msg *req, int code)
{
	uint64_t now = turn_now(srv);
	if (src->proto == TURN_PROTO_UDP && !src->secure &&
	    !auth_ratelimit_allow(srv->rl, &src->client, now)) {
		turn_stat_add(&srv->stats.unauth_limited, 1);
		return;
	}
	char nonce[AUTH_NONCE_MAX];
	size_t nlen;
	if (auth_nonce_make_with(&srv->cfg->nonce_key, srv->nmac, &src->client,
				 src->proto, now / 1000, auth_features(), nonce,
				 &nlen) != 0)
		return;
	struct turn_resp r;
	turn_resp_init(&r, srv, req, STUN_CLASS_ERROR, NULL);
	stun_enc_error(&r.enc, code, NULL);
	stun_enc_str(&r.enc, STUN_ATTR_REALM, srv->cfg->realm);
	stun_enc_attr(&r.enc, STUN_ATTR_NONCE, nonce, nlen);
	stun_enc_password_algorithms(&r.enc);
	turn_resp_send(srv, src, &r);
}

/* RFC 8489 9.2.4: with neither PASSWORD-ALGORITHM nor PASSWORD-ALGORITHMS
 * the key is MD5 (a legacy or RFC 5389 client). With either, both must be
 * there, PASSWORD-ALGORITHMS must be exactly the list our 401 sent (we
 * always send the same one, so no state is needed) and PASSWORD-ALGORITHM
 * one of its entries: a man in the middle who strips SHA-256 from the 401
 * is caught here. Else 400. A request that names an algorithm, MD5
 * included, is answered with MESSAGE-INTEGRITY-SHA256 (the paragraph after
 * the checks); only one that names none gets MESSAGE-INTEGRITY. */
static int auth_algorithm(const struct stun_msg *req, struct turn_auth *a)
{
	const struct stun_attr *pa = stun_msg_attr(req, STUN_ATTR_PASSWORD_ALGORITHM);
	const struct stun_attr *pas = stun_msg_attr(req, STUN_ATTR_PASSWORD_ALGORITHMS);
	a->key256 = a->sha256 = false;
	if (!pa && !pas)
		return 0;
	/* Neither of our algorithms takes parameters: 4 bytes exactly. */
	if (!pa || pa->len != 4 || pa->val[2] || pa->val[3] ||
	    !stun_password_algorithms_ours(pas))
		return EBADMSG;
	uint16_t alg = (uint16_t)((pa->val[0] << 8) | pa->val[1]);
	if (alg != STUN_PWALG_SHA256 && alg != STUN_PWALG_MD5)
		return EBADMSG;
	a->key256 = alg == STUN_PWALG_SHA256;
	a->sha256 = true;
	return 0;
}

static int auth_verify_mi(struct turn_srv *srv, const struct stun_msg *req,
			  const struct turn_auth *a)
{
	return stun_msg_check_mi_with(req, srv->mac, req->mi256 >= 0, a->key,
				      a->klen);
}

static void auth_key_from_pass(struct turn_srv *srv, struct turn_auth *a,
			       const char *user, const char *realm,
			       const char *pass)
{
	stun_key_with(srv->mac, a->key256, user, realm, pass, a->key);
	a->klen = a->key256 ? 32 : 16;
}

static char auth_rest_sep(const struct turn_cfg *cfg)
{
	return cfg->rest_sep ? cfg->rest_sep : AUTH_REST_SEP;
}

static int auth_rest_accept(const struct turn_cfg *cfg, struct turn_auth *a,
			    const char *user)
{
	const char *uid;
	uint64_t exp;
	auth_rest_parse(user, a->ulen, auth_rest_sep(cfg), &exp, &uid,
			&a->userid_len);
	a->userid_off = (size_t)(uid - user);
	return 0;
}

/* REST credentials: try each configured secret (rotation). EACCES when
 * none verifies; auth_rest_check_time's errors for the time. */
static int auth_rest(struct turn_srv *srv, const struct stun_msg *req,
		     struct turn_auth *a, const char *user)
{
	const struct turn_cfg *cfg = srv->cfg;
	uint64_t now = srv->clk.wall_s(srv->clk.arg);
	uint32_t skew = cfg->rest_skew ? cfg->rest_skew : REST_SKEW_DEFAULT;
	int err = auth_rest_check_time(user, a->ulen, auth_rest_sep(cfg), now,
				       cfg->rest_max_ttl, skew);
	if (err)
		return err; /* EINVAL: not a REST username at all */
	/* The key cached for this username (cleared on reload) is tried
	 * first; if it does not verify, derive from each secret again. */
	bool hit = auth_keycache_get(srv->keys, user, a->ulen, cfg->realm,
				     a->key256, a->key, &a->klen) == 0;
	if (hit && auth_verify_mi(srv, req, a) == 0)
		return auth_rest_accept(cfg, a, user);
	for (unsigned i = 0; i < cfg->nsecrets; i++) {
		char pass[AUTH_REST_PASS_LEN + 4];
		if (auth_rest_password_with(srv->mac, cfg->secrets[i],
					    strlen(cfg->secrets[i]), user,
					    a->ulen, pass, sizeof(pass)))
			continue;
		auth_key_from_pass(srv, a, user, cfg->realm, pass);
		explicit_bzero(pass, sizeof(pass));
		if (auth_verify_mi(srv, req, a) == 0) {
			auth_keycache_put(srv->keys, user, a->ulen, cfg->realm,
					  a->key256, a->key, a->klen);
			return auth_rest_accept(cfg, a, user);
		}
	}
	return EACCES;
}

static int auth_user_key(struct turn_srv *srv, const struct stun_msg *req,
			 struct turn_auth *a, const struct turn_user *u)
{
	/* A userdb user's SHA-256 key cannot be had without the password. */
	if (a->key256 && u->md5_only)
		return EACCES;
	memcpy(a->key, a->key256 ? u->key_sha256 : u->key_md5,
	       a->key256 ? 32 : 16);
	a->klen = a->key256 ? 32 : 16;
	a->userid_off = 0;
	a->userid_len = a->ulen;
	return auth_verify_mi(srv, req, a) ? EACCES : 0;
}

/* user= lines first, then the userdb (which may not repeat them). */
static int auth_static(struct turn_srv *srv, const struct stun_msg *req,
		       struct turn_auth *a, const char *user)
{
	for (unsigned i = 0; i < srv->cfg->nusers; i++)
		if (strcmp(srv->cfg->users[i].name, user) == 0)
			return auth_user_key(srv, req, a, &srv->cfg->users[i]);
	const struct turn_user *u = turn_users_find(srv->cfg->userdb, user);
	return u ? auth_user_key(srv, req, a, u) : ENOENT;
}

/* USERHASH (RFC 8489 14.4) names a static user without revealing it. */
static const char *auth_userhash(struct turn_srv *srv, const struct stun_attr *uh)
{
	if (uh->len != 32)
		return NULL;
	for (unsigned i = 0; i < srv->cfg->nusers; i++)
		if (auth_ct_equal(srv->cfg->users[i].userhash, uh->val, 32))
			return srv->cfg->users[i].name;
	const struct turn_user *u = turn_users_by_hash(srv->cfg->userdb, uh->val);
	return u ? u->name : NULL;
}

/* Copy USERNAME into a NUL-terminated buffer, or resolve USERHASH. */
static int auth_username(struct turn_srv *srv, const struct stun_msg *req,
			 char *out, size_t outsz)
{
	const struct stun_attr *u = stun_msg_attr(req, STUN_ATTR_USERNAME);
	if (u) {
		if (u->len == 0 || u->len >= outsz || memchr(u->val, 0, u->len))
			return EACCES;
		memcpy(out, u->val, u->len);
		out[u->len] = '\0';
		return 0;
	}
	const struct stun_attr *uh = stun_msg_attr(req, STUN_ATTR_USERHASH);
	const char *name = uh ? auth_userhash(srv, uh) : NULL;
	if (!name)
		return EACCES;
	size_t n = strnlen(name, outsz - 1);
	memcpy(out, name, n);
	out[n] = '\0';
	return 0;
}

static bool auth_realm_ok(const struct turn_srv *srv, const struct stun_msg *req)
{
	const struct stun_attr *r = stun_msg_attr(req, STUN_ATTR_REALM);
	size_t n = strlen(srv->cfg->realm);
	return r && r->len == n && memcmp(r->val, srv->cfg->realm, n) == 0;
}

/* The credential check itself: 401 for an unknown user, a wrong realm,
 * an expired REST username or a bad MESSAGE-INTEGRITY (9.2.4). The
 * failure's reason goes to the metrics only, never to the client. */
static int auth_credentials(struct turn_srv *srv, const struct stun_msg *req,
			    struct turn_auth *a, enum turn_auth_fail *why)
{
	*why = TURN_AF_WRONG_REALM;
	if (!auth_realm_ok(srv, req))
		return EACCES;
	*why = TURN_AF_UNKNOWN_USER;
	if (auth_username(srv, req, a->user, sizeof(a->user)) != 0)
		return EACCES;
	a->ulen = strlen(a->user);
	int err = auth_static(srv, req, a, a->user);
	if (err != ENOENT) {
		*why = TURN_AF_BAD_INTEGRITY;
		return err;
	}
	if (!srv->cfg->use_auth_secret)
		return EACCES;
	err = auth_rest(srv, req, a, a->user);
	*why = err == EKEYEXPIRED || err == ERANGE ? TURN_AF_REST_EXPIRED
	     : err == EINVAL ? TURN_AF_UNKNOWN_USER : TURN_AF_BAD_INTEGRITY;
	/* Valid, but minted for a user the API has blocked since, or for
	 * an account since disabled: EPERM, 403. */
	if (!err && turn_revoked_has(srv->revoked, a->user + a->userid_off,
				     a->userid_len)) {
		*why = TURN_AF_REVOKED;
		return EPERM;
	}
	return err;
}

int turn_auth_request(struct turn_srv *srv, const struct turn_src *src,
		      const struct stun_msg *req, struct turn_auth *a)
{
	memset(a, 0, sizeof(*a));
	if (req->mi < 0 && req->mi256 < 0) {
		auth_challenge(srv, src, req, 401);
		return EACCES;
	}
	const struct stun_attr *nonce = stun_msg_attr(req, STUN_ATTR_NONCE);
	bool has_user = stun_msg_attr(req, STUN_ATTR_USERNAME) ||
			stun_msg_attr(req, STUN_ATTR_USERHASH);
	if (!nonce || !has_user || !stun_msg_attr(req, STUN_ATTR_REALM) ||
	    auth_algorithm(req, a) != 0) {
		turn_stat_add(&srv->stats.auth_fail[TURN_AF_BAD_REQUEST], 1);
		turn_reply_error(srv, src, req, NULL, 400);
		return EBADMSG;
	}
	if (auth_nonce_check_with(&srv->cfg->nonce_key, srv->nmac, &src->client,
				  src->proto, nonce->val, nonce->len,
				  turn_now(srv) / 1000,
				  srv->cfg->nonce_lifetime) != 0) {
		turn_stat_add(&srv->stats.auth_fail[TURN_AF_STALE_NONCE], 1);
		auth_challenge(srv, src, req, 438);
		return EACCES;
	}
	enum turn_auth_fail why;
	int err = auth_credentials(srv, req, a, &why);
	if (err == EPERM) {
		/* RFC 8656 7.2: 403 for an administrative refusal. The
		 * credentials did verify, so the answer is signed (RFC 8489
		 * 9.2.4): a 401 would only make the client try them again. */
		turn_stat_add(&srv->stats.auth_fail[why], 1);
		turn_reply_error(srv, src, req, a, 403);
		return EPERM;
	}
	if (err) {
		turn_stat_add(&srv->stats.auth_fail[why], 1);
		auth_challenge(srv, src, req, 401);
		return EACCES;
	}
	return 0;
}
