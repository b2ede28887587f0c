/* revoked-from; see revsync.h and docs/api.md "Blocking a user". */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "auth/auth.h"
#include "server/httpget.h"
#include "server/revsync.h"
#include "server/server_int.h"
#include "util/cond.h"
#include "util/log.h"

#define REVSYNC_TIMEOUT_MS 5000
#define REVSYNC_CRED_TTL 60   /* s: the request's own REST credential */
#define REVSYNC_MAX 1000000   /* entries in either list */

struct server_revsync {
	pthread_t thr;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	int stop_fd;          /* eventfd: readable once stopping */
	char secret[256];     /* under mu */
	struct httpget_url url;
	char ca_file[256];
	unsigned interval_s;
	struct net_worker *workers[SERVER_MAX_WORKERS];
	unsigned nworkers;
	char etag[128];
	bool synced, failing;
	struct turn_revoked *last; /* what the workers were given */
	size_t nusers, naccounts;
	struct server_rvstat *st;
};

/* Strings of one array into a heap vector (pointing into the JSON). */
static int strs(json_t *arr, const char ***out, size_t *n)
{
	*n = json_is_array(arr) ? json_array_size(arr) : 0;
	if (!json_is_array(arr) || *n > REVSYNC_MAX)
		return EBADMSG;
	*out = calloc(*n + 1, sizeof(**out));
	if (!*out)
		return ENOMEM;
	for (size_t i = 0; i < *n; i++) {
		const char *s = json_string_value(json_array_get(arr, i));
		if (!s || !*s || strlen(s) > 255)
			return EBADMSG;
		(*out)[i] = s;
	}
	return 0;
}

int server_revsync_parse(const char *json, size_t len, struct turn_revoked **rp,
			 size_t *nusers, size_t *naccounts)
{
	json_t *j = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
	const char **u = NULL, **a = NULL;
	int err = json_is_object(j) ? 0 : EBADMSG;
	if (!err)
		err = strs(json_object_get(j, "users"), &u, nusers);
	if (!err)
		err = strs(json_object_get(j, "accounts"), &a, naccounts);
	if (!err)
		err = turn_revoked_new(rp, u, *nusers, a, *naccounts);
	free(u);
	free(a);
	json_decref(j);
	return err;
}

/* "Basic base64(<expiry>:revoked-from:<password>)": a TURN REST
 * credential of the shared secret, valid for a minute. */
static int revsync_auth(struct server_revsync *r, char *out, size_t sz)
{
	char user[64], pass[AUTH_REST_PASS_LEN + 4], both[128];
	pthread_mutex_lock(&r->mu);
	int err = auth_rest_username((uint64_t)time(NULL), REVSYNC_CRED_TTL,
				     "revoked-from", ':', user, sizeof(user));
	if (!err)
		err = auth_rest_password(r->secret, strlen(r->secret), user,
					 strlen(user), pass, sizeof(pass));
	pthread_mutex_unlock(&r->mu);
	int n = snprintf(both, sizeof(both), "%s:%s", user, pass);
	if (!err && (n < 0 || sz < 7 + 4 * ((size_t)n + 2) / 3 + 1))
		err = ENOSPC;
	if (!err) {
		memcpy(out, "Basic ", 6);
		EVP_EncodeBlock((unsigned char *)out + 6, (unsigned char *)both, n);
	}
	explicit_bzero(pass, sizeof(pass));
	explicit_bzero(both, sizeof(both));
	return err;
}

static void revsync_failed(struct server_revsync *r)
{
	r->failing = true;
	atomic_fetch_add(&r->st->poll_failures, 1);
}

static void revsync_apply(struct server_revsync *r, const struct httpget_resp *h)
{
	struct turn_revoked *set = NULL;
	size_t nu = 0, na = 0;
	int err = server_revsync_parse(h->body ? h->body : "", h->len, &set,
				       &nu, &na);
	if (err) {
		if (!r->failing)
			log_warn("revoked-from: the answer is not a revoked list "
				 "(%s)", strerror(err));
		revsync_failed(r);
		return;
	}
	/* The same lists again (another change at the API): the workers
	 * keep theirs, with no sweep. */
	if (!turn_revoked_equal(set, r->last)) {
		for (unsigned i = 0; i < r->nworkers; i++)
			net_worker_set_revoked(r->workers[i], set);
		turn_revoked_put(r->last);
		r->last = set;
	} else {
		turn_revoked_put(set);
	}
	snprintf(r->etag, sizeof(r->etag), "%s", h->etag);
	if (!r->synced || r->failing || nu != r->nusers || na != r->naccounts)
		server_revoked_log("revoked-from: ", nu, na);
	r->synced = true;
	r->failing = false;
	r->nusers = nu;
	r->naccounts = na;
	atomic_store(&r->st->users, nu);
	atomic_store(&r->st->accounts, na);
}


static void revsync_once(struct server_revsync *r)
{
	char auth[256], why[256];
	struct httpget_resp h = {0};
	struct httpget_req q = {.url = &r->url, .auth = auth,
				.etag = r->etag[0] ? r->etag : NULL,
				.ca_file = r->ca_file,
				.timeout_ms = REVSYNC_TIMEOUT_MS,
				.cancel_fd = r->stop_fd};
	int err = revsync_auth(r, auth, sizeof(auth));
	if (!err)
		err = httpget(&q, &h, why, sizeof(why));
	explicit_bzero(auth, sizeof(auth));
	if (err == ECANCELED)
		return; /* stopping: nothing to say */
	if (!err && h.status == 200) {
		revsync_apply(r, &h);
	} else if (!err && h.status == 304) {
		if (r->failing)
			log_info("revoked-from: reachable again, no change");
		r->failing = false;
	} else {
		if (!err)
			snprintf(why, sizeof(why), "HTTP status %d%s", h.status,
				 h.status == 401 ? " (is this node's first "
				 "static-auth-secret one of the API's, and its "
				 "clock within a minute of the API's?)" : "");
		if (!r->failing)
			log_warn("revoked-from %s://%s:%s%s: %s; the last list "
				 "stays", r->url.tls ? "https" : "http", r->url.host,
				 r->url.port, r->url.path, why);
		revsync_failed(r);
	}
	if (!r->failing)
		atomic_store(&r->st->last_ok, (int64_t)time(NULL));
	httpget_resp_free(&h);
}

static void *revsync_main(void *arg)
{
	struct server_revsync *r = arg;
	pthread_mutex_lock(&r->mu);
	while (!r->stop) {
		pthread_mutex_unlock(&r->mu);
		revsync_once(r);
		pthread_mutex_lock(&r->mu);
		if (!r->stop)
			cond_wait_ms(&r->cv, &r->mu, r->interval_s * 1000u);
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

int server_revsync_start(struct server_revsync **rp, const struct config *c,
			 struct net_worker *const *workers, unsigned n,
			 struct server_rvstat *st)
{
	struct server_revsync *r = calloc(1, sizeof(*r));
	if (!r)
		return ENOMEM;
	if (httpget_url_parse(c->revoked_from, &r->url) != 0 ||
	    n > sizeof(r->workers) / sizeof(r->workers[0])) {
		free(r);
		return EINVAL;
	}
	snprintf(r->ca_file, sizeof(r->ca_file), "%s", c->revoked_ca_file);
	snprintf(r->secret, sizeof(r->secret), "%s", c->secrets[0]);
	r->interval_s = c->revoked_interval ? c->revoked_interval : 5;
	memcpy(r->workers, workers, n * sizeof(*workers));
	r->st = st;
	r->nworkers = n;
	r->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->stop_fd < 0) {
		free(r);
		return EMFILE;
	}
	pthread_mutex_init(&r->mu, NULL);
	cond_init_mono(&r->cv);
	if (pthread_create(&r->thr, NULL, revsync_main, r) != 0) {
		pthread_cond_destroy(&r->cv);
		pthread_mutex_destroy(&r->mu);
		close(r->stop_fd);
		free(r);
		return EAGAIN;
	}
	*rp = r;
	return 0;
}

int server_revsync_check(const struct config *c, FILE *err)
{
	if (!c->revoked_ca_file[0] || httpget_ca_check(c->revoked_ca_file) == 0)
		return 0;
	fprintf(err, "turnstone: cannot load 'revoked-ca-file' %s: no readable "
		"PEM CA certificate\n", c->revoked_ca_file);
	return EINVAL;
}

void server_revsync_secret(struct server_revsync *r, const char *secret)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->mu);
	snprintf(r->secret, sizeof(r->secret), "%s", secret);
	pthread_mutex_unlock(&r->mu);
}

void server_revoked_log(const char *prefix, size_t nu, size_t na)
{
	log_info("%sTURN refuses the credentials of %zu blocked user%s and %zu "
		 "disabled or deleted account%s", prefix, nu, nu == 1 ? "" : "s",
		 na, na == 1 ? "" : "s");
}

void server_revsync_stop(struct server_revsync *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->mu);
	r->stop = true;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	/* A poll in flight gives up now, not at its 5 s deadline. */
	(void)!write(r->stop_fd, &(uint64_t){1}, sizeof(uint64_t));
	pthread_join(r->thr, NULL);
	close(r->stop_fd);
	explicit_bzero(r->secret, sizeof(r->secret));
	turn_revoked_put(r->last);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	free(r);
}
