/* Unit tests for the API's pure parts: composing iceServers (modes,
 * health, de-duplication, the URL cap, minted credentials), request
 * bodies, STUN/TURN URL parsing, the rate limiter and the ip-ranges
 * answer. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/api_admin.h"
#include "api/api_int.h"
#include "auth/auth.h"

#define NOW 1700000000ull

static const struct api_ice_req req = {.account = "acme", .sub = "alice",
				       .ttl = 600, .now = NOW};

/* Health stub: URLs containing "down" are down. */
static bool up_stub(void *arg, const char *url)
{
	(void)arg;
	return strstr(url, "down") == NULL;
}

static json_t *compose(const struct api_group *g, unsigned n, bool *all_down)
{
	struct api_ice_out out = {0};
	assert_int_equal(api_compose(g, n, &req, up_stub, NULL, &out), 0);
	if (all_down)
		*all_down = out.all_down;
	return out.body;
}

static const char *url_at(json_t *body, size_t entry, size_t i)
{
	json_t *e = json_array_get(json_object_get(body, "iceServers"), entry);
	return json_string_value(json_array_get(json_object_get(e, "urls"), i));
}

static size_t nurls(json_t *body)
{
	size_t n = 0, i;
	json_t *e;
	json_array_foreach(json_object_get(body, "iceServers"), i, e)
		n += json_array_size(json_object_get(e, "urls"));
	return n;
}

static const struct api_group platform = {
	.nurls = 3,
	.urls = {"stun:192.0.2.1:3478", "turn:192.0.2.1:3478?transport=udp",
		 "turn:192.0.2.1:3478?transport=tcp"},
	.secret = "platform-secret"};

static void test_compose_platform_shape(void **state)
{
	(void)state;
	json_t *b = compose(&platform, 1, NULL);
	assert_int_equal(json_integer_value(json_object_get(b, "ttl")), 600);
	assert_int_equal(json_integer_value(json_object_get(b, "expires")), NOW + 600);
	assert_string_equal(json_string_value(json_object_get(b, "iceTransportPolicy")), "all");
	assert_int_equal(nurls(b), 3);
	json_t *e = json_array_get(json_object_get(b, "iceServers"), 0);
	const char *user = json_string_value(json_object_get(e, "username"));
	assert_string_equal(user, "1700000600:acme:alice");
	/* The credential is the REST password a TURN server will recompute. */
	char pass[AUTH_REST_PASS_LEN];
	assert_int_equal(auth_rest_password("platform-secret", 15, user, strlen(user),
					    pass, sizeof(pass)), 0);
	assert_string_equal(json_string_value(json_object_get(e, "credential")), pass);
	json_decref(b);
}

static void test_compose_static_creds(void **state)
{
	(void)state;
	struct api_group g = {.nurls = 1, .urls = {"turn:198.51.100.7:3478"},
			      .username = "u1", .credential = "p1"};
	json_t *b = compose(&g, 1, NULL);
	json_t *e = json_array_get(json_object_get(b, "iceServers"), 0);
	assert_string_equal(json_string_value(json_object_get(e, "username")), "u1");
	assert_string_equal(json_string_value(json_object_get(e, "credential")), "p1");
	json_decref(b);
}

static void test_compose_stun_only_has_no_creds(void **state)
{
	(void)state;
	struct api_group g = {.nurls = 1, .urls = {"stun:198.51.100.7:3478"},
			      .secret = "s"};
	json_t *b = compose(&g, 1, NULL);
	json_t *e = json_array_get(json_object_get(b, "iceServers"), 0);
	assert_null(json_object_get(e, "username"));
	json_decref(b);
}

static void test_compose_dedupe(void **state)
{
	(void)state;
	struct api_group g[2] = {platform, platform};
	json_t *b = compose(g, 2, NULL);
	assert_int_equal(nurls(b), 3);
	assert_int_equal(json_array_size(json_object_get(b, "iceServers")), 1);
	json_decref(b);
}

/* Fallback: platform then custom under the 4-URL cap. Each server keeps
 * its first TURN URL, turns: is kept, STUN goes first. */
static void test_compose_cap_priority(void **state)
{
	(void)state;
	struct api_group g[2] = {platform,
		{.nurls = 3, .urls = {"turn:203.0.113.9:3478?transport=udp",
				      "turns:203.0.113.9:443?transport=tcp",
				      "stun:203.0.113.9:3478"},
		 .secret = "customer"}};
	json_t *b = compose(g, 2, NULL);
	assert_int_equal(nurls(b), 4);
	assert_string_equal(url_at(b, 0, 0), "turn:192.0.2.1:3478?transport=udp");
	assert_string_equal(url_at(b, 0, 1), "turn:192.0.2.1:3478?transport=tcp");
	assert_string_equal(url_at(b, 1, 0), "turn:203.0.113.9:3478?transport=udp");
	assert_string_equal(url_at(b, 1, 1), "turns:203.0.113.9:443?transport=tcp");
	json_decref(b);
}

/* Regression: a group reaching its per-tier quota ended the whole tier,
 * so only the first custom server got in under the cap. */
static void test_compose_cap_every_server(void **state)
{
	(void)state;
	struct api_group g[4] = {platform};
	static const char *const u[3][2] = {
		{"turn:203.0.113.1:3478?transport=udp", "turn:203.0.113.1:3478?transport=tcp"},
		{"turn:203.0.113.2:3478?transport=udp", "turn:203.0.113.2:3478?transport=tcp"},
		{"turn:203.0.113.3:3478?transport=udp", "turn:203.0.113.3:3478?transport=tcp"}};
	for (int i = 0; i < 3; i++)
		g[i + 1] = (struct api_group){.nurls = 2, .urls = {u[i][0], u[i][1]},
					      .secret = "c"};
	json_t *b = compose(g, 4, NULL);
	assert_int_equal(nurls(b), 4);
	assert_int_equal(json_array_size(json_object_get(b, "iceServers")), 4);
	assert_string_equal(url_at(b, 0, 0), "turn:192.0.2.1:3478?transport=udp");
	for (int i = 0; i < 3; i++)
		assert_string_equal(url_at(b, (size_t)i + 1, 0), u[i][0]);
	json_decref(b);
}

/* turns: is offered even when the other servers would fill the cap. */
static void test_compose_cap_keeps_turns(void **state)
{
	(void)state;
	struct api_group g[5];
	static const char *const u[4] = {"turn:203.0.113.1:3478", "turn:203.0.113.2:3478",
					 "turn:203.0.113.3:3478", "turn:203.0.113.4:3478"};
	for (int i = 0; i < 4; i++)
		g[i] = (struct api_group){.nurls = 1, .urls = {u[i]}, .secret = "c"};
	g[4] = (struct api_group){.nurls = 2,
				  .urls = {"turn:198.51.100.9:3478",
					   "turns:198.51.100.9:443?transport=tcp"},
				  .secret = "d"};
	json_t *b = compose(g, 5, NULL);
	assert_int_equal(nurls(b), 4);
	bool turns = false;
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(b, "iceServers"), i, e)
		turns |= strncmp(json_string_value(json_array_get(json_object_get(e, "urls"), 0)),
				 "turns:", 6) == 0;
	assert_true(turns);
	assert_string_equal(url_at(b, 0, 0), u[0]);
	json_decref(b);
}

static void test_compose_health_filters(void **state)
{
	(void)state;
	struct api_group g[2] = {
		{.nurls = 1, .urls = {"turn:down.example:3478"}, .secret = "a"},
		{.nurls = 1, .urls = {"turn:up.example:3478"}, .secret = "b"}};
	bool all_down = true;
	json_t *b = compose(g, 2, &all_down);
	assert_false(all_down);
	assert_int_equal(nurls(b), 1);
	assert_string_equal(url_at(b, 0, 0), "turn:up.example:3478");
	json_decref(b);
}

/* Every server down: answer with them anyway and say so. */
static void test_compose_all_down_keeps_servers(void **state)
{
	(void)state;
	struct api_group g = {.nurls = 2,
			      .urls = {"turn:down1:3478", "turn:down2:3478?transport=tcp"},
			      .secret = "c"};
	bool all_down = false;
	json_t *b = compose(&g, 1, &all_down);
	assert_true(all_down);
	assert_int_equal(nurls(b), 2);
	json_decref(b);
}

static void test_groups_for_modes(void **state)
{
	(void)state;
	struct api_cfg cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.nplatform = 1;
	cfg.platform[0].nurls = 1;
	strcpy(cfg.platform[0].urls[0], "turn:192.0.2.1:3478");
	strcpy(cfg.platform[0].secret, "p");
	struct store_server srv = {.nurls = 1, .urls = {"turn:203.0.113.9:3478"},
				   .secret = "c"};
	struct store_account acc;
	store_account_init(&acc, "acme");
	acc.nservers = 1;
	acc.servers = &srv;
	struct api_group g[4];
	acc.mode = STORE_TURN_PLATFORM;
	assert_int_equal(api_groups_for(&cfg, &acc, g, 4), 1);
	assert_string_equal(g[0].urls[0], "turn:192.0.2.1:3478");
	acc.mode = STORE_TURN_OVERRIDE;
	assert_int_equal(api_groups_for(&cfg, &acc, g, 4), 1);
	assert_string_equal(g[0].urls[0], "turn:203.0.113.9:3478");
	assert_string_equal(g[0].secret, "c");
	acc.mode = STORE_TURN_FALLBACK;
	assert_int_equal(api_groups_for(&cfg, &acc, g, 4), 2);
	assert_string_equal(g[0].urls[0], "turn:192.0.2.1:3478");
	assert_string_equal(g[1].urls[0], "turn:203.0.113.9:3478");
	assert_false(g[0].fallback);
	assert_true(g[1].fallback);
	acc.mode = STORE_TURN_OVERRIDE;
	assert_int_equal(api_groups_for(&cfg, &acc, g, 4), 1);
	assert_false(g[0].fallback);

	/* rest-api-separator: the platform's usernames use the TURN side's
	 * separator; a customer's own servers get coturn's default ':'. */
	cfg.rest_sep = '#';
	acc.mode = STORE_TURN_FALLBACK;
	assert_int_equal(api_groups_for(&cfg, &acc, g, 4), 2);
	json_t *b = compose(g, 2, NULL);
	json_t *ice = json_object_get(b, "iceServers");
	const char *u0 = json_string_value(
		json_object_get(json_array_get(ice, 0), "username"));
	const char *u1 = json_string_value(
		json_object_get(json_array_get(ice, 1), "username"));
	assert_string_equal(u0, "1700000600#acme:alice");
	assert_string_equal(u1, "1700000600:acme:alice");
	json_decref(b);
}

/* n platform nodes 192.0.2.<i+1>, each with TURN/UDP then TURN/TCP, and
 * turns: on 443 when turns. */
static void fb_cfg(struct api_cfg *cfg, unsigned n, bool turns)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->nplatform = n;
	for (unsigned i = 0; i < n; i++) {
		struct api_platform *pl = &cfg->platform[i];
		snprintf(pl->urls[pl->nurls++], STORE_URL_MAX,
			 "turn:192.0.2.%u:3478?transport=udp", i + 1);
		snprintf(pl->urls[pl->nurls++], STORE_URL_MAX,
			 "turn:192.0.2.%u:3478?transport=tcp", i + 1);
		if (turns)
			snprintf(pl->urls[pl->nurls++], STORE_URL_MAX,
				 "turns:192.0.2.%u:443?transport=tcp", i + 1);
		strcpy(pl->secret, "p");
	}
}

/* The answer for an account with these servers in mode m. */
static json_t *fb_answer(const struct api_cfg *cfg, enum store_turn_mode m,
			 struct store_server *srv, unsigned nsrv)
{
	struct store_account acc;
	store_account_init(&acc, "acme");
	acc.mode = m;
	acc.nservers = nsrv;
	acc.servers = srv;
	struct api_group g[API_PLATFORM_MAX + STORE_SERVERS_MAX];
	unsigned ng = api_groups_for(cfg, &acc, g, API_PLATFORM_MAX + STORE_SERVERS_MAX);
	return compose(g, ng, NULL);
}

static const char *last_url(json_t *b)
{
	json_t *arr = json_object_get(b, "iceServers");
	json_t *e = json_array_get(arr, json_array_size(arr) - 1);
	json_t *urls = json_object_get(e, "urls");
	return json_string_value(json_array_get(urls, json_array_size(urls) - 1));
}

static bool has_url(json_t *b, const char *url)
{
	size_t i, j;
	json_t *e, *u;
	json_array_foreach(json_object_get(b, "iceServers"), i, e)
		json_array_foreach(json_object_get(e, "urls"), j, u)
			if (strcmp(json_string_value(u), url) == 0)
				return true;
	return false;
}

/* Regression: with four or more platform nodes the platform's URLs
 * filled the 4-URL cap and a fallback account's own server never reached
 * the browser. It gets one slot, after the platform's, with its best
 * (UDP) URL and its own credentials. */
static void test_compose_fallback_slot(void **state)
{
	(void)state;
	struct api_cfg cfg;
	fb_cfg(&cfg, 5, false);
	struct store_server srv = {.nurls = 2,
		.urls = {"turn:203.0.113.9:3478?transport=tcp",
			 "turn:203.0.113.9:3478?transport=udp"},
		.secret = "customer"};
	json_t *b = fb_answer(&cfg, STORE_TURN_FALLBACK, &srv, 1);
	assert_int_equal(nurls(b), 4);
	assert_int_equal(json_array_size(json_object_get(b, "iceServers")), 4);
	for (size_t i = 0; i < 3; i++) {
		char want[64];
		snprintf(want, sizeof(want), "turn:192.0.2.%zu:3478?transport=udp", i + 1);
		assert_string_equal(url_at(b, i, 0), want);
	}
	assert_string_equal(last_url(b), "turn:203.0.113.9:3478?transport=udp");
	json_t *e = json_array_get(json_object_get(b, "iceServers"), 3);
	char pass[AUTH_REST_PASS_LEN];
	const char *user = json_string_value(json_object_get(e, "username"));
	assert_int_equal(auth_rest_password("customer", 8, user, strlen(user),
					    pass, sizeof(pass)), 0);
	assert_string_equal(json_string_value(json_object_get(e, "credential")), pass);
	json_decref(b);

	/* Platform and override answers are as before. */
	b = fb_answer(&cfg, STORE_TURN_PLATFORM, &srv, 1);
	assert_int_equal(nurls(b), 4);
	assert_false(has_url(b, "turn:203.0.113.9:3478?transport=udp"));
	assert_string_equal(last_url(b), "turn:192.0.2.4:3478?transport=udp");
	json_decref(b);
	b = fb_answer(&cfg, STORE_TURN_OVERRIDE, &srv, 1);
	assert_int_equal(nurls(b), 2);
	assert_string_equal(url_at(b, 0, 0), "turn:203.0.113.9:3478?transport=tcp");
	json_decref(b);
}

/* The always-kept turns: URL and the fallback slot both fit: the platform
 * keeps two of four. A fallback whose turns: is that URL needs no more. */
static void test_compose_fallback_with_turns(void **state)
{
	(void)state;
	struct api_cfg cfg;
	fb_cfg(&cfg, 5, true);
	struct store_server srv[2] = {
		{.nurls = 1, .urls = {"turn:203.0.113.9:3478"}, .secret = "c"},
		{.nurls = 1, .urls = {"turn:203.0.113.10:3478"}, .secret = "c"}};
	json_t *b = fb_answer(&cfg, STORE_TURN_FALLBACK, srv, 2);
	assert_int_equal(nurls(b), 4);
	assert_string_equal(url_at(b, 0, 0), "turn:192.0.2.1:3478?transport=udp");
	assert_string_equal(url_at(b, 0, 1), "turns:192.0.2.1:443?transport=tcp");
	assert_string_equal(url_at(b, 1, 0), "turn:192.0.2.2:3478?transport=udp");
	assert_string_equal(last_url(b), "turn:203.0.113.9:3478");
	json_decref(b);

	fb_cfg(&cfg, 5, false);
	struct store_server tls = {.nurls = 2,
		.urls = {"turn:203.0.113.9:3478", "turns:203.0.113.9:443?transport=tcp"},
		.secret = "c"};
	b = fb_answer(&cfg, STORE_TURN_FALLBACK, &tls, 1);
	assert_int_equal(nurls(b), 4);
	assert_string_equal(url_at(b, 2, 0), "turn:192.0.2.3:3478?transport=udp");
	assert_string_equal(last_url(b), "turns:203.0.113.9:443?transport=tcp");
	assert_false(has_url(b, "turn:203.0.113.9:3478"));
	json_decref(b);
}

/* The slot is for a healthy server of the account's own: with all of them
 * down the platform fills the answer; a URL the platform lists too is
 * the platform's (de-duplicated, no slot); STUN-only gets no slot. */
static void test_compose_fallback_edges(void **state)
{
	(void)state;
	struct api_cfg cfg;
	fb_cfg(&cfg, 5, false);
	struct store_server down = {.nurls = 1, .urls = {"turn:down.example:3478"},
				    .secret = "c"};
	bool all_down = true;
	struct store_account acc;
	store_account_init(&acc, "acme");
	acc.mode = STORE_TURN_FALLBACK;
	acc.nservers = 1;
	acc.servers = &down;
	struct api_group g[API_PLATFORM_MAX + STORE_SERVERS_MAX];
	unsigned ng = api_groups_for(&cfg, &acc, g, API_PLATFORM_MAX + STORE_SERVERS_MAX);
	json_t *b = compose(g, ng, &all_down);
	assert_false(all_down);
	assert_int_equal(nurls(b), 4);
	assert_string_equal(last_url(b), "turn:192.0.2.4:3478?transport=udp");
	json_decref(b);

	struct store_server dup = {.nurls = 2,
		.urls = {"turn:192.0.2.5:3478?transport=udp", "turn:203.0.113.9:3478"},
		.secret = "c"};
	b = fb_answer(&cfg, STORE_TURN_FALLBACK, &dup, 1);
	assert_int_equal(nurls(b), 4);
	assert_string_equal(last_url(b), "turn:203.0.113.9:3478");
	assert_false(has_url(b, "turn:192.0.2.5:3478?transport=udp"));
	json_decref(b);
	dup.nurls = 1;
	b = fb_answer(&cfg, STORE_TURN_FALLBACK, &dup, 1);
	assert_int_equal(nurls(b), 4);
	assert_string_equal(last_url(b), "turn:192.0.2.4:3478?transport=udp");
	json_decref(b);

	struct store_server stun = {.nurls = 1, .urls = {"stun:203.0.113.9:3478"}};
	b = fb_answer(&cfg, STORE_TURN_FALLBACK, &stun, 1);
	assert_false(has_url(b, "stun:203.0.113.9:3478"));
	json_decref(b);

	/* Few platform URLs: the cap is not hit and nothing changes. */
	fb_cfg(&cfg, 1, false);
	struct store_server two = {.nurls = 2,
		.urls = {"turn:203.0.113.9:3478?transport=udp",
			 "turn:203.0.113.9:3478?transport=tcp"}, .secret = "c"};
	b = fb_answer(&cfg, STORE_TURN_FALLBACK, &two, 1);
	assert_int_equal(nurls(b), 4);
	assert_string_equal(url_at(b, 0, 1), "turn:192.0.2.1:3478?transport=tcp");
	assert_string_equal(last_url(b), "turn:203.0.113.9:3478?transport=tcp");
	json_decref(b);
}

static void test_compose_relay_policy(void **state)
{
	(void)state;
	struct api_ice_req r = req;
	r.relay_only = true;
	struct api_ice_out out = {0};
	assert_int_equal(api_compose(&platform, 1, &r, NULL, NULL, &out), 0);
	assert_string_equal(json_string_value(json_object_get(out.body, "iceTransportPolicy")), "relay");
	json_decref(out.body);
}

struct body_case {
	const char *ctype, *body;
	int err;
	uint32_t ttl;
};

static void test_body_ttl(void **state)
{
	(void)state;
	static const struct body_case cases[] = {
		{NULL, "", 0, 0},
		{"application/json", "{\"ttl\":600}", 0, 600},
		{"application/json; charset=utf-8", "{\"ttl\":1}", 0, 1},
		{"application/json", "{}", 0, 0},
		{"application/x-www-form-urlencoded", "ttl=600", 0, 600},
		{"application/x-www-form-urlencoded", "", 0, 0},
		{"application/json", "{\"ttl\":0}", EINVAL, 0},
		{"application/json", "{\"ttl\":-5}", EINVAL, 0},
		{"application/json", "{\"ttl\":\"600\"}", EINVAL, 0},
		{"application/json", "{\"ttl\":6.5}", EINVAL, 0},
		{"application/json", "{\"ttl\":600,\"tll\":1}", EINVAL, 0},
		{"application/json", "{\"ttl\":1,\"ttl\":2}", EINVAL, 0},
		{"application/json", "[600]", EINVAL, 0},
		{"application/json", "{\"ttl\":", EINVAL, 0},
		{"application/x-www-form-urlencoded", "ttl=abc", EINVAL, 0},
		{"application/x-www-form-urlencoded", "ttl=0", EINVAL, 0},
		{"application/x-www-form-urlencoded", "ttl=1&ttl=2", EINVAL, 0},
		{"application/x-www-form-urlencoded", "foo=1", EINVAL, 0},
		{"application/x-www-form-urlencoded", "ttl=99999999999", EINVAL, 0},
		/* docs/api.md, TTL: at most a year; above that a 400. */
		{"application/json", "{\"ttl\":31536000}", 0, 31536000},
		{"application/json", "{\"ttl\":31536001}", EINVAL, 0},
		{"application/x-www-form-urlencoded", "ttl=31536000", 0, 31536000},
		{"application/x-www-form-urlencoded", "ttl=31536001", EINVAL, 0},
		/* another type that begins the same is not JSON */
		{"application/jsonx", "{\"ttl\":1}", EPROTONOSUPPORT, 0},
		{"text/plain", "ttl=600", EPROTONOSUPPORT, 0},
		{NULL, "{\"ttl\":600}", EPROTONOSUPPORT, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t ttl = 77;
		char msg[API_BODY_MSG_MAX];
		int err = api_body_ttl(cases[i].ctype, cases[i].body,
				       strlen(cases[i].body), &ttl, msg);
		if (err != cases[i].err)
			fail_msg("case %zu (%s): got %d want %d", i, cases[i].body,
				 err, cases[i].err);
		if (!err)
			assert_int_equal(ttl, cases[i].ttl);
		else
			assert_true(msg[0] != '\0');
	}
}

static void test_url_parse(void **state)
{
	(void)state;
	char host[64];
	uint16_t port;
	enum api_transport t;
	assert_int_equal(api_url_parse("stun:1.2.3.4", host, sizeof(host), &port, &t), 0);
	assert_string_equal(host, "1.2.3.4");
	assert_int_equal(port, 3478);
	assert_int_equal(t, API_T_UDP);
	assert_int_equal(api_url_parse("turn:[::1]:3479?transport=tcp", host,
				       sizeof(host), &port, &t), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 3479);
	assert_int_equal(t, API_T_TCP);
	assert_int_equal(api_url_parse("turns:turn.example.com", host, sizeof(host),
				       &port, &t), 0);
	assert_int_equal(port, 5349);
	assert_int_equal(t, API_T_TLS);
	assert_int_equal(api_url_parse("turns:x:443?transport=udp", host, sizeof(host),
				       &port, &t), EINVAL);
	assert_int_equal(api_url_parse("http://x", host, sizeof(host), &port, &t), EINVAL);
	assert_int_equal(api_url_parse("turn::3478", host, sizeof(host), &port, &t), EINVAL);
	assert_int_equal(api_url_parse("turn:x:0", host, sizeof(host), &port, &t), EINVAL);
	assert_int_equal(api_url_parse("turn:x:70000", host, sizeof(host), &port, &t), EINVAL);
	assert_int_equal(api_url_parse("stun:x?transport=udp", host, sizeof(host), &port, &t), EINVAL);
	assert_int_equal(api_url_parse("turn:x?transport=sctp", host, sizeof(host), &port, &t), EINVAL);
}

static void test_limit(void **state)
{
	(void)state;
	struct api_limit *l;
	assert_int_equal(api_limit_alloc(&l, 64), 0);
	/* burst 3 at 1/s: three pass, the fourth waits about a second */
	for (int i = 0; i < 3; i++)
		assert_int_equal(api_limit_take(l, "a", 1, 3, 1000), 0);
	assert_true(api_limit_take(l, "a", 1, 3, 1000) >= 1);
	/* another key is independent */
	assert_int_equal(api_limit_take(l, "b", 1, 3, 1000), 0);
	/* after a second one token is back */
	assert_int_equal(api_limit_take(l, "a", 1, 3, 2001), 0);
	assert_true(api_limit_take(l, "a", 1, 3, 2001) >= 1);
	/* an empty key (no client address) is limited like any other */
	assert_int_equal(api_limit_take(l, "", 1, 1, 1000), 0);
	assert_true(api_limit_take(l, "", 1, 1, 1000) >= 1);
	/* rate 0 means no limit */
	for (int i = 0; i < 100; i++)
		assert_int_equal(api_limit_take(l, "c", 0, 0, 1000), 0);
	api_limit_free(l);
}

/* The per-user key: one per (account, sub), whole subs (up to 127
 * bytes) told apart though a key holds 79, and seeded per table. */
static void test_limit_user_key(void **state)
{
	(void)state;
	struct api_limit *l, *m;
	assert_int_equal(api_limit_alloc(&l, 64), 0);
	assert_int_equal(api_limit_alloc(&m, 64), 0);
	char sub1[128], sub2[128], acct[64], k1[96], k2[96];
	memset(sub1, 'x', 127);
	sub1[127] = '\0';
	memcpy(sub2, sub1, sizeof(sub2));
	sub2[126] = 'y'; /* differs only at the end */
	memset(acct, 'a', 63);
	acct[63] = '\0';
	api_limit_user_key(l, acct, sub1, k1, sizeof(k1));
	api_limit_user_key(l, acct, sub2, k2, sizeof(k2));
	assert_true(strlen(k1) < 80); /* LIMIT_KEY_MAX: never cut */
	assert_string_not_equal(k1, k2);
	api_limit_user_key(l, acct, sub1, k2, sizeof(k2));
	assert_string_equal(k1, k2);
	api_limit_user_key(l, "other", sub1, k2, sizeof(k2));
	assert_string_not_equal(k1, k2);
	/* Each table its own seed: keys cannot be precomputed. */
	api_limit_user_key(m, acct, sub1, k2, sizeof(k2));
	assert_string_not_equal(k1, k2);
	/* Two users of one account: separate buckets. */
	api_limit_user_key(l, "acme", "alice", k1, sizeof(k1));
	api_limit_user_key(l, "acme", "bob", k2, sizeof(k2));
	assert_int_equal(api_limit_take(l, k1, 1, 1, 1000), 0);
	assert_true(api_limit_take(l, k1, 1, 1, 1000) >= 1);
	assert_int_equal(api_limit_take(l, k2, 1, 1, 1000), 0);
	api_limit_free(l);
	api_limit_free(m);
}

/* A usage record whose username is not UTF-8 (a TURN client sends any
 * bytes) is printed with U+FFFD, not dropped (jansson refuses the raw
 * bytes, and the record was missing from GET /v1/admin/usage). */
static void test_usage_json_utf8(void **state)
{
	(void)state;
	struct store_usage u;
	memset(&u, 0, sizeof(u));
	strcpy(u.account, "acme");
	strcpy(u.userid, "acme:\xe9t\xe9");   /* Latin-1 "été" */
	strcpy(u.username, "1700000000:acme:\xff\xc3\xa9"); /* bad, then é */
	strcpy(u.realm, "test");
	strcpy(u.transport, "udp");
	u.family = 4;
	strcpy(u.reason, "refresh");
	json_t *o = api_usage_json(&u);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "user_id")),
			    "acme:\xef\xbf\xbdt\xef\xbf\xbd");
	assert_string_equal(json_string_value(json_object_get(o, "username")),
			    "1700000000:acme:\xef\xbf\xbd\xc3\xa9");
	json_decref(o);
}

/* api-trusted-proxy's addresses and networks (cidr_parse, cidr_has:
 * test_util): the API believes X-Forwarded-For from any of them. */
static void test_proxy_nets(void **state)
{
	(void)state;
	struct api_cfg *c = calloc(1, sizeof(*c));
	assert_non_null(c);
	assert_int_equal(cidr_parse("10.0.0.0/8", &c->proxies[c->nproxies++]), 0);
	assert_int_equal(cidr_parse("2001:db8::/32", &c->proxies[c->nproxies++]), 0);
	struct sa a;
	const char *in[] = {"10.1.2.3", "::ffff:10.9.9.9", "2001:db8:ffff::1"};
	const char *out[] = {"11.0.0.0", "::ffff:192.0.2.8", "2001:db9::1"};
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(sa_set_str(&a, in[i], 0), 0);
		assert_true(api_proxy_trusted(c, &a));
		assert_int_equal(sa_set_str(&a, out[i], 0), 0);
		assert_false(api_proxy_trusted(c, &a));
	}
	c->nproxies = 0;
	assert_int_equal(sa_set_str(&a, "10.1.2.3", 0), 0);
	assert_false(api_proxy_trusted(c, &a)); /* none named: no one */
	free(c);
}

/* The hash the limiter used before it was seeded: FNV-1a of the key. */
static uint32_t fnv(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

/* Keys that land on one slot must not share a bucket while the table has
 * room: an account (or an app server's address) was throttled for the
 * traffic of whatever collided with it. The four keys below all collided
 * under the old unseeded hash; now each has its own bucket whatever the
 * seed, since four keys always find a free slot among four probes. */
static void test_limit_collisions(void **state)
{
	(void)state;
	char keys[4][32];
	unsigned n = 0;
	for (unsigned i = 0; n < 4 && i < 100000; i++) {
		char k[32];
		snprintf(k, sizeof(k), "a:acct%u", i);
		if (fnv(k) % 8 == 3)
			snprintf(keys[n++], sizeof(keys[0]), "%s", k);
	}
	assert_int_equal(n, 4);
	for (int round = 0; round < 50; round++) {
		struct api_limit *l;
		assert_int_equal(api_limit_alloc(&l, 8), 0);
		/* rate 1, burst 1: each key's first request passes, its
		 * second (same millisecond) waits */
		for (unsigned i = 0; i < 4; i++)
			assert_int_equal(api_limit_take(l, keys[i], 1, 1, 5000), 0);
		for (unsigned i = 0; i < 4; i++)
			assert_true(api_limit_take(l, keys[i], 1, 1, 5000) >= 1);
		api_limit_free(l);
	}
}

/* An IPv6 client owns a /64: rotating the low 64 bits must not buy a
 * fresh per-IP bucket. */
static void test_limit_ip_key(void **state)
{
	(void)state;
	char a[64], b[64];
	api_limit_ip_key("2001:db8:1:2:3:4:5:6", a, sizeof(a));
	api_limit_ip_key("2001:db8:1:2:ffff::1", b, sizeof(b));
	assert_string_equal(a, b);
	api_limit_ip_key("2001:db8:1:3::1", b, sizeof(b));
	assert_string_not_equal(a, b);
	api_limit_ip_key("192.0.2.7", a, sizeof(a));
	assert_string_equal(a, "192.0.2.7");
	api_limit_ip_key("::ffff:192.0.2.7", a, sizeof(a));
	assert_string_equal(a, "192.0.2.7");
	api_limit_ip_key("not-an-ip", a, sizeof(a));
	assert_string_equal(a, "not-an-ip");

	struct api_limit *l;
	assert_int_equal(api_limit_alloc(&l, 64), 0);
	api_limit_ip_key("2001:db8::1", a, sizeof(a));
	assert_int_equal(api_limit_take(l, a, 1, 1, 1000), 0);
	api_limit_ip_key("2001:db8::2", b, sizeof(b));
	assert_true(api_limit_take(l, b, 1, 1, 1000) >= 1);
	api_limit_free(l);
}

/* GET /v1/ip-ranges: the body groups ports by IP and marks
 * tcp-proxy-port's; the ETag follows the body, so a listener more (a
 * reload adding one) gives another tag. */
static void test_ranges_body(void **state)
{
	(void)state;
	struct api *a = calloc(1, sizeof(*a));
	assert_non_null(a);
	const struct api_endpoint eps[] = {
		{.ip = "192.0.2.1", .port = 3478, .transport = "udp"},
		{.ip = "192.0.2.1", .port = 3480, .transport = "tcp", .proxy = true},
		{.ip = "192.0.2.9", .port = 4000, .transport = "udp"},
	};
	memcpy(a->cfg.endpoints, eps, sizeof(eps));
	a->cfg.nendpoints = 2;
	a->cfg.relay_min = 49152;
	a->cfg.relay_max = 65535;
	assert_int_equal(api_ranges_build(a), 0);
	assert_string_equal(a->ranges_body,
			    "{\"servers\":[{\"ip\":\"192.0.2.1\",\"ports\":["
			    "{\"port\":3478,\"transport\":\"udp\"},"
			    "{\"port\":3480,\"transport\":\"tcp\",\"proxyProtocol\":true}]}],"
			    "\"relayPorts\":{\"min\":49152,\"max\":65535}}");
	char etag[sizeof(a->ranges_etag)];
	memcpy(etag, a->ranges_etag, sizeof(etag));
	free(a->ranges_body);
	a->cfg.nendpoints = 3;
	assert_int_equal(api_ranges_build(a), 0);
	assert_non_null(strstr(a->ranges_body, "\"192.0.2.9\""));
	assert_string_not_equal(a->ranges_etag, etag);
	free(a->ranges_body);
	free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compose_platform_shape),
		cmocka_unit_test(test_compose_static_creds),
		cmocka_unit_test(test_compose_stun_only_has_no_creds),
		cmocka_unit_test(test_compose_dedupe),
		cmocka_unit_test(test_compose_cap_priority),
		cmocka_unit_test(test_compose_cap_every_server),
		cmocka_unit_test(test_compose_cap_keeps_turns),
		cmocka_unit_test(test_compose_health_filters),
		cmocka_unit_test(test_compose_all_down_keeps_servers),
		cmocka_unit_test(test_groups_for_modes),
		cmocka_unit_test(test_compose_relay_policy),
		cmocka_unit_test(test_compose_fallback_slot),
		cmocka_unit_test(test_compose_fallback_with_turns),
		cmocka_unit_test(test_compose_fallback_edges),
		cmocka_unit_test(test_body_ttl),
		cmocka_unit_test(test_url_parse),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_limit_user_key),
		cmocka_unit_test(test_proxy_nets),
		cmocka_unit_test(test_usage_json_utf8),
		cmocka_unit_test(test_limit_collisions),
		cmocka_unit_test(test_limit_ip_key),
		cmocka_unit_test(test_ranges_body),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
