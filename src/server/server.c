/* turnstone serve: parse, build, start one worker per core, then wait for
 * signals. SIGTERM/SIGINT drain briefly (no new allocations, 5 s);
 * SIGUSR1 (or POST /v1/admin/drain) drains for up to --drain-timeout, so
 * calls in progress finish; SIGHUP rebuilds the TURN configuration and
 * swaps it in. The service manager hears of each step (notify.c). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "server/daemon.h"
#include "server/notify.h"
#include "server/revsync.h"
#include "server/server.h"
#include "server/server_int.h"
#include "store/store.h"
#include "util/log.h"
#include "util/version.h"

#define SERVER_DRAIN_MS 5000

int server_load(struct config *c, int argc, char **argv, FILE *err)
{
	config_defaults(c);
	if (config_parse_args(c, argc, argv, err) != 0)
		return EINVAL;
	return config_validate(c, err);
}

/* The API's part of the configuration, checked with the rest so that
 * --check-config catches a bad api-turn-server too. */
int server_load_api(const struct config *c, struct api_cfg *a,
			   FILE *err)
{
	struct net_listen_cfg lc;
	if (!c->api_port)
		return 0;
	server_listen_cfg(c, &lc);
	return server_api_cfg(c, &lc, a, err);
}

/* Build the TLS contexts and put them first in s->tls. */
int server_load_tls(struct server *s, const struct config *c,
			   FILE *errf)
{
	struct net_tls *t;
	int err = server_tls_build(c, &t, errf);
	if (err || !t)
		return err;
	struct server_tls *st = calloc(1, sizeof(*st));
	if (!st) {
		net_tls_free(t);
		return ENOMEM;
	}
	st->tls = t;
	st->older = s->tls;
	st->gen = s->tls ? s->tls->gen + 1 : 0;
	if (s->tls)
		s->tls->retired_ms = net_mono_ms();
	s->tls = st;
	return 0;
}

const struct net_tls *server_tls_now(const struct server *s)
{
	return s->tls ? s->tls->tls : NULL;
}

/* The workers bind with SO_REUSEPORT, and so may another process of the
 * same user (a second turnstone, coturn): the kernel would split the
 * clients between the two without a word. Binding each address once
 * without it first fails on a port that anyone holds. */
static int server_listen_free(const struct server *s)
{
	struct net_listen_cfg none;
	char why[256];
	memset(&none, 0, sizeof(none));
	int err = net_listen_check(&none, &s->lc, why, sizeof(why));
	if (err)
		log_err("%s", why);
	return err;
}

static int server_alloc_workers(struct server *s)
{
	if (s->cfg.no_turn)
		return 0;
	int err = server_listen_free(s);
	if (err)
		return err;
	unsigned n = server_nthreads(&s->cfg);
	for (unsigned i = 0; i < n; i++) {
		err = net_worker_alloc(&s->workers[i], i, &s->lc, &s->tcfg->tcfg,
				       s->sh, server_tls_now(s));
		if (err) {
			log_err("worker %u: cannot listen: %s", i, strerror(err));
			return err;
		}
		s->nworkers++;
	}
	return 0;
}

static int server_start_workers(struct server *s)
{
	if (s->cfg.no_turn)
		return 0;
	/* Fixed before the exporter's thread starts reading it. */
	s->rvstat.polling = s->cfg.revoked_from[0] != '\0';
	s->obs.rv = &s->rvstat;
	int err = server_obs_attach(&s->obs, &s->cfg, s->workers, s->nworkers, s->sh);
	if (err)
		return err;
	for (unsigned i = 0; i < s->nworkers; i++) {
		if (net_worker_start(s->workers[i]) != 0)
			return EAGAIN;
		s->nstarted++;
	}
	return 0;
}

static void server_banner(const struct server *s)
{
	char r[SA_STRLEN] = "none";
	const struct turn_cfg *t = &s->tcfg->tcfg;
	log_info("turnstone %s, %s", ts_version(), OpenSSL_version(OPENSSL_VERSION));
	if (s->cfg.no_turn) {
		log_info("TURN off (--no-turn): API-only node");
		return;
	}
	server_listen_log(&s->lc, "");
	if (sa_af(&t->relay4))
		sa_fmt_ip(&t->relay4, r, sizeof(r));
	log_info("relay %s ports %u-%u, %u workers, realm '%s'%s", r,
		 s->cfg.min_port, s->cfg.max_port, s->nworkers, t->realm,
		 s->cfg.allow_loopback_peers ? ", loopback peers ALLOWED (testing only)" : "");
}

static int server_api_drain(void *arg)
{
	(void)arg;
	return kill(getpid(), SIGUSR1) == 0 ? 0 : errno;
}

/* No new allocations (300 to an alternate, else 508); exit once the last
 * allocation is gone or at the deadline. A second request may only bring
 * the deadline closer: SIGTERM during a long drain still stops in 5 s. */
static void server_drain(struct server *s, uint64_t ms, const char *why)
{
	uint64_t deadline = net_mono_ms() + ms;
	if (s->draining && deadline >= s->drain_deadline)
		return;
	if (!s->draining)
		notify_stopping();
	s->draining = true;
	s->drain_deadline = deadline;
	log_info("%s: draining: no new allocations; exiting when none are "
		 "left or in %llu s", why, (unsigned long long)(ms / 1000));
	for (unsigned i = 0; i < s->nworkers; i++)
		net_worker_drain(s->workers[i], deadline);
}

static bool server_workers_done(const struct server *s)
{
	for (unsigned i = 0; i < s->nstarted; i++)
		if (!net_worker_done(s->workers[i]))
			return false;
	return true;
}

/* POST /v1/admin/drain, on an HTTP thread: the same path as SIGUSR1, so
 * the main thread alone changes state. */
static void server_wait(struct server *s, const sigset_t *set)
{
	/* While draining, look at the workers every 100 ms. */
	const struct timespec tick = {0, 100 * 1000000L};
	for (;;) {
		if (s->draining && server_workers_done(s))
			return;
		int sig = s->draining ? sigtimedwait(set, NULL, &tick)
				      : sigwaitinfo(set, NULL);
		if (sig == SIGHUP)
			server_reload(s);
		else if (sig == SIGUSR1)
			server_drain(s, (uint64_t)s->cfg.drain_timeout * 1000, "SIGUSR1");
		else if (sig == SIGTERM || sig == SIGINT)
			server_drain(s, SERVER_DRAIN_MS,
				     sig == SIGTERM ? "SIGTERM" : "SIGINT");
	}
}

static void server_cleanup(struct server *s)
{
	api_stop(s->api);
	server_revsync_stop(s->revsync); /* it hands the workers sets */
	turn_revoked_put(s->revoked); /* nothing hands out sets any more */
	server_obs_stop_prom(&s->obs);
	explicit_bzero(&s->acfg, sizeof(s->acfg));
	/* Workers that run must stop before anything they use is freed. */
	for (unsigned i = 0; i < s->nstarted; i++)
		net_worker_drain(s->workers[i], 0);
	for (unsigned i = 0; i < s->nstarted; i++)
		net_worker_join(s->workers[i]);
	for (unsigned i = 0; i < s->nworkers; i++)
		net_worker_free(s->workers[i]);
	server_obs_close(&s->obs);
	turn_shared_free(s->sh);
	while (s->lcs) {
		struct server_lc *older = s->lcs->older;
		free(s->lcs);
		s->lcs = older;
	}
	while (s->tls) {
		struct server_tls *older = s->tls->older;
		net_tls_free(s->tls->tls);
		free(s->tls);
		s->tls = older;
	}
	while (s->tcfg) {
		struct server_tcfg *older = s->tcfg->older;
		server_tcfg_free(s->tcfg);
		s->tcfg = older;
	}
	if (s->api_fd >= 0)
		close(s->api_fd);
	/* Only our own: a start that failed must not remove the pidfile of
	 * the instance that runs. May fail once proc-user has dropped root;
	 * the manager copes. */
	if (s->pidfile[0])
		unlink(s->pidfile);
	server_log_close(&s->log);
	explicit_bzero(&s->cfg, sizeof(s->cfg));
}

static int server_setup(struct server *s)
{
	if (server_log_open(&s->log, &s->cfg, stderr) != 0)
		return EINVAL;
	server_log_use(&s->log, &s->cfg);
	server_listen_cfg(&s->cfg, &s->lc);
	int err = server_load_tls(s, &s->cfg, stderr);
	if (!err)
		err = server_tcfg_build(&s->cfg, &s->lc, &s->tcfg, stderr);
	if (!err)
		err = turn_shared_alloc(&s->sh, s->cfg.min_port, s->cfg.max_port);
	if (!err)
		server_db_mode_warn(s->cfg.db);
	if (!err && (err = server_privs_own_file(&s->privs, s->cfg.db)) != 0)
		log_err("cannot create the store '%s' for 'proc-user': %s",
			s->cfg.db, strerror(err));
	if (!err && !s->cfg.no_turn)
		err = server_obs_open(&s->obs, &s->cfg);
	return err;
}

static void server_pidfile(struct server *s)
{
	if (!s->cfg.pidfile[0])
		return;
	/* Written as root before proc-user drops it: a symlink there (which
	 * a process of that user could plant) is not followed. */
	int fd = open(s->cfg.pidfile, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
					      O_CLOEXEC, 0644);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		log_warn("cannot write pidfile %s: %s", s->cfg.pidfile, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	/* ours from here, even if cut short */
	snprintf(s->pidfile, sizeof(s->pidfile), "%s", s->cfg.pidfile);
	fprintf(f, "%ld\n", (long)getpid());
	fclose(f);
}

/* Everything that may need root, before proc-user gives it up: the
 * listening sockets (TURN, Prometheus, API) and the pidfile. The log
 * file, TLS keys, usage log and store were opened by server_setup. */
static int server_bind(struct server *s)
{
	int err = server_alloc_workers(s);
	if (!err && !s->cfg.no_turn)
		err = server_obs_bind(&s->obs, &s->cfg);
	if (!err && s->cfg.api_port) {
		err = server_listen_tcp(s->acfg.listen_ip, s->acfg.port, &s->api_fd);
		if (err)
			log_err("api: cannot listen on %s port %u: %s", s->acfg.listen_ip,
				s->acfg.port, strerror(err));
		s->acfg.listen_fd = s->api_fd;
	}
	if (!err)
		server_pidfile(s);
	return err;
}

/* Before any thread starts: a thread would otherwise serve the network
 * as root until the drop reached it. */
static int server_drop(struct server *s)
{
	if (!s->privs.drop_group)
		return 0;
	int err = server_privs_drop(&s->privs, stderr);
	if (err) {
		log_err("cannot drop privileges ('%s')", s->privs.drop_user
			? "proc-user" : "proc-group");
		return err;
	}
	log_info("running as uid %u gid %u (%s)", (unsigned)getuid(),
		 (unsigned)getgid(), s->privs.drop_user ? "proc-user" : "proc-group");
	return 0;
}

static void server_usage(void)
{
	printf("usage: turnstone serve [options] [-c FILE]\n"
	       "Options use coturn's long names: --listening-ip, --listening-port,\n"
	       "--relay-ip, --external-ip, --min-port, --max-port, --no-udp, --no-tcp,\n"
	       "--realm, --use-auth-secret, --static-auth-secret, --user NAME:PASS,\n"
	       "--denied-peer-ip, --allowed-peer-ip, --allow-loopback-peers,\n"
	       "--user-quota, --total-quota, --max-allocate-lifetime,\n"
	       "--channel-lifetime, --permission-lifetime, --stale-nonce,\n"
	       "--rest-api-separator C, --stun-only, --no-stun, --secure-stun,\n"
	       "--no-udp-relay, --no-tcp-relay, --allocation-default-address-family,\n"
	       "--relay-threads, --pidfile, --daemon (-o), --log-file,\n"
	       "--log-format text|json, --syslog, --syslog-facility, --no-stdout-log,\n"
	       "--log-binding, --software-attribute,\n"
	       "--alternate-server IP[:PORT], --alternate-domain NAME,\n"
	       "--tls-alternate-server IP[:PORT],\n"
	       "--drain-timeout SECONDS, --verbose, --check-config,\n"
	       "--tls-listening-port, --cert, --pkey, --CA-file, --cipher-list,\n"
	       "--no-tls, --no-dtls, --no-tlsv1_2, --dh-file, --ec-curve-name,\n"
	       "--pkey-pwd, --proc-user, --proc-group.\n"
	       "Signals: HUP reloads, USR1 drains, TERM/INT stop (5 s drain).\n"
	       "See turnstone(8), turnstone.conf(5) and docs/coturn-migration.md.\n");
}

/* --check-config only: the store the start would open (no daemon holds
 * it, so store_file_check's close drops no lock of ours). */
static int server_db_check(const struct config *c, FILE *err)
{
	const char *why = NULL;
	int e = c->db[0] ? store_file_check(c->db, &why) : 0;
	if (e)
		fprintf(err, "turnstone: invalid value for 'db': '%s': %s\n", c->db,
			why ? why : strerror(e));
	return e;
}

int server_main(int argc, char **argv)
{
	/* Anywhere on the line, as coturn takes them. */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			server_usage();
			return 0;
		}
		if (strcmp(argv[i], "--version") == 0) {
			printf("turnstone %s\n", ts_version());
			return 0;
		}
	}
	/* SIGHUP and SIGUSR1 kill by default: one sent while the start still
	 * reads its files (logrotate, a reload during a slow start) would end
	 * the daemon. Blocked from here, it waits for server_wait. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	struct server *s = calloc(1, sizeof(*s));
	if (!s)
		return 1;
	s->argc = argc;
	s->argv = argv;
	s->api_fd = -1;
	s->obs.prom_fd = -1;
	int rc = 2, ready_fd = -1; /* ready_fd: daemon.h */
	if (server_load(&s->cfg, argc, argv, stderr) != 0 ||
	    server_load_api(&s->cfg, &s->acfg, stderr) != 0 ||
	    server_revsync_check(&s->cfg, stderr) != 0 ||
	    server_privs_resolve(&s->cfg, &s->privs, stderr) != 0)
		goto out;
	s->acfg.drain_h = server_api_drain;
	s->acfg.dir_h = server_api_dir;
	s->acfg.dir_arg = s;
	if (s->cfg.check_config) {
		/* The TURN configuration too: it reads the userdb. */
		struct server_tcfg *t = NULL;
		server_listen_cfg(&s->cfg, &s->lc);
		if (server_load_tls(s, &s->cfg, stderr) != 0 ||
		    server_tcfg_build(&s->cfg, &s->lc, &t, stderr) != 0)
			goto out;
		server_tcfg_free(t);
		/* The files the start opens, as it would (no ports are bound). */
		if (server_db_check(&s->cfg, stderr) != 0 ||
		    server_log_check(&s->cfg, stderr) != 0 ||
		    server_obs_check(&s->cfg, stderr) != 0)
			goto out;
		server_db_mode_warn(s->cfg.db); /* as server_setup does */
		printf("configuration OK\n");
		rc = 0;
		goto out;
	}
	/* Before any thread: fork copies only the calling one. */
	if (s->cfg.daemon) {
		int err = server_daemonize(&ready_fd);
		if (err) {
			fprintf(stderr, "turnstone: cannot run in the background: "
				"%s\n", strerror(err));
			goto out;
		}
	}
	if (server_setup(s) != 0)
		goto out;
	/* Workers inherit this mask: only the main thread takes signals. */
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	rc = 1;
	if (server_bind(s) != 0 || server_drop(s) != 0)
		goto out;
	if (server_start_workers(s) != 0)
		goto out;
	if (s->cfg.api_port && api_start(&s->api, &s->acfg) != 0)
		goto out;
	if (s->cfg.revoked_from[0] &&
	    server_revsync_start(&s->revsync, &s->cfg, s->workers, s->nworkers,
				 &s->rvstat)) {
		log_err("revoked-from: cannot start polling");
		goto out;
	}
	server_banner(s);
	notify_ready();
	server_daemon_ready(&ready_fd, 0);
	server_wait(s, &set);
	for (unsigned i = 0; i < s->nstarted; i++)
		net_worker_join(s->workers[i]);
	s->nstarted = 0;
	log_info("stopped");
	rc = 0;
out:
	server_daemon_ready(&ready_fd, rc); /* a failed start, if not said */
	server_cleanup(s);
	free(s);
	return rc;
}
