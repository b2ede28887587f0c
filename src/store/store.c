/* Opening the SQLite file, schema migrations, transactions, the data
 * version and the liveness check. The CLI and the daemon write the same
 * file at once: WAL lets readers run beside one writer, and the busy
 * timeout queues writers instead of failing them. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store_int.h"
#include "util/log.h"

#define STORE_BUSY_MS 5000
#define STORE_MAGIC "SQLite format 3" /* and its NUL: 16 bytes */
#define STORE_MAGIC_LEN 16
#define STORE_HDR_LEN 100 /* the database header, in every valid file */

/* Schema steps in order; step i takes user_version i to i + 1. Append
 * only: a released step never changes. */
static const char *const store_migrations[] = {
	"CREATE TABLE accounts ("
	" id INTEGER PRIMARY KEY,"
	" name TEXT NOT NULL UNIQUE,"
	" disabled INTEGER NOT NULL DEFAULT 0,"
	" configurable_turn INTEGER NOT NULL DEFAULT 0,"
	" default_ttl INTEGER NOT NULL,"
	" max_ttl INTEGER NOT NULL,"
	" rate_per_s INTEGER NOT NULL,"
	" rate_burst INTEGER NOT NULL,"
	" issuer TEXT NOT NULL,"
	" mode TEXT NOT NULL"
	"  CHECK (mode IN ('platform', 'override', 'fallback')),"
	" relay_only INTEGER NOT NULL DEFAULT 0,"
	" created INTEGER NOT NULL);"
	"CREATE TABLE keys ("
	" id INTEGER PRIMARY KEY,"
	" account_id INTEGER NOT NULL"
	"  REFERENCES accounts(id) ON DELETE CASCADE,"
	" kid TEXT NOT NULL UNIQUE,"
	" alg TEXT NOT NULL,"
	" material BLOB NOT NULL,"
	" created INTEGER NOT NULL);"
	"CREATE INDEX keys_account ON keys(account_id);"
	"CREATE TABLE servers ("
	" account_id INTEGER NOT NULL"
	"  REFERENCES accounts(id) ON DELETE CASCADE,"
	" position INTEGER NOT NULL,"
	" username TEXT NOT NULL DEFAULT '',"
	" credential TEXT NOT NULL DEFAULT '',"
	" secret TEXT NOT NULL DEFAULT '',"
	" PRIMARY KEY (account_id, position));"
	"CREATE TABLE server_urls ("
	" account_id INTEGER NOT NULL,"
	" position INTEGER NOT NULL,"
	" idx INTEGER NOT NULL,"
	" url TEXT NOT NULL,"
	" PRIMARY KEY (account_id, position, idx),"
	" FOREIGN KEY (account_id, position)"
	"  REFERENCES servers(account_id, position) ON DELETE CASCADE);",
	/* 2: usage records of ended TURN allocations (issue 5). No foreign
	 * key: the account may be a realm, or deleted since. */
	"CREATE TABLE usage ("
	" id INTEGER PRIMARY KEY,"
	" account TEXT NOT NULL,"
	" user_id TEXT NOT NULL,"
	" username TEXT NOT NULL,"
	" realm TEXT NOT NULL,"
	" transport TEXT NOT NULL,"
	" family INTEGER NOT NULL,"
	" start INTEGER NOT NULL,"
	" end INTEGER NOT NULL,"
	" c2p_bytes INTEGER NOT NULL, c2p_packets INTEGER NOT NULL,"
	" p2c_bytes INTEGER NOT NULL, p2c_packets INTEGER NOT NULL,"
	" reason TEXT NOT NULL);"
	"CREATE INDEX usage_account_end ON usage(account, end);",
	/* 3: a rate limit per end user (account, sub) of the ICE-servers
	 * API. Accounts from before get it off (0), so that an upgrade
	 * throttles no app server that sends one sub for all its users;
	 * new accounts get store_account_init's default. */
	"ALTER TABLE accounts ADD COLUMN user_rate_per_s INTEGER NOT NULL"
	" DEFAULT 0;"
	"ALTER TABLE accounts ADD COLUMN user_rate_burst INTEGER NOT NULL"
	" DEFAULT 0;",
	/* 4: blocked end users (account, JWT sub): no credentials are
	 * minted for them and this daemon's TURN side refuses theirs. */
	"CREATE TABLE blocks ("
	" account_id INTEGER NOT NULL"
	"  REFERENCES accounts(id) ON DELETE CASCADE,"
	" sub TEXT NOT NULL,"
	" created INTEGER NOT NULL,"
	" PRIMARY KEY (account_id, sub));",
	/* 5: a deleted account's name, until every credential minted for it
	 * has expired: TURN goes on refusing them as for a disabled
	 * account. A week and a minute, the longest any maxTtl allows (not
	 * the account's own, which may have been lowered after minting).
	 * Triggers, so that a delete by any writer (the daemon, the CLI)
	 * leaves one; creating the name again lifts it. */
	"CREATE TABLE deleted_accounts ("
	" name TEXT PRIMARY KEY,"
	" until INTEGER NOT NULL);"
	"CREATE TRIGGER accounts_deleted AFTER DELETE ON accounts BEGIN"
	" DELETE FROM deleted_accounts WHERE until < unixepoch();"
	" INSERT OR REPLACE INTO deleted_accounts (name, until)"
	"  VALUES (OLD.name, unixepoch() + 604800 + 60);"
	" END;"
	"CREATE TRIGGER accounts_created AFTER INSERT ON accounts BEGIN"
	" DELETE FROM deleted_accounts WHERE name = NEW.name;"
	" END;",
};
#define STORE_SCHEMA_VERSION                                               \
	(int)(sizeof(store_migrations) / sizeof(store_migrations[0]))

int store_sql_err(struct store *s, int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_CONSTRAINT:
		if (rc == SQLITE_CONSTRAINT_UNIQUE ||
		    rc == SQLITE_CONSTRAINT_PRIMARYKEY)
			return EEXIST;
		break;
	case SQLITE_NOMEM:
		return ENOMEM;
	}
	/* SQLite's messages name tables and columns, never bound values. */
	log_err("store: %s: %s", s->path, sqlite3_errmsg(s->db));
	return EIO;
}

int store_prepare(struct store *s, const char *sql, sqlite3_stmt **stp)
{
	return store_sql_err(s, sqlite3_prepare_v2(s->db, sql, -1, stp, NULL));
}

int store_step_done(struct store *s, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	return rc == SQLITE_ROW ? 0 : store_sql_err(s, rc);
}

int store_change(struct store *s, const char *sql, store_bind_h *bind,
		 const void *arg)
{
	sqlite3_stmt *st = NULL;
	int err = store_prepare(s, sql, &st);
	if (!err)
		err = bind(s, st, arg);
	if (!err)
		err = store_step_done(s, st);
	if (!err && sqlite3_changes(s->db) == 0)
		err = ENOENT;
	sqlite3_finalize(st);
	return err;
}

static int store_exec(struct store *s, const char *sql)
{
	return store_sql_err(s, sqlite3_exec(s->db, sql, NULL, NULL, NULL));
}

int store_query_int(struct store *s, const char *sql, int64_t *v)
{
	sqlite3_stmt *st = NULL;
	int err = store_prepare(s, sql, &st);
	if (err)
		goto out;
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		err = rc == SQLITE_DONE ? EIO : store_sql_err(s, rc);
		goto out;
	}
	*v = sqlite3_column_int64(st, 0);
out:
	sqlite3_finalize(st);
	return err;
}

int store_version_read(struct store *s, uint64_t *v)
{
	int64_t dv;
	int err = store_query_int(s, "PRAGMA data_version", &dv);
	if (err)
		return err;
	/* data_version moves only for other connections' commits; our own
	 * are counted in store_tx. */
	if (dv != s->last_dv) {
		s->last_dv = dv;
		s->version++;
	}
	*v = s->version;
	return 0;
}

int store_tx(struct store *s, bool write, store_tx_h *fn, void *arg)
{
	pthread_mutex_lock(&s->lock);
	/* IMMEDIATE takes the write lock up front, so a writer waits in the
	 * busy handler instead of failing when it upgrades mid-way. */
	int err = store_exec(s, write ? "BEGIN IMMEDIATE" : "BEGIN");
	if (err)
		goto out;
	err = fn(s, arg);
	if (!err)
		err = store_exec(s, "COMMIT");
	if (err)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	else if (write)
		s->version++;
out:
	pthread_mutex_unlock(&s->lock);
	return err;
}

/* EIO, logged, for a schema this build does not know: a newer release
 * wrote it, and an older one must not guess at it. */
static int store_version_known(struct store *s, int64_t v)
{
	if (v >= 0 && v <= STORE_SCHEMA_VERSION)
		return 0;
	log_err("store: %s: schema version %lld is newer than this build "
		"knows (%d); left unchanged", s->path, (long long)v,
		STORE_SCHEMA_VERSION);
	return EIO;
}

/* Runs the next pending step, if any, in its own transaction. The version
 * is re-read under the write lock so two processes opening a fresh file
 * at once do not both run a step. *done is set when none is left. */
static int store_migrate_step(struct store *s, bool *done)
{
	char sql[64];
	int64_t v;
	int err = store_exec(s, "BEGIN IMMEDIATE");
	if (err)
		return err;
	err = store_query_int(s, "PRAGMA user_version", &v);
	if (err)
		goto out;
	err = store_version_known(s, v);
	if (err)
		goto out;
	*done = v == STORE_SCHEMA_VERSION;
	if (*done)
		goto out;
	err = store_exec(s, store_migrations[v]);
	/* PRAGMA takes no parameters; v + 1 is our own small integer. */
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", (int)v + 1);
	if (!err)
		err = store_exec(s, sql);
out:
	if (!err)
		err = store_exec(s, "COMMIT");
	if (err)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return err;
}

static int store_migrate(struct store *s)
{
	bool done = false;
	int err = 0;
	while (!err && !done)
		err = store_migrate_step(s, &done);
	return err;
}

/* journal_mode answers with the mode in force; anything but "wal" (say, a
 * file system without shared memory) would break concurrent writers. */
static int store_wal_set(struct store *s)
{
	sqlite3_stmt *st = NULL;
	int err = store_prepare(s, "PRAGMA journal_mode = WAL", &st);
	if (err)
		goto out;
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		err = store_sql_err(s, rc);
		goto out;
	}
	const unsigned char *mode = sqlite3_column_text(st, 0);
	if (!mode || strcmp((const char *)mode, "wal") != 0) {
		log_err("store: %s: cannot enable WAL mode", s->path);
		err = EIO;
	}
out:
	sqlite3_finalize(st);
	return err;
}

/* Refuses, before anything is written (WAL mode changes the header), a
 * file this build must not touch: a newer schema, or another program's
 * SQLite database (tables, but no schema version of ours: coturn's
 * userdb given as db, say), which the migrations would fill with our
 * tables. store_migrate_step checks the version again under the lock. */
static int store_schema_check(struct store *s)
{
	int64_t v, nobj;
	int err = store_query_int(s, "PRAGMA user_version", &v);
	if (!err)
		err = store_query_int(s, "SELECT count(*) FROM sqlite_schema",
				      &nobj);
	if (err)
		return err;
	err = store_version_known(s, v);
	if (err)
		return err;
	if (v == 0 && nobj > 0) {
		log_err("store: %s: an SQLite database of another program "
			"(tables, no Turnstone schema version); left unchanged",
			s->path);
		return EIO;
	}
	return 0;
}

static int store_configure(struct store *s)
{
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, STORE_BUSY_MS);
	/* Hardening: no writes to sqlite_master, no functions run from the
	 * schema of a file someone else may have crafted. */
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	int err = store_schema_check(s);
	if (!err)
		err = store_wal_set(s);
	if (!err)
		err = store_exec(s, "PRAGMA synchronous = FULL");
	if (!err)
		err = store_exec(s, "PRAGMA foreign_keys = ON");
	if (!err)
		err = store_migrate(s);
	if (!err)
		err = store_query_int(s, "PRAGMA data_version", &s->last_dv);
	return err;
}

/* Remembers which file we opened, by absolute path and inode, so that a
 * later chdir() or a file swapped in under the name is noticed. */
static int store_identity_set(struct store *s)
{
	struct stat sb;
	char *abs = realpath(s->path, NULL);
	if (abs) {
		free(s->path);
		s->path = abs;
	}
	if (stat(s->path, &sb) != 0) {
		log_err("store: %s: %s", s->path, strerror(errno));
		return EIO;
	}
	s->dev = sb.st_dev;
	s->ino = sb.st_ino;
	return 0;
}

/* The file holds TURN secrets and HS256 keys: a new one is made
 * owner-only whatever the umask (the CLI may create it, not only the
 * daemon with its UMask=0077); SQLite gives -wal and -shm the same mode.
 * O_EXCL: only when it did not exist, so no one has it open and this
 * close() drops no lock (see struct store). Its errno, not SQLite's
 * "unable to open database file", says why a path cannot be used (a
 * missing directory, a read-only one). */
static int store_create(struct store *s)
{
	int fd = open(s->path,
		      O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	if (errno == EEXIST)
		return 0;
	int err = errno;
	log_err("store: %s: cannot create: %s", s->path, strerror(err));
	return err;
}

/* SQLite opens a file it may not write read-only without a word; then
 * every write would fail later (503s, lost usage records), and its WAL
 * read would leave a -shm of the file's read-only mode behind that keeps
 * failing opens once the file is made writable. Refused here, before any
 * statement touches -wal or -shm. */
static int store_sql_open(struct store *s)
{
	/* Our own mutex serialises callers; SQLite's would be a second. */
	int rc = sqlite3_open_v2(s->path, &s->db,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
					 SQLITE_OPEN_NOMUTEX,
				 NULL);
	int err = store_sql_err(s, rc);
	if (!err && sqlite3_db_readonly(s->db, "main") == 1) {
		log_err("store: %s: not writable (it needs read and write "
			"access, and its directory write access)", s->path);
		err = EACCES;
	}
	return err;
}

int store_open(struct store **sp, const char *path)
{
	if (!sp || !path || !*path)
		return EINVAL;
	struct store *s = calloc(1, sizeof(*s));
	if (!s)
		return ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	int err = ENOMEM;
	s->path = strdup(path);
	if (!s->path)
		goto out;
	err = store_create(s);
	if (!err)
		err = store_sql_open(s);
	if (!err)
		err = store_configure(s);
	if (!err)
		err = store_identity_set(s);
out:
	if (err)
		store_close(s);
	else
		*sp = s;
	return err;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	sqlite3_close_v2(s->db);
	pthread_mutex_destroy(&s->lock);
	free(s->path);
	free(s);
}

int store_data_version(struct store *s, uint64_t *v)
{
	pthread_mutex_lock(&s->lock);
	int err = store_version_read(s, v);
	pthread_mutex_unlock(&s->lock);
	return err;
}

/* The first 16 bytes as they are on disk now, read through SQLite's own
 * handle of the file (its xRead bypasses the page cache): opening and
 * closing a descriptor here would drop the locks (see struct store). */
static int store_magic_check(struct store *s)
{
	char buf[STORE_MAGIC_LEN];
	sqlite3_file *fp = NULL;
	pthread_mutex_lock(&s->lock);
	int rc = sqlite3_file_control(s->db, "main", SQLITE_FCNTL_FILE_POINTER, &fp);
	if (rc == SQLITE_OK && fp && fp->pMethods)
		rc = fp->pMethods->xRead(fp, buf, sizeof(buf), 0);
	else
		rc = SQLITE_IOERR;
	pthread_mutex_unlock(&s->lock);
	if (rc != SQLITE_OK || memcmp(buf, STORE_MAGIC, STORE_MAGIC_LEN) != 0)
		return EIO;
	return 0;
}

/* A big-endian 4-byte field of the database header (sqlite.org/fileformat
 * 1.3). */
static uint32_t store_hdr_u32(const unsigned char *h, size_t off)
{
	return (uint32_t)h[off] << 24 | (uint32_t)h[off + 1] << 16 |
	       (uint32_t)h[off + 2] << 8 | h[off + 3];
}

/* What store_schema_check refuses, from the header alone: the schema
 * cookie (offset 40) counts schema changes, user_version is at 60. With
 * WAL the header may lag the newest commits, but always shows some
 * committed state, and none of ours has a cookie without a version. */
static int store_hdr_check(const unsigned char *h, const char **why)
{
	uint32_t cookie = store_hdr_u32(h, 40), v = store_hdr_u32(h, 60);
	if (v > (uint32_t)STORE_SCHEMA_VERSION)
		*why = "a newer schema version than this build knows";
	else if (v == 0 && cookie != 0)
		*why = "an SQLite database of another program";
	return *why ? EINVAL : 0;
}

int store_file_check(const char *path, const char **why)
{
	*why = NULL;
	unsigned char buf[STORE_HDR_LEN];
	char dir[PATH_MAX];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (errno != ENOENT)
			return errno;
		/* What store_open would create: its directory must take it. */
		snprintf(dir, sizeof(dir), "%s", path);
		char *slash = strrchr(dir, '/');
		if (!slash)
			snprintf(dir, sizeof(dir), ".");
		else
			slash[slash == dir ? 1 : 0] = '\0';
		return access(dir, W_OK | X_OK) == 0 ? 0 : errno;
	}
	ssize_t n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n != 0 && (n != (ssize_t)sizeof(buf) ||
		       memcmp(buf, STORE_MAGIC, STORE_MAGIC_LEN) != 0)) {
		*why = "not an SQLite database";
		return EINVAL;
	}
	if (n != 0 && store_hdr_check(buf, why))
		return EINVAL;
	return access(path, R_OK | W_OK) == 0 ? 0 : errno;
}

int store_check(struct store *s)
{
	struct stat sb;
	/* s->path and the identity never change after open: no lock. */
	if (stat(s->path, &sb) != 0 || sb.st_dev != s->dev ||
	    sb.st_ino != s->ino)
		return ESTALE;
	return store_magic_check(s);
}
