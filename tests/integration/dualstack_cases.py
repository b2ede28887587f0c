"""Dual-stack allocations on loopback (RFC 8656 7.1, 7.2, 7.3): one
Allocate with ADDITIONAL-ADDRESS-FAMILY gets an IPv4 and an IPv6 relayed
address; a Refresh with REQUESTED-ADDRESS-FAMILY and LIFETIME 0 deletes
the IPv6 one alone (its port is free again) while IPv4 keeps relaying;
deleting IPv4 then ends the allocation.

usage: dualstack_cases.py PORT"""
import socket
import struct
import sys

import turnclient as tc

ADDITIONAL_ADDRESS_FAMILY = 0x8000
failed = 0


def check(name, cond, detail=""):
    global failed
    print("%s %s%s" % ("ok" if cond else "FAIL", name,
                        " (%s)" % detail if detail else ""))
    failed += 0 if cond else 1


def fam(v):
    return (tc.REQUESTED_ADDRESS_FAMILY, bytes([v, 0, 0, 0]))


def relayed(r):
    return [tc.unxor_addr(v, r.tid) for t, v, _ in r.attrs
            if t == tc.XOR_RELAYED_ADDRESS]


def port_free(family, ip, port):
    s = socket.socket(family, socket.SOCK_DGRAM)
    try:
        s.bind((ip, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def echo_peer(family, ip):
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.bind((ip, 0))
    s.settimeout(2.0)
    return s


def relays_to(c, peer, ch, payload):
    """ChannelData on ch reaches peer (a bound socket)."""
    c.channel_data(ch, payload)
    try:
        data, _ = peer.recvfrom(2048)
        return data == payload
    except socket.timeout:
        return False


def main():
    port = int(sys.argv[1])
    c = tc.Client(("127.0.0.1", port))
    c.set_user("alice", "alicepw")
    r = c.allocate(extra=[(ADDITIONAL_ADDRESS_FAMILY, bytes([2, 0, 0, 0]))])
    rel = relayed(r)
    check("dual Allocate: two relayed addresses", r.code() == 0 and
          len(rel) == 2 and ":" in rel[1][0], "%s %r" % (r.describe(), rel))
    if failed:
        return 1
    (ip4, port4), (ip6, port6) = rel
    p4 = echo_peer(socket.AF_INET, "127.0.0.1")
    p6 = echo_peer(socket.AF_INET6, "::1")
    for ch, p in ((0x4001, p4), (0x4002, p6)):
        ip, pport = p.getsockname()[:2]
        b = c.channel_bind(ch, ip, pport)
        check("ChannelBind 0x%04x to %s" % (ch, ip), b.code() == 0,
              b.describe())
    check("IPv4 relays", relays_to(c, p4, 0x4001, b"four-1"))
    check("IPv6 relays", relays_to(c, p6, 0x4002, b"six-1"))
    check("IPv6 relay port is bound", not port_free(socket.AF_INET6, ip6, port6))

    r = c.request(tc.REFRESH, [(tc.LIFETIME, tc.u32(0)), fam(2)])
    check("Refresh IPv6 LIFETIME 0: success", r.code() == 0 and
          r.lifetime() == 0, r.describe())
    check("IPv6 relay port is free again", port_free(socket.AF_INET6, ip6, port6))
    check("IPv4 relay port still bound", not port_free(socket.AF_INET, ip4, port4))
    check("IPv4 still relays", relays_to(c, p4, 0x4001, b"four-2"))
    check("IPv6 channel gone", not relays_to(c, p6, 0x4002, b"six-2"))
    r = c.request(tc.REFRESH, [(tc.LIFETIME, tc.u32(600)), fam(2)])
    check("Refresh IPv6 again: 443", r.code() == 443, r.describe())
    r = c.request(tc.REFRESH, [(tc.LIFETIME, tc.u32(600)), fam(1)])
    check("Refresh IPv4 alone: success", r.code() == 0 and
          r.lifetime() == 600, r.describe())

    r = c.request(tc.REFRESH, [(tc.LIFETIME, tc.u32(0)), fam(1)])
    check("Refresh IPv4 LIFETIME 0: success", r.code() == 0, r.describe())
    r = c.refresh(600)
    check("then the allocation is gone: 437", r.code() == 437, r.describe())
    check("IPv4 relay port is free", port_free(socket.AF_INET, ip4, port4))
    c.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
