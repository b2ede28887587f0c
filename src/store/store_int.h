/* Internals shared by the store's files: the connection, the transaction
 * wrapper and the row readers used by both get and snapshot. */
#ifndef TS_STORE_INT_H
#define TS_STORE_INT_H
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <sys/types.h>

#include "store/store.h"

struct store {
	pthread_mutex_t lock;
	sqlite3 *db;
	char *path;
	/* Identity of the file we opened, for store_check. The store keeps
	 * no descriptor of its own: on Linux, close() of ANY descriptor of a
	 * file drops every POSIX lock the process holds on it, those of the
	 * process's other connections included (the daemon has two). Only
	 * SQLite opens and closes the file; it defers a close while another
	 * connection of the process holds a lock. */
	dev_t dev;
	ino_t ino;
	uint64_t version;  /* bumped on our commits and on others' */
	int64_t last_dv;   /* PRAGMA data_version when last looked at */
};

/* Columns read by store_account_row, in its order. */
#define STORE_ACCOUNT_COLS                                                 \
	"id, name, disabled, configurable_turn, default_ttl, max_ttl, "    \
	"rate_per_s, rate_burst, issuer, mode, relay_only, created, "          \
	"user_rate_per_s, user_rate_burst"

/* One unit of work run inside a transaction under the store's lock. */
typedef int (store_tx_h)(struct store *s, void *arg);

/* Locks, begins (IMMEDIATE when write), runs fn, commits on 0 or rolls
 * back, unlocks. Returns fn's error, or the commit's. */
int store_tx(struct store *s, bool write, store_tx_h *fn, void *arg);
/* Maps an SQLite result code to an errno value; logs the unexpected. */
int store_sql_err(struct store *s, int rc);
int store_prepare(struct store *s, const char *sql, sqlite3_stmt **stp);
/* Steps a statement that returns no row (or whose row is ignored). */
int store_step_done(struct store *s, sqlite3_stmt *st);
/* Binds a statement's parameters from arg. */
typedef int (store_bind_h)(struct store *s, sqlite3_stmt *st,
			   const void *arg);
/* Prepares sql, binds it, runs it; ENOENT when it changed no row. */
int store_change(struct store *s, const char *sql, store_bind_h *bind,
		 const void *arg);
/* A one-integer PRAGMA or query; EIO when it returns no row. */
int store_query_int(struct store *s, const char *sql, int64_t *v);
/* PRAGMA data_version folded into s->version; caller holds the lock. */
int store_version_read(struct store *s, uint64_t *v);

/* Copies text column col into buf (sz bytes, NUL included); EIO when it
 * does not fit: the file was edited by something other than us. */
int store_col_text(sqlite3_stmt *st, int col, char *buf, size_t sz);
int store_account_row(sqlite3_stmt *st, struct store_account *a);
/* Loads account id's servers into a->servers with a statement from
 * store_servers_stmt (reset and rebound here, so it can be reused). */
int store_servers_load(struct store *s, sqlite3_stmt *st, int64_t id,
		       struct store_account *a);
int store_servers_stmt(struct store *s, sqlite3_stmt **stp);
/* Reads every block into snap->blocks, and the names of accounts
 * deleted too recently into snap->deleted (store_block.c). */
int store_snap_blocks(struct store *s, struct store_snap *snap);

#endif
