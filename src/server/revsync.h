/* revoked-from: a TURN node of a fleet polls another node's
 * GET /v1/revoked (api/api_revoked.c) and hands its workers the blocked
 * users and disabled accounts, as a daemon with its own API does
 * (blocks.c). On its own thread; a failed poll keeps the last list. */
#ifndef TS_SERVER_REVSYNC_H
#define TS_SERVER_REVSYNC_H
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "net/net.h"
#include "server/config.h"

/* What the TURN side refuses, for Prometheus (read on its thread):
 * written by blocks.c (this daemon's API) or the poller below. */
struct server_rvstat {
	_Atomic uint64_t users, accounts; /* in the set the workers hold */
	bool polling;                     /* revoked-from is set */
	_Atomic uint64_t poll_failures;   /* polls that kept the last list */
	_Atomic int64_t last_ok;          /* unix s of the last good poll, 0 */
};

struct server_revsync;
/* Starts polling c->revoked_from with c->secrets[0]; workers and st must
 * outlive it. 0 or an errno value. */
int server_revsync_start(struct server_revsync **rp, const struct config *c,
			 struct net_worker *const *workers, unsigned n,
			 struct server_rvstat *st);
/* The start's checks that need files: revoked-ca-file must load. 0 or
 * EINVAL, said on err naming the key. */
int server_revsync_check(const struct config *c, FILE *err);
/* A reload's first static-auth-secret (rotation). Thread-safe. */
void server_revsync_secret(struct server_revsync *r, const char *secret);
/* Stops and joins the thread, frees r (NULL is fine). */
void server_revsync_stop(struct server_revsync *r);
/* The log line for a revoked set the workers took ("" or "revoked-from: "
 * as the prefix), with singulars where they belong. */
void server_revoked_log(const char *prefix, size_t nu, size_t na);
/* {"users":[...],"accounts":[...]} -> a new set; EBADMSG if malformed
 * (pure; for the tests too). */
int server_revsync_parse(const char *json, size_t len, struct turn_revoked **rp,
			 size_t *nusers, size_t *naccounts);

#endif
