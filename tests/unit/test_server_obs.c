/* Unit tests of the usage records (account, JSON line, bounded queue) and
 * of the Prometheus text (issue 5). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "server/prom.h"
#include "auth/auth.h"
#include "server/usage.h"

static struct turn_usage sample(const char *username, const char *userid)
{
	struct turn_usage t = {
		.username = username, .userid = userid,
		.userid_len = strlen(userid), .realm = "example.org",
		.transport = TURN_TP_TCP, .family = AF_INET6,
		.start = 1700000000, .end = 1700000042,
		.pkts = {3, 2}, .bytes = {300, 110}, .reason = TURN_END_REFRESH,
	};
	return t;
}

/* The account usage_from_turn gives name, its user-id placed the way the
 * TURN core places it. */
static const char *account_of(const char *name, char sep)
{
	static struct store_usage u;
	const char *uid = name;
	size_t ulen = strlen(name);
	uint64_t exp;
	auth_rest_parse(name, strlen(name), sep, &exp, &uid, &ulen);
	struct turn_usage t = sample(name, "");
	t.userid = uid;
	t.userid_len = ulen;
	usage_from_turn(&t, &u);
	return u.account;
}

static void test_account(void **state)
{
	(void)state;
	struct store_usage u;
	struct turn_usage t = sample("1700000600:acme:alice", "acme:alice");
	usage_from_turn(&t, &u);
	assert_string_equal(u.account, "acme");
	assert_string_equal(u.userid, "acme:alice");
	/* A REST username without a sub, a static user, odd shapes, the
	 * user-id-first order: realm. The user-id is where the TURN core
	 * finds it (auth_rest_parse), or the whole name for a static user. */
	const char *realm_cases[] = {"1700000600:acme", "alice", "x:acme:alice",
				     "1700000600::alice", ":acme:b",
				     "acme:1700000600"};
	for (size_t i = 0; i < sizeof(realm_cases) / sizeof(realm_cases[0]); i++)
		assert_string_equal(account_of(realm_cases[i], ':'), "example.org");
	/* rest-api-separator: the expiry ends at it, account:sub as ever. */
	assert_string_equal(account_of("1700000600-acme:alice", '-'), "acme");
	assert_string_equal(account_of("1700000600:acme:alice", '-'), "example.org");
}

static void test_json_line(void **state)
{
	(void)state;
	struct store_usage u;
	struct turn_usage t = sample("1700000600:acme:al\"i\\ce\n\xc3\xa9\xff", "acme:x");
	usage_from_turn(&t, &u);
	char buf[2048];
	assert_int_equal(usage_json(&u, buf, sizeof(buf)), 0);
	assert_string_equal(buf,
		"{\"account\":\"acme\",\"user_id\":\"acme:x\","
		"\"username\":\"1700000600:acme:al\\\"i\\\\ce\\u000a\xc3\xa9\\ufffd\","
		"\"realm\":\"example.org\",\"transport\":\"tcp\",\"family\":\"ipv6\","
		"\"start\":1700000000,\"end\":1700000042,\"c2p_bytes\":300,"
		"\"c2p_packets\":3,\"p2c_bytes\":110,\"p2c_packets\":2,"
		"\"reason\":\"refresh\"}\n");
	assert_int_equal(usage_json(&u, buf, 40), ENOSPC);
}

/* Bytes that look like UTF-8 but are not (a surrogate, overlong forms, a
 * value past U+10FFFF) from a client's USERNAME: replaced, so the line
 * stays valid UTF-8 and strict JSON readers do not drop it. */
static void test_json_line_utf8(void **state)
{
	(void)state;
	struct store_usage u;
	struct turn_usage t = sample("a\xed\xa0\x80" "b\xe0\x80\xaf" "c\xf0\x80\x80\xaf"
				     "d\xf4\x90\x80\x80" "e\xc3\xa9", "u");
	usage_from_turn(&t, &u);
	char buf[2048];
	assert_int_equal(usage_json(&u, buf, sizeof(buf)), 0);
	const char *want = "\"username\":\"a\\ufffd\\ufffd\\ufffdb"
			   "\\ufffd\\ufffd\\ufffdc"
			   "\\ufffd\\ufffd\\ufffd\\ufffdd"
			   "\\ufffd\\ufffd\\ufffd\\ufffde\xc3\xa9\"";
	if (!strstr(buf, want))
		fail_msg("got %s", buf);
}

/* The longest username POST /v1/ice-servers mints: a 63-character
 * account and a 127-character sub (docs/api.md, Tokens). Its user-id and
 * username reach the record whole, or two users whose subs differ only
 * at the end would be counted as one. Every field at its longest, made
 * of characters JSON must escape, still makes a line the writer keeps. */
static void test_long_user(void **state)
{
	(void)state;
	char acct[64], sub[128], uid[192], name[256], buf[USAGE_LINE_MAX];
	memset(acct, 'a', 63);
	acct[63] = '\0';
	memset(sub, 'u', 126);
	sub[126] = 'Z';
	sub[127] = '\0';
	snprintf(uid, sizeof(uid), "%s:%s", acct, sub);
	snprintf(name, sizeof(name), "1700000600:%s", uid);
	struct store_usage u;
	struct turn_usage t = sample(name, uid);
	usage_from_turn(&t, &u);
	assert_string_equal(u.account, acct);
	assert_string_equal(u.userid, uid);
	assert_string_equal(u.username, name);
	/* A static user's name (the whole name is its user-id), at the TURN
	 * core's longest, all control characters: six bytes each in JSON. */
	char ctl[256];
	memset(ctl, '\x01', 255);
	ctl[255] = '\0';
	t = sample(ctl, ctl);
	t.realm = ctl;
	usage_from_turn(&t, &u);
	assert_string_equal(u.username, ctl);
	assert_int_equal(usage_json(&u, buf, sizeof(buf)), 0);
}

static void test_queue_bounded(void **state)
{
	(void)state;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct usage_log *u;
	assert_int_equal(usage_log_alloc(&u, 2, f, NULL), 0);
	struct turn_usage t = sample("alice", "alice");
	for (int i = 0; i < 3; i++)
		usage_log_record(u, &t);
	assert_int_equal(usage_log_dropped(u), 1);
	usage_log_flush(u);
	usage_log_record(u, &t); /* room again */
	assert_int_equal(usage_log_dropped(u), 1);
	usage_log_free(u); /* writes the last one */
	fclose(f);
	unsigned lines = 0;
	for (char *p = text; (p = strchr(p, '\n')); p++)
		lines++;
	assert_int_equal(lines, 3);
	free(text);
}

static unsigned lines_in(const char *path, const char *needle)
{
	char buf[8192];
	FILE *f = fopen(path, "r");
	unsigned n = 0;
	while (f && fgets(buf, sizeof(buf), f))
		n += strstr(buf, needle) != NULL;
	if (f)
		fclose(f);
	return n;
}

/* logrotate renames the usage-log and sends SIGHUP: records written
 * before stay in the renamed file, later ones go to the new file at the
 * name, none lost or split (the writer switches between batches). */
static void test_reopen(void **state)
{
	(void)state;
	char dir[] = "/tmp/ts-usage-XXXXXX", path[64], old[64];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/usage.log", dir);
	snprintf(old, sizeof(old), "%s/usage.log.1", dir);
	FILE *out = fopen(path, "a");
	assert_non_null(out);
	struct usage_log *u;
	assert_int_equal(usage_log_alloc(&u, 64, out, NULL), 0);
	assert_int_equal(usage_log_start(u), 0);
	struct turn_usage before = sample("1700000600:acme:before", "acme:before");
	usage_log_record(u, &before);
	for (int i = 0; i < 200 && lines_in(path, "before") == 0; i++)
		nanosleep(&(struct timespec){.tv_nsec = 10000000}, NULL);
	assert_int_equal(lines_in(path, "before"), 1);
	assert_int_equal(rename(path, old), 0);
	FILE *again = fopen(path, "a");
	assert_non_null(again);
	usage_log_reopen(u, again);
	struct turn_usage after = sample("1700000600:acme:after", "acme:after");
	for (int i = 0; i < 5; i++)
		usage_log_record(u, &after);
	usage_log_free(u); /* joins the writer after the last record */
	fclose(out);
	assert_int_equal(lines_in(old, "before"), 1);
	assert_int_equal(lines_in(old, "after"), 0);
	assert_int_equal(lines_in(path, "after"), 5);
	assert_int_equal(lines_in(path, "before"), 0);
	unlink(path);
	unlink(old);
	rmdir(dir);
}

static void test_prom_text(void **state)
{
	(void)state;
	static struct turn_stats a, b;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	turn_stat_add(&a.pkts[TURN_DIR_C2P], 5);
	turn_stat_add(&b.pkts[TURN_DIR_C2P], 7);
	turn_stat_add(&b.allocs[TURN_TP_UDP][1], 2);
	turn_stat_add(&a.auth_fail[TURN_AF_STALE_NONCE], 1);
	turn_stat_add(&a.quota_rej[TURN_QR_BANDWIDTH], 4);
	turn_stat_add(&a.conn_refused, 1);
	turn_stat_add(&b.conn_refused, 2);
	turn_stat_add(&b.dtls_refused, 5);
	turn_stat_add(&a.tls_keyupd_closed, 6);
	struct prom_view v = {.stats = {&a, &b}, .busy_ns = {1500000000, 0},
			      .nworkers = 2, .ports_free = 90, .ports_total = 100};
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	prom_render(&v, f);
	fclose(f);
	const char *want[] = {
		"# TYPE turnstone_relayed_packets_total counter\n",
		"turnstone_relayed_packets_total{direction=\"client_to_peer\"} 12\n",
		"turnstone_relayed_packets_total{direction=\"peer_to_client\"} 0\n",
		"turnstone_allocations{transport=\"udp\",family=\"ipv6\"} 2\n",
		"turnstone_auth_failures_total{reason=\"stale_nonce\"} 1\n",
		"turnstone_allocation_quota_rejections_total{quota=\"bandwidth\"} 4\n",
		"turnstone_relay_ports_used 10\n",
		"turnstone_worker_busy_seconds_total{worker=\"0\"} 1.500000\n",
		"# HELP turnstone_peer_denied_total ",
		"turnstone_tcp_refused_total 3\n",
		"turnstone_dtls_refused_total 5\n",
		"turnstone_tls_keyupdate_closed_total 6\n",
		"turnstone_tcp_timed_out_total 0\n",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!strstr(text, want[i]))
			fail_msg("missing '%s' in:\n%s", want[i], text);
	/* No revoked-from: the set's size, not the poll's figures. */
	assert_non_null(strstr(text, "turnstone_revoked_users 0\n"));
	assert_null(strstr(text, "revoked_sync_failures_total"));
	free(text);
	v.rv_users = 3;
	v.rv_accounts = 1;
	v.rv_polling = true;
	v.rv_failures = 2;
	v.rv_last_ok = 1764000000;
	f = open_memstream(&text, &len);
	prom_render(&v, f);
	fclose(f);
	const char *rv[] = {
		"# TYPE turnstone_revoked_users gauge\nturnstone_revoked_users 3\n",
		"turnstone_revoked_accounts 1\n",
		("# TYPE turnstone_revoked_sync_failures_total counter\n"
		 "turnstone_revoked_sync_failures_total 2\n"),
		"turnstone_revoked_last_sync_timestamp_seconds 1764000000\n",
	};
	for (size_t i = 0; i < sizeof(rv) / sizeof(rv[0]); i++)
		if (!strstr(text, rv[i]))
			fail_msg("missing '%s' in:\n%s", rv[i], text);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_account),
		cmocka_unit_test(test_json_line),
		cmocka_unit_test(test_json_line_utf8),
		cmocka_unit_test(test_long_user),
		cmocka_unit_test(test_queue_bounded),
		cmocka_unit_test(test_reopen),
		cmocka_unit_test(test_prom_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
