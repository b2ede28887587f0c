#include "util/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <time.h>

/* Set once at startup before worker threads exist; read-only afterwards. */
static FILE *log_out;
static atomic_int log_lvl = LOG_INFO;

void log_setup(FILE *out, enum log_level level)
{
	log_out = out;
	atomic_store(&log_lvl, (int)level);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	static const char *names[] = {"error", "warn", "info", "debug"};
	if ((int)lvl > atomic_load(&log_lvl))
		return;
	FILE *out = log_out ? log_out : stderr;
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	/* One fprintf per line: stdio locks the stream, so lines from
	 * different workers never interleave. */
	fprintf(out, "%04d-%02d-%02dT%02d:%02d:%02dZ %s %s\n", tm.tm_year + 1900,
		tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		names[lvl], line);
	fflush(out);
}
