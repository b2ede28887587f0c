/* Shared by the store's unit tests (test_store*.c): a fresh database in
 * its own temporary directory per test, a raw SQLite connection to look
 * at what the store wrote, and sample accounts. */
#ifndef TS_TEST_STORE_FIXTURE_H
#define TS_TEST_STORE_FIXTURE_H
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "store/store.h"
#include "util/log.h"

struct fx {
	char dir[64];
	char path[96];
	struct store *s;
};

static inline int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/ts_store_XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
	assert_int_equal(store_open(&f->s, f->path), 0);
	*state = f;
	return 0;
}

/* Everything a test left in its directory goes: -wal, -shm, extras. */
static inline int fx_teardown(void **state)
{
	struct fx *f = *state;
	char p[384];
	struct dirent *e;
	store_close(f->s);
	DIR *d = opendir(f->dir);
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.') {
			snprintf(p, sizeof(p), "%s/%s", f->dir, e->d_name);
			unlink(p);
		}
	if (d)
		closedir(d);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* f->dir/name holding text repeated n times (an empty file for n 0). */
static inline void fx_file(const struct fx *f, const char *name,
			   const char *text, int n, char *path, size_t sz)
{
	snprintf(path, sz, "%s/%s", f->dir, name);
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	assert_true(fd >= 0);
	for (int i = 0; i < n; i++)
		assert_int_equal(write(fd, text, strlen(text)),
				 (ssize_t)strlen(text));
	close(fd);
}

/* Expected failures log an error; keep the test output readable. */
static inline void log_quiet(bool on)
{
	static FILE *null;
	if (on && !null)
		null = fopen("/dev/null", "w");
	log_setup(on ? null : stderr, LOG_INFO);
}

/* store_open(path) with what it logs captured in *logbuf (free() it). */
static inline int store_open_logged(struct store **sp, const char *path,
				    char **logbuf)
{
	size_t loglen = 0;
	FILE *log = open_memstream(logbuf, &loglen);
	assert_non_null(log);
	log_setup(log, LOG_INFO);
	int err = store_open(sp, path);
	log_setup(stderr, LOG_INFO);
	fclose(log);
	return err;
}

/* A second, raw connection to look at what the store wrote. */
static inline int64_t raw_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static inline void raw_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static inline void server_set(struct store_server *v, const char *url,
			      const char *user, const char *cred,
			      const char *secret)
{
	memset(v, 0, sizeof(*v));
	v->nurls = 1;
	snprintf(v->urls[0], sizeof(v->urls[0]), "%s", url);
	snprintf(v->username, sizeof(v->username), "%s", user);
	snprintf(v->credential, sizeof(v->credential), "%s", cred);
	snprintf(v->secret, sizeof(v->secret), "%s", secret);
}

/* "acme" with the feature on and two custom servers. */
static inline void account_paid(struct store_account *a, const char *name)
{
	store_account_init(a, name);
	a->configurable_turn = true;
	a->mode = STORE_TURN_FALLBACK;
	a->relay_only = true;
	a->user_rate_per_s = 7; /* not the defaults, to see them stored */
	a->user_rate_burst = 9;
	a->nservers = 2;
	a->servers = calloc(2, sizeof(a->servers[0]));
	assert_non_null(a->servers);
	server_set(&a->servers[0], "turn:198.51.100.7:3478?transport=udp",
		   "u", "c", "");
	a->servers[0].nurls = 2;
	snprintf(a->servers[0].urls[1], STORE_URL_MAX,
		 "turns:198.51.100.7:5349?transport=tcp");
	server_set(&a->servers[1], "turn:203.0.113.9:3478", "", "", "shh");
}

static inline void key_add(struct store *s, const char *account,
			   const char *kid, const char *secret)
{
	struct store_key k = {.len = strlen(secret)};
	snprintf(k.kid, sizeof(k.kid), "%s", kid);
	snprintf(k.alg, sizeof(k.alg), "HS256");
	snprintf(k.account, sizeof(k.account), "%s", account);
	k.material = (uint8_t *)(uintptr_t)secret;
	assert_int_equal(store_key_add(s, &k), 0);
}

static inline void assert_server_equal(const struct store_server *x,
				       const struct store_server *y)
{
	assert_int_equal(x->nurls, y->nurls);
	for (unsigned j = 0; j < x->nurls; j++)
		assert_string_equal(x->urls[j], y->urls[j]);
	assert_string_equal(x->username, y->username);
	assert_string_equal(x->credential, y->credential);
	assert_string_equal(x->secret, y->secret);
}

static inline void assert_account_equal(const struct store_account *x,
					const struct store_account *y)
{
	assert_int_equal(x->id, y->id);
	assert_string_equal(x->name, y->name);
	assert_int_equal(x->disabled, y->disabled);
	assert_int_equal(x->configurable_turn, y->configurable_turn);
	assert_int_equal(x->default_ttl, y->default_ttl);
	assert_int_equal(x->max_ttl, y->max_ttl);
	assert_int_equal(x->rate_per_s, y->rate_per_s);
	assert_int_equal(x->rate_burst, y->rate_burst);
	assert_int_equal(x->user_rate_per_s, y->user_rate_per_s);
	assert_int_equal(x->user_rate_burst, y->user_rate_burst);
	assert_string_equal(x->issuer, y->issuer);
	assert_int_equal(x->mode, y->mode);
	assert_int_equal(x->relay_only, y->relay_only);
	assert_int_equal(x->created, y->created);
	assert_int_equal(x->nservers, y->nservers);
	for (unsigned i = 0; i < x->nservers; i++)
		assert_server_equal(&x->servers[i], &y->servers[i]);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

#endif
