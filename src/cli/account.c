/* turnstone account: manage accounts in the SQLite store the daemon
 * serves from. The daemon notices each commit (store_data_version) and
 * swaps in a new snapshot, so changes take effect without a restart.
 * Keys are in account_key.c, TURN policy in account_turn.c. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/account.h"
#include "cli/cli.h"

#define ACCT_TTL_MAX 604800

int cli_account_check(struct cli_args *a, const struct store_account *acct)
{
	const char *field = NULL;
	if (store_account_validate(acct, &field) == 0)
		return 0;
	return cli_say(a, 2, "invalid %s", field);
}

/* --default-ttl, --max-ttl, --rate, --burst, --user-rate, --user-burst,
 * --issuer onto acct. */
static int acct_limits_apply(struct cli_args *a, struct store_account *acct)
{
	const char *issuer = cli_args_get(a, "issuer");
	int rc = cli_args_u32(a, "max-ttl", 1, ACCT_TTL_MAX,
			      &acct->max_ttl);
	/* Only --max-ttl given: the default follows it down. */
	if (!rc && acct->default_ttl > acct->max_ttl)
		acct->default_ttl = acct->max_ttl;
	if (!rc)
		rc = cli_args_u32(a, "default-ttl", 1, ACCT_TTL_MAX,
				  &acct->default_ttl);
	if (!rc)
		rc = cli_args_u32(a, "rate", 0, UINT32_MAX,
				  &acct->rate_per_s);
	if (!rc)
		rc = cli_args_u32(a, "burst", 0, UINT32_MAX,
				  &acct->rate_burst);
	if (!rc)
		rc = cli_args_u32(a, "user-rate", 0, UINT32_MAX,
				  &acct->user_rate_per_s);
	if (!rc)
		rc = cli_args_u32(a, "user-burst", 0, UINT32_MAX,
				  &acct->user_rate_burst);
	if (!rc && issuer)
		rc = cli_str_copy(a, acct->issuer, sizeof(acct->issuer),
				  issuer, "--issuer");
	return rc;
}

static int acct_create(struct cli_args *a, struct store *s)
{
	struct store_account acct;
	const char *name = a->pos[0];
	/* Through a buffer: store_account_init would truncate silently. */
	int rc = cli_str_copy(a, acct.name, sizeof(acct.name), name, "name");
	if (rc)
		return rc;
	store_account_init(&acct, name);
	acct.configurable_turn = cli_args_has(a, "configurable-turn");
	rc = acct_limits_apply(a, &acct);
	if (!rc)
		rc = cli_account_check(a, &acct);
	if (rc)
		return rc;
	int err = store_account_create(s, &acct);
	if (err)
		return cli_fail(a, err, "account '%s'", name);
	return cli_account_show(a, s, name);
}

static int acct_show(struct cli_args *a, struct store *s)
{
	return cli_account_show(a, s, a->pos[0]);
}

static size_t acct_nkeys(const struct store_snap *snap, const char *name)
{
	size_t n = 0;
	for (size_t i = 0; i < snap->nkeys; i++)
		n += strcmp(snap->keys[i].account, name) == 0;
	return n;
}

/* One line per account: name, status, TURN mode, number of keys. */
static int acct_list(struct cli_args *a, struct store *s)
{
	struct store_snap *snap = NULL;
	int err = store_snapshot(s, &snap);
	if (err)
		return cli_fail(a, err, "reading accounts");
	for (size_t i = 0; i < snap->naccounts; i++) {
		const struct store_account *acct = &snap->accounts[i];
		fprintf(a->out, "%s\t%s\t%s\t%zu\n", acct->name,
			acct->disabled ? "disabled" : "active",
			store_turn_mode_str(acct->mode),
			acct_nkeys(snap, acct->name));
	}
	store_snap_free(snap);
	return 0;
}

static int acct_status_edit(struct store_account *acct, void *off)
{
	acct->disabled = *(bool *)off;
	return 0;
}

/* One transaction (store_account_modify): a concurrent admin API write
 * to the same account is not undone. */
static int acct_status_set(struct cli_args *a, struct store *s, bool off)
{
	const char *name = a->pos[0];
	int err = store_account_modify(s, name, acct_status_edit, &off);
	return err ? cli_fail(a, err, "account '%s'", name) : 0;
}

static int acct_disable(struct cli_args *a, struct store *s)
{
	return acct_status_set(a, s, true);
}

static int acct_enable(struct cli_args *a, struct store *s)
{
	return acct_status_set(a, s, false);
}

static int acct_delete(struct cli_args *a, struct store *s)
{
	int err = store_account_delete(s, a->pos[0]);
	return err ? cli_fail(a, err, "account '%s'", a->pos[0]) : 0;
}

static const struct cli_cmd acct_cmds[] = {
	{"create", "NAME [--configurable-turn] [--default-ttl S] "
	 "[--max-ttl S] [--rate N] [--burst N] [--user-rate N] [--user-burst N] "
	 "[--issuer I]", 1,
	 (const char *const[]){"default-ttl", "max-ttl", "rate", "burst",
			       "user-rate", "user-burst", "issuer", NULL},
	 (const char *const[]){"configurable-turn", NULL}, acct_create},
	{"list", "", 0, NULL, NULL, acct_list},
	{"show", "NAME", 1, NULL, NULL, acct_show},
	{"disable", "NAME", 1, NULL, NULL, acct_disable},
	{"enable", "NAME", 1, NULL, NULL, acct_enable},
	{"delete", "NAME", 1, NULL, NULL, acct_delete},
	{"key add", "NAME --kid K --alg HS256 [--secret S] | "
	 "--alg ES256|RS256|EdDSA --public-key-file PEM", 1,
	 (const char *const[]){"kid", "alg", "secret", "public-key-file",
			       NULL},
	 NULL, cli_key_add},
	{"key remove", "NAME --kid K", 1, (const char *const[]){"kid", NULL},
	 NULL, cli_key_remove},
	{"block", "NAME SUB", 2, NULL, NULL, cli_block_add},
	{"unblock", "NAME SUB", 2, NULL, NULL, cli_block_remove},
	{"blocks", "NAME", 1, NULL, NULL, cli_block_list},
	{"turn set", "NAME --mode override|fallback|platform [--relay-only] "
	 "[--server URL[,URL...] [--username U --credential C | --secret S]]"
	 "...", 1,
	 (const char *const[]){"mode", "server", "username", "credential",
			       "secret", NULL},
	 (const char *const[]){"relay-only", NULL}, cli_turn_set},
};

int cli_account_run(int argc, char **argv, FILE *out, FILE *err)
{
	struct cli_args a = {.out = out, .err = err};
	return cli_cmd_main(acct_cmds, sizeof(acct_cmds) / sizeof(acct_cmds[0]),
			    argc, argv, &a);
}

int cli_account_main(int argc, char **argv)
{
	return cli_account_run(argc, argv, stdout, stderr);
}
