#!/usr/bin/env bash
# Running as a service: drain, Try Alternate and JSON logs.
#
#   - SIGUSR1 drains (as coturn): with an allocation open, a new Allocate
#     gets 508; the existing allocation still relays both ways and can be
#     refreshed; the process stays up until that allocation is deleted
#     (Refresh 0), then exits 0 by itself;
#   - --alternate-server: an unauthenticated Allocate gets 401, an
#     authenticated one 300 with a signed ALTERNATE-SERVER of the client's
#     family, round robin; Binding is not redirected;
#   - POST /v1/admin/drain: 401 without the admin token, 202 and JSON with
#     it; the daemon (no allocations) then exits 0;
#   - --log-format json: every log line is a JSON object, and no log holds
#     the REST secret or the static user's password; libmicrohttpd's
#     messages on the --prometheus port (malformed requests) come as such
#     lines too, at most 10 a second, not as raw text on stderr.
#
#   bash test_drain.sh /path/to/turnstone     (ctest)
TS_NAME=drain
. "$(dirname "$0")/lib.sh"
ts_need_bin "${1:-}"
[ "$TS_SERVER" = turnstone ] || { ts_log "turnstone only (drain, alternates)"; exit 0; }
export PYTHONDONTWRITEBYTECODE=1

# ts_wait_exit PID SECONDS: wait until PID has exited (gone or a zombie
# not yet reaped); then reap it and leave its status in TS_EXIT_RC.
ts_wait_exit() {
	local pid=$1 i state
	for ((i = 0; i < $2 * 10; i++)); do
		state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)
		if [ -z "$state" ] || [ "$state" = Z ]; then
			wait "$pid" 2>/dev/null
			TS_EXIT_RC=$?
			ts_forget_pid "$pid"
			return 0
		fi
		sleep 0.1
	done
	TS_EXIT_RC=running
	return 1
}

ts_start_server "$TS_BIN" "${TS_AUTH[@]}" --allow-loopback-peers \
	--log-format json --drain-timeout 120 || exit 1
drain_pid=$TS_PID drain_port=$TS_PORT drain_log=$TS_LOG
ts_forget_server "$drain_pid" # it exits by itself; checked below

cat >"$TS_TMP/drain.py" <<'PY'
import os, signal, socket, sys, time
import turnclient as tc

port, pid, secret = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
SRV = ("127.0.0.1", port)


def check(name, cond, detail=""):
    print(("ok %s" if cond else "FAIL %s: " + (detail or "failed")) % name)


def alive():
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def desc(r):
    return r.describe() if isinstance(r, tc.Msg) else str(r)


peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
peer.bind(("127.0.0.1", 0))
peer.settimeout(2)
a = tc.Client(SRV)
a.set_rest_creds(secret, "drain-a")
r = a.allocate(lifetime=600)
check("allocation before the drain", r.code() == 0, desc(r))
relay = r.xaddr(tc.XOR_RELAYED_ADDRESS)
r = a.create_permission("127.0.0.1")
check("permission before the drain", r.code() == 0, desc(r))
# An RFC 6062 TCP allocation: during the drain its new data connections
# must still be accepted (ConnectionBind arrives on a new connection).
t = tc.Client(SRV, transport="tcp", timeout=3.0)
t.set_rest_creds(secret, "drain-t")
r = t.allocate(proto=6, lifetime=600)
check("TCP allocation before the drain", r.code() == 0, desc(r))
lst = socket.socket()
lst.bind(("127.0.0.1", 0))
lst.listen(1)
lst.settimeout(3)

os.kill(pid, signal.SIGUSR1)
time.sleep(0.5)  # workers see the drain within 200 ms

# Several source ports, so that SO_REUSEPORT spreads them over the
# workers: one with no allocation of its own must still answer.
for i in range(8):
    b = tc.Client(SRV)
    b.set_user("alice", "alicepw")
    try:
        r = b.allocate()
        check("new Allocate %d refused with 508 while draining" % i,
              r.code() == 508, desc(r))
        r = b.binding()
        check("Binding %d still answered while draining" % i, r.code() == 0,
              desc(r))
    except tc.Timeout:
        check("new client %d answered while draining" % i, False, "timeout")
    b.close()

a.send_indication("127.0.0.1", peer.getsockname()[1], b"to-peer")
try:
    data, src = peer.recvfrom(2048)
    check("existing allocation relays client->peer", data == b"to-peer" and
          src == tuple(relay), "%r from %r" % (data, src))
except socket.timeout:
    check("existing allocation relays client->peer", False, "nothing arrived")
peer.sendto(b"to-client", tuple(relay))
try:
    kind, src, payload = a.recv_data(2.0)
    check("existing allocation relays peer->client", payload == b"to-client",
          repr(payload))
except tc.Timeout:
    check("existing allocation relays peer->client", False, "nothing arrived")
r = a.refresh(600)
check("existing allocation can be refreshed", r.code() == 0, desc(r))
r = t.connect("127.0.0.1", lst.getsockname()[1])
check("TCP allocation: Connect while draining", r.code() == 0, desc(r))
try:
    pc, _ = lst.accept()
    d = tc.Client(SRV, transport="tcp", timeout=3.0)
    d.username, d.password, d.realm_override = t.username, t.password, None
    rb = d.connection_bind(r.get(tc.CONNECTION_ID))
    check("TCP allocation: ConnectionBind on a new connection while draining",
          rb.code() == 0, desc(rb))
    d.sock.sendall(b"piped")
    pc.settimeout(3)
    check("TCP allocation: data flows while draining", pc.recv(16) == b"piped")
    d.close()
    pc.close()
except (OSError, tc.Timeout) as e:
    check("TCP allocation: ConnectionBind on a new connection while draining", False, repr(e))
r = t.refresh(0)
check("TCP allocation: Refresh 0", r.code() == 0, desc(r))
t.close()
time.sleep(1.0)
check("daemon stays up while an allocation remains", alive())
r = a.refresh(0)
check("Refresh 0 deletes the last allocation", r.code() == 0, desc(r))
PY
ts_python_checks "SIGUSR1 drain" "$TS_TMP/drain.py" "$drain_port" "$drain_pid" "$TS_SECRET"
if ts_wait_exit "$drain_pid" 10 && [ "$TS_EXIT_RC" = 0 ]; then
	ts_pass "drained daemon exits 0 once the last allocation is gone"
else
	ts_fail "drained daemon exits 0 once the last allocation is gone" "status $TS_EXIT_RC"
	tail -n 20 "$drain_log"
fi
# ts_start_server names logs by the number of servers it is watching.
mv "$drain_log" "$TS_TMP/usr1.log" && drain_log=$TS_TMP/usr1.log
ts_log_has_sanitizer "$drain_log" && ts_fail "no sanitizer report (drain)" "$(tail -n 20 "$drain_log")"

# --alternate-server: 300 after authentication, round robin, signed.
alt1=$(ts_pick_port) && alt2=$(ts_pick_port) && prom=$(ts_pick_port) || exit 1
ts_start_server "$TS_BIN" "${TS_AUTH[@]}" --alternate-server "127.0.0.1:$alt1" \
	--alternate-server "127.0.0.1:$alt2" --alternate-server "[::1]:$alt1" \
	--log-format json --prometheus --prometheus-port "$prom" || exit 1
alt_log=$TS_LOG
cat >"$TS_TMP/alt.py" <<'PY'
import socket, struct, sys
import turnclient as tc

port, alt1, alt2, secret = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
ALTERNATE_SERVER = 0x8023


def check(name, cond, detail=""):
    print(("ok %s" if cond else "FAIL %s: " + (detail or "failed")) % name)


def alternates(m):
    out = []
    for t, v, _ in m.attrs:
        if t == ALTERNATE_SERVER:
            fam, port = v[1], struct.unpack("!H", v[2:4])[0]
            af = socket.AF_INET if fam == 1 else socket.AF_INET6
            out.append((socket.inet_ntop(af, v[4:]), port))
    return out


c = tc.Client(("127.0.0.1", port))
r = c.transact(tc.build(tc.ALLOCATE, tc.REQUEST, [tc.transport_attr()]))
check("unauthenticated Allocate: 401, no redirect",
      r.code() == 401 and not alternates(r), r.describe())
c.set_rest_creds(secret, "alt-user")
seen = []
for i in range(3):
    r = c.allocate()
    alts = alternates(r)
    key = tc.lt_key(c.username, c.realm, c.password)
    check("authenticated Allocate %d: 300 Try Alternate" % i, r.code() == 300,
          r.describe())
    check("300 %d is signed" % i, r.check_integrity(key) is True)
    check("300 %d: IPv4 first, then the IPv6 alternate" % i,
          len(alts) == 2 and alts[0][0] == "127.0.0.1" and alts[1] == ("::1", alt1),
          repr(alts))
    seen.append(alts[0][1] if alts else None)
check("round robin over the IPv4 alternates", seen == [alt1, alt2, alt1] or
      seen == [alt2, alt1, alt2], repr(seen))
r = c.binding()
check("Binding is not redirected", r.code() == 0, r.describe())
PY
ts_python_checks "alternate-server" "$TS_TMP/alt.py" "$TS_PORT" "$alt1" "$alt2" "$TS_SECRET"

# Malformed requests on the Prometheus port, one with control bytes in
# its path: libmicrohttpd's complaints reach the JSON log (checked with
# the others below), rate-limited, and none on stderr as raw text.
cat >"$TS_TMP/promlog.py" <<'PY'
import socket, sys, time
port, n = int(sys.argv[1]), 40
bad = b"GET /metrics\x1b[2J\r\n HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n"
t0 = time.monotonic()
for i in range(n):
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.sendall(bad)
        try:
            s.recv(4096)
        except OSError:
            pass
secs = int(time.monotonic() - t0) + 2  # the seconds the burst can span
with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    first = s.recv(64)
print(("ok %s" if first.startswith(b"HTTP/1.1 200") else "FAIL %s: " + repr(first))
      % "the exporter still answers after %d malformed requests" % n)
with open(sys.argv[2], "w") as f:
    f.write("%d\n" % secs)
PY
ts_python_checks "malformed requests to the exporter" "$TS_TMP/promlog.py" \
	"$prom" "$TS_TMP/promlog.secs"
secs=$(cat "$TS_TMP/promlog.secs" 2>/dev/null)
sleep 0.5
nprom=$(grep -c '"msg":"prometheus: http: ' "$alt_log")
if [ "$nprom" -ge 1 ] && [ "$nprom" -le $((10 * ${secs:-1})) ]; then
	ts_pass "libmicrohttpd's messages on the Prometheus port: JSON log lines, rate-limited ($nprom)"
else
	ts_fail "libmicrohttpd's messages on the Prometheus port: JSON log lines, rate-limited" \
		"$nprom lines in ${secs:-?} s"
fi

# The exporter's logger is its first libmicrohttpd option: otherwise
# every start logs "MHD_OPTION_EXTERNAL_LOGGER is not the first option".
if grep -q 'not the first option' "$alt_log"; then
	ts_fail "the Prometheus exporter starts without a libmicrohttpd warning" \
		"$(grep -m1 'not the first option' "$alt_log")"
else
	ts_pass "the Prometheus exporter starts without a libmicrohttpd warning"
fi

# POST /v1/admin/drain through the API.
ts_api_init "$TS_BIN"
ts_start_api "$TS_BIN" --user alice:alicepw --log-format json || exit 1
api_pid=$TS_PID api_log=$TS_LOG
ts_forget_server "$api_pid"
cat >"$TS_TMP/admin.py" <<'PY'
import sys
import api_cases as ac

port, token = int(sys.argv[1]), sys.argv[2]


def check(name, cond, detail=""):
    print(("ok %s" if cond else "FAIL %s: " + (detail or "failed")) % name)


r = ac.req(port, "POST", "/v1/admin/drain")
check("drain without the admin token: 401", r.status == 401, r.brief())
r = ac.req(port, "GET", "/v1/admin/drain", headers=ac.bearer(token))
check("GET /v1/admin/drain: 405", r.status == 405, r.brief())
r = ac.req(port, "POST", "/v1/admin/drain", headers=ac.bearer(token))
check("POST /v1/admin/drain: 202 with JSON", r.status == 202 and
      r.json() == {"status": "draining"}, r.brief())
PY
ts_python_checks "admin drain" "$TS_TMP/admin.py" "$TS_API_PORT" "$TS_ADMIN_TOKEN"
if ts_wait_exit "$api_pid" 10 && [ "$TS_EXIT_RC" = 0 ]; then
	ts_pass "daemon drained by the API exits 0"
else
	ts_fail "daemon drained by the API exits 0" "status $TS_EXIT_RC"
	tail -n 20 "$api_log"
fi
mv "$api_log" "$TS_TMP/api.log" && api_log=$TS_TMP/api.log
ts_log_has_sanitizer "$api_log" && ts_fail "no sanitizer report (API drain)" "$(tail -n 20 "$api_log")"

# JSON lines, and no credentials, in every log.
cat >"$TS_TMP/logs.py" <<'PY'
import json, sys
secret, logs = sys.argv[1], sys.argv[2:]
for path in logs:
    bad, n = 0, 0
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    for line in lines[1:]:  # the first line is the test's "+ command"
        if not line.strip() or line.startswith("configuration OK"):
            continue
        n += 1
        try:
            o = json.loads(line)
            assert set(o) == {"ts", "level", "msg"}, o
        except Exception as e:
            bad += 1
            print("   not a JSON log line: %r (%s)" % (line, e))
    print(("ok %s" if n and not bad else "FAIL %s: bad lines") %
          ("JSON log lines in %s (%d)" % (path.rsplit("/", 1)[1], n)))
    text = "\n".join(lines[1:])
    leaked = [s for s in (secret, "alicepw") if s in text]
    print(("FAIL %s: " + repr(leaked) if leaked else "ok %s") %
          "no credentials in %s" % path.rsplit("/", 1)[1])
PY
ts_python_checks "logs" "$TS_TMP/logs.py" "$TS_SECRET" "$drain_log" "$alt_log" "$api_log"
grep -q '"msg":"SIGUSR1: draining' "$drain_log" && ts_pass "drain is logged" ||
	ts_fail "drain is logged" "$(tail -n 5 "$drain_log")"
ts_finish
