/* Configuration: defaults, the command line and cross-field checks. The
 * option table lives in config_opts.c, value parsing in config_set.c and
 * the file reader in config_file.c. */
#include <errno.h>
#include <string.h>

#include "api/api.h"
#include "auth/auth.h"
#include "server/config_int.h"
#include "server/httpget.h"
#include "util/cidr.h"

void config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	c->port = 3478;
	c->tls_port = 5349;
	c->min_port = 49152;
	c->max_port = 65535;
	strcpy(c->realm, "turnstone");
	c->lt_cred_mech = true;
	c->rest_max_ttl = 86400;
	c->rest_sep[0] = AUTH_REST_SEP;
	c->user_quota = 10;
	c->total_quota = 10000;
	c->max_allocate_lifetime = 3600;
	c->channel_lifetime = 600;
	c->permission_lifetime = 300;
	c->nonce_lifetime = 600;
	c->relay_threads = 0;
	strcpy(c->api_ip, "127.0.0.1");
	strcpy(c->api_audience, "turnstone");
	c->api_health_interval = 10;
	c->api_health_failures = 3;
	c->api_rate = 1000;
	c->api_burst = 2000;
	c->api_conns_per_ip = API_CONNS_PER_IP;
	c->api_header_timeout = API_HEADER_TIMEOUT;
	c->api_body_timeout = API_BODY_TIMEOUT;
	c->api_max_token_life = 86400;
	c->revoked_interval = 5;
	c->max_perms = 64;
	c->max_chans = 64;
	c->max_unauth_tcp = 64;
	c->tcp_write_timeout = 30;
	c->prometheus_port = 9641;
	strcpy(c->prometheus_ip, "127.0.0.1");
	c->drain_timeout = 3600;
	strcpy(c->log_format, "text");
}

/* true if s looks like a number, so "--stale-nonce 300" takes it while
 * "--stale-nonce --verbose" does not. */
static bool cfg_is_digits(const char *s)
{
	return *s && strspn(s, "0123456789") == strlen(s);
}

/* Take the value for an option that was given without "=value". */
static int cfg_arg_value(const struct cfg_opt *o, const char *shown, int argc,
			 char **argv, int *i, const char **val,
			 const struct cfg_src *src)
{
	*val = NULL;
	if (o->kind == CFG_UNSUP)
		return 0;
	if (config_opt_needs_value(o)) {
		if (*i + 1 >= argc) {
			config_err(src, "option '%s' needs a value", shown);
			return EINVAL;
		}
		*val = argv[++*i];
	} else if ((o->flags & CFG_F_OPTVAL) && *i + 1 < argc &&
		   cfg_is_digits(argv[*i + 1])) {
		*val = argv[++*i];
	}
	return 0;
}

static int cfg_arg_long(struct config *c, int argc, char **argv, int *i,
			const struct cfg_src *src)
{
	const char *arg = argv[*i];
	char name[64];
	const char *eq = strchr(arg + 2, '=');
	size_t n = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
	const struct cfg_opt *o = NULL;
	if (n < sizeof(name)) {
		memcpy(name, arg + 2, n);
		name[n] = '\0';
		o = config_opt_find(name);
	}
	if (!o) {
		char shown[CFG_SHOWN_MAX];
		config_err(src, "unknown option '--%s'",
			   config_shown(shown, arg + 2, n));
		return EINVAL;
	}
	const char *val = eq ? eq + 1 : NULL;
	if (!eq && cfg_arg_value(o, arg, argc, argv, i, &val, src))
		return EINVAL;
	if (o->kind == CFG_UNSUP) {
		config_err(src, "unsupported option '--%s'", name);
		return EINVAL;
	}
	return config_opt_apply(c, o, o->name, val, src);
}

/* coturn short options: "-p 3478" or "-p3478"; flags stand alone. */
static int cfg_arg_short(struct config *c, int argc, char **argv, int *i,
			 const struct cfg_src *src)
{
	const char *arg = argv[*i];
	const struct cfg_opt *o = config_opt_find_short(arg[1]);
	if (!o) {
		char shown[CFG_SHOWN_MAX];
		config_err(src, "unknown option '%s'",
			   config_shown(shown, arg, SIZE_MAX));
		return EINVAL;
	}
	if (o->kind == CFG_UNSUP) {
		config_err(src, "unsupported option '-%c' (coturn --%s)", arg[1],
			   o->name);
		return EINVAL;
	}
	char shown[3] = {'-', arg[1], '\0'};
	const char *key = o->name ? o->name : shown;
	const char *val = NULL;
	if (arg[2] && !config_opt_needs_value(o)) {
		config_err(src, "option '%s' takes no value", shown);
		return EINVAL;
	}
	if (arg[2])
		val = arg + 2;
	else if (cfg_arg_value(o, shown, argc, argv, i, &val, src))
		return EINVAL;
	return config_opt_apply(c, o, key, val, src);
}

/* argv[0] is the command word ("serve"), as for getopt. */
int config_parse_args(struct config *c, int argc, char **argv, FILE *err)
{
	struct cfg_src src = {.err = err};
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		int r;
		if (arg[0] == '-' && arg[1] == '-' && arg[2])
			r = cfg_arg_long(c, argc, argv, &i, &src);
		else if (arg[0] == '-' && arg[1] && arg[1] != '-')
			r = cfg_arg_short(c, argc, argv, &i, &src);
		else {
			char shown[CFG_SHOWN_MAX];
			config_err(&src, "unexpected argument '%s'",
				   config_shown(shown, arg, SIZE_MAX));
			r = EINVAL;
		}
		if (r)
			return EINVAL;
	}
	return 0;
}

static int cfg_check(bool ok, FILE *err, const char *msg)
{
	if (!ok && err)
		fprintf(err, "turnstone: %s\n", msg);
	return ok ? 0 : EINVAL;
}

/* Limits that the table also enforces, checked again because a struct
 * config may be built by code rather than parsed. */
static int cfg_check_counts(const struct config *c, FILE *err)
{
	int r = 0;
	r |= cfg_check(c->nlisten <= CFG_MAX_ADDRS, err,
		       "too many 'listening-ip' entries");
	r |= cfg_check(c->nrelay <= CFG_MAX_ADDRS, err,
		       "too many 'relay-ip' entries");
	r |= cfg_check(c->nexternal <= CFG_MAX_ADDRS, err,
		       "too many 'external-ip' entries");
	r |= cfg_check(c->nsecrets <= CFG_MAX_SECRETS, err,
		       "too many 'static-auth-secret' entries");
	r |= cfg_check(c->nusers <= CFG_MAX_USERS, err,
		       "too many 'user' entries");
	r |= cfg_check(c->nallowed <= CFG_MAX_RANGES, err,
		       "too many 'allowed-peer-ip' entries");
	r |= cfg_check(c->ndenied <= CFG_MAX_RANGES, err,
		       "too many 'denied-peer-ip' entries");
	r |= cfg_check(c->nproxy_trusted <= CFG_MAX_PROXY_TRUSTED, err,
		       "too many 'tcp-proxy-trusted' entries");
	r |= cfg_check(c->relay_threads <= 64, err,
		       "'relay-threads' must be at most 64");
	return r ? EINVAL : 0;
}

/* alt-listening-port (RFC 5780 6): two addresses of one family that
 * the server can send from on both ports. */
static int cfg_check_r5780(const struct config *c, FILE *err)
{
	if (!c->alt_port)
		return 0;
	unsigned n4 = 0, n6 = 0;
	for (unsigned i = 0; i < c->nlisten; i++) {
		if (sa_is_any(&c->listen[i]))
			continue;
		n4 += sa_af(&c->listen[i]) == AF_INET;
		n6 += sa_af(&c->listen[i]) == AF_INET6;
	}
	int r = 0;
	r |= cfg_check(!c->no_rfc5780, err, "'alt-listening-port' and "
		       "'no-rfc5780' contradict each other");
	r |= cfg_check(n4 >= 2 || n6 >= 2, err, "'alt-listening-port' needs two "
		       "'listening-ip' addresses of one family (not a wildcard): "
		       "RFC 5780 answers from the other address");
	r |= cfg_check(c->alt_port != c->port, err, "'alt-listening-port' must "
		       "differ from 'listening-port'");
	r |= cfg_check(c->alt_port != c->tls_port || !c->cert[0], err,
		       "'alt-listening-port' must differ from 'tls-listening-port'");
	return r;
}

/* aux-server: an address and port no other listener has (a second
 * socket on the same one would only split its traffic). */
static int cfg_check_aux(const struct config *c, FILE *err)
{
	int r = 0;
	/* No listening-ip: the listener is server_listen_cfg's default. */
	struct sa dflt;
	sa_set_str(&dflt, "127.0.0.1", 0);
	const struct sa *ls = c->nlisten ? c->listen : &dflt;
	unsigned nl = c->nlisten ? c->nlisten : 1;
	for (unsigned i = 0; i < c->naux; i++) {
		const struct sa *a = &c->aux_servers[i];
		bool dup = sa_port(a) == 0;
		for (unsigned j = 0; j < nl && !dup; j++)
			dup = sa_eq_addr(a, &ls[j]) &&
			      (sa_port(a) == c->port || sa_port(a) == c->alt_port ||
			       (c->cert[0] && sa_port(a) == c->tls_port) ||
			       (c->tcp_proxy_port && sa_port(a) == c->tcp_proxy_port));
		for (unsigned j = 0; j < i && !dup; j++)
			dup = sa_eq(a, &c->aux_servers[j]);
		r |= cfg_check(!dup, err, "'aux-server' must name an address and "
			       "port no other listener has (and a port other than 0)");
		/* The net layer tells a tcp-proxy-port listener by its port
		 * (listen.c lc_proxy): an aux-server there, on any address,
		 * would take PROXY-headed TCP only. */
		r |= cfg_check(!c->tcp_proxy_port || sa_port(a) != c->tcp_proxy_port,
			       err, "'aux-server' must not use the port of "
			       "'tcp-proxy-port'");
	}
	return r;
}

/* tcp-proxy-trusted: addresses or networks, and only with the port
 * whose PROXY headers they may send. */
static int cfg_check_proxy(const struct config *c, FILE *err)
{
	int r = cfg_check(!c->nproxy_trusted || c->tcp_proxy_port, err,
			  "'tcp-proxy-trusted' needs 'tcp-proxy-port' (the "
			  "port the balancers it names connect to)");
	for (unsigned i = 0; i < c->nproxy_trusted && i < CFG_MAX_PROXY_TRUSTED; i++) {
		struct cidr n;
		if (cidr_parse(c->proxy_trusted[i], &n) == 0)
			continue;
		if (err)
			fprintf(err, "turnstone: invalid value for 'tcp-proxy-trusted': "
				"'%s' (an address or address/bits)\n",
				c->proxy_trusted[i]);
		r = EINVAL;
	}
	return r;
}

static int cfg_check_ports(const struct config *c, FILE *err)
{
	int r = 0;
	r |= cfg_check(c->port != 0, err, "'listening-port' must not be 0");
	r |= cfg_check(c->min_port != 0, err, "'min-port' must not be 0");
	r |= cfg_check(c->min_port <= c->max_port, err,
		       "'min-port' must not be greater than 'max-port'");
	bool tls = c->cert[0] && !(c->no_tls && c->no_dtls);
	r |= cfg_check(!(c->no_udp && c->no_tcp) || tls, err,
		       "'no-udp' and 'no-tcp' together leave no listener");
	r |= cfg_check(!c->cert[0] == !c->pkey[0], err, c->cert[0]
		       ? "'cert' needs 'pkey' (the certificate's private key)"
		       : "'pkey' needs 'cert' (the certificate chain)");
	r |= cfg_check(c->cert[0] || !c->ca_file[0], err,
		       "'CA-file' needs 'cert' and 'pkey'");
	r |= cfg_check(c->cert[0] || !(c->dh_file[0] || c->ec_curve[0] ||
				       c->pkey_pwd[0]), err,
		       "'dh-file', 'ec-curve-name' and 'pkey-pwd' need 'cert' and 'pkey'");
	r |= cfg_check(c->tls_port != 0, err, "'tls-listening-port' must not be 0");
	r |= cfg_check_r5780(c, err);
	r |= cfg_check_aux(c, err);
	r |= cfg_check_proxy(c, err);
	r |= cfg_check(!c->tcp_proxy_port || (c->tcp_proxy_port != c->port &&
					      c->tcp_proxy_port != c->alt_port &&
					      (c->tcp_proxy_port != c->tls_port || !c->cert[0])),
		       err, "'tcp-proxy-port' must differ from the other listening ports");
	return r ? EINVAL : 0;
}

static int cfg_check_creds(const struct config *c, FILE *err)
{
	int r = 0;
	r |= cfg_check(c->lt_cred_mech, err,
		       "'lt-cred-mech' cannot be turned off: turnstone always "
		       "requires long-term credentials");
	r |= cfg_check(c->realm[0] != '\0', err, "'realm' must not be empty");
	/* Also on an API-only node: it mints the platform's usernames. */
	r |= cfg_check(strlen(c->rest_sep) == 1 && auth_rest_sep_ok(c->rest_sep[0]),
		       err, "'rest-api-separator' must be one printable "
			    "character other than a digit");
	/* A STUN-only server authenticates nothing, unless secure-stun. */
	if (c->no_turn || (c->stun_only && !c->secure_stun))
		return r ? EINVAL : 0;
	/* With a userdb, its rows are only known when it is read
	 * (server_userdb_load checks them then). */
	if (c->use_auth_secret)
		r |= cfg_check(c->nsecrets > 0 || c->userdb[0], err,
			       "'use-auth-secret' needs at least one "
			       "'static-auth-secret'");
	else
		r |= cfg_check(c->nusers > 0 || c->userdb[0], err,
			       "no credentials: give 'user=name:password', "
			       "'userdb' or 'use-auth-secret' with "
			       "'static-auth-secret'");
	r |= cfg_check(c->rest_max_ttl > 0, err, "'rest-max-ttl' must be > 0");
	return r ? EINVAL : 0;
}

static int cfg_check_lifetimes(const struct config *c, FILE *err)
{
	int r = 0;
	r |= cfg_check(c->max_allocate_lifetime > 0, err,
		       "'max-allocate-lifetime' must be > 0");
	r |= cfg_check(c->channel_lifetime > 0 && c->channel_lifetime <= 3600,
		       err, "'channel-lifetime' must be 1..3600");
	r |= cfg_check(c->permission_lifetime > 0 &&
			       c->permission_lifetime <= 3600,
		       err, "'permission-lifetime' must be 1..3600");
	r |= cfg_check(c->nonce_lifetime > 0 && c->nonce_lifetime <= 600, err,
		       "'stale-nonce' must be 1..600");
	/* Allocations reserve max-bps out of the capacity (coturn); with no
	 * max-bps there is nothing to reserve and the cap would do nothing. */
	r |= cfg_check(!c->bps_capacity || c->max_bps, err,
		       "'bps-capacity' needs 'max-bps' (each allocation "
		       "reserves max-bps out of it)");
	return r ? EINVAL : 0;
}

static int cfg_check_api(const struct config *c, FILE *err)
{
	int r = 0;
	if (c->api_port) {
		r |= cfg_check(c->db[0] != '\0', err,
			       "'api-listening-port' needs 'db' (the SQLite "
			       "account store)");
		r |= cfg_check(c->no_turn || c->api_port != c->port, err,
			       "'api-listening-port' must differ from "
			       "'listening-port'");
	}
	r |= cfg_check(!c->api_cert[0] == !c->api_pkey[0], err,
		       "'api-cert' and 'api-pkey' go together (HTTPS for the API)");
	/* api-cert (as every api-* option) without api-listening-port:
	 * config_check_needs. */
	r |= cfg_check(!c->db[0] || c->api_port, err,
		       "'db' is the ICE-servers API's account store and needs "
		       "'api-listening-port' (for coturn's SQLite user "
		       "database use 'userdb')");
	if (c->no_turn) {
		r |= cfg_check(c->api_port != 0, err,
			       "'no-turn' needs 'api-listening-port': the node "
			       "would do nothing");
		r |= cfg_check(c->napi_servers > 0, err,
			       "'no-turn' needs 'api-turn-server' entries to "
			       "hand out");
	}
	return r ? EINVAL : 0;
}

/* A DNS name (RFC 1035 2.3.4): letters, digits, '-' and '.', labels of
 * 1..63 bytes. It names the certificate a redirected TLS client checks. */
static bool cfg_is_domain(const char *s)
{
	size_t label = 0;
	if (!*s || *s == '.' || strlen(s) > 253 ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		      "0123456789-.") != strlen(s))
		return false;
	for (; *s; s++) {
		label = *s == '.' ? 0 : label + 1;
		if (label > 63 || (*s == '.' && (s[1] == '.' || s[1] == '\0')))
			return false;
	}
	return true;
}

static int cfg_check_service(const struct config *c, FILE *err)
{
	int r = 0;
	r |= cfg_check(c->nalt <= CFG_MAX_ALT, err,
		       "too many 'alternate-server' entries");
	r |= cfg_check(c->ntls_alt <= CFG_MAX_ALT, err,
		       "too many 'tls-alternate-server' entries");
	/* RFC 8489 10: a TLS/DTLS client is redirected only with the name
	 * to check the alternate's certificate against. */
	r |= cfg_check(!c->ntls_alt || c->alt_domain[0], err,
		       "'tls-alternate-server' needs 'alternate-domain' (RFC "
		       "8489 10: TLS and DTLS clients are redirected with "
		       "ALTERNATE-DOMAIN)");
	r |= cfg_check(!c->alt_domain[0] || cfg_is_domain(c->alt_domain), err,
		       "'alternate-domain' must be a DNS name");
	r |= cfg_check(strcmp(c->log_format, "text") == 0 ||
			       strcmp(c->log_format, "json") == 0,
		       err, "'log-format' must be 'text' or 'json'");
	r |= cfg_check(!c->syslog_facility[0] || c->syslog, err,
		       "'syslog-facility' needs 'syslog' (coturn would ignore "
		       "it and log elsewhere)");
	r |= cfg_check(!c->no_stdout_log || c->log_file[0] || c->syslog, err,
		       "'no-stdout-log' needs 'log-file' (a file) or 'syslog': "
		       "there would be nowhere to log");
	/* coturn would pick a log file itself; we do not invent one. */
	r |= cfg_check(!c->daemon || c->log_file[0] || c->syslog, err,
		       "'daemon' needs 'log-file' or 'syslog': in the background "
		       "there is no terminal to log to");
	/* Its stdout is /dev/null once it runs: the records would be lost. */
	r |= cfg_check(!c->daemon || strcmp(c->usage_log, "-") != 0, err,
		       "'usage-log=-' (stdout) cannot go with 'daemon': its "
		       "stdout is /dev/null; give a file");
	return r ? EINVAL : 0;
}

/* Whether this server will have an IPv6 relay address: a 'relay-ip', or
 * without any, a 'listening-ip' (server/tcfg.c picks them the same way). */
static bool cfg_has_relay6(const struct config *c)
{
	const struct sa *a = c->nrelay ? c->relay : c->listen;
	unsigned n = c->nrelay ? c->nrelay : c->nlisten;
	for (unsigned i = 0; i < n && i < CFG_MAX_ADDRS; i++)
		if (sa_af(&a[i]) == AF_INET6)
			return true;
	return false;
}

/* coturn's STUN/TURN modes and relay family: combinations that would
 * leave nothing to serve, or an option that could do nothing, are
 * errors naming both keys (coturn refuses only the relay pair). */
static int cfg_check_modes(const struct config *c, FILE *err)
{
	static const char *const fams[] = {"", "ipv4", "ipv6", "keep"};
	bool fam_ok = false;
	for (size_t i = 0; i < sizeof(fams) / sizeof(fams[0]); i++)
		fam_ok |= strcmp(c->alloc_family, fams[i]) == 0;
	int r = 0;
	if (!fam_ok && err)
		fprintf(err, "turnstone: invalid value for "
			"'allocation-default-address-family': '%s' (allowed: "
			"ipv4, ipv6, keep)\n", c->alloc_family);
	r |= fam_ok ? 0 : EINVAL;
	r |= cfg_check(!c->keep_address_family || !fam_ok || !c->alloc_family[0] ||
			       strcmp(c->alloc_family, "keep") == 0, err,
		       "'keep-address-family' contradicts "
		       "'allocation-default-address-family' (-K is -A keep)");
	/* Every Allocate without a family would get 440. */
	r |= cfg_check(strcmp(c->alloc_family, "ipv6") != 0 || c->stun_only ||
			       c->no_turn || cfg_has_relay6(c), err,
		       "'allocation-default-address-family=ipv6' needs an IPv6 "
		       "'relay-ip' (or, without relay-ip, 'listening-ip')");
	r |= cfg_check(!(c->stun_only && c->no_stun), err,
		       "'stun-only' and 'no-stun' together leave nothing to serve");
	r |= cfg_check(!(c->secure_stun && c->no_stun), err,
		       "'secure-stun' does nothing with 'no-stun' (Binding "
		       "requests are not answered at all)");
	r |= cfg_check(!(c->stun_only && c->no_turn), err,
		       "'stun-only' needs the STUN listeners that 'no-turn' "
		       "turns off");
	r |= cfg_check(!(c->no_udp_relay && c->no_tcp_relay), err,
		       "'no-udp-relay' and 'no-tcp-relay' together leave no "
		       "relay (use 'stun-only' for a STUN server)");
	return r ? EINVAL : 0;
}

/* revoked-from: a TURN node of a fleet learns the API's blocked users
 * (revsync.c). It signs its requests with its REST secret, and a daemon
 * with its own API gets them from that instead. */
static int cfg_check_revoked(const struct config *c, FILE *err)
{
	struct httpget_url u;
	int r = 0;
	if (!c->revoked_from[0]) {
		r |= cfg_check(!c->revoked_ca_file[0], err,
			       "'revoked-ca-file' needs 'revoked-from'");
		return r;
	}
	if (httpget_url_parse(c->revoked_from, &u) != 0) {
		if (err)
			fprintf(err, "turnstone: invalid value for 'revoked-from': "
				"'%s' (an http:// or https:// URL)\n",
				c->revoked_from);
		return EINVAL;
	}
	r |= cfg_check(c->use_auth_secret && c->nsecrets > 0, err,
		       "'revoked-from' needs 'use-auth-secret' and a "
		       "'static-auth-secret' (its requests are signed with it)");
	r |= cfg_check(!c->api_port, err,
		       "'revoked-from' and 'api-listening-port' do not go "
		       "together: this daemon's own API gives its TURN side "
		       "the blocked users");
	r |= cfg_check(!c->no_turn, err, "'revoked-from' with 'no-turn': "
		       "there is no TURN side to tell");
	r |= cfg_check(!c->revoked_ca_file[0] || u.tls, err,
		       "'revoked-ca-file' needs an https:// 'revoked-from'");
	return r;
}

int config_validate(const struct config *c, FILE *err)
{
	int r = 0;
	r |= cfg_check_revoked(c, err);
	r |= config_check_needs(c, err);
	r |= cfg_check_modes(c, err);
	r |= cfg_check_service(c, err);
	r |= cfg_check_api(c, err);
	r |= cfg_check_counts(c, err);
	r |= cfg_check_ports(c, err);
	r |= cfg_check_creds(c, err);
	r |= cfg_check_lifetimes(c, err);
	return r ? EINVAL : 0;
}
