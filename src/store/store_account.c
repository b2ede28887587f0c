/* Accounts and their custom servers. An account's servers are rows of
 * `servers` (one per position) and `server_urls` (one per url); they are
 * always replaced whole, inside the transaction that writes the account. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store_int.h"

/* Parameters ?1..?12 are shared by the insert and the update. */
static const char account_insert_sql[] =
	"INSERT INTO accounts (name, disabled, configurable_turn, "
	"default_ttl, max_ttl, rate_per_s, rate_burst, issuer, mode, "
	"relay_only, user_rate_per_s, user_rate_burst, created) "
	"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) "
	"RETURNING id";
static const char account_update_sql[] =
	"UPDATE accounts SET disabled = ?2, configurable_turn = ?3, "
	"default_ttl = ?4, max_ttl = ?5, rate_per_s = ?6, rate_burst = ?7, "
	"issuer = ?8, mode = ?9, relay_only = ?10, user_rate_per_s = ?11, "
	"user_rate_burst = ?12 WHERE name = ?1 RETURNING id";

static int account_bind(struct store *s, sqlite3_stmt *st,
			const struct store_account *a)
{
	int rc = sqlite3_bind_text(st, 1, a->name, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(st, 2, a->disabled);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(st, 3, a->configurable_turn);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 4, a->default_ttl);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 5, a->max_ttl);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 6, a->rate_per_s);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 7, a->rate_burst);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 8, a->issuer, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 9, store_turn_mode_str(a->mode), -1,
				       SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(st, 10, a->relay_only);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 11, a->user_rate_per_s);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 12, a->user_rate_burst);
	return store_sql_err(s, rc);
}

/* Runs an insert or update that returns the account's id; ENOENT when
 * no row matched. */
static int account_step_id(struct store *s, sqlite3_stmt *st, int64_t *id)
{
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return ENOENT;
	if (rc != SQLITE_ROW)
		return store_sql_err(s, rc);
	*id = sqlite3_column_int64(st, 0);
	/* RETURNING rows are produced first; finish the statement. */
	return store_sql_err(s, sqlite3_step(st));
}

static int server_url_insert(struct store *s, sqlite3_stmt *st, int64_t id,
			     int pos, const struct store_server *v)
{
	int err = 0;
	for (unsigned j = 0; !err && j < v->nurls; j++) {
		sqlite3_reset(st);
		int rc = sqlite3_bind_int64(st, 1, id);
		if (rc == SQLITE_OK)
			rc = sqlite3_bind_int(st, 2, pos);
		if (rc == SQLITE_OK)
			rc = sqlite3_bind_int(st, 3, (int)j);
		if (rc == SQLITE_OK)
			rc = sqlite3_bind_text(st, 4, v->urls[j], -1,
					       SQLITE_STATIC);
		err = store_sql_err(s, rc);
		if (!err)
			err = store_step_done(s, st);
	}
	return err;
}

static int server_insert(struct store *s, sqlite3_stmt *st, int64_t id,
			 int pos, const struct store_server *v)
{
	sqlite3_reset(st);
	int rc = sqlite3_bind_int64(st, 1, id);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(st, 2, pos);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 3, v->username, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 4, v->credential, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 5, v->secret, -1, SQLITE_STATIC);
	int err = store_sql_err(s, rc);
	return err ? err : store_step_done(s, st);
}

/* Deletes the account's servers (their urls cascade) and writes a's. */
static int servers_replace(struct store *s, int64_t id,
			   const struct store_account *a)
{
	sqlite3_stmt *del = NULL, *srv = NULL, *url = NULL;
	int err = store_prepare(s, "DELETE FROM servers WHERE account_id = ?1",
				&del);
	if (!err)
		err = store_sql_err(s, sqlite3_bind_int64(del, 1, id));
	if (!err)
		err = store_step_done(s, del);
	if (!err && a->nservers)
		err = store_prepare(s, "INSERT INTO servers (account_id, "
				    "position, username, credential, secret) "
				    "VALUES (?1, ?2, ?3, ?4, ?5)", &srv);
	if (!err && a->nservers)
		err = store_prepare(s, "INSERT INTO server_urls (account_id, "
				    "position, idx, url) "
				    "VALUES (?1, ?2, ?3, ?4)", &url);
	for (unsigned i = 0; !err && i < a->nservers; i++) {
		err = server_insert(s, srv, id, (int)i, &a->servers[i]);
		if (!err)
			err = server_url_insert(s, url, id, (int)i,
						&a->servers[i]);
	}
	sqlite3_finalize(del);
	sqlite3_finalize(srv);
	sqlite3_finalize(url);
	return err;
}

/* Shared by create and update: ?13 (created) only for the insert. */
struct account_write {
	struct store_account *a;
	const char *sql;
	int64_t id;
};

static int account_write_tx(struct store *s, void *arg)
{
	struct account_write *w = arg;
	sqlite3_stmt *st = NULL;
	int err = store_prepare(s, w->sql, &st);
	if (!err)
		err = account_bind(s, st, w->a);
	if (!err && sqlite3_bind_parameter_count(st) == 13)
		err = store_sql_err(s, sqlite3_bind_int64(st, 13,
							  w->a->created));
	if (!err)
		err = account_step_id(s, st, &w->id);
	sqlite3_finalize(st);
	if (!err)
		err = servers_replace(s, w->id, w->a);
	return err;
}

static int account_write(struct store *s, struct store_account *a,
			 const char *sql)
{
	struct account_write w = {a, sql, 0};
	if (!s || !a)
		return EINVAL;
	int err = store_account_validate(a, NULL);
	if (!err)
		err = store_tx(s, true, account_write_tx, &w);
	if (!err)
		a->id = w.id;
	return err;
}

int store_account_create(struct store *s, struct store_account *a)
{
	if (!a)
		return EINVAL;
	int64_t created = a->created;
	a->created = (int64_t)time(NULL);
	int err = account_write(s, a, account_insert_sql);
	if (err)
		a->created = created;
	return err;
}

int store_account_update(struct store *s, const struct store_account *a)
{
	/* account_write writes only id, and only on success; a copy keeps
	 * the caller's struct untouched as the const promises. */
	struct store_account copy;
	if (!a)
		return EINVAL;
	copy = *a;
	return account_write(s, &copy, account_update_sql);
}

struct account_get {
	const char *name;
	struct store_account *a;
};

static int account_name_bind(struct store *s, sqlite3_stmt *st,
			     const void *arg)
{
	const struct account_get *g = arg;
	return store_sql_err(s, sqlite3_bind_text(st, 1, g->name, -1,
						  SQLITE_STATIC));
}

static int account_get_tx(struct store *s, void *arg)
{
	struct account_get *g = arg;
	sqlite3_stmt *st = NULL, *srv = NULL;
	int err = store_prepare(s, "SELECT " STORE_ACCOUNT_COLS
				" FROM accounts WHERE name = ?1", &st);
	if (!err)
		err = account_name_bind(s, st, g);
	int rc = err ? SQLITE_OK : sqlite3_step(st);
	if (!err && rc != SQLITE_ROW)
		err = rc == SQLITE_DONE ? ENOENT : store_sql_err(s, rc);
	if (!err)
		err = store_account_row(st, g->a);
	if (!err)
		err = store_servers_stmt(s, &srv);
	if (!err)
		err = store_servers_load(s, srv, g->a->id, g->a);
	sqlite3_finalize(st);
	sqlite3_finalize(srv);
	return err;
}

int store_account_get(struct store *s, const char *name,
		      struct store_account *a)
{
	struct store_account tmp;
	struct account_get g = {name, &tmp};
	if (!s || !name || !a)
		return EINVAL;
	memset(&tmp, 0, sizeof(tmp));
	int err = store_tx(s, false, account_get_tx, &g);
	if (err)
		store_account_clear(&tmp);
	else
		*a = tmp;
	return err;
}

static int account_delete_tx(struct store *s, void *arg)
{
	return store_change(s, "DELETE FROM accounts WHERE name = ?1",
			    account_name_bind, arg);
}

int store_account_delete(struct store *s, const char *name)
{
	struct account_get g = {name, NULL};
	if (!s || !name)
		return EINVAL;
	/* Keys, servers and their urls go with it (ON DELETE CASCADE). */
	return store_tx(s, true, account_delete_tx, &g);
}

struct account_modify {
	const char *name;
	store_account_edit_h *fn;
	void *arg;
};

/* Read, edit and write back under one write lock: no other writer, in
 * this process or another (the CLI), commits in between, so concurrent
 * edits of different fields never undo each other. */
static int account_modify_tx(struct store *s, void *arg)
{
	struct account_modify *m = arg;
	struct store_account a;
	memset(&a, 0, sizeof(a));
	struct account_get g = {m->name, &a};
	int err = account_get_tx(s, &g);
	struct store_server *own = a.servers;
	if (!err)
		err = m->fn(&a, m->arg);
	if (!err)
		err = store_account_validate(&a, NULL);
	struct account_write w = {&a, account_update_sql, 0};
	if (!err)
		err = account_write_tx(s, &w);
	a.servers = own; /* fn may point it at its own array */
	store_account_clear(&a);
	return err;
}

int store_account_modify(struct store *s, const char *name,
			 store_account_edit_h *fn, void *arg)
{
	struct account_modify m = {name, fn, arg};
	if (!s || !name || !fn)
		return EINVAL;
	return store_tx(s, true, account_modify_tx, &m);
}
