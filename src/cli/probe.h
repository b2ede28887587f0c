/* turnstone probe internals: argument parsing (testable without exiting),
 * the socket layer shared by the STUN and TURN checks, and the checks. */
#ifndef TS_CLI_PROBE_H
#define TS_CLI_PROBE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "auth/auth.h"
#include "stun/stun.h"
#include "util/sa.h"

#define PROBE_COUNT_DEFAULT 5
#define PROBE_COUNT_MAX 1000
#define PROBE_TTL_DEFAULT 600
#define PROBE_USERID_DEFAULT "probe"
#define PROBE_USER_MAX 480  /* USERNAME must stay under 509 bytes */
#define PROBE_REALM_MAX 128 /* REALM is at most 127 characters */
#define PROBE_NONCE_MAX 128 /* NONCE is at most 127 characters */
#define PROBE_RTO_MS 500    /* RFC 8489 6.2.1 initial RTO */
#define PROBE_TRIES 4       /* sends at 0, .5, 1.5, 3.5 s ... */
#define PROBE_TXN_MS 5000   /* ... and give up at 5 s */
#define PROBE_CONNECT_MS 5000 /* TCP connect, and the TLS handshake */
#define PROBE_ECHO_MS 1000  /* wait per relayed message */
#define PROBE_CHANNEL 0x4000

enum probe_scheme { PROBE_STUN, PROBE_TURN };

struct probe_args {
	enum probe_scheme scheme;
	bool tcp;
	struct sa server;
	const char *user;     /* long-term username (--user) */
	const char *password; /* --password */
	const char *secret;   /* REST shared secret (--secret) */
	const char *user_id;  /* REST user id (--user-id, or --user) */
	char sep;             /* --rest-api-separator (0 = ':') */
	const char *realm;    /* NULL: learn it from the 401 */
	uint64_t ttl;
	unsigned count;
	struct sa peer;
	bool nat;             /* --nat: RFC 5780 NAT behaviour (stun: only) */
	bool tls;             /* turns: or stuns: (over TCP) */
	const char *ca_file;  /* --ca-file: verify against these CAs */
	const char *servername; /* --servername: SNI, and the name verified */
	bool insecure;        /* --insecure: no certificate verification */
	bool help;
};

/* Parse a stun:/turn: URI (RFC 7064, RFC 7065) with a literal host and a
 * required port. 0, or EINVAL after naming the problem on err. */
int probe_url_parse(struct probe_args *a, const char *url, FILE *err);
/* argv[0] is the "probe" word. 0 or EINVAL (message on err). */
int probe_args_parse(struct probe_args *a, int argc, char **argv, FILE *err);
void probe_usage(FILE *f);

/* ----- Sockets (probe_io.c) ----- */

/* The connection to the server plus the in-process UDP echo peer. Over
 * TCP, rx buffers a partial frame (RFC 8656 12.5). */
struct ssl_ctx_st;
struct ssl_st;
struct probe_io {
	int fd;
	bool tcp;
	struct ssl_ctx_st *ctx; /* TLS (probe_tls.c), or NULL */
	struct ssl_st *ssl;
	struct sa server;
	int peer_fd; /* -1 when no echo peer is running */
	struct sa peer; /* bound address of the echo peer */
	unsigned echoed;
	uint8_t rx[STUN_MAX_MSG + 8];
	size_t rxlen;
	size_t frame; /* length of the frame handed out last, or 0 */
};

uint64_t probe_now_ms(void);
uint64_t probe_now_us(void);
void probe_io_init(struct probe_io *io);
/* Connect to a->server: UDP, TCP, or TLS over TCP (a->tls; the handshake
 * reported on out). */
int probe_io_open(struct probe_io *io, const struct probe_args *a, bool tcp,
		  FILE *out, FILE *err);
/* probe_tls.c */
int probe_tls_start(struct probe_io *io, const struct probe_args *a, FILE *out,
		    FILE *err);
int probe_tls_send(struct probe_io *io, const uint8_t *buf, size_t len);
/* 0 with *got bytes, EAGAIN (nothing decrypted yet), or an error. */
int probe_tls_read(struct probe_io *io, uint8_t *buf, size_t cap, size_t *got);
void probe_tls_close(struct probe_io *io);
/* Bind the echo peer to ip (port 0); io->peer gets the bound address. */
int probe_io_peer_open(struct probe_io *io, const struct sa *ip, FILE *err);
void probe_io_close(struct probe_io *io);
int probe_io_send(struct probe_io *io, const uint8_t *buf, size_t len);
/* Wait until deadline (probe_now_ms clock) for one frame from the server,
 * echoing peer datagrams meanwhile. 0 with *frame and *len pointing into io,
 * valid until the next call; ETIMEDOUT; or another errno (ECONNRESET when
 * the TCP server closed). */
int probe_io_recv(struct probe_io *io, uint64_t deadline,
		  const uint8_t **frame, size_t *len);

/* Run one STUN transaction: req must be a request; resp receives the
 * matching response (pointing into io, valid until the next receive) and
 * *rtt_us the time since the last (re)transmission. 0, ETIMEDOUT, or a
 * socket error. */
int probe_txn(struct probe_io *io, const uint8_t *req, size_t len,
	      struct stun_msg *resp, uint64_t *rtt_us);

/* ----- Checks (probe.c, probe_turn.c, probe_relay.c) ----- */

#define PROBE_PWALGS_MAX 64

/* State of one TURN check. */
struct probe_turn {
	struct probe_io io;
	const struct probe_args *a;
	FILE *out, *err;
	char user[PROBE_USER_MAX + 1];
	const char *pass;
	char rest_pass[AUTH_REST_PASS_LEN];
	char realm[PROBE_REALM_MAX];
	uint8_t nonce[PROBE_NONCE_MAX];
	size_t nonce_len;
	uint8_t pwalgs[PROBE_PWALGS_MAX]; /* PASSWORD-ALGORITHMS to echo */
	size_t pwalgs_len;
	uint8_t key[16];
	bool authed; /* realm, nonce and key are known */
	struct stun_msg resp;
};

/* Bounce count ChannelData off the echo peer (probe_relay.c); prints the
 * result. 0 when none was lost. */
int probe_relay(struct probe_turn *t);

/* Exit status: 0 ok, 1 failed. */
int probe_stun_run(const struct probe_args *a, FILE *out, FILE *err);
int probe_turn_run(const struct probe_args *a, FILE *out, FILE *err);
/* --nat: the NAT's mapping and filtering behaviour (probe_nat.c). */
int probe_nat_run(const struct probe_args *a, FILE *out, FILE *err);

#endif
