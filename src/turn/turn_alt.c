/* Try Alternate (RFC 8489 section 10, RFC 8656 7.2): a new Allocate that
 * authenticated is answered with 300 and ALTERNATE-SERVER (14.15), and
 * over TLS or DTLS with ALTERNATE-DOMAIN (14.16) too. The response is
 * signed like any other, so a client can trust the redirect. Alternates
 * are taken round robin per worker; retransmits of an Allocate that
 * already succeeded never get here. */
#include "turn/turn_int.h"

/* One list of alternates and its round-robin positions (per family). */
struct alt_list {
	const struct sa *sa;
	unsigned n;
	unsigned *next;
};

/* The alternates for this client: a TLS/DTLS client gets the
 * --tls-alternate-server list when there is one. */
static struct alt_list alt_list_for(struct turn_srv *srv,
				    const struct turn_src *src)
{
	const struct turn_cfg *c = srv->cfg;
	if (src->secure && c->ntls_alt)
		return (struct alt_list){c->tls_alt, c->ntls_alt, srv->tls_alt_next};
	return (struct alt_list){c->alt, c->nalt, srv->alt_next};
}

/* The next alternate of family af, round robin, or NULL if none. */
static const struct sa *alt_pick(const struct alt_list *l, int af)
{
	unsigned *next = &l->next[af == AF_INET6];
	for (unsigned i = 0; i < l->n; i++) {
		unsigned k = (*next + i) % l->n;
		if (sa_af(&l->sa[k]) == af) {
			*next = k + 1;
			return &l->sa[k];
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
	struct alt_list l = alt_list_for(srv, src);
	const struct sa *same = alt_pick(&l, af);
	if (!same)
		return false;
	const struct sa *other = alt_pick(&l, af == AF_INET ? AF_INET6 : AF_INET);
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
