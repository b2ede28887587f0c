/* Socket addresses: one small value type used by every layer. */
#ifndef TS_UTIL_SA_H
#define TS_UTIL_SA_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

struct sa {
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} u;
	socklen_t len;
};

#define SA_STRLEN 64 /* "[v6]:port" fits */

/* Parse "1.2.3.4", "::1" (port given separately). 0 or EINVAL. */
int sa_set_str(struct sa *sa, const char *ip, uint16_t port);
/* Build from raw address bytes (4 or 16) and a port. */
void sa_set_raw(struct sa *sa, int af, const uint8_t *addr, uint16_t port);
int sa_af(const struct sa *sa);
uint16_t sa_port(const struct sa *sa);
void sa_set_port(struct sa *sa, uint16_t port);
/* Pointer to the 4 or 16 address bytes. */
const uint8_t *sa_addr_bytes(const struct sa *sa);
bool sa_eq(const struct sa *a, const struct sa *b);      /* addr + port */
bool sa_eq_addr(const struct sa *a, const struct sa *b); /* addr only  */
uint32_t sa_hash(const struct sa *sa, uint32_t seed);
/* "1.2.3.4:5" or "[::1]:5"; returns buf. */
const char *sa_fmt(const struct sa *sa, char *buf, size_t sz);
/* "1.2.3.4" or "::1"; returns buf. */
const char *sa_fmt_ip(const struct sa *sa, char *buf, size_t sz);
bool sa_is_any(const struct sa *sa);

#endif
