/* userdb.c, compiled here with a user limit small enough to reach: a
 * coturn user database of as many users as the limit loads, one more is
 * refused naming the limit. */
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_user_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
