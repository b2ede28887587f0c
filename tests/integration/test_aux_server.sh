#!/usr/bin/env bash
# aux-server (coturn's): one more listening address and port, serving
# STUN and TURN like the others: a Binding and an authenticated Allocate
# over UDP and TCP on it, GET /v1/ip-ranges lists it, and a reload that
# drops it stops its answers and changes the ip-ranges answer and ETag.
#
#   bash test_aux_server.sh /path/to/turnstone        (what ctest runs)
TS_NAME=aux_server
. "$(dirname "$0")/lib.sh"
ts_api_init "${1:-}"
AUX=$(ts_pick_port) || exit 1
conf="$TS_TMP/turnstone.conf"
echo "aux-server=127.0.0.2:$AUX" >"$conf"
ts_start_api "$TS_BIN" -c "$conf" || exit 1
export TS_DIR
ts_python_checks "the aux-server listener" - "$AUX" "$TS_SECRET" "$TS_PID" "$TS_LOG" "$conf" "$TS_API_PORT" <<'PY'
import json, os, signal, sys, time, urllib.request, urllib.error
sys.path.insert(0, os.environ["TS_DIR"])
import turnclient as tc
aux, secret, pid, log, conf = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
api = int(sys.argv[6])
def check(name, ok, detail=""):
    print(("ok " if ok else "FAIL ") + name + (" (%s)" % detail if detail else ""), flush=True)
def ranges(etag=None):
    """(status, the aux-server's ports as {(port, transport)}, ETag)"""
    r = urllib.request.Request("http://127.0.0.1:%d/v1/ip-ranges" % api,
                               headers={"If-None-Match": etag} if etag else {})
    try:
        with urllib.request.urlopen(r, timeout=5) as f:
            j = json.load(f)
            ports = {(p["port"], p["transport"]) for s in j["servers"]
                     if s["ip"] == "127.0.0.2" for p in s["ports"]}
            return f.status, ports, f.headers.get("ETag")
    except urllib.error.HTTPError as e:
        return e.code, set(), e.headers.get("ETag")
    except OSError as e:  # restarting
        return 0, set(), str(e)
st, ports, etag = ranges()
check("GET /v1/ip-ranges lists the aux-server over UDP and TCP",
      st == 200 and ports == {(aux, "udp"), (aux, "tcp")}, "%s %s" % (st, ports))
for tr in ("udp", "tcp"):
    c = tc.Client(("127.0.0.2", aux), transport=tr, timeout=2.0)
    check("Binding on 127.0.0.2:AUX over %s" % tr, c.binding().cls == tc.SUCCESS)
    c.set_rest_creds(secret, "aux-" + tr)
    r = c.allocate()
    check("Allocate on it over %s" % tr, r.cls == tc.SUCCESS, str(r.error_code()))
    c.close()
open(conf, "w").write("# aux-server gone\n")
os.kill(pid, signal.SIGHUP)
end = time.monotonic() + 10
while "configuration reloaded" not in open(log).read() and time.monotonic() < end:
    time.sleep(0.1)
time.sleep(0.5)  # workers take the new listening set within 200 ms
c = tc.Client(("127.0.0.2", aux), timeout=1.0)
try:
    gone = c.binding().cls != tc.SUCCESS
except Exception:
    gone = True
check("after a reload without it, no answer there", gone)
end = time.monotonic() + 10
st = 0
while st != 200 and time.monotonic() < end:  # the API restarts on it
    st, ports, etag2 = ranges(etag)
    time.sleep(0.1)
check("then GET /v1/ip-ranges with the old ETag -> 200 without it",
      st == 200 and not ports and etag2 != etag, "%s %s %s" % (st, ports, etag2))
PY
ts_finish
