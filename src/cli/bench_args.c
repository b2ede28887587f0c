/* turnstone bench: command-line parsing and per-mode defaults. */
#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/bench.h"
#include "util/cpus.h"

#define BENCH_DURATION_MAX 600
#define BENCH_RATE_MAX 10000000ull

static const char *const bench_modes[] = {
	[BENCH_ALLOC] = "alloc",     [BENCH_RELAY] = "relay",
	[BENCH_HOLD] = "hold",       [BENCH_BINDING] = "binding",
	[BENCH_FORWARD] = "forward",
};

static const char *const bench_transports[] = {
	[BENCH_UDP] = "udp", [BENCH_TCP] = "tcp", [BENCH_TLS] = "tls",
};

const char *bench_mode_name(enum bench_mode m)
{
	return bench_modes[m];
}

const char *bench_transport_name(enum bench_transport t)
{
	return bench_transports[t];
}

static int bench_transport_parse(const char *s, enum bench_transport *t)
{
	for (size_t i = 0; i < sizeof(bench_transports) / sizeof(bench_transports[0]); i++) {
		if (strcmp(bench_transports[i], s) == 0) {
			*t = (enum bench_transport)i;
			return 0;
		}
	}
	return EINVAL;
}

void bench_usage(FILE *out)
{
	fprintf(out,
		"usage: turnstone bench MODE --server IP:PORT [options]\n"
		"       turnstone bench pool FILE...   (--hist-out files)\n"
		"modes:\n"
		"  alloc    Allocate(401, then signed) [+perm +chan], Refresh 0;\n"
		"           a new 5-tuple per cycle; allocations/s and latency\n"
		"  relay    ChannelData through N allocations to a built-in echo\n"
		"           peer; relayed packets/s, Mbit/s, loss, RTT\n"
		"  hold     N idle allocations; server RSS per allocation\n"
		"  binding  STUN Binding requests/s\n"
		"  forward  bare UDP forwarder baseline (no TURN, no --server)\n"
		"options:\n"
		"  --server IP:PORT     loopback TURN server\n"
		"  --transport udp|tcp|tls  relay/hold/alloc: how clients reach\n"
		"                       the server (default udp); tcp and tls open\n"
		"                       one connection per allocation (RFC 8656; the\n"
		"                       relay stays UDP), set up before the window;\n"
		"                       alloc: a new one every cycle, its connect\n"
		"                       and handshake timed as part of the cycle.\n"
		"                       tls: give the server's TLS port; TLS 1.2+,\n"
		"                       the certificate is NOT verified (loopback\n"
		"                       bench, self-signed certificates)\n"
		"  --secret S           REST shared secret (use-auth-secret), or\n"
		"  --user U --password P  long-term credentials\n"
		"  --realm R            realm (default: learnt from the 401)\n"
		"  --duration S         measured seconds (default 5)\n"
		"  --threads T          client threads (default: CPUs)\n"
		"  --clients C          alloc/binding concurrent clients\n"
		"  --allocs N           relay/hold/forward allocations or flows\n"
		"  --size L             payload bytes (relay/forward, default 200)\n"
		"  --window W           in flight per flow (default 8)\n"
		"  --rate R             open loop: total packets/s (relay/forward)\n"
		"  --profile audio|video  50 pps x 160 B or 150 pps x 1100 B per\n"
		"                       allocation (open loop)\n"
		"  --perm --chan        alloc: add CreatePermission, ChannelBind\n"
		"  --fresh-users        alloc: a new REST username every cycle\n"
		"  --sources K          spread clients over K loopback addresses\n"
		"  --server-pid PID     read the server's CPU and RSS from /proc\n"
		"  --forward-cpu N      forward: run the forwarder on CPU N only\n"
		"  --hist-out FILE      also write the raw latency histogram;\n"
		"                       `bench pool` gives the percentiles of\n"
		"                       several runs' files together\n"
		"  --json               print the result as one JSON object\n");
}

static int bench_num(const char *s, uint64_t lo, uint64_t hi, uint64_t *v)
{
	if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 12)
		return EINVAL;
	unsigned long long n = strtoull(s, NULL, 10);
	if (n < lo || n > hi)
		return EINVAL;
	*v = n;
	return 0;
}

static int bench_cpu_parse(const char *s, int *cpu)
{
	uint64_t v;
	int e = bench_num(s, 0, CPU_SETSIZE - 1, &v);
	if (!e)
		*cpu = (int)v;
	return e;
}

/* "127.0.0.1:3478" or "[::1]:3478". Only loopback: the tool floods. */
static int bench_server_parse(const char *s, struct sa *out)
{
	char ip[64];
	const char *colon = strrchr(s, ':');
	if (!colon || (size_t)(colon - s) >= sizeof(ip))
		return EINVAL;
	size_t n = (size_t)(colon - s);
	if (s[0] == '[' && n >= 2 && s[n - 1] == ']')
		snprintf(ip, sizeof(ip), "%.*s", (int)(n - 2), s + 1);
	else
		snprintf(ip, sizeof(ip), "%.*s", (int)n, s);
	uint64_t port;
	if (bench_num(colon + 1, 1, 65535, &port) || sa_set_str(out, ip, (uint16_t)port))
		return EINVAL;
	if (sa_af(out) == AF_INET)
		return sa_addr_bytes(out)[0] == 127 ? 0 : EINVAL;
	return IN6_IS_ADDR_LOOPBACK(&out->u.in6.sin6_addr) ? 0 : EINVAL;
}

static int bench_profile_parse(const char *s, enum bench_profile *p)
{
	if (strcmp(s, "audio") == 0)
		*p = BENCH_PROF_AUDIO;
	else if (strcmp(s, "video") == 0)
		*p = BENCH_PROF_VIDEO;
	else
		return EINVAL;
	return 0;
}

/* Numeric options: name, field, bounds. */
struct bench_numopt {
	const char *name;
	size_t off;
	uint64_t lo, hi;
};

#define BN(n, f, lo, hi) {n, offsetof(struct bench_args, f), lo, hi}
static const struct bench_numopt bench_numopts[] = {
	BN("duration", duration, 1, BENCH_DURATION_MAX),
	BN("threads", threads, 1, BENCH_MAX_THREADS),
	BN("clients", clients, 1, BENCH_MAX_FLOWS),
	BN("allocs", allocs, 1, BENCH_MAX_FLOWS),
	BN("size", size, BENCH_MIN_SIZE, BENCH_MAX_SIZE),
	BN("window", window, 1, 256),
	BN("sources", sources, 1, 250 * 254),
	BN("server-pid", server_pid, 1, 4194304),
};

static int bench_numopt_set(struct bench_args *a, const char *name,
			    const char *val, bool *found)
{
	for (size_t i = 0; i < sizeof(bench_numopts) / sizeof(bench_numopts[0]); i++) {
		const struct bench_numopt *o = &bench_numopts[i];
		if (strcmp(o->name, name) != 0)
			continue;
		*found = true;
		uint64_t v;
		if (bench_num(val, o->lo, o->hi, &v))
			return EINVAL;
		if (strcmp(name, "server-pid") == 0)
			*(int *)(void *)((char *)a + o->off) = (int)v;
		else
			*(unsigned *)(void *)((char *)a + o->off) = (unsigned)v;
		return 0;
	}
	*found = false;
	return 0;
}

static int bench_opt_set(struct bench_args *a, const char *name,
			 const char *val, FILE *err)
{
	bool found;
	int e = bench_numopt_set(a, name, val, &found);
	if (!found) {
		if (strcmp(name, "server") == 0)
			e = bench_server_parse(val, &a->server);
		else if (strcmp(name, "secret") == 0)
			a->secret = val;
		else if (strcmp(name, "user") == 0)
			a->user = val;
		else if (strcmp(name, "password") == 0)
			a->password = val;
		else if (strcmp(name, "realm") == 0)
			a->realm = val;
		else if (strcmp(name, "rate") == 0)
			e = bench_num(val, 1, BENCH_RATE_MAX, &a->rate);
		else if (strcmp(name, "profile") == 0)
			e = bench_profile_parse(val, &a->profile);
		else if (strcmp(name, "transport") == 0)
			e = bench_transport_parse(val, &a->transport);
		else if (strcmp(name, "forward-cpu") == 0)
			e = bench_cpu_parse(val, &a->fwd_cpu);
		else if (strcmp(name, "hist-out") == 0) {
			a->hist_out = val;
			e = *val ? 0 : EINVAL;
		} else {
			fprintf(err, "turnstone bench: unknown option '--%s'\n", name);
			return EINVAL;
		}
	}
	if (e)
		fprintf(err, "turnstone bench: invalid --%s '%s'%s\n", name, val,
			strcmp(name, "server") == 0 ? " (loopback IP:PORT only)" : "");
	return e;
}

static bool bench_flag_set(struct bench_args *a, const char *arg)
{
	if (strcmp(arg, "--json") == 0)
		a->json = true;
	else if (strcmp(arg, "--perm") == 0)
		a->perm = true;
	else if (strcmp(arg, "--chan") == 0)
		a->chan = true;
	else if (strcmp(arg, "--fresh-users") == 0)
		a->fresh_users = true;
	else if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
		a->help = true;
	else
		return false;
	return true;
}

static int bench_mode_parse(struct bench_args *a, const char *s, FILE *err)
{
	for (size_t i = 0; i < sizeof(bench_modes) / sizeof(bench_modes[0]); i++) {
		if (strcmp(bench_modes[i], s) == 0) {
			a->mode = (enum bench_mode)i;
			return 0;
		}
	}
	fprintf(err, "turnstone bench: unknown mode '%s'\n", s);
	return EINVAL;
}

/* Profiles fix the size and turn the window off: rate = N x pps. */
static void bench_defaults(struct bench_args *a)
{
	/* As the daemon's workers: one per CPU this process may use, so a
	 * client under `taskset -c 0` (scripts/bench-pinned) does not run
	 * two threads that take turns on one CPU. */
	unsigned cpus = util_cpus_usable();
	if (!a->threads)
		a->threads = cpus > BENCH_MAX_THREADS ? BENCH_MAX_THREADS : cpus;
	if (!a->duration)
		a->duration = 5;
	if (!a->clients)
		a->clients = a->mode == BENCH_ALLOC ? 32 : 16;
	if (!a->allocs)
		a->allocs = a->mode == BENCH_HOLD ? 1000 : 100;
	if (!a->window)
		a->window = 8;
	if (!a->sources)
		a->sources = 4096;
	if (a->profile == BENCH_PROF_AUDIO) {
		a->size = 160;
		a->rate = 50ull * a->allocs;
	} else if (a->profile == BENCH_PROF_VIDEO) {
		a->size = 1100;
		a->rate = 150ull * a->allocs;
	}
	if (!a->size)
		a->size = 200;
	if (a->mode == BENCH_RELAY || a->mode == BENCH_HOLD)
		a->perm = a->chan = true;
}

static int bench_args_check(const struct bench_args *a, FILE *err)
{
	if (a->mode != BENCH_FORWARD && sa_af(&a->server) == 0) {
		fprintf(err, "turnstone bench: --server is required\n");
		return EINVAL;
	}
	bool turn = a->mode == BENCH_ALLOC || a->mode == BENCH_RELAY ||
		    a->mode == BENCH_HOLD;
	bool lt = a->user || a->password;
	if (turn && (a->secret ? lt : !(a->user && a->password))) {
		fprintf(err, "turnstone bench: give --secret, or --user and "
			"--password\n");
		return EINVAL;
	}
	if (a->profile && a->rate == 0) {
		fprintf(err, "turnstone bench: --profile needs --allocs\n");
		return EINVAL;
	}
	if (a->fresh_users && (a->mode != BENCH_ALLOC || !a->secret)) {
		fprintf(err, "turnstone bench: --fresh-users needs alloc and "
			"--secret\n");
		return EINVAL;
	}
	if (a->hist_out && a->mode == BENCH_HOLD) {
		fprintf(err, "turnstone bench: hold measures no latency; "
			"--hist-out is for the other modes\n");
		return EINVAL;
	}
	if (a->transport != BENCH_UDP && a->mode != BENCH_RELAY &&
	    a->mode != BENCH_HOLD && a->mode != BENCH_ALLOC) {
		fprintf(err, "turnstone bench: --transport %s is for relay, "
			"hold and alloc; %s runs over udp only\n",
			bench_transport_name(a->transport), bench_mode_name(a->mode));
		return EINVAL;
	}
	if (a->fwd_cpu >= 0 && a->mode != BENCH_FORWARD) {
		fprintf(err, "turnstone bench: --forward-cpu is for forward\n");
		return EINVAL;
	}
	return 0;
}

/* argv[0] is "bench", argv[1] the mode; "--name value" or "--name=value". */
int bench_args_parse(struct bench_args *a, int argc, char **argv, FILE *err)
{
	memset(a, 0, sizeof(*a));
	a->fwd_cpu = -1;
	int i = 1;
	if (argc > 1 && strncmp(argv[1], "-", 1) != 0) {
		if (bench_mode_parse(a, argv[1], err))
			return EINVAL;
		i = 2;
	} else if (!(argc > 1 && bench_flag_set(a, argv[1]) && a->help)) {
		fprintf(err, "turnstone bench: a mode is required\n");
		return EINVAL;
	}
	for (; i < argc; i++) {
		const char *arg = argv[i];
		if (bench_flag_set(a, arg))
			continue;
		if (strncmp(arg, "--", 2) != 0 || !arg[2]) {
			fprintf(err, "turnstone bench: unexpected argument '%s'\n", arg);
			return EINVAL;
		}
		char name[32];
		const char *eq = strchr(arg, '=');
		size_t n = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
		snprintf(name, sizeof(name), "%.*s", (int)n, arg + 2);
		const char *val = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
		if (!val) {
			fprintf(err, "turnstone bench: option '%s' needs a value\n", arg);
			return EINVAL;
		}
		if (bench_opt_set(a, name, val, err))
			return EINVAL;
	}
	if (a->help)
		return 0;
	bench_defaults(a);
	return bench_args_check(a, err);
}
