/* libFuzzer target for the admin API's input (api_admin_json.c, the
 * store's validation, api_page.c), without the store or HTTP:
 *  - a JSON body (parsed as admin_body does) applied as POST /accounts
 *    (a new account), as PATCH and as PUT .../turn on an account that
 *    has custom servers; whatever validates is printed back, must show
 *    every credential and secret redacted, must hold only URLs that
 *    parse, and must compose an iceServers answer;
 *  - the same body as POST .../keys: its key material checked for its alg;
 *  - an input starting with '?' is the query of GET /accounts instead:
 *    "limit\nafter", paged over a small sorted snapshot;
 *  - one starting with '!' sets an account's text fields from raw bytes,
 *    as `turnstone account` does from its arguments (no JSON, so no
 *    UTF-8 check on the way): "issuer\nusername\ncredential\nurl";
 *    what validates must be usable the same way.
 * Seeds: tests/fuzz/seeds-admin. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_admin.h"
#include "util/iceurl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every credential and secret the account's JSON shows is redacted. */
static void fz_check_redacted(json_t *acc)
{
	json_t *servers = json_object_get(json_object_get(acc, "turn"), "servers");
	json_t *s;
	size_t i;
	if (!json_is_array(servers))
		abort();
	json_array_foreach(servers, i, s) {
		const char *keys[] = {"credential", "secret"};
		for (size_t k = 0; k < 2; k++) {
			json_t *v = json_object_get(s, keys[k]);
			if (v && strcmp(json_string_value(v), STORE_REDACTED) != 0)
				abort();
		}
	}
}

/* Every TURN server in the answer comes with its credentials: a browser's
 * RTCPeerConnection constructor throws on one without. */
static void fz_check_answer(json_t *body)
{
	json_t *e, *u;
	size_t i, j;
	json_array_foreach(json_object_get(body, "iceServers"), i, e) {
		bool turn = false;
		json_array_foreach(json_object_get(e, "urls"), j, u)
			turn |= strncmp(json_string_value(u), "turn", 4) == 0;
		if (turn && (!json_is_string(json_object_get(e, "username")) ||
			     !json_is_string(json_object_get(e, "credential"))))
			abort();
	}
}

/* What would be stored: printed back, and answered from. */
static void fz_use(const struct store_account *a)
{
	struct iceurl u;
	for (unsigned i = 0; i < a->nservers; i++)
		for (unsigned j = 0; j < a->servers[i].nurls; j++)
			if (iceurl_parse(a->servers[i].urls[j], &u) != 0)
				abort();
	json_t *j = admin_account_json(a, NULL);
	if (!j)
		abort();
	fz_check_redacted(j);
	json_decref(j);

	static struct api_cfg cfg = {
		.nplatform = 1,
		.platform = {{.nurls = 2, .urls = {"turn:p.example.com", "turns:p.example.com:443?transport=tcp"},
			      .secret = "platform-secret"}},
	};
	struct api_group g[API_PLATFORM_MAX + STORE_SERVERS_MAX];
	unsigned ng = api_groups_for(&cfg, a, g, API_PLATFORM_MAX + STORE_SERVERS_MAX);
	struct api_ice_req r = {.account = a->name, .sub = "user-1",
				.ttl = a->default_ttl, .now = 1700000000,
				.relay_only = a->relay_only};
	struct api_ice_out out = {0};
	if (api_compose(g, ng, &r, NULL, NULL, &out) != 0)
		abort();
	fz_check_answer(out.body);
	json_decref(out.body);
}

static void fz_create(json_t *body)
{
	struct store_account a;
	struct admin_field field = {NULL, NULL};
	const char *name = json_string_value(json_object_get(body, "name"));
	store_account_init(&a, name && strlen(name) < STORE_NAME_MAX ? name : "");
	int err = admin_account_apply(body, &a, true, &field);
	if (!err && store_account_validate(&a, &field.name) == 0)
		fz_use(&a);
	else if (!field.name)
		abort(); /* a refusal names the field */
}

/* An account as the store hands it to a PATCH: servers on the heap. */
static void fz_existing(struct store_account *a)
{
	store_account_init(a, "acme");
	a->configurable_turn = true;
	a->mode = STORE_TURN_FALLBACK;
	a->servers = calloc(1, sizeof(*a->servers));
	if (!a->servers)
		abort();
	a->nservers = 1;
	a->servers[0].nurls = 2;
	strcpy(a->servers[0].urls[0], "turn:c.example.com");
	strcpy(a->servers[0].urls[1], "stun:c.example.com:3479");
	strcpy(a->servers[0].secret, "customer-secret");
}

static void fz_patch(json_t *body, bool turn)
{
	static struct store_server tmp[STORE_SERVERS_MAX];
	struct store_account a;
	struct admin_field field = {NULL, NULL};
	fz_existing(&a);
	struct store_server *own = a.servers;
	int err = turn ? admin_turn_apply(body, &a, tmp, &field)
		       : admin_account_apply(body, &a, false, &field);
	if (!err && store_account_validate(&a, &field.name) == 0)
		fz_use(&a);
	else if (!field.name)
		abort();
	a.servers = own;
	store_account_clear(&a);
}

static void fz_key(json_t *body)
{
	const char *alg = json_string_value(json_object_get(body, "alg"));
	const char *sec = json_string_value(json_object_get(body, "secret"));
	const char *pem = json_string_value(json_object_get(body, "publicKey"));
	enum jwt_alg a = alg ? jwt_alg_from_str(alg) : JWT_ALG_NONE;
	const char *mat = a == JWT_ALG_HS256 ? sec : pem;
	if (a != JWT_ALG_NONE && mat)
		(void)jwt_key_check_public(a, (const uint8_t *)mat, strlen(mat));
}

/* "limit\nafter" against accounts b, d, f. */
static void fz_page(const char *q)
{
	static struct store_account accs[3];
	struct store_snap snap = {.naccounts = 3, .accounts = accs};
	const char *after = strchr(q, '\n');
	char limit[32];
	size_t n = after ? (size_t)(after - q) : strlen(q);
	const char *param;
	size_t lim;
	struct admin_page pg;
	strcpy(accs[0].name, "b");
	strcpy(accs[1].name, "d");
	strcpy(accs[2].name, "f");
	if (n >= sizeof(limit))
		return;
	memcpy(limit, q, n);
	limit[n] = '\0';
	after = after ? after + 1 : NULL;
	if (admin_page_parse(n ? limit : NULL, after, &lim, &param) != 0) {
		if (!param)
			abort();
		return;
	}
	admin_page_find(&snap, after, lim, &pg);
	if (lim < 1 || lim > ADMIN_PAGE_MAX || pg.start + pg.count > snap.naccounts ||
	    pg.count > lim || pg.more != (pg.start + pg.count < snap.naccounts))
		abort();
	for (size_t i = 0; after && i < snap.naccounts; i++)
		if ((i >= pg.start) != (strcmp(accs[i].name, after) > 0))
			abort(); /* the page starts right after the cursor */
}

/* The next '\n'-terminated field of s into out (of size sz), cut short. */
static const char *fz_field(const char *s, char *out, size_t sz)
{
	size_t n = strcspn(s, "\n");
	snprintf(out, sz, "%.*s", (int)n, s);
	return s[n] ? s + n + 1 : s + n;
}

/* An account as the CLI writes it: text fields straight from argv. */
static void fz_raw(const char *s)
{
	struct store_server srv = {.nurls = 1};
	struct store_account a;
	store_account_init(&a, "acme");
	a.configurable_turn = true;
	a.mode = STORE_TURN_OVERRIDE;
	a.servers = &srv;
	a.nservers = 1;
	s = fz_field(s, a.issuer, sizeof(a.issuer));
	s = fz_field(s, srv.username, sizeof(srv.username));
	s = fz_field(s, srv.credential, sizeof(srv.credential));
	s = fz_field(s, srv.urls[0], sizeof(srv.urls[0]));
	if (store_account_validate(&a, NULL) == 0)
		fz_use(&a);
}

/* The input after its mode byte ('?' or '!') as a C string. */
static void fz_text(const uint8_t *data, size_t size)
{
	char *q = malloc(size);
	if (!q)
		return;
	memcpy(q, data + 1, size - 1);
	q[size - 1] = '\0';
	if (data[0] == '?')
		fz_page(q);
	else
		fz_raw(q);
	free(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 0 && (data[0] == '?' || data[0] == '!')) {
		fz_text(data, size);
		return 0;
	}
	/* As admin_body: the body's exact bytes, duplicates refused. */
	char *b = malloc(size ? size : 1);
	if (!b)
		return 0;
	memcpy(b, data, size);
	json_error_t jerr;
	json_t *body = json_loadb(b, size, JSON_REJECT_DUPLICATES, &jerr);
	free(b);
	if (!body)
		return 0;
	fz_create(body);
	fz_patch(body, false);
	fz_patch(body, true);
	fz_key(body);
	json_decref(body);
	return 0;
}
