/* Leveled logging, one line per event. Never pass secrets, HMACs, keys,
 * passwords or tokens to these functions. */
#ifndef TS_UTIL_LOG_H
#define TS_UTIL_LOG_H
#include <stdio.h>

enum log_level { LOG_ERR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_setup(FILE *out, enum log_level level);
void log_msg(enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
