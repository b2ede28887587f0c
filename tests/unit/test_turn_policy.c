/* turn/policy: which peers a relay may reach (RFC 8656 21.3, RFC 6156). */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "turn/policy.h"

static void check_ip(const struct peer_policy *p, const char *ip,
		     uint16_t port, int want)
{
	struct sa s;
	assert_int_equal(sa_set_str(&s, ip, port), 0);
	int got = peer_policy_check(p, &s);
	if (got != want) {
		print_error("%s port %u: got %d, want %d\n", ip, port, got, want);
		fail();
	}
}

static struct peer_policy *policy_new(void)
{
	struct peer_policy *p = NULL;
	assert_int_equal(peer_policy_alloc(&p), 0);
	assert_non_null(p);
	return p;
}

/* First and last address of every default range. */
static const char *const default_denied[] = {
	"0.0.0.0", "0.255.255.255", "10.0.0.0", "10.255.255.255",
	"100.64.0.0", "100.127.255.255", "127.0.0.0", "127.0.0.1",
	"127.255.255.255", "169.254.0.0", "169.254.169.254",
	"169.254.255.255", "172.16.0.0", "172.31.255.255", "192.0.0.0",
	"192.0.0.255", "192.0.2.0", "192.0.2.255", "192.88.99.0",
	"192.88.99.255", "192.168.0.0", "192.168.255.255", "198.18.0.0",
	"198.19.255.255", "198.51.100.0", "198.51.100.255", "203.0.113.0",
	"203.0.113.255", "224.0.0.0", "239.255.255.255", "240.0.0.0",
	"255.255.255.254", "255.255.255.255",
	"::", "::1", "fc00::", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	"fe80::", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fec0::",
	"feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ff00::", "ff02::1",
	"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db8::",
	"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "2001::",
	"2001:0:ffff:ffff:ffff:ffff:ffff:ffff", "2002::",
	"2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "64:ff9b::",
	"64:ff9b::ffff:ffff", "64:ff9b:1::",
	"64:ff9b:1:ffff:ffff:ffff:ffff:ffff", "100::",
	"100::ffff:ffff:ffff:ffff",
	/* IANA special-purpose, not globally reachable: documentation (RFC
	 * 9637), benchmarking (RFC 5180), ORCHID, SRv6 SIDs (RFC 9602). */
	"3fff::", "3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff", "2001:2::",
	"2001:2:0:ffff:ffff:ffff:ffff:ffff", "2001:10::",
	"2001:1f:ffff:ffff:ffff:ffff:ffff:ffff", "5f00::",
	"5f00:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	/* The IPv6 transition prefixes stay denied with a public IPv4. */
	"2002:808:808::1", "64:ff9b::8.8.8.8", "64:ff9b:1::8.8.8.8",
	"2001:0:4136:e378:8000:63bf:f7f7:f7f7",
};

/* Just outside the default ranges, and ordinary public addresses. */
static const char *const default_allowed[] = {
	"1.0.0.0", "9.255.255.255", "11.0.0.0", "100.63.255.255",
	"100.128.0.0", "126.255.255.255", "128.0.0.0", "169.253.255.255",
	"169.255.0.0", "172.15.255.255", "172.32.0.0", "191.255.255.255",
	"192.0.1.0", "192.0.3.0", "192.88.98.255", "192.88.100.0",
	"192.167.255.255", "192.169.0.0", "198.17.255.255", "198.20.0.0",
	"198.51.99.255", "198.51.101.0", "203.0.112.255", "203.0.114.0",
	"223.255.255.255", "8.8.8.8", "1.1.1.1",
	"2606:4700::1111", "2001:4860:4860::8888", "::ffff:8.8.8.8",
	"::8.8.8.8", "::ffff:0:8.8.8.8", "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	"fe00::1", "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db9::",
	"2001:1::5", "2003::1", "2001:ffff::1", "100:0:0:1::",
	"64:ff9a:ffff:ffff:ffff:ffff:ffff:ffff", "64:ff9b::1:0:0:0",
	"64:ff9b:2::", "2000::1",
	"3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "3fff:1000::", "2001:2:1::",
	"2001:1:ffff:ffff:ffff:ffff:ffff:ffff", "2001:f:ffff:ffff:ffff:ffff:ffff:ffff",
	"2001:20::", "5eff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "5f01::",
	"2001:4860:1:2:0:5efe:808:808",
};

static void test_default_list(void **state)
{
	(void)state;
	struct peer_policy *p = policy_new();
	size_t nd = sizeof(default_denied) / sizeof(*default_denied);
	size_t na = sizeof(default_allowed) / sizeof(*default_allowed);
	/* A NULL policy means the default list alone. */
	for (size_t i = 0; i < nd; i++) {
		check_ip(p, default_denied[i], 3478, EPERM);
		check_ip(NULL, default_denied[i], 3478, EPERM);
	}
	for (size_t i = 0; i < na; i++) {
		check_ip(p, default_allowed[i], 3478, 0);
		check_ip(NULL, default_allowed[i], 3478, 0);
	}
	struct sa none;
	memset(&none, 0, sizeof(none));
	assert_int_equal(peer_policy_check(p, &none), EPERM);
	assert_int_equal(peer_policy_check(p, NULL), EPERM);
	peer_policy_free(p);
}

/* ----- IPv4 inside IPv6 ----- */

enum enc {
	ENC_MAPPED,     /* ::ffff:a.b.c.d */
	ENC_COMPAT,     /* ::a.b.c.d */
	ENC_SIIT,       /* ::ffff:0:a.b.c.d */
	ENC_6TO4,       /* 2002:aabb:ccdd::1 */
	ENC_NAT64,      /* 64:ff9b::a.b.c.d */
	ENC_NAT64_LOCAL, /* 64:ff9b:1::a.b.c.d */
	ENC_TEREDO_CLIENT, /* client = ~last 32 bits */
	ENC_TEREDO_SERVER, /* server = bits 32-63, public client */
	ENC_ISATAP,     /* 2001:4860:1:2:0:5efe:a.b.c.d */
	ENC_ISATAP_U,   /* 2001:4860:1:2:200:5efe:a.b.c.d */
	ENC_6TO4_ISATAP, /* 2002:808:808:1:0:5efe:a.b.c.d, public 6to4 */
	ENC_COUNT,
};

static void encode(int kind, const uint8_t v4[4], uint8_t a[16])
{
	static const uint8_t teredo_srv[4] = {65, 54, 227, 120};
	static const uint8_t public_client[4] = {8, 8, 8, 8};
	memset(a, 0, 16);
	switch (kind) {
	case ENC_MAPPED:
		a[10] = a[11] = 0xff;
		memcpy(a + 12, v4, 4);
		break;
	case ENC_COMPAT:
		memcpy(a + 12, v4, 4);
		break;
	case ENC_SIIT:
		a[8] = a[9] = 0xff;
		memcpy(a + 12, v4, 4);
		break;
	case ENC_6TO4:
		a[0] = 0x20, a[1] = 0x02;
		memcpy(a + 2, v4, 4);
		a[15] = 1;
		break;
	case ENC_NAT64_LOCAL:
	case ENC_NAT64:
		if (kind == ENC_NAT64_LOCAL)
			a[5] = 1;
		a[1] = 0x64, a[2] = 0xff, a[3] = 0x9b;
		memcpy(a + 12, v4, 4);
		break;
	case ENC_TEREDO_CLIENT:
	case ENC_TEREDO_SERVER: {
		const uint8_t *srv = kind == ENC_TEREDO_CLIENT ? teredo_srv : v4;
		const uint8_t *cli = kind == ENC_TEREDO_CLIENT ? v4 : public_client;
		a[0] = 0x20, a[1] = 0x01;
		memcpy(a + 4, srv, 4);
		a[8] = 0x80, a[10] = 0x63, a[11] = 0xbf; /* flags, port */
		for (int i = 0; i < 4; i++)
			a[12 + i] = (uint8_t)~cli[i];
		break;
	}
	case ENC_ISATAP:
	case ENC_ISATAP_U:
	case ENC_6TO4_ISATAP: {
		static const uint8_t global[8] = {0x20, 0x01, 0x48, 0x60, 0, 1, 0, 2};
		static const uint8_t six4[8] = {0x20, 0x02, 8, 8, 8, 8, 0, 1};
		memcpy(a, kind == ENC_6TO4_ISATAP ? six4 : global, 8);
		a[8] = kind == ENC_ISATAP_U ? 0x02 : 0;
		a[10] = 0x5e, a[11] = 0xfe;
		memcpy(a + 12, v4, 4);
		break;
	}
	}
}

static const uint8_t private_v4[][4] = {
	{10, 0, 0, 1}, {127, 0, 0, 1}, {169, 254, 169, 254}, {192, 168, 1, 1},
};

static void test_embedded_denied(void **state)
{
	(void)state;
	struct peer_policy *p = policy_new();
	for (size_t i = 0; i < sizeof(private_v4) / 4; i++) {
		for (int k = 0; k < ENC_COUNT; k++) {
			uint8_t a[16];
			struct sa s, out;
			encode(k, private_v4[i], a);
			sa_set_raw(&s, AF_INET6, a, 4242);
			if (peer_policy_check(p, &s) != EPERM) {
				print_error("v4 #%zu encoding %d allowed\n", i, k);
				fail();
			}
			assert_true(peer_policy_unmap(&s, &out));
			assert_int_equal(sa_af(&out), AF_INET);
			assert_int_equal(sa_port(&out), 4242);
			if (k != ENC_TEREDO_SERVER && k != ENC_6TO4_ISATAP)
				assert_memory_equal(sa_addr_bytes(&out),
						    private_v4[i], 4);
		}
	}
	peer_policy_free(p);
}

/* With the transition prefixes explicitly allowed, the embedded IPv4 alone
 * decides: private inside is still denied, public inside is allowed. */
static void test_embedded_reduction(void **state)
{
	(void)state;
	static const uint8_t public_v4[4] = {8, 8, 8, 8};
	struct peer_policy *p = policy_new();
	assert_int_equal(peer_policy_add(p, "2002::/16", true), 0);
	assert_int_equal(peer_policy_add(p, "64:ff9b::/96", true), 0);
	assert_int_equal(peer_policy_add(p, "64:ff9b:1::/48", true), 0);
	assert_int_equal(peer_policy_add(p, "2001::/32", true), 0);
	for (int k = 0; k < ENC_COUNT; k++) {
		uint8_t a[16];
		struct sa s;
		for (size_t i = 0; i < sizeof(private_v4) / 4; i++) {
			encode(k, private_v4[i], a);
			sa_set_raw(&s, AF_INET6, a, 1);
			assert_int_equal(peer_policy_check(p, &s), EPERM);
		}
		encode(k, public_v4, a);
		sa_set_raw(&s, AF_INET6, a, 1);
		if (peer_policy_check(p, &s) != 0) {
			print_error("encoding %d of 8.8.8.8 denied\n", k);
			fail();
		}
	}
	peer_policy_free(p);
}

static void test_unmap(void **state)
{
	(void)state;
	struct sa in, out;
	char buf[SA_STRLEN];
	static const struct {
		const char *in;
		const char *out; /* NULL: not rewritten */
	} cases[] = {
		{"::ffff:10.0.0.1", "10.0.0.1"},
		{"::10.0.0.1", "10.0.0.1"},
		{"::ffff:0:10.0.0.1", "10.0.0.1"},
		{"2002:a00:1::", "10.0.0.1"},
		{"64:ff9b::a00:1", "10.0.0.1"},
		{"64:ff9b:1::a00:1", "10.0.0.1"},
		{"64:ff9b:1:abcd::a00:1", "10.0.0.1"},
		/* RFC 4380 example: server 65.54.227.120, client 192.0.2.45. */
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", "192.0.2.45"},
		/* ISATAP, RFC 5214 6.1, without and with the u bit. */
		{"2001:4860:1:2:0:5efe:a00:1", "10.0.0.1"},
		{"2001:4860:1:2:200:5efe:a00:1", "10.0.0.1"},
		{"2001:4860:1:2:0:5eff:a00:1", NULL},
		{"2001:4860:1:2:400:5efe:a00:1", NULL},
		{"::2", "0.0.0.2"},
		{"::", NULL},
		{"::1", NULL},
		{"2606:4700::1111", NULL},
		{"::fffe:10.0.0.1", NULL},
		{"64:ff9b::1:a00:1", NULL},
		{"2001:1::a00:1", NULL},
		{"10.0.0.1", NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(sa_set_str(&in, cases[i].in, 77), 0);
		memset(&out, 0, sizeof(out));
		bool r = peer_policy_unmap(&in, &out);
		if (!cases[i].out) {
			assert_false(r);
			continue;
		}
		assert_true(r);
		assert_string_equal(sa_fmt_ip(&out, buf, sizeof(buf)),
				    cases[i].out);
		assert_int_equal(sa_port(&out), 77);
	}
	assert_false(peer_policy_unmap(NULL, &out));
}

/* ----- Operator ranges ----- */

static void test_allow_overrides_default(void **state)
{
	(void)state;
	struct peer_policy *p = policy_new();
	assert_int_equal(peer_policy_add(p, "10.0.0.5", true), 0);
	assert_int_equal(peer_policy_add(p, "192.168.0.0/16", true), 0);
	assert_int_equal(peer_policy_add(p, "172.16.0.10-172.16.0.20", true), 0);
	assert_int_equal(peer_policy_add(p, "fd00::/8", true), 0);
	assert_int_equal(peer_policy_add(p, "169.254.169.254/8", true), 0);

	check_ip(p, "10.0.0.5", 1, 0);
	check_ip(p, "::ffff:10.0.0.5", 1, 0); /* same host, dual-stack form */
	check_ip(p, "10.0.0.4", 1, EPERM);
	check_ip(p, "10.0.0.6", 1, EPERM);
	check_ip(p, "192.168.0.0", 1, 0);
	check_ip(p, "192.168.255.255", 1, 0);
	check_ip(p, "172.16.0.9", 1, EPERM);
	check_ip(p, "172.16.0.10", 1, 0);
	check_ip(p, "172.16.0.15", 1, 0);
	check_ip(p, "172.16.0.20", 1, 0);
	check_ip(p, "172.16.0.21", 1, EPERM);
	check_ip(p, "fd00::1", 1, 0);
	check_ip(p, "fdff::1", 1, 0);
	check_ip(p, "fc00::1", 1, EPERM);
	/* Host bits under the prefix are masked: this allowed 169.0.0.0/8. */
	check_ip(p, "169.254.0.1", 1, 0);
	check_ip(p, "169.0.0.0", 1, 0);
	/* An allowed IPv4 does not open its 6to4 or NAT64 wrappers. */
	check_ip(p, "2002:a00:5::1", 1, EPERM);
	check_ip(p, "64:ff9b::10.0.0.5", 1, EPERM);
	/* Other defaults untouched. */
	check_ip(p, "127.0.0.1", 1, EPERM);
	check_ip(p, "8.8.8.8", 1, 0);
	peer_policy_free(p);
}

static void test_deny_overrides_allow(void **state)
{
	(void)state;
	struct peer_policy *p = policy_new();
	assert_int_equal(peer_policy_add(p, "10.0.0.0/8", true), 0);
	assert_int_equal(peer_policy_add(p, "10.1.0.0/16", false), 0);
	assert_int_equal(peer_policy_add(p, "8.8.8.0/24", false), 0);
	assert_int_equal(peer_policy_add(p, "1.1.1.1", true), 0);
	assert_int_equal(peer_policy_add(p, "1.1.1.1", false), 0);
	assert_int_equal(peer_policy_add(p, "2606:4700::/32", false), 0);
	/* Added in the other order, deny still wins. */
	assert_int_equal(peer_policy_add(p, "2606:4700::1111", true), 0);

	check_ip(p, "10.2.0.1", 1, 0);
	check_ip(p, "10.1.2.3", 1, EPERM);
	check_ip(p, "8.8.8.8", 1, EPERM);
	check_ip(p, "8.8.4.4", 1, 0);
	check_ip(p, "1.1.1.1", 1, EPERM);
	check_ip(p, "2606:4700::1111", 1, EPERM);
	/* A denied IPv4 is denied in every IPv6 form. */
	check_ip(p, "::ffff:8.8.8.8", 1, EPERM);
	check_ip(p, "::8.8.8.8", 1, EPERM);
	check_ip(p, "::ffff:0:8.8.8.8", 1, EPERM);
	check_ip(p, "::ffff:10.1.0.1", 1, EPERM);
	peer_policy_free(p);

	/* Ranges written in mapped form apply to plain IPv4 peers too. */
	p = policy_new();
	assert_int_equal(peer_policy_add(p, "::ffff:9.9.9.0/120", false), 0);
	assert_int_equal(peer_policy_add(p, "::ffff:10.0.0.0/104", true), 0);
	assert_int_equal(peer_policy_add(p, "::ffff:1.0.0.1-::ffff:1.0.0.3",
					 false),
			 0);
	check_ip(p, "9.9.9.9", 1, EPERM);
	check_ip(p, "::ffff:9.9.9.9", 1, EPERM);
	check_ip(p, "9.9.8.255", 1, 0);
	check_ip(p, "10.1.1.1", 1, 0);
	check_ip(p, "::ffff:10.1.1.1", 1, 0);
	check_ip(p, "11.0.0.1", 1, 0);
	check_ip(p, "1.0.0.2", 1, EPERM);
	check_ip(p, "1.0.0.4", 1, 0);
	peer_policy_free(p);

	/* Deny everything IPv4. */
	p = policy_new();
	assert_int_equal(peer_policy_add(p, "0.0.0.0/0", false), 0);
	check_ip(p, "8.8.8.8", 1, EPERM);
	check_ip(p, "::ffff:1.1.1.1", 1, EPERM);
	check_ip(p, "2606:4700::1111", 1, 0);
	assert_int_equal(peer_policy_add(p, "::/0", false), 0);
	check_ip(p, "2606:4700::1111", 1, EPERM);
	peer_policy_free(p);
}

static void test_loopback_switch(void **state)
{
	(void)state;
	struct peer_policy *p = policy_new();
	static const char *const loops[] = {
		"127.0.0.1", "127.255.255.254", "::1", "::ffff:127.0.0.1",
		"::127.0.0.1", "::ffff:0:127.0.0.1",
	};
	for (size_t i = 0; i < sizeof(loops) / sizeof(*loops); i++)
		check_ip(p, loops[i], 9, EPERM);
	peer_policy_allow_loopback(p, true);
	for (size_t i = 0; i < sizeof(loops) / sizeof(*loops); i++)
		check_ip(p, loops[i], 9, 0);
	/* Only loopback: the rest of the default list stays. */
	check_ip(p, "10.0.0.1", 9, EPERM);
	check_ip(p, "::", 9, EPERM);
	check_ip(p, "0.0.0.0", 9, EPERM);
	check_ip(p, "2002:7f00:1::", 9, EPERM);
	check_ip(p, "64:ff9b::127.0.0.1", 9, EPERM);
	/* An explicit deny still wins over the switch. */
	assert_int_equal(peer_policy_add(p, "127.0.0.2", false), 0);
	check_ip(p, "127.0.0.2", 9, EPERM);
	check_ip(p, "127.0.0.3", 9, 0);
	peer_policy_allow_loopback(p, false);
	check_ip(p, "127.0.0.1", 9, EPERM);
	check_ip(p, "::1", 9, EPERM);
	peer_policy_free(p);
}

static void add_self(struct peer_policy *p, const char *ip, uint16_t port)
{
	struct sa s;
	assert_int_equal(sa_set_str(&s, ip, port), 0);
	assert_int_equal(peer_policy_add_self(p, &s), 0);
}

static void test_self(void **state)
{
	(void)state;
	struct peer_policy *p = policy_new();
	add_self(p, "8.8.4.4", 3478);
	add_self(p, "1.2.3.4", 0);
	add_self(p, "2606:4700::5", 0);
	add_self(p, "::ffff:9.9.9.9", 5);
	add_self(p, "10.0.0.1", 3478);
	assert_int_equal(peer_policy_add(p, "10.0.0.0/8", true), 0);
	assert_int_equal(peer_policy_add(p, "8.8.4.4", true), 0);

	check_ip(p, "8.8.4.4", 3478, EPERM);
	check_ip(p, "8.8.4.4", 3479, 0);
	check_ip(p, "::ffff:8.8.4.4", 3478, EPERM);
	check_ip(p, "1.2.3.4", 1, EPERM);
	check_ip(p, "1.2.3.4", 65535, EPERM);
	check_ip(p, "1.2.3.5", 1, 0);
	check_ip(p, "2606:4700::5", 443, EPERM);
	check_ip(p, "2606:4700::6", 443, 0);
	check_ip(p, "9.9.9.9", 5, EPERM);
	check_ip(p, "::ffff:9.9.9.9", 5, EPERM);
	check_ip(p, "9.9.9.9", 6, 0);
	/* Self beats an explicit allow. */
	check_ip(p, "10.0.0.1", 3478, EPERM);
	check_ip(p, "10.0.0.1", 3479, 0);
	/* And the loopback switch. */
	add_self(p, "127.0.0.1", 3478);
	peer_policy_allow_loopback(p, true);
	check_ip(p, "127.0.0.1", 3478, EPERM);
	check_ip(p, "::ffff:127.0.0.1", 3478, EPERM);
	check_ip(p, "127.0.0.1", 3479, 0);

	struct sa bad;
	memset(&bad, 0, sizeof(bad));
	assert_int_equal(peer_policy_add_self(p, &bad), EINVAL);
	peer_policy_free(p);
}

static void test_ranges_parse(void **state)
{
	(void)state;
	struct peer_policy *p = policy_new();
	static const char *const good[] = {
		"10.0.0.0/8", "2001:db8::/32", "1.2.3.4", "1.2.3.4-1.2.3.9",
		"::1-::5", "0.0.0.0/0", "::/0", "1.2.3.4/32", "::1/128",
		"1.2.3.4-1.2.3.4", "10.1.2.3/8", "fe80::/10",
		"::ffff:10.0.0.0/104",
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++) {
		if (peer_policy_add(p, good[i], i % 2) != 0) {
			print_error("rejected '%s'\n", good[i]);
			fail();
		}
	}
	char longstr[300];
	memset(longstr, '1', sizeof(longstr) - 1);
	longstr[sizeof(longstr) - 1] = '\0';
	const char *const bad[] = {
		"", "garbage", "1.2.3", "1.2.3.4.5", "256.0.0.1", "1.2.3.4 ",
		" 1.2.3.4", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/-1",
		"10.0.0.0/8x", "10.0.0.0/ 8", "10.0.0.0/+8", "10.0.0.0/1000",
		"10.0.0.0/8/8", "::/129", "2001:db8::/200", "/8",
		"10.0.0.5-10.0.0.1", "::5-::1", "10.0.0.1-::1", "::1-10.0.0.1",
		"10.0.0.1-", "-10.0.0.1", "-", "10.0.0.1-10.0.0.2-10.0.0.3",
		"10.0.0.0/8-10.0.0.1", "10.0.0.1-10.0.0.9/8", "fe80::1%eth0",
		"1.2.3.4:80", "[::1]", "010.0.0.1", "0x0a.0.0.1", "10.0.0.1\n",
		longstr,
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		if (peer_policy_add(p, bad[i], i % 2) != EINVAL) {
			print_error("accepted '%s'\n", bad[i]);
			fail();
		}
	}
	assert_int_equal(peer_policy_add(p, NULL, true), EINVAL);
	assert_int_equal(peer_policy_add(NULL, "1.2.3.4", true), EINVAL);
	peer_policy_free(p);
	peer_policy_free(NULL);
}

/* Many ranges force the arrays to grow; every one stays effective. */
static void test_many_ranges(void **state)
{
	(void)state;
	struct peer_policy *p = policy_new();
	char r[32], ip[32];
	for (int i = 0; i < 300; i++) {
		snprintf(r, sizeof(r), "10.%d.%d.0/24", i / 256, i % 256);
		assert_int_equal(peer_policy_add(p, r, true), 0);
		snprintf(r, sizeof(r), "44.%d.%d.1", i / 256, i % 256);
		assert_int_equal(peer_policy_add(p, r, false), 0);
		struct sa s;
		snprintf(ip, sizeof(ip), "45.0.%d.%d", i / 256, i % 256);
		sa_set_str(&s, ip, (uint16_t)(i + 100));
		assert_int_equal(peer_policy_add_self(p, &s), 0);
	}
	for (int i = 0; i < 300; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.77", i / 256, i % 256);
		check_ip(p, ip, 1, 0);
		snprintf(ip, sizeof(ip), "44.%d.%d.1", i / 256, i % 256);
		check_ip(p, ip, 1, EPERM);
		snprintf(ip, sizeof(ip), "45.0.%d.%d", i / 256, i % 256);
		check_ip(p, ip, (uint16_t)(i + 100), EPERM);
		check_ip(p, ip, (uint16_t)(i + 101), 0);
	}
	check_ip(p, "10.2.0.1", 1, EPERM);
	peer_policy_free(p);
}

/* The relay range on our relay address is ours: a peer there would make
 * one allocation relay into another on the same server. */
static void test_self_relay_range(void **state)
{
	(void)state;
	struct peer_policy *p;
	struct sa relay, peer;
	assert_int_equal(peer_policy_alloc(&p), 0);
	peer_policy_allow_loopback(p, true);
	sa_set_str(&relay, "127.0.0.1", 0);
	assert_int_equal(peer_policy_add_self_range(p, &relay, 49152, 65535), 0);
	sa_set_str(&peer, "127.0.0.1", 50000);
	assert_int_equal(peer_policy_check(p, &peer), EPERM);
	sa_set_str(&peer, "::ffff:127.0.0.1", 65535);
	assert_int_equal(peer_policy_check(p, &peer), EPERM);
	sa_set_str(&peer, "127.0.0.1", 49151);
	assert_int_equal(peer_policy_check(p, &peer), 0);
	/* Address-level checks (CreatePermission) ignore port ranges but
	 * not whole-address self entries. */
	sa_set_str(&peer, "127.0.0.1", 50000);
	assert_int_equal(peer_policy_check_ip(p, &peer), 0);
	struct sa whole;
	sa_set_str(&whole, "127.0.0.9", 0);
	assert_int_equal(peer_policy_add_self(p, &whole), 0);
	sa_set_str(&peer, "127.0.0.9", 1234);
	assert_int_equal(peer_policy_check_ip(p, &peer), EPERM);
	assert_int_equal(peer_policy_add_self_range(p, &relay, 10, 9), EINVAL);
	peer_policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_list),
		cmocka_unit_test(test_embedded_denied),
		cmocka_unit_test(test_embedded_reduction),
		cmocka_unit_test(test_unmap),
		cmocka_unit_test(test_allow_overrides_default),
		cmocka_unit_test(test_deny_overrides_allow),
		cmocka_unit_test(test_loopback_switch),
		cmocka_unit_test(test_self),
		cmocka_unit_test(test_ranges_parse),
		cmocka_unit_test(test_many_ranges),
		cmocka_unit_test(test_self_relay_range),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
