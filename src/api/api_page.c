/* Cursor pages of GET /v1/admin/accounts. The cursor is an account name,
 * not a position: the snapshot's accounts are sorted by name (bytewise,
 * store_snap.c), so "the names after X" stays well defined when accounts
 * are created or deleted between two pages, X itself included. Pure. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_admin.h"

/* A decimal 1..ADMIN_PAGE_MAX; no sign, space or exponent. */
static int page_limit(const char *s, size_t *limit)
{
	size_t n = strlen(s);
	if (n == 0 || n > 9 || strspn(s, "0123456789") != n)
		return EINVAL;
	unsigned long v = strtoul(s, NULL, 10);
	if (v < 1 || v > ADMIN_PAGE_MAX)
		return EINVAL;
	*limit = v;
	return 0;
}

int admin_page_parse(const char *limit, const char *after, size_t *lim,
		     const char **param)
{
	*lim = ADMIN_PAGE_DEFAULT;
	*param = "limit";
	if (limit && page_limit(limit, lim) != 0)
		return EINVAL;
	*param = "after";
	if (after && !store_account_name_valid(after))
		return EINVAL;
	*param = NULL;
	return 0;
}

/* Index of the first account whose name sorts after `after`. */
static size_t page_first_after(const struct store_snap *snap,
			       const char *after)
{
	size_t lo = 0, hi = snap->naccounts;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(snap->accounts[mid].name, after) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void admin_page_find(const struct store_snap *snap, const char *after,
		     size_t limit, struct admin_page *pg)
{
	memset(pg, 0, sizeof(*pg));
	if (!snap)
		return;
	pg->start = after ? page_first_after(snap, after) : 0;
	size_t left = snap->naccounts - pg->start;
	pg->count = left < limit ? left : limit;
	pg->more = left > limit;
}
