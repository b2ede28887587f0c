/* From the parsed configuration to the read-only structures the workers
 * use: the turn_cfg (keys derived once, here) and the peer policy. */
#include <errno.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/server_int.h"
#include "stun/stun.h"
#include "util/bytes.h"
#include "util/cpus.h"
#include "util/log.h"
#include "util/rand.h"

static bool tcfg_is_loopback(const struct sa *a)
{
	const uint8_t *b = sa_addr_bytes(a);
	static const uint8_t v6lo[16] = {[15] = 1};
	return sa_af(a) == AF_INET ? b[0] == 127 : memcmp(b, v6lo, 16) == 0;
}

static int tcfg_self_relay(const struct config *c, struct peer_policy *p,
			   const struct sa *relay)
{
	int rc = 0;
	if (sa_af(relay) == 0 || sa_is_any(relay))
		return 0;
	/* --allow-loopback-peers already opens this host on loopback. */
	if (c->allow_loopback_peers && tcfg_is_loopback(relay))
		return 0;
	if (c->min_port > 0)
		rc = peer_policy_add_self_range(p, relay, 0,
						(uint16_t)(c->min_port - 1));
	if (!rc && c->max_port < 65535)
		rc = peer_policy_add_self_range(p, relay,
						(uint16_t)(c->max_port + 1), 65535);
	return rc;
}

/* A wildcard listening or relay address stands for every address of this
 * host: each gets the self entries its wildcard would have had (the
 * listening ports, and outside the relay range everything). Without this,
 * --listening-ip 0.0.0.0 left the host's own sshd or API reachable as a
 * peer through its public address. */
static int tcfg_self_host(const struct config *c, const struct net_listen_cfg *lc,
			  const struct turn_cfg *t, struct peer_policy *p,
			  FILE *err)
{
	bool self_any[2] = {sa_af(&t->relay4) && sa_is_any(&t->relay4),
			    sa_af(&t->relay6) && sa_is_any(&t->relay6)};
	for (unsigned i = 0; i < lc->naddrs; i++)
		if (sa_is_any(&lc->addrs[i]))
			self_any[sa_af(&lc->addrs[i]) == AF_INET6] = true;
	bool any = self_any[0] || self_any[1];
	if (!any)
		return 0;
	struct ifaddrs *ifs;
	if (getifaddrs(&ifs) != 0) {
		int e = errno;
		fprintf(err, "turnstone: a wildcard 'listening-ip' or 'relay-ip' "
			"needs this host's addresses, which cannot be listed: %s\n",
			strerror(e));
		return e;
	}
	int rc = 0;
	for (struct ifaddrs *f = ifs; f && !rc; f = f->ifa_next) {
		if (!f->ifa_addr || (f->ifa_addr->sa_family != AF_INET &&
				     f->ifa_addr->sa_family != AF_INET6))
			continue;
		struct sa host = {0};
		host.len = f->ifa_addr->sa_family == AF_INET ? sizeof(host.u.in)
							     : sizeof(host.u.in6);
		memcpy(&host.u, f->ifa_addr, host.len);
		for (unsigned i = 0; i < lc->naddrs && !rc; i++) {
			if (!sa_is_any(&lc->addrs[i]) ||
			    sa_af(&lc->addrs[i]) != sa_af(&host))
				continue;
			struct sa s = host;
			sa_set_port(&s, sa_port(&lc->addrs[i]));
			rc = peer_policy_add_self(p, &s);
		}
		if (!rc && self_any[sa_af(&host) == AF_INET6])
			rc = tcfg_self_relay(c, p, &host);
	}
	freeifaddrs(ifs);
	return rc;
}

static int tcfg_policy(const struct config *c, const struct net_listen_cfg *lc,
		       const struct turn_cfg *t, struct peer_policy **pp,
		       FILE *err)
{
	struct peer_policy *p;
	int rc = peer_policy_alloc(&p);
	if (rc)
		return rc;
	peer_policy_allow_loopback(p, c->allow_loopback_peers);
	for (unsigned i = 0; i < c->nallowed && !rc; i++)
		if ((rc = peer_policy_add(p, c->allowed_peers[i], true)))
			fprintf(err, "turnstone: invalid value for 'allowed-peer-ip': '%s'\n",
				c->allowed_peers[i]);
	for (unsigned i = 0; i < c->ndenied && !rc; i++)
		if ((rc = peer_policy_add(p, c->denied_peers[i], false)))
			fprintf(err, "turnstone: invalid value for 'denied-peer-ip': '%s'\n",
				c->denied_peers[i]);
	/* Our own sockets are never a peer (RFC 8656 21.3): the listening
	 * ports, and every port outside the relay range on the listening,
	 * relay and external addresses (sshd, the API, ...), whose traffic
	 * from the relay would arrive as local. Ports inside the range stay
	 * reachable: two clients relaying through the same server are each
	 * other's peers (relay/relay, the usual WebRTC case). */
	for (unsigned i = 0; i < lc->naddrs && !rc; i++) {
		rc = peer_policy_add_self(p, &lc->addrs[i]);
		if (!rc)
			rc = tcfg_self_relay(c, p, &lc->addrs[i]);
	}
	const struct sa *relays[] = {&t->relay4, &t->relay6, &t->ext4, &t->ext6};
	for (size_t i = 0; i < 4 && !rc; i++)
		rc = tcfg_self_relay(c, p, relays[i]);
	if (!rc)
		rc = tcfg_self_host(c, lc, t, p, err);
	if (rc) {
		peer_policy_free(p);
		return rc;
	}
	*pp = p;
	return 0;
}

/* Relay addresses: --relay-ip, else the listening address of the same
 * family, else none (440 for that family). */
static void tcfg_relays(const struct config *c, const struct net_listen_cfg *lc,
			struct turn_cfg *t)
{
	for (unsigned i = 0; i < c->nrelay; i++) {
		struct sa *dst = sa_af(&c->relay[i]) == AF_INET ? &t->relay4 : &t->relay6;
		if (sa_af(dst) == 0)
			*dst = c->relay[i];
	}
	for (unsigned i = 0; c->nrelay == 0 && i < lc->naddrs; i++) {
		struct sa *dst = sa_af(&lc->addrs[i]) == AF_INET ? &t->relay4 : &t->relay6;
		if (sa_af(dst) == 0)
			*dst = lc->addrs[i];
	}
	for (unsigned i = 0; i < c->nexternal; i++) {
		struct sa *dst = sa_af(&c->external[i]) == AF_INET ? &t->ext4 : &t->ext6;
		if (sa_af(dst) == 0)
			*dst = c->external[i];
	}
	if (sa_af(&t->relay4))
		sa_set_port(&t->relay4, 0);
	if (sa_af(&t->relay6))
		sa_set_port(&t->relay6, 0);
}

static int tcfg_users(const struct config *c, struct turn_cfg *t)
{
	for (unsigned i = 0; i < c->nusers; i++) {
		const struct cfg_user *u = &c->users[i];
		uint8_t md5[16];
		/* name:0x<MD5 key> (config_set.c checked the digits) */
		int err = strncmp(u->pass, "0x", 2) == 0 &&
				  bytes_from_hex(u->pass + 2, md5, 16) == 0
			  ? turn_user_set_md5(&t->users[i], u->name, md5, t->realm)
			  : turn_user_set(&t->users[i], u->name, u->pass, t->realm);
		explicit_bzero(md5, sizeof(md5));
		if (err)
			return err;
	}
	t->nusers = c->nusers;
	for (unsigned i = 0; i < c->nsecrets; i++)
		snprintf(t->secrets[i], sizeof(t->secrets[i]), "%s", c->secrets[i]);
	t->nsecrets = c->nsecrets;
	return 0;
}

unsigned server_nthreads(const struct config *c)
{
	unsigned n = c->relay_threads ? c->relay_threads : util_cpus_usable();
	return n > SERVER_MAX_WORKERS ? SERVER_MAX_WORKERS : n;
}

void server_listen_cfg(const struct config *c, struct net_listen_cfg *lc)
{
	memset(lc, 0, sizeof(*lc));
	for (unsigned i = 0; i < c->nlisten && i < NET_MAX_LISTEN; i++) {
		lc->addrs[lc->naddrs] = c->listen[i];
		sa_set_port(&lc->addrs[lc->naddrs++], c->port);
	}
	if (lc->naddrs == 0) /* safe default: loopback only */
		sa_set_str(&lc->addrs[lc->naddrs++], "127.0.0.1", c->port);
	lc->udp = !c->no_udp;
	lc->tcp = !c->no_tcp;
	unsigned primary = lc->naddrs;
	server_listen_tls(c, lc);
	/* alt-listening-port: every listening address on it too (RFC 5780
	 * 6: the same ports on both addresses). */
	for (unsigned i = 0; c->alt_port && i < primary && lc->naddrs < NET_MAX_LISTEN; i++) {
		lc->addrs[lc->naddrs] = lc->addrs[i];
		sa_set_port(&lc->addrs[lc->naddrs++], c->alt_port);
	}
	/* tcp-proxy-port (coturn's): every listening address on it, over
	 * TCP only, for a load balancer's PROXY-headed streams. */
	lc->proxy_port = c->tcp_proxy_port;
	lc->proxy_wait = net_proxy_wait_max(server_nthreads(c));
	for (unsigned i = 0; c->tcp_proxy_port && i < primary && lc->naddrs < NET_MAX_LISTEN; i++) {
		lc->addrs[lc->naddrs] = lc->addrs[i];
		sa_set_port(&lc->addrs[lc->naddrs++], c->tcp_proxy_port);
	}
	/* aux-server (coturn's): an address and port of its own, serving
	 * what every listener serves (no RFC 5780 pair on it). */
	for (unsigned i = 0; i < c->naux && lc->naddrs < NET_MAX_LISTEN; i++)
		lc->addrs[lc->naddrs++] = c->aux_servers[i];
}

/* RFC 5780's pairs: per family the first two specific listening
 * addresses (config.c checked one family has them), and the ports. */
static void tcfg_r5780(const struct config *c, struct turn_cfg *t)
{
	unsigned n[2] = {0, 0};
	if (!c->alt_port)
		return;
	for (unsigned i = 0; i < c->nlisten; i++) {
		int fam = sa_af(&c->listen[i]) == AF_INET6 ? 1 : 0;
		if (sa_is_any(&c->listen[i]) || n[fam] == 2)
			continue;
		t->r5780_ip[fam][n[fam]] = c->listen[i];
		sa_set_port(&t->r5780_ip[fam][n[fam]++], 0);
	}
	for (int fam = 0; fam < 2; fam++)
		if (n[fam] < 2) /* a lone address has no other to answer from */
			memset(t->r5780_ip[fam], 0, sizeof(t->r5780_ip[fam]));
	t->r5780_port[0] = c->port;
	t->r5780_port[1] = c->alt_port;
}

bool server_listen_equal(const struct net_listen_cfg *a,
			 const struct net_listen_cfg *b)
{
	if (a->naddrs != b->naddrs || a->udp != b->udp || a->tcp != b->tcp ||
	    a->tls != b->tls || a->dtls != b->dtls || a->proxy_port != b->proxy_port)
		return false;
	for (unsigned i = 0; i < a->naddrs; i++)
		if (!sa_eq(&a->addrs[i], &b->addrs[i]))
			return false;
	return true;
}

/* One line per listening address with what it serves, after what ("now"
 * on a reload). A tcp-proxy-port address serves TCP only, a PROXY header
 * first (TLS may follow it). */
void server_listen_log(const struct net_listen_cfg *lc, const char *when)
{
	char a[SA_STRLEN], all[32] = "";
	const char *names[4] = {"udp", "tcp", "tls", "dtls"};
	bool on[4] = {lc->udp, lc->tcp, lc->tls, lc->dtls};
	size_t n = 0;
	for (int k = 0; k < 4; k++)
		if (on[k])
			n += (size_t)snprintf(all + n, sizeof(all) - n, "%s%s",
					      n ? "," : "", names[k]);
	for (unsigned i = 0; i < lc->naddrs; i++) {
		bool proxy = lc->proxy_port && sa_port(&lc->addrs[i]) == lc->proxy_port;
		log_info("%slistening on %s (%s)", when,
			 sa_fmt(&lc->addrs[i], a, sizeof(a)),
			 proxy ? "tcp, PROXY header first" : all);
	}
}

/* tcp-proxy-trusted, or where a balancer in front of this server
 * usually connects from when none is named: this host (loopback), the
 * RFC 1918 private ranges, RFC 6598 shared address space (carrier and
 * some cloud networks) and IPv6 unique local addresses (RFC 4193). A
 * balancer with a public source address must be named. Filled in
 * without tcp-proxy-port too: a reload that adds the port may reach a
 * worker's listeners before its turn_cfg, and an empty list would then
 * refuse every balancer. */
static const char *const tcfg_proxy_dflt[] = {
	"127.0.0.0/8", "::1", "10.0.0.0/8", "172.16.0.0/12",
	"192.168.0.0/16", "100.64.0.0/10", "fc00::/7",
};

#define TCFG_PROXY_DFLT_N (sizeof(tcfg_proxy_dflt) / sizeof(tcfg_proxy_dflt[0]))
_Static_assert(CFG_MAX_PROXY_TRUSTED <= TURN_MAX_PROXY_TRUSTED &&
	       TCFG_PROXY_DFLT_N <= TURN_MAX_PROXY_TRUSTED,
	       "turn_cfg holds every tcp-proxy-trusted entry");

static int tcfg_proxy_trusted(const struct config *c, struct turn_cfg *t,
			      FILE *err)
{
	bool given = c->nproxy_trusted > 0;
	unsigned n = given ? c->nproxy_trusted : TCFG_PROXY_DFLT_N;
	for (unsigned i = 0; i < n && i < TURN_MAX_PROXY_TRUSTED; i++) {
		const char *s = given ? c->proxy_trusted[i] : tcfg_proxy_dflt[i];
		if (cidr_parse(s, &t->proxy_trusted[t->nproxy_trusted++]) != 0) {
			fprintf(err, "turnstone: invalid value for "
				"'tcp-proxy-trusted': '%s'\n", s);
			return EINVAL;
		}
	}
	return 0;
}

/* -A (config_validate checked the value) and -K, its old spelling. */
static void tcfg_modes(const struct config *c, struct turn_cfg *t)
{
	t->no_udp_relay = c->no_udp_relay;
	t->stun_only = c->stun_only;
	t->no_stun = c->no_stun;
	t->secure_stun = c->secure_stun;
	t->default_family = TURN_DEFAULT_IPV4;
	if (c->keep_address_family || strcmp(c->alloc_family, "keep") == 0)
		t->default_family = TURN_DEFAULT_KEEP;
	else if (strcmp(c->alloc_family, "ipv6") == 0)
		t->default_family = TURN_DEFAULT_IPV6;
}

int server_tcfg_build(const struct config *c, const struct net_listen_cfg *lc,
		      struct server_tcfg **outp, FILE *err)
{
	struct server_tcfg *o = calloc(1, sizeof(*o));
	if (!o)
		return ENOMEM;
	struct turn_cfg *t = &o->tcfg;
	snprintf(t->realm, sizeof(t->realm), "%s", c->realm);
	/* coturn's software-attribute sends its own name; software-name
	 * chooses the text. */
	snprintf(t->software, sizeof(t->software), "%s",
		 c->software[0] || !c->software_attr ? c->software : "turnstone");
	t->use_auth_secret = c->use_auth_secret;
	t->rest_max_ttl = c->rest_max_ttl;
	t->rest_sep = c->rest_sep[0];
	t->rest_skew = 60;
	t->max_lifetime = c->max_allocate_lifetime;
	t->default_lifetime = c->max_allocate_lifetime < 600 ? c->max_allocate_lifetime : 600;
	t->perm_lifetime = c->permission_lifetime;
	t->chan_lifetime = c->channel_lifetime;
	t->nonce_lifetime = c->nonce_lifetime;
	t->user_quota = c->user_quota;
	t->total_quota = c->total_quota;
	t->max_perms = c->max_perms;
	t->max_chans = c->max_chans;
	t->max_bps = c->max_bps;
	t->bps_capacity = c->bps_capacity;
	t->no_tcp_relay = c->no_tcp_relay;
	t->log_binding = c->log_binding;
	t->tcp_unauth_per_ip = c->max_unauth_tcp;
	t->tcp_write_timeout = c->tcp_write_timeout;
	t->max_channel = c->legacy_channels ? STUN_CHANNEL_MAX_5766 : STUN_CHANNEL_MAX;
	tcfg_relays(c, lc, t);
	tcfg_modes(c, t);
	tcfg_r5780(c, t);
	for (unsigned i = 0; i < c->nalt && i < TURN_MAX_ALT; i++)
		t->alt[t->nalt++] = c->alt_servers[i];
	snprintf(t->alt_domain, sizeof(t->alt_domain), "%s", c->alt_domain);
	for (unsigned i = 0; i < c->ntls_alt && i < TURN_MAX_ALT; i++)
		t->tls_alt[t->ntls_alt++] = c->tls_alt_servers[i];
	int rc = rand_bytes(t->nonce_key.key, sizeof(t->nonce_key.key));
	if (!rc)
		rc = tcfg_users(c, t);
	if (!rc)
		rc = tcfg_proxy_trusted(c, t, err);
	if (!rc)
		rc = tcfg_policy(c, lc, t, &o->policy, err);
	if (!rc && c->userdb[0]) {
		rc = server_userdb_load(c, t, &o->userdb, o->policy, err);
		t->userdb = rc ? NULL : &o->userdb;
	}
	/* As config.c's check: only where TURN authenticates (a STUN-only
	 * server without secure-stun does not). */
	bool auth = !c->no_turn && !(c->stun_only && !c->secure_stun);
	if (!rc && auth && c->use_auth_secret && t->nsecrets == 0) {
		fprintf(err, "turnstone: 'use-auth-secret' needs at least one "
			"'static-auth-secret' or a shared secret in 'userdb' "
			"(turnadmin -s)\n");
		rc = EINVAL;
	}
	if (rc) {
		server_tcfg_free(o);
		return rc;
	}
	t->policy = o->policy;
	*outp = o;
	return 0;
}

void server_tcfg_free(struct server_tcfg *o)
{
	if (!o)
		return;
	peer_policy_free(o->policy);
	turn_users_free(&o->userdb);
	/* The secrets and keys were in this block; wipe before freeing. */
	explicit_bzero(o, sizeof(*o));
	free(o);
}
