/* The admin API's JSON mapping (api_admin_json.c), used by api_admin.c. */
#ifndef TS_API_ADMIN_H
#define TS_API_ADMIN_H
#include <stdbool.h>

#include "api/api_int.h"

json_t *admin_account_json(const struct store_account *a,
			   const struct store_snap *snap);
json_t *admin_turn_json(const struct store_account *a);
json_t *admin_keys_json(const struct store_snap *snap, const char *account);
/* A refused field by its JSON path, in two parts so that no buffer is
 * needed: in is the object that holds it ("rateLimit", "servers[1]"),
 * NULL at the top level, and name its key ("perSec"), or the whole path
 * when in is NULL ("rateLimit.perSecond", "servers[1].urls[0]", or a
 * store field such as "max_ttl"). Each points at a static string or
 * into the request body, so it lives as long as the body. */
struct admin_field {
	const char *in;
	const char *name;
};
/* Apply the fields of body to a. EINVAL: a bad value (or a value of the
 * wrong JSON type); ENOENT: an unknown key, at any level. *f names it
 * either way. name is settable only on create. */
int admin_account_apply(json_t *body, struct store_account *a, bool create,
			struct admin_field *f);
/* PUT .../turn: mode (required), iceTransportPolicy and servers (into
 * tmp, which a->servers then points at), replacing the old policy whole:
 * left out means "all" and no servers. Same errors as
 * admin_account_apply; a server's field reads "servers[1].urls[0]". */
int admin_turn_apply(json_t *body, struct store_account *a,
		     struct store_server tmp[STORE_SERVERS_MAX],
		     struct admin_field *f);
/* api_admin.c's helpers for the handlers in other files. */
/* 404/409/422/503 for an errno value from the store; what names it. */
int admin_store_err(struct api_req *r, int err, const char *what);
/* The JSON body, an object (duplicate keys refused), or NULL after
 * replying 400/415 (*rc). */
json_t *admin_body(struct api_req *r, int *rc);
/* fn on the store under the directory lock, then a directory refresh
 * when it succeeded (so the next request, and TURN, see it). */
int admin_write(struct api *a, int (*fn)(struct store *, void *), void *arg);
/* A query parameter's value; NULL when absent, "" when unusable. */
const char *admin_query(struct api_req *r, const char *name);
/* .../accounts/{name}/blocks[/{sub}] (api_blocks.c); sub NULL when the
 * path has none. */
int admin_blocks(struct api_req *r, const char *account, const char *sub,
		 const char *method);

/* GET /v1/admin/usage?account=X[&since=T][&limit=N] (api_usage.c). */
int admin_usage(struct api_req *r);
/* One usage record as the endpoint prints it (any bytes made UTF-8). */
json_t *api_usage_json(const struct store_usage *u);

/* Pages of GET /v1/admin/accounts?limit=N&after=NAME (api_page.c, pure). */
#define ADMIN_PAGE_DEFAULT 100
#define ADMIN_PAGE_MAX 1000
struct admin_page {
	size_t start; /* index of the page's first account in snap->accounts */
	size_t count; /* accounts on the page */
	bool more;    /* more follow: the next cursor is the last one's name */
};
/* The query's limit and after as given (NULL: absent). 0, or EINVAL
 * with *param naming the bad one ("limit", "after"). */
int admin_page_parse(const char *limit, const char *after, size_t *lim,
		     const char **param);
/* The page of at most limit accounts whose names sort after `after`
 * (NULL: from the first); snap may be NULL (an empty page). O(log n). */
void admin_page_find(const struct store_snap *snap, const char *after,
		     size_t limit, struct admin_page *pg);

#endif
