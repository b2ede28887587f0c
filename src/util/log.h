/* Leveled logging, one line per event. Never pass secrets, HMACs, keys,
 * passwords or tokens to these functions. */
#ifndef TS_UTIL_LOG_H
#define TS_UTIL_LOG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "util/log_syslog.h"

enum log_level { LOG_ERR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Lines go to out (NULL: to no stream; before the first call, stderr)
 * at level and below. May be called again while threads log: the old
 * stream must then stay open, a thread may still be writing to it. */
void log_setup(FILE *out, enum log_level level);
/* Also send each line to syslog(3) at facility fac (log_syslog_facility),
 * or stop (fac < 0). Text lines go without the timestamp (syslog adds
 * its own), JSON lines whole. Levels map to LOG_ERR, LOG_WARNING,
 * LOG_INFO and LOG_DEBUG. */
void log_set_syslog(int fac);
/* JSON lines ({"ts","level","msg"}) instead of text; set before threads. */
void log_set_json(bool on);
/* in as the body of a JSON string (no quotes) into out, NUL-terminated,
 * cut at a character boundary if outsz is short. Returns the length. */
size_t log_json_escape(const char *in, char *out, size_t outsz);
/* in with every byte that is not part of valid UTF-8 replaced by U+FFFD
 * (what a client sent as a username need not be), into out,
 * NUL-terminated, cut at a character boundary. Returns the length. */
size_t log_utf8_clean(const char *in, char *out, size_t outsz);
void log_msg(enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
