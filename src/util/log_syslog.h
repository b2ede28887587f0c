/* The syslog(3) side of the logger, apart from log.c because <syslog.h>
 * defines LOG_ERR, LOG_INFO and LOG_DEBUG as macros that would clash with
 * enum log_level. Levels here are enum log_level values (0 error ..
 * 3 debug). Included by util/log.h. */
#ifndef TS_UTIL_LOG_SYSLOG_H
#define TS_UTIL_LOG_SYSLOG_H

/* The facility for a name: auth, authpriv, cron, daemon, lpr, mail, news,
 * syslog, user, uucp, local0..local7, case-insensitive, with or without
 * coturn's "LOG_" prefix (LOG_LOCAL0). 0 or EINVAL. */
int log_syslog_facility(const char *name, int *fac);
/* Whether something listens on /dev/log: syslog(3) drops lines silently
 * when nothing does. 0 or an errno value. */
int log_syslog_probe(void);

/* For log.c: openlog(3) once (ident "turnstone", the pid in each line),
 * and one line at facility fac. */
void log_syslog_open(void);
void log_syslog_write(int fac, int lvl, const char *line);

#endif
