/* Prometheus text exposition of the TURN counters (see prom.h). A scrape
 * reads each worker's counters with relaxed loads: no lock is shared with
 * the packet path, and a scrape that races a packet is off by that one
 * packet, as any counter read is. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include "server/prom.h"
#include "util/log_limit.h"
#include "util/sa.h"

/* libmicrohttpd's messages a second (prom_mhd_log). */
#define PROM_LOG_PER_S 10

struct prom {
	struct MHD_Daemon *mhd;
	prom_view_h *h;
	void *arg;
	struct log_limit mhdlog;
};

static const char *const tp_label[TURN_TP_COUNT] = {"udp", "tcp", "dtls", "tls"};
static const char *const dir_label[2] = {"client_to_peer", "peer_to_client"};
static const char *const af_label[TURN_AF_COUNT] = {
	"bad_request", "stale_nonce", "wrong_realm", "unknown_user",
	"rest_expired", "bad_integrity", "revoked"};
static const char *const qr_label[TURN_QR_COUNT] = {"user", "total", "bandwidth"};

static void head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP turnstone_%s %s\n# TYPE turnstone_%s %s\n", name,
		help, name, type);
}

/* Sum of one counter over the workers; off is its offset in turn_stats. */
static uint64_t sum(const struct prom_view *v, size_t off)
{
	uint64_t s = 0;
	for (unsigned i = 0; i < v->nworkers; i++)
		s += turn_stat_get((const _Atomic uint64_t *)(const void *)
				   ((const char *)v->stats[i] + off));
	return s;
}

#define OFF(field) offsetof(struct turn_stats, field)

static void render_allocs(const struct prom_view *v, FILE *f)
{
	head(f, "allocations", "gauge",
	     "Live allocations by client transport and address family.");
	for (int t = 0; t < TURN_TP_COUNT; t++)
		for (int a = 0; a < 2; a++)
			fprintf(f, "turnstone_allocations{transport=\"%s\",family=\"%s\"} %llu\n",
				tp_label[t], a ? "ipv6" : "ipv4",
				(unsigned long long)sum(v, OFF(allocs[t][a])));
}

static void render_dirs(const struct prom_view *v, FILE *f, const char *name,
			const char *help, size_t off0, size_t off1)
{
	head(f, name, "counter", help);
	size_t off[2] = {off0, off1};
	for (int d = 0; d < 2; d++)
		fprintf(f, "turnstone_%s{direction=\"%s\"} %llu\n", name,
			dir_label[d], (unsigned long long)sum(v, off[d]));
}

static void render_traffic(const struct prom_view *v, FILE *f)
{
	render_dirs(v, f, "relayed_packets_total", "Datagrams relayed.",
		    OFF(pkts[0]), OFF(pkts[1]));
	render_dirs(v, f, "relayed_bytes_total",
		    "Payload bytes relayed (application data, no TURN framing).",
		    OFF(bytes[0]), OFF(bytes[1]));
	render_dirs(v, f, "bandwidth_dropped_packets_total",
		    "Datagrams dropped over an allocation's max-bps.",
		    OFF(bw_drop_pkts[0]), OFF(bw_drop_pkts[1]));
	render_dirs(v, f, "bandwidth_dropped_bytes_total",
		    "Payload bytes dropped over an allocation's max-bps.",
		    OFF(bw_drop_bytes[0]), OFF(bw_drop_bytes[1]));
}

static void render_one(const struct prom_view *v, FILE *f, const char *name,
		       const char *help, size_t off)
{
	head(f, name, "counter", help);
	fprintf(f, "turnstone_%s %llu\n", name, (unsigned long long)sum(v, off));
}

static void render_auth(const struct prom_view *v, FILE *f)
{
	head(f, "auth_failures_total", "counter",
	     "Requests that failed authentication (400, 401, 438; 403 revoked), by reason.");
	for (int r = 0; r < TURN_AF_COUNT; r++)
		fprintf(f, "turnstone_auth_failures_total{reason=\"%s\"} %llu\n",
			af_label[r], (unsigned long long)sum(v, OFF(auth_fail[r])));
	render_one(v, f, "unauth_rate_limited_total",
		   "401/438 answers withheld by the per-IP rate limit.",
		   OFF(unauth_limited));
	render_one(v, f, "peer_denied_total",
		   "Peers refused by the peer policy (403s and dropped Send indications).",
		   OFF(peer_denied));
	render_one(v, f, "tcp_refused_total",
		   "TCP/TLS connections closed at accept: their source held "
		   "max-unauth-tcp-per-ip connections without an allocation, "
		   "or is not in tcp-proxy-trusted (on tcp-proxy-port).",
		   OFF(conn_refused));
	render_one(v, f, "dtls_refused_total",
		   "DTLS sessions refused when their cookie verified: their "
		   "source held max-unauth-tcp-per-ip sessions and connections "
		   "without an allocation.",
		   OFF(dtls_refused));
	render_one(v, f, "tls_keyupdate_closed_total",
		   "TURN over TLS connections closed for sending more than 10 "
		   "TLS 1.3 KeyUpdate messages in 10 s.",
		   OFF(tls_keyupd_closed));
	render_one(v, f, "tcp_timed_out_total",
		   "TCP/TLS connections the kernel ended because the client left "
		   "output unread or unacknowledged for tcp-write-timeout.",
		   OFF(conn_timed_out));
	head(f, "allocation_quota_rejections_total", "counter",
	     "Allocates refused with 486, by quota.");
	for (int q = 0; q < TURN_QR_COUNT; q++)
		fprintf(f, "turnstone_allocation_quota_rejections_total{quota=\"%s\"} %llu\n",
			qr_label[q], (unsigned long long)sum(v, OFF(quota_rej[q])));
}

static void render_server(const struct prom_view *v, FILE *f)
{
	head(f, "relay_ports_free", "gauge", "Relay ports free in the pool.");
	fprintf(f, "turnstone_relay_ports_free %u\n", v->ports_free);
	head(f, "relay_ports_used", "gauge",
	     "Relay ports in use (allocations and reservations).");
	fprintf(f, "turnstone_relay_ports_used %u\n",
		v->ports_total > v->ports_free ? v->ports_total - v->ports_free : 0);
	head(f, "bandwidth_granted_bytes_per_second", "gauge",
	     "Sum of the max-bps granted to live allocations (bps-capacity).");
	fprintf(f, "turnstone_bandwidth_granted_bytes_per_second %llu\n",
		(unsigned long long)v->bps_granted);
	head(f, "worker_busy_seconds_total", "counter",
	     "Time each worker's loop spent handling events; its rate is the busy fraction.");
	for (unsigned i = 0; i < v->nworkers; i++)
		fprintf(f, "turnstone_worker_busy_seconds_total{worker=\"%u\"} %.6f\n",
			i, (double)v->busy_ns[i] / 1e9);
	head(f, "usage_records_dropped_total", "counter",
	     "Usage records dropped because the writer's queue was full.");
	fprintf(f, "turnstone_usage_records_dropped_total %llu\n",
		(unsigned long long)v->usage_dropped);
}

/* What TURN refuses (docs/api.md, "Blocking a user"); with revoked-from,
 * whether this node still hears from the API: alert on a last sync that
 * grows old. */
static void render_value(FILE *f, const char *name, const char *type,
			 const char *help, long long value)
{
	head(f, name, type, help);
	fprintf(f, "turnstone_%s %lld\n", name, value);
}

static void render_revoked(const struct prom_view *v, FILE *f)
{
	render_value(f, "revoked_users", "gauge",
		     "Blocked end users whose credentials TURN refuses.",
		     (long long)v->rv_users);
	render_value(f, "revoked_accounts", "gauge",
		     "Disabled or recently deleted accounts whose credentials "
		     "TURN refuses.", (long long)v->rv_accounts);
	if (!v->rv_polling)
		return;
	render_value(f, "revoked_sync_failures_total", "counter",
		     "revoked-from polls that failed and kept the last list.",
		     (long long)v->rv_failures);
	render_value(f, "revoked_last_sync_timestamp_seconds", "gauge",
		     "Unix time of the last revoked-from poll that succeeded "
		     "(0: none yet).", (long long)v->rv_last_ok);
}

void prom_render(const struct prom_view *v, FILE *f)
{
	render_allocs(v, f);
	render_traffic(v, f);
	render_auth(v, f);
	render_server(v, f);
	render_revoked(v, f);
}

static enum MHD_Result prom_reply(struct MHD_Connection *c, unsigned status,
				  char *body, size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
		len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type",
				status == MHD_HTTP_OK ? "text/plain; version=0.0.4"
						      : "text/plain");
	enum MHD_Result rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result prom_access(void *cls, struct MHD_Connection *c,
				   const char *url, const char *method,
				   const char *version, const char *upload,
				   size_t *upload_size, void **con_cls)
{
	struct prom *p = cls;
	(void)version;
	(void)upload;
	if (*upload_size)
		return MHD_NO; /* no bodies here */
	if (!*con_cls) {
		*con_cls = p; /* answer once the head is complete */
		return MHD_YES;
	}
	if (strcmp(method, "GET") != 0 || strcmp(url, "/metrics") != 0)
		return prom_reply(c, MHD_HTTP_NOT_FOUND, strdup("not found\n"), 10);
	char *body = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&body, &len);
	if (!f)
		return MHD_NO;
	struct prom_view v;
	memset(&v, 0, sizeof(v));
	p->h(p->arg, &v);
	prom_render(&v, f);
	fclose(f);
	return prom_reply(c, MHD_HTTP_OK, body, len);
}

/* libmicrohttpd's messages (a malformed request, a body) go to our log,
 * rate-limited with controls replaced, not raw to stderr: there they
 * would break a --log-format json stream and let anyone who reaches the
 * port write a line per request. */
__attribute__((format(printf, 2, 0))) static void
prom_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct prom *p = cls;
	log_limit_vwarn(&p->mhdlog, "prometheus: http", fmt, ap);
}

int prom_start(struct prom **pp, const char *ip, uint16_t port, int fd,
	       prom_view_h *h, void *arg)
{
	struct sa s;
	if (sa_set_str(&s, ip, port) != 0)
		return EINVAL;
	struct MHD_OptionItem where[2] = {
		fd >= 0 ? (struct MHD_OptionItem){MHD_OPTION_LISTEN_SOCKET, fd, NULL}
			: (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &s.u.sa},
		{MHD_OPTION_END, 0, NULL}};
	struct prom *p = calloc(1, sizeof(*p));
	if (!p) {
		if (fd >= 0)
			close(fd);
		return ENOMEM;
	}
	p->h = h;
	p->arg = arg;
	log_limit_init(&p->mhdlog, PROM_LOG_PER_S);
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	if (sa_af(&s) == AF_INET6)
		flags |= MHD_USE_IPv6;
	p->mhd = MHD_start_daemon(flags, port, NULL, NULL, prom_access, p,
				  /* first: libmicrohttpd warns at every start
				   * when it is not, and would send errors in the
				   * options before it to stderr */
				  MHD_OPTION_EXTERNAL_LOGGER, prom_mhd_log, p,
				  MHD_OPTION_ARRAY, where,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
				  MHD_OPTION_END);
	if (!p->mhd) {
		/* Not closed: libmicrohttpd may have (see api_http_start). */
		log_limit_destroy(&p->mhdlog);
		free(p);
		return EADDRINUSE;
	}
	*pp = p;
	return 0;
}

void prom_stop(struct prom *p)
{
	if (!p)
		return;
	MHD_stop_daemon(p->mhd);
	log_limit_destroy(&p->mhdlog);
	free(p);
}
