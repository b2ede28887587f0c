/* Usage records: appended in batches by the daemon's usage writer thread,
 * read by the admin API (GET /v1/admin/usage). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

struct usage_batch {
	const struct store_usage *u;
	size_t n;
};

static int usage_bind(sqlite3_stmt *st, const struct store_usage *u)
{
	const char *txt[] = {u->account, u->userid, u->username, u->realm,
			     u->transport, u->reason};
	int rc = SQLITE_OK;
	for (int i = 0; i < 6 && rc == SQLITE_OK; i++)
		rc = sqlite3_bind_text(st, i + 1, txt[i], -1, SQLITE_STATIC);
	const int64_t num[] = {u->family, u->start, u->end,
			       (int64_t)u->c2p_bytes, (int64_t)u->c2p_packets,
			       (int64_t)u->p2c_bytes, (int64_t)u->p2c_packets};
	for (int i = 0; i < 7 && rc == SQLITE_OK; i++)
		rc = sqlite3_bind_int64(st, i + 7, num[i]);
	return rc;
}

static int usage_add_tx(struct store *s, void *arg)
{
	const struct usage_batch *b = arg;
	sqlite3_stmt *st = NULL;
	int err = store_prepare(s,
		"INSERT INTO usage (account, user_id, username, realm, transport,"
		" reason, family, start, end, c2p_bytes, c2p_packets, p2c_bytes,"
		" p2c_packets) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,"
		" ?11, ?12, ?13)", &st);
	for (size_t i = 0; !err && i < b->n; i++) {
		sqlite3_reset(st);
		err = store_sql_err(s, usage_bind(st, &b->u[i]));
		if (!err)
			err = store_step_done(s, st);
	}
	sqlite3_finalize(st);
	return err;
}

int store_usage_add(struct store *s, const struct store_usage *u, size_t n)
{
	struct usage_batch b = {u, n};
	if (n == 0)
		return 0;
	return store_tx(s, true, usage_add_tx, &b);
}

struct usage_query {
	const char *account;
	int64_t since;
	size_t max;
	struct store_usage *out;
	size_t n;
};

static int usage_row(sqlite3_stmt *st, struct store_usage *u)
{
	memset(u, 0, sizeof(*u));
	char *txt[] = {u->account, u->userid, u->username, u->realm,
		       u->transport, u->reason};
	size_t sz[] = {sizeof(u->account), sizeof(u->userid), sizeof(u->username),
		       sizeof(u->realm), sizeof(u->transport), sizeof(u->reason)};
	for (int i = 0; i < 6; i++)
		if (store_col_text(st, i, txt[i], sz[i]) != 0)
			return EIO;
	u->family = sqlite3_column_int(st, 6);
	u->start = sqlite3_column_int64(st, 7);
	u->end = sqlite3_column_int64(st, 8);
	u->c2p_bytes = (uint64_t)sqlite3_column_int64(st, 9);
	u->c2p_packets = (uint64_t)sqlite3_column_int64(st, 10);
	u->p2c_bytes = (uint64_t)sqlite3_column_int64(st, 11);
	u->p2c_packets = (uint64_t)sqlite3_column_int64(st, 12);
	return 0;
}

static int usage_list_tx(struct store *s, void *arg)
{
	struct usage_query *q = arg;
	sqlite3_stmt *st = NULL;
	int err = store_prepare(s,
		"SELECT account, user_id, username, realm, transport, reason,"
		" family, start, end, c2p_bytes, c2p_packets, p2c_bytes,"
		" p2c_packets FROM usage WHERE account = ?1 AND end >= ?2"
		" ORDER BY end, id LIMIT ?3", &st);
	if (!err)
		err = store_sql_err(s, sqlite3_bind_text(st, 1, q->account, -1,
							 SQLITE_STATIC));
	if (!err)
		err = store_sql_err(s, sqlite3_bind_int64(st, 2, q->since));
	if (!err)
		err = store_sql_err(s, sqlite3_bind_int64(st, 3, (int64_t)q->max));
	int rc = SQLITE_DONE;
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW)
		err = usage_row(st, &q->out[q->n++]);
	if (!err && rc != SQLITE_DONE)
		err = store_sql_err(s, rc);
	sqlite3_finalize(st);
	return err;
}

int store_usage_list(struct store *s, const char *account, int64_t since,
		     size_t max, struct store_usage **out, size_t *n)
{
	struct usage_query q = {account, since, max, NULL, 0};
	if (!account || max == 0 || max > 100000)
		return EINVAL;
	q.out = calloc(max, sizeof(*q.out));
	if (!q.out)
		return ENOMEM;
	int err = store_tx(s, false, usage_list_tx, &q);
	if (err) {
		free(q.out);
		return err;
	}
	*out = q.out;
	*n = q.n;
	return 0;
}
