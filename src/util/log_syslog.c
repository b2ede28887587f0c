/* syslog(3) for the logger (log.c). glibc's syslog is thread-safe: each
 * call takes its own lock, so workers may log at the same time. */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "util/log_syslog.h"

static const struct {
	const char *name;
	int fac;
} log_facs[] = {
	{"auth", LOG_AUTH},     {"authpriv", LOG_AUTHPRIV}, {"cron", LOG_CRON},
	{"daemon", LOG_DAEMON}, {"lpr", LOG_LPR},           {"mail", LOG_MAIL},
	{"news", LOG_NEWS},     {"syslog", LOG_SYSLOG},     {"user", LOG_USER},
	{"uucp", LOG_UUCP},     {"local0", LOG_LOCAL0},     {"local1", LOG_LOCAL1},
	{"local2", LOG_LOCAL2}, {"local3", LOG_LOCAL3},     {"local4", LOG_LOCAL4},
	{"local5", LOG_LOCAL5}, {"local6", LOG_LOCAL6},     {"local7", LOG_LOCAL7},
};

/* "kern" is left out: a process cannot log there (glibc turns facility
 * 0 into the default one). */
int log_syslog_facility(const char *name, int *fac)
{
	if (strncasecmp(name, "LOG_", 4) == 0)
		name += 4;
	for (size_t i = 0; i < sizeof(log_facs) / sizeof(log_facs[0]); i++) {
		if (strcasecmp(name, log_facs[i].name) == 0) {
			*fac = log_facs[i].fac;
			return 0;
		}
	}
	return EINVAL;
}

static void log_syslog_init(void)
{
	openlog("turnstone", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_syslog_open(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, log_syslog_init);
}

void log_syslog_write(int fac, int lvl, const char *line)
{
	static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
	if (lvl < 0 || lvl > 3)
		lvl = 0;
	syslog(fac | prio[lvl], "%s", line);
}

int log_syslog_probe(void)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	strcpy(a.sun_path, "/dev/log");
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	int rc = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 ? 0 : errno;
	close(fd);
	return rc;
}
