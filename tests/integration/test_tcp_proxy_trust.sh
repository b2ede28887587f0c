#!/usr/bin/env bash
# tcp-proxy-trusted: only a trusted balancer may send a PROXY header on
# tcp-proxy-port, or anyone reaching the port could claim any client
# address (past max-unauth-tcp-per-ip, into logs and usage records).
#  - with the option unset, loopback and private sources are trusted: a
#    balancer at 10.1.2.3 or 127.0.0.1 works, one at 198.51.100.7 (a
#    public address) is closed at accept, unanswered, counted in
#    turnstone_tcp_refused_total and logged rarely (once per worker in
#    10 s) naming tcp-proxy-trusted;
#  - a reload that names 198.51.100.7 alone trusts it and no longer the
#    default ranges.
# It re-executes itself under `unshare -n` (lo only), where 198.51.100.7
# and 10.1.2.3 are added to lo so the checker can connect from them.
#
#   bash test_tcp_proxy_trust.sh /path/to/turnstone
TS_NAME=tcp_proxy_trust
. "$(dirname "$0")/lib.sh"
ts_netns_lo --required "$@"
ts_need_bin "${1:-}"
[ "$TS_SERVER" = turnstone ] || exit 0

for a in 198.51.100.7/32 10.1.2.3/32; do
	ip addr add "$a" dev lo || { ts_log "ip addr add $a failed"; exit 1; }
done
PP=$(ts_pick_port) && PROM=$(ts_pick_port) || exit 1
conf=$TS_TMP/proxy.conf
echo "tcp-proxy-port=$PP" >"$conf"
ts_start_server "$TS_BIN" "${TS_AUTH[@]}" -c "$conf" --relay-threads 2 \
	--prometheus --prometheus-port "$PROM" || exit 1
export TS_DIR
ts_python_checks "trusted balancers" - "$PP" "$TS_PID" "$TS_LOG" "$conf" "$PROM" <<'EOF'
import os, signal, socket, sys, time, urllib.request
sys.path.insert(0, os.environ["TS_DIR"])
import turnclient as tc
pp, pid, log, conf, prom = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])

def check(name, ok, detail=""):
    print(("ok " if ok else "FAIL ") + name + (" (%s)" % detail if detail else ""), flush=True)

def via(balancer, client):
    """A Binding through a stream from balancer whose header names
    client: its XOR-MAPPED-ADDRESS, or "closed" when the server closes
    the stream unanswered, or "silent" if nothing comes within 3 s."""
    s = socket.socket()
    s.settimeout(3)
    s.bind((balancer, 0))
    s.connect(("127.0.0.1", pp))
    try:
        s.sendall(tc.proxy_v2(client, ("127.0.0.1", pp)) + tc.build(tc.BINDING, tc.REQUEST))
        data = s.recv(2048)
    except (ConnectionResetError, BrokenPipeError):
        return "closed"
    except socket.timeout:
        return "silent"
    finally:
        s.close()
    if not data:
        return "closed"
    m = tc.Msg(data)
    return m.xaddr(tc.XOR_MAPPED_ADDRESS) if m.cls == tc.SUCCESS else "error"

def refused_total():
    body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % prom, timeout=3).read()
    for line in body.decode().splitlines():
        if line.startswith("turnstone_tcp_refused_total "):
            return int(float(line.split()[1]))
    return None

def log_lines(word):
    return [l for l in open(log, errors="replace") if word in l]

c1 = ("203.0.113.1", 5001)
got = via("10.1.2.3", c1)
check("default: a balancer at a private address (10.1.2.3) is trusted", got == c1, str(got))
got = via("127.0.0.1", c1)
check("default: a balancer on loopback is trusted", got == c1, str(got))
before = refused_total()
results = [via("198.51.100.7", ("203.0.113.%d" % (2 + i), 5002)) for i in range(8)]
check("default: a public source (198.51.100.7) is closed unanswered",
      results == ["closed"] * 8, str(results))
after = refused_total()
check("each refusal counts in turnstone_tcp_refused_total",
      before is not None and after == before + 8, "%s -> %s" % (before, after))
time.sleep(0.3)
lines = log_lines("tcp-proxy-trusted")
# Rate-limited per worker, as max-unauth-tcp-per-ip's refusals: two
# workers say it at most twice in 10 s, however many streams they close.
check("the refusal is logged rarely, naming the source and tcp-proxy-trusted",
      1 <= len(lines) <= 2 and all("198.51.100.7" in l for l in lines), repr(lines))

# Reload: name the public balancer; the default ranges are then not trusted.
with open(conf, "w") as f:
    f.write("tcp-proxy-port=%d\ntcp-proxy-trusted=198.51.100.7/32\n" % pp)
os.kill(pid, signal.SIGHUP)
deadline = time.time() + 5
while time.time() < deadline and not log_lines("configuration reloaded"):
    time.sleep(0.1)
c2 = ("203.0.113.50", 6000)
got = None
while time.time() < deadline:  # each worker applies it at its next turn
    got = via("198.51.100.7", c2)
    if got == c2:
        break
    time.sleep(0.1)
check("after SIGHUP the named public balancer is trusted", got == c2, str(got))
time.sleep(0.5)  # every worker has applied the new configuration
for src in ("10.1.2.3", "127.0.0.1"):
    got = [via(src, c2) for i in range(4)]
    check("after SIGHUP %s (default range, not named) is refused" % src,
          got == ["closed"] * 4, str(got))
EOF
ts_finish
