/* Account <-> JSON for the admin API. Output never carries a secret: TURN
 * credentials and shared secrets print as "(redacted)", JWT key material
 * not at all. Input is strict: unknown fields are refused, so a typo is
 * an error instead of a silently ignored setting. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/api_admin.h"

#define REDACTED STORE_REDACTED

static json_t *server_json(const struct store_server *s)
{
	json_t *urls = json_array();
	for (unsigned j = 0; j < s->nurls; j++)
		json_array_append_new(urls, json_string(s->urls[j]));
	json_t *o = json_pack("{s:o}", "urls", urls);
	if (s->secret[0])
		json_object_set_new(o, "secret", json_string(REDACTED));
	if (s->username[0]) {
		json_object_set_new(o, "username", json_string(s->username));
		json_object_set_new(o, "credential", json_string(REDACTED));
	}
	return o;
}

json_t *admin_turn_json(const struct store_account *a)
{
	json_t *servers = json_array();
	for (unsigned i = 0; i < a->nservers; i++)
		json_array_append_new(servers, server_json(&a->servers[i]));
	return json_pack("{s:s,s:s,s:o}", "mode", store_turn_mode_str(a->mode),
			 "iceTransportPolicy", a->relay_only ? "relay" : "all",
			 "servers", servers);
}

json_t *admin_keys_json(const struct store_snap *snap, const char *account)
{
	json_t *keys = json_array();
	for (size_t i = 0; snap && i < snap->nkeys; i++) {
		const struct store_key *k = &snap->keys[i];
		if (strcmp(k->account, account) == 0)
			json_array_append_new(keys, json_pack("{s:s,s:s,s:I}",
				"kid", k->kid, "alg", k->alg, "created",
				(json_int_t)k->created));
	}
	return keys;
}

void *api_account_json(const struct store_account *a,
		       const struct store_snap *snap)
{
	return admin_account_json(a, snap);
}

json_t *admin_account_json(const struct store_account *a,
			   const struct store_snap *snap)
{
	return json_pack("{s:s,s:s,s:{s:b},s:i,s:i,s:{s:I,s:I},s:{s:I,s:I},s:s,s:o,s:o,s:I}",
		"name", a->name, "status", a->disabled ? "disabled" : "active",
		"features", "configurableTurn", a->configurable_turn,
		"defaultTtl", (int)a->default_ttl, "maxTtl", (int)a->max_ttl,
		"rateLimit", "perSecond", (json_int_t)a->rate_per_s, "burst",
		(json_int_t)a->rate_burst, "userRateLimit", "perSecond",
		(json_int_t)a->user_rate_per_s, "burst",
		(json_int_t)a->user_rate_burst, "issuer", a->issuer, "turn",
		admin_turn_json(a), "keys", admin_keys_json(snap, a->name),
		"created", (json_int_t)a->created);
}

static int get_u32(json_t *v, uint32_t *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > (json_int_t)UINT32_MAX)
		return EINVAL;
	*out = (uint32_t)json_integer_value(v);
	return 0;
}

static int get_str(json_t *v, char *out, size_t sz)
{
	const char *s = json_string_value(v);
	if (!s || strlen(s) >= sz)
		return EINVAL;
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

/* Name a field by its whole path (a static string). */
static void field_at(struct admin_field *f, const char *path)
{
	f->in = NULL;
	f->name = path;
}

/* An unknown key k of the object at path in (NULL: the body itself). */
static int field_unknown(struct admin_field *f, const char *in, const char *k)
{
	f->in = in;
	f->name = k;
	return ENOENT;
}

static int apply_status(json_t *v, struct store_account *a)
{
	const char *s = json_string_value(v);
	if (!s || (strcmp(s, "active") && strcmp(s, "disabled")))
		return EINVAL;
	a->disabled = strcmp(s, "disabled") == 0;
	return 0;
}

static int apply_features(json_t *v, struct store_account *a,
			  struct admin_field *f)
{
	const char *k;
	json_t *x;
	if (!json_is_object(v))
		return EINVAL;
	json_object_foreach(v, k, x) {
		if (strcmp(k, "configurableTurn") != 0)
			return field_unknown(f, "features", k);
		field_at(f, "features.configurableTurn");
		if (!json_is_boolean(x))
			return EINVAL;
		a->configurable_turn = json_is_true(x);
	}
	return 0;
}

/* rateLimit or userRateLimit: {perSecond, burst} into rate[0], rate[1];
 * names[] are the object's path and its fields' (static: *f outlives v). */
static int apply_rate(json_t *v, uint32_t *rate[2], const char *const names[3],
		      struct admin_field *f)
{
	const char *k;
	json_t *x;
	if (!json_is_object(v))
		return EINVAL;
	json_object_foreach(v, k, x) {
		unsigned i = strcmp(k, "perSecond") == 0 ? 0
			     : strcmp(k, "burst") == 0   ? 1 : 2;
		if (i == 2)
			return field_unknown(f, names[0], k);
		field_at(f, names[i + 1]);
		if (get_u32(x, rate[i]))
			return EINVAL;
	}
	return 0;
}

/* One field of an account object. EINVAL or ENOENT with *f naming it. */
static int apply_field(const char *k, json_t *v, struct store_account *a,
		       bool create, struct admin_field *f)
{
	field_at(f, k);
	if (strcmp(k, "name") == 0)
		return create ? get_str(v, a->name, sizeof(a->name)) : EINVAL;
	if (strcmp(k, "status") == 0)
		return apply_status(v, a);
	if (strcmp(k, "features") == 0)
		return apply_features(v, a, f);
	if (strcmp(k, "defaultTtl") == 0)
		return get_u32(v, &a->default_ttl);
	if (strcmp(k, "maxTtl") == 0)
		return get_u32(v, &a->max_ttl);
	if (strcmp(k, "rateLimit") == 0) {
		static const char *const n[3] = {"rateLimit", "rateLimit.perSecond",
						 "rateLimit.burst"};
		return apply_rate(v, (uint32_t *[2]){&a->rate_per_s, &a->rate_burst}, n, f);
	}
	if (strcmp(k, "userRateLimit") == 0) {
		static const char *const n[3] = {"userRateLimit", "userRateLimit.perSecond",
						 "userRateLimit.burst"};
		return apply_rate(v, (uint32_t *[2]){&a->user_rate_per_s,
						     &a->user_rate_burst}, n, f);
	}
	if (strcmp(k, "issuer") == 0)
		return get_str(v, a->issuer, sizeof(a->issuer));
	return field_unknown(f, NULL, k);
}

int admin_account_apply(json_t *body, struct store_account *a, bool create,
			struct admin_field *f)
{
	const char *k;
	json_t *v;
	field_at(f, "body");
	if (!json_is_object(body))
		return EINVAL;
	json_object_foreach(body, k, v) {
		int err = apply_field(k, v, a, create, f);
		if (err)
			return err;
	}
	return 0;
}

/* urls of server i: an array of at most STORE_URLS_MAX strings. */
static int server_urls_apply(json_t *v, size_t i, struct store_server *s,
			     struct admin_field *f)
{
	json_t *u;
	size_t j;
	field_at(f, store_srv_field((unsigned)i, STORE_SRV_URLS));
	if (!json_is_array(v) || json_array_size(v) > STORE_URLS_MAX)
		return EINVAL;
	json_array_foreach(v, j, u) {
		field_at(f, store_srv_field((unsigned)i, STORE_SRV_URL0 + j));
		if (get_str(u, s->urls[s->nurls++], STORE_URL_MAX))
			return EINVAL;
	}
	return 0;
}

/* Server number i; *f names the bad value as "servers[i].secret". */
static int server_apply(json_t *o, size_t i, struct store_server *s,
			struct admin_field *f)
{
	static const char *const keys[] = {"urls", "username", "credential",
					   "secret"};
	static const enum store_srv_field fields[] = {
		STORE_SRV_URLS, STORE_SRV_USERNAME, STORE_SRV_CREDENTIAL,
		STORE_SRV_SECRET};
	char *dst[] = {NULL, s->username, s->credential, s->secret};
	const char *k;
	json_t *v;
	memset(s, 0, sizeof(*s));
	field_at(f, store_srv_field((unsigned)i, STORE_SRV_SELF));
	if (!json_is_object(o))
		return EINVAL;
	json_object_foreach(o, k, v) {
		size_t n = 0;
		while (n < 4 && strcmp(k, keys[n]) != 0)
			n++;
		if (n == 4)
			return field_unknown(f, store_srv_field((unsigned)i,
								STORE_SRV_SELF), k);
		field_at(f, store_srv_field((unsigned)i, fields[n]));
		if (n == 0 ? server_urls_apply(v, i, s, f)
			   : get_str(v, dst[n], STORE_CRED_MAX))
			return EINVAL;
	}
	return 0;
}

static int turn_servers_apply(json_t *v, struct store_account *a,
			      struct store_server *tmp, struct admin_field *f)
{
	json_t *o;
	size_t i;
	field_at(f, "servers");
	if (!json_is_array(v) || json_array_size(v) > STORE_SERVERS_MAX)
		return EINVAL;
	json_array_foreach(v, i, o) {
		int err = server_apply(o, i, &tmp[i], f);
		if (err)
			return err;
	}
	a->servers = tmp;
	a->nservers = (unsigned)json_array_size(v);
	return 0;
}

static int turn_policy_apply(json_t *v, struct store_account *a)
{
	const char *s = json_string_value(v);
	if (!s || (strcmp(s, "all") && strcmp(s, "relay")))
		return EINVAL;
	a->relay_only = strcmp(s, "relay") == 0;
	return 0;
}

int admin_turn_apply(json_t *body, struct store_account *a,
		     struct store_server tmp[STORE_SERVERS_MAX],
		     struct admin_field *f)
{
	const char *k;
	json_t *v;
	field_at(f, "body");
	if (!json_is_object(body))
		return EINVAL;
	/* PUT replaces the policy as a whole: what the body leaves out
	 * takes its default (iceTransportPolicy all, no servers), never the
	 * old value; mode is required. */
	a->relay_only = false;
	a->nservers = 0;
	a->servers = NULL;
	field_at(f, "mode");
	if (!json_is_string(json_object_get(body, "mode")))
		return EINVAL;
	json_object_foreach(body, k, v) {
		int err = 0;
		field_at(f, k);
		if (strcmp(k, "mode") == 0)
			err = store_turn_mode_parse(json_string_value(v), &a->mode);
		else if (strcmp(k, "iceTransportPolicy") == 0)
			err = turn_policy_apply(v, a);
		else if (strcmp(k, "servers") == 0)
			err = turn_servers_apply(v, a, tmp, f);
		else
			err = field_unknown(f, NULL, k);
		if (err)
			return err;
	}
	return 0;
}
