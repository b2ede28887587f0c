#include "util/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

/* Set at startup and on reload while workers log: each is one atomic. */
static _Atomic(FILE *) log_out;
static atomic_bool log_out_set; /* false: stderr, before log_setup */
static atomic_int log_lvl = LOG_INFO;
static atomic_bool log_json;
static atomic_int log_fac = -1; /* syslog facility, -1 = off */

void log_setup(FILE *out, enum log_level level)
{
	atomic_store(&log_out, out);
	atomic_store(&log_out_set, true);
	atomic_store(&log_lvl, (int)level);
}

void log_set_syslog(int fac)
{
	if (fac >= 0)
		log_syslog_open();
	atomic_store(&log_fac, fac);
}

void log_set_json(bool on)
{
	atomic_store(&log_json, on);
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if none:
 * overlong forms, surrogates and values past U+10FFFF are invalid. */
static size_t log_utf8_len(const unsigned char *s, size_t n)
{
	static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
	size_t len = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC0 ? 2 : 0;
	if (len == 0 || len > n || s[0] > 0xF4)
		return 0;
	uint32_t cp = s[0] & (0x7F >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if (cp < min[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

/* One char of a JSON string: escapes, or U+FFFD for a byte that is not
 * valid UTF-8 (user names come off the wire). Returns bytes consumed. */
static size_t log_json_char(const unsigned char *s, size_t n, char *o,
			    size_t *olen)
{
	unsigned char c = s[0];
	if (c == '"' || c == '\\') {
		o[(*olen)++] = '\\';
		o[(*olen)++] = (char)c;
	} else if (c < 0x20 || c == 0x7F) {
		*olen += (size_t)snprintf(o + *olen, 7, "\\u%04x", c);
	} else if (c < 0x80) {
		o[(*olen)++] = (char)c;
	} else {
		size_t len = log_utf8_len(s, n);
		if (len == 0) {
			memcpy(o + *olen, "\\ufffd", 6);
			*olen += 6;
			return 1;
		}
		memcpy(o + *olen, s, len);
		*olen += len;
		return len;
	}
	return 1;
}

size_t log_utf8_clean(const char *in, char *out, size_t outsz)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t n = strlen(in), olen = 0, i = 0;
	while (i < n && olen + 4 <= outsz) {
		size_t len = s[i] < 0x80 ? 1 : log_utf8_len(s + i, n - i);
		if (len == 0) {
			memcpy(out + olen, "\xef\xbf\xbd", 3); /* U+FFFD */
			olen += 3;
			i++;
			continue;
		}
		memcpy(out + olen, s + i, len);
		olen += len;
		i += len;
	}
	out[olen] = '\0';
	return olen;
}

size_t log_json_escape(const char *in, char *out, size_t outsz)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t n = strlen(in), olen = 0, i = 0;
	/* Worst case one input byte becomes 6 output bytes. */
	while (i < n && olen + 7 <= outsz)
		i += log_json_char(s + i, n - i, out, &olen);
	out[olen < outsz ? olen : outsz - 1] = '\0';
	return olen;
}

static void log_stamp(char *stamp, size_t sz)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	/* strftime, not snprintf of the int fields: GCC's -O2
	 * format-truncation check fails the release build on the latter. */
	if (!strftime(stamp, sz, "%Y-%m-%dT%H:%M:%SZ", &tm))
		stamp[0] = '\0';
}

/* One line and its flush under the stream's lock: lines from different
 * workers never interleave, and a SIGHUP that moves the stream to a
 * reopened file (server_log.c, under the same lock) never splits one,
 * however long, between the two files. */
__attribute__((format(printf, 2, 3)))
static void log_line(FILE *out, const char *fmt, ...)
{
	if (!out)
		return;
	va_list ap;
	va_start(ap, fmt);
	flockfile(out);
	vfprintf(out, fmt, ap);
	fflush(out);
	funlockfile(out);
	va_end(ap);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	static const char *names[] = {"error", "warn", "info", "debug"};
	if ((int)lvl > atomic_load(&log_lvl))
		return;
	FILE *out = atomic_load(&log_out_set) ? atomic_load(&log_out) : stderr;
	int fac = atomic_load(&log_fac);
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	char stamp[32];
	log_stamp(stamp, sizeof(stamp));
	if (atomic_load(&log_json)) {
		char esc[sizeof(line) * 6 + 1];
		log_json_escape(line, esc, sizeof(esc));
		char obj[sizeof(esc) + 96];
		snprintf(obj, sizeof(obj),
			 "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"%s\"}",
			 stamp, names[lvl], esc);
		log_line(out, "%s\n", obj);
		if (fac >= 0)
			log_syslog_write(fac, (int)lvl, obj);
	} else {
		log_line(out, "%s %s %s\n", stamp, names[lvl], line);
		if (fac >= 0) {
			char sl[sizeof(line) + 8];
			snprintf(sl, sizeof(sl), "%s %s", names[lvl], line);
			log_syslog_write(fac, (int)lvl, sl);
		}
	}
}
