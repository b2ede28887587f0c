/* turnstone bench pool: percentiles over several runs' histograms.
 *
 * A p99 taken from one 3 s run moves by hundreds of microseconds on a
 * shared 2-core machine, and a median of per-run p99s still carries that
 * run-to-run spread. The p99 of all round trips of all runs is the p99
 * of the latency at that load, which is what issue 4's target names. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/bench.h"

static int pool_file(struct bench_hist *h, const char *path, FILE *err)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		int e = errno;
		fprintf(err, "turnstone bench pool: %s: %s\n", path, strerror(e));
		return e;
	}
	int e = bench_hist_read(h, f);
	fclose(f);
	if (e)
		fprintf(err, "turnstone bench pool: %s: not a --hist-out file\n", path);
	return e;
}

/* argv: the files (after "bench pool"). */
int bench_pool_main(int argc, char **argv, FILE *out, FILE *err)
{
	static const char usage[] = "usage: turnstone bench pool FILE...\n"
		"  the percentiles of the round trips in all the files that\n"
		"  turnstone bench --hist-out wrote\n";
	if (argc == 1 && (strcmp(argv[0], "--help") == 0 ||
			  strcmp(argv[0], "-h") == 0)) {
		fputs(usage, out);
		return 0;
	}
	if (argc < 1 || argv[0][0] == '-') {
		fputs(usage, err);
		return 2;
	}
	struct bench_hist *h = malloc(sizeof(*h));
	if (!h)
		return 1;
	bench_hist_init(h);
	int e = 0;
	for (int i = 0; i < argc && !e; i++)
		e = pool_file(h, argv[i], err);
	if (!e) {
		struct bench_report rep = {.n = 0};
		bench_report_add(&rep, "mode", false, "pool");
		bench_report_add(&rep, "runs", true, "%d", argc);
		bench_report_add(&rep, "count", true, "%llu", (unsigned long long)h->count);
		bench_report_add(&rep, "p50_us", true, "%.1f", bench_hist_pct(h, 50) / 1e3);
		bench_report_add(&rep, "p99_us", true, "%.1f", bench_hist_pct(h, 99) / 1e3);
		bench_report_add(&rep, "p999_us", true, "%.1f", bench_hist_pct(h, 99.9) / 1e3);
		bench_report_print(&rep, h, false, out);
	}
	free(h);
	return e ? 1 : 0;
}
