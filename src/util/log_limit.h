/* Log lines that remote clients can provoke (libmicrohttpd's messages on
 * the API and Prometheus ports): at most per_s a second, the rest counted
 * and reported in the next line that gets through, control characters
 * replaced. One per listener; safe from any thread. */
#ifndef TS_UTIL_LOG_LIMIT_H
#define TS_UTIL_LOG_LIMIT_H
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

struct log_limit {
	pthread_mutex_t mu;
	uint64_t sec; /* the second (monotonic) n counts in */
	unsigned per_s, n, dropped;
};

void log_limit_init(struct log_limit *l, unsigned per_s);
void log_limit_destroy(struct log_limit *l);
/* Whether one more line may go out now; if so, *dropped is how many
 * were held back since the last one (and starts again at 0). */
bool log_limit_take(struct log_limit *l, unsigned *dropped);
/* fmt/ap as one warning "who: <text>", at l's rate. */
void log_limit_vwarn(struct log_limit *l, const char *who, const char *fmt,
		     va_list ap) __attribute__((format(printf, 3, 0)));

#endif
