/* The daemon's side of issue 5: wiring the usage writer to the workers
 * and serving their counters to Prometheus. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "server/prom.h"
#include "server/server_int.h"
#include "server/usage.h"
#include "store/store.h"
#include "util/log.h"

int server_obs_open(struct server_obs *o, const struct config *c)
{
	memset(o, 0, sizeof(*o));
	o->prom_fd = -1;
	bool to_stdout = strcmp(c->usage_log, "-") == 0;
	if (!c->usage_log[0] && !c->db[0])
		return 0;
	if (c->usage_log[0] && !to_stdout &&
	    !(o->usagef = fopen(c->usage_log, "a"))) {
		log_err("cannot open usage-log '%s': %s", c->usage_log, strerror(errno));
		return EINVAL;
	}
	int err = c->db[0] ? store_open(&o->store, c->db) : 0;
	if (err)
		log_err("usage: cannot open the store '%s': %s", c->db, strerror(err));
	FILE *out = to_stdout ? stdout : o->usagef;
	if (!err)
		err = usage_log_alloc(&o->usage, USAGE_QUEUE_DEFAULT, out, o->store);
	return err;
}

int server_obs_check(const struct config *c, FILE *err)
{
	if (c->no_turn || !c->usage_log[0] || strcmp(c->usage_log, "-") == 0)
		return 0;
	int e = server_file_appendable(c->usage_log);
	if (e)
		fprintf(err, "turnstone: cannot open usage-log '%s': %s\n",
			c->usage_log, strerror(e));
	return e ? EINVAL : 0;
}

int server_obs_bind(struct server_obs *o, const struct config *c)
{
	if (!c->prometheus)
		return 0;
	int err = server_listen_tcp(c->prometheus_ip, c->prometheus_port, &o->prom_fd);
	if (err)
		log_err("prometheus: cannot listen on %s port %u: %s", c->prometheus_ip,
			c->prometheus_port, strerror(err));
	return err;
}

static void obs_view(void *arg, struct prom_view *v)
{
	const struct server_obs *o = arg;
	for (unsigned i = 0; i < o->nworkers && i < PROM_MAX_WORKERS; i++) {
		v->stats[i] = net_worker_stats(o->workers[i]);
		v->busy_ns[i] = net_worker_busy_ns(o->workers[i]);
		v->nworkers++;
	}
	v->ports_free = turn_shared_ports_free(o->sh, net_mono_ms());
	v->ports_total = o->nports;
	v->bps_granted = turn_shared_bps_granted(o->sh);
	v->usage_dropped = o->usage ? usage_log_dropped(o->usage) : 0;
	if (o->rv) {
		v->rv_users = atomic_load(&o->rv->users);
		v->rv_accounts = atomic_load(&o->rv->accounts);
		v->rv_polling = o->rv->polling;
		v->rv_failures = atomic_load(&o->rv->poll_failures);
		v->rv_last_ok = atomic_load(&o->rv->last_ok);
	}
}

int server_obs_attach(struct server_obs *o, const struct config *c,
		      struct net_worker **w, unsigned n, struct turn_shared *sh)
{
	o->workers = w;
	o->nworkers = n;
	o->sh = sh;
	o->nports = (unsigned)(c->max_port - c->min_port + 1);
	for (unsigned i = 0; o->usage && i < n; i++)
		net_worker_set_usage_h(w[i], usage_log_record, o->usage);
	/* The writer's thread starts here, after any privilege drop. */
	if (o->usage && usage_log_start(o->usage) != 0)
		return EAGAIN;
	if (!c->prometheus)
		return 0;
	int fd = o->prom_fd;
	o->prom_fd = -1; /* handed over */
	int err = prom_start(&o->prom, c->prometheus_ip, c->prometheus_port, fd,
			     obs_view, o);
	if (err)
		log_err("prometheus: cannot listen on %s port %u", c->prometheus_ip,
			c->prometheus_port);
	else
		log_info("prometheus exporter on %s port %u", c->prometheus_ip,
			 c->prometheus_port);
	return err;
}

void server_obs_reopen(struct server_obs *o, const struct config *c)
{
	if (!o->usagef || !o->usage)
		return;
	FILE *f = fopen(c->usage_log, "a");
	if (f)
		usage_log_reopen(o->usage, f);
	else
		log_warn("reload: cannot open usage-log '%s' again: %s; writing on "
			 "to the file already open", c->usage_log, strerror(errno));
}

void server_obs_stop_prom(struct server_obs *o)
{
	prom_stop(o->prom);
	o->prom = NULL;
}

void server_obs_close(struct server_obs *o)
{
	usage_log_free(o->usage); /* writes what the workers queued last */
	o->usage = NULL;
	store_close(o->store);
	if (o->usagef)
		fclose(o->usagef);
	if (o->prom_fd >= 0)
		close(o->prom_fd);
	memset(o, 0, sizeof(*o));
	o->prom_fd = -1;
}
