/* The ICE-servers HTTP API (libmicrohttpd): POST /v1/ice-servers, the
 * admin API, /v1/ip-ranges, /healthz, /metrics and the demo page. */
#ifndef TS_API_H
#define TS_API_H
#include <stddef.h>

/* Files compiled into the binary by scripts/embed.cmake. */
struct api_asset {
	const char *name;
	const unsigned char *data;
	size_t len;
};
extern const struct api_asset api_assets[];
const struct api_asset *api_asset_find(const char *name);

#endif
