/* STUN and TURN URIs (RFC 7064 3.1, RFC 7065 3.1), strictly: what
 * Chromium and Firefox accept in RTCIceServer.urls and nothing more. */
#include "util/iceurl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

static const char *iceurl_scheme(const char *url, struct iceurl *u,
				 bool *secure)
{
	static const struct {
		const char *s;
		bool secure, turn;
	} tab[] = {{"stun:", false, false}, {"stuns:", true, false},
		   {"turn:", false, true},  {"turns:", true, true}};
	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		size_t n = strlen(tab[i].s);
		if (strncmp(url, tab[i].s, n) == 0) {
			*secure = tab[i].secure;
			u->turn = tab[i].turn;
			return url + n;
		}
	}
	return NULL;
}

/* A DNS name or dotted IPv4 address: non-empty labels of letters, digits
 * and '-' (RFC 1123 2.1); all digits and dots must be a valid IPv4. */
static bool iceurl_name_ok(const char *h)
{
	struct in_addr a4;
	size_t label = 0;
	bool alpha = false;
	for (const char *p = h; *p; p++) {
		char c = *p;
		if (c == '.') {
			if (label == 0 || p[-1] == '-')
				return false;
			label = 0;
			continue;
		}
		bool digit = c >= '0' && c <= '9';
		bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
		if (!digit && !letter && c != '-')
			return false;
		if (c == '-' && label == 0)
			return false;
		alpha |= !digit;
		if (++label > 63)
			return false;
	}
	if (label == 0 || h[strlen(h) - 1] == '-')
		return false; /* empty, a trailing '.' or '-' */
	return alpha || inet_pton(AF_INET, h, &a4) == 1;
}

/* Host up to the port or query; brackets stripped from IPv6. */
static int iceurl_host(const char *p, struct iceurl *u, const char **rest)
{
	const char *end;
	bool v6 = *p == '[';
	if (v6) {
		end = strchr(++p, ']');
		if (!end)
			return EINVAL;
		*rest = end + 1;
	} else {
		end = p + strcspn(p, ":?");
		*rest = end;
	}
	size_t n = (size_t)(end - p);
	if (n == 0 || n >= sizeof(u->host))
		return EINVAL;
	memcpy(u->host, p, n);
	u->host[n] = '\0';
	struct in6_addr a6;
	if (v6)
		return inet_pton(AF_INET6, u->host, &a6) == 1 ? 0 : EINVAL;
	return iceurl_name_ok(u->host) ? 0 : EINVAL;
}

/* ":" 1*5DIGIT, 1..65535; plain digits only (no sign, no space). */
static int iceurl_port(const char *p, struct iceurl *u, const char **rest)
{
	unsigned long v = 0;
	size_t n = 0;
	*rest = p;
	if (*p != ':')
		return 0;
	for (p++; p[n] >= '0' && p[n] <= '9' && n < 6; n++)
		v = v * 10 + (unsigned long)(p[n] - '0');
	if (n == 0 || n > 5 || v == 0 || v > 65535)
		return EINVAL;
	u->port = (uint16_t)v;
	*rest = p + n;
	return 0;
}

int iceurl_parse(const char *url, struct iceurl *u)
{
	bool secure;
	const char *p, *rest;
	memset(u, 0, sizeof(*u));
	p = url ? iceurl_scheme(url, u, &secure) : NULL;
	if (!p || iceurl_host(p, u, &rest) != 0)
		return EINVAL;
	u->port = secure ? 5349 : 3478;
	if (iceurl_port(rest, u, &rest) != 0)
		return EINVAL;
	u->transport = secure ? ICEURL_TLS : ICEURL_UDP;
	if (*rest == '\0')
		return 0;
	if (!u->turn)
		return EINVAL; /* STUN URIs carry no query (RFC 7064 3.1) */
	if (strcmp(rest, "?transport=udp") == 0 && !secure)
		return 0;
	if (strcmp(rest, "?transport=tcp") == 0) {
		u->transport = secure ? ICEURL_TLS : ICEURL_TCP;
		return 0;
	}
	return EINVAL;
}
