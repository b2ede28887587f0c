/* Internals of `turnstone account` and `turnstone token`: both are tables
 * of subcommands run against the store by one driver (account_args.c). */
#ifndef TS_CLI_ACCOUNT_H
#define TS_CLI_ACCOUNT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "store/store.h"

#define CLI_POS_MAX 2
#define CLI_OPTS_MAX 32
#define CLI_FILE_MAX 16384 /* a PEM key, private or public */

struct cli_opt {
	char name[32];   /* without the leading "--" */
	const char *val; /* NULL for a flag */
};

/* One command line, split: positionals, and options in the order given
 * (turn set reads its --server groups from that order). */
struct cli_args {
	char prog[64]; /* "turnstone account key add", for messages */
	FILE *out;
	FILE *err;
	uint64_t now;
	int npos;
	const char *pos[CLI_POS_MAX];
	int nopts;
	struct cli_opt opts[CLI_OPTS_MAX];
};

/* Runs a parsed command on an open store; returns the exit status. */
typedef int (cli_cmd_h)(struct cli_args *a, struct store *s);

struct cli_cmd {
	const char *words;          /* "key add" */
	const char *usage;          /* what follows the words */
	int npos;                   /* positionals required */
	const char *const *opts;    /* options taking a value; NULL-ended */
	const char *const *flags;   /* options taking none; NULL-ended */
	cli_cmd_h *run;
};

/* Finds argv's command in cmds (argv[0] is the tool: "account"), parses
 * its options, opens --db or $TURNSTONE_DB and runs it. Exit status:
 * 0, 1 (runtime failure) or 2 (usage). */
int cli_cmd_main(const struct cli_cmd *cmds, size_t ncmds, int argc,
		 char **argv, struct cli_args *a);

/* The last value given for --name, or NULL (also for a flag). */
const char *cli_args_get(const struct cli_args *a, const char *name);
bool cli_args_has(const struct cli_args *a, const char *name);
/* Decimal min..max from --name into *v, left alone when --name is
 * absent. 0, or (with the option named on stderr) the exit status 2. */
int cli_args_u32(struct cli_args *a, const char *name, uint32_t min,
		 uint32_t max, uint32_t *v);
/* One line on stderr: "<prog>: <what>: <why>" for an errno value from the
 * store. Returns the exit status: 2 for EINVAL, else 1. */
int cli_fail(const struct cli_args *a, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* One line on stderr: "<prog>: <message>"; returns status. */
int cli_say(const struct cli_args *a, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Copies src into dst[sz]; too long is a usage error naming what. */
int cli_str_copy(struct cli_args *a, char *dst, size_t sz, const char *src,
		 const char *what);
/* A whole file of at most CLI_FILE_MAX bytes; 0 or exit status 2. */
int cli_file_read(struct cli_args *a, const char *path, uint8_t *buf,
		  size_t *len);

/* store_account_validate, naming the bad field; 0 or exit status 2. */
int cli_account_check(struct cli_args *a, const struct store_account *acct);
/* Prints the account as the admin API's Account JSON, secrets shown as
 * "(redacted)"; 0 or exit status 1. */
int cli_account_show(struct cli_args *a, struct store *s, const char *name);

int cli_key_add(struct cli_args *a, struct store *s);
int cli_key_remove(struct cli_args *a, struct store *s);
int cli_turn_set(struct cli_args *a, struct store *s);
/* account_block.c */
int cli_block_add(struct cli_args *a, struct store *s);
int cli_block_remove(struct cli_args *a, struct store *s);
int cli_block_list(struct cli_args *a, struct store *s);

/* cli_account_main and cli_token_main with streams (and clock) injected,
 * for tests. */
int cli_account_run(int argc, char **argv, FILE *out, FILE *err);
int cli_token_run(int argc, char **argv, uint64_t now, FILE *out,
		  FILE *err);

#endif
