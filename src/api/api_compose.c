/* Composing the iceServers answer from groups of URLs: health filtering,
 * de-duplication, a browser-friendly cap, and credentials minted per
 * request (TURN REST, as coturn's use-auth-secret) so that no long-lived
 * TURN password ever reaches a browser. Pure: time and health come in. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/api_int.h"
#include "auth/auth.h"

/* The URLs picked for the answer (on: which group, which URL in it) and
 * what picking reads: the groups and the health view (up NULL: all up). */
struct pick {
	bool on[STORE_SERVERS_MAX + API_PLATFORM_MAX][STORE_URLS_MAX];
	unsigned n;
	const struct api_group *g;
	unsigned ng;
	api_up_h *up;
	void *uparg;
};

/* Which groups a tier looks at. */
enum pick_from { PICK_ALL, PICK_FALLBACK };

static bool url_is(const char *url, const char *scheme)
{
	return strncmp(url, scheme, strlen(scheme)) == 0;
}

static bool url_is_turn(const char *url)
{
	return url_is(url, "turn:") || url_is(url, "turns:");
}

/* turn: without ?transport=tcp is UDP (RFC 7065 3.1). */
static bool url_is_turn_udp(const char *url)
{
	return url_is(url, "turn:") && !strstr(url, "transport=tcp");
}

static bool url_seen(const struct pick *p, const char *url)
{
	for (unsigned i = 0; i < p->ng; i++)
		for (unsigned j = 0; j < p->g[i].nurls; j++)
			if (p->on[i][j] && strcmp(p->g[i].urls[j], url) == 0)
				return true;
	return false;
}

/* A URL that some platform group lists too is the platform's server. */
static bool url_platform(const struct pick *p, const char *url)
{
	for (unsigned i = 0; i < p->ng; i++)
		for (unsigned j = 0; !p->g[i].fallback && j < p->g[i].nurls; j++)
			if (strcmp(p->g[i].urls[j], url) == 0)
				return true;
	return false;
}

typedef bool(url_pred_h)(const char *url);

static bool url_any_turn(const char *u) { return url_is_turn(u); }
static bool url_turns(const char *u) { return url_is(u, "turns:"); }
static bool url_any(const char *u) { (void)u; return true; }

static bool url_pickable(const struct pick *p, unsigned i, unsigned j,
			 url_pred_h *pred, enum pick_from from)
{
	const char *u = p->g[i].urls[j];
	if (from == PICK_FALLBACK &&
	    (!p->g[i].fallback || url_platform(p, u)))
		return false;
	return !p->on[i][j] && pred(u) && (!p->up || p->up(p->uparg, u)) &&
	       !url_seen(p, u);
}

/* Pick URLs matching pred, at most per_group from each group, while the
 * answer has fewer than cap. Unhealthy and duplicate URLs are skipped. */
static void pick_tier(struct pick *p, url_pred_h *pred, unsigned per_group,
		      enum pick_from from, unsigned cap)
{
	for (unsigned i = 0; i < p->ng; i++) {
		unsigned taken = 0;
		for (unsigned j = 0; j < p->g[i].nurls && taken < per_group; j++) {
			if (p->n >= cap)
				return;
			if (!url_pickable(p, i, j, pred, from))
				continue;
			p->on[i][j] = true;
			p->n++;
			taken++;
		}
	}
}

/* The first healthy turns: URL of all, so that TLS (on 443 it passes
 * HTTPS-only firewalls) is always offered when any server has it. */
static void pick_first_turns(struct pick *p)
{
	pick_tier(p, url_turns, 1, PICK_ALL, 1);
}

static bool fallback_in(const struct pick *p)
{
	for (unsigned i = 0; i < p->ng; i++)
		for (unsigned j = 0; p->g[i].fallback && j < p->g[i].nurls; j++)
			if (p->on[i][j])
				return true;
	return false;
}

/* Fallback mode lists the account's servers after the platform's; with
 * four platform nodes the tiers below would fill the cap before reaching
 * them, and the fallback would never reach a browser. So one slot goes to
 * the account's best healthy TURN URL (UDP first) that is not also a
 * platform URL, unless one of its URLs is in already. The answer keeps
 * the groups' order, so it still comes after the platform's. */
static void pick_fallback(struct pick *p)
{
	const unsigned cap = p->n + 1;
	if (fallback_in(p))
		return;
	pick_tier(p, url_is_turn_udp, 1, PICK_FALLBACK, cap);
	pick_tier(p, url_any_turn, 1, PICK_FALLBACK, cap);
}

/* Priority under the cap: one turns: URL, one fallback TURN URL, then
 * every server's first TURN/UDP URL, then every server's first TURN URL
 * of any kind, then the other turns: URLs, then any other TURN URL, then
 * STUN (a TURN/UDP allocation already yields the server-reflexive
 * candidate). */
static void pick_all(struct pick *p)
{
	const unsigned cap = API_ICE_MAX_URLS;
	pick_first_turns(p);
	pick_fallback(p);
	pick_tier(p, url_is_turn_udp, 1, PICK_ALL, cap);
	pick_tier(p, url_any_turn, 1, PICK_ALL, cap);
	pick_tier(p, url_turns, STORE_URLS_MAX, PICK_ALL, cap);
	pick_tier(p, url_any_turn, STORE_URLS_MAX, PICK_ALL, cap);
	pick_tier(p, url_any, STORE_URLS_MAX, PICK_ALL, cap);
}

static int entry_creds(json_t *e, const struct api_group *g,
		       const struct api_ice_req *r)
{
	if (g->username && g->credential) {
		json_object_set_new(e, "username", json_string(g->username));
		json_object_set_new(e, "credential", json_string(g->credential));
		return 0;
	}
	if (!g->secret)
		return 0;
	char user[STORE_NAME_MAX + JWT_SUB_MAX + 32], userid[STORE_NAME_MAX + JWT_SUB_MAX + 2];
	char pass[AUTH_REST_PASS_LEN];
	snprintf(userid, sizeof(userid), "%s:%s", r->account, r->sub);
	int err = auth_rest_username(r->now, r->ttl, userid,
				     g->sep ? g->sep : AUTH_REST_SEP, user,
				     sizeof(user));
	if (!err)
		err = auth_rest_password(g->secret, strlen(g->secret), user,
					 strlen(user), pass, sizeof(pass));
	if (err)
		return err;
	json_object_set_new(e, "username", json_string(user));
	json_object_set_new(e, "credential", json_string(pass));
	explicit_bzero(pass, sizeof(pass));
	return 0;
}

static int entry_add(json_t *arr, const struct api_group *g,
		     const bool *on, const struct api_ice_req *r)
{
	json_t *urls = json_array();
	bool turn = false;
	for (unsigned j = 0; j < g->nurls; j++) {
		if (!on[j])
			continue;
		json_array_append_new(urls, json_string(g->urls[j]));
		turn |= url_is_turn(g->urls[j]);
	}
	if (json_array_size(urls) == 0) {
		json_decref(urls);
		return 0;
	}
	json_t *e = json_object();
	json_object_set_new(e, "urls", urls);
	int err = turn ? entry_creds(e, g, r) : 0;
	if (err) {
		json_decref(e);
		return err;
	}
	return json_array_append_new(arr, e) ? ENOMEM : 0;
}

static bool any_up(const struct api_group *g, unsigned ng, api_up_h *up,
		   void *uparg)
{
	if (!up)
		return true;
	for (unsigned i = 0; i < ng; i++)
		for (unsigned j = 0; j < g[i].nurls; j++)
			if (url_is_turn(g[i].urls[j]) && up(uparg, g[i].urls[j]))
				return true;
	return false;
}

int api_compose(const struct api_group *g, unsigned ng,
		const struct api_ice_req *r, api_up_h *up, void *uparg,
		struct api_ice_out *out)
{
	struct pick p;
	if (ng > STORE_SERVERS_MAX + API_PLATFORM_MAX || !r->ttl)
		return EINVAL;
	memset(&p, 0, sizeof(p));
	out->all_down = !any_up(g, ng, up, uparg);
	/* Never an empty answer because every check failed: in override mode
	 * the customer's servers are the only ones allowed (the caller flags
	 * it in metrics); otherwise a stale health view beats no relay. */
	p.g = g;
	p.ng = ng;
	p.up = out->all_down ? NULL : up;
	p.uparg = uparg;
	pick_all(&p);

	json_t *arr = json_array();
	int err = 0;
	for (unsigned i = 0; i < ng && !err; i++)
		err = entry_add(arr, &g[i], p.on[i], r);
	if (err) {
		json_decref(arr);
		return err;
	}
	out->body = json_pack("{s:o,s:I,s:I,s:s}", "iceServers", arr, "ttl",
			      (json_int_t)r->ttl, "expires",
			      (json_int_t)(r->now + r->ttl), "iceTransportPolicy",
			      r->relay_only ? "relay" : "all");
	return out->body ? 0 : ENOMEM;
}

static void group_from_server(struct api_group *g, const struct store_server *s,
			      bool fallback)
{
	memset(g, 0, sizeof(*g));
	g->fallback = fallback;
	g->nurls = s->nurls;
	for (unsigned j = 0; j < s->nurls; j++)
		g->urls[j] = s->urls[j];
	if (s->secret[0]) {
		g->secret = s->secret; /* minted with ':', coturn's default */
	} else if (s->username[0]) {
		g->username = s->username;
		g->credential = s->credential;
	}
}

static void group_from_platform(struct api_group *g, const struct api_platform *p,
				char sep)
{
	memset(g, 0, sizeof(*g));
	g->nurls = p->nurls;
	for (unsigned j = 0; j < p->nurls; j++)
		g->urls[j] = p->urls[j];
	g->secret = p->secret;
	g->sep = sep;
}

unsigned api_groups_for(const struct api_cfg *cfg,
			const struct store_account *acc, struct api_group *g,
			unsigned cap)
{
	unsigned n = 0;
	if (acc->mode != STORE_TURN_OVERRIDE)
		for (unsigned i = 0; i < cfg->nplatform && n < cap; i++)
			group_from_platform(&g[n++], &cfg->platform[i],
					    cfg->rest_sep);
	if (acc->mode != STORE_TURN_PLATFORM)
		for (unsigned i = 0; i < acc->nservers && n < cap; i++)
			group_from_server(&g[n++], &acc->servers[i],
					  acc->mode == STORE_TURN_FALLBACK);
	return n;
}
