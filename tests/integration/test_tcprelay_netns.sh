#!/usr/bin/env bash
# Peer policy for TCP relays (RFC 6062 5.2, RFC 8656 21.3): Connect to a
# forbidden address (private, link-local/metadata, loopback, and their
# IPv4-in-IPv6 spellings) is answered 403 and the server sends no SYN.
#
# Like test_policy_netns.sh it re-executes itself under `unshare -n`, in a
# namespace with only "lo", where 10.0.0.1 and 169.254.169.254 are added
# to lo and have TCP listeners, so a wrong server would reach them. "No
# SYN" is measured twice: nothing is accepted on any listener, and the
# namespace's own TCP ActiveOpens counter (/proc/net/snmp) grows only by
# the connections the checker itself opened. With --allow-loopback-peers a
# Connect to 127.0.0.1 succeeds and is counted, which shows both measures
# can see a connection.
#
#   bash test_tcprelay_netns.sh /path/to/turnstone
TS_NAME=tcprelay_netns
. "$(dirname "$0")/lib.sh"
ts_netns_lo --required "$@"
ts_need_bin "${1:-}"

for a in 10.0.0.1/32 169.254.169.254/32; do
	ip addr add "$a" dev lo || { ts_log "ip addr add $a failed"; exit 1; }
done
links=$(ip -o link show | awk -F': ' '{print $2}' | tr '\n' ' ')
if [ "$links" != "lo " ]; then
	ts_log "namespace has more than lo: $links"
	exit 1
fi

cat >"$TS_TMP/tcppolicy.py" <<'PY'
import select, socket, sys
import turnclient as tc

scenario, port, secret = sys.argv[1], int(sys.argv[2]), sys.argv[3]
SRV = ("127.0.0.1", port)
failed = 0


def check(name, cond, detail=""):
    global failed
    name = "%s: %s" % (scenario, name)
    print(("ok %s%s" % (name, " (%s)" % detail if detail else "")) if cond
          else "FAIL %s: %s" % (name, detail or "failed"), flush=True)
    failed += 0 if cond else 1


def active_opens():
    rows = [l.split() for l in open("/proc/net/snmp") if l.startswith("Tcp:")]
    return int(rows[1][rows[0].index("ActiveOpens")])


def listen(ip):
    s = socket.socket()
    s.bind((ip, 0))
    s.listen(8)
    s.setblocking(False)
    return s


def accepted(s, wait=0.5):
    r, _, _ = select.select([s], [], [], wait)
    return bool(r)


lst = {ip: listen(ip) for ip in ("10.0.0.1", "169.254.169.254", "127.0.0.1")}
before = active_opens()
c = tc.Client(SRV, transport="tcp", timeout=3.0)   # opens 1 connection
c.set_rest_creds(secret, "tcp-policy")
r = c.allocate(proto=6)
check("TCP Allocate", r.cls == tc.SUCCESS, r.describe())
mine = 1
forbidden = [("10.0.0.1", "10.0.0.1"), ("169.254.169.254", "169.254.169.254"),
             ("::ffff:10.0.0.1", "10.0.0.1"),
             ("::ffff:169.254.169.254", "169.254.169.254"),
             ("64:ff9b::a00:1", "10.0.0.1"), ("::10.0.0.1", "10.0.0.1"),
             ("2002:a00:1::1", "10.0.0.1")]
if scenario == "deny":
    forbidden += [("127.0.0.1", "127.0.0.1"), ("::ffff:127.0.0.1", "127.0.0.1")]
for peer, real in forbidden:
    r = c.connect(peer, lst[real].getsockname()[1])
    check("Connect %s: 403" % peer, r.code() == 403, r.describe())
for ip, s in lst.items():
    if scenario == "loopback" and ip == "127.0.0.1":
        continue
    check("nothing connected to the listener on %s" % ip, not accepted(s))
if scenario == "loopback":
    r = c.connect("127.0.0.1", lst["127.0.0.1"].getsockname()[1])
    check("Connect 127.0.0.1 (allowed): success", r.cls == tc.SUCCESS, r.describe())
    check("... and the listener got it", accepted(lst["127.0.0.1"], 3.0))
    mine += 1  # the server's connection to the allowed peer
opened = active_opens() - before
check("TCP ActiveOpens grew by %d (no SYN to a forbidden peer)" % mine,
      opened == mine, "grew by %d" % opened)
c.refresh(0)
sys.exit(1 if failed else 0)
PY

run_scenario() {
	local name=$1
	shift
	ts_start_server "$TS_BIN" --use-auth-secret --static-auth-secret "$TS_SECRET" \
		"$@" || { ts_fail "$name: server start"; return; }
	ts_python_checks "$name" "$TS_TMP/tcppolicy.py" "$name" "$TS_PORT" "$TS_SECRET"
}
run_scenario deny
run_scenario loopback --allow-loopback-peers
ts_finish
