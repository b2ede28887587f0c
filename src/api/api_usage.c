/* GET /v1/admin/usage: the usage records of one account's ended TURN
 * allocations (issue 5), as the daemon's usage writer stored them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "api/api_admin.h"
#include "util/log.h"

#define USAGE_LIMIT_DEFAULT 1000
#define USAGE_LIMIT_MAX 10000
#define USAGE_STR_(x) #x
#define USAGE_STR(x) USAGE_STR_(x)

static const char *query_arg(struct api_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

/* A non-negative decimal, or dflt when absent; EINVAL otherwise. */
static int query_num(struct api_req *r, const char *name, int64_t dflt,
		     int64_t max, int64_t *v)
{
	const char *s = query_arg(r, name);
	*v = dflt;
	if (!s)
		return 0;
	size_t n = strlen(s);
	if (n == 0 || n > 18 || strspn(s, "0123456789") != n)
		return EINVAL;
	*v = strtoll(s, NULL, 10);
	return *v <= max ? 0 : EINVAL;
}

/* A TURN client's username is whatever bytes it sent; jansson takes only
 * UTF-8 and would drop the whole record: invalid bytes become U+FFFD,
 * as in the usage-log file. */
json_t *api_usage_json(const struct store_usage *u)
{
	char fam[8], acct[STORE_USAGE_STR * 3], uid[STORE_USAGE_STR * 3],
		user[STORE_USAGE_STR * 3], realm[STORE_USAGE_STR * 3];
	snprintf(fam, sizeof(fam), "ipv%d", u->family);
	log_utf8_clean(u->account, acct, sizeof(acct));
	log_utf8_clean(u->userid, uid, sizeof(uid));
	log_utf8_clean(u->username, user, sizeof(user));
	log_utf8_clean(u->realm, realm, sizeof(realm));
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:s}",
			 "account", acct, "user_id", uid,
			 "username", user, "realm", realm,
			 "transport", u->transport, "family", fam,
			 "start", (json_int_t)u->start, "end", (json_int_t)u->end,
			 "c2p_bytes", (json_int_t)u->c2p_bytes,
			 "c2p_packets", (json_int_t)u->c2p_packets,
			 "p2c_bytes", (json_int_t)u->p2c_bytes,
			 "p2c_packets", (json_int_t)u->p2c_packets,
			 "reason", u->reason);
}

int admin_usage(struct api_req *r)
{
	if (strcmp(r->method, "GET") != 0)
		return api_reply_error_h(r, MHD_HTTP_METHOD_NOT_ALLOWED,
					 "method_not_allowed", "method not allowed",
					 "Allow", "GET");
	const char *account = query_arg(r, "account");
	int64_t since, limit;
	const char *bad = NULL;
	if (!account || !*account || strlen(account) >= STORE_USAGE_STR)
		bad = "invalid query parameter account: required, an account name";
	else if (query_num(r, "since", 0, INT64_MAX, &since) != 0)
		bad = "invalid query parameter since: a non-negative integer "
		      "(unix time)";
	else if (query_num(r, "limit", USAGE_LIMIT_DEFAULT, USAGE_LIMIT_MAX,
			   &limit) != 0 || limit == 0)
		bad = "invalid query parameter limit: an integer from 1 to "
		      USAGE_STR(USAGE_LIMIT_MAX);
	if (bad)
		return api_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_request", bad);
	struct store_usage *recs = NULL;
	size_t n = 0;
	pthread_mutex_lock(&r->api->dir_mu);
	int err = r->api->store ? store_usage_list(r->api->store, account, since,
						   (size_t)limit, &recs, &n)
				: EIO;
	pthread_mutex_unlock(&r->api->dir_mu);
	if (err)
		return api_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE,
				       "store_unavailable",
				       "the account store is unavailable");
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, api_usage_json(&recs[i]));
	free(recs);
	return api_reply_json(r, MHD_HTTP_OK, json_pack("{s:o}", "usage", arr));
}
