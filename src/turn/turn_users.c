/* The users of a coturn user database: a table of any size, unlike the
 * few user= lines of a configuration (turn_cfg.users), so a lookup is a
 * binary search, by name or by USERHASH (RFC 8489 14.4), never a scan
 * an unauthenticated request could make long. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stun/stun.h"
#include "turn/turn.h"

int turn_user_set_md5(struct turn_user *u, const char *name,
		      const uint8_t key[16], const char *realm)
{
	if (strlen(name) >= sizeof(u->name))
		return EINVAL;
	memset(u, 0, sizeof(*u));
	strcpy(u->name, name);
	memcpy(u->key_md5, key, 16);
	u->md5_only = true;
	return stun_userhash(name, realm, u->userhash);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct turn_user *)a)->name,
		      ((const struct turn_user *)b)->name);
}

static int by_hash(const void *a, const void *b, void *arg)
{
	const struct turn_user *u = arg;
	return memcmp(u[*(const uint32_t *)a].userhash,
		      u[*(const uint32_t *)b].userhash, 32);
}

int turn_users_build(struct turn_users *t, struct turn_user *u, unsigned n)
{
	memset(t, 0, sizeof(*t));
	uint32_t *idx = malloc((n ? n : 1) * sizeof(*idx));
	if (!idx) {
		if (u)
			explicit_bzero(u, n * sizeof(*u));
		free(u);
		return ENOMEM;
	}
	if (n > 1) /* u may be NULL when n is 0 */
		qsort(u, n, sizeof(*u), by_name);
	for (unsigned i = 0; i < n; i++) {
		idx[i] = i;
		if (i > 0 && strcmp(u[i - 1].name, u[i].name) == 0) {
			explicit_bzero(u, n * sizeof(*u));
			free(u);
			free(idx);
			return EEXIST;
		}
	}
	if (n > 1)
		qsort_r(idx, n, sizeof(*idx), by_hash, u);
	t->u = u;
	t->by_hash = idx;
	t->n = n;
	return 0;
}

void turn_users_free(struct turn_users *t)
{
	if (!t)
		return;
	if (t->u)
		explicit_bzero(t->u, t->n * sizeof(*t->u));
	free(t->u);
	free(t->by_hash);
	memset(t, 0, sizeof(*t));
}

const struct turn_user *turn_users_find(const struct turn_users *t,
					const char *name)
{
	if (!t || t->n == 0)
		return NULL;
	struct turn_user key;
	size_t len = strlen(name);
	if (len >= sizeof(key.name))
		return NULL;
	memcpy(key.name, name, len + 1);
	return bsearch(&key, t->u, t->n, sizeof(*t->u), by_name);
}

const struct turn_user *turn_users_by_hash(const struct turn_users *t,
					   const uint8_t hash[32])
{
	unsigned lo = 0, hi = t ? t->n : 0;
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		const struct turn_user *u = &t->u[t->by_hash[mid]];
		int c = memcmp(u->userhash, hash, 32);
		if (c == 0)
			return u;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}
