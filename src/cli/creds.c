/* turnstone creds: mint TURN REST credentials (coturn use-auth-secret) for
 * a shared secret, e.g. to test a server or to seed a web app's config. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/auth.h"
#include "cli/cli.h"

#define CREDS_SECRET_MAX 1024
#define CREDS_USER_MAX 480     /* username stays under STUN's 509 bytes */
#define CREDS_TTL_DEFAULT 86400
#define CREDS_TTL_MAX (10ull * 365 * 86400)

/* Like cli_creds_main with the clock and streams injected, for tests.
 * Returns the exit status: 0, 1 (internal error) or 2 (bad arguments). */

struct creds_args {
	const char *secret;
	const char *secret_file;
	const char *user;
	const char *realm;
	uint64_t ttl;
	char sep;
	bool json;
	bool help;
};

static void creds_usage(FILE *f)
{
	fprintf(f,
		"usage: turnstone creds (--secret S | --secret-file PATH) "
		"--user U\n"
		"                       [--ttl N] [--realm R] [--json]\n"
		"                       [--rest-api-separator C]\n"
		"  --secret S         shared secret (static-auth-secret)\n"
		"  --secret-file P    read the secret from P (first line)\n"
		"  --user U           user id; the username is "
		"\"<expiry>:<U>\"\n"
		"  --ttl N            lifetime in seconds (default %d)\n"
		"  --realm R          realm to show alongside\n"
		"  --rest-api-separator C  the server's separator (default ':')\n"
		"  --json             print a JSON object\n",
		CREDS_TTL_DEFAULT);
}

static int creds_ttl_parse(const char *s, uint64_t *ttl)
{
	if (!*s || strspn(s, "0123456789") != strlen(s))
		return EINVAL;
	errno = 0;
	unsigned long long v = strtoull(s, NULL, 10);
	if (errno || v == 0 || v > CREDS_TTL_MAX)
		return EINVAL;
	*ttl = v;
	return 0;
}

/* Store one "--name value" pair; EINVAL names the problem on err. */
static int creds_arg_set(struct creds_args *a, const char *name,
			 const char *val, FILE *err)
{
	if (strcmp(name, "secret") == 0)
		a->secret = val;
	else if (strcmp(name, "secret-file") == 0)
		a->secret_file = val;
	else if (strcmp(name, "user") == 0)
		a->user = val;
	else if (strcmp(name, "realm") == 0)
		a->realm = val;
	else if (strcmp(name, "ttl") == 0) {
		if (creds_ttl_parse(val, &a->ttl) != 0) {
			fprintf(err, "turnstone creds: invalid --ttl '%s' "
				"(1..%llu seconds)\n", val, CREDS_TTL_MAX);
			return EINVAL;
		}
	} else if (strcmp(name, "rest-api-separator") == 0) {
		if (strlen(val) != 1 || !auth_rest_sep_ok(val[0])) {
			fprintf(err, "turnstone creds: invalid --rest-api-separator "
				"'%s' (one printable character, not a digit)\n", val);
			return EINVAL;
		}
		a->sep = val[0];
	} else {
		fprintf(err, "turnstone creds: unknown option '--%s'\n", name);
		return EINVAL;
	}
	return 0;
}

static bool creds_is_flag(const char *arg, struct creds_args *a)
{
	if (strcmp(arg, "--json") == 0)
		a->json = true;
	else if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
		a->help = true;
	else
		return false;
	return true;
}

static int creds_args_check(const struct creds_args *a, FILE *err)
{
	if (!a->secret == !a->secret_file) {
		fprintf(err, "turnstone creds: give exactly one of --secret and "
			"--secret-file\n");
		return EINVAL;
	}
	if (a->secret && !*a->secret) {
		fprintf(err, "turnstone creds: --secret must not be empty\n");
		return EINVAL;
	}
	if (!a->user) {
		fprintf(err, "turnstone creds: --user is required\n");
		return EINVAL;
	}
	if (strlen(a->user) > CREDS_USER_MAX) {
		fprintf(err, "turnstone creds: --user is too long (max %d)\n",
			CREDS_USER_MAX);
		return EINVAL;
	}
	return 0;
}

/* argv[0] is the "creds" word. "--name value" and "--name=value". */
static int creds_args_parse(struct creds_args *a, int argc, char **argv,
			    FILE *err)
{
	memset(a, 0, sizeof(*a));
	a->ttl = CREDS_TTL_DEFAULT;
	a->sep = AUTH_REST_SEP;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (creds_is_flag(arg, a))
			continue;
		if (strncmp(arg, "--", 2) != 0 || !arg[2]) {
			fprintf(err, "turnstone creds: unexpected argument '%s'\n",
				arg);
			return EINVAL;
		}
		char name[32];
		const char *eq = strchr(arg, '=');
		size_t n = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
		snprintf(name, sizeof(name), "%.*s", (int)n, arg + 2);
		const char *val = eq ? eq + 1 : NULL;
		if (!val && i + 1 >= argc) {
			fprintf(err, "turnstone creds: option '%s' needs a value\n",
				arg);
			return EINVAL;
		}
		if (!val)
			val = argv[++i];
		if (creds_arg_set(a, name, val, err) != 0)
			return EINVAL;
	}
	return a->help ? 0 : creds_args_check(a, err);
}

/* The first line of the file; trailing CR/LF dropped, the rest kept as
 * is. The secret is never echoed, even in errors. */
static int creds_secret_read(const char *path, char *buf, size_t sz,
			     size_t *len, FILE *err)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(err, "turnstone creds: cannot open '%s': %s\n", path,
			strerror(errno));
		return EINVAL;
	}
	size_t n = fread(buf, 1, sz - 1, f);
	buf[n] = '\0';
	size_t line = strcspn(buf, "\r\n");
	int next = line == n && n == sz - 1 ? fgetc(f) : EOF;
	bool more = next != EOF && next != '\n' && next != '\r';
	fclose(f);
	if (more) {
		fprintf(err, "turnstone creds: secret in '%s' is too long "
			"(max %zu bytes)\n", path, sz - 1);
		return EINVAL;
	}
	buf[line] = '\0';
	if (line == 0) {
		fprintf(err, "turnstone creds: '%s' holds no secret\n", path);
		return EINVAL;
	}
	*len = line;
	return 0;
}

static void creds_json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(out, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(out, "\\u%04x", ch);
		else
			fputc(ch, out);
	}
	fputc('"', out);
}

/* Single-quote for a POSIX shell: ' becomes '\''. */
static void creds_shell_str(FILE *out, const char *s)
{
	fputc('\'', out);
	for (; *s; s++) {
		if (*s == '\'')
			fputs("'\\''", out);
		else
			fputc(*s, out);
	}
	fputc('\'', out);
}

struct creds_out {
	const char *username;
	const char *password;
	uint64_t expiry;
	uint64_t ttl;
	const char *realm;
};

static void creds_print_json(FILE *out, const struct creds_out *o)
{
	fputs("{\"username\":", out);
	creds_json_str(out, o->username);
	fputs(",\"password\":", out);
	creds_json_str(out, o->password);
	fprintf(out, ",\"ttl\":%llu,\"expires\":%llu",
		(unsigned long long)o->ttl, (unsigned long long)o->expiry);
	if (o->realm) {
		fputs(",\"realm\":", out);
		creds_json_str(out, o->realm);
	}
	fputs("}\n", out);
}

static void creds_print_text(FILE *out, const struct creds_out *o)
{
	char when[32] = "?";
	time_t t = (time_t)o->expiry;
	struct tm tm;
	if (gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(out, "username: %s\npassword: %s\n", o->username, o->password);
	fprintf(out, "expires:  %s (in %llu s)\n", when,
		(unsigned long long)o->ttl);
	if (o->realm)
		fprintf(out, "realm:    %s\n", o->realm);
	fputs("try:      turnutils_uclient -y -u ", out);
	creds_shell_str(out, o->username);
	fputs(" -w ", out);
	creds_shell_str(out, o->password);
	fputs(" <server-address>\n", out);
}

static int creds_make(const struct creds_args *a, const char *secret,
		      size_t secret_len, uint64_t now, FILE *out, FILE *err)
{
	char username[CREDS_USER_MAX + 32];
	char password[AUTH_REST_PASS_LEN];
	int e = auth_rest_username(now, a->ttl, a->user, a->sep, username,
				   sizeof(username));
	if (!e)
		e = auth_rest_password(secret, secret_len, username,
				       strlen(username), password,
				       sizeof(password));
	if (e) {
		fprintf(err, "turnstone creds: cannot build credentials: %s\n",
			strerror(e));
		return 1;
	}
	struct creds_out o = {username, password, now + a->ttl, a->ttl,
			      a->realm};
	if (a->json)
		creds_print_json(out, &o);
	else
		creds_print_text(out, &o);
	if (a->ttl > CREDS_TTL_DEFAULT)
		fprintf(err, "note: servers reject usernames that expire more "
			"than rest-max-ttl (default %d s) ahead\n",
			CREDS_TTL_DEFAULT);
	return 0;
}

int cli_creds_run(int argc, char **argv, uint64_t now, FILE *out, FILE *err)
{
	struct creds_args a;
	if (creds_args_parse(&a, argc, argv, err) != 0) {
		creds_usage(err);
		return 2;
	}
	if (a.help) {
		creds_usage(out);
		return 0;
	}
	char buf[CREDS_SECRET_MAX + 1];
	const char *secret = a.secret;
	size_t len = a.secret ? strlen(a.secret) : 0;
	if (a.secret_file) {
		if (creds_secret_read(a.secret_file, buf, sizeof(buf), &len,
				      err) != 0)
			return 2;
		secret = buf;
	}
	int rc = creds_make(&a, secret, len, now, out, err);
	explicit_bzero(buf, sizeof(buf));
	return rc;
}

int cli_creds_main(int argc, char **argv)
{
	return cli_creds_run(argc, argv, (uint64_t)time(NULL), stdout, stderr);
}
