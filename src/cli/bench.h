/* turnstone bench: internal interfaces shared by the bench_*.c files.
 * The load generator drives many client sockets from a few threads, each
 * with its own net/loop.h event loop (as redis-benchmark drives Redis's
 * ae loop). It uses only stun, auth, net/loop and util. */
#ifndef TS_CLI_BENCH_H
#define TS_CLI_BENCH_H
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "net/loop.h"
#include "util/sa.h"

enum bench_mode {
	BENCH_ALLOC,
	BENCH_RELAY,
	BENCH_HOLD,
	BENCH_BINDING,
	BENCH_FORWARD,
};

enum bench_profile { BENCH_PROF_NONE, BENCH_PROF_AUDIO, BENCH_PROF_VIDEO };

/* How clients reach the server. The relay itself is UDP either way
 * (RFC 8656 3.1): over tcp and tls each allocation has its own stream. */
enum bench_transport { BENCH_UDP, BENCH_TCP, BENCH_TLS };

#define BENCH_MAX_THREADS 64
#define BENCH_MAX_SIZE 1400   /* payload bytes; one loopback datagram */
#define BENCH_MIN_SIZE 24     /* room for the timestamped header */
#define BENCH_MAX_FLOWS 60000 /* allocations, clients or flows */
#define BENCH_STR_MAX 256

struct bench_args {
	enum bench_mode mode;
	struct sa server;
	const char *secret;
	const char *user;
	const char *password;
	const char *realm;
	unsigned duration;  /* s */
	unsigned threads;   /* client threads */
	unsigned clients;   /* alloc, binding: concurrent clients */
	unsigned allocs;    /* relay, hold, forward: allocations or flows */
	unsigned size;      /* relay, forward: payload bytes per packet */
	unsigned window;    /* packets or requests in flight per flow */
	uint64_t rate;      /* relay, forward: total packets/s, 0 = window */
	enum bench_profile profile;
	enum bench_transport transport; /* relay, hold */
	unsigned sources;   /* loopback source addresses to spread over */
	bool perm, chan;    /* alloc: add CreatePermission / ChannelBind */
	bool fresh_users;   /* alloc: a new REST username every cycle */
	int server_pid;     /* 0 = unknown */
	int fwd_cpu;        /* forward: the forwarder's CPU; -1 = any */
	const char *hist_out; /* write the raw histogram here too */
	bool json;
	bool help;
};

/* Parse argv (argv[0] is the word "bench"). 0, or EINVAL with a message
 * on err. Fills in the mode's defaults. */
int bench_args_parse(struct bench_args *a, int argc, char **argv, FILE *err);
void bench_usage(FILE *out);
const char *bench_mode_name(enum bench_mode m);
const char *bench_transport_name(enum bench_transport t);

/* ----- Log-bucket latency histogram (HDR style): exact below 256 ns,
 * then 128 sub-buckets per power of two, so any value is reported within
 * 0.8 % of the truth (about 11 us at a 1.4 ms p99: fine enough to tell
 * whether a relay adds 50 us, issue 4). Values are nanoseconds. ----- */
#define BENCH_HIST_SUB_BITS 7
#define BENCH_HIST_SUB (1u << BENCH_HIST_SUB_BITS)
#define BENCH_HIST_BUCKETS ((64 - BENCH_HIST_SUB_BITS + 1) * BENCH_HIST_SUB)

struct bench_hist {
	uint64_t count, min, max, sum;
	uint64_t b[BENCH_HIST_BUCKETS];
};

void bench_hist_init(struct bench_hist *h);
unsigned bench_hist_index(uint64_t v);
/* Smallest and largest value that land in bucket i. */
uint64_t bench_hist_low(unsigned i);
uint64_t bench_hist_high(unsigned i);
void bench_hist_add(struct bench_hist *h, uint64_t v);
void bench_hist_merge(struct bench_hist *dst, const struct bench_hist *src);
/* Value at percentile p (0..100): the top of the bucket holding it,
 * capped at the largest value seen; 0 when empty. */
uint64_t bench_hist_pct(const struct bench_hist *h, double p);
void bench_hist_print(const struct bench_hist *h, FILE *out);
/* The raw histogram as text ("turnstone-hist 1 COUNT MIN MAX SUM", then
 * "INDEX COUNT" per non-empty bucket), so runs can be pooled later. */
int bench_hist_write(const struct bench_hist *h, FILE *out);
/* Adds a file written by bench_hist_write to h; EINVAL if it is not one
 * (bad header, index out of range, bucket counts that do not add up). */
int bench_hist_read(struct bench_hist *h, FILE *in);
/* turnstone bench pool FILE...: the percentiles of all the round trips
 * in the given --hist-out files together. */
int bench_pool_main(int argc, char **argv, FILE *out, FILE *err);

/* ----- Results: an ordered list of key=value pairs, printed as one
 * "RESULT k=v ..." line or as a JSON object. ----- */
#define BENCH_KV_MAX 40
struct bench_kv {
	char key[24];
	char val[40];
	bool num;
};
struct bench_report {
	struct bench_kv kv[BENCH_KV_MAX];
	unsigned n;
};
void bench_report_add(struct bench_report *r, const char *key, bool num,
		      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void bench_report_print(const struct bench_report *r,
			const struct bench_hist *h, bool json, FILE *out);

/* ----- System: clock, /proc, limits, sockets ----- */
uint64_t bench_now_ns(void);
/* utime+stime of a process in ns; ENOENT if it is gone. */
int bench_proc_cpu(int pid, uint64_t *ns);
/* The whole machine from /proc/stat's "cpu" line, in clock ticks: time
 * busy (user, nice, system, irq, softirq, steal) and in all. The client,
 * its echo peer and the server share the CPUs here, so how busy the
 * machine was explains a latency tail that one process's CPU does not. */
int bench_parse_cpu_line(const char *line, uint64_t *busy, uint64_t *total);
int bench_sys_cpu(uint64_t *busy, uint64_t *total);
/* VmRSS in KiB. */
int bench_proc_rss(int pid, uint64_t *kib);
/* The kernel's Udp RcvbufErrors counter (/proc/net/snmp). */
int bench_udp_rcvbuf_errors(uint64_t *v);
/* Raise the open-file soft limit to want (or the hard limit). */
int bench_nofile_raise(unsigned want);
/* Loopback source address number k (127.1.0.1, 127.1.0.2, ...); the last
 * octet skips 0 and 255. */
void bench_src_addr(unsigned k, struct sa *out);
/* Non-blocking UDP socket bound to src (port 0) and connected to dst. */
int bench_sock_open(const struct sa *src, const struct sa *dst, int bufsz,
		    int *fdp);
/* Non-blocking UDP socket bound to 127.0.0.1 on an ephemeral port. */
int bench_sock_bind_lo(int bufsz, int *fdp, struct sa *bound);

/* ----- One TURN client 5-tuple: Allocate (401 then authenticated),
 * optional CreatePermission and ChannelBind to the peer, and Refresh
 * LIFETIME=0, with retransmissions. ----- */
enum bench_flow_state {
	BF_IDLE,
	BF_ALLOC0,   /* unauthenticated Allocate, expecting 401 */
	BF_ALLOC1,   /* authenticated Allocate */
	BF_PERM,
	BF_CHAN,
	BF_READY,    /* allocated (and bound); data may flow */
	BF_REFRESH,  /* Refresh LIFETIME=0 */
	BF_DONE,
	BF_FAILED,
};

/* What a thread shares among its flows: credentials and the key. */
struct bench_cred {
	char user[BENCH_STR_MAX];
	char pass[BENCH_STR_MAX];
	char realm[BENCH_STR_MAX]; /* "" until --realm or the first 401 */
	uint8_t key[16];
	bool have_key;
	uint32_t tid_seq;          /* makes transaction ids unique */
};

struct bench_stream;

struct bench_flow {
	struct loop_fd lf;
	struct bench_stream *stream; /* tcp, tls; NULL over UDP */
	enum bench_flow_state state;
	bool perm, chan;       /* steps to take after allocating */
	bool refresh_after;    /* alloc mode: go on to Refresh LIFETIME=0 */
	uint8_t tid[12];
	char nonce[128];
	uint16_t nlen;
	uint16_t channel;
	unsigned tries;
	int last_error;        /* STUN error code or errno of a failure */
	uint64_t t_sent;       /* ns, for retransmission */
	struct sa relayed;
	const struct sa *peer;
	struct bench_cred *cred;
};

/* Bring up the flow on fd (already connected to the server): send the
 * unauthenticated Allocate. */
int bench_flow_start(struct bench_flow *f, uint64_t now);
/* Feed a datagram from the server. Returns true if the state changed. */
bool bench_flow_input(struct bench_flow *f, const uint8_t *buf, size_t len,
		      uint64_t now);
/* Retransmit after rto_ns, failing the flow after a few tries. */
void bench_flow_tick(struct bench_flow *f, uint64_t now, uint64_t rto_ns);
/* Release the allocation: Refresh LIFETIME=0. */
int bench_flow_release(struct bench_flow *f, uint64_t now);
/* Fill cred from --secret or --user/--password. */
int bench_cred_init(struct bench_cred *c, const struct bench_args *a);
/* REST credentials (RFC 8489 has none; the TURN REST convention
 * "expiry:name", password = base64(HMAC-SHA1(secret, username))) for
 * name; the realm stays, the key is derived again on the next 401. */
int bench_cred_rest(struct bench_cred *c, const char *secret, const char *name);

/* ----- Run-wide state shared by the main thread and the workers ----- */
enum bench_phase { BP_SETUP, BP_MEASURE, BP_DRAIN };

struct bench_counts {
	uint64_t ops;       /* cycles, responses or round trips delivered */
	uint64_t sent;      /* packets or requests sent in the window */
	uint64_t recv_win;  /* of those, answered (until the drain ends) */
	uint64_t errors;
	uint64_t timeouts;
	uint64_t stalls;    /* window refills after a silent flow */
	uint64_t setup_ok, setup_fail;
	int last_error;
};

struct bench_run;

struct bench_worker {
	struct bench_run *run;
	unsigned id;
	unsigned first, count;  /* this thread's flows */
	struct loop *loop;
	struct bench_cred cred;
	struct bench_counts c;
	struct bench_hist hist;
	void *mode;             /* mode-specific state */
	uint64_t tick_ns;       /* bench_loop_until's tick; 0: 1 ms */
	pthread_t thr;
};

struct bench_run {
	const struct bench_args *a;
	struct sa peer;            /* echo peer */
	struct sa fwd[BENCH_MAX_THREADS]; /* forward mode: forwarder ports */
	unsigned nfwd;
	_Atomic int phase;
	_Atomic uint64_t t_start;  /* ns, set before phase = MEASURE */
	_Atomic uint64_t t_stop;
	pthread_barrier_t ready;   /* threads + main, after setup */
	struct bench_worker *w;
	unsigned nw;
};

/* Mode entry points: run one worker thread to completion. */
void *bench_alloc_thread(void *arg);
void *bench_relay_thread(void *arg);   /* relay, forward and hold */
void *bench_binding_thread(void *arg);

/* Helpers the worker threads share. */
enum bench_phase bench_phase_get(const struct bench_run *r);
/* Setup is over: wait for every thread, then for the main thread to
 * start the clock. */
void bench_setup_done(struct bench_worker *w);
/* Run the loop until the phase reaches leave (BP_NEVER: ignore it) or
 * the deadline (ns) passes; tick is called about every w->tick_ns (1 ms
 * when 0). */
#define BP_NEVER (BP_DRAIN + 1)
typedef void(bench_tick_h)(struct bench_worker *w, uint64_t now);
void bench_loop_until(struct bench_worker *w, int leave, uint64_t deadline,
		      bench_tick_h *tick);

/* ----- A set of allocations (relay, hold) or bare flows (forward) on
 * one thread: bench_setup.c brings them up and down a window at a time,
 * bench_relay.c moves the data. ----- */
#define BENCH_SETUP_MAX_S 60   /* the whole setup phase, all threads */
#define BENCH_SET_WINDOW 256   /* transactions open at once per thread */
#define BENCH_RX_BATCH 32
#define BENCH_TX_BATCH 64
#define BENCH_RX_BUFSZ 1600

struct bench_rflow {
	struct bench_flow f;
	struct bench_worker *w;
	uint32_t idx;       /* across all threads */
	unsigned inflight;  /* data packets awaiting their echo */
	uint64_t last_rx;   /* ns */
	uint8_t self[6];    /* our IPv4 address and port, network order */
	unsigned slot;      /* in bench_rset.pend while pending */
	bool pending;       /* a setup or release transaction is open */
};

struct bench_rset {
	struct bench_rflow *fl;
	unsigned n, next, npend;
	unsigned pend[BENCH_SET_WINDOW];
	bool releasing;
	bool chdata;        /* relay: ChannelData framing; forward: raw UDP */
	struct ssl_ctx_st *tls; /* --transport tls */
	uint8_t *sbuf;      /* tcp, tls: BENCH_TX_BATCH frames, mostly zeros */
	/* data path */
	uint64_t w_start;   /* ns: this thread's first measured send */
	double rate;        /* this thread's packets/s, 0 = window */
	uint64_t sched;     /* packets sent under --rate */
	unsigned rr;        /* next flow to pace */
	struct mmsghdr rx[BENCH_RX_BATCH];
	struct iovec rxiov[BENCH_RX_BATCH];
	uint8_t rxbuf[BENCH_RX_BATCH][BENCH_RX_BUFSZ];
	struct mmsghdr tx[BENCH_TX_BATCH];
	struct iovec txiov[BENCH_TX_BATCH][2];
	uint8_t txhead[BENCH_TX_BATCH][32];
	uint8_t zero[BENCH_MAX_SIZE];
};

/* Open one connected socket per flow, registered with input. */
int bench_rset_open(struct bench_worker *w, struct bench_rset *st,
		    loop_h *input);
/* Allocate, permit and bind every flow (forward: nothing to do). */
void bench_rset_setup(struct bench_worker *w, struct bench_rset *st,
		      uint64_t deadline);
/* Refresh LIFETIME=0 for every allocated flow. */
void bench_rset_release(struct bench_worker *w, struct bench_rset *st,
			uint64_t deadline);
/* A flow's STUN state changed: account for it and open the next one. */
void bench_rset_changed(struct bench_worker *w, struct bench_rset *st,
			struct bench_rflow *fl, uint64_t now);
void bench_rset_close(struct bench_worker *w, struct bench_rset *st);

/* ----- Stream transports (tcp, tls): RFC 8656 12.5 framing and the
 * client end of one connection (bench_stream.c) ----- */
#define BENCH_FRAME_MAX 2048     /* larger frames: the stream is broken */
#define BENCH_STREAM_IO_MS 1000  /* a write may wait this long */
#define BENCH_STREAM_OPEN_MS 5000 /* connect and TLS handshake */

/* Reassembles frames that reads cut anywhere: the bytes of at most one
 * incomplete frame are held here between reads. */
struct bench_framer {
	size_t len;
	uint8_t buf[BENCH_FRAME_MAX];
};

/* Called with each whole frame (a ChannelData frame with its padding);
 * false stops the feed (the flow was closed). */
typedef bool(bench_frame_h)(void *arg, const uint8_t *frame, size_t len);
/* Feed bytes read from a stream. 0, or EBADMSG when they are neither a
 * STUN message nor ChannelData, or a frame exceeds BENCH_FRAME_MAX: a
 * stream cannot resynchronise after that, so the caller closes it. */
int bench_framer_feed(struct bench_framer *fr, const uint8_t *in, size_t n,
		      bench_frame_h *h, void *arg);

struct ssl_st;
struct ssl_ctx_st;

struct bench_stream {
	struct ssl_st *ssl;       /* NULL over plain TCP */
	bool connecting;          /* bench_stream_begin's connect in flight */
	struct bench_framer fr;
};

/* A TLS 1.2+ client context that does NOT verify the certificate (a
 * loopback bench against a self-signed one). idle: release OpenSSL's
 * buffers between reads (hold mode's many quiet connections). */
int bench_tls_ctx(bool idle, struct ssl_ctx_st **ctxp);
/* Connect from src to dst (non-blocking socket, TCP_NODELAY) and, with
 * a ctx, complete the TLS handshake, all within BENCH_STREAM_OPEN_MS. */
int bench_stream_open(const struct sa *src, const struct sa *dst,
		      struct ssl_ctx_st *ctx, int *fdp, struct bench_stream **sp);
/* The same without waiting, for an event loop (alloc mode opens a
 * stream every cycle): begin, then step whenever fd is ready for *ev.
 * step returns 0 once connected and handshaken, EAGAIN with the poll()
 * events to wait for, or an error. */
int bench_stream_begin(const struct sa *src, const struct sa *dst,
		       struct ssl_ctx_st *ctx, int *fdp, struct bench_stream **sp);
int bench_stream_step(struct bench_stream *s, int fd, short *ev);
/* Write all of buf, waiting in poll() while the socket is full, for at
 * most BENCH_STREAM_IO_MS (then ETIMEDOUT: the stream now ends inside a
 * frame and must be closed). EPIPE if fd is closed (-1). */
int bench_stream_write(struct bench_stream *s, int fd, const uint8_t *buf,
		       size_t len);
/* Read what is there: 0 and *got > 0, EAGAIN, or an error (ECONNRESET
 * when the server closed). */
int bench_stream_read(struct bench_stream *s, int fd, uint8_t *buf, size_t cap,
		      size_t *got);
/* Bytes OpenSSL has decrypted but not handed out: epoll cannot tell. */
bool bench_stream_pending(const struct bench_stream *s);
/* Free the TLS state (no close_notify: the fd may already be closed). */
void bench_stream_free(struct bench_stream *s);

/* ----- Echo peer and forwarder ----- */
struct bench_echo;
/* Bind the echo socket (127.0.0.1, ephemeral); start its thread later. */
int bench_echo_alloc(struct bench_echo **ep, struct sa *addr);
int bench_echo_start(struct bench_echo *e);
void bench_echo_stop(struct bench_echo *e);
/* Fork the forwarder process: nthreads sockets on 127.0.0.1 relaying
 * between clients and the peer. Ports go to out[]. Must run before any
 * thread is created. */
int bench_fwd_spawn(const struct sa *peer, unsigned nthreads, int cpu,
		    unsigned max_s, struct sa *out, int *pidp);

/* Payload layout shared by relay, forward and the forwarder. */
#define BENCH_PKT_MAGIC 0x5453424eu /* "TSBN" */
#define BENCH_PKT_OFF_IDX 4
#define BENCH_PKT_OFF_TS 8
#define BENCH_PKT_OFF_ADDR 16       /* client IPv4 (4) + port (2) */
#define BENCH_PKT_HEAD 24

int bench_run_main(const struct bench_args *a);

#endif
