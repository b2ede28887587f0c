/* TURN server core (RFC 8656, RFC 6156): allocations, permissions,
 * channels and the method handlers. The clock and all I/O are injected
 * (struct turn_clock, struct turn_io), so the core runs in unit tests with
 * a fake clock and fake sockets. One struct turn_srv per worker thread:
 * allocations live on the worker that received their Allocate, and the
 * packet path takes no lock and does no malloc. */
#ifndef TS_TURN_H
#define TS_TURN_H
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "auth/auth.h"
#include "turn/policy.h"
#include "util/cidr.h"
#include "util/sa.h"

#define TURN_PROTO_UDP 17
#define TURN_PROTO_TCP 6
/* With its NUL. RFC 8489 allows up to 508 bytes; this holds what the API
 * mints, <expires>:<account>:<sub> (checked in server/apicfg.c), and what
 * REST clients use, at 128 more bytes per allocation than the old 128. */
#define TURN_MAX_USERNAME 256
#define TURN_MAX_SECRETS 8
#define TURN_MAX_USERS 64
#define TURN_MAX_ALT 8
#define TURN_MAX_DOMAIN 256
#define TURN_MAX_PROXY_TRUSTED 16

struct turn_clock {
	uint64_t (*mono_ms)(void *arg); /* monotonic: every lifetime */
	uint64_t (*wall_s)(void *arg);  /* unix time: REST expiry only */
	void *arg;
};

struct turn_relay;
struct turn_tconn;

/* Injected I/O. Handles are opaque to the core. */
struct turn_io {
	/* Open a UDP relay socket bound exactly to bind (port included) and
	 * arrange for datagrams on it to come back through turn_peer_input
	 * with owner. EADDRINUSE if the port is taken. */
	int (*relay_open)(void *arg, const struct sa *bind, bool dont_fragment,
			  struct turn_relay *owner, void **handlep);
	void (*relay_close)(void *arg, void *handle);
	/* From now on set DF on what this relay sends (a Send indication
	 * asked for it, RFC 8656 11.2; relay_open's dont_fragment is the
	 * same for the whole allocation). */
	void (*relay_df)(void *arg, void *handle);
	void (*relay_send)(void *arg, void *handle, const struct sa *peer,
			   const uint8_t *buf, size_t len);
	/* Send to a client over the transport it used (UDP listener or TCP
	 * connection); conn is the handle from struct turn_src. */
	void (*client_send)(void *arg, void *conn, const struct sa *client,
			    const struct iovec *iov, int iovcnt);
	/* The UDP listener handle bound exactly to local (address and
	 * port), for a response sent from another address (RFC 5780); NULL
	 * if there is none. May be NULL itself. */
	void *(*udp_conn)(void *arg, const struct sa *local);
	/* TCP relays (RFC 6062); see docs/architecture.md. Listen on bind
	 * (the relayed address) and report each accepted peer through
	 * turn_tcp_accepted with owner. */
	int (*tcp_listen)(void *arg, const struct sa *bind,
			  struct turn_relay *owner, void **handlep);
	void (*tcp_unlisten)(void *arg, void *handle);
	/* Start a connection from the relayed address to peer; the outcome
	 * comes back through turn_tcp_connected with owner. */
	int (*tcp_connect)(void *arg, const struct sa *from, const struct sa *peer,
			   struct turn_tconn *owner, void **handlep);
	/* Close a peer connection and its client data connection, if bound.
	 * Nothing is reported back. */
	void (*tcp_close)(void *arg, void *handle);
	/* ConnectionBind succeeded: from now on the client connection conn
	 * and the peer connection exchange raw bytes. */
	void (*tcp_bind)(void *arg, void *handle, void *conn);
	/* The connection id belongs to another worker: move the client
	 * connection conn, with the request still unread, to the worker
	 * whose turn_io arg is owner_arg. */
	void (*conn_handoff)(void *arg, void *conn, void *owner_arg);
	/* Close a client stream after what was sent to it (RFC 6062: a
	 * data connection whose ConnectionBind failed). */
	void (*conn_close)(void *arg, void *conn);
	void *arg;
};

struct turn_user {
	char name[TURN_MAX_USERNAME];
	uint8_t key_md5[16];
	uint8_t key_sha256[32];
	uint8_t userhash[32];
	bool md5_only; /* only the MD5 key is known (a coturn userdb keeps
			* MD5(user:realm:pass), never the password) */
};

/* The users of a coturn user database (userdb): any number, sorted by
 * name for lookup, with an index sorted by USERHASH. Read-only once
 * built; turn_users.c. */
struct turn_users {
	struct turn_user *u; /* n, sorted by name */
	uint32_t *by_hash;   /* n indices into u, sorted by userhash */
	unsigned n;
};

/* The relay family of an Allocate without REQUESTED-ADDRESS-FAMILY
 * (coturn's allocation-default-address-family): IPv4 as RFC 8656 7.2
 * says, IPv6, or the family the client's own transport uses. */
enum turn_default_family {
	TURN_DEFAULT_IPV4,
	TURN_DEFAULT_IPV6,
	TURN_DEFAULT_KEEP,
};

/* Read-only policy shared by all workers; swapped whole on reload. */
struct turn_cfg {
	char realm[128];
	char software[64];          /* "" = send no SOFTWARE */
	bool use_auth_secret;
	char secrets[TURN_MAX_SECRETS][256];
	unsigned nsecrets;
	struct turn_user users[TURN_MAX_USERS]; /* user= lines */
	unsigned nusers;
	const struct turn_users *userdb; /* NULL: none; after users[] */
	uint32_t rest_max_ttl;      /* s */
	char rest_sep;              /* rest-api-separator; 0 = ':' */
	uint32_t rest_skew;         /* s */
	uint32_t max_lifetime;      /* s */
	uint32_t default_lifetime;  /* s (600, RFC 8656 7.2) */
	uint32_t perm_lifetime;     /* s (300, RFC 8656 9) */
	uint32_t chan_lifetime;     /* s (600, RFC 8656 12) */
	uint32_t nonce_lifetime;    /* s (<= 600) */
	uint32_t user_quota;        /* allocations per user-id, 0 = none */
	uint32_t total_quota;       /* allocations per server */
	uint16_t max_perms;         /* permissions per allocation */
	uint16_t max_chans;         /* channels per allocation */
	uint16_t max_channel;       /* 0x4FFF (RFC 8656), 0x7FFF (RFC 5766) */
	struct sa relay4;           /* relay address (port 0); family 0 = none */
	struct sa relay6;
	struct sa ext4;             /* --external-ip: reported instead of the */
	struct sa ext6;             /* relay address (1:1 NAT); family 0 = none */
	struct auth_nonce_key nonce_key;
	const struct peer_policy *policy;
	bool no_tcp_relay;          /* --no-tcp-relay: TCP allocations get 442 */
	bool no_udp_relay;          /* --no-udp-relay: UDP allocations get 442 */
	/* coturn's STUN/TURN modes: requests not served get no answer. */
	bool stun_only;             /* --stun-only: only Binding is answered */
	bool no_stun;               /* --no-stun: Binding requests are dropped */
	bool secure_stun;           /* --secure-stun: Binding needs credentials */
	uint8_t default_family;     /* enum turn_default_family */
	/* NAT behaviour discovery (RFC 5780, alt-listening-port): per
	 * family (0 IPv4, 1 IPv6) the two addresses A1, A2 (port 0; family
	 * 0 = none) and the ports P1, P2 every listener pairs. */
	struct sa r5780_ip[2][2];
	uint16_t r5780_port[2];     /* 0: RFC 5780 off */
	/* Read by the transports (src/net), swapped with the rest. */
	uint32_t tcp_unauth_per_ip; /* streams without an allocation, 0 = any */
	uint32_t tcp_write_timeout; /* s a stream's output may stall, 0 = any */
	/* tcp-proxy-port: the sources (balancers) whose streams may begin
	 * with a PROXY header; a stream from any other is closed at accept.
	 * None: no one. */
	struct cidr proxy_trusted[TURN_MAX_PROXY_TRUSTED];
	unsigned nproxy_trusted;
	unsigned unauth_rate;       /* 401s per second per source IP */
	unsigned unauth_burst;
	uint32_t max_bps;           /* bytes/s per allocation and direction, 0 = none */
	uint32_t bps_capacity;      /* bytes/s the grants may add up to, 0 = none */
	/* Try Alternate (RFC 8489 10): with alternates, every new Allocate
	 * that authenticates gets 300 and one of them, round robin. */
	struct sa alt[TURN_MAX_ALT]; /* --alternate-server, port set */
	unsigned nalt;
	char alt_domain[TURN_MAX_DOMAIN]; /* ALTERNATE-DOMAIN for TLS/DTLS */
	/* --tls-alternate-server: TLS/DTLS clients get these instead of
	 * alt when there are any (coturn's split). */
	struct sa tls_alt[TURN_MAX_ALT];
	unsigned ntls_alt;
	bool log_binding;           /* --log-binding: one info line per Binding */
};

/* State shared between workers: relay ports, user quotas, reservation
 * tokens. Only the control path (Allocate, deallocation) touches it, under
 * its mutex. */
struct turn_shared;

int turn_shared_alloc(struct turn_shared **shp, uint16_t min_port,
		      uint16_t max_port);
void turn_shared_free(struct turn_shared *sh);
unsigned turn_shared_allocations(struct turn_shared *sh);
/* Relay ports free at monotonic time now (ms): reservations expired by
 * then count as free. */
unsigned turn_shared_ports_free(struct turn_shared *sh, uint64_t now);
/* Sum of the bandwidth granted to live allocations (bytes/s). */
uint64_t turn_shared_bps_granted(struct turn_shared *sh);
/* Client streams that carry no allocation yet, per source address (an
 * IPv6 source by its /64) over all workers: take is false when src holds
 * max of them already (max 0: no limit); put gives one back. */
bool turn_shared_conn_take(struct turn_shared *sh, const struct sa *src,
			   unsigned max);
void turn_shared_conn_put(struct turn_shared *sh, const struct sa *src);

/* Where a client message came from. */
struct turn_src {
	int proto;         /* TURN_PROTO_UDP or TURN_PROTO_TCP */
	bool secure;       /* over TLS (TCP) or DTLS (UDP) */
	struct sa client;  /* remote transport address */
	struct sa local;   /* server address it arrived on */
	void *conn;        /* transport handle for client_send */
};

struct turn_srv;

int turn_srv_alloc(struct turn_srv **srvp, const struct turn_cfg *cfg,
		   struct turn_shared *sh, const struct turn_clock *clk,
		   const struct turn_io *io);
/* Frees every allocation (closing relay sockets) and the server. */
void turn_srv_free(struct turn_srv *srv);
/* Draining: new Allocates get 300 (when alternates are configured) or
 * 508 while existing allocations go on. */
void turn_srv_set_draining(struct turn_srv *srv, bool on);
/* The daemon is stopping: allocations ended from now on (streams and
 * DTLS sessions being closed too) are recorded as shut down. */
void turn_srv_shutting_down(struct turn_srv *srv);
/* Swap in a new configuration (reload); allocations survive. */
void turn_srv_set_cfg(struct turn_srv *srv, const struct turn_cfg *cfg);

/* REST user-ids the ICE-servers API no longer stands behind: blocked
 * end users ("<account>:<sub>", exact) and disabled accounts (every
 * "<account>:..." user-id). Immutable and reference counted: built on
 * the API's thread, held by each worker (turn_revoked.c). */
struct turn_revoked;
int turn_revoked_new(struct turn_revoked **rp, const char *const *users,
		     size_t nusers, const char *const *accounts,
		     size_t naccounts);
struct turn_revoked *turn_revoked_ref(struct turn_revoked *r);
void turn_revoked_put(struct turn_revoked *r);
/* The same user-ids and accounts (either may be NULL: none). */
bool turn_revoked_equal(const struct turn_revoked *a,
			const struct turn_revoked *b);
/* uid is len bytes, not NUL-terminated; r may be NULL (nothing). */
bool turn_revoked_has(const struct turn_revoked *r, const char *uid,
		      size_t len);
/* Install r (the caller's reference passes to srv; NULL: none): REST
 * requests by a revoked user-id get 403 from now on, and its
 * allocations on this worker end at once. */
void turn_srv_set_revoked(struct turn_srv *srv, struct turn_revoked *r);

/* A STUN message or ChannelData from a client. */
void turn_client_input(struct turn_srv *srv, const struct turn_src *src,
		       const uint8_t *buf, size_t len);
/* A datagram from a peer on a relay socket. */
void turn_peer_input(struct turn_srv *srv, struct turn_relay *owner,
		     const struct sa *peer, const uint8_t *buf, size_t len);
/* A client stream (TCP, TLS) or DTLS session closed: its allocation goes
 * (RFC 8656 3.1); the handle is never used again. */
void turn_conn_closed(struct turn_srv *srv, const struct turn_src *src);
/* Whether a client stream or DTLS session carries an allocation (idle
 * ones that do not are closed by the transport). */
bool turn_conn_has_alloc(struct turn_srv *srv, const struct turn_src *src);
/* TCP relays (RFC 6062). A peer connected to a relayed address: the
 * returned owner is handed to later calls, NULL means close it (no
 * permission, or denied by policy). */
struct turn_tconn *turn_tcp_accepted(struct turn_srv *srv,
				     struct turn_relay *owner,
				     const struct sa *peer, void *handle);
/* The connection started by tcp_connect succeeded (err 0) or failed. */
void turn_tcp_connected(struct turn_srv *srv, struct turn_tconn *tc, int err);
/* A peer connection, or the client data connection bound to it, closed:
 * the core forgets it and calls tcp_close. */
void turn_tcp_closed(struct turn_srv *srv, struct turn_tconn *tc);
/* len bytes went through a bound peer connection (dir: enum turn_dir):
 * counted for the allocation's usage record and the metrics. */
void turn_tcp_relayed(struct turn_srv *srv, struct turn_tconn *tc, int dir,
		      size_t len);
/* --max-bps on a stream: how many of want bytes may go now. A pipe
 * that gets less waits (TCP pushes back); nothing is dropped. */
size_t turn_tcp_budget(struct turn_srv *srv, struct turn_tconn *tc, int dir,
		       size_t want);
/* Expire allocations; returns ms until the next expiry (or -1 if none). */
int64_t turn_srv_tick(struct turn_srv *srv);
unsigned turn_srv_count(const struct turn_srv *srv);

/* ----- Accounting (issue 5) ----- */

enum turn_tp { TURN_TP_UDP, TURN_TP_TCP, TURN_TP_DTLS, TURN_TP_TLS, TURN_TP_COUNT };
enum turn_dir { TURN_DIR_C2P, TURN_DIR_P2C }; /* client->peer, peer->client */
enum turn_auth_fail {
	TURN_AF_BAD_REQUEST,   /* 400: USERNAME, REALM or NONCE missing */
	TURN_AF_STALE_NONCE,   /* 438 */
	TURN_AF_WRONG_REALM,   /* 401 from here on */
	TURN_AF_UNKNOWN_USER,
	TURN_AF_REST_EXPIRED,  /* expired, or beyond --rest-max-ttl */
	TURN_AF_BAD_INTEGRITY,
	TURN_AF_REVOKED,       /* 403: a blocked user or disabled account */
	TURN_AF_COUNT
};
enum turn_quota_rej { TURN_QR_USER, TURN_QR_TOTAL, TURN_QR_BANDWIDTH, TURN_QR_COUNT };
enum turn_end {
	TURN_END_EXPIRED, TURN_END_REFRESH, TURN_END_CLOSED, TURN_END_SHUTDOWN,
	TURN_END_REVOKED, /* turn_srv_set_revoked */
};

/* A worker's counters. Only the worker's thread writes them (a relaxed
 * load and store: plain moves, no locked instruction per packet); the
 * metrics exporter reads them with relaxed loads from another thread. */
struct turn_stats {
	_Atomic uint64_t allocs[TURN_TP_COUNT][2]; /* live; client IPv4, IPv6 */
	_Atomic uint64_t pkts[2], bytes[2];        /* relayed, by turn_dir */
	_Atomic uint64_t bw_drop_pkts[2], bw_drop_bytes[2]; /* over max-bps */
	_Atomic uint64_t auth_fail[TURN_AF_COUNT];
	_Atomic uint64_t unauth_limited; /* 401/438 withheld by the per-IP limit */
	_Atomic uint64_t peer_denied;    /* 403s and Send indications dropped */
	_Atomic uint64_t quota_rej[TURN_QR_COUNT]; /* 486s */
	/* Counted by the transports (src/net, turn_srv_net_stats). */
	_Atomic uint64_t conn_refused; /* TCP/TLS over max-unauth-tcp-per-ip,
					* or not from tcp-proxy-trusted */
	_Atomic uint64_t conn_timed_out; /* TCP/TLS ended by tcp-write-timeout */
	_Atomic uint64_t dtls_refused;   /* DTLS over max-unauth-tcp-per-ip */
	_Atomic uint64_t tls_keyupd_closed; /* TLS over the KeyUpdate limit */
};

static inline void turn_stat_add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

static inline uint64_t turn_stat_get(const _Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

const struct turn_stats *turn_srv_stats(const struct turn_srv *srv);
/* The same counters, for the transports to count their own events in. */
struct turn_stats *turn_srv_net_stats(struct turn_srv *srv);

/* What one allocation did, handed over when it ends. The strings live
 * only for the duration of the call. */
struct turn_usage {
	const char *username; /* as the client sent it */
	const char *userid;   /* the quota key: REST user-id or static name */
	size_t userid_len;    /* its length (not NUL-terminated: a REST
			       * username may put the user-id first) */
	const char *realm;
	enum turn_tp transport;
	int family;           /* the client's: AF_INET or AF_INET6 */
	uint64_t start, end;  /* unix seconds */
	uint64_t pkts[2], bytes[2]; /* relayed payload, by turn_dir */
	enum turn_end reason;
};
typedef void(turn_usage_h)(void *arg, const struct turn_usage *u);
/* Called on the worker's thread when a successful allocation ends (expiry,
 * Refresh 0, stream closed, shutdown); it must not block. */
void turn_srv_set_usage_h(struct turn_srv *srv, turn_usage_h *h, void *arg);

/* Build the per-user keys of a static user (MD5 and SHA-256 long-term
 * keys and the USERHASH) for realm. 0 or errno. */
int turn_user_set(struct turn_user *u, const char *name, const char *pass,
		  const char *realm);
/* The same from the MD5 key alone (RFC 8489 9.2.2: MD5(user:realm:pass)),
 * as a coturn userdb stores it: md5_only. */
int turn_user_set_md5(struct turn_user *u, const char *name,
		      const uint8_t key[16], const char *realm);
/* Takes u (n entries, heap) and sorts it into t. EEXIST if a name occurs
 * twice (t is then empty and u freed), ENOMEM. */
int turn_users_build(struct turn_users *t, struct turn_user *u, unsigned n);
/* Wipes the keys and frees. */
void turn_users_free(struct turn_users *t);
const struct turn_user *turn_users_find(const struct turn_users *t,
					const char *name);
const struct turn_user *turn_users_by_hash(const struct turn_users *t,
					   const uint8_t hash[32]);

#endif
