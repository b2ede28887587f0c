#!/usr/bin/env bash
# Peer policy (RFC 8656 21.3): the server must refuse to relay to loopback,
# private, link-local/metadata and IPv4-in-IPv6 forms of them, unless the
# operator says otherwise, and a refused peer must receive nothing.
#
# The test re-executes itself under `unshare -n`, in a private network
# namespace that has only "lo", so no packet can leave the machine even if
# the server is wrong. 10.0.0.1 and 169.254.169.254 are added to lo there
# so that UDP listeners on them would catch anything the server relays.
# Peer addresses such as ::ffff:10.0.0.1 or 64:ff9b::a00:1 only ever go
# to the server as attribute values.
#
# Servers (turnclient.py does the requests):
#   deny:     default policy (no --allow-loopback-peers): 403 for
#             CreatePermission and ChannelBind to each denied form, and
#             Send indications / ChannelData to listeners on 127.0.0.1 and
#             10.0.0.1 deliver nothing; also on an IPv6 allocation.
#   loopback: --allow-loopback-peers: 127.0.0.1 is allowed and data reaches
#             the listener (proving the listeners work); 10.0.0.1 is still
#             denied; the server's own listening port is not a peer.
#   allow:    --allowed-peer-ip 10.0.0.0-10.0.0.255 --denied-peer-ip
#             10.0.0.7: 10.0.0.1 allowed and reached, 10.0.0.7 denied,
#             loopback still denied.
#   deny-ip:  --allow-loopback-peers --denied-peer-ip 127.0.0.2 and a
#             range: those are denied and receive nothing, 127.0.0.1 works.
#
# Needs root (CI runs as root). If unshare is not permitted the test fails
# loudly rather than run outside a namespace.
#
#   bash test_policy_netns.sh /path/to/turnstone
#   TS_SERVER=coturn bash test_policy_netns.sh   (harness validation)
TS_NAME=policy_netns
. "$(dirname "$0")/lib.sh"
ts_netns_lo --required "$@"
ts_need_bin "${1:-}"

# Inside the namespace (lo is up): give lo the extra addresses.
for a in 10.0.0.1/32 10.0.0.7/32 169.254.169.254/32; do
	ip addr add "$a" dev lo || { ts_log "ip addr add $a failed"; exit 1; }
done
links=$(ip -o link show | awk -F': ' '{print $2}' | tr '\n' ' ')
if [ "$links" != "lo " ]; then
	ts_log "namespace has more than lo: $links"
	exit 1
fi
ts_log "in a private network namespace: $(ip -br addr show dev lo)"

# coturn denies nothing but loopback by default; give it the list that
# turnstone applies on its own, so the same checks apply to both.
coturn_deny=()
if [ "$TS_SERVER" = coturn ]; then
	coturn_deny=(--no-multicast-peers --denied-peer-ip 10.0.0.0-10.255.255.255
		--denied-peer-ip 169.254.0.0-169.254.255.255
		--denied-peer-ip 172.16.0.0-172.31.255.255
		--denied-peer-ip 192.168.0.0-192.168.255.255
		--denied-peer-ip 100.64.0.0-100.127.255.255
		--denied-peer-ip 0.0.0.0-0.255.255.255
		--denied-peer-ip fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff
		--denied-peer-ip fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff)
fi

cat >"$TS_TMP/policy.py" <<'PY'
import socket, struct, sys, time
import turnclient as tc

scenario, port, secret, kind = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
SRV = ("127.0.0.1", port)
failed = 0


def check(name, cond, detail="", coturn=None):
    global failed
    name = "%s: %s" % (scenario, name)
    if cond:
        print("ok %s%s" % (name, " (%s)" % detail if detail else ""), flush=True)
    elif kind == "coturn" and coturn:
        print("skip %s: coturn differs (%s): %s" % (name, coturn, detail))
    else:
        failed += 1
        print("FAIL %s: %s" % (name, detail or "failed"), flush=True)


class Listener:
    """A UDP socket on a peer address that counts what arrives."""

    def __init__(self, ip):
        fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
        self.s = socket.socket(fam, socket.SOCK_DGRAM)
        self.s.bind((ip, 0))
        self.s.setblocking(False)
        self.ip, self.port = ip, self.s.getsockname()[1]
        self.got = []

    def drain(self, wait):
        end = time.monotonic() + wait
        while time.monotonic() < end:
            try:
                self.got.append(self.s.recvfrom(65536))
            except BlockingIOError:
                time.sleep(0.02)
        return len(self.got)


def client(uid, family=None):
    c = tc.Client(SRV)
    c.set_rest_creds(secret, uid)
    extra = [(tc.REQUESTED_ADDRESS_FAMILY, bytes([family, 0, 0, 0]))] if family else []
    r = c.allocate(extra=extra)
    return c, r


def expect_denied(c, ip, port, codes=(403,), coturn=None, where=""):
    """CreatePermission and ChannelBind to ip must both be refused."""
    want = "/".join(map(str, codes))
    r = c.create_permission(ip)
    check("CreatePermission %s%s: %s" % (ip, where, want), r.code() in codes,
          r.describe(), coturn=coturn)
    r = c.channel_bind(0x4000 + (sum(ip.encode()) & 0x3FF), ip, port)
    check("ChannelBind %s%s: %s" % (ip, where, want), r.code() in codes,
          r.describe(), coturn=coturn)


def expect_allowed(c, lst, ch):
    r = c.create_permission(lst.ip)
    check("CreatePermission %s: allowed" % lst.ip, r.cls == tc.SUCCESS, r.describe())
    c.send_indication(lst.ip, lst.port, b"send-to-%s" % lst.ip.encode())
    r = c.channel_bind(ch, lst.ip, lst.port)
    check("ChannelBind %s: allowed" % lst.ip, r.cls == tc.SUCCESS, r.describe())
    c.channel_data(ch, b"chan-to-%s" % lst.ip.encode())
    n = lst.drain(1.0)
    data = sorted(d for d, _ in lst.got)
    check("Send and ChannelData reach the listener on %s" % lst.ip,
          data == sorted([b"send-to-%s" % lst.ip.encode(),
                          b"chan-to-%s" % lst.ip.encode()]), "%d packets: %s" % (n, data))
    lst.got.clear()


def expect_nothing(c, lst, coturn=None):
    """Send indication and ChannelData aimed at a denied listener."""
    for i in range(3):
        c.send_indication(lst.ip, lst.port, b"must-not-arrive-%d" % i)
    c.channel_data(0x4000, b"must-not-arrive-chan")
    n = lst.drain(1.0)
    check("nothing reaches the denied listener on %s" % lst.ip, n == 0,
          "%d packets arrived: %s" % (n, lst.got[:3]), coturn=coturn)
    lst.got.clear()


DENIED_V4 = ["10.0.0.1", "169.254.169.254", "127.0.0.2", "0.0.0.0",
             "255.255.255.255", "224.0.0.1", "192.168.1.1", "172.16.0.1",
             "100.64.0.1"]
# IPv4 embedded in IPv6 (mapped, compatible, 6to4, NAT64 /96 and /48,
# Teredo): the server must look through them to the IPv4 address.
DENIED_EMBEDDED = ["::ffff:127.0.0.1", "::ffff:10.0.0.1",
                   "::ffff:169.254.169.254", "2002:7f00:1::1", "2002:a00:1::1",
                   "64:ff9b::a00:1", "64:ff9b::7f00:1", "64:ff9b:1::7f00:1",
                   "::127.0.0.1", "2001:0:4136:e378:8000:63bf:80ff:fffe"]
DENIED_V6 = ["::1", "::", "fe80::1", "fc00::1", "ff02::1"]


def deny():
    lo = Listener("127.0.0.1")
    ten = Listener("10.0.0.1")
    c, r = client("policy-deny")
    check("Allocate", r.cls == tc.SUCCESS, r.describe())
    expect_denied(c, "127.0.0.1", lo.port)
    expect_nothing(c, lo)
    expect_nothing(c, ten)
    for ip in DENIED_V4:
        expect_denied(c, ip, 3478)
    for ip in DENIED_EMBEDDED:
        expect_denied(c, ip, lo.port, where=" on an IPv4 allocation",
                      coturn="443 family mismatch before the policy")
    # Native IPv6 peers on an IPv4 allocation: 443 (family) is as good.
    for ip in DENIED_V6:
        expect_denied(c, ip, 3478, codes=(403, 443), where=" on an IPv4 allocation")
    # Several peers in one CreatePermission: one denied peer fails it all.
    r = c.create_permission("127.0.0.1", "10.0.0.1")
    check("CreatePermission with two denied peers: 403", r.code() == 403, r.describe())
    expect_nothing(c, lo)
    c.refresh(0)
    # On an IPv6 allocation the IPv4-in-IPv6 forms are the real attack:
    # a dual-stack relay socket would reach the IPv4 address.
    c6, r = client("policy-deny6", family=2)
    if r.cls != tc.SUCCESS:
        print("skip %s: IPv6 allocation not available (%s); IPv6 forms "
              "checked on the IPv4 allocation only" % (scenario, r.describe()))
        return
    check("IPv6 Allocate", r.xaddr(tc.XOR_RELAYED_ADDRESS)[0] == "::1",
          str(r.xaddr(tc.XOR_RELAYED_ADDRESS)))
    for ip in DENIED_EMBEDDED:
        expect_denied(c6, ip, lo.port, where=" on an IPv6 allocation",
                      coturn="does not unmap IPv4-in-IPv6 peers")
    for ip in DENIED_V6:
        expect_denied(c6, ip, 3478, where=" on an IPv6 allocation")
    for i in range(3):
        c6.send_indication("::ffff:127.0.0.1", lo.port, b"must-not-arrive-v6-%d" % i)
    expect_nothing(c6, lo)
    c6.refresh(0)


def loopback():
    lo = Listener("127.0.0.1")
    ten = Listener("10.0.0.1")
    c, r = client("policy-lo")
    check("Allocate", r.cls == tc.SUCCESS, r.describe())
    expect_allowed(c, lo, 0x4000)
    expect_denied(c, "10.0.0.1", ten.port)
    expect_nothing(c, ten)
    r = c.channel_bind(0x4100, "127.0.0.1", port)
    check("ChannelBind to the server's own listening address: 403",
          r.code() == 403, r.describe(), coturn="does not deny its own address")
    c.refresh(0)


def allow():
    ten = Listener("10.0.0.1")
    seven = Listener("10.0.0.7")
    lo = Listener("127.0.0.1")
    c, r = client("policy-allow")
    check("Allocate", r.cls == tc.SUCCESS, r.describe())
    expect_allowed(c, ten, 0x4001)
    ovr = "an allowed-peer-ip range overrides denied-peer-ip"
    expect_denied(c, "10.0.0.7", seven.port, coturn=ovr)
    expect_nothing(c, seven, coturn=ovr)
    expect_denied(c, "127.0.0.1", lo.port)
    expect_nothing(c, lo)
    expect_denied(c, "169.254.169.254", 80)
    c.refresh(0)


def deny_ip():
    lo = Listener("127.0.0.1")
    two = Listener("127.0.0.2")
    c, r = client("policy-denyip")
    check("Allocate", r.cls == tc.SUCCESS, r.describe())
    expect_allowed(c, lo, 0x4002)
    expect_denied(c, "127.0.0.2", two.port)
    expect_nothing(c, two)
    for ip in ("127.0.0.3", "127.0.0.5", "127.0.0.9"):
        expect_denied(c, ip, 3478)
    check_ok = c.create_permission("127.0.0.10")
    check("CreatePermission 127.0.0.10 (outside the denied range): allowed",
          check_ok.cls == tc.SUCCESS, check_ok.describe())
    c.refresh(0)


def self_relay():
    """The relay IP is allowed as a peer only inside the relay range:
    another allocation there is fine (relay/relay through one server, the
    usual WebRTC case), a service on another port is not."""
    svc = Listener("127.0.0.1")
    a, ra = client("self-a")
    b, rb = client("self-b")
    check("Allocate x2", ra.cls == tc.SUCCESS and rb.cls == tc.SUCCESS,
          ra.describe() + " / " + rb.describe())
    # A permission is per IP (it covers the other allocations too); the
    # port is judged where one is named: ChannelBind and Send.
    r = a.channel_bind(0x4123, "127.0.0.1", svc.port)
    check("ChannelBind to a service on the relay IP: 403", r.code() == 403,
          r.describe(), coturn="does not deny its relay address")
    for i in range(3):
        a.send_indication("127.0.0.1", svc.port, b"must-not-arrive-%d" % i)
    n = svc.drain(1.0)
    check("Send to a service on the relay IP delivers nothing", n == 0,
          "%d packets" % n, coturn="does not deny its relay address")
    ipa, pa = ra.xaddr(tc.XOR_RELAYED_ADDRESS)
    ipb, pb = rb.xaddr(tc.XOR_RELAYED_ADDRESS)
    r = a.create_permission(ipb)
    check("CreatePermission to another allocation's relay: allowed",
          r.cls == tc.SUCCESS, r.describe())
    r = b.create_permission(ipa)
    check("CreatePermission back: allowed", r.cls == tc.SUCCESS, r.describe())
    b.send_indication(ipa, pa, b"relay-to-relay")
    try:
        raw = a.recv_raw(2.0)
    except tc.Timeout:
        raw = b""
    check("data crosses from one allocation to the other",
          b"relay-to-relay" in raw, "%d bytes" % len(raw))
    a.refresh(0)
    b.refresh(0)


{"deny": deny, "loopback": loopback, "allow": allow, "deny-ip": deny_ip,
 "self-relay": self_relay}[scenario]()
sys.exit(1 if failed else 0)
PY

run_scenario() {
	local name=$1
	shift
	ts_start_server "$TS_BIN" "$@" || { ts_fail "$name: server start"; return; }
	ts_python_checks "$name" "$TS_TMP/policy.py" "$name" "$TS_PORT" \
		"$TS_SECRET" "$TS_SERVER"
}

auth=(--use-auth-secret --static-auth-secret "$TS_SECRET")
run_scenario deny "${auth[@]}" --relay-ip ::1 "${coturn_deny[@]}"
run_scenario loopback "${auth[@]}" --allow-loopback-peers "${coturn_deny[@]}"
run_scenario allow "${auth[@]}" --allowed-peer-ip 10.0.0.0-10.0.0.255 \
	--denied-peer-ip 10.0.0.7 "${coturn_deny[@]}"
run_scenario deny-ip "${auth[@]}" --allow-loopback-peers \
	--denied-peer-ip 127.0.0.2 --denied-peer-ip 127.0.0.3-127.0.0.9 \
	"${coturn_deny[@]}"
run_scenario self-relay "${auth[@]}" --allowed-peer-ip 127.0.0.1 \
	"${coturn_deny[@]}"
ts_finish
