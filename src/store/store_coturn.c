/* Reading coturn's SQLite user database, for operators moving from
 * coturn with users made by `turnadmin -a -b FILE`. Read-only, without
 * the store's migrations or WAL (coturn may still use the file): a
 * table coturn's schema has and this file lacks (older schemas had no
 * peer tables) reads as empty, but a file with none of them is not a
 * coturn database and says so. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "store/store.h"

static const struct {
	enum store_coturn_kind kind;
	const char *table;
	const char *sql;
} coturn_tables[] = {
	{STORE_COTURN_USER, "turnusers_lt",
	 "SELECT name, hmackey FROM turnusers_lt WHERE realm = ?1 ORDER BY name"},
	{STORE_COTURN_SECRET, "turn_secret",
	 "SELECT value, NULL FROM turn_secret WHERE realm = ?1"},
	{STORE_COTURN_ALLOWED, "allowed_peer_ip",
	 "SELECT ip_range, NULL FROM allowed_peer_ip WHERE realm = ?1"},
	{STORE_COTURN_DENIED, "denied_peer_ip",
	 "SELECT ip_range, NULL FROM denied_peer_ip WHERE realm = ?1"},
};

static bool coturn_has_table(sqlite3 *db, const char *name, int *rc)
{
	sqlite3_stmt *st = NULL;
	*rc = sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE "
				 "type = 'table' AND name = ?1", -1, &st, NULL);
	if (*rc == SQLITE_OK)
		*rc = sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	bool found = false;
	if (*rc == SQLITE_OK) {
		*rc = sqlite3_step(st);
		found = *rc == SQLITE_ROW;
		if (*rc == SQLITE_ROW || *rc == SQLITE_DONE)
			*rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return found;
}

/* Text of a column; a NULL value (a row with no name) reads as "". */
static const char *coturn_col(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	return t ? (const char *)t : "";
}

static int coturn_rows(sqlite3 *db, unsigned i, const char *realm,
		       store_coturn_h *h, void *arg, char *why, size_t whysz)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, coturn_tables[i].sql, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, realm, -1, SQLITE_STATIC);
	int err = 0;
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *key = coturn_tables[i].kind == STORE_COTURN_USER
				  ? coturn_col(st, 1) : NULL;
		if ((err = h(arg, coturn_tables[i].kind, coturn_col(st, 0), key)))
			break;
		rc = SQLITE_OK;
	}
	if (!err && rc != SQLITE_DONE) {
		snprintf(why, whysz, "reading table %s: %s", coturn_tables[i].table,
			 sqlite3_errmsg(db));
		err = EIO;
	}
	sqlite3_finalize(st);
	return err;
}

static int coturn_read(sqlite3 *db, const char *realm, store_coturn_h *h,
		       void *arg, char *why, size_t whysz)
{
	unsigned found = 0;
	for (unsigned i = 0; i < sizeof(coturn_tables) / sizeof(coturn_tables[0]); i++) {
		int rc;
		bool has = coturn_has_table(db, coturn_tables[i].table, &rc);
		if (rc != SQLITE_OK) {
			snprintf(why, whysz, "%s", sqlite3_errmsg(db));
			return EIO;
		}
		if (!has)
			continue;
		found++;
		int err = coturn_rows(db, i, realm, h, arg, why, whysz);
		if (err)
			return err;
	}
	if (found == 0) {
		snprintf(why, whysz, "no table of coturn's (turnusers_lt, "
			 "turn_secret, ...): not a coturn user database");
		return EIO;
	}
	return 0;
}

int store_coturn_read(const char *path, const char *realm, store_coturn_h *h,
		      void *arg, char *why, size_t whysz)
{
	sqlite3 *db = NULL;
	why[0] = '\0';
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
	if (rc != SQLITE_OK) {
		int err = sqlite3_system_errno(db) ? sqlite3_system_errno(db) : EIO;
		snprintf(why, whysz, "%s", db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return err;
	}
	sqlite3_busy_timeout(db, 2000); /* coturn or turnadmin may be writing */
	int err = coturn_read(db, realm, h, arg, why, whysz);
	sqlite3_close(db);
	return err;
}
