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
	struct server_tcfg *older; /* kept until exit: workers may hold it */
};

void server_listen_cfg(const struct config *c, struct net_listen_cfg *lc);
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

#endif
