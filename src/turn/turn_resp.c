/* Building and sending responses. A response is signed with the same key
 * and algorithm as the request it answers, and carries FINGERPRINT only if
 * the request did, so a minimal request draws a minimal response (the
 * server should be no amplifier, RFC 8489 16.1.2). */
#include <string.h>

#include "turn/turn_int.h"

void turn_resp_init(struct turn_resp *r, struct turn_srv *srv,
		    const struct stun_msg *req, uint8_t cls,
		    const struct turn_auth *auth)
{
	stun_enc_init(&r->enc, srv->scratch, sizeof(srv->scratch), req->method,
		      cls, req->tid);
	r->enc.mac = srv->mac;
	r->req = req;
	r->auth = auth;
	if (srv->cfg->software[0])
		stun_enc_str(&r->enc, STUN_ATTR_SOFTWARE, srv->cfg->software);
}

void turn_client_send(struct turn_srv *srv, const struct turn_src *src,
		      const uint8_t *buf, size_t len)
{
	struct iovec iov = {.iov_base = (void *)(uintptr_t)buf, .iov_len = len};
	srv->io.client_send(srv->io.arg, src->conn, &src->client, &iov, 1);
}

void turn_resp_send(struct turn_srv *srv, const struct turn_src *src,
		    struct turn_resp *r)
{
	if (r->auth && r->auth->sha256)
		stun_enc_mi256(&r->enc, r->auth->key, r->auth->klen);
	else if (r->auth)
		stun_enc_mi(&r->enc, r->auth->key, r->auth->klen);
	if (r->req->fp >= 0)
		stun_enc_fingerprint(&r->enc);
	size_t len;
	if (stun_enc_finish(&r->enc, &len) != 0)
		return;
	turn_client_send(srv, src, r->enc.buf, len);
}

void turn_reply_error(struct turn_srv *srv, const struct turn_src *src,
		      const struct stun_msg *req, const struct turn_auth *auth,
		      int code)
{
	struct turn_resp r;
	turn_resp_init(&r, srv, req, STUN_CLASS_ERROR, auth);
	stun_enc_error(&r.enc, code, NULL);
	turn_resp_send(srv, src, &r);
}
