/* userdb.c, compiled here with a user limit small enough to reach: a
 * coturn user database of as many users as the limit loads, one more is
 * refused naming the limit; rows that cannot be used fail the load. */
#define USERDB_MAX_USERS 100
#include "server/userdb.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "server/config.h"
#include "turn/policy.h"

/* A coturn database (turnadmin's schema) with n users of realm test. */
static void make_db(const char *path, unsigned n)
{
	sqlite3 *db = NULL;
	char sql[512];
	unlink(path);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	snprintf(sql, sizeof(sql),
		 "CREATE TABLE turnusers_lt (realm varchar(127) default '', "
		 "name varchar(512), hmackey char(128), PRIMARY KEY (realm,name));"
		 "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
		 "WHERE x < %u) INSERT INTO turnusers_lt SELECT 'test', 'u' || x, "
		 "'0123456789abcdef0123456789abcdef' FROM c;", n);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* server_userdb_load on path; its messages in *errtext (caller frees). */
static int load(const char *path, struct turn_users *users, char **errtext)
{
	struct config *c = calloc(1, sizeof(*c));
	struct turn_cfg *t = calloc(1, sizeof(*t));
	struct peer_policy *p = NULL;
	size_t len = 0;
	FILE *err = open_memstream(errtext, &len);
	assert_non_null(c);
	assert_non_null(t);
	assert_non_null(err);
	assert_int_equal(peer_policy_alloc(&p), 0);
	config_defaults(c);
	snprintf(c->userdb, sizeof(c->userdb), "%s", path);
	snprintf(t->realm, sizeof(t->realm), "test");
	int rc = server_userdb_load(c, t, users, p, err);
	fclose(err);
	peer_policy_free(p);
	free(t);
	free(c);
	return rc;
}

/* Regression: the table grew by doubling and refused to pass the limit,
 * so above 64 * 2^k users (for the real limit, 524288 of 1000000) the
 * start failed with "too many users (at most ...)". */
static void test_user_limit(void **state)
{
	(void)state;
	char dir[] = "/tmp/ts_userdb_XXXXXX", path[64];
	char *text = NULL;
	struct turn_users users;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/turndb", dir);
	make_db(path, USERDB_MAX_USERS);
	assert_int_equal(load(path, &users, &text), 0);
	assert_string_equal(text, "");
	free(text);
	assert_int_equal(users.n, USERDB_MAX_USERS);
	const struct turn_user *u = turn_users_find(&users, "u100");
	assert_non_null(u);
	assert_true(u->md5_only);
	turn_users_free(&users);
	make_db(path, USERDB_MAX_USERS + 1);
	assert_int_equal(load(path, &users, &text), ENOMEM);
	assert_non_null(strstr(text, "'userdb': too many users (at most 100)"));
	free(text);
	unlink(path);
	rmdir(dir);
}

/* A coturn database of one user (al) plus the rows sql inserts. */
static void make_db_with(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	unlink(path);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
		"CREATE TABLE turnusers_lt (realm varchar(127) default '', "
		"name varchar(512), hmackey char(128));"
		"CREATE TABLE turn_secret (realm varchar(127) default '', "
		"value varchar(127));"
		"CREATE TABLE denied_peer_ip (realm varchar(127) default '', "
		"ip_range varchar(256));"
		"INSERT INTO turnusers_lt VALUES "
		"('test', 'al', '0123456789abcdef0123456789abcdef');",
		NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* What a userdb holds that cannot be used fails the load, saying what
 * and naming 'userdb', never a secret; nothing is left allocated. */
static void test_bad_rows(void **state)
{
	(void)state;
	static const struct {
		const char *sql, *want;
	} cases[] = {
		{"INSERT INTO turnusers_lt VALUES ('test', 'al', "
		 "'fedcba9876543210fedcba9876543210');",
		 "'userdb': a user name occurs twice"},
		{"INSERT INTO turnusers_lt VALUES ('test', NULL, "
		 "'fedcba9876543210fedcba9876543210');",
		 "is empty or longer than 255 bytes"},
		{"INSERT INTO turnusers_lt VALUES ('test', 'bo', 'c2VjcmV0');",
		 "'userdb': user 'bo' has a key that is not 32 hex digits"},
		{"INSERT INTO turn_secret VALUES ('test', '');",
		 "a shared secret of table turn_secret is empty"},
		{"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
		 "WHERE x < 9) INSERT INTO turn_secret SELECT 'test', "
		 "'leaked-secret-' || x FROM c;",
		 "or one too many (with 'static-auth-secret', at most 8)"},
		{"INSERT INTO denied_peer_ip VALUES ('test', '10.0.0.300');",
		 "invalid address or range '10.0.0.300' in table denied_peer_ip"},
	};
	char dir[] = "/tmp/ts_userdb_XXXXXX", path[64];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/turndb", dir);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = NULL;
		struct turn_users users;
		make_db_with(path, cases[i].sql);
		assert_int_not_equal(load(path, &users, &text), 0);
		if (!strstr(text, cases[i].want))
			fail_msg("case %zu: '%s' lacks '%s'", i, text, cases[i].want);
		assert_null(strstr(text, "leaked-secret"));
		assert_null(strstr(text, "fedcba"));
		free(text);
	}
	/* The same rows of another realm are not read at all. */
	char *text = NULL;
	struct turn_users users;
	make_db_with(path, "INSERT INTO turn_secret VALUES ('other', '');"
		     "INSERT INTO denied_peer_ip VALUES ('other', 'x');");
	assert_int_equal(load(path, &users, &text), 0);
	assert_int_equal(users.n, 1);
	turn_users_free(&users);
	free(text);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_user_limit),
		cmocka_unit_test(test_bad_rows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
