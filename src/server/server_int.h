/* Internal to src/server. */
#ifndef TS_SERVER_INT_H
#define TS_SERVER_INT_H
#include <stdio.h>
#include <sys/types.h>

#include "api/api.h"
#include "net/net.h"
#include "server/config.h"
#include "server/revsync.h"
#include "turn/turn.h"

/* A turn_cfg and the policy it points to: built together, freed together. */
struct server_tcfg {
	struct turn_cfg tcfg;
	struct peer_policy *policy;
	struct turn_users userdb;  /* tcfg.userdb points here (userdb.c) */
	struct server_tcfg *older; /* kept while a worker may hold it */
	uint64_t gen;              /* reload generation (server_trim) */
	struct net_worker_update up; /* what a reload hands the workers */
};

/* Worker threads: relay-threads, or one per usable CPU. */
unsigned server_nthreads(const struct config *c);
void server_listen_cfg(const struct config *c, struct net_listen_cfg *lc);
bool server_listen_equal(const struct net_listen_cfg *a,
			 const struct net_listen_cfg *b);
/* Logs each listening address and what it serves, prefixed by when. */
void server_listen_log(const struct net_listen_cfg *lc, const char *when);
/* tlscfg.c */
bool server_tls_on(const struct config *c);
void server_listen_tls(const struct config *c, struct net_listen_cfg *lc);
/* *tp is NULL when TLS is off. 0, or EINVAL with a line on err naming
 * the key and the file. */
int server_tls_build(const struct config *c, struct net_tls **tp, FILE *err);
int server_tcfg_build(const struct config *c, const struct net_listen_cfg *lc,
		      struct server_tcfg **outp, FILE *err);
void server_tcfg_free(struct server_tcfg *o);
/* Adds what c->userdb (coturn's SQLite user database) holds for t's
 * realm: its users into users, its shared secrets to t's, its peer
 * ranges to p. 0, or an errno with the reason on err naming 'userdb'. */
int server_userdb_load(const struct config *c, struct turn_cfg *t,
		       struct turn_users *users, struct peer_policy *p, FILE *err);
/* The API's configuration from the daemon's. 0 or EINVAL (message on
 * err naming the key). */
int server_api_cfg(const struct config *c, const struct net_listen_cfg *lc,
		   struct api_cfg *a, FILE *err);
/* api-cert and api-pkey into a's PEM fields, checked (apitls.c). */
int server_api_tls(const struct config *c, struct api_cfg *a, FILE *err);

/* privs.c: proc-user and proc-group. */
struct server_privs {
	bool drop_user, drop_group;
	uid_t uid;
	gid_t gid;
	char user[64]; /* for initgroups */
};
/* Look the user and group up (at start and on --check-config). 0, or
 * EINVAL with a line on err naming the key. */
int server_privs_resolve(const struct config *c, struct server_privs *p,
			 FILE *err);
/* setgroups, setgid, setuid; then checks that root cannot come back. 0
 * or an errno value with a line on err naming the key. */
int server_privs_drop(const struct server_privs *p, FILE *err);
/* Create path (mode 600) for the user and group we drop to, if it does
 * not exist yet: the store, which the API opens after the drop (SQLite,
 * run as root, gives -wal and -shm the file's owner). 0 or errno. */
int server_privs_own_file(const struct server_privs *p, const char *path);
/* A warning naming path and its mode if it exists and group or others
 * may read or write it: the store holds TURN secrets and JWT signing
 * keys. The file is left as it is (the operator may mean it). */
void server_db_mode_warn(const char *path);
/* A bound, listening, non-blocking TCP socket for an HTTP server. 0 or
 * an errno value. */
int server_listen_tcp(const char *ip, uint16_t port, int *fdp);

/* Observability (server_obs.c, issue 5): the usage writer and the
 * Prometheus exporter, started and stopped around the workers. */
struct usage_log;
struct prom;
struct store;
struct server_obs {
	struct usage_log *usage;
	FILE *usagef;            /* --usage-log file (NULL for none or stdout) */
	struct store *store;     /* the writer's own connection to --db */
	struct prom *prom;
	int prom_fd;             /* bound by server_obs_bind, until attach */
	struct net_worker **workers;
	unsigned nworkers;
	struct turn_shared *sh;
	unsigned nports;
	const struct server_rvstat *rv; /* the revoked set's figures */
};
/* Before the workers start: open --usage-log and --db, start the writer. */
int server_obs_open(struct server_obs *o, const struct config *c);
/* --check-config: whether server_obs_open could open --usage-log, with
 * the start's message; nothing is created. */
int server_obs_check(const struct config *c, FILE *err);
/* Before any privilege drop: with --prometheus, bind its port. */
int server_obs_bind(struct server_obs *o, const struct config *c);
/* Once the workers exist: route their usage records to the writer, start
 * its thread and, with --prometheus, the exporter. */
int server_obs_attach(struct server_obs *o, const struct config *c,
		      struct net_worker **w, unsigned n, struct turn_shared *sh);
/* Before the workers are freed. */
void server_obs_stop_prom(struct server_obs *o);
/* SIGHUP: the usage-log opened again at its name (logrotate renamed it),
 * or a warning and the open file kept. */
void server_obs_reopen(struct server_obs *o, const struct config *c);
/* After the workers are freed (their last records are queued): drain and
 * close. */
void server_obs_close(struct server_obs *o);

/* Log destinations (server_log.c). */
struct server_logf;
struct server_log {
	FILE *f;                   /* --log-file in use, NULL for none */
	char path[256];
	FILE *next;                /* opened for a reload, not in use yet */
	bool syslog;               /* --syslog in use */
	struct server_logf *old;   /* files of earlier reloads, open till exit */
};
/* Whether fopen(path, "a") would succeed, without creating or changing
 * anything: a file that may be written, or a directory it may be
 * created in. 0 or an errno value. */
int server_file_appendable(const char *path);
/* --check-config: whether server_log_open could open --log-file, with
 * the start's message. */
int server_log_check(const struct config *c, FILE *err);
/* Open what c needs that is not open yet (a new log-file); nothing
 * changes for the logger. 0, or EINVAL with a line on err. */
int server_log_open(struct server_log *l, const struct config *c, FILE *err);
/* Route log lines as c says (after server_log_open), with its level and
 * format. */
void server_log_use(struct server_log *l, const struct config *c);
/* SIGHUP, whatever becomes of the reload: the log-file in use opened
 * again at its name, for logrotate (rename, then SIGHUP: copytruncate
 * loses lines). */
void server_log_reopen(struct server_log *l);
/* A reload that failed: close what server_log_open opened. */
void server_log_abort(struct server_log *l);
/* At exit, once no thread logs: back to stderr, close every file. */
void server_log_close(struct server_log *l);

/* ----- serve (server.c, server_reload.c) ----- */
#define SERVER_MAX_WORKERS 64

/* TLS contexts of earlier reloads: kept while a worker may still point
 * at them (sessions hold their own references to the SSL_CTX). */
struct server_tls {
	struct net_tls *tls;
	struct server_tls *older;
	uint64_t gen;
	uint64_t retired_ms; /* when a newer one took over (monotonic) */
};

/* Listening sets of earlier reloads: a worker may not have read its
 * pointer yet, so they stay until exit. */
struct server_lc {
	struct net_listen_cfg lc;
	struct server_lc *older;
};

struct server {
	struct config cfg;
	struct server_lc *lcs;
	struct server_tls *tls;
	int argc;
	char **argv;
	struct net_listen_cfg lc;
	struct server_tcfg *tcfg;
	struct turn_shared *sh;
	struct net_worker *workers[SERVER_MAX_WORKERS];
	struct api *api;
	struct server_revsync *revsync; /* revoked-from (revsync.c) */
	struct server_rvstat rvstat;    /* for Prometheus (revsync.h) */
	struct api_cfg acfg;
	/* The revoked set last handed to the workers (blocks.c); only the
	 * API's directory refresh touches it, one at a time. */
	struct turn_revoked *revoked;
	int api_fd;                  /* the API's listening socket (-1 none) */
	struct server_privs privs;   /* proc-user, proc-group (privs.c) */
	unsigned nworkers, nstarted;
	struct server_log log;     /* log-file, syslog (server_log.c) */
	struct server_obs obs; /* usage records, Prometheus (server_obs.c) */
	bool draining;
	/* The pidfile this process wrote, removed at exit ("" = none): a
	 * reload may name another, which is not ours to remove. */
	char pidfile[sizeof(((struct config *)0)->pidfile)];
	uint64_t drain_deadline; /* monotonic ms */
};

/* server.c: what start and reload both do. */
int server_load(struct config *c, int argc, char **argv, FILE *err);
int server_load_api(const struct config *c, struct api_cfg *a, FILE *err);
/* Build the TLS contexts and put them first in s->tls. */
int server_load_tls(struct server *s, const struct config *c, FILE *err);
const struct net_tls *server_tls_now(const struct server *s);
/* blocks.c: the API's api_cfg.dir_h, arg the server. */
void server_api_dir(void *arg, const struct store_snap *snap);
/* server_reload.c: SIGHUP. */
void server_reload(struct server *s);

#endif
