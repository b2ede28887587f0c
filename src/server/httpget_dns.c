/* Name resolution under httpget's deadline. getaddrinfo blocks for as
 * long as the resolver's own timeouts (5 s per try and server by
 * default, more with search domains), and nothing can interrupt it. So a
 * name that is not an IP literal is looked up on a detached thread that
 * shares a refcounted job with the caller: the caller waits on the job's
 * eventfd, its cancel fd and its deadline, and whichever side lets go
 * last frees the job. A lookup the caller gave up on finishes (or times
 * out in the resolver) on its own and frees what it found. */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "server/httpget_int.h"

struct dns_job {
	atomic_int refs; /* the caller and the thread */
	int efd;	 /* written once by the thread when done */
	atomic_bool done; /* rc and ai are set (release/acquire) */
	int rc;		 /* getaddrinfo's */
	struct addrinfo *ai;
	char host[HTTPGET_HOST_MAX];
	char port[8];
};

static void job_put(struct dns_job *j)
{
	if (atomic_fetch_sub(&j->refs, 1) != 1)
		return;
	if (j->ai)
		freeaddrinfo(j->ai);
	close(j->efd);
	free(j);
}

static void *job_run(void *arg)
{
	struct dns_job *j = arg;
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICSERV};
	j->rc = getaddrinfo(j->host, j->port, &hints, &j->ai);
	atomic_store_explicit(&j->done, true, memory_order_release);
	uint64_t one = 1;
	/* The eventfd's counter cannot overflow on one write. */
	(void)!write(j->efd, &one, sizeof(one));
	job_put(j);
	return NULL;
}

/* The thread's result once its eventfd said so: ENXIO when the name does
 * not resolve. The caller owns *ai afterwards. */
static int job_take(struct dns_job *j, struct addrinfo **ai)
{
	if (!atomic_load_explicit(&j->done, memory_order_acquire))
		return ETIMEDOUT; /* not reached: the eventfd follows the store */
	int rc = j->rc;
	*ai = j->ai;
	j->ai = NULL;
	return rc == 0 ? 0 : ENXIO;
}

static int job_start(struct dns_job *j)
{
	pthread_attr_t at;
	pthread_t t;
	if (pthread_attr_init(&at) != 0)
		return ENOMEM;
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	int err = pthread_create(&t, &at, job_run, j);
	pthread_attr_destroy(&at);
	return err;
}

int httpget_resolve(const char *host, const char *port, int cancel_fd,
		    const struct timespec *end, struct addrinfo **ai)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
	*ai = NULL;
	if (getaddrinfo(host, port, &hints, ai) == 0)
		return 0; /* an IP literal: nothing to wait for */
	*ai = NULL;
	struct dns_job *j = calloc(1, sizeof(*j));
	if (!j)
		return ENOMEM;
	j->efd = eventfd(0, EFD_CLOEXEC);
	if (j->efd < 0) {
		free(j);
		return ENOMEM;
	}
	snprintf(j->host, sizeof(j->host), "%s", host);
	snprintf(j->port, sizeof(j->port), "%s", port);
	atomic_init(&j->refs, 2);
	int err = job_start(j);
	if (err) {
		close(j->efd);
		free(j);
		return err;
	}
	err = httpget_wait_fd(j->efd, POLLIN, cancel_fd, end);
	if (!err)
		err = job_take(j, ai);
	job_put(j);
	return err;
}
