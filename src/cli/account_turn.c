/* `account turn set`: an account's Configurable TURN policy. Each
 * --server starts a server; the --username/--credential/--secret after
 * it, up to the next --server, belong to it. The whole list replaces the
 * old one in one transaction. */
#include <errno.h>
#include <string.h>

#include "cli/account.h"

/* "URL[,URL...]" into v->urls; their shape is checked by validation. */
static int turn_urls_split(struct cli_args *a, const char *list,
			   struct store_server *v)
{
	const char *p = list;
	for (;;) {
		size_t n = strcspn(p, ",");
		if (v->nurls == STORE_URLS_MAX)
			return cli_say(a, 2, "--server '%s' has more than %d "
				       "urls", list, STORE_URLS_MAX);
		if (n >= STORE_URL_MAX)
			return cli_say(a, 2, "a url in --server is longer "
				       "than %d characters", STORE_URL_MAX - 1);
		memcpy(v->urls[v->nurls], p, n);
		v->urls[v->nurls++][n] = '\0';
		if (!p[n])
			return 0;
		p += n + 1;
	}
}

/* The buffer --name fills in v, or NULL when it is not a credential. */
static char *turn_cred_field(struct store_server *v, const char *name)
{
	if (strcmp(name, "username") == 0)
		return v->username;
	if (strcmp(name, "credential") == 0)
		return v->credential;
	if (strcmp(name, "secret") == 0)
		return v->secret;
	return NULL;
}

static int turn_servers_parse(struct cli_args *a, struct store_server *tmp,
			      unsigned *n)
{
	for (int i = 0; i < a->nopts; i++) {
		const struct cli_opt *o = &a->opts[i];
		char *field = turn_cred_field(&tmp[*n ? *n - 1 : 0], o->name);
		int rc = 0;
		if (strcmp(o->name, "server") == 0) {
			if (*n == STORE_SERVERS_MAX)
				return cli_say(a, 2, "more than %d --server",
					       STORE_SERVERS_MAX);
			rc = turn_urls_split(a, o->val, &tmp[(*n)++]);
		} else if (field && *n == 0) {
			rc = cli_say(a, 2, "--%s must follow a --server",
				     o->name);
		} else if (field) {
			rc = cli_str_copy(a, field, STORE_CRED_MAX, o->val,
					  o->name);
		}
		if (rc)
			return rc;
	}
	return 0;
}

/* The new policy, applied by store_account_modify inside its write
 * transaction so a concurrent writer (the daemon's admin API) cannot
 * commit between our read and our write and be undone. */
struct turn_edit {
	enum store_turn_mode mode;
	bool relay_only;
	unsigned n;
	struct store_server *servers;
	const char *field; /* the first invalid one, after EINVAL */
};

#define TURN_UNPAID EPERM

/* The feature check comes before validation so that its refusal reads
 * as what it is (the API answers 403 feature_disabled here). */
static int turn_edit(struct store_account *acct, void *arg)
{
	struct turn_edit *e = arg;
	acct->mode = e->mode;
	acct->relay_only = e->relay_only;
	acct->nservers = e->n;
	acct->servers = e->n ? e->servers : NULL;
	if (!acct->configurable_turn &&
	    (acct->mode != STORE_TURN_PLATFORM || acct->nservers))
		return TURN_UNPAID;
	return store_account_validate(acct, &e->field);
}

static int turn_apply(struct cli_args *a, struct store *s, const char *name,
		      struct turn_edit *e)
{
	int err = store_account_modify(s, name, turn_edit, e);
	if (err == TURN_UNPAID)
		return cli_say(a, 1, "account '%s' lacks the configurable-turn "
			       "feature (custom servers, modes other than "
			       "platform)", name);
	if (err == EINVAL && e->field)
		return cli_say(a, 2, "invalid %s", e->field);
	if (err)
		return cli_fail(a, err, "account '%s'", name);
	return cli_account_show(a, s, name);
}

int cli_turn_set(struct cli_args *a, struct store *s)
{
	struct store_server tmp[STORE_SERVERS_MAX];
	struct turn_edit e = {.servers = tmp};
	const char *m = cli_args_get(a, "mode");
	if (!m)
		return cli_say(a, 2, "--mode is required");
	if (store_turn_mode_parse(m, &e.mode) != 0)
		return cli_say(a, 2, "unknown --mode '%s' (platform, override "
			       "or fallback)", m);
	memset(tmp, 0, sizeof(tmp));
	int rc = turn_servers_parse(a, tmp, &e.n);
	e.relay_only = cli_args_has(a, "relay-only");
	if (!rc)
		rc = turn_apply(a, s, a->pos[0], &e);
	explicit_bzero(tmp, sizeof(tmp));
	return rc;
}
