/* The ICE-servers HTTP API (libmicrohttpd): POST /v1/ice-servers, the
 * admin API, /v1/ip-ranges, /healthz, /metrics and the demo page.
 * docs/api.md is the user's guide; docs/openapi.yaml the contract. */
#ifndef TS_API_H
#define TS_API_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "util/cidr.h"

#define API_PLATFORM_MAX 8
/* Enough for a socket per listening address and transport (apicfg.c) */
#define API_ENDPOINTS_MAX 80
#define API_SECRET_MAX 256
#define API_CONNS_PER_IP 128    /* default conns_per_ip */
#define API_HEADER_TIMEOUT 10   /* seconds, default header_timeout_s */
#define API_BODY_TIMEOUT 30     /* seconds, default body_timeout_s */
#define API_PEM_MAX 32768       /* a certificate chain or a key, PEM */
#define API_PROXIES_MAX 16


/* One platform TURN node (or group of URLs sharing a REST secret). */
struct api_platform {
	unsigned nurls;
	char urls[STORE_URLS_MAX][STORE_URL_MAX];
	char secret[API_SECRET_MAX];
};

/* A public address and port for GET /v1/ip-ranges. */
struct api_endpoint {
	char ip[64];
	uint16_t port;
	char transport[8]; /* "udp" | "tcp" | "tls" */
	bool proxy;        /* tcp-proxy-port: for the load balancer alone */
};

struct api_cfg {
	char listen_ip[64];
	uint16_t port;
	/* A socket already bound to listen_ip:port and listening, or -1 to
	 * bind it here. The caller keeps it (and closes it): a daemon that
	 * has dropped root can still serve, and restart on, a port < 1024. */
	int listen_fd;
	char db_path[256];
	char admin_token[256]; /* "" leaves /v1/admin/ off */
	char audience[128];    /* expected JWT aud */
	unsigned threads;      /* HTTP worker threads (0 = one per core) */
	unsigned nplatform;
	struct api_platform platform[API_PLATFORM_MAX];
	unsigned nendpoints;
	struct api_endpoint endpoints[API_ENDPOINTS_MAX];
	uint16_t relay_min, relay_max;
	/* Cap on the TTL of minted credentials: the TURN side's
	 * --rest-max-ttl, which refuses any further ahead (0 = none). */
	uint32_t max_ttl;
	/* The TURN side's --rest-api-separator, for the usernames minted
	 * for the platform's servers (0 = ':'). A customer's own servers
	 * get ':', coturn's default. */
	char rest_sep;
	/* A JWT whose exp is further ahead than this many seconds is
	 * refused (401, reason "lifetime"): a token that lives for days is
	 * a password. 0 = no cap. */
	uint32_t max_token_life;
	uint32_t ip_rate, ip_burst;     /* per client IP; 0 = no limit */
	uint32_t health_interval_ms;    /* 0 = no health checks */
	/* HTTPS: the certificate chain and its key, PEM text ("" = plain
	 * HTTP). The contents, not the file names: a renewed certificate
	 * makes the options differ, so a reload restarts the API on it. */
	char tls_cert[API_PEM_MAX];
	char tls_key[API_PEM_MAX];
	/* Reverse proxies in front of the API (api-trusted-proxy): for a
	 * request from one, the client is named by X-Forwarded-For. */
	struct cidr proxies[API_PROXIES_MAX];
	unsigned nproxies;
	uint32_t health_failures;       /* consecutive failures = down */
	/* Against clients that hold connections (slowloris): connections
	 * from one IP address at a time, and the seconds a request head
	 * (from the accept) and then the rest of the request may take, how
	 * slowly its bytes trickle notwithstanding. 0 = the defaults below. */
	unsigned conns_per_ip;
	uint32_t header_timeout_s, body_timeout_s;
	/* POST /v1/admin/drain: asks the daemon to drain (as SIGUSR1). Called
	 * on an HTTP thread; must be thread-safe. NULL: 503. */
	int (*drain_h)(void *arg);
	void *drain_arg;
	/* Each directory the API reads from the store (at start, and after
	 * every change, the CLI's too), on the thread that read it, before
	 * any request sees it: the daemon gives its TURN workers the
	 * blocked users and disabled accounts. Must be thread-safe; may be
	 * NULL. */
	void (*dir_h)(void *arg, const struct store_snap *snap);
	void *dir_arg;
};

struct api;
/* Opens the store, starts the HTTP threads, the store watcher and the
 * health checker. 0, or an errno value with a log line saying why. */
int api_start(struct api **ap, const struct api_cfg *cfg);
void api_stop(struct api *a);

/* stun:, stuns:, turn:, turns: URLs (RFC 7064, RFC 7065). */
enum api_transport { API_T_UDP, API_T_TCP, API_T_TLS };
/* host receives the name or address without brackets. 0 or EINVAL. */
int api_url_parse(const char *url, char *host, size_t hostsz, uint16_t *port,
		  enum api_transport *t);

/* An account as the admin API shows it (secrets "(redacted)", no key
 * material); the CLI's `account show` prints the same. A jansson json_t*
 * returned as void* keeps jansson out of this header. */
void *api_account_json(const struct store_account *a,
		       const struct store_snap *snap);

/* Files compiled into the binary by scripts/embed.cmake. */
struct api_asset {
	const char *name;
	const unsigned char *data;
	size_t len;
};
extern const struct api_asset api_assets[];
const struct api_asset *api_asset_find(const char *name);

#endif
