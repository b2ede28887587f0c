/* Account defaults and validation. Every write goes through
 * store_account_validate, so the file only ever holds accounts that the
 * request path can use without checking them again. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "util/iceurl.h"

#define VALID_TTL_MAX 604800 /* a week */
/* As --api-rate and --api-burst: above it a limit limits nothing, and the
 * API's JSON carries it as a 32-bit integer. */
#define VALID_RATE_MAX 1000000

static const char *const valid_modes[] = {
	[STORE_TURN_PLATFORM] = "platform",
	[STORE_TURN_OVERRIDE] = "override",
	[STORE_TURN_FALLBACK] = "fallback",
};
#define VALID_NMODES (sizeof(valid_modes) / sizeof(valid_modes[0]))

/* Field names are static strings, so *field stays valid forever and no
 * thread shares a buffer. One row per server. */
#define VALID_SRV_ROW(i)                                                   \
	{"servers[" #i "]", "servers[" #i "].urls",                        \
	 "servers[" #i "].urls[0]", "servers[" #i "].urls[1]",             \
	 "servers[" #i "].urls[2]", "servers[" #i "].urls[3]",             \
	 "servers[" #i "].username", "servers[" #i "].credential",         \
	 "servers[" #i "].secret"}
static const char *const valid_srv_names[STORE_SERVERS_MAX][STORE_SRV_NFIELDS] = {
	VALID_SRV_ROW(0), VALID_SRV_ROW(1), VALID_SRV_ROW(2), VALID_SRV_ROW(3),
};
_Static_assert(STORE_URLS_MAX == 4 && STORE_SERVERS_MAX == 4,
	       "valid_srv_names lists four servers of four urls");

const char *store_srv_field(unsigned i, enum store_srv_field f)
{
	if (i >= STORE_SERVERS_MAX || (unsigned)f >= STORE_SRV_NFIELDS)
		return "servers";
	return valid_srv_names[i][f];
}

const char *store_turn_mode_str(enum store_turn_mode m)
{
	return (unsigned)m < VALID_NMODES ? valid_modes[m] : "unknown";
}

int store_turn_mode_parse(const char *s, enum store_turn_mode *m)
{
	for (size_t i = 0; s && i < VALID_NMODES; i++) {
		if (strcmp(s, valid_modes[i]) == 0) {
			*m = (enum store_turn_mode)i;
			return 0;
		}
	}
	return EINVAL;
}

void store_account_init(struct store_account *a, const char *name)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->name, sizeof(a->name), "%s", name ? name : "");
	snprintf(a->issuer, sizeof(a->issuer), "%s", a->name);
	a->default_ttl = 86400;
	a->max_ttl = 86400;
	a->rate_per_s = 100;
	a->rate_burst = 200;
	a->user_rate_per_s = 10;
	a->user_rate_burst = 50;
	a->mode = STORE_TURN_PLATFORM;
}

void store_account_clear(struct store_account *a)
{
	if (!a)
		return;
	free(a->servers);
	a->servers = NULL;
	a->nservers = 0;
}

/* Length of a NUL-terminated string in a fixed buffer, or sz if the
 * buffer holds no NUL (then it is invalid whatever it says). */
static size_t valid_len(const char *s, size_t sz)
{
	const char *nul = memchr(s, '\0', sz);
	return nul ? (size_t)(nul - s) : sz;
}

/* Length of the UTF-8 sequence at s, of n bytes at most, or 0 if none
 * starts there: no overlong forms, surrogates or code points past
 * U+10FFFF (RFC 3629 4), as jansson checks every string it takes. */
static size_t valid_utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2
		   : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
	if (len == 0 || len > n)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f) ||
	    (c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
		return 0;
	return len;
}

/* UTF-8 without control characters (DEL included); space only when
 * allowed. UTF-8 because these go out as JSON strings: jansson refuses
 * anything else, and an answer silently lost its TURN username (the
 * browser then throws) for bytes `turnstone account` took from argv. */
static bool valid_text(const char *s, size_t sz, bool space)
{
	size_t n = valid_len(s, sz);
	if (n == sz)
		return false;
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		size_t len = valid_utf8_seq((const unsigned char *)s + i, n - i);
		if (len == 0 || c < 0x20 || c == 0x7f || (c == ' ' && !space))
			return false;
		i += len;
	}
	return true;
}

static bool valid_name(const char *s)
{
	size_t n = valid_len(s, STORE_NAME_MAX);
	if (n == 0 || n == STORE_NAME_MAX)
		return false;
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

/* A URL a browser accepts in RTCIceServer.urls (util/iceurl.c): a
 * malformed one makes new RTCPeerConnection() throw, failing every call
 * of the account; userinfo would put a password in every answer. stuns:
 * is left out: browsers do not offer it. */
static bool valid_url(const char *u)
{
	struct iceurl parsed;
	if (!valid_text(u, STORE_URL_MAX, false) || strncmp(u, "stuns:", 6) == 0)
		return false;
	return iceurl_parse(u, &parsed) == 0;
}

/* Index of the first bad url, or -1. *turn says whether any is TURN. */
static int valid_urls(const struct store_server *v, bool *turn)
{
	*turn = false;
	for (unsigned j = 0; j < v->nurls; j++) {
		if (!valid_url(v->urls[j]))
			return (int)j;
		if (strncmp(v->urls[j], "stun:", 5) != 0)
			*turn = true;
	}
	return -1;
}

/* -1, or the store_srv_field of the first bad field. */
static int valid_server(const struct store_server *v)
{
	bool turn;
	if (v->nurls == 0 || v->nurls > STORE_URLS_MAX)
		return STORE_SRV_URLS;
	int j = valid_urls(v, &turn);
	if (j >= 0)
		return STORE_SRV_URL0 + j;
	if (!valid_text(v->username, STORE_CRED_MAX, true))
		return STORE_SRV_USERNAME;
	if (!valid_text(v->credential, STORE_CRED_MAX, true))
		return STORE_SRV_CREDENTIAL;
	if (!valid_text(v->secret, STORE_CRED_MAX, true))
		return STORE_SRV_SECRET;
	/* What the admin API shows instead of a secret, sent back by a
	 * client that PUT a GET's answer: storing it would mint credentials
	 * no TURN server accepts. */
	if (strcmp(v->credential, STORE_REDACTED) == 0)
		return STORE_SRV_CREDENTIAL;
	if (strcmp(v->secret, STORE_REDACTED) == 0)
		return STORE_SRV_SECRET;
	bool user = v->username[0], cred = v->credential[0];
	bool secret = v->secret[0];
	if (user != cred)
		return user ? STORE_SRV_CREDENTIAL : STORE_SRV_USERNAME;
	/* Static or secret, not both; TURN needs one of them. */
	if ((user && secret) || (turn && !user && !secret))
		return STORE_SRV_SECRET;
	return -1;
}

static const char *valid_servers(const struct store_account *a)
{
	if (a->nservers > STORE_SERVERS_MAX || (a->nservers && !a->servers))
		return "servers";
	/* Custom servers are the paid feature. */
	if (a->nservers && !a->configurable_turn)
		return "servers";
	/* Override with no server would answer an empty iceServers: no
	 * relay at all, and never the platform's (that is the point). */
	if (a->mode == STORE_TURN_OVERRIDE && !a->nservers)
		return "servers";
	for (unsigned i = 0; i < a->nservers; i++) {
		int f = valid_server(&a->servers[i]);
		if (f >= 0)
			return valid_srv_names[i][f];
	}
	return NULL;
}

bool store_account_name_valid(const char *name)
{
	return name && strnlen(name, STORE_NAME_MAX) < STORE_NAME_MAX &&
	       valid_name(name);
}

static const char *valid_fields(const struct store_account *a)
{
	if (!valid_name(a->name))
		return "name";
	/* max_ttl first: default_ttl's range depends on it. */
	if (a->max_ttl == 0 || a->max_ttl > VALID_TTL_MAX)
		return "max_ttl";
	if (a->default_ttl == 0 || a->default_ttl > a->max_ttl)
		return "default_ttl";
	if (a->rate_per_s > VALID_RATE_MAX)
		return "rate_per_s";
	/* A limit with no burst would admit nothing at all. */
	if ((a->rate_per_s && !a->rate_burst) || a->rate_burst > VALID_RATE_MAX)
		return "rate_burst";
	if (a->user_rate_per_s > VALID_RATE_MAX)
		return "user_rate_per_s";
	if ((a->user_rate_per_s && !a->user_rate_burst) ||
	    a->user_rate_burst > VALID_RATE_MAX)
		return "user_rate_burst";
	if (!a->issuer[0] || !valid_text(a->issuer, STORE_ISSUER_MAX, true))
		return "issuer";
	if ((unsigned)a->mode >= VALID_NMODES ||
	    (a->mode != STORE_TURN_PLATFORM && !a->configurable_turn))
		return "mode";
	return valid_servers(a);
}

int store_account_validate(const struct store_account *a,
			   const char **field)
{
	const char *bad = a ? valid_fields(a) : "account";
	if (field)
		*field = bad;
	return bad ? EINVAL : 0;
}
