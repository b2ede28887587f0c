/* Where the daemon's log lines go: --log-file, --syslog, or stderr when
 * neither is set (the journal collects it). --no-stdout-log only demands
 * one of the first two (config.c). A reload may change all of it: the new
 * file is opened while the reload is built (a file that does not open
 * fails the reload) and taken into use with the rest. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/server_int.h"
#include "util/log.h"

/* A log-file of an earlier reload: a worker that loaded the pointer just
 * before the switch may still be writing to it, so it stays open until
 * the workers are gone. */
struct server_logf {
	FILE *f;
	struct server_logf *older;
};

static void server_log_retire(struct server_log *l)
{
	if (!l->f)
		return;
	struct server_logf *o = malloc(sizeof(*o));
	if (o) { /* without memory the file just stays open */
		o->f = l->f;
		o->older = l->old;
		l->old = o;
	}
	l->f = NULL;
	l->path[0] = '\0';
}

/* syslog(3) loses lines silently when nothing listens on /dev/log; say so
 * once, on stderr, where startup problems go. */
static void server_log_probe(const struct server_log *l, const struct config *c,
			     FILE *out)
{
	int err = c->syslog && !l->syslog ? log_syslog_probe() : 0;
	if (err)
		fprintf(out, "turnstone: warning: 'syslog': nothing listens on "
			"/dev/log (%s); log lines are lost until a syslog daemon "
			"does\n", strerror(err));
}

int server_file_appendable(const char *path)
{
	struct stat st;
	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return EISDIR;
		return access(path, W_OK) == 0 ? 0 : errno;
	}
	if (errno != ENOENT)
		return errno;
	/* The directory: "." for "x", "/" for "/x". */
	char dir[4096] = ".";
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;
	if (n >= sizeof(dir))
		return ENAMETOOLONG;
	if (slash) {
		memcpy(dir, path, n ? n : 1);
		dir[n ? n : 1] = '\0';
	}
	if (stat(dir, &st) != 0)
		return errno;
	if (!S_ISDIR(st.st_mode))
		return ENOTDIR;
	return access(dir, W_OK | X_OK) == 0 ? 0 : errno;
}

int server_log_check(const struct config *c, FILE *err)
{
	int e = c->log_file[0] ? server_file_appendable(c->log_file) : 0;
	if (e)
		fprintf(err, "turnstone: cannot open log-file '%s': %s\n",
			c->log_file, strerror(e));
	return e ? EINVAL : 0;
}

int server_log_open(struct server_log *l, const struct config *c, FILE *err)
{
	server_log_abort(l);
	server_log_probe(l, c, err);
	if (!c->log_file[0] || strcmp(c->log_file, l->path) == 0)
		return 0;
	l->next = fopen(c->log_file, "a");
	if (!l->next) {
		fprintf(err, "turnstone: cannot open log-file '%s': %s\n",
			c->log_file, strerror(errno));
		return EINVAL;
	}
	return 0;
}

/* The FILE in use moves to the file now at its name: dup2 swaps the
 * descriptor under it in one step, so a line a worker writes meanwhile
 * (one fprintf and fflush per line, log.c) lands whole in one file or the
 * other, and no FILE pointer changes hands. A file that does not open
 * (the directory is not the proc-user's) keeps the old one. */
void server_log_reopen(struct server_log *l)
{
	if (!l->f)
		return;
	FILE *f = fopen(l->path, "a");
	if (!f) {
		log_warn("reload: cannot open log-file '%s' again: %s; writing on to "
			 "the file already open", l->path, strerror(errno));
		return;
	}
	flockfile(l->f); /* between two lines (log.c) */
	fflush(l->f);
	int rc = dup2(fileno(f), fileno(l->f));
	funlockfile(l->f);
	if (rc < 0)
		log_warn("reload: cannot switch to the reopened log-file: %s",
			 strerror(errno));
	fclose(f);
}

void server_log_abort(struct server_log *l)
{
	if (l->next)
		fclose(l->next); /* never handed to the logger */
	l->next = NULL;
}

void server_log_use(struct server_log *l, const struct config *c)
{
	if (l->next || !c->log_file[0])
		server_log_retire(l);
	if (l->next) {
		l->f = l->next;
		l->next = NULL;
		snprintf(l->path, sizeof(l->path), "%s", c->log_file);
	}
	int fac = -1;
	if (c->syslog &&
	    log_syslog_facility(c->syslog_facility[0] ? c->syslog_facility : "user",
				&fac) != 0)
		fac = -1; /* cannot happen: the value was checked when parsed */
	l->syslog = c->syslog;
	log_set_json(strcmp(c->log_format, "json") == 0);
	/* stderr only when there is neither a file nor syslog. */
	log_setup(l->f ? l->f : c->syslog ? NULL : stderr,
		  c->verbose ? LOG_DEBUG : LOG_INFO);
	log_set_syslog(fac);
}

void server_log_close(struct server_log *l)
{
	log_set_syslog(-1);
	log_setup(stderr, LOG_INFO);
	server_log_abort(l);
	if (l->f)
		fclose(l->f);
	while (l->old) {
		struct server_logf *o = l->old;
		l->old = o->older;
		fclose(o->f);
		free(o);
	}
	memset(l, 0, sizeof(*l));
}
