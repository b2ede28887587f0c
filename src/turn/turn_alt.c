/* Try Alternate (RFC 8489 section 10, RFC 8656 7.2): a new Allocate that
 * authenticated is answered with 300 and ALTERNATE-SERVER (14.15), and
 * over TLS or DTLS with ALTERNATE-DOMAIN (14.16) too. The response is
 * signed like any other, so a client can trust the redirect. Alternates
 * are taken round robin per worker; retransmits of an Allocate that
 * already succeeded never get here. */
#include "turn/turn_int.h"

/* The next alternate of family af, round robin, or NULL if none. */
static const struct sa *alt_pick(struct turn_srv *srv, int af)
{
	const struct turn_cfg *c = srv->cfg;
	unsigned *next = &srv->alt_next[af == AF_INET6];
	for (unsigned i = 0; i < c->nalt; i++) {
		unsigned k = (*next + i) % c->nalt;
		if (sa_af(&c->alt[k]) == af) {
			*next = k + 1;
			return &c->alt[k];
		}
	}
	return NULL;
}

bool turn_alt_redirect(struct turn_srv *srv, const struct turn_src *src,
		       const struct stun_msg *req, const struct turn_auth *auth)
{
	const struct turn_cfg *c = srv->cfg;
	/* 10: a TLS/DTLS client must be told the name to check the new
	 * server's certificate against; without one it is served here. */
	if (c->nalt == 0 || (src->secure && !c->alt_domain[0]))
		return false;
	/* 10: the first ALTERNATE-SERVER has the request's family; one of
	 * the other family, if there is one, follows. */
	int af = sa_af(&src->client);
	const struct sa *same = alt_pick(srv, af);
	if (!same)
		return false;
	const struct sa *other = alt_pick(srv, af == AF_INET ? AF_INET6 : AF_INET);
	struct turn_resp r;
	turn_resp_init(&r, srv, req, STUN_CLASS_ERROR, auth);
	stun_enc_error(&r.enc, 300, NULL);
	stun_enc_addr(&r.enc, STUN_ATTR_ALTERNATE_SERVER, same);
	if (other)
		stun_enc_addr(&r.enc, STUN_ATTR_ALTERNATE_SERVER, other);
	if (src->secure)
		stun_enc_str(&r.enc, STUN_ATTR_ALTERNATE_DOMAIN, c->alt_domain);
	turn_resp_send(srv, src, &r);
	return true;
}
