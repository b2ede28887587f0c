/* store, blocked end users: add, refuse what is not a JWT sub or has no
 * account, remove, the snapshot's sorted list and lookup, and a block
 * going with its account. */
#include <errno.h>

#include "store_fixture.h"

static void acme(struct fx *f, const char *name)
{
	struct store_account a;
	store_account_init(&a, name);
	assert_int_equal(store_account_create(f->s, &a), 0);
	store_account_clear(&a);
}

static void test_block_add_remove(void **state)
{
	struct fx *f = *state;
	acme(f, "acme");
	assert_int_equal(store_block_add(f->s, "acme", "alice"), 0);
	assert_int_equal(store_block_add(f->s, "acme", "alice"), EEXIST);
	assert_int_equal(store_block_add(f->s, "nobody", "alice"), ENOENT);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM blocks"), 1);
	assert_int_equal(store_block_remove(f->s, "acme", "alice"), 0);
	assert_int_equal(store_block_remove(f->s, "acme", "alice"), ENOENT);
	assert_int_equal(store_block_remove(f->s, "nobody", "alice"), ENOENT);
	assert_int_equal(store_block_remove(f->s, "acme", "a:b"), ENOENT);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM blocks"), 0);
}

/* What a JWT sub cannot be cannot be blocked either: it would never
 * match, and a ':' would make it match another user's username. */
static void test_block_sub_checked(void **state)
{
	struct fx *f = *state;
	char big[STORE_SUB_MAX + 1];
	acme(f, "acme");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(store_block_add(f->s, "acme", ""), EINVAL);
	assert_int_equal(store_block_add(f->s, "acme", "a:b"), EINVAL);
	assert_int_equal(store_block_add(f->s, "acme", "tab\there"), EINVAL);
	assert_int_equal(store_block_add(f->s, "acme", "caf\xc3\xa9"), EINVAL);
	assert_int_equal(store_block_add(f->s, "acme", big), EINVAL);
	big[STORE_SUB_MAX - 1] = '\0'; /* 127 characters: the most */
	assert_int_equal(store_block_add(f->s, "acme", big), 0);
}

static void test_block_snapshot(void **state)
{
	struct fx *f = *state;
	struct store_snap *snap = NULL;
	acme(f, "zeta");
	acme(f, "acme");
	assert_int_equal(store_block_add(f->s, "zeta", "bob"), 0);
	assert_int_equal(store_block_add(f->s, "acme", "carol"), 0);
	assert_int_equal(store_block_add(f->s, "acme", "alice"), 0);
	assert_int_equal(store_snapshot(f->s, &snap), 0);
	assert_int_equal(snap->nblocks, 3);
	assert_string_equal(snap->blocks[0].account, "acme");
	assert_string_equal(snap->blocks[0].sub, "alice");
	assert_string_equal(snap->blocks[1].sub, "carol");
	assert_string_equal(snap->blocks[2].account, "zeta");
	assert_true(snap->blocks[0].created > 0);
	assert_non_null(store_snap_block(snap, "acme", "carol"));
	assert_non_null(store_snap_block(snap, "zeta", "bob"));
	assert_null(store_snap_block(snap, "acme", "bob"));
	assert_null(store_snap_block(snap, "zeta", "alice"));
	assert_null(store_snap_block(snap, "acme", "a:b"));
	store_snap_free(snap);
}

static void test_block_none(void **state)
{
	struct fx *f = *state;
	struct store_snap *snap = NULL;
	acme(f, "acme");
	assert_int_equal(store_snapshot(f->s, &snap), 0);
	assert_int_equal(snap->nblocks, 0);
	assert_null(store_snap_block(snap, "acme", "alice"));
	store_snap_free(snap);
	assert_null(store_snap_block(NULL, "acme", "alice"));
}

/* Deleting the account removes its blocks; a new account of the same
 * name starts with none. */
static void test_block_goes_with_account(void **state)
{
	struct fx *f = *state;
	acme(f, "acme");
	assert_int_equal(store_block_add(f->s, "acme", "alice"), 0);
	assert_int_equal(store_account_delete(f->s, "acme"), 0);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM blocks"), 0);
	acme(f, "acme");
	assert_int_equal(store_block_remove(f->s, "acme", "alice"), ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_block_add_remove, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_block_sub_checked, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_block_snapshot, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_block_none, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_block_goes_with_account, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
