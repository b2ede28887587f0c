/* Command-line tools. They reuse stun, auth and net, never server. */
#ifndef TS_CLI_H
#define TS_CLI_H
#include <stdint.h>
#include <stdio.h>

/* turnstone creds --secret S --user U [--ttl N] [--realm R] */
int cli_creds_main(int argc, char **argv);
/* The same without exiting, for tests: now is the unix time to use. */
int cli_creds_run(int argc, char **argv, uint64_t now, FILE *out, FILE *err);
/* turnstone probe stun:HOST:PORT
 * turnstone probe 'turn:HOST:PORT?transport=udp|tcp' --user U --password P
 *                 | --secret S [--realm R] [--count N] */
int cli_probe_main(int argc, char **argv);
/* turnstone bench MODE --server IP:PORT ...: loopback load generator. */
int cli_bench_main(int argc, char **argv);
/* turnstone account create|list|show|enable|disable|delete|key|turn ...
 * against the SQLite store (--db PATH or $TURNSTONE_DB). */
int cli_account_main(int argc, char **argv);
/* turnstone token mint --account A --sub S [--ttl N]: a JWT for trying the
 * ICE-servers API. */
int cli_token_main(int argc, char **argv);

#endif
