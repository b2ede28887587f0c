/* turnstone probe: URI and argument parsing (no sockets). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/cli.h"
#include "cli/probe.h"

struct parse {
	struct probe_args a;
	char *err;
	size_t errlen;
	int rc;
};

static void parse_run(struct parse *p, char **argv)
{
	int argc = 0;
	while (argv[argc])
		argc++;
	FILE *err = open_memstream(&p->err, &p->errlen);
	assert_non_null(err);
	p->rc = probe_args_parse(&p->a, argc, argv, err);
	fclose(err);
}

#define ARGV(...) ((char *[]){"probe", __VA_ARGS__, NULL})

/* Parsing must fail and say something containing msg. */
static void parse_fails(char **argv, const char *msg)
{
	struct parse p;
	parse_run(&p, argv);
	assert_int_not_equal(p.rc, 0);
	if (!strstr(p.err, msg))
		fail_msg("expected '%s' in '%s'", msg, p.err);
	free(p.err);
}

static void parse_ok(struct parse *p, char **argv)
{
	parse_run(p, argv);
	if (p->rc != 0)
		fail_msg("unexpected error: %s", p->err);
	free(p->err);
}

static void test_stun_v4(void **state)
{
	(void)state;
	struct parse p;
	char buf[SA_STRLEN];
	parse_ok(&p, ARGV("stun:127.0.0.1:3478"));
	assert_int_equal(p.a.scheme, PROBE_STUN);
	assert_false(p.a.tcp);
	assert_string_equal(sa_fmt(&p.a.server, buf, sizeof(buf)),
			    "127.0.0.1:3478");
}

static void test_stun_v6(void **state)
{
	(void)state;
	struct parse p;
	char buf[SA_STRLEN];
	parse_ok(&p, ARGV("stun:[::1]:65535"));
	assert_int_equal(sa_af(&p.a.server), AF_INET6);
	assert_string_equal(sa_fmt(&p.a.server, buf, sizeof(buf)),
			    "[::1]:65535");
}

static void test_turn_transports(void **state)
{
	(void)state;
	struct parse p;
	parse_ok(&p, ARGV("turn:127.0.0.1:3478?transport=tcp", "--user", "u",
			  "--password", "p"));
	assert_int_equal(p.a.scheme, PROBE_TURN);
	assert_true(p.a.tcp);
	assert_string_equal(p.a.user, "u");
	assert_string_equal(p.a.password, "p");
	assert_null(p.a.realm);
	assert_int_equal(p.a.count, PROBE_COUNT_DEFAULT);
	parse_ok(&p, ARGV("--user=u", "--password=p",
			  "turn:10.0.0.1:1?transport=udp"));
	assert_false(p.a.tcp);
	assert_int_equal(sa_port(&p.a.server), 1);
	parse_ok(&p, ARGV("turn:127.0.0.1:3478", "--user", "u", "--password",
			  "p"));
	assert_false(p.a.tcp);
}

static void test_turn_secret(void **state)
{
	(void)state;
	struct parse p;
	char buf[SA_STRLEN];
	parse_ok(&p, ARGV("turn:127.0.0.1:3478", "--secret", "s"));
	assert_string_equal(p.a.secret, "s");
	assert_string_equal(p.a.user_id, PROBE_USERID_DEFAULT);
	assert_null(p.a.user);
	assert_int_equal(p.a.ttl, PROBE_TTL_DEFAULT);
	assert_string_equal(sa_fmt_ip(&p.a.peer, buf, sizeof(buf)),
			    "127.0.0.1");
	parse_ok(&p, ARGV("turn:127.0.0.1:3478", "--secret", "s", "--user-id",
			  "bob", "--ttl", "60", "--realm", "r", "--count",
			  "12", "--peer", "::1"));
	assert_string_equal(p.a.user_id, "bob");
	assert_int_equal(p.a.ttl, 60);
	assert_string_equal(p.a.realm, "r");
	assert_int_equal(p.a.count, 12);
	assert_int_equal(sa_af(&p.a.peer), AF_INET6);
	/* As in 'turnstone creds', --user names the id with --secret. */
	parse_ok(&p, ARGV("turn:127.0.0.1:3478", "--secret", "s", "--user",
			  "carol"));
	assert_string_equal(p.a.user_id, "carol");
	assert_null(p.a.user);
	assert_int_equal(p.a.sep, 0); /* ':' */
	parse_ok(&p, ARGV("turn:127.0.0.1:3478", "--secret", "s",
			  "--rest-api-separator", "-"));
	assert_int_equal(p.a.sep, '-');
}

static void test_bad_uris(void **state)
{
	(void)state;
	parse_fails(ARGV("http://127.0.0.1:3478"), "not a stun:, stuns:, turn: or turns:");
	parse_fails(ARGV("stunss:127.0.0.1:5349"), "not a stun:");
	parse_fails(ARGV("turns:127.0.0.1:5349?transport=udp", "--secret", "s"),
		    "DTLS");
	parse_fails(ARGV("stun:127.0.0.1"), "needs a port");
	parse_fails(ARGV("stun:127.0.0.1:"), "needs a port");
	parse_fails(ARGV("stun:[::1]"), "needs a port");
	parse_fails(ARGV("stun:127.0.0.1:0"), "bad port");
	parse_fails(ARGV("stun:127.0.0.1:65536"), "bad port");
	parse_fails(ARGV("stun:127.0.0.1:34x"), "bad port");
	parse_fails(ARGV("stun:127.0.0.1:1234567"), "bad port");
	parse_fails(ARGV("stun:127.0.0.1:123456789012"), "bad port");
	parse_fails(ARGV("stun:example.com:3478"), "not resolved");
	parse_fails(ARGV("stun:[example.com]:3478"), "not resolved");
	parse_fails(ARGV("stun:[127.0.0.1]:3478"), "bracketed IPv6");
	parse_fails(ARGV("stun:::1:3478"), "bad host");
	parse_fails(ARGV("stun:[::1:3478"), "bad host");
	parse_fails(ARGV("stun::3478"), "bad host");
	parse_fails(ARGV("stun:127.0.0.1:3478?transport=tcp"), "no query");
	parse_fails(ARGV("turn:127.0.0.1:3478?transport=sctp", "--secret",
			 "s"), "transport=udp");
	parse_fails(ARGV("turn:127.0.0.1:3478?", "--secret", "s"),
		    "transport=udp");
}

static void test_bad_args(void **state)
{
	(void)state;
	parse_fails(ARGV("--count", "3"), "give a stun: or turn: URI");
	parse_fails(ARGV("turn:127.0.0.1:3478"), "--user and --password");
	parse_fails(ARGV("turn:127.0.0.1:3478", "--user", "u"),
		    "--user and --password");
	parse_fails(ARGV("turn:127.0.0.1:3478", "--password", "p"),
		    "--user and --password");
	parse_fails(ARGV("turn:127.0.0.1:3478", "--secret", "s",
			 "--password", "p"), "not both");
	parse_fails(ARGV("turn:127.0.0.1:3478", "--secret", ""), "empty");
	parse_fails(ARGV("turn:127.0.0.1:3478", "--user", "u", "--password",
			 "p", "--ttl", "5"), "go with --secret");
	parse_fails(ARGV("turn:127.0.0.1:3478", "--secret", "s", "--ttl",
			 "0"), "invalid --ttl");
	parse_fails(ARGV("turn:127.0.0.1:3478", "--secret", "s",
			 "--rest-api-separator", "1"),
		    "invalid --rest-api-separator '1'");
	parse_fails(ARGV("turn:127.0.0.1:3478", "--user", "u", "--password",
			 "p", "--rest-api-separator", "-"), "go with --secret");
	parse_fails(ARGV("turn:127.0.0.1:3478", "--secret", "s", "--count",
			 "0"), "invalid --count");
	parse_fails(ARGV("turn:127.0.0.1:3478", "--secret", "s", "--count",
			 "1001"), "invalid --count");
	parse_fails(ARGV("turn:127.0.0.1:3478", "--secret", "s", "--peer",
			 "localhost"), "not an IP literal");
	parse_fails(ARGV("turn:127.0.0.1:3478", "--secret", "s", "--bogus",
			 "1"), "unknown option");
	parse_fails(ARGV("turn:127.0.0.1:3478", "--secret"), "needs a value");
	parse_fails(ARGV("stun:127.0.0.1:3478", "stun:127.0.0.1:3479"),
		    "unexpected argument");
	parse_fails(ARGV("stun:127.0.0.1:3478", "--count", "2"),
		    "takes no options");
	parse_fails(ARGV("--nat", "turn:127.0.0.1:3478", "--secret", "s"),
		    "--nat goes with a stun: URI");
	parse_fails(ARGV("--nat", "stun:127.0.0.1:3478", "--count", "2"),
		    "takes no options but --nat");
}

/* turns: and stuns: (RFC 7065, 7064): TLS over TCP, with the options that
 * say how the certificate is checked, which other URIs refuse. */
static void test_tls_uris(void **state)
{
	(void)state;
	struct parse p;
	char buf[SA_STRLEN];
	parse_ok(&p, ARGV("turns:127.0.0.1:443?transport=tcp", "--secret", "s",
			  "--servername", "turn.example.com"));
	assert_int_equal(p.a.scheme, PROBE_TURN);
	assert_true(p.a.tls && p.a.tcp);
	assert_string_equal(p.a.servername, "turn.example.com");
	assert_string_equal(sa_fmt(&p.a.server, buf, sizeof(buf)), "127.0.0.1:443");
	parse_ok(&p, ARGV("stuns:[::1]:5349", "--ca-file", "/etc/ca.pem"));
	assert_int_equal(p.a.scheme, PROBE_STUN);
	assert_true(p.a.tls);
	assert_string_equal(p.a.ca_file, "/etc/ca.pem");
	parse_ok(&p, ARGV("--insecure", "turns:127.0.0.1:5349", "--secret", "s"));
	assert_true(p.a.insecure);
	parse_fails(ARGV("stun:127.0.0.1:3478", "--ca-file", "x"),
		    "go with turns: or stuns:");
	parse_fails(ARGV("turn:127.0.0.1:3478", "--secret", "s", "--insecure"),
		    "go with turns: or stuns:");
	parse_fails(ARGV("stuns:127.0.0.1:5349", "--insecure", "--ca-file", "x"),
		    "verifies nothing");
	parse_fails(ARGV("--nat", "stuns:127.0.0.1:5349"), "--nat goes with a stun:");
}

/* --nat (RFC 5780) is a flag, before or after the URI. */
static void test_nat_flag(void **state)
{
	(void)state;
	struct parse p;
	parse_ok(&p, ARGV("stun:127.0.0.1:3478"));
	assert_false(p.a.nat);
	parse_ok(&p, ARGV("--nat", "stun:127.0.0.1:3478"));
	assert_true(p.a.nat);
	assert_int_equal(p.a.scheme, PROBE_STUN);
	parse_ok(&p, ARGV("stun:[::1]:3478", "--nat"));
	assert_true(p.a.nat);
}

static void test_help_and_exit_status(void **state)
{
	(void)state;
	struct parse p;
	parse_ok(&p, ARGV("--help"));
	assert_true(p.a.help);
	/* Usage errors exit 2 before any socket is opened. */
	assert_int_equal(cli_probe_main(2, ARGV("ftp:1.2.3.4:1")), 2);
	assert_int_equal(cli_probe_main(1, (char *[]){"probe", NULL}), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stun_v4),
		cmocka_unit_test(test_stun_v6),
		cmocka_unit_test(test_turn_transports),
		cmocka_unit_test(test_turn_secret),
		cmocka_unit_test(test_bad_uris),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_nat_flag),
		cmocka_unit_test(test_tls_uris),
		cmocka_unit_test(test_help_and_exit_status),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
