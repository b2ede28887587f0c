/* turnstone probe: check a STUN or TURN server as a client would. This
 * file parses the command line and runs the STUN Binding check; the TURN
 * check is in probe_turn.c, the sockets in probe_io.c. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "cli/cli.h"
#include "cli/probe.h"
#include "util/rand.h"

void probe_usage(FILE *f)
{
	fprintf(f,
		"usage: turnstone probe [--nat] stun:HOST:PORT\n"
		"       turnstone probe 'turn:HOST:PORT[?transport=udp|tcp]'\n"
		"       turnstone probe stuns:HOST:PORT | 'turns:HOST:PORT"
		"[?transport=tcp]' [TLS options]\n"
		"                 (--user U --password P | --secret S "
		"[--user-id ID] [--ttl N])\n"
		"                 [--realm R] [--count N] [--peer IP]\n"
		"  HOST is an IPv4 literal or [IPv6 literal]; names are not "
		"resolved.\n"
		"  --nat         how this host's NAT maps and filters UDP (RFC "
		"5780;\n"
		"                the server must do it: alt-listening-port)\n"
		"  --secret S    mint REST credentials (use-auth-secret)\n"
		"  --user-id ID  REST user id (default \"%s\")\n"
		"  --ttl N       REST credential lifetime (default %d s)\n"
		"  --rest-api-separator C  the server's (default ':')\n"
		"  --realm R     realm (default: the one the server names)\n"
		"  --count N     relayed messages to send (default %d)\n"
		"  --peer IP     local address of the echo peer (default "
		"127.0.0.1)\n"
		"  TLS (turns:, stuns:): the certificate is verified against the "
		"system's CAs\n"
		"  --ca-file F   or these; --servername N  for name N (and SNI), "
		"else the IP\n"
		"  --insecure    not verified (and said so)\n",
		PROBE_USERID_DEFAULT, PROBE_TTL_DEFAULT, PROBE_COUNT_DEFAULT);
}

/* Decimal in 1..max with nothing after it. */
static int probe_num_parse(const char *s, unsigned long long max,
			   unsigned long long *v)
{
	if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 19)
		return EINVAL;
	*v = strtoull(s, NULL, 10);
	return *v >= 1 && *v <= max ? 0 : EINVAL;
}

/* HOST is "[v6]" or a v4 literal; *rest is left just after it. */
static int probe_host_parse(struct sa *sa, const char *s, const char **rest,
			    FILE *err)
{
	char host[SA_STRLEN];
	bool v6 = *s == '[';
	size_t n = v6 ? strcspn(s + 1, "]") : strcspn(s, ":?");
	const char *h = v6 ? s + 1 : s;
	if ((v6 && h[n] != ']') || n == 0 || n >= sizeof(host)) {
		fprintf(err, "turnstone probe: bad host in '%s'\n", s);
		return EINVAL;
	}
	memcpy(host, h, n);
	host[n] = '\0';
	*rest = h + n + v6;
	if (sa_set_str(sa, host, 0) != 0 || (sa_af(sa) == AF_INET6) != v6) {
		fprintf(err, "turnstone probe: '%s' is not an IPv4 literal or "
			"a bracketed IPv6 literal (names are not resolved)\n",
			host);
		return EINVAL;
	}
	return 0;
}

/* ":PORT" then the end or '?'. */
static int probe_port_parse(struct sa *sa, const char *s, const char **rest,
			    FILE *err)
{
	unsigned long long port;
	char num[8];
	size_t n = *s == ':' ? strcspn(s + 1, "?") : 0;
	if (n == 0) {
		fprintf(err, "turnstone probe: the URI needs a port "
			"(HOST:PORT)\n");
		return EINVAL;
	}
	snprintf(num, sizeof(num), "%.*s", (int)n, s + 1);
	if (n >= sizeof(num) || probe_num_parse(num, 65535, &port) != 0) {
		fprintf(err, "turnstone probe: bad port '%.*s'\n", (int)n,
			s + 1);
		return EINVAL;
	}
	sa_set_port(sa, (uint16_t)port);
	*rest = s + 1 + n;
	return 0;
}

/* RFC 7065 3.1: the only query is transport=udp|tcp; stun: has none. */
static int probe_query_parse(struct probe_args *a, const char *q, FILE *err)
{
	if (!*q)
		return 0;
	if (a->scheme == PROBE_TURN && strcmp(q, "?transport=udp") == 0 && !a->tls)
		return 0;
	if (a->tls && strcmp(q, "?transport=udp") == 0) {
		fprintf(err, "turnstone probe: turns: over UDP is DTLS, which "
			"probe does not do (use ?transport=tcp)\n");
		return EINVAL;
	}
	if (a->scheme == PROBE_TURN && strcmp(q, "?transport=tcp") == 0) {
		a->tcp = true;
		return 0;
	}
	fprintf(err, "turnstone probe: unsupported '%s' (%s)\n", q,
		a->scheme == PROBE_TURN ? "use ?transport=udp or ?transport=tcp"
					: "stun: URIs take no query");
	return EINVAL;
}

int probe_url_parse(struct probe_args *a, const char *url, FILE *err)
{
	const char *s;
	a->tls = strncmp(url, "stuns:", 6) == 0 || strncmp(url, "turns:", 6) == 0;
	if (strncmp(url, "stun", 4) == 0 && url[4 + a->tls] == ':')
		a->scheme = PROBE_STUN;
	else if (strncmp(url, "turn", 4) == 0 && url[4 + a->tls] == ':')
		a->scheme = PROBE_TURN;
	else {
		fprintf(err, "turnstone probe: '%s' is not a stun:, stuns:, "
			"turn: or turns: URI\n", url);
		return EINVAL;
	}
	a->tcp = a->tls; /* TLS is over TCP (RFC 7065 3.1) */
	if (probe_host_parse(&a->server, url + 5 + a->tls, &s, err) ||
	    probe_port_parse(&a->server, s, &s, err))
		return EINVAL;
	return probe_query_parse(a, s, err);
}

static int probe_opt_num(const char *name, const char *val,
			 unsigned long long max, unsigned long long *v,
			 FILE *err)
{
	if (probe_num_parse(val, max, v) == 0)
		return 0;
	fprintf(err, "turnstone probe: invalid --%s '%s' (1..%llu)\n", name,
		val, max);
	return EINVAL;
}

static int probe_opt_set(struct probe_args *a, const char *name,
			 const char *val, FILE *err)
{
	unsigned long long v;
	if (strcmp(name, "user") == 0)
		a->user = val;
	else if (strcmp(name, "password") == 0)
		a->password = val;
	else if (strcmp(name, "secret") == 0)
		a->secret = val;
	else if (strcmp(name, "user-id") == 0)
		a->user_id = val;
	else if (strcmp(name, "realm") == 0)
		a->realm = val;
	else if (strcmp(name, "ttl") == 0) {
		if (probe_opt_num(name, val, 10ull * 365 * 86400, &v, err))
			return EINVAL;
		a->ttl = v;
	} else if (strcmp(name, "count") == 0) {
		if (probe_opt_num(name, val, PROBE_COUNT_MAX, &v, err))
			return EINVAL;
		a->count = (unsigned)v;
	} else if (strcmp(name, "rest-api-separator") == 0) {
		if (strlen(val) == 1 && auth_rest_sep_ok(val[0])) {
			a->sep = val[0];
			return 0;
		}
		fprintf(err, "turnstone probe: invalid --rest-api-separator "
			"'%s' (one printable character, not a digit)\n", val);
		return EINVAL;
	} else if (strcmp(name, "ca-file") == 0) {
		a->ca_file = val;
	} else if (strcmp(name, "servername") == 0) {
		a->servername = val;
	} else if (strcmp(name, "peer") == 0) {
		if (sa_set_str(&a->peer, val, 0) == 0)
			return 0;
		fprintf(err, "turnstone probe: --peer '%s' is not an IP "
			"literal\n", val);
		return EINVAL;
	} else {
		fprintf(err, "turnstone probe: unknown option '--%s'\n", name);
		return EINVAL;
	}
	return 0;
}

/* Which credentials: --user/--password, or --secret with an optional
 * --user-id (or --user, as in 'turnstone creds'). */
static int probe_creds_check(struct probe_args *a, FILE *err)
{
	const char *why = NULL;
	if (a->secret) {
		if (a->password)
			why = "give --password or --secret, not both";
		else if (a->user && a->user_id)
			why = "give --user-id or --user, not both";
		else if (!*a->secret)
			why = "--secret must not be empty";
		if (!a->user_id)
			a->user_id = a->user ? a->user : PROBE_USERID_DEFAULT;
		a->user = NULL;
	} else if (!a->user || !a->password)
		why = "turn: needs --user and --password, or --secret";
	else if (a->user_id || a->ttl || a->sep)
		why = "--user-id, --ttl and --rest-api-separator go with --secret";
	else if (!*a->user || strlen(a->user) > PROBE_USER_MAX)
		why = "--user must be 1..480 bytes";
	if (!why && a->user_id && strlen(a->user_id) > PROBE_USER_MAX - 24)
		why = "--user-id is too long";
	if (!why && a->realm && (!*a->realm ||
				 strlen(a->realm) >= PROBE_REALM_MAX))
		why = "--realm must be 1..127 bytes";
	if (why)
		fprintf(err, "turnstone probe: %s\n", why);
	return why ? EINVAL : 0;
}

static int probe_args_check(struct probe_args *a, bool turn_opts, FILE *err)
{
	if (a->server.len == 0) {
		fprintf(err, "turnstone probe: give a stun: or turn: URI\n");
		return EINVAL;
	}
	if (a->scheme == PROBE_STUN && turn_opts) {
		fprintf(err, "turnstone probe: stun: takes no options but --nat "
			"(and stuns: --ca-file, --servername, --insecure)\n");
		return EINVAL;
	}
	if (a->nat && (a->scheme == PROBE_TURN || a->tls)) {
		fprintf(err, "turnstone probe: --nat goes with a stun: URI\n");
		return EINVAL;
	}
	if (!a->tls && (a->ca_file || a->servername || a->insecure)) {
		fprintf(err, "turnstone probe: --ca-file, --servername and "
			"--insecure go with turns: or stuns:\n");
		return EINVAL;
	}
	if (a->insecure && (a->ca_file || a->servername)) {
		fprintf(err, "turnstone probe: --insecure verifies nothing: "
			"give it without --ca-file and --servername\n");
		return EINVAL;
	}
	if (a->scheme == PROBE_STUN)
		return 0;
	if (probe_creds_check(a, err))
		return EINVAL;
	if (!a->ttl)
		a->ttl = PROBE_TTL_DEFAULT;
	return 0;
}

static int probe_arg_one(struct probe_args *a, int argc, char **argv,
			 int *i, FILE *err)
{
	const char *arg = argv[*i];
	if (strncmp(arg, "--", 2) != 0 || !arg[2]) {
		if (a->server.len != 0) {
			fprintf(err, "turnstone probe: unexpected argument "
				"'%s'\n", arg);
			return EINVAL;
		}
		return probe_url_parse(a, arg, err);
	}
	char name[32];
	const char *eq = strchr(arg, '=');
	size_t n = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
	snprintf(name, sizeof(name), "%.*s", (int)n, arg + 2);
	const char *val = eq ? eq + 1 : NULL;
	if (!val && *i + 1 >= argc) {
		fprintf(err, "turnstone probe: option '%s' needs a value\n",
			arg);
		return EINVAL;
	}
	if (!val)
		val = argv[++*i];
	return probe_opt_set(a, name, val, err);
}

int probe_args_parse(struct probe_args *a, int argc, char **argv, FILE *err)
{
	bool turn_opts = false;
	memset(a, 0, sizeof(*a));
	a->count = PROBE_COUNT_DEFAULT;
	sa_set_str(&a->peer, "127.0.0.1", 0);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			a->help = true;
			return 0;
		}
		if (strcmp(argv[i], "--nat") == 0) {
			a->nat = true;
			continue;
		}
		if (strcmp(argv[i], "--insecure") == 0) {
			a->insecure = true;
			continue;
		}
		/* TLS's options are not TURN's: stuns: takes them too. */
		bool tls_opt = strncmp(argv[i], "--ca-file", 9) == 0 ||
			       strncmp(argv[i], "--servername", 12) == 0;
		turn_opts |= strncmp(argv[i], "--", 2) == 0 && !tls_opt;
		if (probe_arg_one(a, argc, argv, &i, err))
			return EINVAL;
	}
	return probe_args_check(a, turn_opts, err);
}

/* RFC 8489 6.1: a Binding request without attributes; the answer carries
 * our reflexive address in XOR-MAPPED-ADDRESS. */
int probe_stun_run(const struct probe_args *a, FILE *out, FILE *err)
{
	struct probe_io io;
	struct stun_enc enc;
	struct stun_msg resp;
	struct sa mapped;
	uint8_t tid[STUN_TID_LEN], req[64];
	char srv[SA_STRLEN], map[SA_STRLEN];
	size_t len;
	uint64_t rtt;
	int rc = 1, code, e;

	probe_io_init(&io);
	if (rand_bytes(tid, sizeof(tid)) || probe_io_open(&io, a, false, out,
							    err))
		goto out;
	stun_enc_init(&enc, req, sizeof(req), STUN_BINDING, STUN_CLASS_REQUEST,
		      tid);
	stun_enc_fingerprint(&enc);
	if (stun_enc_finish(&enc, &len))
		goto out;
	sa_fmt(&a->server, srv, sizeof(srv));
	e = probe_txn(&io, req, len, &resp, &rtt);
	if (e) {
		fprintf(err, "binding %s: %s\n", srv,
			e == ETIMEDOUT ? "no response" : strerror(e));
		goto out;
	}
	if (resp.cls == STUN_CLASS_ERROR) {
		const char *why = "";
		size_t wl = 0;
		if (stun_msg_get_error(&resp, &code, &why, &wl))
			code = 0;
		fprintf(err, "binding %s: error %d %.*s\n", srv, code, (int)wl,
			why);
		goto out;
	}
	if (stun_msg_get_xaddr(&resp, STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped) &&
	    stun_msg_get_addr(&resp, STUN_ATTR_MAPPED_ADDRESS, &mapped)) {
		fprintf(err, "binding %s: response has no mapped address\n",
			srv);
		goto out;
	}
	fprintf(out, "binding %s: mapped %s, rtt %.3f ms\n", srv,
		sa_fmt(&mapped, map, sizeof(map)), (double)rtt / 1000.0);
	rc = 0;
out:
	probe_io_close(&io);
	return rc;
}

int cli_probe_main(int argc, char **argv)
{
	struct probe_args a;
	/* Progress lines interleave with errors on stderr in order. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (probe_args_parse(&a, argc, argv, stderr)) {
		probe_usage(stderr);
		return 2;
	}
	if (a.help) {
		probe_usage(stdout);
		return 0;
	}
	/* OpenSSL writes with write(2), not send(MSG_NOSIGNAL): a server
	 * that resets the stream must end in an error said, not SIGPIPE. */
	if (a.tls)
		signal(SIGPIPE, SIG_IGN);
	if (a.nat)
		return probe_nat_run(&a, stdout, stderr);
	if (a.scheme == PROBE_STUN)
		return probe_stun_run(&a, stdout, stderr);
	return probe_turn_run(&a, stdout, stderr);
}
