/* Configuration parser: command line, coturn-style files, validation. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "server/config.h"
#include "server/server_int.h"
#include "stun/stun.h"
#include "turn/policy.h"
#include "util/log.h"

/* ----- helpers ----- */

struct errbuf {
	char *buf;
	size_t len;
	FILE *f;
};

static FILE *err_open(struct errbuf *e)
{
	e->buf = NULL;
	e->len = 0;
	e->f = open_memstream(&e->buf, &e->len);
	assert_non_null(e->f);
	return e->f;
}

static const char *err_text(struct errbuf *e)
{
	fflush(e->f);
	return e->buf ? e->buf : "";
}

static void err_close(struct errbuf *e)
{
	fclose(e->f);
	free(e->buf);
}

/* argv is NULL-terminated and starts with the "serve" word. */
static int args_parse(struct config *c, char **argv, struct errbuf *e)
{
	int argc = 0;
	while (argv[argc])
		argc++;
	return config_parse_args(c, argc, argv, err_open(e));
}

#define ARGV(...) ((char *[]){"serve", __VA_ARGS__, NULL})

/* A temporary file of n bytes of text (a NUL among them if need be). */
static char *file_make_n(const char *text, size_t n)
{
	char *path = strdup("/tmp/ts_cfg_XXXXXX");
	assert_non_null(path);
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	close(fd);
	return path;
}

static char *file_make(const char *text)
{
	return file_make_n(text, strlen(text));
}

static void file_drop(char *path)
{
	unlink(path);
	free(path);
}

/* Parse text as a file; err text stays in e for the caller. */
static int file_parse(struct config *c, const char *text, struct errbuf *e,
		      char **pathp)
{
	char *path = file_make(text);
	int r = config_parse_file(c, path, err_open(e));
	if (pathp)
		*pathp = path;
	else
		file_drop(path);
	return r;
}

/* The error text must contain want and must not contain avoid. */
static void err_expect(struct errbuf *e, const char *want, const char *avoid)
{
	const char *msg = err_text(e);
	if (!strstr(msg, want))
		fail_msg("want '%s' in '%s'", want, msg);
	if (avoid && strstr(msg, avoid))
		fail_msg("'%s' leaked in '%s'", avoid, msg);
	err_close(e);
}

/* Expect a parse error whose message contains want (and not avoid). */
static void file_expect_err(const char *text, const char *want,
			    const char *avoid)
{
	struct config c;
	struct errbuf e;
	config_defaults(&c);
	assert_int_equal(file_parse(&c, text, &e, NULL), EINVAL);
	err_expect(&e, want, avoid);
}

static void args_expect_err(char **argv, const char *want, const char *avoid)
{
	struct config c;
	struct errbuf e;
	config_defaults(&c);
	assert_int_equal(args_parse(&c, argv, &e), EINVAL);
	err_expect(&e, want, avoid);
}

static void ip_expect(const struct sa *sa, const char *ip)
{
	char buf[SA_STRLEN];
	assert_string_equal(sa_fmt_ip(sa, buf, sizeof(buf)), ip);
}

/* ----- defaults ----- */

static void test_defaults(void **state)
{
	(void)state;
	struct config c;
	memset(&c, 0xa5, sizeof(c));
	config_defaults(&c);
	assert_int_equal(c.port, 3478);
	assert_int_equal(c.min_port, 49152);
	assert_int_equal(c.max_port, 65535);
	assert_string_equal(c.realm, "turnstone");
	assert_int_equal(c.rest_max_ttl, 86400);
	assert_int_equal(c.user_quota, 10);
	assert_int_equal(c.total_quota, 10000);
	assert_int_equal(c.max_allocate_lifetime, 3600);
	assert_int_equal(c.channel_lifetime, 600);
	assert_int_equal(c.permission_lifetime, 300);
	assert_int_equal(c.nonce_lifetime, 600);
	assert_int_equal(c.relay_threads, 0);
	assert_true(c.lt_cred_mech);
	assert_int_equal(c.nlisten + c.nrelay + c.nexternal, 0);
	assert_int_equal(c.nsecrets + c.nusers + c.nallowed + c.ndenied, 0);
	assert_false(c.no_udp || c.no_tcp || c.use_auth_secret);
	assert_false(c.allow_loopback_peers || c.verbose || c.check_config);
	assert_string_equal(c.pidfile, "");
	assert_string_equal(c.log_file, "");
	assert_string_equal(c.software, "");
}

/* ----- every option ----- */

/* The same settings, checked after either the command line or a file. */
static void all_expect(const struct config *c)
{
	assert_int_equal(c->nlisten, 2);
	ip_expect(&c->listen[0], "127.0.0.1");
	ip_expect(&c->listen[1], "::1");
	assert_int_equal(c->port, 5000);
	assert_int_equal(c->nrelay, 2);
	ip_expect(&c->relay[0], "10.0.0.2");
	ip_expect(&c->relay[1], "2001:db8::2");
	assert_int_equal(c->nexternal, 2);
	ip_expect(&c->external[0], "203.0.113.1");
	ip_expect(&c->external[1], "198.51.100.7");
	assert_int_equal(c->min_port, 50000);
	assert_int_equal(c->max_port, 50010);
	assert_true(c->no_udp);
	assert_false(c->no_tcp);
	assert_string_equal(c->realm, "example.org");
	assert_true(c->use_auth_secret);
	assert_int_equal(c->nsecrets, 2);
	assert_string_equal(c->secrets[0], "s3cr3t-one");
	assert_string_equal(c->secrets[1], "s3cr3t-two");
	assert_int_equal(c->nusers, 2);
	assert_string_equal(c->users[0].name, "alice");
	assert_string_equal(c->users[0].pass, "pw1");
	assert_string_equal(c->users[1].name, "bob");
	assert_string_equal(c->users[1].pass, "p:w#2");
	assert_true(c->lt_cred_mech);
	assert_int_equal(c->rest_max_ttl, 3600);
	assert_int_equal(c->nallowed, 1);
	assert_string_equal(c->allowed_peers[0], "10.1.2.3");
	assert_int_equal(c->ndenied, 2);
	assert_string_equal(c->denied_peers[0], "192.168.0.0/16");
	assert_string_equal(c->denied_peers[1], "172.16.0.1-172.16.0.9");
	assert_true(c->allow_loopback_peers);
	assert_int_equal(c->user_quota, 5);
	assert_int_equal(c->total_quota, 100);
	assert_int_equal(c->max_allocate_lifetime, 1800);
	assert_int_equal(c->channel_lifetime, 300);
	assert_int_equal(c->permission_lifetime, 120);
	assert_int_equal(c->nonce_lifetime, 300);
	assert_int_equal(c->relay_threads, 4);
	assert_string_equal(c->pidfile, "/run/ts.pid");
	assert_string_equal(c->log_file, "/var/log/ts.log");
	assert_true(c->verbose);
	assert_string_equal(c->software, "turnstone-test");
	assert_true(c->check_config);
}

static void test_args_all_long(void **state)
{
	(void)state;
	struct config c;
	struct errbuf e;
	config_defaults(&c);
	char **argv = ARGV(
		"--listening-ip=127.0.0.1", "--listening-ip", "::1",
		"--listening-port=5000", "--relay-ip", "10.0.0.2",
		"--relay-ip=2001:db8::2", "--external-ip=203.0.113.1/10.0.0.2",
		"--external-ip", "198.51.100.7", "--min-port", "50000",
		"--max-port=50010", "--no-udp", "--realm", "example.org",
		"--use-auth-secret", "--static-auth-secret=s3cr3t-one",
		"--static-auth-secret", "s3cr3t-two", "--user=alice:pw1",
		"--user", "bob:p:w#2", "--lt-cred-mech", "--rest-max-ttl=3600",
		"--allowed-peer-ip=10.1.2.3", "--denied-peer-ip",
		"192.168.0.0/16", "--denied-peer-ip=172.16.0.1-172.16.0.9",
		"--allow-loopback-peers", "--user-quota=5", "--total-quota",
		"100", "--max-allocate-lifetime=1800", "--channel-lifetime",
		"300", "--permission-lifetime=120", "--stale-nonce", "300",
		"--relay-threads=4", "--pidfile", "/run/ts.pid",
		"--log-file=/var/log/ts.log", "--verbose",
		"--software-name", "turnstone-test", "--check-config");
	assert_int_equal(args_parse(&c, argv, &e), 0);
	assert_string_equal(err_text(&e), "");
	err_close(&e);
	all_expect(&c);
	assert_int_equal(config_validate(&c, NULL), 0);
}

static void test_args_short(void **state)
{
	(void)state;
	struct config c;
	struct errbuf e;
	config_defaults(&c);
	char **argv = ARGV("-n", "-p", "3479", "-L", "127.0.0.1", "-E",
			   "10.0.0.5", "-X", "203.0.113.9/10.0.0.5", "-r",
			   "short.example", "-u", "carol:pw", "-a", "-v", "-f",
			   "-m", "2", "-q3", "-Q", "4", "-l", "/tmp/ts.log",
			   "-V");
	assert_int_equal(args_parse(&c, argv, &e), 0);
	err_close(&e);
	assert_int_equal(c.port, 3479);
	assert_int_equal(c.nlisten, 1);
	ip_expect(&c.listen[0], "127.0.0.1");
	ip_expect(&c.relay[0], "10.0.0.5");
	ip_expect(&c.external[0], "203.0.113.9");
	assert_string_equal(c.realm, "short.example");
	assert_int_equal(c.nusers, 1);
	assert_string_equal(c.users[0].name, "carol");
	assert_string_equal(c.users[0].pass, "pw");
	assert_true(c.lt_cred_mech && c.verbose);
	assert_int_equal(c.relay_threads, 2);
	assert_int_equal(c.user_quota, 3);
	assert_int_equal(c.total_quota, 4);
	assert_string_equal(c.log_file, "/tmp/ts.log");
}

static const char all_file[] =
	"# every supported key\n"
	"listening-ip=127.0.0.1\n"
	"listening-ip ::1\n"
	"listening-port = 5000\n"
	"relay-ip=10.0.0.2\n"
	"relay-ip=2001:db8::2\n"
	"external-ip=203.0.113.1/10.0.0.2\n"
	"external-ip=198.51.100.7\n"
	"min-port=50000\n"
	"max-port=50010\n"
	"no-udp\n"
	"no-tcp=false\n"
	"realm=\"example.org\"\n"
	"use-auth-secret\n"
	"static-auth-secret=s3cr3t-one\n"
	"static-auth-secret='s3cr3t-two'\n"
	"user=alice:pw1\n"
	"user=bob:p:w#2\n"
	"lt-cred-mech\n"
	"rest-max-ttl=3600\n"
	"allowed-peer-ip=10.1.2.3\n"
	"denied-peer-ip=192.168.0.0/16\n"
	"denied-peer-ip=172.16.0.1-172.16.0.9\n"
	"allow-loopback-peers=yes\n"
	"user-quota=5\n"
	"total-quota=100\n"
	"max-allocate-lifetime=1800\n"
	"channel-lifetime=300\n"
	"permission-lifetime=120\n"
	"stale-nonce=300\n"
	"relay-threads=4\n"
	"pidfile=/run/ts.pid\n"
	"log-file=/var/log/ts.log\n"
	"verbose\n"
	"software-name=turnstone-test\n"
	"check-config\n";

static void test_file_all(void **state)
{
	(void)state;
	struct config c;
	struct errbuf e;
	config_defaults(&c);
	assert_int_equal(file_parse(&c, all_file, &e, NULL), 0);
	assert_string_equal(err_text(&e), "");
	err_close(&e);
	all_expect(&c);
}

static void test_file_syntax(void **state)
{
	(void)state;
	struct config c;
	struct errbuf e;
	config_defaults(&c);
	const char *text =
		"\n"
		"   # indented comment\n"
		"\t realm \t =  spaced.example  \r\n"
		"listening-port 4000\n"
		"   \n"
		"static-auth-secret = \"with # hash and spaces\"\n"
		"verbose=on\n"
		"no-tcp=1\n"
		"no-tcp=off\n"
		"fingerprint\n"
		"stale-nonce\n"
		"software-name=\n";
	assert_int_equal(file_parse(&c, text, &e, NULL), 0);
	err_close(&e);
	assert_string_equal(c.realm, "spaced.example");
	assert_int_equal(c.port, 4000);
	assert_string_equal(c.secrets[0], "with # hash and spaces");
	assert_true(c.use_auth_secret); /* implied by a secret, as in coturn */
	assert_true(c.verbose);
	assert_false(c.no_tcp);
	assert_int_equal(c.nonce_lifetime, 600);
	assert_string_equal(c.software, "");
}

/* Regressions: bytes that string functions would act on silently. A
 * NUL cut the line ("listening-port=3479\0junk" was port 3479); a file
 * with CR line ends was one line, its first value holding the rest; a
 * BOM made the first key unknown; a directory was "read error". */
static void test_file_bytes(void **state)
{
	(void)state;
	struct config c;
	struct errbuf e;
	config_defaults(&c);
	assert_int_equal(file_parse(&c, "\xEF\xBB\xBFrealm=bom.example\r\n"
				       "listening-port=4000\r\n", &e, NULL), 0);
	err_close(&e);
	assert_string_equal(c.realm, "bom.example");
	assert_int_equal(c.port, 4000);
	file_expect_err("realm=x\n\xEF\xBB\xBFlistening-port=1\n",
			"unknown option", NULL);

	static const struct {
		const char *text;
		size_t n;
		const char *want, *avoid;
	} nul[] = {
		{"realm=x\nstatic-auth-secret=top\0secret\n", 38,
		 "a NUL byte in the line of 'static-auth-secret' (line 2 of", "top"},
		{"no-udp\0=junk\n", 13, "a NUL byte in the line of 'no-udp'", NULL},
	};
	for (size_t i = 0; i < sizeof(nul) / sizeof(nul[0]); i++) {
		char *path = file_make_n(nul[i].text, nul[i].n);
		config_defaults(&c);
		assert_int_equal(config_parse_file(&c, path, err_open(&e)), EINVAL);
		err_expect(&e, nul[i].want, nul[i].avoid);
		file_drop(path);
	}

	file_expect_err("static-auth-secret=pw\rrealm=x\r",
			"a CR inside a line (only LF or CR LF ends one) in the "
			"line of 'static-auth-secret' (line 1 of", "pw");
	file_expect_err("realm=a\rb\r\n", "a CR inside a line", NULL);

	char dir[] = "/tmp/ts_cfg_dir_XXXXXX";
	assert_non_null(mkdtemp(dir));
	config_defaults(&c);
	assert_int_equal(config_parse_file(&c, dir, err_open(&e)), EINVAL);
	err_expect(&e, "cannot read config file '/tmp/ts_cfg_dir_", NULL);
	config_defaults(&c);
	assert_int_equal(config_parse_file(&c, dir, err_open(&e)), EINVAL);
	err_expect(&e, "Is a directory", NULL);
	rmdir(dir);
}

static void test_file_in_place(void **state)
{
	(void)state;
	struct config c;
	struct errbuf e;
	char *path = file_make("realm=from-file\nlistening-port=7000\n"
			       "user=dave:pw\n");
	config_defaults(&c);
	char **argv = ARGV("--realm=first", "--listening-port=6000", "-c",
			   path, "--listening-port", "9000");
	assert_int_equal(args_parse(&c, argv, &e), 0);
	err_close(&e);
	assert_string_equal(c.realm, "from-file");
	assert_int_equal(c.port, 9000);
	assert_int_equal(c.nusers, 1);

	config_defaults(&c);
	char **argv2 = ARGV("-c", path, "--realm", "last");
	assert_int_equal(args_parse(&c, argv2, &e), 0);
	err_close(&e);
	assert_string_equal(c.realm, "last");
	file_drop(path);

	args_expect_err(ARGV("-c", "/nonexistent/ts.conf"),
			"cannot open config file '/nonexistent/ts.conf'", NULL);
	args_expect_err(ARGV("-c"), "option '-c' needs a value", NULL);
}

static void test_optional_values(void **state)
{
	(void)state;
	struct config c;
	struct errbuf e;
	config_defaults(&c);
	c.nonce_lifetime = 5;
	c.channel_lifetime = 5;
	assert_int_equal(args_parse(&c, ARGV("--stale-nonce", "--verbose",
					     "--channel-lifetime"), &e), 0);
	err_close(&e);
	assert_int_equal(c.nonce_lifetime, 600);
	assert_int_equal(c.channel_lifetime, 600);
	assert_true(c.verbose);

	config_defaults(&c);
	assert_int_equal(args_parse(&c, ARGV("--stale-nonce=30", "--verbose=no",
					     "--no-udp=true"), &e), 0);
	err_close(&e);
	assert_int_equal(c.nonce_lifetime, 30);
	assert_false(c.verbose);
	assert_true(c.no_udp);

	/* coturn's no-tcp-relay: RFC 6062 TCP allocations refused */
	config_defaults(&c);
	assert_false(c.no_tcp_relay);
	assert_int_equal(args_parse(&c, ARGV("--no-tcp-relay"), &e), 0);
	err_close(&e);
	assert_true(c.no_tcp_relay);

	/* no-loopback-peers switches allow-loopback-peers back off */
	config_defaults(&c);
	assert_int_equal(args_parse(&c, ARGV("--allow-loopback-peers",
					     "--no-loopback-peers"), &e), 0);
	err_close(&e);
	assert_false(c.allow_loopback_peers);
}

static void test_noops(void **state)
{
	(void)state;
	static const char *const noops[] = {
		"fingerprint", "no-cli", "no-software-attribute",
		"no-multicast-peers", "no-tlsv1",
		"no-tlsv1_1", "no-sslv3", "simple-log",
		"new-log-timestamp", "no-auth-pings", "no-dynamic-ip-list",
		"no-dynamic-realms"};
	for (size_t i = 0; i < sizeof(noops) / sizeof(noops[0]); i++) {
		struct config c, d;
		struct errbuf e;
		char arg[64];
		snprintf(arg, sizeof(arg), "--%s", noops[i]);
		config_defaults(&c);
		config_defaults(&d);
		assert_int_equal(args_parse(&c, ARGV(arg), &e), 0);
		err_close(&e);
		assert_memory_equal(&c, &d, sizeof(c));
		char line[64];
		snprintf(line, sizeof(line), "%s\n", noops[i]);
		assert_int_equal(file_parse(&c, line, &e, NULL), 0);
		err_close(&e);
		assert_memory_equal(&c, &d, sizeof(c));
	}
	file_expect_err("fingerprint=maybe\n",
			"invalid value for 'fingerprint': 'maybe'", NULL);
}

static void test_log_file_names(void **state)
{
	(void)state;
	struct config c;
	struct errbuf e;
	config_defaults(&c);
	assert_int_equal(file_parse(&c, "log-file=/x.log\nlog-file=stdout\n",
				    &e, NULL), 0);
	err_close(&e);
	assert_string_equal(c.log_file, "");
	/* coturn's log-file=syslog is --syslog. */
	config_defaults(&c);
	assert_int_equal(file_parse(&c, "log-file=/x.log\nlog-file=syslog\n",
				    &e, NULL), 0);
	err_close(&e);
	assert_string_equal(c.log_file, "");
	assert_true(c.syslog);
}

/* ----- errors ----- */

static void validate_expect(const struct config *c, const char *want);

/* The coturn TLS and process options that used to be refused. */
static void test_tls_and_process_options(void **state)
{
	(void)state;
	struct config c;
	struct errbuf e;
	config_defaults(&c);
	assert_int_equal(args_parse(&c, ARGV("--dh-file", "/d.pem", "--ec-curve-name",
					     "secp384r1", "--pkey-pwd=s3cret",
					     "--proc-user", "nobody", "--proc-group=nogroup"),
				    &e), 0);
	err_close(&e);
	assert_string_equal(c.dh_file, "/d.pem");
	assert_string_equal(c.ec_curve, "secp384r1");
	assert_string_equal(c.pkey_pwd, "s3cret");
	assert_string_equal(c.proc_user, "nobody");
	assert_string_equal(c.proc_group, "nogroup");
	/* Useless without TLS: an error naming them, as for CA-file. */
	config_defaults(&c);
	c.nusers = 1;
	snprintf(c.dh_file, sizeof(c.dh_file), "/d.pem");
	validate_expect(&c, "'dh-file', 'ec-curve-name' and 'pkey-pwd' need 'cert'");
	/* The password is a secret: an error names the key, not the value. */
	char big[400];
	memset(big, 'p', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "hush", 4);
	char opt[420];
	snprintf(opt, sizeof(opt), "--pkey-pwd=%s", big);
	args_expect_err(ARGV(opt), "'pkey-pwd'", "hush");
	args_expect_err(ARGV("--pkey-pwd="), "'pkey-pwd'", NULL);
	args_expect_err(ARGV("--proc-user="), "'proc-user'", NULL);
}

static void test_unknown_and_unsupported(void **state)
{
	(void)state;
	struct config c;
	struct errbuf e;
	char *path;
	config_defaults(&c);
	assert_int_equal(file_parse(&c, "realm=x\n\nbogus-key=1\n", &e, &path),
			 EINVAL);
	char want[256];
	snprintf(want, sizeof(want),
		 "turnstone: unknown option 'bogus-key' (line 3 of %s)\n", path);
	assert_string_equal(err_text(&e), want);
	err_close(&e);
	file_drop(path);

	config_defaults(&c);
	assert_int_equal(file_parse(&c, "# tls\nraw-public-keys\n", &e,
				    &path), EINVAL);
	snprintf(want, sizeof(want),
		 "turnstone: unsupported option 'raw-public-keys' "
		 "(line 2 of %s)\n", path);
	assert_string_equal(err_text(&e), want);
	err_close(&e);
	file_drop(path);

	file_expect_err("mobility\n", "unsupported option 'mobility'", NULL);
	file_expect_err("dh2066\n", "unsupported option 'dh2066'", NULL);
	file_expect_err("redis-userdb=\"ip=1.2.3.4\"\n",
			"unsupported option 'redis-userdb'", NULL);
	file_expect_err("prometheus-username-labels\n",
			"unsupported option 'prometheus-username-labels'", NULL);
	args_expect_err(ARGV("--alt-tls-listening-port=5350"),
			"unsupported option '--alt-tls-listening-port'", NULL);
	args_expect_err(ARGV("-z"), "unsupported option '-z' (coturn --no-auth)",
			NULL);
	args_expect_err(ARGV("--bogus"), "unknown option '--bogus'", NULL);
	args_expect_err(ARGV("--bogus=1"), "unknown option '--bogus'", NULL);
	args_expect_err(ARGV("-Y"), "unknown option '-Y'", NULL);
	args_expect_err(ARGV("stray"), "unexpected argument 'stray'", NULL);
	args_expect_err(ARGV("--realm"), "option '--realm' needs a value", NULL);
	file_expect_err("realm\n", "option 'realm' needs a value", NULL);
	args_expect_err(ARGV("-av"), "option '-a' takes no value", NULL);
}

/* What the user typed is echoed with its control and non-ASCII bytes as
 * \xNN and cut at 80: an escape sequence in a mistyped key used to reach
 * the terminal or journal raw, and a long one whole. */
static void test_unknown_echo_escaped(void **state)
{
	(void)state;
	file_expect_err("bo\x1b[2Jgus=1\n", "unknown option 'bo\\x1b[2Jgus' (line 1",
			"\x1b");
	file_expect_err("\xff\xfe\x7fkey\n", "unknown option '\\xff\\xfe\\x7fkey'",
			"\xff");
	file_expect_err("k\x1b" "ey=1\rx\n", "a CR inside a line (only LF or CR "
			"LF ends one) in the line of 'k\\x1b" "ey'", "\x1b");
	args_expect_err(ARGV("--bo\x07gus=1"), "unknown option '--bo\\x07gus'",
			"\x07");
	args_expect_err(ARGV("-\x1b]0;x"), "unknown option '-\\x1b]0;x'", "\x1b");
	args_expect_err(ARGV("st\nray"), "unexpected argument 'st\\x0aray'",
			"st\nray");
	file_expect_err("min-port=1\x1b" "2\n",
			"invalid value for 'min-port': '1\\x1b" "2'", "\x1b");

	char a80[81], a81[82], arg[220];
	memset(a80, 'a', 80);
	a80[80] = '\0';
	memset(a81, 'a', 81);
	a81[81] = '\0';
	char want[128];
	snprintf(want, sizeof(want), "unknown option '--%s...'\n", a80);
	memcpy(arg, "--", 2);
	memset(arg + 2, 'a', 200);
	arg[202] = '\0';
	args_expect_err(ARGV(arg), want, a81);
	/* A key cut in the middle of an escape is cut before it. */
	memset(arg + 2, 'a', 79);
	memcpy(arg + 81, "\x01\x01", 3);
	snprintf(want, sizeof(want), "unknown option '--%.79s...'\n", a80);
	args_expect_err(ARGV(arg), want, "\\x01");
}

/* The store holds TURN secrets and JWT signing keys: one that group or
 * others may read or write is warned about at start (server_setup),
 * naming its path and mode, and left as it is. */
static void db_mode_expect(mode_t mode, const char *shown)
{
	char path[] = "/tmp/ts_db_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(chmod(path, mode), 0);
	struct errbuf e;
	log_setup(err_open(&e), LOG_INFO);
	server_db_mode_warn(path);
	log_setup(stderr, LOG_INFO);
	const char *msg = err_text(&e);
	char want[256];
	snprintf(want, sizeof(want), "db '%s' has mode %s: group or others may "
		 "read or write it, and it holds TURN secrets and JWT signing "
		 "keys; fix with 'chmod 600 %s'", path, shown ? shown : "", path);
	if (shown ? !strstr(msg, want) : msg[0] != '\0')
		fail_msg("want '%s' in '%s'", shown ? want : "nothing", msg);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, mode);
	err_close(&e);
	unlink(path);
}

static void test_db_mode_warn(void **state)
{
	(void)state;
	db_mode_expect(0644, "0644");
	db_mode_expect(0620, "0620");
	db_mode_expect(0606, "0606");
	db_mode_expect(0600, NULL);
	db_mode_expect(0711, NULL);
	db_mode_expect(0400, NULL);
	server_db_mode_warn("/nonexistent/ts_db"); /* created later, 0600 */
	server_db_mode_warn("");
}

static void test_invalid_numbers(void **state)
{
	(void)state;
	file_expect_err("min-port=abc\n", "invalid value for 'min-port': 'abc'",
			NULL);
	file_expect_err("min-port=-1\n", "invalid value for 'min-port': '-1'",
			NULL);
	file_expect_err("max-port=12x\n", "invalid value for 'max-port': '12x'",
			NULL);
	file_expect_err("listening-port=0\n",
			"invalid value for 'listening-port': '0' (allowed 1..65535)",
			NULL);
	file_expect_err("listening-port=65536\n",
			"invalid value for 'listening-port': '65536'", NULL);
	file_expect_err("total-quota=99999999999\n",
			"invalid value for 'total-quota': '99999999999'", NULL);
	file_expect_err("stale-nonce=601\n",
			"invalid value for 'stale-nonce': '601' (allowed 1..600)",
			NULL);
	file_expect_err("stale-nonce=0\n", "invalid value for 'stale-nonce'",
			NULL);
	file_expect_err("relay-threads=65\n",
			"invalid value for 'relay-threads'", NULL);
	file_expect_err("channel-lifetime=0\n",
			"invalid value for 'channel-lifetime'", NULL);
	args_expect_err(ARGV("-p", "x1"),
			"invalid value for 'listening-port': 'x1'", NULL);
	args_expect_err(ARGV("--min-port", " 5"),
			"invalid value for 'min-port': ' 5'", NULL);
}

static void test_bad_addresses(void **state)
{
	(void)state;
	file_expect_err("listening-ip=1.2.3\n",
			"invalid value for 'listening-ip': '1.2.3'", NULL);
	file_expect_err("relay-ip=example.com\n",
			"invalid value for 'relay-ip': 'example.com'", NULL);
	file_expect_err("external-ip=1.2.3.4/bogus\n",
			"invalid value for 'external-ip': '1.2.3.4/bogus'", NULL);
	file_expect_err("external-ip=/10.0.0.1\n",
			"invalid value for 'external-ip'", NULL);
	args_expect_err(ARGV("-L", "::g"), "invalid value for 'listening-ip'",
			NULL);
	file_expect_err("denied-peer-ip=10.0.0.0/33\n",
			"invalid value for 'denied-peer-ip': '10.0.0.0/33' (line 1",
			NULL);
	file_expect_err("allowed-peer-ip=10.0.0.9-banana\n",
			"invalid value for 'allowed-peer-ip': '10.0.0.9-banana'",
			NULL);
	args_expect_err(ARGV("--denied-peer-ip", "not-an-ip"),
			"invalid value for 'denied-peer-ip': 'not-an-ip'", NULL);
	/* prometheus-address was taken as any string and only failed, or was
	 * ignored without --prometheus, when the exporter started. */
	file_expect_err("prometheus-address=bogus\n",
			"invalid value for 'prometheus-address': 'bogus' (line 1",
			NULL);
	args_expect_err(ARGV("--prometheus", "--prometheus-address", "::g"),
			"invalid value for 'prometheus-address': '::g'", NULL);
	args_expect_err(ARGV("--prometheus-address=localhost"),
			"invalid value for 'prometheus-address'", NULL);
}

static void test_secrets_not_echoed(void **state)
{
	(void)state;
	char text[512];
	char big[400];
	memset(big, 'K', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "LEAK", 4);

	snprintf(text, sizeof(text), "static-auth-secret=%s\n", big);
	file_expect_err(text, "invalid value for 'static-auth-secret': secret "
			"too long (max 255 bytes)", "LEAK");
	snprintf(text, sizeof(text), "user=eve:%s\n", big);
	file_expect_err(text, "invalid value for 'user': password too long "
			"(max 127 bytes)", "LEAK");
	file_expect_err("user=eve:0x0123456789abcdef0123456789abcdeZ\n",
			"a key (name:0x...) must be 32 hex digits",
			"0123456789");
	file_expect_err("user=eve:0x0123456789abcdef0123456789abcde\n",
			"must be 32 hex digits", "0123456789");
	file_expect_err("user=LEAKpassword\n",
			"invalid value for 'user': expected name:password", "LEAK");
	file_expect_err("user=eve:\n", "expected name:password", NULL);
	file_expect_err("user=:LEAK\n", "expected name:password", "LEAK");
	file_expect_err("static-auth-secret=\"LEAK\n",
			"unbalanced quotes in value for 'static-auth-secret'",
			"LEAK");
	file_expect_err("static-auth-secret=\"\"\n",
			"'static-auth-secret': must not be empty", NULL);
	args_expect_err(ARGV("-u", "LEAKnocolon"), "expected name:password",
			"LEAK");
}

static void test_too_long_strings(void **state)
{
	(void)state;
	char text[512];
	char big[300];
	memset(big, 'p', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	snprintf(text, sizeof(text), "pidfile=/%s\n", big);
	file_expect_err(text, "invalid value for 'pidfile': value too long "
			"(max 255 bytes)", NULL);
	snprintf(text, sizeof(text), "user=%s:pw\n", big);
	file_expect_err(text, "invalid value for 'user': user name too long "
			"(max 127 bytes)", NULL);
	file_expect_err("realm=\n", "'realm': must not be empty", NULL);
}

/* Fill a list option one past its capacity. */
static void overflow_expect(const char *key, const char *pre,
			    const char *post, unsigned cap, const char *want)
{
	size_t sz = (size_t)(cap + 1) * 128;
	char *text = calloc(1, sz);
	assert_non_null(text);
	size_t off = 0;
	for (unsigned i = 0; i <= cap; i++)
		off += (size_t)snprintf(text + off, sz - off, "%s=%s%u%s\n",
					key, pre, i, post);
	file_expect_err(text, want, NULL);
	free(text);
}

static void test_list_overflow(void **state)
{
	(void)state;
	overflow_expect("listening-ip", "10.0.0.", "", CFG_MAX_ADDRS,
			"too many 'listening-ip' entries (max 8) (line 9");
	overflow_expect("relay-ip", "10.0.1.", "", CFG_MAX_ADDRS,
			"too many 'relay-ip' entries (max 8)");
	overflow_expect("external-ip", "10.0.2.", "", CFG_MAX_ADDRS,
			"too many 'external-ip' entries (max 8)");
	overflow_expect("static-auth-secret", "secret", "", CFG_MAX_SECRETS,
			"too many 'static-auth-secret' entries (max 8)");
	overflow_expect("user", "u", ":pw", CFG_MAX_USERS,
			"too many 'user' entries (max 64)");
	overflow_expect("allowed-peer-ip", "10.9.0.", "", CFG_MAX_RANGES,
			"too many 'allowed-peer-ip' entries (max 64)");
	overflow_expect("denied-peer-ip", "10.8.0.", "", CFG_MAX_RANGES,
			"too many 'denied-peer-ip' entries (max 64)");
}

/* ----- a coturn file ----- */

static const char coturn_conf[] =
	"# /etc/turnserver.conf from a coturn deployment\n"
	"listening-port=3478\n"
	"listening-ip=192.0.2.10\n"
	"relay-ip=192.0.2.10\n"
	"external-ip=203.0.113.10/192.0.2.10\n"
	"min-port=49160\n"
	"max-port=49200\n"
	"verbose\n"
	"fingerprint\n"
	"lt-cred-mech\n"
	"use-auth-secret\n"
	"static-auth-secret=\"north-wind-42\"\n"
	"realm=turn.example.com\n"
	"total-quota=100\n"
	"user-quota=12\n"
	"stale-nonce=600\n"
	"no-multicast-peers\n"
	"no-loopback-peers\n"
	"no-cli\n"
	"no-tls\n"
	"no-dtls\n"
	"no-tlsv1\n"
	"no-tlsv1_1\n"
	"denied-peer-ip=0.0.0.0-0.255.255.255\n"
	"denied-peer-ip=10.0.0.0-10.255.255.255\n"
	"denied-peer-ip=172.16.0.0-172.31.255.255\n"
	"denied-peer-ip=192.168.0.0-192.168.255.255\n"
	"denied-peer-ip=fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff\n"
	"allowed-peer-ip=192.0.2.10\n"
	"log-file=/var/log/turnserver.log\n"
	"simple-log\n"
	"new-log-timestamp\n"
	"pidfile=\"/var/run/turnserver.pid\"\n"
	"no-software-attribute\n";

static void test_coturn_file(void **state)
{
	(void)state;
	struct config c;
	struct errbuf e;
	config_defaults(&c);
	assert_int_equal(file_parse(&c, coturn_conf, &e, NULL), 0);
	assert_string_equal(err_text(&e), "");
	assert_int_equal(config_validate(&c, e.f), 0);
	assert_string_equal(err_text(&e), "");
	err_close(&e);
	assert_int_equal(c.min_port, 49160);
	assert_string_equal(c.secrets[0], "north-wind-42");
	assert_string_equal(c.pidfile, "/var/run/turnserver.pid");
	assert_int_equal(c.ndenied, 5);
	assert_int_equal(c.nallowed, 1);
	ip_expect(&c.external[0], "203.0.113.10");
	assert_false(c.allow_loopback_peers);
}

/* TLS options: parsed, defaulted, and checked as a pair. */
static void test_tls_options(void **state)
{
	(void)state;
	struct config c;
	struct errbuf e;
	config_defaults(&c);
	assert_int_equal(c.tls_port, 5349);
	assert_int_equal(file_parse(&c, "tls-listening-port=443\ncert=/c.pem\n"
				    "pkey=/k.pem\nCA-file=/ca.pem\n"
				    "cipher-list=ECDHE+AESGCM\nno-dtls\nno-tlsv1_2\n",
				    &e, NULL), 0);
	err_close(&e);
	assert_int_equal(c.tls_port, 443);
	assert_string_equal(c.cert, "/c.pem");
	assert_string_equal(c.pkey, "/k.pem");
	assert_string_equal(c.ca_file, "/ca.pem");
	assert_string_equal(c.cipher_list, "ECDHE+AESGCM");
	assert_true(c.no_dtls && c.no_tlsv1_2 && !c.no_tls);
	config_defaults(&c);
	assert_int_equal(file_parse(&c, "ca-file=/ca2.pem\n", &e, NULL), 0);
	err_close(&e);
	assert_string_equal(c.ca_file, "/ca2.pem");
	file_expect_err("tls-listening-port=0\n",
			"invalid value for 'tls-listening-port'", NULL);
}

/* ----- validation ----- */

static void validate_expect(const struct config *c, const char *want)
{
	struct errbuf e;
	assert_int_equal(config_validate(c, err_open(&e)), EINVAL);
	const char *msg = err_text(&e);
	if (!strstr(msg, want))
		fail_msg("want '%s' in '%s'", want, msg);
	err_close(&e);
}

static void valid_config(struct config *c)
{
	config_defaults(c);
	strcpy(c->users[0].name, "u");
	strcpy(c->users[0].pass, "p");
	c->nusers = 1;
}

/* The ICE-servers API's options: parsed, cross-checked, and turned into
 * an api_cfg, with every error naming its key and no secret echoed. */
static void test_api_options(void **state)
{
	(void)state;
	struct config c;
	struct errbuf e;
	config_defaults(&c);
	assert_int_equal(args_parse(&c, ARGV("--api-listening-port", "8080", "--db",
					     "/tmp/x.db", "--api-audience", "aud",
					     "--api-health-interval", "0",
					     "--api-rate", "5", "--api-burst", "9"),
				    &e), 0);
	err_close(&e);
	assert_int_equal(c.api_port, 8080);
	assert_string_equal(c.db, "/tmp/x.db");
	assert_string_equal(c.api_audience, "aud");
	assert_int_equal(c.api_health_interval, 0);
	assert_int_equal(c.api_rate, 5);
	assert_int_equal(c.api_burst, 9);
	assert_string_equal(c.api_ip, "127.0.0.1"); /* loopback by default */

	file_expect_err("api-listening-port=0\n",
			"invalid value for 'api-listening-port'", NULL);
	file_expect_err("api-health-failures=0\n",
			"invalid value for 'api-health-failures'", NULL);
	file_expect_err("api-turn-server=\n", "'api-turn-server'", NULL);

	valid_config(&c);
	strcpy(c.db, "/tmp/x.db");
	validate_expect(&c, "'db' is the ICE-servers API's account store");
	valid_config(&c);
	c.api_port = 8080;
	validate_expect(&c, "'api-listening-port' needs 'db'");
	valid_config(&c);
	c.api_port = c.port;
	strcpy(c.db, "/tmp/x.db");
	validate_expect(&c, "must differ from 'listening-port'");
	config_defaults(&c);
	c.no_turn = true;
	validate_expect(&c, "'no-turn' needs 'api-listening-port'");
	c.api_port = 8080;
	strcpy(c.db, "/tmp/x.db");
	validate_expect(&c, "'no-turn' needs 'api-turn-server'");
	strcpy(c.api_servers[c.napi_servers++], "turn:192.0.2.1:3478 s3cret-value");
	assert_int_equal(config_validate(&c, NULL), 0); /* no TURN creds needed */
}

/* An option that does nothing without another is an error naming both,
 * not a silent no-op; its default value, or the other given, passes. */
static void test_needs(void **state)
{
	(void)state;
	struct config c;
	static const struct {
		char *arg, *val; /* argv is char *[] */
		const char *want;
	} bad[] = {
		{"--api-rate", "5", "'api-rate' needs 'api-listening-port'"},
		{"--api-listening-ip", "0.0.0.0",
		 "'api-listening-ip' needs 'api-listening-port'"},
		{"--api-trusted-proxy", "10.0.0.1",
		 "'api-trusted-proxy' needs 'api-listening-port'"},
		{"--api-cert", "/c.pem", "'api-cert' needs 'api-listening-port'"},
		{"--api-max-token-lifetime", "0",
		 "'api-max-token-lifetime' needs 'api-listening-port'"},
		{"--cipher-list", "HIGH", "'cipher-list' needs 'cert'"},
		/* Regression: a TLS port without a certificate was accepted,
		 * and nothing listened there. */
		{"--tls-listening-port", "5350",
		 "'tls-listening-port' needs 'cert'"},
		{"--revoked-interval", "9", "'revoked-interval' needs 'revoked-from'"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct errbuf e;
		valid_config(&c);
		assert_int_equal(args_parse(&c, ARGV(bad[i].arg, bad[i].val), &e), 0);
		err_close(&e);
		validate_expect(&c, bad[i].want);
	}
	valid_config(&c);
	c.no_tlsv1_2 = true;
	validate_expect(&c, "'no-tlsv1_2' needs 'cert'");
	/* The default value given is no change; the option it needs given
	 * passes. */
	struct errbuf e;
	valid_config(&c);
	assert_int_equal(args_parse(&c, ARGV("--api-rate", "1000", "--revoked-interval",
					     "5"), &e), 0);
	err_close(&e);
	assert_int_equal(config_validate(&c, NULL), 0);
	valid_config(&c);
	c.api_port = 8080;
	strcpy(c.db, "/tmp/x.db");
	c.api_rate = 5;
	assert_int_equal(config_validate(&c, NULL), 0);
}

/* The API's limits on slow clients: defaults, parsed, out of range, and
 * carried into the api_cfg. */
static void test_api_slow_client_options(void **state)
{
	(void)state;
	struct config c;
	struct errbuf e;
	struct net_listen_cfg lc;
	struct api_cfg a;
	config_defaults(&c);
	assert_int_equal(c.api_conns_per_ip, 128);
	assert_int_equal(c.api_header_timeout, 10);
	assert_int_equal(c.api_body_timeout, 30);
	assert_int_equal(c.api_max_token_life, 86400);
	assert_int_equal(args_parse(&c, ARGV("--api-connections-per-ip", "64",
					     "--api-header-timeout", "5",
					     "--api-body-timeout", "20",
					     "--api-max-token-lifetime", "0"),
				    &e), 0);
	err_close(&e);
	c.use_auth_secret = true;
	strcpy(c.secrets[c.nsecrets++], "topsecret");
	c.api_port = 8080;
	strcpy(c.db, "/tmp/x.db");
	server_listen_cfg(&c, &lc);
	assert_int_equal(server_api_cfg(&c, &lc, &a, NULL), 0);
	assert_int_equal(a.conns_per_ip, 64);
	assert_int_equal(a.header_timeout_s, 5);
	assert_int_equal(a.body_timeout_s, 20);
	assert_int_equal(a.max_token_life, 0);
	file_expect_err("api-connections-per-ip=0\n",
			"invalid value for 'api-connections-per-ip'", NULL);
	file_expect_err("api-header-timeout=0\n",
			"invalid value for 'api-header-timeout'", NULL);
	file_expect_err("api-body-timeout=3601\n",
			"invalid value for 'api-body-timeout'", NULL);
	file_expect_err("api-max-token-lifetime=31536001\n",
			"invalid value for 'api-max-token-lifetime'", NULL);
	file_expect_err("api-max-token-lifetime=-1\n",
			"invalid value for 'api-max-token-lifetime'", NULL);
}

static void apicfg_expect(const struct config *c, const char *want,
			  const char *avoid)
{
	struct net_listen_cfg lc;
	struct api_cfg a;
	struct errbuf e;
	server_listen_cfg(c, &lc);
	assert_int_equal(server_api_cfg(c, &lc, &a, err_open(&e)), EINVAL);
	err_expect(&e, want, avoid);
}

/* The defaults with the API on, handing out this node's listeners. */
static void api_self_config(struct config *c)
{
	config_defaults(c);
	c->use_auth_secret = true;
	strcpy(c->secrets[c->nsecrets++], "topsecret");
	c->api_port = 8080;
	strcpy(c->db, "/tmp/x.db");
}

static void test_api_cfg(void **state)
{
	(void)state;
	struct config c;
	struct net_listen_cfg lc;
	struct api_cfg a;
	api_self_config(&c);
	server_listen_cfg(&c, &lc);
	/* Default: this node's own listeners, minted with its secret. */
	assert_int_equal(server_api_cfg(&c, &lc, &a, NULL), 0);
	assert_int_equal(a.nplatform, 1);
	assert_int_equal(a.platform[0].nurls, 3);
	assert_string_equal(a.platform[0].urls[1], "turn:127.0.0.1:3478?transport=udp");
	assert_string_equal(a.platform[0].secret, "topsecret");
	assert_int_equal(a.nendpoints, 2); /* udp and tcp, stun: not twice */
	/* Only the URLs this node answers: stun-only has no TURN, no-stun
	 * no Binding (it listed them all, handing browsers dead servers). */
	c.stun_only = true;
	assert_int_equal(server_api_cfg(&c, &lc, &a, NULL), 0);
	assert_int_equal(a.platform[0].nurls, 1);
	assert_string_equal(a.platform[0].urls[0], "stun:127.0.0.1:3478");
	c.stun_only = false;
	c.no_stun = true;
	assert_int_equal(server_api_cfg(&c, &lc, &a, NULL), 0);
	assert_int_equal(a.platform[0].nurls, 2);
	assert_string_equal(a.platform[0].urls[0], "turn:127.0.0.1:3478?transport=udp");
	assert_string_equal(a.platform[0].urls[1], "turn:127.0.0.1:3478?transport=tcp");
	c.no_stun = false;

	/* With TLS on, a turns: URL on the TLS port; each listening address
	 * once although the listening set now holds it on both ports. */
	strcpy(c.cert, "/c.pem");
	strcpy(c.pkey, "/k.pem");
	server_listen_cfg(&c, &lc);
	assert_int_equal(lc.naddrs, 2);
	assert_int_equal(server_api_cfg(&c, &lc, &a, NULL), 0);
	assert_int_equal(a.nplatform, 1);
	assert_int_equal(a.platform[0].nurls, 4);
	assert_string_equal(a.platform[0].urls[3], "turns:127.0.0.1:5349?transport=tcp");
	/* Regression: with more than 4 listening IPs the TLS port was left
	 * off the fifth and later, which the API still advertised. */
	c.nlisten = CFG_MAX_ADDRS;
	for (unsigned i = 0; i < CFG_MAX_ADDRS; i++) {
		char ip[32];
		snprintf(ip, sizeof(ip), "127.0.0.%u", i + 1);
		sa_set_str(&c.listen[i], ip, 0);
	}
	server_listen_cfg(&c, &lc);
	assert_int_equal(lc.naddrs, 2 * CFG_MAX_ADDRS);
	for (unsigned i = 0; i < CFG_MAX_ADDRS; i++) {
		assert_true(sa_eq_addr(&lc.addrs[CFG_MAX_ADDRS + i], &c.listen[i]));
		assert_int_equal(sa_port(&lc.addrs[CFG_MAX_ADDRS + i]), c.tls_port);
	}
	c.nlisten = 0;
	c.cert[0] = c.pkey[0] = '\0';
	server_listen_cfg(&c, &lc);

	strcpy(c.api_servers[c.napi_servers++],
	       "turn:192.0.2.1:3478,turns:192.0.2.1:443?transport=tcp fleet-secret");
	assert_int_equal(server_api_cfg(&c, &lc, &a, NULL), 0);
	assert_int_equal(a.nplatform, 1);
	assert_string_equal(a.platform[0].urls[1], "turns:192.0.2.1:443?transport=tcp");
	assert_string_equal(a.platform[0].secret, "fleet-secret");

	strcpy(c.api_servers[0], "http://192.0.2.1 fleet-secret");
	apicfg_expect(&c, "invalid URL 'http://192.0.2.1' in 'api-turn-server'",
		      "fleet-secret");
	strcpy(c.api_servers[0], "turn:192.0.2.1 a b");
	apicfg_expect(&c, "at most one secret", NULL);
	/* Regression: a secret after a comma was echoed as a bad URL. */
	strcpy(c.api_servers[0], "turn:192.0.2.1:3478,S3cr3tValue");
	apicfg_expect(&c, "invalid URL '(not shown)' in 'api-turn-server'",
		      "S3cr3t");

	c.napi_servers = 0;
	c.nsecrets = 0;
	c.use_auth_secret = false;
	apicfg_expect(&c, "needs 'static-auth-secret'", NULL);
	c.use_auth_secret = true;
	c.nsecrets = 1;
	sa_set_str(&c.listen[0], "0.0.0.0", 0);
	c.nlisten = 1;
	apicfg_expect(&c, "needs 'external-ip'", NULL);
	c.nlisten = 0;
	strcpy(c.api_ip, "not-an-ip");
	apicfg_expect(&c, "invalid value for 'api-listening-ip'", NULL);
	strcpy(c.api_ip, "127.0.0.1");
	char *tok = file_make("short\n");
	snprintf(c.api_admin_token_file, sizeof(c.api_admin_token_file), "%s", tok);
	apicfg_expect(&c, "at least 16 characters", "short");
	file_drop(tok);
	/* Regression: a token over 255 characters was cut to its first 255,
	 * and one with a NUL at the NUL, so the admin API refused the
	 * token in the file forever; a space at either end is trimmed off
	 * the Authorization header and never matched either. */
	char big[400];
	memset(big, 'T', 300);
	strcpy(big + 300, "\n");
	static const char *const bad[][2] = {
		{NULL, "at most 255 characters"},
		{"0123456789abcdef\0tail\n", "no spaces or control"},
		{"0123456789abcdef \n", "no spaces or control"},
		{"0123 456789abcdef\n", "no spaces or control"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tok = bad[i][0] ? file_make_n(bad[i][0], i == 1 ? 22 : strlen(bad[i][0]))
				: file_make(big);
		snprintf(c.api_admin_token_file, sizeof(c.api_admin_token_file),
			 "%s", tok);
		apicfg_expect(&c, bad[i][1], bad[i][0] ? "0123" : "TTTT");
		file_drop(tok);
	}
	/* 255 characters, then the newline an editor adds: fine. */
	memset(big, 'T', 255);
	strcpy(big + 255, "\r\n");
	tok = file_make(big);
	snprintf(c.api_admin_token_file, sizeof(c.api_admin_token_file), "%s", tok);
	server_listen_cfg(&c, &lc);
	assert_int_equal(server_api_cfg(&c, &lc, &a, NULL), 0);
	assert_int_equal(strlen(a.admin_token), 255);
	file_drop(tok);
	c.api_admin_token_file[0] = '\0';
}

/* The /v1/ip-ranges entries of cfg's own listeners, "ip port tr;..." in
 * their order, "tr+proxy" for tcp-proxy-port's. */
static void ranges_expect(const struct config *c, const char *want)
{
	struct net_listen_cfg lc;
	struct api_cfg a;
	char got[2048] = "";
	server_listen_cfg(c, &lc);
	assert_int_equal(server_api_cfg(c, &lc, &a, NULL), 0);
	for (unsigned i = 0; i < a.nendpoints; i++) {
		size_t n = strlen(got);
		snprintf(got + n, sizeof(got) - n, "%s %u %s%s;", a.endpoints[i].ip,
			 a.endpoints[i].port, a.endpoints[i].transport,
			 a.endpoints[i].proxy ? "+proxy" : "");
	}
	assert_string_equal(got, want);
}

/* Regression: /v1/ip-ranges listed only the ports the URLs name, so a
 * firewall opened from it blocked alt-listening-port (RFC 5780),
 * tcp-proxy-port, aux-server and the TLS port's UDP (DTLS). */
static void test_api_cfg_ranges(void **state)
{
	(void)state;
	struct config c;
	api_self_config(&c);
	ranges_expect(&c, "127.0.0.1 3478 udp;127.0.0.1 3478 tcp;");
	/* stun-only still listens over TCP. */
	c.stun_only = true;
	ranges_expect(&c, "127.0.0.1 3478 udp;127.0.0.1 3478 tcp;");
	c.stun_only = false;
	c.nlisten = 2;
	sa_set_str(&c.listen[0], "127.0.0.1", 0);
	sa_set_str(&c.listen[1], "127.0.0.2", 0);
	c.alt_port = 3479;
	c.tcp_proxy_port = 3480;
	sa_set_str(&c.aux_servers[c.naux++], "127.0.0.3", 4000);
	/* tcp-proxy-port is TCP only and marked (only the load balancer
	 * should reach it); aux-server has its own address. */
	ranges_expect(&c, "127.0.0.1 3478 udp;127.0.0.1 3478 tcp;"
		      "127.0.0.2 3478 udp;127.0.0.2 3478 tcp;"
		      "127.0.0.1 3479 udp;127.0.0.1 3479 tcp;"
		      "127.0.0.2 3479 udp;127.0.0.2 3479 tcp;"
		      "127.0.0.1 3480 tcp+proxy;127.0.0.2 3480 tcp+proxy;"
		      "127.0.0.3 4000 udp;127.0.0.3 4000 tcp;");
	/* external-ip: each public address on every port, the aux-server's
	 * own address as it is. */
	c.nexternal = 2;
	sa_set_str(&c.external[0], "198.51.100.7", 0);
	sa_set_str(&c.external[1], "2001:db8::7", 0);
	c.alt_port = 0;
	ranges_expect(&c, "198.51.100.7 3478 udp;198.51.100.7 3478 tcp;"
		      "2001:db8::7 3478 udp;2001:db8::7 3478 tcp;"
		      "198.51.100.7 3480 tcp+proxy;2001:db8::7 3480 tcp+proxy;"
		      "127.0.0.3 4000 udp;127.0.0.3 4000 tcp;");
	/* TLS: the turns: URL's port is "tls", and DTLS listens on its UDP. */
	c.nexternal = 0;
	c.nlisten = 1;
	c.tcp_proxy_port = 0;
	c.naux = 0;
	strcpy(c.cert, "/c.pem");
	strcpy(c.pkey, "/k.pem");
	ranges_expect(&c, "127.0.0.1 3478 udp;127.0.0.1 3478 tcp;"
		      "127.0.0.1 5349 tls;127.0.0.1 5349 udp;");
	c.no_dtls = true;
	c.no_udp = true;
	ranges_expect(&c, "127.0.0.1 3478 tcp;127.0.0.1 5349 tls;");
	/* Every socket fits (8 addresses on 4 ports and 8 aux-servers). */
	c.no_dtls = c.no_udp = false;
	c.nlisten = c.nexternal = CFG_MAX_ADDRS;
	for (unsigned i = 0; i < CFG_MAX_ADDRS; i++) {
		char ip[32];
		snprintf(ip, sizeof(ip), "127.0.0.%u", i + 1);
		sa_set_str(&c.listen[i], ip, 0);
		snprintf(ip, sizeof(ip), "198.51.100.%u", i + 1);
		sa_set_str(&c.external[i], ip, 0);
	}
	c.alt_port = 3479;
	c.tcp_proxy_port = 3480;
	for (c.naux = 0; c.naux < CFG_MAX_AUX; c.naux++)
		sa_set_str(&c.aux_servers[c.naux], "127.0.1.1", 4000 + c.naux);
	struct net_listen_cfg lc;
	struct api_cfg a;
	server_listen_cfg(&c, &lc);
	assert_int_equal(lc.naddrs, NET_MAX_LISTEN);
	assert_int_equal(server_api_cfg(&c, &lc, &a, NULL), 0);
	/* 8 IPs x (3478, 3479, 5349: udp + tcp/tls; 3480: tcp), aux x 2 */
	assert_int_equal(a.nendpoints, 8 * 7 + CFG_MAX_AUX * 2);
}

/* Connection limits: defaults on, reaching the transports through the
 * TURN configuration, and out-of-range values refused by name. */
static void test_conn_limit_options(void **state)
{
	(void)state;
	struct config c;
	struct errbuf e;
	config_defaults(&c);
	assert_int_equal(c.max_unauth_tcp, 64);
	assert_int_equal(c.tcp_write_timeout, 30);
	assert_int_equal(args_parse(&c, ARGV("--max-unauth-tcp-per-ip", "0",
					     "--tcp-write-timeout=5"), &e), 0);
	err_close(&e);
	struct net_listen_cfg lc;
	struct server_tcfg *t;
	server_listen_cfg(&c, &lc);
	assert_int_equal(server_tcfg_build(&c, &lc, &t, stderr), 0);
	assert_int_equal(t->tcfg.tcp_unauth_per_ip, 0);
	assert_int_equal(t->tcfg.tcp_write_timeout, 5);
	server_tcfg_free(t);
	args_expect_err(ARGV("--tcp-write-timeout", "3601"),
			"invalid value for 'tcp-write-timeout': '3601' (allowed 0..3600)", NULL);
	args_expect_err(ARGV("--max-unauth-tcp-per-ip", "-1"),
			"invalid value for 'max-unauth-tcp-per-ip'", NULL);
}

/* alt-listening-port (RFC 5780): the pairs the TURN core answers from,
 * and the listeners on the second port; its refusals name it. */
static void test_alt_listening_port(void **state)
{
	(void)state;
	struct config c;
	struct errbuf e;
	config_defaults(&c);
	assert_int_equal(args_parse(&c, ARGV("--listening-ip", "127.0.0.1",
					     "--listening-ip", "::1", "--listening-ip",
					     "127.0.0.2", "--listening-ip", "127.0.0.3",
					     "--listening-port", "3478",
					     "--alt-listening-port", "3479"), &e), 0);
	err_close(&e);
	struct net_listen_cfg lc;
	struct server_tcfg *t;
	server_listen_cfg(&c, &lc);
	assert_int_equal(lc.naddrs, 8); /* 4 addresses x 2 ports, no TLS */
	assert_int_equal(sa_port(&lc.addrs[7]), 3479);
	assert_int_equal(server_tcfg_build(&c, &lc, &t, stderr), 0);
	ip_expect(&t->tcfg.r5780_ip[0][0], "127.0.0.1");
	ip_expect(&t->tcfg.r5780_ip[0][1], "127.0.0.2"); /* the first two */
	assert_int_equal(sa_af(&t->tcfg.r5780_ip[1][0]), 0); /* a lone ::1 */
	assert_int_equal(t->tcfg.r5780_port[0], 3478);
	assert_int_equal(t->tcfg.r5780_port[1], 3479);
	server_tcfg_free(t);
	static const struct {
		char *ip2, *alt; /* argv strings */
		bool off;
		const char *want;
	} bad[] = {
		{"0.0.0.0", "3479", false, "'alt-listening-port' needs two 'listening-ip'"},
		{"::1", "3479", false, "'alt-listening-port' needs two 'listening-ip'"},
		{"127.0.0.2", "3478", false, "'alt-listening-port' must differ from 'listening-port'"},
		{"127.0.0.2", "3479", true, "contradict"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		config_defaults(&c);
		assert_int_equal(args_parse(&c, ARGV("--listening-ip", "127.0.0.1",
						     "--listening-ip", bad[i].ip2,
						     "--alt-listening-port", bad[i].alt),
					    &e), 0);
		err_close(&e);
		c.no_rfc5780 = bad[i].off;
		strcpy(c.users[0].name, "u");
		strcpy(c.users[0].pass, "p");
		c.nusers = 1;
		validate_expect(&c, bad[i].want);
	}
}

/* aux-server (coturn's): one more listener each, never a duplicate. */
static void test_aux_server(void **state)
{
	(void)state;
	struct config c;
	struct errbuf e;
	config_defaults(&c);
	assert_int_equal(args_parse(&c, ARGV("--listening-ip", "127.0.0.1",
					     "--aux-server", "127.0.0.2:4000",
					     "--aux-server", "[::1]"), &e), 0);
	err_close(&e);
	assert_int_equal(c.naux, 2);
	assert_int_equal(sa_port(&c.aux_servers[1]), 3478); /* coturn's default */
	struct net_listen_cfg lc;
	server_listen_cfg(&c, &lc);
	assert_int_equal(lc.naddrs, 3);
	ip_expect(&lc.addrs[1], "127.0.0.2");
	assert_int_equal(sa_port(&lc.addrs[1]), 4000);
	ip_expect(&lc.addrs[2], "::1");
	static char d1[] = "127.0.0.1:3478", d2[] = "127.0.0.2:4000", d3[] = "127.0.0.2:0";
	char *dups[][2] = {{d1, NULL}, {d2, d2}, {d3, NULL}};
	for (size_t i = 0; i < 3; i++) {
		config_defaults(&c);
		int rc = args_parse(&c, dups[i][1]
			? ARGV("--listening-ip", "127.0.0.1", "--aux-server", dups[i][0],
			       "--aux-server", dups[i][1])
			: ARGV("--listening-ip", "127.0.0.1", "--aux-server", dups[i][0]), &e);
		err_close(&e);
		if (rc != 0)
			continue; /* refused by the parser itself (port 0) */
		strcpy(c.users[0].name, "u");
		strcpy(c.users[0].pass, "p");
		c.nusers = 1;
		validate_expect(&c, "'aux-server' must name an address and port no other");
	}
	args_expect_err(ARGV("--aux-server", "localhost:3478"), "aux-server", NULL);
}

/* aux-server against the default listener: without listening-ip the
 * server listens on 127.0.0.1 (server_listen_cfg), and an aux-server on
 * that address and port would be a second socket splitting its traffic. */
static void test_aux_server_default_listener(void **state)
{
	(void)state;
	struct config c;
	struct errbuf e;
	config_defaults(&c);
	assert_int_equal(args_parse(&c, ARGV("--user", "u:p", "--aux-server",
					     "127.0.0.1:3478"), &e), 0);
	err_close(&e);
	validate_expect(&c, "'aux-server' must name an address and port no other");
	config_defaults(&c);
	assert_int_equal(args_parse(&c, ARGV("--user", "u:p", "--aux-server",
					     "127.0.0.1:4000"), &e), 0);
	err_close(&e);
	assert_int_equal(config_validate(&c, err_open(&e)), 0);
	err_close(&e);
}

/* An aux-server on tcp-proxy-port's port, on another address than the
 * listening ones: it would listen for PROXY-headed TCP only (no UDP, and
 * a plain client closed), not serve what every listener serves. */
static void test_aux_server_proxy_port(void **state)
{
	(void)state;
	struct config c;
	struct errbuf e;
	config_defaults(&c);
	assert_int_equal(args_parse(&c, ARGV("--user", "u:p", "--listening-ip",
					     "127.0.0.1", "--tcp-proxy-port", "3480",
					     "--aux-server", "127.0.0.2:3480"), &e), 0);
	err_close(&e);
	validate_expect(&c, "'aux-server' must not use the port of 'tcp-proxy-port'");
}

static bool proxy_trusts(const struct turn_cfg *t, const char *ip)
{
	struct sa a;
	assert_int_equal(sa_set_str(&a, ip, 0), 0);
	return cidr_list_has(t->proxy_trusted, t->nproxy_trusted, &a);
}

static struct server_tcfg *proxy_tcfg(struct config *c)
{
	struct errbuf e;
	struct net_listen_cfg lc;
	struct server_tcfg *t;
	assert_int_equal(config_validate(c, err_open(&e)), 0);
	err_close(&e);
	server_listen_cfg(c, &lc);
	assert_int_equal(server_tcfg_build(c, &lc, &t, stderr), 0);
	return t;
}

/* tcp-proxy-trusted's default, with tcp-proxy-port alone: where a
 * balancer usually connects from (loopback, RFC 1918, RFC 6598 shared
 * space, IPv6 ULA), IPv4-mapped spellings included; a public balancer
 * (Google Cloud's health checkers' 35.191.0.0/16), link-local and
 * documentation addresses are not in it. */
static void test_tcp_proxy_trusted_default(void **state)
{
	(void)state;
	struct config c;
	struct errbuf e;
	config_defaults(&c);
	assert_int_equal(args_parse(&c, ARGV("--user", "u:p", "--tcp-proxy-port",
					     "3480"), &e), 0);
	err_close(&e);
	assert_int_equal(c.nproxy_trusted, 0);
	struct server_tcfg *t = proxy_tcfg(&c);
	const char *in[] = {"127.0.0.1", "127.255.0.9", "::1", "::ffff:127.0.0.1",
			    "10.0.0.0", "10.255.255.255", "::ffff:10.1.2.3",
			    "172.16.0.1", "172.31.255.255", "192.168.0.1",
			    "192.168.255.255", "100.64.0.1", "100.127.255.255",
			    "fc00::1", "fdff:ffff::1"};
	const char *out[] = {"35.191.0.1", "::ffff:35.191.0.1", "8.8.8.8",
			     "9.255.255.255", "11.0.0.0", "172.15.255.255",
			     "172.32.0.0", "192.167.255.255", "192.169.0.0",
			     "100.63.255.255", "100.128.0.0", "169.254.169.254",
			     "198.51.100.7", "0.0.0.0", "fe80::1", "fe00::1",
			     "2001:db8::1", "::2", "::", "::ffff:198.51.100.7"};
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++)
		if (!proxy_trusts(&t->tcfg, in[i]))
			fail_msg("%s should be trusted by default", in[i]);
	for (size_t i = 0; i < sizeof(out) / sizeof(out[0]); i++)
		if (proxy_trusts(&t->tcfg, out[i]))
			fail_msg("%s should not be trusted by default", out[i]);
	server_tcfg_free(t);
}

/* tcp-proxy-trusted named: those sources alone (the default is
 * replaced), from the command line or a file; an entry that is not an
 * address or network, the option without tcp-proxy-port, and too many
 * entries are refusals naming the key. */
/* revoked-from (a fleet's TURN node polling GET /v1/revoked): parsed,
 * and refused where it could not work, naming the key. */
static void test_revoked_from_option(void **state)
{
	(void)state;
	struct config c;
	struct errbuf e;
	config_defaults(&c);
	assert_int_equal(file_parse(&c, "use-auth-secret\nstatic-auth-secret=s\n"
				    "revoked-from=https://api.example.com/v1/revoked\n"
				    "revoked-interval=2\nrevoked-ca-file=/etc/ca.pem\n",
				    &e, NULL), 0);
	err_close(&e);
	assert_string_equal(c.revoked_from, "https://api.example.com/v1/revoked");
	assert_int_equal(c.revoked_interval, 2);
	assert_int_equal(config_validate(&c, NULL), 0);
	config_defaults(&c);
	assert_int_equal(c.revoked_interval, 5);
	assert_int_not_equal(args_parse(&c, ARGV("--revoked-interval", "0"), &e), 0);
	fflush(e.f);
	assert_non_null(strstr(e.buf, "revoked-interval"));
	err_close(&e);

	valid_config(&c);
	strcpy(c.revoked_from, "ftp://h/");
	validate_expect(&c, "invalid value for 'revoked-from': 'ftp://h/'");
	valid_config(&c); /* a static user, no REST secret to sign with */
	strcpy(c.revoked_from, "http://10.0.0.1:8080/v1/revoked");
	validate_expect(&c, "'revoked-from' needs 'use-auth-secret'");
	c.use_auth_secret = true;
	strcpy(c.secrets[c.nsecrets++], "s");
	assert_int_equal(config_validate(&c, NULL), 0);
	strcpy(c.revoked_ca_file, "/etc/ca.pem");
	validate_expect(&c, "'revoked-ca-file' needs an https:// 'revoked-from'");
	c.revoked_ca_file[0] = '\0';
	c.api_port = 8080;
	strcpy(c.db, "/tmp/x.db");
	validate_expect(&c, "'revoked-from' and 'api-listening-port' do not go together");
	valid_config(&c);
	strcpy(c.revoked_ca_file, "/etc/ca.pem");
	validate_expect(&c, "'revoked-ca-file' needs 'revoked-from'");
}

static void test_tcp_proxy_trusted_option(void **state)
{
	(void)state;
	struct config c;
	struct errbuf e;
	config_defaults(&c);
	assert_int_equal(args_parse(&c, ARGV("--user", "u:p", "--tcp-proxy-port",
					     "3480", "--tcp-proxy-trusted",
					     "35.191.0.0/16", "--tcp-proxy-trusted",
					     "2001:db8:1::7"), &e), 0);
	err_close(&e);
	struct server_tcfg *t = proxy_tcfg(&c);
	assert_int_equal(t->tcfg.nproxy_trusted, 2);
	assert_true(proxy_trusts(&t->tcfg, "35.191.200.1"));
	assert_true(proxy_trusts(&t->tcfg, "::ffff:35.191.0.9"));
	assert_true(proxy_trusts(&t->tcfg, "2001:db8:1::7"));
	assert_false(proxy_trusts(&t->tcfg, "2001:db8:1::8"));
	assert_false(proxy_trusts(&t->tcfg, "10.1.2.3"));
	assert_false(proxy_trusts(&t->tcfg, "127.0.0.1"));
	server_tcfg_free(t);

	config_defaults(&c);
	assert_int_equal(file_parse(&c, "user=u:p\ntcp-proxy-port=3480\n"
				    "tcp-proxy-trusted=127.0.0.2\n", &e, NULL), 0);
	err_close(&e);
	t = proxy_tcfg(&c);
	assert_true(proxy_trusts(&t->tcfg, "127.0.0.2"));
	assert_false(proxy_trusts(&t->tcfg, "127.0.0.1"));
	server_tcfg_free(t);

	valid_config(&c);
	strcpy(c.proxy_trusted[c.nproxy_trusted++], "10.0.0.0/8");
	validate_expect(&c, "'tcp-proxy-trusted' needs 'tcp-proxy-port'");
	const char *bad[] = {"10.0.0.0/33", "example.com", "10.0.0.0/",
			     "::/129", "[::1]", "10.0.0.0/8 10.1.0.0/16"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		valid_config(&c);
		c.tcp_proxy_port = 3480;
		strcpy(c.proxy_trusted[c.nproxy_trusted++], "127.0.0.1");
		strcpy(c.proxy_trusted[c.nproxy_trusted++], bad[i]);
		char want[128];
		snprintf(want, sizeof(want),
			 "invalid value for 'tcp-proxy-trusted': '%s'", bad[i]);
		validate_expect(&c, want);
	}
	char *many[40] = {"serve"};
	int n = 1;
	for (int i = 0; i < 17; i++) {
		many[n++] = "--tcp-proxy-trusted";
		many[n++] = "10.0.0.1";
	}
	args_expect_err(many, "too many 'tcp-proxy-trusted' entries", NULL);
	args_expect_err(ARGV("--tcp-proxy-trusted", ""),
			"'tcp-proxy-trusted'", NULL);
}

/* coturn's user=name:0x<key> (turnadmin -k): the MD5 key instead of the
 * password; that user has no SHA-256 key. */
static void test_user_hex_key(void **state)
{
	(void)state;
	struct config c;
	struct errbuf e;
	config_defaults(&c);
	uint8_t key[16];
	assert_int_equal(stun_key_md5("eve", "test", "evepw", key), 0);
	char arg[64] = "eve:0x";
	for (int i = 0; i < 16; i++)
		snprintf(arg + 6 + 2 * i, 3, "%02X", key[i]);
	assert_int_equal(args_parse(&c, ARGV("--realm", "test", "-u", arg, "-u",
					     "amy:0xpassword-not-a-key"), &e), EINVAL);
	err_close(&e);
	config_defaults(&c);
	assert_int_equal(args_parse(&c, ARGV("--realm", "test", "-u", arg, "-u",
					     "amy:amypw"), &e), 0);
	err_close(&e);
	struct net_listen_cfg lc;
	struct server_tcfg *t;
	server_listen_cfg(&c, &lc);
	assert_int_equal(server_tcfg_build(&c, &lc, &t, stderr), 0);
	assert_int_equal(t->tcfg.nusers, 2);
	assert_string_equal(t->tcfg.users[0].name, "eve");
	assert_memory_equal(t->tcfg.users[0].key_md5, key, 16);
	assert_true(t->tcfg.users[0].md5_only);
	assert_false(t->tcfg.users[1].md5_only);
	assert_int_equal(stun_key_md5("amy", "test", "amypw", key), 0);
	assert_memory_equal(t->tcfg.users[1].key_md5, key, 16);
	server_tcfg_free(t);
}

/* A STUN-only server authenticates nothing, so use-auth-secret without a
 * secret is valid there (packaging/turnstone.conf.example has the line
 * on): the TURN configuration builds too. Regression: the secret check
 * added for userdb refused it at start. With secure-stun a secret is
 * still needed (test_userdb.sh: a userdb without one of the realm). */
static void test_stun_only_auth_secret(void **state)
{
	(void)state;
	struct config c;
	struct errbuf e;
	struct net_listen_cfg lc;
	struct server_tcfg *t = NULL;
	config_defaults(&c);
	assert_int_equal(args_parse(&c, ARGV("--realm", "test", "--stun-only",
					     "--use-auth-secret"), &e), 0);
	err_close(&e);
	assert_int_equal(config_validate(&c, err_open(&e)), 0);
	err_close(&e);
	server_listen_cfg(&c, &lc);
	assert_int_equal(server_tcfg_build(&c, &lc, &t, err_open(&e)), 0);
	assert_string_equal(err_text(&e), "");
	err_close(&e);
	server_tcfg_free(t);
	/* secure-stun: Binding needs credentials, so a secret is needed. */
	config_defaults(&c);
	assert_int_equal(args_parse(&c, ARGV("--realm", "test", "--stun-only",
					     "--secure-stun", "--use-auth-secret"),
				    &e), 0);
	err_close(&e);
	assert_int_equal(config_validate(&c, err_open(&e)), EINVAL);
	assert_non_null(strstr(err_text(&e), "'use-auth-secret' needs"));
	err_close(&e);
}

/* coturn's rest-api-separator (-C): the TURN core reads usernames with
 * it and the API mints the platform's with it. */
static void test_rest_separator(void **state)
{
	(void)state;
	struct config c;
	struct errbuf e;
	config_defaults(&c);
	assert_string_equal(c.rest_sep, ":");
	assert_int_equal(args_parse(&c, ARGV("-C", "#"), &e), 0);
	err_close(&e);
	assert_string_equal(c.rest_sep, "#");
	valid_config(&c);
	assert_int_equal(file_parse(&c, "rest-api-separator=-\n", &e, NULL), 0);
	err_close(&e);
	assert_int_equal(config_validate(&c, NULL), 0);
	struct net_listen_cfg lc;
	struct server_tcfg *t;
	server_listen_cfg(&c, &lc);
	assert_int_equal(server_tcfg_build(&c, &lc, &t, stderr), 0);
	assert_int_equal(t->tcfg.rest_sep, '-');
	server_tcfg_free(t);
	c.use_auth_secret = true;
	strcpy(c.secrets[c.nsecrets++], "topsecret");
	c.api_port = 8080;
	strcpy(c.db, "/tmp/x.db");
	struct api_cfg a;
	assert_int_equal(server_api_cfg(&c, &lc, &a, NULL), 0);
	assert_int_equal(a.rest_sep, '-');
	/* One printable character, not a digit (it would run into the
	 * expiry); checked on an API-only node too. */
	const char *bad[] = {"5", "ab", " ", "\x7f"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		valid_config(&c);
		snprintf(c.rest_sep, sizeof(c.rest_sep), "%s", bad[i]);
		validate_expect(&c, "'rest-api-separator' must be one printable");
	}
	file_expect_err("rest-api-separator=\n", "'rest-api-separator'", NULL);
	file_expect_err("rest-api-separator=too-long-value\n",
			"'rest-api-separator'", NULL);
}

/* coturn's software-attribute: a SOFTWARE attribute, our name unless
 * software-name gives the text; none without either. */
static const char *software_sent(const char *text)
{
	static char out[64];
	struct config c;
	struct errbuf e;
	valid_config(&c);
	assert_int_equal(file_parse(&c, text, &e, NULL), 0);
	err_close(&e);
	struct net_listen_cfg lc;
	struct server_tcfg *t;
	server_listen_cfg(&c, &lc);
	assert_int_equal(server_tcfg_build(&c, &lc, &t, stderr), 0);
	snprintf(out, sizeof(out), "%s", t->tcfg.software);
	server_tcfg_free(t);
	return out;
}

static void test_software_attribute(void **state)
{
	(void)state;
	assert_string_equal(software_sent("realm=x\n"), "");
	assert_string_equal(software_sent("software-attribute\n"), "turnstone");
	assert_string_equal(software_sent("software-attribute=false\n"), "");
	assert_string_equal(software_sent("software-attribute\nsoftware-name=acme\n"),
			    "acme");
	assert_string_equal(software_sent("software-name=acme\n"), "acme");
}

/* coturn's tls-alternate-server: port 5349 by default, needs
 * alternate-domain (RFC 8489 10), reaches the TURN core. */
static void test_tls_alternate_server(void **state)
{
	(void)state;
	struct config c;
	struct errbuf e;
	valid_config(&c);
	assert_int_equal(file_parse(&c, "tls-alternate-server=192.0.2.9\n"
				    "tls-alternate-server=[2001:db8::9]:443\n",
				    &e, NULL), 0);
	err_close(&e);
	assert_int_equal(c.ntls_alt, 2);
	assert_int_equal(sa_port(&c.tls_alt_servers[0]), 5349);
	assert_int_equal(sa_port(&c.tls_alt_servers[1]), 443);
	validate_expect(&c, "'tls-alternate-server' needs 'alternate-domain'");
	strcpy(c.alt_domain, "turn2.example.net");
	assert_int_equal(config_validate(&c, NULL), 0);
	struct net_listen_cfg lc;
	struct server_tcfg *t;
	server_listen_cfg(&c, &lc);
	assert_int_equal(server_tcfg_build(&c, &lc, &t, stderr), 0);
	assert_int_equal(t->tcfg.ntls_alt, 2);
	assert_int_equal(sa_port(&t->tcfg.tls_alt[0]), 5349);
	server_tcfg_free(t);
	/* alternate-server keeps 3478 as its default */
	valid_config(&c);
	assert_int_equal(file_parse(&c, "alternate-server=192.0.2.9\n", &e, NULL), 0);
	err_close(&e);
	assert_int_equal(sa_port(&c.alt_servers[0]), 3478);
	file_expect_err("tls-alternate-server=0.0.0.0\n",
			"invalid value for 'tls-alternate-server'", NULL);
}

/* coturn's -o / daemon: parsed, and refused without a log file (a
 * daemon's standard streams are /dev/null). */
static void test_daemon_option(void **state)
{
	(void)state;
	struct config c;
	struct errbuf e;
	valid_config(&c);
	assert_false(c.daemon);
	assert_int_equal(args_parse(&c, ARGV("-o"), &e), 0);
	err_close(&e);
	assert_true(c.daemon);
	validate_expect(&c, "'daemon' needs 'log-file'");
	strcpy(c.log_file, "/var/log/turnstone.log");
	assert_int_equal(config_validate(&c, NULL), 0);
	valid_config(&c);
	assert_int_equal(file_parse(&c, "daemon\nlog-file=stdout\n", &e, NULL), 0);
	err_close(&e);
	validate_expect(&c, "'daemon' needs 'log-file'");
	c.syslog = true; /* or syslog */
	assert_int_equal(config_validate(&c, NULL), 0);
	/* Usage records on stdout would go to /dev/null in the background. */
	strcpy(c.usage_log, "-");
	validate_expect(&c, "'usage-log=-' (stdout) cannot go with 'daemon'");
	strcpy(c.usage_log, "/var/log/turnstone-usage.log");
	assert_int_equal(config_validate(&c, NULL), 0);
}

/* Issue 5: bandwidth, caps, usage log and the Prometheus exporter. */
static void test_limits_options(void **state)
{
	(void)state;
	struct config c;
	struct errbuf e;
	config_defaults(&c);
	assert_int_equal(c.max_bps, 0);
	assert_int_equal(c.max_perms, 64);
	assert_int_equal(c.max_chans, 64);
	assert_false(c.prometheus);
	assert_int_equal(c.prometheus_port, 9641);
	assert_string_equal(c.prometheus_ip, "127.0.0.1");
	assert_int_equal(args_parse(&c, ARGV("--max-bps", "125000", "-B", "1000000",
					     "--max-permissions=3", "--max-channels", "2",
					     "--usage-log", "-", "--prometheus",
					     "--prometheus-port", "19641",
					     "--prometheus-address", "::1"), &e), 0);
	err_close(&e);
	assert_int_equal(c.max_bps, 125000);
	assert_int_equal(c.bps_capacity, 1000000);
	assert_int_equal(c.max_perms, 3);
	assert_int_equal(c.max_chans, 2);
	assert_string_equal(c.usage_log, "-");
	assert_true(c.prometheus);
	assert_int_equal(c.prometheus_port, 19641);
	assert_string_equal(c.prometheus_ip, "::1");
	args_expect_err(ARGV("--max-channels", "4097"),
			"invalid value for 'max-channels': '4097' (allowed 1..4096)", NULL);
	args_expect_err(ARGV("--max-permissions", "0"),
			"invalid value for 'max-permissions'", NULL);
	args_expect_err(ARGV("--max-bps", "-1"), "invalid value for 'max-bps'", NULL);
}

static void test_validate(void **state)
{
	(void)state;
	struct config c;
	valid_config(&c);
	assert_int_equal(config_validate(&c, NULL), 0);
	c.bps_capacity = 1000;
	validate_expect(&c, "'bps-capacity' needs 'max-bps'");
	c.max_bps = 100;
	assert_int_equal(config_validate(&c, NULL), 0);

	config_defaults(&c);
	validate_expect(&c, "no credentials");
	c.use_auth_secret = true;
	validate_expect(&c, "'use-auth-secret' needs at least one "
			    "'static-auth-secret'");

	valid_config(&c);
	c.min_port = 60000;
	c.max_port = 50000;
	validate_expect(&c, "'min-port' must not be greater than 'max-port'");

	valid_config(&c);
	c.no_udp = c.no_tcp = true;
	validate_expect(&c, "no listener");

	valid_config(&c);
	snprintf(c.cert, sizeof(c.cert), "/c.pem");
	validate_expect(&c, "'cert' needs 'pkey'");
	valid_config(&c);
	snprintf(c.pkey, sizeof(c.pkey), "/k.pem");
	validate_expect(&c, "'pkey' needs 'cert'");
	valid_config(&c);
	snprintf(c.ca_file, sizeof(c.ca_file), "/ca.pem");
	validate_expect(&c, "'CA-file' needs 'cert' and 'pkey'");
	/* TLS alone is a listener: no-udp and no-tcp are fine with it. */
	valid_config(&c);
	snprintf(c.cert, sizeof(c.cert), "/c.pem");
	snprintf(c.pkey, sizeof(c.pkey), "/k.pem");
	c.no_udp = c.no_tcp = true;
	assert_int_equal(config_validate(&c, NULL), 0);

	valid_config(&c);
	c.lt_cred_mech = false;
	validate_expect(&c, "'lt-cred-mech' cannot be turned off");

	valid_config(&c);
	c.nonce_lifetime = 0;
	validate_expect(&c, "'stale-nonce' must be 1..600");
	valid_config(&c);
	c.max_allocate_lifetime = 0;
	validate_expect(&c, "'max-allocate-lifetime' must be > 0");
	valid_config(&c);
	c.channel_lifetime = 100000;
	validate_expect(&c, "'channel-lifetime' must be 1..3600");
	valid_config(&c);
	c.permission_lifetime = 0;
	validate_expect(&c, "'permission-lifetime' must be 1..3600");
	valid_config(&c);
	c.relay_threads = 65;
	validate_expect(&c, "'relay-threads' must be at most 64");
	valid_config(&c);
	c.nsecrets = CFG_MAX_SECRETS + 1;
	validate_expect(&c, "too many 'static-auth-secret' entries");
	valid_config(&c);
	c.ndenied = CFG_MAX_RANGES + 1;
	validate_expect(&c, "too many 'denied-peer-ip' entries");

	/* lt-cred-mech=false parses, then fails validation */
	struct errbuf e;
	valid_config(&c);
	assert_int_equal(file_parse(&c, "lt-cred-mech=false\n", &e, NULL), 0);
	err_close(&e);
	validate_expect(&c, "'lt-cred-mech' cannot be turned off");

	/* a secret alone is a credential source, as in coturn */
	config_defaults(&c);
	assert_int_equal(args_parse(&c, ARGV("--static-auth-secret=x"), &e), 0);
	err_close(&e);
	assert_int_equal(config_validate(&c, NULL), 0);
}

/* The service options: alternates (coturn's IP:PORT form, port 3478 when
 * absent, into the turn_cfg), alternate-domain, drain-timeout, log-format. */
static void test_service_options(void **state)
{
	(void)state;
	struct config c;
	struct errbuf e;
	char buf[SA_STRLEN];
	valid_config(&c);
	assert_int_equal(c.drain_timeout, 3600);
	assert_string_equal(c.log_format, "text");
	assert_int_equal(args_parse(&c, ARGV("--alternate-server", "192.0.2.10:5000",
					     "--alternate-server=[2001:db8::1]",
					     "--alternate-domain", "turn2.example.net",
					     "--drain-timeout", "60", "--log-format",
					     "json"), &e), 0);
	err_close(&e);
	assert_int_equal(c.nalt, 2);
	assert_string_equal(sa_fmt(&c.alt_servers[0], buf, sizeof(buf)), "192.0.2.10:5000");
	assert_string_equal(sa_fmt(&c.alt_servers[1], buf, sizeof(buf)), "[2001:db8::1]:3478");
	assert_int_equal(c.drain_timeout, 60);
	assert_int_equal(config_validate(&c, NULL), 0);
	struct net_listen_cfg lc;
	struct server_tcfg *t;
	server_listen_cfg(&c, &lc);
	assert_int_equal(server_tcfg_build(&c, &lc, &t, stderr), 0);
	assert_int_equal(t->tcfg.nalt, 2);
	assert_true(sa_eq(&t->tcfg.alt[1], &c.alt_servers[1]));
	assert_string_equal(t->tcfg.alt_domain, "turn2.example.net");
	server_tcfg_free(t);

	args_expect_err(ARGV("--alternate-server", "turn.example.net:3478"),
			"invalid value for 'alternate-server': 'turn.example.net:3478'", NULL);
	args_expect_err(ARGV("--alternate-server", "192.0.2.1:0"),
			"invalid value for 'alternate-server'", NULL);
	args_expect_err(ARGV("--alternate-server", "0.0.0.0:3478"),
			"invalid value for 'alternate-server'", NULL);
	args_expect_err(ARGV("--drain-timeout", "604801"),
			"invalid value for 'drain-timeout'", NULL);
	valid_config(&c);
	strcpy(c.log_format, "xml");
	validate_expect(&c, "'log-format' must be 'text' or 'json'");
	const char *bad_domains[] = {"a..b", ".a", "a.", "a b", "a_b.example",
				     "ä.example"};
	for (size_t i = 0; i < sizeof(bad_domains) / sizeof(bad_domains[0]); i++) {
		valid_config(&c);
		strcpy(c.alt_domain, bad_domains[i]);
		validate_expect(&c, "'alternate-domain' must be a DNS name");
	}
	valid_config(&c);
	strcpy(c.alt_domain, "Turn-2.example.NET");
	assert_int_equal(config_validate(&c, NULL), 0);
}

/* Regression: with a wildcard listening address (and so a wildcard relay
 * address) the self entries were 0.0.0.0:port, which no peer matches, so
 * this host's own ports were reachable as peers through its addresses.
 * Loopback is on every machine: opened with --allow-loopback-peers, its
 * listening port must still be denied, and a relay-range port not. */
static void test_wildcard_self_denied(void **state)
{
	(void)state;
	struct config c;
	valid_config(&c);
	c.allow_loopback_peers = true;
	sa_set_str(&c.listen[0], "0.0.0.0", 0);
	c.nlisten = 1;
	struct net_listen_cfg lc;
	struct server_tcfg *t;
	server_listen_cfg(&c, &lc);
	assert_int_equal(server_tcfg_build(&c, &lc, &t, stderr), 0);
	struct sa peer;
	sa_set_str(&peer, "127.0.0.1", c.port);
	assert_int_equal(peer_policy_check(t->tcfg.policy, &peer), EPERM);
	sa_set_str(&peer, "127.0.0.1", c.min_port);
	assert_int_equal(peer_policy_check(t->tcfg.policy, &peer), 0);
	server_tcfg_free(t);
}

/* Regression (RFC 8656 21.3): a listening address that is not the relay
 * address had only its listening port denied, so this host's own
 * services on it (sshd, a database the firewall shuts to the outside)
 * were reachable as peers, the relay's traffic arriving as local. Its
 * ports outside the relay range are now denied as the relay address's
 * are. TEST-NET addresses, opened with allowed-peer-ip so that only the
 * self entries decide. */
static void test_listening_self_denied(void **state)
{
	(void)state;
	struct config c;
	valid_config(&c);
	strcpy(c.allowed_peers[0], "192.0.2.0/24");
	c.nallowed = 1;
	sa_set_str(&c.listen[0], "192.0.2.1", 0);
	c.nlisten = 1;
	sa_set_str(&c.relay[0], "192.0.2.2", 0);
	c.nrelay = 1;
	struct net_listen_cfg lc;
	struct server_tcfg *t;
	server_listen_cfg(&c, &lc);
	assert_int_equal(server_tcfg_build(&c, &lc, &t, stderr), 0);
	const struct {
		const char *ip;
		uint16_t port;
		int want;
	} cases[] = {
		{"192.0.2.1", 22, EPERM},
		{"192.0.2.1", c.port, EPERM},
		{"192.0.2.1", c.min_port, 0},
		{"192.0.2.2", 22, EPERM},
		{"192.0.2.2", c.max_port, 0},
		{"192.0.2.3", 22, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sa peer;
		sa_set_str(&peer, cases[i].ip, cases[i].port);
		if (peer_policy_check(t->tcfg.policy, &peer) != cases[i].want) {
			print_error("%s:%u\n", cases[i].ip, cases[i].port);
			fail();
		}
	}
	server_tcfg_free(t);
}

/* syslog, syslog-facility, no-stdout-log, log-binding: parsed, the
 * facility checked when read (coturn's LOG_ spelling too), and the
 * combinations that would log nowhere, or ignore a setting, refused. */
static void test_log_options(void **state)
{
	(void)state;
	struct config c;
	struct errbuf e;
	valid_config(&c);
	assert_false(c.syslog || c.no_stdout_log || c.log_binding);
	assert_string_equal(c.syslog_facility, "");
	assert_int_equal(file_parse(&c, "syslog\nsyslog-facility=LOG_LOCAL5\n"
				    "no-stdout-log\nlog-binding\n", &e, NULL), 0);
	err_close(&e);
	assert_true(c.syslog && c.no_stdout_log && c.log_binding);
	assert_string_equal(c.syslog_facility, "LOG_LOCAL5");
	assert_int_equal(config_validate(&c, NULL), 0);
	struct net_listen_cfg lc;
	struct server_tcfg *t;
	server_listen_cfg(&c, &lc);
	assert_int_equal(server_tcfg_build(&c, &lc, &t, stderr), 0);
	assert_true(t->tcfg.log_binding);
	server_tcfg_free(t);
	char *good[] = {"user", "DAEMON", "local0", "Local7", "log_auth",
			"AUTHPRIV", "log_syslog"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		valid_config(&c);
		char *argv[] = {"serve", "--syslog", "--syslog-facility",
				good[i], NULL};
		assert_int_equal(args_parse(&c, argv, &e), 0);
		err_close(&e);
		assert_int_equal(config_validate(&c, NULL), 0);
	}
	args_expect_err(ARGV("--syslog-facility", "local8"),
			"invalid value for 'syslog-facility': 'local8'", NULL);
	file_expect_err("syslog-facility=kern\n",
			"invalid value for 'syslog-facility': 'kern' (line 1", NULL);
	file_expect_err("syslog-facility=\n",
			"'syslog-facility': must not be empty", NULL);
	args_expect_err(ARGV("--syslog=maybe"), "invalid value for 'syslog'", NULL);
	args_expect_err(ARGV("--new-log-timestamp-format", "%F"),
			"unsupported option '--new-log-timestamp-format'", NULL);

	valid_config(&c);
	strcpy(c.syslog_facility, "local1");
	validate_expect(&c, "'syslog-facility' needs 'syslog'");
	valid_config(&c);
	c.no_stdout_log = true;
	validate_expect(&c, "'no-stdout-log' needs 'log-file' (a file) or "
		       "'syslog': there would be nowhere to log");
	strcpy(c.log_file, "/var/log/turnstone.log");
	assert_int_equal(config_validate(&c, NULL), 0);
	c.log_file[0] = '\0';
	c.syslog = true;
	assert_int_equal(config_validate(&c, NULL), 0);
}

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	static char buf[4096];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* A UDP port on 127.0.0.1 that nothing holds. */
static uint16_t udp_free_port(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t n = sizeof(a);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &n), 0);
	close(fd);
	return ntohs(a.sin_port);
}

/* errno of a plain bind (no SO_REUSEPORT) to 127.0.0.1:port, 0 if free. */
static int udp_bind_err(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int err = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 ? 0 : errno;
	close(fd);
	return err;
}

/* Until the worker says it uses cfg (at most 5 s). */
static void worker_wait_cfg(struct net_worker *w, const struct turn_cfg *cfg)
{
	const struct turn_cfg *used = NULL;
	const struct net_tls *tls;
	for (int i = 0; i < 5000; i++) {
		net_worker_in_use(w, &used, &tls);
		if (used == cfg)
			return;
		usleep(1000);
	}
	fail_msg("the worker did not take the update");
}

static struct server_tcfg *handover_tcfg(struct config *c, uint16_t port,
					 struct net_listen_cfg *lc)
{
	struct server_tcfg *t = NULL;
	c->port = port;
	server_listen_cfg(c, lc);
	assert_int_equal(server_tcfg_build(c, lc, &t, stderr), 0);
	return t;
}

/* Regression: a reload handed a worker its TLS contexts, listening set
 * and TURN configuration in three slots that the worker took one by one
 * (the configuration first, and said it was in use before the listening
 * set was applied), so a worker could serve new listeners under the old
 * configuration, whose peer policy does not know them as the server's
 * own, or the reverse. Now one update, applied whole: once a worker says
 * it uses the new configuration, the new listening set is in place. And
 * an update replaced before it was picked up loses nothing, since each
 * is whole (server_reload.c server_hand_over). */
static void test_reload_handover(void **state)
{
	(void)state;
	struct config c;
	valid_config(&c);
	sa_set_str(&c.listen[0], "127.0.0.1", 0);
	c.nlisten = 1;
	c.allow_loopback_peers = true;
	uint16_t p1 = udp_free_port(), p2, p3;
	do
		p2 = udp_free_port();
	while (p2 == p1);
	do
		p3 = udp_free_port();
	while (p3 == p1 || p3 == p2);
	struct net_listen_cfg lc1, lc2, lc3;
	struct server_tcfg *t1 = handover_tcfg(&c, p1, &lc1);
	struct server_tcfg *t2 = handover_tcfg(&c, p2, &lc2);
	struct server_tcfg *t3 = handover_tcfg(&c, p3, &lc3);
	struct turn_shared *sh;
	assert_int_equal(turn_shared_alloc(&sh, c.min_port, c.max_port), 0);
	struct net_worker *w;
	assert_int_equal(net_worker_alloc(&w, 0, &lc1, &t1->tcfg, sh, NULL), 0);
	assert_int_equal(udp_bind_err(p1), EADDRINUSE);
	assert_int_equal(net_worker_start(w), 0);

	struct net_worker_update up2 = {.cfg = &t2->tcfg, .lc = &lc2};
	net_worker_set_update(w, &up2);
	worker_wait_cfg(w, &t2->tcfg);
	assert_int_equal(udp_bind_err(p2), EADDRINUSE);

	/* Two updates before the worker wakes: the last one is whole. */
	struct net_worker_update up3 = {.cfg = &t3->tcfg, .lc = &lc3};
	struct net_worker_update up1 = {.cfg = &t1->tcfg, .lc = &lc3};
	net_worker_set_update(w, &up3);
	net_worker_set_update(w, &up1);
	worker_wait_cfg(w, &t1->tcfg);
	assert_int_equal(udp_bind_err(p3), EADDRINUSE);

	net_worker_drain(w, 0);
	net_worker_join(w);
	net_worker_free(w);
	turn_shared_free(sh);
	server_tcfg_free(t1);
	server_tcfg_free(t2);
	server_tcfg_free(t3);
}

/* The daemon's log routing across reloads: a new log-file name opens the
 * new file (lines go there, not to the old one); the same name keeps the
 * file; one that cannot be opened fails, changing nothing. */
static void test_log_routing(void **state)
{
	(void)state;
	char a[] = "/tmp/ts_loga_XXXXXX", b[] = "/tmp/ts_logb_XXXXXX";
	close(mkstemp(a));
	close(mkstemp(b));
	struct config c;
	struct server_log l = {0};
	valid_config(&c);
	strcpy(c.log_file, a);
	assert_int_equal(server_log_open(&l, &c, stderr), 0);
	server_log_use(&l, &c);
	log_info("first line");
	strcpy(c.log_file, b);
	assert_int_equal(server_log_open(&l, &c, stderr), 0);
	server_log_use(&l, &c);
	FILE *fb = l.f;
	log_info("second line");
	assert_int_equal(server_log_open(&l, &c, stderr), 0);
	assert_null(l.next);
	server_log_use(&l, &c);
	assert_ptr_equal(l.f, fb);
	strcpy(c.log_file, "/nonexistent-dir/x.log");
	assert_int_equal(server_log_open(&l, &c, stderr), EINVAL);
	server_log_abort(&l);
	log_info("third line");
	server_log_close(&l);
	assert_non_null(strstr(read_all(a), " info first line\n"));
	assert_null(strstr(read_all(a), "second"));
	const char *tb = read_all(b);
	assert_non_null(strstr(tb, " info second line\n"));
	assert_non_null(strstr(tb, " info third line\n"));
	assert_null(strstr(tb, "first"));
	unlink(a);
	unlink(b);
}

/* ----- coturn's STUN/TURN modes and relay family ----- */

/* Jitsi's stock coturn file (jitsi-meet-turnserver) sets
 * keep-address-family; the rest of it is options we already take. */
static const char jitsi_conf[] =
	"use-auth-secret\n"
	"keep-address-family\n"
	"static-auth-secret=jitsi-secret\n"
	"realm=meet.example.org\n"
	"no-multicast-peers\n"
	"no-cli\n"
	"no-loopback-peers\n"
	"no-tcp-relay\n"
	"listening-port=3478\n"
	"no-tlsv1\n"
	"no-tlsv1_1\n"
	"denied-peer-ip=10.0.0.0-10.255.255.255\n";

static void modes_tcfg_expect(const struct config *c, uint8_t fam)
{
	struct net_listen_cfg lc;
	struct server_tcfg *t;
	server_listen_cfg(c, &lc);
	assert_int_equal(server_tcfg_build(c, &lc, &t, stderr), 0);
	assert_int_equal(t->tcfg.default_family, fam);
	assert_int_equal(t->tcfg.stun_only, c->stun_only);
	assert_int_equal(t->tcfg.no_stun, c->no_stun);
	assert_int_equal(t->tcfg.secure_stun, c->secure_stun);
	assert_int_equal(t->tcfg.no_udp_relay, c->no_udp_relay);
	server_tcfg_free(t);
}

static void test_stun_modes_options(void **state)
{
	(void)state;
	struct config c;
	struct errbuf e;
	config_defaults(&c);
	assert_int_equal(file_parse(&c, jitsi_conf, &e, NULL), 0);
	assert_string_equal(err_text(&e), "");
	assert_int_equal(config_validate(&c, e.f), 0);
	assert_string_equal(err_text(&e), "");
	err_close(&e);
	assert_true(c.keep_address_family);
	modes_tcfg_expect(&c, TURN_DEFAULT_KEEP);

	valid_config(&c);
	assert_false(c.stun_only || c.no_stun || c.secure_stun || c.no_udp_relay);
	modes_tcfg_expect(&c, TURN_DEFAULT_IPV4);
	assert_int_equal(args_parse(&c, ARGV("-S", "--secure-stun",
					     "--no-udp-relay", "-A", "keep"), &e), 0);
	err_close(&e);
	assert_true(c.stun_only && c.secure_stun && c.no_udp_relay);
	assert_int_equal(config_validate(&c, NULL), 0);
	modes_tcfg_expect(&c, TURN_DEFAULT_KEEP);

	valid_config(&c);
	assert_int_equal(args_parse(&c, ARGV("--no-stun", "--relay-ip", "::1",
					     "--allocation-default-address-family=ipv6",
					     "-K", "--keep-address-family=no"), &e), 0);
	err_close(&e);
	assert_true(c.no_stun);
	assert_false(c.keep_address_family);
	assert_int_equal(config_validate(&c, NULL), 0);
	modes_tcfg_expect(&c, TURN_DEFAULT_IPV6);
	valid_config(&c);
	assert_int_equal(file_parse(&c, "allocation-default-address-family=ipv4\n"
				    "stun-only=false\n", &e, NULL), 0);
	err_close(&e);
	assert_int_equal(config_validate(&c, NULL), 0);
	modes_tcfg_expect(&c, TURN_DEFAULT_IPV4);

	/* A STUN-only server needs no credentials, unless secure-stun. */
	config_defaults(&c);
	c.stun_only = true;
	assert_int_equal(config_validate(&c, NULL), 0);
	c.secure_stun = true;
	validate_expect(&c, "no credentials");
}

static void test_stun_modes_conflicts(void **state)
{
	(void)state;
	struct config c;
	valid_config(&c);
	c.stun_only = c.no_stun = true;
	validate_expect(&c, "'stun-only' and 'no-stun' together leave nothing to serve");
	valid_config(&c);
	c.no_udp_relay = c.no_tcp_relay = true;
	validate_expect(&c, "'no-udp-relay' and 'no-tcp-relay' together leave no relay");
	valid_config(&c);
	c.secure_stun = c.no_stun = true;
	validate_expect(&c, "'secure-stun' does nothing with 'no-stun'");
	valid_config(&c);
	c.stun_only = c.no_turn = true;
	validate_expect(&c, "'stun-only' needs the STUN listeners that 'no-turn'");
	valid_config(&c);
	strcpy(c.alloc_family, "IPv6");
	validate_expect(&c, "invalid value for 'allocation-default-address-family': "
			"'IPv6' (allowed: ipv4, ipv6, keep)");
	valid_config(&c);
	strcpy(c.alloc_family, "ipv4");
	c.keep_address_family = true;
	validate_expect(&c, "'keep-address-family' contradicts "
			"'allocation-default-address-family'");
	strcpy(c.alloc_family, "keep");
	assert_int_equal(config_validate(&c, NULL), 0);
	/* ipv6 with no IPv6 relay address: every plain Allocate would get
	 * 440. The listening address (127.0.0.1 by default) or relay-ip
	 * decides. */
	valid_config(&c);
	strcpy(c.alloc_family, "ipv6");
	validate_expect(&c, "'allocation-default-address-family=ipv6' needs an "
			"IPv6 'relay-ip'");
	sa_set_str(&c.listen[0], "::1", 0);
	c.nlisten = 1;
	assert_int_equal(config_validate(&c, NULL), 0);
	sa_set_str(&c.relay[0], "127.0.0.1", 0);
	c.nrelay = 1;
	validate_expect(&c, "needs an IPv6 'relay-ip'");
	args_expect_err(ARGV("-A"), "option '-A' needs a value", NULL);
	file_expect_err("allocation-default-address-family\n",
			"option 'allocation-default-address-family' needs a value", NULL);
	file_expect_err("stun-only=maybe\n", "invalid value for 'stun-only': 'maybe'", NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_args_all_long),
		cmocka_unit_test(test_args_short),
		cmocka_unit_test(test_file_all),
		cmocka_unit_test(test_file_syntax),
		cmocka_unit_test(test_file_bytes),
		cmocka_unit_test(test_reload_handover),
		cmocka_unit_test(test_file_in_place),
		cmocka_unit_test(test_optional_values),
		cmocka_unit_test(test_noops),
		cmocka_unit_test(test_log_file_names),
		cmocka_unit_test(test_log_options),
		cmocka_unit_test(test_log_routing),
		cmocka_unit_test(test_unknown_and_unsupported),
		cmocka_unit_test(test_unknown_echo_escaped),
		cmocka_unit_test(test_db_mode_warn),
		cmocka_unit_test(test_tls_and_process_options),
		cmocka_unit_test(test_invalid_numbers),
		cmocka_unit_test(test_bad_addresses),
		cmocka_unit_test(test_secrets_not_echoed),
		cmocka_unit_test(test_too_long_strings),
		cmocka_unit_test(test_list_overflow),
		cmocka_unit_test(test_coturn_file),
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_tls_options),
		cmocka_unit_test(test_limits_options),
		cmocka_unit_test(test_conn_limit_options),
		cmocka_unit_test(test_api_options),
		cmocka_unit_test(test_needs),
		cmocka_unit_test(test_api_slow_client_options),
		cmocka_unit_test(test_api_cfg),
		cmocka_unit_test(test_api_cfg_ranges),
		cmocka_unit_test(test_user_hex_key),
		cmocka_unit_test(test_alt_listening_port),
		cmocka_unit_test(test_aux_server),
		cmocka_unit_test(test_aux_server_default_listener),
		cmocka_unit_test(test_aux_server_proxy_port),
		cmocka_unit_test(test_tcp_proxy_trusted_default),
		cmocka_unit_test(test_tcp_proxy_trusted_option),
		cmocka_unit_test(test_revoked_from_option),
		cmocka_unit_test(test_stun_only_auth_secret),
		cmocka_unit_test(test_rest_separator),
		cmocka_unit_test(test_daemon_option),
		cmocka_unit_test(test_tls_alternate_server),
		cmocka_unit_test(test_software_attribute),
		cmocka_unit_test(test_service_options),
		cmocka_unit_test(test_wildcard_self_denied),
		cmocka_unit_test(test_listening_self_denied),
		cmocka_unit_test(test_stun_modes_options),
		cmocka_unit_test(test_stun_modes_conflicts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
