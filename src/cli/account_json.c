/* `account show`: the admin API's own Account JSON (api_account_json), so
 * what an operator sees here is what the API returns. Credentials and
 * shared secrets print as "(redacted)", key material not at all. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/api.h"
#include "cli/account.h"

int cli_account_show(struct cli_args *a, struct store *s, const char *name)
{
	struct store_snap *snap = NULL;
	char *text = NULL;
	int err = store_snapshot(s, &snap);
	if (err)
		return cli_fail(a, err, "reading account '%s'", name);
	const struct store_account *acct = store_snap_account(snap, name);
	json_t *o = acct ? api_account_json(acct, snap) : NULL;
	if (o)
		text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	store_snap_free(snap);
	if (!text)
		return cli_fail(a, acct ? ENOMEM : ENOENT, "account '%s'",
				name);
	fprintf(a->out, "%s\n", text);
	free(text);
	return 0;
}
