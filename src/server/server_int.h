/* Internal to src/server. */
#ifndef TS_SERVER_INT_H
#define TS_SERVER_INT_H
#include <stdio.h>

#include "api/api.h"
#include "net/net.h"
#include "server/config.h"
#include "turn/turn.h"

/* A turn_cfg and the policy it points to: built together, freed together. */
struct server_tcfg {
	struct turn_cfg tcfg;
	struct peer_policy *policy;
	struct server_tcfg *older; /* kept while a worker may hold it */
	uint64_t gen;              /* reload generation (server_trim) */
};

void server_listen_cfg(const struct config *c, struct net_listen_cfg *lc);
bool server_listen_equal(const struct net_listen_cfg *a,
			 const struct net_listen_cfg *b);
/* tlscfg.c */
bool server_tls_on(const struct config *c);
void server_listen_tls(const struct config *c, struct net_listen_cfg *lc);
/* *tp is NULL when TLS is off. 0, or EINVAL with a line on err naming
 * the key and the file. */
int server_tls_build(const struct config *c, struct net_tls **tp, FILE *err);
int server_tcfg_build(const struct config *c, const struct net_listen_cfg *lc,
		      struct server_tcfg **outp, FILE *err);
void server_tcfg_free(struct server_tcfg *o);
/* The API's configuration from the daemon's. 0 or EINVAL (message on
 * err naming the key). */
int server_api_cfg(const struct config *c, const struct net_listen_cfg *lc,
		   struct api_cfg *a, FILE *err);

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
	struct net_worker **workers;
	unsigned nworkers;
	struct turn_shared *sh;
	unsigned nports;
};
/* Before the workers start: open --usage-log and --db, start the writer. */
int server_obs_open(struct server_obs *o, const struct config *c);
/* Once the workers exist: route their usage records to the writer and,
 * with --prometheus, start the exporter. */
int server_obs_attach(struct server_obs *o, const struct config *c,
		      struct net_worker **w, unsigned n, struct turn_shared *sh);
/* Before the workers are freed. */
void server_obs_stop_prom(struct server_obs *o);
/* After the workers are freed (their last records are queued): drain and
 * close. */
void server_obs_close(struct server_obs *o);

#endif
