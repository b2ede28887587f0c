/* The PROXY protocol header (HAProxy's, versions 1 and 2) that a TCP
 * load balancer puts before a client's stream on tcp-proxy-port: the
 * client's own address, which the balancer would otherwise hide behind
 * its own. Pure: bytes in, an address out. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "net/net_int.h"
#include "util/bytes.h"

static const uint8_t v2_sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
				   0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

#define V1_MAX 107 /* the longest version 1 line, CRLF included */

/* Version 2: signature, version and command, family and protocol, the
 * length of what follows (addresses, then TLVs, which are skipped). */
static int proxy_v2(const uint8_t *b, size_t n, struct sa *src, size_t *used)
{
	if (n < 16)
		return EAGAIN;
	size_t len = get_be16(b + 14);
	uint8_t cmd = b[12] & 0x0F, fam = b[13];
	if ((b[12] >> 4) != 2 || cmd > 1)
		return EBADMSG;
	if (16 + len > NET_PROXY_HDR_MAX)
		return EBADMSG;
	if (n < 16 + len)
		return EAGAIN;
	*used = 16 + len;
	/* LOCAL (the balancer's own health check), or a family other than
	 * TCP over IPv4/IPv6: the connection's own address stands. */
	if (cmd == 0 || (fam != 0x11 && fam != 0x21))
		return 0;
	size_t alen = fam == 0x11 ? 12 : 36;
	if (len < alen)
		return EBADMSG;
	const uint8_t *p = b + 16;
	size_t ip = fam == 0x11 ? 4 : 16;
	sa_set_raw(src, fam == 0x11 ? AF_INET : AF_INET6, p,
		   get_be16(p + 2 * ip));
	return 0;
}

/* Version 1: "PROXY TCP4|TCP6 src dst sport dport\r\n" or
 * "PROXY UNKNOWN ...\r\n". */
static int proxy_v1(const uint8_t *b, size_t n, struct sa *src, size_t *used)
{
	const uint8_t *crlf = NULL;
	for (size_t i = 0; i + 1 < n && i + 2 <= V1_MAX; i++)
		if (b[i] == '\r' && b[i + 1] == '\n') {
			crlf = b + i;
			break;
		}
	if (!crlf)
		return n >= V1_MAX ? EBADMSG : EAGAIN;
	char line[V1_MAX + 1], fam[8], s[48], d[48];
	size_t llen = (size_t)(crlf - b);
	memcpy(line, b, llen);
	line[llen] = '\0';
	*used = llen + 2;
	if (strcmp(line, "PROXY UNKNOWN") == 0 || strncmp(line, "PROXY UNKNOWN ", 14) == 0)
		return 0;
	/* Ports as at most five digits: %u would take a sign and wrap. */
	char sps[6], dps[6], end;
	if (sscanf(line, "PROXY %7s %47s %47s %5[0-9] %5[0-9]%c", fam, s, d, sps, dps,
		   &end) != 5 || (strcmp(fam, "TCP4") && strcmp(fam, "TCP6")))
		return EBADMSG;
	unsigned long sp = strtoul(sps, NULL, 10), dp = strtoul(dps, NULL, 10);
	if (sp > 65535 || dp > 65535)
		return EBADMSG;
	struct sa a;
	if (sa_set_str(&a, s, (uint16_t)sp) != 0 ||
	    sa_af(&a) != (fam[3] == '4' ? AF_INET : AF_INET6))
		return EBADMSG;
	*src = a;
	return 0;
}

int net_proxy_parse(const uint8_t *b, size_t n, struct sa *src, size_t *used)
{
	size_t m = n < sizeof(v2_sig) ? n : sizeof(v2_sig);
	if (memcmp(b, v2_sig, m) == 0)
		return proxy_v2(b, n, src, used);
	m = n < 6 ? n : 6;
	if (memcmp(b, "PROXY ", m) == 0)
		return proxy_v1(b, n, src, used);
	return EBADMSG;
}
