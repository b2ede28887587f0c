/* The TLS part of the configuration: where TLS and DTLS listen, and the
 * contexts built from the certificate files. Built on start, on
 * --check-config and on every reload, so a bad file is caught before
 * anything is swapped. */
#include <errno.h>
#include <stdio.h>

#include "server/server_int.h"

bool server_tls_on(const struct config *c)
{
	return c->cert[0] && !(c->no_tls && c->no_dtls);
}

/* Every listening IP gets both ports: none may be left without TLS while
 * the API advertises turns: on it. */
_Static_assert(NET_MAX_LISTEN >= 4 * CFG_MAX_ADDRS + CFG_MAX_AUX,
	       "the listening set must hold every listening-ip on its four "
	       "ports (listening, TLS, alt, tcp-proxy) and every aux-server");

/* The TLS port joins the listening set; every listener then serves
 * whatever is on (net_listen_cfg), so 443 can carry all of it. */
void server_listen_tls(const struct config *c, struct net_listen_cfg *lc)
{
	if (!server_tls_on(c))
		return;
	lc->tls = !c->no_tls;
	lc->dtls = !c->no_dtls;
	if (c->tls_port == c->port)
		return;
	unsigned n = lc->naddrs;
	for (unsigned i = 0; i < n && lc->naddrs < NET_MAX_LISTEN; i++) {
		lc->addrs[lc->naddrs] = lc->addrs[i];
		sa_set_port(&lc->addrs[lc->naddrs++], c->tls_port);
	}
}

int server_tls_build(const struct config *c, struct net_tls **tp, FILE *err)
{
	*tp = NULL;
	if (!server_tls_on(c))
		return 0;
	struct net_tls_cfg tc = {.cert = c->cert, .pkey = c->pkey,
				 .ca_file = c->ca_file, .cipher_list = c->cipher_list,
				 .tls13_only = c->no_tlsv1_2, .dh_file = c->dh_file,
				 .groups = c->ec_curve, .pkey_pwd = c->pkey_pwd};
	char why[512];
	int rc = net_tls_new(tp, &tc, why, sizeof(why));
	if (rc)
		fprintf(err, "turnstone: invalid value for %s\n", why);
	return rc;
}
