/* Peer policy: the single function that decides whether a relayed peer may
 * be reached (RFC 8656 21.3 on relaying to internal networks). Every path
 * that names a peer calls peer_policy_check(): CreatePermission,
 * ChannelBind, Send and (RFC 6062) Connect, over every transport. */
#ifndef TS_TURN_POLICY_H
#define TS_TURN_POLICY_H
#include <stdbool.h>
#include <stdint.h>

#include "util/sa.h"

struct peer_policy;

/* An empty policy with the default deny list. */
int peer_policy_alloc(struct peer_policy **pp);
void peer_policy_free(struct peer_policy *p);

/* Add an operator range: "10.0.0.0/8", "2001:db8::/32", "1.2.3.4",
 * "1.2.3.4-1.2.3.9" or "::1-::5". allow=true for --allowed-peer-ip.
 * 0 or EINVAL (the caller names the offending value). */
int peer_policy_add(struct peer_policy *p, const char *range, bool allow);
/* --allow-loopback-peers: 127/8 and ::1 become reachable (tests only). */
void peer_policy_allow_loopback(struct peer_policy *p, bool on);
/* The server's own listening/relay addresses, always denied (port-exact
 * for specific ports; port 0 denies every port on that address). */
int peer_policy_add_self(struct peer_policy *p, const struct sa *addr);

/* Reduce every IPv4-in-IPv6 form (::ffff:a.b.c.d, ::a.b.c.d, 6to4
 * 2002:AABB:CCDD::, NAT64 64:ff9b::/96 and 64:ff9b:1::/48 with /96
 * embedding, Teredo 2001::/32 client address, an ISATAP interface
 * identifier ::5efe:a.b.c.d) to plain IPv4 in out.
 * Returns true if out was rewritten. */
bool peer_policy_unmap(const struct sa *in, struct sa *out);

/* Decision order: self addresses are always denied; an explicit allow
 * range wins over the default deny list; an explicit deny range always
 * denies. Returns 0 (allowed) or EPERM. */
int peer_policy_check(const struct peer_policy *p, const struct sa *peer);

/* Deny ports lo..hi on one of the server's addresses: the relay range, so
 * no allocation can relay into another allocation on this server. */
int peer_policy_add_self_range(struct peer_policy *p, const struct sa *addr,
			       uint16_t lo, uint16_t hi);

/* The same for an address alone (CreatePermission, RFC 8656 9: a
 * permission covers every port). Port-range self entries do not apply;
 * Send and ChannelBind, which name a port, still check it. */
int peer_policy_check_ip(const struct peer_policy *p, const struct sa *peer);

#endif
