/* GET /metrics in Prometheus text format (version 0.0.4): requests by
 * status, a latency histogram, tokens refused by reason, and the health
 * of every TURN server the API hands out. Counters are relaxed atomics
 * bumped on the request path; rendering reads them without a lock. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "api/api_int.h"

static const double lat_bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025,
				    0.005,  0.01,    0.025,  0.05,  0.1,
				    0.5}; /* + the +Inf bucket */
#define NBOUNDS (sizeof(lat_bounds) / sizeof(lat_bounds[0]))

static const char *const other_reasons[] = {"missing", "rate_limited",
					    "account_disabled", "user_blocked"};

void api_metrics_request(struct api_metrics *m, unsigned status,
			 uint64_t dur_us)
{
	if (status < 600)
		m->status[status]++;
	size_t b = 0;
	while (b < NBOUNDS && (double)dur_us / 1e6 > lat_bounds[b])
		b++;
	m->lat_bucket[b]++;
	m->lat_count++;
	m->lat_sum_us += dur_us;
}

static void render_requests(FILE *f, struct api_metrics *m)
{
	fputs("# HELP turnstone_api_requests_total HTTP requests answered, by status.\n"
	      "# TYPE turnstone_api_requests_total counter\n", f);
	for (unsigned s = 100; s < 600; s++)
		if (m->status[s])
			fprintf(f, "turnstone_api_requests_total{status=\"%u\"} %lu\n",
				s, (unsigned long)m->status[s]);
	fputs("# HELP turnstone_api_request_duration_seconds Time to answer.\n"
	      "# TYPE turnstone_api_request_duration_seconds histogram\n", f);
	unsigned long cum = 0;
	for (size_t b = 0; b <= NBOUNDS; b++) {
		cum += m->lat_bucket[b];
		if (b < NBOUNDS)
			fprintf(f, "turnstone_api_request_duration_seconds_bucket{le=\"%g\"} %lu\n",
				lat_bounds[b], cum);
		else
			fprintf(f, "turnstone_api_request_duration_seconds_bucket{le=\"+Inf\"} %lu\n",
				cum);
	}
	fprintf(f, "turnstone_api_request_duration_seconds_sum %.6f\n"
		   "turnstone_api_request_duration_seconds_count %lu\n",
		(double)m->lat_sum_us / 1e6, (unsigned long)m->lat_count);
}

static void render_rejected(FILE *f, struct api_metrics *m)
{
	fputs("# HELP turnstone_api_tokens_rejected_total Requests refused, by reason.\n"
	      "# TYPE turnstone_api_tokens_rejected_total counter\n", f);
	for (int r = 1; r < JWT_R_COUNT; r++)
		fprintf(f, "turnstone_api_tokens_rejected_total{reason=\"%s\"} %lu\n",
			jwt_reason_str((enum jwt_reason)r), (unsigned long)m->rejected[r]);
	for (size_t i = 0; i < sizeof(other_reasons) / sizeof(other_reasons[0]); i++)
		fprintf(f, "turnstone_api_tokens_rejected_total{reason=\"%s\"} %lu\n",
			other_reasons[i], (unsigned long)m->rejected_other[i]);
	static const char *const limits[] = {"ip", "account", "user"};
	fputs("# HELP turnstone_api_rate_limited_total 429 answers, by the limit "
	      "that refused (ip, account, user: userRateLimit).\n"
	      "# TYPE turnstone_api_rate_limited_total counter\n", f);
	for (size_t i = 0; i < 3; i++)
		fprintf(f, "turnstone_api_rate_limited_total{limit=\"%s\"} %lu\n",
			limits[i], (unsigned long)m->rate_limited[i]);
	fputs("# HELP turnstone_api_override_all_down_answers_total Answers in "
	      "override mode whose custom servers were all failing health checks.\n"
	      "# TYPE turnstone_api_override_all_down_answers_total counter\n", f);
	fprintf(f, "turnstone_api_override_all_down_answers_total %lu\n",
		(unsigned long)m->override_all_down);
}

/* Label values: escape backslash, quote and newline (exposition format). */
static void put_label(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n') {
			fputs("\\n", f);
			continue;
		}
		fputc(*s, f);
	}
}

/* 1 for an override account none of whose TURN URLs passes its health
 * checks: its users get servers that are down, by the account's choice. */
static void render_override(FILE *f, struct api *a)
{
	struct api_dir *d = api_dir_get(a);
	fputs("# HELP turnstone_api_override_all_down 1 if every custom server of "
	      "an override account fails its health checks.\n"
	      "# TYPE turnstone_api_override_all_down gauge\n", f);
	for (size_t i = 0; d && i < d->snap->naccounts; i++) {
		const struct store_account *acc = &d->snap->accounts[i];
		bool up = false;
		if (acc->mode != STORE_TURN_OVERRIDE || !acc->nservers)
			continue;
		for (unsigned s = 0; s < acc->nservers && !up; s++)
			for (unsigned j = 0; j < acc->servers[s].nurls && !up; j++)
				up = api_health_up(a->health, acc->servers[s].urls[j]);
		fputs("turnstone_api_override_all_down{account=\"", f);
		put_label(f, acc->name);
		fprintf(f, "\"} %d\n", up ? 0 : 1);
	}
	api_dir_put(d);
}

/* The series that name a customer (its account, its TURN servers' URLs)
 * go only to a request with the admin token: /metrics shares the public
 * API port, and /v1/admin/health, which says the same, needs the token. */
static void render_health(FILE *f, struct api *a, bool admin)
{
	fprintf(f, "# HELP turnstone_api_store_up 1 while the account store reads.\n"
		   "# TYPE turnstone_api_store_up gauge\nturnstone_api_store_up %d\n",
		atomic_load(&a->store_ok) ? 1 : 0);
	if (!a->health)
		return;
	if (!admin) {
		fputs("# turnstone_api_server_up and turnstone_api_override_all_down "
		      "name customers: sent with the admin token only.\n", f);
		return;
	}
	json_t *h = api_health_json(a->health), *s;
	size_t i;
	fputs("# HELP turnstone_api_server_up 1 if the server answers STUN Binding.\n"
	      "# TYPE turnstone_api_server_up gauge\n", f);
	json_array_foreach(json_object_get(h, "servers"), i, s) {
		fputs("turnstone_api_server_up{url=\"", f);
		put_label(f, json_string_value(json_object_get(s, "url")));
		fprintf(f, "\"} %d\n", json_is_true(json_object_get(s, "healthy")));
	}
	json_decref(h);
	render_override(f, a);
}

static void render_conns(FILE *f, struct api *a)
{
	unsigned long head, body;
	api_conns_stats(a->conns, &head, &body);
	fputs("# HELP turnstone_api_connections_timed_out_total Connections "
	      "closed for a request head, or the rest of a request, that took "
	      "too long (slow clients).\n"
	      "# TYPE turnstone_api_connections_timed_out_total counter\n", f);
	fprintf(f, "turnstone_api_connections_timed_out_total{phase=\"head\"} %lu\n"
		   "turnstone_api_connections_timed_out_total{phase=\"body\"} %lu\n",
		head, body);
}

int api_misc_metrics(struct api_req *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return MHD_NO;
	render_requests(f, &r->api->metrics);
	render_rejected(f, &r->api->metrics);
	render_conns(f, r->api);
	render_health(f, r->api, api_admin_authorized(r));
	fclose(f);
	struct MHD_Response *resp = MHD_create_response_from_buffer(
		len, buf, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(buf);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type",
				"text/plain; version=0.0.4; charset=utf-8");
	return api_reply(r, MHD_HTTP_OK, resp);
}
