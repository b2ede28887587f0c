/* turnstone bench: clock, /proc readers, limits and loopback sockets. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli/bench.h"

uint64_t bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int bench_file_read(const char *path, char *buf, size_t sz)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	size_t n = 0;
	while (n + 1 < sz) {
		ssize_t r = read(fd, buf + n, sz - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	return n ? 0 : EIO;
}

int bench_parse_cpu_line(const char *line, uint64_t *busy, uint64_t *total)
{
	unsigned long long v[8];
	if (strncmp(line, "cpu ", 4) != 0 ||
	    sscanf(line + 4, "%llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
		   &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) != 8)
		return EBADMSG;
	/* user nice system idle iowait irq softirq steal; guest time is
	 * already inside user. */
	*busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
	*total = *busy + v[3] + v[4];
	return 0;
}

int bench_sys_cpu(uint64_t *busy, uint64_t *total)
{
	char buf[512]; /* the first line is the aggregate */
	int e = bench_file_read("/proc/stat", buf, sizeof(buf));
	return e ? e : bench_parse_cpu_line(buf, busy, total);
}

/* Fields 14 and 15 of /proc/PID/stat count every thread of the process.
 * The command name (field 2) may hold spaces, so count from its ')'. */
int bench_proc_cpu(int pid, uint64_t *ns)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	int e = bench_file_read(path, buf, sizeof(buf));
	if (e)
		return e == ENOENT ? ENOENT : e;
	char *p = strrchr(buf, ')');
	if (!p)
		return EBADMSG;
	unsigned long long ut = 0, st = 0;
	/* After ')': state is field 3; utime and stime are 14 and 15. */
	if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
		   &ut, &st) != 2)
		return EBADMSG;
	long hz = sysconf(_SC_CLK_TCK);
	*ns = (ut + st) * (1000000000ull / (unsigned long long)(hz > 0 ? hz : 100));
	return 0;
}

int bench_proc_rss(int pid, uint64_t *kib)
{
	char path[64], buf[4096];
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	int e = bench_file_read(path, buf, sizeof(buf));
	if (e)
		return e;
	const char *p = strstr(buf, "\nVmRSS:");
	if (!p)
		return EBADMSG;
	*kib = strtoull(p + 7, NULL, 10);
	return 0;
}

/* /proc/net/snmp holds a header line and a value line per protocol. */
int bench_udp_rcvbuf_errors(uint64_t *v)
{
	char buf[8192];
	int e = bench_file_read("/proc/net/snmp", buf, sizeof(buf));
	if (e)
		return e;
	char *hdr = strstr(buf, "\nUdp: ");
	char *val = hdr ? strstr(hdr + 1, "\nUdp: ") : NULL;
	if (!hdr || !val)
		return EBADMSG;
	int col = -1, i = 0;
	char *save1, *save2;
	char *hl = strtok_r(hdr + 6, "\n", &save1);
	for (char *t = strtok_r(hl, " ", &save2); t; t = strtok_r(NULL, " ", &save2), i++) {
		if (strcmp(t, "RcvbufErrors") == 0)
			col = i;
	}
	if (col < 0)
		return ENOENT;
	char *vl = strtok_r(val + 6, "\n", &save1);
	i = 0;
	for (char *t = strtok_r(vl, " ", &save2); t; t = strtok_r(NULL, " ", &save2), i++) {
		if (i == col) {
			*v = strtoull(t, NULL, 10);
			return 0;
		}
	}
	return EBADMSG;
}

int bench_nofile_raise(unsigned want)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl))
		return errno;
	if (rl.rlim_cur >= want)
		return 0;
	rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		return errno;
	return rl.rlim_cur >= want ? 0 : EMFILE;
}

void bench_src_addr(unsigned k, struct sa *out)
{
	uint8_t ip[4] = {127, (uint8_t)(1 + k / (254 * 254) % 250),
			 (uint8_t)(k / 254 % 254 + 1), (uint8_t)(k % 254 + 1)};
	sa_set_raw(out, AF_INET, ip, 0);
}

static void bench_sock_bufs(int fd, int bufsz)
{
	if (bufsz <= 0)
		return;
	/* Best effort: the kernel caps these at rmem_max / wmem_max. */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
}

int bench_sock_open(const struct sa *src, const struct sa *dst, int bufsz,
		    int *fdp)
{
	int fd = socket(sa_af(dst), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	bench_sock_bufs(fd, bufsz);
	int e = 0;
	if (src && sa_af(src) == sa_af(dst) && bind(fd, &src->u.sa, src->len))
		e = errno;
	if (!e && connect(fd, &dst->u.sa, dst->len))
		e = errno;
	if (e) {
		close(fd);
		return e;
	}
	*fdp = fd;
	return 0;
}

int bench_sock_bind_lo(int bufsz, int *fdp, struct sa *bound)
{
	struct sa lo;
	sa_set_str(&lo, "127.0.0.1", 0);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	bench_sock_bufs(fd, bufsz);
	socklen_t len = sizeof(bound->u);
	if (bind(fd, &lo.u.sa, lo.len) ||
	    getsockname(fd, &bound->u.sa, &len)) {
		int e = errno;
		close(fd);
		return e;
	}
	bound->len = len;
	*fdp = fd;
	return 0;
}
