/* Composing the iceServers answer from groups of URLs: health filtering,
 * de-duplication, a browser-friendly cap, and credentials minted per
 * request (TURN REST, as coturn's use-auth-secret) so that no long-lived
 * TURN password ever reaches a browser. Pure: time and health come in. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/api_int.h"
#include "auth/auth.h"

/* A URL picked for the answer: which group, which URL in it. */
struct pick {
	bool on[STORE_SERVERS_MAX + API_PLATFORM_MAX][STORE_URLS_MAX];
	unsigned n;
};

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

static bool url_seen(const struct api_group *g, unsigned ng,
		     const struct pick *p, const char *url)
{
	for (unsigned i = 0; i < ng; i++)
		for (unsigned j = 0; j < g[i].nurls; j++)
			if (p->on[i][j] && strcmp(g[i].urls[j], url) == 0)
				return true;
	return false;
}

typedef bool(url_pred_h)(const char *url);

static bool url_any_turn(const char *u) { return url_is_turn(u); }
static bool url_turns(const char *u) { return url_is(u, "turns:"); }
static bool url_any(const char *u) { (void)u; return true; }

/* Pick URLs matching pred, at most per_group from each group, while the
 * budget lasts. Unhealthy and duplicate URLs are skipped. */
static void pick_tier(const struct api_group *g, unsigned ng, struct pick *p,
		      url_pred_h *pred, unsigned per_group, api_up_h *up,
		      void *uparg)
{
	for (unsigned i = 0; i < ng; i++) {
		unsigned taken = 0;
		for (unsigned j = 0; j < g[i].nurls && taken < per_group; j++) {
			const char *u = g[i].urls[j];
			if (p->n >= API_ICE_MAX_URLS)
				return;
			if (p->on[i][j] || !pred(u) || (up && !up(uparg, u)) ||
			    url_seen(g, ng, p, u))
				continue;
			p->on[i][j] = true;
			p->n++;
			taken++;
		}
	}
}


/* The first healthy turns: URL of all, so that TLS (on 443 it passes
 * HTTPS-only firewalls) is always offered when any server has it. */
static void pick_first_turns(const struct api_group *g, unsigned ng,
			     struct pick *p, api_up_h *up, void *uparg)
{
	for (unsigned i = 0; i < ng; i++)
		for (unsigned j = 0; j < g[i].nurls; j++)
			if (url_turns(g[i].urls[j]) &&
			    (!up || up(uparg, g[i].urls[j]))) {
				p->on[i][j] = true;
				p->n++;
				return;
			}
}

/* Priority under the cap: one turns: URL, then every server's first
 * TURN/UDP URL, then every server's first TURN URL of any kind, then the
 * other turns: URLs, then any other TURN URL, then STUN (a TURN/UDP
 * allocation already yields the server-reflexive candidate). */
static void pick_all(const struct api_group *g, unsigned ng, struct pick *p,
		     api_up_h *up, void *uparg)
{
	pick_first_turns(g, ng, p, up, uparg);
	pick_tier(g, ng, p, url_is_turn_udp, 1, up, uparg);
	pick_tier(g, ng, p, url_any_turn, 1, up, uparg);
	pick_tier(g, ng, p, url_turns, STORE_URLS_MAX, up, uparg);
	pick_tier(g, ng, p, url_any_turn, STORE_URLS_MAX, up, uparg);
	pick_tier(g, ng, p, url_any, STORE_URLS_MAX, up, uparg);
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
	int err = auth_rest_username(r->now, r->ttl, userid, user, sizeof(user));
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
	pick_all(g, ng, &p, out->all_down ? NULL : up, uparg);

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

static void group_from_server(struct api_group *g, const struct store_server *s)
{
	memset(g, 0, sizeof(*g));
	g->nurls = s->nurls;
	for (unsigned j = 0; j < s->nurls; j++)
		g->urls[j] = s->urls[j];
	if (s->secret[0])
		g->secret = s->secret;
	else if (s->username[0]) {
		g->username = s->username;
		g->credential = s->credential;
	}
}

static void group_from_platform(struct api_group *g, const struct api_platform *p)
{
	memset(g, 0, sizeof(*g));
	g->nurls = p->nurls;
	for (unsigned j = 0; j < p->nurls; j++)
		g->urls[j] = p->urls[j];
	g->secret = p->secret;
}

unsigned api_groups_for(const struct api_cfg *cfg,
			const struct store_account *acc, struct api_group *g,
			unsigned cap)
{
	unsigned n = 0;
	if (acc->mode != STORE_TURN_OVERRIDE)
		for (unsigned i = 0; i < cfg->nplatform && n < cap; i++)
			group_from_platform(&g[n++], &cfg->platform[i]);
	if (acc->mode != STORE_TURN_PLATFORM)
		for (unsigned i = 0; i < acc->nservers && n < cap; i++)
			group_from_server(&g[n++], &acc->servers[i]);
	return n;
}
