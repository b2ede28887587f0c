/* turnstone creds: known answers (derived with openssl, see below) and
 * argument errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth/auth.h"
#include "cli/cli.h"

/* Defined in src/cli/creds.c: cli_creds_main with injected clock/streams. */

#define NOW 1700000000u

struct run {
	char *out, *err;
	size_t outlen, errlen;
	int rc;
};

static void run_creds(struct run *r, char **argv)
{
	int argc = 0;
	while (argv[argc])
		argc++;
	FILE *out = open_memstream(&r->out, &r->outlen);
	FILE *err = open_memstream(&r->err, &r->errlen);
	assert_non_null(out);
	assert_non_null(err);
	r->rc = cli_creds_run(argc, argv, NOW, out, err);
	fclose(out);
	fclose(err);
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

#define ARGV(...) ((char *[]){"creds", __VA_ARGS__, NULL})

static char *file_make(const char *text, size_t n)
{
	char *path = strdup("/tmp/ts_creds_XXXXXX");
	assert_non_null(path);
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	close(fd);
	return path;
}

static void file_drop(char *path)
{
	unlink(path);
	free(path);
}

/* printf %s '1700086400:alice' |
 *   openssl dgst -sha1 -hmac 'north-wind-42' -binary | base64 */
#define KAT_ALICE "231B6tIVaNddI856PnZV5LNxXv4="
/* printf %s '1700003600:bob' |
 *   openssl dgst -sha1 -hmac 'file-secret' -binary | base64 */
#define KAT_BOB "HHKBD0GIVWxb1cGbbEbzj2B0K4k="

static void test_known_answer_text(void **state)
{
	(void)state;
	struct run r;
	run_creds(&r, ARGV("--secret", "north-wind-42", "--user", "alice"));
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.err, "");
	assert_string_equal(r.out,
		"username: 1700086400:alice\n"
		"password: " KAT_ALICE "\n"
		"expires:  2023-11-15T22:13:20Z (in 86400 s)\n"
		"try:      turnutils_uclient -y -u '1700086400:alice' -w '"
		KAT_ALICE "' <server-address>\n");
	run_free(&r);
}

/* A server with rest-api-separator: the username uses it, and the
 * password is the HMAC of that username. */
static void test_separator(void **state)
{
	(void)state;
	struct run r;
	run_creds(&r, ARGV("--json", "--secret=north-wind-42", "--user=alice",
			   "--rest-api-separator", "#"));
	assert_int_equal(r.rc, 0);
	char pass[AUTH_REST_PASS_LEN];
	assert_int_equal(auth_rest_password("north-wind-42", 13,
					    "1700086400#alice", 16, pass,
					    sizeof(pass)), 0);
	char want[256];
	snprintf(want, sizeof(want),
		 "{\"username\":\"1700086400#alice\",\"password\":\"%s\","
		 "\"ttl\":86400,\"expires\":1700086400}\n", pass);
	assert_string_equal(r.out, want);
	run_free(&r);
}

static void test_known_answer_json(void **state)
{
	(void)state;
	struct run r;
	run_creds(&r, ARGV("--json", "--secret=north-wind-42", "--user=alice",
			   "--realm", "example.org"));
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out,
		"{\"username\":\"1700086400:alice\",\"password\":\"" KAT_ALICE
		"\",\"ttl\":86400,\"expires\":1700086400,"
		"\"realm\":\"example.org\"}\n");
	run_free(&r);
}

static void test_secret_file_and_ttl(void **state)
{
	(void)state;
	char *path = file_make("file-secret\r\nsecond line ignored\n", 33);
	struct run r;
	run_creds(&r, ARGV("--secret-file", path, "--user", "bob", "--ttl=3600",
			   "--json"));
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.out,
		"{\"username\":\"1700003600:bob\",\"password\":\"" KAT_BOB
		"\",\"ttl\":3600,\"expires\":1700003600}\n");
	run_free(&r);
	file_drop(path);

	/* no trailing newline at all */
	path = file_make("file-secret", 11);
	run_creds(&r, ARGV("--secret-file", path, "--user", "bob", "--ttl",
			   "3600"));
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "password: " KAT_BOB "\n"));
	run_free(&r);
	file_drop(path);
}

static void test_quoting(void **state)
{
	(void)state;
	struct run r;
	run_creds(&r, ARGV("--secret", "s", "--user", "o'ne\"il"));
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "-u '1700086400:o'\\''ne\"il' -w "));
	run_free(&r);
	run_creds(&r, ARGV("--secret", "s", "--user", "o'ne\"il", "--json"));
	assert_non_null(strstr(r.out, "\"username\":\"1700086400:o'ne\\\"il\""));
	run_free(&r);
}

static void test_long_ttl_note(void **state)
{
	(void)state;
	struct run r;
	run_creds(&r, ARGV("--secret", "s", "--user", "u", "--ttl", "172800"));
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.err, "rest-max-ttl"));
	assert_non_null(strstr(r.out, "username: 1700172800:u\n"));
	run_free(&r);
}

/* Exit 2 with usage on err, nothing on out, and err mentions want. */
static void arg_error_expect(char **argv, const char *want)
{
	struct run r;
	run_creds(&r, argv);
	assert_int_equal(r.rc, 2);
	assert_string_equal(r.out, "");
	if (!strstr(r.err, want))
		fail_msg("want '%s' in '%s'", want, r.err);
	if (strstr(r.err, "LEAK"))
		fail_msg("secret leaked: '%s'", r.err);
	run_free(&r);
}

static void test_arg_errors(void **state)
{
	(void)state;
	arg_error_expect(ARGV("--user", "u"), "exactly one of --secret");
	arg_error_expect(ARGV("--secret", "LEAK"), "--user is required");
	arg_error_expect(ARGV("--secret", "LEAK", "--secret-file", "/x",
			      "--user", "u"), "exactly one of --secret");
	arg_error_expect(ARGV("--secret", "", "--user", "u"),
			 "--secret must not be empty");
	arg_error_expect(ARGV("--secret", "LEAK", "--user", "u", "--ttl", "abc"),
			 "invalid --ttl 'abc'");
	arg_error_expect(ARGV("--secret", "LEAK", "--user", "u", "--ttl=0"),
			 "invalid --ttl '0'");
	arg_error_expect(ARGV("--secret", "LEAK", "--user", "u", "--ttl=-5"),
			 "invalid --ttl");
	arg_error_expect(ARGV("--secret", "LEAK", "--user", "u",
			      "--rest-api-separator", "7"),
			 "invalid --rest-api-separator '7'");
	arg_error_expect(ARGV("--secret", "LEAK", "--user", "u",
			      "--rest-api-separator=::"),
			 "invalid --rest-api-separator");
	arg_error_expect(ARGV("--secret", "LEAK", "--bogus", "1"),
			 "unknown option '--bogus'");
	arg_error_expect(ARGV("--secret", "LEAK", "stray"),
			 "unexpected argument 'stray'");
	arg_error_expect(ARGV("--user", "u", "--secret"),
			 "option '--secret' needs a value");
	arg_error_expect(ARGV("--secret-file", "/nonexistent/ts", "--user", "u"),
			 "cannot open '/nonexistent/ts'");
	/* usage follows every argument error */
	arg_error_expect(ARGV("--user", "u"), "usage: turnstone creds");
}

static void test_secret_file_errors(void **state)
{
	(void)state;
	char *path = file_make("\nLEAK\n", 6);
	arg_error_expect(ARGV("--secret-file", path, "--user", "u"),
			 "holds no secret");
	file_drop(path);

	char big[1100];
	memset(big, 'S', sizeof(big));
	memcpy(big, "LEAK", 4);
	path = file_make(big, sizeof(big));
	arg_error_expect(ARGV("--secret-file", path, "--user", "u"),
			 "too long (max 1024 bytes)");
	file_drop(path);

	/* exactly the maximum, newline-terminated, is fine */
	big[1024] = '\n';
	path = file_make(big, 1025);
	struct run r;
	run_creds(&r, ARGV("--secret-file", path, "--user", "u"));
	assert_int_equal(r.rc, 0);
	run_free(&r);
	file_drop(path);
}

static void test_help(void **state)
{
	(void)state;
	struct run r;
	run_creds(&r, ARGV("--help"));
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "usage: turnstone creds"));
	assert_string_equal(r.err, "");
	run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_answer_text),
		cmocka_unit_test(test_known_answer_json),
		cmocka_unit_test(test_separator),
		cmocka_unit_test(test_secret_file_and_ttl),
		cmocka_unit_test(test_quoting),
		cmocka_unit_test(test_long_ttl_note),
		cmocka_unit_test(test_arg_errors),
		cmocka_unit_test(test_secret_file_errors),
		cmocka_unit_test(test_help),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
