/* Blocked end users: (account, sub) pairs whose credentials the
 * ICE-servers API no longer mints and the TURN side of this daemon no
 * longer accepts (docs/api.md, "Blocking a user"). A block goes with its
 * account (ON DELETE CASCADE). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store_int.h"

/* The JWT sub rule (auth/jwt_claims.c): printable ASCII without ':',
 * since it becomes part of the TURN username "expiry:account:sub". */
static bool block_sub_valid(const char *sub)
{
	size_t n = strnlen(sub, STORE_SUB_MAX);
	if (n == 0 || n >= STORE_SUB_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (sub[i] < 0x20 || sub[i] > 0x7e || sub[i] == ':')
			return false;
	return true;
}

/* ?1 account, ?2 sub, ?3 created (the insert only). */
static int block_bind(struct store *s, sqlite3_stmt *st, const void *arg)
{
	const struct store_block *b = arg;
	int rc = sqlite3_bind_text(st, 1, b->account, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 2, b->sub, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK && sqlite3_bind_parameter_count(st) == 3)
		rc = sqlite3_bind_int64(st, 3, (int64_t)time(NULL));
	return store_sql_err(s, rc);
}

/* ENOENT: no such account; EEXIST: already blocked (the primary key). */
static int block_add_tx(struct store *s, void *arg)
{
	return store_change(s,
		"INSERT INTO blocks (account_id, sub, created) "
		"SELECT id, ?2, ?3 FROM accounts WHERE name = ?1",
		block_bind, arg);
}

static int block_fill(struct store_block *b, const char *account,
		      const char *sub)
{
	memset(b, 0, sizeof(*b));
	if (snprintf(b->account, sizeof(b->account), "%s", account) >=
	    (int)sizeof(b->account))
		return ENOENT;
	return block_sub_valid(sub) && snprintf(b->sub, sizeof(b->sub), "%s",
						sub) < (int)sizeof(b->sub)
		       ? 0 : EINVAL;
}

int store_block_add(struct store *s, const char *account, const char *sub)
{
	struct store_block b;
	if (!s || !account || !sub)
		return EINVAL;
	int err = block_fill(&b, account, sub);
	return err ? err : store_tx(s, true, block_add_tx, &b);
}

static int block_remove_tx(struct store *s, void *arg)
{
	return store_change(s,
		"DELETE FROM blocks WHERE sub = ?2 AND account_id = "
		"(SELECT id FROM accounts WHERE name = ?1)", block_bind, arg);
}

int store_block_remove(struct store *s, const char *account, const char *sub)
{
	struct store_block b;
	if (!s || !account || !sub)
		return EINVAL;
	int err = block_fill(&b, account, sub);
	if (err == EINVAL)
		return ENOENT; /* never blocked: no such block */
	return err ? err : store_tx(s, true, block_remove_tx, &b);
}

/* Tombstones still in force (the triggers of schema 5 keep them). */
static int snap_deleted(struct store *s, struct store_snap *snap)
{
	sqlite3_stmt *st = NULL;
	int64_t n;
	int rc = SQLITE_DONE;
	int err = store_query_int(s, "SELECT count(*) FROM deleted_accounts "
				  "WHERE until >= unixepoch()", &n);
	if (err || n == 0)
		return err;
	snap->deleted = calloc((size_t)n, sizeof(snap->deleted[0]));
	if (!snap->deleted)
		return ENOMEM;
	err = store_prepare(s, "SELECT name FROM deleted_accounts WHERE until "
			    ">= unixepoch() ORDER BY name", &st);
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		err = snap->ndeleted < (size_t)n
			? store_col_text(st, 0, snap->deleted[snap->ndeleted],
					 STORE_NAME_MAX)
			: EIO;
		if (!err)
			snap->ndeleted++;
	}
	if (!err)
		err = store_sql_err(s, rc);
	sqlite3_finalize(st);
	return err;
}

int store_snap_blocks(struct store *s, struct store_snap *snap)
{
	int derr = snap_deleted(s, snap);
	if (derr)
		return derr;
	sqlite3_stmt *st = NULL;
	int64_t n;
	int rc = SQLITE_DONE;
	int err = store_query_int(s, "SELECT count(*) FROM blocks", &n);
	if (err || n == 0)
		return err;
	snap->blocks = calloc((size_t)n, sizeof(snap->blocks[0]));
	if (!snap->blocks)
		return ENOMEM;
	/* BINARY collation: the order block_cmp gives bsearch. */
	err = store_prepare(s, "SELECT a.name, b.sub, b.created FROM blocks b "
			    "JOIN accounts a ON a.id = b.account_id "
			    "ORDER BY a.name, b.sub", &st);
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_block *b = &snap->blocks[snap->nblocks];
		if (snap->nblocks >= (size_t)n)
			err = EIO;
		if (!err)
			err = store_col_text(st, 0, b->account, sizeof(b->account));
		if (!err)
			err = store_col_text(st, 1, b->sub, sizeof(b->sub));
		if (!err) {
			b->created = sqlite3_column_int64(st, 2);
			snap->nblocks++;
		}
	}
	if (!err)
		err = store_sql_err(s, rc);
	sqlite3_finalize(st);
	return err;
}

static int block_cmp(const void *key, const void *elem)
{
	const struct store_block *k = key, *b = elem;
	int c = strcmp(k->account, b->account);
	return c ? c : strcmp(k->sub, b->sub);
}

const struct store_block *store_snap_block(const struct store_snap *snap,
					   const char *account, const char *sub)
{
	struct store_block k;
	if (!snap || !account || !sub || !snap->nblocks ||
	    block_fill(&k, account, sub) != 0)
		return NULL;
	return bsearch(&k, snap->blocks, snap->nblocks, sizeof(k), block_cmp);
}

int store_snap_refused(const struct store_snap *snap, const char ***names,
		       size_t *n)
{
	*n = 0;
	*names = calloc(snap->naccounts + snap->ndeleted + 1, sizeof(**names));
	if (!*names)
		return ENOMEM;
	for (size_t i = 0; i < snap->naccounts; i++)
		if (snap->accounts[i].disabled)
			(*names)[(*n)++] = snap->accounts[i].name;
	for (size_t i = 0; i < snap->ndeleted; i++)
		(*names)[(*n)++] = snap->deleted[i];
	return 0;
}
