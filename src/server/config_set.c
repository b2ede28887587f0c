/* Applying one option value to a struct config. Every failure writes one
 * line naming the key; values of secret options are never echoed. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/config_int.h"
#include "turn/policy.h"
#include "util/bytes.h"
#include "util/log_syslog.h"

void config_err(const struct cfg_src *src, const char *fmt, ...)
{
	if (!src->err)
		return;
	va_list ap;
	va_start(ap, fmt);
	fputs("turnstone: ", src->err);
	vfprintf(src->err, fmt, ap);
	va_end(ap);
	if (src->in_file)
		fprintf(src->err, " (line %u of %s)", src->line, src->file);
	fputc('\n', src->err);
}

const char *config_shown(char out[CFG_SHOWN_MAX], const char *s, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n && s[i]; i++) {
		unsigned char b = (unsigned char)s[i];
		size_t w = b >= 0x20 && b < 0x7f ? 1 : 4;
		if (o + w + 4 > CFG_SHOWN_MAX) {
			memcpy(out + o, "...", 4);
			return out;
		}
		if (w == 1)
			out[o] = (char)b;
		else
			snprintf(out + o, 5, "\\x%02x", b);
		o += w;
	}
	out[o] = '\0';
	return out;
}

static void *cfg_field(struct config *c, const struct cfg_opt *o)
{
	return (char *)c + o->off;
}

static unsigned *cfg_count(struct config *c, const struct cfg_opt *o)
{
	return (unsigned *)(void *)((char *)c + o->noff);
}

static int cfg_invalid(const struct cfg_opt *o, const char *key,
		       const char *val, const struct cfg_src *src)
{
	char shown[CFG_SHOWN_MAX];
	if (o->flags & CFG_F_SECRET)
		config_err(src, "invalid value for '%s'", key);
	else
		config_err(src, "invalid value for '%s': '%s'", key,
			   config_shown(shown, val, SIZE_MAX));
	return EINVAL;
}

/* coturn booleans: a missing value means true. */
static int cfg_bool_parse(const char *val, bool *out)
{
	static const char *const yes[] = {"1", "on", "yes", "true", "t"};
	static const char *const no[] = {"0", "off", "no", "false", "f"};
	if (!val) {
		*out = true;
		return 0;
	}
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(val, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(val, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return EINVAL;
}

static int cfg_flag_set(struct config *c, const struct cfg_opt *o,
			const char *key, const char *val,
			const struct cfg_src *src)
{
	bool b;
	if (cfg_bool_parse(val, &b) != 0)
		return cfg_invalid(o, key, val, src);
	if (o->kind == CFG_FLAG)
		*(bool *)cfg_field(c, o) = (o->flags & CFG_F_NEG) ? !b : b;
	return 0;
}

/* Decimal digits only: strtoul alone would take "-1", " 5" and "0x10". */
static int cfg_u32_parse(const char *s, uint32_t *out)
{
	if (!*s || strspn(s, "0123456789") != strlen(s))
		return EINVAL;
	errno = 0;
	unsigned long long v = strtoull(s, NULL, 10);
	if (errno || v > UINT32_MAX)
		return ERANGE;
	*out = (uint32_t)v;
	return 0;
}

static int cfg_num_set(struct config *c, const struct cfg_opt *o,
		       const char *key, const char *val,
		       const struct cfg_src *src)
{
	uint32_t v = o->dflt;
	if (val && cfg_u32_parse(val, &v) != 0)
		return cfg_invalid(o, key, val, src);
	if (v < o->min || v > o->max) {
		config_err(src, "invalid value for '%s': '%u' (allowed %u..%u)",
			   key, v, o->min, o->max);
		return EINVAL;
	}
	void *f = cfg_field(c, o);
	if (o->size == sizeof(uint16_t))
		*(uint16_t *)f = (uint16_t)v;
	else
		*(uint32_t *)f = v;
	return 0;
}

static int cfg_copy(char *dst, size_t sz, const char *val, const char *what,
		    const char *key, const struct cfg_src *src)
{
	size_t n = strlen(val);
	if (n >= sz) {
		config_err(src, "invalid value for '%s': %s too long (max %zu bytes)",
			   key, what, sz - 1);
		return EINVAL;
	}
	memcpy(dst, val, n + 1);
	return 0;
}

/* coturn's "stdout" and "-" mean the console: our default (stderr) when
 * no file is set. "syslog" means the same as --syslog, as in coturn. */
static int cfg_logfile_set(struct config *c, const struct cfg_opt *o,
			   const char *key, const char *val,
			   const struct cfg_src *src)
{
	char *f = cfg_field(c, o);
	if (strcmp(val, "stdout") == 0 || strcmp(val, "-") == 0) {
		f[0] = '\0';
		return 0;
	}
	if (strcmp(val, "syslog") == 0) {
		f[0] = '\0';
		c->syslog = true;
		return 0;
	}
	return cfg_copy(f, o->size, val, "value", key, src);
}

static int cfg_str_set(struct config *c, const struct cfg_opt *o,
		       const char *key, const char *val,
		       const struct cfg_src *src)
{
	if (strlen(val) < o->min) {
		config_err(src, "invalid value for '%s': must not be empty", key);
		return EINVAL;
	}
	if (o->flags & CFG_F_LOGFILE)
		return cfg_logfile_set(c, o, key, val, src);
	struct sa ip;
	int fac;
	if ((o->flags & CFG_F_IPADDR) && sa_set_str(&ip, val, 0) != 0)
		return cfg_invalid(o, key, val, src);
	if ((o->flags & CFG_F_FACILITY) && log_syslog_facility(val, &fac) != 0)
		return cfg_invalid(o, key, val, src);
	return cfg_copy(cfg_field(c, o), o->size, val, "value", key, src);
}

/* Next free element of a list option, or NULL after an error. */
static void *cfg_list_slot(struct config *c, const struct cfg_opt *o,
			   const char *key, const struct cfg_src *src)
{
	unsigned n = *cfg_count(c, o);
	if (n >= o->cap) {
		config_err(src, "too many '%s' entries (max %zu)", key, o->cap);
		return NULL;
	}
	return (char *)cfg_field(c, o) + (size_t)n * o->size;
}

static int cfg_ip_set(struct config *c, const struct cfg_opt *o,
		      const char *key, const char *val,
		      const struct cfg_src *src)
{
	struct sa *slot = cfg_list_slot(c, o, key, src);
	if (!slot)
		return EINVAL;
	if (sa_set_str(slot, val, 0) != 0)
		return cfg_invalid(o, key, val, src);
	(*cfg_count(c, o))++;
	return 0;
}

/* "IP", "IP:PORT", "[IPv6]:PORT": coturn's alternate-server form. */
static int cfg_hostport_set(struct config *c, const struct cfg_opt *o,
			    const char *key, const char *val,
			    const struct cfg_src *src)
{
	struct sa *slot = cfg_list_slot(c, o, key, src);
	if (!slot)
		return EINVAL;
	if (sa_set_hostport(slot, val, o->dflt ? (uint16_t)o->dflt : 3478) != 0 ||
	    sa_is_any(slot))
		return cfg_invalid(o, key, val, src);
	(*cfg_count(c, o))++;
	return 0;
}

/* "public" or "public/private": both must parse; we keep the public one. */
static int cfg_extip_set(struct config *c, const struct cfg_opt *o,
			 const char *key, const char *val,
			 const struct cfg_src *src)
{
	char pub[64];
	struct sa priv;
	const char *slash = strchr(val, '/');
	size_t n = slash ? (size_t)(slash - val) : strlen(val);
	if (n >= sizeof(pub) || (slash && sa_set_str(&priv, slash + 1, 0)))
		return cfg_invalid(o, key, val, src);
	memcpy(pub, val, n);
	pub[n] = '\0';
	struct sa *slot = cfg_list_slot(c, o, key, src);
	if (!slot)
		return EINVAL;
	if (sa_set_str(slot, pub, 0) != 0)
		return cfg_invalid(o, key, val, src);
	(*cfg_count(c, o))++;
	return 0;
}

/* Ranges are validated by the policy code itself, on a scratch policy, so
 * the daemon cannot later meet a range it fails to load. */
static int cfg_range_set(struct config *c, const struct cfg_opt *o,
			 const char *key, const char *val,
			 const struct cfg_src *src)
{
	char *slot = cfg_list_slot(c, o, key, src);
	if (!slot)
		return EINVAL;
	if (strlen(val) >= o->size)
		return cfg_invalid(o, key, val, src);
	struct peer_policy *p;
	int err = peer_policy_alloc(&p);
	if (err) {
		config_err(src, "cannot check '%s': %s", key, strerror(err));
		return EINVAL;
	}
	err = peer_policy_add(p, val, o->flags & CFG_F_ALLOW);
	peer_policy_free(p);
	if (err)
		return cfg_invalid(o, key, val, src);
	strcpy(slot, val);
	(*cfg_count(c, o))++;
	return 0;
}

/* name:password, split at the first ':' (passwords may hold ':'). As in
 * coturn, name:0x<32 hex digits> gives the MD5 key (turnadmin -k)
 * instead of the password: that user has no SHA-256 key (tcfg.c). */
static int cfg_user_set(struct config *c, const struct cfg_opt *o,
			const char *key, const char *val,
			const struct cfg_src *src)
{
	const char *colon = strchr(val, ':');
	if (!colon || colon == val || !colon[1]) {
		config_err(src, "invalid value for '%s': expected name:password",
			   key);
		return EINVAL;
	}
	struct cfg_user *u = cfg_list_slot(c, o, key, src);
	if (!u)
		return EINVAL;
	size_t n = (size_t)(colon - val);
	if (n >= sizeof(u->name)) {
		config_err(src, "invalid value for '%s': user name too long "
			   "(max %zu bytes)", key, sizeof(u->name) - 1);
		return EINVAL;
	}
	memcpy(u->name, val, n);
	u->name[n] = '\0';
	uint8_t md5[16];
	if (strncmp(colon + 1, "0x", 2) == 0 &&
	    bytes_from_hex(colon + 3, md5, sizeof(md5)) != 0) {
		config_err(src, "invalid value for '%s' (user '%s'): a key "
			   "(name:0x...) must be 32 hex digits, "
			   "MD5(name:realm:password)", key, u->name);
		return EINVAL;
	}
	if (cfg_copy(u->pass, sizeof(u->pass), colon + 1, "password", key, src))
		return EINVAL;
	(*cfg_count(c, o))++;
	return 0;
}

/* As in coturn, a static secret turns the REST mechanism on by itself. */
/* Append one string to a list option; what names it in errors. */
static int cfg_list_add(struct config *c, const struct cfg_opt *o,
			const char *key, const char *val, const char *what,
			const struct cfg_src *src)
{
	char *slot = cfg_list_slot(c, o, key, src);
	if (!slot)
		return EINVAL;
	if (!*val) {
		config_err(src, "invalid value for '%s': must not be empty", key);
		return EINVAL;
	}
	if (cfg_copy(slot, o->size, val, what, key, src))
		return EINVAL;
	(*cfg_count(c, o))++;
	return 0;
}

static int cfg_secret_set(struct config *c, const struct cfg_opt *o,
			  const char *key, const char *val,
			  const struct cfg_src *src)
{
	if (cfg_list_add(c, o, key, val, "secret", src))
		return EINVAL;
	c->use_auth_secret = true;
	return 0;
}

static int cfg_file_set(struct config *c, const char *val,
			const struct cfg_src *src)
{
	if (src->in_file) {
		config_err(src, "config files cannot include other files");
		return EINVAL;
	}
	return config_parse_file(c, val, src->err);
}

int config_opt_apply(struct config *c, const struct cfg_opt *o,
		     const char *key, const char *val,
		     const struct cfg_src *src)
{
	if (o->kind == CFG_UNSUP) {
		config_err(src, "unsupported option '%s'", key);
		return EINVAL;
	}
	/* "key=" in a file means the same as a bare key. */
	if (val && !*val && !config_opt_needs_value(o))
		val = NULL;
	if (!val && config_opt_needs_value(o)) {
		config_err(src, "option '%s' needs a value", key);
		return EINVAL;
	}
	switch (o->kind) {
	case CFG_FLAG:
	case CFG_NOOP:
		return cfg_flag_set(c, o, key, val, src);
	case CFG_STR:
		return cfg_str_set(c, o, key, val, src);
	case CFG_NUM:
		return cfg_num_set(c, o, key, val, src);
	case CFG_IP:
		return cfg_ip_set(c, o, key, val, src);
	case CFG_EXTIP:
		return cfg_extip_set(c, o, key, val, src);
	case CFG_RANGE:
		return cfg_range_set(c, o, key, val, src);
	case CFG_USER:
		return cfg_user_set(c, o, key, val, src);
	case CFG_SECRET:
		return cfg_secret_set(c, o, key, val, src);
	case CFG_FILE:
		return cfg_file_set(c, val, src);
	case CFG_STRL:
		return cfg_list_add(c, o, key, val, "value", src);
	case CFG_HOSTPORT:
		return cfg_hostport_set(c, o, key, val, src);
	default:
		return EINVAL;
	}
}
