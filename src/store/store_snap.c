/* The request path's view of the store: everything, read in one
 * transaction into plain arrays sorted for bsearch, never changed after.
 * The API builds a new one when store_data_version() moves and swaps it
 * in; readers of the old one are not disturbed. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

/* Arrays are sized by count(*) in the same read transaction, so the
 * rows that follow cannot outnumber them. */
static int snap_alloc(struct store *s, const char *sql, size_t size,
		      void **arr, size_t *cap)
{
	int64_t n;
	int err = store_query_int(s, sql, &n);
	if (err || n == 0)
		return err;
	*arr = calloc((size_t)n, size);
	if (!*arr)
		return ENOMEM;
	*cap = (size_t)n;
	return 0;
}

/* ORDER BY uses SQLite's BINARY collation, which is memcmp: the same
 * order strcmp gives bsearch. */
static int snap_accounts(struct store *s, struct store_snap *snap)
{
	sqlite3_stmt *st = NULL, *srv = NULL;
	void *arr = NULL;
	size_t cap = 0;
	int rc = SQLITE_DONE;
	int err = snap_alloc(s, "SELECT count(*) FROM accounts",
			     sizeof(snap->accounts[0]), &arr, &cap);
	snap->accounts = arr;
	if (!err)
		err = store_prepare(s, "SELECT " STORE_ACCOUNT_COLS
				    " FROM accounts ORDER BY name", &st);
	if (!err)
		err = store_servers_stmt(s, &srv);
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_account *a = &snap->accounts[snap->naccounts];
		err = snap->naccounts < cap ? store_account_row(st, a) : EIO;
		if (err)
			break;
		snap->naccounts++;
		err = store_servers_load(s, srv, a->id, a);
	}
	if (!err)
		err = store_sql_err(s, rc);
	sqlite3_finalize(st);
	sqlite3_finalize(srv);
	return err;
}

static int snap_key_row(sqlite3_stmt *st, struct store_key *k)
{
	memset(k, 0, sizeof(*k));
	k->created = sqlite3_column_int64(st, 4);
	int err = store_col_text(st, 0, k->kid, sizeof(k->kid));
	if (!err)
		err = store_col_text(st, 1, k->alg, sizeof(k->alg));
	if (!err)
		err = store_col_text(st, 2, k->account, sizeof(k->account));
	if (err)
		return err;
	const void *m = sqlite3_column_blob(st, 3);
	int n = sqlite3_column_bytes(st, 3);
	if (!m || n <= 0 || n > STORE_KEYMAT_MAX)
		return EIO;
	k->material = malloc((size_t)n);
	if (!k->material)
		return ENOMEM;
	memcpy(k->material, m, (size_t)n);
	k->len = (size_t)n;
	return 0;
}

static int snap_keys(struct store *s, struct store_snap *snap)
{
	sqlite3_stmt *st = NULL;
	void *arr = NULL;
	size_t cap = 0;
	int rc = SQLITE_DONE;
	int err = snap_alloc(s, "SELECT count(*) FROM keys",
			     sizeof(snap->keys[0]), &arr, &cap);
	snap->keys = arr;
	if (!err)
		err = store_prepare(s,
			"SELECT k.kid, k.alg, a.name, k.material, k.created "
			"FROM keys k JOIN accounts a ON a.id = k.account_id "
			"ORDER BY k.kid", &st);
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_key *k = &snap->keys[snap->nkeys];
		err = snap->nkeys < cap ? snap_key_row(st, k) : EIO;
		if (!err)
			snap->nkeys++;
	}
	if (!err)
		err = store_sql_err(s, rc);
	sqlite3_finalize(st);
	return err;
}

static int snap_tx(struct store *s, void *arg)
{
	struct store_snap *snap = arg;
	/* Read before the data: a commit landing in between gives a snapshot
	 * newer than its version, so the next poll reloads; never older. */
	int err = store_version_read(s, &snap->version);
	if (!err)
		err = snap_accounts(s, snap);
	if (!err)
		err = snap_keys(s, snap);
	if (!err)
		err = store_snap_blocks(s, snap);
	return err;
}

int store_snapshot(struct store *s, struct store_snap **snapp)
{
	if (!s || !snapp)
		return EINVAL;
	struct store_snap *snap = calloc(1, sizeof(*snap));
	if (!snap)
		return ENOMEM;
	int err = store_tx(s, false, snap_tx, snap);
	if (err)
		store_snap_free(snap);
	else
		*snapp = snap;
	return err;
}

void store_snap_free(struct store_snap *snap)
{
	if (!snap)
		return;
	for (size_t i = 0; i < snap->naccounts; i++)
		store_account_clear(&snap->accounts[i]);
	for (size_t i = 0; i < snap->nkeys; i++)
		free(snap->keys[i].material);
	free(snap->accounts);
	free(snap->keys);
	free(snap->blocks);
	free(snap->deleted);
	free(snap);
}

static int snap_account_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct store_account *)elem)->name);
}

static int snap_key_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct store_key *)elem)->kid);
}

const struct store_account *store_snap_account(const struct store_snap *snap,
					       const char *name)
{
	if (!snap || !name || !snap->naccounts)
		return NULL;
	return bsearch(name, snap->accounts, snap->naccounts,
		       sizeof(snap->accounts[0]), snap_account_cmp);
}

const struct store_key *store_snap_key(const struct store_snap *snap,
				       const char *kid)
{
	if (!snap || !kid || !snap->nkeys)
		return NULL;
	return bsearch(kid, snap->keys, snap->nkeys, sizeof(snap->keys[0]),
		       snap_key_cmp);
}
