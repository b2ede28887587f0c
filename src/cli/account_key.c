/* `account key add|remove`: the JWT keys an account's tokens are signed
 * with. Material is checked with the same jwt_key_new the API verifies
 * with, so a key that could never verify a token is refused here. */
#include <errno.h>
#include <string.h>

#include <openssl/evp.h>

#include "auth/jwt.h"
#include "cli/account.h"
#include "util/rand.h"

#define KEY_GEN_BYTES 32 /* 256 bits, HS256's own size (RFC 7518 3.2) */
#define KEY_GEN_LEN 43   /* base64url of 32 bytes, unpadded */

/* 32 random bytes as unpadded base64url. The text itself is the secret,
 * so it can be pasted into another service's configuration unchanged. */
static int key_secret_make(char *out)
{
	uint8_t raw[KEY_GEN_BYTES];
	int err = rand_bytes(raw, sizeof(raw));
	if (err)
		return err;
	EVP_EncodeBlock((unsigned char *)out, raw, sizeof(raw));
	explicit_bzero(raw, sizeof(raw));
	for (char *p = out; *p; p++)
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
	out[KEY_GEN_LEN] = '\0';
	return 0;
}

/* HS256: --secret as given, or a fresh one (then *made). */
static int key_hs256_load(struct cli_args *a, uint8_t *buf, size_t *len,
			  bool *made)
{
	const char *secret = cli_args_get(a, "secret");
	if (cli_args_has(a, "public-key-file"))
		return cli_say(a, 2, "--public-key-file is for RS256, ES256 "
			       "and EdDSA; HS256 takes --secret");
	*made = !secret;
	if (!secret) {
		int err = key_secret_make((char *)buf);
		*len = KEY_GEN_LEN;
		return err ? cli_fail(a, err, "generating a secret") : 0;
	}
	*len = strlen(secret);
	if (*len > STORE_KEYMAT_MAX)
		return cli_say(a, 2, "--secret is too long (max %d bytes)",
			       STORE_KEYMAT_MAX);
	memcpy(buf, secret, *len);
	return 0;
}

static int key_pem_load(struct cli_args *a, const char *alg, uint8_t *buf,
			size_t *len)
{
	const char *path = cli_args_get(a, "public-key-file");
	if (cli_args_has(a, "secret"))
		return cli_say(a, 2, "--secret is for HS256; %s takes "
			       "--public-key-file", alg);
	if (!path)
		return cli_say(a, 2, "%s needs --public-key-file PEM", alg);
	int rc = cli_file_read(a, path, buf, len);
	if (!rc && *len > STORE_KEYMAT_MAX)
		rc = cli_say(a, 2, "'%s' is too large (max %d bytes)", path,
			     STORE_KEYMAT_MAX);
	return rc;
}

/* The same check the admin API makes (jwt_key_check_public): usable for
 * alg, and a public half only, since the store is read by the API. */
static int key_material_check(struct cli_args *a, enum jwt_alg alg,
			      const uint8_t *m, size_t len)
{
	int err = jwt_key_check_public(alg, m, len);
	if (err == EPERM)
		return cli_say(a, 2, "'%s' holds a private key; store its "
			       "public half (openssl pkey -pubout)",
			       cli_args_get(a, "public-key-file"));
	if (err == EINVAL && alg == JWT_ALG_HS256)
		return cli_say(a, 2, "--secret must be at least %d bytes",
			       JWT_HS256_MIN);
	if (err == EINVAL)
		return cli_say(a, 2, "'%s' is not a usable %s public key",
			       cli_args_get(a, "public-key-file"),
			       jwt_alg_str(alg));
	return err ? cli_fail(a, err, "checking the key") : 0;
}

static int key_store(struct cli_args *a, struct store *s,
		     const struct store_key *k)
{
	int err = store_key_add(s, k);
	if (err == ENOENT)
		return cli_fail(a, err, "account '%s'", k->account);
	if (err == EINVAL)
		return cli_say(a, 2, "invalid --kid '%s' (at most %d of "
			       "[A-Za-z0-9._-])", k->kid, STORE_KID_MAX - 1);
	return err ? cli_fail(a, err, "key '%s'", k->kid) : 0;
}

int cli_key_add(struct cli_args *a, struct store *s)
{
	struct store_key k = {.material = NULL};
	uint8_t buf[CLI_FILE_MAX];
	bool made = false;
	const char *kid = cli_args_get(a, "kid");
	const char *name = cli_args_get(a, "alg");
	enum jwt_alg alg = name ? jwt_alg_from_str(name) : JWT_ALG_NONE;
	if (!kid || !name)
		return cli_say(a, 2, "--kid and --alg are required");
	if (alg == JWT_ALG_NONE)
		return cli_say(a, 2, "unknown --alg '%s' (HS256, RS256, ES256 "
			       "or EdDSA)", name);
	int rc = cli_str_copy(a, k.account, sizeof(k.account), a->pos[0],
			      "name");
	if (!rc)
		rc = cli_str_copy(a, k.kid, sizeof(k.kid), kid, "--kid");
	if (!rc)
		rc = alg == JWT_ALG_HS256 ?
			     key_hs256_load(a, buf, &k.len, &made) :
			     key_pem_load(a, name, buf, &k.len);
	if (!rc)
		rc = key_material_check(a, alg, buf, k.len);
	snprintf(k.alg, sizeof(k.alg), "%s", jwt_alg_str(alg));
	k.material = buf;
	if (!rc)
		rc = key_store(a, s, &k);
	/* Shown once: the store keeps it, nothing prints it again. */
	if (!rc && made)
		fprintf(a->out, "%.*s\n", (int)k.len, (const char *)buf);
	explicit_bzero(buf, sizeof(buf));
	return rc;
}

int cli_key_remove(struct cli_args *a, struct store *s)
{
	const char *kid = cli_args_get(a, "kid");
	if (!kid)
		return cli_say(a, 2, "--kid is required");
	int err = store_key_remove(s, a->pos[0], kid);
	return err ? cli_fail(a, err, "key '%s' of account '%s'", kid,
			      a->pos[0])
		   : 0;
}
