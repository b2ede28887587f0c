/* Unit tests for the admin account list's pages (api_page.c): parsing
 * limit and after, and finding a page by binary search, checked against
 * a linear scan of the same sorted names. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "api/api_admin.h"

/* Sorted bytewise, as store_snapshot() gives them: '-' < '0' < '_' < 'a'. */
static const char *const names[] = {"0day", "a", "a-b", "a0", "a_b",
				    "ab",   "b", "m-1", "zeta"};
#define NNAMES (sizeof(names) / sizeof(names[0]))

static struct store_account accts[NNAMES];
static struct store_snap snap = {.naccounts = NNAMES, .accounts = accts};

static int setup(void **state)
{
	(void)state;
	for (size_t i = 0; i < NNAMES; i++) {
		store_account_init(&accts[i], names[i]);
		if (i && strcmp(names[i - 1], names[i]) >= 0)
			return -1; /* the fixture must be sorted */
	}
	return 0;
}

static void parse_ok(const char *limit, const char *after, size_t want)
{
	size_t lim = 0;
	const char *param = "unset";
	if (admin_page_parse(limit, after, &lim, &param) != 0 || lim != want ||
	    param != NULL)
		fail_msg("limit %s after %s: got %zu %s", limit ? limit : "-",
			 after ? after : "-", lim, param ? param : "-");
}

static void parse_bad(const char *limit, const char *after, const char *want)
{
	size_t lim = 0;
	const char *param = NULL;
	int err = admin_page_parse(limit, after, &lim, &param);
	if (err != EINVAL || !param || strcmp(param, want) != 0)
		fail_msg("limit %s after %s: got %d %s, want %s",
			 limit ? limit : "-", after ? after : "-", err,
			 param ? param : "-", want);
}

static void test_parse(void **state)
{
	(void)state;
	char n63[64], n64[65];
	memset(n63, 'a', 63);
	n63[63] = '\0';
	memset(n64, 'a', 64);
	n64[64] = '\0';
	parse_ok(NULL, NULL, ADMIN_PAGE_DEFAULT);
	assert_int_equal(ADMIN_PAGE_DEFAULT, 100);
	parse_ok("1", NULL, 1);
	parse_ok("1000", "acme", 1000);
	parse_ok("0002", NULL, 2);
	parse_ok(NULL, n63, ADMIN_PAGE_DEFAULT);
	const char *bad_limits[] = {"0", "1001", "abc", "", "-1", "+5", " 5",
				    "5 ", "1e3", "0x10", "2.0",
				    "99999999999999999999"};
	for (size_t i = 0; i < sizeof(bad_limits) / sizeof(bad_limits[0]); i++)
		parse_bad(bad_limits[i], NULL, "limit");
	const char *bad_after[] = {"", "Acme", "a b", "a/b", "-a", "_a",
				   "a%2Fb", "\xc3\xa9", n64};
	for (size_t i = 0; i < sizeof(bad_after) / sizeof(bad_after[0]); i++)
		parse_bad("10", bad_after[i], "after");
	parse_bad("0", "", "limit"); /* the first bad one is named */
}

/* What the page must be: a linear scan. */
static void page_scan(const char *after, size_t limit, struct admin_page *pg)
{
	size_t i = 0;
	while (after && i < NNAMES && strcmp(names[i], after) <= 0)
		i++;
	pg->start = i;
	pg->count = NNAMES - i < limit ? NNAMES - i : limit;
	pg->more = NNAMES - i > limit;
}

static void test_find_matches_scan(void **state)
{
	(void)state;
	const char *afters[] = {NULL, "0", "0day", "0daz", "a", "a-", "a-b",
				"a0", "a_", "a_b", "aa", "ab", "b", "c",
				"m-1", "zeta", "zz", "-"};
	for (size_t i = 0; i < sizeof(afters) / sizeof(afters[0]); i++) {
		for (size_t limit = 1; limit <= NNAMES + 1; limit++) {
			struct admin_page got, want;
			admin_page_find(&snap, afters[i], limit, &got);
			page_scan(afters[i], limit, &want);
			if (got.start != want.start || got.count != want.count ||
			    got.more != want.more)
				fail_msg("after %s limit %zu: got %zu+%zu more %d, "
					 "want %zu+%zu more %d",
					 afters[i] ? afters[i] : "-", limit,
					 got.start, got.count, got.more,
					 want.start, want.count, want.more);
		}
	}
}

/* Walking with each page's last name as the next cursor lists every
 * account once, in order, and the last page says there is no more. */
static void test_walk(void **state)
{
	(void)state;
	for (size_t limit = 1; limit <= NNAMES + 1; limit++) {
		const char *after = NULL;
		size_t seen = 0, pages = 0;
		struct admin_page pg;
		do {
			admin_page_find(&snap, after, limit, &pg);
			assert_int_equal(pg.start, seen);
			seen += pg.count;
			pages++;
			assert_true(pages <= NNAMES + 1);
			if (pg.more)
				after = accts[pg.start + pg.count - 1].name;
		} while (pg.more);
		assert_int_equal(seen, NNAMES);
		assert_int_equal(pages, (NNAMES + limit - 1) / limit);
	}
}

static void test_find_edges(void **state)
{
	(void)state;
	struct admin_page pg;
	struct store_snap empty = {0};
	admin_page_find(NULL, "a", 10, &pg);
	assert_int_equal(pg.count, 0);
	assert_false(pg.more);
	admin_page_find(&empty, NULL, 10, &pg);
	assert_int_equal(pg.count, 0);
	assert_false(pg.more);
	/* A page that ends exactly at the last account has no next. */
	admin_page_find(&snap, "0day", NNAMES - 1, &pg);
	assert_int_equal(pg.start, 1);
	assert_int_equal(pg.count, NNAMES - 1);
	assert_false(pg.more);
	/* A cursor that is no account (deleted since) still finds its place. */
	admin_page_find(&snap, "aa", 1, &pg);
	assert_string_equal(accts[pg.start].name, "ab");
	assert_true(pg.more);
	admin_page_find(&snap, "zeta", 5, &pg);
	assert_int_equal(pg.start, NNAMES);
	assert_int_equal(pg.count, 0);
	assert_false(pg.more);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_find_matches_scan),
		cmocka_unit_test(test_walk),
		cmocka_unit_test(test_find_edges),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
