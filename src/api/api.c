/* Starting and stopping the API: store, directory, limits, health checks
 * and the HTTP threads, in that order, and the reverse on the way out. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "util/cond.h"
#include "util/log.h"

#define API_LIMIT_SLOTS 4096
/* End users outnumber accounts; calloc'ed, so untouched slots cost no
 * memory until used. */
#define API_USER_LIMIT_SLOTS 65536

static int api_open_store(struct api *a)
{
	int err = store_open(&a->store, a->cfg.db_path);
	if (err) {
		log_err("api: cannot open store '%s': %s", a->cfg.db_path,
			strerror(err));
		return err;
	}
	err = api_dir_refresh(a);
	if (err)
		log_err("api: cannot read store '%s': %s", a->cfg.db_path,
			strerror(err));
	atomic_store(&a->store_ok, err == 0);
	return err;
}

static int api_start_parts(struct api *a)
{
	int err = api_limit_alloc(&a->ip_limit, API_LIMIT_SLOTS);
	if (!err)
		err = api_limit_alloc(&a->acct_limit, API_LIMIT_SLOTS);
	if (!err)
		err = api_limit_alloc(&a->user_limit, API_USER_LIMIT_SLOTS);
	if (!err && a->cfg.health_interval_ms)
		err = api_health_start(&a->health, a->cfg.health_interval_ms,
				       a->cfg.health_failures);
	if (!err)
		err = api_ranges_build(a);
	if (!err)
		err = api_open_store(a);
	if (!err)
		err = api_dir_watch_start(a);
	if (!err) {
		err = api_http_start(a);
		if (err)
			log_err("api: cannot listen on %s port %u", a->cfg.listen_ip,
				a->cfg.port);
	}
	return err;
}

int api_start(struct api **ap, const struct api_cfg *cfg)
{
	struct api *a = calloc(1, sizeof(*a));
	if (!a)
		return ENOMEM;
	a->cfg = *cfg;
	pthread_mutex_init(&a->dir_mu, NULL);
	pthread_mutex_init(&a->wait_mu, NULL);
	log_limit_init(&a->mhdlog, API_MHD_LOG_PER_S);
	cond_init_mono(&a->wait_cv);
	int err = api_start_parts(a);
	if (err) {
		api_stop(a);
		return err;
	}
	log_info("api: listening on %s://%s:%u (store %s, %u platform server%s)",
		 cfg->tls_cert[0] ? "https" : "http", cfg->listen_ip, cfg->port,
		 cfg->db_path, cfg->nplatform,
		 cfg->nplatform == 1 ? "" : "s");
	*ap = a;
	return 0;
}

void api_stop(struct api *a)
{
	if (!a)
		return;
	api_http_stop(a);
	api_dir_watch_stop(a);
	api_health_stop(a->health);
	api_dir_put(a->dir);
	if (a->store)
		store_close(a->store);
	api_limit_free(a->ip_limit);
	api_limit_free(a->acct_limit);
	api_limit_free(a->user_limit);
	free(a->ranges_body);
	pthread_cond_destroy(&a->wait_cv);
	pthread_mutex_destroy(&a->wait_mu);
	log_limit_destroy(&a->mhdlog);
	pthread_mutex_destroy(&a->dir_mu);
	explicit_bzero(&a->cfg, sizeof(a->cfg));
	free(a);
}
