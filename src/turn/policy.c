/* Peer policy: the one place that decides whether a relay may send to a
 * peer (RFC 8656 21.3: a TURN server must not become a way into the
 * operator's own networks). The setup path may allocate; the check path
 * never does. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "turn/policy.h"

#define POLICY_FORMS_MAX 4 /* the address, then up to three embedded IPv4 */
#define POLICY_STR_MAX (2 * INET6_ADDRSTRLEN + 2)

struct policy_range {
	int af;
	uint8_t lo[16];
	uint8_t hi[16];
};

struct policy_vec {
	struct policy_range *v;
	size_t n, cap;
};

/* One of the server's own addresses, with the ports that are ours on it
 * (a listening port, or the whole relay range). */
struct policy_self {
	struct sa addr;
	uint16_t lo, hi;
};

struct peer_policy {
	struct policy_vec allow;
	struct policy_vec deny;
	struct policy_self *self;
	size_t nself, capself;
	bool loopback;
};

struct policy_net {
	int af;
	unsigned bits;
	uint8_t addr[16];
};

/* Special-purpose space that is never a legitimate peer: RFC 6890 and the
 * IANA registries (RFC 6156 for IPv6). Deny wins for the IPv6 transition
 * prefixes even when the IPv4 inside them is public. */
static const struct policy_net policy_defaults[] = {
	{AF_INET, 8, {0}},                 /* "this network" */
	{AF_INET, 8, {10}},                /* RFC 1918 */
	{AF_INET, 10, {100, 64}},          /* RFC 6598 shared CGN space */
	{AF_INET, 8, {127}},               /* loopback */
	{AF_INET, 16, {169, 254}},         /* link-local, cloud metadata */
	{AF_INET, 12, {172, 16}},          /* RFC 1918 */
	{AF_INET, 24, {192, 0, 0}},        /* IETF protocol assignments */
	{AF_INET, 24, {192, 0, 2}},        /* TEST-NET-1 */
	{AF_INET, 24, {192, 88, 99}},      /* 6to4 relay anycast */
	{AF_INET, 16, {192, 168}},         /* RFC 1918 */
	{AF_INET, 15, {198, 18}},          /* benchmarking */
	{AF_INET, 24, {198, 51, 100}},     /* TEST-NET-2 */
	{AF_INET, 24, {203, 0, 113}},      /* TEST-NET-3 */
	{AF_INET, 4, {224}},               /* multicast */
	{AF_INET, 4, {240}},               /* reserved, broadcast */
	{AF_INET6, 128, {0}},              /* unspecified */
	{AF_INET6, 128, {[15] = 1}},       /* loopback */
	{AF_INET6, 7, {0xfc}},             /* unique local */
	{AF_INET6, 10, {0xfe, 0x80}},      /* link-local */
	{AF_INET6, 10, {0xfe, 0xc0}},      /* site-local (deprecated) */
	{AF_INET6, 8, {0xff}},             /* multicast */
	{AF_INET6, 32, {0x20, 0x01, 0x0d, 0xb8}}, /* documentation */
	{AF_INET6, 20, {0x3f, 0xff}},      /* documentation, RFC 9637 */
	{AF_INET6, 48, {0x20, 0x01, 0, 0x02}}, /* benchmarking, RFC 5180 */
	{AF_INET6, 28, {0x20, 0x01, 0, 0x10}}, /* ORCHID (deprecated) */
	{AF_INET6, 16, {0x5f, 0x00}},      /* SRv6 SIDs, RFC 9602 */
	{AF_INET6, 32, {0x20, 0x01}},      /* Teredo */
	{AF_INET6, 16, {0x20, 0x02}},      /* 6to4 */
	{AF_INET6, 96, {0, 0x64, 0xff, 0x9b}},       /* NAT64 well-known */
	{AF_INET6, 48, {0, 0x64, 0xff, 0x9b, 0, 1}}, /* NAT64 local-use */
	{AF_INET6, 64, {0x01}},            /* discard-only */
};

static size_t policy_alen(int af)
{
	return af == AF_INET ? 4 : 16;
}

static bool policy_prefix_match(const uint8_t *a, const uint8_t *net,
				unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;
	if (memcmp(a, net, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[whole] & mask) == (net[whole] & mask);
}

static bool policy_in_defaults(const struct sa *s)
{
	size_t n = sizeof(policy_defaults) / sizeof(policy_defaults[0]);
	for (size_t i = 0; i < n; i++) {
		const struct policy_net *d = &policy_defaults[i];
		if (d->af == sa_af(s) &&
		    policy_prefix_match(sa_addr_bytes(s), d->addr, d->bits))
			return true;
	}
	return false;
}

static bool policy_is_loopback(const struct sa *s)
{
	static const uint8_t v6_loop[16] = {[15] = 1};
	const uint8_t *a = sa_addr_bytes(s);
	if (sa_af(s) == AF_INET)
		return a[0] == 127;
	return memcmp(a, v6_loop, 16) == 0;
}

static bool policy_in_vec(const struct policy_vec *v, const struct sa *s)
{
	size_t n = policy_alen(sa_af(s));
	const uint8_t *a = sa_addr_bytes(s);
	for (size_t i = 0; i < v->n; i++) {
		const struct policy_range *r = &v->v[i];
		if (r->af == sa_af(s) && memcmp(r->lo, a, n) <= 0 &&
		    memcmp(a, r->hi, n) <= 0)
			return true;
	}
	return false;
}

/* ----- IPv4 embedded in IPv6 ----- */

static bool policy_zero(const uint8_t *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i])
			return false;
	return true;
}

/* Forms other than IPv4-mapped (sa_unmap) that carry the IPv4 address
 * in the last 32 bits. */
static bool policy_low32(const uint8_t *a)
{
	static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b};
	static const uint8_t nat64_local[6] = {0, 0x64, 0xff, 0x9b, 0, 1};

	if (policy_zero(a, 8) && a[8] == 0xff && a[9] == 0xff &&
	    policy_zero(a + 10, 2))
		return true; /* SIIT, RFC 7915 */
	/* IPv4-compatible (RFC 4291 2.5.5.1), but :: and ::1 are their own. */
	if (policy_zero(a, 12) && !(policy_zero(a + 12, 3) && a[15] <= 1))
		return true;
	/* NAT64 (RFC 6052 /96), and RFC 8215 local-use taken the same way. */
	return memcmp(a, nat64, 12) == 0 || memcmp(a, nat64_local, 6) == 0;
}

/* An ISATAP interface identifier (RFC 5214 6.1): 0000:5efe or, with
 * the u bit, 0200:5efe, then the node's IPv4 address. Under any prefix:
 * the ISATAP router of the server's own site tunnels it to that IPv4. */
static bool policy_isatap(const uint8_t *a)
{
	return (a[8] & 0xfc) == 0 && a[9] == 0 && a[10] == 0x5e && a[11] == 0xfe;
}

/* The IPv4 addresses a packet to the IPv6 address s may end up at, most
 * specific first, with s's port. Teredo (RFC 4380 4) yields the client
 * (its obfuscated last 32 bits) and the server (bits 32-63); an ISATAP
 * interface identifier one more. */
static size_t policy_embedded(const struct sa *s, struct sa v4[3])
{
	const uint8_t *a = sa_addr_bytes(s);
	uint16_t port = sa_port(s);
	uint8_t client[4];
	size_t n = 0;

	sa_unmap(&v4[0], s); /* ::ffff:a.b.c.d, RFC 4291 2.5.5.2 */
	if (sa_af(&v4[0]) == AF_INET)
		return 1;
	if (policy_low32(a)) {
		sa_set_raw(&v4[0], AF_INET, a + 12, port);
		return 1;
	}
	if (a[0] == 0x20 && a[1] == 0x02) { /* 6to4, RFC 3056 2 */
		sa_set_raw(&v4[n++], AF_INET, a + 2, port);
	} else if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0 && a[3] == 0) {
		for (int i = 0; i < 4; i++)
			client[i] = (uint8_t)~a[12 + i];
		sa_set_raw(&v4[n++], AF_INET, client, port);
		sa_set_raw(&v4[n++], AF_INET, a + 4, port);
	}
	if (policy_isatap(a))
		sa_set_raw(&v4[n++], AF_INET, a + 12, port);
	return n;
}

/* forms[0] is the peer itself; the rest are its embedded IPv4 forms, all
 * with the peer's port. */
static size_t policy_forms(const struct sa *peer, struct sa *forms)
{
	forms[0] = *peer;
	return 1 + (sa_af(peer) == AF_INET6 ? policy_embedded(peer, forms + 1) : 0);
}

bool peer_policy_unmap(const struct sa *in, struct sa *out)
{
	struct sa v4[POLICY_FORMS_MAX - 1];

	if (!in || !out || sa_af(in) != AF_INET6 || policy_embedded(in, v4) == 0)
		return false;
	*out = v4[0];
	return true;
}

/* ----- Setup ----- */

int peer_policy_alloc(struct peer_policy **pp)
{
	if (!pp)
		return EINVAL;
	struct peer_policy *p = calloc(1, sizeof(*p));
	if (!p)
		return ENOMEM;
	*pp = p;
	return 0;
}

void peer_policy_free(struct peer_policy *p)
{
	if (!p)
		return;
	free(p->allow.v);
	free(p->deny.v);
	free(p->self);
	free(p);
}

void peer_policy_allow_loopback(struct peer_policy *p, bool on)
{
	if (p)
		p->loopback = on;
}

/* Grow-by-doubling for the setup path: returns the array with room for
 * one more element (updating *cap), or NULL with the old one intact. */
static void *policy_grow(void *v, size_t *cap, size_t n, size_t elem)
{
	if (n < *cap)
		return v;
	size_t ncap = *cap ? *cap * 2 : 8;
	void *nv = reallocarray(v, ncap, elem);
	if (nv)
		*cap = ncap;
	return nv;
}

static int policy_parse_ip(const char *s, int *af, uint8_t *a)
{
	if (inet_pton(AF_INET, s, a) == 1)
		*af = AF_INET;
	else if (inet_pton(AF_INET6, s, a) == 1)
		*af = AF_INET6;
	else
		return EINVAL;
	return 0;
}

/* Strict decimal prefix length: 1-3 digits, nothing else. */
static int policy_parse_bits(const char *s, unsigned max, unsigned *bits)
{
	unsigned v = 0;
	size_t i = 0;
	for (; s[i] && i < 3; i++) {
		if (s[i] < '0' || s[i] > '9')
			return EINVAL;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (i == 0 || s[i] || v > max)
		return EINVAL;
	*bits = v;
	return 0;
}

static int policy_parse_cidr(char *s, char *slash, struct policy_range *r)
{
	unsigned bits;
	*slash = '\0';
	if (policy_parse_ip(s, &r->af, r->lo))
		return EINVAL;
	size_t n = policy_alen(r->af);
	if (policy_parse_bits(slash + 1, (unsigned)n * 8, &bits))
		return EINVAL;
	/* Host bits set below the prefix are masked off, as ip(8) does. */
	for (unsigned i = 0; i < n; i++) {
		unsigned keep = bits > 8 * i ? bits - 8 * i : 0;
		uint8_t mask = (uint8_t)(0xff00u >> (keep > 8 ? 8 : keep));
		r->lo[i] &= mask;
		r->hi[i] = (uint8_t)(r->lo[i] | ~mask);
	}
	return 0;
}

static int policy_parse_span(char *s, char *dash, struct policy_range *r)
{
	int af2;
	*dash = '\0';
	if (policy_parse_ip(s, &r->af, r->lo) ||
	    policy_parse_ip(dash + 1, &af2, r->hi) || af2 != r->af ||
	    memcmp(r->lo, r->hi, policy_alen(r->af)) > 0)
		return EINVAL;
	return 0;
}

/* A range written in IPv4-mapped form ("::ffff:10.0.0.0/104") means the
 * IPv4 range: otherwise denying it would miss plain IPv4 peers. */
static void policy_range_unmap(struct policy_range *r)
{
	static const uint8_t mapped[12] = {[10] = 0xff, [11] = 0xff};
	if (r->af != AF_INET6 || memcmp(r->lo, mapped, 12) != 0 ||
	    memcmp(r->hi, mapped, 12) != 0)
		return;
	r->af = AF_INET;
	memmove(r->lo, r->lo + 12, 4);
	memmove(r->hi, r->hi + 12, 4);
	memset(r->lo + 4, 0, 12);
	memset(r->hi + 4, 0, 12);
}

static int policy_parse_range(const char *range, struct policy_range *r)
{
	char buf[POLICY_STR_MAX];
	size_t len = range ? strlen(range) : 0;

	if (len == 0 || len >= sizeof(buf))
		return EINVAL;
	memcpy(buf, range, len + 1);
	memset(r, 0, sizeof(*r));
	char *dash = strchr(buf, '-');
	char *slash = strchr(buf, '/');
	if (dash && slash)
		return EINVAL;
	if (dash)
		return policy_parse_span(buf, dash, r);
	if (slash)
		return policy_parse_cidr(buf, slash, r);
	if (policy_parse_ip(buf, &r->af, r->lo))
		return EINVAL;
	memcpy(r->hi, r->lo, sizeof(r->hi));
	return 0;
}

int peer_policy_add(struct peer_policy *p, const char *range, bool allow)
{
	struct policy_range r;

	if (!p || policy_parse_range(range, &r))
		return EINVAL;
	policy_range_unmap(&r);
	struct policy_vec *v = allow ? &p->allow : &p->deny;
	struct policy_range *nv = policy_grow(v->v, &v->cap, v->n, sizeof(r));
	if (!nv)
		return ENOMEM;
	v->v = nv;
	v->v[v->n++] = r;
	return 0;
}

int peer_policy_add_self_range(struct peer_policy *p, const struct sa *addr,
			       uint16_t lo, uint16_t hi)
{
	struct policy_self s = {.lo = lo, .hi = hi};

	if (!p || !addr || lo > hi ||
	    (sa_af(addr) != AF_INET && sa_af(addr) != AF_INET6))
		return EINVAL;
	/* A mapped listening address (dual-stack socket) is the IPv4 one it
	 * stands for; the check compares the peer's IPv4 forms against it. */
	sa_unmap(&s.addr, addr);
	struct policy_self *nv = policy_grow(p->self, &p->capself, p->nself,
					     sizeof(s));
	if (!nv)
		return ENOMEM;
	p->self = nv;
	p->self[p->nself++] = s;
	return 0;
}

int peer_policy_add_self(struct peer_policy *p, const struct sa *addr)
{
	uint16_t port = addr ? sa_port(addr) : 0;
	return peer_policy_add_self_range(p, addr, port ? port : 0,
					  port ? port : 65535);
}

/* ----- The decision ----- */

/* any_port: judge the address alone (a permission covers every port),
 * so only entries that cover every port deny. */
static bool policy_is_self(const struct peer_policy *p, const struct sa *s,
			   bool any_port)
{
	for (size_t i = 0; i < p->nself; i++) {
		const struct policy_self *e = &p->self[i];
		uint16_t port = sa_port(s);
		bool ports = any_port ? e->lo == 0 && e->hi == 65535
				      : port >= e->lo && port <= e->hi;
		if (ports && sa_eq_addr(&e->addr, s))
			return true;
	}
	return false;
}

/* Denied by the default list unless an allow range or the loopback
 * switch covers this form. */
static bool policy_default_denies(const struct peer_policy *p,
				  const struct sa *s)
{
	if (!policy_in_defaults(s))
		return false;
	if (p && p->loopback && policy_is_loopback(s))
		return false;
	return !(p && policy_in_vec(&p->allow, s));
}

/* Every form of the peer must pass, so an allowed or public wrapper
 * cannot smuggle a denied IPv4 address inside it. */
static int policy_check(const struct peer_policy *p, const struct sa *peer,
			bool any_port)
{
	struct sa forms[POLICY_FORMS_MAX];

	if (!peer || (sa_af(peer) != AF_INET && sa_af(peer) != AF_INET6))
		return EPERM;
	size_t n = policy_forms(peer, forms);
	for (size_t i = 0; i < n; i++) {
		if (p && (policy_is_self(p, &forms[i], any_port) ||
			  policy_in_vec(&p->deny, &forms[i])))
			return EPERM;
		if (policy_default_denies(p, &forms[i]))
			return EPERM;
	}
	return 0;
}

int peer_policy_check(const struct peer_policy *p, const struct sa *peer)
{
	return policy_check(p, peer, false);
}

int peer_policy_check_ip(const struct peer_policy *p, const struct sa *peer)
{
	return policy_check(p, peer, true);
}
