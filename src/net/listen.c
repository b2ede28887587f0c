/* A worker's listening sockets, and changing them on reload.
 *
 * On reload an address that stays keeps its sockets (and so its clients:
 * nothing is rebound). A removed TCP listener is closed; the connections
 * it accepted carry on. A removed UDP listener stops receiving, but its
 * struct stays until the worker ends, because UDP allocations and DTLS
 * sessions made through it hold it as their send handle: their sends
 * then fail quietly and they expire. New addresses are bound here, in the
 * worker, with SO_REUSEPORT like the first ones; the daemon checked they
 * are free before asking (net_listen_check). */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/net_int.h"
#include "util/log.h"

static bool lc_has(const struct net_listen_cfg *lc, const struct sa *a)
{
	for (unsigned i = 0; i < lc->naddrs; i++)
		if (sa_eq(&lc->addrs[i], a))
			return true;
	return false;
}

/* A tcp-proxy-port address: TCP only, PROXY header first. */
static bool lc_proxy(const struct net_listen_cfg *lc, const struct sa *a)
{
	return lc->proxy_port && sa_port(a) == lc->proxy_port;
}

static int listen_add(struct net_worker *w, const struct sa *a, bool udp,
		      bool tcp, bool proxy)
{
	int err = 0;
	if (udp && !proxy && w->nudp < NET_MAX_LISTEN) {
		err = net_udp_open(w, a, &w->udp[w->nudp]);
		if (!err)
			w->nudp++;
	}
	if (!err && (tcp || proxy) && w->ntcp < NET_MAX_LISTEN) {
		err = net_tcp_listen(w, a, proxy, &w->tcp[w->ntcp]);
		if (!err)
			w->ntcp++;
	}
	return err;
}

int net_listen_open(struct net_worker *w, const struct net_listen_cfg *lc)
{
	w->pend_max = lc->proxy_wait;
	for (unsigned i = 0; i < lc->naddrs; i++) {
		int err = listen_add(w, &lc->addrs[i], lc->udp || lc->dtls,
				     lc->tcp || lc->tls, lc_proxy(lc, &lc->addrs[i]));
		if (err)
			return err;
	}
	return 0;
}

static void udp_retire(struct net_worker *w, unsigned i)
{
	struct net_udp *u = w->udp[i];
	net_udp_flush(u);
	loop_close(w->loop, &u->lf);
	u->rnext = w->retired;
	w->retired = u;
	w->udp[i] = w->udp[--w->nudp];
}

void net_listen_change(struct net_worker *w, const struct net_listen_cfg *lc)
{
	bool udp = lc->udp || lc->dtls, tcp = lc->tcp || lc->tls;
	for (unsigned i = w->nudp; i-- > 0;)
		if (!udp || !lc_has(lc, &w->udp[i]->local) ||
		    lc_proxy(lc, &w->udp[i]->local))
			udp_retire(w, i);
	for (unsigned i = w->ntcp; i-- > 0;) {
		const struct sa *a = &w->tcp[i]->local;
		bool proxy = lc_proxy(lc, a);
		if ((tcp || proxy) && lc_has(lc, a) && w->tcp[i]->proxy == proxy)
			continue;
		net_tcp_listener_close(w->tcp[i]);
		w->tcp[i] = w->tcp[--w->ntcp];
	}
	w->plain_udp = lc->udp;
	w->plain_tcp = lc->tcp;
	w->tls_on = lc->tls;
	w->dtls_on = lc->dtls;
	w->pend_max = lc->proxy_wait; /* the next stream brings it down to it */
	if (w->dtls_on && net_dtls_init(w) != 0)
		log_err("worker %u: DTLS setup failed", w->id);
	for (unsigned i = 0; i < lc->naddrs; i++) {
		const struct sa *a = &lc->addrs[i];
		bool have_u = false, have_t = false;
		for (unsigned k = 0; k < w->nudp; k++)
			have_u |= sa_eq(&w->udp[k]->local, a);
		for (unsigned k = 0; k < w->ntcp; k++)
			have_t |= sa_eq(&w->tcp[k]->local, a);
		bool proxy = lc_proxy(lc, a);
		int err = listen_add(w, a, udp && !have_u, (tcp || proxy) && !have_t,
				     proxy);
		if (err) {
			char s[SA_STRLEN];
			log_err("worker %u: cannot listen on %s: %s", w->id,
				sa_fmt(a, s, sizeof(s)), strerror(err));
		}
	}
}

void net_listen_fini(struct net_worker *w)
{
	while (w->retired) {
		struct net_udp *u = w->retired;
		w->retired = u->rnext;
		free(u);
	}
}

/* Bind each new address once, without SO_REUSEPORT, to learn before
 * anything changes whether another program holds it. */
int net_listen_check(const struct net_listen_cfg *old,
		     const struct net_listen_cfg *lc, char *why, size_t whylen)
{
	for (unsigned i = 0; i < lc->naddrs; i++) {
		const struct sa *a = &lc->addrs[i];
		if (lc_has(old, a))
			continue;
		bool proxy = lc_proxy(lc, a);
		int types[2] = {(lc->udp || lc->dtls) && !proxy ? SOCK_DGRAM : 0,
				lc->tcp || lc->tls || proxy ? SOCK_STREAM : 0};
		for (int k = 0; k < 2; k++) {
			if (!types[k])
				continue;
			int fd = net_socket_bind(types[k], a, false);
			if (fd < 0) {
				char s[SA_STRLEN];
				snprintf(why, whylen, "cannot listen on %s (%s): %s",
					 sa_fmt(a, s, sizeof(s)), k ? "tcp" : "udp",
					 strerror(-fd));
				return -fd;
			}
			close(fd);
		}
	}
	return 0;
}
