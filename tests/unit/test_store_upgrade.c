/* store, schema upgrades: a file as each older release left it, built
 * here by hand with raw SQL (not with the store's own migrations), opens
 * with every row kept; a step that fails leaves the file at its old
 * version; a file of a newer schema or of another program is refused
 * and left byte for byte as it was. */
#include <errno.h>
#include <sys/stat.h>

#include "store_fixture.h"

/* What each release added, as it shipped: index i is schema i + 1. */
static const char *const old_schema[] = {
	"CREATE TABLE accounts (id INTEGER PRIMARY KEY,"
	" name TEXT NOT NULL UNIQUE, disabled INTEGER NOT NULL DEFAULT 0,"
	" configurable_turn INTEGER NOT NULL DEFAULT 0,"
	" default_ttl INTEGER NOT NULL, max_ttl INTEGER NOT NULL,"
	" rate_per_s INTEGER NOT NULL, rate_burst INTEGER NOT NULL,"
	" issuer TEXT NOT NULL, mode TEXT NOT NULL"
	" CHECK (mode IN ('platform', 'override', 'fallback')),"
	" relay_only INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL);"
	"CREATE TABLE keys (id INTEGER PRIMARY KEY, account_id INTEGER NOT"
	" NULL REFERENCES accounts(id) ON DELETE CASCADE, kid TEXT NOT NULL"
	" UNIQUE, alg TEXT NOT NULL, material BLOB NOT NULL,"
	" created INTEGER NOT NULL);"
	"CREATE INDEX keys_account ON keys(account_id);"
	"CREATE TABLE servers (account_id INTEGER NOT NULL REFERENCES"
	" accounts(id) ON DELETE CASCADE, position INTEGER NOT NULL,"
	" username TEXT NOT NULL DEFAULT '', credential TEXT NOT NULL"
	" DEFAULT '', secret TEXT NOT NULL DEFAULT '',"
	" PRIMARY KEY (account_id, position));"
	"CREATE TABLE server_urls (account_id INTEGER NOT NULL, position"
	" INTEGER NOT NULL, idx INTEGER NOT NULL, url TEXT NOT NULL,"
	" PRIMARY KEY (account_id, position, idx), FOREIGN KEY (account_id,"
	" position) REFERENCES servers(account_id, position)"
	" ON DELETE CASCADE);"
	"INSERT INTO accounts VALUES (7, 'acme', 0, 1, 3600, 7200, 40, 80,"
	" 'acme-iss', 'fallback', 1, 1700000000),"
	" (9, 'beta', 1, 0, 60, 60, 0, 0, 'beta', 'platform', 0, 1700000001);"
	"INSERT INTO keys VALUES (3, 7, 'acme-k1', 'HS256',"
	" CAST('0123456789abcdef0123456789abcdef' AS BLOB), 1700000002);"
	"INSERT INTO servers VALUES (7, 0, 'u', 'c', ''), (7, 1, '', '', 'shh');"
	"INSERT INTO server_urls VALUES"
	" (7, 0, 0, 'turn:198.51.100.7:3478?transport=udp'),"
	" (7, 0, 1, 'turns:198.51.100.7:5349?transport=tcp'),"
	" (7, 1, 0, 'turn:203.0.113.9:3478');",

	"CREATE TABLE usage (id INTEGER PRIMARY KEY, account TEXT NOT NULL,"
	" user_id TEXT NOT NULL, username TEXT NOT NULL, realm TEXT NOT NULL,"
	" transport TEXT NOT NULL, family INTEGER NOT NULL,"
	" start INTEGER NOT NULL, end INTEGER NOT NULL,"
	" c2p_bytes INTEGER NOT NULL, c2p_packets INTEGER NOT NULL,"
	" p2c_bytes INTEGER NOT NULL, p2c_packets INTEGER NOT NULL,"
	" reason TEXT NOT NULL);"
	"CREATE INDEX usage_account_end ON usage(account, end);"
	"INSERT INTO usage VALUES (1, 'acme', 'alice', '1700000600:acme:alice',"
	" 'turnstone', 'udp', 4, 1700000000, 1700000060, 100, 2, 200, 3,"
	" 'expired');",

	"ALTER TABLE accounts ADD COLUMN user_rate_per_s INTEGER NOT NULL"
	" DEFAULT 0;"
	"ALTER TABLE accounts ADD COLUMN user_rate_burst INTEGER NOT NULL"
	" DEFAULT 0;"
	"UPDATE accounts SET user_rate_per_s = 5, user_rate_burst = 6"
	" WHERE name = 'acme';",

	"CREATE TABLE blocks (account_id INTEGER NOT NULL REFERENCES"
	" accounts(id) ON DELETE CASCADE, sub TEXT NOT NULL,"
	" created INTEGER NOT NULL, PRIMARY KEY (account_id, sub));"
	"INSERT INTO blocks VALUES (7, 'mallory', 1700000003);",
};
#define OLD_VERSIONS (int)(sizeof(old_schema) / sizeof(old_schema[0]))

/* f->dir/name as release `version` left it: its tables and sample rows,
 * in rollback-journal mode as a plain sqlite3 shell makes it. */
static void old_file(const struct fx *f, int version, const char *name,
		     char *path, size_t sz)
{
	char sql[64];
	fx_file(f, name, "", 0, path, sz);
	for (int i = 0; i < version; i++)
		raw_exec(path, old_schema[i]);
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", version);
	raw_exec(path, sql);
}

static void assert_acme_kept(struct store *s, int from)
{
	struct store_account a;
	assert_int_equal(store_account_get(s, "acme", &a), 0);
	assert_int_equal(a.id, 7);
	assert_false(a.disabled);
	assert_true(a.configurable_turn);
	assert_int_equal(a.default_ttl, 3600);
	assert_int_equal(a.max_ttl, 7200);
	assert_int_equal(a.rate_per_s, 40);
	assert_int_equal(a.rate_burst, 80);
	assert_string_equal(a.issuer, "acme-iss");
	assert_int_equal(a.mode, STORE_TURN_FALLBACK);
	assert_true(a.relay_only);
	assert_int_equal(a.created, 1700000000);
	/* Before schema 3 there was no per-user limit: it comes up off. */
	assert_int_equal(a.user_rate_per_s, from >= 3 ? 5 : 0);
	assert_int_equal(a.user_rate_burst, from >= 3 ? 6 : 0);
	assert_int_equal(a.nservers, 2);
	assert_int_equal(a.servers[0].nurls, 2);
	assert_string_equal(a.servers[0].urls[1],
			    "turns:198.51.100.7:5349?transport=tcp");
	assert_string_equal(a.servers[0].username, "u");
	assert_string_equal(a.servers[0].credential, "c");
	assert_string_equal(a.servers[1].urls[0], "turn:203.0.113.9:3478");
	assert_string_equal(a.servers[1].secret, "shh");
	store_account_clear(&a);
	assert_int_equal(store_account_get(s, "beta", &a), 0);
	assert_true(a.disabled);
	store_account_clear(&a);
}

static void assert_rest_kept(struct store *s, int from)
{
	struct store_snap *snap = NULL;
	struct store_usage *u = NULL;
	size_t n = 0;
	assert_int_equal(store_snapshot(s, &snap), 0);
	const struct store_key *k = store_snap_key(snap, "acme-k1");
	assert_non_null(k);
	assert_string_equal(k->account, "acme");
	assert_string_equal(k->alg, "HS256");
	assert_int_equal(k->len, 32);
	assert_memory_equal(k->material, "0123456789abcdef0123456789abcdef", 32);
	assert_int_equal(k->created, 1700000002);
	assert_int_equal(snap->nblocks, from >= 4 ? 1 : 0);
	if (from >= 4)
		assert_non_null(store_snap_block(snap, "acme", "mallory"));
	store_snap_free(snap);
	assert_int_equal(store_usage_list(s, "acme", 0, 10, &u, &n), 0);
	assert_int_equal(n, from >= 2 ? 1 : 0);
	if (n) {
		assert_string_equal(u[0].username, "1700000600:acme:alice");
		assert_int_equal(u[0].end, 1700000060);
		assert_int_equal(u[0].p2c_packets, 3);
		assert_string_equal(u[0].reason, "expired");
	}
	free(u);
}

/* Every older schema upgrades to the current one with every row kept,
 * and the newer parts work on it: a delete leaves its name (schema 5). */
static void test_upgrade_each_version(void **state)
{
	struct fx *f = *state;
	char path[128], name[16];
	for (int v = 1; v <= OLD_VERSIONS; v++) {
		struct store *s = NULL;
		struct store_snap *snap = NULL;
		snprintf(name, sizeof(name), "v%d.db", v);
		old_file(f, v, name, path, sizeof(path));
		assert_int_equal(store_open(&s, path), 0);
		assert_int_equal(raw_int(path, "PRAGMA user_version"),
				 OLD_VERSIONS + 1);
		assert_acme_kept(s, v);
		assert_rest_kept(s, v);
		assert_int_equal(store_block_add(s, "acme", "eve"), 0);
		assert_int_equal(store_account_delete(s, "beta"), 0);
		assert_int_equal(store_snapshot(s, &snap), 0);
		assert_int_equal(snap->ndeleted, 1);
		assert_string_equal(snap->deleted[0], "beta");
		store_snap_free(snap);
		store_close(s);
	}
}

/* A step that fails half way (its second statement here: a column that
 * should not be there yet) rolls back whole: the file stays at schema 2
 * with its rows, and opens once the obstacle is gone. */
static void test_upgrade_step_fails_whole(void **state)
{
	struct fx *f = *state;
	char path[128];
	struct store *s = NULL;
	old_file(f, 2, "half.db", path, sizeof(path));
	raw_exec(path, "ALTER TABLE accounts ADD COLUMN user_rate_burst INTEGER");
	log_quiet(true);
	assert_int_equal(store_open(&s, path), EIO);
	log_quiet(false);
	assert_null(s);
	assert_int_equal(raw_int(path, "PRAGMA user_version"), 2);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM "
				 "pragma_table_info('accounts') WHERE name = "
				 "'user_rate_per_s'"), 0);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM accounts"), 2);
	raw_exec(path, "ALTER TABLE accounts DROP COLUMN user_rate_burst");
	assert_int_equal(store_open(&s, path), 0);
	assert_acme_kept(s, 2);
	store_close(s);
}

/* The whole file, to compare before and after. */
static size_t file_read(const char *path, char *buf, size_t sz)
{
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	ssize_t n = read(fd, buf, sz);
	close(fd);
	assert_true(n > 0 && (size_t)n < sz);
	return (size_t)n;
}

/* store_open(path) fails with EIO, logging want, and the file is left
 * exactly as it was (no WAL switch, no tables) with no -wal beside it. */
static void assert_refused_unchanged(const char *path, const char *want)
{
	static char before[65536], after[65536];
	char wal[160], *logbuf = NULL;
	struct store *s = NULL;
	size_t n = file_read(path, before, sizeof(before));
	assert_int_equal(store_open_logged(&s, path, &logbuf), EIO);
	assert_null(s);
	assert_non_null(strstr(logbuf, want));
	assert_non_null(strstr(logbuf, path));
	free(logbuf);
	assert_int_equal(file_read(path, after, sizeof(after)), n);
	assert_memory_equal(before, after, n);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	assert_int_equal(access(wal, F_OK), -1);
}

/* Regression: a newer schema was refused only after the file had been
 * switched to WAL mode (its header rewritten). */
static void test_newer_schema_untouched(void **state)
{
	struct fx *f = *state;
	char path[128];
	old_file(f, 4, "newer.db", path, sizeof(path));
	raw_exec(path, "CREATE TABLE from_the_future (x); "
		       "PRAGMA user_version = 6");
	assert_refused_unchanged(path, "schema version 6 is newer");
}

/* Regression: another program's SQLite file (coturn's userdb, given as
 * db by mistake) was taken for a new store: switched to WAL and filled
 * with our tables. */
static void test_foreign_database_untouched(void **state)
{
	struct fx *f = *state;
	char path[128];
	fx_file(f, "turndb", "", 0, path, sizeof(path));
	raw_exec(path, "CREATE TABLE turnusers_lt (realm varchar(127) default "
		       "'', name varchar(512), hmackey char(128), PRIMARY KEY "
		       "(realm,name)); INSERT INTO turnusers_lt VALUES "
		       "('test', 'bob', 'k2');");
	assert_refused_unchanged(path, "another program");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_upgrade_each_version),
		T(test_upgrade_step_fails_whole),
		T(test_newer_schema_untouched),
		T(test_foreign_database_untouched),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
