/* Reading rows back into structs, shared by store_account_get and the
 * snapshot. A row that does not fit its struct means the file was edited
 * behind our back: EIO rather than a truncated name or a missing server. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

int store_col_text(sqlite3_stmt *st, int col, char *buf, size_t sz)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	int n = sqlite3_column_bytes(st, col);
	if (!t || n < 0 || (size_t)n >= sz)
		return EIO;
	memcpy(buf, t, (size_t)n);
	buf[n] = '\0';
	return 0;
}

static int row_u32(sqlite3_stmt *st, int col, uint32_t *v)
{
	int64_t x = sqlite3_column_int64(st, col);
	if (x < 0 || x > UINT32_MAX)
		return EIO;
	*v = (uint32_t)x;
	return 0;
}

static int row_limits(sqlite3_stmt *st, struct store_account *a)
{
	int err = row_u32(st, 4, &a->default_ttl);
	if (!err)
		err = row_u32(st, 5, &a->max_ttl);
	if (!err)
		err = row_u32(st, 6, &a->rate_per_s);
	if (!err)
		err = row_u32(st, 7, &a->rate_burst);
	if (!err)
		err = row_u32(st, 12, &a->user_rate_per_s);
	if (!err)
		err = row_u32(st, 13, &a->user_rate_burst);
	return err;
}

/* Columns as in STORE_ACCOUNT_COLS. a->servers is left empty. */
int store_account_row(sqlite3_stmt *st, struct store_account *a)
{
	char mode[16];
	memset(a, 0, sizeof(*a));
	a->id = sqlite3_column_int64(st, 0);
	a->disabled = sqlite3_column_int(st, 2) != 0;
	a->configurable_turn = sqlite3_column_int(st, 3) != 0;
	a->relay_only = sqlite3_column_int(st, 10) != 0;
	a->created = sqlite3_column_int64(st, 11);
	int err = store_col_text(st, 1, a->name, sizeof(a->name));
	if (!err)
		err = row_limits(st, a);
	if (!err)
		err = store_col_text(st, 8, a->issuer, sizeof(a->issuer));
	if (!err)
		err = store_col_text(st, 9, mode, sizeof(mode));
	if (!err && store_turn_mode_parse(mode, &a->mode) != 0)
		err = EIO;
	return err;
}

int store_servers_stmt(struct store *s, sqlite3_stmt **stp)
{
	return store_prepare(s,
		"SELECT s.position, s.username, s.credential, s.secret, "
		"u.idx, u.url FROM servers s JOIN server_urls u "
		"ON u.account_id = s.account_id AND u.position = s.position "
		"WHERE s.account_id = ?1 ORDER BY s.position, u.idx", stp);
}

/* The first url row of server number *n: its credentials. */
static int servers_row_new(sqlite3_stmt *st, struct store_server *v)
{
	int err = store_col_text(st, 1, v->username, sizeof(v->username));
	if (!err)
		err = store_col_text(st, 2, v->credential,
				     sizeof(v->credential));
	if (!err)
		err = store_col_text(st, 3, v->secret, sizeof(v->secret));
	return err;
}

/* Rows arrive by (position, idx); both must count up from 0 unbroken. */
static int servers_row(sqlite3_stmt *st, struct store_server *tmp,
		       unsigned *n)
{
	int64_t pos = sqlite3_column_int64(st, 0);
	int64_t idx = sqlite3_column_int64(st, 4);
	if (pos == *n && idx == 0 && *n < STORE_SERVERS_MAX) {
		int err = servers_row_new(st, &tmp[*n]);
		if (err)
			return err;
		(*n)++;
	} else if (*n == 0 || pos != *n - 1) {
		return EIO;
	}
	struct store_server *v = &tmp[*n - 1];
	if (idx != v->nurls || v->nurls >= STORE_URLS_MAX)
		return EIO;
	int err = store_col_text(st, 5, v->urls[v->nurls], STORE_URL_MAX);
	if (!err)
		v->nurls++;
	return err;
}

int store_servers_load(struct store *s, sqlite3_stmt *st, int64_t id,
		       struct store_account *a)
{
	struct store_server tmp[STORE_SERVERS_MAX];
	unsigned n = 0;
	int rc = SQLITE_DONE;
	memset(tmp, 0, sizeof(tmp));
	sqlite3_reset(st);
	int err = store_sql_err(s, sqlite3_bind_int64(st, 1, id));
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW)
		err = servers_row(st, tmp, &n);
	if (!err)
		err = store_sql_err(s, rc);
	if (!err && n) {
		a->servers = malloc(n * sizeof(tmp[0]));
		err = a->servers ? 0 : ENOMEM;
	}
	if (!err && n) {
		memcpy(a->servers, tmp, n * sizeof(tmp[0]));
		a->nservers = n;
	}
	/* Credentials were on the stack; leave no copy behind. */
	explicit_bzero(tmp, sizeof(tmp));
	return err;
}
