/* The small public endpoints: /v1/ip-ranges (for firewall allow-lists,
 * with an ETag so IT can poll it cheaply), /healthz and the compiled-in
 * demo page and JS client. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "api/api_int.h"

/* {"servers":[{"ip":..,"ports":[{"port":..,"transport":..}]}],
 *  "relayPorts":{"min":..,"max":..}}, one entry per distinct IP; a
 * tcp-proxy-port's port has "proxyProtocol":true. */
static json_t *ranges_json(const struct api_cfg *c)
{
	json_t *servers = json_array();
	for (unsigned i = 0; i < c->nendpoints; i++) {
		const struct api_endpoint *e = &c->endpoints[i];
		json_t *srv = NULL, *it;
		size_t k;
		json_array_foreach(servers, k, it)
			if (strcmp(json_string_value(json_object_get(it, "ip")), e->ip) == 0)
				srv = it;
		if (!srv) {
			srv = json_pack("{s:s,s:[]}", "ip", e->ip, "ports");
			json_array_append_new(servers, srv);
		}
		json_t *port = json_pack("{s:i,s:s}", "port", e->port,
					 "transport", e->transport);
		if (e->proxy)
			json_object_set_new(port, "proxyProtocol", json_true());
		json_array_append_new(json_object_get(srv, "ports"), port);
	}
	return json_pack("{s:o,s:{s:i,s:i}}", "servers", servers, "relayPorts",
			 "min", c->relay_min, "max", c->relay_max);
}

void api_etag(const char *body, char out[API_ETAG_LEN])
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a 64 */
	for (const char *p = body; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ull;
	snprintf(out, API_ETAG_LEN, "\"%016llx\"", (unsigned long long)h);
}

int api_ranges_build(struct api *a)
{
	json_t *j = ranges_json(&a->cfg);
	a->ranges_body = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!a->ranges_body)
		return ENOMEM;
	api_etag(a->ranges_body, a->ranges_etag);
	return 0;
}

int api_misc_ip_ranges(struct api_req *r)
{
	struct api *a = r->api;
	const char *inm = api_header(r, "If-None-Match");
	bool same = inm && strstr(inm, a->ranges_etag);
	struct MHD_Response *resp = same
		? MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT)
		: MHD_create_response_from_buffer(strlen(a->ranges_body),
						  a->ranges_body,
						  MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "ETag", a->ranges_etag);
	MHD_add_response_header(resp, "Cache-Control", "public, max-age=300");
	if (!same)
		MHD_add_response_header(resp, "Content-Type", "application/json");
	return api_reply(r, same ? MHD_HTTP_NOT_MODIFIED : MHD_HTTP_OK, resp);
}

int api_misc_healthz(struct api_req *r)
{
	bool ok = atomic_load(&r->api->store_ok);
	return api_reply_json(r, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
			      json_pack("{s:s,s:s}", "status", ok ? "ok" : "degraded",
					"store", ok ? "ok" : "unavailable"));
}

int api_misc_asset(struct api_req *r, const char *name, const char *ctype)
{
	const struct api_asset *as = api_asset_find(name);
	if (!as)
		return api_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found",
				       "no such asset");
	/* MHD only reads a PERSISTENT buffer; its API predates const. */
	union { const unsigned char *c; void *v; } data = {.c = as->data};
	struct MHD_Response *resp = MHD_create_response_from_buffer(
		as->len, data.v, MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", ctype);
	MHD_add_response_header(resp, "Cache-Control", "no-cache");
	/* The demo fetches only its own origin. */
	MHD_add_response_header(resp, "Content-Security-Policy",
				"default-src 'self'; script-src 'self' 'unsafe-inline'; "
				"style-src 'self' 'unsafe-inline'; img-src 'self' data:");
	return api_reply(r, MHD_HTTP_OK, resp);
}
