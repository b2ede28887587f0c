/* turnstone token mint: a JWT for trying the ICE-servers API, signed the
 * way a customer's backend would sign it. The token is verified against
 * the stored key before it is printed, so a --key-file that does not
 * match the account's public key fails here, not at the API. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "auth/jwt.h"
#include "cli/account.h"
#include "cli/cli.h"

#define TOKEN_TTL_DEFAULT 3600
#define TOKEN_TTL_MAX (365u * 86400)
/* The API's default --api-max-token-lifetime (server/config.c): longer
 * tokens are minted for servers that raised it, with a note. */
#define TOKEN_TTL_SERVER_CAP 86400u
#define TOKEN_AUD_DEFAULT "turnstone"
#define TOKEN_SKEW 60

/* sub ends up in the TURN username "<expires>:<account>:<sub>". */
static int token_sub_check(struct cli_args *a, const char *sub)
{
	size_t n = strlen(sub);
	bool ok = n > 0 && n < JWT_SUB_MAX;
	for (size_t i = 0; ok && i < n; i++)
		ok = sub[i] >= 0x20 && sub[i] < 0x7f && sub[i] != ':';
	if (ok)
		return 0;
	return cli_say(a, 2, "invalid --sub (1..%d printable ASCII "
		       "characters, no ':')", JWT_SUB_MAX - 1);
}

/* --kid's key if the account owns it, else the account's first key in
 * kid order (as `account show` lists them). */
static const struct store_key *token_key_pick(const struct store_snap *snap,
					      const char *account,
					      const char *kid)
{
	if (kid) {
		const struct store_key *k = store_snap_key(snap, kid);
		return k && strcmp(k->account, account) == 0 ? k : NULL;
	}
	for (size_t i = 0; i < snap->nkeys; i++)
		if (strcmp(snap->keys[i].account, account) == 0)
			return &snap->keys[i];
	return NULL;
}

struct token_req {
	const struct store_account *acct;
	const struct store_key *key;
	const char *sub;
	const char *aud;
	uint32_t ttl;
};

static char *token_claims(const struct cli_args *a,
			  const struct token_req *r)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I}",
		"iss", r->acct->issuer, "aud", r->aud, "sub", r->sub,
		"iat", (json_int_t)a->now,
		"exp", (json_int_t)(a->now + r->ttl));
	char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) :
			 NULL;
	json_decref(o);
	return text;
}

/* Would the API accept it? Same key, same checks. */
static int token_verify(const struct cli_args *a, const struct token_req *r,
			const char *tok)
{
	struct jwt_key *key = NULL;
	struct jwt t;
	struct jwt_claims claims;
	enum jwt_reason why = JWT_OK;
	struct jwt_expect e = {r->acct->issuer, r->aud, a->now, TOKEN_SKEW, 0};
	int err = jwt_key_new(&key, jwt_alg_from_str(r->key->alg),
			      r->key->material, r->key->len);
	if (!err)
		err = jwt_parse(tok, strlen(tok), &t, &why);
	if (!err)
		err = jwt_verify(&t, key, &e, &claims, &why);
	jwt_key_free(key);
	if (!err)
		return 0;
	return cli_say(a, 1, "the token does not verify with key '%s' (%s)%s",
		       r->key->kid, jwt_reason_str(why),
		       why == JWT_R_SIGNATURE ? ": is --key-file its private "
						"half?" : "");
}

/* HS256 signs with the stored secret; the others with --key-file. */
static int token_sign(struct cli_args *a, const struct token_req *r,
		      const char *claims, char *tok, size_t toksz)
{
	uint8_t pem[CLI_FILE_MAX];
	const char *file = cli_args_get(a, "key-file");
	enum jwt_alg alg = jwt_alg_from_str(r->key->alg);
	const uint8_t *m = r->key->material;
	size_t len = r->key->len;
	int rc = 0;
	if (alg == JWT_ALG_HS256 && file)
		return cli_say(a, 2, "key '%s' is HS256: no --key-file",
			       r->key->kid);
	if (alg != JWT_ALG_HS256 && !file)
		return cli_say(a, 2, "key '%s' is %s: give its private key "
			       "with --key-file", r->key->kid, r->key->alg);
	if (file) {
		rc = cli_file_read(a, file, pem, &len);
		m = pem;
	}
	int err = rc ? 0 : jwt_sign(alg, r->key->kid, m, len, claims, tok,
				    toksz);
	explicit_bzero(pem, sizeof(pem));
	if (err == EINVAL && file)
		return cli_say(a, 2, "'%s' is not a usable %s private key",
			       file, r->key->alg);
	return err ? cli_fail(a, err, "signing with key '%s'", r->key->kid)
		   : rc;
}

static int token_emit(struct cli_args *a, const struct token_req *r)
{
	char tok[JWT_MAX_LEN + 1];
	char *claims = token_claims(a, r);
	if (!claims)
		return cli_fail(a, ENOMEM, "claims");
	int rc = token_sign(a, r, claims, tok, sizeof(tok));
	free(claims);
	if (!rc)
		rc = token_verify(a, r, tok);
	if (!rc)
		fprintf(a->out, "%s\n", tok);
	if (!rc && r->acct->disabled)
		fprintf(a->err, "note: account '%s' is disabled; the API will "
			"refuse this token\n", r->acct->name);
	if (!rc && r->ttl > TOKEN_TTL_SERVER_CAP)
		fprintf(a->err, "note: a server with the default "
			"--api-max-token-lifetime (%u s) refuses a token valid "
			"this long\n", TOKEN_TTL_SERVER_CAP);
	return rc;
}

/* The account and its key (--kid, or the first) in snap. */
static int token_lookup(struct cli_args *a, const struct store_snap *snap,
			struct token_req *r)
{
	const char *name = cli_args_get(a, "account");
	const char *kid = cli_args_get(a, "kid");
	r->acct = store_snap_account(snap, name);
	if (!r->acct)
		return cli_fail(a, ENOENT, "account '%s'", name);
	r->key = token_key_pick(snap, name, kid);
	if (r->key)
		return 0;
	if (kid)
		return cli_fail(a, ENOENT, "key '%s' of account '%s'", kid,
				name);
	return cli_say(a, 1, "account '%s' has no keys", name);
}

static int token_mint(struct cli_args *a, struct store *s)
{
	struct token_req r = {.sub = cli_args_get(a, "sub"),
			      .aud = cli_args_get(a, "aud"),
			      .ttl = TOKEN_TTL_DEFAULT};
	struct store_snap *snap = NULL;
	if (!cli_args_get(a, "account") || !r.sub)
		return cli_say(a, 2, "--account and --sub are required");
	if (!r.aud)
		r.aud = TOKEN_AUD_DEFAULT;
	int rc = token_sub_check(a, r.sub);
	if (!rc)
		rc = cli_args_u32(a, "ttl", 1, TOKEN_TTL_MAX, &r.ttl);
	int err = rc ? 0 : store_snapshot(s, &snap);
	if (err)
		rc = cli_fail(a, err, "reading the store");
	if (!rc)
		rc = token_lookup(a, snap, &r);
	if (!rc)
		rc = token_emit(a, &r);
	store_snap_free(snap);
	return rc;
}

static const struct cli_cmd token_cmds[] = {
	{"mint", "--account A --sub SUB [--ttl 3600] [--kid K] "
	 "[--key-file PRIVATE.pem] [--aud turnstone]", 0,
	 (const char *const[]){"account", "sub", "ttl", "kid", "key-file",
			       "aud", NULL},
	 NULL, token_mint},
};

int cli_token_run(int argc, char **argv, uint64_t now, FILE *out,
		  FILE *err)
{
	struct cli_args a = {.out = out, .err = err, .now = now};
	return cli_cmd_main(token_cmds, 1, argc, argv, &a);
}

int cli_token_main(int argc, char **argv)
{
	return cli_token_run(argc, argv, (uint64_t)time(NULL), stdout, stderr);
}
