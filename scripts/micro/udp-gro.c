/* Does UDP GRO join datagrams on loopback? (docs/benchmark-steps.md,
 * step 23). 16 datagrams of 200 B go to a socket, sent one by one or as
 * one UDP_SEGMENT (GSO) send, with UDP_GRO off or on at the receiver;
 * prints how many reads it took to get them.
 *   cc -O2 -o /tmp/udp-gro scripts/micro/udp-gro.c && /tmp/udp-gro */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

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

/* Reads until the socket is empty; returns the number of reads. */
static int drain(int r, int *seg)
{
	static char b[65536];
	char c[64];
	int n = 0;
	for (;;) {
		struct iovec io = {b, sizeof(b)};
		struct msghdr m = {.msg_iov = &io, .msg_iovlen = 1,
				   .msg_control = c, .msg_controllen = sizeof(c)};
		if (recvmsg(r, &m, 0) < 0)
			return n;
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m); cm;
		     cm = CMSG_NXTHDR(&m, cm))
			if (cm->cmsg_level == IPPROTO_UDP &&
			    cm->cmsg_type == UDP_GRO)
				memcpy(seg, CMSG_DATA(cm), sizeof(*seg));
		n++;
	}
}

int main(void)
{
	char buf[16 * 200];
	memset(buf, 7, sizeof(buf));
	for (int gro = 0; gro < 2; gro++)
		for (int gso = 0; gso < 2; gso++) {
			struct sockaddr_in sa, ra;
			int s = sock_lo(&sa), r = sock_lo(&ra), one = 1;
			int sz = 200, seg = 0;
			if (gro)
				setsockopt(r, IPPROTO_UDP, UDP_GRO, &one,
					   sizeof(one));
			if (gso) {
				setsockopt(s, IPPROTO_UDP, UDP_SEGMENT, &sz,
					   sizeof(sz));
				sendto(s, buf, sizeof(buf), 0,
				       (struct sockaddr *)&ra, sizeof(ra));
			} else {
				for (int i = 0; i < 16; i++)
					sendto(s, buf, 200, 0,
					       (struct sockaddr *)&ra,
					       sizeof(ra));
			}
			usleep(10000);
			int reads = drain(r, &seg);
			printf("UDP_GRO %s, sent %s: %d reads (segment size "
			       "%d)\n", gro ? "on " : "off",
			       gso ? "as one GSO send" : "one by one     ",
			       reads, seg);
			close(s);
			close(r);
		}
	return 0;
}
