/* Between httpget.c and httpget_dns.c. */
#ifndef TS_SERVER_HTTPGET_INT_H
#define TS_SERVER_HTTPGET_INT_H
#include <netdb.h>
#include <time.h>

#include "server/httpget.h"

/* fd ready for ev before the deadline (CLOCK_MONOTONIC): 0, ETIMEDOUT,
 * or ECANCELED when cancel_fd (if > 0) became readable first. */
int httpget_wait_fd(int fd, short ev, int cancel_fd, const struct timespec *end);
/* host:port for a TCP connect, under the same deadline and cancel fd:
 * 0 with *ai to freeaddrinfo, ENXIO when the name does not resolve,
 * ETIMEDOUT, ECANCELED, or ENOMEM/EAGAIN when no thread could start. */
int httpget_resolve(const char *host, const char *port, int cancel_fd,
		    const struct timespec *end, struct addrinfo **ai);

#endif
