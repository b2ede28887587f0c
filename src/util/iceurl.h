/* STUN and TURN URIs as browsers accept them in RTCIceServer.urls:
 * scheme ":" host [":" port] ["?transport=" udp|tcp] (RFC 7064 3.1,
 * RFC 7065 3.1). One strict parser for every layer: the store refuses a
 * custom server's URL that a browser would reject (new RTCPeerConnection
 * throws on it, failing every call of the account), and the API probes
 * and advertises only URLs that parse here. */
#ifndef TS_UTIL_ICEURL_H
#define TS_UTIL_ICEURL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum iceurl_transport { ICEURL_UDP, ICEURL_TCP, ICEURL_TLS };

struct iceurl {
	char host[256];  /* name or address, IPv6 without brackets */
	uint16_t port;   /* 3478, or 5349 for stuns:/turns:, unless given */
	enum iceurl_transport transport; /* turn: UDP unless ?transport=tcp */
	bool turn;       /* turn: or turns: (stun: and stuns: are not) */
};

/* stun:, stuns:, turn:, turns: (lower case). The host is a DNS name
 * (letters, digits, '-' and '.' in non-empty labels), a dotted IPv4
 * address, or an IPv6 address in brackets; anything else (userinfo
 * "user:pass@", a path, a fragment, a zone id, '%' escapes) is refused,
 * as are ports outside 1..65535, a query on a STUN URI and any query
 * but transport=udp|tcp (turns: takes tcp only). 0 or EINVAL. */
int iceurl_parse(const char *url, struct iceurl *u);

#endif
