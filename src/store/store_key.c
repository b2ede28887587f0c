/* JWT keys. A kid names one key across all accounts, because a token's
 * kid is what finds the account. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "store/store_int.h"

static bool key_kid_valid(const char *kid)
{
	size_t n = strnlen(kid, STORE_KID_MAX);
	return n > 0 && n < STORE_KID_MAX &&
	       strspn(kid, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
			   "abcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

static bool key_alg_valid(const char *alg)
{
	static const char *const algs[] = {"HS256", "RS256", "ES256", "EdDSA"};
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (strncmp(alg, algs[i], STORE_ALG_MAX) == 0)
			return true;
	return false;
}

static bool key_valid(const struct store_key *k)
{
	return key_kid_valid(k->kid) && key_alg_valid(k->alg) &&
	       memchr(k->account, '\0', STORE_NAME_MAX) && k->material &&
	       k->len > 0 && k->len <= STORE_KEYMAT_MAX;
}

/* ?1 account, ?2 kid; the insert adds ?3 alg, ?4 material, ?5 created. */
static int key_bind(struct store *s, sqlite3_stmt *st, const void *arg)
{
	const struct store_key *k = arg;
	int rc = sqlite3_bind_text(st, 1, k->account, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 2, k->kid, -1, SQLITE_STATIC);
	if (rc != SQLITE_OK || sqlite3_bind_parameter_count(st) == 2)
		return store_sql_err(s, rc);
	rc = sqlite3_bind_text(st, 3, k->alg, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_blob(st, 4, k->material, (int)k->len,
				       SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 5, (int64_t)time(NULL));
	return store_sql_err(s, rc);
}

/* The store assigns created; the caller's value is ignored. */
static int key_add_tx(struct store *s, void *arg)
{
	/* No row inserted: no such account. */
	return store_change(s,
		"INSERT INTO keys (account_id, kid, alg, material, created) "
		"SELECT id, ?2, ?3, ?4, ?5 FROM accounts WHERE name = ?1",
		key_bind, arg);
}

int store_key_add(struct store *s, const struct store_key *k)
{
	if (!s || !k || !key_valid(k))
		return EINVAL;
	struct store_key copy = *k; /* store_tx's argument is not const */
	return store_tx(s, true, key_add_tx, &copy);
}

static int key_remove_tx(struct store *s, void *arg)
{
	return store_change(s,
		"DELETE FROM keys WHERE kid = ?2 AND account_id = "
		"(SELECT id FROM accounts WHERE name = ?1)", key_bind, arg);
}

int store_key_remove(struct store *s, const char *account, const char *kid)
{
	struct store_key k;
	if (!s || !account || !kid)
		return EINVAL;
	memset(&k, 0, sizeof(k));
	if (snprintf(k.account, sizeof(k.account), "%s", account) >=
		    (int)sizeof(k.account) ||
	    snprintf(k.kid, sizeof(k.kid), "%s", kid) >= (int)sizeof(k.kid))
		return ENOENT;
	return store_tx(s, true, key_remove_tx, &k);
}
