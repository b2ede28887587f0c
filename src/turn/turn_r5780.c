/* NAT behaviour discovery (RFC 5780 6), on when alt-listening-port pairs
 * every listening port P1 with P2 and two listening addresses A1, A2 of
 * a family: a Binding answered on one of them carries OTHER-ADDRESS (the
 * other address and port), RESPONSE-ORIGIN and MAPPED-ADDRESS, and
 * CHANGE-REQUEST makes the answer leave from the other address and/or
 * port (Table 1), which is what tells a client how its NAT filters. */
#include "turn/turn_int.h"
#include "util/bytes.h"

#define CHANGE_IP 0x4   /* flag A, RFC 5780 7.2 */
#define CHANGE_PORT 0x2 /* flag B */

/* Ca:Cp for a request that came in on local (Da:Dp); false when local is
 * not one of the pairs. */
static bool r5780_other(const struct turn_cfg *c, const struct sa *local,
			struct sa *other)
{
	if (!c->r5780_port[0])
		return false; /* off: the usual case, decided at once */
	int fam = sa_af(local) == AF_INET6 ? 1 : 0;
	const struct sa *ip = c->r5780_ip[fam];
	uint16_t dp = sa_port(local);
	int k = sa_af(&ip[0]) && sa_eq_addr(local, &ip[0])   ? 0
		: sa_af(&ip[1]) && sa_eq_addr(local, &ip[1]) ? 1 : -1;
	int j = dp == c->r5780_port[0] ? 0 : dp == c->r5780_port[1] ? 1 : -1;
	if (k < 0 || j < 0)
		return false;
	*other = ip[1 - k];
	sa_set_port(other, c->r5780_port[1 - j]);
	return true;
}

/* 420 naming CHANGE-REQUEST: this server, address or transport has no
 * alternate to answer from (RFC 5780 6; 5 says clients expect this). */
static void r5780_refuse(struct turn_srv *srv, const struct turn_src *src,
			 const struct stun_msg *req, const struct turn_auth *auth)
{
	static const uint16_t cr[] = {STUN_ATTR_CHANGE_REQUEST};
	struct turn_resp r;
	turn_resp_init(&r, srv, req, STUN_CLASS_ERROR, auth);
	stun_enc_error(&r.enc, 420, NULL);
	stun_enc_unknown(&r.enc, cr, 1);
	turn_resp_send(srv, src, &r);
}

/* Where the answer leaves from: src itself, or the listener on the
 * changed address and/or port. false: a change was asked on a transport
 * whose answer cannot leave from elsewhere (a stream, a DTLS session). */
static bool r5780_from(struct turn_srv *srv, const struct turn_src *src,
		       const struct sa *other, uint32_t flags, struct turn_src *from)
{
	*from = *src;
	if (!(flags & (CHANGE_IP | CHANGE_PORT)))
		return true;
	if (src->proto != TURN_PROTO_UDP || src->secure || !srv->io.udp_conn)
		return false;
	if (flags & CHANGE_IP) {
		from->local = *other;
		sa_set_port(&from->local, sa_port(&src->local));
	}
	if (flags & CHANGE_PORT)
		sa_set_port(&from->local, sa_port(other));
	from->conn = srv->io.udp_conn(srv->io.arg, &from->local);
	return from->conn != NULL;
}

bool turn_r5780_binding(struct turn_srv *srv, const struct turn_src *src,
			const struct stun_msg *req, const struct turn_auth *auth)
{
	const struct stun_attr *cr = stun_msg_attr(req, STUN_ATTR_CHANGE_REQUEST);
	struct sa other;
	if (!r5780_other(srv->cfg, &src->local, &other)) {
		if (cr)
			r5780_refuse(srv, src, req, auth);
		return cr != NULL;
	}
	if (cr && cr->len != 4) {
		turn_reply_error(srv, src, req, auth, 400);
		return true;
	}
	struct turn_src from;
	if (!r5780_from(srv, src, &other, cr ? get_be32(cr->val) : 0, &from)) {
		r5780_refuse(srv, src, req, auth);
		return true;
	}
	struct turn_resp r;
	turn_resp_init(&r, srv, req, STUN_CLASS_SUCCESS, auth);
	stun_enc_xaddr(&r.enc, STUN_ATTR_XOR_MAPPED_ADDRESS, &src->client);
	stun_enc_addr(&r.enc, STUN_ATTR_MAPPED_ADDRESS, &src->client);
	stun_enc_addr(&r.enc, STUN_ATTR_RESPONSE_ORIGIN, &from.local);
	stun_enc_addr(&r.enc, STUN_ATTR_OTHER_ADDRESS, &other);
	turn_resp_send(srv, &from, &r);
	return true;
}
