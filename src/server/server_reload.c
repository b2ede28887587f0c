/* SIGHUP (serve): rebuild the configuration, TLS contexts, listening set
 * and the API's options, and swap them in, or keep the running ones when
 * anything is wrong. Also frees what earlier reloads left once no worker
 * can reach it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/notify.h"
#include "server/revsync.h"
#include "server/server_int.h"
#include "util/log.h"

/* Free the TURN configurations and TLS contexts of earlier reloads that
 * no worker can reach any more: those older than the oldest one a worker
 * has applied. A worker only ever moves to newer ones (what it has not
 * picked up yet is newer still), so those can never come back. Without
 * this, every SIGHUP would keep about 20 KB plus the TLS contexts. */
static void server_trim(struct server *s)
{
	uint64_t tmin = UINT64_MAX, lmin = UINT64_MAX;
	for (unsigned i = 0; i < s->nworkers; i++) {
		const struct turn_cfg *tc;
		const struct net_tls *tl;
		net_worker_in_use(s->workers[i], &tc, &tl);
		struct server_tcfg *t = s->tcfg;
		while (t && &t->tcfg != tc)
			t = t->older;
		struct server_tls *x = s->tls;
		while (x && tl && x->tls != tl)
			x = x->older;
		if (!t || (tl && !x))
			return; /* not found: keep everything */
		tmin = t->gen < tmin ? t->gen : tmin;
		if (x)
			lmin = x->gen < lmin ? x->gen : lmin;
	}
	for (struct server_tcfg *p = s->tcfg; p && p->older;) {
		struct server_tcfg *o = p->older;
		if (o->gen < tmin) {
			p->older = o->older;
			server_tcfg_free(o);
		} else {
			p = o;
		}
	}
	for (struct server_tls *p = s->tls; p && p->older;) {
		struct server_tls *o = p->older;
		/* DTLS handshakes begun on an old context may still call its
		 * cookie callbacks, whose key lives here: a minute's grace
		 * (handshakes are cut after 10 s). */
		if (o->gen < lmin && net_mono_ms() - o->retired_ms > 60000) {
			p->older = o->older;
			net_tls_free(o->tls);
			free(o);
		} else {
			p = o;
		}
	}
}

/* The keys serve acts on once, at start, that a reload changed (the
 * first of them, quoted), or NULL: a reload that changes one fails
 * naming it, rather than going on without it. */
static const char *server_restart_key(const struct config *n,
				      const struct config *o)
{
	/* The relay port pool is sized at start and shared by all workers. */
	if (n->min_port != o->min_port || n->max_port != o->max_port)
		return "'min-port' or 'max-port'";
	/* Root is gone: another user or group could not be had. */
	if (strcmp(n->proc_user, o->proc_user) || strcmp(n->proc_group, o->proc_group))
		return "'proc-user' or 'proc-group'";
	if (n->relay_threads != o->relay_threads)
		return "'relay-threads'"; /* the workers run */
	if (n->no_turn != o->no_turn)
		return "'no-turn'";
	/* The usage writer's file and store, the exporter's socket. */
	if (strcmp(n->usage_log, o->usage_log))
		return "'usage-log'";
	if (strcmp(n->db, o->db))
		return "'db'";
	if (n->prometheus != o->prometheus || n->prometheus_port != o->prometheus_port ||
	    strcmp(n->prometheus_ip, o->prometheus_ip))
		return "'prometheus', 'prometheus-port' or 'prometheus-address'";
	if (strcmp(n->pidfile, o->pidfile))
		return "'pidfile'";
	if (n->daemon != o->daemon)
		return "'daemon'";
	/* The poller's thread was started with them. */
	if (strcmp(n->revoked_from, o->revoked_from) ||
	    n->revoked_interval != o->revoked_interval ||
	    strcmp(n->revoked_ca_file, o->revoked_ca_file))
		return "'revoked-from', 'revoked-interval' or 'revoked-ca-file'";
	return NULL;
}

/* Parse and build everything a reload needs; nothing is swapped yet.
 * *lcp is the new listening set, or NULL when it is unchanged. */
static int server_reload_build(struct server *s, struct config *c,
			       struct server_tcfg **tp, struct server_lc **lcp,
			       struct api_cfg *na, FILE *err)
{
	*lcp = NULL;
	if (server_load(c, s->argc, s->argv, err) != 0 ||
	    server_load_api(c, na, err) != 0 || server_log_open(&s->log, c, err) != 0)
		return EINVAL;
	const char *fixed = server_restart_key(c, &s->cfg);
	if (fixed) {
		log_err("reload: changing %s needs a restart", fixed);
		return EINVAL;
	}
	na->drain_h = s->acfg.drain_h; /* the same handlers as at start */
	na->dir_h = s->acfg.dir_h;
	na->dir_arg = s->acfg.dir_arg;
	struct server_lc *nl = calloc(1, sizeof(*nl));
	if (!nl)
		return ENOMEM;
	server_listen_cfg(c, &nl->lc);
	if (server_listen_equal(&nl->lc, &s->lc)) {
		free(nl);
		nl = NULL;
	} else {
		char why[256];
		if (net_listen_check(&s->lc, &nl->lc, why, sizeof(why)) != 0) {
			log_err("reload: %s", why);
			free(nl);
			return EADDRINUSE;
		}
	}
	if (server_tcfg_build(c, nl ? &nl->lc : &s->lc, tp, err) != 0) {
		free(nl);
		return EINVAL;
	}
	*lcp = nl;
	/* Nonces stay valid across a reload: a new key would answer every
	 * client's next request with 438 at once. */
	(*tp)->tcfg.nonce_key = s->tcfg->tcfg.nonce_key;
	if (server_load_tls(s, c, err) != 0) {
		server_tcfg_free(*tp);
		free(nl);
		*lcp = NULL;
		return EINVAL;
	}
	return 0;
}

/* The same port on an address that overlaps the old one (127.0.0.1 to
 * 0.0.0.0, or back): the kernel refuses both at once, so the old socket
 * goes first. If the new one cannot be had after all, the old one is
 * bound again (the API stays down, logged, if even that fails). */
static int server_reload_api_overlap(struct server *s, struct api_cfg *na)
{
	api_stop(s->api);
	s->api = NULL;
	close(s->api_fd);
	s->api_fd = s->acfg.listen_fd = -1;
	int err = server_listen_tcp(na->listen_ip, na->port, &na->listen_fd);
	if (!err)
		return 0;
	if (server_listen_tcp(s->acfg.listen_ip, s->acfg.port, &s->api_fd) == 0) {
		s->acfg.listen_fd = s->api_fd;
		if (api_start(&s->api, &s->acfg) == 0)
			return err;
		close(s->api_fd);
		s->api_fd = s->acfg.listen_fd = -1;
	}
	log_err("api: cannot listen on its old address %s port %u again either; "
		"the API is down until a reload or restart", s->acfg.listen_ip,
		s->acfg.port);
	return err;
}

/* The API restarts, on its new options, only when they changed: for a
 * moment it does not listen. If it cannot start, the old options come
 * back. */
static void server_reload_api(struct server *s, const struct config *c,
			      struct api_cfg *na)
{
	bool same = s->api_fd >= 0 && na->port == s->acfg.port &&
		    strcmp(na->listen_ip, s->acfg.listen_ip) == 0;
	if (c->api_port)
		na->listen_fd = same ? s->api_fd : -1;
	if (memcmp(na, &s->acfg, sizeof(*na)) == 0 && (s->api != NULL) == (c->api_port != 0))
		return;
	/* A new address is bound while the old one still listens: after a
	 * proc-user drop the old port may be one we could not bind again. */
	int err = c->api_port && !same
		  ? server_listen_tcp(na->listen_ip, na->port, &na->listen_fd) : 0;
	if (err == EADDRINUSE && s->api_fd >= 0 && na->port == s->acfg.port)
		err = server_reload_api_overlap(s, na);
	if (err) {
		log_err("reload: the API cannot listen on %s port %u: %s; keeping "
			"the old options", na->listen_ip, na->port, strerror(err));
		return;
	}
	api_stop(s->api);
	s->api = NULL;
	if (!c->api_port) {
		s->acfg = *na;
		if (s->api_fd >= 0)
			close(s->api_fd);
		s->api_fd = -1;
		log_info("api: stopped (no api-listening-port)");
		return;
	}
	if (api_start(&s->api, na) == 0) {
		if (s->api_fd >= 0 && !same)
			close(s->api_fd);
		s->api_fd = na->listen_fd;
		s->acfg = *na;
		return;
	}
	if (!same)
		close(na->listen_fd);
	log_err("reload: the API does not start on its new options; keeping the old ones");
	if (s->acfg.port && api_start(&s->api, &s->acfg) != 0)
		log_err("api: cannot start again on the old options either");
}

/* Keep a new listening set (the workers get it with the rest) and say
 * what now listens. */
static void server_relisten(struct server *s, struct server_lc *nl)
{
	nl->older = s->lcs;
	s->lcs = nl;
	s->lc = nl->lc;
	server_listen_log(&s->lc, "now ");
}

/* One update per worker, whole (net_worker_set_update): the set of the
 * last reload that changed it, or none since the start (NULL: the
 * workers still have the start's). */
static void server_hand_over(struct server *s, struct server_tcfg *t)
{
	t->up.cfg = &t->tcfg;
	t->up.tls = server_tls_now(s);
	t->up.lc = s->lcs ? &s->lcs->lc : NULL;
	for (unsigned i = 0; i < s->nworkers; i++)
		net_worker_set_update(s->workers[i], &t->up);
}

/* What a reload found wrong (the lines naming the key that a start
 * prints on stderr), to the log: a daemon's stderr is /dev/null, and with
 * log-file or syslog the log is where an operator looks. */
static void server_reload_report(FILE *f, char **buf)
{
	if (f == stderr)
		return;
	fclose(f);
	for (char *save = NULL, *l = strtok_r(*buf, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		if (strncmp(l, "turnstone: ", 11) == 0)
			l += 11;
		if (strncmp(l, "warning: ", 9) == 0)
			log_warn("reload: %s", l + 9);
		else
			log_err("reload: %s", l);
	}
	free(*buf);
	*buf = NULL;
}

/* SIGHUP: a bad new configuration, certificate or key, or a new
 * listening address that cannot be bound, keeps the old one running.
 * Otherwise everything is swapped: listeners, TLS, certificates, all the
 * TURN core reads (secrets, users, peer policy, quotas, limits) and the
 * API's options; allocations survive. */
void server_reload(struct server *s)
{
	struct config *c = calloc(1, sizeof(*c));
	struct server_tcfg *t = NULL;
	struct server_lc *nl = NULL;
	struct api_cfg *na = calloc(1, sizeof(*na));
	char *ebuf = NULL;
	size_t elen = 0;
	FILE *ef = open_memstream(&ebuf, &elen);
	notify_reloading();
	/* Before the new configuration is even read: a rotation must not
	 * wait on an edit of it that does not load. */
	server_log_reopen(&s->log);
	server_obs_reopen(&s->obs, &s->cfg);
	server_trim(s);
	int err = !c || !na ? ENOMEM
			    : server_reload_build(s, c, &t, &nl, na, ef ? ef : stderr);
	server_reload_report(ef ? ef : stderr, &ebuf);
	if (err) {
		log_err("reload failed; keeping the running configuration");
		server_log_abort(&s->log);
		free(c);
		if (na)
			explicit_bzero(na, sizeof(*na));
		free(na);
		notify_ready();
		return;
	}
	if (nl)
		server_relisten(s, nl);
	server_log_use(&s->log, c);
	t->older = s->tcfg;
	t->gen = s->tcfg->gen + 1;
	s->tcfg = t;
	s->cfg = *c;
	free(c);
	server_hand_over(s, t);
	if (s->cfg.nsecrets) /* a rotated secret signs the next poll */
		server_revsync_secret(s->revsync, s->cfg.secrets[0]);
	server_reload_api(s, &s->cfg, na);
	explicit_bzero(na, sizeof(*na));
	free(na);
	log_info("configuration reloaded");
	notify_ready();
}
