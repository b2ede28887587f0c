/* The driver shared by `turnstone account` and `turnstone token`: find
 * the subcommand named by the leading words, split its options, open the
 * store and run it. Exit status 0, 1 (runtime failure) or 2 (usage). */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/account.h"

const char *cli_args_get(const struct cli_args *a, const char *name)
{
	for (int i = a->nopts - 1; i >= 0; i--)
		if (strcmp(a->opts[i].name, name) == 0)
			return a->opts[i].val;
	return NULL;
}

bool cli_args_has(const struct cli_args *a, const char *name)
{
	for (int i = 0; i < a->nopts; i++)
		if (strcmp(a->opts[i].name, name) == 0)
			return true;
	return false;
}

__attribute__((format(printf, 2, 0))) static void
cli_vsay(const struct cli_args *a, const char *fmt, va_list ap)
{
	fprintf(a->err, "%s: ", a->prog);
	vfprintf(a->err, fmt, ap);
}

int cli_say(const struct cli_args *a, int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cli_vsay(a, fmt, ap);
	va_end(ap);
	fputc('\n', a->err);
	return status;
}

static const char *cli_why(int err)
{
	switch (err) {
	case ENOENT:
		return "not found";
	case EEXIST:
		return "already exists";
	case EINVAL:
		return "invalid";
	case EIO:
		return "database error";
	default:
		return strerror(err);
	}
}

int cli_fail(const struct cli_args *a, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cli_vsay(a, fmt, ap);
	va_end(ap);
	fprintf(a->err, ": %s\n", cli_why(err));
	return err == EINVAL ? 2 : 1;
}

int cli_args_u32(struct cli_args *a, const char *name, uint32_t min,
		 uint32_t max, uint32_t *v)
{
	const char *s = cli_args_get(a, name);
	if (!s)
		return 0;
	size_t n = strlen(s);
	unsigned long long x = n && n < 12 && strspn(s, "0123456789") == n ?
				       strtoull(s, NULL, 10) : ULLONG_MAX;
	if (x < min || x > max)
		return cli_say(a, 2, "invalid --%s '%s' (%u..%u)", name, s, min,
			       max);
	*v = (uint32_t)x;
	return 0;
}

int cli_str_copy(struct cli_args *a, char *dst, size_t sz, const char *src,
		 const char *what)
{
	size_t n = strlen(src);
	if (n >= sz)
		return cli_say(a, 2, "invalid %s (at most %zu characters)",
			       what, sz - 1);
	memcpy(dst, src, n + 1);
	return 0;
}

int cli_file_read(struct cli_args *a, const char *path, uint8_t *buf,
		  size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return cli_say(a, 2, "cannot open '%s': %s", path,
			       strerror(errno));
	size_t n = fread(buf, 1, CLI_FILE_MAX, f);
	bool more = fgetc(f) != EOF;
	bool bad = ferror(f) != 0;
	fclose(f);
	if (bad || more || n == 0)
		return cli_say(a, 2, "cannot read '%s': %s", path,
			       bad ? "read error" : n ? "too large" : "empty");
	*len = n;
	return 0;
}

static bool cli_listed(const char *const *list, const char *name)
{
	for (; list && *list; list++)
		if (strcmp(*list, name) == 0)
			return true;
	return false;
}

/* Does cmd's words ("key add") start argv[1..]? *next: the first index
 * after them. */
static bool cli_words_match(const char *words, int argc, char **argv,
			    int *next)
{
	int i = 1;
	while (*words) {
		size_t n = strcspn(words, " ");
		if (i >= argc || strlen(argv[i]) != n ||
		    strncmp(argv[i], words, n) != 0)
			return false;
		i++;
		words += n + (words[n] == ' ');
	}
	*next = i;
	return true;
}

/* "--name value", "--name=value" or "--flag" at argv[*i]. */
static int cli_opt_parse(struct cli_args *a, const struct cli_cmd *c,
			 int argc, char **argv, int *i)
{
	const char *arg = argv[*i] + 2;
	const char *eq = strchr(arg, '=');
	size_t n = eq ? (size_t)(eq - arg) : strlen(arg);
	if (a->nopts == CLI_OPTS_MAX)
		return cli_say(a, 2, "too many options");
	struct cli_opt *o = &a->opts[a->nopts];
	if (n >= sizeof(o->name))
		return cli_say(a, 2, "unknown option '--%.*s'", (int)n, arg);
	memcpy(o->name, arg, n);
	o->name[n] = '\0';
	bool flag = cli_listed(c->flags, o->name);
	if (!flag && !cli_listed(c->opts, o->name) && strcmp(o->name, "db"))
		return cli_say(a, 2, "unknown option '--%s'", o->name);
	if (flag && eq)
		return cli_say(a, 2, "option '--%s' takes no value", o->name);
	if (!flag && !eq && *i + 1 >= argc)
		return cli_say(a, 2, "option '--%s' needs a value", o->name);
	o->val = flag ? NULL : eq ? eq + 1 : argv[++*i];
	a->nopts++;
	return 0;
}

static int cli_args_parse(struct cli_args *a, const struct cli_cmd *c,
			  int argc, char **argv, int i)
{
	for (; i < argc; i++) {
		int rc;
		if (strncmp(argv[i], "--", 2) == 0 && argv[i][2]) {
			rc = cli_opt_parse(a, c, argc, argv, &i);
			if (rc)
				return rc;
		} else if (a->npos < c->npos) {
			a->pos[a->npos++] = argv[i];
		} else {
			return cli_say(a, 2, "unexpected argument '%s'",
				       argv[i]);
		}
	}
	return 0;
}

static void cli_usage(FILE *f, const char *tool, const struct cli_cmd *cmds,
		      size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s turnstone %s %s%s%s\n", i ? "      " : "usage:",
			tool, cmds[i].words, *cmds[i].usage ? " " : "",
			cmds[i].usage);
	fprintf(f, "  --db PATH  the SQLite file (default: $TURNSTONE_DB)\n");
}

static bool cli_help_wanted(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0)
			return true;
	return argc < 2;
}

static int cli_cmd_exec(struct cli_args *a, const struct cli_cmd *c)
{
	struct store *s = NULL;
	const char *db = cli_args_get(a, "db");
	if (!db)
		db = getenv("TURNSTONE_DB");
	if (!db || !*db)
		return cli_say(a, 2, "no database: give --db PATH or set "
			       "TURNSTONE_DB");
	int err = store_open(&s, db);
	if (err)
		return cli_fail(a, err, "database '%s'", db);
	int rc = c->run(a, s);
	store_close(s);
	return rc;
}

int cli_cmd_main(const struct cli_cmd *cmds, size_t ncmds, int argc,
		 char **argv, struct cli_args *a)
{
	const char *tool = argc > 0 ? argv[0] : "?";
	const struct cli_cmd *c = NULL;
	int next = 0;
	if (cli_help_wanted(argc, argv)) {
		cli_usage(argc < 2 ? a->err : a->out, tool, cmds, ncmds);
		return argc < 2 ? 2 : 0;
	}
	for (size_t i = 0; !c && i < ncmds; i++)
		if (cli_words_match(cmds[i].words, argc, argv, &next))
			c = &cmds[i];
	snprintf(a->prog, sizeof(a->prog), "turnstone %s", tool);
	if (!c) {
		cli_say(a, 2, "unknown command '%s'", argv[1]);
		cli_usage(a->err, tool, cmds, ncmds);
		return 2;
	}
	snprintf(a->prog, sizeof(a->prog), "turnstone %s %s", tool, c->words);
	int rc = cli_args_parse(a, c, argc, argv, next);
	if (!rc && a->npos < c->npos)
		rc = cli_say(a, 2, "usage: %s %s", a->prog, c->usage);
	return rc ? rc : cli_cmd_exec(a, c);
}
