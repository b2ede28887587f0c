/* turnstone: one binary, a verb per job. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "server/server.h"
#include "util/version.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: turnstone <command> [options]\n"
		"  serve   run the STUN/TURN daemon (coturn-style options)\n"
		"  creds   print TURN REST credentials for a shared secret\n"
		"  probe   test a STUN or TURN server as a client\n"
		"  bench   load generator (turnstone or any TURN server)\n"
		"  account manage API accounts, JWT keys and Configurable TURN\n"
		"  token   mint a JWT for trying the ICE-servers API\n"
		"Run 'turnstone <command> --help' for the options,\n"
		"'turnstone --version' for the release and commit.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *verb = argv[1];
	if (strcmp(verb, "serve") == 0)
		return server_main(argc - 1, argv + 1);
	if (strcmp(verb, "creds") == 0)
		return cli_creds_main(argc - 1, argv + 1);
	if (strcmp(verb, "probe") == 0)
		return cli_probe_main(argc - 1, argv + 1);
	if (strcmp(verb, "bench") == 0)
		return cli_bench_main(argc - 1, argv + 1);
	if (strcmp(verb, "account") == 0)
		return cli_account_main(argc - 1, argv + 1);
	if (strcmp(verb, "token") == 0)
		return cli_token_main(argc - 1, argv + 1);
	if (strcmp(verb, "--version") == 0) {
		printf("turnstone %s\n", ts_version());
		return 0;
	}
	if (strcmp(verb, "-h") == 0 || strcmp(verb, "--help") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "turnstone: unknown command '%s'\n", verb);
	usage(stderr);
	return 2;
}
