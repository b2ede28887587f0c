/* store, the file itself: persistence across reopen, the data version
 * seen across connections, migrations (from an empty file, refusing a
 * newer schema), store_check against a damaged, removed or replaced file,
 * and concurrent writers. */
#include <errno.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "store_fixture.h"

static void test_reopen(void **state)
{
	struct fx *f = *state;
	struct store_account a, b;
	account_paid(&a, "acme");
	assert_int_equal(store_account_create(f->s, &a), 0);
	key_add(f->s, "acme", "k1", "0123456789abcdef0123456789abcdef");
	store_close(f->s);
	f->s = NULL;
	assert_int_equal(store_open(&f->s, f->path), 0);
	assert_int_equal(store_account_get(f->s, "acme", &b), 0);
	assert_account_equal(&a, &b);
	store_account_clear(&a);
	store_account_clear(&b);
	assert_int_equal(store_key_remove(f->s, "acme", "k1"), 0);
	/* The settings that make concurrent writers safe. */
	assert_int_equal(raw_int(f->path, "PRAGMA user_version"), 5);
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* Regression: a store created by the CLI under umask 022 was 0644, its
 * TURN secrets and HS256 keys readable by every local user. */
static void test_new_file_private(void **state)
{
	struct fx *f = *state;
	char path[160];
	struct stat sb;
	struct store *s = NULL;
	snprintf(path, sizeof(path), "%s/new.db", f->dir);
	mode_t old = umask(022);
	int err = store_open(&s, path);
	umask(old);
	assert_int_equal(err, 0);
	struct store_account a;
	account_paid(&a, "acme");
	assert_int_equal(store_account_create(s, &a), 0);
	store_account_clear(&a);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s/new.db-wal", f->dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	store_close(s);
}

static void test_data_version(void **state)
{
	struct fx *f = *state;
	struct store *other = NULL;
	struct store_account a;
	uint64_t v0, v1, v2, v3;
	assert_int_equal(store_open(&other, f->path), 0);
	assert_int_equal(store_data_version(f->s, &v0), 0);
	assert_int_equal(store_data_version(f->s, &v1), 0);
	assert_true(v0 == v1);

	store_account_init(&a, "acme");
	assert_int_equal(store_account_create(other, &a), 0);
	assert_int_equal(store_data_version(f->s, &v1), 0);
	assert_true(v1 != v0);

	/* Our own commits count too. */
	assert_int_equal(store_account_delete(f->s, "acme"), 0);
	assert_int_equal(store_data_version(f->s, &v2), 0);
	assert_true(v2 != v1);
	/* A failed write commits nothing. */
	assert_int_equal(store_account_delete(f->s, "acme"), ENOENT);
	assert_int_equal(store_data_version(f->s, &v3), 0);
	assert_true(v3 == v2);
	store_close(other);
}

static void test_migrate_empty_file(void **state)
{
	struct fx *f = *state;
	char path[128];
	struct store *s = NULL;
	struct store_account a;
	fx_file(f, "empty.db", "", 0, path, sizeof(path));
	assert_int_equal(store_open(&s, path), 0);
	store_account_init(&a, "acme");
	assert_int_equal(store_account_create(s, &a), 0);
	store_close(s);
	assert_int_equal(raw_int(path, "PRAGMA user_version"), 5);
	/* Opening again runs nothing twice. */
	assert_int_equal(store_open(&s, path), 0);
	store_close(s);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM accounts"), 1);
}

/* Schema 3 added the per-user API limit: an account made under schema 2
 * gets it off (an upgrade throttles nobody), and keeps everything else;
 * a new account gets the default. */
static void test_migrate_user_rate(void **state)
{
	struct fx *f = *state;
	struct store_account a, b;
	store_account_init(&a, "acme");
	a.rate_per_s = 40;
	assert_int_equal(store_account_create(f->s, &a), 0);
	store_close(f->s);
	f->s = NULL;
	/* Back to schema 2 as it was: without the two columns. */
	raw_exec(f->path, "ALTER TABLE accounts DROP COLUMN user_rate_per_s");
	raw_exec(f->path, "ALTER TABLE accounts DROP COLUMN user_rate_burst");
	raw_exec(f->path, "DROP TABLE blocks"); /* schema 4 */
	raw_exec(f->path, "DROP TRIGGER accounts_deleted; " /* schema 5 */
		 "DROP TRIGGER accounts_created; DROP TABLE deleted_accounts");
	raw_exec(f->path, "PRAGMA user_version = 2");
	assert_int_equal(store_open(&f->s, f->path), 0);
	assert_int_equal(raw_int(f->path, "PRAGMA user_version"), 5);
	assert_int_equal(store_account_get(f->s, "acme", &b), 0);
	assert_int_equal(b.user_rate_per_s, 0);
	assert_int_equal(b.user_rate_burst, 0);
	assert_int_equal(b.rate_per_s, 40);
	struct store_account n, m;
	store_account_init(&n, "newer");
	assert_int_equal(store_account_create(f->s, &n), 0);
	assert_int_equal(store_account_get(f->s, "newer", &m), 0);
	assert_int_equal(m.user_rate_per_s, 10);
	assert_int_equal(m.user_rate_burst, 50);
	store_account_clear(&n);
	store_account_clear(&m);
	store_account_clear(&a);
	store_account_clear(&b);
}

/* coturn's user database (userdb), read-only: the rows of one realm. */
struct coturn_rows {
	char text[512];
	int stop_at, seen;
};

static int coturn_row(void *arg, enum store_coturn_kind kind, const char *v,
		      const char *key)
{
	struct coturn_rows *r = arg;
	size_t n = strlen(r->text);
	snprintf(r->text + n, sizeof(r->text) - n, "%d:%s:%s;", (int)kind, v,
		 key ? key : "-");
	return ++r->seen == r->stop_at ? ENOSPC : 0;
}

static void test_coturn_userdb(void **state)
{
	struct fx *f = *state;
	char path[128], why[256];
	struct coturn_rows r = {0};
	fx_file(f, "turndb", "", 0, path, sizeof(path));
	raw_exec(path, "CREATE TABLE turnusers_lt (realm varchar(127) default '', "
		 "name varchar(512), hmackey char(128), PRIMARY KEY (realm,name));"
		 "CREATE TABLE turn_secret (realm varchar(127) default '', "
		 "value varchar(127), primary key (realm,value));"
		 "INSERT INTO turnusers_lt VALUES ('test', 'bob', 'k2'), "
		 "('test', 'al', 'k1'), ('other', 'x', 'k3');"
		 "INSERT INTO turn_secret VALUES ('test', 's1'), ('other', 's2');");
	/* No peer tables (older schemas): they read as empty. */
	assert_int_equal(store_coturn_read(path, "test", coturn_row, &r, why,
					   sizeof(why)), 0);
	assert_string_equal(r.text, "0:al:k1;0:bob:k2;1:s1:-;");
	/* The callback's error stops the read and comes back. */
	memset(&r, 0, sizeof(r));
	r.stop_at = 1;
	assert_int_equal(store_coturn_read(path, "test", coturn_row, &r, why,
					   sizeof(why)), ENOSPC);
	assert_int_equal(r.seen, 1);
	/* Read-only: the file is not changed (no WAL, no migrations). */
	assert_int_equal(raw_int(path, "PRAGMA user_version"), 0);
	/* Not coturn's, or not there. */
	fx_file(f, "ours.db", "", 0, path, sizeof(path));
	raw_exec(path, "CREATE TABLE accounts (x);");
	assert_int_equal(store_coturn_read(path, "test", coturn_row, &r, why,
					   sizeof(why)), EIO);
	assert_non_null(strstr(why, "not a coturn user database"));
	snprintf(path, sizeof(path), "%s/none", f->dir);
	assert_int_equal(store_coturn_read(path, "test", coturn_row, &r, why,
					   sizeof(why)), ENOENT);
	assert_true(why[0] != '\0');
}

static void test_migrate_future(void **state)
{
	struct fx *f = *state;
	struct store *s = NULL;
	char *logbuf = NULL;
	raw_exec(f->path, "PRAGMA user_version = 99");
	assert_int_equal(store_open_logged(&s, f->path, &logbuf), EIO);
	assert_null(s);
	assert_non_null(strstr(logbuf, "schema version 99"));
	free(logbuf);
}

static void test_not_a_database(void **state)
{
	struct fx *f = *state;
	char path[128];
	struct store *s = NULL;
	fx_file(f, "junk.db", "not sqlite at all ", 64, path, sizeof(path));
	log_quiet(true);
	assert_int_equal(store_open(&s, path), EIO);
	log_quiet(false);
}

/* Regression: a db path in a missing directory failed with SQLite's
 * "unable to open database file" and EIO ("database error" from the CLI,
 * "Input/output error" from the daemon), which did not say why. */
static void test_missing_directory(void **state)
{
	struct fx *f = *state;
	char path[160], *logbuf = NULL;
	struct store *s = NULL;
	snprintf(path, sizeof(path), "%s/no/such/t.db", f->dir);
	assert_int_equal(store_open_logged(&s, path, &logbuf), ENOENT);
	assert_null(s);
	assert_non_null(strstr(logbuf, path));
	assert_non_null(strstr(logbuf, strerror(ENOENT)));
	free(logbuf);
	snprintf(path, sizeof(path), "%s/no", f->dir);
	assert_int_equal(access(path, F_OK), -1);
}

/* store_open as an unprivileged user (nobody, when the tests run as
 * root, for whom no mode bit is read-only) in a child: its result. */
static int open_unprivileged(const char *path)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct store *s = NULL;
		if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
			_exit(126);
		log_quiet(true);
		int err = store_open(&s, path);
		_exit(err == 0 ? (s ? 0 : 125) : err);
	}
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

/* Regression: SQLite opened a file we may not write read-only without a
 * word, so the daemon started with a store that failed every write (and
 * --check-config said EACCES for the same file); and its read left a
 * read-only -shm that made later opens fail once the file was writable. */
static void test_read_only_file(void **state)
{
	struct fx *f = *state;
	char path[160], shm[170];
	struct store *s = NULL;
	snprintf(path, sizeof(path), "%s/ro.db", f->dir);
	snprintf(shm, sizeof(shm), "%s-shm", path);
	assert_int_equal(store_open(&s, path), 0);
	store_close(s);
	s = NULL;
	/* Readable by all, writable by none; the directory open to all. */
	assert_int_equal(chmod(path, 0444), 0);
	assert_int_equal(chmod(f->dir, 0777), 0);
	assert_int_equal(open_unprivileged(path), EACCES);
	assert_int_equal(access(shm, F_OK), -1);
	assert_int_equal(chmod(path, 0666), 0);
	assert_int_equal(open_unprivileged(path), 0);
	assert_int_equal(chmod(f->dir, 0700), 0);
}

static void test_check(void **state)
{
	struct fx *f = *state;
	assert_int_equal(store_check(f->s), 0);
	assert_int_equal(store_check(f->s), 0);

	int fd = open(f->path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "garbage", 7, 0), 7);
	close(fd);
	assert_int_equal(store_check(f->s), EIO);
}

static void test_check_unlink(void **state)
{
	struct fx *f = *state;
	assert_int_equal(store_check(f->s), 0);
	assert_int_equal(unlink(f->path), 0);
	assert_int_equal(store_check(f->s), ESTALE);
}

static void test_check_replaced(void **state)
{
	struct fx *f = *state;
	char path[128];
	struct store *s = NULL;
	/* A valid database, but not the one we opened. */
	snprintf(path, sizeof(path), "%s/new.db", f->dir);
	assert_int_equal(store_open(&s, path), 0);
	store_close(s);
	assert_int_equal(rename(path, f->path), 0);
	assert_int_equal(store_check(f->s), ESTALE);
}

/* Writers on separate connections (as the CLI and the daemon are) queue
 * on the busy timeout instead of failing; threads may share one store. */
struct writer {
	struct store *s;
	char prefix;
	int err;
};

static void *writer_run(void *arg)
{
	struct writer *w = arg;
	struct store_account a;
	char name[16];
	for (int i = 0; i < 40 && !w->err; i++) {
		snprintf(name, sizeof(name), "%c%d", w->prefix, i);
		store_account_init(&a, name);
		w->err = store_account_create(w->s, &a);
		if (!w->err)
			w->err = store_account_update(w->s, &a);
	}
	return NULL;
}

static void test_concurrent_writers(void **state)
{
	struct fx *f = *state;
	struct store *other = NULL;
	pthread_t th[3];
	assert_int_equal(store_open(&other, f->path), 0);
	struct writer w[3] = {{f->s, 'a', 0}, {other, 'b', 0}, {f->s, 'c', 0}};
	for (int i = 0; i < 3; i++)
		assert_int_equal(
			pthread_create(&th[i], NULL, writer_run, &w[i]), 0);
	for (int i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].err, 0);
	}
	store_close(other);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM accounts"),
			 120);
}

/* Another process (the CLI's part) creates the account "child" in path:
 * a fresh process (exec, not just fork: a forked child would share
 * SQLite's in-memory lock bookkeeping with us). */
static void run_child_create(const char *path)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execl("/proc/self/exe", "test_store_file", "--child-create", path,
		      (char *)NULL);
		_exit(127);
	}
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* Regression: store_check used to open() and close() the database file,
 * and on Linux that close dropped every POSIX lock this process held on
 * it, SQLite's shared lock included. Another process (the CLI) closing its
 * connection then believed it was the last one, checkpointed and deleted
 * the WAL under the daemon, whose later writes went to a deleted file. */
static void test_check_keeps_locks(void **state)
{
	struct fx *f = *state;
	char wal[128];
	struct store_account a;
	snprintf(wal, sizeof(wal), "%s-wal", f->path);
	for (int i = 0; i < 3; i++)
		assert_int_equal(store_check(f->s), 0);
	run_child_create(f->path);
	/* We still hold the database open, so the WAL must still be there. */
	assert_int_equal(access(wal, F_OK), 0);
	assert_int_equal(store_account_get(f->s, "child", &a), 0);
	store_account_clear(&a);
}

/* Regression: store_close closed the descriptor kept for store_check,
 * and that close dropped the POSIX locks of every other connection this
 * process had on the file. The daemon holds two (the API's and the usage
 * writer's), and a SIGHUP that restarts the API closes one: the next CLI
 * command deleted the WAL under the other, so the API saw no later CLI
 * change and its own writes went to a deleted file. */
static void test_close_keeps_others_locks(void **state)
{
	struct fx *f = *state;
	char wal[128];
	struct store *other = NULL;
	struct store_account a;
	snprintf(wal, sizeof(wal), "%s-wal", f->path);
	assert_int_equal(store_open(&other, f->path), 0);
	assert_int_equal(store_check(other), 0);
	store_close(other);
	run_child_create(f->path);
	assert_int_equal(access(wal, F_OK), 0);
	assert_int_equal(store_account_get(f->s, "child", &a), 0);
	store_account_clear(&a);
	assert_int_equal(store_check(f->s), 0);
}

/* The other process of test_check_keeps_locks: create one account. */
static int child_create(const char *path)
{
	struct store *c = NULL;
	struct store_account a;
	store_account_init(&a, "child");
	int ok = store_open(&c, path) == 0 && store_account_create(c, &a) == 0;
	if (c)
		store_close(c);
	return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--child-create") == 0)
		return child_create(argv[2]);
	const struct CMUnitTest tests[] = {
		T(test_reopen),
		T(test_data_version),
		T(test_new_file_private),
		T(test_migrate_empty_file),
		T(test_migrate_user_rate),
		T(test_coturn_userdb),
		T(test_migrate_future),
		T(test_not_a_database),
		T(test_missing_directory),
		T(test_read_only_file),
		T(test_check),
		T(test_check_unlink),
		T(test_check_replaced),
		T(test_check_keeps_locks),
		T(test_close_keeps_others_locks),
		T(test_concurrent_writers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
