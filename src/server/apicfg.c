/* The API's configuration, built from the daemon's: where it listens,
 * which TURN servers it hands out (the daemon's own listeners unless
 * api-turn-server lists a fleet) and with which secret it mints their
 * credentials. Every error names the key; secrets are never echoed. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "auth/jwt.h"
#include "server/server_int.h"
#include "store/store.h"
#include "turn/turn.h"

/* The TURN side must accept every username the API mints: up to 20 digits
 * of expiry, ':', an account name, ':', a JWT sub, and a NUL (the two
 * maxima below count their NULs). */
_Static_assert(20 + 1 + STORE_NAME_MAX + 1 + JWT_SUB_MAX <= TURN_MAX_USERNAME + 1,
	       "TURN_MAX_USERNAME is too small for API-minted usernames");

static int apicfg_err(FILE *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int apicfg_err(FILE *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("turnstone: ", err);
	vfprintf(err, fmt, ap);
	fputc('\n', err);
	va_end(ap);
	return EINVAL;
}

/* The token is the file's first line. It must arrive whole in an
 * Authorization header: a longer one would be cut to fit out, a NUL would
 * end it early, and a space at either end is trimmed off the header
 * (RFC 9110 5.5), so any of them would make the admin API refuse the
 * very token in the file. Refused here instead, naming the key. */
static bool apicfg_token_char_ok(unsigned char c)
{
	return c > ' ' && c != 0x7f;
}

static int apicfg_token(const char *path, char *out, size_t sz, FILE *err)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return apicfg_err(err, "cannot read 'api-admin-token-file' %s", path);
	size_t n = fread(out, 1, sz - 1, f);
	int next = n == sz - 1 ? fgetc(f) : EOF;
	fclose(f);
	out[n] = '\0';
	size_t len = 0;
	while (len < n && out[len] != '\r' && out[len] != '\n')
		len++;
	bool cut = len == n && next != EOF && next != '\r' && next != '\n';
	bool bad = false;
	for (size_t i = 0; i < len; i++)
		bad |= !apicfg_token_char_ok((unsigned char)out[i]);
	out[len] = '\0';
	if (cut)
		return apicfg_err(err, "'api-admin-token-file' %s: the token must be "
			       "at most %zu characters", path, sz - 1);
	if (bad)
		return apicfg_err(err, "'api-admin-token-file' %s: the token must "
			       "have no spaces or control characters", path);
	if (len < 16)
		return apicfg_err(err, "'api-admin-token-file' %s: the token must be "
			       "at least 16 characters", path);
	return 0;
}

static bool apicfg_has_ep(const struct api_cfg *a, const char *ip,
			  uint16_t port, const char *tr)
{
	for (unsigned i = 0; i < a->nendpoints; i++)
		if (strcmp(a->endpoints[i].ip, ip) == 0 &&
		    a->endpoints[i].port == port &&
		    strcmp(a->endpoints[i].transport, tr) == 0)
			return true;
	return false;
}

/* One /v1/ip-ranges entry, once: the new one, or NULL. */
static struct api_endpoint *apicfg_add_ep(struct api_cfg *a, const char *ip,
					  uint16_t port, const char *tr)
{
	if (apicfg_has_ep(a, ip, port, tr) || a->nendpoints == API_ENDPOINTS_MAX ||
	    strlen(ip) >= sizeof(a->endpoints[0].ip))
		return NULL;
	struct api_endpoint *e = &a->endpoints[a->nendpoints++];
	memcpy(e->ip, ip, strlen(ip) + 1); /* length checked above */
	e->port = port;
	snprintf(e->transport, sizeof(e->transport), "%s", tr);
	return e;
}

static int apicfg_add_url(struct api_platform *p, struct api_cfg *a,
			  const char *url, FILE *err)
{
	char host[STORE_URL_MAX];
	uint16_t port;
	enum api_transport t;
	if (strlen(url) >= STORE_URL_MAX || p->nurls == STORE_URLS_MAX ||
	    api_url_parse(url, host, sizeof(host), &port, &t) != 0) {
		/* A secret after a comma instead of a space lands here: show
		 * only what has a URL's scheme. */
		bool shown = strncmp(url, "stun:", 5) == 0 ||
			     strncmp(url, "turn:", 5) == 0 ||
			     strncmp(url, "turns:", 6) == 0 ||
			     strstr(url, "://") != NULL;
		return apicfg_err(err, "invalid URL '%s' in 'api-turn-server' "
			       "(at most 4 stun:/turn:/turns: URLs, then a space "
			       "and the secret)", shown ? url : "(not shown)");
	}
	snprintf(p->urls[p->nurls++], STORE_URL_MAX, "%s", url);
	/* stun: and turn: on one UDP port make one entry. */
	apicfg_add_ep(a, host, port,
		      t == API_T_UDP ? "udp" : t == API_T_TCP ? "tcp" : "tls");
	return 0;
}

/* "URL[,URL...] [SECRET]" */
static int apicfg_server(const struct config *c, const char *spec,
			 struct api_cfg *a, FILE *err)
{
	char buf[sizeof(c->api_servers[0])], *save = NULL;
	struct api_platform *p = &a->platform[a->nplatform++];
	snprintf(buf, sizeof(buf), "%s", spec);
	char *urls = strtok_r(buf, " \t", &save), *secret = strtok_r(NULL, " \t", &save);
	if (strtok_r(NULL, " \t", &save))
		return apicfg_err(err, "%s", "'api-turn-server' takes URLs and at "
			       "most one secret");
	const char *sec = secret ? secret : c->nsecrets ? c->secrets[0] : NULL;
	if (!sec || strlen(sec) >= sizeof(p->secret))
		return apicfg_err(err, "%s", "'api-turn-server' needs a secret, "
			       "or 'static-auth-secret' to share");
	snprintf(p->secret, sizeof(p->secret), "%s", sec);
	for (char *u = strtok_r(urls, ",", &save); u; u = strtok_r(NULL, ",", &save))
		if (apicfg_add_url(p, a, u, err))
			return EINVAL;
	return 0;
}

static bool apicfg_is_aux(const struct config *c, const struct sa *s)
{
	for (unsigned k = 0; k < c->naux; k++)
		if (sa_eq(s, &c->aux_servers[k]))
			return true;
	return false;
}

/* At most 8 advertised IPs on 4 ports (listening, TLS, alt,
 * tcp-proxy) and 8 aux-servers, each over UDP and TCP. */
_Static_assert(API_ENDPOINTS_MAX >= 2 * NET_MAX_LISTEN,
	       "an ip-ranges entry per listening socket");

/* Every socket the daemon listens on, for firewall rules, including
 * those no URL names: the TLS port's UDP (DTLS), alt-listening-port
 * (RFC 5780 section 6), tcp-proxy-port and aux-server. As
 * src/net/listen.c opens them: UDP on each address but
 * tcp-proxy-port's, TCP on each when TCP or TLS is on and on
 * tcp-proxy-port's, which is marked: only the load balancer should
 * reach it, as anyone who can may name any client. Each listening
 * address has each port (server_listen_cfg), so every advertised IP
 * gets every port but an aux-server's: that has its own address, which
 * external-ip does not replace. A port a turns: URL named is "tls"
 * already. */
static void apicfg_listeners(const struct config *c,
			     const struct net_listen_cfg *lc,
			     char (*ips)[SA_STRLEN], unsigned nips,
			     struct api_cfg *a)
{
	for (unsigned i = 0; i < lc->naddrs; i++) {
		const struct sa *s = &lc->addrs[i];
		uint16_t port = sa_port(s);
		bool proxy = lc->proxy_port && port == lc->proxy_port;
		bool udp = (lc->udp || lc->dtls) && !proxy;
		bool tcp = lc->tcp || lc->tls || proxy;
		bool aux = apicfg_is_aux(c, s);
		char own[SA_STRLEN];
		for (unsigned k = 0; k < (aux ? 1 : nips); k++) {
			const char *ip = aux ? sa_fmt_ip(s, own, sizeof(own)) : ips[k];
			if (udp)
				apicfg_add_ep(a, ip, port, "udp");
			struct api_endpoint *e = NULL;
			if (tcp && !apicfg_has_ep(a, ip, port, "tls"))
				e = apicfg_add_ep(a, ip, port, "tcp");
			if (e)
				e->proxy = proxy;
		}
	}
}

/* The daemon's own listeners, by their public address when one is set. */
static int apicfg_self(const struct config *c, const struct net_listen_cfg *lc,
		       struct api_cfg *a, FILE *err)
{
	if (!c->use_auth_secret || !c->nsecrets)
		return apicfg_err(err, "%s", "'api-listening-port' needs "
			       "'static-auth-secret' to mint TURN credentials");
	/* lc->addrs holds each listening address once per port: the first
	 * c->nlisten (or the one default) are the plain port's. */
	unsigned base = c->nlisten ? c->nlisten : 1;
	unsigned n = c->nexternal ? c->nexternal : (base < lc->naddrs ? base : lc->naddrs);
	char ips[API_PLATFORM_MAX][SA_STRLEN];
	unsigned nips = 0;
	for (unsigned i = 0; i < n && a->nplatform < API_PLATFORM_MAX; i++) {
		const struct sa *s = c->nexternal ? &c->external[i] : &lc->addrs[i];
		char *ip = ips[nips++], host[SA_STRLEN + 2], url[STORE_URL_MAX];
		sa_fmt_ip(s, ip, SA_STRLEN);
		if (strcmp(ip, "0.0.0.0") == 0 || strcmp(ip, "::") == 0)
			return apicfg_err(err, "%s", "'api-listening-port' with a "
				       "wildcard 'listening-ip' needs 'external-ip' to "
				       "advertise");
		snprintf(host, sizeof(host), sa_af(s) == AF_INET6 ? "[%s]" : "%s", ip);
		struct api_platform *p = &a->platform[a->nplatform++];
		snprintf(p->secret, sizeof(p->secret), "%s", c->secrets[0]);
		/* Only what this node answers: no-stun drops Binding, stun-only
		 * every TURN request (a browser would wait on them for nothing),
		 * and a browser sends stun: over UDP alone. */
		if (!c->no_stun && lc->udp) {
			snprintf(url, sizeof(url), "stun:%s:%u", host, c->port);
			apicfg_add_url(p, a, url, err);
		}
		if (c->stun_only)
			continue;
		if (lc->udp) {
			snprintf(url, sizeof(url), "turn:%s:%u?transport=udp", host, c->port);
			apicfg_add_url(p, a, url, err);
		}
		if (lc->tcp) {
			snprintf(url, sizeof(url), "turn:%s:%u?transport=tcp", host, c->port);
			apicfg_add_url(p, a, url, err);
		}
		/* Browsers check the certificate against this host: an IP here
		 * needs an IP SAN; list DNS names with 'api-turn-server'. */
		if (lc->tls) {
			snprintf(url, sizeof(url), "turns:%s:%u?transport=tcp", host,
				 c->tls_port);
			apicfg_add_url(p, a, url, err);
		}
	}
	apicfg_listeners(c, lc, ips, nips, a);
	return 0;
}

int server_api_cfg(const struct config *c, const struct net_listen_cfg *lc,
		   struct api_cfg *a, FILE *err)
{
	struct sa s;
	/* Every field is set below from the daemon's configuration, whose
	 * defaults (config_defaults) are the only ones. */
	memset(a, 0, sizeof(*a));
	if (sa_set_str(&s, c->api_ip, c->api_port) != 0)
		return apicfg_err(err, "invalid value for 'api-listening-ip': %s",
				  c->api_ip);
	snprintf(a->listen_ip, sizeof(a->listen_ip), "%s", c->api_ip);
	a->port = c->api_port;
	a->listen_fd = -1;
	snprintf(a->db_path, sizeof(a->db_path), "%s", c->db);
	snprintf(a->audience, sizeof(a->audience), "%s", c->api_audience);
	a->threads = c->api_threads;
	a->ip_rate = c->api_rate;
	a->ip_burst = c->api_burst;
	a->conns_per_ip = c->api_conns_per_ip;
	a->header_timeout_s = c->api_header_timeout;
	a->body_timeout_s = c->api_body_timeout;
	a->max_token_life = c->api_max_token_life;
	a->health_interval_ms = c->api_health_interval * 1000;
	a->health_failures = c->api_health_failures;
	a->relay_min = c->min_port;
	a->relay_max = c->max_port;
	a->max_ttl = c->rest_max_ttl;
	a->rest_sep = c->rest_sep[0];
	if (c->api_admin_token_file[0] &&
	    apicfg_token(c->api_admin_token_file, a->admin_token,
			 sizeof(a->admin_token), err))
		return EINVAL;
	for (unsigned i = 0; i < c->napi_servers; i++)
		if (apicfg_server(c, c->api_servers[i], a, err))
			return EINVAL;
	if (server_api_tls(c, a, err))
		return EINVAL;
	for (unsigned i = 0; i < c->napi_proxies && i < API_PROXIES_MAX; i++)
		if (cidr_parse(c->api_proxies[i], &a->proxies[a->nproxies++]))
			return apicfg_err(err, "invalid value for 'api-trusted-proxy': "
					  "'%s' (an address or address/bits)",
					  c->api_proxies[i]);
	return c->napi_servers ? 0 : apicfg_self(c, lc, a, err);
}
