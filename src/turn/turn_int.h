/* Internal to the turn module: the allocation object and helpers shared by
 * its files. Nothing outside src/turn includes this. */
#ifndef TS_TURN_INT_H
#define TS_TURN_INT_H
#include <pthread.h>

#include "stun/stun.h"
#include "turn/portpool.h"
#include "turn/turn.h"

#define TURN_HASH_BUCKETS 4096  /* power of two */
#define TURN_KEYCACHE_SLOTS 256 /* REST keys per worker, power of two */
#define TURN_RESV_MAX 256       /* outstanding RESERVATION-TOKENs */
#define TURN_RESV_MS 30000      /* RFC 8656 7.2: hold the reserved port ~30 s */
#define TURN_CHAN_QUIET_MS 300000 /* 12: no rebind for 5 min after expiry */
#define TURN_SCRATCH (STUN_MAX_MSG + 64)
#define TURN_TCONN_MS 30000  /* RFC 6062 5.2, 5.3: connect and bind timers */
#define TURN_TCONN_MAX 64    /* peer connections per TCP allocation */

struct turn_relay {
	struct turn_alloc *alloc;
	struct sa addr;    /* family 0 once deleted alone (dual allocation) */
	void *handle;
	uint64_t expires;  /* RFC 8656 7.1: each family of a dual allocation */
};

struct turn_perm {
	struct sa peer; /* port ignored (RFC 8656 9) */
	uint64_t expires;
};

struct turn_chan {
	struct sa peer;
	uint64_t expires;
	uint16_t num;
};

/* Token bucket for --max-bps, in thousandths of a byte so that refilling
 * by elapsed ms x bytes/s is exact integer arithmetic. */
struct turn_bucket {
	uint64_t mtokens;
	uint64_t last_ms;
};

enum turn_tconn_state {
	TURN_TCONN_CONNECTING, /* Connect sent to the peer, no answer yet */
	TURN_TCONN_PENDING,    /* peer connected, waiting for ConnectionBind */
	TURN_TCONN_BOUND,      /* spliced to a client data connection */
};

/* One peer data connection of a TCP allocation (RFC 6062). Until it is
 * bound it sits on the server's timer queue: every deadline is "now +
 * 30 s" when set, so the queue is in deadline order. */
struct turn_tconn {
	struct turn_tconn *anext;        /* allocation's list */
	struct turn_tconn *qprev, *qnext; /* timer queue */
	struct turn_alloc *alloc;
	struct sa peer;
	void *handle;
	uint64_t deadline;
	uint32_t id;
	enum turn_tconn_state state;
	bool queued;
	/* The Connect request, answered when the connection completes. */
	uint8_t tid[STUN_TID_LEN];
	bool fp, sha256;
	uint8_t key[32];
	uint8_t klen;
};

struct turn_alloc {
	struct turn_alloc *hnext; /* 5-tuple hash chain */
	struct turn_src src;
	struct turn_relay relay[2];
	unsigned nrelay;
	uint64_t expires;    /* the earliest relay's: the heap's key */
	size_t heap_idx;
	struct turn_perm *perms;
	struct turn_chan *chans;
	uint16_t nperms, capperms;
	uint16_t nchans, capchans;
	uint16_t userid_off; /* user-id: userid_len bytes at username + */
	uint16_t userid_len; /* userid_off (REST: before or after expiry) */
	bool tcp;            /* TCP relay (RFC 6062): relay[0] is a listener */
	bool df;             /* relays set DF (Allocate had DONT-FRAGMENT) */
	struct turn_tconn *tconns;
	unsigned ntconns;
	uint8_t tid[STUN_TID_LEN]; /* the Allocate, to answer retransmits */
	bool live;           /* answered with success: ends with a usage record */
	enum turn_end end;   /* why it ends (set just before destroy) */
	uint32_t bps;        /* granted bytes/s per direction, 0 = unlimited */
	struct turn_bucket bucket[2]; /* by turn_dir */
	uint64_t start_wall;
	uint64_t pkts[2], bytes[2];   /* relayed, by turn_dir */
	char username[TURN_MAX_USERNAME];
	/* The rest of the Allocate's answer (RFC 8656 5: a retransmission
	 * gets the same response): the RESERVATION-TOKEN it made, if any,
	 * and the ADDRESS-ERROR-CODE of a dual allocation that got one
	 * family. Cold: after the fields the packet path reads. */
	bool has_token;
	uint8_t token[8];
	uint16_t addr_err;   /* 440 or 508, 0 = none */
	int addr_err_af;     /* the family that failed */
};

struct turn_srv {
	const struct turn_cfg *cfg;
	struct turn_shared *sh;
	struct turn_clock clk;
	struct turn_io io;
	struct auth_ratelimit *rl;
	struct stun_mac *mac;          /* reused HMAC contexts (MESSAGE-INTEGRITY) */
	struct auth_nonce_mac *nmac;   /* reused nonce HMAC */
	struct auth_keycache *keys;    /* REST long-term keys; cleared on reload */
	struct turn_alloc *buckets[TURN_HASH_BUCKETS];
	uint32_t hseed;
	bool draining;
	bool shutting_down; /* streams closing now end with TURN_END_SHUTDOWN */
	unsigned alt_next[2]; /* round robin over alternates, per family */
	unsigned tls_alt_next[2]; /* the same over the TLS/DTLS ones */
	struct turn_tconn *tq_head, *tq_tail; /* unbound peer connections */
	struct turn_alloc **heap; /* min-heap on expires */
	size_t nheap, capheap;
	uint8_t scratch[TURN_SCRATCH]; /* Data indications / responses */
	uint8_t rnd[4096]; /* getrandom() output, consumed 12 bytes a time */
	size_t rnd_pos;
	struct turn_stats stats;
	turn_usage_h *usage_h;
	void *usage_arg;
	struct turn_revoked *revoked; /* one reference; NULL = none */
};

/* What a verified request authenticated as. */
struct turn_auth {
	char user[TURN_MAX_USERNAME]; /* NUL-terminated */
	size_t ulen;
	uint8_t key[32];
	size_t klen;
	bool key256;        /* SHA-256 key (PASSWORD-ALGORITHM SHA-256) */
	bool sha256;        /* answer with MESSAGE-INTEGRITY-SHA256 */
	size_t userid_off, userid_len;
};

/* A response being built for a request. */
struct turn_resp {
	struct stun_enc enc;
	const struct stun_msg *req;
	const struct turn_auth *auth; /* NULL: unsigned response */
};

static inline uint16_t turn_max_channel(const struct turn_srv *srv)
{
	return srv->cfg->max_channel ? srv->cfg->max_channel : STUN_CHANNEL_MAX;
}

static inline uint64_t turn_now(const struct turn_srv *srv)
{
	return srv->clk.mono_ms(srv->clk.arg);
}

/* turn_srv.c: a fresh random transaction id (batched getrandom). */
void turn_srv_tid(struct turn_srv *srv, uint8_t tid[STUN_TID_LEN]);

/* turn_alloc.c */
struct turn_alloc *turn_alloc_find(struct turn_srv *srv,
				   const struct turn_src *src);
int turn_alloc_create(struct turn_srv *srv, const struct turn_src *src,
		      struct turn_alloc **ap);
void turn_alloc_destroy(struct turn_srv *srv, struct turn_alloc *a);
/* Every relay of a expires then. */
void turn_alloc_set_expiry(struct turn_srv *srv, struct turn_alloc *a,
			   uint64_t expires);
/* One family of a dual allocation (RFC 8656 7.1): refreshed until
 * expires, or deleted at once when expires is 0 and the other family
 * stays. Returns false when af is the allocation's only family left (the
 * caller refreshes or deletes the whole allocation instead). */
bool turn_alloc_family_expiry(struct turn_srv *srv, struct turn_alloc *a,
			      int af, uint64_t expires);
/* The allocation's timer fired: drop the relays whose time is up, and
 * the allocation once none is left (then true: a is freed). */
bool turn_alloc_expire(struct turn_srv *srv, struct turn_alloc *a,
		       uint64_t now);
struct turn_perm *turn_perm_find(struct turn_alloc *a, const struct sa *peer,
				 uint64_t now);
/* Would installing all n peers stay within max_perms? */
bool turn_perm_room(struct turn_srv *srv, const struct turn_alloc *a,
		    const struct sa *peers, unsigned n);
int turn_perm_install(struct turn_srv *srv, struct turn_alloc *a,
		      const struct sa *peer);
struct turn_chan *turn_chan_by_num(struct turn_alloc *a, uint16_t num,
				   uint64_t now);
struct turn_chan *turn_chan_by_peer(struct turn_alloc *a, const struct sa *peer,
				    uint64_t now);
int turn_chan_bind(struct turn_srv *srv, struct turn_alloc *a, uint16_t num,
		   const struct sa *peer);
bool turn_alloc_has_family(const struct turn_alloc *a, int af);
enum turn_tp turn_src_tp(const struct turn_src *src);
/* Start the allocation's accounting: buckets full, start time. */
void turn_alloc_start(struct turn_srv *srv, struct turn_alloc *a);

/* turn_heap.c */
int turn_heap_push(struct turn_srv *srv, struct turn_alloc *a);
void turn_heap_remove(struct turn_srv *srv, struct turn_alloc *a);
void turn_heap_fix(struct turn_srv *srv, struct turn_alloc *a);

/* turn_shared.c */
int turn_shared_port_get(struct turn_shared *sh, bool even, bool reserve,
			 uint64_t now, uint16_t *port);
void turn_shared_port_put(struct turn_shared *sh, uint16_t port);
/* Reserve addr (its port taken from the pool) for a RESERVATION-TOKEN. */
int turn_shared_resv_add(struct turn_shared *sh, const struct sa *addr,
			 uint64_t now, uint8_t token[8]);
int turn_shared_resv_take(struct turn_shared *sh, const uint8_t token[8],
			  uint64_t now, struct sa *addr);
int turn_shared_quota_take(struct turn_shared *sh, const char *userid,
			   size_t len, uint32_t user_quota,
			   uint32_t total_quota);
void turn_shared_quota_put(struct turn_shared *sh, const char *userid,
			   size_t len);
/* Grant up to want bytes/s out of capacity (0 = unlimited): what is left
 * if less (as coturn does), 0 when nothing is. */
uint32_t turn_shared_bps_take(struct turn_shared *sh, uint32_t want,
			      uint32_t capacity);
void turn_shared_bps_put(struct turn_shared *sh, uint32_t bps);

/* turn_connid.c: connection ids shared by all workers (RFC 6062); the
 * owner is the worker's turn_srv, owner_arg its turn_io arg. */
int turn_connid_add(struct turn_shared *sh, struct turn_srv *owner,
		    struct turn_tconn *tc, uint32_t *id);
void turn_connid_del(struct turn_shared *sh, uint32_t id);
int turn_connid_find(struct turn_shared *sh, uint32_t id,
		     struct turn_srv **owner, void **owner_arg,
		     struct turn_tconn **tc);
struct turn_connids;
int turn_connids_alloc(struct turn_connids **cp);
void turn_connids_free(struct turn_connids *c);
struct turn_connids *turn_shared_connids(struct turn_shared *sh);

/* turn_conncap.c: streams without an allocation, per source */
struct srccount;
struct srccount *turn_shared_conncap(struct turn_shared *sh);

/* turn_tcp.c */
void turn_method_connect(struct turn_srv *srv, const struct turn_src *src,
			 const struct stun_msg *req,
			 const struct turn_auth *auth);
void turn_method_connection_bind(struct turn_srv *srv,
				 const struct turn_src *src,
				 const struct stun_msg *req,
				 const struct turn_auth *auth);
void turn_tcp_alloc_close(struct turn_srv *srv, struct turn_alloc *a);
/* Only its peer connections of family af (that family is deleted). */
void turn_tcp_family_close(struct turn_srv *srv, struct turn_alloc *a, int af);
/* REQUESTED-TRANSPORT TCP (5.1): 0 or the error code. */
int turn_tcp_allocate_check(const struct turn_srv *srv,
			    const struct turn_src *src,
			    const struct stun_msg *req);
/* Time out unbound peer connections; ms until the next (or -1). */
int64_t turn_tcp_tick(struct turn_srv *srv);

/* turn_auth.c: 0 = verified (auth filled); otherwise a reply was sent. */
int turn_auth_request(struct turn_srv *srv, const struct turn_src *src,
		      const struct stun_msg *req, struct turn_auth *auth);

/* turn_r5780.c: a Binding answered the RFC 5780 way (true), or false
 * for the plain answer (no pair here and no CHANGE-REQUEST). */
bool turn_r5780_binding(struct turn_srv *srv, const struct turn_src *src,
			const struct stun_msg *req, const struct turn_auth *auth);

/* turn_resp.c */
void turn_resp_init(struct turn_resp *r, struct turn_srv *srv,
		    const struct stun_msg *req, uint8_t cls,
		    const struct turn_auth *auth);
void turn_resp_send(struct turn_srv *srv, const struct turn_src *src,
		    struct turn_resp *r);
void turn_reply_error(struct turn_srv *srv, const struct turn_src *src,
		      const struct stun_msg *req, const struct turn_auth *auth,
		      int code);
void turn_client_send(struct turn_srv *srv, const struct turn_src *src,
		      const uint8_t *buf, size_t len);

/* turn_alt.c: true if the request was answered with 300 Try Alternate. */
bool turn_alt_redirect(struct turn_srv *srv, const struct turn_src *src,
		       const struct stun_msg *req, const struct turn_auth *auth);

/* turn_methods.c / turn_allocate.c / turn_data.c */
uint32_t turn_lifetime(const struct turn_srv *srv, const struct stun_msg *req);
int turn_family_af(uint8_t fam);
struct turn_alloc *turn_method_alloc(struct turn_srv *srv,
				     const struct turn_src *src,
				     const struct stun_msg *req,
				     const struct turn_auth *auth);
void turn_method_allocate(struct turn_srv *srv, const struct turn_src *src,
			  const struct stun_msg *req,
			  const struct turn_auth *auth);
void turn_handle_request(struct turn_srv *srv, const struct turn_src *src,
			 const struct stun_msg *req);
void turn_handle_send(struct turn_srv *srv, const struct turn_src *src,
		      const struct stun_msg *ind);
void turn_handle_chdata(struct turn_srv *srv, const struct turn_src *src,
			const uint8_t *buf, size_t len);
/* --max-bps for streams: how many of want bytes may go now, and take
 * those sent (no --max-bps: want, and nothing). */
size_t turn_bw_budget(struct turn_alloc *a, int dir, size_t want, uint64_t now);
void turn_bw_spend(struct turn_alloc *a, int dir, size_t len);
/* --max-bps (a->bps != 0): may len bytes go in direction dir now? Counts
 * drops. */
bool turn_bw_take(struct turn_srv *srv, struct turn_alloc *a, int dir,
		  size_t len, uint64_t now);

/* Count relayed payload, per allocation and per worker: one datagram, or
 * one write on an RFC 6062 connection. */
static inline void turn_data_count(struct turn_srv *srv, struct turn_alloc *a,
				   int dir, size_t len)
{
	a->pkts[dir]++;
	a->bytes[dir] += len;
	turn_stat_add(&srv->stats.pkts[dir], 1);
	turn_stat_add(&srv->stats.bytes[dir], len);
}

#endif
