/* TURN server core (RFC 8656, RFC 6156): allocations, permissions,
 * channels and the method handlers. The clock and all I/O are injected
 * (struct turn_clock, struct turn_io), so the core runs in unit tests with
 * a fake clock and fake sockets. One struct turn_srv per worker thread:
 * allocations live on the worker that received their Allocate, and the
 * packet path takes no lock and does no malloc. */
#ifndef TS_TURN_H
#define TS_TURN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "auth/auth.h"
#include "turn/policy.h"
#include "util/sa.h"

#define TURN_PROTO_UDP 17
#define TURN_PROTO_TCP 6
#define TURN_MAX_USERNAME 128
#define TURN_MAX_SECRETS 8
#define TURN_MAX_USERS 64

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
	void (*relay_send)(void *arg, void *handle, const struct sa *peer,
			   const uint8_t *buf, size_t len);
	/* Send to a client over the transport it used (UDP listener or TCP
	 * connection); conn is the handle from struct turn_src. */
	void (*client_send)(void *arg, void *conn, const struct sa *client,
			    const struct iovec *iov, int iovcnt);
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
	void *arg;
};

struct turn_user {
	char name[TURN_MAX_USERNAME];
	uint8_t key_md5[16];
	uint8_t key_sha256[32];
	uint8_t userhash[32];
};

/* Read-only policy shared by all workers; swapped whole on reload. */
struct turn_cfg {
	char realm[128];
	char software[64];          /* "" = send no SOFTWARE */
	bool use_auth_secret;
	char secrets[TURN_MAX_SECRETS][256];
	unsigned nsecrets;
	struct turn_user users[TURN_MAX_USERS];
	unsigned nusers;
	uint32_t rest_max_ttl;      /* s */
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
	unsigned unauth_rate;       /* 401s per second per source IP */
	unsigned unauth_burst;
};

/* State shared between workers: relay ports, user quotas, reservation
 * tokens. Only the control path (Allocate, deallocation) touches it, under
 * its mutex. */
struct turn_shared;

int turn_shared_alloc(struct turn_shared **shp, uint16_t min_port,
		      uint16_t max_port);
void turn_shared_free(struct turn_shared *sh);
unsigned turn_shared_allocations(struct turn_shared *sh);
unsigned turn_shared_ports_free(struct turn_shared *sh);

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
/* Draining: new Allocates get 508 while existing allocations go on. */
void turn_srv_set_draining(struct turn_srv *srv, bool on);
/* Swap in a new configuration (reload); allocations survive. */
void turn_srv_set_cfg(struct turn_srv *srv, const struct turn_cfg *cfg);

/* A STUN message or ChannelData from a client. */
void turn_client_input(struct turn_srv *srv, const struct turn_src *src,
		       const uint8_t *buf, size_t len);
/* A datagram from a peer on a relay socket. */
void turn_peer_input(struct turn_srv *srv, struct turn_relay *owner,
		     const struct sa *peer, const uint8_t *buf, size_t len);
/* A client stream (TCP) closed: its allocation goes (RFC 8656 3.1). */
void turn_conn_closed(struct turn_srv *srv, void *conn);
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
/* Expire allocations; returns ms until the next expiry (or -1 if none). */
int64_t turn_srv_tick(struct turn_srv *srv);
unsigned turn_srv_count(const struct turn_srv *srv);

/* Build the per-user keys of a static user (MD5 and SHA-256 long-term
 * keys and the USERHASH) for realm. 0 or errno. */
int turn_user_set(struct turn_user *u, const char *name, const char *pass,
		  const char *realm);

#endif
