/* Blocked end users of an account (docs/api.md, "Blocking a user"). A
 * block stops new credentials for (account, sub) here, and the TURN side
 * of this daemon refuses the ones already minted and ends their
 * allocations (server/blocks.c).
 *
 *   GET    .../accounts/{name}/blocks         {"blocks":[...]}
 *   POST   .../accounts/{name}/blocks         {"sub":"..."}: 201, 200 if
 *                                             it was blocked already
 *   GET    .../accounts/{name}/blocks/{sub}   the block, or 404
 *   DELETE .../accounts/{name}/blocks/{sub}   204, or 404
 *   DELETE .../accounts/{name}/blocks?sub=S   the same, for a sub that
 *                                             holds a '/' */
#include <errno.h>
#include <string.h>

#include <microhttpd.h>

#include "api/api_admin.h"

static json_t *block_json(const struct store_block *b)
{
	return json_pack("{s:s,s:s,s:I}", "account", b->account, "sub", b->sub,
			 "created", (json_int_t)b->created);
}

/* The block as the directory now has it (after admin_write's refresh). */
static int reply_block(struct api_req *r, unsigned status, const char *account,
		       const char *sub)
{
	struct api_dir *d = api_dir_get(r->api);
	const struct store_block *b = d ? store_snap_block(d->snap, account, sub)
					: NULL;
	bool acct = d && store_snap_account(d->snap, account);
	int rc = b ? api_reply_json(r, status, block_json(b))
		   : admin_store_err(r, ENOENT, acct ? "block" : "account");
	api_dir_put(d);
	return rc;
}

static int blocks_list(struct api_req *r, const char *account)
{
	struct api_dir *d = api_dir_get(r->api);
	if (!d || !store_snap_account(d->snap, account)) {
		api_dir_put(d);
		return admin_store_err(r, ENOENT, "account");
	}
	json_t *v = json_array();
	for (size_t i = 0; v && i < d->snap->nblocks; i++)
		if (strcmp(d->snap->blocks[i].account, account) == 0)
			json_array_append_new(v, block_json(&d->snap->blocks[i]));
	api_dir_put(d);
	return api_reply_json(r, MHD_HTTP_OK, json_pack("{s:o}", "blocks", v));
}

struct block_ref {
	const char *account, *sub;
};

static int op_block_add(struct store *s, void *arg)
{
	struct block_ref *b = arg;
	return store_block_add(s, b->account, b->sub);
}

static int op_block_rm(struct store *s, void *arg)
{
	struct block_ref *b = arg;
	return store_block_remove(s, b->account, b->sub);
}

/* {"sub":"..."} and nothing else. */
static int blocks_add(struct api_req *r, const char *account)
{
	int rc = 0;
	json_t *j = admin_body(r, &rc);
	if (!j)
		return rc;
	json_t *sub = json_object_get(j, "sub");
	const char *extra = NULL, *k;
	json_t *v;
	json_object_foreach(j, k, v)
		if (strcmp(k, "sub") != 0)
			extra = k;
	if (extra) {
		char msg[96];
		snprintf(msg, sizeof(msg), "unknown field: %.64s", extra);
		rc = api_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_request", msg);
	} else if (!json_is_string(sub)) {
		rc = api_reply_error(r, MHD_HTTP_UNPROCESSABLE_CONTENT,
				     "invalid_field", "invalid field: sub");
	} else {
		struct block_ref b = {account, json_string_value(sub)};
		int err = admin_write(r->api, op_block_add, &b);
		if (err == EINVAL)
			rc = api_reply_error(r, MHD_HTTP_UNPROCESSABLE_CONTENT,
					     "invalid_field", "invalid field: sub");
		else if (err && err != EEXIST)
			rc = admin_store_err(r, err, "account");
		else /* blocking twice changes nothing: 200 */
			rc = reply_block(r, err ? MHD_HTTP_OK : MHD_HTTP_CREATED,
					 account, b.sub);
	}
	json_decref(j);
	return rc;
}

static int blocks_remove(struct api_req *r, const char *account, const char *sub)
{
	if (!sub)
		sub = admin_query(r, "sub");
	if (!sub || !*sub)
		return api_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_request",
				       "which sub: .../blocks/{sub} or ?sub=");
	struct block_ref b = {account, sub};
	int err = admin_write(r->api, op_block_rm, &b);
	return err ? admin_store_err(r, err, "block")
		   : api_reply_json(r, MHD_HTTP_NO_CONTENT, NULL);
}

int admin_blocks(struct api_req *r, const char *account, const char *sub,
		 const char *m)
{
	if (strcmp(m, "DELETE") == 0)
		return blocks_remove(r, account, sub);
	if (sub && strcmp(m, "GET") == 0)
		return reply_block(r, MHD_HTTP_OK, account, sub);
	if (!sub && strcmp(m, "GET") == 0)
		return blocks_list(r, account);
	if (!sub && strcmp(m, "POST") == 0)
		return blocks_add(r, account);
	return api_reply_error_h(r, MHD_HTTP_METHOD_NOT_ALLOWED,
				 "method_not_allowed", "method not allowed",
				 "Allow", sub ? "GET, DELETE" : "GET, POST, DELETE");
}
