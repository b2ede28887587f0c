/* `account block|unblock|blocks`: end users (account, JWT sub) whose
 * credentials the daemon stops minting and, on its own TURN side,
 * accepting (docs/api.md, "Blocking a user"). */
#include <errno.h>
#include <string.h>

#include "cli/account.h"

int cli_block_add(struct cli_args *a, struct store *s)
{
	int err = store_block_add(s, a->pos[0], a->pos[1]);
	if (err == EEXIST)
		return cli_say(a, 0, "'%s' of account '%s' was blocked already",
			       a->pos[1], a->pos[0]);
	if (err == EINVAL)
		return cli_say(a, 2, "invalid sub '%s' (a JWT sub: 1 to %d "
			       "printable ASCII characters, no ':')", a->pos[1],
			       STORE_SUB_MAX - 1);
	return err ? cli_fail(a, err, "account '%s'", a->pos[0]) : 0;
}

int cli_block_remove(struct cli_args *a, struct store *s)
{
	int err = store_block_remove(s, a->pos[0], a->pos[1]);
	return err ? cli_fail(a, err, "block of '%s' in account '%s'",
			      a->pos[1], a->pos[0])
		   : 0;
}

/* One "sub<TAB>created" line per block, in sub order. */
int cli_block_list(struct cli_args *a, struct store *s)
{
	struct store_snap *snap = NULL;
	int err = store_snapshot(s, &snap);
	if (err)
		return cli_fail(a, err, "reading account '%s'", a->pos[0]);
	if (!store_snap_account(snap, a->pos[0])) {
		store_snap_free(snap);
		return cli_fail(a, ENOENT, "account '%s'", a->pos[0]);
	}
	for (size_t i = 0; i < snap->nblocks; i++)
		if (strcmp(snap->blocks[i].account, a->pos[0]) == 0)
			fprintf(a->out, "%s\t%lld\n", snap->blocks[i].sub,
				(long long)snap->blocks[i].created);
	store_snap_free(snap);
	return 0;
}
