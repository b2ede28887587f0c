/* The option table: one row per option, shared by the command line and
 * the config file. Names follow coturn; options coturn has and we do not
 * are listed too, so they fail with "unsupported" rather than "unknown". */
#include <string.h>

#include "server/config_int.h"

#define FSZ(f) sizeof(((struct config *)0)->f)
#define FLD(f) .off = offsetof(struct config, f), .size = FSZ(f)
#define LST(f, n)                                                        \
	.off = offsetof(struct config, f), .noff = offsetof(struct config, n), \
	.size = FSZ(f[0]), .cap = FSZ(f) / FSZ(f[0])

#define FLAG(nm, s, f) {.name = nm, .sname = s, .kind = CFG_FLAG, FLD(f)}
#define NOOP(nm, s) {.name = nm, .sname = s, .kind = CFG_NOOP}
#define STR(nm, s, f, minlen)                                            \
	{.name = nm, .sname = s, .kind = CFG_STR, FLD(f), .min = minlen}
#define NUM(nm, s, f, lo, hi)                                            \
	{.name = nm, .sname = s, .kind = CFG_NUM, FLD(f), .min = lo, .max = hi}
/* coturn lets these be given bare, meaning their default. */
#define NUMOPT(nm, f, lo, hi, d)                                         \
	{.name = nm, .kind = CFG_NUM, .flags = CFG_F_OPTVAL, FLD(f),       \
	 .min = lo, .max = hi, .dflt = d}
#define UNSUP(nm, s) {.name = nm, .sname = s, .kind = CFG_UNSUP}
#define UNSUPV(nm, s)                                                    \
	{.name = nm, .sname = s, .kind = CFG_UNSUP, .flags = CFG_F_ARG}

static const struct cfg_opt cfg_opts[] = {
	/* addresses and ports */
	{.name = "listening-ip", .sname = 'L', .kind = CFG_IP,
	 LST(listen, nlisten)},
	NUM("listening-port", 'p', port, 1, 65535),
	{.name = "relay-ip", .sname = 'E', .kind = CFG_IP, LST(relay, nrelay)},
	{.name = "external-ip", .sname = 'X', .kind = CFG_EXTIP,
	 LST(external, nexternal)},
	NUM("min-port", 0, min_port, 1, 65535),
	NUM("max-port", 0, max_port, 1, 65535),
	FLAG("no-udp", 0, no_udp),
	FLAG("no-tcp", 0, no_tcp),

	/* TLS and DTLS */
	NUM("tls-listening-port", 0, tls_port, 1, 65535),
	STR("cert", 0, cert, 1),
	STR("pkey", 0, pkey, 1),
	STR("CA-file", 0, ca_file, 1),
	STR("ca-file", 0, ca_file, 1), /* the same, in the usual case */
	STR("cipher-list", 0, cipher_list, 1),
	FLAG("no-tls", 0, no_tls),
	FLAG("no-dtls", 0, no_dtls),
	FLAG("no-tlsv1_2", 0, no_tlsv1_2),

	/* credentials */
	STR("realm", 'r', realm, 1),
	FLAG("use-auth-secret", 0, use_auth_secret),
	{.name = "static-auth-secret", .kind = CFG_SECRET,
	 .flags = CFG_F_SECRET, LST(secrets, nsecrets)},
	{.name = "user", .sname = 'u', .kind = CFG_USER, .flags = CFG_F_SECRET,
	 LST(users, nusers)},
	FLAG("lt-cred-mech", 'a', lt_cred_mech),
	NUM("rest-max-ttl", 0, rest_max_ttl, 1, 31536000),
	STR("rest-api-separator", 'C', rest_sep, 1),

	/* peer policy */
	{.name = "allowed-peer-ip", .kind = CFG_RANGE, .flags = CFG_F_ALLOW,
	 LST(allowed_peers, nallowed)},
	{.name = "denied-peer-ip", .kind = CFG_RANGE,
	 LST(denied_peers, ndenied)},
	FLAG("allow-loopback-peers", 0, allow_loopback_peers),
	{.name = "no-loopback-peers", .kind = CFG_FLAG, .flags = CFG_F_NEG,
	 FLD(allow_loopback_peers)},

	/* limits and lifetimes; 0 quota means unlimited, as in coturn */
	NUM("user-quota", 'q', user_quota, 0, UINT32_MAX),
	NUM("total-quota", 'Q', total_quota, 0, UINT32_MAX),
	NUMOPT("max-allocate-lifetime", max_allocate_lifetime, 1, 86400, 3600),
	NUMOPT("channel-lifetime", channel_lifetime, 1, 3600, 600),
	NUMOPT("permission-lifetime", permission_lifetime, 1, 3600, 300),
	NUMOPT("stale-nonce", nonce_lifetime, 1, 600, 600),
	NUM("max-bps", 's', max_bps, 0, UINT32_MAX),
	NUM("bps-capacity", 'B', bps_capacity, 0, UINT32_MAX),
	NUM("max-permissions", 0, max_perms, 1, 65535),
	NUM("max-channels", 0, max_chans, 1, 4096),
	NUM("max-unauth-tcp-per-ip", 0, max_unauth_tcp, 0, 1000000),
	NUM("tcp-write-timeout", 0, tcp_write_timeout, 0, 3600),

	/* accounting and metrics */
	STR("usage-log", 0, usage_log, 1),
	FLAG("prometheus", 0, prometheus),
	NUM("prometheus-port", 0, prometheus_port, 1, 65535),
	{.name = "prometheus-address", .kind = CFG_STR, .flags = CFG_F_IPADDR,
	 FLD(prometheus_ip), .min = 1},

	/* process */
	NUM("relay-threads", 'm', relay_threads, 0, 64),
	STR("pidfile", 0, pidfile, 1),
	FLAG("daemon", 'o', daemon),
	{.name = "log-file", .sname = 'l', .kind = CFG_STR,
	 .flags = CFG_F_LOGFILE, FLD(log_file), .min = 1},
	FLAG("verbose", 'v', verbose),
	FLAG("Verbose", 'V', verbose), /* we have one debug level */
	STR("software-name", 0, software, 0),
	FLAG("software-attribute", 0, software_attr),
	FLAG("check-config", 0, check_config),
	FLAG("legacy-channel-range", 0, legacy_channels),

	/* ICE-servers REST API */
	NUM("api-listening-port", 0, api_port, 1, 65535),
	STR("api-listening-ip", 0, api_ip, 1),
	STR("db", 0, db, 1),
	STR("revoked-from", 0, revoked_from, 1),
	NUM("revoked-interval", 0, revoked_interval, 1, 3600),
	STR("revoked-ca-file", 0, revoked_ca_file, 1),
	FLAG("no-turn", 0, no_turn),
	STR("api-admin-token-file", 0, api_admin_token_file, 1),
	STR("api-cert", 0, api_cert, 1),
	STR("api-pkey", 0, api_pkey, 1),
	{.name = "api-trusted-proxy", .kind = CFG_STRL,
	 LST(api_proxies, napi_proxies)},
	STR("api-audience", 0, api_audience, 1),
	{.name = "api-turn-server", .kind = CFG_STRL, .flags = CFG_F_SECRET,
	 LST(api_servers, napi_servers)},
	NUM("api-health-interval", 0, api_health_interval, 0, 3600),
	NUM("api-health-failures", 0, api_health_failures, 1, 100),
	NUM("api-rate", 0, api_rate, 0, 1000000),
	NUM("api-burst", 0, api_burst, 1, 1000000),
	NUM("api-threads", 0, api_threads, 0, 64),
	NUM("api-connections-per-ip", 0, api_conns_per_ip, 1, 4096),
	NUM("api-header-timeout", 0, api_header_timeout, 1, 300),
	NUM("api-body-timeout", 0, api_body_timeout, 1, 3600),
	NUM("api-max-token-lifetime", 0, api_max_token_life, 0, 31536000),

	/* running as a service */
	{.name = "alternate-server", .kind = CFG_HOSTPORT,
	 LST(alt_servers, nalt)},
	/* coturn's: one more listening address and port each */
	{.name = "aux-server", .kind = CFG_HOSTPORT, .dflt = 3478,
	 LST(aux_servers, naux)},
	STR("alternate-domain", 0, alt_domain, 1),
	/* coturn's default port for these is its TLS port. */
	{.name = "tls-alternate-server", .kind = CFG_HOSTPORT, .dflt = 5349,
	 LST(tls_alt_servers, ntls_alt)},
	NUM("drain-timeout", 0, drain_timeout, 0, 604800),
	STR("log-format", 0, log_format, 1),
	FLAG("syslog", 0, syslog),
	{.name = "syslog-facility", .kind = CFG_STR, .flags = CFG_F_FACILITY,
	 FLD(syslog_facility), .min = 1},
	FLAG("no-stdout-log", 0, no_stdout_log),
	FLAG("log-binding", 0, log_binding),
	{.name = NULL, .sname = 'c', .kind = CFG_FILE},

	/* coturn flags whose behaviour is already ours (docs/coturn-migration.md) */
	NOOP(NULL, 'n'),
	NOOP("fingerprint", 'f'),
	NOOP("no-cli", 0),
	NOOP("no-software-attribute", 0),
	NOOP("no-multicast-peers", 0),
	NOOP("no-tlsv1", 0),
	NOOP("no-tlsv1_1", 0),
	NOOP("no-sslv3", 0),
	FLAG("no-rfc5780", 0, no_rfc5780),
	NOOP("simple-log", 0),
	NOOP("new-log-timestamp", 0),
	NOOP("no-auth-pings", 0),
	NOOP("no-dynamic-ip-list", 0),
	NOOP("no-dynamic-realms", 0),

	/* coturn options we refuse */
	UNSUPV("listening-device", 'd'),
	NUM("alt-listening-port", 0, alt_port, 0, 65535),
	NUM("tcp-proxy-port", 0, tcp_proxy_port, 0, 65535),
	{.name = "tcp-proxy-trusted", .kind = CFG_STRL,
	 LST(proxy_trusted, nproxy_trusted)},
	UNSUPV("alt-tls-listening-port", 0),
	UNSUPV("relay-device", 'i'),
	UNSUP("no-auth", 'z'),
	STR("userdb", 'b', userdb, 1),
	UNSUPV("psql-userdb", 'e'),
	UNSUPV("sql-userdb", 0),
	UNSUPV("mysql-userdb", 'M'),
	UNSUPV("mongo-userdb", 'J'),
	UNSUPV("redis-userdb", 'N'),
	UNSUPV("redis-statsdb", 'O'),
	UNSUP("prometheus-username-labels", 0),
	UNSUPV("server-name", 0),
	UNSUP("oauth", 0),
	UNSUP("check-origin-consistency", 0),
	FLAG("no-udp-relay", 0, no_udp_relay),
	FLAG("no-tcp-relay", 0, no_tcp_relay),
	FLAG("stun-only", 'S', stun_only),
	FLAG("no-stun", 0, no_stun),
	UNSUP("raw-public-keys", 0),
	{.name = "pkey-pwd", .kind = CFG_STR, .flags = CFG_F_SECRET,
	 FLD(pkey_pwd), .min = 1},
	UNSUPV("new-log-timestamp-format", 0),
	UNSUP("udp-self-balance", 0),
	UNSUPV("max-allocate-timeout", 0),
	FLAG("secure-stun", 0, secure_stun),
	STR("dh-file", 0, dh_file, 1),
	UNSUP("dh566", 0),
	UNSUP("dh1066", 0),
	UNSUP("dh2066", 0),
	STR("ec-curve-name", 0, ec_curve, 1),
	STR("proc-user", 0, proc_user, 1),
	STR("proc-group", 0, proc_group, 1),
	UNSUP("mobility", 0),
	UNSUPV("cli-ip", 0),
	UNSUPV("cli-port", 0),
	UNSUPV("cli-password", 0),
	UNSUPV("cli-max-output-sessions", 0),
	UNSUP("web-admin", 0),
	UNSUPV("web-admin-ip", 0),
	UNSUPV("web-admin-port", 0),
	UNSUP("web-admin-listen-on-workers", 0),
	UNSUP("server-relay", 0),
	UNSUPV("ne", 0),
	UNSUPV("secret-key-file", 0),
	FLAG("keep-address-family", 'K', keep_address_family),
	STR("allocation-default-address-family", 'A', alloc_family, 1),
	UNSUPV("acme-redirect", 0),
	UNSUP("no-stun-backward-compatibility", 0),
	UNSUP("response-origin-only-with-rfc5780", 0),
	UNSUP("respond-http-unsupported", 0),
	UNSUP("version", 0),
};

#define CFG_NOPTS (sizeof(cfg_opts) / sizeof(cfg_opts[0]))

const struct cfg_opt *config_opt_at(size_t i)
{
	return i < CFG_NOPTS ? &cfg_opts[i] : NULL;
}

const struct cfg_opt *config_opt_find(const char *name)
{
	for (size_t i = 0; i < CFG_NOPTS; i++) {
		if (cfg_opts[i].name && strcmp(cfg_opts[i].name, name) == 0)
			return &cfg_opts[i];
	}
	return NULL;
}

const struct cfg_opt *config_opt_find_short(char sname)
{
	for (size_t i = 0; i < CFG_NOPTS; i++) {
		if (sname && cfg_opts[i].sname == sname)
			return &cfg_opts[i];
	}
	return NULL;
}

bool config_opt_needs_value(const struct cfg_opt *o)
{
	switch (o->kind) {
	case CFG_FLAG:
	case CFG_NOOP:
		return false;
	case CFG_UNSUP:
		return o->flags & CFG_F_ARG;
	default:
		return !(o->flags & CFG_F_OPTVAL);
	}
}
