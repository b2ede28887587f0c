/* Daemon configuration: parsed once from the command line and an optional
 * coturn-style file into a read-only struct. Reload builds a new one and
 * swaps it in; a bad new configuration leaves the old one running.
 * Option names follow coturn's wherever the concept is the same. */
#ifndef TS_SERVER_CONFIG_H
#define TS_SERVER_CONFIG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "util/sa.h"

#define CFG_MAX_ADDRS 8
#define CFG_MAX_SECRETS 8
#define CFG_MAX_USERS 64
#define CFG_MAX_RANGES 64
#define CFG_MAX_API_SERVERS 8
#define CFG_MAX_ALT 8
#define CFG_MAX_AUX 8
#define CFG_MAX_PROXY_TRUSTED 16

struct cfg_user {
	char name[128];
	char pass[128];
};

struct config {
	/* addresses and ports */
	struct sa listen[CFG_MAX_ADDRS]; /* --listening-ip, port 0 here */
	unsigned nlisten;
	uint16_t port;                  /* --listening-port (3478) */
	struct sa relay[CFG_MAX_ADDRS]; /* --relay-ip */
	unsigned nrelay;
	struct sa external[CFG_MAX_ADDRS]; /* --external-ip (public[/private]) */
	unsigned nexternal;
	uint16_t min_port, max_port;    /* 49152..65535 */
	bool no_udp, no_tcp;
	bool no_tcp_relay;              /* --no-tcp-relay: RFC 6062 off */
	bool no_udp_relay;              /* --no-udp-relay: UDP allocations get 442 */
	bool stun_only, no_stun;        /* --stun-only (-S), --no-stun */
	bool secure_stun;               /* --secure-stun: Binding needs credentials */
	bool keep_address_family;       /* -K: the same as -A keep */
	char alloc_family[16];          /* -A ipv4|ipv6|keep ("" = ipv4) */

	/* TLS and DTLS: on when 'cert' and 'pkey' are given */
	uint16_t tls_port;              /* --tls-listening-port (5349) */
	uint16_t alt_port;              /* --alt-listening-port (RFC 5780), 0 = off */
	uint16_t tcp_proxy_port;        /* --tcp-proxy-port (PROXY header), 0 = off */
	/* --tcp-proxy-trusted IP[/bits]: who may send that header (none
	 * given: loopback and private ranges, tcfg.c) */
	char proxy_trusted[CFG_MAX_PROXY_TRUSTED][64];
	unsigned nproxy_trusted;
	bool no_rfc5780;
	char cert[256], pkey[256];      /* PEM files */
	char ca_file[256];              /* --CA-file: require client certs */
	char cipher_list[512];          /* TLS 1.2 ciphers ("" = OpenSSL's) */
	bool no_tls, no_dtls;           /* --no-tls, --no-dtls */
	bool no_tlsv1_2;                /* TLS 1.3 only */
	char dh_file[256];              /* --dh-file: PEM DH parameters ("" = OpenSSL's) */
	char ec_curve[256];             /* --ec-curve-name: groups, ':'-separated ("" = OpenSSL's) */
	char pkey_pwd[256];             /* --pkey-pwd: secret; "" = key not encrypted */

	/* credentials */
	char realm[128];                /* --realm (default "turnstone") */
	bool use_auth_secret;           /* --use-auth-secret */
	char secrets[CFG_MAX_SECRETS][256]; /* --static-auth-secret (repeatable) */
	unsigned nsecrets;
	struct cfg_user users[CFG_MAX_USERS]; /* --user=name:password */
	unsigned nusers;
	bool lt_cred_mech;              /* --lt-cred-mech (accepted; default on) */
	uint32_t rest_max_ttl;          /* --rest-max-ttl (86400 s) */
	char rest_sep[8];               /* --rest-api-separator (":") */

	/* peer policy: raw strings, validated at parse time */
	char allowed_peers[CFG_MAX_RANGES][96]; /* --allowed-peer-ip */
	unsigned nallowed;
	char denied_peers[CFG_MAX_RANGES][96];  /* --denied-peer-ip */
	unsigned ndenied;
	bool allow_loopback_peers;      /* --allow-loopback-peers */

	/* limits and lifetimes (seconds) */
	uint32_t user_quota;            /* --user-quota (allocations per user-id; default 10) */
	uint32_t total_quota;           /* --total-quota (default 10000) */
	uint32_t max_allocate_lifetime; /* 3600 */
	uint32_t channel_lifetime;      /* 600 */
	uint32_t permission_lifetime;   /* 300 */
	uint32_t nonce_lifetime;        /* --stale-nonce (600, at most 600) */

	/* process */
	unsigned relay_threads;         /* --relay-threads (0 = one per core) */
	char pidfile[256];
	bool daemon;                    /* -o / --daemon: run in the background */
	char log_file[256];
	bool verbose;                   /* -v / --verbose */
	char software[64];              /* --software-name ("" = no SOFTWARE) */
	bool software_attr;             /* --software-attribute (coturn) */
	bool check_config;              /* --check-config */
	bool legacy_channels;           /* --legacy-channel-range (0x4000-0x7FFF) */
	char proc_user[64];             /* --proc-user: drop to it after setup (privs.c) */
	char proc_group[64];            /* --proc-group ("" = the user's group) */

	/* ICE-servers REST API (docs/api.md) */
	uint16_t api_port;              /* --api-listening-port (0 = no API) */
	char api_ip[64];                /* --api-listening-ip (127.0.0.1) */
	char db[256];                   /* --db: SQLite account store */
	char userdb[256];               /* -b: coturn's SQLite user database */
	bool no_turn;                   /* --no-turn: an API-only node */
	char api_admin_token_file[256]; /* --api-admin-token-file */
	char api_cert[256], api_pkey[256]; /* HTTPS for the API (PEM files) */
	char api_proxies[16][64];       /* --api-trusted-proxy IP[/bits] */
	unsigned napi_proxies;
	char api_audience[128];         /* --api-audience ("turnstone") */
	/* --api-turn-server "URL[,URL...] [SECRET]": platform TURN nodes */
	char api_servers[CFG_MAX_API_SERVERS][1280];
	unsigned napi_servers;
	uint32_t api_health_interval;   /* seconds; 0 = no checks (10) */
	uint32_t api_health_failures;   /* failed checks in a row = down (3) */
	uint32_t api_rate, api_burst;   /* per client IP (1000/s, 2000): an app server is one IP */
	unsigned api_threads;           /* 0 = one per core */
	unsigned api_conns_per_ip;      /* --api-connections-per-ip (128) */
	uint32_t api_header_timeout;    /* --api-header-timeout: seconds for a request head (10) */
	uint32_t api_body_timeout;      /* --api-body-timeout: seconds for the rest of a request (30) */
	uint32_t api_max_token_life;    /* --api-max-token-lifetime: a JWT's exp at most this far ahead, s (86400; 0 = no cap) */
	/* --revoked-from URL: another node's GET /v1/revoked, polled every
	 * --revoked-interval s (5), over HTTPS checked against
	 * --revoked-ca-file ("" = the system's CAs); revsync.c */
	char revoked_from[1024];
	uint32_t revoked_interval;
	char revoked_ca_file[256];

	/* limits, accounting and metrics (issue 5) */
	uint32_t max_bps;               /* --max-bps: BYTES/s per allocation and direction (0 = none) */
	uint32_t bps_capacity;          /* --bps-capacity: bytes/s all grants add up to (0 = none) */
	uint16_t max_perms;             /* --max-permissions per allocation (64) */
	uint16_t max_chans;             /* --max-channels per allocation (64) */
	uint32_t max_unauth_tcp;        /* --max-unauth-tcp-per-ip (64; 0 = none) */
	uint32_t tcp_write_timeout;     /* --tcp-write-timeout, s (30; 0 = none) */
	char usage_log[256];            /* --usage-log FILE ("-" = stdout, "" = none) */
	bool prometheus;                /* --prometheus */
	uint16_t prometheus_port;       /* --prometheus-port (9641) */
	char prometheus_ip[64];         /* --prometheus-address (127.0.0.1) */
	/* running as a service (docs/man/turnstone.8) */
	struct sa alt_servers[CFG_MAX_ALT]; /* --alternate-server IP[:PORT] */
	struct sa aux_servers[CFG_MAX_AUX]; /* --aux-server IP:PORT (coturn's) */
	unsigned naux;
	unsigned nalt;
	char alt_domain[256];           /* --alternate-domain: for TLS/DTLS clients */
	struct sa tls_alt_servers[CFG_MAX_ALT]; /* --tls-alternate-server */
	unsigned ntls_alt;
	uint32_t drain_timeout;         /* --drain-timeout: SIGUSR1 drain deadline (3600 s) */
	char log_format[8];             /* --log-format text|json */
	/* logging, coturn's options (docs/coturn-migration.md) */
	bool syslog;                    /* --syslog (or log-file=syslog) */
	char syslog_facility[16];       /* --syslog-facility ("" = user), checked */
	bool no_stdout_log;             /* --no-stdout-log: needs log-file or syslog */
	bool log_binding;               /* --log-binding: one line per Binding */
};

/* Fill defaults. */
void config_defaults(struct config *c);

/* Parse argv into c, getopt style: argv[0] (the "serve" word) is skipped.
 * Any "-c FILE" is read in
 * order. On error, returns EINVAL and writes one line naming the offending
 * key (and the value, unless it is a secret) to err. */
int config_parse_args(struct config *c, int argc, char **argv, FILE *err);

/* Parse a coturn-style file: key=value or "key value" lines, bare keys
 * for flags, '#' comments, blank lines. Same keys as the long options
 * without the leading dashes. Unknown keys are an error naming the key and
 * the line number. */
int config_parse_file(struct config *c, const char *path, FILE *err);

/* Cross-field validation (min_port <= max_port, a credential source
 * exists, ...). 0 or EINVAL with a message on err. */
int config_validate(const struct config *c, FILE *err);

#endif
