/* coturn's proc-user and proc-group: the daemon starts as root to bind
 * ports below 1024 and read root-only keys, then gives root up for good
 * before any thread that reads from the network starts (server.c says
 * what is done before). Also the listening sockets of the HTTP servers
 * (API, Prometheus), bound here before the drop so that libmicrohttpd
 * starts its threads after it. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/server_int.h"
#include "util/log.h"

/* A decimal id, as coturn also takes. */
static bool privs_num(const char *s, unsigned long *v)
{
	char *end;
	if (!*s || strspn(s, "0123456789") != strlen(s))
		return false;
	errno = 0;
	*v = strtoul(s, &end, 10);
	return errno == 0 && *v < (unsigned long)(uid_t)-1;
}

static int privs_user(const char *name, struct server_privs *p, FILE *err)
{
	unsigned long id;
	struct passwd *pw = privs_num(name, &id) ? getpwuid((uid_t)id)
						  : getpwnam(name);
	if (!pw) {
		fprintf(err, "turnstone: invalid value for 'proc-user': no such "
			     "user '%s'\n", name);
		return EINVAL;
	}
	p->drop_user = true;
	p->uid = pw->pw_uid;
	p->gid = pw->pw_gid;
	snprintf(p->user, sizeof(p->user), "%s", pw->pw_name);
	return 0;
}

static int privs_group(const char *name, struct server_privs *p, FILE *err)
{
	unsigned long id;
	struct group *gr = privs_num(name, &id) ? getgrgid((gid_t)id)
						: getgrnam(name);
	if (!gr) {
		fprintf(err, "turnstone: invalid value for 'proc-group': no such "
			     "group '%s'\n", name);
		return EINVAL;
	}
	p->drop_group = true;
	p->gid = gr->gr_gid;
	return 0;
}

/* The lowest port an unprivileged process may bind (Linux sysctl). */
static unsigned privs_port_floor(void)
{
	unsigned v = 1024;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_unprivileged_port_start", "r");
	if (f) {
		if (fscanf(f, "%u", &v) != 1)
			v = 1024;
		fclose(f);
	}
	return v;
}

int server_privs_resolve(const struct config *c, struct server_privs *p,
			 FILE *err)
{
	memset(p, 0, sizeof(*p));
	if (c->proc_user[0] && privs_user(c->proc_user, p, err) != 0)
		return EINVAL;
	if (c->proc_group[0] && privs_group(c->proc_group, p, err) != 0)
		return EINVAL;
	p->drop_group |= p->drop_user;
	/* Relay sockets are bound on demand, long after the drop. */
	if (p->drop_user && p->uid != 0 && c->min_port < privs_port_floor()) {
		fprintf(err, "turnstone: 'min-port' %u is below %u: relay ports "
			     "could not be bound once 'proc-user' has dropped root\n",
			c->min_port, privs_port_floor());
		return EINVAL;
	}
	return 0;
}

static bool privs_are(uid_t uid, gid_t gid, bool check_uid)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0)
		return false;
	if (rg != gid || eg != gid || sg != gid)
		return false;
	return !check_uid || (ru == uid && eu == uid && su == uid);
}

/* The user's supplementary groups, or none but gid: root's must not stay. */
static int privs_groups(const struct server_privs *p)
{
	if (p->drop_user && initgroups(p->user, p->gid) == 0)
		return 0;
	return setgroups(1, &p->gid) == 0 ? 0 : errno;
}

static int privs_fail(FILE *err, const char *key, const char *what, int e)
{
	fprintf(err, "turnstone: '%s': cannot %s: %s\n", key, what, strerror(e));
	return e ? e : EPERM;
}

int server_privs_drop(const struct server_privs *p, FILE *err)
{
	const char *key = p->drop_user ? "proc-user" : "proc-group";
	if (!p->drop_group)
		return 0;
	/* Already there (started as that user): nothing to give up. */
	if (geteuid() != 0 && privs_are(p->uid, p->gid, p->drop_user))
		return 0;
	int e = privs_groups(p);
	if (e)
		return privs_fail(err, key, "set the supplementary groups", e);
	if (setresgid(p->gid, p->gid, p->gid) != 0)
		return privs_fail(err, key, "set the group", errno);
	if (p->drop_user && setresuid(p->uid, p->uid, p->uid) != 0)
		return privs_fail(err, key, "set the user", errno);
	if (!privs_are(p->uid, p->gid, p->drop_user))
		return privs_fail(err, key, "drop privileges for good", EPERM);
	/* Verify that root cannot be regained (it could with a saved id). */
	if (p->drop_user && p->uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))
		return privs_fail(err, key, "drop root for good", EPERM);
	return 0;
}

int server_privs_own_file(const struct server_privs *p, const char *path)
{
	if (!p->drop_group || !path[0])
		return 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		      0600);
	if (fd < 0)
		return errno == EEXIST ? 0 : errno;
	uid_t uid = p->drop_user ? p->uid : (uid_t)-1;
	int err = fchown(fd, uid, p->gid) == 0 ? 0 : errno;
	close(fd);
	return err;
}

void server_db_mode_warn(const char *path)
{
	struct stat st;
	if (!path[0] || stat(path, &st) != 0 || !(st.st_mode & 066))
		return;
	log_warn("db '%s' has mode %04o: group or others may read or write "
		 "it, and it holds TURN secrets and JWT signing keys; "
		 "fix with 'chmod 600 %s' (the mode Turnstone creates it with)", path,
		 (unsigned)(st.st_mode & 07777), path);
}

int server_listen_tcp(const char *ip, uint16_t port, int *fdp)
{
	struct sa s;
	if (sa_set_str(&s, ip, port) != 0)
		return EINVAL;
	int fd = socket(sa_af(&s), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	int one = 1, e = 0;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (sa_af(&s) == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, &s.u.sa, s.len) != 0 || listen(fd, SOMAXCONN) != 0)
		e = errno;
	if (e) {
		close(fd);
		return e;
	}
	*fdp = fd;
	return 0;
}
