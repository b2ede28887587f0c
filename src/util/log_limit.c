#include "util/log_limit.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/log.h"

void log_limit_init(struct log_limit *l, unsigned per_s)
{
	memset(l, 0, sizeof(*l));
	pthread_mutex_init(&l->mu, NULL);
	l->per_s = per_s;
}

void log_limit_destroy(struct log_limit *l)
{
	pthread_mutex_destroy(&l->mu);
}

bool log_limit_take(struct log_limit *l, unsigned *dropped)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t sec = (uint64_t)ts.tv_sec;
	pthread_mutex_lock(&l->mu);
	if (sec != l->sec) {
		l->sec = sec;
		l->n = 0;
	}
	bool ok = l->n++ < l->per_s;
	*dropped = ok ? l->dropped : 0;
	if (ok)
		l->dropped = 0;
	else
		l->dropped++;
	pthread_mutex_unlock(&l->mu);
	return ok;
}

void log_limit_vwarn(struct log_limit *l, const char *who, const char *fmt,
		     va_list ap)
{
	unsigned dropped;
	if (!log_limit_take(l, &dropped))
		return;
	char line[512];
	vsnprintf(line, sizeof(line), fmt, ap);
	size_t n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == ' '))
		line[--n] = '\0';
	/* A text log line is one line: nothing a client sent may split it. */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7F)
			line[i] = '?';
	if (dropped)
		log_warn("%s: %s (%u earlier messages suppressed)", who, line,
			 dropped);
	else
		log_warn("%s: %s", who, line);
}
