/* STUN and TURN URIs for the API (health probes, platform servers): a
 * thin mapping of util/iceurl.c, the one parser the store uses too. */
#include <errno.h>
#include <string.h>

#include "api/api.h"
#include "util/iceurl.h"

int api_url_parse(const char *url, char *host, size_t hostsz, uint16_t *port,
		  enum api_transport *t)
{
	struct iceurl u;
	if (iceurl_parse(url, &u) != 0 || strlen(u.host) >= hostsz)
		return EINVAL;
	memcpy(host, u.host, strlen(u.host) + 1);
	*port = u.port;
	*t = u.transport == ICEURL_UDP ? API_T_UDP
	     : u.transport == ICEURL_TCP ? API_T_TCP : API_T_TLS;
	return 0;
}
