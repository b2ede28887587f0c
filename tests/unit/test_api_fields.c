/* Unit tests for how the API's JSON bodies name what they refuse
 * (api_admin_json.c, api_body.c): an unknown key or a bad value at any
 * nesting level is named by its whole path ("features.fooBar",
 * "servers[1].urlz"), never by a neighbouring field. A review found an
 * unknown key in features or rateLimit named as another field. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "api/api_admin.h"
#include "api/api_int.h"

enum body_kind { CREATE, PATCH, TURN };

struct field_case {
	enum body_kind kind;
	const char *json;
	int err;          /* ENOENT: unknown key (400); EINVAL: bad value (422) */
	const char *path; /* the field as the API names it */
};

static const struct field_case cases[] = {
	/* Unknown keys, at every level. */
	{PATCH, "{\"features\":{\"fooBar\":true}}", ENOENT, "features.fooBar"},
	{PATCH, "{\"features\":{\"configurableTurn\":true,\"fooBar\":1}}", ENOENT,
	 "features.fooBar"},
	{PATCH, "{\"rateLimit\":{\"perSec\":5}}", ENOENT, "rateLimit.perSec"},
	{PATCH, "{\"rateLimit\":{\"perSecond\":5,\"brust\":9}}", ENOENT,
	 "rateLimit.brust"},
	{PATCH, "{\"userRateLimit\":{\"burst\":5,\"x\":null}}", ENOENT,
	 "userRateLimit.x"},
	{CREATE, "{\"name\":\"a\",\"rateLimit\":{\"PerSecond\":5}}", ENOENT,
	 "rateLimit.PerSecond"},
	{PATCH, "{\"maxTTL\":600}", ENOENT, "maxTTL"},
	{PATCH, "{\"turn\":{\"mode\":\"platform\"}}", ENOENT, "turn"},
	{TURN, "{\"mode\":\"fallback\",\"proxy\":true}", ENOENT, "proxy"},
	{TURN, "{\"mode\":\"fallback\",\"servers\":[{\"urls\":[\"stun:a\"]},"
	       "{\"urlz\":[\"stun:b\"]}]}", ENOENT, "servers[1].urlz"},
	{TURN, "{\"mode\":\"fallback\",\"servers\":[{\"urls\":[\"stun:a\"],"
	       "\"password\":\"x\"}]}", ENOENT, "servers[0].password"},
	/* Values of the wrong JSON type: strings, arrays, null, booleans
	 * for numbers and numbers for booleans. */
	{PATCH, "{\"features\":\"on\"}", EINVAL, "features"},
	{PATCH, "{\"features\":[true]}", EINVAL, "features"},
	{PATCH, "{\"features\":null}", EINVAL, "features"},
	{PATCH, "{\"features\":{\"configurableTurn\":1}}", EINVAL,
	 "features.configurableTurn"},
	{PATCH, "{\"features\":{\"configurableTurn\":null}}", EINVAL,
	 "features.configurableTurn"},
	{PATCH, "{\"rateLimit\":5}", EINVAL, "rateLimit"},
	{PATCH, "{\"rateLimit\":[5,10]}", EINVAL, "rateLimit"},
	{PATCH, "{\"userRateLimit\":null}", EINVAL, "userRateLimit"},
	{PATCH, "{\"rateLimit\":{\"perSecond\":true}}", EINVAL,
	 "rateLimit.perSecond"},
	{PATCH, "{\"rateLimit\":{\"burst\":\"9\"}}", EINVAL, "rateLimit.burst"},
	{PATCH, "{\"rateLimit\":{\"burst\":1.5}}", EINVAL, "rateLimit.burst"},
	{PATCH, "{\"userRateLimit\":{\"perSecond\":-1}}", EINVAL,
	 "userRateLimit.perSecond"},
	{PATCH, "{\"userRateLimit\":{\"burst\":4294967296}}", EINVAL,
	 "userRateLimit.burst"},
	{PATCH, "{\"maxTtl\":true}", EINVAL, "maxTtl"},
	{PATCH, "{\"defaultTtl\":null}", EINVAL, "defaultTtl"},
	{PATCH, "{\"status\":false}", EINVAL, "status"},
	{PATCH, "{\"issuer\":[\"a\"]}", EINVAL, "issuer"},
	{PATCH, "{\"name\":\"b\"}", EINVAL, "name"},
	{PATCH, "[]", EINVAL, "body"},
	{TURN, "{\"mode\":1}", EINVAL, "mode"},
	{TURN, "{\"mode\":\"override\",\"iceTransportPolicy\":true}", EINVAL,
	 "iceTransportPolicy"},
	{TURN, "{\"mode\":\"fallback\",\"servers\":{}}", EINVAL, "servers"},
	{TURN, "{\"mode\":\"fallback\",\"servers\":[{\"urls\":[\"stun:a\"]},"
	       "\"stun:b\"]}", EINVAL, "servers[1]"},
	{TURN, "{\"mode\":\"fallback\",\"servers\":[{\"urls\":\"stun:a\"}]}",
	 EINVAL, "servers[0].urls"},
	{TURN, "{\"mode\":\"fallback\",\"servers\":[{\"urls\":[\"stun:a\",7]}]}",
	 EINVAL, "servers[0].urls[1]"},
	{TURN, "{\"mode\":\"fallback\",\"servers\":[{\"urls\":[\"stun:a\"]},"
	       "{\"urls\":[null]}]}", EINVAL, "servers[1].urls[0]"},
	{TURN, "{\"mode\":\"fallback\",\"servers\":[{\"urls\":[\"turn:a\"],"
	       "\"secret\":null}]}", EINVAL, "servers[0].secret"},
	/* Empty objects change nothing (a PATCH merges what it is given). */
	{PATCH, "{}", 0, NULL},
	{PATCH, "{\"features\":{},\"rateLimit\":{},\"userRateLimit\":{}}", 0,
	 NULL},
	{PATCH, "{\"rateLimit\":{\"perSecond\":0}}", 0, NULL},
};

/* Apply c's body to an account and write the refused field's path
 * into path (while the body, which the path may point into, lives). */
static int apply(const struct field_case *c, char *path, size_t sz)
{
	static struct store_server tmp[STORE_SERVERS_MAX];
	struct admin_field f = {NULL, NULL};
	struct store_account a;
	json_error_t jerr;
	json_t *body = json_loads(c->json, JSON_REJECT_DUPLICATES, &jerr);
	if (!body)
		fail_msg("case %s does not parse: %s", c->json, jerr.text);
	store_account_init(&a, "acme");
	a.configurable_turn = true;
	int err = c->kind == TURN ? admin_turn_apply(body, &a, tmp, &f)
		  : admin_account_apply(body, &a, c->kind == CREATE, &f);
	snprintf(path, sz, "%s%s%s", f.in ? f.in : "", f.in ? "." : "",
		 f.name ? f.name : "(none)");
	json_decref(body);
	return err;
}

static void test_field_paths(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct field_case *c = &cases[i];
		char path[256];
		int err = apply(c, path, sizeof(path));
		if (err != c->err)
			fail_msg("%s: error %d, want %d (%s)", c->json, err,
				 c->err, path);
		if (c->path && strcmp(path, c->path) != 0)
			fail_msg("%s: names %s, want %s", c->json, path, c->path);
	}
}

/* The ttl body of POST /v1/ice-servers names an unknown key, and a
 * duplicate one (jansson's reason), in its 400 message. */
static void test_ttl_names_key(void **state)
{
	(void)state;
	static const struct {
		const char *body, *want;
	} bad[] = {
		{"{\"ttl\":600,\"tll\":5}", ": tll"},
		{"{\"user\":\"x\"}", ": user"},
		{"{\"ttl\":1,\"ttl\":2}", "duplicate object key near '\"ttl\"'"},
		{"{\"ttl\":", "body is not valid JSON: "},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char msg[API_BODY_MSG_MAX];
		uint32_t ttl;
		assert_int_equal(api_body_ttl("application/json", bad[i].body,
					      strlen(bad[i].body), &ttl, msg),
				 EINVAL);
		if (!strstr(msg, bad[i].want))
			fail_msg("%s: message %s, want %s", bad[i].body, msg,
				 bad[i].want);
	}
}

/* A duplicate key deep inside an admin body is named too. */
static void test_json_parse_duplicate(void **state)
{
	(void)state;
	const char *b = "{\"rateLimit\":{\"perSecond\":1,\"perSecond\":2}}";
	char msg[API_BODY_MSG_MAX];
	assert_null(api_json_parse(b, strlen(b), msg));
	assert_non_null(strstr(msg, "duplicate object key near '\"perSecond\"'"));
	json_t *j = api_json_parse(NULL, 0, msg);
	assert_null(j);
	assert_non_null(strstr(msg, "body is not valid JSON"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_field_paths),
		cmocka_unit_test(test_ttl_names_key),
		cmocka_unit_test(test_json_parse_duplicate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
