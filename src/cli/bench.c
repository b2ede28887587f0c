/* turnstone bench: the load generator. The main thread starts the echo
 * peer (and the forwarder child in forward mode), one worker thread per
 * --threads with its own event loop, waits until every worker has set
 * up its flows, then samples the server's CPU and the kernel's UDP drop
 * counter around a fixed measurement window and prints the result. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/bench.h"
#include "cli/cli.h"

#define BENCH_SLACK_S 40      /* drain, teardown and joins */

/* What the main thread samples at the edges of the window. */
struct bench_sample {
	uint64_t t, cpu, rcvbuf, rss, sys_busy, sys_total;
	bool have_cpu, have_rcvbuf, have_rss, have_sys;
};

enum bench_phase bench_phase_get(const struct bench_run *r)
{
	return (enum bench_phase)atomic_load(&r->phase);
}

void bench_setup_done(struct bench_worker *w)
{
	pthread_barrier_wait(&w->run->ready);
	while (bench_phase_get(w->run) == BP_SETUP)
		loop_run_once(w->loop, 1);
}

void bench_loop_until(struct bench_worker *w, int leave, uint64_t deadline,
		      bench_tick_h *tick)
{
	uint64_t last = 0, every = w->tick_ns ? w->tick_ns : 1000000;
	for (;;) {
		uint64_t now = bench_now_ns();
		if (now >= deadline || (int)bench_phase_get(w->run) >= leave)
			return;
		if (tick && now - last >= every) {
			tick(w, now);
			last = now;
		}
		/* Woken at once by an echo: the wait bounds only the tick. */
		uint64_t since = now - last;
		loop_run_once_ns(w->loop, tick && since < every ? every - since : every);
	}
}

static void bench_sample_take(const struct bench_args *a, struct bench_sample *s)
{
	memset(s, 0, sizeof(*s));
	s->t = bench_now_ns();
	s->have_rcvbuf = bench_udp_rcvbuf_errors(&s->rcvbuf) == 0;
	s->have_sys = bench_sys_cpu(&s->sys_busy, &s->sys_total) == 0;
	if (a->server_pid > 0) {
		s->have_cpu = bench_proc_cpu(a->server_pid, &s->cpu) == 0;
		s->have_rss = bench_proc_rss(a->server_pid, &s->rss) == 0;
	}
}

static void bench_sleep_until(uint64_t t)
{
	for (uint64_t now = bench_now_ns(); now < t; now = bench_now_ns()) {
		uint64_t d = t - now;
		struct timespec ts = {(time_t)(d / 1000000000ull),
				      (long)(d % 1000000000ull)};
		nanosleep(&ts, NULL);
	}
}

static unsigned bench_flows(const struct bench_args *a)
{
	if (a->mode == BENCH_ALLOC || a->mode == BENCH_BINDING)
		return a->clients;
	return a->allocs;
}

static void *(*bench_thread_fn(enum bench_mode m))(void *)
{
	if (m == BENCH_ALLOC)
		return bench_alloc_thread;
	if (m == BENCH_BINDING)
		return bench_binding_thread;
	return bench_relay_thread;
}

static int bench_workers_start(struct bench_run *r)
{
	unsigned n = bench_flows(r->a);
	for (unsigned i = 0; i < r->nw; i++) {
		struct bench_worker *w = &r->w[i];
		w->run = r;
		w->id = i;
		w->first = (unsigned)((uint64_t)n * i / r->nw);
		w->count = (unsigned)((uint64_t)n * (i + 1) / r->nw) - w->first;
		bench_hist_init(&w->hist);
		int e = bench_cred_init(&w->cred, r->a);
		if (!e)
			e = loop_alloc(&w->loop);
		if (!e)
			e = pthread_create(&w->thr, NULL, bench_thread_fn(r->a->mode), w);
		if (e)
			return e; /* before any thread: callers exit */
	}
	return 0;
}

static void bench_totals(const struct bench_run *r, struct bench_counts *c,
			 struct bench_hist *h)
{
	memset(c, 0, sizeof(*c));
	bench_hist_init(h);
	for (unsigned i = 0; i < r->nw; i++) {
		const struct bench_counts *wc = &r->w[i].c;
		c->ops += wc->ops;
		c->sent += wc->sent;
		c->recv_win += wc->recv_win;
		c->errors += wc->errors;
		c->timeouts += wc->timeouts;
		c->stalls += wc->stalls;
		c->setup_ok += wc->setup_ok;
		c->setup_fail += wc->setup_fail;
		if (wc->last_error)
			c->last_error = wc->last_error;
		bench_hist_merge(h, &r->w[i].hist);
	}
}

/* Mode-specific fields of the RESULT line. */
static void bench_report_mode(struct bench_report *rep, const struct bench_args *a,
			      const struct bench_counts *c, double secs)
{
	double per_s = (double)c->ops / secs;
	switch (a->mode) {
	case BENCH_ALLOC:
		bench_report_add(rep, "clients", true, "%u", a->clients);
		bench_report_add(rep, "perm", true, "%d", a->perm);
		bench_report_add(rep, "chan", true, "%d", a->chan);
		bench_report_add(rep, "allocs_per_s", true, "%.0f", per_s);
		break;
	case BENCH_BINDING:
		bench_report_add(rep, "clients", true, "%u", a->clients);
		bench_report_add(rep, "window", true, "%u", a->window);
		bench_report_add(rep, "rps", true, "%.0f", per_s);
		break;
	case BENCH_HOLD:
		bench_report_add(rep, "allocs", true, "%u", a->allocs);
		return;
	default: /* relay, forward: each round trip crosses the relay twice */
		bench_report_add(rep, "allocs", true, "%u", a->allocs);
		bench_report_add(rep, "size", true, "%u", a->size);
		if (a->rate)
			bench_report_add(rep, "rate", true, "%llu",
					 (unsigned long long)a->rate);
		else
			bench_report_add(rep, "window", true, "%u", a->window);
		bench_report_add(rep, "pps", true, "%.0f", 2 * per_s);
		bench_report_add(rep, "mbps", true, "%.1f",
				 2 * per_s * a->size * 8 / 1e6);
		double loss = c->sent ? 1.0 - (double)c->recv_win / (double)c->sent : 0;
		bench_report_add(rep, "loss", true, "%.5f", loss < 0 ? 0 : loss);
		break;
	}
}

/* machine_cpu: cores busy in the whole machine (client, echo peer,
 * server and anything else) over the window. */
static void bench_report_machine(struct bench_report *rep,
				 const struct bench_sample *s0,
				 const struct bench_sample *s1)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (!s0->have_sys || !s1->have_sys || s1->sys_total <= s0->sys_total ||
	    ncpu < 1)
		return;
	double busy = (double)(s1->sys_busy - s0->sys_busy) /
		      (double)(s1->sys_total - s0->sys_total);
	bench_report_add(rep, "machine_cpu", true, "%.2f", busy * (double)ncpu);
}

static void bench_report_cpu(struct bench_report *rep, const struct bench_args *a,
			     const struct bench_sample *s0,
			     const struct bench_sample *s1, double rate)
{
	bench_report_machine(rep, s0, s1);
	if (!s0->have_cpu || !s1->have_cpu)
		return;
	double cores = (double)(s1->cpu - s0->cpu) / (double)(s1->t - s0->t);
	bench_report_add(rep, "server_cpu", true, "%.2f", cores);
	const char *key = a->mode == BENCH_ALLOC ? "allocs_per_core" :
			  a->mode == BENCH_BINDING ? "rps_per_core" : "pps_per_core";
	if (cores > 0.01)
		bench_report_add(rep, key, true, "%.0f", rate / cores);
}

static void bench_report_hold(struct bench_report *rep,
			      const struct bench_sample *s_pre,
			      const struct bench_sample *s1,
			      const struct bench_counts *c, double setup_s)
{
	bench_report_add(rep, "setup_s", true, "%.2f", setup_s);
	if (!s_pre->have_rss || !s1->have_rss)
		return;
	bench_report_add(rep, "rss_before_kb", true, "%llu",
			 (unsigned long long)s_pre->rss);
	bench_report_add(rep, "rss_after_kb", true, "%llu",
			 (unsigned long long)s1->rss);
	double per = c->setup_ok ? ((double)s1->rss - (double)s_pre->rss) * 1024 /
					   (double)c->setup_ok : 0;
	bench_report_add(rep, "bytes_per_alloc", true, "%.0f", per);
}

struct bench_samples {
	struct bench_sample pre, s0, s1;
};

static void bench_hist_save(const char *path, const struct bench_hist *h)
{
	FILE *f = fopen(path, "w");
	int e = f ? bench_hist_write(h, f) : errno;
	if (f && fclose(f) && !e)
		e = EIO;
	if (e)
		fprintf(stderr, "turnstone bench: --hist-out %s: %s\n", path,
			strerror(e));
}

static void bench_report_all(const struct bench_run *r,
			     const struct bench_samples *s)
{
	const struct bench_args *a = r->a;
	struct bench_counts c;
	struct bench_hist *h = malloc(sizeof(*h));
	if (!h)
		return;
	bench_totals(r, &c, h);
	double secs = (double)(s->s1.t - s->s0.t) / 1e9;
	struct bench_report rep = {.n = 0};
	bench_report_add(&rep, "mode", false, "%s", bench_mode_name(a->mode));
	bench_report_add(&rep, "transport", false, "%s",
			 bench_transport_name(a->transport));
	bench_report_add(&rep, "threads", true, "%u", r->nw);
	bench_report_add(&rep, "duration_s", true, "%.2f", secs);
	bench_report_mode(&rep, a, &c, secs);
	if (a->mode == BENCH_HOLD)
		bench_report_hold(&rep, &s->pre, &s->s1, &c,
				  (double)(s->s0.t - s->pre.t) / 1e9);
	if (a->mode != BENCH_HOLD) {
		bench_report_add(&rep, "p50_us", true, "%.1f", bench_hist_pct(h, 50) / 1e3);
		bench_report_add(&rep, "p99_us", true, "%.1f", bench_hist_pct(h, 99) / 1e3);
		bench_report_add(&rep, "p999_us", true, "%.1f", bench_hist_pct(h, 99.9) / 1e3);
		double mult = a->mode == BENCH_RELAY || a->mode == BENCH_FORWARD ? 2 : 1;
		bench_report_cpu(&rep, a, &s->s0, &s->s1, mult * (double)c.ops / secs);
	}
	bench_report_add(&rep, "setup_ok", true, "%llu", (unsigned long long)c.setup_ok);
	bench_report_add(&rep, "setup_fail", true, "%llu", (unsigned long long)c.setup_fail);
	bench_report_add(&rep, "errors", true, "%llu", (unsigned long long)c.errors);
	bench_report_add(&rep, "timeouts", true, "%llu", (unsigned long long)c.timeouts);
	bench_report_add(&rep, "stalls", true, "%llu", (unsigned long long)c.stalls);
	if (s->s0.have_rcvbuf && s->s1.have_rcvbuf)
		bench_report_add(&rep, "rcvbuf_err", true, "%llu",
				 (unsigned long long)(s->s1.rcvbuf - s->s0.rcvbuf));
	if (c.last_error)
		fprintf(stderr, "turnstone bench: last error: %d (%s)\n", c.last_error,
			c.last_error >= 300 ? "STUN error code" : strerror(c.last_error));
	bench_report_print(&rep, a->mode == BENCH_HOLD ? NULL : h, a->json, stdout);
	if (a->hist_out)
		bench_hist_save(a->hist_out, h);
	free(h);
}

/* The measured window: every worker has finished setup. */
static void bench_measure(struct bench_run *r, struct bench_samples *s)
{
	pthread_barrier_wait(&r->ready);
	bench_sample_take(r->a, &s->s0);
	atomic_store(&r->t_start, s->s0.t);
	atomic_store(&r->phase, BP_MEASURE);
	bench_sleep_until(s->s0.t + (uint64_t)r->a->duration * 1000000000ull);
	bench_sample_take(r->a, &s->s1);
	atomic_store(&r->t_stop, s->s1.t);
	atomic_store(&r->phase, BP_DRAIN);
	for (unsigned i = 0; i < r->nw; i++)
		pthread_join(r->w[i].thr, NULL);
}

static int bench_threads_run(struct bench_run *r, struct bench_samples *s)
{
	unsigned flows = bench_flows(r->a);
	r->nw = r->a->threads < flows ? r->a->threads : flows;
	r->w = calloc(r->nw, sizeof(*r->w));
	if (!r->w || pthread_barrier_init(&r->ready, NULL, r->nw + 1)) {
		free(r->w);
		return ENOMEM;
	}
	bench_sample_take(r->a, &s->pre);
	int e = bench_workers_start(r);
	if (e) {
		fprintf(stderr, "turnstone bench: cannot start workers: %s\n", strerror(e));
		exit(1); /* threads may already wait on the barrier */
	}
	bench_measure(r, s);
	bench_report_all(r, s);
	for (unsigned i = 0; i < r->nw; i++)
		loop_free(r->w[i].loop);
	pthread_barrier_destroy(&r->ready);
	free(r->w);
	return 0;
}

static void bench_child_stop(int pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

int bench_run_main(const struct bench_args *a)
{
	struct bench_args args = *a;
	struct bench_run r = {.a = &args};
	struct bench_samples s;
	struct bench_echo *echo = NULL;
	int fwd_pid = 0;
	unsigned hard = BENCH_SETUP_MAX_S + a->duration + BENCH_SLACK_S;
	alarm(hard); /* a hard bound on the whole run, whatever happens */
	/* A server closing a TLS stream must show as an error, not kill us
	 * (OpenSSL writes without MSG_NOSIGNAL). */
	signal(SIGPIPE, SIG_IGN);
	if (bench_nofile_raise(bench_flows(a) + 512))
		fprintf(stderr, "turnstone bench: warning: open-file limit is "
			"below %u\n", bench_flows(a) + 512);
	int e = 0;
	if (a->mode == BENCH_RELAY || a->mode == BENCH_HOLD ||
	    a->mode == BENCH_FORWARD || a->perm || a->chan)
		e = bench_echo_alloc(&echo, &r.peer);
	if (!e && a->mode == BENCH_FORWARD) {
		/* Pinned to one CPU, one forwarding thread: a second one
		 * would only take turns with it (as a server's workers do). */
		r.nfwd = a->fwd_cpu >= 0 ? 1 : a->threads;
		e = bench_fwd_spawn(&r.peer, r.nfwd, a->fwd_cpu, hard, r.fwd,
				    &fwd_pid);
		args.server_pid = fwd_pid;
	}
	if (!e && echo)
		e = bench_echo_start(echo);
	if (!e)
		e = bench_threads_run(&r, &s);
	if (e)
		fprintf(stderr, "turnstone bench: %s\n", strerror(e));
	bench_echo_stop(echo);
	bench_child_stop(fwd_pid);
	return e ? 1 : 0;
}

int cli_bench_main(int argc, char **argv)
{
	struct bench_args a;
	if (argc > 1 && strcmp(argv[1], "pool") == 0)
		return bench_pool_main(argc - 2, argv + 2, stdout, stderr);
	if (bench_args_parse(&a, argc, argv, stderr)) {
		bench_usage(stderr);
		return 2;
	}
	if (a.help) {
		bench_usage(stdout);
		return 0;
	}
	return bench_run_main(&a);
}
