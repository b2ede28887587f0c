/* The directory: an immutable snapshot of the store plus its parsed JWT
 * keys, swapped in whole when the store changes. Requests hold a
 * reference, so a swap never frees what a request is reading and the
 * request path never touches SQLite.
 *
 * A watcher thread polls once a second: it notices commits by other
 * processes (the CLI) through store_data_version(), and a store file that
 * was removed, replaced or corrupted through store_check(). While the
 * store is unavailable the API answers 503 and keeps what it had for
 * nothing else; TURN relaying does not depend on it at all. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/api_int.h"
#include "util/cond.h"
#include "util/log.h"

#define WATCH_MS 1000

static void dir_free(struct api_dir *d)
{
	for (size_t i = 0; d->keys && i < d->snap->nkeys; i++)
		jwt_key_free(d->keys[i]);
	free(d->keys);
	store_snap_free(d->snap);
	free(d);
}

void api_dir_put(struct api_dir *d)
{
	if (d && atomic_fetch_sub(&d->refs, 1) == 1)
		dir_free(d);
}

struct api_dir *api_dir_get(struct api *a)
{
	pthread_mutex_lock(&a->dir_mu);
	struct api_dir *d = a->dir;
	if (d)
		atomic_fetch_add(&d->refs, 1);
	pthread_mutex_unlock(&a->dir_mu);
	return d;
}

/* store_snap_key copes with a store that has no keys yet (bsearch on an
 * empty, NULL array is undefined: UBSan stopped the daemon on a token
 * that came before the first key). */
long api_dir_key(const struct api_dir *d, const char *kid)
{
	const struct store_key *k = store_snap_key(d->snap, kid);
	return k ? (long)(k - d->snap->keys) : -1;
}

/* A key that no longer parses (bad PEM stored by an older version) is
 * left NULL: tokens naming it get 401, the other keys keep working. */
static int dir_build(struct store *s, struct api_dir **dp)
{
	struct api_dir *d = calloc(1, sizeof(*d));
	if (!d)
		return ENOMEM;
	int err = store_snapshot(s, &d->snap);
	if (err) {
		free(d);
		return err;
	}
	d->keys = calloc(d->snap->nkeys + 1, sizeof(*d->keys));
	if (!d->keys) {
		dir_free(d);
		return ENOMEM;
	}
	for (size_t i = 0; i < d->snap->nkeys; i++) {
		const struct store_key *k = &d->snap->keys[i];
		if (jwt_key_new(&d->keys[i], jwt_alg_from_str(k->alg),
				k->material, k->len) != 0)
			log_warn("api: key '%s' of account '%s' is unusable",
				 k->kid, k->account);
	}
	atomic_init(&d->refs, 1);
	*dp = d;
	return 0;
}

/* Every URL to health-check: the platform's and every account's. */
static void dir_health_targets(struct api *a, const struct api_dir *d)
{
	size_t n = 0, cap = API_PLATFORM_MAX * STORE_URLS_MAX;
	for (size_t i = 0; i < d->snap->naccounts; i++)
		cap += d->snap->accounts[i].nservers * STORE_URLS_MAX;
	const char **v = calloc(cap, sizeof(*v));
	if (!v)
		return;
	for (unsigned i = 0; i < a->cfg.nplatform; i++)
		for (unsigned j = 0; j < a->cfg.platform[i].nurls; j++)
			v[n++] = a->cfg.platform[i].urls[j];
	for (size_t i = 0; i < d->snap->naccounts; i++) {
		const struct store_account *acc = &d->snap->accounts[i];
		for (unsigned s = 0; s < acc->nservers; s++)
			for (unsigned j = 0; j < acc->servers[s].nurls; j++)
				v[n++] = acc->servers[s].urls[j];
	}
	api_health_set_targets(a->health, v, n);
	free(v);
}

/* Caller holds dir_mu. */
static int dir_refresh_locked(struct api *a)
{
	struct api_dir *d = NULL, *old;
	int err = a->store ? dir_build(a->store, &d) : EIO;
	if (err)
		return err;
	/* TURN refuses what the API stops minting no later than requests
	 * see the new directory. */
	if (a->cfg.dir_h)
		a->cfg.dir_h(a->cfg.dir_arg, d->snap);
	old = a->dir;
	a->dir = d;
	if (a->health)
		dir_health_targets(a, d);
	api_dir_put(old);
	return 0;
}

int api_dir_refresh(struct api *a)
{
	pthread_mutex_lock(&a->dir_mu);
	int err = dir_refresh_locked(a);
	pthread_mutex_unlock(&a->dir_mu);
	return err;
}

/* The file now at the path exists and starts with SQLite's magic: safe to
 * reopen without creating an empty database in place of a lost one. Only
 * called once store_check() said the path names another file (ESTALE), so
 * this open/close never touches the file whose locks SQLite holds. */
static bool dir_file_ok(const char *path)
{
	char hdr[16];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	bool ok = read(fd, hdr, sizeof(hdr)) == (ssize_t)sizeof(hdr) &&
		  memcmp(hdr, "SQLite format 3", 16) == 0;
	close(fd);
	return ok;
}

static void dir_set_ok(struct api *a, bool ok)
{
	if (atomic_exchange(&a->store_ok, ok) != ok) {
		if (ok)
			log_info("api: store '%s' available again", a->cfg.db_path);
		else
			log_err("api: store '%s' unavailable; answering 503",
				a->cfg.db_path);
	}
}

/* One watcher round, under dir_mu. */
static void dir_watch_once(struct api *a, uint64_t *seen)
{
	uint64_t v = 0;
	int chk = a->store ? store_check(a->store) : ESTALE;
	bool ok = chk == 0 && store_data_version(a->store, &v) == 0;
	if (chk == ESTALE && dir_file_ok(a->cfg.db_path)) {
		if (a->store)
			store_close(a->store);
		a->store = NULL;
		ok = store_open(&a->store, a->cfg.db_path) == 0 &&
		     store_data_version(a->store, &v) == 0;
		*seen = v - 1; /* force a reload from the reopened file */
	}
	if (ok && (v != *seen || !atomic_load(&a->store_ok)))
		ok = dir_refresh_locked(a) == 0;
	if (ok)
		*seen = v;
	dir_set_ok(a, ok);
}

static void *dir_watch(void *arg)
{
	struct api *a = arg;
	uint64_t seen = 0;
	if (a->store)
		store_data_version(a->store, &seen);
	pthread_mutex_lock(&a->wait_mu);
	while (!atomic_load(&a->stopping)) {
		cond_wait_ms(&a->wait_cv, &a->wait_mu, WATCH_MS);
		if (atomic_load(&a->stopping))
			break;
		pthread_mutex_lock(&a->dir_mu);
		dir_watch_once(a, &seen);
		pthread_mutex_unlock(&a->dir_mu);
	}
	pthread_mutex_unlock(&a->wait_mu);
	return NULL;
}

int api_dir_watch_start(struct api *a)
{
	if (pthread_create(&a->watcher, NULL, dir_watch, a) != 0)
		return EAGAIN;
	a->watcher_started = true;
	return 0;
}

void api_dir_watch_stop(struct api *a)
{
	if (!a->watcher_started)
		return;
	pthread_mutex_lock(&a->wait_mu);
	atomic_store(&a->stopping, true);
	pthread_cond_signal(&a->wait_cv);
	pthread_mutex_unlock(&a->wait_mu);
	pthread_join(a->watcher, NULL);
	a->watcher_started = false;
}
