/* Internals shared by config.c, config_opts.c and config_file.c: the
 * option table and the code that applies one value to a struct config. */
#ifndef TS_SERVER_CONFIG_INT_H
#define TS_SERVER_CONFIG_INT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "server/config.h"

enum cfg_kind {
	CFG_FLAG,   /* bool; optional coturn boolean value */
	CFG_NOOP,   /* coturn flag whose meaning is already our default */
	CFG_STR,    /* char[size] */
	CFG_NUM,    /* unsigned integer of width size, min..max */
	CFG_IP,     /* struct sa list, count at noff */
	CFG_EXTIP,  /* like CFG_IP, "public" or "public/private" */
	CFG_RANGE,  /* peer range list (char[CFG_MAX_RANGES][96]) */
	CFG_USER,   /* name:password */
	CFG_SECRET, /* static-auth-secret */
	CFG_FILE,   /* -c FILE */
	CFG_STRL,   /* list of strings, validated by the module using them */
	CFG_UNSUP,  /* a coturn option we refuse */
	CFG_HOSTPORT, /* struct sa list, "IP[:PORT]" (port 3478 if none) */
};

enum cfg_flag {
	CFG_F_SECRET = 1 << 0, /* never echo the value */
	CFG_F_OPTVAL = 1 << 1, /* value may be omitted: dflt applies */
	CFG_F_NEG = 1 << 2,    /* flag stores the inverse (no-loopback-peers) */
	CFG_F_ALLOW = 1 << 3,  /* range list is the allow list */
	CFG_F_ARG = 1 << 4,    /* unsupported option that takes a value */
	CFG_F_LOGFILE = 1 << 5, /* coturn's special log-file names */
	CFG_F_IPADDR = 1 << 6, /* string that must be an IPv4 or IPv6 address */
	CFG_F_FACILITY = 1 << 7, /* a syslog facility name */
};

struct cfg_opt {
	const char *name; /* long name / file key; NULL for short-only */
	char sname;       /* coturn short option, 0 if none */
	uint8_t kind;     /* enum cfg_kind */
	uint8_t flags;    /* enum cfg_flag */
	size_t off;       /* field offset in struct config */
	size_t noff;      /* list count offset */
	size_t size;      /* field (or list element) size in bytes */
	size_t cap;       /* list capacity */
	uint32_t min, max, dflt;
};

/* Where a value came from, for error messages. file NULL = argv. */
struct cfg_src {
	FILE *err;
	const char *file;
	unsigned line;
	bool in_file;
};

const struct cfg_opt *config_opt_find(const char *name);
/* Row i of the table, NULL past its end. */
const struct cfg_opt *config_opt_at(size_t i);
/* Options given that do nothing without another one: EINVAL naming
 * both (config_needs.c). */
int config_check_needs(const struct config *c, FILE *err);
const struct cfg_opt *config_opt_find_short(char sname);
/* true if the option needs a value (it cannot be a bare flag). */
bool config_opt_needs_value(const struct cfg_opt *o);
/* Apply one value (NULL = given bare) of option o. key is the name as
 * the user wrote it. 0 or EINVAL (message already written). */
int config_opt_apply(struct config *c, const struct cfg_opt *o,
		     const char *key, const char *val,
		     const struct cfg_src *src);

/* What the user typed, safe to echo: a byte outside printable ASCII as
 * \xNN (an escape sequence in a mistyped key would otherwise reach the
 * operator's terminal or the journal raw), at most 80 of them shown, then
 * "...". n bounds s, which may also end at a NUL. Returns out. */
#define CFG_SHOWN_MAX 84
const char *config_shown(char out[CFG_SHOWN_MAX], const char *s, size_t n);

/* Error helpers: "turnstone: <msg>[ (line N of FILE)]\n". */
void config_err(const struct cfg_src *src, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
