/* Revoked REST user-ids: the credentials this daemon's ICE-servers API
 * minted and no longer stands behind. The API mints user-ids
 * "<account>:<sub>", so one sorted list holds the blocked end users
 * (exact user-ids) and another the disabled accounts (every user-id that
 * starts with "<account>:"). Built whole by the API's thread, never
 * changed after, shared by the workers through a reference count. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "turn/turn_int.h"

struct turn_revoked {
	_Atomic unsigned refs;
	size_t nusers, naccounts;
	char **users;    /* sorted by strcmp */
	char **accounts; /* sorted by strcmp */
};

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* n strings copied into one block after the pointer array, sorted. */
static char **list_copy(const char *const *v, size_t n)
{
	size_t bytes = n * sizeof(char *);
	for (size_t i = 0; i < n; i++)
		bytes += strlen(v[i]) + 1;
	char **out = malloc(bytes ? bytes : 1);
	if (!out)
		return NULL;
	char *p = (char *)(out + n);
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(v[i]) + 1;
		out[i] = memcpy(p, v[i], len);
		p += len;
	}
	qsort(out, n, sizeof(*out), str_cmp);
	return out;
}

int turn_revoked_new(struct turn_revoked **rp, const char *const *users,
		     size_t nusers, const char *const *accounts,
		     size_t naccounts)
{
	struct turn_revoked *r = calloc(1, sizeof(*r));
	if (!r)
		return ENOMEM;
	r->users = list_copy(users, nusers);
	r->accounts = list_copy(accounts, naccounts);
	if (!r->users || !r->accounts) {
		free(r->users);
		free(r->accounts);
		free(r);
		return ENOMEM;
	}
	r->nusers = nusers;
	r->naccounts = naccounts;
	atomic_init(&r->refs, 1);
	*rp = r;
	return 0;
}

struct turn_revoked *turn_revoked_ref(struct turn_revoked *r)
{
	if (r)
		atomic_fetch_add(&r->refs, 1);
	return r;
}

void turn_revoked_put(struct turn_revoked *r)
{
	if (!r || atomic_fetch_sub(&r->refs, 1) != 1)
		return;
	free(r->users);
	free(r->accounts);
	free(r);
}

static bool list_equal(char *const *a, char *const *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(a[i], b[i]) != 0)
			return false;
	return true;
}

bool turn_revoked_equal(const struct turn_revoked *a,
			const struct turn_revoked *b)
{
	size_t na = a ? a->nusers + a->naccounts : 0;
	size_t nb = b ? b->nusers + b->naccounts : 0;
	if (!a || !b)
		return na == nb;
	return a->nusers == b->nusers && a->naccounts == b->naccounts &&
	       list_equal(a->users, b->users, a->nusers) &&
	       list_equal(a->accounts, b->accounts, a->naccounts);
}

/* The user-id is a slice of the username, not NUL-terminated. */
struct slice {
	const char *s;
	size_t n;
};

static int slice_cmp(const void *key, const void *elem)
{
	const struct slice *k = key;
	const char *e = *(char *const *)elem;
	size_t en = strlen(e);
	int c = memcmp(k->s, e, k->n < en ? k->n : en);
	return c ? c : (k->n > en) - (k->n < en);
}

static bool list_has(char *const *v, size_t n, const char *s, size_t len)
{
	struct slice k = {s, len};
	return n && bsearch(&k, v, n, sizeof(*v), slice_cmp);
}

bool turn_revoked_has(const struct turn_revoked *r, const char *uid,
		      size_t len)
{
	if (!r)
		return false;
	const char *colon = memchr(uid, ':', len);
	return list_has(r->users, r->nusers, uid, len) ||
	       (colon && list_has(r->accounts, r->naccounts, uid,
				  (size_t)(colon - uid)));
}

/* A REST username carries its expiry beside the user-id; a static
 * user's user-id is the whole name, and is never revoked here. */
static bool alloc_revoked(const struct turn_srv *srv, const struct turn_alloc *a)
{
	return a->userid_len < strlen(a->username) &&
	       turn_revoked_has(srv->revoked, a->username + a->userid_off,
				a->userid_len);
}

/* What was revoked ends now (its usage record says "revoked"), not at
 * its next Refresh, which may be an hour away: a blocked user's media
 * stops. Collected first: each destroy reorders the heap. */
static void revoked_sweep(struct turn_srv *srv)
{
	size_t n = 0;
	for (size_t i = 0; i < srv->nheap; i++)
		n += alloc_revoked(srv, srv->heap[i]);
	struct turn_alloc **end = n ? calloc(n, sizeof(*end)) : NULL;
	if (!n)
		return;
	if (!end) { /* no memory for the list: one at a time, rescanning */
		for (size_t i = 0; i < srv->nheap;) {
			struct turn_alloc *a = srv->heap[i];
			if (!alloc_revoked(srv, a)) {
				i++;
				continue;
			}
			a->end = TURN_END_REVOKED;
			turn_alloc_destroy(srv, a);
			i = 0;
		}
		return;
	}
	n = 0;
	for (size_t i = 0; i < srv->nheap; i++)
		if (alloc_revoked(srv, srv->heap[i]))
			end[n++] = srv->heap[i];
	for (size_t i = 0; i < n; i++) {
		end[i]->end = TURN_END_REVOKED;
		turn_alloc_destroy(srv, end[i]);
	}
	free(end);
}

void turn_srv_set_revoked(struct turn_srv *srv, struct turn_revoked *r)
{
	turn_revoked_put(srv->revoked);
	srv->revoked = r;
	revoked_sweep(srv);
}
