/* STUN and TURN URIs: scheme ":" host [":" port] ["?transport=" t]
 * (RFC 7064 3.1, RFC 7065 3.1). Default ports 3478, or 5349 for the
 * secure schemes; turn: without a transport is UDP, turns: is TLS. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"

static const char *url_scheme(const char *url, bool *secure, bool *turn)
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
			*turn = tab[i].turn;
			return url + n;
		}
	}
	return NULL;
}

/* host part up to the port or query; brackets stripped from IPv6. */
static int url_host(const char *p, char *host, size_t hostsz, const char **rest)
{
	const char *end;
	if (*p == '[') {
		end = strchr(p, ']');
		if (!end)
			return EINVAL;
		p++;
		*rest = end + 1;
	} else {
		end = p + strcspn(p, ":?");
		*rest = end;
	}
	size_t n = (size_t)(end - p);
	if (n == 0 || n >= hostsz)
		return EINVAL;
	memcpy(host, p, n);
	host[n] = '\0';
	return 0;
}

static int url_port(const char *p, uint16_t *port, const char **rest)
{
	char *end;
	if (*p != ':') {
		*rest = p;
		return 0;
	}
	unsigned long v = strtoul(p + 1, &end, 10);
	if (end == p + 1 || v == 0 || v > 65535)
		return EINVAL;
	*port = (uint16_t)v;
	*rest = end;
	return 0;
}

int api_url_parse(const char *url, char *host, size_t hostsz, uint16_t *port,
		  enum api_transport *t)
{
	bool secure, turn;
	const char *p = url_scheme(url, &secure, &turn), *rest;
	if (!p || url_host(p, host, hostsz, &rest) != 0)
		return EINVAL;
	*port = secure ? 5349 : 3478;
	if (url_port(rest, port, &rest) != 0)
		return EINVAL;
	*t = secure ? API_T_TLS : API_T_UDP;
	if (*rest == '\0')
		return 0;
	if (!turn)
		return EINVAL; /* STUN URIs carry no query (RFC 7064) */
	if (strcmp(rest, "?transport=udp") == 0 && !secure)
		*t = API_T_UDP;
	else if (strcmp(rest, "?transport=tcp") == 0)
		*t = secure ? API_T_TLS : API_T_TCP;
	else
		return EINVAL;
	return 0;
}
