/* The ICE-servers API's blocked users and disabled (or recently
 * deleted) accounts, handed to this daemon's TURN workers each time the
 * API reads the store anew, so that credentials it minted for them stop
 * working here at once instead of when they expire (docs/api.md,
 * "Blocking a user"). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "server/revsync.h"
#include "server/server_int.h"
#include "util/log.h"

/* "<account>:<sub>": the user-id of the usernames the API mints. */
#define UID_MAX (STORE_NAME_MAX + STORE_SUB_MAX)

static int blocks_build(const struct store_snap *snap, struct turn_revoked **rp,
			size_t *na)
{
	size_t nu = snap->nblocks;
	char (*uid)[UID_MAX] = calloc(nu + 1, sizeof(*uid));
	const char **users = calloc(nu + 1, sizeof(*users));
	const char **accounts = NULL;
	int err = store_snap_refused(snap, &accounts, na);
	if (!err && (!uid || !users))
		err = ENOMEM;
	for (size_t i = 0; !err && i < nu; i++) {
		const struct store_block *b = &snap->blocks[i];
		snprintf(uid[i], sizeof(uid[i]), "%s:%s", b->account, b->sub);
		users[i] = uid[i];
	}
	if (!err)
		err = turn_revoked_new(rp, users, nu, accounts, *na);
	free(uid);
	free(users);
	free(accounts);
	return err;
}

void server_api_dir(void *arg, const struct store_snap *snap)
{
	struct server *s = arg;
	struct turn_revoked *r = NULL;
	size_t na = 0;
	if (!s->nworkers)
		return; /* no-turn: the API alone */
	int err = blocks_build(snap, &r, &na);
	if (err) {
		/* The workers keep the set they had. */
		log_err("cannot pass blocked users to TURN: %s", strerror(err));
		return;
	}
	/* Usage records commit to the store too, so a new snapshot comes
	 * about once a second under churn: only a changed set is worth a
	 * sweep of every worker's allocations and a log line. */
	if (turn_revoked_equal(r, s->revoked)) {
		turn_revoked_put(r);
		return;
	}
	/* s->workers is fixed before the API starts and freed after it
	 * stops (server_cleanup), so this thread may walk it. */
	for (unsigned i = 0; i < s->nworkers; i++)
		net_worker_set_revoked(s->workers[i], r);
	turn_revoked_put(s->revoked);
	s->revoked = r;
	atomic_store(&s->rvstat.users, snap->nblocks);
	atomic_store(&s->rvstat.accounts, na);
	if (snap->nblocks || na)
		server_revoked_log("", snap->nblocks, na);
}
