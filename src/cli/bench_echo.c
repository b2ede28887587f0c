/* turnstone bench: the UDP echo peer (a thread in the bench process) and
 * the bare forwarder baseline (a child process), both batching with
 * recvmmsg/sendmmsg. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/bench.h"

#define ECHO_BATCH 64
#define ECHO_BUFSZ 2048
#define ECHO_SOCKBUF (4 << 20)

/* One batch of datagrams: received into bufs, sent back out in place. */
struct bench_batch {
	struct mmsghdr msgs[ECHO_BATCH];
	struct iovec iov[ECHO_BATCH];
	struct sockaddr_in6 names[ECHO_BATCH];
	uint8_t bufs[ECHO_BATCH][ECHO_BUFSZ];
};

struct bench_echo {
	struct loop_fd lf;
	struct loop *loop;
	struct bench_batch batch;
	pthread_t thr;
	bool started;
	_Atomic bool stop;
};

static void batch_arm(struct bench_batch *b)
{
	for (unsigned i = 0; i < ECHO_BATCH; i++) {
		b->iov[i] = (struct iovec){b->bufs[i], ECHO_BUFSZ};
		b->msgs[i].msg_hdr = (struct msghdr){
			.msg_name = &b->names[i],
			.msg_namelen = sizeof(b->names[i]),
			.msg_iov = &b->iov[i],
			.msg_iovlen = 1,
		};
	}
}

/* Receive one batch; flags 0 blocks until at least one arrives. */
static int batch_recv(struct bench_batch *b, int fd, int flags)
{
	batch_arm(b);
	return recvmmsg(fd, b->msgs, ECHO_BATCH, flags, NULL);
}

/* Send the first n datagrams of the batch, each to its msg_name; what
 * a full socket buffer refuses is dropped (the client counts it lost). */
static void batch_send(struct bench_batch *b, int fd, int n)
{
	for (int i = 0; i < n; i++)
		b->iov[i].iov_len = b->msgs[i].msg_len;
	int done = 0;
	while (done < n) {
		int r = sendmmsg(fd, b->msgs + done, (unsigned)(n - done), 0);
		if (r <= 0)
			break;
		done += r;
	}
}

static void echo_input(struct loop_fd *lf, uint32_t events)
{
	struct bench_echo *e = lf->arg;
	(void)events;
	for (int round = 0; round < 8; round++) {
		int n = batch_recv(&e->batch, lf->fd, MSG_DONTWAIT);
		if (n <= 0)
			return;
		batch_send(&e->batch, lf->fd, n);
		if (n < ECHO_BATCH)
			return;
	}
}

int bench_echo_alloc(struct bench_echo **ep, struct sa *addr)
{
	struct bench_echo *e = calloc(1, sizeof(*e));
	if (!e)
		return ENOMEM;
	int err = bench_sock_bind_lo(ECHO_SOCKBUF, &e->lf.fd, addr);
	if (err) {
		free(e);
		return err;
	}
	e->lf.h = echo_input;
	e->lf.arg = e;
	*ep = e;
	return 0;
}

static void *echo_thread(void *arg)
{
	struct bench_echo *e = arg;
	while (!atomic_load(&e->stop))
		loop_run_once(e->loop, 50);
	return NULL;
}

int bench_echo_start(struct bench_echo *e)
{
	int err = loop_alloc(&e->loop);
	if (!err)
		err = loop_add(e->loop, &e->lf, EPOLLIN);
	if (!err)
		err = pthread_create(&e->thr, NULL, echo_thread, e);
	e->started = err == 0;
	return err;
}

void bench_echo_stop(struct bench_echo *e)
{
	if (!e)
		return;
	atomic_store(&e->stop, true);
	if (e->started)
		pthread_join(e->thr, NULL);
	if (e->loop)
		loop_close(e->loop, &e->lf);
	else if (e->lf.fd >= 0)
		close(e->lf.fd);
	loop_free(e->loop);
	free(e);
}

/* ----- Forwarder: datagrams from the peer go to the client whose
 * address the payload carries; anything else goes to the peer. No
 * table, no TURN: the floor of what any userspace relay costs. ----- */
struct bench_fwd {
	int fd;
	struct sockaddr_in peer;
	struct bench_batch batch;
};

static void fwd_route(struct bench_fwd *f, int n)
{
	struct bench_batch *b = &f->batch;
	for (int i = 0; i < n; i++) {
		struct sockaddr_in *src = (struct sockaddr_in *)&b->names[i];
		const uint8_t *p = b->bufs[i];
		bool from_peer = src->sin_port == f->peer.sin_port &&
				 src->sin_addr.s_addr == f->peer.sin_addr.s_addr;
		if (!from_peer) {
			*src = f->peer;
		} else if (b->msgs[i].msg_len >= BENCH_PKT_HEAD) {
			memcpy(&src->sin_addr, p + BENCH_PKT_OFF_ADDR, 4);
			memcpy(&src->sin_port, p + BENCH_PKT_OFF_ADDR + 4, 2);
		}
		b->msgs[i].msg_hdr.msg_namelen = sizeof(*src);
	}
}

static void *fwd_thread(void *arg)
{
	struct bench_fwd *f = arg;
	for (;;) {
		int n = batch_recv(&f->batch, f->fd, MSG_WAITFORONE);
		if (n < 0 && errno != EINTR)
			return NULL;
		if (n <= 0)
			continue;
		fwd_route(f, n);
		batch_send(&f->batch, f->fd, n);
	}
}

/* The child: one blocking thread per socket until killed or max_s. */
static void fwd_child(const struct sa *peer, const int *fds, unsigned n,
		      unsigned max_s)
{
	alarm(max_s);
	struct bench_fwd *fw = calloc(n, sizeof(*fw));
	pthread_t thr[BENCH_MAX_THREADS];
	if (!fw)
		_exit(1);
	for (unsigned i = 0; i < n; i++) {
		fw[i].fd = fds[i];
		fw[i].peer = peer->u.in;
		fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) & ~O_NONBLOCK);
		if (pthread_create(&thr[i], NULL, fwd_thread, &fw[i]))
			_exit(1);
	}
	for (unsigned i = 0; i < n; i++)
		pthread_join(thr[i], NULL);
	_exit(0);
}

int bench_fwd_spawn(const struct sa *peer, unsigned nthreads, int cpu,
		    unsigned max_s, struct sa *out, int *pidp)
{
	int fds[BENCH_MAX_THREADS];
	unsigned n = 0;
	int err = 0;
	for (; n < nthreads && !err; n++)
		err = bench_sock_bind_lo(ECHO_SOCKBUF, &fds[n], &out[n]);
	if (err)
		n--;
	pid_t pid = err ? -1 : fork();
	if (pid == 0) {
		/* Pinned like a server under test (scripts/bench-pinned). */
		if (cpu >= 0) {
			cpu_set_t set;
			CPU_ZERO(&set);
			CPU_SET(cpu, &set);
			if (sched_setaffinity(0, sizeof(set), &set) != 0)
				_exit(1);
		}
		fwd_child(peer, fds, n, max_s);
	}
	if (pid < 0 && !err)
		err = errno;
	for (unsigned i = 0; i < n; i++)
		close(fds[i]);
	if (!err)
		*pidp = pid;
	return err;
}
