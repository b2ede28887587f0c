/* libFuzzer target for the config file (config_file.c, config_set.c,
 * config.c) and what the daemon builds from it before opening anything
 * (the API's configuration, apicfg.c; the TURN configuration and peer
 * policy, tcfg.c). The input is the file, read through a memfd: no disk;
 * or, when it starts with '-', a command line, one argument a line
 * (config.c), unless it names a file to read (-c).
 * A config file is the operator's, but it must never crash the daemon,
 * only fail with a message: every refusal must write one, and an
 * accepted file none. Left out, because they open files or sockets: the
 * API's admin token file, TLS files, log files, user lookups, and the
 * host's address list that a wildcard address needs (getifaddrs).
 * Seeds: tests/fuzz/seeds-config. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "server/config.h"
#include "server/config_int.h"
#include "server/server_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A refusal wrote a "turnstone: " line; an acceptance wrote nothing. */
static void fz_said(int rc, char **msg, size_t *len, FILE *err)
{
	fflush(err);
	if (rc != 0 && rc != EINVAL)
		abort();
	if ((rc != 0) != (*len > 0))
		abort();
	if (*len && strncmp(*msg, "turnstone: ", 11) != 0)
		abort();
}

static bool fz_wildcard(const struct config *c)
{
	for (unsigned i = 0; i < c->nlisten; i++)
		if (sa_is_any(&c->listen[i]))
			return true;
	for (unsigned i = 0; i < c->nrelay; i++)
		if (sa_is_any(&c->relay[i]))
			return true;
	return false;
}

/* What server_setup and server_load_api build from a valid file. */
static void fz_build(struct config *c)
{
	char *msg = NULL;
	size_t len = 0;
	FILE *err = open_memstream(&msg, &len);
	if (!err)
		abort();
	struct net_listen_cfg lc;
	server_listen_cfg(c, &lc);
	/* Files: not opened here (the input names any path). */
	c->api_admin_token_file[0] = c->api_cert[0] = c->api_pkey[0] = '\0';
	if (c->api_port) {
		static struct api_cfg a;
		fz_said(server_api_cfg(c, &lc, &a, err), &msg, &len, err);
	}
	/* A userdb is read while the TURN configuration is built; without
	 * reading it that build may rightly fail (no credentials). */
	if (!fz_wildcard(c) && !c->userdb[0]) {
		struct server_tcfg *t = NULL;
		if (server_tcfg_build(c, &lc, &t, err) != 0)
			abort(); /* only ENOMEM, or getifaddrs with a wildcard */
		server_tcfg_free(t);
	}
	fclose(err);
	free(msg);
}

/* Whether an argument is an option that reads a file: -c FILE. */
static bool fz_arg_file(const char *a)
{
	char name[64];
	const struct cfg_opt *o = NULL;
	if (a[0] == '-' && a[1] == '-') {
		size_t n = strcspn(a + 2, "=");
		if (n >= sizeof(name))
			return false;
		memcpy(name, a + 2, n);
		name[n] = '\0';
		o = config_opt_find(name);
	} else if (a[0] == '-' && a[1]) {
		o = config_opt_find_short(a[1]);
	}
	return o && o->kind == CFG_FILE;
}

/* The input as argv (after "serve"), one argument a line. */
static int fz_args(struct config *c, const uint8_t *data, size_t size,
		   FILE *err)
{
	char *buf = malloc(size + 1), *argv[65] = {"serve"}, *save = NULL;
	int argc = 1, rc = 0;
	if (!buf)
		return ENOMEM;
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (char *a = strtok_r(buf, "\n", &save); a && argc < 65;
	     a = strtok_r(NULL, "\n", &save)) {
		if (fz_arg_file(a))
			goto out; /* skipped, not run */
		argv[argc++] = a;
	}
	rc = config_parse_args(c, argc, argv, err);
out:
	free(buf);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	static struct config c;
	if (fd < 0) {
		fd = memfd_create("fuzz-config", MFD_CLOEXEC);
		if (fd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	char *msg = NULL;
	size_t len = 0;
	FILE *err = open_memstream(&msg, &len);
	if (!err)
		abort();
	config_defaults(&c);
	int rc = size && data[0] == '-' ? fz_args(&c, data, size, err)
					: config_parse_file(&c, path, err);
	fz_said(rc, &msg, &len, err);
	if (rc == 0) {
		rc = config_validate(&c, err);
		fz_said(rc, &msg, &len, err);
	}
	fclose(err);
	free(msg);
	if (rc == 0)
		fz_build(&c);
	return 0;
}
