/* coturn-style config files: "key=value", "key value" or "key = value",
 * a bare key for a flag, '#' at the start of a line for a comment. A '#'
 * later in a line is part of the value, since passwords may contain one.
 * Lines end in LF or CR LF; a UTF-8 byte order mark before the first line
 * is skipped. A NUL or a CR inside a line is refused: string functions
 * would cut the line there, or keep the CR in a secret, without a word. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/config_int.h"

static char *cfg_skip_space(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	return s;
}

static void cfg_trim_end(char *s)
{
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
}

/* Drop one pair of matching quotes around a value, as coturn does. */
static int cfg_unquote(char **val)
{
	char *v = *val;
	size_t n = strlen(v);
	if (v[0] != '"' && v[0] != '\'')
		return 0;
	if (n < 2 || v[n - 1] != v[0])
		return EINVAL;
	v[n - 1] = '\0';
	*val = v + 1;
	return 0;
}

/* Split a trimmed line into key and value (NULL when bare). */
static void cfg_line_split(char *s, char **key, char **val)
{
	char *p = s + strcspn(s, "= \t");
	*key = s;
	*val = NULL;
	if (!*p)
		return;
	bool had_eq = *p == '=';
	*p++ = '\0';
	p = cfg_skip_space(p);
	if (!had_eq && *p == '=')
		p = cfg_skip_space(p + 1);
	*val = p;
}

/* A NUL, or a CR before the line's end (a file saved with CR alone
 * ends lines so): refused naming the key the line starts with. */
static int cfg_line_check(const char *line, size_t n,
			  const struct cfg_src *src)
{
	const char *nul = memchr(line, '\0', n);
	const char *cr = memchr(line, '\r', nul ? (size_t)(nul - line) : n);
	size_t end = n;
	while (end && (line[end - 1] == '\n' || line[end - 1] == '\r'))
		end--;
	if (!nul && (!cr || (size_t)(cr - line) >= end))
		return 0;
	const char *k = line + strspn(line, " \t");
	char shown[CFG_SHOWN_MAX];
	config_shown(shown, k, strcspn(k, "= \t\r\n"));
	config_err(src, "%s in the line of '%s'",
		   nul ? "a NUL byte" : "a CR inside a line (only LF or CR LF "
		   "ends one)", shown);
	return EINVAL;
}

static int cfg_line_parse(struct config *c, char *line,
			  const struct cfg_src *src)
{
	char *s = cfg_skip_space(line);
	cfg_trim_end(s);
	if (!*s || *s == '#')
		return 0;
	char *key, *val;
	cfg_line_split(s, &key, &val);
	const struct cfg_opt *o = config_opt_find(key);
	if (!o) {
		char shown[CFG_SHOWN_MAX];
		config_err(src, "unknown option '%s'",
			   config_shown(shown, key, SIZE_MAX));
		return EINVAL;
	}
	if (val && cfg_unquote(&val) != 0) {
		config_err(src, "unbalanced quotes in value for '%s'", key);
		return EINVAL;
	}
	return config_opt_apply(c, o, o->name, val, src);
}

int config_parse_file(struct config *c, const char *path, FILE *err)
{
	struct cfg_src src = {.err = err, .file = path, .in_file = true};
	FILE *f = fopen(path, "r");
	if (!f) {
		int e = errno;
		if (err)
			fprintf(err, "turnstone: cannot open config file '%s': %s\n",
				path, strerror(e));
		return EINVAL;
	}
	char *line = NULL;
	size_t cap = 0;
	int r = 0;
	ssize_t n;
	errno = 0;
	while (r == 0 && (n = getline(&line, &cap, f)) >= 0) {
		char *l = line;
		src.line++;
		/* Windows editors may start a UTF-8 file with a BOM. */
		if (src.line == 1 && n >= 3 && memcmp(l, "\xEF\xBB\xBF", 3) == 0) {
			l += 3;
			n -= 3;
		}
		r = cfg_line_check(l, (size_t)n, &src);
		if (r == 0)
			r = cfg_line_parse(c, l, &src);
		errno = 0;
	}
	if (r == 0 && ferror(f)) {
		int e = errno ? errno : EIO;
		if (err) /* a directory opens, but cannot be read */
			fprintf(err, "turnstone: cannot read config file '%s': %s\n",
				path, strerror(e));
		r = EINVAL;
	}
	free(line);
	fclose(f);
	return r ? EINVAL : 0;
}
