/* What the write-space wake-up of an epoll-watched UDP socket costs a
 * send (docs/benchmark-steps.md, step 23): 200 B sendto plus recv on
 * loopback, with the sending socket outside or inside an epoll set
 * (EPOLLIN only), alternating; prints the medians of 16 runs each.
 *   cc -O2 -o /tmp/udp-wspace scripts/micro/udp-wspace.c && /tmp/udp-wspace */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RUNS 16
#define LOOPS 200000

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int sock_lo(struct sockaddr_in *a)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	socklen_t l = sizeof(*a);
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s < 0 || bind(s, (struct sockaddr *)a, l) != 0 ||
	    getsockname(s, (struct sockaddr *)a, &l) != 0) {
		perror("socket");
		exit(1);
	}
	return s;
}

/* ns per send+recv, the sender watched by epoll or not. */
static double one_run(int watched)
{
	struct sockaddr_in sa, ra;
	int s = sock_lo(&sa), r = sock_lo(&ra), ep = epoll_create1(0);
	char buf[200] = {0}, rb[2048];
	struct epoll_event ev = {.events = EPOLLIN};
	if (watched && epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev) != 0) {
		perror("epoll_ctl");
		exit(1);
	}
	double t0 = now();
	for (int i = 0; i < LOOPS; i++) {
		sendto(s, buf, sizeof(buf), 0, (struct sockaddr *)&ra,
		       sizeof(ra));
		if (recv(r, rb, sizeof(rb), 0) < 0)
			i--; /* not there yet: send again */
	}
	double ns = (now() - t0) / LOOPS * 1e9;
	close(s);
	close(r);
	close(ep);
	return ns;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(void)
{
	double t[2][RUNS];
	for (int i = 0; i < RUNS; i++)
		for (int w = 0; w < 2; w++)
			t[w][i] = one_run(w);
	for (int w = 0; w < 2; w++) {
		qsort(t[w], RUNS, sizeof(double), cmp);
		printf("sender %s: median %.0f ns (min %.0f, max %.0f)\n",
		       w ? "in an epoll set" : "not watched    ",
		       (t[w][RUNS / 2 - 1] + t[w][RUNS / 2]) / 2, t[w][0],
		       t[w][RUNS - 1]);
	}
	return 0;
}
