/* turnstone bench: log-bucket latency histogram and the result report. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli/bench.h"

void bench_hist_init(struct bench_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

/* Values below 2*SUB have a bucket each; above, the bucket is chosen by
 * the position of the top bit and the SUB_BITS bits below it. */
unsigned bench_hist_index(uint64_t v)
{
	if (v < 2 * BENCH_HIST_SUB)
		return (unsigned)v;
	unsigned e = 63u - (unsigned)__builtin_clzll(v);
	unsigned shift = e - BENCH_HIST_SUB_BITS;
	return (shift + 1) * BENCH_HIST_SUB +
	       (unsigned)((v >> shift) - BENCH_HIST_SUB);
}

uint64_t bench_hist_low(unsigned i)
{
	if (i < 2 * BENCH_HIST_SUB)
		return i;
	unsigned shift = i / BENCH_HIST_SUB - 1;
	return (uint64_t)(BENCH_HIST_SUB + i % BENCH_HIST_SUB) << shift;
}

uint64_t bench_hist_high(unsigned i)
{
	if (i < 2 * BENCH_HIST_SUB)
		return i;
	unsigned shift = i / BENCH_HIST_SUB - 1;
	return bench_hist_low(i) + ((uint64_t)1 << shift) - 1;
}

void bench_hist_add(struct bench_hist *h, uint64_t v)
{
	h->b[bench_hist_index(v)]++;
	h->count++;
	h->sum += v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

void bench_hist_merge(struct bench_hist *dst, const struct bench_hist *src)
{
	for (unsigned i = 0; i < BENCH_HIST_BUCKETS; i++)
		dst->b[i] += src->b[i];
	dst->count += src->count;
	dst->sum += src->sum;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
}

uint64_t bench_hist_pct(const struct bench_hist *h, double p)
{
	if (h->count == 0)
		return 0;
	/* The rank of the value: ceil(p% of count), at least 1, in integers
	 * with p rounded to 1e-7 %. In doubles 99.9 / 100 * 1000 is a hair
	 * above 999, and the p99.9 of any multiple of 1000 samples took the
	 * next sample (for 1000, the largest). count / scale * pp cannot
	 * overflow: pp <= scale. */
	const uint64_t scale = 1000000000; /* 100 % */
	uint64_t pp = p <= 0 ? 0 : p >= 100 ? scale : (uint64_t)(p * 1e7 + 0.5);
	uint64_t rank = h->count / scale * pp +
			((h->count % scale) * pp + scale - 1) / scale;
	if (rank < 1)
		rank = 1;
	uint64_t seen = 0;
	for (unsigned i = 0; i < BENCH_HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= rank) {
			uint64_t v = bench_hist_high(i);
			return v > h->max ? h->max : v;
		}
	}
	return h->max;
}

/* Percentiles at 1 - 2^-k, as HdrHistogram's percentile distribution
 * prints them, in microseconds. */
void bench_hist_print(const struct bench_hist *h, FILE *out)
{
	fprintf(out, "%12s %12s %12s %10s\n", "Value(us)", "Percentile",
		"TotalCount", "1/(1-P)");
	if (h->count == 0) {
		fprintf(out, "# no samples\n");
		return;
	}
	for (unsigned k = 0; k <= 16; k++) {
		double frac = 1.0 - 1.0 / (double)(1u << k);
		uint64_t v = bench_hist_pct(h, frac * 100.0);
		uint64_t below = (uint64_t)(frac * (double)h->count);
		fprintf(out, "%12.1f %12.6f %12llu %10u\n", (double)v / 1e3, frac,
			(unsigned long long)below, 1u << k);
		if (below + 1 >= h->count)
			break;
	}
	fprintf(out, "%12.1f %12.6f %12llu %10s\n", (double)h->max / 1e3, 1.0,
		(unsigned long long)h->count, "inf");
	fprintf(out, "#[Mean = %.1f us, Min = %.1f us, Max = %.1f us, "
		"Count = %llu]\n", (double)h->sum / (double)h->count / 1e3,
		(double)h->min / 1e3, (double)h->max / 1e3,
		(unsigned long long)h->count);
}

int bench_hist_write(const struct bench_hist *h, FILE *out)
{
	fprintf(out, "turnstone-hist 1 %" PRIu64 " %" PRIu64 " %" PRIu64
		" %" PRIu64 "\n", h->count, h->count ? h->min : 0, h->max, h->sum);
	for (unsigned i = 0; i < BENCH_HIST_BUCKETS; i++)
		if (h->b[i])
			fprintf(out, "%u %" PRIu64 "\n", i, h->b[i]);
	return fflush(out) || ferror(out) ? EIO : 0;
}

int bench_hist_read(struct bench_hist *h, FILE *in)
{
	struct bench_hist *f = malloc(sizeof(*f));
	if (!f)
		return ENOMEM;
	bench_hist_init(f);
	uint64_t min, total = 0;
	int e = fscanf(in, "turnstone-hist 1 %" SCNu64 " %" SCNu64 " %" SCNu64
		       " %" SCNu64, &f->count, &min, &f->max, &f->sum) == 4 ? 0 : EINVAL;
	unsigned i;
	uint64_t n;
	int got = EOF;
	while (!e && (got = fscanf(in, "%u %" SCNu64, &i, &n)) == 2) {
		if (i >= BENCH_HIST_BUCKETS || n == 0 || f->b[i] ||
		    n > f->count - total) {
			e = EINVAL;
		} else {
			f->b[i] = n;
			total += n;
		}
	}
	if (!e && (got != EOF || total != f->count ||
		   (f->count && min > f->max)))
		e = EINVAL;
	if (!e && f->count) {
		f->min = min;
		bench_hist_merge(h, f);
	}
	free(f);
	return e;
}

void bench_report_add(struct bench_report *r, const char *key, bool num,
		      const char *fmt, ...)
{
	if (r->n == BENCH_KV_MAX)
		return;
	struct bench_kv *kv = &r->kv[r->n++];
	snprintf(kv->key, sizeof(kv->key), "%s", key);
	kv->num = num;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(kv->val, sizeof(kv->val), fmt, ap);
	va_end(ap);
}

static void bench_report_json(const struct bench_report *r,
			      const struct bench_hist *h, FILE *out)
{
	fputc('{', out);
	for (unsigned i = 0; i < r->n; i++) {
		const struct bench_kv *kv = &r->kv[i];
		fprintf(out, "%s\"%s\":%s%s%s", i ? "," : "", kv->key,
			kv->num ? "" : "\"", kv->val, kv->num ? "" : "\"");
	}
	if (h && h->count) {
		static const double ps[] = {50, 90, 99, 99.9, 99.99, 100};
		fputs(",\"latency_us\":{", out);
		for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++)
			fprintf(out, "%s\"p%g\":%.1f", i ? "," : "", ps[i],
				(double)bench_hist_pct(h, ps[i]) / 1e3);
		fputc('}', out);
	}
	fputs("}\n", out);
}

void bench_report_print(const struct bench_report *r,
			const struct bench_hist *h, bool json, FILE *out)
{
	if (json) {
		bench_report_json(r, h, out);
		return;
	}
	if (h)
		bench_hist_print(h, out);
	fputs("RESULT", out);
	for (unsigned i = 0; i < r->n; i++)
		fprintf(out, " %s=%s", r->kv[i].key, r->kv[i].val);
	fputc('\n', out);
	fflush(out);
}
